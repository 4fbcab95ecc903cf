/*
 * The HTTP admin API's server layer end to end: authentication and the
 * RabbitMQ error shapes, keep-alive and pipelining, and the hostile
 * inputs of RELIABILITY.md 26 (huge bodies, header floods, slow clients,
 * connection floods, garbage). With WARREN_TEST_URL and
 * WARREN_TEST_ADMIN_PORT the shared tests run against RabbitMQ's
 * management plugin, to prove they encode its behaviour; tests of
 * warren's own limits skip there.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <criterion/criterion.h>

#include "tests/common.h"
#include "tests/integration/harness.h"

#define GUEST	"guest:guest"

static struct hbroker	b;

/* Sends a formatted request on fd. */
static void
send_req(int fd, const char *method, const char *path, const char *userpass,
    const char *body)
{
	char	req[8192];
	size_t	n;

	n = hb_http_format(req, sizeof(req), method, path, userpass, body);
	hb_raw_send(fd, req, n);
}

/* The integer after "key": in the object named in, or -1. */
static long
json_int_in(const char *body, const char *in, const char *key)
{
	char		 pat[128];
	const char	*p = body;

	if (in != NULL) {
		snprintf(pat, sizeof(pat), "\"%s\":{", in);
		if ((p = strstr(body, pat)) == NULL)
			return -1;
	}
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(p, pat)) == NULL)
		return -1;
	return strtol(p + strlen(pat), NULL, 10);
}

Test(admin_http, whoami_as_guest_gives_name_and_tags)
{
	struct hhttp	r;

	hb_start(&b, NULL);
	cr_assert_eq(hb_http(&b, "GET", "/api/whoami", GUEST, NULL, &r), 200);
	cr_assert_str_eq(r.body, "{\"name\":\"guest\",\"tags\":"
	    "[\"administrator\"]}");
	cr_assert_not_null(hb_http_header(&r, "content-type"));
	cr_assert_str_eq(hb_http_header(&r, "content-type"),
	    "application/json");
	cr_assert_str_eq(hb_http_header(&r, "cache-control"), "no-cache");
	hb_http_free(&r);
	hb_stop(&b);
}

Test(admin_http, no_credentials_get_an_empty_401_asking_for_basic)
{
	struct hhttp	r;

	hb_start(&b, NULL);
	cr_assert_eq(hb_http(&b, "GET", "/api/whoami", NULL, NULL, &r), 401);
	cr_assert_eq(r.body_len, 0);
	cr_assert_not_null(hb_http_header(&r, "www-authenticate"));
	cr_assert_str_eq(hb_http_header(&r, "www-authenticate"),
	    "Basic realm=\"RabbitMQ Management\"");
	hb_http_free(&r);
	hb_stop(&b);
}

Test(admin_http, wrong_password_and_unknown_user_get_401_login_failed)
{
	static const char *const creds[] = { "guest:wrong", "nobody:guest",
	    ":" };
	struct hhttp	r;

	hb_start(&b, NULL);
	for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
		cr_assert_eq(hb_http(&b, "GET", "/api/whoami", creds[i], NULL,
		    &r), 401, "%s", creds[i]);
		cr_assert_str_eq(r.body, "{\"error\":\"not_authorized\","
		    "\"reason\":\"Login failed\"}");
		cr_assert_not_null(hb_http_header(&r, "www-authenticate"));
		hb_http_free(&r);
	}
	hb_stop(&b);
}

Test(admin_http, unknown_path_is_404_object_not_found)
{
	struct hhttp	r;

	hb_start(&b, NULL);
	cr_assert_eq(hb_http(&b, "GET", "/api/nonexistent", GUEST, NULL, &r),
	    404);
	cr_assert_str_eq(r.body, "{\"error\":\"Object Not Found\","
	    "\"reason\":\"Not Found\"}");
	hb_http_free(&r);
	/* Before credentials are looked at, as RabbitMQ's router does. */
	cr_assert_eq(hb_http(&b, "GET", "/api/whoami/x", NULL, NULL, &r), 404);
	hb_http_free(&r);
	hb_stop(&b);
}

Test(admin_http, wrong_method_is_405_with_allow)
{
	struct hhttp	 r;
	const char	*allow;

	hb_start(&b, NULL);
	cr_assert_eq(hb_http(&b, "DELETE", "/api/whoami", GUEST, NULL, &r),
	    405);
	cr_assert_eq(r.body_len, 0);
	cr_assert_not_null(allow = hb_http_header(&r, "allow"));
	cr_assert(strstr(allow, "GET") != NULL && strstr(allow, "HEAD") !=
	    NULL, "allow: %s", allow);
	hb_http_free(&r);
	cr_assert_eq(hb_http(&b, "PUT", "/api/overview", NULL, "{}", &r), 405);
	hb_http_free(&r);
	hb_stop(&b);
}

Test(admin_http, unknown_method_is_501)
{
	struct hhttp	r;

	hb_start(&b, NULL);
	cr_assert_eq(hb_http(&b, "BREW", "/api/whoami", GUEST, NULL, &r), 501);
	hb_http_free(&r);
	hb_stop(&b);
}

Test(admin_http, head_gives_the_length_without_a_body)
{
	struct hhttp	r;

	hb_start(&b, NULL);
	cr_assert_eq(hb_http(&b, "HEAD", "/api/whoami", GUEST, NULL, &r), 200);
	cr_assert_eq(r.body_len, 0);
	cr_assert_str_eq(hb_http_header(&r, "content-length"), "41");
	hb_http_free(&r);
	hb_stop(&b);
}

Test(admin_http, path_segments_are_percent_decoded)
{
	struct hhttp	r;

	hb_start(&b, NULL);
	cr_assert_eq(hb_http(&b, "GET", "/api/who%61mi", GUEST, NULL, &r), 200);
	hb_http_free(&r);
	cr_assert_eq(hb_http(&b, "GET", "/api/whoami/", GUEST, NULL, &r), 200);
	hb_http_free(&r);
	cr_assert_eq(hb_http(&b, "GET", "/api/who%zzami", GUEST, NULL, &r),
	    400);
	hb_http_free(&r);
	hb_stop(&b);
}

Test(admin_http, keep_alive_serves_two_requests_on_one_socket)
{
	struct hhttp	r;
	int		fd;

	hb_start(&b, NULL);
	fd = hb_http_connect(&b);
	send_req(fd, "GET", "/api/whoami", GUEST, NULL);
	cr_assert_eq(hb_http_read(fd, &r, false, 5000), 1);
	cr_assert_eq(r.status, 200);
	cr_assert_null(hb_http_header(&r, "connection"));
	hb_http_free(&r);
	send_req(fd, "GET", "/api/overview", GUEST, NULL);
	cr_assert_eq(hb_http_read(fd, &r, false, 5000), 1);
	cr_assert_eq(r.status, 200);
	cr_assert(json_int_in(r.body, "object_totals", "queues") >= 0);
	hb_http_free(&r);
	close(fd);
	hb_stop(&b);
}

Test(admin_http, pipelined_requests_are_answered_in_order)
{
	char	all[16384];
	size_t	n = 0;
	struct hhttp r;
	int	fd, want[] = { 200, 404, 401, 200 };

	hb_start(&b, NULL);
	n += hb_http_format(all + n, sizeof(all) - n, "GET", "/api/whoami",
	    GUEST, NULL);
	n += hb_http_format(all + n, sizeof(all) - n, "GET", "/api/nope",
	    GUEST, NULL);
	n += hb_http_format(all + n, sizeof(all) - n, "GET", "/api/whoami",
	    NULL, NULL);
	n += hb_http_format(all + n, sizeof(all) - n, "GET", "/api/overview",
	    GUEST, NULL);
	fd = hb_http_connect(&b);
	hb_raw_send(fd, all, n);	/* one write: they arrive together */
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cr_assert_eq(hb_http_read(fd, &r, false, 5000), 1, "answer %zu",
		    i);
		cr_assert_eq(r.status, want[i], "answer %zu: %d", i, r.status);
		hb_http_free(&r);
	}
	close(fd);
	hb_stop(&b);
}

Test(admin_http, http10_closes_after_the_answer)
{
	static const char req[] = "GET /api/whoami HTTP/1.0\r\n"
	    "Authorization: Basic Z3Vlc3Q6Z3Vlc3Q=\r\n\r\n";
	struct hhttp	r;
	int		fd;

	hb_start(&b, NULL);
	fd = hb_http_connect(&b);
	hb_raw_send(fd, req, sizeof(req) - 1);
	cr_assert_eq(hb_http_read(fd, &r, false, 5000), 1);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(hb_raw_wait_eof(fd, 5000), 0);
	hb_http_free(&r);
	close(fd);
	hb_stop(&b);
}

Test(admin_http, origin_header_gets_no_cors_headers)
{
	static const char req[] = "GET /api/whoami HTTP/1.1\r\nHost: x\r\n"
	    "Origin: http://evil.example\r\n"
	    "Authorization: Basic Z3Vlc3Q6Z3Vlc3Q=\r\n\r\n";
	struct hhttp	r;
	int		fd;

	hb_start(&b, NULL);
	fd = hb_http_connect(&b);
	hb_raw_send(fd, req, sizeof(req) - 1);
	cr_assert_eq(hb_http_read(fd, &r, false, 5000), 1);
	cr_assert_eq(r.status, 200);
	cr_assert_null(strcasestr(r.head, "access-control-"), "%s", r.head);
	hb_http_free(&r);
	close(fd);
	hb_stop(&b);
}

Test(admin_http, header_flood_is_431_and_closed)
{
	char		*req;
	size_t		 n = 0, cap = 1 << 20;
	struct hhttp	 r;
	int		 fd;

	hb_start(&b, NULL);
	cr_assert_not_null(req = malloc(cap));
	n += (size_t)snprintf(req, cap, "GET /api/whoami HTTP/1.1\r\n"
	    "Host: x\r\nAuthorization: Basic Z3Vlc3Q6Z3Vlc3Q=\r\n");
	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(req + n, cap - n, "X-Flood-%d: %0100d\r\n",
		    i, 0);
	n += (size_t)snprintf(req + n, cap - n, "\r\n");
	fd = hb_http_connect(&b);
	hb_raw_send(fd, req, n);
	cr_assert_eq(hb_http_read(fd, &r, false, 5000), 1);
	cr_assert_eq(r.status, 431);
	cr_assert_eq(hb_raw_wait_eof(fd, 5000), 0);
	hb_http_free(&r);
	free(req);
	close(fd);
	hb_require_warrend(&b);
	cr_assert(hb_alive(&b));
	hb_stop(&b);
}

Test(admin_http, huge_content_length_is_refused_before_the_body)
{
	static const char req[] = "PUT /api/overview HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Basic Z3Vlc3Q6Z3Vlc3Q=\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 100000000\r\n\r\n";
	struct hhttp	r;
	int		fd;

	hb_start(&b, NULL);
	/* RabbitMQ waits for the body before it refuses it. */
	hb_require_warrend(&b);
	fd = hb_http_connect(&b);
	hb_raw_send(fd, req, sizeof(req) - 1);
	cr_assert_eq(hb_http_read(fd, &r, false, 3000), 1);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(r.body, "{\"error\":\"bad_request\",\"reason\":"
	    "\"Exceeded HTTP request body size limit\"}");
	cr_assert_str_eq(hb_http_header(&r, "connection"), "close");
	cr_assert_eq(hb_raw_wait_eof(fd, 5000), 0);
	hb_http_free(&r);
	close(fd);
	hb_stop(&b);
}

Test(admin_http, refused_request_is_answered_without_reading_its_body)
{
	static const char req[] = "PUT /api/whoami HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 1000000\r\n\r\n";
	struct hhttp	r;
	int		fd;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	fd = hb_http_connect(&b);
	hb_raw_send(fd, req, sizeof(req) - 1);
	cr_assert_eq(hb_http_read(fd, &r, false, 3000), 1);
	cr_assert_eq(r.status, 405);
	cr_assert_eq(hb_raw_wait_eof(fd, 5000), 0);
	hb_http_free(&r);
	close(fd);
	hb_stop(&b);
}

Test(admin_http, transfer_encoding_is_501)
{
	static const char req[] = "PUT /api/overview HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Basic Z3Vlc3Q6Z3Vlc3Q=\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
	struct hhttp	r;
	int		fd;

	hb_start(&b, NULL);
	/* RabbitMQ (Cowboy) reads chunked bodies; warren refuses them. */
	hb_require_warrend(&b);
	fd = hb_http_connect(&b);
	hb_raw_send(fd, req, sizeof(req) - 1);
	cr_assert_eq(hb_http_read(fd, &r, false, 3000), 1);
	cr_assert_eq(r.status, 501);
	cr_assert_not_null(strstr(r.body, "\"error\":\"not_implemented\""));
	hb_http_free(&r);
	close(fd);
	hb_stop(&b);
}

Test(admin_http, slowloris_is_closed_by_the_header_timeout)
{
	static const char	*const extra[] = { "--handshake-timeout", "1",
	    NULL };
	static const char	 req[] = "GET /api/whoami HTTP/1.1\r\n"
	    "Host: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	long			 start, elapsed;
	size_t			 i = 0;
	int			 fd, closed = 0;

	hb_start(&b, extra);
	hb_require_warrend(&b);
	fd = hb_http_connect(&b);
	start = tc_now_ms();
	/* One byte every 100 ms: the head is never done in time. */
	while (tc_now_ms() - start < 5000) {
		struct pollfd	pfd = { .fd = fd, .events = POLLIN };
		char		c;

		if (hb_raw_send(fd, &req[i % (sizeof(req) - 1)], 1) == -1) {
			closed = 1;
			break;
		}
		i++;
		if (poll(&pfd, 1, 100) == 1) {
			ssize_t n = read(fd, &c, 1);

			if (n == 0 || (n == -1 && errno == ECONNRESET)) {
				closed = 1;
				break;
			}
		}
	}
	elapsed = tc_now_ms() - start;
	cr_assert(closed, "still open after %ld ms", elapsed);
	cr_assert(elapsed >= 800 && elapsed < 3000, "closed after %ld ms",
	    elapsed);
	close(fd);
	/* The broker goes on serving. */
	{
		struct hhttp	r;

		cr_assert_eq(hb_http(&b, "GET", "/api/whoami", GUEST, NULL, &r),
		    200);
		hb_http_free(&r);
	}
	hb_stop(&b);
}

Test(admin_http, many_idle_admin_connections_leave_amqp_working)
{
	enum { IDLE = 600, MAX = 512 };
	/* All from one address: its own limit is not what is tested here. */
	static const char *const extra[] = {
	    "--admin-max-connections-per-address", "1000", NULL };
	amqp_connection_state_t	 c;
	struct hhttp		 r;
	int			 fds[IDLE], refused = 0, status = 0;
	long			 deadline;

	hb_start(&b, extra);
	hb_require_warrend(&b);
	for (int i = 0; i < IDLE; i++)
		fds[i] = hb_http_connect(&b);
	/* Those past admin-max-connections are accepted and closed. */
	deadline = tc_now_ms() + 5000;
	while (refused < IDLE - MAX && tc_now_ms() < deadline) {
		refused = 0;
		for (int i = 0; i < IDLE; i++) {
			struct pollfd	pfd = { .fd = fds[i], .events = POLLIN };

			if (poll(&pfd, 1, 0) == 1)
				refused++;
		}
		if (refused < IDLE - MAX)
			tc_sleep_ms(50);
	}
	cr_assert_eq(refused, IDLE - MAX);
	/* AMQP is not affected. */
	c = hb_connect(&b);
	hb_close(c);
	for (int i = 0; i < IDLE; i++)
		close(fds[i]);
	/* Once they are gone, the API answers again. */
	deadline = tc_now_ms() + 5000;
	while (status != 200 && tc_now_ms() < deadline) {
		int	fd = hb_http_connect(&b);

		send_req(fd, "GET", "/api/whoami", GUEST, NULL);
		if (hb_http_read(fd, &r, false, 2000) == 1) {
			status = r.status;
			hb_http_free(&r);
		}
		close(fd);
		if (status != 200)
			tc_sleep_ms(50);
	}
	cr_assert_eq(status, 200);
	cr_assert(hb_alive(&b));
	hb_stop(&b);
}

Test(admin_http, garbage_bytes_get_400_and_the_server_stays_up)
{
	uint8_t		junk[4096];
	struct hhttp	r;
	int		fd, rc;

	hb_start(&b, NULL);
	srandom(42);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)random();
	fd = hb_http_connect(&b);
	hb_raw_send(fd, junk, sizeof(junk));
	rc = hb_http_read(fd, &r, false, 5000);
	/* An answer saying so, or just the close. */
	cr_assert(rc == 0 || (rc == 1 && r.status >= 400 && r.status < 500),
	    "rc %d status %d", rc, rc == 1 ? r.status : 0);
	if (rc == 1)
		hb_http_free(&r);
	close(fd);
	fd = hb_http_connect(&b);
	hb_raw_send(fd, "\0\0\0\0\r\n\r\n", 8);
	cr_assert_eq(hb_http_read(fd, &r, false, 5000), 1);
	cr_assert_eq(r.status, 400);
	hb_http_free(&r);
	close(fd);
	cr_assert_eq(hb_http(&b, "GET", "/api/whoami", GUEST, NULL, &r), 200);
	hb_http_free(&r);
	hb_stop(&b);
}

Test(admin_http, overview_counts_connections_channels_queues_consumers)
{
	amqp_connection_state_t	 c;
	amqp_bytes_t		 q;
	struct hhttp		 r;
	long			 deadline;
	bool			 ok = false;

	hb_start(&b, NULL);
	c = hb_connect(&b);
	q = amqp_cstring_bytes(hb_name("overview"));
	amqp_queue_declare(c, 1, q, 0, 0, 1, 1, amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	amqp_basic_consume(c, 1, q, amqp_empty_bytes, 0, 1, 0,
	    amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	/* RabbitMQ's statistics lag; warren's do not. */
	deadline = tc_now_ms() + 15000;
	while (!ok && tc_now_ms() < deadline) {
		cr_assert_eq(hb_http(&b, "GET", "/api/overview", GUEST, NULL,
		    &r), 200);
		ok = json_int_in(r.body, "object_totals", "connections") >= 1 &&
		    json_int_in(r.body, "object_totals", "channels") >= 1 &&
		    json_int_in(r.body, "object_totals", "queues") >= 1 &&
		    json_int_in(r.body, "object_totals", "consumers") >= 1 &&
		    json_int_in(r.body, "object_totals", "exchanges") >= 6;
		if (!ok)
			tc_sleep_ms(200);
		if (ok || tc_now_ms() >= deadline)
			cr_assert(ok, "%s", r.body);
		hb_http_free(&r);
	}
	hb_close(c);
	hb_stop(&b);
}

/* ---- users and tags (loaded from a definitions file) ---------------------- */

/* Password "pw" with salt 01 02 03 04: base64(salt || sha256(salt || pw)). */
#define PW_HASH	"AQIDBJsPGQAmNOBwcEzrqoDBa4HefPXET3JTmdZKm3Tj4CzZ"

static char	defs_dir[256], defs_path[300];

static void
defs_cleanup(void)
{
	if (defs_path[0] != '\0')
		unlink(defs_path);
	if (defs_dir[0] != '\0')
		rmdir(defs_dir);
}

static const char *
write_defs(void)
{
	FILE	*f;

	snprintf(defs_dir, sizeof(defs_dir), "/tmp/warren-adm.XXXXXX");
	cr_assert_not_null(mkdtemp(defs_dir));
	snprintf(defs_path, sizeof(defs_path), "%s/defs.json", defs_dir);
	atexit(defs_cleanup);
	cr_assert_not_null(f = fopen(defs_path, "w"));
	fprintf(f, "{\"users\": ["
	    "{\"name\": \"plain\", \"password_hash\": \"" PW_HASH "\", "
	    "\"tags\": \"\"},"
	    "{\"name\": \"mgmt\", \"password_hash\": \"" PW_HASH "\", "
	    "\"tags\": \"management\"},"
	    "{\"name\": \"mon\", \"password_hash\": \"" PW_HASH "\", "
	    "\"tags\": [\"monitoring\", \"policymaker\"]}],"
	    "\"vhosts\": [{\"name\": \"/\"}],"
	    "\"permissions\": [{\"user\": \"mgmt\", \"vhost\": \"/\", "
	    "\"configure\": \".*\", \"write\": \".*\", \"read\": \".*\"}]}\n");
	cr_assert_eq(fclose(f), 0);
	return defs_path;
}

Test(admin_http, user_without_a_management_tag_gets_401_not_management_user)
{
	const char	*extra[] = { "--load-definitions", write_defs(), NULL };
	struct hhttp	 r;

	hb_start(&b, extra);
	hb_require_warrend(&b);
	cr_assert_eq(hb_http(&b, "GET", "/api/whoami", "plain:pw", NULL, &r),
	    401);
	cr_assert_str_eq(r.body, "{\"error\":\"not_authorised\","
	    "\"reason\":\"Not management user\"}");
	cr_assert_null(hb_http_header(&r, "www-authenticate"));
	hb_http_free(&r);
	hb_stop(&b);
}

Test(admin_http, management_users_see_their_tags_as_a_list)
{
	const char	*extra[] = { "--load-definitions", write_defs(), NULL };
	struct hhttp	 r;

	hb_start(&b, extra);
	hb_require_warrend(&b);
	cr_assert_eq(hb_http(&b, "GET", "/api/whoami", "mgmt:pw", NULL, &r),
	    200);
	cr_assert_str_eq(r.body, "{\"name\":\"mgmt\",\"tags\":"
	    "[\"management\"]}");
	hb_http_free(&r);
	cr_assert_eq(hb_http(&b, "GET", "/api/whoami", "mon:pw", NULL, &r),
	    200);
	cr_assert_str_eq(r.body, "{\"name\":\"mon\",\"tags\":"
	    "[\"monitoring\",\"policymaker\"]}");
	hb_http_free(&r);
	cr_assert_eq(hb_http(&b, "GET", "/api/overview", "mgmt:pw", NULL, &r),
	    200);
	cr_assert(json_int_in(r.body, "object_totals", "exchanges") >= 1,
	    "%s", r.body);
	hb_http_free(&r);
	hb_stop(&b);
}

Test(admin_http, sigterm_with_admin_connections_open_exits_cleanly)
{
	static const char partial[] = "GET /api/whoami HTTP/1.1\r\nHost: x\r\n";
	struct hhttp	r;
	int		idle, half, kept;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	idle = hb_http_connect(&b);
	half = hb_http_connect(&b);
	hb_raw_send(half, partial, sizeof(partial) - 1);
	kept = hb_http_connect(&b);
	send_req(kept, "GET", "/api/whoami", GUEST, NULL);
	cr_assert_eq(hb_http_read(kept, &r, false, 5000), 1);
	hb_http_free(&r);
	/* hb_stop asserts exit status 0: no leak, no error under ASan. */
	hb_stop(&b);
	close(idle);
	close(half);
	close(kept);
}

Test(admin_http, expect_100_continue_is_answered_before_the_body)
{
	static const char head[] = "PUT /api/vhosts/cont HTTP/1.1\r\n"
	    "Host: x\r\nAuthorization: Basic Z3Vlc3Q6Z3Vlc3Q=\r\n"
	    "Content-Type: application/json\r\n"
	    "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n";
	struct hhttp	r;
	int		fd;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	fd = hb_http_connect(&b);
	hb_raw_send(fd, head, sizeof(head) - 1);
	cr_assert_eq(hb_http_read(fd, &r, false, 3000), 1);
	cr_assert_eq(r.status, 100);
	hb_http_free(&r);
	hb_raw_send(fd, "{}", 2);
	cr_assert_eq(hb_http_read(fd, &r, false, 3000), 1);
	cr_assert_eq(r.status, 201);
	hb_http_free(&r);
	close(fd);
	hb_stop(&b);
}

/*
 * An answer reporting a change leaves only after the commit that stores
 * it (the output barrier, as for AMQP confirms): each user whose PUT was
 * answered survives a kill -9 sent the moment the answer is in.
 */
Test(admin_http, a_created_user_survives_kill9_right_after_its_answer)
{
	struct hhttp	r;
	char		path[64];

	hb_start(&b, NULL);
	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "/api/users/killed%d", i);
		cr_assert_eq(hb_http(&b, "PUT", path, GUEST,
		    "{\"password\":\"pw\",\"tags\":\"\"}", &r), 201);
		hb_http_free(&r);
		cr_assert_eq(hb_kill(&b), 128 + SIGKILL);
		hb_restart(&b, NULL);
		for (int j = 0; j <= i; j++) {
			snprintf(path, sizeof(path), "/api/users/killed%d", j);
			cr_assert_eq(hb_http(&b, "GET", path, GUEST, NULL, &r),
			    200, "%s was answered 201 but lost", path);
			hb_http_free(&r);
		}
	}
	hb_stop(&b);
}

/* An admin API connection from source address src (a loopback alias). */
static int
connect_from(const char *src)
{
	struct sockaddr_in	 sa = { .sin_family = AF_INET };
	int			 fd;

	cr_assert_neq(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	cr_assert_eq(inet_pton(AF_INET, src, &sa.sin_addr), 1);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0,
	    "bind %s: %s", src, strerror(errno));
	cr_assert_eq(inet_pton(AF_INET, b.host, &sa.sin_addr), 1);
	sa.sin_port = htons((uint16_t)b.admin_port);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

Test(admin_http, a_body_is_refused_from_its_headers_where_a_route_takes_none)
{
	static const char get[] = "GET /api/overview HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Basic bWdtdDpwdw==\r\n"	/* mgmt:pw */
	    "Content-Length: 20000000\r\n\r\n";
	static const char put[] = "PUT /api/vhosts/big HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Basic Z3Vlc3Q6Z3Vlc3Q=\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 1000000\r\n\r\n";
	const char	*extra[] = { "--load-definitions", write_defs(), NULL };
	struct hhttp	 r;
	int		 fd;

	hb_start(&b, extra);
	hb_require_warrend(&b);
	/*
	 * A management user's GET with a 20 MB body is answered at once,
	 * without waiting for (and buffering) the body.
	 */
	fd = hb_http_connect(&b);
	hb_raw_send(fd, get, sizeof(get) - 1);
	cr_assert_eq(hb_http_read(fd, &r, false, 3000), 1,
	    "no answer before the body");
	cr_assert_eq(r.status, 413);
	cr_assert_str_eq(r.body, "{\"error\":\"bad_request\",\"reason\":"
	    "\"GET /api/overview takes no request body\"}");
	hb_http_free(&r);
	close(fd);
	/* A route that takes a body takes a small one. */
	fd = hb_http_connect(&b);
	hb_raw_send(fd, put, sizeof(put) - 1);
	cr_assert_eq(hb_http_read(fd, &r, false, 3000), 1,
	    "no answer before the body");
	cr_assert_eq(r.status, 413);
	cr_assert_str_eq(r.body, "{\"error\":\"bad_request\",\"reason\":"
	    "\"Exceeded HTTP request body size limit\"}");
	hb_http_free(&r);
	close(fd);
	hb_stop(&b);
}

Test(admin_http, one_address_cannot_take_every_admin_connection)
{
	enum { MAX = 64 };
	static const char *const extra[] = { "--admin-max-connections", "64",
	    NULL };
	int		 fds[MAX], fd, status = 0;
	struct hhttp	 r;
	long		 deadline;

	hb_start(&b, extra);
	hb_require_warrend(&b);
	/* Idle sockets that never send a byte, all from 127.0.0.2. */
	for (int i = 0; i < MAX; i++)
		fds[i] = connect_from("127.0.0.2");
	/* Another client is still served, well before they time out. */
	tc_sleep_ms(300);
	deadline = tc_now_ms() + 3000;
	while (status != 200 && tc_now_ms() < deadline) {
		fd = hb_http_connect(&b);
		send_req(fd, "GET", "/api/whoami", GUEST, NULL);
		if (hb_http_read(fd, &r, false, 1000) == 1) {
			status = r.status;
			hb_http_free(&r);
		}
		close(fd);
		if (status != 200)
			tc_sleep_ms(100);
	}
	cr_assert_eq(status, 200, "locked out by %d idle connections from "
	    "another address", MAX);
	for (int i = 0; i < MAX; i++)
		close(fds[i]);
	hb_stop(&b);
}

Test(admin_http, a_connection_that_never_logged_in_is_closed_soon)
{
	struct hhttp	r;
	int		fd;
	long		start;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	fd = hb_http_connect(&b);
	send_req(fd, "GET", "/api/whoami", NULL, NULL);
	cr_assert_eq(hb_http_read(fd, &r, false, 3000), 1);
	cr_assert_eq(r.status, 401);
	hb_http_free(&r);
	/* Kept alive, but not for the minute a logged-in client gets. */
	start = tc_now_ms();
	cr_assert_eq(hb_raw_wait_eof(fd, 10000), 0, "still open after 10 s");
	cr_assert_lt(tc_now_ms() - start, 10000);
	close(fd);
	hb_stop(&b);
}

Test(admin_http, a_vhost_is_shown_to_administrators_only)
{
	const char	*extra[] = { "--load-definitions", write_defs(), NULL };
	struct hhttp	 r;

	hb_start(&b, extra);
	hb_require_warrend(&b);
	/* compat: RabbitMQ 3.10's answer, for a vhost that exists or not. */
	cr_assert_eq(hb_http(&b, "GET", "/api/vhosts/%2F", "mgmt:pw", NULL,
	    &r), 401);
	cr_assert_str_eq(r.body, "{\"error\":\"not_authorised\","
	    "\"reason\":\"Not administrator user\"}");
	hb_http_free(&r);
	cr_assert_eq(hb_http(&b, "GET", "/api/vhosts/nosuch", "mgmt:pw", NULL,
	    &r), 401);
	hb_http_free(&r);
	hb_stop(&b);
}
