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

/* "warren@host", the short host name, in the place of an Erlang node. */
static void
node_name(char *buf, size_t len)
{
	char host[256];

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	snprintf(buf, len, "warren@%s", host);
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
		if (!c->opened || c->state == CONN_DEAD)
			continue;
		if (!all && strcmp(c->user, u->name) != 0)
			continue;
		t->connections++;
		t->channels += c->nchans;
	}
}

static void
listener(struct json_writer *w, const char *node, const char *protocol,
    const char *addr, const struct listener *l)
{
	if (l == NULL)
		return;
	json_w_begin_object(w);
	json_w_keyc(w, "node");
	json_w_stringc(w, node);
	json_w_keyc(w, "protocol");
	json_w_stringc(w, protocol);
	json_w_keyc(w, "ip_address");
	json_w_stringc(w, addr);
	json_w_keyc(w, "port");
	json_w_int(w, l->port);
	json_w_end_object(w);
}

/*
 * Only fields warren can fill honestly; the versions are warren's own,
 * not a RabbitMQ version it would pretend to be.
 */
void
api_overview(struct api_ctx *ctx)
{
	struct broker *b = ctx->b;
	struct json_writer *w;
	struct totals t;
	char node[300];

	node_name(node, sizeof(node));
	count(ctx, &t);
	w = api_json_begin(ctx);
	json_w_begin_object(w);
	json_w_keyc(w, "management_version");
	json_w_stringc(w, PACKAGE_VERSION);
	json_w_keyc(w, "product_name");
	json_w_stringc(w, "warren");
	json_w_keyc(w, "product_version");
	json_w_stringc(w, PACKAGE_VERSION);
	json_w_keyc(w, "rabbitmq_version");
	json_w_stringc(w, PACKAGE_VERSION);
	json_w_keyc(w, "cluster_name");
	json_w_stringc(w, node);
	json_w_keyc(w, "node");
	json_w_stringc(w, node);
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
	json_w_keyc(w, "queue_totals");
	json_w_begin_object(w);
	json_w_keyc(w, "messages");
	json_w_uint(w, t.ready + t.unacked);
	json_w_keyc(w, "messages_ready");
	json_w_uint(w, t.ready);
	json_w_keyc(w, "messages_unacknowledged");
	json_w_uint(w, t.unacked);
	json_w_end_object(w);
	/* No rates or counters are kept yet: none are made up. */
	json_w_keyc(w, "message_stats");
	json_w_begin_object(w);
	json_w_end_object(w);
	json_w_keyc(w, "exchange_types");
	json_w_begin_array(w);
	for (int k = EXCHANGE_DIRECT; k <= EXCHANGE_HEADERS; k++) {
		json_w_begin_object(w);
		json_w_keyc(w, "name");
		json_w_stringc(w, exchange_kind_name((enum exchange_kind)k));
		json_w_keyc(w, "enabled");
		json_w_bool(w, true);
		json_w_end_object(w);
	}
	json_w_end_array(w);
	json_w_keyc(w, "listeners");
	json_w_begin_array(w);
	listener(w, node, "amqp", b->cfg.bind, b->amqp);
	listener(w, node, "amqp/ssl", b->cfg.bind, b->amqps);
	listener(w, node, "http", b->cfg.bind, b->admin);
	/* compat: RabbitMQ names the management TLS listener "https". */
	listener(w, node, "https", b->cfg.bind, b->admin_tls);
	json_w_end_array(w);
	json_w_end_object(w);
	api_json_end(ctx);
}
