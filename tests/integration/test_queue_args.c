/*
 * queue.declare arguments: RabbitMQ's validation and reasons word for
 * word, and x-expires (a queue unused for its lease is deleted; a
 * consumer, a declare or a basic.get keeps it). Runs against RabbitMQ
 * with WARREN_TEST_URL.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

TestSuite(queue_args, .timeout = 60);

static struct hbroker	b;

enum vkind { V_INT, V_STR, V_BOOL };

static const struct {
	const char	*key;
	enum vkind	 kind;
	int64_t		 i;
	const char	*s;
	bool		 with_dlx;	/* also send x-dead-letter-exchange */
	const char	*reason;	/* NULL: accepted */
} cases[] = {
	{ "x-expires", V_INT, 0, NULL, false, "{value_zero,0}" },
	{ "x-expires", V_INT, -1, NULL, false, "{value_negative,-1}" },
	{ "x-expires", V_STR, 0, "10", false,
	    "\"expected integer, got longstr\"" },
	{ "x-expires", V_INT, 1099511627776LL, NULL, false,
	    "{value_too_large,1099511627776}" },
	{ "x-expires", V_INT, 315360000000LL, NULL, false, NULL },
	{ "x-expires", V_INT, 315360000001LL, NULL, false,
	    "{value_too_large,315360000001}" },
	{ "x-message-ttl", V_INT, 0, NULL, false, NULL },
	{ "x-message-ttl", V_INT, -5, NULL, false, "{value_negative,-5}" },
	{ "x-message-ttl", V_INT, 315360000001LL, NULL, false,
	    "{value_too_large,315360000001}" },
	{ "x-max-length", V_INT, -1, NULL, false, "{value_negative,-1}" },
	{ "x-max-length", V_STR, 0, "x", false,
	    "\"expected integer, got longstr\"" },
	{ "x-max-length-bytes", V_INT, -2, NULL, false,
	    "{value_negative,-2}" },
	{ "x-max-priority", V_INT, 256, NULL, false,
	    "{max_value_exceeded,256}" },
	{ "x-max-priority", V_INT, 255, NULL, false, NULL },
	{ "x-overflow", V_STR, 0, "bogus", false, "invalid_overflow" },
	{ "x-overflow", V_INT, 5, NULL, false,
	    "{unacceptable_type,long}" },
	{ "x-dead-letter-exchange", V_INT, 5, NULL, false, "" },
	{ "x-dead-letter-routing-key", V_STR, 0, "k", false,
	    "routing_key_but_no_dlx_defined" },
	{ "x-dead-letter-routing-key", V_STR, 0, "k", true, NULL },
	{ "x-single-active-consumer", V_STR, 0, "yes", false,
	    "{unacceptable_type,longstr}" },
	{ "x-single-active-consumer", V_BOOL, 1, NULL, false, NULL },
};

Test(queue_args, rabbitmq_validation_and_reasons)
{
	amqp_connection_state_t	c;

	hb_start(&b, NULL);
	c = hb_connect(&b);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		amqp_table_entry_t	e[2];
		amqp_table_t		t = { 1, e };
		const char		*q = hb_name("qa");
		amqp_rpc_reply_t	r;
		char			want[512];

		e[0].key = amqp_cstring_bytes(cases[i].key);
		switch (cases[i].kind) {
		case V_INT:
			e[0].value.kind = AMQP_FIELD_KIND_I64;
			e[0].value.value.i64 = cases[i].i;
			break;
		case V_STR:
			e[0].value.kind = AMQP_FIELD_KIND_UTF8;
			e[0].value.value.bytes = amqp_cstring_bytes(cases[i].s);
			break;
		case V_BOOL:
			e[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
			e[0].value.value.boolean = (amqp_boolean_t)cases[i].i;
			break;
		}
		if (cases[i].with_dlx) {
			e[1].key = amqp_cstring_bytes("x-dead-letter-exchange");
			e[1].value.kind = AMQP_FIELD_KIND_UTF8;
			e[1].value.value.bytes = amqp_cstring_bytes("dlx");
			t.num_entries = 2;
		}
		amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 0, 0, 1, t);
		r = amqp_get_rpc_reply(c);
		if (cases[i].reason == NULL) {
			cr_assert_eq(r.reply_type, AMQP_RESPONSE_NORMAL,
			    "case %zu (%s) refused", i, cases[i].key);
			amqp_queue_delete(c, 1, amqp_cstring_bytes(q), 0, 0);
			cr_assert_eq(amqp_get_rpc_reply(c).reply_type,
			    AMQP_RESPONSE_NORMAL);
			continue;
		}
		cr_assert_neq(r.reply_type, AMQP_RESPONSE_NORMAL,
		    "case %zu (%s) accepted", i, cases[i].key);
		/* compat: the exchange's type is checked first, apart. */
		if (cases[i].reason[0] == '\0')
			snprintf(want, sizeof(want), "PRECONDITION_FAILED - "
			    "invalid type 'long' for arg '%s' in queue '%s' in "
			    "vhost '/'", cases[i].key, q);
		else
			snprintf(want, sizeof(want), "PRECONDITION_FAILED - "
			    "invalid arg '%s' for queue '%s' in vhost '/': %s",
			    cases[i].key, q, cases[i].reason);
		{
			const char *got = hb_expect_close(c, r, false, 406);

			cr_assert_str_eq(got, want, "case %zu: got '%s'", i,
			    got);
		}
		cr_assert_not_null(amqp_channel_open(c, 1));
	}
	hb_close(c);
	hb_stop(&b);
}

static void
declare_expiring(amqp_connection_state_t c, const char *q, int ms,
    bool durable)
{
	amqp_table_entry_t	e;
	amqp_table_t		t = { 1, &e };

	e.key = amqp_cstring_bytes("x-expires");
	e.value.kind = AMQP_FIELD_KIND_I32;
	e.value.value.i32 = ms;
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, durable, 0, 0, t);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
}

/* Whether q exists (a passive declare; reopens channel 1 after a 404). */
static bool
exists(amqp_connection_state_t c, const char *q)
{
	amqp_rpc_reply_t	r;

	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 1, 0, 0, 0,
	    amqp_empty_table);
	r = amqp_get_rpc_reply(c);
	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return true;
	cr_assert_eq(hb_expect_close(c, r, false, 404)[0], 'N');
	cr_assert_not_null(amqp_channel_open(c, 1));
	return false;
}

Test(queue_args, x_expires_deletes_an_unused_queue)
{
	amqp_connection_state_t	 c, o;
	const char		*idle = strdup(hb_name("idle"));
	const char		*used = strdup(hb_name("used"));
	const char		*got = strdup(hb_name("got"));

	hb_start(&b, NULL);
	c = hb_connect(&b);
	o = hb_connect(&b);
	declare_expiring(c, idle, 400, false);
	declare_expiring(c, used, 400, false);
	declare_expiring(c, got, 400, false);
	cr_assert_not_null(amqp_basic_consume(o, 1, amqp_cstring_bytes(used),
	    amqp_empty_bytes, 0, 1, 0, amqp_empty_table));
	/* basic.get every 150 ms keeps "got" for 900 ms. */
	for (int i = 0; i < 6; i++) {
		usleep(150 * 1000);
		amqp_basic_get(c, 1, amqp_cstring_bytes(got), 1);
		cr_assert_eq(amqp_get_rpc_reply(c).reply_type,
		    AMQP_RESPONSE_NORMAL);
	}
	cr_assert_not(exists(c, idle), "unused queue still there");
	cr_assert(exists(c, used), "a queue with a consumer expired");
	cr_assert(exists(c, got), "basic.get did not renew the lease");
	/* The consumer's connection goes: the countdown starts. */
	hb_close(o);
	usleep(800 * 1000);
	cr_assert_not(exists(c, used), "no expiry after the last consumer");
	cr_assert_not(exists(c, got), "expired queue still there");
	hb_close(c);
	hb_stop(&b);
}

Test(queue_args, x_expires_of_a_durable_queue_runs_again_after_restart)
{
	amqp_connection_state_t	 c;
	const char		*q = strdup(hb_name("dexp"));

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = hb_connect(&b);
	declare_expiring(c, q, 700, true);
	hb_close(c);
	cr_assert_eq(hb_halt(&b, SIGTERM), 0);
	hb_restart(&b, NULL);
	c = hb_connect(&b);
	cr_assert(exists(c, q), "gone before its lease ran out");
	usleep(1200 * 1000);
	cr_assert_not(exists(c, q), "durable queue did not expire");
	hb_close(c);
	/* Its deletion was stored. */
	cr_assert_eq(hb_halt(&b, SIGTERM), 0);
	hb_restart(&b, NULL);
	c = hb_connect(&b);
	cr_assert_not(exists(c, q), "expired queue back after a restart");
	hb_close(c);
	hb_stop(&b);
}

/* basic.consume with x-priority p, prefetch 2 on its own channel. */
static void
consume_prio(amqp_connection_state_t c, amqp_channel_t ch, const char *q,
    const char *tag, int64_t p)
{
	amqp_table_entry_t	e;
	amqp_table_t		t = { 1, &e };

	e.key = amqp_cstring_bytes("x-priority");
	e.value.kind = AMQP_FIELD_KIND_I64;
	e.value.value.i64 = p;
	cr_assert_not_null(amqp_channel_open(c, ch));
	amqp_basic_qos(c, ch, 0, 2, 0);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	cr_assert_not_null(amqp_basic_consume(c, ch, amqp_cstring_bytes(q),
	    amqp_cstring_bytes(tag), 0, 0, 0, t));
}

Test(queue_args, consumer_priorities_serve_the_highest_with_credit_first)
{
	amqp_connection_state_t	 c, p;
	amqp_envelope_t		 env;
	struct timeval		 tv = { 2, 0 };
	const char		*q = strdup(hb_name("prio"));
	int			 high = 0, low = 0;
	char			 body[8];

	hb_start(&b, NULL);
	c = hb_connect(&b);
	p = hb_connect(&b);
	cr_assert_not_null(amqp_queue_declare(p, 1, amqp_cstring_bytes(q), 0,
	    0, 0, 1, amqp_empty_table));
	consume_prio(c, 2, q, "low", 1);
	consume_prio(c, 3, q, "high", 10);
	for (int i = 0; i < 6; i++) {
		snprintf(body, sizeof(body), "%d", i);
		cr_assert_eq(amqp_basic_publish(p, 1, amqp_empty_bytes,
		    amqp_cstring_bytes(q), 0, 0, NULL,
		    amqp_cstring_bytes(body)), 0);
	}
	/* high takes 0 and 1 (its prefetch), low then 2 and 3. */
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(amqp_consume_message(c, &env, &tv, 0).reply_type,
		    AMQP_RESPONSE_NORMAL, "delivery %d", i);
		if (env.consumer_tag.len == 4) {
			cr_assert(*(char *)env.message.body.bytes == '0' + high,
			    "high got '%.*s'", (int)env.message.body.len,
			    (char *)env.message.body.bytes);
			high++;
		} else {
			cr_assert(*(char *)env.message.body.bytes ==
			    '2' + low, "low got '%.*s'",
			    (int)env.message.body.len,
			    (char *)env.message.body.bytes);
			low++;
		}
		amqp_destroy_envelope(&env);
	}
	cr_assert_eq(high, 2);
	cr_assert_eq(low, 2);
	hb_close(c);
	hb_close(p);
	hb_stop(&b);
}

Test(queue_args, x_priority_must_be_an_integer)
{
	amqp_connection_state_t	 c;
	amqp_table_entry_t	 e;
	amqp_table_t		 t = { 1, &e };
	const char		*q = strdup(hb_name("xp"));
	char			 want[300];

	hb_start(&b, NULL);
	c = hb_connect(&b);
	cr_assert_not_null(amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0,
	    0, 0, 1, amqp_empty_table));
	e.key = amqp_cstring_bytes("x-priority");
	e.value.kind = AMQP_FIELD_KIND_UTF8;
	e.value.value.bytes = amqp_cstring_bytes("high");
	amqp_basic_consume(c, 1, amqp_cstring_bytes(q), amqp_empty_bytes, 0,
	    0, 0, t);
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - invalid arg "
	    "'x-priority' for queue '%s' in vhost '/': \"expected integer, "
	    "got longstr\"", q);
	cr_assert_str_eq(hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    406), want);
	hb_close(c);
	hb_stop(&b);
}

static void
publish_ttl(amqp_connection_state_t c, const char *q, const char *body,
    const char *expiration, bool persistent)
{
	amqp_basic_properties_t	p = ut_props(expiration, persistent);

	cr_assert_eq(amqp_basic_publish(c, 1, amqp_empty_bytes,
	    amqp_cstring_bytes(q), 0, 0, &p, amqp_cstring_bytes(body)), 0);
}

static uint32_t
ready_count(amqp_connection_state_t c, const char *q)
{
	amqp_queue_declare_ok_t	*ok = amqp_queue_declare(c, 1,
	    amqp_cstring_bytes(q), 1, 0, 0, 0, amqp_empty_table);

	cr_assert_not_null(ok, "passive declare of %s", q);
	return ok->message_count;
}

static void
expect_get(amqp_connection_state_t c, const char *q, const char *want)
{
	amqp_rpc_reply_t	r;
	amqp_message_t		m;

	amqp_basic_get(c, 1, amqp_cstring_bytes(q), 1);
	r = amqp_get_rpc_reply(c);
	cr_assert_eq(r.reply_type, AMQP_RESPONSE_NORMAL);
	if (want == NULL) {
		cr_assert_eq(r.reply.id, AMQP_BASIC_GET_EMPTY_METHOD);
		return;
	}
	cr_assert_eq(r.reply.id, AMQP_BASIC_GET_OK_METHOD, "%s empty", q);
	cr_assert_eq(amqp_read_message(c, 1, &m, 0).reply_type,
	    AMQP_RESPONSE_NORMAL);
	cr_assert(m.body.len == strlen(want) &&
	    memcmp(m.body.bytes, want, m.body.len) == 0, "got '%.*s'",
	    (int)m.body.len, (char *)m.body.bytes);
	amqp_destroy_message(&m);
}

Test(queue_args, expiration_property_is_checked_as_rabbitmq_does)
{
	static const struct {
		const char	*v, *reason;
	} bad[] = {
		{ "abc", "no_integer" },
		{ "-1", "{value_negative,-1}" },
		{ "1.5", "{leftover_string,\".5\"}" },
		{ "", "no_integer" },
		{ "315360000001", "{value_too_large,315360000001}" },
	};
	amqp_connection_state_t	 c;
	const char		*q = strdup(hb_name("expq"));
	char			 want[200];

	hb_start(&b, NULL);
	c = hb_connect(&b);
	cr_assert_not_null(amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0,
	    0, 0, 1, amqp_empty_table));
	publish_ttl(c, q, "queued before", "60000", false);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		publish_ttl(c, q, "x", bad[i].v, false);
		amqp_basic_qos(c, 1, 0, 1, 0);
		snprintf(want, sizeof(want), "PRECONDITION_FAILED - invalid "
		    "expiration '%s': %s", bad[i].v, bad[i].reason);
		cr_assert_str_eq(hb_expect_close(c, amqp_get_rpc_reply(c),
		    false, 406), want);
		cr_assert_not_null(amqp_channel_open(c, 1));
	}
	cr_assert_eq(ready_count(c, q), 1, "a refused message was queued, "
	    "or the one queued before was touched");
	hb_close(c);
	hb_stop(&b);
}

Test(queue_args, expired_messages_are_dropped_from_an_idle_queue)
{
	amqp_connection_state_t	 c;
	amqp_table_entry_t	 e;
	amqp_table_t		 t = { 1, &e };
	const char		*q = strdup(hb_name("ttlq"));
	const char		*qq = strdup(hb_name("qttl"));

	hb_start(&b, NULL);
	c = hb_connect(&b);
	/* Per message: the short-lived head goes, the rest stays. */
	cr_assert_not_null(amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0,
	    0, 0, 1, amqp_empty_table));
	publish_ttl(c, q, "short", "150", false);
	publish_ttl(c, q, "keep", NULL, false);
	usleep(500 * 1000);
	cr_assert_eq(ready_count(c, q), 1, "expired head not dropped");
	expect_get(c, q, "keep");
	/* Per queue (x-message-ttl), and the shorter of the two wins. */
	e.key = amqp_cstring_bytes("x-message-ttl");
	e.value.kind = AMQP_FIELD_KIND_I32;
	e.value.value.i32 = 300;
	cr_assert_not_null(amqp_queue_declare(c, 1, amqp_cstring_bytes(qq),
	    0, 0, 0, 1, t));
	publish_ttl(c, qq, "a", NULL, false);
	publish_ttl(c, qq, "b", "100000", false);
	usleep(100 * 1000);
	expect_get(c, qq, "a");
	usleep(500 * 1000);
	cr_assert_eq(ready_count(c, qq), 0, "queue TTL not applied");
	expect_get(c, qq, NULL);
	hb_close(c);
	hb_stop(&b);
}

Test(queue_args, ttl_zero_reaches_only_a_waiting_consumer)
{
	amqp_connection_state_t	 c, p;
	amqp_envelope_t		 env;
	struct timeval		 tv = { 2, 0 };
	const char		*q = strdup(hb_name("ttl0"));

	hb_start(&b, NULL);
	c = hb_connect(&b);
	p = hb_connect(&b);
	cr_assert_not_null(amqp_queue_declare(p, 1, amqp_cstring_bytes(q), 0,
	    0, 0, 1, amqp_empty_table));
	publish_ttl(p, q, "nobody", "0", false);
	usleep(200 * 1000);
	cr_assert_eq(ready_count(p, q), 0, "TTL 0 kept with no consumer");
	cr_assert_not_null(amqp_basic_consume(c, 1, amqp_cstring_bytes(q),
	    amqp_empty_bytes, 0, 1, 0, amqp_empty_table));
	publish_ttl(p, q, "taken", "0", false);
	cr_assert_eq(amqp_consume_message(c, &env, &tv, 0).reply_type,
	    AMQP_RESPONSE_NORMAL, "TTL 0 not delivered to a waiting consumer");
	cr_assert_eq(env.message.body.len, 5);
	amqp_destroy_envelope(&env);
	hb_close(c);
	hb_close(p);
	hb_stop(&b);
}

Test(queue_args, message_deadlines_survive_a_restart)
{
	amqp_connection_state_t	 c;
	const char		*q = strdup(hb_name("dttl"));

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = hb_connect(&b);
	cr_assert_not_null(amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0,
	    1, 0, 0, amqp_empty_table));
	publish_ttl(c, q, "soon", "1500", true);
	publish_ttl(c, q, "later", "600000", true);
	cr_assert_eq(ready_count(c, q), 2);
	hb_close(c);
	/* kill -9: the deadlines are on disk with the entries. */
	cr_assert_eq(hb_halt(&b, SIGKILL), 128 + SIGKILL);
	hb_restart(&b, NULL);
	c = hb_connect(&b);
	cr_assert_eq(ready_count(c, q), 2, "lost across the restart");
	usleep(2000 * 1000);
	cr_assert_eq(ready_count(c, q), 1, "deadline forgotten by a restart");
	expect_get(c, q, "later");
	hb_close(c);
	hb_stop(&b);
}
