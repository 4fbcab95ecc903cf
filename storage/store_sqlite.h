/*
 * Internal to storage/: struct store and the SQLite side of it, one
 * function per write the batch can apply. store.c owns the batch and
 * calls these only inside store_commit(); recover.c reads with them.
 */
#ifndef WARREN_STORAGE_STORE_SQLITE_H
#define WARREN_STORAGE_STORE_SQLITE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

/* Statements prepared once at open (SQLITE_PREPARE_PERSISTENT). */
enum sql_stmt {
	SQL_BEGIN,
	SQL_COMMIT,
	SQL_ROLLBACK,
	SQL_VHOST_PUT,
	SQL_VHOST_DEL,
	SQL_VHOST_DEL_EXCHANGES,
	SQL_VHOST_DEL_BINDINGS,
	SQL_VHOST_QUEUES,
	SQL_EXCHANGE_PUT,
	SQL_EXCHANGE_DEL,
	SQL_EXCHANGE_DEL_BINDINGS,
	SQL_QUEUE_PUT,
	SQL_QUEUE_DEL_BINDINGS,
	SQL_QUEUE_DEL_UNREF,
	SQL_QUEUE_DEL_MESSAGES,
	SQL_QUEUE_DEL_ENTRIES,
	SQL_QUEUE_DEL,
	SQL_BINDING_PUT,
	SQL_BINDING_DEL,
	SQL_MESSAGE_PUT,
	SQL_MESSAGE_DEL,
	SQL_MESSAGE_UNREF,
	SQL_MESSAGE_DEL_UNREFERENCED,
	SQL_MESSAGE_LOAD,
	SQL_ENTRY_PUT,
	SQL_ENTRY_DELIVERED,
	SQL_ENTRY_DEL,
	SQL_ENTRY_DEL_RANGE,
	SQL_MESSAGE_DEL_RANGE,
	SQL_VHOST_LIMITS,
	SQL_VHOST_META,
	SQL_USER_PUT,
	SQL_USER_DEL,
	SQL_USER_DEL_PERMISSIONS,
	SQL_PERMISSION_PUT,
	SQL_PERMISSION_DEL,
	SQL_TOPIC_PERMISSION_PUT,
	SQL_TOPIC_PERMISSION_DEL,
	SQL_USER_DEL_TOPIC_PERMISSIONS,
	SQL_VHOST_DEL_PERMISSIONS,
	SQL_VHOST_DEL_TOPIC_PERMISSIONS,
	SQL_SEEDED_GET,
	SQL_SEEDED_PUT,
	SQL_NSTMT
};

struct op;		/* storage/store.c: one queued write */
struct slot;		/* storage/store.c: a batch hash slot */

/* Open addressing; a slot whose gen is not the batch's is free. */
struct bmap {
	struct slot	*slots;
	size_t		 n, cap;	/* cap is 0 or a power of two */
};

/*
 * The checkpointer: a thread with its own connection that copies the WAL
 * into the database file, so that the loop's commits never do. The loop's
 * thread only sets pending (from the WAL hook) and stop (at close).
 */
struct ckpt {
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

struct store {
	sqlite3		*db;		/* the loop's thread only */
	sqlite3_stmt	*stmt[SQL_NSTMT];
	int		 lockfd;	/* DIR/warrend.lock, flock()ed */
	uint64_t	 next_queue_id;
	uint64_t	 next_msg_id;
	void		(*release)(void *owner);
	int		 inject;	/* commits left to fail on purpose */

	/* The batch: every array is grow-only and reset per commit. */
	struct op	*ops;
	size_t		 nops, opcap;
	size_t		 retained;	/* ops kept from a failed commit */
	char		*arena;		/* copies of definition blobs */
	size_t		 arenalen, arenacap;
	struct bmap	 entries;	/* (queue, seq) -> pending put op */
	struct bmap	 msgs;		/* msg id -> pending put op */
	uint32_t	 gen;		/* slots of older batches are free */

	/* store_load_message's copy, valid until the next store call. */
	char		*loadbuf;
	size_t		 loadcap;

	struct ckpt	 ckpt;

	char		 errmsg[256];
};

/* Opens the database into st (lock, pragmas, schema, statements). */
int	sql_open(struct store *st, const char *dir,
	    enum store_durability durability, char *err, size_t errlen);
void	sql_close(struct store *st);
/* Records the failure of what with SQLite's error text; returns -1. */
int	sql_fail(struct store *st, const char *what);

int	sql_begin(struct store *st);
int	sql_commit(struct store *st);
void	sql_rollback(struct store *st);

int	sql_put_vhost(struct store *st, struct store_blob name);
int	sql_put_vhost_meta(struct store *st, struct store_blob name,
	    struct store_blob description, struct store_blob tags);
int	sql_put_vhost_limits(struct store *st, struct store_blob name,
	    int64_t max_connections, int64_t max_queues);
int	sql_put_user(struct store *st, struct store_blob name,
	    struct store_blob hash, struct store_blob algorithm,
	    struct store_blob tags);
int	sql_del_user(struct store *st, struct store_blob name);
int	sql_put_permission(struct store *st, struct store_blob user,
	    struct store_blob vhost, struct store_blob configure,
	    struct store_blob write, struct store_blob read);
int	sql_del_permission(struct store *st, struct store_blob user,
	    struct store_blob vhost);
/* 1 if a user is stored, 0 if none, -1 on error. */
int	sql_put_topic_permission(struct store *st, struct store_blob user,
	    struct store_blob vhost, struct store_blob exchange,
	    struct store_blob write, struct store_blob read);
int	sql_del_topic_permission(struct store *st, struct store_blob user,
	    struct store_blob vhost, struct store_blob exchange);
/* 1 if the database was seeded, 0 if not, -1 on error. */
int	sql_seeded(struct store *st);
int	sql_put_seeded(struct store *st);
int	sql_del_vhost(struct store *st, struct store_blob name);
int	sql_put_exchange(struct store *st, struct store_blob vhost,
	    struct store_blob name, struct store_blob type, unsigned flags,
	    struct store_blob args);
int	sql_del_exchange(struct store *st, struct store_blob vhost,
	    struct store_blob name);
int	sql_put_queue(struct store *st, uint64_t id, struct store_blob vhost,
	    struct store_blob name, unsigned flags, struct store_blob args);
int	sql_del_queue(struct store *st, uint64_t id);
int	sql_binding(struct store *st, bool add, struct store_blob vhost,
	    struct store_blob source, bool dest_is_queue,
	    struct store_blob dest, struct store_blob key,
	    struct store_blob args);
int	sql_put_message(struct store *st, uint64_t id, uint32_t refs,
	    const struct store_blob b[4]);
/* The message lost one entry: delete it (unshared) or count it down. */
int	sql_unref_message(struct store *st, uint64_t id, bool shared);
int	sql_put_entry(struct store *st, uint64_t queue_id, uint64_t seq,
	    uint64_t msg_id, uint32_t delivery_count, unsigned flags,
	    uint64_t expires_at, uint8_t priority);
int	sql_entry_delivered(struct store *st, uint64_t queue_id,
	    uint64_t seq);
int	sql_del_entry(struct store *st, uint64_t queue_id, uint64_t seq);
/* Deletes n unshared entries from seq on and messages from msg_id on. */
int	sql_del_entries(struct store *st, uint64_t queue_id, uint64_t seq,
	    uint64_t msg_id, uint32_t n);
int	sql_load_message(struct store *st, uint64_t id,
	    struct store_message *out);

/* A column as a blob: never a NULL pointer, length 0 for NULL. */
struct store_blob sql_column_blob(sqlite3_stmt *s, int col);

#endif /* WARREN_STORAGE_STORE_SQLITE_H */
