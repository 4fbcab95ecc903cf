/*
 * A buffered, non-blocking socket on the broker loop, with TLS inside
 * (after OpenSMTPD's ioev): it reads into an input buffer and tells its
 * owner through one callback, writes from an output buffer, and hides
 * which of read(2), write(2) or OpenSSL moves the bytes and what OpenSSL
 * waits on across directions. AMQP connections (server/conn.c) and admin
 * API connections (admin/http_conn.c) both sit on it.
 *
 * Three rules an owner can rely on:
 * - The output barrier: with io_set_barrier(), only bytes queued before
 *   the generation last changed may reach the socket from a write or TLS
 *   watcher; later ones wait for the owner's io_flush() after the next
 *   change (the broker's prepare step commits, bumps commit_gen, then
 *   flushes). So no reply overtakes the commit of what it reports.
 * - Back-pressure: with io_set_watermarks(), the socket is not read while
 *   more than hiwat bytes wait to be written (a client that does not read
 *   stops being read), and IO_LOWAT says the output fell to lowat.
 * - Events come only from the loop's watchers, never from a call the
 *   owner makes. The owner may io_close() inside its callback (and then
 *   free everything); io notices and touches nothing after.
 */
#ifndef WARREN_SERVER_IO_H
#define WARREN_SERVER_IO_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/buf.h"

struct ssl_st;		/* OpenSSL's SSL; see server/tls.h */
struct tls;

enum io_event {
	IO_TLSREADY,		/* the TLS handshake finished */
	IO_DATAIN,		/* bytes were added to in (or discarded) */
	IO_LOWAT,		/* a write brought the output to lowat or less */
	IO_DISCONNECTED,	/* the peer closed its side (EOF, close_notify) */
	IO_ERROR,		/* socket or TLS failure; io_error() says why */
};

struct io;
typedef void io_cb(struct io *io, enum io_event ev, void *arg);

struct io {
	struct ev_loop	*loop;
	int		 fd;
	io_cb		*cb;
	void		*arg;
	struct buf	 in, out;
	ev_io		 rio, wio;
	ev_io		 tio;		/* TLS: handshake, cross-direction waits */
	struct ssl_st	*ssl;		/* NULL on a plain socket */
	ev_tstamp	 last_recv, last_send;	/* last progress each way */
	/* Bytes and successful reads/writes so far (the admin API's
	 * recv_oct, send_oct, recv_cnt, send_cnt). */
	uint64_t	 recv_oct, sent_oct, recv_cnt, sent_cnt;
	/* The barrier: see above. gen NULL means none. */
	const uint64_t	*gen;
	uint64_t	 out_gen;	/* *gen when out_safe was taken */
	size_t		 out_safe;	/* head bytes of out that may go */
	size_t		 lowat, hiwat;	/* hiwat 0: no read pause */
	size_t		 flushed_from;	/* queued before the last write */
	size_t		 discarded;	/* bytes dropped in discard mode */
	bool		 want_read;	/* the owner wants input */
	bool		 reading;	/* rio active */
	bool		 writing;	/* wio active */
	bool		 closed;
	bool		 discard;	/* read raw and drop (lingering close) */
	bool		 handshaking;	/* SSL_accept not finished */
	bool		 read_wants_write;	/* SSL_read waits for POLLOUT */
	bool		 write_wants_read;	/* SSL_write waits for POLLIN */
	bool		*dead;		/* set by io_close inside a callback */
	char		 error[320];
};

/*
 * Takes a connected non-blocking socket: in holds at most in_max bytes,
 * out at most out_max. Reading starts with io_set_read().
 */
void	io_init(struct io *io, struct ev_loop *loop, int fd, size_t in_max,
	    size_t out_max, io_cb *cb, void *arg);
/* Starts a server TLS session: nothing is read before IO_TLSREADY. */
int	io_start_tls(struct io *io, struct tls *t);
/*
 * Stops the watchers, ends TLS (close_notify if clean) and closes the
 * socket. The buffers stay readable until io_free. Idempotent.
 */
void	io_close(struct io *io, bool clean);
/* io_close, then frees the buffers. */
void	io_free(struct io *io);

void	io_set_barrier(struct io *io, const uint64_t *gen);
void	io_set_watermarks(struct io *io, size_t lowat, size_t hiwat);
/* Whether the owner wants input; io also waits on TLS and the backlog. */
void	io_set_read(struct io *io, bool on);
/* Whether the socket is being read now. */
static inline bool
io_reading(const struct io *io)
{
	return io->reading;
}
static inline bool
io_handshaking(const struct io *io)
{
	return io->handshaking;
}
/* Bytes waiting to be written. */
static inline size_t
io_queued(const struct io *io)
{
	return buf_used(&io->out);
}

/*
 * Output. io_out() returns the output buffer to append to (the barrier
 * is taken first); io_reserve() makes n bytes of room and returns the
 * tail, to be followed by io_commit() with what was written.
 */
struct buf *io_out(struct io *io);
/*
 * Appends all of b to out by taking its memory when out is empty (a big
 * answer is not copied); b is left empty. False when out is full.
 */
bool	io_write_buf(struct io *io, struct buf *b);
uint8_t	*io_reserve(struct io *io, size_t n);
void	 io_commit(struct io *io, size_t n);
bool	 io_write(struct io *io, const void *p, size_t n);
/* Drops queued bytes past len (an answer that did not fit). */
void	 io_truncate(struct io *io, size_t len);
/*
 * Writes what the barrier allows now and arms the write watcher for the
 * rest; also resumes reading when the backlog fell to hiwat. Returns -1
 * on a write failure (io_error() says why; no event is raised).
 */
int	io_flush(struct io *io);
/* Bytes up to the barrier not written yet. */
size_t	io_safe(struct io *io);

/*
 * Lingering close: sends close_notify (TLS) and a FIN, then reads and
 * drops what the peer still sends (IO_DATAIN each time, see discarded)
 * until it closes.
 */
void	io_shutdown(struct io *io);

const char *io_error(const struct io *io);
/*
 * The peer of a socket: its address into ss (AF_UNSPEC when unknown) and
 * "host:port" into name, for logs.
 */
void	io_peer(int fd, struct sockaddr_storage *ss, char *name, size_t len);
/* The socket's local address (AF_UNSPEC if unknown). */
void	io_local(int fd, struct sockaddr_storage *ss);
/* An address's host as text in host ("?" if unknown); returns its port. */
int	io_addr(const struct sockaddr_storage *ss, char *host, size_t hostlen);

#endif /* WARREN_SERVER_IO_H */
