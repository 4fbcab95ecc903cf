/*
 * Queue integration tests: declaration and its counts, exclusivity,
 * auto-delete, argument equivalence, bindings, purge and delete, and
 * the basic.cancel a consumer gets when its queue is deleted.  Each
 * expectation was checked against RabbitMQ 3.10.
 */
#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

TestSuite(queue, .init = ut_setup, .fini = ut_teardown, .timeout = 60);

/* queue.declare with every flag; returns the reply. */
static amqp_rpc_reply_t
qdeclare(amqp_connection_state_t c, amqp_channel_t ch, const char *name,
    bool passive, bool durable, bool exclusive, bool auto_delete,
    amqp_table_t args)
{
	amqp_queue_declare(c, ch, amqp_cstring_bytes(name), passive, durable,
	    exclusive, auto_delete, args);
	return amqp_get_rpc_reply(c);
}

Test(queue, declare_returns_name_and_counts)
{
	amqp_connection_state_t c = ut_connect();
	const char *q = strdup(hb_name("q"));
	amqp_queue_declare_ok_t *ok;

	ok = amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 0, 0, 0,
	    amqp_empty_table);
	ut_ok(c, "queue.declare");
	cr_assert(ok->queue.len == strlen(q) &&
	    memcmp(ok->queue.bytes, q, strlen(q)) == 0);
	cr_assert_eq(ok->message_count, 0);
	cr_assert_eq(ok->consumer_count, 0);
	ut_confirm_select(c, 1);
	ut_publish(c, 1, "", q, "a");
	ut_publish(c, 1, "", q, "b");
	ut_confirm_wait(c, 1, 2);
	/* A non-passive redeclare also reports the counts. */
	ok = amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 0, 0, 0,
	    amqp_empty_table);
	ut_ok(c, "queue.declare again");
	cr_assert_eq(ok->message_count, 2, "count %u", ok->message_count);
	cr_assert_eq(ok->consumer_count, 0);
	hb_close(c);
}

Test(queue, passive_declare_reports_counts)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "q");
	uint32_t msgs, cons;
	int i;

	for (i = 0; i < 3; i++)
		ut_publish(c, 1, "", q, "m");
	ut_channel(c, 2);
	(void)ut_consume_start(c, 2, q, NULL, false, false);
	ut_channel(c, 3);
	amqp_basic_qos(c, 3, 0, 1, 0);
	ut_ok(c, "basic.qos");
	(void)ut_consume_start(c, 3, q, NULL, false, false);
	/* Deliveries to consumers leave the ready count; a round trip on
	 * each consumer channel lets them happen before counting. */
	(void)ut_sync(c, 2);
	(void)ut_sync(c, 3);
	ut_counts(c, 1, q, &msgs, &cons);
	cr_assert_eq(cons, 2);
	cr_assert_eq(msgs, 0, "ready messages %u", msgs);
	hb_close(c);
}

Test(queue, passive_counts_ready_messages_only)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "q");
	uint32_t msgs, cons;
	char *body;

	ut_publish(c, 1, "", q, "1");
	ut_publish(c, 1, "", q, "2");
	body = ut_get(c, 1, q, false, NULL, NULL);
	cr_assert_str_eq(body, "1");
	ut_counts(c, 1, q, &msgs, &cons);
	cr_assert_eq(msgs, 1);
	cr_assert_eq(cons, 0);
	hb_close(c);
}

Test(queue, passive_declare_missing_is_404)
{
	amqp_connection_state_t c = ut_connect();
	const char *q = strdup(hb_name("noq"));
	char want[256];
	const char *text;

	text = hb_expect_close(c, qdeclare(c, 1, q, true, false, false, false,
	    amqp_empty_table), false, AMQP_NOT_FOUND);
	snprintf(want, sizeof(want), "NOT_FOUND - no queue '%s' in vhost '/'",
	    q);
	cr_assert_str_eq(text, want);
	hb_close(c);
}

Test(queue, server_named_queue)
{
	amqp_connection_state_t c = ut_connect();
	amqp_queue_declare_ok_t *ok;
	char *name;

	ok = amqp_queue_declare(c, 1, amqp_empty_bytes, 0, 0, 1, 1,
	    amqp_empty_table);
	ut_ok(c, "queue.declare ''");
	name = ut_str_of(ok->queue);
	cr_assert(strncmp(name, "amq.gen-", 8) == 0, "name %s", name);
	cr_assert_gt(strlen(name), 8);
	ut_publish(c, 1, "", name, "m");
	ut_expect_get(c, 1, name, "m");
	hb_close(c);
}

Test(queue, amq_prefix_is_reserved)
{
	amqp_connection_state_t c = ut_connect();
	const char *text;

	text = hb_expect_close(c, qdeclare(c, 1, "amq.warren-q", false, false,
	    false, false, amqp_empty_table), false, AMQP_ACCESS_REFUSED);
	cr_assert_str_eq(text, "ACCESS_REFUSED - queue name 'amq.warren-q' "
	    "contains reserved prefix 'amq.*'");
	hb_close(c);
}

Test(queue, redeclare_with_other_durable_is_406)
{
	amqp_connection_state_t c = ut_connect();
	const char *q = strdup(hb_name("qdur"));
	char want[256];
	const char *text;

	qdeclare(c, 1, q, false, false, false, false, amqp_empty_table);
	ut_ok(c, "declare");
	text = hb_expect_close(c, qdeclare(c, 1, q, false, true, false, false,
	    amqp_empty_table), false, AMQP_PRECONDITION_FAILED);
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - inequivalent arg "
	    "'durable' for queue '%s' in vhost '/': received 'true' but "
	    "current is 'false'", q);
	cr_assert_str_eq(text, want);
	hb_close(c);
}

Test(queue, redeclare_with_other_auto_delete_is_406)
{
	amqp_connection_state_t c = ut_connect();
	const char *q = strdup(hb_name("qad"));
	char want[256];
	const char *text;

	qdeclare(c, 1, q, false, false, false, false, amqp_empty_table);
	ut_ok(c, "declare");
	text = hb_expect_close(c, qdeclare(c, 1, q, false, false, false, true,
	    amqp_empty_table), false, AMQP_PRECONDITION_FAILED);
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - inequivalent arg "
	    "'auto_delete' for queue '%s' in vhost '/': received 'true' but "
	    "current is 'false'", q);
	cr_assert_str_eq(text, want);
	hb_close(c);
}

Test(queue, redeclare_with_other_ttl_is_406)
{
	amqp_connection_state_t c = ut_connect();
	const char *q = strdup(hb_name("qttl"));
	amqp_table_entry_t a[1];
	char want[512];
	const char *text;

	a[0] = ut_i32("x-message-ttl", 1000);
	qdeclare(c, 1, q, false, false, false, false, ut_table(a, 1));
	ut_ok(c, "declare ttl 1000");
	qdeclare(c, 1, q, false, false, false, false, ut_table(a, 1));
	ut_ok(c, "redeclare ttl 1000");
	a[0] = ut_i32("x-message-ttl", 2000);
	text = hb_expect_close(c, qdeclare(c, 1, q, false, false, false, false,
	    ut_table(a, 1)), false, AMQP_PRECONDITION_FAILED);
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - inequivalent arg "
	    "'x-message-ttl' for queue '%s' in vhost '/': received '2000' but "
	    "current is '1000'", q);
	cr_assert_str_eq(text, want);
	hb_close(c);
}

Test(queue, redeclare_without_ttl_is_406)
{
	amqp_connection_state_t c = ut_connect();
	const char *q = strdup(hb_name("qttl"));
	amqp_table_entry_t a[1];
	char want[512];
	const char *text;

	a[0] = ut_i32("x-message-ttl", 1000);
	qdeclare(c, 1, q, false, false, false, false, ut_table(a, 1));
	ut_ok(c, "declare ttl 1000");
	text = hb_expect_close(c, qdeclare(c, 1, q, false, false, false, false,
	    amqp_empty_table), false, AMQP_PRECONDITION_FAILED);
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - inequivalent arg "
	    "'x-message-ttl' for queue '%s' in vhost '/': received none but "
	    "current is the value '1000' of type 'signedint'", q);
	cr_assert_str_eq(text, want);
	hb_close(c);
}

Test(queue, passive_declare_ignores_args)
{
	amqp_connection_state_t c = ut_connect();
	const char *q = strdup(hb_name("qttl"));
	amqp_table_entry_t a[1];

	a[0] = ut_i32("x-message-ttl", 1000);
	qdeclare(c, 1, q, false, false, false, false, ut_table(a, 1));
	ut_ok(c, "declare ttl 1000");
	a[0] = ut_i32("x-message-ttl", 5);
	qdeclare(c, 1, q, true, true, false, true, ut_table(a, 1));
	ut_ok(c, "passive with other flags and args");
	hb_close(c);
}

Test(queue, exclusive_queue_locked_for_other_connections)
{
	amqp_connection_state_t c = ut_connect(), d = ut_connect();
	const char *q = strdup(hb_name("qex"));
	char want[512];
	const char *text;

	qdeclare(c, 1, q, false, false, true, false, amqp_empty_table);
	ut_ok(c, "declare exclusive");
	/* The owner may redeclare and use it. */
	qdeclare(c, 1, q, false, false, true, false, amqp_empty_table);
	ut_ok(c, "owner redeclare");
	text = hb_expect_close(d, qdeclare(d, 1, q, true, false, false, false,
	    amqp_empty_table), false, AMQP_RESOURCE_LOCKED);
	snprintf(want, sizeof(want), "RESOURCE_LOCKED - cannot obtain "
	    "exclusive access to locked queue '%s' in vhost '/'", q);
	UT_PREFIX(text, want);
	ut_channel(d, 1);
	amqp_basic_get(d, 1, amqp_cstring_bytes(q), 1);
	text = hb_expect_close(d, amqp_get_rpc_reply(d), false,
	    AMQP_RESOURCE_LOCKED);
	UT_PREFIX(text, want);
	ut_channel(d, 1);
	ut_publish(d, 1, "", q, "other connections may publish");
	(void)ut_sync(d, 1);
	ut_expect_get(c, 1, q, "other connections may publish");
	hb_close(d);
	hb_close(c);
}

Test(queue, exclusive_queue_full_reply_text)
{
	amqp_connection_state_t c = ut_connect(), d = ut_connect();
	const char *q = strdup(hb_name("qex"));
	char want[512];
	const char *text;

	qdeclare(c, 1, q, false, false, true, false, amqp_empty_table);
	ut_ok(c, "declare exclusive");
	text = hb_expect_close(d, qdeclare(d, 1, q, false, false, true, false,
	    amqp_empty_table), false, AMQP_RESOURCE_LOCKED);
	snprintf(want, sizeof(want), "RESOURCE_LOCKED - cannot obtain "
	    "exclusive access to locked queue '%s' in vhost '/'. It could be "
	    "originally declared on another connection or the exclusive "
	    "property value does not match that of the original "
	    "declaration.", q);
	cr_assert_str_eq(text, want);
	hb_close(d);
	hb_close(c);
}

Test(queue, exclusive_queue_deleted_with_its_connection)
{
	amqp_connection_state_t c = ut_connect(), d = ut_connect();
	const char *q = strdup(hb_name("qex"));

	qdeclare(c, 1, q, false, false, true, false, amqp_empty_table);
	ut_ok(c, "declare exclusive");
	ut_channel(c, 2);
	amqp_channel_close(c, 2, AMQP_REPLY_SUCCESS);
	/* Closing a channel does not delete it; closing the connection
	 * does. */
	cr_assert(ut_queue_exists(c, q));
	hb_close(c);
	cr_assert(!ut_queue_exists_wait(d, q, false, 3000));
	hb_close(d);
}

Test(queue, auto_delete_after_last_consumer_cancels)
{
	amqp_connection_state_t c = ut_connect();
	const char *q = strdup(hb_name("qad"));
	char *t1, *t2;

	qdeclare(c, 1, q, false, false, false, true, amqp_empty_table);
	ut_ok(c, "declare auto-delete");
	/* Without ever having had a consumer it stays. */
	ut_publish(c, 1, "", q, "m");
	ut_expect_get(c, 1, q, "m");
	cr_assert(ut_queue_exists(c, q));
	t1 = ut_consume_start(c, 1, q, NULL, true, false);
	t2 = ut_consume_start(c, 1, q, NULL, true, false);
	amqp_basic_cancel(c, 1, amqp_cstring_bytes(t1));
	ut_ok(c, "cancel 1");
	cr_assert(ut_queue_exists(c, q));
	amqp_basic_cancel(c, 1, amqp_cstring_bytes(t2));
	ut_ok(c, "cancel 2");
	cr_assert(!ut_queue_exists_wait(c, q, false, 3000));
	hb_close(c);
}

Test(queue, auto_delete_after_consumer_channel_closes)
{
	amqp_connection_state_t c = ut_connect();
	const char *q = strdup(hb_name("qad"));

	qdeclare(c, 1, q, false, false, false, true, amqp_empty_table);
	ut_ok(c, "declare auto-delete");
	ut_channel(c, 2);
	(void)ut_consume_start(c, 2, q, NULL, true, false);
	amqp_channel_close(c, 2, AMQP_REPLY_SUCCESS);
	cr_assert(!ut_queue_exists_wait(c, q, false, 3000));
	hb_close(c);
}

Test(queue, bind_and_unbind)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "qb");

	ut_bind(c, 1, q, "amq.direct", q, amqp_empty_table);
	ut_publish(c, 1, "amq.direct", q, "1");
	ut_expect_get(c, 1, q, "1");
	amqp_queue_unbind(c, 1, amqp_cstring_bytes(q),
	    amqp_cstring_bytes("amq.direct"), amqp_cstring_bytes(q),
	    amqp_empty_table);
	ut_ok(c, "queue.unbind");
	ut_publish(c, 1, "amq.direct", q, "2");
	ut_expect_empty(c, 1, q);
	/* compat: unbinding a binding that does not exist is ok. */
	amqp_queue_unbind(c, 1, amqp_cstring_bytes(q),
	    amqp_cstring_bytes("amq.direct"), amqp_cstring_bytes(q),
	    amqp_empty_table);
	ut_ok(c, "queue.unbind again");
	hb_close(c);
}

Test(queue, bind_to_missing_exchange_is_404)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "qb");
	const char *x = strdup(hb_name("nox"));
	char want[256];
	const char *text;

	amqp_queue_bind(c, 1, amqp_cstring_bytes(q), amqp_cstring_bytes(x),
	    amqp_cstring_bytes("k"), amqp_empty_table);
	text = hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    AMQP_NOT_FOUND);
	snprintf(want, sizeof(want), "NOT_FOUND - no exchange '%s' in vhost "
	    "'/'", x);
	cr_assert_str_eq(text, want);
	hb_close(c);
}

Test(queue, bind_missing_queue_is_404)
{
	amqp_connection_state_t c = ut_connect();
	const char *q = strdup(hb_name("noq"));
	char want[256];
	const char *text;

	amqp_queue_bind(c, 1, amqp_cstring_bytes(q),
	    amqp_cstring_bytes("amq.direct"), amqp_cstring_bytes("k"),
	    amqp_empty_table);
	text = hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    AMQP_NOT_FOUND);
	snprintf(want, sizeof(want), "NOT_FOUND - no queue '%s' in vhost '/'",
	    q);
	cr_assert_str_eq(text, want);
	hb_close(c);
}

Test(queue, purge_returns_count)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "qp");
	amqp_queue_purge_ok_t *ok;
	char *body;
	int i;

	ut_channel(c, 2);
	ut_confirm_select(c, 2);
	for (i = 0; i < 5; i++)
		ut_publish(c, 2, "", q, "m");
	ut_confirm_wait(c, 2, 5);
	body = ut_get(c, 1, q, false, NULL, NULL);
	cr_assert(body != NULL);
	ok = amqp_queue_purge(c, 1, amqp_cstring_bytes(q));
	ut_ok(c, "queue.purge");
	/* The unacked message is not purged. */
	cr_assert_eq(ok->message_count, 4);
	ut_expect_empty(c, 1, q);
	/* Closing the channel requeues it. */
	amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
	ut_channel(c, 1);
	cr_assert_eq(ut_count_wait(c, 1, q, 1, 3000), 1);
	hb_close(c);
}

Test(queue, purge_missing_is_404)
{
	amqp_connection_state_t c = ut_connect();
	const char *q = strdup(hb_name("noq"));
	char want[256];
	const char *text;

	amqp_queue_purge(c, 1, amqp_cstring_bytes(q));
	text = hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    AMQP_NOT_FOUND);
	snprintf(want, sizeof(want), "NOT_FOUND - no queue '%s' in vhost '/'",
	    q);
	cr_assert_str_eq(text, want);
	hb_close(c);
}

Test(queue, delete_returns_count)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "qd");
	amqp_queue_delete_ok_t *ok;
	int i;

	ut_confirm_select(c, 1);
	for (i = 0; i < 3; i++)
		ut_publish(c, 1, "", q, "m");
	ut_confirm_wait(c, 1, 3);
	ok = amqp_queue_delete(c, 1, amqp_cstring_bytes(q), 0, 0);
	ut_ok(c, "queue.delete");
	cr_assert_eq(ok->message_count, 3);
	cr_assert(!ut_queue_exists(c, q));
	hb_close(c);
}

Test(queue, delete_missing_is_ok)
{
	amqp_connection_state_t c = ut_connect();
	const char *q = strdup(hb_name("noq"));
	amqp_queue_delete_ok_t *ok;

	/* compat: RabbitMQ 3.10 answers delete-ok with count 0. */
	ok = amqp_queue_delete(c, 1, amqp_cstring_bytes(q), 0, 0);
	ut_ok(c, "queue.delete missing");
	cr_assert_eq(ok->message_count, 0);
	hb_close(c);
}

Test(queue, delete_if_unused_with_consumer_is_406)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "qd");
	char want[256];
	const char *text;

	ut_channel(c, 2);
	(void)ut_consume_start(c, 2, q, NULL, true, false);
	amqp_queue_delete(c, 1, amqp_cstring_bytes(q), 1, 0);
	text = hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    AMQP_PRECONDITION_FAILED);
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - queue '%s' in "
	    "vhost '/' in use", q);
	cr_assert_str_eq(text, want);
	cr_assert(ut_queue_exists(c, q));
	hb_close(c);
}

Test(queue, delete_if_empty_with_messages_is_406)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "qd");
	char want[256];
	const char *text;

	ut_publish(c, 1, "", q, "m");
	amqp_queue_delete(c, 1, amqp_cstring_bytes(q), 0, 1);
	text = hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    AMQP_PRECONDITION_FAILED);
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - queue '%s' in "
	    "vhost '/' not empty", q);
	cr_assert_str_eq(text, want);
	cr_assert(ut_queue_exists(c, q));
	hb_close(c);
}

Test(queue, delete_if_unused_and_if_empty_when_idle)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "qd");

	amqp_queue_delete(c, 1, amqp_cstring_bytes(q), 1, 1);
	ut_ok(c, "queue.delete if-unused if-empty");
	cr_assert(!ut_queue_exists(c, q));
	hb_close(c);
}

Test(queue, delete_with_consumer_sends_basic_cancel)
{
	amqp_connection_state_t c = ut_connect_ccn(), d = ut_connect();
	char *q = ut_queue(c, 1, "qd");
	amqp_basic_cancel_t *cancel;
	amqp_envelope_t env;
	amqp_frame_t f;
	char *tag;

	tag = ut_consume_start(c, 1, q, "ctag-del", true, false);
	cr_assert_str_eq(tag, "ctag-del");
	amqp_queue_delete(d, 1, amqp_cstring_bytes(q), 0, 0);
	ut_ok(d, "queue.delete from another connection");
	cr_assert_eq(ut_consume(c, &env, 5000), -1);
	cr_assert_eq(ut_wait_frame(c, &f, 1000), AMQP_STATUS_OK);
	cr_assert_eq(f.frame_type, AMQP_FRAME_METHOD);
	cr_assert_eq(f.channel, 1);
	cr_assert_eq(f.payload.method.id, AMQP_BASIC_CANCEL_METHOD,
	    "method 0x%08x", f.payload.method.id);
	cancel = f.payload.method.decoded;
	cr_assert_str_eq(ut_str_of(cancel->consumer_tag), "ctag-del");
	/* The channel stays open. */
	cr_assert_eq(ut_sync(c, 1).reply_type, AMQP_RESPONSE_NORMAL);
	hb_close(d);
	hb_close(c);
}

Test(queue, delete_with_consumer_without_capability_is_silent)
{
	amqp_connection_state_t c = ut_connect(), d = ut_connect();
	char *q = ut_queue(c, 1, "qd");
	amqp_envelope_t env;

	/* compat: without consumer_cancel_notify the consumer just goes
	 * away; the channel stays open. */
	(void)ut_consume_start(c, 1, q, NULL, true, false);
	amqp_queue_delete(d, 1, amqp_cstring_bytes(q), 0, 0);
	ut_ok(d, "queue.delete");
	cr_assert_eq(ut_consume(c, &env, 500), 0);
	cr_assert_eq(ut_sync(c, 1).reply_type, AMQP_RESPONSE_NORMAL);
	hb_close(d);
	hb_close(c);
}
