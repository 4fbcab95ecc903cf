#include "autoconf.h"

#include "lib/xmalloc.h"

#include "lib/log.h"
#include "lib/vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void __attribute__((noreturn))
oom(const char *what, size_t size)
{
	log_warnx("%s: out of memory allocating %zu bytes", what, size);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p;

	/* malloc(0) may return NULL: ask for one byte so NULL means OOM. */
	if ((p = malloc(size != 0 ? size : 1)) == NULL)
		oom("xmalloc", size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((p = calloc(n, size)) == NULL)
		oom("xcalloc", n > SIZE_MAX / size ? SIZE_MAX : n * size);
	return p;
}

void *
xrealloc(void *p, size_t size)
{
	if ((p = realloc(p, size != 0 ? size : 1)) == NULL)
		oom("xrealloc", size);
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		oom("xreallocarray", SIZE_MAX);
	return xrealloc(p, n * size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p;
	size_t len = strnlen(s, n);

	p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void
xvec_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t min)
{
	if (vec_grow(pp, cap, need, elem, min) == -1)
		oom("xvec_grow", need);
}
