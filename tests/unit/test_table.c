/*
 * Unit tests for AMQP field tables (protocol/table.c).
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/table.h"
#include "protocol/wire.h"

#define T(lit)	((struct proto_table){ (const uint8_t *)(lit), sizeof(lit) - 1 })

/* Writes { key: f } into buf and returns the table body (after its length). */
static struct proto_table
one_entry(uint8_t *buf, size_t cap, const char *key, const struct proto_field *f)
{
	struct proto_writer	w = proto_writer(buf, cap);
	size_t			at;

	at = proto_table_begin(&w);
	proto_table_key(&w, key);
	proto_field_write(&w, f);
	proto_table_end(&w, at);
	cr_assert(!w.overflow);
	return (struct proto_table){ buf + at + 4, w.len - at - 4 };
}

/* Builds { "k": in }, validates it and reads the single entry back. */
static void
roundtrip(const struct proto_field *in, struct proto_field *out)
{
	static uint8_t		buf[256];
	struct proto_table	t = one_entry(buf, sizeof(buf), "k", in);
	struct proto_table_iter	it;
	struct proto_str	key;

	cr_assert(proto_table_validate(t));
	proto_table_iter_init(&it, t);
	cr_assert(proto_table_next(&it, &key, out));
	cr_assert(proto_str_eqc(key, "k"));
	cr_assert_eq(out->kind, in->kind);
	cr_assert(proto_field_equal(in, out));
	cr_assert(!proto_table_next(&it, &key, out));
}

Test(table, roundtrip_bool)
{
	struct proto_field in = { .kind = PROTO_FIELD_BOOL, .v.b = true }, out;

	roundtrip(&in, &out);
	cr_assert(out.v.b);
}

Test(table, roundtrip_i8)
{
	struct proto_field in = { .kind = PROTO_FIELD_I8, .v.i = -128 }, out;

	roundtrip(&in, &out);
	cr_assert_eq(out.v.i, -128);
}

Test(table, roundtrip_u8)
{
	struct proto_field in = { .kind = PROTO_FIELD_U8, .v.u = 255 }, out;

	roundtrip(&in, &out);
	cr_assert_eq(out.v.u, 255);
}

Test(table, roundtrip_i16)
{
	struct proto_field in = { .kind = PROTO_FIELD_I16, .v.i = -32768 }, out;

	roundtrip(&in, &out);
	cr_assert_eq(out.v.i, -32768);
}

Test(table, roundtrip_u16)
{
	struct proto_field in = { .kind = PROTO_FIELD_U16, .v.u = 65535 }, out;

	roundtrip(&in, &out);
	cr_assert_eq(out.v.u, 65535);
}

Test(table, roundtrip_i32)
{
	struct proto_field in = { .kind = PROTO_FIELD_I32, .v.i = INT32_MIN }, out;

	roundtrip(&in, &out);
	cr_assert_eq(out.v.i, INT32_MIN);
}

Test(table, roundtrip_u32)
{
	struct proto_field in = { .kind = PROTO_FIELD_U32, .v.u = UINT32_MAX }, out;

	roundtrip(&in, &out);
	cr_assert_eq(out.v.u, UINT32_MAX);
}

Test(table, roundtrip_i64)
{
	struct proto_field in = { .kind = PROTO_FIELD_I64, .v.i = INT64_MIN }, out;

	roundtrip(&in, &out);
	cr_assert_eq(out.v.i, INT64_MIN);
}

Test(table, roundtrip_u64)
{
	struct proto_field in = { .kind = PROTO_FIELD_U64, .v.u = UINT64_MAX }, out;

	roundtrip(&in, &out);
	cr_assert_eq(out.v.u, UINT64_MAX);
}

Test(table, roundtrip_f32)
{
	struct proto_field in = { .kind = PROTO_FIELD_F32, .v.f32 = -1.5f }, out;

	roundtrip(&in, &out);
	cr_assert_eq(out.v.f32, -1.5f);
}

Test(table, roundtrip_f64)
{
	struct proto_field in = { .kind = PROTO_FIELD_F64, .v.f64 = 0.1 }, out;

	roundtrip(&in, &out);
	cr_assert_eq(out.v.f64, 0.1);
}

Test(table, roundtrip_decimal)
{
	struct proto_field in = { .kind = PROTO_FIELD_DECIMAL,
	    .v.dec = { .scale = 2, .value = 12345 } }, out;

	roundtrip(&in, &out);
	cr_assert_eq(out.v.dec.scale, 2);
	cr_assert_eq(out.v.dec.value, 12345);
}

Test(table, roundtrip_longstr)
{
	struct proto_field in = { .kind = PROTO_FIELD_LONGSTR,
	    .v.str = PROTO_STR_LIT("hello") }, out;

	roundtrip(&in, &out);
	cr_assert(proto_str_eqc(out.v.str, "hello"));
}

Test(table, roundtrip_bytes)
{
	struct proto_field in = { .kind = PROTO_FIELD_BYTES,
	    .v.str = PROTO_STR_LIT("a\0b") }, out;

	roundtrip(&in, &out);
	cr_assert_eq(out.v.str.len, 3);
	cr_assert(memcmp(out.v.str.p, "a\0b", 3) == 0);
}

Test(table, roundtrip_timestamp)
{
	struct proto_field in = { .kind = PROTO_FIELD_TIMESTAMP,
	    .v.u = 1700000000 }, out;

	roundtrip(&in, &out);
	cr_assert_eq(out.v.u, 1700000000);
}

Test(table, roundtrip_void)
{
	struct proto_field in = { .kind = PROTO_FIELD_VOID }, out;

	roundtrip(&in, &out);
}

Test(table, roundtrip_nested_table)
{
	uint8_t			inner[64];
	struct proto_field	s = { .kind = PROTO_FIELD_LONGSTR,
	    .v.str = PROTO_STR_LIT("v") }, in, out, got;

	in.kind = PROTO_FIELD_TABLE;
	in.v.table = one_entry(inner, sizeof(inner), "in", &s);
	roundtrip(&in, &out);
	cr_assert(proto_table_get(out.v.table, "in", &got));
	cr_assert(proto_str_eqc(got.v.str, "v"));
}

Test(table, roundtrip_array)
{
	uint8_t			abuf[64];
	struct proto_writer	w = proto_writer(abuf, sizeof(abuf));
	struct proto_field	a = { .kind = PROTO_FIELD_I32, .v.i = 7 };
	struct proto_field	b = { .kind = PROTO_FIELD_LONGSTR,
	    .v.str = PROTO_STR_LIT("x") };
	struct proto_field	v = { .kind = PROTO_FIELD_VOID };
	struct proto_field	in, out, e;
	struct proto_table_iter	it;

	proto_field_write(&w, &a);
	proto_field_write(&w, &b);
	proto_field_write(&w, &v);
	cr_assert(!w.overflow);
	in.kind = PROTO_FIELD_ARRAY;
	in.v.table = (struct proto_table){ abuf, w.len };
	cr_assert(proto_array_validate(in.v.table));
	roundtrip(&in, &out);
	proto_table_iter_init(&it, out.v.table);
	cr_assert(proto_array_next(&it, &e));
	cr_assert(e.kind == PROTO_FIELD_I32 && e.v.i == 7);
	cr_assert(proto_array_next(&it, &e));
	cr_assert(e.kind == PROTO_FIELD_LONGSTR && proto_str_eqc(e.v.str, "x"));
	cr_assert(proto_array_next(&it, &e));
	cr_assert_eq(e.kind, PROTO_FIELD_VOID);
	cr_assert(!proto_array_next(&it, &e));
}

Test(table, put_helpers_roundtrip)
{
	uint8_t			buf[128];
	struct proto_writer	w = proto_writer(buf, sizeof(buf));
	struct proto_table	t;
	struct proto_field	f;
	size_t			at;

	at = proto_table_begin(&w);
	proto_table_put_longstr(&w, "s", "str");
	proto_table_put_bool(&w, "b", true);
	proto_table_put_i64(&w, "i", -5);
	proto_table_end(&w, at);
	cr_assert(!w.overflow);
	t = (struct proto_table){ buf + 4, w.len - 4 };
	cr_assert_eq(((size_t)buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3]),
	    t.len);
	cr_assert(proto_table_validate(t));
	cr_assert(proto_table_get(t, "s", &f));
	cr_assert(f.kind == PROTO_FIELD_LONGSTR && proto_str_eqc(f.v.str, "str"));
	cr_assert(proto_table_get(t, "b", &f));
	cr_assert(f.kind == PROTO_FIELD_BOOL && f.v.b);
	cr_assert(proto_table_get(t, "i", &f));
	cr_assert(f.kind == PROTO_FIELD_I64 && f.v.i == -5);
}

Test(table, builder_overflow_is_flagged)
{
	uint8_t			buf[8];
	struct proto_writer	w = proto_writer(buf, sizeof(buf));
	size_t			at;

	at = proto_table_begin(&w);
	proto_table_put_longstr(&w, "key", "a value that does not fit");
	proto_table_end(&w, at);
	cr_assert(w.overflow);
}

Test(table, field_write_unknown_kind_is_flagged)
{
	uint8_t			buf[8];
	struct proto_writer	w = proto_writer(buf, sizeof(buf));
	struct proto_field	f = { .kind = 'X' };

	proto_field_write(&w, &f);
	cr_assert(w.overflow);
}

Test(table, accepts_empty_table)
{
	cr_assert(proto_table_validate((struct proto_table){ NULL, 0 }));
}

/*
 * A table of one entry holding every kind, the last inside a nested table
 * and array; every strict prefix except the empty one cuts that entry.
 */
Test(table, rejects_every_truncation)
{
	static const uint8_t inner[] =
	    "\x01" "t" "t\x01"
	    "\x01" "b" "b\xff"
	    "\x01" "B" "B\xff"
	    "\x01" "s" "s\x00\x01"
	    "\x01" "u" "u\x00\x01"
	    "\x01" "I" "I\x00\x00\x00\x01"
	    "\x01" "i" "i\x00\x00\x00\x01"
	    "\x01" "l" "l\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\x01" "L" "L\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\x01" "f" "f\x3f\x80\x00\x00"
	    "\x01" "d" "d\x3f\xf0\x00\x00\x00\x00\x00\x00"
	    "\x01" "D" "D\x02\x00\x00\x00\x05"
	    "\x01" "S" "S\x00\x00\x00\x02hi"
	    "\x01" "x" "x\x00\x00\x00\x01\x00"
	    "\x01" "T" "T\x00\x00\x00\x00\x00\x00\x00\x09"
	    "\x01" "V" "V"
	    "\x01" "A" "A\x00\x00\x00\x07" "I\x00\x00\x00\x02" "V" "V"
	    "\x01" "F" "F\x00\x00\x00\x03" "\x01" "z" "V";
	uint8_t		buf[sizeof(inner) + 16];
	size_t		n = sizeof(inner) - 1, len, i;

	/* { "w": F <inner> } */
	buf[0] = 1;
	buf[1] = 'w';
	buf[2] = 'F';
	buf[3] = (uint8_t)(n >> 24);
	buf[4] = (uint8_t)(n >> 16);
	buf[5] = (uint8_t)(n >> 8);
	buf[6] = (uint8_t)n;
	memcpy(buf + 7, inner, n);
	len = 7 + n;

	cr_assert(proto_table_validate((struct proto_table){ inner, n }));
	cr_assert(proto_table_validate((struct proto_table){ buf, len }));
	for (i = 1; i < len; i++)
		cr_assert(!proto_table_validate((struct proto_table){ buf, i }),
		    "prefix of %zu bytes accepted", i);
}

Test(table, rejects_unknown_type_letter)
{
	cr_assert(!proto_table_validate(T("\x01" "k" "X\x00")));
}

Test(table, rejects_unknown_type_letter_in_array)
{
	cr_assert(!proto_table_validate(T("\x01" "k" "A\x00\x00\x00\x01" "X")));
}

Test(table, rejects_zero_length_key)
{
	cr_assert(!proto_table_validate(T("\x00" "V")));
}

Test(table, accepts_255_byte_key)
{
	uint8_t	buf[257];

	buf[0] = 255;
	memset(buf + 1, 'k', 255);
	buf[256] = 'V';
	cr_assert(proto_table_validate((struct proto_table){ buf, sizeof(buf) }));
}

Test(table, rejects_key_longer_than_table)
{
	cr_assert(!proto_table_validate(T("\x05" "ab")));
}

Test(table, rejects_longstr_longer_than_table)
{
	cr_assert(!proto_table_validate(T("\x01" "k" "S\x00\x00\x00\x09" "ab")));
}

Test(table, rejects_nested_length_past_end)
{
	cr_assert(!proto_table_validate(T("\x01" "k" "F\xff\xff\xff\xff")));
}

Test(table, rejects_bad_entry_inside_nested_table)
{
	cr_assert(!proto_table_validate(T("\x01" "k" "F\x00\x00\x00\x02" "\x00" "V")));
}

Test(table, accepts_decimal_scale_over_nine)
{
	cr_assert(proto_table_validate(T("\x01" "k" "D\xff\x00\x00\x00\x01")));
}

Test(table, arrays_have_no_keys)
{
	cr_assert(proto_array_validate(T("V" "t\x01" "S\x00\x00\x00\x00")));
	cr_assert(!proto_array_validate(T("\x01" "k" "V")));
}

/*
 * Writes depth nested containers ({"a": F {"a": F ... {}}}), or arrays
 * (A [A [... []]]) when arrays is set, built from the inside out at the
 * end of a heap buffer; returns the outermost container body.
 */
static struct proto_table
nest(uint8_t **bufp, size_t depth, bool arrays)
{
	size_t		per = arrays ? 5 : 7, cap = depth * per, at = cap, body;
	uint8_t		*buf;
	size_t		i;

	buf = malloc(cap ? cap : 1);
	cr_assert_not_null(buf);
	for (i = 1; i < depth; i++) {
		body = cap - at;
		at -= 5;
		buf[at] = arrays ? 'A' : 'F';
		buf[at + 1] = (uint8_t)(body >> 24);
		buf[at + 2] = (uint8_t)(body >> 16);
		buf[at + 3] = (uint8_t)(body >> 8);
		buf[at + 4] = (uint8_t)body;
		if (!arrays) {
			at -= 2;
			buf[at] = 1;
			buf[at + 1] = 'a';
		}
	}
	*bufp = buf;
	return (struct proto_table){ buf + at, cap - at };
}

Test(table, rejects_nesting_100000_deep)
{
	uint8_t			*buf;
	struct proto_table	t = nest(&buf, 100000, false);

	cr_assert(!proto_table_validate(t));
	free(buf);
}

Test(table, rejects_array_nesting_100000_deep)
{
	uint8_t			*buf;
	struct proto_table	a = nest(&buf, 100000, true);

	cr_assert(!proto_array_validate(a));
	free(buf);
}

Test(table, accepts_nesting_at_max_depth)
{
	uint8_t			*buf;
	struct proto_table	t = nest(&buf, PROTO_TABLE_MAX_DEPTH, false);

	cr_assert(proto_table_validate(t));
	free(buf);
}

Test(table, rejects_nesting_one_past_max_depth)
{
	uint8_t			*buf;
	struct proto_table	t = nest(&buf, PROTO_TABLE_MAX_DEPTH + 1, false);

	cr_assert(!proto_table_validate(t));
	free(buf);
}

Test(table, validates_million_void_entries)
{
	size_t			n = 1000000, i, count = 0;
	uint8_t			*buf = malloc(n * 3);
	struct proto_table	t = { buf, n * 3 };
	struct proto_table_iter	it;
	struct proto_str	key;
	struct proto_field	f;

	cr_assert_not_null(buf);
	for (i = 0; i < n; i++) {
		buf[i * 3] = 1;
		buf[i * 3 + 1] = 'k';
		buf[i * 3 + 2] = 'V';
	}
	cr_assert(proto_table_validate(t));
	proto_table_iter_init(&it, t);
	while (proto_table_next(&it, &key, &f))
		count++;
	cr_assert_eq(count, n);
	free(buf);
}

Test(table, get_finds_keys)
{
	struct proto_table	t = T("\x01" "a" "I\x00\x00\x00\x01"
	    "\x02" "bb" "S\x00\x00\x00\x01" "z");
	struct proto_field	f;

	cr_assert(proto_table_validate(t));
	cr_assert(proto_table_get(t, "a", &f));
	cr_assert(f.kind == PROTO_FIELD_I32 && f.v.i == 1);
	cr_assert(proto_table_get(t, "bb", &f));
	cr_assert(f.kind == PROTO_FIELD_LONGSTR && proto_str_eqc(f.v.str, "z"));
}

Test(table, get_misses_absent_key)
{
	struct proto_table	t = T("\x01" "a" "V");
	struct proto_field	f;

	cr_assert(!proto_table_get(t, "b", &f));
	cr_assert(!proto_table_get(t, "aa", &f));
	cr_assert(!proto_table_get((struct proto_table){ NULL, 0 }, "a", &f));
}

Test(table, get_first_duplicate_wins)
{
	struct proto_table	t = T("\x01" "a" "b\x01" "\x01" "a" "b\x02");
	struct proto_field	f;

	cr_assert(proto_table_get(t, "a", &f));
	cr_assert_eq(f.v.i, 1);
}

Test(table, field_equal_needs_same_kind)
{
	struct proto_field	a = { .kind = PROTO_FIELD_I32, .v.i = 1 };
	struct proto_field	b = { .kind = PROTO_FIELD_I64, .v.i = 1 };
	struct proto_field	c = { .kind = PROTO_FIELD_I32, .v.i = 1 };

	cr_assert(!proto_field_equal(&a, &b));
	cr_assert(proto_field_equal(&a, &c));
}

Test(table, field_equal_compares_values)
{
	struct proto_field	a = { .kind = PROTO_FIELD_LONGSTR,
	    .v.str = PROTO_STR_LIT("ab") };
	struct proto_field	b = { .kind = PROTO_FIELD_LONGSTR,
	    .v.str = PROTO_STR_LIT("ac") };
	struct proto_field	d1 = { .kind = PROTO_FIELD_DECIMAL,
	    .v.dec = { 1, 10 } };
	struct proto_field	d2 = { .kind = PROTO_FIELD_DECIMAL,
	    .v.dec = { 0, 1 } };

	cr_assert(!proto_field_equal(&a, &b));
	cr_assert(proto_field_equal(&a, &a));
	cr_assert(!proto_field_equal(&d1, &d2));
}

Test(table, field_equal_tables_bytewise)
{
	struct proto_field	a = { .kind = PROTO_FIELD_TABLE,
	    .v.table = T("\x01" "a" "V") };
	struct proto_field	b = { .kind = PROTO_FIELD_TABLE,
	    .v.table = T("\x01" "a" "V") };
	struct proto_field	c = { .kind = PROTO_FIELD_TABLE,
	    .v.table = T("\x01" "b" "V") };
	struct proto_field	e = { .kind = PROTO_FIELD_ARRAY,
	    .v.table = T("\x01" "a" "V") };

	cr_assert(proto_field_equal(&a, &b));
	cr_assert(!proto_field_equal(&a, &c));
	cr_assert(!proto_field_equal(&a, &e));
}

Test(table, field_equal_nan_equals_itself)
{
	struct proto_field	a = { .kind = PROTO_FIELD_F64, .v.f64 = NAN };

	cr_assert(proto_field_equal(&a, &a));
}

Test(table, field_equal_void)
{
	struct proto_field	a = { .kind = PROTO_FIELD_VOID };
	struct proto_field	b = { .kind = PROTO_FIELD_VOID };

	cr_assert(proto_field_equal(&a, &b));
}

Test(table, field_int_accepts_integer_kinds)
{
	struct proto_field	f = { .kind = PROTO_FIELD_U16, .v.u = 60000 };
	int64_t			v;

	cr_assert(proto_field_int(&f, &v));
	cr_assert_eq(v, 60000);
	f.kind = PROTO_FIELD_I8;
	f.v.i = -3;
	cr_assert(proto_field_int(&f, &v));
	cr_assert_eq(v, -3);
}

Test(table, field_int_refuses_u64_past_int64_max)
{
	struct proto_field	f = { .kind = PROTO_FIELD_U64,
	    .v.u = (uint64_t)INT64_MAX + 1 };
	int64_t			v;

	cr_assert(!proto_field_int(&f, &v));
}

Test(table, field_int_refuses_non_integers)
{
	struct proto_field	s = { .kind = PROTO_FIELD_LONGSTR,
	    .v.str = PROTO_STR_LIT("1") };
	struct proto_field	d = { .kind = PROTO_FIELD_F64, .v.f64 = 1.0 };
	int64_t			v;

	cr_assert(!proto_field_int(&s, &v));
	cr_assert(!proto_field_int(&d, &v));
}

Test(table, bool_nonzero_octet_is_true)
{
	struct proto_field	f;

	cr_assert(proto_table_get(T("\x01" "k" "t\x07"), "k", &f));
	cr_assert(f.v.b);
}
