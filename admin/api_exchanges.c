/*
 * /api/exchanges: list, show, declare (PUT) and delete exchanges, and
 * publish through them (POST .../publish), through the server functions
 * AMQP methods use.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/api.h"
#include "admin/api_amqp.h"
#include "admin/api_list.h"
#include "admin/api_stats.h"
#include "admin/api_table.h"
#include "admin/http.h"
#include "lib/base64.h"
#include "lib/json.h"
#include "protocol/spec.h"
#include "protocol/table.h"
#include "server/alarm.h"
#include "server/auth.h"
#include "server/broker.h"
#include "server/exchange.h"
#include "server/msg.h"
#include "server/policy.h"
#include "server/vhost.h"

/* stats: with message_stats (not with disable_stats=true). */
static void
write_exchange(const struct api_ctx *ctx, struct json_writer *w,
    const struct exchange *ex, bool detail,
    bool stats)
{
	json_w_begin_object(w);
	json_w_keyc(w, "name");
	json_w_string(w, ex->name, ex->name_len);
	json_w_keyc(w, "vhost");
	json_w_stringc(w, ex->vh->name);
	json_w_keyc(w, "type");
	json_w_stringc(w, exchange_kind_name(ex->kind));
	json_w_keyc(w, "durable");
	json_w_bool(w, ex->durable);
	json_w_keyc(w, "auto_delete");
	json_w_bool(w, ex->auto_delete);
	json_w_keyc(w, "internal");
	json_w_bool(w, ex->internal);
	json_w_keyc(w, "arguments");
	api_write_table(w, (struct proto_table){ ex->args, ex->args_len });
	/*
	 * compat: RabbitMQ names the user who declared it; warren does not
	 * keep that, and names only the broker's own exchanges.
	 */
	if (ex->builtin) {
		json_w_keyc(w, "user_who_performed_action");
		json_w_stringc(w, "rmq-internal");
	}
	/* message_stats (publish_in, publish_out) once it has had traffic. */
	if (stats)
		api_stats_exchange(w, ctx, ex);
	policy_write_exchange_members(w, ex);
	if (detail) {
		/* The per-source and per-destination publish rates. */
		json_w_keyc(w, "incoming");
		json_w_begin_array(w);
		json_w_end_array(w);
		json_w_keyc(w, "outgoing");
		json_w_begin_array(w);
		json_w_end_array(w);
	}
	json_w_end_object(w);
}

/* A listing's item (api_list.h: keyed), found again by its key. */
static bool
write_listed(struct api_ctx *ctx, struct json_writer *w, const char *vhost,
    const char *name, size_t namelen)
{
	struct vhost *vh = broker_vhost(ctx->b, vhost, strlen(vhost));
	struct exchange *ex;

	if (vh == NULL || (ex = vhost_exchange(vh, (struct proto_str){
	    (const uint8_t *)name, namelen })) == NULL)
		return false;
	write_exchange(ctx, w, ex, false, !api_list_disable_stats(ctx));
	return true;
}

static void
list_vhost(struct api_ctx *ctx, struct vhost *vh)
{
	size_t i = 0;
	void *v;

	while (hmap_next(&vh->exchanges, &i, &v)) {
		const struct exchange *ex = v;

		if (api_list_wants(ctx, vh->name, ex->name, ex->name_len))
			api_list_key(ctx, vh->name, ex->name, ex->name_len);
	}
}

void
api_exchanges_list(struct api_ctx *ctx)
{
	size_t i = 0;
	void *v;

	if (!api_range_read(ctx))
		return;
	if (!api_list_begin(ctx))
		return;
	while (hmap_next(&ctx->b->vhosts, &i, &v))
		if (api_vhost_visible(ctx, v))
			list_vhost(ctx, v);
	api_list_end_keyed(ctx, write_listed);
}

void
api_exchanges_vhost(struct api_ctx *ctx)
{
	struct vhost *vh = api_vhost_arg(ctx, 0, API_VHOST_READ);

	if (!api_range_read(ctx))
		return;
	if (vh == NULL || !api_list_begin(ctx))
		return;
	list_vhost(ctx, vh);
	api_list_end_keyed(ctx, write_listed);
}

void
api_exchange_get(struct api_ctx *ctx)
{
	struct vhost *vh = api_vhost_arg(ctx, 0, API_VHOST_READ);
	struct exchange *ex;

	if (!api_range_read(ctx))
		return;
	if (vh == NULL)
		return;
	if ((ex = vhost_exchange(vh, api_exchange_arg(ctx, 1))) == NULL) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	write_exchange(ctx, api_json_begin(ctx), ex, true, true);
	api_json_end(ctx);
}

/* PUT /api/exchanges/{vhost}/{name} */
void
api_exchange_put(struct api_ctx *ctx)
{
	struct vhost_exchange_decl d = { .name = api_exchange_arg(ctx, 1),
	    .type = PROTO_STR_LIT("direct"), .user = ctx->user->name };
	enum exchange_kind kind;
	const struct json *t;
	struct vhost_reply r;
	struct exchange *ex;
	struct json *body;
	struct vhost *vh;
	uint8_t *args = NULL;
	size_t args_len, n;

	if ((body = api_body_object(ctx)) == NULL)
		return;
	if ((vh = api_vhost_arg(ctx, 0, API_VHOST_WRITE)) == NULL ||
	    !api_name_ok(ctx, d.name, "exchange name"))
		goto out;
	/* compat: "amq." names and the default exchange: a plain 401. */
	if (d.name.len == 0 || vhost_name_reserved(d.name) ||
	    !api_can(ctx, vh, PERM_CONFIGURE, d.name)) {
		if (ctx->resp->status == 0)
			api_error(ctx, 401, "not_authorised",
			    "Access refused.");
		goto out;
	}
	if ((t = json_get(body, "type")) != NULL) {
		if (json_type(t) != JSON_STRING) {
			api_error_pair(ctx, "not_string", "type", 4);
			goto out;
		}
		d.type.p = (const uint8_t *)json_str(t, &n);
		d.type.len = n;
	}
	/* compat: RabbitMQ's words for an unknown type (a 400). */
	if (exchange_kind_parse(d.type, &kind) == -1) {
		api_error(ctx, 400, "bad_request", "unknown exchange type "
		    "'%.*s'", (int)(d.type.len > 64 ? 64 : d.type.len),
		    (const char *)d.type.p);
		goto out;
	}
	if (!api_bool_member(ctx, body, "durable", false, &d.durable) ||
	    !api_bool_member(ctx, body, "auto_delete", false,
	    &d.auto_delete) ||
	    !api_bool_member(ctx, body, "internal", false, &d.internal) ||
	    !api_args_arg(ctx, json_get(body, "arguments"), &args, &args_len))
		goto out;
	d.args = (struct proto_table){ args, args_len };
	if (vhost_declare_exchange(vh, &d, &ex, &r) != 0) {
		if (r.code == PROTO_ACCESS_REFUSED)
			api_error(ctx, 401, "not_authorised", "%s", r.text);
		else
			api_error(ctx, 400, "bad_request", "%s", r.text);
		goto out;
	}
	api_status(ctx, r.created ? 201 : 204);
out:
	free(args);
	json_free(body);
}

/* DELETE /api/exchanges/{vhost}/{name}[?if-unused=true] */
void
api_exchange_delete(struct api_ctx *ctx)
{
	struct proto_str name = api_exchange_arg(ctx, 1);
	struct vhost *vh = api_vhost_arg(ctx, 0, API_VHOST_WRITE);
	struct vhost_reply r;
	struct exchange *ex;
	char v[8];
	size_t n;

	if (vh == NULL)
		return;
	/* compat: amq.* and the default exchange: 401, before the lookup. */
	if (name.len == 0 || vhost_name_reserved(name)) {
		api_error(ctx, 401, "not_authorised", "Access refused.");
		return;
	}
	if ((ex = vhost_exchange(vh, name)) == NULL) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	if (!api_can(ctx, vh, PERM_CONFIGURE, name))
		return;
	if (vhost_remove_exchange(vh, ex, http_query_param(ctx->req,
	    "if-unused", v, sizeof(v), &n) == 1 && strcmp(v, "true") == 0,
	    &r) != 0) {
		api_error(ctx, r.code == PROTO_ACCESS_REFUSED ? 401 : 400,
		    r.code == PROTO_ACCESS_REFUSED ? "not_authorised" :
		    "bad_request", "%s", r.text);
		return;
	}
	api_status(ctx, 204);
}

/* A string member the publish needs: compat: [{key_missing,KEY}]. */
static const struct json *
need(struct api_ctx *ctx, const struct json *body, const char *key)
{
	const struct json *v = json_get(body, key);

	if (v == NULL)
		api_error(ctx, 400, "bad_request", "[{key_missing,%s}]", key);
	else if (json_type(v) != JSON_STRING && strcmp(key, "properties")) {
		api_error_pair(ctx, "not_string", key, strlen(key));
		v = NULL;
	}
	return v;
}

/*
 * The checks basic.publish makes of a message (chan_basic.c's
 * content_header), with RabbitMQ's words prefixed by the reply code as
 * its management plugin shows them. False after answering 400.
 */
static bool
check_message(struct api_ctx *ctx, struct msg **mp,
    const struct proto_basic_properties *p)
{
	char why[128];
	int64_t ttl;

	if ((p->flags & PROTO_BASIC_DELIVERY_MODE_FLAG) &&
	    p->delivery_mode != 1 && p->delivery_mode != 2) {
		api_error(ctx, 400, "bad_request", "406 PRECONDITION_FAILED - "
		    "invalid message: {delivery_mode_unknown,%u}",
		    (unsigned)p->delivery_mode);
		return false;
	}
	if ((p->flags & PROTO_BASIC_USER_ID_FLAG) &&
	    !proto_str_eqc(p->user_id, ctx->user->name) &&
	    !(ctx->user->tag_bits & USER_TAG_IMPERSONATOR)) {
		api_error(ctx, 400, "bad_request", "406 PRECONDITION_FAILED - "
		    "user_id property set to '%.*s' but authenticated user was "
		    "'%s'", PSTR(p->user_id), ctx->user->name);
		return false;
	}
	if ((p->flags & PROTO_BASIC_EXPIRATION_FLAG) &&
	    msg_parse_expiration(p->expiration, &ttl, why, sizeof(why)) == -1) {
		api_error(ctx, 400, "bad_request", "406 PRECONDITION_FAILED - "
		    "invalid expiration '%.*s': %s", PSTR(p->expiration), why);
		return false;
	}
	if ((*mp)->headers_len != 0) {
		if (msg_check_cc(msg_headers(*mp), why, sizeof(why)) == -1) {
			api_error(ctx, 400, "bad_request", "406 "
			    "PRECONDITION_FAILED - invalid message: %s", why);
			return false;
		}
		if (msg_strip_bcc(mp) == -1) {
			api_error(ctx, 503, "internal_error", "out of memory");
			return false;
		}
	}
	return true;
}

/* POST /api/exchanges/{vhost}/{name}/publish */
void
api_exchange_publish(struct api_ctx *ctx)
{
	struct proto_str name = api_exchange_arg(ctx, 1);
	const struct json *rk, *payload, *enc, *props;
	struct proto_basic_properties p;
	struct proto_writer pw;
	struct route_result *rr = &ctx->b->route;
	uint8_t *hdr = NULL, *pbuf = NULL, *body = NULL;
	struct json *doc;
	struct exchange *ex;
	struct vhost *vh;
	struct msg *m = NULL;
	size_t plen, blen, cap;
	bool refused;

	if ((doc = api_body_object(ctx)) == NULL)
		return;
	if ((vh = api_vhost_arg(ctx, 0, API_VHOST_WRITE)) == NULL)
		goto out;
	/* compat: the management plugin's checks, in its order. */
	if ((rk = need(ctx, doc, "routing_key")) == NULL ||
	    (props = need(ctx, doc, "properties")) == NULL ||
	    (payload = need(ctx, doc, "payload")) == NULL ||
	    (enc = need(ctx, doc, "payload_encoding")) == NULL)
		goto out;
	if (strcmp(json_str(enc, NULL), "string") == 0) {
		const char *s = json_str(payload, &blen);

		if ((body = malloc(blen + 1)) == NULL)
			goto oom;
		memcpy(body, s, blen);
	} else if (strcmp(json_str(enc, NULL), "base64") == 0) {
		size_t slen;
		const char *s = json_str(payload, &slen);

		if ((body = malloc(slen + 1)) == NULL)
			goto oom;
		if (base64_decode(s, slen, body, slen + 1, &blen) != 0) {
			api_error_pair(ctx, "not_base64", s, slen > 64 ? 64 :
			    slen);
			goto out;
		}
	} else {
		api_error_pair(ctx, "unsupported_encoding", json_str(enc, NULL),
		    strlen(json_str(enc, NULL)));
		goto out;
	}
	if (!api_props_arg(ctx, props, &p, &hdr))
		goto out;
	{
		size_t n;
		const char *s = json_str(rk, &n);

		if (!api_name_ok(ctx, (struct proto_str){ (const uint8_t *)s,
		    n }, "routing_key"))
			goto out;
	}
	/* compat: the write right first, then the lookup (a 400 here). */
	if (!auth_can(ctx->user, vh->name, PERM_WRITE, name)) {
		api_error(ctx, 400, "bad_request", "403 ACCESS_REFUSED - access "
		    "to exchange '%.*s' in vhost '%s' refused for user '%s'",
		    name.len > 0 ? (int)name.len : 11, name.len > 0 ?
		    (const char *)name.p : "amq.default", vh->name,
		    ctx->user->name);
		goto out;
	}
	if ((ex = vhost_exchange(vh, name)) == NULL) {
		api_error(ctx, 400, "bad_request", "404 NOT_FOUND - no exchange "
		    "'%.*s' in vhost '%s'", PSTR(name), vh->name);
		goto out;
	}
	if (ex->internal) {
		api_error(ctx, 400, "bad_request", "403 ACCESS_REFUSED - cannot "
		    "publish to internal exchange '%s' in vhost '%s'",
		    ex->name, vh->name);
		goto out;
	}
	if (ex->kind == EXCHANGE_TOPIC && !auth_topic_can(ctx->user, vh->name,
	    name, PERM_WRITE, (struct proto_str){
	    (const uint8_t *)json_str(rk, NULL), strlen(json_str(rk, NULL)) })) {
		api_error(ctx, 400, "bad_request", "403 ACCESS_REFUSED - access "
		    "to topic '%s' in exchange '%s' in vhost '%s' refused for "
		    "user '%s'", json_str(rk, NULL), ex->name, vh->name,
		    ctx->user->name);
		goto out;
	}
	/*
	 * compat: during a resource alarm RabbitMQ's publish waits, blocked
	 * like any publisher, until the alarm clears; warren does not hold
	 * an HTTP request open, and refuses it at once instead of letting
	 * it past the alarm.
	 */
	if (alarm_active(ctx->b)) {
		api_error(ctx, 503, "service_unavailable", "a resource alarm "
		    "is in effect: publishers are blocked");
		goto out;
	}
	if (blen > ctx->b->cfg.max_message_size) {
		api_error(ctx, 400, "bad_request", "406 PRECONDITION_FAILED - "
		    "message size %zu is larger than configured max size %llu",
		    blen, (unsigned long long)ctx->b->cfg.max_message_size);
		goto out;
	}
	/* The properties as a content header carries them. */
	cap = 2048 + p.headers.len;
	if ((pbuf = malloc(cap)) == NULL)
		goto oom;
	pw = proto_writer(pbuf, cap);
	if (!proto_basic_properties_encode(&p, &pw) || pw.overflow) {
		api_error(ctx, 400, "bad_request", "properties too large");
		goto out;
	}
	plen = pw.len;
	m = msg_new((struct proto_str){ (const uint8_t *)ex->name,
	    ex->name_len }, (struct proto_str){
	    (const uint8_t *)json_str(rk, NULL), strlen(json_str(rk, NULL)) },
	    (struct proto_str){ pbuf, plen }, blen);
	if (m == NULL)
		goto oom;
	if (msg_decode_props(m, NULL) != 0) {
		api_error(ctx, 400, "bad_request", "malformed properties");
		goto out;
	}
	if (!check_message(ctx, &m, &p))
		goto out;
	if (!msg_append(m, body, blen))
		goto oom;
	if (vhost_publish(vh, ex, m, rr, &refused) == -1)
		goto oom;
	/*
	 * Counted as the management plugin's channel would be (vhost_publish
	 * counted the exchange and the queues).
	 */
	vh->stats.v[STAT_PUBLISH]++;
	ctx->b->stats.msg.v[STAT_PUBLISH]++;
	if (rr->n == 0 && !refused) {
		vh->stats.v[STAT_DROP_UNROUTABLE]++;
		ctx->b->stats.msg.v[STAT_DROP_UNROUTABLE]++;
	}
	{
		struct json_writer *w = api_json_begin(ctx);

		json_w_begin_object(w);
		json_w_keyc(w, "routed");
		json_w_bool(w, rr->n > 0);
		json_w_end_object(w);
		api_json_end(ctx);
	}
	goto out;
oom:
	api_error(ctx, 503, "internal_error", "out of memory");
out:
	if (m != NULL)
		msg_unref(m);
	free(pbuf);
	free(hdr);
	free(body);
	json_free(doc);
}
