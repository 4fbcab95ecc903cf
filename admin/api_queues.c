/*
 * /api/queues: list, show, declare (PUT) and delete queues, purge them
 * (DELETE .../contents), get messages from them (POST .../get) and list
 * their bindings, through the server functions AMQP methods use.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/api.h"
#include "admin/api_amqp.h"
#include "admin/api_list.h"
#include "admin/api_stats.h"
#include "admin/api_table.h"
#include "admin/http.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "protocol/spec.h"
#include "protocol/utf8.h"
#include "server/auth.h"
#include "server/broker.h"
#include "server/chan.h"
#include "server/conn.h"
#include "server/msg.h"
#include "server/persist.h"
#include "server/policy.h"
#include "server/queue.h"
#include "server/queue_args.h"
#include "server/queue_quorum.h"
#include "server/vhost.h"

/* The most messages one get answers (compat: RabbitMQ has no bound). */
#define GET_MAX		10000

/* compat: RabbitMQ's RFC 3339 form, "2026-12-07T14:58:42.087+00:00". */
static void
write_time(struct json_writer *w, double t)
{
	time_t secs = (time_t)t;
	struct tm tm;
	char buf[64];
	int ms = (int)((t - (double)secs) * 1000);

	gmtime_r(&secs, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03d+00:00",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ms < 0 ? 0 : ms > 999 ? 999 : ms);
	json_w_stringc(w, buf);
}

/* The timestamp property of the head message, when it is in memory. */
static bool
head_timestamp(const struct queue *q, uint64_t *ts)
{
	const struct qentry *e = queue_head(q);
	struct proto_basic_properties p;

	if (e == NULL || e->m == NULL || proto_basic_properties_decode(
	    e->m->props, e->m->props_len, &p) != 0 ||
	    !(p.flags & PROTO_BASIC_TIMESTAMP_FLAG))
		return false;
	*ts = p.timestamp;
	return true;
}

/*
 * One queue as RabbitMQ 3.10 shows it; detail adds what only the
 * single-queue view has. compat: the Erlang-process figures
 * (backing_queue_status, garbage_collection, reductions) and the
 * *_ram / *_paged_out / *_persistent figures warren does not keep are
 * left out rather than made up.
 */
static void
write_queue(struct api_ctx *ctx, struct json_writer *w, const struct queue *q,
    bool detail)
{
	double now = ev_now(ctx->b->loop);
	bool active = queue_consumers_active(q);
	uint64_t ready = queue_ready(q), ts;

	json_w_begin_object(w);
	json_w_keyc(w, "name");
	json_w_string(w, q->name, q->name_len);
	json_w_keyc(w, "vhost");
	json_w_stringc(w, q->vh->name);
	json_w_keyc(w, "type");
	json_w_stringc(w, q->type == QUEUE_QUORUM ? "quorum" : "classic");
	json_w_keyc(w, "durable");
	json_w_bool(w, q->durable);
	json_w_keyc(w, "auto_delete");
	json_w_bool(w, q->auto_delete);
	json_w_keyc(w, "exclusive");
	json_w_bool(w, q->exclusive);
	json_w_keyc(w, "arguments");
	api_write_table(w, (struct proto_table){ q->args, q->args_len });
	json_w_keyc(w, "node");
	json_w_stringc(w, ctx->b->node_name);
	json_w_keyc(w, "state");
	json_w_stringc(w, "running");
	json_w_keyc(w, "consumers");
	json_w_uint(w, q->nconsumers);
	/*
	 * compat: RabbitMQ's 0 without consumers, else the share of time
	 * they could take more; warren's consumers take whenever they have
	 * credit, so 1.0.
	 */
	json_w_keyc(w, "consumer_capacity");
	if (q->nconsumers == 0)
		json_w_int(w, 0);
	else
		json_w_raw(w, "1.0", 3);
	json_w_keyc(w, "consumer_utilisation");
	if (q->nconsumers == 0)
		json_w_int(w, 0);
	else
		json_w_raw(w, "1.0", 3);
	json_w_keyc(w, "exclusive_consumer_tag");
	if (q->consumers != NULL && q->consumers->exclusive)
		json_w_string(w, q->consumers->tag, q->consumers->tag_len);
	else
		json_w_null(w);
	/* compat: RabbitMQ 3.10 names it for classic queues only. */
	json_w_keyc(w, "single_active_consumer_tag");
	if (q->sac_active != NULL && q->type != QUEUE_QUORUM)
		json_w_string(w, q->sac_active->tag, q->sac_active->tag_len);
	else
		json_w_null(w);
	json_w_keyc(w, "head_message_timestamp");
	if (head_timestamp(q, &ts))
		json_w_uint(w, ts);
	else
		json_w_null(w);
	/*
	 * compat: only while idle; RabbitMQ's queue process hibernates
	 * after a few quiet seconds, warren's queue is idle when no
	 * consumer took anything in the last second.
	 */
	if (!active && now - q->last_dispatch >= 1.0) {
		json_w_keyc(w, "idle_since");
		write_time(w, q->last_dispatch > q->created_at ?
		    q->last_dispatch : q->created_at);
	}
	json_w_keyc(w, "memory");
	json_w_uint(w, sizeof(*q) + q->name_len + q->args_len +
	    (ready + q->unacked) * sizeof(struct qentry));
	/*
	 * messages* with their *_details rates, and message_stats (compat:
	 * left out of a queue that has seen no traffic, and of every queue
	 * with disable_stats=true).
	 */
	api_stats_queue_depth(w, ctx, q, !api_list_disable_stats(ctx));
	/* compat: body bytes, as x-max-length-bytes counts them. */
	json_w_keyc(w, "message_bytes");
	json_w_uint(w, q->bytes_ready + q->bytes_unacked);
	json_w_keyc(w, "message_bytes_ready");
	json_w_uint(w, q->bytes_ready);
	json_w_keyc(w, "message_bytes_unacknowledged");
	json_w_uint(w, q->bytes_unacked);
	if (!api_list_disable_stats(ctx))
		api_stats_queue(w, ctx, q);
	policy_write_queue_members(w, q);
	json_w_keyc(w, "recoverable_slaves");
	json_w_null(w);
	if (detail) {
		const struct consumer *cs = q->consumers;

		json_w_keyc(w, "consumer_details");
		json_w_begin_array(w);
		for (uint32_t i = 0; cs != NULL && i < q->nconsumers; i++) {
			api_write_consumer(ctx, w, cs);
			cs = cs->qnext;
		}
		json_w_end_array(w);
		json_w_keyc(w, "incoming");
		json_w_begin_array(w);
		json_w_end_array(w);
		json_w_keyc(w, "deliveries");
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
	struct queue *q;

	if (vh == NULL || (q = vhost_queue(vh, (struct proto_str){
	    (const uint8_t *)name, namelen })) == NULL)
		return false;
	write_queue(ctx, w, q, false);
	return true;
}

static void
list_vhost(struct api_ctx *ctx, struct vhost *vh)
{
	size_t i = 0;
	void *v;

	while (hmap_next(&vh->queues, &i, &v)) {
		const struct queue *q = v;

		if (api_list_wants(ctx, vh->name, q->name, q->name_len))
			api_list_key(ctx, vh->name, q->name, q->name_len);
	}
}

/* GET /api/queues */
void
api_queues_list(struct api_ctx *ctx)
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

/* GET /api/queues/{vhost} */
void
api_queues_vhost(struct api_ctx *ctx)
{
	struct vhost *vh = api_vhost_arg(ctx, 0, API_VHOST_READ);

	if (!api_range_read(ctx))
		return;
	if (vh == NULL || !api_list_begin(ctx))
		return;
	list_vhost(ctx, vh);
	api_list_end_keyed(ctx, write_listed);
}

/* The queue of path arguments 0 and 1, or NULL after answering 404. */
static struct queue *
queue_arg(struct api_ctx *ctx, enum api_vhost_use use, struct vhost **vhp)
{
	struct vhost *vh = api_vhost_arg(ctx, 0, use);
	struct queue *q;

	if (vh == NULL)
		return NULL;
	if ((q = vhost_queue(vh, ctx->arg[1])) == NULL) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return NULL;
	}
	if (vhp != NULL)
		*vhp = vh;
	return q;
}

void
api_queue_get(struct api_ctx *ctx)
{
	struct queue *q = queue_arg(ctx, API_VHOST_READ, NULL);

	if (!api_range_read(ctx))
		return;
	if (q == NULL)
		return;
	write_queue(ctx, api_json_begin(ctx), q, true);
	api_json_end(ctx);
}

/* A vhost_reply as the management API answers it. */
static void
refused(struct api_ctx *ctx, const struct vhost_reply *r)
{
	/* compat: RabbitMQ's mapping of channel errors to HTTP. */
	if (r->code == PROTO_ACCESS_REFUSED)
		api_error(ctx, 401, "not_authorised", "%s", r->text);
	else if (r->code == PROTO_NOT_FOUND)
		api_error(ctx, 404, "not_found", "%s", r->text);
	else
		api_error(ctx, 400, "bad_request", "%s", r->text);
}

/* PUT /api/queues/{vhost}/{name} */
void
api_queue_put(struct api_ctx *ctx)
{
	struct vhost_queue_decl d = { .name = ctx->arg[1],
	    .user = ctx->user->name };
	struct vhost_reply r;
	struct json *body;
	struct vhost *vh;
	struct queue *q;
	uint8_t *args = NULL;
	size_t args_len;

	if ((body = api_body_object(ctx)) == NULL)
		return;
	if ((vh = api_vhost_arg(ctx, 0, API_VHOST_WRITE)) == NULL ||
	    !api_name_ok(ctx, d.name, "queue name"))
		goto out;
	/* compat: "amq." names and rights are checked before the body. */
	if (vhost_name_reserved(d.name) || d.name.len == 0) {
		api_error(ctx, 401, "not_authorised", "Access refused.");
		goto out;
	}
	if (!api_can(ctx, vh, PERM_CONFIGURE, d.name))
		goto out;
	if (!api_bool_member(ctx, body, "durable", false, &d.durable) ||
	    !api_bool_member(ctx, body, "auto_delete", false,
	    &d.auto_delete) ||
	    !api_args_arg(ctx, json_get(body, "arguments"), &args, &args_len))
		goto out;
	d.args = (struct proto_table){ args, args_len };
	/* compat: a "type" member stands for x-queue-type if that is unset. */
	if (json_get(body, "type") != NULL && !proto_table_get(d.args,
	    "x-queue-type", &(struct proto_field){ 0 })) {
		const struct json *t = json_get(body, "type");

		if (json_type(t) != JSON_STRING) {
			api_error_pair(ctx, "not_string", "type", 4);
			goto out;
		}
		if (strcmp(json_str(t, NULL), "classic") != 0) {
			uint8_t *n = realloc(args, args_len + 300);
			struct proto_writer pw;

			if (n == NULL || strlen(json_str(t, NULL)) > 255) {
				free(n != NULL ? n : args);
				args = NULL;
				api_error(ctx, 400, "bad_request", "bad type");
				goto out;
			}
			args = n;
			pw = proto_writer(args + args_len, 300);
			proto_table_put_longstr(&pw, "x-queue-type",
			    json_str(t, NULL));
			args_len += pw.len;
			d.args = (struct proto_table){ args, args_len };
		}
	}
	if (vhost_declare_queue(vh, &d, &q, &r) != 0) {
		refused(ctx, &r);
		goto out;
	}
	api_status(ctx, r.created ? 201 : 204);
out:
	free(args);
	json_free(body);
}

/* Whether query parameter name is "true". */
static bool
query_true(const struct api_ctx *ctx, const char *name)
{
	char v[8];
	size_t n;

	return http_query_param(ctx->req, name, v, sizeof(v), &n) == 1 &&
	    strcmp(v, "true") == 0;
}

/* DELETE /api/queues/{vhost}/{name}[?if-empty=true&if-unused=true] */
void
api_queue_delete(struct api_ctx *ctx)
{
	struct vhost_queue_delete d = { 0 };
	struct vhost_reply r;
	struct vhost *vh;
	uint32_t n;

	if ((d.q = queue_arg(ctx, API_VHOST_WRITE, &vh)) == NULL ||
	    !api_can(ctx, vh, PERM_CONFIGURE, ctx->arg[1]))
		return;
	d.if_empty = query_true(ctx, "if-empty");
	d.if_unused = query_true(ctx, "if-unused");
	if (vhost_remove_queue(vh, &d, &n, &r) != 0) {
		refused(ctx, &r);
		return;
	}
	api_status(ctx, 204);
}

/* DELETE /api/queues/{vhost}/{name}/contents */
void
api_queue_purge(struct api_ctx *ctx)
{
	struct vhost_reply r;
	struct vhost *vh;
	struct queue *q;

	if ((q = queue_arg(ctx, API_VHOST_WRITE, &vh)) == NULL ||
	    !api_can(ctx, vh, PERM_READ, ctx->arg[1]))
		return;
	/* spec: an exclusive queue is its owner's (405 RESOURCE_LOCKED). */
	if (vhost_queue_check_owner(q, NULL, &r) != 0) {
		refused(ctx, &r);
		return;
	}
	queue_purge(q);
	api_status(ctx, 204);
}

enum get_ackmode {
	ACK_REQUEUE_TRUE,
	ACK_REQUEUE_FALSE,
	REJECT_REQUEUE_TRUE,
	REJECT_REQUEUE_FALSE,
};

/* The payload as RabbitMQ's get shows it (encoding auto or base64). */
static void
write_payload(struct json_writer *w, const uint8_t *p, size_t n, bool b64)
{
	char *enc;

	/* compat: "auto" gives a string when the bytes are UTF-8. */
	if (!b64 && proto_utf8_valid(p, n)) {
		json_w_keyc(w, "payload");
		json_w_string(w, (const char *)p, n);
		json_w_keyc(w, "payload_encoding");
		json_w_stringc(w, "string");
		return;
	}
	json_w_keyc(w, "payload");
	if ((enc = malloc(base64_encoded_len(n) + 1)) == NULL) {
		json_w_null(w);
	} else {
		base64_encode(p, n, enc);
		json_w_string(w, enc, base64_encoded_len(n));
		free(enc);
	}
	json_w_keyc(w, "payload_encoding");
	json_w_stringc(w, "base64");
}

static void
write_got(struct json_writer *w, const struct queue *q,
    const struct qentry *e, int64_t truncate, bool b64)
{
	const struct msg *m = e->m;
	struct proto_basic_properties p;
	const uint8_t *props;
	uint8_t *pbuf = NULL;
	size_t plen, n = m->body_len;

	json_w_begin_object(w);
	json_w_keyc(w, "payload_bytes");
	json_w_uint(w, m->body_len);
	json_w_keyc(w, "redelivered");
	json_w_bool(w, e->deliveries > 0);
	json_w_keyc(w, "exchange");
	json_w_string(w, m->exchange, m->exchange_len);
	json_w_keyc(w, "routing_key");
	json_w_string(w, m->rk, m->rk_len);
	json_w_keyc(w, "message_count");
	json_w_uint(w, queue_ready(q));
	/* The properties a basic.get would deliver (quorum: delivery count). */
	json_w_keyc(w, "properties");
	if (quorum_delivery_props(q, e, true, &props, &plen, &pbuf) &&
	    proto_basic_properties_decode(props, plen, &p) == 0)
		api_write_props(w, &p);
	else {
		json_w_begin_object(w);
		json_w_end_object(w);
	}
	if (truncate >= 0 && (uint64_t)truncate < n)
		n = (size_t)truncate;
	write_payload(w, m->body, n, b64);
	json_w_end_object(w);
	free(pbuf);
}

/* POST /api/queues/{vhost}/{name}/get */
void
api_queue_get_messages(struct api_ctx *ctx)
{
	static const char *const modes[] = {
		"ack_requeue_true", "ack_requeue_false",
		"reject_requeue_true", "reject_requeue_false", NULL,
	};
	const struct json *am, *en;
	struct qentry *got = NULL;
	struct json_writer *w;
	struct vhost_reply r;
	struct json *body;
	struct vhost *vh;
	struct queue *q;
	int64_t count, truncate;
	int mode = -1;
	size_t n = 0;
	bool b64;

	if ((body = api_body_object(ctx)) == NULL)
		return;
	if ((vh = api_vhost_arg(ctx, 0, API_VHOST_WRITE)) == NULL)
		goto out;
	/* compat: the channel's words for a missing queue. */
	if ((q = vhost_queue(vh, ctx->arg[1])) == NULL) {
		api_error(ctx, 404, "not_found", "NOT_FOUND - no queue '%.*s' "
		    "in vhost '%s'", PSTR(ctx->arg[1]), vh->name);
		goto out;
	}
	/* compat: RabbitMQ's checks, in its order. */
	if (!api_int_member(ctx, body, "count", true, 0, &count))
		goto out;
	if ((am = json_get(body, "ackmode")) == NULL) {
		api_error(ctx, 400, "bad_request", "[{key_missing,ackmode}]");
		goto out;
	}
	if ((en = json_get(body, "encoding")) == NULL) {
		api_error(ctx, 400, "bad_request", "[{key_missing,encoding}]");
		goto out;
	}
	for (int i = 0; json_type(am) == JSON_STRING && modes[i] != NULL; i++)
		if (strcmp(json_str(am, NULL), modes[i]) == 0)
			mode = i;
	/* compat: RabbitMQ answers an unknown ackmode with a 500 crash. */
	if (mode < 0) {
		api_error(ctx, 400, "bad_request", "Unsupported ackmode. Please "
		    "use ack_requeue_true, ack_requeue_false, "
		    "reject_requeue_true or reject_requeue_false.");
		goto out;
	}
	if (json_type(en) != JSON_STRING || (strcmp(json_str(en, NULL),
	    "auto") != 0 && strcmp(json_str(en, NULL), "base64") != 0)) {
		api_error(ctx, 400, "bad_request", "Unsupported encoding. "
		    "Please use auto or base64.");
		goto out;
	}
	b64 = strcmp(json_str(en, NULL), "base64") == 0;
	if (!api_int_member(ctx, body, "truncate", false, -1, &truncate))
		goto out;
	if (count < 0 || count > GET_MAX) {
		api_error(ctx, 400, "bad_request", "count must be 0 to %d",
		    GET_MAX);
		goto out;
	}
	/* compat: rabbit_channel's read check and its words (a 401). */
	if (!auth_can(ctx->user, vh->name, PERM_READ, ctx->arg[1])) {
		api_error(ctx, 401, "not_authorised", "ACCESS_REFUSED - access "
		    "to queue '%s' in vhost '%s' refused for user '%s'",
		    q->name, vh->name, ctx->user->name);
		goto out;
	}
	/* compat: the get's channel words, "405 RESOURCE_LOCKED - ...". */
	if (vhost_queue_check_owner(q, NULL, &r) != 0) {
		api_error(ctx, 400, "bad_request", "405 RESOURCE_LOCKED - %s",
		    r.text);
		goto out;
	}
	if (count > 0 && (got = calloc((size_t)count, sizeof(*got))) == NULL) {
		api_error(ctx, 503, "internal_error", "out of memory");
		goto out;
	}
	queue_lease_touch(q);	/* compat: basic.get renews x-expires */
	w = api_json_begin(ctx);
	json_w_begin_array(w);
	/*
	 * As the management plugin's channel does: count basic.gets, each
	 * answered with the ready count after it, then every one settled,
	 * so a requeued message is not got twice.
	 */
	while (n < (size_t)count && queue_take(q, &got[n])) {
		uint64_t shown = got[n].m->body_len;

		if (truncate >= 0 && (uint64_t)truncate < shown)
			shown = (uint64_t)truncate;
		/*
		 * The answer is bounded: a message it could not hold goes
		 * back untouched rather than be taken and lost with a 500
		 * (escaped JSON is at most 6 bytes a byte).
		 */
		if (buf_used(&ctx->resp->body) + 6 * (shown +
		    got[n].m->props_len) + 4096 > API_RESPONSE_MAX) {
			queue_requeue(q, &got[n]);
			break;
		}
		write_got(w, q, &got[n], truncate, b64);
		got[n].deliveries++;
		persist_delivered(q, &got[n]);
		n++;
	}
	json_w_end_array(w);
	if (n == 0 && (size_t)count > 0 && queue_ready(q) > 0 &&
	    buf_used(&ctx->resp->body) < 16) {
		api_error(ctx, 400, "bad_request", "the message is too large "
		    "for an answer; ask for it with truncate");
		goto out;
	}
	/* Newest first, so each requeued one lands back at its place. */
	while (n-- > 0)
		queue_settle(q, &got[n], mode == ACK_REQUEUE_FALSE,
		    mode == ACK_REQUEUE_TRUE || mode == REJECT_REQUEUE_TRUE);
	api_json_end(ctx);
out:
	free(got);
	json_free(body);
}
