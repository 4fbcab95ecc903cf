/*
 * Exact per-message TTL: every message expires at its own deadline,
 * wherever it is in the queue, and is dead-lettered with reason "expired"
 * at that moment (RabbitMQ drops an expired message only when it reaches
 * the head: these tests skip against it). Durable queues included, and a
 * deadline that passed while the broker was down.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

TestSuite(exact_ttl, .timeout = 90);

static struct hbroker	b;

static double
now_s(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Declares q dead-lettering to dq through the default exchange. */
static void
declare_dl(amqp_connection_state_t c, const char *q, const char *dq,
    bool durable, int ttl, int max_priority)
{
	amqp_table_entry_t	e[4];
	amqp_table_t		t = { 0, e };

	e[t.num_entries].key = amqp_cstring_bytes("x-dead-letter-exchange");
	e[t.num_entries].value.kind = AMQP_FIELD_KIND_UTF8;
	e[t.num_entries++].value.value.bytes = amqp_cstring_bytes("");
	e[t.num_entries].key = amqp_cstring_bytes("x-dead-letter-routing-key");
	e[t.num_entries].value.kind = AMQP_FIELD_KIND_UTF8;
	e[t.num_entries++].value.value.bytes = amqp_cstring_bytes(dq);
	if (ttl >= 0) {
		e[t.num_entries].key = amqp_cstring_bytes("x-message-ttl");
		e[t.num_entries].value.kind = AMQP_FIELD_KIND_I32;
		e[t.num_entries++].value.value.i32 = ttl;
	}
	if (max_priority > 0) {
		e[t.num_entries].key = amqp_cstring_bytes("x-max-priority");
		e[t.num_entries].value.kind = AMQP_FIELD_KIND_I32;
		e[t.num_entries++].value.value.i32 = max_priority;
	}
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, durable, 0, 0, t);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	amqp_queue_declare(c, 1, amqp_cstring_bytes(dq), 0, durable, 0, 0,
	    amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
}

static void
publish(amqp_connection_state_t c, const char *q, const char *body,
    const char *expiration, bool persistent, int priority)
{
	amqp_basic_properties_t	p = ut_props(expiration, persistent);

	if (priority > 0) {
		p._flags |= AMQP_BASIC_PRIORITY_FLAG;
		p.priority = (uint8_t)priority;
	}
	cr_assert_eq(amqp_basic_publish(c, 1, amqp_empty_bytes,
	    amqp_cstring_bytes(q), 0, 0, &p, amqp_cstring_bytes(body)), 0);
}

static void
consume(amqp_connection_state_t c, const char *q)
{
	amqp_basic_consume(c, 1, amqp_cstring_bytes(q), amqp_empty_bytes, 0,
	    1, 0, amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
}

static bool
bytes_is(amqp_bytes_t v, const char *s)
{
	return v.len == strlen(s) &&
	    (v.len == 0 || memcmp(v.bytes, s, v.len) == 0);
}

/* The "reason" of the first x-death entry of the delivered message. */
static bool
died_of(const amqp_envelope_t *env, const char *reason)
{
	const amqp_table_t *h = &env->message.properties.headers;

	if (!(env->message.properties._flags & AMQP_BASIC_HEADERS_FLAG))
		return false;
	for (int i = 0; i < h->num_entries; i++) {
		const amqp_field_value_t *v = &h->entries[i].value;
		const amqp_table_t *d;

		if (!bytes_is(h->entries[i].key, "x-death") ||
		    v->kind != AMQP_FIELD_KIND_ARRAY ||
		    v->value.array.num_entries < 1 ||
		    v->value.array.entries[0].kind != AMQP_FIELD_KIND_TABLE)
			return false;
		d = &v->value.array.entries[0].value.table;
		for (int j = 0; j < d->num_entries; j++)
			if (bytes_is(d->entries[j].key, "reason"))
				return bytes_is(d->entries[j].value.value.bytes,
				    reason);
	}
	return false;
}

/*
 * Waits (<= secs) for the next delivery of a no-ack consumer; returns its
 * body (malloc'd) and the time it arrived, or NULL on timeout.
 */
static char *
next(amqp_connection_state_t c, double secs, double *at, bool *expired)
{
	struct timeval		tv = { (time_t)secs,
	    (suseconds_t)((secs - (double)(time_t)secs) * 1e6) };
	amqp_envelope_t		env;
	amqp_rpc_reply_t	r;
	char			*s;

	amqp_maybe_release_buffers(c);
	r = amqp_consume_message(c, &env, &tv, 0);
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		return NULL;
	*at = now_s();
	if (expired != NULL)
		*expired = died_of(&env, "expired");
	s = strndup(env.message.body.bytes, env.message.body.len);
	amqp_destroy_envelope(&env);
	return s;
}

/* A broker, a publisher and a consumer connection; q dead-letters to dq. */
struct fixture {
	amqp_connection_state_t	 c, cc;
	const char		*q, *dq;
};

static void
start(struct fixture *f, const char *name, bool durable, int ttl,
    int max_priority)
{
	f->q = strdup(hb_name(name));
	f->dq = strdup(hb_name("dead"));
	hb_start(&b, NULL);
	hb_require_warrend(&b);
	f->c = hb_connect(&b);
	f->cc = hb_connect(&b);
	declare_dl(f->c, f->q, f->dq, durable, ttl, max_priority);
	consume(f->cc, f->dq);
}

static void
finish(struct fixture *f)
{
	hb_close(f->cc);
	hb_close(f->c);
	hb_stop(&b);
}

static void
short_behind_long(bool durable)
{
	struct fixture	 f;
	double		 t0, at;
	bool		 expired;
	char		*s;

	start(&f, "retry", durable, -1, 0);
	publish(f.c, f.q, "60 s", "60000", durable, 0);
	t0 = now_s();
	publish(f.c, f.q, "1 s", "1000", durable, 0);
	cr_assert_not_null(s = next(f.cc, 3., &at, &expired),
	    "the 1 s message was not dead-lettered");
	cr_assert_str_eq(s, "1 s");
	cr_assert(expired, "not dead-lettered as expired");
	/* compat (difference): RabbitMQ keeps it behind the 60 s one. */
	cr_assert_lt(at - t0, 1.5, "dead-lettered %.3f s after publish",
	    at - t0);
	cr_assert_geq(at - t0, 0.99, "expired early: after %.3f s", at - t0);
	cr_assert_eq(ut_count(f.c, 1, f.q), 1,
	    "the 60 s message should still wait");
	free(s);
	finish(&f);
}

Test(exact_ttl, a_1s_message_behind_a_60s_one_is_dead_lettered_on_time)
{
	short_behind_long(false);
}

Test(exact_ttl, so_is_a_persistent_one_in_a_durable_queue)
{
	short_behind_long(true);
}

Test(exact_ttl, queue_ttl_and_expirations_combine_per_message)
{
	struct fixture	 f;
	const char	*want[] = { "0.3 s", "0.6 s", "0.9 s" };
	double		 at;
	char		*s;

	/* The queue's 60 s is the longest; expirations shorten it. */
	start(&f, "mixed", false, 60000, 0);
	publish(f.c, f.q, "queue ttl", NULL, false, 0);
	publish(f.c, f.q, "0.9 s", "900", false, 0);
	publish(f.c, f.q, "longer than the queue's", "120000", false, 0);
	publish(f.c, f.q, "0.3 s", "300", false, 0);
	publish(f.c, f.q, "0.6 s", "600", false, 0);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_not_null(s = next(f.cc, 3., &at, NULL),
		    "%s not dead-lettered", want[i]);
		cr_assert_str_eq(s, want[i], "deadline order");
		free(s);
	}
	cr_assert_null(next(f.cc, 0.3, &at, NULL), "more expired");
	cr_assert_eq(ut_count(f.c, 1, f.q), 2);
	finish(&f);
}

Test(exact_ttl, a_deadline_that_passed_while_the_broker_was_down)
{
	amqp_connection_state_t	 c;
	const char		*q = strdup(hb_name("down"));
	const char		*dq = strdup(hb_name("dead"));
	double			 at;
	bool			 expired;
	char			*s;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = hb_connect(&b);
	declare_dl(c, q, dq, true, -1, 0);
	publish(c, q, "60 s", "60000", true, 0);
	publish(c, q, "1 s", "1000", true, 0);
	publish(c, q, "no ttl", NULL, true, 0);
	cr_assert_eq(ut_count(c, 1, q), 3);	/* a round trip: committed */
	cr_assert_eq(hb_halt(&b, SIGKILL), 128 + SIGKILL);
	amqp_destroy_connection(c);
	usleep(1500 * 1000);
	hb_restart(&b, NULL);
	c = hb_connect(&b);
	consume(c, dq);
	cr_assert_not_null(s = next(c, 2., &at, &expired),
	    "the message whose deadline passed was not dead-lettered");
	cr_assert_str_eq(s, "1 s");
	cr_assert(expired);
	free(s);
	cr_assert_null(next(c, 0.3, &at, NULL), "more expired");
	hb_close(c);
	c = hb_connect(&b);
	cr_assert_eq(ut_count(c, 1, q), 2, "the others are kept");
	hb_close(c);
	hb_stop(&b);
}

Test(exact_ttl, a_requeued_message_expires_from_the_middle)
{
	struct fixture		 f;
	const char		*bodies[] = { "a", "b (0.8 s)", "c" };
	amqp_rpc_reply_t	 r;
	double			 at;
	char			*s;

	start(&f, "requeued", false, -1, 0);
	publish(f.c, f.q, bodies[0], NULL, false, 0);
	publish(f.c, f.q, bodies[1], "800", false, 0);
	publish(f.c, f.q, bodies[2], NULL, false, 0);
	/* Taken unacked on channel 2, and back when it closes. */
	amqp_channel_open(f.c, 2);
	cr_assert_eq(amqp_get_rpc_reply(f.c).reply_type, AMQP_RESPONSE_NORMAL);
	for (int i = 0; i < 3; i++) {
		amqp_message_t m;

		amqp_basic_get(f.c, 2, amqp_cstring_bytes(f.q), 0);
		r = amqp_get_rpc_reply(f.c);
		cr_assert_eq(r.reply.id, AMQP_BASIC_GET_OK_METHOD);
		cr_assert_eq(amqp_read_message(f.c, 2, &m, 0).reply_type,
		    AMQP_RESPONSE_NORMAL);
		amqp_destroy_message(&m);
	}
	amqp_channel_close(f.c, 2, AMQP_REPLY_SUCCESS);
	cr_assert_eq(ut_count(f.c, 1, f.q), 3);
	cr_assert_not_null(s = next(f.cc, 3., &at, NULL), "not dead-lettered");
	cr_assert_str_eq(s, bodies[1]);
	free(s);
	cr_assert_eq(ut_count(f.c, 1, f.q), 2);
	for (int i = 0; i < 3; i += 2) {
		amqp_basic_get_ok_t *ok;
		amqp_message_t m;

		amqp_basic_get(f.c, 1, amqp_cstring_bytes(f.q), 1);
		r = amqp_get_rpc_reply(f.c);
		cr_assert_eq(r.reply.id, AMQP_BASIC_GET_OK_METHOD);
		ok = r.reply.decoded;
		cr_assert(ok->redelivered);
		cr_assert_eq(amqp_read_message(f.c, 1, &m, 0).reply_type,
		    AMQP_RESPONSE_NORMAL);
		cr_assert(bytes_is(m.body, bodies[i]), "order");
		amqp_destroy_message(&m);
	}
	finish(&f);
}

Test(exact_ttl, a_low_priority_message_expires_under_higher_ones)
{
	struct fixture		 f;
	double			 at;
	char			*s;

	start(&f, "prio", true, -1, 5);
	publish(f.c, f.q, "high", NULL, true, 5);
	publish(f.c, f.q, "low, 0.5 s", "500", true, 1);
	publish(f.c, f.q, "high, 60 s", "60000", true, 5);
	cr_assert_not_null(s = next(f.cc, 3., &at, NULL), "not dead-lettered");
	cr_assert_str_eq(s, "low, 0.5 s");
	free(s);
	cr_assert_eq(ut_count(f.c, 1, f.q), 2);
	finish(&f);
}

Test(exact_ttl, thousands_of_deadlines_behind_a_long_one, .timeout = 120)
{
	struct fixture		 f;
	enum { N = 5000 };
	static double		 sent[N];
	char			 body[32], exp[32];
	double			 at;
	size_t			 got = 0;
	char			*s;

	start(&f, "many", true, -1, 0);
	publish(f.c, f.q, "stays", "600000", true, 0);
	srand(14);
	for (size_t i = 0; i < N; i++) {
		int ttl = 200 + rand() % 1300;

		snprintf(body, sizeof(body), "%zu", i);
		snprintf(exp, sizeof(exp), "%d", ttl);
		sent[i] = now_s() + ttl / 1000.;
		publish(f.c, f.q, body, exp, true, 0);
	}
	while (got < N && (s = next(f.cc, 5., &at, NULL)) != NULL) {
		size_t i = strtoul(s, NULL, 10);

		cr_assert_lt(i, N);
		/* Never before its deadline (5 ms for clock rounding). */
		cr_assert_geq(at, sent[i] - 0.005, "message %zu expired "
		    "%.3f s early", i, sent[i] - at);
		got++;
		free(s);
	}
	cr_assert_eq(got, N, "only %zu of %d dead-lettered", got, N);
	cr_assert_eq(ut_count(f.c, 1, f.q), 1);
	finish(&f);
}
