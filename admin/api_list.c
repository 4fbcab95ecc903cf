#include "autoconf.h"

#include "admin/api_list.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/api.h"
#include "admin/http.h"
#include "admin/http_conn.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/mono.h"
#include "lib/vec.h"
#include "lib/xmalloc.h"
#include "server/auth_perm.h"
#include "server/broker.h"

/* Bytes of a query value we read; longer ones are refused or match nothing. */
#define PARAM_MAX		4096
#define COLUMNS_MAX		64	/* columns= paths */
#define COLUMN_DEPTH_MAX	8	/* dotted segments of one path */
/*
 * Items a keyed listing writes between two looks at the clock; a listing
 * with more items to write than this is written over several loop turns.
 * A queue's JSON takes a few microseconds.
 */
#define LIST_SLICE		128
/* Time a listing's slices may take in one turn, at most. */
#define LIST_TURN_NS		(2 * 1000000u)

enum sort_kind {
	SORT_NUMBER,	/* and missing values, as 0 */
	SORT_BOOL,
	SORT_STRING,
	SORT_OTHER,	/* arrays and objects: all equal */
};

struct list_item {
	size_t		 off, len;	/* its JSON in items */
	size_t		 key_off;	/* vhost then name in keys */
	size_t		 vhost_len, name_len;
	size_t		 ref_off, ref_len;	/* keyed: what finds it again */
	size_t		 seq;		/* offer order: ties keep it */
	bool		 gone;		/* keyed: deleted before its turn */
	/* Set just before sorting (keys no longer moves). */
	const char	*vhost, *name;
	enum sort_kind	 kind;
	double		 num;
	size_t		 str_off, str_len;
	const char	*str;
};

struct column {
	struct proto_str seg[COLUMN_DEPTH_MAX];
	size_t		 nseg;
};

struct api_list {
	struct buf	 items;		/* every item's JSON, back to back */
	struct buf	 keys;		/* sort keys */
	struct list_item *v;
	size_t		 n, cap;
	size_t		 total;		/* offered, past the vhost filter */
	struct json_writer w;		/* the item being written */
	bool		 failed;	/* out of room or memory */
	/* Read each item's sort= value from its JSON as it is written. */
	bool		 json_sort;
	/* Project columns= as items are written (all are answered). */
	bool		 project_early;
	/* Keyed listings (api_list_end_keyed). */
	api_list_write_fn *write;
	bool		 ordered;	/* sorted and cut before writing */
	size_t		 next, first, last; /* items to write: [next, last) */
	size_t		 pages;		/* page_count, when ordered */
	size_t		 ngone;
	/* Where items are written: items, or (direct) the answer's body. */
	struct buf	*out;
	bool		 direct;	/* a bare array in order: no copy */
	size_t		 nout;		/* items written directly */
	bool		 copying;	/* sorted items go to the answer */

	long		 page;		/* 0: no pagination */
	long		 page_size;
	bool		 filter;	/* name= given, with page= */
	bool		 match_nothing;	/* a filter too long to match */
	char		 name[PARAM_MAX];
	size_t		 name_len;
	struct perm_re	*re;		/* use_regex=true */
	bool		 sorted;	/* sort= given */
	char		 sort[PARAM_MAX];
	bool		 reverse;
	char		 columns[PARAM_MAX];
	bool		 has_columns;
	bool		 disable_stats, queue_totals;
	bool		 vhost_filter;	/* x-vhost given, not blank */
	char		 vhost[256];
};

static void
invalid(struct api_ctx *ctx)
{
	/* compat: RabbitMQ's answer to any unreadable list parameter. */
	api_error(ctx, 400, "bad_request", "Pagination parameters are invalid");
}

/* An integer parameter: 1 read, 0 absent, -1 not an integer. */
static int
int_param(const struct api_ctx *ctx, const char *name, long *out)
{
	char v[32], *end;
	int rc = http_query_param(ctx->req, name, v, sizeof(v), NULL);

	if (rc <= 0)
		return rc;
	errno = 0;
	*out = strtol(v, &end, 10);
	if (v[0] == '\0' || *end != '\0' || errno != 0 || isspace((unsigned char)v[0]))
		return -1;
	return 1;
}

/* A boolean parameter: only "true" is true, as RabbitMQ reads them. */
static bool
true_param(const struct api_ctx *ctx, const char *name)
{
	char v[8];

	return http_query_param(ctx->req, name, v, sizeof(v), NULL) == 1 &&
	    strcmp(v, "true") == 0;
}

static bool
read_pagination(struct api_ctx *ctx, struct api_list *l)
{
	char ps[32], pg[32];
	int has_page, has_size;
	long size = API_PAGE_SIZE_DEFAULT;

	has_page = int_param(ctx, "page", &l->page);
	has_size = int_param(ctx, "page_size", &size);
	if (has_page < 0 || has_size < 0) {
		invalid(ctx);
		return false;
	}
	if (has_page == 0) {
		l->page = 0;
		return true;
	}
	if (l->page < 1 || (has_size && (size < 1 ||
	    size > API_PAGE_SIZE_MAX))) {
		snprintf(pg, sizeof(pg), "%ld", l->page);
		if (has_size)
			snprintf(ps, sizeof(ps), "%ld", size);
		else
			snprintf(ps, sizeof(ps), "undefined");
		api_error(ctx, 400, "invalid_pagination_parameters",
		    "Invalid pagination parameters: page number %s, "
		    "page size %s", pg, ps);
		return false;
	}
	l->page_size = size;
	return true;
}

static bool
read_name_filter(struct api_ctx *ctx, struct api_list *l)
{
	char pat[PARAM_MAX + 8], err[128];
	int rc;

	rc = http_query_param(ctx->req, "name", l->name, sizeof(l->name),
	    &l->name_len);
	if (rc == 0 || l->page == 0)
		return true;
	l->filter = true;
	if (rc < 0) {
		/* Longer than any name (255 bytes) or allowed regex. */
		l->match_nothing = true;
		return true;
	}
	if (!true_param(ctx, "use_regex"))
		return true;
	if (l->name_len > API_NAME_REGEX_MAX) {
		l->match_nothing = true;
		return true;
	}
	/* Caseless, as RabbitMQ runs it (re:run with caseless). */
	snprintf(pat, sizeof(pat), "(?i)%s", l->name);
	if ((l->re = perm_re_compile(pat, strlen(pat), err,
	    sizeof(err))) == NULL) {
		invalid(ctx);
		return false;
	}
	return true;
}

static bool
begin(struct api_ctx *ctx, bool pageable)
{
	struct api_list *l;
	struct proto_str xv;
	char rev[8];
	int rc;

	assert(ctx->list == NULL);
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		api_error(ctx, 503, "internal_error", "out of memory");
		return false;
	}
	ctx->list = l;
	buf_init(&l->items, API_RESPONSE_MAX);
	l->out = &l->items;
	buf_init(&l->keys, API_RESPONSE_MAX);
	if (pageable && (!read_pagination(ctx, l) ||
	    !read_name_filter(ctx, l)))
		return false;
	rc = http_query_param(ctx->req, "sort", l->sort, sizeof(l->sort),
	    NULL);
	if (rc < 0) {
		invalid(ctx);
		return false;
	}
	l->sorted = rc == 1 && l->sort[0] != '\0';
	if (http_query_param(ctx->req, "sort_reverse", rev, sizeof(rev),
	    NULL) == 1) {
		/* compat: RabbitMQ fails with a 500 on anything else. */
		if (strcmp(rev, "true") != 0 && strcmp(rev, "false") != 0) {
			api_error(ctx, 400, "bad_request",
			    "sort_reverse must be true or false");
			return false;
		}
		l->reverse = strcmp(rev, "true") == 0;
	}
	rc = http_query_param(ctx->req, "columns", l->columns,
	    sizeof(l->columns), NULL);
	if (rc < 0) {
		api_error(ctx, 400, "bad_request", "columns is too long");
		return false;
	}
	l->has_columns = rc == 1;
	l->json_sort = l->sorted;
	l->project_early = l->has_columns && l->page == 0;
	l->disable_stats = true_param(ctx, "disable_stats");
	l->queue_totals = l->disable_stats &&
	    true_param(ctx, "enable_queue_totals");
	/* Only on a path that names no vhost of its own. */
	if (ctx->nargs == 0 && http_header(ctx->req, "x-vhost", &xv) &&
	    xv.len > 0) {
		if (xv.len >= sizeof(l->vhost)) {
			api_error(ctx, 400, "bad_request",
			    "x-vhost is too long");
			return false;
		}
		memcpy(l->vhost, xv.p, xv.len);
		l->vhost[xv.len] = '\0';
		l->vhost_filter = true;
	}
	return true;
}

bool
api_list_begin(struct api_ctx *ctx)
{
	return begin(ctx, true);
}

bool
api_list_begin_unpaged(struct api_ctx *ctx)
{
	return begin(ctx, false);
}

bool
api_list_disable_stats(const struct api_ctx *ctx)
{
	return ctx->list != NULL && ctx->list->disable_stats;
}

bool
api_list_queue_totals(const struct api_ctx *ctx)
{
	return ctx->list != NULL && ctx->list->queue_totals;
}

/* Caseless substring, byte by byte (ASCII letters fold). */
static bool
contains_caseless(const char *s, size_t n, const char *sub, size_t m)
{
	if (m == 0)
		return true;
	for (size_t i = 0; i + m <= n; i++) {
		size_t k = 0;

		while (k < m && tolower((unsigned char)s[i + k]) ==
		    tolower((unsigned char)sub[k]))
			k++;
		if (k == m)
			return true;
	}
	return false;
}

bool
api_list_wants(struct api_ctx *ctx, const char *vhost, const char *name,
    size_t namelen)
{
	struct api_list *l = ctx->list;

	assert(l != NULL);
	if (l->vhost_filter && vhost != NULL && strcmp(vhost, l->vhost) != 0)
		return false;
	l->total++;
	if (!l->filter)
		return true;
	if (l->match_nothing || name == NULL)
		return false;
	if (l->re != NULL)
		return perm_re_match(l->re, name, namelen);
	return contains_caseless(name, namelen, l->name, l->name_len);
}

struct json_writer *
api_list_item(struct api_ctx *ctx, const char *vhost, const char *name,
    size_t namelen)
{
	struct api_list *l = ctx->list;
	struct list_item *it;
	size_t vlen = vhost != NULL ? strlen(vhost) : 0;

	assert(l != NULL);
	if (l->failed || vec_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v),
	    64) != 0) {
		l->failed = true;
		/* Writes into a full buffer are dropped: nothing grows. */
		json_writer_init(&l->w, &l->items);
		l->w.err = true;
		return &l->w;
	}
	it = &l->v[l->n];
	memset(it, 0, sizeof(*it));
	it->seq = l->n;
	it->key_off = buf_used(&l->keys);
	it->vhost_len = vlen;
	it->name_len = name != NULL ? namelen : 0;
	if (!buf_append(&l->keys, vlen > 0 ? vhost : "", vlen) ||
	    !buf_append(&l->keys, "", 1) ||
	    !buf_append(&l->keys, name != NULL ? name : "", it->name_len) ||
	    !buf_append(&l->keys, "", 1))
		l->failed = true;
	it->off = buf_used(&l->items);
	json_writer_init(&l->w, &l->items);
	return &l->w;
}

static bool	item_done(struct api_list *l, struct list_item *it);

void
api_list_item_end(struct api_ctx *ctx)
{
	struct api_list *l = ctx->list;

	if (l->failed || json_writer_done(&l->w) != 0 ||
	    !item_done(l, &l->v[l->n])) {
		l->failed = true;
		return;
	}
	l->n++;
}

/* The value at a dotted path inside j, or NULL. */
static const struct json *
dotted(const struct json *j, const char *path)
{
	char seg[PARAM_MAX];

	while (j != NULL && *path != '\0') {
		size_t n = strcspn(path, ".");

		memcpy(seg, path, n);
		seg[n] = '\0';
		j = json_get(j, seg);
		path += n;
		if (*path == '.')
			path++;
	}
	return j;
}

/* Reads an item's sort= value from its parsed JSON. */
static bool
sort_key(struct api_list *l, struct list_item *it, const struct json *j)
{
	const struct json *v = dotted(j, l->sort);
	const char *s;

	it->kind = SORT_NUMBER;
	it->num = 0;
	switch (v != NULL ? json_type(v) : JSON_NULL) {
	case JSON_NULL:
		break;
	case JSON_NUMBER:
		it->num = json_num(v);
		break;
	case JSON_BOOL:
		it->kind = SORT_BOOL;
		it->num = json_bool(v);
		break;
	case JSON_STRING:
		it->kind = SORT_STRING;
		s = json_str(v, &it->str_len);
		it->str_off = buf_used(&l->keys);
		if (!buf_append(&l->keys, s, it->str_len))
			return false;
		break;
	default:
		it->kind = SORT_OTHER;
		break;
	}
	return true;
}

static int
bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn;
}

static int
cmp_default(const void *pa, const void *pb)
{
	const struct list_item *a = pa, *b = pb;
	int c;

	if ((c = bytes_cmp(a->vhost, a->vhost_len, b->vhost,
	    b->vhost_len)) != 0)
		return c;
	if ((c = bytes_cmp(a->name, a->name_len, b->name, b->name_len)) != 0)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int
cmp_key(const void *pa, const void *pb)
{
	const struct list_item *a = pa, *b = pb;
	int c = 0;

	/* compat: Erlang's term order: numbers, atoms, binaries. */
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	switch (a->kind) {
	case SORT_NUMBER:
	case SORT_BOOL:
		c = a->num < b->num ? -1 : a->num > b->num;
		break;
	case SORT_STRING:
		c = bytes_cmp(a->str, a->str_len, b->str, b->str_len);
		break;
	case SORT_OTHER:
		break;
	}
	if (c != 0)
		return c;
	return cmp_default(pa, pb);
}

static void
sort_items(struct api_list *l)
{
	const char *keys = (const char *)buf_head(&l->keys);

	for (size_t i = 0; i < l->n; i++) {
		struct list_item *it = &l->v[i];

		it->vhost = keys + it->key_off;
		it->name = it->vhost + it->vhost_len + 1;
		it->str = keys + it->str_off;
	}
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), l->sorted ? cmp_key :
		    cmp_default);
	if (l->reverse)
		for (size_t i = 0, j = l->n; i + 1 < j; i++, j--) {
			struct list_item t = l->v[i];

			l->v[i] = l->v[j - 1];
			l->v[j - 1] = t;
		}
}

/* Splits columns= into paths; empty entries are skipped. */
static size_t
parse_columns(const char *s, struct column *cols)
{
	size_t n = 0;

	while (*s != '\0' && n < COLUMNS_MAX) {
		size_t len = strcspn(s, ","), i = 0;
		struct column *c = &cols[n];

		c->nseg = 0;
		while (i < len && c->nseg < COLUMN_DEPTH_MAX) {
			size_t k = i;

			while (k < len && s[k] != '.')
				k++;
			c->seg[c->nseg++] = (struct proto_str){
			    (const uint8_t *)s + i, k - i };
			i = k + 1;
		}
		if (len > 0)
			n++;
		s += len;
		if (*s == ',')
			s++;
	}
	return n;
}


static bool
seg_is(struct proto_str seg, const char *key, size_t n)
{
	return seg.len == n && memcmp(seg.p, key, n) == 0;
}

/* Whether some column ends at or below obj's member key, at depth d. */
static bool
selects(const struct json *v, const struct column *cols, size_t ncols,
    size_t d, const char *key, size_t klen)
{
	for (size_t c = 0; c < ncols; c++) {
		if (cols[c].nseg <= d || !seg_is(cols[c].seg[d], key, klen))
			continue;
		/* compat: a path going on past a non-object keeps it. */
		if (cols[c].nseg == d + 1 || json_type(v) != JSON_OBJECT)
			return true;
		for (size_t k = 0; k < json_len(v); k++) {
			size_t n;
			const char *s = json_key_at(v, k, &n);

			if (selects(json_value_at(v, k), cols, ncols, d + 1,
			    s, n))
				return true;
		}
	}
	return false;
}

/* Writes the members of obj that the columns select, at depth d. */
static void
project(struct json_writer *w, const struct json *obj,
    const struct column *cols, size_t ncols, size_t d)
{
	json_w_begin_object(w);
	for (size_t k = 0; k < json_len(obj); k++) {
		const struct json *v = json_value_at(obj, k);
		bool whole = false;
		size_t n;
		const char *key = json_key_at(obj, k, &n);

		if (!selects(v, cols, ncols, d, key, n))
			continue;
		if (json_type(v) != JSON_OBJECT)
			whole = true;
		for (size_t c = 0; c < ncols; c++)
			if (cols[c].nseg == d + 1 &&
			    seg_is(cols[c].seg[d], key, n))
				whole = true;
		json_w_key(w, key, n);
		if (whole)
			json_w_value(w, v);
		else
			project(w, v, cols, ncols, d + 1);
	}
	json_w_end_object(w);
}

/* Writes one value through columns (objects only; others whole). */
static bool
write_projected(struct json_writer *w, const char *text, size_t len,
    const struct column *cols, size_t ncols)
{
	struct json *j;
	char err[64];

	if ((j = json_parse(text, len, err, sizeof(err))) == NULL)
		return false;
	if (json_type(j) == JSON_OBJECT)
		project(w, j, cols, ncols, 0);
	else
		json_w_value(w, j);
	json_free(j);
	return true;
}

static void
too_large(struct api_ctx *ctx)
{
	api_error(ctx, 500, "internal_error", "response too large");
}

/*
 * An item just written at it->off: reads its sort= value and, when every
 * written item is answered, projects its columns in place (one parse for
 * both; the sort value is read before columns drop it).
 */
static bool
item_done(struct api_list *l, struct list_item *it)
{
	struct column cols[COLUMNS_MAX];
	struct json_writer w;
	struct buf out;
	struct json *j;
	char err[64];
	bool ok = true;

	it->len = buf_used(l->out) - it->off;
	if (!l->json_sort && !l->project_early)
		return true;
	j = json_parse((const char *)buf_head(l->out) + it->off, it->len,
	    err, sizeof(err));
	if (j == NULL)
		return false;
	if (l->json_sort && !sort_key(l, it, j))
		ok = false;
	if (ok && l->project_early) {
		buf_init(&out, API_RESPONSE_MAX);
		json_writer_init(&w, &out);
		if (json_type(j) == JSON_OBJECT)
			project(&w, j, cols, parse_columns(l->columns, cols),
			    0);
		else
			json_w_value(&w, j);
		/* The item's text goes; its projection takes its place. */
		l->out->len = l->out->off + it->off;
		ok = json_writer_done(&w) == 0 && buf_append(l->out,
		    buf_head(&out), buf_used(&out));
		it->len = buf_used(l->out) - it->off;
		buf_free(&out);
	}
	json_free(j);
	return ok;
}

/* The page's bounds in the n items; false after answering 400. */
static bool
cut_page(struct api_ctx *ctx, struct api_list *l, size_t n, size_t *first,
    size_t *last, size_t *pages)
{
	size_t ps = (size_t)l->page_size;

	*first = 0;
	*last = n;
	*pages = 0;
	if (l->page == 0)
		return true;
	*pages = (n + ps - 1) / ps;
	if (l->page > 1 && (size_t)l->page > *pages) {
		api_error(ctx, 400, "page_out_of_range",
		    "Page out of range, page: %ld page size: %ld, "
		    "len: %zu", l->page, l->page_size, n);
		return false;
	}
	*first = ((size_t)l->page - 1) * ps;
	if (*first > n)
		*first = n;
	*last = *first + ps < n ? *first + ps : n;
	return true;
}

/*
 * Writes the answer: items [first, last) but those gone, of filtered
 * wanted ones, in pages.
 */
static void
emit(struct api_ctx *ctx, size_t first, size_t last, size_t filtered,
    size_t pages)
{
	struct api_list *l = ctx->list;
	struct column cols[COLUMNS_MAX];
	struct json_writer *w;
	size_t ncols = 0, count = 0;
	const char *items;

	for (size_t i = first; i < last; i++)
		count += !l->v[i].gone;
	if (l->has_columns && !l->project_early)
		ncols = parse_columns(l->columns, cols);
	w = api_json_begin(ctx);
	if (l->page > 0) {
		json_w_begin_object(w);
		json_w_keyc(w, "filtered_count");
		json_w_uint(w, filtered);
		json_w_keyc(w, "item_count");
		json_w_uint(w, count);
		json_w_keyc(w, "items");
	}
	json_w_begin_array(w);
	items = (const char *)buf_head(&l->items);
	for (size_t i = first; i < last; i++) {
		const struct list_item *it = &l->v[i];

		if (it->gone)
			continue;
		if (l->has_columns && !l->project_early) {
			if (!write_projected(w, items + it->off, it->len, cols,
			    ncols))
				w->err = true;
			continue;
		}
		json_w_raw(w, items + it->off, it->len);
	}
	json_w_end_array(w);
	if (l->page > 0) {
		json_w_keyc(w, "page");
		json_w_int(w, l->page);
		json_w_keyc(w, "page_count");
		json_w_uint(w, pages);
		json_w_keyc(w, "page_size");
		json_w_int(w, l->page_size);
		json_w_keyc(w, "total_count");
		json_w_uint(w, l->total > l->ngone ? l->total - l->ngone : 0);
		json_w_end_object(w);
	}
	if (json_writer_done(w) != 0)
		too_large(ctx);
}

/*
 * The start of both ends of a listing: one that ran out of room answers
 * "response too large" (false); else total counts at least the items
 * kept.
 */
static bool
list_closing(struct api_ctx *ctx)
{
	struct api_list *l = ctx->list;

	assert(l != NULL);
	if (l->failed) {
		too_large(ctx);
		return false;
	}
	if (l->total < l->n)
		l->total = l->n;
	return true;
}

void
api_list_end(struct api_ctx *ctx)
{
	struct api_list *l = ctx->list;
	size_t first, last, pages;

	if (!list_closing(ctx))
		return;
	sort_items(l);
	if (cut_page(ctx, l, l->n, &first, &last, &pages))
		emit(ctx, first, last, l->n, pages);
}

/*
 * Writes up to max of a keyed listing's items, each looked up again by
 * its key: one deleted since is left out.
 */
static void
write_some(struct api_ctx *ctx, size_t max)
{
	struct api_list *l = ctx->list;

	for (; max > 0 && l->next < l->last && !l->failed; max--) {
		struct list_item *it = &l->v[l->next++];
		const char *keys = (const char *)buf_head(&l->keys);
		size_t start = buf_used(l->out);

		if (l->copying) {
			if ((l->nout++ > 0 && !buf_append(l->out, ",", 1)) ||
			    !buf_append(l->out, (const char *)buf_head(
			    &l->items) + it->off, it->len))
				l->failed = true;
			continue;
		}
		if (l->direct && l->nout > 0 && !buf_append(l->out, ",", 1)) {
			l->failed = true;
			break;
		}
		it->off = buf_used(l->out);
		json_writer_init(&l->w, l->out);
		if (!l->write(ctx, &l->w, keys + it->key_off,
		    keys + it->ref_off, it->ref_len)) {
			it->gone = true;
			l->ngone++;
			l->out->len = l->out->off + start;
			continue;
		}
		if (json_writer_done(&l->w) != 0 || !item_done(l, it))
			l->failed = true;
		l->nout++;
	}
}

/*
 * A bare array in the keys' order (the default listing of every queue):
 * items are written straight into the answer, after its "[".
 */
static void
start_direct(struct api_ctx *ctx)
{
	struct api_list *l = ctx->list;

	json_w_begin_array(api_json_begin(ctx));
	l->out = &ctx->resp->body;
	l->direct = true;
}

/*
 * A keyed listing whose items are all written: the answer. False when
 * there is more to do: a bare array sorted by a value of the items is
 * then copied out in order, a slice at a time too.
 */
static bool
finish(struct api_ctx *ctx)
{
	struct api_list *l = ctx->list;
	size_t first = l->first, last = l->last, pages = l->pages, n = 0;

	if (l->failed || (l->direct && !buf_append(l->out, "]", 1))) {
		too_large(ctx);
		return true;
	}
	if (l->direct)
		return true;
	if (l->ordered) {
		emit(ctx, first, last, l->n - l->ngone, pages);
		return true;
	}
	/* Written in offer order: those gone go, then sort and cut. */
	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i].gone)
			l->v[n++] = l->v[i];
	l->n = n;
	sort_items(l);
	if (l->page == 0) {
		l->copying = true;
		l->nout = 0;
		l->next = 0;
		l->last = l->n;
		start_direct(ctx);
		return false;
	}
	if (cut_page(ctx, l, l->n, &first, &last, &pages))
		emit(ctx, first, last, l->n, pages);
	return true;
}

/* A listing written over several loop turns, for one waiting client. */
struct list_job {
	struct api_ctx	 ctx;		/* no request or user: they go */
	struct http_response resp;
	struct http_conn *h;
	ev_check	 slice;		/* writes a slice each turn */
	ev_idle		 awake;		/* no sleeping while items are left */
};

static void
job_free(struct list_job *j)
{
	struct ev_loop *loop = j->ctx.b->loop;

	ev_check_stop(loop, &j->slice);
	ev_idle_stop(loop, &j->awake);
	api_list_free(&j->ctx);
	http_response_free(&j->resp);
	free(j);
}

static void
on_slice(struct ev_loop *loop, ev_check *w, int revents)
{
	struct list_job *j = w->data;
	struct api_list *l = j->ctx.list;
	uint64_t t0 = mono_ns();

	/* At least a slice a turn, so that a busy broker still answers. */
	do
		write_some(&j->ctx, LIST_SLICE);
	while (l->next < l->last && !l->failed &&
	    !broker_turn_spent(j->ctx.b) && mono_ns() - t0 < LIST_TURN_NS);
	if ((l->next < l->last && !l->failed) || !finish(&j->ctx))
		return;
	http_conn_answer(j->h, &j->resp);
	job_free(j);
}

static void
on_awake(struct ev_loop *loop, ev_idle *w, int revents)
{
	/* Nothing: it only keeps the loop from blocking (on_slice works). */
}

/* The client left (or the broker stops) first: the listing goes. */
static void
job_gone(struct http_conn *h, void *arg)
{
	job_free(arg);
}

/*
 * Hands ctx's listing to a job that writes it over several turns; returns
 * the job's context.
 */
static struct api_ctx *
defer(struct api_ctx *ctx)
{
	struct list_job *j = xcalloc(1, sizeof(*j));
	struct ev_loop *loop = ctx->b->loop;

	j->ctx.b = ctx->b;
	j->ctx.ranges = ctx->ranges;
	j->ctx.list = ctx->list;
	j->ctx.resp = &j->resp;
	ctx->list = NULL;
	http_response_init(&j->resp, API_RESPONSE_MAX);
	j->h = ctx->req->conn;
	http_conn_defer(j->h, ctx->resp, job_gone, j);
	ev_check_init(&j->slice, on_slice);
	j->slice.data = j;
	ev_check_start(loop, &j->slice);
	ev_idle_init(&j->awake, on_awake);
	j->awake.data = j;
	ev_idle_start(loop, &j->awake);
	return &j->ctx;
}

void
api_list_key(struct api_ctx *ctx, const char *vhost, const char *name,
    size_t namelen)
{
	struct api_list *l = ctx->list;
	struct list_item *it;

	/* An item with its key and no JSON yet: api_list_end_keyed writes. */
	(void)api_list_item(ctx, vhost, name, namelen);
	if (l->failed)
		return;
	/* Its name finds it again. */
	it = &l->v[l->n++];
	it->ref_off = it->key_off + it->vhost_len + 1;
	it->ref_len = it->name_len;
}

void
api_list_key_ref(struct api_ctx *ctx, const char *vhost, const char *name,
    size_t namelen, const void *ref, size_t reflen)
{
	struct api_list *l = ctx->list;
	struct list_item *it;

	(void)api_list_item(ctx, vhost, name, namelen);
	if (l->failed)
		return;
	it = &l->v[l->n];
	it->ref_off = buf_used(&l->keys);
	it->ref_len = reflen;
	if (!buf_append(&l->keys, reflen > 0 ? ref : "", reflen)) {
		l->failed = true;
		return;
	}
	l->n++;
}

void
api_list_end_keyed(struct api_ctx *ctx, api_list_write_fn *write)
{
	struct api_list *l = ctx->list;

	if (!list_closing(ctx))
		return;
	l->write = write;
	/*
	 * The default order and sort=name need only the keys (a keyed
	 * item's name member is its key's name): sort and cut the page
	 * first, and write only the page's items.
	 */
	if (!l->sorted || strcmp(l->sort, "name") == 0) {
		for (size_t i = 0; l->sorted && i < l->n; i++) {
			struct list_item *it = &l->v[i];

			it->kind = SORT_STRING;
			it->str_off = it->key_off + it->vhost_len + 1;
			it->str_len = it->name_len;
		}
		l->json_sort = false;
		sort_items(l);
		if (!cut_page(ctx, l, l->n, &l->first, &l->last, &l->pages))
			return;
		l->ordered = true;
		l->project_early = l->has_columns;
	} else {
		l->first = 0;
		l->last = l->n;
	}
	l->next = l->first;
	/*
	 * A HEAD is answered at once: a deferred answer carries a body.
	 * Without a connection (unit tests) too.
	 */
	if (l->last - l->first <= LIST_SLICE || ctx->req->conn == NULL ||
	    ctx->req->method == HTTP_HEAD) {
		if (l->ordered && l->page == 0)
			start_direct(ctx);
		do
			write_some(ctx, SIZE_MAX);
		while (!finish(ctx));
		return;
	}
	ctx = defer(ctx);
	if (l->ordered && l->page == 0)
		start_direct(ctx);
}

void
api_list_free(struct api_ctx *ctx)
{
	struct api_list *l = ctx->list;

	if (l == NULL)
		return;
	buf_free(&l->items);
	buf_free(&l->keys);
	free(l->v);
	if (l->re != NULL)
		perm_re_free(l->re);
	free(l);
	ctx->list = NULL;
}

void
api_columns_apply(struct api_ctx *ctx)
{
	char columns[PARAM_MAX];
	struct column cols[COLUMNS_MAX];
	struct http_response *resp = ctx->resp;
	struct json_writer w;
	struct buf out;
	struct json *j;
	size_t ncols;
	char err[64];
	int rc;

	rc = http_query_param(ctx->req, "columns", columns, sizeof(columns),
	    NULL);
	if (rc == 0 || resp->status != 200)
		return;
	if (rc < 0) {
		api_error(ctx, 400, "bad_request", "columns is too long");
		return;
	}
	ncols = parse_columns(columns, cols);
	j = json_parse((const char *)buf_head(&resp->body),
	    buf_used(&resp->body), err, sizeof(err));
	if (j == NULL)
		return;
	buf_init(&out, resp->body.max);
	json_writer_init(&w, &out);
	if (json_type(j) == JSON_ARRAY) {
		json_w_begin_array(&w);
		for (size_t i = 0; i < json_len(j); i++) {
			const struct json *v = json_at(j, i);

			if (json_type(v) == JSON_OBJECT)
				project(&w, v, cols, ncols, 0);
			else
				json_w_value(&w, v);
		}
		json_w_end_array(&w);
	} else if (json_type(j) == JSON_OBJECT) {
		project(&w, j, cols, ncols, 0);
	} else {
		json_w_value(&w, j);
	}
	json_free(j);
	if (json_writer_done(&w) != 0) {
		buf_free(&out);
		too_large(ctx);
		return;
	}
	buf_free(&resp->body);
	resp->body = out;
}
