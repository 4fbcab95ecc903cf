#include "autoconf.h"

/*
 * Unit tests for a queue's ready entries (server/queue.c): the FIFO ring,
 * requeue to the original position, purge. The queues have no consumers
 * and no vhost, so nothing is ever woken.
 */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/wire.h"
#include "server/msg.h"
#include "server/queue.h"

#define NMSG	64

static struct queue	*q;
static struct msg	*m[NMSG];	/* the test's own reference to each */

static void
setup(void)
{
	q = queue_new(NULL, proto_str_c("q"), false, false, false,
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
	cr_assert_gt(q->ring_head, 0);
	while (q->ring_count < q->ring_cap)
		enqueue(in++);
	cr_assert_gt(q->ring_head + q->ring_count, q->ring_cap,
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
