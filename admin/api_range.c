#include "autoconf.h"

#include "admin/api_range.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "admin/api.h"
#include "admin/http.h"
#include "lib/json.h"
#include "lib/xmalloc.h"
#include "server/broker.h"
#include "server/stats.h"

static const char *const prefixes[RANGE_N] = {
	[RANGE_LENGTHS] = "lengths",
	[RANGE_MSG_RATES] = "msg_rates",
	[RANGE_DATA_RATES] = "data_rates",
	[RANGE_NODE_STATS] = "node_stats",
};

/*
 * An integer parameter as RabbitMQ reads it (list_to_integer: optional
 * sign, decimal digits): 1 read, 0 absent or not an integer (compat:
 * RabbitMQ then ignores the pair).
 */
static int
int_param(const struct api_ctx *ctx, const char *name, long long *out)
{
	char v[32], *end;
	const char *p;

	if (http_query_param(ctx->req, name, v, sizeof(v), NULL) != 1)
		return 0;
	p = v[0] == '-' || v[0] == '+' ? v + 1 : v;
	if (*p < '0' || *p > '9')
		return 0;
	errno = 0;
	*out = strtoll(v, &end, 10);
	if (*end != '\0' || errno != 0)
		return 0;
	return 1;
}

bool
api_range_read(struct api_ctx *ctx)
{
	struct api_ranges *rg = &ctx->ranges;
	char name[32], page[32];

	rg->now = ctx->b->loop != NULL ? ev_now(ctx->b->loop) :
	    (double)time(NULL);
	for (size_t k = 0; k < RANGE_N; k++) {
		long long age, incr;
		bool paged;

		snprintf(name, sizeof(name), "%s_age", prefixes[k]);
		if (!int_param(ctx, name, &age))
			continue;
		snprintf(name, sizeof(name), "%s_incr", prefixes[k]);
		if (!int_param(ctx, name, &incr))
			continue;
		if (age > 0 && incr > 0 && age / incr <= API_RANGE_MAX) {
			/* Past any history kept; milliseconds must not
			 * overflow. */
			rg->r[k].on = true;
			rg->r[k].age_ms = (int64_t)(age < INT32_MAX ? age :
			    INT32_MAX) * 1000;
			rg->r[k].incr_ms = (int64_t)(incr < INT32_MAX ? incr :
			    INT32_MAX) * 1000;
			continue;
		}
		paged = http_query_param(ctx->req, "page", page, sizeof(page),
		    NULL) != 0;
		api_error(ctx, 400, paged ? "invalid_range_parameters" :
		    "bad_request", "Invalid range parameters: age %lld, "
		    "incr %lld", age, incr);
		return false;
	}
	return true;
}

/* compat: RabbitMQ writes avg and avg_rate as floats, 3.0 included. */
static void
w_float(struct json_writer *w, double v)
{
	if (isfinite(v) && v == trunc(v) && fabs(v) < 1e15)
		json_w_fixed(w, v, 1);
	else
		json_w_double(w, v);
}

/* Ring r's slot of its j-th sample, oldest first. */
static size_t
slot(const struct rate_ring *r, size_t j)
{
	return (r->next + RATE_SAMPLES - r->n + j) % RATE_SAMPLES;
}

struct sample {
	uint64_t	v;
	int64_t		ts;
};

/*
 * Fills out (newest first) with s's value at each incr boundary from
 * the newest one at or before now back age; returns how many.
 */
static size_t
collect(const struct api_range *rr, double now, const struct api_series *s,
    struct sample *out)
{
	int64_t now_ms = (int64_t)(now * 1000.0);
	int64_t last = now_ms - now_ms % rr->incr_ms;
	int64_t steps = rr->age_ms / rr->incr_ms;
	size_t n = 0, *cur;

	if (s->nrings == 0)
		return 0;
	/* Per ring: samples 0..cur-1 are at or before the boundary. */
	cur = xcalloc(s->nrings, sizeof(*cur));
	for (size_t i = 0; i < s->nrings; i++)
		cur[i] = s->rings[i] != NULL ? s->rings[i]->n : 0;
	for (int64_t k = 0; k <= steps; k++) {
		int64_t ts = last - k * rr->incr_ms;
		uint64_t sum = 0;
		bool any = false;

		for (size_t i = 0; i < s->nrings; i++) {
			const struct rate_ring *r = s->rings[i];
			size_t o;

			while (cur[i] > 0 && r->t[slot(r, cur[i] - 1)] *
			    1000.0 > (double)ts)
				cur[i]--;
			if (cur[i] == 0)
				continue;
			any = true;
			o = slot(r, cur[i] - 1) * r->width;
			for (size_t x = 0; x < s->nidx; x++)
				if (s->idx[x] < r->width)
					sum += r->v[o + s->idx[x]];
		}
		if (!any)
			break;
		out[n].v = sum;
		out[n].ts = ts;
		n++;
	}
	free(cur);
	return n;
}

void
api_range_details(struct json_writer *w, const struct api_ctx *ctx,
    enum api_range_kind kind, const char *key, double rate,
    const struct api_series *s)
{
	const struct api_range *rr = &ctx->ranges.r[kind];
	struct sample smp[API_RANGE_MAX + 1];
	char name[96];
	size_t n;
	double avg = 0.0, avg_rate = 0.0;

	snprintf(name, sizeof(name), "%s_details", key);
	json_w_keyc(w, name);
	json_w_begin_object(w);
	if (!rr->on) {
		json_w_keyc(w, "rate");
		json_w_fixed(w, rate, 1);
		json_w_end_object(w);
		return;
	}
	n = collect(rr, ctx->ranges.now, s, smp);
	for (size_t i = 0; i < n; i++)
		avg += (double)smp[i].v;
	if (n > 0)
		avg /= (double)n;
	if (n > 1)
		avg_rate = (double)(int64_t)(smp[0].v - smp[n - 1].v) /
		    ((double)(smp[0].ts - smp[n - 1].ts) / 1000.0);
	json_w_keyc(w, "avg");
	w_float(w, avg);
	json_w_keyc(w, "avg_rate");
	w_float(w, avg_rate);
	json_w_keyc(w, "rate");
	json_w_fixed(w, rate, 1);
	json_w_keyc(w, "samples");
	json_w_begin_array(w);
	for (size_t i = 0; i < n; i++) {
		json_w_begin_object(w);
		json_w_keyc(w, "sample");
		json_w_uint(w, smp[i].v);
		json_w_keyc(w, "timestamp");
		json_w_int(w, smp[i].ts);
		json_w_end_object(w);
	}
	json_w_end_array(w);
	json_w_end_object(w);
}

void
api_range_details1(struct json_writer *w, const struct api_ctx *ctx,
    enum api_range_kind kind, const char *key, double rate,
    const struct rate_ring *r, size_t i)
{
	const struct rate_ring *rings[1] = { r };
	struct api_series s = { rings, r != NULL ? 1 : 0, &i, 1 };

	api_range_details(w, ctx, kind, key, rate, &s);
}
