/*
 * GET /api/nodes/{node}/memory and /memory/relative (compat: RabbitMQ's
 * memory breakdown, read by rabbitmqadmin v2 `show
 * memory_breakdown_in_bytes` and `_in_percent` and the UI's node page).
 * RabbitMQ's categories are Erlang's; warren fills those it can measure
 * in a single pass over its objects and leaves the others 0:
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
 * total.rss is the resident set from /proc/self/statm; warren has no
 * separate runtime allocator figure, so total.erlang and
 * total.allocated are the same number.
 */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include "admin/api.h"
#include "lib/hmap.h"
#include "lib/json.h"
#include "server/alarm.h"
#include "server/broker.h"
#include "server/chan.h"
#include "server/conn.h"
#include "server/msg.h"
#include "server/queue.h"
#include "server/vhost.h"
#include "storage/store.h"

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

static const char *const mem_names[MEM_N] = {
	"connection_readers", "connection_writers", "connection_channels",
	"connection_other", "queue_procs", "queue_slave_procs",
	"quorum_queue_procs", "quorum_queue_dlx_procs", "stream_queue_procs",
	"stream_queue_replica_reader_procs", "stream_queue_coordinator_procs",
	"plugins", "metadata_store", "other_proc", "metrics", "mgmt_db",
	"mnesia", "quorum_ets", "metadata_store_ets", "other_ets", "binary",
	"msg_index", "code", "atom", "other_system", "allocated_unused",
	"reserved_unallocated",
};

static void
measure(const struct broker *b, uint64_t *m, uint64_t *rss)
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

/* The node named by path argument 0, or false after answering 404. */
static bool
node_arg(struct api_ctx *ctx)
{
	if (proto_str_eq(ctx->arg[0], proto_str_c(ctx->b->node_name)))
		return true;
	api_error(ctx, 404, "Object Not Found", "Not Found");
	return false;
}

void
api_node_memory(struct api_ctx *ctx)
{
	struct json_writer *w;
	uint64_t m[MEM_N], rss;

	if (!node_arg(ctx))
		return;
	measure(ctx->b, m, &rss);
	w = api_json_begin(ctx);
	json_w_begin_object(w);
	json_w_keyc(w, "memory");
	json_w_begin_object(w);
	for (size_t k = 0; k < MEM_N; k++) {
		json_w_keyc(w, mem_names[k]);
		json_w_uint(w, m[k]);
	}
	json_w_keyc(w, "strategy");
	json_w_stringc(w, "rss");
	json_w_keyc(w, "total");
	json_w_begin_object(w);
	json_w_keyc(w, "erlang");
	json_w_uint(w, rss);
	json_w_keyc(w, "rss");
	json_w_uint(w, rss);
	json_w_keyc(w, "allocated");
	json_w_uint(w, rss);
	json_w_end_object(w);
	json_w_end_object(w);
	json_w_end_object(w);
	api_json_end(ctx);
}

/* compat: whole percentages of the total, "total":100 first. */
void
api_node_memory_relative(struct api_ctx *ctx)
{
	struct json_writer *w;
	uint64_t m[MEM_N], rss;

	if (!node_arg(ctx))
		return;
	measure(ctx->b, m, &rss);
	w = api_json_begin(ctx);
	json_w_begin_object(w);
	json_w_keyc(w, "memory");
	json_w_begin_object(w);
	json_w_keyc(w, "total");
	json_w_uint(w, 100);
	for (size_t k = 0; k < MEM_N; k++) {
		json_w_keyc(w, mem_names[k]);
		json_w_uint(w, rss > 0 ? (m[k] * 100 + rss / 2) / rss : 0);
	}
	json_w_end_object(w);
	json_w_end_object(w);
	api_json_end(ctx);
}
