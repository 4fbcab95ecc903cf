/*
 * Applies a RabbitMQ definitions file (users with their hashes, vhosts,
 * permissions, exchanges, queues, bindings) through the same functions
 * AMQP methods use. Idempotent: what exists already is left as it is, so
 * the file can be loaded at every start (RabbitMQ's load_definitions).
 * The admin API's import will call the same code.
 */
#ifndef WARREN_SERVER_IMPORT_H
#define WARREN_SERVER_IMPORT_H

#include <stddef.h>

struct broker;

/* Returns 0, or -1 with the reason in err. */
int	import_definitions_file(struct broker *b, const char *path, char *err,
	    size_t errlen);

#endif /* WARREN_SERVER_IMPORT_H */
