/*
 * Declares, binds and deletes with RabbitMQ's checks, for every caller: AMQP
 * methods (chan_queue.c, chan_exchange.c), definitions files (import.c)
 * and the admin API. Each check answers RabbitMQ's reply code and text.
 */
#include "autoconf.h"

#include "server/vhost.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "protocol/spec.h"
#include "protocol/table.h"
#include "protocol/utf8.h"
#include "server/auth.h"
#include "server/auth_perm.h"
#include "server/broker.h"
#include "server/conn.h"
#include "server/exchange.h"
#include "server/persist.h"
#include "server/queue.h"
#include "server/queue_args.h"
#include "server/route_headers.h"

/* compat: the arguments RabbitMQ 3.10 compares when a queue is redeclared. */
static const char *const queue_equiv_keys[] = {
	"x-expires", "x-message-ttl", "x-dead-letter-exchange",
	"x-dead-letter-routing-key", "x-max-length", "x-max-length-bytes",
	"x-max-in-memory-length", "x-max-in-memory-bytes", "x-max-priority",
	"x-overflow", "x-queue-mode", "x-queue-type", "x-single-active-consumer",
	"x-queue-master-locator", "x-delivery-limit", NULL,
};

/* compat: the arguments RabbitMQ compares when an exchange is redeclared. */
static const char *const exchange_equiv_keys[] = {
	"alternate-exchange", NULL,
};

static int refuse(struct vhost_reply *r, uint16_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(struct vhost_reply *r, uint16_t code, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	return code;
}

static int
done(struct vhost_reply *r, bool created)
{
	r->code = 0;
	r->created = created;
	r->text[0] = '\0';
	return 0;
}

bool
vhost_name_reserved(struct proto_str name)
{
	return name.len >= 4 && memcmp(name.p, "amq.", 4) == 0;
}

/*
 * spec: names are short strings, so at most 255 bytes of UTF-8. AMQP's
 * decoder has checked both already; a definitions file or the admin API
 * has not necessarily.
 */
static int
check_name(const char *what, struct proto_str name, struct vhost_reply *r)
{
	if (name.len > 255)
		return refuse(r, PROTO_PRECONDITION_FAILED, "%s name '%.*s...' "
		    "is longer than 255 bytes", what, 64, (const char *)name.p);
	if (!proto_utf8_valid(name.p, name.len))
		return refuse(r, PROTO_PRECONDITION_FAILED, "%s name is not "
		    "valid UTF-8", what);
	return 0;
}

/* The rights an argument implies; a NULL user is trusted. */
static int
check_access(struct vhost *vh, const char *user, enum perm_kind kind,
    const char *what, struct proto_str name, struct vhost_reply *r)
{
	if (user == NULL || auth_can(auth_user(vh->b, user, strlen(user)),
	    vh->name, kind, name))
		return 0;
	if (name.len == 0)
		name = proto_str_c("amq.default");
	return refuse(r, PROTO_ACCESS_REFUSED, "access to %s '%.*s' in vhost "
	    "'%s' refused for user '%s'", what, PSTR(name), vh->name, user);
}

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

static int
check_args(struct vhost *vh, const char *what, const char *name,
    struct proto_table got, struct proto_table cur, const char *const *keys,
    struct vhost_reply *r)
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
		return refuse(r, PROTO_PRECONDITION_FAILED, "inequivalent arg "
		    "'%s' for %s '%s' in vhost '%s': received %s but current "
		    "is %s", keys[i], what, name, vh->name, ra, rb);
	}
	return 0;
}

static int
check_flag(struct vhost *vh, const char *arg, const char *what,
    const char *name, bool got, bool cur, struct vhost_reply *r)
{
	if (got == cur)
		return 0;
	return refuse(r, PROTO_PRECONDITION_FAILED, "inequivalent arg '%s' for "
	    "%s '%s' in vhost '%s': received '%s' but current is '%s'", arg,
	    what, name, vh->name, got ? "true" : "false",
	    cur ? "true" : "false");
}

static int
locked(const struct queue *q, struct vhost_reply *r)
{
	return refuse(r, PROTO_RESOURCE_LOCKED, "cannot obtain exclusive "
	    "access to locked queue '%s' in vhost '%s'. It could be originally "
	    "declared on another connection or the exclusive property value "
	    "does not match that of the original declaration.", q->name,
	    q->vh->name);
}

int
vhost_queue_check_owner(const struct queue *q, const struct conn *owner,
    struct vhost_reply *r)
{
	return q->exclusive && q->owner != owner ? locked(q, r) : 0;
}

/* A redeclare: the same properties and arguments, RabbitMQ's order. */
static int
check_queue_equivalence(struct vhost *vh, struct queue *q,
    const struct vhost_queue_decl *d, struct vhost_reply *r)
{
	int rc;

	if ((rc = vhost_queue_check_owner(q, d->owner, r)) != 0 ||
	    (rc = check_flag(vh, "durable", "queue", q->name, d->durable,
	    q->durable, r)) != 0 ||
	    (rc = check_flag(vh, "auto_delete", "queue", q->name,
	    d->auto_delete, q->auto_delete, r)) != 0)
		return rc;
	/* compat: an exclusive mismatch is 405, not 406, as in RabbitMQ. */
	if (d->exclusive != q->exclusive)
		return locked(q, r);
	return check_args(vh, "queue", q->name, d->args,
	    (struct proto_table){ q->args, q->args_len }, queue_equiv_keys, r);
}

/*
 * The arguments of a new queue (compat: RabbitMQ checks those of an
 * existing one only for equivalence): a dead-letter exchange needs read
 * on the queue and write on the exchange, then every x-* argument is
 * checked as RabbitMQ does, then what the queue's type allows.
 */
static int
check_new_queue_args(struct vhost *vh, const struct vhost_queue_decl *d,
    struct vhost_reply *r)
{
	struct proto_table args = d->args;
	struct proto_str name = d->name;
	struct queue_args_refusal qr;
	struct proto_field f;
	const char *key;
	char why[128];
	int rc;

	if (proto_table_get(args, "x-dead-letter-exchange", &f)) {
		if (f.kind != PROTO_FIELD_LONGSTR)
			return refuse(r, PROTO_PRECONDITION_FAILED, "invalid "
			    "type '%s' for arg 'x-dead-letter-exchange' in "
			    "queue '%.*s' in vhost '%s'",
			    proto_field_kind_name(f.kind), PSTR(name),
			    vh->name);
		if ((rc = check_access(vh, d->user, PERM_READ, "queue", name,
		    r)) != 0 || (rc = check_access(vh, d->user, PERM_WRITE,
		    "exchange", f.v.str, r)) != 0)
			return rc;
	}
	if (queue_args_check(args, &key, why, sizeof(why)) == -1)
		return refuse(r, PROTO_PRECONDITION_FAILED, "invalid arg '%s' "
		    "for queue '%.*s' in vhost '%s': %s", key, PSTR(name),
		    vh->name, why);
	if (queue_args_check_type(args, d->durable, d->exclusive,
	    d->auto_delete, &qr) == -1) {
		if (qr.arg != NULL)
			return refuse(r, PROTO_PRECONDITION_FAILED, "invalid "
			    "arg '%s' for queue '%.*s' in vhost '%s' of queue "
			    "type %s", qr.arg, PSTR(name), vh->name,
			    queue_type_name(queue_args_type(args)));
		return refuse(r, PROTO_PRECONDITION_FAILED, "invalid property "
		    "'%s' for queue '%.*s' in vhost '%s'", qr.property,
		    PSTR(name), vh->name);
	}
	return 0;
}

int
vhost_declare_queue(struct vhost *vh, const struct vhost_queue_decl *d,
    struct queue **out, struct vhost_reply *r)
{
	struct proto_str name = d->name;
	struct queue *q;
	int rc;

	/* AMQP's handler checked this first, before reply-to and rights. */
	if (d->args.len && !proto_table_validate(d->args))
		return refuse(r, PROTO_SYNTAX_ERROR, "malformed arguments table");
	if ((q = vhost_queue(vh, name)) != NULL) {
		if (!d->keep_existing &&
		    (rc = check_queue_equivalence(vh, q, d, r)) != 0)
			return rc;
		*out = q;
		vh->b->churn.queue_declared++;
		return done(r, false);
	}
	if ((rc = check_name("queue", name, r)) != 0)
		return rc;
	if (!d->server_named && vhost_name_reserved(name))
		return refuse(r, PROTO_ACCESS_REFUSED, "queue name '%.*s' "
		    "contains reserved prefix 'amq.*'", PSTR(name));
	if ((rc = check_new_queue_args(vh, d, r)) != 0)
		return rc;
	/*
	 * compat: RabbitMQ's per-vhost max-queues limit and wording. A
	 * definitions file meets it too: RabbitMQ 3.10 aborts an import that
	 * would exceed it (checked up front, against the limits then in
	 * force); warren applies the file's own limits first, then refuses
	 * the first queue over, which aborts the import all the same.
	 */
	if (vh->max_queues >= 0 && vh->queues.count >= (size_t)vh->max_queues)
		return refuse(r, PROTO_PRECONDITION_FAILED, "cannot declare "
		    "queue '%.*s': queue limit in vhost '%s' (%lld) is reached",
		    PSTR(name), vh->name, (long long)vh->max_queues);
	q = vhost_create_queue(vh, name, d->durable, d->exclusive,
	    d->auto_delete, d->args);
	if (d->exclusive)
		q->owner = d->owner;
	*out = q;
	vh->b->churn.queue_declared++;
	vh->b->churn.queue_created++;
	return done(r, true);
}

/* A redeclare: the same type, properties and arguments, RabbitMQ's order. */
static int
check_exchange_equivalence(struct vhost *vh, struct exchange *ex,
    const struct vhost_exchange_decl *d, enum exchange_kind kind,
    struct vhost_reply *r)
{
	int rc;

	if (kind != ex->kind)
		return refuse(r, PROTO_PRECONDITION_FAILED, "inequivalent arg "
		    "'type' for exchange '%s' in vhost '%s': received '%s' but "
		    "current is '%s'", ex->name, vh->name,
		    exchange_kind_name(kind), exchange_kind_name(ex->kind));
	if ((rc = check_flag(vh, "durable", "exchange", ex->name, d->durable,
	    ex->durable, r)) != 0 ||
	    (rc = check_flag(vh, "auto_delete", "exchange", ex->name,
	    d->auto_delete, ex->auto_delete, r)) != 0 ||
	    (rc = check_flag(vh, "internal", "exchange", ex->name,
	    d->internal, ex->internal, r)) != 0)
		return rc;
	return check_args(vh, "exchange", ex->name, d->args,
	    (struct proto_table){ ex->args, ex->args_len },
	    exchange_equiv_keys, r);
}

/*
 * compat: a new exchange's alternate exchange must be a longstr, and
 * needs read on the exchange and write on the alternate, as in
 * rabbit_channel's exchange.declare.
 */
static int
check_alternate(struct vhost *vh, const struct vhost_exchange_decl *d,
    struct vhost_reply *r)
{
	struct proto_field f;
	int rc;

	if (!proto_table_get(d->args, "alternate-exchange", &f))
		return 0;
	if (f.kind != PROTO_FIELD_LONGSTR)
		return refuse(r, PROTO_PRECONDITION_FAILED, "invalid type '%s' "
		    "for arg 'alternate-exchange' in exchange '%.*s' in vhost "
		    "'%s'", proto_field_kind_name(f.kind), PSTR(d->name),
		    vh->name);
	if ((rc = check_access(vh, d->user, PERM_READ, "exchange", d->name,
	    r)) != 0)
		return rc;
	return check_access(vh, d->user, PERM_WRITE, "exchange", f.v.str, r);
}

int
vhost_declare_exchange(struct vhost *vh, const struct vhost_exchange_decl *d,
    struct exchange **out, struct vhost_reply *r)
{
	enum exchange_kind kind;
	struct exchange *ex;
	int rc;

	ex = vhost_exchange(vh, d->name);
	if (ex != NULL && d->keep_existing) {
		*out = ex;
		return done(r, false);
	}
	if (d->name.len == 0)
		return refuse(r, PROTO_ACCESS_REFUSED, "operation not permitted "
		    "on the default exchange");
	if (exchange_kind_parse(d->type, &kind) == -1)
		return refuse(r, PROTO_COMMAND_INVALID, "invalid exchange type "
		    "'%.*s'", PSTR(d->type));
	if (d->args.len && !proto_table_validate(d->args))
		return refuse(r, PROTO_SYNTAX_ERROR, "malformed arguments table");
	if (ex != NULL) {
		if ((rc = check_exchange_equivalence(vh, ex, d, kind, r)) != 0)
			return rc;
		*out = ex;
		return done(r, false);
	}
	if ((rc = check_name("exchange", d->name, r)) != 0)
		return rc;
	if (vhost_name_reserved(d->name))
		return refuse(r, PROTO_ACCESS_REFUSED, "exchange name '%.*s' "
		    "contains reserved prefix 'amq.*'", PSTR(d->name));
	if ((rc = check_alternate(vh, d, r)) != 0)
		return rc;
	*out = vhost_create_exchange(vh, d->name, kind, d->durable,
	    d->auto_delete, d->internal, d->args);
	return done(r, true);
}

int
vhost_remove_queue(struct vhost *vh, const struct vhost_queue_delete *d,
    uint32_t *count, struct vhost_reply *r)
{
	struct queue *q = d->q;
	int rc;

	if ((rc = vhost_queue_check_owner(q, d->owner, r)) != 0)
		return rc;
	if (d->if_unused && q->nconsumers > 0)
		return refuse(r, PROTO_PRECONDITION_FAILED, "queue '%s' in "
		    "vhost '%s' in use", q->name, vh->name);
	if (d->if_empty && queue_ready(q) > 0)
		return refuse(r, PROTO_PRECONDITION_FAILED, "queue '%s' in "
		    "vhost '%s' not empty", q->name, vh->name);
	*count = vhost_delete_queue(vh, q);
	return done(r, false);
}

int
vhost_remove_exchange(struct vhost *vh, struct exchange *ex, bool if_unused,
    struct vhost_reply *r)
{
	if (ex->builtin)
		return refuse(r, PROTO_ACCESS_REFUSED, "deletion of system "
		    "exchange '%s' in vhost '%s' not allowed", ex->name,
		    vh->name);
	if (if_unused && ex->nbindings > 0)
		return refuse(r, PROTO_PRECONDITION_FAILED, "exchange '%s' in "
		    "vhost '%s' in use", ex->name, vh->name);
	vhost_delete_exchange(vh, ex);
	return done(r, false);
}

int
vhost_check_binding_args(const struct exchange *src, struct proto_table args,
    struct vhost_reply *r)
{
	struct proto_field f = { 0 };

	if (args.len && !proto_table_validate(args))
		return refuse(r, PROTO_SYNTAX_ERROR, "malformed arguments table");
	if (src->kind != EXCHANGE_HEADERS || headers_check_args(args) == 0)
		return 0;
	/* compat: RabbitMQ's two wordings, for a bad type and a bad value. */
	if (!proto_table_get(args, "x-match", &f) ||
	    f.kind != PROTO_FIELD_LONGSTR)
		return refuse(r, PROTO_PRECONDITION_FAILED, "Invalid x-match "
		    "field type %s; expected longstr",
		    proto_field_kind_name(f.kind));
	return refuse(r, PROTO_PRECONDITION_FAILED, "Invalid x-match field "
	    "value <<\"%.*s\">>; expected all, any, all-with-x, or any-with-x",
	    PSTR(f.v.str));
}

/* Words in a topic key: dots + 1, none in the empty key (route_topic.h). */
static size_t
key_words(struct proto_str key)
{
	size_t n = key.len > 0;

	for (size_t i = 0; i < key.len; i++)
		n += key.p[i] == '.';
	return n;
}

/*
 * The caps that keep binding tables, and the work of routing through
 * them, bounded (RELIABILITY.md §3.1 "Pathological routing"); a binding
 * that exists already passes, since binding twice adds nothing.
 *
 * compat: RabbitMQ 3.10 has none of these caps: it takes any number of
 * bindings and any topic key of up to 255 bytes.
 */
static int
check_binding_limits(struct vhost *vh, const struct vhost_binding *bd,
    struct vhost_reply *r)
{
	const struct config *cfg = &vh->b->cfg;
	size_t words;

	if (bd->src->kind == EXCHANGE_TOPIC && cfg->topic_key_max_words != 0 &&
	    (words = key_words(bd->key)) > cfg->topic_key_max_words)
		return refuse(r, PROTO_PRECONDITION_FAILED, "binding key has %zu "
		    "words, more than the maximum (%" PRIu64 ") for a topic "
		    "exchange", words, cfg->topic_key_max_words);
	if (exchange_find_binding(bd->src, bd->q, bd->dst, bd->key,
	    bd->args) != NULL)
		return 0;
	if (cfg->binding_max_per_exchange != 0 &&
	    bd->src->nbindings >= cfg->binding_max_per_exchange)
		return refuse(r, PROTO_PRECONDITION_FAILED, "reached maximum "
		    "(%" PRIu64 ") of bindings from exchange '%s' in vhost '%s'",
		    cfg->binding_max_per_exchange, bd->src->name, vh->name);
	if (bd->q != NULL && cfg->binding_max_per_queue != 0 &&
	    bd->q->nbindings >= cfg->binding_max_per_queue)
		return refuse(r, PROTO_PRECONDITION_FAILED, "reached maximum "
		    "(%" PRIu64 ") of bindings to queue '%s' in vhost '%s'",
		    cfg->binding_max_per_queue, bd->q->name, vh->name);
	return 0;
}

int
vhost_bind(struct vhost *vh, const struct vhost_binding *bd,
    struct vhost_reply *r)
{
	int rc;

	/* spec: the default exchange's bindings are implicit and fixed. */
	if (bd->src->name_len == 0 || (bd->dst != NULL &&
	    bd->dst->name_len == 0))
		return refuse(r, PROTO_ACCESS_REFUSED, "operation not permitted "
		    "on the default exchange");
	if ((rc = vhost_check_binding_args(bd->src, bd->args, r)) != 0)
		return rc;
	if ((rc = check_binding_limits(vh, bd, r)) != 0)
		return rc;
	if (vhost_add_binding(vh, bd) == -1)
		return refuse(r, PROTO_RESOURCE_ERROR, "out of memory");
	return done(r, false);
}

void
vhost_unbind(struct vhost *vh, const struct vhost_binding *bd)
{
	struct binding *b;

	b = exchange_find_binding(bd->src, bd->q, bd->dst, bd->key, bd->args);
	if (b == NULL)
		return;
	persist_binding(b, false);
	exchange_unbind(b);
	vhost_exchange_maybe_autodelete(vh, bd->src);
}

int
vhost_binding_ends(struct vhost *vh, struct proto_str source,
    bool dest_is_queue, struct proto_str dest, struct vhost_binding *bd)
{
	bd->q = NULL;
	bd->dst = NULL;
	if ((bd->src = vhost_exchange(vh, source)) == NULL)
		return -1;
	if (dest_is_queue)
		return (bd->q = vhost_queue(vh, dest)) != NULL ? 0 : -1;
	return (bd->dst = vhost_exchange(vh, dest)) != NULL ? 0 : -1;
}
