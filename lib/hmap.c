#include "autoconf.h"

#include "lib/hmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lib/log.h"
#include "lib/siphash.h"
#include "lib/xmalloc.h"

/*
 * One key for every map in the process, drawn once from the kernel. A
 * clock or an address would be guessable; without randomness there is no
 * safe map, so warrend stops rather than run with a predictable key.
 */
static uint8_t	hmap_key[SIPHASH_KEY_LEN];
static bool	hmap_keyed;

static void
hmap_key_init(void)
{
	size_t got = 0;

	while (got < sizeof(hmap_key)) {
		ssize_t n = getrandom(hmap_key + got, sizeof(hmap_key) - got,
		    0);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("hmap: getrandom");
		}
		got += (size_t)n;
	}
	hmap_keyed = true;
}

static uint64_t
hash_bytes(const void *key, size_t len)
{
	return siphash24(hmap_key, key, len);
}

uint64_t
hmap_hash(const void *key, size_t len)
{
	if (!hmap_keyed)
		hmap_key_init();
	return hash_bytes(key, len);
}

void
hmap_init(struct hmap *m)
{
	memset(m, 0, sizeof(*m));
	if (!hmap_keyed)
		hmap_key_init();
}

void
hmap_free(struct hmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->count = 0;
}

static struct hmap_slot *
find(const struct hmap *m, const void *key, size_t klen, uint64_t h)
{
	size_t mask = m->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct hmap_slot *s = &m->slots[i];

		if (s->val == NULL)
			return s;
		if (s->hash == h && s->klen == klen &&
		    (klen == 0 || memcmp(s->key, key, klen) == 0))
			return s;
	}
}

void *
hmap_get(const struct hmap *m, const void *key, size_t klen)
{
	if (m->count == 0)
		return NULL;
	return find(m, key, klen, hash_bytes(key, klen))->val;
}

static void
grow(struct hmap *m)
{
	struct hmap_slot *old = m->slots;
	size_t ocap = m->cap, ncap = ocap ? ocap * 2 : 8;

	m->slots = xcalloc(ncap, sizeof(*m->slots));
	m->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].val != NULL)
			*find(m, old[i].key, old[i].klen, old[i].hash) = old[i];
	free(old);
}

void
hmap_put(struct hmap *m, const void *key, size_t klen, void *val)
{
	struct hmap_slot *s;
	uint64_t h;

	if ((m->count + 1) * 4 > m->cap * 3)
		grow(m);
	h = hash_bytes(key, klen);
	s = find(m, key, klen, h);
	if (s->val == NULL)
		m->count++;
	s->key = key;
	s->klen = klen;
	s->hash = h;
	s->val = val;
}

void *
hmap_del(struct hmap *m, const void *key, size_t klen)
{
	struct hmap_slot *s;
	size_t mask = m->cap - 1, i, j;
	void *val;

	if (m->count == 0)
		return NULL;
	s = find(m, key, klen, hash_bytes(key, klen));
	if ((val = s->val) == NULL)
		return NULL;
	/* Backward-shift deletion keeps probe chains intact without tombstones. */
	i = (size_t)(s - m->slots);
	for (j = (i + 1) & mask; m->slots[j].val != NULL; j = (j + 1) & mask) {
		size_t home = m->slots[j].hash & mask;

		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].val = NULL;
	m->count--;
	return val;
}

bool
hmap_next(const struct hmap *m, size_t *i, void **val)
{
	for (; *i < m->cap; (*i)++)
		if (m->slots[*i].val != NULL) {
			*val = m->slots[(*i)++].val;
			return true;
		}
	return false;
}
