/*
 * A queue: ready messages in publish order, the consumers attached to it,
 * and round-robin dispatch. Ready entries live in lanes (queue_lane.h),
 * one per priority level: a queue declared with x-max-priority N has N + 1
 * and serves the highest non-empty one first, FIFO within it; any other
 * queue has one.
 */
#ifndef WARREN_SERVER_QUEUE_H
#define WARREN_SERVER_QUEUE_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/wire.h"
#include "server/queue_lane.h"
#include "server/stats.h"

struct binding;		/* server/exchange.h */
struct conn;		/* server/conn.h */
struct consumer;	/* server/chan.h */
struct msg;		/* server/msg.h */
struct policy;		/* server/policy.h */
struct vhost;		/* server/vhost.h */
struct ttl_rec;		/* server/queue_ttl.c */

/*
 * Messages past this many ready entries of a stored queue keep their body
 * only on disk until they come near the head (the bounded read-ahead).
 */
#define QUEUE_READ_AHEAD	1024

/*
 * Flow control: a queue this far behind consumers that are taking
 * deliveries pauses the connections publishing into it until it is back
 * under the low mark, or until its consumers have taken nothing for a
 * second: a publisher faster than the consumers cannot grow it without
 * bound, and a stuck consumer does not block publishers for long.
 */
#define QUEUE_FLOW_HIGH		16384
#define QUEUE_FLOW_LOW		8192

struct queue {
	char		*name;
	size_t		 name_len;
	struct vhost	*vh;
	uint32_t	 refs;		/* vhost + unacked entries + callers */
	bool		 durable;
	bool		 exclusive;
	bool		 auto_delete;
	bool		 deleted;	/* gone from the vhost; refs may remain */
	bool		 had_consumer;	/* auto-delete only after the first */
	bool		 dirty;		/* on the broker's dispatch list */
	struct conn	*owner;		/* exclusive owner, else NULL */
	uint64_t	 store_id;	/* 0 when not stored */
	uint8_t		*args;		/* declare arguments, raw table bytes */
	size_t		 args_len;

	struct qlane	*lanes;		/* [max_priority + 1], lowest first */
	struct qlane	 lane0;		/* the one lane of most queues */
	uint8_t		 max_priority;	/* x-max-priority; 0: none */
	size_t		 nready;	/* entries in all lanes */
	uint64_t	 bytes_ready;	/* their body bytes */
	uint64_t	 next_seq;

	struct consumer	*consumers;	/* circular list; next to serve */
	uint32_t	 nconsumers;
	uint32_t	 nprioritised;	/* consumers with x-priority != 0 */
	bool		 sac;		/* x-single-active-consumer */
	struct consumer	*sac_active;	/* the only one served; NULL: none */
	uint32_t	 unacked;	/* delivered, not yet settled */
	uint64_t	 bytes_unacked;	/* their body bytes */
	double		 last_dispatch;	/* ev_now() of the last delivery */
	double		 created_at;	/* ev_now() at creation (idle_since) */

	uint64_t	 expires_ms;	/* x-expires lease; 0: none */
	ev_timer	 lease;		/* runs while unused (queue_lease.c) */
	int64_t		 ttl_ms;	/* x-message-ttl; -1: none */
	int64_t		 max_length;	/* x-max-length of ready ones; -1 */
	int64_t		 max_bytes;	/* x-max-length-bytes of them; -1 */
	int64_t		 delivery_limit; /* quorum x-delivery-limit; INT64_MAX */
	int64_t		 consumer_timeout; /* ms; -1: the broker's */
	uint8_t		 type;		/* enum queue_type */
	uint8_t		 overflow;	/* enum queue_overflow */
	uint32_t	 nexpiring;	/* ready entries with a deadline */
	struct ttl_rec	*ttl_heap;	/* min-heap of deadlines (queue_ttl.c) */
	size_t		 ttl_n, ttl_cap;
	ev_timer	 expiry;	/* at the earliest deadline */

	/*
	 * The policies in effect (server/policy.h); ttl_ms, max_length,
	 * max_bytes, expires_ms, overflow, delivery_limit and
	 * consumer_timeout above are the effective
	 * values of the arguments and these.
	 */
	const struct policy *policy, *op_policy;

	struct binding	**bindings;	/* bindings whose destination this is */
	size_t		 nbindings, bindings_cap;
	uint64_t	 route_mark;	/* dedupe while routing one message */

	struct msg_counters stats;	/* server/stats.h */
	struct rate_ring *rates;	/* NULL until it was active */
};

/* Creates a queue (one reference, held by the vhost). */
struct queue *queue_new(struct vhost *vh, struct proto_str name, bool durable,
	    bool exclusive, bool auto_delete, struct proto_table args);
void	queue_ref(struct queue *q);
void	queue_unref(struct queue *q);

static inline size_t
queue_ready(const struct queue *q)
{
	return q->nready;
}

/*
 * Appends a new message (store id msg_id, or 0), keeping a reference on m
 * unless the queue is deep and the store has the body. -1 on ENOMEM.
 */
int	queue_enqueue(struct queue *q, struct msg *m, uint64_t msg_id,
	    uint32_t flags);
/*
 * Whether a publish of m must skip q (under a reject-publish overflow, one
 * more message would pass x-max-length, or its body x-max-length-bytes);
 * the publisher then gets a nack.
 */
bool	queue_refuses_more(const struct queue *q, const struct msg *m);
/* Appends an entry recovered from the store (no body in memory yet). */
int	queue_restore(struct queue *q, const struct qentry *e);
/* Puts a delivered entry back (deliveries already counted). Takes e's ref. */
int	queue_requeue(struct queue *q, struct qentry *e);
/* Takes the next ready entry; false when empty. The caller owns e->m's ref. */
bool	queue_pop(struct queue *q, struct qentry *e);
/*
 * Takes the ready entry with this seq out of its lane, wherever it is
 * (an expiring message); false when it is not ready any more.
 */
bool	queue_remove(struct queue *q, uint8_t lane, uint64_t seq,
	    struct qentry *e);
/* The next entry queue_pop would return, or NULL. */
const struct qentry *queue_head(const struct queue *q);
/* queue_pop, with the body loaded from the store when needed; expired
 * entries on the way are dropped. */
bool	queue_take(struct queue *q, struct qentry *e);
/*
 * Settles a delivered entry (taken by queue_take, counted in
 * e->deliveries): ack drops it; requeue puts it back at its place, or
 * dead-letters it past a quorum queue's delivery limit; a reject without
 * requeue dead-letters it. Takes e's message reference. basic.ack/nack/
 * reject and the admin API's get settle through here.
 */
void	queue_settle(struct queue *q, struct qentry *e, bool ack,
	    bool requeue);
/*
 * Drops (dead-letters) the oldest ready messages while the queue is past
 * max-length or max-length-bytes under drop-head overflow (after a
 * publish or a requeue, or when a policy lowered a limit).
 */
void	queue_trim(struct queue *q);
/* Drops every ready message; returns how many. */
uint32_t queue_purge(struct queue *q);

/* Asks the broker to run queue_dispatch() before the loop sleeps. */
void	queue_wake(struct queue *q);
/* Delivers ready messages to consumers that have credit. */
void	queue_dispatch(struct queue *q);

/*
 * x-single-active-consumer (queue_sac.c): dispatch only to q->sac_active;
 * elect picks the next one when it leaves (NULL when none is left).
 */
void	queue_sac_dispatch(struct queue *q);
struct consumer *queue_sac_elect(const struct queue *q);

/* Whether consumers took deliveries in the last second (flow control). */
bool	queue_consumers_active(const struct queue *q);
void	queue_add_consumer(struct queue *q, struct consumer *c);
void	queue_remove_consumer(struct queue *q, struct consumer *c);

/*
 * x-expires (queue_lease.c; compat: RabbitMQ): a queue with no consumers
 * that is not declared again and not read by basic.get for its lease is
 * deleted. touch restarts the countdown (or stops it while consumers are
 * attached); stop ends it for good.
 */
void	queue_lease_touch(struct queue *q);
void	queue_lease_stop(struct queue *q);

/*
 * Message TTL (queue_ttl.c): an entry's deadline is the earlier of the
 * queue's x-message-ttl and the message's expiration (compat: RabbitMQ)
 * from when it was enqueued. An expired entry is never delivered.
 *
 * Unlike RabbitMQ, which drops an expired message only when it reaches the
 * head, every entry expires at its own deadline, wherever it is in the
 * queue: a min-heap of (deadline, seq) records and one timer at the
 * earliest, so an idle queue sleeps until then. A record whose entry was
 * delivered first is dropped when it comes up; stale ones are swept when
 * they outnumber the live ones, so memory stays bounded. A TTL of 0 lets
 * a message through only if a consumer takes it in the same loop turn.
 */
uint64_t queue_ttl_deadline(const struct queue *q, const struct msg *m);
/* Whether e is past its deadline now. */
bool	queue_ttl_expired(const struct queue *q, const struct qentry *e);
/* Records the deadline of e, a ready entry (if it has one). */
void	queue_ttl_track(struct queue *q, const struct qentry *e);
/* Forgets every deadline (the queue was emptied). */
void	queue_ttl_clear(struct queue *q);
/* Stops the timer and frees the records (the queue is going away). */
void	queue_ttl_stop(struct queue *q);

/* Records a binding to this queue. */
void	queue_add_binding(struct queue *q, struct binding *bd);
void	queue_remove_binding(struct queue *q, struct binding *bd);

#endif /* WARREN_SERVER_QUEUE_H */
