#include "autoconf.h"

#include "storage/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/store_sqlite.h"

/*
 * The batch: every call of one loop turn appends an op, and nothing
 * touches SQLite until store_commit() applies the ops in call order in
 * one transaction. Two small hash maps let a delete find the put it
 * cancels: an entry put and deleted in one batch is never written, and
 * a message whose entries all went that way is not written either.
 */

enum op_kind {
	OP_VHOST_PUT,
	OP_VHOST_DEL,
	OP_VHOST_LIMITS,
	OP_VHOST_META,
	OP_USER_PUT,
	OP_USER_DEL,
	OP_PERMISSION_PUT,
	OP_PERMISSION_DEL,
	OP_TOPIC_PERMISSION_PUT,
	OP_TOPIC_PERMISSION_DEL,
	OP_SEEDED,
	OP_EXCHANGE_PUT,
	OP_EXCHANGE_DEL,
	OP_QUEUE_PUT,
	OP_QUEUE_DEL,
	OP_BINDING_PUT,
	OP_BINDING_DEL,
	OP_MESSAGE_PUT,
	OP_MESSAGE_UNREF,	/* an entry cancelled here, its message on disk */
	OP_ENTRY_PUT,
	OP_ENTRY_DELIVERED,
	OP_ENTRY_DEL,
};

/* A definition blob copied into st->arena (which may move as it grows). */
struct span {
	uint32_t	 off, len;
};

struct op {
	uint8_t		 kind;		/* enum op_kind */
	bool		 dead;		/* cancelled: not written */
	bool		 dest_is_queue;	/* bindings */
	uint8_t		 priority;	/* entry puts */
	unsigned	 flags;
	uint32_t	 count;		/* refs, deliveries or a delete's run */
	uint32_t	 cancelled;	/* message: its entries cancelled here */
	uint64_t	 queue_id;
	uint64_t	 seq;
	uint64_t	 msg_id;
	uint64_t	 expires_at;	/* entry puts: ms since the epoch; 0 */
	union {
		struct {
			struct store_blob b[4];	/* borrowed until release */
			void	*owner;
		} msg;
		struct span	 def[5];
	} u;
};

struct slot {
	uint64_t	 k1, k2;
	uint32_t	 op;		/* index into st->ops */
	uint32_t	 gen;		/* st->gen when set */
};

static void *
grow(void *p, size_t *cap, size_t need, size_t size, size_t min)
{
	size_t n = *cap != 0 ? *cap : min;

	while (n < need)
		n *= 2;
	if (n == *cap)
		return p;
	/*
	 * XXX: the void store_* calls cannot report this; a broker out of
	 * memory cannot keep its promises anyway.
	 */
	if (n > SIZE_MAX / size || (p = realloc(p, n * size)) == NULL) {
		fprintf(stderr, "store: out of memory\n");
		abort();
	}
	*cap = n;
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
		if ((m->slots = calloc(m->cap, sizeof(*s))) == NULL) {
			fprintf(stderr, "store: out of memory\n");
			abort();
		}
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
op_new(struct store *st, enum op_kind kind)
{
	struct op *o;

	if (st->nops == st->opcap)
		st->ops = grow(st->ops, &st->opcap, st->nops + 1,
		    sizeof(*st->ops), 256);
	o = &st->ops[st->nops++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	return o;
}

static struct span
copy(struct store *st, struct store_blob b)
{
	struct span sp;

	if (b.len > UINT32_MAX - st->arenalen) {
		fprintf(stderr, "store: batch too large\n");
		abort();
	}
	st->arena = grow(st->arena, &st->arenacap, st->arenalen + b.len, 1,
	    4096);
	if (b.len > 0)
		memcpy(st->arena + st->arenalen, b.p, b.len);
	sp.off = (uint32_t)st->arenalen;
	sp.len = (uint32_t)b.len;
	st->arenalen += b.len;
	return sp;
}

static struct store_blob
blob(const struct store *st, struct span sp)
{
	struct store_blob b = { "", sp.len };

	if (sp.len > 0)		/* arena is NULL if only empties came */
		b.p = st->arena + sp.off;
	return b;
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

/* Forgets the batch without freeing its arrays (they are reused). */
static void
batch_reset(struct store *st)
{
	st->nops = 0;
	st->arenalen = 0;
	forget_puts(st);
}

/*
 * After a failed commit, keeps the ops that later state depends on:
 * definitions, deletes of entries (acks must not come back after a
 * restart) and delivery counts. Message and entry puts are dropped: their
 * publishes were nacked. The kept ops go first in the next commit.
 */
static void
batch_keep_for_retry(struct store *st)
{
	size_t n = 0;

	for (size_t i = 0; i < st->nops; i++) {
		struct op *o = &st->ops[i];

		if (o->dead || o->kind == OP_MESSAGE_PUT ||
		    o->kind == OP_ENTRY_PUT || o->kind == OP_MESSAGE_UNREF)
			continue;
		st->ops[n++] = *o;
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
		if (o->kind == OP_MESSAGE_PUT)
			st->release(o->u.msg.owner);
	}
}

static void
destroy(struct store *st)
{
	sql_close(st);
	free(st->ops);
	free(st->arena);
	free(st->entries.slots);
	free(st->msgs.slots);
	free(st->loadbuf);
	free(st);
}

struct store *
store_open(const char *dir, enum store_durability durability, char *err,
    size_t errlen)
{
	struct store *st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "store: out of memory");
		return NULL;
	}
	st->lockfd = -1;
	st->gen = 1;
	if (sql_open(st, dir, durability, err, errlen) == -1) {
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

void
store_put_vhost(struct store *st, struct store_blob name)
{
	struct op *o = op_new(st, OP_VHOST_PUT);

	o->u.def[0] = copy(st, name);
}

void
store_del_vhost(struct store *st, struct store_blob name)
{
	struct op *o = op_new(st, OP_VHOST_DEL);

	o->u.def[0] = copy(st, name);
}

void
store_put_vhost_limits(struct store *st, struct store_blob name,
    int64_t max_connections, int64_t max_queues)
{
	struct op *o = op_new(st, OP_VHOST_LIMITS);

	o->u.def[0] = copy(st, name);
	/* Two signed limits in the op's integer fields. */
	o->seq = (uint64_t)max_connections;
	o->msg_id = (uint64_t)max_queues;
}

void
store_put_vhost_meta(struct store *st, struct store_blob name,
    struct store_blob description, struct store_blob tags)
{
	struct op *o = op_new(st, OP_VHOST_META);

	o->u.def[0] = copy(st, name);
	o->u.def[1] = copy(st, description);
	o->u.def[2] = copy(st, tags);
}

void
store_put_user(struct store *st, struct store_blob name,
    struct store_blob password_hash, struct store_blob algorithm,
    struct store_blob tags)
{
	struct op *o = op_new(st, OP_USER_PUT);

	o->u.def[0] = copy(st, name);
	o->u.def[1] = copy(st, password_hash);
	o->u.def[2] = copy(st, algorithm);
	o->u.def[3] = copy(st, tags);
}

void
store_del_user(struct store *st, struct store_blob name)
{
	struct op *o = op_new(st, OP_USER_DEL);

	o->u.def[0] = copy(st, name);
}

void
store_put_permission(struct store *st, struct store_blob user,
    struct store_blob vhost, struct store_blob configure,
    struct store_blob write, struct store_blob read)
{
	struct op *o = op_new(st, OP_PERMISSION_PUT);

	o->u.def[0] = copy(st, user);
	o->u.def[1] = copy(st, vhost);
	o->u.def[2] = copy(st, configure);
	o->u.def[3] = copy(st, write);
	o->u.def[4] = copy(st, read);
}

void
store_del_permission(struct store *st, struct store_blob user,
    struct store_blob vhost)
{
	struct op *o = op_new(st, OP_PERMISSION_DEL);

	o->u.def[0] = copy(st, user);
	o->u.def[1] = copy(st, vhost);
}

void
store_put_topic_permission(struct store *st, struct store_blob user,
    struct store_blob vhost, struct store_blob exchange,
    struct store_blob write, struct store_blob read)
{
	struct op *o = op_new(st, OP_TOPIC_PERMISSION_PUT);

	o->u.def[0] = copy(st, user);
	o->u.def[1] = copy(st, vhost);
	o->u.def[2] = copy(st, exchange);
	o->u.def[3] = copy(st, write);
	o->u.def[4] = copy(st, read);
}

void
store_del_topic_permission(struct store *st, struct store_blob user,
    struct store_blob vhost, struct store_blob exchange)
{
	struct op *o = op_new(st, OP_TOPIC_PERMISSION_DEL);

	o->u.def[0] = copy(st, user);
	o->u.def[1] = copy(st, vhost);
	o->u.def[2] = copy(st, exchange);
}

bool
store_seeded(struct store *st)
{
	/* An unreadable flag reads as seeded: never re-create guest. */
	return sql_seeded(st) != 0;
}

void
store_put_seeded(struct store *st)
{
	op_new(st, OP_SEEDED);
}


void
store_put_exchange(struct store *st, struct store_blob vhost,
    struct store_blob name, struct store_blob type, unsigned flags,
    struct store_blob args)
{
	struct op *o = op_new(st, OP_EXCHANGE_PUT);

	o->flags = flags;
	o->u.def[0] = copy(st, vhost);
	o->u.def[1] = copy(st, name);
	o->u.def[2] = copy(st, type);
	o->u.def[3] = copy(st, args);
}

void
store_del_exchange(struct store *st, struct store_blob vhost,
    struct store_blob name)
{
	struct op *o = op_new(st, OP_EXCHANGE_DEL);

	o->u.def[0] = copy(st, vhost);
	o->u.def[1] = copy(st, name);
}

uint64_t
store_put_queue(struct store *st, struct store_blob vhost,
    struct store_blob name, unsigned flags, struct store_blob args)
{
	struct op *o = op_new(st, OP_QUEUE_PUT);

	o->queue_id = st->next_queue_id++;
	o->flags = flags;
	o->u.def[0] = copy(st, vhost);
	o->u.def[1] = copy(st, name);
	o->u.def[2] = copy(st, args);
	return o->queue_id;
}

void
store_del_queue(struct store *st, uint64_t queue_id)
{
	struct op *o = op_new(st, OP_QUEUE_DEL);

	o->queue_id = queue_id;
}

static void
binding(struct store *st, enum op_kind kind, struct store_blob vhost,
    struct store_blob source, bool dest_is_queue, struct store_blob dest,
    struct store_blob key, struct store_blob args)
{
	struct op *o = op_new(st, kind);

	o->dest_is_queue = dest_is_queue;
	o->u.def[0] = copy(st, vhost);
	o->u.def[1] = copy(st, source);
	o->u.def[2] = copy(st, dest);
	o->u.def[3] = copy(st, key);
	o->u.def[4] = copy(st, args);
}

void
store_put_binding(struct store *st, struct store_blob vhost,
    struct store_blob source, bool dest_is_queue, struct store_blob dest,
    struct store_blob key, struct store_blob args)
{
	binding(st, OP_BINDING_PUT, vhost, source, dest_is_queue, dest, key,
	    args);
}

void
store_del_binding(struct store *st, struct store_blob vhost,
    struct store_blob source, bool dest_is_queue, struct store_blob dest,
    struct store_blob key, struct store_blob args)
{
	binding(st, OP_BINDING_DEL, vhost, source, dest_is_queue, dest, key,
	    args);
}

uint64_t
store_put_message(struct store *st, struct store_blob exchange,
    struct store_blob routing_key, struct store_blob props,
    struct store_blob body, uint32_t refs, void *owner)
{
	struct op *o = op_new(st, OP_MESSAGE_PUT);

	o->msg_id = st->next_msg_id++;
	o->count = refs;
	o->u.msg.b[0] = exchange;
	o->u.msg.b[1] = routing_key;
	o->u.msg.b[2] = props;
	o->u.msg.b[3] = body;
	o->u.msg.owner = owner;
	map_set(st, &st->msgs, o->msg_id, 0, (uint32_t)(st->nops - 1));
	return o->msg_id;
}

void
store_put_entry(struct store *st, uint64_t queue_id, uint64_t seq,
    uint64_t msg_id, uint32_t delivery_count, unsigned flags,
    uint64_t expires_at, uint8_t priority)
{
	struct op *o = op_new(st, OP_ENTRY_PUT);

	o->queue_id = queue_id;
	o->seq = seq;
	o->msg_id = msg_id;
	o->count = delivery_count;
	o->flags = flags;
	o->expires_at = expires_at;
	o->priority = priority;
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
	o = &st->ops[s->op];
	return o->dead ? NULL : o;
}

void
store_entry_delivered(struct store *st, uint64_t queue_id, uint64_t seq)
{
	struct op *o;

	if ((o = pending_entry(st, queue_id, seq)) != NULL) {
		o->count++;	/* written with the count it ends up with */
		return;
	}
	o = op_new(st, OP_ENTRY_DELIVERED);
	o->queue_id = queue_id;
	o->seq = seq;
}

void
store_del_entry(struct store *st, uint64_t queue_id, uint64_t seq,
    uint64_t msg_id, unsigned flags)
{
	struct op *o, *m;
	struct slot *s;

	if ((o = pending_entry(st, queue_id, seq)) == NULL) {
		/*
		 * Acks of one consumer come in runs: unshared entries with
		 * consecutive seqs and message ids become one range delete
		 * (two statements instead of two per entry).
		 */
		o = st->nops > 0 ? &st->ops[st->nops - 1] : NULL;
		if (o != NULL && o->kind == OP_ENTRY_DEL && !o->dead &&
		    o->queue_id == queue_id && o->count < UINT32_MAX &&
		    o->seq + o->count == seq && o->msg_id + o->count == msg_id &&
		    ((o->flags | flags) & STORE_ENTRY_SHARED) == 0) {
			o->count++;
			return;
		}
		o = op_new(st, OP_ENTRY_DEL);
		o->queue_id = queue_id;
		o->seq = seq;
		o->msg_id = msg_id;
		o->flags = flags;
		o->count = 1;	/* entries from seq on, messages from msg_id on */
		return;
	}
	/* Put and gone in one batch: the entry is never written. */
	o->dead = true;
	if ((s = map_find(st, &st->msgs, o->msg_id, 0)) != NULL) {
		m = &st->ops[s->op];
		/* Written with fewer refs, or not at all once none is left. */
		if (++m->cancelled >= m->count)
			m->dead = true;
		return;
	}
	/*
	 * The message is already on disk (the entry was put for an older
	 * message): it still loses this reference.
	 */
	msg_id = o->msg_id;
	flags = o->flags;
	o = op_new(st, OP_MESSAGE_UNREF);
	o->msg_id = msg_id;
	o->flags = flags;
}

void *
store_pending_owner(struct store *st, uint64_t msg_id)
{
	struct slot *s;

	if ((s = map_find(st, &st->msgs, msg_id, 0)) == NULL)
		return NULL;
	return st->ops[s->op].u.msg.owner;
}

int
store_load_message(struct store *st, uint64_t msg_id,
    struct store_message *out)
{
	return sql_load_message(st, msg_id, out);
}

bool
store_dirty(const struct store *st)
{
	return st->nops > st->retained;
}

static int
apply(struct store *st, const struct op *o)
{
	const struct span *d = o->u.def;

	switch ((enum op_kind)o->kind) {
	case OP_VHOST_PUT:
		return sql_put_vhost(st, blob(st, d[0]));
	case OP_VHOST_DEL:
		return sql_del_vhost(st, blob(st, d[0]));
	case OP_VHOST_META:
		return sql_put_vhost_meta(st, blob(st, d[0]), blob(st, d[1]),
		    blob(st, d[2]));
	case OP_VHOST_LIMITS:
		return sql_put_vhost_limits(st, blob(st, d[0]),
		    (int64_t)o->seq, (int64_t)o->msg_id);
	case OP_USER_PUT:
		return sql_put_user(st, blob(st, d[0]), blob(st, d[1]),
		    blob(st, d[2]), blob(st, d[3]));
	case OP_USER_DEL:
		return sql_del_user(st, blob(st, d[0]));
	case OP_PERMISSION_PUT:
		return sql_put_permission(st, blob(st, d[0]), blob(st, d[1]),
		    blob(st, d[2]), blob(st, d[3]), blob(st, d[4]));
	case OP_PERMISSION_DEL:
		return sql_del_permission(st, blob(st, d[0]), blob(st, d[1]));
	case OP_TOPIC_PERMISSION_PUT:
		return sql_put_topic_permission(st, blob(st, d[0]),
		    blob(st, d[1]), blob(st, d[2]), blob(st, d[3]),
		    blob(st, d[4]));
	case OP_TOPIC_PERMISSION_DEL:
		return sql_del_topic_permission(st, blob(st, d[0]),
		    blob(st, d[1]), blob(st, d[2]));
	case OP_SEEDED:
		return sql_put_seeded(st);
	case OP_EXCHANGE_PUT:
		return sql_put_exchange(st, blob(st, d[0]), blob(st, d[1]),
		    blob(st, d[2]), o->flags, blob(st, d[3]));
	case OP_EXCHANGE_DEL:
		return sql_del_exchange(st, blob(st, d[0]), blob(st, d[1]));
	case OP_QUEUE_PUT:
		return sql_put_queue(st, o->queue_id, blob(st, d[0]),
		    blob(st, d[1]), o->flags, blob(st, d[2]));
	case OP_QUEUE_DEL:
		return sql_del_queue(st, o->queue_id);
	case OP_BINDING_PUT:
	case OP_BINDING_DEL:
		return sql_binding(st, o->kind == OP_BINDING_PUT,
		    blob(st, d[0]), blob(st, d[1]), o->dest_is_queue,
		    blob(st, d[2]), blob(st, d[3]), blob(st, d[4]));
	case OP_MESSAGE_PUT:
		return sql_put_message(st, o->msg_id, o->count - o->cancelled,
		    o->u.msg.b);
	case OP_MESSAGE_UNREF:
		return sql_unref_message(st, o->msg_id,
		    (o->flags & STORE_ENTRY_SHARED) != 0);
	case OP_ENTRY_PUT:
		return sql_put_entry(st, o->queue_id, o->seq, o->msg_id,
		    o->count, o->flags, o->expires_at, o->priority);
	case OP_ENTRY_DELIVERED:
		return sql_entry_delivered(st, o->queue_id, o->seq);
	case OP_ENTRY_DEL:
		if (o->count > 1)
			return sql_del_entries(st, o->queue_id, o->seq,
			    o->msg_id, o->count);
		if (sql_del_entry(st, o->queue_id, o->seq) == -1)
			return -1;
		return sql_unref_message(st, o->msg_id,
		    (o->flags & STORE_ENTRY_SHARED) != 0);
	}
	snprintf(st->errmsg, sizeof(st->errmsg), "bad op %d", o->kind);
	return -1;
}

int
store_commit(struct store *st)
{
	int rc = -1;

	if (st->nops == 0)
		return 0;	/* an empty batch neither writes nor fails */
	if (sql_begin(st) == -1)
		goto out;
	if (st->inject > 0) {
		st->inject--;
		snprintf(st->errmsg, sizeof(st->errmsg),
		    "commit: database or disk is full (injected)");
		goto rollback;
	}
	for (size_t i = 0; i < st->nops; i++)
		if (!st->ops[i].dead && apply(st, &st->ops[i]) == -1)
			goto rollback;
	if (sql_commit(st) == -1)
		goto rollback;
	rc = 0;
	goto out;
rollback:
	sql_rollback(st);
out:
	if (rc == -1)
		fprintf(stderr, "store: %s\n", st->errmsg);
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
