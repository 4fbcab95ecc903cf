#include "autoconf.h"

/*
 * libFuzzer target (RELIABILITY T7 a): the frame splitter and the content
 * state machine, driven the way a connection drives them.
 *
 * Input: one selector byte, then the byte stream a client would send.
 * The selector's low 3 bits pick frame_max; its top 3 bits pick how many
 * bytes "arrive" per read, so every frame is also parsed from partial
 * buffers, as it is when the socket delivers it in pieces.
 *
 * The stream starts with the protocol header when it has one; a stream
 * without it is parsed as frames from its first byte, so the fuzzer need
 * not rediscover the header for every input.
 *
 * Invariants (any violation is __builtin_trap()):
 *  - the header check is monotonic: a prefix of a good header needs more,
 *    a bad prefix stays bad however many bytes follow;
 *  - a parsed frame lies inside the input: used <= len, the payload lies
 *    between the frame header and the frame end, size <= frame_max, the
 *    frame-end octet is 0xCE, the type is one of 1, 2, 3, 8;
 *  - parsing is prefix-stable: what a partial buffer yields (a frame or an
 *    error) is what the whole buffer yields;
 *  - the frame writers rebuild every parsed frame byte for byte (a content
 *    header's weight as 0);
 *  - the content state machine never counts more body than its header
 *    declared, and says "complete" exactly when the count reaches it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/content.h"
#include "protocol/frame.h"
#include "protocol/spec.h"
#include "protocol/table.h"
#include "protocol/wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

/* frame_max choices: spec minimum, RabbitMQ default, tiny, huge, edge cases. */
static const uint32_t frame_maxes[8] = {
	PROTO_FRAME_MIN_SIZE, 131072, 0, 1, 16, 4095, 1u << 20, UINT32_MAX
};

/* Bytes per simulated read; 0 means "everything at once". */
static const size_t chunk_sizes[8] = { 0, 1, 2, 3, 7, 8, 13, 4096 };

#define SLOTS	8	/* channels with content state tracked per input */

struct slot {
	uint16_t		channel;
	struct proto_content	ct;
};

struct conn {
	uint32_t	frame_max;
	struct slot	slots[SLOTS];
	size_t		nslots;
};

/* The content state of a channel, as a channel table would hold it. */
static struct proto_content *
channel_content(struct conn *c, uint16_t channel)
{
	struct slot *s;
	size_t i;

	for (i = 0; i < c->nslots; i++)
		if (c->slots[i].channel == channel)
			return &c->slots[i].ct;
	/* Out of slots: recycle one, as if its channel had been closed. */
	if (c->nslots == SLOTS)
		s = &c->slots[channel % SLOTS];
	else
		s = &c->slots[c->nslots++];
	s->channel = channel;
	memset(&s->ct, 0, sizeof(s->ct));
	proto_content_reset(&s->ct);
	return &s->ct;
}

/* Walks a validated properties headers table, as routing would look at it. */
static void
check_headers(struct proto_table t)
{
	struct proto_table_iter	it;
	struct proto_str	key;
	struct proto_field	f;

	if (!proto_table_validate(t))
		return;
	proto_table_iter_init(&it, t);
	while (proto_table_next(&it, &key, &f)) {
		CHECK(key.len >= 1 && key.len <= 255);
		CHECK(key.p >= t.p && key.p + key.len <= t.p + t.len);
	}
}

/* A method frame: returns false when the connection would be closed. */
static bool
on_method(struct conn *c, const struct proto_frame *f)
{
	struct proto_content	*ct = channel_content(c, f->channel);
	struct proto_method	 m;
	const char		*why = NULL;
	int			 rc;

	if ((rc = proto_content_method_ok(ct, &why)) != 0) {
		CHECK(rc == PROTO_UNEXPECTED_FRAME && why != NULL);
		return false;
	}
	rc = proto_method_decode(f->payload, f->size, &m);
	/* spec: a method frame shorter than its two ids is a 501. */
	CHECK((rc == PROTO_FRAME_ERROR) == (f->size < 4));
	if (rc != 0)
		return false;
	CHECK(proto_method_info(m.id) != NULL);
	/* spec: basic.publish (class 60, method 40) carries content. */
	if (m.id == PROTO_BASIC_PUBLISH) {
		CHECK(proto_method_info(m.id)->content);
		proto_content_start(ct, PROTO_CLASS_BASIC);
		CHECK(proto_content_method_ok(ct, &why) != 0);
	}
	return true;
}

/* A header or body frame: returns false when the connection would close. */
static bool
on_content(struct conn *c, const struct proto_frame *f)
{
	struct proto_content		*ct = channel_content(c, f->channel);
	struct proto_content_event	 ev;
	struct proto_basic_properties	 props;
	enum proto_content_state	 before = ct->state;
	uint64_t			 received = ct->received;
	const char			*why = NULL;
	int				 rc;

	memset(&ev, 0, sizeof(ev));
	rc = proto_content_frame(ct, f, &ev, &why);
	if (rc != 0) {
		CHECK(why != NULL);
		CHECK(rc == PROTO_UNEXPECTED_FRAME || rc == PROTO_FRAME_ERROR);
		/* spec: a header shorter than its 12 fixed octets is a 501. */
		if (rc == PROTO_FRAME_ERROR)
			CHECK(f->type == PROTO_FRAME_HEADER && f->size < 12);
		return false;
	}
	CHECK(before != PROTO_CONTENT_IDLE);
	CHECK(ct->received <= ct->body_size || ct->state == PROTO_CONTENT_IDLE);
	if (ev.header) {
		CHECK(before == PROTO_CONTENT_HEADER);
		CHECK(f->type == PROTO_FRAME_HEADER && f->size >= 12);
		CHECK(ev.props.p == f->payload + 12);
		CHECK(ev.props.len == f->size - 12);
		CHECK(ev.complete == (ev.body_size == 0));
		CHECK(ev.complete == (ct->state == PROTO_CONTENT_IDLE));
		if (proto_basic_properties_decode(ev.props.p, ev.props.len,
		    &props) == 0 && (props.flags & PROTO_BASIC_HEADERS_FLAG))
			check_headers(props.headers);
		return true;
	}
	CHECK(before == PROTO_CONTENT_BODY && f->type == PROTO_FRAME_BODY);
	CHECK(received + f->size <= ct->body_size);
	CHECK(ct->received == received + f->size);
	CHECK(ev.complete == (ct->received == ct->body_size));
	CHECK(ev.complete == (ct->state == PROTO_CONTENT_IDLE));
	return true;
}

/* The frame writers reproduce a parsed frame byte for byte. */
static void
rewrite_frame(const uint8_t *p, const struct proto_frame *f, size_t used)
{
	struct proto_writer	 w;
	struct proto_str	 props;
	uint64_t		 body_size;
	uint16_t		 class_id;
	uint8_t			*buf;

	if ((buf = malloc(used)) == NULL)
		abort();
	w = proto_writer(buf, used);
	proto_frame_begin(&w, f->type, f->channel, f->size);
	if (f->type == PROTO_FRAME_HEADER && proto_content_header_parse(
	    f->payload, f->size, &class_id, &body_size, &props) == 0) {
		CHECK(props.p == f->payload + 12 && props.len == f->size - 12);
		proto_content_header_begin(&w, class_id, body_size);
		proto_write_bytes(&w, props.p, props.len);
		/* The weight field is written as 0 whatever came in. */
		CHECK(w.len == used - 1);
		CHECK(memcmp(buf, p, 9) == 0 && buf[9] == 0 && buf[10] == 0);
		CHECK(memcmp(buf + 11, p + 11, used - 12) == 0);
	} else {
		proto_write_bytes(&w, f->payload, f->size);
		CHECK(w.len == used - 1 && memcmp(buf, p, used - 1) == 0);
	}
	proto_frame_end(&w);
	CHECK(!w.overflow && w.len == used && buf[used - 1] == PROTO_FRAME_END);
	free(buf);
}

/* Checks one parsed frame against the buffer it came from. */
static void
check_frame(const uint8_t *p, size_t len, uint32_t frame_max,
    const struct proto_frame *f, size_t used)
{
	CHECK(used <= len);
	CHECK(used == (size_t)f->size + PROTO_FRAME_OVERHEAD);
	CHECK(f->size <= frame_max);
	CHECK(f->payload == p + PROTO_FRAME_HDR_LEN);
	CHECK(f->payload + f->size + 1 <= p + len);
	CHECK(f->payload[f->size] == PROTO_FRAME_END);
	CHECK(f->type == PROTO_FRAME_METHOD || f->type == PROTO_FRAME_HEADER ||
	    f->type == PROTO_FRAME_BODY || f->type == PROTO_FRAME_HEARTBEAT);
	CHECK(f->channel == (uint16_t)(p[1] << 8 | p[2]));
	rewrite_frame(p, f, used);
}

/*
 * Parses p[0..avail) and checks the result against the whole remaining
 * buffer p[0..len): a frame or an error on a prefix is final.
 */
static enum proto_parse_result
parse_prefix(const uint8_t *p, size_t avail, size_t len, uint32_t frame_max,
    struct proto_frame *f, size_t *used)
{
	enum proto_parse_result	 res, full;
	struct proto_frame	 ff;
	const char		*why = NULL, *fwhy = NULL;
	size_t			 fused = 0;

	res = proto_frame_parse(p, avail, frame_max, f, used, &why);
	switch (res) {
	case PROTO_PARSE_FRAME:
		check_frame(p, avail, frame_max, f, *used);
		break;
	case PROTO_PARSE_ERROR:
		CHECK(why != NULL);
		/* Errors are decided on the 7-byte header, before the payload. */
		break;
	case PROTO_PARSE_NEED_MORE:
		/* A complete-looking header needs size + 8 bytes in all. */
		break;
	default:
		CHECK(0);
	}
	if (avail == len)
		return res;
	full = proto_frame_parse(p, len, frame_max, &ff, &fused, &fwhy);
	if (res != PROTO_PARSE_NEED_MORE) {
		CHECK(full == res);
		if (res == PROTO_PARSE_FRAME)
			CHECK(fused == *used && ff.size == f->size &&
			    ff.payload == f->payload && ff.type == f->type);
	}
	return res;
}

/* Feeds the stream a chunk at a time; stops where a connection would close. */
static void
run_stream(struct conn *c, const uint8_t *p, size_t len, size_t chunk)
{
	struct proto_frame	f;
	size_t			off = 0, avail, used;
	bool			ok = true;

	avail = chunk == 0 ? len : (chunk < len ? chunk : len);
	while (ok && off < len) {
		enum proto_parse_result res;

		used = 0;
		res = parse_prefix(p + off, avail - off, len - off,
		    c->frame_max, &f, &used);
		if (res == PROTO_PARSE_ERROR)
			return;
		if (res == PROTO_PARSE_NEED_MORE) {
			if (avail == len)
				return;		/* truncated stream: wait forever */
			avail = chunk == 0 || len - avail < chunk ? len :
			    avail + chunk;
			continue;
		}
		CHECK(used > 0 && used <= avail - off);
		off += used;
		if (avail < off)
			avail = off;
		switch (f.type) {
		case PROTO_FRAME_METHOD:
			ok = on_method(c, &f);
			break;
		case PROTO_FRAME_HEADER:
		case PROTO_FRAME_BODY:
			/* spec: content frames on channel 0 are 504 errors. */
			ok = f.channel != 0 && on_content(c, &f);
			break;
		case PROTO_FRAME_HEARTBEAT:
			/* spec: heartbeats are channel 0 only, and empty. */
			ok = f.channel == 0;
			break;
		default:
			CHECK(0);
		}
	}
}

/* The header check on every prefix of the input's first 8 bytes. */
static enum proto_header_result
check_header(const uint8_t *p, size_t len)
{
	enum proto_header_result res = PROTO_HEADER_NEED_MORE, r;
	size_t n, max = len < PROTO_HEADER_LEN ? len : PROTO_HEADER_LEN;
	bool bad = false;

	for (n = 0; n <= max; n++) {
		r = proto_header_check(p, n);
		if (bad)
			CHECK(r == PROTO_HEADER_BAD);
		if (r == PROTO_HEADER_BAD)
			bad = true;
		if (r == PROTO_HEADER_OK)
			CHECK(n == PROTO_HEADER_LEN);
		res = r;
	}
	/* Longer input does not change the verdict on the first 8 bytes. */
	if (len > PROTO_HEADER_LEN)
		CHECK(proto_header_check(p, len) == res);
	if (res == PROTO_HEADER_OK)
		CHECK(memcmp(p, "AMQP", 4) == 0);
	return res;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn	c;
	const uint8_t	*p;
	size_t		 len;

	if (size < 1)
		return 0;
	memset(&c, 0, sizeof(c));
	c.frame_max = frame_maxes[data[0] & 7];
	p = data + 1;
	len = size - 1;
	switch (check_header(p, len)) {
	case PROTO_HEADER_OK:
		p += PROTO_HEADER_LEN;
		len -= PROTO_HEADER_LEN;
		break;
	case PROTO_HEADER_NEED_MORE:
		return 0;
	case PROTO_HEADER_BAD:
		break;		/* headerless stream: parse frames from byte 0 */
	}
	run_stream(&c, p, len, chunk_sizes[data[0] >> 5]);
	return 0;
}
