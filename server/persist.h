/*
 * What becomes durable, decided in one place: the only server code that
 * calls storage/store.h (broker.c owns the store's lifetime and commits).
 * Vhosts, users, permissions and topic permissions are stored as they
 * change. A queue is stored when it is durable and not
 * exclusive (exclusive queues die with their connection, and RabbitMQ
 * drops them at restart); an exchange when durable; a binding when both
 * ends are stored; a message when persistent (delivery_mode 2) and routed
 * to at least one stored queue. Every function is a no-op without a store
 * (tests, and the broker's own teardown).
 */
#ifndef WARREN_SERVER_PERSIST_H
#define WARREN_SERVER_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

struct binding;
struct broker;
struct exchange;
struct msg;
struct qentry;
struct queue;
struct user;
struct vhost;

/*
 * Definitions that change: each write is a no-op without a store and
 * while b is recovering (what comes from the store is not rewritten).
 */
void	persist_vhost(struct broker *b, const char *name);
void	persist_vhost_deleted(struct broker *b, const char *name);
void	persist_vhost_meta(const struct vhost *vh);
void	persist_vhost_limits(const struct vhost *vh);
void	persist_user(struct broker *b, const struct user *u);
void	persist_user_deleted(struct broker *b, const char *name);
/* NULL patterns are stored as "". */
void	persist_permission(struct broker *b, const char *user,
	    const char *vhost, const char *configure, const char *write,
	    const char *read);
void	persist_permission_deleted(struct broker *b, const char *user,
	    const char *vhost);
void	persist_topic_permission(struct broker *b, const char *user,
	    const char *vhost, const char *exchange, const char *write,
	    const char *read);
void	persist_topic_permission_deleted(struct broker *b, const char *user,
	    const char *vhost, const char *exchange);

/* A policy (enum policy_kind) set or deleted in vh. */
struct policy;
void	persist_policy(const struct vhost *vh, unsigned kind,
	    const struct policy *p);
void	persist_policy_deleted(const struct vhost *vh, unsigned kind,
	    const char *name);
/* A user's max-connections and max-channels (-1: none). */
void	persist_user_limits(struct broker *b, const struct user *u);

/* After a declare: gives the queue a store id if it is to be stored. */
void	persist_queue(struct queue *q);
void	persist_queue_deleted(struct queue *q);
void	persist_exchange(struct exchange *ex);
void	persist_exchange_deleted(struct exchange *ex);
void	persist_binding(struct binding *bd, bool add);

/* Whether a message routed to q is stored with it. */
bool	persist_wants(const struct queue *q, const struct msg *m);
/* Stores m once for its n stored queues; returns its store id. */
uint64_t persist_message(struct broker *b, struct msg *m, uint32_t n);
/* The flags of an entry whose message is stored for n queues. */
unsigned persist_entry_flags(uint32_t n);
void	persist_entry(struct queue *q, const struct qentry *e);
void	persist_delivered(struct queue *q, const struct qentry *e);
/* The entry is settled or dropped: its row goes (not for deleted queues). */
void	persist_entry_gone(struct queue *q, const struct qentry *e);
/* Gives an entry whose body is only in the store its message; false if lost. */
bool	persist_load(struct queue *q, struct qentry *e);

/* Rebuilds definitions and queued messages from the store at start. */
int	persist_recover(struct broker *b);

#endif /* WARREN_SERVER_PERSIST_H */
