/*
 * Health checks (admin/api_health.c, contract section 7): 200 bodies on a
 * healthy broker, 503 bodies with RabbitMQ's fields and words when a
 * resource alarm is in effect or the connection limit is reached, the
 * unauthenticated Kubernetes probes, and the deprecated aliveness test.
 */
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
}

static void
teardown(void)
{
	if (b.pid > 0)
		hb_stop(&b);
}

TestSuite(api_health, .init = setup, .fini = teardown, .timeout = 60);

static void
expect(const char *path, const char *userpass, int status, const char *want)
{
	char *body = aj_call(&b, "GET", path, userpass, NULL, status);

	cr_expect_str_eq(body, want, "GET %s:\n got %s\nwant %s", path, body,
	    want);
	free(body);
}

static const char *
node_name(void)
{
	static char name[300];
	struct json *j = aj_get(&b, "/api/overview", GUEST, 200);

	snprintf(name, sizeof(name), "%s", aj_str(j, "node"));
	json_free(j);
	return name;
}

Test(api_health, a_healthy_broker_answers_ok)
{
	static const char *const ok[] = { "alarms", "local-alarms",
	    "virtual-hosts", "metadata-store/initialized",
	    "certificate-expiration/1/weeks", "certificate-expiration/2/YEARS",
	    "is-in-service", "ready-to-serve-clients",
	    "reached-target-cluster-size" };
	char path[128], want[128];

	hb_start(&b, NULL);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(path, sizeof(path), "/api/health/checks/%s", ok[i]);
		expect(path, GUEST, 200, "{\"status\":\"ok\"}");
	}
	/* compat: RabbitMQ 3.10's words on a single node. */
	expect("/api/health/checks/node-is-quorum-critical", GUEST, 200,
	    "{\"status\":\"ok\",\"reason\":\"single node cluster\"}");
	expect("/api/aliveness-test/%2F", GUEST, 200, "{\"status\":\"ok\"}");
	expect("/api/aliveness-test/nope", GUEST, 404,
	    "{\"error\":\"Object Not Found\",\"reason\":\"Not Found\"}");
	expect("/api/healthchecks/node", GUEST, 200, "{\"status\":\"ok\"}");
	/* compat: the aliveness test needs access to its vhost (3.10). */
	free(aj_call(&b, "PUT", "/api/vhosts/closed", GUEST, NULL, 201));
	free(aj_call(&b, "PUT", "/api/users/al", GUEST,
	    "{\"password\":\"p\",\"tags\":\"monitoring\"}", 201));
	expect("/api/aliveness-test/closed", "al:p", 401,
	    "{\"error\":\"not_authorised\",\"reason\":\"User not authorised "
	    "to access virtual host\"}");
	expect("/api/aliveness-test/closed", GUEST, 200, "{\"status\":\"ok\"}");
	snprintf(path, sizeof(path), "/api/healthchecks/node/%s",
	    aj_enc(node_name()));
	expect(path, GUEST, 200, "{\"status\":\"ok\"}");
	expect("/api/healthchecks/node/rabbit@elsewhere", GUEST, 404,
	    "{\"error\":\"Object Not Found\",\"reason\":\"Not Found\"}");

	snprintf(path, sizeof(path), "/api/health/checks/port-listener/%d",
	    b.port);
	snprintf(want, sizeof(want), "{\"status\":\"ok\",\"port\":%d}",
	    b.port);
	expect(path, GUEST, 200, want);
	/* compat: RabbitMQ lists the Prometheus listener too. */
	expect("/api/health/checks/protocol-listener/amqp091", GUEST, 200,
	    "{\"status\":\"ok\",\"protocols\":[\"amqp\",\"http\","
	    "\"http/prometheus\"]}");
}

Test(api_health, listener_checks_fail_with_503)
{
	char want[256];

	hb_start(&b, NULL);
	snprintf(want, sizeof(want), "{\"status\":\"failed\",\"reason\":"
	    "\"No active listener\",\"missing\":1,\"ports\":[%d,%d,%d]}",
	    b.port, b.admin_port, b.prometheus_port);
	expect("/api/health/checks/port-listener/1", GUEST, 503, want);
	expect("/api/health/checks/port-listener/abc", GUEST, 400,
	    "{\"error\":\"bad_request\",\"reason\":\"Invalid port\"}");
	expect("/api/health/checks/protocol-listener/amqp,mqtt,amqps", GUEST,
	    503, "{\"status\":\"failed\",\"reason\":\"No active listener\","
	    "\"missing\":[\"mqtt\",\"amqp/ssl\"],"
	    "\"protocols\":[\"amqp\",\"http\",\"http/prometheus\"]}");
	expect("/api/health/checks/certificate-expiration/1/fortnights",
	    GUEST, 400, "{\"error\":\"bad_request\",\"reason\":\"Time unit "
	    "not recognised. Supported units: days, weeks, months, years.\"}");
	expect("/api/health/checks/certificate-expiration/soon/days", GUEST,
	    400, "{\"error\":\"bad_request\",\"reason\":"
	    "\"Invalid expiration value.\"}");
}

/* Polls path until it answers status (the alarm check runs each second). */
static char *
wait_status(const char *path, int status)
{
	for (int i = 0; i < 50; i++) {
		struct hhttp r;
		int st = hb_http(&b, "GET", path, GUEST, NULL, &r);
		char *body = strdup(r.body != NULL ? r.body : "");

		hb_http_free(&r);
		if (st == status)
			return body;
		free(body);
		usleep(100 * 1000);
	}
	cr_assert_fail("%s never answered %d", path, status);
	return NULL;
}

Test(api_health, memory_alarm_fails_the_alarm_checks)
{
	/* Any process is over a one-byte high-water mark. */
	const char *extra[] = { "--memory-high-watermark", "1", NULL };
	char want[512];
	char *body;

	hb_start(&b, extra);
	snprintf(want, sizeof(want), "{\"status\":\"failed\",\"reason\":"
	    "\"There are alarms in effect in the cluster\",\"alarms\":"
	    "[{\"node\":\"%s\",\"resource\":\"memory\"}]}", node_name());
	body = wait_status("/api/health/checks/alarms", 503);
	cr_expect_str_eq(body, want);
	free(body);
	snprintf(want, sizeof(want), "{\"status\":\"failed\",\"reason\":"
	    "\"There are alarms in effect on the node\",\"alarms\":"
	    "[{\"node\":\"%s\",\"resource\":\"memory\"}]}", node_name());
	expect("/api/health/checks/local-alarms", GUEST, 503, want);
	/* The node object says so too. */
	{
		struct json *j = aj_get(&b, "/api/nodes", GUEST, 200);

		cr_expect(aj_bool(json_at(j, 0), "mem_alarm"));
		json_free(j);
	}
}

Test(api_health, disk_alarm_names_disk_space)
{
	/* More free space required than any disk has. */
	const char *extra[] = { "--disk-free-limit", "1099511627776", NULL };
	char want[512];
	char *body;

	hb_start(&b, extra);
	/* compat: rabbit_alarm's resource name for the disk alarm. */
	snprintf(want, sizeof(want), "{\"status\":\"failed\",\"reason\":"
	    "\"There are alarms in effect in the cluster\",\"alarms\":"
	    "[{\"node\":\"%s\",\"resource\":\"disk space\"}]}", node_name());
	body = wait_status("/api/health/checks/alarms", 503);
	cr_expect_str_eq(body, want);
	free(body);
}

Test(api_health, probes_need_no_credentials)
{
	static const char *const open[] = { "is-in-service",
	    "ready-to-serve-clients", "reached-target-cluster-size" };
	char path[128];

	hb_start(&b, NULL);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/api/health/checks/%s", open[i]);
		expect(path, NULL, 200, "{\"status\":\"ok\"}");
	}
	expect("/api/health/checks/below-node-connection-limit", NULL, 200,
	    "{\"status\":\"ok\",\"limit\":\"infinity\",\"connections\":0}");
	/* The others need a management user, as in RabbitMQ. */
	free(aj_call(&b, "GET", "/api/health/checks/alarms", NULL, NULL, 401));
	free(aj_call(&b, "GET", "/api/health/checks/local-alarms", "guest:bad",
	    NULL, 401));
}

Test(api_health, connection_limit_fails_the_probes)
{
	const char *extra[] = { "--connection-max", "1", NULL };
	amqp_connection_state_t c;

	hb_start(&b, extra);
	expect("/api/health/checks/below-node-connection-limit", NULL, 200,
	    "{\"status\":\"ok\",\"limit\":1,\"connections\":0}");
	c = hb_connect(&b);
	expect("/api/health/checks/below-node-connection-limit", NULL, 503,
	    "{\"status\":\"failed\",\"reason\":\"node connection limit is "
	    "reached\",\"limit\":1,\"connections\":1}");
	expect("/api/health/checks/ready-to-serve-clients", NULL, 503,
	    "{\"status\":\"failed\",\"reason\":\"node connection limit is "
	    "reached\",\"connections\":1}");
	expect("/api/health/checks/is-in-service", NULL, 200,
	    "{\"status\":\"ok\"}");
	hb_close(c);
}
