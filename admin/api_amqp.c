/*
 * AMQP values as JSON and back, and the vhost and rights checks of the
 * queue, exchange and binding endpoints.
 */
#include "autoconf.h"

#include "admin/api_amqp.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/api.h"
#include "admin/api_list.h"
#include "admin/api_table.h"
#include "admin/http.h"
#include "lib/json.h"
#include "protocol/table.h"
#include "protocol/utf8.h"
#include "server/broker.h"
#include "server/definitions.h"
#include "server/vhost.h"

static void
prop_str(struct json_writer *w, const struct proto_basic_properties *p,
    uint16_t flag, const char *key, struct proto_str s)
{
	if (!(p->flags & flag))
		return;
	json_w_keyc(w, key);
	json_w_string(w, (const char *)s.p, s.len);
}

void
api_write_props(struct json_writer *w, const struct proto_basic_properties *p)
{
	json_w_begin_object(w);
	prop_str(w, p, PROTO_BASIC_CONTENT_TYPE_FLAG, "content_type",
	    p->content_type);
	prop_str(w, p, PROTO_BASIC_CONTENT_ENCODING_FLAG, "content_encoding",
	    p->content_encoding);
	if (p->flags & PROTO_BASIC_HEADERS_FLAG) {
		json_w_keyc(w, "headers");
		api_write_table(w, p->headers);
	}
	if (p->flags & PROTO_BASIC_DELIVERY_MODE_FLAG) {
		json_w_keyc(w, "delivery_mode");
		json_w_uint(w, p->delivery_mode);
	}
	if (p->flags & PROTO_BASIC_PRIORITY_FLAG) {
		json_w_keyc(w, "priority");
		json_w_uint(w, p->priority);
	}
	prop_str(w, p, PROTO_BASIC_CORRELATION_ID_FLAG, "correlation_id",
	    p->correlation_id);
	prop_str(w, p, PROTO_BASIC_REPLY_TO_FLAG, "reply_to", p->reply_to);
	prop_str(w, p, PROTO_BASIC_EXPIRATION_FLAG, "expiration",
	    p->expiration);
	prop_str(w, p, PROTO_BASIC_MESSAGE_ID_FLAG, "message_id",
	    p->message_id);
	if (p->flags & PROTO_BASIC_TIMESTAMP_FLAG) {
		json_w_keyc(w, "timestamp");
		json_w_uint(w, p->timestamp);
	}
	prop_str(w, p, PROTO_BASIC_TYPE_FLAG, "type", p->type);
	prop_str(w, p, PROTO_BASIC_USER_ID_FLAG, "user_id", p->user_id);
	prop_str(w, p, PROTO_BASIC_APP_ID_FLAG, "app_id", p->app_id);
	json_w_end_object(w);
}

bool
api_args_arg(struct api_ctx *ctx, const struct json *v, uint8_t **out,
    size_t *outlen)
{
	char err[256];

	*out = NULL;
	*outlen = 0;
	/* compat: RabbitMQ takes null and [] for "no arguments" too. */
	if (v == NULL || json_type(v) == JSON_NULL ||
	    (json_type(v) == JSON_ARRAY && json_len(v) == 0))
		return true;
	if (definitions_encode_args(v, out, outlen, err, sizeof(err)) == -1) {
		/* compat: RabbitMQ's reason for a null inside. */
		if (strstr(err, "null is not allowed") != NULL)
			api_error(ctx, 400, "bad_request", "null_not_allowed");
		else
			api_error(ctx, 400, "bad_request", "%s", err);
		return false;
	}
	return true;
}

void
api_error_pair(struct api_ctx *ctx, const char *what, const char *val,
    size_t len)
{
	struct json_writer *w = api_json_begin(ctx);

	ctx->resp->status = 400;
	json_w_begin_object(w);
	json_w_keyc(w, "error");
	json_w_stringc(w, "bad_request");
	json_w_keyc(w, "reason");
	json_w_begin_array(w);
	json_w_stringc(w, what);
	json_w_string(w, val, len);
	json_w_end_array(w);
	json_w_end_object(w);
	api_json_end(ctx);
}

/*
 * compat: RabbitMQ quotes the value as it came in ["not_boolean", V]
 * reasons: 3 stays 3 and [1] stays [1] (3.10, checked); a long string
 * is cut to 64 bytes. The body is small (SMALL_BODY), so is the echo.
 */
static void
bad_value(struct api_ctx *ctx, const char *what, const struct json *v)
{
	struct json_writer *w;
	size_t n;

	if (json_type(v) == JSON_STRING) {
		const char *s = json_str(v, &n);

		api_error_pair(ctx, what, s, n > 64 ? 64 : n);
		return;
	}
	w = api_json_begin(ctx);
	ctx->resp->status = 400;
	json_w_begin_object(w);
	json_w_keyc(w, "error");
	json_w_stringc(w, "bad_request");
	json_w_keyc(w, "reason");
	json_w_begin_array(w);
	json_w_stringc(w, what);
	json_w_value(w, v);
	json_w_end_array(w);
	json_w_end_object(w);
	api_json_end(ctx);
}

bool
api_bool_member(struct api_ctx *ctx, const struct json *body,
    const char *key, bool def, bool *out)
{
	const struct json *v = json_get(body, key);
	const char *s;

	*out = def;
	if (v == NULL)
		return true;
	if (json_type(v) == JSON_BOOL) {
		*out = json_bool(v);
		return true;
	}
	if (json_type(v) == JSON_STRING) {
		s = json_str(v, NULL);
		if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
			*out = s[0] == 't';
			return true;
		}
	}
	bad_value(ctx, "not_boolean", v);
	return false;
}

bool
api_int_member(struct api_ctx *ctx, const struct json *body,
    const char *key, bool required, int64_t def, int64_t *out)
{
	const struct json *v = json_get(body, key);
	char *end;

	*out = def;
	if (v == NULL) {
		if (!required)
			return true;
		api_error(ctx, 400, "bad_request", "[{key_missing,%s}]", key);
		return false;
	}
	if (json_int(v, out))
		return true;
	if (json_type(v) == JSON_STRING) {
		const char *s = json_str(v, NULL);
		long long n;

		n = strtoll(s, &end, 10);
		if (*s != '\0' && *end == '\0') {
			*out = n;
			return true;
		}
	}
	bad_value(ctx, "not_integer", v);
	return false;
}

struct json *
api_body_object(struct api_ctx *ctx)
{
	struct json *j = api_body_json(ctx);

	if (j != NULL && json_type(j) != JSON_OBJECT) {
		json_free(j);
		api_error(ctx, 400, "bad_request", "not_json");
		return NULL;
	}
	return j;
}

/* A string property; false after answering 400. */
static bool
str_prop(struct api_ctx *ctx, const struct json *props, const char *key,
    uint16_t flag, struct proto_basic_properties *p, struct proto_str *out)
{
	const struct json *v = json_get(props, key);
	size_t n;

	if (v == NULL)
		return true;
	if (json_type(v) != JSON_STRING) {
		api_error_pair(ctx, "not_string", key, strlen(key));
		return false;
	}
	out->p = (const uint8_t *)json_str(v, &n);
	out->len = n;
	/* spec: properties are shortstrs. */
	if (n > 255) {
		api_error(ctx, 400, "bad_request", "property %s is longer than "
		    "255 bytes", key);
		return false;
	}
	p->flags |= flag;
	return true;
}

/* An integer property in [0, max]; false after answering 400. */
static bool
int_prop(struct api_ctx *ctx, const struct json *props, const char *key,
    uint16_t flag, uint64_t max, struct proto_basic_properties *p,
    uint64_t *out)
{
	const struct json *v = json_get(props, key);
	int64_t n;

	if (v == NULL)
		return true;
	/* compat: a number only ("3" is refused, unlike body members). */
	if (!json_int(v, &n))
		goto bad;
	if (n < 0 || (uint64_t)n > max)
		goto bad;
	*out = (uint64_t)n;
	p->flags |= flag;
	return true;
bad:
	/* compat: rabbit_mgmt_format's ["not_int", KEY]. */
	api_error_pair(ctx, "not_int", key, strlen(key));
	return false;
}

bool
api_props_arg(struct api_ctx *ctx, const struct json *v,
    struct proto_basic_properties *p, uint8_t **hdr)
{
	uint64_t dm = 0, prio = 0, ts = 0;
	size_t hlen;

	memset(p, 0, sizeof(*p));
	*hdr = NULL;
	if (json_type(v) != JSON_OBJECT) {
		api_error(ctx, 400, "bad_request", "properties must be an "
		    "object");
		return false;
	}
	/* compat: unknown keys are ignored, as by RabbitMQ. */
	if (!str_prop(ctx, v, "content_type", PROTO_BASIC_CONTENT_TYPE_FLAG, p,
	    &p->content_type) ||
	    !str_prop(ctx, v, "content_encoding",
	    PROTO_BASIC_CONTENT_ENCODING_FLAG, p, &p->content_encoding) ||
	    !str_prop(ctx, v, "correlation_id",
	    PROTO_BASIC_CORRELATION_ID_FLAG, p, &p->correlation_id) ||
	    !str_prop(ctx, v, "reply_to", PROTO_BASIC_REPLY_TO_FLAG, p,
	    &p->reply_to) ||
	    !str_prop(ctx, v, "expiration", PROTO_BASIC_EXPIRATION_FLAG, p,
	    &p->expiration) ||
	    !str_prop(ctx, v, "message_id", PROTO_BASIC_MESSAGE_ID_FLAG, p,
	    &p->message_id) ||
	    !str_prop(ctx, v, "type", PROTO_BASIC_TYPE_FLAG, p, &p->type) ||
	    !str_prop(ctx, v, "user_id", PROTO_BASIC_USER_ID_FLAG, p,
	    &p->user_id) ||
	    !str_prop(ctx, v, "app_id", PROTO_BASIC_APP_ID_FLAG, p,
	    &p->app_id) ||
	    !int_prop(ctx, v, "delivery_mode", PROTO_BASIC_DELIVERY_MODE_FLAG,
	    255, p, &dm) ||
	    !int_prop(ctx, v, "priority", PROTO_BASIC_PRIORITY_FLAG, 255, p,
	    &prio) ||
	    !int_prop(ctx, v, "timestamp", PROTO_BASIC_TIMESTAMP_FLAG,
	    INT64_MAX, p, &ts))
		return false;
	p->delivery_mode = (uint8_t)dm;
	p->priority = (uint8_t)prio;
	p->timestamp = ts;
	if (json_get(v, "headers") != NULL &&
	    json_type(json_get(v, "headers")) != JSON_NULL) {
		if (!api_args_arg(ctx, json_get(v, "headers"), hdr, &hlen))
			return false;
		p->headers = (struct proto_table){ *hdr, hlen };
		p->flags |= PROTO_BASIC_HEADERS_FLAG;
	}
	return true;
}

bool
api_vhost_visible(const struct api_ctx *ctx, const struct vhost *vh)
{
	/* compat: administrators and monitoring users see every vhost. */
	if (ctx->user->tag_bits & (USER_TAG_ADMINISTRATOR |
	    USER_TAG_MONITORING))
		return true;
	return auth_vhost_allowed(ctx->user, vh->name);
}

bool
api_vhost_may(const struct api_ctx *ctx, const struct vhost *vh,
    enum api_vhost_access access)
{
	switch (access) {
	case API_VHOST_ANYONE:
		return true;
	case API_VHOST_SEE:
		return api_vhost_visible(ctx, vh);
	case API_VHOST_OPEN:
		if (ctx->user->tag_bits & USER_TAG_ADMINISTRATOR)
			return true;
		break;
	case API_VHOST_MEMBER:
		break;
	}
	return auth_vhost_allowed(ctx->user, vh->name);
}

struct vhost *
api_vhost_lookup(struct api_ctx *ctx, size_t i, enum api_vhost_use use,
    enum api_vhost_access access, enum api_vhost_deny deny)
{
	struct vhost *vh = broker_vhost(ctx->b, (const char *)ctx->arg[i].p,
	    ctx->arg[i].len);
	bool hidden = vh != NULL && !api_vhost_may(ctx, vh, access);

	if (vh == NULL || (hidden && deny == API_VHOST_DENY_404)) {
		/* compat: RabbitMQ's two answers for a missing vhost. */
		if (use == API_VHOST_READ)
			api_error(ctx, 404, "Object Not Found", "Not Found");
		else
			api_error(ctx, 404, "not_found", "vhost_not_found");
		return NULL;
	}
	if (hidden) {
		api_error(ctx, 401, "not_authorised", "User not authorised to "
		    "access virtual host");
		return NULL;
	}
	return vh;
}

struct vhost *
api_vhost_arg(struct api_ctx *ctx, size_t i, enum api_vhost_use use)
{
	return api_vhost_lookup(ctx, i, use, use == API_VHOST_READ ?
	    API_VHOST_SEE : API_VHOST_MEMBER, API_VHOST_DENY_401);
}

bool
api_can(struct api_ctx *ctx, const struct vhost *vh, enum perm_kind kind,
    struct proto_str name)
{
	if (auth_can(ctx->user, vh->name, kind, name))
		return true;
	api_error(ctx, 401, "not_authorised", "Access refused.");
	return false;
}

struct proto_str
api_exchange_arg(const struct api_ctx *ctx, size_t i)
{
	if (proto_str_eqc(ctx->arg[i], "amq.default"))
		return (struct proto_str){ (const uint8_t *)"", 0 };
	return ctx->arg[i];
}

bool
api_name_ok(struct api_ctx *ctx, struct proto_str s, const char *what)
{
	/* spec: names and routing keys are shortstrs. */
	if (s.len <= 255 && proto_utf8_valid(s.p, s.len) &&
	    memchr(s.p, '\0', s.len) == NULL)
		return true;
	api_error(ctx, 400, "bad_request", "%s must be at most 255 bytes of "
	    "UTF-8 without NUL", what);
	return false;
}
