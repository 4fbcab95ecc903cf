/*
 * Unit tests for the generated AMQP 0-9-1 method codec (protocol/spec.c).
 *
 * The per-method argument layouts below were typed in from the
 * specification independently of the generator, so they check its
 * field order, types, bit packing and reserved fields.
 */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/spec.h"
#include "protocol/wire.h"

#define U16(v)	(uint8_t)((v) >> 8), (uint8_t)(v)
#define U32(v)	(uint8_t)((v) >> 24), (uint8_t)((v) >> 16), U16(v)
#define U64(v)	U32((uint64_t)(v) >> 32), U32((uint64_t)(v) & 0xffffffffu)
#define ID(m)	U16((m) >> 16), U16((m) & 0xffff)
#define S(lit)	PROTO_STR_LIT(lit)
#define T(lit)	((struct proto_table){ (const uint8_t *)(lit), sizeof(lit) - 1 })

/*
 * Argument layout of every method: o octet, s short, l long, L longlong,
 * S shortstr, X longstr, F table, b bit; '_' marks the next one reserved.
 */
static const struct {
	uint32_t	 id;
	const char	*sig;
} layouts[] = {
	{ PROTO_CONNECTION_START, "ooFXX" },
	{ PROTO_CONNECTION_START_OK, "FSXS" },
	{ PROTO_CONNECTION_SECURE, "X" },
	{ PROTO_CONNECTION_SECURE_OK, "X" },
	{ PROTO_CONNECTION_TUNE, "sls" },
	{ PROTO_CONNECTION_TUNE_OK, "sls" },
	{ PROTO_CONNECTION_OPEN, "S_S_b" },
	{ PROTO_CONNECTION_OPEN_OK, "_S" },
	{ PROTO_CONNECTION_CLOSE, "sSss" },
	{ PROTO_CONNECTION_CLOSE_OK, "" },
	{ PROTO_CONNECTION_BLOCKED, "S" },
	{ PROTO_CONNECTION_UNBLOCKED, "" },
	{ PROTO_CONNECTION_UPDATE_SECRET, "XS" },
	{ PROTO_CONNECTION_UPDATE_SECRET_OK, "" },
	{ PROTO_CHANNEL_OPEN, "_S" },
	{ PROTO_CHANNEL_OPEN_OK, "_X" },
	{ PROTO_CHANNEL_FLOW, "b" },
	{ PROTO_CHANNEL_FLOW_OK, "b" },
	{ PROTO_CHANNEL_CLOSE, "sSss" },
	{ PROTO_CHANNEL_CLOSE_OK, "" },
	{ PROTO_EXCHANGE_DECLARE, "_sSSbbbbbF" },
	{ PROTO_EXCHANGE_DECLARE_OK, "" },
	{ PROTO_EXCHANGE_DELETE, "_sSbb" },
	{ PROTO_EXCHANGE_DELETE_OK, "" },
	{ PROTO_EXCHANGE_BIND, "_sSSSbF" },
	{ PROTO_EXCHANGE_BIND_OK, "" },
	{ PROTO_EXCHANGE_UNBIND, "_sSSSbF" },
	{ PROTO_EXCHANGE_UNBIND_OK, "" },
	{ PROTO_QUEUE_DECLARE, "_sSbbbbbF" },
	{ PROTO_QUEUE_DECLARE_OK, "Sll" },
	{ PROTO_QUEUE_BIND, "_sSSSbF" },
	{ PROTO_QUEUE_BIND_OK, "" },
	{ PROTO_QUEUE_PURGE, "_sSb" },
	{ PROTO_QUEUE_PURGE_OK, "l" },
	{ PROTO_QUEUE_DELETE, "_sSbbb" },
	{ PROTO_QUEUE_DELETE_OK, "l" },
	{ PROTO_QUEUE_UNBIND, "_sSSSF" },
	{ PROTO_QUEUE_UNBIND_OK, "" },
	{ PROTO_BASIC_QOS, "lsb" },
	{ PROTO_BASIC_QOS_OK, "" },
	{ PROTO_BASIC_CONSUME, "_sSSbbbbF" },
	{ PROTO_BASIC_CONSUME_OK, "S" },
	{ PROTO_BASIC_CANCEL, "Sb" },
	{ PROTO_BASIC_CANCEL_OK, "S" },
	{ PROTO_BASIC_PUBLISH, "_sSSbb" },
	{ PROTO_BASIC_RETURN, "sSSS" },
	{ PROTO_BASIC_DELIVER, "SLbSS" },
	{ PROTO_BASIC_GET, "_sSb" },
	{ PROTO_BASIC_GET_OK, "LbSSl" },
	{ PROTO_BASIC_GET_EMPTY, "_S" },
	{ PROTO_BASIC_ACK, "Lb" },
	{ PROTO_BASIC_REJECT, "Lb" },
	{ PROTO_BASIC_RECOVER_ASYNC, "b" },
	{ PROTO_BASIC_RECOVER, "b" },
	{ PROTO_BASIC_RECOVER_OK, "" },
	{ PROTO_BASIC_NACK, "Lbb" },
	{ PROTO_CONFIRM_SELECT, "b" },
	{ PROTO_CONFIRM_SELECT_OK, "" },
	{ PROTO_TX_SELECT, "" },
	{ PROTO_TX_SELECT_OK, "" },
	{ PROTO_TX_COMMIT, "" },
	{ PROTO_TX_COMMIT_OK, "" },
	{ PROTO_TX_ROLLBACK, "" },
	{ PROTO_TX_ROLLBACK_OK, "" },
};
#define NLAYOUTS	(sizeof(layouts) / sizeof(layouts[0]))

enum fill {
	FILL_ZERO,	/* zeros and empty strings */
	FILL_ONES,	/* distinct non-zero values, every bit set */
	FILL_ALTERNATE,	/* distinct non-zero values, every other bit set */
};

static const char *
layout_of(uint32_t id)
{
	size_t i;

	for (i = 0; i < NLAYOUTS; i++)
		if (layouts[i].id == id)
			return layouts[i].sig;
	return NULL;
}

/* Assembles a method payload from its layout, independently of spec.c. */
static size_t
build(uint32_t id, const char *sig, enum fill fill, uint8_t *buf, size_t cap)
{
	struct proto_writer w = proto_writer(buf, cap);
	uint8_t text[256];
	size_t bitat = 0;
	unsigned int seed = 1, v, nbits = 0;
	bool reserved, bit;

	proto_write_u16(&w, (uint16_t)(id >> 16));
	proto_write_u16(&w, (uint16_t)id);
	for (; *sig != '\0'; sig++) {
		reserved = false;
		if (*sig == '_') {
			reserved = true;
			sig++;
		}
		if (*sig != 'b')
			nbits = 0;
		v = reserved || fill == FILL_ZERO ? 0 : seed++;
		memset(text, 'a' + (int)(v % 26), sizeof(text));
		switch (*sig) {
		case 'o':
			proto_write_u8(&w, (uint8_t)v);
			break;
		case 's':
			proto_write_u16(&w, (uint16_t)(v * 0x0101u));
			break;
		case 'l':
			proto_write_u32(&w, v * 0x01010101u);
			break;
		case 'L':
			proto_write_u64(&w, v * 0x0101010101010101ull);
			break;
		case 'S':
			proto_write_shortstr(&w,
			    (struct proto_str){ text, v });
			break;
		case 'X':
		case 'F':
			proto_write_longstr(&w,
			    (struct proto_str){ text, v * 3 });
			break;
		case 'b':
			if (nbits == 0 || nbits == 8) {
				bitat = w.len;
				proto_write_u8(&w, 0);
				nbits = 0;
			}
			if (reserved || fill == FILL_ZERO)
				bit = false;
			else if (fill == FILL_ONES)
				bit = true;
			else
				bit = nbits % 2 == 0;
			if (bit && !w.overflow)
				buf[bitat] |= (uint8_t)(1u << nbits);
			nbits++;
			break;
		default:
			cr_assert_fail("bad layout letter %c", *sig);
		}
	}
	cr_assert(!w.overflow);
	return w.len;
}

static size_t
encode(const struct proto_method *m, uint8_t *buf, size_t cap)
{
	struct proto_writer w = proto_writer(buf, cap);

	cr_assert(proto_method_encode(m, &w), "encode %08x", m->id);
	return w.len;
}

static void
assert_bytes(const uint8_t *got, size_t gotlen, const uint8_t *want,
    size_t wantlen)
{
	size_t i;

	cr_assert(gotlen == wantlen, "length %zu, want %zu", gotlen, wantlen);
	for (i = 0; i < wantlen; i++)
		cr_assert(got[i] == want[i], "byte %zu is %02x, want %02x", i,
		    got[i], want[i]);
}

/*
 * Checks that m encodes to exactly want[] and that want[] decodes back
 * into *back with the same id.
 */
static void
check_wire(const struct proto_method *m, const uint8_t *want, size_t wantlen,
    struct proto_method *back)
{
	uint8_t buf[1024];
	size_t n;

	n = encode(m, buf, sizeof(buf));
	assert_bytes(buf, n, want, wantlen);
	cr_assert(proto_method_decode(want, wantlen, back) == 0);
	cr_assert(back->id == m->id);
	n = encode(back, buf, sizeof(buf));
	assert_bytes(buf, n, want, wantlen);
}

#define CHECK_WIRE(m, back, ...) do {					\
	static const uint8_t want_[] = { __VA_ARGS__ };			\
	check_wire((m), want_, sizeof(want_), (back));			\
} while (0)

/* ------------------------------------------------------------ tables */

Test(spec, method_table_is_sorted_and_matches_the_specification)
{
	size_t i;

	cr_assert(PROTO_METHOD_COUNT == 64);
	cr_assert(NLAYOUTS == PROTO_METHOD_COUNT);
	for (i = 0; i < PROTO_METHOD_COUNT; i++) {
		if (i > 0)
			cr_assert(proto_methods[i - 1].id < proto_methods[i].id);
		cr_assert(layout_of(proto_methods[i].id) != NULL,
		    "no layout for %s", proto_methods[i].name);
		cr_assert(proto_method_info(proto_methods[i].id) ==
		    &proto_methods[i]);
		cr_assert(strchr(proto_methods[i].name, '.') != NULL);
		cr_assert(proto_methods[i].to_server ||
		    proto_methods[i].to_client, "%s has no chassis",
		    proto_methods[i].name);
	}
	for (i = 0; i < NLAYOUTS; i++)
		cr_assert(proto_method_info(layouts[i].id) != NULL);
}

Test(spec, method_info_reports_names_and_flags)
{
	const struct proto_method_info *mi;

	mi = proto_method_info(PROTO_BASIC_PUBLISH);
	cr_assert(mi != NULL);
	cr_assert_str_eq(mi->name, "basic.publish");
	cr_assert(mi->content && !mi->synchronous);
	cr_assert(mi->to_server && !mi->to_client);

	mi = proto_method_info(PROTO_CONNECTION_START);
	cr_assert_str_eq(mi->name, "connection.start");
	cr_assert(mi->synchronous && !mi->content);
	cr_assert(!mi->to_server && mi->to_client);

	mi = proto_method_info(PROTO_BASIC_GET_OK);
	cr_assert(mi->content && mi->synchronous && mi->to_client);

	mi = proto_method_info(PROTO_BASIC_ACK);
	cr_assert(mi->to_server && mi->to_client && !mi->synchronous);

	mi = proto_method_info(PROTO_CHANNEL_CLOSE);
	cr_assert(mi->to_server && mi->to_client && mi->synchronous);

	mi = proto_method_info(PROTO_CONNECTION_UPDATE_SECRET);
	cr_assert_str_eq(mi->name, "connection.update-secret");
	cr_assert(mi->synchronous && mi->to_server && !mi->to_client);

	mi = proto_method_info(PROTO_CONNECTION_BLOCKED);
	cr_assert_str_eq(mi->name, "connection.blocked");
	cr_assert(!mi->to_server && mi->to_client);

	cr_assert_str_eq(proto_method_info(PROTO_BASIC_RECOVER_ASYNC)->name,
	    "basic.recover-async");
	cr_assert(proto_method_info(0) == NULL);
	cr_assert(proto_method_info(0x000A000Cu) == NULL);
	cr_assert(proto_method_info(0xFFFFFFFFu) == NULL);
}

Test(spec, method_ids_are_class_shifted_by_sixteen_plus_index)
{
	cr_assert(PROTO_BASIC_PUBLISH == 0x003C0028u);
	cr_assert(PROTO_CONNECTION_START_OK == (10u << 16 | 11));
	cr_assert(PROTO_BASIC_GET_EMPTY == (60u << 16 | 72));
	cr_assert(PROTO_CONFIRM_SELECT_OK == (85u << 16 | 11));
	cr_assert(PROTO_EXCHANGE_UNBIND_OK == (40u << 16 | 51));
	cr_assert(PROTO_CONNECTION_BLOCKED == (10u << 16 | 60));
	cr_assert(PROTO_CONNECTION_UNBLOCKED == (10u << 16 | 61));
	cr_assert(PROTO_CONNECTION_UPDATE_SECRET == (10u << 16 | 70));
	cr_assert(PROTO_CONNECTION_UPDATE_SECRET_OK == (10u << 16 | 71));
	cr_assert(PROTO_CLASS_CONNECTION == 10 && PROTO_CLASS_CHANNEL == 20);
	cr_assert(PROTO_CLASS_EXCHANGE == 40 && PROTO_CLASS_QUEUE == 50);
	cr_assert(PROTO_CLASS_BASIC == 60 && PROTO_CLASS_CONFIRM == 85);
	cr_assert(PROTO_CLASS_TX == 90);
	cr_assert(PROTO_FRAME_METHOD == 1 && PROTO_FRAME_HEADER == 2);
	cr_assert(PROTO_FRAME_BODY == 3 && PROTO_FRAME_HEARTBEAT == 8);
	cr_assert(PROTO_FRAME_MIN_SIZE == 4096 && PROTO_FRAME_END == 206);
}

Test(spec, reply_codes_have_names_and_severities)
{
	static const struct {
		uint16_t	 code;
		const char	*name;
		bool		 hard;
	} codes[] = {
		{ PROTO_REPLY_SUCCESS, "REPLY_SUCCESS", false },
		{ PROTO_CONTENT_TOO_LARGE, "CONTENT_TOO_LARGE", false },
		{ PROTO_NO_ROUTE, "NO_ROUTE", false },
		{ PROTO_NO_CONSUMERS, "NO_CONSUMERS", false },
		{ PROTO_CONNECTION_FORCED, "CONNECTION_FORCED", true },
		{ PROTO_INVALID_PATH, "INVALID_PATH", true },
		{ PROTO_ACCESS_REFUSED, "ACCESS_REFUSED", false },
		{ PROTO_NOT_FOUND, "NOT_FOUND", false },
		{ PROTO_RESOURCE_LOCKED, "RESOURCE_LOCKED", false },
		{ PROTO_PRECONDITION_FAILED, "PRECONDITION_FAILED", false },
		{ PROTO_FRAME_ERROR, "FRAME_ERROR", true },
		{ PROTO_SYNTAX_ERROR, "SYNTAX_ERROR", true },
		{ PROTO_COMMAND_INVALID, "COMMAND_INVALID", true },
		{ PROTO_CHANNEL_ERROR, "CHANNEL_ERROR", true },
		{ PROTO_UNEXPECTED_FRAME, "UNEXPECTED_FRAME", true },
		{ PROTO_RESOURCE_ERROR, "RESOURCE_ERROR", true },
		{ PROTO_NOT_ALLOWED, "NOT_ALLOWED", true },
		{ PROTO_NOT_IMPLEMENTED, "NOT_IMPLEMENTED", true },
		{ PROTO_INTERNAL_ERROR, "INTERNAL_ERROR", true },
	};
	static const uint16_t values[] = { 200, 311, 312, 313, 320, 402, 403,
	    404, 405, 406, 501, 502, 503, 504, 505, 506, 530, 540, 541 };
	size_t i;

	cr_assert(sizeof(codes) / sizeof(codes[0]) ==
	    sizeof(values) / sizeof(values[0]));
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		cr_assert(codes[i].code == values[i]);
		cr_assert_str_eq(proto_reply_name(codes[i].code),
		    codes[i].name);
		cr_assert(proto_reply_is_hard(codes[i].code) == codes[i].hard,
		    "%s", codes[i].name);
	}
	cr_assert(proto_reply_name(0) == NULL);
	cr_assert(proto_reply_name(999) == NULL);
	cr_assert(proto_reply_name(PROTO_FRAME_END) == NULL);
	cr_assert(!proto_reply_is_hard(0));
	cr_assert(!proto_reply_is_hard(999));
}

/* ------------------------------------------- every method, generically */

Test(spec, every_method_round_trips_from_assembled_bytes)
{
	uint8_t wire[2048], again[2048];
	struct proto_method m;
	size_t i, n, n2;
	enum fill fill;
	int rc;

	for (i = 0; i < PROTO_METHOD_COUNT; i++) {
		const struct proto_method_info *mi = &proto_methods[i];

		for (fill = FILL_ZERO; fill <= FILL_ALTERNATE; fill++) {
			n = build(mi->id, layout_of(mi->id), fill, wire,
			    sizeof(wire));
			rc = proto_method_decode(wire, n, &m);
			cr_assert(rc == 0, "%s fill %d: decode gave %d",
			    mi->name, fill, rc);
			cr_assert(m.id == mi->id);
			n2 = encode(&m, again, sizeof(again));
			cr_assert(n2 == n && memcmp(wire, again, n) == 0,
			    "%s fill %d: re-encoding differs", mi->name, fill);
		}
	}
}

Test(spec, every_zeroed_method_encodes_to_its_minimal_form)
{
	uint8_t wire[256], want[256];
	struct proto_method m, back;
	size_t i, n, wn;

	for (i = 0; i < PROTO_METHOD_COUNT; i++) {
		memset(&m, 0, sizeof(m));
		m.id = proto_methods[i].id;
		n = encode(&m, wire, sizeof(wire));
		wn = build(m.id, layout_of(m.id), FILL_ZERO, want,
		    sizeof(want));
		cr_assert(n == wn && memcmp(wire, want, n) == 0, "%s",
		    proto_methods[i].name);
		cr_assert(proto_method_decode(wire, n, &back) == 0);
		cr_assert(back.id == m.id);
	}
}

Test(spec, every_truncated_method_is_a_syntax_error)
{
	uint8_t wire[2048], *copy;
	struct proto_method m;
	size_t i, n, len;
	int rc;

	for (i = 0; i < PROTO_METHOD_COUNT; i++) {
		n = build(proto_methods[i].id, layout_of(proto_methods[i].id),
		    FILL_ONES, wire, sizeof(wire));
		for (len = 0; len < n; len++) {
			/* An exact-size copy, so ASan sees any overread. */
			copy = malloc(len + 1);
			cr_assert(copy != NULL);
			memcpy(copy, wire, len);
			rc = proto_method_decode(copy, len, &m);
			free(copy);
			cr_assert(rc == (len < 4 ? PROTO_FRAME_ERROR :
			    PROTO_SYNTAX_ERROR), "%s at %zu gave %d",
			    proto_methods[i].name, len, rc);
		}
	}
}

Test(spec, every_method_with_trailing_bytes_is_a_syntax_error)
{
	uint8_t wire[2048];
	struct proto_method m;
	size_t i, n;

	for (i = 0; i < PROTO_METHOD_COUNT; i++) {
		n = build(proto_methods[i].id, layout_of(proto_methods[i].id),
		    FILL_ONES, wire, sizeof(wire));
		wire[n] = 0;
		cr_assert(proto_method_decode(wire, n + 1, &m) ==
		    PROTO_SYNTAX_ERROR, "%s", proto_methods[i].name);
		wire[n + 1] = 0xCE;
		cr_assert(proto_method_decode(wire, n + 2, &m) ==
		    PROTO_SYNTAX_ERROR, "%s", proto_methods[i].name);
	}
}

Test(spec, every_method_fails_cleanly_when_the_writer_is_full)
{
	uint8_t wire[2048], small[2048];
	struct proto_method m;
	struct proto_writer w;
	size_t i, n, cap;

	for (i = 0; i < PROTO_METHOD_COUNT; i++) {
		n = build(proto_methods[i].id, layout_of(proto_methods[i].id),
		    FILL_ONES, wire, sizeof(wire));
		cr_assert(proto_method_decode(wire, n, &m) == 0);
		for (cap = 0; cap < n; cap++) {
			w = proto_writer(small, cap);
			cr_assert(!proto_method_encode(&m, &w), "%s cap %zu",
			    proto_methods[i].name, cap);
			cr_assert(w.len <= cap);
		}
	}
}

/* -------------------------------------------------- decode errors */

Test(spec, payload_shorter_than_four_bytes_is_a_frame_error)
{
	static const uint8_t p[] = { 0x00, 0x3C, 0x00 };
	struct proto_method m;

	cr_assert(proto_method_decode(p, 0, &m) == PROTO_FRAME_ERROR);
	cr_assert(proto_method_decode(NULL, 0, &m) == PROTO_FRAME_ERROR);
	cr_assert(proto_method_decode(p, 1, &m) == PROTO_FRAME_ERROR);
	cr_assert(proto_method_decode(p, 3, &m) == PROTO_FRAME_ERROR);
}

Test(spec, malformed_utf8_in_names_is_refused_but_not_in_routing_keys)
{
	/* queue.declare: ticket, queue "q\xff", bits, empty table. */
	static const uint8_t declare[] = { U16(50), U16(10), U16(0),
	    2, 'q', 0xff, 0, 0, 0, 0, 0 };
	/* queue.declare of "\xed\xa0\x80" (a UTF-16 surrogate). */
	static const uint8_t surrogate[] = { U16(50), U16(10), U16(0),
	    3, 0xed, 0xa0, 0x80, 0, 0, 0, 0, 0 };
	/* queue.declare of "\xc0\xaf" (overlong '/'). */
	static const uint8_t overlong[] = { U16(50), U16(10), U16(0),
	    2, 0xc0, 0xaf, 0, 0, 0, 0, 0 };
	/* queue.declare of "\xe2\x82\xac" (the euro sign) is fine. */
	static const uint8_t euro[] = { U16(50), U16(10), U16(0),
	    3, 0xe2, 0x82, 0xac, 0, 0, 0, 0, 0 };
	/* basic.publish: ticket, exchange "", routing key "\xff", bits. */
	static const uint8_t publish[] = { U16(60), U16(40), U16(0),
	    0, 1, 0xff, 0 };
	/* A truncated declare stays a syntax error. */
	static const uint8_t cut[] = { U16(50), U16(10), U16(0), 5, 'q' };
	struct proto_method m;

	cr_assert_eq(proto_method_decode(declare, sizeof(declare), &m),
	    PROTO_DECODE_BAD_UTF8);
	cr_assert_eq(m.id, PROTO_QUEUE_DECLARE);
	cr_assert_eq(proto_method_decode(surrogate, sizeof(surrogate), &m),
	    PROTO_DECODE_BAD_UTF8);
	cr_assert_eq(proto_method_decode(overlong, sizeof(overlong), &m),
	    PROTO_DECODE_BAD_UTF8);
	cr_assert_eq(proto_method_decode(euro, sizeof(euro), &m), 0);
	cr_assert_eq(m.u.queue_declare.queue.len, 3);
	cr_assert_eq(proto_method_decode(publish, sizeof(publish), &m), 0);
	cr_assert_eq(m.u.basic_publish.routing_key.len, 1);
	cr_assert_eq(proto_method_decode(cut, sizeof(cut), &m),
	    PROTO_SYNTAX_ERROR);
}

Test(spec, unknown_method_is_not_implemented)
{
	static const uint8_t unknown_method[] = { U16(10), U16(12) };
	static const uint8_t unknown_class[] = { U16(99), U16(10), 1, 2, 3 };
	static const uint8_t zero[] = { 0, 0, 0, 0 };
	static const uint8_t access[] = { U16(30), U16(10), 0 };
	struct proto_method m;
	struct proto_writer w;
	uint8_t buf[16];

	cr_assert(proto_method_decode(unknown_method, sizeof(unknown_method),
	    &m) == PROTO_NOT_IMPLEMENTED);
	cr_assert(m.id == (10u << 16 | 12), "id stays set for the reply");
	cr_assert(proto_method_decode(unknown_class, sizeof(unknown_class),
	    &m) == PROTO_NOT_IMPLEMENTED);
	cr_assert(m.id == (99u << 16 | 10));
	cr_assert(proto_method_decode(zero, sizeof(zero), &m) ==
	    PROTO_NOT_IMPLEMENTED);
	/* access.request (class 30) is gone from 0-9-1. */
	cr_assert(proto_method_decode(access, sizeof(access), &m) ==
	    PROTO_NOT_IMPLEMENTED);

	memset(&m, 0, sizeof(m));
	m.id = 10u << 16 | 12;
	w = proto_writer(buf, sizeof(buf));
	cr_assert(!proto_method_encode(&m, &w));
	cr_assert(w.len == 0);
}

Test(spec, string_length_past_the_end_is_a_syntax_error)
{
	/* basic.publish whose routing key claims 200 bytes. */
	static const uint8_t p[] = { ID(PROTO_BASIC_PUBLISH), U16(0),
	    1, 'x', 200, 'k', 0 };
	/* connection.start-ok whose table claims 4 GiB. */
	static const uint8_t q[] = { ID(PROTO_CONNECTION_START_OK),
	    0xff, 0xff, 0xff, 0xff, 0 };
	struct proto_method m;

	cr_assert(proto_method_decode(p, sizeof(p), &m) == PROTO_SYNTAX_ERROR);
	cr_assert(proto_method_decode(q, sizeof(q), &m) == PROTO_SYNTAX_ERROR);
}

/* ------------------------------------------------ hand-built methods */

Test(spec, connection_start_round_trips)
{
	struct proto_method m = { .id = PROTO_CONNECTION_START }, b;
	struct proto_connection_start *a = &m.u.connection_start;

	a->version_major = 0;
	a->version_minor = 9;
	a->server_properties = T("\x07product" "S\x00\x00\x00\x06warren");
	a->mechanisms = S("PLAIN AMQPLAIN");
	a->locales = S("en_US");
	CHECK_WIRE(&m, &b, ID(PROTO_CONNECTION_START), 0, 9,
	    U32(19), 7, 'p', 'r', 'o', 'd', 'u', 'c', 't',
	    'S', U32(6), 'w', 'a', 'r', 'r', 'e', 'n',
	    U32(14), 'P', 'L', 'A', 'I', 'N', ' ',
	    'A', 'M', 'Q', 'P', 'L', 'A', 'I', 'N',
	    U32(5), 'e', 'n', '_', 'U', 'S');
	cr_assert(b.u.connection_start.version_major == 0);
	cr_assert(b.u.connection_start.version_minor == 9);
	cr_assert(b.u.connection_start.server_properties.len == 19);
	cr_assert(memcmp(b.u.connection_start.server_properties.p,
	    "\x07product", 8) == 0);
	cr_assert(proto_str_eqc(b.u.connection_start.mechanisms,
	    "PLAIN AMQPLAIN"));
	cr_assert(proto_str_eqc(b.u.connection_start.locales, "en_US"));
}

Test(spec, connection_start_ok_round_trips)
{
	struct proto_method m = { .id = PROTO_CONNECTION_START_OK }, b;
	struct proto_connection_start_ok *a = &m.u.connection_start_ok;

	a->client_properties = T("");
	a->mechanism = S("PLAIN");
	a->response = S("\0guest\0guest");
	a->locale = S("en_US");
	CHECK_WIRE(&m, &b, ID(PROTO_CONNECTION_START_OK), U32(0),
	    5, 'P', 'L', 'A', 'I', 'N',
	    U32(12), 0, 'g', 'u', 'e', 's', 't', 0, 'g', 'u', 'e', 's', 't',
	    5, 'e', 'n', '_', 'U', 'S');
	cr_assert(b.u.connection_start_ok.client_properties.len == 0);
	cr_assert(proto_str_eqc(b.u.connection_start_ok.mechanism, "PLAIN"));
	cr_assert(proto_str_eq(b.u.connection_start_ok.response,
	    S("\0guest\0guest")));
	cr_assert(proto_str_eqc(b.u.connection_start_ok.locale, "en_US"));
}

Test(spec, connection_tune_and_tune_ok_round_trip)
{
	struct proto_method m = { .id = PROTO_CONNECTION_TUNE }, b;

	m.u.connection_tune.channel_max = 2047;
	m.u.connection_tune.frame_max = 131072;
	m.u.connection_tune.heartbeat = 60;
	CHECK_WIRE(&m, &b, ID(PROTO_CONNECTION_TUNE), U16(2047), U32(131072),
	    U16(60));
	cr_assert(b.u.connection_tune.channel_max == 2047);
	cr_assert(b.u.connection_tune.frame_max == 131072);
	cr_assert(b.u.connection_tune.heartbeat == 60);

	memset(&m, 0, sizeof(m));
	m.id = PROTO_CONNECTION_TUNE_OK;
	m.u.connection_tune_ok.channel_max = 0xFFFF;
	m.u.connection_tune_ok.frame_max = 0xFFFFFFFFu;
	m.u.connection_tune_ok.heartbeat = 0x1234;
	CHECK_WIRE(&m, &b, ID(PROTO_CONNECTION_TUNE_OK), 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0x12, 0x34);
	cr_assert(b.u.connection_tune_ok.channel_max == 0xFFFF);
	cr_assert(b.u.connection_tune_ok.frame_max == 0xFFFFFFFFu);
	cr_assert(b.u.connection_tune_ok.heartbeat == 0x1234);
}

Test(spec, connection_open_skips_its_reserved_fields)
{
	struct proto_method m = { .id = PROTO_CONNECTION_OPEN }, b;
	static const uint8_t sent[] = { ID(PROTO_CONNECTION_OPEN),
	    1, '/', 3, 'x', 'y', 'z', 0x01 };

	m.u.connection_open.virtual_host = S("/");
	/* reserved-1 shortstr empty, reserved-2 bit clear */
	CHECK_WIRE(&m, &b, ID(PROTO_CONNECTION_OPEN), 1, '/', 0, 0);
	cr_assert(proto_str_eqc(b.u.connection_open.virtual_host, "/"));

	/* Old clients fill the reserved capabilities and insist bits. */
	cr_assert(proto_method_decode(sent, sizeof(sent), &b) == 0);
	cr_assert(proto_str_eqc(b.u.connection_open.virtual_host, "/"));
}

Test(spec, connection_open_ok_reserved_is_an_empty_shortstr)
{
	struct proto_method m = { .id = PROTO_CONNECTION_OPEN_OK }, b;
	static const uint8_t known_hosts[] = { ID(PROTO_CONNECTION_OPEN_OK),
	    2, 'h', 'i' };

	CHECK_WIRE(&m, &b, ID(PROTO_CONNECTION_OPEN_OK), 0);
	cr_assert(proto_method_decode(known_hosts, sizeof(known_hosts),
	    &b) == 0);
}

Test(spec, connection_close_round_trips)
{
	struct proto_method m = { .id = PROTO_CONNECTION_CLOSE }, b;
	struct proto_connection_close *a = &m.u.connection_close;

	a->reply_code = PROTO_NOT_ALLOWED;
	a->reply_text = S("NOT_ALLOWED - vhost");
	a->class_id = PROTO_CLASS_CONNECTION;
	a->method_id = 40;
	CHECK_WIRE(&m, &b, ID(PROTO_CONNECTION_CLOSE), U16(530),
	    19, 'N', 'O', 'T', '_', 'A', 'L', 'L', 'O', 'W', 'E', 'D',
	    ' ', '-', ' ', 'v', 'h', 'o', 's', 't', U16(10), U16(40));
	cr_assert(b.u.connection_close.reply_code == 530);
	cr_assert(proto_str_eqc(b.u.connection_close.reply_text,
	    "NOT_ALLOWED - vhost"));
	cr_assert(b.u.connection_close.class_id == 10);
	cr_assert(b.u.connection_close.method_id == 40);

	memset(&m, 0, sizeof(m));
	m.id = PROTO_CONNECTION_CLOSE_OK;
	CHECK_WIRE(&m, &b, ID(PROTO_CONNECTION_CLOSE_OK));
}

Test(spec, connection_extensions_round_trip)
{
	struct proto_method m = { .id = PROTO_CONNECTION_BLOCKED }, b;

	m.u.connection_blocked.reason = S("low on memory");
	CHECK_WIRE(&m, &b, ID(PROTO_CONNECTION_BLOCKED), 13, 'l', 'o', 'w',
	    ' ', 'o', 'n', ' ', 'm', 'e', 'm', 'o', 'r', 'y');
	cr_assert(proto_str_eqc(b.u.connection_blocked.reason,
	    "low on memory"));

	memset(&m, 0, sizeof(m));
	m.id = PROTO_CONNECTION_UNBLOCKED;
	CHECK_WIRE(&m, &b, U16(10), U16(61));

	memset(&m, 0, sizeof(m));
	m.id = PROTO_CONNECTION_UPDATE_SECRET;
	m.u.connection_update_secret.new_secret = S("tok");
	m.u.connection_update_secret.reason = S("r");
	CHECK_WIRE(&m, &b, U16(10), U16(70), U32(3), 't', 'o', 'k', 1, 'r');
	cr_assert(proto_str_eqc(b.u.connection_update_secret.new_secret,
	    "tok"));
	cr_assert(proto_str_eqc(b.u.connection_update_secret.reason, "r"));

	memset(&m, 0, sizeof(m));
	m.id = PROTO_CONNECTION_UPDATE_SECRET_OK;
	CHECK_WIRE(&m, &b, U16(10), U16(71));
}

Test(spec, channel_open_and_open_ok_reserved_fields)
{
	struct proto_method m = { .id = PROTO_CHANNEL_OPEN }, b;
	static const uint8_t legacy[] = { ID(PROTO_CHANNEL_OPEN_OK),
	    U32(2), 'o', 'k' };

	CHECK_WIRE(&m, &b, U16(20), U16(10), 0);

	/* channel.open-ok's reserved field is a longstr: four zero bytes. */
	memset(&m, 0, sizeof(m));
	m.id = PROTO_CHANNEL_OPEN_OK;
	CHECK_WIRE(&m, &b, U16(20), U16(11), 0, 0, 0, 0);
	cr_assert(proto_method_decode(legacy, sizeof(legacy), &b) == 0);
	cr_assert(b.id == PROTO_CHANNEL_OPEN_OK);
}

Test(spec, channel_close_and_flow_round_trip)
{
	struct proto_method m = { .id = PROTO_CHANNEL_CLOSE }, b;

	m.u.channel_close.reply_code = PROTO_NOT_FOUND;
	m.u.channel_close.reply_text = S("NOT_FOUND - no queue 'q'");
	m.u.channel_close.class_id = PROTO_CLASS_QUEUE;
	m.u.channel_close.method_id = 10;
	CHECK_WIRE(&m, &b, U16(20), U16(40), U16(404), 24,
	    'N', 'O', 'T', '_', 'F', 'O', 'U', 'N', 'D', ' ', '-', ' ',
	    'n', 'o', ' ', 'q', 'u', 'e', 'u', 'e', ' ', '\'', 'q', '\'',
	    U16(50), U16(10));
	cr_assert(b.u.channel_close.reply_code == 404);
	cr_assert(proto_str_eqc(b.u.channel_close.reply_text,
	    "NOT_FOUND - no queue 'q'"));
	cr_assert(b.u.channel_close.class_id == 50);
	cr_assert(b.u.channel_close.method_id == 10);

	memset(&m, 0, sizeof(m));
	m.id = PROTO_CHANNEL_FLOW;
	m.u.channel_flow.active = true;
	CHECK_WIRE(&m, &b, U16(20), U16(20), 0x01);
	cr_assert(b.u.channel_flow.active);
}

Test(spec, exchange_declare_round_trips)
{
	struct proto_method m = { .id = PROTO_EXCHANGE_DECLARE }, b;
	struct proto_exchange_declare *a = &m.u.exchange_declare;

	a->exchange = S("logs");
	a->type = S("topic");
	a->durable = true;
	a->internal = true;
	a->arguments = T("\x02" "ae" "S\x00\x00\x00\x01x");
	CHECK_WIRE(&m, &b, U16(40), U16(10), U16(0),
	    4, 'l', 'o', 'g', 's', 5, 't', 'o', 'p', 'i', 'c',
	    0x0a, U32(9), 2, 'a', 'e', 'S', U32(1), 'x');
	cr_assert(proto_str_eqc(b.u.exchange_declare.exchange, "logs"));
	cr_assert(proto_str_eqc(b.u.exchange_declare.type, "topic"));
	cr_assert(!b.u.exchange_declare.passive);
	cr_assert(b.u.exchange_declare.durable);
	cr_assert(!b.u.exchange_declare.auto_delete);
	cr_assert(b.u.exchange_declare.internal);
	cr_assert(!b.u.exchange_declare.no_wait);
	cr_assert(b.u.exchange_declare.arguments.len == 9);

	a->durable = false;
	a->internal = false;
	a->passive = a->auto_delete = a->no_wait = true;
	a->arguments = T("");
	CHECK_WIRE(&m, &b, U16(40), U16(10), U16(0),
	    4, 'l', 'o', 'g', 's', 5, 't', 'o', 'p', 'i', 'c',
	    0x15, U32(0));
}

Test(spec, queue_declare_packs_five_bits_into_one_octet)
{
	struct proto_method m = { .id = PROTO_QUEUE_DECLARE }, b;
	struct proto_queue_declare *a = &m.u.queue_declare;

	a->queue = S("q1");
	a->passive = a->durable = a->exclusive = a->auto_delete = true;
	a->no_wait = true;
	CHECK_WIRE(&m, &b, U16(50), U16(10), U16(0), 2, 'q', '1', 0x1f,
	    U32(0));
	cr_assert(proto_str_eqc(b.u.queue_declare.queue, "q1"));
	cr_assert(b.u.queue_declare.passive && b.u.queue_declare.durable);
	cr_assert(b.u.queue_declare.exclusive);
	cr_assert(b.u.queue_declare.auto_delete && b.u.queue_declare.no_wait);

	memset(a, 0, sizeof(*a));
	a->passive = true;
	CHECK_WIRE(&m, &b, U16(50), U16(10), U16(0), 0, 0x01, U32(0));
	memset(a, 0, sizeof(*a));
	a->durable = true;
	CHECK_WIRE(&m, &b, U16(50), U16(10), U16(0), 0, 0x02, U32(0));
	memset(a, 0, sizeof(*a));
	a->exclusive = true;
	CHECK_WIRE(&m, &b, U16(50), U16(10), U16(0), 0, 0x04, U32(0));
	memset(a, 0, sizeof(*a));
	a->auto_delete = true;
	CHECK_WIRE(&m, &b, U16(50), U16(10), U16(0), 0, 0x08, U32(0));
	cr_assert(b.u.queue_declare.auto_delete);
	cr_assert(!b.u.queue_declare.passive && !b.u.queue_declare.no_wait);
	memset(a, 0, sizeof(*a));
	a->no_wait = true;
	a->arguments = T("\x01k" "t\x01");
	CHECK_WIRE(&m, &b, U16(50), U16(10), U16(0), 0, 0x10, U32(4),
	    1, 'k', 't', 1);
	cr_assert(b.u.queue_declare.no_wait);
	cr_assert(b.u.queue_declare.arguments.len == 4);
}

Test(spec, queue_declare_ok_round_trips)
{
	struct proto_method m = { .id = PROTO_QUEUE_DECLARE_OK }, b;

	m.u.queue_declare_ok.queue = S("amq.gen-A");
	m.u.queue_declare_ok.message_count = 70000;
	m.u.queue_declare_ok.consumer_count = 3;
	CHECK_WIRE(&m, &b, U16(50), U16(11),
	    9, 'a', 'm', 'q', '.', 'g', 'e', 'n', '-', 'A',
	    U32(70000), U32(3));
	cr_assert(proto_str_eqc(b.u.queue_declare_ok.queue, "amq.gen-A"));
	cr_assert(b.u.queue_declare_ok.message_count == 70000);
	cr_assert(b.u.queue_declare_ok.consumer_count == 3);
}

Test(spec, basic_publish_round_trips)
{
	struct proto_method m = { .id = PROTO_BASIC_PUBLISH }, b;

	m.u.basic_publish.exchange = S("amq.direct");
	m.u.basic_publish.routing_key = S("rk");
	m.u.basic_publish.mandatory = true;
	CHECK_WIRE(&m, &b, U16(60), U16(40), U16(0),
	    10, 'a', 'm', 'q', '.', 'd', 'i', 'r', 'e', 'c', 't',
	    2, 'r', 'k', 0x01);
	cr_assert(proto_str_eqc(b.u.basic_publish.exchange, "amq.direct"));
	cr_assert(proto_str_eqc(b.u.basic_publish.routing_key, "rk"));
	cr_assert(b.u.basic_publish.mandatory);
	cr_assert(!b.u.basic_publish.immediate);

	m.u.basic_publish.mandatory = false;
	m.u.basic_publish.immediate = true;
	m.u.basic_publish.exchange = S("");
	CHECK_WIRE(&m, &b, U16(60), U16(40), U16(0), 0, 2, 'r', 'k', 0x02);
	cr_assert(b.u.basic_publish.immediate);
	cr_assert(b.u.basic_publish.exchange.len == 0);
}

Test(spec, basic_deliver_round_trips)
{
	struct proto_method m = { .id = PROTO_BASIC_DELIVER }, b;
	struct proto_basic_deliver *a = &m.u.basic_deliver;

	a->consumer_tag = S("ctag");
	a->delivery_tag = 0x0102030405060708ull;
	a->redelivered = true;
	a->exchange = S("ex");
	a->routing_key = S("k");
	CHECK_WIRE(&m, &b, U16(60), U16(60), 4, 'c', 't', 'a', 'g',
	    1, 2, 3, 4, 5, 6, 7, 8, 0x01, 2, 'e', 'x', 1, 'k');
	cr_assert(proto_str_eqc(b.u.basic_deliver.consumer_tag, "ctag"));
	cr_assert(b.u.basic_deliver.delivery_tag == 0x0102030405060708ull);
	cr_assert(b.u.basic_deliver.redelivered);
	cr_assert(proto_str_eqc(b.u.basic_deliver.exchange, "ex"));
	cr_assert(proto_str_eqc(b.u.basic_deliver.routing_key, "k"));
}

Test(spec, basic_get_ok_and_get_empty_round_trip)
{
	struct proto_method m = { .id = PROTO_BASIC_GET_OK }, b;
	struct proto_basic_get_ok *a = &m.u.basic_get_ok;

	a->delivery_tag = 42;
	a->redelivered = false;
	a->exchange = S("");
	a->routing_key = S("q");
	a->message_count = 7;
	CHECK_WIRE(&m, &b, U16(60), U16(71), U64(42), 0x00, 0, 1, 'q',
	    U32(7));
	cr_assert(b.u.basic_get_ok.delivery_tag == 42);
	cr_assert(!b.u.basic_get_ok.redelivered);
	cr_assert(b.u.basic_get_ok.exchange.len == 0);
	cr_assert(proto_str_eqc(b.u.basic_get_ok.routing_key, "q"));
	cr_assert(b.u.basic_get_ok.message_count == 7);

	memset(&m, 0, sizeof(m));
	m.id = PROTO_BASIC_GET_EMPTY;
	CHECK_WIRE(&m, &b, U16(60), U16(72), 0);
}

Test(spec, basic_ack_nack_and_reject_round_trip)
{
	struct proto_method m = { .id = PROTO_BASIC_ACK }, b;

	m.u.basic_ack.delivery_tag = 5;
	m.u.basic_ack.multiple = true;
	CHECK_WIRE(&m, &b, U16(60), U16(80), U64(5), 0x01);
	cr_assert(b.u.basic_ack.delivery_tag == 5 && b.u.basic_ack.multiple);

	memset(&m, 0, sizeof(m));
	m.id = PROTO_BASIC_NACK;
	m.u.basic_nack.delivery_tag = UINT64_MAX;
	m.u.basic_nack.requeue = true;
	CHECK_WIRE(&m, &b, U16(60), U16(120), U64(UINT64_MAX), 0x02);
	cr_assert(b.u.basic_nack.delivery_tag == UINT64_MAX);
	cr_assert(!b.u.basic_nack.multiple && b.u.basic_nack.requeue);
	m.u.basic_nack.multiple = true;
	CHECK_WIRE(&m, &b, U16(60), U16(120), U64(UINT64_MAX), 0x03);
	cr_assert(b.u.basic_nack.multiple && b.u.basic_nack.requeue);

	memset(&m, 0, sizeof(m));
	m.id = PROTO_BASIC_REJECT;
	m.u.basic_reject.delivery_tag = 9;
	m.u.basic_reject.requeue = true;
	CHECK_WIRE(&m, &b, U16(60), U16(90), U64(9), 0x01);
	cr_assert(b.u.basic_reject.requeue);
}

Test(spec, basic_consume_round_trips)
{
	struct proto_method m = { .id = PROTO_BASIC_CONSUME }, b;
	struct proto_basic_consume *a = &m.u.basic_consume;

	a->queue = S("jobs");
	a->consumer_tag = S("");
	a->no_ack = true;
	a->exclusive = true;
	a->arguments = T("");
	CHECK_WIRE(&m, &b, U16(60), U16(20), U16(0),
	    4, 'j', 'o', 'b', 's', 0, 0x06, U32(0));
	cr_assert(proto_str_eqc(b.u.basic_consume.queue, "jobs"));
	cr_assert(b.u.basic_consume.consumer_tag.len == 0);
	cr_assert(!b.u.basic_consume.no_local && b.u.basic_consume.no_ack);
	cr_assert(b.u.basic_consume.exclusive && !b.u.basic_consume.no_wait);

	a->no_local = a->no_wait = true;
	a->no_ack = a->exclusive = false;
	a->consumer_tag = S("t");
	CHECK_WIRE(&m, &b, U16(60), U16(20), U16(0),
	    4, 'j', 'o', 'b', 's', 1, 't', 0x09, U32(0));
	cr_assert(b.u.basic_consume.no_local && b.u.basic_consume.no_wait);
}

Test(spec, basic_qos_round_trips)
{
	struct proto_method m = { .id = PROTO_BASIC_QOS }, b;

	m.u.basic_qos.prefetch_size = 0;
	m.u.basic_qos.prefetch_count = 250;
	m.u.basic_qos.global = true;
	CHECK_WIRE(&m, &b, U16(60), U16(10), U32(0), U16(250), 0x01);
	cr_assert(b.u.basic_qos.prefetch_size == 0);
	cr_assert(b.u.basic_qos.prefetch_count == 250);
	cr_assert(b.u.basic_qos.global);
}

Test(spec, confirm_select_round_trips)
{
	struct proto_method m = { .id = PROTO_CONFIRM_SELECT }, b;

	CHECK_WIRE(&m, &b, U16(85), U16(10), 0x00);
	cr_assert(!b.u.confirm_select.nowait);
	m.u.confirm_select.nowait = true;
	CHECK_WIRE(&m, &b, U16(85), U16(10), 0x01);
	cr_assert(b.u.confirm_select.nowait);

	memset(&m, 0, sizeof(m));
	m.id = PROTO_CONFIRM_SELECT_OK;
	CHECK_WIRE(&m, &b, U16(85), U16(11));
}

Test(spec, unused_high_bits_in_a_bit_octet_are_ignored)
{
	static const uint8_t p[] = { ID(PROTO_BASIC_ACK), U64(1), 0xfe };
	struct proto_method m;

	cr_assert(proto_method_decode(p, sizeof(p), &m) == 0);
	cr_assert(!m.u.basic_ack.multiple);
}

Test(spec, decoded_strings_point_into_the_input)
{
	static const uint8_t p[] = { ID(PROTO_BASIC_CONSUME_OK),
	    3, 'a', 'b', 'c' };
	struct proto_method m;

	cr_assert(proto_method_decode(p, sizeof(p), &m) == 0);
	cr_assert(m.u.basic_consume_ok.consumer_tag.p == p + 5);
	cr_assert(m.u.basic_consume_ok.consumer_tag.len == 3);
}

Test(spec, shortstr_over_255_bytes_fails_to_encode)
{
	static char big[300];
	struct proto_method m = { .id = PROTO_BASIC_CONSUME_OK };
	uint8_t buf[512];
	struct proto_writer w = proto_writer(buf, sizeof(buf));

	memset(big, 'x', sizeof(big));
	m.u.basic_consume_ok.consumer_tag =
	    (struct proto_str){ (const uint8_t *)big, 256 };
	cr_assert(!proto_method_encode(&m, &w));
}

/* ------------------------------------------------------- properties */

static const uint8_t all_props[] = {
	0xff, 0xfc,
	10, 't', 'e', 'x', 't', '/', 'p', 'l', 'a', 'i', 'n',	/* type */
	4, 'g', 'z', 'i', 'p',				/* encoding */
	U32(5), 1, 'h', 'b', 0x7f, 0,			/* headers */
	2,						/* delivery-mode */
	9,						/* priority */
	3, 'c', 'i', 'd',				/* correlation-id */
	5, 'r', 'e', 'p', 'l', 'y',			/* reply-to */
	5, '6', '0', '0', '0', '0',			/* expiration */
	3, 'm', 'i', 'd',				/* message-id */
	U64(1700000000),				/* timestamp */
	4, 'k', 'i', 'n', 'd',				/* type */
	5, 'g', 'u', 'e', 's', 't',			/* user-id */
	3, 'a', 'p', 'p',				/* app-id */
	2, 'c', 'l',					/* cluster-id */
};

static void
fill_all_props(struct proto_basic_properties *pr)
{
	memset(pr, 0, sizeof(*pr));
	pr->flags = PROTO_BASIC_CONTENT_TYPE_FLAG |
	    PROTO_BASIC_CONTENT_ENCODING_FLAG | PROTO_BASIC_HEADERS_FLAG |
	    PROTO_BASIC_DELIVERY_MODE_FLAG | PROTO_BASIC_PRIORITY_FLAG |
	    PROTO_BASIC_CORRELATION_ID_FLAG | PROTO_BASIC_REPLY_TO_FLAG |
	    PROTO_BASIC_EXPIRATION_FLAG | PROTO_BASIC_MESSAGE_ID_FLAG |
	    PROTO_BASIC_TIMESTAMP_FLAG | PROTO_BASIC_TYPE_FLAG |
	    PROTO_BASIC_USER_ID_FLAG | PROTO_BASIC_APP_ID_FLAG |
	    PROTO_BASIC_RESERVED_FLAG;
	pr->content_type = S("text/plain");
	pr->content_encoding = S("gzip");
	pr->headers = T("\x01h" "b\x7f" "\x00");
	pr->delivery_mode = 2;
	pr->priority = 9;
	pr->correlation_id = S("cid");
	pr->reply_to = S("reply");
	pr->expiration = S("60000");
	pr->message_id = S("mid");
	pr->timestamp = 1700000000;
	pr->type = S("kind");
	pr->user_id = S("guest");
	pr->app_id = S("app");
	pr->reserved = S("cl");
}

Test(spec, property_flags_are_in_specification_order)
{
	cr_assert(PROTO_BASIC_CONTENT_TYPE_FLAG == 0x8000u);
	cr_assert(PROTO_BASIC_CONTENT_ENCODING_FLAG == 0x4000u);
	cr_assert(PROTO_BASIC_HEADERS_FLAG == 0x2000u);
	cr_assert(PROTO_BASIC_DELIVERY_MODE_FLAG == 0x1000u);
	cr_assert(PROTO_BASIC_PRIORITY_FLAG == 0x0800u);
	cr_assert(PROTO_BASIC_CORRELATION_ID_FLAG == 0x0400u);
	cr_assert(PROTO_BASIC_REPLY_TO_FLAG == 0x0200u);
	cr_assert(PROTO_BASIC_EXPIRATION_FLAG == 0x0100u);
	cr_assert(PROTO_BASIC_MESSAGE_ID_FLAG == 0x0080u);
	cr_assert(PROTO_BASIC_TIMESTAMP_FLAG == 0x0040u);
	cr_assert(PROTO_BASIC_TYPE_FLAG == 0x0020u);
	cr_assert(PROTO_BASIC_USER_ID_FLAG == 0x0010u);
	cr_assert(PROTO_BASIC_APP_ID_FLAG == 0x0008u);
	cr_assert(PROTO_BASIC_RESERVED_FLAG == 0x0004u);
}

Test(spec, properties_with_all_fourteen_flags_round_trip)
{
	struct proto_basic_properties pr, back;
	uint8_t buf[512];
	struct proto_writer w = proto_writer(buf, sizeof(buf));

	fill_all_props(&pr);
	cr_assert(pr.flags == 0xfffc);
	cr_assert(proto_basic_properties_encode(&pr, &w));
	assert_bytes(buf, w.len, all_props, sizeof(all_props));

	cr_assert(proto_basic_properties_decode(all_props, sizeof(all_props),
	    &back) == 0);
	cr_assert(back.flags == 0xfffc);
	cr_assert(proto_str_eqc(back.content_type, "text/plain"));
	cr_assert(proto_str_eqc(back.content_encoding, "gzip"));
	cr_assert(back.headers.len == 5);
	cr_assert(memcmp(back.headers.p, "\x01h" "b\x7f" "\x00", 5) == 0);
	cr_assert(back.delivery_mode == 2);
	cr_assert(back.priority == 9);
	cr_assert(proto_str_eqc(back.correlation_id, "cid"));
	cr_assert(proto_str_eqc(back.reply_to, "reply"));
	cr_assert(proto_str_eqc(back.expiration, "60000"));
	cr_assert(proto_str_eqc(back.message_id, "mid"));
	cr_assert(back.timestamp == 1700000000);
	cr_assert(proto_str_eqc(back.type, "kind"));
	cr_assert(proto_str_eqc(back.user_id, "guest"));
	cr_assert(proto_str_eqc(back.app_id, "app"));
	cr_assert(proto_str_eqc(back.reserved, "cl"));
}

Test(spec, properties_with_no_flags_round_trip)
{
	static const uint8_t none[] = { 0, 0 };
	struct proto_basic_properties pr, back, zero;
	uint8_t buf[16];
	struct proto_writer w = proto_writer(buf, sizeof(buf));

	fill_all_props(&pr);
	pr.flags = 0;
	cr_assert(proto_basic_properties_encode(&pr, &w));
	assert_bytes(buf, w.len, none, sizeof(none));
	memset(&zero, 0, sizeof(zero));
	cr_assert(proto_basic_properties_decode(none, sizeof(none), &back) ==
	    0);
	cr_assert(memcmp(&back, &zero, sizeof(zero)) == 0);
}

Test(spec, properties_with_some_flags_round_trip)
{
	/* delivery-mode 1, priority 0, timestamp 7 */
	static const uint8_t want[] = { 0x18, 0x40, 1, 0, U64(7) };
	struct proto_basic_properties pr, back;
	uint8_t buf[64];
	struct proto_writer w = proto_writer(buf, sizeof(buf));

	fill_all_props(&pr);
	pr.flags = PROTO_BASIC_DELIVERY_MODE_FLAG | PROTO_BASIC_PRIORITY_FLAG |
	    PROTO_BASIC_TIMESTAMP_FLAG;
	pr.delivery_mode = 1;
	pr.priority = 0;
	pr.timestamp = 7;
	cr_assert(proto_basic_properties_encode(&pr, &w));
	assert_bytes(buf, w.len, want, sizeof(want));
	cr_assert(proto_basic_properties_decode(buf, w.len, &back) == 0);
	cr_assert(back.flags == pr.flags);
	cr_assert(back.delivery_mode == 1 && back.priority == 0);
	cr_assert(back.timestamp == 7);
	cr_assert(back.content_type.len == 0 && back.headers.len == 0);
}

Test(spec, properties_continuation_flag_is_a_syntax_error)
{
	static const uint8_t only[] = { 0x00, 0x01 };
	static const uint8_t with[] = { 0x80, 0x01, 1, 'x', 0, 0 };
	struct proto_basic_properties back;

	cr_assert(proto_basic_properties_decode(only, sizeof(only), &back) ==
	    PROTO_SYNTAX_ERROR);
	cr_assert(proto_basic_properties_decode(with, sizeof(with), &back) ==
	    PROTO_SYNTAX_ERROR);
}

Test(spec, properties_flag_bit_one_is_dropped)
{
	static const uint8_t p[] = { 0x00, 0x02 };
	struct proto_basic_properties back, pr;
	uint8_t buf[8];
	struct proto_writer w = proto_writer(buf, sizeof(buf));

	cr_assert(proto_basic_properties_decode(p, sizeof(p), &back) == 0);
	cr_assert(back.flags == 0);
	memset(&pr, 0, sizeof(pr));
	pr.flags = 0x0003;
	cr_assert(proto_basic_properties_encode(&pr, &w));
	cr_assert(w.len == 2 && buf[0] == 0 && buf[1] == 0);
}

Test(spec, truncated_properties_are_a_syntax_error_at_every_length)
{
	struct proto_basic_properties back;
	uint8_t copy[sizeof(all_props)];
	size_t len;

	for (len = 0; len < sizeof(all_props); len++) {
		/* A fresh copy of exactly len bytes, so ASan sees overreads. */
		memcpy(copy + sizeof(copy) - len, all_props, len);
		cr_assert(proto_basic_properties_decode(copy + sizeof(copy) -
		    len, len, &back) == PROTO_SYNTAX_ERROR, "len %zu", len);
	}
}

Test(spec, properties_with_trailing_bytes_are_a_syntax_error)
{
	uint8_t buf[sizeof(all_props) + 1];
	static const uint8_t none[] = { 0, 0, 0 };
	struct proto_basic_properties back;

	memcpy(buf, all_props, sizeof(all_props));
	buf[sizeof(all_props)] = 0;
	cr_assert(proto_basic_properties_decode(buf, sizeof(buf), &back) ==
	    PROTO_SYNTAX_ERROR);
	cr_assert(proto_basic_properties_decode(none, sizeof(none), &back) ==
	    PROTO_SYNTAX_ERROR);
}

Test(spec, properties_fail_cleanly_when_the_writer_is_full)
{
	struct proto_basic_properties pr;
	uint8_t buf[sizeof(all_props)];
	struct proto_writer w;
	size_t cap;

	fill_all_props(&pr);
	for (cap = 0; cap < sizeof(all_props); cap++) {
		w = proto_writer(buf, cap);
		cr_assert(!proto_basic_properties_encode(&pr, &w));
	}
	w = proto_writer(buf, sizeof(buf));
	cr_assert(proto_basic_properties_encode(&pr, &w));
}
