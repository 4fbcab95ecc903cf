/*
 * Internal to storage/, part of the SQLite backend: the checkpointer, a
 * thread with its own connection that copies the WAL into the database
 * file, so that the loop's commits never do. The loop's thread only sets
 * pending (from the WAL hook) and stop (at close).
 */
#ifndef WARREN_STORAGE_STORE_SQLITE_CKPT_H
#define WARREN_STORAGE_STORE_SQLITE_CKPT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

struct ckpt {
	sqlite3		*loopdb;	/* the writer's connection, hooked */
	pthread_t	 thread;
	bool		 started;	/* joined at close */
	bool		 over;		/* loop's thread: WAL above the limit */
	sqlite3		*db;		/* used by the thread alone */
	pthread_mutex_t	 mu;		/* guards the fields below */
	pthread_cond_t	 wake;		/* pending or stop was set */
	pthread_cond_t	 idle;		/* running went false */
	bool		 pending;	/* a pass was asked for */
	bool		 running;	/* a pass is under way */
	bool		 stop;
	uint64_t	 passes;	/* finished, whatever their result */
	int		 lastrc;	/* of the last pass (SQLITE_BUSY is normal) */
};

/*
 * Opens the checkpointer's connection to path, starts it and hooks it to
 * loopdb's commits. Returns 0, or -1 with a message in err; ckpt_stop()
 * cleans up either way.
 */
int	ckpt_start(struct ckpt *c, sqlite3 *loopdb, const char *path,
	    enum store_durability durability, char *err, size_t errlen);
/* Stops the thread (a pass under way ends first) and closes its side. */
void	ckpt_stop(struct ckpt *c);

#endif /* WARREN_STORAGE_STORE_SQLITE_CKPT_H */
