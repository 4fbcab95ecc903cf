/* exchange.declare/delete/bind/unbind. */
#include "autoconf.h"

#include "server/chan.h"

#include <string.h>

#include "protocol/table.h"
#include "server/auth.h"
#include "server/conn.h"
#include "server/exchange.h"
#include "server/persist.h"
#include "server/vhost.h"

/* compat: the arguments RabbitMQ compares when an exchange is redeclared. */
static const char *const exchange_equiv_keys[] = {
	"alternate-exchange", NULL,
};

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
	struct vhost *vh = ch->c->vh;
	enum exchange_kind kind;
	struct exchange *ex;
	int rc;

	if (m->exchange.len == 0)
		return default_refused(ch, PROTO_EXCHANGE_DECLARE);
	/* Passive declares too: they reveal what exists (CVE-2026-57221). */
	if ((rc = chan_check_access(ch, PERM_CONFIGURE, "exchange",
	    m->exchange, PROTO_EXCHANGE_DECLARE)) != 0)
		return rc;
	ex = vhost_exchange(vh, m->exchange);
	if (m->passive) {
		if (ex == NULL)
			return not_found(ch, m->exchange, PROTO_EXCHANGE_DECLARE);
		goto ok;
	}
	if (exchange_kind_parse(m->type, &kind) == -1)
		return chan_fail(ch, PROTO_COMMAND_INVALID,
		    PROTO_EXCHANGE_DECLARE, "invalid exchange type '%.*s'",
		    PSTR(m->type));
	if (m->arguments.len && !proto_table_validate(m->arguments))
		return chan_fail(ch, PROTO_SYNTAX_ERROR, PROTO_EXCHANGE_DECLARE,
		    "malformed arguments table");
	if (ex != NULL) {
		if (kind != ex->kind)
			return chan_fail(ch, PROTO_PRECONDITION_FAILED,
			    PROTO_EXCHANGE_DECLARE,
			    "inequivalent arg 'type' for exchange '%s' in vhost "
			    "'%s': received '%s' but current is '%s'", ex->name,
			    vh->name, exchange_kind_name(kind),
			    exchange_kind_name(ex->kind));
		if ((rc = chan_check_flag(ch, "durable", "exchange", ex->name,
		    m->durable, ex->durable, PROTO_EXCHANGE_DECLARE)) != 0 ||
		    (rc = chan_check_flag(ch, "auto_delete", "exchange",
		    ex->name, m->auto_delete, ex->auto_delete,
		    PROTO_EXCHANGE_DECLARE)) != 0 ||
		    (rc = chan_check_flag(ch, "internal", "exchange", ex->name,
		    m->internal, ex->internal, PROTO_EXCHANGE_DECLARE)) != 0 ||
		    (rc = chan_check_args(ch, "exchange", ex->name,
		    m->arguments, (struct proto_table){ ex->args, ex->args_len },
		    exchange_equiv_keys, PROTO_EXCHANGE_DECLARE)) != 0)
			return rc;
		goto ok;
	}
	if (m->exchange.len >= 4 && memcmp(m->exchange.p, "amq.", 4) == 0)
		return chan_fail(ch, PROTO_ACCESS_REFUSED, PROTO_EXCHANGE_DECLARE,
		    "exchange name '%.*s' contains reserved prefix 'amq.*'",
		    PSTR(m->exchange));
	if (vhost_create_exchange(vh, m->exchange, kind, m->durable,
	    m->auto_delete, m->internal, m->arguments, &ex) == -1)
		return chan_fail(ch, PROTO_RESOURCE_ERROR,
		    PROTO_EXCHANGE_DECLARE, "out of memory");
ok:
	if (!m->no_wait)
		conn_send_method(ch->c, ch->id, &ok);
	return 0;
}

static int
exchange_delete(struct chan *ch, const struct proto_exchange_delete *m)
{
	struct proto_method ok = { .id = PROTO_EXCHANGE_DELETE_OK };
	struct exchange *ex;

	int rc;

	if (m->exchange.len == 0)
		return default_refused(ch, PROTO_EXCHANGE_DELETE);
	if ((rc = chan_check_access(ch, PERM_CONFIGURE, "exchange",
	    m->exchange, PROTO_EXCHANGE_DELETE)) != 0)
		return rc;
	/* compat: deleting a missing exchange succeeds, as in RabbitMQ. */
	if ((ex = vhost_exchange(ch->c->vh, m->exchange)) != NULL) {
		if (ex->builtin)
			return chan_fail(ch, PROTO_ACCESS_REFUSED,
			    PROTO_EXCHANGE_DELETE, "exchange '%s' in vhost '%s' "
			    "is a system exchange and cannot be deleted",
			    ex->name, ch->c->vh->name);
		if (m->if_unused && ex->nbindings > 0)
			return chan_fail(ch, PROTO_PRECONDITION_FAILED,
			    PROTO_EXCHANGE_DELETE,
			    "exchange '%s' in vhost '%s' in use", ex->name,
			    ch->c->vh->name);
		vhost_delete_exchange(ch->c->vh, ex);
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
	struct exchange *src, *dst;
	struct binding *bd;
	int rc;

	if (dst_name.len == 0 || src_name.len == 0)
		return default_refused(ch, id);
	/* compat: write on the destination, read on the source. */
	if ((rc = chan_check_access(ch, PERM_WRITE, "exchange", dst_name,
	    id)) != 0 || (rc = chan_check_access(ch, PERM_READ, "exchange",
	    src_name, id)) != 0)
		return rc;
	if ((dst = vhost_exchange(ch->c->vh, dst_name)) == NULL)
		return not_found(ch, dst_name, id);
	if ((src = vhost_exchange(ch->c->vh, src_name)) == NULL)
		return not_found(ch, src_name, id);
	if ((rc = chan_check_topic(ch, src, PERM_READ, key, id)) != 0 ||
	    (rc = chan_check_binding_args(ch, src, args, id)) != 0)
		return rc;
	bd = exchange_find_binding(src, NULL, dst, key, args);
	if (bind && vhost_bind(ch->c->vh, src, NULL, dst, key, args) == -1)
		return chan_fail(ch, PROTO_RESOURCE_ERROR, id, "out of memory");
	if (!bind && bd != NULL) {
		persist_binding(bd, false);
		exchange_unbind(bd);
		vhost_exchange_maybe_autodelete(ch->c->vh, src);
	}
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
