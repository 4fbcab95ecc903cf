/*
 * /api/exchanges: declare (201, 204, 400 inequivalent or unknown type),
 * show and list with RabbitMQ 3.10's fields and types, amq.default for
 * the default exchange, delete (if-unused, system exchanges), publish
 * (routed true/false, checked over AMQP, with properties and base64),
 * bindings/source and /destination, and bad inputs answered with 4xx
 * JSON and nothing changed. Expected answers were read from RabbitMQ
 * 3.10 with the same requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tests/integration/api_util.h"
#include "tests/integration/util.h"

TestSuite(api_exchanges, .init = ut_setup, .fini = ut_teardown,
    .timeout = 60);

#define B	(&ut_broker)

static void
need_admin(void)
{
	if (getenv("WARREN_TEST_URL") != NULL)
		cr_skip_test("needs a private broker");
}

Test(api_exchanges, put_get_and_fields)
{
	const struct json *x;

	need_admin();
	au_call(B, NULL, "PUT", "/api/exchanges/%2F/tx", "{\"type\":\"topic\","
	    "\"durable\":true,\"auto_delete\":false,\"internal\":false,"
	    "\"arguments\":{\"alternate-exchange\":\"amq.fanout\"}}", 201);
	au_call(B, NULL, "PUT", "/api/exchanges/%2F/tx", "{\"type\":\"topic\","
	    "\"durable\":\"true\",\"arguments\":{\"alternate-exchange\":"
	    "\"amq.fanout\"}}", 204);
	x = au_call(B, NULL, "GET", "/api/exchanges/%2F/tx", NULL, 200)->json;
	cr_expect_str_eq(au_str(x, "name"), "tx");
	cr_expect_str_eq(au_str(x, "vhost"), "/");
	cr_expect_str_eq(au_str(x, "type"), "topic");
	cr_expect(au_bool(x, "durable"));
	cr_expect(!au_bool(x, "auto_delete"));
	cr_expect(!au_bool(x, "internal"));
	cr_expect_str_eq(au_str(au_member(x, "arguments", JSON_OBJECT),
	    "alternate-exchange"), "amq.fanout");
	au_member(x, "incoming", JSON_ARRAY);
	au_member(x, "outgoing", JSON_ARRAY);
	/* compat: an empty body declares a transient direct exchange. */
	au_call(B, NULL, "PUT", "/api/exchanges/%2F/dx", "{}", 201);
	x = au_call(B, NULL, "GET", "/api/exchanges/%2F/dx", NULL, 200)->json;
	cr_expect_str_eq(au_str(x, "type"), "direct");
	cr_expect(!au_bool(x, "durable"));
}

Test(api_exchanges, refusals_change_nothing)
{
	need_admin();
	au_call(B, NULL, "PUT", "/api/exchanges/%2F/rx", "{\"type\":"
	    "\"direct\"}", 201);
	au_expect_error(au_call(B, NULL, "PUT", "/api/exchanges/%2F/rx",
	    "{\"type\":\"fanout\"}", 400), "bad_request", "inequivalent arg "
	    "'type' for exchange 'rx' in vhost '/': received 'fanout' but "
	    "current is 'direct'");
	au_expect_error(au_call(B, NULL, "PUT", "/api/exchanges/%2F/ux",
	    "{\"type\":\"nope\"}", 400), "bad_request",
	    "unknown exchange type 'nope'");
	au_expect_error(au_call(B, NULL, "PUT", "/api/exchanges/%2F/ax",
	    "{\"arguments\":{\"alternate-exchange\":5}}", 400), "bad_request",
	    "invalid type 'long' for arg 'alternate-exchange' in exchange "
	    "'ax' in vhost '/'");
	au_expect_error(au_call(B, NULL, "PUT", "/api/exchanges/%2F/amq.x",
	    "{}", 401), "not_authorised", "Access refused.");
	au_call(B, NULL, "PUT", "/api/exchanges/%2F/mx", "{\"durable\":", 400);
	au_call(B, NULL, "PUT", "/api/exchanges/novh/mx", "{}", 404);
	cr_expect_str_eq(au_str(au_call(B, NULL, "GET",
	    "/api/exchanges/%2F/rx", NULL, 200)->json, "type"), "direct");
	au_call(B, NULL, "GET", "/api/exchanges/%2F/ux", NULL, 404);
	au_call(B, NULL, "GET", "/api/exchanges/%2F/ax", NULL, 404);
	au_call(B, NULL, "GET", "/api/exchanges/%2F/amq.x", NULL, 404);
	au_call(B, NULL, "GET", "/api/exchanges/%2F/mx", NULL, 404);
}

Test(api_exchanges, default_exchange_and_lists)
{
	const struct json *x;
	struct au_reply *r;
	int builtin = 0;

	need_admin();
	x = au_call(B, NULL, "GET", "/api/exchanges/%2F/amq.default", NULL,
	    200)->json;
	cr_expect_str_eq(au_str(x, "name"), "");
	cr_expect(au_bool(x, "durable"));
	cr_expect_str_eq(au_str(x, "user_who_performed_action"),
	    "rmq-internal");
	r = au_call(B, NULL, "GET", "/api/exchanges/%2F", NULL, 200);
	for (size_t i = 0; i < json_len(r->json); i++) {
		const char *n = au_str(json_at(r->json, i), "name");

		if (strcmp(n, "") == 0 || strcmp(n, "amq.direct") == 0 ||
		    strcmp(n, "amq.fanout") == 0 ||
		    strcmp(n, "amq.topic") == 0 ||
		    strcmp(n, "amq.headers") == 0)
			builtin++;
	}
	cr_expect_eq(builtin, 5, "%s", r->body);
	/* Sorted by name: the default exchange first. */
	cr_expect_str_eq(au_str(json_at(r->json, 0), "name"), "");
	au_call(B, NULL, "GET", "/api/exchanges", NULL, 200);
	au_expect_error(au_call(B, NULL, "GET", "/api/exchanges/novh", NULL,
	    404), "Object Not Found", "Not Found");
}

Test(api_exchanges, delete_rules)
{
	amqp_connection_state_t c;

	need_admin();
	c = ut_connect();
	au_call(B, NULL, "PUT", "/api/exchanges/%2F/ux", "{}", 201);
	au_call(B, NULL, "PUT", "/api/queues/%2F/uq", "{}", 201);
	ut_bind(c, 1, "uq", "ux", "k", amqp_empty_table);
	au_expect_error(au_call(B, NULL, "DELETE",
	    "/api/exchanges/%2F/ux?if-unused=true", NULL, 400), "bad_request",
	    "exchange 'ux' in vhost '/' in use");
	au_call(B, NULL, "GET", "/api/exchanges/%2F/ux", NULL, 200);
	au_expect_error(au_call(B, NULL, "DELETE",
	    "/api/exchanges/%2F/amq.direct", NULL, 401), "not_authorised",
	    "Access refused.");
	au_call(B, NULL, "DELETE", "/api/exchanges/%2F/amq.default", NULL,
	    401);
	au_expect_error(au_call(B, NULL, "DELETE", "/api/exchanges/%2F/nope",
	    NULL, 404), "Object Not Found", "Not Found");
	au_call(B, NULL, "DELETE", "/api/exchanges/%2F/ux", NULL, 204);
	au_call(B, NULL, "GET", "/api/exchanges/%2F/ux", NULL, 404);
	au_call(B, NULL, "GET", "/api/exchanges/%2F/amq.direct", NULL, 200);
	hb_close(c);
}

Test(api_exchanges, publish_routed_and_delivered)
{
	amqp_connection_state_t c;
	amqp_basic_properties_t p;
	amqp_basic_get_ok_t ok;
	char *body;

	need_admin();
	c = ut_connect();
	au_call(B, NULL, "PUT", "/api/queues/%2F/pq", "{}", 201);
	au_call(B, NULL, "PUT", "/api/exchanges/%2F/px", "{\"type\":"
	    "\"fanout\"}", 201);
	cr_expect_str_eq(au_call(B, NULL, "POST",
	    "/api/exchanges/%2F/amq.default/publish", "{\"routing_key\":"
	    "\"pq\",\"payload\":\"hi\",\"payload_encoding\":\"string\","
	    "\"properties\":{\"content_type\":\"text/plain\",\"delivery_mode\":"
	    "2,\"priority\":3,\"headers\":{\"h\":\"v\",\"n\":7},"
	    "\"message_id\":\"m1\",\"timestamp\":1700000000}}", 200)->body,
	    "{\"routed\":true}");
	body = ut_get(c, 1, "pq", true, &ok, &p);
	cr_expect_str_eq(body, "hi");
	cr_expect_eq(ok.exchange.len, 0);
	cr_expect_eq(p.delivery_mode, 2);
	cr_expect_eq(p.priority, 3);
	cr_expect_eq(p.timestamp, 1700000000);
	cr_expect(p.content_type.len == 10 &&
	    memcmp(p.content_type.bytes, "text/plain", 10) == 0);
	cr_expect_eq(p.headers.num_entries, 2);
	/* Unroutable: false, and nothing anywhere. */
	cr_expect_str_eq(au_call(B, NULL, "POST",
	    "/api/exchanges/%2F/px/publish", "{\"routing_key\":\"\","
	    "\"payload\":\"aGk=\",\"payload_encoding\":\"base64\","
	    "\"properties\":{}}", 200)->body, "{\"routed\":false}");
	ut_bind(c, 1, "pq", "px", "", amqp_empty_table);
	cr_expect_str_eq(au_call(B, NULL, "POST",
	    "/api/exchanges/%2F/px/publish", "{\"routing_key\":\"\","
	    "\"payload\":\"/wAB\",\"payload_encoding\":\"base64\","
	    "\"properties\":{}}", 200)->body, "{\"routed\":true}");
	body = ut_get(c, 1, "pq", true, &ok, NULL);
	cr_expect(body != NULL && memcmp(body, "\xff\x00\x01", 3) == 0);
	cr_expect(ok.exchange.len == 2 && memcmp(ok.exchange.bytes, "px",
	    2) == 0);
	ut_expect_empty(c, 1, "pq");
	hb_close(c);
}

Test(api_exchanges, publish_bad_inputs_deliver_nothing)
{
	amqp_connection_state_t c;
	struct au_reply *r;

	need_admin();
	c = ut_connect();
	au_call(B, NULL, "PUT", "/api/queues/%2F/bq", "{}", 201);
	au_call(B, NULL, "PUT", "/api/exchanges/%2F/ix", "{\"internal\":true}",
	    201);
#define PUB(extra) "/api/exchanges/%2F/amq.default/publish", extra
	au_expect_error(au_call(B, NULL, "POST", PUB("{\"routing_key\":\"bq\","
	    "\"payload\":\"a\",\"properties\":{}}"), 400), "bad_request",
	    "[{key_missing,payload_encoding}]");
	au_expect_error(au_call(B, NULL, "POST", PUB("{\"payload\":\"a\","
	    "\"payload_encoding\":\"string\",\"properties\":{}}"), 400),
	    "bad_request", "[{key_missing,routing_key}]");
	r = au_call(B, NULL, "POST", PUB("{\"routing_key\":\"bq\",\"payload\":"
	    "\"!!!\",\"payload_encoding\":\"base64\",\"properties\":{}}"), 400);
	cr_expect_str_eq(r->body, "{\"error\":\"bad_request\",\"reason\":"
	    "[\"not_base64\",\"!!!\"]}");
	r = au_call(B, NULL, "POST", PUB("{\"routing_key\":\"bq\",\"payload\":"
	    "\"a\",\"payload_encoding\":\"hex\",\"properties\":{}}"), 400);
	cr_expect_str_eq(r->body, "{\"error\":\"bad_request\",\"reason\":"
	    "[\"unsupported_encoding\",\"hex\"]}");
	au_expect_error(au_call(B, NULL, "POST", PUB("{\"routing_key\":\"bq\","
	    "\"payload\":\"a\",\"payload_encoding\":\"string\",\"properties\":"
	    "{\"delivery_mode\":7}}"), 400), "bad_request",
	    "406 PRECONDITION_FAILED - invalid message: "
	    "{delivery_mode_unknown,7}");
	au_expect_error(au_call(B, NULL, "POST", PUB("{\"routing_key\":\"bq\","
	    "\"payload\":\"a\",\"payload_encoding\":\"string\",\"properties\":"
	    "{\"user_id\":\"bob\"}}"), 400), "bad_request",
	    "406 PRECONDITION_FAILED - user_id property set to 'bob' but "
	    "authenticated user was 'guest'");
	au_expect_error(au_call(B, NULL, "POST", PUB("{\"routing_key\":\"bq\","
	    "\"payload\":\"a\",\"payload_encoding\":\"string\",\"properties\":"
	    "{\"expiration\":\"abc\"}}"), 400), "bad_request",
	    "406 PRECONDITION_FAILED - invalid expiration 'abc': no_integer");
	au_expect_error(au_call(B, NULL, "POST", PUB("{\"routing_key\":\"bq\","
	    "\"payload\":\"a\",\"payload_encoding\":\"string\",\"properties\":"
	    "{\"headers\":{\"n\":null}}}"), 400), "bad_request",
	    "null_not_allowed");
	r = au_call(B, NULL, "POST", PUB("{\"routing_key\":\"bq\",\"payload\":"
	    "\"a\",\"payload_encoding\":\"string\",\"properties\":{\"priority\":"
	    "\"x\"}}"), 400);
	cr_expect_str_eq(r->body, "{\"error\":\"bad_request\",\"reason\":"
	    "[\"not_int\",\"priority\"]}");
	au_call(B, NULL, "POST", PUB("{\"routing_key\":"), 400);
	au_expect_error(au_call(B, NULL, "POST", "/api/exchanges/%2F/nox/"
	    "publish", "{\"routing_key\":\"bq\",\"payload\":\"a\","
	    "\"payload_encoding\":\"string\",\"properties\":{}}", 400),
	    "bad_request", "404 NOT_FOUND - no exchange 'nox' in vhost '/'");
	au_expect_error(au_call(B, NULL, "POST", "/api/exchanges/%2F/ix/"
	    "publish", "{\"routing_key\":\"bq\",\"payload\":\"a\","
	    "\"payload_encoding\":\"string\",\"properties\":{}}", 400),
	    "bad_request", "403 ACCESS_REFUSED - cannot publish to internal "
	    "exchange 'ix' in vhost '/'");
	/* A user without write on the default exchange. */
	au_user(B, "mu", ".*", "^nothing$", ".*");
	au_expect_error(au_call(B, "mu:p", "POST", PUB("{\"routing_key\":"
	    "\"bq\",\"payload\":\"a\",\"payload_encoding\":\"string\","
	    "\"properties\":{}}"), 400), "bad_request", "403 ACCESS_REFUSED - "
	    "access to exchange 'amq.default' in vhost '/' refused for user "
	    "'mu'");
	ut_expect_empty(c, 1, "bq");
	hb_close(c);
}

Test(api_exchanges, bindings_source_and_destination)
{
	amqp_connection_state_t c;
	struct au_reply *r;

	need_admin();
	c = ut_connect();
	au_call(B, NULL, "PUT", "/api/exchanges/%2F/src", "{}", 201);
	au_call(B, NULL, "PUT", "/api/exchanges/%2F/dst", "{}", 201);
	au_call(B, NULL, "PUT", "/api/queues/%2F/bq", "{}", 201);
	ut_bind(c, 1, "bq", "src", "k1", amqp_empty_table);
	ut_xbind(c, 1, "dst", "src", "k2");
	r = au_call(B, NULL, "GET", "/api/exchanges/%2F/src/bindings/source",
	    NULL, 200);
	cr_expect_eq(json_len(r->json), 2, "%s", r->body);
	r = au_call(B, NULL, "GET",
	    "/api/exchanges/%2F/dst/bindings/destination", NULL, 200);
	cr_assert_eq(json_len(r->json), 1, "%s", r->body);
	cr_expect_str_eq(au_str(json_at(r->json, 0), "destination_type"),
	    "exchange");
	cr_expect_str_eq(au_str(json_at(r->json, 0), "source"), "src");
	cr_expect_str_eq(au_call(B, NULL, "GET",
	    "/api/exchanges/%2F/src/bindings/destination", NULL, 200)->body,
	    "[]");
	au_call(B, NULL, "GET", "/api/exchanges/%2F/nope/bindings/source",
	    NULL, 404);
	hb_close(c);
}

Test(api_exchanges, publish_refused_during_a_resource_alarm)
{
	/* More free space required than any disk has: the alarm is on. */
	static const char *const extra[] = { "--disk-free-limit",
	    "1099511627776", NULL };
	struct hbroker ab;

	need_admin();
	hb_start(&ab, extra);
	au_call(&ab, NULL, "PUT", "/api/queues/%2F/aq", "{}", 201);
	au_expect_error(au_call(&ab, NULL, "POST",
	    "/api/exchanges/%2F/amq.default/publish", "{\"routing_key\":"
	    "\"aq\",\"payload\":\"a\",\"payload_encoding\":\"string\","
	    "\"properties\":{}}", 503), "service_unavailable",
	    "a resource alarm is in effect: publishers are blocked");
	cr_expect_eq(au_int(au_call(&ab, NULL, "GET", "/api/queues/%2F/aq",
	    NULL, 200)->json, "messages"), 0);
	hb_stop(&ab);
}
