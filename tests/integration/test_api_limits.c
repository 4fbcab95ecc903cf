/*
 * /api/vhost-limits and /api/user-limits end to end: the answers
 * (ADMIN-CONTRACT.md §10.5: [] when none, 404 for deleting an unset
 * limit), RabbitMQ 3.10's reasons for bad input, the user limits enforced
 * on connection.open and channel.open in RabbitMQ's words, and all of it
 * after a restart.
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

TestSuite(api_limits, .init = ut_setup, .fini = ut_teardown, .timeout = 60);

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

Test(api_limits, vhost_limits)
{
	amqp_connection_state_t c;
	amqp_rpc_reply_t r;

	need_admin();
	body_is(call("GET", "/api/vhost-limits", NULL, 200), "[]");
	body_is(call("GET", "/api/vhost-limits/%2F", NULL, 200), "[]");
	/* Terraform deletes both before setting: an unset one is a 404. */
	body_is(call("DELETE", "/api/vhost-limits/%2F/max-connections", NULL,
	    404), "{\"error\":\"Object Not Found\",\"reason\":\"Not Found\"}");
	call("PUT", "/api/vhost-limits/%2F/max-queues", "{\"value\":1}", 204);
	call("PUT", "/api/vhost-limits/%2F/max-connections", "{\"value\":"
	    "\"50\"}", 204);
	body_is(call("GET", "/api/vhost-limits", NULL, 200),
	    "[{\"vhost\":\"/\",\"value\":{\"max-connections\":50,"
	    "\"max-queues\":1}}]");
	c = ut_connect();
	(void)ut_queue(c, 1, "one");
	amqp_queue_declare(c, 1, amqp_cstring_bytes(hb_name("two")), 0, 0, 0,
	    0, amqp_empty_table);
	r = amqp_get_rpc_reply(c);
	cr_assert(strstr(hb_expect_close(c, r, false, 406),
	    "queue limit in vhost '/' (1) is reached") != NULL);
	amqp_destroy_connection(c);
	/* A negative value is no limit. */
	call("PUT", "/api/vhost-limits/%2F/max-queues", "{\"value\":-1}", 204);
	body_is(call("GET", "/api/vhost-limits/%2F", NULL, 200),
	    "[{\"vhost\":\"/\",\"value\":{\"max-connections\":50}}]");
	call("DELETE", "/api/vhost-limits/%2F/max-connections", NULL, 204);
	body_is(call("GET", "/api/vhost-limits", NULL, 200), "[]");
}

Test(api_limits, vhost_limits_bad_input)
{
	need_admin();
	body_is(call("PUT", "/api/vhost-limits/%2F/max-foo", "{\"value\":1}",
	    400), "{\"error\":\"bad_request\",\"reason\":\"Validation failed"
	    "\\n\\nUnrecognised terms [{<<\\\"max-foo\\\">>,1}] in limits"
	    "\\n\"}");
	body_is(call("PUT", "/api/vhost-limits/%2F/max-queues",
	    "{\"value\":\"x\"}", 400), "{\"error\":\"bad_request\","
	    "\"reason\":\"Validation failed\\n\\nmax-queues should be a "
	    "number, actually was <<\\\"x\\\">>\\n\"}");
	body_is(call("PUT", "/api/vhost-limits/%2F/max-queues",
	    "{\"value\":1.5}", 400), "{\"error\":\"bad_request\","
	    "\"reason\":\"Validation failed\\n\\nmax-queues should be a "
	    "number, actually was 1.5\\n\"}");
	body_is(call("PUT", "/api/vhost-limits/%2F/max-queues", "{}", 400),
	    "{\"error\":\"bad_request\",\"reason\":\"[{key_missing,value}]\"}");
	body_is(call("PUT", "/api/vhost-limits/%2F/max-queues", "{", 400),
	    "{\"error\":\"bad_request\",\"reason\":\"not_json\"}");
	body_is(call("PUT", "/api/vhost-limits/nope/max-queues",
	    "{\"value\":1}", 404), "{\"error\":\"not_found\",\"reason\":"
	    "\"vhost_not_found\"}");
	call("GET", "/api/vhost-limits/nope", NULL, 404);
	call("DELETE", "/api/vhost-limits/nope/max-queues", NULL, 404);
	body_is(call("GET", "/api/vhost-limits", NULL, 200), "[]");
}

Test(api_limits, user_limits)
{
	amqp_connection_state_t c1, c2;
	amqp_rpc_reply_t r;

	need_admin();
	body_is(call("GET", "/api/user-limits", NULL, 200), "[]");
	body_is(call("GET", "/api/user-limits/guest", NULL, 200), "[]");
	call("GET", "/api/user-limits/nobody", NULL, 404);
	call("DELETE", "/api/user-limits/guest/max-channels", NULL, 404);
	call("PUT", "/api/user-limits/guest/max-connections", "{\"value\":1}",
	    204);
	call("PUT", "/api/user-limits/guest/max-channels", "{\"value\":2}",
	    204);
	body_is(call("GET", "/api/user-limits", NULL, 200),
	    "[{\"user\":\"guest\",\"value\":{\"max-channels\":2,"
	    "\"max-connections\":1}}]");
	cr_assert(strstr(call("GET", "/api/users/guest", NULL, 200),
	    "\"limits\":{\"max-channels\":2,\"max-connections\":1}") != NULL);

	/* compat: RabbitMQ's words (rabbit_reader, rabbit_channel). */
	c1 = ut_connect();	/* channel 1 open */
	c2 = hb_connect_opts(&ut_broker, "/", "guest", "guest", 131072, 0,
	    &r);
	cr_assert_null(c2);
	cr_assert_str_eq(hb_expect_close(NULL, r, true, 530),
	    "NOT_ALLOWED - connection refused for user 'guest': user "
	    "connection limit (1) is reached");
	ut_channel(c1, 2);
	amqp_channel_open(c1, 3);
	r = amqp_get_rpc_reply(c1);
	cr_assert_str_eq(hb_expect_close(c1, r, true, 530),
	    "NOT_ALLOWED - number of channels opened for user 'guest' has "
	    "reached the maximum allowed user limit of (2)");
	amqp_destroy_connection(c1);

	call("DELETE", "/api/user-limits/guest/max-connections", NULL, 204);
	c1 = ut_connect();
	c2 = ut_connect();
	hb_close(c1);
	hb_close(c2);
}

Test(api_limits, user_limits_bad_input)
{
	need_admin();
	body_is(call("PUT", "/api/user-limits/nobody/max-channels",
	    "{\"value\":1}", 400), "{\"error\":\"bad_request\",\"reason\":"
	    "[\"no_such_user\",\"nobody\"]}");
	body_is(call("PUT", "/api/user-limits/guest/max-foo", "{\"value\":2}",
	    400), "{\"error\":\"bad_request\",\"reason\":\"Unrecognised "
	    "terms [{<<\\\"max-foo\\\">>,2}] in user-limits\"}");
	body_is(call("PUT", "/api/user-limits/guest/max-channels",
	    "{\"value\":true}", 400), "{\"error\":\"bad_request\","
	    "\"reason\":\"max-channels should be a number, actually was "
	    "true\"}");
	call("PUT", "/api/user-limits/guest/max-channels", "{}", 400);
	body_is(call("GET", "/api/user-limits", NULL, 200), "[]");
}

Test(api_limits, tags)
{
	const char *mg = "mg:pw";

	need_admin();
	call("PUT", "/api/users/mg", "{\"password\":\"pw\",\"tags\":"
	    "\"management\"}", 201);
	call("PUT", "/api/user-limits/guest/max-channels", "{\"value\":9}",
	    204);
	call_as(mg, "GET", "/api/vhost-limits", NULL, 200);
	/* compat: anyone sees every user's limits; administrators set them. */
	body_is(call_as(mg, "GET", "/api/user-limits", NULL, 200),
	    "[{\"user\":\"guest\",\"value\":{\"max-channels\":9}}]");
	body_is(call_as(mg, "PUT", "/api/vhost-limits/%2F/max-queues",
	    "{\"value\":1}", 401), "{\"error\":\"not_authorised\","
	    "\"reason\":\"Not administrator user\"}");
	call_as(mg, "PUT", "/api/user-limits/mg/max-channels", "{\"value\":1}",
	    401);
}

Test(api_limits, survive_restart)
{
	need_admin();
	call("PUT", "/api/vhost-limits/%2F/max-queues", "{\"value\":7}", 204);
	call("PUT", "/api/user-limits/guest/max-channels", "{\"value\":5}",
	    204);
	call("PUT", "/api/users/other", "{\"password\":\"pw\",\"tags\":\"\"}",
	    201);
	call("PUT", "/api/user-limits/other/max-connections", "{\"value\":3}",
	    204);
	/* A user's limits go with it, and a password change keeps them. */
	call("DELETE", "/api/users/other", NULL, 204);
	call("PUT", "/api/users/guest", "{\"password\":\"guest\",\"tags\":"
	    "\"administrator\"}", 204);
	cr_assert_eq(hb_halt(&ut_broker, SIGTERM), 0);
	hb_restart(&ut_broker, NULL);
	body_is(call("GET", "/api/vhost-limits", NULL, 200),
	    "[{\"vhost\":\"/\",\"value\":{\"max-queues\":7}}]");
	body_is(call("GET", "/api/user-limits", NULL, 200),
	    "[{\"user\":\"guest\",\"value\":{\"max-channels\":5}}]");
}
