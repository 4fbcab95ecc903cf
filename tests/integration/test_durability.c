/*
 * Durable storage: what survives a clean restart and a kill -9, what must
 * not, publisher confirms as a durability promise, refusal of a database
 * warrend cannot use, and storage errors (a full disk, injected commit
 * failures).  Every test starts its own warrend on its own data dir.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>
#include <sqlite3.h>

#include "tests/integration/harness.h"

/*
 * Each test's struct hbroker is static: the harness keeps a pointer to it
 * to kill warrend and remove its dir at exit, which a failed assertion
 * reaches after the test's stack frame is gone.
 */
TestSuite(durability, .timeout = 120);

#define RPC_MS		5000	/* every synchronous call */
#define CONFIRM_MS	10000	/* waiting for one batch of confirms */

/* ---- connections and entities ----------------------------------------- */

static amqp_channel_t	scratch_ch = 200;	/* for passive probes */

static void
set_timeouts(amqp_connection_state_t c)
{
	struct timeval	tv = { RPC_MS / 1000, 0 };

	amqp_set_rpc_timeout(c, &tv);
}

static amqp_connection_state_t
dconnect(const struct hbroker *b)
{
	amqp_connection_state_t	c = hb_connect(b);

	set_timeouts(c);
	return c;
}

static void
ok(amqp_connection_state_t c, const char *what)
{
	amqp_rpc_reply_t	r = amqp_get_rpc_reply(c);

	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return;
	if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
		if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			amqp_channel_close_t	*m = r.reply.decoded;

			cr_assert_fail("%s: channel.close %d '%.*s'", what,
			    m->reply_code, (int)m->reply_text.len,
			    (char *)m->reply_text.bytes);
		}
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_connection_close_t	*m = r.reply.decoded;

			cr_assert_fail("%s: connection.close %d '%.*s'", what,
			    m->reply_code, (int)m->reply_text.len,
			    (char *)m->reply_text.bytes);
		}
	}
	cr_assert_fail("%s failed: reply type %d, library error %s", what,
	    (int)r.reply_type, amqp_error_string2(r.library_error));
}

static void
channel(amqp_connection_state_t c, amqp_channel_t ch)
{
	amqp_channel_open(c, ch);
	ok(c, "channel.open");
}

static void
declare_queue(amqp_connection_state_t c, amqp_channel_t ch, const char *q,
    bool durable, bool exclusive, bool auto_delete)
{
	amqp_queue_declare(c, ch, amqp_cstring_bytes(q), 0, durable,
	    exclusive, auto_delete, amqp_empty_table);
	ok(c, "queue.declare");
}

static void
declare_exchange(amqp_connection_state_t c, amqp_channel_t ch,
    const char *x, const char *type, bool durable)
{
	amqp_exchange_declare(c, ch, amqp_cstring_bytes(x),
	    amqp_cstring_bytes(type), 0, durable, 0, 0, amqp_empty_table);
	ok(c, "exchange.declare");
}

static void
bind_queue(amqp_connection_state_t c, amqp_channel_t ch, const char *q,
    const char *x, const char *key)
{
	amqp_queue_bind(c, ch, amqp_cstring_bytes(q), amqp_cstring_bytes(x),
	    amqp_cstring_bytes(key), amqp_empty_table);
	ok(c, "queue.bind");
}

static void
confirm_select(amqp_connection_state_t c, amqp_channel_t ch)
{
	amqp_confirm_select(c, ch);
	ok(c, "confirm.select");
}

/* A synchronous round trip on ch: every method sent on ch before it has
 * been processed once it returns. */
static void
round_trip(amqp_connection_state_t c, amqp_channel_t ch, uint16_t prefetch)
{
	amqp_basic_qos(c, ch, 0, prefetch, 0);
	ok(c, "basic.qos round trip");
}

/*
 * Passive-declares queue or exchange on a scratch channel.  Returns the
 * queue's message count (0 for an exchange), or -1 on 404.  Any other
 * failure fails the test.
 */
static long
probe(amqp_connection_state_t c, const char *name, bool is_queue)
{
	amqp_channel_t			 ch = scratch_ch++;
	amqp_queue_declare_ok_t		*qok = NULL;
	amqp_rpc_reply_t		 r;
	long				 n = 0;

	channel(c, ch);
	if (is_queue)
		qok = amqp_queue_declare(c, ch, amqp_cstring_bytes(name), 1,
		    0, 0, 0, amqp_empty_table);
	else
		amqp_exchange_declare(c, ch, amqp_cstring_bytes(name),
		    amqp_cstring_bytes("direct"), 1, 0, 0, 0,
		    amqp_empty_table);
	r = amqp_get_rpc_reply(c);
	if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
	    r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
		hb_expect_close_on(c, r, false, 404, ch);
		return -1;
	}
	ok(c, is_queue ? "passive queue.declare" : "passive exchange.declare");
	if (qok != NULL)
		n = (long)qok->message_count;
	amqp_channel_close(c, ch, AMQP_REPLY_SUCCESS);
	ok(c, "channel.close");
	return n;
}

static long
queue_count(amqp_connection_state_t c, const char *q)
{
	return probe(c, q, true);
}

/*
 * Declares name again with different properties on a scratch channel and
 * asserts 406 PRECONDITION_FAILED: the broker still knows the original
 * ones (e.g. durable after a restart).
 */
static void
expect_inequivalent_queue(amqp_connection_state_t c, const char *q,
    bool durable, bool auto_delete)
{
	amqp_channel_t	ch = scratch_ch++;

	channel(c, ch);
	amqp_queue_declare(c, ch, amqp_cstring_bytes(q), 0, durable, 0,
	    auto_delete, amqp_empty_table);
	hb_expect_close_on(c, amqp_get_rpc_reply(c), false, 406, ch);
}

static void
expect_inequivalent_exchange(amqp_connection_state_t c, const char *x,
    const char *type, bool durable)
{
	amqp_channel_t	ch = scratch_ch++;

	channel(c, ch);
	amqp_exchange_declare(c, ch, amqp_cstring_bytes(x),
	    amqp_cstring_bytes(type), 0, durable, 0, 0, amqp_empty_table);
	hb_expect_close_on(c, amqp_get_rpc_reply(c), false, 406, ch);
}

/* ---- messages ---------------------------------------------------------- */

static amqp_basic_properties_t
persistent(void)
{
	amqp_basic_properties_t	p;

	memset(&p, 0, sizeof(p));
	p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
	p.delivery_mode = 2;
	return p;
}

static void
publish(amqp_connection_state_t c, amqp_channel_t ch, const char *x,
    const char *key, const amqp_basic_properties_t *props, amqp_bytes_t body)
{
	int	rc;

	rc = amqp_basic_publish(c, ch, amqp_cstring_bytes(x),
	    amqp_cstring_bytes(key), 0, 0, props, body);
	cr_assert_eq(rc, AMQP_STATUS_OK, "basic.publish: %s",
	    amqp_error_string2(rc));
}

static void
publish_str(amqp_connection_state_t c, amqp_channel_t ch, const char *x,
    const char *key, const amqp_basic_properties_t *props, const char *body)
{
	publish(c, ch, x, key, props, amqp_cstring_bytes(body));
}

/*
 * Waits until every tag in (done, last] on ch has been acked or nacked;
 * returns the number of nacks.  Fails on a timeout or a close.
 */
static int
wait_confirms(amqp_connection_state_t c, amqp_channel_t ch, uint64_t first,
    uint64_t last)
{
	struct timeval	 tv = { CONFIRM_MS / 1000, 0 };
	amqp_frame_t	 f;
	uint8_t		*st;	/* per tag: 0 waiting, 1 acked, 2 nacked */
	uint64_t	 left = last - first + 1, t, tag;
	int		 nacks = 0, rc;

	cr_assert_geq(last, first);
	st = calloc(last - first + 1, 1);
	cr_assert_not_null(st);
	while (left > 0) {
		bool	multiple, is_ack;

		rc = amqp_simple_wait_frame_noblock(c, &f, &tv);
		cr_assert_eq(rc, AMQP_STATUS_OK, "waiting for confirms "
		    "%llu..%llu (%llu missing): %s",
		    (unsigned long long)first, (unsigned long long)last,
		    (unsigned long long)left, amqp_error_string2(rc));
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		cr_assert(f.payload.method.id != AMQP_CHANNEL_CLOSE_METHOD &&
		    f.payload.method.id != AMQP_CONNECTION_CLOSE_METHOD,
		    "closed while waiting for confirms (method 0x%08x)",
		    f.payload.method.id);
		if (f.channel != ch)
			continue;
		if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
			amqp_basic_ack_t *a = f.payload.method.decoded;

			tag = a->delivery_tag;
			multiple = a->multiple;
			is_ack = true;
		} else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
			amqp_basic_nack_t *n = f.payload.method.decoded;

			tag = n->delivery_tag;
			multiple = n->multiple;
			is_ack = false;
		} else
			continue;
		cr_assert(tag >= 1 && tag <= last, "confirm for tag %llu, "
		    "only %llu published", (unsigned long long)tag,
		    (unsigned long long)last);
		for (t = multiple ? first : tag; t <= tag; t++) {
			if (t < first || st[t - first] != 0)
				continue;
			st[t - first] = is_ack ? 1 : 2;
			left--;
			if (!is_ack)
				nacks++;
		}
	}
	free(st);
	return nacks;
}

/* Publishes n persistent messages "prefix-%05d" (from index from) on a
 * confirm channel whose next tag is *tag, asserting all are acked. */
static void
publish_confirmed(amqp_connection_state_t c, amqp_channel_t ch,
    const char *x, const char *key, const char *prefix, int from, int n,
    uint64_t *tag)
{
	amqp_basic_properties_t	p = persistent();
	char			body[128];
	uint64_t		first = *tag;
	int			i;

	for (i = from; i < from + n; i++) {
		snprintf(body, sizeof(body), "%s-%05d", prefix, i);
		publish_str(c, ch, x, key, &p, body);
		(*tag)++;
		/* Keep the window small enough that unread confirms never
		 * back up into the broker. */
		if ((*tag - first) % 500 == 0) {
			cr_assert_eq(wait_confirms(c, ch, first, *tag - 1), 0,
			    "nack for a persistent publish");
			first = *tag;
		}
	}
	if (*tag > first)
		cr_assert_eq(wait_confirms(c, ch, first, *tag - 1), 0,
		    "nack for a persistent publish");
}

/*
 * basic.get.  Returns false on get-empty; else fills *msg (destroy with
 * amqp_destroy_message) and *ok.
 */
static bool
get(amqp_connection_state_t c, amqp_channel_t ch, const char *q, bool no_ack,
    amqp_message_t *msg, amqp_basic_get_ok_t *gok)
{
	amqp_rpc_reply_t	r;

	r = amqp_basic_get(c, ch, amqp_cstring_bytes(q), no_ack);
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		ok(c, "basic.get");
	if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
		return false;
	cr_assert_eq(r.reply.id, AMQP_BASIC_GET_OK_METHOD);
	*gok = *(amqp_basic_get_ok_t *)r.reply.decoded;
	r = amqp_read_message(c, ch, msg, 0);
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		ok(c, "reading a basic.get message");
	return true;
}

/* basic.get with no-ack; asserts the body and the redelivered flag. */
static void
expect_get(amqp_connection_state_t c, amqp_channel_t ch, const char *q,
    const char *want, bool redelivered)
{
	amqp_message_t		m;
	amqp_basic_get_ok_t	g;

	cr_assert(get(c, ch, q, true, &m, &g), "queue %s empty, wanted '%s'",
	    q, want);
	cr_assert(m.body.len == strlen(want) &&
	    memcmp(m.body.bytes, want, m.body.len) == 0,
	    "queue %s: got '%.*s', wanted '%s'", q, (int)m.body.len,
	    (char *)m.body.bytes, want);
	cr_assert_eq(g.redelivered, redelivered, "'%s': redelivered=%d, "
	    "wanted %d", want, g.redelivered, redelivered);
	amqp_destroy_message(&m);
}

static void
expect_empty(amqp_connection_state_t c, amqp_channel_t ch, const char *q)
{
	amqp_message_t		m;
	amqp_basic_get_ok_t	g;

	if (get(c, ch, q, true, &m, &g))
		cr_assert_fail("queue %s: unexpected message '%.*s'", q,
		    (int)m.body.len, (char *)m.body.bytes);
}

static bool
bytes_eq(amqp_bytes_t a, amqp_bytes_t b)
{
	return a.len == b.len && (a.len == 0 ||
	    memcmp(a.bytes, b.bytes, a.len) == 0);
}

static bool
table_eq(amqp_table_t *a, amqp_table_t *b)
{
	static uint8_t	ba[65536], bb[65536];
	size_t		oa = 0, ob = 0;
	amqp_bytes_t	ea = { sizeof(ba), ba }, eb = { sizeof(bb), bb };

	cr_assert_eq(amqp_encode_table(ea, a, &oa), AMQP_STATUS_OK);
	cr_assert_eq(amqp_encode_table(eb, b, &ob), AMQP_STATUS_OK);
	return oa == ob && memcmp(ba, bb, oa) == 0;
}

/* Asserts that got carries exactly the properties of want. */
static void
expect_props(const char *what, amqp_basic_properties_t *got,
    amqp_basic_properties_t *want)
{
	amqp_flags_t	f = want->_flags;

	cr_assert_eq(got->_flags, f, "%s: property flags 0x%04x, wanted "
	    "0x%04x", what, (unsigned)got->_flags, (unsigned)f);
#define BYTES(flag, field) \
	if (f & (flag)) \
		cr_assert(bytes_eq(got->field, want->field), \
		    "%s: property " #field " '%.*s', wanted '%.*s'", what, \
		    (int)got->field.len, (char *)got->field.bytes, \
		    (int)want->field.len, (char *)want->field.bytes)
	BYTES(AMQP_BASIC_CONTENT_TYPE_FLAG, content_type);
	BYTES(AMQP_BASIC_CONTENT_ENCODING_FLAG, content_encoding);
	BYTES(AMQP_BASIC_CORRELATION_ID_FLAG, correlation_id);
	BYTES(AMQP_BASIC_REPLY_TO_FLAG, reply_to);
	BYTES(AMQP_BASIC_EXPIRATION_FLAG, expiration);
	BYTES(AMQP_BASIC_MESSAGE_ID_FLAG, message_id);
	BYTES(AMQP_BASIC_TYPE_FLAG, type);
	BYTES(AMQP_BASIC_USER_ID_FLAG, user_id);
	BYTES(AMQP_BASIC_APP_ID_FLAG, app_id);
	BYTES(AMQP_BASIC_CLUSTER_ID_FLAG, cluster_id);
#undef BYTES
	if (f & AMQP_BASIC_HEADERS_FLAG)
		cr_assert(table_eq(&got->headers, &want->headers),
		    "%s: headers differ", what);
	if (f & AMQP_BASIC_DELIVERY_MODE_FLAG)
		cr_assert_eq(got->delivery_mode, want->delivery_mode, "%s",
		    what);
	if (f & AMQP_BASIC_PRIORITY_FLAG)
		cr_assert_eq(got->priority, want->priority, "%s", what);
	if (f & AMQP_BASIC_TIMESTAMP_FLAG)
		cr_assert_eq(got->timestamp, want->timestamp, "%s", what);
}

/* A body whose first 8 bytes are id (big-endian), padded to len. */
static amqp_bytes_t
id_body(uint64_t id, size_t len)
{
	amqp_bytes_t	b;
	uint8_t		*p;
	size_t		 i;

	cr_assert_geq(len, 8);
	p = malloc(len);
	cr_assert_not_null(p);
	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(id >> (56 - 8 * i));
	for (i = 8; i < len; i++)
		p[i] = (uint8_t)(id * 31 + i);
	b.len = len;
	b.bytes = p;
	return b;
}

static uint64_t
body_id(amqp_bytes_t b)
{
	const uint8_t	*p = b.bytes;
	uint64_t	 id = 0;
	size_t		 i;

	cr_assert_geq(b.len, 8, "body of %zu bytes carries no id", b.len);
	for (i = 0; i < 8; i++)
		id = id << 8 | p[i];
	return id;
}

/* ---- files ------------------------------------------------------------- */

static char *
read_file(const char *path)
{
	static char	buf[65536];
	FILE		*f;
	size_t		 n;

	buf[0] = '\0';
	if ((f = fopen(path, "r")) == NULL)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static char *
broker_log(const struct hbroker *b)
{
	char	path[512];

	snprintf(path, sizeof(path), "%s/stderr.log", b->dir);
	return read_file(path);
}

/* Runs one SELECT count(*) against DIR/warren.db, read-only. */
static long
sql_count(const char *dir, const char *sql)
{
	char		 path[512];
	sqlite3		*db;
	sqlite3_stmt	*st;
	long		 n = -1;

	snprintf(path, sizeof(path), "%s/warren.db", dir);
	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK, "open %s: %s", path, sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	cr_assert_geq(n, 0, "%s returned no row", sql);
	return n;
}

static void
rm_dir(const char *dir)
{
	char	cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)system(cmd);
}

static char	own_dir[256];	/* made by temp_dir; removed at exit */

static void
own_dir_cleanup(void)
{
	if (own_dir[0] != '\0')
		rm_dir(own_dir);
}

/* A fresh directory for the test to fill by hand (one per test). */
static void
temp_dir(char *dir, size_t len)
{
	const char	*tmp;

	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(dir, len, "%s/warren-dur.XXXXXX", tmp);
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(own_dir, sizeof(own_dir), "%s", dir);
	atexit(own_dir_cleanup);
}

/* Runs warrend on dir (foreground) and returns its exit status; stderr
 * goes to err. */
static int
run_warrend(const char *dir, const char *const *extra, char *err,
    size_t errlen)
{
	const char	*argv[18];
	int		 n = 0;

	argv[n++] = hb_warrend_path();
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--bind";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--data-dir";
	argv[n++] = dir;
	argv[n++] = "--admin-port";
	argv[n++] = "0";
	argv[n++] = "--prometheus-port";
	argv[n++] = "none";
	for (; extra != NULL && *extra != NULL && n < 17; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	return hb_run(argv, NULL, 0, err, errlen);
}

/* Clean restart: SIGTERM (must exit 0), then start again on the dir. */
static void
clean_restart(struct hbroker *b, const char *const *extra)
{
	int	rv = hb_halt(b, SIGTERM);

	if (rv != 0)
		fprintf(stderr, "%s", broker_log(b));
	cr_assert_eq(rv, 0, "warrend exited with status %d on SIGTERM", rv);
	hb_restart(b, extra);
}

static void
crash_restart(struct hbroker *b, const char *const *extra)
{
	cr_assert_eq(hb_kill(b), 128 + SIGKILL);
	hb_restart(b, extra);
}

/* ---- definitions ------------------------------------------------------- */

Test(durability, definitions_survive_clean_restart)
{
	static struct hbroker	b;
	amqp_connection_state_t	c;
	amqp_basic_properties_t	p = persistent();
	char			*x = strdup(hb_name("dx"));
	char			*x2 = strdup(hb_name("dx2"));
	char			*q = strdup(hb_name("dq"));
	char			*qa = strdup(hb_name("dqa"));
	uint64_t		 tag = 1;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = dconnect(&b);
	declare_exchange(c, 1, x, "direct", true);
	declare_exchange(c, 1, x2, "fanout", true);
	declare_queue(c, 1, q, true, false, false);
	/* RabbitMQ keeps a durable auto-delete queue over a restart. */
	declare_queue(c, 1, qa, true, false, true);
	bind_queue(c, 1, q, x, "k");
	bind_queue(c, 1, qa, x, "k");
	amqp_exchange_bind(c, 1, amqp_cstring_bytes(x),
	    amqp_cstring_bytes(x2), amqp_cstring_bytes("k"), amqp_empty_table);
	ok(c, "exchange.bind");
	hb_close(c);

	clean_restart(&b, NULL);
	c = dconnect(&b);
	cr_assert_eq(probe(c, x, false), 0, "durable exchange lost");
	cr_assert_eq(probe(c, x2, false), 0, "durable exchange lost");
	cr_assert_eq(queue_count(c, q), 0, "durable queue lost");
	cr_assert_eq(queue_count(c, qa), 0, "durable auto-delete queue lost");
	/* They came back with their properties. */
	expect_inequivalent_exchange(c, x, "fanout", true);
	expect_inequivalent_exchange(c, x, "direct", false);
	expect_inequivalent_queue(c, q, false, false);
	expect_inequivalent_queue(c, qa, true, false);

	/* The bindings came back: x -> q, x -> qa, and x2 -> x. */
	confirm_select(c, 1);
	publish_str(c, 1, x, "k", &p, "via-x");
	publish_str(c, 1, x2, "k", &p, "via-x2");
	publish_str(c, 1, x, "other-key", &p, "unrouted");
	tag += 3;
	cr_assert_eq(wait_confirms(c, 1, 1, tag - 1), 0);
	expect_get(c, 1, q, "via-x", false);
	expect_get(c, 1, q, "via-x2", false);
	expect_empty(c, 1, q);
	expect_get(c, 1, qa, "via-x", false);
	expect_get(c, 1, qa, "via-x2", false);
	expect_empty(c, 1, qa);
	hb_close(c);
	hb_stop(&b);
}

Test(durability, deletions_survive_clean_restart)
{
	static struct hbroker	b;
	amqp_connection_state_t	c;
	char			*x = strdup(hb_name("delx"));
	char			*q1 = strdup(hb_name("delq"));
	char			*q2 = strdup(hb_name("purq"));
	char			*q3 = strdup(hb_name("unbq"));
	char			*x3 = strdup(hb_name("unbx"));
	amqp_basic_properties_t	p = persistent();
	uint64_t		 tag = 1;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = dconnect(&b);
	confirm_select(c, 1);
	declare_exchange(c, 1, x, "fanout", true);
	declare_exchange(c, 1, x3, "direct", true);
	declare_queue(c, 1, q1, true, false, false);
	declare_queue(c, 1, q2, true, false, false);
	declare_queue(c, 1, q3, true, false, false);
	bind_queue(c, 1, q3, x3, "k");
	publish_confirmed(c, 1, "", q1, "d", 0, 5, &tag);
	publish_confirmed(c, 1, "", q2, "p", 0, 5, &tag);
	clean_restart(&b, NULL);

	c = dconnect(&b);
	amqp_queue_delete(c, 1, amqp_cstring_bytes(q1), 0, 0);
	ok(c, "queue.delete");
	amqp_queue_purge(c, 1, amqp_cstring_bytes(q2));
	ok(c, "queue.purge");
	amqp_exchange_delete(c, 1, amqp_cstring_bytes(x), 0);
	ok(c, "exchange.delete");
	amqp_queue_unbind(c, 1, amqp_cstring_bytes(q3), amqp_cstring_bytes(x3),
	    amqp_cstring_bytes("k"), amqp_empty_table);
	ok(c, "queue.unbind");
	hb_close(c);
	clean_restart(&b, NULL);

	c = dconnect(&b);
	cr_assert_eq(queue_count(c, q1), -1, "deleted queue came back");
	cr_assert_eq(queue_count(c, q2), 0, "purged messages came back");
	cr_assert_eq(probe(c, x, false), -1, "deleted exchange came back");
	tag = 1;
	confirm_select(c, 1);
	publish_str(c, 1, x3, "k", &p, "nowhere");
	cr_assert_eq(wait_confirms(c, 1, tag, tag), 0);
	expect_empty(c, 1, q3);
	hb_close(c);
	hb_stop(&b);
}

Test(durability, nondurable_queue_and_exchange_gone_after_restart)
{
	static struct hbroker	b;
	amqp_connection_state_t	c;
	char			*q = strdup(hb_name("tq"));
	char			*x = strdup(hb_name("tx"));
	char			*dq = strdup(hb_name("dq"));
	char			*dx = strdup(hb_name("dx"));
	uint64_t		 tag = 1;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = dconnect(&b);
	confirm_select(c, 1);
	declare_queue(c, 1, q, false, false, false);
	declare_exchange(c, 1, x, "direct", false);
	declare_queue(c, 1, dq, true, false, false);
	declare_exchange(c, 1, dx, "direct", true);
	/* Bindings with one transient end die with that end. */
	bind_queue(c, 1, dq, x, "k");
	bind_queue(c, 1, q, dx, "k");
	/* Persistent messages in a transient queue die with it. */
	publish_confirmed(c, 1, "", q, "t", 0, 3, &tag);
	hb_close(c);

	clean_restart(&b, NULL);
	c = dconnect(&b);
	cr_assert_eq(queue_count(c, q), -1, "non-durable queue survived");
	cr_assert_eq(probe(c, x, false), -1, "non-durable exchange survived");
	cr_assert_eq(queue_count(c, dq), 0);
	cr_assert_eq(probe(c, dx, false), 0);
	/* The same after a crash. */
	declare_queue(c, 1, q, false, false, false);
	declare_exchange(c, 1, x, "direct", false);
	tag = 1;
	confirm_select(c, 1);
	publish_confirmed(c, 1, "", q, "t", 0, 3, &tag);
	crash_restart(&b, NULL);
	hb_close(c);
	c = dconnect(&b);
	cr_assert_eq(queue_count(c, q), -1, "non-durable queue survived "
	    "kill -9");
	cr_assert_eq(probe(c, x, false), -1, "non-durable exchange survived "
	    "kill -9");
	cr_assert_eq(queue_count(c, dq), 0);
	hb_close(c);
	hb_stop(&b);
}

Test(durability, exclusive_durable_queue_gone_after_restart)
{
	static struct hbroker	b;
	amqp_connection_state_t	c;
	char			*xq = strdup(hb_name("xq"));
	char			*xq2 = strdup(hb_name("xq2"));
	char			*dq = strdup(hb_name("dq"));
	uint64_t		 tag = 1;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = dconnect(&b);
	confirm_select(c, 1);
	declare_queue(c, 1, xq, true, true, false);
	declare_queue(c, 1, dq, true, false, false);
	publish_confirmed(c, 1, "", xq, "x", 0, 3, &tag);
	publish_confirmed(c, 1, "", dq, "d", 0, 3, &tag);
	/* The owner is still connected when the broker is killed. */
	crash_restart(&b, NULL);
	hb_close(c);

	c = dconnect(&b);
	cr_assert_eq(queue_count(c, xq), -1, "exclusive queue survived "
	    "kill -9");
	cr_assert_eq(queue_count(c, dq), 3, "durable queue lost messages");
	hb_close(c);

	c = dconnect(&b);
	tag = 1;
	confirm_select(c, 1);
	declare_queue(c, 1, xq2, true, true, false);
	publish_confirmed(c, 1, "", xq2, "x", 0, 3, &tag);
	clean_restart(&b, NULL);
	hb_close(c);
	c = dconnect(&b);
	cr_assert_eq(queue_count(c, xq2), -1, "exclusive queue survived a "
	    "clean restart");
	/* Nobody else's exclusive queue: the name is free to declare. */
	declare_queue(c, 1, xq, true, false, false);
	cr_assert_eq(queue_count(c, xq), 0, "exclusive queue's messages came "
	    "back in a new queue of the same name");
	cr_assert_eq(queue_count(c, dq), 3);
	hb_close(c);
	hb_stop(&b);
}

/* ---- messages ---------------------------------------------------------- */

#define NPROPS	6

/* A varied set of properties for message i (all persistent). */
static amqp_basic_properties_t
rich_props(int i, amqp_table_entry_t *e, amqp_field_value_t *arr,
    amqp_table_entry_t *inner)
{
	static uint8_t		bin[5] = { 0, 1, 0xff, 0xce, 0x80 };
	amqp_basic_properties_t	p = persistent();
	char			buf[64];

	if (i == 0)
		return p;	/* delivery_mode only */
	p._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_HEADERS_FLAG |
	    AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TIMESTAMP_FLAG;
	p.content_type = amqp_cstring_bytes("application/x-test");
	snprintf(buf, sizeof(buf), "msg-%d", i);
	p.message_id = amqp_bytes_malloc_dup(amqp_cstring_bytes(buf));
	p.timestamp = 1700000000ull + (uint64_t)i;

	inner[0].key = amqp_cstring_bytes("deep");
	inner[0].value.kind = AMQP_FIELD_KIND_UTF8;
	inner[0].value.value.bytes = amqp_cstring_bytes("value");
	arr[0].kind = AMQP_FIELD_KIND_I32;
	arr[0].value.i32 = 1;
	arr[1].kind = AMQP_FIELD_KIND_UTF8;
	arr[1].value.bytes = amqp_cstring_bytes("two");

	e[0].key = amqp_cstring_bytes("str");
	e[0].value.kind = AMQP_FIELD_KIND_UTF8;
	e[0].value.value.bytes = amqp_cstring_bytes("h\xc3\xa9llo");
	e[1].key = amqp_cstring_bytes("i32");
	e[1].value.kind = AMQP_FIELD_KIND_I32;
	e[1].value.value.i32 = -7 * i;
	e[2].key = amqp_cstring_bytes("i64");
	e[2].value.kind = AMQP_FIELD_KIND_I64;
	e[2].value.value.i64 = (int64_t)1 << 40;
	e[3].key = amqp_cstring_bytes("flag");
	e[3].value.kind = AMQP_FIELD_KIND_BOOLEAN;
	e[3].value.value.boolean = i & 1;
	e[4].key = amqp_cstring_bytes("dbl");
	e[4].value.kind = AMQP_FIELD_KIND_F64;
	e[4].value.value.f64 = 3.25;
	e[5].key = amqp_cstring_bytes("bin");
	e[5].value.kind = AMQP_FIELD_KIND_BYTES;
	e[5].value.value.bytes.len = sizeof(bin);
	e[5].value.value.bytes.bytes = bin;
	e[6].key = amqp_cstring_bytes("table");
	e[6].value.kind = AMQP_FIELD_KIND_TABLE;
	e[6].value.value.table.num_entries = 1;
	e[6].value.value.table.entries = inner;
	e[7].key = amqp_cstring_bytes("array");
	e[7].value.kind = AMQP_FIELD_KIND_ARRAY;
	e[7].value.value.array.num_entries = 2;
	e[7].value.value.array.entries = arr;
	e[8].key = amqp_cstring_bytes("ts");
	e[8].value.kind = AMQP_FIELD_KIND_TIMESTAMP;
	e[8].value.value.u64 = 1234567890;
	e[9].key = amqp_cstring_bytes("void");
	e[9].value.kind = AMQP_FIELD_KIND_VOID;
	p.headers.num_entries = 10;
	p.headers.entries = e;

	if (i >= 2) {
		p._flags |= AMQP_BASIC_CONTENT_ENCODING_FLAG |
		    AMQP_BASIC_PRIORITY_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG |
		    AMQP_BASIC_REPLY_TO_FLAG | AMQP_BASIC_TYPE_FLAG |
		    AMQP_BASIC_USER_ID_FLAG | AMQP_BASIC_APP_ID_FLAG;
		p.content_encoding = amqp_cstring_bytes("identity");
		p.priority = (uint8_t)i;
		p.correlation_id = amqp_cstring_bytes("corr-\x01-\x7f");
		p.reply_to = amqp_cstring_bytes("replies-here");
		p.type = amqp_cstring_bytes("test.type");
		p.user_id = amqp_cstring_bytes("guest");
		p.app_id = amqp_cstring_bytes("warren-tests");
	}
	if (i == 3) {
		/* A long TTL: still there, and still stated, after the
		 * restart. */
		p._flags |= AMQP_BASIC_EXPIRATION_FLAG;
		p.expiration = amqp_cstring_bytes("86400000");
	}
	return p;
}

/* Body of message i: sizes 0, 1, 7 (binary), 1000, 200000 (several
 * frames), 65536. */
static amqp_bytes_t
rich_body(int i)
{
	static const size_t	sizes[NPROPS] = { 0, 1, 7, 1000, 200000,
	    65536 };
	amqp_bytes_t		b;
	uint8_t			*p;
	size_t			 k;

	b.len = sizes[i];
	p = malloc(b.len + 1);
	cr_assert_not_null(p);
	for (k = 0; k < b.len; k++)
		p[k] = (uint8_t)(k * 7 + (size_t)i * 13);
	b.bytes = p;
	return b;
}

Test(durability, persistent_messages_survive_clean_restart)
{
	static struct hbroker	b;
	amqp_connection_state_t	 c;
	amqp_table_entry_t	 e[NPROPS][10], inner[NPROPS][1];
	amqp_field_value_t	 arr[NPROPS][2];
	amqp_basic_properties_t	 p[NPROPS];
	amqp_bytes_t		 body[NPROPS];
	char			*q = strdup(hb_name("pq"));
	char			 what[32];
	int			 i, round;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = dconnect(&b);
	confirm_select(c, 1);
	declare_queue(c, 1, q, true, false, false);
	for (i = 0; i < NPROPS; i++) {
		p[i] = rich_props(i, e[i], arr[i], inner[i]);
		body[i] = rich_body(i);
		publish(c, 1, "", q, &p[i], body[i]);
	}
	cr_assert_eq(wait_confirms(c, 1, 1, NPROPS), 0);
	hb_close(c);

	/* Twice: a restart must not lose or duplicate what a restart
	 * recovered. */
	for (round = 0; round < 2; round++) {
		clean_restart(&b, NULL);
		c = dconnect(&b);
		cr_assert_eq(queue_count(c, q), NPROPS, "round %d", round);
		hb_close(c);
	}

	c = dconnect(&b);
	for (i = 0; i < NPROPS; i++) {
		amqp_message_t		m;
		amqp_basic_get_ok_t	g;

		snprintf(what, sizeof(what), "message %d", i);
		cr_assert(get(c, 1, q, false, &m, &g), "%s missing", what);
		cr_assert(bytes_eq(m.body, body[i]), "%s: body of %zu bytes "
		    "differs (wanted %zu)", what, m.body.len, body[i].len);
		cr_assert_not(g.redelivered, "%s: never delivered, yet "
		    "redelivered", what);
		cr_assert_eq(g.message_count, (uint32_t)(NPROPS - 1 - i));
		expect_props(what, &m.properties, &p[i]);
		amqp_basic_ack(c, 1, g.delivery_tag, 0);
		amqp_destroy_message(&m);
	}
	expect_empty(c, 1, q);
	round_trip(c, 1, 0);
	hb_close(c);
	hb_stop(&b);
}

Test(durability, confirmed_messages_survive_kill9)
{
	enum { N = 3000 };
	static struct hbroker	b;
	amqp_connection_state_t	c;
	amqp_envelope_t		env;
	struct timeval		tv = { 5, 0 };
	char			*q = strdup(hb_name("kq"));
	char			 want[32];
	uint64_t		 tag = 1;
	int			 i;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = dconnect(&b);
	confirm_select(c, 1);
	declare_queue(c, 1, q, true, false, false);
	/* Kill the broker the moment the last confirm is in. */
	publish_confirmed(c, 1, "", q, "k", 0, N, &tag);
	crash_restart(&b, NULL);
	hb_close(c);

	c = dconnect(&b);
	cr_assert_eq(queue_count(c, q), N, "confirmed messages lost");
	round_trip(c, 1, 0);
	amqp_basic_consume(c, 1, amqp_cstring_bytes(q), amqp_empty_bytes, 0,
	    1, 0, amqp_empty_table);
	ok(c, "basic.consume");
	for (i = 0; i < N; i++) {
		amqp_rpc_reply_t	r;

		amqp_maybe_release_buffers(c);
		r = amqp_consume_message(c, &env, &tv, 0);
		cr_assert_eq(r.reply_type, AMQP_RESPONSE_NORMAL, "delivery %d "
		    "of %d missing", i, N);
		snprintf(want, sizeof(want), "k-%05d", i);
		cr_assert(env.message.body.len == strlen(want) &&
		    memcmp(env.message.body.bytes, want, strlen(want)) == 0,
		    "delivery %d: '%.*s', wanted '%s' (order)", i,
		    (int)env.message.body.len,
		    (char *)env.message.body.bytes, want);
		cr_assert_not(env.redelivered, "'%s' never delivered, yet "
		    "redelivered", want);
		cr_assert_eq(env.message.properties.delivery_mode, 2);
		amqp_destroy_envelope(&env);
	}
	hb_close(c);
	hb_stop(&b);
}

Test(durability, transient_messages_gone_after_restart)
{
	static struct hbroker	b;
	amqp_connection_state_t	c;
	amqp_basic_properties_t	pers = persistent(), dm1 = persistent();
	char			*q = strdup(hb_name("mq"));
	char			 body[32];
	int			 i;

	dm1.delivery_mode = 1;
	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = dconnect(&b);
	confirm_select(c, 1);
	declare_queue(c, 1, q, true, false, false);
	/* persistent, no properties, delivery_mode 1, ... interleaved. */
	for (i = 0; i < 15; i++) {
		snprintf(body, sizeof(body), "m%02d", i);
		publish_str(c, 1, "", q, i % 3 == 0 ? &pers : i % 3 == 1 ?
		    NULL : &dm1, body);
	}
	cr_assert_eq(wait_confirms(c, 1, 1, 15), 0);
	cr_assert_eq(queue_count(c, q), 15);
	hb_close(c);

	clean_restart(&b, NULL);
	c = dconnect(&b);
	cr_assert_eq(queue_count(c, q), 5, "only the 5 persistent messages "
	    "survive a restart");
	for (i = 0; i < 15; i += 3) {
		snprintf(body, sizeof(body), "m%02d", i);
		expect_get(c, 1, q, body, false);
	}
	expect_empty(c, 1, q);

	/* And after a crash. */
	confirm_select(c, 1);
	for (i = 0; i < 15; i++) {
		snprintf(body, sizeof(body), "c%02d", i);
		publish_str(c, 1, "", q, i % 3 == 0 ? &pers : i % 3 == 1 ?
		    NULL : &dm1, body);
	}
	cr_assert_eq(wait_confirms(c, 1, 1, 15), 0);
	crash_restart(&b, NULL);
	hb_close(c);
	c = dconnect(&b);
	cr_assert_eq(queue_count(c, q), 5);
	for (i = 0; i < 15; i += 3) {
		snprintf(body, sizeof(body), "c%02d", i);
		expect_get(c, 1, q, body, false);
	}
	hb_close(c);
	hb_stop(&b);
}

Test(durability, acked_messages_never_come_back)
{
	static struct hbroker	b;
	amqp_connection_state_t	c;
	amqp_message_t		m;
	amqp_basic_get_ok_t	g;
	uint64_t		tags[5], tag = 1;
	char			*q = strdup(hb_name("aq"));
	char			 want[32];
	int			 i;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = dconnect(&b);
	channel(c, 2);
	confirm_select(c, 2);
	declare_queue(c, 1, q, true, false, false);
	publish_confirmed(c, 2, "", q, "a", 0, 10, &tag);

	for (i = 0; i < 5; i++) {
		cr_assert(get(c, 1, q, false, &m, &g));
		snprintf(want, sizeof(want), "a-%05d", i);
		cr_assert(m.body.len == strlen(want) &&
		    memcmp(m.body.bytes, want, m.body.len) == 0);
		tags[i] = g.delivery_tag;
		amqp_destroy_message(&m);
	}
	/* Single acks, then one multiple ack covering the last three. */
	amqp_basic_ack(c, 1, tags[0], 0);
	amqp_basic_ack(c, 1, tags[1], 0);
	amqp_basic_ack(c, 1, tags[4], 1);
	round_trip(c, 1, 0);
	crash_restart(&b, NULL);
	hb_close(c);

	c = dconnect(&b);
	cr_assert_eq(queue_count(c, q), 5, "acked messages came back (or "
	    "unacked ones were lost)");
	for (i = 5; i < 10; i++) {
		snprintf(want, sizeof(want), "a-%05d", i);
		expect_get(c, 1, q, want, false);
	}
	expect_empty(c, 1, q);
	hb_close(c);
	hb_stop(&b);
}

Test(durability, unacked_come_back_redelivered)
{
	static struct hbroker	b;
	amqp_connection_state_t	c;
	amqp_envelope_t		env;
	struct timeval		tv = { 5, 0 };
	uint64_t		tag = 1;
	char			*q = strdup(hb_name("uq"));
	char			 want[32];
	int			 i;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = dconnect(&b);
	channel(c, 2);
	confirm_select(c, 2);
	declare_queue(c, 1, q, true, false, false);
	publish_confirmed(c, 2, "", q, "u", 0, 10, &tag);

	/* Four deliveries held unacked by a consumer with prefetch 4. */
	round_trip(c, 1, 4);
	amqp_basic_consume(c, 1, amqp_cstring_bytes(q), amqp_empty_bytes, 0,
	    0, 0, amqp_empty_table);
	ok(c, "basic.consume");
	for (i = 0; i < 4; i++) {
		amqp_rpc_reply_t	r;

		r = amqp_consume_message(c, &env, &tv, 0);
		cr_assert_eq(r.reply_type, AMQP_RESPONSE_NORMAL);
		snprintf(want, sizeof(want), "u-%05d", i);
		cr_assert(bytes_eq(env.message.body, amqp_cstring_bytes(want)));
		cr_assert_not(env.redelivered);
		amqp_destroy_envelope(&env);
	}
	round_trip(c, 1, 4);
	crash_restart(&b, NULL);
	hb_close(c);

	c = dconnect(&b);
	cr_assert_eq(queue_count(c, q), 10);
	for (i = 0; i < 10; i++) {
		snprintf(want, sizeof(want), "u-%05d", i);
		/* In the original order; delivered ones flagged. */
		expect_get(c, 1, q, want, i < 4);
	}
	hb_close(c);
	hb_stop(&b);
}

Test(durability, redelivered_flag_survives_second_crash)
{
	static struct hbroker	b;
	amqp_connection_state_t	c;
	amqp_message_t		m;
	amqp_basic_get_ok_t	g;
	uint64_t		tag = 1;
	char			*q = strdup(hb_name("rq"));
	int			 i;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = dconnect(&b);
	channel(c, 2);
	confirm_select(c, 2);
	declare_queue(c, 1, q, true, false, false);
	publish_confirmed(c, 2, "", q, "r", 0, 4, &tag);
	/* Deliver two (unacked), crash; recovered; nobody touches them;
	 * crash again: the two are still flagged, the others not. */
	for (i = 0; i < 2; i++) {
		cr_assert(get(c, 1, q, false, &m, &g));
		amqp_destroy_message(&m);
	}
	round_trip(c, 1, 0);
	crash_restart(&b, NULL);
	hb_close(c);
	crash_restart(&b, NULL);
	c = dconnect(&b);
	expect_get(c, 1, q, "r-00000", true);
	expect_get(c, 1, q, "r-00001", true);
	expect_get(c, 1, q, "r-00002", false);
	expect_get(c, 1, q, "r-00003", false);
	hb_close(c);
	hb_stop(&b);
}

Test(durability, fanout_body_stored_once)
{
	static struct hbroker	b;
	amqp_connection_state_t	c;
	amqp_basic_properties_t	p = persistent();
	amqp_bytes_t		body = id_body(42, 100000);
	char			*x = strdup(hb_name("fx"));
	char			*q[3];
	int			 i;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = dconnect(&b);
	confirm_select(c, 1);
	declare_exchange(c, 1, x, "fanout", true);
	for (i = 0; i < 3; i++) {
		q[i] = strdup(hb_name("fq"));
		declare_queue(c, 1, q[i], true, false, false);
		bind_queue(c, 1, q[i], x, "");
	}
	publish(c, 1, x, "", &p, body);
	cr_assert_eq(wait_confirms(c, 1, 1, 1), 0);
	hb_close(c);
	cr_assert_eq(hb_halt(&b, SIGTERM), 0);

	cr_assert_eq(sql_count(b.dir, "SELECT count(*) FROM messages"), 1,
	    "one message fanned out to 3 durable queues is stored once");
	cr_assert_eq(sql_count(b.dir, "SELECT count(*) FROM queue_entries"),
	    3);

	/* Each queue has it; taking it from one leaves the others whole. */
	hb_restart(&b, NULL);
	c = dconnect(&b);
	for (i = 0; i < 3; i++)
		cr_assert_eq(queue_count(c, q[i]), 1);
	for (i = 0; i < 3; i++) {
		amqp_message_t		m;
		amqp_basic_get_ok_t	g;

		cr_assert(get(c, 1, q[i], false, &m, &g));
		cr_assert(bytes_eq(m.body, body), "queue %d: body differs", i);
		amqp_basic_ack(c, 1, g.delivery_tag, 0);
		amqp_destroy_message(&m);
		round_trip(c, 1, 0);
		hb_close(c);
		clean_restart(&b, NULL);
		c = dconnect(&b);
		cr_assert_eq(queue_count(c, q[i]), 0, "acked copy came back");
		if (i < 2)
			cr_assert_eq(queue_count(c, q[i + 1]), 1, "the "
			    "other queues' copies went with the first ack");
	}
	hb_close(c);
	cr_assert_eq(hb_halt(&b, SIGTERM), 0);
	cr_assert_eq(sql_count(b.dir, "SELECT count(*) FROM messages"), 0,
	    "the body outlived its last queue entry");
	cr_assert_eq(sql_count(b.dir, "SELECT count(*) FROM queue_entries"),
	    0);
	hb_stop(&b);
}

/* ---- refusals ---------------------------------------------------------- */

Test(durability, second_warrend_on_same_dir_refused)
{
	static struct hbroker	b;
	amqp_connection_state_t	c;
	char			 err[8192];
	char			*q = strdup(hb_name("sq"));
	uint64_t		 tag = 1;
	int			 rv;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = dconnect(&b);
	confirm_select(c, 1);
	declare_queue(c, 1, q, true, false, false);
	publish_confirmed(c, 1, "", q, "s", 0, 3, &tag);

	rv = run_warrend(b.dir, NULL, err, sizeof(err));
	cr_assert_neq(rv, -1, "a second warrend on %s kept running", b.dir);
	cr_assert(rv > 0 && rv < 128, "second warrend: exit status %d, "
	    "wanted a refusal (stderr: %s)", rv, err);
	cr_assert_not_null(strstr(err, "in use"), "second warrend's stderr "
	    "does not say the dir is in use: %s", err);

	/* The first one carries on, its data intact. */
	cr_assert(hb_alive(&b));
	cr_assert_eq(queue_count(c, q), 3);
	publish_confirmed(c, 1, "", q, "s", 3, 2, &tag);
	hb_close(c);
	clean_restart(&b, NULL);
	c = dconnect(&b);
	cr_assert_eq(queue_count(c, q), 5);
	hb_close(c);
	hb_stop(&b);
}

static void
expect_refused(const char *dir, const char *what)
{
	char	err[8192];
	int	rv;

	rv = run_warrend(dir, NULL, err, sizeof(err));
	cr_assert_neq(rv, -1, "warrend kept running on %s", what);
	cr_assert_eq(rv, 1, "warrend on %s: exit status %d, wanted 1 "
	    "(stderr: %s)", what, rv, err);
	cr_assert(err[0] != '\0', "warrend refused %s without a word", what);
	cr_assert(strcasestr(err, "database") != NULL ||
	    strstr(err, "warren.db") != NULL, "warrend's message on %s does "
	    "not name the database: %s", what, err);
}

Test(durability, garbage_database_refused)
{
	char	 dir[256], path[300];
	uint8_t	 junk[65536], back[65536];
	FILE	*f;
	size_t	 i, n;

	temp_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/warren.db", dir);
	srandom((unsigned)getpid());
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)random();
	cr_assert_not_null(f = fopen(path, "w"));
	cr_assert_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);

	expect_refused(dir, "a garbage warren.db");
	/* Refused, not "repaired": the file is as it was. */
	cr_assert_not_null(f = fopen(path, "r"));
	n = fread(back, 1, sizeof(back), f);
	fclose(f);
	cr_assert(n == sizeof(junk) && memcmp(junk, back, n) == 0,
	    "warrend modified a database it refused");
	rm_dir(dir);
}

Test(durability, foreign_sqlite_database_refused)
{
	char	 dir[256], path[300];
	sqlite3	*db;

	temp_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/warren.db", dir);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "CREATE TABLE invoices(id INTEGER "
	    "PRIMARY KEY, amount REAL); INSERT INTO invoices VALUES (1, 9.5);",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	expect_refused(dir, "another application's SQLite database");
	cr_assert_eq(sql_count(dir, "SELECT count(*) FROM invoices"), 1,
	    "warrend touched the foreign database");
	cr_assert_eq(sql_count(dir, "SELECT count(*) FROM sqlite_master"), 1,
	    "warrend added tables to the foreign database");
	rm_dir(dir);
}

/* ---- durability modes -------------------------------------------------- */

Test(durability, durability_os_starts_and_works)
{
	static const char *const	os[] = { "--durability", "os", NULL };
	static const char *const	bogus[] = { "--durability", "bogus",
	    NULL };
	static struct hbroker	b;
	amqp_connection_state_t		c;
	char				*q = strdup(hb_name("oq"));
	uint64_t			 tag = 1;
	char				 dir[256], err[8192];
	int				 rv;

	hb_start(&b, os);
	hb_require_warrend(&b);
	cr_assert_not_null(strcasestr(broker_log(&b), "power"), "--durability "
	    "os does not warn about power loss; log:\n%s", broker_log(&b));
	c = dconnect(&b);
	confirm_select(c, 1);
	declare_queue(c, 1, q, true, false, false);
	publish_confirmed(c, 1, "", q, "o", 0, 200, &tag);
	/* A process crash loses nothing in this mode either. */
	crash_restart(&b, os);
	hb_close(c);
	c = dconnect(&b);
	cr_assert_eq(queue_count(c, q), 200);
	expect_get(c, 1, q, "o-00000", false);
	hb_close(c);
	/* Back to the default mode on the same data. */
	clean_restart(&b, NULL);
	c = dconnect(&b);
	cr_assert_eq(queue_count(c, q), 199);
	hb_close(c);
	hb_stop(&b);

	temp_dir(dir, sizeof(dir));
	rv = run_warrend(dir, bogus, err, sizeof(err));
	cr_assert(rv > 0 && rv < 128, "--durability bogus: exit status %d "
	    "(stderr: %s)", rv, err);
	rm_dir(dir);
}

/* ---- storage errors ---------------------------------------------------- */

/*
 * A publisher of persistent id-bodied messages in confirm mode that
 * survives channel and connection closes (reopening them), recording
 * what became of every id.
 */
enum { FATE_NONE, FATE_SENT, FATE_ACKED, FATE_NACKED, FATE_CLOSED };

struct pubber {
	struct hbroker		*b;
	amqp_connection_state_t	 c;
	amqp_channel_t		 ch;
	const char		*q;
	uint64_t		 next_tag;	/* on ch */
	uint64_t		*tag_id;	/* tag -> id, on ch */
	uint8_t			*fate;		/* by id */
	size_t			 cap;		/* of both arrays */
	uint64_t		 next_id;
	size_t			 body_len;
	int			 acks, nacks, chan_closes, conn_closes;
	int			 close_codes[16];
	int			 nclose_codes;
};

static void
pub_open(struct pubber *p)
{
	if (p->c == NULL) {
		p->c = dconnect(p->b);
		p->ch = 1;
	} else {
		p->ch++;
		channel(p->c, p->ch);
	}
	confirm_select(p->c, p->ch);
	declare_queue(p->c, p->ch, p->q, true, false, false);
	p->next_tag = 1;
}

static void
pub_init(struct pubber *p, struct hbroker *b, const char *q, size_t cap,
    size_t body_len)
{
	memset(p, 0, sizeof(*p));
	p->b = b;
	p->q = q;
	p->cap = cap;
	p->body_len = body_len;
	p->tag_id = calloc(cap + 1, sizeof(*p->tag_id));
	p->fate = calloc(cap, 1);
	cr_assert(p->tag_id != NULL && p->fate != NULL);
	pub_open(p);
}

static void
pub_note_close(struct pubber *p, int code)
{
	uint64_t	t;

	cr_assert(code == 506 || code == 541, "storage failure closed with "
	    "%d; wanted a nack, 506 or 541", code);
	if (p->nclose_codes < 16)
		p->close_codes[p->nclose_codes++] = code;
	/* Whatever was waiting on the channel is unconfirmed for good. */
	for (t = 1; t < p->next_tag; t++)
		if (p->fate[p->tag_id[t]] == FATE_SENT)
			p->fate[p->tag_id[t]] = FATE_CLOSED;
}

static void
pub_resolve(struct pubber *p, uint64_t tag, bool multiple, bool ack)
{
	uint64_t	t;

	cr_assert(tag >= 1 && tag < p->next_tag, "confirm for unknown tag "
	    "%llu", (unsigned long long)tag);
	for (t = multiple ? 1 : tag; t <= tag; t++) {
		uint8_t	*f = &p->fate[p->tag_id[t]];

		if (*f != FATE_SENT)
			continue;
		*f = ack ? FATE_ACKED : FATE_NACKED;
		if (ack)
			p->acks++;
		else
			p->nacks++;
	}
}

static int
pub_outstanding(const struct pubber *p)
{
	uint64_t	t;
	int		n = 0;

	for (t = 1; t < p->next_tag; t++)
		if (p->fate[p->tag_id[t]] == FATE_SENT)
			n++;
	return n;
}

/* Reads frames until at most window publishes are outstanding. */
static void
pub_drain(struct pubber *p, int window)
{
	struct timeval	tv = { CONFIRM_MS / 1000, 0 };
	amqp_frame_t	f;
	int		rc;

	while (pub_outstanding(p) > window) {
		rc = amqp_simple_wait_frame_noblock(p->c, &f, &tv);
		cr_assert_eq(rc, AMQP_STATUS_OK, "waiting for %d confirms: %s",
		    pub_outstanding(p), amqp_error_string2(rc));
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		switch (f.payload.method.id) {
		case AMQP_BASIC_ACK_METHOD: {
			amqp_basic_ack_t *a = f.payload.method.decoded;

			if (f.channel == p->ch)
				pub_resolve(p, a->delivery_tag, a->multiple,
				    true);
			break;
		}
		case AMQP_BASIC_NACK_METHOD: {
			amqp_basic_nack_t *n = f.payload.method.decoded;

			if (f.channel == p->ch)
				pub_resolve(p, n->delivery_tag, n->multiple,
				    false);
			break;
		}
		case AMQP_CHANNEL_CLOSE_METHOD: {
			amqp_channel_close_t	*m = f.payload.method.decoded;
			amqp_channel_close_ok_t	 cok;

			p->chan_closes++;
			pub_note_close(p, m->reply_code);
			memset(&cok, 0, sizeof(cok));
			amqp_send_method(p->c, f.channel,
			    AMQP_CHANNEL_CLOSE_OK_METHOD, &cok);
			pub_open(p);
			break;
		}
		case AMQP_CONNECTION_CLOSE_METHOD: {
			amqp_connection_close_t		*m =
			    f.payload.method.decoded;
			amqp_connection_close_ok_t	 cok;

			p->conn_closes++;
			pub_note_close(p, m->reply_code);
			memset(&cok, 0, sizeof(cok));
			amqp_send_method(p->c, 0,
			    AMQP_CONNECTION_CLOSE_OK_METHOD, &cok);
			amqp_destroy_connection(p->c);
			p->c = NULL;
			pub_open(p);
			break;
		}
		default:
			break;
		}
	}
}

/* Publishes one message and returns its id. */
static uint64_t
pub_one(struct pubber *p, int window)
{
	amqp_basic_properties_t	pp = persistent();
	amqp_bytes_t		body;
	uint64_t		id = p->next_id++;
	int			rc;

	cr_assert_lt(id, p->cap);
	cr_assert_lt(p->next_tag, p->cap);
	body = id_body(id, p->body_len);
	rc = amqp_basic_publish(p->c, p->ch, amqp_cstring_bytes(""),
	    amqp_cstring_bytes(p->q), 0, 0, &pp, body);
	free(body.bytes);
	p->tag_id[p->next_tag++] = id;
	p->fate[id] = FATE_SENT;
	if (rc != AMQP_STATUS_OK) {
		/* The socket died under us: treat it as a connection
		 * close without a code. */
		p->fate[id] = FATE_CLOSED;
		cr_assert_fail("publish failed: %s", amqp_error_string2(rc));
	}
	pub_drain(p, window);
	return id;
}

/*
 * Restarts the broker cleanly and asserts every acked id is in the queue
 * exactly once (nacked or unconfirmed ones may or may not be).
 */
static void
expect_acked_recovered(struct pubber *p, const char *const *extra)
{
	amqp_connection_state_t	 c;
	amqp_message_t		 m;
	amqp_basic_get_ok_t	 g;
	uint8_t			*seen = calloc(p->cap, 1);
	uint64_t		 id;
	long			 n = 0;

	cr_assert_not_null(seen);
	if (p->c != NULL) {
		hb_close(p->c);
		p->c = NULL;
	}
	clean_restart(p->b, extra);
	c = dconnect(p->b);
	cr_assert_geq(queue_count(c, p->q), 0, "durable queue %s is gone "
	    "after the restart, with %d confirmed messages (%d nacks, %d "
	    "channel closes, %d connection closes before)", p->q, p->acks,
	    p->nacks, p->chan_closes, p->conn_closes);
	while (get(c, 1, p->q, true, &m, &g)) {
		id = body_id(m.body);
		cr_assert_lt(id, p->next_id, "recovered a message never "
		    "published (id %llu)", (unsigned long long)id);
		cr_assert_eq(seen[id], 0, "id %llu recovered twice",
		    (unsigned long long)id);
		cr_assert_eq(m.body.len, p->body_len, "id %llu: body cut",
		    (unsigned long long)id);
		seen[id] = 1;
		n++;
		amqp_destroy_message(&m);
		amqp_maybe_release_buffers(c);
	}
	for (id = 0; id < p->next_id; id++)
		cr_assert(p->fate[id] != FATE_ACKED || seen[id],
		    "confirmed message %llu lost (%d acks, %ld recovered)",
		    (unsigned long long)id, p->acks, n);
	hb_close(c);
	free(seen);
}

/* Asserts the broker is alive and a fresh connection works. */
static void
expect_serving(struct hbroker *b, const char *q)
{
	amqp_connection_state_t	c;

	cr_assert(hb_alive(b), "warrend died (status %d) after storage "
	    "errors", b->exit_status);
	c = dconnect(b);
	cr_assert_geq(queue_count(c, q), 0);
	hb_close(c);
}

/* Runs the injected-failure scenario on an already started broker. */
static void
injected_failures(struct hbroker *b, const char *const *restart_extra)
{
	struct pubber	p;
	char		*q = strdup(hb_name("iq"));
	int		 i, acks, streak = 0;

	pub_init(&p, b, q, 4096, 256);
	/* One at a time, until the failures are behind and 20 publishes in
	 * a row were acked. */
	for (i = 0; i < 400 && streak < 20; i++) {
		uint64_t id = pub_one(&p, 0);

		streak = p.fate[id] == FATE_ACKED ? streak + 1 : 0;
	}
	cr_assert_geq(p.nacks + p.chan_closes + p.conn_closes, 1,
	    "no nack or close although commits were failing "
	    "(%d acks)", p.acks);
	cr_assert_eq(streak, 20, "publishes did not resume being acked "
	    "after the injected failures (%d acks, %d nacks, %d closes)",
	    p.acks, p.nacks, p.chan_closes + p.conn_closes);
	expect_serving(b, q);
	/* A burst with a window, too: all acked. */
	acks = p.acks;
	for (i = 0; i < 200; i++)
		pub_one(&p, 50);
	pub_drain(&p, 0);
	cr_assert_eq(p.acks - acks, 200, "after the failures, %d of 200 "
	    "publishes were acked", p.acks - acks);
	cr_log_info("injected: %d acks, %d nacks, %d channel closes, %d "
	    "connection closes", p.acks, p.nacks, p.chan_closes,
	    p.conn_closes);
	expect_acked_recovered(&p, restart_extra);
}

Test(durability, injected_store_failures_nack_then_resume)
{
	static const char *const	inj[] = { "--inject-store-failures",
	    "3", NULL };
	static struct hbroker	b;

	hb_start(&b, inj);
	hb_require_warrend(&b);
	injected_failures(&b, NULL);
	hb_stop(&b);
}

/*
 * Definitions made while commits fail are not lost: a durable exchange,
 * queue and binding declared during the failures are all there after a
 * restart, and so are the messages confirmed through them.
 */
Test(durability, injected_failures_keep_definitions)
{
	static const char *const	inj[] = { "--inject-store-failures",
	    "3", NULL };
	static struct hbroker		b;
	amqp_connection_state_t		c;
	amqp_basic_properties_t		p = persistent();
	char				*x = strdup(hb_name("ix"));
	char				*q = strdup(hb_name("iq"));
	char				 body[32];
	uint64_t			 tag = 1;
	int				 i, nacks = 0, acked = 0;
	bool				 was_acked[40];

	hb_start(&b, inj);
	hb_require_warrend(&b);
	c = dconnect(&b);
	/* One synchronous method, hence one loop turn and one (failing)
	 * commit, each. */
	declare_exchange(c, 1, x, "direct", true);
	declare_queue(c, 1, q, true, false, false);
	bind_queue(c, 1, q, x, "k");
	confirm_select(c, 1);
	for (i = 0; i < 40; i++) {
		int	n;

		snprintf(body, sizeof(body), "d-%05d", i);
		publish_str(c, 1, x, "k", &p, body);
		n = wait_confirms(c, 1, tag, tag);
		tag++;
		nacks += n;
		was_acked[i] = n == 0;
		acked += n == 0;
	}
	cr_assert_geq(acked, 35, "only %d of 40 publishes acked after 3 "
	    "injected failures", acked);
	hb_close(c);

	clean_restart(&b, NULL);
	c = dconnect(&b);
	cr_assert_eq(probe(c, x, false), 0, "durable exchange declared "
	    "during a failed commit is gone after a restart");
	cr_assert_geq(queue_count(c, q), 0, "durable queue declared during a "
	    "failed commit is gone after a restart (%d confirmed messages "
	    "with it)", acked);
	for (i = 0; i < 40; i++) {
		amqp_message_t		m;
		amqp_basic_get_ok_t	g;

		if (!was_acked[i])
			continue;
		snprintf(body, sizeof(body), "d-%05d", i);
		cr_assert(get(c, 1, q, true, &m, &g), "confirmed '%s' lost",
		    body);
		cr_assert(bytes_eq(m.body, amqp_cstring_bytes(body)),
		    "got '%.*s', wanted '%s'", (int)m.body.len,
		    (char *)m.body.bytes, body);
		amqp_destroy_message(&m);
	}
	expect_empty(c, 1, q);
	/* The binding is back too. */
	tag = 1;
	confirm_select(c, 1);
	publish_str(c, 1, x, "k", &p, "after");
	cr_assert_eq(wait_confirms(c, 1, tag, tag), 0);
	expect_get(c, 1, q, "after", false);
	hb_close(c);
	hb_stop(&b);
}

/*
 * With no traffic at all after a failed commit, the retry timer alone
 * writes what the failure kept: a durable queue declared during the
 * failure is there after a kill -9 two seconds later, although nothing
 * else committed in between.
 */
Test(durability, retry_timer_commits_kept_definitions_without_traffic)
{
	static const char *const	inj[] = { "--inject-store-failures",
	    "1", NULL };
	static struct hbroker		b;
	amqp_connection_state_t		c;
	char				*q = strdup(hb_name("rq"));

	hb_start(&b, inj);
	hb_require_warrend(&b);
	c = dconnect(&b);
	declare_queue(c, 1, q, true, false, false);
	/* The declare's commit failed; only the 1 s timer can retry it. */
	usleep(2500 * 1000);
	cr_assert_not_null(strstr(broker_log(&b), "commits succeed again"),
	    "no successful retry logged:\n%s", broker_log(&b));
	crash_restart(&b, NULL);
	amqp_destroy_connection(c);
	c = dconnect(&b);
	cr_assert_eq(queue_count(c, q), 0, "queue declared during a failed "
	    "commit lost without traffic after it");
	hb_close(c);
	hb_stop(&b);
}

static char	tmpfs_dir[256];

static void
tmpfs_cleanup(void)
{
	if (tmpfs_dir[0] != '\0') {
		umount2(tmpfs_dir, MNT_DETACH);
		rmdir(tmpfs_dir);
		tmpfs_dir[0] = '\0';
	}
}

Test(durability, disk_full_nacks_then_resumes)
{
	static const char *const	nolimit[] = { "--disk-free-limit", "0",
	    NULL };
	static const char *const	inj[] = { "--inject-store-failures",
	    "3", NULL };
	static struct hbroker	b;
	struct pubber			p;
	char				*q = strdup(hb_name("fullq"));
	int				 i, failures;

	temp_dir(tmpfs_dir, sizeof(tmpfs_dir));
	atexit(tmpfs_cleanup);	/* runs after the harness killed warrend */
	if (mount("tmpfs", tmpfs_dir, "tmpfs", 0, "size=2m") == -1) {
		cr_assert(errno == EPERM, "mount tmpfs on %s: %s", tmpfs_dir,
		    strerror(errno));
		cr_log_warn("cannot mount a tmpfs (EPERM): testing with "
		    "--inject-store-failures instead");
		rmdir(tmpfs_dir);
		tmpfs_dir[0] = '\0';
		hb_start(&b, inj);
		injected_failures(&b, NULL);
		hb_stop(&b);
		return;
	}
	/*
	 * The disk-free alarm (50 MB by default) would block the publisher
	 * long before the 2 MiB disk fills: this test is about the store's
	 * errors, so the alarm is off.
	 */
	hb_start_in(&b, tmpfs_dir, nolimit);

	pub_init(&p, &b, q, 4096, 65536);
	/* 64 KiB bodies, 4 outstanding, until a failure shows (2 MiB holds
	 * about 30) and then a few more into the full disk. */
	for (i = 0; i < 400; i++) {
		failures = p.nacks + p.chan_closes + p.conn_closes;
		if (failures >= 3)
			break;
		pub_one(&p, 4);
	}
	pub_drain(&p, 0);
	failures = p.nacks + p.chan_closes + p.conn_closes;
	cr_log_info("disk full: %d acks, %d nacks, %d channel closes, %d "
	    "connection closes", p.acks, p.nacks, p.chan_closes,
	    p.conn_closes);
	cr_assert_geq(failures, 1, "a full disk never produced a nack or a "
	    "close (%d acks of 64 KiB on 2 MiB)", p.acks);
	cr_assert_leq(p.acks, 40, "%d messages of 64 KiB acked on a 2 MiB "
	    "disk", p.acks);
	expect_serving(&b, q);

	/* Space comes back: publishing is acked again. */
	cr_assert_eq(mount("tmpfs", tmpfs_dir, "tmpfs", MS_REMOUNT,
	    "size=64m"), 0, "remount: %s", strerror(errno));
	for (i = 0; i < 10; i++) {
		uint64_t id = pub_one(&p, 0);

		cr_assert_eq(p.fate[id], FATE_ACKED, "publish %d after the "
		    "disk got space again was not acked (fate %d)", i,
		    p.fate[id]);
	}
	expect_acked_recovered(&p, nolimit);
	hb_stop(&b);
	tmpfs_cleanup();
}
