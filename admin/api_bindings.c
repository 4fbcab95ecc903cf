/*
 * /api/bindings, a queue's and an exchange's bindings: list, create (POST,
 * 201 with a Location naming the binding's properties_key), show and
 * delete one, through vhost_bind and vhost_unbind. The default exchange's
 * implicit binding to every queue is listed as RabbitMQ lists it.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/api.h"
#include "admin/api_amqp.h"
#include "admin/api_list.h"
#include "admin/api_table.h"
#include "admin/http.h"
#include "lib/json.h"
#include "lib/xmalloc.h"
#include "protocol/table.h"
#include "server/auth.h"
#include "server/broker.h"
#include "server/exchange.h"
#include "server/queue.h"
#include "server/vhost.h"

/* quote_plus output of a 255-byte key, "~", and the 6-character hash. */
#define PROPS_KEY_MAX	(3 * 255 + 1 + 8)

/* One binding, explicit or the default exchange's implicit one. */
struct bview {
	const struct vhost	*vh;
	struct proto_str	 src, dst, key;
	bool			 to_queue;
	struct proto_table	 args;
};

/*
 * compat: RabbitMQ's quote_plus: letters, digits and "-_." stay, a space
 * becomes "+", every other byte %XX (uppercase); "~" too in a
 * properties_key, not in the Location quoting one (checked on 3.10).
 */
static size_t
quote_plus(const uint8_t *p, size_t n, bool tilde, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t at = 0;

	for (size_t i = 0; i < n && at + 4 <= cap; i++) {
		uint8_t c = p[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || (tilde && c == '~'))
			out[at++] = (char)c;
		else if (c == ' ')
			out[at++] = '+';
		else {
			out[at++] = '%';
			out[at++] = hex[c >> 4];
			out[at++] = hex[c & 15];
		}
	}
	out[at] = '\0';
	return at;
}

/*
 * compat: the binding's properties_key, as RabbitMQ's management plugin
 * makes it (rabbit_mgmt_format:pack_binding_props): "~" for an empty key
 * without arguments, the quoted key without arguments, else the quoted
 * key, "~" and the base64url (unpadded) of the 32-bit phash2 of the
 * arguments, so that a key a RabbitMQ node gave (Terraform keeps them)
 * names the same binding here, across restarts and releases.
 */
static size_t
props_key(const struct bview *b, char *out, size_t cap)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789-_";
	size_t at;
	uint32_t h;

	if (b->args.len == 0 && b->key.len == 0)
		return (size_t)snprintf(out, cap, "~");
	at = quote_plus(b->key.p, b->key.len, false, out, cap);
	if (b->args.len == 0)
		return at;
	h = api_args_phash2(b->args);
	/* 4 bytes, big-endian, in 6 characters. */
	out[at++] = '~';
	for (int i = 0; i < 6; i++) {
		int shift = 26 - 6 * i;
		uint32_t v = shift >= 0 ? h >> shift : h << -shift;

		out[at++] = b64[v & 63];
	}
	out[at] = '\0';
	return at;
}

static void
write_binding(struct json_writer *w, const struct bview *b)
{
	char pk[PROPS_KEY_MAX + 1];

	json_w_begin_object(w);
	json_w_keyc(w, "source");
	json_w_string(w, (const char *)b->src.p, b->src.len);
	json_w_keyc(w, "vhost");
	json_w_stringc(w, b->vh->name);
	json_w_keyc(w, "destination");
	json_w_string(w, (const char *)b->dst.p, b->dst.len);
	json_w_keyc(w, "destination_type");
	json_w_stringc(w, b->to_queue ? "queue" : "exchange");
	json_w_keyc(w, "routing_key");
	json_w_string(w, (const char *)b->key.p, b->key.len);
	json_w_keyc(w, "arguments");
	api_write_table(w, b->args);
	json_w_keyc(w, "properties_key");
	json_w_string(w, pk, props_key(b, pk, sizeof(pk)));
	json_w_end_object(w);
}

static struct bview
view(const struct binding *bd)
{
	struct bview b = { .vh = bd->src->vh,
	    .src = { (const uint8_t *)bd->src->name, bd->src->name_len },
	    .key = { (const uint8_t *)bd->key, bd->key_len },
	    .to_queue = bd->q != NULL,
	    .args = { bd->args, bd->args_len } };

	if (bd->q != NULL)
		b.dst = (struct proto_str){ (const uint8_t *)bd->q->name,
		    bd->q->name_len };
	else
		b.dst = (struct proto_str){ (const uint8_t *)bd->dst->name,
		    bd->dst->name_len };
	return b;
}

/* compat: the default exchange binds every queue by its name. */
static struct bview
implicit(const struct queue *q)
{
	struct proto_str name = { (const uint8_t *)q->name, q->name_len };

	return (struct bview){ .vh = q->vh, .src = { (const uint8_t *)"", 0 },
	    .dst = name, .key = name, .to_queue = true };
}

/*
 * A listed binding's ref (api_list.h: keyed): 'i' and the queue's name
 * for the default exchange's implicit binding; else 'q' or 'e' (the
 * destination's kind), the source's and the destination's names, each
 * after its length byte, the routing key after its length byte, and the
 * arguments' table bytes.
 */
static size_t
ref_len(const struct bview *b)
{
	if (b->src.len == 0)
		return 1 + b->dst.len;
	return 4 + b->src.len + b->dst.len + b->key.len + b->args.len;
}

static void
ref_fill(uint8_t *p, const struct bview *b)
{
	if (b->src.len == 0) {
		*p++ = 'i';
		memcpy(p, b->dst.p, b->dst.len);
		return;
	}
	*p++ = b->to_queue ? 'q' : 'e';
	*p++ = (uint8_t)b->src.len;
	memcpy(p, b->src.p, b->src.len);
	p += b->src.len;
	*p++ = (uint8_t)b->dst.len;
	memcpy(p, b->dst.p, b->dst.len);
	p += b->dst.len;
	*p++ = (uint8_t)b->key.len;
	if (b->key.len > 0)
		memcpy(p, b->key.p, b->key.len);
	p += b->key.len;
	if (b->args.len > 0)
		memcpy(p, b->args.p, b->args.len);
}

/* Reads one length-prefixed name of ref at *at into out. */
static bool
ref_name(const uint8_t *ref, size_t len, size_t *at, struct proto_str *out)
{
	size_t n;

	if (*at >= len || len - *at - 1 < (n = ref[*at]))
		return false;
	*out = (struct proto_str){ ref + *at + 1, n };
	*at += 1 + n;
	return true;
}

/* Writes the binding of ref in vhost, if it is still there. */
static bool
write_listed(struct api_ctx *ctx, struct json_writer *w, const char *vhost,
    const char *r, size_t len)
{
	const uint8_t *ref = (const uint8_t *)r;
	struct vhost *vh = broker_vhost(ctx->b, vhost, strlen(vhost));
	struct proto_str src, dst, key;
	struct exchange *ex, *dex = NULL;
	struct queue *q = NULL;
	struct binding *bd;
	struct bview b;
	size_t at = 1;

	if (vh == NULL || len < 1)
		return false;
	if (ref[0] == 'i') {
		if ((q = vhost_queue(vh, (struct proto_str){ ref + 1,
		    len - 1 })) == NULL)
			return false;
		b = implicit(q);
		write_binding(w, &b);
		return true;
	}
	if (!ref_name(ref, len, &at, &src) || !ref_name(ref, len, &at, &dst) ||
	    !ref_name(ref, len, &at, &key))
		return false;
	if ((ex = vhost_exchange(vh, src)) == NULL)
		return false;
	if (ref[0] == 'q' ? (q = vhost_queue(vh, dst)) == NULL :
	    (dex = vhost_exchange(vh, dst)) == NULL)
		return false;
	if ((bd = exchange_find_binding(ex, q, dex, key, (struct proto_table){
	    ref + at, len - at })) == NULL)
		return false;
	b = view(bd);
	write_binding(w, &b);
	return true;
}

/* Offers one binding to the listing, by its ref. */
static void
offer(struct api_ctx *ctx, const struct bview *b)
{
	uint8_t buf[1024], *ref = buf;
	size_t len = ref_len(b);

	if (!api_list_wants(ctx, b->vh->name, NULL, 0))
		return;
	if (len > sizeof(buf))
		ref = xmalloc(len);
	ref_fill(ref, b);
	api_list_key_ref(ctx, b->vh->name, NULL, 0, ref, len);
	if (ref != buf)
		free(ref);
}

/* Every binding of vh: the implicit ones first, as RabbitMQ lists them. */
static void
list_vhost(struct api_ctx *ctx, const struct vhost *vh)
{
	size_t i = 0;
	void *v;

	while (hmap_next(&vh->queues, &i, &v)) {
		struct bview b = implicit(v);

		offer(ctx, &b);
	}
	for (i = 0; hmap_next(&vh->exchanges, &i, &v);) {
		const struct exchange *ex = v;

		for (size_t k = 0; k < ex->nbindings; k++) {
			struct bview b = view(ex->bindings[k]);

			offer(ctx, &b);
		}
	}
}

void
api_bindings_list(struct api_ctx *ctx)
{
	size_t i = 0;
	void *v;

	if (!api_list_begin_unpaged(ctx))
		return;
	while (hmap_next(&ctx->b->vhosts, &i, &v))
		if (api_vhost_visible(ctx, v))
			list_vhost(ctx, v);
	api_list_end_keyed(ctx, write_listed);
}

void
api_bindings_vhost(struct api_ctx *ctx)
{
	struct vhost *vh = api_vhost_arg(ctx, 0, API_VHOST_READ);

	if (vh == NULL || !api_list_begin_unpaged(ctx))
		return;
	list_vhost(ctx, vh);
	api_list_end_keyed(ctx, write_listed);
}

/* Whether the path's destination is a queue: "/api/bindings/V/e/S/q/D". */
static bool
dest_is_queue(const struct api_ctx *ctx)
{
	return proto_str_eqc(ctx->req->seg[5], "q");
}

/*
 * The two ends of /api/bindings/{v}/e/{s}/{q|e}/{d}: false after
 * answering 404 (compat: "Not Found" for GET, RabbitMQ's channel words
 * for POST).
 */
static bool
ends(struct api_ctx *ctx, enum api_vhost_use use, struct vhost **vhp,
    struct vhost_binding *bd)
{
	struct vhost *vh = api_vhost_arg(ctx, 0, use);
	struct proto_str src = api_exchange_arg(ctx, 1);
	bool q = dest_is_queue(ctx);
	struct proto_str dst = q ? ctx->arg[2] : api_exchange_arg(ctx, 2);

	if (vh == NULL)
		return false;
	memset(bd, 0, sizeof(*bd));
	if (vhost_binding_ends(vh, src, q, dst, bd) == 0) {
		*vhp = vh;
		return true;
	}
	if (use == API_VHOST_READ)
		api_error(ctx, 404, "Object Not Found", "Not Found");
	else if (bd->src == NULL)
		api_error(ctx, 404, "not_found", "no exchange '%.*s' in vhost "
		    "'%s'", PSTR(src), vh->name);
	else
		api_error(ctx, 404, "not_found", "no %s '%.*s' in vhost '%s'",
		    q ? "queue" : "exchange", PSTR(dst), vh->name);
	return false;
}

/* Offers the bindings from src (NULL: any) to q or dst (NULL: any). */
static void
offer_between(struct api_ctx *ctx, const struct exchange *src,
    const struct queue *q, const struct exchange *dst)
{
	if (src != NULL && src->name_len == 0) {
		/* The default exchange: only the implicit binding. */
		if (q != NULL) {
			struct bview b = implicit(q);

			offer(ctx, &b);
		}
		return;
	}
	if (src != NULL) {
		for (size_t k = 0; k < src->nbindings; k++) {
			const struct binding *bd = src->bindings[k];

			if ((q == NULL && dst == NULL) ||
			    (q != NULL && bd->q == q) ||
			    (dst != NULL && bd->dst == dst)) {
				struct bview b = view(bd);

				offer(ctx, &b);
			}
		}
		return;
	}
	if (q != NULL) {
		struct bview b = implicit(q);

		offer(ctx, &b);
		for (size_t k = 0; k < q->nbindings; k++) {
			b = view(q->bindings[k]);
			offer(ctx, &b);
		}
		return;
	}
	for (size_t k = 0; k < dst->nincoming; k++) {
		struct bview b = view(dst->incoming[k]);

		offer(ctx, &b);
	}
}

/* GET /api/bindings/{v}/e/{s}/{q|e}/{d} */
void
api_bindings_between(struct api_ctx *ctx)
{
	struct vhost_binding bd;
	struct vhost *vh;

	struct proto_str dst = dest_is_queue(ctx) ? ctx->arg[2] :
	    api_exchange_arg(ctx, 2);

	if ((vh = api_vhost_arg(ctx, 0, API_VHOST_READ)) == NULL ||
	    !api_list_begin_unpaged(ctx))
		return;
	/* compat: missing ends have no bindings: [], not a 404. */
	memset(&bd, 0, sizeof(bd));
	if (vhost_binding_ends(vh, api_exchange_arg(ctx, 1),
	    dest_is_queue(ctx), dst, &bd) == 0)
		offer_between(ctx, bd.src, bd.q, bd.q != NULL ? NULL : bd.dst);
	api_list_end_keyed(ctx, write_listed);
}

/* GET /api/queues/{v}/{q}/bindings */
void
api_queue_bindings(struct api_ctx *ctx)
{
	struct vhost *vh = api_vhost_arg(ctx, 0, API_VHOST_READ);
	struct queue *q;

	if (vh == NULL)
		return;
	/*
	 * compat: RabbitMQ 3.10 answers 200 with the implicit binding of a
	 * queue that does not exist; warren says 404, as for the queue.
	 */
	if ((q = vhost_queue(vh, ctx->arg[1])) == NULL) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	if (!api_list_begin_unpaged(ctx))
		return;
	offer_between(ctx, NULL, q, NULL);
	api_list_end_keyed(ctx, write_listed);
}

static void
exchange_bindings(struct api_ctx *ctx, bool source)
{
	struct vhost *vh = api_vhost_arg(ctx, 0, API_VHOST_READ);
	struct exchange *ex;

	if (vh == NULL)
		return;
	if ((ex = vhost_exchange(vh, api_exchange_arg(ctx, 1))) == NULL) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	if (!api_list_begin_unpaged(ctx))
		return;
	if (source) {
		/* compat: the default exchange lists its implicit bindings. */
		if (ex->name_len == 0) {
			size_t i = 0;
			void *v;

			while (hmap_next(&vh->queues, &i, &v)) {
				struct bview b = implicit(v);

				offer(ctx, &b);
			}
		} else
			offer_between(ctx, ex, NULL, NULL);
	} else
		offer_between(ctx, NULL, NULL, ex);
	api_list_end_keyed(ctx, write_listed);
}

void
api_exchange_bindings_source(struct api_ctx *ctx)
{
	exchange_bindings(ctx, true);
}

void
api_exchange_bindings_destination(struct api_ctx *ctx)
{
	exchange_bindings(ctx, false);
}

/*
 * The binding of path argument 3 (a properties_key) between the ends,
 * or false after answering 404.
 */
static bool
find(struct api_ctx *ctx, enum api_vhost_use use, struct vhost **vh,
    struct vhost_binding *bd, struct bview *out)
{
	char pk[PROPS_KEY_MAX + 1];
	struct proto_str want = ctx->arg[3];
	const struct exchange *src;

	if (!ends(ctx, use, vh, bd))
		return false;
	src = bd->src;
	if (src->name_len == 0) {
		*out = implicit(bd->q);
		if (bd->q != NULL && proto_str_eq(want, (struct proto_str){
		    (const uint8_t *)pk, props_key(out, pk, sizeof(pk)) }))
			return true;
	}
	for (size_t k = 0; k < src->nbindings; k++) {
		const struct binding *b = src->bindings[k];

		if ((bd->q != NULL && b->q != bd->q) ||
		    (bd->q == NULL && b->dst != bd->dst))
			continue;
		*out = view(b);
		if (proto_str_eq(want, (struct proto_str){ (const uint8_t *)pk,
		    props_key(out, pk, sizeof(pk)) }))
			return true;
	}
	api_error(ctx, 404, "Object Not Found", "Not Found");
	return false;
}

/* GET /api/bindings/{v}/e/{s}/{q|e}/{d}/{props} */
void
api_binding_get(struct api_ctx *ctx)
{
	struct vhost_binding bd;
	struct bview b;
	struct vhost *vh;

	if (!find(ctx, API_VHOST_READ, &vh, &bd, &b))
		return;
	write_binding(api_json_begin(ctx), &b);
	api_json_end(ctx);
}

/*
 * compat: the rights of queue.bind and exchange.bind: write on the
 * destination, read on the source; the default exchange takes none.
 */
static bool
bind_rights(struct api_ctx *ctx, const struct vhost *vh,
    const struct vhost_binding *bd)
{
	struct proto_str dst = bd->q != NULL ? (struct proto_str){
	    (const uint8_t *)bd->q->name, bd->q->name_len } :
	    (struct proto_str){ (const uint8_t *)bd->dst->name,
	    bd->dst->name_len };

	if (bd->src->name_len == 0 || (bd->dst != NULL &&
	    bd->dst->name_len == 0)) {
		api_error(ctx, 401, "not_authorised", "Access refused.");
		return false;
	}
	return api_can(ctx, vh, PERM_WRITE, dst) &&
	    api_can(ctx, vh, PERM_READ, (struct proto_str){
	    (const uint8_t *)bd->src->name, bd->src->name_len }) &&
	    (auth_topic_can(ctx->user, vh->name, (struct proto_str){
	    (const uint8_t *)bd->src->name, bd->src->name_len }, PERM_READ,
	    bd->key) || (api_error(ctx, 401, "not_authorised",
	    "Access refused."), false));
}

/* POST /api/bindings/{v}/e/{s}/{q|e}/{d} */
void
api_binding_post(struct api_ctx *ctx)
{
	char pk[PROPS_KEY_MAX + 1], qpk[3 * PROPS_KEY_MAX + 1];
	char qdst[3 * 255 + 1];
	const struct json *rk;
	struct vhost_binding bd;
	struct vhost_reply r;
	struct json *body;
	struct vhost *vh;
	struct bview b;
	uint8_t *args = NULL;
	size_t args_len;

	if ((body = api_body_object(ctx)) == NULL)
		return;
	if (!ends(ctx, API_VHOST_WRITE, &vh, &bd) || !bind_rights(ctx, vh, &bd))
		goto out;
	/*
	 * compat: RabbitMQ 3.10 stores a routing_key that is no string
	 * (a number, say) as it is, and lists it so; warren refuses it.
	 */
	if ((rk = json_get(body, "routing_key")) != NULL &&
	    json_type(rk) != JSON_STRING) {
		api_error_pair(ctx, "not_string", "routing_key", 11);
		goto out;
	}
	if (rk != NULL) {
		size_t n;
		const char *s = json_str(rk, &n);

		bd.key = (struct proto_str){ (const uint8_t *)s, n };
	} else
		bd.key = (struct proto_str){ (const uint8_t *)"", 0 };
	if (!api_name_ok(ctx, bd.key, "routing_key") ||
	    !api_args_arg(ctx, json_get(body, "arguments"), &args, &args_len))
		goto out;
	bd.args = (struct proto_table){ args, args_len };
	if (vhost_bind(vh, &bd, &r) != 0) {
		api_error(ctx, r.code == PROTO_ACCESS_REFUSED ? 401 : 400,
		    r.code == PROTO_ACCESS_REFUSED ? "not_authorised" :
		    "bad_request", "%s", r.text);
		goto out;
	}
	b = (struct bview){ .vh = vh, .key = bd.key, .args = bd.args,
	    .to_queue = bd.q != NULL };
	b.dst = bd.q != NULL ? (struct proto_str){
	    (const uint8_t *)bd.q->name, bd.q->name_len } :
	    (struct proto_str){ (const uint8_t *)bd.dst->name,
	    bd.dst->name_len };
	props_key(&b, pk, sizeof(pk));
	/*
	 * compat: RabbitMQ's Location is relative: the quoted destination,
	 * "/", and the quoted properties_key.
	 */
	quote_plus(b.dst.p, b.dst.len, true, qdst, sizeof(qdst));
	quote_plus((const uint8_t *)pk, strlen(pk), true, qpk, sizeof(qpk));
	api_status(ctx, 201);
	if (http_response_location(ctx->resp, qdst, qpk) == -1)
		api_error(ctx, 500, "internal_error", "Location too long");
out:
	free(args);
	json_free(body);
}

/* DELETE /api/bindings/{v}/e/{s}/{q|e}/{d}/{props} */
void
api_binding_delete(struct api_ctx *ctx)
{
	struct vhost_binding bd;
	struct bview b;
	struct vhost *vh;
	uint8_t *key;

	if (!find(ctx, API_VHOST_WRITE, &vh, &bd, &b) ||
	    !bind_rights(ctx, vh, &bd))
		return;
	/* Copies: the binding's own key and arguments go with it. */
	if ((key = malloc(b.key.len + b.args.len + 1)) == NULL) {
		api_error(ctx, 503, "internal_error", "out of memory");
		return;
	}
	memcpy(key, b.key.p, b.key.len);
	if (b.args.len > 0)
		memcpy(key + b.key.len, b.args.p, b.args.len);
	bd.key = (struct proto_str){ key, b.key.len };
	bd.args = (struct proto_table){ key + b.key.len, b.args.len };
	vhost_unbind(vh, &bd);
	free(key);
	api_status(ctx, 204);
}
