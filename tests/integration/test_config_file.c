/*
 * warrend started with a rabbitmq.conf-style warrend.conf: its settings
 * take effect (the default user logs in over AMQP in the default vhost,
 * heartbeat in connection.tune, the user's tags in the admin API), the
 * environment overrides the file, and --print-config and bad files behave
 * as warrend.conf(5) says. These test warrend itself, so they skip when
 * WARREN_TEST_URL names another broker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp.h>
#include <criterion/criterion.h>

#include "tests/integration/harness.h"

static struct hbroker	b;
static char		confpath[64];

static void
teardown(void)
{
	hb_stop(&b);
	if (confpath[0] != '\0')
		unlink(confpath);
}

TestSuite(config_file, .fini = teardown, .timeout = 60);

static void
skip_if_external(void)
{
	const char *url = getenv("WARREN_TEST_URL");

	if (url != NULL && url[0] != '\0')
		cr_skip_test("tests warrend itself; external broker in use");
}

static const char *
write_conf(const char *text)
{
	int fd;

	snprintf(confpath, sizeof(confpath), "/tmp/warren-itest-conf.XXXXXX");
	cr_assert_neq(fd = mkstemp(confpath), -1);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return confpath;
}

/* A rabbitmq.conf as an operator would bring it from RabbitMQ. */
static const char rabbitmq_conf[] =
    "# rabbitmq.conf\n"
    "listeners.tcp.default = 127.0.0.1:5672\n"
    "default_user = alice\n"
    "default_pass = wonder   # trailing comment\n"
    "default_vhost = app\n"
    "default_user_tags.monitoring = true\n"
    "default_user_tags.administrator = true\n"
    "heartbeat = 17\n"
    "frame_max = 65536\n"
    "disk_free_limit.absolute = 1MB\n"
    "cluster_formation.peer_discovery_backend = classic_config\n";

/* The file's line 11 warns; the whole log is in DIR/stderr.log. */
static char *
read_log(const struct hbroker *hb)
{
	static char buf[65536];
	char path[300];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/stderr.log", hb->dir);
	cr_assert_not_null(f = fopen(path, "r"), "%s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

Test(config_file, rabbitmq_conf_settings_take_effect)
{
	const char *extra[] = { "--config", NULL, NULL };
	amqp_connection_state_t conn;
	amqp_rpc_reply_t reply;
	uint16_t channel_max, heartbeat;
	uint32_t frame_max;
	struct hhttp r;
	char warn[128];
	int fd;

	skip_if_external();
	extra[1] = write_conf(rabbitmq_conf);
	hb_start(&b, extra);

	/* default_user/default_pass/default_vhost: alice logs in to app. */
	conn = hb_connect_opts(&b, "app", "alice", "wonder", 131072, 0,
	    &reply);
	cr_assert_not_null(conn, "alice cannot log in to vhost app");
	hb_close(conn);
	/* No guest was created: alice is the default user. */
	conn = hb_connect_opts(&b, "/", "guest", "guest", 131072, 0, &reply);
	cr_assert_null(conn, "guest exists although default_user = alice");

	/* heartbeat and frame_max are proposed in connection.tune. */
	fd = hb_raw_open_start(&b);
	hb_raw_send_start_ok(fd, "PLAIN", "\0alice\0wonder", 13, false);
	cr_assert_eq(hb_raw_read_tune(fd, &channel_max, &frame_max,
	    &heartbeat), 1);
	cr_assert_eq(heartbeat, 17);
	cr_assert_eq(frame_max, 65536);
	close(fd);

	/* default_user_tags reach the admin API. */
	cr_assert_eq(hb_http(&b, "GET", "/api/whoami", "alice:wonder", NULL,
	    &r), 200, "%s", r.body);
	cr_assert_not_null(strstr(r.body, "monitoring"), "%s", r.body);
	cr_assert_not_null(strstr(r.body, "administrator"), "%s", r.body);
	hb_http_free(&r);

	/* disk_free_limit.absolute took RabbitMQ's unit. */
	cr_assert_eq(hb_http(&b, "GET", "/api/nodes", "alice:wonder", NULL,
	    &r), 200);
	cr_assert_not_null(strstr(r.body, "\"disk_free_limit\":1000000"),
	    "%s", r.body);
	hb_http_free(&r);

	/* The unsupported key was a warning naming file and line. */
	snprintf(warn, sizeof(warn), "%s:11: warning: cluster_formation",
	    confpath);
	cr_assert_not_null(strstr(read_log(&b), warn), "%s", read_log(&b));
}

Test(config_file, environment_overrides_the_file_and_flags_override_both)
{
	const char *extra[] = { "--config", NULL, "--frame-max", "32768",
	    NULL };
	uint16_t channel_max, heartbeat;
	uint32_t frame_max;
	int fd;

	skip_if_external();
	extra[1] = write_conf(rabbitmq_conf);
	setenv("WARREN_HEARTBEAT", "23", 1);
	setenv("WARREN_FRAME_MAX", "16384", 1);
	setenv("RABBITMQ_DEFAULT_PASS", "fromenv", 1);
	hb_start(&b, extra);
	unsetenv("WARREN_HEARTBEAT");
	unsetenv("WARREN_FRAME_MAX");
	unsetenv("RABBITMQ_DEFAULT_PASS");

	fd = hb_raw_open_start(&b);
	hb_raw_send_start_ok(fd, "PLAIN", "\0alice\0fromenv", 14, false);
	cr_assert_eq(hb_raw_read_tune(fd, &channel_max, &frame_max,
	    &heartbeat), 1, "alice/fromenv refused: env did not win");
	cr_assert_eq(heartbeat, 23, "env beats file");
	cr_assert_eq(frame_max, 32768, "flag beats env");
	close(fd);
}

Test(config_file, print_config_prints_sources_and_exits_zero)
{
	const char *argv[] = { hb_warrend_path(), "--config", NULL,
	    "--port", "5999", "--print-config", NULL };
	static char out[16384], err[4096];
	char want[160];

	skip_if_external();
	argv[2] = write_conf(rabbitmq_conf);
	cr_assert_eq(hb_run(argv, out, sizeof(out), err, sizeof(err)), 0,
	    "%s", err);
	snprintf(want, sizeof(want), "heartbeat = 17 # file %s:8\n",
	    confpath);
	cr_assert_not_null(strstr(out, want), "%s", out);
	cr_assert_not_null(strstr(out, "port = 5999 # flag --port\n"));
	cr_assert_not_null(strstr(out, "durability = fsync # default\n"));
	cr_assert_null(strstr(out, "wonder"), "password shown: %s", out);
}

Test(config_file, unknown_key_stops_warrend_with_status_2)
{
	const char *argv[] = { hb_warrend_path(), "--config", NULL, NULL };
	static char err[4096];
	char want[128];

	skip_if_external();
	argv[2] = write_conf("heartbeat = 5\nno_such.key = 1\n");
	cr_assert_eq(hb_run(argv, NULL, 0, err, sizeof(err)), 2);
	snprintf(want, sizeof(want), "%s:2: no_such.key: unknown key",
	    confpath);
	cr_assert_not_null(strstr(err, want), "%s", err);
}
