#include "autoconf.h"

/*
 * What warrenctl's commands share: listing page by page into ctl_out,
 * showing one object, sending a change, and building request bodies.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/ctl.h"
#include "admin/ctl_cmd.h"
#include "admin/ctl_http.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/xmalloc.h"

/* compat: RabbitMQ's largest page_size. */
#define PAGE_SIZE_MAX	500
#define BODY_MAX	(64u * 1024 * 1024)

const char *
ctl_vhost(const struct ctl *c)
{
	return c->conf.vhost;
}


struct json *
ctl_arg_json(const struct ctl *c, const char *name)
{
	const char *v = ctl_arg(c, name);
	char err[160];

	return v == NULL ? NULL : json_parse(v, strlen(v), err, sizeof(err));
}

void
ctl_body_begin(struct json_writer *w, struct buf *b)
{
	buf_init(b, BODY_MAX);
	json_writer_init(w, b);
	json_w_begin_object(w);
}

char *
ctl_body_end(struct json_writer *w, struct buf *b)
{
	char *s;

	json_w_end_object(w);
	if (json_writer_done(w) != 0) {
		buf_free(b);
		return NULL;
	}
	s = xstrndup((const char *)buf_head(b), buf_used(b));
	buf_free(b);
	return s;
}

void
ctl_body_json(struct json_writer *w, const struct ctl *c, const char *key,
    const char *flag)
{
	struct json *j = ctl_arg_json(c, flag);

	if (j == NULL)
		return;
	json_w_keyc(w, key);
	json_w_value(w, j);
	json_free(j);
}

/* --name filtering done here, for listings the API does not filter. */
struct filter {
	const char	*name;
	bool		 regex;
	regex_t		 re;
};

static int
filter_init(struct filter *f, const struct ctl *c)
{
	int rc;
	char err[256];

	f->name = ctl_arg(c, "name");
	f->regex = f->name != NULL && ctl_arg_bool(c, "regex", false);
	if (f->regex && (rc = regcomp(&f->re, f->name, REG_EXTENDED |
	    REG_ICASE | REG_NOSUB)) != 0) {
		regerror(rc, &f->re, err, sizeof(err));
		f->regex = false;
		return ctl_fail(CTL_EX_DATAERR, "--name is not a valid "
		    "regular expression: %s", err);
	}
	return 0;
}

static void
filter_free(struct filter *f)
{
	if (f->regex)
		regfree(&f->re);
}

static bool
filter_match(const struct filter *f, const struct json *item,
    const char *key)
{
	const char *s = json_str(json_get(item, key), NULL);

	if (f->name == NULL)
		return true;
	if (s == NULL)
		return false;
	if (f->regex)
		return regexec(&f->re, s, 0, NULL, 0) == 0;
	return strcasestr(s, f->name) != NULL;
}

/* Hands the array's matching items to ctl_out (reparsed when cut). */
static int
out_filtered(struct ctl_out *out, const struct json *arr,
    const struct filter *f, const char *key)
{
	struct json_writer w;
	struct buf b;
	struct json *j;
	char err[160];
	int rc;

	if (f->name == NULL || json_type(arr) != JSON_ARRAY)
		return ctl_out_rows(out, arr);
	buf_init(&b, CTL_HTTP_MAX_BODY);
	json_writer_init(&w, &b);
	json_w_begin_array(&w);
	for (size_t i = 0; i < json_len(arr); i++)
		if (filter_match(f, json_at(arr, i), key))
			json_w_value(&w, json_at(arr, i));
	json_w_end_array(&w);
	if (json_writer_done(&w) != 0) {
		buf_free(&b);
		return -1;
	}
	j = json_parse_limits((const char *)buf_head(&b), buf_used(&b),
	    &(struct json_limits){ CTL_HTTP_MAX_BODY, 64, 64u << 20,
	    64u << 20 }, err, sizeof(err));
	buf_free(&b);
	if (j == NULL)
		return -1;
	rc = ctl_out_rows(out, j);
	json_free(j);
	return rc;
}

static int
out_open(struct ctl *c, const struct ctl_column *cols, size_t ncols,
    struct ctl_out **out)
{
	if ((*out = ctl_out_begin(stdout, cols, ncols, &c->out)) == NULL)
		return ctl_fail(CTL_EX_USAGE, "cannot show --columns '%s'",
		    c->conf.columns ? c->conf.columns : "");
	return 0;
}

static int
out_close(struct ctl_out *out, int rc)
{
	if (ctl_out_end(out) != 0 && rc == 0)
		rc = ctl_fail(CTL_EX_IOERR, "cannot write the output");
	return rc;
}

int
ctl_list_path(struct ctl *c, const char *path,
    const struct ctl_column *cols, size_t ncols, bool paged,
    const char *name_key)
{
	struct ctl_out *out = NULL;
	struct filter f = { 0 };
	struct json *j;
	long page, size, last;
	char num[32], *p, what[1024] = "";
	const char *wp = what;
	int rc;

	size = ctl_arg_long(c, "page-size", PAGE_SIZE_MAX);
	page = ctl_arg_long(c, "page", 0);
	if (size < 1 || size > PAGE_SIZE_MAX)
		return ctl_fail(CTL_EX_USAGE, "--page-size must be 1..%d",
		    PAGE_SIZE_MAX);
	if (ctl_arg(c, "page") != NULL && page < 1)
		return ctl_fail(CTL_EX_USAGE, "--page must be 1 or more");
	if ((rc = filter_init(&f, c)) != 0)
		return rc;
	if (c->conf.vhost_set)
		snprintf(what, sizeof(what), "vhost '%s'", c->conf.vhost);
	else
		wp = NULL;
	if (!paged) {
		/* The output starts only with a good answer: an error
		 * leaves no table header behind. */
		if ((rc = ctl_api(c, "GET", path, NULL, wp, &j)) == 0) {
			if (json_type(j) != JSON_ARRAY)
				rc = ctl_fail(CTL_EX_UNAVAILABLE, "the answer "
				    "to GET %s is not a list", path);
			else if ((rc = out_open(c, cols, ncols, &out)) == 0)
				rc = out_close(out, out_filtered(out, j, &f,
				    name_key) != 0 ? ctl_fail(CTL_EX_IOERR,
				    "cannot write the output") : 0);
		}
		json_free(j);
		filter_free(&f);
		return rc;
	}
	/*
	 * compat: RabbitMQ paginates these listings; asking page by page
	 * keeps one page (<= 500 objects) in memory however many there are,
	 * and lets the server filter by name.
	 */
	last = page > 0 ? page : 1;
	for (long pg = page > 0 ? page : 1; pg <= last; pg++) {
		const struct json *items;
		int64_t count;

		p = xstrdup(path);
		snprintf(num, sizeof(num), "%ld", pg);
		ctl_path_query(&p, "page", num);
		snprintf(num, sizeof(num), "%ld", size);
		ctl_path_query(&p, "page_size", num);
		if (f.name != NULL) {
			ctl_path_query(&p, "name", f.name);
			if (f.regex)
				ctl_path_query(&p, "use_regex", "true");
		}
		rc = ctl_api(c, "GET", p, NULL, wp, &j);
		free(p);
		if (rc != 0)
			break;
		items = json_get(j, "items");
		if (json_type(items) != JSON_ARRAY ||
		    !json_int(json_get(j, "page_count"), &count)) {
			json_free(j);
			rc = ctl_fail(CTL_EX_UNAVAILABLE, "the answer to GET "
			    "%s is not a page of a listing", path);
			break;
		}
		if (page == 0 && count > last)
			last = (long)count;
		if (out == NULL && (rc = out_open(c, cols, ncols, &out)) != 0) {
			json_free(j);
			break;
		}
		if (ctl_out_rows(out, items) != 0)
			rc = ctl_fail(CTL_EX_IOERR, "cannot write the output");
		json_free(j);
		if (rc != 0)
			break;
	}
	filter_free(&f);
	return out != NULL ? out_close(out, rc) : rc;
}

int
ctl_list(struct ctl *c, const struct ctl_listing *l)
{
	char *path;
	int rc;

	if (l->per_vhost && c->conf.vhost_set) {
		char *seg = ctl_path("/{}", c->conf.vhost);
		size_t n = strlen(l->path) + strlen(seg) + 1;

		path = xmalloc(n);
		snprintf(path, n, "%s%s", l->path, seg);
		free(seg);
	} else {
		path = xstrdup(l->path);
	}
	rc = ctl_list_path(c, path, l->cols, l->ncols, l->paged,
	    l->name_key ? l->name_key : "name");
	free(path);
	return rc;
}

int
ctl_show(struct ctl *c, const char *path, const char *what,
    const struct ctl_column *cols, size_t ncols)
{
	struct json *j;
	int rc;

	if ((rc = ctl_api(c, "GET", path, NULL, what, &j)) != 0)
		return rc;
	if (json_type(j) != JSON_OBJECT)
		rc = ctl_fail(CTL_EX_UNAVAILABLE, "the answer to GET %s is "
		    "not an object", path);
	else if (ctl_out_object(stdout, j, cols, ncols, &c->out) != 0)
		rc = ctl_fail(CTL_EX_IOERR, "cannot write the output");
	json_free(j);
	return rc;
}

int
ctl_send(struct ctl *c, const char *method, const char *path,
    const char *body, const char *what)
{
	unsigned flags = 0;

	if (strcmp(method, "DELETE") == 0 &&
	    ctl_arg_bool(c, "idempotently", false))
		flags |= CTL_REQ_OK404;
	return ctl_req(c, method, path, body, NULL, what, flags, NULL);
}
