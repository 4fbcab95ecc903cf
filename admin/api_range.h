/*
 * Range parameters of the statistics endpoints (compat: RabbitMQ's
 * {lengths,msg_rates,data_rates,node_stats}_{age,incr}, in seconds): when
 * a pair is given, the matching *_details objects carry "avg",
 * "avg_rate" and "samples":[{"sample":N,"timestamp":ms}] besides "rate".
 * The samples come from the rate rings server/stats.c keeps (RATE_SAMPLES
 * samples, one every collect-statistics-interval): a sample at timestamp
 * T is the value the newest ring sample taken at or before T held, and
 * the list stops where the ring's history does (nothing is made up for
 * times before it).
 */
#ifndef WARREN_ADMIN_API_RANGE_H
#define WARREN_ADMIN_API_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_ctx;
struct json_writer;
struct rate_ring;

enum api_range_kind {
	RANGE_LENGTHS,		/* messages*_details */
	RANGE_MSG_RATES,	/* message_stats' *_details */
	RANGE_DATA_RATES,	/* recv_oct_details, send_oct_details */
	RANGE_NODE_STATS,	/* a node's figures (warren keeps no history) */
	RANGE_N
};

/* compat: RabbitMQ's ?MAX_RANGE: at most age/incr + 1 samples. */
#define API_RANGE_MAX	500

struct api_range {
	bool		 on;
	int64_t		 age_ms, incr_ms;
};

struct api_ranges {
	struct api_range r[RANGE_N];
	double		 now;		/* ev_now when read, seconds */
};

/*
 * Reads the four pairs into ctx->ranges. compat: a pair with a member
 * missing or not an integer is ignored; age or incr not positive, or
 * age/incr above API_RANGE_MAX, is a 400 "Invalid range parameters: age
 * A, incr I" (error "invalid_range_parameters" when page= is given,
 * "bad_request" otherwise, as RabbitMQ's two code paths answer). False
 * after answering.
 */
bool	api_range_read(struct api_ctx *ctx);

/*
 * One series: the sum of value idx[0..nidx) of each of rings[0..nrings)
 * (deliver_get sums four values of one ring; a restricted user's overview
 * sums every visible vhost's ring). A ring that has no sample at or
 * before a timestamp counts 0 there; the list stops when none has.
 */
struct api_series {
	const struct rate_ring *const *rings;
	size_t		 nrings;
	const size_t	*idx;
	size_t		 nidx;
};

/*
 * Writes "<key>_details":{"rate":R} or, with range kind on, {"avg",
 * "avg_rate","rate","samples"} from series s.
 */
void	api_range_details(struct json_writer *w, const struct api_ctx *ctx,
	    enum api_range_kind kind, const char *key, double rate,
	    const struct api_series *s);
/* The same for value i of one ring (r may be NULL: no samples). */
void	api_range_details1(struct json_writer *w, const struct api_ctx *ctx,
	    enum api_range_kind kind, const char *key, double rate,
	    const struct rate_ring *r, size_t i);

#endif /* WARREN_ADMIN_API_RANGE_H */
