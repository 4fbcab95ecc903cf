/*
 * The security resources of the admin API end to end: vhosts (create,
 * update, delete: a delete closes the vhost's connections with 320 and
 * removes everything in it, for good), users (a delete closes their
 * connections), permissions and topic permissions, each checked from an
 * AMQP client, plus the 400s of bad bodies. With WARREN_TEST_URL and
 * WARREN_TEST_ADMIN_PORT the tests run against RabbitMQ's management
 * plugin, to prove they encode its behaviour.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>

#include "tests/integration/harness.h"

#define GUEST	"guest:guest"

TestSuite(admin_api, .timeout = 60);

static struct hbroker	b;

static void
need_admin(void)
{
	hb_start(&b, NULL);
	if (b.admin_port == 0)
		cr_skip_test("no admin port for the external broker");
}

/* One request; asserts the status and returns the body (static copy). */
static const char *
call(const char *method, const char *path, const char *body, int want)
{
	return hb_http_call(&b, GUEST, method, path, body, want);
}

static amqp_connection_state_t
connect_to(const char *vhost, const char *user, const char *pass)
{
	amqp_rpc_reply_t	r;
	amqp_connection_state_t	c = hb_connect_opts(&b, vhost, user, pass,
	    131072, 0, &r);

	cr_assert_not_null(c, "login of %s to %s failed", user, vhost);
	cr_assert_not_null(amqp_channel_open(c, 1));
	return c;
}

/* Waits for the server's connection.close; returns its code and text. */
static int
wait_close(amqp_connection_state_t c, char *text, size_t len)
{
	struct timeval	tv = { 5, 0 };
	amqp_frame_t	f;

	for (;;) {
		if (amqp_simple_wait_frame_noblock(c, &f, &tv) !=
		    AMQP_STATUS_OK)
			return -1;
		if (f.frame_type == AMQP_FRAME_METHOD &&
		    f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_connection_close_t *m = f.payload.method.decoded;

			snprintf(text, len, "%.*s", (int)m->reply_text.len,
			    (const char *)m->reply_text.bytes);
			return m->reply_code;
		}
	}
}

Test(admin_api, vhost_create_show_update_and_list)
{
	char		path[300];
	const char	*v = hb_name("av"), *body;

	need_admin();
	snprintf(path, sizeof(path), "/api/vhosts/%s", v);
	call("PUT", path, "{\"description\": \"d1\", \"tags\": \"a,b\"}",
	    201);
	body = call("GET", path, NULL, 200);
	cr_assert_not_null(strstr(body, "\"description\":\"d1\""), "%s", body);
	cr_assert_not_null(strstr(body, "\"tags\":[\"a\",\"b\"]"), "%s", body);
	call("PUT", path, "{\"description\": \"d2\", \"tags\": [\"c\"]}", 204);
	body = call("GET", path, NULL, 200);
	cr_assert_not_null(strstr(body, "\"description\":\"d2\""), "%s", body);
	cr_assert_not_null(strstr(body, "\"tags\":[\"c\"]"), "%s", body);
	body = call("GET", "/api/vhosts", NULL, 200);
	cr_assert_not_null(strstr(body, v), "%s", body);
	cr_assert_not_null(strstr(body, "\"name\":\"/\""), "%s", body);
	body = call("GET", "/api/vhosts/%2F", NULL, 200);
	cr_assert_not_null(strstr(body, "\"name\":\"/\""), "%s", body);
	call("DELETE", path, NULL, 204);
	body = call("GET", path, NULL, 404);
	cr_assert_str_eq(body,
	    "{\"error\":\"Object Not Found\",\"reason\":\"Not Found\"}");
	call("DELETE", path, NULL, 404);
	hb_stop(&b);
}

Test(admin_api, deleting_a_vhost_closes_its_connections_with_320)
{
	char			 path[300], ppath[400], text[256], want[400];
	const char		*v = strdup(hb_name("dv")), *body;
	amqp_connection_state_t	 in, out;
	amqp_basic_properties_t	 p = { ._flags = AMQP_BASIC_DELIVERY_MODE_FLAG,
				    .delivery_mode = 2 };

	need_admin();
	snprintf(path, sizeof(path), "/api/vhosts/%s", v);
	snprintf(ppath, sizeof(ppath), "/api/permissions/%s/guest", v);
	call("PUT", path, NULL, 201);
	/* compat: the creator gets full permissions in the new vhost. */
	body = call("GET", ppath, NULL, 200);
	cr_assert_not_null(strstr(body, "\"write\":\".*\""), "%s", body);
	in = connect_to(v, "guest", "guest");
	out = connect_to("/", "guest", "guest");
	amqp_queue_declare(in, 1, amqp_cstring_bytes("dq"), 0, 1, 0, 0,
	    amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(in).reply_type, AMQP_RESPONSE_NORMAL);
	cr_assert_eq(amqp_basic_publish(in, 1, amqp_empty_bytes,
	    amqp_cstring_bytes("dq"), 0, 0, &p, amqp_cstring_bytes("m")), 0);
	amqp_basic_qos(in, 1, 0, 1, 0);
	cr_assert_eq(amqp_get_rpc_reply(in).reply_type, AMQP_RESPONSE_NORMAL);
	/* An unacked delivery, a consumer and an exclusive queue go too. */
	cr_assert_eq(amqp_basic_publish(in, 1, amqp_empty_bytes,
	    amqp_cstring_bytes("dq"), 0, 0, &p, amqp_cstring_bytes("m2")), 0);
	cr_assert_not_null(amqp_basic_consume(in, 1, amqp_cstring_bytes("dq"),
	    amqp_empty_bytes, 0, 0, 0, amqp_empty_table));
	{
		amqp_envelope_t		env;
		struct timeval		tv = { 5, 0 };

		cr_assert_eq(amqp_consume_message(in, &env, &tv, 0).reply_type,
		    AMQP_RESPONSE_NORMAL);
		amqp_destroy_envelope(&env);
	}
	cr_assert_not_null(amqp_channel_open(in, 2));
	cr_assert_not_null(amqp_queue_declare(in, 2, amqp_empty_bytes, 0, 0,
	    1, 0, amqp_empty_table));

	call("DELETE", path, NULL, 204);
	snprintf(want, sizeof(want), "CONNECTION_FORCED - vhost '%s' is "
	    "deleted", v);
	cr_assert_eq(wait_close(in, text, sizeof(text)), 320);
	/* RabbitMQ races its vhost process: "is down" now and then. */
	if (!b.external || strstr(text, "' is down") == NULL)
		cr_assert_str_eq(text, want);
	amqp_destroy_connection(in);
	/* Other vhosts' clients are untouched. */
	amqp_queue_declare(out, 1, amqp_empty_bytes, 0, 0, 1, 1,
	    amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(out).reply_type, AMQP_RESPONSE_NORMAL);
	hb_close(out);
	/* Gone: no login, no permission, and nothing comes back with it. */
	{
		amqp_rpc_reply_t r;

		cr_assert_null(hb_connect_opts(&b, v, "guest", "guest", 131072,
		    0, &r));
		cr_assert_eq(hb_expect_close(NULL, r, true, 530)[0], 'N');
	}
	call("GET", ppath, NULL, 404);
	call("PUT", path, NULL, 201);
	in = connect_to(v, "guest", "guest");
	amqp_queue_declare(in, 1, amqp_cstring_bytes("dq"), 1, 0, 0, 0,
	    amqp_empty_table);
	cr_assert_eq(hb_expect_close(in, amqp_get_rpc_reply(in), false,
	    404)[0], 'N', "the queue came back with the vhost");
	hb_close(in);
	call("DELETE", path, NULL, 204);
	hb_stop(&b);
}

Test(admin_api, vhost_deletion_survives_restart_even_for_the_default_vhost)
{
	amqp_rpc_reply_t	r;

	hb_start(&b, NULL);
	hb_require_warrend(&b);
	call("DELETE", "/api/vhosts/%2F", NULL, 204);
	cr_assert_eq(hb_halt(&b, SIGTERM), 0);
	hb_restart(&b, NULL);
	cr_assert_null(hb_connect_opts(&b, "/", "guest", "guest", 131072, 0,
	    &r));
	cr_assert_str_eq(hb_expect_close(NULL, r, true, 530),
	    "NOT_ALLOWED - access to vhost '/' refused for user 'guest'");
	call("GET", "/api/vhosts/%2F", NULL, 404);
	hb_stop(&b);
}

Test(admin_api, user_create_login_update_and_delete_closes_connections)
{
	char			 upath[300], ppath[300], text[256], want[300];
	const char		*u = strdup(hb_name("au")), *body;
	amqp_connection_state_t	 c;
	amqp_rpc_reply_t	 r;

	need_admin();
	snprintf(upath, sizeof(upath), "/api/users/%s", u);
	snprintf(ppath, sizeof(ppath), "/api/permissions/%%2F/%s", u);
	call("PUT", upath, "{\"password\": \"pw1\", \"tags\": \"management\"}",
	    201);
	body = call("GET", upath, NULL, 200);
	cr_assert_not_null(strstr(body, "\"tags\":[\"management\"]"), "%s",
	    body);
	cr_assert_not_null(strstr(body, "\"hashing_algorithm\":"
	    "\"rabbit_password_hashing_sha256\""), "%s", body);
	/* No permission yet: the vhost is refused. */
	cr_assert_null(hb_connect_opts(&b, "/", u, "pw1", 131072, 0, &r));
	cr_assert_eq(hb_expect_close(NULL, r, true, 530)[0], 'N');
	call("PUT", ppath, "{\"configure\": \"\", \"write\": \"\", "
	    "\"read\": \"\"}", 201);
	c = connect_to("/", u, "pw1");
	hb_close(c);
	/* A new password replaces the old one. */
	call("PUT", upath, "{\"password\": \"pw2\", \"tags\": \"\"}", 204);
	cr_assert_null(hb_connect_opts(&b, "/", u, "pw1", 131072, 0, &r));
	c = connect_to("/", u, "pw2");
	call("DELETE", upath, NULL, 204);
	snprintf(want, sizeof(want), "CONNECTION_FORCED - user '%s' is "
	    "deleted", u);
	cr_assert_eq(wait_close(c, text, sizeof(text)), 320);
	cr_assert_str_eq(text, want);
	amqp_destroy_connection(c);
	call("GET", upath, NULL, 404);
	call("GET", ppath, NULL, 404);
	cr_assert_null(hb_connect_opts(&b, "/", u, "pw2", 131072, 0, &r));
	hb_stop(&b);
}

Test(admin_api, user_from_a_rabbitmq_hash_logs_in)
{
	char			 upath[300], ppath[300];
	const char		*u = strdup(hb_name("hu"));
	amqp_connection_state_t	 c;

	need_admin();
	snprintf(upath, sizeof(upath), "/api/users/%s", u);
	snprintf(ppath, sizeof(ppath), "/api/permissions/%%2F/%s", u);
	/* "test12" salted and hashed by a real RabbitMQ 3.10. */
	call("PUT", upath, "{\"password_hash\": "
	    "\"bpT1DY+I2IMjzM+Ks2+GJhNsNfr8zafx5UrwSsjSQbC1WCrG\", "
	    "\"hashing_algorithm\": \"rabbit_password_hashing_sha256\", "
	    "\"tags\": \"\"}", 201);
	call("PUT", ppath, "{\"configure\": \".*\", \"write\": \".*\", "
	    "\"read\": \".*\"}", 201);
	c = connect_to("/", u, "test12");
	hb_close(c);
	call("DELETE", upath, NULL, 204);
	hb_stop(&b);
}

Test(admin_api, permissions_take_effect_and_can_be_removed)
{
	char			 upath[300], ppath[300];
	const char		*u = strdup(hb_name("pu")), *body;
	amqp_connection_state_t	 c;
	amqp_rpc_reply_t	 r;

	need_admin();
	snprintf(upath, sizeof(upath), "/api/users/%s", u);
	snprintf(ppath, sizeof(ppath), "/api/permissions/%%2F/%s", u);
	call("PUT", upath, "{\"password\": \"pw\", \"tags\": \"\"}", 201);
	call("PUT", ppath, "{\"configure\": \"^own-\", \"write\": \"\", "
	    "\"read\": \"\"}", 201);
	body = call("GET", ppath, NULL, 200);
	cr_assert_not_null(strstr(body, "\"configure\":\"^own-\""), "%s",
	    body);
	c = connect_to("/", u, "pw");
	amqp_queue_declare(c, 1, amqp_cstring_bytes("own-q"), 0, 0, 0, 1,
	    amqp_empty_table);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	amqp_queue_declare(c, 1, amqp_cstring_bytes("other-q"), 0, 0, 0, 1,
	    amqp_empty_table);
	cr_assert_eq(hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    403)[0], 'A');
	hb_close(c);
	body = call("GET", "/api/permissions", NULL, 200);
	cr_assert_not_null(strstr(body, u), "%s", body);
	{
		char	lpath[300];

		snprintf(lpath, sizeof(lpath), "/api/users/%s/permissions", u);
		body = call("GET", lpath, NULL, 200);
		cr_assert_not_null(strstr(body, "\"configure\":\"^own-\""),
		    "%s", body);
		cr_assert_null(strstr(body, "\"user\":\"guest\""), "%s",
		    body);
		body = call("GET", "/api/vhosts/%2F/permissions", NULL, 200);
		cr_assert_not_null(strstr(body, u), "%s", body);
		cr_assert_not_null(strstr(body, "\"user\":\"guest\""), "%s",
		    body);
	}
	call("DELETE", ppath, NULL, 204);
	call("DELETE", ppath, NULL, 404);
	cr_assert_null(hb_connect_opts(&b, "/", u, "pw", 131072, 0, &r));
	cr_assert_eq(hb_expect_close(NULL, r, true, 530)[0], 'N');
	call("DELETE", upath, NULL, 204);
	hb_stop(&b);
}

Test(admin_api, topic_permissions_through_the_api)
{
	char			 upath[300], ppath[300], tpath[300];
	const char		*u = strdup(hb_name("tu")), *body;
	amqp_connection_state_t	 c;
	amqp_rpc_reply_t	 r;

	need_admin();
	snprintf(upath, sizeof(upath), "/api/users/%s", u);
	snprintf(ppath, sizeof(ppath), "/api/permissions/%%2F/%s", u);
	snprintf(tpath, sizeof(tpath), "/api/topic-permissions/%%2F/%s", u);
	call("PUT", upath, "{\"password\": \"pw\", \"tags\": \"\"}", 201);
	call("PUT", ppath, "{\"configure\": \".*\", \"write\": \".*\", "
	    "\"read\": \".*\"}", 201);
	call("GET", tpath, NULL, 404);
	call("PUT", tpath, "{\"exchange\": \"amq.topic\", \"write\": "
	    "\"^{username}\\\\.\", \"read\": \".*\"}", 201);
	call("PUT", tpath, "{\"exchange\": \"amq.topic\", \"write\": "
	    "\"^{username}\\\\.\", \"read\": \".*\"}", 204);
	body = call("GET", tpath, NULL, 200);
	cr_assert_not_null(strstr(body, "\"exchange\":\"amq.topic\""), "%s",
	    body);
	body = call("GET", "/api/topic-permissions", NULL, 200);
	cr_assert_not_null(strstr(body, u), "%s", body);
	body = call("GET", "/api/vhosts/%2F/topic-permissions", NULL, 200);
	cr_assert_not_null(strstr(body, u), "%s", body);
	{
		char	lpath[300];

		snprintf(lpath, sizeof(lpath), "/api/users/%s/topic-permissions",
		    u);
		body = call("GET", lpath, NULL, 200);
		cr_assert_not_null(strstr(body, "\"exchange\":\"amq.topic\""),
		    "%s", body);
	}
	c = connect_to("/", u, "pw");
	{
		char key[300];

		snprintf(key, sizeof(key), "%s.x", u);
		amqp_basic_publish(c, 1, amqp_cstring_bytes("amq.topic"),
		    amqp_cstring_bytes(key), 0, 0, NULL,
		    amqp_cstring_bytes("ok"));
	}
	amqp_basic_publish(c, 1, amqp_cstring_bytes("amq.topic"),
	    amqp_cstring_bytes("someone.x"), 0, 0, NULL,
	    amqp_cstring_bytes("no"));
	amqp_basic_qos(c, 1, 0, 1, 0);
	r = amqp_get_rpc_reply(c);
	cr_assert_eq(hb_expect_close(c, r, false, 403)[0], 'A');
	hb_close(c);
	call("DELETE", tpath, NULL, 204);
	call("GET", tpath, NULL, 404);
	c = connect_to("/", u, "pw");
	amqp_basic_publish(c, 1, amqp_cstring_bytes("amq.topic"),
	    amqp_cstring_bytes("someone.x"), 0, 0, NULL,
	    amqp_cstring_bytes("now ok"));
	amqp_basic_qos(c, 1, 0, 1, 0);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	hb_close(c);
	call("DELETE", upath, NULL, 204);
	hb_stop(&b);
}

Test(admin_api, bad_bodies_get_400_with_a_reason_and_change_nothing)
{
	const char	*body;

	need_admin();
	body = call("PUT", "/api/permissions/%2F/guest",
	    "{\"configure\": \".*\"}", 400);
	cr_assert_str_eq(body, "{\"error\":\"bad_request\",\"reason\":"
	    "\"[{key_missing,write},{key_missing,read}]\"}");
	body = call("PUT", "/api/permissions/nosuchvhost/guest",
	    "{\"configure\": \".*\", \"write\": \".*\", \"read\": \".*\"}",
	    400);
	cr_assert_str_eq(body, "{\"error\":\"bad_request\",\"reason\":"
	    "\"vhost_or_user_not_found\"}");
	call("PUT", "/api/users/x", "not json", 400);
	call("PUT", "/api/topic-permissions/%2F/guest",
	    "{\"write\": \"a\", \"read\": \"b\"}", 400);
	if (!b.external) {
		/* warren's own checks (RabbitMQ accepts some of these). */
		call("PUT", "/api/permissions/%2F/guest", "{\"configure\": "
		    "\"(\", \"write\": \".*\", \"read\": \".*\"}", 400);
		call("PUT", "/api/vhosts/bad", "{\"tracing\": true}", 400);
		call("PUT", "/api/vhosts/bad", "{\"default_queue_type\": "
		    "\"quorum\"}", 400);
		call("PUT", "/api/vhosts/bad", "{\"description\": 5}", 400);
		call("GET", "/api/vhosts/bad", NULL, 404);
		call("PUT", "/api/vhosts/%FF", NULL, 400);
		call("PUT", "/api/users/y", "{\"password_hash\": \"!!\", "
		    "\"tags\": \"\"}", 400);
		/* Good base64, but an MD5 hash's length for SHA-256. */
		call("PUT", "/api/users/y", "{\"password_hash\": "
		    "\"ytUIm8s3AnKsXQjptplKFytfVxI=\", \"tags\": \"\"}",
		    400);
		call("GET", "/api/users/y", NULL, 404);
	}
	/* guest's permissions are unchanged by all of that. */
	body = call("GET", "/api/permissions/%2F/guest", NULL, 200);
	cr_assert_not_null(strstr(body, "\"configure\":\".*\""), "%s", body);
	hb_stop(&b);
}

Test(admin_api, only_administrators_change_vhosts_users_and_permissions)
{
	char		upath[300];
	const char	*u = strdup(hb_name("mu"));
	char		cred[300];
	struct hhttp	r;

	need_admin();
	snprintf(upath, sizeof(upath), "/api/users/%s", u);
	snprintf(cred, sizeof(cred), "%s:pw", u);
	call("PUT", upath, "{\"password\": \"pw\", \"tags\": \"monitoring\"}",
	    201);
	cr_assert_eq(hb_http(&b, "PUT", "/api/vhosts/mon-v", cred, NULL, &r),
	    401);
	hb_http_free(&r);
	cr_assert_eq(hb_http(&b, "DELETE", "/api/users/guest", cred, NULL, &r),
	    401);
	hb_http_free(&r);
	cr_assert_eq(hb_http(&b, "GET", "/api/vhosts", cred, NULL, &r), 200);
	hb_http_free(&r);
	call("GET", "/api/users/guest", NULL, 200);
	call("DELETE", upath, NULL, 204);
	hb_stop(&b);
}

Test(admin_api, hostile_bodies_and_names_are_refused_or_kept_as_names)
{
	char		*deep;
	const char	*body;
	size_t		 n = 30000, i;	/* within a route's 64 KB */

	need_admin();
	/* RELIABILITY 26: deeply nested JSON is a 400, not a stack blow-up. */
	cr_assert_not_null(deep = malloc(2 * n + 1));
	for (i = 0; i < n; i++) {
		deep[i] = '[';
		deep[n + i] = ']';
	}
	deep[2 * n] = '\0';
	body = call("PUT", "/api/vhosts/deep", deep, 400);
	cr_assert_not_null(strstr(body, "bad_request"), "%s", body);
	free(deep);
	call("GET", "/api/vhosts/deep", NULL, 404);
	/* A name with "../" is a name: no file is ever made from it. */
	call("PUT", "/api/vhosts/..%2F..%2Fetc", NULL, 201);
	body = call("GET", "/api/vhosts/..%2F..%2Fetc", NULL, 200);
	cr_assert_not_null(strstr(body, "\"name\":\"../../etc\""), "%s", body);
	call("DELETE", "/api/vhosts/..%2F..%2Fetc", NULL, 204);
	/* HTML in a name is data, escaped only by JSON rules. */
	call("PUT", "/api/users/%3Cscript%3E", "{\"password\": \"x\", "
	    "\"tags\": \"\"}", 201);
	body = call("GET", "/api/users/%3Cscript%3E", NULL, 200);
	cr_assert_not_null(strstr(body, "\"name\":\"<script>\""), "%s", body);
	call("DELETE", "/api/users/%3Cscript%3E", NULL, 204);
	hb_stop(&b);
}

Test(admin_api, vhost_metadata_from_a_definitions_file_is_kept)
{
	static char	 path[] = "/tmp/warren-vdefs-XXXXXX";
	const char	*argv[] = { "--load-definitions", path, NULL };
	const char	*body;
	FILE		*f;
	int		 fd;

	if (getenv("WARREN_TEST_URL") != NULL &&
	    getenv("WARREN_TEST_URL")[0] != '\0')
		cr_skip_test("tests warrend itself; external broker in use");
	cr_assert_neq(fd = mkstemp(path), -1);
	cr_assert_not_null(f = fdopen(fd, "w"));
	fputs("{\"vhosts\": [{\"name\": \"/\"}, {\"name\": \"meta\", "
	    "\"metadata\": {\"description\": \"from a file\", "
	    "\"tags\": [\"t1\", \"t2\"]}}],\n"
	    "\"users\": [{\"name\": \"guest\", \"password\": \"guest\", "
	    "\"tags\": [\"administrator\"]}],\n"
	    "\"permissions\": [{\"user\": \"guest\", \"vhost\": \"/\", "
	    "\"configure\": \".*\", \"write\": \".*\", \"read\": \".*\"}]}\n",
	    f);
	cr_assert_eq(fclose(f), 0);
	hb_start(&b, argv);
	unlink(path);
	body = call("GET", "/api/vhosts/meta", NULL, 200);
	cr_assert_not_null(strstr(body, "\"description\":\"from a file\""),
	    "%s", body);
	cr_assert_not_null(strstr(body, "\"tags\":[\"t1\",\"t2\"]"), "%s",
	    body);
	cr_assert_eq(hb_halt(&b, SIGTERM), 0);
	hb_restart(&b, NULL);
	body = call("GET", "/api/vhosts/meta", NULL, 200);
	cr_assert_not_null(strstr(body, "\"description\":\"from a file\""),
	    "%s", body);
	hb_stop(&b);
}
