/*
 * /api/policies and /api/operator-policies: list (all, per vhost), show,
 * create or update, delete, through server/policy.h.
 *
 * compat: RabbitMQ 3.10 (checked): any management user lists the policies
 * of the vhosts they may use (and gets 401 "User not authorised to access
 * virtual host" for another's); showing, setting and deleting one takes
 * policymaker (policies) or administrator (operator policies).
 */
#include "autoconf.h"

#include <stdbool.h>
#include <string.h>

#include "admin/api.h"
#include "admin/api_amqp.h"
#include "admin/api_list.h"
#include "lib/json.h"
#include "server/auth.h"
#include "server/broker.h"
#include "server/policy.h"
#include "server/vhost.h"

/* The vhost of path argument 0, or NULL after answering. */
static struct vhost *
vhost_arg(struct api_ctx *ctx, bool put)
{
	return api_vhost_lookup(ctx, 0, put ? API_VHOST_WRITE :
	    API_VHOST_READ, API_VHOST_OPEN, API_VHOST_DENY_401);
}

static void
list(struct api_ctx *ctx, enum policy_kind kind, bool one_vhost)
{
	struct vhost *only = NULL;
	size_t i = 0;
	void *v;

	if (one_vhost && (only = vhost_arg(ctx, false)) == NULL)
		return;
	if (!api_list_begin_unpaged(ctx))
		return;
	while (hmap_next(&ctx->b->vhosts, &i, &v)) {
		const struct vhost *vh = v;
		const struct policy_list *l = &vh->policies[kind];

		if ((only != NULL && vh != only) || !api_vhost_may(ctx, vh, API_VHOST_OPEN))
			continue;
		for (size_t k = 0; k < l->n; k++) {
			const struct policy *p = l->v[k];
			size_t n = strlen(p->name);

			if (!api_list_wants(ctx, vh->name, p->name, n))
				continue;
			policy_write(api_list_item(ctx, vh->name, p->name, n),
			    vh->name, p);
			api_list_item_end(ctx);
		}
	}
	api_list_end(ctx);
}

/* The policy of path arguments 0 and 1, or NULL after answering 404. */
static struct policy *
policy_arg(struct api_ctx *ctx, enum policy_kind kind, struct vhost **vhp)
{
	char name[POLICY_NAME_MAX + 1];
	struct policy *p;

	if ((*vhp = vhost_arg(ctx, false)) == NULL)
		return NULL;
	if (ctx->arg[1].len > POLICY_NAME_MAX ||
	    memchr(ctx->arg[1].p, '\0', ctx->arg[1].len) != NULL)
		p = NULL;
	else {
		memcpy(name, ctx->arg[1].p, ctx->arg[1].len);
		name[ctx->arg[1].len] = '\0';
		p = policy_find(*vhp, kind, name);
	}
	if (p == NULL)
		api_error(ctx, 404, "Object Not Found", "Not Found");
	return p;
}

static void
get(struct api_ctx *ctx, enum policy_kind kind)
{
	struct vhost *vh;
	struct policy *p;

	if ((p = policy_arg(ctx, kind, &vh)) == NULL)
		return;
	policy_write(api_json_begin(ctx), vh->name, p);
	api_json_end(ctx);
}

static void
put(struct api_ctx *ctx, enum policy_kind kind)
{
	char name[POLICY_NAME_MAX + 1], why[1024];
	struct policy *p;
	struct json *body;
	struct vhost *vh;
	bool created;

	if ((vh = vhost_arg(ctx, true)) == NULL ||
	    !api_name_arg(ctx, 1, "policy", POLICY_NAME_MAX, name,
	    sizeof(name)) || (body = api_body_json(ctx)) == NULL)
		return;
	p = policy_parse(body, kind, name, why, sizeof(why));
	json_free(body);
	if (p == NULL) {
		api_error(ctx, 400, "bad_request", "%s", why);
		return;
	}
	policy_put(vh, kind, p, &created);
	api_status(ctx, created ? 201 : 204);
}

static void
del(struct api_ctx *ctx, enum policy_kind kind)
{
	struct vhost *vh;
	struct policy *p;

	if ((p = policy_arg(ctx, kind, &vh)) == NULL)
		return;
	policy_del(vh, kind, p->name);
	api_status(ctx, 204);
}

void
api_policies_list(struct api_ctx *ctx)
{
	list(ctx, POLICY_USER, false);
}

void
api_policies_vhost(struct api_ctx *ctx)
{
	list(ctx, POLICY_USER, true);
}

void
api_policy_get(struct api_ctx *ctx)
{
	get(ctx, POLICY_USER);
}

void
api_policy_put(struct api_ctx *ctx)
{
	put(ctx, POLICY_USER);
}

void
api_policy_delete(struct api_ctx *ctx)
{
	del(ctx, POLICY_USER);
}

void
api_operator_policies_list(struct api_ctx *ctx)
{
	list(ctx, POLICY_OPERATOR, false);
}

void
api_operator_policies_vhost(struct api_ctx *ctx)
{
	list(ctx, POLICY_OPERATOR, true);
}

void
api_operator_policy_get(struct api_ctx *ctx)
{
	get(ctx, POLICY_OPERATOR);
}

void
api_operator_policy_put(struct api_ctx *ctx)
{
	put(ctx, POLICY_OPERATOR);
}

void
api_operator_policy_delete(struct api_ctx *ctx)
{
	del(ctx, POLICY_OPERATOR);
}
