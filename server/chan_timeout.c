/*
 * Consumer timeouts: a delivery left unacknowledged past its queue's
 * consumer timeout closes its channel (the close requeues every unacked
 * delivery of the channel, in order).
 *
 * One timer per channel, armed at the deadline of the channel's oldest
 * unacked delivery (the head of its ring, which settling keeps
 * unsettled): a wake does a constant amount of work, and no delivery or
 * ack touches more than the head. compat: RabbitMQ 3.10 to 3.12 check
 * only the oldest unacked delivery of a channel too, but on a one-minute
 * tick; warren closes the channel at the deadline itself.
 */
#include "autoconf.h"

#include "server/chan.h"

#include "server/broker.h"
#include "server/conn.h"

/* Deadlines this close to now count as passed (libev's clock is coarse). */
#define SLACK	0.001

/* When u times out (ev_now() time), 0: never. */
static double
deadline(const struct unacked *u)
{
	return u->at != 0. ? u->at + (double)u->timeout_ms / 1000. : 0.;
}

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct chan *ch = w->data;
	const struct unacked *u;
	double at;

	(void)revents;
	/* A closing connection requeues everything itself, and soon. */
	if (ch->state != CHAN_OPEN || ch->c->state != CONN_RUNNING ||
	    ch->ua_len == 0)
		return;
	u = &ch->unacked[ch->ua_head & (ch->ua_cap - 1)];
	if ((at = deadline(u)) == 0.)
		return;
	if (at > ev_now(loop) + SLACK) {
		chan_timeout_arm(ch);
		return;
	}
	/*
	 * compat: RabbitMQ's words and its class and method 0 (the close is
	 * about no method).
	 */
	chan_fail(ch, PROTO_PRECONDITION_FAILED, 0,
	    "delivery acknowledgement on channel %u timed out. Timeout value "
	    "used: %lld ms. This timeout value can be configured, see "
	    "consumers doc guide to learn more", ch->id,
	    (long long)u->timeout_ms);
}

void
chan_timeout_init(struct chan *ch)
{
	ev_timer_init(&ch->ack_timer, on_timer, 0., 0.);
	ch->ack_timer.data = ch;
}

void
chan_timeout_stop(struct chan *ch)
{
	if (ch->c->b->loop != NULL)
		ev_timer_stop(ch->c->b->loop, &ch->ack_timer);
}

int64_t
chan_timeout_ms(const struct chan *ch, const struct queue *q)
{
	return q->consumer_timeout >= 0 ? q->consumer_timeout :
	    (int64_t)ch->c->b->cfg.consumer_timeout;
}

void
chan_timeout_set(struct chan *ch, struct unacked *u, const struct queue *q)
{
	struct ev_loop *loop = ch->c->b->loop;
	int64_t t = chan_timeout_ms(ch, q);

	/* 0: no timeout (the broker-wide option's "none", kept for all). */
	u->timeout_ms = t;
	u->at = t > 0 && loop != NULL ? ev_now(loop) : 0.;
}

void
chan_timeout_arm(struct chan *ch)
{
	struct ev_loop *loop = ch->c->b->loop;
	double at;

	if (ch->ua_len == 0 || ch->state != CHAN_OPEN || loop == NULL)
		return;		/* a running timer finds nothing: one wake */
	at = deadline(&ch->unacked[ch->ua_head & (ch->ua_cap - 1)]);
	if (at == 0.)
		return;
	/*
	 * A later deadline than the armed one waits for that wake (acks in
	 * order move the head's deadline forward at every ack); an earlier
	 * one (queues with different timeouts) moves the timer.
	 */
	if (ev_is_active(&ch->ack_timer) && ch->ack_timer_at <= at)
		return;
	ev_timer_stop(loop, &ch->ack_timer);
	ev_timer_set(&ch->ack_timer, at - ev_now(loop) > 0. ?
	    at - ev_now(loop) : 0., 0.);
	ev_timer_start(loop, &ch->ack_timer);
	ch->ack_timer_at = at;
}
