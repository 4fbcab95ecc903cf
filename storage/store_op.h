/*
 * Internal to storage/: the writes a batch is made of, each described
 * once, in store_op.c: its kind, its typed fields and the SQL that
 * applies it. The batch layer (store.c) builds ops from the store_*
 * calls; a backend (store_backend.h) applies them. An op is a row of
 * values in the order of its statements' parameters: field i binds ?i+1.
 *
 * Adding a column to a definition: its store_* prototype and recovery
 * callback (store.h), one value in the builder (store.c), one field and
 * the SQL here (store_op.c), a migration (schema.c) and the read-back
 * (recover.c).
 */
#ifndef WARREN_STORAGE_STORE_OP_H
#define WARREN_STORAGE_STORE_OP_H

#include <stdint.h>

#include "storage/store.h"

enum store_op_kind {
	STORE_OP_VHOST_PUT,
	STORE_OP_VHOST_DEL,
	STORE_OP_VHOST_LIMITS,
	STORE_OP_VHOST_META,
	STORE_OP_USER_PUT,
	STORE_OP_USER_DEL,
	STORE_OP_PERMISSION_PUT,
	STORE_OP_PERMISSION_DEL,
	STORE_OP_TOPIC_PERMISSION_PUT,
	STORE_OP_TOPIC_PERMISSION_DEL,
	STORE_OP_SEEDED,
	STORE_OP_CLUSTER_NAME,
	STORE_OP_POLICY_PUT,
	STORE_OP_POLICY_DEL,
	STORE_OP_USER_LIMITS,
	STORE_OP_EXCHANGE_PUT,
	STORE_OP_EXCHANGE_DEL,
	STORE_OP_QUEUE_PUT,
	STORE_OP_QUEUE_DEL,
	STORE_OP_BINDING_PUT,
	STORE_OP_BINDING_DEL,
	STORE_OP_MESSAGE_PUT,
	STORE_OP_MESSAGE_DEL,		/* an unshared message lost its entry */
	STORE_OP_MESSAGE_UNREF,		/* a shared message lost one entry */
	STORE_OP_ENTRY_PUT,
	STORE_OP_ENTRY_DELIVERED,
	STORE_OP_ENTRY_DEL,		/* a run of unshared entries */
	STORE_OP_ENTRY_DEL_SHARED,	/* one entry of a shared message */
	STORE_OP_NKINDS
};

enum store_field {
	STORE_FIELD_END,	/* ends a field list shorter than the maximum */
	STORE_FIELD_BLOB,	/* a byte string, never SQL NULL */
	STORE_FIELD_INT,	/* an id, seq, count or flags */
	STORE_FIELD_INT_OR_NULL,/* the same; 0 is stored as NULL */
	STORE_FIELD_LIMIT,	/* a limit; negative (none) is stored as NULL */
};

/*
 * dqlite binds at most 255 parameters per statement; no op comes near
 * (ROADMAP: the second backend).
 */
#define STORE_OP_FIELDS	7
#define STORE_OP_STMTS	10

/*
 * One field's value: the member its descriptor's field type names is the
 * one written and read, never another.
 */
union store_value {
	struct store_blob	 blob;	/* STORE_FIELD_BLOB */
	uint64_t		 n;	/* _INT, _INT_OR_NULL */
	int64_t			 limit;	/* STORE_FIELD_LIMIT */
};

struct store_op {
	enum store_op_kind	 kind;
	union store_value	 v[STORE_OP_FIELDS];
};

struct store_op_desc {
	const char		*what;	/* for error messages: "put queue" */
	uint8_t			 field[STORE_OP_FIELDS];  /* enum store_field */
	/* Run in order, NULL-terminated; ?i binds field i - 1. */
	const char		*sql[STORE_OP_STMTS + 1];
};

extern const struct store_op_desc store_op_desc[STORE_OP_NKINDS];

/* The number of fields of an op kind. */
int	store_op_nfields(enum store_op_kind kind);

/*
 * Fields the batch layer reads or changes after building an op, by
 * position; the order is store_op.c's.
 */
enum {
	QUEUE_PUT_ID = 0,		/* STORE_OP_QUEUE_PUT */
	MESSAGE_ID = 0,			/* STORE_OP_MESSAGE_PUT, _DEL, _UNREF */
	MESSAGE_PUT_REFS = 1,
	ENTRY_QUEUE = 0,		/* every STORE_OP_ENTRY_* */
	ENTRY_SEQ = 1,
	ENTRY_MSG = 2,			/* _PUT, _DEL_SHARED */
	ENTRY_PUT_DELIVERIES = 3,
	ENTRY_PUT_FLAGS = 4,
	ENTRY_DEL_SEQ_LAST = 2,		/* STORE_OP_ENTRY_DEL: seq..seq_last */
	ENTRY_DEL_MSG = 3,		/* msg..msg_last, as many as seqs */
	ENTRY_DEL_MSG_LAST = 4,
};

#endif /* WARREN_STORAGE_STORE_OP_H */
