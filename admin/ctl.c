#include "autoconf.h"

/*
 * warrenctl: the grammar table (global options, command flags, commands)
 * and the parser that reads it. Help and completion (ctl_help.c) are
 * generated from the same table, so a command cannot exist without its
 * help, its example and its completion.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/ctl.h"
#include "admin/ctl_cmd.h"
#include "admin/ctl_http.h"
#include "lib/json.h"
#include "lib/xmalloc.h"

const struct ctl_gopt ctl_gopts[G_COUNT] = {
	[G_HOST] = { "host", 'H', "HOST", "the API's host (localhost)" },
	[G_PORT] = { "port", 'P', "PORT", "the API's port (15672)" },
	[G_VHOST] = { "vhost", 'V', "VHOST",
	    "the virtual host (/); filters listings when given" },
	[G_USERNAME] = { "username", 'u', "USER", "user name (guest)" },
	[G_PASSWORD] = { "password", 'p', "PASS",
	    "password (guest); - reads it from stdin or a prompt" },
	[G_BASE_URI] = { "base-uri", 'U', "URI",
	    "the API's base, e.g. https://h:15671/prefix (overrides -H -P)" },
	[G_PATH_PREFIX] = { "path-prefix", 0, "PREFIX",
	    "a path before /api (a reverse proxy's)" },
	[G_TLS] = { "tls", 0, NULL, "use HTTPS" },
	[G_INSECURE] = { "insecure", 'k', NULL,
	    "do not verify the server's certificate" },
	[G_CA] = { "ca-certificate", 0, "FILE",
	    "trust the CA certificates in this PEM file" },
	[G_NODE] = { "node", 'N', "NAME",
	    "the config file section to use (default)" },
	[G_CONFIG] = { "config", 'c', "FILE",
	    "config file (~/.config/warrenctl.conf)" },
	[G_TIMEOUT] = { "timeout", 't', "SECONDS",
	    "per request (60); for await_startup, in all (300)" },
	[G_FORMAT] = { "format", 'f', "FORMAT",
	    "output: table (default), json or tsv" },
	[G_COLUMNS] = { "columns", 0, "LIST",
	    "the columns to show, e.g. name,message_stats.publish" },
	[G_QUIET] = { "quiet", 'q', NULL, "no progress or informational lines" },
	[G_VERBOSE] = { "verbose", 'v', NULL,
	    "show each request (twice: libcurl's trace)" },
	[G_HELP] = { "help", 'h', NULL, "this help" },
};

const struct ctl_flag ctl_flags[] = {
	{ "name", CTL_STR, "NAME", "the object's name; on lists a "
	    "case-insensitive substring filter" },
	{ "regex", CTL_BOOL, NULL, "--name is a regular expression" },
	{ "page", CTL_INT, "N", "only this page of the listing" },
	{ "page-size", CTL_INT, "N", "objects per page (1..500)" },
	{ "idempotently", CTL_BOOL, NULL, "succeed when it does not exist" },
	{ "type", CTL_STR, "TYPE", "queue type (classic, quorum, stream) or "
	    "exchange type (direct, fanout, topic, headers)" },
	{ "durable", CTL_BOOL, "BOOL", "survives a restart (true)" },
	{ "auto-delete", CTL_BOOL, "BOOL",
	    "deleted when its last user goes (false)" },
	{ "internal", CTL_BOOL, "BOOL", "clients cannot publish to it" },
	{ "arguments", CTL_JSON, "JSON", "optional arguments, a JSON object" },
	{ "if-empty", CTL_BOOL, NULL, "only if it has no messages" },
	{ "if-unused", CTL_BOOL, NULL, "only if it has no consumers or "
	    "bindings" },
	{ "source", CTL_STR, "EXCHANGE", "the source exchange" },
	{ "destination", CTL_STR, "NAME", "the destination queue or exchange" },
	{ "destination-type", CTL_STR, "TYPE", "queue (default) or exchange" },
	{ "routing-key", CTL_STR, "KEY", "the routing key (\"\")" },
	{ "properties-key", CTL_STR, "KEY",
	    "the binding's properties_key (found when not given)" },
	{ "exchange", CTL_STR, "EXCHANGE", "an exchange (\"\": the default)" },
	{ "queue", CTL_STR, "QUEUE", "a queue" },
	{ "payload", CTL_STR, "TEXT", "the message body" },
	{ "properties", CTL_JSON, "JSON",
	    "message properties, e.g. {\"delivery_mode\":2}" },
	{ "count", CTL_INT, "N", "how many messages (1)" },
	{ "ackmode", CTL_STR, "MODE", "ack_requeue_true (default), "
	    "ack_requeue_false, reject_requeue_true, reject_requeue_false" },
	{ "truncate", CTL_INT, "BYTES", "cut payloads to this length" },
	{ "pattern", CTL_STR, "REGEX", "the names the policy applies to" },
	{ "apply-to", CTL_STR, "KIND", "queues, exchanges or all (all)" },
	{ "priority", CTL_INT, "N", "the policy's priority (0)" },
	{ "definition", CTL_JSON, "JSON", "the policy's keys, a JSON object" },
	{ "description", CTL_STR, "TEXT", "the virtual host's description" },
	{ "default-queue-type", CTL_STR, "TYPE",
	    "the virtual host's default queue type" },
	{ "tracing", CTL_BOOL, "BOOL", "turn on tracing" },
	{ "tags", CTL_STR, "LIST", "comma-separated tags" },
	{ "password", CTL_STR, "PASS", "the new user's password" },
	{ "password-hash", CTL_STR, "HASH",
	    "the new user's password hash (instead of --password)" },
	{ "user", CTL_STR, "USER", "the user" },
	{ "configure", CTL_STR, "REGEX", "configure permission" },
	{ "write", CTL_STR, "REGEX", "write permission" },
	{ "read", CTL_STR, "REGEX", "read permission" },
	{ "value", CTL_INT, "N", "the limit (-1: none)" },
	{ "file", CTL_STR, "FILE", "the file (- or not given: stdin/stdout)" },
	{ "reason", CTL_STR, "TEXT", "the reason the client is told" },
	{ "port", CTL_INT, "PORT", "a port number" },
	{ "protocol", CTL_STR, "LIST", "protocols, e.g. amqp,http" },
};
const size_t ctl_nflags = sizeof(ctl_flags) / sizeof(ctl_flags[0]);

#define LIST_FLAGS	"name regex page page-size"

const struct ctl_cmd ctl_cmds[] = {
	{ "show", "overview", "", "the broker's overview",
	    "warrenctl show overview", cmd_show_overview },
	{ "show", "churn", "", "connection, channel and queue churn",
	    "warrenctl show churn", cmd_show_churn },

	{ "queues", "list", LIST_FLAGS, "list queues",
	    "warrenctl --vhost / queues list --name orders",
	    cmd_queues_list },
	{ "queues", "show", "name!", "one queue's details",
	    "warrenctl queues show --name orders", cmd_queues_show },
	{ "queues", "declare", "name! type durable auto-delete arguments",
	    "declare a queue",
	    "warrenctl queues declare --name orders --type quorum",
	    cmd_queues_declare },
	{ "queues", "delete", "name! idempotently if-empty if-unused",
	    "delete a queue",
	    "warrenctl queues delete --name orders --idempotently",
	    cmd_queues_delete },
	{ "queues", "purge", "name!", "drop a queue's ready messages",
	    "warrenctl queues purge --name orders", cmd_queues_purge },

	{ "exchanges", "list", LIST_FLAGS, "list exchanges",
	    "warrenctl exchanges list", cmd_exchanges_list },
	{ "exchanges", "show", "name!", "one exchange's details",
	    "warrenctl exchanges show --name events", cmd_exchanges_show },
	{ "exchanges", "declare",
	    "name! type durable auto-delete internal arguments",
	    "declare an exchange",
	    "warrenctl exchanges declare --name events --type topic",
	    cmd_exchanges_declare },
	{ "exchanges", "delete", "name! idempotently if-unused",
	    "delete an exchange",
	    "warrenctl exchanges delete --name events", cmd_exchanges_delete },
	{ "exchanges", "bind",
	    "source! destination! destination-type routing-key arguments",
	    "bind a queue or exchange to an exchange",
	    "warrenctl exchanges bind --source events --destination orders "
	    "--routing-key 'order.*'", cmd_exchanges_bind },
	{ "exchanges", "unbind", "source! destination! destination-type "
	    "routing-key properties-key arguments idempotently",
	    "remove a binding",
	    "warrenctl exchanges unbind --source events --destination orders "
	    "--routing-key 'order.*'", cmd_exchanges_unbind },

	{ "bindings", "list", "", "list bindings",
	    "warrenctl bindings list", cmd_bindings_list },

	{ "connections", "list", LIST_FLAGS, "list client connections",
	    "warrenctl connections list", cmd_connections_list },
	{ "connections", "close", "name! reason idempotently",
	    "close a client connection",
	    "warrenctl connections close --name '127.0.0.1:50000 -> "
	    "127.0.0.1:5672' --reason maintenance", cmd_connections_close },
	{ "channels", "list", LIST_FLAGS, "list channels",
	    "warrenctl channels list", cmd_channels_list },
	{ "consumers", "list", "", "list consumers",
	    "warrenctl consumers list", cmd_consumers_list },

	{ "vhosts", "list", LIST_FLAGS, "list virtual hosts",
	    "warrenctl vhosts list", cmd_vhosts_list },
	{ "vhosts", "declare",
	    "name! description tags default-queue-type tracing",
	    "create a virtual host",
	    "warrenctl vhosts declare --name staging", cmd_vhosts_declare },
	{ "vhosts", "delete", "name! idempotently", "delete a virtual host",
	    "warrenctl vhosts delete --name staging", cmd_vhosts_delete },

	{ "users", "list", "name regex", "list users",
	    "warrenctl users list", cmd_users_list },
	{ "users", "declare", "name! password password-hash tags",
	    "create or update a user",
	    "warrenctl users declare --name alice --password s3cret "
	    "--tags management", cmd_users_declare },
	{ "users", "delete", "name! idempotently", "delete a user",
	    "warrenctl users delete --name alice", cmd_users_delete },

	{ "permissions", "list", "user", "list permissions",
	    "warrenctl permissions list", cmd_permissions_list },
	{ "permissions", "declare", "user! configure! write! read!",
	    "grant a user permissions in the virtual host",
	    "warrenctl --vhost / permissions declare --user alice "
	    "--configure '.*' --write '.*' --read '.*'",
	    cmd_permissions_declare },
	{ "permissions", "delete", "user! idempotently",
	    "revoke a user's permissions in the virtual host",
	    "warrenctl permissions delete --user alice",
	    cmd_permissions_delete },

	{ "topic_permissions", "list", "user", "list topic permissions",
	    "warrenctl topic_permissions list",
	    cmd_topic_permissions_list },
	{ "topic_permissions", "declare", "user! exchange! write! read!",
	    "set a user's topic permissions on an exchange",
	    "warrenctl topic_permissions declare --user alice --exchange "
	    "amq.topic --write '^a\\.' --read '.*'",
	    cmd_topic_permissions_declare },
	{ "topic_permissions", "delete", "user! idempotently",
	    "clear a user's topic permissions in the virtual host",
	    "warrenctl topic_permissions delete --user alice",
	    cmd_topic_permissions_delete },

	{ "policies", "list", "name regex", "list policies",
	    "warrenctl policies list", cmd_policies_list },
	{ "policies", "declare",
	    "name! pattern! definition! apply-to priority",
	    "set a policy",
	    "warrenctl policies declare --name ttl --pattern '^tmp\\.' "
	    "--definition '{\"message-ttl\":60000}' --apply-to queues",
	    cmd_policies_declare },
	{ "policies", "delete", "name! idempotently", "delete a policy",
	    "warrenctl policies delete --name ttl", cmd_policies_delete },
	{ "operator_policies", "list", "name regex",
	    "list operator policies", "warrenctl operator_policies list",
	    cmd_operator_policies_list },
	{ "operator_policies", "declare",
	    "name! pattern! definition! apply-to priority",
	    "set an operator policy",
	    "warrenctl operator_policies declare --name cap --pattern '.*' "
	    "--definition '{\"max-length\":100000}' --apply-to queues",
	    cmd_operator_policies_declare },
	{ "operator_policies", "delete", "name! idempotently",
	    "delete an operator policy",
	    "warrenctl operator_policies delete --name cap",
	    cmd_operator_policies_delete },

	{ "vhost_limits", "list", "", "list virtual host limits",
	    "warrenctl vhost_limits list", cmd_vhost_limits_list },
	{ "vhost_limits", "declare", "name! value!",
	    "set a limit (max-connections, max-queues) on the virtual host",
	    "warrenctl --vhost / vhost_limits declare --name max-queues "
	    "--value 1000", cmd_vhost_limits_declare },
	{ "vhost_limits", "delete", "name! idempotently",
	    "clear a limit of the virtual host",
	    "warrenctl vhost_limits delete --name max-queues",
	    cmd_vhost_limits_delete },
	{ "user_limits", "list", "user", "list user limits",
	    "warrenctl user_limits list", cmd_user_limits_list },
	{ "user_limits", "declare", "user! name! value!",
	    "set a limit (max-connections, max-channels) on a user",
	    "warrenctl user_limits declare --user alice --name "
	    "max-connections --value 10", cmd_user_limits_declare },
	{ "user_limits", "delete", "user! name! idempotently",
	    "clear a user's limit",
	    "warrenctl user_limits delete --user alice --name "
	    "max-connections", cmd_user_limits_delete },

	{ "definitions", "export", "file",
	    "write the definitions (all, or the --vhost's) as JSON",
	    "warrenctl definitions export --file defs.json",
	    cmd_definitions_export },
	{ "definitions", "import", "file",
	    "load definitions (all, or into the --vhost)",
	    "warrenctl definitions import --file defs.json",
	    cmd_definitions_import },

	{ "get", "messages", "queue! count ackmode truncate",
	    "fetch messages from a queue (for development and tests)",
	    "warrenctl get messages --queue orders --count 5",
	    cmd_get_messages },
	{ "publish", "message", "exchange routing-key! payload properties",
	    "publish one message (for development and tests)",
	    "warrenctl publish message --routing-key orders --payload hello",
	    cmd_publish_message },

	{ "nodes", "list", "", "list cluster nodes",
	    "warrenctl nodes list", cmd_nodes_list },

	{ "health_check", "local_alarms", "",
	    "fail (69) if this node has a resource alarm",
	    "warrenctl health_check local_alarms", cmd_health_local_alarms },
	{ "health_check", "cluster_wide_alarms", "",
	    "fail (69) if any node has a resource alarm",
	    "warrenctl health_check cluster_wide_alarms",
	    cmd_health_cluster_wide_alarms },
	{ "health_check", "port_listener", "port!",
	    "fail (69) if nothing listens on the port",
	    "warrenctl health_check port_listener --port 5672",
	    cmd_health_port_listener },
	{ "health_check", "protocol_listener", "protocol!",
	    "fail (69) if no listener serves the protocol",
	    "warrenctl health_check protocol_listener --protocol amqp",
	    cmd_health_protocol_listener },
	{ "health_check", "port_connectivity", "",
	    "fail (69) unless every listener accepts a TCP connection",
	    "warrenctl health_check port_connectivity",
	    cmd_health_port_connectivity },
	{ "health_check", "virtual_hosts", "",
	    "fail (69) if a virtual host is down",
	    "warrenctl health_check virtual_hosts",
	    cmd_health_virtual_hosts },

	{ "ping", NULL, "", "check that the API answers (exit 0, one line)",
	    "warrenctl ping", cmd_ping },
	{ "await_startup", NULL, "",
	    "wait until the API answers (--timeout, 300 s)",
	    "warrenctl --timeout 60 await_startup", cmd_await_startup },
};
const size_t ctl_ncmds = sizeof(ctl_cmds) / sizeof(ctl_cmds[0]);

int
ctl_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("warrenctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int
flag_index(const char *name, size_t len)
{
	for (size_t i = 0; i < ctl_nflags; i++)
		if (strlen(ctl_flags[i].name) == len &&
		    strncmp(ctl_flags[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

const char *
ctl_arg(const struct ctl *c, const char *name)
{
	int i = flag_index(name, strlen(name));

	return i < 0 ? NULL : c->vals[i];
}

static int
parse_bool(const char *v, bool *out)
{
	if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
	    strcasecmp(v, "yes") == 0)
		*out = true;
	else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0 ||
	    strcasecmp(v, "no") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

bool
ctl_arg_bool(const struct ctl *c, const char *name, bool def)
{
	const char *v = ctl_arg(c, name);
	bool b;

	if (v == NULL || parse_bool(v, &b) != 0)
		return def;
	return b;
}

long
ctl_arg_long(const struct ctl *c, const char *name, long def)
{
	const char *v = ctl_arg(c, name);

	return v == NULL ? def : strtol(v, NULL, 10);
}

/* Whether the command's flag spec lists flag i; *required set. */
static bool
cmd_has_flag(const struct ctl_cmd *cmd, size_t i, bool *required)
{
	const char *p = cmd->flags, *e;
	size_t n = strlen(ctl_flags[i].name);

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		e = p;
		while (*e != '\0' && *e != ' ' && *e != '!')
			e++;
		if ((size_t)(e - p) == n && strncmp(p, ctl_flags[i].name,
		    n) == 0) {
			if (required != NULL)
				*required = *e == '!';
			return true;
		}
		p = *e == '!' ? e + 1 : e;
	}
	return false;
}

bool
ctl_cmd_has_flag(const struct ctl_cmd *cmd, size_t i, bool *required)
{
	return cmd_has_flag(cmd, i, required);
}

/* The global option for "--long" or "-s" (arg: "host" / "H"). */
static int
gopt_find(const char *arg, size_t len, bool is_short)
{
	for (int i = 0; i < G_COUNT; i++) {
		if (is_short ? (len == 1 && ctl_gopts[i].shrt == arg[0]) :
		    (strlen(ctl_gopts[i].lng) == len &&
		    strncmp(ctl_gopts[i].lng, arg, len) == 0))
			return i;
	}
	return -1;
}

static int
gopt_apply(struct ctl *c, int id, const char *v)
{
	struct ctl_conf *cf = &c->conf;
	char *end;
	long n;

	switch (id) {
	case G_HOST: ctl_conf_set(&cf->host, v); break;
	case G_PORT:
		errno = 0;
		n = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || n < 1 || n > 65535)
			return ctl_fail(CTL_EX_USAGE, "--port must be a port "
			    "number (1..65535), not '%s'", v);
		cf->port = (int)n;
		break;
	case G_VHOST:
		ctl_conf_set(&cf->vhost, v);
		cf->vhost_set = true;
		break;
	case G_USERNAME: ctl_conf_set(&cf->username, v); break;
	case G_PASSWORD: ctl_conf_set(&cf->password, v); break;
	case G_BASE_URI: ctl_conf_set(&cf->base_uri, v); break;
	case G_PATH_PREFIX: ctl_conf_set(&cf->path_prefix, v); break;
	case G_TLS: cf->tls = true; break;
	case G_INSECURE: cf->insecure = true; break;
	case G_CA: ctl_conf_set(&cf->ca_certificate, v); break;
	case G_NODE: ctl_conf_set(&cf->node, v); break;
	case G_CONFIG:
		ctl_conf_set(&cf->config, v);
		cf->config_given = true;
		break;
	case G_TIMEOUT:
		n = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || n < 1 || n > 86400)
			return ctl_fail(CTL_EX_USAGE, "--timeout must be "
			    "seconds (1..86400), not '%s'", v);
		cf->timeout = n;
		cf->timeout_set = true;
		break;
	case G_FORMAT:
		if (strcmp(v, "table") == 0)
			cf->fmt = CTL_FMT_TABLE;
		else if (strcmp(v, "json") == 0)
			cf->fmt = CTL_FMT_JSON;
		else if (strcmp(v, "tsv") == 0)
			cf->fmt = CTL_FMT_TSV;
		else
			return ctl_fail(CTL_EX_USAGE, "--format must be table, "
			    "json or tsv, not '%s'", v);
		cf->fmt_set = true;
		break;
	case G_COLUMNS: ctl_conf_set(&cf->columns, v); break;
	case G_QUIET: cf->quiet = true; break;
	case G_VERBOSE: cf->verbose++; break;
	default: break;
	}
	return 0;
}

/*
 * Tries argv[*i] as a global option. Returns 1 if it was one (and
 * consumed its value), 0 if not, or an exit code (as a negative number).
 */
static int
try_gopt(struct ctl *c, int argc, char **argv, int *i, bool *flagged,
    bool *help)
{
	const char *a = argv[*i], *name, *eq, *v = NULL;
	size_t len;
	bool is_short;
	int id, rc;

	if (a[0] != '-' || a[1] == '\0')
		return 0;
	is_short = a[1] != '-';
	name = a + (is_short ? 1 : 2);
	eq = is_short ? NULL : strchr(name, '=');
	len = eq ? (size_t)(eq - name) : strlen(name);
	if ((id = gopt_find(name, len, is_short)) < 0)
		return 0;
	if (id == G_HELP) {
		*help = true;
		return 1;
	}
	if (ctl_gopts[id].meta != NULL) {
		if (eq != NULL)
			v = eq + 1;
		else if (*i + 1 < argc)
			v = argv[++*i];
		else
			return -ctl_fail(CTL_EX_USAGE, "%s needs a value (%s)",
			    a, ctl_gopts[id].meta);
	} else if (eq != NULL) {
		return -ctl_fail(CTL_EX_USAGE, "--%s takes no value",
		    ctl_gopts[id].lng);
	}
	flagged[id] = true;
	if ((rc = gopt_apply(c, id, v)) != 0)
		return -rc;
	return 1;
}

static const struct ctl_cmd *
find_cmd(const char *group, const char *name)
{
	for (size_t i = 0; i < ctl_ncmds; i++)
		if (strcmp(ctl_cmds[i].group, group) == 0 &&
		    (ctl_cmds[i].name == NULL || (name != NULL &&
		    strcmp(ctl_cmds[i].name, name) == 0)))
			return &ctl_cmds[i];
	return NULL;
}

bool
ctl_group_exists(const char *group)
{
	for (size_t i = 0; i < ctl_ncmds; i++)
		if (strcmp(ctl_cmds[i].group, group) == 0)
			return true;
	return false;
}

/* Checks a command flag's value against its kind. */
static int
check_value(const struct ctl_flag *f, const char *v)
{
	char err[160], *end;
	struct json *j;
	long n;

	switch (f->kind) {
	case CTL_INT:
		errno = 0;
		n = strtol(v, &end, 10);
		(void)n;
		if (*v == '\0' || *end != '\0' || errno != 0)
			return ctl_fail(CTL_EX_USAGE, "--%s must be an "
			    "integer, not '%s'", f->name, v);
		break;
	case CTL_JSON:
		if ((j = json_parse(v, strlen(v), err, sizeof(err))) == NULL)
			return ctl_fail(CTL_EX_DATAERR, "--%s is not valid "
			    "JSON: %s", f->name, err);
		if (json_type(j) != JSON_OBJECT) {
			json_free(j);
			return ctl_fail(CTL_EX_DATAERR, "--%s must be a JSON "
			    "object", f->name);
		}
		json_free(j);
		break;
	default:
		break;
	}
	return 0;
}

/* Parses the command's flags (and global options among them). */
static int
parse_cmd_flags(struct ctl *c, int argc, char **argv, int i, bool *flagged,
    bool *help)
{
	const struct ctl_cmd *cmd = c->cmd;
	bool req;
	int rc;

	for (; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *v;
		size_t len;
		int fi;

		if (strncmp(a, "--", 2) == 0 && a[2] != '\0') {
			name = a + 2;
			eq = strchr(name, '=');
			len = eq ? (size_t)(eq - name) : strlen(name);
			fi = flag_index(name, len);
			if (fi >= 0 && cmd_has_flag(cmd, (size_t)fi, NULL)) {
				const struct ctl_flag *f = &ctl_flags[fi];

				if (eq != NULL) {
					v = eq + 1;
				} else if (f->kind == CTL_BOOL) {
					bool b;

					/* compat: v2 writes --durable true;
					 * a bare --durable means true. */
					v = "true";
					if (i + 1 < argc &&
					    parse_bool(argv[i + 1], &b) == 0)
						v = argv[++i];
				} else if (i + 1 < argc) {
					v = argv[++i];
				} else {
					return ctl_fail(CTL_EX_USAGE, "--%s needs "
					    "a value (%s)", f->name, f->meta);
				}
				if (f->kind == CTL_BOOL) {
					bool b;

					if (parse_bool(v, &b) != 0)
						return ctl_fail(CTL_EX_USAGE,
						    "--%s must be true or "
						    "false, not '%s'", f->name,
						    v);
				}
				if ((rc = check_value(f, v)) != 0)
					return rc;
				c->vals[fi] = v;
				continue;
			}
		}
		rc = try_gopt(c, argc, argv, &i, flagged, help);
		if (rc < 0)
			return -rc;
		if (rc == 1)
			continue;
		if (a[0] == '-')
			return ctl_fail(CTL_EX_USAGE, "unknown option %s (see "
			    "warrenctl %s%s%s --help)", a, cmd->group,
			    cmd->name ? " " : "", cmd->name ? cmd->name : "");
		return ctl_fail(CTL_EX_USAGE, "unexpected argument '%s'", a);
	}
	if (*help)
		return 0;
	for (size_t fi = 0; fi < ctl_nflags; fi++)
		if (cmd_has_flag(cmd, fi, &req) && req && c->vals[fi] == NULL)
			return ctl_fail(CTL_EX_USAGE, "%s%s%s needs --%s (see "
			    "warrenctl %s%s%s --help)", cmd->group,
			    cmd->name ? " " : "", cmd->name ? cmd->name : "",
			    ctl_flags[fi].name, cmd->group,
			    cmd->name ? " " : "", cmd->name ? cmd->name : "");
	return 0;
}

int
ctl_run(struct ctl *c, int argc, char **argv)
{
	bool flagged[G_COUNT] = { false }, help = false;
	const char *group = NULL, *name = NULL;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		rc = try_gopt(c, argc, argv, &i, flagged, &help);
		if (rc < 0)
			return -rc;
		if (rc == 0) {
			if (argv[i][0] == '-')
				return ctl_fail(CTL_EX_USAGE, "unknown option "
				    "%s (see warrenctl --help)", argv[i]);
			break;
		}
	}
	if (i >= argc) {
		ctl_help_program(help ? stdout : stderr);
		return help ? 0 : CTL_EX_USAGE;
	}
	group = argv[i++];
	if (strcmp(group, "help") == 0) {
		if (i >= argc) {
			ctl_help_program(stdout);
			return 0;
		}
		group = argv[i++];
		help = true;
	}
	if (strcmp(group, "completion") == 0) {
		if (help || i >= argc) {
			fprintf(help ? stdout : stderr, "Usage: warrenctl "
			    "completion bash|zsh\n\nPrints a shell completion "
			    "script.\n\nExample:\n  source <(warrenctl "
			    "completion bash)\n");
			return help ? 0 : CTL_EX_USAGE;
		}
		return ctl_completion(stdout, argv[i]);
	}
	if (!ctl_group_exists(group))
		return ctl_fail(CTL_EX_USAGE, "unknown command '%s' (see "
		    "warrenctl --help)", group);
	c->cmd = find_cmd(group, NULL);
	if (c->cmd == NULL || c->cmd->name != NULL) {
		/* A group with commands: the next word picks one. */
		if (i < argc && (strcmp(argv[i], "help") == 0 ||
		    strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0))
			help = true, i++;
		if (i >= argc || argv[i][0] == '-') {
			ctl_help_group(help ? stdout : stderr, group);
			if (help)
				return 0;
			return ctl_fail(CTL_EX_USAGE, "%s needs a command",
			    group);
		}
		name = argv[i++];
		if ((c->cmd = find_cmd(group, name)) == NULL)
			return ctl_fail(CTL_EX_USAGE, "unknown command '%s %s' "
			    "(see warrenctl %s --help)", group, name, group);
	}
	if ((rc = parse_cmd_flags(c, argc, argv, i, flagged, &help)) != 0)
		return rc;
	if (help) {
		ctl_help_cmd(stdout, c->cmd);
		return 0;
	}
	if ((rc = ctl_conf_load(&c->conf, flagged)) != 0)
		return rc;
	if ((rc = ctl_conf_read_password(&c->conf)) != 0)
		return rc;
	if (c->conf.columns != NULL) {
		struct ctl_column *cols;
		size_t ncols;
		const char *why;

		if ((why = ctl_out_parse_columns(c->conf.columns, &cols,
		    &ncols)) != NULL)
			return ctl_fail(CTL_EX_USAGE, "%s", why);
		free(cols);
	}
	c->out.fmt = c->conf.fmt;
	c->out.width = ctl_out_terminal_width(STDOUT_FILENO);
	c->out.color = ctl_out_want_color(STDOUT_FILENO);
	c->out.columns = c->conf.columns;
	return c->cmd->run(c);
}

int
main(int argc, char **argv)
{
	struct ctl c;
	int rc;

	memset(&c, 0, sizeof(c));
	ctl_conf_defaults(&c.conf);
	c.vals = xcalloc(ctl_nflags, sizeof(*c.vals));
	c.tty_err = isatty(STDERR_FILENO);
	rc = ctl_shim_is(argv[0]) ? ctl_shim_run(&c, argc, argv) :
	    ctl_run(&c, argc, argv);
	if (fflush(stdout) != 0 && rc == 0)
		rc = ctl_fail(CTL_EX_IOERR, "cannot write the output");
	ctl_http_free(c.http);
	ctl_conf_free(&c.conf);
	free(c.vals);
	return rc;
}
