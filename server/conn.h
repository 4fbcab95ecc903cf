/*
 * An AMQP connection: the handshake state machine, framing, heartbeats, the
 * channel table and flow control over its socket (server/io.h).
 */
#ifndef WARREN_SERVER_CONN_H
#define WARREN_SERVER_CONN_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "protocol/spec.h"
#include "server/io.h"
#include "server/stats.h"

struct broker;
struct chan;
struct queue;
struct vhost;

enum conn_state {
	CONN_HEADER,		/* waiting for the protocol header */
	CONN_START_OK,		/* sent start */
	CONN_SECURE_OK,		/* sent secure (unused by PLAIN/AMQPLAIN) */
	CONN_TUNE_OK,		/* sent tune */
	CONN_OPEN,		/* waiting for connection.open */
	CONN_RUNNING,
	CONN_CLOSING,		/* sent connection.close, waiting close-ok */
	CONN_DEAD,
};

struct conn {
	struct broker	*b;
	struct conn	*prev, *next;	/* broker's list */
	uint64_t	 id;
	/* compat: "peer -> local" as RabbitMQ names a connection (logs, the
	 * admin API's /api/connections/{name}). */
	char		 name[128];
	enum conn_state	 state;
	/*
	 * The socket (server/io.h), with the broker's commit_gen as its
	 * output barrier: a flush outside the prepare step writes only
	 * what was queued before the last commit point.
	 */
	struct io	 io;
	ev_timer	 timer;		/* handshake timeout, heartbeats, close */
	uint32_t	 frame_max;	/* negotiated; pre-tune limit before */
	uint16_t	 channel_max;
	uint16_t	 heartbeat;
	bool		 dirty;		/* on the broker's flush list */
	bool		 throttled;	/* output above the high-water mark */
	bool		 release_pending; /* closing: free channels at flush */
	bool		 close_after_flush;
	char		 close_reason[64];
	bool		 cap_cancel_notify;	/* client capabilities */
	bool		 cap_auth_failure_close;
	bool		 cap_blocked;		/* understands connection.blocked */
	bool		 blocked;	/* by a resource alarm: not read */
	bool		 opened;	/* counted in the broker's nopen */
	bool		 input_pending;	/* frames left over: its budget ran out */
	bool		 commit_wait;	/* a tx.commit-ok waits for COMMIT */
	bool		 content_wait;	/* a content header waits for room */
	bool		 get_wait;	/* a basic.get waits for the output */
	ev_tstamp	 out_since;	/* output last empty or moving */
	/* Body bytes of the publishes under way on all its channels. */
	uint64_t	 content_in_flight;
	struct queue	*flow_q;	/* publisher paused until it drains */
	uint32_t	 nconsumers;	/* on all its channels */
	struct sockaddr_storage peer;	/* the socket's real peer address */
	struct sockaddr_storage local;	/* the listener's side */
	uint64_t	 connected_at;	/* accepted, in ms since the epoch */
	/* start-ok's client-properties table (validated), for the admin API;
	 * bounded by the pre-tune frame size. */
	uint8_t		*client_props;
	uint32_t	 client_props_len;
	char		 mechanism[16];	/* the SASL mechanism that logged in */
	char		 user[256];
	struct vhost	*vh;
	struct chan	**chans;	/* indexed by channel id, grown on open */
	uint32_t	 chans_cap;	/* entries in chans */
	uint32_t	 nchans;	/* open channels (channel_max limits it) */

	/* io's counters already added to the vhost's and broker's. */
	uint64_t	 io_folded[STAT_IO_N];
	struct rate_ring *rates;	/* io's counters (server/stats.h) */
};

/* Takes a connected, non-blocking socket. */
struct conn *conn_new(struct broker *b, int fd);
/* The same for the amqps listener: a TLS handshake comes first. */
struct conn *conn_new_tls(struct broker *b, int fd);
/* Frees a dead connection (called by the broker after the prepare pass). */
void	conn_free(struct conn *c);

/* Sends connection.close with code and text, releases every channel. */
void	conn_fail(struct conn *c, uint16_t code, uint32_t method_id,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Closes the connections of a deleted user with 320 CONNECTION_FORCED. */
void	conn_close_user(struct broker *b, const char *user);
/*
 * Closes an open connection with 320 CONNECTION_FORCED and reason (an
 * operator's close, a deleted user): connection.close is sent and its
 * channels released. Nothing happens to one already closing.
 */
void	conn_close_forced(struct conn *c, const char *reason);
/* The connection of id (not dead), or NULL: O(1), for the admin API. */
struct conn *conn_by_id(struct broker *b, uint64_t id);
/* Whether c is past connection.open and not closed: what RabbitMQ lists. */
bool	conn_listed(const struct conn *c);
/*
 * The connection's vhost is being deleted: sends connection.close 320
 * (unless already closing or dead), releases its channels and exclusive
 * queues now and forgets the vhost.
 */
void	conn_vhost_gone(struct conn *c);
/* Closes the socket now, releasing everything. */
void	conn_abort(struct conn *c, const char *why);

/* Output. Each returns false if the output buffer refused (connection dies). */
bool	conn_send_method(struct conn *c, uint16_t channel,
	    const struct proto_method *m);
/* A content-carrying method (deliver, get-ok, return) with its message. */
bool	conn_send_content(struct conn *c, uint16_t channel,
	    const struct proto_method *m, const uint8_t *props, size_t props_len,
	    const uint8_t *body, uint64_t body_len);
/*
 * Flow control: the connection published into q, which has consumers and
 * is far behind; it is not read until q drains (queue ref held).
 */
void	conn_flow_pause(struct conn *c, struct queue *q);
/* Resumes a paused publisher whose queue drained (or went away). */
void	conn_flow_check(struct conn *c);
/* Goes on with buffered frames left over from the last turn. */
void	conn_continue_input(struct conn *c);
/* Stops reading the socket (a resource alarm blocks publishers). */
void	conn_pause_reading(struct conn *c);
/* Reads again, unless the output backlog still holds it off. */
void	conn_resume_reading(struct conn *c);
/*
 * A publish of len body bytes started (its content header was taken) or
 * ended (routed, held by a transaction, or dropped with its channel).
 */
void	conn_content_begin(struct conn *c, uint64_t len);
void	conn_content_end(struct conn *c, uint64_t len);
/* Writes buffered output now; called from the prepare step. */
void	conn_flush(struct conn *c);
/* Whether deliveries to this connection should pause (output backlog). */
static inline bool
conn_throttled(const struct conn *c)
{
	return c->throttled;
}

#endif /* WARREN_SERVER_CONN_H */
