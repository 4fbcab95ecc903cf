/*
 * Applies a RabbitMQ definitions file (users with their hashes, vhosts,
 * permissions, exchanges, queues, bindings) through the same functions
 * AMQP methods use. Idempotent: what exists already is left as it is, so
 * the file can be loaded at every start (RabbitMQ's load_definitions).
 * POST /api/definitions calls the same code.
 */
#ifndef WARREN_SERVER_IMPORT_H
#define WARREN_SERVER_IMPORT_H

#include <stddef.h>

struct broker;

/*
 * The same from text (POST /api/definitions); vhost: a vhost's
 * definitions, all applied to that vhost (NULL: the whole broker's).
 * Returns 0, or -1 with the reason in err.
 */
int	import_definitions_text(struct broker *b, const char *text, size_t len,
	    const char *vhost, char *err, size_t errlen);
/* Returns 0, or -1 with the reason in err. */
int	import_definitions_file(struct broker *b, const char *path, char *err,
	    size_t errlen);

#endif /* WARREN_SERVER_IMPORT_H */
