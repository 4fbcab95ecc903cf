#include "autoconf.h"

#include "storage/store.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "storage/store_backend.h"

/*
 * The batch: every call of one loop turn appends an op, and nothing
 * touches the backend until store_commit() applies the ops in call order
 * in one transaction. Two small hash maps let a delete find the put it
 * cancels: an entry put and deleted in one batch is never written, and
 * a message whose entries all went that way is not written either.
 */

/* A queued write and what the batch knows of it. */
struct op {
	struct store_op	 w;		/* what the backend applies */
	bool		 dead;		/* cancelled: not written */
	void		*owner;		/* message puts: released after */
};

struct slot {
	uint64_t	 k1, k2;
	uint32_t	 op;		/* index into st->ops */
	uint32_t	 gen;		/* st->gen when set */
};

/* Open addressing; a slot whose gen is not the batch's is free. */
struct bmap {
	struct slot	*slots;
	size_t		 n, cap;	/* cap is 0 or a power of two */
};

/*
 * Copies of definition blobs, in chunks that never move, so that an op
 * holds plain pointers until the commit that writes it.
 */
struct chunk {
	struct chunk	*next;
	size_t		 len, cap;
	char		 data[];
};

struct store {
	const struct store_backend_ops *be_ops;
	void		*be;
	uint64_t	 next_queue_id;
	uint64_t	 next_msg_id;
	void		(*release)(void *owner);
	int		 inject;	/* commits left to fail on purpose */

	/* The batch: every array is grow-only and reset per commit. */
	struct op	*ops;
	size_t		 nops, opcap;
	size_t		 retained;	/* ops kept from a failed commit */
	struct chunk	*arena;		/* the first chunk, reused */
	/*
	 * The chunk being filled: the ones before it are full enough, so
	 * a batch of many definitions (a big import) is not quadratic.
	 */
	struct chunk	*arena_cur;
	struct bmap	 entries;	/* (queue, seq) -> pending put op */
	struct bmap	 msgs;		/* msg id -> pending put op */
	uint32_t	 gen;		/* slots of older batches are free */

	char		 errmsg[256];
};

/*
 * The batch is bookkeeping (lib/xmalloc.h): the void store_* calls cannot
 * report a failure, and a broker out of memory cannot keep its promises.
 */
static void *
grow(void *p, size_t *cap, size_t need, size_t size, size_t min)
{
	xvec_grow(&p, cap, need, size, min);
	return p;
}

static uint64_t
hash(uint64_t k1, uint64_t k2)
{
	uint64_t h = k1 * 0x9e3779b97f4a7c15ULL ^ k2 * 0xc2b2ae3d27d4eb4fULL;

	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return h;
}

static struct slot *
map_find(const struct store *st, const struct bmap *m, uint64_t k1,
    uint64_t k2)
{
	struct slot *s;
	size_t i;

	if (m->n == 0)
		return NULL;
	for (i = hash(k1, k2) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		s = &m->slots[i];
		if (s->gen != st->gen)
			return NULL;
		if (s->k1 == k1 && s->k2 == k2)
			return s;
	}
}

static void
map_set(struct store *st, struct bmap *m, uint64_t k1, uint64_t k2,
    uint32_t op)
{
	struct slot *old, *s;
	size_t oldcap, i;

	if ((m->n + 1) * 2 > m->cap) {
		/* Keep the load under a half; rehash this batch's slots. */
		old = m->slots;
		oldcap = m->cap;
		m->cap = oldcap != 0 ? oldcap * 2 : 256;
		m->slots = xcalloc(m->cap, sizeof(*s));
		m->n = 0;
		for (i = 0; i < oldcap; i++)
			if (old[i].gen == st->gen)
				map_set(st, m, old[i].k1, old[i].k2,
				    old[i].op);
		free(old);
	}
	for (i = hash(k1, k2) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		s = &m->slots[i];
		if (s->gen != st->gen) {
			m->n++;
			break;
		}
		if (s->k1 == k1 && s->k2 == k2)
			break;	/* put again: the newer op wins */
	}
	s->k1 = k1;
	s->k2 = k2;
	s->op = op;
	s->gen = st->gen;
}

static struct op *
op_new(struct store *st, enum store_op_kind kind)
{
	struct op *o;

	if (st->nops == st->opcap)
		st->ops = grow(st->ops, &st->opcap, st->nops + 1,
		    sizeof(*st->ops), 256);
	o = &st->ops[st->nops++];
	/* The caller sets every field of the kind; no other is read. */
	o->w.kind = kind;
	o->dead = false;
	o->owner = NULL;
	return o;
}

/* A copy of b that lives until the commit that writes it. */
static struct store_blob
copy(struct store *st, struct store_blob b)
{
	struct chunk *c = st->arena_cur != NULL ? st->arena_cur : st->arena, *n;
	struct store_blob out = { "", b.len };
	size_t cap;

	if (b.len == 0)
		return out;	/* arena is NULL if only empties came */
	while (c != NULL && c->cap - c->len < b.len && c->next != NULL)
		c = c->next;
	if (c == NULL || c->cap - c->len < b.len) {
		cap = b.len > 4096 ? b.len : 4096;
		if (cap > SIZE_MAX - sizeof(*n))
			abort();	/* a blob is far below that */
		n = xmalloc(sizeof(*n) + cap);
		n->next = NULL;
		n->len = 0;
		n->cap = cap;
		if (c == NULL)
			st->arena = n;
		else
			c->next = n;
		c = n;
		st->arena_cur = n;
	}
	memcpy(c->data + c->len, b.p, b.len);
	out.p = c->data + c->len;
	c->len += b.len;
	return out;
}

/*
 * Appends a definition op: its blob fields are copied (the caller's may
 * go as soon as it returns), the rest taken as they are.
 */
static struct op *
op_put(struct store *st, enum store_op_kind kind,
    const union store_value *v)
{
	struct op *o = op_new(st, kind);
	int n = store_op_nfields(kind);

	for (int i = 0; i < n; i++) {
		o->w.v[i] = v[i];
		if (store_op_desc[kind].field[i] == STORE_FIELD_BLOB)
			o->w.v[i].blob = copy(st, v[i].blob);
	}
	return o;
}

/* Empties the pending-put maps by moving to a new slot generation. */
static void
forget_puts(struct store *st)
{
	st->entries.n = 0;
	st->msgs.n = 0;
	if (++st->gen == 0) {
		/* Wrapped: slots of 2^32 batches ago would look live. */
		if (st->entries.slots != NULL)
			memset(st->entries.slots, 0,
			    st->entries.cap * sizeof(struct slot));
		if (st->msgs.slots != NULL)
			memset(st->msgs.slots, 0,
			    st->msgs.cap * sizeof(struct slot));
		st->gen = 1;
	}
}

static void
arena_free(struct chunk *c)
{
	struct chunk *next;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
}

/* Forgets the batch without freeing its op array (it is reused). */
static void
batch_reset(struct store *st)
{
	st->nops = 0;
	if (st->arena != NULL) {
		/* The first chunk is reused; a turn rarely needs more. */
		arena_free(st->arena->next);
		st->arena->next = NULL;
		st->arena->len = 0;
	}
	st->arena_cur = st->arena;
	forget_puts(st);
}

/*
 * After a failed commit, keeps the ops that later state depends on:
 * definitions, deletes of entries (acks must not come back after a
 * restart) and delivery counts. Message and entry puts are dropped: their
 * publishes were nacked, and a message delete or unref only stood for an
 * entry put cancelled in the batch. The kept ops go first in the next
 * commit.
 */
static void
batch_keep_for_retry(struct store *st)
{
	size_t n = 0;

	for (size_t i = 0; i < st->nops; i++) {
		struct op *o = &st->ops[i];

		switch (o->w.kind) {
		case STORE_OP_MESSAGE_PUT:
		case STORE_OP_MESSAGE_DEL:
		case STORE_OP_MESSAGE_UNREF:
		case STORE_OP_ENTRY_PUT:
			continue;
		default:
			if (!o->dead)
				st->ops[n++] = *o;
		}
	}
	st->nops = st->retained = n;
	/* Definition blobs stay in the arena; the maps held only puts. */
	forget_puts(st);
}

/* Hands every message of the batch back to its owner, exactly once. */
static void
batch_release(struct store *st)
{
	struct op *o;

	if (st->release == NULL)
		return;
	for (size_t i = 0; i < st->nops; i++) {
		o = &st->ops[i];
		if (o->w.kind == STORE_OP_MESSAGE_PUT) {
			assert(o->owner != NULL);
			st->release(o->owner);
		}
	}
}

/* Keeps the backend's error as the store's. */
static int
backend_failed(struct store *st)
{
	snprintf(st->errmsg, sizeof(st->errmsg), "%s",
	    st->be_ops->errmsg(st->be));
	return -1;
}

static void
destroy(struct store *st)
{
	st->be_ops->close(st->be);
	free(st->ops);
	arena_free(st->arena);
	free(st->entries.slots);
	free(st->msgs.slots);
	free(st);
}

struct store *
store_new(const struct store_backend_ops *ops, void *be, char *err,
    size_t errlen)
{
	struct store *st;

	st = xcalloc(1, sizeof(*st));
	st->be_ops = ops;
	st->be = be;
	st->gen = 1;
	if (ops->next_ids(be, &st->next_queue_id, &st->next_msg_id) == -1) {
		snprintf(err, errlen, "%s", ops->errmsg(be));
		destroy(st);
		return NULL;
	}
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	/* An uncommitted batch is dropped, but its owners still hear of it. */
	batch_release(st);
	destroy(st);
}

void
store_set_release(struct store *st, void (*release)(void *owner))
{
	st->release = release;
}

/* Shorthands for the definition builders' field lists. */
#define B(x)	{ .blob = (x) }
#define N(x)	{ .n = (x) }

void
store_put_vhost(struct store *st, struct store_blob name)
{
	op_put(st, STORE_OP_VHOST_PUT, (union store_value[]){ B(name) });
}

void
store_del_vhost(struct store *st, struct store_blob name)
{
	op_put(st, STORE_OP_VHOST_DEL, (union store_value[]){ B(name) });
}

void
store_put_vhost_limits(struct store *st, struct store_blob name,
    int64_t max_connections, int64_t max_queues)
{
	op_put(st, STORE_OP_VHOST_LIMITS, (union store_value[]){ B(name),
	    { .limit = max_connections }, { .limit = max_queues } });
}

void
store_put_policy(struct store *st, unsigned kind, struct store_blob vhost,
    struct store_blob name, struct store_blob value)
{
	op_put(st, STORE_OP_POLICY_PUT, (union store_value[]){ N(kind),
	    B(vhost), B(name), B(value) });
}

void
store_del_policy(struct store *st, unsigned kind, struct store_blob vhost,
    struct store_blob name)
{
	op_put(st, STORE_OP_POLICY_DEL, (union store_value[]){ N(kind),
	    B(vhost), B(name) });
}

void
store_put_user_limits(struct store *st, struct store_blob user,
    int64_t max_connections, int64_t max_channels)
{
	op_put(st, STORE_OP_USER_LIMITS, (union store_value[]){ B(user),
	    { .limit = max_connections }, { .limit = max_channels } });
}

void
store_put_vhost_meta(struct store *st, struct store_blob name,
    struct store_blob description, struct store_blob tags)
{
	op_put(st, STORE_OP_VHOST_META, (union store_value[]){ B(name),
	    B(description), B(tags) });
}

void
store_put_user(struct store *st, struct store_blob name,
    struct store_blob password_hash, struct store_blob algorithm,
    struct store_blob tags)
{
	op_put(st, STORE_OP_USER_PUT, (union store_value[]){ B(name),
	    B(password_hash), B(algorithm), B(tags) });
}

void
store_del_user(struct store *st, struct store_blob name)
{
	op_put(st, STORE_OP_USER_DEL, (union store_value[]){ B(name) });
}

void
store_put_permission(struct store *st, struct store_blob user,
    struct store_blob vhost, struct store_blob configure,
    struct store_blob write, struct store_blob read)
{
	op_put(st, STORE_OP_PERMISSION_PUT, (union store_value[]){ B(user),
	    B(vhost), B(configure), B(write), B(read) });
}

void
store_del_permission(struct store *st, struct store_blob user,
    struct store_blob vhost)
{
	op_put(st, STORE_OP_PERMISSION_DEL, (union store_value[]){ B(user),
	    B(vhost) });
}

void
store_put_topic_permission(struct store *st, struct store_blob user,
    struct store_blob vhost, struct store_blob exchange,
    struct store_blob write, struct store_blob read)
{
	op_put(st, STORE_OP_TOPIC_PERMISSION_PUT, (union store_value[]){
	    B(user), B(vhost), B(exchange), B(write), B(read) });
}

void
store_del_topic_permission(struct store *st, struct store_blob user,
    struct store_blob vhost, struct store_blob exchange)
{
	op_put(st, STORE_OP_TOPIC_PERMISSION_DEL, (union store_value[]){
	    B(user), B(vhost), B(exchange) });
}

bool
store_seeded(struct store *st)
{
	/* An unreadable flag reads as seeded: never re-create guest. */
	return st->be_ops->seeded(st->be) != 0;
}

void
store_put_seeded(struct store *st)
{
	op_new(st, STORE_OP_SEEDED);
}

void
store_put_cluster_name(struct store *st, struct store_blob name)
{
	op_put(st, STORE_OP_CLUSTER_NAME, (union store_value[]){ B(name) });
}

void
store_put_exchange(struct store *st, struct store_blob vhost,
    struct store_blob name, struct store_blob type, unsigned flags,
    struct store_blob args)
{
	op_put(st, STORE_OP_EXCHANGE_PUT, (union store_value[]){ B(vhost),
	    B(name), B(type), N(flags), B(args) });
}

void
store_del_exchange(struct store *st, struct store_blob vhost,
    struct store_blob name)
{
	op_put(st, STORE_OP_EXCHANGE_DEL, (union store_value[]){ B(vhost),
	    B(name) });
}

uint64_t
store_put_queue(struct store *st, struct store_blob vhost,
    struct store_blob name, unsigned flags, struct store_blob args)
{
	uint64_t id = st->next_queue_id++;

	op_put(st, STORE_OP_QUEUE_PUT, (union store_value[]){ N(id),
	    B(vhost), B(name), N(flags), B(args) });
	return id;
}

void
store_del_queue(struct store *st, uint64_t queue_id)
{
	op_put(st, STORE_OP_QUEUE_DEL, (union store_value[]){ N(queue_id) });
}

void
store_put_binding(struct store *st, struct store_blob vhost,
    struct store_blob source, bool dest_is_queue, struct store_blob dest,
    struct store_blob key, struct store_blob args)
{
	op_put(st, STORE_OP_BINDING_PUT, (union store_value[]){ B(vhost),
	    B(source), N(dest_is_queue), B(dest), B(key), B(args) });
}

void
store_del_binding(struct store *st, struct store_blob vhost,
    struct store_blob source, bool dest_is_queue, struct store_blob dest,
    struct store_blob key, struct store_blob args)
{
	op_put(st, STORE_OP_BINDING_DEL, (union store_value[]){ B(vhost),
	    B(source), N(dest_is_queue), B(dest), B(key), B(args) });
}

uint64_t
store_put_message(struct store *st, struct store_blob exchange,
    struct store_blob routing_key, struct store_blob props,
    struct store_blob body, struct store_blob bcc, uint32_t refs, void *owner)
{
	struct op *o = op_new(st, STORE_OP_MESSAGE_PUT);
	uint64_t id = st->next_msg_id++;

	/* Borrowed, not copied: the owner keeps them until released. */
	o->w.v[MESSAGE_ID].n = id;
	o->w.v[MESSAGE_PUT_REFS].n = refs;
	o->w.v[2].blob = exchange;
	o->w.v[3].blob = routing_key;
	o->w.v[4].blob = props;
	o->w.v[5].blob = body;
	o->w.v[6].blob = bcc;
	o->owner = owner;
	map_set(st, &st->msgs, id, 0, (uint32_t)(st->nops - 1));
	return id;
}

void
store_put_entry(struct store *st, uint64_t queue_id, uint64_t seq,
    uint64_t msg_id, uint32_t delivery_count, unsigned flags,
    uint64_t expires_at, uint8_t priority)
{
	op_new(st, STORE_OP_ENTRY_PUT)->w = (struct store_op){
	    STORE_OP_ENTRY_PUT, { N(queue_id), N(seq), N(msg_id),
	    N(delivery_count), N(flags), N(expires_at), N(priority) } };
	map_set(st, &st->entries, queue_id, seq, (uint32_t)(st->nops - 1));
}

/* The put of (queue_id, seq) waiting in this batch, or NULL. */
static struct op *
pending_entry(struct store *st, uint64_t queue_id, uint64_t seq)
{
	struct slot *s;
	struct op *o;

	if ((s = map_find(st, &st->entries, queue_id, seq)) == NULL)
		return NULL;
	assert(s->op < st->nops);
	o = &st->ops[s->op];
	return o->dead ? NULL : o;
}

void
store_entry_delivered(struct store *st, uint64_t queue_id, uint64_t seq)
{
	struct op *o;

	if ((o = pending_entry(st, queue_id, seq)) != NULL) {
		/* Written with the count it ends up with. */
		o->w.v[ENTRY_PUT_DELIVERIES].n++;
		return;
	}
	o = op_new(st, STORE_OP_ENTRY_DELIVERED);
	o->w.v[ENTRY_QUEUE].n = queue_id;
	o->w.v[ENTRY_SEQ].n = seq;
}

/* An entry on disk is gone: one more in a run of deletes, or a new op. */
static void
del_stored_entry(struct store *st, uint64_t queue_id, uint64_t seq,
    uint64_t msg_id, unsigned flags)
{
	struct op *o;
	union store_value *v;

	if (flags & STORE_ENTRY_SHARED) {
		op_new(st, STORE_OP_ENTRY_DEL_SHARED)->w = (struct store_op){
		    STORE_OP_ENTRY_DEL_SHARED,
		    { N(queue_id), N(seq), N(msg_id) } };
		return;
	}
	/*
	 * Acks of one consumer come in runs: unshared entries with
	 * consecutive seqs and message ids become one range delete.
	 */
	o = st->nops > 0 ? &st->ops[st->nops - 1] : NULL;
	if (o != NULL && o->w.kind == STORE_OP_ENTRY_DEL && !o->dead) {
		v = o->w.v;
		if (v[ENTRY_QUEUE].n == queue_id &&
		    v[ENTRY_DEL_SEQ_LAST].n + 1 == seq &&
		    v[ENTRY_DEL_MSG_LAST].n + 1 == msg_id) {
			v[ENTRY_DEL_SEQ_LAST].n = seq;
			v[ENTRY_DEL_MSG_LAST].n = msg_id;
			return;
		}
	}
	op_new(st, STORE_OP_ENTRY_DEL)->w = (struct store_op){
	    STORE_OP_ENTRY_DEL, { N(queue_id), N(seq), N(seq), N(msg_id),
	    N(msg_id) } };
}

void
store_del_entry(struct store *st, uint64_t queue_id, uint64_t seq,
    uint64_t msg_id, unsigned flags)
{
	struct op *o, *m;
	struct slot *s;

	if ((o = pending_entry(st, queue_id, seq)) == NULL) {
		del_stored_entry(st, queue_id, seq, msg_id, flags);
		return;
	}
	/* Put and gone in one batch: the entry is never written. */
	o->dead = true;
	msg_id = o->w.v[ENTRY_MSG].n;
	if ((s = map_find(st, &st->msgs, msg_id, 0)) != NULL) {
		m = &st->ops[s->op];
		assert(s->op < st->nops &&
		    m->w.kind == STORE_OP_MESSAGE_PUT &&
		    m->w.v[MESSAGE_PUT_REFS].n > 0);
		/* Written with fewer refs, or not at all once none is left. */
		if (m->w.v[MESSAGE_PUT_REFS].n <= 1)
			m->dead = true;
		else
			m->w.v[MESSAGE_PUT_REFS].n--;
		return;
	}
	/*
	 * The message is already on disk (the entry was put for an older
	 * message): it still loses this reference.
	 */
	flags = (unsigned)o->w.v[ENTRY_PUT_FLAGS].n;
	o = op_new(st, flags & STORE_ENTRY_SHARED ? STORE_OP_MESSAGE_UNREF :
	    STORE_OP_MESSAGE_DEL);
	o->w.v[MESSAGE_ID].n = msg_id;
}

void *
store_pending_owner(struct store *st, uint64_t msg_id)
{
	struct slot *s;

	if ((s = map_find(st, &st->msgs, msg_id, 0)) == NULL)
		return NULL;
	return st->ops[s->op].owner;
}

int
store_load_message(struct store *st, uint64_t msg_id,
    struct store_message *out)
{
	if (st->be_ops->load_message(st->be, msg_id, out) == -1)
		return backend_failed(st);
	return 0;
}

int
store_recover(struct store *st, const struct store_recovery *cb, void *arg)
{
	if (st->be_ops->recover(st->be, cb, arg) == -1)
		return backend_failed(st);
	return 0;
}

size_t
store_pending_ops(const struct store *st)
{
	return st->nops;
}

bool
store_dirty(const struct store *st)
{
	return st->nops > st->retained;
}

int
store_commit(struct store *st)
{
	const struct store_backend_ops *be = st->be_ops;
	int rc = -1;

	if (st->nops == 0)
		return 0;	/* an empty batch neither writes nor fails */
	if (be->begin(st->be) == -1) {
		backend_failed(st);
		goto out;
	}
	if (st->inject > 0) {
		st->inject--;
		snprintf(st->errmsg, sizeof(st->errmsg),
		    "commit: database or disk is full (injected)");
		goto rollback;
	}
	for (size_t i = 0; i < st->nops; i++)
		if (!st->ops[i].dead && be->apply(st->be, &st->ops[i].w) == -1)
			goto failed;
	if (be->commit(st->be) == -1)
		goto failed;
	rc = 0;
	goto out;
failed:
	backend_failed(st);
rollback:
	be->rollback(st->be);
out:
	if (rc == -1)
		log_warnx("store: %s", st->errmsg);
	/*
	 * Released before the reset, so the release callback must not call
	 * back into the store: it would append to the ops being walked.
	 */
	batch_release(st);
	if (rc == 0) {
		batch_reset(st);
		st->retained = 0;
	} else {
		batch_keep_for_retry(st);
	}
	return rc;
}

bool
store_retry_pending(const struct store *st)
{
	return st->retained > 0;
}

const char *
store_errmsg(const struct store *st)
{
	return st->errmsg;
}

void
store_inject_failures(struct store *st, int n)
{
	st->inject = n;
}
