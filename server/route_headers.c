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

/*
 * O(binding keys x header entries). Both tables are bounded by the frame
 * size and each loop stops early (all: at the first miss; any: at the
 * first hit), so this stays allocation-free rather than sorting.
 */
bool
headers_match(struct proto_table binding_args, struct proto_table headers)
{
	struct proto_table_iter	it;
	struct proto_str	key;
	struct proto_field	bval, hval;
	enum xmatch		m;
	bool			all, with_x, hit;

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
		hit = lookup(headers, key, &hval) &&
		    (bval.kind == PROTO_FIELD_VOID ||
		    headers_value_equal(&bval, &hval));
		if (all && !hit)
			return false;
		if (!all && hit)
			return true;
	}
	return all;
}
