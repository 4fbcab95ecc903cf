#include "autoconf.h"

#include "protocol/frame.h"
#include "protocol/spec.h"

const uint8_t proto_header_091[PROTO_HEADER_LEN] = {
	'A', 'M', 'Q', 'P', 0, 0, 9, 1
};

/* compat: RabbitMQ also accepts the 0-9 header and speaks 0-9-1 to it. */
static const uint8_t header_09[PROTO_HEADER_LEN] = {
	'A', 'M', 'Q', 'P', 1, 1, 0, 9
};

enum proto_header_result
proto_header_check(const uint8_t *p, size_t len)
{
	size_t n = len < PROTO_HEADER_LEN ? len : PROTO_HEADER_LEN;

	/* A prefix that already differs is bad without waiting for more. */
	if (memcmp(p, proto_header_091, n) != 0 && memcmp(p, header_09, n) != 0)
		return PROTO_HEADER_BAD;
	return len < PROTO_HEADER_LEN ? PROTO_HEADER_NEED_MORE : PROTO_HEADER_OK;
}

enum proto_parse_result
proto_frame_parse(const uint8_t *p, size_t len, uint32_t frame_max,
    struct proto_frame *f, size_t *used, const char **why)
{
	struct proto_reader r = proto_reader(p, len);
	const uint8_t *payload, *end;
	uint8_t type;
	uint16_t channel;
	uint32_t size;

	if (!proto_read_u8(&r, &type) || !proto_read_u16(&r, &channel) ||
	    !proto_read_u32(&r, &size))
		return PROTO_PARSE_NEED_MORE;
	/* spec: 4.2.3 an unknown frame type is a fatal 501, never skipped. */
	if (type != PROTO_FRAME_METHOD && type != PROTO_FRAME_HEADER &&
	    type != PROTO_FRAME_BODY && type != PROTO_FRAME_HEARTBEAT) {
		*why = "unknown frame type";
		return PROTO_PARSE_ERROR;
	}
	/*
	 * compat: RabbitMQ compares the payload size, not the whole frame,
	 * with frame_max; clients that fill frames exactly rely on it.
	 */
	if (size > frame_max) {
		*why = "frame size exceeds frame_max";
		return PROTO_PARSE_ERROR;
	}
	if (!proto_read_bytes(&r, size, &payload) ||
	    !proto_read_bytes(&r, 1, &end))
		return PROTO_PARSE_NEED_MORE;
	if (*end != PROTO_FRAME_END) {
		*why = "bad frame end";
		return PROTO_PARSE_ERROR;
	}
	f->type = type;
	f->channel = channel;
	f->payload = payload;
	f->size = size;
	*used = (size_t)size + PROTO_FRAME_OVERHEAD;
	return PROTO_PARSE_FRAME;
}

void
proto_frame_begin(struct proto_writer *w, uint8_t type, uint16_t channel,
    uint32_t size)
{
	proto_write_u8(w, type);
	proto_write_u16(w, channel);
	proto_write_u32(w, size);
}

void
proto_frame_end(struct proto_writer *w)
{
	proto_write_u8(w, PROTO_FRAME_END);
}

void
proto_content_header_begin(struct proto_writer *w, uint16_t class_id,
    uint64_t body_size)
{
	proto_write_u16(w, class_id);
	proto_write_u16(w, 0);
	proto_write_u64(w, body_size);
}

int
proto_content_header_parse(const uint8_t *p, size_t len, uint16_t *class_id,
    uint64_t *body_size, struct proto_str *props)
{
	struct proto_reader r = proto_reader(p, len);
	uint16_t weight;

	if (!proto_read_u16(&r, class_id) || !proto_read_u16(&r, &weight) ||
	    !proto_read_u64(&r, body_size))
		return PROTO_FRAME_ERROR;
	props->p = r.p;
	props->len = r.len;
	return 0;
}
