/*
 * warrend.conf: RabbitMQ's rabbitmq.conf format (Cuttlefish's sysctl-like
 * "key = value" lines) with RabbitMQ's key names mapped onto warren's
 * options, so a simple rabbitmq.conf works unchanged. Every option of
 * server/config_table.h is also a key under its own name.
 */
#include "autoconf.h"

#include "server/config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum map_kind {
	MAP_PLAIN,	/* the value as it is */
	MAP_LISTENER,	/* "port" or "ip:port": the port, and bind */
	MAP_NONE_ONLY,	/* listeners.tcp = none: only "none", warned */
	MAP_BOOL,	/* true/false to 1/0 */
	MAP_VERIFY,	/* verify_peer/verify_none to 1/0 */
	MAP_TAG,	/* default_user_tags.TAG = true|false */
	MAP_USER,	/* loopback_users.NAME = true|false */
	MAP_LIST,	/* loopback_users = none, or warren's own list */
	MAP_LEVEL,	/* RabbitMQ's log levels to warren's */
	MAP_MS,		/* milliseconds to seconds, rounded up */
	MAP_INFINITY,	/* "infinity" to 0 (no limit) */
	MAP_LOG_FILE,	/* a path, or false for none */
	MAP_LOG_CONSOLE, /* true or false */
	MAP_BACKEND,	/* definitions.import_backend = local_filesystem */
};

/*
 * compat: RabbitMQ 3.10's keys (rabbit's and the management and
 * prometheus plugins' schemas) that mean what a warren option means.
 * A key ending in '.' is a family: listeners.tcp.NAME and so on.
 */
static const struct rabbit_key {
	const char	*key;
	const char	*option;
	enum map_kind	 kind;
} rabbit_keys[] = {
	{ "listeners.tcp", "tcp-listener", MAP_NONE_ONLY },
	{ "listeners.tcp.", "port", MAP_LISTENER },
	{ "listeners.ssl", "tls-port", MAP_NONE_ONLY },
	{ "listeners.ssl.", "tls-port", MAP_LISTENER },
	{ "ssl_options.cacertfile", "tls-ca", MAP_PLAIN },
	{ "ssl_options.certfile", "tls-cert", MAP_PLAIN },
	{ "ssl_options.keyfile", "tls-key", MAP_PLAIN },
	{ "ssl_options.verify", "tls-verify-peer", MAP_VERIFY },
	{ "ssl_options.fail_if_no_peer_cert", "tls-fail-if-no-peer-cert",
	    MAP_BOOL },
	{ "ssl_cert_login_from", "tls-cert-login-from", MAP_PLAIN },
	{ "default_user", "default-user", MAP_PLAIN },
	{ "default_pass", "default-pass", MAP_PLAIN },
	{ "default_vhost", "default-vhost", MAP_PLAIN },
	{ "default_user_tags", "default-user-tags", MAP_LIST },
	{ "default_user_tags.", "default-user-tags", MAP_TAG },
	{ "loopback_users", "loopback-users", MAP_LIST },
	{ "loopback_users.", "loopback-users", MAP_USER },
	{ "heartbeat", "heartbeat", MAP_PLAIN },
	{ "frame_max", "frame-max", MAP_PLAIN },
	{ "channel_max", "channel-max", MAP_PLAIN },
	{ "max_message_size", "max-message-size", MAP_PLAIN },
	{ "handshake_timeout", "handshake-timeout", MAP_MS },
	{ "connection_max", "connection-max", MAP_INFINITY },
	{ "consumer_max_per_channel", "consumer-max-per-channel",
	    MAP_INFINITY },
	{ "consumer_timeout", "consumer-timeout", MAP_PLAIN },
	{ "collect_statistics_interval", "collect-statistics-interval",
	    MAP_PLAIN },
	{ "vm_memory_high_watermark.relative",
	    "memory-high-watermark-relative", MAP_PLAIN },
	{ "vm_memory_high_watermark.absolute", "memory-high-watermark",
	    MAP_PLAIN },
	{ "disk_free_limit.absolute", "disk-free-limit", MAP_PLAIN },
	{ "management.tcp.port", "admin-port", MAP_PLAIN },
	{ "management.tcp.ip", "bind", MAP_PLAIN },
	{ "management.ssl.port", "admin-tls-port", MAP_PLAIN },
	{ "management.ssl.cacertfile", "tls-ca", MAP_PLAIN },
	{ "management.ssl.certfile", "tls-cert", MAP_PLAIN },
	{ "management.ssl.keyfile", "tls-key", MAP_PLAIN },
	{ "management.load_definitions", "load-definitions", MAP_PLAIN },
	{ "prometheus.tcp.port", "prometheus-port", MAP_PLAIN },
	{ "prometheus.tcp.ip", "bind", MAP_PLAIN },
	{ "load_definitions", "load-definitions", MAP_PLAIN },
	{ "definitions.local.path", "load-definitions", MAP_PLAIN },
	{ "definitions.import_backend", "load-definitions", MAP_BACKEND },
	{ "log.file", "log-file", MAP_LOG_FILE },
	{ "log.file.level", "log-file-level", MAP_LEVEL },
	{ "log.file.formatter", "log-file-format", MAP_PLAIN },
	{ "log.console", "log-console", MAP_LOG_CONSOLE },
	{ "log.console.level", "log-level", MAP_LEVEL },
	{ "log.console.formatter", "log-console-format", MAP_PLAIN },
};
#define NRABBIT (sizeof(rabbit_keys) / sizeof(rabbit_keys[0]))

/*
 * compat: other keys of RabbitMQ's schemas, which warren accepts with a
 * warning so a rabbitmq.conf still starts it. A key ending in '.' is a
 * family. Checked after rabbit_keys, so "management." covers only the
 * management keys not mapped above.
 */
static const char *const unsupported[] = {
	"disk_free_limit.relative",
	"vm_memory_high_watermark_paging_ratio",
	"vm_memory_calculation_strategy",
	"total_memory_available_override_value",
	"memory_monitor_interval",
	"log.file.",			/* rotation: logrotate's job */
	"log.console.",			/* stdio, use_colors, ... */
	"log.exchange", "log.exchange.", "log.syslog", "log.syslog.",
	"log.dir", "log.default.", "log.connection.", "log.channel.",
	"log.queue.", "log.mirroring.", "log.federation.", "log.upgrade.",
	"log.ra.", "log.prelaunch.",
	"listeners.", "tcp_listen_options.", "num_acceptors.",
	"ssl_handshake_timeout", "ssl_options.", "ssl_allow_poodle_attack",
	"auth_mechanisms.", "auth_backends.", "auth_ldap.", "auth_http.",
	"auth_oauth2.", "auth_cache.", "password_hashing_module",
	"reverse_dns_lookups", "delegate_count", "channel_operation_timeout",
	"cluster_formation.", "cluster_name", "cluster_partition_handling",
	"cluster_partition_handling.", "cluster_keepalive_interval",
	"cluster_nodes.", "queue_master_locator", "queue_leader_locator",
	"queue_index_embed_msgs_below", "queue_index_max_journal_entries",
	"mirroring_sync_batch_size", "mirroring_sync_max_throughput",
	"proxy_protocol", "default_permissions.", "definitions.",
	"background_gc_enabled", "background_gc_target_interval",
	"credit_flow_default_credit.", "msg_store_", "msg_store_index_module",
	"msg_store_file_size_limit", "hipe_compile", "anonymous_login_user",
	"anonymous_login_pass", "vhost_max", "session_max_per_connection",
	"channel_max_per_node", "writer_gc_threshold", "deprecated_features.",
	"lazy_queue_explicit_gc_run_operation_threshold",
	"queue_explicit_gc_run_operation_threshold", "distribution.",
	"mnesia_table_loading_retry_timeout", "mnesia_table_loading_retry_limit",
	"raft.", "quorum_queue.", "stream.", "classic_queue.",
	"trust_store.", "peer_discovery_", "autocluster.",
	"dead_letter_worker_consumer_prefetch",
	"dead_letter_worker_publisher_confirm_timeout",
	"message_interceptors.", "net_ticktime", "tcp_listen_options",
	"management.", "management_agent.", "prometheus.", "mqtt.", "stomp.",
	"web_mqtt.", "web_stomp.", "amqp1_0.", "shovel.", "federation.",
	"consistent_hash_exchange.", "stream_management.",
};
#define NUNSUPPORTED (sizeof(unsupported) / sizeof(unsupported[0]))

const char *
config_file_rabbit_key(size_t i)
{
	return i < NRABBIT ? rabbit_keys[i].key : NULL;
}

/* Whether key is pattern, or in the family pattern ("x." matches "x.y"). */
static bool
key_matches(const char *pattern, const char *key)
{
	size_t n = strlen(pattern);

	if (n > 0 && (pattern[n - 1] == '.' || pattern[n - 1] == '_'))
		return strncmp(pattern, key, n) == 0 && key[n] != '\0';
	return strcmp(pattern, key) == 0;
}

/* State of one file's load. */
struct file_load {
	struct config	*c;
	const char	*path;
	int		 line;
	const char	*key;
	/* The line and key that set each option from this file. */
	int		 set_line[CONFIG_NOPTIONS];
	char		*set_key[CONFIG_NOPTIONS];
	/* RabbitMQ replaces its whole list at the first .NAME key. */
	bool		 tags_seen, users_seen;
};

static void
file_warn(struct file_load *fl, const char *why)
{
	fprintf(stderr, "warrend: %s:%d: warning: %s: %s\n", fl->path,
	    fl->line, fl->key, why);
	fl->c->warnings++;
}

static int
file_error(struct file_load *fl, const char *why, const char *value)
{
	if (value != NULL)
		fprintf(stderr, "warrend: %s:%d: %s = %s: %s\n", fl->path,
		    fl->line, fl->key, value, why);
	else
		fprintf(stderr, "warrend: %s:%d: %s: %s\n", fl->path,
		    fl->line, fl->key, why);
	return -1;
}

/*
 * Sets option to value from the current line (shown: the value as the
 * file gave it, for errors). Two different keys of the file setting one
 * option (listeners.tcp.a and listeners.tcp.b, or management.tcp.ip and
 * prometheus.tcp.ip) to different values get a warning: warren has one
 * of what RabbitMQ may have several of.
 */
static int
file_set(struct file_load *fl, const char *option, const char *value,
    const char *shown)
{
	const struct config_option_info *o = config_option_find(option);
	size_t i = (size_t)(o - config_option_at(0));
	char src[4200], old[4096], now[4096], msg[4400];
	const char *why;

	snprintf(old, sizeof(old), "%s", config_value(fl->c, i, now,
	    sizeof(now)));
	snprintf(src, sizeof(src), "file %s:%d", fl->path, fl->line);
	if (config_set_from(fl->c, option, value, src, &why) == -1)
		return file_error(fl, why, shown);
	if (fl->set_key[i] != NULL && strcmp(fl->set_key[i], fl->key) != 0 &&
	    strcmp(old, config_value(fl->c, i, now, sizeof(now))) != 0) {
		snprintf(msg, sizeof(msg), "warren has one %s; this replaces "
		    "%s on line %d", option, fl->set_key[i], fl->set_line[i]);
		file_warn(fl, msg);
	}
	free(fl->set_key[i]);
	fl->set_key[i] = strdup(fl->key);
	fl->set_line[i] = fl->line;
	return 0;
}

static int
parse_bool(const char *v)
{
	if (strcmp(v, "true") == 0)
		return 1;
	if (strcmp(v, "false") == 0)
		return 0;
	return -1;
}

/*
 * Adds (on) or removes (off) name in the comma-separated list of option;
 * the first NAME key of the file starts from an empty list, as RabbitMQ's
 * schema builds the list from the keys alone.
 */
static int
file_list(struct file_load *fl, const char *option, const char *name,
    bool on, bool *seen)
{
	char cur[4096], list[4096], now[4096];
	size_t n = 0, i;
	char *tok, *save;

	snprintf(cur, sizeof(cur), "%s", *seen ? config_value(fl->c,
	    (size_t)(config_option_find(option) - config_option_at(0)), now,
	    sizeof(now)) : "");
	*seen = true;
	list[0] = '\0';
	for (tok = strtok_r(cur, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, name) == 0)
			continue;
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
		    n > 0 ? "," : "", tok);
		if (n >= sizeof(list))
			return file_error(fl, "list too long", NULL);
	}
	if (on)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
		    n > 0 ? "," : "", name);
	if (n >= sizeof(list))
		return file_error(fl, "list too long", NULL);
	/* Each NAME key adds to the list: no "replaces" warning. */
	i = (size_t)(config_option_find(option) - config_option_at(0));
	free(fl->set_key[i]);
	fl->set_key[i] = NULL;
	return file_set(fl, option, list, NULL);
}

/* listeners.tcp.NAME = 5672 | 0.0.0.0:5672 | ::1:5672 | [::1]:5672 */
static int
file_listener(struct file_load *fl, const char *option, char *v)
{
	char *colon = strrchr(v, ':'), *ip;
	size_t n;

	if (colon == NULL)
		return file_set(fl, option, v, v);
	*colon = '\0';
	ip = v;
	n = strlen(ip);
	if (n >= 2 && ip[0] == '[' && ip[n - 1] == ']') {
		ip[n - 1] = '\0';
		ip++;
	}
	if (ip[0] == '\0') {
		*colon = ':';
		return file_error(fl, "expected a port or IP:port", v);
	}
	if (file_set(fl, "bind", ip, ip) == -1)
		return -1;
	return file_set(fl, option, colon + 1, colon + 1);
}

/* compat: RabbitMQ's log levels (Erlang's logger's) onto warren's. */
static int
file_level(struct file_load *fl, const char *option, const char *v)
{
	static const struct {
		const char *rabbit, *warren;
	} levels[] = {
		{ "debug", "debug" }, { "info", "info" }, { "notice", "info" },
		{ "warning", "warn" }, { "warn", "warn" }, { "error", "error" },
		{ "critical", "error" }, { "alert", "error" },
		{ "emergency", "error" }, { "none", "none" },
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(v, levels[i].rabbit) == 0)
			return file_set(fl, option, levels[i].warren, v);
	return file_error(fl, "expected debug, info, notice, warning, error, "
	    "critical, alert, emergency or none", v);
}

static int
file_mapped(struct file_load *fl, const struct rabbit_key *rk, char *v)
{
	const char *name = fl->key + strlen(rk->key);
	char num[32];
	unsigned long long ms;
	char *end;
	int b;

	switch (rk->kind) {
	case MAP_PLAIN:
		return file_set(fl, rk->option, v, v);
	case MAP_LISTENER:
		return file_listener(fl, rk->option, v);
	case MAP_NONE_ONLY:
		if (strcmp(v, "none") != 0)
			return file_error(fl, "expected none (or use "
			    "the key's .default form)", v);
		/* compat: listeners.tcp = none leaves AMQP over TLS only. */
		if (strcmp(rk->option, "tcp-listener") == 0)
			return file_set(fl, rk->option, "0", v);
		file_warn(fl, "warren opens its amqps listener whenever "
		    "tls-cert and tls-key are set");
		return 0;
	case MAP_BOOL:
	case MAP_VERIFY:
		if (rk->kind == MAP_VERIFY)
			b = strcmp(v, "verify_peer") == 0 ? 1 :
			    strcmp(v, "verify_none") == 0 ? 0 : -1;
		else
			b = parse_bool(v);
		if (b == -1)
			return file_error(fl, rk->kind == MAP_VERIFY ?
			    "expected verify_peer or verify_none" :
			    "expected true or false", v);
		return file_set(fl, rk->option, b ? "1" : "0", v);
	case MAP_TAG:
	case MAP_USER:
		if ((b = parse_bool(v)) == -1)
			return file_error(fl, "expected true or false", v);
		return file_list(fl, rk->option, name, b == 1,
		    rk->kind == MAP_TAG ? &fl->tags_seen : &fl->users_seen);
	case MAP_LIST:
		/* Beyond "none", warren's own comma-separated list. */
		if (strcmp(rk->option, "loopback-users") == 0)
			fl->users_seen = true;
		else
			fl->tags_seen = true;
		return file_set(fl, rk->option, strcmp(v, "none") == 0 ? "" : v,
		    v);
	case MAP_LEVEL:
		return file_level(fl, rk->option, v);
	case MAP_MS:
		errno = 0;
		if (v[0] < '0' || v[0] > '9' ||
		    (ms = strtoull(v, &end, 10), errno != 0 || *end != '\0'))
			return file_error(fl, "not a number", v);
		/* compat: RabbitMQ's is in ms, warren's option in seconds. */
		snprintf(num, sizeof(num), "%llu", (ms + 999) / 1000);
		return file_set(fl, rk->option, num, v);
	case MAP_INFINITY:
		return file_set(fl, rk->option,
		    strcmp(v, "infinity") == 0 ? "0" : v, v);
	case MAP_LOG_FILE:
		/*
		 * compat: RabbitMQ takes a relative name in log.dir
		 * (/var/log/rabbitmq); warren's is relative to its working
		 * directory, and the systemd unit's log directory is
		 * /var/log/warren.
		 */
		return file_set(fl, rk->option, strcmp(v, "false") == 0 ?
		    "none" : v, v);
	case MAP_LOG_CONSOLE:
		if ((b = parse_bool(v)) == -1)
			return file_error(fl, "expected true or false", v);
		return file_set(fl, rk->option, b ? "1" : "0", v);
	case MAP_BACKEND:
		if (strcmp(v, "local_filesystem") != 0 &&
		    strcmp(v, "rabbit_definitions_import_local_filesystem") != 0)
			file_warn(fl, "warren loads definitions from a local "
			    "file only");
		return 0;
	}
	return 0;
}

/* compat: Cuttlefish's key: words of [A-Za-z0-9_-] joined by dots. */
static bool
key_valid(const char *k)
{
	bool word = false;

	for (; *k != '\0'; k++) {
		if (*k == '.') {
			if (!word)
				return false;
			word = false;
		} else if ((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		    (*k >= '0' && *k <= '9') || *k == '_' || *k == '-') {
			word = true;
		} else {
			return false;
		}
	}
	return word;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
file_line(struct file_load *fl, char *line)
{
	char *key, *val, *eq, *hash;
	size_t i;

	/*
	 * compat: in Cuttlefish a '#' anywhere starts a comment, also after
	 * a value (rabbitmq-server#2345): a password with '#' must come from
	 * the environment or the command line.
	 */
	if ((hash = strchr(line, '#')) != NULL)
		*hash = '\0';
	key = trim(line);
	fl->key = key;
	if (*key == '\0')
		return 0;
	if ((eq = strchr(key, '=')) == NULL)
		return file_error(fl, "expected key = value", NULL);
	*eq = '\0';
	key = trim(key);
	val = trim(eq + 1);
	fl->key = key;
	if (!key_valid(key))
		return file_error(fl, "not a key (words of letters, digits, "
		    "'_' and '-' joined by '.')", NULL);
	if (*val == '\0')
		return file_error(fl, "no value", NULL);
	for (i = 0; i < NRABBIT; i++)
		if (key_matches(rabbit_keys[i].key, key))
			return file_mapped(fl, &rabbit_keys[i], val);
	if (config_option_find(key) != NULL)
		return file_set(fl, key, val, val);
	for (i = 0; i < NUNSUPPORTED; i++)
		if (key_matches(unsupported[i], key)) {
			file_warn(fl, "a RabbitMQ setting warren does not "
			    "support; ignored");
			return 0;
		}
	return file_error(fl, "unknown key", NULL);
}

int
config_file_load(struct config *c, const char *path)
{
	struct file_load fl;
	char line[4096];
	FILE *f;
	int rc = 0;

	memset(&fl, 0, sizeof(fl));
	fl.c = c;
	fl.path = path;
	fl.key = "";
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "warrend: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);

		fl.line++;
		if (n == sizeof(line) - 1 && line[n - 1] != '\n' && !feof(f)) {
			fl.key = "";
			rc = file_error(&fl, "line longer than 4094 bytes",
			    NULL);
			break;
		}
		if ((rc = file_line(&fl, line)) == -1)
			break;
	}
	if (rc == 0 && ferror(f)) {
		fprintf(stderr, "warrend: %s: %s\n", path, strerror(errno));
		rc = -1;
	}
	fclose(f);
	for (size_t i = 0; i < CONFIG_NOPTIONS; i++)
		free(fl.set_key[i]);
	return rc;
}
