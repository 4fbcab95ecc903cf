/*
 * Topic-exchange binding matcher: a trie of binding-key words.
 *
 * compat: word splitting follows RabbitMQ 3.10, checked against a live
 * node: the empty key has no words (binding "" matches only routing key
 * "", and "*" does not match ""), while "a." is the two words "a" and "",
 * so "a.#" matches "a." and "*.*" matches ".". "#" and "*" are wildcards
 * only as whole words ("a*" and "a#" are literal words).
 *
 * compat: RabbitMQ 3.10's own matcher backtracks; binding "#.#.#.#.#.#.#.#"
 * or "*.#.*.#.*.#" and publishing to 127 one-letter words did not finish
 * within two minutes there. Here a match visits each trie node at most
 * once (see walk_node()), so it costs O(trie nodes) for any routing key.
 */
#include "autoconf.h"

#include "server/route_topic.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hmap.h"
#include "lib/xmalloc.h"

/*
 * Open-addressing hash of entry pointers, each stored with its hash.
 * Linear probing, load at most 1/2, backward-shift deletion (no
 * tombstones, so churn from bind/unbind never degrades lookups).
 */
struct tmap_slot {
	uint64_t	 h;
	void		*ent;
};

struct tmap {
	struct tmap_slot	*slot;
	size_t			 cap;	/* 0 or a power of two */
	size_t			 n;
};

enum node_kind {
	NODE_ROOT,
	NODE_WORD,
	NODE_STAR,
	NODE_HASH,
};

struct topic_binding;
struct walk;

struct topic_node {
	struct topic_node	*parent;
	struct topic_node	*star;		/* child for word "*" */
	struct topic_node	*hash;		/* child for word "#" */
	struct tmap		 children;	/* literal words */
	struct topic_binding	**bind;		/* bindings ending here */
	size_t			 nbind;
	size_t			 bindcap;
	uint64_t		 whash;
	enum node_kind		 kind;
	size_t			 wlen;
	char			 word[];
};

/* One per distinct dest, shared by all its bindings; carries the dedupe mark. */
struct topic_dest {
	void		*dest;
	size_t		 refs;
	uint64_t	 mark;		/* last match call that emitted it */
};

struct topic_binding {
	struct topic_node	*node;
	struct topic_dest	*d;
	size_t			 idx;	/* position in node->bind */
};

struct topic_trie {
	struct topic_node	*root;
	struct tmap		 dests;		/* by dest pointer */
	struct tmap		 bindings;	/* by (node, dest) */
	uint64_t		 gen;
	struct walk		*walk;		/* match scratch, made on first use */
};

struct wkey {
	const char	*p;
	size_t		 len;
};

struct bkey {
	const struct topic_node	*node;
	const struct topic_dest	*d;
};

/*
 * Word hash: binding keys come from clients, and an unkeyed hash would
 * let one craft many colliding words under a single node. The maps' keyed
 * SipHash (lib/hmap.h) serves the pointer tables too.
 */
static uint64_t
hash_word(const char *p, size_t n)
{
	return hmap_hash(p, n);
}

static uint64_t
hash_ptr(const void *p)
{
	return hmap_hash(&p, sizeof(p));
}

static uint64_t
hash_pair(const void *a, const void *b)
{
	const void *k[2] = { a, b };

	return hmap_hash(k, sizeof(k));
}

static void *
tmap_find(const struct tmap *m, uint64_t h,
    bool (*eq)(const void *ent, const void *key), const void *key)
{
	size_t	mask, i;

	if (m->cap == 0)
		return NULL;
	mask = m->cap - 1;
	for (i = h & mask; m->slot[i].ent != NULL; i = (i + 1) & mask)
		if (m->slot[i].h == h && eq(m->slot[i].ent, key))
			return m->slot[i].ent;
	return NULL;
}

/* Makes room for one more entry, so tmap_insert cannot fail. */
static void
tmap_reserve(struct tmap *m)
{
	struct tmap_slot	*ns;
	size_t			 ncap, mask, i, j;

	if ((m->n + 1) * 2 <= m->cap)
		return;
	ncap = m->cap ? m->cap * 2 : 4;
	ns = xcalloc(ncap, sizeof(*ns));
	mask = ncap - 1;
	for (i = 0; i < m->cap; i++) {
		if (m->slot[i].ent == NULL)
			continue;
		for (j = m->slot[i].h & mask; ns[j].ent != NULL;
		    j = (j + 1) & mask)
			;
		ns[j] = m->slot[i];
	}
	free(m->slot);
	m->slot = ns;
	m->cap = ncap;
}

static void
tmap_insert(struct tmap *m, uint64_t h, void *ent)
{
	size_t	mask = m->cap - 1, i;

	for (i = h & mask; m->slot[i].ent != NULL; i = (i + 1) & mask)
		;
	m->slot[i].h = h;
	m->slot[i].ent = ent;
	m->n++;
}

/* Removes ent, which must be present under hash h. */
static void
tmap_remove(struct tmap *m, uint64_t h, const void *ent)
{
	size_t	mask = m->cap - 1, i, j, k;

	for (i = h & mask; m->slot[i].ent != ent; i = (i + 1) & mask)
		;
	/* Pull later members of the probe run back over the hole. */
	for (j = (i + 1) & mask; m->slot[j].ent != NULL; j = (j + 1) & mask) {
		k = m->slot[j].h & mask;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		m->slot[i] = m->slot[j];
		i = j;
	}
	m->slot[i].ent = NULL;
	m->n--;
	if (m->n == 0) {
		/* Pruned and emptied nodes should not keep their tables. */
		free(m->slot);
		m->slot = NULL;
		m->cap = 0;
	}
}

static bool
node_eq(const void *ent, const void *key)
{
	const struct topic_node	*n = ent;
	const struct wkey	*k = key;

	return n->wlen == k->len &&
	    (k->len == 0 || memcmp(n->word, k->p, k->len) == 0);
}

static bool
dest_eq(const void *ent, const void *key)
{
	const struct topic_dest	*d = ent;

	return d->dest == key;
}

static bool
binding_eq(const void *ent, const void *key)
{
	const struct topic_binding	*b = ent;
	const struct bkey		*k = key;

	return b->node == k->node && b->d == k->d;
}

/* Iterates the words of a key; the empty key has none. */
struct words {
	const char	*p;
	size_t		 len;
	size_t		 pos;
	bool		 done;
};

static void
words_init(struct words *w, const char *p, size_t len)
{
	w->p = p;
	w->len = len;
	w->pos = 0;
	w->done = len == 0;
}

/* End offset of the word starting at pos (pos <= len). */
static size_t
word_end(const char *p, size_t len, size_t pos)
{
	const char	*dot;

	if (pos == len)
		return len;
	dot = memchr(p + pos, '.', len - pos);
	return dot != NULL ? (size_t)(dot - p) : len;
}

static bool
words_next(struct words *w, struct wkey *out)
{
	size_t	e;

	if (w->done)
		return false;
	e = word_end(w->p, w->len, w->pos);
	out->p = w->p + w->pos;
	out->len = e - w->pos;
	if (e == w->len)
		w->done = true;
	else
		w->pos = e + 1;
	return true;
}

static bool
is_wild(const struct wkey *k, char c)
{
	return k->len == 1 && k->p[0] == c;
}

static struct topic_node *
node_new(enum node_kind kind, struct topic_node *parent, const struct wkey *k)
{
	struct topic_node	*n;
	size_t			 wlen = kind == NODE_WORD ? k->len : 0;

	n = xcalloc(1, sizeof(*n) + wlen);
	n->kind = kind;
	n->parent = parent;
	n->wlen = wlen;
	if (wlen > 0)
		memcpy(n->word, k->p, wlen);
	return n;
}

static void
node_free(struct topic_node *n)
{
	free(n->children.slot);
	free(n->bind);
	free(n);
}

/* Finds (or with create, makes) the child of n for word k. */
static struct topic_node *
child_get(struct topic_trie *t, struct topic_node *n, const struct wkey *k,
    bool create)
{
	struct topic_node	**slot, *c;
	uint64_t		  h;

	if (is_wild(k, '*') || is_wild(k, '#')) {
		slot = is_wild(k, '*') ? &n->star : &n->hash;
		if (*slot == NULL && create)
			*slot = node_new(is_wild(k, '*') ? NODE_STAR :
			    NODE_HASH, n, k);
		return *slot;
	}
	h = hash_word(k->p, k->len);
	if ((c = tmap_find(&n->children, h, node_eq, k)) != NULL || !create)
		return c;
	tmap_reserve(&n->children);
	c = node_new(NODE_WORD, n, k);
	c->whash = h;
	tmap_insert(&n->children, h, c);
	return c;
}

/* Frees n and its ancestors while they carry neither bindings nor children. */
static void
prune(struct topic_trie *t, struct topic_node *n)
{
	struct topic_node	*p;

	while (n != t->root && n->nbind == 0 && n->children.n == 0 &&
	    n->star == NULL && n->hash == NULL) {
		p = n->parent;
		switch (n->kind) {
		case NODE_STAR:
			p->star = NULL;
			break;
		case NODE_HASH:
			p->hash = NULL;
			break;
		case NODE_WORD:
			tmap_remove(&p->children, n->whash, n);
			break;
		case NODE_ROOT:
			break;
		}
		node_free(n);
		n = p;
	}
}

/* Walks the trie along key's words; NULL if a node is missing. */
static struct topic_node *
key_node(struct topic_trie *t, const char *key, size_t len, bool create,
    struct topic_node **last)
{
	struct topic_node	*n = t->root, *c;
	struct words		 w;
	struct wkey		 k;

	words_init(&w, key, len);
	while (words_next(&w, &k)) {
		if ((c = child_get(t, n, &k, create)) == NULL) {
			if (last != NULL)
				*last = n;
			return NULL;
		}
		n = c;
	}
	return n;
}

struct topic_trie *
topic_trie_new(void)
{
	struct topic_trie	*t;

	t = xcalloc(1, sizeof(*t));
	t->root = node_new(NODE_ROOT, NULL, NULL);
	return t;
}

/* Trie depth is bounded by TOPIC_KEY_MAX words, so recursion is bounded too. */
static void
free_subtree(struct topic_node *n)
{
	size_t	i;

	if (n->star != NULL)
		free_subtree(n->star);
	if (n->hash != NULL)
		free_subtree(n->hash);
	for (i = 0; i < n->children.cap; i++)
		if (n->children.slot[i].ent != NULL)
			free_subtree(n->children.slot[i].ent);
	for (i = 0; i < n->nbind; i++)
		free(n->bind[i]);
	node_free(n);
}

void
topic_trie_free(struct topic_trie *t)
{
	size_t	i;

	if (t == NULL)
		return;
	free_subtree(t->root);
	for (i = 0; i < t->dests.cap; i++)
		free(t->dests.slot[i].ent);
	free(t->dests.slot);
	free(t->bindings.slot);
	free(t->walk);
	free(t);
}

int
topic_trie_add(struct topic_trie *t, const char *key, size_t len, void *dest)
{
	struct topic_node	*n;
	struct topic_dest	*d;
	struct topic_binding	*b;
	struct bkey		 bk;
	uint64_t		 dh, bh;

	/*
	 * spec: binding keys are shortstr; the limit also bounds the trie
	 * depth and with it the recursion of walk_node() and free_subtree().
	 */
	if (len > TOPIC_KEY_MAX) {
		errno = EINVAL;
		return -1;
	}
	n = key_node(t, key, len, true, NULL);	/* creating: never NULL */
	dh = hash_ptr(dest);
	if ((d = tmap_find(&t->dests, dh, dest_eq, dest)) == NULL) {
		tmap_reserve(&t->dests);
		d = xcalloc(1, sizeof(*d));
		d->dest = dest;
		tmap_insert(&t->dests, dh, d);
	}
	bk.node = n;
	bk.d = d;
	bh = hash_pair(n, d);
	if (tmap_find(&t->bindings, bh, binding_eq, &bk) != NULL)
		return 0;
	xvec_grow(&n->bind, &n->bindcap, n->nbind + 1, sizeof(*n->bind), 2);
	tmap_reserve(&t->bindings);
	b = xcalloc(1, sizeof(*b));
	b->node = n;
	b->d = d;
	b->idx = n->nbind;
	n->bind[n->nbind++] = b;
	d->refs++;
	tmap_insert(&t->bindings, bh, b);
	return 0;
}

bool
topic_trie_remove(struct topic_trie *t, const char *key, size_t len,
    void *dest)
{
	struct topic_node	*n;
	struct topic_dest	*d;
	struct topic_binding	*b, *moved;
	struct bkey		 bk;
	uint64_t		 dh, bh;

	if (len > TOPIC_KEY_MAX)
		return false;
	if ((n = key_node(t, key, len, false, NULL)) == NULL)
		return false;
	dh = hash_ptr(dest);
	if ((d = tmap_find(&t->dests, dh, dest_eq, dest)) == NULL)
		return false;
	bk.node = n;
	bk.d = d;
	bh = hash_pair(n, d);
	if ((b = tmap_find(&t->bindings, bh, binding_eq, &bk)) == NULL)
		return false;
	tmap_remove(&t->bindings, bh, b);
	moved = n->bind[--n->nbind];
	if (moved != b) {
		n->bind[b->idx] = moved;
		moved->idx = b->idx;
	}
	free(b);
	if (n->nbind == 0) {
		free(n->bind);
		n->bind = NULL;
		n->bindcap = 0;
	}
	if (--d->refs == 0) {
		tmap_remove(&t->dests, dh, d);
		free(d);
	}
	prune(t, n);
	return true;
}

size_t
topic_trie_count(const struct topic_trie *t)
{
	return t->bindings.n;
}

/*
 * Matching walks the trie once, top-down, carrying for each node the SET
 * of routing-key positions (words consumed so far) at which the node's
 * path matches, as a bitset. Each node is visited at most once per match,
 * and its work is O(SET_WORDS) bit operations plus min(literal children,
 * positions) hash lookups, so a match costs O(trie nodes) whatever the
 * routing key: the old walk visited (node, position) pairs, O(nodes x
 * words), and 10,000 bindings of 32 wildcard words with 128-word routing
 * keys stalled the loop for seconds.
 */
#define POS_MAX		(TOPIC_KEY_MAX + 1)	/* words in a key, at most */
#define SET_WORDS	((POS_MAX + 1 + 63) / 64)	/* positions 0..POS_MAX */

struct pset {
	uint64_t	b[SET_WORDS];
};

struct rkword {
	const char	*p;
	size_t		 len;
	uint64_t	 h;
	uint16_t	 id;	/* position of the first equal word */
};

struct walk {
	struct topic_trie	*t;
	size_t			 nw;	/* words in the routing key */
	uint64_t		 gen;
	void			(*cb)(void *, void *);
	void			*arg;
	struct rkword		 w[POS_MAX];
	struct pset		 occ[POS_MAX];	/* by id: where the word is */
	uint16_t		 tab[2 * POS_MAX];	/* word -> id + 1 */
};

static bool
pset_has(const struct pset *s, size_t k)
{
	return (s->b[k / 64] >> (k % 64)) & 1;
}

static void
pset_add(struct pset *s, size_t k)
{
	s->b[k / 64] |= UINT64_C(1) << (k % 64);
}

static bool
pset_empty(const struct pset *s)
{
	uint64_t	or = 0;

	for (size_t i = 0; i < SET_WORDS; i++)
		or |= s->b[i];
	return or == 0;
}

/* The next member at or after k, or SIZE_MAX. */
static size_t
pset_next(const struct pset *s, size_t k)
{
	size_t		i = k / 64;
	uint64_t	m;

	if (i >= SET_WORDS)
		return SIZE_MAX;
	m = s->b[i] & (~UINT64_C(0) << (k % 64));
	for (;;) {
		if (m != 0)
			return i * 64 + (size_t)__builtin_ctzll(m);
		if (++i == SET_WORDS)
			return SIZE_MAX;
		m = s->b[i];
	}
}

/* Drops members past nw: positions beyond the last word do not exist. */
static void
pset_clip(struct pset *s, size_t nw)
{
	size_t	i = nw / 64, b = nw % 64;

	if (b != 63)
		s->b[i] &= (UINT64_C(1) << (b + 1)) - 1;
	for (i++; i < SET_WORDS; i++)
		s->b[i] = 0;
}

/* {k + 1 : k in a, k < nw}, each member also in mask when mask != NULL. */
static void
pset_step(struct pset *out, const struct pset *a, const struct pset *mask,
    size_t nw)
{
	uint64_t	carry = 0, v;

	for (size_t i = 0; i < SET_WORDS; i++) {
		v = mask != NULL ? a->b[i] & mask->b[i] : a->b[i];
		out->b[i] = (v << 1) | carry;
		carry = v >> 63;
	}
	pset_clip(out, nw);
}

/* {k : first <= k <= nw}: what a "#" makes of positions from first on. */
static void
pset_from(struct pset *out, size_t first, size_t nw)
{
	size_t	i = first / 64;

	memset(out, 0, sizeof(*out));
	out->b[i] = ~UINT64_C(0) << (first % 64);
	for (i++; i < SET_WORDS; i++)
		out->b[i] = ~UINT64_C(0);
	pset_clip(out, nw);
}

static void
emit(struct walk *w, struct topic_node *n)
{
	struct topic_dest	*d;
	size_t			 i;

	for (i = 0; i < n->nbind; i++) {
		d = n->bind[i]->d;
		if (d->mark == w->gen)
			continue;
		d->mark = w->gen;
		w->cb(d->dest, w->arg);
	}
}

/* The id of routing-key word (p, len) with hash h, or -1 if absent. */
static int
rk_word_id(const struct walk *w, const char *p, size_t len, uint64_t h)
{
	size_t	mask = sizeof(w->tab) / sizeof(w->tab[0]) - 1, i;

	for (i = h & mask; w->tab[i] != 0; i = (i + 1) & mask) {
		const struct rkword *x = &w->w[w->tab[i] - 1];

		if (x->h == h && x->len == len &&
		    (len == 0 || memcmp(x->p, p, len) == 0))
			return w->tab[i] - 1;
	}
	return -1;
}

static void	walk_node(struct walk *, struct topic_node *, const struct pset *);

/* The literal children of n, for the positions in s (before the end). */
static void
walk_literals(struct walk *w, struct topic_node *n, const struct pset *s)
{
	struct pset	 t, done;
	struct wkey	 k;
	struct topic_node *c;
	size_t		 q, npos = 0, i;
	int		 id;

	for (q = pset_next(s, 0); q != SIZE_MAX && q < w->nw;
	    q = pset_next(s, q + 1))
		npos++;
	if (n->children.n <= npos) {
		/* Fewer children than positions: look each child up. */
		for (i = 0; i < n->children.cap; i++) {
			if ((c = n->children.slot[i].ent) == NULL)
				continue;
			id = rk_word_id(w, c->word, c->wlen, c->whash);
			if (id < 0)
				continue;
			pset_step(&t, s, &w->occ[id], w->nw);
			walk_node(w, c, &t);
		}
		return;
	}
	/* Fewer positions: look each distinct word up among the children. */
	memset(&done, 0, sizeof(done));
	for (q = pset_next(s, 0); q != SIZE_MAX && q < w->nw;
	    q = pset_next(s, q + 1)) {
		id = w->w[q].id;
		if (pset_has(&done, (size_t)id))
			continue;
		pset_add(&done, (size_t)id);
		k.p = w->w[q].p;
		k.len = w->w[q].len;
		c = tmap_find(&n->children, w->w[q].h, node_eq, &k);
		if (c == NULL)
			continue;
		pset_step(&t, s, &w->occ[id], w->nw);
		walk_node(w, c, &t);
	}
}

/*
 * Node n's path matches the routing key's first k words for each k in s.
 * The recursion follows the trie downwards, so its depth is the trie's,
 * bounded by the words of a TOPIC_KEY_MAX-byte binding key.
 */
static void
walk_node(struct walk *w, struct topic_node *n, const struct pset *s)
{
	struct pset	t;

	if (pset_empty(s))
		return;
	if (pset_has(s, w->nw))
		emit(w, n);
	if (n->hash != NULL) {
		/* "#" takes zero or more words: every position from the first. */
		pset_from(&t, pset_next(s, 0), w->nw);
		walk_node(w, n->hash, &t);
	}
	if (n->star != NULL) {
		pset_step(&t, s, NULL, w->nw);
		walk_node(w, n->star, &t);
	}
	if (n->children.n > 0)
		walk_literals(w, n, s);
}

void
topic_trie_match(struct topic_trie *t, const char *rk, size_t len,
    void (*cb)(void *dest, void *arg), void *arg)
{
	struct walk	*w;
	struct words	 it;
	struct wkey	 k;
	struct pset	 s;
	size_t		 mask;
	int		 id;

	if (len > TOPIC_KEY_MAX)
		return;		/* spec: shortstr; the decoder refuses more */
	/* About 20 KB: too much for the stack of a deep caller; reused. */
	if ((w = t->walk) == NULL)
		w = t->walk = xmalloc(sizeof(*w));
	w->t = t;
	w->nw = 0;
	w->gen = ++t->gen;
	w->cb = cb;
	w->arg = arg;
	memset(w->tab, 0, sizeof(w->tab));
	mask = sizeof(w->tab) / sizeof(w->tab[0]) - 1;
	words_init(&it, rk, len);
	while (words_next(&it, &k)) {
		struct rkword *x = &w->w[w->nw];

		x->p = k.p;
		x->len = k.len;
		x->h = hash_word(k.p, k.len);
		if ((id = rk_word_id(w, k.p, k.len, x->h)) < 0) {
			size_t i;

			id = (int)w->nw;
			memset(&w->occ[id], 0, sizeof(w->occ[id]));
			for (i = x->h & mask; w->tab[i] != 0; i = (i + 1) & mask)
				;
			w->tab[i] = (uint16_t)(w->nw + 1);
		}
		x->id = (uint16_t)id;
		pset_add(&w->occ[id], w->nw);
		w->nw++;
	}
	memset(&s, 0, sizeof(s));
	pset_add(&s, 0);
	walk_node(w, t->root, &s);
}

/*
 * Word-level glob with one backtrack point (the last "#" seen): "*" and
 * literals always take exactly one word, so letting the latest "#" take
 * one more word is the only choice ever worth revisiting. O(pattern words
 * x key words) time, no allocation.
 */
bool
topic_match(const char *pat, size_t plen, const char *rk, size_t rlen)
{
	size_t	pend = plen + 1, rend = rlen + 1;
	size_t	pp = plen == 0 ? pend : 0, rp = rlen == 0 ? rend : 0;
	size_t	back_pp = SIZE_MAX, back_rp = 0, pe, re;

	while (rp != rend) {
		re = word_end(rk, rlen, rp);
		if (pp != pend) {
			pe = word_end(pat, plen, pp);
			if (pe - pp == 1 && pat[pp] == '#') {
				pp = pe + 1;
				back_pp = pp;
				back_rp = rp;
				continue;
			}
			if ((pe - pp == 1 && pat[pp] == '*') ||
			    (pe - pp == re - rp &&
			    memcmp(pat + pp, rk + rp, re - rp) == 0)) {
				pp = pe + 1;
				rp = re + 1;
				continue;
			}
		}
		if (back_pp == SIZE_MAX)
			return false;
		back_rp = word_end(rk, rlen, back_rp) + 1;
		rp = back_rp;
		pp = back_pp;
	}
	/* Only "#" words, matching nothing, may remain. */
	while (pp != pend) {
		pe = word_end(pat, plen, pp);
		if (pe - pp != 1 || pat[pp] != '#')
			return false;
		pp = pe + 1;
	}
	return true;
}
