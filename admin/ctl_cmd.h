/*
 * warrenctl's commands: one function per grammar-table row, and the
 * helpers they share (listing page by page, request bodies, filters).
 */
#ifndef WARREN_ADMIN_CTL_CMD_H
#define WARREN_ADMIN_CTL_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "admin/ctl.h"

struct buf;
struct json;
struct json_writer;

/* Columns of a listing, and how it is fetched. */
struct ctl_listing {
	const char		*path;		/* "/queues" (+ "/{vhost}") */
	bool			 per_vhost;	/* add /{vhost} when one is set */
	bool			 paged;		/* the API paginates it */
	const struct ctl_column	*cols;
	size_t			 ncols;
	const char		*name_key;	/* for a client-side --name */
};

/* Lists into ctl_out, page by page when the API paginates. */
int	ctl_list(struct ctl *c, const struct ctl_listing *l);
/* Lists an already-built path (no vhost added). */
int	ctl_list_path(struct ctl *c, const char *path,
	    const struct ctl_column *cols, size_t ncols, bool paged,
	    const char *name_key);
/* One object as a key/value table (or JSON, TSV). */
int	ctl_show(struct ctl *c, const char *path, const char *what,
	    const struct ctl_column *cols, size_t ncols);
/* PUT/POST/DELETE with no answer wanted; --idempotently on deletes. */
int	ctl_send(struct ctl *c, const char *method, const char *path,
	    const char *body, const char *what);

/* A JSON flag's value, parsed (the parser checked it); free with
 * json_free. NULL when the flag is absent. */
struct json *ctl_arg_json(const struct ctl *c, const char *name);
/* Starts/ends a request body in b (max 64 MiB). */
void	ctl_body_begin(struct json_writer *w, struct buf *b);
char	*ctl_body_end(struct json_writer *w, struct buf *b);
/* "key": the flag's JSON value, when given. */
void	ctl_body_json(struct json_writer *w, const struct ctl *c,
	    const char *key, const char *flag);

/* The vhost to act in; lists use it as a filter only when given. */
const char	*ctl_vhost(const struct ctl *c);

#define CTL_CMD(fn)	int fn(struct ctl *c)
CTL_CMD(cmd_show_overview);
CTL_CMD(cmd_show_churn);
CTL_CMD(cmd_queues_list);
CTL_CMD(cmd_queues_show);
CTL_CMD(cmd_queues_declare);
CTL_CMD(cmd_queues_delete);
CTL_CMD(cmd_queues_purge);
CTL_CMD(cmd_exchanges_list);
CTL_CMD(cmd_exchanges_show);
CTL_CMD(cmd_exchanges_declare);
CTL_CMD(cmd_exchanges_delete);
CTL_CMD(cmd_exchanges_bind);
CTL_CMD(cmd_exchanges_unbind);
CTL_CMD(cmd_bindings_list);
CTL_CMD(cmd_connections_list);
CTL_CMD(cmd_connections_close);
CTL_CMD(cmd_channels_list);
CTL_CMD(cmd_consumers_list);
CTL_CMD(cmd_vhosts_list);
CTL_CMD(cmd_vhosts_declare);
CTL_CMD(cmd_vhosts_delete);
CTL_CMD(cmd_users_list);
CTL_CMD(cmd_users_declare);
CTL_CMD(cmd_users_delete);
CTL_CMD(cmd_permissions_list);
CTL_CMD(cmd_permissions_declare);
CTL_CMD(cmd_permissions_delete);
CTL_CMD(cmd_topic_permissions_list);
CTL_CMD(cmd_topic_permissions_declare);
CTL_CMD(cmd_topic_permissions_delete);
CTL_CMD(cmd_policies_list);
CTL_CMD(cmd_policies_declare);
CTL_CMD(cmd_policies_delete);
CTL_CMD(cmd_operator_policies_list);
CTL_CMD(cmd_operator_policies_declare);
CTL_CMD(cmd_operator_policies_delete);
CTL_CMD(cmd_vhost_limits_list);
CTL_CMD(cmd_vhost_limits_declare);
CTL_CMD(cmd_vhost_limits_delete);
CTL_CMD(cmd_user_limits_list);
CTL_CMD(cmd_user_limits_declare);
CTL_CMD(cmd_user_limits_delete);
CTL_CMD(cmd_definitions_export);
CTL_CMD(cmd_definitions_import);
CTL_CMD(cmd_get_messages);
CTL_CMD(cmd_publish_message);
CTL_CMD(cmd_nodes_list);
CTL_CMD(cmd_health_local_alarms);
CTL_CMD(cmd_health_cluster_wide_alarms);
CTL_CMD(cmd_health_port_listener);
CTL_CMD(cmd_health_protocol_listener);
CTL_CMD(cmd_health_virtual_hosts);
CTL_CMD(cmd_health_port_connectivity);
CTL_CMD(cmd_ping);
CTL_CMD(cmd_await_startup);

#endif /* WARREN_ADMIN_CTL_CMD_H */
