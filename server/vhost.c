#include "autoconf.h"

#include "server/vhost.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "server/auth.h"
#include "server/broker.h"
#include "server/chan.h"
#include "server/conn.h"
#include "server/exchange.h"
#include "server/msg.h"
#include "server/persist.h"
#include "server/queue.h"
#include "server/queue_args.h"
#include "server/queue_dlx.h"

/* spec: 3.1.3 every vhost has these; compat: amq.match as RabbitMQ. */
static const struct {
	const char		*name;
	enum exchange_kind	 kind;
} builtin[] = {
	{ "", EXCHANGE_DIRECT },
	{ "amq.direct", EXCHANGE_DIRECT },
	{ "amq.fanout", EXCHANGE_FANOUT },
	{ "amq.topic", EXCHANGE_TOPIC },
	{ "amq.headers", EXCHANGE_HEADERS },
	{ "amq.match", EXCHANGE_HEADERS },
};

struct vhost *
vhost_new(struct broker *b, const char *name)
{
	struct vhost *vh;
	struct exchange *ex;

	vh = xcalloc(1, sizeof(*vh));
	vh->name = xstrdup(name);
	vh->description = xstrdup("");
	vh->tags = xstrdup("");
	vh->b = b;
	vh->max_connections = vh->max_queues = -1;
	hmap_init(&vh->exchanges);
	hmap_init(&vh->queues);
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		ex = exchange_new(vh, proto_str_c(builtin[i].name),
		    builtin[i].kind, true, false, false,
		    (struct proto_table){ NULL, 0 });
		vhost_add_exchange(vh, ex);
		ex->builtin = true;
	}
	return vh;
}

void
vhost_free(struct vhost *vh)
{
	void *v;

	for (size_t i = 0; hmap_next(&vh->queues, &i, &v);)
		vhost_delete_queue(vh, v), i = 0;
	for (size_t i = 0; hmap_next(&vh->exchanges, &i, &v);) {
		struct exchange *ex = v;

		hmap_del(&vh->exchanges, ex->name, ex->name_len);
		exchange_free(ex);
		vh->b->exchange_gen++;	/* channels' pub_ex may name it */
		i = 0;
	}
	hmap_free(&vh->exchanges);
	hmap_free(&vh->queues);
	policy_free_vhost(vh);
	free(vh->name);
	free(vh->description);
	free(vh->tags);
	rate_ring_free(&vh->rates);
	free(vh);
}

struct vhost *
vhost_create(struct broker *b, const char *name)
{
	struct vhost *vh;

	if ((vh = broker_vhost(b, name, strlen(name))) != NULL)
		return vh;
	vh = vhost_new(b, name);
	hmap_put(&b->vhosts, vh->name, strlen(vh->name), vh);
	if (b->recovering)
		return vh;
	log_info("vhost '%s' created", vh->name);
	persist_vhost(b, vh->name);
	return vh;
}

void
vhost_delete(struct vhost *vh)
{
	struct broker *b = vh->b;
	struct conn *c, *next;
	void *v;

	log_info("vhost '%s' deleted", vh->name);
	/* Connections first: their channels and exclusive queues go now. */
	for (c = b->conns; c != NULL; c = next) {
		next = c->next;
		if (c->vh == vh)
			conn_vhost_gone(c);
	}
	for (size_t i = 0; i < b->dead_conns.n; i++) {
		c = b->dead_conns.v[i];
		if (c->vh == vh)
			conn_vhost_gone(c);
	}
	while (vh->queues.count > 0) {
		size_t i = 0;

		if (!hmap_next(&vh->queues, &i, &v))
			break;
		vhost_delete_queue(vh, v);
	}
	/* One at a time: deleting one may auto-delete others. */
	while (vh->exchanges.count > 0) {
		size_t i = 0;

		if (!hmap_next(&vh->exchanges, &i, &v))
			break;
		vhost_delete_exchange(vh, v);
	}
	auth_forget_vhost(b, vh->name);
	persist_vhost_deleted(b, vh->name);
	hmap_del(&b->vhosts, vh->name, strlen(vh->name));
	vhost_free(vh);
}

void
vhost_set_meta(struct vhost *vh, const char *description, const char *tags)
{
	char *d, *t;

	d = xstrdup(description);
	t = xstrdup(tags);
	free(vh->description);
	free(vh->tags);
	vh->description = d;
	vh->tags = t;
	persist_vhost_meta(vh);
}

void
vhost_set_limits(struct vhost *vh, int64_t max_connections,
    int64_t max_queues)
{
	vh->max_connections = max_connections;
	vh->max_queues = max_queues;
	persist_vhost_limits(vh);
}

struct exchange *
vhost_exchange(struct vhost *vh, struct proto_str name)
{
	return hmap_get(&vh->exchanges, name.p, name.len);
}

struct queue *
vhost_queue(struct vhost *vh, struct proto_str name)
{
	return hmap_get(&vh->queues, name.p, name.len);
}

void
vhost_add_exchange(struct vhost *vh, struct exchange *ex)
{
	hmap_put(&vh->exchanges, ex->name, ex->name_len, ex);
}

void
vhost_add_queue(struct vhost *vh, struct queue *q)
{
	hmap_put(&vh->queues, q->name, q->name_len, q);
	queue_lease_touch(q);	/* x-expires counts from here */
}

struct exchange *
vhost_create_exchange(struct vhost *vh, struct proto_str name, int kind,
    bool durable, bool auto_delete, bool internal, struct proto_table args)
{
	struct exchange *ex;

	ex = exchange_new(vh, name, (enum exchange_kind)kind, durable,
	    auto_delete, internal, args);
	vhost_add_exchange(vh, ex);
	policy_apply_exchange(ex);
	persist_exchange(ex);
	return ex;
}

struct queue *
vhost_create_queue(struct vhost *vh, struct proto_str name, bool durable,
    bool exclusive, bool auto_delete, struct proto_table args)
{
	struct queue *q;

	q = queue_new(vh, name, durable, exclusive, auto_delete, args);
	vhost_add_queue(vh, q);
	/* Exclusive queues are never stored; persist_queue() knows. */
	persist_queue(q);
	policy_apply_queue(q);
	return q;
}

int
vhost_add_binding(struct vhost *vh, const struct vhost_binding *bd)
{
	(void)vh;
	if (exchange_find_binding(bd->src, bd->q, bd->dst, bd->key,
	    bd->args) != NULL)
		return 0;	/* spec: binding twice is not an error */
	if (exchange_bind(bd->src, bd->q, bd->dst, bd->key, bd->args) == -1)
		return -1;
	persist_binding(exchange_find_binding(bd->src, bd->q, bd->dst,
	    bd->key, bd->args), true);
	return 0;
}

int
vhost_enqueue(struct vhost *vh, struct queue **qs, size_t n, struct msg *m)
{
	uint64_t msg_id = 0;
	uint32_t stored = 0;
	int rc = 0;

	/* The body is stored once, however many stored queues it reaches. */
	for (size_t i = 0; i < n; i++)
		if (persist_wants(qs[i], m))
			stored++;
	if (stored > 0)
		msg_id = persist_message(vh->b, m, stored);
	for (size_t i = 0; i < n; i++) {
		bool keep = persist_wants(qs[i], m);

		if (queue_enqueue(qs[i], m, keep ? msg_id : 0,
		    keep ? persist_entry_flags(stored) : 0) == -1)
			rc = -1;
	}
	return rc;
}

int
vhost_publish(struct vhost *vh, struct exchange *ex, struct msg *m,
    struct route_result *rr, bool *refused)
{
	struct route_keys keys;
	size_t kept = 0;

	*refused = false;
	ex->stats.v[STAT_PUBLISH_IN]++;
	msg_route_keys(m, &keys);
	exchange_route_keys(ex, &keys, msg_headers(m), rr);
	/* compat: a full reject-publish queue takes nothing; a nack says so. */
	for (size_t i = 0; i < rr->n; i++) {
		struct queue *q = rr->q[i];

		if (!queue_refuses_more(q, m)) {
			rr->q[kept++] = q;
			continue;
		}
		*refused = true;
		if (q->overflow == QUEUE_REJECT_PUBLISH_DLX)
			queue_dlx_msg(q, m, DEAD_MAXLEN);
	}
	rr->n = kept;
	if (rr->n == 0)
		return 0;
	ex->stats.v[STAT_PUBLISH_OUT]++;
	vh->b->stats.msg.v[STAT_ROUTED]++;
	for (size_t i = 0; i < rr->n; i++)
		rr->q[i]->stats.v[STAT_PUBLISH]++;
	return vhost_enqueue(vh, rr->q, rr->n, m) == -1 ? -1 : 0;
}

void
vhost_exchange_maybe_autodelete(struct vhost *vh, struct exchange *ex)
{
	/*
	 * compat: deleted when the last binding from it goes, as RabbitMQ.
	 * An exchange already being deleted is out of the map: not twice.
	 */
	if (ex->auto_delete && ex->nbindings == 0 && !ex->builtin &&
	    vhost_exchange(vh, (struct proto_str){ (const uint8_t *)ex->name,
	    ex->name_len }) == ex)
		vhost_delete_exchange(vh, ex);
}

/* Removes bindings in list (whose entries go away as we unbind). */
static void
unbind_all(struct vhost *vh, struct binding **list, size_t *n)
{
	while (*n > 0) {
		struct binding *bd = list[*n - 1];
		struct exchange *src = bd->src;

		persist_binding(bd, false);
		exchange_unbind(bd);
		vhost_exchange_maybe_autodelete(vh, src);
	}
}

void
vhost_delete_exchange(struct vhost *vh, struct exchange *ex)
{
	hmap_del(&vh->exchanges, ex->name, ex->name_len);
	log_debug("vhost %s: exchange '%s' deleted", vh->name, ex->name);
	persist_exchange_deleted(ex);
	for (size_t i = 0; i < ex->nbindings; i++)
		persist_binding(ex->bindings[i], false);
	/* Destinations of ex's bindings do not auto-delete; sources may. */
	unbind_all(vh, ex->incoming, &ex->nincoming);
	stats_forget(vh->b, ex);	/* its per-channel lines go with it */
	exchange_free(ex);
	vh->b->exchange_gen++;	/* channels' pub_ex may name it */
}

uint32_t
vhost_delete_queue(struct vhost *vh, struct queue *q)
{
	uint32_t n;

	if (q->deleted)
		return 0;
	/*
	 * From here on its entries write nothing, and its per-channel
	 * lines are not shown (server/stats.h).
	 */
	q->deleted = true;
	vh->b->churn.queue_deleted++;
	queue_lease_stop(q);
	queue_ttl_stop(q);
	hmap_del(&vh->queues, q->name, q->name_len);
	unbind_all(vh, q->bindings, &q->nbindings);
	persist_queue_deleted(q);
	while (q->consumers != NULL) {
		struct consumer *cs = q->consumers;

		chan_consumer_cancelled(cs->ch, cs);
	}
	n = queue_purge(q);
	log_debug("vhost %s: queue '%s' deleted", vh->name, q->name);
	/*
	 * Unacked entries and paused publishers may hold the queue past
	 * its vhost's life (vhost_delete): from here on it has no vhost,
	 * and persists and dispatches nothing.
	 */
	q->vh = NULL;
	q->policy = q->op_policy = NULL;	/* the vhost's may go first */
	queue_unref(q);
	return n;
}
