/*
 * What the queue, exchange and binding endpoints share: AMQP arguments
 * and message properties to and from JSON as RabbitMQ's management plugin
 * writes and reads them, lenient body members, the vhost of a path and
 * the user's rights in it.
 */
#ifndef WARREN_ADMIN_API_AMQP_H
#define WARREN_ADMIN_API_AMQP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/spec.h"
#include "protocol/wire.h"
#include "server/auth.h"

struct api_ctx;
struct json;
struct json_writer;
struct vhost;

/* The properties that are set, by RabbitMQ's names (headers as an object). */
void	api_write_props(struct json_writer *w,
	    const struct proto_basic_properties *p);
/*
 * An "arguments" member (absent, null or {}: none) as table entries into
 * *out (malloc'd; caller frees). False after answering 400.
 */
bool	api_args_arg(struct api_ctx *ctx, const struct json *v, uint8_t **out,
	    size_t *outlen);
/*
 * The "properties" of a publish as basic properties (strings point into
 * the body; headers into *hdr, which the caller frees). False after
 * answering 400.
 */
bool	api_props_arg(struct api_ctx *ctx, const struct json *v,
	    struct proto_basic_properties *p, uint8_t **hdr);
/*
 * compat: rabbit_misc:parse_bool/parse_int: true, "true", 1, "1". An
 * absent member gives def; false after answering 400 with RabbitMQ's
 * ["not_boolean", value] reason.
 */
bool	api_bool_member(struct api_ctx *ctx, const struct json *body,
	    const char *key, bool def, bool *out);
/* A required (compat: [{key_missing,KEY}]) or optional integer member. */
bool	api_int_member(struct api_ctx *ctx, const struct json *body,
	    const char *key, bool required, int64_t def, int64_t *out);
/* compat: a 400 whose reason is RabbitMQ's [what, value] pair. */
void	api_error_pair(struct api_ctx *ctx, const char *what, const char *val,
	    size_t len);
/*
 * The request body as a JSON object, or NULL after answering 400
 * (compat: anything else is "not_json" to RabbitMQ).
 */
struct json *api_body_object(struct api_ctx *ctx);

/* How a path's vhost is wanted. */
enum api_vhost_use {
	API_VHOST_READ,		/* GET: 404 "Not Found" when missing */
	API_VHOST_WRITE,	/* PUT/POST/DELETE: 404 vhost_not_found */
};
/*
 * Who may name a vhost in a path. compat: RabbitMQ 3.10's resources check
 * differently, each as its own code does (checked on a live 3.10.8).
 */
enum api_vhost_access {
	API_VHOST_ANYONE,	/* the route's tag is the whole check */
	API_VHOST_SEE,		/* administrators, monitoring users, members */
	API_VHOST_OPEN,		/* administrators and members */
	API_VHOST_MEMBER,	/* users with access to it (their permissions) */
};
/* Whether the user passes access for vh. */
bool	api_vhost_may(const struct api_ctx *ctx, const struct vhost *vh,
	    enum api_vhost_access access);
/* How a user who may not is answered. */
enum api_vhost_deny {
	API_VHOST_DENY_401,	/* "User not authorised to access virtual host" */
	API_VHOST_DENY_404,	/* as if it did not exist (vhost limits) */
};
/* The vhost named by path argument i, or NULL after answering. */
struct vhost *api_vhost_lookup(struct api_ctx *ctx, size_t i,
	    enum api_vhost_use use, enum api_vhost_access access,
	    enum api_vhost_deny deny);
/*
 * The common case: reads by anyone who sees it (SEE), writes by members
 * (MEMBER), denied with 401.
 */
struct vhost *api_vhost_arg(struct api_ctx *ctx, size_t i,
	    enum api_vhost_use use);
/* Whether the user may see vh in listings. */
bool	api_vhost_visible(const struct api_ctx *ctx, const struct vhost *vh);
/*
 * Whether the user has right kind on name in vh; false after answering
 * 401 "Access refused." (compat: RabbitMQ's words for the management
 * API's own checks).
 */
bool	api_can(struct api_ctx *ctx, const struct vhost *vh,
	    enum perm_kind kind, struct proto_str name);
/* An exchange name from a path: compat: "amq.default" is "". */
struct proto_str api_exchange_arg(const struct api_ctx *ctx, size_t i);
/* Whether a name (queue, exchange, key) is at most 255 bytes of UTF-8. */
bool	api_name_ok(struct api_ctx *ctx, struct proto_str s, const char *what);

/*
 * compat: erlang:phash2(Args, 1 bsl 32) of a binding's arguments as
 * RabbitMQ holds them (api_phash.c): the hash in its properties_key.
 */
uint32_t api_args_phash2(struct proto_table args);

#endif /* WARREN_ADMIN_API_AMQP_H */
