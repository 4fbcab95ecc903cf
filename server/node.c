#include "autoconf.h"

#include "server/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/broker.h"
#include "storage/store.h"

/* The host name, whole or cut at its first dot. */
static void
host_name(char *buf, size_t len, bool shortname)
{
	if (gethostname(buf, len) == -1 || buf[0] == '\0')
		snprintf(buf, len, "localhost");
	buf[len - 1] = '\0';
	if (shortname)
		buf[strcspn(buf, ".")] = '\0';
}

void
node_name_make(const char *opt, const char *env, char *out, size_t outlen)
{
	const char *name = "rabbit";
	char host[256];

	if (opt != NULL && opt[0] != '\0' && strcmp(opt, "none") != 0)
		name = opt;
	else if (env != NULL && env[0] != '\0')
		name = env;
	if (strchr(name, '@') != NULL) {
		snprintf(out, outlen, "%s", name);
		return;
	}
	/* compat: RabbitMQ appends the short host name to a bare name. */
	host_name(host, sizeof(host), true);
	snprintf(out, outlen, "%s@%s", name, host);
}

void
node_set_cluster_name(struct broker *b, const void *name, size_t len)
{
	if (len >= sizeof(b->cluster_name))
		len = sizeof(b->cluster_name) - 1;
	memcpy(b->cluster_name, name, len);
	b->cluster_name[len] = '\0';
	if (!b->recovering)
		store_put_cluster_name(b->store, (struct store_blob){
		    b->cluster_name, len });
}

void
node_init(struct broker *b)
{
	char host[256];
	size_t at;
	int n;

	node_name_make(b->cfg.node_name, getenv("RABBITMQ_NODENAME"),
	    b->node_name, sizeof(b->node_name));
	/*
	 * compat: RabbitMQ's default cluster name is the node's name part
	 * and the full host name ("rabbit@host.example.com").
	 */
	at = strcspn(b->node_name, "@");
	host_name(host, sizeof(host), false);
	n = snprintf(b->cluster_name, sizeof(b->cluster_name), "%.*s@",
	    (int)at, b->node_name);
	if (n > 0 && (size_t)n < sizeof(b->cluster_name))
		snprintf(b->cluster_name + n, sizeof(b->cluster_name) -
		    (size_t)n, "%.*s", (int)(sizeof(b->cluster_name) - 1 -
		    (size_t)n), host);
	b->started_at = ev_time();
}
