/*
 * x-expires: the lease of a queue nobody uses. compat: as RabbitMQ, the
 * countdown runs while the queue has no consumers and restarts when it is
 * declared again or read by basic.get; a durable queue's countdown starts
 * afresh when warrend does.
 */
#include "autoconf.h"

#include "server/queue.h"

#include "lib/log.h"
#include "server/broker.h"
#include "server/vhost.h"

static void
on_lease(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct queue *q = w->data;

	(void)loop;
	(void)revents;
	if (q->deleted || q->nconsumers > 0 || q->vh == NULL)
		return;
	log_info("vhost %s: queue '%s' expired (unused for %llu ms)",
	    q->vh->name, q->name, (unsigned long long)q->expires_ms);
	vhost_delete_queue(q->vh, q);
}

void
queue_lease_stop(struct queue *q)
{
	if (q->expires_ms == 0 || q->vh == NULL)
		return;
	ev_timer_stop(q->vh->b->loop, &q->lease);
}

void
queue_lease_touch(struct queue *q)
{
	struct broker *b;

	if (q->expires_ms == 0 || q->vh == NULL)
		return;
	b = q->vh->b;
	ev_timer_stop(b->loop, &q->lease);
	if (q->deleted || q->nconsumers > 0)
		return;
	ev_timer_init(&q->lease, on_lease, (double)q->expires_ms / 1000., 0.);
	q->lease.data = q;
	ev_timer_start(b->loop, &q->lease);
}
