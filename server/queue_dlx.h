/*
 * Dead-lettering (compat: RabbitMQ): a message rejected without requeue or
 * expired in a queue that names an x-dead-letter-exchange is published to
 * that exchange, with x-dead-letter-routing-key (its CC header dropped)
 * or all the keys it was published with (CC and BCC), its expiration
 * removed and an x-death history in its headers: one entry
 * per (queue, reason) with a count, most recent first, plus
 * x-first-death-{reason,queue,exchange}. A fully automatic cycle (back to
 * a queue it died in, with no rejection on the way) drops it, as RabbitMQ.
 */
#ifndef WARREN_SERVER_QUEUE_DLX_H
#define WARREN_SERVER_QUEUE_DLX_H

struct msg;
struct queue;
struct qentry;

enum dead_reason {
	DEAD_REJECTED,
	DEAD_EXPIRED,
	DEAD_MAXLEN,
	DEAD_DELIVERY_LIMIT,
};

/*
 * Republishes entry e of q to q's dead-letter exchange, if q has one
 * (loading e's body from the store when needed). The caller still drops
 * e as it would otherwise.
 */
void	dead_letter(struct queue *q, struct qentry *e, enum dead_reason why);
/* The same for a message q never took (reject-publish-dlx). */
void	queue_dlx_msg(struct queue *q, struct msg *m, enum dead_reason why);

#endif /* WARREN_SERVER_QUEUE_DLX_H */
