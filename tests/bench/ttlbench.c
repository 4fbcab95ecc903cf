/*
 * ttlbench: exact per-message TTL at scale. Publishes N persistent
 * messages with random expirations into one durable queue whose
 * dead-letter queue a consumer reads, then reports how late each message
 * was dead-lettered after its deadline (p50/p99/p99.9/max), and the
 * broker's CPU and wakeups while nothing is due (it should sleep).
 * A benchmark, not a test: it asserts nothing.
 *
 *   ttlbench --port 5672 [--host 127.0.0.1] [--count 1000000]
 *            [--min-ms 40000] [--max-ms 100000] [--pid BROKER_PID]
 *            [--idle-s 10] [--queue ttlbench] [--transient 1]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

static const char *host = "127.0.0.1", *qname = "ttlbench";
static int port = 5672, pid;
static long count = 1000000, min_ms = 40000, max_ms = 100000, idle_s = 10;
static bool transient;	/* --transient 1: plain queues and messages */

static int64_t
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void
die(const char *what)
{
	fprintf(stderr, "ttlbench: %s\n", what);
	exit(1);
}

static void
ok(amqp_connection_state_t c, const char *what)
{
	if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL)
		die(what);
}

static amqp_connection_state_t
connect_to(void)
{
	amqp_connection_state_t c = amqp_new_connection();
	amqp_socket_t *s = amqp_tcp_socket_new(c);

	if (s == NULL || amqp_socket_open(s, host, port) != 0)
		die("cannot connect");
	if (amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
	    "guest", "guest").reply_type != AMQP_RESPONSE_NORMAL)
		die("login refused");
	amqp_channel_open(c, 1);
	ok(c, "channel.open");
	return c;
}

/* utime + stime of the broker in clock ticks, and its wakeups. */
static bool
broker_usage(unsigned long long *ticks, unsigned long long *switches)
{
	char path[64], buf[4096], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	if (pid == 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2,
	    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return false;
	*ticks = ut + st;
	*switches = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) != NULL) {
		unsigned long long v;

		while (fgets(buf, sizeof(buf), f) != NULL)
			if (sscanf(buf, "voluntary_ctxt_switches: %llu",
			    &v) == 1 || sscanf(buf,
			    "nonvoluntary_ctxt_switches: %llu", &v) == 1)
				*switches += v;
		fclose(f);
	}
	return true;
}

static long
rss_kb(const char *key)
{
	char path[64], buf[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (pid == 0 || (f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(buf, sizeof(buf), f) != NULL)
		if (strncmp(buf, key, strlen(key)) == 0)
			v = strtol(buf + strlen(key) + 1, NULL, 10);
	fclose(f);
	return v;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void
declare(amqp_connection_state_t c)
{
	char dead[256];
	amqp_table_entry_t e[2];
	amqp_table_t t = { 2, e };

	snprintf(dead, sizeof(dead), "%s.dead", qname);
	e[0].key = amqp_cstring_bytes("x-dead-letter-exchange");
	e[0].value.kind = AMQP_FIELD_KIND_UTF8;
	e[0].value.value.bytes = amqp_cstring_bytes("");
	e[1].key = amqp_cstring_bytes("x-dead-letter-routing-key");
	e[1].value.kind = AMQP_FIELD_KIND_UTF8;
	e[1].value.value.bytes = amqp_cstring_bytes(dead);
	amqp_queue_declare(c, 1, amqp_cstring_bytes(dead), 0, !transient, 0,
	    0, amqp_empty_table);
	ok(c, "declare the dead-letter queue");
	amqp_queue_purge(c, 1, amqp_cstring_bytes(dead));
	ok(c, "purge");
	amqp_queue_declare(c, 1, amqp_cstring_bytes(qname), 0, !transient, 0,
	    0, t);
	ok(c, "declare the queue (delete it if its arguments differ)");
	amqp_queue_purge(c, 1, amqp_cstring_bytes(qname));
	ok(c, "purge");
}

int
main(int argc, char **argv)
{
	amqp_connection_state_t pub, sub;
	amqp_basic_properties_t p;
	unsigned long long t0, t1, s0, s1;
	int64_t *late, start, first = INT64_MAX, last = 0;
	long got = 0, hz = sysconf(_SC_CLK_TCK);
	char dead[256];

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (strcmp(k, "--host") == 0)
			host = v;
		else if (strcmp(k, "--port") == 0)
			port = atoi(v);
		else if (strcmp(k, "--count") == 0)
			count = atol(v);
		else if (strcmp(k, "--min-ms") == 0)
			min_ms = atol(v);
		else if (strcmp(k, "--max-ms") == 0)
			max_ms = atol(v);
		else if (strcmp(k, "--pid") == 0)
			pid = atoi(v);
		else if (strcmp(k, "--idle-s") == 0)
			idle_s = atol(v);
		else if (strcmp(k, "--queue") == 0)
			qname = v;
		else if (strcmp(k, "--transient") == 0)
			transient = atoi(v) != 0;
		else
			die("unknown option (see the comment at the top)");
	}
	if (count <= 0 || min_ms < 0 || max_ms <= min_ms)
		die("bad --count, --min-ms or --max-ms");
	if ((late = calloc((size_t)count, sizeof(*late))) == NULL)
		die("out of memory");
	pub = connect_to();
	sub = connect_to();
	declare(pub);
	snprintf(dead, sizeof(dead), "%s.dead", qname);
	amqp_basic_consume(sub, 1, amqp_cstring_bytes(dead), amqp_empty_bytes,
	    0, 1, 0, amqp_empty_table);
	ok(sub, "basic.consume");

	srand(1);
	memset(&p, 0, sizeof(p));
	p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_EXPIRATION_FLAG;
	p.delivery_mode = transient ? 1 : 2;
	start = now_ms();
	for (long i = 0; i < count; i++) {
		char body[32], exp[32];
		long ttl = min_ms + (long)((double)rand() / RAND_MAX *
		    (double)(max_ms - min_ms));
		int64_t due = now_ms() + ttl;

		if (due < first)
			first = due;
		if (due > last)
			last = due;
		snprintf(exp, sizeof(exp), "%ld", ttl);
		snprintf(body, sizeof(body), "%" PRId64, due);
		p.expiration = amqp_cstring_bytes(exp);
		if (amqp_basic_publish(pub, 1, amqp_empty_bytes,
		    amqp_cstring_bytes(qname), 0, 0, &p,
		    amqp_cstring_bytes(body)) != 0)
			die("publish failed");
		/*
		 * A round trip every 1000: the broker starts each deadline
		 * within a batch of when it was computed here.
		 */
		if (i % 1000 == 999) {
			amqp_queue_declare(pub, 1, amqp_cstring_bytes(qname),
			    1, 0, 0, 0, amqp_empty_table);
			ok(pub, "passive declare");
		}
	}
	amqp_queue_declare(pub, 1, amqp_cstring_bytes(qname), 1, 0, 0, 0,
	    amqp_empty_table);
	ok(pub, "passive declare");
	printf("published %ld messages in %.1f s (TTL %ld..%ld ms)\n", count,
	    (double)(now_ms() - start) / 1000., min_ms, max_ms);
	if (pid != 0)
		printf("broker RSS %ld kB (peak %ld kB) with them queued\n",
		    rss_kb("VmRSS:"), rss_kb("VmHWM:"));

	/* Nothing is due yet: the broker should sleep. */
	if (idle_s > 0 && first - now_ms() > idle_s * 1000 + 500 &&
	    broker_usage(&t0, &s0)) {
		sleep((unsigned)idle_s);
		broker_usage(&t1, &s1);
		printf("idle %ld s before the first deadline: broker CPU "
		    "%.2f %% , %llu wakeups\n", idle_s, 100. * (double)(t1 - t0)
		    / (double)hz / (double)idle_s, s1 - s0);
	} else if (idle_s > 0)
		printf("idle window skipped (first deadline too near, or no "
		    "--pid)\n");

	broker_usage(&t0, &s0);
	start = now_ms();
	while (got < count) {
		/*
		 * The first may wait for the latest deadline: a broker that
		 * expires only at the head (RabbitMQ) holds them all behind
		 * the first message published.
		 */
		int64_t wait = got > 0 ? 10 : (last - now_ms()) / 1000 + 10;
		struct timeval tv = { wait > 10 ? (time_t)wait : 10, 0 };
		amqp_envelope_t env;
		char buf[32];
		size_t n;

		amqp_maybe_release_buffers(sub);
		if (amqp_consume_message(sub, &env, &tv, 0).reply_type !=
		    AMQP_RESPONSE_NORMAL)
			break;
		n = env.message.body.len < sizeof(buf) - 1 ?
		    env.message.body.len : sizeof(buf) - 1;
		memcpy(buf, env.message.body.bytes, n);
		buf[n] = '\0';
		late[got++] = now_ms() - strtoll(buf, NULL, 10);
		amqp_destroy_envelope(&env);
	}
	broker_usage(&t1, &s1);
	if (got == 0)
		die("nothing was dead-lettered");
	qsort(late, (size_t)got, sizeof(*late), cmp_i64);
	printf("dead-lettered %ld of %ld; lateness after the deadline: "
	    "min %" PRId64 " ms, p50 %" PRId64 " ms, p99 %" PRId64
	    " ms, p99.9 %" PRId64 " ms, max %" PRId64 " ms\n", got, count,
	    late[0], late[got / 2], late[(size_t)((double)got * 0.99)],
	    late[(size_t)((double)got * 0.999)], late[got - 1]);
	if (pid != 0)
		printf("broker CPU while expiring: %.1f %% over %.1f s\n",
		    100. * (double)(t1 - t0) / (double)hz /
		    ((double)(now_ms() - start) / 1000.),
		    (double)(now_ms() - start) / 1000.);
	amqp_connection_close(pub, AMQP_REPLY_SUCCESS);
	amqp_connection_close(sub, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(pub);
	amqp_destroy_connection(sub);
	free(late);
	return got == count ? 0 : 1;
}
