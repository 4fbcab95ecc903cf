/*
 * warrend's command line, pidfile and signal handling.  These test
 * warrend itself, so they skip when WARREN_TEST_URL names another broker.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <amqp.h>
#include <criterion/criterion.h>

#include "tests/integration/harness.h"

/* Static so the suite's fini can clean up after a failed assertion. */
static struct hbroker	b;

static void
teardown(void)
{
	hb_stop(&b);
}

TestSuite(cli, .fini = teardown, .timeout = 60);

static void
skip_if_external(void)
{
	const char	*url = getenv("WARREN_TEST_URL");

	if (url != NULL && url[0] != '\0')
		cr_skip_test("tests warrend itself; external broker in use");
}

Test(cli, help_exits_zero_and_mentions_port)
{
	const char	*argv[] = { hb_warrend_path(), "--help", NULL };
	static char	 out[8192], err[8192];

	skip_if_external();
	cr_assert_eq(hb_run(argv, out, sizeof(out), err, sizeof(err)), 0,
	    "stderr: %s", err);
	cr_assert_not_null(strstr(out, "--port"), "usage: %s", out);
	cr_assert_not_null(strstr(out, "--data-dir"), "usage: %s", out);
}

Test(cli, version_prints_name_and_number)
{
	const char	*argv[] = { hb_warrend_path(), "--version", NULL };
	static char	 out[1024];
	int		 maj, min, pat;

	skip_if_external();
	cr_assert_eq(hb_run(argv, out, sizeof(out), NULL, 0), 0);
	cr_assert_eq(sscanf(out, "warrend %d.%d.%d", &maj, &min, &pat), 3,
	    "version output: %s", out);
}

Test(cli, unknown_option_is_usage_error)
{
	const char	*argv[] = { hb_warrend_path(), "--no-such-option",
	    NULL };
	static char	 out[8192], err[8192];

	skip_if_external();
	cr_assert_eq(hb_run(argv, out, sizeof(out), err, sizeof(err)), 2);
	cr_assert_gt(strlen(err), 0, "no message on stderr");
}

Test(cli, bad_log_level_is_usage_error)
{
	const char	*argv[] = { hb_warrend_path(), "--port", "0",
	    "--data-dir", "/nonexistent", "--log-level", "chatty", NULL };
	static char	 err[8192];

	skip_if_external();
	cr_assert_eq(hb_run(argv, NULL, 0, err, sizeof(err)), 2);
	cr_assert_gt(strlen(err), 0, "no message on stderr");
}

Test(cli, port_and_pid_files)
{
	char		 path[300];
	FILE		*f;
	int		 pid = 0;

	skip_if_external();
	hb_start(&b, NULL);
	cr_assert_gt(b.port, 0);
	snprintf(path, sizeof(path), "%s/warrend.pid", b.dir);
	f = fopen(path, "r");
	cr_assert_not_null(f, "no %s", path);
	cr_assert_eq(fscanf(f, "%d", &pid), 1);
	fclose(f);
	cr_assert_eq(pid, b.pid);
	cr_assert_eq(hb_stop(&b), 0);
}

/* Signals warrend with a client connected: the client must be told
 * 320 CONNECTION_FORCED and warrend must exit 0. */
static void
signal_closes_clients(int signo)
{
	amqp_connection_state_t	 c;
	amqp_frame_t		 fr;
	amqp_connection_close_t	*m;
	amqp_connection_close_ok_t ok;
	struct timeval		 tv = { 10, 0 };
	int			 rc;

	skip_if_external();
	hb_start(&b, NULL);
	c = hb_connect(&b);
	cr_assert_eq(kill(b.pid, signo), 0);
	do {
		rc = amqp_simple_wait_frame_noblock(c, &fr, &tv);
		cr_assert_eq(rc, AMQP_STATUS_OK, "no close from warrend: %s",
		    amqp_error_string2(rc));
	} while (fr.frame_type != AMQP_FRAME_METHOD);
	cr_assert_eq(fr.channel, 0);
	cr_assert_eq(fr.payload.method.id, AMQP_CONNECTION_CLOSE_METHOD);
	m = fr.payload.method.decoded;
	cr_assert_eq(m->reply_code, 320);
	cr_assert(m->reply_text.len >= 17 &&
	    memcmp(m->reply_text.bytes, "CONNECTION_FORCED", 17) == 0,
	    "reply text %.*s", (int)m->reply_text.len,
	    (char *)m->reply_text.bytes);
	memset(&ok, 0, sizeof(ok));
	amqp_send_method(c, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
	amqp_destroy_connection(c);
	/* Already signalled; just wait for the exit. */
	cr_assert_eq(hb_stop_sig(&b, 0), 0);
}

Test(cli, sigterm_closes_clients_with_320_and_exits_zero)
{
	signal_closes_clients(SIGTERM);
}

Test(cli, sigint_closes_clients_with_320_and_exits_zero)
{
	signal_closes_clients(SIGINT);
}

Test(cli, sigterm_without_clients_exits_zero)
{
	skip_if_external();
	hb_start(&b, NULL);
	cr_assert_eq(hb_stop(&b), 0);
}
