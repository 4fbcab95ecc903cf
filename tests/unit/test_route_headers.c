/*
 * Unit tests for headers-exchange matching (server/route_headers.c).
 * The expectations marked compat were observed on RabbitMQ 3.10.
 */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "protocol/table.h"
#include "protocol/wire.h"
#include "server/route_headers.h"

/* A ring of buffers: no test keeps more than 16 tables alive at once. */
static uint8_t	bufs[16][512];
static size_t	nbufs;

static struct proto_field
I(int64_t v)
{
	return (struct proto_field){ .kind = PROTO_FIELD_I32, .v.i = v };
}

static struct proto_field
L(int64_t v)
{
	return (struct proto_field){ .kind = PROTO_FIELD_I64, .v.i = v };
}

static struct proto_field
S(const char *s)
{
	return (struct proto_field){ .kind = PROTO_FIELD_LONGSTR,
	    .v.str = proto_str_c(s) };
}

static struct proto_field
X(const char *s)
{
	return (struct proto_field){ .kind = PROTO_FIELD_BYTES,
	    .v.str = proto_str_c(s) };
}

static struct proto_field
V(void)
{
	return (struct proto_field){ .kind = PROTO_FIELD_VOID };
}

/* tab(n, key1, field1, key2, field2, ...): a validated table. */
static struct proto_table
tab(int n, ...)
{
	struct proto_writer	w;
	struct proto_table	t;
	struct proto_field	f;
	va_list			ap;
	int			i;

	w = proto_writer(bufs[nbufs++ % 16], sizeof(bufs[0]));
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		proto_table_key(&w, va_arg(ap, const char *));
		f = va_arg(ap, struct proto_field);
		proto_field_write(&w, &f);
	}
	va_end(ap);
	cr_assert(!w.overflow);
	t = (struct proto_table){ w.p, w.len };
	cr_assert(proto_table_validate(t));
	return t;
}

static const struct proto_table none = { NULL, 0 };

static bool
hm(struct proto_table args, struct proto_table headers)
{
	cr_assert_eq(headers_check_args(args), 0);
	return headers_match(args, headers);
}

Test(route_headers, all_needs_every_key)
{
	struct proto_table b = tab(2, "a", I(1), "b", I(2));

	cr_assert(hm(b, tab(2, "a", I(1), "b", I(2))));
	cr_assert(!hm(b, tab(1, "a", I(1))));
	cr_assert(!hm(b, tab(2, "a", I(1), "b", I(3))));
}

Test(route_headers, all_is_the_default)
{
	struct proto_table b = tab(3, "x-match", S("all"), "a", I(1), "b", I(2));
	struct proto_table d = tab(2, "a", I(1), "b", I(2));
	struct proto_table h = tab(1, "a", I(1));

	cr_assert(!hm(b, h));
	cr_assert(!hm(d, h));
}

Test(route_headers, any_needs_one_key)
{
	struct proto_table b = tab(3, "x-match", S("any"), "a", I(1), "b", I(2));

	cr_assert(hm(b, tab(1, "a", I(1))));
	cr_assert(hm(b, tab(2, "a", I(9), "b", I(2))));
	cr_assert(!hm(b, tab(1, "a", I(2))));
}

Test(route_headers, extra_header_keys_are_ignored)
{
	cr_assert(hm(tab(1, "a", I(1)),
	    tab(3, "a", I(1), "b", I(2), "c", S("z"))));
}

/* compat: RabbitMQ routes every message through an all-binding with no keys. */
Test(route_headers, all_without_keys_matches_everything)
{
	cr_assert(hm(tab(1, "x-match", S("all")), tab(1, "a", S("x"))));
	cr_assert(hm(tab(1, "x-match", S("all")), none));
	cr_assert(hm(none, none));
}

Test(route_headers, any_without_keys_matches_nothing)
{
	cr_assert(!hm(tab(1, "x-match", S("any")), tab(1, "a", S("x"))));
	cr_assert(!hm(tab(1, "x-match", S("any")), none));
}

Test(route_headers, absent_headers_fail_all_with_keys)
{
	cr_assert(!hm(tab(1, "a", I(1)), none));
	cr_assert(!hm(tab(2, "x-match", S("any"), "a", I(1)), none));
}

Test(route_headers, x_keys_ignored_without_with_x)
{
	/* compat: "all" with only an x- key behaves as "all" with no keys. */
	cr_assert(hm(tab(2, "x-match", S("all"), "x-foo", S("bar")), none));
	cr_assert(!hm(tab(2, "x-match", S("any"), "x-foo", S("bar")),
	    tab(1, "x-foo", S("bar"))));
}

Test(route_headers, x_prefix_is_case_sensitive)
{
	cr_assert(!hm(tab(1, "X-foo", I(1)), none));
	cr_assert(!hm(tab(1, "x", I(1)), none));
}

Test(route_headers, all_with_x_compares_x_keys)
{
	struct proto_table b = tab(2, "x-match", S("all-with-x"),
	    "x-foo", S("bar"));

	cr_assert(hm(b, tab(1, "x-foo", S("bar"))));
	cr_assert(!hm(b, tab(1, "x-foo", S("baz"))));
	cr_assert(!hm(b, none));
}

Test(route_headers, any_with_x_compares_x_keys)
{
	struct proto_table b = tab(2, "x-match", S("any-with-x"),
	    "x-foo", S("bar"));

	cr_assert(hm(b, tab(1, "x-foo", S("bar"))));
	cr_assert(!hm(b, tab(1, "x-foo", S("baz"))));
}

Test(route_headers, with_x_modes_match_plain_keys)
{
	cr_assert(hm(tab(2, "x-match", S("all-with-x"), "a", I(1)),
	    tab(1, "a", I(1))));
	cr_assert(hm(tab(2, "x-match", S("any-with-x"), "a", I(1)),
	    tab(1, "a", I(1))));
}

/* compat: x-match itself is never compared, even in the -with-x modes. */
Test(route_headers, x_match_key_never_compared)
{
	cr_assert(hm(tab(1, "x-match", S("all-with-x")), none));
	cr_assert(!hm(tab(1, "x-match", S("any-with-x")),
	    tab(1, "x-match", S("any-with-x"))));
}

Test(route_headers, void_binding_means_key_present)
{
	struct proto_table b = tab(1, "a", V());

	cr_assert(hm(b, tab(1, "a", S("x"))));
	cr_assert(hm(b, tab(1, "a", I(7))));
	cr_assert(hm(b, tab(1, "a", V())));
	cr_assert(!hm(b, tab(1, "b", S("x"))));
	cr_assert(!hm(b, none));
}

Test(route_headers, void_binding_with_x_any)
{
	cr_assert(hm(tab(2, "x-match", S("any-with-x"), "x-foo", V()),
	    tab(1, "x-foo", I(1))));
}

Test(route_headers, void_header_fails_non_void_binding)
{
	cr_assert(!hm(tab(1, "a", I(1)), tab(1, "a", V())));
}

Test(route_headers, int_does_not_match_string)
{
	cr_assert(!hm(tab(1, "a", I(1)), tab(1, "a", S("1"))));
	cr_assert(!hm(tab(1, "a", S("1")), tab(1, "a", I(1))));
}

/* compat: RabbitMQ compares integers by value across widths. */
Test(route_headers, ints_of_different_widths_match)
{
	struct proto_field s = { .kind = PROTO_FIELD_I16, .v.i = 1 };
	struct proto_field u8 = { .kind = PROTO_FIELD_U8, .v.u = 1 };
	struct proto_field ts = { .kind = PROTO_FIELD_TIMESTAMP, .v.u = 1 };

	cr_assert(hm(tab(1, "a", I(1)), tab(1, "a", L(1))));
	cr_assert(hm(tab(1, "a", s), tab(1, "a", I(1))));
	cr_assert(hm(tab(1, "a", u8), tab(1, "a", s)));
	cr_assert(hm(tab(1, "a", ts), tab(1, "a", L(1))));
}

Test(route_headers, signed_negative_does_not_match_unsigned)
{
	struct proto_field b = { .kind = PROTO_FIELD_I8, .v.i = -1 };
	struct proto_field ub = { .kind = PROTO_FIELD_U8, .v.u = 255 };

	cr_assert(!hm(tab(1, "a", b), tab(1, "a", ub)));
}

Test(route_headers, floats_compare_by_value)
{
	struct proto_field f = { .kind = PROTO_FIELD_F32, .v.f32 = 1.5f };
	struct proto_field d = { .kind = PROTO_FIELD_F64, .v.f64 = 1.5 };
	struct proto_field one = { .kind = PROTO_FIELD_F64, .v.f64 = 1.0 };
	struct proto_field half = { .kind = PROTO_FIELD_F64, .v.f64 = 0.5 };

	cr_assert(hm(tab(1, "a", f), tab(1, "a", d)));
	cr_assert(hm(tab(1, "a", one), tab(1, "a", I(1))));
	cr_assert(!hm(tab(1, "a", half), tab(1, "a", I(0))));
}

Test(route_headers, longstr_matches_bytes)
{
	cr_assert(hm(tab(1, "a", S("q")), tab(1, "a", X("q"))));
	cr_assert(!hm(tab(1, "a", S("q")), tab(1, "a", X("r"))));
}

Test(route_headers, bool_matches_only_bool)
{
	struct proto_field t = { .kind = PROTO_FIELD_BOOL, .v.b = true };
	struct proto_field b = { .kind = PROTO_FIELD_I8, .v.i = 1 };

	cr_assert(hm(tab(1, "a", t), tab(1, "a", t)));
	cr_assert(!hm(tab(1, "a", t), tab(1, "a", b)));
}

Test(route_headers, decimal_matches_only_same_decimal)
{
	struct proto_field d1 = { .kind = PROTO_FIELD_DECIMAL, .v.dec = { 0, 1 } };
	struct proto_field d2 = { .kind = PROTO_FIELD_DECIMAL, .v.dec = { 1, 10 } };

	cr_assert(hm(tab(1, "a", d1), tab(1, "a", d1)));
	cr_assert(!hm(tab(1, "a", d2), tab(1, "a", d1)));
	cr_assert(!hm(tab(1, "a", d1), tab(1, "a", I(1))));
}

Test(route_headers, nested_tables_compare_with_inner_types)
{
	struct proto_field ti = { .kind = PROTO_FIELD_TABLE,
	    .v.table = tab(1, "k", I(1)) };
	struct proto_field tl = { .kind = PROTO_FIELD_TABLE,
	    .v.table = tab(1, "k", L(1)) };

	cr_assert(hm(tab(1, "a", ti), tab(1, "a", ti)));
	cr_assert(!hm(tab(1, "a", ti), tab(1, "a", tl)));
}

Test(route_headers, check_args_accepts_the_four_modes)
{
	cr_assert_eq(headers_check_args(none), 0);
	cr_assert_eq(headers_check_args(tab(1, "a", I(1))), 0);
	cr_assert_eq(headers_check_args(tab(1, "x-match", S("all"))), 0);
	cr_assert_eq(headers_check_args(tab(1, "x-match", S("any"))), 0);
	cr_assert_eq(headers_check_args(tab(1, "x-match", S("all-with-x"))), 0);
	cr_assert_eq(headers_check_args(tab(1, "x-match", S("any-with-x"))), 0);
}

Test(route_headers, check_args_rejects_unknown_mode)
{
	cr_assert_eq(headers_check_args(tab(1, "x-match", S("foo"))), -1);
	cr_assert_eq(headers_check_args(tab(1, "x-match", S("ALL"))), -1);
	cr_assert_eq(headers_check_args(tab(1, "x-match", S(""))), -1);
}

/* compat: RabbitMQ wants a longstr: "Invalid x-match field type". */
Test(route_headers, check_args_rejects_non_longstr_mode)
{
	cr_assert_eq(headers_check_args(tab(1, "x-match", X("any"))), -1);
	cr_assert_eq(headers_check_args(tab(1, "x-match", I(1))), -1);
	cr_assert_eq(headers_check_args(tab(1, "x-match", V())), -1);
}

/*
 * Bindings with many keys match through the sorted index
 * (headers_match_index): results must equal the plain scan's, including
 * the first of duplicate header keys winning and keys holding NULs.
 */
static struct proto_table
big(uint8_t *buf, size_t cap, int n, int step, int first, bool xmatch_any,
    int dup_value)
{
	struct proto_writer	w = proto_writer(buf, cap);
	struct proto_field	f;
	char			k[16];
	int			i, j;

	if (xmatch_any) {
		proto_table_key(&w, "x-match");
		f = S("any");
		proto_field_write(&w, &f);
	}
	for (j = 0, i = first; j < n; j++, i += step) {
		snprintf(k, sizeof(k), "k%d", i);
		proto_table_key(&w, k);
		f = I(i);
		proto_field_write(&w, &f);
		if (dup_value != 0 && j == n / 2) {
			/* The same key again, a later value: ignored. */
			proto_table_key(&w, k);
			f = I(dup_value);
			proto_field_write(&w, &f);
		}
	}
	cr_assert(!w.overflow);
	cr_assert(proto_table_validate((struct proto_table){ w.p, w.len }));
	return (struct proto_table){ w.p, w.len };
}

Test(route_headers, many_keys_use_the_index)
{
	static uint8_t	b1[65536], h1[65536], h2[65536], h3[65536];
	struct proto_table bind, hs, rev, dup;

	/* Binding keys 0..999, headers in the reverse order: matches. */
	bind = big(b1, sizeof(b1), 1000, 1, 0, false, 0);
	rev = big(h1, sizeof(h1), 1000, -1, 999, false, 0);
	cr_assert(hm(bind, rev));
	/* One header missing (only 0..998 present): all fails. */
	hs = big(h2, sizeof(h2), 999, 1, 0, false, 0);
	cr_assert(!hm(bind, hs));
	/* A duplicate header key: its first value counts, so all matches. */
	dup = big(h3, sizeof(h3), 1000, 1, 0, false, -7);
	cr_assert(hm(bind, dup));
	/* any: one shared key among many is enough, none is not. */
	bind = big(b1, sizeof(b1), 1000, 1, 5000, true, 0);
	cr_assert(!hm(bind, rev));
	hs = big(h2, sizeof(h2), 1, 1, 5999, false, 0);
	cr_assert(hm(bind, hs));
}

Test(route_headers, index_is_shared_by_bindings)
{
	static uint8_t	b1[65536], b2[65536], h1[65536];
	struct proto_table a = big(b1, sizeof(b1), 100, 1, 0, false, 0);
	struct proto_table c = big(b2, sizeof(b2), 100, 1, 50, false, 0);
	struct proto_table h = big(h1, sizeof(h1), 120, 1, 0, false, 0);
	struct headers_index ix;

	headers_index_init(&ix, h);
	cr_assert(headers_match_index(a, &ix));
	cr_assert(!headers_match_index(c, &ix));	/* 120..149 missing */
	cr_assert(headers_match_index(a, &ix));
	headers_index_free(&ix);
}

Test(route_headers, index_keys_compare_as_bytes)
{
	/* "a" sorts before "a\0" and "ab": lengths and NULs both count. */
	static const uint8_t k[] = { 'a', 0 };
	struct proto_table h, b;
	uint8_t hb[256], bb[256];
	struct proto_writer w = proto_writer(hb, sizeof(hb));
	struct proto_field f = I(1);
	int i;

	for (i = 0; i < 10; i++) {
		char kk[8];

		snprintf(kk, sizeof(kk), "a%c", 'b' + i);
		proto_table_key(&w, kk);
		proto_field_write(&w, &f);
	}
	proto_table_key(&w, "a");
	proto_field_write(&w, &f);
	h = (struct proto_table){ w.p, w.len };
	cr_assert(proto_table_validate(h));
	/* A binding of 9 keys naming "a\0" (absent) among present ones. */
	w = proto_writer(bb, sizeof(bb));
	for (i = 0; i < 8; i++) {
		char kk[8];

		snprintf(kk, sizeof(kk), "a%c", 'b' + i);
		proto_table_key(&w, kk);
		proto_field_write(&w, &f);
	}
	proto_write_u8(&w, sizeof(k));
	proto_write_bytes(&w, k, sizeof(k));
	proto_field_write(&w, &f);
	b = (struct proto_table){ w.p, w.len };
	cr_assert(proto_table_validate(b));
	cr_assert(!hm(b, h));
}
