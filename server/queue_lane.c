/* The ring and requeue heap of one priority level (see queue_lane.h). */
#include "autoconf.h"

#include "server/queue_lane.h"

#include <assert.h>
#include <stdlib.h>

#include "lib/vec.h"

/* The ring's capacity is 0 or a power of two, so masking wraps. */
static struct qentry *
ring_at(const struct qlane *l, size_t i)
{
	return &l->ring[(l->ring_head + i) & (l->ring_cap - 1)];
}

/* Moves the live entries, in order, into a ring of ncap slots. */
static int
ring_resize(struct qlane *l, size_t ncap)
{
	struct qentry *n;
	size_t j = 0;

	assert((ncap & (ncap - 1)) == 0 &&
	    ncap >= l->ring_count - l->ring_gone);
	if ((n = malloc(ncap * sizeof(*n))) == NULL)
		return -1;
	for (size_t i = 0; i < l->ring_count; i++)
		if (!ring_at(l, i)->gone)
			n[j++] = *ring_at(l, i);
	free(l->ring);
	l->ring = n;
	l->ring_cap = ncap;
	l->ring_head = 0;
	l->ring_count = j;
	l->ring_gone = 0;
	return 0;
}

int
qlane_push(struct qlane *l, const struct qentry *e)
{
	if (l->ring_count == l->ring_cap) {
		/* Full of tombstones: compact in place of growing. */
		size_t ncap = l->ring_cap == 0 ? 16 :
		    l->ring_gone >= l->ring_cap / 2 ? l->ring_cap :
		    l->ring_cap * 2;

		if (ring_resize(l, ncap) == -1)
			return -1;
	}
	/* Masking wraps only if the capacity is a power of two. */
	assert((l->ring_cap & (l->ring_cap - 1)) == 0 &&
	    l->ring_count < l->ring_cap);
	*ring_at(l, l->ring_count) = *e;
	ring_at(l, l->ring_count)->gone = false;
	l->ring_count++;
	return 0;
}

/* Places e in the hole at i, moving it up while its parent is later. */
static void
heap_sift_up(struct qlane *l, size_t i, const struct qentry *e)
{
	while (i > 0 && l->heap[(i - 1) / 2].seq > e->seq) {
		l->heap[i] = l->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	l->heap[i] = *e;
}

/* Places e in the hole at i, moving it down while a child is earlier. */
static void
heap_sift_down(struct qlane *l, size_t i, const struct qentry *e)
{
	size_t n = l->heap_count;

	for (;;) {
		size_t a = 2 * i + 1, b = a + 1, m = i;

		if (a < n && l->heap[a].seq < e->seq)
			m = a;
		if (b < n && l->heap[b].seq < (m == i ? e->seq :
		    l->heap[m].seq))
			m = b;
		if (m == i)
			break;
		l->heap[i] = l->heap[m];
		i = m;
	}
	l->heap[i] = *e;
}

int
qlane_requeue(struct qlane *l, const struct qentry *e)
{
	if (vec_grow(&l->heap, &l->heap_cap, l->heap_count + 1,
	    sizeof(*l->heap), 16) == -1)
		return -1;
	heap_sift_up(l, l->heap_count++, e);
	return 0;
}

/* Takes the heap's entry at i out, keeping the heap order. */
static void
heap_take(struct qlane *l, size_t i, struct qentry *out)
{
	struct qentry last;

	assert(i < l->heap_count && l->heap_count <= l->heap_cap);
	*out = l->heap[i];
	last = l->heap[--l->heap_count];
	if (i == l->heap_count)
		return;
	if (i > 0 && l->heap[(i - 1) / 2].seq > last.seq)
		heap_sift_up(l, i, &last);
	else
		heap_sift_down(l, i, &last);
}

/* Drops tombstones from the front, so that the first entry is live. */
static void
ring_skip_gone(struct qlane *l)
{
	while (l->ring_count > 0 && l->ring[l->ring_head].gone) {
		l->ring_head = (l->ring_head + 1) & (l->ring_cap - 1);
		l->ring_count--;
		l->ring_gone--;
	}
}

bool
qlane_pop(struct qlane *l, struct qentry *out)
{
	if (l->heap_count > 0) {
		heap_take(l, 0, out);
		return true;
	}
	if (l->ring_count == 0)
		return false;
	assert(l->ring_count <= l->ring_cap && l->ring_head < l->ring_cap);
	*out = l->ring[l->ring_head];
	l->ring_head = (l->ring_head + 1) & (l->ring_cap - 1);
	l->ring_count--;
	ring_skip_gone(l);
	return true;
}

const struct qentry *
qlane_head(const struct qlane *l)
{
	if (l->heap_count > 0)
		return &l->heap[0];
	return l->ring_count > 0 ? &l->ring[l->ring_head] : NULL;
}

/* The heap's index of seq, or -1; only subtrees that can hold it. */
static long
heap_find(const struct qlane *l, size_t i, uint64_t seq)
{
	long r;

	if (i >= l->heap_count || l->heap[i].seq > seq)
		return -1;
	if (l->heap[i].seq == seq)
		return (long)i;
	if ((r = heap_find(l, 2 * i + 1, seq)) != -1)
		return r;
	return heap_find(l, 2 * i + 2, seq);
}

/* The ring's index of seq (the ring is sorted by seq), or -1. */
static long
ring_find(const struct qlane *l, uint64_t seq)
{
	size_t lo = 0, hi = l->ring_count;

	if (hi == 0 || seq < ring_at(l, 0)->seq ||
	    seq > ring_at(l, hi - 1)->seq)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ring_at(l, mid)->seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < l->ring_count && ring_at(l, lo)->seq == seq &&
	    !ring_at(l, lo)->gone ? (long)lo : -1;
}

bool
qlane_remove(struct qlane *l, uint64_t seq, struct qentry *out)
{
	struct qentry *e;
	long i;

	if ((i = ring_find(l, seq)) != -1) {
		e = ring_at(l, (size_t)i);
		*out = *e;
		e->gone = true;
		e->m = NULL;
		l->ring_gone++;
		ring_skip_gone(l);
		/* Bounded memory: tombstones are at most half the ring. */
		if (l->ring_gone > 16 && l->ring_gone * 2 > l->ring_count) {
			size_t live = l->ring_count - l->ring_gone, ncap = 16;

			while (ncap < live * 2)
				ncap *= 2;
			(void)ring_resize(l, ncap);	/* stays valid if not */
		}
		return true;
	}
	if ((i = heap_find(l, 0, seq)) != -1) {
		heap_take(l, (size_t)i, out);
		return true;
	}
	return false;
}

void
qlane_each(const struct qlane *l, void (*fn)(const struct qentry *, void *),
    void *arg)
{
	for (size_t i = 0; i < l->ring_count; i++)
		if (!ring_at(l, i)->gone)
			fn(ring_at(l, i), arg);
	for (size_t i = 0; i < l->heap_count; i++)
		fn(&l->heap[i], arg);
}

void
qlane_free(struct qlane *l)
{
	free(l->ring);
	free(l->heap);
	*l = (struct qlane){ 0 };
}
