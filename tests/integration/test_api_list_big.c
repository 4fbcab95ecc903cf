/*
 * Big management listings must not stall the loop (admin/api_list.h,
 * keyed listings): GET /api/queues over 20,000 queues used to be written
 * in one loop turn (0.1-0.3 s with every AMQP client waiting), and a page
 * of one item cost as much. Now the page is cut from the keys first and a
 * big answer is written a slice per turn.
 *
 * Checked here with the real slice size: a listing spanning many turns is
 * complete, sorted and right (every sort path); AMQP is served while one
 * is in progress (a publish is confirmed before the listing's answer
 * comes); objects deleted meanwhile break nothing; two listings at once
 * both complete; a client that leaves, or a broker that stops, mid-listing
 * frees everything (teardown asserts a clean exit, leak checks under
 * ASan). The stderr lines give the longest AMQP round trip during a
 * listing, for measurement; no timing is asserted.
 */
#include <criterion/criterion.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/json.h"
#include "tests/common.h"
#include "tests/integration/harness.h"
#include "tests/integration/prober.h"
#include "tests/integration/util.h"

#define GUEST		"guest:guest"
#define NBIG		20000
#define NSMALL		5000
#define NEXCHANGES	3000
#define NDEFAULT_EX	6	/* "" and amq.* of vhost / */

TestSuite(api_list_big, .init = ut_setup, .fini = ut_teardown_clean,
    .timeout = 180);

/* One test at a time: each fills a broker with 20,000 queues. */
int
main(int argc, char *argv[])
{
	return ut_main_serial(argc, argv);
}

/* Declares queue name on channel 1; asserts success. */
static void
declare(amqp_connection_state_t c, const char *name)
{
	amqp_queue_declare(c, 1, amqp_cstring_bytes(name), 0, 0, 0, 0,
	    amqp_empty_table);
	ut_ok(c, "queue.declare");
}

static void
need_admin(void)
{
	if (ut_broker.admin_port == 0 || getenv("WARREN_TEST_URL") != NULL)
		cr_skip_test("needs a fresh broker with an admin port");
}

/* One request; asserts the status; returns the body (malloc'd). */
static char *
call(const char *method, const char *path, const char *body, int want)
{
	return hb_http_call_dup(&ut_broker, GUEST, method, path, body, want);
}

/*
 * nq queues "bq<5 digits>" (x-max-length 1000 + i) and nx exchanges
 * "bx<5 digits>" in vhost vhost, through a definitions import.
 */
static void
fill(const char *vhost, int nq, int nx)
{
	struct hsbuf s = { NULL, 0, 0 };
	char path[128];

	s.cap = 1 << 20;
	cr_assert_not_null(s.p = malloc(s.cap));
	s.p[0] = '\0';
	hb_sbprintf(&s, "{\"queues\":[");
	for (int i = 0; i < nq; i++)
		hb_sbprintf(&s, "%s{\"name\":\"bq%05d\",\"vhost\":\"%s\","
		    "\"durable\":true,\"auto_delete\":false,\"arguments\":"
		    "{\"x-max-length\":%d}}", i ? "," : "", i, vhost, 1000 + i);
	hb_sbprintf(&s, "],\"exchanges\":[");
	for (int i = 0; i < nx; i++)
		hb_sbprintf(&s, "%s{\"name\":\"bx%05d\",\"vhost\":\"%s\","
		    "\"type\":\"fanout\",\"durable\":true,\"auto_delete\":false,"
		    "\"internal\":false,\"arguments\":{}}", i ? "," : "", i,
		    vhost);
	hb_sbprintf(&s, "]}");
	snprintf(path, sizeof(path), "/api/definitions");
	free(call("POST", path, s.p, 204));
	free(s.p);
}

static struct json *
parse(const char *body)
{
	struct json_limits lim = json_default_limits;
	struct json *j;
	char err[128];

	lim.max_input = 1u << 30;
	lim.max_nodes = 1u << 26;
	j = json_parse_limits(body, strlen(body), &lim, err, sizeof(err));
	cr_assert_not_null(j, "answer is no JSON: %s: %.300s", err, body);
	return j;
}

static const char *
str_member(const struct json *o, const char *key)
{
	const struct json *v = json_get(o, key);
	size_t n;

	cr_assert_not_null(v, "no %s", key);
	cr_assert_eq(json_type(v), JSON_STRING);
	return json_str(v, &n);
}

/* GET path: an array of n items named prefix<5 digits> from first by step. */
static void
expect_names(const char *path, const char *prefix, int n, int first,
    int step)
{
	char *body = call("GET", path, NULL, 200), want[32];
	struct json *j = parse(body);

	cr_assert_eq(json_type(j), JSON_ARRAY, "%s: %.200s", path, body);
	cr_assert_eq(json_len(j), (size_t)n, "%s: %zu items, wanted %d", path,
	    json_len(j), n);
	for (int i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "%s%05d", prefix,
		    first + i * step);
		cr_assert_str_eq(str_member(json_at(j, (size_t)i), "name"),
		    want, "%s: item %d", path, i);
	}
	json_free(j);
	free(body);
}

Test(api_list_big, big_listings_are_complete_sorted_and_right)
{
	struct json *j, *it;
	char *body;
	size_t n;

	need_admin();
	fill("/", NSMALL, NEXCHANGES);
	/* Every item, whole: the default order, the right objects. */
	body = call("GET", "/api/queues", NULL, 200);
	j = parse(body);
	cr_assert_eq(json_type(j), JSON_ARRAY);
	cr_assert_eq(json_len(j), NSMALL);
	for (int i = 0; i < NSMALL; i++) {
		char want[32];
		const struct json *a;
		int64_t max;

		it = (struct json *)json_at(j, (size_t)i);
		snprintf(want, sizeof(want), "bq%05d", i);
		cr_assert_str_eq(str_member(it, "name"), want);
		cr_assert_str_eq(str_member(it, "vhost"), "/");
		a = json_get(json_get(it, "arguments"), "x-max-length");
		cr_assert(a != NULL && json_int(a, &max) && max == 1000 + i,
		    "%s: wrong arguments", want);
		cr_assert_not_null(json_get(it, "messages"));
	}
	json_free(j);
	free(body);
	/* sort=name (from the keys) reversed, columns= on every item. */
	expect_names("/api/queues?sort=name&sort_reverse=true&columns=name",
	    "bq", NSMALL, NSMALL - 1, -1);
	body = call("GET", "/api/queues?columns=name", NULL, 200);
	j = parse(body);
	cr_assert_eq(json_len(json_at(j, 0)), 1, "columns=name: %.200s", body);
	json_free(j);
	free(body);
	/* A sort value read from the items' JSON: every item written. */
	expect_names("/api/queues?sort=arguments.x-max-length"
	    "&sort_reverse=true&columns=name", "bq", NSMALL, NSMALL - 1, -1);
	expect_names("/api/queues?sort=arguments.x-max-length&columns=name,"
	    "arguments", "bq", NSMALL, 0, 1);
	/* A page from the keys, and one from the items' values. */
	body = call("GET", "/api/queues?page=3&page_size=500", NULL, 200);
	j = parse(body);
	it = (struct json *)json_get(j, "items");
	cr_assert_eq(json_len(it), 500);
	cr_assert_str_eq(str_member(json_at(it, 0), "name"), "bq01000");
	cr_assert_str_eq(str_member(json_at(it, 499), "name"), "bq01499");
	cr_assert(strstr(body, "\"filtered_count\":5000,") != NULL, "%.300s",
	    body);
	cr_assert(strstr(body, "\"total_count\":5000}") != NULL);
	cr_assert(strstr(body, "\"page_count\":10,") != NULL);
	json_free(j);
	free(body);
	body = call("GET", "/api/queues?page=2&page_size=3&sort=messages"
	    "&sort_reverse=true&columns=name", NULL, 200);
	cr_assert(strstr(body, "\"item_count\":3,") != NULL, "%s", body);
	free(body);
	/* Exchanges: the 7 of vhost / first ("" and amq.*), then ours. */
	body = call("GET", "/api/exchanges?columns=name", NULL, 200);
	j = parse(body);
	n = json_len(j);
	cr_assert_eq(n, NEXCHANGES + NDEFAULT_EX, "%zu exchanges", n);
	cr_assert_str_eq(str_member(json_at(j, 0), "name"), "");
	cr_assert_str_eq(str_member(json_at(j, NDEFAULT_EX), "name"),
	    "bx00000");
	cr_assert_str_eq(str_member(json_at(j, n - 1), "name"), "bx02999");
	json_free(j);
	free(body);
	body = call("GET", "/api/exchanges/%2F?page=1&page_size=1&name=bx0299"
	    "&columns=name", NULL, 200);
	cr_assert(strstr(body, "\"filtered_count\":10,") != NULL, "%s", body);
	cr_assert(strstr(body, "[{\"name\":\"bx02990\"}]") != NULL, "%s",
	    body);
	free(body);
}

/* Sends GET path on a fresh admin connection; returns the socket. */
static int
get_start(const char *path)
{
	char req[2048];
	size_t n = hb_http_format(req, sizeof(req), "GET", path, GUEST, NULL);
	int fd = hb_http_connect(&ut_broker);

	cr_assert_eq(hb_raw_send(fd, req, n), 0);
	return fd;
}

/* Reads get_start's answer, asserts 200, and returns its body parsed. */
static struct json *
get_finish(int fd)
{
	struct hhttp r;
	struct json *j;

	cr_assert_eq(hb_http_read(fd, &r, false, 120000), 1,
	    "no answer to the listing");
	close(fd);
	cr_assert_eq(r.status, 200, "%d: %.300s", r.status, r.body);
	j = parse(r.body);
	hb_http_free(&r);
	cr_assert_eq(json_type(j), JSON_ARRAY);
	return j;
}

/* Whether some bytes of an answer are readable on fd now. */
static bool
readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/*
 * With the listing on fd under way, a publish on c (channel 1 in confirm
 * mode) to exchange x with key is confirmed before the listing is
 * answered. The old listing held the loop until its answer was written:
 * the answer came before the confirm. what names the listing.
 */
static void
confirmed_first(amqp_connection_state_t c, int fd, const char *x,
    const char *key, const char *what)
{
	/* Let the broker read the request and begin. */
	tc_sleep_ms(20);
	ut_publish(c, 1, x, key, "ping");
	ut_confirm_wait(c, 1, 1);
	cr_assert(!readable(fd), "%s was answered before a publish sent "
	    "during it was confirmed", what);
}

/* Each item's name is bq<i> with i rising; returns how many. */
static size_t
check_rising(const struct json *j)
{
	int last = -1;

	for (size_t i = 0; i < json_len(j); i++) {
		const char *name = str_member(json_at(j, i), "name");
		int k;

		cr_assert_eq(sscanf(name, "bq%d", &k), 1, "%s", name);
		cr_assert_gt(k, last, "%s after bq%05d", name, last);
		last = k;
	}
	return json_len(j);
}

Test(api_list_big, amqp_is_served_while_a_big_listing_runs)
{
	amqp_connection_state_t c;
	struct json *j;
	long t0, took;
	int fd;

	need_admin();
	fill("/", NBIG, 0);
	c = ut_connect();
	ut_confirm_select(c, 1);
	declare(c, "zprobe");
	t0 = tc_now_ms();
	fd = get_start("/api/queues");
	confirmed_first(c, fd, "", "zprobe", "the listing");
	j = get_finish(fd);
	took = tc_now_ms() - t0;
	cr_assert_eq(json_len(j), NBIG + 1);
	cr_assert_str_eq(str_member(json_at(j, NBIG), "name"), "zprobe");
	json_free(j);
	fprintf(stderr, "listing of %d queues: answered in %ld ms\n", NBIG + 1,
	    took);
	hb_close(c);
}

/* A publish and its confirm on channel 1 (in confirm mode). */
static bool
confirm_round_trip(amqp_connection_state_t c)
{
	amqp_basic_properties_t props = { 0 };
	amqp_frame_t f;

	return amqp_basic_publish(c, 1, amqp_empty_bytes,
	    amqp_cstring_bytes("probe"), 0, 0, &props,
	    amqp_cstring_bytes("ping")) == AMQP_STATUS_OK &&
	    amqp_simple_wait_frame(c, &f) == AMQP_STATUS_OK &&
	    f.payload.method.id == AMQP_BASIC_ACK_METHOD;
}

/*
 * Not a pass/fail check: the longest publish/confirm round trip during
 * GET path and the listing's time, on stderr (for measurements).
 */
static void
measure(const char *path)
{
	amqp_connection_state_t c = ut_connect();
	struct prober p;
	struct json *j;
	long t0, took, worst;
	int fd;

	ut_confirm_select(c, 1);
	declare(c, "probe");
	pr_start(&p, c, confirm_round_trip, 1);
	tc_sleep_ms(50);
	t0 = tc_now_ms();
	fd = get_start(path);
	j = get_finish(fd);
	took = tc_now_ms() - t0;
	tc_sleep_ms(50);
	worst = pr_stop(&p, "a publish was not confirmed");
	fprintf(stderr, "GET %s: %zu items in %ld ms; longest AMQP round "
	    "trip meanwhile %ld ms (%ld rounds)\n", path,
	    json_type(j) == JSON_ARRAY ? json_len(j) : 1, took, worst,
	    p.rounds);
	json_free(j);
}

Test(api_list_big, measure_round_trips_during_listings)
{
	need_admin();
	fill("/", NBIG, 0);
	measure("/api/queues");
	measure("/api/queues?columns=name");
	measure("/api/queues?sort=messages");
}

Test(api_list_big, objects_deleted_during_a_listing_are_left_out)
{
	amqp_connection_state_t c;
	struct json *j;
	size_t n, from_doomed = 0;
	int fd, gone_listed = 0, last = -1;

	need_admin();
	free(call("PUT", "/api/vhosts/zz", "{}", 201));
	fill("/", NBIG, 0);
	fill("zz", 2000, 0);
	c = ut_connect();
	fd = get_start("/api/queues?columns=name,vhost");
	tc_sleep_ms(20);
	/* A whole vhost, and the last ones in the listing's order. */
	free(call("DELETE", "/api/vhosts/zz", NULL, 204));
	for (int i = NBIG - 1; i >= NBIG - 500; i--) {
		char q[32];

		snprintf(q, sizeof(q), "bq%05d", i);
		amqp_queue_delete(c, 1, amqp_cstring_bytes(q), 0, 0);
		ut_ok(c, "queue.delete");
	}
	j = get_finish(fd);
	n = json_len(j);
	/* Every queue that stayed is there, once, in order. */
	for (size_t i = 0; i < n; i++) {
		const struct json *it = json_at(j, i);
		int k;

		if (strcmp(str_member(it, "vhost"), "zz") == 0) {
			from_doomed++;
			continue;
		}
		cr_assert_eq(sscanf(str_member(it, "name"), "bq%d", &k), 1);
		if (k < NBIG - 500)
			cr_assert_eq(k, (int)i, "item %zu is %s", i,
			    str_member(it, "name"));
		else
			cr_assert_gt(k, last, "bq%05d after bq%05d", k, last);
		last = k;
		gone_listed += k >= NBIG - 500;
	}
	cr_assert_geq(n - from_doomed, NBIG - 500);
	fprintf(stderr, "deleted during the listing: %d of 500 queues and "
	    "%zu of 2000 in a deleted vhost were still listed\n",
	    gone_listed, from_doomed);
	json_free(j);
	/* And the broker goes on. */
	j = get_finish(get_start("/api/queues?columns=name"));
	cr_assert_eq(check_rising(j), NBIG - 500);
	json_free(j);
	hb_close(c);
}

Test(api_list_big, two_big_listings_at_once_both_complete)
{
	struct json *a, *b;
	int fa, fb;

	need_admin();
	fill("/", NBIG, 0);
	fa = get_start("/api/queues?columns=name");
	fb = get_start("/api/queues");
	b = get_finish(fb);
	a = get_finish(fa);
	cr_assert_eq(check_rising(a), NBIG);
	cr_assert_eq(check_rising(b), NBIG);
	json_free(a);
	json_free(b);
}

Test(api_list_big, a_client_that_leaves_mid_listing_frees_it)
{
	amqp_connection_state_t c;
	struct json *j;

	need_admin();
	fill("/", NBIG, 0);
	/* Gone at once, and gone a few turns in. */
	close(get_start("/api/queues"));
	{
		int fd = get_start("/api/queues?sort=messages");

		tc_sleep_ms(30);
		close(fd);
	}
	c = ut_connect();
	declare(c, "after");
	j = get_finish(get_start("/api/queues?sort=name&sort_reverse=true"
	    "&columns=name"));
	cr_assert_eq(json_len(j), NBIG + 1);
	cr_assert_str_eq(str_member(json_at(j, NBIG), "name"), "after");
	json_free(j);
	hb_close(c);
	/* Stopping with a listing under way: teardown's clean exit. */
	close(get_start("/api/queues?columns=name"));
	(void)get_start("/api/queues");
	tc_sleep_ms(10);
}

/* ---- bindings ----------------------------------------------------------- */

/*
 * n queues bq<i> each bound to fanout exchange "bfan" with routing key
 * k<i> (besides the default exchange's implicit binding).
 */
static void
fill_bound(int n)
{
	struct hsbuf s = { NULL, 0, 0 };

	s.cap = 1 << 20;
	cr_assert_not_null(s.p = malloc(s.cap));
	s.p[0] = '\0';
	hb_sbprintf(&s, "{\"exchanges\":[{\"name\":\"bfan\",\"vhost\":\"/\","
	    "\"type\":\"fanout\",\"durable\":true,\"auto_delete\":false,"
	    "\"internal\":false,\"arguments\":{}}],\"queues\":[");
	for (int i = 0; i < n; i++)
		hb_sbprintf(&s, "%s{\"name\":\"bq%05d\",\"vhost\":\"/\","
		    "\"durable\":true,\"auto_delete\":false,\"arguments\":{}}",
		    i ? "," : "", i);
	hb_sbprintf(&s, "],\"bindings\":[");
	for (int i = 0; i < n; i++)
		hb_sbprintf(&s, "%s{\"source\":\"bfan\",\"vhost\":\"/\","
		    "\"destination\":\"bq%05d\",\"destination_type\":\"queue\","
		    "\"routing_key\":\"k%05d\",\"arguments\":{\"x-n\":%d}}",
		    i ? "," : "", i, i, i);
	hb_sbprintf(&s, "]}");
	free(call("POST", "/api/definitions", s.p, 204));
	free(s.p);
}

/*
 * Checks a listing of fill_bound's bindings: each is right and listed
 * once; returns how many of queue i's were listed in seen[i] (bit 1: the
 * implicit one, bit 2: bfan's).
 */
static void
check_bindings(const struct json *j, int n, unsigned char *seen)
{
	memset(seen, 0, (size_t)n);
	for (size_t i = 0; i < json_len(j); i++) {
		const struct json *it = json_at(j, i), *x;
		const char *src = str_member(it, "source");
		const char *dst = str_member(it, "destination");
		const char *key = str_member(it, "routing_key");
		int k;
		int64_t v;

		cr_assert_str_eq(str_member(it, "vhost"), "/");
		cr_assert_str_eq(str_member(it, "destination_type"), "queue");
		cr_assert_eq(sscanf(dst, "bq%d", &k), 1, "%s", dst);
		cr_assert(k >= 0 && k < n, "%s", dst);
		if (src[0] == '\0') {
			cr_assert_str_eq(key, dst);
			cr_assert_str_eq(str_member(it, "properties_key"), dst);
			cr_assert_eq(seen[k] & 1, 0, "%s listed twice", dst);
			seen[k] |= 1;
			continue;
		}
		cr_assert_str_eq(src, "bfan");
		cr_assert_eq(strtol(key + 1, NULL, 10), k, "%s: key %s", dst,
		    key);
		x = json_get(json_get(it, "arguments"), "x-n");
		cr_assert(x != NULL && json_int(x, &v) && v == k,
		    "%s: wrong arguments", dst);
		cr_assert_eq(seen[k] & 2, 0, "bfan -> %s listed twice", dst);
		seen[k] |= 2;
	}
}

Test(api_list_big, big_binding_listings_are_complete_and_do_not_stall)
{
	amqp_connection_state_t c;
	unsigned char *seen = malloc(NBIG + 1);
	struct json *j;
	int fd;

	need_admin();
	cr_assert_not_null(seen);
	fill_bound(NBIG);
	c = ut_connect();
	ut_confirm_select(c, 1);
	fd = get_start("/api/bindings");
	confirmed_first(c, fd, "bfan", "", "the binding listing");
	j = get_finish(fd);
	/* The implicit bindings first, then the exchange's, all there. */
	cr_assert_eq(json_len(j), 2 * NBIG, "%zu bindings", json_len(j));
	cr_assert_str_eq(str_member(json_at(j, 0), "source"), "");
	cr_assert_str_eq(str_member(json_at(j, 2 * NBIG - 1), "source"),
	    "bfan");
	check_bindings(j, NBIG, seen);
	for (int i = 0; i < NBIG; i++)
		cr_assert_eq(seen[i], 3, "bq%05d: %d", i, seen[i]);
	json_free(j);
	/* The per-vhost, per-exchange and per-queue forms. */
	j = get_finish(get_start("/api/bindings/%2F?columns=destination"));
	cr_assert_eq(json_len(j), 2 * NBIG);
	cr_assert_eq(json_len(json_at(j, 0)), 1);
	json_free(j);
	j = get_finish(get_start("/api/exchanges/%2F/bfan/bindings/source"));
	check_bindings(j, NBIG, seen);
	cr_assert_eq(json_len(j), NBIG);
	json_free(j);
	j = get_finish(get_start("/api/exchanges/%2F/amq.default/bindings/"
	    "source"));
	check_bindings(j, NBIG, seen);
	cr_assert_eq(json_len(j), NBIG);
	json_free(j);
	j = get_finish(get_start("/api/queues/%2F/bq00042/bindings"));
	check_bindings(j, NBIG, seen);
	cr_assert_eq(json_len(j), 2);
	cr_assert_eq(seen[42], 3);
	json_free(j);
	/* A sort read from the items. */
	j = get_finish(get_start("/api/bindings?sort=routing_key"
	    "&sort_reverse=true"));
	cr_assert_eq(json_len(j), 2 * NBIG);
	cr_assert_str_eq(str_member(json_at(j, 0), "routing_key"), "k19999");
	cr_assert_str_eq(str_member(json_at(j, 2 * NBIG - 1), "routing_key"),
	    "bq00000");
	json_free(j);
	free(seen);
	hb_close(c);
}

Test(api_list_big, bindings_deleted_during_a_listing_are_left_out)
{
	amqp_connection_state_t c;
	unsigned char *seen = malloc(NBIG + 1);
	struct json *j;
	int fd, gone_listed = 0;

	need_admin();
	cr_assert_not_null(seen);
	fill_bound(NBIG);
	c = ut_connect();
	fd = get_start("/api/bindings");
	tc_sleep_ms(20);
	/* Queues (both their bindings) and bfan's bindings alone. */
	for (int i = 0; i < 1000; i++) {
		char q[32], k[32];
		amqp_table_entry_t e = { amqp_cstring_bytes("x-n"),
		    { .kind = AMQP_FIELD_KIND_I64 } };
		amqp_table_t args = { 1, &e };

		snprintf(q, sizeof(q), "bq%05d", NBIG - 1 - i);
		if (i % 2 == 0) {
			amqp_queue_delete(c, 1, amqp_cstring_bytes(q), 0, 0);
			ut_ok(c, "queue.delete");
			continue;
		}
		snprintf(k, sizeof(k), "k%05d", NBIG - 1 - i);
		e.value.value.i64 = NBIG - 1 - i;
		amqp_queue_unbind(c, 1, amqp_cstring_bytes(q),
		    amqp_cstring_bytes("bfan"), amqp_cstring_bytes(k), args);
		ut_ok(c, "queue.unbind");
	}
	j = get_finish(fd);
	check_bindings(j, NBIG, seen);
	for (int i = 0; i < NBIG - 1000; i++)
		cr_assert_eq(seen[i], 3, "bq%05d: %d", i, seen[i]);
	for (int i = NBIG - 1000; i < NBIG; i++)
		gone_listed += seen[i] != ((NBIG - 1 - i) % 2 ? 1 : 0);
	fprintf(stderr, "bindings: %d of 1000 queues had bindings deleted "
	    "during the listing still listed\n", gone_listed);
	json_free(j);
	/* Afterwards, exactly those left. */
	j = get_finish(get_start("/api/bindings"));
	check_bindings(j, NBIG, seen);
	for (int i = 0; i < NBIG; i++)
		cr_assert_eq(seen[i], i < NBIG - 1000 ? 3 :
		    (NBIG - 1 - i) % 2 ? 1 : 0, "bq%05d: %d", i, seen[i]);
	json_free(j);
	free(seen);
	hb_close(c);
}

Test(api_list_big, measure_round_trips_during_binding_listings)
{
	need_admin();
	fill_bound(NBIG);
	measure("/api/bindings");
}

/* ---- connections, channels, consumers ------------------------------------ */

#define NCONNS		300
#define NCHANS		8	/* per connection */

/* NCONNS connections, NCHANS channels each, a consumer on channel 1. */
static void
open_conns(amqp_connection_state_t *cs, int n)
{
	for (int i = 0; i < n; i++) {
		cs[i] = ut_connect();
		for (int ch = 2; ch <= NCHANS; ch++) {
			amqp_channel_open(cs[i], (amqp_channel_t)ch);
			ut_ok(cs[i], "channel.open");
		}
		if (i == 0) {
			declare(cs[0], "cq");
		}
		amqp_basic_consume(cs[i], 1, amqp_cstring_bytes("cq"),
		    amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
		ut_ok(cs[i], "basic.consume");
	}
}

/* Each item's name is unique and starts with prefix; returns how many. */
static size_t
check_unique(const struct json *j, const char *key)
{
	size_t n = json_len(j);

	for (size_t i = 0; i < n; i++) {
		const char *a = str_member(json_at(j, i), key);

		cr_assert_str_eq(str_member(json_at(j, i), "vhost"), "/");
		/* Sorted by name: a repeat would be next to its twin. */
		if (i > 0)
			cr_assert_str_neq(a, str_member(json_at(j, i - 1),
			    key), "%s listed twice", a);
	}
	return n;
}

Test(api_list_big, connection_and_channel_listings_are_complete)
{
	amqp_connection_state_t cs[NCONNS];
	struct json *j;
	int fa, fb, fc;

	need_admin();
	open_conns(cs, NCONNS);
	j = get_finish(get_start("/api/connections"));
	cr_assert_eq(check_unique(j, "name"), NCONNS);
	for (size_t i = 0; i < json_len(j); i++) {
		const struct json *it = json_at(j, i), *v;
		int64_t n;

		cr_assert_str_eq(str_member(it, "user"), "guest");
		v = json_get(it, "channels");
		cr_assert(v != NULL && json_int(v, &n) && n == NCHANS);
	}
	json_free(j);
	j = get_finish(get_start("/api/channels?columns=name,vhost"));
	cr_assert_eq(check_unique(j, "name"), NCONNS * NCHANS);
	json_free(j);
	j = get_finish(get_start("/api/vhosts/%2F/channels?columns=name,vhost"));
	cr_assert_eq(check_unique(j, "name"), NCONNS * NCHANS);
	json_free(j);
	j = get_finish(get_start("/api/consumers"));
	cr_assert_eq(json_len(j), NCONNS);
	for (size_t i = 0; i < json_len(j); i++)
		cr_assert_str_eq(str_member(json_get(json_at(j, i), "queue"),
		    "name"), "cq");
	json_free(j);
	/* Closing a third while listings run: the rest are listed. */
	fa = get_start("/api/connections?columns=name,vhost");
	fb = get_start("/api/channels?columns=name,vhost");
	fc = get_start("/api/consumers");
	for (int i = 0; i < NCONNS; i += 3) {
		amqp_destroy_connection(cs[i]);
		cs[i] = NULL;
	}
	j = get_finish(fa);
	cr_assert_geq(check_unique(j, "name"), NCONNS - (NCONNS + 2) / 3);
	json_free(j);
	j = get_finish(fb);
	cr_assert_geq(check_unique(j, "name"),
	    (NCONNS - (NCONNS + 2) / 3) * NCHANS);
	json_free(j);
	j = get_finish(fc);
	cr_assert_geq(json_len(j), NCONNS - (NCONNS + 2) / 3);
	json_free(j);
	/* A client that leaves mid-listing. */
	close(get_start("/api/channels"));
	tc_sleep_ms(200);
	j = get_finish(get_start("/api/connections?columns=name,vhost"));
	cr_assert_eq(check_unique(j, "name"), NCONNS - (NCONNS + 2) / 3);
	json_free(j);
	j = get_finish(get_start("/api/channels?columns=name,vhost"));
	cr_assert_eq(check_unique(j, "name"), (NCONNS - (NCONNS + 2) / 3) *
	    NCHANS);
	json_free(j);
	for (int i = 0; i < NCONNS; i++)
		hb_close(cs[i]);
}

/* Measurement: as many connections as WARREN_MEASURE_CONNS (default 0). */
Test(api_list_big, measure_round_trips_during_connection_listings)
{
	const char *env = getenv("WARREN_MEASURE_CONNS");
	int n = env != NULL ? atoi(env) : 0;
	amqp_connection_state_t *cs;

	need_admin();
	if (n <= 0)
		cr_skip_test("set WARREN_MEASURE_CONNS to measure");
	cr_assert_not_null(cs = calloc((size_t)n, sizeof(*cs)));
	for (int i = 0; i < n; i++)
		cs[i] = ut_connect();
	measure("/api/connections");
	measure("/api/channels");
	for (int i = 0; i < n; i++)
		hb_close(cs[i]);
	free(cs);
}
