/*
 * Consumer timeouts: a delivery (to a consumer, or a basic.get) left
 * unacknowledged past its timeout closes its channel with RabbitMQ's 406
 * (words checked on RabbitMQ 3.10.8) and its messages go back to the
 * queue in order, redelivered; the broker-wide --consumer-timeout, the
 * x-consumer-timeout argument and the consumer-timeout policy key
 * (RabbitMQ 3.12: the smallest of argument and policies, else the
 * broker's), and their bad values. Timing is asserted only as order: a
 * close comes after its deadline, and an ack well before keeps the
 * channel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>

#include "tests/common.h"
#include "tests/integration/harness.h"
#include "tests/integration/util.h"

#define GUEST	"guest:guest"

TestSuite(consumer_timeout, .timeout = 60);

static void
start(const char *timeout_ms)
{
	const char *extra[] = { "--consumer-timeout", timeout_ms, NULL };

	hb_start(&ut_broker, extra);
	hb_require_warrend(&ut_broker);
}

static void
declare(amqp_connection_state_t c, amqp_channel_t ch, const char *q,
    amqp_table_t args)
{
	amqp_queue_declare(c, ch, amqp_cstring_bytes(q), 0, 0, 0, 0, args);
	ut_ok(c, "queue.declare");
}

/* A queue.declare argument x-consumer-timeout = ms. */
static amqp_table_t
timeout_arg(amqp_table_entry_t *e, int32_t ms)
{
	e[0] = ut_i32("x-consumer-timeout", ms);
	return ut_table(e, 1);
}

/*
 * The next method frame (content frames skipped) within ms: 1 with *f
 * filled, 0 on a timeout.
 */
static int
next_method(amqp_connection_state_t c, amqp_frame_t *f, int ms)
{
	long until = tc_now_ms() + ms;

	for (;;) {
		long left = until - tc_now_ms();
		int rc;

		if (left <= 0)
			return 0;
		rc = ut_wait_frame(c, f, (int)left);
		if (rc == AMQP_STATUS_TIMEOUT)
			return 0;
		cr_assert_eq(rc, AMQP_STATUS_OK, "wait_frame: %d", rc);
		if (f->frame_type == AMQP_FRAME_METHOD)
			return 1;
	}
}

/* Waits for a basic.deliver; returns its delivery tag. */
static uint64_t
expect_deliver(amqp_connection_state_t c)
{
	amqp_frame_t f;

	cr_assert_eq(next_method(c, &f, 5000), 1, "no delivery");
	cr_assert_eq(f.payload.method.id, AMQP_BASIC_DELIVER_METHOD,
	    "method 0x%08x, wanted basic.deliver", f.payload.method.id);
	return ((amqp_basic_deliver_t *)f.payload.method.decoded)->delivery_tag;
}

/*
 * Waits (<= 10 s) for the consumer timeout's channel.close on ch, with
 * timeout_ms in its words; answers close-ok. Returns the ms it took.
 */
static long
expect_timeout_close(amqp_connection_state_t c, amqp_channel_t ch,
    int timeout_ms)
{
	amqp_channel_close_ok_t ok = { 0 };
	amqp_channel_close_t *cl;
	amqp_frame_t f;
	char want[512];
	char *got;
	long t0 = tc_now_ms();

	snprintf(want, sizeof(want), "PRECONDITION_FAILED - delivery "
	    "acknowledgement on channel %u timed out. Timeout value used: %d "
	    "ms. This timeout value can be configured, see consumers doc "
	    "guide to learn more", ch, timeout_ms);
	cr_assert_eq(next_method(c, &f, 10000), 1, "channel %u not closed",
	    ch);
	cr_assert_eq(f.channel, ch);
	cr_assert_eq(f.payload.method.id, AMQP_CHANNEL_CLOSE_METHOD,
	    "method 0x%08x, wanted channel.close", f.payload.method.id);
	cl = f.payload.method.decoded;
	got = ut_str_of(cl->reply_text);
	cr_assert_eq(cl->reply_code, 406);
	cr_assert_str_eq(got, want, "\n  got: %s\n want: %s", got, want);
	cr_assert_eq(cl->class_id, 0);
	cr_assert_eq(cl->method_id, 0);
	amqp_send_method(c, ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
	return tc_now_ms() - t0;
}

/* Asserts nothing arrives for ms, then that ch still answers. */
static void
expect_quiet(amqp_connection_state_t c, amqp_channel_t ch, int ms)
{
	amqp_frame_t f;

	cr_assert_eq(next_method(c, &f, ms), 0,
	    "method 0x%08x on channel %u", f.payload.method.id, f.channel);
	cr_assert_eq(ut_sync(c, ch).reply_type, AMQP_RESPONSE_NORMAL,
	    "channel %u closed", ch);
}

static void
ack(amqp_connection_state_t c, amqp_channel_t ch, uint64_t tag)
{
	cr_assert_eq(amqp_basic_ack(c, ch, tag, 0), 0);
}

static void
consume_manual(amqp_connection_state_t c, amqp_channel_t ch, const char *q)
{
	ut_channel(c, ch);
	amqp_basic_consume(c, ch, amqp_cstring_bytes(q), amqp_empty_bytes, 0,
	    0, 0, amqp_empty_table);
	ut_ok(c, "basic.consume");
}

static void
put_policy(const char *path, const char *body)
{
	struct hhttp r;
	int st = hb_http(&ut_broker, "PUT", path, GUEST, body, &r);

	cr_assert(st == 201 || st == 204, "PUT %s: %d %s", path, st,
	    r.body != NULL ? r.body : "");
	hb_http_free(&r);
}

Test(consumer_timeout, unacked_deliveries_close_the_channel_and_requeue)
{
	amqp_connection_state_t c, c2;
	amqp_envelope_t env;
	const char *q = hb_name("ct");
	long t0;

	start("500");
	c = ut_connect();
	declare(c, 1, q, amqp_empty_table);
	ut_publish(c, 1, "", q, "a");
	ut_publish(c, 1, "", q, "b");
	consume_manual(c, 2, q);
	expect_deliver(c);
	t0 = tc_now_ms();
	expect_deliver(c);
	expect_timeout_close(c, 2, 500);
	/* After the deadline, not before it (a margin for a busy host). */
	cr_assert_geq(tc_now_ms() - t0, 400, "closed after %ld ms",
	    tc_now_ms() - t0);
	/* Only that channel: the connection and its other channel stay. */
	cr_assert_eq(ut_sync(c, 1).reply_type, AMQP_RESPONSE_NORMAL);
	/* Back in the queue in order, marked redelivered. */
	c2 = ut_connect();
	ut_consume_start(c2, 1, q, NULL, true, false);
	cr_assert_eq(ut_consume(c2, &env, 5000), 1);
	cr_assert(env.redelivered);
	cr_assert_eq(env.message.body.len, 1);
	cr_assert_eq(((char *)env.message.body.bytes)[0], 'a');
	amqp_destroy_envelope(&env);
	cr_assert_eq(ut_consume(c2, &env, 5000), 1);
	cr_assert(env.redelivered);
	cr_assert_eq(((char *)env.message.body.bytes)[0], 'b');
	amqp_destroy_envelope(&env);
	hb_close(c2);
	hb_close(c);
	hb_stop(&ut_broker);
}

Test(consumer_timeout, unacked_basic_get_closes_the_channel)
{
	amqp_connection_state_t c;
	amqp_basic_get_ok_t ok;
	const char *q = hb_name("ct");
	char *body;

	start("500");
	c = ut_connect();
	declare(c, 1, q, amqp_empty_table);
	ut_publish(c, 1, "", q, "a");
	ut_channel(c, 2);
	body = ut_get(c, 2, q, false, &ok, NULL);
	cr_assert_str_eq(body, "a");
	cr_assert_not(ok.redelivered);
	expect_timeout_close(c, 2, 500);
	cr_assert_eq(ut_count_wait(c, 1, q, 1, 5000), 1);
	body = ut_get(c, 1, q, true, &ok, NULL);
	cr_assert_str_eq(body, "a");
	cr_assert(ok.redelivered);
	hb_close(c);
	hb_stop(&ut_broker);
}

Test(consumer_timeout, acks_in_time_keep_the_channel)
{
	amqp_connection_state_t c;
	const char *q = hb_name("ct");

	start("2000");
	c = ut_connect();
	declare(c, 1, q, amqp_empty_table);
	consume_manual(c, 2, q);
	/* Each acked 100 ms after it came: well inside 2 s, every time. */
	for (int i = 0; i < 3; i++) {
		ut_publish(c, 1, "", q, "a");
		uint64_t tag = expect_deliver(c);

		usleep(100 * 1000);
		ack(c, 2, tag);
	}
	expect_quiet(c, 2, 2600);
	/* The timer still works after those acks. */
	ut_publish(c, 1, "", q, "b");
	expect_deliver(c);
	expect_timeout_close(c, 2, 2000);
	hb_close(c);
	hb_stop(&ut_broker);
}

Test(consumer_timeout, zero_means_no_timeout)
{
	amqp_connection_state_t c;
	const char *q = hb_name("ct");
	amqp_table_entry_t e[1];

	start("0");
	c = ut_connect();
	declare(c, 1, q, amqp_empty_table);
	ut_publish(c, 1, "", q, "a");
	consume_manual(c, 2, q);
	expect_deliver(c);
	expect_quiet(c, 2, 1500);
	/* A queue's own timeout applies with no broker-wide one. */
	q = hb_name("ct");
	declare(c, 1, q, timeout_arg(e, 300));
	ut_publish(c, 1, "", q, "b");
	consume_manual(c, 3, q);
	expect_deliver(c);
	expect_timeout_close(c, 3, 300);
	hb_close(c);
	hb_stop(&ut_broker);
}

Test(consumer_timeout, argument_and_policies_beat_the_broker_value)
{
	amqp_connection_state_t c;
	amqp_table_entry_t e[1];
	uint64_t tag;
	char q1[64], q2[64], q3[64];

	start("300");
	c = ut_connect();
	snprintf(q1, sizeof(q1), "%s", hb_name("ct1-"));
	snprintf(q2, sizeof(q2), "%s", hb_name("ct2-"));
	snprintf(q3, sizeof(q3), "%s", hb_name("ct3-"));
	/* A larger argument wins over the smaller broker-wide value. */
	declare(c, 1, q1, timeout_arg(e, 5000));
	ut_publish(c, 1, "", q1, "a");
	consume_manual(c, 2, q1);
	tag = expect_deliver(c);
	expect_quiet(c, 2, 1200);
	ack(c, 2, tag);
	cr_assert_eq(ut_sync(c, 2).reply_type, AMQP_RESPONSE_NORMAL);
	/* Argument and policy: the smaller, whichever it is. */
	put_policy("/api/policies/%2F/ct", "{\"pattern\":\"^ct[23]-\","
	    "\"definition\":{\"consumer-timeout\":700},\"apply-to\":"
	    "\"queues\"}");
	declare(c, 1, q2, timeout_arg(e, 60000));
	ut_publish(c, 1, "", q2, "b");
	consume_manual(c, 3, q2);
	expect_deliver(c);
	expect_timeout_close(c, 3, 700);
	/* An operator policy's smaller value wins over the policy's. */
	put_policy("/api/operator-policies/%2F/op", "{\"pattern\":\"^ct3-\","
	    "\"definition\":{\"consumer-timeout\":400},\"apply-to\":"
	    "\"queues\"}");
	declare(c, 1, q3, amqp_empty_table);
	ut_publish(c, 1, "", q3, "c");
	consume_manual(c, 4, q3);
	expect_deliver(c);
	expect_timeout_close(c, 4, 400);
	hb_close(c);
	hb_stop(&ut_broker);
}

Test(consumer_timeout, bad_argument_and_policy_values)
{
	static const struct {
		const char	*body;
		const char	*reason;
	} bad[] = {
		{ "\"x\"", "&lt;&lt;\\\"x\\\"&gt;&gt;" },
		{ "-1", "-1" },
		{ "1.5", "1.5" },
	};
	amqp_connection_state_t c;
	amqp_table_entry_t e[1];
	amqp_rpc_reply_t r;
	const char *q = hb_name("ct");
	char want[512], body[256];
	struct hhttp h;

	start("1800000");
	c = ut_connect();
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 0, 0, 0,
	    timeout_arg(e, -1));
	r = amqp_get_rpc_reply(c);
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - invalid arg "
	    "'x-consumer-timeout' for queue '%s' in vhost '/': "
	    "{value_negative,-1}", q);
	cr_assert_str_eq(hb_expect_close(c, r, false, 406), want);
	ut_channel(c, 1);
	e[0] = ut_str("x-consumer-timeout", "10");
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 0, 0, 0,
	    ut_table(e, 1));
	r = amqp_get_rpc_reply(c);
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - invalid arg "
	    "'x-consumer-timeout' for queue '%s' in vhost '/': "
	    "\"expected integer, got longstr\"", q);
	cr_assert_str_eq(hb_expect_close(c, r, false, 406), want);
	ut_channel(c, 1);
	cr_assert_not(ut_queue_exists(c, q));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{\"pattern\":\".*\","
		    "\"definition\":{\"consumer-timeout\":%s}}", bad[i].body);
		cr_assert_eq(hb_http(&ut_broker, "PUT",
		    "/api/policies/%2F/bad", GUEST, body, &h), 400);
		snprintf(want, sizeof(want), "{\"error\":\"bad_request\","
		    "\"reason\":\"Validation failed\\n\\n%s is not a valid "
		    "consumer timeout\\n\"}", bad[i].reason);
		cr_assert_str_eq(h.body, want);
		hb_http_free(&h);
	}
	cr_assert_eq(hb_http(&ut_broker, "GET", "/api/policies/%2F/bad",
	    GUEST, NULL, &h), 404);
	hb_http_free(&h);
	hb_close(c);
	hb_stop(&ut_broker);
}
