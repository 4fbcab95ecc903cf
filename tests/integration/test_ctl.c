/*
 * warrenctl against a real warrend: every command, each error class with
 * its exit code, the config file and environment precedence, --password -
 * on stdin, HTTPS to the admin TLS listener, ping and await_startup.
 * Output layout (tables, golden files) is ctl_out's own test; these read
 * --format json or tsv and check the data.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <amqp.h>
#include <criterion/criterion.h>

#include "tests/integration/harness.h"

#ifndef WARRENCTL
#error "WARRENCTL must name the built warrenctl (see Makefile.am)"
#endif
#ifndef MAKE_CERTS
#error "MAKE_CERTS must name tests/data/make-certs (see Makefile.am)"
#endif

static struct hbroker	b;
static char		home[256];	/* HOME for warrenctl: no user config */
static char		out[262144], err[16384];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(path);
}

static void
setup(void)
{
	static const char *const envs[] = { "WARRENCTL_HOST", "WARRENCTL_PORT",
	    "WARRENCTL_USERNAME", "WARRENCTL_PASSWORD", "WARRENCTL_VHOST",
	    "WARRENCTL_BASE_URI", "WARRENCTL_PATH_PREFIX", "WARRENCTL_TLS",
	    "WARRENCTL_INSECURE", "WARRENCTL_CA_CERTIFICATE",
	    "WARRENCTL_TIMEOUT", "WARRENCTL_NODE", "WARRENCTL_CONFIG",
	    "XDG_CONFIG_HOME", NULL };
	const char *tmp = getenv("TMPDIR");

	snprintf(home, sizeof(home), "%s/warrenctl-home.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(home), "mkdtemp: %s", strerror(errno));
	setenv("HOME", home, 1);
	setenv("NO_COLOR", "1", 1);
	for (size_t i = 0; envs[i] != NULL; i++)
		unsetenv(envs[i]);
}

static void	fake_stop(void);

static void
teardown(void)
{
	fake_stop();
	hb_stop(&b);
	if (home[0] != '\0')
		nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(ctl, .init = setup, .fini = teardown, .timeout = 120);

static void
start(void)
{
	hb_start(&b, NULL);
	hb_require_warrend(&b);
}

/* Runs a shell command line; fills out and err; returns the status. */
static int
sh(const char *fmt, ...)
{
	char	cmd[8192];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = err[0] = '\0';
	return hb_run((const char *const[]){ "/bin/sh", "-c", cmd, NULL },
	    out, sizeof(out), err, sizeof(err));
}

/* warrenctl -P <admin port> <args>, through the shell. */
static int
ctl(const char *fmt, ...)
{
	char	args[7000];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return sh("%s -P %d %s", WARRENCTL, b.admin_port, args);
}

#define CTL_OK(...) do {						\
	int rc_ = ctl(__VA_ARGS__);					\
	cr_assert_eq(rc_, 0, "warrenctl exited %d: %s%s", rc_, err, out); \
} while (0)

static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p != NULL && *p != '\0'; ) {
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return true;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return false;
}

/* A TSV listing's rows: what follows its header line. */
static const char *
rows(void)
{
	const char *nl = strchr(out, '\n');

	return nl != NULL ? nl + 1 : "";
}

static int
count_lines(const char *text)
{
	int n = 0;

	for (; *text != '\0'; text++)
		n += *text == '\n';
	return n;
}

Test(ctl, ping_answers_one_line_and_await_startup_returns)
{
	start();
	CTL_OK("ping");
	cr_assert_eq(count_lines(out), 1, "ping: %s", out);
	cr_assert_not_null(strstr(out, "Ping succeeded"), "ping: %s", out);
	CTL_OK("--timeout 5 await_startup");
	cr_assert_not_null(strstr(out, "answers"), "await_startup: %s", out);
}

Test(ctl, ping_and_await_startup_fail_69_when_nothing_listens)
{
	start();
	/* The AMQP port answers TCP but not HTTP; pick a closed one. */
	cr_assert_eq(sh("%s -P 1 ping", WARRENCTL), 69, "%s", err);
	cr_assert_not_null(strstr(err, "warrenctl: cannot reach"), "%s", err);
	cr_assert_eq(count_lines(err), 1, "%s", err);
	cr_assert_eq(sh("%s -P 1 --timeout 1 -q await_startup", WARRENCTL),
	    69, "%s", err);
	cr_assert_not_null(strstr(err, "did not answer within 1 s"), "%s",
	    err);
}

Test(ctl, queues_declare_list_show_publish_get_purge_delete)
{
	start();
	CTL_OK("queues declare --name q1");
	CTL_OK("queues declare --name q2 --type quorum --durable true "
	    "--arguments '{\"x-max-length\":10}'");
	CTL_OK("queues list --format tsv --columns name,type,durable");
	cr_assert(has_line(out, "q1\tclassic\ttrue"), "%s", out);
	cr_assert(has_line(out, "q2\tquorum\ttrue"), "%s", out);
	CTL_OK("queues list --format json --name Q2");
	cr_assert_not_null(strstr(out, "\"x-max-length\":10"), "%s", out);
	cr_assert_null(strstr(out, "\"q1\""), "the name filter: %s", out);
	CTL_OK("queues list --format tsv --columns name --name '^q[0-9]$' "
	    "--regex");
	cr_assert(has_line(out, "q1") && has_line(out, "q2"), "%s", out);

	CTL_OK("publish message --routing-key q1 --payload hello --format tsv");
	cr_assert(has_line(out, "routed\ttrue"), "%s", out);
	CTL_OK("publish message --exchange amq.direct --routing-key nowhere "
	    "--payload x --format tsv");
	cr_assert(has_line(out, "routed\tfalse"), "%s", out);
	CTL_OK("queues show --name q1 --format tsv");
	cr_assert(has_line(out, "messages\t1"), "%s", out);
	CTL_OK("get messages --queue q1 --count 5 --format tsv "
	    "--columns payload,routing_key,redelivered");
	cr_assert(has_line(out, "hello\tq1\tfalse"), "%s", out);
	/* ack_requeue_true (the default) left it there. */
	CTL_OK("get messages --queue q1 --ackmode ack_requeue_false "
	    "--format tsv --columns payload");
	cr_assert(has_line(out, "hello"), "%s", out);
	CTL_OK("get messages --queue q1 --format tsv --columns payload");
	cr_assert_str_eq(rows(), "", "the message was acked: %s", out);

	CTL_OK("publish message --routing-key q1 --payload again");
	CTL_OK("queues purge --name q1");
	CTL_OK("queues show --name q1 --format tsv");
	cr_assert(has_line(out, "messages\t0"), "%s", out);

	CTL_OK("queues delete --name q1");
	cr_assert_eq(ctl("queues show --name q1"), 65);
	cr_assert_str_eq(err, "warrenctl: queue 'q1' in vhost '/' not "
	    "found\n");
	cr_assert_eq(ctl("queues delete --name q1"), 65);
	cr_assert_str_eq(err, "warrenctl: queue 'q1' in vhost '/' not "
	    "found\n");
	CTL_OK("queues delete --name q1 --idempotently");
	cr_assert_eq(ctl("-V nosuch queues declare --name q1"), 65);
	cr_assert_str_eq(err, "warrenctl: vhost 'nosuch' not found\n");
}

Test(ctl, listings_go_page_by_page)
{
	start();
	for (int i = 0; i < 7; i++)
		CTL_OK("queues declare --name pq%d", i);
	CTL_OK("queues list --page-size 2 --format tsv --columns name");
	cr_assert_eq(count_lines(rows()), 7, "every page: %s", out);
	for (int i = 0; i < 7; i++) {
		char want[16];

		snprintf(want, sizeof(want), "pq%d", i);
		cr_assert(has_line(out, want), "no %s in %s", want, out);
	}
	CTL_OK("queues list --page 2 --page-size 3 --format tsv --columns "
	    "name");
	cr_assert_str_eq(rows(), "pq3\npq4\npq5\n");
	cr_assert_eq(ctl("queues list --page-size 501"), 64);
	CTL_OK("--vhost / exchanges list --format tsv --columns name,type "
	    "--name amq.f");
	cr_assert_str_eq(rows(), "amq.fanout\tfanout\n");
	CTL_OK("vhosts list --format tsv --columns name --page-size 1");
	cr_assert(has_line(out, "/"), "%s", out);
}

Test(ctl, exchanges_and_bindings)
{
	start();
	CTL_OK("exchanges declare --name ev --type topic --durable false");
	CTL_OK("queues declare --name orders");
	CTL_OK("exchanges show --name ev --format tsv");
	cr_assert(has_line(out, "type\ttopic"), "%s", out);
	cr_assert(has_line(out, "durable\tfalse"), "%s", out);
	CTL_OK("exchanges bind --source ev --destination orders "
	    "--routing-key 'order.*'");
	CTL_OK("exchanges declare --name ev2 --type fanout");
	CTL_OK("exchanges bind --source ev --destination ev2 "
	    "--destination-type exchange --routing-key '#'");
	CTL_OK("bindings list --format tsv --columns "
	    "source,destination,destination_type,routing_key");
	cr_assert(has_line(out, "ev\torders\tqueue\torder.*"), "%s", out);
	cr_assert(has_line(out, "ev\tev2\texchange\t#"), "%s", out);
	CTL_OK("publish message --exchange ev --routing-key order.new "
	    "--payload p --format tsv");
	cr_assert(has_line(out, "routed\ttrue"), "%s", out);

	CTL_OK("exchanges unbind --source ev --destination orders "
	    "--routing-key 'order.*'");
	CTL_OK("exchanges unbind --source ev --destination ev2 "
	    "--destination-type exchange --routing-key '#'");
	CTL_OK("bindings list --format tsv --columns source");
	cr_assert(!has_line(out, "ev"), "bindings left: %s", out);
	cr_assert_eq(ctl("exchanges unbind --source ev --destination orders "
	    "--routing-key 'order.*'"), 65);
	cr_assert_not_null(strstr(err, "not found"), "%s", err);
	CTL_OK("exchanges unbind --source ev --destination orders "
	    "--routing-key 'order.*' --idempotently");
	CTL_OK("exchanges delete --name ev");
	cr_assert_eq(ctl("exchanges show --name ev"), 65);
	cr_assert_str_eq(err, "warrenctl: exchange 'ev' in vhost '/' not "
	    "found\n");
	CTL_OK("exchanges delete --name ev --idempotently");
	cr_assert_eq(ctl("exchanges declare --name bad --type nosuch"), 65,
	    "%s", err);
}

Test(ctl, connections_channels_consumers_and_close)
{
	amqp_connection_state_t c;
	char name[512];

	start();
	c = hb_connect(&b);
	amqp_queue_declare(c, 1, amqp_cstring_bytes("cq"), 0, 0, 0, 0,
	    amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	amqp_basic_consume(c, 1, amqp_cstring_bytes("cq"),
	    amqp_cstring_bytes("tag1"), 0, 0, 0, amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);

	CTL_OK("connections list --format tsv --columns name,user,vhost");
	cr_assert_eq(count_lines(rows()), 1, "%s", out);
	cr_assert_not_null(strstr(out, "\tguest\t/"), "%s", out);
	snprintf(name, sizeof(name), "%.500s", rows());
	*strchr(name, '\t') = '\0';
	CTL_OK("--vhost / connections list --format tsv --columns user");
	cr_assert_str_eq(rows(), "guest\n");
	CTL_OK("channels list --format tsv --columns number,consumer_count");
	cr_assert_str_eq(rows(), "1\t1\n");
	CTL_OK("--vhost / channels list --format tsv --columns number");
	cr_assert_str_eq(rows(), "1\n");
	CTL_OK("consumers list --format tsv --columns queue.name,"
	    "consumer_tag");
	cr_assert_str_eq(rows(), "cq\ttag1\n");

	CTL_OK("connections close --name '%s' --reason 'bye now'", name);
	/* The client is told why (X-Reason). */
	{
		amqp_frame_t	 f;
		amqp_connection_close_t *m;

		cr_assert_eq(amqp_simple_wait_frame(c, &f), AMQP_STATUS_OK);
		cr_assert_eq(f.frame_type, AMQP_FRAME_METHOD);
		cr_assert_eq(f.payload.method.id, AMQP_CONNECTION_CLOSE_METHOD);
		m = f.payload.method.decoded;
		cr_assert_not_null(memmem(m->reply_text.bytes,
		    m->reply_text.len, "bye now", 7), "reply text %.*s",
		    (int)m->reply_text.len, (char *)m->reply_text.bytes);
		amqp_send_method(c, 0, AMQP_CONNECTION_CLOSE_OK_METHOD,
		    &(amqp_connection_close_ok_t){ 0 });
	}
	/* Gone once the close handshake is over. */
	for (int i = 0; i < 40; i++) {
		CTL_OK("connections list --format tsv --columns name");
		if (rows()[0] == '\0')
			break;
		usleep(50000);
	}
	cr_assert_str_eq(rows(), "", "still open: %s", out);
	cr_assert_eq(ctl("connections close --name '%s'", name), 65);
	cr_assert_not_null(strstr(err, "not found"), "%s", err);
	CTL_OK("connections close --name '%s' --idempotently", name);
	amqp_destroy_connection(c);
}

Test(ctl, vhosts_users_permissions_and_topic_permissions)
{
	start();
	CTL_OK("vhosts declare --name v2 --description 'second one' "
	    "--default-queue-type classic");
	CTL_OK("vhosts list --format tsv --columns name,description,"
	    "default_queue_type");
	cr_assert(has_line(out, "v2\tsecond one\tclassic"), "%s", out);
	CTL_OK("users declare --name alice --password pw --tags management");
	CTL_OK("users list --format json");
	cr_assert_not_null(strstr(out, "\"name\":\"alice\""), "%s", out);
	cr_assert_not_null(strstr(out, "\"management\""), "%s", out);
	CTL_OK("users list --format tsv --columns name --name ALI");
	cr_assert_str_eq(rows(), "alice\n");
	CTL_OK("--vhost v2 permissions declare --user alice --configure '^a' "
	    "--write '.*' --read '.*'");
	CTL_OK("permissions list --format tsv --columns user,vhost,configure");
	cr_assert(has_line(out, "alice\tv2\t^a"), "%s", out);
	CTL_OK("permissions list --user alice --format tsv --columns vhost");
	cr_assert_str_eq(rows(), "v2\n");
	/* alice can work in v2 now, with her own password. */
	CTL_OK("-u alice -p pw -V v2 queues declare --name aq");
	CTL_OK("-V v2 queues list --format tsv --columns vhost,name");
	cr_assert_str_eq(rows(), "v2\taq\n");
	CTL_OK("-V v2 topic_permissions declare --user alice --exchange "
	    "amq.topic --write '^w' --read '^r'");
	CTL_OK("topic_permissions list --format tsv --columns user,vhost,"
	    "exchange,write,read");
	cr_assert(has_line(out, "alice\tv2\tamq.topic\t^w\t^r"), "%s", out);
	CTL_OK("-V v2 topic_permissions delete --user alice");
	CTL_OK("-V v2 permissions delete --user alice");
	cr_assert_eq(ctl("-V v2 permissions delete --user alice"), 65);
	CTL_OK("-V v2 permissions delete --user alice --idempotently");
	/* A management user may not delete vhosts: 77. */
	cr_assert_eq(ctl("-u alice -p pw vhosts delete --name v2"), 77);
	cr_assert_eq(count_lines(err), 1, "%s", err);
	CTL_OK("users delete --name alice");
	CTL_OK("users delete --name alice --idempotently");
	CTL_OK("vhosts delete --name v2");
	cr_assert_eq(ctl("vhosts delete --name v2"), 65);
	cr_assert_str_eq(err, "warrenctl: vhost 'v2' not found\n");
	CTL_OK("users declare --name bob --password-hash "
	    "'kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR'");
	cr_assert_eq(ctl("users declare --name bob"), 64);
}

Test(ctl, policies_operator_policies_and_limits)
{
	start();
	CTL_OK("policies declare --name ttl --pattern '^tmp' --definition "
	    "'{\"message-ttl\":60000}' --apply-to queues --priority 3");
	CTL_OK("policies list --format tsv --columns name,pattern,apply-to,"
	    "priority,definition");
	cr_assert(has_line(out, "ttl\t^tmp\tqueues\t3\t{\"message-ttl\":"
	    "60000}"), "%s", out);
	CTL_OK("--vhost / policies list --format tsv --columns name");
	cr_assert_str_eq(rows(), "ttl\n");
	CTL_OK("policies delete --name ttl");
	cr_assert_eq(ctl("policies delete --name ttl"), 65);
	CTL_OK("policies delete --name ttl --idempotently");
	CTL_OK("operator_policies declare --name cap --pattern '.*' "
	    "--definition '{\"max-length\":100}' --apply-to queues");
	CTL_OK("operator_policies list --format tsv --columns name,"
	    "definition");
	cr_assert(has_line(out, "cap\t{\"max-length\":100}"), "%s", out);
	CTL_OK("operator_policies delete --name cap");
	CTL_OK("operator_policies list --format tsv --columns name");
	cr_assert_str_eq(rows(), "");

	CTL_OK("vhost_limits declare --name max-queues --value 10");
	CTL_OK("vhost_limits list --format tsv --columns vhost,value");
	cr_assert(has_line(out, "/\t{\"max-queues\":10}"), "%s", out);
	CTL_OK("--vhost / vhost_limits list --format tsv --columns value");
	cr_assert_str_eq(rows(), "{\"max-queues\":10}\n");
	CTL_OK("vhost_limits delete --name max-queues");
	CTL_OK("vhost_limits delete --name max-queues --idempotently");
	CTL_OK("user_limits declare --user guest --name max-connections "
	    "--value 50");
	CTL_OK("user_limits list --user guest --format tsv --columns user,"
	    "value");
	cr_assert(has_line(out, "guest\t{\"max-connections\":50}"), "%s", out);
	CTL_OK("user_limits delete --user guest --name max-connections");
	CTL_OK("user_limits list --format tsv");
	cr_assert_str_eq(rows(), "");
}

Test(ctl, definitions_export_and_import_by_file_and_stdin)
{
	char path[300];

	start();
	CTL_OK("queues declare --name keep");
	snprintf(path, sizeof(path), "%s/defs.json", home);
	CTL_OK("definitions export --file %s", path);
	cr_assert_str_eq(out, "");
	CTL_OK("definitions export");
	cr_assert_not_null(strstr(out, "\"name\":\"keep\""), "%s", out);
	CTL_OK("--vhost / definitions export");
	cr_assert_not_null(strstr(out, "\"name\":\"keep\""), "%s", out);
	CTL_OK("queues delete --name keep");
	CTL_OK("definitions import --file %s", path);
	CTL_OK("queues show --name keep --format tsv");
	CTL_OK("queues delete --name keep");
	cr_assert_eq(sh("%s -P %d definitions import < %s", WARRENCTL,
	    b.admin_port, path), 0, "%s", err);
	CTL_OK("queues show --name keep --format tsv");
	cr_assert_eq(sh("echo '{\"queues\": [' | %s -P %d definitions import",
	    WARRENCTL, b.admin_port), 65);
	cr_assert_not_null(strstr(err, "warrenctl: stdin: line"), "%s", err);
	cr_assert_eq(ctl("definitions import --file %s/nosuch", home), 65);
}

Test(ctl, overview_churn_nodes_and_health_checks)
{
	char args[64];

	start();
	CTL_OK("show overview --format tsv");
	cr_assert(has_line(out, "product_name\twarren"), "%s", out);
	CTL_OK("show overview --format json");
	cr_assert_not_null(strstr(out, "\"object_totals\""), "%s", out);
	CTL_OK("show churn --format tsv");
	cr_assert_not_null(strstr(out, "queue_declared\t"), "%s", out);
	CTL_OK("nodes list --format tsv --columns name,running");
	cr_assert_eq(count_lines(rows()), 1, "%s", out);
	cr_assert_not_null(strstr(out, "\ttrue"), "%s", out);
	CTL_OK("health_check local_alarms --format tsv");
	cr_assert_str_eq(out, "status\tok\n");
	CTL_OK("health_check cluster_wide_alarms");
	CTL_OK("health_check virtual_hosts");
	snprintf(args, sizeof(args), "health_check port_listener --port %d",
	    b.port);
	CTL_OK("%s", args);
	CTL_OK("health_check protocol_listener --protocol amqp");
	CTL_OK("health_check protocol_listener --protocol amqp,http");
	/* A failed check: 69 with the API's reason. */
	cr_assert_eq(ctl("health_check port_listener --port 1"), 69);
	cr_assert_str_eq(err, "warrenctl: No active listener\n");
	cr_assert_eq(ctl("health_check protocol_listener --protocol "
	    "stomp"), 69);
	cr_assert_eq(count_lines(err), 1, "%s", err);
}

Test(ctl, error_classes_have_their_exit_codes)
{
	start();
	/* 64: usage. */
	cr_assert_eq(ctl("nosuch"), 64);
	cr_assert_str_eq(err, "warrenctl: unknown command 'nosuch' (see "
	    "warrenctl --help)\n");
	cr_assert_eq(ctl("queues frob"), 64);
	cr_assert_eq(ctl("queues declare"), 64);
	cr_assert_not_null(strstr(err, "needs --name"), "%s", err);
	cr_assert_eq(ctl("queues declare --name x --bogus"), 64);
	cr_assert_eq(ctl("queues declare --name x --durable maybe"), 64);
	cr_assert_eq(ctl("--format xml queues list"), 64);
	cr_assert_eq(ctl("queues list --columns name,,type"), 64);
	cr_assert_eq(count_lines(err), 1, "%s", err);
	cr_assert_eq(sh("%s -P nope ping", WARRENCTL), 64);
	cr_assert_eq(sh("%s", WARRENCTL), 64);
	/* 65: bad data, and the API's 400 with its reason. */
	cr_assert_eq(ctl("queues declare --name x --arguments '{oops'"), 65);
	cr_assert_not_null(strstr(err, "--arguments is not valid JSON"), "%s",
	    err);
	cr_assert_eq(ctl("queues declare --name x --arguments '[1]'"), 65);
	cr_assert_eq(ctl("queues declare --name x --arguments "
	    "'{\"x-max-length\":\"many\"}'"), 65, "%s", err);
	cr_assert_eq(count_lines(err), 1, "%s", err);
	cr_assert_eq(ctl("queues list --name '(' --regex"), 65, "%s", err);
	/* A user that does not exist is named, not an Erlang atom. */
	cr_assert_eq(ctl("permissions declare --user nosuch --configure '.*' "
	    "--write '.*' --read '.*'"), 65);
	cr_assert_str_eq(err, "warrenctl: vhost '/' or user 'nosuch' not "
	    "found\n");
	cr_assert_eq(ctl("user_limits declare --user nosuch --name "
	    "max-connections --value 10"), 65);
	cr_assert_str_eq(err, "warrenctl: user 'nosuch' not found\n");
	/* 77: not authorized. */
	cr_assert_eq(ctl("-p wrong queues list"), 77);
	cr_assert_eq(count_lines(err), 1, "%s", err);
	cr_assert_not_null(strstr(err, "warrenctl: "), "%s", err);
	/* 69: nobody there. */
	cr_assert_eq(sh("%s -P 1 queues list", WARRENCTL), 69);
	/* Not JSON where JSON is due: the AMQP port answers garbage. */
	cr_assert_eq(sh("%s -P %d --timeout 3 queues list", WARRENCTL,
	    b.port), 69, "%s", err);
	cr_assert_eq(count_lines(err), 1, "%s", err);
}

Test(ctl, config_file_env_and_flags_in_order)
{
	char dir[300], path[400];
	FILE *f;

	start();
	snprintf(dir, sizeof(dir), "%s/.config", home);
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/warrenctl.conf", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "# test\n[default]\nhostname = 127.0.0.1\nport = %d\n"
	    "username = guest\npassword = guest\n\n[prod]\nport = 1\n"
	    "[other]\nport = %d\nvhost = v9\n", b.admin_port, b.admin_port);
	fclose(f);
	/* The file alone. */
	cr_assert_eq(sh("%s ping", WARRENCTL), 0, "%s", err);
	/* -N picks a section: prod's port is closed. */
	cr_assert_eq(sh("%s -N prod ping", WARRENCTL), 69, "%s", err);
	cr_assert_eq(sh("WARRENCTL_NODE=prod %s ping", WARRENCTL), 69);
	cr_assert_eq(sh("%s -N nosuch ping", WARRENCTL), 78);
	cr_assert_not_null(strstr(err, "no section [nosuch]"), "%s", err);
	/* env beats the file; flags beat env. */
	cr_assert_eq(sh("WARRENCTL_PORT=%d %s -N prod ping", b.admin_port,
	    WARRENCTL), 0, "%s", err);
	cr_assert_eq(sh("WARRENCTL_PORT=1 %s ping", WARRENCTL), 69);
	cr_assert_eq(sh("WARRENCTL_PORT=1 %s -P %d ping", WARRENCTL,
	    b.admin_port), 0, "%s", err);
	cr_assert_eq(sh("WARRENCTL_PASSWORD=bad %s ping", WARRENCTL), 77);
	cr_assert_eq(sh("WARRENCTL_PASSWORD=bad %s -p guest ping",
	    WARRENCTL), 0);
	/* The file's vhost filters listings. */
	cr_assert_eq(sh("%s -N other queues list", WARRENCTL), 65, "%s", err);
	cr_assert_str_eq(err, "warrenctl: vhost 'v9' not found\n");
	cr_assert_str_eq(out, "", "a header without a listing: %s", out);
	/* XDG_CONFIG_HOME moves the file; -c names one. */
	cr_assert_eq(sh("XDG_CONFIG_HOME=%s/none %s ping", home, WARRENCTL),
	    69, "the default port is not the broker's");
	cr_assert_eq(sh("XDG_CONFIG_HOME=%s %s ping", dir, WARRENCTL), 0,
	    "%s", err);
	cr_assert_eq(sh("XDG_CONFIG_HOME=%s/none %s -c %s ping", home,
	    WARRENCTL, path), 0, "%s", err);
	cr_assert_eq(sh("%s -c %s/nosuch.conf ping", WARRENCTL, home), 78);
	/* A bad line names the file and the line. */
	f = fopen(path, "a");
	fprintf(f, "[broken]\nport = http\n");
	fclose(f);
	cr_assert_eq(sh("%s ping", WARRENCTL), 78);
	cr_assert_not_null(strstr(err, "warrenctl.conf:14: port must be"),
	    "%s", err);
	f = fopen(path, "a");
	fprintf(f, "colour = blue\n");
	fclose(f);
	cr_assert_eq(sh("%s -c %s ping", WARRENCTL, path), 78);
}

Test(ctl, password_dash_reads_stdin)
{
	start();
	cr_assert_eq(sh("echo guest | %s -P %d -p - ping", WARRENCTL,
	    b.admin_port), 0, "%s", err);
	cr_assert_eq(sh("echo nope | %s -P %d -p - ping", WARRENCTL,
	    b.admin_port), 77, "%s", err);
	cr_assert_eq(sh("echo guest | WARRENCTL_PASSWORD=- %s -P %d ping",
	    WARRENCTL, b.admin_port), 0, "%s", err);
}

Test(ctl, help_for_every_command_and_completion)
{
	static const char *const groups[] = { "show", "queues", "exchanges",
	    "bindings", "connections", "channels", "consumers", "vhosts",
	    "users", "permissions", "topic_permissions", "policies",
	    "operator_policies", "vhost_limits", "user_limits",
	    "definitions", "get", "publish", "nodes", "health_check", NULL };

	cr_assert_eq(sh("%s --help", WARRENCTL), 0);
	cr_assert_not_null(strstr(out, "Example:"), "%s", out);
	cr_assert_eq(sh("%s help", WARRENCTL), 0);
	for (size_t i = 0; groups[i] != NULL; i++) {
		char cmds[1024], *save, *w;

		cr_assert_eq(sh("%s %s --help", WARRENCTL, groups[i]), 0);
		cr_assert_not_null(strstr(out, "Example:"), "%s", out);
		/* The commands of the group, from its completion line. */
		cr_assert_eq(sh("%s completion bash | sed -n '/^\\t%s)$/,"
		    "/compgen/p' | tail -1 | sed 's/.*-W \"//; s/\".*//'",
		    WARRENCTL, groups[i]), 0);
		snprintf(cmds, sizeof(cmds), "%.1000s", out);
		cr_assert_neq(cmds[0], '\0', "no commands for %s", groups[i]);
		for (w = strtok_r(cmds, " \n", &save); w != NULL;
		    w = strtok_r(NULL, " \n", &save)) {
			cr_assert_eq(sh("%s %s %s --help", WARRENCTL,
			    groups[i], w), 0, "%s %s: %s", groups[i], w, err);
			cr_assert_not_null(strstr(out, "Example:\n  warrenctl"),
			    "%s %s: %s", groups[i], w, out);
			cr_assert_eq(sh("%s help %s %s", WARRENCTL, groups[i],
			    w), 0);
		}
	}
	cr_assert_eq(sh("%s ping --help", WARRENCTL), 0);
	cr_assert_eq(sh("%s queues declare --help", WARRENCTL), 0);
	cr_assert_not_null(strstr(out, "--name NAME"), "%s", out);
	cr_assert_not_null(strstr(out, "--arguments JSON"), "%s", out);
	cr_assert_eq(sh("%s completion bash > %s/c.bash && bash -n "
	    "%s/c.bash", WARRENCTL, home, home), 0, "%s", err);
	cr_assert_eq(sh("bash -c 'source %s/c.bash; COMP_WORDS=(warrenctl "
	    "queues de); COMP_CWORD=2; _warrenctl; echo ${COMPREPLY[*]}'",
	    home), 0, "%s", err);
	cr_assert_str_eq(out, "declare delete\n");
	cr_assert_eq(sh("bash -c 'source %s/c.bash; COMP_WORDS=(warrenctl "
	    "-P 1 queues declare --na); COMP_CWORD=5; _warrenctl; echo "
	    "${COMPREPLY[*]}'", home), 0, "%s", err);
	cr_assert_str_eq(out, "--name\n");
	cr_assert_eq(sh("%s completion zsh", WARRENCTL), 0);
	cr_assert_not_null(strstr(out, "#compdef warrenctl"), "%s", out);
	/*
	 * zsh runs it through bashcompinit, in sh emulation (0-based
	 * arrays); zsh itself then matches the candidates to the word.
	 */
	cr_assert_eq(sh("command -v zsh"), 0, "zsh is not installed "
	    "(./bootstrap --test installs it)");
	cr_assert_eq(sh("%s completion zsh > %s/c.zsh && zsh -n %s/c.zsh",
	    WARRENCTL, home, home), 0, "%s", err);
	cr_assert_eq(sh("zsh -c 'autoload -U compinit && compinit -u; "
	    "source %s/c.zsh; f() { emulate -L sh; setopt kshglob noshglob "
	    "braceexpand; COMP_WORDS=(warrenctl queues de); COMP_CWORD=2; "
	    "_warrenctl; echo ${COMPREPLY[*]}; }; f'", home), 0, "%s", err);
	cr_assert_not_null(strstr(out, "declare"), "%s", out);
	cr_assert_null(strstr(out, "bindings"), "group names offered for a "
	    "command: %s", out);
	cr_assert_eq(sh("%s completion fish", WARRENCTL), 64);
}

Test(ctl, https_to_the_admin_tls_listener)
{
	char certs[300], cmd[600], crt[400], key[400], ca[400], path[400];
	const char *tmp = getenv("TMPDIR");
	int port;
	FILE *f;

	snprintf(certs, sizeof(certs), "%s/certs", home);
	snprintf(cmd, sizeof(cmd), "%s %s", MAKE_CERTS, certs);
	cr_assert_eq(sh("%s", cmd), 0, "make-certs: %s", err);
	(void)tmp;
	snprintf(crt, sizeof(crt), "%s/server.pem", certs);
	snprintf(key, sizeof(key), "%s/server.key", certs);
	snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
	hb_start(&b, (const char *const[]){ "--tls-port", "0", "--tls-cert",
	    crt, "--tls-key", key, "--tls-ca", ca, "--admin-tls-port", "0",
	    NULL });
	hb_require_warrend(&b);
	snprintf(path, sizeof(path), "%s/warrend.admin-tls-port", b.dir);
	f = fopen(path, "r");
	cr_assert_not_null(f, "no %s", path);
	cr_assert_eq(fscanf(f, "%d", &port), 1);
	fclose(f);

	cr_assert_eq(sh("%s --tls -H localhost -P %d --ca-certificate %s "
	    "ping", WARRENCTL, port, ca), 0, "%s", err);
	cr_assert_not_null(strstr(out, "https://localhost:"), "%s", out);
	cr_assert_eq(sh("%s --tls -H localhost -P %d --ca-certificate %s "
	    "queues declare --name tq", WARRENCTL, port, ca), 0, "%s", err);
	cr_assert_eq(sh("%s -U https://localhost:%d/ --ca-certificate %s "
	    "queues list --format tsv --columns name", WARRENCTL, port, ca),
	    0, "%s", err);
	cr_assert_str_eq(rows(), "tq\n");
	/* An unknown CA is refused, unless --insecure. */
	cr_assert_eq(sh("%s --tls -H localhost -P %d ping", WARRENCTL, port),
	    69);
	cr_assert_eq(count_lines(err), 1, "%s", err);
	cr_assert_eq(sh("%s --tls -k -H localhost -P %d ping", WARRENCTL,
	    port), 0, "%s", err);
	cr_assert_eq(sh("WARRENCTL_TLS=true WARRENCTL_CA_CERTIFICATE=%s %s "
	    "-H localhost -P %d ping", ca, WARRENCTL, port), 0, "%s", err);
	/* Plain HTTP to the TLS port: no answer. */
	cr_assert_eq(sh("%s --timeout 3 -P %d ping", WARRENCTL, port), 69);
}

/*
 * A fake API that answers every request with one canned response, so
 * that warrenctl meets answers warrend never gives. Returns the port;
 * the server is a child process, killed by fake_stop.
 */
static pid_t	fake_pid;

static int
fake_start(const char *response)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd, one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 16), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	if ((fake_pid = fork()) == 0) {
		for (;;) {
			char req[65536];
			size_t got = 0;
			ssize_t n;
			int c = accept(fd, NULL, NULL);

			if (c < 0)
				_exit(0);
			/* The request head; bodies are small and ignored. */
			while (got < sizeof(req) - 1 && (n = read(c, req + got,
			    sizeof(req) - 1 - got)) > 0) {
				got += (size_t)n;
				req[got] = '\0';
				if (strstr(req, "\r\n\r\n") != NULL)
					break;
			}
			if (write(c, response, strlen(response)) < 0)
				_exit(1);
			close(c);
		}
	}
	close(fd);
	return ntohs(sa.sin_port);
}

static void
fake_stop(void)
{
	if (fake_pid > 0) {
		kill(fake_pid, SIGKILL);
		waitpid(fake_pid, NULL, 0);
		fake_pid = 0;
	}
}

/* Runs warrenctl against a fake answering status/body; its exit code. */
static int
against(const char *status, const char *body, const char *args)
{
	char resp[8192];
	int port, rc;

	snprintf(resp, sizeof(resp), "HTTP/1.1 %s\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "\r\n%s", status, strlen(body), body);
	port = fake_start(resp);
	rc = sh("%s -P %d --timeout 5 %s", WARRENCTL, port, args);
	fake_stop();
	cr_assert_lt(rc, 128, "warrenctl died (%d) on %s %s: %s", rc, status,
	    body, err);
	cr_assert_leq(count_lines(err), 1, "%s", err);
	return rc;
}

Test(ctl, strange_answers_are_errors_not_crashes)
{
	char deep[300];

	cr_assert_eq(against("200 OK", "[1,2", "queues list"), 69);
	cr_assert_not_null(strstr(err, "is not JSON"), "%s", err);
	cr_assert_eq(against("200 OK", "{\"items\":5,\"page_count\":1}",
	    "queues list"), 69);
	cr_assert_eq(against("200 OK", "{\"items\":[],\"page_count\":\"x\"}",
	    "queues list"), 69);
	cr_assert_eq(against("200 OK", "{}", "users list"), 69);
	cr_assert_eq(against("200 OK", "\"str\"", "queues show --name q"),
	    69);
	cr_assert_eq(against("200 OK", "[]", "show overview"), 69);
	cr_assert_eq(against("200 OK", "", "ping"), 0);
	against("200 OK", "[1,\"x\",null,[]]", "users list --format tsv");
	against("200 OK", "[1,\"x\",null,[]]", "users list --name x");
	against("200 OK", "{\"items\":[1,null],\"page_count\":1}",
	    "queues list --format json");
	cr_assert_eq(against("200 OK", "5", "get messages --queue q"), 69);
	cr_assert_eq(against("200 OK", "[1]", "publish message "
	    "--routing-key q"), 69);
	cr_assert_eq(against("500 Internal Server Error", "<html>oops",
	    "queues list"), 69);
	cr_assert_str_eq(err, "warrenctl: HTTP status 500\n");
	cr_assert_eq(against("503 Service Unavailable",
	    "{\"status\":\"failed\",\"reason\":\"alarm!\"}",
	    "health_check local_alarms"), 69);
	cr_assert_str_eq(err, "warrenctl: alarm!\n");
	cr_assert_eq(against("404 Not Found", "", "queues show --name q"), 65);
	cr_assert_str_eq(err, "warrenctl: queue 'q' in vhost '/' not "
	    "found\n");
	cr_assert_eq(against("404 Not Found", "{\"error\":\"Object Not Found"
	    "\",\"reason\":\"Not Found\"}", "exchanges delete --name x"), 65);
	cr_assert_str_eq(err, "warrenctl: exchange 'x' in vhost '/' not "
	    "found\n");
	cr_assert_eq(against("400 Bad Request", "{\"error\":\"bad_request\","
	    "\"reason\":\"inequivalent arg 'durable'\"}",
	    "queues declare --name q"), 65);
	cr_assert_str_eq(err, "warrenctl: inequivalent arg 'durable'\n");
	cr_assert_eq(against("401 Unauthorized", "", "queues list"), 77);
	cr_assert_eq(against("403 Forbidden", "{\"reason\":7}", "queues list"),
	    77);
	cr_assert_eq(against("418 I'm a teapot", "{\"reason\":\"\\u0000\"}",
	    "queues list"), 65);
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	cr_assert_eq(against("200 OK", deep, "users list"), 69);
	cr_assert_eq(against("301 Moved Permanently\r\nLocation: /api/x", "",
	    "queues list"), 69);
}

Test(ctl, base_uri_and_path_prefix_make_the_url)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\n{}";
	char want[128];
	int port = fake_start(resp);

	cr_assert_eq(sh("%s -H 127.0.0.1 -P %d --path-prefix /pre/ -v show "
	    "overview", WARRENCTL, port), 0, "%s", err);
	snprintf(want, sizeof(want), "warrenctl: GET http://127.0.0.1:%d/pre/"
	    "api/overview\n", port);
	cr_assert_str_eq(err, want);
	cr_assert_eq(sh("%s -U http://127.0.0.1:%d/base/ -v -V 'a/b c' "
	    "queues show --name 'q.1_x'", WARRENCTL, port), 0, "%s", err);
	/* Each segment encoded, "/" too; unreserved characters kept. */
	snprintf(want, sizeof(want), "warrenctl: GET http://127.0.0.1:%d/base/"
	    "api/queues/a%%2Fb%%20c/q.1_x\n", port);
	cr_assert_str_eq(err, want);
	cr_assert_eq(sh("WARRENCTL_BASE_URI=http://127.0.0.1:%d %s -v ping",
	    port, WARRENCTL), 0, "%s", err);
	fake_stop();
}

/*
 * health_check port_connectivity connects to every listener the node
 * reports; one that does not answer fails the check with 69.
 */
Test(ctl, port_connectivity_connects_to_every_listener)
{
	char want[128];

	start();
	CTL_OK("health_check port_connectivity");
	snprintf(want, sizeof(want), "%d", b.port);
	cr_assert_not_null(strstr(out, "Successfully connected to ports "),
	    "%s", out);
	cr_assert_not_null(strstr(out, want), "AMQP port missing: %s", out);
	snprintf(want, sizeof(want), "%d", b.prometheus_port);
	cr_assert_not_null(strstr(out, want), "metrics port missing: %s",
	    out);
	/* A listener that refuses (port 1 on loopback) fails the check. */
	cr_assert_eq(against("200 OK", "{\"listeners\":[{\"protocol\":"
	    "\"amqp\",\"ip_address\":\"127.0.0.1\",\"port\":1}]}",
	    "health_check port_connectivity"), 69);
	cr_assert_not_null(strstr(err, "cannot connect to port 1 (amqp) at "
	    "127.0.0.1: Connection refused"), "%s", err);
	cr_assert_eq(against("200 OK", "{\"listeners\":[]}",
	    "health_check port_connectivity"), 69);
}

/*
 * Called as rabbitmq-diagnostics or rabbitmqctl (the Docker image's
 * links), warrenctl answers the checks compose files run, with
 * RabbitMQ's options, and lists queues as rabbitmqctl does.
 */
Test(ctl, rabbitmq_cli_names_answer_health_checks_and_list_queues)
{
	char dir[300], diag[400], rctl[400], url[128];
	const char *checks[] = { "ping", "-q ping", "check_running",
	    "check_local_alarms", "check_port_connectivity",
	    "check_virtual_hosts", "-n rabbit@x -t 10 await_startup",
	    "check_protocol_listener amqp", NULL };

	start();
	snprintf(dir, sizeof(dir), "%s/bin", home);
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(diag, sizeof(diag), "%s/rabbitmq-diagnostics", dir);
	snprintf(rctl, sizeof(rctl), "%s/rabbitmqctl", dir);
	cr_assert_eq(symlink(WARRENCTL, diag), 0);
	cr_assert_eq(symlink(WARRENCTL, rctl), 0);
	snprintf(url, sizeof(url), "%d", b.admin_port);
	setenv("WARRENCTL_PORT", url, 1);
	for (size_t i = 0; checks[i] != NULL; i++) {
		int rc = sh("%s %s", diag, checks[i]);

		cr_expect_eq(rc, 0, "rabbitmq-diagnostics %s: %d %s%s",
		    checks[i], rc, out, err);
	}
	cr_expect_eq(sh("%s -q ping", diag), 0);
	cr_expect_str_eq(out, "", "-q prints nothing");
	cr_expect_eq(sh("%s check_port_listener %d", diag, b.port), 0);
	cr_expect_eq(sh("%s check_port_listener 1", diag), 69, "%s", err);
	cr_expect_eq(sh("%s list_plugins", diag), 64);
	cr_expect_eq(count_lines(err), 1, "%s", err);
	cr_expect_eq(sh("%s --erlang-cookie x ping", diag), 64);

	CTL_OK("queues declare --name lq --durable true");
	CTL_OK("publish message --routing-key lq --payload one");
	CTL_OK("publish message --routing-key lq --payload two");
	cr_assert_eq(sh("%s list_queues name messages_ready "
	    "messages_unacknowledged", rctl), 0, "%s", err);
	cr_expect(has_line(out, "Listing queues for vhost / ..."), "%s", out);
	cr_expect(has_line(out, "name\tmessages_ready\t"
	    "messages_unacknowledged"), "%s", out);
	cr_expect(has_line(out, "lq\t2\t0"), "%s", out);
	cr_assert_eq(sh("%s -q --no-table-headers list_queues", rctl), 0);
	cr_expect_str_eq(out, "lq\t2\n");
	cr_expect_eq(sh("%s -p nosuch list_queues", rctl), 65);
	unsetenv("WARRENCTL_PORT");
}

/*
 * On a terminal (script(1) gives it one), a definitions import says what
 * it holds, shows its progress and how long it took; piped, it is quiet.
 */
Test(ctl, definitions_import_shows_progress_on_a_terminal)
{
	char path[300];
	FILE *f;

	if (system("command -v script >/dev/null 2>&1") != 0)
		cr_skip_test("script(1) is not installed (util-linux)");
	start();
	snprintf(path, sizeof(path), "%s/three.json", home);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("{\"queues\":[{\"name\":\"p1\",\"vhost\":\"/\",\"durable\":true,"
	    "\"auto_delete\":false,\"arguments\":{}},{\"name\":\"p2\",\"vhost\":"
	    "\"/\",\"durable\":true,\"auto_delete\":false,\"arguments\":{}}],"
	    "\"exchanges\":[{\"name\":\"px\",\"vhost\":\"/\",\"type\":\"fanout\","
	    "\"durable\":true,\"auto_delete\":false,\"internal\":false,"
	    "\"arguments\":{}}]}", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(sh("script -qec '%s -P %d definitions import --file %s' "
	    "/dev/null", WARRENCTL, b.admin_port, path), 0, "%s%s", out, err);
	cr_expect_not_null(strstr(out, "Importing 3 objects (2 queues, 1 "
	    "exchanges) from "), "%s", out);
	cr_expect_not_null(strstr(out, "Imported 3 objects in "), "%s", out);
	CTL_OK("definitions import --file %s", path);
	cr_expect_str_eq(err, "", "piped: no progress");
	CTL_OK("queues show --name p2 --format tsv");
}
