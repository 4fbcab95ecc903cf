/*
 * Helpers shared by the entity and basic.* integration tests; see
 * util.h.
 */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

/* A channel number no test uses, for existence probes. */
#define UT_PROBE_CHANNEL	200

struct hbroker	ut_broker;

void
ut_setup(void)
{
	hb_start(&ut_broker, NULL);
}

void
ut_teardown(void)
{
	hb_stop(&ut_broker);
}

void
ut_teardown_clean(void)
{
	int st = hb_stop(&ut_broker);

	cr_assert_eq(st, 0, "warrend exited with %d", st);
}

int
ut_main_serial(int argc, char *argv[])
{
	struct criterion_test_set *tests = criterion_initialize();
	int rc = 0;

	criterion_options.jobs = 1;
	if (criterion_handle_args(argc, argv, true))
		rc = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	return rc;
}

static void
set_timeout(amqp_connection_state_t c)
{
	struct timeval tv = { 10, 0 };

	amqp_set_rpc_timeout(c, &tv);
}

amqp_connection_state_t
ut_connect(void)
{
	amqp_connection_state_t c;

	c = hb_connect(&ut_broker);
	set_timeout(c);
	return c;
}

amqp_connection_state_t
ut_connect_ccn(void)
{
	amqp_connection_state_t c;
	amqp_socket_t *s;
	amqp_table_entry_t cap[1], prop[1];
	amqp_table_t caps, props;
	amqp_rpc_reply_t r;
	struct timeval tv = { 10, 0 };

	/* amqp_login_with_properties merges this capabilities table with
	 * the library's own, so only the extra flag is needed. */
	cap[0].key = amqp_cstring_bytes("consumer_cancel_notify");
	cap[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
	cap[0].value.value.boolean = 1;
	caps.num_entries = 1;
	caps.entries = cap;
	prop[0].key = amqp_cstring_bytes("capabilities");
	prop[0].value.kind = AMQP_FIELD_KIND_TABLE;
	prop[0].value.value.table = caps;
	props.num_entries = 1;
	props.entries = prop;

	c = amqp_new_connection();
	cr_assert(c != NULL);
	s = amqp_tcp_socket_new(c);
	cr_assert(s != NULL);
	cr_assert_eq(amqp_socket_open_noblock(s, ut_broker.host,
	    ut_broker.port, &tv), AMQP_STATUS_OK, "connect %s:%d",
	    ut_broker.host, ut_broker.port);
	amqp_set_handshake_timeout(c, &tv);
	set_timeout(c);
	r = amqp_login_with_properties(c, "/", 0, 131072, 0, &props,
	    AMQP_SASL_METHOD_PLAIN, "guest", "guest");
	cr_assert_eq(r.reply_type, AMQP_RESPONSE_NORMAL, "login");
	ut_channel(c, 1);
	return c;
}

void
ut_ok(amqp_connection_state_t c, const char *what)
{
	amqp_rpc_reply_t r;
	char *text = NULL;

	r = amqp_get_rpc_reply(c);
	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return;
	if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
		if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD)
			text = ut_str_of(((amqp_channel_close_t *)
			    r.reply.decoded)->reply_text);
		else if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD)
			text = ut_str_of(((amqp_connection_close_t *)
			    r.reply.decoded)->reply_text);
	}
	cr_assert_fail("%s failed: reply_type %d library_error %d (%s) "
	    "server: %s", what, r.reply_type, r.library_error,
	    amqp_error_string2(r.library_error), text ? text : "-");
}

void
ut_channel(amqp_connection_state_t c, amqp_channel_t ch)
{
	amqp_channel_open(c, ch);
	ut_ok(c, "channel.open");
}

char *
ut_queue(amqp_connection_state_t c, amqp_channel_t ch, const char *prefix)
{
	char *name;

	name = strdup(hb_name(prefix));
	cr_assert(name != NULL);
	amqp_queue_declare(c, ch, amqp_cstring_bytes(name), 0, 0, 0, 0,
	    amqp_empty_table);
	ut_ok(c, "queue.declare");
	return name;
}

void
ut_exchange(amqp_connection_state_t c, amqp_channel_t ch, const char *name,
    const char *type)
{
	amqp_exchange_declare(c, ch, amqp_cstring_bytes(name),
	    amqp_cstring_bytes(type), 0, 0, 0, 0, amqp_empty_table);
	ut_ok(c, "exchange.declare");
}

void
ut_bind(amqp_connection_state_t c, amqp_channel_t ch, const char *queue,
    const char *exchange, const char *key, amqp_table_t args)
{
	amqp_queue_bind(c, ch, amqp_cstring_bytes(queue),
	    amqp_cstring_bytes(exchange), amqp_cstring_bytes(key), args);
	ut_ok(c, "queue.bind");
}

void
ut_xbind(amqp_connection_state_t c, amqp_channel_t ch, const char *dest,
    const char *source, const char *key)
{
	amqp_exchange_bind(c, ch, amqp_cstring_bytes(dest),
	    amqp_cstring_bytes(source), amqp_cstring_bytes(key),
	    amqp_empty_table);
	ut_ok(c, "exchange.bind");
}

void
ut_publish(amqp_connection_state_t c, amqp_channel_t ch, const char *exchange,
    const char *key, const char *body)
{
	ut_publish_full(c, ch, exchange, key, false, NULL,
	    amqp_cstring_bytes(body));
}

void
ut_publish_full(amqp_connection_state_t c, amqp_channel_t ch,
    const char *exchange, const char *key, bool mandatory,
    const amqp_basic_properties_t *props, amqp_bytes_t body)
{
	int rc;

	rc = amqp_basic_publish(c, ch, amqp_cstring_bytes(exchange),
	    amqp_cstring_bytes(key), mandatory, 0, props, body);
	cr_assert_eq(rc, AMQP_STATUS_OK, "basic.publish: %s",
	    amqp_error_string2(rc));
}

amqp_basic_properties_t
ut_props(const char *expiration, bool persistent)
{
	amqp_basic_properties_t	p;

	memset(&p, 0, sizeof(p));
	if (expiration != NULL) {
		p._flags |= AMQP_BASIC_EXPIRATION_FLAG;
		p.expiration = amqp_cstring_bytes(expiration);
	}
	if (persistent) {
		p._flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
		p.delivery_mode = 2;
	}
	return p;
}

char *
ut_get(amqp_connection_state_t c, amqp_channel_t ch, const char *queue,
    bool no_ack, amqp_basic_get_ok_t *ok, amqp_basic_properties_t *props)
{
	amqp_rpc_reply_t r;
	amqp_message_t msg;
	char *body;

	r = amqp_basic_get(c, ch, amqp_cstring_bytes(queue), no_ack);
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		ut_ok(c, "basic.get");
	if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
		return NULL;
	cr_assert_eq(r.reply.id, AMQP_BASIC_GET_OK_METHOD);
	if (ok != NULL)
		*ok = *(amqp_basic_get_ok_t *)r.reply.decoded;
	r = amqp_read_message(c, ch, &msg, 0);
	cr_assert_eq(r.reply_type, AMQP_RESPONSE_NORMAL, "read_message");
	body = malloc(msg.body.len + 1);
	cr_assert(body != NULL);
	if (msg.body.len > 0)
		memcpy(body, msg.body.bytes, msg.body.len);
	body[msg.body.len] = '\0';
	if (props != NULL)
		*props = msg.properties;
	/* The message pool would be freed here; the properties must stay
	 * readable for the caller, so it is left to the connection. */
	if (props == NULL)
		amqp_destroy_message(&msg);
	return body;
}

void
ut_expect_get(amqp_connection_state_t c, amqp_channel_t ch, const char *queue,
    const char *want)
{
	char *got;

	got = ut_get(c, ch, queue, true, NULL, NULL);
	cr_assert(got != NULL, "get-empty from %s, wanted '%s'", queue, want);
	cr_assert_str_eq(got, want);
	free(got);
}

void
ut_expect_empty(amqp_connection_state_t c, amqp_channel_t ch,
    const char *queue)
{
	char *got;

	got = ut_get(c, ch, queue, true, NULL, NULL);
	cr_assert(got == NULL, "wanted get-empty from %s, got '%s'", queue,
	    got);
}

void
ut_counts(amqp_connection_state_t c, amqp_channel_t ch, const char *queue,
    uint32_t *messages, uint32_t *consumers)
{
	amqp_queue_declare_ok_t *ok;

	ok = amqp_queue_declare(c, ch, amqp_cstring_bytes(queue), 1, 0, 0, 0,
	    amqp_empty_table);
	ut_ok(c, "passive queue.declare");
	cr_assert(ok != NULL);
	if (messages != NULL)
		*messages = ok->message_count;
	if (consumers != NULL)
		*consumers = ok->consumer_count;
}

uint32_t
ut_count(amqp_connection_state_t c, amqp_channel_t ch, const char *queue)
{
	uint32_t n;

	ut_counts(c, ch, queue, &n, NULL);
	return n;
}

uint32_t
ut_count_wait(amqp_connection_state_t c, amqp_channel_t ch, const char *queue,
    uint32_t want, int ms)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	uint32_t n;

	for (;;) {
		n = ut_count(c, ch, queue);
		if (n == want || ms <= 0)
			return n;
		nanosleep(&ts, NULL);
		ms -= 20;
	}
}

/* Runs a passive declare on the probe channel; true when it succeeded. */
static bool
probe(amqp_connection_state_t c, bool queue, const char *name)
{
	amqp_rpc_reply_t r;
	amqp_channel_close_ok_t cok;
	amqp_channel_close_t *cl;

	ut_channel(c, UT_PROBE_CHANNEL);
	if (queue)
		amqp_queue_declare(c, UT_PROBE_CHANNEL,
		    amqp_cstring_bytes(name), 1, 0, 0, 0, amqp_empty_table);
	else
		amqp_exchange_declare(c, UT_PROBE_CHANNEL,
		    amqp_cstring_bytes(name), amqp_cstring_bytes("direct"),
		    1, 0, 0, 0, amqp_empty_table);
	r = amqp_get_rpc_reply(c);
	if (r.reply_type == AMQP_RESPONSE_NORMAL) {
		r = amqp_channel_close(c, UT_PROBE_CHANNEL,
		    AMQP_REPLY_SUCCESS);
		cr_assert_eq(r.reply_type, AMQP_RESPONSE_NORMAL);
		return true;
	}
	cr_assert_eq(r.reply_type, AMQP_RESPONSE_SERVER_EXCEPTION);
	cr_assert_eq(r.reply.id, AMQP_CHANNEL_CLOSE_METHOD);
	cl = r.reply.decoded;
	cr_assert_eq(cl->reply_code, AMQP_NOT_FOUND);
	memset(&cok, 0, sizeof(cok));
	cr_assert_eq(amqp_send_method(c, UT_PROBE_CHANNEL,
	    AMQP_CHANNEL_CLOSE_OK_METHOD, &cok), AMQP_STATUS_OK);
	return false;
}

bool
ut_queue_exists(amqp_connection_state_t c, const char *queue)
{
	return probe(c, true, queue);
}

bool
ut_exchange_exists(amqp_connection_state_t c, const char *exchange)
{
	return probe(c, false, exchange);
}

bool
ut_queue_exists_wait(amqp_connection_state_t c, const char *queue, bool want,
    int ms)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	bool got;

	for (;;) {
		got = ut_queue_exists(c, queue);
		if (got == want || ms <= 0)
			return got;
		nanosleep(&ts, NULL);
		ms -= 20;
	}
}

amqp_rpc_reply_t
ut_sync(amqp_connection_state_t c, amqp_channel_t ch)
{
	amqp_exchange_declare(c, ch, amqp_cstring_bytes("amq.direct"),
	    amqp_cstring_bytes("direct"), 1, 0, 0, 0, amqp_empty_table);
	return amqp_get_rpc_reply(c);
}

int
ut_wait_frame(amqp_connection_state_t c, amqp_frame_t *f, int ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return amqp_simple_wait_frame_noblock(c, f, &tv);
}

int
ut_consume(amqp_connection_state_t c, amqp_envelope_t *env, int ms)
{
	amqp_rpc_reply_t r;
	struct timeval tv;

	amqp_maybe_release_buffers(c);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	r = amqp_consume_message(c, env, &tv, 0);
	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return 1;
	cr_assert_eq(r.reply_type, AMQP_RESPONSE_LIBRARY_EXCEPTION,
	    "consume_message reply_type %d", r.reply_type);
	if (r.library_error == AMQP_STATUS_TIMEOUT)
		return 0;
	cr_assert_eq(r.library_error, AMQP_STATUS_UNEXPECTED_STATE,
	    "consume_message: %s", amqp_error_string2(r.library_error));
	return -1;
}

uint64_t
ut_expect_delivery(amqp_connection_state_t c, const char *want)
{
	amqp_envelope_t env;
	uint64_t tag;
	int rc;

	rc = ut_consume(c, &env, 5000);
	cr_assert_eq(rc, 1, "no delivery of '%s' (%d)", want, rc);
	cr_assert_eq(env.message.body.len, strlen(want), "body length %zu "
	    "for '%s'", env.message.body.len, want);
	cr_assert(memcmp(env.message.body.bytes, want, strlen(want)) == 0,
	    "body '%.*s' want '%s'", (int)env.message.body.len,
	    (char *)env.message.body.bytes, want);
	tag = env.delivery_tag;
	amqp_destroy_envelope(&env);
	return tag;
}

void
ut_confirm_select(amqp_connection_state_t c, amqp_channel_t ch)
{
	amqp_confirm_select(c, ch);
	ut_ok(c, "confirm.select");
}

void
ut_confirm_wait(amqp_connection_state_t c, amqp_channel_t ch, uint64_t last)
{
	amqp_basic_ack_t *ack;
	amqp_frame_t f;
	uint64_t next = 1;
	int rc;

	while (next <= last) {
		rc = ut_wait_frame(c, &f, 5000);
		cr_assert_eq(rc, AMQP_STATUS_OK, "waiting for confirm %llu: "
		    "%s", (unsigned long long)next, amqp_error_string2(rc));
		if (f.frame_type != AMQP_FRAME_METHOD || f.channel != ch)
			continue;
		cr_assert_eq(f.payload.method.id, AMQP_BASIC_ACK_METHOD,
		    "wanted basic.ack, got method 0x%08x",
		    f.payload.method.id);
		ack = f.payload.method.decoded;
		if (ack->multiple)
			cr_assert_geq(ack->delivery_tag, next);
		else
			cr_assert_eq(ack->delivery_tag, next);
		next = ack->delivery_tag + 1;
	}
}

char *
ut_consume_start(amqp_connection_state_t c, amqp_channel_t ch,
    const char *queue, const char *tag, bool no_ack, bool exclusive)
{
	amqp_basic_consume_ok_t *ok;

	ok = amqp_basic_consume(c, ch, amqp_cstring_bytes(queue),
	    tag ? amqp_cstring_bytes(tag) : amqp_empty_bytes, 0, no_ack,
	    exclusive, amqp_empty_table);
	ut_ok(c, "basic.consume");
	return ut_str_of(ok->consumer_tag);
}

amqp_table_entry_t
ut_str(const char *key, const char *val)
{
	amqp_table_entry_t e;

	e.key = amqp_cstring_bytes(key);
	e.value.kind = AMQP_FIELD_KIND_UTF8;
	e.value.value.bytes = amqp_cstring_bytes(val);
	return e;
}

amqp_table_entry_t
ut_i32(const char *key, int32_t val)
{
	amqp_table_entry_t e;

	e.key = amqp_cstring_bytes(key);
	e.value.kind = AMQP_FIELD_KIND_I32;
	e.value.value.i32 = val;
	return e;
}

amqp_table_t
ut_table(amqp_table_entry_t *entries, int n)
{
	amqp_table_t t;

	t.num_entries = n;
	t.entries = entries;
	return t;
}

char *
ut_str_of(amqp_bytes_t b)
{
	char *s;

	s = malloc(b.len + 1);
	cr_assert(s != NULL);
	if (b.len > 0)
		memcpy(s, b.bytes, b.len);
	s[b.len] = '\0';
	return s;
}
