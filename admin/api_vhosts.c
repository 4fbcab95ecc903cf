/*
 * /api/vhosts: list, show, create or update (description, tags), and
 * delete (which closes the vhost's connections with 320 and removes
 * everything in it), through the same server functions as everything else.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/api.h"
#include "admin/api_list.h"
#include "admin/api_stats.h"
#include "lib/json.h"
#include "protocol/utf8.h"
#include "server/auth.h"
#include "server/broker.h"
#include "server/queue.h"
#include "server/vhost.h"

/* spec: connection.open names a vhost in a shortstr. */
#define VHOST_NAME_MAX	255

/* Whether ctx's user may see vh in listings. */
static bool
visible(const struct api_ctx *ctx, const struct vhost *vh)
{
	/* compat: administrators and monitoring users see every vhost. */
	if (ctx->user->tag_bits & (USER_TAG_ADMINISTRATOR |
	    USER_TAG_MONITORING))
		return true;
	return auth_vhost_allowed(ctx->user, vh->name);
}

/* stats: the statistics members too (not with disable_stats=true). */
static void
write_vhost(const struct api_ctx *ctx, struct json_writer *w,
    const struct vhost *vh, bool stats)
{
	json_w_begin_object(w);
	json_w_keyc(w, "name");
	json_w_stringc(w, vh->name);
	json_w_keyc(w, "description");
	json_w_stringc(w, vh->description);
	json_w_keyc(w, "tags");
	api_write_tags(w, vh->tags);
	json_w_keyc(w, "metadata");
	json_w_begin_object(w);
	json_w_keyc(w, "description");
	json_w_stringc(w, vh->description);
	json_w_keyc(w, "tags");
	api_write_tags(w, vh->tags);
	json_w_end_object(w);
	/* warren has one queue type and no tracing: both honestly so. */
	json_w_keyc(w, "default_queue_type");
	json_w_stringc(w, "classic");
	json_w_keyc(w, "tracing");
	json_w_bool(w, false);
	/* message_stats, messages* with rates, recv_oct and send_oct. */
	if (stats)
		api_stats_vhost(w, ctx, vh);
	json_w_end_object(w);
}

/* The vhost named by path argument i, or NULL after answering 404. */
static struct vhost *
vhost_arg(struct api_ctx *ctx, size_t i)
{
	struct vhost *vh = broker_vhost(ctx->b, (const char *)ctx->arg[i].p,
	    ctx->arg[i].len);

	/* A vhost a user may not see does not exist for them. */
	if (vh == NULL || !visible(ctx, vh)) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return NULL;
	}
	return vh;
}

/* A listing's item (api_list.h: keyed), found again by its name. */
static bool
write_listed(struct api_ctx *ctx, struct json_writer *w, const char *vhost,
    const char *name, size_t namelen)
{
	struct vhost *vh = broker_vhost(ctx->b, name, namelen);

	if (vh == NULL)
		return false;
	write_vhost(ctx, w, vh, !api_list_disable_stats(ctx));
	return true;
}

void
api_vhosts_list(struct api_ctx *ctx)
{
	size_t i = 0;
	void *v;

	if (!api_range_read(ctx))
		return;
	if (!api_list_begin(ctx))
		return;
	while (hmap_next(&ctx->b->vhosts, &i, &v)) {
		struct vhost *vh = v;
		size_t n = strlen(vh->name);

		if (visible(ctx, vh) && api_list_wants(ctx, NULL, vh->name, n))
			api_list_key(ctx, NULL, vh->name, n);
	}
	api_list_end_keyed(ctx, write_listed);
}

void
api_vhost_get(struct api_ctx *ctx)
{
	struct vhost *vh = vhost_arg(ctx, 0);

	if (!api_range_read(ctx))
		return;
	if (vh == NULL)
		return;
	write_vhost(ctx, api_json_begin(ctx), vh, true);
	api_json_end(ctx);
}

/*
 * A vhost or user name from the path: valid UTF-8 without NUL, at most max
 * bytes, NUL-terminated into out. False after answering 400.
 */
bool
api_name_arg(struct api_ctx *ctx, size_t i, const char *what, size_t max,
    char *out, size_t outlen)
{
	struct proto_str s = ctx->arg[i];

	if (s.len == 0 || s.len > max || s.len >= outlen ||
	    memchr(s.p, '\0', s.len) != NULL ||
	    !proto_utf8_valid(s.p, s.len)) {
		api_error(ctx, 400, "bad_request", "%s name must be 1 to %zu "
		    "bytes of UTF-8 without NUL", what, max);
		return false;
	}
	memcpy(out, s.p, s.len);
	out[s.len] = '\0';
	return true;
}

/*
 * Tags as RabbitMQ takes them: a comma-separated string or a list of
 * strings; written to out comma-separated. False after answering 400.
 */
bool
api_tags_arg(struct api_ctx *ctx, const struct json *j, char *out,
    size_t outlen)
{
	size_t at = 0, n;
	const char *s;

	out[0] = '\0';
	if (j == NULL || json_type(j) == JSON_NULL)
		return true;
	if (json_type(j) == JSON_STRING) {
		s = json_str(j, &n);
		if (n >= outlen || memchr(s, '\0', n) != NULL)
			goto bad;
		memcpy(out, s, n + 1);
		return true;
	}
	if (json_type(j) != JSON_ARRAY)
		goto bad;
	for (size_t i = 0; i < json_len(j); i++) {
		const struct json *e = json_at(j, i);

		if (json_type(e) != JSON_STRING)
			goto bad;
		s = json_str(e, &n);
		if (at + n + 2 > outlen || memchr(s, '\0', n) != NULL ||
		    memchr(s, ',', n) != NULL)
			goto bad;
		if (at > 0)
			out[at++] = ',';
		memcpy(out + at, s, n);
		at += n;
		out[at] = '\0';
	}
	return true;
bad:
	api_error(ctx, 400, "bad_request", "tags must be a comma-separated "
	    "string or a list of strings (at most %zu bytes)", outlen - 1);
	return false;
}

void
api_vhost_put(struct api_ctx *ctx)
{
	char name[VHOST_NAME_MAX + 1], tags[4096], err[256];
	const struct json *d, *t, *qt, *tr;
	const char *desc = NULL;
	struct json *body;
	struct vhost *vh;
	bool created;
	size_t n;

	if (!api_name_arg(ctx, 0, "vhost", VHOST_NAME_MAX, name,
	    sizeof(name)) || (body = api_body_json(ctx)) == NULL)
		return;
	if (json_type(body) != JSON_OBJECT) {
		api_error(ctx, 400, "bad_request", "the body must be a JSON "
		    "object");
		goto out;
	}
	/* compat: metadata's fields stand in for missing top-level ones. */
	d = json_get(body, "description");
	t = json_get(body, "tags");
	if (json_get(body, "metadata") != NULL) {
		if (d == NULL)
			d = json_get(json_get(body, "metadata"), "description");
		if (t == NULL)
			t = json_get(json_get(body, "metadata"), "tags");
	}
	if (d != NULL && json_type(d) != JSON_NULL) {
		if (json_type(d) != JSON_STRING || (desc = json_str(d, &n),
		    memchr(desc, '\0', n) != NULL) || n > 4096) {
			api_error(ctx, 400, "bad_request", "description must "
			    "be a string of at most 4096 bytes");
			goto out;
		}
	}
	if (!api_tags_arg(ctx, t, tags, sizeof(tags)))
		goto out;
	/* Asking for what warren cannot do is an error, not a no-op. */
	if ((qt = json_get(body, "default_queue_type")) != NULL &&
	    json_type(qt) != JSON_NULL && (json_type(qt) != JSON_STRING ||
	    (strcmp(json_str(qt, NULL), "classic") != 0 &&
	    strcmp(json_str(qt, NULL), "undefined") != 0))) {
		api_error(ctx, 400, "bad_request", "default_queue_type: warren "
		    "has classic queues only");
		goto out;
	}
	if ((tr = json_get(body, "tracing")) != NULL &&
	    json_type(tr) != JSON_NULL && (json_type(tr) != JSON_BOOL ||
	    json_bool(tr))) {
		api_error(ctx, 400, "bad_request", "tracing: warren has no "
		    "message tracing");
		goto out;
	}
	created = (vh = broker_vhost(ctx->b, name, strlen(name))) == NULL;
	if (created)
		vh = vhost_create(ctx->b, name);
	/* compat: RabbitMQ gives whoever creates a vhost full permissions. */
	if (created && auth_permission_set(ctx->b, ctx->user->name, name,
	    ".*", ".*", ".*", err, sizeof(err)) == -1) {
		api_error(ctx, 500, "internal_error", "%s", err);
		goto out;
	}
	/* An update keeps what the body does not mention. */
	vhost_set_meta(vh, desc != NULL ? desc : (d != NULL ? "" :
	    vh->description), t != NULL ? tags : vh->tags);
	api_status(ctx, created ? 201 : 204);
out:
	json_free(body);
}

void
api_vhost_delete(struct api_ctx *ctx)
{
	struct vhost *vh = vhost_arg(ctx, 0);

	if (vh == NULL)
		return;
	vhost_delete(vh);
	api_status(ctx, 204);
}
