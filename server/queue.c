#include "autoconf.h"

#include "server/queue.h"

#include <stdlib.h>
#include <string.h>

#include "server/broker.h"
#include "server/chan.h"
#include "server/conn.h"
#include "server/dead_letter.h"
#include "server/msg.h"
#include "server/persist.h"
#include "server/queue_args.h"
#include "server/vhost.h"

struct queue *
queue_new(struct vhost *vh, struct proto_str name, bool durable,
    bool exclusive, bool auto_delete, struct proto_table args)
{
	struct queue *q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	if ((q->name = malloc(name.len + 1)) == NULL ||
	    (args.len && (q->args = malloc(args.len)) == NULL)) {
		free(q->name);
		free(q);
		return NULL;
	}
	memcpy(q->name, name.p, name.len);
	q->name[name.len] = '\0';
	q->name_len = name.len;
	if (args.len)
		memcpy(q->args, args.p, args.len);
	q->args_len = args.len;
	q->vh = vh;
	q->refs = 1;
	q->durable = durable;
	q->exclusive = exclusive;
	q->auto_delete = auto_delete;
	q->next_seq = 1;
	q->expires_ms = queue_args_expires(args);
	q->ttl_ms = queue_args_ttl(args);
	q->max_length = queue_args_max_length(args);
	q->overflow = (uint8_t)queue_args_overflow(args);
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
	if (--q->refs > 0)
		return;
	queue_lease_stop(q);
	queue_ttl_stop(q);
	queue_purge(q);
	free(q->ring);
	free(q->heap);
	free(q->bindings);
	free(q->args);
	free(q->name);
	free(q);
}

static int
ring_grow(struct queue *q)
{
	size_t ncap = q->ring_cap ? q->ring_cap * 2 : 16;
	struct qentry *n;

	if ((n = malloc(ncap * sizeof(*n))) == NULL)
		return -1;
	for (size_t i = 0; i < q->ring_count; i++)
		n[i] = q->ring[(q->ring_head + i) & (q->ring_cap - 1)];
	free(q->ring);
	q->ring = n;
	q->ring_cap = ncap;
	q->ring_head = 0;
	return 0;
}

int
queue_enqueue(struct queue *q, struct msg *m, uint64_t msg_id, uint32_t flags)
{
	struct qentry *e;

	if (q->ring_count == q->ring_cap && ring_grow(q) == -1)
		return -1;
	e = &q->ring[(q->ring_head + q->ring_count) & (q->ring_cap - 1)];
	/* Deep in a stored queue, only the store keeps the body. */
	e->m = msg_id != 0 && q->ring_count >= QUEUE_READ_AHEAD ? NULL :
	    msg_ref(m);
	e->seq = q->next_seq++;
	e->msg_id = msg_id;
	e->deliveries = 0;
	e->flags = flags;
	e->expires_at = queue_ttl_deadline(q, m);
	q->ring_count++;
	if (msg_id != 0)
		persist_entry(q, e);
	if (e->expires_at != 0) {
		q->nexpiring++;
		if (queue_ready(q) == 1)
			queue_ttl_arm(q);	/* a new head */
	}
	/* compat: drop-head overflow dead-letters the oldest ready ones. */
	while (q->max_length >= 0 && queue_ready(q) > (size_t)q->max_length) {
		struct qentry old;

		if (!queue_pop(q, &old))
			break;
		dead_letter(q, &old, DEAD_MAXLEN);
		persist_entry_gone(q, &old);
		msg_unref(old.m);
		if (q->nexpiring > 0)
			queue_ttl_arm(q);
	}
	if (q->nconsumers > 0)
		queue_wake(q);
	return 0;
}

bool
queue_refuses_more(const struct queue *q)
{
	return q->max_length >= 0 && q->overflow != QUEUE_DROP_HEAD &&
	    queue_ready(q) >= (size_t)q->max_length;
}

int
queue_restore(struct queue *q, const struct qentry *e)
{
	if (q->ring_count == q->ring_cap && ring_grow(q) == -1)
		return -1;
	q->ring[(q->ring_head + q->ring_count) & (q->ring_cap - 1)] = *e;
	q->ring_count++;
	if (e->seq >= q->next_seq)
		q->next_seq = e->seq + 1;
	if (e->expires_at != 0) {
		q->nexpiring++;
		if (queue_ready(q) == 1)
			queue_ttl_arm(q);
	}
	return 0;
}

int
queue_requeue(struct queue *q, struct qentry *e)
{
	size_t i;

	if (q->heap_count == q->heap_cap) {
		size_t ncap = q->heap_cap ? q->heap_cap * 2 : 16;
		struct qentry *n = realloc(q->heap, ncap * sizeof(*n));

		if (n == NULL)
			return -1;
		q->heap = n;
		q->heap_cap = ncap;
	}
	/* Sift up. */
	i = q->heap_count++;
	while (i > 0 && q->heap[(i - 1) / 2].seq > e->seq) {
		q->heap[i] = q->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	q->heap[i] = *e;
	if (e->expires_at != 0)
		q->nexpiring++;
	if (q->nexpiring > 0)
		queue_ttl_arm(q);	/* it may be the new head */
	if (q->nconsumers > 0)
		queue_wake(q);
	return 0;
}

static void
heap_pop(struct queue *q, struct qentry *out)
{
	struct qentry last;
	size_t i = 0, n;

	*out = q->heap[0];
	last = q->heap[--q->heap_count];
	n = q->heap_count;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < n && q->heap[l].seq < last.seq)
			m = l;
		if (r < n && q->heap[r].seq < (m == i ? last.seq : q->heap[m].seq))
			m = r;
		if (m == i)
			break;
		q->heap[i] = q->heap[m];
		i = m;
	}
	if (n > 0)
		q->heap[i] = last;
}

bool
queue_pop(struct queue *q, struct qentry *e)
{
	if (q->heap_count > 0) {
		heap_pop(q, e);
	} else {
		if (q->ring_count == 0)
			return false;
		*e = q->ring[q->ring_head];
		q->ring_head = (q->ring_head + 1) & (q->ring_cap - 1);
		q->ring_count--;
	}
	if (e->expires_at != 0)
		q->nexpiring--;
	return true;
}

const struct qentry *
queue_head(const struct queue *q)
{
	if (q->heap_count > 0)
		return &q->heap[0];
	return q->ring_count > 0 ? &q->ring[q->ring_head] : NULL;
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
	if (q->nexpiring > 0)
		queue_ttl_arm(q);
	return found;
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
	free(q->ring);
	q->ring = NULL;
	q->ring_cap = q->ring_head = 0;
	free(q->heap);
	q->heap = NULL;
	q->heap_cap = 0;
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
		if (q->vh != NULL && q->vh->b != NULL)
			q->last_dispatch = ev_now(q->vh->b->loop);
	}
}

bool
queue_consumers_active(const struct queue *q)
{
	struct broker *b = q->vh != NULL ? q->vh->b : NULL;

	return b != NULL && q->nconsumers > 0 &&
	    ev_now(b->loop) - q->last_dispatch < 1.0;
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
	queue_lease_touch(q);	/* unused from now on, maybe */
}

int
queue_add_binding(struct queue *q, struct binding *bd)
{
	if (q->nbindings == q->bindings_cap) {
		size_t ncap = q->bindings_cap ? q->bindings_cap * 2 : 4;
		struct binding **n = realloc(q->bindings, ncap * sizeof(*n));

		if (n == NULL)
			return -1;
		q->bindings = n;
		q->bindings_cap = ncap;
	}
	q->bindings[q->nbindings++] = bd;
	return 0;
}

void
queue_remove_binding(struct queue *q, struct binding *bd)
{
	for (size_t i = 0; i < q->nbindings; i++)
		if (q->bindings[i] == bd) {
			q->bindings[i] = q->bindings[--q->nbindings];
			return;
		}
}
