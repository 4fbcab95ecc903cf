#include "autoconf.h"

/* GET /api/whoami and GET /api/overview. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "admin/api.h"
#include "admin/api_stats.h"
#include "lib/json.h"
#include "server/auth.h"
#include "server/broker.h"
#include "server/conn.h"
#include "server/exchange.h"
#include "server/listener.h"
#include "server/queue.h"
#include "server/vhost.h"

void
api_whoami(struct api_ctx *ctx)
{
	struct json_writer *w = api_json_begin(ctx);

	json_w_begin_object(w);
	json_w_keyc(w, "name");
	json_w_stringc(w, ctx->user->name);
	json_w_keyc(w, "tags");
	api_write_tags(w, ctx->user->tags);
	json_w_end_object(w);
	api_json_end(ctx);
}

struct totals {
	uint64_t	connections, channels, consumers, exchanges, queues;
};

/*
 * compat: like RabbitMQ, administrators and monitoring users see totals
 * for the whole broker; other users see the vhosts they may open and
 * their own connections.
 */
static void
count(struct api_ctx *ctx, struct totals *t)
{
	const struct user *u = ctx->user;
	bool all = (u->tag_bits & (USER_TAG_ADMINISTRATOR |
	    USER_TAG_MONITORING)) != 0;
	void *v;

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; hmap_next(&ctx->b->vhosts, &i, &v);) {
		struct vhost *vh = v;

		if (!all && !auth_vhost_allowed(u, vh->name))
			continue;
		t->exchanges += vh->exchanges.count;
		t->queues += vh->queues.count;
		for (size_t k = 0; hmap_next(&vh->queues, &k, &v);) {
			const struct queue *q = v;

			t->consumers += q->nconsumers;
		}
	}
	for (struct conn *c = ctx->b->conns; c != NULL; c = c->next) {
		/* Past connection.open, as RabbitMQ lists them. */
		if (!conn_listed(c))
			continue;
		if (!all && strcmp(c->user, u->name) != 0)
			continue;
		t->connections++;
		t->channels += c->nchans;
	}
}

/*
 * compat: RabbitMQ 3.10's overview fields. The versions are warren's
 * own, not a RabbitMQ version it would pretend to be (the Terraform
 * provider's ParseFloat of rabbitmq_version fails on "3.10.8" as on
 * "0.1.0": it reads 0 either way); erlang_version is empty, there is
 * no Erlang.
 */
void
api_overview(struct api_ctx *ctx)
{
	struct broker *b = ctx->b;
	struct json_writer *w;
	struct totals t;

	if (!api_range_read(ctx))
		return;
	count(ctx, &t);
	w = api_json_begin(ctx);
	json_w_begin_object(w);
	/* "churn_rates": counts with their rates. */
	api_stats_churn_rates(w, b);
	json_w_keyc(w, "cluster_name");
	json_w_stringc(w, b->cluster_name);
	json_w_keyc(w, "contexts");
	api_write_contexts(b, w, true);
	json_w_keyc(w, "disable_stats");
	json_w_bool(w, false);
	json_w_keyc(w, "enable_queue_totals");
	json_w_bool(w, false);
	json_w_keyc(w, "erlang_full_version");
	json_w_stringc(w, "");
	json_w_keyc(w, "erlang_version");
	json_w_stringc(w, "");
	json_w_keyc(w, "exchange_types");
	api_write_exchange_types(w);
	json_w_keyc(w, "listeners");
	api_write_listeners(b, w);
	json_w_keyc(w, "management_version");
	json_w_stringc(w, PACKAGE_VERSION);
	/* "message_stats": {} before any traffic. */
	api_stats_overview_message_stats(w, ctx);
	json_w_keyc(w, "node");
	json_w_stringc(w, b->node_name);
	json_w_keyc(w, "object_totals");
	json_w_begin_object(w);
	json_w_keyc(w, "channels");
	json_w_uint(w, t.channels);
	json_w_keyc(w, "connections");
	json_w_uint(w, t.connections);
	json_w_keyc(w, "consumers");
	json_w_uint(w, t.consumers);
	json_w_keyc(w, "exchanges");
	json_w_uint(w, t.exchanges);
	json_w_keyc(w, "queues");
	json_w_uint(w, t.queues);
	json_w_end_object(w);
	json_w_keyc(w, "product_name");
	json_w_stringc(w, "warren");
	json_w_keyc(w, "product_version");
	json_w_stringc(w, PACKAGE_VERSION);
	/* "queue_totals", with messages*_details rates. */
	api_stats_overview_queue_totals(w, ctx);
	json_w_keyc(w, "rabbitmq_version");
	json_w_stringc(w, PACKAGE_VERSION);
	json_w_keyc(w, "rates_mode");
	json_w_stringc(w, "basic");
	json_w_keyc(w, "sample_retention_policies");
	json_w_begin_object(w);
	json_w_keyc(w, "basic");
	json_w_begin_array(w);
	json_w_uint(w, 600);
	json_w_uint(w, 3600);
	json_w_end_array(w);
	json_w_keyc(w, "detailed");
	json_w_begin_array(w);
	json_w_uint(w, 600);
	json_w_end_array(w);
	json_w_keyc(w, "global");
	json_w_begin_array(w);
	json_w_uint(w, 600);
	json_w_uint(w, 3600);
	json_w_uint(w, 28800);
	json_w_uint(w, 86400);
	json_w_end_array(w);
	json_w_end_object(w);
	json_w_keyc(w, "statistics_db_event_queue");
	json_w_uint(w, 0);
	json_w_end_object(w);
	api_json_end(ctx);
}
