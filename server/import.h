/*
 * Applies a RabbitMQ definitions file (users with their hashes, vhosts,
 * permissions, exchanges, queues, bindings) through the same functions
 * AMQP methods use. Idempotent: what exists already is left as it is, so
 * the file can be loaded at every start (RabbitMQ's load_definitions).
 * POST /api/definitions calls the same code.
 */
#ifndef WARREN_SERVER_IMPORT_H
#define WARREN_SERVER_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

struct broker;
struct defs_callbacks;

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

/*
 * An import that does not hold the loop (POST /api/definitions): the text
 * is parsed and validated on a worker thread, then applied on the loop a
 * slice a turn (server/import_job.c). One runs at a time. done is called
 * on the loop once the last slice is applied, before the commit that
 * covers it, with rc 0 or -1 and the reason (as import_definitions_text).
 * The caller checks that none runs (import_job_running). The len bytes
 * at text lie in mem, which is taken (freed with free()).
 */
typedef void import_done_fn(void *arg, int rc, const char *err);
void	import_job_start(struct broker *b, void *mem, const char *text,
	    size_t len, const char *vhost, import_done_fn *done, void *arg);
/* Whether an import is under way. */
bool	import_job_running(const struct broker *b);
/* The waiter is gone: the import goes on, and calls no one at its end. */
void	import_job_forget(struct broker *b);
/* Broker teardown: waits for the worker, drops what is not applied. */
void	import_job_free(struct broker *b);

/* The appliers, shared by import.c and import_job.c. */
struct import {
	struct broker	*b;
	char		*err;		/* the loader's buffer, for reasons */
	size_t		 errlen;
	unsigned	 created;
};
extern const struct defs_callbacks import_cb;

#endif /* WARREN_SERVER_IMPORT_H */
