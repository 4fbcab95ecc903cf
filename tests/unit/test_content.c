#include "autoconf.h"

#include <criterion/criterion.h>

#include "protocol/content.h"
#include "protocol/spec.h"

static uint8_t header_payload[32];

/* A content header frame of class class_id declaring size body bytes. */
static struct proto_frame
header(uint16_t class_id, uint64_t size)
{
	struct proto_writer w = proto_writer(header_payload,
	    sizeof(header_payload));

	proto_content_header_begin(&w, class_id, size);
	proto_write_u16(&w, 0);		/* no properties */
	return (struct proto_frame){ PROTO_FRAME_HEADER, 1, header_payload,
	    (uint32_t)w.len };
}

static struct proto_frame
body(size_t n)
{
	static const uint8_t bytes[64];

	return (struct proto_frame){ PROTO_FRAME_BODY, 1, bytes, (uint32_t)n };
}

Test(content, idle_channel_accepts_methods_and_refuses_content)
{
	struct proto_content ct = { 0 };
	struct proto_content_event ev;
	struct proto_frame f = body(1);
	const char *why;

	cr_assert_eq(proto_content_method_ok(&ct, &why), 0);
	cr_assert_eq(proto_content_frame(&ct, &f, &ev, &why),
	    PROTO_UNEXPECTED_FRAME);
	f = header(60, 1);
	cr_assert_eq(proto_content_frame(&ct, &f, &ev, &why),
	    PROTO_UNEXPECTED_FRAME);
}

Test(content, method_then_header_then_bodies_completes_at_declared_size)
{
	struct proto_content ct = { 0 };
	struct proto_content_event ev;
	struct proto_frame f = header(60, 10);
	const char *why;

	proto_content_start(&ct, 60);
	cr_assert_eq(proto_content_frame(&ct, &f, &ev, &why), 0);
	cr_assert(ev.header);
	cr_assert_eq(ev.body_size, 10);
	cr_assert_eq(ev.props.len, 2);
	cr_assert_not(ev.complete);
	f = body(4);
	cr_assert_eq(proto_content_frame(&ct, &f, &ev, &why), 0);
	cr_assert_not(ev.complete);
	f = body(6);
	cr_assert_eq(proto_content_frame(&ct, &f, &ev, &why), 0);
	cr_assert(ev.complete);
	cr_assert_eq(proto_content_method_ok(&ct, &why), 0);
}

Test(content, empty_body_completes_with_the_header)
{
	struct proto_content ct = { 0 };
	struct proto_content_event ev;
	struct proto_frame f = header(60, 0);
	const char *why;

	proto_content_start(&ct, 60);
	cr_assert_eq(proto_content_frame(&ct, &f, &ev, &why), 0);
	cr_assert(ev.complete);
	cr_assert_eq(ct.state, PROTO_CONTENT_IDLE);
}

Test(content, method_while_header_or_body_due_is_505)
{
	struct proto_content ct = { 0 };
	struct proto_content_event ev;
	struct proto_frame f = header(60, 5);
	const char *why;

	proto_content_start(&ct, 60);
	cr_assert_eq(proto_content_method_ok(&ct, &why),
	    PROTO_UNEXPECTED_FRAME);
	cr_assert_str_eq(why, "expected content header for class 60, got "
	    "non content header frame instead");
	cr_assert_eq(proto_content_frame(&ct, &f, &ev, &why), 0);
	cr_assert_eq(proto_content_method_ok(&ct, &why),
	    PROTO_UNEXPECTED_FRAME);
	cr_assert_str_eq(why, "expected content body, got non content body "
	    "frame instead");
}

Test(content, body_before_header_is_505)
{
	struct proto_content ct = { 0 };
	struct proto_content_event ev;
	struct proto_frame f = body(1);
	const char *why;

	proto_content_start(&ct, 60);
	cr_assert_eq(proto_content_frame(&ct, &f, &ev, &why),
	    PROTO_UNEXPECTED_FRAME);
}

Test(content, second_header_is_505)
{
	struct proto_content ct = { 0 };
	struct proto_content_event ev;
	struct proto_frame f = header(60, 5);
	const char *why;

	proto_content_start(&ct, 60);
	cr_assert_eq(proto_content_frame(&ct, &f, &ev, &why), 0);
	cr_assert_eq(proto_content_frame(&ct, &f, &ev, &why),
	    PROTO_UNEXPECTED_FRAME);
}

Test(content, header_of_another_class_is_505)
{
	struct proto_content ct = { 0 };
	struct proto_content_event ev;
	struct proto_frame f = header(50, 5);
	const char *why;

	proto_content_start(&ct, 60);
	cr_assert_eq(proto_content_frame(&ct, &f, &ev, &why),
	    PROTO_UNEXPECTED_FRAME);
}

Test(content, short_header_is_frame_error)
{
	struct proto_content ct = { 0 };
	struct proto_content_event ev;
	struct proto_frame f = header(60, 5);
	const char *why;

	f.size = 11;
	proto_content_start(&ct, 60);
	cr_assert_eq(proto_content_frame(&ct, &f, &ev, &why),
	    PROTO_FRAME_ERROR);
}

Test(content, body_overshooting_declared_size_is_505)
{
	struct proto_content ct = { 0 };
	struct proto_content_event ev;
	struct proto_frame f = header(60, 3);
	const char *why;

	proto_content_start(&ct, 60);
	cr_assert_eq(proto_content_frame(&ct, &f, &ev, &why), 0);
	f = body(4);
	cr_assert_eq(proto_content_frame(&ct, &f, &ev, &why),
	    PROTO_UNEXPECTED_FRAME);
	cr_assert_eq(ct.received, 0);
}

Test(content, reset_drops_a_partial_content)
{
	struct proto_content ct = { 0 };
	const char *why;

	proto_content_start(&ct, 60);
	proto_content_reset(&ct);
	cr_assert_eq(proto_content_method_ok(&ct, &why), 0);
}
