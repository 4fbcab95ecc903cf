/* queue.declare/bind/unbind/purge/delete; vhost_declare.c checks declares. */
#include "autoconf.h"

#include "server/chan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/table.h"
#include "server/auth.h"
#include "server/broker.h"
#include "server/chan_reply_to.h"
#include "server/conn.h"
#include "server/exchange.h"
#include "server/vhost.h"

int
chan_refuse(struct chan *ch, uint32_t method_id, const struct vhost_reply *r)
{
	return chan_fail(ch, r->code, method_id, "%s", r->text);
}

int
chan_find_queue(struct chan *ch, struct proto_str name, int kind,
    uint32_t method_id, struct queue **out)
{
	struct vhost_reply r;
	struct queue *q;
	int rc;

	/* spec: an empty queue name means the channel's last declared queue. */
	if (name.len == 0) {
		if (ch->last_queue_len == 0)
			return chan_fail(ch, PROTO_NOT_FOUND, method_id,
			    "no previously declared queue");
		name = (struct proto_str){ (const uint8_t *)ch->last_queue,
		    ch->last_queue_len };
	}
	/*
	 * The right before the lookup, as in rabbit_channel: a 404 for a
	 * queue the user may not touch would tell which names exist.
	 */
	if (kind >= 0 && (rc = chan_check_access(ch, kind, "queue", name,
	    method_id)) != 0)
		return rc;
	if ((q = vhost_queue(ch->c->vh, name)) == NULL)
		return chan_fail(ch, PROTO_NOT_FOUND, method_id,
		    "no queue '%.*s' in vhost '%s'", PSTR(name),
		    ch->c->vh->name);
	if (vhost_queue_check_owner(q, ch->c, &r) != 0)
		return chan_refuse(ch, method_id, &r);
	*out = q;
	return 0;
}

static void
remember(struct chan *ch, const struct queue *q)
{
	memcpy(ch->last_queue, q->name, q->name_len);
	ch->last_queue_len = (uint8_t)q->name_len;
}

static int
declare_ok(struct chan *ch, struct queue *q, bool no_wait)
{
	struct proto_method ok = { .id = PROTO_QUEUE_DECLARE_OK };

	remember(ch, q);
	queue_lease_touch(q);	/* compat: a declare renews x-expires */
	if (no_wait)
		return 0;
	ok.u.queue_declare_ok.queue = (struct proto_str){
	    (const uint8_t *)q->name, q->name_len };
	ok.u.queue_declare_ok.message_count = (uint32_t)queue_ready(q);
	ok.u.queue_declare_ok.consumer_count = q->nconsumers;
	conn_send_method(ch->c, ch->id, &ok);
	return 0;
}

static int
queue_declare(struct chan *ch, const struct proto_queue_declare *m)
{
	struct vhost *vh = ch->c->vh;
	struct proto_str name = m->queue;
	struct vhost_queue_decl d = { .durable = m->durable,
	    .exclusive = m->exclusive, .auto_delete = m->auto_delete,
	    .server_named = m->queue.len == 0, .args = m->arguments,
	    .owner = ch->c, .user = ch->c->user };
	struct vhost_reply r;
	char gen[64];
	struct queue *q;
	int rc;

	if (m->arguments.len && !proto_table_validate(m->arguments))
		return chan_fail(ch, PROTO_SYNTAX_ERROR, PROTO_QUEUE_DECLARE,
		    "malformed arguments table");
	if (reply_to_named(name))
		return reply_to_declare(ch, m);
	/* Passive declares too: they reveal what exists (CVE-2026-57221). */
	if (name.len > 0 && (rc = chan_check_access(ch, PERM_CONFIGURE,
	    "queue", name, PROTO_QUEUE_DECLARE)) != 0)
		return rc;
	if (m->passive) {
		if (name.len == 0 && ch->last_queue_len == 0)
			return chan_fail(ch, PROTO_NOT_FOUND,
			    PROTO_QUEUE_DECLARE, "no queue '' in vhost '%s'",
			    vh->name);
		if ((rc = chan_find_queue(ch, name, -1, PROTO_QUEUE_DECLARE,
		    &q)) != 0)
			return rc;
		return declare_ok(ch, q, m->no_wait);
	}
	if (name.len == 0) {
		size_t n = chan_gen_name(ch, "amq.gen-", gen, sizeof(gen));

		name = (struct proto_str){ (const uint8_t *)gen, n };
		if ((rc = chan_check_access(ch, PERM_CONFIGURE, "queue", name,
		    PROTO_QUEUE_DECLARE)) != 0)
			return rc;
	}
	d.name = name;
	if ((rc = vhost_declare_queue(vh, &d, &q, &r)) != 0)
		return chan_refuse(ch, PROTO_QUEUE_DECLARE, &r);
	return declare_ok(ch, q, m->no_wait);
}

/*
 * The checks of queue.bind and queue.unbind in rabbit_channel's order:
 * write on the queue, not the default exchange, read on the exchange,
 * the topic permission on the binding key, and only then the lookups
 * (the exchange's 404 before the queue's), so that no answer tells a
 * user about a name it has no rights on.
 */
static int
bind_ends(struct chan *ch, struct proto_str queue, struct proto_str exchange,
    struct proto_str key, uint32_t method_id, struct queue **q,
    struct exchange **ex)
{
	struct proto_str qname = queue;
	int rc;

	if (qname.len == 0) {
		if (ch->last_queue_len == 0)
			return chan_fail(ch, PROTO_NOT_FOUND, method_id,
			    "no previously declared queue");
		qname = (struct proto_str){ (const uint8_t *)ch->last_queue,
		    ch->last_queue_len };
	}
	if ((rc = chan_check_access(ch, PERM_WRITE, "queue", qname,
	    method_id)) != 0)
		return rc;
	if (exchange.len == 0)
		return chan_fail(ch, PROTO_ACCESS_REFUSED, method_id,
		    "operation not permitted on the default exchange");
	if ((rc = chan_check_access(ch, PERM_READ, "exchange", exchange,
	    method_id)) != 0)
		return rc;
	if ((*ex = vhost_exchange(ch->c->vh, exchange)) == NULL)
		return chan_fail(ch, PROTO_NOT_FOUND, method_id,
		    "no exchange '%.*s' in vhost '%s'", PSTR(exchange),
		    ch->c->vh->name);
	if ((rc = chan_check_topic(ch, *ex, PERM_READ, key, method_id)) != 0)
		return rc;
	return chan_find_queue(ch, qname, -1, method_id, q);
}

static int
queue_bind(struct chan *ch, const struct proto_queue_bind *m)
{
	struct proto_method ok = { .id = PROTO_QUEUE_BIND_OK };
	struct vhost_reply r;
	struct exchange *ex;
	struct queue *q;
	int rc;

	if ((rc = bind_ends(ch, m->queue, m->exchange, m->routing_key,
	    PROTO_QUEUE_BIND, &q, &ex)) != 0)
		return rc;
	if (vhost_bind(ch->c->vh, &(struct vhost_binding){ .src = ex,
	    .q = q, .key = m->routing_key, .args = m->arguments }, &r) != 0)
		return chan_refuse(ch, PROTO_QUEUE_BIND, &r);
	if (!m->no_wait)
		conn_send_method(ch->c, ch->id, &ok);
	return 0;
}

static int
queue_unbind(struct chan *ch, const struct proto_queue_unbind *m)
{
	struct proto_method ok = { .id = PROTO_QUEUE_UNBIND_OK };
	struct exchange *ex;
	struct queue *q;
	int rc;

	if ((rc = bind_ends(ch, m->queue, m->exchange, m->routing_key,
	    PROTO_QUEUE_UNBIND, &q, &ex)) != 0)
		return rc;
	vhost_unbind(ch->c->vh, &(struct vhost_binding){ .src = ex, .q = q,
	    .key = m->routing_key, .args = m->arguments });
	conn_send_method(ch->c, ch->id, &ok);
	return 0;
}

static int
queue_purge_method(struct chan *ch, const struct proto_queue_purge *m)
{
	struct proto_method ok = { .id = PROTO_QUEUE_PURGE_OK };
	struct queue *q;
	int rc;

	if ((rc = chan_find_queue(ch, m->queue, PERM_READ, PROTO_QUEUE_PURGE,
	    &q)) != 0)
		return rc;
	ok.u.queue_purge_ok.message_count = queue_purge(q);
	if (!m->no_wait)
		conn_send_method(ch->c, ch->id, &ok);
	return 0;
}

static int
queue_delete(struct chan *ch, const struct proto_queue_delete *m)
{
	struct proto_method ok = { .id = PROTO_QUEUE_DELETE_OK };
	struct proto_str name = m->queue;
	struct vhost_reply r;
	struct queue *q;
	int rc;

	if (name.len == 0)
		name = (struct proto_str){ (const uint8_t *)ch->last_queue,
		    ch->last_queue_len };
	if ((rc = chan_check_access(ch, PERM_CONFIGURE, "queue", name,
	    PROTO_QUEUE_DELETE)) != 0)
		return rc;
	/* compat: deleting a missing queue succeeds with a count of 0. */
	if ((q = vhost_queue(ch->c->vh, name)) != NULL) {
		struct vhost_queue_delete d = { .q = q, .owner = ch->c,
		    .if_unused = m->if_unused, .if_empty = m->if_empty };

		if (vhost_remove_queue(ch->c->vh, &d,
		    &ok.u.queue_delete_ok.message_count, &r) != 0)
			return chan_refuse(ch, PROTO_QUEUE_DELETE, &r);
	}
	if (!m->no_wait)
		conn_send_method(ch->c, ch->id, &ok);
	return 0;
}

int
chan_queue_method(struct chan *ch, const struct proto_method *m)
{
	switch (m->id) {
	case PROTO_QUEUE_DECLARE:
		return queue_declare(ch, &m->u.queue_declare);
	case PROTO_QUEUE_BIND:
		return queue_bind(ch, &m->u.queue_bind);
	case PROTO_QUEUE_UNBIND:
		return queue_unbind(ch, &m->u.queue_unbind);
	case PROTO_QUEUE_PURGE:
		return queue_purge_method(ch, &m->u.queue_purge);
	case PROTO_QUEUE_DELETE:
		return queue_delete(ch, &m->u.queue_delete);
	default:
		return chan_fail(ch, PROTO_COMMAND_INVALID, m->id,
		    "unexpected %s", proto_method_info(m->id)->name);
	}
}
