/*
 * Priority queues (x-max-priority) end to end: the highest priority is
 * delivered first and FIFO within one level, priorities above the
 * maximum count as the maximum and no priority as 0, a requeued message
 * goes back to its place in its level, consumers see the same order as
 * basic.get, and persistent messages keep their levels across kill -9.
 * Every expectation but the restart was checked on RabbitMQ 3.10
 * (WARREN_TEST_URL).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

TestSuite(priority, .init = ut_setup, .fini = ut_teardown, .timeout = 60);

static char *
priority_queue(amqp_connection_state_t c, const char *prefix, int max,
    bool durable)
{
	amqp_table_entry_t	 e;
	amqp_table_t		 t = { 1, &e };
	char			*q = strdup(hb_name(prefix));

	e.key = amqp_cstring_bytes("x-max-priority");
	e.value.kind = AMQP_FIELD_KIND_I32;
	e.value.value.i32 = max;
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, durable, 0, 0, t);
	ut_ok(c, "queue.declare x-max-priority");
	return q;
}

/* Publishes body with a priority (< 0: none), persistent if asked. */
static void
publish_pri(amqp_connection_state_t c, const char *q, const char *body,
    int priority, bool persistent)
{
	amqp_basic_properties_t	p;

	memset(&p, 0, sizeof(p));
	if (priority >= 0) {
		p._flags |= AMQP_BASIC_PRIORITY_FLAG;
		p.priority = (uint8_t)priority;
	}
	if (persistent) {
		p._flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
		p.delivery_mode = 2;
	}
	ut_publish_full(c, 1, "", q, false, &p, amqp_cstring_bytes(body));
}

/* Gets everything (no-ack) and checks the bodies come in want's order. */
static void
drain_is(amqp_connection_state_t c, const char *q, const char *const *want,
    size_t n)
{
	for (size_t i = 0; i < n; i++)
		ut_expect_get(c, 1, q, want[i]);
	ut_expect_empty(c, 1, q);
}

Test(priority, highest_first_fifo_within_a_level_and_clamped)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*q = priority_queue(c, "pri", 10, false);
	static const int	 pri[] = { -1, 0, 5, 255, 10, 3, 9, 11 };
	static const char *const want[] = {
		"p255", "p10", "p11", "p9", "p5", "p3", "none", "p0",
	};
	char			 body[16];

	for (size_t i = 0; i < 8; i++) {
		if (pri[i] < 0)
			snprintf(body, sizeof(body), "none");
		else
			snprintf(body, sizeof(body), "p%d", pri[i]);
		publish_pri(c, q, body, pri[i], false);
	}
	cr_assert_eq(ut_count_wait(c, 1, q, 8, 2000), 8);
	drain_is(c, q, want, 8);
	hb_close(c);
}

Test(priority, delivered_priority_property_is_the_published_one)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*q = priority_queue(c, "pprop", 3, false);
	amqp_basic_properties_t	 props;
	char			*body;

	publish_pri(c, q, "high", 200, false);
	body = ut_get(c, 1, q, true, NULL, &props);
	cr_assert_str_eq(body, "high");
	/* Clamped for ordering only: the message is not changed. */
	cr_assert(props._flags & AMQP_BASIC_PRIORITY_FLAG);
	cr_assert_eq(props.priority, 200);
	hb_close(c);
}

Test(priority, requeued_message_goes_back_to_its_place_in_its_level)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*q = priority_queue(c, "preq", 10, false);
	amqp_basic_get_ok_t	 a, b;
	amqp_basic_get_ok_t	 ok;
	char			*body;

	publish_pri(c, q, "1", 1, false);
	publish_pri(c, q, "2", 2, false);
	publish_pri(c, q, "3", 3, false);
	cr_assert_eq(ut_count_wait(c, 1, q, 3, 2000), 3);
	cr_assert_str_eq(ut_get(c, 1, q, false, &a, NULL), "3");
	cr_assert_str_eq(ut_get(c, 1, q, false, &b, NULL), "2");
	publish_pri(c, q, "2b", 2, false);
	cr_assert_eq(ut_count_wait(c, 1, q, 2, 2000), 2);
	cr_assert_eq(amqp_basic_nack(c, 1, a.delivery_tag, 0, 1), 0);
	cr_assert_eq(amqp_basic_nack(c, 1, b.delivery_tag, 0, 1), 0);
	cr_assert_eq(ut_count_wait(c, 1, q, 4, 2000), 4);
	body = ut_get(c, 1, q, true, &ok, NULL);
	cr_assert_str_eq(body, "3");
	cr_assert(ok.redelivered);
	body = ut_get(c, 1, q, true, &ok, NULL);
	cr_assert_str_eq(body, "2");
	cr_assert(ok.redelivered);
	body = ut_get(c, 1, q, true, &ok, NULL);
	cr_assert_str_eq(body, "2b");
	cr_assert_not(ok.redelivered);
	ut_expect_get(c, 1, q, "1");
	ut_expect_empty(c, 1, q);
	hb_close(c);
}

Test(priority, consumer_receives_the_backlog_highest_first)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*q = priority_queue(c, "pcons", 5, false);
	static const char *const want[] = { "b", "d", "a", "c" };
	amqp_envelope_t		 env;
	struct timeval		 tv = { 5, 0 };

	publish_pri(c, q, "a", 1, false);
	publish_pri(c, q, "b", 5, false);
	publish_pri(c, q, "c", -1, false);
	publish_pri(c, q, "d", 4, false);
	cr_assert_eq(ut_count_wait(c, 1, q, 4, 2000), 4);
	amqp_basic_consume(c, 1, amqp_cstring_bytes(q), amqp_empty_bytes, 0,
	    1, 0, amqp_empty_table);
	ut_ok(c, "basic.consume");
	for (size_t i = 0; i < 4; i++) {
		amqp_maybe_release_buffers(c);
		cr_assert_eq(amqp_consume_message(c, &env, &tv, 0).reply_type,
		    AMQP_RESPONSE_NORMAL, "delivery %zu missing", i);
		cr_assert(env.message.body.len == strlen(want[i]) &&
		    memcmp(env.message.body.bytes, want[i],
		    env.message.body.len) == 0, "delivery %zu: want %s", i,
		    want[i]);
		amqp_destroy_envelope(&env);
	}
	hb_close(c);
}

Test(priority, persistent_levels_survive_kill_9)
{
	amqp_connection_state_t	 c;
	char			*q;
	static const char *const want[] = { "hi2", "hi1", "mid", "lo" };

	hb_require_warrend(&ut_broker);
	c = ut_connect();
	q = priority_queue(c, "ppers", 10, true);
	publish_pri(c, q, "lo", 0, true);
	publish_pri(c, q, "hi1", 9, true);
	publish_pri(c, q, "mid", 4, true);
	publish_pri(c, q, "hi2", 42, true);
	/* A round trip: the publishes' batch is committed before it. */
	cr_assert_eq(ut_count_wait(c, 1, q, 4, 2000), 4);
	cr_assert_eq(hb_kill(&ut_broker), 128 + SIGKILL);
	amqp_destroy_connection(c);
	hb_restart(&ut_broker, NULL);
	c = ut_connect();
	cr_assert_eq(ut_count(c, 1, q), 4);
	drain_is(c, q, want, 4);
	hb_close(c);
}

Test(priority, max_priority_zero_is_a_plain_fifo_queue)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*q = priority_queue(c, "pzero", 0, false);
	static const char *const want[] = { "first", "second" };

	publish_pri(c, q, "first", 0, false);
	publish_pri(c, q, "second", 9, false);
	cr_assert_eq(ut_count_wait(c, 1, q, 2, 2000), 2);
	drain_is(c, q, want, 2);
	hb_close(c);
}
