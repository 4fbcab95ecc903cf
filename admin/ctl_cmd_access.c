#include "autoconf.h"

/*
 * warrenctl's commands on virtual hosts, users, permissions, topic
 * permissions, policies, operator policies and limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/ctl.h"
#include "admin/ctl_cmd.h"
#include "admin/ctl_http.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/xmalloc.h"

#define NCOLS(a)	(sizeof(a) / sizeof((a)[0]))

static const struct ctl_column vhost_cols[] = {
	{ "name", "name" }, { "description", "description" },
	{ "tags", "tags" }, { "default_queue_type", "default_queue_type" },
	{ "tracing", "tracing" }, { "messages", "messages" },
};
static const struct ctl_column user_cols[] = {
	{ "name", "name" }, { "tags", "tags" },
};
static const struct ctl_column perm_cols[] = {
	{ "user", "user" }, { "vhost", "vhost" },
	{ "configure", "configure" }, { "write", "write" },
	{ "read", "read" },
};
static const struct ctl_column topic_perm_cols[] = {
	{ "user", "user" }, { "vhost", "vhost" }, { "exchange", "exchange" },
	{ "write", "write" }, { "read", "read" },
};
static const struct ctl_column policy_cols[] = {
	{ "vhost", "vhost" }, { "name", "name" }, { "pattern", "pattern" },
	{ "apply-to", "apply-to" }, { "priority", "priority" },
	{ "definition", "definition" },
};
static const struct ctl_column vhost_limit_cols[] = {
	{ "vhost", "vhost" }, { "value", "value" },
};
static const struct ctl_column user_limit_cols[] = {
	{ "user", "user" }, { "value", "value" },
};

/* Sends body (owned) to path (owned). */
static int
send_owned(struct ctl *c, const char *method, char *path, char *body,
    const char *what)
{
	int rc = ctl_send(c, method, path, body, what);

	free(path);
	free(body);
	return rc;
}

static char *
body_done(struct json_writer *w, struct buf *b)
{
	char *s = ctl_body_end(w, b);

	if (s == NULL)
		ctl_fail(CTL_EX_DATAERR, "the request is too large");
	return s;
}

/* ---- vhosts ---- */

CTL_CMD(cmd_vhosts_list)
{
	/* The vhost filter does not apply to the list of vhosts. */
	return ctl_list_path(c, "/vhosts", vhost_cols, NCOLS(vhost_cols),
	    true, "name");
}

CTL_CMD(cmd_vhosts_declare)
{
	const char *name = ctl_arg(c, "name"), *v;
	struct json_writer w;
	struct buf b;
	char *body;

	ctl_body_begin(&w, &b);
	if ((v = ctl_arg(c, "description")) != NULL) {
		json_w_keyc(&w, "description");
		json_w_stringc(&w, v);
	}
	if ((v = ctl_arg(c, "tags")) != NULL) {
		json_w_keyc(&w, "tags");
		json_w_stringc(&w, v);
	}
	if ((v = ctl_arg(c, "default-queue-type")) != NULL) {
		json_w_keyc(&w, "default_queue_type");
		json_w_stringc(&w, v);
	}
	if (ctl_arg(c, "tracing") != NULL) {
		json_w_keyc(&w, "tracing");
		json_w_bool(&w, ctl_arg_bool(c, "tracing", false));
	}
	if ((body = body_done(&w, &b)) == NULL)
		return CTL_EX_DATAERR;
	return send_owned(c, "PUT", ctl_path("/vhosts/{}", name), body, NULL);
}

CTL_CMD(cmd_vhosts_delete)
{
	const char *name = ctl_arg(c, "name");
	char wh[1024];

	snprintf(wh, sizeof(wh), "vhost '%s'", name);
	return send_owned(c, "DELETE", ctl_path("/vhosts/{}", name), NULL,
	    wh);
}

/* ---- users ---- */

CTL_CMD(cmd_users_list)
{
	return ctl_list_path(c, "/users", user_cols, NCOLS(user_cols), false,
	    "name");
}

CTL_CMD(cmd_users_declare)
{
	const char *name = ctl_arg(c, "name"), *pw = ctl_arg(c, "password");
	const char *hash = ctl_arg(c, "password-hash"), *tags;
	struct json_writer w;
	struct buf b;
	char *body;

	if (pw != NULL && hash != NULL)
		return ctl_fail(CTL_EX_USAGE, "users declare takes --password "
		    "or --password-hash, not both");
	if (pw == NULL && hash == NULL)
		return ctl_fail(CTL_EX_USAGE, "users declare needs --password "
		    "or --password-hash");
	tags = ctl_arg(c, "tags");
	ctl_body_begin(&w, &b);
	json_w_keyc(&w, pw ? "password" : "password_hash");
	json_w_stringc(&w, pw ? pw : hash);
	/* compat: RabbitMQ requires tags (tags_not_present); "" is none. */
	json_w_keyc(&w, "tags");
	json_w_stringc(&w, tags ? tags : "");
	if ((body = body_done(&w, &b)) == NULL)
		return CTL_EX_DATAERR;
	return send_owned(c, "PUT", ctl_path("/users/{}", name), body, NULL);
}

CTL_CMD(cmd_users_delete)
{
	const char *name = ctl_arg(c, "name");
	char wh[1024];

	snprintf(wh, sizeof(wh), "user '%s'", name);
	return send_owned(c, "DELETE", ctl_path("/users/{}", name), NULL, wh);
}

/* ---- permissions and topic permissions ---- */

/* /KIND, /KIND/{user} or /vhosts/{v}/KIND as the filters ask. */
static int
perm_list(struct ctl *c, const char *kind, const struct ctl_column *cols,
    size_t ncols)
{
	const char *user = ctl_arg(c, "user");
	char tmpl[64], *path;
	int rc;

	if (user != NULL) {
		snprintf(tmpl, sizeof(tmpl), "/users/{}/%s", kind);
		path = ctl_path(tmpl, user);
	} else if (c->conf.vhost_set) {
		snprintf(tmpl, sizeof(tmpl), "/vhosts/{}/%s", kind);
		path = ctl_path(tmpl, ctl_vhost(c));
	} else {
		snprintf(tmpl, sizeof(tmpl), "/%s", kind);
		path = xstrdup(tmpl);
	}
	rc = ctl_list_path(c, path, cols, ncols, false, "user");
	free(path);
	return rc;
}

CTL_CMD(cmd_permissions_list)
{
	return perm_list(c, "permissions", perm_cols, NCOLS(perm_cols));
}

/* PUT {keys[0..2]: their flags} to tmpl filled with the vhost and user. */
static int
put_user_perms(struct ctl *c, const char *const keys[3], const char *tmpl)
{
	struct json_writer w;
	struct buf b;
	char *body, wh[1024];

	ctl_body_begin(&w, &b);
	for (size_t i = 0; i < 3; i++) {
		json_w_keyc(&w, keys[i]);
		json_w_stringc(&w, ctl_arg(c, keys[i]));
	}
	if ((body = body_done(&w, &b)) == NULL)
		return CTL_EX_DATAERR;
	snprintf(wh, sizeof(wh), "vhost '%s' or user '%s'", ctl_vhost(c),
	    ctl_arg(c, "user"));
	return send_owned(c, "PUT", ctl_path(tmpl, ctl_vhost(c),
	    ctl_arg(c, "user")), body, wh);
}

CTL_CMD(cmd_permissions_declare)
{
	static const char *const keys[] = { "configure", "write", "read" };

	return put_user_perms(c, keys, "/permissions/{}/{}");
}

CTL_CMD(cmd_permissions_delete)
{
	char wh[1024];

	snprintf(wh, sizeof(wh), "permissions of user '%s' in vhost '%s'",
	    ctl_arg(c, "user"), ctl_vhost(c));
	return send_owned(c, "DELETE", ctl_path("/permissions/{}/{}",
	    ctl_vhost(c), ctl_arg(c, "user")), NULL, wh);
}

CTL_CMD(cmd_topic_permissions_list)
{
	return perm_list(c, "topic-permissions", topic_perm_cols,
	    NCOLS(topic_perm_cols));
}

CTL_CMD(cmd_topic_permissions_declare)
{
	static const char *const keys[] = { "exchange", "write", "read" };

	return put_user_perms(c, keys, "/topic-permissions/{}/{}");
}

CTL_CMD(cmd_topic_permissions_delete)
{
	char wh[1024];

	snprintf(wh, sizeof(wh), "topic permissions of user '%s' in vhost "
	    "'%s'", ctl_arg(c, "user"), ctl_vhost(c));
	return send_owned(c, "DELETE", ctl_path("/topic-permissions/{}/{}",
	    ctl_vhost(c), ctl_arg(c, "user")), NULL, wh);
}

/* ---- policies and operator policies ---- */

static int
policy_list(struct ctl *c, const char *kind)
{
	char tmpl[64], *path;
	int rc;

	if (c->conf.vhost_set) {
		snprintf(tmpl, sizeof(tmpl), "/%s/{}", kind);
		path = ctl_path(tmpl, ctl_vhost(c));
	} else {
		snprintf(tmpl, sizeof(tmpl), "/%s", kind);
		path = xstrdup(tmpl);
	}
	rc = ctl_list_path(c, path, policy_cols, NCOLS(policy_cols), false,
	    "name");
	free(path);
	return rc;
}

static int
policy_declare(struct ctl *c, const char *kind)
{
	const char *apply = ctl_arg(c, "apply-to");
	struct json_writer w;
	struct buf b;
	char tmpl[64], *body, wh[1024];

	ctl_body_begin(&w, &b);
	json_w_keyc(&w, "pattern");
	json_w_stringc(&w, ctl_arg(c, "pattern"));
	ctl_body_json(&w, c, "definition", "definition");
	json_w_keyc(&w, "apply-to");
	json_w_stringc(&w, apply ? apply : "all");
	json_w_keyc(&w, "priority");
	json_w_int(&w, ctl_arg_long(c, "priority", 0));
	if ((body = body_done(&w, &b)) == NULL)
		return CTL_EX_DATAERR;
	snprintf(tmpl, sizeof(tmpl), "/%s/{}/{}", kind);
	snprintf(wh, sizeof(wh), "vhost '%s'", ctl_vhost(c));
	return send_owned(c, "PUT", ctl_path(tmpl, ctl_vhost(c),
	    ctl_arg(c, "name")), body, wh);
}

static int
policy_delete(struct ctl *c, const char *kind, const char *noun)
{
	char tmpl[64], wh[1024];

	snprintf(tmpl, sizeof(tmpl), "/%s/{}/{}", kind);
	snprintf(wh, sizeof(wh), "%s '%s' in vhost '%s'", noun,
	    ctl_arg(c, "name"), ctl_vhost(c));
	return send_owned(c, "DELETE", ctl_path(tmpl, ctl_vhost(c),
	    ctl_arg(c, "name")), NULL, wh);
}

CTL_CMD(cmd_policies_list) { return policy_list(c, "policies"); }
CTL_CMD(cmd_policies_declare) { return policy_declare(c, "policies"); }
CTL_CMD(cmd_policies_delete)
{
	return policy_delete(c, "policies", "policy");
}
CTL_CMD(cmd_operator_policies_list)
{
	return policy_list(c, "operator-policies");
}
CTL_CMD(cmd_operator_policies_declare)
{
	return policy_declare(c, "operator-policies");
}
CTL_CMD(cmd_operator_policies_delete)
{
	return policy_delete(c, "operator-policies", "operator policy");
}

/* ---- limits ---- */

static char *
limit_body(const struct ctl *c)
{
	struct json_writer w;
	struct buf b;

	ctl_body_begin(&w, &b);
	json_w_keyc(&w, "value");
	json_w_int(&w, ctl_arg_long(c, "value", -1));
	return body_done(&w, &b);
}

CTL_CMD(cmd_vhost_limits_list)
{
	char *path;
	int rc;

	if (!c->conf.vhost_set)
		return ctl_list_path(c, "/vhost-limits", vhost_limit_cols,
		    NCOLS(vhost_limit_cols), false, "vhost");
	path = ctl_path("/vhost-limits/{}", ctl_vhost(c));
	rc = ctl_list_path(c, path, vhost_limit_cols, NCOLS(vhost_limit_cols),
	    false, "vhost");
	free(path);
	return rc;
}

CTL_CMD(cmd_vhost_limits_declare)
{
	char *body = limit_body(c), wh[1024];

	if (body == NULL)
		return CTL_EX_DATAERR;
	snprintf(wh, sizeof(wh), "vhost '%s'", ctl_vhost(c));
	return send_owned(c, "PUT", ctl_path("/vhost-limits/{}/{}",
	    ctl_vhost(c), ctl_arg(c, "name")), body, wh);
}

CTL_CMD(cmd_vhost_limits_delete)
{
	char wh[1024];

	snprintf(wh, sizeof(wh), "limit '%s' of vhost '%s'",
	    ctl_arg(c, "name"), ctl_vhost(c));
	return send_owned(c, "DELETE", ctl_path("/vhost-limits/{}/{}",
	    ctl_vhost(c), ctl_arg(c, "name")), NULL, wh);
}

CTL_CMD(cmd_user_limits_list)
{
	const char *user = ctl_arg(c, "user");
	char *path;
	int rc;

	path = user ? ctl_path("/user-limits/{}", user) :
	    xstrdup("/user-limits");
	rc = ctl_list_path(c, path, user_limit_cols, NCOLS(user_limit_cols),
	    false, "user");
	free(path);
	return rc;
}

CTL_CMD(cmd_user_limits_declare)
{
	char *body = limit_body(c), wh[1024];

	if (body == NULL)
		return CTL_EX_DATAERR;
	snprintf(wh, sizeof(wh), "user '%s'", ctl_arg(c, "user"));
	return send_owned(c, "PUT", ctl_path("/user-limits/{}/{}",
	    ctl_arg(c, "user"), ctl_arg(c, "name")), body, wh);
}

CTL_CMD(cmd_user_limits_delete)
{
	char wh[1024];

	snprintf(wh, sizeof(wh), "limit '%s' of user '%s'",
	    ctl_arg(c, "name"), ctl_arg(c, "user"));
	return send_owned(c, "DELETE", ctl_path("/user-limits/{}/{}",
	    ctl_arg(c, "user"), ctl_arg(c, "name")), NULL, wh);
}
