/*
 * Access control end to end: users, vhosts and permissions loaded from a
 * RabbitMQ definitions file (--load-definitions), the permission matrix
 * of every method that names an exchange or a queue, vhost isolation,
 * refused logins, loopback-only users (reached from a non-loopback
 * address through a network namespace), bad definitions files and
 * reloading the same file.
 *
 * Every test writes its own definitions file and starts its own warrend.
 * The file always holds vhosts "/" and "other", users alice (full
 * permissions in both vhosts, tags administrator and impersonator) and
 * bob (the permissions the test asks
 * for), durable exchanges x1 (direct) and x2 (fanout), a durable queue
 * q1 and the bindings x1 -> q1 and x1 -> x2, both with key "k".
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
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
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "server/auth_password.h"
#include "tests/common.h"
#include "tests/integration/harness.h"

TestSuite(access, .timeout = 60);

#define ALICE_PW	"alice-secret"
#define BOB_PW		"bob-secret"
#define RPC_MS		5000
#define LOGIN_REFUSED	"ACCESS_REFUSED - Login was refused using " \
			"authentication mechanism PLAIN. For details see " \
			"the broker logfile."

/*
 * Static, not on the stack: the harness keeps a pointer to the broker
 * for its exit-time cleanup, which a failed assertion reaches after the
 * test's frame is gone.
 */
static struct hbroker	broker;

/* The directory holding this test's definitions file. */
static char	defs_dir[256];
static char	defs_path[300];

/* bob's permissions in one vhost (alice's are always .* everywhere). */
struct perm {
	const char	*vhost;
	const char	*configure, *write, *read;
};

/* ---- files ------------------------------------------------------------ */

static void
defs_cleanup(void)
{
	tc_rm_tree(defs_dir);
	defs_dir[0] = '\0';
}

/* Creates this test's definitions directory once. */
static void
defs_mkdir(void)
{
	const char	*tmp;

	if (defs_dir[0] != '\0')
		return;
	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(defs_dir, sizeof(defs_dir), "%s/warren-defs.XXXXXX", tmp);
	if (mkdtemp(defs_dir) == NULL)
		cr_assert_fail("mkdtemp %s: %s", defs_dir, strerror(errno));
	atexit(defs_cleanup);
	snprintf(defs_path, sizeof(defs_path), "%s/definitions.json",
	    defs_dir);
}

static void
write_file(const char *path, const char *text)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		cr_assert_fail("fopen %s: %s", path, strerror(errno));
	fputs(text, f);
	if (fclose(f) != 0)
		cr_assert_fail("write %s: %s", path, strerror(errno));
}

/* Appends s as a JSON string literal (regexes carry backslashes). */
static void
sb_json(struct hsbuf *s, const char *v)
{
	hb_sbprintf(s, "\"");
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			hb_sbprintf(s, "\\%c", *v);
		else
			hb_sbprintf(s, "%c", *v);
	}
	hb_sbprintf(s, "\"");
}

/* A fresh SHA-256 hash of pw, as rabbitmqctl export_definitions has it. */
static const char *
hash_of(const char *pw)
{
	static char	bufs[4][PASSWORD_HASH_MAX];
	static int	next;
	char		*h = bufs[next++ % 4];

	if (password_hash(PASSWORD_SHA256, pw, strlen(pw), h,
	    PASSWORD_HASH_MAX) != 0)
		cr_assert_fail("password_hash failed");
	return h;
}

static void
add_perm(struct hsbuf *s, bool *first, const char *user, const char *vhost,
    const char *c, const char *w, const char *r)
{
	hb_sbprintf(s, "%s\n  {\"user\": ", *first ? "" : ",");
	*first = false;
	sb_json(s, user);
	hb_sbprintf(s, ", \"vhost\": ");
	sb_json(s, vhost);
	hb_sbprintf(s, ", \"configure\": ");
	sb_json(s, c);
	hb_sbprintf(s, ", \"write\": ");
	sb_json(s, w);
	hb_sbprintf(s, ", \"read\": ");
	sb_json(s, r);
	hb_sbprintf(s, "}");
}

/*
 * The standard definitions with bob's permissions p[0..n-1].  algo is
 * bob's hashing_algorithm (NULL: rabbit_password_hashing_sha256).
 */
static char *
defs_text(const struct perm *p, size_t n, const char *algo)
{
	struct hsbuf	s = { NULL, 0, 0 };
	bool		first = true;
	size_t		i;

	hb_sbprintf(&s, "{\n\"rabbit_version\": \"3.12.0\",\n"
	    "\"vhosts\": [{\"name\": \"/\"}, {\"name\": \"other\"}],\n"
	    "\"users\": [\n"
	    "  {\"name\": \"alice\", \"password_hash\": \"%s\", "
	    "\"hashing_algorithm\": \"rabbit_password_hashing_sha256\", "
	    "\"tags\": [\"administrator\", \"impersonator\"]},\n"
	    "  {\"name\": \"bob\", \"password_hash\": \"%s\", "
	    "\"hashing_algorithm\": \"%s\", \"tags\": []}\n],\n"
	    "\"permissions\": [", hash_of(ALICE_PW), hash_of(BOB_PW),
	    algo != NULL ? algo : "rabbit_password_hashing_sha256");
	add_perm(&s, &first, "alice", "/", ".*", ".*", ".*");
	add_perm(&s, &first, "alice", "other", ".*", ".*", ".*");
	for (i = 0; i < n; i++)
		add_perm(&s, &first, "bob", p[i].vhost, p[i].configure,
		    p[i].write, p[i].read);
	hb_sbprintf(&s, "\n],\n"
	    "\"exchanges\": [\n"
	    "  {\"name\": \"x1\", \"vhost\": \"/\", \"type\": \"direct\", "
	    "\"durable\": true, \"auto_delete\": false, \"internal\": false, "
	    "\"arguments\": {}},\n"
	    "  {\"name\": \"x2\", \"vhost\": \"/\", \"type\": \"fanout\", "
	    "\"durable\": true, \"auto_delete\": false, \"internal\": false, "
	    "\"arguments\": {}}\n],\n"
	    "\"queues\": [\n"
	    "  {\"name\": \"q1\", \"vhost\": \"/\", \"durable\": true, "
	    "\"auto_delete\": false, \"arguments\": {}}\n],\n"
	    "\"bindings\": [\n"
	    "  {\"source\": \"x1\", \"vhost\": \"/\", \"destination\": \"q1\", "
	    "\"destination_type\": \"queue\", \"routing_key\": \"k\", "
	    "\"arguments\": {}},\n"
	    "  {\"source\": \"x1\", \"vhost\": \"/\", \"destination\": \"x2\", "
	    "\"destination_type\": \"exchange\", \"routing_key\": \"k\", "
	    "\"arguments\": {}}\n]\n}\n");
	return s.p;
}

/* Writes text as this test's definitions file; returns its path. */
static const char *
write_defs(const char *text)
{
	defs_mkdir();
	write_file(defs_path, text);
	return defs_path;
}

/*
 * Starts warrend with the standard definitions and bob's permissions,
 * plus extra arguments (up to 4, NULL-terminated, or NULL).
 */
static void
start_perms(const struct perm *p, size_t n, const char *const *extra)
{
	const char	*argv[8];
	int		 argc = 0;

	write_defs(defs_text(p, n, NULL));
	argv[argc++] = "--load-definitions";
	argv[argc++] = defs_path;
	for (; extra != NULL && *extra != NULL && argc < 6; extra++)
		argv[argc++] = *extra;
	argv[argc] = NULL;
	hb_start(&broker, argv);
	hb_require_warrend(&broker);
}

/* bob with configure/write/read in "/" only. */
static void
start_bob(const char *c, const char *w, const char *r)
{
	struct perm	p = { "/", c, w, r };

	start_perms(&p, 1, NULL);
}

/* ---- connections ------------------------------------------------------ */

static void
set_timeouts(amqp_connection_state_t c)
{
	struct timeval	tv = { RPC_MS / 1000, 0 };

	amqp_set_rpc_timeout(c, &tv);
}

/* The reply's close text, for failure messages. */
static const char *
reply_text(amqp_rpc_reply_t r)
{
	static char	buf[512];
	amqp_bytes_t	t = { 0, NULL };
	int		code = 0;

	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return "ok";
	if (r.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION) {
		snprintf(buf, sizeof(buf), "library error: %s",
		    amqp_error_string2(r.library_error));
		return buf;
	}
	if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
		amqp_channel_close_t	*m = r.reply.decoded;

		code = m->reply_code;
		t = m->reply_text;
	} else if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
		amqp_connection_close_t	*m = r.reply.decoded;

		code = m->reply_code;
		t = m->reply_text;
	}
	snprintf(buf, sizeof(buf), "%d %.*s", code, (int)t.len,
	    (const char *)t.bytes);
	return buf;
}

static void
ok(amqp_connection_state_t c, const char *what)
{
	amqp_rpc_reply_t	r = amqp_get_rpc_reply(c);

	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		cr_assert_fail("%s: %s", what, reply_text(r));
}

/* Logs user in on vhost with channel 1 open; asserts success. */
static amqp_connection_state_t
login(const char *vhost, const char *user, const char *pass)
{
	amqp_connection_state_t	c;
	amqp_rpc_reply_t	r;

	c = hb_connect_opts(&broker, vhost, user, pass, 131072, 0, &r);
	if (c == NULL)
		cr_assert_fail("login as %s on vhost '%s': %s", user, vhost,
		    reply_text(r));
	set_timeouts(c);
	amqp_channel_open(c, 1);
	ok(c, "channel.open");
	return c;
}

static amqp_connection_state_t
bob(void)
{
	return login("/", "bob", BOB_PW);
}

static amqp_connection_state_t
alice(void)
{
	return login("/", "alice", ALICE_PW);
}

/*
 * Asserts that r is a channel.close 403 refusing user bob access to the
 * named exchange or queue in vhost "/", word for word.
 */
static void
expect_refused(amqp_connection_state_t c, amqp_rpc_reply_t r,
    const char *what, const char *name)
{
	char		 want[512];
	const char	*got;

	snprintf(want, sizeof(want), "ACCESS_REFUSED - access to %s '%s' in "
	    "vhost '/' refused for user 'bob'", what, name);
	got = hb_expect_close(c, r, false, 403);
	cr_assert_str_eq(got, want);
}

/* A refused login: the connection.close 403 text, asserted exact. */
static void
expect_login_refused(const char *vhost, const char *user, const char *pass)
{
	amqp_connection_state_t	c;
	amqp_rpc_reply_t	r;
	const char		*got;

	c = hb_connect_opts(&broker, vhost, user, pass, 131072, 0, &r);
	if (c != NULL) {
		hb_close(c);
		cr_assert_fail("login as '%s' with password '%s' succeeded",
		    user, pass);
	}
	got = hb_expect_close(NULL, r, true, 403);
	cr_assert_str_eq(got, LOGIN_REFUSED);
}

/* A refused connection.open: 530 with exactly want. */
static void
expect_open_refused(const char *vhost, const char *user, const char *pass,
    const char *want)
{
	amqp_connection_state_t	c;
	amqp_rpc_reply_t	r;
	const char		*got;

	c = hb_connect_opts(&broker, vhost, user, pass, 131072, 0, &r);
	if (c != NULL) {
		hb_close(c);
		cr_assert_fail("%s opened vhost '%s'", user, vhost);
	}
	got = hb_expect_close(NULL, r, true, 530);
	cr_assert_str_eq(got, want);
}

/* Reopens channel 1 after a channel.close. */
static void
reopen(amqp_connection_state_t c)
{
	amqp_channel_open(c, 1);
	ok(c, "channel.open 1 again");
}

/*
 * A round trip that needs no permission (basic.qos), so that the
 * asynchronous channel.close after a refused basic.publish shows up.
 */
static amqp_rpc_reply_t
sync_reply(amqp_connection_state_t c)
{
	amqp_basic_qos(c, 1, 0, 0, 0);
	return amqp_get_rpc_reply(c);
}

static void
publish(amqp_connection_state_t c, const char *exchange, const char *key,
    const char *body)
{
	int	rc;

	rc = amqp_basic_publish(c, 1, amqp_cstring_bytes(exchange),
	    amqp_cstring_bytes(key), 0, 0, NULL, amqp_cstring_bytes(body));
	cr_assert_eq(rc, AMQP_STATUS_OK, "basic.publish: %s",
	    amqp_error_string2(rc));
}

/* A persistent (delivery-mode 2) message, to survive a restart. */
static void
publish_persistent(amqp_connection_state_t c, const char *exchange,
    const char *key, const char *body)
{
	amqp_basic_properties_t	props;
	int			rc;

	memset(&props, 0, sizeof(props));
	props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
	props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
	rc = amqp_basic_publish(c, 1, amqp_cstring_bytes(exchange),
	    amqp_cstring_bytes(key), 0, 0, &props, amqp_cstring_bytes(body));
	cr_assert_eq(rc, AMQP_STATUS_OK, "basic.publish: %s",
	    amqp_error_string2(rc));
}

/* basic.get no-ack on channel 1; returns the body (malloc'd) or NULL. */
static char *
get_body(amqp_connection_state_t c, const char *queue)
{
	amqp_rpc_reply_t	r;
	amqp_message_t		m;
	char			*body;

	r = amqp_basic_get(c, 1, amqp_cstring_bytes(queue), 1);
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		cr_assert_fail("basic.get %s: %s", queue, reply_text(r));
	if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
		return NULL;
	r = amqp_read_message(c, 1, &m, 0);
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		cr_assert_fail("reading the message: %s", reply_text(r));
	if ((body = malloc(m.body.len + 1)) == NULL)
		cr_assert_fail("out of memory");
	memcpy(body, m.body.bytes, m.body.len);
	body[m.body.len] = '\0';
	amqp_destroy_message(&m);
	return body;
}

static void
expect_body(amqp_connection_state_t c, const char *queue, const char *want)
{
	char	*got = get_body(c, queue);

	cr_assert_not_null(got, "queue %s is empty, wanted '%s'", queue, want);
	cr_assert_str_eq(got, want);
	free(got);
}

/* Message count of queue by a passive declare on channel 1 (alice). */
static uint32_t
count(amqp_connection_state_t c, const char *queue)
{
	amqp_queue_declare_ok_t	*d;

	d = amqp_queue_declare(c, 1, amqp_cstring_bytes(queue), 1, 0, 0, 0,
	    amqp_empty_table);
	if (d == NULL)
		cr_assert_fail("passive declare of %s: %s", queue,
		    reply_text(amqp_get_rpc_reply(c)));
	return d->message_count;
}

/* Whether queue exists, by a passive declare on a scratch channel. */
static bool
queue_exists(amqp_connection_state_t c, const char *queue)
{
	static amqp_channel_t	ch = 100;
	amqp_rpc_reply_t	r;

	amqp_channel_open(c, ++ch);
	ok(c, "scratch channel.open");
	amqp_queue_declare(c, ch, amqp_cstring_bytes(queue), 1, 0, 0, 0,
	    amqp_empty_table);
	r = amqp_get_rpc_reply(c);
	if (r.reply_type == AMQP_RESPONSE_NORMAL) {
		amqp_channel_close(c, ch, AMQP_REPLY_SUCCESS);
		return true;
	}
	hb_expect_close_on(c, r, false, 404, ch);
	return false;
}

static bool
exchange_exists(amqp_connection_state_t c, const char *exchange)
{
	static amqp_channel_t	ch = 200;
	amqp_rpc_reply_t	r;

	amqp_channel_open(c, ++ch);
	ok(c, "scratch channel.open");
	amqp_exchange_declare(c, ch, amqp_cstring_bytes(exchange),
	    amqp_cstring_bytes("direct"), 1, 0, 0, 0, amqp_empty_table);
	r = amqp_get_rpc_reply(c);
	if (r.reply_type == AMQP_RESPONSE_NORMAL) {
		amqp_channel_close(c, ch, AMQP_REPLY_SUCCESS);
		return true;
	}
	hb_expect_close_on(c, r, false, 404, ch);
	return false;
}

/* ---- method wrappers: each returns the method's reply ----------------- */

static amqp_rpc_reply_t
do_exchange_declare(amqp_connection_state_t c, const char *name, bool passive)
{
	amqp_exchange_declare(c, 1, amqp_cstring_bytes(name),
	    amqp_cstring_bytes("direct"), passive, 0, 0, 0, amqp_empty_table);
	return amqp_get_rpc_reply(c);
}

static amqp_rpc_reply_t
do_exchange_delete(amqp_connection_state_t c, const char *name)
{
	amqp_exchange_delete(c, 1, amqp_cstring_bytes(name), 0);
	return amqp_get_rpc_reply(c);
}

static amqp_rpc_reply_t
do_queue_declare(amqp_connection_state_t c, const char *name, bool passive)
{
	amqp_queue_declare(c, 1, amqp_cstring_bytes(name), passive, 0, 0, 0,
	    amqp_empty_table);
	return amqp_get_rpc_reply(c);
}

static amqp_rpc_reply_t
do_queue_delete(amqp_connection_state_t c, const char *name)
{
	amqp_queue_delete(c, 1, amqp_cstring_bytes(name), 0, 0);
	return amqp_get_rpc_reply(c);
}

static amqp_rpc_reply_t
do_queue_purge(amqp_connection_state_t c, const char *name)
{
	amqp_queue_purge(c, 1, amqp_cstring_bytes(name));
	return amqp_get_rpc_reply(c);
}

static amqp_rpc_reply_t
do_queue_bind(amqp_connection_state_t c, const char *q, const char *x,
    const char *key)
{
	amqp_queue_bind(c, 1, amqp_cstring_bytes(q), amqp_cstring_bytes(x),
	    amqp_cstring_bytes(key), amqp_empty_table);
	return amqp_get_rpc_reply(c);
}

static amqp_rpc_reply_t
do_queue_unbind(amqp_connection_state_t c, const char *q, const char *x,
    const char *key)
{
	amqp_queue_unbind(c, 1, amqp_cstring_bytes(q), amqp_cstring_bytes(x),
	    amqp_cstring_bytes(key), amqp_empty_table);
	return amqp_get_rpc_reply(c);
}

static amqp_rpc_reply_t
do_exchange_bind(amqp_connection_state_t c, const char *dst,
    const char *src, const char *key)
{
	amqp_exchange_bind(c, 1, amqp_cstring_bytes(dst),
	    amqp_cstring_bytes(src), amqp_cstring_bytes(key),
	    amqp_empty_table);
	return amqp_get_rpc_reply(c);
}

static amqp_rpc_reply_t
do_exchange_unbind(amqp_connection_state_t c, const char *dst,
    const char *src, const char *key)
{
	amqp_exchange_unbind(c, 1, amqp_cstring_bytes(dst),
	    amqp_cstring_bytes(src), amqp_cstring_bytes(key),
	    amqp_empty_table);
	return amqp_get_rpc_reply(c);
}

static amqp_rpc_reply_t
do_publish(amqp_connection_state_t c, const char *x, const char *key,
    const char *body)
{
	publish(c, x, key, body);
	return sync_reply(c);
}

static amqp_rpc_reply_t
do_consume(amqp_connection_state_t c, const char *q)
{
	amqp_basic_consume(c, 1, amqp_cstring_bytes(q), amqp_empty_bytes, 0,
	    1, 0, amqp_empty_table);
	return amqp_get_rpc_reply(c);
}

static amqp_rpc_reply_t
do_get(amqp_connection_state_t c, const char *q)
{
	return amqp_basic_get(c, 1, amqp_cstring_bytes(q), 1);
}

static void
expect_ok(amqp_rpc_reply_t r, const char *what)
{
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		cr_assert_fail("%s: %s", what, reply_text(r));
}

/* exchange.declare of a direct exchange with an alternate-exchange. */
static amqp_rpc_reply_t
declare_with_ae(amqp_connection_state_t c, const char *name, const char *ae)
{
	amqp_table_entry_t	e;
	amqp_table_t		t = { 1, &e };

	e.key = amqp_cstring_bytes("alternate-exchange");
	e.value.kind = AMQP_FIELD_KIND_UTF8;
	e.value.value.bytes = amqp_cstring_bytes(ae);
	amqp_exchange_declare(c, 1, amqp_cstring_bytes(name),
	    amqp_cstring_bytes("direct"), 0, 0, 0, 0, t);
	return amqp_get_rpc_reply(c);
}

/* ---- exchange.declare / exchange.delete: configure -------------------- */

Test(access, exchange_declare_allowed_by_configure_alone)
{
	amqp_connection_state_t	c;

	start_bob("^xnew$", "", "");
	c = bob();
	expect_ok(do_exchange_declare(c, "xnew", false), "exchange.declare");
	hb_close(c);
	c = alice();
	cr_assert(exchange_exists(c, "xnew"));
	hb_close(c);
	hb_stop(&broker);
}

/*
 * compat: rabbit_channel's exchange.declare: a new exchange's alternate
 * needs read on the exchange and write on the alternate.
 */
Test(access, alternate_exchange_needs_read_on_it_and_write_on_the_alternate)
{
	amqp_connection_state_t	c;

	start_bob("^xnew$", "^x2$", "");
	c = bob();
	expect_refused(c, declare_with_ae(c, "xnew", "x2"), "exchange",
	    "xnew");
	hb_close(c);
	hb_stop(&broker);
	start_bob("^xnew$", "", "^xnew$");
	c = bob();
	expect_refused(c, declare_with_ae(c, "xnew", "x2"), "exchange", "x2");
	hb_close(c);
	hb_stop(&broker);
	start_bob("^xnew$", "^x2$", "^xnew$");
	c = bob();
	expect_ok(declare_with_ae(c, "xnew", "x2"), "exchange.declare with an "
	    "alternate");
	hb_close(c);
	hb_stop(&broker);
}

/*
 * compat: the alternate's rights are checked at declare time only: the
 * alternate belongs to the exchange, so once declared it keeps routing
 * after its declarer lost write on it, as in RabbitMQ 3.10 (checked on
 * 3.10.8), while a direct publish to it is refused.
 */
Test(access, alternate_exchange_is_checked_at_declare_time_only)
{
	amqp_connection_state_t	a, c;
	struct hhttp		resp;
	int			st;

	start_bob("^xnew$", "^(x2|xnew)$", "^xnew$");
	a = alice();
	expect_ok(do_queue_declare(a, "qae", false), "declare qae");
	expect_ok(do_queue_bind(a, "qae", "x2", ""), "bind qae to x2");
	c = bob();
	expect_ok(declare_with_ae(c, "xnew", "x2"), "exchange.declare with an "
	    "alternate");
	hb_close(c);
	st = hb_http(&broker, "PUT", "/api/permissions/%2F/bob",
	    "alice:" ALICE_PW, "{\"configure\":\"^xnew$\",\"write\":"
	    "\"^xnew$\",\"read\":\"^xnew$\"}", &resp);
	hb_http_free(&resp);
	cr_assert(st >= 200 && st < 300, "PUT permissions: %d", st);
	c = bob();
	expect_ok(do_publish(c, "xnew", "no-binding", "via the alternate"),
	    "publish to xnew");
	expect_refused(c, do_publish(c, "x2", "", "direct"), "exchange", "x2");
	hb_close(c);
	expect_body(a, "qae", "via the alternate");
	cr_assert_eq(count(a, "qae"), 0);
	hb_close(a);
	hb_stop(&broker);
}

Test(access, exchange_declare_refused_without_configure)
{
	amqp_connection_state_t	c;

	start_bob("", ".*", ".*");
	c = bob();
	expect_refused(c, do_exchange_declare(c, "xnew", false), "exchange",
	    "xnew");
	hb_close(c);
	c = alice();
	cr_assert_not(exchange_exists(c, "xnew"),
	    "a refused declare created the exchange");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, exchange_declare_passive_allowed_by_configure_alone)
{
	amqp_connection_state_t	c;

	start_bob("^x1$", "", "");
	c = bob();
	expect_ok(do_exchange_declare(c, "x1", true), "passive declare x1");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, exchange_declare_passive_refused_without_configure)
{
	amqp_connection_state_t	c;

	start_bob("", ".*", ".*");
	c = bob();
	expect_refused(c, do_exchange_declare(c, "x1", true), "exchange",
	    "x1");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, exchange_delete_allowed_by_configure_alone)
{
	amqp_connection_state_t	c;

	start_bob("^x2$", "", "");
	c = bob();
	expect_ok(do_exchange_delete(c, "x2"), "exchange.delete x2");
	hb_close(c);
	c = alice();
	cr_assert_not(exchange_exists(c, "x2"));
	hb_close(c);
	hb_stop(&broker);
}

Test(access, exchange_delete_refused_without_configure)
{
	amqp_connection_state_t	c;

	start_bob("^x1$", ".*", ".*");
	c = bob();
	expect_refused(c, do_exchange_delete(c, "x2"), "exchange", "x2");
	hb_close(c);
	c = alice();
	cr_assert(exchange_exists(c, "x2"), "a refused delete deleted x2");
	hb_close(c);
	hb_stop(&broker);
}

/* compat: RabbitMQ 3.10 refuses an amq.* name before the right. */
Test(access, exchange_delete_of_amq_names_refused_before_the_right)
{
	amqp_connection_state_t	c;

	start_bob("^bob", "^bob", "^bob");
	c = bob();
	cr_assert_str_eq(hb_expect_close(c, do_exchange_delete(c,
	    "amq.direct"), false, 403), "ACCESS_REFUSED - deletion of system "
	    "exchange 'amq.direct' in vhost '/' not allowed");
	hb_close(c);
	hb_stop(&broker);
}

/* ---- queue.declare / queue.delete: configure; queue.purge: read ------- */

Test(access, queue_declare_allowed_by_configure_alone)
{
	amqp_connection_state_t	c;

	start_bob("^qnew$", "", "");
	c = bob();
	expect_ok(do_queue_declare(c, "qnew", false), "queue.declare");
	hb_close(c);
	c = alice();
	cr_assert(queue_exists(c, "qnew"));
	hb_close(c);
	hb_stop(&broker);
}

Test(access, queue_declare_refused_without_configure)
{
	amqp_connection_state_t	c;

	start_bob("", ".*", ".*");
	c = bob();
	expect_refused(c, do_queue_declare(c, "qnew", false), "queue",
	    "qnew");
	hb_close(c);
	c = alice();
	cr_assert_not(queue_exists(c, "qnew"),
	    "a refused declare created the queue");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, queue_declare_passive_allowed_by_configure_alone)
{
	amqp_connection_state_t	c;

	start_bob("^q1$", "", "");
	c = bob();
	expect_ok(do_queue_declare(c, "q1", true), "passive declare q1");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, queue_declare_passive_refused_without_configure)
{
	amqp_connection_state_t	c;

	start_bob("", ".*", ".*");
	c = bob();
	expect_refused(c, do_queue_declare(c, "q1", true), "queue", "q1");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, server_named_queue_allowed_by_configure_on_amq_gen)
{
	amqp_connection_state_t	 c;
	amqp_queue_declare_ok_t	*d;

	start_bob("^amq\\.gen-", "", "");
	c = bob();
	d = amqp_queue_declare(c, 1, amqp_empty_bytes, 0, 0, 1, 1,
	    amqp_empty_table);
	expect_ok(amqp_get_rpc_reply(c), "server-named queue.declare");
	cr_assert_not_null(d);
	cr_assert(d->queue.len > 8 &&
	    memcmp(d->queue.bytes, "amq.gen-", 8) == 0,
	    "server-named queue '%.*s'", (int)d->queue.len,
	    (char *)d->queue.bytes);
	hb_close(c);
	hb_stop(&broker);
}

Test(access, server_named_queue_refused_without_configure)
{
	amqp_connection_state_t	 c;
	const char		*got;
	const char		*tail = "' in vhost '/' refused for user 'bob'";
	const char		*head = "ACCESS_REFUSED - access to queue "
				    "'amq.gen-";
	size_t			 n;

	start_bob("^q1$", ".*", ".*");
	c = bob();
	amqp_queue_declare(c, 1, amqp_empty_bytes, 0, 0, 1, 1,
	    amqp_empty_table);
	got = hb_expect_close(c, amqp_get_rpc_reply(c), false, 403);
	n = strlen(got);
	cr_assert(strncmp(got, head, strlen(head)) == 0 &&
	    n > strlen(head) + strlen(tail) &&
	    strcmp(got + n - strlen(tail), tail) == 0,
	    "got '%s', want '%s...%s'", got, head, tail);
	hb_close(c);
	hb_stop(&broker);
}

Test(access, queue_delete_allowed_by_configure_alone)
{
	amqp_connection_state_t	c;

	start_bob("^q1$", "", "");
	c = bob();
	expect_ok(do_queue_delete(c, "q1"), "queue.delete q1");
	hb_close(c);
	c = alice();
	cr_assert_not(queue_exists(c, "q1"));
	hb_close(c);
	hb_stop(&broker);
}

Test(access, queue_delete_refused_without_configure)
{
	amqp_connection_state_t	c;

	start_bob("^x", ".*", ".*");
	c = bob();
	expect_refused(c, do_queue_delete(c, "q1"), "queue", "q1");
	hb_close(c);
	c = alice();
	cr_assert(queue_exists(c, "q1"), "a refused delete deleted q1");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, queue_purge_allowed_by_read_alone)
{
	amqp_connection_state_t	a, c;

	start_bob("", "", "^q1$");
	a = alice();
	publish(a, "", "q1", "m");
	expect_ok(sync_reply(a), "alice publish");
	cr_assert_eq(count(a, "q1"), 1);
	c = bob();
	expect_ok(do_queue_purge(c, "q1"), "queue.purge q1");
	cr_assert_eq(count(a, "q1"), 0);
	hb_close(c);
	hb_close(a);
	hb_stop(&broker);
}

Test(access, queue_purge_refused_without_read)
{
	amqp_connection_state_t	a, c;

	start_bob(".*", ".*", "");
	a = alice();
	publish(a, "", "q1", "m");
	expect_ok(sync_reply(a), "alice publish");
	c = bob();
	expect_refused(c, do_queue_purge(c, "q1"), "queue", "q1");
	cr_assert_eq(count(a, "q1"), 1, "a refused purge emptied q1");
	hb_close(c);
	hb_close(a);
	hb_stop(&broker);
}

/* ---- queue.bind / queue.unbind: write on the queue, read on the exchange */

Test(access, queue_bind_allowed_by_write_on_queue_and_read_on_exchange)
{
	amqp_connection_state_t	a, c;

	start_bob("", "^q1$", "^x2$");
	c = bob();
	expect_ok(do_queue_bind(c, "q1", "x2", ""), "queue.bind q1 x2");
	hb_close(c);
	/* The binding is real: x2 (fanout) had no queue before. */
	a = alice();
	publish(a, "x2", "", "via x2");
	expect_ok(sync_reply(a), "alice publish");
	expect_body(a, "q1", "via x2");
	hb_close(a);
	hb_stop(&broker);
}

Test(access, queue_bind_refused_without_write_on_queue)
{
	amqp_connection_state_t	c;

	/* write matches the exchange, not the queue: still refused. */
	start_bob(".*", "^x2$", ".*");
	c = bob();
	expect_refused(c, do_queue_bind(c, "q1", "x2", ""), "queue", "q1");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, queue_bind_refused_without_read_on_exchange)
{
	amqp_connection_state_t	c;

	/* read matches the queue, not the exchange: still refused. */
	start_bob(".*", ".*", "^q1$");
	c = bob();
	expect_refused(c, do_queue_bind(c, "q1", "x2", ""), "exchange", "x2");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, queue_unbind_allowed_by_write_on_queue_and_read_on_exchange)
{
	amqp_connection_state_t	a, c;

	start_bob("", "^q1$", "^x1$");
	c = bob();
	expect_ok(do_queue_unbind(c, "q1", "x1", "k"), "queue.unbind");
	hb_close(c);
	a = alice();
	publish(a, "x1", "k", "nowhere");
	expect_ok(sync_reply(a), "alice publish");
	cr_assert_eq(count(a, "q1"), 0, "the unbind did not take effect");
	hb_close(a);
	hb_stop(&broker);
}

Test(access, queue_unbind_refused_without_write_on_queue)
{
	amqp_connection_state_t	c;

	start_bob(".*", "^x1$", ".*");
	c = bob();
	expect_refused(c, do_queue_unbind(c, "q1", "x1", "k"), "queue", "q1");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, queue_unbind_refused_without_read_on_exchange)
{
	amqp_connection_state_t	a, c;

	start_bob(".*", ".*", "^q1$");
	c = bob();
	expect_refused(c, do_queue_unbind(c, "q1", "x1", "k"), "exchange",
	    "x1");
	hb_close(c);
	a = alice();
	publish(a, "x1", "k", "still bound");
	expect_ok(sync_reply(a), "alice publish");
	cr_assert_eq(count(a, "q1"), 1, "a refused unbind removed the binding");
	hb_close(a);
	hb_stop(&broker);
}

/* ---- exchange.bind / unbind: write on destination, read on source ----- */

Test(access, exchange_bind_allowed_by_write_on_dest_and_read_on_source)
{
	amqp_connection_state_t	c;

	start_bob("", "^x2$", "^x1$");
	c = bob();
	expect_ok(do_exchange_bind(c, "x2", "x1", "k2"), "exchange.bind");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, exchange_bind_refused_without_write_on_destination)
{
	amqp_connection_state_t	c;

	/* write matches the source only. */
	start_bob(".*", "^x1$", ".*");
	c = bob();
	expect_refused(c, do_exchange_bind(c, "x2", "x1", "k2"), "exchange",
	    "x2");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, exchange_bind_refused_without_read_on_source)
{
	amqp_connection_state_t	c;

	/* read matches the destination only. */
	start_bob(".*", ".*", "^x2$");
	c = bob();
	expect_refused(c, do_exchange_bind(c, "x2", "x1", "k2"), "exchange",
	    "x1");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, exchange_unbind_allowed_by_write_on_dest_and_read_on_source)
{
	amqp_connection_state_t	a, c;

	start_bob("", "^x2$", "^x1$");
	a = alice();
	/* qx2 <- x2 (fanout) <- x1 "k": reached while x1 -> x2 exists. */
	expect_ok(do_queue_declare(a, "qx2", false), "alice queue.declare");
	expect_ok(do_queue_bind(a, "qx2", "x2", ""), "alice queue.bind");
	publish(a, "x1", "k", "before");
	expect_ok(sync_reply(a), "alice publish");
	cr_assert_eq(count(a, "qx2"), 1, "x1 -> x2 from the file is missing");
	c = bob();
	expect_ok(do_exchange_unbind(c, "x2", "x1", "k"), "exchange.unbind");
	hb_close(c);
	publish(a, "x1", "k", "after");
	expect_ok(sync_reply(a), "alice publish");
	cr_assert_eq(count(a, "qx2"), 1, "the unbind did not take effect");
	hb_close(a);
	hb_stop(&broker);
}

Test(access, exchange_unbind_refused_without_write_on_destination)
{
	amqp_connection_state_t	c;

	start_bob(".*", "^x1$", ".*");
	c = bob();
	expect_refused(c, do_exchange_unbind(c, "x2", "x1", "k"), "exchange",
	    "x2");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, exchange_unbind_refused_without_read_on_source)
{
	amqp_connection_state_t	c;

	start_bob(".*", ".*", "^x2$");
	c = bob();
	expect_refused(c, do_exchange_unbind(c, "x2", "x1", "k"), "exchange",
	    "x1");
	hb_close(c);
	hb_stop(&broker);
}

/* ---- basic.publish: write on the exchange ----------------------------- */

Test(access, publish_allowed_by_write_alone)
{
	amqp_connection_state_t	a, c;

	start_bob("", "^x1$", "");
	c = bob();
	expect_ok(do_publish(c, "x1", "k", "hello"), "publish to x1");
	hb_close(c);
	a = alice();
	expect_body(a, "q1", "hello");
	hb_close(a);
	hb_stop(&broker);
}

Test(access, publish_refused_without_write)
{
	amqp_connection_state_t	a, c;

	start_bob(".*", "^q1$", ".*");
	c = bob();
	expect_refused(c, do_publish(c, "x1", "k", "hello"), "exchange",
	    "x1");
	hb_close(c);
	a = alice();
	cr_assert_eq(count(a, "q1"), 0, "a refused publish was routed");
	hb_close(a);
	hb_stop(&broker);
}

Test(access, publish_to_default_exchange_allowed_by_write_on_amq_default)
{
	amqp_connection_state_t	a, c;

	start_bob("", "^amq\\.default$", "");
	c = bob();
	expect_ok(do_publish(c, "", "q1", "direct"), "publish to \"\"");
	hb_close(c);
	a = alice();
	expect_body(a, "q1", "direct");
	hb_close(a);
	hb_stop(&broker);
}

Test(access, publish_to_default_exchange_refused_names_amq_default)
{
	amqp_connection_state_t	a, c;

	/* Write on the queue itself is not write on the default exchange. */
	start_bob(".*", "^q1$", ".*");
	c = bob();
	expect_refused(c, do_publish(c, "", "q1", "direct"), "exchange",
	    "amq.default");
	hb_close(c);
	a = alice();
	cr_assert_eq(count(a, "q1"), 0, "a refused publish was routed");
	hb_close(a);
	hb_stop(&broker);
}

/* ---- basic.consume / basic.get: read on the queue --------------------- */

Test(access, consume_allowed_by_read_alone)
{
	amqp_connection_state_t	c;

	start_bob("", "", "^q1$");
	c = bob();
	expect_ok(do_consume(c, "q1"), "basic.consume q1");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, consume_refused_without_read)
{
	amqp_connection_state_t	c;

	start_bob(".*", ".*", "^x");
	c = bob();
	expect_refused(c, do_consume(c, "q1"), "queue", "q1");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, get_allowed_by_read_alone)
{
	amqp_connection_state_t	a, c;

	start_bob("", "", "^q1$");
	a = alice();
	publish(a, "", "q1", "for bob");
	expect_ok(sync_reply(a), "alice publish");
	hb_close(a);
	c = bob();
	expect_body(c, "q1", "for bob");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, get_refused_without_read)
{
	amqp_connection_state_t	a, c;

	start_bob(".*", ".*", "");
	a = alice();
	publish(a, "", "q1", "not for bob");
	expect_ok(sync_reply(a), "alice publish");
	c = bob();
	expect_refused(c, do_get(c, "q1"), "queue", "q1");
	hb_close(c);
	cr_assert_eq(count(a, "q1"), 1, "a refused get took the message");
	hb_close(a);
	hb_stop(&broker);
}

/* ---- no 404 for names without rights ---------------------------------- */

/*
 * compat: rabbit_channel checks the right before it looks the queue or
 * exchange up, so a user learns nothing about names it has no rights on:
 * an existing name (q1, x1) and a missing one get the same 403 (checked
 * on RabbitMQ 3.10.8).
 */
Test(access, missing_and_existing_queues_get_the_same_403)
{
	static const char *const	names[] = { "q1", "qmissing" };
	amqp_connection_state_t		c;

	start_bob("^bob", "^bob", "^bob");
	c = bob();
	expect_ok(do_queue_declare(c, "bob-q", false), "declare bob-q");
	for (size_t i = 0; i < 2; i++) {
		const char	*q = names[i];

		expect_refused(c, do_get(c, q), "queue", q);
		reopen(c);
		expect_refused(c, do_queue_purge(c, q), "queue", q);
		reopen(c);
		expect_refused(c, do_consume(c, q), "queue", q);
		reopen(c);
		expect_refused(c, do_queue_bind(c, q, "amq.direct", "k"),
		    "queue", q);
		reopen(c);
		expect_refused(c, do_queue_unbind(c, q, "amq.direct", "k"),
		    "queue", q);
		reopen(c);
		expect_refused(c, do_queue_delete(c, q), "queue", q);
		reopen(c);
	}
	hb_close(c);
	hb_stop(&broker);
}

Test(access, missing_and_existing_exchanges_get_the_same_403)
{
	static const char *const	names[] = { "x1", "xmissing" };
	amqp_connection_state_t		c;

	start_bob("^bob", "^bob", "^bob");
	c = bob();
	expect_ok(do_queue_declare(c, "bob-q", false), "declare bob-q");
	amqp_exchange_declare(c, 1, amqp_cstring_bytes("bob-x"),
	    amqp_cstring_bytes("fanout"), 0, 0, 0, 0, amqp_empty_table);
	ok(c, "declare bob-x");
	for (size_t i = 0; i < 2; i++) {
		const char	*x = names[i];

		expect_refused(c, do_publish(c, x, "k", "m"), "exchange", x);
		reopen(c);
		expect_refused(c, do_queue_bind(c, "bob-q", x, "k"),
		    "exchange", x);
		reopen(c);
		expect_refused(c, do_queue_unbind(c, "bob-q", x, "k"),
		    "exchange", x);
		reopen(c);
		expect_refused(c, do_exchange_bind(c, "bob-x", x, "k"),
		    "exchange", x);
		reopen(c);
		expect_refused(c, do_exchange_bind(c, x, "bob-x", "k"),
		    "exchange", x);
		reopen(c);
		expect_refused(c, do_exchange_delete(c, x), "exchange", x);
		reopen(c);
	}
	hb_close(c);
	hb_stop(&broker);
}

/*
 * compat: a logged-in user is told the same for a vhost that does not
 * exist as for one it may not open. RabbitMQ 3.10.8 answers "vhost nope
 * not found" to anyone, which tells which vhosts exist; warren does not.
 */
Test(access, missing_vhost_looks_like_one_without_access)
{
	start_bob(".*", ".*", ".*");	/* bob: "/" only */
	expect_open_refused("other", "bob", BOB_PW,
	    "NOT_ALLOWED - access to vhost 'other' refused for user 'bob'");
	expect_open_refused("nope", "bob", BOB_PW,
	    "NOT_ALLOWED - access to vhost 'nope' refused for user 'bob'");
	hb_stop(&broker);
}

/* ---- patterns --------------------------------------------------------- */

Test(access, empty_patterns_deny_everything)
{
	amqp_connection_state_t	c;

	start_bob("", "", "");
	/* Permissions, even all-denying ones, still let bob open "/". */
	c = bob();
	expect_refused(c, do_queue_declare(c, "q1", true), "queue", "q1");
	reopen(c);
	expect_refused(c, do_exchange_declare(c, "x1", true), "exchange",
	    "x1");
	reopen(c);
	expect_refused(c, do_publish(c, "x1", "k", "m"), "exchange", "x1");
	reopen(c);
	expect_refused(c, do_publish(c, "", "q1", "m"), "exchange",
	    "amq.default");
	reopen(c);
	expect_refused(c, do_get(c, "q1"), "queue", "q1");
	reopen(c);
	expect_refused(c, do_queue_bind(c, "q1", "x1", "k"), "queue", "q1");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, match_all_patterns_allow_everything)
{
	amqp_connection_state_t	c;

	start_bob(".*", ".*", ".*");
	c = bob();
	expect_ok(do_exchange_declare(c, "bx", false), "exchange.declare");
	expect_ok(do_queue_declare(c, "bq", false), "queue.declare");
	expect_ok(do_queue_bind(c, "bq", "bx", "k"), "queue.bind");
	expect_ok(do_exchange_bind(c, "bx", "x1", "k"), "exchange.bind");
	expect_ok(do_publish(c, "x1", "k", "via x1"), "publish x1");
	expect_ok(do_publish(c, "", "bq", "default"), "publish \"\"");
	expect_body(c, "bq", "via x1");
	expect_body(c, "bq", "default");
	expect_ok(do_queue_purge(c, "bq"), "queue.purge");
	expect_ok(do_consume(c, "bq"), "basic.consume");
	expect_ok(do_exchange_unbind(c, "bx", "x1", "k"), "exchange.unbind");
	expect_ok(do_queue_unbind(c, "bq", "bx", "k"), "queue.unbind");
	expect_ok(do_queue_delete(c, "bq"), "queue.delete");
	expect_ok(do_exchange_delete(c, "bx"), "exchange.delete");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, anchored_pattern_allows_prefix_only)
{
	amqp_connection_state_t	c;

	start_bob("^bob-", "", "");
	c = bob();
	expect_ok(do_queue_declare(c, "bob-q", false), "declare bob-q");
	expect_refused(c, do_queue_declare(c, "my-bob-q", false), "queue",
	    "my-bob-q");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, fully_anchored_pattern_refuses_longer_name)
{
	amqp_connection_state_t	c;

	start_bob("^bob-q$", "", "");
	c = bob();
	expect_ok(do_queue_declare(c, "bob-q", false), "declare bob-q");
	expect_refused(c, do_queue_declare(c, "bob-q2", false), "queue",
	    "bob-q2");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, unanchored_pattern_matches_anywhere_in_the_name)
{
	amqp_connection_state_t	c;

	start_bob("bob", "", "");
	c = bob();
	expect_ok(do_queue_declare(c, "my-bob-q", false), "declare my-bob-q");
	expect_refused(c, do_queue_declare(c, "alice-q", false), "queue",
	    "alice-q");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, pcre_syntax_alternation_and_escapes)
{
	amqp_connection_state_t	c;

	/* \d and (?:...) are PCRE, not POSIX ERE. */
	start_bob("^(?:jobs|logs)\\.\\d+$", "", "");
	c = bob();
	expect_ok(do_queue_declare(c, "jobs.42", false), "declare jobs.42");
	expect_ok(do_queue_declare(c, "logs.7", false), "declare logs.7");
	expect_refused(c, do_queue_declare(c, "jobsX42", false), "queue",
	    "jobsX42");
	hb_close(c);
	hb_stop(&broker);
}

/* ---- vhosts ----------------------------------------------------------- */

Test(access, vhosts_are_isolated)
{
	amqp_connection_state_t	root, other;

	start_bob(".*", ".*", ".*");
	root = alice();
	other = login("other", "alice", ALICE_PW);
	/* q1 exists only in "/" */
	cr_assert(queue_exists(root, "q1"));
	cr_assert_not(queue_exists(other, "q1"),
	    "q1 of vhost / is visible in vhost other");
	/* The same name in both vhosts makes two queues. */
	expect_ok(do_queue_declare(root, "same", false), "declare / same");
	expect_ok(do_queue_declare(other, "same", false), "declare other same");
	publish(root, "", "same", "in root");
	expect_ok(sync_reply(root), "publish in /");
	cr_assert_null(get_body(other, "same"),
	    "a message published in / arrived in other");
	expect_body(root, "same", "in root");
	hb_close(other);
	hb_close(root);
	hb_stop(&broker);
}

Test(access, vhost_without_permissions_refused_with_530)
{
	start_bob(".*", ".*", ".*");	/* bob: "/" only */
	expect_open_refused("other", "bob", BOB_PW,
	    "NOT_ALLOWED - access to vhost 'other' refused for user 'bob'");
	hb_stop(&broker);
}

Test(access, permissions_in_one_vhost_do_not_open_another)
{
	struct perm		p = { "other", ".*", ".*", ".*" };
	amqp_connection_state_t	c;

	start_perms(&p, 1, NULL);	/* bob: "other" only */
	c = login("other", "bob", BOB_PW);
	expect_ok(do_queue_declare(c, "q1", false), "declare q1 in other");
	hb_close(c);
	expect_open_refused("/", "bob", BOB_PW,
	    "NOT_ALLOWED - access to vhost '/' refused for user 'bob'");
	hb_stop(&broker);
}

Test(access, unknown_vhost_refused_with_530)
{
	start_bob(".*", ".*", ".*");
	expect_open_refused("nope", "alice", ALICE_PW,
	    "NOT_ALLOWED - access to vhost 'nope' refused for user 'alice'");
	hb_stop(&broker);
}

/* ---- logins ----------------------------------------------------------- */

Test(access, wrong_password_and_unknown_user_get_the_same_403)
{
	amqp_connection_state_t	c;

	start_bob(".*", ".*", ".*");
	expect_login_refused("/", "bob", "not-bobs-password");
	expect_login_refused("/", "mallory", BOB_PW);
	expect_login_refused("/", "bob", "");
	/* ...while the right password works. */
	c = bob();
	hb_close(c);
	hb_stop(&broker);
}

Test(access, sha512_and_plain_password_users_log_in)
{
	struct hsbuf		 s = { NULL, 0, 0 };
	char			 h[PASSWORD_HASH_MAX];
	const char		*argv[3];
	amqp_connection_state_t	 c;

	if (password_hash(PASSWORD_SHA512, "carol-pw", 8, h, sizeof(h)) != 0)
		cr_assert_fail("password_hash sha512");
	hb_sbprintf(&s, "{\"users\": ["
	    "{\"name\": \"carol\", \"password_hash\": \"%s\", "
	    "\"hashing_algorithm\": \"rabbit_password_hashing_sha512\", "
	    "\"tags\": \"\"},"
	    "{\"name\": \"dave\", \"password\": \"dave-pw\", \"tags\": \"\"}],"
	    "\"permissions\": ["
	    "{\"user\": \"carol\", \"vhost\": \"/\", \"configure\": \".*\", "
	    "\"write\": \".*\", \"read\": \".*\"},"
	    "{\"user\": \"dave\", \"vhost\": \"/\", \"configure\": \".*\", "
	    "\"write\": \".*\", \"read\": \".*\"}]}", h);
	argv[0] = "--load-definitions";
	argv[1] = write_defs(s.p);
	argv[2] = NULL;
	hb_start(&broker, argv);
	hb_require_warrend(&broker);
	c = login("/", "carol", "carol-pw");
	hb_close(c);
	c = login("/", "dave", "dave-pw");
	hb_close(c);
	expect_login_refused("/", "carol", "carol-pw2");
	expect_login_refused("/", "dave", "dave-pw2");
	hb_stop(&broker);
}

/* ---- loopback-only users ---------------------------------------------- */

Test(access, loopback_user_logs_in_from_127_0_0_1)
{
	const char		*extra[] = { "--loopback-users", "alice", NULL };
	struct perm		 p = { "/", ".*", ".*", ".*" };
	amqp_connection_state_t	 c;

	start_perms(&p, 1, extra);
	c = alice();
	expect_ok(do_queue_declare(c, "q1", true), "passive declare");
	hb_close(c);
	hb_stop(&broker);
}

/*
 * A veth pair: host end va (ha/30) in this namespace, peer end vb
 * (nsa/30) in network namespace name.  Made per test, removed at exit.
 */
static struct {
	bool	made;
	char	name[32], va[16], vb[16];
	char	ha[INET_ADDRSTRLEN], nsa[INET_ADDRSTRLEN];
} ns;

static const char *
ip_path(void)
{
	static const char	*const cand[] = { "/usr/sbin/ip", "/sbin/ip",
				    "/usr/bin/ip", "/bin/ip" };
	size_t			 i;

	for (i = 0; i < sizeof(cand) / sizeof(cand[0]); i++)
		if (access(cand[i], X_OK) == 0)
			return cand[i];
	return NULL;
}

/* Runs ip with up to 10 arguments; returns its exit status. */
static int
ip_cmd(char *err, size_t errlen, const char *a0, ...)
{
	const char	*argv[12];
	const char	*a;
	va_list		 ap;
	int		 argc = 0;

	if ((argv[argc++] = ip_path()) == NULL) {
		snprintf(err, errlen, "no ip(8) command");
		return -1;
	}
	va_start(ap, a0);
	for (a = a0; a != NULL && argc < 11; a = va_arg(ap, const char *))
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return hb_run(argv, NULL, 0, err, errlen);
}

static void
ns_cleanup(void)
{
	char	err[256];

	if (!ns.made)
		return;
	ns.made = false;
	/* Deleting the namespace destroys vb and with it its peer va. */
	ip_cmd(err, sizeof(err), "netns", "del", ns.name, NULL);
	ip_cmd(err, sizeof(err), "link", "del", ns.va, NULL);
}

static void
ns_step(const char *what, int rc, const char *err)
{
	if (rc != 0)
		cr_assert_fail("network namespace setup: %s: exit %d: %s",
		    what, rc, err);
}

/*
 * Makes the namespace and the veth pair.  Returns false (after a
 * warning) when this process may not: then the caller falls back.
 */
static bool
ns_setup(void)
{
	char		err[1024], a[32], pfx[40];
	unsigned	idx, x, y;
	int		rc;
	pid_t		pid = getpid();

	if (ip_path() == NULL || geteuid() != 0) {
		cr_log_warn("cannot make a network namespace (%s): testing "
		    "from a local non-loopback address instead",
		    ip_path() == NULL ? "no ip(8)" : "not root");
		return false;
	}
	/* A /30 of 10.200.0.0/16 per test process. */
	idx = (unsigned)pid % 16384;
	x = idx / 64;
	y = (idx % 64) * 4;
	snprintf(ns.name, sizeof(ns.name), "warren-acc-%d", (int)pid);
	snprintf(ns.va, sizeof(ns.va), "wacc%da", (int)pid % 1000000);
	snprintf(ns.vb, sizeof(ns.vb), "wacc%db", (int)pid % 1000000);
	snprintf(ns.ha, sizeof(ns.ha), "10.200.%u.%u", x, y + 1);
	snprintf(ns.nsa, sizeof(ns.nsa), "10.200.%u.%u", x, y + 2);

	/* Leftovers of a killed run with the same pid. */
	ip_cmd(err, sizeof(err), "netns", "del", ns.name, NULL);
	ip_cmd(err, sizeof(err), "link", "del", ns.va, NULL);

	rc = ip_cmd(err, sizeof(err), "netns", "add", ns.name, NULL);
	if (rc != 0 && strstr(err, "Operation not permitted") != NULL) {
		/* Root without CAP_SYS_ADMIN (a container): say so, loudly. */
		cr_assert_fail("running as root but may not create a network "
		    "namespace: %s", err);
	}
	ns_step("netns add", rc, err);
	ns.made = true;
	atexit(ns_cleanup);
	ns_step("link add", ip_cmd(err, sizeof(err), "link", "add", ns.va,
	    "type", "veth", "peer", "name", ns.vb, NULL), err);
	ns_step("link set netns", ip_cmd(err, sizeof(err), "link", "set",
	    ns.vb, "netns", ns.name, NULL), err);
	snprintf(a, sizeof(a), "%s/30", ns.ha);
	ns_step("addr add (host)", ip_cmd(err, sizeof(err), "addr", "add", a,
	    "dev", ns.va, NULL), err);
	ns_step("link up (host)", ip_cmd(err, sizeof(err), "link", "set",
	    ns.va, "up", NULL), err);
	snprintf(pfx, sizeof(pfx), "%s/30", ns.nsa);
	ns_step("addr add (ns)", ip_cmd(err, sizeof(err), "-n", ns.name,
	    "addr", "add", pfx, "dev", ns.vb, NULL), err);
	ns_step("link up (ns)", ip_cmd(err, sizeof(err), "-n", ns.name,
	    "link", "set", ns.vb, "up", NULL), err);
	ns_step("lo up (ns)", ip_cmd(err, sizeof(err), "-n", ns.name,
	    "link", "set", "lo", "up", NULL), err);
	return true;
}

/* The login's outcome: 0 logged in, else the close code (text in buf). */
static int
try_login(const char *host, int port, const char *user, const char *pass,
    char *buf, size_t len)
{
	amqp_connection_state_t	 c;
	amqp_socket_t		*s;
	amqp_rpc_reply_t	 r;
	struct timeval		 tv = { 5, 0 };
	int			 rc;

	buf[0] = '\0';
	if ((c = amqp_new_connection()) == NULL ||
	    (s = amqp_tcp_socket_new(c)) == NULL) {
		snprintf(buf, len, "out of memory");
		return -1;
	}
	if ((rc = amqp_socket_open_noblock(s, host, port, &tv)) !=
	    AMQP_STATUS_OK) {
		snprintf(buf, len, "connect %s:%d: %s", host, port,
		    amqp_error_string2(rc));
		amqp_destroy_connection(c);
		return -1;
	}
	amqp_set_rpc_timeout(c, &tv);
	r = amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, user,
	    pass);
	if (r.reply_type == AMQP_RESPONSE_NORMAL) {
		amqp_connection_close(c, AMQP_REPLY_SUCCESS);
		amqp_destroy_connection(c);
		return 0;
	}
	snprintf(buf, len, "%s", reply_text(r));
	rc = -1;
	if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
	    r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
		amqp_connection_close_t		*m = r.reply.decoded;
		amqp_connection_close_ok_t	 ok;

		snprintf(buf, len, "%.*s", (int)m->reply_text.len,
		    (char *)m->reply_text.bytes);
		rc = m->reply_code;
		/* Finish the close handshake, or warrend waits for it. */
		memset(&ok, 0, sizeof(ok));
		amqp_send_method(c, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
	}
	amqp_destroy_connection(c);
	return rc;
}

/*
 * try_login from inside namespace ns.name: a child joins it with setns
 * and reports through a pipe.  The child leaves with _exit, so this
 * process's exit-time cleanup (warrend, the namespace) is not run twice.
 */
static int
ns_login(int port, const char *user, const char *pass, char *buf, size_t len)
{
	char		path[128], msg[600];
	int		p[2], fd, st, code;
	ssize_t		n, got = 0;
	pid_t		pid;
	struct pollfd	pfd;

	snprintf(path, sizeof(path), "/var/run/netns/%s", ns.name);
	if (pipe(p) == -1)
		cr_assert_fail("pipe: %s", strerror(errno));
	if ((pid = fork()) == -1)
		cr_assert_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
		    setns(fd, CLONE_NEWNET) == -1) {
			code = -2;
			snprintf(buf, len, "setns %s: %s", path,
			    strerror(errno));
		} else
			code = try_login(ns.ha, port, user, pass, buf, len);
		n = snprintf(msg, sizeof(msg), "%d %s", code, buf);
		if (write(p[1], msg, (size_t)n) != n)
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (poll(&pfd, 1, 15000) == 1 && (n = read(p[0], msg + got,
	    sizeof(msg) - 1 - (size_t)got)) > 0)
		got += n;
	close(p[0]);
	msg[got] = '\0';
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	if (got == 0 || sscanf(msg, "%d", &code) != 1)
		cr_assert_fail("namespace client said nothing");
	snprintf(buf, len, "%s", strchr(msg, ' ') != NULL ?
	    strchr(msg, ' ') + 1 : "");
	if (code == -2)
		cr_assert_fail("%s", buf);
	return code;
}

/* A local IPv4 address that is not loopback, or false. */
static bool
local_non_loopback(char *out, size_t len)
{
	struct ifaddrs	*ifa, *i;
	bool		 found = false;

	if (getifaddrs(&ifa) == -1)
		return false;
	for (i = ifa; i != NULL && !found; i = i->ifa_next) {
		struct sockaddr_in	*sin;

		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		sin = (struct sockaddr_in *)(void *)i->ifa_addr;
		if ((ntohl(sin->sin_addr.s_addr) >> 24) == 127)
			continue;
		inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)len);
		found = true;
	}
	freeifaddrs(ifa);
	return found;
}

Test(access, loopback_user_refused_from_non_loopback_address)
{
	const char	*extra[] = { "--loopback-users", "alice", "--bind",
			    "0.0.0.0", NULL };
	struct perm	 p = { "/", ".*", ".*", ".*" };
	char		 text[512], addr[INET_ADDRSTRLEN];
	int		 code;

	start_perms(&p, 1, extra);
	/* From loopback alice is fine... */
	hb_close(alice());
	if (ns_setup()) {
		/* ...from another host (namespace) she is not, */
		code = ns_login(broker.port, "alice", ALICE_PW, text,
		    sizeof(text));
		cr_assert_eq(code, 403, "alice from %s: %d '%s'", ns.nsa,
		    code, text);
		cr_assert_str_eq(text, LOGIN_REFUSED);
		/* ...while bob, not listed, is, proving the path works. */
		code = ns_login(broker.port, "bob", BOB_PW, text,
		    sizeof(text));
		cr_assert_eq(code, 0, "bob from %s: %d '%s'", ns.nsa, code,
		    text);
		ns_cleanup();
	} else {
		if (!local_non_loopback(addr, sizeof(addr)))
			cr_skip_test("no network namespace and no local "
			    "non-loopback IPv4 address: cannot test a "
			    "non-loopback peer");
		code = try_login(addr, broker.port, "alice", ALICE_PW, text,
		    sizeof(text));
		cr_assert_eq(code, 403, "alice via %s: %d '%s'", addr, code,
		    text);
		cr_assert_str_eq(text, LOGIN_REFUSED);
		code = try_login(addr, broker.port, "bob", BOB_PW, text,
		    sizeof(text));
		cr_assert_eq(code, 0, "bob via %s: %d '%s'", addr, code, text);
	}
	hb_stop(&broker);
}

Test(access, loopback_user_refused_via_local_non_loopback_address)
{
	const char	*extra[] = { "--loopback-users", "alice", "--bind",
			    "0.0.0.0", NULL };
	struct perm	 p = { "/", ".*", ".*", ".*" };
	char		 text[512], addr[INET_ADDRSTRLEN];
	int		 code;

	/*
	 * Connecting to one of this host's own non-loopback addresses
	 * travels over lo, but the peer address is not 127/8: RabbitMQ
	 * refuses such a login too, and so must warrend.
	 */
	start_perms(&p, 1, extra);
	if (ns_setup())
		snprintf(addr, sizeof(addr), "%s", ns.ha);
	else if (!local_non_loopback(addr, sizeof(addr)))
		cr_skip_test("no local non-loopback IPv4 address");
	code = try_login(addr, broker.port, "alice", ALICE_PW, text,
	    sizeof(text));
	cr_assert_eq(code, 403, "alice via %s: %d '%s'", addr, code, text);
	cr_assert_str_eq(text, LOGIN_REFUSED);
	ns_cleanup();
	hb_stop(&broker);
}

/* The list's blanks are no part of its names: "bob, alice" names alice. */
Test(access, loopback_users_list_entries_are_trimmed)
{
	const char	*extra[] = { "--loopback-users", "bob, alice", "--bind",
			    "0.0.0.0", NULL };
	struct perm	 p = { "/", ".*", ".*", ".*" };
	char		 text[512], addr[INET_ADDRSTRLEN];
	int		 code;

	start_perms(&p, 1, extra);
	if (ns_setup())
		snprintf(addr, sizeof(addr), "%s", ns.ha);
	else if (!local_non_loopback(addr, sizeof(addr)))
		cr_skip_test("no local non-loopback IPv4 address");
	code = try_login(addr, broker.port, "alice", ALICE_PW, text,
	    sizeof(text));
	cr_assert_eq(code, 403, "alice via %s: %d '%s'", addr, code, text);
	cr_assert_str_eq(text, LOGIN_REFUSED);
	code = try_login(addr, broker.port, "bob", BOB_PW, text,
	    sizeof(text));
	cr_assert_eq(code, 403, "bob via %s: %d '%s'", addr, code, text);
	ns_cleanup();
	hb_stop(&broker);
}

/* ---- bad definitions -------------------------------------------------- */

/*
 * Runs warrend on a fresh data dir with --load-definitions text; asserts
 * a non-zero exit and that stderr mentions every string in want.
 */
static void
expect_start_failure(const char *text, const char *const *want)
{
	char		 dir[300], errbuf[8192];
	const char	*argv[14];
	int		 rc;

	write_defs(text);
	snprintf(dir, sizeof(dir), "%s/data", defs_dir);
	if (mkdir(dir, 0700) == -1)
		cr_assert_fail("mkdir %s: %s", dir, strerror(errno));
	argv[0] = hb_warrend_path();
	argv[1] = "--port";
	argv[2] = "0";
	argv[3] = "--bind";
	argv[4] = "127.0.0.1";
	argv[5] = "--data-dir";
	argv[6] = dir;
	argv[7] = "--load-definitions";
	argv[8] = defs_path;
	argv[9] = "--admin-port";
	argv[10] = "0";
	argv[11] = "--prometheus-port";
	argv[12] = "none";
	argv[13] = NULL;
	rc = hb_run(argv, NULL, 0, errbuf, sizeof(errbuf));
	cr_assert(rc != 0 && rc != -1, "warrend %s with a bad definitions "
	    "file (status %d); stderr:\n%s", rc == -1 ? "kept running" :
	    "exited 0", rc, errbuf);
	for (; *want != NULL; want++)
		cr_assert(strstr(errbuf, *want) != NULL, "stderr does not "
		    "mention '%s':\n%s", *want, errbuf);
}

Test(access, bad_regex_in_definitions_fails_start)
{
	struct perm		 p = { "/", "^(unclosed", ".*", ".*" };
	const char *const	 want[] = { "permissions[2]", "bob",
				    "parenthesis", NULL };

	if (getenv("WARREN_TEST_URL") != NULL &&
	    getenv("WARREN_TEST_URL")[0] != '\0')
		cr_skip_test("tests warrend itself; external broker in use");
	expect_start_failure(defs_text(&p, 1, NULL), want);
}

Test(access, unknown_hashing_algorithm_fails_start)
{
	const char *const	want[] = { "rabbit_password_hashing_rot13",
				    NULL };

	if (getenv("WARREN_TEST_URL") != NULL &&
	    getenv("WARREN_TEST_URL")[0] != '\0')
		cr_skip_test("tests warrend itself; external broker in use");
	expect_start_failure(defs_text(NULL, 0,
	    "rabbit_password_hashing_rot13"), want);
}

/*
 * compat: RabbitMQ 3.10's import stores an alternate-exchange of another
 * type and never routes by it; warren refuses the file.
 */
Test(access, non_string_alternate_exchange_in_definitions_fails_start)
{
	const char *const	want[] = { "invalid type",
				    "'alternate-exchange'", "xae", NULL };
	char			*text = defs_text(NULL, 0, NULL), *at;
	struct hsbuf		 s = { NULL, 0, 0 };

	if (getenv("WARREN_TEST_URL") != NULL &&
	    getenv("WARREN_TEST_URL")[0] != '\0')
		cr_skip_test("tests warrend itself; external broker in use");
	cr_assert_not_null(at = strstr(text, "\"exchanges\": [\n"));
	at += strlen("\"exchanges\": [\n");
	hb_sbprintf(&s, "%.*s  {\"name\": \"xae\", \"vhost\": \"/\", "
	    "\"type\": \"direct\", \"durable\": true, \"auto_delete\": false, "
	    "\"internal\": false, \"arguments\": {\"alternate-exchange\": 5}},"
	    "\n%s", (int)(at - text), text, at);
	expect_start_failure(s.p, want);
}

/* ---- reloading -------------------------------------------------------- */

/* How many times s occurs in warrend's DIR/stderr.log. */
static int
log_count(const char *s)
{
	char	path[512], line[2048];
	FILE	*f;
	int	 n = 0;

	snprintf(path, sizeof(path), "%s/stderr.log", broker.dir);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, s) != NULL)
			n++;
	fclose(f);
	return n;
}

Test(access, loading_the_same_definitions_twice_is_idempotent)
{
	const char		*argv[3];
	amqp_connection_state_t	 a, c;
	int			 rc;

	start_bob("^bob-", "^x1$", "");
	a = alice();
	publish_persistent(a, "x1", "k", "kept");
	expect_ok(sync_reply(a), "alice publish");
	hb_close(a);
	rc = hb_halt(&broker, SIGTERM);
	cr_assert_eq(rc, 0, "warrend exited %d on SIGTERM", rc);

	argv[0] = "--load-definitions";
	argv[1] = defs_path;
	argv[2] = NULL;
	hb_restart(&broker, argv);
	/* Nothing new: the file's objects all exist already. */
	cr_assert_eq(log_count("(0 objects created)"), 1,
	    "the second load created objects again (see %s/stderr.log)",
	    broker.dir);
	a = alice();
	/* q1 was not re-created empty, and x1 -> q1 still routes. */
	cr_assert_eq(count(a, "q1"), 1);
	publish(a, "x1", "k", "once");
	expect_ok(sync_reply(a), "alice publish");
	cr_assert_eq(count(a, "q1"), 2);
	hb_close(a);
	/* bob's permissions are still exactly the file's. */
	c = bob();
	expect_ok(do_publish(c, "x1", "k", "bob"), "bob publish x1");
	expect_refused(c, do_queue_declare(c, "q1", true), "queue", "q1");
	hb_close(c);
	hb_stop(&broker);
}

/*
 * compat: RabbitMQ does not seed its default user (nor vhost) when
 * definitions are to be loaded at boot ("Will not seed default virtual
 * host and user: have definitions to load"): the file is the only source
 * of users, so guest/guest must not appear behind the operator's back.
 */
Test(access, fresh_start_with_definitions_seeds_no_guest_user)
{
	start_bob(".*", ".*", ".*");
	expect_login_refused("/", "guest", "guest");
	hb_stop(&broker);
}

Test(access, definitions_users_survive_restart_without_the_file)
{
	amqp_connection_state_t	a, c;
	int			rc;

	start_bob("^bob-", "", "");
	rc = hb_halt(&broker, SIGTERM);
	cr_assert_eq(rc, 0, "warrend exited %d on SIGTERM", rc);
	hb_restart(&broker, NULL);	/* no --load-definitions */

	a = login("other", "alice", ALICE_PW);	/* vhost "other" is stored */
	hb_close(a);
	a = alice();
	cr_assert(queue_exists(a, "q1"), "q1 of the file is gone");
	cr_assert(exchange_exists(a, "x1"), "x1 of the file is gone");
	hb_close(a);
	c = bob();
	expect_ok(do_queue_declare(c, "bob-q", false), "declare bob-q");
	expect_refused(c, do_queue_declare(c, "q1", true), "queue", "q1");
	hb_close(c);
	expect_login_refused("/", "bob", "not-bobs-password");
	expect_open_refused("other", "bob", BOB_PW,
	    "NOT_ALLOWED - access to vhost 'other' refused for user 'bob'");
	hb_stop(&broker);
}

/* ---- per-vhost limits ---------------------------------------------------- */

/* The standard definitions plus vhost-limits parameters for "/". */
static void
start_with_limits(const char *limits_json)
{
	static const struct perm p = { "/", ".*", ".*", ".*" };
	const char *argv[] = { "--load-definitions", defs_path, NULL };
	char *text = defs_text(&p, 1, NULL), *end, *full;
	size_t len;

	/* Splice a "parameters" section in before the final brace. */
	end = strrchr(text, '}');
	cr_assert_not_null(end);
	len = (size_t)(end - text);
	cr_assert_not_null(full = malloc(len + strlen(limits_json) + 128));
	snprintf(full, len + strlen(limits_json) + 128, "%.*s,\n\"parameters\": "
	    "[{\"vhost\": \"/\", \"component\": \"vhost-limits\", \"name\": "
	    "\"limits\", \"value\": %s}]\n}\n", (int)len, text, limits_json);
	write_defs(full);
	free(full);
	free(text);
	hb_start(&broker, argv);
	hb_require_warrend(&broker);
}

Test(access, vhost_max_connections_refuses_one_more)
{
	amqp_connection_state_t c1, c2;
	amqp_rpc_reply_t r;

	start_with_limits("{\"max-connections\": 2}");
	c1 = bob();
	c2 = alice();
	cr_assert_null(hb_connect_opts(&broker, "/", "bob", BOB_PW, 131072, 0,
	    &r));
	cr_assert_str_eq(hb_expect_close(NULL, r, true, 530),
	    "NOT_ALLOWED - access to vhost '/' refused for user 'bob': "
	    "connection limit (2) is reached");
	/* Another vhost has no limit; a closed connection frees a slot. */
	hb_close(login("other", "alice", ALICE_PW));
	hb_close(c1);
	usleep(200000);
	c1 = bob();
	hb_close(c1);
	hb_close(c2);
}

Test(access, vhost_max_queues_refuses_one_more_and_survives_restart)
{
	amqp_connection_state_t c;
	amqp_rpc_reply_t r;

	/* q1 from the definitions counts: one more is allowed. */
	start_with_limits("{\"max-queues\": 2}");
	c = bob();
	amqp_queue_declare(c, 1, amqp_cstring_bytes("bob-q2"), 0, 1, 0, 0,
	    amqp_empty_table);
	ok(c, "second queue");
	amqp_queue_declare(c, 1, amqp_cstring_bytes("bob-q3"), 0, 1, 0, 0,
	    amqp_empty_table);
	r = amqp_get_rpc_reply(c);
	cr_assert_str_eq(hb_expect_close(c, r, false, 406),
	    "PRECONDITION_FAILED - cannot declare queue 'bob-q3': queue limit "
	    "in vhost '/' (2) is reached");
	hb_close(c);
	/* The limit is stored: without the file it still holds. */
	cr_assert_eq(hb_halt(&broker, SIGTERM), 0);
	hb_restart(&broker, NULL);
	c = bob();
	amqp_queue_declare(c, 1, amqp_cstring_bytes("bob-q3"), 0, 1, 0, 0,
	    amqp_empty_table);
	r = amqp_get_rpc_reply(c);
	cr_assert_eq(hb_expect_close(c, r, false, 406)[0], 'P');
	hb_close(c);
}

/*
 * A definitions file meets max-queues too (it used to bypass it): with
 * the file's own limit of 1, its second queue aborts the import, as
 * RabbitMQ aborts an import that would exceed the limit.
 */
Test(access, definitions_beyond_vhost_max_queues_fail_start)
{
	static const struct perm p = { "/", ".*", ".*", ".*" };
	const char *const	 want[] = { "queues[1]", "cannot declare queue "
				    "'q2': queue limit in vhost '/' (1) is "
				    "reached", NULL };
	char			*text = defs_text(&p, 1, NULL), *at, *end;
	static char		 full[16384];
	const char		*q1 = "\"auto_delete\": false, \"arguments\": "
				    "{}}\n],\n\"bindings\"";

	if (getenv("WARREN_TEST_URL") != NULL &&
	    getenv("WARREN_TEST_URL")[0] != '\0')
		cr_skip_test("tests warrend itself; external broker in use");
	cr_assert_not_null(at = strstr(text, q1), "%s", text);
	end = strrchr(text, '}');
	snprintf(full, sizeof(full), "%.*s\"auto_delete\": false, "
	    "\"arguments\": {}},\n  {\"name\": \"q2\", \"vhost\": \"/\", "
	    "\"durable\": true, \"auto_delete\": false, \"arguments\": {}}"
	    "\n],\n\"bindings\"%.*s,\n\"parameters\": [{\"vhost\": \"/\", "
	    "\"component\": \"vhost-limits\", \"name\": \"limits\", "
	    "\"value\": {\"max-queues\": 1}}]\n}\n", (int)(at - text), text,
	    (int)(end - at - strlen(q1)), at + strlen(q1));
	expect_start_failure(full, want);
	free(text);
}

/* Within the limit, the same file starts, and AMQP meets the limit. */
Test(access, definitions_within_vhost_max_queues_start)
{
	amqp_connection_state_t c;
	amqp_rpc_reply_t r;

	start_with_limits("{\"max-queues\": 1}");
	c = bob();
	amqp_queue_declare(c, 1, amqp_cstring_bytes("q1"), 0, 1, 0, 0,
	    amqp_empty_table);
	ok(c, "redeclaring q1 at the limit");
	amqp_queue_declare(c, 1, amqp_cstring_bytes("bob-q2"), 0, 1, 0, 0,
	    amqp_empty_table);
	r = amqp_get_rpc_reply(c);
	cr_assert_str_eq(hb_expect_close(c, r, false, 406),
	    "PRECONDITION_FAILED - cannot declare queue 'bob-q2': queue limit "
	    "in vhost '/' (1) is reached");
	hb_close(c);
}

/*
 * text (freed) with extra put in just after the opening bracket of one of
 * its sections ("exchanges", "queues", "bindings"); a new string.
 */
static char *
defs_splice(char *text, const char *section, const char *extra)
{
	char	key[64], *at, *out;
	size_t	len;

	snprintf(key, sizeof(key), "\"%s\": [\n", section);
	cr_assert_not_null(at = strstr(text, key), "%s", text);
	at += strlen(key);
	len = strlen(text) + strlen(extra) + 1;
	cr_assert_not_null(out = malloc(len));
	snprintf(out, len, "%.*s%s%s", (int)(at - text), text, extra, at);
	free(text);
	return out;
}

static const struct perm all_of_slash = { "/", ".*", ".*", ".*" };

/*
 * compat: rabbit_definitions skips exchanges and queues named amq.*
 * with a warning; the rest of the file is applied.
 */
Test(access, definitions_skip_reserved_names)
{
	const char *argv[] = { "--load-definitions", defs_path, NULL };
	amqp_connection_state_t c;
	char *text = defs_text(&all_of_slash, 1, NULL);

	text = defs_splice(text, "exchanges", "  {\"name\": \"amq.custom\", "
	    "\"vhost\": \"/\", \"type\": \"direct\", \"durable\": true},\n");
	text = defs_splice(text, "queues", "  {\"name\": \"amq.q\", \"vhost\": "
	    "\"/\", \"durable\": true},\n");
	write_defs(text);
	free(text);
	hb_start(&broker, argv);
	hb_require_warrend(&broker);
	c = alice();
	cr_assert_not(exchange_exists(c, "amq.custom"));
	cr_assert_not(queue_exists(c, "amq.q"));
	cr_assert(queue_exists(c, "q1"), "the rest of the file was applied");
	hb_close(c);
	hb_stop(&broker);
}

/* A binding's headers arguments are checked as for queue.bind. */
Test(access, bad_x_match_binding_in_definitions_fails_start)
{
	const char *const	 want[] = { "bindings[0]", "Invalid x-match "
				    "field value <<\"some\">>", NULL };
	char			*text = defs_text(&all_of_slash, 1, NULL);

	if (getenv("WARREN_TEST_URL") != NULL &&
	    getenv("WARREN_TEST_URL")[0] != '\0')
		cr_skip_test("tests warrend itself; external broker in use");
	text = defs_splice(text, "exchanges", "  {\"name\": \"hx\", \"vhost\": "
	    "\"/\", \"type\": \"headers\", \"durable\": true},\n");
	text = defs_splice(text, "bindings", "  {\"source\": \"hx\", \"vhost\": "
	    "\"/\", \"destination\": \"q1\", \"destination_type\": "
	    "\"queue\", \"routing_key\": \"\", \"arguments\": "
	    "{\"x-match\": \"some\"}},\n");
	expect_start_failure(text, want);
	free(text);
}

/* ---- topic permissions -------------------------------------------------- */

/*
 * The standard definitions (bob with full permissions in "/"), plus a
 * topic exchange "tx" bound to q1 with "#", and topic_permissions_json
 * spliced in as the "topic_permissions" section.
 */
static void
start_with_topic_perms(const char *topic_permissions_json)
{
	static const struct perm p = { "/", ".*", ".*", ".*" };
	const char *argv[] = { "--load-definitions", defs_path, NULL };
	char *text = defs_text(&p, 1, NULL), *end, *full;
	size_t len, cap;

	end = strrchr(text, '}');
	cr_assert_not_null(end);
	len = (size_t)(end - text);
	cap = len + strlen(topic_permissions_json) + 512;
	cr_assert_not_null(full = malloc(cap));
	snprintf(full, cap, "%.*s,\n\"topic_permissions\": %s,\n"
	    "\"parameters\": [],\n\"policies\": [],\n"
	    "\"global_parameters\": []\n}\n", (int)len, text,
	    topic_permissions_json);
	write_defs(full);
	free(full);
	free(text);
	hb_start(&broker, argv);
	hb_require_warrend(&broker);
}

/* Declares topic exchange tx bound to q1 with "#", as alice. */
static void
make_tx(void)
{
	amqp_connection_state_t a = alice();

	amqp_exchange_declare(a, 1, amqp_cstring_bytes("tx"),
	    amqp_cstring_bytes("topic"), 0, 1, 0, 0, amqp_empty_table);
	ok(a, "declare tx");
	expect_ok(do_queue_bind(a, "q1", "tx", "#"), "bind q1 to tx");
	hb_close(a);
}

Test(access, topic_write_permission_checks_the_routing_key)
{
	amqp_connection_state_t a, c;
	amqp_rpc_reply_t r;

	start_with_topic_perms("[{\"user\": \"bob\", \"vhost\": \"/\", "
	    "\"exchange\": \"tx\", \"write\": \"^bob\\\\.\", \"read\": \".*\"}]");
	make_tx();
	c = bob();
	expect_ok(do_publish(c, "tx", "bob.orders", "mine"), "bob.orders");
	r = do_publish(c, "tx", "alice.orders", "theirs");
	cr_assert_str_eq(hb_expect_close(c, r, false, 403),
	    "ACCESS_REFUSED - access to topic 'alice.orders' in exchange "
	    "'tx' in vhost '/' refused for user 'bob'");
	hb_close(c);
	/* Other exchanges, even topic ones, have no topic permission. */
	c = bob();
	expect_ok(do_publish(c, "amq.topic", "alice.orders", "x"),
	    "amq.topic has no topic permission");
	hb_close(c);
	a = alice();
	expect_body(a, "q1", "mine");
	cr_assert_eq(count(a, "q1"), 0, "a refused publish was routed");
	/* alice has none on tx: allowed. */
	expect_ok(do_publish(a, "tx", "alice.orders", "hers"), "alice");
	expect_body(a, "q1", "hers");
	hb_close(a);
	hb_stop(&broker);
}

Test(access, topic_read_permission_checks_binding_keys)
{
	amqp_connection_state_t c;
	amqp_rpc_reply_t r;

	start_with_topic_perms("[{\"user\": \"bob\", \"vhost\": \"/\", "
	    "\"exchange\": \"tx\", \"write\": \".*\", "
	    "\"read\": \"^{username}\\\\.\"}]");
	make_tx();
	c = bob();
	expect_ok(do_queue_bind(c, "q1", "tx", "bob.#"), "bind bob.#");
	expect_ok(do_exchange_bind(c, "x2", "tx", "bob.x"), "e2e bob.x");
	r = do_queue_bind(c, "q1", "tx", "#");
	cr_assert_str_eq(hb_expect_close(c, r, false, 403),
	    "ACCESS_REFUSED - access to topic '#' in exchange 'tx' in "
	    "vhost '/' refused for user 'bob'");
	cr_assert_not_null(amqp_channel_open(c, 1));
	r = do_exchange_bind(c, "x2", "tx", "alice.x");
	cr_assert_eq(hb_expect_close(c, r, false, 403)[0], 'A');
	cr_assert_not_null(amqp_channel_open(c, 1));
	amqp_queue_unbind(c, 1, amqp_cstring_bytes("q1"),
	    amqp_cstring_bytes("tx"), amqp_cstring_bytes("#"),
	    amqp_empty_table);
	r = amqp_get_rpc_reply(c);
	cr_assert_eq(hb_expect_close(c, r, false, 403)[0], 'A',
	    "unbind is checked too");
	hb_close(c);
	hb_stop(&broker);
}

Test(access, topic_permission_variables_are_escaped_and_empty_means_empty)
{
	amqp_connection_state_t c;
	amqp_rpc_reply_t r;

	/*
	 * "{vhost}" is "/" escaped; "" allows only the empty routing key
	 * (compat: RabbitMQ reads it as "^$").
	 */
	start_with_topic_perms("[{\"user\": \"bob\", \"vhost\": \"/\", "
	    "\"exchange\": \"tx\", \"write\": \"^{vhost}{username}$\", "
	    "\"read\": \"\"}]");
	make_tx();
	c = bob();
	expect_ok(do_publish(c, "tx", "/bob", "m"), "/bob");
	expect_ok(do_queue_bind(c, "q1", "tx", ""), "bind with \"\"");
	r = do_publish(c, "tx", "xbob", "m");
	cr_assert_eq(hb_expect_close(c, r, false, 403)[0], 'A');
	hb_close(c);
	hb_stop(&broker);
}

Test(access, topic_permissions_survive_restart_without_the_file)
{
	amqp_connection_state_t c;
	amqp_rpc_reply_t r;

	start_with_topic_perms("[{\"user\": \"bob\", \"vhost\": \"/\", "
	    "\"exchange\": \"tx\", \"write\": \"^ok$\", \"read\": \".*\"}]");
	make_tx();
	cr_assert_eq(hb_halt(&broker, SIGTERM), 0);
	hb_restart(&broker, NULL);
	c = bob();
	expect_ok(do_publish(c, "tx", "ok", "m"), "ok");
	r = do_publish(c, "tx", "no", "m");
	cr_assert_eq(hb_expect_close(c, r, false, 403)[0], 'A');
	hb_close(c);
	hb_stop(&broker);
}

Test(access, bad_topic_permission_pattern_fails_start)
{
	static const struct perm p = { "/", ".*", ".*", ".*" };
	const char *const	 want[] = { "topic permission", "bob",
				    "parenthesis", NULL };
	char			*text = defs_text(&p, 1, NULL), *end;
	static char		 full[16384];

	if (getenv("WARREN_TEST_URL") != NULL &&
	    getenv("WARREN_TEST_URL")[0] != '\0')
		cr_skip_test("tests warrend itself; external broker in use");
	end = strrchr(text, '}');
	snprintf(full, sizeof(full), "%.*s,\n\"topic_permissions\": [{\"user\": "
	    "\"bob\", \"vhost\": \"/\", \"exchange\": \"tx\", \"write\": "
	    "\"(\", \"read\": \".*\"}]\n}\n", (int)(end - text), text);
	expect_start_failure(full, want);
	free(text);
}

Test(access, bad_queue_argument_in_definitions_fails_start)
{
	static const struct perm p = { "/", ".*", ".*", ".*" };
	const char *const	 want[] = { "q1", "x-max-length",
				    "{value_negative,-1}", NULL };
	char			*text = defs_text(&p, 1, NULL), *at;
	static char		 full[16384];
	const char		*old = "\"auto_delete\": false, \"arguments\": "
				    "{}}\n],\n\"bindings\"";

	if (getenv("WARREN_TEST_URL") != NULL &&
	    getenv("WARREN_TEST_URL")[0] != '\0')
		cr_skip_test("tests warrend itself; external broker in use");
	cr_assert_not_null(at = strstr(text, old), "%s", text);
	snprintf(full, sizeof(full), "%.*s\"auto_delete\": false, "
	    "\"arguments\": {\"x-max-length\": -1}}\n],\n\"bindings\"%s",
	    (int)(at - text), text, at + strlen(old));
	expect_start_failure(full, want);
	free(text);
}

/* A message with a user_id property, by alice or bob, through x1 to q1. */
static amqp_rpc_reply_t
publish_as(amqp_connection_state_t c, const char *user_id)
{
	amqp_basic_properties_t	props;

	memset(&props, 0, sizeof(props));
	props._flags = AMQP_BASIC_USER_ID_FLAG;
	props.user_id = amqp_cstring_bytes(user_id);
	cr_assert_eq(amqp_basic_publish(c, 1, amqp_cstring_bytes("x1"),
	    amqp_cstring_bytes("k"), 0, 0, &props, amqp_cstring_bytes("forged")),
	    AMQP_STATUS_OK);
	return sync_reply(c);
}

Test(access, only_an_impersonator_may_set_another_user_id)
{
	amqp_connection_state_t	c;
	amqp_rpc_reply_t	r;
	amqp_message_t		m;

	start_bob(".*", ".*", ".*");
	c = bob();
	r = publish_as(c, "alice");
	cr_assert_eq(r.reply_type, AMQP_RESPONSE_SERVER_EXCEPTION);
	cr_assert_str_eq(reply_text(r), "406 PRECONDITION_FAILED - user_id "
	    "property set to 'alice' but authenticated user was 'bob'");
	hb_close(c);
	cr_assert_eq(count(alice(), "q1"), 0);

	/* compat: RabbitMQ's impersonator tag lifts the check. */
	c = alice();
	expect_ok(publish_as(c, "bob"), "publish with user_id bob by alice");
	r = amqp_basic_get(c, 1, amqp_cstring_bytes("q1"), 1);
	cr_assert_eq(r.reply_type, AMQP_RESPONSE_NORMAL);
	cr_assert_eq(r.reply.id, AMQP_BASIC_GET_OK_METHOD, "not delivered");
	cr_assert_eq(amqp_read_message(c, 1, &m, 0).reply_type,
	    AMQP_RESPONSE_NORMAL);
	cr_assert(m.properties._flags & AMQP_BASIC_USER_ID_FLAG);
	cr_assert(m.properties.user_id.len == 3 &&
	    memcmp(m.properties.user_id.bytes, "bob", 3) == 0);
	amqp_destroy_message(&m);
	hb_close(c);
	hb_stop(&broker);
}
