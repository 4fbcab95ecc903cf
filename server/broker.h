/*
 * struct broker: the one root of all mutable state, reachable from the loop
 * with ev_userdata(). Its ev_prepare step runs just before the loop sleeps:
 * store commit, then confirms, then dispatch, then output flush.
 */
#ifndef WARREN_SERVER_BROKER_H
#define WARREN_SERVER_BROKER_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/hmap.h"
#include "server/config.h"
#include "server/exchange.h"
#include "server/stats.h"

struct chan;
struct conn;
struct http_conn;
struct import_job;
struct listener;
struct queue;
struct store;
struct tls;
struct vhost;

#define ALARM_MEMORY	0x1u
#define ALARM_DISK	0x2u

/* A list of pointers that need work in the prepare step. */
struct ptrvec {
	void	**v;
	size_t	  n, cap;
};
void	ptrvec_push(struct ptrvec *pv, void *p);

struct broker {
	struct ev_loop	*loop;
	struct config	 cfg;
	struct hmap	 vhosts;	/* name -> struct vhost */
	struct store	*store;		/* durable state; NULL in unit tests */
	struct hmap	 users;		/* name -> struct user (server/auth.h) */
	struct hmap	 reply_tos;	/* direct reply-to token -> struct chan */
	uint64_t	 auth_gen;	/* bumped by every user/permission change */
	uint64_t	 exchange_gen;	/* bumped by every exchange freed */
	bool		 recovering;	/* loading from the store: write nothing */
	unsigned	 alarms;	/* ALARM_* in effect (server/alarm.h) */
	uint64_t	 memory_limit;	/* memory high-water mark, in bytes */
	ev_timer	 alarm_timer;
	struct listener	*amqp;
	struct listener	*amqps;		/* TLS listener; NULL unless configured */
	struct tls	*tls;		/* its context (server/tls.h) */
	struct conn	*conns;		/* every connection, doubly linked */
	struct hmap	 conns_by_id;	/* conn id -> struct conn, until dead */
	uint32_t	 nconns;
	uint32_t	 nopen;		/* connections past connection.open */
	uint64_t	 next_conn_id;
	uint64_t	 next_name_id;	/* amq.gen- / amq.ctag- names */
	bool		 stopping;
	/* compat: RabbitMQ's churn counters (/api/overview churn_rates). */
	struct broker_churn {
		uint64_t	connection_created, connection_closed;
		uint64_t	channel_created, channel_closed;
		uint64_t	queue_declared, queue_created, queue_deleted;
	} churn;
	int		 argc;		/* warrend's, for reloads */
	char		**argv;
	char		 node_name[256];	/* server/node.h */
	char		 cluster_name[256];
	ev_tstamp	 started_at;

	ev_prepare	 prepare;
	ev_idle		 idle;		/* keeps the loop awake with work left */
	ev_check	 turn_check;	/* marks when each loop turn starts */
	uint64_t	 turn_start_ns;	/* CLOCK_MONOTONIC */
	ev_signal	 sigterm, sigint;
	ev_signal	 sighup;	/* reloads the TLS certificates */
	ev_timer	 stop_timer;
	ev_timer	 retry_timer;	/* retries a failed commit's kept ops */
	ev_tstamp	 commit_fail_logged;
	uint64_t	 commit_failures;	/* since the last logged one */
	uint64_t	 commit_gen;	/* commit points passed (conn.h barrier) */
	ev_tstamp	 stop_started;
	struct ptrvec	 dirty_queues;	/* queues to dispatch */
	struct ptrvec	 dirty_chans;	/* channels with confirms to send */
	struct ptrvec	 dirty_conns;	/* connections with output to flush */
	struct ptrvec	 dirty_http;	/* admin connections with answers */
	struct ptrvec	 dead_conns;	/* closed, freed after the pass */
	struct ptrvec	 pending_input;	/* connections with frames left over */
	struct ptrvec	 flow_paused;	/* publishers waiting for a queue */
	struct route_result route;	/* scratch for one routing pass */

	/* The HTTP admin API (admin/http_conn.c), plugged in by main.c. */
	const struct broker_admin_ops *admin_ops;
	struct listener	*admin;
	struct listener	*admin_tls;	/* HTTPS; NULL unless configured */
	struct http_conn *http_conns;	/* every admin connection, doubly linked */
	uint32_t	 nhttp_conns;
	ev_tstamp	 http_full_logged;	/* last "too many connections" line */
	struct import_job *import_job;	/* the definitions import under way */
	struct import_job *import_freeing; /* an answered one, still freeing */

	struct broker_stats stats;	/* server/stats.h */
	struct listener	*prometheus;	/* --prometheus-port; NULL: off */
};

/*
 * The admin API's entry points, set by main.c before broker_start so that
 * server/ does not depend on admin/ (admin/ calls server/, not back).
 */
struct broker_admin_ops {
	/* The admin listener's accept callback (server/listener.h). */
	bool	(*accept)(struct broker *b, int fd);
	/* The same for the HTTPS listener. */
	bool	(*accept_tls)(struct broker *b, int fd);
	/* The same for the Prometheus listener (metrics paths only). */
	bool	(*accept_metrics)(struct broker *b, int fd);
	/* Writes what a woken struct http_conn (broker_wake_http) queued. */
	void	(*flush)(void *h);
	/* Broker shutdown: every admin connection closes on the next turn. */
	void	(*shutdown)(struct broker *b);
	/* Broker teardown: closes and frees every admin connection now. */
	void	(*close_all)(struct broker *b);
};

/* Sets up state, default vhost and listener. Exits on startup failure. */
void	broker_init(struct broker *b, struct ev_loop *loop);
/*
 * For unit tests: a real broker on loop with default options, the null
 * store (store_open_null) and the default vhost "/", but no listener,
 * no signals, no data directory. broker_free tears it down.
 */
void	broker_init_test(struct broker *b, struct ev_loop *loop);
/* Starts the listener(s) and writes the port/pid files. */
void	broker_start(struct broker *b);
/* Stops listening and closes every connection with 320 CONNECTION_FORCED. */
void	broker_shutdown(struct broker *b, const char *reason);
void	broker_free(struct broker *b);

struct vhost *broker_vhost(struct broker *b, const char *name, size_t len);

/*
 * Whether this loop turn has used up its time for client input (a few
 * ms): input handlers then yield, keeping their frames for the next turn,
 * so one client's expensive frames (binds, wide routing) cannot keep the
 * others waiting. Cheap enough to call every few frames.
 */
bool	broker_turn_spent(const struct broker *b);

/* Queue work for the prepare step (each call is idempotent). */
void	broker_wake_queue(struct broker *b, struct queue *q);
void	broker_wake_chan(struct broker *b, struct chan *ch);
void	broker_wake_conn(struct broker *b, struct conn *c);
/*
 * An admin connection has an answer to send after the next commit
 * (http_conn_flush). _unwake drops it (closed).
 */
void	broker_wake_http(struct broker *b, struct http_conn *h);
void	broker_unwake_http(struct broker *b, struct http_conn *h);
/* Queues a connection's left-over frames for the next round. */
void	broker_wake_input(struct broker *b, struct conn *c);

#endif /* WARREN_SERVER_BROKER_H */
