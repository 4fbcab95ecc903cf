/*
 * /api/definitions and /api/definitions/{vhost}: export (GET) and import
 * (POST) in RabbitMQ's definitions format.
 *
 * compat: RabbitMQ 3.10's export (checked on 3.10.8): users with their
 * hashes and limits, vhosts, permissions, topic permissions, parameters
 * (vhost-limits, and operator policies as component "operator_policy"),
 * global parameters, policies, then every queue and exchange that is not
 * exclusive or built in, and the bindings between them; a vhost's export
 * has only rabbit_version, parameters, policies, queues, exchanges and
 * bindings, without "vhost" members. An import answers 204. Vhosts carry
 * their description and tags as later releases write them (RabbitMQ
 * 3.10 writes only the name and ignores the rest on import).
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/api.h"
#include "admin/api_amqp.h"
#include "admin/api_table.h"
#include "admin/http.h"
#include "admin/http_conn.h"
#include "lib/json.h"
#include "lib/log.h"
#include "server/auth.h"
#include "server/auth_password.h"
#include "server/auth_perm.h"
#include "server/broker.h"
#include "server/exchange.h"
#include "server/import.h"
#include "server/policy.h"
#include "server/queue.h"
#include "server/vhost.h"

static void
str_member(struct json_writer *w, const char *key, const char *val)
{
	json_w_keyc(w, key);
	json_w_stringc(w, val);
}

static void
write_users(struct json_writer *w, struct broker *b)
{
	size_t i = 0;
	void *v;

	json_w_keyc(w, "users");
	json_w_begin_array(w);
	while (hmap_next(&b->users, &i, &v)) {
		const struct user *u = v;

		json_w_begin_object(w);
		str_member(w, "name", u->name);
		str_member(w, "password_hash", u->hash);
		str_member(w, "hashing_algorithm",
		    password_algo_name((enum password_algo)u->algo));
		json_w_keyc(w, "tags");
		api_write_tags(w, u->tags);
		json_w_keyc(w, "limits");
		api_write_user_limits(w, u);
		json_w_end_object(w);
	}
	json_w_end_array(w);
}

static void
write_vhosts(struct json_writer *w, struct broker *b)
{
	size_t i = 0;
	void *v;

	json_w_keyc(w, "vhosts");
	json_w_begin_array(w);
	while (hmap_next(&b->vhosts, &i, &v)) {
		const struct vhost *vh = v;

		json_w_begin_object(w);
		str_member(w, "name", vh->name);
		str_member(w, "description", vh->description);
		json_w_keyc(w, "tags");
		api_write_tags(w, vh->tags);
		json_w_keyc(w, "metadata");
		json_w_begin_object(w);
		str_member(w, "description", vh->description);
		json_w_keyc(w, "tags");
		api_write_tags(w, vh->tags);
		json_w_end_object(w);
		json_w_end_object(w);
	}
	json_w_end_array(w);
}

static void
write_permissions(struct json_writer *w, struct broker *b)
{
	static const char *const keys[] = { "configure", "write", "read" };
	size_t i = 0, k;
	void *v, *p;

	json_w_keyc(w, "permissions");
	json_w_begin_array(w);
	while (hmap_next(&b->users, &i, &v)) {
		const struct user *u = v;

		for (k = 0; hmap_next(&u->perms, &k, &p);) {
			const struct permission *pm = p;

			json_w_begin_object(w);
			str_member(w, "user", u->name);
			str_member(w, "vhost", pm->vhost);
			for (int j = 0; j < 3; j++)
				str_member(w, keys[j],
				    perm_re_pattern(pm->re[j]));
			json_w_end_object(w);
		}
	}
	json_w_end_array(w);
}

struct topic_walk {
	struct json_writer	*w;
	const char		*user;
};

static void
write_topic(void *arg, const char *vhost, const char *exchange,
    const char *write, const char *read)
{
	struct topic_walk *t = arg;

	json_w_begin_object(t->w);
	str_member(t->w, "user", t->user);
	str_member(t->w, "vhost", vhost);
	str_member(t->w, "exchange", exchange);
	str_member(t->w, "write", write);
	str_member(t->w, "read", read);
	json_w_end_object(t->w);
}

static void
write_topic_permissions(struct json_writer *w, struct broker *b)
{
	size_t i = 0;
	void *v;

	json_w_keyc(w, "topic_permissions");
	json_w_begin_array(w);
	while (hmap_next(&b->users, &i, &v)) {
		const struct user *u = v;
		struct topic_walk t = { w, u->name };

		auth_topic_list(u, NULL, write_topic, &t);
	}
	json_w_end_array(w);
}

/* Vhost limits and operator policies, of one vhost or of all. */
static void
write_parameters(struct json_writer *w, struct broker *b,
    const struct vhost *only)
{
	size_t i = 0;
	void *v;

	json_w_keyc(w, "parameters");
	json_w_begin_array(w);
	while (hmap_next(&b->vhosts, &i, &v)) {
		const struct vhost *vh = v;
		const struct policy_list *l = &vh->policies[POLICY_OPERATOR];

		if (only != NULL && vh != only)
			continue;
		if (vh->max_connections >= 0 || vh->max_queues >= 0) {
			json_w_begin_object(w);
			json_w_keyc(w, "value");
			json_w_begin_object(w);
			if (vh->max_connections >= 0) {
				json_w_keyc(w, "max-connections");
				json_w_int(w, vh->max_connections);
			}
			if (vh->max_queues >= 0) {
				json_w_keyc(w, "max-queues");
				json_w_int(w, vh->max_queues);
			}
			json_w_end_object(w);
			str_member(w, "vhost", vh->name);
			str_member(w, "component", "vhost-limits");
			str_member(w, "name", "limits");
			json_w_end_object(w);
		}
		for (size_t k = 0; k < l->n; k++) {
			json_w_begin_object(w);
			json_w_keyc(w, "value");
			policy_write_doc(w, l->v[k]);
			str_member(w, "vhost", vh->name);
			str_member(w, "component", "operator_policy");
			str_member(w, "name", l->v[k]->name);
			json_w_end_object(w);
		}
	}
	json_w_end_array(w);
}

static void
write_policies(struct json_writer *w, struct broker *b,
    const struct vhost *only)
{
	size_t i = 0;
	void *v;

	json_w_keyc(w, "policies");
	json_w_begin_array(w);
	while (hmap_next(&b->vhosts, &i, &v)) {
		const struct vhost *vh = v;
		const struct policy_list *l = &vh->policies[POLICY_USER];

		if (only != NULL && vh != only)
			continue;
		for (size_t k = 0; k < l->n; k++)
			policy_write(w, only != NULL ? NULL : vh->name,
			    l->v[k]);
	}
	json_w_end_array(w);
}

static void
write_queues(struct json_writer *w, struct broker *b,
    const struct vhost *only)
{
	size_t i = 0, k;
	void *v, *p;

	json_w_keyc(w, "queues");
	json_w_begin_array(w);
	while (hmap_next(&b->vhosts, &i, &v)) {
		const struct vhost *vh = v;

		if (only != NULL && vh != only)
			continue;
		for (k = 0; hmap_next(&vh->queues, &k, &p);) {
			const struct queue *q = p;

			/* compat: exclusive queues die with their owner. */
			if (q->exclusive)
				continue;
			json_w_begin_object(w);
			json_w_keyc(w, "name");
			json_w_string(w, q->name, q->name_len);
			if (only == NULL)
				str_member(w, "vhost", vh->name);
			json_w_keyc(w, "durable");
			json_w_bool(w, q->durable);
			json_w_keyc(w, "auto_delete");
			json_w_bool(w, q->auto_delete);
			json_w_keyc(w, "arguments");
			api_write_table(w, (struct proto_table){ q->args,
			    q->args_len });
			json_w_end_object(w);
		}
	}
	json_w_end_array(w);
}

static void
write_exchanges(struct json_writer *w, struct broker *b,
    const struct vhost *only)
{
	size_t i = 0, k;
	void *v, *p;

	json_w_keyc(w, "exchanges");
	json_w_begin_array(w);
	while (hmap_next(&b->vhosts, &i, &v)) {
		const struct vhost *vh = v;

		if (only != NULL && vh != only)
			continue;
		for (k = 0; hmap_next(&vh->exchanges, &k, &p);) {
			const struct exchange *ex = p;

			if (ex->builtin)
				continue;
			json_w_begin_object(w);
			json_w_keyc(w, "name");
			json_w_string(w, ex->name, ex->name_len);
			if (only == NULL)
				str_member(w, "vhost", vh->name);
			str_member(w, "type", exchange_kind_name(ex->kind));
			json_w_keyc(w, "durable");
			json_w_bool(w, ex->durable);
			json_w_keyc(w, "auto_delete");
			json_w_bool(w, ex->auto_delete);
			json_w_keyc(w, "internal");
			json_w_bool(w, ex->internal);
			json_w_keyc(w, "arguments");
			api_write_table(w, (struct proto_table){ ex->args,
			    ex->args_len });
			json_w_end_object(w);
		}
	}
	json_w_end_array(w);
}

static void
write_bindings(struct json_writer *w, struct broker *b,
    const struct vhost *only)
{
	size_t i = 0, k;
	void *v, *p;

	json_w_keyc(w, "bindings");
	json_w_begin_array(w);
	while (hmap_next(&b->vhosts, &i, &v)) {
		const struct vhost *vh = v;

		if (only != NULL && vh != only)
			continue;
		for (k = 0; hmap_next(&vh->exchanges, &k, &p);) {
			const struct exchange *ex = p;

			/* The default exchange's bindings are implicit. */
			if (ex->name_len == 0)
				continue;
			for (size_t j = 0; j < ex->nbindings; j++) {
				const struct binding *bd = ex->bindings[j];

				if (bd->q != NULL && bd->q->exclusive)
					continue;
				json_w_begin_object(w);
				json_w_keyc(w, "source");
				json_w_string(w, ex->name, ex->name_len);
				if (only == NULL)
					str_member(w, "vhost", vh->name);
				json_w_keyc(w, "destination");
				if (bd->q != NULL)
					json_w_string(w, bd->q->name,
					    bd->q->name_len);
				else
					json_w_string(w, bd->dst->name,
					    bd->dst->name_len);
				str_member(w, "destination_type",
				    bd->q != NULL ? "queue" : "exchange");
				json_w_keyc(w, "routing_key");
				json_w_string(w, bd->key, bd->key_len);
				json_w_keyc(w, "arguments");
				api_write_table(w, (struct proto_table){
				    bd->args, bd->args_len });
				json_w_end_object(w);
			}
		}
	}
	json_w_end_array(w);
}

static void
export(struct api_ctx *ctx, const struct vhost *only)
{
	struct json_writer *w = api_json_begin(ctx);
	struct broker *b = ctx->b;

	json_w_begin_object(w);
	str_member(w, "rabbit_version", PACKAGE_VERSION);
	if (only == NULL) {
		str_member(w, "rabbitmq_version", PACKAGE_VERSION);
		str_member(w, "product_name", "warren");
		str_member(w, "product_version", PACKAGE_VERSION);
		write_users(w, b);
		write_vhosts(w, b);
		write_permissions(w, b);
		write_topic_permissions(w, b);
	}
	write_parameters(w, b, only);
	if (only == NULL) {
		json_w_keyc(w, "global_parameters");
		json_w_begin_array(w);
		json_w_end_array(w);
	}
	write_policies(w, b, only);
	write_queues(w, b, only);
	write_exchanges(w, b, only);
	write_bindings(w, b, only);
	json_w_end_object(w);
	api_json_end(ctx);
}

/* Definitions are an administrator's (the route's tag). */
static struct vhost *
vhost_arg(struct api_ctx *ctx, bool post)
{
	return api_vhost_lookup(ctx, 0, post ? API_VHOST_WRITE :
	    API_VHOST_READ, API_VHOST_ANYONE, API_VHOST_DENY_401);
}

void
api_definitions_get(struct api_ctx *ctx)
{
	export(ctx, NULL);
}

void
api_definitions_vhost_get(struct api_ctx *ctx)
{
	struct vhost *vh = vhost_arg(ctx, false);

	if (vh != NULL)
		export(ctx, vh);
}

/*
 * compat: RabbitMQ answers 400 "failed_to_parse_json" to a body that is
 * no JSON; warren's reason names the place, and any other refusal names
 * the object ("queues[4]: ...").
 */
static void
import_answer(struct http_response *resp, int rc, const char *err)
{
	struct api_ctx ctx = { .resp = resp };

	if (rc != 0)
		api_error(&ctx, 400, "bad_request", "%s", err);
	else
		api_status(&ctx, 204);
}

/* The import's end (server/import_job.c): the waiting client's answer. */
static void
import_done(void *arg, int rc, const char *err)
{
	struct http_conn *h = arg;
	struct http_response resp;

	http_response_init(&resp, 4096);
	import_answer(&resp, rc, err);
	http_conn_answer(h, &resp);
	http_response_free(&resp);
}

/* The client left (or the broker stops) first: the import goes on. */
static void
import_gone(struct http_conn *h, void *arg)
{
	struct broker *b = arg;

	log_info("admin %s: client gone during a definitions import; it "
	    "goes on", h->name);
	import_job_forget(b);
}

/*
 * A big file takes many loop turns (server/import_job.c): the answer is
 * deferred until the commit of its last object. compat: RabbitMQ runs
 * imports one at a time; warren answers a second one, while the first
 * runs, 503 rather than queue its body (20 MB each) in memory.
 */
static void
import(struct api_ctx *ctx, const struct vhost *vh)
{
	const struct http_request *req = ctx->req;
	const char *vhost = vh != NULL ? vh->name : NULL;
	char err[1024];
	void *mem;

	if (req->conn == NULL) {
		/* No connection to answer later on (unit tests): at once. */
		import_answer(ctx->resp, import_definitions_text(ctx->b,
		    (const char *)req->body, req->content_length, vhost, err,
		    sizeof(err)), err);
		return;
	}
	if (import_job_running(ctx->b)) {
		api_error(ctx, 503, "service_unavailable", "another "
		    "definitions import is running; try again later");
		return;
	}
	/*
	 * The body lives in the connection's buffer, which may go first: the
	 * import takes that buffer (a copy of 20 MB is tens of ms of page
	 * faults on the loop).
	 */
	mem = http_conn_take_input(req->conn);
	import_job_start(ctx->b, mem, (const char *)req->body,
	    req->content_length, vhost, import_done, req->conn);
	http_conn_defer(req->conn, ctx->resp, import_gone, ctx->b);
}

void
api_definitions_post(struct api_ctx *ctx)
{
	import(ctx, NULL);
}

void
api_definitions_vhost_post(struct api_ctx *ctx)
{
	struct vhost *vh = vhost_arg(ctx, true);

	if (vh != NULL)
		import(ctx, vh);
}
