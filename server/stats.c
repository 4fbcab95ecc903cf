#include "autoconf.h"

#include "server/stats.h"

#include <stdlib.h>
#include <string.h>

#include "lib/hmap.h"
#include "lib/mono.h"
#include "lib/xmalloc.h"
#include "server/broker.h"
#include "server/chan.h"
#include "server/conn.h"
#include "server/exchange.h"
#include "server/queue.h"
#include "server/vhost.h"

static const char *const names[STAT_MSG_N] = {
	[STAT_PUBLISH] = "publish",
	[STAT_PUBLISH_IN] = "publish_in",
	[STAT_PUBLISH_OUT] = "publish_out",
	[STAT_CONFIRM] = "confirm",
	[STAT_DELIVER] = "deliver",
	[STAT_DELIVER_NO_ACK] = "deliver_no_ack",
	[STAT_GET] = "get",
	[STAT_GET_NO_ACK] = "get_no_ack",
	[STAT_GET_EMPTY] = "get_empty",
	[STAT_REDELIVER] = "redeliver",
	[STAT_ACK] = "ack",
	[STAT_RETURN_UNROUTABLE] = "return_unroutable",
	[STAT_DROP_UNROUTABLE] = "drop_unroutable",
	[STAT_ROUTED] = "routed",
	[STAT_RECEIVED_CONFIRM] = "received_confirm",
	[STAT_DISK_READS] = "disk_reads",
	[STAT_DISK_WRITES] = "disk_writes",
};

static const uint8_t queue_keys[] = {
	STAT_ACK, STAT_DELIVER, STAT_DELIVER_NO_ACK, STAT_GET, STAT_GET_EMPTY,
	STAT_GET_NO_ACK, STAT_PUBLISH, STAT_REDELIVER,
};
static const uint8_t exchange_keys[] = { STAT_PUBLISH_IN, STAT_PUBLISH_OUT };
static const uint8_t channel_keys[] = {
	STAT_ACK, STAT_CONFIRM, STAT_DELIVER, STAT_DELIVER_NO_ACK,
	STAT_DROP_UNROUTABLE, STAT_GET, STAT_GET_EMPTY, STAT_GET_NO_ACK,
	STAT_PUBLISH, STAT_REDELIVER, STAT_RETURN_UNROUTABLE,
};

static const uint8_t overview_keys[] = {
	STAT_ACK, STAT_CONFIRM, STAT_DELIVER, STAT_DELIVER_NO_ACK,
	STAT_DISK_READS, STAT_DISK_WRITES, STAT_DROP_UNROUTABLE, STAT_GET,
	STAT_GET_EMPTY, STAT_GET_NO_ACK, STAT_PUBLISH, STAT_REDELIVER,
	STAT_RETURN_UNROUTABLE,
};

const struct stats_layout stats_queue_layout = {
	queue_keys, sizeof(queue_keys)
};
const struct stats_layout stats_exchange_layout = {
	exchange_keys, sizeof(exchange_keys)
};
const struct stats_layout stats_channel_layout = {
	channel_keys, sizeof(channel_keys)
};
const struct stats_layout stats_overview_layout = {
	overview_keys, sizeof(overview_keys)
};

/* The widest ring: a vhost's channel keys, depths and two io values. */
#define WIDTH_MAX	(sizeof(channel_keys) + DEPTH_N + 2)

const char *
stats_name(enum msg_stat s)
{
	return s < STAT_MSG_N ? names[s] : "";
}

/* ---- rate rings -------------------------------------------------------- */

void
rate_ring_push(struct rate_ring **rp, size_t width, double t,
    const uint64_t *v)
{
	struct rate_ring *r = *rp;

	if (r == NULL) {
		r = xcalloc(1, sizeof(*r) + RATE_SAMPLES * width *
		    sizeof(r->v[0]));
		r->width = (uint16_t)width;
		*rp = r;
	}
	r->t[r->next] = t;
	memcpy(&r->v[(size_t)r->next * r->width], v, r->width *
	    sizeof(r->v[0]));
	r->next = (uint8_t)((r->next + 1) % RATE_SAMPLES);
	if (r->n < RATE_SAMPLES)
		r->n++;
}

double
rate_ring_rate(const struct rate_ring *r, size_t i)
{
	size_t newest, oldest;
	double dt;
	int64_t dv;

	if (r == NULL || r->n < 2 || i >= r->width)
		return 0.0;
	newest = (r->next + RATE_SAMPLES - 1) % RATE_SAMPLES;
	oldest = (r->next + RATE_SAMPLES - r->n) % RATE_SAMPLES;
	if ((dt = r->t[newest] - r->t[oldest]) <= 0.0)
		return 0.0;
	/* Two's complement: a depth that went down gives a negative rate. */
	dv = (int64_t)(r->v[newest * r->width + i] -
	    r->v[oldest * r->width + i]);
	return (double)dv / dt;
}

void
rate_ring_free(struct rate_ring **rp)
{
	free(*rp);
	*rp = NULL;
}

void
stats_histogram_observe(struct stats_histogram *h, double v)
{
	size_t i = 0;

	while (i < h->nbounds && v > h->bounds[i])
		i++;
	if (i < h->nbounds)
		h->bucket[i]++;
	h->count++;
	h->sum += v;
}

bool
stats_active(const struct msg_counters *c)
{
	for (size_t i = 0; i < STAT_MSG_N; i++)
		if (c->v[i] != 0)
			return true;
	return false;
}

/* ---- sampling ---------------------------------------------------------- */

/*
 * Most rings one tick makes: making one costs an allocation (~10 us with
 * its page faults), and a burst that wakes 10,000 idle queues at once
 * must not stall the loop for 100 ms. The others get theirs at the next
 * ticks.
 */
#define NEW_RINGS_PER_TICK	256

/*
 * Records v (its first ncounters values counters, the rest gauges such as
 * depths). A new ring starts with a sample at the tick before: counters
 * start at zero when an object is made, so they were zero then (unless
 * that tick put the ring off: then nothing is guessed), and gauges are
 * taken as they are now, so a queue recovered full shows no spike. The
 * broker's and the vhosts' rings (always) are never put off.
 */
static void
push_ring(struct broker_stats *s, struct rate_ring **rp, size_t width,
    size_t ncounters, double now, const uint64_t *v, bool always)
{
	if (*rp == NULL) {
		uint64_t seed[WIDTH_MAX];

		if (s->new_rings++ >= NEW_RINGS_PER_TICK && !always) {
			s->deferred = true;
			return;
		}
		if (!s->deferred_last && s->last_tick < now) {
			memcpy(seed, v, width * sizeof(v[0]));
			memset(seed, 0, ncounters * sizeof(v[0]));
			rate_ring_push(rp, width, s->last_tick, seed);
		}
	}
	rate_ring_push(rp, width, now, v);
}

static void
push(struct broker_stats *s, struct rate_ring **rp, size_t width,
    size_t ncounters, double now, const uint64_t *v)
{
	push_ring(s, rp, width, ncounters, now, v, false);
}

static size_t
gather(uint64_t *v, const struct stats_layout *l, const struct msg_counters *c)
{
	for (size_t i = 0; i < l->n; i++)
		v[i] = c->v[l->keys[i]];
	return l->n;
}

static void
tick_queue(struct broker_stats *s, struct queue *q, double now,
    uint64_t *depth)
{
	uint64_t v[WIDTH_MAX];
	size_t n;

	depth[DEPTH_READY] += queue_ready(q);
	depth[DEPTH_UNACKED] += q->unacked;
	if (q->rates == NULL && !stats_active(&q->stats) &&
	    queue_ready(q) == 0 && q->unacked == 0)
		return;		/* never used: no ring, no work */
	n = gather(v, &stats_queue_layout, &q->stats);
	v[n + DEPTH_MESSAGES] = queue_ready(q) + q->unacked;
	v[n + DEPTH_READY] = queue_ready(q);
	v[n + DEPTH_UNACKED] = q->unacked;
	push(s, &q->rates, n + DEPTH_N, n, now, v);
}

static void
tick_vhost(struct broker_stats *s, struct vhost *vh, double now,
    uint64_t *total)
{
	uint64_t v[WIDTH_MAX], depth[DEPTH_N] = { 0 };
	size_t n;
	void *p;

	for (size_t i = 0; hmap_next(&vh->queues, &i, &p);)
		tick_queue(s, p, now, depth);
	for (size_t i = 0; hmap_next(&vh->exchanges, &i, &p);) {
		struct exchange *ex = p;

		if (ex->rates == NULL && !stats_active(&ex->stats))
			continue;
		n = gather(v, &stats_exchange_layout, &ex->stats);
		push(s, &ex->rates, n, n, now, v);
	}
	depth[DEPTH_MESSAGES] = depth[DEPTH_READY] + depth[DEPTH_UNACKED];
	for (size_t k = 0; k < DEPTH_N; k++)
		total[k] += depth[k];
	n = gather(v, &stats_channel_layout, &vh->stats);
	v[n] = vh->io[STAT_RECV_OCT];
	v[n + 1] = vh->io[STAT_SEND_OCT];
	memcpy(&v[n + 2], depth, sizeof(depth));
	push_ring(s, &vh->rates, n + 2 + DEPTH_N, n + 2, now, v, true);
}

static void
io_counts(const struct conn *c, uint64_t *v)
{
	v[STAT_RECV_OCT] = c->io.recv_oct;
	v[STAT_RECV_CNT] = c->io.recv_cnt;
	v[STAT_SEND_OCT] = c->io.sent_oct;
	v[STAT_SEND_CNT] = c->io.sent_cnt;
}

void
stats_fold_conn(struct conn *c)
{
	struct broker_stats *s = &c->b->stats;
	uint64_t v[STAT_IO_N];

	io_counts(c, v);
	for (size_t k = 0; k < STAT_IO_N; k++) {
		uint64_t d = v[k] - c->io_folded[k];

		if (c->vh != NULL)
			c->vh->io[k] += d;
		s->io[k] += d;
		c->io_folded[k] = v[k];
	}
}

static void
tick_conn(struct broker_stats *s, struct conn *c, double now)
{
	uint64_t v[WIDTH_MAX];
	size_t n;

	if (c->state == CONN_DEAD)
		return;
	stats_fold_conn(c);
	io_counts(c, v);
	push(s, &c->rates, STAT_IO_N, STAT_IO_N, now, v);
	for (uint32_t i = 0; i < c->chans_cap; i++) {
		struct chan *ch = c->chans[i];

		if (ch == NULL ||
		    (ch->rates == NULL && !stats_active(&ch->stats)))
			continue;
		n = gather(v, &stats_channel_layout, &ch->stats);
		push(s, &ch->rates, n, n, now, v);
	}
}

/* struct broker's churn counters in enum stat_churn's order. */
void
stats_churn(const struct broker *b, uint64_t *v)
{
	v[CHURN_CHANNEL_CLOSED] = b->churn.channel_closed;
	v[CHURN_CHANNEL_CREATED] = b->churn.channel_created;
	v[CHURN_CONNECTION_CLOSED] = b->churn.connection_closed;
	v[CHURN_CONNECTION_CREATED] = b->churn.connection_created;
	v[CHURN_QUEUE_CREATED] = b->churn.queue_created;
	v[CHURN_QUEUE_DECLARED] = b->churn.queue_declared;
	v[CHURN_QUEUE_DELETED] = b->churn.queue_deleted;
}

void
stats_tick(struct broker *b)
{
	struct broker_stats *s = &b->stats;
	double now = b->loop != NULL ? ev_now(b->loop) : mono_s();
	double t0 = mono_s();
	uint64_t v[WIDTH_MAX], depth[DEPTH_N] = { 0 };
	size_t n;
	void *p;

	s->new_rings = 0;
	s->deferred_last = s->deferred;
	s->deferred = false;
	stats_churn(b, s->churn);
	n = gather(v, &stats_overview_layout, &s->msg);
	push_ring(s, &s->msg_rates, n, n, now, v, true);
	push_ring(s, &s->churn_rates, CHURN_N, CHURN_N, now, s->churn,
	    true);
	for (size_t i = 0; hmap_next(&b->vhosts, &i, &p);)
		tick_vhost(s, p, now, depth);
	for (struct conn *c = b->conns; c != NULL; c = c->next)
		tick_conn(s, c, now);
	memcpy(s->depth, depth, sizeof(depth));
	push_ring(s, &s->depth_rates, DEPTH_N, 0, now, depth, true);
	s->last_tick = now;
	s->tick_seconds = mono_s() - t0;
}

static void
on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	stats_tick(ev_userdata(loop));
}

/* Seconds: 100 us to 10 s, about three steps a decade. */
static const double commit_bounds[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 10,
};
/* Store operations per commit. */
static const double batch_bounds[] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384,
};

/*
 * compat: rabbit_msg_size_metrics.erl's bounds (bytes), as the output
 * writes them and as the hot path compares them (the same numbers).
 */
#define SIZE_BOUNDS \
	STATS_MSG_SIZE_B0, 1000, 10000, 100000, 1000000, 10000000, 50000000, \
	100000000
static const double size_bounds[] = { SIZE_BOUNDS };
static const uint64_t size_bounds_int[] = { SIZE_BOUNDS };

void
stats_msg_size_slow(struct stats_histogram *h, uint64_t len)
{
	size_t i = 1, n = sizeof(size_bounds_int) / sizeof(size_bounds_int[0]);

	while (i < n && len > size_bounds_int[i])
		i++;
	if (i < n)
		h->bucket[i]++;
}

void
stats_init(struct broker *b)
{
	struct broker_stats *s = &b->stats;
	double interval = (double)b->cfg.collect_statistics_interval / 1000.0;

	s->commit_seconds.bounds = commit_bounds;
	s->commit_seconds.nbounds = sizeof(commit_bounds) /
	    sizeof(commit_bounds[0]);
	s->commit_batch.bounds = batch_bounds;
	s->commit_batch.nbounds = sizeof(batch_bounds) /
	    sizeof(batch_bounds[0]);
	s->msg_size.bounds = size_bounds;
	s->msg_size.nbounds = sizeof(size_bounds) / sizeof(size_bounds[0]);
	ev_timer_init(&s->tick, on_tick, interval, interval);
	if (b->loop != NULL)
		s->started = s->last_tick = ev_now(b->loop);
}

void
stats_start(struct broker *b)
{
	ev_timer_start(b->loop, &b->stats.tick);
}

void
stats_free(struct broker *b)
{
	struct broker_stats *s = &b->stats;

	if (b->loop != NULL)
		ev_timer_stop(b->loop, &s->tick);
	rate_ring_free(&s->msg_rates);
	rate_ring_free(&s->churn_rates);
	rate_ring_free(&s->depth_rates);
}

void
stats_commit(struct broker *b, double seconds, size_t ops)
{
	stats_histogram_observe(&b->stats.commit_seconds, seconds);
	stats_histogram_observe(&b->stats.commit_batch, (double)ops);
}

/* ---- per channel, per exchange or queue ---------------------------------- */

int
stats_obj_index(enum msg_stat s)
{
	switch (s) {
	/* Exchanges. */
	case STAT_PUBLISH:		return 0;
	case STAT_CONFIRM:		return 1;
	case STAT_RETURN_UNROUTABLE:	return 2;
	case STAT_DROP_UNROUTABLE:	return 3;
	/* Queues. */
	case STAT_GET:			return 0;
	case STAT_GET_NO_ACK:		return 1;
	case STAT_DELIVER:		return 2;
	case STAT_DELIVER_NO_ACK:	return 3;
	case STAT_REDELIVER:		return 4;
	case STAT_ACK:			return 5;
	case STAT_GET_EMPTY:		return 6;
	default:			return -1;
	}
}

/*
 * A slot of a queue deleted since it was taken (q: its reference is
 * let go here). Looked at only when a channel's slots are full, so the
 * hot path compares pointers and nothing else.
 */
static bool
slot_stale(struct stats_obj *o, bool queues)
{
	struct queue *q = (struct queue *)o->obj;

	if (!queues || q == NULL || !q->deleted)
		return false;
	queue_unref(q);
	memset(o, 0, sizeof(*o));
	return true;
}

/*
 * Takes a free slot for obj, not in slots yet; NULL when all are taken.
 * Once per object and channel: out of the hot path.
 */
static __attribute__((noinline)) struct stats_obj *
obj_slot_take(struct stats_obj *slots, const void *obj, bool queues)
{
	struct stats_obj *free_slot = NULL;

	for (size_t i = 0; free_slot == NULL && i < STATS_CHAN_OBJS; i++)
		if (slots[i].obj == NULL)
			free_slot = &slots[i];
	for (size_t i = 0; free_slot == NULL && i < STATS_CHAN_OBJS; i++)
		if (slot_stale(&slots[i], queues))
			free_slot = &slots[i];
	/* Full: this one is not broken out (see STATS_CHAN_OBJS). */
	if (free_slot == NULL)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->obj = obj;
	if (queues)
		queue_ref((struct queue *)obj);
	return free_slot;
}

/* Finds obj's slot, or takes a free one; NULL when all are taken. */
static inline struct stats_obj *
obj_slot(struct stats_obj *slots, const void *obj, bool queues)
{
	for (size_t i = 0; i < STATS_CHAN_OBJS; i++)
		if (slots[i].obj == obj)
			return &slots[i];
	return obj_slot_take(slots, obj, queues);
}

void
stats_ex_count(struct stats_chan_objs *o, const void *ex, enum msg_stat s,
    uint64_t n)
{
	struct stats_obj *slot;
	int k = stats_obj_index(s);

	if (k >= 0 && ex != NULL && (slot = obj_slot(o->ex, ex, false)) != NULL)
		slot->v[k] += n;
}

void
stats_q_count(struct stats_chan_objs *o, struct queue *q, enum msg_stat s,
    uint64_t n)
{
	struct stats_obj *slot;
	int k = stats_obj_index(s);

	/* A deleted queue gets no new slot (an unacked ref may still count). */
	if (k < 0 || q == NULL || q->deleted)
		return;
	if ((slot = obj_slot(o->q, q, true)) != NULL)
		slot->v[k] += n;
}

void
stats_obj_unconfirmed(struct stats_obj *slots, const void *ex)
{
	struct stats_obj *o;

	if (ex != NULL && (o = obj_slot(slots, ex, false)) != NULL)
		o->unconfirmed++;
}

void
stats_obj_settle(struct stats_obj *slots, bool confirmed)
{
	int k = stats_obj_index(STAT_CONFIRM);

	for (size_t i = 0; i < STATS_CHAN_OBJS; i++) {
		if (confirmed)
			slots[i].v[k] += slots[i].unconfirmed;
		slots[i].unconfirmed = 0;
	}
}

static void
pair_clear(struct stats_pair *p)
{
	if (p->q != NULL)
		queue_unref((struct queue *)p->q);
	memset(p, 0, sizeof(*p));
}

/* The first time q and ex pair on a channel: out of the hot path. */
static __attribute__((noinline)) void
pair_take(struct stats_chan_objs *o, struct queue *q, const void *ex)
{
	struct stats_pair *pairs = o->qx, *free_pair = NULL;

	for (size_t i = 0; free_pair == NULL && i < STATS_CHAN_OBJS; i++)
		if (pairs[i].q == NULL)
			free_pair = &pairs[i];
	for (size_t i = 0; free_pair == NULL && i < STATS_CHAN_OBJS; i++)
		if (((const struct queue *)pairs[i].q)->deleted) {
			pair_clear(&pairs[i]);
			free_pair = &pairs[i];
		}
	if (free_pair == NULL) {
		o->qx_other++;
		return;
	}
	queue_ref(q);
	free_pair->q = q;
	free_pair->ex = ex;
	free_pair->published = 1;
}

void
stats_pair_count(struct stats_chan_objs *o, struct queue *q, const void *ex)
{
	struct stats_pair *pairs = o->qx;

	for (size_t i = 0; i < STATS_CHAN_OBJS; i++)
		if (pairs[i].q == q && pairs[i].ex == ex) {
			pairs[i].published++;
			return;
		}
	pair_take(o, q, ex);
}

void
stats_forget(struct broker *b, const void *ex)
{
	for (struct conn *c = b->conns; c != NULL; c = c->next)
		for (uint32_t i = 0; i < c->chans_cap; i++) {
			struct chan *ch = c->chans[i];

			if (ch == NULL)
				continue;
			for (size_t k = 0; k < STATS_CHAN_OBJS; k++) {
				if (ch->objs.ex[k].obj == ex)
					memset(&ch->objs.ex[k], 0,
					    sizeof(ch->objs.ex[k]));
				if (ch->objs.qx[k].ex == ex)
					pair_clear(&ch->objs.qx[k]);
			}
		}
}

void
stats_chan_release(struct stats_chan_objs *o)
{
	for (size_t i = 0; i < STATS_CHAN_OBJS; i++) {
		if (o->q[i].obj != NULL)
			queue_unref((struct queue *)o->q[i].obj);
		if (o->qx[i].q != NULL)
			queue_unref((struct queue *)o->qx[i].q);
	}
	memset(o, 0, sizeof(*o));
}
