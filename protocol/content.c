#include "autoconf.h"

#include "protocol/content.h"

#include <stdio.h>

#include "protocol/spec.h"

void
proto_content_start(struct proto_content *ct, uint16_t class_id)
{
	ct->state = PROTO_CONTENT_HEADER;
	ct->class_id = class_id;
	ct->body_size = 0;
	ct->received = 0;
}

void
proto_content_reset(struct proto_content *ct)
{
	ct->state = PROTO_CONTENT_IDLE;
}

/* compat: the wording of RabbitMQ's 505 replies, which clients log. */
#define WANT_HEADER	"expected content header for class 60, got non " \
	"content header frame instead"
#define WANT_BODY	"expected content body, got non content body frame " \
	"instead"
#define WANT_METHOD	"expected method frame, got non method frame instead"

int
proto_content_method_ok(const struct proto_content *ct, const char **why)
{
	switch (ct->state) {
	case PROTO_CONTENT_IDLE:
		return 0;
	case PROTO_CONTENT_HEADER:
		*why = WANT_HEADER;
		return PROTO_UNEXPECTED_FRAME;
	case PROTO_CONTENT_BODY:
	default:
		*why = WANT_BODY;
		return PROTO_UNEXPECTED_FRAME;
	}
}

static int
on_header(struct proto_content *ct, const struct proto_frame *f,
    struct proto_content_event *ev, const char **why)
{
	struct proto_str props;
	uint16_t class_id;
	uint64_t size;

	if (proto_content_header_parse(f->payload, f->size, &class_id, &size,
	    &props) != 0) {
		*why = "content header frame too short";
		return PROTO_FRAME_ERROR;
	}
	if (class_id != ct->class_id) {
		*why = "expected content header for class 60, got one for "
		    "another class instead";
		return PROTO_UNEXPECTED_FRAME;
	}
	ev->header = true;
	ev->props = props;
	ev->body_size = size;
	ct->body_size = size;
	ct->received = 0;
	ev->complete = size == 0;
	ct->state = size == 0 ? PROTO_CONTENT_IDLE : PROTO_CONTENT_BODY;
	return 0;
}

int
proto_content_frame(struct proto_content *ct, const struct proto_frame *f,
    struct proto_content_event *ev, const char **why)
{
	ev->header = false;
	ev->complete = false;
	switch (ct->state) {
	case PROTO_CONTENT_IDLE:
		*why = WANT_METHOD;
		return PROTO_UNEXPECTED_FRAME;
	case PROTO_CONTENT_HEADER:
		if (f->type != PROTO_FRAME_HEADER) {
			*why = WANT_HEADER;
			return PROTO_UNEXPECTED_FRAME;
		}
		return on_header(ct, f, ev, why);
	case PROTO_CONTENT_BODY:
		break;
	}
	if (f->type != PROTO_FRAME_BODY) {
		*why = WANT_BODY;
		return PROTO_UNEXPECTED_FRAME;
	}
	/* spec: 4.2.6.2 the body frames add up to exactly the declared size. */
	if (f->size > ct->body_size - ct->received) {
		*why = "content body exceeds the size declared in its header";
		return PROTO_UNEXPECTED_FRAME;
	}
	ct->received += f->size;
	if (ct->received == ct->body_size) {
		ev->complete = true;
		ct->state = PROTO_CONTENT_IDLE;
	}
	return 0;
}
