/*
 * lib/log.c: the plain and JSON line formats, the file sink and its
 * reopen after a rotation, and the per-sink thresholds.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/json.h"
#include "lib/log.h"

static char *
line(enum log_format fmt, enum log_level level, const char *text,
    const char *err)
{
	static char buf[4096];
	size_t n = log_format_line(fmt, level, text, err, buf, sizeof(buf));

	cr_assert_gt(n, 0);
	cr_assert_eq(buf[n - 1], '\n', "a line ends in a newline");
	buf[n] = '\0';
	return buf;
}

Test(log, plain_line_has_time_level_and_escaped_text)
{
	char *l = line(LOG_FORMAT_PLAIN, LOG_LEVEL_WARN, "queue 'a\nb' \\x",
	    "No such file");

	/* 2026-12-07T17:36:00.123Z warn ... */
	cr_expect_eq(strlen(l) > 25 && l[4] == '-' && l[10] == 'T' &&
	    l[23] == 'Z', true, "%s", l);
	cr_expect_str_eq(l + 25, "warn queue 'a\\x0ab' \\x5cx: No such file\n");
}

Test(log, json_line_parses_whatever_the_text)
{
	const char *texts[] = {
		"plain", "quote \" backslash \\ tab \t newline \n",
		"invalid utf-8 \xff\xfe and truncated \xe2\x82",
		"valid utf-8 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x87",
		"overlong \xc0\xaf surrogate \xed\xa0\x80",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char *l = line(LOG_FORMAT_JSON, LOG_LEVEL_INFO, texts[i],
		    i == 0 ? "an error" : NULL);
		char err[128];
		struct json *j = json_parse(l, strlen(l) - 1, err,
		    sizeof(err));
		const char *msg;
		size_t len;

		cr_assert_not_null(j, "%s: %s", l, err);
		cr_expect_str_eq(json_str(json_get(j, "level"), NULL),
		    "info");
		cr_assert_not_null(msg = json_str(json_get(j, "msg"), &len));
		if (i == 0)
			cr_expect_str_eq(msg, "plain: an error");
		if (i == 1)
			cr_expect_str_eq(msg, texts[1]);
		if (i == 3)
			cr_expect_str_eq(msg, texts[3], "valid UTF-8 kept");
		cr_expect_eq(strlen(json_str(json_get(j, "time"), NULL)), 24);
		json_free(j);
	}
}

/* A line longer than the buffer is cut and still a JSON object. */
Test(log, long_json_line_is_cut_but_parses)
{
	char text[3000], buf[256], err[128];
	struct json *j;
	size_t n;

	memset(text, '"', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	n = log_format_line(LOG_FORMAT_JSON, LOG_LEVEL_ERROR, text, NULL,
	    buf, sizeof(buf));
	cr_assert_eq(buf[n - 1], '\n');
	/* Cut inside an escape would leave a lone backslash: it must not. */
	for (size_t cut = 200; cut < sizeof(buf); cut++) {
		n = log_format_line(LOG_FORMAT_JSON, LOG_LEVEL_ERROR, text,
		    NULL, buf, cut);
		j = json_parse(buf, n - 1, err, sizeof(err));
		cr_assert_not_null(j, "buffer %zu: %s: %.*s", cut, err,
		    (int)n, buf);
		json_free(j);
	}
}

static char *
slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f, "%s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

Test(log, file_sink_has_its_own_level_and_reopens_after_rotation)
{
	char dir[] = "/tmp/warren-log.XXXXXX", path[128], moved[128];
	struct stat st;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/warrend.log", dir);
	snprintf(moved, sizeof(moved), "%s/warrend.log.1", dir);
	log_set_console(false, LOG_LEVEL_INFO, LOG_FORMAT_PLAIN);
	cr_assert_eq(log_set_file(path, LOG_LEVEL_WARN, LOG_FORMAT_PLAIN), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0640 & ~umask(022));
	log_info("not at the file's level");
	log_warnx("first %d", 1);
	cr_expect_eq(log_enabled(LOG_LEVEL_INFO), 0);
	cr_expect_neq(log_enabled(LOG_LEVEL_WARN), 0);
	cr_expect_null(strstr(slurp(path), "not at"));
	cr_expect_not_null(strstr(slurp(path), " warn first 1\n"));

	/* logrotate moves the file, then warrend gets SIGHUP. */
	cr_assert_eq(rename(path, moved), 0);
	log_warnx("second");
	cr_assert_eq(log_reopen(), 0);
	log_warnx("third");
	cr_expect_not_null(strstr(slurp(moved), " warn second\n"));
	cr_expect_null(strstr(slurp(moved), "third"));
	cr_expect_not_null(strstr(slurp(path), " warn third\n"));

	/* JSON to the file: one object per line. */
	cr_assert_eq(log_set_file(path, LOG_LEVEL_DEBUG, LOG_FORMAT_JSON), 0);
	log_debug("fourth");
	cr_expect_not_null(strstr(slurp(path), "\"level\":\"debug\","
	    "\"msg\":\"fourth\"}\n"));
	/* A file that cannot be opened keeps the old one. */
	cr_expect_eq(log_set_file("/nonexistent/x.log", LOG_LEVEL_INFO,
	    LOG_FORMAT_PLAIN), -1);
	log_info("fifth");
	cr_expect_not_null(strstr(slurp(path), "fifth"));
	cr_assert_eq(log_set_file(NULL, LOG_LEVEL_INFO, LOG_FORMAT_PLAIN), 0);
	unlink(path);
	unlink(moved);
	rmdir(dir);
}

Test(log, level_and_format_names)
{
	cr_expect_eq(log_level_from_name("debug"), LOG_LEVEL_DEBUG);
	cr_expect_eq(log_level_from_name("warning"), LOG_LEVEL_WARN);
	cr_expect_eq(log_level_from_name("critical"), LOG_LEVEL_ERROR);
	cr_expect_eq(log_level_from_name("none"), LOG_LEVEL_NONE);
	cr_expect_eq(log_level_from_name("loud"), -1);
	cr_expect_eq(log_format_from_name("json"), LOG_FORMAT_JSON);
	cr_expect_eq(log_format_from_name("plaintext"), LOG_FORMAT_PLAIN);
	cr_expect_eq(log_format_from_name("xml"), -1);
}
