/*
 * An AMQP channel: open/close/flow, QoS, unacked deliveries, consumers,
 * content assembly for basic.publish, confirms and transactions.
 */
#ifndef WARREN_SERVER_CHAN_H
#define WARREN_SERVER_CHAN_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/hmap.h"
#include "protocol/content.h"
#include "protocol/frame.h"
#include "protocol/spec.h"
#include "server/queue.h"

struct conn;
struct msg;

struct consumer {
	struct chan	*ch;
	struct queue	*q;
	struct consumer	*qnext, *qprev;	/* queue's circular list */
	struct consumer	*cnext;		/* channel's list */
	char		 tag[256];
	uint8_t		 tag_len;
	bool		 no_ack;
	bool		 exclusive;
	int64_t		 priority;	/* x-priority; higher served first */
	uint16_t	 prefetch;	/* 0 = unlimited */
	uint32_t	 unacked;
};

/* A delivery awaiting ack; tags only grow, so the list is sorted. */
struct unacked {
	uint64_t	 tag;
	struct queue	*q;		/* holds a reference */
	struct consumer	*c;		/* NULL for basic.get or once cancelled */
	struct qentry	 e;
	/*
	 * ev_now() at delivery, 0: never times out; the deadline is
	 * at + timeout_ms / 1000, worked out only for the ring's head
	 * (chan_timeout.c), never per delivery.
	 */
	double		 at;
	int64_t		 timeout_ms;	/* the consumer timeout it got */
	bool		 settled;	/* acked out of order; popped later */
};

/* A publish held by a transaction until tx.commit. */
struct tx_publish {
	struct msg	*m;
	bool		 mandatory;
};

/* An ack, nack or reject held by a transaction. */
struct tx_settle {
	uint64_t	 tag;
	bool		 multiple;
	bool		 ack;
	bool		 requeue;
};

enum chan_state {
	CHAN_OPEN,
	CHAN_CLOSING,		/* sent channel.close, waiting close-ok */
};

struct chan {
	struct conn	*c;
	uint16_t	 id;
	enum chan_state	 state;
	bool		 flow;		/* false: client paused deliveries */
	bool		 dirty;		/* on the broker's confirm list */

	uint16_t	 prefetch_consumer;	/* basic.qos global=false */
	uint16_t	 prefetch_channel;	/* basic.qos global=true */
	uint32_t	 unacked_count;
	struct unacked	*unacked;	/* ring in tag order */
	size_t		 ua_cap, ua_head, ua_len;
	uint64_t	 next_tag;
	ev_timer	 ack_timer;	/* consumer timeout (chan_timeout.c) */
	double		 ack_timer_at;	/* the deadline it is armed for */

	struct hmap	 consumers;	/* tag -> struct consumer */
	struct consumer	*consumer_list;

	struct proto_content content;	/* basic.publish assembly */
	char		 pub_exchange[256];
	uint8_t		 pub_exchange_len;
	char		 pub_rk[256];
	uint8_t		 pub_rk_len;
	bool		 pub_mandatory;
	struct msg	*pub_msg;	/* being assembled; owned */

	uint64_t	 pub_perm_gen;	/* auth_gen when pub_perm_ok was set */
	struct exchange	*pub_ex;	/* last published to (chan_basic.c) */
	uint64_t	 pub_ex_gen;	/* exchange_gen when pub_ex was found */
	bool		 pub_perm_ok;	/* write to pub_exchange was allowed */
	bool		 confirm;	/* confirm.select done */
	uint64_t	 pub_seq;	/* last publish sequence number */
	uint64_t	 confirmed;	/* acks and nacks sent up to here */
	uint64_t	*refused;	/* seqs to nack whatever the commit does */
	size_t		 nrefused, refused_cap;

	char		 last_queue[256];	/* spec: "" means this queue */
	uint8_t		 last_queue_len;

	/* Direct reply-to (server/chan_reply_to.c): the pseudo-consumer. */
	char		 reply_tag[256];
	uint8_t		 reply_tag_len;
	char		 reply_token[64];	/* "amq.rabbitmq.reply-to.X" */
	uint8_t		 reply_token_len;	/* 0: not consuming replies */
	uint64_t	 reply_mark;	/* vhost route_gen of its last reply */

	bool		 tx;		/* tx.select done */
	bool		 tx_commit_owed;	/* tx.commit-ok waits for COMMIT */
	struct tx_publish *tx_pubs;
	size_t		 tx_npubs, tx_pubs_cap;
	struct tx_settle *tx_settles;
	size_t		 tx_nsettles, tx_settles_cap;

	struct msg_counters stats;	/* server/stats.h */
	struct stats_chan_objs objs;	/* the same per exchange and queue */
	struct rate_ring *rates;	/* NULL until it was active */
};

struct chan *chan_new(struct conn *c, uint16_t id);
/*
 * Counts n events s on the channel, its vhost and the broker (plain
 * increments: called on the hot path).
 */
void	chan_count(struct chan *ch, enum msg_stat s, uint64_t n);
/* The same, also counted for exchange ex or queue q (either may be NULL). */
struct exchange;
struct queue;
void	chan_count_ex(struct chan *ch, struct exchange *ex, enum msg_stat s,
	    uint64_t n);
void	chan_count_q(struct chan *ch, struct queue *q, enum msg_stat s,
	    uint64_t n);
/* Releases everything: cancels consumers, requeues unacked, frees. */
void	chan_free(struct chan *ch);
/*
 * Handles one frame for an open channel; m is the decoded method of a
 * method frame, NULL for content frames. Returns 0 or the reply code of
 * the error raised (the channel or connection is then closing).
 */
int	chan_on_frame(struct chan *ch, const struct proto_frame *f,
	    const struct proto_method *m);
/*
 * Raises a channel error: channel.close(code, text) and the channel's
 * resources released. Returns code, so handlers can `return chan_fail()`.
 * Hard codes are passed to the connection instead.
 */
int	chan_fail(struct chan *ch, uint16_t code, uint32_t method_id,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * The only producers of durability replies, called by the prepare step
 * after the store commit that covers everything this channel did:
 * chan_commit_done sends the publisher confirms (acks, and nacks for
 * refused publishes, in tag order) and an owed tx.commit-ok;
 * chan_commit_failed nacks every unconfirmed publish and fails an owed
 * tx.commit.
 */
void	chan_commit_done(struct chan *ch);
void	chan_commit_failed(struct chan *ch);
/* Whether a consumer may receive another delivery now. */
bool	chan_consumer_can_take(const struct chan *ch, const struct consumer *cs);
/* Sends one delivery to a consumer; the channel owns e's reference after. */
bool	chan_deliver(struct chan *ch, struct consumer *cs, struct queue *q,
	    struct qentry *e);
/* Cancels a consumer at the client's request (or on channel release). */
void	chan_remove_consumer(struct chan *ch, struct consumer *cs);
/* Records a basic.get delivery as unacked; -1 on ENOMEM. */
int	chan_track_get(struct chan *ch, struct queue *q, struct qentry *e,
	    uint64_t tag);
/*
 * Publish seq was refused (a full reject-publish queue, a failed route):
 * its basic.nack goes out with the next confirms, after the commit.
 */
void	chan_confirm_refused(struct chan *ch, uint64_t seq);
/* Owes the client tx.commit-ok until the next commit (chan_tx.c). */
void	chan_tx_commit_owed(struct chan *ch);
/* Tells a client its consumer was cancelled by the broker. */
void	chan_consumer_cancelled(struct chan *ch, struct consumer *cs);

/*
 * Consumer timeouts (chan_timeout.c): init once; set gives a new unacked
 * delivery from q its deadline; arm (after a settle, or a delivery into
 * an empty ring: only the head's deadline matters) makes the timer wake
 * at the oldest unacked delivery's deadline; stop on release.
 */
void	chan_timeout_init(struct chan *ch);
void	chan_timeout_set(struct chan *ch, struct unacked *u,
	    const struct queue *q);
void	chan_timeout_arm(struct chan *ch);
/* The consumer timeout of q's deliveries on ch, in ms (0: none). */
int64_t	chan_timeout_ms(const struct chan *ch, const struct queue *q);
void	chan_timeout_stop(struct chan *ch);

/* Method handlers, split by class (chan_exchange.c, chan_queue.c, ...). */
int	chan_exchange_method(struct chan *ch, const struct proto_method *m);
int	chan_queue_method(struct chan *ch, const struct proto_method *m);
int	chan_basic_method(struct chan *ch, const struct proto_method *m);
int	chan_tx_method(struct chan *ch, const struct proto_method *m);
/* Content frames (header/body) for the publish in progress. */
int	chan_content_frame(struct chan *ch, const struct proto_frame *f);

/* Unacked bookkeeping shared by basic.* and tx (chan_basic.c). */
int	chan_settle(struct chan *ch, uint64_t tag, bool multiple, bool ack,
	    bool requeue, uint32_t method_id);
/* Routes and enqueues a complete message (publish or tx.commit). */
int	chan_route_publish(struct chan *ch, struct msg *m, bool mandatory);
/* Requeues every unacked delivery (channel close, basic.recover). */
void	chan_requeue_all(struct chan *ch);
/*
 * Whether the connection's user may do kind (enum perm_kind) on a queue
 * or exchange (what) named name: 0, or 403 raised with RabbitMQ's words.
 */
int	chan_check_access(struct chan *ch, int kind, const char *what,
	    struct proto_str name, uint32_t method_id);
/*
 * Shared checks (chan_queue.c); each returns 0 or the code it raised.
 * chan_find_queue checks kind (enum perm_kind; -1: none) on the queue
 * before it looks the queue up.
 */
int	chan_find_queue(struct chan *ch, struct proto_str name, int kind,
	    uint32_t method_id, struct queue **out);
struct vhost_reply;
/* Raises what a vhost_declare_*() or vhost_bind() refused; returns its code. */
int	chan_refuse(struct chan *ch, uint32_t method_id,
	    const struct vhost_reply *r);
struct exchange;
/* Fills buf with "amq.ctag-..."/"amq.gen-..." names. */
/*
 * Topic permissions: on a topic exchange, whether the user may publish
 * (PERM_WRITE) or bind (PERM_READ) with key; else a 403 and nonzero.
 */
int	chan_check_topic(struct chan *ch, const struct exchange *ex, int kind,
	    struct proto_str key, uint32_t method_id);
size_t	chan_gen_name(struct chan *ch, const char *prefix, char *buf,
	    size_t len);

#endif /* WARREN_SERVER_CHAN_H */
