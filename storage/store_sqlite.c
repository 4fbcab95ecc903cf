#include "autoconf.h"

#include "storage/store_sqlite.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/schema.h"

/*
 * Checkpoints run on a thread of their own (ckpt_main): copying the WAL
 * into the database file and fsyncing it took tens of milliseconds inside
 * a commit, and the loop stood still meanwhile. Past CKPT_PAGES (16 MiB
 * of 4 KiB pages) each commit wakes the thread for a PASSIVE pass, which
 * never blocks the writer.
 */
#define CKPT_PAGES		4096

/*
 * The writer starts the WAL over only if a transaction begins when all
 * of it was copied, and a busy loop leaves a pass little time to finish
 * between a commit and the next BEGIN: measured, the WAL never started
 * over and grew to 1 GiB, and appends to a growing file fsync slower
 * than overwrites. So past CKPT_RESTART_PAGES (64 MiB) the loop's thread
 * stops waking the checkpointer and, once its pass is over, copies the
 * little that pass left (a commit or two) itself.
 */
#define CKPT_RESTART_PAGES	16384

/*
 * Past this (1 GiB) the above keeps failing (a reader holds old pages,
 * or every pass runs into the next commit): the loop's thread waits for
 * the pass to end and checkpoints itself, stalling, so the WAL has a
 * bound.
 */
#define CKPT_LIMIT_PAGES	262144

/*
 * Bytes the WAL file is cut back to when it starts over: it is never
 * shrunk otherwise, and one long reader would leave 1 GiB of it behind.
 * Above CKPT_RESTART_PAGES' 64 MiB, so that the usual cycle reuses it.
 */
#define WAL_SIZE_LIMIT		"100663296"

static const char *const sql_text[SQL_NSTMT] = {
	[SQL_BEGIN] = "BEGIN IMMEDIATE",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
	[SQL_VHOST_PUT] = "INSERT OR IGNORE INTO vhosts (name) VALUES (?1)",
	[SQL_VHOST_META] = "UPDATE vhosts SET description = ?2, tags = ?3 "
	    "WHERE name = ?1",
	[SQL_VHOST_LIMITS] = "UPDATE vhosts SET max_connections = ?2, "
	    "max_queues = ?3 WHERE name = ?1",
	[SQL_USER_PUT] = "INSERT OR REPLACE INTO users "
	    "(name, password_hash, algorithm, tags) VALUES (?1, ?2, ?3, ?4)",
	[SQL_USER_DEL] = "DELETE FROM users WHERE name = ?1",
	[SQL_USER_DEL_PERMISSIONS] = "DELETE FROM permissions WHERE user = ?1",
	[SQL_PERMISSION_PUT] = "INSERT OR REPLACE INTO permissions "
	    "(user, vhost, configure, write, read) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_PERMISSION_DEL] = "DELETE FROM permissions "
	    "WHERE user = ?1 AND vhost = ?2",
	[SQL_TOPIC_PERMISSION_PUT] = "INSERT OR REPLACE INTO topic_permissions "
	    "(user, vhost, exchange, write, read) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_TOPIC_PERMISSION_DEL] = "DELETE FROM topic_permissions "
	    "WHERE user = ?1 AND vhost = ?2 AND exchange = ?3",
	[SQL_USER_DEL_TOPIC_PERMISSIONS] = "DELETE FROM topic_permissions "
	    "WHERE user = ?1",
	[SQL_VHOST_DEL_PERMISSIONS] = "DELETE FROM permissions WHERE vhost = ?1",
	[SQL_VHOST_DEL_TOPIC_PERMISSIONS] = "DELETE FROM topic_permissions "
	    "WHERE vhost = ?1",
	[SQL_SEEDED_GET] = "SELECT 1 FROM settings WHERE key = 'seeded'",
	[SQL_SEEDED_PUT] = "INSERT OR REPLACE INTO settings (key, value) "
	    "VALUES ('seeded', 1)",
	[SQL_VHOST_DEL] = "DELETE FROM vhosts WHERE name = ?1",
	[SQL_VHOST_DEL_EXCHANGES] = "DELETE FROM exchanges WHERE vhost = ?1",
	[SQL_VHOST_DEL_BINDINGS] = "DELETE FROM bindings WHERE vhost = ?1",
	[SQL_VHOST_QUEUES] = "SELECT id FROM queues WHERE vhost = ?1 LIMIT 1",
	/* A redeclare with other properties replaces the definition. */
	[SQL_EXCHANGE_PUT] = "INSERT OR REPLACE INTO exchanges "
	    "(vhost, name, type, flags, args) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_EXCHANGE_DEL] = "DELETE FROM exchanges "
	    "WHERE vhost = ?1 AND name = ?2",
	/* spec: deleting an exchange deletes the bindings on either end. */
	[SQL_EXCHANGE_DEL_BINDINGS] = "DELETE FROM bindings WHERE vhost = ?1 "
	    "AND (source = ?2 OR (dest_is_queue = 0 AND dest = ?2))",
	/* Plain INSERT: a second queue with one name is a caller's bug. */
	[SQL_QUEUE_PUT] = "INSERT INTO queues (id, vhost, name, flags, args) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_QUEUE_DEL_BINDINGS] = "DELETE FROM bindings WHERE dest_is_queue = 1 "
	    "AND vhost = (SELECT vhost FROM queues WHERE id = ?1) "
	    "AND dest = (SELECT name FROM queues WHERE id = ?1)",
	/*
	 * A message is in a queue at most once (a queue matched by several
	 * bindings gets one copy), so each entry of the queue is one ref.
	 */
	[SQL_QUEUE_DEL_UNREF] = "UPDATE messages SET refs = refs - 1 "
	    "WHERE id IN (SELECT message_id FROM queue_entries "
	    "WHERE queue_id = ?1)",
	[SQL_QUEUE_DEL_MESSAGES] = "DELETE FROM messages WHERE refs <= 0 "
	    "AND id IN (SELECT message_id FROM queue_entries "
	    "WHERE queue_id = ?1)",
	[SQL_QUEUE_DEL_ENTRIES] = "DELETE FROM queue_entries WHERE queue_id = ?1",
	[SQL_QUEUE_DEL] = "DELETE FROM queues WHERE id = ?1",
	[SQL_BINDING_PUT] = "INSERT OR IGNORE INTO bindings "
	    "(vhost, source, dest_is_queue, dest, routing_key, args) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SQL_BINDING_DEL] = "DELETE FROM bindings WHERE vhost = ?1 "
	    "AND source = ?2 AND dest_is_queue = ?3 AND dest = ?4 "
	    "AND routing_key = ?5 AND args = ?6",
	[SQL_MESSAGE_PUT] = "INSERT INTO messages "
	    "(id, refs, exchange, routing_key, props, body) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SQL_MESSAGE_DEL] = "DELETE FROM messages WHERE id = ?1",
	[SQL_MESSAGE_UNREF] = "UPDATE messages SET refs = refs - 1 "
	    "WHERE id = ?1",
	[SQL_MESSAGE_DEL_UNREFERENCED] = "DELETE FROM messages "
	    "WHERE id = ?1 AND refs <= 0",
	[SQL_MESSAGE_LOAD] = "SELECT exchange, routing_key, props, body "
	    "FROM messages WHERE id = ?1",
	[SQL_ENTRY_PUT] = "INSERT INTO queue_entries "
	    "(queue_id, seq, message_id, delivery_count, flags, expires_at, "
	    "priority) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[SQL_ENTRY_DELIVERED] = "UPDATE queue_entries "
	    "SET delivery_count = delivery_count + 1 "
	    "WHERE queue_id = ?1 AND seq = ?2",
	[SQL_ENTRY_DEL] = "DELETE FROM queue_entries "
	    "WHERE queue_id = ?1 AND seq = ?2",
	[SQL_ENTRY_DEL_RANGE] = "DELETE FROM queue_entries "
	    "WHERE queue_id = ?1 AND seq BETWEEN ?2 AND ?3",
	[SQL_MESSAGE_DEL_RANGE] = "DELETE FROM messages "
	    "WHERE id BETWEEN ?1 AND ?2",
};

/* Bound for empty blobs: a NULL pointer would bind SQL NULL. */
static const char empty[1];

static int
lock_dir(struct store *st, const char *dir, char *err, size_t errlen)
{
	char path[4096], buf[32];
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/warrend.lock", dir) >=
	    (int)sizeof(path)) {
		snprintf(err, errlen, "data directory %s: path too long", dir);
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			n = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(err, errlen, "data directory %s is in use by "
			    "another warrend (pid %s)", dir,
			    buf[0] != '\0' ? buf : "unknown");
		} else
			snprintf(err, errlen, "%s: flock: %s", path,
			    strerror(errno));
		close(fd);
		return -1;
	}
	/* The pid is for the message above only: the flock is the lock. */
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, n, 0) != n) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	st->lockfd = fd;
	return 0;
}

static int
pragma(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", sql,
		    msg != NULL ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
next_id(sqlite3 *db, const char *sql, uint64_t *id, char *err,
    size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return -1;
	}
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*id = (uint64_t)sqlite3_column_int64(s, 0) + 1;
	else
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

/*
 * The checkpointer thread. Its errors are kept, logged when they change,
 * and otherwise ignored: the next wake tries again, and SQLITE_BUSY (a
 * RESTART from the loop's thread holds the checkpoint lock) is normal.
 */
static void *
ckpt_main(void *arg)
{
	struct ckpt *c = arg;
	int rc, last = SQLITE_OK, log, done;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->pending && !c->stop)
			pthread_cond_wait(&c->wake, &c->mu);
		if (c->stop)
			break;	/* the close's own checkpoint finishes the job */
		c->pending = false;
		c->running = true;
		pthread_mutex_unlock(&c->mu);

		rc = sqlite3_wal_checkpoint_v2(c->db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, &log, &done);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != last)
			fprintf(stderr, "store: checkpoint: %s\n",
			    sqlite3_errmsg(c->db));
		last = rc;

		pthread_mutex_lock(&c->mu);
		c->running = false;
		c->passes++;
		c->lastrc = rc;
		pthread_cond_broadcast(&c->idle);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/*
 * Called by SQLite on the loop's thread after each commit, with the WAL's
 * size in pages (frames since it last started over, copied or not).
 */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *st = arg;
	struct ckpt *c = &st->ckpt;
	int rc, log, done;

	if (pages < CKPT_RESTART_PAGES)
		c->over = false;
	if (pages < CKPT_PAGES)
		return SQLITE_OK;
	pthread_mutex_lock(&c->mu);
	if (pages < CKPT_RESTART_PAGES) {
		c->pending = true;	/* one more pass if one is under way */
		pthread_cond_signal(&c->wake);
		pthread_mutex_unlock(&c->mu);
		return SQLITE_OK;
	}
	c->pending = false;	/* start no pass: we need the lock */
	if (pages >= CKPT_LIMIT_PAGES) {
		if (!c->over)
			fprintf(stderr, "store: WAL at %d pages, over %d: "
			    "checkpoint in the loop\n", pages,
			    CKPT_LIMIT_PAGES);
		while (c->running)
			pthread_cond_wait(&c->idle, &c->mu);
	} else if (c->running) {
		pthread_mutex_unlock(&c->mu);
		return SQLITE_OK;	/* the next commit finds it over */
	}
	pthread_mutex_unlock(&c->mu);
	/*
	 * RESTART: done, the next commit starts the WAL over. No busy
	 * handler: a reader of old pages makes it SQLITE_BUSY after the copy
	 * and the next commit tries again.
	 */
	rc = sqlite3_wal_checkpoint_v2(st->db, NULL,
	    SQLITE_CHECKPOINT_RESTART, &log, &done);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY && !c->over)
		fprintf(stderr, "store: checkpoint: %s\n",
		    sqlite3_errmsg(st->db));
	if (pages >= CKPT_LIMIT_PAGES)
		c->over = true;	/* logged once until the WAL shrinks */
	return SQLITE_OK;	/* an error here would fail the commit */
}

/* Opens the checkpointer's connection, starts it and hooks it up. */
static int
ckpt_start(struct store *st, const char *path,
    enum store_durability durability, char *err, size_t errlen)
{
	struct ckpt *c = &st->ckpt;
	sigset_t all, old;
	int rc;

	/* Two connections on two threads need SQLite's own locks. */
	if (!sqlite3_threadsafe()) {
		snprintf(err, errlen, "%s: SQLite was built without threads",
		    path);
		return -1;
	}
	rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, c->db != NULL ?
		    sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		return -1;
	}
	/* A checkpoint syncs as the connection running it is set to. */
	if (pragma(c->db, durability == STORE_FSYNC ?
	    "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
	    err, errlen) == -1)
		return -1;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->wake, NULL);
	pthread_cond_init(&c->idle, NULL);
	/* Signals stay with the loop's thread: the thread blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&c->thread, NULL, ckpt_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "%s: checkpointer thread: %s", path,
		    strerror(rc));
		pthread_cond_destroy(&c->idle);
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->mu);
		return -1;
	}
	c->started = true;
	/* After wal_autocheckpoint, which would replace the hook. */
	sqlite3_wal_hook(st->db, wal_hook, st);
	return 0;
}

/* Stops the thread (a pass under way ends first) and closes its side. */
static void
ckpt_stop(struct store *st)
{
	struct ckpt *c = &st->ckpt;

	if (c->started) {
		pthread_mutex_lock(&c->mu);
		c->stop = true;
		pthread_cond_signal(&c->wake);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->thread, NULL);
		pthread_cond_destroy(&c->idle);
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->mu);
		c->started = false;
		sqlite3_wal_hook(st->db, NULL, NULL);
	}
	/* Not the last connection: closing it leaves the WAL alone. */
	if (c->db != NULL && sqlite3_close(c->db) != SQLITE_OK)
		fprintf(stderr, "store: close: %s\n", sqlite3_errmsg(c->db));
	c->db = NULL;
}

int
sql_open(struct store *st, const char *dir, enum store_durability durability,
    char *err, size_t errlen)
{
	char path[4096];
	sqlite3_stmt *s;
	const char *mode;
	int rc;

	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "data directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (lock_dir(st, dir, err, errlen) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/warren.db", dir);
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, st->db != NULL ?
		    sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		return -1;
	}
	/* Check before any pragma writes: a file not ours stays untouched. */
	if (schema_check(st->db, path, err, errlen) == -1)
		return -1;

	/* journal_mode answers with the mode it got, which may not be WAL. */
	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(st->db));
		return -1;
	}
	mode = NULL;
	if (sqlite3_step(s) == SQLITE_ROW)
		mode = (const char *)sqlite3_column_text(s, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		snprintf(err, errlen, "%s: cannot use WAL journal mode (%s)",
		    path, mode != NULL ? mode : sqlite3_errmsg(st->db));
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	/* The checkpointer thread does it (ckpt_start). */
	if (pragma(st->db, durability == STORE_FSYNC ?
	    "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
	    err, errlen) == -1 ||
	    pragma(st->db, "PRAGMA wal_autocheckpoint = 0", err, errlen) == -1 ||
	    pragma(st->db, "PRAGMA journal_size_limit = " WAL_SIZE_LIMIT, err,
	    errlen) == -1 ||
	    pragma(st->db, "PRAGMA foreign_keys = OFF", err, errlen) == -1 ||
	    pragma(st->db, "PRAGMA temp_store = MEMORY", err, errlen) == -1)
		return -1;
	if (schema_upgrade(st->db, err, errlen) == -1)
		return -1;

	for (int i = 0; i < SQL_NSTMT; i++)
		if (sqlite3_prepare_v3(st->db, sql_text[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL) !=
		    SQLITE_OK) {
			snprintf(err, errlen, "%s: %s", sql_text[i],
			    sqlite3_errmsg(st->db));
			return -1;
		}
	if (next_id(st->db, "SELECT coalesce(max(id), 0) FROM queues",
	    &st->next_queue_id, err, errlen) == -1 ||
	    next_id(st->db, "SELECT coalesce(max(id), 0) FROM messages",
	    &st->next_msg_id, err, errlen) == -1)
		return -1;
	return ckpt_start(st, path, durability, err, errlen);
}

void
sql_close(struct store *st)
{
	ckpt_stop(st);
	for (int i = 0; i < SQL_NSTMT; i++)
		sqlite3_finalize(st->stmt[i]);
	/* The last connection checkpoints and removes the WAL. */
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		fprintf(stderr, "store: close: %s\n", sqlite3_errmsg(st->db));
	if (st->lockfd != -1)
		close(st->lockfd);	/* drops the flock */
}

int
sql_fail(struct store *st, const char *what)
{
	snprintf(st->errmsg, sizeof(st->errmsg), "%s: %s", what,
	    sqlite3_errmsg(st->db));
	return -1;
}

static int
bind_blob(sqlite3_stmt *s, int i, struct store_blob b)
{
	/* SQLITE_STATIC: the blobs outlive the statement's step. */
	return sqlite3_bind_blob64(s, i, b.p != NULL ? b.p : empty, b.len,
	    SQLITE_STATIC);
}

static int
bind_int(sqlite3_stmt *s, int i, uint64_t v)
{
	return sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

/* Steps a bound statement to its end; bindrc is the binds' result. */
static int
run(struct store *st, enum sql_stmt which, int bindrc, const char *what)
{
	sqlite3_stmt *s = st->stmt[which];
	int rc;

	if (bindrc != SQLITE_OK) {
		sqlite3_reset(s);
		return sql_fail(st, what);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		sql_fail(st, what);
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	return 0;
}

int
sql_begin(struct store *st)
{
	return run(st, SQL_BEGIN, SQLITE_OK, "begin");
}

int
sql_commit(struct store *st)
{
	return run(st, SQL_COMMIT, SQLITE_OK, "commit");
}

void
sql_rollback(struct store *st)
{
	/* A failed COMMIT may have rolled back already (SQLITE_FULL). */
	if (sqlite3_get_autocommit(st->db))
		return;
	if (sqlite3_step(st->stmt[SQL_ROLLBACK]) != SQLITE_DONE)
		fprintf(stderr, "store: rollback: %s\n",
		    sqlite3_errmsg(st->db));
	sqlite3_reset(st->stmt[SQL_ROLLBACK]);
}

static int
bind_limit(sqlite3_stmt *s, int i, int64_t v)
{
	return v < 0 ? sqlite3_bind_null(s, i) : sqlite3_bind_int64(s, i, v);
}

int
sql_put_vhost_meta(struct store *st, struct store_blob name,
    struct store_blob description, struct store_blob tags)
{
	sqlite3_stmt *s = st->stmt[SQL_VHOST_META];

	return run(st, SQL_VHOST_META, bind_blob(s, 1, name) |
	    bind_blob(s, 2, description) | bind_blob(s, 3, tags),
	    "put vhost metadata");
}

int
sql_put_vhost_limits(struct store *st, struct store_blob name,
    int64_t max_connections, int64_t max_queues)
{
	sqlite3_stmt *s = st->stmt[SQL_VHOST_LIMITS];

	return run(st, SQL_VHOST_LIMITS, bind_blob(s, 1, name) |
	    bind_limit(s, 2, max_connections) | bind_limit(s, 3, max_queues),
	    "put vhost limits");
}

int
sql_put_user(struct store *st, struct store_blob name, struct store_blob hash,
    struct store_blob algorithm, struct store_blob tags)
{
	sqlite3_stmt *s = st->stmt[SQL_USER_PUT];

	return run(st, SQL_USER_PUT, bind_blob(s, 1, name) |
	    bind_blob(s, 2, hash) | bind_blob(s, 3, algorithm) |
	    bind_blob(s, 4, tags), "put user");
}

int
sql_del_user(struct store *st, struct store_blob name)
{
	if (run(st, SQL_USER_DEL_PERMISSIONS,
	    bind_blob(st->stmt[SQL_USER_DEL_PERMISSIONS], 1, name),
	    "delete user") == -1 ||
	    run(st, SQL_USER_DEL_TOPIC_PERMISSIONS,
	    bind_blob(st->stmt[SQL_USER_DEL_TOPIC_PERMISSIONS], 1, name),
	    "delete user") == -1)
		return -1;
	return run(st, SQL_USER_DEL, bind_blob(st->stmt[SQL_USER_DEL], 1,
	    name), "delete user");
}

int
sql_put_permission(struct store *st, struct store_blob user,
    struct store_blob vhost, struct store_blob configure,
    struct store_blob write, struct store_blob read)
{
	sqlite3_stmt *s = st->stmt[SQL_PERMISSION_PUT];

	return run(st, SQL_PERMISSION_PUT, bind_blob(s, 1, user) |
	    bind_blob(s, 2, vhost) | bind_blob(s, 3, configure) |
	    bind_blob(s, 4, write) | bind_blob(s, 5, read),
	    "put permission");
}

int
sql_del_permission(struct store *st, struct store_blob user,
    struct store_blob vhost)
{
	sqlite3_stmt *s = st->stmt[SQL_PERMISSION_DEL];

	return run(st, SQL_PERMISSION_DEL, bind_blob(s, 1, user) |
	    bind_blob(s, 2, vhost), "delete permission");
}

int
sql_put_topic_permission(struct store *st, struct store_blob user,
    struct store_blob vhost, struct store_blob exchange,
    struct store_blob write, struct store_blob read)
{
	sqlite3_stmt *s = st->stmt[SQL_TOPIC_PERMISSION_PUT];

	return run(st, SQL_TOPIC_PERMISSION_PUT, bind_blob(s, 1, user) |
	    bind_blob(s, 2, vhost) | bind_blob(s, 3, exchange) |
	    bind_blob(s, 4, write) | bind_blob(s, 5, read),
	    "put topic permission");
}

int
sql_del_topic_permission(struct store *st, struct store_blob user,
    struct store_blob vhost, struct store_blob exchange)
{
	sqlite3_stmt *s = st->stmt[SQL_TOPIC_PERMISSION_DEL];

	return run(st, SQL_TOPIC_PERMISSION_DEL, bind_blob(s, 1, user) |
	    bind_blob(s, 2, vhost) | bind_blob(s, 3, exchange),
	    "delete topic permission");
}

int
sql_seeded(struct store *st)
{
	sqlite3_stmt *s = st->stmt[SQL_SEEDED_GET];
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sql_fail(st, "read settings");
}

int
sql_put_seeded(struct store *st)
{
	return run(st, SQL_SEEDED_PUT, SQLITE_OK, "write settings");
}

int
sql_put_vhost(struct store *st, struct store_blob name)
{
	return run(st, SQL_VHOST_PUT, bind_blob(st->stmt[SQL_VHOST_PUT], 1,
	    name), "put vhost");
}

int
sql_del_vhost(struct store *st, struct store_blob name)
{
	sqlite3_stmt *s = st->stmt[SQL_VHOST_QUEUES];
	uint64_t id;
	int rc;

	/* One queue at a time: never delete under a running SELECT. */
	for (;;) {
		if (bind_blob(s, 1, name) != SQLITE_OK)
			return sql_fail(st, "delete vhost");
		id = 0;
		if ((rc = sqlite3_step(s)) == SQLITE_ROW)
			id = (uint64_t)sqlite3_column_int64(s, 0);
		else if (rc != SQLITE_DONE)
			sql_fail(st, "delete vhost");
		sqlite3_reset(s);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW || sql_del_queue(st, id) == -1)
			return -1;
	}
	if (run(st, SQL_VHOST_DEL_BINDINGS, bind_blob(
	    st->stmt[SQL_VHOST_DEL_BINDINGS], 1, name), "delete vhost") == -1 ||
	    run(st, SQL_VHOST_DEL_PERMISSIONS, bind_blob(
	    st->stmt[SQL_VHOST_DEL_PERMISSIONS], 1, name),
	    "delete vhost") == -1 ||
	    run(st, SQL_VHOST_DEL_TOPIC_PERMISSIONS, bind_blob(
	    st->stmt[SQL_VHOST_DEL_TOPIC_PERMISSIONS], 1, name),
	    "delete vhost") == -1 ||
	    run(st, SQL_VHOST_DEL_EXCHANGES, bind_blob(
	    st->stmt[SQL_VHOST_DEL_EXCHANGES], 1, name),
	    "delete vhost") == -1)
		return -1;
	return run(st, SQL_VHOST_DEL, bind_blob(st->stmt[SQL_VHOST_DEL], 1,
	    name), "delete vhost");
}

int
sql_put_exchange(struct store *st, struct store_blob vhost,
    struct store_blob name, struct store_blob type, unsigned flags,
    struct store_blob args)
{
	sqlite3_stmt *s = st->stmt[SQL_EXCHANGE_PUT];
	int rc;

	rc = bind_blob(s, 1, vhost) | bind_blob(s, 2, name) |
	    bind_blob(s, 3, type) | bind_int(s, 4, flags) |
	    bind_blob(s, 5, args);
	return run(st, SQL_EXCHANGE_PUT, rc, "put exchange");
}

int
sql_del_exchange(struct store *st, struct store_blob vhost,
    struct store_blob name)
{
	sqlite3_stmt *b = st->stmt[SQL_EXCHANGE_DEL_BINDINGS];
	sqlite3_stmt *s = st->stmt[SQL_EXCHANGE_DEL];

	if (run(st, SQL_EXCHANGE_DEL_BINDINGS, bind_blob(b, 1, vhost) |
	    bind_blob(b, 2, name), "delete exchange") == -1)
		return -1;
	return run(st, SQL_EXCHANGE_DEL, bind_blob(s, 1, vhost) |
	    bind_blob(s, 2, name), "delete exchange");
}

int
sql_put_queue(struct store *st, uint64_t id, struct store_blob vhost,
    struct store_blob name, unsigned flags, struct store_blob args)
{
	sqlite3_stmt *s = st->stmt[SQL_QUEUE_PUT];
	int rc;

	rc = bind_int(s, 1, id) | bind_blob(s, 2, vhost) |
	    bind_blob(s, 3, name) | bind_int(s, 4, flags) |
	    bind_blob(s, 5, args);
	return run(st, SQL_QUEUE_PUT, rc, "put queue");
}

int
sql_del_queue(struct store *st, uint64_t id)
{
	static const enum sql_stmt steps[] = {
		SQL_QUEUE_DEL_BINDINGS,	/* needs the queue row */
		SQL_QUEUE_DEL_UNREF,	/* needs the entries */
		SQL_QUEUE_DEL_MESSAGES,
		SQL_QUEUE_DEL_ENTRIES,
		SQL_QUEUE_DEL,
	};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (run(st, steps[i], bind_int(st->stmt[steps[i]], 1, id),
		    "delete queue") == -1)
			return -1;
	return 0;
}

int
sql_binding(struct store *st, bool add, struct store_blob vhost,
    struct store_blob source, bool dest_is_queue, struct store_blob dest,
    struct store_blob key, struct store_blob args)
{
	enum sql_stmt which = add ? SQL_BINDING_PUT : SQL_BINDING_DEL;
	sqlite3_stmt *s = st->stmt[which];
	int rc;

	rc = bind_blob(s, 1, vhost) | bind_blob(s, 2, source) |
	    bind_int(s, 3, dest_is_queue) | bind_blob(s, 4, dest) |
	    bind_blob(s, 5, key) | bind_blob(s, 6, args);
	return run(st, which, rc, add ? "put binding" : "delete binding");
}

int
sql_put_message(struct store *st, uint64_t id, uint32_t refs,
    const struct store_blob b[4])
{
	sqlite3_stmt *s = st->stmt[SQL_MESSAGE_PUT];
	int rc;

	rc = bind_int(s, 1, id) | bind_int(s, 2, refs) | bind_blob(s, 3, b[0]) |
	    bind_blob(s, 4, b[1]) | bind_blob(s, 5, b[2]) |
	    bind_blob(s, 6, b[3]);
	return run(st, SQL_MESSAGE_PUT, rc, "put message");
}

int
sql_unref_message(struct store *st, uint64_t id, bool shared)
{
	if (!shared)
		return run(st, SQL_MESSAGE_DEL, bind_int(
		    st->stmt[SQL_MESSAGE_DEL], 1, id), "delete message");
	if (run(st, SQL_MESSAGE_UNREF, bind_int(st->stmt[SQL_MESSAGE_UNREF],
	    1, id), "delete message") == -1)
		return -1;
	return run(st, SQL_MESSAGE_DEL_UNREFERENCED, bind_int(
	    st->stmt[SQL_MESSAGE_DEL_UNREFERENCED], 1, id), "delete message");
}

int
sql_put_entry(struct store *st, uint64_t queue_id, uint64_t seq,
    uint64_t msg_id, uint32_t delivery_count, unsigned flags,
    uint64_t expires_at, uint8_t priority)
{
	sqlite3_stmt *s = st->stmt[SQL_ENTRY_PUT];
	int rc;

	/* NULL, not 0, keeps the partial indexes on these columns small. */
	rc = bind_int(s, 1, queue_id) | bind_int(s, 2, seq) |
	    bind_int(s, 3, msg_id) | bind_int(s, 4, delivery_count) |
	    bind_int(s, 5, flags) | (expires_at != 0 ? bind_int(s, 6,
	    expires_at) : sqlite3_bind_null(s, 6)) | (priority != 0 ?
	    bind_int(s, 7, priority) : sqlite3_bind_null(s, 7));
	return run(st, SQL_ENTRY_PUT, rc, "put entry");
}

int
sql_entry_delivered(struct store *st, uint64_t queue_id, uint64_t seq)
{
	sqlite3_stmt *s = st->stmt[SQL_ENTRY_DELIVERED];

	return run(st, SQL_ENTRY_DELIVERED, bind_int(s, 1, queue_id) |
	    bind_int(s, 2, seq), "update entry");
}

int
sql_del_entry(struct store *st, uint64_t queue_id, uint64_t seq)
{
	sqlite3_stmt *s = st->stmt[SQL_ENTRY_DEL];

	return run(st, SQL_ENTRY_DEL, bind_int(s, 1, queue_id) |
	    bind_int(s, 2, seq), "delete entry");
}

int
sql_del_entries(struct store *st, uint64_t queue_id, uint64_t seq,
    uint64_t msg_id, uint32_t n)
{
	sqlite3_stmt *e = st->stmt[SQL_ENTRY_DEL_RANGE];
	sqlite3_stmt *m = st->stmt[SQL_MESSAGE_DEL_RANGE];

	if (run(st, SQL_ENTRY_DEL_RANGE, bind_int(e, 1, queue_id) |
	    bind_int(e, 2, seq) | bind_int(e, 3, seq + n - 1),
	    "delete entries") == -1)
		return -1;
	return run(st, SQL_MESSAGE_DEL_RANGE, bind_int(m, 1, msg_id) |
	    bind_int(m, 2, msg_id + n - 1), "delete messages");
}

struct store_blob
sql_column_blob(sqlite3_stmt *s, int col)
{
	struct store_blob b;

	/* column_blob first: column_bytes must not convert it afterwards. */
	b.p = sqlite3_column_blob(s, col);
	b.len = (size_t)sqlite3_column_bytes(s, col);
	if (b.p == NULL) {
		b.p = empty;
		b.len = 0;
	}
	return b;
}

int
sql_load_message(struct store *st, uint64_t id, struct store_message *out)
{
	sqlite3_stmt *s = st->stmt[SQL_MESSAGE_LOAD];
	struct store_blob b[4];
	size_t total = 0, off = 0;
	char *p;
	int rc;

	if (bind_int(s, 1, id) != SQLITE_OK)
		return sql_fail(st, "load message");
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			snprintf(st->errmsg, sizeof(st->errmsg),
			    "load message: no message %llu",
			    (unsigned long long)id);
		else
			sql_fail(st, "load message");
		sqlite3_reset(s);
		return -1;
	}
	for (int i = 0; i < 4; i++) {
		b[i] = sql_column_blob(s, i);
		total += b[i].len;
	}
	/*
	 * Copy out and reset at once: a statement left running would pin
	 * its read snapshot and hold back checkpoints.
	 */
	if (total > st->loadcap) {
		if ((p = realloc(st->loadbuf, total)) == NULL) {
			sqlite3_reset(s);
			snprintf(st->errmsg, sizeof(st->errmsg),
			    "load message: out of memory");
			return -1;
		}
		st->loadbuf = p;
		st->loadcap = total;
	}
	for (int i = 0; i < 4; i++) {
		if (b[i].len > 0)
			memcpy(st->loadbuf + off, b[i].p, b[i].len);
		b[i].p = b[i].len > 0 ? st->loadbuf + off : empty;
		off += b[i].len;
	}
	sqlite3_reset(s);
	out->exchange = b[0];
	out->routing_key = b[1];
	out->props = b[2];
	out->body = b[3];
	return 0;
}
