/*
 * Headers-exchange matching.
 *
 * compat: behaviour checked against RabbitMQ 3.10 on loopback (bind, then
 * publish mandatory with confirms):
 *  - x-match all with no non-"x-" binding keys matches every message, even
 *    one without headers; any with none matches nothing.
 *  - all-with-x / any-with-x compare "x-" keys too, but never "x-match"
 *    itself (all-with-x with only x-match matched a header-less message).
 *  - a void binding value matches the key with any value, void included;
 *    a non-void binding value never matches a void header.
 *  - values compare as Erlang == does: I 1 = l 1 = s 1 = B 1 = T 1,
 *    f 1.5 = d 1.5, d 1.0 = I 1, S "q" = x "q"; but I 1 != S "1",
 *    b -1 != B 255, t 1 != b 1, D(0,1) != I 1, D(1,10) != D(0,1), and
 *    nested tables/arrays differ when an inner type letter differs.
 *  - x-match must be a longstr, lower-case, one of the four words; bytes
 *    ('x'), an integer or void are refused with "Invalid x-match field
 *    type", "ALL" or "foo" with "Invalid x-match field value".
 */
#include "autoconf.h"

#include "server/route_headers.h"

#include <stdlib.h>
#include <string.h>

enum xmatch {
	XMATCH_ALL,
	XMATCH_ANY,
	XMATCH_ALL_WITH_X,
	XMATCH_ANY_WITH_X,
};

static int
parse_xmatch(struct proto_table args, enum xmatch *out)
{
	struct proto_field	f;

	*out = XMATCH_ALL;
	if (!proto_table_get(args, "x-match", &f))
		return 0;
	if (f.kind != PROTO_FIELD_LONGSTR)
		return -1;
	if (proto_str_eqc(f.v.str, "all"))
		*out = XMATCH_ALL;
	else if (proto_str_eqc(f.v.str, "any"))
		*out = XMATCH_ANY;
	else if (proto_str_eqc(f.v.str, "all-with-x"))
		*out = XMATCH_ALL_WITH_X;
	else if (proto_str_eqc(f.v.str, "any-with-x"))
		*out = XMATCH_ANY_WITH_X;
	else
		return -1;
	return 0;
}

int
headers_check_args(struct proto_table binding_args)
{
	enum xmatch	m;

	return parse_xmatch(binding_args, &m);
}

enum vclass {
	VC_OTHER,
	VC_SIGNED,
	VC_UNSIGNED,
	VC_FLOAT,
	VC_STRING,
};

static enum vclass
vclass(const struct proto_field *f)
{
	switch (f->kind) {
	case PROTO_FIELD_I8:
	case PROTO_FIELD_I16:
	case PROTO_FIELD_I32:
	case PROTO_FIELD_I64:
		return VC_SIGNED;
	case PROTO_FIELD_U8:
	case PROTO_FIELD_U16:
	case PROTO_FIELD_U32:
	case PROTO_FIELD_U64:
	case PROTO_FIELD_TIMESTAMP:
		return VC_UNSIGNED;
	case PROTO_FIELD_F32:
	case PROTO_FIELD_F64:
		return VC_FLOAT;
	case PROTO_FIELD_LONGSTR:
	case PROTO_FIELD_BYTES:
		return VC_STRING;
	default:
		return VC_OTHER;
	}
}

static double
as_double(const struct proto_field *f)
{
	return f->kind == PROTO_FIELD_F32 ? (double)f->v.f32 : f->v.f64;
}

/* Exact comparison of an integer field with a double (no rounding). */
static bool
int_eq_double(const struct proto_field *i, double d)
{
	if (d != d)
		return false;		/* NaN */
	if (vclass(i) == VC_SIGNED && i->v.i < 0) {
		/* [-2^63, 0) converts to int64_t exactly when integral. */
		if (!(d >= -9223372036854775808.0 && d < 0.0))
			return false;
		return (double)(int64_t)d == d && (int64_t)d == i->v.i;
	}
	if (!(d >= 0.0 && d < 18446744073709551616.0))
		return false;
	if ((double)(uint64_t)d != d)
		return false;
	return (uint64_t)d == (vclass(i) == VC_SIGNED ? (uint64_t)i->v.i :
	    i->v.u);
}

bool
headers_value_equal(const struct proto_field *a, const struct proto_field *b)
{
	enum vclass	ca = vclass(a), cb = vclass(b);

	if ((ca == VC_SIGNED || ca == VC_UNSIGNED) &&
	    (cb == VC_SIGNED || cb == VC_UNSIGNED)) {
		if (ca == cb)
			return ca == VC_SIGNED ? a->v.i == b->v.i :
			    a->v.u == b->v.u;
		if (ca == VC_SIGNED)
			return a->v.i >= 0 && (uint64_t)a->v.i == b->v.u;
		return b->v.i >= 0 && (uint64_t)b->v.i == a->v.u;
	}
	if (ca == VC_FLOAT && cb == VC_FLOAT)
		return as_double(a) == as_double(b);
	if (ca == VC_FLOAT && (cb == VC_SIGNED || cb == VC_UNSIGNED))
		return int_eq_double(b, as_double(a));
	if (cb == VC_FLOAT && (ca == VC_SIGNED || ca == VC_UNSIGNED))
		return int_eq_double(a, as_double(b));
	if (ca == VC_STRING && cb == VC_STRING)
		return proto_str_eq(a->v.str, b->v.str);
	/* bool, decimal, table, array, void: same kind and value only. */
	return proto_field_equal(a, b);
}

/* First value under key in a validated table (keys may hold NULs). */
static bool
lookup(struct proto_table t, struct proto_str key, struct proto_field *val)
{
	struct proto_table_iter	it;
	struct proto_str	k;

	proto_table_iter_init(&it, t);
	while (proto_table_next(&it, &k, val))
		if (proto_str_eq(k, key))
			return true;
	return false;
}

struct headers_entry {
	struct proto_str	key;
	struct proto_field	val;
	size_t			pos;	/* in the table: the first one wins */
};

static int
key_cmp(struct proto_str a, struct proto_str b)
{
	size_t	n = a.len < b.len ? a.len : b.len;
	int	c = n ? memcmp(a.p, b.p, n) : 0;

	if (c != 0)
		return c;
	return a.len < b.len ? -1 : a.len > b.len;
}

static int
entry_cmp(const void *pa, const void *pb)
{
	const struct headers_entry *a = pa, *b = pb;
	int c = key_cmp(a->key, b->key);

	if (c != 0)
		return c;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

void
headers_index_init(struct headers_index *ix, struct proto_table headers)
{
	ix->headers = headers;
	ix->v = NULL;
	ix->n = 0;
	ix->state = 0;
}

void
headers_index_free(struct headers_index *ix)
{
	free(ix->v);
	ix->v = NULL;
	ix->state = 0;
}

/* Sorts the header entries once, by key then position; false on ENOMEM. */
static bool
index_build(struct headers_index *ix)
{
	struct proto_table_iter	it;
	struct proto_str	k;
	struct proto_field	v;
	size_t			n = 0;

	if (ix->state != 0)
		return ix->state == 1;
	ix->state = 2;		/* fall back to scanning if this fails */
	proto_table_iter_init(&it, ix->headers);
	while (proto_table_next(&it, &k, &v))
		n++;
	if (n == 0 || (ix->v = calloc(n, sizeof(*ix->v))) == NULL)
		return false;
	proto_table_iter_init(&it, ix->headers);
	for (ix->n = 0; ix->n < n && proto_table_next(&it, &k, &v); ix->n++) {
		ix->v[ix->n].key = k;
		ix->v[ix->n].val = v;
		ix->v[ix->n].pos = ix->n;
	}
	qsort(ix->v, ix->n, sizeof(*ix->v), entry_cmp);
	ix->state = 1;
	return true;
}

/* Binary search for the first entry under key. */
static bool
index_lookup(const struct headers_index *ix, struct proto_str key,
    struct proto_field *val)
{
	size_t	lo = 0, hi = ix->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (key_cmp(ix->v[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == ix->n || key_cmp(ix->v[lo].key, key) != 0)
		return false;
	*val = ix->v[lo].val;
	return true;
}

/*
 * Below this many binding keys a plain scan of the headers per key is
 * cheaper than sorting them (the common case: a few keys per binding).
 */
#define SCAN_KEYS	8

/*
 * O(k log m + m log m) for k binding keys and m headers, the sort being
 * done at most once per message (per index), however many bindings use
 * it; a binding with few keys scans instead, O(k m) with small k. The old
 * pairwise scan let one 20,000-key binding and one 20,000-header message
 * block the loop for seconds.
 */
bool
headers_match_index(struct proto_table binding_args, struct headers_index *ix)
{
	struct proto_table_iter	it;
	struct proto_str	key;
	struct proto_field	bval, hval;
	enum xmatch		m;
	bool			all, with_x, hit, found, sorted = false;
	size_t			nkeys = 0;

	if (parse_xmatch(binding_args, &m) == -1)
		m = XMATCH_ALL;		/* refused at bind time anyway */
	all = m == XMATCH_ALL || m == XMATCH_ALL_WITH_X;
	with_x = m == XMATCH_ALL_WITH_X || m == XMATCH_ANY_WITH_X;

	proto_table_iter_init(&it, binding_args);
	while (proto_table_next(&it, &key, &bval)) {
		if (proto_str_eqc(key, "x-match"))
			continue;
		/* compat: the prefix test is case-sensitive ("X-a" counts). */
		if (!with_x && key.len >= 2 && memcmp(key.p, "x-", 2) == 0)
			continue;
		if (++nkeys == SCAN_KEYS && ix->headers.len > 0)
			sorted = index_build(ix);
		found = sorted ? index_lookup(ix, key, &hval) :
		    lookup(ix->headers, key, &hval);
		hit = found && (bval.kind == PROTO_FIELD_VOID ||
		    headers_value_equal(&bval, &hval));
		if (all && !hit)
			return false;
		if (!all && hit)
			return true;
	}
	return all;
}

bool
headers_match(struct proto_table binding_args, struct proto_table headers)
{
	struct headers_index	ix;
	bool			r;

	headers_index_init(&ix, headers);
	r = headers_match_index(binding_args, &ix);
	headers_index_free(&ix);
	return r;
}
