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

#include "lib/log.h"
#include "storage/schema.h"

/*
 * Bytes the WAL file is cut back to when it starts over: it is never
 * shrunk otherwise, and one long reader would leave 1 GiB of it behind.
 * Above the checkpointer's 64 MiB restart point (store_sqlite_ckpt.c),
 * so that the usual cycle reuses it.
 */
#define WAL_SIZE_LIMIT		"100663296"

static const char *const sql_text[SQL_NSTMT] = {
	[SQL_BEGIN] = "BEGIN IMMEDIATE",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
	[SQL_SEEDED_GET] = "SELECT 1 FROM settings WHERE key = 'seeded'",
	[SQL_MESSAGE_LOAD] = "SELECT exchange, routing_key, props, body, bcc "
	    "FROM messages WHERE id = ?1",
};

/* Bound for empty blobs: a NULL pointer would bind SQL NULL. */
static const char empty[1];

static int
lock_dir(struct sql_store *st, const char *dir, char *err, size_t errlen)
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
 * Prepares a statement kept for the store's life. An op's statement must
 * bind no parameter past the op's fields (nfields; -1: no check).
 */
static int
prepare(struct sql_store *st, const char *sql, int nfields,
    sqlite3_stmt **s, char *err, size_t errlen)
{
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, s,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", sql, sqlite3_errmsg(st->db));
		return -1;
	}
	if (nfields >= 0 && sqlite3_bind_parameter_count(*s) > nfields) {
		snprintf(err, errlen, "%s: binds more than the op's %d fields",
		    sql, nfields);
		return -1;
	}
	return 0;
}

static int
sql_open(struct sql_store *st, const char *dir,
    enum store_durability durability, char *err, size_t errlen)
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
		if (prepare(st, sql_text[i], -1, &st->stmt[i], err,
		    errlen) == -1)
			return -1;
	for (int k = 0; k < STORE_OP_NKINDS; k++)
		for (int i = 0; store_op_desc[k].sql[i] != NULL; i++) {
			if (prepare(st, store_op_desc[k].sql[i],
			    store_op_nfields(k), &st->op[k][i], err,
			    errlen) == -1)
				return -1;
			st->nparams[k][i] = (uint8_t)
			    sqlite3_bind_parameter_count(st->op[k][i]);
		}
	return ckpt_start(&st->ckpt, st->db, path, durability, err, errlen);
}

static void
sql_close(void *be)
{
	struct sql_store *st = be;

	if (st == NULL)
		return;
	ckpt_stop(&st->ckpt);
	for (int i = 0; i < SQL_NSTMT; i++)
		sqlite3_finalize(st->stmt[i]);
	for (int k = 0; k < STORE_OP_NKINDS; k++)
		for (int i = 0; i < STORE_OP_STMTS; i++)
			sqlite3_finalize(st->op[k][i]);
	/* The last connection checkpoints and removes the WAL. */
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warnx("store: close: %s", sqlite3_errmsg(st->db));
	if (st->lockfd != -1)
		close(st->lockfd);	/* drops the flock */
	free(st->loadbuf);
	free(st);
}

struct store *
store_open(const char *dir, enum store_durability durability, char *err,
    size_t errlen)
{
	struct sql_store *st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "store: out of memory");
		return NULL;
	}
	st->lockfd = -1;
	if (sql_open(st, dir, durability, err, errlen) == -1) {
		sql_close(st);
		return NULL;
	}
	return store_new(&sql_backend, st, err, errlen);
}

static int
sql_next_ids(void *be, uint64_t *queue_id, uint64_t *msg_id)
{
	struct sql_store *st = be;

	if (next_id(st->db, "SELECT coalesce(max(id), 0) FROM queues",
	    queue_id, st->errmsg, sizeof(st->errmsg)) == -1 ||
	    next_id(st->db, "SELECT coalesce(max(id), 0) FROM messages",
	    msg_id, st->errmsg, sizeof(st->errmsg)) == -1)
		return -1;
	return 0;
}

int
sql_fail(struct sql_store *st, const char *what)
{
	snprintf(st->errmsg, sizeof(st->errmsg), "%s: %s", what,
	    sqlite3_errmsg(st->db));
	return -1;
}

static const char *
sql_errmsg(void *be)
{
	return ((struct sql_store *)be)->errmsg;
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

/* Binds parameter i to a value of type field (enum store_field). */
static int
bind_value(sqlite3_stmt *s, int i, uint8_t field, const union store_value *v)
{
	switch (field) {
	case STORE_FIELD_BLOB:
		return bind_blob(s, i, v->blob);
	case STORE_FIELD_INT:
		return bind_int(s, i, v->n);
	case STORE_FIELD_INT_OR_NULL:
		return v->n != 0 ? bind_int(s, i, v->n) :
		    sqlite3_bind_null(s, i);
	case STORE_FIELD_LIMIT:
		return v->limit >= 0 ? sqlite3_bind_int64(s, i, v->limit) :
		    sqlite3_bind_null(s, i);
	}
	return SQLITE_MISUSE;
}

/* Steps a bound statement to its end; bindrc is the binds' result. */
static int
run(struct sql_store *st, sqlite3_stmt *s, int bindrc, const char *what)
{
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
sql_begin(void *be)
{
	struct sql_store *st = be;

	return run(st, st->stmt[SQL_BEGIN], SQLITE_OK, "begin");
}

int
sql_commit(void *be)
{
	struct sql_store *st = be;

	return run(st, st->stmt[SQL_COMMIT], SQLITE_OK, "commit");
}

void
sql_rollback(void *be)
{
	struct sql_store *st = be;

	/* A failed COMMIT may have rolled back already (SQLITE_FULL). */
	if (sqlite3_get_autocommit(st->db))
		return;
	if (sqlite3_step(st->stmt[SQL_ROLLBACK]) != SQLITE_DONE)
		log_warnx("store: rollback: %s",
		    sqlite3_errmsg(st->db));
	sqlite3_reset(st->stmt[SQL_ROLLBACK]);
}

int
sql_apply(void *be, const struct store_op *op)
{
	struct sql_store *st = be;
	const struct store_op_desc *d;
	sqlite3_stmt *s;
	int rc;

	if ((unsigned)op->kind >= STORE_OP_NKINDS) {
		snprintf(st->errmsg, sizeof(st->errmsg), "bad op %d",
		    (int)op->kind);
		return -1;
	}
	d = &store_op_desc[op->kind];
	for (int i = 0; i < STORE_OP_STMTS && d->sql[i] != NULL; i++) {
		s = st->op[op->kind][i];
		rc = SQLITE_OK;
		/* Checked at open: within the op's fields. */
		for (int p = st->nparams[op->kind][i]; p > 0; p--)
			rc |= bind_value(s, p, d->field[p - 1], &op->v[p - 1]);
		if (run(st, s, rc, d->what) == -1)
			return -1;
	}
	return 0;
}

static int
sql_seeded(void *be)
{
	struct sql_store *st = be;
	sqlite3_stmt *s = st->stmt[SQL_SEEDED_GET];
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sql_fail(st, "read settings");
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

static int
sql_load_message(void *be, uint64_t id, struct store_message *out)
{
	struct sql_store *st = be;
	sqlite3_stmt *s = st->stmt[SQL_MESSAGE_LOAD];
	struct store_blob b[5];
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
	for (int i = 0; i < 5; i++) {
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
	for (int i = 0; i < 5; i++) {
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
	out->bcc = b[4];
	return 0;
}

const struct store_backend_ops sql_backend = {
	.next_ids = sql_next_ids,
	.begin = sql_begin,
	.apply = sql_apply,
	.commit = sql_commit,
	.rollback = sql_rollback,
	.seeded = sql_seeded,
	.load_message = sql_load_message,
	.recover = sql_recover,
	.errmsg = sql_errmsg,
	.close = sql_close,
};

uint64_t
store_memory_used(void)
{
	sqlite3_int64 n = sqlite3_memory_used();

	return n > 0 ? (uint64_t)n : 0;
}
