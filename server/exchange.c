#include "autoconf.h"

#include "server/exchange.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "protocol/table.h"
#include "server/queue.h"
#include "server/route_headers.h"
#include "server/route_topic.h"
#include "server/vhost.h"

static const char *const kind_names[] = {
	[EXCHANGE_DIRECT] = "direct",
	[EXCHANGE_FANOUT] = "fanout",
	[EXCHANGE_TOPIC] = "topic",
	[EXCHANGE_HEADERS] = "headers",
};

int
exchange_kind_parse(struct proto_str type, enum exchange_kind *kind)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (proto_str_eqc(type, kind_names[i])) {
			*kind = (enum exchange_kind)i;
			return 0;
		}
	return -1;
}

const char *
exchange_kind_name(enum exchange_kind kind)
{
	return kind_names[kind];
}

static char *
dup_bytes(const void *p, size_t len)
{
	char *s = xmalloc(len + 1);

	if (len)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

struct exchange *
exchange_new(struct vhost *vh, struct proto_str name, enum exchange_kind kind,
    bool durable, bool auto_delete, bool internal, struct proto_table args)
{
	struct exchange *ex;
	struct proto_field f;

	ex = xcalloc(1, sizeof(*ex));
	ex->vh = vh;
	ex->kind = kind;
	ex->durable = durable;
	ex->auto_delete = auto_delete;
	ex->internal = internal;
	hmap_init(&ex->direct);
	hmap_init(&ex->by_ident);
	ex->name = dup_bytes(name.p, name.len);
	ex->name_len = name.len;
	if (args.len)
		ex->args = (uint8_t *)dup_bytes(args.p, args.len);
	ex->args_len = args.len;
	if (args.len && proto_table_get(args, "alternate-exchange", &f) &&
	    f.kind == PROTO_FIELD_LONGSTR) {
		ex->alternate = dup_bytes(f.v.str.p, f.v.str.len);
		ex->alternate_len = f.v.str.len;
	}
	if (kind == EXCHANGE_TOPIC)
		ex->topic = topic_trie_new();
	return ex;
}

void
exchange_free(struct exchange *ex)
{
	while (ex->nbindings > 0)
		exchange_unbind(ex->bindings[ex->nbindings - 1]);
	while (ex->nincoming > 0)
		exchange_unbind(ex->incoming[ex->nincoming - 1]);
	if (ex->topic)
		topic_trie_free(ex->topic);
	hmap_free(&ex->direct);
	hmap_free(&ex->by_ident);
	rate_ring_free(&ex->rates);
	free(ex->bindings);
	free(ex->incoming);
	free(ex->alternate);
	free(ex->args);
	free(ex->name);
	free(ex);
}

/* Appends bd to a list, recording its position in *idx. */
static void
ptr_push(struct binding ***v, size_t *n, size_t *cap, struct binding *bd,
    size_t *idx)
{
	xvec_grow(v, cap, *n + 1, sizeof(**v), 4);
	*idx = *n;
	(*v)[(*n)++] = bd;
}

/*
 * Drops bd from a list in O(1), moving the last entry into its place; off
 * names which position field the list uses (offsetof in struct binding).
 * Lists are unordered: nothing depends on binding order (compat: RabbitMQ
 * does not order fan-out either).
 */
static void
ptr_remove(struct binding **v, size_t *n, struct binding *bd, size_t off)
{
	size_t i = *(size_t *)(void *)((char *)bd + off);
	struct binding *last;

	if (i >= *n || v[i] != bd)
		return;		/* not on this list (a failed bind) */
	last = v[--*n];
	v[i] = last;
	*(size_t *)(void *)((char *)last + off) = i;
}

#define IDENT_PTR	sizeof(void *)

/*
 * The identity of a binding within its source exchange, as one byte
 * string: a tag, the destination pointer, the key length, the key and the
 * arguments. Bindings are equal exactly when their idents are.
 */
static size_t
ident_len(struct proto_str key, struct proto_table args)
{
	return 1 + IDENT_PTR + sizeof(uint32_t) + key.len + args.len;
}

static void
ident_fill(uint8_t *p, struct queue *q, struct exchange *dst,
    struct proto_str key, struct proto_table args)
{
	const void *d = q != NULL ? (const void *)q : (const void *)dst;
	uint32_t kl = (uint32_t)key.len;

	*p++ = q != NULL ? 'q' : 'e';
	memcpy(p, &d, IDENT_PTR);
	p += IDENT_PTR;
	memcpy(p, &kl, sizeof(kl));
	p += sizeof(kl);
	if (key.len)
		memcpy(p, key.p, key.len);
	p += key.len;
	if (args.len)
		memcpy(p, args.p, args.len);
}

struct binding *
exchange_find_binding(struct exchange *src, struct queue *q,
    struct exchange *dst, struct proto_str key, struct proto_table args)
{
	uint8_t buf[512], *p = buf;
	size_t len = ident_len(key, args);
	struct binding *bd;

	if (len > sizeof(buf))
		p = xmalloc(len);
	ident_fill(p, q, dst, key, args);
	bd = hmap_get(&src->by_ident, p, len);
	if (p != buf)
		free(p);
	return bd;
}

static void
direct_add(struct exchange *ex, struct binding *bd)
{
	struct binding_set *set;

	set = hmap_get(&ex->direct, bd->key, bd->key_len);
	if (set == NULL) {
		set = xcalloc(1, sizeof(*set));
		set->key = dup_bytes(bd->key, bd->key_len);
		set->key_len = bd->key_len;
		hmap_put(&ex->direct, set->key, bd->key_len, set);
	}
	ptr_push(&set->v, &set->n, &set->cap, bd, &bd->set_idx);
}

static void
direct_remove(struct exchange *ex, struct binding *bd)
{
	struct binding_set *set = hmap_get(&ex->direct, bd->key, bd->key_len);

	if (set == NULL)
		return;
	ptr_remove(set->v, &set->n, bd, offsetof(struct binding, set_idx));
	if (set->n == 0) {
		hmap_del(&ex->direct, set->key, set->key_len);
		free(set->v);
		free(set->key);
		free(set);
	}
}

int
exchange_bind(struct exchange *src, struct queue *q, struct exchange *dst,
    struct proto_str key, struct proto_table args)
{
	struct binding *bd;

	/* Before anything is allocated: the one refusal left (EINVAL). */
	if (src->kind == EXCHANGE_TOPIC && key.len > TOPIC_KEY_MAX)
		return -1;
	bd = xcalloc(1, sizeof(*bd));
	bd->src = src;
	bd->q = q;
	bd->dst = dst;
	bd->key = dup_bytes(key.p, key.len);
	bd->key_len = key.len;
	if (args.len)
		bd->args = (uint8_t *)dup_bytes(args.p, args.len);
	bd->args_len = args.len;
	bd->ident_len = ident_len(key, args);
	bd->ident = xmalloc(bd->ident_len);
	ident_fill(bd->ident, q, dst, key, args);
	bd->src_idx = bd->dst_idx = bd->set_idx = SIZE_MAX;
	hmap_put(&src->by_ident, bd->ident, bd->ident_len, bd);
	ptr_push(&src->bindings, &src->nbindings, &src->bindings_cap, bd,
	    &bd->src_idx);
	if (src->kind == EXCHANGE_DIRECT)
		direct_add(src, bd);
	if (src->kind == EXCHANGE_TOPIC &&
	    topic_trie_add(src->topic, bd->key, bd->key_len, bd) == -1) {
		exchange_unbind(bd);
		return -1;
	}
	if (q != NULL)
		queue_add_binding(q, bd);
	if (dst != NULL)
		ptr_push(&dst->incoming, &dst->nincoming, &dst->incoming_cap,
		    bd, &bd->dst_idx);
	return 0;
}

void
exchange_unbind(struct binding *bd)
{
	struct exchange *src = bd->src;

	if (hmap_get(&src->by_ident, bd->ident, bd->ident_len) == bd)
		hmap_del(&src->by_ident, bd->ident, bd->ident_len);
	ptr_remove(src->bindings, &src->nbindings, bd,
	    offsetof(struct binding, src_idx));
	if (src->kind == EXCHANGE_DIRECT)
		direct_remove(src, bd);
	else if (src->kind == EXCHANGE_TOPIC)
		topic_trie_remove(src->topic, bd->key, bd->key_len, bd);
	if (bd->q != NULL)
		queue_remove_binding(bd->q, bd);
	if (bd->dst != NULL)
		ptr_remove(bd->dst->incoming, &bd->dst->nincoming, bd,
		    offsetof(struct binding, dst_idx));
	free(bd->ident);
	free(bd->key);
	free(bd->args);
	free(bd);
}

/* Routing state for one message: the result plus a work list of exchanges. */
struct route_pass {
	struct route_result	*out;
	uint64_t		 gen;
	struct exchange		**todo;
	size_t			 ntodo, todo_cap;
	size_t			 matched;	/* bindings matched by this exchange */
	struct headers_index	 hix;	/* the message's headers, sorted once */
};

static void
push_queue(struct route_pass *rp, struct queue *q)
{
	struct route_result *out = rp->out;

	if (q->route_mark == rp->gen)
		return;
	xvec_grow(&out->q, &out->cap, out->n + 1, sizeof(*out->q), 8);
	q->route_mark = rp->gen;
	out->q[out->n++] = q;
}

static void
push_exchange(struct route_pass *rp, struct exchange *ex)
{
	if (ex->route_mark == rp->gen)
		return;		/* visited: cycles end here */
	xvec_grow(&rp->todo, &rp->todo_cap, rp->ntodo + 1, sizeof(*rp->todo),
	    8);
	ex->route_mark = rp->gen;
	rp->todo[rp->ntodo++] = ex;
}

static void
take(struct route_pass *rp, struct binding *bd)
{
	rp->matched++;
	if (bd->q != NULL)
		push_queue(rp, bd->q);
	else
		push_exchange(rp, bd->dst);
}

static void
take_cb(void *dest, void *arg)
{
	take(arg, dest);
}

void
exchange_keys_init(struct route_keys_iter *it, const struct route_keys *k)
{
	it->k = k;
	it->part = 0;
}

bool
exchange_keys_next(struct route_keys_iter *it, struct proto_str *key)
{
	struct proto_field f;

	for (;;) {
		switch (it->part) {
		case 0:
			*key = it->k->rk;
			it->part = 1;
			proto_table_iter_init(&it->it, it->k->cc);
			return true;
		case 1:
		case 2:
			while (proto_array_next(&it->it, &f))
				if (f.kind == PROTO_FIELD_LONGSTR) {
					*key = f.v.str;
					return true;
				}
			if (it->part++ == 1)
				proto_table_iter_init(&it->it, it->k->bcc);
			break;
		default:
			return false;
		}
	}
}

/* The bindings of a keyed exchange (direct, topic, default) matching rk. */
static void
route_key(struct route_pass *rp, struct exchange *ex, struct proto_str rk)
{
	struct binding_set *set;
	struct queue *q;

	if (ex->kind == EXCHANGE_TOPIC) {
		topic_trie_match(ex->topic, (const char *)rk.p, rk.len, take_cb,
		    rp);
		return;
	}
	if (ex->name_len == 0) {
		/* spec: the default exchange binds every queue by name. */
		if ((q = vhost_queue(ex->vh, rk)) != NULL) {
			rp->matched++;
			push_queue(rp, q);
		}
		return;
	}
	set = hmap_get(&ex->direct, rk.p, rk.len);
	for (size_t i = 0; set != NULL && i < set->n; i++)
		take(rp, set->v[i]);
}

static void
route_one(struct route_pass *rp, struct exchange *ex,
    const struct route_keys *keys)
{
	struct route_keys_iter it;
	struct proto_str rk;

	switch (ex->kind) {
	case EXCHANGE_DIRECT:
	case EXCHANGE_TOPIC:
		/*
		 * compat: RabbitMQ routes every key of the message at every
		 * exchange it reaches, its own and the CC and BCC ones.
		 */
		exchange_keys_init(&it, keys);
		while (exchange_keys_next(&it, &rk))
			route_key(rp, ex, rk);
		break;
	case EXCHANGE_FANOUT:
		for (size_t i = 0; i < ex->nbindings; i++)
			take(rp, ex->bindings[i]);
		break;
	case EXCHANGE_HEADERS:
		for (size_t i = 0; i < ex->nbindings; i++) {
			struct binding *bd = ex->bindings[i];

			if (headers_match_index((struct proto_table){ bd->args,
			    bd->args_len }, &rp->hix))
				take(rp, bd);
		}
		break;
	}
}

void
exchange_route_keys(struct exchange *ex, const struct route_keys *keys,
    struct proto_table headers, struct route_result *out)
{
	struct route_pass rp = { .out = out, .gen = ++ex->vh->route_gen };
	struct exchange *ae;

	out->n = 0;
	headers_index_init(&rp.hix, headers);
	push_exchange(&rp, ex);
	for (size_t i = 0; i < rp.ntodo; i++) {
		struct exchange *x = rp.todo[i];

		rp.matched = 0;
		route_one(&rp, x, keys);
		/*
		 * compat: RabbitMQ consults an exchange's alternate exchange
		 * when that exchange's own bindings matched nothing, for
		 * all the keys together. The rights were checked once, when
		 * the exchange was declared (read on it, write on the
		 * alternate, vhost_declare.c): the alternate belongs to the
		 * exchange, not to each publisher, so a publisher needs no
		 * write on it, and the declarer keeps it after losing that
		 * right, as in RabbitMQ 3.10 (checked on 3.10.8).
		 */
		if (rp.matched == 0 && x->alternate != NULL &&
		    (ae = vhost_exchange(x->vh, (struct proto_str){
		    (const uint8_t *)x->alternate, x->alternate_len })) != NULL)
			push_exchange(&rp, ae);
	}
	free(rp.todo);
	headers_index_free(&rp.hix);
}

void
exchange_route(struct exchange *ex, struct proto_str rk,
    struct proto_table headers, struct route_result *out)
{
	struct route_keys keys = { .rk = rk };

	exchange_route_keys(ex, &keys, headers, out);
}
