/*
 * Integration-test harness; see harness.h.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <criterion/criterion.h>

#include "tests/common.h"
#include "tests/integration/harness.h"

#define HB_START_TIMEOUT_MS	10000
#define HB_STOP_TIMEOUT_MS	10000

/*
 * The broker this process started, so an aborted test (a failed assert
 * longjmps past hb_stop) still kills warrend and removes its directory.
 */
static struct hbroker	*hb_current;
/*
 * A copy of *hb_current for the exit-time cleanup: the caller's struct may
 * live in a stack frame that a failed assertion has already left.
 */
static struct hbroker	 hb_shadow;

static void
track(const struct hbroker *b)
{
	if (b == hb_current)
		hb_shadow = *b;
}
static bool		 hb_atexit_done;

/* A failed login's state, kept so the decoded close in the caller's
 * reply stays readable. */
static amqp_connection_state_t	hb_dead_conn;

static char	hb_close_text[1024];
static char	hb_raw_text[1024];

static void
hb_cleanup_atexit(void)
{
	struct hbroker	*b = &hb_shadow;
	int		 st;

	if (hb_current == NULL || b->external)
		return;
	if (b->pid > 0) {
		kill(b->pid, SIGKILL);
		waitpid(b->pid, &st, 0);
		b->pid = 0;
	}
	tc_rm_tree(b->dir);
	b->dir[0] = '\0';
	hb_current = NULL;
}

/* Parses amqp://user:pass@host:port/ into b; user/pass are always guest. */
static void
use_external(struct hbroker *b, const char *url)
{
	struct amqp_connection_info	 ci;
	char				*copy;
	const char			*port;

	if ((copy = strdup(url)) == NULL)
		cr_assert_fail("strdup");
	amqp_default_connection_info(&ci);
	if (amqp_parse_url(copy, &ci) != AMQP_STATUS_OK)
		cr_assert_fail("cannot parse WARREN_TEST_URL '%s'", url);
	snprintf(b->host, sizeof(b->host), "%s", ci.host);
	b->port = ci.port;
	b->external = true;
	/* The management API of the other broker, e.g. RabbitMQ's 15672. */
	if ((port = getenv("WARREN_TEST_ADMIN_PORT")) != NULL)
		b->admin_port = (int)strtol(port, NULL, 10);
	free(copy);
}

static int
read_port_file(const char *path)
{
	FILE	*f;
	int	 port = -1;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(f, "%d", &port) != 1)
		port = -1;
	fclose(f);
	return port;
}

const char *
hb_warrend_path(void)
{
	const char	*w;

	if ((w = getenv("WARREND")) == NULL || w[0] == '\0')
		w = "./warrend";
	return w;
}

/*
 * Starts warrend on b->dir (already set, as are b->host) and waits for
 * DIR/warrend.port.  A restart appends to DIR/stderr.log rather than
 * truncating it, so the log of the run before a crash survives.
 */
static void
spawn(struct hbroker *b, const char *const *extra, bool append_log)
{
	const char	*warrend;
	char		 portfile[300], logfile[300], adminfile[300];
	char		 promfile[300];
	const char	*argv[64];
	int		 argc = 0, st, port;
	long		 deadline;
	pid_t		 pid;

	warrend = hb_warrend_path();
	snprintf(portfile, sizeof(portfile), "%s/warrend.port", b->dir);
	snprintf(logfile, sizeof(logfile), "%s/stderr.log", b->dir);
	snprintf(adminfile, sizeof(adminfile), "%s/warrend.admin-port",
	    b->dir);
	snprintf(promfile, sizeof(promfile), "%s/warrend.prometheus-port",
	    b->dir);

	argv[argc++] = warrend;
	argv[argc++] = "--port";
	argv[argc++] = "0";
	argv[argc++] = "--data-dir";
	argv[argc++] = b->dir;
	argv[argc++] = "--bind";
	argv[argc++] = "127.0.0.1";
	/* Parallel tests never meet on 15672; extra may set another. */
	argv[argc++] = "--admin-port";
	argv[argc++] = "0";
	/* Nor on 15692. */
	argv[argc++] = "--prometheus-port";
	argv[argc++] = "0";
	for (; extra != NULL && *extra != NULL && argc < 62; extra++)
		argv[argc++] = *extra;
	argv[argc] = NULL;

	hb_current = b;
	if (!hb_atexit_done) {
		atexit(hb_cleanup_atexit);
		hb_atexit_done = true;
	}

	if ((pid = fork()) == -1)
		cr_assert_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		int	fd;

		/* Criterion may kill the test process; take warrend along. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = open(logfile, O_WRONLY | O_CREAT |
		    (append_log ? O_APPEND : O_TRUNC), 0644)) != -1) {
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		signal(SIGPIPE, SIG_DFL);
		execv(warrend, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", warrend, strerror(errno));
		_exit(127);
	}
	b->pid = pid;
	track(b);

	deadline = tc_now_ms() + HB_START_TIMEOUT_MS;
	for (;;) {
		if ((port = read_port_file(portfile)) > 0) {
			b->port = port;
			/* Written before warrend.port. */
			b->admin_port = read_port_file(adminfile);
			b->prometheus_port = read_port_file(promfile);
			return;
		}
		if (waitpid(pid, &st, WNOHANG) == pid) {
			b->pid = 0;
			cr_assert_fail("warrend (%s) exited before listening "
			    "(status %d); see %s", warrend,
			    WIFEXITED(st) ? WEXITSTATUS(st) : -1, logfile);
		}
		if (tc_now_ms() > deadline)
			cr_assert_fail("warrend did not write %s within %d ms",
			    portfile, HB_START_TIMEOUT_MS);
		tc_sleep_ms(10);
	}
}

void
hb_start(struct hbroker *b, const char *const *extra)
{
	const char	*url, *tmp;

	memset(b, 0, sizeof(*b));
	/* A test that writes into a socket the broker already closed must
	 * see EPIPE, not die. */
	signal(SIGPIPE, SIG_IGN);

	if ((url = getenv("WARREN_TEST_URL")) != NULL && url[0] != '\0') {
		use_external(b, url);
		return;
	}

	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(b->dir, sizeof(b->dir), "%s/warren-test.XXXXXX", tmp);
	if (mkdtemp(b->dir) == NULL)
		cr_assert_fail("mkdtemp %s: %s", b->dir, strerror(errno));
	snprintf(b->host, sizeof(b->host), "127.0.0.1");
	spawn(b, extra, false);
}

void
hb_start_in(struct hbroker *b, const char *dir, const char *const *extra)
{
	memset(b, 0, sizeof(*b));
	signal(SIGPIPE, SIG_IGN);
	if ((size_t)snprintf(b->dir, sizeof(b->dir), "%s", dir) >=
	    sizeof(b->dir))
		cr_assert_fail("data dir name too long: %s", dir);
	snprintf(b->host, sizeof(b->host), "127.0.0.1");
	spawn(b, extra, true);
}

void
hb_restart(struct hbroker *b, const char *const *extra)
{
	char	portfile[300];

	if (b->external)
		cr_assert_fail("hb_restart: external broker");
	if (b->pid > 0)
		cr_assert_fail("hb_restart: warrend %d is still running",
		    (int)b->pid);
	if (b->dir[0] == '\0')
		cr_assert_fail("hb_restart: no data dir (already stopped?)");
	/* warrend rewrites the file once listening: wait for the new one. */
	snprintf(portfile, sizeof(portfile), "%s/warrend.port", b->dir);
	if (unlink(portfile) == -1 && errno != ENOENT)
		cr_assert_fail("unlink %s: %s", portfile, strerror(errno));
	b->port = 0;
	spawn(b, extra, true);
}

bool
hb_alive(struct hbroker *b)
{
	int	st;

	if (b->external)
		return true;
	if (b->pid <= 0)
		return false;
	if (waitpid(b->pid, &st, WNOHANG) == b->pid) {
		b->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) :
		    WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
		b->pid = 0;
		return false;
	}
	return true;
}

/* Copies warrend's stderr to ours, so a failed stop shows why. */
static void
dump_stderr_log(const struct hbroker *b)
{
	char	path[512], line[1024];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/stderr.log", b->dir);
	if ((f = fopen(path, "r")) == NULL)
		return;
	fprintf(stderr, "---- %s\n", path);
	while (fgets(line, sizeof(line), f) != NULL)
		fputs(line, stderr);
	fclose(f);
}

int
hb_halt(struct hbroker *b, int signo)
{
	long	deadline;
	int	st, rv = -1;

	if (b->external)
		return 0;
	if (b->pid <= 0)
		return b->exit_status;	/* already reaped (hb_alive) */
	if (signo != 0)
		kill(b->pid, signo);
	deadline = tc_now_ms() + HB_STOP_TIMEOUT_MS;
	for (;;) {
		pid_t	w = waitpid(b->pid, &st, WNOHANG);

		if (w == b->pid) {
			if (WIFEXITED(st))
				rv = WEXITSTATUS(st);
			else if (WIFSIGNALED(st))
				rv = 128 + WTERMSIG(st);
			break;
		}
		if (w == -1 && errno != EINTR)
			break;
		if (tc_now_ms() > deadline) {
			kill(b->pid, SIGKILL);
			waitpid(b->pid, &st, 0);
			rv = -1;
			break;
		}
		tc_sleep_ms(10);
	}
	b->pid = 0;
	b->exit_status = rv;
	track(b);
	return rv;
}

int
hb_kill(struct hbroker *b)
{
	return hb_halt(b, SIGKILL);
}

int
hb_stop_sig(struct hbroker *b, int signo)
{
	int	rv = 0;

	if (b->external)
		return 0;
	if (b->pid > 0) {
		rv = hb_halt(b, signo);
		if (rv != 0)
			dump_stderr_log(b);
	}
	tc_rm_tree(b->dir);
	b->dir[0] = '\0';
	track(b);
	if (hb_current == b)
		hb_current = NULL;
	return rv;
}

int
hb_stop(struct hbroker *b)
{
	int rv = hb_stop_sig(b, SIGTERM);

	/*
	 * A clean SIGTERM exit is part of every test: it is where a broker
	 * built with AddressSanitizer reports leaks and errors.
	 */
	cr_assert_eq(rv, 0, "warrend exited with status %d on SIGTERM", rv);
	return rv;
}

/* Leak checks are for warrend; test programs keep their fixtures. */
const char	*__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}

void
hb_require_warrend(const struct hbroker *b)
{
	if (b->external)
		cr_skip_test("tests warrend itself; external broker in use");
}

amqp_connection_state_t
hb_connect_opts(const struct hbroker *b, const char *vhost, const char *user,
    const char *pass, int frame_max, int heartbeat,
    amqp_rpc_reply_t *login_reply)
{
	amqp_connection_state_t	 c;
	amqp_socket_t		*s;
	amqp_rpc_reply_t	 r;
	int			 rc;

	memset(&r, 0, sizeof(r));
	if ((c = amqp_new_connection()) == NULL)
		cr_assert_fail("amqp_new_connection");
	if ((s = amqp_tcp_socket_new(c)) == NULL)
		cr_assert_fail("amqp_tcp_socket_new");
	if ((rc = amqp_socket_open(s, b->host, b->port)) != AMQP_STATUS_OK) {
		r.reply_type = AMQP_RESPONSE_LIBRARY_EXCEPTION;
		r.library_error = rc;
		amqp_destroy_connection(c);
		if (login_reply != NULL)
			*login_reply = r;
		return NULL;
	}
	r = amqp_login(c, vhost, 0, frame_max, heartbeat,
	    AMQP_SASL_METHOD_PLAIN, user, pass);
	if (login_reply != NULL)
		*login_reply = r;
	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return c;

	if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
	    r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
		amqp_connection_close_ok_t	ok;

		memset(&ok, 0, sizeof(ok));
		amqp_send_method(c, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
	}
	if (hb_dead_conn != NULL)
		amqp_destroy_connection(hb_dead_conn);
	hb_dead_conn = c;
	return NULL;
}

amqp_connection_state_t
hb_connect(const struct hbroker *b)
{
	amqp_connection_state_t	c;
	amqp_rpc_reply_t	r;

	c = hb_connect_opts(b, "/", "guest", "guest", 131072, 0, &r);
	if (c == NULL)
		cr_assert_fail("cannot log in to %s:%d (reply type %d, "
		    "library error %d)", b->host, b->port, (int)r.reply_type,
		    r.library_error);
	amqp_channel_open(c, 1);
	r = amqp_get_rpc_reply(c);
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		cr_assert_fail("channel.open 1 failed (reply type %d)",
		    (int)r.reply_type);
	return c;
}

void
hb_close(amqp_connection_state_t c)
{
	if (c == NULL)
		return;
	/* Errors are expected when the broker already closed us. */
	(void)amqp_connection_close(c, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(c);
}

static void
copy_bytes(char *dst, size_t dstlen, amqp_bytes_t src)
{
	size_t	n = src.len < dstlen - 1 ? src.len : dstlen - 1;

	if (n > 0)
		memcpy(dst, src.bytes, n);
	dst[n] = '\0';
}

const char *
hb_expect_close_on(amqp_connection_state_t c, amqp_rpc_reply_t r,
    bool is_conn, int code, amqp_channel_t ch)
{
	int	got;

	hb_close_text[0] = '\0';
	if (r.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION)
		cr_assert_fail("expected a %s.close %d, got reply type %d "
		    "(library error %d: %s)", is_conn ? "connection" :
		    "channel", code, (int)r.reply_type, r.library_error,
		    amqp_error_string2(r.library_error));
	if (is_conn) {
		amqp_connection_close_t		*m;
		amqp_connection_close_ok_t	 ok;

		if (r.reply.id != AMQP_CONNECTION_CLOSE_METHOD)
			cr_assert_fail("expected connection.close %d, "
			    "got method 0x%08x", code, (unsigned)r.reply.id);
		m = r.reply.decoded;
		got = m->reply_code;
		copy_bytes(hb_close_text, sizeof(hb_close_text),
		    m->reply_text);
		if (c != NULL) {
			memset(&ok, 0, sizeof(ok));
			amqp_send_method(c, 0,
			    AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
		}
	} else {
		amqp_channel_close_t	*m;
		amqp_channel_close_ok_t	 ok;

		if (r.reply.id != AMQP_CHANNEL_CLOSE_METHOD)
			cr_assert_fail("expected channel.close %d, got method "
			    "0x%08x", code, (unsigned)r.reply.id);
		m = r.reply.decoded;
		got = m->reply_code;
		copy_bytes(hb_close_text, sizeof(hb_close_text),
		    m->reply_text);
		if (c != NULL) {
			memset(&ok, 0, sizeof(ok));
			amqp_send_method(c, ch, AMQP_CHANNEL_CLOSE_OK_METHOD,
			    &ok);
		}
	}
	if (got != code)
		cr_assert_fail("expected %s.close %d, got %d '%s'",
		    is_conn ? "connection" : "channel", code, got,
		    hb_close_text);
	return hb_close_text;
}

const char *
hb_expect_close(amqp_connection_state_t c, amqp_rpc_reply_t r, bool is_conn,
    int code)
{
	return hb_expect_close_on(c, r, is_conn, code, 1);
}

const char *
hb_name(const char *prefix)
{
	static char		 bufs[16][128];
	static unsigned int	 next, counter;
	static bool		 seeded;
	char			*p;

	if (!seeded) {
		struct timespec	ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		srandom((unsigned)(ts.tv_nsec ^ ts.tv_sec ^ (getpid() << 16)));
		seeded = true;
	}
	p = bufs[next++ % 16];
	snprintf(p, sizeof(bufs[0]), "%s-%d-%u-%08lx", prefix, (int)getpid(),
	    counter++, (unsigned long)random());
	return p;
}

/* ---- raw sockets ------------------------------------------------------ */

/* A connected TCP socket to host:port; asserts success. */
static int
tcp_connect(const char *host, int port)
{
	struct addrinfo	 hints, *res, *ai;
	char		 portstr[16];
	int		 fd = -1, one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0)
		cr_assert_fail("getaddrinfo %s: %s", host, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype,
		    ai->ai_protocol)) == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		cr_assert_fail("connect %s:%d: %s", host, port,
		    strerror(errno));
	/* Hand-made frames go out one write at a time; don't batch them. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int
hb_raw_connect(const struct hbroker *b)
{
	return tcp_connect(b->host, b->port);
}

int
hb_raw_send(int fd, const void *buf, size_t n)
{
	const uint8_t	*p = buf;
	ssize_t		 w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return -1;
			cr_assert_fail("send: %s", strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Waits for readability until deadline; 1 ready, 0 timeout. */
static int
wait_readable(int fd, long deadline)
{
	struct pollfd	pfd;
	long		left;
	int		rc;

	for (;;) {
		left = deadline - tc_now_ms();
		if (left < 0)
			left = 0;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		rc = poll(&pfd, 1, (int)left);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			cr_assert_fail("poll: %s", strerror(errno));
		return rc > 0;
	}
}

/* Reads exactly n bytes by deadline: 1 done, 0 EOF, -1 timeout. */
static int
read_exact(int fd, void *buf, size_t n, long deadline)
{
	uint8_t	*p = buf;
	ssize_t	 r;

	while (n > 0) {
		if (!wait_readable(fd, deadline))
			return -1;
		r = recv(fd, p, n, 0);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		p += r;
		n -= (size_t)r;
	}
	return 1;
}

int
hb_raw_read(int fd, void *buf, size_t n, int timeout_ms)
{
	uint8_t	*p = buf;
	size_t	 got = 0;
	ssize_t	 r;
	long	 deadline = tc_now_ms() + timeout_ms;

	while (got < n) {
		if (!wait_readable(fd, deadline))
			return got > 0 ? (int)got : -1;
		r = recv(fd, p + got, n - got, 0);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return (int)got;
		got += (size_t)r;
		/* After the first bytes, only wait briefly for the rest. */
		deadline = tc_now_ms() + 200;
	}
	return (int)got;
}

int
hb_raw_wait_eof(int fd, int timeout_ms)
{
	uint8_t	buf[4096];
	long	deadline = tc_now_ms() + timeout_ms;
	ssize_t	r;

	for (;;) {
		if (!wait_readable(fd, deadline))
			return -1;
		r = recv(fd, buf, sizeof(buf), 0);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
	}
}

static uint16_t
get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

int
hb_raw_read_frame(int fd, struct hframe *f, int timeout_ms)
{
	uint8_t	hdr[7], end;
	long	deadline = tc_now_ms() + timeout_ms;
	int	rc;

	memset(f, 0, sizeof(*f));
	if ((rc = read_exact(fd, hdr, sizeof(hdr), deadline)) != 1)
		return rc;
	f->type = hdr[0];
	f->channel = get_u16(hdr + 1);
	f->size = get_u32(hdr + 3);
	/* Anything this large from a broker means we lost framing. */
	if (f->size > (64u << 20))
		return -1;
	if ((f->payload = malloc(f->size + 1)) == NULL)
		cr_assert_fail("malloc");
	if ((rc = read_exact(fd, f->payload, f->size, deadline)) != 1 ||
	    (rc = read_exact(fd, &end, 1, deadline)) != 1) {
		hb_raw_frame_free(f);
		return rc;
	}
	if (end != AMQP_FRAME_END) {
		hb_raw_frame_free(f);
		return -1;
	}
	if (f->type == AMQP_FRAME_METHOD && f->size >= 4) {
		f->class_id = get_u16(f->payload);
		f->method_id = get_u16(f->payload + 2);
	}
	return 1;
}

void
hb_raw_frame_free(struct hframe *f)
{
	free(f->payload);
	f->payload = NULL;
}

int
hb_raw_send_frame(int fd, uint8_t type, uint16_t channel, const void *payload,
    size_t n)
{
	uint8_t	*buf;
	int	 rc;

	if ((buf = malloc(n + 8)) == NULL)
		cr_assert_fail("malloc");
	buf[0] = type;
	buf[1] = (uint8_t)(channel >> 8);
	buf[2] = (uint8_t)channel;
	buf[3] = (uint8_t)(n >> 24);
	buf[4] = (uint8_t)(n >> 16);
	buf[5] = (uint8_t)(n >> 8);
	buf[6] = (uint8_t)n;
	if (n > 0)
		memcpy(buf + 7, payload, n);
	buf[7 + n] = AMQP_FRAME_END;
	rc = hb_raw_send(fd, buf, n + 8);
	free(buf);
	return rc;
}

int
hb_raw_send_method(int fd, uint16_t channel, uint16_t class_id,
    uint16_t method_id, const void *args, size_t n)
{
	uint8_t	*buf;
	int	 rc;

	if ((buf = malloc(n + 4)) == NULL)
		cr_assert_fail("malloc");
	buf[0] = (uint8_t)(class_id >> 8);
	buf[1] = (uint8_t)class_id;
	buf[2] = (uint8_t)(method_id >> 8);
	buf[3] = (uint8_t)method_id;
	if (n > 0)
		memcpy(buf + 4, args, n);
	rc = hb_raw_send_frame(fd, AMQP_FRAME_METHOD, channel, buf, n + 4);
	free(buf);
	return rc;
}

/* ---- encoders ------------------------------------------------------------ */

static void
need(struct hbuf *b, size_t n)
{
	if (b->len + n > sizeof(b->data))
		cr_assert_fail("hbuf overflow");
}

void
hb_put_u8(struct hbuf *b, uint8_t v)
{
	need(b, 1);
	b->data[b->len++] = v;
}

void
hb_put_u16(struct hbuf *b, uint16_t v)
{
	need(b, 2);
	b->data[b->len++] = (uint8_t)(v >> 8);
	b->data[b->len++] = (uint8_t)v;
}

void
hb_put_u32(struct hbuf *b, uint32_t v)
{
	hb_put_u16(b, (uint16_t)(v >> 16));
	hb_put_u16(b, (uint16_t)v);
}

void
hb_put_u64(struct hbuf *b, uint64_t v)
{
	hb_put_u32(b, (uint32_t)(v >> 32));
	hb_put_u32(b, (uint32_t)v);
}

void
hb_put_bytes(struct hbuf *b, const void *p, size_t n)
{
	need(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void
hb_sbprintf(struct hsbuf *s, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(s->p == NULL ? NULL : s->p + s->len,
		    s->p == NULL ? 0 : s->cap - s->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			cr_assert_fail("vsnprintf");
		if (s->p != NULL && s->len + (size_t)n < s->cap)
			break;
		s->cap = (s->cap + (size_t)n + 1) * 2;
		if ((s->p = realloc(s->p, s->cap)) == NULL)
			cr_assert_fail("out of memory");
	}
	s->len += (size_t)n;
}

void
hb_put_shortstr(struct hbuf *b, const char *s)
{
	size_t	n = strlen(s);

	if (n > 255)
		cr_assert_fail("shortstr too long");
	hb_put_u8(b, (uint8_t)n);
	hb_put_bytes(b, s, n);
}

void
hb_put_longstr(struct hbuf *b, const void *p, uint32_t n)
{
	hb_put_u32(b, n);
	hb_put_bytes(b, p, n);
}

/* ---- raw handshake ------------------------------------------------------- */

/* Reads frames until a method class.method arrives on channel ch,
 * skipping heartbeats.  Fails the test on anything else. */
static void
expect_method(int fd, uint16_t ch, uint16_t cls, uint16_t mth,
    struct hframe *out)
{
	struct hframe	f;
	int		rc;

	for (;;) {
		if ((rc = hb_raw_read_frame(fd, &f, 5000)) != 1)
			cr_assert_fail("raw handshake: waiting for %u.%u "
			    "got %s", cls, mth, rc == 0 ? "EOF" : "timeout");
		if (f.type == AMQP_FRAME_HEARTBEAT) {
			hb_raw_frame_free(&f);
			continue;
		}
		if (f.type != AMQP_FRAME_METHOD || f.channel != ch ||
		    f.class_id != cls || f.method_id != mth)
			cr_assert_fail("raw handshake: wanted %u.%u on %u, got "
			    "type %u %u.%u on %u", cls, mth, ch, f.type,
			    f.class_id, f.method_id, f.channel);
		break;
	}
	if (out != NULL)
		*out = f;
	else
		hb_raw_frame_free(&f);
}

int
hb_raw_open_start(const struct hbroker *b)
{
	static const uint8_t	hdr[8] = { 'A', 'M', 'Q', 'P', 0, 0, 9, 1 };
	int			fd;

	fd = hb_raw_connect(b);
	hb_raw_send(fd, hdr, sizeof(hdr));
	expect_method(fd, 0, 10, 10, NULL);
	return fd;
}

void
hb_raw_send_start_ok(int fd, const char *mech, const void *resp, size_t n,
    bool afc)
{
	struct hbuf	*a, *caps;

	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (caps = calloc(1, sizeof(*caps))) == NULL)
		cr_assert_fail("calloc");
	if (afc) {
		hb_put_shortstr(caps, "authentication_failure_close");
		hb_put_u8(caps, 't');
		hb_put_u8(caps, 1);
		hb_put_u32(a, (uint32_t)(caps->len + 1 + 12 + 1 + 4));
		hb_put_shortstr(a, "capabilities");
		hb_put_u8(a, 'F');
		hb_put_longstr(a, caps->data, (uint32_t)caps->len);
	} else
		hb_put_u32(a, 0);
	hb_put_shortstr(a, mech);
	hb_put_longstr(a, resp, (uint32_t)n);
	hb_put_shortstr(a, "en_US");
	hb_raw_send_method(fd, 0, 10, 11, a->data, a->len);
	free(caps);
	free(a);
}

int
hb_raw_read_tune(int fd, uint16_t *channel_max, uint32_t *frame_max,
    uint16_t *heartbeat)
{
	struct hframe	f;
	int		rc;

	if ((rc = hb_raw_read_frame(fd, &f, 10000)) != 1)
		return rc;
	if (f.type != AMQP_FRAME_METHOD || f.class_id != 10 ||
	    f.method_id != 30 || f.size < 12) {
		hb_raw_frame_free(&f);
		return -1;
	}
	if (channel_max != NULL)
		*channel_max = get_u16(f.payload + 4);
	if (frame_max != NULL)
		*frame_max = get_u32(f.payload + 6);
	if (heartbeat != NULL)
		*heartbeat = get_u16(f.payload + 10);
	hb_raw_frame_free(&f);
	return 1;
}

int
hb_raw_count_until_eof(int fd, int timeout_ms)
{
	struct hframe	f;
	long		deadline = tc_now_ms() + timeout_ms;
	int		n = 0, rc;

	for (;;) {
		long	left = deadline - tc_now_ms();

		if (left < 0)
			return -1;
		rc = hb_raw_read_frame(fd, &f, (int)left);
		if (rc == 0)
			return n;
		if (rc == -1) {
			/* A timeout, or garbage; tell them apart by time. */
			if (tc_now_ms() >= deadline)
				return -1;
			return n;
		}
		if (f.type == AMQP_FRAME_METHOD)
			n++;
		hb_raw_frame_free(&f);
	}
}

int
hb_raw_handshake_hb(const struct hbroker *b, uint32_t frame_max,
    uint16_t heartbeat)
{
	static const char	 resp[] = "\0guest\0guest";
	struct hbuf		*a;
	uint16_t		 chmax;
	int			 fd;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		cr_assert_fail("calloc");
	fd = hb_raw_open_start(b);
	hb_raw_send_start_ok(fd, "PLAIN", resp, sizeof(resp) - 1, true);
	if (hb_raw_read_tune(fd, &chmax, NULL, NULL) != 1)
		cr_assert_fail("raw handshake: no connection.tune");

	/*
	 * Echo the server's channel_max: RabbitMQ refuses 0 ("no limit")
	 * when it has a limit of its own.
	 */
	hb_put_u16(a, chmax);
	hb_put_u32(a, frame_max);
	hb_put_u16(a, heartbeat);
	hb_raw_send_method(fd, 0, 10, 31, a->data, a->len);

	a->len = 0;
	hb_put_shortstr(a, "/");
	hb_put_shortstr(a, "");
	hb_put_u8(a, 0);
	hb_raw_send_method(fd, 0, 10, 40, a->data, a->len);
	expect_method(fd, 0, 10, 41, NULL);
	free(a);
	return fd;
}

int
hb_raw_handshake(const struct hbroker *b, uint32_t frame_max)
{
	return hb_raw_handshake_hb(b, frame_max, 0);
}

int
hb_raw_handshake_channel(const struct hbroker *b, uint32_t frame_max,
    uint16_t ch)
{
	/* channel.open's reserved out-of-band shortstr, empty. */
	static const uint8_t	reserved[1] = { 0 };
	int			fd;

	fd = hb_raw_handshake(b, frame_max);
	hb_raw_send_method(fd, ch, 20, 10, reserved, sizeof(reserved));
	expect_method(fd, ch, 20, 11, NULL);
	return fd;
}

int
hb_raw_expect_close(int fd, int timeout_ms, bool *is_conn)
{
	struct hframe	f;
	long		deadline = tc_now_ms() + timeout_ms;
	int		code, rc;
	size_t		tl;

	hb_raw_text[0] = '\0';
	for (;;) {
		long	left = deadline - tc_now_ms();

		if (left < 0)
			return -1;
		if ((rc = hb_raw_read_frame(fd, &f, (int)left)) != 1)
			return -1;
		if (f.type == AMQP_FRAME_METHOD && f.size >= 7 &&
		    ((f.class_id == 10 && f.method_id == 50) ||
		    (f.class_id == 20 && f.method_id == 40))) {
			if (is_conn != NULL)
				*is_conn = f.class_id == 10;
			code = get_u16(f.payload + 4);
			tl = f.payload[6];
			if (tl > f.size - 7)
				tl = f.size - 7;
			if (tl >= sizeof(hb_raw_text))
				tl = sizeof(hb_raw_text) - 1;
			memcpy(hb_raw_text, f.payload + 7, tl);
			hb_raw_text[tl] = '\0';
			hb_raw_frame_free(&f);
			return code;
		}
		hb_raw_frame_free(&f);
	}
}

const char *
hb_raw_last_text(void)
{
	return hb_raw_text;
}

bool
hb_file_has(const char *path, const char *text, int ms)
{
	char	 line[4096];
	FILE	*f;

	for (int waited = 0; waited <= ms; waited += 20) {
		if ((f = fopen(path, "r")) != NULL) {
			while (fgets(line, sizeof(line), f) != NULL)
				if (strstr(line, text) != NULL) {
					fclose(f);
					return true;
				}
			fclose(f);
		}
		tc_sleep_ms(20);
	}
	return false;
}

long
hb_rss_kib(pid_t pid)
{
	char	path[64], line[256];
	FILE	*f;
	long	kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int
hb_run(const char *const *argv, char *out, size_t outlen, char *err,
    size_t errlen)
{
	int	 po[2], pe[2], st, rv = -1;
	size_t	 no = 0, ne = 0;
	long	 deadline = tc_now_ms() + 10000;
	pid_t	 pid;
	bool	 oopen = true, eopen = true;

	if (pipe(po) == -1 || pipe(pe) == -1)
		cr_assert_fail("pipe: %s", strerror(errno));
	if ((pid = fork()) == -1)
		cr_assert_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		close(po[0]);
		close(pe[0]);
		close(po[1]);
		close(pe[1]);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	while ((oopen || eopen) && tc_now_ms() < deadline) {
		struct pollfd	pfd[2];
		char		tmp[4096];
		ssize_t		r;
		int		i;

		pfd[0].fd = oopen ? po[0] : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = eopen ? pe[0] : -1;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, 100) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			char	*buf = i == 0 ? out : err;
			size_t	 len = i == 0 ? outlen : errlen;
			size_t	*np = i == 0 ? &no : &ne;

			if (pfd[i].revents == 0)
				continue;
			r = read(pfd[i].fd, tmp, sizeof(tmp));
			if (r <= 0) {
				if (i == 0)
					oopen = false;
				else
					eopen = false;
				continue;
			}
			if (buf != NULL && len > 0) {
				size_t	k = (size_t)r;

				if (k > len - 1 - *np)
					k = len - 1 - *np;
				memcpy(buf + *np, tmp, k);
				*np += k;
			}
		}
	}
	close(po[0]);
	close(pe[0]);
	if (out != NULL && outlen > 0)
		out[no] = '\0';
	if (err != NULL && errlen > 0)
		err[ne] = '\0';
	while (tc_now_ms() < deadline) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			if (WIFEXITED(st))
				rv = WEXITSTATUS(st);
			else if (WIFSIGNALED(st))
				rv = 128 + WTERMSIG(st);
			return rv;
		}
		tc_sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* ---- HTTP (the admin API) ------------------------------------------------ */

int
hb_http_connect(const struct hbroker *b)
{
	if (b->admin_port <= 0)
		cr_skip_test("no admin API port (set WARREN_TEST_ADMIN_PORT "
		    "with WARREN_TEST_URL)");
	return tcp_connect(b->host, b->admin_port);
}

/* Reads one byte, waiting until deadline: 1, 0 on EOF, -1 on timeout. */
static int
read_byte(int fd, char *c, long deadline)
{
	ssize_t	n;

	for (;;) {
		if (!wait_readable(fd, deadline))
			return -1;
		n = read(fd, c, 1);
		if (n == 1)
			return 1;
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			return 0;
		if (n == -1 && errno != EINTR && errno != EAGAIN)
			return 0;
	}
}

int
hb_http_read(int fd, struct hhttp *r, bool head_request, int timeout_ms)
{
	long	 deadline = tc_now_ms() + timeout_ms;
	size_t	 n = 0, want = 0, got = 0;
	const char *cl;
	char	 c;
	int	 rc;

	memset(r, 0, sizeof(*r));
	/* Byte by byte: a pipelined next answer stays in the socket. */
	while (n < 4 || memcmp(r->head + n - 4, "\r\n\r\n", 4) != 0) {
		if ((rc = read_byte(fd, &c, deadline)) != 1)
			return n == 0 && rc == 0 ? 0 : -1;
		if (n + 1 >= sizeof(r->head))
			return -1;
		r->head[n++] = c;
	}
	r->head[n] = '\0';
	if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
		return -1;
	if ((cl = hb_http_header(r, "content-length")) != NULL)
		want = (size_t)strtoul(cl, NULL, 10);
	if (head_request || r->status == 204 || r->status / 100 == 1)
		want = 0;
	if ((r->body = malloc(want + 1)) == NULL)
		cr_assert_fail("malloc");
	while (got < want) {
		ssize_t k;

		if (!wait_readable(fd, deadline))
			return -1;
		k = read(fd, r->body + got, want - got);
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	r->body[got] = '\0';
	r->body_len = got;
	return 1;
}

const char *
hb_http_header(const struct hhttp *r, const char *name)
{
	static char	 value[1024];
	size_t		 nl = strlen(name);
	const char	*p = strstr(r->head, "\r\n");

	while (p != NULL && p[2] != '\r') {
		const char	*line = p + 2, *end = strstr(line, "\r\n");

		if (end == NULL)
			break;
		if ((size_t)(end - line) > nl && line[nl] == ':' &&
		    strncasecmp(line, name, nl) == 0) {
			const char	*v = line + nl + 1;
			size_t		 vl;

			while (*v == ' ' || *v == '\t')
				v++;
			vl = (size_t)(end - v);
			if (vl >= sizeof(value))
				vl = sizeof(value) - 1;
			memcpy(value, v, vl);
			value[vl] = '\0';
			return value;
		}
		p = end;
	}
	return NULL;
}

void
hb_http_free(struct hhttp *r)
{
	free(r->body);
	r->body = NULL;
}

/* RFC 4648 base64, for Basic credentials. */
static void
base64(const char *in, char *out, size_t outlen)
{
	static const char	 a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t			 n = strlen(in), o = 0;

	if ((n + 2) / 3 * 4 + 1 > outlen)
		cr_assert_fail("credentials too long");
	for (size_t i = 0; i < n; i += 3) {
		uint32_t	v = (uint32_t)(uint8_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)(uint8_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (uint8_t)in[i + 2];
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	out[o] = '\0';
}

size_t
hb_http_format(char *buf, size_t len, const char *method, const char *path,
    const char *userpass, const char *body)
{
	char	auth[512] = "";
	int	n;

	if (userpass != NULL) {
		char	b64[400];

		base64(userpass, b64, sizeof(b64));
		snprintf(auth, sizeof(auth), "Authorization: Basic %s\r\n",
		    b64);
	}
	n = snprintf(buf, len, "%s %s HTTP/1.1\r\nHost: localhost\r\n%s"
	    "Content-Length: %zu\r\n%s\r\n%s", method, path, auth,
	    body != NULL ? strlen(body) : 0,
	    body != NULL ? "Content-Type: application/json\r\n" : "",
	    body != NULL ? body : "");
	if (n < 0 || (size_t)n >= len)
		cr_assert_fail("HTTP request too long for its buffer");
	return (size_t)n;
}

int
hb_http(const struct hbroker *b, const char *method, const char *path,
    const char *userpass, const char *body, struct hhttp *r)
{
	size_t	cap = 8192 + (body != NULL ? strlen(body) : 0), n;
	char	*req = malloc(cap);
	int	fd;

	if (req == NULL)
		cr_assert_fail("out of memory");
	n = hb_http_format(req, cap, method, path, userpass, body);
	fd = hb_http_connect(b);
	hb_raw_send(fd, req, n);
	free(req);
	if (hb_http_read(fd, r, strcmp(method, "HEAD") == 0, 10000) != 1)
		cr_assert_fail("%s %s: no HTTP answer", method, path);
	close(fd);
	return r->status;
}

const char *
hb_http_call(const struct hbroker *b, const char *userpass,
    const char *method, const char *path, const char *body, int want)
{
	static char	 copy[65536];
	struct hhttp	 r;
	int		 st = hb_http(b, method, path, userpass, body, &r);

	snprintf(copy, sizeof(copy), "%s", r.body != NULL ? r.body : "");
	hb_http_free(&r);
	cr_assert_eq(st, want, "%s %s: %d, wanted %d: %s", method, path, st,
	    want, copy);
	return copy;
}

char *
hb_http_call_dup(const struct hbroker *b, const char *userpass,
    const char *method, const char *path, const char *body, int want)
{
	struct hhttp	 r;
	int		 st = hb_http(b, method, path, userpass, body, &r);
	char		*copy = strdup(r.body != NULL ? r.body : "");

	hb_http_free(&r);
	cr_assert_eq(st, want, "%s %s: %d, wanted %d: %.2000s", method, path,
	    st, want, copy);
	return copy;
}
