/*
 * The statistics gaps RabbitMQ tools notice: range parameters (validated
 * with RabbitMQ's wording, and samples/avg/avg_rate in *_details), the
 * overview's disk_reads/disk_writes, and the node memory breakdown
 * (rabbitmqadmin v2 `show memory_breakdown_in_bytes`). The broker samples
 * every 200 ms, so a 1 s incr sees a new sample at every step.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>

#include "lib/json.h"
#include "tests/integration/harness.h"

#define GUEST	"guest:guest"

TestSuite(api_ranges, .timeout = 60);

static struct hbroker	b;

static void
start(void)
{
	const char *const extra[] = {
		"--collect-statistics-interval", "200", NULL
	};

	hb_start(&b, extra);
	hb_require_warrend(&b);
}

/* One GET; asserts the status, returns the malloc'd body. */
static char *
get(const char *path, int want)
{
	struct hhttp	 r;
	char		*body;
	int		 st;

	st = hb_http(&b, "GET", path, GUEST, NULL, &r);
	body = strdup(r.body != NULL ? r.body : "");
	hb_http_free(&r);
	cr_assert_eq(st, want, "GET %s: %d, wanted %d: %.300s", path, st,
	    want, body);
	return body;
}

static struct json *
parse(const char *path, char *body)
{
	char		 err[256];
	struct json	*j = json_parse(body, strlen(body), err, sizeof(err));

	cr_assert_not_null(j, "GET %s: %s: %.300s", path, err, body);
	free(body);
	return j;
}

static struct json *
get_json(const char *path)
{
	return parse(path, get(path, 200));
}

static int64_t
int_of(const struct json *obj, const char *key)
{
	const struct json *v = json_get(obj, key);
	int64_t n;

	cr_assert_not_null(v, "no %s", key);
	cr_assert(json_is_integral(v) && json_int(v, &n), "%s is not an "
	    "integer", key);
	return n;
}

static const char *
str_of(const struct json *obj, const char *key)
{
	const struct json *v = json_get(obj, key);

	cr_assert_not_null(v, "no %s", key);
	cr_assert_eq(json_type(v), JSON_STRING, "%s is not a string", key);
	return json_str(v, NULL);
}

/* A 400 with RabbitMQ's error and reason. */
static void
expect_400(const char *path, const char *error, const char *reason)
{
	struct json *j = parse(path, get(path, 400));

	cr_expect_str_eq(str_of(j, "error"), error, "%s", path);
	cr_expect_str_eq(str_of(j, "reason"), reason, "%s", path);
	json_free(j);
}

Test(api_ranges, bad_ranges_are_400_with_rabbitmq_wording)
{
	static const char *const paths[] = {
		"/api/queues", "/api/exchanges", "/api/vhosts",
		"/api/overview", "/api/connections", "/api/channels",
		"/api/nodes", "/api/vhosts/%2F", "/api/exchanges/%2F/amq.direct",
	};
	static const char *const prefixes[] = {
		"lengths", "msg_rates", "data_rates", "node_stats",
	};
	char path[256];

	start();
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		snprintf(path, sizeof(path), "%s?%s_age=0&%s_incr=5",
		    paths[i], prefixes[i % 4], prefixes[i % 4]);
		expect_400(path, "bad_request",
		    "Invalid range parameters: age 0, incr 5");
	}
	expect_400("/api/queues?lengths_age=60&lengths_incr=0",
	    "bad_request", "Invalid range parameters: age 60, incr 0");
	expect_400("/api/queues?msg_rates_age=-5&msg_rates_incr=5",
	    "bad_request", "Invalid range parameters: age -5, incr 5");
	/* At most 500 steps. */
	expect_400("/api/overview?lengths_age=501&lengths_incr=1",
	    "bad_request", "Invalid range parameters: age 501, incr 1");
	free(get("/api/overview?lengths_age=5000&lengths_incr=10", 200));
	free(get("/api/overview?lengths_age=9000000000000000000&"
	    "lengths_incr=9000000000000000000", 200));
	/* compat: paginated, the error is named after the range. */
	expect_400("/api/queues?page=1&lengths_age=0&lengths_incr=5",
	    "invalid_range_parameters",
	    "Invalid range parameters: age 0, incr 5");
	/* A pair with a member missing or not an integer is ignored. */
	free(get("/api/queues?lengths_age=60", 200));
	free(get("/api/queues?lengths_age=abc&lengths_incr=5", 200));
	free(get("/api/queues?lengths_age=1.5&lengths_incr=1", 200));
	/* Endpoints without statistics ignore them, as RabbitMQ. */
	free(get("/api/users?lengths_age=0&lengths_incr=5", 200));
	hb_stop(&b);
}

static void
publish(amqp_connection_state_t c, const char *q, int n, bool persistent)
{
	amqp_basic_properties_t props = {
		._flags = AMQP_BASIC_DELIVERY_MODE_FLAG,
		.delivery_mode = persistent ? 2 : 1,
	};

	for (int i = 0; i < n; i++)
		cr_assert_eq(amqp_basic_publish(c, 1, amqp_cstring_bytes(""),
		    amqp_cstring_bytes(q), 0, 0, &props,
		    amqp_cstring_bytes("hello")), AMQP_STATUS_OK);
	/* A round trip: everything above has been routed. */
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 1, 0, 0, 0,
	    amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
}

static amqp_connection_state_t
declare(const char *q, bool durable)
{
	amqp_connection_state_t c = hb_connect(&b);

	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, durable, 0, 0,
	    amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	return c;
}

/*
 * obj[key_details] with samples: at most want_max of them, at least 2,
 * newest first, one incr_ms apart on incr boundaries near now, all JSON
 * integers; avg and avg_rate numbers. Returns the newest sample.
 */
static int64_t
check_samples(const struct json *obj, const char *key, size_t want_max,
    int64_t incr_ms)
{
	char name[128];
	const struct json *d, *s, *v;
	int64_t now_ms = (int64_t)time(NULL) * 1000, first = 0, prev = 0;
	size_t n;

	snprintf(name, sizeof(name), "%s_details", key);
	cr_assert_not_null(d = json_get(obj, name), "no %s", name);
	cr_assert_not_null(v = json_get(d, "rate"), "%s: no rate", name);
	cr_assert_eq(json_type(v), JSON_NUMBER);
	cr_assert_not_null(v = json_get(d, "avg"), "%s: no avg", name);
	cr_assert_eq(json_type(v), JSON_NUMBER);
	cr_assert_not_null(v = json_get(d, "avg_rate"), "%s: no avg_rate",
	    name);
	cr_assert_eq(json_type(v), JSON_NUMBER);
	cr_assert_not_null(s = json_get(d, "samples"), "%s: no samples",
	    name);
	cr_assert_eq(json_type(s), JSON_ARRAY);
	n = json_len(s);
	cr_assert(n >= 2 && n <= want_max, "%s: %zu samples, wanted 2..%zu",
	    name, n, want_max);
	for (size_t i = 0; i < n; i++) {
		const struct json *e = json_at(s, i);
		int64_t ts = int_of(e, "timestamp"), sample;

		sample = int_of(e, "sample");
		cr_expect_geq(sample, 0);
		cr_expect_eq(ts % incr_ms, 0, "%s: timestamp %lld not on an "
		    "incr boundary", name, (long long)ts);
		if (i == 0) {
			first = sample;
			cr_expect(ts <= now_ms + 1000 && ts > now_ms - 5000,
			    "%s: newest timestamp %lld, now %lld", name,
			    (long long)ts, (long long)now_ms);
		} else {
			cr_expect_eq(prev - ts, incr_ms, "%s: samples %lld and "
			    "%lld", name, (long long)prev, (long long)ts);
		}
		prev = ts;
	}
	return first;
}

Test(api_ranges, details_carry_samples_avg_and_avg_rate)
{
	const char *q = hb_name("ranges");
	amqp_connection_state_t c;
	struct json *j;
	const struct json *ms, *qt, *conn, *d;
	char path[512];

	start();
	c = declare(q, false);
	publish(c, q, 5, false);
	usleep(2500 * 1000);	/* a dozen samples, two incr steps */
	snprintf(path, sizeof(path), "/api/queues/%%2F/%s?lengths_age=2&"
	    "lengths_incr=1&msg_rates_age=2&msg_rates_incr=1", q);
	j = get_json(path);
	cr_expect_eq(check_samples(j, "messages", 3, 1000), 5);
	cr_expect_eq(check_samples(j, "messages_ready", 3, 1000), 5);
	cr_expect_eq(check_samples(j, "messages_unacknowledged", 3, 1000), 0);
	cr_assert_not_null(ms = json_get(j, "message_stats"));
	cr_expect_eq(check_samples(ms, "publish", 3, 1000), 5);
	/* Steady for two seconds: the average is the value, no slope. */
	d = json_get(j, "messages_details");
	cr_expect_eq(json_num(json_get(d, "avg")), 5.0);
	cr_expect_eq(json_num(json_get(d, "avg_rate")), 0.0);
	json_free(j);

	/* Without ranges: the rate only. */
	snprintf(path, sizeof(path), "/api/queues/%%2F/%s", q);
	j = get_json(path);
	cr_expect_null(json_get(json_get(j, "messages_details"), "samples"));
	cr_expect_null(json_get(json_get(j, "messages_details"), "avg"));
	json_free(j);

	/* The overview: lengths and msg_rates; churn has none. */
	j = get_json("/api/overview?lengths_age=2&lengths_incr=1&"
	    "msg_rates_age=2&msg_rates_incr=1");
	cr_assert_not_null(qt = json_get(j, "queue_totals"));
	cr_expect_eq(check_samples(qt, "messages", 3, 1000), 5);
	cr_assert_not_null(ms = json_get(j, "message_stats"));
	cr_expect_eq(check_samples(ms, "publish", 3, 1000), 5);
	check_samples(ms, "deliver_get", 3, 1000);
	json_free(j);

	/* data_rates on a connection and a vhost; lengths left alone. */
	j = get_json("/api/connections?data_rates_age=2&data_rates_incr=1");
	cr_assert_eq(json_len(j), 1);
	conn = json_at(j, 0);
	cr_expect_gt(check_samples(conn, "recv_oct", 3, 1000), 0);
	check_samples(conn, "send_oct", 3, 1000);
	json_free(j);
	j = get_json("/api/vhosts/%2F?data_rates_age=2&data_rates_incr=1");
	check_samples(j, "recv_oct", 3, 1000);
	cr_expect_null(json_get(json_get(j, "messages_details"), "samples"));
	json_free(j);

	/* A window longer than the history: what exists, nothing made up
	 * (12 samples 200 ms apart span about 2.4 s). */
	j = get_json("/api/overview?lengths_age=60&lengths_incr=1");
	check_samples(json_get(j, "queue_totals"), "messages", 5, 1000);
	json_free(j);
	hb_close(c);
	hb_stop(&b);
}

static const struct json *
overview_stats(struct json **j)
{
	*j = get_json("/api/overview");
	return json_get(*j, "message_stats");
}

Test(api_ranges, disk_writes_and_reads_count_the_store)
{
	const char *q = hb_name("disk");
	amqp_connection_state_t c;
	struct json *j;
	const struct json *ms;

	start();
	c = declare(q, true);
	publish(c, q, 4, true);
	/* Transient messages, or a durable queue's, stay in memory. */
	publish(c, q, 3, false);
	hb_close(c);
	ms = overview_stats(&j);
	cr_expect_eq(int_of(ms, "disk_writes"), 4);
	cr_expect_eq(int_of(ms, "disk_reads"), 0);
	cr_expect_not_null(json_get(ms, "disk_writes_details"));
	json_free(j);

	/* After a restart the bodies are read back as they are fetched. */
	cr_assert_eq(hb_halt(&b, SIGTERM), 0);
	hb_restart(&b, (const char *const[]){ "--collect-statistics-interval",
	    "200", NULL });
	c = hb_connect(&b);
	for (int i = 0; i < 4; i++) {
		amqp_rpc_reply_t r = amqp_basic_get(c, 1,
		    amqp_cstring_bytes(q), 1);
		amqp_message_t msg;

		cr_assert_eq(r.reply.id, AMQP_BASIC_GET_OK_METHOD);
		cr_assert_eq(amqp_read_message(c, 1, &msg, 0).reply_type,
		    AMQP_RESPONSE_NORMAL);
		amqp_destroy_message(&msg);
	}
	hb_close(c);
	ms = overview_stats(&j);
	cr_expect_eq(int_of(ms, "disk_reads"), 4);
	cr_expect_eq(int_of(ms, "disk_writes"), 0);
	json_free(j);
	hb_stop(&b);
}

Test(api_ranges, node_memory_breakdown)
{
	static const char *const keys[] = {
		"connection_readers", "connection_writers",
		"connection_channels", "connection_other", "queue_procs",
		"queue_slave_procs", "quorum_queue_procs",
		"quorum_queue_dlx_procs", "stream_queue_procs",
		"stream_queue_replica_reader_procs",
		"stream_queue_coordinator_procs", "plugins", "metadata_store",
		"other_proc", "metrics", "mgmt_db", "mnesia", "quorum_ets",
		"metadata_store_ets", "other_ets", "binary", "msg_index",
		"code", "atom", "other_system", "allocated_unused",
		"reserved_unallocated",
	};
	const char *q = hb_name("memory");
	amqp_connection_state_t c;
	struct json *j, *r;
	const struct json *m, *t;
	char path[512], node[256];
	int64_t sum = 0, rss;

	start();
	c = declare(q, false);
	publish(c, q, 10, false);
	j = get_json("/api/overview");
	snprintf(node, sizeof(node), "%s", str_of(j, "node"));
	json_free(j);

	snprintf(path, sizeof(path), "/api/nodes/%s/memory", node);
	j = get_json(path);
	cr_assert_not_null(m = json_get(j, "memory"));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		sum += int_of(m, keys[i]);
	cr_expect_str_eq(str_of(m, "strategy"), "rss");
	cr_assert_not_null(t = json_get(m, "total"));
	rss = int_of(t, "rss");
	cr_expect_gt(rss, 1 << 20, "rss %lld", (long long)rss);
	cr_expect_geq(int_of(t, "erlang"), 0);
	cr_expect_geq(int_of(t, "allocated"), 0);
	/* Live connections, queued bodies and the store show up (read
	 * and write buffers are released while idle). */
	cr_expect_gt(int_of(m, "connection_other"), 0);
	cr_expect_gt(int_of(m, "msg_index"), 0);
	cr_expect_geq(int_of(m, "binary"), 10 * 5);
	cr_expect_gt(int_of(m, "queue_procs"), 0);
	/* The parts add up to the resident set. */
	cr_expect_eq(sum, rss, "parts %lld, rss %lld", (long long)sum,
	    (long long)rss);
	json_free(j);

	snprintf(path, sizeof(path), "/api/nodes/%s/memory/relative", node);
	r = get_json(path);
	cr_expect_eq(int_of(json_get(r, "memory"), "total"), 100);
	json_free(r);

	free(get("/api/nodes/rabbit@nowhere/memory", 404));
	hb_close(c);
	hb_stop(&b);
}
