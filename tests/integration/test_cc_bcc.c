/*
 * Sender-selected distribution (RabbitMQ's CC and BCC headers) end to
 * end: the extra keys route the message like its routing key, each queue
 * gets it once, BCC never reaches a queue (nor the stored headers), a CC
 * or BCC that is no array closes the channel as RabbitMQ does, a CC list
 * as large as a frame allows still works, topic permissions apply to the
 * CC and BCC keys too, and dead letters keep their keys, also when read
 * back from the disk (after a restart, or deep in a queue). Runs against
 * RabbitMQ with WARREN_TEST_URL (but the restarts; the topic permission
 * test also needs WARREN_TEST_ADMIN_PORT).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

TestSuite(cc_bcc, .init = ut_setup, .fini = ut_teardown, .timeout = 60);

/* Up to 4 headers and 4 arrays of 8 keys, built in place. */
struct hdrs {
	amqp_table_entry_t	e[4];
	amqp_field_value_t	v[4][8];
	amqp_table_t		t;
};

/* Adds header key: an array of the NULL-terminated longstr keys. */
static void
add_keys(struct hdrs *h, const char *key, const char *const *keys)
{
	int i = h->t.num_entries, n = 0;

	cr_assert_lt(i, 4);
	for (; keys[n] != NULL; n++) {
		cr_assert_lt(n, 8);
		h->v[i][n].kind = AMQP_FIELD_KIND_UTF8;
		h->v[i][n].value.bytes = amqp_cstring_bytes(keys[n]);
	}
	h->e[i].key = amqp_cstring_bytes(key);
	h->e[i].value.kind = AMQP_FIELD_KIND_ARRAY;
	h->e[i].value.value.array.num_entries = n;
	h->e[i].value.value.array.entries = h->v[i];
	h->t.entries = h->e;
	h->t.num_entries++;
}

static void
add_entry(struct hdrs *h, amqp_table_entry_t e)
{
	cr_assert_lt(h->t.num_entries, 4);
	h->e[h->t.num_entries++] = e;
	h->t.entries = h->e;
}

static amqp_basic_properties_t
with_headers(const struct hdrs *h, bool persistent)
{
	amqp_basic_properties_t	p;

	memset(&p, 0, sizeof(p));
	p._flags = AMQP_BASIC_HEADERS_FLAG;
	p.headers = h->t;
	if (persistent) {
		p._flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
		p.delivery_mode = 2;
	}
	return p;
}

static void
publish(amqp_connection_state_t c, const char *x, const char *rk,
    bool mandatory, const struct hdrs *h, const char *body)
{
	amqp_basic_properties_t	p = with_headers(h, false);

	ut_publish_full(c, 1, x, rk, mandatory, &p, amqp_cstring_bytes(body));
}

/*
 * Waits (<= 5 s) until basic.acks on channel 1 cover publish number
 * last, counting from the previous call; asserts no other method comes.
 */
static uint64_t	acked;	/* every publish up to here was acked */
static uint64_t	acked_mask;	/* acks of publishes acked + 1 .. + 64 */

/*
 * Waits (<= 5 s) until basic.acks on channel 1 cover publishes 1 to
 * last of the current connection, in any order (RabbitMQ's acks for
 * different queues may cross); asserts no other method comes.
 */
static void
acked_upto(amqp_connection_state_t c, uint64_t last)
{
	amqp_basic_ack_t	*ack;
	amqp_frame_t		 f;

	while (acked < last) {
		cr_assert_eq(ut_wait_frame(c, &f, 5000), AMQP_STATUS_OK,
		    "no confirm of publish %llu", (unsigned long long)last);
		if (f.frame_type != AMQP_FRAME_METHOD || f.channel != 1)
			continue;
		cr_assert_eq(f.payload.method.id, AMQP_BASIC_ACK_METHOD,
		    "wanted basic.ack %llu, got method 0x%08x",
		    (unsigned long long)acked + 1, f.payload.method.id);
		ack = f.payload.method.decoded;
		cr_assert_gt(ack->delivery_tag, acked, "acked twice");
		cr_assert_leq(ack->delivery_tag, acked + 64);
		if (ack->multiple)
			acked_mask |= ack->delivery_tag - acked == 64 ?
			    ~0ULL : (1ULL << (ack->delivery_tag - acked)) - 1;
		else
			acked_mask |= 1ULL << (ack->delivery_tag - acked - 1);
		while (acked_mask & 1) {
			acked++;
			acked_mask >>= 1;
		}
	}
	cr_assert_eq(acked, last, "acks went past publish %llu",
	    (unsigned long long)last);
}

static bool
bytes_is(amqp_bytes_t v, const char *s)
{
	return v.len == strlen(s) &&
	    (v.len == 0 || memcmp(v.bytes, s, v.len) == 0);
}

static const amqp_table_entry_t *
entry(const amqp_table_t *t, const char *key)
{
	for (int i = 0; i < t->num_entries; i++)
		if (bytes_is(t->entries[i].key, key))
			return &t->entries[i];
	return NULL;
}

/* basic.get of q: asserts body and that CC is kept and BCC gone. */
static void
expect_copy(amqp_connection_state_t c, const char *q, const char *body,
    int ncc)
{
	amqp_basic_properties_t	 p;
	const amqp_table_entry_t *cc;
	char			*got = ut_get(c, 1, q, true, NULL, &p);

	cr_assert_not_null(got, "%s got no copy of '%s'", q, body);
	cr_assert_str_eq(got, body);
	cr_assert(p._flags & AMQP_BASIC_HEADERS_FLAG);
	cr_assert_null(entry(&p.headers, "BCC"), "BCC delivered to %s", q);
	cc = entry(&p.headers, "CC");
	if (ncc < 0) {
		cr_assert_null(cc);
	} else {
		cr_assert_not_null(cc, "CC not delivered to %s", q);
		cr_assert_eq(cc->value.kind, AMQP_FIELD_KIND_ARRAY);
		cr_assert_eq(cc->value.value.array.num_entries, ncc);
	}
	free(got);
}

Test(cc_bcc, cc_and_bcc_keys_route_and_only_bcc_is_removed)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*a = ut_queue(c, 1, "to");
	char			*b = ut_queue(c, 1, "cc");
	char			*d = ut_queue(c, 1, "bcc");
	const char		*cc[] = { b, NULL }, *bcc[] = { d, NULL };
	struct hdrs		 h = { .t = { 0, NULL } };

	add_keys(&h, "CC", cc);
	add_keys(&h, "BCC", bcc);
	add_entry(&h, ut_str("other", "kept"));
	ut_confirm_select(c, 1);
	publish(c, "", a, false, &h, "memo");
	acked_upto(c, 1);
	expect_copy(c, a, "memo", 1);
	expect_copy(c, b, "memo", 1);
	expect_copy(c, d, "memo", 1);
	ut_expect_empty(c, 1, a);
	ut_expect_empty(c, 1, b);
	ut_expect_empty(c, 1, d);
	/* The header names are case-sensitive: "cc" is just a header. */
	memset(&h, 0, sizeof(h));
	add_keys(&h, "cc", cc);
	publish(c, "", a, false, &h, "lower");
	acked_upto(c, 2);
	ut_expect_get(c, 1, a, "lower");
	ut_expect_empty(c, 1, b);
	/* An empty BCC goes as well, leaving an empty headers table. */
	memset(&h, 0, sizeof(h));
	cc[0] = NULL;
	add_keys(&h, "BCC", cc);
	publish(c, "", a, false, &h, "empty");
	acked_upto(c, 3);
	expect_copy(c, a, "empty", -1);
	if (!ut_broker.external) {
		/*
		 * Two BCC headers: RabbitMQ removes the first only and
		 * delivers the second; warren removes both. The first
		 * routes, as there.
		 */
		memset(&h, 0, sizeof(h));
		cc[0] = b;
		add_keys(&h, "BCC", bcc);
		add_keys(&h, "BCC", cc);
		publish(c, "", a, false, &h, "twice");
		acked_upto(c, 4);
		expect_copy(c, a, "twice", -1);
		expect_copy(c, d, "twice", -1);
		ut_expect_empty(c, 1, b);
	}
	hb_close(c);
}

Test(cc_bcc, two_keys_reaching_one_queue_deliver_it_once_with_one_confirm)
{
	amqp_connection_state_t	 c = ut_connect();
	const char		*x = strdup(hb_name("ccx"));
	const char		*tx = strdup(hb_name("cctopic"));
	char			*q = ut_queue(c, 1, "once");
	char			*t = ut_queue(c, 1, "topic");
	const char		*cc[] = { "k2", "k1", "k2", NULL };
	const char		*bcc[] = { "k1", "log.x", NULL };
	struct hdrs		 h = { .t = { 0, NULL } };

	ut_exchange(c, 1, x, "direct");
	ut_exchange(c, 1, tx, "topic");
	ut_bind(c, 1, q, x, "k1", amqp_empty_table);
	ut_bind(c, 1, q, x, "k2", amqp_empty_table);
	ut_bind(c, 1, t, tx, "k1", amqp_empty_table);
	ut_bind(c, 1, t, tx, "log.*", amqp_empty_table);
	add_keys(&h, "CC", cc);
	add_keys(&h, "BCC", bcc);
	ut_confirm_select(c, 1);
	/* One ack per publish, however many keys and queues. */
	publish(c, x, "k1", false, &h, "one");
	acked_upto(c, 1);
	publish(c, tx, "none", false, &h, "two");
	acked_upto(c, 2);
	cr_assert_eq(ut_count(c, 1, q), 1);
	cr_assert_eq(ut_count(c, 1, t), 1);
	expect_copy(c, q, "one", 3);
	expect_copy(c, t, "two", 3);
	hb_close(c);
}

Test(cc_bcc, every_key_crosses_exchange_bindings_and_the_alternate_only_when_none_matched)
{
	amqp_connection_state_t	 c = ut_connect();
	const char		*x = strdup(hb_name("ccsrc"));
	const char		*x2 = strdup(hb_name("ccdst"));
	const char		*ae = strdup(hb_name("ccae"));
	char			*q1 = ut_queue(c, 1, "k1");
	char			*q2 = ut_queue(c, 1, "e2e");
	char			*qa = ut_queue(c, 1, "alt");
	amqp_table_entry_t	 arg = ut_str("alternate-exchange", ae);
	const char		*k1[] = { "k1", NULL }, *k2[] = { "k2", NULL };
	const char		*none[] = { "nothing", NULL };
	struct hdrs		 h = { .t = { 0, NULL } };

	ut_exchange(c, 1, ae, "fanout");
	amqp_exchange_declare(c, 1, amqp_cstring_bytes(x),
	    amqp_cstring_bytes("direct"), 0, 0, 1, 0, ut_table(&arg, 1));
	ut_ok(c, "exchange.declare with an alternate exchange");
	ut_exchange(c, 1, x2, "direct");
	ut_bind(c, 1, q1, x, "k1", amqp_empty_table);
	ut_bind(c, 1, qa, ae, "", amqp_empty_table);
	ut_xbind(c, 1, x2, x, "k2");
	ut_bind(c, 1, q2, x2, "zzz", amqp_empty_table);
	ut_confirm_select(c, 1);
	/* A CC key matched: no alternate exchange. */
	add_keys(&h, "CC", k1);
	publish(c, x, "nomatch", true, &h, "by-cc");
	/* Reached by CC, x2 routes the message's own key too. */
	memset(&h, 0, sizeof(h));
	add_keys(&h, "CC", k2);
	publish(c, x, "zzz", true, &h, "through");
	/* Nothing matched in x: the alternate, with all the keys. */
	memset(&h, 0, sizeof(h));
	add_keys(&h, "BCC", none);
	publish(c, x, "nomatch", true, &h, "alternate");
	acked_upto(c, 3);
	expect_copy(c, q1, "by-cc", 1);
	expect_copy(c, q2, "through", 1);
	expect_copy(c, qa, "alternate", -1);
	ut_expect_empty(c, 1, q1);
	ut_expect_empty(c, 1, q2);
	ut_expect_empty(c, 1, qa);
	hb_close(c);
}

Test(cc_bcc, mandatory_returns_only_when_no_key_routes)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*q = ut_queue(c, 1, "mand");
	const char		*cc[] = { "nowhere-1", NULL };
	const char		*bcc[] = { "nowhere-2", NULL };
	const char		*hit[] = { q, NULL };
	struct hdrs		 h = { .t = { 0, NULL } };
	amqp_basic_return_t	*ret;
	amqp_message_t		 m;
	amqp_frame_t		 f;

	ut_confirm_select(c, 1);
	add_keys(&h, "CC", hit);
	/* Nothing bound yet: returned, then acked. */
	publish(c, "amq.direct", "nowhere-0", true, &h, "lost?");
	cr_assert_eq(ut_wait_frame(c, &f, 5000), AMQP_STATUS_OK);
	cr_assert_eq(f.payload.method.id, AMQP_BASIC_RETURN_METHOD,
	    "method 0x%08x", f.payload.method.id);
	cr_assert_eq(amqp_read_message(c, 1, &m, 0).reply_type,
	    AMQP_RESPONSE_NORMAL);
	cr_assert(bytes_is(m.body, "lost?"));
	amqp_destroy_message(&m);
	acked_upto(c, 1);
	/* Routed by its CC key alone: no return. */
	ut_bind(c, 1, q, "amq.direct", q, amqp_empty_table);
	publish(c, "amq.direct", "nowhere-0", true, &h, "routed by cc");
	acked_upto(c, 2);
	memset(&h, 0, sizeof(h));
	add_keys(&h, "CC", cc);
	add_keys(&h, "BCC", bcc);
	publish(c, "amq.direct", "nowhere-0", true, &h, "bounce");
	/* Third: no key routes; back with its own key, BCC gone. */
	cr_assert_eq(ut_wait_frame(c, &f, 5000), AMQP_STATUS_OK);
	cr_assert_eq(f.payload.method.id, AMQP_BASIC_RETURN_METHOD);
	ret = f.payload.method.decoded;
	cr_assert_eq(ret->reply_code, AMQP_NO_ROUTE);
	cr_assert(bytes_is(ret->routing_key, "nowhere-0"));
	cr_assert_eq(amqp_read_message(c, 1, &m, 0).reply_type,
	    AMQP_RESPONSE_NORMAL);
	cr_assert(bytes_is(m.body, "bounce"));
	cr_assert_not_null(entry(&m.properties.headers, "CC"));
	cr_assert_null(entry(&m.properties.headers, "BCC"),
	    "BCC in a returned message");
	amqp_destroy_message(&m);
	acked_upto(c, 3);
	expect_copy(c, q, "routed by cc", 1);
	hb_close(c);
}

/* Publishes header key with value v; returns the channel.close text. */
static const char *
refused(amqp_connection_state_t c, const char *key, amqp_field_value_t v)
{
	struct hdrs		 h = { .t = { 0, NULL } };
	amqp_table_entry_t	 e = { amqp_cstring_bytes(key), v };

	add_entry(&h, e);
	publish(c, "", "anything", false, &h, "bad");
	return hb_expect_close(c, ut_sync(c, 1), false, 406);
}

Test(cc_bcc, cc_or_bcc_that_is_no_array_closes_the_channel_with_406)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*q = ut_queue(c, 1, "types");
	amqp_field_value_t	 v, el[3];
	struct hdrs		 h = { .t = { 0, NULL } };

	v.kind = AMQP_FIELD_KIND_UTF8;
	v.value.bytes = amqp_cstring_bytes(q);
	cr_assert_str_eq(refused(c, "CC", v), "PRECONDITION_FAILED - invalid "
	    "message: {unacceptable_type_in_header,\"CC\",longstr}");
	ut_channel(c, 1);
	v.kind = AMQP_FIELD_KIND_I32;
	v.value.i32 = 5;
	cr_assert_str_eq(refused(c, "BCC", v), "PRECONDITION_FAILED - invalid "
	    "message: {unacceptable_type_in_header,\"BCC\",signedint}");
	ut_channel(c, 1);
	v.kind = AMQP_FIELD_KIND_TABLE;
	v.value.table = amqp_empty_table;
	cr_assert_str_eq(refused(c, "CC", v), "PRECONDITION_FAILED - invalid "
	    "message: {unacceptable_type_in_header,\"CC\",table}");
	ut_channel(c, 1);
	/* Elements that are no longstr are skipped, binary ones too. */
	el[0].kind = AMQP_FIELD_KIND_I32;
	el[0].value.i32 = 7;
	el[1].kind = AMQP_FIELD_KIND_BYTES;
	el[1].value.bytes = amqp_cstring_bytes(q);
	el[2].kind = AMQP_FIELD_KIND_VOID;
	h.e[0].key = amqp_cstring_bytes("CC");
	h.e[0].value.kind = AMQP_FIELD_KIND_ARRAY;
	h.e[0].value.value.array.num_entries = 3;
	h.e[0].value.value.array.entries = el;
	h.t.entries = h.e;
	h.t.num_entries = 1;
	ut_confirm_select(c, 1);
	publish(c, "", "nowhere", false, &h, "skipped");
	acked_upto(c, 1);
	ut_expect_empty(c, 1, q);
	hb_close(c);
}

/* An array of n longstr keys "%04x" (plus extra at the end). */
static amqp_field_value_t
many_keys(int n, const char *extra)
{
	amqp_field_value_t	 v, *el = calloc((size_t)n + 1, sizeof(*el));
	char			*names = malloc((size_t)n * 5);

	cr_assert(el != NULL && names != NULL);
	for (int i = 0; i < n; i++) {
		snprintf(names + i * 5, 5, "%04x", i & 0xffff);
		el[i].kind = AMQP_FIELD_KIND_UTF8;
		el[i].value.bytes = (amqp_bytes_t){ 4, names + i * 5 };
	}
	el[n].kind = AMQP_FIELD_KIND_UTF8;
	el[n].value.bytes = amqp_cstring_bytes(extra);
	v.kind = AMQP_FIELD_KIND_ARRAY;
	v.value.array.num_entries = n + 1;
	v.value.array.entries = el;
	return v;
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(cc_bcc, a_cc_list_as_large_as_a_frame_routes_and_the_broker_keeps_serving)
{
	amqp_connection_state_t	 c = ut_connect();
	const char		*tx = strdup(hb_name("hugex"));
	char			*q = ut_queue(c, 1, "huge");
	char			*t = ut_queue(c, 1, "hugetopic");
	struct hdrs		 h = { .t = { 0, NULL } };
	amqp_table_entry_t	 e;
	amqp_basic_properties_t	 p;
	long			 rss0 = -1, rss1;
	double			 t0;
	char			*body;

	if (!ut_broker.external)
		rss0 = hb_rss_kib(ut_broker.pid);
	/* 13000 CC keys and 700 BCC ones: about 124 KiB of headers. */
	e.key = amqp_cstring_bytes("CC");
	e.value = many_keys(13000, q);
	add_entry(&h, e);
	e.key = amqp_cstring_bytes("BCC");
	e.value = many_keys(700, t);
	add_entry(&h, e);
	ut_exchange(c, 1, tx, "topic");
	ut_bind(c, 1, t, tx, "#.zz", amqp_empty_table);
	ut_bind(c, 1, t, tx, "*", amqp_empty_table);
	ut_confirm_select(c, 1);
	t0 = now_s();
	for (int i = 0; i < 5; i++) {
		publish(c, "", "none", false, &h, "wide");
		publish(c, tx, "none.zz", false, &h, "wide-topic");
	}
	acked_upto(c, 10);
	cr_assert_lt(now_s() - t0, 10.0, "ten wide publishes took %.1f s",
	    now_s() - t0);
	cr_assert_eq(ut_count(c, 1, q), 5, "one copy per publish");
	/* t: by its BCC key from "", by "*" and "#.zz" from tx. */
	cr_assert_eq(ut_count(c, 1, t), 10);
	body = ut_get(c, 1, q, true, NULL, &p);
	cr_assert_not_null(body);
	cr_assert_str_eq(body, "wide");
	cr_assert_null(entry(&p.headers, "BCC"));
	cr_assert_not_null(entry(&p.headers, "CC"));
	cr_assert_eq(entry(&p.headers, "CC")->value.value.array.num_entries,
	    13001);
	free(body);
	/* Still serving: a plain round trip on a new connection. */
	hb_close(c);
	c = ut_connect();
	acked = acked_mask = 0;
	ut_confirm_select(c, 1);
	ut_publish(c, 1, "", q, "after");
	acked_upto(c, 1);
	cr_assert_eq(ut_count(c, 1, q), 5);
	if (rss0 > 0 && (rss1 = hb_rss_kib(ut_broker.pid)) > 0)
		cr_assert_lt(rss1 - rss0, 64 * 1024, "RSS grew by %ld KiB",
		    rss1 - rss0);
	hb_close(c);
}

Test(cc_bcc, persistent_message_comes_back_after_a_restart_without_bcc)
{
	amqp_connection_state_t	 c;
	const char		*q = strdup(hb_name("durcc"));
	const char		*cc[] = { "not-a-queue", NULL };
	const char		*bcc[] = { "secret", NULL };
	struct hdrs		 h = { .t = { 0, NULL } };
	amqp_basic_properties_t	 p;

	hb_require_warrend(&ut_broker);
	c = ut_connect();
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 1, 0, 0,
	    amqp_empty_table);
	ut_ok(c, "durable queue.declare");
	add_keys(&h, "CC", cc);
	add_keys(&h, "BCC", bcc);
	p = with_headers(&h, true);
	ut_confirm_select(c, 1);
	ut_publish_full(c, 1, "", q, false, &p, amqp_cstring_bytes("kept"));
	acked_upto(c, 1);
	cr_assert_eq(hb_halt(&ut_broker, SIGKILL), 128 + SIGKILL);
	amqp_destroy_connection(c);
	hb_restart(&ut_broker, NULL);
	c = ut_connect();
	expect_copy(c, q, "kept", 1);
	hb_close(c);
}

/* Logs user in with confirms on channel 1 (publish numbers from 1). */
static amqp_connection_state_t
confirming_login(const char *user)
{
	amqp_connection_state_t	u;
	amqp_rpc_reply_t	r;

	u = hb_connect_opts(&ut_broker, "/", user, "pw", 131072, 0, &r);
	cr_assert_not_null(u, "login of %s failed", user);
	cr_assert_not_null(amqp_channel_open(u, 1));
	ut_confirm_select(u, 1);
	acked = 0;
	return u;
}

/*
 * compat: each CC and BCC key meets the topic write permission like the
 * routing key, as in RabbitMQ since 4.0.3. RabbitMQ 3.10 checks only the
 * routing key, so CC reached keys the user may not publish to; with
 * WARREN_TEST_URL the test asserts that hole instead.
 */
Test(cc_bcc, topic_permissions_check_cc_and_bcc_keys_too)
{
	amqp_connection_state_t	 c, u;
	struct hhttp		 resp;
	char			 path[200], body[200], want[300];
	const char		*user = strdup(hb_name("ccuser"));
	const char		*denied[] = { "denied", NULL };
	const char		*allowed[] = { "allowed", NULL };
	const char		*which[] = { "CC", "BCC" };
	bool			 hole = ut_broker.external;
	char			*q;

	if (ut_broker.admin_port <= 0)
		cr_skip_test("no admin API port for the external broker");
	snprintf(path, sizeof(path), "/api/users/%s", user);
	cr_assert_lt(hb_http(&ut_broker, "PUT", path, "guest:guest",
	    "{\"password\":\"pw\",\"tags\":\"\"}", &resp), 300);
	hb_http_free(&resp);
	snprintf(path, sizeof(path), "/api/permissions/%%2F/%s", user);
	cr_assert_lt(hb_http(&ut_broker, "PUT", path, "guest:guest",
	    "{\"configure\":\".*\",\"write\":\".*\",\"read\":\".*\"}", &resp),
	    300);
	hb_http_free(&resp);
	snprintf(path, sizeof(path), "/api/topic-permissions/%%2F/%s", user);
	snprintf(body, sizeof(body), "{\"exchange\":\"amq.topic\","
	    "\"write\":\"^allowed$\",\"read\":\".*\"}");
	cr_assert_lt(hb_http(&ut_broker, "PUT", path, "guest:guest", body,
	    &resp), 300);
	hb_http_free(&resp);
	c = ut_connect();
	q = ut_queue(c, 1, "perm");
	ut_bind(c, 1, q, "amq.topic", "denied", amqp_empty_table);
	snprintf(want, sizeof(want), "ACCESS_REFUSED - access to topic "
	    "'denied' in exchange 'amq.topic' in vhost '/' refused for user "
	    "'%s'", user);
	for (int i = 0; i < 2; i++) {
		struct hdrs	ok = { .t = { 0, NULL } };
		struct hdrs	bad = { .t = { 0, NULL } };

		u = confirming_login(user);
		add_keys(&ok, which[i], allowed);
		publish(u, "amq.topic", "allowed", false, &ok, "fine");
		acked_upto(u, 1);
		add_keys(&bad, which[i], denied);
		publish(u, "amq.topic", "allowed", false, &bad, "sneaky");
		if (hole) {
			acked_upto(u, 2);
			expect_copy(c, q, "sneaky", i == 0 ? 1 : -1);
		} else {
			cr_assert_str_eq(hb_expect_close(u, ut_sync(u, 1),
			    false, 403), want, "%s", which[i]);
			ut_expect_empty(c, 1, q);
		}
		hb_close(u);
	}
	/* The routing key itself: refused by both. */
	u = confirming_login(user);
	publish(u, "amq.topic", "denied", false, &(struct hdrs){ .t = { 0,
	    NULL } }, "refused");
	cr_assert_str_eq(hb_expect_close(u, ut_sync(u, 1), false, 403), want);
	hb_close(u);
	snprintf(path, sizeof(path), "/api/users/%s", user);
	hb_http(&ut_broker, "DELETE", path, "guest:guest", NULL, &resp);
	hb_http_free(&resp);
	hb_close(c);
}

Test(cc_bcc, dead_letters_go_by_all_keys_or_by_the_dead_letter_key_without_cc)
{
	amqp_connection_state_t	 c = ut_connect();
	const char		*x = strdup(hb_name("ccdlx"));
	char			*src;
	char			*d1 = ut_queue(c, 1, "dcc");
	char			*d2 = ut_queue(c, 1, "dbcc");
	char			*d3 = ut_queue(c, 1, "dkey");
	const char		*cc[] = { d1, NULL }, *bcc[] = { d2, NULL };
	const amqp_table_entry_t *xd, *rks;
	amqp_table_entry_t	 args[2];
	amqp_basic_properties_t	 p;
	amqp_basic_get_ok_t	 ok;
	struct hdrs		 h = { .t = { 0, NULL } };
	const amqp_table_t	*death;
	char			*body;

	ut_exchange(c, 1, x, "direct");
	ut_bind(c, 1, d1, x, d1, amqp_empty_table);
	ut_bind(c, 1, d2, x, d2, amqp_empty_table);
	ut_bind(c, 1, d3, x, d3, amqp_empty_table);
	src = strdup(hb_name("dlsrc"));
	args[0] = ut_str("x-dead-letter-exchange", x);
	amqp_queue_declare(c, 1, amqp_cstring_bytes(src), 0, 0, 0, 0,
	    ut_table(args, 1));
	ut_ok(c, "queue.declare with a dead-letter exchange");
	add_keys(&h, "CC", cc);
	add_keys(&h, "BCC", bcc);
	ut_confirm_select(c, 1);
	publish(c, "", src, false, &h, "dies");
	acked_upto(c, 1);
	/* The default exchange gave d1 and d2 their copies too. */
	expect_copy(c, d1, "dies", 1);
	expect_copy(c, d2, "dies", 1);
	body = ut_get(c, 1, src, false, &ok, NULL);
	cr_assert_not_null(body);
	cr_assert_eq(amqp_basic_reject(c, 1, ok.delivery_tag, 0), 0);
	cr_assert_eq(ut_count_wait(c, 1, d2, 1, 2000), 1,
	    "not dead-lettered by its BCC key");
	/* compat: x-death's routing-keys: the key and CC, never BCC. */
	body = ut_get(c, 1, d1, true, NULL, &p);
	cr_assert_not_null(body, "not dead-lettered by its CC key");
	cr_assert_null(entry(&p.headers, "BCC"));
	cr_assert_not_null(entry(&p.headers, "CC"));
	cr_assert_not_null(xd = entry(&p.headers, "x-death"));
	death = &xd->value.value.array.entries[0].value.table;
	cr_assert_not_null(rks = entry(death, "routing-keys"));
	cr_assert_eq(rks->value.value.array.num_entries, 2);
	cr_assert(bytes_is(rks->value.value.array.entries[0].value.bytes,
	    src));
	cr_assert(bytes_is(rks->value.value.array.entries[1].value.bytes,
	    d1));
	expect_copy(c, d2, "dies", 1);
	ut_expect_empty(c, 1, d3);
	/* With x-dead-letter-routing-key: that key alone, CC dropped. */
	src = strdup(hb_name("dlkey"));
	args[1] = ut_str("x-dead-letter-routing-key", d3);
	amqp_queue_declare(c, 1, amqp_cstring_bytes(src), 0, 0, 0, 0,
	    ut_table(args, 2));
	ut_ok(c, "queue.declare with a dead-letter routing key");
	publish(c, "", src, false, &h, "dies again");
	acked_upto(c, 2);
	body = ut_get(c, 1, src, false, &ok, NULL);
	cr_assert_not_null(body);
	cr_assert_eq(amqp_basic_reject(c, 1, ok.delivery_tag, 0), 0);
	cr_assert_eq(ut_count_wait(c, 1, d3, 1, 2000), 1);
	expect_copy(c, d3, "dies again", -1);
	/* d1 and d2 hold only the copies of the publish itself. */
	cr_assert_eq(ut_count(c, 1, d1), 1);
	cr_assert_eq(ut_count(c, 1, d2), 1);
	hb_close(c);
}

Test(cc_bcc, a_cc_key_naming_a_direct_reply_to_channel_reaches_it_once)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*req = ut_queue(c, 1, "req");
	char			*other = ut_queue(c, 1, "other");
	amqp_basic_properties_t	 p;
	amqp_envelope_t		 env;
	struct hdrs		 h = { .t = { 0, NULL } };
	const char		*cc[3] = { NULL, NULL, NULL };
	char			*body, *addr;

	ut_consume_start(c, 1, "amq.rabbitmq.reply-to", NULL, true, false);
	memset(&p, 0, sizeof(p));
	p._flags = AMQP_BASIC_REPLY_TO_FLAG;
	p.reply_to = amqp_cstring_bytes("amq.rabbitmq.reply-to");
	ut_publish_full(c, 1, "", req, false, &p, amqp_cstring_bytes("q"));
	ut_channel(c, 2);
	cr_assert_eq(ut_count_wait(c, 2, req, 1, 2000), 1);
	body = ut_get(c, 2, req, true, NULL, &p);
	cr_assert_not_null(body);
	addr = ut_str_of(p.reply_to);
	cc[0] = addr;
	cc[1] = addr;
	add_keys(&h, "CC", cc);
	p = with_headers(&h, false);
	ut_publish_full(c, 2, "", other, false, &p,
	    amqp_cstring_bytes("answer"));
	cr_assert_eq(ut_consume(c, &env, 5000), 1, "no direct reply");
	cr_assert(bytes_is(env.message.body, "answer"));
	cr_assert(bytes_is(env.routing_key, other));
	amqp_destroy_envelope(&env);
	cr_assert_eq(ut_consume(c, &env, 500), 0, "a second reply");
	cr_assert_eq(ut_count_wait(c, 2, other, 1, 2000), 1);
	hb_close(c);
}

/*
 * A durable direct exchange x, durable queues dcc and dbcc bound to it by
 * the keys ckey and bkey (not their names, so that the default exchange
 * does not give them the published copies), and a durable queue src
 * dead-lettering to x.
 */
struct dlx_setup {
	char	*x, *src, *dcc, *dbcc, *ckey, *bkey;
};

static void
durable_queue(amqp_connection_state_t c, const char *name, amqp_table_t args)
{
	amqp_queue_declare(c, 1, amqp_cstring_bytes(name), 0, 1, 0, 0, args);
	ut_ok(c, "durable queue.declare");
}

static void
dlx_setup(amqp_connection_state_t c, struct dlx_setup *s)
{
	amqp_table_entry_t	arg;

	s->x = strdup(hb_name("bccx"));
	s->src = strdup(hb_name("bccsrc"));
	s->dcc = strdup(hb_name("bccdcc"));
	s->dbcc = strdup(hb_name("bccdbcc"));
	s->ckey = strdup(hb_name("cckey"));
	s->bkey = strdup(hb_name("bcckey"));
	amqp_exchange_declare(c, 1, amqp_cstring_bytes(s->x),
	    amqp_cstring_bytes("direct"), 0, 1, 0, 0, amqp_empty_table);
	ut_ok(c, "durable exchange.declare");
	durable_queue(c, s->dcc, amqp_empty_table);
	durable_queue(c, s->dbcc, amqp_empty_table);
	ut_bind(c, 1, s->dcc, s->x, s->ckey, amqp_empty_table);
	ut_bind(c, 1, s->dbcc, s->x, s->bkey, amqp_empty_table);
	arg = ut_str("x-dead-letter-exchange", s->x);
	durable_queue(c, s->src, ut_table(&arg, 1));
}

/* Publishes a persistent body to src with CC [ckey] and BCC [bkey]. */
static void
publish_cc_bcc(amqp_connection_state_t c, const struct dlx_setup *s,
    const char *expiration, const char *body)
{
	const char		*cc[] = { s->ckey, NULL };
	const char		*bcc[] = { s->bkey, NULL };
	struct hdrs		 h = { .t = { 0, NULL } };
	amqp_basic_properties_t	 p;

	add_keys(&h, "CC", cc);
	add_keys(&h, "BCC", bcc);
	p = with_headers(&h, true);
	if (expiration != NULL) {
		p._flags |= AMQP_BASIC_EXPIRATION_FLAG;
		p.expiration = amqp_cstring_bytes(expiration);
	}
	ut_publish_full(c, 1, "", s->src, false, &p,
	    amqp_cstring_bytes(body));
}

/*
 * A stored message read back after a restart (signo: SIGTERM, or SIGKILL
 * for kill -9) is dead-lettered by its BCC key as it would have been
 * before, rejected or expired, and the dead letter has no BCC header.
 */
static void
dead_letter_after_restart(int signo)
{
	amqp_connection_state_t	 c;
	struct dlx_setup	 s;
	amqp_basic_get_ok_t	 ok;
	char			*body;

	hb_require_warrend(&ut_broker);
	c = ut_connect();
	dlx_setup(c, &s);
	ut_confirm_select(c, 1);
	acked = acked_mask = 0;
	publish_cc_bcc(c, &s, NULL, "rejected");
	/* Long enough to outlive the restart, short for the test. */
	publish_cc_bcc(c, &s, "3000", "expired");
	acked_upto(c, 2);
	cr_assert_eq(ut_count(c, 1, s.dbcc), 0);
	cr_assert_eq(hb_halt(&ut_broker, signo), signo == SIGKILL ?
	    128 + SIGKILL : 0);
	amqp_destroy_connection(c);
	hb_restart(&ut_broker, NULL);

	c = ut_connect();
	cr_assert_eq(ut_count(c, 1, s.src), 2, "lost over the restart");
	body = ut_get(c, 1, s.src, false, &ok, NULL);
	cr_assert_not_null(body);
	cr_assert_str_eq(body, "rejected");
	free(body);
	cr_assert_eq(amqp_basic_reject(c, 1, ok.delivery_tag, 0), 0);
	cr_assert_eq(ut_count_wait(c, 1, s.dbcc, 1, 2000), 1,
	    "a rejected message read back lost its BCC key");
	cr_assert_eq(ut_count_wait(c, 1, s.dbcc, 2, 8000), 2,
	    "an expired message read back lost its BCC key");
	expect_copy(c, s.dbcc, "rejected", 1);
	expect_copy(c, s.dbcc, "expired", 1);
	cr_assert_eq(ut_count(c, 1, s.dcc), 2, "CC routes it too");
	expect_copy(c, s.dcc, "rejected", 1);
	expect_copy(c, s.dcc, "expired", 1);
	hb_close(c);
}

Test(cc_bcc, dead_letter_after_a_clean_restart_still_goes_by_bcc)
{
	dead_letter_after_restart(SIGTERM);
}

Test(cc_bcc, dead_letter_after_kill_9_still_goes_by_bcc)
{
	dead_letter_after_restart(SIGKILL);
}

/*
 * Deeper than the read-ahead (server/queue.h: QUEUE_READ_AHEAD, 1024
 * ready messages) of a durable queue, only the disk keeps a persistent
 * body: the message read back for its delivery is dead-lettered by its
 * BCC key all the same.
 */
Test(cc_bcc, deep_in_a_queue_a_message_read_back_is_dead_lettered_by_bcc)
{
	enum { FILL = 1024 };
	amqp_connection_state_t	 c;
	struct dlx_setup	 s;
	amqp_basic_properties_t	 p;
	amqp_envelope_t		 env;
	uint64_t		 tag = 0;

	c = ut_connect();
	dlx_setup(c, &s);
	ut_confirm_select(c, 1);
	memset(&p, 0, sizeof(p));
	p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
	p.delivery_mode = 2;
	for (int i = 0; i < FILL; i++)
		ut_publish_full(c, 1, "", s.src, false, &p,
		    amqp_cstring_bytes("filler"));
	publish_cc_bcc(c, &s, NULL, "deep");
	ut_confirm_wait(c, 1, FILL + 1);
	cr_assert_eq(ut_count(c, 1, s.src), FILL + 1);
	ut_consume_start(c, 1, s.src, NULL, false, false);
	for (int i = 0; i <= FILL; i++) {
		cr_assert_eq(ut_consume(c, &env, 5000), 1, "delivery %d", i);
		tag = env.delivery_tag;
		if (i == FILL)
			cr_assert_eq(env.message.body.len, 4);
		amqp_destroy_envelope(&env);
	}
	cr_assert_eq(amqp_basic_ack(c, 1, tag - 1, 1), 0);
	cr_assert_eq(amqp_basic_reject(c, 1, tag, 0), 0);
	cr_assert_eq(ut_count_wait(c, 1, s.dbcc, 1, 2000), 1,
	    "the message read back lost its BCC key");
	expect_copy(c, s.dbcc, "deep", 1);
	expect_copy(c, s.dcc, "deep", 1);
	hb_close(c);
}
