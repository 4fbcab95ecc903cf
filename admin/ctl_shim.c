#include "autoconf.h"

/*
 * warrenctl called as rabbitmqctl or rabbitmq-diagnostics (the Docker
 * image links those names to it): the commands of RabbitMQ's CLI tools
 * that compose files, probes and scripts run as health checks, each
 * turned into the warrenctl command that asks the management API the
 * same thing, with the same exit status (0, or 69 when the broker is
 * not there or a check fails).
 * compat: RabbitMQ's CLI options -q/--quiet, -s/--silent, -t/--timeout,
 * -p/--vhost and --no-table-headers; -n/--node and -l/--longnames are
 * taken and ignored (one node). Other commands are refused (64).
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/ctl.h"
#include "lib/xmalloc.h"

static const char *const shim_names[] = {
	"rabbitmqctl", "rabbitmq-diagnostics",
};

/* A RabbitMQ command: warrenctl's words; "@" takes the next argument. */
static const struct shim_cmd {
	const char	*name;
	const char	*words[4];
} shim_cmds[] = {
	{ "ping", { "ping" } },
	{ "check_running", { "ping" } },
	{ "node_health_check", { "ping" } },
	{ "status", { "show", "overview" } },
	{ "await_startup", { "await_startup" } },
	{ "check_local_alarms", { "health_check", "local_alarms" } },
	{ "check_alarms", { "health_check", "cluster_wide_alarms" } },
	{ "check_port_connectivity", { "health_check", "port_connectivity" } },
	{ "check_virtual_hosts", { "health_check", "virtual_hosts" } },
	{ "check_port_listener", { "health_check", "port_listener", "--port",
	    "@" } },
	{ "check_protocol_listener", { "health_check", "protocol_listener",
	    "--protocol", "@" } },
	{ "list_queues", { "queues", "list" } },
};

bool
ctl_shim_is(const char *argv0)
{
	char copy[256];
	const char *base;

	snprintf(copy, sizeof(copy), "%s", argv0 != NULL ? argv0 : "");
	base = basename(copy);
	for (size_t i = 0; i < sizeof(shim_names) / sizeof(shim_names[0]); i++)
		if (strcmp(base, shim_names[i]) == 0)
			return true;
	return false;
}

static bool
opt_is(const char *a, const char *shrt, const char *lng)
{
	return strcmp(a, shrt) == 0 || strcmp(a, lng) == 0;
}

int
ctl_shim_run(struct ctl *c, int argc, char **argv)
{
	const char **out = xcalloc((size_t)argc + 16, sizeof(*out));
	const struct shim_cmd *sc = NULL;
	const char *vhost = NULL, *timeout = NULL;
	char *items = NULL;
	bool quiet = false;
	int n = 0, i, rc;

	out[n++] = "warrenctl";
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (opt_is(a, "-q", "--quiet") || opt_is(a, "-s", "--silent"))
			quiet = true;
		else if (strcmp(a, "--no-table-headers") == 0)
			c->out.no_header = true;
		else if (opt_is(a, "-l", "--longnames"))
			continue;
		else if (opt_is(a, "-n", "--node") && i + 1 < argc)
			i++;
		else if (opt_is(a, "-t", "--timeout") && i + 1 < argc)
			timeout = argv[++i];
		else if (opt_is(a, "-p", "--vhost") && i + 1 < argc)
			vhost = argv[++i];
		else {
			free(out);
			return ctl_fail(CTL_EX_USAGE, "unsupported option %s "
			    "(warren's %s takes -q, -s, -n, -t, -p, -l and "
			    "--no-table-headers)", a, basename(argv[0]));
		}
	}
	if (i < argc)
		for (size_t k = 0; k < sizeof(shim_cmds) / sizeof(shim_cmds[0]);
		    k++)
			if (strcmp(argv[i], shim_cmds[k].name) == 0)
				sc = &shim_cmds[k];
	if (sc == NULL) {
		free(out);
		return ctl_fail(CTL_EX_USAGE, "%s: warren answers ping, "
		    "check_running, status, await_startup, check_local_alarms, "
		    "check_alarms, check_port_connectivity, check_virtual_hosts,"
		    " check_port_listener, check_protocol_listener and "
		    "list_queues; warrenctl does the rest", i < argc ? argv[i] :
		    "no command");
	}
	i++;
	if (quiet)
		out[n++] = "-q";
	if (timeout != NULL) {
		out[n++] = "--timeout";
		out[n++] = timeout;
	}
	if (vhost != NULL) {
		out[n++] = "--vhost";
		out[n++] = vhost;
	}
	for (size_t w = 0; w < 4 && sc->words[w] != NULL; w++) {
		if (strcmp(sc->words[w], "@") != 0)
			out[n++] = sc->words[w];
		else if (i < argc)
			out[n++] = argv[i++];
		else {
			free(out);
			return ctl_fail(CTL_EX_USAGE, "%s needs an argument",
			    sc->name);
		}
	}
	if (strcmp(sc->name, "list_queues") == 0) {
		/* compat: rabbitmqctl's info items are the API's fields. */
		size_t len = 1;

		for (int k = i; k < argc; k++)
			len += strlen(argv[k]) + 1;
		items = xmalloc(len + 16);
		items[0] = '\0';
		for (; i < argc; i++)
			strcat(strcat(items, items[0] ? "," : ""), argv[i]);
		if (items[0] == '\0')
			strcpy(items, "name,messages");
		out[n++] = "--format";
		out[n++] = "tsv";
		out[n++] = "--columns";
		out[n++] = items;
		if (!quiet)
			printf("Timeout: %s seconds ...\nListing queues for "
			    "vhost %s ...\n", timeout != NULL ? timeout :
			    "60.0", vhost != NULL ? vhost : "/");
	} else if (i < argc) {
		free(out);
		return ctl_fail(CTL_EX_USAGE, "%s takes no argument %s",
		    sc->name, argv[i]);
	}
	out[n] = NULL;
	rc = ctl_run(c, n, (char **)out);
	free(items);
	free(out);
	return rc;
}
