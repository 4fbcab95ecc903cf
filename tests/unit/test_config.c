#include "autoconf.h"

/*
 * Unit tests for option parsing (server/config.c): defaults, the command
 * line, the config file and their precedence.
 */
#include <criterion/criterion.h>

#include <stdbool.h>
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

/* Variables config_load reads must not leak in from the caller's shell. */
static void
setup(void)
{
	static const char *const vars[] = { "WARREN_CONFIG_FILE",
	    "RABBITMQ_CONFIG_FILE", "RABBITMQ_DEFAULT_USER",
	    "RABBITMQ_DEFAULT_PASS", "RABBITMQ_DEFAULT_VHOST",
	    "RABBITMQ_NODENAME", "WARREN_HEARTBEAT", "WARREN_PORT",
	    "WARREN_DEFAULT_USER", "WARREN_DATA_DIR" };

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

TestSuite(config, .init = setup, .fini = teardown);

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

/* ---- warrend.conf: RabbitMQ's format and keys ------------------------- */

static char errpath[64];

/* Sends stderr to a temporary file, read back by errors(). */
static void
capture_stderr(void)
{
	int fd;

	snprintf(errpath, sizeof(errpath), "/tmp/warren-test-err.XXXXXX");
	cr_assert_neq(fd = mkstemp(errpath), -1);
	close(fd);
	cr_assert_not_null(freopen(errpath, "w", stderr));
}

/* What was written to stderr since capture_stderr (static buffer). */
static const char *
errors(void)
{
	static char buf[8192];
	FILE *f;
	size_t n;

	fflush(stderr);
	cr_assert_not_null(f = fopen(errpath, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(errpath);
	return buf;
}

/* Loads text as the config file named with --config. */
static enum config_result
load_file(const char *text)
{
	const char *args[] = { "--config", NULL, NULL };

	args[1] = cfgfile(text);
	return load(args);
}

/* The expected "PATH:LINE: " prefix of a message about line n. */
static const char *
at_line(int n)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "%s:%d: ", cfgpath, n);
	return buf;
}

Test(config, rabbitmq_conf_sample_maps_onto_options)
{
	cr_assert_eq(load_file(
	    "# a rabbitmq.conf as RabbitMQ's docs show them\n"
	    "listeners.tcp.default = 5673\n"
	    "listeners.ssl.default = 5674\n"
	    "ssl_options.cacertfile = /etc/rabbitmq/ca.pem\n"
	    "ssl_options.certfile   = /etc/rabbitmq/server.pem\n"
	    "ssl_options.keyfile    = /etc/rabbitmq/server.key\n"
	    "ssl_options.verify     = verify_peer\n"
	    "ssl_options.fail_if_no_peer_cert = true\n"
	    "ssl_cert_login_from = distinguished_name\n"
	    "default_user = app\n"
	    "default_pass = s3cret\n"
	    "default_vhost = app-vhost\n"
	    "heartbeat = 30\n"
	    "frame_max = 65536\n"
	    "channel_max = 100\n"
	    "max_message_size = 1048576\n"
	    "collect_statistics_interval = 10000\n"
	    "vm_memory_high_watermark.relative = 0.6\n"
	    "disk_free_limit.absolute = 2GB\n"
	    "management.tcp.port = 15673\n"
	    "management.ssl.port = 15671\n"
	    "prometheus.tcp.port = 15693\n"
	    "load_definitions = /etc/rabbitmq/definitions.json\n"
	    "log.console.level = debug\n"), CONFIG_OK);
	cr_assert_eq(c.port, 5673);
	cr_assert_eq(c.tls_port, 5674);
	cr_assert_str_eq(c.tls_ca, "/etc/rabbitmq/ca.pem");
	cr_assert_str_eq(c.tls_cert, "/etc/rabbitmq/server.pem");
	cr_assert_str_eq(c.tls_key, "/etc/rabbitmq/server.key");
	cr_assert_eq(c.tls_verify_peer, 1);
	cr_assert_eq(c.tls_fail_if_no_peer_cert, 1);
	cr_assert_str_eq(c.tls_cert_login_from, "distinguished_name");
	cr_assert_str_eq(c.default_user, "app");
	cr_assert_str_eq(c.default_pass, "s3cret");
	cr_assert_str_eq(c.default_vhost, "app-vhost");
	cr_assert_eq(c.heartbeat, 30);
	cr_assert_eq(c.frame_max, 65536);
	cr_assert_eq(c.channel_max, 100);
	cr_assert_eq(c.max_message_size, 1048576);
	cr_assert_eq(c.collect_statistics_interval, 10000);
	cr_assert_str_eq(c.memory_high_watermark_relative, "0.6");
	cr_assert_float_eq(config_memory_relative(&c), 0.6, 1e-9);
	cr_assert_eq(c.disk_free_limit, 2000000000);
	cr_assert_eq(c.admin_port, 15673);
	cr_assert_str_eq(c.admin_tls_port, "15671");
	cr_assert_str_eq(c.prometheus_port, "15693");
	cr_assert_str_eq(c.load_definitions, "/etc/rabbitmq/definitions.json");
	cr_assert_str_eq(c.log_level, "debug");
	cr_assert_eq(c.warnings, 0);
	cr_assert_str_eq(c.bind, "127.0.0.1", "a bare port keeps the address");
}

Test(config, listener_takes_an_address_and_port)
{
	cr_assert_eq(load_file("listeners.tcp.default = 0.0.0.0:5680\n"),
	    CONFIG_OK);
	cr_assert_str_eq(c.bind, "0.0.0.0");
	cr_assert_eq(c.port, 5680);
}

Test(config, listener_takes_an_ipv6_address_with_or_without_brackets)
{
	cr_assert_eq(load_file("listeners.tcp.local_v6 = ::1:5681\n"),
	    CONFIG_OK);
	cr_assert_str_eq(c.bind, "::1");
	cr_assert_eq(c.port, 5681);
	config_free(&c);
	cr_assert_eq(load_file("listeners.ssl.default = [::1]:5682\n"),
	    CONFIG_OK);
	cr_assert_str_eq(c.bind, "::1");
	cr_assert_eq(c.tls_port, 5682);
}

Test(config, listener_port_out_of_range_names_file_line_and_key)
{
	capture_stderr();
	cr_assert_eq(load_file("\nlisteners.tcp.default = 70000\n"),
	    CONFIG_USAGE);
	cr_assert_not_null(strstr(errors(), at_line(2)));
}

Test(config, second_listener_with_another_port_warns)
{
	capture_stderr();
	cr_assert_eq(load_file("listeners.tcp.a = 5680\n"
	    "listeners.tcp.b = 5681\n"), CONFIG_OK);
	cr_assert_eq(c.port, 5681);
	cr_assert_eq(c.warnings, 1);
	cr_assert_not_null(strstr(errors(), at_line(2)));
}

Test(config, same_certificate_for_amqps_and_https_does_not_warn)
{
	cr_assert_eq(load_file("ssl_options.certfile = /a.pem\n"
	    "management.ssl.certfile = /a.pem\n"), CONFIG_OK);
	cr_assert_eq(c.warnings, 0);
	cr_assert_str_eq(c.tls_cert, "/a.pem");
}

Test(config, listeners_tcp_none_turns_the_plain_listener_off)
{
	capture_stderr();
	cr_assert_eq(load_file("listeners.tcp = none\n"), CONFIG_OK);
	cr_assert_eq(c.warnings, 0);
	cr_assert_eq(c.tcp_listener, 0);
	config_free(&c);
	cr_assert_eq(load_file("listeners.tcp = 5672\n"), CONFIG_USAGE);
	config_free(&c);
	cr_assert_eq(load_file("listeners.ssl = none\n"), CONFIG_OK);
	cr_assert_eq(c.warnings, 1, "amqps opens with a certificate");
}

Test(config, sizes_take_rabbitmq_units)
{
	static const struct {
		const char	*text;
		uint64_t	 bytes;
	} sizes[] = {
		{ "1000", 1000 }, { "2kB", 2000 }, { "2KB", 2000 },
		{ "512MB", 512000000 }, { "1GB", 1000000000 },
		{ "3k", 3072 }, { "3K", 3072 }, { "4KiB", 4096 },
		{ "4kiB", 4096 }, { "5M", 5242880 }, { "5MiB", 5242880 },
		{ "1GiB", 1073741824 }, { "1G", 1073741824 },
		{ "2gb", 2000000000 },
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		cr_assert_eq(config_parse_size(sizes[i].text, &v), 0,
		    "%s", sizes[i].text);
		cr_assert_eq(v, sizes[i].bytes, "%s", sizes[i].text);
	}
}

Test(config, sizes_refuse_what_rabbitmq_refuses)
{
	static const char *const bad[] = { "1.5GB", "1 GB", "1TB", "GB",
	    "-1", "1Gi", "1gB", "", "18446744073709551615GB" };
	uint64_t v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(config_parse_size(bad[i], &v), -1, "%s", bad[i]);
}

Test(config, memory_and_disk_limits_take_units_from_file_and_flags)
{
	const char *args[] = { "--config", NULL, "--max-message-size", "1MiB",
	    NULL };

	args[1] = cfgfile("vm_memory_high_watermark.absolute = 1GiB\n"
	    "disk_free_limit.absolute = 512MB\n");
	cr_assert_eq(load(args), CONFIG_OK);
	cr_assert_eq(c.memory_high_watermark, 1073741824);
	cr_assert_eq(c.disk_free_limit, 512000000);
	cr_assert_eq(c.max_message_size, 1048576);
}

Test(config, size_past_the_range_is_an_error)
{
	cr_assert_eq(load_file("max_message_size = 1GB\n"), CONFIG_USAGE);
}

Test(config, relative_watermark_must_be_a_fraction)
{
	cr_assert_eq(load_file("vm_memory_high_watermark.relative = 1.5\n"),
	    CONFIG_USAGE);
	config_free(&c);
	cr_assert_eq(load_file("vm_memory_high_watermark.relative = x\n"),
	    CONFIG_USAGE);
}

Test(config, hash_starts_a_comment_anywhere)
{
	cr_assert_eq(load_file("default_user = alice # the app's user\n"
	    "default_pass = ab#cd\n"
	    "   # an indented comment\n"), CONFIG_OK);
	cr_assert_str_eq(c.default_user, "alice");
	cr_assert_str_eq(c.default_pass, "ab", "compat: cut at '#'");
}

Test(config, blank_space_and_crlf_are_ignored)
{
	cr_assert_eq(load_file("\t heartbeat\t=\t 42 \r\n\r\n"
	    "default_user=bob\r\n"), CONFIG_OK);
	cr_assert_eq(c.heartbeat, 42);
	cr_assert_str_eq(c.default_user, "bob");
}

Test(config, unknown_key_is_an_error_naming_file_and_line)
{
	capture_stderr();
	cr_assert_eq(load_file("heartbeat = 5\n# x\nno.such.key = 1\n"),
	    CONFIG_USAGE);
	cr_assert_not_null(strstr(errors(), at_line(3)));
}

Test(config, unsupported_rabbitmq_key_is_a_warning_naming_file_and_line)
{
	const char *err;

	capture_stderr();
	cr_assert_eq(load_file("heartbeat = 5\n"
	    "cluster_formation.peer_discovery_backend = classic_config\n"
	    "channel_operation_timeout = 15000\n"
	    "mqtt.listeners.tcp.default = 1883\n"
	    "queue_master_locator = min-masters\n"), CONFIG_OK);
	cr_assert_eq(c.warnings, 4);
	cr_assert_eq(c.heartbeat, 5);
	err = errors();
	cr_assert_not_null(strstr(err, at_line(2)));
	cr_assert_not_null(strstr(err, "channel_operation_timeout"));
	cr_assert_not_null(strstr(err, at_line(5)));
}

Test(config, out_of_range_value_names_file_line_and_key)
{
	const char *err;

	capture_stderr();
	cr_assert_eq(load_file("\n\nheartbeat = 70000\n"), CONFIG_USAGE);
	err = errors();
	cr_assert_not_null(strstr(err, at_line(3)), "%s", err);
	cr_assert_not_null(strstr(err, "heartbeat = 70000"), "%s", err);
	cr_assert_not_null(strstr(err, "out of range"), "%s", err);
}

Test(config, malformed_lines_are_errors)
{
	static const char *const bad[] = { "= 5\n", "a..b = 1\n",
	    "heartbeat =\n", "key with spaces = 1\n", ".a = 1\n",
	    "ssl_options.verify = maybe\n",
	    "ssl_options.fail_if_no_peer_cert = yes\n",
	    "default_user_tags.administrator = 1\n",
	    "log.console.level = loud\n", "durability = sometimes\n" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(load_file(bad[i]), CONFIG_USAGE, "%s", bad[i]);
		config_free(&c);
		unlink(cfgpath);
	}
	memset(&c, 0, sizeof(c));
}

Test(config, default_user_tags_build_a_list_as_rabbitmq)
{
	cr_assert_eq(load_file("default_user_tags.administrator = true\n"
	    "default_user_tags.monitoring = true\n"
	    "default_user_tags.management = false\n"), CONFIG_OK);
	cr_assert_str_eq(c.default_user_tags, "administrator,monitoring");
	cr_assert_eq(c.warnings, 0);
	config_free(&c);
	cr_assert_eq(load_file("default_user_tags.monitoring = true\n"),
	    CONFIG_OK);
	cr_assert_str_eq(c.default_user_tags, "monitoring",
	    "the first key replaces the default list");
}

Test(config, loopback_users_as_rabbitmq)
{
	cr_assert_eq(load_file("loopback_users.guest = false\n"), CONFIG_OK);
	cr_assert_str_eq(c.loopback_users, "");
	config_free(&c);
	cr_assert_eq(load_file("loopback_users.alice = true\n"), CONFIG_OK);
	cr_assert_str_eq(c.loopback_users, "alice");
	config_free(&c);
	cr_assert_eq(load_file("loopback_users = none\n"), CONFIG_OK);
	cr_assert_str_eq(c.loopback_users, "");
	config_free(&c);
	cr_assert_eq(load_file("loopback_users = guest,bob\n"), CONFIG_OK);
	cr_assert_str_eq(c.loopback_users, "guest,bob");
}

Test(config, handshake_timeout_is_rabbitmqs_in_milliseconds)
{
	cr_assert_eq(load_file("handshake_timeout = 15500\n"), CONFIG_OK);
	cr_assert_eq(c.handshake_timeout, 16);
	config_free(&c);
	cr_assert_eq(load_file("handshake-timeout = 15\n"), CONFIG_OK);
	cr_assert_eq(c.handshake_timeout, 15, "warren's own key: seconds");
}

Test(config, infinity_means_no_limit)
{
	cr_assert_eq(load_file("connection_max = infinity\n"
	    "consumer_max_per_channel = 5\n"), CONFIG_OK);
	cr_assert_eq(c.connection_max, 0);
	cr_assert_eq(c.consumer_max_per_channel, 5);
}

Test(config, consumer_timeout_maps_in_milliseconds)
{
	cr_assert_eq(load_file("heartbeat = 5\n"), CONFIG_OK);
	cr_assert_eq(c.consumer_timeout, 1800000, "RabbitMQ's default");
	config_free(&c);
	cr_assert_eq(load_file("consumer_timeout = 900000\n"), CONFIG_OK);
	cr_assert_eq(c.consumer_timeout, 900000);
	cr_assert_eq(c.warnings, 0);
}

Test(config, log_keys_map_and_warn)
{
	cr_assert_eq(load_file("log.console = false\n"
	    "log.console.level = warning\n"
	    "log.console.formatter = json\n"
	    "log.file = false\n"), CONFIG_OK);
	cr_assert_str_eq(c.log_level, "warn");
	cr_assert_eq(c.log_console, 0);
	cr_assert_str_eq(c.log_console_format, "json");
	cr_assert_str_eq(c.log_file, "none");
	cr_assert_eq(c.warnings, 0);
	config_free(&c);
	capture_stderr();
	cr_assert_eq(load_file("log.file = /var/log/rabbit.log\n"
	    "log.file.level = critical\n"
	    "log.file.formatter = json\n"
	    "log.file.rotation.count = 5\n"), CONFIG_OK);
	cr_assert_str_eq(c.log_file, "/var/log/rabbit.log");
	cr_assert_str_eq(c.log_file_level, "error");
	cr_assert_str_eq(c.log_file_format, "json");
	cr_assert_eq(c.warnings, 1, "rotation is logrotate's job");
	cr_assert_not_null(strstr(errors(), at_line(4)));
	config_free(&c);
	cr_assert_eq(load_file("log.file.formatter = xml\n"), CONFIG_USAGE);
}

Test(config, management_and_prometheus_addresses_share_bind)
{
	capture_stderr();
	cr_assert_eq(load_file("listeners.tcp.default = 10.0.0.1:5672\n"
	    "management.tcp.ip = 10.0.0.1\n"
	    "prometheus.tcp.ip = 10.0.0.2\n"), CONFIG_OK);
	cr_assert_str_eq(c.bind, "10.0.0.2");
	cr_assert_eq(c.warnings, 1, "one address for all listeners");
}

Test(config, warren_options_are_keys_under_their_own_names)
{
	cr_assert_eq(load_file("data_dir = /var/lib/warren\n"
	    "durability = os\n"
	    "binding-max-per-queue = 7\n"
	    "log_level = error\n"), CONFIG_OK);
	cr_assert_str_eq(c.data_dir, "/var/lib/warren");
	cr_assert_str_eq(c.durability, "os");
	cr_assert_eq(c.binding_max_per_queue, 7);
	cr_assert_str_eq(c.log_level, "error");
}

/* ---- precedence: flag > env > file > default --------------------------- */

Test(config, precedence_flag_over_env_over_file_over_default)
{
	const char *file_only[] = { "--config", NULL, NULL };
	const char *with_flag[] = { "--config", NULL, "--heartbeat", "7",
	    NULL };
	const char *path = cfgfile("heartbeat = 5\nport = 1234\n");

	file_only[1] = with_flag[1] = path;
	cr_assert_eq(load(file_only), CONFIG_OK);
	cr_assert_eq(c.heartbeat, 5);
	cr_assert_eq(c.frame_max, 131072);
	cr_assert_not_null(strstr(c.source[CONFIG_OPT_heartbeat], ":1"));
	cr_assert_str_eq(c.source[CONFIG_OPT_frame_max], "default");
	config_free(&c);

	setenv("WARREN_HEARTBEAT", "6", 1);
	cr_assert_eq(load(file_only), CONFIG_OK);
	cr_assert_eq(c.heartbeat, 6);
	cr_assert_eq(c.port, 1234);
	cr_assert_str_eq(c.source[CONFIG_OPT_heartbeat],
	    "env WARREN_HEARTBEAT");
	config_free(&c);

	cr_assert_eq(load(with_flag), CONFIG_OK);
	cr_assert_eq(c.heartbeat, 7);
	cr_assert_str_eq(c.source[CONFIG_OPT_heartbeat], "flag --heartbeat");
}

Test(config, rabbitmq_variables_override_the_file)
{
	setenv("RABBITMQ_DEFAULT_USER", "envuser", 1);
	setenv("RABBITMQ_DEFAULT_PASS", "envpass", 1);
	setenv("RABBITMQ_DEFAULT_VHOST", "envvhost", 1);
	setenv("RABBITMQ_NODENAME", "rabbit@envhost", 1);
	cr_assert_eq(load_file("default_user = fileuser\n"
	    "node_name = rabbit@filehost\n"), CONFIG_OK);
	cr_assert_str_eq(c.default_user, "envuser");
	cr_assert_str_eq(c.default_pass, "envpass");
	cr_assert_str_eq(c.default_vhost, "envvhost");
	cr_assert_str_eq(c.node_name, "rabbit@envhost");
}

Test(config, warren_variable_wins_over_rabbitmq_variable)
{
	static const char *const args[] = { NULL };

	setenv("RABBITMQ_DEFAULT_USER", "rabbit", 1);
	setenv("WARREN_DEFAULT_USER", "warren", 1);
	cr_assert_eq(load(args), CONFIG_OK);
	cr_assert_str_eq(c.default_user, "warren");
}

Test(config, empty_variable_counts_as_unset)
{
	static const char *const args[] = { NULL };

	setenv("WARREN_PORT", "", 1);
	cr_assert_eq(load(args), CONFIG_OK);
	cr_assert_eq(c.port, 5672);
}

Test(config, bad_variable_is_a_usage_error)
{
	static const char *const args[] = { NULL };

	setenv("WARREN_PORT", "http", 1);
	cr_assert_eq(load(args), CONFIG_USAGE);
}

Test(config, config_file_from_the_environment)
{
	static const char *const args[] = { NULL };

	setenv("RABBITMQ_CONFIG_FILE", cfgfile("heartbeat = 11\n"), 1);
	cr_assert_eq(load(args), CONFIG_OK);
	cr_assert_eq(c.heartbeat, 11);
	cr_assert_str_eq(c.config_file, cfgpath);
	config_free(&c);
	setenv("WARREN_CONFIG_FILE", "/nonexistent/warrend.conf", 1);
	cr_assert_eq(load(args), CONFIG_USAGE,
	    "WARREN_CONFIG_FILE comes first, and a named file must exist");
}

Test(config, config_flag_wins_over_the_environment)
{
	const char *args[] = { "--config", NULL, NULL };

	setenv("WARREN_CONFIG_FILE", "/nonexistent/warrend.conf", 1);
	args[1] = cfgfile("heartbeat = 12\n");
	cr_assert_eq(load(args), CONFIG_OK);
	cr_assert_eq(c.heartbeat, 12);
}

/* ---- --print-config ---------------------------------------------------- */

Test(config, print_config_shows_values_and_sources_and_reads_back)
{
	char outpath[64], text[16384], *line;
	const char *args[] = { "--config", NULL, "--port", "6000",
	    "--print-config", NULL };
	const char *back[] = { "--config", NULL, NULL };
	FILE *f;
	size_t n;
	int fd;

	setenv("WARREN_DATA_DIR", "/srv/warren", 1);
	args[1] = cfgfile("heartbeat = 9\ndefault_pass = hunter2\n"
	    "disk_free_limit.absolute = 1GB\n");
	snprintf(outpath, sizeof(outpath), "/tmp/warren-test-out.XXXXXX");
	cr_assert_neq(fd = mkstemp(outpath), -1);
	close(fd);
	cr_assert_not_null(freopen(outpath, "w", stdout));
	cr_assert_eq(load(args), CONFIG_EXIT_OK);
	fflush(stdout);
	cr_assert_not_null(f = fopen(outpath, "r"));
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	cr_assert_not_null(strstr(text, "port = 6000 # flag --port\n"), "%s",
	    text);
	cr_assert_not_null(strstr(text, "data_dir = /srv/warren # env "
	    "WARREN_DATA_DIR\n"));
	line = strstr(text, "heartbeat = 9 # file ");
	cr_assert_not_null(line);
	cr_assert_not_null(strstr(text, "frame_max = 131072 # default\n"));
	cr_assert_not_null(strstr(text, "disk_free_limit = 1000000000 # file"));
	cr_assert_null(strstr(text, "hunter2"), "the password is masked");
	cr_assert_not_null(strstr(text, "default_pass = ******** #"));
	for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
		const char *name = config_option_at(i)->name;
		char key[96];
		size_t k;

		/* One line per option, under its '_' key but this one. */
		key[0] = '\n';
		for (k = 0; name[k] != '\0' && k + 5 < sizeof(key); k++)
			key[k + 1] = name[k] == '-' &&
			    strcmp(name, "handshake-timeout") != 0 ? '_' :
			    name[k];
		snprintf(key + k + 1, sizeof(key) - k - 1, " = ");
		cr_assert_not_null(strstr(text, key), "no line for %s", name);
	}
	config_free(&c);
	unsetenv("WARREN_DATA_DIR");

	/* The output is a warrend.conf: read it back. */
	back[1] = outpath;
	cr_assert_eq(load(back), CONFIG_OK);
	cr_assert_eq(c.port, 6000);
	cr_assert_eq(c.heartbeat, 9);
	cr_assert_str_eq(c.data_dir, "/srv/warren");
	cr_assert_eq(c.disk_free_limit, 1000000000);
	cr_assert_eq(c.warnings, 0);
	unlink(outpath);
}
