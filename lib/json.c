#include "autoconf.h"

#include "lib/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "protocol/utf8.h"

struct json_member {
	char		*key;		/* NUL-terminated, keylen bytes */
	size_t		 keylen;
	size_t		 pos;		/* offset of the key, for messages */
	struct json	*val;
};

struct json {
	enum json_type	type;
	union {
		bool	b;
		struct {
			double	 d;
			int64_t	 i;
			bool	 integral;	/* no fraction or exponent */
			bool	 isint;		/* integral and i is exact */
		} num;
		struct {
			char	*s;	/* NUL-terminated, len bytes */
			size_t	 len;
		} str;
		struct {
			struct json	**v;
			size_t		  n;
		} arr;
		struct {
			struct json_member	*m;
			size_t			 n;
		} obj;
	} u;
};

const struct json_limits json_default_limits = {
	.max_input = 16 * 1024 * 1024,
	.max_depth = 64,
	.max_string = 1024 * 1024,
	.max_nodes = 1000 * 1000,
};

struct parser {
	const unsigned char		*p;
	size_t				 len;
	size_t				 pos;
	const struct json_limits	*lim;
	size_t				 nodes;
	char				*err;
	size_t				 errlen;
};

static struct json	*parse_value(struct parser *, size_t);

/* Formats "line L col C: what" for the byte at offset at. */
static void __attribute__((format(printf, 3, 4)))
fail(struct parser *ps, size_t at, const char *fmt, ...)
{
	va_list	ap;
	size_t	line = 1, col = 1, i, n;

	if (ps->err == NULL || ps->errlen == 0)
		return;
	for (i = 0; i < at && i < ps->len; i++) {
		if (ps->p[i] == '\n') {
			line++;
			col = 1;
		} else
			col++;
	}
	n = (size_t)snprintf(ps->err, ps->errlen, "line %zu col %zu: ", line,
	    col);
	if (n >= ps->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
	va_end(ap);
}

/* Names the byte at pos for an "unexpected" message. */
static void
fail_unexpected(struct parser *ps)
{
	unsigned char	c;

	if (ps->pos >= ps->len) {
		fail(ps, ps->pos, "unexpected end of input");
		return;
	}
	c = ps->p[ps->pos];
	if (c > 0x20 && c < 0x7f)
		fail(ps, ps->pos, "unexpected '%c'", c);
	else
		fail(ps, ps->pos, "unexpected byte 0x%02x", c);
}

static size_t
utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static void
skip_ws(struct parser *ps)
{
	/* spec: RFC 8259 section 2 — only these four are whitespace. */
	while (ps->pos < ps->len) {
		unsigned char c = ps->p[ps->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		ps->pos++;
	}
}

static struct json *
new_node(struct parser *ps, enum json_type t)
{
	struct json	*j;

	if (ps->nodes >= ps->lim->max_nodes) {
		fail(ps, ps->pos, "more than %zu values", ps->lim->max_nodes);
		return NULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		fail(ps, ps->pos, "out of memory");
		return NULL;
	}
	ps->nodes++;
	j->type = t;
	return j;
}

static bool
literal(struct parser *ps, const char *word)
{
	size_t	n = strlen(word);

	if (ps->len - ps->pos < n || memcmp(ps->p + ps->pos, word, n) != 0)
		return false;
	ps->pos += n;
	return true;
}

static int
hex4(const unsigned char *p, uint32_t *out)
{
	uint32_t	v = 0;
	int		i;

	for (i = 0; i < 4; i++) {
		unsigned char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/*
 * Parses the string whose opening quote is at pos into a fresh
 * NUL-terminated buffer. The decoded form is never longer than the raw
 * span, so one allocation of the span's size is enough.
 */
static int
parse_string(struct parser *ps, char **out, size_t *outlen)
{
	const unsigned char	*p = ps->p;
	size_t			 start = ps->pos + 1, end, i, n = 0, k;
	uint32_t		 cp, lo;
	char			*s;

	for (end = start; end < ps->len && p[end] != '"'; end++)
		if (p[end] == '\\')
			end++;
	if (end >= ps->len) {
		fail(ps, ps->pos, "unterminated string");
		return -1;
	}
	if ((s = malloc(end - start + 1)) == NULL) {
		fail(ps, ps->pos, "out of memory");
		return -1;
	}
	for (i = start; i < end;) {
		if (n >= ps->lim->max_string) {
			fail(ps, ps->pos, "string longer than %zu bytes",
			    ps->lim->max_string);
			goto bad;
		}
		if (p[i] < 0x20) {
			fail(ps, i, "unescaped control character 0x%02x in "
			    "string", p[i]);
			goto bad;
		}
		if (p[i] >= 0x80) {
			if ((k = proto_utf8_len(p + i, end - i)) == 0) {
				fail(ps, i, "invalid UTF-8 in string");
				goto bad;
			}
			memcpy(s + n, p + i, k);
			n += k;
			i += k;
			continue;
		}
		if (p[i] != '\\') {
			s[n++] = (char)p[i++];
			continue;
		}
		/* The scan above guarantees a byte after the backslash. */
		switch (p[i + 1]) {
		case '"':
		case '\\':
		case '/':
			s[n++] = (char)p[i + 1];
			break;
		case 'b':
			s[n++] = '\b';
			break;
		case 'f':
			s[n++] = '\f';
			break;
		case 'n':
			s[n++] = '\n';
			break;
		case 'r':
			s[n++] = '\r';
			break;
		case 't':
			s[n++] = '\t';
			break;
		case 'u':
			if (end - i < 6 || hex4(p + i + 2, &cp) == -1) {
				fail(ps, i, "invalid \\u escape");
				goto bad;
			}
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				fail(ps, i, "lone low surrogate \\u%04X", cp);
				goto bad;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (end - i < 12 || p[i + 6] != '\\' ||
				    p[i + 7] != 'u' ||
				    hex4(p + i + 8, &lo) == -1 ||
				    lo < 0xdc00 || lo > 0xdfff) {
					fail(ps, i, "lone high surrogate "
					    "\\u%04X", cp);
					goto bad;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				i += 6;
			}
			n += utf8_put(s + n, cp);
			i += 6;
			continue;
		default:
			fail(ps, i, "invalid escape");
			goto bad;
		}
		i += 2;
	}
	if (n > ps->lim->max_string) {
		fail(ps, ps->pos, "string longer than %zu bytes",
		    ps->lim->max_string);
		goto bad;
	}
	s[n] = '\0';
	*out = s;
	*outlen = n;
	ps->pos = end + 1;
	return 0;
bad:
	free(s);
	return -1;
}

static struct json *
parse_number(struct parser *ps)
{
	const unsigned char	*p = ps->p;
	size_t			 start = ps->pos, i = ps->pos, n;
	uint64_t		 mag = 0;
	bool			 neg = false, isint = true, fits = true;
	char			 small[64], *copy;
	double			 d;
	struct json		*j;

	if (i < ps->len && p[i] == '-') {
		neg = true;
		i++;
	}
	if (i >= ps->len || p[i] < '0' || p[i] > '9') {
		fail(ps, i, "invalid number");
		return NULL;
	}
	if (p[i] == '0') {
		i++;
		if (i < ps->len && p[i] >= '0' && p[i] <= '9') {
			fail(ps, start, "leading zero in number");
			return NULL;
		}
	} else {
		for (; i < ps->len && p[i] >= '0' && p[i] <= '9'; i++) {
			unsigned dig = (unsigned)(p[i] - '0');

			if (mag > (UINT64_MAX - dig) / 10)
				fits = false;
			else
				mag = mag * 10 + dig;
		}
	}
	if (i < ps->len && p[i] == '.') {
		isint = false;
		i++;
		if (i >= ps->len || p[i] < '0' || p[i] > '9') {
			fail(ps, i, "expected a digit after '.'");
			return NULL;
		}
		while (i < ps->len && p[i] >= '0' && p[i] <= '9')
			i++;
	}
	if (i < ps->len && (p[i] == 'e' || p[i] == 'E')) {
		isint = false;
		i++;
		if (i < ps->len && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i >= ps->len || p[i] < '0' || p[i] > '9') {
			fail(ps, i, "expected a digit in exponent");
			return NULL;
		}
		while (i < ps->len && p[i] >= '0' && p[i] <= '9')
			i++;
	}

	/* strtod needs a terminated copy; the input is not terminated. */
	n = i - start;
	copy = n < sizeof(small) ? small : malloc(n + 1);
	if (copy == NULL) {
		fail(ps, start, "out of memory");
		return NULL;
	}
	memcpy(copy, p + start, n);
	copy[n] = '\0';
	/* XXX: strtod follows LC_NUMERIC; warren never calls setlocale(). */
	errno = 0;
	d = strtod(copy, NULL);
	if (copy != small)
		free(copy);
	if (isinf(d)) {
		fail(ps, start, "number out of range");
		return NULL;
	}
	if ((j = new_node(ps, JSON_NUMBER)) == NULL)
		return NULL;
	j->u.num.d = d;
	j->u.num.integral = isint;
	if (isint && fits) {
		if (!neg && mag <= INT64_MAX) {
			j->u.num.i = (int64_t)mag;
			j->u.num.isint = true;
		} else if (neg && mag <= (uint64_t)INT64_MAX + 1) {
			j->u.num.i = mag == (uint64_t)INT64_MAX + 1 ?
			    INT64_MIN : -(int64_t)mag;
			j->u.num.isint = true;
		}
	}
	ps->pos = i;
	return j;
}

static int
member_cmp(const void *a, const void *b)
{
	const struct json_member *x = *(const struct json_member *const *)a;
	const struct json_member *y = *(const struct json_member *const *)b;
	size_t			  n = x->keylen < y->keylen ? x->keylen :
				      y->keylen;
	int			  c;

	if ((c = memcmp(x->key, y->key, n)) != 0)
		return c;
	if (x->keylen != y->keylen)
		return x->keylen < y->keylen ? -1 : 1;
	return 0;
}

/*
 * RFC 8259 only says keys SHOULD be unique; reject duplicates, because two
 * readers of one file could otherwise disagree on which value counts.
 * Sorting keeps a 100000-key object from costing n^2 compares.
 */
static int
check_duplicates(struct parser *ps, const struct json *j)
{
	const struct json_member	**v;
	size_t				  n = j->u.obj.n, i, at;

	if (n < 2)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL) {
		fail(ps, ps->pos, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		v[i] = &j->u.obj.m[i];
	qsort(v, n, sizeof(*v), member_cmp);
	for (i = 1; i < n; i++) {
		if (member_cmp(&v[i - 1], &v[i]) == 0) {
			at = v[i]->pos > v[i - 1]->pos ? v[i]->pos :
			    v[i - 1]->pos;
			fail(ps, at, "duplicate key \"%.*s\"",
			    (int)(v[i]->keylen > 64 ? 64 : v[i]->keylen),
			    v[i]->key);
			free(v);
			return -1;
		}
	}
	free(v);
	return 0;
}

static struct json *
parse_array(struct parser *ps, size_t depth)
{
	struct json	*j, *el, **nv;
	size_t		 cap = 0;

	if ((j = new_node(ps, JSON_ARRAY)) == NULL)
		return NULL;
	ps->pos++;	/* '[' */
	skip_ws(ps);
	if (ps->pos < ps->len && ps->p[ps->pos] == ']') {
		ps->pos++;
		return j;
	}
	for (;;) {
		if ((el = parse_value(ps, depth)) == NULL)
			goto bad;
		if (j->u.arr.n == cap) {
			cap = cap ? cap * 2 : 4;
			if ((nv = reallocarray(j->u.arr.v, cap,
			    sizeof(*nv))) == NULL) {
				json_free(el);
				fail(ps, ps->pos, "out of memory");
				goto bad;
			}
			j->u.arr.v = nv;
		}
		j->u.arr.v[j->u.arr.n++] = el;
		skip_ws(ps);
		if (ps->pos < ps->len && ps->p[ps->pos] == ',') {
			ps->pos++;
			continue;
		}
		if (ps->pos < ps->len && ps->p[ps->pos] == ']') {
			ps->pos++;
			return j;
		}
		if (ps->pos >= ps->len)
			fail_unexpected(ps);
		else
			fail(ps, ps->pos, "expected ',' or ']'");
		goto bad;
	}
bad:
	json_free(j);
	return NULL;
}

static struct json *
parse_object(struct parser *ps, size_t depth)
{
	struct json		*j;
	struct json_member	*m, *nm;
	size_t			 cap = 0;

	if ((j = new_node(ps, JSON_OBJECT)) == NULL)
		return NULL;
	ps->pos++;	/* '{' */
	skip_ws(ps);
	if (ps->pos < ps->len && ps->p[ps->pos] == '}') {
		ps->pos++;
		return j;
	}
	for (;;) {
		skip_ws(ps);
		if (ps->pos >= ps->len || ps->p[ps->pos] != '"') {
			if (ps->pos >= ps->len)
				fail_unexpected(ps);
			else
				fail(ps, ps->pos, "expected a string key");
			goto bad;
		}
		if (j->u.obj.n == cap) {
			cap = cap ? cap * 2 : 4;
			if ((nm = reallocarray(j->u.obj.m, cap,
			    sizeof(*nm))) == NULL) {
				fail(ps, ps->pos, "out of memory");
				goto bad;
			}
			j->u.obj.m = nm;
		}
		m = &j->u.obj.m[j->u.obj.n];
		m->pos = ps->pos;
		m->val = NULL;
		if (parse_string(ps, &m->key, &m->keylen) == -1)
			goto bad;
		j->u.obj.n++;	/* owns the key now; json_free copes */
		skip_ws(ps);
		if (ps->pos >= ps->len || ps->p[ps->pos] != ':') {
			if (ps->pos >= ps->len)
				fail_unexpected(ps);
			else
				fail(ps, ps->pos, "expected ':'");
			goto bad;
		}
		ps->pos++;
		if ((m->val = parse_value(ps, depth)) == NULL)
			goto bad;
		skip_ws(ps);
		if (ps->pos < ps->len && ps->p[ps->pos] == ',') {
			ps->pos++;
			continue;
		}
		if (ps->pos < ps->len && ps->p[ps->pos] == '}') {
			ps->pos++;
			if (check_duplicates(ps, j) == -1)
				goto bad;
			return j;
		}
		if (ps->pos >= ps->len)
			fail_unexpected(ps);
		else
			fail(ps, ps->pos, "expected ',' or '}'");
		goto bad;
	}
bad:
	json_free(j);
	return NULL;
}

/* depth: containers already open around this value. */
static struct json *
parse_value(struct parser *ps, size_t depth)
{
	struct json	*j;
	char		*s;
	size_t		 len;
	bool		 b;

	skip_ws(ps);
	if (ps->pos >= ps->len) {
		fail_unexpected(ps);
		return NULL;
	}
	switch (ps->p[ps->pos]) {
	case '{':
	case '[':
		/* Checked before recursing: a '[' bomb stops at the limit. */
		if (depth >= ps->lim->max_depth) {
			fail(ps, ps->pos, "nested deeper than %zu",
			    ps->lim->max_depth);
			return NULL;
		}
		if (ps->p[ps->pos] == '{')
			return parse_object(ps, depth + 1);
		return parse_array(ps, depth + 1);
	case '"':
		if (parse_string(ps, &s, &len) == -1)
			return NULL;
		if ((j = new_node(ps, JSON_STRING)) == NULL) {
			free(s);
			return NULL;
		}
		j->u.str.s = s;
		j->u.str.len = len;
		return j;
	case 't':
	case 'f':
		b = ps->p[ps->pos] == 't';
		if (!literal(ps, b ? "true" : "false"))
			break;
		if ((j = new_node(ps, JSON_BOOL)) == NULL)
			return NULL;
		j->u.b = b;
		return j;
	case 'n':
		if (!literal(ps, "null"))
			break;
		return new_node(ps, JSON_NULL);
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return parse_number(ps);
	default:
		break;
	}
	fail_unexpected(ps);
	return NULL;
}

struct json *
json_parse_limits(const char *text, size_t len, const struct json_limits *lim,
    char *err, size_t errlen)
{
	struct parser	 ps = {
		.p = (const unsigned char *)text,
		.len = len,
		.lim = lim,
		.err = err,
		.errlen = errlen,
	};
	struct json	*j;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > lim->max_input) {
		ps.len = 0;
		fail(&ps, 0, "input larger than %zu bytes", lim->max_input);
		return NULL;
	}
	if ((j = parse_value(&ps, 0)) == NULL)
		return NULL;
	skip_ws(&ps);
	if (ps.pos != ps.len) {
		fail(&ps, ps.pos, "trailing data after the value");
		json_free(j);
		return NULL;
	}
	return j;
}

struct json *
json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	return json_parse_limits(text, len, &json_default_limits, err,
	    errlen);
}

void
json_free(struct json *j)
{
	size_t	i;

	if (j == NULL)
		return;
	switch (j->type) {
	case JSON_STRING:
		free(j->u.str.s);
		break;
	case JSON_ARRAY:
		for (i = 0; i < j->u.arr.n; i++)
			json_free(j->u.arr.v[i]);
		free(j->u.arr.v);
		break;
	case JSON_OBJECT:
		for (i = 0; i < j->u.obj.n; i++) {
			free(j->u.obj.m[i].key);
			json_free(j->u.obj.m[i].val);
		}
		free(j->u.obj.m);
		break;
	default:
		break;
	}
	free(j);
}

enum json_type
json_type(const struct json *j)
{
	return j->type;
}

const char *
json_type_name(enum json_type t)
{
	switch (t) {
	case JSON_NULL:
		return "null";
	case JSON_BOOL:
		return "a boolean";
	case JSON_NUMBER:
		return "a number";
	case JSON_STRING:
		return "a string";
	case JSON_ARRAY:
		return "an array";
	case JSON_OBJECT:
		return "an object";
	}
	return "?";
}

const struct json *
json_get(const struct json *obj, const char *key)
{
	size_t	n, i;

	if (obj == NULL || obj->type != JSON_OBJECT)
		return NULL;
	n = strlen(key);
	for (i = 0; i < obj->u.obj.n; i++)
		if (obj->u.obj.m[i].keylen == n &&
		    memcmp(obj->u.obj.m[i].key, key, n) == 0)
			return obj->u.obj.m[i].val;
	return NULL;
}

size_t
json_len(const struct json *j)
{
	if (j == NULL)
		return 0;
	if (j->type == JSON_ARRAY)
		return j->u.arr.n;
	if (j->type == JSON_OBJECT)
		return j->u.obj.n;
	return 0;
}

const struct json *
json_at(const struct json *arr, size_t i)
{
	if (arr == NULL || arr->type != JSON_ARRAY || i >= arr->u.arr.n)
		return NULL;
	return arr->u.arr.v[i];
}

const char *
json_key_at(const struct json *obj, size_t i, size_t *len)
{
	if (obj == NULL || obj->type != JSON_OBJECT || i >= obj->u.obj.n)
		return NULL;
	if (len != NULL)
		*len = obj->u.obj.m[i].keylen;
	return obj->u.obj.m[i].key;
}

const struct json *
json_value_at(const struct json *obj, size_t i)
{
	if (obj == NULL || obj->type != JSON_OBJECT || i >= obj->u.obj.n)
		return NULL;
	return obj->u.obj.m[i].val;
}

const char *
json_str(const struct json *j, size_t *len)
{
	if (j == NULL || j->type != JSON_STRING)
		return NULL;
	if (len != NULL)
		*len = j->u.str.len;
	return j->u.str.s;
}

bool
json_bool(const struct json *j)
{
	return j != NULL && j->type == JSON_BOOL && j->u.b;
}

bool
json_int(const struct json *j, int64_t *out)
{
	if (j == NULL || j->type != JSON_NUMBER || !j->u.num.isint)
		return false;
	*out = j->u.num.i;
	return true;
}

bool
json_is_integral(const struct json *j)
{
	return j != NULL && j->type == JSON_NUMBER && j->u.num.integral;
}

double
json_num(const struct json *j)
{
	if (j == NULL || j->type != JSON_NUMBER)
		return 0;
	return j->u.num.d;
}

/* ---- writer ------------------------------------------------------------ */

void
json_writer_init(struct json_writer *w, struct buf *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
}

static void
put(struct json_writer *w, const void *p, size_t n)
{
	if (!w->err && !buf_append(w->out, p, n))
		w->err = true;
}

static bool
in_object(const struct json_writer *w)
{
	return w->depth > 0 && (w->objects >> (w->depth - 1) & 1);
}

/* Commas and sequencing before any value; false after an error. */
static bool
value_prefix(struct json_writer *w)
{
	uint64_t	bit;

	if (w->err)
		return false;
	if (w->after_key) {
		w->after_key = false;
		return true;
	}
	if (w->depth == 0) {
		if (w->top_done)
			w->err = true;	/* one value per document */
		w->top_done = true;
		return !w->err;
	}
	if (in_object(w)) {
		w->err = true;		/* a member needs its key first */
		return false;
	}
	bit = (uint64_t)1 << (w->depth - 1);
	if (w->nonempty & bit)
		put(w, ",", 1);
	w->nonempty |= bit;
	return !w->err;
}

static void
put_string(struct json_writer *w, const char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, run, k;
	char			 esc[6];

	put(w, "\"", 1);
	for (i = 0; i < len && !w->err;) {
		/* Copy runs of bytes that need no escaping in one append. */
		for (run = i; run < len && p[run] >= 0x20 && p[run] < 0x80 &&
		    p[run] != '"' && p[run] != '\\'; run++)
			;
		if (run > i) {
			put(w, p + i, run - i);
			i = run;
			continue;
		}
		if (p[i] >= 0x80) {
			if ((k = proto_utf8_len(p + i, len - i)) == 0) {
				put(w, "\\ufffd", 6);
				i++;
			} else {
				put(w, p + i, k);
				i += k;
			}
			continue;
		}
		esc[0] = '\\';
		switch (p[i]) {
		case '"':
		case '\\':
			esc[1] = (char)p[i];
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 0xf];
			put(w, esc, 6);
			i++;
			continue;
		}
		put(w, esc, 2);
		i++;
	}
	put(w, "\"", 1);
}

static void
begin(struct json_writer *w, bool obj)
{
	uint64_t	bit;

	if (!value_prefix(w))
		return;
	if (w->depth >= JSON_WRITER_MAX_DEPTH) {
		w->err = true;
		return;
	}
	w->depth++;
	bit = (uint64_t)1 << (w->depth - 1);
	w->nonempty &= ~bit;
	if (obj)
		w->objects |= bit;
	else
		w->objects &= ~bit;
	put(w, obj ? "{" : "[", 1);
}

static void
end(struct json_writer *w, bool obj)
{
	if (w->err)
		return;
	if (w->depth == 0 || w->after_key || in_object(w) != obj) {
		w->err = true;
		return;
	}
	w->depth--;
	put(w, obj ? "}" : "]", 1);
}

void
json_w_begin_object(struct json_writer *w)
{
	begin(w, true);
}

void
json_w_end_object(struct json_writer *w)
{
	end(w, true);
}

void
json_w_begin_array(struct json_writer *w)
{
	begin(w, false);
}

void
json_w_end_array(struct json_writer *w)
{
	end(w, false);
}

void
json_w_key(struct json_writer *w, const char *s, size_t len)
{
	uint64_t	bit;

	if (w->err)
		return;
	if (!in_object(w) || w->after_key) {
		w->err = true;
		return;
	}
	bit = (uint64_t)1 << (w->depth - 1);
	if (w->nonempty & bit)
		put(w, ",", 1);
	w->nonempty |= bit;
	put_string(w, s, len);
	put(w, ":", 1);
	w->after_key = true;
}

void
json_w_keyc(struct json_writer *w, const char *s)
{
	json_w_key(w, s, strlen(s));
}

void
json_w_string(struct json_writer *w, const char *s, size_t len)
{
	if (value_prefix(w))
		put_string(w, s, len);
}

void
json_w_stringc(struct json_writer *w, const char *s)
{
	json_w_string(w, s, strlen(s));
}

void
json_w_int(struct json_writer *w, int64_t v)
{
	char	tmp[24];
	int	n;

	if (!value_prefix(w))
		return;
	n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
	put(w, tmp, (size_t)n);
}

void
json_w_uint(struct json_writer *w, uint64_t v)
{
	char	tmp[24];
	int	n;

	if (!value_prefix(w))
		return;
	n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	put(w, tmp, (size_t)n);
}

void
json_w_double(struct json_writer *w, double v)
{
	char	tmp[32];
	int	n;

	if (!isfinite(v)) {
		json_w_null(w);
		return;
	}
	if (!value_prefix(w))
		return;
	/* %.15g reads better ("0.1"); fall back to %.17g if it loses bits. */
	n = snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		n = snprintf(tmp, sizeof(tmp), "%.17g", v);
	put(w, tmp, (size_t)n);
}

void
json_w_fixed(struct json_writer *w, double v, int decimals)
{
	char	tmp[64];
	int	n;

	if (!isfinite(v) || v >= 1e18 || v <= -1e18) {
		json_w_null(w);
		return;
	}
	if (!value_prefix(w))
		return;
	n = snprintf(tmp, sizeof(tmp), "%.*f", decimals, v);
	/* "-0.0" from a tiny negative reads as a sign error. */
	if (n > 1 && tmp[0] == '-' && strtod(tmp, NULL) == 0.0)
		n = snprintf(tmp, sizeof(tmp), "%.*f", decimals, 0.0);
	put(w, tmp, (size_t)n);
}

void
json_w_bool(struct json_writer *w, bool v)
{
	if (value_prefix(w))
		put(w, v ? "true" : "false", v ? 4 : 5);
}

void
json_w_null(struct json_writer *w)
{
	if (value_prefix(w))
		put(w, "null", 4);
}

void
json_w_raw(struct json_writer *w, const char *text, size_t len)
{
	if (value_prefix(w))
		put(w, text, len);
}

int
json_writer_done(const struct json_writer *w)
{
	if (w->err || w->depth != 0 || w->after_key || !w->top_done)
		return -1;
	return 0;
}

void
json_w_value(struct json_writer *w, const struct json *v)
{
	const char *s;
	size_t n = 0;
	int64_t i;

	switch (json_type(v)) {
	case JSON_NULL:
		json_w_null(w);
		break;
	case JSON_BOOL:
		json_w_bool(w, json_bool(v));
		break;
	case JSON_NUMBER:
		if (json_int(v, &i))
			json_w_int(w, i);
		else
			json_w_double(w, json_num(v));
		break;
	case JSON_STRING:
		s = json_str(v, &n);
		json_w_string(w, s, n);
		break;
	case JSON_ARRAY:
		json_w_begin_array(w);
		for (size_t k = 0; k < json_len(v); k++)
			json_w_value(w, json_at(v, k));
		json_w_end_array(w);
		break;
	case JSON_OBJECT:
		json_w_begin_object(w);
		for (size_t k = 0; k < json_len(v); k++) {
			s = json_key_at(v, k, &n);
			json_w_key(w, s, n);
			json_w_value(w, json_value_at(v, k));
		}
		json_w_end_object(w);
		break;
	}
}
