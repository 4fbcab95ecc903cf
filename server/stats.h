/*
 * Message counters and their rates (compat: the management API's
 * message_stats, churn_rates and *_details, and the counters of RabbitMQ's
 * Prometheus plugin). Counting costs one plain increment per object an
 * event touches (queue, exchange, channel, vhost, broker): no lock, no
 * allocation, no lookup. Rates come from one timer: every
 * collect-statistics-interval it samples the counters of every object that
 * has had activity into a small ring (rate_ring), and a rate is the change
 * between the oldest and the newest sample over the time between them, a
 * sliding window of RATE_SAMPLES samples.
 */
#ifndef WARREN_SERVER_STATS_H
#define WARREN_SERVER_STATS_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker;
struct queue;

/* Message events, named as RabbitMQ's message_stats keys. */
enum msg_stat {
	STAT_PUBLISH,		/* channel: taken; queue: routed into it */
	STAT_PUBLISH_IN,	/* exchange: published into it */
	STAT_PUBLISH_OUT,	/* exchange: routed from it to a queue */
	STAT_CONFIRM,		/* publisher confirms (basic.ack) sent */
	STAT_DELIVER,		/* basic.deliver, manual ack */
	STAT_DELIVER_NO_ACK,	/* basic.deliver, no-ack */
	STAT_GET,		/* basic.get-ok, manual ack */
	STAT_GET_NO_ACK,	/* basic.get-ok, no-ack */
	STAT_GET_EMPTY,		/* basic.get-empty */
	STAT_REDELIVER,		/* deliveries and gets with redelivered set */
	STAT_ACK,		/* deliveries acknowledged */
	STAT_RETURN_UNROUTABLE,	/* mandatory, routed nowhere: basic.return */
	STAT_DROP_UNROUTABLE,	/* not mandatory, routed nowhere: dropped */
	STAT_ROUTED,		/* routed to at least one queue (Prometheus) */
	STAT_RECEIVED_CONFIRM,	/* published on a channel in confirm mode */
	/*
	 * The broker only (compat: the overview's disk_reads and
	 * disk_writes, RabbitMQ's message store reads and writes): message
	 * bodies written to and loaded back from the store (server/persist.c).
	 */
	STAT_DISK_READS,
	STAT_DISK_WRITES,
	STAT_MSG_N
};

struct msg_counters {
	uint64_t	v[STAT_MSG_N];
};

/* Socket traffic of a connection (server/io.h counts it). */
enum stat_io {
	STAT_RECV_OCT,		/* bytes read */
	STAT_RECV_CNT,		/* reads that returned bytes */
	STAT_SEND_OCT,		/* bytes written */
	STAT_SEND_CNT,		/* writes that took bytes */
	STAT_IO_N
};

/* Churn (compat: the overview's churn_rates). */
enum stat_churn {
	CHURN_CHANNEL_CLOSED,
	CHURN_CHANNEL_CREATED,
	CHURN_CONNECTION_CLOSED,
	CHURN_CONNECTION_CREATED,
	CHURN_QUEUE_CREATED,
	CHURN_QUEUE_DECLARED,
	CHURN_QUEUE_DELETED,
	CHURN_N
};

/* Queue depth, sampled for messages*_details. */
enum stat_depth {
	DEPTH_MESSAGES,
	DEPTH_READY,
	DEPTH_UNACKED,
	DEPTH_N
};

/*
 * The window: 12 samples, a minute at RabbitMQ's default 5 s interval
 * (and what the UI's lengths_age=60&lengths_incr=5 asks for).
 */
#define RATE_SAMPLES	12

/*
 * The samples of one object: width values each. Made at the first tick
 * that sees the object active, freed with it; idle objects have none.
 */
struct rate_ring {
	uint16_t	 width;
	uint8_t		 next;		/* slot of the next sample */
	uint8_t		 n;		/* samples held, <= RATE_SAMPLES */
	double		 t[RATE_SAMPLES];
	uint64_t	 v[];		/* [RATE_SAMPLES][width] */
};

/* Records v[0..width) taken at t; *rp is made on first use. */
void	rate_ring_push(struct rate_ring **rp, size_t width, double t,
	    const uint64_t *v);
/*
 * Value i's change per second over the window (newest minus oldest
 * sample); 0 with fewer than two samples. Values may go down (depths).
 */
double	rate_ring_rate(const struct rate_ring *r, size_t i);
void	rate_ring_free(struct rate_ring **rp);

/* A Prometheus histogram with fixed bounds (le), cumulative on output. */
#define STATS_HIST_MAX	16
struct stats_histogram {
	const double	*bounds;	/* ascending; +Inf is implicit */
	size_t		 nbounds;
	uint64_t	 bucket[STATS_HIST_MAX];	/* per bound, not summed */
	uint64_t	 count;
	double		 sum;
};
void	stats_histogram_observe(struct stats_histogram *h, double v);

/*
 * A published body of len bytes into msg_size: stats_histogram_observe's
 * buckets and sum, by integer compares (once per publish; most bodies
 * fit the first bucket, STATS_MSG_SIZE_B0 bytes, the first of
 * stats.c's size bounds).
 */
#define STATS_MSG_SIZE_B0	100
void	stats_msg_size_slow(struct stats_histogram *h, uint64_t len);
static inline void
stats_msg_size_observe(struct stats_histogram *h, uint64_t len)
{
	if (len <= STATS_MSG_SIZE_B0)
		h->bucket[0]++;
	else
		stats_msg_size_slow(h, len);
	h->count++;
	h->sum += (double)len;
}

/* What the broker keeps for everything together (struct broker's stats). */
struct broker_stats {
	struct msg_counters	 msg;		/* every vhost, ever */
	struct rate_ring	*msg_rates;
	uint64_t		 churn[CHURN_N];	/* b->churn at the last tick */
	struct rate_ring	*churn_rates;
	uint64_t		 io[STAT_IO_N];	/* closed + folded connections */
	struct rate_ring	*depth_rates;	/* queue_totals */
	uint64_t		 depth[DEPTH_N];	/* at the last tick */
	/* Logins (compat: rabbitmq_auth_attempts_*), by protocol. */
	uint64_t		 auth_ok[2], auth_failed[2];	/* AMQP, HTTP */
	/* warren's own: the store's group commits. */
	struct stats_histogram	 commit_seconds;
	struct stats_histogram	 commit_batch;
	/* compat: RabbitMQ's message_size_bytes, bodies as published. */
	struct stats_histogram	 msg_size;
	ev_timer		 tick;
	double			 started;	/* ev_now at start, for uptime */
	double			 last_tick;	/* ev_now of the last sample */
	double			 tick_seconds;	/* the last tick's cost */
	uint32_t		 new_rings;	/* made by this tick */
	bool			 deferred;	/* this tick put rings off */
	bool			 deferred_last;	/* the tick before did */
};

#define STATS_AUTH_AMQP	0
#define STATS_AUTH_HTTP	1

/* Sets up the counters; stats_start starts the sampling timer. */
void	stats_init(struct broker *b);
void	stats_start(struct broker *b);
void	stats_free(struct broker *b);
/* Takes one sample of every active object now (the timer's work). */
void	stats_tick(struct broker *b);
/*
 * Folds a connection's socket counters into its vhost and the broker
 * (at every tick and when it closes), so those outlive it.
 */
struct conn;
void	stats_fold_conn(struct conn *c);
/* b->churn's counters into v[CHURN_N], in enum stat_churn's order. */
void	stats_churn(const struct broker *b, uint64_t *v);
/* One store commit of ops ops that took seconds. */
void	stats_commit(struct broker *b, double seconds, size_t ops);

/*
 * A channel's counters per exchange, per queue and per (queue, exchange)
 * pair (compat: RabbitMQ's channel_exchange_metrics,
 * channel_queue_metrics and channel_queue_exchange_metrics, labelled
 * {channel,vhost,exchange}, {channel,vhost,queue} and
 * {channel,queue_vhost,queue,exchange_vhost,exchange} on
 * /metrics/per-object). A fixed array per channel, found by pointer
 * compare on the hot path, no allocation: past STATS_CHAN_OBJS
 * exchanges (or queues, or pairs) on one channel, the further ones are
 * not broken out (their events still count in the channel's own totals).
 * A queue's slot holds a reference to it (server/queue.h): a deleted
 * queue stays allocated, marked deleted and not reported, until its
 * channel closes or needs the slot, so deleting a queue scans no
 * channels. An exchange's slots are cleared when it is deleted
 * (stats_forget), so a freed exchange, or another one at its address, is
 * never reported.
 */
#define STATS_CHAN_OBJS	16
#define STATS_OBJ_N	7	/* counters a slot holds, see stats_obj_index */
struct stats_obj {
	const void	*obj;		/* struct exchange or queue; NULL: free */
	uint64_t	 v[STATS_OBJ_N];
	/*
	 * Exchanges: publishes in confirm mode awaiting the commit that
	 * confirms them (then counted as STAT_CONFIRM) or fails them.
	 */
	uint64_t	 unconfirmed;
};
struct stats_pair {
	const void	*q, *ex;	/* NULL q: free */
	uint64_t	 published;	/* routed into q from ex */
};
struct stats_chan_objs {
	struct stats_obj ex[STATS_CHAN_OBJS];
	struct stats_obj q[STATS_CHAN_OBJS];
	struct stats_pair qx[STATS_CHAN_OBJS];
	uint64_t	 qx_other;	/* routed into pairs past the last slot */
};
/* Where s is kept in a slot's v, or -1 if no per-object family has it. */
int	stats_obj_index(enum msg_stat s);
/* Adds n events s on ex or q to a channel's slots. */
void	stats_ex_count(struct stats_chan_objs *o, const void *ex,
	    enum msg_stat s, uint64_t n);
void	stats_q_count(struct stats_chan_objs *o, struct queue *q,
	    enum msg_stat s, uint64_t n);
/* A publish into ex in confirm mode, not yet confirmed. */
void	stats_obj_unconfirmed(struct stats_obj *slots, const void *ex);
/*
 * The channel's commit happened (confirmed: its publishes are counted as
 * confirmed per exchange) or failed (they were nacked).
 */
void	stats_obj_settle(struct stats_obj *slots, bool confirmed);
/* A message routed into q from ex. */
void	stats_pair_count(struct stats_chan_objs *o, struct queue *q,
	    const void *ex);
/* Clears ex's slots on every channel: ex is being deleted. */
void	stats_forget(struct broker *b, const void *ex);
/* Lets go of a closing channel's queues. */
void	stats_chan_release(struct stats_chan_objs *o);

/* Whether an object's counters show any activity (message_stats shown). */
bool	stats_active(const struct msg_counters *c);

/*
 * The message_stats keys each kind of object carries (compat: as RabbitMQ
 * 3.10 shows them, in its alphabetical order; deliver_get is derived), and
 * the order of the first values of its rate ring. A queue's ring holds
 * its DEPTH_N depths after them; a vhost's recv_oct and send_oct, then
 * its depths; a connection's holds its STAT_IO_N socket counters only.
 */
struct stats_layout {
	const uint8_t	*keys;		/* enum msg_stat */
	uint8_t		 n;
};
extern const struct stats_layout stats_queue_layout;
extern const struct stats_layout stats_exchange_layout;
/* Channels and vhosts. */
extern const struct stats_layout stats_channel_layout;
/* The broker's (the overview's): the channel keys and the disk ones. */
extern const struct stats_layout stats_overview_layout;
/* A key's name in message_stats ("publish"). */
const char *stats_name(enum msg_stat s);

#endif /* WARREN_SERVER_STATS_H */
