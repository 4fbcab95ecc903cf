#include "autoconf.h"

/*
 * libFuzzer target (RELIABILITY T7 b): the generated method decoder.
 *
 * Input: a method frame payload (class id, method id, arguments).
 *
 * Invariants (any violation is __builtin_trap()):
 *  - the return code matches the method table: 501 only below 4 bytes,
 *    540 exactly for ids proto_method_info() does not know;
 *  - a decoded method re-encodes into no more bytes than it came from
 *    (reserved fields shrink to zero or empty, bits stay packed), into a
 *    buffer of exactly the input's size, and the encoder reports overflow
 *    instead of writing past a buffer one byte too small;
 *  - round trip: decoding the encoding succeeds with the same id, and
 *    encoding that again gives identical bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/spec.h"
#include "protocol/wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

/* Encodes m into a fresh buffer of exactly cap bytes; returns its length. */
static size_t
encode(const struct proto_method *m, uint8_t *buf, size_t cap, bool *ok)
{
	struct proto_writer w = proto_writer(buf, cap);

	*ok = proto_method_encode(m, &w);
	CHECK(*ok == !w.overflow);
	CHECK(w.len <= cap);
	return w.len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct proto_method_info	*info;
	struct proto_method		 m1, m2;
	uint8_t				*b1, *b2, *small;
	size_t				 n1, n2;
	bool				 ok;
	int				 rc;

	rc = proto_method_decode(data, size, &m1);
	CHECK((rc == PROTO_FRAME_ERROR) == (size < 4));
	if (rc == PROTO_FRAME_ERROR)
		return 0;
	CHECK(m1.id == ((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
	    (uint32_t)data[2] << 8 | data[3]));
	info = proto_method_info(m1.id);
	CHECK((rc == PROTO_NOT_IMPLEMENTED) == (info == NULL));
	if (info != NULL)
		CHECK(info->id == m1.id && info->name != NULL &&
		    (info->to_server || info->to_client));
	if (rc != 0) {
		CHECK(rc == PROTO_NOT_IMPLEMENTED || rc == PROTO_SYNTAX_ERROR ||
		    rc == PROTO_DECODE_BAD_UTF8);
		/* compat: only names of methods without content are UTF-8. */
		if (rc == PROTO_DECODE_BAD_UTF8)
			CHECK(info != NULL && !info->content);
		return 0;
	}
	if (m1.id == PROTO_CONNECTION_CLOSE) {
		(void)proto_reply_name(m1.u.connection_close.reply_code);
		(void)proto_reply_is_hard(m1.u.connection_close.reply_code);
	}

	/* Exact-size heap buffers, so ASan sees any write past the cap. */
	if ((b1 = malloc(size)) == NULL || (b2 = malloc(size)) == NULL)
		abort();
	n1 = encode(&m1, b1, size, &ok);
	CHECK(ok);
	CHECK(n1 >= 4 && n1 <= size);
	CHECK(memcmp(b1, data, 4) == 0);

	rc = proto_method_decode(b1, n1, &m2);
	CHECK(rc == 0);
	CHECK(m2.id == m1.id);
	n2 = encode(&m2, b2, size, &ok);
	CHECK(ok);
	CHECK(n2 == n1);
	CHECK(memcmp(b1, b2, n1) == 0);

	/* One byte short: the encoder must say so, not write past the end. */
	if ((small = malloc(n1 - 1)) == NULL)
		abort();
	(void)encode(&m2, small, n1 - 1, &ok);
	CHECK(!ok);

	free(small);
	free(b2);
	free(b1);
	return 0;
}
