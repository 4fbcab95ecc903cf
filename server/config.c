#include "autoconf.h"

#include "lib/log.h"
#include "server/config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef WARREN_SYSCONFDIR
#define WARREN_SYSCONFDIR "/etc"
#endif

static const struct config_option_info options[] = {
#define CONFIG_X(name, type, def, field, min, max, help)	\
	{ name, type, def, min, max, help },
#include "server/config_table.h"
#undef CONFIG_X
};

static const size_t offsets[] = {
#define CONFIG_X(name, type, def, field, min, max, help)	\
	offsetof(struct config, field),
#include "server/config_table.h"
#undef CONFIG_X
};

const struct config_option_info *
config_option_at(size_t i)
{
	return i < CONFIG_NOPTIONS ? &options[i] : NULL;
}

const struct config_option_info *
config_option_find(const char *name)
{
	for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
		const char *a = options[i].name, *b = name;

		/* Config-file keys may use '_' where options use '-'. */
		while (*a && (*a == *b || (*a == '-' && *b == '_'))) {
			a++;
			b++;
		}
		if (*a == '\0' && *b == '\0')
			return &options[i];
	}
	return NULL;
}

const char *
config_value(const struct config *c, size_t i, char *buf, size_t len)
{
	const char *p = (const char *)c + offsets[i];

	if (options[i].type == CONFIG_STR)
		return *(char *const *)(const void *)p;
	snprintf(buf, len, "%llu",
	    (unsigned long long)*(const uint64_t *)(const void *)p);
	return buf;
}

/*
 * compat: RabbitMQ's information units (rabbit_resource_monitor_misc):
 * digits, then nothing (bytes), kB/MB/GB (powers of 1000; any case but
 * "kB" spelled kB, KB, kb or Kb) or k/K/kiB/KiB/kib/KIB, M/m/MiB, G/g/GiB
 * (powers of 1024). No space, no fraction, no T.
 */
int
config_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char	*unit;
		uint64_t	 mult;
	} units[] = {
		{ "", 1 },
		{ "kB", 1000 }, { "KB", 1000 }, { "kb", 1000 }, { "Kb", 1000 },
		{ "MB", 1000000 }, { "mb", 1000000 }, { "Mb", 1000000 },
		{ "GB", 1000000000 }, { "gb", 1000000000 }, { "Gb", 1000000000 },
		{ "k", 1024 }, { "K", 1024 }, { "kiB", 1024 }, { "KiB", 1024 },
		{ "kib", 1024 }, { "KIB", 1024 },
		{ "m", 1048576 }, { "M", 1048576 }, { "MiB", 1048576 },
		{ "mib", 1048576 }, { "MIB", 1048576 },
		{ "g", 1073741824 }, { "G", 1073741824 }, { "GiB", 1073741824 },
		{ "gib", 1073741824 }, { "GIB", 1073741824 },
	};
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0) {
			if (v > UINT64_MAX / units[i].mult)
				return -1;
			*out = v * units[i].mult;
			return 0;
		}
	return -1;
}

/* A port number, or -1 for "none" or anything else. */
static int
port_or_none(const char *s)
{
	unsigned long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 65535)
		return -1;
	return (int)v;
}

/* A decimal fraction from 0 to 1 ("0.4", "1", ".5"), or -1. */
static double
fraction(const char *s)
{
	char *end;
	double v;

	if ((s[0] < '0' || s[0] > '9') && s[0] != '.')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v >= 0 && v <= 1))
		return -1;
	return v;
}

/* Why a string value is bad for its option, or NULL when it is fine. */
static const char *
check_string(const struct config_option_info *o, const char *v)
{
	if (strcmp(o->name, "durability") == 0 && strcmp(v, "fsync") != 0 &&
	    strcmp(v, "os") != 0)
		return "expected fsync or os";
	if (strcmp(o->name, "tls-cert-login-from") == 0 &&
	    strcmp(v, "common_name") != 0 &&
	    strcmp(v, "distinguished_name") != 0)
		return "expected common_name or distinguished_name";
	if ((strcmp(o->name, "admin-tls-port") == 0 ||
	    strcmp(o->name, "prometheus-port") == 0) &&
	    strcmp(v, "none") != 0 && port_or_none(v) == -1)
		return "expected none or a port from 0 to 65535";
	if ((strcmp(o->name, "log-level") == 0 ||
	    strcmp(o->name, "log-file-level") == 0) &&
	    log_level_from_name(v) < 0)
		return "expected debug, info, warn, error or none";
	if ((strcmp(o->name, "log-console-format") == 0 ||
	    strcmp(o->name, "log-file-format") == 0) &&
	    log_format_from_name(v) < 0)
		return "expected plaintext or json";
	if (strcmp(o->name, "log-file") == 0 && v[0] == '\0')
		return "must not be empty (none: no file)";
	if (strcmp(o->name, "memory-high-watermark-relative") == 0 &&
	    fraction(v) < 0)
		return "expected a fraction from 0 to 1";
	if ((strcmp(o->name, "default-user") == 0 ||
	    strcmp(o->name, "default-vhost") == 0) && v[0] == '\0')
		return "must not be empty";
	return NULL;
}

int
config_set_from(struct config *c, const char *name, const char *value,
    const char *source, const char **why)
{
	const struct config_option_info *o = config_option_find(name);
	size_t i;
	char *end, **sp, *src;
	unsigned long long v;
	uint64_t size;

	if (o == NULL) {
		*why = "unknown option";
		return -1;
	}
	i = (size_t)(o - options);
	if (o->type == CONFIG_STR) {
		char *copy;

		if ((*why = check_string(o, value)) != NULL)
			return -1;
		if ((copy = strdup(value)) == NULL) {
			*why = "out of memory";
			return -1;
		}
		sp = (char **)(void *)((char *)c + offsets[i]);
		free(*sp);
		*sp = copy;
	} else {
		if (o->type == CONFIG_SIZE) {
			if (config_parse_size(value, &size) == -1) {
				*why = "not a number of bytes (digits, then "
				    "optionally kB, MB, GB, KiB, MiB or GiB)";
				return -1;
			}
			v = size;
		} else {
			errno = 0;
			if (value[0] < '0' || value[0] > '9') {
				*why = "not a number";
				return -1;
			}
			v = strtoull(value, &end, 10);
			if (errno != 0 || *end != '\0') {
				*why = "not a number";
				return -1;
			}
		}
		if (v < o->min || v > o->max) {
			*why = "out of range";
			return -1;
		}
		*(uint64_t *)(void *)((char *)c + offsets[i]) = v;
	}
	if ((src = strdup(source)) != NULL) {
		free(c->source[i]);
		c->source[i] = src;
	}
	return 0;
}

int
config_set(struct config *c, const char *name, const char *value,
    const char **why)
{
	return config_set_from(c, name, value, "set", why);
}

void
config_usage(FILE *f)
{
	fprintf(f, "usage: warrend [options]\n\n");
	fprintf(f, "  --config FILE              read options from FILE "
	    "(warrend.conf(5), RabbitMQ's rabbitmq.conf keys)\n");
	fprintf(f, "  --print-config             print the effective "
	    "configuration and its sources, and exit\n");
	for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
		char left[64];

		snprintf(left, sizeof(left), "--%s %s", options[i].name,
		    options[i].type == CONFIG_STR ? "VALUE" : "N");
		fprintf(f, "  %-26s %s (default %s)\n", left, options[i].help,
		    options[i].def);
	}
	fprintf(f, "  %-26s %s\n", "--help", "print this help and exit");
	fprintf(f, "  %-26s %s\n", "--version", "print the version and exit");
}

/*
 * Which file to read: the last --config, else $WARREN_CONFIG_FILE, else
 * $RABBITMQ_CONFIG_FILE, else SYSCONFDIR/warren/warrend.conf when it
 * exists. *required says whether a missing file is an error (it is when
 * named). NULL: none.
 */
static const char *
find_file(int argc, char **argv, bool *required)
{
	static const char deflt[] = WARREN_SYSCONFDIR "/warren/warrend.conf";
	const char *path = NULL, *env;

	*required = true;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
		else if (strncmp(argv[i], "--", 2) == 0 &&
		    strchr(argv[i], '=') == NULL && i + 1 < argc &&
		    strcmp(argv[i], "--help") != 0 &&
		    strcmp(argv[i], "--version") != 0 &&
		    strcmp(argv[i], "--print-config") != 0)
			i++;	/* skip an option's value */
	}
	if (path != NULL)
		return path;
	if ((env = getenv("WARREN_CONFIG_FILE")) != NULL && env[0] != '\0')
		return env;
	if ((env = getenv("RABBITMQ_CONFIG_FILE")) != NULL && env[0] != '\0')
		return env;
	*required = false;
	return access(deflt, F_OK) == 0 ? deflt : NULL;
}

/*
 * compat: RabbitMQ's container variables, then WARREN_<OPTION> for every
 * option (WARREN_DATA_DIR for --data-dir). An empty variable counts as
 * unset, as in RabbitMQ's scripts.
 */
static int
load_env(struct config *c)
{
	static const struct {
		const char	*var, *option;
	} rabbit[] = {
		{ "RABBITMQ_DEFAULT_USER", "default-user" },
		{ "RABBITMQ_DEFAULT_PASS", "default-pass" },
		{ "RABBITMQ_DEFAULT_VHOST", "default-vhost" },
		{ "RABBITMQ_NODENAME", "node-name" },
	};
	char var[96], src[112];
	const char *v, *why;

	for (size_t i = 0; i < sizeof(rabbit) / sizeof(rabbit[0]); i++) {
		if ((v = getenv(rabbit[i].var)) == NULL || v[0] == '\0')
			continue;
		snprintf(src, sizeof(src), "env %s", rabbit[i].var);
		if (config_set_from(c, rabbit[i].option, v, src, &why) == -1) {
			fprintf(stderr, "warrend: %s=%s: %s\n", rabbit[i].var,
			    v, why);
			return -1;
		}
	}
	for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
		size_t n = 0;

		n = (size_t)snprintf(var, sizeof(var), "WARREN_");
		for (const char *p = options[i].name; *p && n + 1 < sizeof(var);
		    p++)
			var[n++] = *p == '-' ? '_' :
			    (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		var[n] = '\0';
		if ((v = getenv(var)) == NULL || v[0] == '\0')
			continue;
		snprintf(src, sizeof(src), "env %s", var);
		if (config_set_from(c, options[i].name, v, src, &why) == -1) {
			fprintf(stderr, "warrend: %s=%s: %s\n", var, v, why);
			return -1;
		}
	}
	return 0;
}

enum config_result
config_load(struct config *c, int argc, char **argv)
{
	const char *why, *path;
	bool required, print = false;
	int i;

	memset(c, 0, sizeof(*c));
	for (size_t k = 0; k < CONFIG_NOPTIONS; k++)
		if (config_set_from(c, options[k].name, options[k].def,
		    "default", &why) == -1) {
			fprintf(stderr, "warrend: bad default for %s\n",
			    options[k].name);
			return CONFIG_USAGE;
		}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			config_usage(stdout);
			return CONFIG_EXIT_OK;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("warrend %s\n", PACKAGE_VERSION);
			return CONFIG_EXIT_OK;
		}
	}
	/* spec: flags > environment > file > defaults (warrend.conf(5)). */
	if ((path = find_file(argc, argv, &required)) != NULL) {
		if ((c->config_file = strdup(path)) == NULL)
			return CONFIG_USAGE;
		if (config_file_load(c, c->config_file) == -1)
			return CONFIG_USAGE;
	}
	if (load_env(c) == -1)
		return CONFIG_USAGE;
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *value;
		char *eq, src[96];

		if (strcmp(arg, "--print-config") == 0) {
			print = true;
			continue;
		}
		if (strncmp(arg, "--", 2) != 0) {
			fprintf(stderr, "warrend: unexpected argument '%s'\n",
			    arg);
			config_usage(stderr);
			return CONFIG_USAGE;
		}
		name = arg + 2;
		if ((eq = strchr(name, '=')) != NULL) {
			*eq = '\0';	/* --name=value */
			value = eq + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			fprintf(stderr, "warrend: option '%s' needs a value\n",
			    arg);
			return CONFIG_USAGE;
		}
		if (strcmp(name, "config") == 0)
			continue;
		snprintf(src, sizeof(src), "flag --%s", name);
		if (config_set_from(c, name, value, src, &why) == -1) {
			fprintf(stderr, "warrend: --%s %s: %s\n", name, value,
			    why);
			if (strcmp(why, "unknown option") == 0)
				config_usage(stderr);
			return CONFIG_USAGE;
		}
	}
	log_set_console(c->log_console != 0,
	    (enum log_level)log_level_from_name(c->log_level),
	    (enum log_format)log_format_from_name(c->log_console_format));
	if (print) {
		config_print(c, stdout);
		return CONFIG_EXIT_OK;
	}
	return CONFIG_OK;
}

int
config_admin_tls_port(const struct config *c)
{
	return port_or_none(c->admin_tls_port);
}

int
config_prometheus_port(const struct config *c)
{
	return port_or_none(c->prometheus_port);
}

double
config_memory_relative(const struct config *c)
{
	double v = fraction(c->memory_high_watermark_relative);

	return v < 0 ? 0.4 : v;
}

void
config_free(struct config *c)
{
#define CONFIG_X(name, type, def, field, min, max, help)	\
	CONFIG_FREE_##type(c->field);
#define CONFIG_FREE_CONFIG_INT(f)
#define CONFIG_FREE_CONFIG_SIZE(f)
#define CONFIG_FREE_CONFIG_STR(f) free(f)
#include "server/config_table.h"
#undef CONFIG_X
	for (size_t i = 0; i < CONFIG_NOPTIONS; i++)
		free(c->source[i]);
	free(c->config_file);
}
