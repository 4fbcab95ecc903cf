#include "autoconf.h"

#include "lib/buf.h"

#include <stdlib.h>
#include <string.h>

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

bool
buf_reserve(struct buf *b, size_t n)
{
	size_t used = b->len - b->off, want, ncap;
	uint8_t *p;

	if (n > b->max || used > b->max - n)
		return false;
	if (b->cap - b->len >= n)
		return true;
	/* Slide unconsumed bytes to the front before growing. */
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, used);
		b->off = 0;
		b->len = used;
		if (b->cap - b->len >= n)
			return true;
	}
	want = used + n;
	ncap = b->cap ? b->cap : 512;
	while (ncap < want)
		ncap *= 2;
	if ((p = realloc(b->data, ncap)) == NULL)
		return false;
	b->data = p;
	b->cap = ncap;
	return true;
}

bool
buf_append(struct buf *b, const void *p, size_t n)
{
	if (!buf_reserve(b, n))
		return false;
	if (n == 0)
		return true;
	memcpy(b->data + b->len, p, n);
	buf_commit(b, n);
	return true;
}

void
buf_consume(struct buf *b, size_t n)
{
	assert(n <= buf_used(b));
	b->off += n;
	if (b->off >= b->len)
		b->off = b->len = 0;
}

void
buf_shrink(struct buf *b, size_t keep)
{
	if (b->off != b->len || b->cap <= keep)
		return;
	free(b->data);
	b->data = NULL;
	b->cap = b->off = b->len = 0;
}
