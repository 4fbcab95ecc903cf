/*
 * Channel closing races, over raw sockets: a client channel.close that
 * crosses the server's, close-oks that arrive late or for channels the
 * server has forgotten, and frames that keep coming to a closing channel.
 * Every expectation was taken from RabbitMQ 3.10 (run these tests against
 * it with WARREN_TEST_URL); "compat:" marks where it says more than the
 * spec.
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tests/integration/harness.h"

#define FRAME_MAX	131072
#define WAIT_MS		5000
#define QUIET_MS	500

static struct hbroker	b;

static void
setup(void)
{
	hb_start(&b, NULL);
}

static void
teardown(void)
{
	hb_stop(&b);
}

TestSuite(channel_close, .init = setup, .fini = teardown, .timeout = 60);

/* A close as read off the wire. */
struct hclose {
	bool		is_conn;
	uint16_t	code, class_id, method_id;
	char		text[256];
};

static uint16_t
u16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Asserts the next frame is method cls.mid on channel ch. */
static void
expect_method(int fd, uint16_t ch, uint16_t cls, uint16_t mid)
{
	struct hframe	f;

	cr_assert_eq(hb_raw_read_frame(fd, &f, WAIT_MS), 1,
	    "no frame where %u.%u on channel %u was due", cls, mid, ch);
	cr_assert_eq(f.type, AMQP_FRAME_METHOD, "frame type %u", f.type);
	cr_assert(f.channel == ch && f.class_id == cls && f.method_id == mid,
	    "expected %u.%u on channel %u, got %u.%u on channel %u", cls, mid,
	    ch, f.class_id, f.method_id, f.channel);
	hb_raw_frame_free(&f);
}

/* Decodes a channel.close or connection.close frame; false for others. */
static bool
parse_close(const struct hframe *f, struct hclose *c)
{
	size_t	tl;

	if (f->type != AMQP_FRAME_METHOD || f->size < 11 ||
	    !((f->class_id == 10 && f->method_id == 50) ||
	    (f->class_id == 20 && f->method_id == 40)))
		return false;
	c->is_conn = f->class_id == 10;
	c->code = u16_at(f->payload + 4);
	tl = f->payload[6];
	cr_assert_leq(7 + tl + 4, f->size, "close frame too short");
	memcpy(c->text, f->payload + 7, tl);
	c->text[tl] = '\0';
	c->class_id = u16_at(f->payload + 7 + tl);
	c->method_id = u16_at(f->payload + 9 + tl);
	return true;
}

/* Asserts the next frame is this close (text exact, ids included). */
static void
expect_close(int fd, bool is_conn, uint16_t code, const char *text,
    uint16_t cls, uint16_t mid)
{
	struct hframe	f;
	struct hclose	c;

	cr_assert_eq(hb_raw_read_frame(fd, &f, WAIT_MS), 1, "no close");
	cr_assert(parse_close(&f, &c), "expected a close, got %u.%u on "
	    "channel %u", f.class_id, f.method_id, f.channel);
	hb_raw_frame_free(&f);
	cr_assert_eq(c.is_conn, is_conn, "%s.close %u '%s'",
	    c.is_conn ? "connection" : "channel", c.code, c.text);
	cr_assert_eq(c.code, code, "close %u '%s'", c.code, c.text);
	cr_assert_str_eq(c.text, text);
	cr_assert(c.class_id == cls && c.method_id == mid,
	    "close names %u.%u, not %u.%u", c.class_id, c.method_id, cls, mid);
}

/* Skips channel.closes up to a connection.close and asserts it. */
static void
expect_conn_close_after(int fd, uint16_t code, const char *text,
    uint16_t cls, uint16_t mid)
{
	struct hframe	f;
	struct hclose	c;

	for (;;) {
		cr_assert_eq(hb_raw_read_frame(fd, &f, WAIT_MS), 1,
		    "no connection.close");
		if (parse_close(&f, &c) && c.is_conn)
			break;
		hb_raw_frame_free(&f);
	}
	hb_raw_frame_free(&f);
	cr_assert_eq(c.code, code, "close %u '%s'", c.code, c.text);
	cr_assert_str_eq(c.text, text);
	cr_assert(c.class_id == cls && c.method_id == mid,
	    "close names %u.%u, not %u.%u", c.class_id, c.method_id, cls, mid);
}

static void
expect_quiet(int fd)
{
	struct hframe	f;

	if (hb_raw_read_frame(fd, &f, QUIET_MS) == 1) {
		hb_raw_frame_free(&f);
		cr_assert_fail("unexpected frame %u.%u on channel %u",
		    f.class_id, f.method_id, f.channel);
	}
}

/* Appends one method frame to a, for sending several in one write. */
static void
put_method(struct hbuf *a, uint16_t ch, uint16_t cls, uint16_t mid,
    const void *args, size_t n)
{
	hb_put_u8(a, AMQP_FRAME_METHOD);
	hb_put_u16(a, ch);
	hb_put_u32(a, (uint32_t)(4 + n));
	hb_put_u16(a, cls);
	hb_put_u16(a, mid);
	if (n > 0)
		hb_put_bytes(a, args, n);
	hb_put_u8(a, AMQP_FRAME_END);
}

static void
put_channel_open(struct hbuf *a, uint16_t ch)
{
	put_method(a, ch, 20, 10, "", 1);	/* reserved shortstr "" */
}

static void
put_channel_close(struct hbuf *a, uint16_t ch)
{
	static const uint8_t	args[] = { 0, 200, 3, 'b', 'y', 'e', 0, 0,
	    0, 0 };

	put_method(a, ch, 20, 40, args, sizeof(args));
}

static void
put_close_ok(struct hbuf *a, uint16_t ch)
{
	put_method(a, ch, 20, 41, NULL, 0);
}

static void
put_flow(struct hbuf *a, uint16_t ch)
{
	put_method(a, ch, 20, 20, "\1", 1);
}

/* basic.ack of a tag never delivered: the server closes the channel. */
static void
put_bad_ack(struct hbuf *a, uint16_t ch)
{
	static const uint8_t	args[] = { 0, 0, 0, 0, 0, 0, 0, 99, 0 };

	put_method(a, ch, 60, 80, args, sizeof(args));
}

#define BAD_ACK_TEXT	"PRECONDITION_FAILED - unknown delivery tag 99"

/* basic.publish to exchange ex, routing key "k". */
static void
put_publish(struct hbuf *a, uint16_t ch, const char *ex)
{
	struct hbuf	args;

	args.len = 0;
	hb_put_u16(&args, 0);
	hb_put_shortstr(&args, ex);
	hb_put_shortstr(&args, "k");
	hb_put_u8(&args, 0);
	put_method(a, ch, 60, 40, args.data, args.len);
}

static void
put_header(struct hbuf *a, uint16_t ch, uint64_t size)
{
	hb_put_u8(a, AMQP_FRAME_HEADER);
	hb_put_u16(a, ch);
	hb_put_u32(a, 14);
	hb_put_u16(a, 60);
	hb_put_u16(a, 0);
	hb_put_u64(a, size);
	hb_put_u16(a, 0);		/* no properties */
	hb_put_u8(a, AMQP_FRAME_END);
}

static void
put_body(struct hbuf *a, uint16_t ch, const char *s)
{
	hb_put_u8(a, AMQP_FRAME_BODY);
	hb_put_u16(a, ch);
	hb_put_u32(a, (uint32_t)strlen(s));
	hb_put_bytes(a, s, strlen(s));
	hb_put_u8(a, AMQP_FRAME_END);
}

static void
send_buf(int fd, struct hbuf *a)
{
	hb_raw_send(fd, a->data, a->len);
	a->len = 0;
}

/* A connection with channels 1 and 2 open. */
static int
two_channels(struct hbuf *a)
{
	int	fd;

	fd = hb_raw_handshake_channel(&b, FRAME_MAX, 1);
	a->len = 0;
	put_channel_open(a, 2);
	send_buf(fd, a);
	expect_method(fd, 2, 20, 11);
	return fd;
}

Test(channel_close, crossing_close_is_answered_then_close_ok_accepted)
{
	static struct hbuf	a;
	int			fd;

	/*
	 * The client closes channel 1 in the same write as a method that
	 * makes the server close it: the closes cross. compat: RabbitMQ
	 * answers the client's close with close-ok and still waits for the
	 * close-ok to its own; neither touches the connection.
	 */
	fd = two_channels(&a);
	put_bad_ack(&a, 1);
	put_channel_close(&a, 1);
	send_buf(fd, &a);
	expect_close(fd, false, 406, BAD_ACK_TEXT, 60, 80);
	expect_method(fd, 1, 20, 41);
	put_close_ok(&a, 1);
	send_buf(fd, &a);
	expect_quiet(fd);
	/* The other channel is undisturbed, the number is free again. */
	put_flow(&a, 2);
	send_buf(fd, &a);
	expect_method(fd, 2, 20, 21);
	put_channel_open(&a, 1);
	put_flow(&a, 1);
	send_buf(fd, &a);
	expect_method(fd, 1, 20, 11);
	expect_method(fd, 1, 20, 21);
	close(fd);
}

Test(channel_close, closing_channel_drops_methods_but_answers_close)
{
	static struct hbuf	a;
	struct hbuf		decl;
	int			fd;

	/* spec: after channel.close, all but close and close-ok is dropped. */
	fd = two_channels(&a);
	decl.len = 0;
	hb_put_u16(&decl, 0);
	hb_put_shortstr(&decl, "");
	hb_put_u8(&decl, 0);
	hb_put_u32(&decl, 0);
	put_bad_ack(&a, 1);
	put_method(&a, 1, 50, 10, decl.data, decl.len);
	put_flow(&a, 1);
	put_channel_close(&a, 1);
	put_flow(&a, 1);
	send_buf(fd, &a);
	expect_close(fd, false, 406, BAD_ACK_TEXT, 60, 80);
	expect_method(fd, 1, 20, 41);
	/* A second close is answered the same way. */
	put_channel_close(&a, 1);
	send_buf(fd, &a);
	expect_method(fd, 1, 20, 41);
	put_close_ok(&a, 1);
	put_flow(&a, 2);
	send_buf(fd, &a);
	expect_method(fd, 2, 20, 21);
	close(fd);
}

Test(channel_close, close_ok_then_open_in_one_write)
{
	static struct hbuf	a;
	int			fd;

	fd = hb_raw_handshake_channel(&b, FRAME_MAX, 1);
	a.len = 0;
	put_bad_ack(&a, 1);
	send_buf(fd, &a);
	expect_close(fd, false, 406, BAD_ACK_TEXT, 60, 80);
	put_close_ok(&a, 1);
	put_channel_open(&a, 1);
	put_flow(&a, 1);
	send_buf(fd, &a);
	expect_method(fd, 1, 20, 11);
	expect_method(fd, 1, 20, 21);
	close(fd);
}

Test(channel_close, channel_open_on_a_closing_channel_is_504)
{
	static struct hbuf	a;
	int			fd;

	/*
	 * compat: RabbitMQ keeps a channel whose close crossed the
	 * client's until the client's close-ok; a channel.open before it
	 * is a connection error.
	 */
	fd = two_channels(&a);
	put_bad_ack(&a, 1);
	put_channel_close(&a, 1);
	send_buf(fd, &a);
	expect_close(fd, false, 406, BAD_ACK_TEXT, 60, 80);
	expect_method(fd, 1, 20, 41);
	put_channel_open(&a, 1);
	send_buf(fd, &a);
	expect_close(fd, true, 504,
	    "CHANNEL_ERROR - second 'channel.open' seen", 20, 10);
	close(fd);
}

Test(channel_close, close_ok_for_a_closed_channel_is_504)
{
	static struct hbuf	a;
	int			fd;

	/* compat: RabbitMQ forgets a channel at close-ok; so must we. */
	fd = two_channels(&a);
	put_channel_close(&a, 1);
	send_buf(fd, &a);
	expect_method(fd, 1, 20, 41);
	put_close_ok(&a, 1);
	send_buf(fd, &a);
	expect_close(fd, true, 504, "CHANNEL_ERROR - expected 'channel.open'",
	    20, 41);
	close(fd);
}

Test(channel_close, second_close_ok_after_a_server_close_is_504)
{
	static struct hbuf	a;
	int			fd;

	fd = two_channels(&a);
	put_bad_ack(&a, 1);
	send_buf(fd, &a);
	expect_close(fd, false, 406, BAD_ACK_TEXT, 60, 80);
	put_close_ok(&a, 1);
	put_close_ok(&a, 1);
	send_buf(fd, &a);
	expect_close(fd, true, 504, "CHANNEL_ERROR - expected 'channel.open'",
	    20, 41);
	close(fd);
}

Test(channel_close, close_ok_on_an_open_channel_is_503)
{
	static struct hbuf	a;
	int			fd;

	fd = hb_raw_handshake_channel(&b, FRAME_MAX, 1);
	a.len = 0;
	put_close_ok(&a, 1);
	send_buf(fd, &a);
	expect_close(fd, true, 503, "COMMAND_INVALID - unimplemented method",
	    20, 41);
	close(fd);
}

Test(channel_close, content_on_an_unknown_channel_is_505)
{
	static struct hbuf	a;
	int			fd;

	fd = hb_raw_handshake_channel(&b, FRAME_MAX, 1);
	a.len = 0;
	put_header(&a, 7, 0);
	send_buf(fd, &a);
	expect_close(fd, true, 505, "UNEXPECTED_FRAME - expected method "
	    "frame, got non method frame instead", 0, 0);
	close(fd);
}

Test(channel_close, content_of_a_refused_publish_is_skipped)
{
	static struct hbuf	a;
	int			fd;

	/*
	 * compat: RabbitMQ assembles a publish's content before it looks
	 * at the exchange; the frames that follow a refused publish are
	 * its content, not errors.
	 */
	fd = hb_raw_handshake_channel(&b, FRAME_MAX, 1);
	a.len = 0;
	put_publish(&a, 1, "no-such-exchange");
	put_header(&a, 1, 6);
	put_body(&a, 1, "abc");
	put_body(&a, 1, "def");
	send_buf(fd, &a);
	expect_close(fd, false, 404, "NOT_FOUND - no exchange "
	    "'no-such-exchange' in vhost '/'", 60, 40);
	put_close_ok(&a, 1);
	put_channel_open(&a, 1);
	put_flow(&a, 1);
	send_buf(fd, &a);
	expect_method(fd, 1, 20, 11);
	expect_method(fd, 1, 20, 21);
	close(fd);
}

Test(channel_close, method_where_a_refused_publish_content_is_due_is_505)
{
	static struct hbuf	a;
	int			fd;

	/*
	 * compat: RabbitMQ raises no channel error before the content is
	 * in, warrend does; either way the close-ok where the header is
	 * due is a 505 that names basic.publish.
	 */
	fd = hb_raw_handshake_channel(&b, FRAME_MAX, 1);
	a.len = 0;
	put_publish(&a, 1, "no-such-exchange");
	put_close_ok(&a, 1);
	send_buf(fd, &a);
	expect_conn_close_after(fd, 505, "UNEXPECTED_FRAME - expected content "
	    "header for class 60, got non content header frame instead", 60,
	    40);
	close(fd);
}

Test(channel_close, content_without_publish_on_a_closing_channel_is_505)
{
	static struct hbuf	a;
	int			fd;

	fd = hb_raw_handshake_channel(&b, FRAME_MAX, 1);
	a.len = 0;
	put_bad_ack(&a, 1);
	put_header(&a, 1, 3);
	send_buf(fd, &a);
	expect_close(fd, false, 406, BAD_ACK_TEXT, 60, 80);
	expect_close(fd, true, 505, "UNEXPECTED_FRAME - expected method "
	    "frame, got non method frame instead", 0, 0);
	close(fd);
}
