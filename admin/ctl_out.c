#include "autoconf.h"

#include "admin/ctl_out.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/json.h"
#include "lib/xmalloc.h"

#define CELL_MAX	(128u << 20)	/* one rendered value; the DOM caps
					 * strings far below this */
#define TEXT_MIN	4	/* a column is never shrunk below this */
#define COLUMNS_MAX	64	/* as the API's columns= */
#define SEGMENTS_MAX	8	/* dotted segments of one path, as the API */
#define SEP_WIDTH	2	/* blanks between table columns */
#define ELLIPSIS	"\xe2\x80\xa6"	/* U+2026, one display column */
#define BOLD		"\033[1m"
#define RESET		"\033[0m"

struct ctl_out {
	FILE			*f;
	struct ctl_out_opts	 o;
	const struct ctl_column	*cols;
	size_t			 ncols;
	struct ctl_column	*owned;	/* parsed --columns or the first row's
					 * keys: one allocation */
	bool			 literal;	/* paths are whole keys (derived
						 * from a row), not dotted */
	bool			 project;	/* JSON: only the columns */
	size_t			*width;		/* table: display columns */
	bool			*numeric;	/* table: right-aligned */
	size_t			*floor;		/* table: narrowest width */
	size_t			 pending;	/* blanks not yet written: none
						 * end a line */
	bool			 started;	/* header written, widths fixed */
	size_t			 rows;
	struct buf		 cell;		/* the value being printed */
	struct buf		 tmp;		/* compact JSON before escaping */
	bool			 err;		/* a write failed */
};

/* ---- output -------------------------------------------------------------- */

static void
write_all(struct ctl_out *out, const void *p, size_t n)
{
	if (!out->err && n > 0 && fwrite(p, 1, n, out->f) != n)
		out->err = true;
}

/* Writes n blanks later, before the next text: lines never end in one. */
static void
pad(struct ctl_out *out, size_t n)
{
	out->pending += n;
}

static void
put(struct ctl_out *out, const void *p, size_t n)
{
	static const char spaces[] = "                                ";

	if (n == 0)
		return;
	while (out->pending > 0 && !out->err) {
		size_t k = out->pending < sizeof(spaces) - 1 ? out->pending :
		    sizeof(spaces) - 1;

		write_all(out, spaces, k);
		out->pending -= k;
	}
	write_all(out, p, n);
}

static void
puts_(struct ctl_out *out, const char *s)
{
	put(out, s, strlen(s));
}

/* Ends a line, dropping the blanks that would trail it. */
static void
newline(struct ctl_out *out)
{
	out->pending = 0;
	write_all(out, "\n", 1);
}

static void
append(struct ctl_out *out, struct buf *b, const void *p, size_t n)
{
	if (!buf_append(b, p, n))
		out->err = true;	/* only past CELL_MAX */
}

static void
appendc(struct ctl_out *out, struct buf *b, const char *s)
{
	append(out, b, s, strlen(s));
}

/* ---- UTF-8 and display width --------------------------------------------- */

/* Decodes one code point at s; its length, or 0 if the bytes are not
 * well-formed UTF-8 (overlong, surrogate, past U+10FFFF, truncated). */
static size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

struct range {
	uint32_t lo, hi;
};

/* Combining marks and zero-width characters: no column of their own. */
static const struct range zero_width[] = {
	{ 0x0300, 0x036f }, { 0x0483, 0x0489 }, { 0x0591, 0x05bd },
	{ 0x0610, 0x061a }, { 0x064b, 0x065f }, { 0x1ab0, 0x1aff },
	{ 0x1dc0, 0x1dff }, { 0x200b, 0x200f }, { 0x20d0, 0x20ff },
	{ 0xfe00, 0xfe0f }, { 0xfe20, 0xfe2f }, { 0xfeff, 0xfeff },
	{ 0xe0100, 0xe01ef },
};

/* East Asian wide and fullwidth characters and emoji: two columns. */
static const struct range wide[] = {
	{ 0x1100, 0x115f }, { 0x2e80, 0x303e }, { 0x3041, 0x33ff },
	{ 0x3400, 0x4dbf }, { 0x4e00, 0x9fff }, { 0xa000, 0xa4cf },
	{ 0xac00, 0xd7a3 }, { 0xf900, 0xfaff }, { 0xfe30, 0xfe4f },
	{ 0xff00, 0xff60 }, { 0xffe0, 0xffe6 }, { 0x1f300, 0x1f64f },
	{ 0x1f680, 0x1f6ff }, { 0x1f900, 0x1f9ff }, { 0x1fa70, 0x1faff },
	{ 0x20000, 0x2fffd }, { 0x30000, 0x3fffd },
};

static bool
in(const struct range *r, size_t n, uint32_t cp)
{
	for (size_t i = 0; i < n; i++)
		if (cp >= r[i].lo && cp <= r[i].hi)
			return true;
	return false;
}

static size_t
cp_width(uint32_t cp)
{
	if (in(zero_width, sizeof(zero_width) / sizeof(zero_width[0]), cp))
		return 0;
	if (in(wide, sizeof(wide) / sizeof(wide[0]), cp))
		return 2;
	return 1;
}

/*
 * Display columns of s (escaped text: well-formed UTF-8). With limit, also
 * the bytes of the longest prefix that fits in limit columns in *fit.
 */
static size_t
text_width(const char *s, size_t n, size_t limit, size_t *fit)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t w = 0, i = 0, len;
	uint32_t cp;

	if (fit != NULL)
		*fit = 0;
	while (i < n) {
		if ((len = utf8_decode(u + i, n - i, &cp)) == 0) {
			cp = 0xfffd;	/* not produced by escape() */
			len = 1;
		}
		w += cp_width(cp);
		i += len;
		if (fit != NULL && w <= limit)
			*fit = i;
	}
	return w;
}

/* Code points that move the cursor or reorder text: shown as \uXXXX. */
static bool
is_invisible_control(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) ||		/* C1 controls */
	    cp == 0x2028 || cp == 0x2029 ||		/* line breaks */
	    (cp >= 0x202a && cp <= 0x202e) ||		/* bidi embeddings */
	    (cp >= 0x2066 && cp <= 0x2069);		/* bidi isolates */
}

/*
 * Appends s escaped for one line of a terminal or of TSV: \t \n \r, other
 * C0 controls, DEL and stray bytes as \xHH, C1 and bidi controls as
 * \uXXXX. TSV also doubles backslashes so that the escapes read back
 * unambiguously; a table shows them as they are.
 */
static void
escape(struct ctl_out *out, struct buf *b, const char *s, size_t n, bool tsv)
{
	const unsigned char *u = (const unsigned char *)s;
	char tmp[16];
	size_t i = 0, run = 0, len;
	uint32_t cp;

	while (i < n) {
		const char *rep = NULL;

		if (u[i] >= 0x20 && u[i] < 0x7f && (u[i] != '\\' || !tsv)) {
			i++;
			continue;
		}
		append(out, b, s + run, i - run);
		len = 1;
		if (u[i] == '\\')
			rep = "\\\\";
		else if (u[i] == '\t')
			rep = "\\t";
		else if (u[i] == '\n')
			rep = "\\n";
		else if (u[i] == '\r')
			rep = "\\r";
		else if (u[i] < 0x80 ||
		    (len = utf8_decode(u + i, n - i, &cp)) == 0) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", u[i]);
			rep = tmp;
			len = 1;
		} else if (is_invisible_control(cp)) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", (unsigned)cp);
			rep = tmp;
		}
		if (rep != NULL)
			appendc(out, b, rep);
		else
			append(out, b, s + i, len);
		i += len;
		run = i;
	}
	append(out, b, s + run, n - run);
}

/* ---- values -------------------------------------------------------------- */


/* Member key[0..n) of obj, NULL if absent or obj is not an object. */
static const struct json *
member(const struct json *obj, const char *key, size_t n)
{
	size_t klen;

	if (json_type(obj) != JSON_OBJECT)
		return NULL;
	for (size_t k = 0; k < json_len(obj); k++) {
		const char *s = json_key_at(obj, k, &klen);

		if (klen == n && memcmp(s, key, n) == 0)
			return json_value_at(obj, k);
	}
	return NULL;
}

/* The value at a dotted path (or a whole key when literal), or NULL. */
static const struct json *
lookup(const struct json *obj, const char *path, bool literal)
{
	const struct json *v = obj;

	if (literal)
		return member(obj, path, strlen(path));
	for (;;) {
		size_t n = strcspn(path, ".");

		if ((v = member(v, path, n)) == NULL || path[n] == '\0')
			return v;
		path += n + 1;
	}
}

/* compat: the management UI's rates, fmt_rate_num: 0.25, 2.5, 25. */
static int
format_float(char *s, size_t len, double v)
{
	double a = v < 0 ? -v : v;
	int dec = a < 1 ? 2 : a < 10 ? 1 : 0;

	if (a < 0.005)
		v = 0;	/* no "-0.00" */
	return snprintf(s, len, "%.*f", dec, v);
}

/* Renders v into b as a table cell or a TSV field (see the header). */
static void
render(struct ctl_out *out, struct buf *b, const struct json *v, bool tsv)
{
	struct json_writer w;
	char num[400];
	const char *s;
	size_t n;
	int64_t i;

	buf_consume(b, buf_used(b));
	if (v == NULL)
		return;
	switch (json_type(v)) {
	case JSON_NULL:
		break;
	case JSON_BOOL:
		appendc(out, b, json_bool(v) ? "true" : "false");
		break;
	case JSON_NUMBER:
		if (json_int(v, &i))
			snprintf(num, sizeof(num), "%lld", (long long)i);
		else if (json_is_integral(v))
			snprintf(num, sizeof(num), "%.0f", json_num(v));
		else if (!tsv)
			format_float(num, sizeof(num), json_num(v));
		else {
			buf_consume(&out->tmp, buf_used(&out->tmp));
			json_writer_init(&w, &out->tmp);
			json_w_double(&w, json_num(v));
			append(out, b, buf_head(&out->tmp),
			    buf_used(&out->tmp));
			break;
		}
		appendc(out, b, num);
		break;
	case JSON_STRING:
		s = json_str(v, &n);
		escape(out, b, s, n, tsv);
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		buf_consume(&out->tmp, buf_used(&out->tmp));
		json_writer_init(&w, &out->tmp);
		json_w_value(&w, v);
		if (json_writer_done(&w) != 0)
			out->err = true;
		escape(out, b, (const char *)buf_head(&out->tmp),
		    buf_used(&out->tmp), tsv);
		break;
	}
}

/* ---- columns ------------------------------------------------------------- */

const char *
ctl_out_parse_columns(const char *spec, struct ctl_column **cols,
    size_t *ncols)
{
	struct ctl_column *c;
	const char *p;
	char *text;
	size_t n = 1, len, k = 0;

	*cols = NULL;
	*ncols = 0;
	if (spec == NULL)
		return "empty --columns";
	for (p = spec; *p != '\0'; p++) {
		if (*p == ',')
			n++;
		else if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "control character in --columns";
	}
	if (n > COLUMNS_MAX)
		return "too many columns in --columns (at most 64)";
	len = strlen(spec);
	c = xmalloc(n * sizeof(*c) + len + 1);
	text = (char *)(c + n);
	memcpy(text, spec, len + 1);
	for (char *s = text;; ) {
		size_t l = strcspn(s, ","), segs = 1;
		bool last = s[l] == '\0';
		char *b = s, *e = s + l;

		while (b < e && *b == ' ')
			b++;
		while (e > b && e[-1] == ' ')
			e--;
		*e = '\0';
		if (*b == '\0') {
			free(c);
			return "empty column name in --columns";
		}
		if (*b == '.' || e[-1] == '.' || strstr(b, "..") != NULL) {
			free(c);
			return "empty path segment in --columns";
		}
		for (char *q = b; *q != '\0'; q++)
			if (*q == '.')
				segs++;
		if (segs > SEGMENTS_MAX) {
			free(c);
			return "column path too deep in --columns (at most 8 "
			    "segments)";
		}
		for (size_t j = 0; j < k; j++)
			if (strcmp(c[j].path, b) == 0) {
				free(c);
				return "duplicate column in --columns";
			}
		c[k].title = c[k].path = b;
		k++;
		if (last)
			break;
		s += l + 1;
	}
	*cols = c;
	*ncols = k;
	return NULL;
}

/* The keys of obj as columns, copied: one allocation. */
static struct ctl_column *
derive_columns(const struct json *obj, size_t *ncols)
{
	struct ctl_column *c;
	size_t n = json_len(obj), total = 0, klen;
	char *text;

	if (json_type(obj) != JSON_OBJECT)
		n = 0;
	for (size_t k = 0; k < n; k++) {
		json_key_at(obj, k, &klen);
		total += klen + 1;
	}
	c = xmalloc(n * sizeof(*c) + total + 1);
	text = (char *)(c + n);
	for (size_t k = 0; k < n; k++) {
		const char *s = json_key_at(obj, k, &klen);

		memcpy(text, s, klen);
		text[klen] = '\0';
		c[k].title = c[k].path = text;
		text += klen + 1;
	}
	*ncols = n;
	return c;
}

/* Whether the rest of path, from segment d on, exists under v; compat:
 * as the API's columns=, a path going on past a non-object keeps it. */
static bool
path_present(const struct json *v, const char *path)
{
	while (*path != '\0' && json_type(v) == JSON_OBJECT) {
		size_t n = strcspn(path, ".");

		if ((v = member(v, path, n)) == NULL)
			return false;
		path += n + (path[n] == '.');
	}
	return true;
}

/* Segment d of a dotted path, or NULL if it has fewer. */
static const char *
segment(const char *path, size_t d, size_t *len)
{
	for (; d > 0; d--) {
		if ((path = strchr(path, '.')) == NULL)
			return NULL;
		path++;
	}
	*len = strcspn(path, ".");
	return path;
}

/*
 * Writes the members of obj that the columns select, in obj's order,
 * nested as the API's columns= does: a.b and a.c share one "a" object.
 */
static void
project(struct json_writer *w, const struct json *obj,
    const struct ctl_column *cols, size_t ncols, size_t d)
{
	json_w_begin_object(w);
	for (size_t k = 0; k < json_len(obj); k++) {
		const struct json *v = json_value_at(obj, k);
		bool want = false, whole = json_type(v) != JSON_OBJECT;
		size_t klen, slen;
		const char *key = json_key_at(obj, k, &klen), *seg;

		for (size_t c = 0; c < ncols; c++) {
			seg = segment(cols[c].path, d, &slen);
			if (seg == NULL || slen != klen ||
			    memcmp(seg, key, klen) != 0)
				continue;
			if (seg[slen] == '\0')
				want = whole = true;
			else if (path_present(v, seg + slen + 1))
				want = true;
		}
		if (!want)
			continue;
		json_w_key(w, key, klen);
		if (whole)
			json_w_value(w, v);
		else
			project(w, v, cols, ncols, d + 1);
	}
	json_w_end_object(w);
}

/* Writes v as one JSON value on its own; "projected" selects columns. */
static void
put_json(struct ctl_out *out, const struct json *v)
{
	struct json_writer w;

	buf_consume(&out->cell, buf_used(&out->cell));
	json_writer_init(&w, &out->cell);
	if (out->project && json_type(v) == JSON_OBJECT)
		project(&w, v, out->cols, out->ncols, 0);
	else
		json_w_value(&w, v);
	if (json_writer_done(&w) != 0)
		out->err = true;
	put(out, buf_head(&out->cell), buf_used(&out->cell));
}

/* ---- setup --------------------------------------------------------------- */

static const char *
setup(struct ctl_out *out, FILE *f, const struct ctl_column *cols,
    size_t ncols, const struct ctl_out_opts *o)
{
	const char *err;

	memset(out, 0, sizeof(*out));
	out->f = f;
	out->o = *o;
	if (out->o.width < 0)
		out->o.width = 0;
	buf_init(&out->cell, CELL_MAX);
	buf_init(&out->tmp, CELL_MAX);
	if (o->columns != NULL) {
		err = ctl_out_parse_columns(o->columns, &out->owned,
		    &out->ncols);
		if (err != NULL)
			return err;
		out->cols = out->owned;
		out->project = true;
	} else {
		out->cols = cols;
		out->ncols = ncols;
	}
	return NULL;
}

static void
teardown(struct ctl_out *out)
{
	buf_free(&out->cell);
	buf_free(&out->tmp);
	free(out->owned);
	free(out->width);
	free(out->numeric);
	free(out->floor);
}

/* Escapes a title into out->cell; its display width. */
static size_t
title_cell(struct ctl_out *out, const char *t, bool tsv)
{
	buf_consume(&out->cell, buf_used(&out->cell));
	escape(out, &out->cell, t, strlen(t), tsv);
	return text_width((const char *)buf_head(&out->cell),
	    buf_used(&out->cell), 0, NULL);
}

/* ---- table --------------------------------------------------------------- */

/* Table width with text columns capped at cap (never below TEXT_MIN). */
static size_t
table_width(const struct ctl_out *out, const size_t *natural, size_t cap)
{
	size_t total = out->ncols > 0 ? (out->ncols - 1) * SEP_WIDTH : 0;

	for (size_t c = 0; c < out->ncols; c++)
		total += out->numeric[c] || natural[c] <= cap ? natural[c] :
		    cap;
	return total;
}

/*
 * Fits the table into o.width: the widest text columns shrink first, to
 * one common cap, and never below TEXT_MIN; then the titles of number
 * columns, down to their widest value (numbers are never cut). A table
 * that still does not fit overflows (the terminal wraps it).
 */
static void
fit_widths(struct ctl_out *out)
{
	size_t limit = (size_t)out->o.width, lo = TEXT_MIN, hi = 0, slack;
	size_t *nat = out->width, total;

	if (limit == 0 || table_width(out, nat, SIZE_MAX) <= limit)
		return;
	for (size_t c = 0; c < out->ncols; c++)
		if (!out->numeric[c] && nat[c] > hi)
			hi = nat[c];
	if (hi < lo)
		hi = lo;
	if (table_width(out, nat, lo) > limit)
		hi = lo;
	while (lo < hi) {	/* the largest cap that fits */
		size_t mid = lo + (hi - lo + 1) / 2;

		if (table_width(out, nat, mid) <= limit)
			lo = mid;
		else
			hi = mid - 1;
	}
	total = table_width(out, nat, lo);
	slack = limit > total ? limit - total : 0;
	for (size_t c = 0; c < out->ncols; c++) {
		if (out->numeric[c] || nat[c] <= lo)
			continue;
		nat[c] = lo;
		if (slack > 0) {	/* leftover columns, leftmost first */
			nat[c]++;
			slack--;
		}
	}
	for (size_t c = 0; c < out->ncols && total > limit; c++) {
		size_t fl = out->floor[c] > TEXT_MIN ? out->floor[c] : TEXT_MIN;
		size_t cut;

		if (!out->numeric[c] || nat[c] <= fl)
			continue;
		cut = nat[c] - fl < total - limit ? nat[c] - fl : total - limit;
		nat[c] -= cut;
		total -= cut;
	}
}

/*
 * Prints b (rendered) in a column of width w: cut with an ellipsis when
 * cut is allowed and it is wider, padded unless it is the last column.
 */
static void
put_cell(struct ctl_out *out, const struct buf *b, size_t w, bool right,
    bool cut, bool last)
{
	const char *s = (const char *)buf_head(b);
	size_t n = buf_used(b), fit, tw;

	tw = text_width(s, n, w > 0 ? w - 1 : 0, &fit);
	if (tw > w && cut) {
		n = fit;
		tw = text_width(s, n, 0, NULL) + 1;
	} else
		cut = false;
	if (right && tw < w)
		pad(out, w - tw);
	put(out, s, n);
	if (cut)
		puts_(out, ELLIPSIS);
	if (!right && !last && tw < w)
		pad(out, w - tw);
}

static bool
cut_allowed(const struct ctl_out *out, size_t c)
{
	return out->o.width > 0 && !out->numeric[c];
}

static void
table_header(struct ctl_out *out)
{
	if (out->o.color)
		puts_(out, BOLD);
	for (size_t c = 0; c < out->ncols; c++) {
		title_cell(out, out->cols[c].title, false);
		if (c > 0)
			pad(out, SEP_WIDTH);
		/* a number column's title may be cut, its numbers never */
		put_cell(out, &out->cell, out->width[c], out->numeric[c],
		    out->o.width > 0, c + 1 == out->ncols);
	}
	if (out->o.color)
		write_all(out, RESET, strlen(RESET));	/* before the blanks */
	newline(out);
}

/* Sizes the columns from the titles and the first page, and prints the
 * header. */
static void
table_start(struct ctl_out *out, const struct json *page)
{
	size_t n = page != NULL ? json_len(page) : 0;

	out->width = xcalloc(out->ncols ? out->ncols : 1, sizeof(size_t));
	out->numeric = xcalloc(out->ncols ? out->ncols : 1, sizeof(bool));
	out->floor = xcalloc(out->ncols ? out->ncols : 1, sizeof(size_t));
	for (size_t c = 0; c < out->ncols; c++) {
		bool any = false, text = false;
		size_t w;

		out->width[c] = title_cell(out, out->cols[c].title, false);
		for (size_t r = 0; r < n; r++) {
			const struct json *v = lookup(json_at(page, r),
			    out->cols[c].path, out->literal);

			render(out, &out->cell, v, false);
			w = text_width((const char *)buf_head(&out->cell),
			    buf_used(&out->cell), 0, NULL);
			if (w > out->width[c])
				out->width[c] = w;
			if (w > out->floor[c])
				out->floor[c] = w;
			if (v == NULL || json_type(v) == JSON_NULL)
				continue;
			if (json_type(v) == JSON_NUMBER)
				any = true;
			else
				text = true;
		}
		out->numeric[c] = any && !text;
	}
	fit_widths(out);
	table_header(out);
}

static void
table_row(struct ctl_out *out, const struct json *row)
{
	for (size_t c = 0; c < out->ncols; c++) {
		const struct json *v = lookup(row, out->cols[c].path,
		    out->literal);

		render(out, &out->cell, v, false);
		if (c > 0)
			pad(out, SEP_WIDTH);
		put_cell(out, &out->cell, out->width[c], out->numeric[c],
		    cut_allowed(out, c), c + 1 == out->ncols);
	}
	newline(out);
}

/* ---- TSV ----------------------------------------------------------------- */

static void
tsv_header(struct ctl_out *out)
{
	if (out->o.no_header)
		return;
	for (size_t c = 0; c < out->ncols; c++) {
		title_cell(out, out->cols[c].title, true);
		if (c > 0)
			puts_(out, "\t");
		put(out, buf_head(&out->cell), buf_used(&out->cell));
	}
	newline(out);
}

static void
tsv_row(struct ctl_out *out, const struct json *row)
{
	for (size_t c = 0; c < out->ncols; c++) {
		render(out, &out->cell, lookup(row, out->cols[c].path,
		    out->literal), true);
		if (c > 0)
			puts_(out, "\t");
		put(out, buf_head(&out->cell), buf_used(&out->cell));
	}
	newline(out);
}

/* ---- listings ------------------------------------------------------------ */

struct ctl_out *
ctl_out_begin(FILE *f, const struct ctl_column *cols, size_t ncols,
    const struct ctl_out_opts *o)
{
	struct ctl_out *out = xmalloc(sizeof(*out));

	if (setup(out, f, cols, ncols, o) != NULL) {
		teardown(out);
		free(out);
		return NULL;
	}
	if (o->fmt == CTL_FMT_JSON)
		puts_(out, "[");
	return out;
}

/* The header, once: columns from the first row when none were given. */
static void
start(struct ctl_out *out, const struct json *page)
{
	out->started = true;
	if (out->ncols == 0 && page != NULL && json_len(page) > 0) {
		out->owned = derive_columns(json_at(page, 0), &out->ncols);
		out->cols = out->owned;
		out->literal = true;
	}
	if (out->ncols == 0)
		return;
	if (out->o.fmt == CTL_FMT_TABLE)
		table_start(out, page);
	else if (out->o.fmt == CTL_FMT_TSV)
		tsv_header(out);
}

int
ctl_out_rows(struct ctl_out *out, const struct json *array_of_objects)
{
	const struct json *page = array_of_objects;

	if (json_type(page) != JSON_ARRAY)
		return -1;
	/* Without columns, wait for a row to take them from. */
	if (!out->started && out->o.fmt != CTL_FMT_JSON &&
	    (out->ncols > 0 || json_len(page) > 0))
		start(out, page);
	for (size_t r = 0; r < json_len(page) && !out->err; r++) {
		const struct json *row = json_at(page, r);

		switch (out->o.fmt) {
		case CTL_FMT_JSON:
			puts_(out, out->rows > 0 ? ",\n" : "\n");
			put_json(out, row);
			break;
		case CTL_FMT_TSV:
			tsv_row(out, row);
			break;
		case CTL_FMT_TABLE:
			if (out->ncols > 0)
				table_row(out, row);
			break;
		}
		out->rows++;
	}
	return out->err ? -1 : 0;
}

int
ctl_out_end(struct ctl_out *out)
{
	int rc;

	if (out->o.fmt == CTL_FMT_JSON)
		puts_(out, out->rows > 0 ? "\n]\n" : "]\n");
	else if (!out->started)
		start(out, NULL);
	if (fflush(out->f) != 0 || ferror(out->f))
		out->err = true;
	rc = out->err ? -1 : 0;
	teardown(out);
	free(out);
	return rc;
}

/* ---- one object ---------------------------------------------------------- */

/* "title  value" lines; values are cut to what the width leaves. */
static void
object_table(struct ctl_out *out, const struct json *obj)
{
	size_t keyw = 0, valw = 0, w;

	for (size_t c = 0; c < out->ncols; c++)
		if ((w = title_cell(out, out->cols[c].title, false)) > keyw)
			keyw = w;
	if (out->o.width > 0)
		valw = (size_t)out->o.width > keyw + SEP_WIDTH + TEXT_MIN ?
		    (size_t)out->o.width - keyw - SEP_WIDTH : TEXT_MIN;
	for (size_t c = 0; c < out->ncols; c++) {
		w = title_cell(out, out->cols[c].title, false);
		if (out->o.color)
			puts_(out, BOLD);
		put(out, buf_head(&out->cell), buf_used(&out->cell));
		if (out->o.color)
			puts_(out, RESET);
		render(out, &out->cell, lookup(obj, out->cols[c].path,
		    out->literal), false);
		if (buf_used(&out->cell) > 0) {	/* no trailing blanks */
			pad(out, keyw - w + SEP_WIDTH);
			put_cell(out, &out->cell, valw, false, valw > 0, true);
		}
		newline(out);
	}
}

int
ctl_out_object(FILE *f, const struct json *obj, const struct ctl_column *cols,
    size_t ncols, const struct ctl_out_opts *o)
{
	struct ctl_out out;
	int rc;

	if (setup(&out, f, cols, ncols, o) != NULL) {
		teardown(&out);
		return -1;
	}
	if (out.ncols == 0) {
		out.owned = derive_columns(obj, &out.ncols);
		out.cols = out.owned;
		out.literal = true;
	}
	switch (o->fmt) {
	case CTL_FMT_JSON:
		put_json(&out, obj);
		newline(&out);
		break;
	case CTL_FMT_TSV:
		for (size_t c = 0; c < out.ncols; c++) {
			title_cell(&out, out.cols[c].title, true);
			put(&out, buf_head(&out.cell), buf_used(&out.cell));
			puts_(&out, "\t");
			render(&out, &out.cell, lookup(obj, out.cols[c].path,
			    out.literal), true);
			put(&out, buf_head(&out.cell), buf_used(&out.cell));
			newline(&out);
		}
		break;
	case CTL_FMT_TABLE:
		object_table(&out, obj);
		break;
	}
	if (fflush(f) != 0 || ferror(f))
		out.err = true;
	rc = out.err ? -1 : 0;
	teardown(&out);
	return rc;
}

/* ---- terminal ------------------------------------------------------------ */

int
ctl_out_terminal_width(int fd)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;

	if (env != NULL && *env != '\0') {
		char *end;
		long v = strtol(env, &end, 10);

		if (*end == '\0' && v > 0 && v <= 100000)
			return (int)v;
	}
	if (!isatty(fd))
		return 0;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;	/* a terminal that does not say: the classic width */
}

bool
ctl_out_want_color(int fd)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(fd) && (nc == NULL || *nc == '\0');
}
