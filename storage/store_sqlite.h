/*
 * Internal to storage/: the SQLite backend (store_backend.h). It prepares
 * every op's statements (store_op.c) once at open and binds an op's
 * fields to them; recover.c reads the state back with it, and its
 * checkpointer (store_sqlite_ckpt.c) keeps the WAL off the commit path.
 */
#ifndef WARREN_STORAGE_STORE_SQLITE_H
#define WARREN_STORAGE_STORE_SQLITE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"
#include "storage/store_backend.h"
#include "storage/store_op.h"
#include "storage/store_sqlite_ckpt.h"

/* Statements that are not ops, prepared once at open too. */
enum sql_stmt {
	SQL_BEGIN,
	SQL_COMMIT,
	SQL_ROLLBACK,
	SQL_SEEDED_GET,
	SQL_MESSAGE_LOAD,
	SQL_NSTMT
};

struct sql_store {
	sqlite3		*db;		/* the loop's thread only */
	sqlite3_stmt	*stmt[SQL_NSTMT];
	/* store_op_desc[kind].sql[i], prepared (SQLITE_PREPARE_PERSISTENT) */
	sqlite3_stmt	*op[STORE_OP_NKINDS][STORE_OP_STMTS];
	uint8_t		 nparams[STORE_OP_NKINDS][STORE_OP_STMTS];
	int		 lockfd;	/* DIR/warrend.lock, flock()ed */

	/* store_load_message's copy, valid until the next store call. */
	char		*loadbuf;
	size_t		 loadcap;

	struct ckpt	 ckpt;

	char		 errmsg[256];
};

extern const struct store_backend_ops sql_backend;

/* Records the failure of what with SQLite's error text; returns -1. */
int	sql_fail(struct sql_store *db, const char *what);
int	sql_begin(void *be);
int	sql_commit(void *be);
void	sql_rollback(void *be);
int	sql_apply(void *be, const struct store_op *op);

/* A column as a blob: never a NULL pointer, length 0 for NULL. */
struct store_blob sql_column_blob(sqlite3_stmt *s, int col);

/* recover.c: the backend's recover hook. */
int	sql_recover(void *be, const struct store_recovery *cb, void *arg);

#endif /* WARREN_STORAGE_STORE_SQLITE_H */
