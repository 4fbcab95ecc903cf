#include "autoconf.h"

/*
 * libFuzzer target (RELIABILITY T7, items 26-27): the admin API's HTTP
 * request parser, driven the way admin/http_conn.c drives it.
 *
 * Input: one selector byte, then the bytes a client sends on one
 * connection. The selector's low 3 bits pick how many bytes "arrive" per
 * read, so every request is also parsed from partial buffers; pipelined
 * requests are consumed one after another.
 *
 * Invariants (any violation is __builtin_trap()):
 *  - parsing is split-stable: what a partial feed yields (a request of
 *    the same length, or an error with the same status) is what the
 *    whole remaining input yields;
 *  - a request lies inside the input: used <= available, the body is the
 *    last content_length bytes of it, content_length <= HTTP_BODY_MAX;
 *  - the parsed views are sane: a method token, HTTP/1.0 or 1.1, a path
 *    starting with '/', at most HTTP_SEGMENTS_MAX decoded segments with
 *    no NUL, at most HTTP_HEADER_LINES_MAX headers, Basic credentials
 *    whose user has no ':' and neither part a NUL;
 *  - an error carries one of the statuses the parser documents, and a
 *    reason; after it, the parser stays in error;
 *  - query lookups and answers written for the request stay in bounds.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/http.h"
#include "lib/buf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

/* Bytes per simulated read; 0 means "everything at once". */
static const size_t chunk_sizes[8] = { 0, 1, 2, 3, 7, 64, 1000, 65536 };

static void
check_request(const struct http_request *req, const uint8_t *p, size_t used)
{
	struct http_response resp;
	struct proto_str v;
	struct buf out;
	char val[64];
	size_t len;

	CHECK(req->method_name.len > 0);
	CHECK(req->minor == 0 || req->minor == 1);
	CHECK(req->path.len > 0 && req->path.p[0] == '/');
	CHECK(req->nseg <= HTTP_SEGMENTS_MAX);
	for (size_t i = 0; i < req->nseg; i++)
		CHECK(memchr(req->seg[i].p, '\0', req->seg[i].len) == NULL);
	CHECK(req->nhdr <= HTTP_HEADER_LINES_MAX);
	CHECK(req->content_length <= HTTP_BODY_MAX);
	CHECK(req->content_length <= used);
	CHECK(req->body == p + used - req->content_length);
	if (req->auth == HTTP_AUTH_BASIC) {
		CHECK(memchr(req->user.p, ':', req->user.len) == NULL);
		CHECK(memchr(req->user.p, '\0', req->user.len) == NULL);
		CHECK(memchr(req->pass.p, '\0', req->pass.len) == NULL);
	}
	/* Lookups the API makes. */
	(void)http_header(req, "host", &v);
	(void)http_header(req, "x-unknown", &v);
	for (size_t i = 0; i < 3; i++) {
		static const char *const names[] = { "name", "page", "" };
		int rc = http_query_param(req, names[i], val, sizeof(val),
		    &len);

		CHECK(rc >= -1 && rc <= 1);
		if (rc == 1)
			CHECK(len < sizeof(val) && val[len] == '\0');
	}
	/* An answer for it, with a body echoing the path. */
	http_response_init(&resp, 1 << 16);
	resp.status = 200;
	CHECK(buf_append(&resp.body, req->path.p, req->path.len));
	buf_init(&out, 1 << 17);
	CHECK(http_response_write(&resp, req, !req->keep_alive, 0, &out));
	CHECK(buf_used(&out) > buf_used(&resp.body) ||
	    req->method == HTTP_HEAD);
	buf_free(&out);
	http_response_free(&resp);
}

/* Parses p[0..len) in one go with a fresh parser. */
static enum http_parse_result
parse_whole(const uint8_t *p, size_t len, size_t *used, int *status)
{
	struct http_parser ps;
	struct http_request req;
	enum http_parse_result r;

	memset(&req, 0, sizeof(req));
	http_parser_init(&ps);
	r = http_parse(&ps, p, len, &req, used);
	*status = ps.status;
	http_request_free(&req);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_parser ps;
	struct http_request req;
	const uint8_t *p;
	size_t len, off = 0, avail, chunk, used, wused;
	enum http_parse_result r, whole;
	int wstatus;

	if (size < 1)
		return 0;
	chunk = chunk_sizes[data[0] & 7];
	p = data + 1;
	len = size - 1;
	memset(&req, 0, sizeof(req));
	http_parser_init(&ps);
	avail = chunk == 0 || chunk > len ? len : chunk;
	while (off < len) {
		r = http_parse(&ps, p + off, avail - off, &req, &used);
		if (r == HTTP_PARSE_NEED_MORE) {
			CHECK(used == 0);
			if (avail == len)
				break;		/* truncated: would wait */
			avail = chunk == 0 || len - avail < chunk ? len :
			    avail + chunk;
			continue;
		}
		whole = parse_whole(p + off, len - off, &wused, &wstatus);
		CHECK(whole == r);
		if (r == HTTP_PARSE_ERROR) {
			CHECK(wstatus == ps.status);
			CHECK(ps.reason != NULL);
			CHECK(ps.status == 400 || ps.status == 414 ||
			    ps.status == 431 || ps.status == 501 ||
			    ps.status == 503 || ps.status == 505);
			CHECK(http_parse(&ps, p + off, avail - off, &req,
			    &used) == HTTP_PARSE_ERROR);
			break;
		}
		CHECK(used > 0 && used <= avail - off && used == wused);
		check_request(&req, p + off, used);
		off += used;
		if (avail < off)
			avail = off;
	}
	http_request_free(&req);
	return 0;
}
