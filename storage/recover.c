#include "autoconf.h"

#include "storage/store_sqlite.h"

#include <stdio.h>
#include <stdlib.h>

#include "lib/log.h"
#include "lib/xmalloc.h"

/* A grow-only list of queue ids, ascending when filled from a scan. */
struct ids {
	uint64_t	*v;
	size_t		 n, cap;
};

static void
ids_add(struct ids *l, uint64_t id)
{
	xvec_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v), 64);
	l->v[l->n++] = id;
}

static int
prepare(struct sql_store *st, const char *sql, sqlite3_stmt **s)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, s, NULL) != SQLITE_OK)
		return sql_fail(st, "recover");
	return 0;
}

/* Finishes a scan: 0 if it ran to its end, else -1 with the error. */
static int
finish(struct sql_store *st, sqlite3_stmt *s, int rc)
{
	if (rc != SQLITE_DONE)
		sql_fail(st, "recover");
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* A stored priority level (NULL reads as 0), kept within a byte. */
static uint8_t
clamp_priority(int64_t v)
{
	return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

/*
 * compat: exclusive queues die with their connection, so none survives a
 * restart (RabbitMQ drops them too). Deleted in one transaction, with
 * their entries and the messages no other queue holds.
 */
static int
drop_exclusive(struct sql_store *st)
{
	struct ids l = { NULL, 0, 0 };
	sqlite3_stmt *s;
	int rc;

	if (prepare(st, "SELECT id FROM queues WHERE flags & ?1", &s) == -1)
		return -1;
	sqlite3_bind_int(s, 1, STORE_QUEUE_EXCLUSIVE);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		ids_add(&l, (uint64_t)sqlite3_column_int64(s, 0));
	if (finish(st, s, rc) == -1) {
		free(l.v);
		return -1;
	}
	if (l.n == 0)
		return 0;
	rc = -1;
	if (sql_begin(st) == -1)
		goto out;
	for (size_t i = 0; i < l.n; i++)
		if (sql_apply(st, &(struct store_op){ STORE_OP_QUEUE_DEL,
		    { { .n = l.v[i] } } }) == -1) {
			sql_rollback(st);
			goto out;
		}
	if (sql_commit(st) == -1) {
		sql_rollback(st);
		goto out;
	}
	rc = 0;
out:
	free(l.v);
	return rc;
}

static int
scan_definitions(struct sql_store *st, const struct store_recovery *cb,
    void *arg, struct ids *queues)
{
	sqlite3_stmt *s;
	int rc;

	if (prepare(st, "SELECT value FROM settings "
	    "WHERE key = 'cluster_name'", &s) == -1)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (cb->cluster_name != NULL)
			cb->cluster_name(arg, sql_column_blob(s, 0));
	if (finish(st, s, rc) == -1)
		return -1;

	if (prepare(st, "SELECT name, max_connections, max_queues, "
	    "description, tags FROM vhosts", &s) == -1)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cb->vhost != NULL)
			cb->vhost(arg, sql_column_blob(s, 0));
		if (cb->vhost_meta != NULL &&
		    (sqlite3_column_type(s, 3) != SQLITE_NULL ||
		    sqlite3_column_type(s, 4) != SQLITE_NULL))
			cb->vhost_meta(arg, sql_column_blob(s, 0),
			    sql_column_blob(s, 3), sql_column_blob(s, 4));
		if (cb->vhost_limits != NULL &&
		    (sqlite3_column_type(s, 1) != SQLITE_NULL ||
		    sqlite3_column_type(s, 2) != SQLITE_NULL))
			cb->vhost_limits(arg, sql_column_blob(s, 0),
			    sqlite3_column_type(s, 1) == SQLITE_NULL ? -1 :
			    sqlite3_column_int64(s, 1),
			    sqlite3_column_type(s, 2) == SQLITE_NULL ? -1 :
			    sqlite3_column_int64(s, 2));
	}
	if (finish(st, s, rc) == -1)
		return -1;

	if (prepare(st, "SELECT name, password_hash, algorithm, tags "
	    "FROM users", &s) == -1)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (cb->user != NULL)
			cb->user(arg, sql_column_blob(s, 0),
			    sql_column_blob(s, 1), sql_column_blob(s, 2),
			    sql_column_blob(s, 3));
	if (finish(st, s, rc) == -1)
		return -1;

	if (prepare(st, "SELECT user, vhost, configure, write, read "
	    "FROM permissions", &s) == -1)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (cb->permission != NULL)
			cb->permission(arg, sql_column_blob(s, 0),
			    sql_column_blob(s, 1), sql_column_blob(s, 2),
			    sql_column_blob(s, 3), sql_column_blob(s, 4));
	if (finish(st, s, rc) == -1)
		return -1;

	if (prepare(st, "SELECT user, vhost, exchange, write, read "
	    "FROM topic_permissions", &s) == -1)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (cb->topic_permission != NULL)
			cb->topic_permission(arg, sql_column_blob(s, 0),
			    sql_column_blob(s, 1), sql_column_blob(s, 2),
			    sql_column_blob(s, 3), sql_column_blob(s, 4));
	if (finish(st, s, rc) == -1)
		return -1;

	if (prepare(st, "SELECT user, max_connections, max_channels "
	    "FROM user_limits", &s) == -1)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (cb->user_limits != NULL)
			cb->user_limits(arg, sql_column_blob(s, 0),
			    sqlite3_column_type(s, 1) == SQLITE_NULL ? -1 :
			    sqlite3_column_int64(s, 1),
			    sqlite3_column_type(s, 2) == SQLITE_NULL ? -1 :
			    sqlite3_column_int64(s, 2));
	if (finish(st, s, rc) == -1)
		return -1;

	if (prepare(st, "SELECT kind, vhost, name, value FROM policies "
	    "ORDER BY rowid", &s) == -1)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (cb->policy != NULL)
			cb->policy(arg, (unsigned)sqlite3_column_int64(s, 0),
			    sql_column_blob(s, 1), sql_column_blob(s, 2),
			    sql_column_blob(s, 3));
	if (finish(st, s, rc) == -1)
		return -1;

	if (prepare(st, "SELECT vhost, name, type, flags, args "
	    "FROM exchanges", &s) == -1)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (cb->exchange != NULL)
			cb->exchange(arg, sql_column_blob(s, 0),
			    sql_column_blob(s, 1), sql_column_blob(s, 2),
			    (unsigned)sqlite3_column_int64(s, 3),
			    sql_column_blob(s, 4));
	if (finish(st, s, rc) == -1)
		return -1;

	if (prepare(st, "SELECT id, vhost, name, flags, args FROM queues "
	    "ORDER BY id", &s) == -1)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ids_add(queues, (uint64_t)sqlite3_column_int64(s, 0));
		if (cb->queue != NULL)
			cb->queue(arg, (uint64_t)sqlite3_column_int64(s, 0),
			    sql_column_blob(s, 1), sql_column_blob(s, 2),
			    (unsigned)sqlite3_column_int64(s, 3),
			    sql_column_blob(s, 4));
	}
	if (finish(st, s, rc) == -1)
		return -1;

	if (prepare(st, "SELECT vhost, source, dest_is_queue, dest, "
	    "routing_key, args FROM bindings", &s) == -1)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (cb->binding != NULL)
			cb->binding(arg, sql_column_blob(s, 0),
			    sql_column_blob(s, 1),
			    sqlite3_column_int64(s, 2) != 0,
			    sql_column_blob(s, 3), sql_column_blob(s, 4),
			    sql_column_blob(s, 5));
	return finish(st, s, rc);
}

/*
 * One scan of the primary key, already in (queue_id, seq) order, so no
 * sort; queues holds the recovered ids ascending, walked alongside.
 */
static int
scan_entries(struct sql_store *st, const struct store_recovery *cb, void *arg,
    const struct ids *queues)
{
	sqlite3_stmt *s;
	uint64_t qid;
	size_t q = 0, skipped = 0;
	int rc;

	/*
	 * The body's length (for x-max-length-bytes) without reading it:
	 * SQLite's length() of a blob takes its size from the record.
	 */
	if (prepare(st, "SELECT queue_id, seq, message_id, delivery_count, "
	    "flags, expires_at, priority, "
	    "(SELECT length(body) FROM messages WHERE id = message_id) "
	    "FROM queue_entries ORDER BY queue_id, seq",
	    &s) == -1)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		qid = (uint64_t)sqlite3_column_int64(s, 0);
		while (q < queues->n && queues->v[q] < qid)
			q++;
		/*
		 * XXX: entries of a queue whose put was lost with a failed
		 * batch are skipped, not deleted, and keep their messages.
		 */
		if (q == queues->n || queues->v[q] != qid) {
			skipped++;
			continue;
		}
		if (cb->entry != NULL)
			cb->entry(arg, qid, (uint64_t)sqlite3_column_int64(s, 1),
			    (uint64_t)sqlite3_column_int64(s, 2),
			    (uint32_t)sqlite3_column_int64(s, 3),
			    (unsigned)sqlite3_column_int64(s, 4),
			    (uint64_t)sqlite3_column_int64(s, 5),
			    clamp_priority(sqlite3_column_int64(s, 6)),
			    (uint64_t)sqlite3_column_int64(s, 7));
	}
	if (skipped > 0)
		log_warnx("store: recovery skipped %zu entries of "
		    "queues not in the database", skipped);
	return finish(st, s, rc);
}

int
sql_recover(void *be, const struct store_recovery *cb, void *arg)
{
	struct sql_store *st = be;
	struct ids queues = { NULL, 0, 0 };
	int rc = -1;

	if (drop_exclusive(st) == -1)
		return -1;
	if (scan_definitions(st, cb, arg, &queues) == 0 &&
	    scan_entries(st, cb, arg, &queues) == 0)
		rc = 0;
	free(queues.v);
	return rc;
}
