#include "autoconf.h"

/*
 * libFuzzer target (RELIABILITY T7 d): basic content properties.
 *
 * Input: the property flags and list of a content header (the bytes after
 * class id, weight and body size).
 *
 * Invariants (any violation is __builtin_trap()):
 *  - a set continuation bit (bit 0) is always a 502;
 *  - decoded flags hold only property bits, and every string and table
 *    view lies inside the input;
 *  - round trip: the decoded properties encode into exactly as many bytes
 *    as the input, into a buffer of exactly that size, identical to the
 *    input except for dropped flag bits; that encoding decodes to
 *    properties which encode identically; one byte short, the encoder
 *    reports overflow instead of writing past the end;
 *  - a headers table that validates iterates to its end with lookups
 *    agreeing with iteration.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/spec.h"
#include "protocol/table.h"
#include "protocol/wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

static bool
inside(const uint8_t *base, size_t blen, const uint8_t *p, size_t len)
{
	if (len == 0)
		return true;
	return p >= base && len <= blen && p - base <= (ptrdiff_t)(blen - len);
}

/* Encodes into a heap block of exactly cap bytes; returns the length. */
static size_t
encode(const struct proto_basic_properties *pr, uint8_t *buf, size_t cap,
    bool *ok)
{
	struct proto_writer w = proto_writer(buf, cap);

	*ok = proto_basic_properties_encode(pr, &w);
	CHECK(*ok == !w.overflow);
	CHECK(w.len <= cap);
	return w.len;
}

/* The headers table, the way routing and the x-* lookups read it. */
static void
check_headers(struct proto_table t)
{
	struct proto_table_iter	it;
	struct proto_str	key;
	struct proto_field	f, got;
	char			kbuf[256];
	size_t			n = 0;

	if (!proto_table_validate(t))
		return;
	proto_table_iter_init(&it, t);
	while (proto_table_next(&it, &key, &f)) {
		CHECK(key.len >= 1 && key.len <= 255);
		CHECK(proto_field_equal(&f, &f));
		/* The first 16 keys: lookups find a value for each. */
		if (n++ < 16 && memchr(key.p, '\0', key.len) == NULL) {
			memcpy(kbuf, key.p, key.len);
			kbuf[key.len] = '\0';
			CHECK(proto_table_get(t, kbuf, &got));
		}
	}
	CHECK(it.r.len == 0);
	(void)proto_table_get(t, "x-death", &got);
	(void)proto_table_get(t, "CC", &got);
	(void)proto_table_get(t, "BCC", &got);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_basic_properties	 p1, p2;
	uint8_t				*b1, *b2, *small;
	size_t				 n1, n2;
	bool				 ok;
	int				 rc;

	rc = proto_basic_properties_decode(data, size, &p1);
	/* spec: 4.2.6.1 a set bit 0 means more flag words follow; refused. */
	if (size >= 2 && (data[1] & 1) != 0)
		CHECK(rc == PROTO_SYNTAX_ERROR);
	if (rc != 0) {
		CHECK(rc == PROTO_SYNTAX_ERROR);
		return 0;
	}
	CHECK(size >= 2);
	CHECK((p1.flags & ~PROTO_BASIC_PROPERTY_MASK) == 0);
	CHECK(inside(data, size, p1.content_type.p, p1.content_type.len));
	CHECK(inside(data, size, p1.headers.p, p1.headers.len));
	CHECK(inside(data, size, p1.app_id.p, p1.app_id.len));
	CHECK(inside(data, size, p1.reserved.p, p1.reserved.len));
	if (p1.flags & PROTO_BASIC_HEADERS_FLAG)
		check_headers(p1.headers);

	if ((b1 = malloc(size)) == NULL || (b2 = malloc(size)) == NULL)
		abort();
	n1 = encode(&p1, b1, size, &ok);
	CHECK(ok && n1 == size);
	/* Only flag bits without a property (bit 1) may differ. */
	CHECK(b1[0] == data[0] && (b1[1] | 2) == (data[1] | 2));
	CHECK(memcmp(b1 + 2, data + 2, size - 2) == 0);

	rc = proto_basic_properties_decode(b1, n1, &p2);
	CHECK(rc == 0 && p2.flags == p1.flags);
	n2 = encode(&p2, b2, size, &ok);
	CHECK(ok && n2 == n1 && memcmp(b1, b2, n1) == 0);

	if ((small = malloc(n1 - 1)) == NULL)
		abort();
	(void)encode(&p2, small, n1 - 1, &ok);
	CHECK(!ok);

	free(small);
	free(b2);
	free(b1);
	return 0;
}
