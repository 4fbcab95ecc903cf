#include "autoconf.h"

#include "storage/store_op.h"

/*
 * Every write, once. The SQL is SQLite's dialect, which dqlite runs too;
 * a backend that is not SQL dispatches on the kind and the fields. The
 * statements of one op run in order inside the batch's transaction, and
 * each binds the fields it names (?1 is field 0).
 */

#define BLOB	STORE_FIELD_BLOB
#define INT	STORE_FIELD_INT
#define INT0	STORE_FIELD_INT_OR_NULL
#define LIMIT	STORE_FIELD_LIMIT

/* The queues of vhost ?1. */
#define VHOST_QUEUES	"(SELECT id FROM queues WHERE vhost = ?1)"

const struct store_op_desc store_op_desc[STORE_OP_NKINDS] = {
	[STORE_OP_VHOST_PUT] = { "put vhost", { BLOB /* name */ }, {
		"INSERT OR IGNORE INTO vhosts (name) VALUES (?1)",
	} },
	/*
	 * Everything in the vhost goes with it. Its queues go as
	 * STORE_OP_QUEUE_DEL's do, all at once: each entry is one ref of
	 * its message, and a message left with none is deleted.
	 */
	[STORE_OP_VHOST_DEL] = { "delete vhost", { BLOB /* name */ }, {
		"UPDATE messages SET refs = refs - gone.n FROM "
		"(SELECT message_id, count(*) AS n FROM queue_entries "
		"WHERE queue_id IN " VHOST_QUEUES " GROUP BY message_id) "
		"AS gone WHERE messages.id = gone.message_id",
		"DELETE FROM messages WHERE refs <= 0 AND id IN "
		"(SELECT message_id FROM queue_entries "
		"WHERE queue_id IN " VHOST_QUEUES ")",
		"DELETE FROM queue_entries WHERE queue_id IN " VHOST_QUEUES,
		"DELETE FROM queues WHERE vhost = ?1",
		"DELETE FROM bindings WHERE vhost = ?1",
		"DELETE FROM permissions WHERE vhost = ?1",
		"DELETE FROM topic_permissions WHERE vhost = ?1",
		"DELETE FROM exchanges WHERE vhost = ?1",
		"DELETE FROM policies WHERE vhost = ?1",
		"DELETE FROM vhosts WHERE name = ?1",
	} },
	[STORE_OP_VHOST_LIMITS] = { "put vhost limits",
	    { BLOB /* name */, LIMIT /* max_connections */,
	    LIMIT /* max_queues */ }, {
		"UPDATE vhosts SET max_connections = ?2, max_queues = ?3 "
		"WHERE name = ?1",
	} },
	[STORE_OP_VHOST_META] = { "put vhost metadata",
	    { BLOB /* name */, BLOB /* description */, BLOB /* tags */ }, {
		"UPDATE vhosts SET description = ?2, tags = ?3 "
		"WHERE name = ?1",
	} },
	[STORE_OP_USER_PUT] = { "put user",
	    { BLOB /* name */, BLOB /* password_hash */,
	    BLOB /* algorithm */, BLOB /* tags */ }, {
		"INSERT OR REPLACE INTO users "
		"(name, password_hash, algorithm, tags) VALUES (?1, ?2, ?3, ?4)",
	} },
	[STORE_OP_USER_DEL] = { "delete user", { BLOB /* name */ }, {
		"DELETE FROM permissions WHERE user = ?1",
		"DELETE FROM topic_permissions WHERE user = ?1",
		"DELETE FROM user_limits WHERE user = ?1",
		"DELETE FROM users WHERE name = ?1",
	} },
	[STORE_OP_PERMISSION_PUT] = { "put permission",
	    { BLOB /* user */, BLOB /* vhost */, BLOB /* configure */,
	    BLOB /* write */, BLOB /* read */ }, {
		"INSERT OR REPLACE INTO permissions "
		"(user, vhost, configure, write, read) "
		"VALUES (?1, ?2, ?3, ?4, ?5)",
	} },
	[STORE_OP_PERMISSION_DEL] = { "delete permission",
	    { BLOB /* user */, BLOB /* vhost */ }, {
		"DELETE FROM permissions WHERE user = ?1 AND vhost = ?2",
	} },
	[STORE_OP_TOPIC_PERMISSION_PUT] = { "put topic permission",
	    { BLOB /* user */, BLOB /* vhost */, BLOB /* exchange */,
	    BLOB /* write */, BLOB /* read */ }, {
		"INSERT OR REPLACE INTO topic_permissions "
		"(user, vhost, exchange, write, read) "
		"VALUES (?1, ?2, ?3, ?4, ?5)",
	} },
	[STORE_OP_TOPIC_PERMISSION_DEL] = { "delete topic permission",
	    { BLOB /* user */, BLOB /* vhost */, BLOB /* exchange */ }, {
		"DELETE FROM topic_permissions "
		"WHERE user = ?1 AND vhost = ?2 AND exchange = ?3",
	} },
	[STORE_OP_SEEDED] = { "write settings", { STORE_FIELD_END }, {
		"INSERT OR REPLACE INTO settings (key, value) "
		"VALUES ('seeded', 1)",
	} },
	[STORE_OP_CLUSTER_NAME] = { "write cluster name", { BLOB /* name */ }, {
		"INSERT OR REPLACE INTO settings (key, value) "
		"VALUES ('cluster_name', ?1)",
	} },
	/* REPLACE gives the row a new rowid: recovery's "last set" order. */
	[STORE_OP_POLICY_PUT] = { "put policy",
	    { INT /* kind */, BLOB /* vhost */, BLOB /* name */,
	    BLOB /* value */ }, {
		"INSERT OR REPLACE INTO policies (kind, vhost, name, value) "
		"VALUES (?1, ?2, ?3, ?4)",
	} },
	[STORE_OP_POLICY_DEL] = { "delete policy",
	    { INT /* kind */, BLOB /* vhost */, BLOB /* name */ }, {
		"DELETE FROM policies WHERE kind = ?1 AND vhost = ?2 "
		"AND name = ?3",
	} },
	[STORE_OP_USER_LIMITS] = { "put user limits",
	    { BLOB /* user */, LIMIT /* max_connections */,
	    LIMIT /* max_channels */ }, {
		"INSERT OR REPLACE INTO user_limits "
		"(user, max_connections, max_channels) VALUES (?1, ?2, ?3)",
	} },
	/* A redeclare with other properties replaces the definition. */
	[STORE_OP_EXCHANGE_PUT] = { "put exchange",
	    { BLOB /* vhost */, BLOB /* name */, BLOB /* type */,
	    INT /* flags */, BLOB /* args */ }, {
		"INSERT OR REPLACE INTO exchanges "
		"(vhost, name, type, flags, args) VALUES (?1, ?2, ?3, ?4, ?5)",
	} },
	/* spec: deleting an exchange deletes the bindings on either end. */
	[STORE_OP_EXCHANGE_DEL] = { "delete exchange",
	    { BLOB /* vhost */, BLOB /* name */ }, {
		"DELETE FROM bindings WHERE vhost = ?1 "
		"AND (source = ?2 OR (dest_is_queue = 0 AND dest = ?2))",
		"DELETE FROM exchanges WHERE vhost = ?1 AND name = ?2",
	} },
	/* Plain INSERT: a second queue with one name is a caller's bug. */
	[STORE_OP_QUEUE_PUT] = { "put queue",
	    { INT /* id */, BLOB /* vhost */, BLOB /* name */,
	    INT /* flags */, BLOB /* args */ }, {
		"INSERT INTO queues (id, vhost, name, flags, args) "
		"VALUES (?1, ?2, ?3, ?4, ?5)",
	} },
	[STORE_OP_QUEUE_DEL] = { "delete queue", { INT /* id */ }, {
		/* First: needs the queue row. */
		"DELETE FROM bindings WHERE dest_is_queue = 1 "
		"AND vhost = (SELECT vhost FROM queues WHERE id = ?1) "
		"AND dest = (SELECT name FROM queues WHERE id = ?1)",
		/*
		 * A message is in a queue at most once (a queue matched by
		 * several bindings gets one copy), so each entry of the queue
		 * is one ref. Before the entries go.
		 */
		"UPDATE messages SET refs = refs - 1 "
		"WHERE id IN (SELECT message_id FROM queue_entries "
		"WHERE queue_id = ?1)",
		"DELETE FROM messages WHERE refs <= 0 "
		"AND id IN (SELECT message_id FROM queue_entries "
		"WHERE queue_id = ?1)",
		"DELETE FROM queue_entries WHERE queue_id = ?1",
		"DELETE FROM queues WHERE id = ?1",
	} },
	[STORE_OP_BINDING_PUT] = { "put binding",
	    { BLOB /* vhost */, BLOB /* source */, INT /* dest_is_queue */,
	    BLOB /* dest */, BLOB /* routing_key */, BLOB /* args */ }, {
		"INSERT OR IGNORE INTO bindings "
		"(vhost, source, dest_is_queue, dest, routing_key, args) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	} },
	[STORE_OP_BINDING_DEL] = { "delete binding",
	    { BLOB /* vhost */, BLOB /* source */, INT /* dest_is_queue */,
	    BLOB /* dest */, BLOB /* routing_key */, BLOB /* args */ }, {
		"DELETE FROM bindings WHERE vhost = ?1 "
		"AND source = ?2 AND dest_is_queue = ?3 AND dest = ?4 "
		"AND routing_key = ?5 AND args = ?6",
	} },
	[STORE_OP_MESSAGE_PUT] = { "put message",
	    { INT /* id */, INT /* refs */, BLOB /* exchange */,
	    BLOB /* routing_key */, BLOB /* props */, BLOB /* body */,
	    BLOB /* bcc */ }, {
		"INSERT INTO messages "
		"(id, refs, exchange, routing_key, props, body, bcc) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	} },
	[STORE_OP_MESSAGE_DEL] = { "delete message", { INT /* id */ }, {
		"DELETE FROM messages WHERE id = ?1",
	} },
	[STORE_OP_MESSAGE_UNREF] = { "delete message", { INT /* id */ }, {
		"UPDATE messages SET refs = refs - 1 WHERE id = ?1",
		"DELETE FROM messages WHERE id = ?1 AND refs <= 0",
	} },
	/* NULL, not 0, keeps the partial indexes on these columns small. */
	[STORE_OP_ENTRY_PUT] = { "put entry",
	    { INT /* queue_id */, INT /* seq */, INT /* message_id */,
	    INT /* delivery_count */, INT /* flags */,
	    INT0 /* expires_at */, INT0 /* priority */ }, {
		"INSERT INTO queue_entries "
		"(queue_id, seq, message_id, delivery_count, flags, "
		"expires_at, priority) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	} },
	[STORE_OP_ENTRY_DELIVERED] = { "update entry",
	    { INT /* queue_id */, INT /* seq */ }, {
		"UPDATE queue_entries SET delivery_count = delivery_count + 1 "
		"WHERE queue_id = ?1 AND seq = ?2",
	} },
	/*
	 * Acks of one consumer come in runs of consecutive seqs and message
	 * ids: two statements for the run instead of two per entry.
	 */
	[STORE_OP_ENTRY_DEL] = { "delete entries",
	    { INT /* queue_id */, INT /* seq */, INT /* last seq */,
	    INT /* message_id */, INT /* last message_id */ }, {
		"DELETE FROM queue_entries "
		"WHERE queue_id = ?1 AND seq BETWEEN ?2 AND ?3",
		"DELETE FROM messages WHERE id BETWEEN ?4 AND ?5",
	} },
	[STORE_OP_ENTRY_DEL_SHARED] = { "delete entry",
	    { INT /* queue_id */, INT /* seq */, INT /* message_id */ }, {
		"DELETE FROM queue_entries WHERE queue_id = ?1 AND seq = ?2",
		"UPDATE messages SET refs = refs - 1 WHERE id = ?3",
		"DELETE FROM messages WHERE id = ?3 AND refs <= 0",
	} },
};

int
store_op_nfields(enum store_op_kind kind)
{
	int n = 0;

	while (n < STORE_OP_FIELDS &&
	    store_op_desc[kind].field[n] != STORE_FIELD_END)
		n++;
	return n;
}
