/*
 * queue.declare arguments: RabbitMQ's validation of the x-* arguments it
 * knows (types, signs, ranges, and its reasons word for word), and the
 * values of those warren acts on.
 */
#ifndef WARREN_SERVER_QUEUE_ARGS_H
#define WARREN_SERVER_QUEUE_ARGS_H

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
/* x-expires in milliseconds, or 0 when absent (args already checked). */
uint64_t queue_args_expires(struct proto_table args);
/* x-message-ttl in milliseconds, or -1 when absent. */
int64_t	queue_args_ttl(struct proto_table args);
/* x-max-priority (0 to 255), or 0 when absent: not a priority queue. */
uint8_t	queue_args_max_priority(struct proto_table args);
/* x-max-length, or -1 when absent. */
int64_t	queue_args_max_length(struct proto_table args);

enum queue_overflow {
	QUEUE_DROP_HEAD,		/* the default */
	QUEUE_REJECT_PUBLISH,
	QUEUE_REJECT_PUBLISH_DLX,
};
enum queue_overflow queue_args_overflow(struct proto_table args);

#endif /* WARREN_SERVER_QUEUE_ARGS_H */
