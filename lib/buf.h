/*
 * A growable byte buffer with a cap set at creation. Bytes are appended at
 * the end and consumed from the front; consumed space is reclaimed lazily.
 */
#ifndef WARREN_LIB_BUF_H
#define WARREN_LIB_BUF_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t	*data;
	size_t	 off;	/* first unconsumed byte */
	size_t	 len;	/* end of valid bytes */
	size_t	 cap;	/* allocated */
	size_t	 max;	/* never grow past this (unconsumed bytes) */
};

void	buf_init(struct buf *b, size_t max);
void	buf_free(struct buf *b);
/* Unconsumed bytes. */
static inline size_t
buf_used(const struct buf *b)
{
	return b->len - b->off;
}
static inline uint8_t *
buf_head(const struct buf *b)
{
	return b->data + b->off;
}
/* Makes room for n more bytes at the tail; false if that passes max. */
bool	buf_reserve(struct buf *b, size_t n);
/* The tail, valid after buf_reserve(). */
static inline uint8_t *
buf_tail(const struct buf *b)
{
	return b->data + b->len;
}
/*
 * Counts n bytes written at buf_tail() as valid. n must fit in what the
 * last buf_reserve() made room for.
 */
static inline void
buf_commit(struct buf *b, size_t n)
{
	assert(n <= b->cap - b->len);
	b->len += n;
}
bool	buf_append(struct buf *b, const void *p, size_t n);
/* Drops n bytes from the front; n must not pass buf_used(). */
void	buf_consume(struct buf *b, size_t n);
/* Drops excess capacity when the buffer is empty and large (idle memory). */
void	buf_shrink(struct buf *b, size_t keep);

#endif /* WARREN_LIB_BUF_H */
