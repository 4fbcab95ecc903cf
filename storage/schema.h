/*
 * The on-disk format of warren.db: the DDL and its ordered migrations,
 * keyed by PRAGMA user_version. Internal to storage/.
 */
#ifndef WARREN_STORAGE_SCHEMA_H
#define WARREN_STORAGE_SCHEMA_H

#include <stddef.h>

struct sqlite3;

/* PRAGMA application_id of every warren database ("WRRN"). */
#define SCHEMA_APPLICATION_ID	0x5752524e

/*
 * Checks that db is a warren database this binary can use and brings its
 * schema up to date; an empty database is initialised. Returns 0, or -1
 * with a message in err. Call before changing the journal mode, so that
 * a file that is not ours is refused without being touched; the caller
 * switches to WAL between schema_check() and schema_upgrade().
 */
int	schema_check(struct sqlite3 *db, const char *path, char *err,
	    size_t errlen);
int	schema_upgrade(struct sqlite3 *db, char *err, size_t errlen);

#endif /* WARREN_STORAGE_SCHEMA_H */
