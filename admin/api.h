/*
 * The admin API's dispatcher: a static route table of RabbitMQ management
 * paths, HTTP Basic authentication against the broker's users, the user
 * tags each route needs, and RabbitMQ-style {"error","reason"} answers.
 * Handlers live one file per resource (api_overview.c, ...).
 */
#ifndef WARREN_ADMIN_API_H
#define WARREN_ADMIN_API_H

#include <stdbool.h>
#include <stddef.h>

#include "admin/api_range.h"
#include "lib/json.h"
#include "protocol/wire.h"

struct broker;
struct http_request;	/* admin/http.h */
struct http_response;
struct json;
struct api_list;	/* admin/api_list.c */
struct user;		/* server/auth.h */

/*
 * The largest request body any route takes (user, vhost and permission
 * documents are a few hundred bytes).
 */
#define API_BODY_MAX		65536u

/*
 * The body of a definitions import (POST /api/definitions): compat:
 * RabbitMQ's management.http.max_body_size default, 20 MB. Only an
 * authenticated administrator gets this far (api_check_head).
 */
#define API_DEFS_BODY_MAX	20000000u

/* The most bytes of one response body (a listing of many queues). */
#define API_RESPONSE_MAX	(256u << 20)

struct api_ctx {
	struct broker		*b;
	const struct http_request *req;
	struct http_response	*resp;
	struct user		*user;		/* the authenticated user */
	struct proto_str	 arg[4];	/* decoded path segments matched by "{}" */
	size_t			 nargs;
	struct json_writer	 json;		/* api_json_begin's writer */
	struct api_list		*list;		/* api_list.h; NULL until begun */
	struct api_ranges	 ranges;	/* api_range_read; none by default */
};

typedef void api_handler_fn(struct api_ctx *ctx);

/* Answers one complete request into resp (empty, from http_response_init). */
void	api_handle(struct broker *b, const struct http_request *req,
	    struct http_response *resp);
/*
 * Called when a request's head is complete and its body still to come:
 * false, with the answer in resp, when the request would be refused
 * anyway (unknown path, wrong method, bad credentials, missing tags), so
 * that nobody who cannot log in makes the broker buffer a body.
 */
bool	api_check_head(struct broker *b, const struct http_request *req,
	    struct http_response *resp);

/* RabbitMQ-style error body {"error":"...","reason":"..."} with status. */
void	api_error(struct api_ctx *ctx, int status, const char *error,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* 204 No Content / 201 Created with empty body. */
void	api_status(struct api_ctx *ctx, int status);
/* Starts a 200 JSON body: returns a writer over the response body buffer;
 * finish with api_json_end. */
struct json_writer *api_json_begin(struct api_ctx *ctx);
void	api_json_end(struct api_ctx *ctx);
/*
 * Parses the request body as JSON (limits sized for the 20 MB body cap,
 * depth 64); on failure answers 400 {"error":"bad_request","reason":...}
 * and returns NULL. An empty body gives an empty object (as RabbitMQ
 * treats it). Caller json_free()s.
 */
struct json *api_body_json(struct api_ctx *ctx);

/* compat: tags ("a,b") as a JSON list, as RabbitMQ 3.10 gives them. */
void	api_write_tags(struct json_writer *w, const char *tags);
/*
 * Path argument i as a name: 1 to max bytes of UTF-8 without NUL, copied
 * NUL-terminated to out. False after answering 400.
 */
bool	api_name_arg(struct api_ctx *ctx, size_t i, const char *what,
	    size_t max, char *out, size_t outlen);
/*
 * Tags as RabbitMQ takes them (a comma-separated string or a list of
 * strings; absent or null: none), comma-separated into out. False after
 * answering 400.
 */
bool	api_tags_arg(struct api_ctx *ctx, const struct json *j, char *out,
	    size_t outlen);

/* The broker's listeners as RabbitMQ names their protocols (api_nodes.c). */
struct api_listener {
	const char	*protocol;	/* "amqp", "amqp/ssl", "http", "https" */
	int		 port;
};
#define API_LISTENERS_MAX	8
size_t	api_listeners(const struct broker *b, struct api_listener *out,
	    size_t max);
/* Overview and node pieces: listeners[], exchange_types[], contexts[]. */
void	api_write_listeners(const struct broker *b, struct json_writer *w);
void	api_write_exchange_types(struct json_writer *w);
void	api_write_contexts(const struct broker *b, struct json_writer *w,
	    bool with_node);

/* Handlers, by resource file. */
/* api_overview.c */
api_handler_fn	api_overview;
api_handler_fn	api_whoami;
/* api_vhosts.c */
api_handler_fn	api_vhosts_list;
api_handler_fn	api_vhost_get;
api_handler_fn	api_vhost_put;
api_handler_fn	api_vhost_delete;
/* api_users.c */
api_handler_fn	api_users_list;
api_handler_fn	api_users_without_permissions;
api_handler_fn	api_users_bulk_delete;
api_handler_fn	api_user_get;
api_handler_fn	api_user_put;
api_handler_fn	api_user_delete;
/* api_permissions.c */
api_handler_fn	api_permissions_list;
api_handler_fn	api_permission_get;
api_handler_fn	api_permission_put;
api_handler_fn	api_permission_delete;
api_handler_fn	api_topic_permissions_list;
api_handler_fn	api_topic_permission_get;
api_handler_fn	api_topic_permission_put;
api_handler_fn	api_topic_permission_delete;
api_handler_fn	api_user_permissions;
api_handler_fn	api_vhost_permissions;
api_handler_fn	api_user_topic_permissions;
api_handler_fn	api_vhost_topic_permissions;

/* api_conns.c */
struct consumer;	/* server/chan.h */
/* One consumer as /api/consumers and a queue's consumer_details show it. */
void	api_write_consumer(struct api_ctx *ctx, struct json_writer *w,
	    const struct consumer *cs);
api_handler_fn	api_connections_list;
api_handler_fn	api_connection_get;
api_handler_fn	api_connection_delete;
api_handler_fn	api_connection_channels;
api_handler_fn	api_user_connections;
api_handler_fn	api_user_connections_delete;
api_handler_fn	api_vhost_connections;
api_handler_fn	api_channels_list;
api_handler_fn	api_channel_get;
api_handler_fn	api_vhost_channels;
api_handler_fn	api_consumers_list;
api_handler_fn	api_vhost_consumers;
/* api_nodes.c */
api_handler_fn	api_nodes_list;
api_handler_fn	api_node_get;
/* api_memory.c */
api_handler_fn	api_node_memory;
api_handler_fn	api_node_memory_relative;
/* api_health.c */
api_handler_fn	api_health_alarms;
api_handler_fn	api_health_local_alarms;
api_handler_fn	api_health_port_listener;
api_handler_fn	api_health_protocol_listener;
api_handler_fn	api_health_virtual_hosts;
api_handler_fn	api_health_quorum_critical;
api_handler_fn	api_health_certificate_expiration;
api_handler_fn	api_health_metadata_store;
api_handler_fn	api_health_is_in_service;
api_handler_fn	api_health_ready_to_serve;
api_handler_fn	api_health_below_connection_limit;
api_handler_fn	api_health_target_cluster_size;
api_handler_fn	api_aliveness_test;
api_handler_fn	api_healthchecks_node;
/* api_misc.c */
api_handler_fn	api_extensions;
api_handler_fn	api_feature_flags;
api_handler_fn	api_deprecated_features;
api_handler_fn	api_version;
api_handler_fn	api_cluster_name_get;
api_handler_fn	api_cluster_name_put;
api_handler_fn	api_auth;
/* api_queues.c */
api_handler_fn	api_queues_list;
api_handler_fn	api_queues_vhost;
api_handler_fn	api_queue_get;
api_handler_fn	api_queue_put;
api_handler_fn	api_queue_delete;
api_handler_fn	api_queue_purge;
api_handler_fn	api_queue_get_messages;
api_handler_fn	api_queue_bindings;
/* api_exchanges.c */
api_handler_fn	api_exchanges_list;
api_handler_fn	api_exchanges_vhost;
api_handler_fn	api_exchange_get;
api_handler_fn	api_exchange_put;
api_handler_fn	api_exchange_delete;
api_handler_fn	api_exchange_publish;
api_handler_fn	api_exchange_bindings_source;
api_handler_fn	api_exchange_bindings_destination;
/* api_bindings.c */
api_handler_fn	api_bindings_list;
api_handler_fn	api_bindings_vhost;
api_handler_fn	api_bindings_between;
api_handler_fn	api_binding_post;
api_handler_fn	api_binding_get;
api_handler_fn	api_binding_delete;
/* api_policies.c */
api_handler_fn	api_policies_list;
api_handler_fn	api_policies_vhost;
api_handler_fn	api_policy_get;
api_handler_fn	api_policy_put;
api_handler_fn	api_policy_delete;
api_handler_fn	api_operator_policies_list;
api_handler_fn	api_operator_policies_vhost;
api_handler_fn	api_operator_policy_get;
api_handler_fn	api_operator_policy_put;
api_handler_fn	api_operator_policy_delete;
/* api_limits.c */
api_handler_fn	api_vhost_limits_list;
api_handler_fn	api_vhost_limits_get;
api_handler_fn	api_vhost_limit_put;
api_handler_fn	api_vhost_limit_delete;
api_handler_fn	api_user_limits_list;
api_handler_fn	api_user_limits_get;
api_handler_fn	api_user_limit_put;
api_handler_fn	api_user_limit_delete;
/* api_definitions.c */
api_handler_fn	api_definitions_get;
api_handler_fn	api_definitions_vhost_get;
api_handler_fn	api_definitions_post;
api_handler_fn	api_definitions_vhost_post;
/* A user's limits as /api/users and definitions show them: {} if none. */
void	api_write_user_limits(struct json_writer *w, const struct user *u);

#endif /* WARREN_ADMIN_API_H */
