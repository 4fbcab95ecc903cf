/*
 * compat: the hash in a binding's properties_key, as RabbitMQ's management
 * plugin computes it: erlang:phash2(Args, 1 bsl 32) of the binding's
 * arguments as the Erlang term rabbit_binary_parser makes of them, a list
 * of {Key, Type, Value} sorted by key. phash2 is the Erlang VM's portable
 * term hash (make_hash2, after Bob Jenkins's lookup2 mix); the parts a
 * field table can become are written out here from its published
 * definition: tuples, proper lists, binaries, atoms, integers and floats.
 * Checked against RabbitMQ 3.10's answers for strings, longs, signed
 * ints, booleans, arrays, nested tables and bignums.
 *
 * compat: RabbitMQ sorts the top-level arguments only; a nested table
 * given in JSON comes from an Erlang map, whose keys come out sorted,
 * while warren keeps the document's order, so such a table hashes as
 * RabbitMQ's only when its keys are in order.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "admin/api_amqp.h"
#include "protocol/table.h"

#define GOLDEN		0x9e3779b9u
/* The constants of each kind of term: GOLDEN * n (mod 2^32). */
#define K(n)		((uint32_t)(GOLDEN * (uint32_t)(n)))

/* Bob Jenkins's mix of three 32-bit words. */
static void
mix(uint32_t *a, uint32_t *b, uint32_t *c)
{
	*a -= *b; *a -= *c; *a ^= *c >> 13;
	*b -= *c; *b -= *a; *b ^= *a << 8;
	*c -= *a; *c -= *b; *c ^= *b >> 13;
	*a -= *b; *a -= *c; *a ^= *c >> 12;
	*b -= *c; *b -= *a; *b ^= *a << 16;
	*c -= *a; *c -= *b; *c ^= *b >> 5;
	*a -= *b; *a -= *c; *a ^= *c >> 3;
	*b -= *c; *b -= *a; *b ^= *a << 10;
	*c -= *a; *c -= *b; *c ^= *b >> 15;
}

/* Folds two words, each offset by k, into the running hash h. */
static uint32_t
fold(uint32_t h, uint32_t x, uint32_t y, uint32_t k)
{
	uint32_t a = k + x, b = k + y;

	mix(&a, &b, &h);
	return h;
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* A binary's bytes, 12 at a time, then the rest with the length. */
static uint32_t
block(const uint8_t *p, size_t n, uint32_t init)
{
	uint32_t a = GOLDEN, b = GOLDEN, c = init;
	size_t k = 0;

	for (; n - k >= 12; k += 12) {
		a += le32(p + k);
		b += le32(p + k + 4);
		c += le32(p + k + 8);
		mix(&a, &b, &c);
	}
	c += (uint32_t)n;
	for (size_t i = 0; k + i < n; i++) {
		uint32_t v = p[k + i];

		if (i < 4)
			a += v << (8 * i);
		else if (i < 8)
			b += v << (8 * (i - 4));
		else	/* the low byte of c holds the length */
			c += v << (8 * (i - 7));
	}
	mix(&a, &b, &c);
	return c;
}

static uint32_t
hash_binary(uint32_t h, const uint8_t *p, size_t n)
{
	uint32_t con = K(13) + h;

	return n == 0 ? con : block(p, n, con);
}

/* An atom's table hash: ELF hashpjw of its name (names here are ASCII). */
static uint32_t
hash_atom(uint32_t h, const char *name)
{
	uint32_t v = 0, g;

	for (const char *p = name; *p != '\0'; p++) {
		v = (v << 4) + (uint8_t)*p;
		if ((g = v & 0xf0000000u) != 0) {
			v ^= g >> 24;
			v ^= g;
		}
	}
	return h == 0 ? v : fold(h, v, 0, K(3));
}

static uint32_t
hash_int(uint32_t h, int64_t v, bool negative, uint64_t magnitude)
{
	/* Small integers of 28 bits, then anything up to 64 bits. */
	if (!negative && magnitude < (1u << 27)) {
		return fold(h, (uint32_t)magnitude, 0, GOLDEN);
	}
	if (negative && magnitude <= (1u << 27)) {
		/* compat: the VM mixes a negative one twice. */
		h = fold(h, (uint32_t)magnitude, 0, GOLDEN);
		return fold(h, (uint32_t)v, 0, GOLDEN);
	}
	return fold(h, (uint32_t)magnitude, (uint32_t)(magnitude >> 32),
	    negative ? K(10) : K(11));
}

static uint32_t
hash_signed(uint32_t h, int64_t v)
{
	return hash_int(h, v, v < 0, v < 0 ? (uint64_t)0 - (uint64_t)v :
	    (uint64_t)v);
}

static uint32_t
hash_double(uint32_t h, double d)
{
	uint64_t bits = 0;

	if (d != 0.0)	/* -0.0 hashes as 0.0 */
		memcpy(&bits, &d, sizeof(bits));
	return fold(h, (uint32_t)(bits >> 32), (uint32_t)bits, K(12));
}

static uint32_t
tuple(uint32_t h, uint32_t arity)
{
	return fold(h, arity, 0, K(9));
}

/* The end of a proper list. */
static uint32_t
nil(uint32_t h)
{
	return h == 0 ? 3468870702u : fold(h, 2, 0, K(2));
}

static uint32_t	hash_table(uint32_t h, struct proto_table t, bool sort);

/* RabbitMQ's name of a field kind (rabbit_binary_parser) and its value. */
static uint32_t
hash_typed(uint32_t h, const struct proto_field *f)
{
	struct proto_table_iter it;
	struct proto_field e;

	switch (f->kind) {
	case PROTO_FIELD_BOOL:
		h = hash_atom(h, "bool");
		return hash_atom(h, f->v.b ? "true" : "false");
	case PROTO_FIELD_I8:
		return hash_signed(hash_atom(h, "byte"), f->v.i);
	case PROTO_FIELD_U8:
		return hash_signed(hash_atom(h, "unsignedbyte"),
		    (int64_t)f->v.u);
	case PROTO_FIELD_I16:
		return hash_signed(hash_atom(h, "short"), f->v.i);
	case PROTO_FIELD_U16:
		return hash_signed(hash_atom(h, "unsignedshort"),
		    (int64_t)f->v.u);
	case PROTO_FIELD_I32:
		return hash_signed(hash_atom(h, "signedint"), f->v.i);
	case PROTO_FIELD_U32:
		return hash_signed(hash_atom(h, "unsignedint"),
		    (int64_t)f->v.u);
	case PROTO_FIELD_I64:
		return hash_signed(hash_atom(h, "long"), f->v.i);
	case PROTO_FIELD_U64:	/* rabbitmq-c's 'L': a long to RabbitMQ */
		return hash_int(hash_atom(h, "long"), (int64_t)f->v.u, false,
		    f->v.u);
	case PROTO_FIELD_TIMESTAMP:
		return hash_int(hash_atom(h, "timestamp"), (int64_t)f->v.u,
		    false, f->v.u);
	case PROTO_FIELD_F32:
		return hash_double(hash_atom(h, "float"), f->v.f32);
	case PROTO_FIELD_F64:
		return hash_double(hash_atom(h, "double"), f->v.f64);
	case PROTO_FIELD_DECIMAL:
		h = tuple(hash_atom(h, "decimal"), 2);
		h = hash_signed(h, f->v.dec.scale);
		return hash_signed(h, f->v.dec.value);
	case PROTO_FIELD_LONGSTR:
		return hash_binary(hash_atom(h, "longstr"), f->v.str.p,
		    f->v.str.len);
	case PROTO_FIELD_BYTES:
		return hash_binary(hash_atom(h, "binary"), f->v.str.p,
		    f->v.str.len);
	case PROTO_FIELD_TABLE:
		return hash_table(hash_atom(h, "table"), f->v.table, false);
	case PROTO_FIELD_ARRAY:
		h = hash_atom(h, "array");
		proto_table_iter_init(&it, f->v.table);
		while (proto_array_next(&it, &e))
			h = hash_typed(tuple(h, 2), &e);
		return nil(h);
	default:	/* void */
		return hash_atom(hash_atom(h, "void"), "undefined");
	}
}

struct entry {
	struct proto_str	key;
	struct proto_field	val;
	size_t			idx;	/* place in the table */
};

static int
by_key(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;
	size_t n = a->key.len < b->key.len ? a->key.len : b->key.len;
	int c = memcmp(a->key.p, b->key.p, n);

	if (c != 0)
		return c;
	if (a->key.len != b->key.len)
		return a->key.len < b->key.len ? -1 : 1;
	/* Stable, as lists:keysort: the earlier one first. */
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static uint32_t
hash_table(uint32_t h, struct proto_table t, bool sort)
{
	struct proto_table_iter it;
	struct entry *v = NULL, one;
	size_t n = 0, cap = 0;

	if (!sort) {
		proto_table_iter_init(&it, t);
		while (proto_table_next(&it, &one.key, &one.val)) {
			h = tuple(h, 3);
			h = hash_binary(h, one.key.p, one.key.len);
			h = hash_typed(h, &one.val);
		}
		return nil(h);
	}
	proto_table_iter_init(&it, t);
	while (proto_table_next(&it, &one.key, &one.val)) {
		if (n == cap) {
			struct entry *nv = realloc(v, (cap = cap ? 2 * cap :
			    8) * sizeof(*v));

			if (nv == NULL) {
				free(v);
				return 0;	/* out of memory: any value */
			}
			v = nv;
		}
		one.idx = n;
		v[n++] = one;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), by_key);
	for (size_t i = 0; i < n; i++) {
		h = tuple(h, 3);
		h = hash_binary(h, v[i].key.p, v[i].key.len);
		h = hash_typed(h, &v[i].val);
	}
	free(v);
	return nil(h);
}

uint32_t
api_args_phash2(struct proto_table args)
{
	return hash_table(0, args, true);
}
