/*
 * Publisher confirms and transactions.  Each expectation was checked
 * against RabbitMQ 3.10.
 */
#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

TestSuite(confirm, .init = ut_setup, .fini = ut_teardown, .timeout = 60);
TestSuite(tx, .init = ut_setup, .fini = ut_teardown, .timeout = 60);

Test(confirm, acks_cover_every_publish)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "cf");
	amqp_basic_ack_t *ack;
	amqp_frame_t f;
	uint64_t next = 1;
	const uint64_t n = 200;
	bool seen[201];
	uint64_t i;

	amqp_confirm_select(c, 1);
	ut_ok(c, "confirm.select");
	for (i = 0; i < n; i++)
		ut_publish(c, 1, "", q, "m");
	memset(seen, 0, sizeof(seen));
	/* Tags start at 1 and count every publish; an ack with multiple
	 * covers all tags up to its own. */
	while (next <= n) {
		cr_assert_eq(ut_wait_frame(c, &f, 5000), AMQP_STATUS_OK,
		    "confirm for %llu", (unsigned long long)next);
		cr_assert_eq(f.frame_type, AMQP_FRAME_METHOD);
		cr_assert_eq(f.payload.method.id, AMQP_BASIC_ACK_METHOD,
		    "method 0x%08x", f.payload.method.id);
		ack = f.payload.method.decoded;
		cr_assert_geq(ack->delivery_tag, next);
		cr_assert_leq(ack->delivery_tag, n);
		if (!ack->multiple)
			cr_assert_eq(ack->delivery_tag, next,
			    "single ack %llu skips %llu",
			    (unsigned long long)ack->delivery_tag,
			    (unsigned long long)next);
		next = ack->delivery_tag + 1;
	}
	cr_assert_eq(ut_count(c, 1, q), n);
	cr_assert_eq(ut_wait_frame(c, &f, 200), AMQP_STATUS_TIMEOUT);
	hb_close(c);
}

Test(confirm, select_twice_and_nowait)
{
	amqp_connection_state_t c = ut_connect();

	amqp_confirm_select(c, 1);
	ut_ok(c, "confirm.select");
	amqp_confirm_select(c, 1);
	ut_ok(c, "confirm.select again");
	hb_close(c);
}

Test(confirm, unroutable_publish_is_acked)
{
	amqp_connection_state_t c = ut_connect();
	amqp_basic_ack_t *ack;
	amqp_frame_t f;

	amqp_confirm_select(c, 1);
	ut_ok(c, "confirm.select");
	ut_publish(c, 1, "amq.direct", hb_name("nowhere"), "m");
	cr_assert_eq(ut_wait_frame(c, &f, 5000), AMQP_STATUS_OK);
	cr_assert_eq(f.payload.method.id, AMQP_BASIC_ACK_METHOD);
	ack = f.payload.method.decoded;
	cr_assert_eq(ack->delivery_tag, 1);
	hb_close(c);
}

Test(confirm, mandatory_unroutable_returns_then_acks)
{
	amqp_connection_state_t c = ut_connect();
	amqp_basic_return_t *ret;
	amqp_basic_ack_t *ack;
	amqp_message_t m;
	amqp_frame_t f;

	amqp_confirm_select(c, 1);
	ut_ok(c, "confirm.select");
	ut_publish_full(c, 1, "amq.direct", hb_name("nowhere"), true, NULL,
	    amqp_cstring_bytes("bounce"));
	cr_assert_eq(ut_wait_frame(c, &f, 5000), AMQP_STATUS_OK);
	cr_assert_eq(f.payload.method.id, AMQP_BASIC_RETURN_METHOD,
	    "method 0x%08x", f.payload.method.id);
	ret = f.payload.method.decoded;
	cr_assert_eq(ret->reply_code, AMQP_NO_ROUTE);
	cr_assert_str_eq(ut_str_of(ret->reply_text), "NO_ROUTE");
	cr_assert_eq(amqp_read_message(c, 1, &m, 0).reply_type,
	    AMQP_RESPONSE_NORMAL);
	cr_assert_eq(m.body.len, 6);
	amqp_destroy_message(&m);
	cr_assert_eq(ut_wait_frame(c, &f, 5000), AMQP_STATUS_OK);
	cr_assert_eq(f.payload.method.id, AMQP_BASIC_ACK_METHOD,
	    "method 0x%08x", f.payload.method.id);
	ack = f.payload.method.decoded;
	cr_assert_eq(ack->delivery_tag, 1);
	cr_assert_eq(ack->multiple, 0);
	hb_close(c);
}

Test(confirm, tags_are_per_channel)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "cf");

	ut_channel(c, 2);
	ut_confirm_select(c, 1);
	ut_confirm_select(c, 2);
	ut_publish(c, 1, "", q, "a");
	ut_publish(c, 1, "", q, "b");
	ut_confirm_wait(c, 1, 2);
	ut_publish(c, 2, "", q, "c");
	ut_confirm_wait(c, 2, 1);
	hb_close(c);
}

Test(confirm, select_on_tx_channel_is_406)
{
	amqp_connection_state_t c = ut_connect();
	const char *text;

	amqp_tx_select(c, 1);
	ut_ok(c, "tx.select");
	amqp_confirm_select(c, 1);
	text = hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    AMQP_PRECONDITION_FAILED);
	cr_assert_str_eq(text, "PRECONDITION_FAILED - cannot switch from tx "
	    "to confirm mode");
	hb_close(c);
}

Test(tx, select_on_confirm_channel_is_406)
{
	amqp_connection_state_t c = ut_connect();
	const char *text;

	amqp_confirm_select(c, 1);
	ut_ok(c, "confirm.select");
	amqp_tx_select(c, 1);
	text = hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    AMQP_PRECONDITION_FAILED);
	cr_assert_str_eq(text, "PRECONDITION_FAILED - cannot switch from "
	    "confirm to tx mode");
	hb_close(c);
}

Test(tx, rollback_discards_publishes)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "tx");

	amqp_tx_select(c, 1);
	ut_ok(c, "tx.select");
	ut_publish(c, 1, "", q, "a");
	ut_publish(c, 1, "", q, "b");
	cr_assert_eq(ut_count(c, 1, q), 0);
	amqp_tx_rollback(c, 1);
	ut_ok(c, "tx.rollback");
	cr_assert_eq(ut_count(c, 1, q), 0);
	ut_expect_empty(c, 1, q);
	/* The channel stays transactional: the next commit publishes
	 * only what came after the rollback. */
	ut_publish(c, 1, "", q, "c");
	amqp_tx_commit(c, 1);
	ut_ok(c, "tx.commit");
	ut_expect_get(c, 1, q, "c");
	ut_expect_empty(c, 1, q);
	hb_close(c);
}

Test(tx, commit_delivers_publishes)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "tx");

	amqp_tx_select(c, 1);
	ut_ok(c, "tx.select");
	ut_publish(c, 1, "", q, "a");
	ut_publish(c, 1, "", q, "b");
	ut_expect_empty(c, 1, q);
	amqp_tx_commit(c, 1);
	ut_ok(c, "tx.commit");
	cr_assert_eq(ut_count(c, 1, q), 2);
	ut_expect_get(c, 1, q, "a");
	ut_expect_get(c, 1, q, "b");
	/* An empty commit is fine too. */
	amqp_tx_commit(c, 1);
	ut_ok(c, "empty tx.commit");
	hb_close(c);
}

Test(tx, uncommitted_publishes_dropped_on_close)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "tx");

	ut_channel(c, 2);
	amqp_tx_select(c, 2);
	ut_ok(c, "tx.select");
	ut_publish(c, 2, "", q, "a");
	amqp_channel_close(c, 2, AMQP_REPLY_SUCCESS);
	cr_assert_eq(ut_count(c, 1, q), 0);
	hb_close(c);
}

Test(tx, acks_held_until_commit)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "tx");
	amqp_basic_get_ok_t ok;
	char *body;

	ut_publish(c, 1, "", q, "m");
	ut_channel(c, 2);
	amqp_tx_select(c, 2);
	ut_ok(c, "tx.select");
	body = ut_get(c, 2, q, false, &ok, NULL);
	cr_assert_str_eq(body, "m");
	cr_assert_eq(amqp_basic_ack(c, 2, ok.delivery_tag, 0),
	    AMQP_STATUS_OK);
	amqp_tx_rollback(c, 2);
	ut_ok(c, "tx.rollback");
	/* The rolled-back ack left the message unacked, not ready... */
	cr_assert_eq(ut_count(c, 1, q), 0);
	/* ...so closing the channel requeues it. */
	amqp_channel_close(c, 2, AMQP_REPLY_SUCCESS);
	cr_assert_eq(ut_count_wait(c, 1, q, 1, 3000), 1);
	body = ut_get(c, 1, q, true, &ok, NULL);
	cr_assert_str_eq(body, "m");
	cr_assert_eq(ok.redelivered, 1);
	hb_close(c);
}

Test(tx, committed_ack_is_final)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "tx");
	amqp_basic_get_ok_t ok;
	char *body;

	ut_publish(c, 1, "", q, "m");
	ut_channel(c, 2);
	amqp_tx_select(c, 2);
	ut_ok(c, "tx.select");
	body = ut_get(c, 2, q, false, &ok, NULL);
	cr_assert_str_eq(body, "m");
	cr_assert_eq(amqp_basic_ack(c, 2, ok.delivery_tag, 0),
	    AMQP_STATUS_OK);
	amqp_tx_commit(c, 2);
	ut_ok(c, "tx.commit");
	amqp_channel_close(c, 2, AMQP_REPLY_SUCCESS);
	cr_assert_eq(ut_count(c, 1, q), 0);
	ut_expect_empty(c, 1, q);
	hb_close(c);
}

Test(tx, ack_after_rollback_still_possible)
{
	amqp_connection_state_t c = ut_connect();
	char *q = ut_queue(c, 1, "tx");
	amqp_basic_get_ok_t ok;
	char *body;

	ut_publish(c, 1, "", q, "m");
	amqp_tx_select(c, 1);
	ut_ok(c, "tx.select");
	body = ut_get(c, 1, q, false, &ok, NULL);
	cr_assert_str_eq(body, "m");
	cr_assert_eq(amqp_basic_ack(c, 1, ok.delivery_tag, 0),
	    AMQP_STATUS_OK);
	amqp_tx_rollback(c, 1);
	ut_ok(c, "tx.rollback");
	/* The tag is still outstanding, so acking it again is valid. */
	cr_assert_eq(amqp_basic_ack(c, 1, ok.delivery_tag, 0),
	    AMQP_STATUS_OK);
	amqp_tx_commit(c, 1);
	ut_ok(c, "tx.commit");
	amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
	ut_channel(c, 1);
	cr_assert_eq(ut_count(c, 1, q), 0);
	hb_close(c);
}

Test(tx, commit_without_select_is_406)
{
	amqp_connection_state_t c = ut_connect();
	const char *text;

	amqp_tx_commit(c, 1);
	text = hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    AMQP_PRECONDITION_FAILED);
	cr_assert_str_eq(text, "PRECONDITION_FAILED - channel is not "
	    "transactional");
	hb_close(c);
}

Test(tx, rollback_without_select_is_406)
{
	amqp_connection_state_t c = ut_connect();
	const char *text;

	amqp_tx_rollback(c, 1);
	text = hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    AMQP_PRECONDITION_FAILED);
	cr_assert_str_eq(text, "PRECONDITION_FAILED - channel is not "
	    "transactional");
	hb_close(c);
}

Test(tx, select_twice_is_ok)
{
	amqp_connection_state_t c = ut_connect();

	amqp_tx_select(c, 1);
	ut_ok(c, "tx.select");
	amqp_tx_select(c, 1);
	ut_ok(c, "tx.select again");
	hb_close(c);
}
