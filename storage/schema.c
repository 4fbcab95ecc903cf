#include "autoconf.h"

#include "storage/schema.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

/*
 * The schema, one migration per version: migrations[i] takes a database
 * from user_version i to i + 1. Bump the version (append a migration,
 * never edit a released one) for every change of format, however small:
 * a binary refuses a database newer than it knows, so an unbumped change
 * would let an old warrend misread a new file.
 *
 * Bodies live apart from the narrow per-queue index so that recovery
 * scans queue_entries without paging bodies in (PERFORMANCE.md A.6: 6x).
 * A message is stored once whatever the number of queues holding it;
 * refs counts its entries. Names and keys are BLOBs: a shortstr may hold
 * any byte. The queue_entries columns expires_at, priority and due_at are
 * NULL until per-message TTL, priority queues and delayed delivery use
 * them; each has a partial index so that its scan is one range.
 */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE vhosts ("
	"  name BLOB PRIMARY KEY"
	");"
	"CREATE TABLE exchanges ("
	"  vhost BLOB, name BLOB, type BLOB, flags INTEGER, args BLOB,"
	"  PRIMARY KEY (vhost, name)"
	");"
	"CREATE TABLE queues ("
	"  id INTEGER PRIMARY KEY, vhost BLOB, name BLOB, flags INTEGER,"
	"  args BLOB,"
	"  UNIQUE (vhost, name)"
	");"
	"CREATE TABLE bindings ("
	"  vhost BLOB, source BLOB, dest_is_queue INTEGER, dest BLOB,"
	"  routing_key BLOB, args BLOB,"
	"  PRIMARY KEY (vhost, source, dest_is_queue, dest, routing_key, args)"
	");"
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY, refs INTEGER, exchange BLOB,"
	"  routing_key BLOB, props BLOB, body BLOB"
	");"
	"CREATE TABLE queue_entries ("
	"  queue_id INTEGER, seq INTEGER, message_id INTEGER,"
	"  delivery_count INTEGER, flags INTEGER,"
	"  expires_at INTEGER, priority INTEGER, due_at INTEGER,"
	"  PRIMARY KEY (queue_id, seq)"
	") WITHOUT ROWID;"
	"CREATE INDEX queue_entries_expires ON queue_entries (expires_at)"
	"  WHERE expires_at IS NOT NULL;"
	"CREATE INDEX queue_entries_priority ON queue_entries"
	"  (queue_id, priority DESC, seq) WHERE priority IS NOT NULL;"
	"CREATE INDEX queue_entries_due ON queue_entries (due_at)"
	"  WHERE due_at IS NOT NULL;",
	/* 1 -> 2: users and their permissions (the security issue). */
	"CREATE TABLE users ("
	"  name BLOB PRIMARY KEY, password_hash BLOB, algorithm BLOB,"
	"  tags BLOB"
	");"
	"CREATE TABLE permissions ("
	"  user BLOB, vhost BLOB, configure BLOB, write BLOB, read BLOB,"
	"  PRIMARY KEY (user, vhost)"
	");",
	/* 2 -> 3: per-vhost limits; NULL is no limit. */
	"ALTER TABLE vhosts ADD COLUMN max_connections INTEGER;"
	"ALTER TABLE vhosts ADD COLUMN max_queues INTEGER;",
	/*
	 * 3 -> 4: vhost descriptions and tags (comma-separated); topic
	 * permissions; settings, where "seeded" records that
	 * the default vhost and user were made (once, as RabbitMQ: deleting
	 * them later must stick). Every older database was seeded.
	 */
	"ALTER TABLE vhosts ADD COLUMN description BLOB;"
	"ALTER TABLE vhosts ADD COLUMN tags BLOB;"
	"CREATE TABLE topic_permissions ("
	"  user BLOB, vhost BLOB, exchange BLOB, write BLOB, read BLOB,"
	"  PRIMARY KEY (user, vhost, exchange)"
	");"
	"CREATE TABLE settings (key TEXT PRIMARY KEY, value BLOB);"
	"INSERT INTO settings (key, value) SELECT 'seeded', 1"
	"  WHERE EXISTS (SELECT 1 FROM vhosts);",
	/*
	 * 4 -> 5: policies (kind 0) and operator policies (kind 1), their
	 * value the JSON document the admin API took ({pattern, apply-to,
	 * priority, definition}); per-user limits, NULL being no limit.
	 * The rowid orders policies by when they were last set.
	 */
	"CREATE TABLE policies ("
	"  kind INTEGER, vhost BLOB, name BLOB, value BLOB,"
	"  PRIMARY KEY (kind, vhost, name)"
	");"
	"CREATE TABLE user_limits ("
	"  user BLOB PRIMARY KEY, max_connections INTEGER,"
	"  max_channels INTEGER"
	");",
	/*
	 * 5 -> 6: the contents of a message's BCC array, taken out of its
	 * headers at publish but still routing its dead letters. Older
	 * rows read NULL: no BCC, which is all they could have kept.
	 * Adding a column rewrites no row, however many messages wait.
	 */
	"ALTER TABLE messages ADD COLUMN bcc BLOB;",
};

#define SCHEMA_VERSION	((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Runs a one-row integer query; returns 0 and sets *v, or -1. */
static int
query_int(sqlite3 *db, const char *sql, int64_t *v)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
schema_check(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int64_t appid, version, ntables;

	if (query_int(db, "PRAGMA application_id", &appid) == -1) {
		if (sqlite3_errcode(db) == SQLITE_NOTADB)
			snprintf(err, errlen, "%s is not a SQLite database "
			    "(%s)", path, sqlite3_errmsg(db));
		else
			snprintf(err, errlen, "%s: %s", path,
			    sqlite3_errmsg(db));
		return -1;
	}
	if (query_int(db, "PRAGMA user_version", &version) == -1 ||
	    query_int(db, "SELECT count(*) FROM sqlite_master",
	    &ntables) == -1) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		return -1;
	}
	if (appid == 0 && version == 0 && ntables == 0)
		return 0;	/* new: schema_upgrade() makes it ours */
	if (appid != SCHEMA_APPLICATION_ID) {
		snprintf(err, errlen, "%s is not a warren database "
		    "(application_id %lld)", path, (long long)appid);
		return -1;
	}
	if (version > SCHEMA_VERSION) {
		snprintf(err, errlen, "database schema version %lld is newer "
		    "than this warrend supports (%d)", (long long)version,
		    SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

int
schema_upgrade(sqlite3 *db, char *err, size_t errlen)
{
	char sql[96];
	char *msg = NULL;
	int64_t version;

	if (query_int(db, "PRAGMA user_version", &version) == 0 &&
	    version == SCHEMA_VERSION)
		return 0;	/* the common case: nothing to write */
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	/* Read again under the write lock: another process may have won. */
	if (query_int(db, "PRAGMA user_version", &version) == -1)
		goto fail;
	if (version > SCHEMA_VERSION) {
		snprintf(err, errlen, "database schema version %lld is newer "
		    "than this warrend supports (%d)", (long long)version,
		    SCHEMA_VERSION);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	for (; version < SCHEMA_VERSION; version++)
		if (sqlite3_exec(db, migrations[version], NULL, NULL,
		    &msg) != SQLITE_OK)
			goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; "
	    "PRAGMA user_version = %d", SCHEMA_APPLICATION_ID, SCHEMA_VERSION);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "schema upgrade: %s",
	    msg != NULL ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}
