#include "autoconf.h"

#include "admin/api_stats.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/api.h"
#include "admin/api_range.h"
#include "lib/hmap.h"
#include "lib/json.h"
#include "lib/xmalloc.h"
#include "server/auth.h"
#include "server/broker.h"
#include "server/chan.h"
#include "server/conn.h"
#include "server/exchange.h"
#include "server/queue.h"
#include "server/stats.h"
#include "server/vhost.h"

/*
 * "<key>_details" for value i of ring r: {"rate":R}, with the samples of
 * range kind when asked for (api_range.h). compat: RabbitMQ rounds rates
 * to one decimal.
 */
static void
rate(struct json_writer *w, const struct api_ctx *ctx,
    enum api_range_kind kind, const char *key, double r,
    const struct rate_ring *ring, size_t i)
{
	api_range_details1(w, ctx, kind, key, r, ring, i);
}

static void
count_rate(struct json_writer *w, const struct api_ctx *ctx,
    enum api_range_kind kind, const char *key, uint64_t n, double r,
    const struct rate_ring *ring, size_t i)
{
	json_w_keyc(w, key);
	json_w_uint(w, n);
	rate(w, ctx, kind, key, r, ring, i);
}

/*
 * Where the samples of message_stats come from: value ridx[k] of every
 * ring in rings (summed), for layout key k; ridx[k] < 0: none.
 */
struct msg_src {
	const struct rate_ring *const *rings;
	size_t		 nrings;
	const int	*ridx;
};

#define KEYS_MAX	16

/*
 * The members of message_stats from counts and rates in layout order;
 * deliver_get (deliveries and gets of both kinds) goes right after
 * deliver, where RabbitMQ's alphabetical order puts it. An exchange
 * shows only the keys that moved (compat: RabbitMQ 3.10 leaves out an
 * exchange's publish_out until something was routed from it).
 */
static void
series_rate(struct json_writer *w, const struct api_ctx *ctx,
    const char *key, uint64_t n, double r, const struct msg_src *src,
    const size_t *idx, size_t nidx)
{
	struct api_series s = { src->rings, src->nrings, idx, nidx };

	json_w_keyc(w, key);
	json_w_uint(w, n);
	api_range_details(w, ctx, RANGE_MSG_RATES, key, r, &s);
}

static void
members(struct json_writer *w, const struct api_ctx *ctx,
    const struct stats_layout *l, const uint64_t *n, const double *r,
    const struct msg_src *src)
{
	uint64_t dg = 0;
	double dgr = 0.0;
	bool sparse = l == &stats_exchange_layout;
	size_t dgi[4], ndg = 0;

	for (size_t i = 0; i < l->n; i++)
		switch (l->keys[i]) {
		case STAT_DELIVER:
		case STAT_DELIVER_NO_ACK:
		case STAT_GET:
		case STAT_GET_NO_ACK:
			dg += n[i];
			dgr += r[i];
			if (src->ridx[i] >= 0 && ndg < 4)
				dgi[ndg++] = (size_t)src->ridx[i];
			break;
		default:
			break;
		}
	for (size_t i = 0; i < l->n; i++) {
		size_t one = src->ridx[i] >= 0 ? (size_t)src->ridx[i] : 0;

		if (sparse && n[i] == 0)
			continue;
		series_rate(w, ctx, stats_name(l->keys[i]), n[i], r[i], src,
		    &one, src->ridx[i] >= 0 ? 1 : 0);
		if (l->keys[i] == STAT_DELIVER)
			series_rate(w, ctx, "deliver_get", dg, dgr, src, dgi,
			    ndg);
	}
}

static void
message_stats(struct json_writer *w, const struct api_ctx *ctx,
    const struct stats_layout *l, const uint64_t *n, const double *r,
    bool always, const struct msg_src *src)
{
	bool any = false;

	for (size_t i = 0; i < l->n; i++)
		any = any || n[i] != 0;
	if (!any && !always)
		return;
	json_w_keyc(w, "message_stats");
	json_w_begin_object(w);
	if (any)
		members(w, ctx, l, n, r, src);
	json_w_end_object(w);
}

/* Counts and rates of l's keys from c and ring r (first values). */
static void
gather(const struct stats_layout *l, const struct msg_counters *c,
    const struct rate_ring *r, uint64_t *n, double *rt)
{
	for (size_t i = 0; i < l->n; i++) {
		n[i] = c->v[l->keys[i]];
		rt[i] = rate_ring_rate(r, i);
	}
}

/* The first values of one ring, in layout order. */
static const int ring_order[KEYS_MAX] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
};

void
api_stats_message_stats(struct json_writer *w, const struct api_ctx *ctx,
    const struct stats_layout *l, const struct msg_counters *c,
    const struct rate_ring *r)
{
	const struct rate_ring *rings[1] = { r };
	struct msg_src src = { rings, r != NULL ? 1 : 0, ring_order };
	uint64_t n[KEYS_MAX];
	double rt[KEYS_MAX];

	if (!stats_active(c))
		return;
	gather(l, c, r, n, rt);
	message_stats(w, ctx, l, n, rt, false, &src);
}

void
api_stats_queue(struct json_writer *w, const struct api_ctx *ctx,
    const struct queue *q)
{
	api_stats_message_stats(w, ctx, &stats_queue_layout, &q->stats,
	    q->rates);
}

/*
 * Depths d with rates r; samples (lengths) from value off+k of every
 * ring in rings.
 */
static void
depth(struct json_writer *w, const struct api_ctx *ctx, const uint64_t *d,
    const double *r, bool details, const struct rate_ring *const *rings,
    size_t nrings, size_t off)
{
	static const char *const keys[DEPTH_N] = {
		[DEPTH_MESSAGES] = "messages",
		[DEPTH_READY] = "messages_ready",
		[DEPTH_UNACKED] = "messages_unacknowledged",
	};

	for (size_t k = 0; k < DEPTH_N; k++) {
		size_t i = off + k;
		struct api_series s = { rings, nrings, &i, 1 };

		json_w_keyc(w, keys[k]);
		json_w_uint(w, d[k]);
		if (details)
			api_range_details(w, ctx, RANGE_LENGTHS, keys[k], r[k],
			    &s);
	}
}

void
api_stats_queue_depth(struct json_writer *w, const struct api_ctx *ctx,
    const struct queue *q, bool details)
{
	size_t off = stats_queue_layout.n;
	const struct rate_ring *rings[1] = { q->rates };
	uint64_t d[DEPTH_N];
	double r[DEPTH_N];

	d[DEPTH_READY] = queue_ready(q);
	d[DEPTH_UNACKED] = q->unacked;
	d[DEPTH_MESSAGES] = d[DEPTH_READY] + d[DEPTH_UNACKED];
	for (size_t k = 0; k < DEPTH_N; k++)
		r[k] = rate_ring_rate(q->rates, off + k);
	depth(w, ctx, d, r, details, rings, q->rates != NULL ? 1 : 0, off);
}

void
api_stats_exchange(struct json_writer *w, const struct api_ctx *ctx,
    const struct exchange *ex)
{
	api_stats_message_stats(w, ctx, &stats_exchange_layout, &ex->stats,
	    ex->rates);
}

void
api_stats_channel(struct json_writer *w, const struct api_ctx *ctx,
    const struct chan *ch)
{
	api_stats_message_stats(w, ctx, &stats_channel_layout, &ch->stats,
	    ch->rates);
}

void
api_stats_conn(struct json_writer *w, const struct api_ctx *ctx,
    const struct conn *c)
{
	json_w_keyc(w, "recv_cnt");
	json_w_uint(w, c->io.recv_cnt);
	count_rate(w, ctx, RANGE_DATA_RATES, "recv_oct", c->io.recv_oct,
	    rate_ring_rate(c->rates, STAT_RECV_OCT), c->rates, STAT_RECV_OCT);
	json_w_keyc(w, "send_cnt");
	json_w_uint(w, c->io.sent_cnt);
	count_rate(w, ctx, RANGE_DATA_RATES, "send_oct", c->io.sent_oct,
	    rate_ring_rate(c->rates, STAT_SEND_OCT), c->rates, STAT_SEND_OCT);
}

/* A vhost's queue depths now. */
static void
vhost_depth(const struct vhost *vh, uint64_t *d)
{
	void *p;

	memset(d, 0, DEPTH_N * sizeof(d[0]));
	for (size_t i = 0; hmap_next(&vh->queues, &i, &p);) {
		const struct queue *q = p;

		d[DEPTH_READY] += queue_ready(q);
		d[DEPTH_UNACKED] += q->unacked;
	}
	d[DEPTH_MESSAGES] = d[DEPTH_READY] + d[DEPTH_UNACKED];
}

/* A vhost's traffic: folded plus its live connections' unfolded part. */
static void
vhost_io(const struct vhost *vh, uint64_t *io)
{
	memcpy(io, vh->io, STAT_IO_N * sizeof(io[0]));
	for (const struct conn *c = vh->b->conns; c != NULL; c = c->next) {
		if (c->vh != vh)
			continue;
		io[STAT_RECV_OCT] += c->io.recv_oct - c->io_folded[STAT_RECV_OCT];
		io[STAT_SEND_OCT] += c->io.sent_oct - c->io_folded[STAT_SEND_OCT];
	}
}

void
api_stats_vhost(struct json_writer *w, const struct api_ctx *ctx,
    const struct vhost *vh)
{
	size_t off = stats_channel_layout.n;
	const struct rate_ring *rings[1] = { vh->rates };
	uint64_t d[DEPTH_N], io[STAT_IO_N];
	double r[DEPTH_N];

	api_stats_message_stats(w, ctx, &stats_channel_layout, &vh->stats,
	    vh->rates);
	vhost_depth(vh, d);
	for (size_t k = 0; k < DEPTH_N; k++)
		r[k] = rate_ring_rate(vh->rates, off + 2 + k);
	depth(w, ctx, d, r, true, rings, vh->rates != NULL ? 1 : 0, off + 2);
	vhost_io(vh, io);
	count_rate(w, ctx, RANGE_DATA_RATES, "recv_oct", io[STAT_RECV_OCT],
	    rate_ring_rate(vh->rates, off), vh->rates, off);
	count_rate(w, ctx, RANGE_DATA_RATES, "send_oct", io[STAT_SEND_OCT],
	    rate_ring_rate(vh->rates, off + 1), vh->rates, off + 1);
}

/*
 * compat: churn_rates carry no samples: RabbitMQ 3.10 adds them only for
 * some combinations of range parameters (and drops the details for
 * others), so no client can rely on them.
 */
static void
churn_rate(struct json_writer *w, const char *key, uint64_t n, double r)
{
	char name[64];

	json_w_keyc(w, key);
	json_w_uint(w, n);
	snprintf(name, sizeof(name), "%s_details", key);
	json_w_keyc(w, name);
	json_w_begin_object(w);
	json_w_keyc(w, "rate");
	json_w_fixed(w, r, 1);
	json_w_end_object(w);
}

void
api_stats_churn_members(struct json_writer *w, const struct broker *b)
{
	static const char *const keys[CHURN_N] = {
		[CHURN_CHANNEL_CLOSED] = "channel_closed",
		[CHURN_CHANNEL_CREATED] = "channel_created",
		[CHURN_CONNECTION_CLOSED] = "connection_closed",
		[CHURN_CONNECTION_CREATED] = "connection_created",
		[CHURN_QUEUE_CREATED] = "queue_created",
		[CHURN_QUEUE_DECLARED] = "queue_declared",
		[CHURN_QUEUE_DELETED] = "queue_deleted",
	};
	uint64_t v[CHURN_N];

	stats_churn(b, v);
	for (size_t k = 0; k < CHURN_N; k++)
		churn_rate(w, keys[k], v[k],
		    rate_ring_rate(b->stats.churn_rates, k));
}

void
api_stats_churn_rates(struct json_writer *w, const struct broker *b)
{
	json_w_keyc(w, "churn_rates");
	json_w_begin_object(w);
	api_stats_churn_members(w, b);
	json_w_end_object(w);
}

/* Position of key in layout l, or -1. */
static int
layout_index(const struct stats_layout *l, uint8_t key)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->keys[i] == key)
			return (int)i;
	return -1;
}

/*
 * compat: like RabbitMQ, administrators and monitoring users see the
 * broker's figures (deleted vhosts included), others the sums over the
 * vhosts they may open (without the broker-wide disk_reads and
 * disk_writes). msg: message_stats, else queue_totals.
 */
static void
overview(struct json_writer *w, struct api_ctx *ctx, bool msg)
{
	const struct stats_layout *l = &stats_overview_layout;
	const struct stats_layout *vl = &stats_channel_layout;
	const struct broker_stats *s = &ctx->b->stats;
	const struct user *u = ctx->user;
	bool all = u == NULL || (u->tag_bits & (USER_TAG_ADMINISTRATOR |
	    USER_TAG_MONITORING)) != 0;
	uint64_t n[KEYS_MAX] = { 0 }, d[DEPTH_N] = { 0 };
	double rt[KEYS_MAX] = { 0 }, dr[DEPTH_N] = { 0 };
	int vidx[KEYS_MAX];
	const struct rate_ring **rings;
	size_t nrings = 0;
	struct msg_src src;
	void *p;

	rings = xcalloc(ctx->b->vhosts.count + 1, sizeof(*rings));
	for (size_t k = 0; k < l->n; k++)
		vidx[k] = layout_index(vl, l->keys[k]);
	if (all)
		gather(l, &s->msg, s->msg_rates, n, rt);
	for (size_t i = 0; hmap_next(&ctx->b->vhosts, &i, &p);) {
		const struct vhost *vh = p;
		uint64_t vd[DEPTH_N];

		if (!all && !auth_vhost_allowed(u, vh->name))
			continue;
		if (vh->rates != NULL)
			rings[nrings++] = vh->rates;
		vhost_depth(vh, vd);
		for (size_t k = 0; k < DEPTH_N; k++) {
			d[k] += vd[k];
			dr[k] += rate_ring_rate(vh->rates, vl->n + 2 + k);
		}
		if (all)
			continue;
		for (size_t k = 0; k < l->n; k++) {
			if (vidx[k] < 0)
				continue;
			n[k] += vh->stats.v[l->keys[k]];
			rt[k] += rate_ring_rate(vh->rates, (size_t)vidx[k]);
		}
	}
	if (msg) {
		/* compat: the overview has it from the start: {} before
		 * traffic. */
		if (all) {
			rings[0] = s->msg_rates;
			src = (struct msg_src){ rings, s->msg_rates != NULL ?
			    1 : 0, ring_order };
		} else {
			src = (struct msg_src){ rings, nrings, vidx };
		}
		message_stats(w, ctx, l, n, rt, true, &src);
	} else {
		json_w_keyc(w, "queue_totals");
		json_w_begin_object(w);
		depth(w, ctx, d, dr, true, rings, nrings, vl->n + 2);
		json_w_end_object(w);
	}
	free(rings);
}

void
api_stats_overview_message_stats(struct json_writer *w, struct api_ctx *ctx)
{
	overview(w, ctx, true);
}

void
api_stats_overview_queue_totals(struct json_writer *w, struct api_ctx *ctx)
{
	overview(w, ctx, false);
}
