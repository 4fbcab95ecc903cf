/*
 * The amqps listener: TLS handshake, protocol and peer verification,
 * the handshake timeout, garbage on the TLS port and certificate reload
 * on SIGHUP. Certificates come from tests/data/make-certs (the openssl
 * command) into a fresh directory per test; openssl s_client checks what
 * rabbitmq-c cannot show (protocol versions, the served certificate).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <ftw.h>
#include <ifaddrs.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <criterion/criterion.h>

#include "tests/integration/harness.h"

#ifndef MAKE_CERTS
#error "MAKE_CERTS must name tests/data/make-certs (see Makefile.am)"
#endif

#define WAIT_MS		5000

static struct hbroker	b;
static char		certs[256];	/* make-certs output */
static int		tls_port;

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static const char *
cert(const char *name)
{
	static char	paths[8][320];
	static int	next;
	char		*p = paths[next++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/%s", certs, name);
	return p;
}

static void
make_certs(void)
{
	const char	*tmp;
	char		 cmd[600], err[4096] = "";
	int		 rc;

	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(certs, sizeof(certs), "%s/warren-certs.XXXXXX", tmp);
	cr_assert_not_null(mkdtemp(certs), "mkdtemp: %s", strerror(errno));
	snprintf(cmd, sizeof(cmd), "%s %s", MAKE_CERTS, certs);
	rc = hb_run((const char *const[]){ "/bin/sh", "-c", cmd, NULL }, NULL,
	    0, err, sizeof(err));
	cr_assert_eq(rc, 0, "make-certs failed (%d): %s", rc, err);
}

static void
teardown(void)
{
	hb_stop(&b);
	if (certs[0] != '\0')
		nftw(certs, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(tls, .init = make_certs, .fini = teardown, .timeout = 60);

static int
read_int_file(const char *path)
{
	FILE	*f;
	int	 v = -1;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/*
 * Starts warrend with the amqps listener on an ephemeral port, serving
 * server_cert (a make-certs base name), plus extra arguments.
 */
static void
start_tls(const char *server_cert, const char *const *extra)
{
	const char	*argv[32];
	char		 crt[64], key[64], path[300];
	int		 n = 0;

	snprintf(crt, sizeof(crt), "%s.pem", server_cert);
	snprintf(key, sizeof(key), "%s.key", server_cert);
	argv[n++] = "--tls-port";
	argv[n++] = "0";
	argv[n++] = "--tls-cert";
	argv[n++] = strdup(cert(crt));
	argv[n++] = "--tls-key";
	argv[n++] = strdup(cert(key));
	argv[n++] = "--tls-ca";
	argv[n++] = strdup(cert("ca.pem"));
	for (; extra != NULL && *extra != NULL && n < 31; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	hb_start(&b, argv);
	hb_require_warrend(&b);
	/* Written before warrend.port, which hb_start waited for. */
	snprintf(path, sizeof(path), "%s/warrend.tls-port", b.dir);
	tls_port = read_int_file(path);
	cr_assert_gt(tls_port, 0, "no port in %s", path);
}

/* Whether warrend's log has a line containing text (waits <= ms). */
static bool
log_has(const char *text, int ms)
{
	char	path[300];

	snprintf(path, sizeof(path), "%s/stderr.log", b.dir);
	return hb_file_has(path, text, ms);
}

/*
 * A TLS connection that verifies the server against ca.pem (and its name,
 * localhost), optionally presenting a client certificate (base name).
 * Returns the connection logged in as guest with channel 1 open, or NULL
 * when the TLS or AMQP handshake failed.
 */
static amqp_connection_state_t	tls_connect_as(const char *client,
				    bool external);

static amqp_connection_state_t
tls_connect(const char *client)
{
	return tls_connect_as(client, false);
}

static amqp_connection_state_t	tls_connect_to(const char *host,
				    const char *client, bool external);

/* The same, logging in with SASL EXTERNAL when external is set. */
static amqp_connection_state_t
tls_connect_as(const char *client, bool external)
{
	return tls_connect_to("localhost", client, external);
}

/*
 * The same to host; the server's name is checked only for localhost
 * (its certificate's), so another address of this host may be used.
 */
static amqp_connection_state_t
tls_connect_to(const char *host, const char *client, bool external)
{
	amqp_connection_state_t	 c = amqp_new_connection();
	amqp_socket_t		*s;
	amqp_rpc_reply_t	 r;
	char			 crt[64], key[64];

	cr_assert_not_null(s = amqp_ssl_socket_new(c));
	cr_assert_eq(amqp_ssl_socket_set_cacert(s, cert("ca.pem")),
	    AMQP_STATUS_OK);
	amqp_ssl_socket_set_verify_peer(s, 1);
	amqp_ssl_socket_set_verify_hostname(s, strcmp(host, "localhost") == 0);
	if (client != NULL) {
		snprintf(crt, sizeof(crt), "%s.pem", client);
		snprintf(key, sizeof(key), "%s.key", client);
		cr_assert_eq(amqp_ssl_socket_set_key(s, cert(crt), cert(key)),
		    AMQP_STATUS_OK);
	}
	/* rabbitmq-c 0.11 matches DNS names only, not IP addresses. */
	if (amqp_socket_open(s, host, tls_port) != AMQP_STATUS_OK)
		goto fail;
	/*
	 * EXTERNAL's identity is ignored (the certificate names the user);
	 * rabbitmq-c fails on an empty one, so any text does.
	 */
	if (external)
		r = amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_EXTERNAL,
		    "ignored");
	else
		r = amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
		    "guest", "guest");
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		goto fail;
	amqp_channel_open(c, 1);
	if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL)
		goto fail;
	return c;
fail:
	amqp_destroy_connection(c);
	return NULL;
}

/* Declares a fresh queue, publishes body to it and gets it back. */
static void
publish_and_get(amqp_connection_state_t c, const char *body)
{
	amqp_queue_declare_ok_t	*ok;
	amqp_rpc_reply_t	 r;
	amqp_message_t		 msg;
	amqp_bytes_t		 q;

	ok = amqp_queue_declare(c, 1, amqp_empty_bytes, 0, 0, 1, 1,
	    amqp_empty_table);
	cr_assert_not_null(ok, "queue.declare over TLS failed");
	q = amqp_bytes_malloc_dup(ok->queue);
	cr_assert_eq(amqp_basic_publish(c, 1, amqp_empty_bytes, q, 0, 0, NULL,
	    amqp_cstring_bytes(body)), AMQP_STATUS_OK);
	r = amqp_basic_get(c, 1, q, 1);
	cr_assert_eq(r.reply_type, AMQP_RESPONSE_NORMAL);
	cr_assert_eq(r.reply.id, AMQP_BASIC_GET_OK_METHOD,
	    "basic.get found no message");
	cr_assert_eq(amqp_read_message(c, 1, &msg, 0).reply_type,
	    AMQP_RESPONSE_NORMAL);
	cr_assert_eq(msg.body.len, strlen(body));
	cr_assert(memcmp(msg.body.bytes, body, msg.body.len) == 0);
	amqp_destroy_message(&msg);
	amqp_bytes_free(q);
}

/* Runs a shell command line; returns its status, output in out. */
static int
sh(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
sh(char *out, size_t outlen, const char *fmt, ...)
{
	char	cmd[2048];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = '\0';
	return hb_run((const char *const[]){ "/bin/sh", "-c", cmd, NULL },
	    out, outlen, NULL, 0);
}

/* The subject and serial of the certificate the TLS port serves now. */
static void
served_cert(char *out, size_t outlen)
{
	int	rc;

	rc = sh(out, outlen, "openssl s_client -connect 127.0.0.1:%d "
	    "-CAfile %s </dev/null 2>/dev/null | "
	    "openssl x509 -noout -subject -serial", tls_port, cert("ca.pem"));
	cr_assert_eq(rc, 0, "s_client/x509 failed (%d): %s", rc, out);
}

static void
file_cert(const char *pem, char *out, size_t outlen)
{
	int	rc;

	rc = sh(out, outlen, "openssl x509 -noout -subject -serial -in %s",
	    cert(pem));
	cr_assert_eq(rc, 0, "x509 failed: %s", out);
}

/* Copies a make-certs file over another one, atomically. */
static void
replace_file(const char *from, const char *to)
{
	char	out[1024];
	int	rc;

	rc = sh(out, sizeof(out), "cp %s %s.new && mv %s.new %s", cert(from),
	    cert(to), cert(to), cert(to));
	cr_assert_eq(rc, 0, "replacing %s: %s", to, out);
}

Test(tls, handshake_then_plain_login_publish_and_get)
{
	amqp_connection_state_t	c;

	start_tls("server", NULL);
	c = tls_connect(NULL);
	cr_assert_not_null(c, "TLS connection with CA verification failed; "
	    "see %s/stderr.log", b.dir);
	publish_and_get(c, "over tls");
	hb_close(c);
	cr_expect(log_has(": tls TLSv1.3 ", WAIT_MS),
	    "the broker did not log a TLS 1.3 session");
	/* The plain port still serves. */
	c = hb_connect(&b);
	publish_and_get(c, "in the clear");
	hb_close(c);
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, tls_1_2_is_accepted_and_tls_1_1_refused)
{
	char	out[16384];
	int	rc;

	start_tls("server", NULL);
	rc = sh(out, sizeof(out), "openssl s_client -connect 127.0.0.1:%d "
	    "-tls1_2 -CAfile %s </dev/null 2>&1", tls_port, cert("ca.pem"));
	cr_assert_eq(rc, 0, "TLS 1.2 refused: %s", out);
	cr_assert_not_null(strstr(out, "Verify return code: 0 (ok)"), "%s",
	    out);
	cr_assert_not_null(strstr(out, "ECDHE-"), "TLS 1.2 without ECDHE: %s",
	    out);
	/* SECLEVEL=0 lets this client really offer TLS 1.1. */
	rc = sh(out, sizeof(out), "openssl s_client -connect 127.0.0.1:%d "
	    "-tls1_1 -cipher DEFAULT@SECLEVEL=0 -CAfile %s </dev/null 2>&1",
	    tls_port, cert("ca.pem"));
	cr_assert_neq(rc, 0, "TLS 1.1 was accepted: %s", out);
	cr_assert(log_has("tls handshake: unsupported protocol", WAIT_MS),
	    "the broker did not refuse TLS 1.1 itself; client said: %s", out);
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, tls_1_2_cbc_ciphers_are_refused)
{
	char	out[16384];
	int	rc;

	start_tls("server", NULL);
	rc = sh(out, sizeof(out), "openssl s_client -connect 127.0.0.1:%d "
	    "-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA "
	    "-CAfile %s </dev/null 2>&1", tls_port, cert("ca.pem"));
	cr_assert_neq(rc, 0, "a CBC suite was accepted: %s", out);
	cr_assert(log_has("tls handshake: no shared cipher", WAIT_MS),
	    "the broker did not refuse the suites itself: %s", out);
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, verify_peer_accepts_a_trusted_client_certificate)
{
	amqp_connection_state_t	c;

	start_tls("server", (const char *const[]){ "--tls-verify-peer", "1",
	    "--tls-fail-if-no-peer-cert", "1", NULL });
	c = tls_connect("client");
	cr_assert_not_null(c, "client certificate refused; see %s/stderr.log",
	    b.dir);
	publish_and_get(c, "from alice");
	hb_close(c);
	cr_expect(log_has("peer CN=alice,O=warren tests", WAIT_MS),
	    "the broker did not log the client certificate's subject");
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, verify_peer_refuses_a_client_certificate_from_an_untrusted_ca)
{
	amqp_connection_state_t	c;

	start_tls("server", (const char *const[]){ "--tls-verify-peer", "1",
	    NULL });
	c = tls_connect("rogue");
	cr_assert_null(c, "a client certificate from an untrusted CA got in");
	cr_assert(log_has("tls handshake: certificate verify failed", WAIT_MS),
	    "the broker did not log the failed verification");
	cr_assert(hb_alive(&b));
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, fail_if_no_peer_cert_refuses_a_client_without_certificate)
{
	amqp_connection_state_t	c;

	start_tls("server", (const char *const[]){ "--tls-verify-peer", "1",
	    "--tls-fail-if-no-peer-cert", "1", NULL });
	c = tls_connect(NULL);
	cr_assert_null(c, "a client without a certificate got in");
	cr_assert(log_has("tls handshake: peer did not return a certificate",
	    WAIT_MS), "the broker did not log the missing certificate");
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, verify_peer_without_fail_if_no_peer_cert_lets_anonymous_in)
{
	amqp_connection_state_t	c;

	start_tls("server", (const char *const[]){ "--tls-verify-peer", "1",
	    NULL });
	c = tls_connect(NULL);
	cr_assert_not_null(c, "a client without a certificate was refused");
	hb_close(c);
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, a_verifying_client_refuses_an_expired_server_certificate)
{
	amqp_connection_state_t	c;
	char			out[16384];

	start_tls("expired", NULL);
	c = tls_connect(NULL);
	cr_assert_null(c, "the client accepted an expired certificate");
	sh(out, sizeof(out), "openssl s_client -connect 127.0.0.1:%d "
	    "-CAfile %s </dev/null 2>&1", tls_port, cert("ca.pem"));
	cr_assert_not_null(strstr(out, "certificate has expired"), "%s", out);
	cr_assert(hb_alive(&b));
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, plain_amqp_on_the_tls_port_is_closed_and_the_broker_serves_on)
{
	static const uint8_t	header[8] = { 'A', 'M', 'Q', 'P', 0, 0, 9, 1 };
	struct hbroker		tb;
	amqp_connection_state_t	c;
	int			fd;

	start_tls("server", NULL);
	tb = b;
	tb.port = tls_port;
	fd = hb_raw_connect(&tb);
	hb_raw_send(fd, header, sizeof(header));
	cr_assert_eq(hb_raw_wait_eof(fd, WAIT_MS), 0,
	    "the TLS port kept a plain AMQP client open");
	close(fd);
	cr_assert(log_has("tls handshake: ", WAIT_MS));
	cr_assert(hb_alive(&b), "warrend died");
	c = tls_connect(NULL);
	cr_assert_not_null(c, "no TLS connection after the garbage");
	publish_and_get(c, "still here");
	hb_close(c);
	c = hb_connect(&b);
	hb_close(c);
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, a_silent_tls_client_is_closed_by_the_handshake_timeout)
{
	struct hbroker	tb;
	struct timespec	t0, t1;
	double		secs;
	int		fd;

	start_tls("server", (const char *const[]){ "--handshake-timeout", "1",
	    NULL });
	tb = b;
	tb.port = tls_port;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = hb_raw_connect(&tb);
	cr_assert_eq(hb_raw_wait_eof(fd, WAIT_MS), 0,
	    "a silent TLS client was kept open");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert_geq(secs, 0.8, "closed after %.2f s, before the timeout",
	    secs);
	cr_assert(log_has("closed: handshake timeout", WAIT_MS));
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, sighup_reloads_the_certificate_and_keeps_open_connections)
{
	amqp_connection_state_t	c, c2;
	char			before[1024], after[1024], want[1024];

	start_tls("server", NULL);
	c = tls_connect(NULL);
	cr_assert_not_null(c);
	publish_and_get(c, "before the reload");
	served_cert(before, sizeof(before));
	file_cert("server.pem", want, sizeof(want));
	cr_assert_str_eq(before, want);

	replace_file("server2.pem", "server.pem");
	replace_file("server2.key", "server.key");
	cr_assert_eq(kill(b.pid, SIGHUP), 0);
	cr_assert(log_has("reload: TLS certificates reloaded", WAIT_MS),
	    "no reload logged");
	served_cert(after, sizeof(after));
	file_cert("server2.pem", want, sizeof(want));
	cr_assert_str_eq(after, want, "still serving %s", before);

	/* The connection made before the reload still works, and new ones. */
	publish_and_get(c, "after the reload");
	c2 = tls_connect(NULL);
	cr_assert_not_null(c2);
	publish_and_get(c2, "new connection");
	hb_close(c2);
	hb_close(c);
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, a_failed_reload_keeps_the_old_certificate)
{
	amqp_connection_state_t	c;
	char			before[1024], after[1024], out[256];

	start_tls("server", NULL);
	served_cert(before, sizeof(before));
	cr_assert_eq(sh(out, sizeof(out), "echo garbage > %s",
	    cert("server.pem")), 0);
	cr_assert_eq(kill(b.pid, SIGHUP), 0);
	cr_assert(log_has("reload: TLS certificates not reloaded", WAIT_MS), "no failure logged");
	cr_assert(hb_alive(&b));
	served_cert(after, sizeof(after));
	cr_assert_str_eq(after, before);
	c = tls_connect(NULL);
	cr_assert_not_null(c);
	hb_close(c);
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, large_messages_cross_tls_in_both_directions)
{
	amqp_connection_state_t	c;
	char			*body;
	size_t			 n = 3u << 20;	/* many TLS records */

	start_tls("server", NULL);
	c = tls_connect(NULL);
	cr_assert_not_null(c);
	cr_assert_not_null(body = malloc(n + 1));
	for (size_t i = 0; i < n; i++)
		body[i] = (char)('a' + i % 26);
	body[n] = '\0';
	publish_and_get(c, body);
	free(body);
	hb_close(c);
	cr_assert_eq(hb_stop(&b), 0);
}

/* Publishes n messages of size bytes, then consumes them with no-ack. */
static void
drain_past_high_water(amqp_connection_state_t c, int n, size_t size)
{
	amqp_queue_declare_ok_t	*ok;
	amqp_envelope_t		 env;
	struct timeval		 tv = { 5, 0 };
	amqp_bytes_t		 q, body;
	int			 got = 0;

	cr_assert_not_null(body.bytes = calloc(1, size));
	body.len = size;
	ok = amqp_queue_declare(c, 1, amqp_empty_bytes, 0, 0, 1, 1,
	    amqp_empty_table);
	cr_assert_not_null(ok);
	q = amqp_bytes_malloc_dup(ok->queue);
	for (int i = 0; i < n; i++)
		cr_assert_eq(amqp_basic_publish(c, 1, amqp_empty_bytes, q, 0, 0,
		    NULL, body), AMQP_STATUS_OK);
	cr_assert_not_null(amqp_basic_consume(c, 1, q, amqp_empty_bytes, 0, 1,
	    0, amqp_empty_table));
	while (got < n) {
		amqp_maybe_release_buffers(c);
		if (amqp_consume_message(c, &env, &tv, 0).reply_type !=
		    AMQP_RESPONSE_NORMAL)
			break;
		cr_assert_eq(env.message.body.len, size);
		amqp_destroy_envelope(&env);
		got++;
	}
	cr_assert_eq(got, n, "deliveries stopped after %d of %d", got, n);
	amqp_bytes_free(q);
	free(body.bytes);
}

/*
 * Deliveries that fill the output to the high-water mark within one loop
 * turn resume once the client reads, on both ports (a no-ack consumer
 * sends nothing that would wake the queue otherwise).
 */
Test(tls, a_no_ack_consumer_gets_every_delivery_past_the_high_water_mark)
{
	amqp_connection_state_t	c;

	start_tls("server", (const char *const[]){ "--output-high-water",
	    "65536", NULL });
	c = tls_connect(NULL);
	cr_assert_not_null(c);
	drain_past_high_water(c, 2000, 10000);
	hb_close(c);
	c = hb_connect(&b);
	drain_past_high_water(c, 2000, 10000);
	hb_close(c);
	cr_assert_eq(hb_stop(&b), 0);
}

/* A definitions file granting user (no password) everything on "/". */
static const char *
defs_for(const char *user)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/defs-%s.json", certs, user);
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "{\"vhosts\":[{\"name\":\"/\"}],"
	    "\"users\":[{\"name\":\"%s\",\"tags\":\"\"}],"
	    "\"permissions\":[{\"user\":\"%s\",\"vhost\":\"/\","
	    "\"configure\":\".*\",\"write\":\".*\",\"read\":\".*\"}]}",
	    user, user);
	fclose(f);
	return path;
}

Test(tls, external_login_takes_the_user_from_the_certificate_cn)
{
	amqp_connection_state_t	c;

	start_tls("server", (const char *const[]){ "--tls-verify-peer", "1",
	    "--load-definitions", defs_for("alice"), NULL });
	c = tls_connect_as("client", true);
	cr_assert_not_null(c, "EXTERNAL login as alice refused; see "
	    "%s/stderr.log", b.dir);
	publish_and_get(c, "external alice");
	hb_close(c);
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, external_login_for_a_certificate_naming_no_user_is_refused)
{
	start_tls("server", (const char *const[]){ "--tls-verify-peer", "1",
	    "--load-definitions", defs_for("bob"), NULL });
	cr_assert_null(tls_connect_as("client", true),
	    "a certificate for alice logged in where only bob exists");
	cr_assert(hb_alive(&b));
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, external_login_without_a_client_certificate_is_refused)
{
	start_tls("server", (const char *const[]){ "--tls-verify-peer", "1",
	    "--load-definitions", defs_for("alice"), NULL });
	cr_assert_null(tls_connect_as(NULL, true),
	    "EXTERNAL without a certificate got in");
	cr_assert_eq(hb_stop(&b), 0);
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

/*
 * compat: loopback-users holds for EXTERNAL as for PLAIN (rabbit_reader
 * checks it after any mechanism). Connecting to one of this host's own
 * non-loopback addresses makes a peer address outside 127/8. The list's
 * blanks are no part of its names: "guest, alice" names alice.
 */
Test(tls, external_login_of_a_loopback_user_from_elsewhere_is_refused)
{
	amqp_connection_state_t	c;
	char			addr[INET_ADDRSTRLEN];

	if (!local_non_loopback(addr, sizeof(addr)))
		cr_skip_test("no local non-loopback IPv4 address");
	start_tls("server", (const char *const[]){ "--tls-verify-peer", "1",
	    "--load-definitions", defs_for("alice"), "--bind", "0.0.0.0",
	    "--loopback-users", "guest, alice", NULL });
	c = tls_connect_as("client", true);
	cr_assert_not_null(c, "EXTERNAL login as alice over loopback "
	    "refused; see %s/stderr.log", b.dir);
	hb_close(c);
	cr_assert_null(tls_connect_to(addr, "client", true),
	    "loopback-only alice logged in with EXTERNAL via %s", addr);
	cr_assert(log_has("user 'alice' can only connect via localhost",
	    2000));
	cr_assert_eq(hb_stop(&b), 0);
	/* Not listed, alice may come from there: the path itself works. */
	start_tls("server", (const char *const[]){ "--tls-verify-peer", "1",
	    "--load-definitions", defs_for("alice"), "--bind", "0.0.0.0",
	    "--loopback-users", "guest", NULL });
	c = tls_connect_to(addr, "client", true);
	cr_assert_not_null(c, "EXTERNAL login as alice via %s refused; see "
	    "%s/stderr.log", addr, b.dir);
	hb_close(c);
	cr_assert_eq(hb_stop(&b), 0);
}

/*
 * The admin API over TLS (--admin-tls-port, RabbitMQ's management.ssl):
 * the same certificate options and SIGHUP reload as the amqps listener.
 */
static int	admin_tls_port;

static void
start_admin_tls(void)
{
	char	path[300];

	start_tls("server", (const char *const[]){ "--admin-tls-port", "0",
	    NULL });
	snprintf(path, sizeof(path), "%s/warrend.admin-tls-port", b.dir);
	admin_tls_port = read_int_file(path);
	cr_assert_gt(admin_tls_port, 0, "no port in %s", path);
}

/* curl over HTTPS, verifying the server against ca.pem as localhost. */
static int
curl_https(char *out, size_t outlen, const char *args, const char *path)
{
	return sh(out, outlen, "curl -sS --max-time 5 --cacert %s %s "
	    "https://localhost:%d%s 2>&1", cert("ca.pem"), args,
	    admin_tls_port, path);
}

Test(tls, admin_api_over_https_answers_with_basic_auth)
{
	char	out[16384], want[64];

	start_admin_tls();
	cr_assert_eq(curl_https(out, sizeof(out), "-u guest:guest",
	    "/api/overview"), 0, "curl failed: %s", out);
	/* The overview lists the HTTPS listener itself, as RabbitMQ does. */
	snprintf(want, sizeof(want), "\"protocol\":\"https\"");
	cr_assert_not_null(strstr(out, want), "no https listener in %s", out);
	snprintf(want, sizeof(want), "\"port\":%d", admin_tls_port);
	cr_assert_not_null(strstr(out, want), "no port %d in %s",
	    admin_tls_port, out);
	/* Without credentials: 401, as on the plain port. */
	cr_assert_eq(curl_https(out, sizeof(out), "-o /dev/null -w "
	    "'%{http_code}'", "/api/overview"), 0, "curl failed: %s", out);
	cr_assert_str_eq(out, "401");
	/* A change made over HTTPS: the new user can log in. */
	cr_assert_eq(curl_https(out, sizeof(out), "-u guest:guest -X PUT "
	    "-H 'content-type: application/json' -d '{\"password\":\"pw\","
	    "\"tags\":\"management\"}' -o /dev/null -w '%{http_code}'",
	    "/api/users/carol"), 0, "curl failed: %s", out);
	cr_assert(strcmp(out, "201") == 0 || strcmp(out, "204") == 0,
	    "PUT /api/users/carol answered %s", out);
	cr_assert_eq(curl_https(out, sizeof(out), "-u carol:pw -o /dev/null "
	    "-w '%{http_code}'", "/api/whoami"), 0, "curl failed: %s", out);
	cr_assert_str_eq(out, "200", "the user made over HTTPS cannot log in");
	/* The plain admin port serves on. */
	cr_assert_eq(sh(out, sizeof(out), "curl -sS --max-time 5 -u "
	    "guest:guest -o /dev/null -w '%%{http_code}' "
	    "http://127.0.0.1:%d/api/overview", b.admin_port), 0);
	cr_assert_str_eq(out, "200");
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, plain_http_on_the_admin_tls_port_is_refused_and_https_serves_on)
{
	static const char	req[] = "GET /api/overview HTTP/1.1\r\n"
	    "Host: localhost\r\nAuthorization: Basic Z3Vlc3Q6Z3Vlc3Q=\r\n\r\n";
	struct hbroker		tb;
	char			got[4096], out[16384];
	int			fd, n;

	start_admin_tls();
	tb = b;
	tb.port = admin_tls_port;
	fd = hb_raw_connect(&tb);
	hb_raw_send(fd, req, sizeof(req) - 1);
	n = hb_raw_read(fd, got, sizeof(got) - 1, WAIT_MS);
	got[n > 0 ? n : 0] = '\0';
	cr_assert_null(strstr(got, "HTTP/1.1 200"),
	    "plain HTTP was answered on the TLS port");
	if (n != 0)
		cr_assert_eq(hb_raw_wait_eof(fd, WAIT_MS), 0,
		    "the admin TLS port kept a plain HTTP client open");
	close(fd);
	cr_assert(log_has("closed: tls handshake: ", WAIT_MS),
	    "no handshake failure logged");
	cr_assert(hb_alive(&b), "warrend died");
	cr_assert_eq(curl_https(out, sizeof(out), "-u guest:guest -o /dev/null "
	    "-w '%{http_code}'", "/api/overview"), 0, "curl failed: %s", out);
	cr_assert_str_eq(out, "200");
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, sighup_reloads_the_admin_https_certificate_too)
{
	char	before[1024], after[1024], want[1024], out[16384];
	int	rc;

	start_admin_tls();
	rc = sh(before, sizeof(before), "openssl s_client -connect "
	    "127.0.0.1:%d -CAfile %s </dev/null 2>/dev/null | openssl x509 "
	    "-noout -subject -serial", admin_tls_port, cert("ca.pem"));
	cr_assert_eq(rc, 0, "s_client failed: %s", before);
	file_cert("server.pem", want, sizeof(want));
	cr_assert_str_eq(before, want);
	replace_file("server2.pem", "server.pem");
	replace_file("server2.key", "server.key");
	cr_assert_eq(kill(b.pid, SIGHUP), 0);
	cr_assert(log_has("reload: TLS certificates reloaded", WAIT_MS),
	    "no reload logged");
	rc = sh(after, sizeof(after), "openssl s_client -connect "
	    "127.0.0.1:%d -CAfile %s </dev/null 2>/dev/null | openssl x509 "
	    "-noout -subject -serial", admin_tls_port, cert("ca.pem"));
	cr_assert_eq(rc, 0, "s_client failed: %s", after);
	file_cert("server2.pem", want, sizeof(want));
	cr_assert_str_eq(after, want, "the admin port still serves %s",
	    before);
	cr_assert_eq(curl_https(out, sizeof(out), "-u guest:guest -o /dev/null "
	    "-w '%{http_code}'", "/api/overview"), 0, "curl failed: %s", out);
	cr_assert_str_eq(out, "200");
	cr_assert_eq(hb_stop(&b), 0);
}

Test(tls, admin_tls_port_without_a_certificate_refuses_to_start)
{
	char	err[4096] = "";
	int	rc;

	rc = hb_run((const char *const[]){ getenv("WARREND") ?
	    getenv("WARREND") : "./warrend", "--port", "0", "--admin-port",
	    "0", "--prometheus-port", "none", "--admin-tls-port", "0",
	    "--data-dir", certs, NULL }, NULL,
	    0, err, sizeof(err));
	cr_assert_neq(rc, 0, "warrend started an HTTPS listener without "
	    "a certificate");
	cr_assert_not_null(strstr(err, "admin-tls-port needs tls-cert"),
	    "unexpected error: %s", err);
}

/*
 * --tcp-listener 0 (RabbitMQ's listeners.tcp = none): AMQP over TLS only.
 * No plain listener is opened and DIR/warrend.port is not written (so
 * this starts warrend itself rather than through hb_start); a TLS client
 * is served. Without a certificate warrend refuses to start.
 */
Test(tls, tcp_listener_0_serves_amqps_only)
{
	char dir[] = "/tmp/warren-tlsonly.XXXXXX", path[300], out[512],
	    err[2048];
	const char *w = getenv("WARREND");
	amqp_connection_state_t c;
	pid_t pid;
	int status, rc;

	if (getenv("WARREN_TEST_URL") != NULL)
		cr_skip_test("tests warrend itself");
	if (w == NULL)
		w = "./warrend";
	cr_assert_not_null(mkdtemp(dir));
	if ((pid = fork()) == 0) {
		char log[300];

		snprintf(log, sizeof(log), "%s/stderr.log", dir);
		if (freopen(log, "w", stderr) == NULL)
			_exit(127);
		execl(w, w, "--tcp-listener", "0", "--tls-port", "0",
		    "--admin-port", "0", "--prometheus-port", "none",
		    "--data-dir", dir, "--tls-cert", cert("server.pem"),
		    "--tls-key", cert("server.key"), (char *)NULL);
		_exit(127);
	}
	cr_assert_gt(pid, 0);
	/* warrend.pid comes after the listeners. */
	snprintf(path, sizeof(path), "%s/warrend.pid", dir);
	for (int i = 0; i < 200 && access(path, F_OK) != 0; i++)
		usleep(50 * 1000);
	cr_assert_eq(access(path, F_OK), 0, "warrend did not start");
	snprintf(path, sizeof(path), "%s/warrend.tls-port", dir);
	tls_port = read_int_file(path);
	cr_assert_gt(tls_port, 0);
	snprintf(path, sizeof(path), "%s/warrend.port", dir);
	cr_expect_neq(access(path, F_OK), 0, "warrend.port written");
	c = tls_connect(NULL);
	cr_expect_not_null(c, "no TLS connection");
	if (c != NULL)
		hb_close(c);
	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(path, sizeof(path), "%s/stderr.log", dir);
	cr_expect(hb_run((const char *const[]){ "/bin/grep", "-q",
	    "over TLS only", path, NULL }, NULL, 0, NULL, 0) == 0,
	    "no TLS-only line in the log");
	hb_run((const char *const[]){ "/bin/rm", "-rf", dir, NULL }, NULL, 0,
	    NULL, 0);

	/* Without a certificate: a clear refusal, exit 1. */
	rc = hb_run((const char *const[]){ w, "--tcp-listener", "0",
	    "--admin-port", "0", "--data-dir", "/tmp/warren-tlsonly-none",
	    NULL }, out, sizeof(out), err, sizeof(err));
	cr_expect_eq(rc, 1);
	cr_expect_not_null(strstr(err, "needs the amqps listener"), "%s", err);
	hb_run((const char *const[]){ "/bin/rm", "-rf",
	    "/tmp/warren-tlsonly-none", NULL }, NULL, 0, NULL, 0);
}
