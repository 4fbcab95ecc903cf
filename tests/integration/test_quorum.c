/*
 * Quorum queues as clients see them, and the requeue storm of the
 * RELIABILITY catalogue (item 17): x-queue-type is checked with
 * RabbitMQ's words, a quorum queue refuses the properties and arguments
 * RabbitMQ refuses, a message returned more than x-delivery-limit times
 * is dead-lettered with reason delivery_limit, deliveries carry
 * x-delivery-count (from the first return on for consumers, from the
 * first delivery for basic.get), global QoS is refused with 540, and a
 * consumer that nacks with requeue forever leaves the broker serving
 * others.  Checked
 * on RabbitMQ 3.10 (WARREN_TEST_URL) but where marked warrend-only.
 */
#include <sys/time.h>
#include <sys/wait.h>

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

TestSuite(quorum, .init = ut_setup, .fini = ut_teardown, .timeout = 90);

/* Up to four extra arguments for a declare. */
struct qargs {
	amqp_table_entry_t	e[4];
	amqp_table_t		t;
};

static void
arg_str(struct qargs *a, const char *key, const char *val)
{
	amqp_table_entry_t *e = &a->e[a->t.num_entries++];

	a->t.entries = a->e;
	e->key = amqp_cstring_bytes(key);
	e->value.kind = AMQP_FIELD_KIND_UTF8;
	e->value.value.bytes = amqp_cstring_bytes(val);
}

static void
arg_int(struct qargs *a, const char *key, int32_t val)
{
	amqp_table_entry_t *e = &a->e[a->t.num_entries++];

	a->t.entries = a->e;
	e->key = amqp_cstring_bytes(key);
	e->value.kind = AMQP_FIELD_KIND_I32;
	e->value.value.i32 = val;
}

/* Declares q; returns NULL on success, else the 406 reply text. */
static const char *
declare(amqp_connection_state_t c, const char *q, bool durable,
    bool exclusive, bool auto_delete, const struct qargs *a)
{
	amqp_rpc_reply_t	 r;
	const char		*text;

	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, durable,
	    exclusive, auto_delete, a != NULL ? a->t : amqp_empty_table);
	r = amqp_get_rpc_reply(c);
	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return NULL;
	text = hb_expect_close(c, r, false, 406);
	cr_assert_not_null(amqp_channel_open(c, 1));
	ut_ok(c, "channel.open");
	return text;
}

static void
delete_queue(amqp_connection_state_t c, const char *q)
{
	amqp_queue_delete(c, 1, amqp_cstring_bytes(q), 0, 0);
	ut_ok(c, "queue.delete");
}

/* A quorum queue with a delivery limit dead-lettering to dq. */
static char *
limited_queue(amqp_connection_state_t c, const char *prefix, int limit,
    const char *dq)
{
	char		*q = strdup(hb_name(prefix));
	struct qargs	 a = { .t = { 0, NULL } };

	arg_str(&a, "x-queue-type", "quorum");
	arg_int(&a, "x-delivery-limit", limit);
	arg_str(&a, "x-dead-letter-exchange", "");
	arg_str(&a, "x-dead-letter-routing-key", dq);
	cr_assert_null(declare(c, q, true, false, false, &a));
	return q;
}

static const amqp_field_value_t *
header(const amqp_basic_properties_t *p, const char *key)
{
	if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG))
		return NULL;
	for (int i = 0; i < p->headers.num_entries; i++)
		if (p->headers.entries[i].key.len == strlen(key) &&
		    memcmp(p->headers.entries[i].key.bytes, key,
		    strlen(key)) == 0)
			return &p->headers.entries[i].value;
	return NULL;
}

static int64_t
delivery_count(const amqp_basic_properties_t *p)
{
	const amqp_field_value_t *v = header(p, "x-delivery-count");

	cr_assert_not_null(v, "no x-delivery-count header");
	cr_assert_eq(v->kind, AMQP_FIELD_KIND_I64, "x-delivery-count kind %c",
	    v->kind);
	return v->value.i64;
}

Test(quorum, queue_type_is_checked_with_rabbitmq_words)
{
	amqp_connection_state_t	 c = ut_connect();
	const char		*q = hb_name("qt");
	struct qargs		 a = { .t = { 0, NULL } };
	char			 want[512];
	const char		*got;

	arg_str(&a, "x-queue-type", "foo");
	got = declare(c, q, true, false, false, &a);
	cr_assert_not_null(got);
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - invalid arg "
	    "'x-queue-type' for queue '%s' in vhost '/': \"unsupported queue "
	    "type 'foo'\"", q);
	cr_assert_str_eq(got, want);

	a.t.num_entries = 0;
	arg_str(&a, "x-queue-type", "Quorum");
	cr_assert_not_null(declare(c, q, true, false, false, &a),
	    "queue types are case-sensitive");

	a.t.num_entries = 0;
	arg_int(&a, "x-queue-type", 5);
	got = declare(c, q, true, false, false, &a);
	cr_assert_not_null(got);
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - invalid arg "
	    "'x-queue-type' for queue '%s' in vhost '/': "
	    "{unacceptable_type,signedint}", q);
	cr_assert_str_eq(got, want);

	a.t.num_entries = 0;
	arg_str(&a, "x-queue-type", "classic");
	cr_assert_null(declare(c, q, false, false, false, &a));
	delete_queue(c, q);
	hb_close(c);
}

Test(quorum, quorum_queue_refuses_what_rabbitmq_refuses)
{
	amqp_connection_state_t	 c = ut_connect();
	const char		*q = hb_name("qprop");
	struct qargs		 a = { .t = { 0, NULL } };
	char			 want[512];

	arg_str(&a, "x-queue-type", "quorum");
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - invalid property "
	    "'non-durable' for queue '%s' in vhost '/'", q);
	cr_assert_str_eq(declare(c, q, false, false, false, &a), want);
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - invalid property "
	    "'exclusive-owner' for queue '%s' in vhost '/'", q);
	cr_assert_str_eq(declare(c, q, true, true, false, &a), want);
	/* compat: auto-delete is reported before exclusive. */
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - invalid property "
	    "'auto-delete' for queue '%s' in vhost '/'", q);
	cr_assert_str_eq(declare(c, q, true, true, true, &a), want);

	arg_int(&a, "x-max-priority", 5);
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - invalid arg "
	    "'x-max-priority' for queue '%s' in vhost '/' of queue type "
	    "rabbit_quorum_queue", q);
	cr_assert_str_eq(declare(c, q, false, false, false, &a), want,
	    "arguments are checked before properties");

	/* And the other way round: quorum-only arguments on a classic one. */
	a.t.num_entries = 0;
	arg_int(&a, "x-delivery-limit", 3);
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - invalid arg "
	    "'x-delivery-limit' for queue '%s' in vhost '/' of queue type "
	    "rabbit_classic_queue", q);
	cr_assert_str_eq(declare(c, q, false, false, false, &a), want);
	cr_assert_not(ut_queue_exists(c, q), "a refused queue was made");
	hb_close(c);
}

Test(quorum, stream_queues_are_refused)
{
	amqp_connection_state_t	 c;
	const char		*q = hb_name("qstream");
	struct qargs		 a = { .t = { 0, NULL } };

	hb_require_warrend(&ut_broker);	/* RabbitMQ 3.10 has streams */
	c = ut_connect();
	arg_str(&a, "x-queue-type", "stream");
	cr_assert_not_null(strstr(declare(c, q, true, false, false, &a),
	    "unsupported queue type 'stream'"));
	hb_close(c);
}

Test(quorum, redeclare_with_another_type_is_inequivalent)
{
	amqp_connection_state_t	 c = ut_connect();
	const char		*q = strdup(hb_name("qre"));
	struct qargs		 a = { .t = { 0, NULL } };
	const char		*got;

	arg_str(&a, "x-queue-type", "quorum");
	cr_assert_null(declare(c, q, true, false, false, &a));
	cr_assert_null(declare(c, q, true, false, false, &a));
	got = declare(c, q, true, false, false, NULL);
	cr_assert_not_null(got);
	cr_assert_not_null(strstr(got, "inequivalent arg 'x-queue-type'"),
	    "got: %s", got);
	delete_queue(c, q);
	hb_close(c);
}

Test(quorum, delivery_limit_dead_letters_with_reason_delivery_limit)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*dq = ut_queue(c, 1, "qdead");
	char			*q = limited_queue(c, "qlim", 1, dq);
	amqp_basic_properties_t	 p;
	amqp_basic_get_ok_t	 ok;
	const amqp_field_value_t *xd;
	amqp_table_t		*d;
	char			*body;

	ut_publish(c, 1, "", q, "poison");
	cr_assert_eq(ut_count_wait(c, 1, q, 1, 2000), 1);
	body = ut_get(c, 1, q, false, &ok, &p);
	cr_assert_str_eq(body, "poison");
	cr_assert_not(ok.redelivered);
	cr_assert_eq(delivery_count(&p), 0);
	cr_assert_eq(amqp_basic_nack(c, 1, ok.delivery_tag, 0, 1), 0);
	cr_assert_eq(ut_count_wait(c, 1, q, 1, 2000), 1,
	    "returned once: within the limit, requeued");
	body = ut_get(c, 1, q, false, &ok, &p);
	cr_assert_str_eq(body, "poison");
	cr_assert(ok.redelivered);
	cr_assert_eq(delivery_count(&p), 1);
	cr_assert_eq(amqp_basic_nack(c, 1, ok.delivery_tag, 0, 1), 0);
	cr_assert_eq(ut_count_wait(c, 1, dq, 1, 2000), 1,
	    "returned twice with limit 1: not dead-lettered");
	cr_assert_eq(ut_count(c, 1, q), 0);
	body = ut_get(c, 1, dq, true, NULL, &p);
	cr_assert_str_eq(body, "poison");
	cr_assert_null(header(&p, "x-delivery-count"),
	    "the dead-lettered copy keeps no delivery count");
	xd = header(&p, "x-death");
	cr_assert_not_null(xd);
	cr_assert_eq(xd->kind, AMQP_FIELD_KIND_ARRAY);
	cr_assert_eq(xd->value.array.num_entries, 1);
	cr_assert_eq(xd->value.array.entries[0].kind, AMQP_FIELD_KIND_TABLE);
	d = &xd->value.array.entries[0].value.table;
	for (int i = 0; i < d->num_entries; i++)
		if (d->entries[i].key.len == 6 &&
		    memcmp(d->entries[i].key.bytes, "reason", 6) == 0)
			cr_assert(d->entries[i].value.value.bytes.len == 14 &&
			    memcmp(d->entries[i].value.value.bytes.bytes,
			    "delivery_limit", 14) == 0, "wrong reason");
	delete_queue(c, q);
	hb_close(c);
}

Test(quorum, channel_close_counts_as_a_return)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*dq = ut_queue(c, 1, "qdead");
	char			*q = limited_queue(c, "qclose", 0, dq);
	amqp_basic_get_ok_t	 ok;

	ut_publish(c, 1, "", q, "held");
	cr_assert_eq(ut_count_wait(c, 1, q, 1, 2000), 1);
	cr_assert_not_null(amqp_channel_open(c, 2));
	ut_ok(c, "channel.open 2");
	cr_assert_str_eq(ut_get(c, 2, q, false, &ok, NULL), "held");
	amqp_channel_close(c, 2, AMQP_REPLY_SUCCESS);
	ut_ok(c, "channel.close 2");
	/* Returned by the close, with limit 0: dead-lettered. */
	cr_assert_eq(ut_count_wait(c, 1, dq, 1, 2000), 1);
	cr_assert_eq(ut_count(c, 1, q), 0);
	delete_queue(c, q);
	hb_close(c);
}

Test(quorum, consumer_deliveries_carry_x_delivery_count)
{
	amqp_connection_state_t	 c = ut_connect();
	const char		*q = strdup(hb_name("qcons"));
	struct qargs		 a = { .t = { 0, NULL } };
	amqp_envelope_t		 env;
	struct timeval		 tv = { 5, 0 };

	arg_str(&a, "x-queue-type", "quorum");
	cr_assert_null(declare(c, q, true, false, false, &a));
	ut_publish(c, 1, "", q, "one");
	amqp_basic_consume(c, 1, amqp_cstring_bytes(q), amqp_empty_bytes, 0,
	    0, 0, amqp_empty_table);
	ut_ok(c, "basic.consume");
	for (int64_t n = 0; n < 3; n++) {
		amqp_maybe_release_buffers(c);
		cr_assert_eq(amqp_consume_message(c, &env, &tv, 0).reply_type,
		    AMQP_RESPONSE_NORMAL, "delivery %lld missing",
		    (long long)n);
		/* compat: none on a consumer's first delivery. */
		if (n == 0)
			cr_assert_null(header(&env.message.properties,
			    "x-delivery-count"));
		else
			cr_assert_eq(delivery_count(&env.message.properties),
			    n);
		cr_assert_eq(env.redelivered, n > 0);
		cr_assert_eq(amqp_basic_reject(c, 1, env.delivery_tag, 1), 0);
		amqp_destroy_envelope(&env);
	}
	delete_queue(c, q);
	hb_close(c);
}

Test(quorum, global_qos_consumer_is_refused_with_540)
{
	amqp_connection_state_t	 c = ut_connect(), c2;
	const char		*q = strdup(hb_name("qglobal"));
	struct qargs		 a = { .t = { 0, NULL } };
	char			 want[512];

	arg_str(&a, "x-queue-type", "quorum");
	cr_assert_null(declare(c, q, true, false, false, &a));
	amqp_basic_qos(c, 1, 0, 5, 1);
	ut_ok(c, "basic.qos global");
	amqp_basic_consume(c, 1, amqp_cstring_bytes(q), amqp_empty_bytes, 0,
	    0, 0, amqp_empty_table);
	snprintf(want, sizeof(want), "NOT_IMPLEMENTED - queue '%s' in vhost "
	    "'/' does not support global qos", q);
	cr_assert_str_eq(hb_expect_close(c, amqp_get_rpc_reply(c), true, 540),
	    want);
	amqp_destroy_connection(c);
	c2 = ut_connect();
	delete_queue(c2, q);
	hb_close(c2);
}

/* The storm: consume everything from q and nack it with requeue, forever. */
static void
storm(const char *q)
{
	amqp_connection_state_t	c = ut_connect();
	amqp_envelope_t		env;
	struct timeval		tv = { 1, 0 };

	amqp_basic_qos(c, 1, 0, 10, 0);
	amqp_basic_consume(c, 1, amqp_cstring_bytes(q), amqp_empty_bytes, 0,
	    0, 0, amqp_empty_table);
	if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL)
		_exit(2);
	for (;;) {
		amqp_maybe_release_buffers(c);
		if (amqp_consume_message(c, &env, &tv, 0).reply_type !=
		    AMQP_RESPONSE_NORMAL)
			continue;
		amqp_basic_nack(c, 1, env.delivery_tag, 0, 1);
		amqp_destroy_envelope(&env);
	}
}

Test(quorum, requeue_storm_leaves_other_queues_served)
{
	amqp_connection_state_t	 c = ut_connect();
	char			*sq = ut_queue(c, 1, "storm");
	char			*nq = ut_queue(c, 1, "normal");
	char			*dq = ut_queue(c, 1, "qdead");
	char			*lq = limited_queue(c, "qpoison", 20, dq);
	amqp_envelope_t		 env;
	struct timeval		 tv = { 10, 0 };
	pid_t			 pid[2];
	int			 status;

	for (int i = 0; i < 10; i++) {
		ut_publish(c, 1, "", sq, "loop");
		ut_publish(c, 1, "", lq, "poison");
	}
	cr_assert_eq(ut_count_wait(c, 1, sq, 10, 2000), 10);
	for (int i = 0; i < 2; i++)
		if ((pid[i] = fork()) == 0)
			storm(i == 0 ? sq : lq);
	/* The poison messages end in the dead-letter queue, 21 deliveries on. */
	cr_assert_eq(ut_count_wait(c, 1, dq, 10, 20000), 10,
	    "x-delivery-limit did not stop the poison messages");
	/* Meanwhile, ordinary traffic on another queue flows. */
	amqp_basic_consume(c, 1, amqp_cstring_bytes(nq), amqp_empty_bytes, 0,
	    1, 0, amqp_empty_table);
	ut_ok(c, "basic.consume");
	for (int i = 0; i < 2000; i++)
		ut_publish(c, 1, "", nq, "work");
	for (int i = 0; i < 2000; i++) {
		amqp_maybe_release_buffers(c);
		cr_assert_eq(amqp_consume_message(c, &env, &tv, 0).reply_type,
		    AMQP_RESPONSE_NORMAL, "message %d of the normal queue "
		    "starved by the storm", i);
		amqp_destroy_envelope(&env);
	}
	for (int i = 0; i < 2; i++) {
		kill(pid[i], SIGKILL);
		waitpid(pid[i], &status, 0);
	}
	hb_close(c);
	c = ut_connect();
	/* The storm's messages are still there, none lost. */
	cr_assert_eq(ut_count_wait(c, 1, sq, 10, 5000), 10);
	delete_queue(c, lq);
	hb_close(c);
}
