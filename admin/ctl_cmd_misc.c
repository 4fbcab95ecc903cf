#include "autoconf.h"

/*
 * warrenctl's overview, nodes, health checks, ping, await_startup and
 * definitions export/import.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/ctl.h"
#include "admin/ctl_cmd.h"
#include "admin/ctl_http.h"
#include "lib/json.h"
#include "lib/mono.h"
#include "lib/xmalloc.h"

#define NCOLS(a)	(sizeof(a) / sizeof((a)[0]))

static const struct ctl_column overview_cols[] = {
	{ "product_name", "product_name" },
	{ "product_version", "product_version" },
	{ "rabbitmq_version", "rabbitmq_version" },
	{ "cluster_name", "cluster_name" }, { "node", "node" },
	{ "connections", "object_totals.connections" },
	{ "channels", "object_totals.channels" },
	{ "exchanges", "object_totals.exchanges" },
	{ "queues", "object_totals.queues" },
	{ "consumers", "object_totals.consumers" },
	{ "messages", "queue_totals.messages" },
	{ "messages_ready", "queue_totals.messages_ready" },
	{ "messages_unacknowledged", "queue_totals.messages_unacknowledged" },
	{ "publish_rate", "message_stats.publish_details.rate" },
	{ "deliver_get_rate", "message_stats.deliver_get_details.rate" },
};
static const struct ctl_column churn_cols[] = {
	{ "connection_created", "churn_rates.connection_created" },
	{ "connection_closed", "churn_rates.connection_closed" },
	{ "channel_created", "churn_rates.channel_created" },
	{ "channel_closed", "churn_rates.channel_closed" },
	{ "queue_declared", "churn_rates.queue_declared" },
	{ "queue_created", "churn_rates.queue_created" },
	{ "queue_deleted", "churn_rates.queue_deleted" },
	{ "connection_created_rate",
	    "churn_rates.connection_created_details.rate" },
	{ "connection_closed_rate",
	    "churn_rates.connection_closed_details.rate" },
	{ "channel_created_rate", "churn_rates.channel_created_details.rate" },
	{ "channel_closed_rate", "churn_rates.channel_closed_details.rate" },
	{ "queue_declared_rate", "churn_rates.queue_declared_details.rate" },
	{ "queue_created_rate", "churn_rates.queue_created_details.rate" },
	{ "queue_deleted_rate", "churn_rates.queue_deleted_details.rate" },
};
static const struct ctl_column node_cols[] = {
	{ "name", "name" }, { "type", "type" }, { "running", "running" },
	{ "uptime", "uptime" }, { "mem_used", "mem_used" },
	{ "mem_limit", "mem_limit" }, { "mem_alarm", "mem_alarm" },
	{ "disk_free", "disk_free" }, { "disk_free_alarm", "disk_free_alarm" },
	{ "fd_used", "fd_used" }, { "fd_total", "fd_total" },
};
static const struct ctl_column health_cols[] = {
	{ "status", "status" },
};

CTL_CMD(cmd_show_overview)
{
	return ctl_show(c, "/overview", NULL, overview_cols,
	    NCOLS(overview_cols));
}

CTL_CMD(cmd_show_churn)
{
	return ctl_show(c, "/overview", NULL, churn_cols, NCOLS(churn_cols));
}

CTL_CMD(cmd_nodes_list)
{
	return ctl_list_path(c, "/nodes", node_cols, NCOLS(node_cols), false,
	    "name");
}

/*
 * A health check: 200 prints its status, a 503 is reported with the
 * API's reason and exit 69 (ctl_http_error maps 5xx to unavailable),
 * as rabbitmqadmin v2 does.
 */
static int
health(struct ctl *c, const char *path)
{
	struct json *j;
	int rc;

	if ((rc = ctl_api(c, "GET", path, NULL, NULL, &j)) != 0)
		return rc;
	if (json_type(j) != JSON_OBJECT)
		rc = ctl_fail(CTL_EX_UNAVAILABLE, "the answer to GET %s is "
		    "not an object", path);
	else if (!c->conf.quiet && ctl_out_object(stdout, j, health_cols,
	    NCOLS(health_cols), &c->out) != 0)
		rc = ctl_fail(CTL_EX_IOERR, "cannot write the output");
	json_free(j);
	return rc;
}

CTL_CMD(cmd_health_local_alarms)
{
	return health(c, "/health/checks/local-alarms");
}

CTL_CMD(cmd_health_cluster_wide_alarms)
{
	return health(c, "/health/checks/alarms");
}

CTL_CMD(cmd_health_port_listener)
{
	char *path = ctl_path("/health/checks/port-listener/{}",
	    ctl_arg(c, "port"));
	int rc = health(c, path);

	free(path);
	return rc;
}

CTL_CMD(cmd_health_protocol_listener)
{
	char *path = ctl_path("/health/checks/protocol-listener/{}",
	    ctl_arg(c, "protocol"));
	int rc;

	/* The list's commas stay literal, as RabbitMQ's own URLs. */
	for (char *p; (p = strstr(path, "%2C")) != NULL; )
		memmove(p + 1, p + 3, strlen(p + 3) + 1), *p = ',';
	rc = health(c, path);
	free(path);
	return rc;
}

CTL_CMD(cmd_health_virtual_hosts)
{
	return health(c, "/health/checks/virtual-hosts");
}

CTL_CMD(cmd_ping)
{
	struct json *j;
	const char *name, *ver;
	int rc;

	if ((rc = ctl_api(c, "GET", "/overview", NULL, NULL, &j)) != 0)
		return rc;
	name = json_str(json_get(j, "product_name"), NULL);
	ver = json_str(json_get(j, "product_version"), NULL);
	/* compat: rabbitmq-diagnostics ping's wording, for scripts. */
	if (!c->conf.quiet)
		printf("Ping succeeded: %s %s at %s\n", name ? name : "broker",
		    ver ? ver : "", ctl_http_base(c->http));
	json_free(j);
	return 0;
}

CTL_CMD(cmd_await_startup)
{
	struct ctl_resp r;
	double start = mono_s(), limit;
	long total = c->conf.timeout_set ? c->conf.timeout : 300;
	bool progress = c->tty_err && !c->conf.quiet;
	int tries = 0;

	limit = start + (double)total;
	/* Each try waits at most a few seconds, so the total holds. */
	c->conf.timeout = total < 5 ? total : 5;
	c->http = ctl_http_new(&c->conf);
	for (;;) {
		tries++;
		if (ctl_http_do(c->http, "GET", "/overview", NULL, NULL,
		    &r) == 0 && r.status == 200) {
			ctl_resp_free(&r);
			if (progress)
				fputc('\n', stderr);
			if (!c->conf.quiet)
				printf("The API at %s answers\n",
				    ctl_http_base(c->http));
			return 0;
		}
		/* Wrong credentials will not get better by waiting. */
		if (r.status == 401 || r.status == 403) {
			int rc;

			if (progress)
				fputc('\n', stderr);
			rc = ctl_http_error(c, &r, NULL);
			ctl_resp_free(&r);
			return rc;
		}
		if (mono_s() + 0.25 >= limit) {
			if (progress)
				fputc('\n', stderr);
			ctl_fail(CTL_EX_UNAVAILABLE, "the API at %s did not "
			    "answer within %ld s (%s)", ctl_http_base(c->http),
			    total, r.status ? "not ready" : r.err);
			ctl_resp_free(&r);
			return CTL_EX_UNAVAILABLE;
		}
		ctl_resp_free(&r);
		if (progress) {
			if (tries == 1)
				fprintf(stderr, "Waiting for %s ",
				    ctl_http_base(c->http));
			fputc('.', stderr);
			fflush(stderr);
		}
		usleep(250000);
	}
}

/* "-" or absent: stdin/stdout. */
static bool
is_std(const char *file)
{
	return file == NULL || strcmp(file, "-") == 0;
}

CTL_CMD(cmd_definitions_export)
{
	const char *file = ctl_arg(c, "file");
	struct ctl_resp r;
	char *path, *tmp = NULL;
	FILE *f = stdout;
	int rc = 0;

	path = c->conf.vhost_set ? ctl_path("/definitions/{}", ctl_vhost(c)) :
	    xstrdup("/definitions");
	if (c->http == NULL)
		c->http = ctl_http_new(&c->conf);
	if (ctl_http_do(c->http, "GET", path, NULL, NULL, &r) != 0 ||
	    r.status != 200) {
		char wh[1024];

		snprintf(wh, sizeof(wh), "vhost '%s'", ctl_vhost(c));
		rc = ctl_http_error(c, &r, wh);
		goto out;
	}
	if (!is_std(file)) {
		/* A new file appears whole or not at all. */
		size_t n = strlen(file) + 16;

		tmp = xmalloc(n);
		snprintf(tmp, n, "%s.tmp%ld", file, (long)getpid());
		if ((f = fopen(tmp, "w")) == NULL) {
			rc = ctl_fail(CTL_EX_IOERR, "cannot write %s: %s", tmp,
			    strerror(errno));
			goto out;
		}
	}
	if (fwrite(r.body, 1, r.len, f) != r.len || fputc('\n', f) == EOF ||
	    fflush(f) != 0)
		rc = ctl_fail(CTL_EX_IOERR, "cannot write %s: %s",
		    tmp ? file : "the output", strerror(errno));
	if (f != stdout && fclose(f) != 0 && rc == 0)
		rc = ctl_fail(CTL_EX_IOERR, "cannot write %s: %s", file,
		    strerror(errno));
	if (tmp != NULL) {
		if (rc == 0 && rename(tmp, file) != 0)
			rc = ctl_fail(CTL_EX_IOERR, "cannot write %s: %s",
			    file, strerror(errno));
		if (rc != 0)
			unlink(tmp);
	}
out:
	ctl_resp_free(&r);
	free(tmp);
	free(path);
	return rc;
}

/* Reads all of f (<= CTL_HTTP_MAX_BODY) into a malloc'd string. */
static char *
slurp(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0, got;
	char *s = malloc(cap), *ns;

	if (s == NULL)
		return NULL;
	while ((got = fread(s + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (n + 1 == cap) {
			if (cap >= CTL_HTTP_MAX_BODY || (ns = realloc(s,
			    cap * 2)) == NULL) {
				free(s);
				return NULL;
			}
			s = ns;
			cap *= 2;
		}
	}
	if (ferror(f)) {
		free(s);
		return NULL;
	}
	s[n] = '\0';
	*len = n;
	return s;
}

/* What an import holds, for its progress line. */
struct import_progress {
	size_t	 total;
	char	 kinds[256];	/* "12 queues, 3 exchanges, ..." */
	bool	 shown;
	double	 last, elapsed;
};

static void
count_definitions(const struct json *j, struct import_progress *imp)
{
	static const char *const keys[] = { "users", "vhosts", "permissions",
	    "topic_permissions", "parameters", "global_parameters",
	    "policies", "queues", "exchanges", "bindings" };
	size_t used = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct json *v = json_get(j, keys[i]);
		size_t n;

		if (v == NULL || json_type(v) != JSON_ARRAY ||
		    (n = json_len(v)) == 0)
			continue;
		imp->total += n;
		if (used < sizeof(imp->kinds))
			used += (size_t)snprintf(imp->kinds + used,
			    sizeof(imp->kinds) - used, "%s%zu %s",
			    used ? ", " : "", n, keys[i]);
	}
}

/*
 * On a terminal: the upload's share, then the time the broker has been
 * applying them (it answers when all are applied and committed).
 */
static void
import_progress(void *arg, double sent, double elapsed)
{
	struct import_progress *imp = arg;

	imp->elapsed = elapsed;
	if (elapsed - imp->last < 0.2 && imp->shown)
		return;
	imp->last = elapsed;
	imp->shown = true;
	if (sent < 1)
		fprintf(stderr, "\r\033[K  sending: %3.0f%%  %.1f s",
		    sent * 100, elapsed);
	else
		fprintf(stderr, "\r\033[K  sent; the broker is applying "
		    "them: %.1f s", elapsed);
	fflush(stderr);
}

CTL_CMD(cmd_definitions_import)
{
	struct import_progress imp = { 0 };
	const char *file = ctl_arg(c, "file");
	struct json *j;
	char *text, *path, err[160], wh[1024];
	size_t len;
	FILE *f = stdin;
	int rc;

	if (!is_std(file) && (f = fopen(file, "r")) == NULL)
		return ctl_fail(CTL_EX_DATAERR, "cannot open %s: %s", file,
		    strerror(errno));
	text = slurp(f, &len);
	if (f != stdin)
		fclose(f);
	if (text == NULL)
		return ctl_fail(CTL_EX_DATAERR, "cannot read %s",
		    is_std(file) ? "stdin" : file);
	/* Check it here: a bad file is named with its line and column. */
	j = json_parse_limits(text, len, &(struct json_limits){
	    CTL_HTTP_MAX_BODY, 64, 64u << 20, 64u << 20 }, err, sizeof(err));
	if (j == NULL || json_type(j) != JSON_OBJECT) {
		rc = ctl_fail(CTL_EX_DATAERR, "%s: %s", is_std(file) ? "stdin" :
		    file, j == NULL ? err : "the definitions must be a JSON "
		    "object");
		json_free(j);
		free(text);
		return rc;
	}
	count_definitions(j, &imp);
	json_free(j);
	if (c->tty_err && !c->conf.quiet) {
		fprintf(stderr, "Importing %zu objects (%s) from %s\n",
		    imp.total, imp.kinds[0] ? imp.kinds : "none",
		    is_std(file) ? "stdin" : file);
		if (c->http == NULL)
			c->http = ctl_http_new(&c->conf);
		ctl_http_progress(c->http, import_progress, &imp);
	}
	path = c->conf.vhost_set ? ctl_path("/definitions/{}", ctl_vhost(c)) :
	    xstrdup("/definitions");
	snprintf(wh, sizeof(wh), "vhost '%s'", ctl_vhost(c));
	rc = ctl_send(c, "POST", path, text, wh);
	if (imp.shown) {
		fprintf(stderr, "\r\033[K");
		if (rc == 0)
			fprintf(stderr, "Imported %zu objects in %.1f s\n",
			    imp.total, imp.elapsed);
	}
	if (c->http != NULL)
		ctl_http_progress(c->http, NULL, NULL);
	free(path);
	free(text);
	return rc;
}
