#include "autoconf.h"

#include "admin/memory.h"

#include <string.h>

#include "lib/hmap.h"
#include "server/alarm.h"
#include "server/broker.h"
#include "server/chan.h"
#include "server/conn.h"
#include "server/msg.h"
#include "server/queue.h"
#include "server/vhost.h"
#include "storage/store.h"

const char *const memory_key[MEM_N] = {
	"connection_readers", "connection_writers", "connection_channels",
	"connection_other", "queue_procs", "queue_slave_procs",
	"quorum_queue_procs", "quorum_queue_dlx_procs", "stream_queue_procs",
	"stream_queue_replica_reader_procs", "stream_queue_coordinator_procs",
	"plugins", "metadata_store", "other_proc", "metrics", "mgmt_db",
	"mnesia", "quorum_ets", "metadata_store_ets", "other_ets", "binary",
	"msg_index", "code", "atom", "other_system", "allocated_unused",
	"reserved_unallocated",
};

const char *const memory_metric[MEM_N] = {
	[MEM_CONN_READERS] = "memory_client_connection_reader_bytes",
	[MEM_CONN_WRITERS] = "memory_client_connection_writer_bytes",
	[MEM_CONN_CHANNELS] = "memory_client_connection_channel_bytes",
	[MEM_CONN_OTHER] = "memory_client_connection_other_bytes",
	[MEM_QUEUE_PROCS] = "memory_classic_queue_erlang_process_bytes",
	[MEM_QUORUM_QUEUE_PROCS] = "memory_quorum_queue_erlang_process_bytes",
	[MEM_QUORUM_QUEUE_DLX_PROCS] =
	    "memory_quorum_queue_dlx_erlang_process_bytes",
	[MEM_STREAM_QUEUE_PROCS] = "memory_stream_erlang_process_bytes",
	[MEM_STREAM_READER_PROCS] =
	    "memory_stream_replica_reader_erlang_process_bytes",
	[MEM_STREAM_COORD_PROCS] =
	    "memory_stream_coordinator_erlang_process_bytes",
	[MEM_PLUGINS] = "memory_plugin_bytes",
	[MEM_METADATA_STORE] = "memory_modern_metadata_store_bytes",
	[MEM_OTHER_PROC] = "memory_other_erlang_process_bytes",
	[MEM_METRICS] = "memory_metrics_bytes",
	[MEM_MGMT_DB] = "memory_management_stats_db_bytes",
	[MEM_MNESIA] = "memory_classic_metadata_store_bytes",
	[MEM_QUORUM_ETS] = "memory_quorum_queue_ets_table_bytes",
	[MEM_METADATA_STORE_ETS] =
	    "memory_modern_metadata_store_ets_table_bytes",
	[MEM_OTHER_ETS] = "memory_other_ets_table_bytes",
	[MEM_BINARY] = "memory_binary_heap_bytes",
	[MEM_MSG_INDEX] = "memory_message_index_bytes",
	[MEM_CODE] = "memory_code_module_bytes",
	[MEM_ATOM] = "memory_atom_table_bytes",
	[MEM_OTHER_SYSTEM] = "memory_other_system_bytes",
	[MEM_ALLOCATED_UNUSED] = "memory_runtime_allocated_unused_bytes",
	[MEM_RESERVED_UNALLOCATED] =
	    "memory_runtime_reserved_unallocated_bytes",
};

const char *const memory_metric_help[MEM_N] = {
	[MEM_CONN_READERS] =
	    "Client connection reader processes footprint in bytes",
	[MEM_CONN_WRITERS] =
	    "Client connection writer processes footprint in bytes",
	[MEM_CONN_CHANNELS] =
	    "Client connection channel processes footprint in bytes",
	[MEM_CONN_OTHER] =
	    "Client connection other processes footprint in bytes",
	[MEM_QUEUE_PROCS] = "Classic queue processes footprint in bytes",
	[MEM_QUORUM_QUEUE_PROCS] = "Quorum queue processes footprint in bytes",
	[MEM_QUORUM_QUEUE_DLX_PROCS] =
	    "Quorum queue DLX worker processes footprint in bytes",
	[MEM_STREAM_QUEUE_PROCS] = "Stream processes footprint in bytes",
	[MEM_STREAM_READER_PROCS] =
	    "Stream replica reader processes footprint in bytes",
	[MEM_STREAM_COORD_PROCS] =
	    "Stream coordinator processes footprint in bytes",
	[MEM_PLUGINS] = "Total plugin footprint in bytes",
	[MEM_METADATA_STORE] = "Modern metadata store footprint in bytes",
	[MEM_OTHER_PROC] = "Other processes footprint in bytes",
	[MEM_METRICS] = "Metric table footprint in bytes",
	[MEM_MGMT_DB] = "Management stats database footprint in bytes",
	[MEM_MNESIA] = "Classic metadata store footprint in bytes",
	[MEM_QUORUM_ETS] = "Quorum queue ETS tables footprint in bytes",
	[MEM_METADATA_STORE_ETS] =
	    "Modern metadata store ETS tables footprint in bytes",
	[MEM_OTHER_ETS] = "Other ETS tables footprint in bytes",
	[MEM_BINARY] = "Binary heap size in bytes",
	[MEM_MSG_INDEX] = "Message index footprint in bytes",
	[MEM_CODE] = "Code module memory footprint",
	[MEM_ATOM] = "Atom table size in bytes",
	[MEM_OTHER_SYSTEM] = "Other runtime footprint in bytes",
	[MEM_ALLOCATED_UNUSED] =
	    "Runtime allocated but unused blocks size in bytes",
	[MEM_RESERVED_UNALLOCATED] =
	    "Runtime reserved but unallocated blocks size in bytes",
};

void
memory_measure(const struct broker *b, uint64_t m[MEM_N], uint64_t *rss)
{
	uint64_t sum = 0;
	void *p;

	memset(m, 0, MEM_N * sizeof(m[0]));
	for (const struct conn *c = b->conns; c != NULL; c = c->next) {
		m[MEM_CONN_READERS] += c->io.in.cap;
		m[MEM_CONN_WRITERS] += c->io.out.cap;
		m[MEM_CONN_OTHER] += sizeof(*c);
		m[MEM_CONN_CHANNELS] += c->chans_cap * sizeof(c->chans[0]) +
		    c->nchans * sizeof(struct chan);
	}
	for (size_t i = 0; hmap_next(&b->vhosts, &i, &p);) {
		const struct vhost *vh = p;
		void *qp;

		for (size_t j = 0; hmap_next(&vh->queues, &j, &qp);) {
			const struct queue *q = qp;

			m[MEM_QUEUE_PROCS] += sizeof(*q) + q->name_len +
			    q->args_len + (queue_ready(q) + q->unacked) *
			    sizeof(struct qentry);
		}
	}
	m[MEM_BINARY] = msg_body_bytes();
	m[MEM_MSG_INDEX] = store_memory_used();
	for (size_t k = 0; k < MEM_N; k++)
		sum += m[k];
	*rss = alarm_rss_bytes();
	m[MEM_OTHER_SYSTEM] = *rss > sum ? *rss - sum : 0;
}
