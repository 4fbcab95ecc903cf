/*
 * Dead-lettering end to end: rejected and expired messages go to the
 * queue's dead-letter exchange with RabbitMQ's x-death history, the
 * routing key can be replaced, a fully automatic cycle is dropped, a
 * missing exchange drops the message, and a dead-lettered persistent
 * message survives kill -9. Runs against RabbitMQ with WARREN_TEST_URL
 * (but the restart).
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
	cr_assert_eq(ready(c, q), 2);
	cr_assert_eq(ready(c, dq), 2);
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
	cr_assert_eq(ready(c, q2), 1);
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
