#include "autoconf.h"

/*
 * Unit tests for the protocol header check and the frame push parser
 * (protocol/frame.c).
 */
#include <criterion/criterion.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "protocol/frame.h"
#include "protocol/spec.h"
#include "protocol/wire.h"

#define FMAX	4096

/* Writes one frame with the given payload into buf; returns its length. */
static size_t
frame(uint8_t *buf, size_t cap, uint8_t type, uint16_t channel,
    const uint8_t *payload, uint32_t size)
{
	struct proto_writer w = proto_writer(buf, cap);

	proto_frame_begin(&w, type, channel, size);
	proto_write_bytes(&w, payload, size);
	proto_frame_end(&w);
	cr_assert(!w.overflow);
	return w.len;
}

/* Parses a frame that must be complete and returns it. */
static struct proto_frame
parse_ok(const uint8_t *p, size_t len, size_t *used)
{
	struct proto_frame f;
	const char *why = NULL;

	cr_assert_eq(proto_frame_parse(p, len, FMAX, &f, used, &why),
	    PROTO_PARSE_FRAME, "why: %s", why ? why : "(none)");
	return f;
}

Test(frame, header_091_is_accepted)
{
	static const uint8_t h[] = { 'A', 'M', 'Q', 'P', 0, 0, 9, 1 };

	cr_assert_eq(proto_header_check(h, sizeof(h)), PROTO_HEADER_OK);
}

Test(frame, header_09_is_accepted_as_rabbitmq_does)
{
	static const uint8_t h[] = { 'A', 'M', 'Q', 'P', 1, 1, 0, 9 };

	cr_assert_eq(proto_header_check(h, sizeof(h)), PROTO_HEADER_OK);
}

Test(frame, header_prefix_needs_more)
{
	static const uint8_t h[] = { 'A', 'M', 'Q', 'P', 0, 0, 9, 1 };

	for (size_t n = 0; n < sizeof(h); n++)
		cr_assert_eq(proto_header_check(h, n), PROTO_HEADER_NEED_MORE,
		    "prefix of %zu bytes", n);
}

Test(frame, header_09_prefix_needs_more)
{
	static const uint8_t h[] = { 'A', 'M', 'Q', 'P', 1, 1, 0, 9 };

	for (size_t n = 5; n < sizeof(h); n++)
		cr_assert_eq(proto_header_check(h, n), PROTO_HEADER_NEED_MORE,
		    "prefix of %zu bytes", n);
}

Test(frame, header_is_bad_as_soon_as_a_byte_differs)
{
	static const uint8_t good[] = { 'A', 'M', 'Q', 'P', 0, 0, 9, 1 };
	uint8_t h[sizeof(good)];

	for (size_t at = 0; at < sizeof(good); at++) {
		memcpy(h, good, sizeof(h));
		h[at] = 'x';
		/* Only the bytes up to and including the wrong one are given. */
		cr_assert_eq(proto_header_check(h, at + 1), PROTO_HEADER_BAD,
		    "wrong byte at %zu", at);
	}
}

Test(frame, header_of_other_protocol_version_is_bad)
{
	static const uint8_t h[] = { 'A', 'M', 'Q', 'P', 0, 0, 10, 0 };

	cr_assert_eq(proto_header_check(h, sizeof(h)), PROTO_HEADER_BAD);
}

Test(frame, header_with_trailing_bytes_is_ok)
{
	static const uint8_t h[] = { 'A', 'M', 'Q', 'P', 0, 0, 9, 1, 1, 0 };

	cr_assert_eq(proto_header_check(h, sizeof(h)), PROTO_HEADER_OK);
}

Test(frame, method_frame_is_parsed)
{
	static const uint8_t payload[] = { 0, 10, 0, 11, 'x' };
	uint8_t buf[64];
	size_t len, used = 0;
	struct proto_frame f;

	len = frame(buf, sizeof(buf), PROTO_FRAME_METHOD, 3, payload,
	    sizeof(payload));
	f = parse_ok(buf, len, &used);
	cr_assert_eq(f.type, PROTO_FRAME_METHOD);
	cr_assert_eq(f.channel, 3);
	cr_assert_eq(f.size, sizeof(payload));
	cr_assert_eq(f.payload, buf + PROTO_FRAME_HDR_LEN);
	cr_assert_arr_eq(f.payload, payload, sizeof(payload));
	cr_assert_eq(used, len);
}

Test(frame, header_frame_is_parsed)
{
	static const uint8_t payload[] = { 0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5,
	    0, 0 };
	uint8_t buf[64];
	size_t len, used = 0;
	struct proto_frame f;

	len = frame(buf, sizeof(buf), PROTO_FRAME_HEADER, 1, payload,
	    sizeof(payload));
	f = parse_ok(buf, len, &used);
	cr_assert_eq(f.type, PROTO_FRAME_HEADER);
	cr_assert_eq(f.channel, 1);
	cr_assert_eq(f.size, sizeof(payload));
	cr_assert_arr_eq(f.payload, payload, sizeof(payload));
	cr_assert_eq(used, len);
}

Test(frame, body_frame_is_parsed)
{
	static const uint8_t payload[] = "hello";
	uint8_t buf[64];
	size_t len, used = 0;
	struct proto_frame f;

	len = frame(buf, sizeof(buf), PROTO_FRAME_BODY, 65535, payload, 5);
	f = parse_ok(buf, len, &used);
	cr_assert_eq(f.type, PROTO_FRAME_BODY);
	cr_assert_eq(f.channel, 65535);
	cr_assert_eq(f.size, 5);
	cr_assert_arr_eq(f.payload, payload, 5);
	cr_assert_eq(used, len);
}

Test(frame, heartbeat_frame_is_parsed)
{
	static const uint8_t hb[] = { 8, 0, 0, 0, 0, 0, 0, 0xce };
	size_t used = 0;
	struct proto_frame f;

	f = parse_ok(hb, sizeof(hb), &used);
	cr_assert_eq(f.type, PROTO_FRAME_HEARTBEAT);
	cr_assert_eq(f.channel, 0);
	cr_assert_eq(f.size, 0);
	cr_assert_eq(used, 8);
}

Test(frame, every_truncation_needs_more)
{
	static const uint8_t payload[] = { 0, 10, 0, 11, 1, 2, 3, 4, 5 };
	uint8_t buf[64];
	struct proto_frame f;
	const char *why;
	size_t len, used;

	len = frame(buf, sizeof(buf), PROTO_FRAME_METHOD, 1, payload,
	    sizeof(payload));
	for (size_t n = 0; n < len; n++)
		cr_assert_eq(proto_frame_parse(buf, n, FMAX, &f, &used, &why),
		    PROTO_PARSE_NEED_MORE, "truncated to %zu of %zu bytes", n,
		    len);
}

Test(frame, oversized_frame_is_an_error_before_its_payload_arrives)
{
	static const uint8_t hdr[] = { 1, 0, 1, 0xff, 0xff, 0xff, 0xff };
	struct proto_frame f;
	const char *why = NULL;
	size_t used;

	cr_assert_eq(proto_frame_parse(hdr, sizeof(hdr), FMAX, &f, &used, &why),
	    PROTO_PARSE_ERROR);
	cr_assert_not_null(why);
}

Test(frame, payload_of_frame_max_plus_one_is_an_error)
{
	static const uint8_t hdr[] = { 3, 0, 1, 0, 0, 0x10, 0x01 };	/* 4097 */
	struct proto_frame f;
	const char *why = NULL;
	size_t used;

	cr_assert_eq(proto_frame_parse(hdr, sizeof(hdr), FMAX, &f, &used, &why),
	    PROTO_PARSE_ERROR);
}

Test(frame, payload_of_exactly_frame_max_is_accepted)
{
	static uint8_t payload[FMAX], buf[FMAX + PROTO_FRAME_OVERHEAD];
	size_t len, used = 0;
	struct proto_frame f;

	memset(payload, 'p', sizeof(payload));
	len = frame(buf, sizeof(buf), PROTO_FRAME_BODY, 1, payload, FMAX);
	f = parse_ok(buf, len, &used);
	cr_assert_eq(f.size, FMAX);
	cr_assert_eq(used, FMAX + PROTO_FRAME_OVERHEAD);
}

Test(frame, bad_frame_end_is_an_error)
{
	static const uint8_t payload[] = { 1, 2, 3 };
	uint8_t buf[64];
	struct proto_frame f;
	const char *why = NULL;
	size_t len, used;

	len = frame(buf, sizeof(buf), PROTO_FRAME_BODY, 1, payload,
	    sizeof(payload));
	buf[len - 1] = 0xcd;
	cr_assert_eq(proto_frame_parse(buf, len, FMAX, &f, &used, &why),
	    PROTO_PARSE_ERROR);
	cr_assert_not_null(why);
}

Test(frame, unknown_frame_type_is_an_error)
{
	static const uint8_t payload[] = { 1, 2, 3 };
	uint8_t buf[64];
	struct proto_frame f;
	const char *why = NULL;
	size_t len, used;

	len = frame(buf, sizeof(buf), 7, 1, payload, sizeof(payload));
	cr_assert_eq(proto_frame_parse(buf, len, FMAX, &f, &used, &why),
	    PROTO_PARSE_ERROR);
	cr_assert_not_null(why);
}

Test(frame, unknown_frame_type_is_an_error_with_only_the_header)
{
	static const uint8_t hdr[] = { 7, 0, 1, 0, 0, 0, 3 };
	struct proto_frame f;
	const char *why = NULL;
	size_t used;

	cr_assert_eq(proto_frame_parse(hdr, sizeof(hdr), FMAX, &f, &used, &why),
	    PROTO_PARSE_ERROR);
}

Test(frame, back_to_back_frames_are_parsed_in_turn)
{
	static const uint8_t p1[] = { 0, 10, 0, 11 }, p2[] = "abcdef";
	uint8_t buf[64];
	size_t len, used = 0, used2 = 0;
	struct proto_frame f;

	len = frame(buf, sizeof(buf), PROTO_FRAME_METHOD, 1, p1, sizeof(p1));
	len += frame(buf + len, sizeof(buf) - len, PROTO_FRAME_BODY, 2, p2, 6);

	f = parse_ok(buf, len, &used);
	cr_assert_eq(used, sizeof(p1) + PROTO_FRAME_OVERHEAD);
	cr_assert_eq(f.type, PROTO_FRAME_METHOD);
	cr_assert_eq(f.channel, 1);

	f = parse_ok(buf + used, len - used, &used2);
	cr_assert_eq(used2, 6 + PROTO_FRAME_OVERHEAD);
	cr_assert_eq(used + used2, len);
	cr_assert_eq(f.type, PROTO_FRAME_BODY);
	cr_assert_eq(f.channel, 2);
	cr_assert_arr_eq(f.payload, p2, 6);
}

Test(frame, content_header_round_trips)
{
	static const uint8_t props[] = { 0x80, 0x00, 0, 0, 0, 0 };
	uint8_t buf[128];
	struct proto_writer w = proto_writer(buf, sizeof(buf));
	struct proto_frame f;
	struct proto_str pv;
	uint64_t body_size = 0;
	uint16_t class_id = 0;
	size_t used = 0;

	proto_frame_begin(&w, PROTO_FRAME_HEADER, 5, 12 + sizeof(props));
	proto_content_header_begin(&w, PROTO_CLASS_BASIC, 0x123456789aULL);
	proto_write_bytes(&w, props, sizeof(props));
	proto_frame_end(&w);
	cr_assert(!w.overflow);

	f = parse_ok(buf, w.len, &used);
	cr_assert_eq(used, w.len);
	cr_assert_eq(f.type, PROTO_FRAME_HEADER);
	cr_assert_eq(f.channel, 5);
	cr_assert_eq(proto_content_header_parse(f.payload, f.size, &class_id,
	    &body_size, &pv), 0);
	cr_assert_eq(class_id, PROTO_CLASS_BASIC);
	cr_assert_eq(body_size, 0x123456789aULL);
	cr_assert_eq(pv.len, sizeof(props));
	cr_assert_arr_eq(pv.p, props, sizeof(props));
}

Test(frame, content_header_writes_weight_zero)
{
	uint8_t buf[16];
	struct proto_writer w = proto_writer(buf, sizeof(buf));

	proto_content_header_begin(&w, PROTO_CLASS_BASIC, 1);
	cr_assert_eq(w.len, 12);
	cr_assert_eq(buf[2], 0);
	cr_assert_eq(buf[3], 0);
}

Test(frame, content_header_shorter_than_12_bytes_is_an_error)
{
	uint8_t p[12] = { 0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct proto_str props;
	uint64_t body_size;
	uint16_t class_id;

	for (size_t n = 0; n < sizeof(p); n++)
		cr_assert_neq(proto_content_header_parse(p, n, &class_id,
		    &body_size, &props), 0, "%zu bytes", n);
}

Test(frame, content_header_of_exactly_12_bytes_has_no_properties)
{
	uint8_t p[12] = { 0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct proto_str props = { NULL, 99 };
	uint64_t body_size = 0;
	uint16_t class_id = 0;

	cr_assert_eq(proto_content_header_parse(p, sizeof(p), &class_id,
	    &body_size, &props), 0);
	cr_assert_eq(class_id, 60);
	cr_assert_eq(body_size, 1);
	cr_assert_eq(props.len, 0);
}
