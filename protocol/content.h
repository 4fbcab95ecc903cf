/*
 * Content assembly for one channel: a content-carrying method, then one
 * content header, then body frames until the declared size. The state
 * machine only checks order and sizes; the caller owns the bytes.
 */
#ifndef WARREN_PROTOCOL_CONTENT_H
#define WARREN_PROTOCOL_CONTENT_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/frame.h"
#include "protocol/wire.h"

enum proto_content_state {
	PROTO_CONTENT_IDLE,	/* next frame must be a method */
	PROTO_CONTENT_HEADER,	/* next frame must be a content header */
	PROTO_CONTENT_BODY,	/* next frames are body, until body_size */
};

struct proto_content {
	enum proto_content_state state;
	uint16_t	class_id;	/* class of the method that started it */
	uint64_t	body_size;	/* from the content header */
	uint64_t	received;	/* body bytes so far */
};

/* What a frame meant, when proto_content_frame() accepts it. */
struct proto_content_event {
	bool			header;		/* it was the header */
	struct proto_str	props;		/* header: property bytes */
	uint64_t		body_size;	/* header: declared size */
	bool			complete;	/* the body is now complete */
};

/* A content-carrying method was accepted: a header must follow. */
void	proto_content_start(struct proto_content *ct, uint16_t class_id);
/* Drops a partial content (channel closed). */
void	proto_content_reset(struct proto_content *ct);
/*
 * Whether a method frame may arrive now. Returns 0, or 505 with *why set
 * when a header or body is due.
 */
int	proto_content_method_ok(const struct proto_content *ct,
	    const char **why);
/*
 * Takes a header or body frame. Returns 0 and fills *ev, or a reply code
 * (505 UNEXPECTED_FRAME for frames out of order, a wrong class or a body
 * that overshoots its declared size; 501 FRAME_ERROR for a header too
 * short to parse) with *why set.
 */
int	proto_content_frame(struct proto_content *ct,
	    const struct proto_frame *f, struct proto_content_event *ev,
	    const char **why);

#endif /* WARREN_PROTOCOL_CONTENT_H */
