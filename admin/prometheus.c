#include "autoconf.h"

#include "admin/prometheus.h"

#include <dirent.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "admin/http.h"
#include "admin/memory.h"
#include "lib/buf.h"
#include "lib/hmap.h"
#include "server/broker.h"
#include "server/chan.h"
#include "server/conn.h"
#include "server/exchange.h"
#include "server/queue.h"
#include "server/stats.h"
#include "server/vhost.h"

/* compat: what RabbitMQ's plugin answers with. */
#define CONTENT_TYPE	"text/plain; version=0.0.4"

/* What a family is summed or labelled over. */
enum scope {
	S_GLOBAL,		/* one value for the broker */
	S_QUEUE,		/* {vhost,queue} */
	S_EXCHANGE,		/* {vhost,exchange} */
	S_CHANNEL,		/* {channel} */
	S_CHAN_EX,		/* {channel,vhost,exchange}; summed: channels' */
	S_CHAN_Q,		/* {channel,vhost,queue}; summed: channels' */
	S_CHAN_QX,		/* {channel,queue_vhost,queue,exchange_vhost,
				   exchange}; summed: channels' */
	S_CONN,			/* {channel}: compat, RabbitMQ labels so */
};

struct ctx;
typedef double value_fn(const struct ctx *x, const void *obj);

struct metric {
	const char	*family;	/* /metrics/detailed?family= */
	const char	*name;		/* after the rabbitmq_ prefix */
	const char	*type;
	const char	*help;
	enum scope	 scope;
	value_fn	*value;
	const char	*labels;	/* fixed labels, or NULL */
	bool		 per_object_only; /* not in the aggregated output */
};

/* One scrape. */
struct ctx {
	struct broker	*b;
	struct buf	*out;
	bool		 labelled;	/* per object, not summed */
	bool		 detailed;	/* rabbitmq_detailed_ prefix */
	const char	*endpoint;	/* rabbitmq_identity_info's */
	const char	*vhost;		/* detailed: only this vhost; or NULL */
	regex_t		*queue_re;	/* detailed: only matching queues */
	bool		*full;		/* set when out ran out of room */
	/* Figures read once per scrape. */
	uint64_t	 rss, disk_free, open_fds, max_fds;
	uint64_t	 consumers, publishers, channels, connections, queues;
};

static void __attribute__((format(printf, 2, 3)))
out(const struct ctx *x, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (!buf_append(x->out, line, (size_t)n))
		*x->full = true;
}

/* spec: exposition format, label values escape \, " and newline. */
static void
label_value(const struct ctx *x, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\\' || c == '"')
			out(x, "\\%c", c);
		else if (c == '\n')
			out(x, "\\n");
		else if (!buf_append(x->out, &c, 1))
			*x->full = true;
	}
}

static void
number(const struct ctx *x, double v)
{
	/* In range first: converting a larger double is undefined. */
	if (v < 9e15 && v > -9e15 && v == (double)(int64_t)v)
		out(x, " %lld\n", (long long)v);
	else
		out(x, " %.17g\n", v);
}

/* ---- values ------------------------------------------------------------ */

#define Q(o)	((const struct queue *)(o))
#define CH(o)	((const struct chan *)(o))
#define C(o)	((const struct conn *)(o))
#define EX(o)	((const struct exchange *)(o))
#define GS(x)	(&(x)->b->stats)

static double v_q_ready(const struct ctx *x, const void *o)
{ return (double)queue_ready(Q(o)); }
static double v_q_unacked(const struct ctx *x, const void *o)
{ return (double)Q(o)->unacked; }
static double v_q_messages(const struct ctx *x, const void *o)
{ return (double)(queue_ready(Q(o)) + Q(o)->unacked); }
static double v_q_consumers(const struct ctx *x, const void *o)
{ return (double)Q(o)->nconsumers; }
static double v_ex_published(const struct ctx *x, const void *o)
{ return (double)EX(o)->stats.v[STAT_PUBLISH_IN]; }

static double
ch_consumers(const struct chan *ch)
{
	double n = 0;

	for (const struct consumer *cs = ch->consumer_list; cs != NULL;
	    cs = cs->cnext)
		n++;
	return n;
}
static double v_ch_consumers(const struct ctx *x, const void *o)
{ return ch_consumers(CH(o)); }
static double v_ch_unacked(const struct ctx *x, const void *o)
{ return (double)CH(o)->unacked_count; }
static double v_ch_unconfirmed(const struct ctx *x, const void *o)
{ return (double)(CH(o)->pub_seq - CH(o)->confirmed); }
static double v_ch_prefetch(const struct ctx *x, const void *o)
{ return (double)CH(o)->prefetch_channel; }
#define CHSTAT(fn, s) \
static double fn(const struct ctx *x, const void *o) \
{ return (double)CH(o)->stats.v[s]; }
CHSTAT(v_ch_published, STAT_PUBLISH)
CHSTAT(v_ch_confirmed, STAT_CONFIRM)
CHSTAT(v_ch_returned, STAT_RETURN_UNROUTABLE)
CHSTAT(v_ch_dropped, STAT_DROP_UNROUTABLE)
CHSTAT(v_ch_get_ack, STAT_GET)
CHSTAT(v_ch_get, STAT_GET_NO_ACK)
CHSTAT(v_ch_deliver_ack, STAT_DELIVER)
CHSTAT(v_ch_deliver, STAT_DELIVER_NO_ACK)
CHSTAT(v_ch_redelivered, STAT_REDELIVER)
CHSTAT(v_ch_acked, STAT_ACK)
CHSTAT(v_ch_get_empty, STAT_GET_EMPTY)

/* Routed into queues: the channel's pairs and what did not fit them. */
static double v_ch_qx_published(const struct ctx *x, const void *o)
{
	double n = (double)CH(o)->objs.qx_other;

	for (size_t i = 0; i < STATS_CHAN_OBJS; i++)
		if (CH(o)->objs.qx[i].q != NULL &&
		    !Q(CH(o)->objs.qx[i].q)->deleted)
			n += (double)CH(o)->objs.qx[i].published;
	return n;
}

static double v_c_in(const struct ctx *x, const void *o)
{ return (double)C(o)->io.recv_oct; }
static double v_c_out(const struct ctx *x, const void *o)
{ return (double)C(o)->io.sent_oct; }
static double v_c_in_pk(const struct ctx *x, const void *o)
{ return (double)C(o)->io.recv_cnt; }
static double v_c_out_pk(const struct ctx *x, const void *o)
{ return (double)C(o)->io.sent_cnt; }
static double v_c_channels(const struct ctx *x, const void *o)
{ return (double)C(o)->nchans; }

/*
 * The channel event each per-object family reads from a channel's
 * exchange or queue slots (server/stats.h, struct stats_chan_objs).
 */
static const struct {
	value_fn	*fn;
	enum msg_stat	 s;
} obj_stats[] = {
	{ v_ch_published, STAT_PUBLISH },
	{ v_ch_confirmed, STAT_CONFIRM },
	{ v_ch_returned, STAT_RETURN_UNROUTABLE },
	{ v_ch_dropped, STAT_DROP_UNROUTABLE },
	{ v_ch_get_ack, STAT_GET },
	{ v_ch_get, STAT_GET_NO_ACK },
	{ v_ch_deliver_ack, STAT_DELIVER },
	{ v_ch_deliver, STAT_DELIVER_NO_ACK },
	{ v_ch_redelivered, STAT_REDELIVER },
	{ v_ch_acked, STAT_ACK },
	{ v_ch_get_empty, STAT_GET_EMPTY },
};

static int
obj_index(value_fn *fn)
{
	for (size_t i = 0; i < sizeof(obj_stats) / sizeof(obj_stats[0]); i++)
		if (obj_stats[i].fn == fn)
			return stats_obj_index(obj_stats[i].s);
	return -1;
}

#define CHURN(fn, k) \
static double fn(const struct ctx *x, const void *o) \
{ uint64_t v[CHURN_N]; stats_churn(x->b, v); return (double)v[k]; }
CHURN(v_conn_opened, CHURN_CONNECTION_CREATED)
CHURN(v_conn_closed, CHURN_CONNECTION_CLOSED)
CHURN(v_chan_opened, CHURN_CHANNEL_CREATED)
CHURN(v_chan_closed, CHURN_CHANNEL_CLOSED)
CHURN(v_q_declared, CHURN_QUEUE_DECLARED)
CHURN(v_q_created, CHURN_QUEUE_CREATED)
CHURN(v_q_deleted, CHURN_QUEUE_DELETED)

#define GLOBAL(fn, s) \
static double fn(const struct ctx *x, const void *o) \
{ return (double)GS(x)->msg.v[s]; }
GLOBAL(v_g_received, STAT_PUBLISH)
GLOBAL(v_g_received_confirm, STAT_RECEIVED_CONFIRM)
GLOBAL(v_g_routed, STAT_ROUTED)
GLOBAL(v_g_confirmed, STAT_CONFIRM)
GLOBAL(v_g_dropped, STAT_DROP_UNROUTABLE)
GLOBAL(v_g_returned, STAT_RETURN_UNROUTABLE)
GLOBAL(v_g_manual, STAT_DELIVER)
GLOBAL(v_g_auto, STAT_DELIVER_NO_ACK)
GLOBAL(v_g_get_manual, STAT_GET)
GLOBAL(v_g_get_auto, STAT_GET_NO_ACK)
GLOBAL(v_g_get_empty, STAT_GET_EMPTY)
GLOBAL(v_g_redelivered, STAT_REDELIVER)
GLOBAL(v_g_acked, STAT_ACK)
static double v_g_delivered(const struct ctx *x, const void *o)
{
	const uint64_t *v = GS(x)->msg.v;

	return (double)(v[STAT_DELIVER] + v[STAT_DELIVER_NO_ACK] +
	    v[STAT_GET] + v[STAT_GET_NO_ACK]);
}
static double v_g_consumers(const struct ctx *x, const void *o)
{ return (double)x->consumers; }
static double v_g_publishers(const struct ctx *x, const void *o)
{ return (double)x->publishers; }
static double v_connections(const struct ctx *x, const void *o)
{ return (double)x->connections; }
static double v_channels(const struct ctx *x, const void *o)
{ return (double)x->channels; }
static double v_queues(const struct ctx *x, const void *o)
{ return (double)x->queues; }

static double v_rss(const struct ctx *x, const void *o)
{ return (double)x->rss; }
static double v_mem_limit(const struct ctx *x, const void *o)
{ return (double)x->b->memory_limit; }
static double v_disk(const struct ctx *x, const void *o)
{ return (double)x->disk_free; }
static double v_disk_limit(const struct ctx *x, const void *o)
{ return (double)x->b->cfg.disk_free_limit; }
static double v_fds(const struct ctx *x, const void *o)
{ return (double)x->open_fds; }
static double v_max_fds(const struct ctx *x, const void *o)
{ return (double)x->max_fds; }
static double v_alarm_mem(const struct ctx *x, const void *o)
{ return (x->b->alarms & ALARM_MEMORY) ? 1 : 0; }
static double v_alarm_disk(const struct ctx *x, const void *o)
{ return (x->b->alarms & ALARM_DISK) ? 1 : 0; }
static double v_zero(const struct ctx *x, const void *o)
{ return 0; }
static double v_uptime(const struct ctx *x, const void *o)
{ return ev_now(x->b->loop) - GS(x)->started; }
static double v_auth_amqp(const struct ctx *x, const void *o)
{ return (double)(GS(x)->auth_ok[0] + GS(x)->auth_failed[0]); }
static double v_auth_http(const struct ctx *x, const void *o)
{ return (double)(GS(x)->auth_ok[1] + GS(x)->auth_failed[1]); }
static double v_auth_ok_amqp(const struct ctx *x, const void *o)
{ return (double)GS(x)->auth_ok[0]; }
static double v_auth_ok_http(const struct ctx *x, const void *o)
{ return (double)GS(x)->auth_ok[1]; }
static double v_auth_bad_amqp(const struct ctx *x, const void *o)
{ return (double)GS(x)->auth_failed[0]; }
static double v_auth_bad_http(const struct ctx *x, const void *o)
{ return (double)GS(x)->auth_failed[1]; }

#define AMQP	"protocol=\"amqp091\""
#define HTTP	"protocol=\"http\""
#define CLASSIC	"protocol=\"amqp091\",queue_type=\"rabbit_classic_queue\""

/*
 * compat: RabbitMQ 3.10's names, help texts and detailed families
 * (prometheus_rabbitmq_core_metrics_collector.erl,
 * rabbit_global_counters.erl), in its order.
 */
static const struct metric metrics[] = {
	{ "node_metrics", "alarms_file_descriptor_limit", "gauge",
	    "is 1 if file descriptor limit alarm is in effect", S_GLOBAL,
	    v_zero, NULL, false },
	{ "node_metrics", "alarms_free_disk_space_watermark", "gauge",
	    "is 1 if free disk space watermark alarm is in effect", S_GLOBAL,
	    v_alarm_disk, NULL, false },
	{ "node_metrics", "alarms_memory_used_watermark", "gauge",
	    "is 1 if VM memory watermark alarm is in effect", S_GLOBAL,
	    v_alarm_mem, NULL, false },
	{ "connection_churn_metrics", "connections_opened_total", "counter",
	    "Total number of connections opened", S_GLOBAL, v_conn_opened,
	    NULL, false },
	{ "connection_churn_metrics", "connections_closed_total", "counter",
	    "Total number of connections closed or terminated", S_GLOBAL,
	    v_conn_closed, NULL, false },
	{ "connection_churn_metrics", "channels_opened_total", "counter",
	    "Total number of channels opened", S_GLOBAL, v_chan_opened, NULL,
	    false },
	{ "connection_churn_metrics", "channels_closed_total", "counter",
	    "Total number of channels closed", S_GLOBAL, v_chan_closed, NULL,
	    false },
	{ "connection_churn_metrics", "queues_declared_total", "counter",
	    "Total number of queues declared", S_GLOBAL, v_q_declared, NULL,
	    false },
	{ "connection_churn_metrics", "queues_created_total", "counter",
	    "Total number of queues created", S_GLOBAL, v_q_created, NULL,
	    false },
	{ "connection_churn_metrics", "queues_deleted_total", "counter",
	    "Total number of queues deleted", S_GLOBAL, v_q_deleted, NULL,
	    false },
	{ "node_coarse_metrics", "process_open_fds", "gauge",
	    "Open file descriptors", S_GLOBAL, v_fds, NULL, false },
	{ "node_coarse_metrics", "process_resident_memory_bytes", "gauge",
	    "Memory used in bytes", S_GLOBAL, v_rss, NULL, false },
	{ "node_coarse_metrics", "disk_space_available_bytes", "gauge",
	    "Disk space available in bytes", S_GLOBAL, v_disk, NULL, false },
	{ "node_metrics", "process_max_fds", "gauge",
	    "Open file descriptors limit", S_GLOBAL, v_max_fds, NULL, false },
	{ "node_metrics", "resident_memory_limit_bytes", "gauge",
	    "Memory high watermark in bytes", S_GLOBAL, v_mem_limit, NULL,
	    false },
	{ "node_metrics", "disk_space_available_limit_bytes", "gauge",
	    "Free disk space low watermark in bytes", S_GLOBAL, v_disk_limit,
	    NULL, false },
	{ "node_metrics", "erlang_uptime_seconds", "gauge",
	    "Node uptime", S_GLOBAL, v_uptime, NULL, false },
	{ "auth_attempt_metrics", "auth_attempts_total", "counter",
	    "Total number of authorization attempts", S_GLOBAL, v_auth_amqp,
	    AMQP, false },
	{ "auth_attempt_metrics", "auth_attempts_total", "counter", NULL,
	    S_GLOBAL, v_auth_http, HTTP, false },
	{ "auth_attempt_metrics", "auth_attempts_succeeded_total", "counter",
	    "Total number of successful authentication attempts", S_GLOBAL,
	    v_auth_ok_amqp, AMQP, false },
	{ "auth_attempt_metrics", "auth_attempts_succeeded_total", "counter",
	    NULL, S_GLOBAL, v_auth_ok_http, HTTP, false },
	{ "auth_attempt_metrics", "auth_attempts_failed_total", "counter",
	    "Total number of failed authentication attempts", S_GLOBAL,
	    v_auth_bad_amqp, AMQP, false },
	{ "auth_attempt_metrics", "auth_attempts_failed_total", "counter",
	    NULL, S_GLOBAL, v_auth_bad_http, HTTP, false },
	{ "queue_coarse_metrics", "queue_messages_ready", "gauge",
	    "Messages ready to be delivered to consumers", S_QUEUE,
	    v_q_ready, NULL, false },
	{ "queue_coarse_metrics", "queue_messages_unacked", "gauge",
	    "Messages delivered to consumers but not yet acknowledged",
	    S_QUEUE, v_q_unacked, NULL, false },
	{ "queue_coarse_metrics", "queue_messages", "gauge",
	    "Sum of ready and unacknowledged messages - total queue depth",
	    S_QUEUE, v_q_messages, NULL, false },
	{ "queue_consumer_count", "queue_consumers", "gauge",
	    "Consumers on a queue", S_QUEUE, v_q_consumers, NULL, false },
	{ "channel_metrics", "channel_consumers", "gauge",
	    "Consumers on a channel", S_CHANNEL, v_ch_consumers, NULL, false },
	{ "channel_metrics", "channel_messages_unacked", "gauge",
	    "Delivered but not yet acknowledged messages", S_CHANNEL,
	    v_ch_unacked, NULL, false },
	{ "channel_metrics", "channel_messages_unconfirmed", "gauge",
	    "Published but not yet confirmed messages", S_CHANNEL,
	    v_ch_unconfirmed, NULL, false },
	{ "channel_metrics", "channel_prefetch", "gauge",
	    "Total limit of unacknowledged messages for all consumers on a "
	    "channel", S_CHANNEL, v_ch_prefetch, NULL, false },
	{ "channel_exchange_metrics", "channel_messages_published_total",
	    "counter", "Total number of messages published into an exchange "
	    "on a channel", S_CHAN_EX, v_ch_published, NULL, false },
	{ "channel_exchange_metrics", "channel_messages_confirmed_total",
	    "counter", "Total number of messages published into an exchange "
	    "and confirmed on the channel", S_CHAN_EX, v_ch_confirmed, NULL,
	    false },
	{ "channel_exchange_metrics",
	    "channel_messages_unroutable_returned_total", "counter",
	    "Total number of messages published as mandatory into an exchange "
	    "and returned to the publisher as unroutable", S_CHAN_EX,
	    v_ch_returned, NULL, false },
	{ "channel_exchange_metrics",
	    "channel_messages_unroutable_dropped_total", "counter",
	    "Total number of messages published as non-mandatory into an "
	    "exchange and dropped as unroutable", S_CHAN_EX, v_ch_dropped,
	    NULL, false },
	{ "channel_queue_metrics", "channel_get_ack_total", "counter",
	    "Total number of messages fetched with basic.get in manual "
	    "acknowledgement mode", S_CHAN_Q, v_ch_get_ack, NULL, false },
	{ "channel_queue_metrics", "channel_get_total", "counter",
	    "Total number of messages fetched with basic.get in automatic "
	    "acknowledgement mode", S_CHAN_Q, v_ch_get, NULL, false },
	{ "channel_queue_metrics", "channel_messages_delivered_ack_total",
	    "counter", "Total number of messages delivered to consumers in "
	    "manual acknowledgement mode", S_CHAN_Q, v_ch_deliver_ack, NULL,
	    false },
	{ "channel_queue_metrics", "channel_messages_delivered_total",
	    "counter", "Total number of messages delivered to consumers in "
	    "automatic acknowledgement mode", S_CHAN_Q, v_ch_deliver, NULL,
	    false },
	{ "channel_queue_metrics", "channel_messages_redelivered_total",
	    "counter", "Total number of messages redelivered to consumers",
	    S_CHAN_Q, v_ch_redelivered, NULL, false },
	{ "channel_queue_metrics", "channel_messages_acked_total", "counter",
	    "Total number of messages acknowledged by consumers", S_CHAN_Q,
	    v_ch_acked, NULL, false },
	{ "channel_queue_metrics", "channel_get_empty_total", "counter",
	    "Total number of times basic.get operations fetched no message",
	    S_CHAN_Q, v_ch_get_empty, NULL, false },
	{ "connection_coarse_metrics", "connection_incoming_bytes_total",
	    "counter", "Total number of bytes received on a connection",
	    S_CONN, v_c_in, NULL, false },
	{ "connection_coarse_metrics", "connection_outgoing_bytes_total",
	    "counter", "Total number of bytes sent on a connection", S_CONN,
	    v_c_out, NULL, false },
	{ "connection_metrics", "connection_incoming_packets_total",
	    "counter", "Total number of packets received on a connection",
	    S_CONN, v_c_in_pk, NULL, false },
	{ "connection_metrics", "connection_outgoing_packets_total",
	    "counter", "Total number of packets sent on a connection", S_CONN,
	    v_c_out_pk, NULL, false },
	{ "connection_metrics", "connection_channels", "gauge",
	    "Channels on a connection", S_CONN, v_c_channels, NULL, false },
	{ "channel_queue_exchange_metrics", "queue_messages_published_total",
	    "counter", "Total number of messages published to queues",
	    S_CHAN_QX, v_ch_qx_published, NULL, false },
	{ "exchange_metrics", "exchange_messages_published_total", "counter",
	    "Total number of messages published into an exchange",
	    S_EXCHANGE, v_ex_published, NULL, true },
	{ "node_totals", "connections", "gauge", "Connections currently open",
	    S_GLOBAL, v_connections, NULL, false },
	{ "node_totals", "channels", "gauge", "Channels currently open",
	    S_GLOBAL, v_channels, NULL, false },
	{ "node_totals", "consumers", "gauge", "Consumers currently connected",
	    S_GLOBAL, v_g_consumers, NULL, false },
	{ "node_totals", "queues", "gauge", "Queues available", S_GLOBAL,
	    v_queues, NULL, false },
	{ "global", "global_consumers", "gauge",
	    "Current number of consumers", S_GLOBAL, v_g_consumers, AMQP,
	    false },
	{ "global", "global_publishers", "gauge",
	    "Current number of publishers", S_GLOBAL, v_g_publishers, AMQP,
	    false },
	{ "global", "global_messages_received_total", "counter",
	    "Total number of messages received from publishers", S_GLOBAL,
	    v_g_received, AMQP, false },
	{ "global", "global_messages_received_confirm_total", "counter",
	    "Total number of messages received from publishers expecting "
	    "confirmations", S_GLOBAL, v_g_received_confirm, AMQP, false },
	{ "global", "global_messages_routed_total", "counter",
	    "Total number of messages routed to queues or streams", S_GLOBAL,
	    v_g_routed, AMQP, false },
	{ "global", "global_messages_unroutable_dropped_total", "counter",
	    "Total number of messages published as non-mandatory into an "
	    "exchange and dropped as unroutable", S_GLOBAL, v_g_dropped, AMQP,
	    false },
	{ "global", "global_messages_unroutable_returned_total", "counter",
	    "Total number of messages published as mandatory into an exchange "
	    "and returned to the publisher as unroutable", S_GLOBAL,
	    v_g_returned, AMQP, false },
	{ "global", "global_messages_confirmed_total", "counter",
	    "Total number of messages confirmed to publishers", S_GLOBAL,
	    v_g_confirmed, AMQP, false },
	{ "global", "global_messages_delivered_total", "counter",
	    "Total number of messages delivered to consumers", S_GLOBAL,
	    v_g_delivered, CLASSIC, false },
	{ "global", "global_messages_delivered_consume_manual_ack_total",
	    "counter", "Total number of messages delivered to consumers using "
	    "basic.consume with manual acknowledgment", S_GLOBAL, v_g_manual,
	    CLASSIC, false },
	{ "global", "global_messages_delivered_consume_auto_ack_total",
	    "counter", "Total number of messages delivered to consumers using "
	    "basic.consume with automatic acknowledgment", S_GLOBAL, v_g_auto,
	    CLASSIC, false },
	{ "global", "global_messages_delivered_get_manual_ack_total",
	    "counter", "Total number of messages delivered to consumers using "
	    "basic.get with manual acknowledgment", S_GLOBAL, v_g_get_manual,
	    CLASSIC, false },
	{ "global", "global_messages_delivered_get_auto_ack_total", "counter",
	    "Total number of messages delivered to consumers using basic.get "
	    "with automatic acknowledgment", S_GLOBAL, v_g_get_auto, CLASSIC,
	    false },
	{ "global", "global_messages_get_empty_total", "counter",
	    "Total number of times basic.get operations fetched no message",
	    S_GLOBAL, v_g_get_empty, CLASSIC, false },
	{ "global", "global_messages_redelivered_total", "counter",
	    "Total number of messages redelivered to consumers", S_GLOBAL,
	    v_g_redelivered, CLASSIC, false },
	{ "global", "global_messages_acknowledged_total", "counter",
	    "Total number of messages acknowledged by consumers", S_GLOBAL,
	    v_g_acked, CLASSIC, false },
};

/* ---- writing ----------------------------------------------------------- */

static void
header(const struct ctx *x, const char *prefix, const char *name,
    const char *type, const char *help)
{
	out(x, "# TYPE %s%s %s\n", prefix, name, type);
	out(x, "# HELP %s%s %s\n", prefix, name, help);
}

static void
sample(const struct ctx *x, const char *prefix, const char *name,
    const char *k1, const char *v1, size_t l1, const char *k2,
    const char *v2, size_t l2, const char *fixed, double v)
{
	out(x, "%s%s", prefix, name);
	if (k1 != NULL || fixed != NULL) {
		out(x, "{");
		if (k1 != NULL) {
			out(x, "%s=\"", k1);
			label_value(x, v1, l1);
			out(x, "\"");
		}
		if (k2 != NULL) {
			out(x, ",%s=\"", k2);
			label_value(x, v2, l2);
			out(x, "\"");
		}
		if (fixed != NULL)
			out(x, "%s%s", k1 != NULL ? "," : "", fixed);
		out(x, "}");
	}
	number(x, v);
}

static bool
vhost_wanted(const struct ctx *x, const struct vhost *vh)
{
	return x->vhost == NULL || strcmp(x->vhost, vh->name) == 0;
}

static bool
queue_wanted(const struct ctx *x, const struct queue *q)
{
	if (!vhost_wanted(x, q->vh))
		return false;
	return x->queue_re == NULL || regexec(x->queue_re, q->name, 0, NULL,
	    0) == 0;
}

/* A channel's label: "peer -> local (n)", as RabbitMQ names channels. */
static size_t
chan_label(const struct chan *ch, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s (%u)", ch->c->name, (unsigned)ch->id);

	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

/* A channel's lines per exchange (S_CHAN_EX) or per queue (S_CHAN_Q). */
static void
chan_objs(const struct ctx *x, const struct metric *m, const char *prefix,
    const struct chan *ch, const char *label, size_t label_len)
{
	const struct stats_obj *slots = m->scope == S_CHAN_EX ?
	    ch->objs.ex : ch->objs.q;
	int k = obj_index(m->value);

	if (k < 0)
		return;
	for (size_t i = 0; i < STATS_CHAN_OBJS; i++) {
		const struct vhost *vh;
		const char *name;
		size_t len;

		if (slots[i].obj == NULL)
			continue;
		if (m->scope == S_CHAN_EX) {
			vh = EX(slots[i].obj)->vh;
			name = EX(slots[i].obj)->name;
			len = EX(slots[i].obj)->name_len;
			if (!vhost_wanted(x, vh))
				continue;
		} else {
			if (Q(slots[i].obj)->deleted ||
			    !queue_wanted(x, Q(slots[i].obj)))
				continue;
			vh = Q(slots[i].obj)->vh;
			name = Q(slots[i].obj)->name;
			len = Q(slots[i].obj)->name_len;
		}
		out(x, "%s%s{channel=\"", prefix, m->name);
		label_value(x, label, label_len);
		out(x, "\",vhost=\"");
		label_value(x, vh->name, strlen(vh->name));
		out(x, "\",%s=\"", m->scope == S_CHAN_EX ? "exchange" : "queue");
		label_value(x, name, len);
		out(x, "\"}");
		number(x, (double)slots[i].v[k]);
	}
}

/* A channel's lines per (queue, exchange) pair (S_CHAN_QX). */
static void
chan_pairs(const struct ctx *x, const struct metric *m, const char *prefix,
    const struct chan *ch, const char *label, size_t label_len)
{
	for (size_t i = 0; i < STATS_CHAN_OBJS; i++) {
		const struct stats_pair *p = &ch->objs.qx[i];

		if (p->q == NULL || Q(p->q)->deleted ||
		    !queue_wanted(x, Q(p->q)))
			continue;
		out(x, "%s%s{channel=\"", prefix, m->name);
		label_value(x, label, label_len);
		out(x, "\",queue_vhost=\"");
		label_value(x, Q(p->q)->vh->name, strlen(Q(p->q)->vh->name));
		out(x, "\",queue=\"");
		label_value(x, Q(p->q)->name, Q(p->q)->name_len);
		out(x, "\",exchange_vhost=\"");
		label_value(x, EX(p->ex)->vh->name,
		    strlen(EX(p->ex)->vh->name));
		out(x, "\",exchange=\"");
		label_value(x, EX(p->ex)->name, EX(p->ex)->name_len);
		out(x, "\"}");
		number(x, (double)p->published);
	}
}

/* One family: summed (or global), or a line per object. */
static void
family(const struct ctx *x, const struct metric *m, const char *prefix)
{
	const struct broker *b = x->b;
	double sum = 0;
	void *p;

	if (m->scope == S_GLOBAL) {
		sample(x, prefix, m->name, NULL, NULL, 0, NULL, NULL, 0,
		    m->labels, m->value(x, NULL));
		return;
	}
	if (m->scope == S_QUEUE || m->scope == S_EXCHANGE) {
		for (size_t i = 0; hmap_next(&b->vhosts, &i, &p);) {
			const struct vhost *vh = p;
			const struct hmap *h = m->scope == S_QUEUE ?
			    &vh->queues : &vh->exchanges;

			if (!vhost_wanted(x, vh))
				continue;
			for (size_t k = 0; hmap_next(h, &k, &p);) {
				const char *name;
				size_t len;

				if (m->scope == S_QUEUE) {
					if (!queue_wanted(x, p))
						continue;
					name = Q(p)->name;
					len = Q(p)->name_len;
				} else {
					name = EX(p)->name;
					len = EX(p)->name_len;
				}
				if (!x->labelled) {
					sum += m->value(x, p);
					continue;
				}
				sample(x, prefix, m->name, "vhost", vh->name,
				    strlen(vh->name), m->scope == S_QUEUE ?
				    "queue" : "exchange", name, len, NULL,
				    m->value(x, p));
			}
		}
	} else {
		for (const struct conn *c = b->conns; c != NULL; c = c->next) {
			char label[160];

			if (!c->opened || c->state == CONN_DEAD)
				continue;
			if (x->vhost != NULL && (c->vh == NULL ||
			    strcmp(c->vh->name, x->vhost) != 0))
				continue;
			if (m->scope == S_CONN) {
				if (!x->labelled)
					sum += m->value(x, c);
				else
					sample(x, prefix, m->name, "channel",
					    c->name, strlen(c->name), NULL,
					    NULL, 0, NULL, m->value(x, c));
				continue;
			}
			for (uint32_t i = 0; i < c->chans_cap; i++) {
				const struct chan *ch = c->chans[i];

				if (ch == NULL)
					continue;
				if (!x->labelled) {
					sum += m->value(x, ch);
					continue;
				}
				if (m->scope == S_CHAN_EX ||
				    m->scope == S_CHAN_Q) {
					/* Not after vhost_gone: its objects are. */
					if (c->vh != NULL)
						chan_objs(x, m, prefix, ch, label,
						    chan_label(ch, label,
						    sizeof(label)));
					continue;
				}
				if (m->scope == S_CHAN_QX) {
					if (c->vh != NULL)
						chan_pairs(x, m, prefix, ch,
						    label, chan_label(ch, label,
						    sizeof(label)));
					continue;
				}
				sample(x, prefix, m->name, "channel", label,
				    chan_label(ch, label, sizeof(label)), NULL,
				    NULL, 0, NULL, m->value(x, ch));
			}
		}
	}
	if (!x->labelled)
		sample(x, prefix, m->name, NULL, NULL, 0, NULL, NULL, 0, NULL,
		    sum);
}

/*
 * compat: bounds as RabbitMQ's Erlang client writes them, whole numbers
 * with ".0" (the Grafana dashboards select le="100.0"); labels, if any,
 * go before le.
 */
static void
histogram(const struct ctx *x, const char *name, const char *help,
    const char *labels, const struct stats_histogram *h)
{
	const char *sep = labels != NULL ? "," : "";
	uint64_t cum = 0;

	if (labels == NULL)
		labels = "";
	header(x, "", name, "histogram", help);
	for (size_t i = 0; i < h->nbounds; i++) {
		double v = h->bounds[i];

		cum += h->bucket[i];
		if (v < 1e15 && v == (double)(int64_t)v)
			out(x, "%s_bucket{%s%sle=\"%.1f\"} %llu\n", name,
			    labels, sep, v, (unsigned long long)cum);
		else
			out(x, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels,
			    sep, v, (unsigned long long)cum);
	}
	out(x, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
	    (unsigned long long)h->count);
	if (labels[0] != '\0') {
		out(x, "%s_sum{%s} %.17g\n", name, labels, h->sum);
		out(x, "%s_count{%s} %llu\n", name, labels,
		    (unsigned long long)h->count);
	} else {
		out(x, "%s_sum %.9g\n", name, h->sum);
		out(x, "%s_count %llu\n", name, (unsigned long long)h->count);
	}
}

static void
identity(const struct ctx *x)
{
	header(x, "rabbitmq_", "build_info", "untyped",
	    "RabbitMQ & Erlang/OTP version info");
	out(x, "rabbitmq_build_info{rabbitmq_version=\"%s\","
	    "prometheus_plugin_version=\"%s\",product_name=\"warren\","
	    "product_version=\"%s\"} 1\n", PACKAGE_VERSION, PACKAGE_VERSION,
	    PACKAGE_VERSION);
	/*
	 * compat: the node as the management API names it; the cluster's
	 * name (PUT /api/cluster-name) is also its permanent id, warren
	 * having no cluster to outlive a rename.
	 */
	header(x, "rabbitmq_", "identity_info", "untyped",
	    "RabbitMQ node & cluster identity info");
	out(x, "rabbitmq_identity_info{rabbitmq_node=\"");
	label_value(x, x->b->node_name, strlen(x->b->node_name));
	out(x, "\",rabbitmq_cluster=\"");
	label_value(x, x->b->cluster_name, strlen(x->b->cluster_name));
	out(x, "\",rabbitmq_cluster_permanent_id=\"");
	label_value(x, x->b->cluster_name, strlen(x->b->cluster_name));
	out(x, "\",rabbitmq_endpoint=\"%s\"} 1\n", x->endpoint);
}

/* The process figures, read once per scrape. */
static void
measure(struct ctx *x)
{
	const struct broker *b = x->b;
	struct statvfs sv;
	struct rlimit rl;
	unsigned long size, resident;
	struct dirent *de;
	FILE *f;
	DIR *d;
	void *p;

	if ((f = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(f, "%lu %lu", &size, &resident) == 2)
			x->rss = (uint64_t)resident *
			    (uint64_t)sysconf(_SC_PAGESIZE);
		fclose(f);
	}
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				x->open_fds++;
		closedir(d);
		x->open_fds--;	/* the one opendir holds */
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		x->max_fds = rl.rlim_cur == RLIM_INFINITY ? 0 : rl.rlim_cur;
	if (statvfs(b->cfg.data_dir, &sv) == 0)
		x->disk_free = (uint64_t)sv.f_bavail * sv.f_frsize;
	for (size_t i = 0; hmap_next(&b->vhosts, &i, &p);) {
		const struct vhost *vh = p;

		x->queues += vh->queues.count;
		for (size_t k = 0; hmap_next(&vh->queues, &k, &p);)
			x->consumers += Q(p)->nconsumers;
	}
	for (const struct conn *c = b->conns; c != NULL; c = c->next) {
		if (!c->opened || c->state == CONN_DEAD)
			continue;
		x->connections++;
		x->channels += c->nchans;
		/* A publisher: a channel that has published. */
		for (uint32_t i = 0; i < c->chans_cap; i++)
			if (c->chans[i] != NULL &&
			    c->chans[i]->stats.v[STAT_PUBLISH] > 0)
				x->publishers++;
	}
}

static void
scrape(struct ctx *x)
{
	const char *last = "";

	measure(x);
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
		const struct metric *m = &metrics[i];

		if (m->per_object_only && !x->labelled)
			continue;
		if (strcmp(m->name, last) != 0)
			header(x, "rabbitmq_", m->name, m->type, m->help);
		last = m->name;
		family(x, m, "rabbitmq_");
	}
	identity(x);
	histogram(x, "rabbitmq_message_size_bytes",
	    "Size of messages received from publishers", AMQP,
	    &x->b->stats.msg_size);
	histogram(x, "warren_store_commit_seconds",
	    "Time a store group commit took", NULL,
	    &x->b->stats.commit_seconds);
	histogram(x, "warren_store_commit_batch_size",
	    "Store operations written by one group commit", NULL,
	    &x->b->stats.commit_batch);
}

/* ---- /metrics/detailed ------------------------------------------------- */

static void
cluster_families(const struct ctx *x, const char *fam)
{
	void *p;

	if (strcmp(fam, "vhost_status") == 0) {
		header(x, "rabbitmq_cluster_", "vhost_status", "gauge",
		    "Whether a given vhost is running");
		for (size_t i = 0; hmap_next(&x->b->vhosts, &i, &p);) {
			const struct vhost *vh = p;

			if (vhost_wanted(x, vh))
				sample(x, "rabbitmq_cluster_", "vhost_status",
				    "vhost", vh->name, strlen(vh->name), NULL,
				    NULL, 0, NULL, 1);
		}
		return;
	}
	if (strcmp(fam, "exchange_names") != 0 &&
	    strcmp(fam, "exchange_bindings") != 0)
		return;
	if (fam[9] == 'n')
		header(x, "rabbitmq_cluster_", "exchange_name", "gauge",
		    "Enumerates exchanges without any additional info. This "
		    "value is cluster-wide.");
	else
		header(x, "rabbitmq_cluster_", "exchange_bindings", "gauge",
		    "Number of bindings for an exchange. This value is "
		    "cluster-wide.");
	for (size_t i = 0; hmap_next(&x->b->vhosts, &i, &p);) {
		const struct vhost *vh = p;

		if (!vhost_wanted(x, vh))
			continue;
		for (size_t k = 0; hmap_next(&vh->exchanges, &k, &p);) {
			const struct exchange *ex = p;
			char fixed[64];

			snprintf(fixed, sizeof(fixed), "type=\"%s\"",
			    exchange_kind_name(ex->kind));
			sample(x, "rabbitmq_cluster_", fam[9] == 'n' ?
			    "exchange_name" : "exchange_bindings", "vhost",
			    vh->name, strlen(vh->name), "exchange", ex->name,
			    ex->name_len, fixed, fam[9] == 'n' ? 1 :
			    (double)ex->nbindings);
		}
	}
}

static void
detailed(struct ctx *x, const struct http_request *req)
{
	char fam[128];
	size_t pos = 0;
	int rc;

	measure(x);
	while ((rc = http_query_next(req, "family", &pos, fam, sizeof(fam),
	    NULL)) != 0) {
		const char *last = "";

		if (rc == -1)
			continue;	/* too long: no such family */
		cluster_families(x, fam);
		for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]);
		    i++) {
			const struct metric *m = &metrics[i];

			if (strcmp(m->family, fam) != 0)
				continue;
			if (strcmp(m->name, last) != 0)
				header(x, "rabbitmq_detailed_", m->name,
				    m->type, m->help);
			last = m->name;
			family(x, m, "rabbitmq_detailed_");
		}
	}
	identity(x);
}

/* ---- /metrics/memory-breakdown ------------------------------------------ */

/* compat: RabbitMQ's node_memory family, one gauge per category. */
static void
memory_breakdown(const struct ctx *x)
{
	uint64_t m[MEM_N], rss;

	memory_measure(x->b, m, &rss);
	for (size_t k = 0; k < MEM_N; k++) {
		if (memory_metric[k] == NULL)
			continue;
		header(x, "rabbitmq_", memory_metric[k], "gauge",
		    memory_metric_help[k]);
		sample(x, "rabbitmq_", memory_metric[k], NULL, NULL, 0, NULL,
		    NULL, 0, NULL, (double)m[k]);
	}
	identity(x);
}

/* ---- requests ---------------------------------------------------------- */

bool
prometheus_path(const struct http_request *req)
{
	return req->nseg >= 1 && !req->too_many_segments &&
	    proto_str_eqc(req->seg[0], "metrics");
}

static void
plain(struct http_response *resp, int status, const char *text)
{
	http_response_reset(resp);
	resp->status = status;
	resp->content_type = "text/plain";
	buf_append(&resp->body, text, strlen(text));
}

bool
prometheus_check_head(struct broker *b, const struct http_request *req,
    struct http_response *resp)
{
	if (req->content_length == 0)
		return true;
	plain(resp, 413, "metrics paths take no request body\n");
	resp->close = true;
	return false;
}

void
prometheus_handle(struct broker *b, const struct http_request *req,
    struct http_response *resp)
{
	bool full = false;
	struct ctx x = { .b = b, .out = &resp->body, .full = &full };
	char vhost[1024], re[1024];
	regex_t rx;
	int rc;

	if (!prometheus_check_head(b, req, resp))
		return;
	if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
		http_response_reset(resp);
		resp->status = 405;
		snprintf(resp->allow, sizeof(resp->allow), "HEAD, GET");
		return;
	}
	http_response_reset(resp);
	resp->status = 200;
	resp->content_type = CONTENT_TYPE;
	if (req->nseg == 1) {
		x.endpoint = "aggregated";
		scrape(&x);
	} else if (req->nseg == 2 && proto_str_eqc(req->seg[1],
	    "per-object")) {
		x.endpoint = "per-object";
		x.labelled = true;
		scrape(&x);
	} else if (req->nseg == 2 && proto_str_eqc(req->seg[1],
	    "detailed")) {
		x.endpoint = "detailed";
		x.labelled = true;
		x.detailed = true;
		if (http_query_param(req, "vhost", vhost, sizeof(vhost),
		    NULL) == 1)
			x.vhost = vhost;
		if ((rc = http_query_param(req, "queue", re, sizeof(re),
		    NULL)) == -1 || (rc == 1 && regcomp(&rx, re,
		    REG_EXTENDED | REG_NOSUB) != 0)) {
			plain(resp, 400, "queue: not a valid regular "
			    "expression of at most 1023 bytes\n");
			return;
		}
		if (rc == 1)
			x.queue_re = &rx;
		detailed(&x, req);
		if (x.queue_re != NULL)
			regfree(&rx);
	} else if (req->nseg == 2 && proto_str_eqc(req->seg[1],
	    "memory-breakdown")) {
		x.endpoint = "memory-breakdown";
		memory_breakdown(&x);
	} else {
		plain(resp, 404, "Not Found\n");
		return;
	}
	if (full)
		plain(resp, 500, "metrics too large\n");
}

void
prometheus_serve(struct broker *b, const struct http_request *req,
    struct http_response *resp)
{
	if (prometheus_path(req))
		prometheus_handle(b, req, resp);
	else
		plain(resp, 404, "Not Found\n");
}

bool
prometheus_serve_head(struct broker *b, const struct http_request *req,
    struct http_response *resp)
{
	if (req->method == HTTP_OTHER) {
		plain(resp, 501, "Not Implemented\n");
		return false;
	}
	return prometheus_check_head(b, req, resp);
}
