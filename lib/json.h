/*
 * A strict JSON (RFC 8259) reader into a small DOM, and a streaming writer.
 *
 * The reader takes untrusted input (definitions files, admin API bodies), so
 * everything it allocates is bounded: input size, nesting depth, string
 * length and the total number of nodes are capped by struct json_limits. It
 * rejects what RFC 8259 does not allow (trailing garbage, leading zeros,
 * bad escapes, raw control characters, invalid UTF-8, lone surrogates) and,
 * beyond the RFC, duplicate object keys and numbers that overflow a double.
 *
 * Strings keep an explicit length: "\u0000" is the only way a NUL gets in,
 * and every string is also NUL-terminated for convenience.
 */
#ifndef WARREN_LIB_JSON_H
#define WARREN_LIB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;	/* lib/buf.h */

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json;	/* one node; opaque */

struct json_limits {
	size_t	max_input;	/* bytes of text */
	size_t	max_depth;	/* arrays and objects nested inside each other */
	size_t	max_string;	/* decoded bytes of one string or key */
	size_t	max_nodes;	/* values in the whole document */
};

/* json_parse()'s limits: 16 MiB, depth 64, 1 MiB strings, 1M nodes. */
extern const struct json_limits json_default_limits;

/*
 * Parses len bytes of text (no NUL needed) as one JSON value. Returns the
 * root, owned by the caller (json_free), or NULL with err set to
 * "line L col C: what" (columns count bytes, from 1).
 */
struct json	*json_parse(const char *text, size_t len, char *err,
		    size_t errlen);
/* The same with caller-given limits. */
struct json	*json_parse_limits(const char *text, size_t len,
		    const struct json_limits *lim, char *err, size_t errlen);
/* Frees a root returned by json_parse; NULL is fine. */
void		 json_free(struct json *j);

enum json_type	 json_type(const struct json *j);
/* Name of a type for messages: "null", "a boolean", "a number", ... */
const char	*json_type_name(enum json_type t);

/* Members of an object (by key), NULL if absent or j is not an object. */
const struct json *json_get(const struct json *obj, const char *key);
/* Elements of an array or members of an object; 0 for scalars. */
size_t		 json_len(const struct json *j);
/* The i-th element of an array; NULL if out of range or not an array. */
const struct json *json_at(const struct json *arr, size_t i);
/* The i-th key and value of an object, in document order. */
const char	*json_key_at(const struct json *obj, size_t i, size_t *len);
const struct json *json_value_at(const struct json *obj, size_t i);

/*
 * Scalar accessors. The pointers stay valid until json_free of the root.
 * json_str returns NULL for non-strings; the string is NUL-terminated but
 * may contain NULs, so use *len when it matters (len may be NULL).
 */
const char	*json_str(const struct json *j, size_t *len);
bool		 json_bool(const struct json *j);	/* false if not a bool */
/* True, with *out set, if j is a number written as an integer (no fraction
 * or exponent) that fits an int64_t. */
bool		 json_int(const struct json *j, int64_t *out);
double		 json_num(const struct json *j);	/* 0 if not a number */
/* True if j is a number written without fraction or exponent, even one too
 * big for json_int. */
bool		 json_is_integral(const struct json *j);

/*
 * Streaming writer appending to a caller-owned struct buf (whose cap bounds
 * the output). Calls after an error are ignored; json_writer_done reports
 * it once at the end. Nesting is limited to JSON_WRITER_MAX_DEPTH.
 *
 * Strings are bytes with an explicit length. Invalid UTF-8 is written as
 * \uFFFD, one per bad byte: the output is always valid JSON, and a stray
 * 0xE9 does not silently become U+00E9 as \u00E9 would suggest.
 */
#define JSON_WRITER_MAX_DEPTH	64

struct json_writer {
	struct buf	*out;
	size_t		 depth;		/* open arrays and objects */
	uint64_t	 nonempty;	/* bit d-1: container at depth d has items */
	uint64_t	 objects;	/* bit d-1: container at depth d is an object */
	bool		 after_key;	/* next value is a member's value */
	bool		 top_done;	/* the one top-level value has started */
	bool		 err;		/* out of room or misuse */
};

void	json_writer_init(struct json_writer *w, struct buf *out);
void	json_w_begin_object(struct json_writer *w);
void	json_w_end_object(struct json_writer *w);
void	json_w_begin_array(struct json_writer *w);
void	json_w_end_array(struct json_writer *w);
/* A member key; must be followed by exactly one value. */
void	json_w_key(struct json_writer *w, const char *s, size_t len);
void	json_w_string(struct json_writer *w, const char *s, size_t len);
/* NUL-terminated conveniences. */
void	json_w_keyc(struct json_writer *w, const char *s);
void	json_w_stringc(struct json_writer *w, const char *s);
void	json_w_int(struct json_writer *w, int64_t v);
void	json_w_uint(struct json_writer *w, uint64_t v);
/* Round-tripping decimal form; NaN and infinities are written as null. */
void	json_w_double(struct json_writer *w, double v);
void	json_w_bool(struct json_writer *w, bool v);
/*
 * v with exactly decimals digits after the point ("0.0", "12.5"): a JSON
 * number that float-typed decoders take as one; null when not finite.
 */
void	json_w_fixed(struct json_writer *w, double v, int decimals);
void	json_w_null(struct json_writer *w);
/*
 * One complete value already written as JSON text by a json_writer (a
 * listing's stored item): copied as it is, not checked again.
 */
void	json_w_raw(struct json_writer *w, const char *text, size_t len);
/* A parsed value written again as it is (an integer stays one). */
void	json_w_value(struct json_writer *w, const struct json *v);
/* 0 if everything written so far is one complete, valid value; else -1. */
int	json_writer_done(const struct json_writer *w);

#endif /* WARREN_LIB_JSON_H */
