/*
 * warrenctl's HTTP client (libcurl): one handle reused for every request
 * of an invocation, HTTP Basic credentials, TLS settings from ctl_conf,
 * and the API's answers mapped to one error line and a sysexits code.
 */
#ifndef WARREN_ADMIN_CTL_HTTP_H
#define WARREN_ADMIN_CTL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct ctl;
struct ctl_conf;
struct json;

/* compat: the answers warrenctl accepts are capped (a definitions export
 * of a big broker is the largest); past that the request fails. */
#define CTL_HTTP_MAX_BODY	(512u * 1024 * 1024)

struct ctl_resp {
	long	 status;	/* HTTP status; 0 when there was no answer */
	char	*body;		/* malloc'd, NUL-terminated (may be "") */
	size_t	 len;
	char	 err[256];	/* the transport error when status is 0 */
};

struct ctl_http	*ctl_http_new(const struct ctl_conf *cf);
void		 ctl_http_free(struct ctl_http *h);
/*
 * Progress of the requests that follow (NULL: none): fn is called
 * several times a second with the share of the request body sent (0..1)
 * and the seconds since the request started, also while the answer is
 * awaited.
 */
typedef void ctl_progress_fn(void *arg, double sent, double elapsed);
void		 ctl_http_progress(struct ctl_http *h, ctl_progress_fn *fn,
		    void *arg);
/* The URL the API is reached at (for messages): "http://h:p/api". */
const char	*ctl_http_base(const struct ctl_http *h);

/*
 * One request: method, path after "/api" (already encoded, see
 * ctl_path), an optional JSON body and one optional extra header line
 * ("X-Reason: ..."). Fills *r (free with ctl_resp_free); returns 0 when
 * an answer came, -1 when not (r->err says why).
 */
int	ctl_http_do(struct ctl_http *h, const char *method, const char *path,
	    const char *body, const char *header, struct ctl_resp *r);
void	ctl_resp_free(struct ctl_resp *r);

/*
 * A path from a template: each "{}" becomes the next argument,
 * percent-encoded as one segment (everything but unreserved characters,
 * so "/" is %2F). Returns a malloc'd string.
 */
char	*ctl_path(const char *tmpl, ...);
/* Appends "&key=value" (or "?key=value" first) to *path, encoded. */
void	ctl_path_query(char **path, const char *key, const char *value);

/*
 * The exit code and one stderr line for an answer that is not a success:
 * the transport error (69), or the API's reason; what ("queue 'q' in
 * vhost '/'") names the object when the API's 404 reason is generic.
 */
int	ctl_http_error(const struct ctl *c, const struct ctl_resp *r,
	    const char *what);

/*
 * The request, then: a non-2xx answer is reported (ctl_http_error) and
 * its code returned; a 2xx answer's body is parsed into *out when out is
 * not NULL (a malformed one is reported, 69). Returns 0 on success.
 */
int	ctl_api(struct ctl *c, const char *method, const char *path,
	    const char *body, const char *what, struct json **out);

/* ctl_api with an extra header line and flags: CTL_REQ_OK404 takes a 404
 * as success (--idempotently), with *out left NULL. */
#define CTL_REQ_OK404	0x1u
int	ctl_req(struct ctl *c, const char *method, const char *path,
	    const char *body, const char *header, const char *what,
	    unsigned flags, struct json **out);

#endif /* WARREN_ADMIN_CTL_HTTP_H */
