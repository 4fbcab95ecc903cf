/* queue.declare/bind/unbind/purge/delete, and argument equivalence checks. */
#include "autoconf.h"

#include "server/chan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/table.h"
#include "server/auth.h"
#include "server/conn.h"
#include "server/exchange.h"
#include "server/persist.h"
#include "server/queue_args.h"
#include "server/reply_to.h"
#include "server/route_headers.h"
#include "server/vhost.h"

/* compat: the arguments RabbitMQ 3.10 compares when a queue is redeclared. */
static const char *const queue_equiv_keys[] = {
	"x-expires", "x-message-ttl", "x-dead-letter-exchange",
	"x-dead-letter-routing-key", "x-max-length", "x-max-length-bytes",
	"x-max-in-memory-length", "x-max-in-memory-bytes", "x-max-priority",
	"x-overflow", "x-queue-mode", "x-queue-type", "x-single-active-consumer",
	"x-queue-master-locator", "x-delivery-limit", NULL,
};

/*
 * compat: RabbitMQ writes "'2000'" when both sides have a value, and
 * "the value '1000' of type 'signedint'" or "none" when one side lacks it.
 */
static void
describe(char *buf, size_t len, const struct proto_field *f, bool present,
    bool typed)
{
	char v[80];
	int64_t i;

	if (!present) {
		snprintf(buf, len, "none");
		return;
	}
	if (f->kind == PROTO_FIELD_LONGSTR || f->kind == PROTO_FIELD_BYTES)
		snprintf(v, sizeof(v), "%.*s",
		    (int)(f->v.str.len > 64 ? 64 : f->v.str.len),
		    (const char *)f->v.str.p);
	else if (f->kind == PROTO_FIELD_BOOL)
		snprintf(v, sizeof(v), "%s", f->v.b ? "true" : "false");
	else if (proto_field_int(f, &i))
		snprintf(v, sizeof(v), "%" PRId64, i);
	else
		snprintf(v, sizeof(v), "?");
	if (typed)
		snprintf(buf, len, "the value '%s' of type '%s'", v,
		    proto_field_kind_name(f->kind));
	else
		snprintf(buf, len, "'%s'", v);
}

static bool
equivalent(const struct proto_field *a, const struct proto_field *b)
{
	int64_t x, y;

	/* compat: integer types compare by value, as RabbitMQ does. */
	if (proto_field_int(a, &x) && proto_field_int(b, &y))
		return x == y;
	return proto_field_equal(a, b);
}

int
chan_check_args(struct chan *ch, const char *what, const char *name,
    struct proto_table got, struct proto_table cur, const char *const *keys,
    uint32_t method_id)
{
	struct proto_field a, b;
	char ra[128], rb[128];

	for (size_t i = 0; keys[i] != NULL; i++) {
		bool ha = proto_table_get(got, keys[i], &a);
		bool hb = proto_table_get(cur, keys[i], &b);

		if (!ha && !hb)
			continue;
		if (ha && hb && equivalent(&a, &b))
			continue;
		describe(ra, sizeof(ra), &a, ha, !(ha && hb));
		describe(rb, sizeof(rb), &b, hb, !(ha && hb));
		return chan_fail(ch, PROTO_PRECONDITION_FAILED, method_id,
		    "inequivalent arg '%s' for %s '%s' in vhost '%s': "
		    "received %s but current is %s", keys[i], what, name,
		    ch->c->vh->name, ra, rb);
	}
	return 0;
}

int
chan_check_flag(struct chan *ch, const char *arg, const char *what,
    const char *name, bool got, bool cur, uint32_t method_id)
{
	if (got == cur)
		return 0;
	return chan_fail(ch, PROTO_PRECONDITION_FAILED, method_id,
	    "inequivalent arg '%s' for %s '%s' in vhost '%s': received '%s' "
	    "but current is '%s'", arg, what, name, ch->c->vh->name,
	    got ? "true" : "false", cur ? "true" : "false");
}

static int
locked(struct chan *ch, struct queue *q, uint32_t method_id)
{
	return chan_fail(ch, PROTO_RESOURCE_LOCKED, method_id,
	    "cannot obtain exclusive access to locked queue '%s' in vhost "
	    "'%s'. It could be originally declared on another connection or "
	    "the exclusive property value does not match that of the original "
	    "declaration.", q->name, q->vh->name);
}

int
chan_find_queue(struct chan *ch, struct proto_str name, uint32_t method_id,
    struct queue **out)
{
	struct queue *q;

	/* spec: an empty queue name means the channel's last declared queue. */
	if (name.len == 0) {
		if (ch->last_queue_len == 0)
			return chan_fail(ch, PROTO_NOT_FOUND, method_id,
			    "no previously declared queue");
		name = (struct proto_str){ (const uint8_t *)ch->last_queue,
		    ch->last_queue_len };
	}
	if ((q = vhost_queue(ch->c->vh, name)) == NULL)
		return chan_fail(ch, PROTO_NOT_FOUND, method_id,
		    "no queue '%.*s' in vhost '%s'", PSTR(name),
		    ch->c->vh->name);
	if (q->exclusive && q->owner != ch->c)
		return locked(ch, q, method_id);
	*out = q;
	return 0;
}

static void
remember(struct chan *ch, const struct queue *q)
{
	memcpy(ch->last_queue, q->name, q->name_len);
	ch->last_queue_len = (uint8_t)q->name_len;
}

/*
 * The arguments of a new queue (compat: RabbitMQ checks those of an
 * existing one only for equivalence): a dead-letter exchange needs read
 * on the queue and write on the exchange, then every x-* argument is
 * checked as RabbitMQ does, then what the queue's type allows.
 */
static int
check_new_queue_args(struct chan *ch, struct proto_str name,
    const struct proto_queue_declare *m)
{
	struct proto_table args = m->arguments;
	struct queue_args_refusal r;
	struct proto_field f;
	const char *key;
	char why[128];
	int rc;

	if (proto_table_get(args, "x-dead-letter-exchange", &f)) {
		if (f.kind != PROTO_FIELD_LONGSTR)
			return chan_fail(ch, PROTO_PRECONDITION_FAILED,
			    PROTO_QUEUE_DECLARE, "invalid type '%s' for arg "
			    "'x-dead-letter-exchange' in queue '%.*s' in vhost "
			    "'%s'", proto_field_kind_name(f.kind), PSTR(name),
			    ch->c->vh->name);
		if ((rc = chan_check_access(ch, PERM_READ, "queue", name,
		    PROTO_QUEUE_DECLARE)) != 0 ||
		    (rc = chan_check_access(ch, PERM_WRITE, "exchange",
		    f.v.str, PROTO_QUEUE_DECLARE)) != 0)
			return rc;
	}
	if (queue_args_check(args, &key, why, sizeof(why)) == -1)
		return chan_fail(ch, PROTO_PRECONDITION_FAILED,
		    PROTO_QUEUE_DECLARE, "invalid arg '%s' for queue '%.*s' in "
		    "vhost '%s': %s", key, PSTR(name), ch->c->vh->name, why);
	if (queue_args_check_type(args, m->durable, m->exclusive,
	    m->auto_delete, &r) == -1) {
		if (r.arg != NULL)
			return chan_fail(ch, PROTO_PRECONDITION_FAILED,
			    PROTO_QUEUE_DECLARE, "invalid arg '%s' for queue "
			    "'%.*s' in vhost '%s' of queue type %s", r.arg,
			    PSTR(name), ch->c->vh->name,
			    queue_type_name(queue_args_type(args)));
		return chan_fail(ch, PROTO_PRECONDITION_FAILED,
		    PROTO_QUEUE_DECLARE, "invalid property '%s' for queue "
		    "'%.*s' in vhost '%s'", r.property, PSTR(name),
		    ch->c->vh->name);
	}
	return 0;
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
		if ((rc = chan_find_queue(ch, name, PROTO_QUEUE_DECLARE,
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
	if ((q = vhost_queue(vh, name)) != NULL) {
		if (q->exclusive && q->owner != ch->c)
			return locked(ch, q, PROTO_QUEUE_DECLARE);
		if ((rc = chan_check_flag(ch, "durable", "queue", q->name,
		    m->durable, q->durable, PROTO_QUEUE_DECLARE)) != 0 ||
		    (rc = chan_check_flag(ch, "auto_delete", "queue", q->name,
		    m->auto_delete, q->auto_delete, PROTO_QUEUE_DECLARE)) != 0)
			return rc;
		if (m->exclusive != q->exclusive)
			return locked(ch, q, PROTO_QUEUE_DECLARE);
		if ((rc = chan_check_args(ch, "queue", q->name, m->arguments,
		    (struct proto_table){ q->args, q->args_len },
		    queue_equiv_keys, PROTO_QUEUE_DECLARE)) != 0)
			return rc;
		return declare_ok(ch, q, m->no_wait);
	}
	if (name.len >= 4 && memcmp(name.p, "amq.", 4) == 0 && m->queue.len > 0)
		return chan_fail(ch, PROTO_ACCESS_REFUSED, PROTO_QUEUE_DECLARE,
		    "queue name '%.*s' contains reserved prefix 'amq.*'",
		    PSTR(name));
	if ((rc = check_new_queue_args(ch, name, m)) != 0)
		return rc;
	/* compat: RabbitMQ's per-vhost max-queues limit and wording. */
	if (vh->max_queues >= 0 && vh->queues.count >= (size_t)vh->max_queues)
		return chan_fail(ch, PROTO_PRECONDITION_FAILED,
		    PROTO_QUEUE_DECLARE, "cannot declare queue '%.*s': queue "
		    "limit in vhost '%s' (%lld) is reached", PSTR(name),
		    vh->name, (long long)vh->max_queues);
	if (vhost_create_queue(vh, name, m->durable, m->exclusive,
	    m->auto_delete, m->arguments, &q) == -1)
		return chan_fail(ch, PROTO_RESOURCE_ERROR, PROTO_QUEUE_DECLARE,
		    "out of memory");
	if (m->exclusive)
		q->owner = ch->c;
	return declare_ok(ch, q, m->no_wait);
}

/* Looks up the exchange of a queue.bind/unbind; the default one refuses. */
static int
bind_exchange(struct chan *ch, struct proto_str name, uint32_t method_id,
    struct exchange **out)
{
	if (name.len == 0)
		return chan_fail(ch, PROTO_ACCESS_REFUSED, method_id,
		    "operation not permitted on the default exchange");
	if ((*out = vhost_exchange(ch->c->vh, name)) == NULL)
		return chan_fail(ch, PROTO_NOT_FOUND, method_id,
		    "no exchange '%.*s' in vhost '%s'", PSTR(name),
		    ch->c->vh->name);
	return 0;
}

int
chan_check_binding_args(struct chan *ch, struct exchange *src,
    struct proto_table args, uint32_t method_id)
{
	struct proto_field f = { 0 };

	if (args.len && !proto_table_validate(args))
		return chan_fail(ch, PROTO_SYNTAX_ERROR, method_id,
		    "malformed arguments table");
	if (src->kind != EXCHANGE_HEADERS || headers_check_args(args) == 0)
		return 0;
	/* compat: RabbitMQ's two wordings, for a bad type and a bad value. */
	if (!proto_table_get(args, "x-match", &f) ||
	    f.kind != PROTO_FIELD_LONGSTR)
		return chan_fail(ch, PROTO_PRECONDITION_FAILED, method_id,
		    "Invalid x-match field type %s; expected longstr",
		    proto_field_kind_name(f.kind));
	return chan_fail(ch, PROTO_PRECONDITION_FAILED, method_id,
	    "Invalid x-match field value <<\"%.*s\">>; expected all, any, "
	    "all-with-x, or any-with-x", PSTR(f.v.str));
}

/* compat: binding needs write on the queue and read on the exchange. */
static int
access_bind(struct chan *ch, struct queue *q, struct proto_str exchange,
    uint32_t method_id)
{
	int rc;

	if ((rc = chan_check_access(ch, PERM_WRITE, "queue",
	    (struct proto_str){ (const uint8_t *)q->name, q->name_len },
	    method_id)) != 0)
		return rc;
	return chan_check_access(ch, PERM_READ, "exchange", exchange,
	    method_id);
}

static int
queue_bind(struct chan *ch, const struct proto_queue_bind *m)
{
	struct proto_method ok = { .id = PROTO_QUEUE_BIND_OK };
	struct exchange *ex;
	struct queue *q;
	int rc;

	if ((rc = chan_find_queue(ch, m->queue, PROTO_QUEUE_BIND, &q)) != 0 ||
	    (rc = bind_exchange(ch, m->exchange, PROTO_QUEUE_BIND, &ex)) != 0 ||
	    (rc = access_bind(ch, q, m->exchange, PROTO_QUEUE_BIND)) != 0 ||
	    (rc = chan_check_topic(ch, ex, PERM_READ, m->routing_key,
	    PROTO_QUEUE_BIND)) != 0 ||
	    (rc = chan_check_binding_args(ch, ex, m->arguments,
	    PROTO_QUEUE_BIND)) != 0)
		return rc;
	if (vhost_bind(ch->c->vh, ex, q, NULL, m->routing_key,
	    m->arguments) == -1)
		return chan_fail(ch, PROTO_RESOURCE_ERROR, PROTO_QUEUE_BIND,
		    "out of memory");
	if (!m->no_wait)
		conn_send_method(ch->c, ch->id, &ok);
	return 0;
}

static int
queue_unbind(struct chan *ch, const struct proto_queue_unbind *m)
{
	struct proto_method ok = { .id = PROTO_QUEUE_UNBIND_OK };
	struct exchange *ex;
	struct binding *bd;
	struct queue *q;
	int rc;

	if ((rc = chan_find_queue(ch, m->queue, PROTO_QUEUE_UNBIND, &q)) != 0 ||
	    (rc = bind_exchange(ch, m->exchange, PROTO_QUEUE_UNBIND, &ex)) != 0 ||
	    (rc = access_bind(ch, q, m->exchange, PROTO_QUEUE_UNBIND)) != 0 ||
	    (rc = chan_check_topic(ch, ex, PERM_READ, m->routing_key,
	    PROTO_QUEUE_UNBIND)) != 0)
		return rc;
	/* compat: unbinding what is not bound succeeds, as in RabbitMQ. */
	bd = exchange_find_binding(ex, q, NULL, m->routing_key, m->arguments);
	if (bd != NULL) {
		persist_binding(bd, false);
		exchange_unbind(bd);
		vhost_exchange_maybe_autodelete(ch->c->vh, ex);
	}
	conn_send_method(ch->c, ch->id, &ok);
	return 0;
}

static int
queue_purge_method(struct chan *ch, const struct proto_queue_purge *m)
{
	struct proto_method ok = { .id = PROTO_QUEUE_PURGE_OK };
	struct queue *q;
	int rc;

	if ((rc = chan_find_queue(ch, m->queue, PROTO_QUEUE_PURGE, &q)) != 0 ||
	    (rc = chan_check_access(ch, PERM_READ, "queue", (struct proto_str){
	    (const uint8_t *)q->name, q->name_len }, PROTO_QUEUE_PURGE)) != 0)
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
		if (q->exclusive && q->owner != ch->c)
			return locked(ch, q, PROTO_QUEUE_DELETE);
		if (m->if_unused && q->nconsumers > 0)
			return chan_fail(ch, PROTO_PRECONDITION_FAILED,
			    PROTO_QUEUE_DELETE, "queue '%s' in vhost '%s' in use",
			    q->name, q->vh->name);
		if (m->if_empty && queue_ready(q) > 0)
			return chan_fail(ch, PROTO_PRECONDITION_FAILED,
			    PROTO_QUEUE_DELETE,
			    "queue '%s' in vhost '%s' not empty", q->name,
			    q->vh->name);
		ok.u.queue_delete_ok.message_count =
		    vhost_delete_queue(ch->c->vh, q);
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
