/*
 * Direct reply-to (compat: RabbitMQ's "amq.rabbitmq.reply-to"): a client
 * consumes the pseudo-queue amq.rabbitmq.reply-to with no-ack and
 * publishes requests whose reply_to property names it; the broker
 * rewrites that to "amq.rabbitmq.reply-to.<token>", and a reply published
 * to the default exchange with the token as routing key goes straight to
 * the requesting channel, with no queue in between. The token is random
 * and valid only in the requester's vhost while its consumer lives.
 */
#ifndef WARREN_SERVER_CHAN_REPLY_TO_H
#define WARREN_SERVER_CHAN_REPLY_TO_H

#include <stdbool.h>

#include "protocol/spec.h"
#include "protocol/wire.h"

struct broker;
struct chan;
struct msg;

#define REPLY_TO_QUEUE		"amq.rabbitmq.reply-to"
#define REPLY_TO_PREFIX		"amq.rabbitmq.reply-to."

/* Whether name is the pseudo-queue or one of its tokens. */
bool	reply_to_named(struct proto_str name);
/* basic.consume on the pseudo-queue. Returns 0 or a chan_fail() code. */
int	reply_to_consume(struct chan *ch, const struct proto_basic_consume *m);
/* Whether tag is the channel's reply consumer; if so it is cancelled. */
bool	reply_to_cancel(struct chan *ch, struct proto_str tag);
/* Forgets the channel's reply consumer (channel closed or failed). */
void	reply_to_release(struct chan *ch);
/* queue.declare of the pseudo-queue or a token. */
int	reply_to_declare(struct chan *ch, const struct proto_queue_declare *m);
/*
 * A publish whose reply_to is the pseudo-queue: *m is replaced by a copy
 * whose reply_to is the channel's token. Returns 0 or a chan_fail() code
 * (406 when the channel does not consume its replies).
 */
int	reply_to_rewrite(struct chan *ch, struct msg **m);
struct route_keys;	/* server/exchange.h */
/*
 * A publish to the default exchange: delivers it once to each channel
 * whose token is one of its keys (the routing key, or compat: a CC or
 * BCC key, as RabbitMQ). False when no key names a live reply consumer
 * of the publisher's vhost.
 */
bool	reply_to_deliver(struct chan *ch, struct msg *m,
	    const struct route_keys *keys);
void	reply_to_free_all(struct broker *b);

#endif /* WARREN_SERVER_CHAN_REPLY_TO_H */
