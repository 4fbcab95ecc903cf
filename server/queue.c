#include "autoconf.h"

#include "server/queue.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "server/broker.h"
#include "server/chan.h"
#include "server/conn.h"
#include "server/exchange.h"
#include "server/msg.h"
#include "server/persist.h"
#include "server/queue_args.h"
#include "server/queue_dlx.h"
#include "server/queue_quorum.h"
#include "server/vhost.h"

struct queue *
queue_new(struct vhost *vh, struct proto_str name, bool durable,
    bool exclusive, bool auto_delete, struct proto_table args)
{
	struct queue *q;

	q = xcalloc(1, sizeof(*q));
	q->max_priority = queue_args_max_priority(args);
	q->lanes = q->max_priority == 0 ? &q->lane0 :
	    xcalloc((size_t)q->max_priority + 1, sizeof(*q->lanes));
	q->name = xmalloc(name.len + 1);
	if (args.len)
		q->args = xmalloc(args.len);
	memcpy(q->name, name.p, name.len);
	q->name[name.len] = '\0';
	q->name_len = name.len;
	if (args.len)
		memcpy(q->args, args.p, args.len);
	q->args_len = args.len;
	q->vh = vh;
	q->created_at = ev_now(vh->b->loop);
	q->refs = 1;
	q->durable = durable;
	q->exclusive = exclusive;
	q->auto_delete = auto_delete;
	q->next_seq = 1;
	q->expires_ms = queue_args_expires(args);
	q->ttl_ms = queue_args_ttl(args);
	q->max_length = queue_args_max_length(args);
	q->max_bytes = queue_args_max_length_bytes(args);
	q->overflow = (uint8_t)queue_args_overflow(args);
	q->type = (uint8_t)queue_args_type(args);
	q->delivery_limit = queue_args_delivery_limit(args);
	q->consumer_timeout = queue_args_consumer_timeout(args);
	q->sac = queue_args_single_active(args);
	return q;
}

void
queue_ref(struct queue *q)
{
	q->refs++;
}

void
queue_unref(struct queue *q)
{
	assert(q->refs > 0);
	if (--q->refs > 0)
		return;
	queue_lease_stop(q);
	queue_ttl_stop(q);
	queue_purge(q);
	if (q->lanes != &q->lane0)
		free(q->lanes);
	free(q->bindings);
	free(q->args);
	free(q->name);
	rate_ring_free(&q->rates);
	free(q);
}

/* compat: RabbitMQ treats a priority above x-max-priority as the maximum. */
static uint8_t
lane_of(const struct queue *q, const struct msg *m)
{
	return m->priority < q->max_priority ? m->priority : q->max_priority;
}

/* The highest non-empty lane, or NULL. */
static struct qlane *
top_lane(const struct queue *q)
{
	if (q->nready == 0)
		return NULL;
	for (size_t i = q->max_priority + 1; i-- > 0;)
		if (qlane_count(&q->lanes[i]) > 0)
			return &q->lanes[i];
	return NULL;
}

int
queue_enqueue(struct queue *q, struct msg *m, uint64_t msg_id, uint32_t flags)
{
	struct qentry e = { .msg_id = msg_id, .flags = (uint16_t)flags,
	    .body_len = (uint32_t)m->body_len };
	struct qlane *l;

	e.priority = lane_of(q, m);
	l = &q->lanes[e.priority];
	/* Deep in a stored queue, only the store keeps the body. */
	e.m = msg_id != 0 && l->ring_count >= QUEUE_READ_AHEAD ? NULL : m;
	e.seq = q->next_seq;
	e.expires_at = queue_ttl_deadline(q, m);
	if (qlane_push(l, &e) == -1)
		return -1;
	if (e.m != NULL)
		msg_ref(m);
	q->next_seq++;
	q->nready++;
	q->bytes_ready += e.body_len;
	if (msg_id != 0)
		persist_entry(q, &e);
	if (e.expires_at != 0) {
		q->nexpiring++;
		queue_ttl_track(q, &e);
	}
	queue_trim(q);
	if (q->nconsumers > 0)
		queue_wake(q);
	return 0;
}

/*
 * compat: RabbitMQ counts the ready messages and their body bytes only
 * (properties and unacked ones aside); a limit is passed when exceeded, so
 * an empty body fits a zero byte limit.
 */
static bool
over_limit(const struct queue *q, size_t extra, uint64_t extra_bytes)
{
	return (q->max_length >= 0 &&
	    queue_ready(q) + extra > (size_t)q->max_length) ||
	    (q->max_bytes >= 0 &&
	    q->bytes_ready + extra_bytes > (uint64_t)q->max_bytes);
}

/* queue_trim's work, when a limit is set: out of the publish path. */
static __attribute__((noinline)) void
trim_over(struct queue *q)
{
	while (over_limit(q, 0, 0)) {
		struct qentry old;

		if (!queue_pop(q, &old))
			break;
		dead_letter(q, &old, DEAD_MAXLEN);
		persist_entry_gone(q, &old);
		msg_unref(old.m);
	}
}

void
queue_trim(struct queue *q)
{
	/*
	 * compat: drop-head overflow dead-letters the oldest ready ones
	 * until the queue fits (a body larger than max-length-bytes goes
	 * too); the reject-publish modes refuse at the door instead. Every
	 * publish comes here: without a limit, nothing more to do.
	 */
	if (q->overflow == QUEUE_DROP_HEAD &&
	    (q->max_length >= 0 || q->max_bytes >= 0))
		trim_over(q);
}

bool
queue_refuses_more(const struct queue *q, const struct msg *m)
{
	/* compat: RabbitMQ 3.10 refuses a publish that would pass a limit. */
	return q->overflow != QUEUE_DROP_HEAD &&
	    over_limit(q, 1, m->body_len);
}

int
queue_restore(struct queue *q, const struct qentry *e)
{
	struct qentry r = *e;
	struct qlane *l;

	if (r.priority > q->max_priority)
		r.priority = q->max_priority;
	l = &q->lanes[r.priority];

	if (qlane_push(l, &r) == -1)
		return -1;
	q->nready++;
	q->bytes_ready += r.body_len;
	if (r.seq >= q->next_seq)
		q->next_seq = r.seq + 1;
	if (r.expires_at != 0) {
		q->nexpiring++;
		queue_ttl_track(q, &r);
	}
	return 0;
}

int
queue_requeue(struct queue *q, struct qentry *e)
{
	if (qlane_requeue(&q->lanes[e->priority], e) == -1)
		return -1;
	q->nready++;
	q->bytes_ready += e->body_len;
	if (e->expires_at != 0) {
		q->nexpiring++;
		queue_ttl_track(q, e);
	}
	if (q->nconsumers > 0)
		queue_wake(q);
	return 0;
}

/* Counts an entry out of the ready ones. */
static void
account_out(struct queue *q, const struct qentry *e)
{
	q->nready--;
	q->bytes_ready -= e->body_len;
	if (e->expires_at != 0)
		q->nexpiring--;
}

bool
queue_pop(struct queue *q, struct qentry *e)
{
	struct qlane *l = top_lane(q);

	if (l == NULL || !qlane_pop(l, e))
		return false;
	account_out(q, e);
	return true;
}

bool
queue_remove(struct queue *q, uint8_t lane, uint64_t seq, struct qentry *e)
{
	if (lane > q->max_priority || !qlane_remove(&q->lanes[lane], seq, e))
		return false;
	account_out(q, e);
	return true;
}

const struct qentry *
queue_head(const struct queue *q)
{
	struct qlane *l = top_lane(q);

	return l != NULL ? qlane_head(l) : NULL;
}

bool
queue_take(struct queue *q, struct qentry *e)
{
	bool found = false;

	while (queue_pop(q, e)) {
		if (e->expires_at != 0 && queue_ttl_expired(q, e)) {
			/* compat: an expired message is never delivered. */
			dead_letter(q, e, DEAD_EXPIRED);
			persist_entry_gone(q, e);
			msg_unref(e->m);
			continue;
		}
		if (e->m != NULL || persist_load(q, e)) {
			found = true;
			break;
		}
		persist_entry_gone(q, e);	/* lost body: logged, dropped */
	}
	return found;
}

void
queue_settle(struct queue *q, struct qentry *e, bool ack, bool requeue)
{
	if (!ack && requeue && !q->deleted && quorum_over_limit(q, e)) {
		dead_letter(q, e, DEAD_DELIVERY_LIMIT);
		persist_entry_gone(q, e);
	} else if (!ack && requeue && !q->deleted &&
	    queue_requeue(q, e) == 0) {
		e->m = NULL;
		/*
		 * compat: RabbitMQ's requeue_and_run drops from the head when
		 * the message back makes the queue too long or too big.
		 */
		queue_trim(q);
	} else {
		/* compat: rejected without requeue goes to the DLX. */
		if (!ack && !requeue && !q->deleted)
			dead_letter(q, e, DEAD_REJECTED);
		persist_entry_gone(q, e);
	}
	msg_unref(e->m);
	e->m = NULL;
}

uint32_t
queue_purge(struct queue *q)
{
	struct qentry e;
	uint32_t n = 0;

	while (queue_pop(q, &e)) {
		persist_entry_gone(q, &e);
		msg_unref(e.m);
		n++;
	}
	/* Give back the memory of a drained deep queue. */
	for (size_t i = 0; i <= q->max_priority; i++)
		qlane_free(&q->lanes[i]);
	queue_ttl_clear(q);
	return n;
}

void
queue_wake(struct queue *q)
{
	if (!q->dirty && !q->deleted) {
		q->dirty = true;
		broker_wake_queue(q->vh->b, q);
	}
}

/*
 * compat: RabbitMQ's consumer priorities: of the consumers that can take a
 * message, one of the highest x-priority, the first after the last one
 * served. NULL when nobody can.
 */
static struct consumer *
pick_prioritised(struct consumer *start)
{
	struct consumer *cs = start, *best = NULL;

	do {
		if ((best == NULL || cs->priority > best->priority) &&
		    chan_consumer_can_take(cs->ch, cs))
			best = cs;
		cs = cs->qnext;
	} while (cs != start);
	return best;
}

void
queue_dispatch(struct queue *q)
{
	struct consumer *start, *cs;
	struct qentry e;

	if (q->sac) {
		queue_sac_dispatch(q);
		return;
	}
	/*
	 * Round-robin: try each consumer once per message, starting after the
	 * last one served; stop when a full turn finds nobody with credit.
	 */
	while (queue_ready(q) > 0 && (start = q->consumers) != NULL) {
		cs = start;
		if (q->nprioritised > 0) {
			if ((cs = pick_prioritised(start)) == NULL)
				return;
		} else while (!chan_consumer_can_take(cs->ch, cs)) {
			cs = cs->qnext;
			if (cs == start)
				return;
		}
		q->consumers = cs->qnext;
		if (!queue_take(q, &e))
			return;
		if (!chan_deliver(cs->ch, cs, q, &e))
			return;
		/* A queue being dispatched is in its vhost. */
		q->last_dispatch = ev_now(q->vh->b->loop);
	}
}

bool
queue_consumers_active(const struct queue *q)
{
	/* A queue removed from its vhost (vh NULL) has no consumers. */
	return q->vh != NULL && q->nconsumers > 0 &&
	    ev_now(q->vh->b->loop) - q->last_dispatch < 1.0;
}

void
queue_add_consumer(struct queue *q, struct consumer *c)
{
	if (q->consumers == NULL) {
		c->qnext = c->qprev = c;
		q->consumers = c;
	} else {
		/* Join at the end of the round. */
		c->qnext = q->consumers;
		c->qprev = q->consumers->qprev;
		c->qprev->qnext = c;
		q->consumers->qprev = c;
	}
	q->nconsumers++;
	if (c->priority != 0)
		q->nprioritised++;
	/* compat: RabbitMQ makes the first one active; later ones wait. */
	if (q->sac && q->sac_active == NULL)
		q->sac_active = c;
	q->had_consumer = true;
	queue_lease_touch(q);	/* in use: no countdown */
	queue_wake(q);
}

void
queue_remove_consumer(struct queue *q, struct consumer *c)
{
	if (c->qnext == c) {
		q->consumers = NULL;
	} else {
		c->qprev->qnext = c->qnext;
		c->qnext->qprev = c->qprev;
		if (q->consumers == c)
			q->consumers = c->qnext;
	}
	c->qnext = c->qprev = NULL;
	q->nconsumers--;
	if (c->priority != 0)
		q->nprioritised--;
	if (q->sac_active == c) {
		/* Its successor takes the ready messages from here on. */
		if ((q->sac_active = queue_sac_elect(q)) != NULL)
			queue_wake(q);
	}
	queue_lease_touch(q);	/* unused from now on, maybe */
}

void
queue_add_binding(struct queue *q, struct binding *bd)
{
	xvec_grow(&q->bindings, &q->bindings_cap, q->nbindings + 1,
	    sizeof(*q->bindings), 4);
	bd->dst_idx = q->nbindings;
	q->bindings[q->nbindings++] = bd;
}

/* O(1): the binding knows its position (vhost_delete_queue unbinds many). */
void
queue_remove_binding(struct queue *q, struct binding *bd)
{
	struct binding *last;

	if (bd->dst_idx >= q->nbindings || q->bindings[bd->dst_idx] != bd)
		return;
	last = q->bindings[--q->nbindings];
	q->bindings[bd->dst_idx] = last;
	last->dst_idx = bd->dst_idx;
}
