#include "autoconf.h"

/*
 * The small endpoints: /api/extensions, /api/feature-flags,
 * /api/deprecated-features[/used], /api/version, /api/cluster-name and
 * /api/auth.
 */
#include <stdbool.h>
#include <string.h>

#include "admin/api.h"
#include "lib/json.h"
#include "server/broker.h"
#include "server/node.h"

static void
empty_array(struct api_ctx *ctx)
{
	struct json_writer *w = api_json_begin(ctx);

	json_w_begin_array(w);
	json_w_end_array(w);
	api_json_end(ctx);
}

/* No UI plugins: RabbitMQ lists the JavaScript files they add. */
void
api_extensions(struct api_ctx *ctx)
{
	empty_array(ctx);
}

/* No feature flags: nothing to enable, nothing a tool must wait for. */
void
api_feature_flags(struct api_ctx *ctx)
{
	empty_array(ctx);
}

/* Nothing deprecated is in use (RabbitMQ 3.13+ paths). */
void
api_deprecated_features(struct api_ctx *ctx)
{
	empty_array(ctx);
}

/* compat: a bare JSON string, as RabbitMQ 3.11+ answers. */
void
api_version(struct api_ctx *ctx)
{
	struct json_writer *w = api_json_begin(ctx);

	json_w_stringc(w, PACKAGE_VERSION);
	api_json_end(ctx);
}

void
api_cluster_name_get(struct api_ctx *ctx)
{
	struct json_writer *w = api_json_begin(ctx);

	json_w_begin_object(w);
	json_w_keyc(w, "name");
	json_w_stringc(w, ctx->b->cluster_name);
	json_w_end_object(w);
	api_json_end(ctx);
}

void
api_cluster_name_put(struct api_ctx *ctx)
{
	const struct json *name;
	const char *s = NULL;
	struct json *j;
	size_t n = 0;

	if ((j = api_body_json(ctx)) == NULL)
		return;
	if (json_type(j) != JSON_OBJECT ||
	    (name = json_get(j, "name")) == NULL) {
		/* compat: RabbitMQ's words for a body without "name". */
		api_error(ctx, 400, "bad_request", "[{key_missing,name}]");
	} else if ((s = json_str(name, &n)) == NULL ||
	    memchr(s, '\0', n) != NULL || n > NODE_NAME_MAX - 1) {
		api_error(ctx, 400, "bad_request", "name must be a string of "
		    "at most %u bytes", NODE_NAME_MAX - 1);
	} else {
		node_set_cluster_name(ctx->b, s, n);
		api_status(ctx, 204);
	}
	json_free(j);
}

/* compat: RabbitMQ 3.10's answer without OAuth 2 configured. */
void
api_auth(struct api_ctx *ctx)
{
	struct json_writer *w = api_json_begin(ctx);

	json_w_begin_object(w);
	json_w_keyc(w, "enable_uaa");
	json_w_bool(w, false);
	json_w_keyc(w, "uaa_client_id");
	json_w_stringc(w, "");
	json_w_keyc(w, "uaa_location");
	json_w_stringc(w, "");
	json_w_end_object(w);
	api_json_end(ctx);
}
