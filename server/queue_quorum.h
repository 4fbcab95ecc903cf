/*
 * Quorum queues (x-queue-type=quorum) as a client of a single node can
 * tell them from classic ones (compat: RabbitMQ 3.10): a message returned
 * more than x-delivery-limit times is dead-lettered (reason
 * delivery_limit) instead of requeued, deliveries carry an
 * x-delivery-count header with their number of earlier returns, and
 * consumers refuse a channel with a global prefetch limit. Their storage
 * is that of any durable queue.
 */
#ifndef WARREN_SERVER_QUEUE_QUORUM_H
#define WARREN_SERVER_QUEUE_QUORUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct qentry;
struct queue;

/* Whether e, being returned now, has used up q's delivery limit. */
bool	quorum_over_limit(const struct queue *q, const struct qentry *e);
/*
 * The properties to deliver e with. From a quorum queue, a copy of the
 * message's with x-delivery-count set, in *buf (the caller frees it);
 * otherwise the message's own and *buf NULL. Returns false on ENOMEM.
 * compat: RabbitMQ 3.10 leaves the header out of a consumer's first
 * delivery but sends 0 with a first basic.get-ok.
 */
bool	quorum_delivery_props(const struct queue *q, const struct qentry *e,
	    bool get, const uint8_t **props, size_t *len, uint8_t **buf);

#endif /* WARREN_SERVER_QUEUE_QUORUM_H */
