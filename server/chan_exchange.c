/* exchange.declare/delete/bind/unbind. */
#include "autoconf.h"

#include "server/chan.h"

#include "server/auth.h"
#include "server/conn.h"
#include "server/vhost.h"

static int
default_refused(struct chan *ch, uint32_t method_id)
{
	return chan_fail(ch, PROTO_ACCESS_REFUSED, method_id,
	    "operation not permitted on the default exchange");
}

static int
not_found(struct chan *ch, struct proto_str name, uint32_t method_id)
{
	return chan_fail(ch, PROTO_NOT_FOUND, method_id,
	    "no exchange '%.*s' in vhost '%s'", PSTR(name), ch->c->vh->name);
}

static int
exchange_declare(struct chan *ch, const struct proto_exchange_declare *m)
{
	struct proto_method ok = { .id = PROTO_EXCHANGE_DECLARE_OK };
	struct vhost_exchange_decl d = { .name = m->exchange, .type = m->type,
	    .durable = m->durable, .auto_delete = m->auto_delete,
	    .internal = m->internal, .args = m->arguments,
	    .user = ch->c->user };
	struct vhost_reply r;
	struct exchange *ex;
	int rc;

	if (m->exchange.len == 0)
		return default_refused(ch, PROTO_EXCHANGE_DECLARE);
	/* Passive declares too: they reveal what exists (CVE-2026-57221). */
	if ((rc = chan_check_access(ch, PERM_CONFIGURE, "exchange",
	    m->exchange, PROTO_EXCHANGE_DECLARE)) != 0)
		return rc;
	if (m->passive) {
		if (vhost_exchange(ch->c->vh, m->exchange) == NULL)
			return not_found(ch, m->exchange, PROTO_EXCHANGE_DECLARE);
	} else if (vhost_declare_exchange(ch->c->vh, &d, &ex, &r) != 0)
		return chan_refuse(ch, PROTO_EXCHANGE_DECLARE, &r);
	if (!m->no_wait)
		conn_send_method(ch->c, ch->id, &ok);
	return 0;
}

static int
exchange_delete(struct chan *ch, const struct proto_exchange_delete *m)
{
	struct proto_method ok = { .id = PROTO_EXCHANGE_DELETE_OK };
	struct vhost_reply r;
	struct exchange *ex;
	int rc;

	if (m->exchange.len == 0)
		return default_refused(ch, PROTO_EXCHANGE_DELETE);
	/*
	 * compat: RabbitMQ 3.10 refuses every amq.* name, existing or not,
	 * before the permission check (checked on 3.10.8).
	 */
	if (vhost_name_reserved(m->exchange))
		return chan_fail(ch, PROTO_ACCESS_REFUSED, PROTO_EXCHANGE_DELETE,
		    "deletion of system exchange '%.*s' in vhost '%s' not "
		    "allowed", PSTR(m->exchange), ch->c->vh->name);
	if ((rc = chan_check_access(ch, PERM_CONFIGURE, "exchange",
	    m->exchange, PROTO_EXCHANGE_DELETE)) != 0)
		return rc;
	/* compat: deleting a missing exchange succeeds, as in RabbitMQ. */
	if ((ex = vhost_exchange(ch->c->vh, m->exchange)) != NULL) {
		if (vhost_remove_exchange(ch->c->vh, ex, m->if_unused,
		    &r) != 0)
			return chan_refuse(ch, PROTO_EXCHANGE_DELETE, &r);
	}
	if (!m->no_wait)
		conn_send_method(ch->c, ch->id, &ok);
	return 0;
}

/* exchange.bind and exchange.unbind share their lookups. */
static int
e2e(struct chan *ch, uint32_t id, struct proto_str dst_name,
    struct proto_str src_name, struct proto_str key, struct proto_table args,
    bool no_wait, bool bind)
{
	struct proto_method ok = { .id = bind ? PROTO_EXCHANGE_BIND_OK :
	    PROTO_EXCHANGE_UNBIND_OK };
	struct vhost_binding bd = { .key = key, .args = args };
	struct vhost_reply r;
	struct exchange *src, *dst;
	int rc;

	if (dst_name.len == 0 || src_name.len == 0)
		return default_refused(ch, id);
	/* compat: write on the destination, read on the source. */
	if ((rc = chan_check_access(ch, PERM_WRITE, "exchange", dst_name,
	    id)) != 0 || (rc = chan_check_access(ch, PERM_READ, "exchange",
	    src_name, id)) != 0)
		return rc;
	/* compat: rabbit_channel's order: the source's topic check and 404 first. */
	if ((src = vhost_exchange(ch->c->vh, src_name)) == NULL)
		return not_found(ch, src_name, id);
	if ((rc = chan_check_topic(ch, src, PERM_READ, key, id)) != 0)
		return rc;
	if ((dst = vhost_exchange(ch->c->vh, dst_name)) == NULL)
		return not_found(ch, dst_name, id);
	bd.src = src;
	bd.dst = dst;
	if (bind && vhost_bind(ch->c->vh, &bd, &r) != 0)
		return chan_refuse(ch, id, &r);
	/* compat: RabbitMQ checks an unbind's arguments too (not a queue's). */
	if (!bind && vhost_check_binding_args(src, args, &r) != 0)
		return chan_refuse(ch, id, &r);
	if (!bind)
		vhost_unbind(ch->c->vh, &bd);
	if (!no_wait)
		conn_send_method(ch->c, ch->id, &ok);
	return 0;
}

int
chan_exchange_method(struct chan *ch, const struct proto_method *m)
{
	switch (m->id) {
	case PROTO_EXCHANGE_DECLARE:
		return exchange_declare(ch, &m->u.exchange_declare);
	case PROTO_EXCHANGE_DELETE:
		return exchange_delete(ch, &m->u.exchange_delete);
	case PROTO_EXCHANGE_BIND:
		return e2e(ch, m->id, m->u.exchange_bind.destination,
		    m->u.exchange_bind.source, m->u.exchange_bind.routing_key,
		    m->u.exchange_bind.arguments, m->u.exchange_bind.no_wait,
		    true);
	case PROTO_EXCHANGE_UNBIND:
		return e2e(ch, m->id, m->u.exchange_unbind.destination,
		    m->u.exchange_unbind.source,
		    m->u.exchange_unbind.routing_key,
		    m->u.exchange_unbind.arguments,
		    m->u.exchange_unbind.no_wait, false);
	default:
		return chan_fail(ch, PROTO_COMMAND_INVALID, m->id,
		    "unexpected %s", proto_method_info(m->id)->name);
	}
}
