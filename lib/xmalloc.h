/*
 * Allocation that cannot fail, for the broker's own bookkeeping.
 *
 * The policy, one for the whole tree (as in Redis and OpenSMTPD):
 *   - Memory whose size a client chooses and the configuration caps
 *     (message bodies and properties, input and output buffers, admin
 *     request bodies, JSON documents, field tables, definitions files)
 *     uses plain malloc and fails recoverably: 541 RESOURCE_ERROR, "output
 *     buffer full", HTTP 413 or 500, and so on.
 *   - Everything else (fixed-size structs, names, lists, maps, the
 *     broker's arrays, storage batches, recovery) uses these functions.
 *     Running out there leaves no state worth keeping consistent, and an
 *     error path nobody can test is worse than a clean stop: they log and
 *     abort().
 */
#ifndef WARREN_LIB_XMALLOC_H
#define WARREN_LIB_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t size);
void	*xcalloc(size_t n, size_t size);
void	*xrealloc(void *p, size_t size);
/* realloc to n * size bytes, aborting if the product overflows. */
void	*xreallocarray(void *p, size_t n, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
/* vec_grow (lib/vec.h) that aborts instead of returning -1. */
void	 xvec_grow(void *pp, size_t *cap, size_t need, size_t elem,
	    size_t min);

#endif /* WARREN_LIB_XMALLOC_H */
