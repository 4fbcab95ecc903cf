/*
 * What becomes durable, decided in one place: the only server code that
 * calls storage/store.h. A queue is stored when it is durable and not
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
void	persist_entry(struct queue *q, const struct qentry *e);
void	persist_delivered(struct queue *q, const struct qentry *e);
/* The entry is settled or dropped: its row goes (not for deleted queues). */
void	persist_entry_gone(struct queue *q, const struct qentry *e);
/* Gives an entry whose body is only in the store its message; false if lost. */
bool	persist_load(struct queue *q, struct qentry *e);

/* Rebuilds definitions and queued messages from the store at start. */
int	persist_recover(struct broker *b);

#endif /* WARREN_SERVER_PERSIST_H */
