#include "autoconf.h"

/*
 * Unit tests for a queue's ready entries (server/queue.c): the FIFO ring,
 * requeue to the original position, purge. The queues live in the vhost
 * "/" of a test broker (broker_init_test) but are not in its map, and
 * have no consumers, so nothing is ever woken.
 */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/wire.h"
#include "server/broker.h"
#include "server/msg.h"
#include "server/queue.h"

#define NMSG	64

static struct ev_loop	*loop;
static struct broker	 broker;
static struct vhost	*vh;
static struct queue	*q;
static struct msg	*m[NMSG];	/* the test's own reference to each */

static void
setup(void)
{
	loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(loop);
	broker_init_test(&broker, loop);
	vh = broker_vhost(&broker, "/", 1);
	cr_assert_not_null(vh);
	q = queue_new(vh, proto_str_c("q"), false, false, false,
	    (struct proto_table){ NULL, 0 });
	cr_assert_not_null(q);
	for (size_t i = 0; i < NMSG; i++) {
		m[i] = msg_new(proto_str_c("x"), proto_str_c("rk"),
		    proto_str_c(""), 0);
		cr_assert_not_null(m[i]);
	}
}

static void
teardown(void)
{
	if (q != NULL)
		queue_unref(q);
	for (size_t i = 0; i < NMSG; i++)
		msg_unref(m[i]);
	broker_free(&broker);
	ev_loop_destroy(loop);
}

TestSuite(queue, .init = setup, .fini = teardown);

static void
enqueue(size_t i)
{
	cr_assert_eq(queue_enqueue(q, m[i], 0, 0), 0);
}

/* Pops the next entry, checks it is message i, and drops its reference. */
static struct qentry
pop_is(size_t i)
{
	struct qentry e;

	cr_assert(queue_pop(q, &e), "queue empty, expected message %zu", i);
	cr_assert_eq(e.m, m[i], "expected message %zu", i);
	msg_unref(e.m);
	return e;
}

Test(queue, new_queue_is_empty)
{
	struct qentry e;

	cr_assert_eq(queue_ready(q), 0);
	cr_assert_not(queue_pop(q, &e));
}

Test(queue, pops_in_publish_order)
{
	for (size_t i = 0; i < 5; i++)
		enqueue(i);
	cr_assert_eq(queue_ready(q), 5);
	for (size_t i = 0; i < 5; i++)
		pop_is(i);
	cr_assert_eq(queue_ready(q), 0);
}

Test(queue, popped_entries_are_fresh_with_rising_seq)
{
	struct qentry a, b;

	enqueue(0);
	enqueue(1);
	a = pop_is(0);
	b = pop_is(1);
	cr_assert_eq(a.deliveries, 0);
	cr_assert_eq(b.deliveries, 0);
	cr_assert_lt(a.seq, b.seq);
}

Test(queue, enqueue_takes_a_reference)
{
	enqueue(0);
	cr_assert_eq(m[0]->refs, 2);
	pop_is(0);
	cr_assert_eq(m[0]->refs, 1);
}

Test(queue, requeued_entries_go_back_to_their_positions)
{
	struct qentry e1, e2, e3;

	for (size_t i = 1; i <= 5; i++)
		enqueue(i);
	cr_assert(queue_pop(q, &e1));
	cr_assert(queue_pop(q, &e2));
	cr_assert(queue_pop(q, &e3));
	msg_unref(e3.m);
	cr_assert_eq(queue_requeue(q, &e2), 0);
	cr_assert_eq(queue_requeue(q, &e1), 0);
	cr_assert_eq(queue_ready(q), 4);
	pop_is(1);
	pop_is(2);
	pop_is(4);
	pop_is(5);
}

Test(queue, requeued_entries_keep_their_delivery_count)
{
	struct qentry e;

	enqueue(0);
	cr_assert(queue_pop(q, &e));
	e.deliveries = 3;
	cr_assert_eq(queue_requeue(q, &e), 0);
	e = pop_is(0);
	cr_assert_eq(e.deliveries, 3);
}

Test(queue, many_requeues_in_any_order_come_back_sorted)
{
	/* A permutation of 0..39 that defeats a plain stack or FIFO. */
	static const size_t order[40] = { 17, 3, 39, 0, 25, 8, 31, 12, 36, 1,
	    22, 5, 28, 14, 33, 9, 19, 2, 38, 26, 6, 30, 11, 35, 15, 21, 4, 27,
	    13, 34, 7, 23, 37, 10, 29, 16, 32, 18, 24, 20 };
	struct qentry e[40];

	for (size_t i = 0; i < 41; i++)
		enqueue(i);
	for (size_t i = 0; i < 40; i++)
		cr_assert(queue_pop(q, &e[i]));
	for (size_t i = 0; i < 40; i++)
		cr_assert_eq(queue_requeue(q, &e[order[i]]), 0);
	for (size_t i = 0; i < 41; i++)
		pop_is(i);
}

Test(queue, purge_drops_every_ready_message)
{
	struct qentry e;

	for (size_t i = 0; i < 4; i++)
		enqueue(i);
	cr_assert(queue_pop(q, &e));
	cr_assert_eq(queue_requeue(q, &e), 0);
	cr_assert_eq(queue_purge(q), 4);
	cr_assert_eq(queue_ready(q), 0);
	cr_assert_not(queue_pop(q, &e));
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(m[i]->refs, 1, "message %zu", i);
}

Test(queue, purge_of_an_empty_queue_returns_zero)
{
	cr_assert_eq(queue_purge(q), 0);
}

Test(queue, queue_is_usable_after_purge)
{
	enqueue(0);
	queue_purge(q);
	enqueue(1);
	enqueue(2);
	pop_is(1);
	pop_is(2);
}

Test(queue, last_unref_releases_ready_messages)
{
	enqueue(0);
	enqueue(1);
	queue_unref(q);
	q = NULL;
	cr_assert_eq(m[0]->refs, 1);
	cr_assert_eq(m[1]->refs, 1);
}

Test(queue, ring_grown_while_wrapped_keeps_order)
{
	size_t next = 0, in = 0, out = 0;
	struct qentry e;

	/* Move the head well into the ring, then fill it so the tail wraps. */
	for (; in < 10; in++)
		enqueue(in);
	for (; out < 10; out++)
		pop_is(out);
	cr_assert_eq(queue_ready(q), 0);
	cr_assert_gt(q->lane0.ring_head, 0);
	while (q->lane0.ring_count < q->lane0.ring_cap)
		enqueue(in++);
	cr_assert_gt(q->lane0.ring_head + q->lane0.ring_count, q->lane0.ring_cap,
	    "the ring should wrap");
	/* One more forces a grow from the wrapped state. */
	enqueue(in++);
	cr_assert_leq(in, NMSG);
	for (next = out; next < in; next++)
		pop_is(next);
	cr_assert_not(queue_pop(q, &e));
}

Test(queue, ring_interleaved_with_pops_keeps_order)
{
	size_t in = 0, out = 0;

	/* Keep a few entries queued while the head walks around the ring. */
	while (in < NMSG) {
		enqueue(in++);
		if (in < NMSG)
			enqueue(in++);
		pop_is(out++);
	}
	while (out < in)
		pop_is(out++);
}

/* x-max-priority 10, as the raw table bytes of a declare's arguments. */
static const uint8_t pri_args[] = {
	14, 'x', '-', 'm', 'a', 'x', '-', 'p', 'r', 'i', 'o', 'r', 'i', 't',
	'y', 'I', 0, 0, 0, 10,
};

static struct queue *
priority_queue(void)
{
	struct queue *pq = queue_new(vh, proto_str_c("pq"), false, false,
	    false, (struct proto_table){ pri_args, sizeof(pri_args) });

	cr_assert_not_null(pq);
	cr_assert_eq(pq->max_priority, 10);
	return pq;
}

/* Pops from pq, checks it is message i, and drops its reference. */
static struct qentry
pq_pop_is(struct queue *pq, size_t i)
{
	struct qentry e;

	cr_assert(queue_pop(pq, &e), "queue empty, expected message %zu", i);
	cr_assert_eq(e.m, m[i], "expected message %zu, got another", i);
	msg_unref(e.m);
	return e;
}

Test(queue, priority_queue_serves_highest_first_fifo_within_a_level)
{
	/* compat: RabbitMQ 3.10 gave 255, 10, 11, 9, 5, 3, none, 0. */
	static const int pri[] = { -1, 0, 5, 255, 10, 3, 9, 11 };
	static const size_t order[] = { 3, 4, 7, 6, 2, 5, 0, 1 };
	struct queue *pq = priority_queue();
	struct qentry e;

	for (size_t i = 0; i < 8; i++) {
		m[i]->priority = pri[i] < 0 ? 0 : (uint8_t)pri[i];
		cr_assert_eq(queue_enqueue(pq, m[i], 0, 0), 0);
	}
	cr_assert_eq(queue_ready(pq), 8);
	cr_assert_eq(queue_head(pq)->m, m[3]);
	for (size_t i = 0; i < 8; i++) {
		e = pq_pop_is(pq, order[i]);
		cr_assert_leq(e.priority, 10, "priority not clamped");
	}
	cr_assert_eq(queue_ready(pq), 0);
	cr_assert_not(queue_pop(pq, &e));
	queue_unref(pq);
}

Test(queue, priority_queue_requeues_within_the_level)
{
	struct queue *pq = priority_queue();
	struct qentry a, b;

	/* Priorities 1, 2, 3; take 3 and 2, publish another 2, requeue. */
	for (size_t i = 0; i < 3; i++) {
		m[i]->priority = (uint8_t)(i + 1);
		cr_assert_eq(queue_enqueue(pq, m[i], 0, 0), 0);
	}
	cr_assert(queue_pop(pq, &a));
	cr_assert(queue_pop(pq, &b));
	cr_assert_eq(a.m, m[2]);
	cr_assert_eq(b.m, m[1]);
	m[3]->priority = 2;
	cr_assert_eq(queue_enqueue(pq, m[3], 0, 0), 0);
	cr_assert_eq(queue_requeue(pq, &a), 0);
	cr_assert_eq(queue_requeue(pq, &b), 0);
	/* compat: RabbitMQ 3.10 gave 3, 2 (redelivered), the new 2, 1. */
	pq_pop_is(pq, 2);
	pq_pop_is(pq, 1);
	pq_pop_is(pq, 3);
	pq_pop_is(pq, 0);
	queue_unref(pq);
}

Test(queue, priority_is_ignored_without_x_max_priority)
{
	m[0]->priority = 9;
	m[1]->priority = 0;
	enqueue(0);
	enqueue(1);
	pop_is(0);
	pop_is(1);
}

/* Takes the entry of seq out from wherever it is, and drops its ref. */
static void
remove_is(uint64_t seq, size_t i)
{
	struct qentry e;

	cr_assert(queue_remove(q, 0, seq, &e), "seq %llu not found",
	    (unsigned long long)seq);
	cr_assert_eq(e.m, m[i], "seq %llu is not message %zu",
	    (unsigned long long)seq, i);
	msg_unref(e.m);
}

Test(queue, removing_from_the_middle_keeps_the_rest_in_order)
{
	struct qentry e;

	for (size_t i = 0; i < 10; i++)
		enqueue(i);	/* seq i + 1 */
	remove_is(5, 4);
	remove_is(2, 1);
	remove_is(10, 9);
	cr_assert_eq(queue_ready(q), 7);
	cr_assert_not(queue_remove(q, 0, 5, &e), "removed twice");
	cr_assert_not(queue_remove(q, 0, 11, &e), "never queued");
	cr_assert_not(queue_remove(q, 1, 3, &e), "no such lane");
	pop_is(0);
	/* The head went: the next head skips the tombstone of seq 2. */
	pop_is(2);
	pop_is(3);
	pop_is(5);
	cr_assert_not(queue_remove(q, 0, 1, &e), "delivered already");
	for (size_t i = 6; i < 9; i++)
		pop_is(i);
	cr_assert_not(queue_pop(q, &e));
	cr_assert_eq(queue_ready(q), 0);
}

Test(queue, removing_a_requeued_entry_keeps_the_heap_in_order)
{
	struct qentry e[8];

	for (size_t i = 0; i < 8; i++)
		enqueue(i);
	for (size_t i = 0; i < 8; i++)
		cr_assert(queue_pop(q, &e[i]));
	/* Back in a scrambled order, so the heap is not just sorted. */
	for (size_t i = 0; i < 8; i++)
		cr_assert_eq(queue_requeue(q, &e[(i * 5) % 8]), 0);
	remove_is(4, 3);
	remove_is(8, 7);
	remove_is(1, 0);
	cr_assert_eq(queue_ready(q), 5);
	pop_is(1);
	pop_is(2);
	pop_is(4);
	pop_is(5);
	pop_is(6);
	cr_assert_eq(queue_ready(q), 0);
}

Test(queue, tombstones_behind_a_head_that_stays_cost_bounded_memory)
{
	/* One message stays at the head; 100,000 come and go behind it. */
	enqueue(0);
	for (uint64_t seq = 2; seq < 100002; seq++) {
		enqueue(1);
		remove_is(seq, 1);
	}
	cr_assert_eq(queue_ready(q), 1);
	cr_assert_leq(q->lane0.ring_cap, 64, "ring grew to %zu slots",
	    q->lane0.ring_cap);
	pop_is(0);
}

Test(queue, removing_in_a_wrapped_ring_keeps_order)
{
	struct qentry e;
	size_t want[NMSG], n = 0;

	/* Wrap a 16-slot ring, then remove every third entry. */
	for (size_t i = 0; i < 12; i++)
		enqueue(i);
	for (size_t i = 0; i < 12; i++)
		pop_is(i);
	for (size_t i = 12; i < 40; i++)
		enqueue(i);	/* seq i + 1 */
	for (size_t i = 12; i < 40; i++) {
		if (i % 3 == 0)
			remove_is(i + 1, i);
		else
			want[n++] = i;
	}
	cr_assert_eq(queue_ready(q), n);
	for (size_t k = 0; k < n; k++)
		pop_is(want[k]);
	cr_assert_not(queue_pop(q, &e));
}

Test(queue, priority_queue_removes_from_any_level)
{
	struct queue *pq = priority_queue();
	struct qentry e;

	for (size_t i = 0; i < 4; i++) {
		m[i]->priority = (uint8_t)(i % 2 ? 3 : 1);
		cr_assert_eq(queue_enqueue(pq, m[i], 0, 0), 0);
	}
	/* m[0] (seq 1) is in lane 1, behind m[1] and m[3] of lane 3. */
	cr_assert_not(queue_remove(pq, 3, 1, &e), "wrong lane");
	cr_assert(queue_remove(pq, 1, 1, &e));
	cr_assert_eq(e.m, m[0]);
	msg_unref(e.m);
	pq_pop_is(pq, 1);
	pq_pop_is(pq, 3);
	pq_pop_is(pq, 2);
	cr_assert_eq(queue_ready(pq), 0);
	queue_unref(pq);
}
