/*
 * GET /api/nodes/{node}/memory and /memory/relative (compat: RabbitMQ's
 * memory breakdown, read by rabbitmqadmin v2 `show
 * memory_breakdown_in_bytes` and `_in_percent` and the UI's node page;
 * the categories are admin/memory.h's). total.rss is the resident set
 * from /proc/self/statm; warren has no separate runtime allocator
 * figure, so total.erlang and total.allocated are the same number.
 */
#include "autoconf.h"

#include <stdint.h>

#include "admin/api.h"
#include "admin/memory.h"
#include "lib/json.h"
#include "server/broker.h"

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
	memory_measure(ctx->b, m, &rss);
	w = api_json_begin(ctx);
	json_w_begin_object(w);
	json_w_keyc(w, "memory");
	json_w_begin_object(w);
	for (size_t k = 0; k < MEM_N; k++) {
		json_w_keyc(w, memory_key[k]);
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
	memory_measure(ctx->b, m, &rss);
	w = api_json_begin(ctx);
	json_w_begin_object(w);
	json_w_keyc(w, "memory");
	json_w_begin_object(w);
	json_w_keyc(w, "total");
	json_w_uint(w, 100);
	for (size_t k = 0; k < MEM_N; k++) {
		json_w_keyc(w, memory_key[k]);
		json_w_uint(w, rss > 0 ? (m[k] * 100 + rss / 2) / rss : 0);
	}
	json_w_end_object(w);
	json_w_end_object(w);
	api_json_end(ctx);
}
