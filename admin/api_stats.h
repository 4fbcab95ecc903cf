/*
 * The statistics members of admin API objects, from the counters and
 * rate rings the broker keeps (server/stats.h): message_stats, the
 * *_details rates, connection traffic and the overview's totals. compat:
 * RabbitMQ 3.10's keys and types: counts are JSON integers, rates floats
 * with one decimal ("rate":0.0), and message_stats is left out while an
 * object has had no activity (tools read a missing value as 0). Callers
 * leave all of these out for disable_stats=true. With range parameters
 * (admin/api_range.h, read into ctx) the *_details carry samples.
 */
#ifndef WARREN_ADMIN_API_STATS_H
#define WARREN_ADMIN_API_STATS_H

#include <stdbool.h>

struct api_ctx;
struct chan;
struct conn;
struct exchange;
struct json_writer;
struct msg_counters;
struct queue;
struct rate_ring;
struct stats_layout;
struct vhost;

/*
 * "message_stats":{"publish":N,"publish_details":{"rate":R},...} for an
 * object whose ring r (may be NULL) starts with layout l's keys; nothing
 * when every counter of c is zero.
 */
void	api_stats_message_stats(struct json_writer *w,
	    const struct api_ctx *ctx, const struct stats_layout *l, const struct msg_counters *c,
	    const struct rate_ring *r);

/* A queue's message_stats (publish, deliver_get, ack, ...). */
void	api_stats_queue(struct json_writer *w, const struct api_ctx *ctx,
	    const struct queue *q);
/*
 * A queue's "messages", "messages_ready" and "messages_unacknowledged",
 * each followed by its "_details":{"rate":R} when details.
 */
void	api_stats_queue_depth(struct json_writer *w,
	    const struct api_ctx *ctx, const struct queue *q, bool details);
/* An exchange's message_stats (publish_in, publish_out). */
void	api_stats_exchange(struct json_writer *w, const struct api_ctx *ctx,
	    const struct exchange *ex);
/* A channel's message_stats (publish, confirm, deliver, ack, ...). */
void	api_stats_channel(struct json_writer *w, const struct api_ctx *ctx,
	    const struct chan *ch);
/*
 * A connection's traffic: "recv_cnt", "recv_oct", "recv_oct_details",
 * "send_cnt", "send_oct", "send_oct_details".
 */
void	api_stats_conn(struct json_writer *w, const struct api_ctx *ctx,
	    const struct conn *c);
/*
 * A vhost's message_stats, "messages*" with details and "recv_oct",
 * "send_oct" with details (compat: GET /api/vhosts/{v}).
 */
void	api_stats_vhost(struct json_writer *w, const struct api_ctx *ctx,
	    const struct vhost *vh);
/*
 * The overview's "message_stats" ({} before any traffic) and
 * "queue_totals" (with details), over the vhosts ctx's user may see
 * (everything for administrators and monitoring users, as RabbitMQ), and
 * its "churn_rates" (counts from struct broker's churn, with rates).
 */
void	api_stats_overview_message_stats(struct json_writer *w,
	    struct api_ctx *ctx);
void	api_stats_overview_queue_totals(struct json_writer *w,
	    struct api_ctx *ctx);
struct broker;
void	api_stats_churn_rates(struct json_writer *w, const struct broker *b);
/* The same counts and *_details as members of the current object (a
 * node shows them so). */
void	api_stats_churn_members(struct json_writer *w,
	    const struct broker *b);

#endif /* WARREN_ADMIN_API_STATS_H */
