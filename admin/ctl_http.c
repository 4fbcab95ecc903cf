#include "autoconf.h"

/*
 * warrenctl's HTTP client over libcurl. See ctl_http.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "admin/ctl.h"
#include <time.h>

#include "admin/ctl_http.h"
#include "lib/json.h"
#include "lib/xmalloc.h"

struct ctl_http {
	CURL	*curl;
	char	*base;		/* ".../api" */
	char	*userpwd_user;
	char	*userpwd_pass;
	const struct ctl_conf *cf;
	ctl_progress_fn *progress;
	void	*progress_arg;
	struct timespec	 started;
};

/* The body being received, capped. */
struct sink {
	char	*data;
	size_t	 len;
	size_t	 cap;
	bool	 too_big;
};

void
ctl_http_progress(struct ctl_http *h, ctl_progress_fn *fn, void *arg)
{
	h->progress = fn;
	h->progress_arg = arg;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct ctl_http *h = arg;
	struct timespec now;
	double elapsed;

	(void)dltotal;
	(void)dlnow;
	clock_gettime(CLOCK_MONOTONIC, &now);
	elapsed = (double)(now.tv_sec - h->started.tv_sec) +
	    (double)(now.tv_nsec - h->started.tv_nsec) / 1e9;
	h->progress(h->progress_arg, ultotal > 0 ? (double)ulnow /
	    (double)ultotal : 0, elapsed);
	return 0;
}

static size_t
sink_write(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n, want;
	char *nd;

	if (len > CTL_HTTP_MAX_BODY - s->len) {
		s->too_big = true;
		return 0;	/* curl stops with CURLE_WRITE_ERROR */
	}
	if (s->len + len + 1 > s->cap) {
		want = s->cap ? s->cap : 16384;
		while (want < s->len + len + 1)
			want *= 2;
		if ((nd = realloc(s->data, want)) == NULL) {
			s->too_big = true;
			return 0;
		}
		s->data = nd;
		s->cap = want;
	}
	memcpy(s->data + s->len, p, len);
	s->len += len;
	s->data[s->len] = '\0';
	return len;
}

struct ctl_http *
ctl_http_new(const struct ctl_conf *cf)
{
	struct ctl_http *h = xcalloc(1, sizeof(*h));
	char buf[2048];
	size_t n;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	h->cf = cf;
	if (cf->base_uri != NULL && cf->base_uri[0] != '\0') {
		n = strlen(cf->base_uri);
		while (n > 0 && cf->base_uri[n - 1] == '/')
			n--;
		snprintf(buf, sizeof(buf), "%.*s/api", (int)n, cf->base_uri);
	} else {
		const char *pp = cf->path_prefix ? cf->path_prefix : "";

		n = strlen(pp);
		while (n > 0 && pp[n - 1] == '/')
			n--;
		snprintf(buf, sizeof(buf), "%s://%s%s%s:%d%s%.*s/api",
		    cf->tls ? "https" : "http",
		    strchr(cf->host, ':') ? "[" : "", cf->host,
		    strchr(cf->host, ':') ? "]" : "", cf->port,
		    (n > 0 && pp[0] != '/') ? "/" : "", (int)n, pp);
	}
	h->base = xstrdup(buf);
	h->curl = curl_easy_init();
	return h;
}

void
ctl_http_free(struct ctl_http *h)
{
	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	free(h->base);
	free(h);
	curl_global_cleanup();
}

const char *
ctl_http_base(const struct ctl_http *h)
{
	return h->base;
}

void
ctl_resp_free(struct ctl_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

int
ctl_http_do(struct ctl_http *h, const char *method, const char *path,
    const char *body, const char *header, struct ctl_resp *r)
{
	const struct ctl_conf *cf = h->cf;
	struct curl_slist *hdrs = NULL;
	struct sink s = { 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	char *url;
	size_t n;
	CURLcode rc;
	CURL *c = h->curl;

	memset(r, 0, sizeof(*r));
	if (c == NULL) {
		snprintf(r->err, sizeof(r->err), "cannot start libcurl");
		return -1;
	}
	n = strlen(h->base) + strlen(path) + 1;
	url = xmalloc(n);
	snprintf(url, n, "%s%s", h->base, path);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERNAME, cf->username);
	curl_easy_setopt(c, CURLOPT_PASSWORD, cf->password);
	curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "warrenctl/" PACKAGE_VERSION);
	/* compat: rabbitmqadmin v1 follows a 301 Location. */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, cf->timeout > 0 ? cf->timeout :
	    60L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, cf->timeout > 0 &&
	    cf->timeout < 10 ? cf->timeout : 10L);
	if (cf->ca_certificate != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, cf->ca_certificate);
	if (cf->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (h->progress != NULL) {
		clock_gettime(CLOCK_MONOTONIC, &h->started);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	/*
	 * compat: no "Accept: application/json" (curl sends any-type): RabbitMQ's
	 * limit resources provide no JSON and answer such a PUT or DELETE
	 * with 406 Not Acceptable.
	 */
	if (body != NULL) {
		hdrs = curl_slist_append(hdrs,
		    "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(body));
	}
	if (header != NULL)
		hdrs = curl_slist_append(hdrs, header);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (cf->verbose > 1)
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	if (cf->verbose > 0)
		fprintf(stderr, "warrenctl: %s %s\n", method, url);
	rc = curl_easy_perform(c);
	curl_slist_free_all(hdrs);
	free(url);
	if (rc != CURLE_OK) {
		free(s.data);
		if (s.too_big)
			snprintf(r->err, sizeof(r->err), "the answer is "
			    "larger than %u bytes", CTL_HTTP_MAX_BODY);
		else
			snprintf(r->err, sizeof(r->err), "%s", errbuf[0] ?
			    errbuf : curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = s.data != NULL ? s.data : xstrdup("");
	r->len = s.len;
	return 0;
}

static void
put_encoded(char **out, size_t *len, size_t *cap, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		xvec_grow(out, cap, *len + 4, 1, 64);
		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' ||
		    ch == '~') {
			(*out)[(*len)++] = (char)ch;
		} else {
			(*out)[(*len)++] = '%';
			(*out)[(*len)++] = hex[ch >> 4];
			(*out)[(*len)++] = hex[ch & 15];
		}
	}
	(*out)[*len] = '\0';
}

char *
ctl_path(const char *tmpl, ...)
{
	va_list ap;
	char *out = NULL;
	size_t len = 0, cap = 0;

	xvec_grow(&out, &cap, 1, 1, 64);
	out[0] = '\0';
	va_start(ap, tmpl);
	while (*tmpl != '\0') {
		if (tmpl[0] == '{' && tmpl[1] == '}') {
			put_encoded(&out, &len, &cap, va_arg(ap, const char *));
			tmpl += 2;
			continue;
		}
		xvec_grow(&out, &cap, len + 2, 1, 64);
		out[len++] = *tmpl++;
		out[len] = '\0';
	}
	va_end(ap);
	return out;
}

void
ctl_path_query(char **path, const char *key, const char *value)
{
	size_t len = strlen(*path), cap = len + 1;

	xvec_grow(path, &cap, len + strlen(key) + 3, 1, 64);
	(*path)[len++] = strchr(*path, '?') ? '&' : '?';
	(*path)[len] = '\0';
	put_encoded(path, &len, &cap, key);
	xvec_grow(path, &cap, len + 2, 1, 64);
	(*path)[len++] = '=';
	(*path)[len] = '\0';
	put_encoded(path, &len, &cap, value);
}

/* The API's reason: {"error":..,"reason":..}, or a health check's. */
static void
api_reason(const struct ctl_resp *r, char *out, size_t outlen)
{
	char err[128];
	struct json *j;
	const char *s;

	out[0] = '\0';
	if (r->len == 0)
		return;
	if ((j = json_parse(r->body, r->len, err, sizeof(err))) == NULL)
		return;
	if ((s = json_str(json_get(j, "reason"), NULL)) != NULL)
		snprintf(out, outlen, "%s", s);
	else if (json_get(j, "reason") != NULL &&
	    json_type(json_get(j, "reason")) == JSON_ARRAY) {
		/* compat: an Erlang tuple, ["no_such_user","bob"]. */
		const struct json *a = json_get(j, "reason");
		size_t used = 0;

		for (size_t i = 0; i < json_len(a) && used < outlen; i++)
			if ((s = json_str(json_at(a, i), NULL)) != NULL)
				used += (size_t)snprintf(out + used,
				    outlen - used, "%s%s", used ? ": " : "",
				    s);
	}
	if (out[0] == '\0' && (s = json_str(json_get(j, "error"), NULL)) !=
	    NULL)
		snprintf(out, outlen, "%s", s);
	json_free(j);
}

/*
 * compat: RabbitMQ's 404 reasons are often generic ("Not Found", "Object
 * Not Found") or an Erlang atom ("vhost_not_found"); a message built from
 * what the user asked for says more.
 */
static bool
generic_404(const char *reason)
{
	if (reason[0] == '\0' || strcasecmp(reason, "Not Found") == 0 ||
	    strcasecmp(reason, "Object Not Found") == 0)
		return true;
	return strspn(reason, "abcdefghijklmnopqrstuvwxyz_") ==
	    strlen(reason) && strstr(reason, "not_found") != NULL;
}

/*
 * compat: a 400 whose reason is an atom saying something is missing
 * ("vhost_or_user_not_found", "no_such_user: bob"), as RabbitMQ answers
 * a permission or limit for a user that does not exist.
 */
static bool
missing_atom(const char *reason)
{
	size_t n = strspn(reason, "abcdefghijklmnopqrstuvwxyz_");

	if (n == 0 || (reason[n] != '\0' && reason[n] != ':'))
		return false;
	return strncmp(reason, "no_such_", 8) == 0 ||
	    (strstr(reason, "not_found") != NULL &&
	    strstr(reason, "not_found") < reason + n);
}

int
ctl_http_error(const struct ctl *c, const struct ctl_resp *r,
    const char *what)
{
	char reason[1024];

	if (r->status == 0)
		return ctl_fail(CTL_EX_UNAVAILABLE, "cannot reach %s: %s",
		    c->http ? ctl_http_base(c->http) : "the API", r->err);
	api_reason(r, reason, sizeof(reason));
	if (what != NULL && ((r->status == 404 && generic_404(reason)) ||
	    (r->status == 400 && missing_atom(reason))))
		return ctl_fail(CTL_EX_DATAERR, "%s not found", what);
	if (reason[0] == '\0')
		snprintf(reason, sizeof(reason), "HTTP status %ld", r->status);
	if (r->status == 401 || r->status == 403)
		return ctl_fail(CTL_EX_NOPERM, "%s", reason);
	if (r->status >= 500)
		return ctl_fail(CTL_EX_UNAVAILABLE, "%s", reason);
	return ctl_fail(CTL_EX_DATAERR, "%s", reason);
}

int
ctl_req(struct ctl *c, const char *method, const char *path,
    const char *body, const char *header, const char *what, unsigned flags,
    struct json **out)
{
	static const struct json_limits lim = {
		.max_input = CTL_HTTP_MAX_BODY,
		.max_depth = 64,
		.max_string = 64u * 1024 * 1024,
		.max_nodes = 64u * 1024 * 1024,
	};
	struct ctl_resp r;
	char err[160];
	int rc;

	if (out != NULL)
		*out = NULL;
	if (c->http == NULL)
		c->http = ctl_http_new(&c->conf);
	if (ctl_http_do(c->http, method, path, body, header, &r) != 0) {
		rc = ctl_http_error(c, &r, what);
		ctl_resp_free(&r);
		return rc;
	}
	if (r.status == 404 && (flags & CTL_REQ_OK404)) {
		ctl_resp_free(&r);
		return 0;
	}
	if (r.status < 200 || r.status > 299) {
		rc = ctl_http_error(c, &r, what);
		ctl_resp_free(&r);
		return rc;
	}
	rc = 0;
	if (out != NULL) {
		*out = json_parse_limits(r.len ? r.body : "null",
		    r.len ? r.len : 4, &lim, err, sizeof(err));
		if (*out == NULL)
			rc = ctl_fail(CTL_EX_UNAVAILABLE, "the answer to %s "
			    "%s is not JSON: %s", method, path, err);
	}
	ctl_resp_free(&r);
	return rc;
}

int
ctl_api(struct ctl *c, const char *method, const char *path,
    const char *body, const char *what, struct json **out)
{
	return ctl_req(c, method, path, body, NULL, what, 0, out);
}
