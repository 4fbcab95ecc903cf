/*
 * The list parameters every management listing shares (admin/api_list.c):
 * pagination with its envelope and errors, the name filter (substring or
 * regex, only with page=), sort and sort_reverse, columns= with dotted
 * paths (on lists and single objects) and the x-vhost header. Expected
 * answers, wording included, are RabbitMQ 3.10's, read from a live broker
 * with the same requests (they need a fresh broker, so they do not run
 * against an external one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tests/integration/harness.h"

#define GUEST	"guest:guest"

TestSuite(api_list, .timeout = 60);

static struct hbroker	b;

static void
need_admin(void)
{
	if (getenv("WARREN_TEST_URL") != NULL)
		cr_skip_test("needs a fresh broker");
	hb_start(&b, NULL);
}

/* One request; asserts the status and returns the body (static copy). */
static const char *
call(const char *method, const char *path, const char *body, int want)
{
	return hb_http_call(&b, GUEST, method, path, body, want);
}

static void
expect(const char *path, int status, const char *body)
{
	const char *got = call("GET", path, NULL, status);

	cr_expect_str_eq(got, body, "GET %s:\n got %s\nwant %s", path, got,
	    body);
}

/* Users lu-c, lu-a, lu-d, lu-B. */
static void
make_users(void)
{
	static const char *const names[] = { "lu-c", "lu-a", "lu-d", "lu-B" };

	for (size_t i = 0; i < 4; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/api/users/%s", names[i]);
		call("PUT", path, "{\"password\":\"p\",\"tags\":\"\"}", 201);
	}
}

/* Vhosts lv-c, lv-a, lv-d, lv-B (vhosts are a paginated listing). */
static void
make_vhosts(void)
{
	static const char *const names[] = { "lv-c", "lv-a", "lv-d", "lv-B" };

	for (size_t i = 0; i < 4; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/api/vhosts/%s", names[i]);
		call("PUT", path, NULL, 201);
	}
}

#define LU(n)	"{\"name\":\"lu-" n "\"}"
#define LV(n)	"{\"name\":\"lv-" n "\"}"
#define ROOT	"{\"name\":\"/\"}"

Test(api_list, unpaged_listing_is_a_bare_sorted_array)
{
	need_admin();
	make_users();
	/* compat: users are never paginated: page= and name= are ignored;
	 * names sort bytewise ("B" before "a"). */
	expect("/api/users?columns=name&page=1&page_size=1&name=lu-",
	    200, "[{\"name\":\"guest\"}," LU("B") "," LU("a") "," LU("c")
	    "," LU("d") "]");
	expect("/api/users?columns=name&sort=name&sort_reverse=true",
	    200, "[" LU("d") "," LU("c") "," LU("a") "," LU("B") ","
	    "{\"name\":\"guest\"}]");
	hb_stop(&b);
}

Test(api_list, pagination_envelope_and_name_filter)
{
	need_admin();
	make_vhosts();
	/* No page=: a bare array, name= ignored. */
	expect("/api/vhosts?columns=name&name=lv-c", 200, "[" ROOT "," LV("B")
	    "," LV("a") "," LV("c") "," LV("d") "]");
	/* Caseless substring; total_count counts before the filter. */
	expect("/api/vhosts?page=1&page_size=2&name=LV-&columns=name",
	    200, "{\"filtered_count\":4,\"item_count\":2,\"items\":[" LV("B")
	    "," LV("a") "],\"page\":1,\"page_count\":2,\"page_size\":2,"
	    "\"total_count\":5}");
	expect("/api/vhosts?page=2&page_size=3&name=lv-&columns=name",
	    200, "{\"filtered_count\":4,\"item_count\":1,\"items\":[" LV("d")
	    "],\"page\":2,\"page_count\":2,\"page_size\":3,"
	    "\"total_count\":5}");
	/* A caseless regex. */
	expect("/api/vhosts?page=1&name=%5ELV-%5Bab%5D%24&use_regex=true"
	    "&columns=name", 200, "{\"filtered_count\":2,\"item_count\":2,"
	    "\"items\":[" LV("B") "," LV("a") "],\"page\":1,\"page_count\":1,"
	    "\"page_size\":100,\"total_count\":5}");
	/* Nothing matches: page 1 is still an answer. */
	expect("/api/vhosts?page=1&name=zzz&columns=name", 200,
	    "{\"filtered_count\":0,\"item_count\":0,\"items\":[],\"page\":1,"
	    "\"page_count\":0,\"page_size\":100,\"total_count\":5}");
	hb_stop(&b);
}

Test(api_list, sort_on_a_key_and_reverse)
{
	need_admin();
	make_vhosts();
	expect("/api/vhosts?sort=name&sort_reverse=true&columns=name&page=1"
	    "&page_size=2", 200, "{\"filtered_count\":5,\"item_count\":2,"
	    "\"items\":[" LV("d") "," LV("c") "],\"page\":1,\"page_count\":3,"
	    "\"page_size\":2,\"total_count\":5}");
	/* A key no item has sorts them all equal: the default order,
	 * which sort_reverse turns round. */
	expect("/api/vhosts?sort=nope&columns=name", 200, "[" ROOT ","
	    LV("B") "," LV("a") "," LV("c") "," LV("d") "]");
	expect("/api/vhosts?sort=nope&sort_reverse=true&columns=name", 200,
	    "[" LV("d") "," LV("c") "," LV("a") "," LV("B") "," ROOT "]");
	hb_stop(&b);
}

Test(api_list, bad_parameters_are_400_with_rabbitmq_reasons)
{
	need_admin();
	expect("/api/vhosts?page=1&page_size=501", 400,
	    "{\"error\":\"invalid_pagination_parameters\",\"reason\":"
	    "\"Invalid pagination parameters: page number 1, page size 501\"}");
	expect("/api/vhosts?page=0", 400,
	    "{\"error\":\"invalid_pagination_parameters\",\"reason\":"
	    "\"Invalid pagination parameters: page number 0, page size "
	    "undefined\"}");
	expect("/api/vhosts?page=abc", 400, "{\"error\":\"bad_request\","
	    "\"reason\":\"Pagination parameters are invalid\"}");
	expect("/api/vhosts?page_size=x", 400, "{\"error\":\"bad_request\","
	    "\"reason\":\"Pagination parameters are invalid\"}");
	expect("/api/vhosts?page=1&name=(&use_regex=true", 400,
	    "{\"error\":\"bad_request\",\"reason\":"
	    "\"Pagination parameters are invalid\"}");
	expect("/api/vhosts?page=3", 400, "{\"error\":\"page_out_of_range\","
	    "\"reason\":\"Page out of range, page: 3 page size: 100, "
	    "len: 1\"}");
	hb_stop(&b);
}

Test(api_list, columns_on_a_single_object_with_dotted_paths)
{
	const char *got;

	need_admin();
	got = call("GET", "/api/overview?columns=object_totals.queues,"
	    "nope.deeper", NULL, 200);
	cr_expect_str_eq(got, "{\"object_totals\":{\"queues\":0}}");
	/* compat: a path going on past a string keeps the string. */
	got = call("GET", "/api/vhosts/%2F?columns=name.x,nope", NULL, 200);
	cr_expect_str_eq(got, "{\"name\":\"/\"}");
	hb_stop(&b);
}

/* A GET with an x-vhost header; returns the body (static copy). */
static const char *
get_with_vhost(const char *path, const char *vhost)
{
	static char	 copy[65536];
	char		 req[4096], *eol;
	struct hhttp	 r;
	size_t		 n;
	int		 fd = hb_http_connect(&b);

	n = hb_http_format(req, sizeof(req), "GET", path, GUEST, NULL);
	eol = strstr(req, "\r\n");
	cr_assert_not_null(eol);
	/* Insert the header after the request line. */
	memmove(eol + 2 + strlen("x-vhost: ") + strlen(vhost) + 2, eol + 2,
	    n - (size_t)(eol + 2 - req) + 1);
	memcpy(eol + 2, "x-vhost: ", strlen("x-vhost: "));
	memcpy(eol + 2 + strlen("x-vhost: "), vhost, strlen(vhost));
	memcpy(eol + 2 + strlen("x-vhost: ") + strlen(vhost), "\r\n", 2);
	n += strlen("x-vhost: ") + strlen(vhost) + 2;
	cr_assert_eq(write(fd, req, n), (ssize_t)n);
	cr_assert_eq(hb_http_read(fd, &r, false, 5000), 1);
	close(fd);
	cr_assert_eq(r.status, 200, "%s: %d %s", path, r.status, r.body);
	snprintf(copy, sizeof(copy), "%s", r.body);
	hb_http_free(&r);
	return copy;
}

Test(api_list, x_vhost_header_does_not_limit_vhosts_or_permissions)
{
	need_admin();
	call("PUT", "/api/vhosts/lv", NULL, 201);
	/* compat: as RabbitMQ 3.10: these list every vhost's. */
	cr_expect_str_eq(get_with_vhost("/api/permissions?columns=vhost",
	    "lv"), "[{\"vhost\":\"/\"},{\"vhost\":\"lv\"}]");
	cr_expect_str_eq(get_with_vhost("/api/vhosts?columns=name", "nope"),
	    "[{\"name\":\"/\"},{\"name\":\"lv\"}]");
	hb_stop(&b);
}
