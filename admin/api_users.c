/*
 * /api/users: list (all, or those without permissions), show, create or
 * update (a password or a RabbitMQ password hash, and tags), delete
 * (which closes the user's connections), bulk delete.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "admin/api.h"
#include "admin/api_amqp.h"
#include "admin/api_list.h"
#include "admin/http.h"
#include "lib/json.h"
#include "server/auth.h"
#include "server/auth_password.h"
#include "server/broker.h"

#define USER_NAME_MAX	255	/* spec: a SASL name fits a shortstr */

static void
write_user(struct json_writer *w, const struct user *u)
{
	json_w_begin_object(w);
	json_w_keyc(w, "name");
	json_w_stringc(w, u->name);
	json_w_keyc(w, "password_hash");
	json_w_stringc(w, u->hash);
	json_w_keyc(w, "hashing_algorithm");
	json_w_stringc(w, password_algo_name((enum password_algo)u->algo));
	json_w_keyc(w, "tags");
	api_write_tags(w, u->tags);
	json_w_keyc(w, "limits");
	api_write_user_limits(w, u);
	json_w_end_object(w);
}

static void
list_users(struct api_ctx *ctx, bool without_permissions)
{
	size_t i = 0;
	void *v;

	if (!api_list_begin_unpaged(ctx))
		return;
	while (hmap_next(&ctx->b->users, &i, &v)) {
		const struct user *u = v;
		size_t n = strlen(u->name);

		if (without_permissions && u->perms.count > 0)
			continue;
		if (!api_list_wants(ctx, NULL, u->name, n))
			continue;
		write_user(api_list_item(ctx, NULL, u->name, n), u);
		api_list_item_end(ctx);
	}
	api_list_end(ctx);
}

void
api_users_list(struct api_ctx *ctx)
{
	list_users(ctx, false);
}

/* compat: GET /api/users/without-permissions (RabbitMQ 3.10). */
void
api_users_without_permissions(struct api_ctx *ctx)
{
	list_users(ctx, true);
}

static struct user *
user_arg(struct api_ctx *ctx, size_t i)
{
	struct user *u = auth_user(ctx->b, (const char *)ctx->arg[i].p,
	    ctx->arg[i].len);

	if (u == NULL)
		api_error(ctx, 404, "Object Not Found", "Not Found");
	return u;
}

void
api_user_get(struct api_ctx *ctx)
{
	struct user *u = user_arg(ctx, 0);

	if (u == NULL)
		return;
	write_user(api_json_begin(ctx), u);
	api_json_end(ctx);
}

/* A string member, or NULL when absent or null; false after a 400. */
static bool
string_member(struct api_ctx *ctx, const struct json *obj, const char *key,
    const char **out)
{
	const struct json *j = json_get(obj, key);
	size_t n;

	*out = NULL;
	if (j == NULL || json_type(j) == JSON_NULL)
		return true;
	if (json_type(j) != JSON_STRING || (*out = json_str(j, &n),
	    memchr(*out, '\0', n) != NULL)) {
		api_error(ctx, 400, "bad_request", "%s must be a string "
		    "without NUL", key);
		return false;
	}
	return true;
}

void
api_user_put(struct api_ctx *ctx)
{
	char name[USER_NAME_MAX + 1], tags[4096], err[256];
	const char *password, *hash, *algo;
	struct json *body;
	struct user *old;
	bool created;
	int rc;

	if (!api_name_arg(ctx, 0, "user", USER_NAME_MAX, name,
	    sizeof(name)) || (body = api_body_json(ctx)) == NULL)
		return;
	if (json_type(body) != JSON_OBJECT) {
		api_error(ctx, 400, "bad_request", "the body must be a JSON "
		    "object");
		goto out;
	}
	if (!string_member(ctx, body, "password", &password) ||
	    !string_member(ctx, body, "password_hash", &hash) ||
	    !string_member(ctx, body, "hashing_algorithm", &algo) ||
	    !api_tags_arg(ctx, json_get(body, "tags"), tags, sizeof(tags)))
		goto out;
	if (password != NULL && hash != NULL) {
		api_error(ctx, 400, "bad_request", "give password or "
		    "password_hash, not both");
		goto out;
	}
	/*
	 * compat: RabbitMQ 3.10 (and rabbit_auth_backend_internal:put_user
	 * to this day) refuses a user PUT without tags, new or existing:
	 * 400 tags_not_present, and nothing changes.
	 */
	if (json_get(body, "tags") == NULL) {
		api_error(ctx, 400, "bad_request", "tags_not_present");
		goto out;
	}
	old = auth_user(ctx->b, name, strlen(name));
	created = old == NULL;
	if (password != NULL)
		rc = auth_user_set_password(ctx->b, name, password, tags, err,
		    sizeof(err));
	else if (hash != NULL) {
		enum password_algo a = PASSWORD_SHA256;

		/* A hash that can never match is refused, not stored. */
		if (*hash != '\0' && ((algo != NULL && *algo != '\0' &&
		    password_algo_parse(algo, &a) == -1) ||
		    !password_hash_valid(a, hash))) {
			api_error(ctx, 400, "bad_request", "password_hash or "
			    "hashing_algorithm is not one warren knows");
			goto out;
		}
		rc = auth_user_put(ctx->b, name, hash, algo, tags, err,
		    sizeof(err));
	} else {
		/*
		 * compat: a user made without a password cannot log in with
		 * one (the locked "" hash); an update keeps the password.
		 */
		rc = auth_user_put(ctx->b, name, old != NULL ? old->hash : "",
		    old != NULL ? password_algo_name(
		    (enum password_algo)old->algo) : NULL, tags, err,
		    sizeof(err));
	}
	if (rc == -1) {
		api_error(ctx, 400, "bad_request", "%s", err);
		goto out;
	}
	api_status(ctx, created ? 201 : 204);
out:
	json_free(body);
}

void
api_user_delete(struct api_ctx *ctx)
{
	struct user *u = user_arg(ctx, 0);

	if (u == NULL)
		return;
	auth_user_del(ctx->b, u->name);	/* closes its connections too */
	api_status(ctx, 204);
}

/*
 * POST /api/users/bulk-delete {"users":[names]}. compat: as RabbitMQ
 * 3.10, the users are deleted in order and the first unknown one stops
 * it with 400 ["no_such_user",name] (those before it are gone); a body
 * without "users" is 400 "[{key_missing,users}]". Where RabbitMQ
 * crashes (500) on a "users" that is not a list of names, warren
 * answers 400 and deletes nothing.
 */
void
api_users_bulk_delete(struct api_ctx *ctx)
{
	const struct json *list;
	struct json *body;
	size_t n;

	if ((body = api_body_json(ctx)) == NULL)
		return;
	if (json_type(body) != JSON_OBJECT ||
	    (list = json_get(body, "users")) == NULL) {
		api_error(ctx, 400, "bad_request", "[{key_missing,users}]");
		goto out;
	}
	if (json_type(list) != JSON_ARRAY) {
		api_error(ctx, 400, "bad_request", "users must be a list of "
		    "user names");
		goto out;
	}
	for (size_t i = 0; i < json_len(list); i++)
		if (json_type(json_at(list, i)) != JSON_STRING) {
			api_error(ctx, 400, "bad_request", "users must be a "
			    "list of user names");
			goto out;
		}
	for (size_t i = 0; i < json_len(list); i++) {
		const char *name = json_str(json_at(list, i), &n);
		struct user *u = auth_user(ctx->b, name, n);

		if (u == NULL) {
			api_error_pair(ctx, "no_such_user", name, n);
			goto out;
		}
		auth_user_del(ctx->b, u->name);	/* closes its connections */
	}
	api_status(ctx, 204);
out:
	json_free(body);
}
