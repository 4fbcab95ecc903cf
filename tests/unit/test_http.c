#include "autoconf.h"

/* Unit tests for the admin API's HTTP parser and serializer (admin/http.c). */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/http.h"
#include "lib/buf.h"

static struct http_parser	ps;
static struct http_request	req;

static void
setup(void)
{
	http_parser_init(&ps);
	memset(&req, 0, sizeof(req));
}

static void
teardown(void)
{
	http_request_free(&req);
}

TestSuite(http, .init = setup, .fini = teardown);

/* Parses all of s at once. */
static enum http_parse_result
parse(const char *s, size_t *used)
{
	return http_parse(&ps, (const uint8_t *)s, strlen(s), &req, used);
}

static enum http_parse_result
parse_n(const void *p, size_t n, size_t *used)
{
	return http_parse(&ps, p, n, &req, used);
}

static bool
seg_is(size_t i, const char *want)
{
	return i < req.nseg && req.seg[i].len == strlen(want) &&
	    memcmp(req.seg[i].p, want, req.seg[i].len) == 0;
}

static bool
str_is(struct proto_str s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

#define GET_WHOAMI	"GET /api/whoami HTTP/1.1\r\nHost: x\r\n\r\n"

/* An error status from parsing s whole. */
static int
error_of(const char *s)
{
	size_t used;

	http_parser_init(&ps);
	if (parse(s, &used) != HTTP_PARSE_ERROR)
		return 0;
	return ps.status;
}

/* ---- happy paths ---------------------------------------------------------- */

Test(http, parses_a_simple_get)
{
	size_t used;

	cr_assert_eq(parse(GET_WHOAMI, &used), HTTP_PARSE_REQUEST);
	cr_assert_eq(used, strlen(GET_WHOAMI));
	cr_assert_eq(req.method, HTTP_GET);
	cr_assert(str_is(req.method_name, "GET"));
	cr_assert_eq(req.minor, 1);
	cr_assert(str_is(req.path, "/api/whoami"));
	cr_assert_eq(req.query.len, 0);
	cr_assert_eq(req.nseg, 2);
	cr_assert(seg_is(0, "api") && seg_is(1, "whoami"));
	cr_assert_eq(req.nhdr, 1);
	cr_assert(req.keep_alive);
	cr_assert_eq(req.content_length, 0);
	cr_assert_eq(req.auth, HTTP_AUTH_NONE);
}

Test(http, parses_each_method)
{
	static const struct {
		const char		*name;
		enum http_method	 m;
	} t[] = {
		{ "GET", HTTP_GET }, { "HEAD", HTTP_HEAD }, { "PUT", HTTP_PUT },
		{ "POST", HTTP_POST }, { "DELETE", HTTP_DELETE },
		{ "PATCH", HTTP_OTHER }, { "BREW", HTTP_OTHER },
		{ "get", HTTP_OTHER },
	};
	char buf[128];
	size_t used;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(buf, sizeof(buf), "%s / HTTP/1.1\r\nHost: x\r\n\r\n",
		    t[i].name);
		http_parser_init(&ps);
		cr_assert_eq(parse(buf, &used), HTTP_PARSE_REQUEST, "%s",
		    t[i].name);
		cr_assert_eq(req.method, t[i].m, "%s", t[i].name);
	}
}

Test(http, reads_a_body_by_content_length)
{
	const char *s = "PUT /api/vhosts/v HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n"
	    "{\"a\":1}";
	size_t used;

	cr_assert_eq(parse(s, &used), HTTP_PARSE_REQUEST);
	cr_assert_eq(used, strlen(s));
	cr_assert_eq(req.content_length, 7);
	cr_assert_eq(memcmp(req.body, "{\"a\":1}", 7), 0);
	cr_assert(str_is(req.content_type, "application/json"));
}

Test(http, waits_for_the_whole_body)
{
	const char *s = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
	    "\r\n12345";
	size_t used;

	cr_assert_eq(parse(s, &used), HTTP_PARSE_NEED_MORE);
	cr_assert(http_parser_head_done(&ps));
	cr_assert_eq(req.content_length, 10);
	cr_assert_eq(used, 0);
}

Test(http, pipelined_requests_leave_the_rest_unconsumed)
{
	const char *s = "PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n"
	    "{}" GET_WHOAMI "DELETE /b HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t used, off = 0;

	cr_assert_eq(parse_n(s, strlen(s), &used), HTTP_PARSE_REQUEST);
	cr_assert_eq(req.method, HTTP_PUT);
	cr_assert_eq(memcmp(req.body, "{}", 2), 0);
	off += used;
	cr_assert_eq(parse_n(s + off, strlen(s) - off, &used),
	    HTTP_PARSE_REQUEST);
	cr_assert_eq(req.method, HTTP_GET);
	cr_assert(seg_is(1, "whoami"));
	off += used;
	cr_assert_eq(parse_n(s + off, strlen(s) - off, &used),
	    HTTP_PARSE_REQUEST);
	cr_assert_eq(req.method, HTTP_DELETE);
	off += used;
	cr_assert_eq(off, strlen(s));
	cr_assert_eq(parse_n(s + off, 0, &used), HTTP_PARSE_NEED_MORE);
}

Test(http, skips_blank_lines_before_the_request_line)
{
	size_t used;

	cr_assert_eq(parse("\r\n\r\n" GET_WHOAMI, &used), HTTP_PARSE_REQUEST);
	cr_assert_eq(used, 4 + strlen(GET_WHOAMI));
	cr_assert(seg_is(1, "whoami"));
}

/*
 * Feeds s in pieces of every size from 1 byte up, as reads would deliver
 * it, and checks the outcome matches parsing it whole.
 */
static void
check_split(const char *s)
{
	enum http_parse_result whole, r;
	size_t n = strlen(s), used_whole, used, avail;
	int status_whole;

	http_parser_init(&ps);
	whole = parse_n(s, n, &used_whole);
	status_whole = ps.status;
	for (size_t step = 1; step <= n; step++) {
		http_parser_init(&ps);
		avail = 0;
		do {
			avail = avail + step < n ? avail + step : n;
			r = parse_n(s, avail, &used);
		} while (r == HTTP_PARSE_NEED_MORE && avail < n);
		cr_assert_eq(r, whole, "step %zu: %d, whole: %d (%s)", step,
		    r, whole, s);
		if (r == HTTP_PARSE_REQUEST)
			cr_assert_eq(used, used_whole, "step %zu", step);
		if (r == HTTP_PARSE_ERROR)
			cr_assert_eq(ps.status, status_whole, "step %zu", step);
	}
}

Test(http, split_reads_at_every_boundary_give_the_same_result)
{
	static const char *const cases[] = {
		GET_WHOAMI,
		"\r\nPUT /api/vhosts/%2F HTTP/1.1\r\nHost: h\r\n"
		    "Authorization: Basic Z3Vlc3Q6Z3Vlc3Q=\r\n"
		    "Content-Length: 5\r\n\r\nhello",
		"GET /a HTTP/1.1\nHost: x\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n",
		"GARBAGE\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_split(cases[i]);
}

/* ---- limits ---------------------------------------------------------------- */

static char *
request_with_target(size_t target_len)
{
	size_t n = target_len + 64;
	char *s = malloc(n);

	cr_assert_not_null(s);
	memcpy(s, "GET /", 5);
	memset(s + 5, 'a', target_len - 1);
	snprintf(s + 4 + target_len, n - 4 - target_len,
	    " HTTP/1.1\r\nHost: x\r\n\r\n");
	return s;
}

Test(http, request_line_of_8_kib_passes_one_more_byte_is_414)
{
	/* "GET " + target + " HTTP/1.1" is the line: 13 bytes around. */
	char *ok = request_with_target(HTTP_LINE_MAX - 13);
	char *big = request_with_target(HTTP_LINE_MAX - 12);

	cr_assert_eq(error_of(ok), 0);
	cr_assert_eq(error_of(big), 414);
	free(ok);
	free(big);
}

/* A request whose header section (lines and final CRLF) is total bytes. */
static char *
request_with_headers(size_t total)
{
	const char *rl = "GET / HTTP/1.1\r\n";
	size_t n = strlen(rl) + total + 1, off;
	char *s = malloc(n);

	cr_assert_not_null(s);
	off = (size_t)snprintf(s, n, "%sHost: x\r\nX-Big: ", rl);
	/* The value fills up to the final "\r\n\r\n". */
	memset(s + off, 'v', n - 1 - 4 - off);
	memcpy(s + n - 1 - 4, "\r\n\r\n", 5);
	return s;
}

Test(http, header_section_of_16_kib_passes_one_more_byte_is_431)
{
	char *ok = request_with_headers(HTTP_HEADERS_MAX);
	char *big = request_with_headers(HTTP_HEADERS_MAX + 1);

	cr_assert_eq(error_of(ok), 0);
	cr_assert_eq(error_of(big), 431);
	free(ok);
	free(big);
}

static char *
request_with_lines(int lines)
{
	size_t n = 64 + (size_t)lines * 16, off;
	char *s = malloc(n);

	cr_assert_not_null(s);
	off = (size_t)snprintf(s, n, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (int i = 1; i < lines; i++)
		off += (size_t)snprintf(s + off, n - off, "X-%d: y\r\n", i);
	snprintf(s + off, n - off, "\r\n");
	return s;
}

Test(http, sixty_four_header_lines_pass_65_are_431)
{
	char *ok = request_with_lines(HTTP_HEADER_LINES_MAX);
	char *big = request_with_lines(HTTP_HEADER_LINES_MAX + 1);

	cr_assert_eq(error_of(ok), 0);
	cr_assert_eq(req.nhdr, HTTP_HEADER_LINES_MAX);
	cr_assert_eq(error_of(big), 431);
	free(ok);
	free(big);
}

Test(http, body_over_the_cap_is_refused_before_it_arrives)
{
	size_t used;

	cr_assert_eq(parse("PUT /x HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 20000000\r\n\r\n", &used), HTTP_PARSE_NEED_MORE);
	cr_assert(http_parser_head_done(&ps));
	cr_assert_eq(error_of("PUT /x HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 20000001\r\n\r\n"), 400);
	cr_assert(ps.json);
	cr_assert_str_eq(ps.reason, "Exceeded HTTP request body size limit");
	cr_assert_eq(error_of("PUT /x HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 100000000\r\n\r\n"), 400);
}

/* ---- framing errors ------------------------------------------------------- */

Test(http, bad_content_lengths_are_400)
{
	static const char *const bad[] = {
		"abc", "-1", "+1", "1 2", "1,1", "0x10", "",
		"99999999999999999999999999",
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "PUT /x HTTP/1.1\r\nHost: x\r\n"
		    "Content-Length: %s\r\n\r\n", bad[i]);
		cr_assert_eq(error_of(buf), 400, "Content-Length: '%s'",
		    bad[i]);
	}
}

Test(http, duplicate_content_length_is_400_even_when_equal)
{
	cr_assert_eq(error_of("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2"
	    "\r\nContent-Length: 3\r\n\r\n{}"), 400);
	cr_assert_eq(error_of("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2"
	    "\r\ncontent-length: 2\r\n\r\n{}"), 400);
}

Test(http, transfer_encoding_is_501_with_a_json_reason)
{
	cr_assert_eq(error_of("POST /x HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 501);
	cr_assert(ps.json);
	cr_assert_eq(error_of("POST /x HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 3\r\nTransfer-Encoding: identity\r\n\r\nabc"),
	    501);
}

Test(http, malformed_lines_are_400)
{
	static const char *const bad[] = {
		"GET /a HTTP/1.1\nHost: x\r\n\r\n",		/* bare LF */
		"GET /a HTTP/1.1\r\nHost: x\n\r\n",
		"GET /a HTTP/1.1\r\nHost : x\r\n\r\n",		/* blank before : */
		"GET /a HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
		"GET /a HTTP/1.1\r\nNoColon\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: x\ry\r\n\r\n",	/* bare CR */
		"GET /a HTTP/1.1\r\nHost: a\001b\r\n\r\n",	/* control */
		"GET  /a HTTP/1.1\r\nHost: x\r\n\r\n",		/* two spaces */
		"GET /a  HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a HTTP/1.1 \r\nHost: x\r\n\r\n",
		"GET /a\r\nHost: x\r\n\r\n",
		"GET http://h/a HTTP/1.1\r\nHost: x\r\n\r\n",	/* absolute */
		"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a HTTP/1.1\r\n\r\n",			/* no Host */
		"GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET /a HTTQ/1.1\r\nHost: x\r\n\r\n",
		"\001\002\003\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(error_of(bad[i]), 400, "case %zu", i);
}

Test(http, other_http_versions_are_505)
{
	cr_assert_eq(error_of("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505);
	cr_assert_eq(error_of("GET / HTTP/1.2\r\nHost: x\r\n\r\n"), 505);
	cr_assert_eq(error_of("GET / HTTP/0.9\r\nHost: x\r\n\r\n"), 505);
}

Test(http, an_error_is_final)
{
	size_t used;

	cr_assert_eq(error_of("GET /a HTTP/1.1\nHost: x\r\n\r\n"), 400);
	cr_assert_eq(parse(GET_WHOAMI, &used), HTTP_PARSE_ERROR);
}

/* ---- connection management ------------------------------------------------ */

Test(http, keep_alive_follows_version_and_connection_header)
{
	cr_assert_eq(error_of("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert(req.keep_alive);
	cr_assert_eq(error_of("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Connection: Close\r\n\r\n"), 0);
	cr_assert_not(req.keep_alive);
	cr_assert_eq(error_of("GET / HTTP/1.0\r\n\r\n"), 0);
	cr_assert_not(req.keep_alive);
	cr_assert_eq(error_of("GET / HTTP/1.0\r\nConnection: te, keep-alive"
	    "\r\n\r\n"), 0);
	cr_assert(req.keep_alive);
}

Test(http, expect_100_continue_is_noticed)
{
	cr_assert_eq(error_of("PUT / HTTP/1.1\r\nHost: x\r\n"
	    "Expect: 100-Continue\r\nContent-Length: 0\r\n\r\n"), 0);
	cr_assert(req.expect_continue);
}

Test(http, headers_are_found_case_insensitively)
{
	struct proto_str v;

	cr_assert_eq(error_of("GET / HTTP/1.1\r\nHost: x\r\n"
	    "X-Thing:   some value \t\r\nOrigin: http://evil\r\n\r\n"), 0);
	cr_assert(http_header(&req, "x-thing", &v));
	cr_assert(str_is(v, "some value"));
	cr_assert(str_is(req.origin, "http://evil"));
	cr_assert_not(http_header(&req, "x-other", &v));
}

/* ---- paths and queries ---------------------------------------------------- */

Test(http, percent_decoding_is_per_segment)
{
	cr_assert_eq(error_of("GET /api/vhosts/%2F HTTP/1.1\r\nHost: x\r\n\r\n"),
	    0);
	cr_assert_eq(req.nseg, 3);
	cr_assert(seg_is(0, "api") && seg_is(1, "vhosts") && seg_is(2, "/"));
	cr_assert_eq(error_of("GET /api/queues/%2f/a%20b%2Fc+d HTTP/1.1\r\n"
	    "Host: x\r\n\r\n"), 0);
	cr_assert(seg_is(2, "/") && seg_is(3, "a b/c+d"));
	cr_assert_eq(error_of("GET /api/vhosts/%2E%2E HTTP/1.1\r\n"
	    "Host: x\r\n\r\n"), 0);
	cr_assert(seg_is(2, ".."));
}

Test(http, bad_escapes_and_nul_are_400)
{
	static const char *const bad[] = {
		"/a%zz", "/a%2", "/a%", "/a%00", "/a%0g", "/a?x=%zz", "/a?x=%00",
		"/a?%",
	};
	char buf[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
		    bad[i]);
		cr_assert_eq(error_of(buf), 400, "%s", bad[i]);
		/* Answered with the {"error","reason"} JSON. */
		cr_assert(ps.json, "%s", bad[i]);
		cr_assert_str_eq(ps.reason, "bad percent-encoding");
	}
}

Test(http, a_trailing_slash_adds_no_segment_inner_empties_stay)
{
	cr_assert_eq(error_of("GET /api/whoami/ HTTP/1.1\r\nHost: x\r\n\r\n"),
	    0);
	cr_assert_eq(req.nseg, 2);
	cr_assert_eq(error_of("GET /api//vhosts HTTP/1.1\r\nHost: x\r\n\r\n"),
	    0);
	cr_assert_eq(req.nseg, 3);
	cr_assert(seg_is(1, ""));
	cr_assert_eq(error_of("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert_eq(req.nseg, 0);
}

Test(http, too_many_segments_are_flagged)
{
	cr_assert_eq(error_of("GET /1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17 "
	    "HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert(req.too_many_segments);
	cr_assert_eq(req.nseg, HTTP_SEGMENTS_MAX);
}

Test(http, query_parameters_are_decoded_by_name)
{
	char v[16];
	size_t len;

	cr_assert_eq(error_of("GET /api/queues?page=2&name=a+b%26c&flag&"
	    "x%5Fy=z&long=0123456789abcdefXYZ HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert(str_is(req.path, "/api/queues"));
	cr_assert_eq(http_query_param(&req, "page", v, sizeof(v), &len), 1);
	cr_assert_str_eq(v, "2");
	cr_assert_eq(http_query_param(&req, "name", v, sizeof(v), &len), 1);
	cr_assert_str_eq(v, "a b&c");
	cr_assert_eq(len, 5);
	cr_assert_eq(http_query_param(&req, "flag", v, sizeof(v), &len), 1);
	cr_assert_str_eq(v, "");
	cr_assert_eq(http_query_param(&req, "x_y", v, sizeof(v), &len), 1);
	cr_assert_str_eq(v, "z");
	cr_assert_eq(http_query_param(&req, "nope", v, sizeof(v), &len), 0);
	cr_assert_eq(http_query_param(&req, "pag", v, sizeof(v), &len), 0);
	cr_assert_eq(http_query_param(&req, "long", v, sizeof(v), &len), -1);
}

/* ---- Basic authentication ------------------------------------------------- */

static void
parse_auth(const char *value)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: %s\r\n\r\n", value);
	cr_assert_eq(error_of(buf), 0, "%s", value);
}

Test(http, basic_credentials_are_decoded)
{
	parse_auth("Basic Z3Vlc3Q6Z3Vlc3Q=");		/* guest:guest */
	cr_assert_eq(req.auth, HTTP_AUTH_BASIC);
	cr_assert(str_is(req.user, "guest") && str_is(req.pass, "guest"));
	parse_auth("basic   dTpwOnc6");			/* u:p:w: */
	cr_assert_eq(req.auth, HTTP_AUTH_BASIC);
	cr_assert(str_is(req.user, "u") && str_is(req.pass, "p:w:"));
	parse_auth("Basic Og==");			/* ":" */
	cr_assert_eq(req.auth, HTTP_AUTH_BASIC);
	cr_assert(req.user.len == 0 && req.pass.len == 0);
}

Test(http, malformed_basic_credentials_are_flagged)
{
	static const char *const bad[] = {
		"Basic", "Basic !!!!", "Basic Z3Vlc3Q6Z3Vlc3Q",	/* no pad */
		"Basic Z3Vlc3Q=", /* "guest": no colon */ "Basic Z3=lc3Q6",
		"Basic Z3Vlc3Q6Z3Vlc3Q=Z3Vl",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_auth(bad[i]);
		cr_assert_eq(req.auth, HTTP_AUTH_MALFORMED, "%s", bad[i]);
	}
}

Test(http, other_schemes_and_nul_bytes_are_not_basic)
{
	parse_auth("Bearer abc");
	cr_assert_eq(req.auth, HTTP_AUTH_OTHER);
	parse_auth("Basically Z3Vlc3Q6Z3Vlc3Q=");
	cr_assert_eq(req.auth, HTTP_AUTH_OTHER);
	parse_auth("Basic Z3Vlc3QAOng=");		/* "guest\0:x" */
	cr_assert_eq(req.auth, HTTP_AUTH_OTHER);
}

Test(http, two_authorization_headers_are_400)
{
	cr_assert_eq(error_of("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: "
	    "Basic Og==\r\nAuthorization: Basic Og==\r\n\r\n"), 400);
}

/* ---- responses -------------------------------------------------------------- */

static char *
written(const struct http_response *r, const struct http_request *rq,
    bool close)
{
	static char text[4096];
	struct buf out;

	buf_init(&out, sizeof(text) - 1);
	cr_assert(http_response_write(r, rq, close, 0, &out));
	memcpy(text, buf_head(&out), buf_used(&out));
	text[buf_used(&out)] = '\0';
	buf_free(&out);
	return text;
}

Test(http, response_has_status_length_type_and_body)
{
	struct http_response r;
	char *t;

	http_response_init(&r, 1024);
	r.status = 200;
	buf_append(&r.body, "{}", 2);
	t = written(&r, NULL, false);
	cr_assert(strncmp(t, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", t);
	cr_assert_not_null(strstr(t, "\r\ncontent-type: application/json\r\n"));
	cr_assert_not_null(strstr(t, "\r\ncontent-length: 2\r\n"));
	cr_assert_not_null(strstr(t, "\r\ncache-control: no-cache\r\n"));
	cr_assert_not_null(strstr(t, "\r\ndate: Thu, 01 Jan 1970 00:00:00 "
	    "GMT\r\n"));
	cr_assert_null(strstr(t, "connection:"));
	cr_assert_null(strstr(t, "access-control"));
	cr_assert(strcmp(t + strlen(t) - 6, "\r\n\r\n{}") == 0, "%s", t);
	http_response_free(&r);
}

Test(http, response_401_asks_for_basic_and_close_says_so)
{
	struct http_response r;
	char *t;

	http_response_init(&r, 1024);
	r.status = 401;
	r.authenticate = true;
	t = written(&r, NULL, true);
	cr_assert(strncmp(t, "HTTP/1.1 401 Unauthorized\r\n", 27) == 0);
	cr_assert_not_null(strstr(t, "\r\nwww-authenticate: Basic "
	    "realm=\"RabbitMQ Management\"\r\n"));
	cr_assert_not_null(strstr(t, "\r\nconnection: close\r\n"));
	cr_assert_not_null(strstr(t, "\r\ncontent-length: 0\r\n"));
	cr_assert_null(strstr(t, "content-type"));
	http_response_free(&r);
}

Test(http, head_answers_carry_the_length_but_no_body)
{
	struct http_response r;
	char *t;

	cr_assert_eq(error_of("HEAD /api/whoami HTTP/1.1\r\nHost: x\r\n\r\n"),
	    0);
	http_response_init(&r, 1024);
	r.status = 200;
	buf_append(&r.body, "{\"a\":1}", 7);
	t = written(&r, &req, false);
	cr_assert_not_null(strstr(t, "\r\ncontent-length: 7\r\n"));
	cr_assert(strcmp(t + strlen(t) - 4, "\r\n\r\n") == 0, "%s", t);
	http_response_free(&r);
}

Test(http, no_content_has_no_length_and_http10_keep_alive_is_echoed)
{
	struct http_response r;
	char *t;

	cr_assert_eq(error_of("DELETE /x HTTP/1.0\r\nConnection: keep-alive\r\n"
	    "\r\n"), 0);
	http_response_init(&r, 1024);
	r.status = 204;
	t = written(&r, &req, false);
	cr_assert(strncmp(t, "HTTP/1.1 204 No Content\r\n", 25) == 0);
	cr_assert_null(strstr(t, "content-length"));
	cr_assert_not_null(strstr(t, "\r\nconnection: keep-alive\r\n"));
	http_response_free(&r);
}

Test(http, response_write_fails_cleanly_when_out_is_full)
{
	struct http_response r;
	struct buf out;

	http_response_init(&r, 1024);
	r.status = 200;
	buf_append(&r.body, "{}", 2);
	buf_init(&out, 16);
	cr_assert_not(http_response_write(&r, NULL, false, 0, &out));
	buf_free(&out);
	http_response_free(&r);
}
