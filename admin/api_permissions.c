/*
 * /api/permissions and /api/topic-permissions: a user's configure, write
 * and read patterns in a vhost, and their write and read patterns for
 * routing keys on topic exchanges.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "admin/api.h"
#include "admin/api_list.h"
#include "lib/json.h"
#include "server/auth.h"
#include "server/auth_perm.h"
#include "server/broker.h"
#include "server/vhost.h"

static void
write_permission(struct json_writer *w, const struct user *u,
    const struct permission *pm)
{
	static const char *const keys[] = { "configure", "write", "read" };

	json_w_begin_object(w);
	json_w_keyc(w, "user");
	json_w_stringc(w, u->name);
	json_w_keyc(w, "vhost");
	json_w_stringc(w, pm->vhost);
	for (int i = 0; i < 3; i++) {
		json_w_keyc(w, keys[i]);
		json_w_stringc(w, perm_re_pattern(pm->re[i]));
	}
	json_w_end_object(w);
}

void
api_permissions_list(struct api_ctx *ctx)
{
	size_t i = 0, j;
	void *u, *p;

	if (!api_list_begin_unpaged(ctx))
		return;
	while (hmap_next(&ctx->b->users, &i, &u))
		for (j = 0; hmap_next(&((struct user *)u)->perms, &j, &p);) {
			const struct permission *pm = p;
			const char *name = ((struct user *)u)->name;
			size_t n = strlen(name);

			/* compat: x-vhost does not filter permissions. */
			if (!api_list_wants(ctx, NULL, name, n))
				continue;
			write_permission(api_list_item(ctx, pm->vhost, name, n),
			    u, pm);
			api_list_item_end(ctx);
		}
	api_list_end(ctx);
}

/* GET /api/users/{user}/permissions */
void
api_user_permissions(struct api_ctx *ctx)
{
	struct user *u = auth_user(ctx->b, (const char *)ctx->arg[0].p,
	    ctx->arg[0].len);
	struct json_writer *w;
	void *pm;

	if (u == NULL) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	w = api_json_begin(ctx);
	json_w_begin_array(w);
	for (size_t j = 0; hmap_next(&u->perms, &j, &pm);)
		write_permission(w, u, pm);
	json_w_end_array(w);
	api_json_end(ctx);
}

/* GET /api/vhosts/{vhost}/permissions */
void
api_vhost_permissions(struct api_ctx *ctx)
{
	struct vhost *vh = broker_vhost(ctx->b, (const char *)ctx->arg[0].p,
	    ctx->arg[0].len);
	struct json_writer *w;
	void *u, *pm;

	if (vh == NULL) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	w = api_json_begin(ctx);
	json_w_begin_array(w);
	for (size_t i = 0; hmap_next(&ctx->b->users, &i, &u);)
		if ((pm = hmap_get(&((struct user *)u)->perms, vh->name,
		    strlen(vh->name))) != NULL)
			write_permission(w, u, pm);
	json_w_end_array(w);
	api_json_end(ctx);
}

/*
 * The vhost (argument 0) and user (argument 1) of a permission path, or
 * false after answering: 404 for GET and DELETE, 400 for PUT (compat:
 * RabbitMQ's "vhost_or_user_not_found").
 */
static bool
vhost_and_user(struct api_ctx *ctx, int missing_status, struct vhost **vh,
    struct user **u)
{
	*vh = broker_vhost(ctx->b, (const char *)ctx->arg[0].p,
	    ctx->arg[0].len);
	*u = auth_user(ctx->b, (const char *)ctx->arg[1].p, ctx->arg[1].len);
	if (*vh != NULL && *u != NULL)
		return true;
	if (missing_status == 404)
		api_error(ctx, 404, "Object Not Found", "Not Found");
	else
		api_error(ctx, 400, "bad_request", "vhost_or_user_not_found");
	return false;
}

void
api_permission_get(struct api_ctx *ctx)
{
	struct permission *pm;
	struct vhost *vh;
	struct user *u;

	if (!vhost_and_user(ctx, 404, &vh, &u))
		return;
	if ((pm = hmap_get(&u->perms, vh->name, strlen(vh->name))) == NULL) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	write_permission(api_json_begin(ctx), u, pm);
	api_json_end(ctx);
}

/*
 * Reads the string members keys[0..n) of the body into out[]; false
 * after answering 400 (compat: RabbitMQ names the missing keys).
 */
static bool
pattern_members(struct api_ctx *ctx, const struct json *body,
    const char *const *keys, size_t n, const char **out)
{
	char missing[128] = "";
	size_t at = 0, len;

	if (json_type(body) != JSON_OBJECT) {
		api_error(ctx, 400, "bad_request", "the body must be a JSON "
		    "object");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const struct json *j = json_get(body, keys[i]);

		out[i] = NULL;
		if (j == NULL) {
			at += (size_t)snprintf(missing + at, sizeof(missing) -
			    at, "%s{key_missing,%s}", at > 0 ? "," : "",
			    keys[i]);
			continue;
		}
		if (json_type(j) != JSON_STRING || (out[i] = json_str(j,
		    &len), memchr(out[i], '\0', len) != NULL)) {
			api_error(ctx, 400, "bad_request", "%s must be a "
			    "string without NUL", keys[i]);
			return false;
		}
	}
	if (at > 0) {
		api_error(ctx, 400, "bad_request", "[%s]", missing);
		return false;
	}
	return true;
}

void
api_permission_put(struct api_ctx *ctx)
{
	static const char *const keys[] = { "configure", "write", "read" };
	const char *p[3];
	struct json *body;
	struct vhost *vh;
	struct user *u;
	char err[512];
	bool created;

	if ((body = api_body_json(ctx)) == NULL)
		return;
	if (!pattern_members(ctx, body, keys, 3, p) ||
	    !vhost_and_user(ctx, 400, &vh, &u))
		goto out;
	created = hmap_get(&u->perms, vh->name, strlen(vh->name)) == NULL;
	if (auth_permission_set(ctx->b, u->name, vh->name, p[0], p[1], p[2],
	    err, sizeof(err)) == -1) {
		api_error(ctx, 400, "bad_request", "%s", err);
		goto out;
	}
	api_status(ctx, created ? 201 : 204);
out:
	json_free(body);
}

void
api_permission_delete(struct api_ctx *ctx)
{
	struct vhost *vh;
	struct user *u;

	if (!vhost_and_user(ctx, 404, &vh, &u))
		return;
	if (hmap_get(&u->perms, vh->name, strlen(vh->name)) == NULL) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	auth_permission_del(ctx->b, u->name, vh->name);
	api_status(ctx, 204);
}

/* ---- topic permissions ------------------------------------------------ */

struct topic_list {
	struct json_writer	*w;
	const char		*user;
};

static void
write_topic(void *arg, const char *vhost, const char *exchange,
    const char *write, const char *read)
{
	struct topic_list *tl = arg;

	json_w_begin_object(tl->w);
	json_w_keyc(tl->w, "user");
	json_w_stringc(tl->w, tl->user);
	json_w_keyc(tl->w, "vhost");
	json_w_stringc(tl->w, vhost);
	json_w_keyc(tl->w, "exchange");
	json_w_stringc(tl->w, exchange);
	json_w_keyc(tl->w, "write");
	json_w_stringc(tl->w, write);
	json_w_keyc(tl->w, "read");
	json_w_stringc(tl->w, read);
	json_w_end_object(tl->w);
}

void
api_topic_permissions_list(struct api_ctx *ctx)
{
	struct topic_list tl = { api_json_begin(ctx), NULL };
	size_t i = 0;
	void *v;

	json_w_begin_array(tl.w);
	while (hmap_next(&ctx->b->users, &i, &v)) {
		tl.user = ((struct user *)v)->name;
		auth_topic_list(v, NULL, write_topic, &tl);
	}
	json_w_end_array(tl.w);
	api_json_end(ctx);
}

/* GET /api/users/{user}/topic-permissions */
void
api_user_topic_permissions(struct api_ctx *ctx)
{
	struct user *u = auth_user(ctx->b, (const char *)ctx->arg[0].p,
	    ctx->arg[0].len);
	struct topic_list tl;

	if (u == NULL) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	tl.w = api_json_begin(ctx);
	tl.user = u->name;
	json_w_begin_array(tl.w);
	auth_topic_list(u, NULL, write_topic, &tl);
	json_w_end_array(tl.w);
	api_json_end(ctx);
}

/* GET /api/vhosts/{vhost}/topic-permissions */
void
api_vhost_topic_permissions(struct api_ctx *ctx)
{
	struct vhost *vh = broker_vhost(ctx->b, (const char *)ctx->arg[0].p,
	    ctx->arg[0].len);
	struct topic_list tl;
	void *u;

	if (vh == NULL) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	tl.w = api_json_begin(ctx);
	json_w_begin_array(tl.w);
	for (size_t i = 0; hmap_next(&ctx->b->users, &i, &u);) {
		tl.user = ((struct user *)u)->name;
		auth_topic_list(u, vh->name, write_topic, &tl);
	}
	json_w_end_array(tl.w);
	api_json_end(ctx);
}

/* Counts without writing: whether a user has any in a vhost. */
static void
count_topic(void *arg, const char *vhost, const char *exchange,
    const char *write, const char *read)
{
	(void)vhost, (void)exchange, (void)write, (void)read;
	(*(size_t *)arg)++;
}

void
api_topic_permission_get(struct api_ctx *ctx)
{
	struct topic_list tl;
	struct vhost *vh;
	struct user *u;
	size_t n = 0;

	if (!vhost_and_user(ctx, 404, &vh, &u))
		return;
	if (auth_topic_list(u, vh->name, count_topic, &n) == 0) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	tl.w = api_json_begin(ctx);
	tl.user = u->name;
	json_w_begin_array(tl.w);
	auth_topic_list(u, vh->name, write_topic, &tl);
	json_w_end_array(tl.w);
	api_json_end(ctx);
}

void
api_topic_permission_put(struct api_ctx *ctx)
{
	static const char *const keys[] = { "exchange", "write", "read" };
	const char *p[3];
	struct json *body;
	struct vhost *vh;
	struct user *u;
	char err[512];
	bool created;

	if ((body = api_body_json(ctx)) == NULL)
		return;
	if (!pattern_members(ctx, body, keys, 3, p) ||
	    !vhost_and_user(ctx, 400, &vh, &u))
		goto out;
	created = !auth_topic_exists(u, vh->name, p[0]);
	if (auth_topic_permission_set(ctx->b, u->name, vh->name, p[0], p[1],
	    p[2], err, sizeof(err)) == -1) {
		api_error(ctx, 400, "bad_request", "%s", err);
		goto out;
	}
	api_status(ctx, created ? 201 : 204);
out:
	json_free(body);
}

/* compat: DELETE clears all of a user's topic permissions in the vhost. */
void
api_topic_permission_delete(struct api_ctx *ctx)
{
	struct vhost *vh;
	struct user *u;
	size_t n = 0;

	if (!vhost_and_user(ctx, 404, &vh, &u))
		return;
	if (auth_topic_list(u, vh->name, count_topic, &n) == 0) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	auth_topic_permission_clear(ctx->b, u->name, vh->name);
	api_status(ctx, 204);
}
