/*
 * Message TTL: deadlines of queue entries, and the timer that drops
 * expired entries from the head of a queue nobody is reading.
 */
#include "autoconf.h"

#include "server/queue.h"

#include "server/broker.h"
#include "server/msg.h"
#include "server/persist.h"
#include "server/queue_dlx.h"
#include "server/vhost.h"

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

static void
on_expiry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct queue *q = w->data;
	const struct qentry *h;
	struct qentry e;

	(void)loop;
	(void)revents;
	if (q->deleted)
		return;
	while ((h = queue_head(q)) != NULL && queue_ttl_expired(q, h)) {
		(void)queue_pop(q, &e);
		dead_letter(q, &e, DEAD_EXPIRED);
		persist_entry_gone(q, &e);
		msg_unref(e.m);
	}
	queue_ttl_arm(q);
}

void
queue_ttl_stop(struct queue *q)
{
	struct ev_loop *loop = loop_of(q);

	if (loop != NULL)
		ev_timer_stop(loop, &q->expiry);
}

void
queue_ttl_arm(struct queue *q)
{
	struct ev_loop *loop = loop_of(q);
	const struct qentry *h = queue_head(q);
	double after;

	if (loop == NULL)
		return;
	ev_timer_stop(loop, &q->expiry);
	if (q->deleted || h == NULL || h->expires_at == 0)
		return;
	/* Just past the deadline, so that the entry is expired by then. */
	after = ((double)h->expires_at + 1.) / 1000. - ev_now(loop);
	ev_timer_init(&q->expiry, on_expiry, after > 0. ? after : 0., 0.);
	q->expiry.data = q;
	ev_timer_start(loop, &q->expiry);
}
