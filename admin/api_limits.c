/*
 * /api/vhost-limits (max-connections, max-queues) and /api/user-limits
 * (max-connections, max-channels): list, set one with {"value":N},
 * delete one.
 *
 * compat: RabbitMQ 3.10 (checked): a listing holds only the vhosts or
 * users with a limit set ([] when none), each as {vhost|user, value:{..}};
 * a PUT answers 204, new or not; a negative value means no limit. Its
 * reasons are kept word for word. Contract (ADMIN-CONTRACT.md §10.5):
 * deleting a limit that is not set is a 404 (RabbitMQ 3.10 says 204,
 * which Terraform takes the same way); and a value may be given as a
 * string of digits, as rabbitmqadmin v1 sends ints.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "admin/api.h"
#include "admin/api_amqp.h"
#include "admin/api_list.h"
#include "admin/http.h"
#include "lib/json.h"
#include "server/auth.h"
#include "server/broker.h"
#include "server/persist.h"
#include "server/vhost.h"

static void
write_limit_value(struct json_writer *w, const char *k1, int64_t v1,
    const char *k2, int64_t v2)
{
	json_w_begin_object(w);
	/* In key order, as RabbitMQ sorts them. */
	if (strcmp(k1, k2) > 0) {
		const char *k = k1;
		int64_t v = v1;

		k1 = k2, v1 = v2, k2 = k, v2 = v;
	}
	if (v1 >= 0) {
		json_w_keyc(w, k1);
		json_w_int(w, v1);
	}
	if (v2 >= 0) {
		json_w_keyc(w, k2);
		json_w_int(w, v2);
	}
	json_w_end_object(w);
}

static void
write_vhost_limits(struct api_ctx *ctx, const struct vhost *vh)
{
	struct json_writer *w;
	size_t n = strlen(vh->name);

	if (vh->max_connections < 0 && vh->max_queues < 0)
		return;
	if (!api_list_wants(ctx, NULL, vh->name, n))
		return;
	w = api_list_item(ctx, NULL, vh->name, n);
	json_w_begin_object(w);
	json_w_keyc(w, "vhost");
	json_w_stringc(w, vh->name);
	json_w_keyc(w, "value");
	write_limit_value(w, "max-connections", vh->max_connections,
	    "max-queues", vh->max_queues);
	json_w_end_object(w);
	api_list_item_end(ctx);
}

void
api_vhost_limits_list(struct api_ctx *ctx)
{
	size_t i = 0;
	void *v;

	if (!api_list_begin_unpaged(ctx))
		return;
	while (hmap_next(&ctx->b->vhosts, &i, &v))
		if (api_vhost_visible(ctx, v))
			write_vhost_limits(ctx, v);
	api_list_end(ctx);
}

/* compat: RabbitMQ answers a vhost the user may not see as missing. */
static struct vhost *
vhost_arg(struct api_ctx *ctx, bool put)
{
	return api_vhost_lookup(ctx, 0, put ? API_VHOST_WRITE :
	    API_VHOST_READ, API_VHOST_SEE, API_VHOST_DENY_404);
}

void
api_vhost_limits_get(struct api_ctx *ctx)
{
	struct vhost *vh = vhost_arg(ctx, false);

	if (vh == NULL || !api_list_begin_unpaged(ctx))
		return;
	write_vhost_limits(ctx, vh);
	api_list_end(ctx);
}

/* Which limit path argument 1 names: 0 or 1 of names, or -1. */
static int
limit_name(const struct api_ctx *ctx, const char *const names[2])
{
	for (int i = 0; i < 2; i++)
		if (proto_str_eqc(ctx->arg[1], names[i]))
			return i;
	return -1;
}

/*
 * The {"value":N} of a PUT of limit names[which] (which -1: unknown),
 * in *v (negative: none). False after answering 400 with RabbitMQ's
 * reason, prefixed by "Validation failed\n\n" ... "\n" for vhost limits.
 */
static bool
limit_value(struct api_ctx *ctx, const char *const names[2], int which,
    const char *section, bool vhost, int64_t *v)
{
	const char *pre = vhost ? "Validation failed\n\n" : "";
	const char *post = vhost ? "\n" : "";
	const struct json *j;
	struct json *body;
	char shown[160];
	bool ok = false;

	if ((body = api_body_json(ctx)) == NULL)
		return false;
	if (json_type(body) != JSON_OBJECT ||
	    (j = json_get(body, "value")) == NULL) {
		api_error(ctx, 400, "bad_request", "[{key_missing,value}]");
		goto out;
	}
	if (json_type(j) == JSON_STRING)
		snprintf(shown, sizeof(shown), "<<\"%.100s\">>",
		    json_str(j, NULL));
	else if (json_type(j) == JSON_NUMBER && json_int(j, v))
		snprintf(shown, sizeof(shown), "%" PRId64, *v);
	else if (json_type(j) == JSON_NUMBER)
		snprintf(shown, sizeof(shown), "%g", json_num(j));
	else if (json_type(j) == JSON_BOOL)	/* as Erlang prints them */
		snprintf(shown, sizeof(shown), "%s", json_bool(j) ? "true" :
		    "false");
	else if (json_type(j) == JSON_NULL)
		snprintf(shown, sizeof(shown), "null");
	else
		snprintf(shown, sizeof(shown), "%s",
		    json_type(j) == JSON_ARRAY ? "[...]" : "#{...}");
	if (which < 0) {
		api_error(ctx, 400, "bad_request", "%sUnrecognised terms "
		    "[{<<\"%.*s\">>,%s}] in %s%s", pre, (int)(ctx->arg[1].len >
		    100 ? 100 : ctx->arg[1].len), (const char *)ctx->arg[1].p,
		    shown, section, post);
		goto out;
	}
	if (json_type(j) == JSON_STRING) {
		const char *s = json_str(j, NULL);
		char *end;

		*v = strtoll(s, &end, 10);
		ok = *s != '\0' && *end == '\0' && strlen(s) <= 18;
	} else
		ok = json_type(j) == JSON_NUMBER && json_int(j, v);
	if (!ok)
		api_error(ctx, 400, "bad_request", "%s%s should be a number, "
		    "actually was %s%s", pre, names[which], shown, post);
out:
	json_free(body);
	return ok;
}

static const char *const vhost_limit_names[2] = { "max-connections",
    "max-queues" };
static const char *const user_limit_names[2] = { "max-connections",
    "max-channels" };

void
api_vhost_limit_put(struct api_ctx *ctx)
{
	int which = limit_name(ctx, vhost_limit_names);
	struct vhost *vh;
	int64_t v;

	if ((vh = vhost_arg(ctx, true)) == NULL ||
	    !limit_value(ctx, vhost_limit_names, which, "limits", true, &v))
		return;
	if (v < 0)
		v = -1;
	if (which == 0)
		vhost_set_limits(vh, v, vh->max_queues);
	else
		vhost_set_limits(vh, vh->max_connections, v);
	api_status(ctx, 204);
}

void
api_vhost_limit_delete(struct api_ctx *ctx)
{
	int which = limit_name(ctx, vhost_limit_names);
	struct vhost *vh;

	if ((vh = vhost_arg(ctx, false)) == NULL)
		return;
	if (which < 0 || (which == 0 ? vh->max_connections :
	    vh->max_queues) < 0) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	if (which == 0)
		vhost_set_limits(vh, -1, vh->max_queues);
	else
		vhost_set_limits(vh, vh->max_connections, -1);
	api_status(ctx, 204);
}

/* ---- users ------------------------------------------------------------ */

static void
write_user_limits(struct api_ctx *ctx, const struct user *u)
{
	struct json_writer *w;
	size_t n = strlen(u->name);

	if (u->max_connections < 0 && u->max_channels < 0)
		return;
	if (!api_list_wants(ctx, NULL, u->name, n))
		return;
	w = api_list_item(ctx, NULL, u->name, n);
	json_w_begin_object(w);
	json_w_keyc(w, "user");
	json_w_stringc(w, u->name);
	json_w_keyc(w, "value");
	api_write_user_limits(w, u);
	json_w_end_object(w);
	api_list_item_end(ctx);
}

void
api_write_user_limits(struct json_writer *w, const struct user *u)
{
	write_limit_value(w, "max-connections", u->max_connections,
	    "max-channels", u->max_channels);
}


void
api_user_limits_list(struct api_ctx *ctx)
{
	size_t i = 0;
	void *v;

	if (!api_list_begin_unpaged(ctx))
		return;
	/* compat: any management user sees every user's (3.10, checked). */
	while (hmap_next(&ctx->b->users, &i, &v))
		write_user_limits(ctx, v);
	api_list_end(ctx);
}

static struct user *
user_arg(struct api_ctx *ctx)
{
	struct user *u = auth_user(ctx->b, (const char *)ctx->arg[0].p,
	    ctx->arg[0].len);

	if (u == NULL || strlen(u->name) != ctx->arg[0].len)
		return NULL;
	return u;
}

void
api_user_limits_get(struct api_ctx *ctx)
{
	struct user *u = user_arg(ctx);

	if (u == NULL) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	if (!api_list_begin_unpaged(ctx))
		return;
	write_user_limits(ctx, u);
	api_list_end(ctx);
}

void
api_user_limit_put(struct api_ctx *ctx)
{
	int which = limit_name(ctx, user_limit_names);
	struct json_writer *w;
	struct user *u;
	int64_t v;

	if ((u = user_arg(ctx)) == NULL) {
		/* compat: RabbitMQ's reason is a list here. */
		w = api_json_begin(ctx);
		ctx->resp->status = 400;
		json_w_begin_object(w);
		json_w_keyc(w, "error");
		json_w_stringc(w, "bad_request");
		json_w_keyc(w, "reason");
		json_w_begin_array(w);
		json_w_stringc(w, "no_such_user");
		json_w_string(w, (const char *)ctx->arg[0].p, ctx->arg[0].len);
		json_w_end_array(w);
		json_w_end_object(w);
		api_json_end(ctx);
		return;
	}
	if (!limit_value(ctx, user_limit_names, which, "user-limits", false,
	    &v))
		return;
	if (v < 0)
		v = -1;
	if (which == 0)
		u->max_connections = v;
	else
		u->max_channels = v;
	persist_user_limits(ctx->b, u);
	api_status(ctx, 204);
}

void
api_user_limit_delete(struct api_ctx *ctx)
{
	int which = limit_name(ctx, user_limit_names);
	struct user *u = user_arg(ctx);
	int64_t *lim;

	if (u == NULL || which < 0 || *(lim = which == 0 ?
	    &u->max_connections : &u->max_channels) < 0) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	*lim = -1;
	persist_user_limits(ctx->b, u);
	api_status(ctx, 204);
}
