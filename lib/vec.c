#include "autoconf.h"

#include "lib/vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
vec_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t min)
{
	size_t n = *cap != 0 ? *cap : min;
	void *p;

	if (need <= *cap)
		return 0;
	if (n == 0)
		n = 1;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -1;
		n *= 2;
	}
	if (elem != 0 && n > SIZE_MAX / elem)
		return -1;
	/* The caller's T * is read and written as bytes: any object type. */
	memcpy(&p, pp, sizeof(p));
	if ((p = realloc(p, n * elem)) == NULL)
		return -1;
	memcpy(pp, &p, sizeof(p));
	*cap = n;
	return 0;
}
