#include "autoconf.h"

/*
 * Unit tests for option parsing (server/config.c): defaults, the command
 * line, the config file and their precedence.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"

static struct config	c;
static char		cfgpath[64];

static void
teardown(void)
{
	config_free(&c);
	if (cfgpath[0] != '\0')
		unlink(cfgpath);
}

TestSuite(config, .fini = teardown);

/*
 * Runs config_load on "warrend" plus the NULL-terminated arguments. The
 * arguments are copied: config_load may write into argv.
 */
static enum config_result
load(const char *const *args)
{
	char *argv[32];
	enum config_result rc;
	int argc = 0;

	argv[argc++] = strdup("warrend");
	for (; *args != NULL; args++) {
		cr_assert_lt(argc, 31);
		argv[argc++] = strdup(*args);
	}
	argv[argc] = NULL;
	rc = config_load(&c, argc, argv);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return rc;
}

/* Writes text to a fresh temporary file whose name is left in cfgpath. */
static const char *
cfgfile(const char *text)
{
	int fd;

	snprintf(cfgpath, sizeof(cfgpath), "/tmp/warren-test-cfg.XXXXXX");
	cr_assert_neq(fd = mkstemp(cfgpath), -1);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return cfgpath;
}

Test(config, defaults_match_rabbitmq)
{
	static const char *const args[] = { NULL };

	cr_assert_eq(load(args), CONFIG_OK);
	cr_assert_eq(c.port, 5672);
	cr_assert_str_eq(c.bind, "127.0.0.1");
	cr_assert_eq(c.frame_max, 131072);
	cr_assert_eq(c.channel_max, 2047);
	cr_assert_eq(c.heartbeat, 60);
	cr_assert_eq(c.max_message_size, 134217728);
	cr_assert_null(c.config_file);
}

Test(config, command_line_overrides_defaults)
{
	static const char *const args[] = { "--port", "5673", "--bind",
	    "0.0.0.0", "--frame-max", "4096", NULL };

	cr_assert_eq(load(args), CONFIG_OK);
	cr_assert_eq(c.port, 5673);
	cr_assert_str_eq(c.bind, "0.0.0.0");
	cr_assert_eq(c.frame_max, 4096);
	cr_assert_eq(c.heartbeat, 60);
}

Test(config, name_equals_value_form_is_accepted)
{
	static const char *const args[] = { "--heartbeat=30",
	    "--data-dir=/var/lib/x=y", NULL };

	cr_assert_eq(load(args), CONFIG_OK);
	cr_assert_eq(c.heartbeat, 30);
	cr_assert_str_eq(c.data_dir, "/var/lib/x=y");
}

Test(config, later_argument_wins)
{
	static const char *const args[] = { "--port", "1", "--port", "2", NULL };

	cr_assert_eq(load(args), CONFIG_OK);
	cr_assert_eq(c.port, 2);
}

Test(config, unknown_option_is_a_usage_error)
{
	static const char *const args[] = { "--no-such-option", "1", NULL };

	cr_assert_eq(load(args), CONFIG_USAGE);
}

Test(config, positional_argument_is_a_usage_error)
{
	static const char *const args[] = { "5672", NULL };

	cr_assert_eq(load(args), CONFIG_USAGE);
}

Test(config, option_without_value_is_a_usage_error)
{
	static const char *const args[] = { "--port", NULL };

	cr_assert_eq(load(args), CONFIG_USAGE);
}

Test(config, value_below_range_is_a_usage_error)
{
	static const char *const args[] = { "--frame-max", "100", NULL };

	cr_assert_eq(load(args), CONFIG_USAGE);
}

Test(config, value_above_range_is_a_usage_error)
{
	static const char *const args[] = { "--port", "65536", NULL };

	cr_assert_eq(load(args), CONFIG_USAGE);
}

Test(config, range_bounds_are_inclusive)
{
	static const char *const args[] = { "--frame-max", "4096",
	    "--channel-max", "65535", "--heartbeat", "0", NULL };

	cr_assert_eq(load(args), CONFIG_OK);
	cr_assert_eq(c.frame_max, 4096);
	cr_assert_eq(c.channel_max, 65535);
	cr_assert_eq(c.heartbeat, 0);
}

Test(config, non_number_is_a_usage_error)
{
	static const char *const args[] = { "--port", "abc", NULL };

	cr_assert_eq(load(args), CONFIG_USAGE);
}

Test(config, number_with_trailing_junk_is_a_usage_error)
{
	static const char *const args[] = { "--port", "12x", NULL };

	cr_assert_eq(load(args), CONFIG_USAGE);
}

Test(config, negative_number_is_a_usage_error)
{
	static const char *const args[] = { "--heartbeat", "-1", NULL };

	cr_assert_eq(load(args), CONFIG_USAGE);
}

Test(config, empty_number_is_a_usage_error)
{
	static const char *const args[] = { "--heartbeat=", NULL };

	cr_assert_eq(load(args), CONFIG_USAGE);
}

Test(config, number_past_uint64_is_a_usage_error)
{
	static const char *const args[] = { "--max-message-size",
	    "18446744073709551617", NULL };

	cr_assert_eq(load(args), CONFIG_USAGE);
}

Test(config, unknown_log_level_is_a_usage_error)
{
	static const char *const args[] = { "--log-level", "loud", NULL };

	cr_assert_eq(load(args), CONFIG_USAGE);
}

Test(config, config_file_is_applied)
{
	const char *args[] = { "--config", NULL, NULL };

	args[1] = cfgfile(
	    "# a comment\n"
	    "\n"
	    "max_message_size = 1000\n"
	    "   heartbeat=5   \n"
	    "\t# indented comment\n"
	    "bind = 10.0.0.1\n");
	cr_assert_eq(load(args), CONFIG_OK);
	cr_assert_eq(c.max_message_size, 1000);
	cr_assert_eq(c.heartbeat, 5);
	cr_assert_str_eq(c.bind, "10.0.0.1");
	cr_assert_str_eq(c.config_file, cfgpath);
	cr_assert_eq(c.port, 5672);
}

Test(config, config_file_accepts_dashed_keys)
{
	const char *args[] = { "--config", NULL, NULL };

	args[1] = cfgfile("frame-max = 8192\n");
	cr_assert_eq(load(args), CONFIG_OK);
	cr_assert_eq(c.frame_max, 8192);
}

Test(config, command_line_beats_config_file_in_any_order)
{
	const char *args[] = { "--heartbeat", "7", "--config", NULL, NULL };

	args[3] = cfgfile("heartbeat = 5\nport = 1234\n");
	cr_assert_eq(load(args), CONFIG_OK);
	cr_assert_eq(c.heartbeat, 7);
	cr_assert_eq(c.port, 1234);
}

Test(config, config_file_given_as_name_equals_value_is_applied)
{
	char arg[80];
	const char *args[] = { arg, NULL };

	snprintf(arg, sizeof(arg), "--config=%s", cfgfile("heartbeat = 5\n"));
	cr_assert_eq(load(args), CONFIG_OK);
	cr_assert_eq(c.heartbeat, 5);
}

Test(config, config_file_line_without_equals_is_a_usage_error)
{
	const char *args[] = { "--config", NULL, NULL };

	args[1] = cfgfile("heartbeat 5\n");
	cr_assert_eq(load(args), CONFIG_USAGE);
}

Test(config, config_file_unknown_key_is_a_usage_error)
{
	const char *args[] = { "--config", NULL, NULL };

	args[1] = cfgfile("no_such_key = 5\n");
	cr_assert_eq(load(args), CONFIG_USAGE);
}

Test(config, config_file_bad_value_is_a_usage_error)
{
	const char *args[] = { "--config", NULL, NULL };

	args[1] = cfgfile("frame_max = 100\n");
	cr_assert_eq(load(args), CONFIG_USAGE);
}

Test(config, missing_config_file_is_a_usage_error)
{
	static const char *const args[] = { "--config",
	    "/nonexistent/warren.conf", NULL };

	cr_assert_eq(load(args), CONFIG_USAGE);
}

Test(config, help_exits_successfully)
{
	static const char *const args[] = { "--help", NULL };

	cr_assert_eq(load(args), CONFIG_EXIT_OK);
}

Test(config, version_exits_successfully)
{
	static const char *const args[] = { "--version", NULL };

	cr_assert_eq(load(args), CONFIG_EXIT_OK);
}

Test(config, config_set_reports_why)
{
	const char *why = NULL;

	cr_assert_eq(config_load(&c, 1, (char *[]){ "warrend", NULL }),
	    CONFIG_OK);
	cr_assert_eq(config_set(&c, "port", "70000", &why), -1);
	cr_assert_not_null(why);
	cr_assert_eq(c.port, 5672, "a rejected value leaves the old one");
	cr_assert_eq(config_set(&c, "port", "80", &why), 0);
	cr_assert_eq(c.port, 80);
}
