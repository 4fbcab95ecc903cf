/*
 * AMQP field tables and arrays: validation, iteration, lookup, building.
 *
 * Every read of untrusted bytes goes through the proto_reader helpers of
 * protocol/wire.h. Validation is iterative with a fixed-size stack of
 * readers (one per nesting level), so neither deep nesting nor a huge
 * number of entries can exhaust the C stack or allocate memory.
 */
#include "autoconf.h"

#include "protocol/table.h"

#include <string.h>

/*
 * Payload size of the fixed-width kinds; 0 for V (no payload); -1 for the
 * kinds whose size comes from a length prefix (S x A F) and for unknown
 * letters, which the callers tell apart.
 */
static int
fixed_size(uint8_t kind)
{
	switch (kind) {
	case PROTO_FIELD_VOID:
		return 0;
	case PROTO_FIELD_BOOL:
	case PROTO_FIELD_I8:
	case PROTO_FIELD_U8:
		return 1;
	case PROTO_FIELD_I16:
	case PROTO_FIELD_U16:
		return 2;
	case PROTO_FIELD_I32:
	case PROTO_FIELD_U32:
	case PROTO_FIELD_F32:
		return 4;
	case PROTO_FIELD_DECIMAL:
		return 5;		/* scale u8 + value u32 */
	case PROTO_FIELD_I64:
	case PROTO_FIELD_U64:
	case PROTO_FIELD_F64:
	case PROTO_FIELD_TIMESTAMP:
		return 8;
	default:
		return -1;
	}
}

static bool
is_known_kind(uint8_t kind)
{
	switch (kind) {
	case PROTO_FIELD_LONGSTR:
	case PROTO_FIELD_BYTES:
	case PROTO_FIELD_ARRAY:
	case PROTO_FIELD_TABLE:
		return true;
	default:
		return fixed_size(kind) >= 0;
	}
}

/*
 * One open container during validation. Tables have a key before each
 * value, arrays do not.
 */
struct vframe {
	struct proto_reader	r;
	bool			is_array;
};

/*
 * Validates a table or array without recursion. The top container is level
 * 1; a table or array inside it is level 2, and so on up to
 * PROTO_TABLE_MAX_DEPTH. A deeper container is rejected as soon as its
 * header is seen, so a 10^5-deep input costs only 64 levels of work.
 *
 * Work is linear in the input: every step consumes at least one byte (a
 * type letter), so the entry budget is the input length itself and no
 * separate counter is needed.
 */
static bool
validate(struct proto_table top, bool is_array)
{
	struct vframe	 st[PROTO_TABLE_MAX_DEPTH];
	size_t		 depth = 1;

	st[0].r = proto_reader(top.p, top.len);
	st[0].is_array = is_array;

	while (depth > 0) {
		struct vframe	*f = &st[depth - 1];
		struct proto_str key, s;
		struct proto_table sub;
		const uint8_t	*skip;
		uint8_t		 kind;
		int		 sz;

		if (f->r.len == 0) {
			depth--;
			continue;
		}
		if (!f->is_array) {
			if (!proto_read_shortstr(&f->r, &key))
				return false;
			/*
			 * spec: field names are shortstr; compat: RabbitMQ
			 * rejects empty ones (they cannot be looked up by
			 * any client API either).
			 */
			if (key.len == 0)
				return false;
		}
		if (!proto_read_u8(&f->r, &kind))
			return false;
		switch (kind) {
		case PROTO_FIELD_LONGSTR:
		case PROTO_FIELD_BYTES:
			if (!proto_read_longstr(&f->r, &s))
				return false;
			break;
		case PROTO_FIELD_ARRAY:
		case PROTO_FIELD_TABLE:
			if (!proto_read_table(&f->r, &sub))
				return false;
			if (depth == PROTO_TABLE_MAX_DEPTH)
				return false;
			st[depth].r = proto_reader(sub.p, sub.len);
			st[depth].is_array = kind == PROTO_FIELD_ARRAY;
			depth++;
			break;
		default:
			/*
			 * compat: a decimal's scale is not range-checked;
			 * RabbitMQ passes any scale through unchanged.
			 */
			sz = fixed_size(kind);
			if (sz < 0)
				return false;
			if (!proto_read_bytes(&f->r, (size_t)sz, &skip))
				return false;
			break;
		}
	}
	return true;
}

bool
proto_table_validate(struct proto_table t)
{
	return validate(t, false);
}

bool
proto_array_validate(struct proto_table a)
{
	return validate(a, true);
}

void
proto_table_iter_init(struct proto_table_iter *it, struct proto_table t)
{
	it->r = proto_reader(t.p, t.len);
}

/* Reads one type letter and its payload. */
static bool
read_field(struct proto_reader *r, struct proto_field *val)
{
	uint8_t		u8;
	uint16_t	u16;
	uint32_t	u32;
	uint64_t	u64;

	memset(val, 0, sizeof(*val));
	if (!proto_read_u8(r, &val->kind))
		return false;
	switch (val->kind) {
	case PROTO_FIELD_BOOL:
		if (!proto_read_u8(r, &u8))
			return false;
		/* compat: any non-zero octet is true, as in RabbitMQ. */
		val->v.b = u8 != 0;
		return true;
	case PROTO_FIELD_I8:
		if (!proto_read_u8(r, &u8))
			return false;
		val->v.i = (int8_t)u8;
		return true;
	case PROTO_FIELD_U8:
		if (!proto_read_u8(r, &u8))
			return false;
		val->v.u = u8;
		return true;
	case PROTO_FIELD_I16:
		if (!proto_read_u16(r, &u16))
			return false;
		val->v.i = (int16_t)u16;
		return true;
	case PROTO_FIELD_U16:
		if (!proto_read_u16(r, &u16))
			return false;
		val->v.u = u16;
		return true;
	case PROTO_FIELD_I32:
		if (!proto_read_u32(r, &u32))
			return false;
		val->v.i = (int32_t)u32;
		return true;
	case PROTO_FIELD_U32:
		if (!proto_read_u32(r, &u32))
			return false;
		val->v.u = u32;
		return true;
	case PROTO_FIELD_I64:
		if (!proto_read_u64(r, &u64))
			return false;
		val->v.i = (int64_t)u64;
		return true;
	case PROTO_FIELD_U64:
	case PROTO_FIELD_TIMESTAMP:
		if (!proto_read_u64(r, &u64))
			return false;
		val->v.u = u64;
		return true;
	case PROTO_FIELD_F32:
		if (!proto_read_u32(r, &u32))
			return false;
		memcpy(&val->v.f32, &u32, sizeof(val->v.f32));
		return true;
	case PROTO_FIELD_F64:
		if (!proto_read_u64(r, &u64))
			return false;
		memcpy(&val->v.f64, &u64, sizeof(val->v.f64));
		return true;
	case PROTO_FIELD_DECIMAL:
		if (!proto_read_u8(r, &val->v.dec.scale) ||
		    !proto_read_u32(r, &val->v.dec.value))
			return false;
		return true;
	case PROTO_FIELD_LONGSTR:
	case PROTO_FIELD_BYTES:
		return proto_read_longstr(r, &val->v.str);
	case PROTO_FIELD_ARRAY:
	case PROTO_FIELD_TABLE:
		return proto_read_table(r, &val->v.table);
	case PROTO_FIELD_VOID:
		return true;
	default:
		return false;
	}
}

bool
proto_table_next(struct proto_table_iter *it, struct proto_str *key,
    struct proto_field *val)
{
	if (it->r.len == 0)
		return false;
	if (!proto_read_shortstr(&it->r, key) || !read_field(&it->r, val)) {
		/* Stop for good rather than resync inside garbage. */
		it->r.len = 0;
		return false;
	}
	return true;
}

bool
proto_array_next(struct proto_table_iter *it, struct proto_field *val)
{
	if (it->r.len == 0)
		return false;
	if (!read_field(&it->r, val)) {
		it->r.len = 0;
		return false;
	}
	return true;
}

bool
proto_table_get(struct proto_table t, const char *key, struct proto_field *val)
{
	struct proto_table_iter	it;
	struct proto_str	k;
	struct proto_field	f;
	struct proto_str	want = proto_str_c(key);

	proto_table_iter_init(&it, t);
	while (proto_table_next(&it, &k, &f)) {
		if (proto_str_eq(k, want)) {
			*val = f;
			return true;
		}
	}
	return false;
}

bool
proto_field_int(const struct proto_field *f, int64_t *out)
{
	switch (f->kind) {
	case PROTO_FIELD_I8:
	case PROTO_FIELD_I16:
	case PROTO_FIELD_I32:
	case PROTO_FIELD_I64:
		*out = f->v.i;
		return true;
	case PROTO_FIELD_U8:
	case PROTO_FIELD_U16:
	case PROTO_FIELD_U32:
		*out = (int64_t)f->v.u;
		return true;
	case PROTO_FIELD_U64:
		/* A u64 past INT64_MAX has no int64 value; refuse it. */
		if (f->v.u > (uint64_t)INT64_MAX)
			return false;
		*out = (int64_t)f->v.u;
		return true;
	default:
		return false;
	}
}

bool
proto_field_equal(const struct proto_field *a, const struct proto_field *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case PROTO_FIELD_BOOL:
		return a->v.b == b->v.b;
	case PROTO_FIELD_I8:
	case PROTO_FIELD_I16:
	case PROTO_FIELD_I32:
	case PROTO_FIELD_I64:
		return a->v.i == b->v.i;
	case PROTO_FIELD_U8:
	case PROTO_FIELD_U16:
	case PROTO_FIELD_U32:
	case PROTO_FIELD_U64:
	case PROTO_FIELD_TIMESTAMP:
		return a->v.u == b->v.u;
	/*
	 * Floats compare by bit pattern, i.e. "the same encoded value": a NaN
	 * argument must equal itself, or a binding carrying one could never
	 * be found again to be removed.
	 */
	case PROTO_FIELD_F32:
		return memcmp(&a->v.f32, &b->v.f32, sizeof(a->v.f32)) == 0;
	case PROTO_FIELD_F64:
		return memcmp(&a->v.f64, &b->v.f64, sizeof(a->v.f64)) == 0;
	case PROTO_FIELD_DECIMAL:
		return a->v.dec.scale == b->v.dec.scale &&
		    a->v.dec.value == b->v.dec.value;
	case PROTO_FIELD_LONGSTR:
	case PROTO_FIELD_BYTES:
		return proto_str_eq(a->v.str, b->v.str);
	case PROTO_FIELD_ARRAY:
	case PROTO_FIELD_TABLE:
		return a->v.table.len == b->v.table.len &&
		    (a->v.table.len == 0 ||
		    memcmp(a->v.table.p, b->v.table.p, a->v.table.len) == 0);
	case PROTO_FIELD_VOID:
		return true;
	default:
		return false;
	}
}

size_t
proto_table_begin(struct proto_writer *w)
{
	size_t	at = w->len;

	proto_write_u32(w, 0);
	return at;
}

void
proto_table_end(struct proto_writer *w, size_t at)
{
	size_t	n;

	if (w->overflow || at + 4 > w->len)
		return;
	n = w->len - at - 4;
	if (n > UINT32_MAX) {
		w->overflow = true;
		return;
	}
	proto_patch_u32(w, at, (uint32_t)n);
}

void
proto_table_key(struct proto_writer *w, const char *key)
{
	proto_write_shortstr(w, proto_str_c(key));
}

void
proto_table_put_longstr(struct proto_writer *w, const char *key,
    const char *val)
{
	proto_table_key(w, key);
	proto_write_u8(w, PROTO_FIELD_LONGSTR);
	proto_write_longstr(w, proto_str_c(val));
}

void
proto_table_put_bool(struct proto_writer *w, const char *key, bool val)
{
	proto_table_key(w, key);
	proto_write_u8(w, PROTO_FIELD_BOOL);
	proto_write_u8(w, val ? 1 : 0);
}

void
proto_table_put_i64(struct proto_writer *w, const char *key, int64_t val)
{
	proto_table_key(w, key);
	proto_write_u8(w, PROTO_FIELD_I64);
	proto_write_u64(w, (uint64_t)val);
}

void
proto_field_write(struct proto_writer *w, const struct proto_field *f)
{
	uint32_t	u32;
	uint64_t	u64;

	if (!is_known_kind(f->kind)) {
		/* Nothing sensible to put on the wire; fail the whole write. */
		w->overflow = true;
		return;
	}
	proto_write_u8(w, f->kind);
	switch (f->kind) {
	case PROTO_FIELD_BOOL:
		proto_write_u8(w, f->v.b ? 1 : 0);
		break;
	case PROTO_FIELD_I8:
		proto_write_u8(w, (uint8_t)f->v.i);
		break;
	case PROTO_FIELD_U8:
		proto_write_u8(w, (uint8_t)f->v.u);
		break;
	case PROTO_FIELD_I16:
		proto_write_u16(w, (uint16_t)f->v.i);
		break;
	case PROTO_FIELD_U16:
		proto_write_u16(w, (uint16_t)f->v.u);
		break;
	case PROTO_FIELD_I32:
		proto_write_u32(w, (uint32_t)f->v.i);
		break;
	case PROTO_FIELD_U32:
		proto_write_u32(w, (uint32_t)f->v.u);
		break;
	case PROTO_FIELD_I64:
		proto_write_u64(w, (uint64_t)f->v.i);
		break;
	case PROTO_FIELD_U64:
	case PROTO_FIELD_TIMESTAMP:
		proto_write_u64(w, f->v.u);
		break;
	case PROTO_FIELD_F32:
		memcpy(&u32, &f->v.f32, sizeof(u32));
		proto_write_u32(w, u32);
		break;
	case PROTO_FIELD_F64:
		memcpy(&u64, &f->v.f64, sizeof(u64));
		proto_write_u64(w, u64);
		break;
	case PROTO_FIELD_DECIMAL:
		proto_write_u8(w, f->v.dec.scale);
		proto_write_u32(w, f->v.dec.value);
		break;
	case PROTO_FIELD_LONGSTR:
	case PROTO_FIELD_BYTES:
		proto_write_longstr(w, f->v.str);
		break;
	case PROTO_FIELD_ARRAY:
	case PROTO_FIELD_TABLE:
		proto_write_table(w, f->v.table);
		break;
	case PROTO_FIELD_VOID:
		break;
	default:
		break;
	}
}

const char *
proto_field_kind_name(uint8_t kind)
{
	/* compat: RabbitMQ's names for field types in error messages. */
	switch (kind) {
	case PROTO_FIELD_BOOL: return "bool";
	case PROTO_FIELD_I8: return "byte";
	case PROTO_FIELD_U8: return "unsignedbyte";
	case PROTO_FIELD_I16: return "short";
	case PROTO_FIELD_U16: return "unsignedshort";
	case PROTO_FIELD_I32: return "signedint";
	case PROTO_FIELD_U32: return "unsignedint";
	case PROTO_FIELD_I64: return "long";
	case PROTO_FIELD_U64: return "unsignedlong";
	case PROTO_FIELD_F32: return "float";
	case PROTO_FIELD_F64: return "double";
	case PROTO_FIELD_DECIMAL: return "decimal";
	case PROTO_FIELD_LONGSTR: return "longstr";
	case PROTO_FIELD_BYTES: return "binary";
	case PROTO_FIELD_ARRAY: return "array";
	case PROTO_FIELD_TIMESTAMP: return "timestamp";
	case PROTO_FIELD_TABLE: return "table";
	case PROTO_FIELD_VOID: return "void";
	default: return "unknown";
	}
}
