#include "autoconf.h"

/*
 * Unit tests for the storage module (storage/). Each test works in its
 * own mkdtemp directory; rows are counted with sqlite3 directly, behind
 * the store's back, to see what a batch really wrote.
 */
#include <criterion/criterion.h>

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/store.h"

#define B(s)	((struct store_blob){ (s), sizeof(s) - 1 })
#define NOBLOB	((struct store_blob){ NULL, 0 })

static char	 dir[64];
static char	 err[256];
static char	 rec[8192];	/* what recovery reported, one line a call */
static size_t	 reclen;
static int	 released[16];	/* release calls per owner index */
static int	 owners[16];	/* owners are &owners[i] */

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/warren-test-store-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char path[512];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

TestSuite(store, .init = setup, .fini = teardown);

static void
on_release(void *owner)
{
	released[(int *)owner - owners]++;
}

static struct store *
open_store(void)
{
	struct store *st;

	st = store_open(dir, STORE_FSYNC, err, sizeof(err));
	cr_assert_not_null(st, "store_open: %s", err);
	store_set_release(st, on_release);
	return st;
}

/* ---- recording what recovery streams back ------------------------------ */

static void
emit(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reclen += vsnprintf(rec + reclen, sizeof(rec) - reclen, fmt, ap);
	va_end(ap);
	cr_assert_lt(reclen, sizeof(rec));
}

static void
emit_blob(struct store_blob b)
{
	const unsigned char *p = b.p;

	cr_assert_not_null(b.p, "blobs are never NULL pointers");
	emit(" \"");
	for (size_t i = 0; i < b.len; i++)
		emit(p[i] >= 0x20 && p[i] < 0x7f ? "%c" : "\\x%02x", p[i]);
	emit("\"");
}

static void
rec_vhost(void *arg, struct store_blob name)
{
	(void)arg;
	emit("vhost");
	emit_blob(name);
	emit("\n");
}

static void
rec_exchange(void *arg, struct store_blob vhost, struct store_blob name,
    struct store_blob type, unsigned flags, struct store_blob args)
{
	(void)arg;
	emit("exchange");
	emit_blob(vhost);
	emit_blob(name);
	emit_blob(type);
	emit(" %u", flags);
	emit_blob(args);
	emit("\n");
}

static void
rec_queue(void *arg, uint64_t queue_id, struct store_blob vhost,
    struct store_blob name, unsigned flags, struct store_blob args)
{
	(void)arg;
	emit("queue %llu", (unsigned long long)queue_id);
	emit_blob(vhost);
	emit_blob(name);
	emit(" %u", flags);
	emit_blob(args);
	emit("\n");
}

static void
rec_binding(void *arg, struct store_blob vhost, struct store_blob source,
    bool dest_is_queue, struct store_blob dest, struct store_blob key,
    struct store_blob args)
{
	(void)arg;
	emit("binding");
	emit_blob(vhost);
	emit_blob(source);
	emit(" %s", dest_is_queue ? "queue" : "exchange");
	emit_blob(dest);
	emit_blob(key);
	emit_blob(args);
	emit("\n");
}

static void
rec_entry(void *arg, uint64_t queue_id, uint64_t seq, uint64_t msg_id,
    uint32_t delivery_count, unsigned flags, uint64_t expires_at,
    uint8_t priority, uint64_t body_len)
{
	(void)arg;
	if (priority != 0)
		emit("entry %llu %llu %llu %u %u pri=%u\n",
		    (unsigned long long)queue_id, (unsigned long long)seq,
		    (unsigned long long)msg_id, delivery_count, flags,
		    (unsigned)priority);
	else if (expires_at != 0)
		emit("entry %llu %llu %llu %u %u exp=%llu\n",
		    (unsigned long long)queue_id, (unsigned long long)seq,
		    (unsigned long long)msg_id, delivery_count, flags,
		    (unsigned long long)expires_at);
	else
		emit("entry %llu %llu %llu %u %u\n",
		    (unsigned long long)queue_id, (unsigned long long)seq,
		    (unsigned long long)msg_id, delivery_count, flags);
}

static void
rec_user(void *arg, struct store_blob name, struct store_blob hash,
    struct store_blob algorithm, struct store_blob tags)
{
	(void)arg;
	emit("user %.*s %.*s %.*s %.*s\n", (int)name.len, (const char *)name.p,
	    (int)hash.len, (const char *)hash.p, (int)algorithm.len,
	    (const char *)algorithm.p, (int)tags.len, (const char *)tags.p);
}

static void
rec_permission(void *arg, struct store_blob user, struct store_blob vhost,
    struct store_blob configure, struct store_blob write,
    struct store_blob read)
{
	(void)arg;
	emit("permission %.*s %.*s %.*s %.*s %.*s\n", (int)user.len,
	    (const char *)user.p, (int)vhost.len, (const char *)vhost.p,
	    (int)configure.len, (const char *)configure.p, (int)write.len,
	    (const char *)write.p, (int)read.len, (const char *)read.p);
}

static void
rec_topic_permission(void *arg, struct store_blob user,
    struct store_blob vhost, struct store_blob exchange,
    struct store_blob write, struct store_blob read)
{
	(void)arg;
	emit("topic %.*s %.*s %.*s %.*s %.*s\n", (int)user.len,
	    (const char *)user.p, (int)vhost.len, (const char *)vhost.p,
	    (int)exchange.len, (const char *)exchange.p, (int)write.len,
	    (const char *)write.p, (int)read.len, (const char *)read.p);
}

static void
rec_vhost_meta(void *arg, struct store_blob name, struct store_blob desc,
    struct store_blob tags)
{
	(void)arg;
	emit("meta %.*s '%.*s' '%.*s'\n", (int)name.len, (const char *)name.p,
	    (int)desc.len, (const char *)desc.p, (int)tags.len,
	    (const char *)tags.p);
}

static void
rec_vhost_limits(void *arg, struct store_blob name, int64_t maxc,
    int64_t maxq)
{
	(void)arg;
	emit("limits %.*s %lld %lld\n", (int)name.len, (const char *)name.p,
	    (long long)maxc, (long long)maxq);
}

static void
rec_policy(void *arg, unsigned kind, struct store_blob vhost,
    struct store_blob name, struct store_blob value)
{
	(void)arg;
	emit("policy %u %.*s %.*s %.*s\n", kind, (int)vhost.len,
	    (const char *)vhost.p, (int)name.len, (const char *)name.p,
	    (int)value.len, (const char *)value.p);
}

static void
rec_user_limits(void *arg, struct store_blob name, int64_t maxc,
    int64_t maxch)
{
	(void)arg;
	emit("user-limits %.*s %lld %lld\n", (int)name.len,
	    (const char *)name.p, (long long)maxc, (long long)maxch);
}

static const struct store_recovery recorder = {
	.policy = rec_policy,
	.user_limits = rec_user_limits,
	.vhost = rec_vhost,
	.vhost_meta = rec_vhost_meta,
	.vhost_limits = rec_vhost_limits,
	.user = rec_user,
	.permission = rec_permission,
	.topic_permission = rec_topic_permission,
	.exchange = rec_exchange,
	.queue = rec_queue,
	.binding = rec_binding,
	.entry = rec_entry,
};

static const char *
recover(struct store *st)
{
	reclen = 0;
	rec[0] = '\0';
	cr_assert_eq(store_recover(st, &recorder, NULL), 0, "recover: %s",
	    store_errmsg(st));
	return rec;
}

/* ---- looking behind the store's back ----------------------------------- */

static long long
sql_int(const char *sql)
{
	char path[128];
	sqlite3_stmt *s;
	sqlite3 *db;
	long long v = -1;

	snprintf(path, sizeof(path), "%s/warren.db", dir);
	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* The first column of the first row as text, in a static buffer. */
static const char *
sql_str(const char *sql)
{
	static char buf[64];
	char path[128];
	sqlite3_stmt *s;
	sqlite3 *db;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/warren.db", dir);
	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_text(s, 0) != NULL)
		snprintf(buf, sizeof(buf), "%s",
		    (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return buf;
}

static void
sql_exec(const char *sql)
{
	char path[128];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/warren.db", dir);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

static long long
rows(const char *table)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return sql_int(sql);
}

static uint64_t
put_msg(struct store *st, const char *body, uint32_t refs, int owner)
{
	return store_put_message(st, B("amq.direct"), B("rk"), B("props"),
	    (struct store_blob){ body, strlen(body) }, NOBLOB, refs,
	    &owners[owner]);
}

/* ---- tests ------------------------------------------------------------- */

Test(store, definitions_and_entries_survive_reopen)
{
	struct store *st = open_store();
	uint64_t q, m1, m2;
	char first[8192];

	store_put_vhost(st, B("/"));
	store_put_exchange(st, B("/"), B("logs"), B("topic"),
	    STORE_EXCHANGE_DURABLE, B("\x00\x00\x00\x00"));
	q = store_put_queue(st, B("/"), B("work"), STORE_QUEUE_DURABLE,
	    B("args"));
	store_put_binding(st, B("/"), B("logs"), true, B("work"), B("a.#"),
	    NOBLOB);
	m1 = put_msg(st, "one", 1, 0);
	store_put_entry(st, q, 1, m1, 0, 0, 0, 0);
	m2 = put_msg(st, "two", 1, 1);
	store_put_entry(st, q, 2, m2, 0, 0, 0, 0);
	cr_assert(store_dirty(st));
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_not(store_dirty(st));
	cr_assert_eq(released[0], 1);
	cr_assert_eq(released[1], 1);
	store_close(st);

	st = open_store();
	snprintf(first, sizeof(first), "%s", recover(st));
	cr_assert_str_eq(first,
	    "vhost \"/\"\n"
	    "exchange \"/\" \"logs\" \"topic\" 1 \"\\x00\\x00\\x00\\x00\"\n"
	    "queue 1 \"/\" \"work\" 1 \"args\"\n"
	    "binding \"/\" \"logs\" queue \"work\" \"a.#\" \"\"\n"
	    "entry 1 1 1 0 0\n"
	    "entry 1 2 2 0 0\n");
	cr_assert_str_eq(recover(st), first, "recovery is repeatable");
	store_close(st);
	cr_assert_eq(released[0], 1, "no second release");
}

Test(store, ids_continue_after_reopen)
{
	struct store *st = open_store();
	uint64_t q, m;

	q = store_put_queue(st, B("/"), B("a"), STORE_QUEUE_DURABLE, NOBLOB);
	m = put_msg(st, "x", 1, 0);
	store_put_entry(st, q, 1, m, 0, 0, 0, 0);
	cr_assert_eq(store_commit(st), 0);
	store_close(st);

	st = open_store();
	cr_assert_gt(store_put_queue(st, B("/"), B("b"), 0, NOBLOB), q);
	cr_assert_gt(put_msg(st, "y", 1, 1), m);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	store_close(st);
}

Test(store, entry_put_and_deleted_in_one_batch_is_never_written)
{
	struct store *st = open_store();
	uint64_t q, m;

	q = store_put_queue(st, B("/"), B("q"), STORE_QUEUE_DURABLE, NOBLOB);
	cr_assert_eq(store_commit(st), 0);

	m = put_msg(st, "fleeting", 1, 0);
	store_put_entry(st, q, 1, m, 0, 0, 0, 0);
	store_del_entry(st, q, 1, m, 0);
	cr_assert_eq(released[0], 0, "released at commit, not before");
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_eq(released[0], 1);
	cr_assert_eq(rows("messages"), 0);
	cr_assert_eq(rows("queue_entries"), 0);
	cr_assert_eq(store_load_message(st, m, &(struct store_message){ 0 }),
	    -1);
	cr_assert_str_eq(recover(st), "queue 1 \"/\" \"q\" 1 \"\"\n");
	store_close(st);
}

Test(store, cancelling_some_entries_lowers_the_refs_written)
{
	struct store *st = open_store();
	uint64_t q1, q2, m;

	q1 = store_put_queue(st, B("/"), B("q1"), STORE_QUEUE_DURABLE, NOBLOB);
	q2 = store_put_queue(st, B("/"), B("q2"), STORE_QUEUE_DURABLE, NOBLOB);
	m = put_msg(st, "fan", 2, 0);
	store_put_entry(st, q1, 1, m, 0, STORE_ENTRY_SHARED, 0, 0);
	store_put_entry(st, q2, 1, m, 0, STORE_ENTRY_SHARED, 0, 0);
	store_del_entry(st, q1, 1, m, STORE_ENTRY_SHARED);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_eq(sql_int("SELECT refs FROM messages"), 1);
	cr_assert_eq(rows("queue_entries"), 1);

	store_del_entry(st, q2, 1, m, STORE_ENTRY_SHARED);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_eq(rows("messages"), 0);
	cr_assert_eq(rows("queue_entries"), 0);
	cr_assert_eq(released[0], 1);
	store_close(st);
}

Test(store, delivered_bump_is_persisted)
{
	struct store *st = open_store();
	uint64_t q, m1, m2;

	q = store_put_queue(st, B("/"), B("q"), STORE_QUEUE_DURABLE, NOBLOB);
	m1 = put_msg(st, "a", 1, 0);
	store_put_entry(st, q, 1, m1, 0, 0, 0, 0);
	store_entry_delivered(st, q, 1);	/* on the pending put */
	m2 = put_msg(st, "b", 1, 1);
	store_put_entry(st, q, 2, m2, 3, 0, 1700000000123ull, 0);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));

	store_entry_delivered(st, q, 1);	/* on disk */
	store_entry_delivered(st, q, 2);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	store_close(st);

	st = open_store();
	cr_assert_str_eq(recover(st),
	    "queue 1 \"/\" \"q\" 1 \"\"\n"
	    "entry 1 1 1 2 0\n"
	    "entry 1 2 2 4 0 exp=1700000000123\n");
	store_close(st);
}

Test(store, entry_priority_is_persisted)
{
	struct store *st = open_store();
	uint64_t q, m1, m2;

	q = store_put_queue(st, B("/"), B("pq"), STORE_QUEUE_DURABLE, NOBLOB);
	m1 = put_msg(st, "a", 1, 0);
	store_put_entry(st, q, 1, m1, 0, 0, 0, 0);
	m2 = put_msg(st, "b", 1, 1);
	store_put_entry(st, q, 2, m2, 0, 0, 0, 255);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	store_close(st);

	st = open_store();
	cr_assert_str_eq(recover(st),
	    "queue 1 \"/\" \"pq\" 1 \"\"\n"
	    "entry 1 1 1 0 0\n"
	    "entry 1 2 2 0 0 pri=255\n");
	store_close(st);
}

Test(store, shared_message_is_stored_once_until_its_last_entry_goes)
{
	struct store *st = open_store();
	uint64_t q[3], m;

	for (int i = 0; i < 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "q%d", i);
		q[i] = store_put_queue(st, B("/"),
		    (struct store_blob){ name, strlen(name) },
		    STORE_QUEUE_DURABLE, NOBLOB);
	}
	m = put_msg(st, "fanout body", 3, 0);
	for (int i = 0; i < 3; i++)
		store_put_entry(st, q[i], 7, m, 0, STORE_ENTRY_SHARED, 0, 0);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_eq(rows("messages"), 1);
	cr_assert_eq(rows("queue_entries"), 3);
	cr_assert_eq(sql_int("SELECT refs FROM messages"), 3);

	for (int i = 0; i < 2; i++) {
		store_del_entry(st, q[i], 7, m, STORE_ENTRY_SHARED);
		cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
		cr_assert_eq(rows("messages"), 1);
	}
	cr_assert_eq(sql_int("SELECT refs FROM messages"), 1);
	store_del_entry(st, q[2], 7, m, STORE_ENTRY_SHARED);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_eq(rows("messages"), 0);
	cr_assert_eq(rows("queue_entries"), 0);
	store_close(st);
}

Test(store, del_queue_removes_its_entries_bindings_and_orphaned_messages)
{
	struct store *st = open_store();
	uint64_t q1, q2, only, shared;

	q1 = store_put_queue(st, B("/"), B("q1"), STORE_QUEUE_DURABLE, NOBLOB);
	q2 = store_put_queue(st, B("/"), B("q2"), STORE_QUEUE_DURABLE, NOBLOB);
	store_put_binding(st, B("/"), B("amq.direct"), true, B("q1"), B("k"),
	    NOBLOB);
	store_put_binding(st, B("/"), B("amq.direct"), true, B("q2"), B("k"),
	    NOBLOB);
	only = put_msg(st, "only in q1", 1, 0);
	store_put_entry(st, q1, 1, only, 0, 0, 0, 0);
	shared = put_msg(st, "in both", 2, 1);
	store_put_entry(st, q1, 2, shared, 0, STORE_ENTRY_SHARED, 0, 0);
	store_put_entry(st, q2, 1, shared, 0, STORE_ENTRY_SHARED, 0, 0);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));

	store_del_queue(st, q1);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_eq(rows("queues"), 1);
	cr_assert_eq(rows("queue_entries"), 1);
	cr_assert_eq(rows("bindings"), 1);
	cr_assert_eq(rows("messages"), 1);
	cr_assert_eq(sql_int("SELECT id FROM messages"), (long long)shared);
	cr_assert_eq(sql_int("SELECT refs FROM messages"), 1);
	store_close(st);
}

Test(store, runs_of_acks_delete_exactly_their_entries)
{
	struct store *st = open_store();
	uint64_t q1, q2, m[6], a, b, c;

	q1 = store_put_queue(st, B("/"), B("q1"), STORE_QUEUE_DURABLE, NOBLOB);
	q2 = store_put_queue(st, B("/"), B("q2"), STORE_QUEUE_DURABLE, NOBLOB);
	for (int i = 0; i < 6; i++) {
		m[i] = put_msg(st, "run", 1, i);
		store_put_entry(st, q1, i + 1, m[i], 0, 0, 0, 0);
	}
	a = put_msg(st, "a", 1, 6);
	store_put_entry(st, q2, 1, a, 0, 0, 0, 0);
	b = put_msg(st, "b", 1, 7);
	store_put_entry(st, q1, 7, b, 0, 0, 0, 0);
	c = put_msg(st, "c", 1, 8);
	store_put_entry(st, q2, 2, c, 0, 0, 0, 0);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));

	for (int i = 0; i < 3; i++)	/* one run: seqs 1-3 */
		store_del_entry(st, q1, i + 1, m[i], 0);
	store_del_entry(st, q1, 5, m[4], 0);	/* a gap, then 5-6 */
	store_del_entry(st, q1, 6, m[5], 0);
	store_del_entry(st, q2, 1, a, 0);	/* seqs follow, ids do not */
	store_del_entry(st, q2, 2, c, 0);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_str_eq(recover(st),
	    "queue 1 \"/\" \"q1\" 1 \"\"\n"
	    "queue 2 \"/\" \"q2\" 1 \"\"\n"
	    "entry 1 4 4 0 0\n"
	    "entry 1 7 8 0 0\n");
	cr_assert_eq(rows("messages"), 2);
	cr_assert_eq(sql_int("SELECT sum(id) FROM messages"),
	    (long long)(m[3] + b));
	store_close(st);
}

Test(store, queue_declared_filled_and_deleted_in_one_batch_leaves_nothing)
{
	struct store *st = open_store();
	uint64_t q, m;

	q = store_put_queue(st, B("/"), B("q"), STORE_QUEUE_DURABLE, NOBLOB);
	m = put_msg(st, "x", 1, 0);
	store_put_entry(st, q, 1, m, 0, 0, 0, 0);
	store_del_queue(st, q);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_eq(rows("queues"), 0);
	cr_assert_eq(rows("queue_entries"), 0);
	cr_assert_eq(rows("messages"), 0);
	cr_assert_eq(released[0], 1);
	store_close(st);
}

Test(store, exclusive_queues_are_gone_after_recover)
{
	struct store *st = open_store();
	uint64_t qx, qd, m1, m2;

	qx = store_put_queue(st, B("/"), B("mine"),
	    STORE_QUEUE_DURABLE | STORE_QUEUE_EXCLUSIVE, NOBLOB);
	qd = store_put_queue(st, B("/"), B("kept"), STORE_QUEUE_DURABLE,
	    NOBLOB);
	m1 = put_msg(st, "private", 1, 0);
	store_put_entry(st, qx, 1, m1, 0, 0, 0, 0);
	m2 = put_msg(st, "both", 2, 1);
	store_put_entry(st, qx, 2, m2, 0, STORE_ENTRY_SHARED, 0, 0);
	store_put_entry(st, qd, 1, m2, 0, STORE_ENTRY_SHARED, 0, 0);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	store_close(st);

	st = open_store();
	cr_assert_str_eq(recover(st),
	    "queue 2 \"/\" \"kept\" 1 \"\"\n"
	    "entry 2 1 2 0 1\n");
	cr_assert_eq(rows("queues"), 1);
	cr_assert_eq(rows("messages"), 1);
	cr_assert_eq(sql_int("SELECT refs FROM messages"), 1);
	store_close(st);
}

Test(store, del_vhost_takes_its_definitions_along)
{
	struct store *st = open_store();
	uint64_t q, m;

	store_put_vhost(st, B("/"));
	store_put_vhost(st, B("other"));
	store_put_exchange(st, B("other"), B("x"), B("direct"),
	    STORE_EXCHANGE_DURABLE, NOBLOB);
	q = store_put_queue(st, B("other"), B("q"), STORE_QUEUE_DURABLE,
	    NOBLOB);
	store_put_binding(st, B("other"), B("x"), true, B("q"), B("k"), NOBLOB);
	m = put_msg(st, "x", 1, 0);
	store_put_entry(st, q, 1, m, 0, 0, 0, 0);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));

	store_del_vhost(st, B("other"));
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_str_eq(recover(st), "vhost \"/\"\n");
	cr_assert_eq(rows("messages"), 0);
	cr_assert_eq(rows("queue_entries"), 0);
	store_close(st);
}

Test(store, exchange_and_binding_deletes_are_written)
{
	struct store *st = open_store();

	store_put_exchange(st, B("/"), B("a"), B("fanout"),
	    STORE_EXCHANGE_DURABLE, NOBLOB);
	store_put_exchange(st, B("/"), B("b"), B("fanout"),
	    STORE_EXCHANGE_DURABLE, NOBLOB);
	store_put_binding(st, B("/"), B("a"), false, B("b"), B(""), NOBLOB);
	store_put_binding(st, B("/"), B("b"), false, B("a"), B("k"), NOBLOB);
	store_put_binding(st, B("/"), B("b"), false, B("a"), B("k"), NOBLOB);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_eq(rows("bindings"), 2, "a binding put twice is one row");

	store_del_binding(st, B("/"), B("b"), false, B("a"), B("k"), NOBLOB);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_eq(rows("bindings"), 1);
	store_del_exchange(st, B("/"), B("b"));
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_str_eq(recover(st),
	    "exchange \"/\" \"a\" \"fanout\" 1 \"\"\n");
	store_close(st);
}

Test(store, newer_schema_is_refused)
{
	struct store *st = open_store();

	store_close(st);
	sql_exec("PRAGMA user_version = 99");
	cr_assert_null(store_open(dir, STORE_FSYNC, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "database schema version 99 is newer "
	    "than this warrend supports (6)"), "%s", err);
}

Test(store, version_1_database_is_migrated_to_the_current_version)
{
	struct store *st = open_store();

	store_put_vhost(st, B("/"));
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	store_close(st);
	/*
	 * Back to what version 1 had: no users, no vhost limits or
	 * metadata, no topic permissions or settings.
	 */
	sql_exec("DROP TABLE users; DROP TABLE permissions; "
	    "DROP TABLE topic_permissions; DROP TABLE settings; "
	    "DROP TABLE policies; DROP TABLE user_limits; "
	    "ALTER TABLE vhosts DROP COLUMN max_connections; "
	    "ALTER TABLE vhosts DROP COLUMN max_queues; "
	    "ALTER TABLE vhosts DROP COLUMN description; "
	    "ALTER TABLE vhosts DROP COLUMN tags; "
	    "ALTER TABLE messages DROP COLUMN bcc; "
	    "PRAGMA user_version = 1");
	st = open_store();
	cr_assert(store_seeded(st), "an older database was seeded");
	store_put_topic_permission(st, B("alice"), B("/"), B("t"), B(""),
	    B(""));
	store_put_user(st, B("alice"), B("x"), B("y"), B(""));
	store_put_vhost(st, B("v"));
	store_put_vhost_limits(st, B("v"), 3, 4);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_eq(rows("users"), 1);
	cr_assert_eq(rows("topic_permissions"), 1);
	store_put_policy(st, 0, B("v"), B("p"), B("{}"));
	store_put_user_limits(st, B("alice"), 1, -1);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_eq(rows("policies"), 1);
	cr_assert_eq(rows("user_limits"), 1);
	store_close(st);
}

/*
 * A data directory of the version before BCC keys were stored: its
 * messages, written without them, still load (with none), and new ones
 * keep theirs.
 */
Test(store, version_5_messages_load_and_new_ones_keep_their_bcc)
{
	struct store *st = open_store();
	struct store_message sm;
	uint64_t q, old, m;

	store_put_vhost(st, B("/"));
	q = store_put_queue(st, B("/"), B("q"), STORE_QUEUE_DURABLE, NOBLOB);
	old = store_put_message(st, B("ex"), B("rk"), B("p"), B("old body"),
	    NOBLOB, 1, &owners[0]);
	store_put_entry(st, q, 1, old, 0, 0, 0, 0);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	store_close(st);
	/* Version 5's messages table, its row as version 5 wrote it. */
	sql_exec("ALTER TABLE messages DROP COLUMN bcc; "
	    "PRAGMA user_version = 5");
	cr_assert_eq(sql_int("SELECT count(*) FROM pragma_table_info("
	    "'messages') WHERE name = 'bcc'"), 0);

	st = open_store();
	cr_assert_eq(sql_int("PRAGMA user_version"), 6);
	cr_assert_str_eq(recover(st),
	    "vhost \"/\"\n"
	    "queue 1 \"/\" \"q\" 1 \"\"\n"
	    "entry 1 1 1 0 0\n");
	cr_assert_eq(store_load_message(st, old, &sm), 0, "%s",
	    store_errmsg(st));
	cr_assert_eq(sm.body.len, 8);
	cr_assert_eq(memcmp(sm.body.p, "old body", 8), 0);
	cr_assert_eq(sm.bcc.len, 0, "a version 5 message has no BCC keys");
	cr_assert_not_null(sm.bcc.p);

	m = store_put_message(st, B("ex"), B("rk"), B("p"), B("new body"),
	    B("S\0\0\0\x02k1"), 1, &owners[1]);
	store_put_entry(st, q, 2, m, 0, 0, 0, 0);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	store_close(st);
	st = open_store();
	cr_assert_eq(store_load_message(st, m, &sm), 0, "%s",
	    store_errmsg(st));
	cr_assert_eq(sm.body.len, 8);
	cr_assert_eq(memcmp(sm.body.p, "new body", 8), 0);
	cr_assert_eq(sm.bcc.len, 7);
	cr_assert_eq(memcmp(sm.bcc.p, "S\0\0\0\x02k1", 7), 0);
	cr_assert_eq(store_load_message(st, old, &sm), 0, "%s",
	    store_errmsg(st));
	cr_assert_eq(sm.bcc.len, 0);
	store_close(st);
}

/*
 * Policies come back in the order they were last set (ties between equal
 * priorities go to the newest), and go with their vhost; user limits go
 * with their user.
 */
Test(store, policies_and_user_limits)
{
	struct store *st = open_store();

	store_put_vhost(st, B("v"));
	store_put_vhost(st, B("w"));
	store_put_user(st, B("u"), B("h"), B("a"), B(""));
	store_put_user(st, B("gone"), B("h"), B("a"), B(""));
	store_put_policy(st, 0, B("v"), B("a"), B("1"));
	store_put_policy(st, 1, B("v"), B("a"), B("op"));
	store_put_policy(st, 0, B("v"), B("b"), B("2"));
	store_put_policy(st, 0, B("w"), B("c"), B("3"));
	store_put_user_limits(st, B("u"), 5, -1);
	store_put_user_limits(st, B("gone"), 1, 2);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	/* a again: now the newest. */
	store_put_policy(st, 0, B("v"), B("a"), B("1b"));
	store_del_policy(st, 1, B("v"), B("a"));
	store_del_vhost(st, B("w"));
	store_del_user(st, B("gone"));
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	reclen = 0;
	rec[0] = '\0';
	cr_assert_eq(store_recover(st, &(const struct store_recovery){
	    .policy = rec_policy, .user_limits = rec_user_limits }, NULL), 0);
	cr_assert_str_eq(rec, "user-limits u 5 -1\n"
	    "policy 0 v b 2\n"
	    "policy 0 v a 1b\n");
	store_close(st);
}

Test(store, foreign_sqlite_database_is_refused)
{
	char path[128];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/warren.db", dir);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "CREATE TABLE t (x); "
	    "INSERT INTO t VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	cr_assert_null(store_open(dir, STORE_FSYNC, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "not a warren database"), "%s", err);
	cr_assert_str_eq(sql_str("PRAGMA journal_mode"), "delete",
	    "the foreign file is not switched to WAL");
	cr_assert_eq(rows("t"), 1);
}

Test(store, garbage_file_is_refused)
{
	char path[128], junk[4096];
	int fd;

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7919 + 13);
	snprintf(path, sizeof(path), "%s/warren.db", dir);
	cr_assert_neq(fd = open(path, O_WRONLY | O_CREAT, 0600), -1);
	cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);

	cr_assert_null(store_open(dir, STORE_FSYNC, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "is not a SQLite database"), "%s", err);
}

Test(store, second_open_of_a_directory_is_refused)
{
	struct store *st = open_store(), *st2;
	char want[128];

	snprintf(want, sizeof(want), "data directory %s is in use by another "
	    "warrend (pid %ld)", dir, (long)getpid());
	st2 = store_open(dir, STORE_FSYNC, err, sizeof(err));
	cr_assert_null(st2);
	cr_assert_str_eq(err, want);
	store_close(st);

	st = open_store();	/* the lock went with the close */
	store_close(st);
}

Test(store, injected_failure_releases_owners_once_and_writes_nothing)
{
	struct store *st = open_store();
	uint64_t q, m[3];

	q = store_put_queue(st, B("/"), B("q"), STORE_QUEUE_DURABLE, NOBLOB);
	cr_assert_eq(store_commit(st), 0);

	store_inject_failures(st, 1);
	for (int i = 0; i < 3; i++) {
		m[i] = put_msg(st, "doomed", 1, i);
		store_put_entry(st, q, i + 1, m[i], 0, 0, 0, 0);
	}
	cr_assert_eq(store_commit(st), -1);
	cr_assert_not_null(strstr(store_errmsg(st),
	    "database or disk is full"), "%s", store_errmsg(st));
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(released[i], 1);
		cr_assert_null(store_pending_owner(st, m[i]));
	}
	cr_assert_not(store_dirty(st), "the failed batch is dropped");
	cr_assert_eq(rows("messages"), 0);
	cr_assert_eq(rows("queue_entries"), 0);

	m[0] = put_msg(st, "fine", 1, 3);
	store_put_entry(st, q, 10, m[0], 0, 0, 0, 0);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_eq(released[3], 1);
	cr_assert_eq(rows("messages"), 1);
	store_close(st);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(released[i], 1);
}

Test(store, failed_commit_keeps_acks_and_definitions_for_the_retry)
{
	struct store *st = open_store();
	uint64_t q, q2, m;

	q = store_put_queue(st, B("/"), B("q"), STORE_QUEUE_DURABLE, NOBLOB);
	m = put_msg(st, "acked", 1, 0);
	store_put_entry(st, q, 1, m, 0, 0, 0, 0);
	cr_assert_eq(store_commit(st), 0);

	/* An ack and a declare in a batch whose commit fails... */
	store_del_entry(st, q, 1, m, 0);
	q2 = store_put_queue(st, B("/"), B("q2"), STORE_QUEUE_DURABLE, NOBLOB);
	store_inject_failures(st, 1);
	cr_assert_eq(store_commit(st), -1);
	cr_assert_eq(rows("queue_entries"), 1);
	cr_assert_not(store_dirty(st), "nothing new to commit");
	cr_assert(store_retry_pending(st));
	/* ...are written by the next commit: no ack comes back. */
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_not(store_retry_pending(st));
	cr_assert_eq(rows("queue_entries"), 0);
	cr_assert_eq(rows("messages"), 0);
	cr_assert_eq(rows("queues"), 2);
	cr_assert_neq(q2, q);
	store_close(st);
}

Test(store, pending_owner_until_commit_then_load_from_disk)
{
	struct store *st = open_store();
	struct store_message sm;
	uint64_t q, m;

	q = store_put_queue(st, B("/"), B("q"), STORE_QUEUE_DURABLE, NOBLOB);
	m = store_put_message(st, B("ex"), B("key"), B("\x01props"),
	    B("the body"), NOBLOB, 1, &owners[5]);
	store_put_entry(st, q, 1, m, 0, 0, 0, 0);
	cr_assert_eq(store_pending_owner(st, m), &owners[5]);
	cr_assert_null(store_pending_owner(st, m + 1));
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_null(store_pending_owner(st, m));

	cr_assert_eq(store_load_message(st, m, &sm), 0, "%s",
	    store_errmsg(st));
	cr_assert_eq(sm.exchange.len, 2);
	cr_assert_eq(memcmp(sm.exchange.p, "ex", 2), 0);
	cr_assert_eq(sm.routing_key.len, 3);
	cr_assert_eq(memcmp(sm.routing_key.p, "key", 3), 0);
	cr_assert_eq(sm.props.len, 6);
	cr_assert_eq(memcmp(sm.props.p, "\x01props", 6), 0);
	cr_assert_eq(sm.body.len, 8);
	cr_assert_eq(memcmp(sm.body.p, "the body", 8), 0);
	cr_assert_eq(store_load_message(st, m + 100, &sm), -1);
	store_close(st);
}

Test(store, os_durability_opens_and_commits)
{
	struct store *st;
	uint64_t q, m;

	st = store_open(dir, STORE_OS, err, sizeof(err));
	cr_assert_not_null(st, "%s", err);
	q = store_put_queue(st, B("/"), B("q"), STORE_QUEUE_DURABLE, NOBLOB);
	m = store_put_message(st, NOBLOB, NOBLOB, NOBLOB, B("b"), NOBLOB, 1,
	    NULL);
	store_put_entry(st, q, 1, m, 0, 0, 0, 0);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_str_eq(sql_str("PRAGMA journal_mode"), "wal");
	store_close(st);
	cr_assert_eq(rows("queue_entries"), 1);
}

Test(store, empty_blobs_round_trip_as_empty)
{
	struct store *st = open_store();
	struct store_message sm;
	uint64_t q, m;

	store_put_vhost(st, B(""));
	store_put_exchange(st, B(""), B(""), B("direct"),
	    STORE_EXCHANGE_DURABLE, NOBLOB);
	q = store_put_queue(st, B(""), NOBLOB, STORE_QUEUE_DURABLE, B(""));
	store_put_binding(st, B(""), B(""), true, NOBLOB, NOBLOB, NOBLOB);
	m = store_put_message(st, NOBLOB, B(""), NOBLOB, NOBLOB, NOBLOB, 1,
	    &owners[0]);
	store_put_entry(st, q, 1, m, 0, 0, 0, 0);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_eq(sql_int("SELECT count(*) FROM messages WHERE "
	    "typeof(exchange) = 'blob' AND typeof(body) = 'blob' AND "
	    "length(body) = 0"), 1, "empty is a zero-length blob, not NULL");
	cr_assert_eq(sql_int("SELECT count(*) FROM bindings WHERE "
	    "typeof(args) = 'null'"), 0);
	store_close(st);

	st = open_store();
	cr_assert_str_eq(recover(st),
	    "vhost \"\"\n"
	    "exchange \"\" \"\" \"direct\" 1 \"\"\n"
	    "queue 1 \"\" \"\" 1 \"\"\n"
	    "binding \"\" \"\" queue \"\" \"\" \"\"\n"
	    "entry 1 1 1 0 0\n");
	cr_assert_eq(store_load_message(st, m, &sm), 0, "%s",
	    store_errmsg(st));
	cr_assert_not_null(sm.body.p);
	cr_assert_eq(sm.exchange.len + sm.routing_key.len + sm.props.len +
	    sm.body.len, 0);
	store_del_binding(st, B(""), B(""), true, NOBLOB, NOBLOB, NOBLOB);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_eq(rows("bindings"), 0, "empty blobs compare equal");
	store_close(st);
}

Test(store, close_releases_an_uncommitted_batch)
{
	struct store *st = open_store();

	put_msg(st, "never committed", 1, 0);
	store_close(st);
	cr_assert_eq(released[0], 1);
}

/* ---- checkpoints ------------------------------------------------------- */

static char	 kib[1024];	/* a 1 KiB body, as in the benchmarks */

/* One grouped commit of n 1 KiB messages at seq on; returns the first id. */
static uint64_t
put_batch(struct store *st, uint64_t q, uint64_t seq, int n)
{
	uint64_t first = 0, m;

	memset(kib, 'k', sizeof(kib));
	for (int i = 0; i < n; i++) {
		m = store_put_message(st, B("amq.direct"), B("rk"), NOBLOB,
		    (struct store_blob){ kib, sizeof(kib) }, NOBLOB, 1, NULL);
		if (i == 0)
			first = m;
		store_put_entry(st, q, seq + i, m, 0, 0, 0, 0);
	}
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	return first;
}

static long long
file_size(const char *name)
{
	char path[128];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

static void
count_entry(void *arg, uint64_t queue_id, uint64_t seq, uint64_t msg_id,
    uint32_t delivery_count, unsigned flags, uint64_t expires_at,
    uint8_t priority, uint64_t body_len)
{
	(*(long long *)arg)++;
}

/* Reopens the directory and counts the entries recovery streams back. */
static long long
recovered_entries(void)
{
	static const struct store_recovery counter = { .entry = count_entry };
	struct store *st = open_store();
	long long n = 0;

	cr_assert_eq(store_recover(st, &counter, &n), 0, "recover: %s",
	    store_errmsg(st));
	store_close(st);
	return n;
}

Test(store, wal_is_checkpointed_off_the_commit_path)
{
	struct store *st = open_store();
	long long db = 0;
	uint64_t q;
	int i;

	store_set_release(st, NULL);
	q = store_put_queue(st, B("/"), B("q"), STORE_QUEUE_DURABLE, NOBLOB);
	/*
	 * 24 MiB of bodies: past the checkpointer's 16 MiB, short of the
	 * 64 MiB at which the loop's thread would copy anything itself.
	 */
	for (i = 0; i < 24; i++)
		put_batch(st, q, 1 + (uint64_t)i * 1000, 1000);
	/* Commits wrote the WAL only: the database grows by checkpoints. */
	for (i = 0; i < 500; i++) {
		if ((db = file_size("warren.db")) >= 8 << 20)
			break;
		usleep(10000);
	}
	cr_assert_geq(db, 8 << 20, "no checkpoint ran: warren.db is %lld "
	    "bytes", db);
	cr_assert_gt(file_size("warren.db-wal"), 0, "the store is still open");
	store_close(st);
	cr_assert_eq(recovered_entries(), 24000);
	cr_assert_eq(rows("messages"), 24000);
}

Test(store, wal_starts_over_instead_of_growing)
{
	struct store *st = open_store();
	uint64_t q, prev = 0;

	store_set_release(st, NULL);
	q = store_put_queue(st, B("/"), B("q"), STORE_QUEUE_DURABLE, NOBLOB);
	/*
	 * Acked as fast as published, 100 MiB in all: a WAL that never
	 * started over would be larger than that.
	 */
	for (int i = 0; i < 100; i++) {
		if (i > 0)
			for (int j = 0; j < 1000; j++)
				store_del_entry(st, q, 1 + (uint64_t)(i - 1) *
				    1000 + j, prev + j, 0);
		prev = put_batch(st, q, 1 + (uint64_t)i * 1000, 1000);
	}
	cr_assert_lt(file_size("warren.db-wal"), 80 << 20,
	    "the WAL grew to %lld bytes", file_size("warren.db-wal"));
	store_close(st);
	cr_assert_eq(recovered_entries(), 1000);
}

Test(store, close_after_heavy_writes_leaves_a_usable_database)
{
	struct store *st = open_store();
	uint64_t q, first;

	store_set_release(st, NULL);
	q = store_put_queue(st, B("/"), B("q"), STORE_QUEUE_DURABLE, NOBLOB);
	/* Every other batch acked; closed at once, likely amid a pass. */
	for (int i = 0; i < 30; i++) {
		first = put_batch(st, q, 1 + (uint64_t)i * 1000, 1000);
		if (i % 2 == 1) {
			for (int j = 0; j < 1000; j++)
				store_del_entry(st, q, 1 + (uint64_t)i * 1000 +
				    j, first + j, 0);
			cr_assert_eq(store_commit(st), 0, "%s",
			    store_errmsg(st));
		}
	}
	store_close(st);
	cr_assert_eq(file_size("warren.db-wal"), -1,
	    "the last close copies and removes the WAL");
	cr_assert_str_eq(sql_str("PRAGMA integrity_check"), "ok");
	cr_assert_eq(recovered_entries(), 15000);
	cr_assert_eq(rows("messages"), 15000);
}

Test(store, users_and_permissions_survive_reopen_and_go_with_their_user)
{
	struct store *st = open_store();
	const char *r;

	store_put_user(st, B("alice"), B("aGFzaA=="),
	    B("rabbit_password_hashing_sha256"), B("monitoring"));
	store_put_user(st, B("bob"), B("Ym9i"),
	    B("rabbit_password_hashing_sha512"), B(""));
	store_put_permission(st, B("alice"), B("/"), B(".*"), B("^a"), B(""));
	store_put_permission(st, B("bob"), B("/"), B(".*"), B(".*"), B(".*"));
	store_put_topic_permission(st, B("alice"), B("/"), B("amq.topic"),
	    B("^a\\."), B(""));
	store_put_topic_permission(st, B("bob"), B("/"), B("amq.topic"),
	    B(".*"), B(".*"));
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	store_close(st);

	st = open_store();
	r = recover(st);
	cr_assert_not_null(strstr(r, "user alice aGFzaA== "
	    "rabbit_password_hashing_sha256 monitoring\n"), "%s", r);
	cr_assert_not_null(strstr(r, "permission alice / .* ^a \n"), "%s", r);
	cr_assert_not_null(strstr(r, "topic alice / amq.topic ^a\\. \n"),
	    "%s", r);
	store_del_user(st, B("bob"));
	store_del_topic_permission(st, B("alice"), B("/"), B("amq.topic"));
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_eq(rows("permissions"), 1);
	cr_assert_eq(rows("topic_permissions"), 0);
	cr_assert_eq(rows("users"), 1);
	store_close(st);
}

Test(store, a_fresh_database_is_seeded_once)
{
	struct store *st = open_store();

	cr_assert_not(store_seeded(st));
	store_put_seeded(st);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	store_close(st);
	st = open_store();
	cr_assert(store_seeded(st));
	store_close(st);
}

Test(store, deleting_a_vhost_takes_everything_in_it)
{
	struct store *st = open_store();
	uint64_t q, other;
	const char *r;

	store_set_release(st, NULL);
	store_put_vhost(st, B("gone"));
	store_put_vhost(st, B("kept"));
	store_put_user(st, B("u"), B("aGFzaA=="), NOBLOB, NOBLOB);
	store_put_permission(st, B("u"), B("gone"), B(".*"), B(".*"), B(".*"));
	store_put_permission(st, B("u"), B("kept"), B(".*"), B(".*"), B(".*"));
	store_put_topic_permission(st, B("u"), B("gone"), B("t"), B("a"),
	    B("b"));
	store_put_exchange(st, B("gone"), B("x"), B("topic"),
	    STORE_EXCHANGE_DURABLE, NOBLOB);
	q = store_put_queue(st, B("gone"), B("q"), STORE_QUEUE_DURABLE,
	    NOBLOB);
	other = store_put_queue(st, B("kept"), B("q"), STORE_QUEUE_DURABLE,
	    NOBLOB);
	store_put_binding(st, B("gone"), B("x"), true, B("q"), B("k"),
	    NOBLOB);
	put_batch(st, q, 1, 10);
	put_batch(st, other, 1, 3);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	store_del_vhost(st, B("gone"));
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	store_close(st);

	st = open_store();
	r = recover(st);
	cr_assert_null(strstr(r, "gone"), "%s", r);
	cr_assert_not_null(strstr(r, "permission u kept"), "%s", r);
	cr_assert_eq(rows("queue_entries"), 3);
	cr_assert_eq(rows("messages"), 3, "the deleted queue's bodies go");
	cr_assert_eq(rows("topic_permissions"), 0);
	store_close(st);
}

Test(store, vhost_limits_survive_reopen)
{
	struct store *st = open_store();
	const char *r;

	store_put_vhost(st, B("v1"));
	store_put_vhost(st, B("v2"));
	store_put_vhost_limits(st, B("v1"), 10, -1);
	store_put_vhost_meta(st, B("v1"), B("the first"), B("a,b"));
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	store_close(st);
	st = open_store();
	r = recover(st);
	cr_assert_not_null(strstr(r, "meta v1 'the first' 'a,b'\n"), "%s", r);
	cr_assert_null(strstr(r, "meta v2"), "%s", r);
	cr_assert_not_null(strstr(r, "limits v1 10 -1\n"), "%s", r);
	cr_assert_null(strstr(r, "limits v2"), "%s", r);
	store_close(st);
}

Test(store, deleting_a_vhost_counts_down_messages_shared_with_other_vhosts)
{
	struct store *st = open_store();
	uint64_t q[3], both, inside;

	store_set_release(st, NULL);
	store_put_vhost(st, B("gone"));
	store_put_vhost(st, B("kept"));
	q[0] = store_put_queue(st, B("gone"), B("a"), STORE_QUEUE_DURABLE,
	    NOBLOB);
	q[1] = store_put_queue(st, B("gone"), B("b"), STORE_QUEUE_DURABLE,
	    NOBLOB);
	q[2] = store_put_queue(st, B("kept"), B("c"), STORE_QUEUE_DURABLE,
	    NOBLOB);
	/* One body in all three queues, one in the two that go. */
	both = put_msg(st, "everywhere", 3, 0);
	inside = put_msg(st, "only gone", 2, 1);
	for (int i = 0; i < 3; i++)
		store_put_entry(st, q[i], 1, both, 0, STORE_ENTRY_SHARED, 0,
		    0);
	for (int i = 0; i < 2; i++)
		store_put_entry(st, q[i], 2, inside, 0, STORE_ENTRY_SHARED, 0,
		    0);
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	store_del_vhost(st, B("gone"));
	cr_assert_eq(store_commit(st), 0, "%s", store_errmsg(st));
	cr_assert_eq(rows("queues"), 1);
	cr_assert_eq(rows("queue_entries"), 1);
	cr_assert_eq(rows("messages"), 1);
	cr_assert_eq(sql_int("SELECT refs FROM messages"), 1,
	    "one ref per entry that went");
	store_close(st);
}
