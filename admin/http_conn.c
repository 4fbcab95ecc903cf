#include "autoconf.h"

#include "admin/http_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin/api.h"
#include "admin/json.h"
#include "server/broker.h"
#include "server/log.h"

#define READ_CHUNK	65536
#define READS_PER_EVENT	16
#define LINGER_TIME	2.0		/* seconds to drain before closing */
#define LINGER_MAX	(1u << 20)	/* bytes drained at most */
/* The largest answer plus its head. */
#define OUT_MAX		((size_t)API_RESPONSE_MAX + 65536)

static void	on_read(struct ev_loop *, ev_io *, int);
static void	on_write(struct ev_loop *, ev_io *, int);
static void	on_timer(struct ev_loop *, ev_timer *, int);
static void	run(struct http_conn *h);

static void
peer_name(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	}
	snprintf(buf, len, "%s:%d", host, port);
}

struct http_conn *
http_conn_new(struct broker *b, int fd)
{
	struct http_conn *h;
	socklen_t sl;

	if (b->nhttp_conns >= b->cfg.admin_max_connections) {
		/* One line a second at most, however hard the flood. */
		if (ev_now(b->loop) - b->http_full_logged >= 1.0) {
			log_warnx("admin: %u connections, refusing more "
			    "(admin-max-connections)", b->nhttp_conns);
			b->http_full_logged = ev_now(b->loop);
		}
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->b = b;
	h->fd = fd;
	sl = sizeof(h->peer);
	if (getpeername(fd, (struct sockaddr *)&h->peer, &sl) == -1)
		h->peer.ss_family = AF_UNSPEC;
	peer_name(&h->peer, h->name, sizeof(h->name));
	/* Room for the largest head and body, never more. */
	buf_init(&h->in, HTTP_HEAD_MAX + HTTP_BODY_MAX + 1);
	buf_init(&h->out, OUT_MAX);
	http_parser_init(&h->ps);
	ev_io_init(&h->rio, on_read, fd, EV_READ);
	ev_io_init(&h->wio, on_write, fd, EV_WRITE);
	ev_init(&h->timer, on_timer);
	h->rio.data = h->wio.data = h->timer.data = h;
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

bool
http_conn_accept(struct broker *b, int fd)
{
	return http_conn_new(b, fd) != NULL;
}

void
http_conn_close(struct http_conn *h, const char *why)
{
	struct broker *b = h->b;

	log_debug("admin %s: closed: %s", h->name, why);
	ev_io_stop(b->loop, &h->rio);
	ev_io_stop(b->loop, &h->wio);
	ev_timer_stop(b->loop, &h->timer);
	close(h->fd);
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		b->http_conns = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	b->nhttp_conns--;
	buf_free(&h->in);
	buf_free(&h->out);
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
		ev_io_stop(b->loop, &h->rio);
		h->reading = false;
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

/* How many more bytes the request being parsed may need. */
static size_t
read_room(const struct http_conn *h)
{
	size_t need, used = buf_used(&h->in);

	/* The parser decides on at most HTTP_HEAD_MAX + 1 bytes of head. */
	if (http_parser_head_done(&h->ps))
		need = h->ps.head_len + h->req.content_length;
	else
		need = HTTP_HEAD_MAX + 1;
	if (used >= need)
		return 0;
	return need - used < READ_CHUNK ? need - used : READ_CHUNK;
}

static void
set_reading(struct http_conn *h, bool on)
{
	if (on == h->reading)
		return;
	if (on)
		ev_io_start(h->b->loop, &h->rio);
	else
		ev_io_stop(h->b->loop, &h->rio);
	h->reading = on;
}

/* Sets the one deadline that applies in the connection's state. */
static void
arm(struct http_conn *h)
{
	ev_tstamp now = ev_now(h->b->loop), at;

	if (h->lingering)
		return;
	set_reading(h, !h->responding && !h->close_after &&
	    read_room(h) > 0);
	if (buf_used(&h->out) > 0)
		at = h->last_write + HTTP_IDLE_TIMEOUT;
	else if (buf_used(&h->in) > 0 || h->nrequests == 0) {
		if (h->request_start == 0)
			h->request_start = now;
		at = h->request_start + (ev_tstamp)h->b->cfg.handshake_timeout;
		/* A big body gets time in proportion. */
		if (http_parser_head_done(&h->ps))
			at += (ev_tstamp)h->req.content_length /
			    HTTP_BODY_MIN_RATE;
	} else {
		h->request_start = 0;
		at = h->last_active + HTTP_IDLE_TIMEOUT;
	}
	ev_timer_stop(h->b->loop, &h->timer);
	ev_timer_set(&h->timer, at > now ? at - now : 0., 0.);
	ev_timer_start(h->b->loop, &h->timer);
}

/* Writes what it can; -1 when the connection was closed. */
static int
flush(struct http_conn *h)
{
	ssize_t n;

	while (buf_used(&h->out) > 0) {
		n = send(h->fd, buf_head(&h->out), buf_used(&h->out),
		    MSG_NOSIGNAL);
		if (n > 0) {
			buf_consume(&h->out, (size_t)n);
			h->last_write = ev_now(h->b->loop);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!h->writing) {
				ev_io_start(h->b->loop, &h->wio);
				h->writing = true;
			}
			return 0;
		}
		http_conn_close(h, n == -1 ? strerror(errno) :
		    "send returned 0");
		return -1;
	}
	if (h->writing) {
		ev_io_stop(h->b->loop, &h->wio);
		h->writing = false;
	}
	buf_shrink(&h->out, 1u << 16);
	return 0;
}

/* Serializes an answer into out; a final one stops further parsing. */
static void
respond(struct http_conn *h, const struct http_response *resp,
    const struct http_request *req, bool close, const char *why)
{
	h->responding = true;
	h->last_write = ev_now(h->b->loop);
	if (!http_response_write(resp, req, close, (time_t)ev_now(h->b->loop),
	    &h->out)) {
		/* Nothing sensible fits: drop what was half written. */
		buf_consume(&h->out, buf_used(&h->out));
		close = true;
		why = "answer too large";
	}
	if (close) {
		h->close_after = true;
		snprintf(h->close_reason, sizeof(h->close_reason), "%s", why);
	}
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
 * Parses and answers at most one request. Returns true when it put bytes
 * into out (an answer, or a 100 Continue).
 */
static bool
step(struct http_conn *h)
{
	struct http_response resp;
	size_t used;
	bool close;

	switch (http_parse(&h->ps, buf_head(&h->in), buf_used(&h->in),
	    &h->req, &used)) {
	case HTTP_PARSE_NEED_MORE:
		if (!http_parser_head_done(&h->ps) || h->head_checked)
			return false;
		/* The head is in and the body is not: answer early if we can. */
		h->head_checked = true;
		h->req.peer = h->peer;
		http_response_init(&resp, API_RESPONSE_MAX);
		if (!api_check_head(h->b, &h->req, &resp)) {
			/* The body is not read, so the stream is lost: close. */
			respond(h, &resp, &h->req, true, "refused before body");
			http_response_free(&resp);
			return true;
		}
		http_response_free(&resp);
		/* spec: RFC 9110 10.1.1 a client waiting to send its body. */
		if (h->req.expect_continue) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

			if (!buf_append(&h->out, cont, sizeof(cont) - 1))
				return false;
			h->last_write = ev_now(h->b->loop);
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
	http_response_init(&resp, API_RESPONSE_MAX);
	api_handle(h->b, &h->req, &resp);
	log_debug("admin %s: %.*s %.*s: %d", h->name, PSTR(h->req.method_name),
	    PSTR(h->req.path), resp.status);
	close = !h->req.keep_alive || resp.close || h->b->stopping;
	respond(h, &resp, &h->req, close, "closed by request");
	http_response_free(&resp);
	buf_consume(&h->in, used);
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
	shutdown(h->fd, SHUT_WR);
	set_reading(h, true);
	ev_timer_stop(h->b->loop, &h->timer);
	ev_timer_set(&h->timer, LINGER_TIME, 0.);
	ev_timer_start(h->b->loop, &h->timer);
}

/* Reads and drops bytes of a lingering connection; closes at the end. */
static void
drain(struct http_conn *h)
{
	uint8_t tmp[16384];
	ssize_t n;

	for (;;) {
		n = read(h->fd, tmp, sizeof(tmp));
		if (n > 0) {
			h->drained += (size_t)n;
			if (h->drained <= LINGER_MAX)
				continue;
		} else if (n == -1 && errno == EINTR)
			continue;
		else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		http_conn_close(h, h->close_reason);
		return;
	}
}

/*
 * Writes pending output, then parses and answers buffered requests one at
 * a time (pipelining), then sets the read watcher and the deadline.
 */
static void
run(struct http_conn *h)
{
	for (;;) {
		if (buf_used(&h->out) > 0) {
			if (flush(h) == -1)
				return;
			if (buf_used(&h->out) > 0)
				break;		/* wio will call again */
			h->last_active = ev_now(h->b->loop);
		}
		if (h->close_after) {
			linger(h);
			return;
		}
		h->responding = false;
		if (!step(h))
			break;
	}
	if (buf_used(&h->in) == 0)
		buf_shrink(&h->in, 0);	/* idle connections keep no buffer */
	arm(h);
}

static void
on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_conn *h = w->data;
	size_t want;
	ssize_t n;

	if (h->lingering) {
		drain(h);
		return;
	}
	for (int i = 0; i < READS_PER_EVENT; i++) {
		if ((want = read_room(h)) == 0)
			break;
		if (!buf_reserve(&h->in, want)) {
			http_conn_close(h, "out of memory");
			return;
		}
		n = read(h->fd, buf_tail(&h->in), want);
		if (n == 0) {
			http_conn_close(h, "client closed the socket");
			return;
		}
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				break;
			http_conn_close(h, strerror(errno));
			return;
		}
		h->in.len += (size_t)n;
		if ((size_t)n < want)
			break;
	}
	run(h);
}

static void
on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	run(w->data);
}

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http_conn *h = w->data;

	if (h->close_after) {
		http_conn_close(h, h->close_reason);
		return;
	}
	if (buf_used(&h->out) > 0)
		log_info("admin %s: closed: answer not read for %.0f s",
		    h->name, HTTP_IDLE_TIMEOUT);
	else if (buf_used(&h->in) > 0 || h->nrequests == 0)
		log_info("admin %s: closed: request not complete in time",
		    h->name);
	http_conn_close(h, "timeout");
}
