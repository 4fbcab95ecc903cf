/*
 * Durability replies leave only after the commit that covers them: a
 * publisher confirm or a tx.commit-ok must never report a message the
 * store failed to write. Commits are made to fail with
 * --inject-store-failures, standing in for a full disk. The queues are
 * declared first by a broker whose commits work, so they are on disk and
 * a restart shows what the failing broker really wrote.
 *
 * warrend only: RabbitMQ cannot be made to fail its commits.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>

#include "tests/integration/harness.h"

TestSuite(durable_replies, .timeout = 60);

static const char *const failing[] = { "--inject-store-failures", "100000",
    NULL };

/* Declares a durable queue, optionally limited to one reject-publish. */
static void
declare_durable(const struct hbroker *b, const char *q, bool reject_full)
{
	amqp_connection_state_t c = hb_connect(b);
	amqp_table_entry_t e[2];
	amqp_table_t args = { 0, e };

	if (reject_full) {
		e[0].key = amqp_cstring_bytes("x-max-length");
		e[0].value.kind = AMQP_FIELD_KIND_I32;
		e[0].value.value.i32 = 1;
		e[1].key = amqp_cstring_bytes("x-overflow");
		e[1].value.kind = AMQP_FIELD_KIND_UTF8;
		e[1].value.value.bytes = amqp_cstring_bytes("reject-publish");
		args.num_entries = 2;
	}
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 1, 0, 0, args);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type,
	    AMQP_RESPONSE_NORMAL, "queue.declare %s failed", q);
	hb_close(c);
}

/*
 * A warrend with the durable queue q on disk; with failing_commits, it
 * is then restarted with every commit failing.
 */
static void
start_with_queue(struct hbroker *b, const char *q, bool reject_full,
    bool failing_commits)
{
	hb_start(b, NULL);
	hb_require_warrend(b);
	declare_durable(b, q, reject_full);
	if (failing_commits) {
		hb_halt(b, SIGTERM);
		hb_restart(b, failing);
	}
}

/* Messages in q, seen by a passive declare on a fresh connection. */
static uint32_t
depth(const struct hbroker *b, const char *q)
{
	amqp_connection_state_t c = hb_connect(b);
	amqp_queue_declare_ok_t *ok;
	uint32_t n;

	ok = amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 1, 0, 0, 0,
	    amqp_empty_table);
	cr_assert_not_null(ok, "queue %s is gone", q);
	n = ok->message_count;
	hb_close(c);
	return n;
}

/* Appends one whole frame to w, so several frames go in one write. */
static void
put_frame(struct hbuf *w, uint8_t type, uint16_t ch, const void *p,
    size_t n)
{
	hb_put_u8(w, type);
	hb_put_u16(w, ch);
	hb_put_u32(w, (uint32_t)n);
	hb_put_bytes(w, p, n);
	hb_put_u8(w, 0xCE);
}

/* basic.publish to the default exchange, persistent, with its content. */
static void
put_publish(struct hbuf *w, uint16_t ch, const char *q, const char *body)
{
	struct hbuf m = { .len = 0 }, h = { .len = 0 };

	hb_put_u16(&m, 60);
	hb_put_u16(&m, 40);
	hb_put_u16(&m, 0);
	hb_put_shortstr(&m, "");
	hb_put_shortstr(&m, q);
	hb_put_u8(&m, 0);
	put_frame(w, AMQP_FRAME_METHOD, ch, m.data, m.len);
	hb_put_u16(&h, 60);
	hb_put_u16(&h, 0);
	hb_put_u64(&h, strlen(body));
	hb_put_u16(&h, 0x1000);		/* delivery-mode present */
	hb_put_u8(&h, 2);		/* persistent */
	put_frame(w, AMQP_FRAME_HEADER, ch, h.data, h.len);
	put_frame(w, AMQP_FRAME_BODY, ch, body, strlen(body));
}

/*
 * A raw connection in confirm mode that sent n persistent publishes to q
 * in one write, so the broker handles them all before its commit.
 */
static int
publish_in_one_write(const struct hbroker *b, const char *q, int n)
{
	struct hbuf *w = calloc(1, sizeof(*w));
	char body[32];
	int fd;

	cr_assert_not_null(w);
	fd = hb_raw_handshake_channel(b, 131072, 1);
	hb_raw_send_method(fd, 1, 85, 10, "\0", 1);	/* confirm.select */
	for (int i = 0; i < n; i++) {
		snprintf(body, sizeof(body), "message %d", i + 1);
		put_publish(w, 1, q, body);
	}
	hb_raw_send(fd, w->data, w->len);
	free(w);
	return fd;
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Reads frames until confirms for tags 1..last arrived; counts the tags
 * acked and nacked. Fails on a close or a timeout.
 */
static void
read_confirms(int fd, uint64_t last, uint64_t *acked, uint64_t *nacked)
{
	uint64_t done = 0;

	*acked = *nacked = 0;
	while (done < last) {
		struct hframe f;
		uint64_t tag, n;
		bool multiple;

		cr_assert_eq(hb_raw_read_frame(fd, &f, 5000), 1,
		    "no confirm for tags %llu..%llu",
		    (unsigned long long)done + 1, (unsigned long long)last);
		if (f.type != AMQP_FRAME_METHOD || f.class_id != 60 ||
		    (f.method_id != 80 && f.method_id != 120)) {
			cr_assert(f.type != AMQP_FRAME_METHOD ||
			    (f.class_id != 10 && f.class_id != 20 ) ||
			    f.method_id != 40, "closed instead of confirming");
			hb_raw_frame_free(&f);
			continue;
		}
		tag = get_u64(f.payload + 4);
		multiple = f.payload[12] & 1;
		n = multiple ? tag - done : 1;
		cr_assert(tag > done, "confirm for tag %llu out of order",
		    (unsigned long long)tag);
		cr_assert(multiple || tag == done + 1, "confirm for tag %llu "
		    "skips tag %llu", (unsigned long long)tag,
		    (unsigned long long)done + 1);
		if (f.method_id == 80)
			*acked += n;
		else
			*nacked += n;
		done = tag;
		hb_raw_frame_free(&f);
	}
}

/*
 * The first of two publishes is accepted by a reject-publish queue, the
 * second refused. Both arrive in one write, so both are handled before
 * the commit, and the commit fails: neither may be acked.
 */
Test(durable_replies, no_ack_next_to_a_refused_publish_when_commit_fails)
{
	static struct hbroker b;
	char *q = strdup(hb_name("rq"));
	uint64_t acked, nacked;
	int fd;

	start_with_queue(&b, q, true, true);
	fd = publish_in_one_write(&b, q, 2);
	read_confirms(fd, 2, &acked, &nacked);
	cr_expect_eq(acked, 0, "%llu publish(es) acked although no commit "
	    "succeeded", (unsigned long long)acked);
	cr_expect_eq(nacked, 2);
	close(fd);
	hb_halt(&b, SIGTERM);
	hb_restart(&b, NULL);
	cr_expect_eq(depth(&b, q), 0, "a publish the failing broker wrote");
	hb_stop(&b);
}

/*
 * When the commit succeeds, the same pair is one ack and one nack, in
 * tag order, and the acked message is on disk after a kill -9.
 */
Test(durable_replies, ack_then_nack_in_order_next_to_a_refused_publish)
{
	static struct hbroker b;
	char *q = strdup(hb_name("rq"));
	uint64_t acked, nacked;
	int fd;

	start_with_queue(&b, q, true, false);
	fd = publish_in_one_write(&b, q, 3);
	read_confirms(fd, 3, &acked, &nacked);
	cr_expect_eq(acked, 1);
	cr_expect_eq(nacked, 2);
	hb_kill(&b);
	close(fd);
	hb_restart(&b, NULL);
	cr_expect_eq(depth(&b, q), 1, "the acked publish is not on disk");
	hb_stop(&b);
}

/*
 * tx.commit whose store commit fails: never commit-ok. The broker
 * reports it as RabbitMQ reports a failure inside the broker, a 541
 * INTERNAL_ERROR connection error.
 */
Test(durable_replies, failed_tx_commit_is_not_commit_ok)
{
	static struct hbroker b;
	char *q = strdup(hb_name("tq"));
	struct hbuf *w = calloc(1, sizeof(*w));
	bool is_conn = false;
	int fd, code;

	start_with_queue(&b, q, false, true);
	fd = hb_raw_handshake_channel(&b, 131072, 1);
	hb_raw_send_method(fd, 1, 90, 10, NULL, 0);	/* tx.select */
	put_publish(w, 1, q, "in a transaction");
	put_frame(w, AMQP_FRAME_METHOD, 1, "\0\x5a\0\x14", 4); /* tx.commit */
	hb_raw_send(fd, w->data, w->len);
	for (;;) {
		struct hframe f;

		cr_assert_eq(hb_raw_read_frame(fd, &f, 5000), 1,
		    "no answer to tx.commit");
		cr_assert(!(f.class_id == 90 && f.method_id == 21),
		    "tx.commit-ok for a commit that failed");
		if (f.class_id == 10 && f.method_id == 50) {
			is_conn = true;
			code = f.payload[4] << 8 | f.payload[5];
			hb_raw_frame_free(&f);
			break;
		}
		hb_raw_frame_free(&f);
	}
	cr_expect(is_conn);
	cr_expect_eq(code, 541, "tx.commit failure closed with %d", code);
	close(fd);
	hb_halt(&b, SIGTERM);
	hb_restart(&b, NULL);
	cr_expect_eq(depth(&b, q), 0);
	hb_stop(&b);
}

/*
 * Methods pipelined after tx.commit are answered after its commit-ok:
 * a queue.declare sent in the same write gets its declare-ok second.
 */
Test(durable_replies, replies_after_tx_commit_wait_for_commit_ok)
{
	static struct hbroker b;
	char *q = strdup(hb_name("tq"));
	struct hbuf *w = calloc(1, sizeof(*w));
	struct hbuf d = { .len = 0 };
	int fd, seen = 0;

	hb_start(&b, NULL);
	declare_durable(&b, q, false);
	fd = hb_raw_handshake_channel(&b, 131072, 1);
	hb_raw_send_method(fd, 1, 90, 10, NULL, 0);	/* tx.select */
	put_publish(w, 1, q, "in a transaction");
	put_frame(w, AMQP_FRAME_METHOD, 1, "\0\x5a\0\x14", 4); /* tx.commit */
	hb_put_u16(&d, 50);
	hb_put_u16(&d, 10);
	hb_put_u16(&d, 0);
	hb_put_shortstr(&d, q);
	hb_put_u8(&d, 1);		/* passive */
	hb_put_u32(&d, 0);		/* empty arguments */
	put_frame(w, AMQP_FRAME_METHOD, 1, d.data, d.len);
	hb_raw_send(fd, w->data, w->len);
	while (seen < 2) {
		struct hframe f;

		cr_assert_eq(hb_raw_read_frame(fd, &f, 5000), 1,
		    "no answer to tx.commit and queue.declare");
		if (f.type == AMQP_FRAME_METHOD && f.class_id == 90 &&
		    f.method_id == 21) {
			cr_assert_eq(seen, 0, "declare-ok before commit-ok");
			seen = 1;
		} else if (f.type == AMQP_FRAME_METHOD && f.class_id == 50 &&
		    f.method_id == 11) {
			cr_assert_eq(seen, 1, "declare-ok before commit-ok");
			/* message_count after the queue name */
			cr_expect_eq(f.payload[4 + 1 + f.payload[4] + 3], 1,
			    "declare-ok does not count the committed message");
			seen = 2;
		}
		hb_raw_frame_free(&f);
	}
	close(fd);
	hb_stop(&b);
}
