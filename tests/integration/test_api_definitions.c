/*
 * /api/definitions and /api/definitions/{vhost} end to end: a RabbitMQ
 * 3.10.8 export (tests/data/definitions-rabbitmq-3.10-*.json, taken with
 * GET /api/definitions[/dv] from a real node) imports into warren and acts
 * there, warren's export has RabbitMQ's shape and imports into a fresh
 * warren unchanged, and bad input changes nothing.
 *
 * With WARREN_TEST_RABBITMQ_ADMIN_PORT (a RabbitMQ 3.10 management
 * listener on 127.0.0.1, user guest/guest) the last test also imports
 * warren's export into that RabbitMQ and reads the result back.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

#define GUEST	"guest:guest"

TestSuite(api_definitions, .init = ut_setup, .fini = ut_teardown,
    .timeout = 60);

static char *
slurp(const char *name)
{
	char path[1024];
	FILE *f;
	char *s;
	long n;

	snprintf(path, sizeof(path), "%s/%s", DEFS_DIR, name);
	cr_assert_not_null(f = fopen(path, "r"), "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = malloc((size_t)n + 1);
	cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

/* One request to b; asserts the status; returns the body (malloc'd). */
static char *
call_b(const struct hbroker *b, const char *user, const char *method,
    const char *path, const char *body, int want)
{
	struct hhttp r;
	int st = hb_http(b, method, path, user, body, &r);
	char *copy = strdup(r.body != NULL ? r.body : "");

	hb_http_free(&r);
	cr_assert_eq(st, want, "%s %s: %d, wanted %d: %.2000s", method, path,
	    st, want, copy);
	return copy;
}

static char *
call(const char *method, const char *path, const char *body, int want)
{
	return call_b(&ut_broker, GUEST, method, path, body, want);
}

static void
need_admin(void)
{
	if (ut_broker.admin_port == 0)
		cr_skip_test("no admin port for the external broker");
}

static void
has(const char *text, const char *want)
{
	cr_assert(strstr(text, want) != NULL, "\n  missing: %s\n  in: %.3000s",
	    want, text);
}

Test(api_definitions, rabbitmq_export_imports_and_acts)
{
	amqp_connection_state_t c;
	amqp_rpc_reply_t r;
	char *defs = slurp("definitions-rabbitmq-3.10-full.json"), *s;

	need_admin();
	s = call("POST", "/api/definitions", defs, 204);
	cr_assert_str_eq(s, "");
	has(call("GET", "/api/policies/dv", NULL, 200),
	    "{\"vhost\":\"dv\",\"name\":\"ttl\",\"pattern\":\"^q\","
	    "\"apply-to\":\"queues\",\"definition\":{\"max-length\":50,"
	    "\"message-ttl\":30000,\"overflow\":\"reject-publish\"},"
	    "\"priority\":2}");
	has(call("GET", "/api/operator-policies/dv/opcap", NULL, 200),
	    "\"definition\":{\"max-length\":1000}");
	cr_assert_str_eq(call("GET", "/api/vhost-limits/dv", NULL, 200),
	    "[{\"vhost\":\"dv\",\"value\":{\"max-queues\":100}}]");
	cr_assert_str_eq(call("GET", "/api/user-limits/mgmt", NULL, 200),
	    "[{\"user\":\"mgmt\",\"value\":{\"max-channels\":2,"
	    "\"max-connections\":1}}]");
	/* The user logs in with the password RabbitMQ hashed ("p"). */
	c = hb_connect_opts(&ut_broker, "dv", "mgmt", "p", 131072, 0, &r);
	cr_assert_not_null(c, "mgmt cannot log in to dv");
	hb_close(c);

	/*
	 * The aepol policy gives "main" its alternate exchange: an
	 * unroutable message goes to ae, bound to q2.
	 */
	c = hb_connect_opts(&ut_broker, "dv", "guest", "guest", 131072, 0,
	    &r);
	cr_assert_not_null(c);
	ut_channel(c, 1);
	ut_publish(c, 1, "main", "zzz", "alt");
	cr_assert_eq(ut_count(c, 1, "q2"), 1);
	ut_expect_get(c, 1, "q2", "alt");
	/* And "ttl" caps q1 at 50 (below its x-max-length of 100). */
	for (int i = 0; i < 60; i++)
		ut_publish(c, 1, "main", "a.b", "x");
	ut_sync(c, 1);
	cr_assert_eq(ut_count(c, 1, "q1"), 50);
	hb_close(c);

	/* The same file again changes nothing and is no error. */
	call("POST", "/api/definitions", defs, 204);
	free(defs);
}

Test(api_definitions, export_shape_and_round_trip)
{
	static struct hbroker other;
	char *defs = slurp("definitions-rabbitmq-3.10-full.json");
	char *out, *again;

	need_admin();
	call("POST", "/api/definitions", defs, 204);
	out = call("GET", "/api/definitions", NULL, 200);
	/* RabbitMQ 3.10's members, in its order. */
	cr_assert(strncmp(out, "{\"rabbit_version\":", 18) == 0, "%s", out);
	has(out, "\"rabbitmq_version\":");
	has(out, "\"product_name\":\"warren\"");
	has(out, "\"users\":[");
	has(out, "{\"name\":\"mgmt\",\"password_hash\":\"upPNgK6vwoP1XuKvHZTxUl"
	    "sw+/yhHaN2dWTHKQ3tdjHxIYsp\",\"hashing_algorithm\":"
	    "\"rabbit_password_hashing_sha256\",\"tags\":[\"management\"],"
	    "\"limits\":{\"max-channels\":2,\"max-connections\":1}}");
	has(out, "\"vhosts\":[");
	has(out, "{\"user\":\"mgmt\",\"vhost\":\"dv\",\"configure\":\"^mg\","
	    "\"write\":\".*\",\"read\":\"\"}");
	has(out, "\"topic_permissions\":[{\"user\":\"mgmt\",\"vhost\":\"dv\","
	    "\"exchange\":\"amq.topic\",\"write\":\"^a\",\"read\":\".*\"}]");
	has(out, "{\"value\":{\"max-queues\":100},\"vhost\":\"dv\","
	    "\"component\":\"vhost-limits\",\"name\":\"limits\"}");
	has(out, "{\"value\":{\"pattern\":\".*\",\"definition\":"
	    "{\"max-length\":1000},\"priority\":0,\"apply-to\":\"queues\"},"
	    "\"vhost\":\"dv\",\"component\":\"operator_policy\","
	    "\"name\":\"opcap\"}");
	has(out, "\"global_parameters\":[]");
	has(out, "{\"name\":\"qq\",\"vhost\":\"dv\",\"durable\":true,"
	    "\"auto_delete\":false,\"arguments\":{\"x-delivery-limit\":3,"
	    "\"x-queue-type\":\"quorum\"}}");
	has(out, "{\"name\":\"main\",\"vhost\":\"dv\",\"type\":\"topic\","
	    "\"durable\":true,\"auto_delete\":false,\"internal\":false,"
	    "\"arguments\":{\"alternate-exchange\":\"ae\"}}");
	has(out, "{\"source\":\"main\",\"vhost\":\"dv\",\"destination\":"
	    "\"hdr\",\"destination_type\":\"exchange\",\"routing_key\":\"k\","
	    "\"arguments\":{\"h\":\"v\",\"x-match\":\"any\"}}");
	/* Built-in exchanges and the default exchange's bindings are not. */
	cr_assert(strstr(out, "amq.direct") == NULL);
	cr_assert(strstr(out, "\"source\":\"\"") == NULL);

	/* Into a fresh warren, it gives the same export. */
	hb_start(&other, NULL);
	call_b(&other, GUEST, "POST", "/api/definitions", out, 204);
	again = call_b(&other, GUEST, "GET", "/api/definitions", NULL, 200);
	cr_assert_eq(strlen(again), strlen(out), "\n%s\n%s", out, again);
	hb_stop(&other);
	free(defs);
}

Test(api_definitions, per_vhost)
{
	amqp_connection_state_t c;
	amqp_rpc_reply_t r;
	char *defs = slurp("definitions-rabbitmq-3.10-vhost.json"), *out;

	need_admin();
	call("PUT", "/api/vhosts/v2", "{}", 201);
	/* A vhost's file names no vhost: everything goes to v2. */
	call("POST", "/api/definitions/v2", defs, 204);
	has(call("GET", "/api/policies/v2", NULL, 200), "\"name\":\"ttl\"");
	cr_assert_str_eq(call("GET", "/api/vhost-limits/v2", NULL, 200),
	    "[{\"vhost\":\"v2\",\"value\":{\"max-queues\":100}}]");
	c = hb_connect_opts(&ut_broker, "v2", "guest", "guest", 131072, 0,
	    &r);
	cr_assert_not_null(c);
	cr_assert(ut_queue_exists(c, "qq"));
	cr_assert(ut_exchange_exists(c, "main"));
	hb_close(c);

	out = call("GET", "/api/definitions/v2", NULL, 200);
	cr_assert(strncmp(out, "{\"rabbit_version\":", 18) == 0, "%s", out);
	cr_assert(strstr(out, "\"users\"") == NULL);
	cr_assert(strstr(out, "\"vhosts\"") == NULL);
	cr_assert(strstr(out, "\"permissions\"") == NULL);
	has(out, "\"policies\":[{\"name\":");
	has(out, "{\"name\":\"q1\",\"durable\":true,\"auto_delete\":false,"
	    "\"arguments\":{\"x-max-length\":100,\"x-message-ttl\":60000}}");
	has(out, "{\"source\":\"ae\",\"destination\":\"q2\","
	    "\"destination_type\":\"queue\",\"routing_key\":\"\","
	    "\"arguments\":{}}");
	/* Which imports into another vhost as it is. */
	call("PUT", "/api/vhosts/v3", "{}", 201);
	call("POST", "/api/definitions/v3", out, 204);
	has(call("GET", "/api/policies/v3", NULL, 200), "\"name\":\"aepol\"");
	free(defs);
}

Test(api_definitions, bad_input)
{
	char *before;

	need_admin();
	before = call("GET", "/api/definitions", NULL, 200);
	call("POST", "/api/definitions", "not json", 400);
	call("POST", "/api/definitions", "[1]", 400);
	/* Validated first: the good queue before the bad policy stays out. */
	has(call("POST", "/api/definitions", "{\"queues\":[{\"name\":\"okq\","
	    "\"vhost\":\"/\",\"durable\":true,\"auto_delete\":false,"
	    "\"arguments\":{}}],\"policies\":[{\"vhost\":\"/\",\"name\":"
	    "\"bad\",\"pattern\":\".*\",\"definition\":{\"foo\":1}}]}", 400),
	    "are not recognised policy settings\\n (//bad)");
	has(call("POST", "/api/definitions", "{\"queues\":[{\"name\":\"q\","
	    "\"vhost\":\"/\",\"auto_delete\":false}]}", 400),
	    "queues[0].durable: missing");
	cr_assert_str_eq(call("GET", "/api/definitions", NULL, 200), before);
	cr_assert_str_eq(call("POST", "/api/definitions/nope", "{}", 404),
	    "{\"error\":\"not_found\",\"reason\":\"vhost_not_found\"}");
	call("GET", "/api/definitions/nope", NULL, 404);
	/* Administrators only. */
	call("PUT", "/api/users/mg", "{\"password\":\"pw\",\"tags\":"
	    "\"management,policymaker,monitoring\"}", 201);
	cr_assert_str_eq(call_b(&ut_broker, "mg:pw", "GET",
	    "/api/definitions", NULL, 401), "{\"error\":\"not_authorised\","
	    "\"reason\":\"Not administrator user\"}");
	call_b(&ut_broker, "mg:pw", "POST", "/api/definitions", "{}", 401);
}

Test(api_definitions, imported_objects_survive_restart)
{
	char *defs = slurp("definitions-rabbitmq-3.10-full.json"), *before;
	char *after;

	need_admin();
	call("POST", "/api/definitions", defs, 204);
	before = call("GET", "/api/definitions", NULL, 200);
	cr_assert_eq(hb_halt(&ut_broker, SIGTERM), 0);
	hb_restart(&ut_broker, NULL);
	/* The same objects; a hash map's order may differ. */
	after = call("GET", "/api/definitions", NULL, 200);
	cr_assert_eq(strlen(after), strlen(before), "\n%s\n%s", before,
	    after);
	has(after, "\"name\":\"opcap\"");
	has(after, "\"policies\":[{\"vhost\":\"dv\",\"name\":\"aepol\"");
	has(after, "\"limits\":{\"max-channels\":2,\"max-connections\":1}");
	has(after, "\"value\":{\"max-queues\":100}");
	free(defs);
}

/* warren's export into a real RabbitMQ 3.10, when one is given. */
Test(api_definitions, export_imports_into_rabbitmq)
{
	const char *port = getenv("WARREN_TEST_RABBITMQ_ADMIN_PORT");
	struct hbroker rmq = { 0 };
	char *defs = slurp("definitions-rabbitmq-3.10-full.json"), *out;

	need_admin();
	if (port == NULL)
		cr_skip_test("WARREN_TEST_RABBITMQ_ADMIN_PORT is not set");
	call("POST", "/api/definitions", defs, 204);
	call("PUT", "/api/vhosts/fromwarren", "{\"description\":\"d\"}", 201);
	call("PUT", "/api/policies/fromwarren/wp", "{\"pattern\":\"^w\","
	    "\"definition\":{\"max-length\":3,\"dead-letter-exchange\":"
	    "\"dl\"},\"priority\":4,\"apply-to\":\"queues\"}", 201);
	out = call("GET", "/api/definitions", NULL, 200);
	rmq.admin_port = atoi(port);
	rmq.external = true;
	snprintf(rmq.host, sizeof(rmq.host), "127.0.0.1");
	call_b(&rmq, GUEST, "POST", "/api/definitions", out, 204);
	has(call_b(&rmq, GUEST, "GET", "/api/policies/fromwarren/wp", NULL,
	    200), "\"definition\":{\"dead-letter-exchange\":\"dl\","
	    "\"max-length\":3},\"priority\":4");
	has(call_b(&rmq, GUEST, "GET", "/api/operator-policies", NULL, 200),
	    "\"name\":\"opcap\"");
	has(call_b(&rmq, GUEST, "GET", "/api/user-limits/mgmt", NULL, 200),
	    "\"max-channels\":2");
	call_b(&rmq, GUEST, "DELETE", "/api/vhosts/fromwarren", NULL, 204);
	free(defs);
}
