#include "autoconf.h"

/* GET /api/whoami and GET /api/overview. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "admin/api.h"
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
	uint64_t	ready, unacked;		/* messages in those queues */
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
			t->ready += queue_ready(q);
			t->unacked += q->unacked;
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

static void
churn(struct json_writer *w, const struct broker_churn *c)
{
	const struct {
		const char	*name;
		uint64_t	 v;
	} f[] = {
		{ "channel_closed", c->channel_closed },
		{ "channel_created", c->channel_created },
		{ "connection_closed", c->connection_closed },
		{ "connection_created", c->connection_created },
		{ "queue_created", c->queue_created },
		{ "queue_declared", c->queue_declared },
		{ "queue_deleted", c->queue_deleted },
	};

	json_w_begin_object(w);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		json_w_keyc(w, f[i].name);
		json_w_uint(w, f[i].v);
		/* integrator: "<name>_details":{"rate"} (mgmt-stats). */
	}
	json_w_end_object(w);
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

	count(ctx, &t);
	w = api_json_begin(ctx);
	json_w_begin_object(w);
	json_w_keyc(w, "churn_rates");
	churn(w, &b->churn);
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
	/* integrator: message_stats (mgmt-stats); none are made up here. */
	json_w_keyc(w, "message_stats");
	json_w_begin_object(w);
	json_w_end_object(w);
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
	json_w_keyc(w, "queue_totals");
	json_w_begin_object(w);
	json_w_keyc(w, "messages");
	json_w_uint(w, t.ready + t.unacked);
	json_w_keyc(w, "messages_ready");
	json_w_uint(w, t.ready);
	json_w_keyc(w, "messages_unacknowledged");
	json_w_uint(w, t.unacked);
	/* integrator: messages*_details rates (mgmt-stats). */
	json_w_end_object(w);
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
