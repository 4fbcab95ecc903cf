/*
 * Exchanges, bindings and routing. Each exchange type indexes its bindings
 * its own way (direct: hash of keys, topic: trie, fanout and headers: the
 * plain list); every binding is also on the exchange's list and on its
 * destination's list, so deletes can find them from either end.
 */
#ifndef WARREN_SERVER_EXCHANGE_H
#define WARREN_SERVER_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/hmap.h"
#include "protocol/table.h"
#include "protocol/wire.h"
#include "server/stats.h"

struct policy;		/* server/policy.h */
struct queue;		/* server/queue.h */
struct topic_trie;	/* server/route_topic.h */
struct vhost;		/* server/vhost.h */

enum exchange_kind {
	EXCHANGE_DIRECT,
	EXCHANGE_FANOUT,
	EXCHANGE_TOPIC,
	EXCHANGE_HEADERS,
};

struct exchange;

struct binding {
	struct exchange	*src;
	struct queue	*q;		/* destination queue, or */
	struct exchange	*dst;		/* destination exchange */
	char		*key;
	size_t		 key_len;
	uint8_t		*args;		/* raw table bytes, validated */
	size_t		 args_len;
	/* (destination, key, args) as bytes: the key of src->by_ident. */
	uint8_t		*ident;
	size_t		 ident_len;
	/* Positions, so every list drops a binding without a scan. */
	size_t		 src_idx;	/* in src->bindings */
	size_t		 dst_idx;	/* in q->bindings or dst->incoming */
	size_t		 set_idx;	/* in its direct binding_set */
};

/* The direct index: all bindings sharing one routing key. */
struct binding_set {
	struct binding	**v;
	size_t		  n, cap;
	char		 *key;	/* borrowed from v[0]'s key when n > 0 */
	size_t		  key_len;
};

struct exchange {
	char		*name;
	size_t		 name_len;
	struct vhost	*vh;
	enum exchange_kind kind;
	bool		 durable;
	bool		 auto_delete;
	bool		 internal;
	bool		 builtin;	/* "" and amq.*: cannot be deleted */
	uint8_t		*args;
	size_t		 args_len;
	/* The effective one: the argument's, else the policy's; or NULL. */
	char		*alternate;
	size_t		 alternate_len;
	const struct policy *policy;	/* in effect (server/policy.h) */

	struct binding	**bindings;	/* outgoing, every kind, unordered */
	size_t		 nbindings, bindings_cap;
	struct hmap	 by_ident;	/* binding ident -> struct binding */
	struct hmap	 direct;	/* key -> struct binding_set */
	struct topic_trie *topic;
	struct binding	**incoming;	/* e2e bindings whose destination this is */
	size_t		 nincoming, incoming_cap;
	uint64_t	 route_mark;

	struct msg_counters stats;	/* publish_in/out (server/stats.h) */
	struct rate_ring *rates;	/* NULL until it was active */
};

/* Parses a type name; -1 if unknown. */
int	exchange_kind_parse(struct proto_str type, enum exchange_kind *kind);
const char *exchange_kind_name(enum exchange_kind kind);

struct exchange *exchange_new(struct vhost *vh, struct proto_str name,
	    enum exchange_kind kind, bool durable, bool auto_delete,
	    bool internal, struct proto_table args);
/* Unbinds everything and frees. */
void	exchange_free(struct exchange *ex);

/* Finds a binding equal to (src, dest, key, args), in O(key + args). */
struct binding *exchange_find_binding(struct exchange *src, struct queue *q,
	    struct exchange *dst, struct proto_str key, struct proto_table args);
/* Adds a binding (caller checked it is new). -1 for a topic binding key
 * longer than TOPIC_KEY_MAX. */
int	exchange_bind(struct exchange *src, struct queue *q,
	    struct exchange *dst, struct proto_str key, struct proto_table args);
/* Removes and frees a binding from every index and list, in O(1). */
void	exchange_unbind(struct binding *bd);

/*
 * The keys one message is routed by: its routing key and (compat:
 * RabbitMQ's sender-selected distribution) the longstr elements of its
 * CC and BCC arrays, other elements skipped. Views; the arrays are
 * validated.
 */
struct route_keys {
	struct proto_str	rk;
	struct proto_table	cc;	/* CC array contents, or empty */
	struct proto_table	bcc;	/* BCC array contents, or empty */
};
struct route_keys_iter {
	const struct route_keys	*k;
	int			 part;	/* 0: rk, 1: cc, 2: bcc, 3: done */
	struct proto_table_iter	 it;
};
void	exchange_keys_init(struct route_keys_iter *it,
	    const struct route_keys *k);
/* The next key (duplicates included); false at the end. */
bool	exchange_keys_next(struct route_keys_iter *it, struct proto_str *key);

/* Routing result: each queue at most once. */
struct route_result {
	struct queue	**q;
	size_t		  n, cap;
};
/*
 * Routes a message through ex, following exchange-to-exchange bindings and
 * alternate exchanges; each exchange is visited at most once, so cycles
 * end, and routes all the keys, whose queues accumulate in one result.
 * Work is at most (exchanges reached) x (keys), with no allocation but
 * the result.
 */
void	exchange_route_keys(struct exchange *ex, const struct route_keys *keys,
	    struct proto_table headers, struct route_result *out);
/* The same for one routing key. */
void	exchange_route(struct exchange *ex, struct proto_str rk,
	    struct proto_table headers, struct route_result *out);

#endif /* WARREN_SERVER_EXCHANGE_H */
