#include "autoconf.h"

#include "admin/http_conn.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/api.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "server/broker.h"
#include "server/tls.h"
#include "admin/prometheus.h"

#define LINGER_TIME	2.0		/* seconds to drain before closing */
#define LINGER_MAX	(1u << 20)	/* bytes drained at most */
/* The largest answer plus its head. */
#define OUT_MAX		((size_t)API_RESPONSE_MAX + 65536)

static void	on_io(struct io *, enum io_event, void *);
static void	on_timer(struct ev_loop *, ev_timer *, int);
static void	run(struct http_conn *h);

static bool
same_address(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr,
		    sizeof(struct in_addr)) == 0;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr,
		    sizeof(struct in6_addr)) == 0;
	return false;
}

/*
 * Whether the client at peer has its share of connections already: one
 * address cannot take all of admin-max-connections and lock everyone
 * else out. compat: RabbitMQ 3.10 (Cowboy, ranch) has no such limit.
 */
static bool
address_full(struct broker *b, const struct sockaddr_storage *peer)
{
	uint64_t n = 0;

	if (peer->ss_family != AF_INET && peer->ss_family != AF_INET6)
		return false;
	for (struct http_conn *h = b->http_conns; h != NULL; h = h->next)
		if (same_address(&h->peer, peer) &&
		    ++n >= b->cfg.admin_max_connections_per_address)
			return true;
	return false;
}

static struct http_conn *
conn_new(struct broker *b, int fd, bool tls, bool metrics)
{
	struct sockaddr_storage peer;
	struct http_conn *h;
	char name[64];

	io_peer(fd, &peer, name, sizeof(name));
	if (address_full(b, &peer)) {
		if (ev_now(b->loop) - b->http_full_logged >= 1.0) {
			log_warnx("admin: %s has %llu connections, refusing "
			    "more (admin-max-connections-per-address)", name,
			    (unsigned long long)
			    b->cfg.admin_max_connections_per_address);
			b->http_full_logged = ev_now(b->loop);
		}
		return NULL;
	}
	if (b->nhttp_conns >= b->cfg.admin_max_connections) {
		/* One line a second at most, however hard the flood. */
		if (ev_now(b->loop) - b->http_full_logged >= 1.0) {
			log_warnx("admin: %u connections, refusing more "
			    "(admin-max-connections)", b->nhttp_conns);
			b->http_full_logged = ev_now(b->loop);
		}
		return NULL;
	}
	h = xcalloc(1, sizeof(*h));
	h->b = b;
	h->metrics = metrics;
	h->peer = peer;
	snprintf(h->name, sizeof(h->name), "%s", name);
	/*
	 * Room for the largest head and the largest body a route takes,
	 * never more: a complete or refused request stops reading before
	 * the buffer can fill.
	 */
	io_init(&h->io, b->loop, fd, HTTP_HEAD_MAX + API_DEFS_BODY_MAX + 1,
	    OUT_MAX, on_io, h);
	/* Answers wait for the commit of what their request changed. */
	io_set_barrier(&h->io, &b->commit_gen);
	if (tls && (b->tls == NULL || io_start_tls(&h->io, b->tls) == -1)) {
		h->io.fd = -1;		/* the listener closes it */
		io_free(&h->io);
		free(h);
		return NULL;
	}
	http_parser_init(&h->ps);
	ev_init(&h->timer, on_timer);
	h->timer.data = h;
	/* The first request's head is due within the header timeout. */
	h->request_start = h->last_active = ev_now(b->loop);
	h->next = b->http_conns;
	if (b->http_conns != NULL)
		b->http_conns->prev = h;
	b->http_conns = h;
	b->nhttp_conns++;
	log_debug("admin %s: accepted", h->name);
	run(h);
	return h;
}

struct http_conn *
http_conn_new(struct broker *b, int fd, bool tls)
{
	return conn_new(b, fd, tls, false);
}

bool
http_conn_accept_metrics(struct broker *b, int fd)
{
	return conn_new(b, fd, false, true) != NULL;
}

bool
http_conn_accept(struct broker *b, int fd)
{
	return http_conn_new(b, fd, false) != NULL;
}

bool
http_conn_accept_tls(struct broker *b, int fd)
{
	return http_conn_new(b, fd, true) != NULL;
}

void
http_conn_close(struct http_conn *h, const char *why)
{
	struct broker *b = h->b;

	log_debug("admin %s: closed: %s", h->name, why);
	if (h->deferred && h->gone != NULL)
		h->gone(h, h->gone_arg);
	ev_timer_stop(b->loop, &h->timer);
	io_free(&h->io);
	if (h->dirty)
		broker_unwake_http(b, h);
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		b->http_conns = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	b->nhttp_conns--;
	http_request_free(&h->req);
	free(h);
}

void
http_conn_shutdown(struct broker *b)
{
	/*
	 * Not closed here: this may run inside a connection's own callback.
	 * A zero timer closes each on the next loop turn, and broker_free
	 * those the loop no longer reaches.
	 */
	for (struct http_conn *h = b->http_conns; h != NULL; h = h->next) {
		h->close_after = true;
		snprintf(h->close_reason, sizeof(h->close_reason),
		    "broker stopping");
		io_set_read(&h->io, false);
		ev_timer_stop(b->loop, &h->timer);
		ev_timer_set(&h->timer, 0., 0.);
		ev_timer_start(b->loop, &h->timer);
	}
}

void
http_conn_close_all(struct broker *b)
{
	while (b->http_conns != NULL)
		http_conn_close(b->http_conns, "broker stopping");
}

/* Sets the one deadline that applies in the connection's state. */
static void
arm(struct http_conn *h)
{
	ev_tstamp now = ev_now(h->b->loop), at;

	if (h->lingering)
		return;
	if (h->deferred) {
		/* Pipelined requests wait; the answer has no deadline. */
		io_set_read(&h->io, false);
		ev_timer_stop(h->b->loop, &h->timer);
		return;
	}
	io_set_read(&h->io, !h->responding && !h->close_after);
	if (io_queued(&h->io) > 0)
		at = (h->io.last_send > h->last_write ? h->io.last_send :
		    h->last_write) + HTTP_IDLE_TIMEOUT;
	else if (buf_used(&h->io.in) > 0 || h->nrequests == 0) {
		if (h->request_start == 0)
			h->request_start = now;
		at = h->request_start + (ev_tstamp)h->b->cfg.handshake_timeout;
		/* A big body gets time in proportion. */
		if (http_parser_head_done(&h->ps))
			at += (ev_tstamp)h->req.content_length /
			    HTTP_BODY_MIN_RATE;
	} else {
		h->request_start = 0;
		at = h->last_active + (h->authed ? HTTP_IDLE_TIMEOUT :
		    HTTP_UNAUTH_IDLE_TIMEOUT);
	}
	ev_timer_stop(h->b->loop, &h->timer);
	ev_timer_set(&h->timer, at > now ? at - now : 0., 0.);
	ev_timer_start(h->b->loop, &h->timer);
}

/* Puts h on the prepare step's flush list (after the commit). */
static void
wake(struct http_conn *h)
{
	if (!h->dirty) {
		broker_wake_http(h->b, h);
		h->dirty = true;
	}
}

/*
 * Puts the head and body in out. A big body (a listing of every queue,
 * tens of MB) is not copied: the head moves in front of it in its own
 * buffer, which out takes (a copy to fresh memory was most of a turn).
 */
static bool
put_answer(struct http_conn *h, struct http_response *resp,
    const struct http_request *req, bool close)
{
	struct buf *body = &resp->body, hb;
	size_t blen = buf_used(body), hlen;
	bool has_body, ok;

	if (blen < HTTP_ANSWER_MOVE_MIN || io_queued(&h->io) > 0)
		return http_response_write(resp, req, close,
		    (time_t)ev_now(h->b->loop), io_out(&h->io));
	buf_init(&hb, HTTP_HEAD_MAX);
	ok = http_response_write_head(resp, req, close,
	    (time_t)ev_now(h->b->loop), &hb, &has_body);
	hlen = buf_used(&hb);
	if (ok && !has_body)
		ok = io_write(&h->io, buf_head(&hb), hlen);
	else if (ok && !buf_reserve(body, hlen))
		ok = io_write(&h->io, buf_head(&hb), hlen) &&
		    io_write(&h->io, buf_head(body), blen);
	else if (ok) {
		memmove(buf_head(body) + hlen, buf_head(body), blen);
		memcpy(buf_head(body), buf_head(&hb), hlen);
		buf_commit(body, hlen);
		ok = io_write_buf(&h->io, body);
	}
	buf_free(&hb);
	return ok;
}

/* Serializes an answer into out; a final one stops further parsing. */
static void
respond(struct http_conn *h, struct http_response *resp,
    const struct http_request *req, bool close, const char *why)
{
	size_t before = io_queued(&h->io);

	h->responding = true;
	h->last_write = ev_now(h->b->loop);
	if (!put_answer(h, resp, req, close)) {
		/* Nothing sensible fits: drop what was half written. */
		io_truncate(&h->io, before);
		close = true;
		why = "answer too large";
	}
	if (close) {
		h->close_after = true;
		snprintf(h->close_reason, sizeof(h->close_reason), "%s", why);
	}
	wake(h);
}

/* A request that cannot be parsed: answer and close. */
static void
parse_error(struct http_conn *h)
{
	struct http_response resp;
	struct json_writer w;

	log_info("admin %s: bad request: %d %s", h->name, h->ps.status,
	    h->ps.reason);
	http_response_init(&resp, 4096);
	resp.status = h->ps.status;
	/* compat: Cowboy answers HTTP-level errors with an empty body. */
	if (h->ps.json) {
		json_writer_init(&w, &resp.body);
		json_w_begin_object(&w);
		json_w_keyc(&w, "error");
		json_w_stringc(&w, h->ps.status == 501 ? "not_implemented" :
		    "bad_request");
		json_w_keyc(&w, "reason");
		json_w_stringc(&w, h->ps.reason);
		json_w_end_object(&w);
	}
	respond(h, &resp, NULL, true, "bad request");
	http_response_free(&resp);
}

/*
 * The handler took the input buffer's memory (http_conn_take_input): a
 * fresh buffer gets what was pipelined after the request's used bytes.
 */
static void
give_back_input(struct http_conn *h, size_t used)
{
	struct buf old = h->io.in;
	size_t from = old.off + used;

	h->input_taken = false;
	buf_init(&h->io.in, old.max);
	if (from < old.len && !buf_append(&h->io.in, old.data + from,
	    old.len - from)) {
		/* Out of memory: those requests are lost, and so is h. */
		h->close_after = true;
		snprintf(h->close_reason, sizeof(h->close_reason),
		    "out of memory");
	}
}

/*
 * Parses and answers at most one request. Returns true when it put bytes
 * into out (an answer, or a 100 Continue).
 */
static bool
step(struct http_conn *h)
{
	struct http_response resp;
	size_t used;
	bool close;

	switch (http_parse(&h->ps, buf_head(&h->io.in), buf_used(&h->io.in),
	    &h->req, &used)) {
	case HTTP_PARSE_NEED_MORE:
		if (!http_parser_head_done(&h->ps) || h->head_checked)
			return false;
		/* The head is in and the body is not: answer early if we can. */
		h->head_checked = true;
		h->req.peer = h->peer;
		http_response_init(&resp, API_RESPONSE_MAX);
		if (h->metrics ? !prometheus_serve_head(h->b, &h->req, &resp) :
		    !api_check_head(h->b, &h->req, &resp)) {
			/* The body is not read, so the stream is lost: close. */
			respond(h, &resp, &h->req, true, "refused before body");
			http_response_free(&resp);
			return true;
		}
		http_response_free(&resp);
		/* spec: RFC 9110 10.1.1 a client waiting to send its body. */
		if (h->req.expect_continue) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

			if (!io_write(&h->io, cont, sizeof(cont) - 1))
				return false;
			h->last_write = ev_now(h->b->loop);
			wake(h);
			return true;
		}
		return false;
	case HTTP_PARSE_ERROR:
		parse_error(h);
		return true;
	case HTTP_PARSE_REQUEST:
		break;
	}
	h->req.peer = h->peer;
	h->req.conn = h;
	http_response_init(&resp, API_RESPONSE_MAX);
	if (h->metrics)
		prometheus_serve(h->b, &h->req, &resp);
	else
		api_handle(h->b, &h->req, &resp);
	if (resp.authenticated)
		h->authed = true;
	if (resp.deferred) {
		/* The handler took what it needs of the body. */
		log_debug("admin %s: %.*s %.*s: answer deferred", h->name,
		    PSTR(h->req.method_name), PSTR(h->req.path));
		h->deferred_minor = h->req.minor;
		h->deferred_close = !h->req.keep_alive || resp.close;
		http_response_free(&resp);
		if (h->input_taken)
			give_back_input(h, used);
		else
			buf_consume(&h->io.in, used);
		http_request_free(&h->req);
		h->head_checked = false;
		h->request_start = 0;
		return false;
	}
	log_debug("admin %s: %.*s %.*s: %d", h->name, PSTR(h->req.method_name),
	    PSTR(h->req.path), resp.status);
	close = !h->req.keep_alive || resp.close || h->b->stopping;
	respond(h, &resp, &h->req, close, "closed by request");
	http_response_free(&resp);
	buf_consume(&h->io.in, used);
	http_request_free(&h->req);
	h->head_checked = false;
	h->request_start = 0;
	h->nrequests++;
	return true;
}

/*
 * spec: RFC 9112 9.6 close in two steps: stop sending, then read and drop
 * what the client still sends for a moment, so that its unread bytes do
 * not turn the close into a reset that destroys the answer in flight.
 */
static void
linger(struct http_conn *h)
{
	if (h->lingering)
		return;
	h->lingering = true;
	io_shutdown(&h->io);	/* TLS: close_notify first */
	ev_timer_stop(h->b->loop, &h->timer);
	ev_timer_set(&h->timer, LINGER_TIME, 0.);
	ev_timer_start(h->b->loop, &h->timer);
}

/*
 * Writes pending output as far as the barrier lets it, then parses and
 * answers buffered requests one at a time (pipelining), then sets reading
 * and the deadline.
 */
static void
run(struct http_conn *h)
{
	for (;;) {
		if (io_queued(&h->io) > 0) {
			if (io_flush(&h->io) == -1) {
				http_conn_close(h, io_error(&h->io));
				return;
			}
			/* The write watcher or the prepare step calls again. */
			if (io_queued(&h->io) > 0)
				break;
			h->last_active = ev_now(h->b->loop);
		}
		if (h->close_after) {
			linger(h);
			return;
		}
		h->responding = false;
		/* Pipelined requests wait for a deferred answer. */
		if (h->deferred || !step(h))
			break;
	}
	arm(h);
}

void
http_conn_defer(struct http_conn *h, struct http_response *resp,
    void (*gone)(struct http_conn *h, void *arg), void *arg)
{
	resp->deferred = true;
	h->deferred = true;
	h->gone = gone;
	h->gone_arg = arg;
}

void *
http_conn_take_input(struct http_conn *h)
{
	/* step() gives h a fresh buffer once the handler returns. */
	h->input_taken = true;
	return h->io.in.data;
}

void
http_conn_answer(struct http_conn *h, struct http_response *resp)
{
	/* What respond() reads of a request: its version, not a HEAD. */
	struct http_request req = { .method = HTTP_POST,
	    .minor = h->deferred_minor };

	h->deferred = false;
	h->gone = NULL;
	h->nrequests++;
	respond(h, resp, &req, h->deferred_close || resp->close ||
	    h->b->stopping, "closed by request");
}

void
http_conn_flush(struct http_conn *h)
{
	h->dirty = false;
	if (!h->lingering)
		run(h);
}

/* The socket's events (server/io.h). */
static void
on_io(struct io *io, enum io_event ev, void *arg)
{
	struct http_conn *h = arg;
	char desc[128];

	switch (ev) {
	case IO_TLSREADY:
		log_debug("admin %s: tls %s", h->name,
		    tls_describe(io->ssl, desc, sizeof(desc)));
		return;
	case IO_DATAIN:
		if (!h->lingering)
			run(h);
		else if (io->discarded > LINGER_MAX)
			http_conn_close(h, h->close_reason);
		return;
	case IO_LOWAT:
		if (!h->lingering)
			run(h);		/* the answer is out: the next one */
		return;
	case IO_DISCONNECTED:
		http_conn_close(h, h->lingering ? h->close_reason :
		    "client closed the socket");
		return;
	case IO_ERROR:
		/* A refused handshake (plain HTTP, say) is worth a line. */
		if (io_handshaking(io))
			log_info("admin %s: closed: %s", h->name, io_error(io));
		http_conn_close(h, h->lingering ? h->close_reason :
		    io_error(io));
		return;
	}
}

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http_conn *h = w->data;

	if (h->close_after) {
		http_conn_close(h, h->close_reason);
		return;
	}
	if (io_queued(&h->io) > 0)
		log_info("admin %s: closed: answer not read for %.0f s",
		    h->name, HTTP_IDLE_TIMEOUT);
	else if (buf_used(&h->io.in) > 0 || h->nrequests == 0)
		log_info("admin %s: closed: request not complete in time",
		    h->name);
	http_conn_close(h, "timeout");
}
