/*
 * /api/queues: declare (201 new, 204 existing, 400 inequivalent), show and
 * list with RabbitMQ 3.10's field names and JSON types, delete with
 * if-empty / if-unused, purge, get with each ackmode (checked afterwards
 * over AMQP), percent-encoded names, and bad inputs answered with 4xx
 * JSON and nothing changed. Expected answers were read from RabbitMQ
 * 3.10 with the same requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tests/integration/api_util.h"
#include "tests/integration/util.h"

TestSuite(api_queues, .init = ut_setup, .fini = ut_teardown, .timeout = 60);

#define B	(&ut_broker)

static void
need_admin(void)
{
	if (getenv("WARREN_TEST_URL") != NULL)
		cr_skip_test("needs a private broker");
}

/* Publishes body to queue through the API's default exchange. */
static void
publish(const char *queue, const char *body)
{
	char req[1024];

	snprintf(req, sizeof(req), "{\"routing_key\":\"%s\",\"payload\":"
	    "\"%s\",\"payload_encoding\":\"string\",\"properties\":{}}",
	    queue, body);
	au_call(B, NULL, "POST", "/api/exchanges/%2F/amq.default/publish", req,
	    200);
}

Test(api_queues, put_new_then_existing_and_fields)
{
	const struct json *q;
	struct au_reply *r;

	need_admin();
	au_call(B, NULL, "PUT", "/api/queues/%2F/aq", "{\"durable\":false,"
	    "\"auto_delete\":false,\"arguments\":{\"x-max-length\":5,"
	    "\"x-s\":\"v\",\"x-b\":true,\"x-f\":1.5}}", 201);
	cr_expect_str_eq(au_call(B, NULL, "PUT", "/api/queues/%2F/aq",
	    "{\"durable\":false,\"arguments\":{\"x-max-length\":5,"
	    "\"x-s\":\"v\",\"x-b\":true,\"x-f\":1.5}}", 204)->body, "");
	r = au_call(B, NULL, "GET", "/api/queues/%2F/aq", NULL, 200);
	q = r->json;
	cr_expect_str_eq(au_str(q, "name"), "aq");
	cr_expect_str_eq(au_str(q, "vhost"), "/");
	cr_expect_str_eq(au_str(q, "type"), "classic");
	cr_expect_str_eq(au_str(q, "state"), "running");
	au_str(q, "node");
	cr_expect(!au_bool(q, "durable"));
	cr_expect(!au_bool(q, "auto_delete"));
	cr_expect(!au_bool(q, "exclusive"));
	cr_expect_eq(au_int(au_member(q, "arguments", JSON_OBJECT),
	    "x-max-length"), 5);
	cr_expect_str_eq(au_str(json_get(q, "arguments"), "x-s"), "v");
	cr_expect(au_bool(json_get(q, "arguments"), "x-b"));
	cr_expect_eq(au_int(q, "consumers"), 0);
	cr_expect_eq(au_int(q, "messages"), 0);
	cr_expect_eq(au_int(q, "messages_ready"), 0);
	cr_expect_eq(au_int(q, "messages_unacknowledged"), 0);
	cr_expect_gt(au_int(q, "memory"), 0);
	au_member(q, "policy", JSON_NULL);
	au_member(q, "operator_policy", JSON_NULL);
	au_member(q, "effective_policy_definition", JSON_OBJECT);
	au_member(q, "exclusive_consumer_tag", JSON_NULL);
	au_member(q, "head_message_timestamp", JSON_NULL);
	au_member(q, "consumer_details", JSON_ARRAY);
	au_member(q, "incoming", JSON_ARRAY);
	au_member(q, "deliveries", JSON_ARRAY);
	/* RFC 3339 with milliseconds, as RabbitMQ writes it. */
	sleep(1);
	r = au_call(B, NULL, "GET", "/api/queues/%2F/aq", NULL, 200);
	cr_expect_eq(strlen(au_str(r->json, "idle_since")), 29, "%s",
	    au_str(r->json, "idle_since"));
	cr_expect_str_eq(au_str(r->json, "idle_since") + 23, "+00:00");
	/* The argument is in force over AMQP. */
	for (int i = 0; i < 7; i++)
		publish("aq", "m");
	cr_expect_eq(au_int(au_call(B, NULL, "GET", "/api/queues/%2F/aq", NULL,
	    200)->json, "messages_ready"), 5);
}

Test(api_queues, lenient_booleans_and_defaults)
{
	need_admin();
	/* compat: rabbitmqadmin v1 sends strings. */
	au_call(B, NULL, "PUT", "/api/queues/%2F/lq", "{\"durable\":\"true\","
	    "\"auto_delete\":\"false\"}", 201);
	cr_expect(au_bool(au_call(B, NULL, "GET", "/api/queues/%2F/lq", NULL,
	    200)->json, "durable"));
	/* An empty body: a transient queue. */
	au_call(B, NULL, "PUT", "/api/queues/%2F/eq", NULL, 201);
	cr_expect(!au_bool(au_call(B, NULL, "GET", "/api/queues/%2F/eq", NULL,
	    200)->json, "durable"));
}

Test(api_queues, inequivalent_is_400_and_changes_nothing)
{
	struct au_reply *r;

	need_admin();
	au_call(B, NULL, "PUT", "/api/queues/%2F/iq", "{\"durable\":false}",
	    201);
	r = au_call(B, NULL, "PUT", "/api/queues/%2F/iq", "{\"durable\":true}",
	    400);
	au_expect_error(r, "bad_request", "inequivalent arg 'durable' for "
	    "queue 'iq' in vhost '/': received 'true' but current is 'false'");
	cr_expect(!au_bool(au_call(B, NULL, "GET", "/api/queues/%2F/iq", NULL,
	    200)->json, "durable"));
	r = au_call(B, NULL, "PUT", "/api/queues/%2F/iq2",
	    "{\"arguments\":{\"x-max-length\":\"abc\"}}", 400);
	au_expect_error(r, "bad_request", "invalid arg 'x-max-length' for "
	    "queue 'iq2' in vhost '/': \"expected integer, got longstr\"");
	au_call(B, NULL, "GET", "/api/queues/%2F/iq2", NULL, 404);
}

Test(api_queues, missing_objects_are_404_json)
{
	need_admin();
	au_expect_error(au_call(B, NULL, "GET", "/api/queues/%2F/nope", NULL,
	    404), "Object Not Found", "Not Found");
	au_expect_error(au_call(B, NULL, "GET", "/api/queues/novh", NULL, 404),
	    "Object Not Found", "Not Found");
	au_expect_error(au_call(B, NULL, "DELETE", "/api/queues/%2F/nope?",
	    NULL, 404), "Object Not Found", "Not Found");
	au_expect_error(au_call(B, NULL, "DELETE",
	    "/api/queues/%2F/nope/contents", NULL, 404), "Object Not Found",
	    "Not Found");
	au_expect_error(au_call(B, NULL, "PUT", "/api/queues/novh/q", "{}",
	    404), "not_found", "vhost_not_found");
	au_expect_error(au_call(B, NULL, "POST", "/api/queues/%2F/nope/get",
	    "{\"count\":1,\"ackmode\":\"ack_requeue_true\",\"encoding\":"
	    "\"auto\"}", 404), "not_found",
	    "NOT_FOUND - no queue 'nope' in vhost '/'");
}

Test(api_queues, delete_if_empty_and_if_unused)
{
	amqp_connection_state_t c;

	need_admin();
	au_call(B, NULL, "PUT", "/api/queues/%2F/dq", "{}", 201);
	publish("dq", "x");
	au_expect_error(au_call(B, NULL, "DELETE",
	    "/api/queues/%2F/dq?if-empty=true", NULL, 400), "bad_request",
	    "queue 'dq' in vhost '/' not empty");
	au_call(B, NULL, "GET", "/api/queues/%2F/dq", NULL, 200);
	c = ut_connect();
	amqp_basic_consume(c, 1, amqp_cstring_bytes("dq"), amqp_empty_bytes,
	    0, 0, 0, amqp_empty_table);
	ut_ok(c, "basic.consume");
	au_expect_error(au_call(B, NULL, "DELETE",
	    "/api/queues/%2F/dq?if-unused=true", NULL, 400), "bad_request",
	    "queue 'dq' in vhost '/' in use");
	cr_expect_eq(au_int(au_call(B, NULL, "GET", "/api/queues/%2F/dq",
	    NULL, 200)->json, "consumers"), 1);
	/* compat: the bare "?" rabbit-hole always sends. */
	au_call(B, NULL, "DELETE", "/api/queues/%2F/dq?", NULL, 204);
	au_call(B, NULL, "GET", "/api/queues/%2F/dq", NULL, 404);
	hb_close(c);
}

Test(api_queues, purge_empties_the_queue)
{
	amqp_connection_state_t c;

	need_admin();
	au_call(B, NULL, "PUT", "/api/queues/%2F/pq", "{}", 201);
	for (int i = 0; i < 3; i++)
		publish("pq", "m");
	cr_expect_eq(au_int(au_call(B, NULL, "GET", "/api/queues/%2F/pq", NULL,
	    200)->json, "messages"), 3);
	cr_expect_str_eq(au_call(B, NULL, "DELETE",
	    "/api/queues/%2F/pq/contents", NULL, 204)->body, "");
	c = ut_connect();
	cr_expect_eq(ut_count(c, 1, "pq"), 0);
	hb_close(c);
}

/* One message in a fresh queue, got with mode; returns the reply. */
static struct au_reply *
get_one(const char *q, const char *mode, const char *extra)
{
	char path[128], body[256];

	snprintf(path, sizeof(path), "/api/queues/%%2F/%s", q);
	au_call(B, NULL, "PUT", path, "{\"arguments\":"
	    "{\"x-dead-letter-exchange\":\"amq.fanout\"}}", 201);
	publish(q, "hello");
	snprintf(path, sizeof(path), "/api/queues/%%2F/%s/get", q);
	snprintf(body, sizeof(body), "{\"count\":5,\"ackmode\":\"%s\","
	    "\"encoding\":\"auto\"%s}", mode, extra);
	return au_call(B, NULL, "POST", path, body, 200);
}

Test(api_queues, get_with_each_ackmode)
{
	amqp_connection_state_t c;
	amqp_basic_get_ok_t ok;
	const struct json *m;
	struct au_reply *r;
	char *body;

	need_admin();
	c = ut_connect();
	/* Dead letters of every queue below land in dlq. */
	amqp_queue_declare(c, 1, amqp_cstring_bytes("dlq"), 0, 0, 0, 0,
	    amqp_empty_table);
	ut_ok(c, "declare dlq");
	ut_bind(c, 1, "dlq", "amq.fanout", "", amqp_empty_table);

	r = get_one("g1", "ack_requeue_true", ",\"truncate\":3");
	cr_assert_eq(json_len(r->json), 1, "%s", r->body);
	m = json_at(r->json, 0);
	cr_expect_str_eq(au_str(m, "payload"), "hel");
	cr_expect_eq(au_int(m, "payload_bytes"), 5);
	cr_expect_str_eq(au_str(m, "payload_encoding"), "string");
	cr_expect(!au_bool(m, "redelivered"));
	cr_expect_str_eq(au_str(m, "exchange"), "");
	cr_expect_str_eq(au_str(m, "routing_key"), "g1");
	cr_expect_eq(au_int(m, "message_count"), 0);
	au_member(m, "properties", JSON_OBJECT);
	/* Requeued: still there, now redelivered. */
	body = ut_get(c, 1, "g1", true, &ok, NULL);
	cr_expect_str_eq(body, "hello");
	cr_expect(ok.redelivered);

	get_one("g2", "reject_requeue_true", "");
	body = ut_get(c, 1, "g2", true, &ok, NULL);
	cr_expect_str_eq(body, "hello");
	cr_expect(ok.redelivered);

	get_one("g3", "ack_requeue_false", "");
	ut_expect_empty(c, 1, "g3");

	/* Rejected without requeue: dead-lettered. */
	get_one("g4", "reject_requeue_false", "");
	ut_expect_empty(c, 1, "g4");
	ut_expect_get(c, 1, "dlq", "hello");
	ut_expect_empty(c, 1, "dlq");
	hb_close(c);
}

Test(api_queues, get_many_and_encodings)
{
	amqp_connection_state_t c;
	amqp_basic_properties_t p = { 0 };
	const struct json *m;
	struct au_reply *r;

	need_admin();
	au_call(B, NULL, "PUT", "/api/queues/%2F/eq", "{}", 201);
	c = ut_connect();
	p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_TIMESTAMP_FLAG;
	p.content_type = amqp_cstring_bytes("application/octet-stream");
	p.timestamp = 1700000000;
	ut_publish_full(c, 1, "", "eq", false, &p, (amqp_bytes_t){ 3,
	    "\xff\x00\x01" });
	ut_publish(c, 1, "", "eq", "text");
	cr_expect_eq(au_int(au_call(B, NULL, "GET", "/api/queues/%2F/eq", NULL,
	    200)->json, "head_message_timestamp"), 1700000000);
	r = au_call(B, NULL, "POST", "/api/queues/%2F/eq/get", "{\"count\":"
	    "\"5\",\"ackmode\":\"ack_requeue_true\",\"encoding\":\"auto\"}",
	    200);
	cr_assert_eq(json_len(r->json), 2, "%s", r->body);
	m = json_at(r->json, 0);
	/* Not UTF-8: base64 even with "auto". */
	cr_expect_str_eq(au_str(m, "payload"), "/wAB");
	cr_expect_str_eq(au_str(m, "payload_encoding"), "base64");
	cr_expect_eq(au_int(m, "message_count"), 1);
	cr_expect_str_eq(au_str(au_member(m, "properties", JSON_OBJECT),
	    "content_type"), "application/octet-stream");
	cr_expect_eq(au_int(json_get(m, "properties"), "timestamp"),
	    1700000000);
	cr_expect_eq(au_int(json_at(r->json, 1), "message_count"), 0);
	r = au_call(B, NULL, "POST", "/api/queues/%2F/eq/get", "{\"count\":1,"
	    "\"ackmode\":\"ack_requeue_false\",\"encoding\":\"base64\"}", 200);
	cr_expect(au_bool(json_at(r->json, 0), "redelivered"));
	cr_expect_eq(ut_count(c, 1, "eq"), 1);
	r = au_call(B, NULL, "POST", "/api/queues/%2F/eq/get", "{\"count\":1,"
	    "\"ackmode\":\"ack_requeue_false\",\"encoding\":\"base64\"}", 200);
	cr_expect_str_eq(au_str(json_at(r->json, 0), "payload"), "dGV4dA==");
	cr_expect_str_eq(au_call(B, NULL, "POST", "/api/queues/%2F/eq/get",
	    "{\"count\":1,\"ackmode\":\"ack_requeue_false\",\"encoding\":"
	    "\"auto\"}", 200)->body, "[]");
	hb_close(c);
}

Test(api_queues, get_bad_inputs_take_nothing)
{
	amqp_connection_state_t c;

	need_admin();
	au_call(B, NULL, "PUT", "/api/queues/%2F/bq", "{}", 201);
	publish("bq", "keep");
	au_expect_error(au_call(B, NULL, "POST", "/api/queues/%2F/bq/get",
	    "{\"ackmode\":\"ack_requeue_false\",\"encoding\":\"auto\"}", 400),
	    "bad_request", "[{key_missing,count}]");
	au_expect_error(au_call(B, NULL, "POST", "/api/queues/%2F/bq/get",
	    "{\"count\":1,\"ackmode\":\"ack_requeue_false\"}", 400),
	    "bad_request", "[{key_missing,encoding}]");
	au_expect_error(au_call(B, NULL, "POST", "/api/queues/%2F/bq/get",
	    "{\"count\":1,\"ackmode\":\"ack_requeue_false\",\"encoding\":"
	    "\"hex\"}", 400), "bad_request",
	    "Unsupported encoding. Please use auto or base64.");
	cr_expect_str_eq(au_call(B, NULL, "POST", "/api/queues/%2F/bq/get",
	    "{\"count\":\"x\",\"ackmode\":\"ack_requeue_false\",\"encoding\":"
	    "\"auto\"}", 400)->body,
	    "{\"error\":\"bad_request\",\"reason\":[\"not_integer\",\"x\"]}");
	au_call(B, NULL, "POST", "/api/queues/%2F/bq/get", "{\"count\":1,"
	    "\"ackmode\":\"ack_everything\",\"encoding\":\"auto\"}", 400);
	au_call(B, NULL, "POST", "/api/queues/%2F/bq/get", "{\"count\":", 400);
	c = ut_connect();
	ut_expect_get(c, 1, "bq", "keep");
	hb_close(c);
}

Test(api_queues, percent_encoded_names)
{
	need_admin();
	/* "a b+c%d/e" in one segment; "+" stays "+" in a path. */
	au_call(B, NULL, "PUT", "/api/queues/%2F/a%20b%2Bc%25d%2Fe", "{}", 201);
	cr_expect_str_eq(au_str(au_call(B, NULL, "GET",
	    "/api/queues/%2F/a%20b%2Bc%25d%2Fe", NULL, 200)->json, "name"),
	    "a b+c%d/e");
	au_call(B, NULL, "PUT", "/api/queues/%2F/x+y", "{}", 201);
	au_call(B, NULL, "GET", "/api/queues/%2F/x%2By", NULL, 200);
	au_call(B, NULL, "GET", "/api/queues/%2F/x%20y", NULL, 404);
	/* Unreserved characters may come encoded too (rabbitmqadmin v2). */
	au_call(B, NULL, "PUT", "/api/queues/%2F/q%2Dr%2Es%5Ft", "{}", 201);
	au_call(B, NULL, "GET", "/api/queues/%2F/q-r.s_t", NULL, 200);
}

Test(api_queues, bad_inputs_are_4xx_json_and_change_nothing)
{
	struct au_reply *r;

	need_admin();
	au_expect_error(au_call(B, NULL, "PUT", "/api/queues/%2F/bad1",
	    "{\"durable\":", 400), "bad_request", "not_json");
	au_expect_error(au_call(B, NULL, "PUT", "/api/queues/%2F/bad1", "[1]",
	    400), "bad_request", "not_json");
	r = au_call(B, NULL, "PUT", "/api/queues/%2F/bad1",
	    "{\"durable\":\"yes\"}", 400);
	cr_expect_str_eq(r->body, "{\"error\":\"bad_request\",\"reason\":"
	    "[\"not_boolean\",\"yes\"]}");
	au_expect_error(au_call(B, NULL, "PUT", "/api/queues/%2F/bad1",
	    "{\"arguments\":{\"a\":null}}", 400), "bad_request",
	    "null_not_allowed");
	au_call(B, NULL, "PUT", "/api/queues/%2F/bad1",
	    "{\"arguments\":\"x\"}", 400);
	au_expect_error(au_call(B, NULL, "PUT", "/api/queues/%2F/amq.q", "{}",
	    401), "not_authorised", "Access refused.");
	au_call(B, NULL, "GET", "/api/queues/%2F/bad1", NULL, 404);
	au_call(B, NULL, "GET", "/api/queues/%2F/amq.q", NULL, 404);
}

Test(api_queues, rights_are_the_users)
{
	need_admin();
	au_user(B, "mu", "^cfg", "^wr", "^rd");
	au_call(B, NULL, "PUT", "/api/queues/%2F/other", "{}", 201);
	au_call(B, NULL, "PUT", "/api/queues/%2F/rdq", "{}", 201);
	publish("other", "m");
	publish("rdq", "m");
	au_expect_error(au_call(B, "mu:p", "PUT", "/api/queues/%2F/noq", "{}",
	    401), "not_authorised", "Access refused.");
	au_call(B, NULL, "GET", "/api/queues/%2F/noq", NULL, 404);
	au_call(B, "mu:p", "PUT", "/api/queues/%2F/cfgq", "{}", 201);
	au_call(B, "mu:p", "DELETE", "/api/queues/%2F/other", NULL, 401);
	au_call(B, "mu:p", "DELETE", "/api/queues/%2F/other/contents", NULL,
	    401);
	au_expect_error(au_call(B, "mu:p", "POST", "/api/queues/%2F/other/get",
	    "{\"count\":1,\"ackmode\":\"ack_requeue_false\",\"encoding\":"
	    "\"auto\"}", 401), "not_authorised", "ACCESS_REFUSED - access to "
	    "queue 'other' in vhost '/' refused for user 'mu'");
	cr_expect_eq(au_int(au_call(B, NULL, "GET", "/api/queues/%2F/other",
	    NULL, 200)->json, "messages"), 1);
	/* Read rights: get and purge are allowed. */
	cr_expect_eq(json_len(au_call(B, "mu:p", "POST",
	    "/api/queues/%2F/rdq/get", "{\"count\":1,\"ackmode\":"
	    "\"ack_requeue_true\",\"encoding\":\"auto\"}", 200)->json), 1);
	au_call(B, "mu:p", "DELETE", "/api/queues/%2F/rdq/contents", NULL, 204);
	/* A vhost without permissions. */
	au_call(B, NULL, "PUT", "/api/vhosts/v2", "{}", 201);
	au_expect_error(au_call(B, "mu:p", "GET", "/api/queues/v2", NULL, 401),
	    "not_authorised", "User not authorised to access virtual host");
	au_call(B, "mu:p", "PUT", "/api/queues/v2/cfgq", "{}", 401);
}

Test(api_queues, lists_and_bindings)
{
	struct au_reply *r;
	bool found = false;

	need_admin();
	au_call(B, NULL, "PUT", "/api/queues/%2F/l1", "{}", 201);
	au_call(B, NULL, "PUT", "/api/vhosts/v2", "{}", 201);
	au_call(B, NULL, "PUT", "/api/queues/v2/l2", "{}", 201);
	r = au_call(B, NULL, "GET", "/api/queues", NULL, 200);
	cr_assert_eq(json_type(r->json), JSON_ARRAY);
	cr_expect_eq(json_len(r->json), 2, "%s", r->body);
	r = au_call(B, NULL, "GET", "/api/queues/v2", NULL, 200);
	cr_assert_eq(json_len(r->json), 1);
	cr_expect_str_eq(au_str(json_at(r->json, 0), "name"), "l2");
	au_member(json_at(r->json, 0), "messages", JSON_NUMBER);
	r = au_call(B, NULL, "GET", "/api/queues/%2F?page=1&page_size=10",
	    NULL, 200);
	cr_expect_eq(au_int(r->json, "total_count"), 1);
	r = au_call(B, NULL, "GET", "/api/queues/%2F/l1/bindings", NULL, 200);
	for (size_t i = 0; i < json_len(r->json); i++)
		if (strcmp(au_str(json_at(r->json, i), "source"), "") == 0 &&
		    strcmp(au_str(json_at(r->json, i), "routing_key"),
		    "l1") == 0)
			found = true;
	cr_expect(found, "no default binding: %s", r->body);
	au_call(B, NULL, "GET", "/api/queues/%2F/nope/bindings", NULL, 404);
}

Test(api_queues, exclusive_queue_of_another_connection)
{
	amqp_connection_state_t c;

	need_admin();
	c = ut_connect();
	amqp_queue_declare(c, 1, amqp_cstring_bytes("xq"), 0, 0, 1, 0,
	    amqp_empty_table);
	ut_ok(c, "declare exclusive");
	ut_publish(c, 1, "", "xq", "mine");
	cr_expect(au_bool(au_call(B, NULL, "GET", "/api/queues/%2F/xq", NULL,
	    200)->json, "exclusive"));
	au_expect_error(au_call(B, NULL, "POST", "/api/queues/%2F/xq/get",
	    "{\"count\":1,\"ackmode\":\"ack_requeue_false\",\"encoding\":"
	    "\"auto\"}", 400), "bad_request", "405 RESOURCE_LOCKED - cannot "
	    "obtain exclusive access to locked queue 'xq' in vhost '/'. It "
	    "could be originally declared on another connection or the "
	    "exclusive property value does not match that of the original "
	    "declaration.");
	au_call(B, NULL, "DELETE", "/api/queues/%2F/xq", NULL, 400);
	au_call(B, NULL, "DELETE", "/api/queues/%2F/xq/contents", NULL, 400);
	cr_expect_eq(ut_count(c, 1, "xq"), 1);
	hb_close(c);
}
