/*
 * Bounds-checked big-endian readers and writers. Every untrusted byte that
 * warren reads goes through a struct proto_reader: each read checks the
 * remaining length first and never does pointer arithmetic past the end.
 */
#ifndef WARREN_PROTOCOL_WIRE_H
#define WARREN_PROTOCOL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A borrowed byte string (shortstr or longstr contents); never owns. */
struct proto_str {
	const uint8_t	*p;
	size_t		 len;
};

/* A borrowed, not yet validated field table (the bytes after its length). */
struct proto_table {
	const uint8_t	*p;
	size_t		 len;
};

#define PSTR(s)		(int)(s).len, (const char *)(s).p
#define PROTO_STR_LIT(lit) ((struct proto_str){ (const uint8_t *)(lit), sizeof(lit) - 1 })

static inline struct proto_str
proto_str_c(const char *s)
{
	return (struct proto_str){ (const uint8_t *)s, s ? strlen(s) : 0 };
}

static inline bool
proto_str_eq(struct proto_str a, struct proto_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool
proto_str_eqc(struct proto_str a, const char *c)
{
	return proto_str_eq(a, proto_str_c(c));
}

struct proto_reader {
	const uint8_t	*p;
	size_t		 len;	/* bytes left */
};

static inline struct proto_reader
proto_reader(const uint8_t *p, size_t len)
{
	return (struct proto_reader){ p, len };
}

static inline bool
proto_read_bytes(struct proto_reader *r, size_t n, const uint8_t **out)
{
	if (n > r->len)
		return false;
	*out = r->p;
	r->p += n;
	r->len -= n;
	return true;
}

static inline bool
proto_read_u8(struct proto_reader *r, uint8_t *v)
{
	if (r->len < 1)
		return false;
	*v = r->p[0];
	r->p++;
	r->len--;
	return true;
}

static inline bool
proto_read_u16(struct proto_reader *r, uint16_t *v)
{
	if (r->len < 2)
		return false;
	*v = (uint16_t)((uint16_t)r->p[0] << 8 | r->p[1]);
	r->p += 2;
	r->len -= 2;
	return true;
}

static inline bool
proto_read_u32(struct proto_reader *r, uint32_t *v)
{
	if (r->len < 4)
		return false;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->len -= 4;
	return true;
}

static inline bool
proto_read_u64(struct proto_reader *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (r->len < 8)
		return false;
	proto_read_u32(r, &hi);
	proto_read_u32(r, &lo);
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

static inline bool
proto_read_shortstr(struct proto_reader *r, struct proto_str *s)
{
	uint8_t n;

	if (!proto_read_u8(r, &n))
		return false;
	s->len = n;
	return proto_read_bytes(r, n, &s->p);
}

static inline bool
proto_read_longstr(struct proto_reader *r, struct proto_str *s)
{
	uint32_t n;

	if (!proto_read_u32(r, &n))
		return false;
	s->len = n;
	return proto_read_bytes(r, n, &s->p);
}

static inline bool
proto_read_table(struct proto_reader *r, struct proto_table *t)
{
	uint32_t n;

	if (!proto_read_u32(r, &n))
		return false;
	t->len = n;
	return proto_read_bytes(r, n, &t->p);
}

/*
 * A writer over a caller-owned array. Writes past the capacity set
 * "overflow" and are dropped; the caller checks once at the end.
 */
struct proto_writer {
	uint8_t		*p;
	size_t		 cap;
	size_t		 len;
	bool		 overflow;
};

static inline struct proto_writer
proto_writer(uint8_t *p, size_t cap)
{
	return (struct proto_writer){ p, cap, 0, false };
}

static inline void
proto_write_bytes(struct proto_writer *w, const void *p, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	if (n > 0)
		memcpy(w->p + w->len, p, n);
	w->len += n;
}

static inline void
proto_write_u8(struct proto_writer *w, uint8_t v)
{
	proto_write_bytes(w, &v, 1);
}

static inline void
proto_write_u16(struct proto_writer *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	proto_write_bytes(w, b, 2);
}

static inline void
proto_write_u32(struct proto_writer *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	proto_write_bytes(w, b, 4);
}

static inline void
proto_write_u64(struct proto_writer *w, uint64_t v)
{
	proto_write_u32(w, (uint32_t)(v >> 32));
	proto_write_u32(w, (uint32_t)v);
}

/* Writes a shortstr; a string over 255 bytes marks the writer overflowed. */
static inline void
proto_write_shortstr(struct proto_writer *w, struct proto_str s)
{
	if (s.len > 255) {
		w->overflow = true;
		return;
	}
	proto_write_u8(w, (uint8_t)s.len);
	proto_write_bytes(w, s.p, s.len);
}

static inline void
proto_write_longstr(struct proto_writer *w, struct proto_str s)
{
	if (s.len > UINT32_MAX) {
		w->overflow = true;
		return;
	}
	proto_write_u32(w, (uint32_t)s.len);
	proto_write_bytes(w, s.p, s.len);
}

static inline void
proto_write_table(struct proto_writer *w, struct proto_table t)
{
	proto_write_longstr(w, (struct proto_str){ t.p, t.len });
}

/* Patches a big-endian u32 at an earlier offset (frame and table sizes). */
static inline void
proto_patch_u32(struct proto_writer *w, size_t at, uint32_t v)
{
	if (w->overflow || at + 4 > w->len)
		return;
	w->p[at] = (uint8_t)(v >> 24);
	w->p[at + 1] = (uint8_t)(v >> 16);
	w->p[at + 2] = (uint8_t)(v >> 8);
	w->p[at + 3] = (uint8_t)v;
}

#endif /* WARREN_PROTOCOL_WIRE_H */
