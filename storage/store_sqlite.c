#include "autoconf.h"

#include "storage/store_sqlite.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/schema.h"

/*
 * WAL pages between automatic checkpoints. SQLite's default of 1000 runs
 * a checkpoint almost every grouped commit of 1 KiB messages; 16384
 * pages (64 MiB of WAL) measured 15% faster (PERFORMANCE.md A.6).
 */
#define WAL_AUTOCHECKPOINT	16384

static const char *const sql_text[SQL_NSTMT] = {
	[SQL_BEGIN] = "BEGIN IMMEDIATE",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
	[SQL_VHOST_PUT] = "INSERT OR IGNORE INTO vhosts (name) VALUES (?1)",
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
	    "(queue_id, seq, message_id, delivery_count, flags) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)",
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

int
sql_open(struct store *st, const char *dir, enum store_durability durability,
    char *err, size_t errlen)
{
	char path[4096], sql[64];
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
	snprintf(sql, sizeof(sql), "PRAGMA wal_autocheckpoint = %d",
	    WAL_AUTOCHECKPOINT);
	if (pragma(st->db, durability == STORE_FSYNC ?
	    "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
	    err, errlen) == -1 ||
	    pragma(st->db, sql, err, errlen) == -1 ||
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
	return 0;
}

void
sql_close(struct store *st)
{
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
    uint64_t msg_id, uint32_t delivery_count, unsigned flags)
{
	sqlite3_stmt *s = st->stmt[SQL_ENTRY_PUT];
	int rc;

	rc = bind_int(s, 1, queue_id) | bind_int(s, 2, seq) |
	    bind_int(s, 3, msg_id) | bind_int(s, 4, delivery_count) |
	    bind_int(s, 5, flags);
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
