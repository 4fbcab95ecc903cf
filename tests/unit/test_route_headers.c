/*
 * Unit tests for headers-exchange matching (server/route_headers.c).
 * The expectations marked compat were observed on RabbitMQ 3.10.
 */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
