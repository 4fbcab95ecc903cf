#include "autoconf.h"

#include "storage/store_sqlite_ckpt.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"

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
			log_warnx("store: checkpoint: %s",
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
	struct ckpt *c = arg;
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
			log_warnx("store: WAL at %d pages, over %d: "
			    "checkpoint in the loop", pages,
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
	rc = sqlite3_wal_checkpoint_v2(c->loopdb, NULL,
	    SQLITE_CHECKPOINT_RESTART, &log, &done);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY && !c->over)
		log_warnx("store: checkpoint: %s",
		    sqlite3_errmsg(c->loopdb));
	if (pages >= CKPT_LIMIT_PAGES)
		c->over = true;	/* logged once until the WAL shrinks */
	return SQLITE_OK;	/* an error here would fail the commit */
}

int
ckpt_start(struct ckpt *c, sqlite3 *loopdb, const char *path,
    enum store_durability durability, char *err, size_t errlen)
{
	const char *sync = durability == STORE_FSYNC ?
	    "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
	sigset_t all, old;
	int rc;

	c->loopdb = loopdb;
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
	if (sqlite3_exec(c->db, sync, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", sync, sqlite3_errmsg(c->db));
		return -1;
	}
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
	sqlite3_wal_hook(loopdb, wal_hook, c);
	return 0;
}

void
ckpt_stop(struct ckpt *c)
{
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
		sqlite3_wal_hook(c->loopdb, NULL, NULL);
	}
	/* Not the last connection: closing it leaves the WAL alone. */
	if (c->db != NULL && sqlite3_close(c->db) != SQLITE_OK)
		log_warnx("store: close: %s", sqlite3_errmsg(c->db));
	c->db = NULL;
}
