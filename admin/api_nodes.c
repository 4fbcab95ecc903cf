#include "autoconf.h"

/*
 * /api/nodes and /api/nodes/{name}: the one node warren is, with the
 * figures RabbitMQ reports for an Erlang node read from the real process
 * (/proc/self, getrlimit, statvfs of the data directory, sysconf). Also
 * the pieces /api/overview shares: listeners, exchange types, contexts.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "admin/api.h"
#include "admin/api_stats.h"
#include "admin/api_list.h"
#include "lib/json.h"
#include "server/alarm.h"
#include "server/broker.h"
#include "server/exchange.h"
#include "server/listener.h"

size_t
api_listeners(const struct broker *b, struct api_listener *out, size_t max)
{
	const struct {
		const char		*protocol;
		const struct listener	*l;
	} all[] = {
		{ "amqp", b->amqp },
		/* compat: RabbitMQ's names for the TLS listeners. */
		{ "amqp/ssl", b->amqps },
		{ "http", b->admin },
		{ "https", b->admin_tls },
		{ "http/prometheus", b->prometheus },
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && n < max; i++) {
		if (all[i].l == NULL)
			continue;
		out[n].protocol = all[i].protocol;
		out[n].port = all[i].l->port;
		n++;
	}
	return n;
}

void
api_write_listeners(const struct broker *b, struct json_writer *w)
{
	struct api_listener ls[API_LISTENERS_MAX];
	size_t n = api_listeners(b, ls, API_LISTENERS_MAX);

	json_w_begin_array(w);
	for (size_t i = 0; i < n; i++) {
		json_w_begin_object(w);
		json_w_keyc(w, "node");
		json_w_stringc(w, b->node_name);
		json_w_keyc(w, "protocol");
		json_w_stringc(w, ls[i].protocol);
		json_w_keyc(w, "ip_address");
		json_w_stringc(w, b->cfg.bind);
		json_w_keyc(w, "port");
		json_w_int(w, ls[i].port);
		json_w_end_object(w);
	}
	json_w_end_array(w);
}

void
api_write_exchange_types(struct json_writer *w)
{
	/* compat: RabbitMQ's descriptions. */
	static const char *const desc[] = {
		[EXCHANGE_DIRECT] = "AMQP direct exchange, as per the AMQP "
		    "specification",
		[EXCHANGE_FANOUT] = "AMQP fanout exchange, as per the AMQP "
		    "specification",
		[EXCHANGE_TOPIC] = "AMQP topic exchange, as per the AMQP "
		    "specification",
		[EXCHANGE_HEADERS] = "AMQP headers exchange, as per the AMQP "
		    "specification",
	};

	json_w_begin_array(w);
	for (int k = EXCHANGE_DIRECT; k <= EXCHANGE_HEADERS; k++) {
		json_w_begin_object(w);
		json_w_keyc(w, "name");
		json_w_stringc(w, exchange_kind_name((enum exchange_kind)k));
		json_w_keyc(w, "description");
		json_w_stringc(w, desc[k]);
		json_w_keyc(w, "enabled");
		json_w_bool(w, true);
		json_w_end_object(w);
	}
	json_w_end_array(w);
}

/* compat: the management listeners as RabbitMQ's "contexts" (port a string). */
void
api_write_contexts(const struct broker *b, struct json_writer *w,
    bool with_node)
{
	const struct listener *ls[] = { b->admin, b->admin_tls };

	json_w_begin_array(w);
	for (size_t i = 0; i < 2; i++) {
		char port[16];

		if (ls[i] == NULL)
			continue;
		snprintf(port, sizeof(port), "%d", ls[i]->port);
		json_w_begin_object(w);
		if (with_node) {
			json_w_keyc(w, "node");
			json_w_stringc(w, b->node_name);
		}
		json_w_keyc(w, "description");
		json_w_stringc(w, "RabbitMQ Management");
		json_w_keyc(w, "path");
		json_w_stringc(w, "/");
		json_w_keyc(w, "ip");
		json_w_stringc(w, b->cfg.bind);
		json_w_keyc(w, "port");
		json_w_stringc(w, port);
		if (i == 1) {
			json_w_keyc(w, "ssl");
			json_w_bool(w, true);
		}
		json_w_end_object(w);
	}
	json_w_end_array(w);
}

/* ---- process figures --------------------------------------------------- */

struct proc_figures {
	uint64_t	fd_used, sockets_used, threads;
	uint64_t	fd_total, proc_total;
	uint64_t	run_queue;
};

static void
count_fds(struct proc_figures *pf)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[300], target[64];
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		pf->fd_used++;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0 && (size_t)n >= 7 && memcmp(target, "socket:", 7) == 0)
			pf->sockets_used++;
	}
	closedir(d);
	/* The directory's own descriptor was counted. */
	if (pf->fd_used > 0)
		pf->fd_used--;
}

/* The skip-th whitespace-separated number of the file's first line. */
static uint64_t
read_u64_file(const char *path, int skip)
{
	char line[256], *p = line, *end;
	unsigned long long v;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return 0;
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	for (int i = 0; i < skip && *p != '\0'; i++) {
		p += strcspn(p, " \t");
		p += strspn(p, " \t");
	}
	v = strtoull(p, &end, 10);
	return end == p ? 0 : v;
}

static void
proc_figures(struct proc_figures *pf)
{
	struct rlimit rl;
	DIR *d;
	struct dirent *e;

	memset(pf, 0, sizeof(*pf));
	count_fds(pf);
	if ((d = opendir("/proc/self/task")) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				pf->threads++;
		closedir(d);
	}
	if (pf->threads == 0)
		pf->threads = 1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		pf->fd_total = rl.rlim_cur;
	if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		pf->proc_total = rl.rlim_cur;
	else
		pf->proc_total = read_u64_file("/proc/sys/kernel/threads-max",
		    0);
	/* /proc/loadavg's 4th field: "running/total" scheduling entities. */
	pf->run_queue = read_u64_file("/proc/loadavg", 3);
}

/*
 * The node object. Erlang-only figures (reductions, garbage collection,
 * io_* and mnesia counters) are left out; what tools read is here.
 */
static void
write_node(struct api_ctx *ctx, struct json_writer *w)
{
	struct broker *b = ctx->b;
	struct proc_figures pf;
	uint64_t disk = alarm_disk_free(b->cfg.data_dir);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char pid[24];

	proc_figures(&pf);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	json_w_begin_object(w);
	json_w_keyc(w, "applications");
	json_w_begin_array(w);
	json_w_begin_object(w);
	json_w_keyc(w, "name");
	json_w_stringc(w, "warren");
	json_w_keyc(w, "description");
	json_w_stringc(w, "warren AMQP 0-9-1 broker");
	json_w_keyc(w, "version");
	json_w_stringc(w, PACKAGE_VERSION);
	json_w_end_object(w);
	json_w_end_array(w);
	json_w_keyc(w, "auth_mechanisms");
	json_w_begin_array(w);
	{
		static const char *const mech[][2] = {
			{ "PLAIN", "SASL PLAIN authentication mechanism" },
			{ "AMQPLAIN", "QPid AMQPLAIN mechanism" },
			{ "EXTERNAL", "SASL EXTERNAL authentication mechanism "
			    "(client certificate)" },
		};

		for (size_t i = 0; i < 3; i++) {
			json_w_begin_object(w);
			json_w_keyc(w, "name");
			json_w_stringc(w, mech[i][0]);
			json_w_keyc(w, "description");
			json_w_stringc(w, mech[i][1]);
			json_w_keyc(w, "enabled");
			json_w_bool(w, i < 2 || b->tls != NULL);
			json_w_end_object(w);
		}
	}
	json_w_end_array(w);
	json_w_keyc(w, "being_drained");
	json_w_bool(w, false);
	json_w_keyc(w, "cluster_links");
	json_w_begin_array(w);
	json_w_end_array(w);
	json_w_keyc(w, "config_files");
	json_w_begin_array(w);
	if (b->cfg.config_file != NULL)
		json_w_stringc(w, b->cfg.config_file);
	json_w_end_array(w);
	json_w_keyc(w, "contexts");
	api_write_contexts(b, w, false);
	json_w_keyc(w, "db_dir");
	json_w_stringc(w, b->cfg.data_dir);
	json_w_keyc(w, "disk_free");
	json_w_uint(w, disk == UINT64_MAX ? 0 : disk);
	json_w_keyc(w, "disk_free_alarm");
	json_w_bool(w, (b->alarms & ALARM_DISK) != 0);
	json_w_keyc(w, "disk_free_limit");
	json_w_uint(w, b->cfg.disk_free_limit);
	json_w_keyc(w, "enabled_plugins");
	json_w_begin_array(w);
	json_w_stringc(w, "rabbitmq_management");
	json_w_end_array(w);
	json_w_keyc(w, "exchange_types");
	api_write_exchange_types(w);
	json_w_keyc(w, "fd_total");
	json_w_uint(w, pf.fd_total);
	json_w_keyc(w, "fd_used");
	json_w_uint(w, pf.fd_used);
	json_w_keyc(w, "log_files");
	json_w_begin_array(w);
	json_w_stringc(w, "<stderr>");
	json_w_end_array(w);
	json_w_keyc(w, "mem_alarm");
	json_w_bool(w, (b->alarms & ALARM_MEMORY) != 0);
	json_w_keyc(w, "mem_calculation_strategy");
	json_w_stringc(w, "rss");
	json_w_keyc(w, "mem_limit");
	json_w_uint(w, b->memory_limit);
	json_w_keyc(w, "mem_used");
	json_w_uint(w, alarm_rss_bytes());
	json_w_keyc(w, "name");
	json_w_stringc(w, b->node_name);
	json_w_keyc(w, "net_ticktime");
	json_w_uint(w, 60);
	/* compat: RabbitMQ gives the OS pid as a string. */
	json_w_keyc(w, "os_pid");
	json_w_stringc(w, pid);
	json_w_keyc(w, "partitions");
	json_w_begin_array(w);
	json_w_end_array(w);
	/*
	 * Erlang processes have no equivalent: warren reports its threads
	 * against the process limit.
	 */
	json_w_keyc(w, "proc_total");
	json_w_uint(w, pf.proc_total);
	json_w_keyc(w, "proc_used");
	json_w_uint(w, pf.threads);
	json_w_keyc(w, "processors");
	json_w_uint(w, ncpu > 0 ? (uint64_t)ncpu : 1);
	json_w_keyc(w, "rates_mode");
	json_w_stringc(w, "basic");
	json_w_keyc(w, "run_queue");
	json_w_uint(w, pf.run_queue);
	json_w_keyc(w, "running");
	json_w_bool(w, true);
	/* Every descriptor can be a socket. */
	json_w_keyc(w, "sockets_total");
	json_w_uint(w, pf.fd_total);
	json_w_keyc(w, "sockets_used");
	json_w_uint(w, pf.sockets_used);
	json_w_keyc(w, "type");
	json_w_stringc(w, "disc");
	json_w_keyc(w, "uptime");
	json_w_uint(w, (uint64_t)((ev_now(b->loop) - b->started_at) * 1000.0));
	/* compat: RabbitMQ's node churn counters, flat, with their rates. */
	api_stats_churn_members(w, b);
	json_w_end_object(w);
}

void
api_nodes_list(struct api_ctx *ctx)
{
	struct json_writer *w;
	size_t n = strlen(ctx->b->node_name);

	if (!api_range_read(ctx))
		return;
	if (!api_list_begin_unpaged(ctx))
		return;
	if (api_list_wants(ctx, NULL, ctx->b->node_name, n)) {
		w = api_list_item(ctx, NULL, ctx->b->node_name, n);
		write_node(ctx, w);
		api_list_item_end(ctx);
	}
	api_list_end(ctx);
}

void
api_node_get(struct api_ctx *ctx)
{
	if (!api_range_read(ctx))
		return;
	/* compat: RabbitMQ 3.10 answers 500 for an unknown node; a 404. */
	if (!proto_str_eq(ctx->arg[0], proto_str_c(ctx->b->node_name))) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	write_node(ctx, api_json_begin(ctx));
	api_json_end(ctx);
}
