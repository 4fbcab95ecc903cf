/*
 * A hash map from byte strings to pointers. Keys are borrowed: each key must
 * live as long as its entry (it is normally the name stored in the value).
 * Open addressing, linear probing, backward-shift deletion. The hash is
 * SipHash-2-4 under a random per-process key, so client-chosen names
 * (queues, consumer tags, binding keys) cannot be made to collide.
 */
#ifndef WARREN_LIB_HMAP_H
#define WARREN_LIB_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap_slot {
	const void	*key;
	size_t		 klen;
	uint64_t	 hash;
	void		*val;	/* NULL = empty slot */
};

struct hmap {
	struct hmap_slot *slots;
	size_t		  cap;	/* power of two, or 0 */
	size_t		  count;
};

void	hmap_init(struct hmap *m);
/*
 * The maps' keyed hash (SipHash-2-4 under the one per-process key), for
 * other tables whose keys clients choose.
 */
uint64_t hmap_hash(const void *key, size_t len);
void	hmap_free(struct hmap *m);
void	*hmap_get(const struct hmap *m, const void *key, size_t klen);
/* Inserts or replaces; val must not be NULL. Aborts out of memory. */
void	hmap_put(struct hmap *m, const void *key, size_t klen, void *val);
/* Removes and returns the value, or NULL. */
void	*hmap_del(struct hmap *m, const void *key, size_t klen);

/* Iteration: for (size_t i = 0; hmap_next(m, &i, &val);) ... (no changes). */
bool	hmap_next(const struct hmap *m, size_t *i, void **val);

#endif /* WARREN_LIB_HMAP_H */
