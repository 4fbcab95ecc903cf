/*
 * Growable arrays: the one "double the capacity" rule, with the overflow
 * checks written once.
 */
#ifndef WARREN_LIB_VEC_H
#define WARREN_LIB_VEC_H

#include <stddef.h>

/*
 * Makes the array at *pp (a T **, passed as void *) hold at least need
 * elements of elem bytes: the capacity doubles from *cap, or from min when
 * it is 0, until it is enough. Returns -1, leaving *pp and *cap as they
 * were, out of memory or if the size would overflow.
 */
int	vec_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t min);

#endif /* WARREN_LIB_VEC_H */
