/*
 * The node's identity, as RabbitMQ's: its name ("rabbit@" and the short
 * host name unless --node-name or RABBITMQ_NODENAME says otherwise), the
 * cluster name, and when it started. warren is a one-node cluster.
 */
#ifndef WARREN_SERVER_NODE_H
#define WARREN_SERVER_NODE_H

#include <stddef.h>

struct broker;

#define NODE_NAME_MAX	256

/* Sets b->node_name, b->cluster_name and b->started_at (at broker init). */
void	node_init(struct broker *b);
/*
 * The name from an option or RABBITMQ_NODENAME value (NULL or "none":
 * the default): "NAME@HOST" as is, a bare "NAME" gets "@" and the short
 * host name, as RabbitMQ completes it.
 */
void	node_name_make(const char *opt, const char *env, char *out,
	    size_t outlen);

/*
 * Sets the cluster name (len bytes, no NUL; longer ones are cut) and
 * stores it unless recovering.
 */
void	node_set_cluster_name(struct broker *b, const void *name, size_t len);

#endif /* WARREN_SERVER_NODE_H */
