/*
 * Topic-exchange binding matcher.
 *
 * Keys are split on '.' into words; words may be empty ("a..b" has three
 * words) and the empty key has no words at all. In a binding key "*" is
 * exactly one word and "#" zero or more. Bindings live in a trie whose
 * edges are binding words, with dedicated "*" and "#" children. Matching
 * visits each node at most once, carrying the set of word positions it
 * matches at, so the work is bounded by the trie's size even for hostile
 * keys such as "#.#.#.#".
 */
#ifndef WARREN_SERVER_ROUTE_TOPIC_H
#define WARREN_SERVER_ROUTE_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

/* spec: routing and binding keys are shortstr. */
#define TOPIC_KEY_MAX	255

struct topic_trie;

struct topic_trie	*topic_trie_new(void);
void			 topic_trie_free(struct topic_trie *t);

/*
 * Adds binding key -> dest (an opaque pointer). A (key, dest) pair already
 * present is kept once. Returns 0, or -1 with errno EINVAL for a key longer
 * than TOPIC_KEY_MAX bytes; aborts out of memory (lib/xmalloc.h).
 */
int	topic_trie_add(struct topic_trie *t, const char *key, size_t len,
	    void *dest);
/* Removes binding key -> dest; returns whether it was there. */
bool	topic_trie_remove(struct topic_trie *t, const char *key, size_t len,
	    void *dest);
/* Number of distinct (key, dest) bindings. */
size_t	topic_trie_count(const struct topic_trie *t);

/*
 * Calls cb(dest, arg) once for every dest with at least one binding key
 * matching rk. cb must not add or remove bindings on t, and must not call
 * topic_trie_match on t itself.
 */
void	topic_trie_match(struct topic_trie *t, const char *rk, size_t len,
	    void (*cb)(void *dest, void *arg), void *arg);

/* Whether binding key pattern matches routing key rk; allocates nothing. */
bool	topic_match(const char *pattern, size_t plen, const char *rk,
	    size_t rlen);

#endif /* WARREN_SERVER_ROUTE_TOPIC_H */
