/*
 * A virtual host: its exchanges and queues by name. Declares and deletes go
 * through these functions whether they come from AMQP or the admin API.
 */
#ifndef WARREN_SERVER_VHOST_H
#define WARREN_SERVER_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/wire.h"
#include "server/hmap.h"

struct broker;
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
};

struct vhost *vhost_new(struct broker *b, const char *name);
void	vhost_free(struct vhost *vh);
/*
 * Creates and stores a vhost; returns it, or the existing one of that
 * name, or NULL when memory ran out.
 */
struct vhost *vhost_create(struct broker *b, const char *name);
/*
 * Deletes a vhost and everything in it: its connections are closed with
 * 320 CONNECTION_FORCED, its queues (with their messages), exchanges,
 * bindings, permissions and limits go, in memory and in the store.
 */
void	vhost_delete(struct vhost *vh);
/* Sets the vhost's description and tags and stores them; -1 on ENOMEM. */
int	vhost_set_meta(struct vhost *vh, const char *description,
	    const char *tags);
/* Sets the vhost's limits (-1 = none) and stores them. */
void	vhost_set_limits(struct vhost *vh, int64_t max_connections,
	    int64_t max_queues);

struct exchange *vhost_exchange(struct vhost *vh, struct proto_str name);
struct queue *vhost_queue(struct vhost *vh, struct proto_str name);

/* Adds a new exchange/queue to the maps. -1 on ENOMEM. */
int	vhost_add_exchange(struct vhost *vh, struct exchange *ex);
int	vhost_add_queue(struct vhost *vh, struct queue *q);

/*
 * Creates and stores a new exchange, queue or binding: the one path for
 * AMQP methods and for definitions files (callers check names, rights and
 * equivalence first). Each returns 0, or -1 when memory ran out.
 */
int	vhost_create_exchange(struct vhost *vh, struct proto_str name,
	    int kind, bool durable, bool auto_delete, bool internal,
	    struct proto_table args, struct exchange **out);
int	vhost_create_queue(struct vhost *vh, struct proto_str name,
	    bool durable, bool exclusive, bool auto_delete,
	    struct proto_table args, struct queue **out);
/* Binds unless the same binding exists; q or dst is the destination. */
int	vhost_bind(struct vhost *vh, struct exchange *src, struct queue *q,
	    struct exchange *dst, struct proto_str key, struct proto_table args);

/*
 * Enqueues m in the n queues a routing pass found, its body stored once
 * for all the stored ones. -1 when memory ran out for one of them.
 */
int	vhost_enqueue(struct vhost *vh, struct queue **qs, size_t n,
	    struct msg *m);

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
