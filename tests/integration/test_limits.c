/*
 * Size limits: max message size and the pre-authentication frame limit.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tests/integration/harness.h"

#define FRAME_MAX	131072
#define WAIT_MS		10000

/* warrend runs with this; RabbitMQ 3.10's default max_message_size. */
#define WARREND_MAX	1048576ULL
#define RABBIT_MAX	134217728ULL

static struct hbroker	b;

static void
setup(void)
{
	static const char *const	extra[] = { "--max-message-size",
	    "1048576", NULL };

	hb_start(&b, extra);
}

static void
teardown(void)
{
	hb_stop(&b);
}

TestSuite(limits, .init = setup, .fini = teardown, .timeout = 120);

static uint64_t
max_size(void)
{
	return b.external ? RABBIT_MAX : WARREND_MAX;
}

static void
send_publish_header(int fd, uint64_t size)
{
	struct hbuf	a;

	a.len = 0;
	hb_put_u16(&a, 0);
	hb_put_shortstr(&a, "");
	hb_put_shortstr(&a, "nowhere");
	hb_put_u8(&a, 0);
	hb_raw_send_method(fd, 1, 60, 40, a.data, a.len);
	a.len = 0;
	hb_put_u16(&a, 60);
	hb_put_u16(&a, 0);
	hb_put_u64(&a, size);
	hb_put_u16(&a, 0);
	hb_raw_send_frame(fd, AMQP_FRAME_HEADER, 1, a.data, a.len);
}

/* Sends size bytes of body in frame_max-sized frames; stops early if
 * the server hangs up. */
static void
send_body(int fd, uint64_t size)
{
	static uint8_t	chunk[FRAME_MAX - 8];
	uint64_t	sent = 0;
	size_t		n;

	memset(chunk, 'x', sizeof(chunk));
	while (sent < size) {
		n = size - sent < sizeof(chunk) ? (size_t)(size - sent) :
		    sizeof(chunk);
		if (hb_raw_send_frame(fd, AMQP_FRAME_BODY, 1, chunk, n) == -1)
			return;
		sent += n;
	}
}

Test(limits, message_above_max_size_is_precondition_failed)
{
	char		want[256];
	uint64_t	size = max_size() + 1;
	bool		is_conn = true;
	int		fd;

	/*
	 * RabbitMQ 3.10 checks the size once the body is complete and
	 * closes the channel: 406 "PRECONDITION_FAILED - message size
	 * 134217729 is larger than configured max size 134217728".
	 */
	fd = hb_raw_handshake_channel(&b, FRAME_MAX, 1);
	send_publish_header(fd, size);
	send_body(fd, size);
	cr_assert_eq(hb_raw_expect_close(fd, WAIT_MS, &is_conn), 406,
	    "got '%s'", hb_raw_last_text());
	cr_assert(!is_conn, "expected a channel.close");
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - message size "
	    "%llu is larger than configured max size %llu",
	    (unsigned long long)size, (unsigned long long)max_size());
	cr_assert_str_eq(hb_raw_last_text(), want);
	close(fd);
}

Test(limits, message_of_exactly_max_size_is_accepted)
{
	struct hframe	f;
	uint8_t		active = 1;
	int		fd;

	/* 128 MiB through RabbitMQ is slow and pointless here. */
	hb_require_warrend(&b);
	fd = hb_raw_handshake_channel(&b, FRAME_MAX, 1);
	send_publish_header(fd, max_size());
	send_body(fd, max_size());
	hb_raw_send_method(fd, 1, 20, 20, &active, 1);
	cr_assert_eq(hb_raw_read_frame(fd, &f, WAIT_MS), 1);
	cr_assert_eq(f.type, AMQP_FRAME_METHOD);
	cr_assert_eq(f.class_id, 20, "got %u.%u", f.class_id, f.method_id);
	cr_assert_eq(f.method_id, 21, "got %u.%u", f.class_id, f.method_id);
	hb_raw_frame_free(&f);
	close(fd);
}

Test(limits, huge_declared_size_fails_early_without_allocating)
{
	char		want[256];
	long		before, after;
	bool		is_conn = true;
	int		fd;

	/*
	 * warrend only.  compat: RabbitMQ 3.10 doesn't look at body_size
	 * until the body has arrived, so a header claiming 2^40 bytes
	 * just waits.  warrend must refuse at the header, with the same
	 * channel.close 406 and wording, and must not reserve the memory.
	 */
	hb_require_warrend(&b);
	fd = hb_raw_handshake_channel(&b, FRAME_MAX, 1);
	before = hb_rss_kib(b.pid);
	send_publish_header(fd, 1ULL << 40);
	cr_assert_eq(hb_raw_expect_close(fd, WAIT_MS, &is_conn), 406,
	    "got '%s'", hb_raw_last_text());
	cr_assert(!is_conn, "expected a channel.close");
	snprintf(want, sizeof(want), "PRECONDITION_FAILED - message size "
	    "%llu is larger than configured max size %llu",
	    1ULL << 40, (unsigned long long)WARREND_MAX);
	cr_assert_str_eq(hb_raw_last_text(), want);
	after = hb_rss_kib(b.pid);
	cr_assert_gt(before, 0);
	cr_assert_lt(after - before, 16 * 1024,
	    "RSS grew from %ld to %ld KiB", before, after);
	close(fd);
}

Test(limits, huge_pre_auth_frame_closes_connection)
{
	struct hbuf	*a;
	int		 fd;

	/*
	 * Before tune the frame limit is 4096 (RabbitMQ: "frame_too_large,
	 * 10043,4088" in its log); RabbitMQ hangs up without a
	 * connection.close.
	 */
	a = calloc(1, sizeof(*a));
	cr_assert_not_null(a);
	fd = hb_raw_open_start(&b);
	hb_put_u32(a, 1 + 1 + 1 + 4 + 10000);
	hb_put_shortstr(a, "x");
	hb_put_u8(a, 'S');
	{
		static char	pad[10000];

		memset(pad, 'a', sizeof(pad));
		hb_put_longstr(a, pad, sizeof(pad));
	}
	hb_put_shortstr(a, "PLAIN");
	hb_put_longstr(a, "\0guest\0guest", 12);
	hb_put_shortstr(a, "en_US");
	hb_raw_send_method(fd, 0, 10, 11, a->data, a->len);
	cr_assert_eq(hb_raw_count_until_eof(fd, WAIT_MS), 0,
	    "connection was not dropped (or got a reply)");
	free(a);
	close(fd);
}

Test(limits, slow_consumer_output_is_bounded_by_the_high_water_mark)
{
	enum { COUNT = 40000, SIZE = 1024 };
	static char		 body[SIZE];
	amqp_connection_state_t	 cons, pub;
	amqp_queue_declare_ok_t	*ok;
	const char		*q = hb_name("slow");
	amqp_bytes_t		 qb = amqp_cstring_bytes(q);

	/*
	 * A no-ack consumer that never reads its socket: the broker must stop
	 * writing to it once its output backs up, leaving the rest queued
	 * (40 MB published; socket buffers and the output mark hold far less).
	 */
	cons = hb_connect(&b);
	amqp_queue_declare(cons, 1, qb, 0, 0, 0, 1, amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(cons).reply_type, AMQP_RESPONSE_NORMAL);
	amqp_basic_consume(cons, 1, qb, amqp_empty_bytes, 0, 1, 0,
	    amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(cons).reply_type, AMQP_RESPONSE_NORMAL);
	pub = hb_connect(&b);
	memset(body, 'x', sizeof(body));
	for (int i = 0; i < COUNT; i++)
		cr_assert_eq(amqp_basic_publish(pub, 1, amqp_empty_bytes, qb, 0,
		    0, NULL, (amqp_bytes_t){ sizeof(body), body }), 0);
	ok = amqp_queue_declare(pub, 1, qb, 1, 0, 0, 1, amqp_empty_table);
	cr_assert_not_null(ok);
	cr_assert_geq(ok->message_count, COUNT / 2,
	    "only %u of %d messages left queued", ok->message_count, COUNT);
	amqp_queue_delete(pub, 1, qb, 0, 0);
	hb_close(pub);
	hb_close(cons);
}

/* ---- flow control ------------------------------------------------------ */

struct flow_run {
	const char	*q;
	int		 count;
	volatile int	 published;	/* the publisher is done */
	volatile int	 consumed;
	volatile int	 stop;
};

static void *
flow_publisher(void *arg)
{
	struct flow_run *fr = arg;
	amqp_connection_state_t c = hb_connect(&b);
	amqp_bytes_t qb = amqp_cstring_bytes(fr->q);

	for (int i = 0; i < fr->count; i++)
		if (amqp_basic_publish(c, 1, amqp_empty_bytes, qb, 0, 0, NULL,
		    amqp_cstring_bytes("0123456789abcdef")) != 0)
			break;
	amqp_queue_declare(c, 1, qb, 1, 0, 0, 0, amqp_empty_table);
	fr->published = 1;
	hb_close(c);
	return NULL;
}

static void *
flow_consumer(void *arg)
{
	struct flow_run *fr = arg;
	amqp_connection_state_t c = hb_connect(&b);
	struct timeval tv = { 1, 0 };
	amqp_envelope_t env;

	amqp_basic_qos(c, 1, 0, 100, 0);
	amqp_basic_consume(c, 1, amqp_cstring_bytes(fr->q), amqp_empty_bytes,
	    0, 0, 0, amqp_empty_table);
	while (!fr->stop) {
		amqp_maybe_release_buffers(c);
		if (amqp_consume_message(c, &env, &tv, 0).reply_type !=
		    AMQP_RESPONSE_NORMAL)
			continue;
		amqp_basic_ack(c, 1, env.delivery_tag, 0);
		amqp_destroy_envelope(&env);
		fr->consumed++;
	}
	hb_close(c);
	return NULL;
}

Test(limits, fast_publisher_is_paused_while_consumers_catch_up)
{
	struct flow_run fr = { hb_name("flow"), 300000, 0, 0, 0 };
	amqp_connection_state_t mon;
	amqp_queue_declare_ok_t *ok;
	pthread_t pub, cons;
	uint32_t depth, max_depth = 0;

	/*
	 * One consumer acking each of its 100 prefetched messages cannot keep
	 * up with a publisher writing as fast as it can: without flow control
	 * the queue would hold most of the 300,000 at the end of publishing.
	 */
	mon = hb_connect(&b);
	cr_assert_not_null(amqp_queue_declare(mon, 1,
	    amqp_cstring_bytes(fr.q), 0, 0, 0, 0, amqp_empty_table));
	cr_assert_eq(pthread_create(&cons, NULL, flow_consumer, &fr), 0);
	usleep(200000);
	cr_assert_eq(pthread_create(&pub, NULL, flow_publisher, &fr), 0);
	while (!fr.published) {
		usleep(20000);
		ok = amqp_queue_declare(mon, 1, amqp_cstring_bytes(fr.q), 1,
		    0, 0, 0, amqp_empty_table);
		cr_assert_not_null(ok);
		depth = ok->message_count;
		if (depth > max_depth)
			max_depth = depth;
	}
	pthread_join(pub, NULL);
	fr.stop = 1;
	pthread_join(cons, NULL);
	cr_log_info("flow: deepest queue seen %u, consumed %d", max_depth,
	    fr.consumed);
	if (!b.external)
		cr_assert_lt(max_depth, 60000, "the queue grew to %u while a "
		    "consumer was taking messages", max_depth);
	amqp_queue_delete(mon, 1, amqp_cstring_bytes(fr.q), 0, 0);
	hb_close(mon);
}
