/*
 * Message TTL: deadlines of queue entries, and the timer that expires each
 * entry at its own deadline, wherever it is in the queue (queue.h).
 */
#include "autoconf.h"

#include "server/queue.h"

#include <stdlib.h>

#include "lib/log.h"
#include "lib/vec.h"
#include "server/broker.h"
#include "server/msg.h"
#include "server/persist.h"
#include "server/queue_dlx.h"
#include "server/vhost.h"

/* One deadline: the entry's seq and lane packed as seq << 8 | lane. */
struct ttl_rec {
	uint64_t	 at;		/* ms since the epoch */
	uint64_t	 key;
};

/*
 * Entries expired between two looks at the turn's time budget
 * (broker_turn_spent): deadlines falling together expire until the turn
 * is spent, the rest a turn later, so that a million of them do not stall
 * the loop. A slice always goes, so expiry progresses in a busy turn.
 */
#define TTL_SLICE	64

/* NULL for a queue removed from its vhost (vhost_remove_queue). */
static struct ev_loop *
loop_of(const struct queue *q)
{
	return q->vh != NULL ? q->vh->b->loop : NULL;
}

/* Milliseconds since the epoch, as the loop sees it; 0 without a loop. */
static uint64_t
now_ms(const struct queue *q)
{
	struct ev_loop *loop = loop_of(q);

	return loop != NULL ? (uint64_t)(ev_now(loop) * 1000.) : 0;
}

uint64_t
queue_ttl_deadline(const struct queue *q, const struct msg *m)
{
	int64_t ttl = q->ttl_ms;
	uint64_t now;

	/* compat: the shorter of the queue's and the message's TTL. */
	if (m->ttl_ms >= 0 && (ttl < 0 || m->ttl_ms < ttl))
		ttl = m->ttl_ms;
	if (ttl < 0 || (now = now_ms(q)) == 0)
		return 0;
	return now + (uint64_t)ttl;
}

bool
queue_ttl_expired(const struct queue *q, const struct qentry *e)
{
	uint64_t now = now_ms(q);

	/* Strictly past: a TTL of 0 still reaches a consumer this turn. */
	return e->expires_at != 0 && now != 0 && now > e->expires_at;
}

static bool
rec_before(const struct ttl_rec *a, const struct ttl_rec *b)
{
	/* Equal deadlines expire in queue order. */
	return a->at < b->at || (a->at == b->at && a->key < b->key);
}

static void
sift_down(struct ttl_rec *h, size_t n, size_t i, struct ttl_rec r)
{
	for (;;) {
		size_t a = 2 * i + 1, b = a + 1, m = i;

		if (a < n && rec_before(&h[a], &r))
			m = a;
		if (b < n && rec_before(&h[b], m == i ? &r : &h[m]))
			m = b;
		if (m == i)
			break;
		h[i] = h[m];
		i = m;
	}
	h[i] = r;
}

static void
rec_pop(struct queue *q)
{
	if (--q->ttl_n > 0)
		sift_down(q->ttl_heap, q->ttl_n, 0, q->ttl_heap[q->ttl_n]);
}

static void on_expiry(struct ev_loop *, ev_timer *, int);

/* Aims the timer just past the earliest deadline, or stops it. */
static void
arm(struct queue *q, double after)
{
	struct ev_loop *loop = loop_of(q);

	if (loop == NULL)
		return;
	ev_timer_stop(loop, &q->expiry);
	if (q->deleted || q->ttl_n == 0)
		return;
	if (after < 0.)
		after = ((double)q->ttl_heap[0].at + 1.) / 1000. -
		    ev_now(loop);
	ev_timer_init(&q->expiry, on_expiry, after > 0. ? after : 0., 0.);
	q->expiry.data = q;
	ev_timer_start(loop, &q->expiry);
}

static void
on_expiry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct queue *q = w->data;
	uint64_t now = now_ms(q);
	unsigned slice = TTL_SLICE;
	bool spent = false;
	struct qentry e;

	(void)loop;
	(void)revents;
	while (!q->deleted && q->ttl_n > 0 && now > q->ttl_heap[0].at) {
		struct ttl_rec r = q->ttl_heap[0];

		if (slice == 0) {
			if ((spent = broker_turn_spent(q->vh->b)))
				break;
			slice = TTL_SLICE;
		}
		rec_pop(q);
		/* compat: dead-lettered with reason "expired" at once. */
		if (!queue_remove(q, (uint8_t)(r.key & 0xff), r.key >> 8, &e))
			continue;	/* delivered before its deadline */
		dead_letter(q, &e, DEAD_EXPIRED);
		persist_entry_gone(q, &e);
		msg_unref(e.m);
		slice--;
	}
	arm(q, spent ? 0. : -1.);
}

/* Keeps the records of the ready entries only; false on ENOMEM. */
struct sweep {
	struct ttl_rec	*v;
	size_t		 n, cap;
	uint8_t		 lane;
};

static void
sweep_one(const struct qentry *e, void *arg)
{
	struct sweep *s = arg;

	if (e->expires_at != 0 && s->n < s->cap)
		s->v[s->n++] = (struct ttl_rec){ e->expires_at,
		    e->seq << 8 | s->lane };
}

static void
sweep(struct queue *q)
{
	struct sweep s = { .cap = q->nexpiring };

	if (s.cap > 0 && (s.v = malloc(s.cap * sizeof(*s.v))) == NULL)
		return;	/* stale records stay until they come up */
	for (size_t i = 0; i <= q->max_priority; i++) {
		s.lane = (uint8_t)i;
		qlane_each(&q->lanes[i], sweep_one, &s);
	}
	for (size_t i = s.n / 2; i-- > 0;)
		sift_down(s.v, s.n, i, s.v[i]);
	free(q->ttl_heap);
	q->ttl_heap = s.v;
	q->ttl_n = s.n;
	q->ttl_cap = s.cap;
	arm(q, -1.);
}

void
queue_ttl_track(struct queue *q, const struct qentry *e)
{
	struct ttl_rec r = { e->expires_at, e->seq << 8 | e->priority };
	size_t i;

	if (e->expires_at == 0)
		return;
	/*
	 * Records of delivered entries wait for their deadline; once they
	 * outnumber the live ones (and a share of the queue, so that the
	 * sweep's walk is paid for), sweep them. e is queued already, so the
	 * sweep records it.
	 */
	if (q->ttl_n > 2 * (size_t)q->nexpiring + 4096 + queue_ready(q) / 2) {
		sweep(q);
		return;
	}
	if (vec_grow(&q->ttl_heap, &q->ttl_cap, q->ttl_n + 1,
	    sizeof(*q->ttl_heap), 64) == -1) {
		log_warnx("queue '%s': out of memory for a message deadline; "
		    "it expires when it reaches the head", q->name);
		return;
	}
	i = q->ttl_n++;
	while (i > 0 && rec_before(&r, &q->ttl_heap[(i - 1) / 2])) {
		q->ttl_heap[i] = q->ttl_heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	q->ttl_heap[i] = r;
	if (i == 0)
		arm(q, -1.);	/* the earliest deadline now */
}

void
queue_ttl_clear(struct queue *q)
{
	struct ev_loop *loop = loop_of(q);

	if (loop != NULL)
		ev_timer_stop(loop, &q->expiry);
	q->ttl_n = 0;
}

void
queue_ttl_stop(struct queue *q)
{
	queue_ttl_clear(q);
	free(q->ttl_heap);
	q->ttl_heap = NULL;
	q->ttl_cap = 0;
}
