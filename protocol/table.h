/*
 * AMQP field tables and arrays with RabbitMQ's type letters.
 *
 * Tables arrive as raw views (struct proto_table). proto_table_validate()
 * walks one completely, with a nesting limit and an entry budget, before
 * anything else looks inside it; the iterators below then trust the bytes.
 */
#ifndef WARREN_PROTOCOL_TABLE_H
#define WARREN_PROTOCOL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/wire.h"

/* compat: RabbitMQ's letters (rabbit_binary_parser), not the 0-9-1 PDF's. */
enum proto_field_kind {
	PROTO_FIELD_BOOL = 't',
	PROTO_FIELD_I8 = 'b',
	PROTO_FIELD_U8 = 'B',
	PROTO_FIELD_I16 = 's',
	PROTO_FIELD_U16 = 'u',
	PROTO_FIELD_I32 = 'I',
	PROTO_FIELD_U32 = 'i',
	PROTO_FIELD_I64 = 'l',
	PROTO_FIELD_U64 = 'L',		/* rabbitmq-c sends it; accepted */
	PROTO_FIELD_F32 = 'f',
	PROTO_FIELD_F64 = 'd',
	PROTO_FIELD_DECIMAL = 'D',
	PROTO_FIELD_LONGSTR = 'S',
	PROTO_FIELD_BYTES = 'x',
	PROTO_FIELD_ARRAY = 'A',
	PROTO_FIELD_TIMESTAMP = 'T',
	PROTO_FIELD_TABLE = 'F',
	PROTO_FIELD_VOID = 'V',
};

/* Tables inside arrays inside tables nest at most this deep (rabbitmq-c: 100). */
#define PROTO_TABLE_MAX_DEPTH	64

/* One decoded field value; strings, tables and arrays are views. */
struct proto_field {
	uint8_t			kind;		/* enum proto_field_kind */
	union {
		bool		b;
		int64_t		i;		/* b s I l (signed kinds) */
		uint64_t	u;		/* B u i L T (unsigned kinds) */
		float		f32;
		double		f64;
		struct {
			uint8_t		scale;
			uint32_t	value;
		} dec;
		struct proto_str	str;	/* S x */
		struct proto_table	table;	/* F: table bytes; A: array bytes */
	} v;
};

/*
 * Checks that t is a well-formed table: every key a shortstr of 1..255
 * bytes, every value a known type letter with enough bytes, nesting at most
 * PROTO_TABLE_MAX_DEPTH. Returns true if it is.
 */
bool	proto_table_validate(struct proto_table t);
/* The same for the bytes of an array ('A' contents). */
bool	proto_array_validate(struct proto_table a);

/* Iterates a validated table. */
struct proto_table_iter {
	struct proto_reader	r;
};
void	proto_table_iter_init(struct proto_table_iter *it, struct proto_table t);
/* Returns false at the end (or on malformed bytes). */
bool	proto_table_next(struct proto_table_iter *it, struct proto_str *key,
	    struct proto_field *val);
/* Iterates a validated array ('A' contents), same iterator type. */
bool	proto_array_next(struct proto_table_iter *it, struct proto_field *val);

/* Looks a key up in a validated table; the first match wins. */
bool	proto_table_get(struct proto_table t, const char *key,
	    struct proto_field *val);

/* compat: RabbitMQ's name of a field kind ("signedint", "longstr"). */
const char *proto_field_kind_name(uint8_t kind);
/* Integer value of any integer kind; false for other kinds. */
bool	proto_field_int(const struct proto_field *f, int64_t *out);
/* Whether two field values are equal by kind and value (tables: bytewise). */
bool	proto_field_equal(const struct proto_field *a, const struct proto_field *b);

/*
 * Table building on a proto_writer: begin returns the offset of the length,
 * end patches it. Values are written after their key.
 */
size_t	proto_table_begin(struct proto_writer *w);
void	proto_table_end(struct proto_writer *w, size_t at);
void	proto_table_key(struct proto_writer *w, const char *key);
void	proto_table_put_longstr(struct proto_writer *w, const char *key,
	    const char *val);
void	proto_table_put_bool(struct proto_writer *w, const char *key, bool val);
void	proto_table_put_i64(struct proto_writer *w, const char *key, int64_t val);
/* Writes one field value (type letter and payload), e.g. inside an array. */
void	proto_field_write(struct proto_writer *w, const struct proto_field *f);

#endif /* WARREN_PROTOCOL_TABLE_H */
