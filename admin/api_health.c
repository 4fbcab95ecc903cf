#include "autoconf.h"

/*
 * Health checks (/api/health/checks/...), the deprecated
 * /api/aliveness-test/{vhost} and /api/healthchecks/node. Each answers
 * 200 {"status":"ok",...} or 503 {"status":"failed","reason",...} with
 * RabbitMQ's fields and wording (rabbit_mgmt_wm_health_check_*.erl).
 * warren is a one-node cluster, so the cluster checks are the node's.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/api.h"
#include "admin/http.h"
#include "lib/json.h"
#include "server/auth.h"
#include "server/broker.h"
#include "server/listener.h"
#include "server/tls.h"
#include "server/vhost.h"

/* compat: RabbitMQ's status for a failed check. */
#define HEALTH_FAILED	503

static struct json_writer *
begin(struct api_ctx *ctx, bool ok)
{
	struct json_writer *w = api_json_begin(ctx);

	if (!ok)
		ctx->resp->status = HEALTH_FAILED;
	json_w_begin_object(w);
	json_w_keyc(w, "status");
	json_w_stringc(w, ok ? "ok" : "failed");
	return w;
}

static void
end(struct api_ctx *ctx, struct json_writer *w)
{
	json_w_end_object(w);
	api_json_end(ctx);
}

static void
ok(struct api_ctx *ctx)
{
	end(ctx, begin(ctx, true));
}

static void
alarms(struct api_ctx *ctx, const char *reason)
{
	struct broker *b = ctx->b;
	struct json_writer *w;
	/* compat: rabbit_alarm's resource names. */
	const struct {
		unsigned	 bit;
		const char	*resource;
	} res[] = {
		{ ALARM_MEMORY, "memory" },
		{ ALARM_DISK, "disk space" },
	};

	if (b->alarms == 0) {
		ok(ctx);
		return;
	}
	w = begin(ctx, false);
	json_w_keyc(w, "reason");
	json_w_stringc(w, reason);
	json_w_keyc(w, "alarms");
	json_w_begin_array(w);
	for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		if (!(b->alarms & res[i].bit))
			continue;
		json_w_begin_object(w);
		json_w_keyc(w, "node");
		json_w_stringc(w, b->node_name);
		json_w_keyc(w, "resource");
		json_w_stringc(w, res[i].resource);
		json_w_end_object(w);
	}
	json_w_end_array(w);
	end(ctx, w);
}

void
api_health_alarms(struct api_ctx *ctx)
{
	alarms(ctx, "There are alarms in effect in the cluster");
}

void
api_health_local_alarms(struct api_ctx *ctx)
{
	alarms(ctx, "There are alarms in effect on the node");
}

/* Path argument i as a decimal integer in [min, max]; false if not one. */
static bool
int_arg(const struct api_ctx *ctx, size_t i, long long min, long long max,
    long long *out)
{
	char buf[24], *end;
	long long v;

	if (ctx->arg[i].len == 0 || ctx->arg[i].len >= sizeof(buf))
		return false;
	memcpy(buf, ctx->arg[i].p, ctx->arg[i].len);
	buf[ctx->arg[i].len] = '\0';
	if (!isdigit((unsigned char)buf[0]) && buf[0] != '-')
		return false;
	v = strtoll(buf, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

void
api_health_port_listener(struct api_ctx *ctx)
{
	struct api_listener ls[API_LISTENERS_MAX];
	size_t n = api_listeners(ctx->b, ls, API_LISTENERS_MAX);
	struct json_writer *w;
	long long port;
	bool found = false;

	/* compat: RabbitMQ's answer to a port that is not an integer. */
	if (!int_arg(ctx, 0, INT32_MIN, INT32_MAX, &port)) {
		api_error(ctx, 400, "bad_request", "Invalid port");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (ls[i].port == port)
			found = true;
	w = begin(ctx, found);
	if (found) {
		json_w_keyc(w, "port");
		json_w_int(w, port);
	} else {
		json_w_keyc(w, "reason");
		json_w_stringc(w, "No active listener");
		json_w_keyc(w, "missing");
		json_w_int(w, port);
		json_w_keyc(w, "ports");
		json_w_begin_array(w);
		for (size_t i = 0; i < n; i++)
			json_w_int(w, ls[i].port);
		json_w_end_array(w);
	}
	end(ctx, w);
}

/* compat: the aliases RabbitMQ accepts for the protocols warren serves. */
static const char *
normalize_protocol(char *p)
{
	static const char *const alias[][2] = {
		{ "amqp091", "amqp" }, { "amqp0.9.1", "amqp" },
		{ "amqp0-9-1", "amqp" }, { "amqp0_9_1", "amqp" },
		{ "amqp10", "amqp" }, { "amqp1.0", "amqp" },
		{ "amqp1-0", "amqp" }, { "amqp1_0", "amqp" },
		{ "amqps", "amqp/ssl" }, { "http1", "http" },
		{ "http1.1", "http" }, { "http_api", "http" },
		{ "management", "http" }, { "management_ui", "http" },
		{ "ui", "http" },
	};

	for (char *q = p; *q != '\0'; q++)
		*q = (char)tolower((unsigned char)*q);
	for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
		if (strcmp(p, alias[i][0]) == 0)
			return alias[i][1];
	return p;
}

#define PROTOCOLS_MAX	16

void
api_health_protocol_listener(struct api_ctx *ctx)
{
	struct api_listener ls[API_LISTENERS_MAX];
	size_t n = api_listeners(ctx->b, ls, API_LISTENERS_MAX), nmissing = 0;
	char buf[512], *save = NULL, *tok;
	const char *missing[PROTOCOLS_MAX];
	struct json_writer *w;

	if (!api_name_arg(ctx, 0, "protocols", sizeof(buf) - 1, buf,
	    sizeof(buf)))
		return;
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		const char *p = normalize_protocol(tok);
		bool found = false;

		for (size_t i = 0; i < n; i++)
			if (strcmp(ls[i].protocol, p) == 0)
				found = true;
		for (size_t k = 0; k < nmissing; k++)
			if (strcmp(missing[k], p) == 0)
				found = true;
		if (!found && nmissing < PROTOCOLS_MAX)
			missing[nmissing++] = p;
	}
	w = begin(ctx, nmissing == 0);
	if (nmissing > 0) {
		json_w_keyc(w, "reason");
		json_w_stringc(w, "No active listener");
		json_w_keyc(w, "missing");
		json_w_begin_array(w);
		for (size_t k = 0; k < nmissing; k++)
			json_w_stringc(w, missing[k]);
		json_w_end_array(w);
	}
	json_w_keyc(w, "protocols");
	json_w_begin_array(w);
	for (size_t i = 0; i < n; i++)
		json_w_stringc(w, ls[i].protocol);
	json_w_end_array(w);
	end(ctx, w);
}

void
api_health_virtual_hosts(struct api_ctx *ctx)
{
	/* Every vhost of a running warren is up: nothing can be down. */
	ok(ctx);
}

void
api_health_quorum_critical(struct api_ctx *ctx)
{
	struct json_writer *w = begin(ctx, true);

	/* compat: RabbitMQ's words on a one-node cluster. */
	json_w_keyc(w, "reason");
	json_w_stringc(w, "single node cluster");
	end(ctx, w);
}

void
api_health_metadata_store(struct api_ctx *ctx)
{
	/* The store is open and recovered before the admin API listens. */
	ok(ctx);
}

static void
write_expiry_dates(struct json_writer *w, const int64_t *t, int n,
    int64_t limit)
{
	json_w_begin_array(w);
	for (int i = 0; i < n; i++) {
		time_t s = (time_t)t[i];
		struct tm tm;
		char date[32];

		if (t[i] >= limit || gmtime_r(&s, &tm) == NULL)
			continue;
		/* compat: RabbitMQ's "2026-01-31 9:05:00" (hour unpadded). */
		strftime(date, sizeof(date), "%Y-%m-%d ", &tm);
		snprintf(date + strlen(date), sizeof(date) - strlen(date),
		    "%d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
		json_w_stringc(w, date);
	}
	json_w_end_array(w);
}

static bool
expiring(const int64_t *t, int n, int64_t limit)
{
	for (int i = 0; i < n; i++)
		if (t[i] < limit)
			return true;
	return false;
}

void
api_health_certificate_expiration(struct api_ctx *ctx)
{
	/* compat: RabbitMQ's units (a month is 30 days, a year 365). */
	static const struct {
		const char	*unit;
		int64_t		 seconds;
	} units[] = {
		{ "days", 86400 }, { "weeks", 7 * 86400 },
		{ "months", 30 * 86400 }, { "years", 365 * 86400 },
	};
	struct broker *b = ctx->b;
	const struct listener *tls_ls[] = { b->amqps, b->admin_tls };
	const char *names[] = { "amqp/ssl", "https" };
	int64_t cert[16], ca[16], per = 0, limit;
	int ncert = 0, nca = 0;
	char unit[16];
	long long within;
	struct json_writer *w;
	bool bad = false;

	if (!int_arg(ctx, 0, 0, 1000000, &within)) {
		api_error(ctx, 400, "bad_request", "Invalid expiration value.");
		return;
	}
	if (ctx->arg[1].len < sizeof(unit)) {
		memcpy(unit, ctx->arg[1].p, ctx->arg[1].len);
		unit[ctx->arg[1].len] = '\0';
		for (char *p = unit; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strcmp(unit, units[i].unit) == 0)
				per = units[i].seconds;
	}
	if (per == 0) {
		api_error(ctx, 400, "bad_request", "Time unit not recognised. "
		    "Supported units: days, weeks, months, years.");
		return;
	}
	limit = (int64_t)time(NULL) + within * per;
	if (b->amqps != NULL || b->admin_tls != NULL) {
		if (strcmp(b->cfg.tls_cert, "none") != 0)
			ncert = tls_cert_not_after(b->cfg.tls_cert, cert, 16);
		if (strcmp(b->cfg.tls_ca, "none") != 0)
			nca = tls_cert_not_after(b->cfg.tls_ca, ca, 16);
		ncert = ncert < 0 ? 0 : ncert;
		nca = nca < 0 ? 0 : nca;
		bad = expiring(cert, ncert, limit) || expiring(ca, nca, limit);
	}
	w = begin(ctx, !bad);
	if (bad) {
		json_w_keyc(w, "reason");
		json_w_stringc(w, "Certificates expiring");
		json_w_keyc(w, "expired");
		json_w_begin_array(w);
		for (size_t i = 0; i < 2; i++) {
			if (tls_ls[i] == NULL)
				continue;
			json_w_begin_object(w);
			json_w_keyc(w, "node");
			json_w_stringc(w, b->node_name);
			json_w_keyc(w, "protocol");
			json_w_stringc(w, names[i]);
			json_w_keyc(w, "interface");
			json_w_stringc(w, b->cfg.bind);
			json_w_keyc(w, "port");
			json_w_int(w, tls_ls[i]->port);
			json_w_keyc(w, "certfile");
			json_w_stringc(w, b->cfg.tls_cert);
			json_w_keyc(w, "cacertfile");
			json_w_stringc(w, strcmp(b->cfg.tls_ca, "none") != 0 ?
			    b->cfg.tls_ca : "");
			json_w_keyc(w, "certfile_expires_on");
			write_expiry_dates(w, cert, ncert, limit);
			json_w_keyc(w, "cacertfile_expires_on");
			write_expiry_dates(w, ca, nca, limit);
			json_w_end_object(w);
		}
		json_w_end_array(w);
	}
	end(ctx, w);
}

/* ---- unauthenticated (Kubernetes probes) -------------------------------- */

void
api_health_is_in_service(struct api_ctx *ctx)
{
	struct json_writer *w;

	if (!ctx->b->stopping) {
		ok(ctx);
		return;
	}
	w = begin(ctx, false);
	json_w_keyc(w, "reason");
	json_w_stringc(w, "this rabbit node is not currently available to "
	    "serve");
	end(ctx, w);
}

/* Connections past the handshake against connection-max (0: none). */
static bool
below_limit(const struct broker *b)
{
	return b->cfg.connection_max == 0 || b->nopen < b->cfg.connection_max;
}

static void
write_limit(struct json_writer *w, const struct broker *b)
{
	json_w_keyc(w, "limit");
	/* compat: Erlang's atom for no limit. */
	if (b->cfg.connection_max == 0)
		json_w_stringc(w, "infinity");
	else
		json_w_uint(w, b->cfg.connection_max);
}

void
api_health_below_connection_limit(struct api_ctx *ctx)
{
	struct broker *b = ctx->b;
	bool good = below_limit(b);
	struct json_writer *w = begin(ctx, good);

	if (!good) {
		json_w_keyc(w, "reason");
		json_w_stringc(w, "node connection limit is reached");
	}
	write_limit(w, b);
	json_w_keyc(w, "connections");
	json_w_uint(w, b->nopen);
	end(ctx, w);
}

void
api_health_ready_to_serve(struct api_ctx *ctx)
{
	struct broker *b = ctx->b;
	const char *reason = NULL;
	struct json_writer *w;

	if (b->stopping)
		reason = "the rabbit node is not currently available to serve";
	else if (b->amqp == NULL && b->amqps == NULL)
		reason = "no active listeners for AMQP/AMQPS";
	else if (!below_limit(b))
		reason = "node connection limit is reached";
	if (reason == NULL) {
		ok(ctx);
		return;
	}
	w = begin(ctx, false);
	json_w_keyc(w, "reason");
	json_w_stringc(w, reason);
	if (!below_limit(b) && !b->stopping) {
		json_w_keyc(w, "connections");
		json_w_uint(w, b->nopen);
	}
	end(ctx, w);
}

void
api_health_target_cluster_size(struct api_ctx *ctx)
{
	/* One node, and the target of a one-node cluster is one. */
	ok(ctx);
}

/* ---- deprecated --------------------------------------------------------- */

void
api_aliveness_test(struct api_ctx *ctx)
{
	struct vhost *vh = broker_vhost(ctx->b, (const char *)ctx->arg[0].p,
	    ctx->arg[0].len);

	if (vh == NULL) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	/* compat: the user must be able to open the vhost (3.10, checked). */
	if ((ctx->user->tag_bits & USER_TAG_ADMINISTRATOR) == 0 &&
	    !auth_vhost_allowed(ctx->user, vh->name)) {
		api_error(ctx, 401, "not_authorised",
		    "User not authorised to access virtual host");
		return;
	}
	ok(ctx);
}

void
api_healthchecks_node(struct api_ctx *ctx)
{
	/* /api/healthchecks/node/{node}: only this node exists. */
	if (ctx->nargs == 1 && !proto_str_eq(ctx->arg[0],
	    proto_str_c(ctx->b->node_name))) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	ok(ctx);
}
