/*
 * /api/policies and /api/operator-policies end to end: the answers and
 * RabbitMQ 3.10's reasons for bad input (sampled from RabbitMQ 3.10.8),
 * and what a policy does to queues and exchanges seen from an AMQP
 * client: at once on existing ones, the smallest numeric value winning
 * between arguments, policy and operator policy, arguments winning for
 * the rest, and all of it after a restart.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

#define GUEST	"guest:guest"

TestSuite(api_policies, .init = ut_setup, .fini = ut_teardown,
    .timeout = 60);

/* One request as user; asserts the status, returns the body (static). */
static const char *
call_as(const char *user, const char *method, const char *path,
    const char *body, int want)
{
	return hb_http_call(&ut_broker, user, method, path, body, want);
}

static const char *
call(const char *method, const char *path, const char *body, int want)
{
	return call_as(GUEST, method, path, body, want);
}

static void
need_admin(void)
{
	if (ut_broker.admin_port == 0)
		cr_skip_test("no admin port for the external broker");
}

static void
body_is(const char *got, const char *want)
{
	cr_assert_str_eq(got, want, "\n  got: %s\n want: %s", got, want);
}

static void
publish_n(amqp_connection_state_t c, const char *q, int n)
{
	char body[16];

	for (int i = 1; i <= n; i++) {
		snprintf(body, sizeof(body), "m%d", i);
		ut_publish(c, 1, "", q, body);
	}
	ut_sync(c, 1);
}

Test(api_policies, lifecycle_and_shape)
{
	need_admin();
	body_is(call("GET", "/api/policies", NULL, 200), "[]");
	call("PUT", "/api/policies/%2F/p1", "{\"pattern\":\"^a\","
	    "\"definition\":{\"message-ttl\":1000,\"max-length\":5,"
	    "\"dead-letter-exchange\":\"dlx\",\"queue-mode\":\"lazy\"},"
	    "\"priority\":2,\"apply-to\":\"queues\"}", 201);
	/* Keys sorted, JSON types kept, as RabbitMQ shows them. */
	body_is(call("GET", "/api/policies/%2F/p1", NULL, 200),
	    "{\"vhost\":\"/\",\"name\":\"p1\",\"pattern\":\"^a\","
	    "\"apply-to\":\"queues\",\"definition\":{\"dead-letter-exchange\":"
	    "\"dlx\",\"max-length\":5,\"message-ttl\":1000,\"queue-mode\":"
	    "\"lazy\"},\"priority\":2}");
	/* An update answers 204; priority may come as a string. */
	call("PUT", "/api/policies/%2F/p1", "{\"pattern\":\"^b\","
	    "\"definition\":{\"expires\":60000},\"priority\":\"7\"}", 204);
	body_is(call("GET", "/api/policies/%2F", NULL, 200),
	    "[{\"vhost\":\"/\",\"name\":\"p1\",\"pattern\":\"^b\","
	    "\"apply-to\":\"all\",\"definition\":{\"expires\":60000},"
	    "\"priority\":7}]");
	call("DELETE", "/api/policies/%2F/p1", NULL, 204);
	body_is(call("DELETE", "/api/policies/%2F/p1", NULL, 404),
	    "{\"error\":\"Object Not Found\",\"reason\":\"Not Found\"}");
	call("GET", "/api/policies/%2F/p1", NULL, 404);
	body_is(call("GET", "/api/policies", NULL, 200), "[]");

	call("PUT", "/api/operator-policies/%2F/op", "{\"pattern\":\".*\","
	    "\"definition\":{\"max-length\":100}}", 201);
	body_is(call("GET", "/api/operator-policies", NULL, 200),
	    "[{\"vhost\":\"/\",\"name\":\"op\",\"pattern\":\".*\","
	    "\"apply-to\":\"all\",\"definition\":{\"max-length\":100},"
	    "\"priority\":0}]");
	/* The two kinds are apart. */
	body_is(call("GET", "/api/policies", NULL, 200), "[]");
	call("DELETE", "/api/operator-policies/%2F/op", NULL, 204);
	call("DELETE", "/api/operator-policies/%2F/op", NULL, 404);
}

/* compat: RabbitMQ 3.10.8's answers, HTML escaping included. */
Test(api_policies, bad_input)
{
	static const struct {
		const char	*body, *reason;
	} cases[] = {
		{ "{\"pattern\":\".*\",\"definition\":{\"x-max-priority\":5}}",
		  "Validation failed\\n\\n[{&lt;&lt;\\\"x-max-priority\\\""
		  "&gt;&gt;,5}] are not recognised policy settings\\n" },
		{ "{\"pattern\":\".*\",\"definition\":{\"max-priority\":5}}",
		  "Validation failed\\n\\n[{&lt;&lt;\\\"max-priority\\\""
		  "&gt;&gt;,5}] are not recognised policy settings\\n" },
		{ "{\"pattern\":\".*\",\"definition\":{\"queue-type\":"
		  "\"quorum\"}}", "Validation failed\\n\\n[{&lt;&lt;\\\""
		  "queue-type\\\"&gt;&gt;,&lt;&lt;\\\"quorum\\\"&gt;&gt;}] "
		  "are not recognised policy settings\\n" },
		{ "{\"pattern\":\".*\",\"definition\":"
		  "{\"single-active-consumer\":true}}", "Validation failed"
		  "\\n\\n[{&lt;&lt;\\\"single-active-consumer\\\"&gt;&gt;,"
		  "true}] are not recognised policy settings\\n" },
		{ "{\"pattern\":\".*\",\"definition\":{\"ha-mode\":\"all\"}}",
		  "Validation failed\\n\\n[{&lt;&lt;\\\"ha-mode\\\"&gt;&gt;,"
		  "&lt;&lt;\\\"all\\\"&gt;&gt;}] are not recognised policy "
		  "settings\\n" },
		{ "{\"pattern\":\".*\",\"definition\":{\"foo\":1,\"bar\":"
		  "\"s\"}}", "Validation failed\\n\\n[{&lt;&lt;\\\"bar\\\""
		  "&gt;&gt;,&lt;&lt;\\\"s\\\"&gt;&gt;},{&lt;&lt;\\\"foo\\\""
		  "&gt;&gt;,1}] are not recognised policy settings\\n" },
		/* A bad known key is named before unknown ones. */
		{ "{\"pattern\":\".*\",\"definition\":{\"foo\":1,"
		  "\"message-ttl\":\"x\"}}", "Validation failed\\n\\n&lt;&lt;"
		  "\\\"x\\\"&gt;&gt; is not a valid message TTL\\n" },
		{ "{\"pattern\":\".*\",\"definition\":{\"message-ttl\":-1}}",
		  "Validation failed\\n\\n-1 is not a valid message TTL\\n" },
		{ "{\"pattern\":\".*\",\"definition\":{\"message-ttl\":1.5}}",
		  "Validation failed\\n\\n1.5 is not a valid message TTL\\n" },
		{ "{\"pattern\":\".*\",\"definition\":{\"max-length\":-5}}",
		  "Validation failed\\n\\n-5 is not a valid maximum "
		  "length\\n" },
		{ "{\"pattern\":\".*\",\"definition\":{\"expires\":0}}",
		  "Validation failed\\n\\n0 is not a valid queue expiry\\n" },
		{ "{\"pattern\":\".*\",\"definition\":{\"overflow\":"
		  "\"bogus\"}}", "Validation failed\\n\\n&lt;&lt;\\\"bogus"
		  "\\\"&gt;&gt; is not a valid overflow value\\n" },
		{ "{\"pattern\":\".*\",\"definition\":"
		  "{\"dead-letter-exchange\":5}}", "Validation failed\\n\\n5 "
		  "is not a valid dead letter exchange name\\n" },
		{ "{\"pattern\":\".*\",\"definition\":"
		  "{\"alternate-exchange\":1}}", "Validation failed\\n\\n1 "
		  "is not a valid alternate exchange name\\n" },
		{ "{\"pattern\":\".*\",\"definition\":{\"delivery-limit\":-1}}",
		  "Validation failed\\n\\n-1 is not a valid delivery "
		  "limit\\n" },
		{ "{\"pattern\":\".*\",\"definition\":{\"queue-mode\":"
		  "\"foo\"}}", "Validation failed\\n\\n&lt;&lt;\\\"foo\\\""
		  "&gt;&gt; is not a valid queue-mode value\\n" },
		{ "{\"pattern\":\".*\",\"definition\":{}}",
		  "Validation failed\\n\\nno policy provided\\n" },
		{ "{\"definition\":{\"message-ttl\":1}}",
		  "[{key_missing,pattern}]" },
		{ "{\"pattern\":\".*\"}", "[{key_missing,definition}]" },
		{ "{\"pattern\":5,\"definition\":{\"message-ttl\":1}}",
		  "Validation failed\\n\\npattern should be a binary but was "
		  "5\\n" },
		{ "{\"pattern\":\".*\",\"definition\":{\"message-ttl\":1},"
		  "\"priority\":\"x\"}", "Validation failed\\n\\npriority "
		  "should be a number, actually was &lt;&lt;\\\"x\\\"&gt;&gt;"
		  "\\n" },
		{ "{\"pattern\":\".*\",\"definition\":{\"message-ttl\":1},"
		  "\"apply-to\":\"bogus\"}", "Validation failed\\n\\napply-to "
		  "'bogus' unrecognised; should be 'queues', 'classic_queues',"
		  " 'quorum_queues', 'exchanges' or 'all'\\n" },
		{ "not json", "not_json" },
	};
	char want[1024];

	need_admin();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(want, sizeof(want), "{\"error\":\"bad_request\","
		    "\"reason\":\"%s\"}", cases[i].reason);
		body_is(call("PUT", "/api/policies/%2F/bad", cases[i].body,
		    400), want);
	}
	/* A pattern that does not compile; PCRE2 words it its own way. */
	cr_assert(strstr(call("PUT", "/api/policies/%2F/bad", "{\"pattern\":"
	    "\"(\",\"definition\":{\"message-ttl\":1}}", 400), "pattern "
	    "should be regular expression but is invalid: {") != NULL);
	/* Operator policies take fewer keys, and RabbitMQ escapes nothing. */
	body_is(call("PUT", "/api/operator-policies/%2F/bad", "{\"pattern\":"
	    "\".*\",\"definition\":{\"overflow\":\"reject-publish\"}}", 400),
	    "{\"error\":\"bad_request\",\"reason\":\"Validation failed\\n\\n"
	    "[{<<\\\"overflow\\\">>,<<\\\"reject-publish\\\">>}] are not "
	    "recognised policy settings\\n\"}");
	body_is(call("PUT", "/api/operator-policies/%2F/bad", "{\"pattern\":"
	    "\".*\",\"definition\":{\"alternate-exchange\":\"x\"}}", 400),
	    "{\"error\":\"bad_request\",\"reason\":\"Validation failed\\n\\n"
	    "[{<<\\\"alternate-exchange\\\">>,<<\\\"x\\\">>}] are not "
	    "recognised policy settings\\n\"}");
	/* Unknown vhosts. */
	body_is(call("PUT", "/api/policies/nope/p", "{\"pattern\":\".*\","
	    "\"definition\":{\"message-ttl\":1}}", 404),
	    "{\"error\":\"not_found\",\"reason\":\"vhost_not_found\"}");
	call("GET", "/api/policies/nope", NULL, 404);
	call("GET", "/api/policies/nope/p", NULL, 404);
	call("DELETE", "/api/policies/nope/p", NULL, 404);
	/* Nothing was made by any of it. */
	body_is(call("GET", "/api/policies", NULL, 200), "[]");
	body_is(call("GET", "/api/operator-policies", NULL, 200), "[]");
}

Test(api_policies, tags)
{
	const char *mg = "mg:pw", *pm = "pm:pw";

	need_admin();
	call("PUT", "/api/users/mg", "{\"password\":\"pw\",\"tags\":"
	    "\"management\"}", 201);
	call("PUT", "/api/users/pm", "{\"password\":\"pw\",\"tags\":"
	    "\"policymaker\"}", 201);
	call("PUT", "/api/permissions/%2F/mg", "{\"configure\":\".*\","
	    "\"write\":\".*\",\"read\":\".*\"}", 201);
	call("PUT", "/api/policies/%2F/p", "{\"pattern\":\".*\","
	    "\"definition\":{\"message-ttl\":1}}", 201);
	call("PUT", "/api/operator-policies/%2F/op", "{\"pattern\":\".*\","
	    "\"definition\":{\"message-ttl\":1}}", 201);
	/* A management user lists the policies of its vhosts... */
	cr_assert(strstr(call_as(mg, "GET", "/api/policies", NULL, 200),
	    "\"name\":\"p\"") != NULL);
	cr_assert(strstr(call_as(mg, "GET", "/api/operator-policies", NULL,
	    200), "\"name\":\"op\"") != NULL);
	/* ...but shows, sets and deletes none. */
	body_is(call_as(mg, "GET", "/api/policies/%2F/p", NULL, 401),
	    "{\"error\":\"not_authorised\",\"reason\":\"User not authorised "
	    "to access object\"}");
	call_as(mg, "PUT", "/api/policies/%2F/q", "{\"pattern\":\".*\","
	    "\"definition\":{\"message-ttl\":1}}", 401);
	/* A policymaker without rights in / sees nothing there. */
	body_is(call_as(pm, "GET", "/api/policies", NULL, 200), "[]");
	body_is(call_as(pm, "GET", "/api/policies/%2F", NULL, 401),
	    "{\"error\":\"not_authorised\",\"reason\":\"User not authorised "
	    "to access virtual host\"}");
	call("PUT", "/api/permissions/%2F/pm", "{\"configure\":\".*\","
	    "\"write\":\".*\",\"read\":\".*\"}", 201);
	call_as(pm, "PUT", "/api/policies/%2F/q", "{\"pattern\":\".*\","
	    "\"definition\":{\"message-ttl\":1}}", 201);
	call_as(pm, "DELETE", "/api/policies/%2F/q", NULL, 204);
	/* Operator policies are the administrators'. */
	body_is(call_as(pm, "PUT", "/api/operator-policies/%2F/o2",
	    "{\"pattern\":\".*\",\"definition\":{\"message-ttl\":1}}", 401),
	    "{\"error\":\"not_authorised\",\"reason\":\"Not administrator "
	    "user\"}");
	call_as(pm, "GET", "/api/operator-policies/%2F/op", NULL, 401);
}

Test(api_policies, message_ttl_policy_expires_messages)
{
	amqp_connection_state_t c;
	char *q;

	need_admin();
	c = ut_connect();
	q = ut_queue(c, 1, "ttlq");
	call("PUT", "/api/policies/%2F/ttl", "{\"pattern\":\"^ttlq\","
	    "\"definition\":{\"message-ttl\":100},\"apply-to\":\"queues\"}",
	    201);
	publish_n(c, q, 3);
	cr_assert_eq(ut_count(c, 1, q), 3);
	usleep(300 * 1000);
	cr_assert_eq(ut_count(c, 1, q), 0, "the policy's TTL did not act");
	/* Gone again with the policy. */
	call("DELETE", "/api/policies/%2F/ttl", NULL, 204);
	publish_n(c, q, 1);
	usleep(300 * 1000);
	cr_assert_eq(ut_count(c, 1, q), 1);
	hb_close(c);
}

Test(api_policies, max_length_policy_trims_existing_queue)
{
	amqp_connection_state_t c;
	char *q;

	need_admin();
	c = ut_connect();
	q = ut_queue(c, 1, "mlq");
	publish_n(c, q, 5);
	cr_assert_eq(ut_count(c, 1, q), 5);
	call("PUT", "/api/policies/%2F/ml", "{\"pattern\":\"^mlq\","
	    "\"definition\":{\"max-length\":2}}", 201);
	/* At once, dropping the head (the default overflow). */
	cr_assert_eq(ut_count(c, 1, q), 2);
	ut_expect_get(c, 1, q, "m4");
	ut_expect_get(c, 1, q, "m5");
	/* And for what comes next. */
	publish_n(c, q, 3);
	cr_assert_eq(ut_count(c, 1, q), 2);
	/* A policy for exchanges only leaves queues alone. */
	call("PUT", "/api/policies/%2F/ml", "{\"pattern\":\"^mlq\","
	    "\"definition\":{\"max-length\":1},\"apply-to\":\"exchanges\"}",
	    204);
	publish_n(c, q, 3);
	cr_assert_eq(ut_count(c, 1, q), 5);
	hb_close(c);
}

Test(api_policies, highest_priority_applies)
{
	amqp_connection_state_t c;
	char *q;

	need_admin();
	c = ut_connect();
	q = ut_queue(c, 1, "prq");
	call("PUT", "/api/policies/%2F/low", "{\"pattern\":\"^prq\","
	    "\"definition\":{\"max-length\":1},\"priority\":1}", 201);
	call("PUT", "/api/policies/%2F/high", "{\"pattern\":\"prq\","
	    "\"definition\":{\"max-length\":3},\"priority\":5}", 201);
	publish_n(c, q, 5);
	cr_assert_eq(ut_count(c, 1, q), 3);
	call("DELETE", "/api/policies/%2F/high", NULL, 204);
	cr_assert_eq(ut_count(c, 1, q), 1);
	hb_close(c);
}

/* The smaller of argument, policy and operator policy wins. */
Test(api_policies, smallest_limit_wins)
{
	amqp_connection_state_t c;
	amqp_table_entry_t e = { amqp_cstring_bytes("x-max-length"),
	    { .kind = AMQP_FIELD_KIND_I32, .value.i32 = 4 } };
	amqp_table_t args = { 1, &e };
	const char *q;
	char path[256];

	need_admin();
	c = ut_connect();
	q = hb_name("smq");
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 0, 0, 0, args);
	ut_ok(c, "declare");
	/* A larger policy value does not lift the argument's. */
	call("PUT", "/api/policies/%2F/big", "{\"pattern\":\"^smq\","
	    "\"definition\":{\"max-length\":10}}", 201);
	publish_n(c, q, 6);
	cr_assert_eq(ut_count(c, 1, q), 4);
	/* The operator policy is stricter: it wins over both. */
	call("PUT", "/api/operator-policies/%2F/cap", "{\"pattern\":\"^smq\","
	    "\"definition\":{\"max-length\":2}}", 201);
	cr_assert_eq(ut_count(c, 1, q), 2);
	/* The queue names both, and the stricter value as the effective one. */
	snprintf(path, sizeof(path), "/api/queues/%%2F/%s?columns=policy,"
	    "operator_policy,effective_policy_definition", q);
	body_is(call("GET", path, NULL, 200), "{\"policy\":\"big\","
	    "\"operator_policy\":\"cap\",\"effective_policy_definition\":"
	    "{\"max-length\":2}}");
	/* A policy stricter than the operator's wins in turn. */
	call("PUT", "/api/policies/%2F/big", "{\"pattern\":\"^smq\","
	    "\"definition\":{\"max-length\":1}}", 204);
	cr_assert_eq(ut_count(c, 1, q), 1);
	hb_close(c);
}

/* A queue's x-dead-letter-exchange beats the policy's. */
Test(api_policies, argument_beats_policy)
{
	amqp_connection_state_t c;
	amqp_table_entry_t e = { amqp_cstring_bytes("x-dead-letter-exchange"),
	    { .kind = AMQP_FIELD_KIND_UTF8,
	    .value.bytes = amqp_cstring_bytes("dlx-arg") } };
	amqp_table_t args = { 1, &e };
	char *qa, *qp, *q, *q2;

	need_admin();
	c = ut_connect();
	ut_exchange(c, 1, "dlx-arg", "fanout");
	ut_exchange(c, 1, "dlx-pol", "fanout");
	qa = ut_queue(c, 1, "dla");
	qp = ut_queue(c, 1, "dlp");
	ut_bind(c, 1, qa, "dlx-arg", "", amqp_empty_table);
	ut_bind(c, 1, qp, "dlx-pol", "", amqp_empty_table);
	q = strdup(hb_name("abq"));
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 0, 0, 0, args);
	ut_ok(c, "declare");
	q2 = ut_queue(c, 1, "abq");
	call("PUT", "/api/policies/%2F/dl", "{\"pattern\":\"^abq\","
	    "\"definition\":{\"dead-letter-exchange\":\"dlx-pol\","
	    "\"max-length\":1}}", 201);
	publish_n(c, q, 2);
	cr_assert_eq(ut_count(c, 1, qa), 1, "the argument's DLX lost");
	cr_assert_eq(ut_count(c, 1, qp), 0);
	/* Without an argument, the policy's dead-letter exchange acts. */
	publish_n(c, q2, 2);
	cr_assert_eq(ut_count(c, 1, qp), 1);
	ut_expect_get(c, 1, qp, "m1");
	hb_close(c);
}

Test(api_policies, alternate_exchange_policy)
{
	amqp_connection_state_t c;
	char *aq;

	need_admin();
	c = ut_connect();
	ut_exchange(c, 1, "aepx", "direct");
	ut_exchange(c, 1, "aepx-ae", "fanout");
	aq = ut_queue(c, 1, "aeq");
	ut_bind(c, 1, aq, "aepx-ae", "", amqp_empty_table);
	ut_publish(c, 1, "aepx", "nowhere", "lost");
	cr_assert_eq(ut_count(c, 1, aq), 0);
	call("PUT", "/api/policies/%2F/ae", "{\"pattern\":\"^aepx$\","
	    "\"definition\":{\"alternate-exchange\":\"aepx-ae\"},"
	    "\"apply-to\":\"exchanges\"}", 201);
	ut_publish(c, 1, "aepx", "nowhere", "kept");
	cr_assert_eq(ut_count_wait(c, 1, aq, 1, 2000), 1);
	ut_expect_get(c, 1, aq, "kept");
	call("DELETE", "/api/policies/%2F/ae", NULL, 204);
	ut_publish(c, 1, "aepx", "nowhere", "lost");
	cr_assert_eq(ut_count(c, 1, aq), 0);
	hb_close(c);
}

Test(api_policies, survive_restart)
{
	amqp_connection_state_t c;
	const char *q = "durq-policy";

	need_admin();
	c = ut_connect();
	amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 1, 0, 0,
	    amqp_empty_table);
	ut_ok(c, "declare");
	call("PUT", "/api/policies/%2F/keep", "{\"pattern\":\"^durq\","
	    "\"definition\":{\"max-length\":2},\"priority\":3,"
	    "\"apply-to\":\"queues\"}", 201);
	call("PUT", "/api/operator-policies/%2F/opkeep", "{\"pattern\":"
	    "\"^durq\",\"definition\":{\"message-ttl\":60000}}", 201);
	call("PUT", "/api/policies/%2F/gone", "{\"pattern\":\"x\","
	    "\"definition\":{\"expires\":60000}}", 201);
	call("DELETE", "/api/policies/%2F/gone", NULL, 204);
	hb_close(c);
	cr_assert_eq(hb_halt(&ut_broker, SIGTERM), 0);
	hb_restart(&ut_broker, NULL);
	body_is(call("GET", "/api/policies", NULL, 200),
	    "[{\"vhost\":\"/\",\"name\":\"keep\",\"pattern\":\"^durq\","
	    "\"apply-to\":\"queues\",\"definition\":{\"max-length\":2},"
	    "\"priority\":3}]");
	body_is(call("GET", "/api/operator-policies", NULL, 200),
	    "[{\"vhost\":\"/\",\"name\":\"opkeep\",\"pattern\":\"^durq\","
	    "\"apply-to\":\"all\",\"definition\":{\"message-ttl\":60000},"
	    "\"priority\":0}]");
	/* And it still acts on the recovered queue. */
	c = ut_connect();
	publish_n(c, q, 4);
	cr_assert_eq(ut_count(c, 1, q), 2);
	hb_close(c);
}

/* An expires policy deletes an unused queue; one on a queue in use waits. */
Test(api_policies, expires_policy_deletes_unused_queue)
{
	amqp_connection_state_t c;
	char *q, *busy;

	need_admin();
	c = ut_connect();
	q = strdup(ut_queue(c, 1, "expq"));
	busy = strdup(ut_queue(c, 1, "expq"));
	amqp_basic_consume(c, 1, amqp_cstring_bytes(busy), amqp_empty_bytes,
	    0, 0, 0, amqp_empty_table);
	ut_ok(c, "consume");
	call("PUT", "/api/policies/%2F/exp", "{\"pattern\":\"^expq\","
	    "\"definition\":{\"expires\":200}}", 201);
	/* Not polled: a declare, passive too, is a use of the queue. */
	usleep(600 * 1000);
	cr_assert(!ut_queue_exists(c, q),
	    "the unused queue outlived its policy's expiry");
	cr_assert(ut_queue_exists(c, busy));
	hb_close(c);
}
