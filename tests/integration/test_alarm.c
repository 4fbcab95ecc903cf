/*
 * Resource alarms block publishers with connection.blocked, as RabbitMQ;
 * client sockets get TCP keepalive.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <criterion/criterion.h>

#include "tests/integration/harness.h"

static struct hbroker	b;

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
	amqp_connection_state_t c, cons;
	const char *q = hb_name("memalarm");
	char arg[32], reason[64] = "";
	const char *extra[] = { "--memory-high-watermark", arg, NULL };
	long rss;

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
	for (int i = 0; i < 48; i++)
		publish(c, q, 1 << 20);
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
