/*
 * /api/nodes, /api/overview and the small endpoints (admin/api_nodes.c,
 * api_overview.c, api_misc.c): the node named as RabbitMQ names it, the
 * fields rabbitmqadmin v2 requires and monitoring plugins read, with real
 * figures from the process; the cluster name stored across a restart;
 * out-of-scope paths answering a clean 404.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tests/integration/api_json.h"
#include "tests/integration/harness.h"

static struct hbroker	b;

static void
setup(void)
{
	if (getenv("WARREN_TEST_URL") != NULL)
		cr_skip_test("needs a fresh broker");
	unsetenv("RABBITMQ_NODENAME");
}

static void
teardown(void)
{
	if (b.pid > 0)
		hb_stop(&b);
}

TestSuite(api_nodes, .init = setup, .fini = teardown, .timeout = 60);

/* "rabbit@" and the short host name: RabbitMQ's default node name. */
static void
default_name(char *buf, size_t len, const char *prefix)
{
	char host[256];

	cr_assert_eq(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	snprintf(buf, len, "%s@%s", prefix, host);
}

static void
user(const char *name, const char *tags)
{
	char path[128], body[128];

	snprintf(path, sizeof(path), "/api/users/%s", name);
	snprintf(body, sizeof(body), "{\"password\":\"p\",\"tags\":\"%s\"}",
	    tags);
	free(aj_call(&b, "PUT", path, GUEST, body, 201));
}

Test(api_nodes, node_fields_from_the_process)
{
	struct json *list, *one;
	const struct json *n;
	char want[300], path[400], pid[24];
	static const char *const int_fields[] = { "uptime", "run_queue",
	    "processors", "fd_total", "proc_total", "mem_limit",
	    "disk_free_limit", "mem_used", "fd_used", "sockets_used",
	    "sockets_total", "proc_used", "disk_free" };

	hb_start(&b, NULL);
	default_name(want, sizeof(want), "rabbit");
	list = aj_get(&b, "/api/nodes", GUEST, 200);
	cr_assert_eq(json_type(list), JSON_ARRAY);
	cr_assert_eq(json_len(list), 1);
	n = json_at(list, 0);
	cr_expect_str_eq(aj_str(n, "name"), want);
	for (size_t i = 0; i < sizeof(int_fields) / sizeof(int_fields[0]); i++)
		aj_int(n, int_fields[i]);
	/* Real, non-zero figures. */
	cr_expect_gt(aj_int(n, "mem_used"), 1 << 20);
	cr_expect_gt(aj_int(n, "fd_used"), 2);
	cr_expect_gt(aj_int(n, "fd_total"), aj_int(n, "fd_used"));
	cr_expect_geq(aj_int(n, "sockets_used"), 2, "two listeners at least");
	cr_expect_gt(aj_int(n, "proc_used"), 0);
	cr_expect_gt(aj_int(n, "proc_total"), 0);
	cr_expect_gt(aj_int(n, "processors"), 0);
	cr_expect_gt(aj_int(n, "disk_free"), 0);
	cr_expect_gt(aj_int(n, "mem_limit"), 0);
	cr_expect_eq(aj_int(n, "disk_free_limit"), 50000000);
	/* compat: RabbitMQ gives the OS pid as a string. */
	snprintf(pid, sizeof(pid), "%ld", (long)b.pid);
	cr_expect_str_eq(aj_str(n, "os_pid"), pid);
	cr_expect_not(aj_bool(n, "mem_alarm"));
	cr_expect_not(aj_bool(n, "disk_free_alarm"));
	cr_expect_not(aj_bool(n, "being_drained"));
	cr_expect(aj_bool(n, "running"));
	cr_expect_str_eq(aj_str(n, "type"), "disc");
	cr_expect_str_eq(aj_str(n, "rates_mode"), "basic");
	aj_type(n, "enabled_plugins", JSON_ARRAY);
	aj_type(n, "partitions", JSON_ARRAY);
	cr_expect_eq(json_len(aj_member(n, "partitions")), 0);
	aj_type(n, "applications", JSON_ARRAY);
	aj_type(n, "contexts", JSON_ARRAY);
	aj_type(n, "exchange_types", JSON_ARRAY);
	aj_type(n, "auth_mechanisms", JSON_ARRAY);
	json_free(list);

	snprintf(path, sizeof(path), "/api/nodes/%s", aj_enc(want));
	one = aj_get(&b, path, GUEST, 200);
	cr_expect_str_eq(aj_str(one, "name"), want);
	json_free(one);
	free(aj_call(&b, "GET", "/api/nodes/rabbit@nowhere", GUEST, NULL,
	    404));
}

Test(api_nodes, node_name_from_option_and_environment)
{
	const char *opt[] = { "--node-name", "bunny@box", NULL };
	const char *bare[] = { "--node-name", "hare", NULL };
	char want[300];
	struct json *j;

	hb_start(&b, opt);
	j = aj_get(&b, "/api/overview", GUEST, 200);
	cr_expect_str_eq(aj_str(j, "node"), "bunny@box");
	json_free(j);
	free(aj_call(&b, "GET", "/api/nodes/bunny@box", GUEST, NULL, 200));
	hb_stop(&b);

	/* A bare name gets "@" and the short host name, as in RabbitMQ. */
	hb_start(&b, bare);
	default_name(want, sizeof(want), "hare");
	j = aj_get(&b, "/api/overview", GUEST, 200);
	cr_expect_str_eq(aj_str(j, "node"), want);
	json_free(j);
	hb_stop(&b);

	setenv("RABBITMQ_NODENAME", "doe@meadow", 1);
	hb_start(&b, NULL);
	unsetenv("RABBITMQ_NODENAME");
	j = aj_get(&b, "/api/nodes", GUEST, 200);
	cr_expect_str_eq(aj_str(json_at(j, 0), "name"), "doe@meadow");
	json_free(j);
}

Test(api_nodes, nodes_need_monitoring)
{
	hb_start(&b, NULL);
	user("nm", "management");
	user("nmon", "monitoring");
	{
		char *body = aj_call(&b, "GET", "/api/nodes", "nm:p", NULL, 401);

		cr_expect_str_eq(body, "{\"error\":\"not_authorised\","
		    "\"reason\":\"Not monitor user\"}");
		free(body);
	}
	free(aj_call(&b, "GET", "/api/nodes", "nmon:p", NULL, 200));
}

Test(api_nodes, overview_fields)
{
	struct json *j;
	const struct json *ls, *t;
	bool amqp = false, http = false;
	char want[300];

	hb_start(&b, NULL);
	default_name(want, sizeof(want), "rabbit");
	j = aj_get(&b, "/api/overview", GUEST, 200);
	cr_expect_str_eq(aj_str(j, "node"), want);
	cr_expect_str_eq(aj_str(j, "product_name"), "warren");
	aj_str(j, "rabbitmq_version");
	aj_str(j, "management_version");
	aj_str(j, "product_version");
	aj_str(j, "erlang_version");
	aj_str(j, "cluster_name");
	cr_expect_eq(aj_int(j, "statistics_db_event_queue"), 0);
	ls = aj_member(j, "listeners");
	for (size_t i = 0; i < json_len(ls); i++) {
		const struct json *l = json_at(ls, i);
		const char *p = aj_str(l, "protocol");

		cr_expect_str_eq(aj_str(l, "node"), want);
		aj_str(l, "ip_address");
		if (strcmp(p, "amqp") == 0)
			amqp = aj_int(l, "port") == b.port;
		if (strcmp(p, "http") == 0)
			http = aj_int(l, "port") == b.admin_port;
	}
	cr_expect(amqp && http, "listeners with integer ports");
	t = aj_member(j, "object_totals");
	aj_int(t, "connections");
	aj_int(t, "channels");
	aj_int(t, "consumers");
	cr_expect_gt(aj_int(t, "exchanges"), 0);
	aj_int(t, "queues");
	t = aj_member(j, "queue_totals");
	aj_int(t, "messages");
	aj_int(t, "messages_ready");
	aj_int(t, "messages_unacknowledged");
	t = aj_member(j, "churn_rates");
	aj_int(t, "connection_created");
	aj_int(t, "queue_declared");
	cr_expect_eq(json_len(aj_member(j, "exchange_types")), 4);
	cr_expect_eq(json_len(aj_member(j, "contexts")), 1);
	json_free(j);

	/* A connection shows in the churn and object totals. */
	{
		amqp_connection_state_t c = hb_connect(&b);

		j = aj_get(&b, "/api/overview", GUEST, 200);
		cr_expect_eq(aj_int(aj_member(j, "object_totals"),
		    "connections"), 1);
		cr_expect_eq(aj_int(aj_member(j, "churn_rates"),
		    "channel_created"), 1);
		json_free(j);
		hb_close(c);
	}
}

Test(api_nodes, cluster_name_is_stored)
{
	struct json *j;
	char *body;

	hb_start(&b, NULL);
	free(aj_call(&b, "PUT", "/api/cluster-name", GUEST,
	    "{\"name\":\"blue-warren\"}", 204));
	j = aj_get(&b, "/api/cluster-name", GUEST, 200);
	cr_expect_str_eq(aj_str(j, "name"), "blue-warren");
	json_free(j);
	/* compat: RabbitMQ's reason for a body without "name". */
	body = aj_call(&b, "PUT", "/api/cluster-name", GUEST, "{}", 400);
	cr_expect_str_eq(body, "{\"error\":\"bad_request\","
	    "\"reason\":\"[{key_missing,name}]\"}");
	free(body);
	user("cn", "management");
	free(aj_call(&b, "PUT", "/api/cluster-name", "cn:p",
	    "{\"name\":\"x\"}", 401));
	free(aj_call(&b, "GET", "/api/cluster-name", "cn:p", NULL, 200));

	cr_assert_eq(hb_halt(&b, SIGTERM), 0);
	hb_restart(&b, NULL);
	j = aj_get(&b, "/api/cluster-name", GUEST, 200);
	cr_expect_str_eq(aj_str(j, "name"), "blue-warren");
	json_free(j);
	j = aj_get(&b, "/api/overview", GUEST, 200);
	cr_expect_str_eq(aj_str(j, "cluster_name"), "blue-warren");
	json_free(j);
}

Test(api_nodes, small_endpoints)
{
	static const char *const empty[] = { "/api/extensions",
	    "/api/feature-flags", "/api/deprecated-features/used" };
	struct json *j;
	char *body;

	hb_start(&b, NULL);
	for (size_t i = 0; i < 3; i++) {
		body = aj_call(&b, "GET", empty[i], GUEST, NULL, 200);
		cr_expect_str_eq(body, "[]", "%s", empty[i]);
		free(body);
	}
	j = aj_get(&b, "/api/version", GUEST, 200);
	cr_expect_eq(json_type(j), JSON_STRING);
	json_free(j);
	/* The web UI asks before logging in. */
	body = aj_call(&b, "GET", "/api/auth", NULL, NULL, 200);
	cr_expect_str_eq(body, "{\"enable_uaa\":false,\"uaa_client_id\":\"\","
	    "\"uaa_location\":\"\"}");
	free(body);
}

Test(api_nodes, out_of_scope_paths_are_a_clean_404)
{
	static const char *const paths[] = { "/api/shovels",
	    "/api/shovels/%2F", "/api/federation-links",
	    "/api/parameters/shovel", "/api/parameters/federation-upstream",
	    "/api/stream/connections", "/api/rebalance/queues", "/api/reset",
	    "/api/auth/attempts/rabbit@x", "/api/tanzu/foo" };

	hb_start(&b, NULL);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char *body = aj_call(&b, "GET", paths[i], GUEST, NULL, 404);

		cr_expect_str_eq(body, "{\"error\":\"Object Not Found\","
		    "\"reason\":\"Not Found\"}", "%s: %s", paths[i], body);
		free(body);
	}
}
