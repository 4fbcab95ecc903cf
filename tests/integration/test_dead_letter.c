/*
 * Dead-lettering end to end: rejected and expired messages go to the
 * queue's dead-letter exchange with RabbitMQ's x-death history, the
 * routing key can be replaced, a fully automatic cycle is dropped, a
 * missing exchange drops the message, a dead-lettered persistent
 * message survives kill -9, and an x-death a client forged, of any shape
 * or size, is taken as RabbitMQ takes it (or kept, where RabbitMQ loses
 * the message). Runs against RabbitMQ with WARREN_TEST_URL (but the
 * restart and the shapes RabbitMQ loses).
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

TestSuite(dead_letter, .timeout = 60);

static struct hbroker	b;

/* Declares q with a DLX (and a routing key, TTL when given). */
static void
declare_dl(amqp_connection_state_t c, const char *q, const char *dlx,
    const char *dlrk, int ttl, bool durable)
{
	amqp_table_entry_t	e[3];
	amqp_table_t		t = { 0, e };

	e[t.num_entries].key = amqp_cstring_bytes("x-dead-letter-exchange");
	e[t.num_entries].value.kind = AMQP_FIELD_KIND_UTF8;
	e[t.num_entries++].value.value.bytes = amqp_cstring_bytes(dlx);
	if (dlrk != NULL) {
		e[t.num_entries].key =
		    amqp_cstring_bytes("x-dead-letter-routing-key");
		e[t.num_entries].value.kind = AMQP_FIELD_KIND_UTF8;
		e[t.num_entries++].value.value.bytes = amqp_cstring_bytes(dlrk);
	}
	if (ttl >= 0) {
		e[t.num_entries].key = amqp_cstring_bytes("x-message-ttl");
		e[t.num_entries].value.kind = AMQP_FIELD_KIND_I32;
		e[t.num_entries++].value.value.i32 = ttl;
	}
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, durable, 0, 0, t);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
}

static void
plain_queue(amqp_connection_state_t c, const char *q, bool durable)
{
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, durable, 0, 0,
	    amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
}

static void
publish(amqp_connection_state_t c, const char *x, const char *key,
    const char *body, const char *expiration, bool persistent)
{
	amqp_basic_properties_t	p = ut_props(expiration, persistent);

	cr_assert_eq(amqp_basic_publish(c, 1, amqp_cstring_bytes(x),
	    amqp_cstring_bytes(key), 0, 0, &p, amqp_cstring_bytes(body)), 0);
}

/* basic.get with ack; fills m (caller destroys); false when empty. */
static bool
get(amqp_connection_state_t c, const char *q, amqp_message_t *m,
    uint64_t *tag, amqp_bytes_t *rk)
{
	amqp_rpc_reply_t	 r;
	amqp_basic_get_ok_t	*ok;

	for (int i = 0; i < 50; i++) {
		amqp_basic_get(c, 1, amqp_cstring_bytes(q), 0);
		r = amqp_get_rpc_reply(c);
		cr_assert_eq(r.reply_type, AMQP_RESPONSE_NORMAL);
		if (r.reply.id == AMQP_BASIC_GET_OK_METHOD)
			break;
		usleep(20 * 1000);
	}
	if (r.reply.id != AMQP_BASIC_GET_OK_METHOD)
		return false;
	ok = r.reply.decoded;
	*tag = ok->delivery_tag;
	if (rk != NULL)
		*rk = amqp_bytes_malloc_dup(ok->routing_key);
	cr_assert_eq(amqp_read_message(c, 1, m, 0).reply_type,
	    AMQP_RESPONSE_NORMAL);
	return true;
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

/* The first x-death entry of m. */
static const amqp_table_t *
first_death(const amqp_message_t *m, int *ndeaths)
{
	const amqp_table_entry_t *xd;

	cr_assert(m->properties._flags & AMQP_BASIC_HEADERS_FLAG);
	cr_assert_not_null(xd = entry(&m->properties.headers, "x-death"));
	cr_assert_eq(xd->value.kind, AMQP_FIELD_KIND_ARRAY);
	*ndeaths = xd->value.value.array.num_entries;
	cr_assert_gt(*ndeaths, 0);
	cr_assert_eq(xd->value.value.array.entries[0].kind,
	    AMQP_FIELD_KIND_TABLE);
	return &xd->value.value.array.entries[0].value.table;
}

static void
assert_str(const amqp_table_t *t, const char *key, const char *want)
{
	const amqp_table_entry_t *e = entry(t, key);

	cr_assert_not_null(e, "no %s", key);
	cr_assert(e->value.kind == AMQP_FIELD_KIND_UTF8 ||
	    e->value.kind == AMQP_FIELD_KIND_BYTES);
	cr_assert(bytes_is(e->value.value.bytes, want), "%s is '%.*s', not "
	    "'%s'", key, (int)e->value.value.bytes.len,
	    (char *)e->value.value.bytes.bytes, want);
}

static int64_t
count_of(const amqp_table_t *t)
{
	const amqp_table_entry_t *e = entry(t, "count");

	cr_assert_not_null(e);
	cr_assert_eq(e->value.kind, AMQP_FIELD_KIND_I64);
	return e->value.value.i64;
}

Test(dead_letter, rejected_message_carries_x_death)
{
	amqp_connection_state_t	 c;
	const char		*x = strdup(hb_name("dlx"));
	const char		*q = strdup(hb_name("src"));
	const char		*dq = strdup(hb_name("dst"));
	const amqp_table_t	*d;
	amqp_message_t		 m;
	amqp_bytes_t		 rk;
	uint64_t		 tag;
	int			 n;

	hb_start(&b, NULL);
	c = hb_connect(&b);
	amqp_exchange_declare(c, 1, amqp_cstring_bytes(x),
	    amqp_cstring_bytes("direct"), 0, 0, 1, 0, amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	plain_queue(c, dq, false);
	amqp_queue_bind(c, 1, amqp_cstring_bytes(dq), amqp_cstring_bytes(x),
	    amqp_cstring_bytes("dead"), amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	declare_dl(c, q, x, "dead", -1, false);
	publish(c, "", q, "body", "60000", false);
	cr_assert(get(c, q, &m, &tag, NULL));
	amqp_destroy_message(&m);
	cr_assert_eq(amqp_basic_reject(c, 1, tag, 0), 0);
	cr_assert(get(c, dq, &m, &tag, &rk), "not dead-lettered");
	cr_assert(bytes_is(rk, "dead"), "routing key not replaced");
	cr_assert(bytes_is(m.body, "body"));
	cr_assert_not(m.properties._flags & AMQP_BASIC_EXPIRATION_FLAG,
	    "expiration kept");
	d = first_death(&m, &n);
	cr_assert_eq(n, 1);
	cr_assert_eq(count_of(d), 1);
	assert_str(d, "reason", "rejected");
	assert_str(d, "queue", q);
	assert_str(d, "exchange", "");
	assert_str(d, "original-expiration", "60000");
	cr_assert_not_null(entry(d, "time"));
	cr_assert_not_null(entry(d, "routing-keys"));
	assert_str(&m.properties.headers, "x-first-death-reason", "rejected");
	assert_str(&m.properties.headers, "x-first-death-queue", q);
	assert_str(&m.properties.headers, "x-first-death-exchange", "");
	cr_assert_eq(amqp_basic_ack(c, 1, tag, 0), 0);
	amqp_destroy_message(&m);
	amqp_bytes_free(rk);
	hb_close(c);
	hb_stop(&b);
}

Test(dead_letter, a_second_death_counts_and_expiry_dead_letters)
{
	amqp_connection_state_t	 c;
	const char		*q = strdup(hb_name("twice"));
	const char		*dq = strdup(hb_name("back"));
	const char		*tq = strdup(hb_name("ttl"));
	const amqp_table_t	*d;
	amqp_message_t		 m;
	uint64_t		 tag;
	int			 n;

	hb_start(&b, NULL);
	c = hb_connect(&b);
	plain_queue(c, dq, false);
	/* Rejections go through the default exchange to dq. */
	declare_dl(c, q, "", dq, -1, false);
	publish(c, "", q, "m", NULL, false);
	for (int round = 1; round <= 2; round++) {
		cr_assert(get(c, q, &m, &tag, NULL));
		cr_assert_eq(amqp_basic_reject(c, 1, tag, 0), 0);
		amqp_destroy_message(&m);
		cr_assert(get(c, dq, &m, &tag, NULL), "round %d", round);
		d = first_death(&m, &n);
		cr_assert_eq(n, 1, "one entry per queue and reason");
		cr_assert_eq(count_of(d), round);
		cr_assert_eq(amqp_basic_ack(c, 1, tag, 0), 0);
		if (round == 1) {
			amqp_basic_properties_t p = m.properties;

			/* Back into q with its history. */
			cr_assert_eq(amqp_basic_publish(c, 1,
			    amqp_empty_bytes, amqp_cstring_bytes(q), 0, 0, &p,
			    m.body), 0);
		}
		amqp_destroy_message(&m);
	}
	/* Expired by the queue's TTL: reason "expired". */
	declare_dl(c, tq, "", dq, 100, false);
	publish(c, "", tq, "old", NULL, false);
	usleep(400 * 1000);
	cr_assert(get(c, dq, &m, &tag, NULL), "expired message not dead-lettered");
	d = first_death(&m, &n);
	assert_str(d, "reason", "expired");
	assert_str(d, "queue", tq);
	cr_assert_eq(amqp_basic_ack(c, 1, tag, 0), 0);
	amqp_destroy_message(&m);
	hb_close(c);
	hb_stop(&b);
}

Test(dead_letter, automatic_cycles_and_missing_exchanges_drop)
{
	amqp_connection_state_t	 c;
	const char		*q = strdup(hb_name("cyc"));
	const char		*lost = strdup(hb_name("lost"));
	amqp_queue_declare_ok_t	*ok;
	amqp_message_t		 m;
	uint64_t		 tag;

	hb_start(&b, NULL);
	c = hb_connect(&b);
	/* Expiring back into itself: dropped, not looping. */
	declare_dl(c, q, "", q, 100, false);
	publish(c, "", q, "loop", NULL, false);
	usleep(500 * 1000);
	ok = amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 1, 0, 0, 0,
	    amqp_empty_table);
	cr_assert_not_null(ok);
	cr_assert_eq(ok->message_count, 0, "an automatic cycle kept going");
	/* A dead-letter exchange that does not exist: the message goes. */
	declare_dl(c, lost, "no-such-exchange", NULL, -1, false);
	publish(c, "", lost, "x", NULL, false);
	cr_assert(get(c, lost, &m, &tag, NULL));
	amqp_destroy_message(&m);
	cr_assert_eq(amqp_basic_reject(c, 1, tag, 0), 0);
	ok = amqp_queue_declare(c, 1, amqp_cstring_bytes(lost), 1, 0, 0, 0,
	    amqp_empty_table);
	cr_assert_not_null(ok);
	cr_assert_eq(ok->message_count, 0);
	hb_close(c);
	hb_stop(&b);
}

Test(dead_letter, dead_lettered_persistent_message_survives_kill_9)
{
	amqp_connection_state_t	 c;
	const char		*q = strdup(hb_name("psrc"));
	const char		*dq = strdup(hb_name("pdst"));
	amqp_message_t		 m;
	uint64_t		 tag;
	int			 n;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = hb_connect(&b);
	plain_queue(c, dq, true);
	declare_dl(c, q, "", dq, -1, true);
	publish(c, "", q, "keep me", NULL, true);
	cr_assert(get(c, q, &m, &tag, NULL));
	amqp_destroy_message(&m);
	cr_assert_eq(amqp_basic_reject(c, 1, tag, 0), 0);
	/* A round trip: the reject's batch is committed before it. */
	plain_queue(c, dq, true);
	cr_assert_eq(hb_halt(&b, SIGKILL), 128 + SIGKILL);
	amqp_destroy_connection(c);
	hb_restart(&b, NULL);
	c = hb_connect(&b);
	cr_assert(get(c, dq, &m, &tag, NULL), "dead-lettered message lost");
	cr_assert(bytes_is(m.body, "keep me"));
	(void)first_death(&m, &n);
	amqp_destroy_message(&m);
	cr_assert_eq(amqp_basic_ack(c, 1, tag, 0), 0);
	cr_assert_not(get(c, q, &m, &tag, NULL), "the rejected one came back");
	hb_close(c);
	hb_stop(&b);
}

static void
declare_maxlen(amqp_connection_state_t c, const char *q, int max,
    const char *overflow, const char *dlrk)
{
	amqp_table_entry_t	e[4];
	amqp_table_t		t = { 0, e };

	e[t.num_entries].key = amqp_cstring_bytes("x-max-length");
	e[t.num_entries].value.kind = AMQP_FIELD_KIND_I32;
	e[t.num_entries++].value.value.i32 = max;
	if (overflow != NULL) {
		e[t.num_entries].key = amqp_cstring_bytes("x-overflow");
		e[t.num_entries].value.kind = AMQP_FIELD_KIND_UTF8;
		e[t.num_entries++].value.value.bytes =
		    amqp_cstring_bytes(overflow);
	}
	if (dlrk != NULL) {
		e[t.num_entries].key =
		    amqp_cstring_bytes("x-dead-letter-exchange");
		e[t.num_entries].value.kind = AMQP_FIELD_KIND_UTF8;
		e[t.num_entries++].value.value.bytes = amqp_cstring_bytes("");
		e[t.num_entries].key =
		    amqp_cstring_bytes("x-dead-letter-routing-key");
		e[t.num_entries].value.kind = AMQP_FIELD_KIND_UTF8;
		e[t.num_entries++].value.value.bytes = amqp_cstring_bytes(dlrk);
	}
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 0, 0, 0, t);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
}

static uint32_t
ready(amqp_connection_state_t c, const char *q)
{
	amqp_queue_declare_ok_t	*ok = amqp_queue_declare(c, 1,
	    amqp_cstring_bytes(q), 1, 0, 0, 0, amqp_empty_table);

	cr_assert_not_null(ok);
	return ok->message_count;
}

/* Polls ready(c, q) (<= 2 s) until it is want; returns the last count. */
static uint32_t
ready_wait(amqp_connection_state_t c, const char *q, uint32_t want)
{
	uint32_t	n = 0;

	/* RabbitMQ applies x-max-length a moment after the publishes. */
	for (int i = 0; i < 100 && (n = ready(c, q)) != want; i++)
		usleep(20 * 1000);
	return n;
}

/* The confirm of the last publish on channel 1: 1 ack, 0 nack. */
static int
confirm_of(amqp_connection_state_t c)
{
	struct timeval	tv = { 5, 0 };
	amqp_frame_t	f;

	for (;;) {
		cr_assert_eq(amqp_simple_wait_frame_noblock(c, &f, &tv),
		    AMQP_STATUS_OK, "no confirm");
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		if (f.payload.method.id == AMQP_BASIC_ACK_METHOD)
			return 1;
		if (f.payload.method.id == AMQP_BASIC_NACK_METHOD)
			return 0;
	}
}

Test(dead_letter, max_length_drops_the_oldest_ready_to_the_dlx)
{
	amqp_connection_state_t	 c;
	const char		*q = strdup(hb_name("ml"));
	const char		*dq = strdup(hb_name("mldead"));
	const char		*q2 = strdup(hb_name("mlun"));
	const amqp_table_t	*d;
	amqp_message_t		 m;
	uint64_t		 tag;
	char			 body[8];
	int			 n;

	hb_start(&b, NULL);
	c = hb_connect(&b);
	plain_queue(c, dq, false);
	declare_maxlen(c, q, 2, NULL, dq);
	for (int i = 0; i < 4; i++) {
		snprintf(body, sizeof(body), "m%d", i);
		publish(c, "", q, body, NULL, false);
	}
	cr_assert_eq(ready_wait(c, q, 2), 2);
	cr_assert_eq(ready_wait(c, dq, 2), 2);
	cr_assert(get(c, dq, &m, &tag, NULL));
	cr_assert(bytes_is(m.body, "m0"), "not the oldest first");
	d = first_death(&m, &n);
	assert_str(d, "reason", "maxlen");
	amqp_destroy_message(&m);
	cr_assert(get(c, q, &m, &tag, NULL));
	cr_assert(bytes_is(m.body, "m2"));
	amqp_destroy_message(&m);
	/* Unacked messages do not count against the limit. */
	declare_maxlen(c, q2, 1, NULL, NULL);
	publish(c, "", q2, "a", NULL, false);
	cr_assert(get(c, q2, &m, &tag, NULL));
	amqp_destroy_message(&m);
	publish(c, "", q2, "b", NULL, false);
	cr_assert_eq(ready_wait(c, q2, 1), 1);
	hb_close(c);
	hb_stop(&b);
}

Test(dead_letter, reject_publish_nacks_and_reject_publish_dlx_dead_letters)
{
	amqp_connection_state_t	 c;
	const char		*q = strdup(hb_name("rp"));
	const char		*qd = strdup(hb_name("rpd"));
	const char		*dq = strdup(hb_name("rpdead"));
	amqp_message_t		 m;
	uint64_t		 tag;

	hb_start(&b, NULL);
	c = hb_connect(&b);
	plain_queue(c, dq, false);
	declare_maxlen(c, q, 1, "reject-publish", NULL);
	declare_maxlen(c, qd, 1, "reject-publish-dlx", dq);
	amqp_confirm_select(c, 1);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	publish(c, "", q, "first", NULL, false);
	cr_assert_eq(confirm_of(c), 1);
	publish(c, "", q, "second", NULL, false);
	cr_assert_eq(confirm_of(c), 0, "a full reject-publish queue acked");
	cr_assert_eq(ready(c, q), 1);
	cr_assert(get(c, q, &m, &tag, NULL));
	cr_assert(bytes_is(m.body, "first"), "the newcomer replaced it");
	amqp_destroy_message(&m);
	cr_assert_eq(amqp_basic_ack(c, 1, tag, 0), 0);
	publish(c, "", qd, "kept", NULL, false);
	cr_assert_eq(confirm_of(c), 1);
	publish(c, "", qd, "refused", NULL, false);
	cr_assert_eq(confirm_of(c), 0);
	cr_assert(get(c, dq, &m, &tag, NULL), "refused message not "
	    "dead-lettered");
	cr_assert(bytes_is(m.body, "refused"));
	amqp_destroy_message(&m);
	cr_assert_eq(amqp_basic_ack(c, 1, tag, 0), 0);
	hb_close(c);
	hb_stop(&b);
}

/* ---- x-death headers a client sent (RELIABILITY item 15) ------------- */

static amqp_field_value_t
table_of(amqp_table_entry_t *e, int n)
{
	amqp_field_value_t	v;

	v.kind = AMQP_FIELD_KIND_TABLE;
	v.value.table.num_entries = n;
	v.value.table.entries = e;
	return v;
}

static amqp_field_value_t
array_of(amqp_field_value_t *v, int n)
{
	amqp_field_value_t	a;

	a.kind = AMQP_FIELD_KIND_ARRAY;
	a.value.array.num_entries = n;
	a.value.array.entries = v;
	return a;
}

/*
 * Publishes a message with headers "keep" and, when xd is not NULL,
 * x-death = *xd (plus extra, when given) to src, rejects it there and
 * returns it as dead-lettered to dq (destroy it).
 */
static amqp_message_t
die_with(amqp_connection_state_t c, const char *src, const char *dq,
    const amqp_field_value_t *xd, const amqp_table_entry_t *extra)
{
	amqp_basic_properties_t	p;
	amqp_table_entry_t	e[3];
	amqp_message_t		m;
	uint64_t		tag;

	memset(&p, 0, sizeof(p));
	p._flags = AMQP_BASIC_HEADERS_FLAG;
	p.headers.entries = e;
	e[p.headers.num_entries++] = ut_str("keep", "me");
	if (xd != NULL) {
		e[p.headers.num_entries].key = amqp_cstring_bytes("x-death");
		e[p.headers.num_entries++].value = *xd;
	}
	if (extra != NULL)
		e[p.headers.num_entries++] = *extra;
	cr_assert_eq(amqp_basic_publish(c, 1, amqp_empty_bytes,
	    amqp_cstring_bytes(src), 0, 0, &p, amqp_cstring_bytes("forged")),
	    0);
	cr_assert(get(c, src, &m, &tag, NULL));
	amqp_destroy_message(&m);
	cr_assert_eq(amqp_basic_reject(c, 1, tag, 0), 0);
	cr_assert(get(c, dq, &m, &tag, NULL), "not dead-lettered");
	cr_assert_eq(amqp_basic_ack(c, 1, tag, 0), 0);
	assert_str(&m.properties.headers, "keep", "me");
	return m;
}

/* The x-death array of m, asserting it has n entries (n < 0: any). */
static const amqp_array_t *
deaths_of(const amqp_message_t *m, int n)
{
	const amqp_table_entry_t *xd = entry(&m->properties.headers,
	    "x-death");

	cr_assert_not_null(xd);
	cr_assert_eq(xd->value.kind, AMQP_FIELD_KIND_ARRAY);
	if (n >= 0)
		cr_assert_eq(xd->value.value.array.num_entries, n,
		    "%d x-death entries, not %d",
		    xd->value.value.array.num_entries, n);
	return &xd->value.value.array;
}

/* Asserts death i is this rejection from q, counted count times. */
static void
assert_death(const amqp_array_t *a, int i, const char *q, int64_t count)
{
	const amqp_table_t	*d;

	cr_assert_eq(a->entries[i].kind, AMQP_FIELD_KIND_TABLE);
	d = &a->entries[i].value.table;
	assert_str(d, "queue", q);
	assert_str(d, "reason", "rejected");
	cr_assert_eq(count_of(d), count);
}

static void
assert_no_first_death(const amqp_message_t *m)
{
	cr_assert_null(entry(&m->properties.headers, "x-first-death-reason"));
	cr_assert_null(entry(&m->properties.headers, "x-first-death-queue"));
	cr_assert_null(entry(&m->properties.headers,
	    "x-first-death-exchange"));
}

Test(dead_letter, a_forged_x_death_that_is_no_array_is_replaced_by_this_death)
{
	amqp_connection_state_t	 c;
	const char		*q = strdup(hb_name("fsrc"));
	const char		*dq = strdup(hb_name("fdst"));
	amqp_field_value_t	 xd[3];
	amqp_message_t		 m;

	hb_start(&b, NULL);
	c = hb_connect(&b);
	plain_queue(c, dq, false);
	declare_dl(c, q, "", dq, -1, false);
	xd[0].kind = AMQP_FIELD_KIND_UTF8;
	xd[0].value.bytes = amqp_cstring_bytes("garbage");
	xd[1].kind = AMQP_FIELD_KIND_I32;
	xd[1].value.i32 = 5;
	xd[2] = array_of(NULL, 0);
	for (int i = 0; i < 3; i++) {
		m = die_with(c, q, dq, &xd[i], NULL);
		assert_death(deaths_of(&m, 1), 0, q, 1);
		/* compat: only a message without x-death gets these. */
		assert_no_first_death(&m);
		amqp_destroy_message(&m);
	}
	hb_close(c);
	hb_stop(&b);
}

Test(dead_letter, a_forged_entry_of_the_queue_and_reason_is_counted_and_merged)
{
	amqp_connection_state_t	 c;
	const char		*q = strdup(hb_name("csrc"));
	const char		*dq = strdup(hb_name("cdst"));
	amqp_table_entry_t	 e1[6], e2[3], e3[3], e4[2], e5[3];
	amqp_field_value_t	 rk, v[3], xd;
	const amqp_array_t	*a;
	const amqp_table_entry_t *t;
	amqp_message_t		 m;

	hb_start(&b, NULL);
	c = hb_connect(&b);
	plain_queue(c, dq, false);
	declare_dl(c, q, "", dq, -1, false);
	/* Well-formed as a client may send them back: counted. */
	rk.kind = AMQP_FIELD_KIND_UTF8;
	rk.value.bytes = amqp_cstring_bytes("old-key");
	e1[0] = ut_i32("count", 2);
	e1[1] = ut_str("queue", q);
	e1[2] = ut_str("reason", "rejected");
	e1[3].key = amqp_cstring_bytes("time");
	e1[3].value.kind = AMQP_FIELD_KIND_TIMESTAMP;
	e1[3].value.value.u64 = 1577836800;
	e1[4] = ut_str("exchange", "old-exchange");
	e1[5].key = amqp_cstring_bytes("routing-keys");
	e1[5].value = array_of(&rk, 1);
	e2[0] = ut_i32("count", 3);
	e2[1] = ut_str("queue", "elsewhere");
	e2[2] = ut_str("reason", "expired");
	/* A second entry of this queue and reason: merged into the first. */
	e3[0] = ut_i32("count", 7);
	e3[1] = ut_str("queue", q);
	e3[2] = ut_str("reason", "rejected");
	v[0] = table_of(e1, 6);
	v[1] = table_of(e2, 3);
	v[2] = table_of(e3, 3);
	xd = array_of(v, 3);
	m = die_with(c, q, dq, &xd, NULL);
	a = deaths_of(&m, 2);
	assert_death(a, 0, q, 3);
	/* compat: the rest of the entry is kept, its time included. */
	assert_str(&a->entries[0].value.table, "exchange", "old-exchange");
	cr_assert_not_null(t = entry(&a->entries[0].value.table, "time"));
	cr_assert_eq(t->value.kind, AMQP_FIELD_KIND_TIMESTAMP);
	cr_assert_eq(t->value.value.u64, 1577836800);
	assert_str(&a->entries[1].value.table, "queue", "elsewhere");
	cr_assert_eq(a->entries[1].value.table.entries[0].value.value.i32, 3);
	assert_no_first_death(&m);
	amqp_destroy_message(&m);
	/* No count: 1, as RabbitMQ. A binary queue name is the name. */
	e4[0] = ut_str("queue", q);
	e4[1] = ut_str("reason", "rejected");
	v[0] = table_of(e4, 2);
	xd = array_of(v, 1);
	m = die_with(c, q, dq, &xd, NULL);
	assert_death(deaths_of(&m, 1), 0, q, 1);
	amqp_destroy_message(&m);
	e5[0] = ut_i32("count", 4);
	e5[1].key = amqp_cstring_bytes("queue");
	e5[1].value.kind = AMQP_FIELD_KIND_BYTES;
	e5[1].value.value.bytes = amqp_cstring_bytes(q);
	e5[2] = ut_str("reason", "rejected");
	v[0] = table_of(e5, 3);
	m = die_with(c, q, dq, &xd, NULL);
	a = deaths_of(&m, 1);
	cr_assert_eq(count_of(&a->entries[0].value.table), 5);
	amqp_destroy_message(&m);
	hb_close(c);
	hb_stop(&b);
}

Test(dead_letter, forged_entries_of_other_shapes_are_kept_and_this_death_goes_first)
{
	amqp_connection_state_t	 c;
	const char		*q = strdup(hb_name("ssrc"));
	const char		*dq = strdup(hb_name("sdst"));
	amqp_table_entry_t	 e1[2], e2[3], e3[3], first;
	amqp_field_value_t	 v[4], xd;
	const amqp_array_t	*a;
	amqp_message_t		 m;

	hb_start(&b, NULL);
	c = hb_connect(&b);
	plain_queue(c, dq, false);
	declare_dl(c, q, "", dq, -1, false);
	/* No queue; another reason of this queue; an empty table. */
	e1[0] = ut_i32("count", 2);
	e1[1] = ut_str("reason", "rejected");
	e2[0] = ut_i32("count", 9);
	e2[1] = ut_str("queue", q);
	e2[2] = ut_str("reason", "expired");
	v[0] = table_of(e1, 2);
	v[1] = table_of(e2, 3);
	v[2] = table_of(NULL, 0);
	xd = array_of(v, 3);
	m = die_with(c, q, dq, &xd, NULL);
	/* compat: 3.10 reverses the older entries; their order is open. */
	a = deaths_of(&m, 4);
	assert_death(a, 0, q, 1);
	for (int i = 1; i < 4; i++)
		cr_assert_eq(a->entries[i].kind, AMQP_FIELD_KIND_TABLE);
	amqp_destroy_message(&m);
	/* Forged x-first-death-* without x-death: overwritten. */
	first = ut_str("x-first-death-queue", "forged");
	m = die_with(c, q, dq, NULL, &first);
	assert_str(&m.properties.headers, "x-first-death-queue", q);
	assert_str(&m.properties.headers, "x-first-death-reason", "rejected");
	amqp_destroy_message(&m);
	/* With an x-death they are the client's business. */
	v[0] = table_of(e2, 3);
	xd = array_of(v, 1);
	m = die_with(c, q, dq, &xd, &first);
	assert_str(&m.properties.headers, "x-first-death-queue", "forged");
	cr_assert_null(entry(&m.properties.headers, "x-first-death-reason"));
	amqp_destroy_message(&m);
	if (!b.external) {
		/*
		 * RabbitMQ 3.10 loses these messages (its dead-lettering
		 * fails on them); warren keeps what it cannot read.
		 */
		v[0].kind = AMQP_FIELD_KIND_UTF8;
		v[0].value.bytes = amqp_cstring_bytes("not a table");
		e3[0] = ut_str("count", "two");
		e3[1] = ut_str("queue", q);
		e3[2] = ut_str("reason", "rejected");
		v[1] = table_of(e3, 3);
		xd = array_of(v, 2);
		m = die_with(c, q, dq, &xd, NULL);
		a = deaths_of(&m, 2);
		assert_death(a, 0, q, 1);
		cr_assert_eq(a->entries[1].kind, AMQP_FIELD_KIND_UTF8);
		amqp_destroy_message(&m);
	}
	hb_close(c);
	hb_stop(&b);
}

Test(dead_letter, a_huge_forged_x_death_is_dead_lettered_promptly)
{
	amqp_connection_state_t	 c;
	const char		*q = strdup(hb_name("hsrc"));
	const char		*dq = strdup(hb_name("hdst"));
	amqp_field_value_t	*v, xd;
	const amqp_array_t	*a;
	amqp_message_t		 m;
	int			 n;

	hb_start(&b, NULL);
	/*
	 * 24000 empty tables fill most of a 128 KiB frame. RabbitMQ
	 * groups the entries in quadratic time (seconds for this many),
	 * so it gets fewer.
	 */
	n = b.external ? 2000 : 24000;
	cr_assert_not_null(v = calloc((size_t)n, sizeof(*v)));
	for (int i = 0; i < n; i++)
		v[i] = table_of(NULL, 0);
	c = hb_connect(&b);
	plain_queue(c, dq, false);
	declare_dl(c, q, "", dq, -1, false);
	xd = array_of(v, n);
	m = die_with(c, q, dq, &xd, NULL);
	a = deaths_of(&m, -1);
	assert_death(a, 0, q, 1);
	amqp_destroy_message(&m);
	/* And the broker goes on serving. */
	publish(c, "", dq, "after", NULL, false);
	cr_assert(get(c, dq, &m, &(uint64_t){ 0 }, NULL));
	cr_assert(bytes_is(m.body, "after"));
	amqp_destroy_message(&m);
	hb_close(c);
	cr_assert(hb_alive(&b));
	hb_stop(&b);
	free(v);
}
