/*
 * warrenctl's output module: each format compared byte for byte with a
 * golden file under tests/unit/golden/ctl_out/. Run with
 * WARREN_UPDATE_GOLDEN=1 to rewrite the files after a deliberate change,
 * then review the diff.
 */
#include "autoconf.h"

#include "admin/ctl_out.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/json.h"

/* A page of queues as GET /api/queues returns them, with what breaks
 * tables: long and unicode names, floats, nested and missing values,
 * control characters. */
static const char page1[] = "["
    "{\"name\":\"orders\",\"vhost\":\"/\",\"type\":\"classic\","
    "\"messages\":12,\"message_stats\":{\"publish_details\":"
    "{\"rate\":0.25}},\"arguments\":{}},"
    "{\"name\":\"billing.invoices.dead-letter.retry-after-30-seconds."
    "long-name\",\"vhost\":\"production\",\"type\":\"quorum\","
    "\"messages\":1234567,\"message_stats\":{\"publish_details\":"
    "{\"rate\":1523.4567}},\"arguments\":{\"x-queue-type\":\"quorum\","
    "\"x-max-length\":1000}},"
    "{\"name\":\"caf\\u00e9-\\u961f\\u5217-\\u00fcber-\\ud83d\\ude80-"
    "unicode-queue-name\",\"vhost\":\"/\",\"type\":\"classic\","
    "\"messages\":0,\"message_stats\":{\"publish_details\":"
    "{\"rate\":7.06}},\"arguments\":{}},"
    "{\"name\":\"evil\\u001b[31mred\\u001b[0m\\ttab\\nline\\\\back"
    "\\u202eslash\",\"vhost\":\"/\",\"type\":\"classic\","
    "\"messages\":3,\"arguments\":{\"x-queue-type\":\"classic\"}},"
    "{\"name\":\"no-stats\",\"vhost\":\"/\",\"type\":\"stream\","
    "\"messages\":null,\"durable\":true,\"arguments\":[1,\"two\"]}"
    "]";

/* The second page: a name longer than anything on the first. */
static const char page2[] = "["
    "{\"name\":\"a-second-page-queue-whose-name-is-longer-than-any-on-"
    "the-first-page\",\"vhost\":\"/\",\"type\":\"classic\","
    "\"messages\":99999999999,\"message_stats\":{\"publish_details\":"
    "{\"rate\":0}},\"arguments\":{}}"
    "]";

static const char overview[] = "{"
    "\"management_version\":\"3.10.0\",\"rabbitmq_version\":\"3.10.0\","
    "\"cluster_name\":\"warren@\\u00e9t\\u00e9-host-with-a-rather-long-"
    "name.example.com\",\"queue_totals\":{\"messages\":42,"
    "\"messages_details\":{\"rate\":0.5}},\"object_totals\":"
    "{\"queues\":5,\"consumers\":0},\"listeners\":[{\"protocol\":\"amqp\","
    "\"port\":5672}]}";

static const struct ctl_column queue_cols[] = {
	{ "name", "name" },
	{ "vhost", "vhost" },
	{ "type", "type" },
	{ "messages", "messages" },
	{ "publish rate", "message_stats.publish_details.rate" },
	{ "arguments", "arguments" },
};
#define NQUEUE_COLS (sizeof(queue_cols) / sizeof(queue_cols[0]))

static const struct ctl_column overview_cols[] = {
	{ "rabbitmq_version", "rabbitmq_version" },
	{ "cluster_name", "cluster_name" },
	{ "queue_totals.messages", "queue_totals.messages" },
	{ "object_totals.queues", "object_totals.queues" },
	{ "object_totals.exchanges", "object_totals.exchanges" },
	{ "listeners", "listeners" },
};
#define NOVERVIEW_COLS (sizeof(overview_cols) / sizeof(overview_cols[0]))

static struct json *
parse(const char *s)
{
	char err[128];
	struct json *j = json_parse(s, strlen(s), err, sizeof(err));

	cr_assert_not_null(j, "fixture: %s", err);
	return j;
}

struct capture {
	FILE	*f;
	char	*text;
	size_t	 len;
};

static void
capture_open(struct capture *c)
{
	c->f = open_memstream(&c->text, &c->len);
	cr_assert_not_null(c->f);
}

static void
capture_close(struct capture *c)
{
	cr_assert_eq(fclose(c->f), 0);
}

/* Fails unless got is exactly the golden file's bytes. */
static void
golden(const char *name, const char *got, size_t len)
{
	char path[512], *want;
	size_t wlen;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
	if (getenv("WARREN_UPDATE_GOLDEN") != NULL) {
		cr_assert_not_null(f = fopen(path, "wb"), "%s", path);
		cr_assert_eq(fwrite(got, 1, len, f), len);
		cr_assert_eq(fclose(f), 0);
	}
	f = fopen(path, "rb");
	cr_assert_not_null(f, "missing golden file %s", path);
	want = malloc(1 << 20);
	wlen = fread(want, 1, 1 << 20, f);
	fclose(f);
	cr_assert(wlen == len && memcmp(want, got, len) == 0,
	    "output differs from %s:\n--- want (%zu bytes)\n%.*s--- got "
	    "(%zu bytes)\n%.*s", path, wlen, (int)wlen, want, len, (int)len,
	    got);
	free(want);
}

/* One listing of the given pages (NULL-terminated) into a golden file. */
static void
listing(const char *name, const char *const *pages,
    const struct ctl_out_opts *o)
{
	struct capture c;
	struct ctl_out *out;

	capture_open(&c);
	out = ctl_out_begin(c.f, queue_cols, NQUEUE_COLS, o);
	cr_assert_not_null(out);
	for (; *pages != NULL; pages++) {
		struct json *j = parse(*pages);

		cr_assert_eq(ctl_out_rows(out, j), 0);
		json_free(j);	/* nothing may be kept across pages */
	}
	cr_assert_eq(ctl_out_end(out), 0);
	capture_close(&c);
	golden(name, c.text, c.len);
	free(c.text);
}

static void
object(const char *name, const struct ctl_out_opts *o)
{
	struct capture c;
	struct json *j = parse(overview);

	capture_open(&c);
	cr_assert_eq(ctl_out_object(c.f, j, overview_cols, NOVERVIEW_COLS, o),
	    0);
	capture_close(&c);
	golden(name, c.text, c.len);
	free(c.text);
	json_free(j);
}

static const char *const one_page[] = { page1, NULL };
static const char *const two_pages[] = { page1, page2, NULL };
static const char empty_page[] = "[]";
static const char *const no_rows[] = { empty_page, NULL };
static const char *const no_pages[] = { NULL };

/* Display columns of one line: code points, CJK and emoji two. */
static size_t
line_width(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; ) {
		unsigned char b = (unsigned char)s[i];
		size_t len = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
		unsigned cp = 0;

		cr_assert(b < 0x80 || b >= 0xc0, "cut inside a character");
		cr_assert(i + len <= n, "truncated character at end of line");
		cp = len == 1 ? b : (b & (0x7f >> len));
		for (size_t k = 1; k < len; k++) {
			cr_assert(((unsigned char)s[i + k] & 0xc0) == 0x80,
			    "cut inside a character");
			cp = cp << 6 | ((unsigned char)s[i + k] & 0x3f);
		}
		w += (cp >= 0x4e00 && cp <= 0x9fff) ||
		    (cp >= 0x1f300 && cp <= 0x1f64f) ||
		    (cp >= 0x1f680 && cp <= 0x1f6ff) ? 2 : 1;
		i += len;
	}
	return w;
}

/* ---- tables -------------------------------------------------------------- */

Test(ctl_out, table_without_width_limit_shows_every_value_whole)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TABLE, .width = 0 };

	listing("table_w0.txt", one_page, &o);
}

Test(ctl_out, table_at_80_columns_shrinks_the_widest_text_column)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TABLE, .width = 80 };

	listing("table_w80.txt", one_page, &o);
}

Test(ctl_out, table_at_40_columns_cuts_text_but_never_numbers)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TABLE, .width = 40 };

	listing("table_w40.txt", one_page, &o);
}

Test(ctl_out, table_lines_fit_the_width_and_stay_valid_utf8)
{
	/* Below 38 columns the numbers alone overflow: only check UTF-8. */
	for (int width = 1; width <= 140; width++) {
		struct ctl_out_opts o = { .fmt = CTL_FMT_TABLE,
		    .width = width };
		struct capture c;
		struct ctl_out *out;
		struct json *j = parse(page1);
		const char *p, *nl;

		capture_open(&c);
		out = ctl_out_begin(c.f, queue_cols, NQUEUE_COLS, &o);
		cr_assert_eq(ctl_out_rows(out, j), 0);
		cr_assert_eq(ctl_out_end(out), 0);
		capture_close(&c);
		for (p = c.text; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
			cr_assert(line_width(p, (size_t)(nl - p)) <=
			    (size_t)width || width < 38, "width %d: line "
			    "\"%.*s\"", width, (int)(nl - p), p);
		cr_assert_eq(*p, '\0', "last line not terminated");
		free(c.text);
		json_free(j);
	}
}

Test(ctl_out, table_header_is_bold_only_with_color)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TABLE, .color = true };

	listing("table_color.txt", one_page, &o);
}

Test(ctl_out, table_sizes_from_the_first_page_and_cuts_later_ones)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TABLE, .width = 100 };

	listing("table_two_pages_w100.txt", two_pages, &o);
}

Test(ctl_out, table_without_limit_never_cuts_later_pages)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TABLE };

	listing("table_two_pages_w0.txt", two_pages, &o);
}

Test(ctl_out, table_with_zero_rows_prints_the_header)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TABLE, .width = 80 };

	listing("table_zero_rows.txt", no_rows, &o);
	listing("table_zero_rows.txt", no_pages, &o);
}

Test(ctl_out, table_columns_option_uses_paths_as_titles)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TABLE, .width = 80,
	    .columns = "name, messages,arguments.x-queue-type,"
	    "message_stats.publish_details.rate" };

	listing("table_columns.txt", one_page, &o);
}

Test(ctl_out, table_without_columns_uses_the_first_rows_keys)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TABLE };
	struct capture c;
	struct ctl_out *out;
	struct json *j = parse("[{\"a.b\":1,\"c\":\"x\"},{\"c\":\"y\","
	    "\"a.b\":22,\"d\":true}]");

	capture_open(&c);
	out = ctl_out_begin(c.f, NULL, 0, &o);
	cr_assert_eq(ctl_out_rows(out, j), 0);
	cr_assert_eq(ctl_out_end(out), 0);
	capture_close(&c);
	cr_assert_str_eq(c.text, "a.b  c\n  1  x\n 22  y\n");
	free(c.text);
	json_free(j);
}

/* ---- JSON ---------------------------------------------------------------- */

Test(ctl_out, json_streams_pages_into_one_array_of_whole_objects)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_JSON, .width = 40 };

	listing("two_pages.json", two_pages, &o);
}

Test(ctl_out, json_columns_keeps_only_those_nested_like_the_api)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_JSON,
	    .columns = "name,message_stats.publish_details.rate,"
	    "arguments.x-queue-type,messages" };

	listing("columns.json", one_page, &o);
}

Test(ctl_out, json_with_zero_rows_is_an_empty_array)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_JSON };

	listing("zero_rows.json", no_rows, &o);
	listing("zero_rows.json", no_pages, &o);
}

Test(ctl_out, json_output_parses_back)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_JSON };
	struct capture c;
	struct ctl_out *out;
	struct json *a = parse(page1), *b = parse(page2), *all;
	char err[128];

	capture_open(&c);
	out = ctl_out_begin(c.f, queue_cols, NQUEUE_COLS, &o);
	cr_assert_eq(ctl_out_rows(out, a), 0);
	cr_assert_eq(ctl_out_rows(out, b), 0);
	cr_assert_eq(ctl_out_end(out), 0);
	capture_close(&c);
	all = json_parse(c.text, c.len, err, sizeof(err));
	cr_assert_not_null(all, "%s", err);
	cr_assert_eq(json_len(all), 6);
	cr_assert_str_eq(json_str(json_get(json_at(all, 3), "name"), NULL),
	    "evil\033[31mred\033[0m\ttab\nline\\back\xe2\x80\xaeslash");
	json_free(all);
	json_free(a);
	json_free(b);
	free(c.text);
}

/* ---- TSV ----------------------------------------------------------------- */

Test(ctl_out, tsv_escapes_so_each_row_is_one_line)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TSV, .width = 40 };

	listing("two_pages.tsv", two_pages, &o);
}

Test(ctl_out, tsv_columns_option_titles_are_paths)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TSV,
	    .columns = "name,arguments.x-queue-type" };

	listing("columns.tsv", one_page, &o);
}

Test(ctl_out, tsv_with_zero_rows_prints_the_header)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TSV };

	listing("zero_rows.tsv", no_rows, &o);
}

/* ---- one object ---------------------------------------------------------- */

Test(ctl_out, object_table_lists_title_and_value)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TABLE };

	object("object_w0.txt", &o);
}

Test(ctl_out, object_table_cuts_values_to_the_width)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TABLE, .width = 40 };

	object("object_w40.txt", &o);
}

Test(ctl_out, object_json_is_the_whole_object)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_JSON };

	object("object.json", &o);
}

Test(ctl_out, object_json_with_columns_is_projected)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_JSON,
	    .columns = "cluster_name,queue_totals.messages,object_totals" };

	object("object_columns.json", &o);
}

Test(ctl_out, object_tsv_is_key_tab_value_lines)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TSV };

	object("object.tsv", &o);
}

/* ---- --columns ----------------------------------------------------------- */

Test(ctl_out, parse_columns_splits_and_trims)
{
	struct ctl_column *cols;
	size_t n;

	cr_assert_null(ctl_out_parse_columns(" name , messages,a.b.c", &cols,
	    &n));
	cr_assert_eq(n, 3);
	cr_assert_str_eq(cols[0].path, "name");
	cr_assert_str_eq(cols[1].title, "messages");
	cr_assert_str_eq(cols[2].path, "a.b.c");
	free(cols);
}

Test(ctl_out, parse_columns_rejects_malformed_lists)
{
	static const char *const bad[] = { "", " ", ",", "a,", ",a", "a,,b",
	    "a.", ".a", "a..b", "a,b,a", "a\tb",
	    "a.b.c.d.e.f.g.h.i" };
	struct ctl_column *cols;
	size_t n;
	char many[400] = "c0";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_not_null(ctl_out_parse_columns(bad[i], &cols, &n),
		    "accepted \"%s\"", bad[i]);
		cr_assert_null(cols);
	}
	for (int i = 1; i < 65; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
		    ",c%d", i);
	cr_assert_str_eq(ctl_out_parse_columns(many, &cols, &n),
	    "too many columns in --columns (at most 64)");
	cr_assert_str_eq(ctl_out_parse_columns("a,,b", &cols, &n),
	    "empty column name in --columns");
}

Test(ctl_out, begin_refuses_malformed_columns)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TABLE, .columns = "a,," };
	struct json *j = parse(overview);

	cr_assert_null(ctl_out_begin(stdout, queue_cols, NQUEUE_COLS, &o));
	cr_assert_eq(ctl_out_object(stdout, j, NULL, 0, &o), -1);
	json_free(j);
}

/* ---- errors and the terminal --------------------------------------------- */

Test(ctl_out, write_error_on_a_full_device_is_reported)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TABLE };
	FILE *f = fopen("/dev/full", "w");
	struct ctl_out *out;
	struct json *j = parse(page1);

	cr_assert_not_null(f);
	out = ctl_out_begin(f, queue_cols, NQUEUE_COLS, &o);
	ctl_out_rows(out, j);
	cr_assert_eq(ctl_out_end(out), -1);
	cr_assert_eq(ctl_out_object(f, j, NULL, 0, &o), -1);
	fclose(f);
	json_free(j);
}

Test(ctl_out, write_error_on_a_closed_pipe_returns_minus_one)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_JSON };
	struct json *j = parse(page1);
	struct ctl_out *out;
	int fds[2], rc = 0;
	FILE *f;

	signal(SIGPIPE, SIG_IGN);	/* as warrenctl does */
	cr_assert_eq(pipe(fds), 0);
	close(fds[0]);			/* "| head" has exited */
	f = fdopen(fds[1], "w");
	out = ctl_out_begin(f, queue_cols, NQUEUE_COLS, &o);
	for (int i = 0; i < 1000 && rc == 0; i++)
		rc = ctl_out_rows(out, j);
	cr_assert_eq(ctl_out_end(out), -1);
	cr_assert_eq(errno, EPIPE);
	fclose(f);
	json_free(j);
}

Test(ctl_out, rows_must_be_an_array)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TABLE };
	struct json *j = parse(overview);
	struct capture c;
	struct ctl_out *out;

	capture_open(&c);
	out = ctl_out_begin(c.f, queue_cols, NQUEUE_COLS, &o);
	cr_assert_eq(ctl_out_rows(out, j), -1);
	cr_assert_eq(ctl_out_end(out), 0);
	capture_close(&c);
	free(c.text);
	json_free(j);
}

Test(ctl_out, terminal_width_comes_from_columns_then_the_tty)
{
	int fds[2];

	cr_assert_eq(pipe(fds), 0);
	setenv("COLUMNS", "123", 1);
	cr_assert_eq(ctl_out_terminal_width(fds[1]), 123);
	setenv("COLUMNS", "wide", 1);
	cr_assert_eq(ctl_out_terminal_width(fds[1]), 0);
	unsetenv("COLUMNS");
	cr_assert_eq(ctl_out_terminal_width(fds[1]), 0);
	close(fds[0]);
	close(fds[1]);
}

Test(ctl_out, no_color_when_not_a_terminal)
{
	int fds[2];

	cr_assert_eq(pipe(fds), 0);
	unsetenv("NO_COLOR");
	cr_assert_not(ctl_out_want_color(fds[1]));
	close(fds[0]);
	close(fds[1]);
}

Test(ctl_out, tsv_without_columns_waits_for_a_row_to_name_them)
{
	struct ctl_out_opts o = { .fmt = CTL_FMT_TSV };
	struct capture c;
	struct ctl_out *out;
	struct json *e = parse("[]"), *j = parse("[{\"k\":\"a\\\\b\"}]");

	capture_open(&c);
	out = ctl_out_begin(c.f, NULL, 0, &o);
	cr_assert_eq(ctl_out_rows(out, e), 0);
	cr_assert_eq(ctl_out_rows(out, j), 0);
	cr_assert_eq(ctl_out_end(out), 0);
	capture_close(&c);
	cr_assert_str_eq(c.text, "k\na\\\\b\n");
	free(c.text);
	json_free(e);
	json_free(j);
}
