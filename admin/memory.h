/*
 * What warren's memory is made of, in RabbitMQ's categories (compat:
 * rabbit_vm:memory/0, shown by GET /api/nodes/{node}/memory and by the
 * Prometheus endpoint /metrics/memory-breakdown). RabbitMQ's categories
 * are Erlang's; warren fills those it can measure in a single pass over
 * its objects and leaves the others 0:
 *   connection_readers	read buffers of client connections
 *   connection_writers	their write buffers
 *   connection_channels	channel structures
 *   connection_other	connection structures
 *   queue_procs		queue structures and their message entries
 *   binary		message bodies in memory (server/msg.c counts them)
 *   msg_index		SQLite's allocations (the message and definitions
 *			store, storage/)
 *   other_system	the rest of the resident set (code, libraries,
 *			allocator slack)
 */
#ifndef WARREN_ADMIN_MEMORY_H
#define WARREN_ADMIN_MEMORY_H

#include <stdint.h>

struct broker;

/* compat: RabbitMQ 3.10's keys in its order; metadata_store and
 * metadata_store_ets are 4.x's, which rabbitmqadmin v2 requires. */
enum mem_key {
	MEM_CONN_READERS, MEM_CONN_WRITERS, MEM_CONN_CHANNELS, MEM_CONN_OTHER,
	MEM_QUEUE_PROCS, MEM_QUEUE_SLAVE_PROCS, MEM_QUORUM_QUEUE_PROCS,
	MEM_QUORUM_QUEUE_DLX_PROCS, MEM_STREAM_QUEUE_PROCS,
	MEM_STREAM_READER_PROCS, MEM_STREAM_COORD_PROCS, MEM_PLUGINS,
	MEM_METADATA_STORE, MEM_OTHER_PROC, MEM_METRICS, MEM_MGMT_DB,
	MEM_MNESIA, MEM_QUORUM_ETS, MEM_METADATA_STORE_ETS, MEM_OTHER_ETS,
	MEM_BINARY, MEM_MSG_INDEX, MEM_CODE, MEM_ATOM, MEM_OTHER_SYSTEM,
	MEM_ALLOCATED_UNUSED, MEM_RESERVED_UNALLOCATED,
	MEM_N
};

/* The management API's key of each category. */
extern const char *const memory_key[MEM_N];
/*
 * The Prometheus metric of each category after "rabbitmq_", or NULL
 * where RabbitMQ exports none (compat: rabbitmq_prometheus's
 * memory-breakdown registry, RabbitMQ 3.13 and later).
 */
extern const char *const memory_metric[MEM_N];
extern const char *const memory_metric_help[MEM_N];

/*
 * Fills m with each category's bytes and *rss with the resident set
 * (/proc/self/statm); O(connections + queues).
 */
void	memory_measure(const struct broker *b, uint64_t m[MEM_N],
	    uint64_t *rss);

#endif
