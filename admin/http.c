#include "autoconf.h"

#include "admin/http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/base64.h"

/*
 * Untrusted bytes are only ever read as s.p[i] with i < s.len checked
 * first: the parser walks struct proto_str views by index.
 */

enum {
	PS_HEAD,	/* looking for the blank line that ends the head */
	PS_BODY,	/* head parsed into the request; body to come */
	PS_ERROR,
};

void
http_parser_init(struct http_parser *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->state = PS_HEAD;
}

bool
http_parser_head_done(const struct http_parser *ps)
{
	return ps->state == PS_BODY;
}

static enum http_parse_result
fail(struct http_parser *ps, int status, const char *reason, bool json)
{
	ps->state = PS_ERROR;
	ps->status = status;
	ps->reason = reason;
	ps->json = json;
	return HTTP_PARSE_ERROR;
}

/*
 * Finds the end of the head, checking the limits at every byte so that
 * the verdict does not depend on how the bytes were split into reads.
 * Resumes where the last call stopped. HTTP_PARSE_REQUEST here means the
 * head is complete: ps->head_len is set.
 */
static enum http_parse_result
scan_head(struct http_parser *ps, const uint8_t *p, size_t len)
{
	for (; ps->pos < len; ps->pos++) {
		uint8_t c = p[ps->pos];
		size_t col = ps->pos - ps->line_start;

		if (ps->headers_start == 0) {
			/*
			 * The request line; blank lines before it (RFC 9112
			 * 2.2 lets a server skip them) count against it.
			 */
			if (c != '\n' && ps->pos > HTTP_LINE_MAX)
				return fail(ps, 414, "request line too long",
				    false);
		} else if (ps->pos - ps->headers_start >= HTTP_HEADERS_MAX)
			return fail(ps, 431, "header section too large", false);
		if (c != '\n')
			continue;
		/* spec: RFC 9112 2.2 lines end in CRLF; a bare LF is refused. */
		if (col == 0 || p[ps->pos - 1] != '\r')
			return fail(ps, 400, "line ends in a bare LF", false);
		if (ps->headers_start == 0) {
			if (col > 1) {
				ps->reqline_start = ps->line_start;
				ps->headers_start = ps->pos + 1;
			}
		} else if (col == 1) {
			ps->head_len = ps->pos + 1;
			ps->pos++;
			return HTTP_PARSE_REQUEST;
		} else if (++ps->nlines > HTTP_HEADER_LINES_MAX)
			return fail(ps, 431, "too many header lines", false);
		ps->line_start = ps->pos + 1;
	}
	return HTTP_PARSE_NEED_MORE;
}

static bool
is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decodes s into out (s.len bytes of room suffice). A '%' must be
 * followed by two hex digits and may not make a NUL; '+' is a space when
 * plus_space (query strings). Returns the decoded length, or -1.
 */
static long
pct_decode(struct proto_str s, bool plus_space, uint8_t *out)
{
	size_t i, n = 0;
	int hi, lo;

	for (i = 0; i < s.len; i++) {
		if (s.p[i] == '%') {
			if (s.len - i < 3 || (hi = hexval(s.p[i + 1])) < 0 ||
			    (lo = hexval(s.p[i + 2])) < 0 || (hi | lo) == 0)
				return -1;
			out[n++] = (uint8_t)(hi << 4 | lo);
			i += 2;
		} else if (s.p[i] == '+' && plus_space)
			out[n++] = ' ';
		else
			out[n++] = s.p[i];
	}
	return (long)n;
}

/* The same check without output, for the query string. */
static bool
pct_valid(struct proto_str s)
{
	int hi, lo;

	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] != '%')
			continue;
		if (s.len - i < 3 || (hi = hexval(s.p[i + 1])) < 0 ||
		    (lo = hexval(s.p[i + 2])) < 0 || (hi | lo) == 0)
			return false;
		i += 2;
	}
	return true;
}

static bool
str_ieq(struct proto_str s, const char *c)
{
	size_t n = strlen(c);

	return s.len == n && strncasecmp((const char *)s.p, c, n) == 0;
}

static struct proto_str
sub(struct proto_str s, size_t from, size_t to)
{
	return (struct proto_str){ s.p + from, to - from };
}

static enum http_method
method_of(struct proto_str m)
{
	/* spec: RFC 9110 9.1 method names are case-sensitive. */
	if (proto_str_eqc(m, "GET"))
		return HTTP_GET;
	if (proto_str_eqc(m, "HEAD"))
		return HTTP_HEAD;
	if (proto_str_eqc(m, "PUT"))
		return HTTP_PUT;
	if (proto_str_eqc(m, "POST"))
		return HTTP_POST;
	if (proto_str_eqc(m, "DELETE"))
		return HTTP_DELETE;
	return HTTP_OTHER;
}

/* "METHOD SP target SP HTTP/1.x": 0, or an HTTP status. */
static int
parse_request_line(struct http_request *req, struct proto_str line,
    const char **why)
{
	size_t i = 0, start;

	*why = "malformed request line";
	while (i < line.len && is_tchar(line.p[i]))
		i++;
	if (i == 0 || i == line.len || line.p[i] != ' ')
		return 400;
	req->method_name = sub(line, 0, i);
	req->method = method_of(req->method_name);
	start = ++i;
	/* Visible ASCII only; '#' never belongs in a request-target. */
	while (i < line.len && line.p[i] > ' ' && line.p[i] < 0x7f &&
	    line.p[i] != '#')
		i++;
	if (i == start || i == line.len || line.p[i] != ' ')
		return 400;
	req->target = sub(line, start, i);
	i++;
	if (line.len - i != 8 || memcmp(line.p + i, "HTTP/", 5) != 0 ||
	    line.p[i + 5] < '0' || line.p[i + 5] > '9' ||
	    line.p[i + 6] != '.' ||
	    line.p[i + 7] < '0' || line.p[i + 7] > '9')
		return 400;
	if (line.p[i + 5] != '1' || line.p[i + 7] > '1') {
		*why = "HTTP version not supported";
		return 505;
	}
	req->minor = line.p[i + 7] - '0';
	/* Origin-form only: no absolute URIs, no "*". */
	if (req->target.p[0] != '/') {
		*why = "request-target is not a path";
		return 400;
	}
	return 0;
}

/* "name: value": 0, or 400. */
static int
parse_header_line(struct http_request *req, struct proto_str line)
{
	struct http_header *h;
	size_t i = 0, vs, ve;

	while (i < line.len && is_tchar(line.p[i]))
		i++;
	/* spec: RFC 9112 5.1 no blank before ':'; 5.2 no line folding. */
	if (i == 0 || i == line.len || line.p[i] != ':')
		return 400;
	for (size_t k = i + 1; k < line.len; k++)
		if ((line.p[k] < ' ' && line.p[k] != '\t') ||
		    line.p[k] == 0x7f)
			return 400;
	vs = i + 1;
	while (vs < line.len && (line.p[vs] == ' ' || line.p[vs] == '\t'))
		vs++;
	ve = line.len;
	while (ve > vs && (line.p[ve - 1] == ' ' || line.p[ve - 1] == '\t'))
		ve--;
	h = &req->hdr[req->nhdr++];
	h->name = sub(line, 0, i);
	h->value = sub(line, vs, ve);
	return 0;
}

/* 1*DIGIT that fits: 0, else -1. */
static int
parse_length(struct proto_str v, size_t *out)
{
	size_t n = 0;

	if (v.len == 0)
		return -1;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -1;
		if (n > (SIZE_MAX - 9) / 10)
			return -1;
		n = n * 10 + (size_t)(v.p[i] - '0');
	}
	*out = n;
	return 0;
}

/*
 * Authorization: Basic base64(user ":" pass), decoded into scratch (room
 * for v.len bytes). The value is never logged.
 */
static void
parse_auth(struct http_request *req, struct proto_str v, uint8_t *scratch)
{
	struct proto_str cred;
	size_t i = 0, n, colon;

	while (i < v.len && is_tchar(v.p[i]))
		i++;
	if (!str_ieq(sub(v, 0, i), "basic")) {
		req->auth = HTTP_AUTH_OTHER;
		return;
	}
	while (i < v.len && v.p[i] == ' ')
		i++;
	cred = sub(v, i, v.len);
	if (cred.len == 0 || base64_decode(cred.p, cred.len, scratch, v.len,
	    &n) == -1) {
		req->auth = HTTP_AUTH_MALFORMED;
		return;
	}
	for (colon = 0; colon < n && scratch[colon] != ':'; colon++)
		;
	if (colon == n) {
		req->auth = HTTP_AUTH_MALFORMED;
		return;
	}
	/* A NUL would smuggle a field into the SASL PLAIN response. */
	if (memchr(scratch, '\0', n) != NULL) {
		req->auth = HTTP_AUTH_OTHER;
		return;
	}
	req->auth = HTTP_AUTH_BASIC;
	req->user = (struct proto_str){ scratch, colon };
	req->pass = (struct proto_str){ scratch + colon + 1, n - colon - 1 };
}

/* Connection: a comma-separated list of options, case-insensitive. */
static void
parse_connection(struct proto_str v, bool *close, bool *keep)
{
	size_t i = 0;

	while (i < v.len) {
		size_t s, e;

		while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' ||
		    v.p[i] == ','))
			i++;
		s = i;
		while (i < v.len && v.p[i] != ',')
			i++;
		e = i;
		while (e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
			e--;
		if (str_ieq(sub(v, s, e), "close"))
			*close = true;
		else if (str_ieq(sub(v, s, e), "keep-alive"))
			*keep = true;
	}
}

/* Splits the path on '/' and decodes each segment into out. */
static int
split_path(struct http_request *req, uint8_t *out)
{
	struct proto_str path = req->path;
	size_t i = 1, off = 0;

	while (i <= path.len) {
		size_t s = i;
		long n;

		while (i < path.len && path.p[i] != '/')
			i++;
		/*
		 * compat: like RabbitMQ's router, a trailing '/' adds no
		 * empty segment ("/api/whoami/" is "/api/whoami").
		 */
		if (i == s && i == path.len)
			break;
		if ((n = pct_decode(sub(path, s, i), false, out + off)) < 0)
			return -1;
		if (req->nseg < HTTP_SEGMENTS_MAX)
			req->seg[req->nseg++] = (struct proto_str){ out + off,
			    (size_t)n };
		else
			req->too_many_segments = true;
		off += (size_t)n;
		i++;
	}
	return 0;
}

/* Parses the complete head; 0, or fails ps. */
static int
parse_head(struct http_parser *ps, const uint8_t *p, struct http_request *req)
{
	size_t hl = ps->head_len - ps->reqline_start, rl, i, q;
	struct proto_str head, v;
	bool seen_cl = false, seen_host = false, seen_auth = false;
	bool te = false, close = false, keep = false;
	const char *why;
	uint8_t *scratch;
	int st;

	http_request_free(req);
	/* The head, then room to decode the path and the credentials. */
	if ((req->store = malloc(2 * hl + 1)) == NULL) {
		fail(ps, 503, "out of memory", false);
		return -1;
	}
	memcpy(req->store, p + ps->reqline_start, hl);
	head = (struct proto_str){ req->store, hl };
	scratch = req->store + hl;
	rl = ps->headers_start - ps->reqline_start - 2;
	if ((st = parse_request_line(req, sub(head, 0, rl), &why)) != 0) {
		fail(ps, st, why, false);
		return -1;
	}
	for (i = rl + 2; i < hl - 2;) {
		size_t e = i;

		while (head.p[e] != '\r')
			e++;
		if (head.p[e + 1] != '\n' ||
		    parse_header_line(req, sub(head, i, e)) != 0) {
			fail(ps, 400, "malformed header line", false);
			return -1;
		}
		i = e + 2;
	}
	for (i = 0; i < req->nhdr; i++) {
		struct http_header *h = &req->hdr[i];

		v = h->value;
		if (str_ieq(h->name, "content-length")) {
			/* Several, even equal, are refused: no smuggling. */
			if (seen_cl || parse_length(v, &req->content_length)) {
				fail(ps, 400, "bad Content-Length", false);
				return -1;
			}
			seen_cl = true;
		} else if (str_ieq(h->name, "transfer-encoding"))
			te = true;
		else if (str_ieq(h->name, "host")) {
			if (seen_host) {
				fail(ps, 400, "several Host headers", false);
				return -1;
			}
			seen_host = true;
		} else if (str_ieq(h->name, "authorization")) {
			if (seen_auth) {
				fail(ps, 400, "several Authorization headers",
				    false);
				return -1;
			}
			seen_auth = true;
			/* After the decoded path, which is shorter than rl. */
			parse_auth(req, v, scratch + rl);
		} else if (str_ieq(h->name, "connection"))
			parse_connection(v, &close, &keep);
		else if (str_ieq(h->name, "content-type")) {
			if (req->content_type.p == NULL)
				req->content_type = v;
		} else if (str_ieq(h->name, "origin"))
			req->origin = v;
		else if (str_ieq(h->name, "expect"))
			req->expect_continue = str_ieq(v, "100-continue");
	}
	/* spec: RFC 9112 3.2 an HTTP/1.1 request carries Host (Cowboy too). */
	if (req->minor == 1 && !seen_host) {
		fail(ps, 400, "no Host header", false);
		return -1;
	}
	/*
	 * spec: RFC 9112 6.1 a transfer coding we do not implement is a 501.
	 * Bodies are framed by Content-Length alone.
	 */
	if (te) {
		fail(ps, 501, "Transfer-Encoding is not supported; send a "
		    "Content-Length", true);
		return -1;
	}
	/*
	 * compat: RabbitMQ's wording and status for a body over the limit;
	 * the limit is checked here, before a byte of the body is read.
	 */
	if (req->content_length > HTTP_BODY_MAX) {
		fail(ps, 400, "Exceeded HTTP request body size limit", true);
		return -1;
	}
	for (q = 0; q < req->target.len && req->target.p[q] != '?'; q++)
		;
	req->path = sub(req->target, 0, q);
	if (q < req->target.len)
		req->query = sub(req->target, q + 1, req->target.len);
	if (split_path(req, scratch) == -1 || !pct_valid(req->query)) {
		/*
		 * compat: RabbitMQ's status; Cowboy sends it with an empty
		 * body, but every API error here is {"error","reason"} JSON
		 * (ADMIN-CONTRACT section 1), which no tool can mind.
		 */
		fail(ps, 400, "bad percent-encoding", true);
		return -1;
	}
	req->keep_alive = !close && (req->minor == 1 || keep);
	return 0;
}

/* The head is parsed: the request is complete once its body is in. */
static enum http_parse_result
body_ready(struct http_parser *ps, const uint8_t *p, size_t len,
    struct http_request *req, size_t *used)
{
	if (len < ps->head_len || len - ps->head_len < req->content_length)
		return HTTP_PARSE_NEED_MORE;
	req->body = p + ps->head_len;
	*used = ps->head_len + req->content_length;
	http_parser_init(ps);
	return HTTP_PARSE_REQUEST;
}

enum http_parse_result
http_parse(struct http_parser *ps, const uint8_t *p, size_t len,
    struct http_request *req, size_t *used)
{
	enum http_parse_result r;

	*used = 0;
	switch (ps->state) {
	case PS_HEAD:
		if ((r = scan_head(ps, p, len)) != HTTP_PARSE_REQUEST)
			return r;
		if (parse_head(ps, p, req) == -1)
			return HTTP_PARSE_ERROR;
		ps->state = PS_BODY;
		return body_ready(ps, p, len, req, used);
	case PS_BODY:
		return body_ready(ps, p, len, req, used);
	default:
		return HTTP_PARSE_ERROR;
	}
}

void
http_request_free(struct http_request *req)
{
	free(req->store);
	memset(req, 0, sizeof(*req));
}

bool
http_header(const struct http_request *req, const char *name,
    struct proto_str *value)
{
	for (size_t i = 0; i < req->nhdr; i++)
		if (str_ieq(req->hdr[i].name, name)) {
			*value = req->hdr[i].value;
			return true;
		}
	return false;
}

/* The next decoded byte of a checked query component. */
static uint8_t
query_byte(struct proto_str s, size_t *i)
{
	uint8_t c = s.p[*i];

	if (c == '%' && s.len - *i >= 3) {
		c = (uint8_t)(hexval(s.p[*i + 1]) << 4 | hexval(s.p[*i + 2]));
		*i += 3;
		return c;
	}
	(*i)++;
	return c == '+' ? ' ' : c;
}

int
http_query_param(const struct http_request *req, const char *name,
    char *out, size_t outlen, size_t *len)
{
	size_t pos = 0;

	return http_query_next(req, name, &pos, out, outlen, len);
}

int
http_query_next(const struct http_request *req, const char *name,
    size_t *pos, char *out, size_t outlen, size_t *len)
{
	struct proto_str q = req->query;
	size_t i = *pos, nlen = strlen(name);

	while (i < q.len) {
		size_t s = i, e, eq, k, j, n;
		bool match = true;

		while (i < q.len && q.p[i] != '&')
			i++;
		e = i++;
		for (eq = s; eq < e && q.p[eq] != '='; eq++)
			;
		/* Compare the decoded name with name. */
		for (j = s, k = 0; j < eq;) {
			uint8_t c = query_byte(sub(q, 0, eq), &j);

			if (k == nlen || (uint8_t)name[k] != c) {
				match = false;
				break;
			}
			k++;
		}
		if (!match || k != nlen)
			continue;
		n = 0;
		for (j = eq < e ? eq + 1 : e; j < e;) {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = (char)query_byte(sub(q, 0, e), &j);
		}
		if (outlen == 0)
			return -1;
		out[n] = '\0';
		if (len != NULL)
			*len = n;
		*pos = i;
		return 1;
	}
	*pos = i;
	return 0;
}

/* ---- responses ---------------------------------------------------------- */

void
http_response_init(struct http_response *r, size_t body_max)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, body_max);
}

void
http_response_reset(struct http_response *r)
{
	r->status = 0;
	buf_consume(&r->body, buf_used(&r->body));
	r->allow[0] = '\0';
	free(r->location);
	r->location = NULL;
	r->authenticate = false;
	r->close = false;
	r->content_type = NULL;
}

int
http_response_location(struct http_response *r, const char *dir,
    const char *name)
{
	size_t n = strlen(dir) + 1 + strlen(name) + 1;

	free(r->location);
	if ((r->location = malloc(n)) == NULL)
		return -1;
	snprintf(r->location, n, "%s/%s", dir, name);
	return 0;
}

void
http_response_free(struct http_response *r)
{
	free(r->location);
	r->location = NULL;
	buf_free(&r->body);
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static bool __attribute__((format(printf, 2, 3)))
put(struct buf *out, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return false;
	return buf_append(out, line, (size_t)n);
}

bool
http_response_write(const struct http_response *r,
    const struct http_request *req, bool close, time_t now, struct buf *out)
{
	bool body;

	return http_response_write_head(r, req, close, now, out, &body) &&
	    (!body || buf_append(out, buf_head(&r->body), buf_used(&r->body)));
}

bool
http_response_write_head(const struct http_response *r,
    const struct http_request *req, bool close, time_t now, struct buf *out,
    bool *body)
{
	size_t blen = buf_used(&r->body);
	int st = r->status ? r->status : 500;
	/* spec: RFC 9110 8.6 no Content-Length in a 1xx or 204. */
	bool framed = st >= 200 && st != 204 && st != 304;
	char date[64];
	struct tm tm;
	bool ok;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		date[0] = '\0';
	/* compat: lower-case names, as RabbitMQ's Cowboy sends them. */
	ok = put(out, "HTTP/1.1 %d %s\r\n", st, http_status_text(st));
	if (framed)
		ok = ok && put(out, "cache-control: no-cache\r\n");
	if (framed && blen > 0)
		ok = ok && put(out, "content-type: %s\r\n",
		    r->content_type != NULL ? r->content_type :
		    "application/json");
	if (framed)
		ok = ok && put(out, "content-length: %zu\r\n", blen);
	if (date[0] != '\0')
		ok = ok && put(out, "date: %s\r\n", date);
	if (r->allow[0] != '\0')
		ok = ok && put(out, "allow: %s\r\n", r->allow);
	if (r->location != NULL)
		ok = ok && put(out, "location: %s\r\n", r->location);
	if (r->authenticate)
		ok = ok && put(out, "www-authenticate: Basic realm=\"RabbitMQ "
		    "Management\"\r\n");
	if (close)
		ok = ok && put(out, "connection: close\r\n");
	else if (req != NULL && req->minor == 0)
		ok = ok && put(out, "connection: keep-alive\r\n");
	ok = ok && buf_append(out, "\r\n", 2);
	*body = framed && blen > 0 && (req == NULL ||
	    req->method != HTTP_HEAD);
	return ok;
}
