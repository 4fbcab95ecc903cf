/*
 * Message counters and rates end to end: traffic from rabbitmq-c, then
 * message_stats and *_details in the admin API (vhost, overview) and the
 * Prometheus endpoints on both ports, each checked with promtool when it
 * is installed. The broker samples every 100 ms, so rates show up fast.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>

#include "lib/json.h"
#include "tests/integration/harness.h"

#define GUEST	"guest:guest"

TestSuite(api_metrics, .timeout = 60);

static struct hbroker	b;

/*
 * A broker sampling every interval_ms: a rate spans the last 12 samples,
 * so 500 ms keeps a burst in the window for 5.5 s however slow a loaded
 * machine runs the test.
 */
static void
start_every(const char *interval_ms)
{
	const char *const extra[] = {
		"--collect-statistics-interval", interval_ms, NULL
	};

	hb_start(&b, extra);
	hb_require_warrend(&b);
}

static void
start(void)
{
	start_every("500");
}

/* One request on port; asserts the status, returns the malloc'd body. */
static char *
get_on(int port, const char *path, const char *userpass, int want)
{
	struct hbroker	 p = b;
	struct hhttp	 r;
	char		*body;
	int		 st;

	p.admin_port = port;
	st = hb_http(&p, "GET", path, userpass, NULL, &r);
	body = strdup(r.body != NULL ? r.body : "");
	hb_http_free(&r);
	cr_assert_eq(st, want, "GET %s: %d, wanted %d: %.300s", path, st,
	    want, body);
	return body;
}

static struct json *
get_json(const char *path)
{
	char		*body = get_on(b.admin_port, path, GUEST, 200);
	char		 err[256];
	struct json	*j = json_parse(body, strlen(body), err, sizeof(err));

	cr_assert_not_null(j, "GET %s: %s: %.300s", path, err, body);
	free(body);
	return j;
}

/* obj.key.key2... as a JSON integer; fails unless it is one. */
static int64_t
count_of(const struct json *obj, const char *key)
{
	const struct json *v = json_get(obj, key);
	int64_t n;

	cr_assert_not_null(v, "no %s", key);
	cr_assert(json_is_integral(v) && json_int(v, &n), "%s is not an "
	    "integer", key);
	return n;
}

/* obj[key + "_details"].rate: a number. */
static double
rate_of(const struct json *obj, const char *key)
{
	char name[128];
	const struct json *d, *r;

	snprintf(name, sizeof(name), "%s_details", key);
	cr_assert_not_null(d = json_get(obj, name), "no %s", name);
	cr_assert_not_null(r = json_get(d, "rate"), "no %s.rate", name);
	cr_assert_eq(json_type(r), JSON_NUMBER, "%s.rate: not a number",
	    name);
	return json_num(r);
}

static void
publish(amqp_connection_state_t c, const char *exchange, const char *rk,
    bool mandatory, bool persistent)
{
	amqp_basic_properties_t props = {
		._flags = AMQP_BASIC_DELIVERY_MODE_FLAG,
		.delivery_mode = persistent ? 2 : 1,
	};

	cr_assert_eq(amqp_basic_publish(c, 1, amqp_cstring_bytes(exchange),
	    amqp_cstring_bytes(rk), mandatory, 0, &props,
	    amqp_cstring_bytes("hello")), AMQP_STATUS_OK);
}

/*
 * The traffic the tests count: on queue q, 10 confirmed publishes, one
 * mandatory and one plain unroutable publish, a basic.get acked, 9
 * deliveries to a manual-ack consumer acked in one multiple ack, and one
 * basic.get-empty.
 */
static void
traffic(const char *q, bool durable)
{
	amqp_connection_state_t c = hb_connect(&b);
	int acks = 0;

	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, durable, 0, 0,
	    amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	amqp_confirm_select(c, 1);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	for (int i = 0; i < 10; i++)
		publish(c, "", q, false, durable);
	publish(c, "amq.direct", "nowhere", true, false);
	publish(c, "amq.direct", "nowhere", false, false);
	/* 12 confirms (unroutable ones are confirmed too) and 1 return. */
	while (acks < 12) {
		amqp_frame_t f;
		struct timeval tv = { 5, 0 };

		cr_assert_eq(amqp_simple_wait_frame_noblock(c, &f, &tv),
		    AMQP_STATUS_OK);
		if (f.frame_type == AMQP_FRAME_METHOD &&
		    f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
			amqp_basic_ack_t *a = f.payload.method.decoded;

			acks = a->multiple ? (int)a->delivery_tag : acks + 1;
		}
	}
	{
		amqp_rpc_reply_t r = amqp_basic_get(c, 1,
		    amqp_cstring_bytes(q), 0);

		amqp_message_t msg;

		cr_assert_eq(r.reply.id, AMQP_BASIC_GET_OK_METHOD);
		cr_assert_eq(amqp_read_message(c, 1, &msg, 0).reply_type,
		    AMQP_RESPONSE_NORMAL);
		amqp_destroy_message(&msg);
	}
	{
		amqp_envelope_t env;
		struct timeval tv = { 5, 0 };
		uint64_t last = 0;

		amqp_basic_consume(c, 1, amqp_cstring_bytes(q),
		    amqp_cstring_bytes("ctag"), 0, 0, 0, amqp_empty_table);
		cr_assert_eq(amqp_get_rpc_reply(c).reply_type,
		    AMQP_RESPONSE_NORMAL);
		for (int i = 0; i < 9; i++) {
			cr_assert_eq(amqp_consume_message(c, &env, &tv, 0)
			    .reply_type, AMQP_RESPONSE_NORMAL);
			last = env.delivery_tag;
			amqp_destroy_envelope(&env);
		}
		/* Everything so far: the get's tag 1 and the 9 deliveries. */
		cr_assert_eq(amqp_basic_ack(c, 1, last, 1), 0);
		amqp_basic_cancel(c, 1, amqp_cstring_bytes("ctag"));
		cr_assert_eq(amqp_get_rpc_reply(c).reply_type,
		    AMQP_RESPONSE_NORMAL);
	}
	cr_assert_eq(amqp_basic_get(c, 1, amqp_cstring_bytes(q), 1).reply.id,
	    AMQP_BASIC_GET_EMPTY_METHOD);
	hb_close(c);
	/* Two samples at least, so every counter above has a rate. */
	usleep(1200 * 1000);
}

Test(api_metrics, vhost_message_stats_count_every_kind_of_event)
{
	struct json *j, *ms;

	start();
	traffic(hb_name("metrics-q"), false);
	j = get_json("/api/vhosts/%2F");
	cr_assert_not_null(ms = (struct json *)json_get(j, "message_stats"));
	cr_expect_eq(count_of(ms, "publish"), 12);
	cr_expect_eq(count_of(ms, "confirm"), 12);
	cr_expect_eq(count_of(ms, "return_unroutable"), 1);
	cr_expect_eq(count_of(ms, "drop_unroutable"), 1);
	cr_expect_eq(count_of(ms, "get"), 1);
	cr_expect_eq(count_of(ms, "get_no_ack"), 0);
	cr_expect_eq(count_of(ms, "get_empty"), 1);
	cr_expect_eq(count_of(ms, "deliver"), 9);
	cr_expect_eq(count_of(ms, "deliver_no_ack"), 0);
	cr_expect_eq(count_of(ms, "deliver_get"), 10);
	cr_expect_eq(count_of(ms, "ack"), 10);
	cr_expect_eq(count_of(ms, "redeliver"), 0);
	/* A sliding window over the last samples: the burst shows. */
	cr_expect_gt(rate_of(ms, "publish"), 0.0);
	cr_expect_gt(rate_of(ms, "deliver_get"), 0.0);
	cr_expect_eq(rate_of(ms, "redeliver"), 0.0);
	cr_expect_eq(count_of(j, "messages"), 0);
	(void)rate_of(j, "messages");
	cr_expect_gt(count_of(j, "recv_oct"), 0);
	cr_expect_gt(count_of(j, "send_oct"), 0);
	cr_expect_gt(rate_of(j, "recv_oct"), 0.0);
	json_free(j);
	hb_stop(&b);
}

Test(api_metrics, rates_fall_back_to_zero_after_the_window)
{
	struct json *j;

	start_every("100");
	traffic(hb_name("metrics-q"), false);
	/* 12 samples of 100 ms: after 2 s the burst is out of them. */
	usleep(2000 * 1000);
	j = get_json("/api/vhosts/%2F");
	cr_expect_eq(count_of(json_get(j, "message_stats"), "publish"), 12);
	cr_expect_eq(rate_of(json_get(j, "message_stats"), "publish"), 0.0);
	json_free(j);
	hb_stop(&b);
}

Test(api_metrics, idle_vhost_has_no_message_stats)
{
	struct hhttp r;
	struct json *j;

	start();
	cr_assert_eq(hb_http(&b, "PUT", "/api/vhosts/idle", GUEST, NULL, &r),
	    201);
	hb_http_free(&r);
	j = get_json("/api/vhosts/idle");
	cr_expect_null(json_get(j, "message_stats"),
	    "message_stats before any activity");
	cr_expect_eq(count_of(j, "messages"), 0);
	cr_expect_eq(rate_of(j, "messages_ready"), 0.0);
	json_free(j);
	hb_stop(&b);
}

Test(api_metrics, overview_has_message_stats_queue_totals_and_churn)
{
	struct json *j;
	const struct json *ms, *qt, *ch;
	amqp_connection_state_t c;
	const char *q = hb_name("metrics-q");

	start();
	traffic(q, false);
	/* Two messages left in a queue: depth and its rate. */
	c = hb_connect(&b);
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 0, 0, 0,
	    amqp_empty_table);
	publish(c, "", q, false, false);
	publish(c, "", q, false, false);
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 1, 0, 0, 0,
	    amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	usleep(1200 * 1000);
	j = get_json("/api/overview");
	cr_assert_not_null(ms = json_get(j, "message_stats"));
	cr_expect_eq(count_of(ms, "publish"), 14);
	cr_expect_gt(rate_of(ms, "publish"), 0.0);
	cr_assert_not_null(qt = json_get(j, "queue_totals"));
	cr_expect_eq(count_of(qt, "messages"), 2);
	cr_expect_eq(count_of(qt, "messages_ready"), 2);
	cr_expect_eq(count_of(qt, "messages_unacknowledged"), 0);
	cr_expect_gt(rate_of(qt, "messages_ready"), 0.0);
	cr_assert_not_null(ch = json_get(j, "churn_rates"));
	cr_expect_eq(count_of(ch, "connection_created"), 2);
	cr_expect_eq(count_of(ch, "connection_closed"), 1);
	cr_expect_eq(count_of(ch, "channel_created"), 2);
	/* Passive declares are not counted (compat: RabbitMQ). */
	cr_expect_eq(count_of(ch, "queue_declared"), 2);
	cr_expect_eq(count_of(ch, "queue_created"), 1);
	cr_expect_eq(count_of(ch, "queue_deleted"), 0);
	cr_expect_gt(rate_of(ch, "connection_created"), 0.0);
	json_free(j);
	hb_close(c);
	hb_stop(&b);
}

/*
 * Runs promtool check metrics on text; skips when it is not installed.
 * tests/tools/setup (./bootstrap --test) unpacks it under
 * ~/.cache/warren-tools/bin; one on PATH does too.
 */
static void
promtool_check(const char *what, const char *text)
{
	char path[512], cmd[2048], out[4096] = "", err[4096] = "";
	const char *cache = getenv("WARREN_TOOLS_CACHE"), *xdg, *home;
	char dir[512];
	FILE *f;
	int rc;

	if (cache != NULL && cache[0] != '\0')
		snprintf(dir, sizeof(dir), "%s/bin", cache);
	else if ((xdg = getenv("XDG_CACHE_HOME")) != NULL && xdg[0] != '\0')
		snprintf(dir, sizeof(dir), "%s/warren-tools/bin", xdg);
	else
		snprintf(dir, sizeof(dir), "%s/.cache/warren-tools/bin",
		    (home = getenv("HOME")) != NULL ? home : "");
	snprintf(cmd, sizeof(cmd), "PATH='%s':\"$PATH\" command -v promtool "
	    ">/dev/null 2>&1", dir);
	if (system(cmd) != 0)
		cr_skip_test("promtool is not installed: run tests/tools/setup "
		    "(./bootstrap --test), which unpacks it from Debian's "
		    "prometheus package");
	snprintf(path, sizeof(path), "%s/metrics.txt", b.dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "PATH='%s':\"$PATH\" promtool check "
	    "metrics < '%s'", dir, path);
	rc = hb_run((const char *const[]){ "/bin/sh", "-c", cmd, NULL }, out,
	    sizeof(out), err, sizeof(err));
	cr_expect_eq(rc, 0, "promtool check metrics on %s: %s%s", what, out,
	    err);
}

Test(api_metrics, metrics_endpoints_count_traffic_and_pass_promtool)
{
	const char *q = hb_name("metrics-q");
	char line[512], *m;

	start();
	cr_assert_gt(b.prometheus_port, 0, "no DIR/warrend.prometheus-port");
	traffic(q, false);

	m = get_on(b.prometheus_port, "/metrics", NULL, 200);
	cr_expect_not_null(strstr(m, "\nrabbitmq_global_messages_received_"
	    "total{protocol=\"amqp091\"} 12\n"), "%s", m);
	cr_expect_not_null(strstr(m, "\nrabbitmq_global_messages_acknowledged"
	    "_total{protocol=\"amqp091\",queue_type=\"rabbit_classic_queue\"} "
	    "10\n"));
	cr_expect_not_null(strstr(m, "\nrabbitmq_queue_messages_ready 0\n"),
	    "aggregated families are summed");
	cr_expect_not_null(strstr(m, "\nrabbitmq_connections_opened_total "
	    "1\n"));
	cr_expect_not_null(strstr(m, "# TYPE rabbitmq_queue_messages_ready "
	    "gauge\n"));
	cr_expect_not_null(strstr(m, "rabbitmq_identity_info{"));
	cr_expect_not_null(strstr(m, "rabbitmq_endpoint=\"aggregated\""));
	cr_expect_not_null(strstr(m, "\nrabbitmq_build_info{"));
	cr_expect_not_null(strstr(m, "\nwarren_store_commit_seconds_count "));
	cr_expect_null(strstr(m, "{vhost="), "aggregated output is labelled");
	/* compat: RabbitMQ's message size histogram, bounds as "100.0". */
	cr_expect_not_null(strstr(m, "\nrabbitmq_message_size_bytes_bucket{"
	    "protocol=\"amqp091\",le=\"100.0\"} 12\n"), "%s", m);
	cr_expect_not_null(strstr(m, "\nrabbitmq_message_size_bytes_bucket{"
	    "protocol=\"amqp091\",le=\"+Inf\"} 12\n"));
	cr_expect_not_null(strstr(m, "\nrabbitmq_message_size_bytes_sum{"
	    "protocol=\"amqp091\"} 60\n"));
	cr_expect_not_null(strstr(m, "\nrabbitmq_process_resident_memory_"
	    "bytes "));
	cr_expect_null(strstr(m, "\nrabbitmq_process_resident_memory_bytes "
	    "0\n"), "resident memory is 0");
	promtool_check("/metrics", m);
	free(m);

	m = get_on(b.prometheus_port, "/metrics/per-object", NULL, 200);
	snprintf(line, sizeof(line), "\nrabbitmq_queue_messages{vhost=\"/\","
	    "queue=\"%s\"} 0\n", q);
	cr_expect_not_null(strstr(m, line), "no %s", line + 1);
	cr_expect_not_null(strstr(m, "rabbitmq_endpoint=\"per-object\""));
	cr_expect_not_null(strstr(m, "\nrabbitmq_build_info{"));
	promtool_check("/metrics/per-object", m);
	free(m);

	m = get_on(b.prometheus_port, "/metrics/detailed?family=queue_coarse_"
	    "metrics&family=connection_churn_metrics&family=vhost_status",
	    NULL, 200);
	snprintf(line, sizeof(line), "\nrabbitmq_detailed_queue_messages{"
	    "vhost=\"/\",queue=\"%s\"} 0\n", q);
	cr_expect_not_null(strstr(m, line), "no %s in %s", line + 1, m);
	cr_expect_not_null(strstr(m, "\nrabbitmq_detailed_connections_opened"
	    "_total 1\n"));
	cr_expect_not_null(strstr(m, "\nrabbitmq_cluster_vhost_status{vhost="
	    "\"/\"} 1\n"));
	cr_expect_null(strstr(m, "rabbitmq_detailed_channel_"),
	    "a family that was not asked for");
	cr_expect_not_null(strstr(m, "rabbitmq_endpoint=\"detailed\""));
	cr_expect_not_null(strstr(m, "\nrabbitmq_build_info{"));
	promtool_check("/metrics/detailed", m);
	free(m);

	/* queue= is a regex over queue names: this one matches nothing. */
	m = get_on(b.prometheus_port, "/metrics/detailed?family=queue_coarse_"
	    "metrics&queue=%5Enone%24", NULL, 200);
	cr_expect_null(strstr(m, "rabbitmq_detailed_queue_messages{"));
	free(m);
	hb_stop(&b);
}

Test(api_metrics, admin_port_serves_metrics_without_credentials)
{
	char *m;

	start();
	m = get_on(b.admin_port, "/metrics", NULL, 200);
	cr_expect_not_null(strstr(m, "rabbitmq_identity_info{"));
	free(m);
	/* The metrics listener serves metrics only. */
	free(get_on(b.prometheus_port, "/api/overview", GUEST, 404));
	free(get_on(b.prometheus_port, "/metrics/nothing", NULL, 404));
	hb_stop(&b);
}

Test(api_metrics, metrics_are_text_plain_and_get_only)
{
	struct hbroker p;
	struct hhttp r;

	start();
	p = b;
	p.admin_port = b.prometheus_port;
	cr_assert_eq(hb_http(&p, "GET", "/metrics", NULL, NULL, &r), 200);
	cr_expect_str_eq(hb_http_header(&r, "content-type"),
	    "text/plain; version=0.0.4");
	hb_http_free(&r);
	cr_assert_eq(hb_http(&p, "DELETE", "/metrics", NULL, NULL, &r), 405);
	hb_http_free(&r);
	hb_stop(&b);
}

Test(api_metrics, store_commit_histograms_count_durable_publishes)
{
	char *m, *p;
	long n;

	start();
	traffic(hb_name("metrics-durable"), true);
	m = get_on(b.prometheus_port, "/metrics", NULL, 200);
	cr_assert_not_null(p = strstr(m, "\nwarren_store_commit_seconds_count "));
	n = strtol(p + strlen("\nwarren_store_commit_seconds_count "), NULL,
	    10);
	cr_expect_gt(n, 0, "no commit measured");
	cr_assert_not_null(p = strstr(m,
	    "\nwarren_store_commit_batch_size_sum "));
	cr_expect_gt(strtol(p + strlen("\nwarren_store_commit_batch_size_sum "),
	    NULL, 10), 9, "fewer ops than the 10 stored messages");
	free(m);
	hb_stop(&b);
}

/* Whether m has a line that starts with head and ends with tail. */
static bool
has_line(const char *m, const char *head, const char *tail)
{
	size_t hl = strlen(head), tl = strlen(tail);

	for (const char *p = m; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		if (len >= hl + tl && strncmp(p, head, hl) == 0 &&
		    strncmp(p + len - tl, tail, tl) == 0)
			return true;
		p = nl != NULL ? nl + 1 : NULL;
	}
	return false;
}

/*
 * compat: RabbitMQ's channel_exchange_metrics and channel_queue_metrics
 * on /metrics/per-object are labelled {channel,vhost,exchange} and
 * {channel,vhost,queue}: one channel publishing to two exchanges and
 * consuming from a queue gets a line per exchange and per queue, and a
 * deleted queue's lines go with it.
 */
Test(api_metrics, per_object_channel_families_per_exchange_and_queue)
{
	const char *q = hb_name("chq");
	amqp_connection_state_t c;
	amqp_envelope_t env;
	struct timeval tv = { 5, 0 };
	char tail[256], *m;
	uint64_t last = 0;

	start();
	c = hb_connect(&b);
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 0, 0, 0,
	    amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	for (int i = 0; i < 3; i++)
		publish(c, "", q, false, false);
	publish(c, "amq.direct", "nowhere", true, false);
	publish(c, "amq.direct", "nowhere", false, false);
	amqp_basic_consume(c, 1, amqp_cstring_bytes(q),
	    amqp_cstring_bytes("ctag"), 0, 0, 0, amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	for (int i = 0; i < 3; i++) {
		amqp_rpc_reply_t r = amqp_consume_message(c, &env, &tv, 0);

		/* The basic.return of the mandatory publish may come first. */
		if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
			amqp_frame_t f;
			amqp_message_t msg;

			cr_assert_eq(amqp_simple_wait_frame(c, &f),
			    AMQP_STATUS_OK);
			cr_assert_eq(f.payload.method.id,
			    AMQP_BASIC_RETURN_METHOD);
			cr_assert_eq(amqp_read_message(c, 1, &msg, 0)
			    .reply_type, AMQP_RESPONSE_NORMAL);
			amqp_destroy_message(&msg);
			i--;
			continue;
		}
		cr_assert_eq(r.reply_type, AMQP_RESPONSE_NORMAL);
		last = env.delivery_tag;
		amqp_destroy_envelope(&env);
	}
	cr_assert_eq(amqp_basic_ack(c, 1, last, 1), 0);
	amqp_basic_cancel(c, 1, amqp_cstring_bytes("ctag"));
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	/* An RPC after the ack: the broker has counted it by the reply. */
	cr_assert_eq(amqp_basic_get(c, 1, amqp_cstring_bytes(q), 1).reply.id,
	    AMQP_BASIC_GET_EMPTY_METHOD);

	m = get_on(b.prometheus_port, "/metrics/per-object", NULL, 200);
	cr_expect(has_line(m, "rabbitmq_channel_messages_published_total{"
	    "channel=\"", " (1)\",vhost=\"/\",exchange=\"\"} 3"), "%s", m);
	cr_expect(has_line(m, "rabbitmq_channel_messages_published_total{"
	    "channel=\"", " (1)\",vhost=\"/\",exchange=\"amq.direct\"} 2"));
	cr_expect(has_line(m, "rabbitmq_channel_messages_unroutable_returned_"
	    "total{channel=\"", ",exchange=\"amq.direct\"} 1"));
	cr_expect(has_line(m, "rabbitmq_channel_messages_unroutable_dropped_"
	    "total{channel=\"", ",exchange=\"amq.direct\"} 1"));
	cr_expect(has_line(m, "rabbitmq_channel_messages_unroutable_dropped_"
	    "total{channel=\"", ",exchange=\"\"} 0"));
	snprintf(tail, sizeof(tail), " (1)\",vhost=\"/\",queue=\"%s\"} 3", q);
	cr_expect(has_line(m, "rabbitmq_channel_messages_delivered_ack_total{"
	    "channel=\"", tail), "no delivered_ack line ending %s", tail);
	cr_expect(has_line(m, "rabbitmq_channel_messages_acked_total{"
	    "channel=\"", tail));
	snprintf(tail, sizeof(tail), ",queue=\"%s\"} 1", q);
	cr_expect(has_line(m, "rabbitmq_channel_get_empty_total{channel=\"",
	    tail));
	snprintf(tail, sizeof(tail), ",queue=\"%s\"} 0", q);
	cr_expect(has_line(m, "rabbitmq_channel_messages_redelivered_total{"
	    "channel=\"", tail));
	promtool_check("/metrics/per-object", m);
	free(m);

	/* Aggregated: the channel's totals, unlabelled. */
	m = get_on(b.prometheus_port, "/metrics", NULL, 200);
	cr_expect_not_null(strstr(m, "\nrabbitmq_channel_messages_published_"
	    "total 5\n"), "%s", m);
	cr_expect_not_null(strstr(m, "\nrabbitmq_channel_messages_delivered_"
	    "ack_total 3\n"));
	free(m);

	m = get_on(b.prometheus_port, "/metrics/detailed?family=channel_queue_"
	    "metrics", NULL, 200);
	snprintf(tail, sizeof(tail), ",queue=\"%s\"} 3", q);
	cr_expect(has_line(m, "rabbitmq_detailed_channel_messages_acked_total{"
	    "channel=\"", tail), "%s", m);
	cr_expect_null(strstr(m, "exchange=\""), "a family not asked for");
	promtool_check("/metrics/detailed", m);
	free(m);
	m = get_on(b.prometheus_port, "/metrics/detailed?family=channel_"
	    "exchange_metrics", NULL, 200);
	cr_expect(has_line(m, "rabbitmq_detailed_channel_messages_published_"
	    "total{channel=\"", ",exchange=\"amq.direct\"} 2"), "%s", m);
	cr_expect_null(strstr(m, "queue=\""), "a family not asked for");
	free(m);

	amqp_queue_delete(c, 1, amqp_cstring_bytes(q), 0, 0);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	m = get_on(b.prometheus_port, "/metrics/per-object", NULL, 200);
	snprintf(tail, sizeof(tail), "queue=\"%s\"", q);
	cr_expect_null(strstr(m, tail), "a deleted queue's lines: %s", m);
	cr_expect(has_line(m, "rabbitmq_channel_messages_published_total{"
	    "channel=\"", ",exchange=\"amq.direct\"} 2"));
	promtool_check("/metrics/per-object", m);
	free(m);
	hb_close(c);
	hb_stop(&b);
}

/* Waits for n publisher confirms on channel 1. */
static void
await_confirms(amqp_connection_state_t c, int n)
{
	int acks = 0;

	while (acks < n) {
		amqp_frame_t f;
		struct timeval tv = { 5, 0 };

		cr_assert_eq(amqp_simple_wait_frame_noblock(c, &f, &tv),
		    AMQP_STATUS_OK);
		if (f.frame_type == AMQP_FRAME_METHOD &&
		    f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
			amqp_basic_ack_t *a = f.payload.method.decoded;

			acks = a->multiple ? (int)a->delivery_tag : acks + 1;
		}
	}
}

/*
 * compat: RabbitMQ 3.10 labels channel_messages_confirmed_total per
 * exchange, and counts what a channel routes into each queue from each
 * exchange as rabbitmq_queue_messages_published_total{channel,
 * queue_vhost,queue,exchange_vhost,exchange} (channel_queue_exchange_
 * metrics; summed on /metrics). Checked against a live 3.10.8: a fanout
 * publish into two queues gives a line per queue.
 */
Test(api_metrics, per_object_confirms_per_exchange_and_queue_exchange_pairs)
{
	const char *q1 = hb_name("pair1"), *q2 = hb_name("pair2");
	amqp_connection_state_t c;
	char tail[256], *m;

	start();
	c = hb_connect(&b);
	for (int i = 0; i < 2; i++) {
		const char *q = i == 0 ? q1 : q2;

		amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 0, 0, 0,
		    amqp_empty_table);
		cr_assert_eq(amqp_get_rpc_reply(c).reply_type,
		    AMQP_RESPONSE_NORMAL);
		amqp_queue_bind(c, 1, amqp_cstring_bytes(q),
		    amqp_cstring_bytes("amq.fanout"), amqp_cstring_bytes(""),
		    amqp_empty_table);
		cr_assert_eq(amqp_get_rpc_reply(c).reply_type,
		    AMQP_RESPONSE_NORMAL);
	}
	amqp_confirm_select(c, 1);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	for (int i = 0; i < 3; i++)
		publish(c, "amq.fanout", "", false, false);
	for (int i = 0; i < 2; i++)
		publish(c, "", q1, false, false);
	await_confirms(c, 5);

	m = get_on(b.prometheus_port, "/metrics/per-object", NULL, 200);
	cr_expect(has_line(m, "rabbitmq_channel_messages_confirmed_total{"
	    "channel=\"", " (1)\",vhost=\"/\",exchange=\"amq.fanout\"} 3"),
	    "%s", m);
	cr_expect(has_line(m, "rabbitmq_channel_messages_confirmed_total{"
	    "channel=\"", " (1)\",vhost=\"/\",exchange=\"\"} 2"));
	snprintf(tail, sizeof(tail), " (1)\",queue_vhost=\"/\",queue=\"%s\","
	    "exchange_vhost=\"/\",exchange=\"amq.fanout\"} 3", q1);
	cr_expect(has_line(m, "rabbitmq_queue_messages_published_total{"
	    "channel=\"", tail), "no line ending %s", tail);
	snprintf(tail, sizeof(tail), " (1)\",queue_vhost=\"/\",queue=\"%s\","
	    "exchange_vhost=\"/\",exchange=\"amq.fanout\"} 3", q2);
	cr_expect(has_line(m, "rabbitmq_queue_messages_published_total{"
	    "channel=\"", tail), "no line ending %s", tail);
	snprintf(tail, sizeof(tail), " (1)\",queue_vhost=\"/\",queue=\"%s\","
	    "exchange_vhost=\"/\",exchange=\"\"} 2", q1);
	cr_expect(has_line(m, "rabbitmq_queue_messages_published_total{"
	    "channel=\"", tail), "no line ending %s", tail);
	promtool_check("/metrics/per-object", m);
	free(m);

	m = get_on(b.prometheus_port, "/metrics", NULL, 200);
	cr_expect_not_null(strstr(m, "\nrabbitmq_queue_messages_published_"
	    "total 8\n"), "%s", m);
	cr_expect_not_null(strstr(m, "\nrabbitmq_channel_messages_confirmed_"
	    "total 5\n"));
	free(m);

	m = get_on(b.prometheus_port, "/metrics/detailed?family=channel_queue_"
	    "exchange_metrics", NULL, 200);
	snprintf(tail, sizeof(tail), "queue=\"%s\",exchange_vhost=\"/\","
	    "exchange=\"\"} 2", q1);
	cr_expect(has_line(m, "rabbitmq_detailed_queue_messages_published_"
	    "total{channel=\"", tail), "%s", m);
	free(m);

	/* A deleted queue takes its pairs with it. */
	amqp_queue_delete(c, 1, amqp_cstring_bytes(q2), 0, 0);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	m = get_on(b.prometheus_port, "/metrics/per-object", NULL, 200);
	snprintf(tail, sizeof(tail), "queue=\"%s\"", q2);
	cr_expect_null(strstr(m, tail), "a deleted queue's lines: %s", m);
	free(m);

	/* A closed channel's lines go, as RabbitMQ's do. */
	hb_close(c);
	m = get_on(b.prometheus_port, "/metrics/per-object", NULL, 200);
	cr_expect_null(strstr(m, "rabbitmq_queue_messages_published_total{"),
	    "%s", m);
	free(m);
	hb_stop(&b);
}

/*
 * compat: /metrics/memory-breakdown (RabbitMQ 3.13+'s registry): the
 * node_memory gauges in RabbitMQ's names, with identity_info naming the
 * endpoint and the node as the management API does.
 */
Test(api_metrics, memory_breakdown_has_rabbitmq_gauges)
{
	const char *q = hb_name("membd");
	char *m, *node, want[512];
	struct json *nodes;
	const char *p;

	start();
	traffic(q, false);
	m = get_on(b.prometheus_port, "/metrics/memory-breakdown", NULL, 200);
	cr_expect_not_null(strstr(m, "# TYPE rabbitmq_memory_binary_heap_bytes "
	    "gauge\n"), "%s", m);
	cr_expect_not_null(strstr(m, "\nrabbitmq_memory_message_index_bytes "));
	cr_expect_not_null(strstr(m, "\nrabbitmq_memory_client_connection_"
	    "reader_bytes "));
	cr_expect_not_null(p = strstr(m, "\nrabbitmq_memory_other_system_bytes "));
	if (p != NULL)
		cr_expect_neq(atoll(p + strlen("\nrabbitmq_memory_other_system_"
		    "bytes ")), 0, "the rest of the resident set is 0");
	cr_expect_null(strstr(m, "rabbitmq_queue_"), "other families");
	cr_expect_not_null(strstr(m, "rabbitmq_endpoint=\"memory-breakdown\""));
	nodes = get_json("/api/nodes");
	cr_assert_eq(json_len(nodes), 1);
	node = strdup(json_str(json_get(json_at(nodes, 0), "name"), NULL));
	json_free(nodes);
	snprintf(want, sizeof(want), "rabbitmq_identity_info{rabbitmq_node=\"%s\"",
	    node);
	cr_expect_not_null(strstr(m, want), "no %s in %s", want, m);
	free(node);
	promtool_check("/metrics/memory-breakdown", m);
	free(m);
	hb_stop(&b);
}

/*
 * A channel's queue slots outlive deleted queues only until they are
 * needed: after 16 queues it used are deleted, the next 16 it uses are
 * broken out in their place, and the deleted ones are never shown.
 */
Test(api_metrics, per_object_slots_of_deleted_queues_are_reused)
{
	amqp_connection_state_t c;
	char names[32][64], tail[128], *m;

	start();
	c = hb_connect(&b);
	for (int i = 0; i < 32; i++) {
		snprintf(names[i], sizeof(names[i]), "%s-%d", hb_name("slot"),
		    i);
		amqp_queue_declare(c, 1, amqp_cstring_bytes(names[i]), 0, 0,
		    0, 0, amqp_empty_table);
		cr_assert_eq(amqp_get_rpc_reply(c).reply_type,
		    AMQP_RESPONSE_NORMAL);
	}
	for (int i = 0; i < 32; i++) {
		/* Fill the channel's 16 queue slots, then delete them. */
		cr_assert_eq(amqp_basic_get(c, 1,
		    amqp_cstring_bytes(names[i]), 1).reply.id,
		    AMQP_BASIC_GET_EMPTY_METHOD);
		if (i == 15)
			for (int k = 0; k < 16; k++) {
				amqp_queue_delete(c, 1,
				    amqp_cstring_bytes(names[k]), 0, 0);
				cr_assert_eq(amqp_get_rpc_reply(c).reply_type,
				    AMQP_RESPONSE_NORMAL);
			}
	}
	m = get_on(b.prometheus_port, "/metrics/per-object", NULL, 200);
	for (int i = 0; i < 32; i++) {
		snprintf(tail, sizeof(tail), ",queue=\"%s\"} 1", names[i]);
		if (i < 16)
			cr_expect(!has_line(m, "rabbitmq_channel_get_empty_"
			    "total{channel=\"", tail), "deleted %s shown",
			    names[i]);
		else
			cr_expect(has_line(m, "rabbitmq_channel_get_empty_"
			    "total{channel=\"", tail), "no line for %s: %s",
			    names[i], m);
	}
	free(m);
	/* Closing the channel lets go of every queue it held (ASan). */
	hb_close(c);
	hb_stop(&b);
}
