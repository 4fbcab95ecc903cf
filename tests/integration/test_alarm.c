/*
 * Resource alarms block publishers with connection.blocked, as RabbitMQ;
 * client sockets get TCP keepalive.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <criterion/criterion.h>

#include "tests/common.h"
#include "tests/integration/harness.h"

static struct hbroker	b;

#define MIB	(1024L * 1024)
#define BODY_CHUNK	(131072 - 8)	/* a body frame's payload at frame_max */

static void
teardown(void)
{
	hb_stop(&b);
}

TestSuite(alarm, .fini = teardown, .timeout = 60);

/* A connection that advertises the connection.blocked capability. */
static amqp_connection_state_t
connect_blockable(void)
{
	amqp_connection_state_t c = amqp_new_connection();
	amqp_socket_t *s = amqp_tcp_socket_new(c);
	amqp_table_entry_t cap[1], prop[1];
	amqp_table_t caps = { 1, cap }, props = { 1, prop };
	struct timeval tv = { 5, 0 };
	amqp_rpc_reply_t r;

	cap[0].key = amqp_cstring_bytes("connection.blocked");
	cap[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
	cap[0].value.value.boolean = 1;
	prop[0].key = amqp_cstring_bytes("capabilities");
	prop[0].value.kind = AMQP_FIELD_KIND_TABLE;
	prop[0].value.value.table = caps;
	cr_assert_eq(amqp_socket_open_noblock(s, b.host, b.port, &tv),
	    AMQP_STATUS_OK);
	amqp_set_rpc_timeout(c, &tv);
	r = amqp_login_with_properties(c, "/", 0, 131072, 0, &props,
	    AMQP_SASL_METHOD_PLAIN, "guest", "guest");
	cr_assert_eq(r.reply_type, AMQP_RESPONSE_NORMAL, "login");
	amqp_channel_open(c, 1);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	return c;
}

/* Waits for a method frame on channel 0 with id; false on timeout. */
static bool
wait_method(amqp_connection_state_t c, amqp_method_number_t id,
    char *reason, size_t len)
{
	struct timeval tv = { 5, 0 };
	amqp_frame_t f;

	while (amqp_simple_wait_frame_noblock(c, &f, &tv) == AMQP_STATUS_OK) {
		if (f.frame_type != AMQP_FRAME_METHOD || f.payload.method.id != id)
			continue;
		if (reason != NULL && id == AMQP_CONNECTION_BLOCKED_METHOD) {
			amqp_connection_blocked_t *m = f.payload.method.decoded;

			snprintf(reason, len, "%.*s", (int)m->reason.len,
			    (const char *)m->reason.bytes);
		}
		return true;
	}
	return false;
}

static void
publish(amqp_connection_state_t c, const char *q, size_t size)
{
	char *body = calloc(1, size ? size : 1);

	cr_assert_not_null(body);
	cr_assert_eq(amqp_basic_publish(c, 1, amqp_empty_bytes,
	    amqp_cstring_bytes(q), 0, 0, NULL, (amqp_bytes_t){ size, body }),
	    AMQP_STATUS_OK);
	free(body);
}

/* Nonblocking writer of raw frames, for clients that outrun the broker. */
struct rawpub {
	int		 fd;
	uint8_t		 frame[131072];
	size_t		 len, off;	/* the frame being written */
	long		 sent;		/* bytes written in all */
};

/* Writes what the socket takes now; true when the frame is all written. */
static bool
rawpub_push(struct rawpub *p)
{
	while (p->off < p->len) {
		ssize_t n = send(p->fd, p->frame + p->off, p->len - p->off,
		    MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		p->off += (size_t)n;
		p->sent += n;
	}
	return true;
}

static void
rawpub_frame(struct rawpub *p, uint8_t type, uint16_t ch, const void *payload,
    size_t n)
{
	uint8_t *f = p->frame;

	f[0] = type;
	f[1] = (uint8_t)(ch >> 8);
	f[2] = (uint8_t)ch;
	f[3] = (uint8_t)(n >> 24);
	f[4] = (uint8_t)(n >> 16);
	f[5] = (uint8_t)(n >> 8);
	f[6] = (uint8_t)n;
	if (payload != NULL)
		memcpy(f + 7, payload, n);
	else
		memset(f + 7, 'x', n);
	f[7 + n] = 0xce;
	p->len = n + 8;
	p->off = 0;
}

/* basic.publish to the default exchange and routing key q, then its header. */
static void
rawpub_start(struct rawpub *p, uint16_t ch, const char *q, uint64_t size,
    long deadline_ms)
{
	/* class, method, reserved short, empty exchange name */
	uint8_t m[300] = { 0, 60, 0, 40, 0, 0, 0 }, h[14] = { 0, 60, 0, 0 };
	size_t ql = strlen(q), n = 8;

	m[7] = (uint8_t)ql;
	memcpy(m + n, q, ql);
	n += ql;
	m[n++] = 0;			/* mandatory, immediate */
	for (int i = 0; i < 8; i++)
		h[4 + i] = (uint8_t)(size >> (56 - 8 * i));
	rawpub_frame(p, 1, ch, m, n);
	while (!rawpub_push(p) && tc_now_ms() < deadline_ms)
		usleep(1000);
	rawpub_frame(p, 2, ch, h, sizeof(h));
	while (!rawpub_push(p) && tc_now_ms() < deadline_ms)
		usleep(1000);
}

Test(alarm, disk_alarm_blocks_a_publisher_with_connection_blocked)
{
	/* More free space required than any disk has: the alarm is on. */
	static const char *const extra[] = { "--disk-free-limit",
	    "1099511627776", NULL };
	amqp_connection_state_t c, other;
	const char *q = hb_name("alarm");
	char reason[64] = "";

	hb_start(&b, extra);
	hb_require_warrend(&b);
	c = connect_blockable();
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 0, 0, 1,
	    amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL,
	    "declaring is not publishing: not blocked");
	publish(c, q, 10);
	cr_assert(wait_method(c, AMQP_CONNECTION_BLOCKED_METHOD, reason,
	    sizeof(reason)), "no connection.blocked");
	cr_assert_str_eq(reason, "low on disk");
	/* A connection that does not publish keeps being served. */
	other = hb_connect(&b);
	amqp_queue_declare(other, 1, amqp_cstring_bytes(q), 1, 0, 0, 1,
	    amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(other).reply_type,
	    AMQP_RESPONSE_NORMAL);
	hb_close(other);
}

Test(alarm, memory_alarm_blocks_then_unblocks_when_consumers_drain)
{
	static struct rawpub p;
	amqp_connection_state_t c, cons;
	const char *q = hb_name("memalarm");
	char arg[32], reason[64] = "";
	const char *extra[] = { "--memory-high-watermark", arg, NULL };
	long rss, start;
	bool stalled = false;

#if defined(__SANITIZE_ADDRESS__)
	/* ASan keeps freed memory in quarantine: RSS would never drop. */
	cr_skip_test("memory is not returned under AddressSanitizer");
#endif
	hb_start(&b, NULL);
	hb_require_warrend(&b);
	rss = hb_rss_kib(b.pid);
	cr_assert_gt(rss, 0);
	hb_stop(&b);
	/* The mark sits 24 MB above an idle broker: 48 MB queued passes it. */
	snprintf(arg, sizeof(arg), "%ld", (rss + 24 * 1024) * 1024);
	hb_start(&b, extra);
	c = connect_blockable();
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 0, 0, 1,
	    amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	/*
	 * Another connection queues them, and never waits on the broker: on
	 * a loaded machine the alarm may stop it before it is done.
	 */
	p.fd = hb_raw_handshake_channel(&b, 131072, 1);
	start = tc_now_ms();
	for (int i = 0; i < 48 && !stalled; i++) {
		uint64_t left = MIB;

		rawpub_start(&p, 1, q, MIB, start + 8000);
		while (left > 0) {
			size_t n = left < BODY_CHUNK ? left : BODY_CHUNK;
			long t = tc_now_ms();

			rawpub_frame(&p, 3, 1, NULL, n);
			while (!rawpub_push(&p) && tc_now_ms() - t < 1500)
				usleep(2000);
			if ((stalled = p.off < p.len))
				break;
			left -= n;
		}
	}
	/* The check runs once a second; the next publish gets blocked. */
	sleep(2);
	publish(c, q, 10);
	cr_assert(wait_method(c, AMQP_CONNECTION_BLOCKED_METHOD, reason,
	    sizeof(reason)), "no connection.blocked");
	cr_assert_str_eq(reason, "low on memory");
	cons = hb_connect(&b);
	amqp_queue_purge(cons, 1, amqp_cstring_bytes(q));
	cr_assert_eq(amqp_get_rpc_reply(cons).reply_type,
	    AMQP_RESPONSE_NORMAL);
	cr_assert(wait_method(c, AMQP_CONNECTION_UNBLOCKED_METHOD, NULL, 0),
	    "no connection.unblocked after the queue was drained");
	hb_close(cons);
	close(p.fd);
}

Test(alarm, client_sockets_have_tcp_keepalive)
{
	amqp_connection_state_t c;
	char cmd[160], out[4096] = "", err[256];
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = hb_connect(&b);
	/* The broker's end of the connection shows a keepalive timer. */
	snprintf(cmd, sizeof(cmd), "ss -tnoH state established "
	    "'( sport = :%d )'", b.port);
	/* Until the last bytes are acked, ss shows the retransmit timer. */
	for (int i = 0; i < 40 && strstr(out, "keepalive") == NULL; i++) {
		usleep(50000);
		out[0] = '\0';
		hb_run(argv, out, sizeof(out), err, sizeof(err));
	}
	cr_assert_not_null(strstr(out, "keepalive"), "ss: %s %s", out, err);
	hb_close(c);
}

/* The broker's resident memory when idle, in KiB (it is stopped after). */
static long
idle_rss_kib(void)
{
	long rss;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	rss = hb_rss_kib(b.pid);
	cr_assert_gt(rss, 0);
	hb_stop(&b);
	return rss;
}

Test(alarm, publishes_under_way_on_many_channels_are_capped)
{
	enum { NCH = 12 };
	static struct rawpub p;
	const char *q = hb_name("inflight");
	char arg[32];
	const char *extra[] = { "--memory-high-watermark", arg, NULL };
	const uint64_t size = 100 * MIB;
	uint64_t left[NCH + 1];
	long idle, peak = 0, rss, start, last_progress, last_sent = 0;
	long sampled = 0;
	uint8_t byte;

#if defined(__SANITIZE_ADDRESS__)
	cr_skip_test("memory is not returned under AddressSanitizer");
#endif
	/*
	 * The case: a 300 MB watermark, and a client that starts a
	 * 100 MB publish on each of 12 channels before sending any body, so
	 * that no basic.publish comes after the alarm to block it.
	 */
	idle = idle_rss_kib();
	snprintf(arg, sizeof(arg), "%ld", idle * 1024 + 300 * MIB);
	hb_start(&b, extra);
	p.fd = hb_raw_handshake_channel(&b, 131072, 1);
	for (uint16_t ch = 2; ch <= NCH; ch++) {
		static const uint8_t reserved[1] = { 0 };
		struct hframe f;

		hb_raw_send_method(p.fd, ch, 20, 10, reserved, sizeof(reserved));
		cr_assert_eq(hb_raw_read_frame(p.fd, &f, 5000), 1);
		cr_assert_eq(f.method_id, 11, "channel.open-ok");
		hb_raw_frame_free(&f);
	}
	start = last_progress = tc_now_ms();
	for (uint16_t ch = 1; ch <= NCH; ch++) {
		rawpub_start(&p, ch, q, size, start + 8000);
		left[ch] = size;
	}
	/* Then the bodies, a frame per channel in turn, as fast as taken. */
	for (uint16_t ch = 1; tc_now_ms() - last_progress < 1500 &&
	    tc_now_ms() - start < 8000; ch = ch % NCH + 1) {
		size_t n = left[ch] < BODY_CHUNK ? left[ch] : BODY_CHUNK;

		if (n == 0)
			continue;
		rawpub_frame(&p, 3, ch, NULL, n);
		while (!rawpub_push(&p) && tc_now_ms() - last_progress < 1500)
			usleep(2000);
		left[ch] -= n;
		if (p.sent - sampled > 4 * MIB || p.off < p.len) {
			sampled = p.sent;
			if ((rss = hb_rss_kib(b.pid)) > peak)
				peak = rss;
			cr_assert_lt(peak, idle + 300 * 1024, "the broker "
			    "holds %ld MB, over its 300 MB watermark, after "
			    "%ld MB sent", (peak - idle) / 1024,
			    p.sent / MIB);
		}
		if (p.sent != last_sent)
			last_progress = tc_now_ms();
		last_sent = p.sent;
		if (left[NCH] == 0)
			break;
	}
	if ((rss = hb_rss_kib(b.pid)) > peak)
		peak = rss;
	cr_log_info("peak %ld MB over idle, %ld MB sent", (peak - idle) / 1024,
	    p.sent / MIB);
	cr_assert_lt(peak, idle + 300 * 1024);
	/* compat: no error, the client is just not read (RabbitMQ's credit). */
	cr_assert_eq(hb_raw_read(p.fd, &byte, 1, 300), -1,
	    "the waiting connection was sent something");
	hb_close(hb_connect(&b));
	close(p.fd);
}

Test(alarm, the_memory_alarm_stops_a_publish_under_way)
{
	static struct rawpub p;
	amqp_connection_state_t c;
	const char *q = hb_name("underway");
	char arg[32], reason[64] = "";
	const char *extra[] = { "--memory-high-watermark", arg, NULL };
	const uint64_t size = 120 * MIB;
	uint64_t left = size;
	long idle, peak = 0, rss, start, last_progress;

#if defined(__SANITIZE_ADDRESS__)
	cr_skip_test("memory is not returned under AddressSanitizer");
#endif
	idle = idle_rss_kib();
	snprintf(arg, sizeof(arg), "%ld", idle * 1024 + 24 * MIB);
	hb_start(&b, extra);
	c = connect_blockable();
	p.fd = amqp_get_sockfd(c);
	start = last_progress = tc_now_ms();
	rawpub_start(&p, 1, q, size, start + 8000);
	/*
	 * One message, at about 32 MB/s: the alarm's once-a-second check
	 * sees the mark passed well before the body is all there.
	 */
	while (left > 0 && tc_now_ms() - last_progress < 1500) {
		size_t n = left < BODY_CHUNK ? left : BODY_CHUNK;

		rawpub_frame(&p, 3, 1, NULL, n);
		while (!rawpub_push(&p) && tc_now_ms() - last_progress < 1500)
			usleep(2000);
		if (p.off < p.len)
			break;
		last_progress = tc_now_ms();
		left -= n;
		usleep(4000);
		if ((rss = hb_rss_kib(b.pid)) > peak)
			peak = rss;
	}
	cr_log_info("peak %ld MB over idle, %ld MB of %ld sent",
	    (peak - idle) / 1024, p.sent / MIB, (long)(size / MIB));
	cr_assert(wait_method(c, AMQP_CONNECTION_BLOCKED_METHOD, reason,
	    sizeof(reason)), "no connection.blocked during the publish");
	cr_assert_str_eq(reason, "low on memory");
	cr_assert_lt(peak, idle + 96 * 1024, "the broker took %ld MB of the "
	    "body past its 24 MB watermark", (peak - idle) / 1024);
	cr_assert_gt(left, 0, "the whole body was read during the alarm");
	amqp_destroy_connection(c);
}

/* Whether the broker's end of fd's connection is still established. */
static bool
established(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char cmd[200], out[1024] = "", err[256];
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	snprintf(cmd, sizeof(cmd), "ss -tnH state established "
	    "'( sport = :%d and dport = :%d )'", b.port,
	    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	hb_run(argv, out, sizeof(out), err, sizeof(err));
	return strchr(out, ':') != NULL;
}

/* Pipelines n basic.get + basic.nack requeue pairs on channel 1. */
static void
pipeline_gets(int fd, const char *q, int n)
{
	for (int i = 1; i <= n; i++) {
		uint8_t get[300] = { 0, 0 }, nack[10] = { 0 };
		size_t ql = strlen(q);

		get[2] = (uint8_t)ql;
		memcpy(get + 3, q, ql);
		get[3 + ql] = 0;		/* no-ack false */
		hb_raw_send_method(fd, 1, 60, 70, get, ql + 4);
		for (int k = 0; k < 8; k++)
			nack[k] = (uint8_t)((uint64_t)i >> (56 - 8 * k));
		nack[8] = 2;			/* requeue */
		hb_raw_send_method(fd, 1, 60, 120, nack, 9);
	}
}

Test(alarm, pipelined_gets_wait_for_the_output_and_a_stuck_client_goes)
{
	enum { NCLIENTS = 3, NGETS = 11 };
	static const uint8_t reserved[1] = { 0 };
	amqp_connection_state_t c;
	char q[NCLIENTS][64];
	int fd[NCLIENTS];
	long base, peak = 0, rss, start;
	bool gone = false;
	struct hframe f;

#if defined(__SANITIZE_ADDRESS__)
	cr_skip_test("memory is not returned under AddressSanitizer");
#endif
	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = hb_connect(&b);
	for (int i = 0; i < NCLIENTS; i++) {
		snprintf(q[i], sizeof(q[i]), "%s", hb_name("gets"));
		amqp_queue_declare(c, 1, amqp_cstring_bytes(q[i]), 0, 0, 0, 0,
		    amqp_empty_table);
		cr_assert_eq(amqp_get_rpc_reply(c).reply_type,
		    AMQP_RESPONSE_NORMAL);
		publish(c, q[i], 10 * MIB);
	}
	hb_close(c);
	usleep(200000);
	base = hb_rss_kib(b.pid);
	/*
	 * Clients that ask for the same 10 MB message again and again and
	 * read nothing; the first negotiated a 2 s heartbeat.
	 */
	fd[0] = hb_raw_handshake_hb(&b, 131072, 2);
	hb_raw_send_method(fd[0], 1, 20, 10, reserved, sizeof(reserved));
	cr_assert_eq(hb_raw_read_frame(fd[0], &f, 5000), 1);
	hb_raw_frame_free(&f);
	for (int i = 1; i < NCLIENTS; i++)
		fd[i] = hb_raw_handshake_channel(&b, 131072, 1);
	for (int i = 0; i < NCLIENTS; i++)
		pipeline_gets(fd[i], q[i], NGETS);
	start = tc_now_ms();
	while (tc_now_ms() - start < 9000) {
		if ((rss = hb_rss_kib(b.pid)) > peak)
			peak = rss;
		if (tc_now_ms() - start > 4000 && !established(fd[0])) {
			gone = true;
			break;
		}
		usleep(100000);
	}
	cr_log_info("peak %ld MB over the queued messages, stuck client "
	    "gone after %ld ms", (peak - base) / 1024, tc_now_ms() - start);
	cr_assert_lt(peak, base + 100 * 1024, "%d clients pin %ld MB",
	    NCLIENTS, (peak - base) / 1024);
	cr_assert(gone, "a client that negotiated a 2 s heartbeat and reads "
	    "nothing is still connected after 9 s");
	/* Without heartbeats, send-timeout (30 s) has not passed yet. */
	for (int i = 1; i < NCLIENTS; i++)
		cr_assert(established(fd[i]));
	for (int i = 0; i < NCLIENTS; i++)
		close(fd[i]);
}
