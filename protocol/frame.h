/*
 * AMQP 0-9-1 framing: the protocol header, a push parser for frames, and
 * frame writers. No I/O: callers hand in the bytes they have.
 */
#ifndef WARREN_PROTOCOL_FRAME_H
#define WARREN_PROTOCOL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/wire.h"

#define PROTO_HEADER_LEN	8
#define PROTO_FRAME_OVERHEAD	8	/* type(1) channel(2) size(4) end(1) */
#define PROTO_FRAME_HDR_LEN	7

extern const uint8_t proto_header_091[PROTO_HEADER_LEN];	/* "AMQP\0\0\x09\x01" */

enum proto_header_result {
	PROTO_HEADER_OK,
	PROTO_HEADER_NEED_MORE,
	PROTO_HEADER_BAD,
};

/* Checks the 8-byte protocol header a client sends first. */
enum proto_header_result proto_header_check(const uint8_t *p, size_t len);

/* One frame; payload is a view into the parser's input. */
struct proto_frame {
	uint8_t		 type;		/* PROTO_FRAME_METHOD, ... */
	uint16_t	 channel;
	const uint8_t	*payload;
	uint32_t	 size;		/* payload length */
};

enum proto_parse_result {
	PROTO_PARSE_FRAME,	/* *f is set; *used bytes were consumed */
	PROTO_PARSE_NEED_MORE,	/* call again with more bytes */
	PROTO_PARSE_ERROR,	/* 501 FRAME_ERROR; *why says what */
};

/*
 * Parses one frame from p[0..len). frame_max is the largest payload
 * allowed; a larger size field is an error before any payload is awaited,
 * so a hostile 0xFFFFFFFF never makes the caller buffer 4 GiB.
 */
enum proto_parse_result proto_frame_parse(const uint8_t *p, size_t len,
	    uint32_t frame_max, struct proto_frame *f, size_t *used,
	    const char **why);

/* Writes a frame header (type, channel, payload size). */
void	proto_frame_begin(struct proto_writer *w, uint8_t type, uint16_t channel,
	    uint32_t size);
/* Writes the frame-end octet. */
void	proto_frame_end(struct proto_writer *w);

/*
 * Writes a content header frame payload's fixed part: class id, weight 0,
 * body size. The property bytes follow.
 */
void	proto_content_header_begin(struct proto_writer *w, uint16_t class_id,
	    uint64_t body_size);

/* Parses the fixed part of a content header payload; the rest is properties. */
int	proto_content_header_parse(const uint8_t *p, size_t len,
	    uint16_t *class_id, uint64_t *body_size, struct proto_str *props);

#endif /* WARREN_PROTOCOL_FRAME_H */
