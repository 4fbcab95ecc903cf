/*
 * x-max-length-bytes end to end, each expectation first checked on
 * RabbitMQ 3.10: only the ready messages' body bytes count (not their
 * properties, not unacked ones); drop-head drops from the head until the
 * queue fits (a body over the limit included, dead-lettered with reason
 * maxlen); reject-publish and reject-publish-dlx refuse a publish that
 * would pass the limit (nack, and the dead-letter for -dlx); with
 * x-max-length, whichever limit is passed acts; a requeue past the limit
 * drops from the head; the max-length-bytes policy and operator policy
 * key, the smallest value winning, applied at once to a queue with
 * messages; the limit and the byte count across a restart and a kill
 * -9, a policy's trim too (the restarts: warrend only); and RabbitMQ's
 * wording for bad arguments and policy values.
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

#define GUEST	"guest:guest"

TestSuite(max_length_bytes, .init = ut_setup, .fini = ut_teardown,
    .timeout = 60);

/*
 * Declares q with x-max-length-bytes bytes (and x-max-length maxlen when
 * >= 0, x-overflow when not NULL), dead-lettering to the queue dlq
 * through the default exchange when dlq is not NULL.
 */
static void
declare(amqp_connection_state_t c, const char *q, int bytes, int maxlen,
    const char *overflow, const char *dlq, bool durable)
{
	amqp_table_entry_t e[5];
	int n = 0;

	if (bytes >= 0)
		e[n++] = ut_i32("x-max-length-bytes", bytes);
	if (maxlen >= 0)
		e[n++] = ut_i32("x-max-length", maxlen);
	if (overflow != NULL)
		e[n++] = ut_str("x-overflow", overflow);
	if (dlq != NULL) {
		e[n++] = ut_str("x-dead-letter-exchange", "");
		e[n++] = ut_str("x-dead-letter-routing-key", dlq);
	}
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, durable, 0, 0,
	    ut_table(e, n));
	ut_ok(c, "declare");
}

static void
publish(amqp_connection_state_t c, const char *q, const char *body,
    bool persistent)
{
	amqp_basic_properties_t p;

	memset(&p, 0, sizeof(p));
	if (persistent) {
		p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
		p.delivery_mode = 2;
	}
	cr_assert_eq(amqp_basic_publish(c, 1, amqp_empty_bytes,
	    amqp_cstring_bytes(q), 0, 0, &p, amqp_cstring_bytes(body)), 0);
}

/* The confirm of the last publish on channel 1: 1 ack, 0 nack. */
static int
confirm_of(amqp_connection_state_t c)
{
	amqp_frame_t f;

	for (;;) {
		cr_assert_eq(ut_wait_frame(c, &f, 5000), AMQP_STATUS_OK,
		    "no confirm");
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		if (f.payload.method.id == AMQP_BASIC_ACK_METHOD)
			return 1;
		if (f.payload.method.id == AMQP_BASIC_NACK_METHOD)
			return 0;
	}
}

static const amqp_table_entry_t *
entry_of(const amqp_table_t *t, const char *key)
{
	for (int i = 0; i < t->num_entries; i++)
		if (t->entries[i].key.len == strlen(key) &&
		    memcmp(t->entries[i].key.bytes, key, strlen(key)) == 0)
			return &t->entries[i];
	return NULL;
}

/* The first x-death reason of a dead-lettered message, or "". */
static const char *
death_reason(const amqp_basic_properties_t *p)
{
	const amqp_table_entry_t *xd, *r;
	const amqp_table_t *d;

	if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG) ||
	    (xd = entry_of(&p->headers, "x-death")) == NULL ||
	    xd->value.kind != AMQP_FIELD_KIND_ARRAY ||
	    xd->value.value.array.num_entries < 1)
		return "";
	d = &xd->value.value.array.entries[0].value.table;
	if ((r = entry_of(d, "reason")) == NULL)
		return "";
	return ut_str_of(r->value.value.bytes);
}

/*
 * Takes every message of q (no-ack): their bodies joined with ',', each
 * followed by "!reason" when with_reason (the dead-letter queue).
 */
static const char *
drain(amqp_connection_state_t c, const char *q, bool with_reason)
{
	static char out[4096];
	amqp_basic_properties_t p;
	size_t n = 0;
	char *b;

	out[0] = '\0';
	while ((b = ut_get(c, 1, q, true, NULL, &p)) != NULL) {
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s%s%s",
		    n > 0 ? "," : "", b, with_reason ? "!" : "",
		    with_reason ? death_reason(&p) : "");
		free(b);
		cr_assert_lt(n, sizeof(out));
	}
	return out;
}

static void
is(const char *got, const char *want)
{
	cr_assert_str_eq(got, want, "\n  got: '%s'\n want: '%s'", got, want);
}

/* One HTTP request as guest; asserts the status, returns the body. */
static const char *
call(const char *method, const char *path, const char *body, int want)
{
	return hb_http_call(&ut_broker, GUEST, method, path, body, want);
}

static void
need_admin(void)
{
	if (ut_broker.admin_port == 0)
		cr_skip_test("no admin port for the external broker");
}

static char *
dead_letter_queue(amqp_connection_state_t c)
{
	return ut_queue(c, 1, "mbdlq");
}

Test(max_length_bytes, drop_head)
{
	amqp_connection_state_t c = ut_connect();
	char *dlq = dead_letter_queue(c);
	const char *q = hb_name("mbdh"), *q2 = hb_name("mbdh2"),
	    *q0 = hb_name("mbdh0"), *qh = hb_name("mbdhh");
	amqp_table_entry_t h = ut_str("big", "0123456789012345678901234");
	amqp_basic_properties_t p = { ._flags = AMQP_BASIC_HEADERS_FLAG,
	    .headers = { 1, &h } };

	/* 10 bytes hold two 4-byte bodies: the oldest goes. */
	declare(c, q, 10, -1, NULL, dlq, false);
	publish(c, q, "aaaa", false);
	publish(c, q, "bbbb", false);
	publish(c, q, "cccc", false);
	ut_sync(c, 1);
	is(drain(c, q, false), "bbbb,cccc");
	is(drain(c, dlq, true), "aaaa!maxlen");

	/* A body over the limit is dropped, and whatever was before it. */
	declare(c, q2, 10, -1, NULL, dlq, false);
	publish(c, q2, "aaaa", false);
	publish(c, q2, "xxxxxxxxxxx", false);
	ut_sync(c, 1);
	is(drain(c, q2, false), "");
	is(drain(c, dlq, true), "aaaa!maxlen,xxxxxxxxxxx!maxlen");

	/* A zero limit holds empty bodies only. */
	declare(c, q0, 0, -1, NULL, dlq, false);
	publish(c, q0, "a", false);
	publish(c, q0, "", false);
	publish(c, q0, "", false);
	ut_sync(c, 1);
	cr_assert_eq(ut_count_wait(c, 1, q0, 2, 2000), 2);
	is(drain(c, dlq, true), "a!maxlen");

	/* Properties and headers do not count. */
	declare(c, qh, 10, -1, NULL, NULL, false);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(amqp_basic_publish(c, 1, amqp_empty_bytes,
		    amqp_cstring_bytes(qh), 0, 0, &p,
		    amqp_cstring_bytes("hhhh")), 0);
	ut_sync(c, 1);
	cr_assert_eq(ut_count_wait(c, 1, qh, 2, 2000), 2);
	hb_close(c);
}

/* reject-publish: a publish that would pass the limit is nacked. */
static void
rejects(const char *overflow, bool dead_letters)
{
	amqp_connection_state_t c = ut_connect();
	char *dlq = dead_letter_queue(c);
	const char *q = hb_name("mbrp"), *q0 = hb_name("mbrp0"),
	    *qo = hb_name("mbrpo");

	ut_confirm_select(c, 1);
	declare(c, q, 10, -1, overflow, dlq, false);
	publish(c, q, "aaaa", false);
	cr_assert_eq(confirm_of(c), 1);
	publish(c, q, "bbbb", false);
	cr_assert_eq(confirm_of(c), 1);
	/* 12 bytes would pass 10: refused, not stored past the limit. */
	publish(c, q, "cccc", false);
	cr_assert_eq(confirm_of(c), 0, "a publish past the bytes acked");
	publish(c, q, "dd", false);
	cr_assert_eq(confirm_of(c), 1, "a body that fits was refused");
	is(drain(c, q, false), "aaaa,bbbb,dd");
	is(drain(c, dlq, true), dead_letters ? "cccc!maxlen" : "");

	/* A body over the limit, into an empty queue. */
	declare(c, qo, 10, -1, overflow, dlq, false);
	publish(c, qo, "xxxxxxxxxxx", false);
	cr_assert_eq(confirm_of(c), 0);
	publish(c, qo, "a", false);
	cr_assert_eq(confirm_of(c), 1);
	is(drain(c, qo, false), "a");
	is(drain(c, dlq, true), dead_letters ? "xxxxxxxxxxx!maxlen" : "");

	/* A zero limit takes empty bodies. */
	declare(c, q0, 0, -1, overflow, dlq, false);
	publish(c, q0, "", false);
	cr_assert_eq(confirm_of(c), 1);
	publish(c, q0, "a", false);
	cr_assert_eq(confirm_of(c), 0);
	cr_assert_eq(ut_count(c, 1, q0), 1);
	is(drain(c, dlq, true), dead_letters ? "a!maxlen" : "");
	hb_close(c);
}

Test(max_length_bytes, reject_publish)
{
	rejects("reject-publish", false);
}

Test(max_length_bytes, reject_publish_dlx)
{
	rejects("reject-publish-dlx", true);
}

/* Without confirms, a refused publish is dropped: the channel lives. */
Test(max_length_bytes, reject_publish_without_confirms)
{
	amqp_connection_state_t c = ut_connect();
	const char *q = hb_name("mbrpn");

	declare(c, q, 5, -1, "reject-publish", NULL, false);
	publish(c, q, "aaaa", false);
	publish(c, q, "bbbb", false);
	publish(c, q, "c", false);
	cr_assert_eq(ut_sync(c, 1).reply_type, AMQP_RESPONSE_NORMAL);
	is(drain(c, q, false), "aaaa,c");
	hb_close(c);
}

/* With x-max-length too, whichever limit is passed acts. */
Test(max_length_bytes, both_limits)
{
	amqp_connection_state_t c = ut_connect();
	char *dlq = dead_letter_queue(c);
	const char *qn = hb_name("mbbn"), *qb = hb_name("mbbb"),
	    *qr = hb_name("mbbr");

	declare(c, qn, 10, 2, NULL, dlq, false);
	publish(c, qn, "a", false);
	publish(c, qn, "b", false);
	publish(c, qn, "c", false);
	ut_sync(c, 1);
	is(drain(c, qn, false), "b,c");
	is(drain(c, dlq, true), "a!maxlen");

	declare(c, qb, 10, 5, NULL, dlq, false);
	publish(c, qb, "aaaa", false);
	publish(c, qb, "bbbb", false);
	publish(c, qb, "cccc", false);
	ut_sync(c, 1);
	is(drain(c, qb, false), "bbbb,cccc");
	is(drain(c, dlq, true), "aaaa!maxlen");

	ut_confirm_select(c, 1);
	declare(c, qr, 100, 2, "reject-publish", NULL, false);
	publish(c, qr, "a", false);
	cr_assert_eq(confirm_of(c), 1);
	publish(c, qr, "b", false);
	cr_assert_eq(confirm_of(c), 1);
	publish(c, qr, "c", false);
	cr_assert_eq(confirm_of(c), 0, "the count limit did not act");
	hb_close(c);
}

/*
 * Unacked messages do not count; requeued, one that makes the queue too
 * big drops from the head (itself, being first).
 */
Test(max_length_bytes, unacked_and_requeue)
{
	amqp_connection_state_t c = ut_connect();
	char *dlq = dead_letter_queue(c);
	const char *q = hb_name("mbua");
	amqp_basic_get_ok_t ok;
	char *b;

	declare(c, q, 10, -1, NULL, dlq, false);
	publish(c, q, "aaaa", false);
	publish(c, q, "bbbb", false);
	ut_sync(c, 1);
	b = ut_get(c, 1, q, false, &ok, NULL);
	cr_assert_str_eq(b, "aaaa");
	publish(c, q, "cccc", false);
	ut_sync(c, 1);
	cr_assert_eq(ut_count(c, 1, q), 2, "an unacked body counted");
	/* The management API shows the bytes as RabbitMQ does. */
	if (ut_broker.admin_port != 0 && !ut_broker.external) {
		char path[256];

		snprintf(path, sizeof(path), "/api/queues/%%2F/%s?columns="
		    "message_bytes,message_bytes_ready,"
		    "message_bytes_unacknowledged", q);
		is(call("GET", path, NULL, 200), "{\"message_bytes\":12,"
		    "\"message_bytes_ready\":8,"
		    "\"message_bytes_unacknowledged\":4}");
	}
	cr_assert_eq(amqp_basic_nack(c, 1, ok.delivery_tag, 0, 1), 0);
	ut_sync(c, 1);
	is(drain(c, q, false), "bbbb,cccc");
	is(drain(c, dlq, true), "aaaa!maxlen");
	if (ut_broker.admin_port != 0 && !ut_broker.external) {
		char path[256];

		snprintf(path, sizeof(path), "/api/queues/%%2F/%s?columns="
		    "message_bytes,message_bytes_ready,"
		    "message_bytes_unacknowledged", q);
		is(call("GET", path, NULL, 200), "{\"message_bytes\":0,"
		    "\"message_bytes_ready\":0,"
		    "\"message_bytes_unacknowledged\":0}");
	}
	hb_close(c);
}

/* A policy applies at once (drop-head trims), the smallest value wins. */
Test(max_length_bytes, policy)
{
	amqp_connection_state_t c;
	char *dlq;
	const char *q;
	char path[256];

	need_admin();
	c = ut_connect();
	dlq = dead_letter_queue(c);
	q = hb_name("mbpol");
	declare(c, q, 100, -1, NULL, dlq, false);
	publish(c, q, "aaaa", false);
	publish(c, q, "bbbb", false);
	publish(c, q, "cccc", false);
	ut_sync(c, 1);
	cr_assert_eq(ut_count(c, 1, q), 3);
	call("PUT", "/api/operator-policies/%2F/mbop", "{\"pattern\":"
	    "\"^mbpol\",\"definition\":{\"max-length-bytes\":8}}", 201);
	cr_assert_eq(ut_count(c, 1, q), 2, "the operator policy did not trim");
	call("PUT", "/api/policies/%2F/mbp", "{\"pattern\":\"^mbpol\","
	    "\"definition\":{\"max-length-bytes\":5}}", 201);
	cr_assert_eq(ut_count(c, 1, q), 1, "the policy did not trim");
	is(drain(c, dlq, true), "aaaa!maxlen,bbbb!maxlen");
	/* (RabbitMQ's management view of a new queue lags seconds.) */
	snprintf(path, sizeof(path), "/api/queues/%%2F/%s?columns=policy,"
	    "operator_policy,effective_policy_definition", q);
	if (!ut_broker.external)
		is(call("GET", path, NULL, 200), "{\"policy\":\"mbp\","
		    "\"operator_policy\":\"mbop\","
		    "\"effective_policy_definition\":"
		    "{\"max-length-bytes\":5}}");
	/* The policy gone, the operator's 8 holds (not the argument's). */
	call("DELETE", "/api/policies/%2F/mbp", NULL, 204);
	publish(c, q, "dddd", false);
	publish(c, q, "eeee", false);
	ut_sync(c, 1);
	is(drain(c, q, false), "dddd,eeee");
	is(drain(c, dlq, true), "cccc!maxlen");
	/* A larger policy value does not lift the operator's. */
	call("PUT", "/api/policies/%2F/mbp", "{\"pattern\":\"^mbpol\","
	    "\"definition\":{\"max-length-bytes\":1000}}", 201);
	publish(c, q, "ffff", false);
	publish(c, q, "gggg", false);
	publish(c, q, "hhhh", false);
	ut_sync(c, 1);
	is(drain(c, q, false), "gggg,hhhh");
	/* The policy's overflow with the policy's byte limit. */
	call("PUT", "/api/policies/%2F/mbp", "{\"pattern\":\"^mbpol\","
	    "\"definition\":{\"max-length-bytes\":4,"
	    "\"overflow\":\"reject-publish\"}}", 204);
	ut_confirm_select(c, 1);
	publish(c, q, "iiii", false);
	cr_assert_eq(confirm_of(c), 1);
	publish(c, q, "j", false);
	cr_assert_eq(confirm_of(c), 0);
	is(drain(c, q, false), "iiii");
	hb_close(c);
}

/* compat: RabbitMQ 3.10's reasons, word for word. */
Test(max_length_bytes, bad_policy_values)
{
	static const struct {
		const char *value, *shown, *shown_html;
	} bad[] = {
		{ "\"abc\"", "<<\\\"abc\\\">>",
		    "&lt;&lt;\\\"abc\\\"&gt;&gt;" },
		{ "-1", "-1", "-1" },
		{ "1.5", "1.5", "1.5" },
		{ "null", "null", "null" },
		{ "true", "true", "true" },
	};
	char body[256], want[512];

	need_admin();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{\"pattern\":\"^zz\","
		    "\"definition\":{\"max-length-bytes\":%s}}", bad[i].value);
		snprintf(want, sizeof(want), "{\"error\":\"bad_request\","
		    "\"reason\":\"Validation failed\\n\\n%s is not a valid "
		    "maximum length in bytes\\n\"}", bad[i].shown_html);
		is(call("PUT", "/api/policies/%2F/bad", body, 400), want);
		snprintf(want, sizeof(want), "{\"error\":\"bad_request\","
		    "\"reason\":\"Validation failed\\n\\n%s is not a valid "
		    "maximum length in bytes\\n\"}", bad[i].shown);
		is(call("PUT", "/api/operator-policies/%2F/bad", body, 400),
		    want);
	}
	call("GET", "/api/policies/%2F/bad", NULL, 404);
	call("GET", "/api/operator-policies/%2F/bad", NULL, 404);
}

/* compat: RabbitMQ's 406 reasons; nothing queued is touched. */
Test(max_length_bytes, bad_arguments)
{
	amqp_connection_state_t c = ut_connect(), c2;
	const char *q = hb_name("mbbad"), *nq = hb_name("mbnew");
	amqp_table_entry_t e;
	char want[512];

	declare(c, q, 10, -1, NULL, NULL, false);
	publish(c, q, "aaaa", false);
	ut_sync(c, 1);

	e = ut_str("x-max-length-bytes", "10");
	c2 = ut_connect();
	amqp_queue_declare(c2, 1, amqp_cstring_bytes(nq), 0, 0, 0, 0,
	    ut_table(&e, 1));
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - invalid arg "
	    "'x-max-length-bytes' for queue '%s' in vhost '/': "
	    "\"expected integer, got longstr\"", nq);
	is(hb_expect_close(c2, amqp_get_rpc_reply(c2), false, 406), want);
	hb_close(c2);

	e = ut_i32("x-max-length-bytes", -1);
	c2 = ut_connect();
	amqp_queue_declare(c2, 1, amqp_cstring_bytes(nq), 0, 0, 0, 0,
	    ut_table(&e, 1));
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - invalid arg "
	    "'x-max-length-bytes' for queue '%s' in vhost '/': "
	    "{value_negative,-1}", nq);
	is(hb_expect_close(c2, amqp_get_rpc_reply(c2), false, 406), want);
	hb_close(c2);

	/* Declared again with a bad value: inequivalent, as in RabbitMQ. */
	c2 = ut_connect();
	amqp_queue_declare(c2, 1, amqp_cstring_bytes(q), 0, 0, 0, 0,
	    ut_table(&e, 1));
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - inequivalent "
	    "arg 'x-max-length-bytes' for queue '%s' in vhost '/': "
	    "received '-1' but current is '10'", q);
	is(hb_expect_close(c2, amqp_get_rpc_reply(c2), false, 406), want);
	hb_close(c2);
	is(drain(c, q, false), "aaaa");
	hb_close(c);
}

/* The limit and the byte count of a durable queue survive a restart. */
Test(max_length_bytes, restart)
{
	amqp_connection_state_t c;
	const char *q = hb_name("mbdur"), *qr = hb_name("mbdurr");

	hb_require_warrend(&ut_broker);
	c = ut_connect();
	declare(c, q, 10, -1, NULL, NULL, true);
	declare(c, qr, 10, -1, "reject-publish", NULL, true);
	publish(c, q, "aaaa", true);
	publish(c, q, "bbbb", true);
	publish(c, qr, "aaaa", true);
	publish(c, qr, "bbbb", true);
	ut_sync(c, 1);
	hb_close(c);
	cr_assert_eq(hb_halt(&ut_broker, SIGTERM), 0);
	hb_restart(&ut_broker, NULL);

	c = ut_connect();
	cr_assert_eq(ut_count(c, 1, q), 2);
	publish(c, q, "cccc", true);
	ut_sync(c, 1);
	cr_assert_eq(ut_count(c, 1, q), 2);
	ut_confirm_select(c, 1);
	publish(c, qr, "cccc", true);
	cr_assert_eq(confirm_of(c), 0, "the recovered bytes were not counted");
	publish(c, qr, "cc", true);
	cr_assert_eq(confirm_of(c), 1);
	/*
	 * A byte-limit policy set on the recovered queues trims the
	 * drop-head one at once; compat: a reject-publish one keeps what it
	 * has (RabbitMQ drops from the head under drop-head only).
	 */
	if (ut_broker.admin_port != 0) {
		call("PUT", "/api/policies/%2F/mbdur", "{\"pattern\":"
		    "\"^mbdur\",\"definition\":{\"max-length-bytes\":5}}",
		    201);
		is(drain(c, q, false), "cccc");
	} else
		is(drain(c, q, false), "bbbb,cccc");
	is(drain(c, qr, false), "aaaa,bbbb,cc");
	hb_close(c);
}

/* A queue's management columns (cols, comma-separated) as JSON. */
static const char *
columns(const char *q, const char *cols)
{
	char path[512];

	snprintf(path, sizeof(path), "/api/queues/%%2F/%s?columns=%s", q,
	    cols);
	return call("GET", path, NULL, 200);
}

/* Publishes body and asserts its confirm is want (1 ack, 0 nack). */
static void
publish_confirmed(amqp_connection_state_t c, const char *q, const char *body,
    bool persistent, int want)
{
	publish(c, q, body, persistent);
	cr_assert_eq(confirm_of(c), want, "'%s' into %s: %s", body, q,
	    want ? "nacked" : "acked");
}

/*
 * kill -9 with persistent messages queued (one unacked, one transient):
 * recovery counts the bytes of what came back, the management API
 * shows them, and the limit acts on them at once: drop-head drops the
 * oldest (dead-lettered from the head), reject-publish nacks.
 */
Test(max_length_bytes, kill_9_rebuilds_the_byte_count)
{
	amqp_connection_state_t c;
	const char *q = strdup(hb_name("mbk9")), *qr = strdup(hb_name("mbk9r"));
	const char *dlq = strdup(hb_name("mbk9dlq"));
	amqp_basic_get_ok_t ok;
	char *b;

	hb_require_warrend(&ut_broker);
	need_admin();
	c = ut_connect();
	declare(c, dlq, -1, -1, NULL, NULL, true);
	declare(c, q, 10, -1, NULL, dlq, true);
	declare(c, qr, 10, -1, "reject-publish", NULL, true);
	ut_confirm_select(c, 1);
	publish_confirmed(c, q, "aaaa", true, 1);
	publish_confirmed(c, q, "bbb", true, 1);
	publish_confirmed(c, q, "t", false, 1);	/* gone with the crash */
	publish_confirmed(c, qr, "aaaa", true, 1);
	publish_confirmed(c, qr, "bbbb", true, 1);
	b = ut_get(c, 1, qr, false, &ok, NULL);	/* unacked at the crash */
	cr_assert_str_eq(b, "aaaa");
	free(b);
	is(columns(q, "messages,message_bytes"),
	    "{\"messages\":3,\"message_bytes\":8}");
	cr_assert_eq(hb_kill(&ut_broker), 128 + SIGKILL);
	amqp_destroy_connection(c);
	hb_restart(&ut_broker, NULL);

	c = ut_connect();
	is(columns(q, "messages,message_bytes,message_bytes_ready,"
	    "message_bytes_unacknowledged"), "{\"messages\":2,"
	    "\"message_bytes\":7,\"message_bytes_ready\":7,"
	    "\"message_bytes_unacknowledged\":0}");
	is(columns(qr, "messages,message_bytes,message_bytes_ready"),
	    "{\"messages\":2,\"message_bytes\":8,"
	    "\"message_bytes_ready\":8}");
	ut_confirm_select(c, 1);
	/* 7 + 4 passes 10: the oldest goes, and only it. */
	publish_confirmed(c, q, "cccc", true, 1);
	is(columns(q, "messages,message_bytes"),
	    "{\"messages\":2,\"message_bytes\":7}");
	/* 8 + 3 passes 10: refused; 8 + 2 fits. */
	publish_confirmed(c, qr, "ccc", true, 0);
	publish_confirmed(c, qr, "cc", true, 1);
	is(columns(qr, "messages,message_bytes"),
	    "{\"messages\":3,\"message_bytes\":10}");
	is(drain(c, q, false), "bbb,cccc");
	is(drain(c, dlq, true), "aaaa!maxlen");
	is(drain(c, qr, false), "aaaa,bbbb,cc");
	hb_close(c);
}

/* Sets the policy mbpk on queues named mbpk.*: max-length-bytes bytes. */
static void
mbpk_policy(int bytes, int status)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"pattern\":\"^mbpk\\\\.\","
	    "\"apply-to\":\"queues\",\"definition\":"
	    "{\"max-length-bytes\":%d}}", bytes);
	call("PUT", "/api/policies/%2F/mbpk", body, status);
}

/*
 * A max-length-bytes policy lowered while persistent messages are
 * queued trims at once, dead-lettering from the head; after kill -9 the
 * policy is still there and acting, the queue holds what it held, and
 * the dead letters are kept too.
 */
Test(max_length_bytes, policy_trim_then_kill_9)
{
	amqp_connection_state_t c;
	const char *q, *dlq = strdup(hb_name("mbpkd"));

	hb_require_warrend(&ut_broker);
	need_admin();
	c = ut_connect();
	/* mbpkd... is no match of ^mbpk\. : the dead letters stay. */
	declare(c, dlq, -1, -1, NULL, NULL, true);
	q = strdup(hb_name("mbpk."));
	declare(c, q, -1, -1, NULL, dlq, true);
	ut_confirm_select(c, 1);
	publish_confirmed(c, q, "aaaa", true, 1);
	publish_confirmed(c, q, "bbbb", true, 1);
	publish_confirmed(c, q, "cccc", true, 1);
	publish_confirmed(c, q, "dddd", true, 1);
	mbpk_policy(12, 201);
	cr_assert_eq(ut_count(c, 1, q), 3, "the policy did not trim");
	mbpk_policy(8, 204);
	cr_assert_eq(ut_count(c, 1, q), 2, "the lowered policy did not trim");
	cr_assert_eq(ut_count(c, 1, dlq), 2);
	is(columns(q, "messages,message_bytes,policy"),
	    "{\"messages\":2,\"message_bytes\":8,\"policy\":\"mbpk\"}");
	cr_assert_eq(hb_kill(&ut_broker), 128 + SIGKILL);
	amqp_destroy_connection(c);
	hb_restart(&ut_broker, NULL);

	c = ut_connect();
	is(columns(q, "messages,message_bytes,policy,"
	    "effective_policy_definition"), "{\"messages\":2,"
	    "\"message_bytes\":8,\"policy\":\"mbpk\","
	    "\"effective_policy_definition\":{\"max-length-bytes\":8}}");
	is(drain(c, dlq, true), "aaaa!maxlen,bbbb!maxlen");
	/* Still acting: 8 + 2 passes 8, the head goes. */
	ut_confirm_select(c, 1);
	publish_confirmed(c, q, "ee", true, 1);
	is(drain(c, q, false), "dddd,ee");
	is(drain(c, dlq, true), "cccc!maxlen");
	hb_close(c);
}
