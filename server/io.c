#include "autoconf.h"

#include "server/io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/tls.h"

#define READ_CHUNK		65536
#define READS_PER_EVENT		16	/* at most 1 MiB per wake-up */
#define OUT_KEEP		(1u << 16)	/* idle output buffer kept */

static void	on_read(struct ev_loop *, ev_io *, int);
static void	on_write(struct ev_loop *, ev_io *, int);
static void	on_tls(struct ev_loop *, ev_io *, int);

void
io_init(struct io *io, struct ev_loop *loop, int fd, size_t in_max,
    size_t out_max, io_cb *cb, void *arg)
{
	memset(io, 0, sizeof(*io));
	io->loop = loop;
	io->fd = fd;
	io->cb = cb;
	io->arg = arg;
	buf_init(&io->in, in_max);
	buf_init(&io->out, out_max);
	ev_io_init(&io->rio, on_read, fd, EV_READ);
	ev_io_init(&io->wio, on_write, fd, EV_WRITE);
	ev_io_init(&io->tio, on_tls, fd, EV_READ);
	io->rio.data = io->wio.data = io->tio.data = io;
	io->last_recv = io->last_send = ev_now(loop);
}

static void
set_error(struct io *io, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(io->error, sizeof(io->error), fmt, ap);
	va_end(ap);
}

/* "what: OpenSSL's reason" after a TLS failure. */
static void
set_tls_error(struct io *io, const char *what)
{
	char why[256];

	set_error(io, "%s: %s", what, tls_error(why, sizeof(why)));
}

const char *
io_error(const struct io *io)
{
	return io->error[0] != '\0' ? io->error : "connection closed";
}

/*
 * Calls the owner. Returns false when the owner closed io meanwhile (it
 * may be freed: touch nothing). Nested calls pass the news outwards.
 */
static bool
dispatch(struct io *io, enum io_event ev)
{
	bool dead = false, *outer = io->dead;

	io->dead = &dead;
	io->cb(io, ev, io->arg);
	if (dead) {
		if (outer != NULL)
			*outer = true;
		return false;
	}
	io->dead = outer;
	if (io->closed)
		return false;
	return true;
}

/* Reports a failure; an owner that keeps io gets it closed anyway. */
static void
fail(struct io *io, enum io_event ev)
{
	if (dispatch(io, ev))
		io_close(io, false);
}

/*
 * tio watches what OpenSSL waits on across directions: the handshake, an
 * SSL_read that must write first and an SSL_write that must read first.
 * rio and wio keep their plain meanings.
 */
static void
tio_update(struct io *io, int events)
{
	if (io->read_wants_write)
		events |= EV_WRITE;
	if (io->write_wants_read)
		events |= EV_READ;
	if (ev_is_active(&io->tio) &&
	    (io->tio.events & (EV_READ | EV_WRITE)) == events)
		return;
	ev_io_stop(io->loop, &io->tio);
	if (events == 0)
		return;
	ev_io_set(&io->tio, io->fd, events);
	ev_io_start(io->loop, &io->tio);
}

/* Starts or stops rio as the owner, TLS and the backlog allow. */
static void
update_read(struct io *io)
{
	bool on = io->want_read && !io->closed && !io->handshaking &&
	    (io->hiwat == 0 || buf_used(&io->out) <= io->hiwat);

	if (on == io->reading)
		return;
	io->reading = on;
	if (!on) {
		ev_io_stop(io->loop, &io->rio);
		return;
	}
	ev_io_start(io->loop, &io->rio);
	/* TLS: decrypted bytes left in the session raise no socket event. */
	if (io->ssl != NULL && !io->discard && tls_pending(io->ssl) > 0)
		ev_feed_event(io->loop, &io->rio, EV_READ);
}

int
io_start_tls(struct io *io, struct tls *t)
{
	if ((io->ssl = tls_session_new(t, io->fd)) == NULL)
		return -1;
	io->handshaking = true;
	update_read(io);
	tio_update(io, EV_READ);
	return 0;
}

void
io_close(struct io *io, bool clean)
{
	if (io->closed)
		return;
	io->closed = true;
	if (io->dead != NULL) {
		*io->dead = true;
		io->dead = NULL;
	}
	ev_io_stop(io->loop, &io->rio);
	ev_io_stop(io->loop, &io->wio);
	ev_io_stop(io->loop, &io->tio);
	io->reading = io->writing = false;
	if (io->ssl != NULL) {
		tls_session_free(io->ssl, clean);
		io->ssl = NULL;
	}
	if (io->fd != -1)
		close(io->fd);
	io->fd = -1;
}

void
io_free(struct io *io)
{
	io_close(io, false);
	buf_free(&io->in);
	buf_free(&io->out);
}

void
io_set_barrier(struct io *io, const uint64_t *gen)
{
	io->gen = gen;
	if (gen != NULL) {
		io->out_gen = *gen;
		io->out_safe = buf_used(&io->out);
	}
}

void
io_set_watermarks(struct io *io, size_t lowat, size_t hiwat)
{
	io->lowat = lowat;
	io->hiwat = hiwat;
}

void
io_set_read(struct io *io, bool on)
{
	io->want_read = on;
	update_read(io);
}

/*
 * The barrier, taken lazily: every append comes here first, so when the
 * generation moved since the last one, all that is queued predates it.
 */
static void
mark(struct io *io)
{
	if (io->gen != NULL && io->out_gen != *io->gen) {
		io->out_gen = *io->gen;
		io->out_safe = buf_used(&io->out);
	}
}

size_t
io_safe(struct io *io)
{
	if (io->gen == NULL)
		return buf_used(&io->out);
	mark(io);
	return io->out_safe;
}

struct buf *
io_out(struct io *io)
{
	mark(io);
	return &io->out;
}

uint8_t *
io_reserve(struct io *io, size_t n)
{
	mark(io);
	return buf_reserve(&io->out, n) ? buf_tail(&io->out) : NULL;
}

void
io_commit(struct io *io, size_t n)
{
	buf_commit(&io->out, n);
}

bool
io_write_buf(struct io *io, struct buf *b)
{
	size_t max = io->out.max;
	bool ok;

	mark(io);
	if (buf_used(&io->out) > 0 || buf_used(b) > max) {
		ok = buf_append(&io->out, buf_head(b), buf_used(b));
		buf_free(b);
		buf_init(b, max);
		return ok;
	}
	buf_free(&io->out);
	io->out = *b;
	io->out.max = max;
	buf_init(b, max);
	return true;
}

bool
io_write(struct io *io, const void *p, size_t n)
{
	mark(io);
	return buf_append(&io->out, p, n);
}

void
io_truncate(struct io *io, size_t len)
{
	if (len < buf_used(&io->out))
		io->out.len = io->out.off + len;
	if (io->out_safe > len)
		io->out_safe = len;
}

/*
 * read(2) for either kind of socket: > 0 bytes, 0 at the end, -1 with
 * errno EAGAIN for a wait, -2 on a failure (io->error set).
 */
static ssize_t
sock_read(struct io *io, void *p, size_t len)
{
	enum tls_status st;
	ssize_t n;
	size_t got;

	if (io->ssl == NULL || io->discard) {
		n = read(io->fd, p, len);
		if (n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR) {
			if (n == -1)
				errno = EAGAIN;
			return n;
		}
		set_error(io, "%s", strerror(errno));
		return -2;
	}
	if ((got = tls_read(io->ssl, p, len, &st)) > 0)
		return (ssize_t)got;
	switch (st) {
	case TLS_DONE:
	case TLS_CLOSED:
		return 0;
	case TLS_WANT_WRITE:
		io->read_wants_write = true;
		tio_update(io, 0);
		/* FALLTHROUGH */
	case TLS_WANT_READ:
		errno = EAGAIN;
		return -1;
	case TLS_FAILED:
		break;
	}
	set_tls_error(io, "tls read");
	return -2;
}

/* write(2) for either kind of socket, as sock_read. */
static ssize_t
sock_write(struct io *io, const void *p, size_t len)
{
	enum tls_status st;
	ssize_t n;
	size_t put;

	if (io->ssl == NULL) {
		n = send(io->fd, p, len, MSG_NOSIGNAL);
		if (n > 0)
			return n;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)) {
			errno = EAGAIN;
			return -1;
		}
		set_error(io, "%s", n == -1 ? strerror(errno) :
		    "write returned 0");
		return -2;
	}
	if ((put = tls_write(io->ssl, p, len, &st)) > 0)
		return (ssize_t)put;
	switch (st) {
	case TLS_WANT_READ:
		io->write_wants_read = true;
		tio_update(io, 0);
		/* FALLTHROUGH */
	case TLS_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case TLS_DONE:
	case TLS_CLOSED:
		set_error(io, "client closed the socket");
		return -2;
	case TLS_FAILED:
		break;
	}
	set_tls_error(io, "tls write");
	return -2;
}

/*
 * Writes up to the barrier, then sets the write watcher and reading.
 * Returns -1 on failure, 1 when reading resumed, else 0.
 */
static int
write_out(struct io *io)
{
	size_t safe = io_safe(io);
	bool was_reading = io->reading;
	ssize_t n;

	io->flushed_from = buf_used(&io->out);
	while (safe > 0) {
		n = sock_write(io, buf_head(&io->out), safe);
		if (n == -2)
			return -1;
		if (n == -1)
			break;
		buf_consume(&io->out, (size_t)n);
		io->sent_oct += (uint64_t)n;
		io->sent_cnt++;
		safe -= (size_t)n;
		if (io->gen != NULL)
			io->out_safe = safe;
		io->last_send = ev_now(io->loop);
	}
	/*
	 * Past the barrier the owner's next flush writes; a TLS write that
	 * waits for input is retried from tio.
	 */
	if (safe > 0 && !io->write_wants_read) {
		if (!io->writing) {
			ev_io_start(io->loop, &io->wio);
			io->writing = true;
		}
	} else if (io->writing) {
		ev_io_stop(io->loop, &io->wio);
		io->writing = false;
	}
	if (buf_used(&io->out) == 0)
		buf_shrink(&io->out, OUT_KEEP);
	update_read(io);
	return !was_reading && io->reading;
}

int
io_flush(struct io *io)
{
	int rc;

	if (io->closed)
		return -1;
	if (io->handshaking)
		return 0;
	rc = write_out(io);
	return rc == -1 ? -1 : rc;
}

/* A write from a watcher: IO_LOWAT, and input held back by the backlog. */
static void
write_event(struct io *io)
{
	int rc;

	if ((rc = write_out(io)) == -1) {
		fail(io, IO_ERROR);
		return;
	}
	if (buf_used(&io->out) <= io->lowat && !dispatch(io, IO_LOWAT))
		return;
	if (rc == 1 && buf_used(&io->in) > 0)
		(void)dispatch(io, IO_DATAIN);
}

/*
 * Reads what the socket has, bounded per wake-up for fairness (the more
 * one loop turn takes in, the more one commit covers), telling the owner
 * after each chunk.
 */
static void
read_in(struct io *io)
{
	uint8_t drop[16384];
	size_t want;
	ssize_t n;

	for (int i = 0; i < READS_PER_EVENT && io->reading; i++) {
		if (io->discard) {
			want = sizeof(drop);
			n = sock_read(io, drop, want);
		} else {
			want = io->in.max - buf_used(&io->in);
			if (want > READ_CHUNK)
				want = READ_CHUNK;
			if (want == 0 || !buf_reserve(&io->in, want)) {
				set_error(io, "input buffer full");
				fail(io, IO_ERROR);
				return;
			}
			n = sock_read(io, buf_tail(&io->in), want);
		}
		if (n == 0) {
			fail(io, IO_DISCONNECTED);
			return;
		}
		if (n == -2) {
			fail(io, IO_ERROR);
			return;
		}
		if (n == -1)
			break;
		io->recv_oct += (uint64_t)n;
		io->recv_cnt++;
		if (io->discard)
			io->discarded += (size_t)n;
		else
			buf_commit(&io->in, (size_t)n);
		io->last_recv = ev_now(io->loop);
		if (!dispatch(io, IO_DATAIN))
			return;
		/* A TLS read returns one record at most: drain until it waits. */
		if ((io->ssl == NULL || io->discard) && (size_t)n < want)
			break;
	}
	if (io->ssl != NULL && !io->discard && io->reading &&
	    tls_pending(io->ssl) > 0)
		ev_feed_event(io->loop, &io->rio, EV_READ);
	/* Idle connections keep no input buffer. */
	if (buf_used(&io->in) == 0)
		buf_shrink(&io->in, 0);
}

static void
on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	read_in(w->data);
}

static void
on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	write_event(w->data);
}

/* One step of SSL_accept; once done, input starts. */
static void
tls_step(struct io *io)
{
	switch (tls_handshake(io->ssl)) {
	case TLS_DONE:
		io->handshaking = false;
		tio_update(io, 0);
		if (!dispatch(io, IO_TLSREADY))
			return;
		update_read(io);
		/* The first bytes may have come with the handshake. */
		if (io->reading)
			read_in(io);
		return;
	case TLS_WANT_READ:
		tio_update(io, EV_READ);
		return;
	case TLS_WANT_WRITE:
		tio_update(io, EV_WRITE);
		return;
	case TLS_CLOSED:
	case TLS_FAILED:
		set_tls_error(io, "tls handshake");
		fail(io, IO_ERROR);
		return;
	}
}

static void
on_tls(struct ev_loop *loop, ev_io *w, int revents)
{
	struct io *io = w->data;
	bool dead = false, *outer = io->dead;

	if (io->handshaking) {
		tls_step(io);
		return;
	}
	/* Either step may end io: watch for it across both. */
	io->dead = &dead;
	if (io->read_wants_write && (revents & EV_WRITE)) {
		io->read_wants_write = false;
		read_in(io);
		if (dead || io->closed)
			goto out;
	}
	if (io->write_wants_read && (revents & EV_READ)) {
		io->write_wants_read = false;
		write_event(io);
		if (dead || io->closed)
			goto out;
	}
	tio_update(io, 0);
out:
	if (dead) {
		if (outer != NULL)
			*outer = true;
		return;
	}
	io->dead = outer;
}

void
io_shutdown(struct io *io)
{
	if (io->closed || io->discard)
		return;
	io->discard = true;
	if (io->ssl != NULL) {
		tls_session_free(io->ssl, true);	/* close_notify */
		io->ssl = NULL;
		io->read_wants_write = io->write_wants_read = false;
		ev_io_stop(io->loop, &io->tio);
	}
	if (io->writing) {
		ev_io_stop(io->loop, &io->wio);
		io->writing = false;
	}
	shutdown(io->fd, SHUT_WR);
	io->want_read = true;
	io->hiwat = 0;
	update_read(io);
}

int
io_addr(const struct sockaddr_storage *ss, char *host, size_t hostlen)
{
	snprintf(host, hostlen, "?");
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, (socklen_t)hostlen);
		return ntohs(s4->sin_port);
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, (socklen_t)hostlen);
		return ntohs(s6->sin6_port);
	}
	return 0;
}

void
io_peer(int fd, struct sockaddr_storage *ss, char *name, size_t len)
{
	socklen_t sl = sizeof(*ss);
	char host[INET6_ADDRSTRLEN];
	int port;

	if (getpeername(fd, (struct sockaddr *)ss, &sl) == -1)
		ss->ss_family = AF_UNSPEC;
	port = io_addr(ss, host, sizeof(host));
	snprintf(name, len, "%s:%d", host, port);
}

void
io_local(int fd, struct sockaddr_storage *ss)
{
	socklen_t sl = sizeof(*ss);

	if (getsockname(fd, (struct sockaddr *)ss, &sl) == -1)
		ss->ss_family = AF_UNSPEC;
}
