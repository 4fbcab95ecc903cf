/*
 * A virtual host: its exchanges and queues by name. Declares and deletes go
 * through these functions whether they come from AMQP or the admin API.
 */
#ifndef WARREN_SERVER_VHOST_H
#define WARREN_SERVER_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/hmap.h"
#include "protocol/wire.h"
#include "server/policy.h"
#include "server/stats.h"

struct broker;
struct conn;
struct exchange;
struct msg;
struct queue;

struct vhost {
	char		*name;
	struct broker	*b;
	struct hmap	 exchanges;	/* name -> struct exchange */
	struct hmap	 queues;	/* name -> struct queue */
	uint64_t	 route_gen;	/* routing-pass generation counter */
	int64_t		 max_connections;	/* -1: no limit */
	int64_t		 max_queues;		/* -1: no limit */
	uint32_t	 nconns;	/* connections open to it */
	char		*description;	/* never NULL */
	char		*tags;		/* comma-separated; never NULL */
	struct policy_list policies[POLICY_NKINDS];	/* server/policy.h */

	struct msg_counters stats;	/* its channels' (server/stats.h) */
	uint64_t	 io[STAT_IO_N];	/* its connections', folded */
	/* Channel keys, recv_oct, send_oct, then DEPTH_N depths. */
	struct rate_ring *rates;
};

struct vhost *vhost_new(struct broker *b, const char *name);
void	vhost_free(struct vhost *vh);
/*
 * Creates and stores a vhost; returns it, or the existing one of that
 * name.
 */
struct vhost *vhost_create(struct broker *b, const char *name);
/*
 * Deletes a vhost and everything in it: its connections are closed with
 * 320 CONNECTION_FORCED, its queues (with their messages), exchanges,
 * bindings, permissions and limits go, in memory and in the store.
 */
void	vhost_delete(struct vhost *vh);
/* Sets the vhost's description and tags and stores them. */
void	vhost_set_meta(struct vhost *vh, const char *description,
	    const char *tags);
/* Sets the vhost's limits (-1 = none) and stores them. */
void	vhost_set_limits(struct vhost *vh, int64_t max_connections,
	    int64_t max_queues);

struct exchange *vhost_exchange(struct vhost *vh, struct proto_str name);
struct queue *vhost_queue(struct vhost *vh, struct proto_str name);

/* Adds a new exchange/queue to the maps. */
void	vhost_add_exchange(struct vhost *vh, struct exchange *ex);
void	vhost_add_queue(struct vhost *vh, struct queue *q);

/* ---- declares (server/vhost_declare.c) -------------------------------- */

/*
 * What a refused declare or bind answers: an AMQP reply code and
 * RabbitMQ's reply text (without the "NAME - " prefix the channel adds).
 */
struct vhost_reply {
	uint16_t	code;		/* 0: done */
	bool		created;	/* a new object was made */
	char		text[256];
};

/* A queue.declare (not passive) from AMQP, a definitions file or admin. */
struct vhost_queue_decl {
	struct proto_str	 name;
	bool			 durable, exclusive, auto_delete;
	bool			 server_named;	/* "amq.gen-..." we made */
	bool			 keep_existing;	/* no equivalence check */
	struct proto_table	 args;		/* validated here */
	struct conn		*owner;		/* for exclusivity; or NULL */
	const char		*user;		/* NULL: trusted (see below) */
};

/* An exchange.declare (not passive); type is the name ("topic"). */
struct vhost_exchange_decl {
	struct proto_str	 name, type;
	bool			 durable, auto_delete, internal;
	bool			 keep_existing;
	struct proto_table	 args;		/* validated here */
	const char		*user;
};

/* One binding: from src to the queue q or the exchange dst. */
struct vhost_binding {
	struct exchange		*src;
	struct queue		*q;
	struct exchange		*dst;
	struct proto_str	 key;
	struct proto_table	 args;
};

/*
 * Declares a queue or an exchange after RabbitMQ's checks, in its order.
 * An existing one: exclusivity and equivalence of type, flags and
 * arguments (unless keep_existing: a definitions file leaves it as it
 * is). A new one: name rules, the reserved "amq." prefix, the arguments
 * and the rights they imply (a dead-letter or alternate exchange; checked
 * for user unless it is NULL: definitions files are trusted), then the
 * vhost's max-queues. The caller checks configure on the name, and AMQP's
 * CR/LF stripping stays in names.c (compat: RabbitMQ's channel does it,
 * its definitions import does not). Returns 0 with *out set, or r->code
 * with r->text.
 */
int	vhost_declare_queue(struct vhost *vh, const struct vhost_queue_decl *d,
	    struct queue **out, struct vhost_reply *r);
int	vhost_declare_exchange(struct vhost *vh,
	    const struct vhost_exchange_decl *d, struct exchange **out,
	    struct vhost_reply *r);
/* The binding arguments RabbitMQ checks (x-match for headers exchanges). */
int	vhost_check_binding_args(const struct exchange *src,
	    struct proto_table args, struct vhost_reply *r);
/*
 * Binds after those checks (binding twice is not an error); the caller
 * has checked rights. Returns 0, or r->code with r->text.
 */
int	vhost_bind(struct vhost *vh, const struct vhost_binding *bd,
	    struct vhost_reply *r);
/* Unbinds if bound (compat: else nothing, as in RabbitMQ). */
void	vhost_unbind(struct vhost *vh, const struct vhost_binding *bd);
/*
 * Finds the ends of a binding given by names. Returns 0, or -1 with
 * bd->src NULL when the source is missing, else the destination is.
 */
int	vhost_binding_ends(struct vhost *vh, struct proto_str source,
	    bool dest_is_queue, struct proto_str dest, struct vhost_binding *bd);
/* Whether a new exchange or queue may not have this name ("amq."). */
bool	vhost_name_reserved(struct proto_str name);
/*
 * The 405 of a queue that another connection declared exclusive (owner is
 * the asking connection): 0 if owner may use it.
 */
int	vhost_queue_check_owner(const struct queue *q, const struct conn *owner,
	    struct vhost_reply *r);

/*
 * Deletes a queue or an exchange after RabbitMQ's checks: exclusivity
 * (owner is the asking connection), if_unused, if_empty, and that a
 * system exchange stays. A missing object is the caller's (compat: AMQP
 * deletes of missing objects succeed). Returns 0 (*count: the ready
 * messages dropped), or r->code with r->text.
 */
struct vhost_queue_delete {
	struct queue		*q;
	struct conn		*owner;
	bool			 if_unused, if_empty;
};
int	vhost_remove_queue(struct vhost *vh, const struct vhost_queue_delete *d,
	    uint32_t *count, struct vhost_reply *r);
int	vhost_remove_exchange(struct vhost *vh, struct exchange *ex,
	    bool if_unused, struct vhost_reply *r);

/*
 * Trusted: creates and stores a new exchange, queue or binding, with no
 * checks. The declares above end here, and so does recovery at start
 * (where persist.c writes nothing).
 */
struct exchange *vhost_create_exchange(struct vhost *vh,
	    struct proto_str name, int kind, bool durable, bool auto_delete,
	    bool internal, struct proto_table args);
struct queue *vhost_create_queue(struct vhost *vh, struct proto_str name,
	    bool durable, bool exclusive, bool auto_delete,
	    struct proto_table args);
/* Binds unless the same binding exists. */
int	vhost_add_binding(struct vhost *vh, const struct vhost_binding *bd);

/*
 * Enqueues m in the n queues a routing pass found, its body stored once
 * for all the stored ones. -1 when memory ran out for one of them.
 */
int	vhost_enqueue(struct vhost *vh, struct queue **qs, size_t n,
	    struct msg *m);

struct route_result;	/* server/exchange.h */
/*
 * Routes m through ex and enqueues it in every queue found that takes
 * it: a full reject-publish queue does not (and dead-letters it if so
 * declared), and *refused says so. rr ends holding the queues it went
 * to. basic.publish and the admin API's publish route through here.
 * -1 when memory ran out for one of them.
 */
int	vhost_publish(struct vhost *vh, struct exchange *ex, struct msg *m,
	    struct route_result *rr, bool *refused);

/* Deletes an exchange: unbinds it everywhere, then frees it. */
void	vhost_delete_exchange(struct vhost *vh, struct exchange *ex);
/*
 * Deletes a queue: unbinds it, cancels its consumers (basic.cancel to
 * clients that asked for it), drops ready messages, releases the vhost's
 * reference. Returns the number of ready messages dropped.
 */
uint32_t vhost_delete_queue(struct vhost *vh, struct queue *q);

/* Auto-delete: called when an exchange loses a binding. */
void	vhost_exchange_maybe_autodelete(struct vhost *vh, struct exchange *ex);

#endif /* WARREN_SERVER_VHOST_H */
