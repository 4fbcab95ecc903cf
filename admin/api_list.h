/*
 * Listings of the management API: what every list endpoint shares. A
 * handler offers its objects one by one (api_list_wants, then writes the
 * ones wanted with api_list_item); api_list_end sorts them, cuts the
 * requested page and columns, and writes the answer.
 *
 * A listing that may be big (queues, exchanges, vhosts, connections,
 * channels, consumers, bindings) is keyed instead,
 * so that it costs bounded work per loop turn (the house rule): the
 * handler offers only each wanted object's key (api_list_key: vhost and
 * name, cheap), and api_list_end_keyed writes the items through a
 * callback that looks each object up again by its key.
 * - In the default order and with sort=name the keys are enough: they are
 *   sorted and the page cut first, and only the page's items are written
 *   (?page=1&page_size=1 over 20,000 queues costs a key sort).
 * - With any other sort= every item is written, its sort value read as it
 *   is, then sorted and cut.
 * - More than LIST_SLICE items to write (a bare array of every queue) are
 *   written over several loop turns, a slice or more a turn within a
 *   time budget, from an ev_check watcher; the answer is deferred
 *   (http_conn_defer) and sent once complete. Nothing but keys is kept
 *   across turns: an object deleted (or its vhost) before its turn is
 *   left out; a client that leaves frees the listing (http_conn's gone
 *   callback). The size cap is the same as for any listing.
 * - No turn copies the whole answer: a bare array in the keys' order is
 *   written straight into the answer's body; one sorted by an item value
 *   is copied there a slice per turn once sorted; http_conn moves a big
 *   body into its output without a copy. A page (500 items at most) is
 *   put together in one turn.
 * - sort values and columns= are read from each item as it is written.
 * - What finds an object again (its ref) is its name for queues,
 *   exchanges and vhosts (api_list_key); objects without a name of their
 *   own, or whose name may be reused, give another ref with
 *   api_list_key_ref, kept beside the key and passed to the callback (the
 *   sort still reads vhost and name only):
 *   - a connection: its id (server/conn.h: unique for the process), found
 *     in the broker's id index (O(1)); a connection closed since, and its
 *     id with it, is left out, and no new connection can take its place,
 *     so who may see it was checked once, when the keys were listed;
 *   - a channel: its connection's id and its number (a channel reopened
 *     under the same number on that connection is written as it is then);
 *   - a consumer: connection id, channel number and consumer tag;
 *   - a binding: its source exchange's name and the binding's whole
 *     identity by names (destination kind and name, routing key,
 *     arguments), found again with the vhost's and the exchange's hash
 *     maps (exchange_find_binding, O(key + arguments)); the default
 *     exchange's implicit binding to a queue is the queue's name. A
 *     binding gone (or either end of it) is left out; no pointer is kept,
 *     so none can dangle or name a newer object at the same address.
 * The small listings (users, permissions, policies, ...) are still written
 * in one turn (api_list_item).
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
/*
 * A keyed listing (see above): writes the object of vhost and ref (as
 * api_list_key or api_list_key_ref got them; vhost "" when it was NULL)
 * as one JSON value, and returns true; returns false, having written
 * nothing, when the object is gone. An object's "name" member (if any)
 * must be the name it was offered with: sort=name reads the keys. ctx
 * has no request and no user by then: what the callback reads of ctx is
 * b, ranges and list.
 */
typedef bool api_list_write_fn(struct api_ctx *ctx, struct json_writer *w,
	    const char *vhost, const char *ref, size_t reflen);
/* Offers one wanted object of a keyed listing by its key (ref: name). */
void	api_list_key(struct api_ctx *ctx, const char *vhost,
	    const char *name, size_t namelen);
/* The same, with a ref of reflen bytes (copied) to find it again. */
void	api_list_key_ref(struct api_ctx *ctx, const char *vhost,
	    const char *name, size_t namelen, const void *ref, size_t reflen);
/*
 * Writes a keyed listing's items with write and answers, now or (for
 * many items) over later loop turns.
 */
void	api_list_end_keyed(struct api_ctx *ctx, api_list_write_fn *write);
/* Writes the 200 answer (or a 400/500 one) from the items. */
void	api_list_end(struct api_ctx *ctx);
/* Frees what a listing holds; api_handle calls it after every handler. */
void	api_list_free(struct api_ctx *ctx);

/*
 * columns= on a single object: rewrites ctx's 200 JSON body to keep only
 * the requested paths. api_json_end calls it.
 */
void	api_columns_apply(struct api_ctx *ctx);

#endif /* WARREN_ADMIN_API_LIST_H */
