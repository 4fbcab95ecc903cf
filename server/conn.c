#include "autoconf.h"

#include "server/conn.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "protocol/frame.h"
#include "protocol/table.h"
#include "protocol/wire.h"
#include "server/alarm.h"
#include "server/auth.h"
#include "server/broker.h"
#include "server/chan.h"
#include "server/queue.h"
#include "server/tls.h"
#include "server/vhost.h"

/* spec: 4.2.3 frames before tune-ok may not exceed the minimum frame size. */
#define PREAUTH_FRAME_MAX	PROTO_FRAME_MIN_SIZE
#define READ_CHUNK		65536	/* input room past a frame */
#define INPUT_BUDGET		4096	/* frames per connection per loop turn */
#define INPUT_CHECK		32	/* frames between time budget checks */
#define CLOSE_TIMEOUT		3.0	/* seconds to wait for close-ok */
#define METHOD_MAX		8192	/* largest method frame we send */

static void	on_io(struct io *, enum io_event, void *);
static void	on_timer(struct ev_loop *, ev_timer *, int);
static void	release(struct conn *c);
static void	process_input(struct conn *c);

static size_t
out_max(const struct broker *b)
{
	/* Deliveries pause at the high-water mark; one message may overshoot. */
	return (size_t)b->cfg.max_message_size + 4 * b->cfg.output_high_water +
	    (1u << 20);
}

static struct conn *
conn_create(struct broker *b, int fd, bool tls)
{
	size_t hwm = b->cfg.output_high_water;
	struct conn *c;

	c = xcalloc(1, sizeof(*c));
	c->b = b;
	c->id = ++b->next_conn_id;
	c->state = CONN_HEADER;
	c->frame_max = PREAUTH_FRAME_MAX;
	io_peer(fd, &c->peer, c->name, sizeof(c->name));
	io_local(fd, &c->local);
	{
		char host[INET6_ADDRSTRLEN + 1];
		size_t n = strlen(c->name);
		int port = io_addr(&c->local, host, sizeof(host));

		snprintf(c->name + n, sizeof(c->name) - n, " -> %s:%d", host,
		    port);
	}
	c->connected_at = (uint64_t)(ev_time() * 1000.0);
	io_init(&c->io, b->loop, fd, PREAUTH_FRAME_MAX + READ_CHUNK,
	    out_max(b), on_io, c);
	io_set_barrier(&c->io, &b->commit_gen);
	/*
	 * Deliveries pause at the high-water mark (chan_consumer_can_take)
	 * and resume below it; a client that does not read its output at
	 * all stops being read at four times the mark.
	 */
	io_set_watermarks(&c->io, hwm - 1, 4 * hwm);
	/*
	 * TLS: no AMQP bytes before the handshake is done; the handshake
	 * timer bounds it too.
	 */
	if (tls && io_start_tls(&c->io, b->tls) == -1) {
		c->io.fd = -1;		/* the listener closes it */
		io_free(&c->io);
		free(c);
		return NULL;
	}
	io_set_read(&c->io, true);
	/* spec: the handshake must finish within handshake_timeout. */
	ev_timer_init(&c->timer, on_timer, (ev_tstamp)b->cfg.handshake_timeout,
	    0.);
	c->timer.data = c;
	ev_timer_start(b->loop, &c->timer);
	c->next = b->conns;
	if (b->conns)
		b->conns->prev = c;
	b->conns = c;
	hmap_put(&b->conns_by_id, &c->id, sizeof(c->id), c);
	b->nconns++;
	log_info("conn %s: accepted", c->name);
	return c;
}

struct conn *
conn_new(struct broker *b, int fd)
{
	return conn_create(b, fd, false);
}

struct conn *
conn_new_tls(struct broker *b, int fd)
{
	if (b->tls == NULL)
		return NULL;
	return conn_create(b, fd, true);
}

void
conn_free(struct conn *c)
{
	release(c);
	io_free(&c->io);
	free(c->chans);
	free(c->client_props);
	rate_ring_free(&c->rates);
	free(c);
}

/* Stops watchers, unlinks, closes the socket; the struct is freed later. */
static void
bury(struct conn *c)
{
	struct broker *b = c->b;

	if (c->state == CONN_DEAD)
		return;
	/* Channels are released later, by the broker, off this call stack. */
	c->state = CONN_DEAD;
	stats_fold_conn(c);	/* its traffic stays in its vhost's */
	ev_timer_stop(b->loop, &c->timer);
	io_close(&c->io, true);		/* TLS: close_notify, best effort */
	if (c->prev)
		c->prev->next = c->next;
	else
		b->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	hmap_del(&b->conns_by_id, &c->id, sizeof(c->id));
	b->nconns--;
	if (c->dirty) {
		/* Its flush may wait for the next round, after conn_free. */
		for (size_t i = 0; i < b->dirty_conns.n; i++)
			if (b->dirty_conns.v[i] == c)
				b->dirty_conns.v[i] = NULL;
		c->dirty = false;
	}
	if (c->input_pending)
		for (size_t i = 0; i < b->pending_input.n; i++)
			if (b->pending_input.v[i] == c)
				b->pending_input.v[i] = NULL;
	if (c->flow_q != NULL) {
		for (size_t i = 0; i < b->flow_paused.n; i++)
			if (b->flow_paused.v[i] == c)
				b->flow_paused.v[i] = NULL;
		queue_unref(c->flow_q);
		c->flow_q = NULL;
	}
	if (c->opened) {
		b->churn.connection_closed++;
		b->nopen--;
		if (c->vh != NULL)
			c->vh->nconns--;
	}
	ptrvec_push(&b->dead_conns, c);
}

void
conn_abort(struct conn *c, const char *why)
{
	if (c->state == CONN_DEAD)
		return;
	log_info("conn %s: closed: %s", c->name, why);
	bury(c);
}

/* Frees channels (requeueing their deliveries) and exclusive queues. */
static void
release(struct conn *c)
{
	struct queue **owned = NULL;
	size_t n = 0, cap = 0;
	void *v;

	for (uint32_t i = 0; i < c->chans_cap; i++)
			if (c->chans[i] != NULL) {
				chan_free(c->chans[i]);
				c->chans[i] = NULL;
			}
	c->nchans = 0;
	if (c->vh == NULL)
		return;
	/* compat: exclusive queues go with their connection. */
	for (size_t i = 0; hmap_next(&c->vh->queues, &i, &v);) {
		struct queue *q = v;

		if (q->owner != c)
			continue;
		xvec_grow(&owned, &cap, n + 1, sizeof(*owned), 8);
		owned[n++] = q;
	}
	for (size_t i = 0; i < n; i++)
		vhost_delete_queue(c->vh, owned[i]);
	free(owned);
}

void
conn_close_forced(struct conn *c, const char *reason)
{
	if (c->state >= CONN_TUNE_OK && c->state < CONN_CLOSING)
		conn_fail(c, PROTO_CONNECTION_FORCED, 0, "%s", reason);
}

struct conn *
conn_by_id(struct broker *b, uint64_t id)
{
	return hmap_get(&b->conns_by_id, &id, sizeof(id));
}

bool
conn_listed(const struct conn *c)
{
	return c->opened && c->state != CONN_DEAD;
}

void
conn_close_user(struct broker *b, const char *user)
{
	char why[300];

	/* compat: RabbitMQ's words when a user is deleted. */
	snprintf(why, sizeof(why), "user '%s' is deleted", user);
	for (struct conn *c = b->conns; c != NULL; c = c->next)
		if (strcmp(c->user, user) == 0)
			conn_close_forced(c, why);
}

void
conn_vhost_gone(struct conn *c)
{
	if (c->vh == NULL)
		return;
	/*
	 * compat: RabbitMQ's words when a vhost is deleted under clients
	 * (RabbitMQ says "is down" instead when its vhost process happens to
	 * stop first).
	 */
	if (c->state != CONN_DEAD)
		conn_fail(c, PROTO_CONNECTION_FORCED, 0, "vhost '%s' is deleted",
		    c->vh->name);
	stats_fold_conn(c);
	/* Now, not at the next flush: the vhost is freed after this. */
	c->release_pending = false;
	release(c);
	if (c->opened && c->state != CONN_DEAD)
		c->vh->nconns--;
	c->vh = NULL;
}

/* Appends raw bytes to the output and schedules a flush. */
static bool
out_append(struct conn *c, const void *p, size_t len)
{
	if (!io_write(&c->io, p, len)) {
		conn_abort(c, "output buffer full");
		return false;
	}
	broker_wake_conn(c->b, c);
	return true;
}

/* Writes one method frame at w's end; false if it cannot be encoded. */
static bool
write_method(struct conn *c, struct proto_writer *w, uint16_t channel,
    const struct proto_method *m)
{
	size_t at = w->len;

	proto_frame_begin(w, PROTO_FRAME_METHOD, channel, 0);
	if (!proto_method_encode(m, w)) {
		log_warnx("conn %s: cannot encode method %08x", c->name, m->id);
		return false;
	}
	proto_patch_u32(w, at + 3, (uint32_t)(w->len - at -
	    PROTO_FRAME_HDR_LEN));
	proto_frame_end(w);
	return true;
}

bool
conn_send_method(struct conn *c, uint16_t channel, const struct proto_method *m)
{
	struct proto_writer w;
	uint8_t *p;

	if (c->state == CONN_DEAD)
		return false;
	if ((p = io_reserve(&c->io, METHOD_MAX)) == NULL) {
		conn_abort(c, "output buffer full");
		return false;
	}
	w = proto_writer(p, METHOD_MAX);
	if (!write_method(c, &w, channel, m) || w.overflow)
		return false;
	io_commit(&c->io, w.len);
	broker_wake_conn(c->b, c);
	return true;
}

bool
conn_send_content(struct conn *c, uint16_t channel,
    const struct proto_method *m, const uint8_t *props, size_t props_len,
    const uint8_t *body, uint64_t body_len)
{
	size_t chunk = c->frame_max - PROTO_FRAME_OVERHEAD;
	size_t nframes = body_len ? (size_t)((body_len + chunk - 1) / chunk) : 0;
	size_t need = METHOD_MAX + 2 * PROTO_FRAME_OVERHEAD + 12 + props_len +
	    nframes * PROTO_FRAME_OVERHEAD + (size_t)body_len;
	struct proto_writer w;
	uint8_t *p;
	size_t at;

	if (c->state == CONN_DEAD)
		return false;
	if ((p = io_reserve(&c->io, need)) == NULL) {
		conn_abort(c, "output buffer full");
		return false;
	}
	w = proto_writer(p, need);
	if (!write_method(c, &w, channel, m))
		return false;
	at = w.len;
	proto_frame_begin(&w, PROTO_FRAME_HEADER, channel, 0);
	proto_content_header_begin(&w, PROTO_CLASS_BASIC, body_len);
	proto_write_bytes(&w, props, props_len);
	proto_patch_u32(&w, at + 3, (uint32_t)(w.len - at - PROTO_FRAME_HDR_LEN));
	proto_frame_end(&w);
	for (uint64_t off = 0; off < body_len; off += chunk) {
		size_t n = body_len - off < chunk ? (size_t)(body_len - off) : chunk;

		proto_frame_begin(&w, PROTO_FRAME_BODY, channel, (uint32_t)n);
		proto_write_bytes(&w, body + off, n);
		proto_frame_end(&w);
	}
	if (w.overflow)
		return false;
	io_commit(&c->io, w.len);
	broker_wake_conn(c->b, c);
	return true;
}

static void
wake_consumers(struct conn *c)
{
	for (uint32_t i = 0; i < c->chans_cap; i++) {
		struct chan *ch = c->chans[i];

		if (ch == NULL)
			continue;
		for (struct consumer *cs = ch->consumer_list; cs; cs = cs->cnext)
			queue_wake(cs->q);
	}
}

static void
set_reading(struct conn *c, bool on)
{
	if (c->state != CONN_DEAD)
		io_set_read(&c->io, on);
}

/*
 * Whether nothing but the fairness budget holds the socket unread; io
 * holds it off itself while the output backlog is above its hiwat.
 */
static bool
may_read(const struct conn *c)
{
	return !c->blocked && c->flow_q == NULL && !c->content_wait &&
	    !c->get_wait;
}

void
conn_flow_pause(struct conn *c, struct queue *q)
{
	/*
	 * A connection that also consumes is never paused: its own acks
	 * would go unread and the queue could never drain.
	 */
	if (c->flow_q != NULL || c->nconsumers > 0)
		return;
	ptrvec_push(&c->b->flow_paused, c);
	queue_ref(q);
	c->flow_q = q;
	set_reading(c, false);
}

void
conn_flow_check(struct conn *c)
{
	struct queue *q = c->flow_q;

	if (q != NULL && (q->deleted || queue_ready(q) <= QUEUE_FLOW_LOW ||
	    !queue_consumers_active(q))) {
		c->flow_q = NULL;
		queue_unref(q);
		conn_resume_reading(c);
	}
}

void
conn_continue_input(struct conn *c)
{
	if (c->state == CONN_DEAD || !c->input_pending)
		return;
	c->input_pending = false;
	if (!may_read(c))
		return;	/* conn_flush, the alarm or the queue resume it */
	set_reading(c, true);
	process_input(c);
}

void
conn_pause_reading(struct conn *c)
{
	set_reading(c, false);
}

void
conn_resume_reading(struct conn *c)
{
	/* Output backlog may still hold reading off; conn_flush decides. */
	if (c->state == CONN_DEAD)
		return;
	broker_wake_conn(c->b, c);
	if (may_read(c) && !io_reading(&c->io)) {
		set_reading(c, true);
		process_input(c);
	}
}

void
conn_content_begin(struct conn *c, uint64_t len)
{
	c->content_in_flight += len;
}

void
conn_content_end(struct conn *c, uint64_t len)
{
	c->content_in_flight -= len < c->content_in_flight ?
	    len : c->content_in_flight;
	if (c->content_wait && c->state != CONN_DEAD) {
		c->content_wait = false;
		/* Off this call stack: it may be inside this conn's input. */
		broker_wake_conn(c->b, c);
	}
}

/*
 * Whether the frame f may be taken now; if not, the connection stops
 * being read with f left in its buffer. Publishes already under way on
 * other channels are the memory no alarm sees coming: the alarm is
 * sampled once a second while a client can send a gigabyte in that time,
 * and a started message is assembled whatever the alarm says. So a
 * content header is taken only while the bodies under way, its own
 * included, fit content-in-flight-max (or when nothing else is under way,
 * so that any message up to max-message-size goes), and no content frame
 * at all is taken from a connection while an alarm is on.
 * compat: RabbitMQ 3.10 takes content under way whatever the alarm (it
 * blocks a connection at its next basic.publish) and has no such cap; it
 * sends no error for either here, and neither does warren: the client
 * just waits, as a blocked client does. A client that interleaves the
 * frames of several publishes (the spec lets it; RabbitMQ's clients send
 * each message's frames together) and starts more than the cap at once
 * waits for good: the bodies that would end the wait are behind the
 * header that waits.
 */
static bool
content_may_go(struct conn *c, const struct proto_frame *f)
{
	struct proto_reader r = proto_reader(f->payload, f->size);
	uint32_t class_weight;
	uint64_t size;

	if (c->state != CONN_RUNNING || (f->type != PROTO_FRAME_HEADER &&
	    f->type != PROTO_FRAME_BODY))
		return true;
	if (alarm_active(c->b)) {
		alarm_block(c);
		set_reading(c, false);
		return false;
	}
	/* The declared body size follows class-id and weight. */
	if (f->type != PROTO_FRAME_HEADER || c->content_in_flight == 0 ||
	    !proto_read_u32(&r, &class_weight) || !proto_read_u64(&r, &size))
		return true;	/* a bad header is the content layer's error */
	if (size <= c->b->cfg.content_in_flight_max &&
	    c->content_in_flight <= c->b->cfg.content_in_flight_max - size)
		return true;
	c->content_wait = true;
	set_reading(c, false);
	return false;
}

/*
 * basic.get answers with a whole message whatever the output backlog: a
 * client that pipelines gets (with nack requeue, one message can answer
 * them all) and reads nothing would pin a message per get. So a get
 * waits, unread, while the output is above the high-water mark, as
 * deliveries to consumers do (chan_consumer_can_take). compat: RabbitMQ
 * 3.10 answers gets whatever its writer holds.
 */
static bool
get_may_go(struct conn *c, const struct proto_frame *f)
{
	struct proto_reader r = proto_reader(f->payload, f->size);
	uint32_t id;

	if (c->state != CONN_RUNNING || f->type != PROTO_FRAME_METHOD ||
	    !proto_read_u32(&r, &id))
		return true;
	if (id != PROTO_BASIC_GET ||
	    io_queued(&c->io) < c->b->cfg.output_high_water)
		return true;
	c->get_wait = true;
	set_reading(c, false);
	return false;
}

/*
 * After output was written: closes a connection that waited for it, and
 * wakes consumers held by the high-water mark once below it. Returns
 * false when c died.
 */
static bool
output_written(struct conn *c, bool was_throttled)
{
	if (io_queued(&c->io) == 0 && c->close_after_flush) {
		conn_abort(c, c->close_reason);
		return false;
	}
	c->throttled = io_queued(&c->io) >= c->b->cfg.output_high_water;
	if (was_throttled && !c->throttled)
		wake_consumers(c);
	if (c->get_wait && !c->throttled) {
		c->get_wait = false;
		broker_wake_conn(c->b, c);	/* its flush reads on */
	}
	return true;
}

void
conn_flush(struct conn *c)
{
	/*
	 * Dispatch also stops at the mark before any flush has set throttled
	 * (chan_consumer_can_take): either way consumers need a wake-up.
	 */
	bool was_throttled = c->throttled ||
	    io_queued(&c->io) >= c->b->cfg.output_high_water;
	int rc;

	if (c->state == CONN_DEAD || io_handshaking(&c->io))
		return;
	if (c->release_pending) {
		c->release_pending = false;
		release(c);
	}
	/* The prepare step has committed: everything queued may go. */
	if ((rc = io_flush(&c->io)) == -1) {
		conn_abort(c, io_error(&c->io));
		return;
	}
	if (!output_written(c, was_throttled))
		return;
	/*
	 * A reader held back only by the fairness budget, or by the backlog
	 * that just fell, goes on with the frames it already has.
	 */
	if (rc == 1 || (!io_reading(&c->io) && may_read(c) &&
	    !c->close_after_flush)) {
		set_reading(c, true);
		process_input(c);
	}
}

/* The socket's events (server/io.h). */
static void
on_io(struct io *io, enum io_event ev, void *arg)
{
	struct conn *c = arg;
	char desc[128], dn[512];

	switch (ev) {
	case IO_TLSREADY:
		if (tls_peer_subject(io->ssl, NULL, 0, dn, sizeof(dn)) == -1)
			snprintf(dn, sizeof(dn), "none");
		log_info("conn %s: tls %s, peer %s", c->name,
		    tls_describe(io->ssl, desc, sizeof(desc)), dn);
		return;
	case IO_DATAIN:
		process_input(c);
		return;
	case IO_LOWAT:
		(void)output_written(c, c->throttled || io->flushed_from >=
		    c->b->cfg.output_high_water);
		return;
	case IO_DISCONNECTED:
		conn_abort(c, c->state == CONN_CLOSING ? "closed" :
		    "client closed the socket");
		return;
	case IO_ERROR:
		conn_abort(c, io_error(io));
		return;
	}
}

/* Sends connection.close and waits for close-ok; everything is released. */
static void
vfail(struct conn *c, uint16_t code, uint32_t method_id, const char *fmt,
    va_list ap)
{
	struct proto_method m = { .id = PROTO_CONNECTION_CLOSE };
	char text[256];
	int n;

	if (c->state == CONN_DEAD || c->state == CONN_CLOSING)
		return;
	/*
	 * compat: before tune-ok RabbitMQ answers errors by closing the
	 * socket, except a refused login for clients that asked for a 403.
	 */
	if (c->state < CONN_OPEN && code != PROTO_ACCESS_REFUSED) {
		conn_abort(c, "handshake error");
		return;
	}
	n = snprintf(text, sizeof(text), "%s - ", proto_reply_name(code) ?
	    proto_reply_name(code) : "ERROR");
	if (n > 0 && (size_t)n < sizeof(text))
		vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
	log_info("conn %s: connection error: %u %s", c->name, code, text);
	c->release_pending = true;
	m.u.connection_close.reply_code = code;
	m.u.connection_close.reply_text = proto_str_c(text);
	m.u.connection_close.class_id = (uint16_t)(method_id >> 16);
	m.u.connection_close.method_id = (uint16_t)method_id;
	if (c->state == CONN_HEADER) {
		conn_abort(c, text);
		return;
	}
	conn_send_method(c, 0, &m);
	c->state = CONN_CLOSING;
	ev_timer_stop(c->b->loop, &c->timer);
	ev_timer_set(&c->timer, CLOSE_TIMEOUT, 0.);
	ev_timer_start(c->b->loop, &c->timer);
}

void
conn_fail(struct conn *c, uint16_t code, uint32_t method_id, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(c, code, method_id, fmt, ap);
	va_end(ap);
}

static void
close_after_flush(struct conn *c, const char *why)
{
	c->close_after_flush = true;
	snprintf(c->close_reason, sizeof(c->close_reason), "%s", why);
	set_reading(c, false);
	broker_wake_conn(c->b, c);
}

static void
send_start(struct conn *c)
{
	struct proto_method m = { .id = PROTO_CONNECTION_START };
	uint8_t props[1024];
	struct proto_writer w = proto_writer(props, sizeof(props));
	size_t t, caps;

	/* Only the capabilities warren implements; clients branch on them. */
	t = proto_table_begin(&w);
	proto_table_key(&w, "capabilities");
	proto_write_u8(&w, PROTO_FIELD_TABLE);
	caps = proto_table_begin(&w);
	proto_table_put_bool(&w, "publisher_confirms", true);
	proto_table_put_bool(&w, "exchange_exchange_bindings", true);
	proto_table_put_bool(&w, "basic.nack", true);
	proto_table_put_bool(&w, "consumer_cancel_notify", true);
	proto_table_put_bool(&w, "authentication_failure_close", true);
	proto_table_put_bool(&w, "per_consumer_qos", true);
	proto_table_put_bool(&w, "connection.blocked", true);
	proto_table_end(&w, caps);
	proto_table_put_longstr(&w, "product", "warren");
	proto_table_put_longstr(&w, "version", PACKAGE_VERSION);
	proto_table_put_longstr(&w, "platform", "C11/libev");
	proto_table_put_longstr(&w, "copyright", "the warren authors");
	proto_table_put_longstr(&w, "information",
	    "AMQP 0-9-1 broker; see https://github.com/warren");
	/* compat: RabbitMQ announces its cluster name here. */
	proto_table_put_longstr(&w, "cluster_name", c->b->cluster_name);
	proto_table_end(&w, t);
	m.u.connection_start.version_major = 0;
	m.u.connection_start.version_minor = 9;
	m.u.connection_start.server_properties =
	    (struct proto_table){ props + 4, w.len - 4 };
	/* EXTERNAL only where a verified client certificate names a user. */
	m.u.connection_start.mechanisms = proto_str_c(
	    tls_peer_subject(c->io.ssl, NULL, 0, NULL, 0) == 0 ?
	    "EXTERNAL PLAIN AMQPLAIN" : "PLAIN AMQPLAIN");
	m.u.connection_start.locales = proto_str_c("en_US");
	conn_send_method(c, 0, &m);
	c->state = CONN_START_OK;
}

static void
read_capabilities(struct conn *c, struct proto_table props)
{
	struct proto_field f, v;

	if (!proto_table_validate(props) ||
	    !proto_table_get(props, "capabilities", &f) ||
	    f.kind != PROTO_FIELD_TABLE)
		return;
	if (proto_table_get(f.v.table, "consumer_cancel_notify", &v) &&
	    v.kind == PROTO_FIELD_BOOL)
		c->cap_cancel_notify = v.v.b;
	if (proto_table_get(f.v.table, "authentication_failure_close", &v) &&
	    v.kind == PROTO_FIELD_BOOL)
		c->cap_auth_failure_close = v.v.b;
	if (proto_table_get(f.v.table, "connection.blocked", &v) &&
	    v.kind == PROTO_FIELD_BOOL)
		c->cap_blocked = v.v.b;
}

/*
 * SASL EXTERNAL: the user is named by the verified client certificate,
 * its subject's CN or, with tls-cert-login-from distinguished_name, the
 * whole subject (RabbitMQ's ssl_cert_login_from). It must exist.
 */
static enum auth_result
external_login(struct conn *c, struct user **user)
{
	char cn[256], dn[1024];
	const char *name;

	if (tls_peer_subject(c->io.ssl, cn, sizeof(cn), dn, sizeof(dn)) ==
	    -1)
		return AUTH_REFUSED;
	name = strcmp(c->b->cfg.tls_cert_login_from, "distinguished_name") ==
	    0 ? dn : cn;
	return auth_login_external(c->b, name,
	    (const struct sockaddr *)&c->peer, user);
}

/* Keeps the client's properties for the admin API (a validated table). */
static void
keep_client_props(struct conn *c, struct proto_table props)
{
	free(c->client_props);
	c->client_props = NULL;
	c->client_props_len = 0;
	if (props.len == 0 || !proto_table_validate(props))
		return;
	c->client_props = xmalloc(props.len);
	memcpy(c->client_props, props.p, props.len);
	c->client_props_len = (uint32_t)props.len;
}

static void
on_start_ok(struct conn *c, const struct proto_connection_start_ok *m)
{
	struct proto_method t = { .id = PROTO_CONNECTION_TUNE };
	struct user *user = NULL;
	char mech[32];

	read_capabilities(c, m->client_properties);
	snprintf(mech, sizeof(mech), "%.*s", PSTR(m->mechanism));
	switch (proto_str_eqc(m->mechanism, "EXTERNAL") ? external_login(c,
	    &user) : auth_login(c->b, m->mechanism, m->response,
	    (const struct sockaddr *)&c->peer, &user)) {
	case AUTH_OK:
		c->b->stats.auth_ok[STATS_AUTH_AMQP]++;
		break;
	case AUTH_BAD_MECHANISM:
	case AUTH_MALFORMED:
		c->b->stats.auth_failed[STATS_AUTH_AMQP]++;
		/* compat: RabbitMQ hangs up on these without a close. */
		conn_abort(c, "bad authentication response");
		return;
	case AUTH_REFUSED:
		c->b->stats.auth_failed[STATS_AUTH_AMQP]++;
		log_info("conn %s: login refused using mechanism %s", c->name,
		    mech);
		/*
		 * compat: RabbitMQ answers 403 only to clients advertising
		 * authentication_failure_close; others see the socket close.
		 */
		if (!c->cap_auth_failure_close) {
			conn_abort(c, "login refused");
			return;
		}
		conn_fail(c, PROTO_ACCESS_REFUSED, PROTO_CONNECTION_START_OK,
		    "Login was refused using authentication mechanism %s. "
		    "For details see the broker logfile.", mech);
		return;
	}
	snprintf(c->user, sizeof(c->user), "%s", user->name);
	snprintf(c->mechanism, sizeof(c->mechanism), "%.*s",
	    (int)sizeof(c->mechanism) - 1, mech);
	keep_client_props(c, m->client_properties);
	t.u.connection_tune.channel_max = (uint16_t)c->b->cfg.channel_max;
	t.u.connection_tune.frame_max = (uint32_t)c->b->cfg.frame_max;
	t.u.connection_tune.heartbeat = (uint16_t)c->b->cfg.heartbeat;
	conn_send_method(c, 0, &t);
	c->state = CONN_TUNE_OK;
}

static void
on_tune_ok(struct conn *c, const struct proto_connection_tune_ok *m)
{
	uint32_t server_frame_max = (uint32_t)c->b->cfg.frame_max;
	uint16_t server_channel_max = (uint16_t)c->b->cfg.channel_max;

	/* compat: RabbitMQ's limits and wording for tune-ok values. */
	if (m->frame_max != 0 && m->frame_max < PROTO_FRAME_MIN_SIZE) {
		conn_fail(c, PROTO_NOT_ALLOWED, PROTO_CONNECTION_TUNE_OK,
		    "negotiated frame_max = %u is lower than the minimum "
		    "allowed value (%u)", m->frame_max, PROTO_FRAME_MIN_SIZE);
		return;
	}
	if (m->frame_max == 0 || m->frame_max > server_frame_max) {
		conn_fail(c, PROTO_NOT_ALLOWED, PROTO_CONNECTION_TUNE_OK,
		    "negotiated frame_max = %u is higher than the maximum "
		    "allowed value (%u)", m->frame_max, server_frame_max);
		return;
	}
	if (m->channel_max == 0 || m->channel_max > server_channel_max) {
		conn_fail(c, PROTO_NOT_ALLOWED, PROTO_CONNECTION_TUNE_OK,
		    "negotiated channel_max = %u is higher than the maximum "
		    "allowed value (%u)", m->channel_max, server_channel_max);
		return;
	}
	c->frame_max = m->frame_max;
	c->channel_max = m->channel_max;
	c->heartbeat = m->heartbeat;
	c->io.in.max = (size_t)c->frame_max + READ_CHUNK;
	c->state = CONN_OPEN;
}

/*
 * The open connections of a user, or (channels) their open channels.
 * Counted only for a user with a limit, so no one else pays for it.
 */
static uint64_t
user_count(const struct broker *b, const char *user, bool channels)
{
	uint64_t n = 0;

	for (const struct conn *o = b->conns; o != NULL; o = o->next)
		if (o->opened && strcmp(o->user, user) == 0)
			n += channels ? o->nchans : 1;
	return n;
}

static void
on_open(struct conn *c, const struct proto_connection_open *m)
{
	struct proto_method ok = { .id = PROTO_CONNECTION_OPEN_OK };
	const struct user *u;
	char vhost[256];

	/*
	 * compat: the vhost access check comes first, so a logged-in user
	 * learns nothing about vhosts it may not open: a missing one gets
	 * the same 530 as one without permissions. RabbitMQ 3.10 checks the
	 * connection limits first and says "vhost X not found" to anyone.
	 */
	snprintf(vhost, sizeof(vhost), "%.*s", PSTR(m->virtual_host));
	if ((m->virtual_host.len > 0 && memchr(m->virtual_host.p, 0,
	    m->virtual_host.len) != NULL) ||
	    !auth_vhost_allowed(auth_user(c->b, c->user, strlen(c->user)),
	    vhost)) {
		conn_fail(c, PROTO_NOT_ALLOWED, PROTO_CONNECTION_OPEN,
		    "access to vhost '%.*s' refused for user '%s'",
		    PSTR(m->virtual_host), c->user);
		return;
	}
	c->vh = broker_vhost(c->b, (const char *)m->virtual_host.p,
	    m->virtual_host.len);
	if (c->vh == NULL) {
		conn_fail(c, PROTO_NOT_ALLOWED, PROTO_CONNECTION_OPEN,
		    "vhost %.*s not found", PSTR(m->virtual_host));
		return;
	}
	if (c->b->cfg.connection_max != 0 &&
	    c->b->nopen >= c->b->cfg.connection_max) {
		conn_fail(c, PROTO_NOT_ALLOWED, PROTO_CONNECTION_OPEN,
		    "connection refused: node connection limit (%llu) is "
		    "reached", (unsigned long long)c->b->cfg.connection_max);
		c->vh = NULL;
		return;
	}
	if (c->vh->max_connections >= 0 &&
	    c->vh->nconns >= (uint64_t)c->vh->max_connections) {
		conn_fail(c, PROTO_NOT_ALLOWED, PROTO_CONNECTION_OPEN,
		    "access to vhost '%s' refused for user '%s': connection "
		    "limit (%lld) is reached", c->vh->name, c->user,
		    (long long)c->vh->max_connections);
		c->vh = NULL;
		return;
	}
	/* compat: then the user's limit, in RabbitMQ's words. */
	if ((u = auth_user(c->b, c->user, strlen(c->user))) != NULL &&
	    u->max_connections >= 0 && user_count(c->b, c->user, false) >=
	    (uint64_t)u->max_connections) {
		conn_fail(c, PROTO_NOT_ALLOWED, PROTO_CONNECTION_OPEN,
		    "connection refused for user '%s': user connection limit "
		    "(%lld) is reached", c->user,
		    (long long)u->max_connections);
		c->vh = NULL;
		return;
	}
	conn_send_method(c, 0, &ok);
	c->state = CONN_RUNNING;
	c->opened = true;
	c->b->nopen++;
	c->b->churn.connection_created++;
	c->vh->nconns++;
	/*
	 * Handshake done: the timer now drives heartbeats, and watches the
	 * output (output_stalled), without heartbeats too.
	 */
	ev_timer_stop(c->b->loop, &c->timer);
	c->out_since = ev_now(c->b->loop);
	if (c->heartbeat > 0 || c->b->cfg.send_timeout > 0) {
		double every = c->heartbeat > 0 ? c->heartbeat / 2.0 :
		    c->b->cfg.send_timeout / 2.0;

		ev_timer_set(&c->timer, every, every);
		ev_timer_start(c->b->loop, &c->timer);
	}
	log_info("conn %s: user '%s' opened vhost '%s'", c->name, c->user,
	    c->vh->name);
}

/*
 * Whether the client has left its output unread too long: twice the
 * heartbeat, or send-timeout without heartbeats. A client that reads
 * nothing is not read either (io's back-pressure), so its heartbeat
 * clock is paused; this is what ends it, and what it pins.
 * compat: RabbitMQ 3.10 sets no TCP send timeout by default (its
 * tcp_listen_options have none, checked), so without heartbeats its
 * writer waits for such a client forever; with them its monitor closes
 * a client that sends nothing after two intervals, as warren does here.
 */
static bool
output_stalled(struct conn *c, ev_tstamp now)
{
	double limit = c->heartbeat > 0 ? 2.0 * c->heartbeat :
	    (double)c->b->cfg.send_timeout;

	if (io_queued(&c->io) == 0 || c->io.last_send > c->out_since) {
		c->out_since = now;
		return false;
	}
	return limit > 0 && now - c->out_since > limit;
}

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	static const uint8_t heartbeat[] = { PROTO_FRAME_HEARTBEAT, 0, 0, 0, 0,
	    0, 0, PROTO_FRAME_END };
	struct conn *c = w->data;
	ev_tstamp now = ev_now(loop);

	switch (c->state) {
	case CONN_RUNNING:
		if (output_stalled(c, now)) {
			conn_abort(c, "client stopped reading its output");
			return;
		}
		if (c->heartbeat == 0)
			return;
		/*
		 * spec: 4.2.7 a peer silent for two intervals is dead. compat:
		 * not while we are not reading it (blocked by an alarm, or its
		 * output backed up, which output_stalled bounds): RabbitMQ
		 * pauses the monitor for blocked connections too.
		 */
		if (!io_reading(&c->io))
			c->io.last_recv = now;
		else if (now - c->io.last_recv > 2.0 * c->heartbeat) {
			conn_abort(c, "missed heartbeats from client");
			return;
		}
		if (now - c->io.last_send >= c->heartbeat / 2.0 &&
		    io_queued(&c->io) == 0)
			out_append(c, heartbeat, sizeof(heartbeat));
		return;
	case CONN_CLOSING:
		conn_abort(c, "no connection.close-ok from client");
		return;
	default:
		conn_abort(c, "handshake timeout");
		return;
	}
}

/*
 * connection.update-secret: a client refreshing an expiring credential
 * (an OAuth token) on a running connection. compat: RabbitMQ 3.10 asks
 * each auth backend to take the new secret; its internal backend, the
 * only one warren has, keeps the user as logged in and checks nothing, so
 * any secret gets update-secret-ok, and RabbitMQ logs the reason. (A
 * backend refusing it would close the connection with 530 NOT_ALLOWED
 * "New secret was refused by one of the backends".)
 */
static void
on_update_secret(struct conn *c,
    const struct proto_connection_update_secret *m)
{
	struct proto_method ok = { .id = PROTO_CONNECTION_UPDATE_SECRET_OK };

	conn_send_method(c, 0, &ok);
	log_info("conn %s: user '%s' updated secret, reason: %.*s", c->name,
	    c->user, PSTR(m->reason));
}

/* A method on channel 0, whatever the state. */
static void
on_connection_method(struct conn *c, const struct proto_method *m)
{
	struct proto_method ok = { .id = PROTO_CONNECTION_CLOSE_OK };

	switch (m->id) {
	case PROTO_CONNECTION_CLOSE:
		/* spec: answer close-ok, then close the socket. */
		conn_send_method(c, 0, &ok);
		c->release_pending = true;
		close_after_flush(c, "closed by client");
		c->state = CONN_CLOSING;
		return;
	case PROTO_CONNECTION_CLOSE_OK:
		if (c->state == CONN_CLOSING) {
			conn_abort(c, "closed after connection error");
			return;
		}
		break;	/* out of turn: as any unexpected method */
	}
	switch (c->state) {
	case CONN_START_OK:
		if (m->id == PROTO_CONNECTION_START_OK) {
			on_start_ok(c, &m->u.connection_start_ok);
			return;
		}
		break;
	case CONN_TUNE_OK:
		if (m->id == PROTO_CONNECTION_TUNE_OK) {
			on_tune_ok(c, &m->u.connection_tune_ok);
			return;
		}
		break;
	case CONN_OPEN:
		if (m->id == PROTO_CONNECTION_OPEN) {
			on_open(c, &m->u.connection_open);
			return;
		}
		break;
	case CONN_RUNNING:
		if (m->id == PROTO_CONNECTION_UPDATE_SECRET) {
			on_update_secret(c, &m->u.connection_update_secret);
			return;
		}
		break;
	default:
		break;
	}
	/*
	 * compat: RabbitMQ 3.10's 504 for any connection method out of turn,
	 * naming its state (seen only from "opening" on: before tune-ok
	 * errors close the socket without a word).
	 */
	conn_fail(c, PROTO_CHANNEL_ERROR, m->id,
	    "unexpected method in connection state %s",
	    c->state == CONN_RUNNING ? "running" :
	    c->state == CONN_OPEN ? "opening" :
	    c->state == CONN_TUNE_OK ? "tuning" : "securing");
}

static void
on_channel_open(struct conn *c, uint16_t id)
{
	struct proto_method ok = { .id = PROTO_CHANNEL_OPEN_OK };
	const struct user *u;
	struct chan *ch;

	/* compat: channel_max limits how many are open, not their ids. */
	if (c->nchans >= c->channel_max) {
		conn_fail(c, PROTO_NOT_ALLOWED, PROTO_CHANNEL_OPEN,
		    "number of channels opened (%u) has reached the negotiated "
		    "channel_max (%u)", c->nchans, c->channel_max);
		return;
	}
	if ((u = auth_user(c->b, c->user, strlen(c->user))) != NULL &&
	    u->max_channels >= 0 && user_count(c->b, c->user, true) >=
	    (uint64_t)u->max_channels) {
		conn_fail(c, PROTO_NOT_ALLOWED, PROTO_CHANNEL_OPEN,
		    "number of channels opened for user '%s' has reached the "
		    "maximum allowed user limit of (%lld)", c->user,
		    (long long)u->max_channels);
		return;
	}
	if (id >= c->chans_cap) {
		uint32_t ncap = c->chans_cap ? c->chans_cap : 8;
		struct chan **n;

		while (ncap <= id)
			ncap *= 2;
		/* Bookkeeping: channel-max caps id (lib/xmalloc.h). */
		n = xreallocarray(c->chans, ncap, sizeof(*n));
		memset(n + c->chans_cap, 0, (ncap - c->chans_cap) * sizeof(*n));
		c->chans = n;
		c->chans_cap = ncap;
	}
	ch = chan_new(c, id);
	c->chans[id] = ch;
	c->nchans++;
	conn_send_method(c, id, &ok);
}

static void
on_frame(struct conn *c, const struct proto_frame *f)
{
	struct proto_method m;
	struct chan *ch;
	int rc;

	if (f->type == PROTO_FRAME_HEARTBEAT) {
		if (f->size != 0)
			conn_fail(c, PROTO_FRAME_ERROR, 0,
			    "heartbeat frame with a payload");
		else if (f->channel != 0)
			conn_fail(c, PROTO_UNEXPECTED_FRAME, 0,
			    "heartbeat frame on channel %u", f->channel);
		return;
	}
	if (c->state == CONN_CLOSING) {
		/* spec: after close, discard all but close and close-ok. */
		if (f->type == PROTO_FRAME_METHOD && f->channel == 0 &&
		    proto_method_decode(f->payload, f->size, &m) == 0 &&
		    (m.id == PROTO_CONNECTION_CLOSE_OK ||
		    m.id == PROTO_CONNECTION_CLOSE))
			on_connection_method(c, &m);
		return;
	}
	if (f->type == PROTO_FRAME_METHOD &&
	    (rc = proto_method_decode(f->payload, f->size, &m)) != 0) {
		/* compat: RabbitMQ reports undecodable arguments as 501. */
		if (rc == PROTO_NOT_IMPLEMENTED)
			conn_fail(c, PROTO_NOT_IMPLEMENTED, m.id,
			    "unknown method class %u method %u", m.id >> 16,
			    m.id & 0xffff);
		else if (rc == PROTO_DECODE_BAD_UTF8)
			conn_fail(c, PROTO_FRAME_ERROR, m.id,
			    "Malformed UTF-8 in shortstr");
		else
			conn_fail(c, PROTO_FRAME_ERROR, 0,
			    "cannot decode method frame");
		return;
	}
	if (f->channel == 0) {
		if (f->type != PROTO_FRAME_METHOD)
			conn_fail(c, PROTO_UNEXPECTED_FRAME, 0,
			    "expected method frame, got non method frame "
			    "instead");
		else if ((m.id >> 16) != PROTO_CLASS_CONNECTION)
			conn_fail(c, PROTO_CHANNEL_ERROR, m.id,
			    "unexpected method in connection state running");
		else
			on_connection_method(c, &m);
		return;
	}
	if (c->state != CONN_RUNNING) {
		conn_fail(c, PROTO_UNEXPECTED_FRAME, 0,
		    "frame on channel %u before connection.open", f->channel);
		return;
	}
	if ((ch = f->channel < c->chans_cap ? c->chans[f->channel] : NULL) ==
	    NULL) {
		/*
		 * compat: RabbitMQ 3.10 answers content on a channel it does
		 * not know as 505 and any other method as 504, naming the
		 * method (a close-ok for a channel it already forgot too).
		 */
		if (f->type != PROTO_FRAME_METHOD)
			conn_fail(c, PROTO_UNEXPECTED_FRAME, 0,
			    "expected method frame, got non method frame "
			    "instead");
		else if (m.id == PROTO_CHANNEL_OPEN)
			on_channel_open(c, f->channel);
		else
			conn_fail(c, PROTO_CHANNEL_ERROR, m.id,
			    "expected 'channel.open'");
		return;
	}
	chan_on_frame(ch, f, f->type == PROTO_FRAME_METHOD ? &m : NULL);
}

static void
process_input(struct conn *c)
{
	struct proto_frame f;
	const char *why;
	size_t used;
	unsigned frames = 0;

	while (c->state != CONN_DEAD && io_reading(&c->io) &&
	    buf_used(&c->io.in) > 0 &&
	    !c->close_after_flush) {
		/*
		 * Fairness: a connection gets a budget of frames per loop
		 * turn. The rest waits in its buffer, unread socket behind it,
		 * until the broker's prepare step has dispatched to consumers;
		 * so a fast publisher cannot starve them and grow its queues
		 * without bound (RabbitMQ's credit flow does this job there).
		 */
		/*
		 * A tx.commit-ok waits for the store commit; replies to the
		 * frames behind it must not overtake it, so they wait too.
		 */
		/*
		 * The turn's time budget too, checked every INPUT_CHECK
		 * frames: frames such as binds or wide fan-out publishes cost
		 * far more than a frame count suggests (broker_turn_spent).
		 */
		if ((frames == INPUT_BUDGET || c->commit_wait ||
		    (frames != 0 && frames % INPUT_CHECK == 0 &&
		    broker_turn_spent(c->b))) &&
		    !c->input_pending) {
			broker_wake_input(c->b, c);
			set_reading(c, false);
			c->input_pending = true;
			return;
		}
		if (c->commit_wait)
			return;	/* already waiting on the broker's list */
		frames++;
		if (c->state == CONN_HEADER) {
			switch (proto_header_check(buf_head(&c->io.in),
			    buf_used(&c->io.in))) {
			case PROTO_HEADER_NEED_MORE:
				return;
			case PROTO_HEADER_BAD:
				/* spec: 4.2.2 answer with ours, then close. */
				out_append(c, proto_header_091,
				    sizeof(proto_header_091));
				close_after_flush(c, "bad protocol header");
				return;
			case PROTO_HEADER_OK:
				buf_consume(&c->io.in, PROTO_HEADER_LEN);
				send_start(c);
				continue;
			}
		}
		switch (proto_frame_parse(buf_head(&c->io.in), buf_used(&c->io.in),
		    c->frame_max, &f, &used, &why)) {
		case PROTO_PARSE_NEED_MORE:
			return;
		case PROTO_PARSE_ERROR:
			conn_fail(c, PROTO_FRAME_ERROR, 0, "%s", why);
			buf_consume(&c->io.in, buf_used(&c->io.in));
			return;
		case PROTO_PARSE_FRAME:
			break;
		}
		if (!content_may_go(c, &f) || !get_may_go(c, &f))
			return;
		on_frame(c, &f);
		if (c->state == CONN_DEAD)
			return;
		buf_consume(&c->io.in, used);
	}
}
