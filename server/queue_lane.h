/*
 * A lane: the ready entries of one priority level of a queue (a queue
 * without x-max-priority has one). New entries go to a FIFO ring;
 * requeued ones to a min-heap on seq. Every requeued entry was delivered
 * before any entry still in the same lane's ring, so taking from the heap
 * first puts requeued messages back at their original position, as
 * RabbitMQ does.
 *
 * An entry can also leave from the middle (a message expiring at its own
 * deadline, queue_ttl.c): in the heap it is removed at once; in the ring it
 * leaves a tombstone that keeps its seq (the ring stays sorted for the
 * search by seq). The ring's first entry is never a tombstone, and the ring
 * is compacted once tombstones are half of it, so they cost bounded memory
 * and amortised constant work.
 */
#ifndef WARREN_SERVER_QUEUE_LANE_H
#define WARREN_SERVER_QUEUE_LANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct msg;		/* server/msg.h */

/* One message's place in one queue; per-message metadata lives here. */
struct qentry {
	struct msg	*m;		/* NULL while the body is only on disk */
	uint64_t	 seq;		/* position in the queue */
	uint64_t	 msg_id;	/* store id, 0 when not stored */
	uint32_t	 deliveries;	/* > 0 means redelivered */
	uint32_t	 body_len;	/* max-message-size is <= 512 MiB */
	uint16_t	 flags;		/* STORE_ENTRY_* */
	uint8_t		 priority;	/* its lane, clamped to x-max-priority */
	bool		 gone;		/* a tombstone in the ring */
	uint64_t	 expires_at;	/* ms since the epoch; 0: never */
};

struct qlane {
	struct qentry	*ring;		/* new entries, in seq order */
	size_t		 ring_cap, ring_head, ring_count;
	size_t		 ring_gone;	/* tombstones among ring_count */
	struct qentry	*heap;		/* requeued, min-heap on seq */
	size_t		 heap_cap, heap_count;
};

static inline size_t
qlane_count(const struct qlane *l)
{
	return l->ring_count - l->ring_gone + l->heap_count;
}

/* Appends a new entry at the tail; -1 on ENOMEM. */
int	qlane_push(struct qlane *l, const struct qentry *e);
/* Puts a delivered entry back at its position by seq; -1 on ENOMEM. */
int	qlane_requeue(struct qlane *l, const struct qentry *e);
/* Takes the first entry; false when empty. */
bool	qlane_pop(struct qlane *l, struct qentry *out);
/* The entry qlane_pop would return, or NULL. */
const struct qentry *qlane_head(const struct qlane *l);
/*
 * Takes the entry with this seq out of the lane, wherever it is; false when
 * no ready entry has it (it was delivered, or is gone). Costs a binary
 * search in the ring, or a walk of the requeued heap pruned by seq.
 */
bool	qlane_remove(struct qlane *l, uint64_t seq, struct qentry *out);
/* Calls fn on every entry (tombstones aside), in no particular order. */
void	qlane_each(const struct qlane *l,
	    void (*fn)(const struct qentry *, void *), void *arg);
/* Gives back the memory of an emptied lane. */
void	qlane_free(struct qlane *l);

#endif /* WARREN_SERVER_QUEUE_LANE_H */
