/*
 * Integration-test harness: starts a private warrend per test (or uses
 * an external broker named by WARREN_TEST_URL) and offers rabbitmq-c and
 * raw-socket helpers.  Every test runs in its own process under
 * Criterion, so nothing here is shared between tests.
 */
#ifndef WARREN_TESTS_HARNESS_H
#define WARREN_TESTS_HARNESS_H

#include <amqp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hbroker {
	pid_t	pid;		/* 0 when external */
	char	host[64];
	int	port;
	int	admin_port;	/* HTTP admin API; 0: unknown (external) */
	int	prometheus_port; /* --prometheus-port; 0: unknown (external) */
	char	dir[256];	/* temp data dir ("" when external) */
	bool	external;	/* WARREN_TEST_URL set */
	int	exit_status;	/* of the last warrend reaped (hb_halt, hb_alive) */
};

/*
 * Starts $WARREND (else "./warrend") with --port 0 --admin-port 0
 * --prometheus-port 0 --data-dir <mkdtemp under $TMPDIR or /tmp>
 * [extra...] and waits (<= 10 s) for DIR/warrend.port (admin_port and
 * prometheus_port from DIR/warrend.admin-port and .prometheus-port);
 * or, when WARREN_TEST_URL=amqp://guest:guest@HOST:PORT/
 * is set, uses that broker.  Fails the test on error.  extra is a
 * NULL-terminated list or NULL.  warrend's stderr goes to DIR/stderr.log.
 */
void	hb_start(struct hbroker *b, const char *const *extra);

/*
 * SIGTERM, waitpid (<= 10 s, then SIGKILL), remove the temp dir.
 * Returns the exit status (0..255), 128+signo if killed by a signal,
 * or -1.  No-op returning 0 for an external broker.
 */
int	hb_stop(struct hbroker *b);

/* Like hb_stop but sends signo instead of SIGTERM; signo 0 sends
 * nothing and just waits (<= 10 s) for warrend to exit on its own. */
int	hb_stop_sig(struct hbroker *b, int signo);

/*
 * Restarts and crashes, for durability tests.  None of these remove the
 * data dir; hb_stop / hb_stop_sig still do (and accept a broker that is
 * no longer running).
 *
 * hb_halt sends signo (0: none) and waits (<= 10 s, then SIGKILL) for
 * warrend to exit, keeping DIR; returns the exit status (0..255),
 * 128+signo if killed by a signal, or -1 on a timeout.  hb_kill is
 * hb_halt(b, SIGKILL).
 */
int	hb_halt(struct hbroker *b, int signo);
int	hb_kill(struct hbroker *b);

/*
 * Starts warrend again on b->dir (which must not be running) with extra
 * arguments; removes DIR/warrend.port first and waits for the new one,
 * so b->port is the new listener's.  warrend's stderr is appended to
 * DIR/stderr.log.  Fails the test on error.
 */
void	hb_restart(struct hbroker *b, const char *const *extra);

/*
 * hb_start on an existing directory (e.g. a small tmpfs) instead of a
 * fresh temp dir; hb_stop removes its contents like a temp dir's.
 */
void	hb_start_in(struct hbroker *b, const char *dir,
	    const char *const *extra);

/* Whether warrend is still running (reaps it and records exit_status
 * when not).  Always true for an external broker. */
bool	hb_alive(struct hbroker *b);

/* Skips the current test (cr_skip_test) when the broker is external. */
void	hb_require_warrend(const struct hbroker *b);

/*
 * Opens a connection logged in as guest/guest on vhost "/" (frame_max
 * 131072, heartbeat 0) with channel 1 open; asserts success.
 */
amqp_connection_state_t	hb_connect(const struct hbroker *b);

/*
 * Opens a connection with the given parameters (PLAIN login); does not
 * assert and does not open a channel.  Returns the connection, or NULL
 * when the TCP connect or the login failed.  *login_reply (may be NULL)
 * receives the login's reply: on a server refusal it is an
 * AMQP_RESPONSE_SERVER_EXCEPTION whose decoded connection.close stays
 * valid (the harness keeps the dead state alive until the next failure),
 * so hb_expect_close(NULL, reply, true, 530) works; the harness has
 * already sent connection.close-ok.  A socket-level failure (server just
 * hung up) gives AMQP_RESPONSE_LIBRARY_EXCEPTION.
 */
amqp_connection_state_t	hb_connect_opts(const struct hbroker *b,
	    const char *vhost, const char *user, const char *pass,
	    int frame_max, int heartbeat, amqp_rpc_reply_t *login_reply);

/* connection.close + destroy; tolerant of an already-closed connection. */
void	hb_close(amqp_connection_state_t c);

/*
 * Asserts that r (e.g. from amqp_get_rpc_reply) is a channel.close
 * (is_conn == false) or connection.close (is_conn == true) with the
 * given reply code.  Sends the matching close-ok (channel.close-ok on
 * channel 1; none when c is NULL).  Returns the reply text in a static
 * buffer (valid until the next call).
 */
const char	*hb_expect_close(amqp_connection_state_t c,
	    amqp_rpc_reply_t r, bool is_conn, int code);

/* As hb_expect_close, but a channel.close-ok goes to channel ch. */
const char	*hb_expect_close_on(amqp_connection_state_t c,
	    amqp_rpc_reply_t r, bool is_conn, int code, amqp_channel_t ch);

/*
 * A unique name: prefix + pid + counter + random.  Returns one of 16
 * static rotating buffers, so up to 16 names may be alive at once;
 * strdup it if you need more.
 */
const char	*hb_name(const char *prefix);

/* Raw TCP: a connected plain socket to the broker; asserts success. */
int	hb_raw_connect(const struct hbroker *b);

/* Writes all of buf; asserts success (EPIPE/ECONNRESET are tolerated
 * and reported as -1 so tests can send into a closing socket). */
int	hb_raw_send(int fd, const void *buf, size_t n);

/*
 * Reads up to n bytes, waiting at most timeout_ms for the first byte
 * and then gathering whatever arrives until n bytes or a 200 ms lull.
 * Returns bytes read, 0 on EOF (or connection reset), -1 on timeout.
 */
int	hb_raw_read(int fd, void *buf, size_t n, int timeout_ms);

/*
 * One parsed frame from a raw socket.  payload is malloc'd (free it with
 * hb_raw_frame_free); for method frames class_id/method_id are filled.
 */
struct hframe {
	uint8_t		 type;
	uint16_t	 channel;
	uint32_t	 size;
	uint8_t		*payload;
	uint16_t	 class_id;
	uint16_t	 method_id;
};

/* Reads one complete frame (<= timeout_ms).  Returns 1, 0 on EOF, -1 on
 * timeout or a malformed frame end. */
int	hb_raw_read_frame(int fd, struct hframe *f, int timeout_ms);
void	hb_raw_frame_free(struct hframe *f);

/*
 * Builds and sends one frame: type, channel, payload, frame-end 0xCE.
 * hb_raw_send_method prefixes class/method ids to args.
 */
int	hb_raw_send_frame(int fd, uint8_t type, uint16_t channel,
	    const void *payload, size_t n);
int	hb_raw_send_method(int fd, uint16_t channel, uint16_t class_id,
	    uint16_t method_id, const void *args, size_t n);

/*
 * Drives a raw socket through the handshake (protocol header, start-ok
 * PLAIN guest/guest, tune-ok with the given frame_max, channel_max 0,
 * heartbeat 0, open "/").  Returns the fd.  Asserts success.
 */
int	hb_raw_handshake(const struct hbroker *b, uint32_t frame_max);

/* Like hb_raw_handshake with a heartbeat value in tune-ok. */
int	hb_raw_handshake_hb(const struct hbroker *b, uint32_t frame_max,
	    uint16_t heartbeat);

/* hb_raw_handshake then channel.open on channel ch (waits for open-ok). */
int	hb_raw_handshake_channel(const struct hbroker *b, uint32_t frame_max,
	    uint16_t ch);

/*
 * Reads frames until a connection.close or channel.close arrives
 * (<= timeout_ms); returns its reply code, or -1 on EOF/timeout.
 * *is_conn (may be NULL) tells which.  The reply text is available via
 * hb_raw_last_text() until the next call.  Sends no close-ok.
 */
int	hb_raw_expect_close(int fd, int timeout_ms, bool *is_conn);
const char	*hb_raw_last_text(void);

/*
 * Waits until the peer closes the socket (read returns 0 or an error),
 * discarding data; returns 0 on EOF, -1 on timeout.
 */
int	hb_raw_wait_eof(int fd, int timeout_ms);

/*
 * Raw pre-handshake steps, for tests of the handshake itself.
 * hb_raw_open_start connects, sends the 0-9-1 header and consumes
 * connection.start, returning the fd.  hb_raw_send_start_ok sends a
 * start-ok with the given mechanism and response; client-properties
 * carry capabilities.authentication_failure_close=true when afc is set,
 * else are empty.  hb_raw_read_tune waits for connection.tune and fills
 * the server's proposals; returns 1, or 0/-1 like hb_raw_read_frame (or
 * -1 on another frame).
 */
int	hb_raw_open_start(const struct hbroker *b);
void	hb_raw_send_start_ok(int fd, const char *mech, const void *resp,
	    size_t n, bool afc);
int	hb_raw_read_tune(int fd, uint16_t *channel_max, uint32_t *frame_max,
	    uint16_t *heartbeat);

/*
 * Reads frames until EOF (<= timeout_ms).  Returns how many method
 * frames arrived first (0 means the server hung up silently, as RabbitMQ
 * does for handshake errors), or -1 on timeout.  Heartbeats don't count.
 */
int	hb_raw_count_until_eof(int fd, int timeout_ms);

/*
 * Runs argv[0] with argv (no shell), capturing stdout and stderr into
 * NUL-terminated buffers (either may be NULL); waits <= 10 s.  Returns
 * the exit status, 128+signo on a signal, or -1.
 */
int	hb_run(const char *const *argv, char *out, size_t outlen, char *err,
	    size_t errlen);

/* The warrend binary the harness runs: $WARREND or "./warrend". */
const char	*hb_warrend_path(void);

/* Tiny big-endian encoders for building method arguments by hand.  Each
 * appends to b->data at b->len and advances it; overflow fails the test.
 * Start with `struct hbuf *b = calloc(1, sizeof(*b))` or a static. */
struct hbuf {
	uint8_t	data[65536];
	size_t	len;
};
void	hb_put_u8(struct hbuf *, uint8_t);
void	hb_put_u16(struct hbuf *, uint16_t);
void	hb_put_u32(struct hbuf *, uint32_t);
void	hb_put_u64(struct hbuf *, uint64_t);
void	hb_put_shortstr(struct hbuf *, const char *);
void	hb_put_longstr(struct hbuf *, const void *, uint32_t);
void	hb_put_bytes(struct hbuf *, const void *, size_t);

/*
 * A growing text buffer: p is NULL (empty) or malloc'd with cap bytes
 * holding a NUL-terminated text of len. The tests leak it (one process
 * per test).
 */
struct hsbuf {
	char	*p;
	size_t	 len, cap;
};
/* Appends formatted text, growing p as needed. */
void	hb_sbprintf(struct hsbuf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * A raw HTTP/1.1 client for the admin API. warrend is started with
 * --admin-port 0 and admin_port read from DIR/warrend.admin-port; with
 * WARREN_TEST_URL, WARREN_TEST_ADMIN_PORT names the other broker's
 * management port (tests needing it are skipped without it).
 */
struct hhttp {
	int	 status;
	char	 head[16384];	/* status line and headers, NUL-terminated */
	char	*body;		/* malloc'd, NUL-terminated */
	size_t	 body_len;
};

/* A plain socket to the admin API port; asserts success. */
int	hb_http_connect(const struct hbroker *b);
/*
 * Reads one response (<= timeout_ms), its body by Content-Length (none
 * for a HEAD request); never reads past it, so pipelined answers stay in
 * the socket. Returns 1, 0 on EOF before any byte, -1 on a timeout or a
 * malformed answer. Free with hb_http_free.
 */
int	hb_http_read(int fd, struct hhttp *r, bool head_request,
	    int timeout_ms);
/* A header's value (case-insensitive) in a static buffer, or NULL. */
const char	*hb_http_header(const struct hhttp *r, const char *name);
void	hb_http_free(struct hhttp *r);
/*
 * Formats a request with Host, Content-Length and, when userpass
 * ("user:pass") is not NULL, Basic credentials; body may be NULL.
 * Returns its length.
 */
size_t	hb_http_format(char *buf, size_t len, const char *method,
	    const char *path, const char *userpass, const char *body);
/* One request on a fresh connection; returns the status, fills *r. */
int	hb_http(const struct hbroker *b, const char *method, const char *path,
	    const char *userpass, const char *body, struct hhttp *r);
/*
 * hb_http asserting the status is want; returns the body (a static copy,
 * valid until the next call).
 */
const char	*hb_http_call(const struct hbroker *b, const char *userpass,
		    const char *method, const char *path, const char *body,
		    int want);
/* hb_http_call for big bodies: returns a malloc'd copy (caller frees). */
char	*hb_http_call_dup(const struct hbroker *b, const char *userpass,
	    const char *method, const char *path, const char *body, int want);

/*
 * Whether the file at path has a line containing text, read again every
 * 20 ms for up to ms (a log warrend writes meanwhile).
 */
bool	hb_file_has(const char *path, const char *text, int ms);

/* Resident set size of a process in KiB from /proc/PID/status, or -1. */
long	hb_rss_kib(pid_t pid);

#endif /* WARREN_TESTS_HARNESS_H */
