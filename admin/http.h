/*
 * HTTP/1.1 for the admin API, without I/O: an incremental request parser
 * with hard limits and a response serializer. admin/http_conn.c does the
 * sockets; admin/api.c decides what to answer.
 *
 * Only what the management API needs is accepted: the methods GET, HEAD,
 * PUT, POST and DELETE (others parse, and the API answers 501), bodies
 * framed by Content-Length alone (Transfer-Encoding is refused), origin-form
 * targets. Limits are checked as bytes arrive, and a body's size is checked
 * against its Content-Length before any of it is awaited.
 */
#ifndef WARREN_ADMIN_HTTP_H
#define WARREN_ADMIN_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/buf.h"
#include "protocol/wire.h"

#define HTTP_LINE_MAX		8192	/* request line, without its CRLF */
#define HTTP_HEADERS_MAX	16384	/* header lines with their CRLFs */
#define HTTP_HEAD_MAX		(HTTP_LINE_MAX + 2 + HTTP_HEADERS_MAX)
#define HTTP_HEADER_LINES_MAX	64
/* compat: RabbitMQ's management.http.max_body_size default. */
#define HTTP_BODY_MAX		20000000
#define HTTP_SEGMENTS_MAX	16	/* more: the API answers 404 */

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_PUT,
	HTTP_POST,
	HTTP_DELETE,
	HTTP_OTHER,		/* a valid token we do not serve (501) */
};

enum http_auth {
	HTTP_AUTH_NONE,		/* no Authorization header */
	HTTP_AUTH_BASIC,	/* user and pass are set */
	HTTP_AUTH_OTHER,	/* another scheme, or a NUL in the credentials */
	HTTP_AUTH_MALFORMED,	/* Basic with bad base64 or without a ':' */
};

struct http_header {
	struct proto_str	 name;	/* as sent; compare case-insensitively */
	struct proto_str	 value;	/* without surrounding blanks */
};

/*
 * A parsed request. Every view points into the request's own storage
 * except body, which points into the caller's input buffer and is valid
 * until the caller consumes those bytes.
 */
struct http_request {
	enum http_method	 method;
	struct proto_str	 method_name;	/* as sent */
	int			 minor;		/* HTTP/1.minor: 0 or 1 */
	struct proto_str	 target;	/* raw request-target */
	struct proto_str	 path;		/* raw, up to '?' */
	struct proto_str	 query;		/* raw, after '?' (checked) */
	struct proto_str	 seg[HTTP_SEGMENTS_MAX]; /* decoded segments */
	size_t			 nseg;
	bool			 too_many_segments;
	struct http_header	 hdr[HTTP_HEADER_LINES_MAX];
	size_t			 nhdr;
	size_t			 content_length;
	const uint8_t		*body;		/* content_length bytes */
	bool			 keep_alive;	/* the client lets us keep it */
	bool			 expect_continue; /* Expect: 100-continue */
	enum http_auth		 auth;
	struct proto_str	 user, pass;	/* HTTP_AUTH_BASIC only */
	struct proto_str	 content_type;	/* empty when absent */
	struct proto_str	 origin;	/* empty when absent; never echoed */
	struct sockaddr_storage	 peer;		/* set by http_conn; AF_UNSPEC */
	/* Its connection, for an answer that comes later (http_conn_defer);
	 * NULL when a test calls api_handle directly. */
	struct http_conn	*conn;
	uint8_t			*store;		/* owned: head copy, decodings */
};

enum http_parse_result {
	HTTP_PARSE_NEED_MORE,
	HTTP_PARSE_REQUEST,	/* *req is complete; *used bytes were it */
	HTTP_PARSE_ERROR,	/* answer ps->status and close */
};

struct http_parser {
	int		 state;		/* head or body, private */
	size_t		 pos;		/* bytes of the head scanned */
	size_t		 line_start;	/* offset of the line being scanned */
	size_t		 reqline_start;	/* offset of the request line */
	size_t		 headers_start;	/* 0 until the request line ended */
	size_t		 nlines;	/* header lines so far */
	size_t		 head_len;	/* from the input's start; body state */
	/* HTTP_PARSE_ERROR: */
	int		 status;	/* 400, 413, 414, 431, 501 or 505 */
	const char	*reason;	/* static text, for the log */
	bool		 json;		/* answer with a JSON error body */
};

void	http_parser_init(struct http_parser *ps);

/*
 * Parses the request at the start of p[0..len). Call again with the same
 * start and more bytes after HTTP_PARSE_NEED_MORE; after
 * HTTP_PARSE_REQUEST the caller handles *req, consumes *used bytes and
 * calls again for a pipelined next request. *req is cleared (and its old
 * storage freed) when a new head is parsed; free the last one with
 * http_request_free. After HTTP_PARSE_ERROR nothing more may be parsed.
 */
enum http_parse_result http_parse(struct http_parser *ps, const uint8_t *p,
	    size_t len, struct http_request *req, size_t *used);
/* Whether the head of the request being parsed is complete: *req is then
 * valid except for body, which is still to come. */
bool	http_parser_head_done(const struct http_parser *ps);
void	http_request_free(struct http_request *req);

/* A header's value by name (case-insensitive); false when absent. */
bool	http_header(const struct http_request *req, const char *name,
	    struct proto_str *value);
/*
 * A query parameter's value by decoded name, percent-decoded with '+' as
 * a space, NUL-terminated in out. Returns 1, 0 when absent, -1 when the
 * value does not fit in outlen.
 */
int	http_query_param(const struct http_request *req, const char *name,
	    char *out, size_t outlen, size_t *len);
/*
 * The same for repeated parameters ("family=a&family=b"): the next one at
 * or after *pos (start with 0), which is moved past it.
 */
int	http_query_next(const struct http_request *req, const char *name,
	    size_t *pos, char *out, size_t outlen, size_t *len);

struct http_response {
	int		 status;	/* 0 until someone answers */
	struct buf	 body;		/* JSON, capped at creation */
	char		 allow[64];	/* the Allow header of a 405, or "" */
	char		*location;	/* Location header (malloc'd), or NULL */
	bool		 authenticate;	/* WWW-Authenticate: Basic (a 401) */
	bool		 close;		/* close the connection after it */
	bool		 authenticated;	/* the request's credentials passed */
	bool		 deferred;	/* no answer yet: http_conn_defer */
	const char	*content_type;	/* static; NULL: application/json */
};

void	http_response_init(struct http_response *r, size_t body_max);
/* Back to no answer, keeping the body's capacity. */
void	http_response_reset(struct http_response *r);
void	http_response_free(struct http_response *r);
const char *http_status_text(int status);
/* Sets the Location header to "dir/name". -1 out of memory. */
int	http_response_location(struct http_response *r, const char *dir,
	    const char *name);

/*
 * Appends the status line, headers and (unless req is a HEAD) the body to
 * out. req may be NULL (a parse error: HTTP/1.1, no HEAD). close adds
 * "connection: close"; now is for the Date header. False when out is full.
 */
bool	http_response_write(const struct http_response *r,
	    const struct http_request *req, bool close, time_t now,
	    struct buf *out);
/* The status line and headers only; whether a body follows is *body. */
bool	http_response_write_head(const struct http_response *r,
	    const struct http_request *req, bool close, time_t now,
	    struct buf *out, bool *body);

#endif /* WARREN_ADMIN_HTTP_H */
