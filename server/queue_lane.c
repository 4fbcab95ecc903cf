/* The ring and requeue heap of one priority level (see queue_lane.h). */
#include "autoconf.h"

#include "server/queue_lane.h"

#include <assert.h>
#include <stdlib.h>

#include "lib/vec.h"

static int
ring_grow(struct qlane *l)
{
	size_t ncap = l->ring_cap ? l->ring_cap * 2 : 16;
	struct qentry *n;

	if ((n = malloc(ncap * sizeof(*n))) == NULL)
		return -1;
	for (size_t i = 0; i < l->ring_count; i++)
		n[i] = l->ring[(l->ring_head + i) & (l->ring_cap - 1)];
	free(l->ring);
	l->ring = n;
	l->ring_cap = ncap;
	l->ring_head = 0;
	return 0;
}

int
qlane_push(struct qlane *l, const struct qentry *e)
{
	if (l->ring_count == l->ring_cap && ring_grow(l) == -1)
		return -1;
	/* Masking wraps only if the capacity is a power of two. */
	assert((l->ring_cap & (l->ring_cap - 1)) == 0 &&
	    l->ring_count < l->ring_cap);
	l->ring[(l->ring_head + l->ring_count) & (l->ring_cap - 1)] = *e;
	l->ring_count++;
	return 0;
}

int
qlane_requeue(struct qlane *l, const struct qentry *e)
{
	size_t i;

	if (vec_grow(&l->heap, &l->heap_cap, l->heap_count + 1,
	    sizeof(*l->heap), 16) == -1)
		return -1;
	/* Sift up. */
	i = l->heap_count++;
	while (i > 0 && l->heap[(i - 1) / 2].seq > e->seq) {
		l->heap[i] = l->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	l->heap[i] = *e;
	return 0;
}

static void
heap_pop(struct qlane *l, struct qentry *out)
{
	struct qentry last;
	size_t i = 0, n;

	assert(l->heap_count > 0 && l->heap_count <= l->heap_cap);
	*out = l->heap[0];
	last = l->heap[--l->heap_count];
	n = l->heap_count;
	for (;;) {
		size_t a = 2 * i + 1, b = a + 1, m = i;

		if (a < n && l->heap[a].seq < last.seq)
			m = a;
		if (b < n && l->heap[b].seq < (m == i ? last.seq :
		    l->heap[m].seq))
			m = b;
		if (m == i)
			break;
		l->heap[i] = l->heap[m];
		i = m;
	}
	if (n > 0)
		l->heap[i] = last;
}

bool
qlane_pop(struct qlane *l, struct qentry *out)
{
	if (l->heap_count > 0) {
		heap_pop(l, out);
		return true;
	}
	if (l->ring_count == 0)
		return false;
	assert(l->ring_count <= l->ring_cap && l->ring_head < l->ring_cap);
	*out = l->ring[l->ring_head];
	l->ring_head = (l->ring_head + 1) & (l->ring_cap - 1);
	l->ring_count--;
	return true;
}

const struct qentry *
qlane_head(const struct qlane *l)
{
	if (l->heap_count > 0)
		return &l->heap[0];
	return l->ring_count > 0 ? &l->ring[l->ring_head] : NULL;
}

void
qlane_free(struct qlane *l)
{
	free(l->ring);
	free(l->heap);
	*l = (struct qlane){ 0 };
}
