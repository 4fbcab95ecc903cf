/*
 * x-single-active-consumer end to end: only the active consumer is
 * served; the next one takes over when it cancels (its unacked deliveries
 * stay ackable on its channel) or its channel closes (they are requeued
 * in order, redelivered, to the successor); the successor is the waiting
 * consumer of the highest x-priority; the management API shows who is
 * active; a bad value is refused; a durable queue works after kill -9.
 * Checked on RabbitMQ 3.10 with pika, except that RabbitMQ serves the
 * successor after a basic.cancel only once something else wakes the queue
 * (warrend.8).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>

#include "tests/integration/api_util.h"
#include "tests/integration/harness.h"
#include "tests/integration/util.h"

TestSuite(single_active, .init = ut_setup, .fini = ut_teardown,
    .timeout = 60);

static char *
sac_queue(amqp_connection_state_t c, const char *prefix, bool durable)
{
	amqp_table_entry_t	 e;
	amqp_table_t		 t = { 1, &e };
	char			*q = strdup(hb_name(prefix));

	e.key = amqp_cstring_bytes("x-single-active-consumer");
	e.value.kind = AMQP_FIELD_KIND_BOOLEAN;
	e.value.value.boolean = 1;
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, durable, 0, 0, t);
	ut_ok(c, "queue.declare x-single-active-consumer");
	return q;
}

/*
 * A new connection consuming q on channel 1 with tag, acks required,
 * prefetch (0: none) and x-priority prio (0: no argument).
 */
static amqp_connection_state_t
consumer(const char *q, const char *tag, int prefetch, int prio)
{
	amqp_connection_state_t	 c = ut_connect();
	amqp_table_entry_t	 e = ut_i32("x-priority", prio);

	if (prefetch != 0) {
		amqp_basic_qos(c, 1, 0, (uint16_t)prefetch, 0);
		ut_ok(c, "basic.qos");
	}
	amqp_basic_consume(c, 1, amqp_cstring_bytes(q),
	    amqp_cstring_bytes(tag), 0, 0, 0,
	    prio != 0 ? ut_table(&e, 1) : amqp_empty_table);
	ut_ok(c, "basic.consume");
	return c;
}

static void
publish_n(amqp_connection_state_t c, const char *q, int from, int to,
    bool persistent)
{
	amqp_basic_properties_t	p;
	char			body[16];

	memset(&p, 0, sizeof(p));
	if (persistent) {
		p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
		p.delivery_mode = 2;
	}
	for (int i = from; i < to; i++) {
		snprintf(body, sizeof(body), "m%d", i);
		ut_publish_full(c, 1, "", q, false, &p,
		    amqp_cstring_bytes(body));
	}
}

/* The next delivery is want, with the redelivered flag redelivered. */
static uint64_t
expect(amqp_connection_state_t c, const char *want, bool redelivered)
{
	amqp_envelope_t	env;
	uint64_t	tag;

	cr_assert_eq(ut_consume(c, &env, 5000), 1, "no delivery of %s", want);
	cr_assert(env.message.body.len == strlen(want) &&
	    memcmp(env.message.body.bytes, want, strlen(want)) == 0,
	    "got '%.*s', want '%s'", (int)env.message.body.len,
	    (char *)env.message.body.bytes, want);
	cr_assert_eq(env.redelivered != 0, redelivered,
	    "%s: redelivered %d", want, env.redelivered);
	tag = env.delivery_tag;
	amqp_destroy_envelope(&env);
	return tag;
}

static void
expect_nothing(amqp_connection_state_t c)
{
	amqp_envelope_t	env;
	int		rc = ut_consume(c, &env, 300);

	if (rc == 1) {
		cr_assert_fail("unexpected delivery '%.*s'",
		    (int)env.message.body.len, (char *)env.message.body.bytes);
	}
	cr_assert_eq(rc, 0);
}

/*
 * Whether /api/consumers and the queue's consumer_details both show tag
 * with this activity_status, and active false only for "waiting".
 */
static bool
status_is(const char *q, const char *tag, const char *status)
{
	char			 path[512];
	struct au_reply		*r;

	snprintf(path, sizeof(path), "/api/queues/%%2F/%s", q);
	for (int l = 0; l < 2; l++) {
		const struct json *arr;
		bool found = false;

		r = au_call(&ut_broker, NULL, "GET", l == 0 ? "/api/consumers" :
		    path, NULL, 200);
		arr = l == 0 ? r->json : json_get(r->json, "consumer_details");
		for (size_t i = 0; arr != NULL && i < json_len(arr); i++) {
			const struct json *o = json_at(arr, i);

			if (strcmp(au_str(o, "consumer_tag"), tag) != 0)
				continue;
			if (strcmp(au_str(o, "activity_status"), status) != 0 ||
			    au_bool(o, "active") != (strcmp(status,
			    "waiting") != 0))
				return false;
			found = true;
		}
		if (!found)
			return false;
	}
	return true;
}

/*
 * Asserts status_is, allowing RabbitMQ's statistics interval (5 s) when
 * the tests run against it; warren's listings are current at once.
 */
static void
expect_status(const char *q, const char *tag, const char *status)
{
	for (int i = 0; i < 50; i++) {
		if (status_is(q, tag, status))
			return;
		usleep(200 * 1000);
	}
	cr_assert_fail("consumer %s of %s is not %s", tag, q, status);
}

/* The queue's single_active_consumer_tag (NULL: JSON null). */
static void
expect_active_tag(const char *q, const char *tag)
{
	char			 path[512];
	struct au_reply		*r;
	const struct json	*j = NULL;

	snprintf(path, sizeof(path), "/api/queues/%%2F/%s", q);
	for (int i = 0; i < 50; i++) {
		r = au_call(&ut_broker, NULL, "GET", path, NULL, 200);
		j = json_get(r->json, "single_active_consumer_tag");
		if (j != NULL && (tag == NULL ? json_type(j) == JSON_NULL :
		    json_type(j) == JSON_STRING &&
		    strcmp(json_str(j, NULL), tag) == 0))
			return;
		usleep(200 * 1000);
	}
	cr_assert_fail("single_active_consumer_tag of %s is not %s: %s", q,
	    tag != NULL ? tag : "null", r->body);
}

Test(single_active, only_the_first_consumer_receives)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*q = sac_queue(c, "sac1", false);
	amqp_connection_state_t	 a, b;

	expect_active_tag(q, NULL);
	a = consumer(q, "A", 0, 0);
	b = consumer(q, "B", 0, 0);
	publish_n(c, q, 0, 4, false);
	for (int i = 0; i < 4; i++) {
		char body[16];

		snprintf(body, sizeof(body), "m%d", i);
		expect(a, body, false);
	}
	expect_nothing(b);
	expect_status(q, "A", "single_active");
	expect_status(q, "B", "waiting");
	expect_active_tag(q, "A");
	hb_close(a);
	hb_close(b);
	hb_close(c);
}

Test(single_active, cancel_hands_over_and_unacked_stay_with_the_channel)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*q = sac_queue(c, "sac2", false);
	amqp_connection_state_t	 a = consumer(q, "A", 2, 0);
	amqp_connection_state_t	 b = consumer(q, "B", 2, 0);
	uint64_t		 t0, t1;
	uint32_t		 n;

	publish_n(c, q, 0, 6, false);
	t0 = expect(a, "m0", false);
	t1 = expect(a, "m1", false);
	expect_nothing(b);
	amqp_basic_cancel(a, 1, amqp_cstring_bytes("A"));
	ut_ok(a, "basic.cancel");
	/* The successor is served at once (RabbitMQ 3.10 waits). */
	expect(b, "m2", false);
	expect(b, "m3", false);
	expect_status(q, "B", "single_active");
	expect_active_tag(q, "B");
	/* compat: the cancelled one's deliveries stay ackable. */
	cr_assert_eq(amqp_basic_ack(a, 1, t0, 0), 0);
	ut_counts(a, 1, q, &n, NULL);
	cr_assert_eq(n, 2, "ready after the cancel");
	/* Its channel closing requeues the one left (t1): to the head. */
	(void)t1;
	amqp_channel_close(a, 1, AMQP_REPLY_SUCCESS);
	hb_close(a);
	cr_assert_eq(ut_count_wait(c, 1, q, 3, 2000), 3);
	/* B's prefetch is full: make room, then m1 comes first. */
	cr_assert_eq(amqp_basic_ack(b, 1, 2, 1), 0);
	expect(b, "m1", true);
	expect(b, "m4", false);
	hb_close(b);
	hb_close(c);
}

Test(single_active, channel_close_requeues_unacked_in_order_to_successor)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*q = sac_queue(c, "sac3", false);
	amqp_connection_state_t	 a = consumer(q, "A", 0, 0);
	amqp_connection_state_t	 b = consumer(q, "B", 0, 0);
	uint64_t		 t1;

	publish_n(c, q, 0, 4, false);
	expect(a, "m0", false);
	t1 = expect(a, "m1", false);
	expect(a, "m2", false);
	expect(a, "m3", false);
	cr_assert_eq(amqp_basic_ack(a, 1, t1, 0), 0);
	amqp_channel_close(a, 1, AMQP_REPLY_SUCCESS);
	hb_close(a);
	expect(b, "m0", true);
	expect(b, "m2", true);
	expect(b, "m3", true);
	publish_n(c, q, 4, 5, false);
	expect(b, "m4", false);
	expect_status(q, "B", "single_active");
	hb_close(b);
	hb_close(c);
}

Test(single_active, highest_priority_waiting_consumer_takes_over)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*q = sac_queue(c, "sac4", false);
	amqp_connection_state_t	 low, none, high, top;

	/* compat: the first one is active whatever the priorities. */
	low = consumer(q, "low", 0, 1);
	none = consumer(q, "none", 0, 0);
	high = consumer(q, "high", 0, 10);
	expect_status(q, "low", "single_active");
	expect_status(q, "none", "waiting");
	expect_status(q, "high", "waiting");
	publish_n(c, q, 0, 1, false);
	expect(low, "m0", false);
	amqp_basic_cancel(low, 1, amqp_cstring_bytes("low"));
	ut_ok(low, "basic.cancel");
	/* A newcomer of a higher priority does not take over. */
	top = consumer(q, "top", 0, 20);
	expect_status(q, "high", "single_active");
	expect_status(q, "top", "waiting");
	publish_n(c, q, 1, 2, false);
	expect(high, "m1", false);
	expect_nothing(none);
	expect_nothing(top);
	amqp_basic_cancel(high, 1, amqp_cstring_bytes("high"));
	ut_ok(high, "basic.cancel");
	expect_status(q, "top", "single_active");
	expect_status(q, "none", "waiting");
	expect_active_tag(q, "top");
	publish_n(c, q, 2, 3, false);
	expect(top, "m2", false);
	expect_nothing(none);
	hb_close(top);
	hb_close(high);
	hb_close(none);
	hb_close(low);
	hb_close(c);
}

Test(single_active, plain_queue_consumers_are_up)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*q = ut_queue(c, 1, "plain");
	amqp_connection_state_t	 a = consumer(q, "A", 0, 0);
	amqp_connection_state_t	 b = consumer(q, "B", 0, 0);

	expect_status(q, "A", "up");
	expect_status(q, "B", "up");
	expect_active_tag(q, NULL);
	hb_close(a);
	hb_close(b);
	hb_close(c);
}

Test(single_active, basic_get_works_and_exclusive_consume_is_refused)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*q = sac_queue(c, "sac5", false);
	char			 want[512];

	publish_n(c, q, 0, 1, false);
	ut_expect_get(c, 1, q, "m0");
	/* compat: refused even with no consumer, as RabbitMQ 3.10 does. */
	amqp_basic_consume(c, 1, amqp_cstring_bytes(q),
	    amqp_cstring_bytes("X"), 0, 0, 1, amqp_empty_table);
	snprintf(want, sizeof(want), "ACCESS_REFUSED - queue '%s' in vhost "
	    "'/' in exclusive use", q);
	cr_assert_str_eq(hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    403), want);
	hb_close(c);
}

Test(single_active, non_boolean_is_refused_and_nothing_changes)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*q = sac_queue(c, "sac6", false);
	amqp_connection_state_t	 a = consumer(q, "A", 0, 0);
	const char		*bad = hb_name("sacbad");
	amqp_table_entry_t	 e = ut_str("x-single-active-consumer", "yes");
	char			 want[512];
	uint32_t		 n, nc;

	/* A new queue: RabbitMQ's type check. */
	amqp_queue_declare(c, 1, amqp_cstring_bytes(bad), 0, 0, 0, 0,
	    ut_table(&e, 1));
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - invalid arg "
	    "'x-single-active-consumer' for queue '%s' in vhost '/': "
	    "{unacceptable_type,longstr}", bad);
	cr_assert_str_eq(hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    406), want);
	cr_assert_not_null(amqp_channel_open(c, 1));
	ut_ok(c, "channel.open");
	cr_assert_not(ut_queue_exists(c, bad));
	/* An existing one: the equivalence check comes first. */
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 0, 0, 0,
	    ut_table(&e, 1));
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - inequivalent arg "
	    "'x-single-active-consumer' for queue '%s' in vhost '/': "
	    "received 'yes' but current is 'true'", q);
	cr_assert_str_eq(hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    406), want);
	cr_assert_not_null(amqp_channel_open(c, 1));
	ut_ok(c, "channel.open");
	ut_counts(c, 1, q, &n, &nc);
	cr_assert_eq(nc, 1);
	expect_status(q, "A", "single_active");
	publish_n(c, q, 0, 1, false);
	expect(a, "m0", false);
	hb_close(a);
	hb_close(c);
}

Test(single_active, durable_queue_after_kill_9)
{
	amqp_connection_state_t	 c, a, b, x, y;
	char			*q;
	char			 body[16];
	struct au_reply		*r;
	char			 path[512];

	hb_require_warrend(&ut_broker);
	c = ut_connect();
	q = sac_queue(c, "sacd", true);
	a = consumer(q, "A", 0, 0);
	b = consumer(q, "B", 0, 0);
	publish_n(c, q, 0, 5, true);
	for (int i = 0; i < 5; i++) {
		snprintf(body, sizeof(body), "m%d", i);
		expect(a, body, false);
	}
	/* A round trip: the publishes' batch is committed before it. */
	cr_assert_eq(ut_count(c, 1, q), 0, "all five are unacked");
	cr_assert_eq(hb_kill(&ut_broker), 128 + SIGKILL);
	amqp_destroy_connection(a);
	amqp_destroy_connection(b);
	amqp_destroy_connection(c);
	hb_restart(&ut_broker, NULL);

	c = ut_connect();
	cr_assert_eq(ut_count(c, 1, q), 5);
	snprintf(path, sizeof(path), "/api/queues/%%2F/%s", q);
	r = au_call(&ut_broker, NULL, "GET", path, NULL, 200);
	cr_assert(json_bool(json_get(json_get(r->json, "arguments"),
	    "x-single-active-consumer")), "%s", r->body);
	x = consumer(q, "X", 0, 0);
	y = consumer(q, "Y", 0, 0);
	for (int i = 0; i < 5; i++) {
		amqp_envelope_t env;

		snprintf(body, sizeof(body), "m%d", i);
		cr_assert_eq(ut_consume(x, &env, 5000), 1, "no %s", body);
		cr_assert(env.message.body.len == strlen(body) &&
		    memcmp(env.message.body.bytes, body, strlen(body)) == 0,
		    "got '%.*s', want '%s'", (int)env.message.body.len,
		    (char *)env.message.body.bytes, body);
		amqp_destroy_envelope(&env);
	}
	expect_nothing(y);
	expect_status(q, "X", "single_active");
	expect_status(q, "Y", "waiting");
	hb_close(x);
	hb_close(y);
	hb_close(c);
}

/* compat: RabbitMQ 3.10's quorum queues hand over in subscription order. */
Test(single_active, quorum_queue_hands_over_to_the_earliest_waiting)
{
	amqp_connection_state_t	 c = ut_connect();
	const char		*q = hb_name("sacq");
	amqp_table_entry_t	 e[2];
	amqp_connection_state_t	 low, none, high;

	e[0].key = amqp_cstring_bytes("x-single-active-consumer");
	e[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
	e[0].value.value.boolean = 1;
	e[1] = ut_str("x-queue-type", "quorum");
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 1, 0, 0,
	    ut_table(e, 2));
	ut_ok(c, "queue.declare quorum single-active-consumer");
	low = consumer(q, "low", 0, 1);
	none = consumer(q, "none", 0, 0);
	high = consumer(q, "high", 0, 10);
	publish_n(c, q, 0, 1, false);
	expect(low, "m0", false);
	amqp_basic_cancel(low, 1, amqp_cstring_bytes("low"));
	ut_ok(low, "basic.cancel");
	publish_n(c, q, 1, 2, false);
	expect(none, "m1", false);
	expect_nothing(high);
	expect_status(q, "none", "single_active");
	expect_status(q, "high", "waiting");
	hb_close(high);
	hb_close(none);
	hb_close(low);
	hb_close(c);
}
