/*
 * queue.declare arguments: RabbitMQ's validation of the x-* arguments it
 * knows (types, signs, ranges, and its reasons word for word), and the
 * values of those warren acts on.
 */
#ifndef WARREN_SERVER_QUEUE_ARGS_H
#define WARREN_SERVER_QUEUE_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/wire.h"

/* compat: RabbitMQ's ceiling for x-expires and x-message-ttl: 10 years. */
#define QUEUE_ARGS_MAX_EXPIRY	315360000000LL

/*
 * Checks a validated arguments table. Returns 0, or -1 with *key the
 * offending argument and why RabbitMQ's reason ("{value_zero,0}").
 */
int	queue_args_check(struct proto_table args, const char **key, char *why,
	    size_t whylen);
enum queue_type {
	QUEUE_CLASSIC,
	QUEUE_QUORUM,		/* x-queue-type=quorum (server/queue_quorum.h) */
};
/* The type x-queue-type names (args already checked). */
enum queue_type queue_args_type(struct proto_table args);
/* RabbitMQ's module name for it, as its error messages show. */
const char *queue_type_name(enum queue_type t);

/* What queue_args_check_type refused: one of the two is set. */
struct queue_args_refusal {
	const char	*arg;		/* an argument the type does not take */
	const char	*property;	/* "non-durable", "exclusive-owner", ... */
};
/*
 * The checks RabbitMQ makes once the values are valid: arguments of
 * another queue type, then the properties a quorum queue cannot have.
 * Returns 0, or -1 with *r filled.
 */
int	queue_args_check_type(struct proto_table args, bool durable,
	    bool exclusive, bool auto_delete, struct queue_args_refusal *r);
/* A quorum queue's x-delivery-limit (>= 0), else INT64_MAX. */
int64_t	queue_args_delivery_limit(struct proto_table args);

/* x-expires in milliseconds, or 0 when absent (args already checked). */
uint64_t queue_args_expires(struct proto_table args);
/* x-message-ttl in milliseconds, or -1 when absent. */
int64_t	queue_args_ttl(struct proto_table args);
/* x-max-priority (0 to 255), or 0 when absent: not a priority queue. */
uint8_t	queue_args_max_priority(struct proto_table args);
/* x-max-length, or -1 when absent. */
int64_t	queue_args_max_length(struct proto_table args);
/* x-max-length-bytes, or -1 when absent. */
int64_t	queue_args_max_length_bytes(struct proto_table args);
/* x-consumer-timeout in milliseconds, or -1 when absent. */
int64_t	queue_args_consumer_timeout(struct proto_table args);
/* Whether x-single-active-consumer is true. */
bool	queue_args_single_active(struct proto_table args);

enum queue_overflow {
	QUEUE_DROP_HEAD,		/* the default */
	QUEUE_REJECT_PUBLISH,
	QUEUE_REJECT_PUBLISH_DLX,
};
enum queue_overflow queue_args_overflow(struct proto_table args);

#endif /* WARREN_SERVER_QUEUE_ARGS_H */
