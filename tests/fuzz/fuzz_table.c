#include "autoconf.h"

/*
 * libFuzzer target (RELIABILITY T7 c): field tables and arrays.
 *
 * Input: the bytes of a table (what follows its u32 length), which are
 * also tried as the bytes of an array.
 *
 * Invariants (any violation is __builtin_trap()):
 *  - iterating a validated container never fails before its end, every
 *    key is 1..255 bytes, every view lies inside the input, and nested
 *    containers validate on their own and nest at most
 *    PROTO_TABLE_MAX_DEPTH deep;
 *  - proto_table_get finds every key (without a NUL) and returns the value
 *    of its first occurrence; proto_field_equal is reflexive;
 *    proto_field_int succeeds exactly for the integer kinds that fit;
 *  - re-encoding every entry with proto_field_write gives exactly as many
 *    bytes as the input into a buffer of exactly that size, the result
 *    validates and iterates to equal fields; a writer one byte short
 *    reports overflow instead of writing past its end (the buffers are
 *    exact-size heap blocks, so ASan sees any stray write); the table
 *    builders (proto_table_begin, _key, _put_longstr, _put_bool,
 *    _put_i64, _end) produce the same bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/table.h"
#include "protocol/wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

/* Lookups per table: proto_table_get is linear, keep the walk linear too. */
#define GET_CHECKS	32

/* The input buffer, for "every view lies inside it" checks. */
struct span {
	const uint8_t	*p;
	size_t		 len;
};

static bool
inside(struct span in, const uint8_t *p, size_t len)
{
	if (len == 0)
		return true;
	return p >= in.p && len <= in.len && p - in.p <= (ptrdiff_t)(in.len - len);
}

static void	walk(struct span in, struct proto_table t, bool is_array,
		    int depth, struct proto_writer *w);

/* Checks one value and writes it again; recurses into containers. */
static void
check_field(struct span in, const struct proto_field *f, int depth,
    struct proto_writer *w)
{
	struct proto_field	copy;
	int64_t			i;
	bool			is_int;

	CHECK(proto_field_equal(f, f));
	copy = *f;
	CHECK(proto_field_equal(f, &copy) && proto_field_equal(&copy, f));
	is_int = proto_field_int(f, &i);
	switch (f->kind) {
	case PROTO_FIELD_I8:
	case PROTO_FIELD_I16:
	case PROTO_FIELD_I32:
	case PROTO_FIELD_I64:
		CHECK(is_int && i == f->v.i);
		break;
	case PROTO_FIELD_U8:
	case PROTO_FIELD_U16:
	case PROTO_FIELD_U32:
		CHECK(is_int && i >= 0 && (uint64_t)i == f->v.u);
		break;
	case PROTO_FIELD_U64:
		CHECK(is_int == (f->v.u <= (uint64_t)INT64_MAX));
		if (is_int)
			CHECK((uint64_t)i == f->v.u);
		break;
	case PROTO_FIELD_LONGSTR:
	case PROTO_FIELD_BYTES:
		CHECK(!is_int);
		CHECK(inside(in, f->v.str.p, f->v.str.len));
		break;
	case PROTO_FIELD_TABLE:
	case PROTO_FIELD_ARRAY:
		CHECK(!is_int);
		CHECK(inside(in, f->v.table.p, f->v.table.len));
		CHECK(depth < PROTO_TABLE_MAX_DEPTH);
		if (f->kind == PROTO_FIELD_TABLE)
			CHECK(proto_table_validate(f->v.table));
		else
			CHECK(proto_array_validate(f->v.table));
		walk(in, f->v.table, f->kind == PROTO_FIELD_ARRAY, depth + 1,
		    NULL);
		break;
	default:
		CHECK(!is_int);
		break;
	}
	if (w != NULL)
		proto_field_write(w, f);
}

/* Copies a key into a C string; false if it holds a NUL (not findable). */
static bool
key_cstr(struct proto_str k, char *buf)
{
	if (memchr(k.p, '\0', k.len) != NULL)
		return false;
	memcpy(buf, k.p, k.len);
	buf[k.len] = '\0';
	return true;
}

/* The first entry with key k, by a second iteration. */
static bool
first_with_key(struct proto_table t, struct proto_str k, struct proto_field *out)
{
	struct proto_table_iter	it;
	struct proto_str	key;

	proto_table_iter_init(&it, t);
	while (proto_table_next(&it, &key, out))
		if (proto_str_eq(key, k))
			return true;
	return false;
}

/*
 * Iterates a validated container at nesting level depth (the top is 1).
 * With w set, writes every entry back (keys too) for the re-encoding check.
 */
static void
walk(struct span in, struct proto_table t, bool is_array, int depth,
    struct proto_writer *w)
{
	struct proto_table_iter	it;
	struct proto_str	key;
	struct proto_field	f, got, first;
	char			kbuf[256];
	size_t			n = 0;

	CHECK(depth >= 1 && depth <= PROTO_TABLE_MAX_DEPTH);
	proto_table_iter_init(&it, t);
	for (;;) {
		if (is_array) {
			if (!proto_array_next(&it, &f))
				break;
		} else {
			if (!proto_table_next(&it, &key, &f))
				break;
			CHECK(key.len >= 1 && key.len <= 255);
			CHECK(inside(in, key.p, key.len));
			if (n < GET_CHECKS && key_cstr(key, kbuf)) {
				CHECK(proto_table_get(t, kbuf, &got));
				CHECK(first_with_key(t, key, &first));
				CHECK(proto_field_equal(&got, &first));
			}
			if (w != NULL)
				proto_write_shortstr(w, key);
		}
		check_field(in, &f, depth, w);
		n++;
	}
	/* A validated container iterates to its very end. */
	CHECK(it.r.len == 0);
}

/*
 * Builds a validated table again with the table builders (the way the
 * broker writes its own tables) and checks it against the field writer's
 * copy in want[0..len). Skipped when a key holds a NUL: the builders take
 * C strings.
 */
static void
build_table(struct proto_table t, const uint8_t *want, size_t len)
{
	struct proto_table_iter	 it;
	struct proto_writer	 w;
	struct proto_str	 key;
	struct proto_field	 f;
	char			 kbuf[256], *sval;
	uint8_t			*buf;
	size_t			 at;

	if ((buf = malloc(len + 4)) == NULL)
		abort();
	w = proto_writer(buf, len + 4);
	at = proto_table_begin(&w);
	CHECK(at == 0);
	proto_table_iter_init(&it, t);
	while (proto_table_next(&it, &key, &f)) {
		if (!key_cstr(key, kbuf))
			goto out;
		if (f.kind == PROTO_FIELD_LONGSTR &&
		    memchr(f.v.str.p, '\0', f.v.str.len) == NULL) {
			if ((sval = malloc(f.v.str.len + 1)) == NULL)
				abort();
			memcpy(sval, f.v.str.p, f.v.str.len);
			sval[f.v.str.len] = '\0';
			proto_table_put_longstr(&w, kbuf, sval);
			free(sval);
		} else if (f.kind == PROTO_FIELD_BOOL) {
			proto_table_put_bool(&w, kbuf, f.v.b);
		} else if (f.kind == PROTO_FIELD_I64) {
			proto_table_put_i64(&w, kbuf, f.v.i);
		} else {
			proto_table_key(&w, kbuf);
			proto_field_write(&w, &f);
		}
	}
	proto_table_end(&w, at);
	CHECK(!w.overflow && w.len == len + 4);
	CHECK(buf[0] == (uint8_t)(len >> 24) && buf[1] == (uint8_t)(len >> 16) &&
	    buf[2] == (uint8_t)(len >> 8) && buf[3] == (uint8_t)len);
	CHECK(len == 0 || memcmp(buf + 4, want, len) == 0);
out:
	free(buf);
}

/* Re-encodes a validated container and checks the copy. */
static void
reencode(struct span in, struct proto_table t, bool is_array)
{
	struct proto_table_iter	 a, b;
	struct proto_writer	 w;
	struct proto_str	 ka, kb;
	struct proto_field	 fa, fb;
	struct proto_table	 copy;
	uint8_t			*buf;
	bool			 more_a, more_b;

	if ((buf = malloc(t.len > 0 ? t.len : 1)) == NULL)
		abort();
	w = proto_writer(buf, t.len);
	walk(in, t, is_array, 1, &w);
	CHECK(!w.overflow && w.len == t.len);
	copy = (struct proto_table){ buf, w.len };
	if (!is_array)
		build_table(t, buf, w.len);
	CHECK(is_array ? proto_array_validate(copy) :
	    proto_table_validate(copy));

	/* Lockstep: the copy holds equal keys and values in the same order. */
	proto_table_iter_init(&a, t);
	proto_table_iter_init(&b, copy);
	for (;;) {
		if (is_array) {
			more_a = proto_array_next(&a, &fa);
			more_b = proto_array_next(&b, &fb);
		} else {
			more_a = proto_table_next(&a, &ka, &fa);
			more_b = proto_table_next(&b, &kb, &fb);
			if (more_a && more_b)
				CHECK(proto_str_eq(ka, kb));
		}
		CHECK(more_a == more_b);
		if (!more_a)
			break;
		CHECK(proto_field_equal(&fa, &fb));
	}

	/* One byte short: overflow is reported, nothing lands past the end. */
	if (t.len > 0) {
		free(buf);
		if ((buf = malloc(t.len > 1 ? t.len - 1 : 1)) == NULL)
			abort();
		w = proto_writer(buf, t.len - 1);
		walk(in, t, is_array, 1, &w);
		CHECK(w.overflow && w.len <= t.len - 1);
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span		in = { data, size };
	struct proto_table	t = { data, size };
	struct proto_field	f;

	if (proto_table_validate(t))
		reencode(in, t, false);
	if (proto_array_validate(t))
		reencode(in, t, true);
	/* Lookups on an unvalidated table must stay in bounds too. */
	(void)proto_table_get(t, "x-match", &f);
	return 0;
}
