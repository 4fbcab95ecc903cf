/*
 * crashtest: kill -9 warrend under load, again and again, and check that
 * no confirmed message is lost and no acknowledged one comes back.
 *
 * Each round starts warrend on a data dir kept across rounds, runs four
 * publishers of persistent messages whose body starts with a unique
 * 8-byte id, and a consumer (prefetch 100 per queue, acks every message
 * singly, a few out of order), and SIGKILLs warrend at a random moment:
 *
 *   confirm         confirm mode, a window of outstanding confirms, into
 *                   the durable queue "crashtest"
 *   tx              tx.select, batches of 1..20 publishes and tx.commit
 *   reject-publish  confirm mode into "crashtest-rp", a durable queue of
 *                   x-max-length 50 with x-overflow reject-publish: it is
 *                   often full, so acks sit next to refusals (nacks)
 *   slow-reader     confirm mode into "crashtest-slow" (its own queue, so
 *                   the others' flow control does not hold it), every
 *                   other publish a 4 KiB mandatory one that comes back
 *                   as basic.return; it reads its socket (16 KiB receive
 *                   buffer) half the time, in 50 ms turns, so its
 *                   output backs up in the broker, whose write
 *                   watcher then flushes while new frames arrive (below
 *                   the mark where the broker stops reading it)
 *
 * It then restarts warrend, drains the queues and accounts for every id:
 *
 *   confirmed    basic.ack received by the publisher (tx: the batch's
 *                tx.commit-ok)
 *   acked        basic.ack sent by the consumer and followed by a
 *                completed basic.qos round trip on its channel (so the
 *                broker processed it); acks sent after the last round
 *                trip are "uncertain"
 *   recovered    found in the queue after the restart
 *
 *   lost_confirmed    = confirmed - acked - uncertain - recovered  (must be 0)
 *   resurrected_acked = recovered AND acked                        (must be 0)
 *
 * Usage: crashtest [-r rounds] [-w warrend] [-d datadir] [-s seed]
 *                  [-W window] [-k] [-v]
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

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

#define QUEUE		"crashtest"
#define QUEUE_RP	"crashtest-rp"	/* x-max-length, reject-publish */
#define QUEUE_SLOW	"crashtest-slow"	/* the slow reader's */
#define RP_MAX_LENGTH	50
#define SLOW_READ_MS	50	/* the slow reader's pauses and reads */
#define RETURN_SIZE	4096	/* its unroutable, returned bodies */
#define SLOW_RCVBUF	16384	/* its socket's receive buffer */
#define PREFETCH	100
#define START_MS	30000	/* warrend must listen within this */
#define STOP_MS		15000	/* and exit on SIGTERM within this */
#define RPC_SEC		5
#define ROUND_ALARM	300	/* seconds: a hung round kills us */

/*
 * Ids: 16 bits of run, 16 of round, 4 of publisher kind, 28 of sequence.
 * Per-id fates are kept per kind, indexed by the sequence (1-based).
 */
enum pub_kind { KIND_CONFIRM, KIND_TX, KIND_REJECT, KIND_SLOW, NKIND };
static const char *const kind_name[NKIND] = { "confirm", "tx",
    "reject-publish", "slow-reader" };
#define KIND_SHIFT	28
#define SEQ_MASK	0x0fffffffu

/* PUB_RETURN: sent unroutable (slow reader), not a message to find. */
enum { PUB_NONE, PUB_SENT, PUB_ACKED, PUB_NACKED, PUB_RETURN };
enum { ACK_NONE, ACK_SENT, ACK_CERTAIN };

struct ids {
	uint8_t	*v;
	size_t	 cap;
};

struct opts {
	const char	*warrend;
	char		 dir[512];
	bool		 own_dir;	/* created here: removed on success */
	bool		 keep;
	bool		 verbose;
	int		 rounds;
	int		 window;
	uint64_t	 seed;
};

struct broker {
	pid_t	pid;
	int	port;
};

/* What the publisher thread learnt; read by main after join. */
struct pub {
	enum pub_kind	 kind;
	int		 port;
	uint64_t	 id_base;	/* round's base | kind << KIND_SHIFT */
	uint64_t	 seed;
	int		 window;
	struct ids	 fate;		/* PUB_* */
	uint64_t	 published;
	uint64_t	 acked, nacked;
	uint64_t	 returns_confirmed;	/* confirms of PUB_RETURN ones */
	atomic_bool	 connected;
	bool		 early;		/* stopped before the kill */
	char		 err[256];
};

/* What the consumer thread learnt. */
struct con {
	int		 port;
	uint64_t	 id_base;
	uint64_t	 seed;
	struct ids	 delivered[NKIND];	/* times delivered live */
	struct ids	 redeliv[NKIND];	/* live delivery: redelivered */
	struct ids	 ack[NKIND];		/* ACK_* */
	uint64_t	 ndelivered, nacks_sent, round_trips;
	uint64_t	 foreign;	/* ids from elsewhere */
	atomic_bool	 connected;
	bool		 early;		/* stopped before the kill */
	char		 err[256];
};

static atomic_bool	stop_flag;
static atomic_bool	kill_flag;	/* set just before the SIGKILL */

/* ---- small things ------------------------------------------------------ */

static uint64_t
rnd(uint64_t *s)
{
	/* splitmix64 */
	uint64_t	z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "crashtest: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void
ids_set(struct ids *a, uint64_t i, uint8_t v)
{
	if (i >= a->cap) {
		size_t	ncap = a->cap ? a->cap : 4096;

		while (ncap <= i)
			ncap *= 2;
		if ((a->v = realloc(a->v, ncap)) == NULL)
			die("out of memory");
		memset(a->v + a->cap, 0, ncap - a->cap);
		a->cap = ncap;
	}
	a->v[i] = v;
}

static uint8_t
ids_get(const struct ids *a, uint64_t i)
{
	return i < a->cap ? a->v[i] : 0;
}

static void
ids_free(struct ids *a)
{
	free(a->v);
	a->v = NULL;
	a->cap = 0;
}

static void
put_id(uint8_t *p, uint64_t id)
{
	int	i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(id >> (56 - 8 * i));
}

/* The id a body starts with, or UINT64_MAX when it is too short. */
static uint64_t
get_id(amqp_bytes_t b)
{
	const uint8_t	*p = b.bytes;
	uint64_t	 id = 0;
	int		 i;

	if (b.len < 8)
		return UINT64_MAX;
	for (i = 0; i < 8; i++)
		id = id << 8 | p[i];
	return id;
}

/* ---- warrend ----------------------------------------------------------- */

static int
read_port(const char *dir)
{
	char	 path[600];
	FILE	*f;
	int	 port = -1;

	snprintf(path, sizeof(path), "%s/warrend.port", dir);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(f, "%d", &port) != 1)
		port = -1;
	fclose(f);
	return port;
}

/* Starts warrend on the data dir; returns false (with a message) if it
 * exits or does not listen in time. */
static bool
broker_start(const struct opts *o, struct broker *b)
{
	char	 portfile[600], logfile[600];
	long	 deadline;
	int	 st;
	pid_t	 pid;

	snprintf(portfile, sizeof(portfile), "%s/warrend.port", o->dir);
	snprintf(logfile, sizeof(logfile), "%s/crashtest-warrend.log", o->dir);
	if (unlink(portfile) == -1 && errno != ENOENT)
		die("unlink %s: %s", portfile, strerror(errno));
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int	fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND,
		    0644)) != -1) {
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		signal(SIGPIPE, SIG_DFL);
		execl(o->warrend, o->warrend, "--port", "0", "--admin-port",
		    "0", "--prometheus-port", "none", "--bind", "127.0.0.1",
		    "--data-dir", o->dir,
		    (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", o->warrend, strerror(errno));
		_exit(127);
	}
	b->pid = pid;
	deadline = tc_now_ms() + START_MS;
	for (;;) {
		if ((b->port = read_port(o->dir)) > 0)
			return true;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			b->pid = 0;
			fprintf(stderr, "crashtest: warrend exited before "
			    "listening (status 0x%x); see %s\n", st, logfile);
			return false;
		}
		if (tc_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			b->pid = 0;
			fprintf(stderr, "crashtest: warrend did not listen "
			    "within %d ms; see %s\n", START_MS, logfile);
			return false;
		}
		tc_sleep_ms(5);
	}
}

/* Sends signo and waits; returns the exit status, 128+signal, or -1 on a
 * timeout (then SIGKILLs). */
static int
broker_stop(struct broker *b, int signo)
{
	long	deadline = tc_now_ms() + STOP_MS;
	int	st;

	if (b->pid <= 0)
		return -1;
	kill(b->pid, signo);
	for (;;) {
		pid_t	w = waitpid(b->pid, &st, WNOHANG);

		if (w == b->pid)
			break;
		if (tc_now_ms() > deadline) {
			kill(b->pid, SIGKILL);
			waitpid(b->pid, &st, 0);
			b->pid = 0;
			return -1;
		}
		tc_sleep_ms(5);
	}
	b->pid = 0;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

/* ---- AMQP -------------------------------------------------------------- */

static amqp_connection_state_t
connect_broker(int port, char *err, size_t errlen)
{
	amqp_connection_state_t	 c;
	amqp_socket_t		*s;
	amqp_rpc_reply_t	 r;
	struct timeval		 tv = { RPC_SEC, 0 };
	int			 rc;

	if ((c = amqp_new_connection()) == NULL ||
	    (s = amqp_tcp_socket_new(c)) == NULL)
		die("rabbitmq-c: out of memory");
	if ((rc = amqp_socket_open_noblock(s, "127.0.0.1", port, &tv)) !=
	    AMQP_STATUS_OK) {
		snprintf(err, errlen, "connect: %s", amqp_error_string2(rc));
		amqp_destroy_connection(c);
		return NULL;
	}
	amqp_set_handshake_timeout(c, &tv);
	amqp_set_rpc_timeout(c, &tv);
	r = amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest",
	    "guest");
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		snprintf(err, errlen, "login failed (reply type %d)",
		    (int)r.reply_type);
		amqp_destroy_connection(c);
		return NULL;
	}
	amqp_channel_open(c, 1);
	r = amqp_get_rpc_reply(c);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		snprintf(err, errlen, "channel.open failed");
		amqp_destroy_connection(c);
		return NULL;
	}
	return c;
}

static bool
rpc_ok(amqp_connection_state_t c, const char *what, char *err, size_t errlen)
{
	amqp_rpc_reply_t	r = amqp_get_rpc_reply(c);

	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return true;
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
		snprintf(err, errlen, "%s: %s", what,
		    amqp_error_string2(r.library_error));
	else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
		amqp_channel_close_t	*m = r.reply.decoded;

		snprintf(err, errlen, "%s: channel.close %d %.*s", what,
		    m->reply_code, (int)m->reply_text.len,
		    (char *)m->reply_text.bytes);
	} else if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
		amqp_connection_close_t	*m = r.reply.decoded;

		snprintf(err, errlen, "%s: connection.close %d %.*s", what,
		    m->reply_code, (int)m->reply_text.len,
		    (char *)m->reply_text.bytes);
	} else
		snprintf(err, errlen, "%s: reply type %d", what,
		    (int)r.reply_type);
	return false;
}

static void
close_quietly(amqp_connection_state_t c)
{
	if (c == NULL)
		return;
	(void)amqp_connection_close(c, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(c);
}

/* ---- publisher --------------------------------------------------------- */

static void
pub_confirm(struct pub *p, uint64_t tag, bool multiple, bool ack)
{
	uint64_t	t, from = multiple ? 1 : tag;

	/* A multiple confirm covers every earlier unconfirmed tag; scan
	 * back only over the window. */
	if (multiple && tag > (uint64_t)p->window * 4)
		from = tag - (uint64_t)p->window * 4;
	for (t = from; t <= tag; t++) {
		uint8_t	f = ids_get(&p->fate, t);

		if (f == PUB_RETURN) {
			ids_set(&p->fate, t, PUB_NONE);
			p->returns_confirmed++;
			continue;
		}
		if (f != PUB_SENT)
			continue;
		ids_set(&p->fate, t, ack ? PUB_ACKED : PUB_NACKED);
		if (ack)
			p->acked++;
		else
			p->nacked++;
	}
}

/* Publishes seq's message; false (with p->err set) when the broker is
 * gone. */
static bool
pub_send(struct pub *p, amqp_connection_state_t c, uint64_t seq,
    const char *queue, bool returned)
{
	static uint8_t		 big[RETURN_SIZE];
	amqp_basic_properties_t	 props;
	uint8_t			 body[8];
	int			 rc;

	memset(&props, 0, sizeof(props));
	props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
	props.delivery_mode = 2;
	put_id(body, p->id_base | seq);
	ids_set(&p->fate, seq, returned ? PUB_RETURN : PUB_SENT);
	/* Counted before it is sent: a failed send may still have reached
	 * the broker. */
	p->published = seq;
	if (returned)
		rc = amqp_basic_publish(c, 1, amqp_cstring_bytes(""),
		    amqp_cstring_bytes("crashtest-nowhere"), 1, 0, &props,
		    (amqp_bytes_t){ sizeof(big), big });
	else
		rc = amqp_basic_publish(c, 1, amqp_cstring_bytes(""),
		    amqp_cstring_bytes(queue), 0, 0, &props,
		    (amqp_bytes_t){ sizeof(body), body });
	if (rc != AMQP_STATUS_OK) {
		snprintf(p->err, sizeof(p->err), "publish: %s",
		    amqp_error_string2(rc));
		return false;
	}
	return true;
}

/* tx: batches of 1..20 publishes, each batch confirmed by commit-ok. */
static void
pub_tx(struct pub *p, amqp_connection_state_t c)
{
	uint64_t	rs = p->seed, seq = 0;

	amqp_tx_select(c, 1);
	if (!rpc_ok(c, "tx.select", p->err, sizeof(p->err)))
		return;
	p->connected = true;
	while (!atomic_load(&stop_flag)) {
		uint64_t	first = seq + 1, n = 1 + rnd(&rs) % 20;

		for (uint64_t i = 0; i < n; i++)
			if (!pub_send(p, c, ++seq, QUEUE, false))
				return;
		amqp_tx_commit(c, 1);
		if (!rpc_ok(c, "tx.commit", p->err, sizeof(p->err)))
			return;
		for (uint64_t t = first; t <= seq; t++)
			ids_set(&p->fate, t, PUB_ACKED);
		p->acked += n;
	}
}

static void *
publisher(void *arg)
{
	struct pub		*p = arg;
	amqp_connection_state_t	 c;
	const char		*queue = p->kind == KIND_REJECT ? QUEUE_RP :
				    p->kind == KIND_SLOW ? QUEUE_SLOW : QUEUE;
	uint64_t		 seq = 0;

	if ((c = connect_broker(p->port, p->err, sizeof(p->err))) == NULL)
		return NULL;
	if (p->kind == KIND_TX) {
		pub_tx(p, c);
		goto out;
	}
	amqp_confirm_select(c, 1);
	if (!rpc_ok(c, "confirm.select", p->err, sizeof(p->err))) {
		close_quietly(c);
		return NULL;
	}
	if (p->kind == KIND_SLOW) {
		int	n = SLOW_RCVBUF;

		setsockopt(amqp_get_sockfd(c), SOL_SOCKET, SO_RCVBUF, &n,
		    sizeof(n));
	}
	p->connected = true;

	while (!atomic_load(&stop_flag)) {
		struct timeval	tv;
		amqp_frame_t	f;
		int		rc;

		/* Fill the window. */
		while (seq - p->acked - p->nacked - p->returns_confirmed <
		    (uint64_t)p->window) {
			++seq;
			if (!pub_send(p, c, seq, queue,
			    p->kind == KIND_SLOW && seq % 2 == 0))
				goto out;	/* the broker is gone */
		}
		/* The slow reader lets its output back up in the broker. */
		if (p->kind == KIND_SLOW)
			tc_sleep_ms(SLOW_READ_MS);
		/* Wait for confirms (blocking briefly), then take all that
		 * are already here; the slow reader reads for a turn. */
		tv.tv_sec = 0;
		tv.tv_usec = 100000;
		for (long until = tc_now_ms() + SLOW_READ_MS;;) {
			amqp_maybe_release_buffers(c);
			rc = amqp_simple_wait_frame_noblock(c, &f, &tv);
			if (rc == AMQP_STATUS_TIMEOUT)
				break;
			if (rc != AMQP_STATUS_OK) {
				snprintf(p->err, sizeof(p->err), "waiting "
				    "for confirms: %s", amqp_error_string2(rc));
				goto out;
			}
			if (f.frame_type == AMQP_FRAME_METHOD) {
				amqp_method_t	*m = &f.payload.method;

				if (m->id == AMQP_BASIC_ACK_METHOD) {
					amqp_basic_ack_t *a = m->decoded;

					pub_confirm(p, a->delivery_tag,
					    a->multiple, true);
				} else if (m->id == AMQP_BASIC_NACK_METHOD) {
					amqp_basic_nack_t *n = m->decoded;

					pub_confirm(p, n->delivery_tag,
					    n->multiple, false);
				} else if (m->id ==
				    AMQP_CHANNEL_CLOSE_METHOD ||
				    m->id == AMQP_CONNECTION_CLOSE_METHOD) {
					snprintf(p->err, sizeof(p->err),
					    "publisher: broker closed "
					    "(method 0x%08x)", m->id);
					goto out;
				}
			}
			tv.tv_usec = p->kind == KIND_SLOW &&
			    tc_now_ms() < until ? 10000 : 0;
		}
	}
out:
	p->early = !atomic_load(&kill_flag);
	amqp_destroy_connection(c);
	return NULL;
}

/* ---- consumer ---------------------------------------------------------- */

struct held {
	uint64_t	tag;
	uint64_t	seq;	/* kind << KIND_SHIFT | sequence */
};

/* Records a fate by the id's kind and sequence. */
static void
kind_set(struct ids *by_kind, uint64_t seq, uint8_t v)
{
	ids_set(&by_kind[(seq >> KIND_SHIFT) & 0xf], seq & SEQ_MASK, v);
}

static uint8_t
kind_get(const struct ids *by_kind, uint64_t seq)
{
	return ids_get(&by_kind[(seq >> KIND_SHIFT) & 0xf], seq & SEQ_MASK);
}

static void *
consumer(void *arg)
{
	struct con		*k = arg;
	amqp_connection_state_t	 c;
	uint64_t		 rs = k->seed;
	uint64_t		*pending = NULL;	/* seqs acked since the
							 * last round trip */
	size_t			 npending = 0, pcap = 0;
	struct held		 held[16];
	int			 nheld = 0;
	long			 last_rt = tc_now_ms();

	if ((c = connect_broker(k->port, k->err, sizeof(k->err))) == NULL)
		return NULL;
	amqp_basic_qos(c, 1, 0, PREFETCH, 0);
	if (!rpc_ok(c, "basic.qos", k->err, sizeof(k->err)))
		goto out;
	amqp_basic_consume(c, 1, amqp_cstring_bytes(QUEUE), amqp_empty_bytes,
	    0, 0, 0, amqp_empty_table);
	if (!rpc_ok(c, "basic.consume", k->err, sizeof(k->err)))
		goto out;
	amqp_basic_consume(c, 1, amqp_cstring_bytes(QUEUE_RP),
	    amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
	if (!rpc_ok(c, "basic.consume", k->err, sizeof(k->err)))
		goto out;
	amqp_basic_consume(c, 1, amqp_cstring_bytes(QUEUE_SLOW),
	    amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
	if (!rpc_ok(c, "basic.consume", k->err, sizeof(k->err)))
		goto out;
	k->connected = true;

	while (!atomic_load(&stop_flag)) {
		amqp_envelope_t		env;
		amqp_rpc_reply_t	r;
		struct timeval		tv = { 0, 50000 };
		uint64_t		id, seq;
		bool			ack_now;
		size_t			i;

		amqp_maybe_release_buffers(c);
		r = amqp_consume_message(c, &env, &tv, 0);
		if (r.reply_type == AMQP_RESPONSE_NORMAL) {
			id = get_id(env.message.body);
			seq = id & 0xffffffffu;
			if (id == UINT64_MAX || (id & ~0xffffffffull) !=
			    k->id_base || (seq >> KIND_SHIFT) >= NKIND) {
				/* Not this round's: ack it away. */
				k->foreign++;
				amqp_basic_ack(c, 1, env.delivery_tag, 0);
				amqp_destroy_envelope(&env);
				continue;
			}
			k->ndelivered++;
			kind_set(k->delivered, seq,
			    (uint8_t)(kind_get(k->delivered, seq) + 1));
			if (env.redelivered)
				kind_set(k->redeliv, seq, 1);
			/* About 5% are held back and acked later, out of
			 * order. */
			ack_now = nheld >= 10 || rnd(&rs) % 100 >= 5;
			if (!ack_now) {
				held[nheld].tag = env.delivery_tag;
				held[nheld].seq = seq;
				nheld++;
			} else if (amqp_basic_ack(c, 1, env.delivery_tag, 0) !=
			    AMQP_STATUS_OK)
				goto out;
			else {
				kind_set(k->ack, seq, ACK_SENT);
				k->nacks_sent++;
				if (npending == pcap) {
					pcap = pcap ? pcap * 2 : 256;
					pending = realloc(pending,
					    pcap * sizeof(*pending));
					if (pending == NULL)
						die("out of memory");
				}
				pending[npending++] = seq;
			}
			amqp_destroy_envelope(&env);
			/* Now and then, ack a held one. */
			if (nheld > 0 && rnd(&rs) % 100 < 8) {
				int	j = (int)(rnd(&rs) % (uint64_t)nheld);

				if (amqp_basic_ack(c, 1, held[j].tag, 0) !=
				    AMQP_STATUS_OK)
					goto out;
				kind_set(k->ack, held[j].seq, ACK_SENT);
				k->nacks_sent++;
				if (npending == pcap) {
					pcap = pcap ? pcap * 2 : 256;
					pending = realloc(pending,
					    pcap * sizeof(*pending));
					if (pending == NULL)
						die("out of memory");
				}
				pending[npending++] = held[j].seq;
				held[j] = held[--nheld];
			}
		} else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_TIMEOUT) {
			/* idle */
		} else {
			/* The broker is gone (or closed us). */
			snprintf(k->err, sizeof(k->err), "consume: reply "
			    "type %d: %s", (int)r.reply_type,
			    amqp_error_string2(r.library_error));
			goto out;
		}

		/* A round trip every 20 acks or 50 ms proves the acks
		 * before it were processed. */
		if (npending >= 20 || (npending > 0 &&
		    tc_now_ms() - last_rt >= 50)) {
			amqp_basic_qos(c, 1, 0, PREFETCH, 0);
			if (amqp_get_rpc_reply(c).reply_type !=
			    AMQP_RESPONSE_NORMAL)
				goto out;
			for (i = 0; i < npending; i++)
				kind_set(k->ack, pending[i], ACK_CERTAIN);
			npending = 0;
			k->round_trips++;
			last_rt = tc_now_ms();
		}
	}
out:
	k->early = !atomic_load(&kill_flag);
	free(pending);
	amqp_destroy_connection(c);
	return NULL;
}

/* ---- drain ------------------------------------------------------------- */

struct drained {
	struct ids	times[NKIND];	/* by seq: times recovered */
	struct ids	redeliv[NKIND];	/* by seq: recovered with the flag */
	uint64_t	n;		/* this round's ids */
	uint64_t	other;		/* ids of another round or run */
	uint64_t	other_this_run;	/* ... of an earlier round of this run */
};

/*
 * Declares and empties one queue, acking everything, sorting ids into
 * this round's (id_base) and others.  Returns false with a message on
 * failure.
 */
static bool
drain_queue(int port, const char *queue, uint64_t run_base, uint64_t id_base,
    struct drained *d, char *err, size_t errlen)
{
	amqp_connection_state_t	 c;
	amqp_queue_declare_ok_t	*qok;
	amqp_table_entry_t	 rp[2];
	amqp_table_t		 args = amqp_empty_table;
	uint64_t		 want, got = 0, last_tag = 0;
	bool			 okay = false;

	if ((c = connect_broker(port, err, errlen)) == NULL)
		return false;
	if (strcmp(queue, QUEUE_RP) == 0) {
		rp[0].key = amqp_cstring_bytes("x-max-length");
		rp[0].value.kind = AMQP_FIELD_KIND_I32;
		rp[0].value.value.i32 = RP_MAX_LENGTH;
		rp[1].key = amqp_cstring_bytes("x-overflow");
		rp[1].value.kind = AMQP_FIELD_KIND_UTF8;
		rp[1].value.value.bytes = amqp_cstring_bytes("reject-publish");
		args = (amqp_table_t){ 2, rp };
	}
	qok = amqp_queue_declare(c, 1, amqp_cstring_bytes(queue), 0, 1, 0, 0,
	    args);
	if (!rpc_ok(c, "queue.declare", err, errlen))
		goto out;
	want = qok->message_count;
	if (qok->consumer_count != 0) {
		snprintf(err, errlen, "queue has %u consumers after a "
		    "restart", qok->consumer_count);
		goto out;
	}
	amqp_basic_qos(c, 1, 0, 1000, 0);
	if (!rpc_ok(c, "basic.qos", err, errlen))
		goto out;
	amqp_basic_consume(c, 1, amqp_cstring_bytes(queue), amqp_empty_bytes,
	    0, 0, 0, amqp_empty_table);
	if (!rpc_ok(c, "basic.consume", err, errlen))
		goto out;
	for (;;) {
		amqp_envelope_t		env;
		amqp_rpc_reply_t	r;
		struct timeval		tv = { 0, 0 };
		uint64_t		id, seq;

		/* Wait long for what the count promised; then briefly,
		 * for anything the count missed. */
		if (got < want)
			tv.tv_sec = 10;
		else
			tv.tv_usec = 300000;
		amqp_maybe_release_buffers(c);
		r = amqp_consume_message(c, &env, &tv, 0);
		if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_TIMEOUT) {
			if (got < want) {
				snprintf(err, errlen, "drain stalled at %llu "
				    "of %llu messages", (unsigned long long)got,
				    (unsigned long long)want);
				goto out;
			}
			break;
		}
		if (r.reply_type != AMQP_RESPONSE_NORMAL) {
			snprintf(err, errlen, "drain: consume failed after "
			    "%llu of %llu", (unsigned long long)got,
			    (unsigned long long)want);
			goto out;
		}
		got++;
		last_tag = env.delivery_tag;
		id = get_id(env.message.body);
		seq = id & 0xffffffffu;
		if (id != UINT64_MAX && (id & ~0xffffffffull) == id_base &&
		    (seq >> KIND_SHIFT) < NKIND) {
			d->n++;
			kind_set(d->times, seq,
			    (uint8_t)(kind_get(d->times, seq) + 1));
			if (env.redelivered)
				kind_set(d->redeliv, seq, 1);
		} else {
			d->other++;
			if (id != UINT64_MAX && (id >> 48) == (run_base >> 48))
				d->other_this_run++;
		}
		amqp_destroy_envelope(&env);
		if (got % 500 == 0) {
			amqp_basic_ack(c, 1, last_tag, 1);
			last_tag = 0;
		}
	}
	if (last_tag != 0)
		amqp_basic_ack(c, 1, last_tag, 1);
	/* Round trip: the acks are processed; the queue must be empty. */
	qok = amqp_queue_declare(c, 1, amqp_cstring_bytes(queue), 1, 0, 0, 0,
	    amqp_empty_table);
	if (!rpc_ok(c, "passive queue.declare", err, errlen))
		goto out;
	if (qok->message_count != 0) {
		snprintf(err, errlen, "%u messages ready after the drain",
		    qok->message_count);
		goto out;
	}
	okay = true;
out:
	close_quietly(c);
	return okay;
}

/* Drains every queue; see drain_queue. */
static bool
drain(int port, uint64_t run_base, uint64_t id_base, struct drained *d,
    char *err, size_t errlen)
{
	return drain_queue(port, QUEUE, run_base, id_base, d, err, errlen) &&
	    drain_queue(port, QUEUE_RP, run_base, id_base, d, err, errlen) &&
	    drain_queue(port, QUEUE_SLOW, run_base, id_base, d, err, errlen);
}

static void
drained_free(struct drained *d)
{
	for (int i = 0; i < NKIND; i++) {
		ids_free(&d->times[i]);
		ids_free(&d->redeliv[i]);
	}
	memset(d, 0, sizeof(*d));
}

/* ---- rounds ------------------------------------------------------------ */

struct totals {
	uint64_t	published, confirmed, nacked, acked, uncertain,
			recovered;
	uint64_t	lost, resurrected, duplicates, dup_live, dup_drain,
			recovered_unconfirmed, foreign;
	uint64_t	redeliv_ok, redeliv_missing, redeliv_spurious;
	uint64_t	kind_confirmed[NKIND], kind_nacked[NKIND],
			kind_lost[NKIND];
	int		errors;
};

/* What one kind's ids came to; added to the round's counts. */
struct tally {
	uint64_t	lost, resur, dups, dup_live, dup_drain, rec_unconf;
	uint64_t	acked, uncertain, rok, rmiss, rspur;
};

static void
tally_kind(const struct pub *p, const struct con *k, const struct drained *d,
    bool verbose, struct tally *y)
{
	enum pub_kind	kind = p->kind;
	uint64_t	seq, lost0 = y->lost;

	for (seq = 1; seq <= p->published; seq++) {
		uint8_t	pf = ids_get(&p->fate, seq);
		uint8_t	af = ids_get(&k->ack[kind], seq);
		uint8_t	dl = ids_get(&k->delivered[kind], seq);
		uint8_t	rc = ids_get(&d->times[kind], seq);

		if (af == ACK_CERTAIN)
			y->acked++;
		else if (af == ACK_SENT)
			y->uncertain++;
		if (pf == PUB_ACKED && af == ACK_NONE && rc == 0)
			y->lost++;
		if (af == ACK_CERTAIN && rc > 0)
			y->resur++;
		if (dl > 1)
			y->dup_live++;
		if (rc > 1)
			y->dup_drain++;
		if (dl + rc > 1)
			y->dups++;
		if (rc > 0 && pf != PUB_ACKED)
			y->rec_unconf++;
		if (rc > 0) {
			bool	flag = ids_get(&d->redeliv[kind], seq) != 0;

			if (dl > 0 && flag)
				y->rok++;
			else if (dl > 0)
				y->rmiss++;
			else if (flag)
				y->rspur++;
			else
				y->rok++;
		}
	}
	if (verbose && y->lost > lost0)
		for (seq = 1; seq <= p->published; seq++)
			if (ids_get(&p->fate, seq) == PUB_ACKED &&
			    ids_get(&k->ack[kind], seq) == ACK_NONE &&
			    ids_get(&d->times[kind], seq) == 0)
				printf("  lost: %s seq %llu (delivered %u)\n",
				    kind_name[kind], (unsigned long long)seq,
				    ids_get(&k->delivered[kind], seq));
}

/* Ids recovered that no publisher of this round sent. */
static uint64_t
unsent_recovered(const struct pub *p, const struct drained *d)
{
	const struct ids	*t = &d->times[p->kind];
	uint64_t		 n = 0;

	for (uint64_t seq = p->published + 1; seq < t->cap; seq++)
		if (t->v[seq] != 0)
			n++;
	return n;
}

static int
run_round(const struct opts *o, int round, uint64_t run_base,
    struct totals *t)
{
	struct broker	 b;
	struct pub	 p[NKIND];
	struct con	 k;
	struct drained	 d;
	struct tally	 y;
	pthread_t	 tp[NKIND], tk;
	uint64_t	 rs = o->seed ^ ((uint64_t)round * 0x51ed27u);
	uint64_t	 id_base = run_base | ((uint64_t)round << 32);
	uint64_t	 published = 0, confirmed = 0, nacked = 0;
	long		 kill_ms, t0;
	char		 err[256] = "";
	int		 rv, i;

	memset(p, 0, sizeof(p));
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	memset(&y, 0, sizeof(y));
	alarm(ROUND_ALARM);

	if (!broker_start(o, &b))
		return -1;
	/* Whatever is there now was drained (acked) by an earlier round:
	 * it must not be. */
	if (!drain(b.port, run_base, id_base, &d, err, sizeof(err))) {
		fprintf(stderr, "crashtest: round %d: pre-drain: %s\n", round,
		    err);
		broker_stop(&b, SIGKILL);
		return -1;
	}
	if (d.other_this_run > 0) {
		printf("round %d: %llu messages drained in an earlier round "
		    "came back\n", round, (unsigned long long)d.other_this_run);
		t->resurrected += d.other_this_run;
	}
	if (d.other > d.other_this_run && round == 1)
		printf("round %d: removed %llu messages of an earlier run\n",
		    round, (unsigned long long)(d.other - d.other_this_run));
	drained_free(&d);

	for (i = 0; i < NKIND; i++) {
		p[i].kind = (enum pub_kind)i;
		p[i].port = b.port;
		p[i].id_base = id_base | ((uint64_t)i << KIND_SHIFT);
		p[i].window = o->window;
		p[i].seed = rnd(&rs);
	}
	k.port = b.port;
	k.id_base = id_base;
	k.seed = rnd(&rs);
	atomic_store(&stop_flag, false);
	atomic_store(&kill_flag, false);
	kill_ms = 200 + (long)(rnd(&rs) % 1801);
	for (i = 0; i < NKIND; i++)
		if (pthread_create(&tp[i], NULL, publisher, &p[i]) != 0)
			die("pthread_create");
	if (pthread_create(&tk, NULL, consumer, &k) != 0)
		die("pthread_create");
	/* The kill time counts from when every client is going. */
	for (t0 = tc_now_ms(); tc_now_ms() - t0 < START_MS; tc_sleep_ms(1)) {
		bool	all = atomic_load(&k.connected);

		for (i = 0; i < NKIND; i++)
			all = all && atomic_load(&p[i].connected);
		if (all)
			break;
	}
	tc_sleep_ms(kill_ms);
	atomic_store(&kill_flag, true);
	rv = broker_stop(&b, SIGKILL);
	atomic_store(&stop_flag, true);
	for (i = 0; i < NKIND; i++)
		pthread_join(tp[i], NULL);
	pthread_join(tk, NULL);
	if (rv != 128 + SIGKILL) {
		fprintf(stderr, "crashtest: round %d: warrend had already "
		    "exited (status %d) before the kill\n", round, rv);
		return -1;
	}
	for (i = 0; i < NKIND; i++)
		if (!p[i].connected) {
			fprintf(stderr, "crashtest: round %d: %s publisher did "
			    "not get going in %ld ms: %s\n", round,
			    kind_name[i], kill_ms, p[i].err);
			return -1;
		}
	if (!k.connected) {
		fprintf(stderr, "crashtest: round %d: consumer did not get "
		    "going in %ld ms: %s\n", round, kill_ms, k.err);
		return -1;
	}

	/* The kill must have been what stopped them. */
	for (i = 0; i < NKIND; i++)
		if (p[i].early && p[i].err[0] != '\0')
			printf("round %d: %s publisher stopped before the "
			    "kill: %s\n", round, kind_name[i], p[i].err);
	if (k.early && k.err[0] != '\0')
		printf("round %d: consumer stopped before the kill: %s\n",
		    round, k.err);

	if (!broker_start(o, &b))
		return -1;
	if (!drain(b.port, run_base, id_base, &d, err, sizeof(err))) {
		fprintf(stderr, "crashtest: round %d: drain: %s\n", round,
		    err);
		broker_stop(&b, SIGKILL);
		return -1;
	}
	if ((rv = broker_stop(&b, SIGTERM)) != 0) {
		fprintf(stderr, "crashtest: round %d: warrend exited with "
		    "status %d on SIGTERM\n", round, rv);
		t->errors++;
	}

	for (i = 0; i < NKIND; i++) {
		uint64_t	lost0 = y.lost;

		tally_kind(&p[i], &k, &d, o->verbose, &y);
		/* Anything recovered must have been published. */
		t->foreign += unsent_recovered(&p[i], &d);
		published += p[i].published;
		confirmed += p[i].acked;
		nacked += p[i].nacked;
		t->kind_confirmed[i] += p[i].acked;
		t->kind_nacked[i] += p[i].nacked;
		t->kind_lost[i] += y.lost - lost0;
	}

	printf("round %d: kill_at=%ldms published=%llu confirmed=%llu "
	    "nacked=%llu delivered=%llu acked=%llu uncertain=%llu "
	    "recovered=%llu lost_confirmed=%llu resurrected_acked=%llu "
	    "duplicates=%llu recovered_unconfirmed=%llu redelivered_ok=%llu "
	    "redelivered_missing=%llu redelivered_spurious=%llu\n",
	    round, kill_ms, (unsigned long long)published,
	    (unsigned long long)confirmed, (unsigned long long)nacked,
	    (unsigned long long)k.ndelivered, (unsigned long long)y.acked,
	    (unsigned long long)y.uncertain, (unsigned long long)d.n,
	    (unsigned long long)y.lost, (unsigned long long)y.resur,
	    (unsigned long long)y.dups, (unsigned long long)y.rec_unconf,
	    (unsigned long long)y.rok, (unsigned long long)y.rmiss,
	    (unsigned long long)y.rspur);
	printf("round %d: confirmed by kind:", round);
	for (i = 0; i < NKIND; i++)
		printf(" %s=%llu/%llu", kind_name[i],
		    (unsigned long long)p[i].acked,
		    (unsigned long long)p[i].published);
	printf("\n");
	if (y.dup_live > 0)
		printf("round %d: %llu ids delivered twice before the crash\n",
		    round, (unsigned long long)y.dup_live);
	if (y.dup_drain > 0)
		printf("round %d: %llu ids recovered twice\n", round,
		    (unsigned long long)y.dup_drain);
	if (k.foreign > 0 || d.other > 0)
		printf("round %d: %llu foreign ids consumed, %llu drained\n",
		    round, (unsigned long long)k.foreign,
		    (unsigned long long)d.other);
	fflush(stdout);

	t->published += published;
	t->confirmed += confirmed;
	t->nacked += nacked;
	t->acked += y.acked;
	t->uncertain += y.uncertain;
	t->recovered += d.n;
	t->lost += y.lost;
	t->resurrected += y.resur;
	t->duplicates += y.dups;
	t->dup_live += y.dup_live;
	t->dup_drain += y.dup_drain;
	t->recovered_unconfirmed += y.rec_unconf;
	t->foreign += d.other + k.foreign;
	t->redeliv_ok += y.rok;
	t->redeliv_missing += y.rmiss;
	t->redeliv_spurious += y.rspur;

	for (i = 0; i < NKIND; i++) {
		ids_free(&p[i].fate);
		ids_free(&k.delivered[i]);
		ids_free(&k.redeliv[i]);
		ids_free(&k.ack[i]);
	}
	drained_free(&d);
	alarm(0);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: crashtest [-r rounds] [-w warrend] "
	    "[-d datadir] [-s seed] [-W window] [-k] [-v]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct opts	 o;
	struct totals	 t;
	uint64_t	 run_base;
	const char	*tmp;
	int		 ch, r, bad;

	memset(&o, 0, sizeof(o));
	memset(&t, 0, sizeof(t));
	o.rounds = 10;
	o.window = 500;
	o.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	if ((o.warrend = getenv("WARREND")) == NULL || o.warrend[0] == '\0')
		o.warrend = "./warrend";
	while ((ch = getopt(argc, argv, "d:kr:s:vw:W:")) != -1) {
		switch (ch) {
		case 'd':
			snprintf(o.dir, sizeof(o.dir), "%s", optarg);
			break;
		case 'k':
			o.keep = true;
			break;
		case 'r':
			o.rounds = atoi(optarg);
			break;
		case 's':
			o.seed = strtoull(optarg, NULL, 0);
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'w':
			o.warrend = optarg;
			break;
		case 'W':
			o.window = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || o.rounds < 1 || o.window < 1)
		usage();
	if (access(o.warrend, X_OK) != 0)
		die("%s is not executable (set WARREND or -w)", o.warrend);
	if (o.dir[0] == '\0') {
		if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
			tmp = "/tmp";
		snprintf(o.dir, sizeof(o.dir), "%s/warren-crash.XXXXXX", tmp);
		if (mkdtemp(o.dir) == NULL)
			die("mkdtemp: %s", strerror(errno));
		o.own_dir = true;
	} else if (mkdir(o.dir, 0755) == -1 && errno != EEXIST)
		die("mkdir %s: %s", o.dir, strerror(errno));
	signal(SIGPIPE, SIG_IGN);

	/* Ids: 16 bits of run, 16 of round, 4 of kind, 28 of sequence. */
	run_base = (rnd(&(uint64_t){ o.seed }) & 0xffffull) << 48;
	printf("crashtest: %d rounds, warrend %s, data dir %s, seed %llu\n",
	    o.rounds, o.warrend, o.dir, (unsigned long long)o.seed);
	fflush(stdout);
	for (r = 1; r <= o.rounds; r++)
		if (run_round(&o, r, run_base, &t) != 0) {
			t.errors++;
			break;
		}

	printf("totals: published=%llu confirmed=%llu nacked=%llu "
	    "acked=%llu uncertain=%llu recovered=%llu delivered_twice_live=%llu "
	    "recovered_twice=%llu foreign=%llu redelivered_ok=%llu "
	    "redelivered_missing=%llu redelivered_spurious=%llu errors=%d\n",
	    (unsigned long long)t.published, (unsigned long long)t.confirmed,
	    (unsigned long long)t.nacked, (unsigned long long)t.acked,
	    (unsigned long long)t.uncertain, (unsigned long long)t.recovered,
	    (unsigned long long)t.dup_live, (unsigned long long)t.dup_drain,
	    (unsigned long long)t.foreign, (unsigned long long)t.redeliv_ok,
	    (unsigned long long)t.redeliv_missing,
	    (unsigned long long)t.redeliv_spurious, t.errors);
	printf("rounds=%d lost_confirmed=%llu resurrected_acked=%llu "
	    "duplicates=%llu recovered_unconfirmed=%llu\n",
	    r > o.rounds ? o.rounds : r, (unsigned long long)t.lost,
	    (unsigned long long)t.resurrected,
	    (unsigned long long)t.duplicates,
	    (unsigned long long)t.recovered_unconfirmed);
	for (int i = 0; i < NKIND; i++)
		printf("kind %s: confirmed=%llu nacked=%llu "
		    "lost_confirmed=%llu\n", kind_name[i],
		    (unsigned long long)t.kind_confirmed[i],
		    (unsigned long long)t.kind_nacked[i],
		    (unsigned long long)t.kind_lost[i]);
	bad = t.lost > 0 || t.resurrected > 0 || t.dup_live > 0 ||
	    t.dup_drain > 0 || t.foreign > 0 || t.errors > 0;
	if (bad)
		printf("crashtest: FAILED; data dir kept: %s (warrend log: "
		    "%s/crashtest-warrend.log)\n", o.dir, o.dir);
	else if (o.own_dir && !o.keep)
		tc_rm_tree(o.dir);
	return bad ? 1 : 0;
}
