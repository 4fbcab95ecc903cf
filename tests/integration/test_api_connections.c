/*
 * /api/connections, /api/channels and /api/consumers (admin/api_conns.c):
 * the fields and JSON types RabbitMQ 3.10 gives (rabbitmqadmin v2 decodes
 * them strictly), closing a connection with X-Reason as the client sees
 * it, and who may see and close what. Expected values are RabbitMQ
 * 3.10's, read from a live broker with a rabbitmq-c client connected.
 */
#include <amqp.h>
#include <amqp_framing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "tests/integration/api_json.h"
#include "tests/integration/harness.h"
#include "tests/integration/util.h"

static void
setup(void)
{
	if (getenv("WARREN_TEST_URL") != NULL)
		cr_skip_test("needs a fresh broker (counts every connection)");
	ut_setup();
}

TestSuite(api_connections, .init = setup, .fini = ut_teardown,
    .timeout = 60);

#define B	(&ut_broker)

/* The only connection's listing item; *list must be json_free'd. */
static const struct json *
only_item(const char *path, const char *userpass, struct json **list)
{
	*list = aj_get(B, path, userpass, 200);
	cr_assert_eq(json_type(*list), JSON_ARRAY);
	cr_assert_eq(json_len(*list), 1, "%s: %zu items", path,
	    json_len(*list));
	return json_at(*list, 0);
}

static void
make_user(const char *name, const char *tags)
{
	char path[128], body[128];

	snprintf(path, sizeof(path), "/api/users/%s", name);
	snprintf(body, sizeof(body), "{\"password\":\"p\",\"tags\":\"%s\"}",
	    tags);
	free(aj_call(B, "PUT", path, GUEST, body, 201));
	snprintf(path, sizeof(path), "/api/permissions/%%2F/%s", name);
	free(aj_call(B, "PUT", path, GUEST,
	    "{\"configure\":\".*\",\"write\":\".*\",\"read\":\".*\"}", 201));
}

static amqp_connection_state_t
connect_as(const char *user)
{
	amqp_connection_state_t c = hb_connect_opts(B, "/", user, "p",
	    131072, 0, NULL);

	cr_assert_not_null(c, "login as %s", user);
	amqp_channel_open(c, 1);
	ut_ok(c, "channel.open");
	return c;
}

Test(api_connections, connection_fields_and_types)
{
	amqp_connection_state_t c = ut_connect();
	struct json *list, *one;
	const struct json *o, *cp;
	char want_suffix[64], path[512];
	const char *name;
	int64_t now_ms = (int64_t)time(NULL) * 1000;

	o = only_item("/api/connections", GUEST, &list);
	name = aj_str(o, "name");
	/* compat: "peer -> local", as RabbitMQ names it. */
	snprintf(want_suffix, sizeof(want_suffix), " -> 127.0.0.1:%d", B->port);
	cr_assert(strncmp(name, "127.0.0.1:", 10) == 0, "%s", name);
	cr_assert(strstr(name, want_suffix) != NULL &&
	    strcmp(strstr(name, want_suffix), want_suffix) == 0, "%s", name);
	cr_expect_str_eq(aj_str(o, "protocol"), "AMQP 0-9-1");
	cr_expect_str_eq(aj_str(o, "user"), "guest");
	cr_expect_str_eq(aj_str(o, "vhost"), "/");
	cr_expect_str_eq(aj_str(o, "type"), "network");
	cr_expect_str_eq(aj_str(o, "state"), "running");
	cr_expect_str_eq(aj_str(o, "auth_mechanism"), "PLAIN");
	cr_expect_str_eq(aj_str(o, "peer_host"), "127.0.0.1");
	cr_expect_str_eq(aj_str(o, "host"), "127.0.0.1");
	cr_expect(strncmp(aj_str(o, "node"), "rabbit@", 7) == 0);
	cr_expect_eq(aj_int(o, "port"), B->port);
	cr_expect_gt(aj_int(o, "peer_port"), 0);
	cr_expect_eq(aj_int(o, "channels"), 1);
	cr_expect_eq(aj_int(o, "frame_max"), 131072);
	cr_expect_gt(aj_int(o, "channel_max"), 0);
	cr_expect_eq(aj_int(o, "timeout"), 0);
	cr_expect_gt(aj_int(o, "recv_oct"), 0);
	cr_expect_gt(aj_int(o, "send_oct"), 0);
	cr_expect_gt(aj_int(o, "recv_cnt"), 0);
	cr_expect_gt(aj_int(o, "send_cnt"), 0);
	aj_int(o, "send_pend");
	/* compat: epoch milliseconds, an integer. */
	cr_expect(aj_int(o, "connected_at") > now_ms - 60000 &&
	    aj_int(o, "connected_at") <= now_ms + 60000);
	cr_expect_not(aj_bool(o, "ssl"));
	/* compat: null in a listing... */
	aj_type(o, "ssl_protocol", JSON_NULL);
	aj_type(o, "ssl_cipher", JSON_NULL);
	aj_type(o, "peer_cert_subject", JSON_NULL);
	cp = aj_member(o, "client_properties");
	cr_assert_eq(json_type(cp), JSON_OBJECT);
	cr_expect_str_eq(aj_str(cp, "product"), "rabbitmq-c");
	aj_type(cp, "capabilities", JSON_OBJECT);
	cr_expect(aj_bool(aj_member(cp, "capabilities"),
	    "authentication_failure_close"));

	/* ...and "" in a single connection's GET (RabbitMQ 3.10). */
	snprintf(path, sizeof(path), "/api/connections/%s", aj_enc(name));
	one = aj_get(B, path, GUEST, 200);
	cr_expect_str_eq(aj_str(one, "name"), name);
	cr_expect_str_eq(aj_str(one, "ssl_protocol"), "");
	cr_expect_str_eq(aj_str(one, "peer_cert_issuer"), "");
	json_free(one);
	json_free(list);
	hb_close(c);

	/* Unknown connections: 404 for a GET and a DELETE. */
	free(aj_call(B, "GET", "/api/connections/nope", GUEST, NULL, 404));
	free(aj_call(B, "DELETE", "/api/connections/127.0.0.1%3A1%20-%3E%20x",
	    GUEST, NULL, 404));
}

Test(api_connections, channel_and_consumer_fields)
{
	amqp_connection_state_t c = ut_connect();
	struct json *list, *conns, *one;
	const struct json *o, *cd, *q;
	char want[300], path[600], *tag;
	const char *qname;
	const char *cname;

	amqp_basic_qos(c, 1, 0, 7, false);
	ut_ok(c, "basic.qos");
	amqp_basic_qos(c, 1, 0, 3, true);
	ut_ok(c, "basic.qos global");
	qname = ut_queue(c, 1, "apic");
	tag = ut_consume_start(c, 1, qname, "my-tag", false, false);
	amqp_confirm_select(c, 1);
	ut_ok(c, "confirm.select");

	cname = aj_str(only_item("/api/connections", GUEST, &conns), "name");
	snprintf(want, sizeof(want), "%s (1)", cname);
	o = only_item("/api/channels", GUEST, &list);
	cr_expect_str_eq(aj_str(o, "name"), want);
	cr_expect_eq(aj_int(o, "number"), 1);
	cr_expect_str_eq(aj_str(o, "vhost"), "/");
	cr_expect_str_eq(aj_str(o, "user"), "guest");
	cr_expect_str_eq(aj_str(o, "state"), "running");
	cr_expect_eq(aj_int(o, "consumer_count"), 1);
	cr_expect_eq(aj_int(o, "prefetch_count"), 7);
	cr_expect_eq(aj_int(o, "global_prefetch_count"), 3);
	cr_expect(aj_bool(o, "confirm"));
	cr_expect_not(aj_bool(o, "transactional"));
	cr_expect_eq(aj_int(o, "messages_unacknowledged"), 0);
	cr_expect_eq(aj_int(o, "messages_unconfirmed"), 0);
	cr_expect_eq(aj_int(o, "messages_uncommitted"), 0);
	cr_expect_eq(aj_int(o, "acks_uncommitted"), 0);
	cd = aj_member(o, "connection_details");
	cr_expect_str_eq(aj_str(cd, "name"), cname);
	cr_expect_str_eq(aj_str(cd, "peer_host"), "127.0.0.1");
	aj_int(cd, "peer_port");
	json_free(list);

	/* The per-connection and per-vhost listings, and one channel. */
	snprintf(path, sizeof(path), "/api/connections/%s/channels",
	    aj_enc(cname));
	only_item(path, GUEST, &list);
	json_free(list);
	only_item("/api/vhosts/%2F/channels", GUEST, &list);
	json_free(list);
	only_item("/api/vhosts/%2F/connections", GUEST, &list);
	json_free(list);
	free(aj_call(B, "GET", "/api/vhosts/nope/channels", GUEST, NULL, 404));
	free(aj_call(B, "GET", "/api/vhosts/nope/connections", GUEST, NULL,
	    404));
	snprintf(path, sizeof(path), "/api/channels/%s", aj_enc(want));
	one = aj_get(B, path, GUEST, 200);
	cr_expect_str_eq(aj_str(one, "name"), want);
	cr_assert_eq(json_len(aj_member(one, "consumer_details")), 1);
	json_free(one);
	snprintf(path, sizeof(path), "/api/channels/%s", aj_enc(cname));
	free(aj_call(B, "GET", path, GUEST, NULL, 404));

	o = only_item("/api/consumers", GUEST, &list);
	cr_expect_str_eq(aj_str(o, "consumer_tag"), tag);
	cr_expect(aj_bool(o, "ack_required"));
	cr_expect(aj_bool(o, "active"));
	cr_expect_str_eq(aj_str(o, "activity_status"), "up");
	cr_expect_not(aj_bool(o, "exclusive"));
	cr_expect_eq(aj_int(o, "prefetch_count"), 7);
	aj_int(o, "consumer_timeout");
	aj_type(o, "arguments", JSON_OBJECT);
	q = aj_member(o, "queue");
	cr_expect_str_eq(aj_str(q, "name"), qname);
	cr_expect_str_eq(aj_str(q, "vhost"), "/");
	cd = aj_member(o, "channel_details");
	cr_expect_str_eq(aj_str(cd, "name"), want);
	cr_expect_str_eq(aj_str(cd, "connection_name"), cname);
	cr_expect_eq(aj_int(cd, "number"), 1);
	json_free(list);
	only_item("/api/consumers/%2F", GUEST, &list);
	json_free(list);
	free(aj_call(B, "GET", "/api/consumers/nope", GUEST, NULL, 404));
	json_free(conns);
	hb_close(c);
}

/* Waits for the broker's connection.close on c; returns its text. */
static const char *
closed_with(amqp_connection_state_t c, int code)
{
	amqp_rpc_reply_t r;
	struct timeval tv = { 5, 0 };
	amqp_frame_t f;

	r.reply_type = AMQP_RESPONSE_LIBRARY_EXCEPTION;
	while (amqp_simple_wait_frame_noblock(c, &f, &tv) == AMQP_STATUS_OK) {
		if (f.frame_type == AMQP_FRAME_METHOD && f.channel == 0 &&
		    f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
			r.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION;
			r.reply = f.payload.method;
			break;
		}
	}
	cr_assert_eq(r.reply_type, AMQP_RESPONSE_SERVER_EXCEPTION,
	    "no connection.close");
	return hb_expect_close(c, r, true, code);
}

Test(api_connections, delete_closes_with_x_reason)
{
	amqp_connection_state_t c = ut_connect();
	struct json *list;
	char path[600];

	snprintf(path, sizeof(path), "/api/connections/%s",
	    aj_enc(aj_str(only_item("/api/connections", GUEST, &list),
	    "name")));
	json_free(list);
	free(aj_call_h(B, "DELETE", path, GUEST, "X-Reason: bye now\r\n", NULL,
	    204));
	cr_expect_str_eq(closed_with(c, 320), "CONNECTION_FORCED - bye now");
	amqp_destroy_connection(c);
}

Test(api_connections, delete_without_reason_uses_rabbitmq_default)
{
	amqp_connection_state_t c = ut_connect();
	struct json *list;
	char path[600];

	snprintf(path, sizeof(path), "/api/connections/%s",
	    aj_enc(aj_str(only_item("/api/connections", GUEST, &list),
	    "name")));
	json_free(list);
	free(aj_call(B, "DELETE", path, GUEST, NULL, 204));
	/* compat: RabbitMQ's reason when no X-Reason is given. */
	cr_expect_str_eq(closed_with(c, 320),
	    "CONNECTION_FORCED - Closed via management plugin");
	amqp_destroy_connection(c);
}

Test(api_connections, delete_by_user_name_closes_all_of_theirs)
{
	amqp_connection_state_t a, b2, g;
	struct json *list;

	make_user("cu", "management");
	a = connect_as("cu");
	b2 = connect_as("cu");
	g = ut_connect();
	list = aj_get(B, "/api/connections/username/cu", GUEST, 200);
	cr_assert_eq(json_len(list), 2);
	json_free(list);
	free(aj_call_h(B, "DELETE", "/api/connections/username/cu", GUEST,
	    "X-Reason: maintenance\r\n", NULL, 204));
	cr_expect_str_eq(closed_with(a, 320),
	    "CONNECTION_FORCED - maintenance");
	cr_expect_str_eq(closed_with(b2, 320),
	    "CONNECTION_FORCED - maintenance");
	amqp_destroy_connection(a);
	amqp_destroy_connection(b2);
	/* guest's connection stays open. */
	ut_queue(g, 1, "still");
	hb_close(g);
}

/*
 * compat: RabbitMQ 3.10 (checked): management users see only their own
 * connections, channels and consumers and get a 401 for others';
 * monitoring users see all but may not close others'.
 */
Test(api_connections, visibility_per_user_tag)
{
	amqp_connection_state_t g, m;
	struct json *list;
	char gpath[600], mpath[600];
	const char *q;
	size_t i;

	make_user("mgr", "management");
	make_user("mon", "monitoring");
	g = ut_connect();
	q = ut_queue(g, 1, "vis");
	ut_consume_start(g, 1, q, "g-tag", true, false);
	m = connect_as("mgr");
	ut_consume_start(m, 1, q, "m-tag", true, false);

	list = aj_get(B, "/api/connections", GUEST, 200);
	cr_assert_eq(json_len(list), 2);
	for (i = 0; i < 2; i++) {
		const struct json *o = json_at(list, i);
		const char *enc = aj_enc(aj_str(o, "name"));

		snprintf(strcmp(aj_str(o, "user"), "guest") == 0 ? gpath :
		    mpath, sizeof(gpath), "/api/connections/%s", enc);
	}
	json_free(list);

	/* The management user: only its own. */
	{
		static const char *const paths[] = { "/api/connections",
		    "/api/channels", "/api/consumers",
		    "/api/vhosts/%2F/connections" };

		for (i = 0; i < 4; i++) {
			list = aj_get(B, paths[i], "mgr:p", 200);
			cr_expect_eq(json_len(list), 1, "%s", paths[i]);
			json_free(list);
		}
	}
	free(aj_call(B, "GET", gpath, "mgr:p", NULL, 401));
	free(aj_call(B, "GET", mpath, "mgr:p", NULL, 200));
	free(aj_call(B, "GET", "/api/connections/username/guest", "mgr:p",
	    NULL, 401));
	free(aj_call(B, "DELETE", gpath, "mgr:p", NULL, 401));

	/* The monitoring user: everything, but closes nothing of others. */
	list = aj_get(B, "/api/channels", "mon:p", 200);
	cr_expect_eq(json_len(list), 2);
	json_free(list);
	list = aj_get(B, "/api/consumers", "mon:p", 200);
	cr_expect_eq(json_len(list), 2);
	json_free(list);
	free(aj_call(B, "GET", gpath, "mon:p", NULL, 200));
	{
		char *body = aj_call(B, "DELETE", gpath, "mon:p", NULL, 401);

		cr_expect_str_eq(body, "{\"error\":\"not_authorised\","
		    "\"reason\":\"User not authorised to access object\"}");
		free(body);
	}

	/*
	 * A vhost the users may not open: 401 on its connections and
	 * channels (monitoring too), not on its consumers; administrators
	 * pass without permissions there.
	 */
	free(aj_call(B, "PUT", "/api/vhosts/elsewhere", GUEST, NULL, 201));
	{
		static const char *const who[] = { "mgr:p", "mon:p" };

		for (i = 0; i < 2; i++) {
			char *body = aj_call(B, "GET",
			    "/api/vhosts/elsewhere/connections", who[i], NULL,
			    401);

			cr_expect_str_eq(body, "{\"error\":\"not_authorised\","
			    "\"reason\":\"User not authorised to access "
			    "virtual host\"}");
			free(body);
			free(aj_call(B, "GET", "/api/vhosts/elsewhere/channels",
			    who[i], NULL, 401));
			body = aj_call(B, "GET", "/api/consumers/elsewhere",
			    who[i], NULL, 200);
			cr_expect_str_eq(body, "[]");
			free(body);
		}
	}
	/* The creator got permissions on it: take them away. */
	free(aj_call(B, "DELETE", "/api/permissions/elsewhere/guest", GUEST,
	    NULL, 204));
	free(aj_call(B, "GET", "/api/vhosts/elsewhere/connections", GUEST,
	    NULL, 200));

	/* Its owner may close its own. */
	free(aj_call(B, "DELETE", mpath, "mgr:p", NULL, 204));
	cr_expect_str_eq(closed_with(m, 320),
	    "CONNECTION_FORCED - Closed via management plugin");
	amqp_destroy_connection(m);
	hb_close(g);
}

Test(api_connections, listings_paginate_and_take_columns)
{
	amqp_connection_state_t c = ut_connect();
	struct json *j;

	j = aj_get(B, "/api/connections?page=1&columns=name,user", GUEST, 200);
	cr_assert_eq(json_type(j), JSON_OBJECT);
	cr_expect_eq(aj_int(j, "total_count"), 1);
	{
		const struct json *item = json_at(aj_member(j, "items"), 0);

		cr_expect_eq(json_len(item), 2);
		cr_expect_str_eq(aj_str(item, "user"), "guest");
	}
	json_free(j);
	hb_close(c);
}
