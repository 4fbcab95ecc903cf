/*
 * The storage interface the server uses. It speaks in ids and byte blobs,
 * never in server structs: the server decides what is durable and calls
 * these functions; the store batches every write of one loop turn into
 * one transaction, committed by store_commit() in the broker's prepare
 * step (group commit). A second backend (dqlite) must fit behind this:
 * store.c reaches the database only through storage/store_backend.h.
 *
 * Writes are queued in call order and applied in that order at commit, so
 * a queue declared, filled and deleted within one turn ends up consistent.
 * A message entry put and acked within one batch is never written at all.
 */
#ifndef WARREN_STORAGE_STORE_H
#define WARREN_STORAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

enum store_durability {
	STORE_FSYNC,	/* confirmed = fsynced (synchronous=FULL) */
	STORE_OS,	/* confirmed = in the OS (synchronous=NORMAL) */
};

/* A borrowed byte string. */
struct store_blob {
	const void	*p;
	size_t		 len;
};

/* Queue flags stored with a queue definition. */
#define STORE_QUEUE_DURABLE	0x1u
#define STORE_QUEUE_EXCLUSIVE	0x2u
#define STORE_QUEUE_AUTO_DELETE	0x4u

/* Exchange flags stored with an exchange definition. */
#define STORE_EXCHANGE_DURABLE		0x1u
#define STORE_EXCHANGE_AUTO_DELETE	0x2u
#define STORE_EXCHANGE_INTERNAL		0x4u

/* Entry flags. */
#define STORE_ENTRY_SHARED	0x1u	/* its message is in other queues too */

/*
 * Opens (creating if needed) DIR/warren.db and takes DIR/warrend.lock.
 * Refuses, with a message in err, a database held by another warrend, a
 * schema newer than this binary knows, or a file that is not a warren
 * database. Returns NULL on failure.
 */
struct store *store_open(const char *dir, enum store_durability durability,
	    char *err, size_t errlen);
/*
 * A store that keeps nothing (storage/store_null.c): writes succeed and
 * are forgotten, loads fail. For unit tests, through broker_init_test.
 */
struct store *store_open_null(void);
/* Commits nothing: call store_commit() first. Releases the lock. */
void	store_close(struct store *st);

/*
 * The release callback is called with a message's owner pointer (see
 * store_put_message) once the store no longer needs its bytes: after the
 * commit that wrote it, or when it was cancelled or the batch failed.
 */
void	store_set_release(struct store *st, void (*release)(void *owner));

/* ---- definitions ------------------------------------------------------- */

void	store_put_vhost(struct store *st, struct store_blob name);
/* A vhost's max-connections and max-queues; -1 means no limit. */
void	store_put_vhost_limits(struct store *st, struct store_blob name,
	    int64_t max_connections, int64_t max_queues);
/*
 * Deletes a vhost with everything in it: queues (with their entries and
 * the messages left without one), exchanges, bindings, permissions.
 */
void	store_del_vhost(struct store *st, struct store_blob name);
/* A vhost's description and tags (comma-separated). */
void	store_put_vhost_meta(struct store *st, struct store_blob name,
	    struct store_blob description, struct store_blob tags);
void	store_put_exchange(struct store *st, struct store_blob vhost,
	    struct store_blob name, struct store_blob type, unsigned flags,
	    struct store_blob args);
void	store_del_exchange(struct store *st, struct store_blob vhost,
	    struct store_blob name);
/* Returns the new queue's id (assigned now, written at commit). */
uint64_t store_put_queue(struct store *st, struct store_blob vhost,
	    struct store_blob name, unsigned flags, struct store_blob args);
/* Deletes the queue with its entries (and messages left with no entry). */
void	store_del_queue(struct store *st, uint64_t queue_id);
/* dest_is_queue: dest names a queue, else an exchange. */
void	store_put_binding(struct store *st, struct store_blob vhost,
	    struct store_blob source, bool dest_is_queue, struct store_blob dest,
	    struct store_blob key, struct store_blob args);
void	store_del_binding(struct store *st, struct store_blob vhost,
	    struct store_blob source, bool dest_is_queue, struct store_blob dest,
	    struct store_blob key, struct store_blob args);

/*
 * Users: the password hash as RabbitMQ writes it (base64 of salt and
 * digest), its algorithm's name, and tags as a comma-separated list.
 */
void	store_put_user(struct store *st, struct store_blob name,
	    struct store_blob password_hash, struct store_blob algorithm,
	    struct store_blob tags);
/* Deletes the user with its permissions and topic permissions. */
void	store_del_user(struct store *st, struct store_blob name);
/* A user's configure/write/read patterns in one vhost. */
void	store_put_permission(struct store *st, struct store_blob user,
	    struct store_blob vhost, struct store_blob configure,
	    struct store_blob write, struct store_blob read);
void	store_del_permission(struct store *st, struct store_blob user,
	    struct store_blob vhost);
/*
 * A user's topic permissions on one topic exchange of a vhost: write and
 * read patterns matched against routing keys.
 */
void	store_put_topic_permission(struct store *st, struct store_blob user,
	    struct store_blob vhost, struct store_blob exchange,
	    struct store_blob write, struct store_blob read);
void	store_del_topic_permission(struct store *st, struct store_blob user,
	    struct store_blob vhost, struct store_blob exchange);
/*
 * A policy (kind 0) or operator policy (kind 1) of a vhost: value is its
 * JSON document, which the server parses back at recovery.
 */
void	store_put_policy(struct store *st, unsigned kind,
	    struct store_blob vhost, struct store_blob name,
	    struct store_blob value);
void	store_del_policy(struct store *st, unsigned kind,
	    struct store_blob vhost, struct store_blob name);
/* A user's max-connections and max-channels; -1 means no limit. */
void	store_put_user_limits(struct store *st, struct store_blob user,
	    int64_t max_connections, int64_t max_channels);
/*
 * Whether the default vhost and user were made on this database (once,
 * at its first start), and marking that they were.
 */
bool	store_seeded(struct store *st);
void	store_put_seeded(struct store *st);
/* The cluster name an operator set (PUT /api/cluster-name). */
void	store_put_cluster_name(struct store *st, struct store_blob name);

/* ---- messages ---------------------------------------------------------- */

/*
 * Queues a message body for writing, stored once whatever number of
 * entries refer to it (refs); bcc is routing data kept beside it (the
 * server's BCC keys), never part of props. The blobs must stay valid
 * until the release callback is called with owner. Returns the message id.
 */
uint64_t store_put_message(struct store *st, struct store_blob exchange,
	    struct store_blob routing_key, struct store_blob props,
	    struct store_blob body, struct store_blob bcc, uint32_t refs,
	    void *owner);
/*
 * A queue entry: the message at position seq of queue_id, expiring at
 * expires_at (milliseconds since the epoch; 0: never), in the priority
 * level priority of its queue (0 in a queue without levels).
 */
void	store_put_entry(struct store *st, uint64_t queue_id, uint64_t seq,
	    uint64_t msg_id, uint32_t delivery_count, unsigned flags,
	    uint64_t expires_at, uint8_t priority);
/* The entry was delivered once more (redelivered after a crash). */
void	store_entry_delivered(struct store *st, uint64_t queue_id,
	    uint64_t seq);
/*
 * The entry is gone (acked, purged, dropped). Its message goes with its
 * last entry; flags are the entry's (STORE_ENTRY_SHARED: count down the
 * message's references instead of deleting it outright).
 */
void	store_del_entry(struct store *st, uint64_t queue_id, uint64_t seq,
	    uint64_t msg_id, unsigned flags);

/*
 * The owner of a message still waiting in the current batch, or NULL once
 * it is on disk (then read it with store_load_message).
 */
void	*store_pending_owner(struct store *st, uint64_t msg_id);

/* A message read back; the blobs are valid until the next store call. */
struct store_message {
	struct store_blob	exchange;
	struct store_blob	routing_key;
	struct store_blob	props;
	struct store_blob	body;
	struct store_blob	bcc;	/* empty if none (or stored before it was) */
};
/* Returns 0, or -1 if there is no such message or the read failed. */
int	store_load_message(struct store *st, uint64_t msg_id,
	    struct store_message *out);

/* ---- group commit ------------------------------------------------------ */

/* Whether new writes are waiting for store_commit(). */
bool	store_dirty(const struct store *st);
/* Operations in the batch store_commit() would write (for statistics). */
size_t	store_pending_ops(const struct store *st);
/*
 * Writes the batch in one transaction and makes it durable as the
 * durability mode promises. Returns 0, or -1 after rolling back: the
 * error is logged, owners are released, the message and entry puts are
 * dropped (their publishes must be nacked) and everything else (the
 * definitions, deletes and delivery counts) is kept and goes first in the
 * next commit, so no ack is forgotten and no definition lost.
 */
int	store_commit(struct store *st);
/* Whether ops kept from a failed commit wait for a retry. */
bool	store_retry_pending(const struct store *st);
/* The error text of the last failure (the backend's, or the batch's). */
const char *store_errmsg(const struct store *st);
/* Bytes SQLite has allocated in this process (every store together). */
uint64_t store_memory_used(void);

/* ---- recovery ---------------------------------------------------------- */

/*
 * Streams the stored state back, in this order: vhosts, users,
 * permissions, topic permissions, user limits, policies, exchanges,
 * queues, bindings, then entries ordered by queue
 * and seq. Exclusive queues do not
 * survive a restart: recovery deletes them (with their entries) first.
 * Blobs are valid during the callback only.
 */
struct store_recovery {
	void	(*vhost)(void *arg, struct store_blob name);
	void	(*vhost_meta)(void *arg, struct store_blob name,
		    struct store_blob description, struct store_blob tags);
	void	(*vhost_limits)(void *arg, struct store_blob name,
		    int64_t max_connections, int64_t max_queues);
	void	(*user)(void *arg, struct store_blob name,
		    struct store_blob password_hash, struct store_blob algorithm,
		    struct store_blob tags);
	void	(*permission)(void *arg, struct store_blob user,
		    struct store_blob vhost, struct store_blob configure,
		    struct store_blob write, struct store_blob read);
	void	(*topic_permission)(void *arg, struct store_blob user,
		    struct store_blob vhost, struct store_blob exchange,
		    struct store_blob write, struct store_blob read);
	/* In the order they were last set. */
	void	(*policy)(void *arg, unsigned kind, struct store_blob vhost,
		    struct store_blob name, struct store_blob value);
	void	(*user_limits)(void *arg, struct store_blob user,
		    int64_t max_connections, int64_t max_channels);
	void	(*exchange)(void *arg, struct store_blob vhost,
		    struct store_blob name, struct store_blob type,
		    unsigned flags, struct store_blob args);
	void	(*queue)(void *arg, uint64_t queue_id, struct store_blob vhost,
		    struct store_blob name, unsigned flags,
		    struct store_blob args);
	void	(*binding)(void *arg, struct store_blob vhost,
		    struct store_blob source, bool dest_is_queue,
		    struct store_blob dest, struct store_blob key,
		    struct store_blob args);
	void	(*entry)(void *arg, uint64_t queue_id, uint64_t seq,
		    uint64_t msg_id, uint32_t delivery_count, unsigned flags,
		    uint64_t expires_at, uint8_t priority, uint64_t body_len);
	/* The stored cluster name, if one was set (before the vhosts). */
	void	(*cluster_name)(void *arg, struct store_blob name);
};
int	store_recover(struct store *st, const struct store_recovery *cb,
	    void *arg);

/* ---- testing ----------------------------------------------------------- */

/*
 * Makes the next n commits fail as if the disk were full (SQLITE_FULL),
 * so tests reach the error paths without filling a disk.
 */
void	store_inject_failures(struct store *st, int n);

#endif /* WARREN_STORAGE_STORE_H */
