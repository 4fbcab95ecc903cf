/*
 * Internal to storage/: what the batch layer (store.c) needs from the
 * database under it. store.c queues, coalesces and cancels the writes of
 * one loop turn and knows nothing of SQLite; a backend (store_sqlite.c
 * today, dqlite next: ROADMAP) applies a batch of store_ops in one
 * transaction and reads the state back.
 *
 * The contract, which dqlite can keep: one writer (the loop's thread);
 * commit() returns once the batch is as durable as the backend promises
 * (fsynced, or for dqlite on a majority of nodes), or fails; after a
 * failure the batch layer rolls back and retries the ops it keeps in the
 * next batch, so a backend never retries on its own. Checkpoints,
 * snapshots and the like are the backend's business, off the commit path.
 *
 * Every function returning int returns 0 or -1; after -1, errmsg() says
 * why.
 */
#ifndef WARREN_STORAGE_STORE_BACKEND_H
#define WARREN_STORAGE_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"
#include "storage/store_op.h"

struct store_backend_ops {
	/* The ids the next queue and message get: past every stored one. */
	int	(*next_ids)(void *be, uint64_t *queue_id, uint64_t *msg_id);
	int	(*begin)(void *be);
	/* One op of the open transaction; its blobs live until commit. */
	int	(*apply)(void *be, const struct store_op *op);
	int	(*commit)(void *be);
	/* Also after a failed commit, which may have rolled back already. */
	void	(*rollback)(void *be);
	/* 1 if the database was seeded, 0 if not, -1 on error. */
	int	(*seeded)(void *be);
	/* As store_load_message, reading committed state only. */
	int	(*load_message)(void *be, uint64_t msg_id,
		    struct store_message *out);
	/* As store_recover; it may write (exclusive queues are dropped). */
	int	(*recover)(void *be, const struct store_recovery *cb,
		    void *arg);
	const char *(*errmsg)(void *be);
	/* Frees be; the lock on the data, if any, goes with it. */
	void	(*close)(void *be);
};

/*
 * The batch layer on an open backend, which it closes at store_close (or
 * here, on failure). Returns NULL with a message in err.
 */
struct store *store_new(const struct store_backend_ops *ops, void *be,
	    char *err, size_t errlen);

#endif /* WARREN_STORAGE_STORE_BACKEND_H */
