/*
 * basic.* integration tests: publish/get with every property, returns,
 * consumers, acknowledgements and requeueing, prefetch, ordering and
 * large messages.  Each expectation was checked against RabbitMQ 3.10.
 */
#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

TestSuite(basic, .init = ut_setup, .fini = ut_teardown, .timeout = 120);

/* Asserts that a and b hold the same bytes. */
static void
same_bytes(amqp_bytes_t a, amqp_bytes_t b, const char *what)
{
	cr_assert_eq(a.len, b.len, "%s: length %zu vs %zu", what, a.len,
	    b.len);
	cr_assert(a.len == 0 || memcmp(a.bytes, b.bytes, a.len) == 0,
	    "%s differs", what);
}

/* Asserts that two tables encode to the same bytes. */
static void
same_table(amqp_table_t *a, amqp_table_t *b)
{
	static char ba[8192], bb[8192];
	amqp_bytes_t ea = { sizeof(ba), ba }, eb = { sizeof(bb), bb };
	size_t la = 0, lb = 0;

	cr_assert_eq(amqp_encode_table(ea, a, &la), AMQP_STATUS_OK);
	cr_assert_eq(amqp_encode_table(eb, b, &lb), AMQP_STATUS_OK);
	cr_assert_eq(la, lb, "encoded headers %zu vs %zu bytes", la, lb);
	cr_assert(memcmp(ba, bb, la) == 0, "encoded headers differ");
}

/* Asserts that every property of want is in got, unchanged. */
static void
same_props(const amqp_basic_properties_t *want,
    amqp_basic_properties_t *got)
{
	cr_assert_eq(got->_flags, want->_flags, "flags 0x%x vs 0x%x",
	    got->_flags, want->_flags);
	same_bytes(got->content_type, want->content_type, "content_type");
	same_bytes(got->content_encoding, want->content_encoding,
	    "content_encoding");
	same_table(&got->headers, (amqp_table_t *)&want->headers);
	cr_assert_eq(got->delivery_mode, want->delivery_mode);
	cr_assert_eq(got->priority, want->priority);
	same_bytes(got->correlation_id, want->correlation_id,
	    "correlation_id");
	same_bytes(got->reply_to, want->reply_to, "reply_to");
	same_bytes(got->message_id, want->message_id, "message_id");
	cr_assert_eq(got->timestamp, want->timestamp);
	same_bytes(got->type, want->type, "type");
	same_bytes(got->user_id, want->user_id, "user_id");
	same_bytes(got->app_id, want->app_id, "app_id");
}

/* Fills p with every property except expiration and cluster-id. */
static void
full_props(amqp_basic_properties_t *p)
{
	static amqp_table_entry_t h[14], inner[2];
	static amqp_field_value_t arr[3];
	static const uint8_t raw[4] = { 0, 1, 0xfe, 0xff };

	inner[0] = ut_str("k", "v");
	inner[1] = ut_i32("n", -7);
	arr[0].kind = AMQP_FIELD_KIND_UTF8;
	arr[0].value.bytes = amqp_cstring_bytes("x");
	arr[1].kind = AMQP_FIELD_KIND_I32;
	arr[1].value.i32 = 5;
	arr[2].kind = AMQP_FIELD_KIND_BOOLEAN;
	arr[2].value.boolean = 0;

	h[0] = ut_str("str", "h\xc3\xa9llo");
	h[1] = ut_i32("i32", -123456);
	h[2].key = amqp_cstring_bytes("bool");
	h[2].value.kind = AMQP_FIELD_KIND_BOOLEAN;
	h[2].value.value.boolean = 1;
	h[3].key = amqp_cstring_bytes("i64");
	h[3].value.kind = AMQP_FIELD_KIND_I64;
	h[3].value.value.i64 = -(INT64_C(1) << 40);
	h[4].key = amqp_cstring_bytes("f64");
	h[4].value.kind = AMQP_FIELD_KIND_F64;
	h[4].value.value.f64 = 3.25;
	h[5].key = amqp_cstring_bytes("f32");
	h[5].value.kind = AMQP_FIELD_KIND_F32;
	h[5].value.value.f32 = 1.5f;
	h[6].key = amqp_cstring_bytes("ts");
	h[6].value.kind = AMQP_FIELD_KIND_TIMESTAMP;
	h[6].value.value.u64 = 1700000000;
	h[7].key = amqp_cstring_bytes("table");
	h[7].value.kind = AMQP_FIELD_KIND_TABLE;
	h[7].value.value.table = ut_table(inner, 2);
	h[8].key = amqp_cstring_bytes("array");
	h[8].value.kind = AMQP_FIELD_KIND_ARRAY;
	h[8].value.value.array.num_entries = 3;
	h[8].value.value.array.entries = arr;
	h[9].key = amqp_cstring_bytes("void");
	h[9].value.kind = AMQP_FIELD_KIND_VOID;
	h[10].key = amqp_cstring_bytes("i8");
	h[10].value.kind = AMQP_FIELD_KIND_I8;
	h[10].value.value.i8 = -3;
	h[11].key = amqp_cstring_bytes("i16");
	h[11].value.kind = AMQP_FIELD_KIND_I16;
	h[11].value.value.i16 = -300;
	h[12].key = amqp_cstring_bytes("dec");
	h[12].value.kind = AMQP_FIELD_KIND_DECIMAL;
	h[12].value.value.decimal.decimals = 2;
	h[12].value.value.decimal.value = 12345;
	h[13].key = amqp_cstring_bytes("bin");
	h[13].value.kind = AMQP_FIELD_KIND_BYTES;
	h[13].value.value.bytes.len = sizeof(raw);
	h[13].value.value.bytes.bytes = (void *)raw;

	memset(p, 0, sizeof(*p));
	p->_flags = AMQP_BASIC_CONTENT_TYPE_FLAG |
	    AMQP_BASIC_CONTENT_ENCODING_FLAG | AMQP_BASIC_HEADERS_FLAG |
	    AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_PRIORITY_FLAG |
	    AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_REPLY_TO_FLAG |
	    AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TIMESTAMP_FLAG |
	    AMQP_BASIC_TYPE_FLAG | AMQP_BASIC_USER_ID_FLAG |
	    AMQP_BASIC_APP_ID_FLAG;
	p->content_type = amqp_cstring_bytes("application/json");
	p->content_encoding = amqp_cstring_bytes("gzip");
	p->headers = ut_table(h, 14);
	p->delivery_mode = 2;
	p->priority = 7;
	p->correlation_id = amqp_cstring_bytes("corr-1");
	p->reply_to = amqp_cstring_bytes("reply.queue");
	p->message_id = amqp_cstring_bytes("msg-42");
	p->timestamp = 1234567890;
	p->type = amqp_cstring_bytes("order.created");
	p->user_id = amqp_cstring_bytes("guest");
	p->app_id = amqp_cstring_bytes("warren-tests");
}

/* basic.ack / nack / reject and a round trip to surface errors. */
static void
ack(amqp_connection_state_t c, uint64_t tag, bool multiple)
{
	cr_assert_eq(amqp_basic_ack(c, 1, tag, multiple), AMQP_STATUS_OK);
}

static void
nack(amqp_connection_state_t c, uint64_t tag, bool multiple, bool requeue)
{
	cr_assert_eq(amqp_basic_nack(c, 1, tag, multiple, requeue),
	    AMQP_STATUS_OK);
}

/* basic.get without ack; asserts body and redelivered, returns tag. */
static uint64_t
get_unacked(amqp_connection_state_t c, const char *q, const char *want,
    bool redelivered)
{
	amqp_basic_get_ok_t ok;
	char *got;

	got = ut_get(c, 1, q, false, &ok, NULL);
	cr_assert(got != NULL, "get-empty, wanted '%s'", want);
	cr_assert_str_eq(got, want);
	cr_assert_eq(!!ok.redelivered, redelivered, "'%s' redelivered=%d",
	    want, ok.redelivered);
	free(got);
	return ok.delivery_tag;
}

static void
publish_n(amqp_connection_state_t c, const char *q, int n)
{
	char body[32];
	int i;

	for (i = 1; i <= n; i++) {
		snprintf(body, sizeof(body), "%d", i);
		ut_publish(c, 1, "", q, body);
	}
}

Test(basic, publish_get_keeps_all_properties)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bp");
	amqp_basic_properties_t want, got;
	amqp_basic_get_ok_t ok;
	amqp_envelope_t env;
	char *body;

	full_props(&want);
	ut_publish_full(c, 1, "", q, false, &want,
	    amqp_cstring_bytes("payload"));
	body = ut_get(c, 1, q, true, &ok, &got);
	cr_assert_str_eq(body, "payload");
	cr_assert_eq(ok.redelivered, 0);
	cr_assert_eq(ok.message_count, 0);
	same_bytes(ok.exchange, amqp_cstring_bytes(""), "exchange");
	same_bytes(ok.routing_key, amqp_cstring_bytes(q), "routing_key");
	same_props(&want, &got);

	/* The same through a consumer. */
	ut_publish_full(c, 1, "", q, false, &want,
	    amqp_cstring_bytes("payload2"));
	(void)ut_consume_start(c, 1, q, NULL, true, false);
	cr_assert_eq(ut_consume(c, &env, 5000), 1);
	same_props(&want, &env.message.properties);
	same_bytes(env.message.body, amqp_cstring_bytes("payload2"), "body");
	amqp_destroy_envelope(&env);
	hb_close(c);
}

Test(basic, publish_without_properties_gets_none)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bp");
	amqp_basic_properties_t got;
	char *body;

	ut_publish(c, 1, "", q, "");
	body = ut_get(c, 1, q, true, NULL, &got);
	cr_assert_str_eq(body, "");
	cr_assert_eq(got._flags, 0, "flags 0x%x", got._flags);
	hb_close(c);
}

Test(basic, wrong_user_id_is_406)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bp");
	amqp_basic_properties_t p;
	const char *text;

	memset(&p, 0, sizeof(p));
	p._flags = AMQP_BASIC_USER_ID_FLAG;
	p.user_id = amqp_cstring_bytes("mallory");
	ut_publish_full(c, 1, "", q, false, &p, amqp_cstring_bytes("m"));
	text = hb_expect_close(c, ut_sync(c, 1), false,
	    AMQP_PRECONDITION_FAILED);
	cr_assert_str_eq(text, "PRECONDITION_FAILED - user_id property set "
	    "to 'mallory' but authenticated user was 'guest'");
	hb_close(c);
}

Test(basic, mandatory_unroutable_is_returned)
{
	amqp_connection_state_t c = ut_connect();
	amqp_basic_properties_t p;
	amqp_basic_return_t *ret;
	const char *key = strdup(hb_name("nowhere"));
	amqp_message_t m;
	amqp_frame_t f;

	memset(&p, 0, sizeof(p));
	p._flags = AMQP_BASIC_MESSAGE_ID_FLAG;
	p.message_id = amqp_cstring_bytes("id-1");
	ut_publish_full(c, 1, "amq.direct", key, true, &p,
	    amqp_cstring_bytes("bounce"));
	cr_assert_eq(ut_wait_frame(c, &f, 5000), AMQP_STATUS_OK);
	cr_assert_eq(f.frame_type, AMQP_FRAME_METHOD);
	cr_assert_eq(f.channel, 1);
	cr_assert_eq(f.payload.method.id, AMQP_BASIC_RETURN_METHOD);
	ret = f.payload.method.decoded;
	cr_assert_eq(ret->reply_code, AMQP_NO_ROUTE);
	cr_assert_str_eq(ut_str_of(ret->reply_text), "NO_ROUTE");
	cr_assert_str_eq(ut_str_of(ret->exchange), "amq.direct");
	cr_assert_str_eq(ut_str_of(ret->routing_key), key);
	cr_assert_eq(amqp_read_message(c, 1, &m, 0).reply_type,
	    AMQP_RESPONSE_NORMAL);
	same_bytes(m.body, amqp_cstring_bytes("bounce"), "returned body");
	cr_assert_eq(m.properties._flags, AMQP_BASIC_MESSAGE_ID_FLAG);
	same_bytes(m.properties.message_id, p.message_id, "message_id");
	amqp_destroy_message(&m);
	hb_close(c);
}

Test(basic, non_mandatory_unroutable_is_dropped)
{
	amqp_connection_state_t c = ut_connect();
	amqp_frame_t f;

	ut_publish(c, 1, "amq.direct", hb_name("nowhere"), "gone");
	cr_assert_eq(ut_sync(c, 1).reply_type, AMQP_RESPONSE_NORMAL);
	cr_assert_eq(ut_wait_frame(c, &f, 300), AMQP_STATUS_TIMEOUT);
	hb_close(c);
}

Test(basic, publish_to_missing_exchange_is_404)
{
	amqp_connection_state_t c = ut_connect();
	const char *x = strdup(hb_name("nox"));
	char want[256];
	const char *text;

	ut_publish(c, 1, x, "k", "m");
	text = hb_expect_close(c, ut_sync(c, 1), false, AMQP_NOT_FOUND);
	snprintf(want, sizeof(want), "NOT_FOUND - no exchange '%s' in vhost "
	    "'/'", x);
	cr_assert_str_eq(text, want);
	hb_close(c);
}

Test(basic, consume_with_server_generated_tag)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bc");
	char *tag;
	amqp_envelope_t env;

	tag = ut_consume_start(c, 1, q, NULL, true, false);
	cr_assert(strncmp(tag, "amq.ctag-", 9) == 0, "tag %s", tag);
	cr_assert_gt(strlen(tag), 9);
	ut_publish(c, 1, "", q, "m");
	cr_assert_eq(ut_consume(c, &env, 5000), 1);
	same_bytes(env.consumer_tag, amqp_cstring_bytes(tag), "consumer_tag");
	cr_assert_eq(env.delivery_tag, 1);
	cr_assert_eq(env.redelivered, 0);
	same_bytes(env.exchange, amqp_cstring_bytes(""), "exchange");
	same_bytes(env.routing_key, amqp_cstring_bytes(q), "routing_key");
	amqp_destroy_envelope(&env);
	hb_close(c);
}

Test(basic, consume_missing_queue_is_404)
{
	amqp_connection_state_t c = ut_connect();
	const char *q = strdup(hb_name("noq"));
	char want[256];
	const char *text;

	amqp_basic_consume(c, 1, amqp_cstring_bytes(q), amqp_empty_bytes, 0,
	    1, 0, amqp_empty_table);
	text = hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    AMQP_NOT_FOUND);
	snprintf(want, sizeof(want), "NOT_FOUND - no queue '%s' in vhost '/'",
	    q);
	cr_assert_str_eq(text, want);
	hb_close(c);
}

Test(basic, get_missing_queue_is_404)
{
	amqp_connection_state_t c = ut_connect();
	const char *q = strdup(hb_name("noq"));
	char want[256];
	const char *text;

	text = hb_expect_close(c, amqp_basic_get(c, 1, amqp_cstring_bytes(q),
	    1), false, AMQP_NOT_FOUND);
	snprintf(want, sizeof(want), "NOT_FOUND - no queue '%s' in vhost '/'",
	    q);
	cr_assert_str_eq(text, want);
	hb_close(c);
}

Test(basic, exclusive_consumer_blocks_others)
{
	amqp_connection_state_t c = ut_connect(), d = ut_connect();
	char *q = ut_queue(c, 1, "bx");
	char want[256];
	const char *text;

	(void)ut_consume_start(c, 1, q, NULL, true, true);
	snprintf(want, sizeof(want), "ACCESS_REFUSED - queue '%s' in vhost "
	    "'/' in exclusive use", q);
	amqp_basic_consume(d, 1, amqp_cstring_bytes(q), amqp_empty_bytes, 0,
	    1, 0, amqp_empty_table);
	text = hb_expect_close(d, amqp_get_rpc_reply(d), false,
	    AMQP_ACCESS_REFUSED);
	cr_assert_str_eq(text, want);
	/* Also on the owner's own channel. */
	amqp_basic_consume(c, 1, amqp_cstring_bytes(q), amqp_empty_bytes, 0,
	    1, 0, amqp_empty_table);
	text = hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    AMQP_ACCESS_REFUSED);
	cr_assert_str_eq(text, want);
	hb_close(d);
	hb_close(c);
}

Test(basic, exclusive_consume_refused_when_consumers_exist)
{
	amqp_connection_state_t c = ut_connect(), d = ut_connect();
	char *q = ut_queue(c, 1, "bx");
	char want[256];
	const char *text;

	(void)ut_consume_start(c, 1, q, NULL, true, false);
	amqp_basic_consume(d, 1, amqp_cstring_bytes(q), amqp_empty_bytes, 0,
	    1, 1, amqp_empty_table);
	text = hb_expect_close(d, amqp_get_rpc_reply(d), false,
	    AMQP_ACCESS_REFUSED);
	snprintf(want, sizeof(want), "ACCESS_REFUSED - queue '%s' in vhost "
	    "'/' in exclusive use", q);
	cr_assert_str_eq(text, want);
	hb_close(d);
	hb_close(c);
}

Test(basic, duplicate_consumer_tag_is_530)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bt");
	const char *text;

	(void)ut_consume_start(c, 1, q, "dup", true, false);
	amqp_basic_consume(c, 1, amqp_cstring_bytes(q),
	    amqp_cstring_bytes("dup"), 0, 1, 0, amqp_empty_table);
	text = hb_expect_close(c, amqp_get_rpc_reply(c), true,
	    AMQP_NOT_ALLOWED);
	cr_assert_str_eq(text, "NOT_ALLOWED - attempt to reuse consumer tag "
	    "'dup'");
	amqp_destroy_connection(c);
}

Test(basic, same_consumer_tag_on_two_channels_is_ok)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bt");

	(void)ut_consume_start(c, 1, q, "same", true, false);
	ut_channel(c, 2);
	(void)ut_consume_start(c, 2, q, "same", true, false);
	hb_close(c);
}

Test(basic, no_ack_consume_removes_messages)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bn");

	ut_channel(c, 2);
	(void)ut_consume_start(c, 2, q, NULL, true, false);
	ut_publish(c, 1, "", q, "a");
	ut_publish(c, 1, "", q, "b");
	(void)ut_expect_delivery(c, "a");
	(void)ut_expect_delivery(c, "b");
	/* Nothing to requeue when the consumer's channel closes. */
	amqp_channel_close(c, 2, AMQP_REPLY_SUCCESS);
	cr_assert_eq(ut_count(c, 1, q), 0);
	ut_expect_empty(c, 1, q);
	hb_close(c);
}

Test(basic, cancel_stops_deliveries)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bcan");
	amqp_basic_cancel_ok_t *ok;
	amqp_envelope_t env;

	(void)ut_consume_start(c, 1, q, "c1", true, false);
	ut_publish(c, 1, "", q, "before");
	(void)ut_expect_delivery(c, "before");
	ok = amqp_basic_cancel(c, 1, amqp_cstring_bytes("c1"));
	ut_ok(c, "basic.cancel");
	cr_assert_str_eq(ut_str_of(ok->consumer_tag), "c1");
	ut_publish(c, 1, "", q, "after");
	cr_assert_eq(ut_consume(c, &env, 300), 0);
	ut_expect_get(c, 1, q, "after");
	/* compat: cancelling an unknown tag is answered with cancel-ok. */
	ok = amqp_basic_cancel(c, 1, amqp_cstring_bytes("c1"));
	ut_ok(c, "basic.cancel unknown");
	cr_assert_str_eq(ut_str_of(ok->consumer_tag), "c1");
	hb_close(c);
}

Test(basic, cancel_requeues_nothing_but_keeps_unacked)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bcan");
	uint64_t tag;

	(void)ut_consume_start(c, 1, q, "c1", false, false);
	ut_publish(c, 1, "", q, "m");
	tag = ut_expect_delivery(c, "m");
	amqp_basic_cancel(c, 1, amqp_cstring_bytes("c1"));
	ut_ok(c, "basic.cancel");
	/* The delivery stays unacked on the channel and may be acked. */
	cr_assert_eq(ut_count(c, 1, q), 0);
	ack(c, tag, false);
	cr_assert_eq(ut_sync(c, 1).reply_type, AMQP_RESPONSE_NORMAL);
	amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
	ut_channel(c, 1);
	cr_assert_eq(ut_count(c, 1, q), 0);
	hb_close(c);
}

Test(basic, get_empty_and_message_count)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bg");
	amqp_basic_get_ok_t ok;
	char *body;

	ut_expect_empty(c, 1, q);
	publish_n(c, q, 3);
	body = ut_get(c, 1, q, true, &ok, NULL);
	cr_assert_str_eq(body, "1");
	cr_assert_eq(ok.message_count, 2);
	cr_assert_eq(ok.delivery_tag, 1);
	body = ut_get(c, 1, q, false, &ok, NULL);
	cr_assert_str_eq(body, "2");
	cr_assert_eq(ok.message_count, 1);
	cr_assert_eq(ok.delivery_tag, 2);
	body = ut_get(c, 1, q, true, &ok, NULL);
	cr_assert_str_eq(body, "3");
	cr_assert_eq(ok.message_count, 0);
	cr_assert_eq(ok.delivery_tag, 3);
	ut_expect_empty(c, 1, q);
	hb_close(c);
}

Test(basic, ack_multiple)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "back");

	publish_n(c, q, 4);
	(void)get_unacked(c, q, "1", false);
	(void)get_unacked(c, q, "2", false);
	(void)get_unacked(c, q, "3", false);
	(void)get_unacked(c, q, "4", false);
	ack(c, 3, true);
	cr_assert_eq(ut_sync(c, 1).reply_type, AMQP_RESPONSE_NORMAL);
	amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
	ut_channel(c, 1);
	/* Only 4 was left unacked and comes back. */
	cr_assert_eq(ut_count_wait(c, 1, q, 1, 3000), 1);
	(void)get_unacked(c, q, "4", true);
	ut_expect_empty(c, 1, q);
	hb_close(c);
}

Test(basic, ack_multiple_zero_acks_all)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "back");

	publish_n(c, q, 3);
	(void)get_unacked(c, q, "1", false);
	(void)get_unacked(c, q, "2", false);
	(void)get_unacked(c, q, "3", false);
	ack(c, 0, true);
	cr_assert_eq(ut_sync(c, 1).reply_type, AMQP_RESPONSE_NORMAL);
	amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
	ut_channel(c, 1);
	ut_expect_empty(c, 1, q);
	hb_close(c);
}

Test(basic, nack_multiple_requeue)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bnack");

	publish_n(c, q, 3);
	(void)get_unacked(c, q, "1", false);
	(void)get_unacked(c, q, "2", false);
	nack(c, 2, true, true);
	(void)get_unacked(c, q, "1", true);
	(void)get_unacked(c, q, "2", true);
	(void)get_unacked(c, q, "3", false);
	hb_close(c);
}

Test(basic, nack_without_requeue_drops)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bnack");

	publish_n(c, q, 2);
	(void)get_unacked(c, q, "1", false);
	(void)get_unacked(c, q, "2", false);
	nack(c, 2, true, false);
	cr_assert_eq(ut_sync(c, 1).reply_type, AMQP_RESPONSE_NORMAL);
	ut_expect_empty(c, 1, q);
	amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
	ut_channel(c, 1);
	ut_expect_empty(c, 1, q);
	hb_close(c);
}

Test(basic, reject_requeue_and_drop)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "brej");
	uint64_t t;

	publish_n(c, q, 2);
	t = get_unacked(c, q, "1", false);
	cr_assert_eq(amqp_basic_reject(c, 1, t, 1), AMQP_STATUS_OK);
	t = get_unacked(c, q, "1", true);
	cr_assert_eq(amqp_basic_reject(c, 1, t, 0), AMQP_STATUS_OK);
	(void)get_unacked(c, q, "2", false);
	hb_close(c);
}

Test(basic, requeued_message_keeps_its_position)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bpos");
	uint64_t t1, t2;

	/* compat: RabbitMQ puts a requeued message back where it was, not
	 * at the tail. */
	publish_n(c, q, 4);
	t1 = get_unacked(c, q, "1", false);
	t2 = get_unacked(c, q, "2", false);
	nack(c, t2, false, true);
	(void)get_unacked(c, q, "2", true);
	nack(c, t1, false, true);
	(void)get_unacked(c, q, "1", true);
	(void)get_unacked(c, q, "3", false);
	(void)get_unacked(c, q, "4", false);
	hb_close(c);
}

Test(basic, requeue_in_reverse_restores_publish_order)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bpos");
	uint64_t t1, t2, t3;

	publish_n(c, q, 4);
	t1 = get_unacked(c, q, "1", false);
	t2 = get_unacked(c, q, "2", false);
	t3 = get_unacked(c, q, "3", false);
	nack(c, t3, false, true);
	nack(c, t1, false, true);
	nack(c, t2, false, true);
	(void)get_unacked(c, q, "1", true);
	(void)get_unacked(c, q, "2", true);
	(void)get_unacked(c, q, "3", true);
	(void)get_unacked(c, q, "4", false);
	hb_close(c);
}

Test(basic, unacked_requeued_when_channel_closes)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bcl");

	publish_n(c, q, 3);
	ut_channel(c, 2);
	amqp_basic_get(c, 2, amqp_cstring_bytes(q), 0);
	ut_ok(c, "get on channel 2");
	{
		amqp_message_t m;

		cr_assert_eq(amqp_read_message(c, 2, &m, 0).reply_type,
		    AMQP_RESPONSE_NORMAL);
		amqp_destroy_message(&m);
	}
	cr_assert_eq(ut_count(c, 1, q), 2);
	amqp_channel_close(c, 2, AMQP_REPLY_SUCCESS);
	cr_assert_eq(ut_count_wait(c, 1, q, 3, 3000), 3);
	(void)get_unacked(c, q, "1", true);
	(void)get_unacked(c, q, "2", false);
	hb_close(c);
}

Test(basic, unacked_requeued_when_connection_closes)
{
	amqp_connection_state_t c = ut_connect(), d = ut_connect();
	char *q = ut_queue(c, 1, "bcl");

	publish_n(c, q, 2);
	(void)ut_consume_start(d, 1, q, NULL, false, false);
	(void)ut_expect_delivery(d, "1");
	(void)ut_expect_delivery(d, "2");
	cr_assert_eq(ut_count(c, 1, q), 0);
	hb_close(d);
	cr_assert_eq(ut_count_wait(c, 1, q, 2, 3000), 2);
	(void)get_unacked(c, q, "1", true);
	(void)get_unacked(c, q, "2", true);
	hb_close(c);
}

Test(basic, recover_requeue_redelivers)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "brec");

	publish_n(c, q, 2);
	(void)get_unacked(c, q, "1", false);
	amqp_basic_recover(c, 1, 1);
	ut_ok(c, "basic.recover");
	(void)get_unacked(c, q, "1", true);
	(void)get_unacked(c, q, "2", false);
	hb_close(c);
}

Test(basic, recover_redelivers_to_consumer)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "brec");
	amqp_envelope_t env;

	(void)ut_consume_start(c, 1, q, NULL, false, false);
	ut_publish(c, 1, "", q, "m");
	(void)ut_expect_delivery(c, "m");
	amqp_basic_recover(c, 1, 1);
	ut_ok(c, "basic.recover");
	cr_assert_eq(ut_consume(c, &env, 5000), 1);
	cr_assert_eq(env.redelivered, 1);
	cr_assert_eq(env.delivery_tag, 2);
	amqp_destroy_envelope(&env);
	hb_close(c);
}

Test(basic, prefetch_count_limits_unacked_deliveries)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bqos");
	amqp_envelope_t env;
	uint64_t t1;

	amqp_basic_qos(c, 1, 0, 2, 0);
	ut_ok(c, "basic.qos");
	(void)ut_consume_start(c, 1, q, NULL, false, false);
	publish_n(c, q, 5);
	t1 = ut_expect_delivery(c, "1");
	(void)ut_expect_delivery(c, "2");
	cr_assert_eq(ut_consume(c, &env, 300), 0, "third delivery over "
	    "prefetch");
	ack(c, t1, false);
	(void)ut_expect_delivery(c, "3");
	cr_assert_eq(ut_consume(c, &env, 300), 0);
	/* Acking both outstanding ones opens room for two more. */
	ack(c, 3, true);
	(void)ut_expect_delivery(c, "4");
	(void)ut_expect_delivery(c, "5");
	hb_close(c);
}

Test(basic, prefetch_is_per_consumer)
{
	amqp_connection_state_t c = ut_connect();
	char *q1 = ut_queue(c, 1, "bqos");
	char *q2 = ut_queue(c, 1, "bqos");
	amqp_envelope_t env;
	int i, n = 0;

	amqp_basic_qos(c, 1, 0, 1, 0);
	ut_ok(c, "basic.qos");
	(void)ut_consume_start(c, 1, q1, NULL, false, false);
	(void)ut_consume_start(c, 1, q2, NULL, false, false);
	publish_n(c, q1, 2);
	publish_n(c, q2, 2);
	for (i = 0; i < 4; i++) {
		if (ut_consume(c, &env, 500) != 1)
			break;
		amqp_destroy_envelope(&env);
		n++;
	}
	cr_assert_eq(n, 2, "deliveries %d", n);
	hb_close(c);
}

Test(basic, prefetch_global_is_per_channel)
{
	amqp_connection_state_t c = ut_connect();
	char *q1 = ut_queue(c, 1, "bqos");
	char *q2 = ut_queue(c, 1, "bqos");
	amqp_envelope_t env;
	int i, n = 0;

	/* compat: RabbitMQ reads global=true as a limit shared by all
	 * consumers on the channel. */
	amqp_basic_qos(c, 1, 0, 2, 1);
	ut_ok(c, "basic.qos global");
	(void)ut_consume_start(c, 1, q1, NULL, false, false);
	(void)ut_consume_start(c, 1, q2, NULL, false, false);
	publish_n(c, q1, 2);
	publish_n(c, q2, 2);
	for (i = 0; i < 4; i++) {
		if (ut_consume(c, &env, 500) != 1)
			break;
		amqp_destroy_envelope(&env);
		n++;
	}
	cr_assert_eq(n, 2, "deliveries %d", n);
	ack(c, 0, true);
	for (i = 0; i < 4; i++) {
		if (ut_consume(c, &env, 500) != 1)
			break;
		amqp_destroy_envelope(&env);
		n++;
	}
	cr_assert_eq(n, 4, "deliveries %d", n);
	hb_close(c);
}

Test(basic, prefetch_does_not_limit_get)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bqos");

	amqp_basic_qos(c, 1, 0, 1, 0);
	ut_ok(c, "basic.qos");
	publish_n(c, q, 3);
	(void)get_unacked(c, q, "1", false);
	(void)get_unacked(c, q, "2", false);
	(void)get_unacked(c, q, "3", false);
	hb_close(c);
}

Test(basic, ack_unknown_tag_is_406)
{
	amqp_connection_state_t c = ut_connect();
	const char *text;

	ack(c, 42, false);
	text = hb_expect_close(c, ut_sync(c, 1), false,
	    AMQP_PRECONDITION_FAILED);
	cr_assert_str_eq(text, "PRECONDITION_FAILED - unknown delivery tag "
	    "42");
	hb_close(c);
}

Test(basic, double_ack_is_406)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bdbl");
	const char *text;
	uint64_t t;

	ut_publish(c, 1, "", q, "m");
	t = get_unacked(c, q, "m", false);
	ack(c, t, false);
	ack(c, t, false);
	text = hb_expect_close(c, ut_sync(c, 1), false,
	    AMQP_PRECONDITION_FAILED);
	cr_assert_str_eq(text, "PRECONDITION_FAILED - unknown delivery tag 1");
	hb_close(c);
}

Test(basic, ack_of_no_ack_delivery_is_406)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bdbl");
	const char *text;

	ut_publish(c, 1, "", q, "m");
	ut_expect_get(c, 1, q, "m");
	ack(c, 1, false);
	text = hb_expect_close(c, ut_sync(c, 1), false,
	    AMQP_PRECONDITION_FAILED);
	cr_assert_str_eq(text, "PRECONDITION_FAILED - unknown delivery tag 1");
	hb_close(c);
}

Test(basic, reject_unknown_tag_is_406)
{
	amqp_connection_state_t c = ut_connect();
	const char *text;

	cr_assert_eq(amqp_basic_reject(c, 1, 7, 1), AMQP_STATUS_OK);
	text = hb_expect_close(c, ut_sync(c, 1), false,
	    AMQP_PRECONDITION_FAILED);
	cr_assert_str_eq(text, "PRECONDITION_FAILED - unknown delivery tag 7");
	hb_close(c);
}

Test(basic, fifo_order_of_1000_messages)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bfifo");
	char want[32];
	int i;

	publish_n(c, q, 1000);
	(void)ut_consume_start(c, 1, q, NULL, true, false);
	for (i = 1; i <= 1000; i++) {
		snprintf(want, sizeof(want), "%d", i);
		(void)ut_expect_delivery(c, want);
	}
	hb_close(c);
}

Test(basic, eight_megabyte_message_over_small_frames)
{
	amqp_connection_state_t c;
	amqp_rpc_reply_t r;
	amqp_basic_get_ok_t ok;
	amqp_message_t m;
	const size_t len = 8 * 1024 * 1024;
	unsigned char *big;
	char *q;
	size_t i;

	c = hb_connect_opts(&ut_broker, "/", "guest", "guest", 4096, 0, &r);
	cr_assert(c != NULL, "login with frame_max 4096");
	cr_assert_eq(amqp_get_frame_max(c), 4096);
	ut_channel(c, 1);
	q = ut_queue(c, 1, "bbig");
	big = malloc(len);
	cr_assert(big != NULL);
	for (i = 0; i < len; i++)
		big[i] = (unsigned char)(i * 31 + (i >> 13));
	ut_publish_full(c, 1, "", q, false, NULL,
	    (amqp_bytes_t){ len, big });
	r = amqp_basic_get(c, 1, amqp_cstring_bytes(q), 1);
	ut_ok(c, "basic.get");
	cr_assert_eq(r.reply.id, AMQP_BASIC_GET_OK_METHOD);
	ok = *(amqp_basic_get_ok_t *)r.reply.decoded;
	cr_assert_eq(ok.message_count, 0);
	cr_assert_eq(amqp_read_message(c, 1, &m, 0).reply_type,
	    AMQP_RESPONSE_NORMAL);
	cr_assert_eq(m.body.len, len);
	cr_assert(memcmp(m.body.bytes, big, len) == 0, "body differs");
	amqp_destroy_message(&m);
	free(big);
	hb_close(c);
}

Test(basic, consumer_gets_messages_from_before_and_after_consume)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "bba");

	ut_publish(c, 1, "", q, "before-1");
	ut_publish(c, 1, "", q, "before-2");
	(void)ut_consume_start(c, 1, q, NULL, true, false);
	ut_publish(c, 1, "", q, "after-1");
	(void)ut_expect_delivery(c, "before-1");
	(void)ut_expect_delivery(c, "before-2");
	(void)ut_expect_delivery(c, "after-1");
	hb_close(c);
}

Test(basic, consumers_share_messages_round_robin)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "brr");
	char *t1, *t2;
	amqp_envelope_t env;
	int i, n1 = 0, n2 = 0;

	t1 = ut_consume_start(c, 1, q, "rr-1", true, false);
	t2 = ut_consume_start(c, 1, q, "rr-2", true, false);
	publish_n(c, q, 10);
	for (i = 0; i < 10; i++) {
		cr_assert_eq(ut_consume(c, &env, 5000), 1);
		if (env.consumer_tag.len == strlen(t1) &&
		    memcmp(env.consumer_tag.bytes, t1, strlen(t1)) == 0)
			n1++;
		else if (env.consumer_tag.len == strlen(t2) &&
		    memcmp(env.consumer_tag.bytes, t2, strlen(t2)) == 0)
			n2++;
		amqp_destroy_envelope(&env);
	}
	cr_assert_eq(n1, 5);
	cr_assert_eq(n2, 5);
	hb_close(c);
}
