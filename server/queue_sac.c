/*
 * x-single-active-consumer. compat: RabbitMQ 3.10 (checked on its classic
 * queues): of the queue's consumers only the active one is served; the
 * first to subscribe is active and the others wait, whatever their
 * x-priority. When the active one goes (basic.cancel, its channel or
 * connection closing, the queue's consumer timeout), the waiting consumer
 * of the highest x-priority, the earliest subscribed among equals, takes
 * over. The consumer that went keeps its unacked deliveries on a cancel
 * (they stay ackable on its channel); a closing channel requeues them at
 * their places, so the successor gets them first, redelivered.
 *
 * A quorum queue of RabbitMQ 3.10 hands over to the earliest subscribed,
 * whatever the priorities; so does warren's.
 *
 * The consumer list of such a queue is never rotated (queue_dispatch's
 * round-robin is not used), so it stays in subscription order from
 * q->consumers on.
 */
#include "autoconf.h"

#include "server/queue.h"

#include "server/broker.h"
#include "server/chan.h"
#include "server/queue_args.h"
#include "server/vhost.h"

struct consumer *
queue_sac_elect(const struct queue *q)
{
	struct consumer *cs = q->consumers, *best = NULL;

	if (cs == NULL || q->type == QUEUE_QUORUM)
		return cs;
	do {
		if (best == NULL || cs->priority > best->priority)
			best = cs;
		cs = cs->qnext;
	} while (cs != q->consumers);
	return best;
}

void
queue_sac_dispatch(struct queue *q)
{
	struct consumer *cs;
	struct qentry e;

	/*
	 * compat: RabbitMQ 3.10 may leave the messages ready after a
	 * basic.cancel hands over until something else wakes the queue;
	 * here the successor is served at once.
	 */
	while (queue_ready(q) > 0 && (cs = q->sac_active) != NULL &&
	    chan_consumer_can_take(cs->ch, cs)) {
		if (!queue_take(q, &e))
			return;
		if (!chan_deliver(cs->ch, cs, q, &e))
			return;
		/* A queue being dispatched is in its vhost. */
		q->last_dispatch = ev_now(q->vh->b->loop);
	}
}
