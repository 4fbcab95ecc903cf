/*
 * flood: hostile connections against warrend while a normal client works.
 *
 * Starts warrend (-w, else $WARREND) with --handshake-timeout T on a
 * fresh data dir, then:
 *
 *   1. measures a normal client's publish+consume round trips (rabbitmq-c,
 *      one connection, batches of BATCH messages) for -d seconds;
 *   2. opens -i idle connections that never send a byte and -g garbage
 *      connections (random bytes, an HTTP request, a partial AMQP header,
 *      a header then silence, a partial frame) from a second thread with
 *      non-blocking sockets and epoll;
 *   3. measures the normal client again while they are open;
 *   4. waits until the broker has closed every hostile socket (EOF or
 *      RST), checking that the silent ones went at the handshake timeout
 *      and no later than T + slack after their TCP handshake;
 *   5. checks that warrend's descriptor count (/proc/PID/fd) is back to
 *      its baseline and records its RSS.
 *
 * Prints one key=value line and exits 1 if the loaded/unloaded ratio is
 * below -r (0 disables the check), a hostile connection was not closed
 * in time, descriptors leaked, or warrend died.
 *
 * Usage: flood [-w warrend] [-i idle] [-g garbage] [-t timeout_s]
 *              [-d seconds] [-r min_ratio] [-s slack_s] [-k] [-v]
 */
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include "tests/common.h"

#define BATCH		100	/* messages published before consuming them */
#define BODY_SIZE	256
#define START_MS	10000	/* warrend must listen within this */
#define STOP_MS		10000	/* and exit on SIGTERM within this */
#define EARLY_MS	250	/* timer tolerance below the handshake timeout */
#define FD_SLACK	3	/* descriptors warrend may differ by afterwards */
#define SAMPLE_MS	250	/* how often RSS and descriptors are sampled */
#define OPEN_BATCH	256	/* connects between two epoll passes */

/* What a hostile connection sends once connected, then it stays silent. */
enum kind {
	K_IDLE,			/* nothing */
	K_SHORT_RANDOM,		/* 1..7 random bytes: not yet a header */
	K_RANDOM,		/* 64 random bytes: a wrong header */
	K_HTTP,			/* GET / HTTP/1.1 */
	K_PARTIAL_HEADER,	/* "AMQP\0\0" */
	K_HEADER,		/* the 0-9-1 header, then nothing after Start */
	K_PARTIAL_FRAME,	/* header, then half a start-ok frame */
	K_NKINDS
};

/* How the broker is expected to end each kind. */
enum expect {
	E_TIMEOUT,		/* at the handshake timeout, not before */
	E_EARLY,		/* promptly (bad header) */
	E_ANY			/* either is correct */
};

static const enum expect	kind_expect[K_NKINDS] = {
	[K_IDLE] = E_TIMEOUT,
	[K_SHORT_RANDOM] = E_ANY,
	[K_RANDOM] = E_EARLY,
	[K_HTTP] = E_EARLY,
	[K_PARTIAL_HEADER] = E_TIMEOUT,
	[K_HEADER] = E_TIMEOUT,
	[K_PARTIAL_FRAME] = E_TIMEOUT,
};

static const char *const	kind_name[K_NKINDS] = {
	"idle", "short-random", "random", "http", "partial-header",
	"header", "partial-frame",
};

enum hstate { H_CONNECTING, H_OPEN, H_CLOSED, H_FAILED };

struct hostile {
	int		fd;
	uint8_t		kind;		/* enum kind */
	uint8_t		state;		/* enum hstate */
	bool		rst;		/* closed by a reset, not a FIN */
	long		t_open;		/* ms: connect() called */
	long		t_est;		/* ms: TCP handshake seen complete */
	long		t_closed;	/* ms: EOF or reset seen */
	uint8_t		payload[64];	/* what to send once connected */
	uint8_t		len;		/* bytes of payload */
};

struct flood {
	/* Options. */
	const char	*warrend;
	int		 idle, garbage;
	int		 timeout_s;	/* --handshake-timeout */
	double		 secs;		/* each throughput window */
	double		 min_ratio;	/* 0: not checked */
	int		 slack_ms;
	bool		 keep, verbose;
	uint64_t	 seed;

	/* Broker. */
	char		 dir[256];
	pid_t		 pid;
	int		 port;

	/* Hostile side, owned by the flood thread until it is joined. */
	struct hostile	*h;
	int		 nh;
	int		 ep;		/* epoll instance */
	atomic_int	 opened;	/* all connect() calls issued */
	atomic_int	 stop;		/* main asks the thread to give up */
	long		 t_opened;	/* ms, when opened became 1 */
	long		 fds_peak;
	long		 rss_peak;
	int		 open_errors;	/* socket()/connect() failed at once */
	char		 first_error[160];
};

static uint64_t	rng_state;

static uint64_t
rng(void)
{
	/* xorshift64*: reproducible from the printed seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void
vlog(const struct flood *f, const char *fmt, ...)
{
	va_list	ap;

	if (!f->verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "flood: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void
die(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fprintf(stderr, "flood: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* Entries in /proc/PID/fd, or -1. */
static long
count_fds(pid_t pid)
{
	struct dirent	*de;
	char		 path[64];
	DIR		*d;
	long		 n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* VmRSS of pid in KiB, or -1. */
static long
rss_kib(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*fp;
	long	 kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(fp);
	return kib;
}

/* Whether warrend is still running; reaps it when not. */
static bool
broker_alive(struct flood *f, int *status)
{
	pid_t	r;

	if (f->pid == 0)
		return false;
	r = waitpid(f->pid, status, WNOHANG);
	if (r == 0)
		return true;
	f->pid = 0;
	return false;
}

static void
start_broker(struct flood *f)
{
	char		 portfile[300], tstr[16], buf[32], log[300];
	const char	*tmp = getenv("TMPDIR");
	long		 deadline;
	FILE		*fp;
	int		 fd, status;

	snprintf(f->dir, sizeof(f->dir), "%s/warren-flood-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		die("mkdtemp %s: %s", f->dir, strerror(errno));
	snprintf(portfile, sizeof(portfile), "%s/warrend.port", f->dir);
	snprintf(log, sizeof(log), "%s/stderr.log", f->dir);
	snprintf(tstr, sizeof(tstr), "%d", f->timeout_s);

	if ((f->pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (f->pid == 0) {
		/* warrend inherits our raised RLIMIT_NOFILE. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) != -1) {
			dup2(fd, 2);
			close(fd);
		}
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, 0);
			dup2(fd, 1);
			close(fd);
		}
		execl(f->warrend, f->warrend, "--port", "0", "--admin-port",
		    "0", "--prometheus-port", "none", "--data-dir", f->dir, "--handshake-timeout", tstr,
		    "--durability", "os", "--log-level", "warn",
		    (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", f->warrend, strerror(errno));
		_exit(127);
	}
	deadline = tc_now_ms() + START_MS;
	while (tc_now_ms() < deadline) {
		if (!broker_alive(f, &status))
			die("warrend exited during startup (status 0x%x); see %s",
			    status, log);
		if ((fp = fopen(portfile, "r")) != NULL) {
			if (fgets(buf, sizeof(buf), fp) != NULL &&
			    strchr(buf, '\n') != NULL)
				f->port = atoi(buf);
			fclose(fp);
			if (f->port > 0)
				return;
		}
		tc_sleep_ms(20);
	}
	die("warrend did not write %s within %d ms", portfile, START_MS);
}

/* SIGTERM and wait; returns the exit status, 128+sig, or -1. */
static int
stop_broker(struct flood *f)
{
	long	deadline;
	int	status;

	if (f->pid == 0)
		return -1;
	kill(f->pid, SIGTERM);
	deadline = tc_now_ms() + STOP_MS;
	while (tc_now_ms() < deadline) {
		if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
			f->pid = 0;
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return 128 + WTERMSIG(status);
		}
		tc_sleep_ms(20);
	}
	kill(f->pid, SIGKILL);
	waitpid(f->pid, &status, 0);
	f->pid = 0;
	return -1;
}

static amqp_connection_state_t
client_connect(struct flood *f, amqp_bytes_t *queue)
{
	amqp_connection_state_t	 c;
	amqp_socket_t		*s;
	amqp_rpc_reply_t	 r;
	amqp_queue_declare_ok_t	*ok;
	struct timeval		 tv = { 10, 0 };

	c = amqp_new_connection();
	if ((s = amqp_tcp_socket_new(c)) == NULL)
		die("amqp_tcp_socket_new failed");
	if (amqp_socket_open(s, "127.0.0.1", f->port) != AMQP_STATUS_OK)
		die("normal client: cannot connect to port %d", f->port);
	amqp_set_rpc_timeout(c, &tv);
	r = amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest",
	    "guest");
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		die("normal client: login failed (reply type %d)",
		    (int)r.reply_type);
	amqp_channel_open(c, 1);
	if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL)
		die("normal client: channel.open failed");
	ok = amqp_queue_declare(c, 1, amqp_empty_bytes, 0, 0, 1, 1,
	    amqp_empty_table);
	if (ok == NULL)
		die("normal client: queue.declare failed");
	*queue = amqp_bytes_malloc_dup(ok->queue);
	amqp_basic_consume(c, 1, *queue, amqp_empty_bytes, 0, 1, 0,
	    amqp_empty_table);
	if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL)
		die("normal client: basic.consume failed");
	return c;
}

/*
 * Publishes BATCH messages, then consumes them, for secs seconds.
 * Returns messages per second, or -1 when the broker failed the client
 * (a delivery did not arrive within 10 s, or the connection broke).
 */
static double
throughput(amqp_connection_state_t c, amqp_bytes_t queue, double secs)
{
	static char		 body[BODY_SIZE];
	amqp_envelope_t		 env;
	amqp_rpc_reply_t	 r;
	struct timeval		 tv;
	long			 t0, end;
	uint64_t		 n = 0;

	memset(body, 'm', sizeof(body));
	t0 = tc_now_ms();
	end = t0 + (long)(secs * 1000);
	do {
		for (int i = 0; i < BATCH; i++)
			if (amqp_basic_publish(c, 1, amqp_empty_bytes, queue, 0,
			    0, NULL, (amqp_bytes_t){ sizeof(body), body }) != 0)
				return -1;
		for (int i = 0; i < BATCH; i++) {
			tv.tv_sec = 10;
			tv.tv_usec = 0;
			amqp_maybe_release_buffers(c);
			r = amqp_consume_message(c, &env, &tv, 0);
			if (r.reply_type != AMQP_RESPONSE_NORMAL)
				return -1;
			amqp_destroy_envelope(&env);
		}
		n += BATCH;
	} while (tc_now_ms() < end);
	return (double)n * 1000.0 / (double)(tc_now_ms() - t0 > 0 ?
	    tc_now_ms() - t0 : 1);
}

static void
make_payload(struct hostile *h)
{
	static const char	http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n"
	    "User-Agent: flood\r\n\r\n";
	static const uint8_t	hdr[8] = { 'A', 'M', 'Q', 'P', 0, 0, 9, 1 };
	/* A method frame on channel 0 claiming 50 bytes; 10 follow. */
	static const uint8_t	part[17] = { 1, 0, 0, 0, 0, 0, 50,
	    0, 10, 0, 11, 0, 0, 0, 0, 0, 0 };

	switch (h->kind) {
	case K_IDLE:
		h->len = 0;
		break;
	case K_SHORT_RANDOM:
	case K_RANDOM:
		h->len = h->kind == K_RANDOM ? 64 : (uint8_t)(1 + rng() % 7);
		for (int i = 0; i < h->len; i++)
			h->payload[i] = (uint8_t)rng();
		if (h->payload[0] == 'A')	/* never the start of "AMQP" */
			h->payload[0] = 'B';
		break;
	case K_HTTP:
		h->len = sizeof(http) - 1;
		memcpy(h->payload, http, h->len);
		break;
	case K_PARTIAL_HEADER:
		h->len = 6;
		memcpy(h->payload, hdr, h->len);
		break;
	case K_HEADER:
		h->len = sizeof(hdr);
		memcpy(h->payload, hdr, h->len);
		break;
	case K_PARTIAL_FRAME:
		memcpy(h->payload, hdr, sizeof(hdr));
		memcpy(h->payload + sizeof(hdr), part, sizeof(part));
		h->len = sizeof(hdr) + sizeof(part);
		break;
	}
}

static void
hostile_closed(struct hostile *h, bool rst)
{
	h->state = H_CLOSED;
	h->rst = rst;
	h->t_closed = tc_now_ms();
	close(h->fd);		/* also leaves the epoll set */
	h->fd = -1;
}

/* Handles epoll events for one hostile connection. */
static void
hostile_event(struct flood *f, struct hostile *h, uint32_t ev)
{
	static uint8_t		 sink[65536];
	struct epoll_event	 e;
	socklen_t		 len = sizeof(int);
	ssize_t			 r;
	int			 err = 0;

	if (h->state == H_CONNECTING) {
		if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
		    err != 0) {
			h->state = H_FAILED;
			if (f->first_error[0] == '\0')
				snprintf(f->first_error,
				    sizeof(f->first_error),
				    "connect (%s #%d): %s",
				    kind_name[h->kind], (int)(h - f->h),
				    strerror(err));
			close(h->fd);
			h->fd = -1;
			return;
		}
		if ((ev & EPOLLOUT) == 0 && (ev & (EPOLLHUP | EPOLLERR)) == 0)
			return;
		h->state = H_OPEN;
		h->t_est = tc_now_ms();
		/* A few dozen bytes always fit in a fresh socket buffer. */
		if (h->len > 0 && send(h->fd, h->payload, h->len,
		    MSG_NOSIGNAL) == -1 && errno != EPIPE &&
		    errno != ECONNRESET && f->first_error[0] == '\0')
			snprintf(f->first_error, sizeof(f->first_error),
			    "send (%s): %s", kind_name[h->kind],
			    strerror(errno));
		e.events = EPOLLIN | EPOLLRDHUP;
		e.data.u32 = (uint32_t)(h - f->h);
		epoll_ctl(f->ep, EPOLL_CTL_MOD, h->fd, &e);
	}
	if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) == 0)
		return;
	for (;;) {
		r = recv(h->fd, sink, sizeof(sink), 0);
		if (r > 0)
			continue;	/* our header back, or connection.start */
		if (r == 0) {
			hostile_closed(h, false);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		hostile_closed(h, true);	/* ECONNRESET and the like */
		return;
	}
}

static void
hostile_open(struct flood *f, struct hostile *h, const struct sockaddr_in *sa)
{
	struct epoll_event	e;

	h->t_open = tc_now_ms();
	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd == -1)
		goto fail;
	if (connect(h->fd, (const struct sockaddr *)sa, sizeof(*sa)) == -1 &&
	    errno != EINPROGRESS)
		goto fail;
	h->state = H_CONNECTING;
	e.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
	e.data.u32 = (uint32_t)(h - f->h);
	if (epoll_ctl(f->ep, EPOLL_CTL_ADD, h->fd, &e) == -1)
		goto fail;
	return;
fail:
	if (f->first_error[0] == '\0')
		snprintf(f->first_error, sizeof(f->first_error),
		    "open (%s #%d): %s", kind_name[h->kind], (int)(h - f->h),
		    strerror(errno));
	f->open_errors++;
	h->state = H_FAILED;
	if (h->fd != -1)
		close(h->fd);
	h->fd = -1;
}

static void
sample(struct flood *f)
{
	long	v;

	if ((v = count_fds(f->pid)) > f->fds_peak)
		f->fds_peak = v;
	if ((v = rss_kib(f->pid)) > f->rss_peak)
		f->rss_peak = v;
}

/* Number of hostile connections not yet closed or failed. */
static int
pending(const struct flood *f)
{
	int	n = 0;

	for (int i = 0; i < f->nh; i++)
		if (f->h[i].state == H_CONNECTING || f->h[i].state == H_OPEN)
			n++;
	return n;
}

/* The flood thread: opens every hostile connection, then watches them. */
static void *
flood_main(void *arg)
{
	struct flood		*f = arg;
	struct epoll_event	 evs[512];
	struct sockaddr_in	 sa;
	long			 next_sample = 0, hard_deadline;
	int			 n, next = 0, left = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)f->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	hard_deadline = 0;
	while (!atomic_load(&f->stop)) {
		for (int k = 0; k < OPEN_BATCH && next < f->nh; k++)
			hostile_open(f, &f->h[next++], &sa);
		if (next == f->nh && !atomic_load(&f->opened)) {
			f->t_opened = tc_now_ms();
			/* Past this, anything still open has failed the test;
			 * a SYN dropped on a full backlog retries within 7 s. */
			hard_deadline = f->t_opened + 7000 +
			    f->timeout_s * 1000L + f->slack_ms;
			atomic_store(&f->opened, 1);
			vlog(f, "%d connections opened (%d failed at once)",
			    f->nh, f->open_errors);
		}
		n = epoll_wait(f->ep, evs, 512, next < f->nh ? 0 : 50);
		for (int i = 0; i < n; i++)
			hostile_event(f, &f->h[evs[i].data.u32], evs[i].events);
		if (tc_now_ms() >= next_sample) {
			sample(f);
			next_sample = tc_now_ms() + SAMPLE_MS;
		}
		if (next == f->nh) {
			if ((left = pending(f)) == 0)
				break;
			if (tc_now_ms() > hard_deadline)
				break;
		}
	}
	sample(f);
	vlog(f, "flood thread done, %d hostile connections still open", left);
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: flood [-w warrend] [-i idle] [-g garbage] "
	    "[-t timeout_s] [-d seconds] [-r min_ratio] [-s slack_s] [-k] "
	    "[-v]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct flood	 fl;
	struct flood		*f = &fl;
	struct rlimit		 rl;
	amqp_connection_state_t	 c;
	amqp_bytes_t		 queue;
	pthread_t		 th;
	double			 unloaded, loaded, ratio, again;
	long			 fds_before, fds_after, rss_before, rss_after;
	long			 deadline, max_close = 0, dt;
	int			 ch, status, wstatus;
	int			 closed = 0, by_timeout = 0, early = 0, rst = 0;
	int			 failed = 0, still_open = 0, too_early = 0;
	int			 too_late = 0, kind_closed[K_NKINDS] = { 0 };
	bool			 ok = true;
	char			 why[512] = "";

	f->warrend = getenv("WARREND");
	f->idle = 10000;
	f->garbage = 1000;
	f->timeout_s = 2;
	f->secs = 3.0;
	f->min_ratio = 0.5;
	f->slack_ms = 5000;
	f->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	while ((ch = getopt(argc, argv, "w:i:g:t:d:r:s:S:kv")) != -1) {
		switch (ch) {
		case 'w': f->warrend = optarg; break;
		case 'i': f->idle = atoi(optarg); break;
		case 'g': f->garbage = atoi(optarg); break;
		case 't': f->timeout_s = atoi(optarg); break;
		case 'd': f->secs = atof(optarg); break;
		case 'r': f->min_ratio = atof(optarg); break;
		case 's': f->slack_ms = (int)(atof(optarg) * 1000); break;
		case 'S': f->seed = strtoull(optarg, NULL, 0); break;
		case 'k': f->keep = true; break;
		case 'v': f->verbose = true; break;
		default: usage();
		}
	}
	if (f->warrend == NULL || *f->warrend == '\0')
		f->warrend = "./warrend";
	if (f->idle < 0 || f->garbage < 0 || f->timeout_s < 1 || f->secs <= 0)
		usage();
	rng_state = f->seed != 0 ? f->seed : 1;

	/* Both we and warrend (which inherits it) hold every connection. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		die("getrlimit: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		die("setrlimit: %s", strerror(errno));
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)f->idle + (rlim_t)f->garbage + 200)
		die("RLIMIT_NOFILE hard limit %llu is too low for %d "
		    "connections; raise it (ulimit -Hn / prlimit)",
		    (unsigned long long)rl.rlim_cur, f->idle + f->garbage);
	signal(SIGPIPE, SIG_IGN);

	f->nh = f->idle + f->garbage;
	if ((f->h = calloc((size_t)f->nh + 1, sizeof(*f->h))) == NULL)
		die("out of memory");
	for (int i = 0; i < f->nh; i++) {
		f->h[i].fd = -1;
		/* Garbage kinds rotate so each gets garbage/6 connections. */
		f->h[i].kind = i < f->idle ? K_IDLE :
		    (uint8_t)(K_SHORT_RANDOM + (i - f->idle) % (K_NKINDS - 1));
		make_payload(&f->h[i]);
	}
	if ((f->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));

	start_broker(f);
	vlog(f, "warrend pid %d port %d dir %s", (int)f->pid, f->port, f->dir);

	c = client_connect(f, &queue);
	(void)throughput(c, queue, 0.3);	/* warm up */
	unloaded = throughput(c, queue, f->secs);
	if (unloaded <= 0)
		die("normal client failed before the flood");
	vlog(f, "unloaded: %.0f msgs/s", unloaded);
	tc_sleep_ms(100);
	fds_before = count_fds(f->pid);
	rss_before = rss_kib(f->pid);
	f->fds_peak = fds_before;
	f->rss_peak = rss_before;

	if ((errno = pthread_create(&th, NULL, flood_main, f)) != 0)
		die("pthread_create: %s", strerror(errno));
	while (!atomic_load(&f->opened))
		tc_sleep_ms(5);
	loaded = throughput(c, queue, f->secs);
	vlog(f, "loaded: %.0f msgs/s", loaded);
	pthread_join(th, NULL);

	/* Every hostile connection: closed, and when. */
	for (int i = 0; i < f->nh; i++) {
		struct hostile	*h = &f->h[i];
		enum expect	 e = kind_expect[h->kind];

		if (h->state == H_FAILED) {
			failed++;
			continue;
		}
		if (h->state != H_CLOSED) {
			still_open++;
			if (h->fd != -1)
				close(h->fd);
			continue;
		}
		closed++;
		kind_closed[h->kind]++;
		rst += h->rst;
		dt = h->t_closed - h->t_open;
		if (h->t_closed - h->t_est > max_close)
			max_close = h->t_closed - h->t_est;
		if (dt >= f->timeout_s * 1000L - EARLY_MS)
			by_timeout++;
		else
			early++;
		if (e == E_TIMEOUT && dt < f->timeout_s * 1000L - EARLY_MS)
			too_early++;
		if (h->t_closed - h->t_est > f->timeout_s * 1000L + f->slack_ms)
			too_late++;
	}

	/* The broker's descriptors come back once it has processed the
	 * closes; give it a moment. */
	deadline = tc_now_ms() + 5000;
	do {
		fds_after = count_fds(f->pid);
		if (fds_after != -1 && fds_after <= fds_before + FD_SLACK)
			break;
		tc_sleep_ms(100);
	} while (tc_now_ms() < deadline);
	rss_after = rss_kib(f->pid);

	/* The normal client still works. */
	again = throughput(c, queue, 0.2);
	amqp_connection_close(c, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(c);
	amqp_bytes_free(queue);

	ratio = unloaded > 0 ? (loaded > 0 ? loaded : 0) / unloaded : 0;
	if (!broker_alive(f, &wstatus)) {
		ok = false;
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
		    " warrend died (status 0x%x);", wstatus);
	}
	if (loaded <= 0 || again <= 0) {
		ok = false;
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
		    " normal client failed %s the flood;",
		    loaded <= 0 ? "during" : "after");
	}
	if (f->min_ratio > 0 && ratio < f->min_ratio) {
		ok = false;
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
		    " ratio %.2f < %.2f;", ratio, f->min_ratio);
	}
	if (failed > 0) {
		ok = false;
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
		    " %d hostile connects failed (%s);", failed,
		    f->first_error);
	}
	if (still_open > 0) {
		ok = false;
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
		    " %d hostile connections never closed by the broker;",
		    still_open);
	}
	if (too_early > 0) {
		ok = false;
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
		    " %d silent connections closed before the %d s timeout;",
		    too_early, f->timeout_s);
	}
	if (too_late > 0) {
		ok = false;
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
		    " %d connections closed later than timeout + %d ms;",
		    too_late, f->slack_ms);
	}
	if (fds_after == -1 || fds_after > fds_before + FD_SLACK ||
	    fds_after < fds_before - FD_SLACK) {
		ok = false;
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
		    " warrend has %ld descriptors, %ld before the flood;",
		    fds_after, fds_before);
	}

	status = stop_broker(f);
	if (status != 0 && ok) {
		ok = false;
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
		    " warrend exited with %d on SIGTERM;", status);
	}

	if (f->verbose)
		for (int k = 0; k < K_NKINDS; k++)
			fprintf(stderr, "flood: %-14s closed %d\n",
			    kind_name[k], kind_closed[k]);
	printf("idle=%d garbage=%d unloaded_msgs_per_s=%.0f "
	    "loaded_msgs_per_s=%.0f ratio=%.2f closed=%d closed_by_timeout=%d "
	    "closed_early=%d closed_by_rst=%d not_closed=%d connect_failed=%d "
	    "max_close_ms=%ld fds_before=%ld fds_peak=%ld fds_after=%ld "
	    "rss_before_kb=%ld rss_peak_kb=%ld rss_after_kb=%ld seed=%llu "
	    "status=%s\n", f->idle, f->garbage, unloaded,
	    loaded > 0 ? loaded : 0, ratio, closed, by_timeout, early, rst,
	    still_open, failed, max_close, fds_before, f->fds_peak,
	    fds_after, rss_before, f->rss_peak, rss_after,
	    (unsigned long long)f->seed, ok ? "ok" : "fail");
	if (!ok)
		fprintf(stderr, "flood: FAIL:%s\n", why);
	fflush(stdout);

	if (ok && !f->keep)
		tc_rm_tree(f->dir);
	else
		fprintf(stderr, "flood: data dir kept: %s\n", f->dir);
	close(f->ep);
	free(f->h);
	return ok ? 0 : 1;
}
