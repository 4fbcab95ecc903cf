/*
 * /api/bindings: create with POST (201 and a Location whose last segment
 * is the URL-encoded properties_key), list, show and delete by
 * properties_key, the default exchange's implicit bindings, keys that
 * need quoting, a properties_key that stays the same across a restart,
 * exchange-to-exchange bindings, and bad inputs and missing rights
 * answered with 4xx JSON and nothing bound. Expected answers were read
 * from RabbitMQ 3.10 with the same requests.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tests/integration/api_util.h"
#include "tests/integration/util.h"

TestSuite(api_bindings, .init = ut_setup, .fini = ut_teardown,
    .timeout = 60);

#define B	(&ut_broker)

static void
need_admin(void)
{
	if (getenv("WARREN_TEST_URL") != NULL)
		cr_skip_test("needs a private broker");
}

static void
setup_ends(void)
{
	au_call(B, NULL, "PUT", "/api/exchanges/%2F/bx", "{\"type\":"
	    "\"direct\",\"durable\":true}", 201);
	au_call(B, NULL, "PUT", "/api/queues/%2F/bq", "{\"durable\":true}",
	    201);
}

Test(api_bindings, create_list_show_delete)
{
	const struct json *bd;
	struct au_reply *r;

	need_admin();
	setup_ends();
	r = au_call(B, NULL, "POST", "/api/bindings/%2F/e/bx/q/bq",
	    "{\"routing_key\":\"k1\",\"arguments\":{}}", 201);
	cr_expect_str_eq(r->location, "bq/k1");
	cr_expect_str_eq(r->body, "");
	r = au_call(B, NULL, "GET", "/api/bindings/%2F/e/bx/q/bq", NULL, 200);
	cr_assert_eq(json_len(r->json), 1, "%s", r->body);
	bd = json_at(r->json, 0);
	cr_expect_str_eq(au_str(bd, "source"), "bx");
	cr_expect_str_eq(au_str(bd, "vhost"), "/");
	cr_expect_str_eq(au_str(bd, "destination"), "bq");
	cr_expect_str_eq(au_str(bd, "destination_type"), "queue");
	cr_expect_str_eq(au_str(bd, "routing_key"), "k1");
	cr_expect_str_eq(au_str(bd, "properties_key"), "k1");
	cr_expect_eq(json_len(au_member(bd, "arguments", JSON_OBJECT)), 0);
	r = au_call(B, NULL, "GET", "/api/bindings/%2F/e/bx/q/bq/k1", NULL,
	    200);
	cr_expect_str_eq(au_str(r->json, "properties_key"), "k1");
	/* Listed with the default exchange's implicit one. */
	r = au_call(B, NULL, "GET", "/api/bindings/%2F", NULL, 200);
	cr_expect_eq(json_len(r->json), 2, "%s", r->body);
	cr_expect_eq(json_len(au_call(B, NULL, "GET", "/api/bindings", NULL,
	    200)->json), 2);
	r = au_call(B, NULL, "GET", "/api/bindings/%2F/e/amq.default/q/bq",
	    NULL, 200);
	cr_assert_eq(json_len(r->json), 1, "%s", r->body);
	cr_expect_str_eq(au_str(json_at(r->json, 0), "properties_key"), "bq");
	au_call(B, NULL, "DELETE", "/api/bindings/%2F/e/bx/q/bq/k1", NULL, 204);
	cr_expect_str_eq(au_call(B, NULL, "GET", "/api/bindings/%2F/e/bx/q/bq",
	    NULL, 200)->body, "[]");
	au_expect_error(au_call(B, NULL, "DELETE",
	    "/api/bindings/%2F/e/bx/q/bq/k1", NULL, 404), "Object Not Found",
	    "Not Found");
	au_call(B, NULL, "GET", "/api/bindings/%2F/e/bx/q/bq/k1", NULL, 404);
}

Test(api_bindings, properties_keys_and_quoting)
{
	struct au_reply *r;
	char pk[64];

	need_admin();
	setup_ends();
	cr_expect_str_eq(au_call(B, NULL, "POST", "/api/bindings/%2F/e/bx/q/bq",
	    "{\"routing_key\":\"\"}", 201)->location, "bq/~");
	au_call(B, NULL, "GET", "/api/bindings/%2F/e/bx/q/bq/~", NULL, 200);
	/* compat: quote_plus with "~" as %7E; the Location quotes again. */
	r = au_call(B, NULL, "POST", "/api/bindings/%2F/e/bx/q/bq",
	    "{\"routing_key\":\"a b~c/d+%\"}", 201);
	cr_expect_str_eq(r->location, "bq/a%2Bb%257Ec%252Fd%252B%2525");
	r = au_call(B, NULL, "GET",
	    "/api/bindings/%2F/e/bx/q/bq/a%2Bb%257Ec%252Fd%252B%2525", NULL,
	    200);
	cr_expect_str_eq(au_str(r->json, "properties_key"),
	    "a+b%7Ec%2Fd%2B%25");
	cr_expect_str_eq(au_str(r->json, "routing_key"), "a b~c/d+%");
	/*
	 * With arguments: key "~" and the phash2 of the arguments, the
	 * values RabbitMQ 3.10 gives for the same bindings.
	 */
	cr_expect_str_eq(au_call(B, NULL, "POST", "/api/bindings/%2F/e/bx/q/bq",
	    "{\"routing_key\":\"k\",\"arguments\":{\"x\":\"a\"}}",
	    201)->location, "bq/k~8ZICiA");
	cr_expect_str_eq(au_call(B, NULL, "POST", "/api/bindings/%2F/e/bx/q/bq",
	    "{\"arguments\":{\"b\":[1,2],\"a\":true}}", 201)->location,
	    "bq/~E2ZBCw");
	cr_expect_str_eq(au_call(B, NULL, "POST", "/api/bindings/%2F/e/bx/q/bq",
	    "{\"routing_key\":\"r\",\"arguments\":{\"n\":-5,"
	    "\"m\":-200000000,\"f\":1.5,\"z\":0.0,\"t\":{\"b\":\"y\","
	    "\"a\":[]},\"e\":[],\"o\":{}}}", 201)->location, "bq/r~undpUg");
	cr_expect_str_eq(au_call(B, NULL, "POST", "/api/bindings/%2F/e/bx/q/bq",
	    "{\"routing_key\":\"r\",\"arguments\":{\"big\":"
	    "12345678901234,\"neg\":-12345678901234,\"s\":\"long string "
	    "with more than twelve bytes in it \u00e9\"}}", 201)->location,
	    "bq/r~UL17UQ");
	r = au_call(B, NULL, "POST", "/api/bindings/%2F/e/bx/q/bq",
	    "{\"routing_key\":\"k\",\"arguments\":{\"x\":1}}", 201);
	cr_assert_eq(strlen(r->location), strlen("bq/k~") + 6, "%s",
	    r->location);
	snprintf(pk, sizeof(pk), "%s", r->location + 3);
	r = au_call(B, NULL, "POST", "/api/bindings/%2F/e/bx/q/bq",
	    "{\"routing_key\":\"k\",\"arguments\":{\"x\":\"1\"}}", 201);
	cr_expect_str_neq(r->location + 3, pk, "different arguments, the "
	    "same key");
	r = au_call(B, NULL, "POST", "/api/bindings/%2F/e/bx/q/bq",
	    "{\"routing_key\":\"k\",\"arguments\":{\"x\":1}}", 201);
	cr_expect_str_eq(r->location + 3, pk, "binding twice");
	cr_expect_eq(json_len(au_call(B, NULL, "GET",
	    "/api/bindings/%2F/e/bx/q/bq", NULL, 200)->json), 8);
}

Test(api_bindings, properties_key_survives_a_restart)
{
	char before[4096], path[4200];
	struct au_reply *r;

	need_admin();
	setup_ends();
	r = au_call(B, NULL, "POST", "/api/bindings/%2F/e/bx/q/bq",
	    "{\"routing_key\":\"rk\",\"arguments\":{\"a\":true,\"b\":[1,2],"
	    "\"c\":{\"d\":\"e\"}}}", 201);
	snprintf(before, sizeof(before), "%s", r->location);
	hb_halt(B, SIGTERM);
	hb_restart(B, NULL);
	r = au_call(B, NULL, "GET", "/api/bindings/%2F/e/bx/q/bq", NULL, 200);
	cr_assert_eq(json_len(r->json), 1, "%s", r->body);
	cr_expect_str_eq(au_str(json_at(r->json, 0), "properties_key"),
	    before + 3);
	cr_expect(au_bool(au_member(json_at(r->json, 0), "arguments",
	    JSON_OBJECT), "a"));
	snprintf(path, sizeof(path), "/api/bindings/%%2F/e/bx/q/%s", before);
	au_call(B, NULL, "DELETE", path, NULL, 204);
	cr_expect_str_eq(au_call(B, NULL, "GET", "/api/bindings/%2F/e/bx/q/bq",
	    NULL, 200)->body, "[]");
}

Test(api_bindings, amqp_bindings_have_rabbitmqs_keys)
{
	amqp_connection_state_t c;
	amqp_table_entry_t e[5];
	amqp_table_t t = { 2, e };
	struct au_reply *r;

	need_admin();
	setup_ends();
	c = ut_connect();
	/* Out of key order, as a client may send them. */
	e[0].key = amqp_cstring_bytes("b");
	e[0].value.kind = AMQP_FIELD_KIND_UTF8;
	e[0].value.value.bytes = amqp_cstring_bytes("y");
	e[1].key = amqp_cstring_bytes("a");
	e[1].value.kind = AMQP_FIELD_KIND_UTF8;
	e[1].value.value.bytes = amqp_cstring_bytes("x");
	ut_bind(c, 1, "bq", "bx", "k", t);
	e[0].key = amqp_cstring_bytes("i");
	e[0].value.kind = AMQP_FIELD_KIND_I32;
	e[0].value.value.i32 = 5;
	e[1].key = amqp_cstring_bytes("neg");
	e[1].value.kind = AMQP_FIELD_KIND_I32;
	e[1].value.value.i32 = -3;
	e[2].key = amqp_cstring_bytes("big");
	e[2].value.kind = AMQP_FIELD_KIND_I64;
	e[2].value.value.i64 = 1099511627776LL;
	e[3].key = amqp_cstring_bytes("t");
	e[3].value.kind = AMQP_FIELD_KIND_BOOLEAN;
	e[3].value.value.boolean = 0;
	e[4].key = amqp_cstring_bytes("s");
	e[4].value.kind = AMQP_FIELD_KIND_UTF8;
	e[4].value.value.bytes = amqp_cstring_bytes("\xc3\xa9");
	t.num_entries = 5;
	ut_bind(c, 1, "bq", "bx", "k2", t);
	/* The keys RabbitMQ 3.10 shows for the same binds (pika). */
	au_call(B, NULL, "GET", "/api/bindings/%2F/e/bx/q/bq/k~ekdvRw", NULL,
	    200);
	r = au_call(B, NULL, "GET", "/api/bindings/%2F/e/bx/q/bq/k2~SnHDaw",
	    NULL, 200);
	cr_expect_eq(au_int(au_member(r->json, "arguments", JSON_OBJECT),
	    "big"), 1099511627776LL);
	au_call(B, NULL, "DELETE", "/api/bindings/%2F/e/bx/q/bq/k~ekdvRw", NULL,
	    204);
	hb_close(c);
}

Test(api_bindings, exchange_to_exchange)
{
	amqp_connection_state_t c;
	struct au_reply *r;

	need_admin();
	c = ut_connect();
	au_call(B, NULL, "PUT", "/api/exchanges/%2F/from", "{}", 201);
	au_call(B, NULL, "PUT", "/api/exchanges/%2F/to%20x", "{\"type\":"
	    "\"fanout\"}", 201);
	au_call(B, NULL, "PUT", "/api/queues/%2F/eq", "{}", 201);
	ut_bind(c, 1, "eq", "to x", "", amqp_empty_table);
	r = au_call(B, NULL, "POST", "/api/bindings/%2F/e/from/e/to%20x",
	    "{\"routing_key\":\"z\"}", 201);
	cr_expect_str_eq(r->location, "to+x/z");
	r = au_call(B, NULL, "GET", "/api/bindings/%2F/e/from/e/to%20x", NULL,
	    200);
	cr_assert_eq(json_len(r->json), 1, "%s", r->body);
	cr_expect_str_eq(au_str(json_at(r->json, 0), "destination_type"),
	    "exchange");
	au_call(B, NULL, "POST", "/api/exchanges/%2F/from/publish",
	    "{\"routing_key\":\"z\",\"payload\":\"via\",\"payload_encoding\":"
	    "\"string\",\"properties\":{}}", 200);
	ut_expect_get(c, 1, "eq", "via");
	au_call(B, NULL, "DELETE", "/api/bindings/%2F/e/from/e/to%20x/z", NULL,
	    204);
	cr_expect_str_eq(au_call(B, NULL, "POST",
	    "/api/exchanges/%2F/from/publish", "{\"routing_key\":\"z\","
	    "\"payload\":\"via\",\"payload_encoding\":\"string\","
	    "\"properties\":{}}", 200)->body, "{\"routed\":false}");
	hb_close(c);
}

Test(api_bindings, refusals_bind_nothing)
{
	need_admin();
	setup_ends();
	au_expect_error(au_call(B, NULL, "POST", "/api/bindings/%2F/e/nox/q/bq",
	    "{\"routing_key\":\"k\"}", 404), "not_found",
	    "no exchange 'nox' in vhost '/'");
	au_expect_error(au_call(B, NULL, "POST", "/api/bindings/%2F/e/bx/q/noq",
	    "{\"routing_key\":\"k\"}", 404), "not_found",
	    "no queue 'noq' in vhost '/'");
	au_expect_error(au_call(B, NULL, "POST",
	    "/api/bindings/%2F/e/amq.default/q/bq", "{\"routing_key\":\"k\"}",
	    401), "not_authorised", "Access refused.");
	au_expect_error(au_call(B, NULL, "POST", "/api/bindings/novh/e/bx/q/bq",
	    "{\"routing_key\":\"k\"}", 404), "not_found", "vhost_not_found");
	au_call(B, NULL, "POST", "/api/bindings/%2F/e/bx/q/bq",
	    "{\"routing_key\":5}", 400);
	au_call(B, NULL, "POST", "/api/bindings/%2F/e/bx/q/bq",
	    "{\"routing_key\":\"k\",\"arguments\":\"x\"}", 400);
	au_call(B, NULL, "POST", "/api/bindings/%2F/e/bx/q/bq",
	    "{\"routing_key\":", 400);
	/* Rights: write on the queue and read on the exchange. */
	au_user(B, "mu", "", "^bq$", "^nothing$");
	au_expect_error(au_call(B, "mu:p", "POST",
	    "/api/bindings/%2F/e/bx/q/bq", "{\"routing_key\":\"k\"}", 401),
	    "not_authorised", "Access refused.");
	cr_expect_str_eq(au_call(B, NULL, "GET", "/api/bindings/%2F/e/bx/q/bq",
	    NULL, 200)->body, "[]");
	/* Missing ends list nothing. */
	cr_expect_str_eq(au_call(B, NULL, "GET",
	    "/api/bindings/%2F/e/nox/q/bq", NULL, 200)->body, "[]");
	au_call(B, NULL, "GET", "/api/bindings/novh", NULL, 404);
}
