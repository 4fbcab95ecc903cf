/*
 * Listings of the management API: what every list endpoint shares. A
 * handler offers its objects one by one (api_list_wants, then writes the
 * ones wanted with api_list_item); api_list_end sorts them, cuts the
 * requested page and columns, and writes the answer.
 *
 * compat: RabbitMQ's list parameters (rabbit_mgmt_util.erl), checked
 * against RabbitMQ 3.10:
 * - page=N turns pagination on (on the listings RabbitMQ paginates:
 *   vhosts, queues, exchanges, connections, channels); page_size (1..500, default 100) and the
 *   name filter (name=, a caseless substring, or with use_regex=true a
 *   caseless regular expression) act only with it. Without page= the
 *   answer is a bare array of every object.
 * - sort= takes one dotted key (a missing value sorts as 0, numbers before
 *   strings); without it objects sort by vhost, then name. sort_reverse=
 *   true reverses either.
 * - columns= is a comma-separated list of dotted paths; each item keeps
 *   only those (paths that do not exist are left out).
 * - The x-vhost header (the web UI sends it on every request) limits a
 *   listing of objects inside vhosts (queues, exchanges, bindings,
 *   consumers, connections, channels; not vhosts or permissions) whose
 *   path names no vhost; blank means every vhost.
 * - columns= paths: RabbitMQ 3.10 keeps a dotted path's whole top-level
 *   member; warren descends as later releases do (a path going on past a
 *   non-object keeps it), which gives what clients read either way.
 */
#ifndef WARREN_ADMIN_API_LIST_H
#define WARREN_ADMIN_API_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct api_ctx;
struct json;
struct json_writer;

/* compat: RabbitMQ's bounds for page_size and a name regex. */
#define API_PAGE_SIZE_DEFAULT	100
#define API_PAGE_SIZE_MAX	500
#define API_NAME_REGEX_MAX	1024

/*
 * Reads the list parameters of ctx's request. False after answering 400
 * with RabbitMQ's error and reason.
 */
bool	api_list_begin(struct api_ctx *ctx);
/*
 * The same for a listing RabbitMQ does not paginate (users, permissions,
 * bindings, policies, consumers, ...): page=, page_size= and name= are
 * ignored there, and the answer is always a bare array.
 */
bool	api_list_begin_unpaged(struct api_ctx *ctx);
/*
 * disable_stats=true (leave out message_stats and rates) and, with it,
 * enable_queue_totals=true (keep a queue's message counts).
 */
bool	api_list_disable_stats(const struct api_ctx *ctx);
bool	api_list_queue_totals(const struct api_ctx *ctx);
/*
 * Whether an object of vhost (NULL: not filtered by x-vhost) named name
 * (NULL: it has no name, as a binding) passes the x-vhost and name
 * filters. Offer
 * every object of the listing once: the answer's total_count counts those
 * past the vhost filter.
 */
bool	api_list_wants(struct api_ctx *ctx, const char *vhost,
	    const char *name, size_t namelen);
/*
 * Starts one wanted item, with its default sort key (vhost, name; NULL
 * for none). Write exactly one JSON value with the returned writer, then
 * call api_list_item_end.
 */
struct json_writer *api_list_item(struct api_ctx *ctx, const char *vhost,
	    const char *name, size_t namelen);
void	api_list_item_end(struct api_ctx *ctx);
/* Writes the 200 answer (or a 400/500 one) from the items. */
void	api_list_end(struct api_ctx *ctx);
/* Frees what a listing holds; api_handle calls it after every handler. */
void	api_list_free(struct api_ctx *ctx);

/*
 * columns= on a single object: rewrites ctx's 200 JSON body to keep only
 * the requested paths. api_json_end calls it.
 */
void	api_columns_apply(struct api_ctx *ctx);
/* Writes a parsed JSON value out again (integers stay integers). */
void	api_json_copy(struct json_writer *w, const struct json *v);

#endif /* WARREN_ADMIN_API_LIST_H */
