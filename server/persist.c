#include "autoconf.h"

#include "server/persist.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "server/auth.h"
#include "server/auth_password.h"
#include "server/broker.h"
#include "server/exchange.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "server/msg.h"
#include "server/node.h"
#include "server/policy.h"
#include "server/queue.h"
#include "server/vhost.h"
#include "storage/store.h"

static struct store_blob
blob(const void *p, size_t len)
{
	return (struct store_blob){ p, len };
}

/* A C string as a blob; NULL is the empty string. */
static struct store_blob
cblob(const char *s)
{
	return blob(s, s != NULL ? strlen(s) : 0);
}

static struct store *
store_of(const struct vhost *vh)
{
	return vh != NULL ? vh->b->store : NULL;
}

/* Definitions to write: none while they are read back at start. */
static struct store *
defs_store_of(const struct vhost *vh)
{
	struct store *st = store_of(vh);

	return st != NULL && !vh->b->recovering ? st : NULL;
}

/* Definitions of b to write: none without a store or while recovering. */
static struct store *
defs_store(const struct broker *b)
{
	return b->store != NULL && !b->recovering ? b->store : NULL;
}

/* ---- vhosts, users and permissions -------------------------------------- */

void
persist_vhost(struct broker *b, const char *name)
{
	struct store *st = defs_store(b);

	if (st != NULL)
		store_put_vhost(st, cblob(name));
}

void
persist_vhost_deleted(struct broker *b, const char *name)
{
	struct store *st = defs_store(b);

	if (st != NULL)
		store_del_vhost(st, cblob(name));
}

void
persist_vhost_meta(const struct vhost *vh)
{
	struct store *st = defs_store(vh->b);

	if (st != NULL)
		store_put_vhost_meta(st, cblob(vh->name),
		    cblob(vh->description), cblob(vh->tags));
}

void
persist_vhost_limits(const struct vhost *vh)
{
	struct store *st = defs_store(vh->b);

	if (st != NULL)
		store_put_vhost_limits(st, cblob(vh->name),
		    vh->max_connections, vh->max_queues);
}

void
persist_policy(const struct vhost *vh, unsigned kind, const struct policy *p)
{
	struct store *st = defs_store(vh->b);
	struct json_writer w;
	struct buf out;

	if (st == NULL)
		return;
	/* The document is bounded by the admin API's body limit. */
	buf_init(&out, 1u << 20);
	json_writer_init(&w, &out);
	policy_write_doc(&w, p);
	if (json_writer_done(&w) == 0)
		store_put_policy(st, kind, cblob(vh->name), cblob(p->name),
		    (struct store_blob){ buf_head(&out), buf_used(&out) });
	else
		log_warnx("store: policy '%s' too large to store", p->name);
	buf_free(&out);
}

void
persist_policy_deleted(const struct vhost *vh, unsigned kind,
    const char *name)
{
	struct store *st = defs_store(vh->b);

	if (st != NULL)
		store_del_policy(st, kind, cblob(vh->name), cblob(name));
}

void
persist_user_limits(struct broker *b, const struct user *u)
{
	struct store *st = defs_store(b);

	if (st != NULL)
		store_put_user_limits(st, cblob(u->name), u->max_connections,
		    u->max_channels);
}

void
persist_user(struct broker *b, const struct user *u)
{
	struct store *st = defs_store(b);

	if (st != NULL)
		store_put_user(st, cblob(u->name), cblob(u->hash),
		    cblob(password_algo_name((enum password_algo)u->algo)),
		    cblob(u->tags));
}

void
persist_user_deleted(struct broker *b, const char *name)
{
	struct store *st = defs_store(b);

	if (st != NULL)
		store_del_user(st, cblob(name));
}

void
persist_permission(struct broker *b, const char *user, const char *vhost,
    const char *configure, const char *write, const char *read)
{
	struct store *st = defs_store(b);

	if (st != NULL)
		store_put_permission(st, cblob(user), cblob(vhost),
		    cblob(configure), cblob(write), cblob(read));
}

void
persist_permission_deleted(struct broker *b, const char *user,
    const char *vhost)
{
	struct store *st = defs_store(b);

	if (st != NULL)
		store_del_permission(st, cblob(user), cblob(vhost));
}

void
persist_topic_permission(struct broker *b, const char *user,
    const char *vhost, const char *exchange, const char *write,
    const char *read)
{
	struct store *st = defs_store(b);

	if (st != NULL)
		store_put_topic_permission(st, cblob(user), cblob(vhost),
		    cblob(exchange), cblob(write), cblob(read));
}

void
persist_topic_permission_deleted(struct broker *b, const char *user,
    const char *vhost, const char *exchange)
{
	struct store *st = defs_store(b);

	if (st != NULL)
		store_del_topic_permission(st, cblob(user), cblob(vhost),
		    cblob(exchange));
}

/* ---- exchanges, queues, bindings and messages --------------------------- */

void
persist_queue(struct queue *q)
{
	struct store *st = defs_store_of(q->vh);
	unsigned flags = STORE_QUEUE_DURABLE;

	if (st == NULL || !q->durable || q->exclusive)
		return;
	if (q->auto_delete)
		flags |= STORE_QUEUE_AUTO_DELETE;
	q->store_id = store_put_queue(st, cblob(q->vh->name),
	    blob(q->name, q->name_len), flags, blob(q->args, q->args_len));
}

void
persist_queue_deleted(struct queue *q)
{
	struct store *st = store_of(q->vh);

	if (st != NULL && q->store_id != 0)
		store_del_queue(st, q->store_id);
}

void
persist_exchange(struct exchange *ex)
{
	struct store *st = defs_store_of(ex->vh);
	unsigned flags = STORE_EXCHANGE_DURABLE;

	if (st == NULL || !ex->durable || ex->builtin)
		return;
	if (ex->auto_delete)
		flags |= STORE_EXCHANGE_AUTO_DELETE;
	if (ex->internal)
		flags |= STORE_EXCHANGE_INTERNAL;
	store_put_exchange(st, cblob(ex->vh->name), blob(ex->name,
	    ex->name_len), cblob(exchange_kind_name(ex->kind)), flags,
	    blob(ex->args, ex->args_len));
}

void
persist_exchange_deleted(struct exchange *ex)
{
	struct store *st = store_of(ex->vh);

	if (st != NULL && ex->durable && !ex->builtin)
		store_del_exchange(st, cblob(ex->vh->name),
		    blob(ex->name, ex->name_len));
}

void
persist_binding(struct binding *bd, bool add)
{
	struct store *st = defs_store_of(bd->src->vh);
	struct store_blob dest;

	/* compat: a binding is durable when both its ends are. */
	if (st == NULL || !bd->src->durable ||
	    (bd->q != NULL && bd->q->store_id == 0) ||
	    (bd->dst != NULL && !bd->dst->durable))
		return;
	dest = bd->q != NULL ? blob(bd->q->name, bd->q->name_len) :
	    blob(bd->dst->name, bd->dst->name_len);
	(add ? store_put_binding : store_del_binding)(st,
	    cblob(bd->src->vh->name), blob(bd->src->name, bd->src->name_len),
	    bd->q != NULL, dest, blob(bd->key, bd->key_len),
	    blob(bd->args, bd->args_len));
}

bool
persist_wants(const struct queue *q, const struct msg *m)
{
	return m->delivery_mode == 2 && q->store_id != 0;
}

uint64_t
persist_message(struct broker *b, struct msg *m, uint32_t n)
{
	/* The store holds a reference until the commit has written it. */
	m->store_id = store_put_message(b->store, blob(m->exchange,
	    m->exchange_len), blob(m->rk, m->rk_len), blob(m->props,
	    m->props_len), blob(m->body, (size_t)m->body_len),
	    blob(m->bcc, m->bcc_len), n, msg_ref(m));
	if (m->store_id != 0)
		b->stats.msg.v[STAT_DISK_WRITES]++;
	return m->store_id;
}

unsigned
persist_entry_flags(uint32_t n)
{
	return n > 1 ? STORE_ENTRY_SHARED : 0;
}

void
persist_entry(struct queue *q, const struct qentry *e)
{
	struct store *st;

	if (e->msg_id == 0 || (st = store_of(q->vh)) == NULL)
		return;
	if (q->store_id != 0)
		store_put_entry(st, q->store_id, e->seq, e->msg_id,
		    e->deliveries, e->flags, e->expires_at, e->priority);
}

void
persist_delivered(struct queue *q, const struct qentry *e)
{
	struct store *st;

	if (e->msg_id == 0 || (st = store_of(q->vh)) == NULL)
		return;
	if (q->store_id != 0 && !q->deleted)
		store_entry_delivered(st, q->store_id, e->seq);
}

void
persist_entry_gone(struct queue *q, const struct qentry *e)
{
	struct store *st;

	if (e->msg_id == 0 || (st = store_of(q->vh)) == NULL)
		return;
	/* A deleted queue's rows went with store_del_queue(). */
	if (q->store_id != 0 && !q->deleted)
		store_del_entry(st, q->store_id, e->seq, e->msg_id, e->flags);
}

bool
persist_load(struct queue *q, struct qentry *e)
{
	struct store *st = store_of(q->vh);
	struct store_message sm;
	struct msg *m;

	if (st == NULL || e->msg_id == 0)
		return false;
	if ((m = store_pending_owner(st, e->msg_id)) != NULL) {
		e->m = msg_ref(m);
		return true;
	}
	if (store_load_message(st, e->msg_id, &sm) != 0) {
		log_warnx("queue '%s': message %llu lost from the store: %s",
		    q->name, (unsigned long long)e->msg_id, store_errmsg(st));
		return false;
	}
	/* The BCC keys too: they still route its dead letters. */
	m = msg_new_bcc((struct proto_str){ sm.exchange.p, sm.exchange.len },
	    (struct proto_str){ sm.routing_key.p, sm.routing_key.len },
	    (struct proto_str){ sm.props.p, sm.props.len },
	    (struct proto_table){ sm.bcc.p, sm.bcc.len }, sm.body.len);
	if (m == NULL || !msg_append(m, sm.body.p, sm.body.len) ||
	    msg_decode_props(m, NULL) != 0) {
		log_warnx("queue '%s': cannot load message %llu", q->name,
		    (unsigned long long)e->msg_id);
		msg_unref(m);
		return false;
	}
	m->store_id = e->msg_id;
	e->m = m;
	q->vh->b->stats.msg.v[STAT_DISK_READS]++;
	return true;
}

/* ---- recovery ---------------------------------------------------------- */

struct recovery {
	struct broker	*b;
	struct hmap	 queues;	/* store id -> queue */
	uint64_t	 entries;
	uint64_t	 nqueues;
};

static struct vhost *
vhost_of(struct recovery *r, struct store_blob name)
{
	return broker_vhost(r->b, name.p, name.len);
}

static void
on_vhost(void *arg, struct store_blob name)
{
	struct recovery *r = arg;
	char *s;

	s = xstrndup(name.p, name.len);
	vhost_create(r->b, s);
	free(s);
}

/* A NUL-terminated copy of a blob, for the auth functions. */
static char *
cstr(struct store_blob b)
{
	return xstrndup(b.p ? b.p : "", b.len);
}

static void
on_vhost_meta(void *arg, struct store_blob name, struct store_blob description,
    struct store_blob tags)
{
	struct recovery *r = arg;
	struct vhost *vh = vhost_of(r, name);
	char *d = cstr(description), *t = cstr(tags);

	if (vh != NULL)
		vhost_set_meta(vh, d, t);
	free(d);
	free(t);
}

static void
on_vhost_limits(void *arg, struct store_blob name, int64_t max_connections,
    int64_t max_queues)
{
	struct recovery *r = arg;
	struct vhost *vh = vhost_of(r, name);

	if (vh != NULL)
		vhost_set_limits(vh, max_connections, max_queues);
}

static void
on_policy(void *arg, unsigned kind, struct store_blob vhost,
    struct store_blob name, struct store_blob value)
{
	struct recovery *r = arg;
	struct vhost *vh = vhost_of(r, vhost);
	char why[512], *n = cstr(name);
	struct policy *p = NULL;
	struct json *doc;

	if (vh != NULL && kind < POLICY_NKINDS &&
	    (doc = json_parse(value.p, value.len, why, sizeof(why))) != NULL) {
		p = policy_parse(doc, (enum policy_kind)kind, n, why,
		    sizeof(why));
		json_free(doc);
	}
	if (p != NULL)
		policy_put(vh, (enum policy_kind)kind, p, NULL);
	else
		log_warnx("store: policy '%s' not recovered", n);
	free(n);
}

static void
on_user_limits(void *arg, struct store_blob name, int64_t max_connections,
    int64_t max_channels)
{
	struct recovery *r = arg;
	struct user *u = auth_user(r->b, name.p, name.len);

	if (u != NULL) {
		u->max_connections = max_connections;
		u->max_channels = max_channels;
	}
}

static void
on_user(void *arg, struct store_blob name, struct store_blob hash,
    struct store_blob algorithm, struct store_blob tags)
{
	struct recovery *r = arg;
	char *n = cstr(name), *h = cstr(hash), *a = cstr(algorithm);
	char *t = cstr(tags), err[256];

	if (auth_user_put(r->b, n, h, a, t, err, sizeof(err)) == -1)
		log_warnx("store: user skipped: %s", err);
	free(n);
	free(h);
	free(a);
	free(t);
}

static void
on_permission(void *arg, struct store_blob user, struct store_blob vhost,
    struct store_blob configure, struct store_blob write,
    struct store_blob read)
{
	struct recovery *r = arg;
	char *u = cstr(user), *v = cstr(vhost), *c = cstr(configure);
	char *w = cstr(write), *rd = cstr(read), err[256];

	if (auth_permission_set(r->b, u, v, c, w, rd, err, sizeof(err)) == -1)
		log_warnx("store: permission skipped: %s", err);
	free(u);
	free(v);
	free(c);
	free(w);
	free(rd);
}

static void
on_topic_permission(void *arg, struct store_blob user,
    struct store_blob vhost, struct store_blob exchange,
    struct store_blob write, struct store_blob read)
{
	struct recovery *r = arg;
	char *u = cstr(user), *v = cstr(vhost), *x = cstr(exchange);
	char *w = cstr(write), *rd = cstr(read), err[256];

	if (auth_topic_permission_set(r->b, u, v, x, w, rd, err,
	    sizeof(err)) == -1)
		log_warnx("store: topic permission skipped: %s", err);
	free(u);
	free(v);
	free(x);
	free(w);
	free(rd);
}

static void
on_exchange(void *arg, struct store_blob vhost, struct store_blob name,
    struct store_blob type, unsigned flags, struct store_blob args)
{
	struct recovery *r = arg;
	struct vhost *vh = vhost_of(r, vhost);
	enum exchange_kind kind;
	struct proto_str n = { name.p, name.len };

	if (vh == NULL || vhost_exchange(vh, n) != NULL)
		return;
	if (exchange_kind_parse((struct proto_str){ type.p, type.len },
	    &kind) == -1) {
		log_warnx("store: exchange '%.*s' has unknown type '%.*s'; "
		    "skipped", PSTR(n), (int)type.len, (const char *)type.p);
		return;
	}
	/* The path declares end in; persist.c writes nothing back. */
	vhost_create_exchange(vh, n, kind, true,
	    (flags & STORE_EXCHANGE_AUTO_DELETE) != 0,
	    (flags & STORE_EXCHANGE_INTERNAL) != 0,
	    (struct proto_table){ args.p, args.len });
}

static void
on_queue(void *arg, uint64_t id, struct store_blob vhost,
    struct store_blob name, unsigned flags, struct store_blob args)
{
	struct recovery *r = arg;
	struct vhost *vh = vhost_of(r, vhost);
	struct queue *q;

	if (vh == NULL)
		return;
	q = vhost_create_queue(vh, (struct proto_str){ name.p, name.len },
	    true, false, (flags & STORE_QUEUE_AUTO_DELETE) != 0,
	    (struct proto_table){ args.p, args.len });
	q->store_id = id;
	hmap_put(&r->queues, &q->store_id, sizeof(q->store_id), q);
	r->nqueues++;
}

static void
on_binding(void *arg, struct store_blob vhost, struct store_blob source,
    bool dest_is_queue, struct store_blob dest, struct store_blob key,
    struct store_blob args)
{
	struct recovery *r = arg;
	struct vhost *vh = vhost_of(r, vhost);
	struct vhost_binding bd = { .key = { key.p, key.len },
	    .args = { args.p, args.len } };

	if (vh == NULL || vhost_binding_ends(vh, (struct proto_str){ source.p,
	    source.len }, dest_is_queue, (struct proto_str){ dest.p,
	    dest.len }, &bd) == -1)
		return;
	/* Only a topic key over 255 bytes is refused; none is stored. */
	if (vhost_add_binding(vh, &bd) == -1)
		log_warnx("recovery: binding from '%.*s' skipped",
		    (int)source.len, (const char *)source.p);
}

static void
on_entry(void *arg, uint64_t queue_id, uint64_t seq, uint64_t msg_id,
    uint32_t delivery_count, unsigned flags, uint64_t expires_at,
    uint8_t priority, uint64_t body_len)
{
	struct recovery *r = arg;
	struct queue *q = hmap_get(&r->queues, &queue_id, sizeof(queue_id));
	struct qentry e = { .seq = seq, .msg_id = msg_id,
	    .deliveries = delivery_count, .flags = (uint16_t)flags,
	    .priority = priority, .expires_at = expires_at,
	    .body_len = (uint32_t)body_len };

	if (q == NULL)
		return;
	if (queue_restore(q, &e) == -1)
		fatalx("out of memory");
	r->entries++;
}

static void
on_cluster_name(void *arg, struct store_blob name)
{
	struct recovery *r = arg;

	node_set_cluster_name(r->b, name.p, name.len);
}

int
persist_recover(struct broker *b)
{
	static const struct store_recovery cb = {
		.vhost = on_vhost,
		.vhost_meta = on_vhost_meta,
		.vhost_limits = on_vhost_limits,
		.user = on_user,
		.permission = on_permission,
		.topic_permission = on_topic_permission,
		.user_limits = on_user_limits,
		.policy = on_policy,
		.exchange = on_exchange,
		.queue = on_queue,
		.binding = on_binding,
		.entry = on_entry,
		.cluster_name = on_cluster_name,
	};
	struct recovery r = { .b = b };
	int rc;

	hmap_init(&r.queues);
	b->recovering = true;	/* what comes from the store is not rewritten */
	rc = store_recover(b->store, &cb, &r);
	b->recovering = false;
	hmap_free(&r.queues);
	if (rc == 0)
		log_info("store: recovered %llu queues, %llu messages",
		    (unsigned long long)r.nqueues,
		    (unsigned long long)r.entries);
	return rc;
}
