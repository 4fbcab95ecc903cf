/*
 * RabbitMQ definitions files: the JSON written by "rabbitmqctl
 * export_definitions" and GET /api/definitions, read by
 * load_definitions and POST /api/definitions.
 *
 * The whole document is parsed and every object validated first; only then
 * are the objects handed to the caller's callbacks, in dependency order, so
 * a malformed file changes nothing. The callbacks apply them.
 *
 * compat: top-level keys other than those below are ignored, among
 * them rabbit_version, rabbitmq_version, product_name, product_version
 * and global_parameters; so are "parameters" of components other than
 * vhost-limits and operator_policy, and unknown keys inside objects
 * (vhosts' "default_queue_type" and "limits").
 */
#ifndef WARREN_SERVER_DEFINITIONS_H
#define WARREN_SERVER_DEFINITIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Files larger than this are refused before reading them. */
#define DEFS_FILE_MAX		(64 * 1024 * 1024)
/* One object's "arguments" encoded as an AMQP field table. */
#define DEFS_ARGS_MAX		(1024 * 1024)

/*
 * The structs below borrow everything: pointers are valid only during the
 * callback. Strings are NUL-terminated and never contain a NUL.
 */
/*
 * A vhost, with its "description" and "tags" (or those of its "metadata",
 * as newer RabbitMQ releases export them); NULL when absent.
 */
struct defs_vhost {
	const char	*name;
	const char	*description;
	const char	*tags;		/* comma-separated */
};

/*
 * A vhost's limits, from a "parameters" entry of component
 * "vhost-limits"; -1 means no limit (compat: RabbitMQ's negative values).
 */
struct defs_vhost_limits {
	const char	*vhost;
	int64_t		 max_connections;
	int64_t		 max_queues;
};

struct defs_user {
	const char		*name;
	const char		*password_hash;	/* base64; NULL if absent */
	const char		*password;	/* plain text; NULL if absent */
	const char		*hashing_algorithm; /* NULL: ..._sha256 */
	const char *const	*tags;		/* trimmed, no empty ones */
	size_t			 ntags;
	/* Its "limits" (compat: RabbitMQ 3.10's export); -1: none. */
	int64_t			 max_connections, max_channels;
};

struct policy;		/* server/policy.h */
/*
 * A policy ("policies") or an operator policy (a "parameters" entry of
 * component "operator_policy"), validated. The callback may take p
 * (setting it to NULL); else the loader frees it.
 */
struct defs_policy {
	const char	*vhost;
	int		 kind;		/* enum policy_kind */
	struct policy	*p;
};

struct defs_permission {
	const char	*user, *vhost;
	const char	*configure, *write, *read;	/* regexes */
};

struct defs_topic_permission {
	const char	*user, *vhost;
	const char	*exchange;
	const char	*write, *read;			/* regexes */
};

struct defs_exchange {
	const char	*vhost, *name, *type;
	bool		 durable, auto_delete, internal;
	const uint8_t	*args;		/* field table bytes, no length prefix */
	size_t		 args_len;
};

struct defs_queue {
	const char	*vhost, *name;
	bool		 durable, auto_delete;
	const uint8_t	*args;		/* field table bytes, no length prefix */
	size_t		 args_len;
};

struct defs_binding {
	const char	*vhost, *source, *destination;
	bool		 dest_is_queue;	/* else an exchange */
	const char	*routing_key;
	const uint8_t	*args;		/* field table bytes, no length prefix */
	size_t		 args_len;
};

/*
 * Called once per object, in this order: vhosts, vhost limits, users,
 * permissions, topic_permissions, policies (operator ones first),
 * exchanges, queues, bindings; within a kind in file
 * order. A NULL callback skips that kind. Returning non-zero stops the load.
 */
struct defs_callbacks {
	int	(*vhost)(void *arg, const struct defs_vhost *v);
	int	(*vhost_limits)(void *arg, const struct defs_vhost_limits *l);
	int	(*user)(void *arg, const struct defs_user *u);
	int	(*permission)(void *arg, const struct defs_permission *p);
	int	(*topic_permission)(void *arg,
		    const struct defs_topic_permission *p);
	int	(*policy)(void *arg, struct defs_policy *p);
	int	(*exchange)(void *arg, const struct defs_exchange *x);
	int	(*queue)(void *arg, const struct defs_queue *q);
	int	(*binding)(void *arg, const struct defs_binding *b);
};

/*
 * Parses, validates, then applies len bytes of definitions text.
 * Returns 0; -1 if the text is invalid, with err naming the bad value
 * ("users[2].name: expected a string", "line 3 col 7: ..." for JSON
 * syntax); or a callback's non-zero value, with err naming the object
 * ("queues[4]: ..."). A callback may put its reason in err (reached
 * through arg) and it is kept after that prefix; err is cleared before
 * each call.
 */
int	definitions_load(const char *text, size_t len,
	    const struct defs_callbacks *cb, void *arg, char *err,
	    size_t errlen);
/*
 * The same for one vhost's definitions (GET /api/definitions/{vhost}):
 * every object goes to vhost, whatever its "vhost" says, and the
 * sections that are not per vhost (vhosts, users, permissions,
 * topic_permissions) are ignored, as RabbitMQ ignores them there.
 */
int	definitions_load_vhost(const char *text, size_t len, const char *vhost,
	    const struct defs_callbacks *cb, void *arg, char *err,
	    size_t errlen);
/*
 * The same in two steps, for an import that must not hold the loop
 * (POST /api/definitions): definitions_parse parses and validates into
 * plain structs and touches no broker state nor any global, so it may
 * run on a worker thread; NULL with the reason in err if the text is
 * invalid. definitions_apply_some then hands at most max more objects to
 * the callbacks (in the order above) and sets *done once none are left;
 * it returns 0, or a callback's non-zero value with err as above, after
 * which the document is done. vhost is copied.
 */
struct defs_doc;
struct defs_doc	*definitions_parse(const char *text, size_t len,
		    const char *vhost, char *err, size_t errlen);
int	definitions_apply_some(struct defs_doc *d,
	    const struct defs_callbacks *cb, void *arg, size_t max,
	    bool *done, char *err, size_t errlen);
void	definitions_doc_free(struct defs_doc *d);
/* The same for a file of at most DEFS_FILE_MAX bytes; messages start with
 * "definitions PATH: ". */
/*
 * Reads at most max bytes of path into *out (malloc'd, the caller's);
 * -1 with the reason in err.
 */
int	definitions_read_file(const char *path, size_t max, char **out,
	    size_t *outlen, char *err, size_t errlen);
int	definitions_load_file(const char *path,
	    const struct defs_callbacks *cb, void *arg, char *err,
	    size_t errlen);

struct json;
/*
 * The conversion above for one "arguments" value (a JSON object, or NULL
 * for none), as the admin API takes it: *out (malloc'd, caller frees; NULL
 * when empty) holds the table's entries without the length prefix, each
 * object's members in key order (compat: RabbitMQ's management API reads
 * JSON objects as Erlang maps, whose keys come out sorted).
 * Returns 0, or -1 with RabbitMQ-style wording in err
 * ("arguments.x: null is not allowed in arguments").
 */
int	definitions_encode_args(const struct json *v, uint8_t **out,
	    size_t *outlen, char *err, size_t errlen);

#endif /* WARREN_SERVER_DEFINITIONS_H */
