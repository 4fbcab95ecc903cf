/*
 * The log file and SIGHUP (server/reload.h): lines go to --log-file in
 * the chosen format, a rotated file is reopened, a changed configuration
 * file's log settings and definitions take effect, other changed options
 * are logged as waiting for a restart, and a broken file changes nothing.
 * These test warrend itself, so they skip when WARREN_TEST_URL names
 * another broker.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/json.h"
#include "tests/integration/harness.h"

static struct hbroker	b;

static void
teardown(void)
{
	hb_stop(&b);
}

TestSuite(reload, .fini = teardown, .timeout = 60);

static void
skip_if_external(void)
{
	const char *url = getenv("WARREN_TEST_URL");

	if (url != NULL && url[0] != '\0')
		cr_skip_test("tests warrend itself; external broker in use");
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* Whether path has a line holding text, waiting up to 5 s for it. */
static bool
file_has(const char *path, const char *text)
{
	return hb_file_has(path, text, 5000);
}

/* The data dir is made by hb_start; the files live next to it. */
static void
paths(char *dir, size_t len, const char *tag)
{
	snprintf(dir, len, "/tmp/warren-reload-%s.XXXXXX", tag);
	cr_assert_not_null(mkdtemp(dir));
}

Test(reload, log_file_json_lines_and_reopen_after_rotation)
{
	char dir[64], log[128], moved[128], line[4096], err[128];
	FILE *f;
	int n = 0;

	skip_if_external();
	paths(dir, sizeof(dir), "log");
	snprintf(log, sizeof(log), "%s/warrend.log", dir);
	snprintf(moved, sizeof(moved), "%s/warrend.log.1", dir);
	hb_start(&b, (const char *const[]){ "--log-file", log,
	    "--log-file-format", "json", NULL });
	cr_assert(file_has(log, "accepting AMQP 0-9-1"), "no start line");
	/* Every line is a JSON object with RabbitMQ's keys. */
	cr_assert_not_null(f = fopen(log, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		struct json *j = json_parse(line, strlen(line) - 1, err,
		    sizeof(err));

		cr_assert_not_null(j, "%s: %s", err, line);
		cr_expect_not_null(json_get(j, "time"));
		cr_expect_not_null(json_get(j, "level"));
		cr_expect_not_null(json_get(j, "msg"));
		json_free(j);
		n++;
	}
	fclose(f);
	cr_expect_gt(n, 1);

	/* logrotate moves the file, then sends SIGHUP. */
	cr_assert_eq(rename(log, moved), 0);
	cr_assert_eq(kill(b.pid, SIGHUP), 0);
	cr_assert(file_has(log, "reload: log settings applied"),
	    "no new file after SIGHUP");
	cr_expect(file_has(moved, "accepting AMQP"));
	cr_expect(!file_has(moved, "reload: log settings"),
	    "the moved file still written");
	cr_assert_eq(hb_stop(&b), 0);
	cr_expect(file_has(log, "broker: stopped"));
	unlink(log);
	unlink(moved);
	rmdir(dir);
}

Test(reload, changed_config_file_applies_log_and_definitions_only)
{
	char dir[64], conf[128], log[128], defs[128], text[1024];
	struct hhttp r;
	int st;

	skip_if_external();
	paths(dir, sizeof(dir), "conf");
	snprintf(conf, sizeof(conf), "%s/warrend.conf", dir);
	snprintf(log, sizeof(log), "%s/warrend.log", dir);
	snprintf(defs, sizeof(defs), "%s/defs.json", dir);
	/* compat: with definitions RabbitMQ makes no default user. */
	write_text(defs, "{\"users\":[{\"name\":\"guest\",\"password\":"
	    "\"guest\",\"tags\":[\"administrator\"]}],\"permissions\":[{"
	    "\"user\":\"guest\",\"vhost\":\"/\",\"configure\":\".*\","
	    "\"write\":\".*\",\"read\":\".*\"}]}");
	snprintf(text, sizeof(text), "log.file = %s\nlog.file.level = warning\n"
	    "load_definitions = %s\nheartbeat = 60\n", log, defs);
	write_text(conf, text);
	hb_start(&b, (const char *const[]){ "--config", conf, NULL });
	cr_assert(!file_has(log, "accepting AMQP"), "info at warn level");

	snprintf(text, sizeof(text), "log.file = %s\nlog.file.level = info\n"
	    "load_definitions = %s\nheartbeat = 30\n", log, defs);
	write_text(conf, text);
	write_text(defs, "{\"queues\":[{\"name\":\"from-reload\",\"vhost\":"
	    "\"/\",\"durable\":true,\"auto_delete\":false,\"arguments\":{}}"
	    "]}");
	cr_assert_eq(kill(b.pid, SIGHUP), 0);
	cr_assert(file_has(log, "reload: log settings applied"), "info now");
	cr_expect(file_has(log, "reload: heartbeat changed to 30; it takes "
	    "effect at the next start"));
	cr_assert(file_has(log, "reload: definitions applied"));
	st = hb_http(&b, "GET", "/api/queues/%2F/from-reload", "guest:guest",
	    NULL, &r);
	cr_expect_eq(st, 200, "%d %s", st, r.body != NULL ? r.body : "");
	hb_http_free(&r);

	/* A broken file: logged, and nothing changes. */
	write_text(conf, "log.file.level = loud\n");
	cr_assert_eq(kill(b.pid, SIGHUP), 0);
	cr_assert(file_has(log, "reload: the configuration has errors"));
	cr_assert_eq(hb_stop(&b), 0);
	cr_expect(file_has(log, "broker: stopped"), "the file kept its "
	    "settings");
	unlink(conf);
	unlink(log);
	unlink(defs);
	rmdir(dir);
}

Test(reload, unwritable_log_file_stops_the_start)
{
	char out[512] = "", err[2048] = "";
	const char *w = getenv("WARREND");
	int rc;

	skip_if_external();
	rc = hb_run((const char *const[]){ w != NULL ? w : "./warrend",
	    "--port", "0", "--admin-port", "0", "--prometheus-port", "none",
	    "--data-dir", "/tmp/warren-reload-nodir-data", "--log-file",
	    "/nonexistent/dir/warrend.log", NULL }, out, sizeof(out), err,
	    sizeof(err));
	cr_expect_neq(rc, 0);
	cr_expect_not_null(strstr(err, "log file /nonexistent/dir/warrend.log"),
	    "%s", err);
	hb_run((const char *const[]){ "/bin/rm", "-rf",
	    "/tmp/warren-reload-nodir-data", NULL }, out, sizeof(out), err,
	    sizeof(err));
}
