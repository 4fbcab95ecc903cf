#include "autoconf.h"

#include "lib/log.h"
#include "server/config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct option_info {
	const char		*name;
	enum config_type	 type;
	const char		*def;
	size_t			 offset;
	uint64_t		 min, max;
	const char		*help;
};

static const struct option_info options[] = {
#define CONFIG_X(name, type, def, field, min, max, help)	\
	{ name, type, def, offsetof(struct config, field), min, max, help },
#include "server/config_table.h"
#undef CONFIG_X
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static const struct option_info *
lookup(const char *name)
{
	for (size_t i = 0; i < NOPTIONS; i++) {
		const char *a = options[i].name, *b = name;

		/* Config-file keys use '_' where options use '-'. */
		while (*a && (*a == *b || (*a == '-' && *b == '_'))) {
			a++;
			b++;
		}
		if (*a == '\0' && *b == '\0')
			return &options[i];
	}
	return NULL;
}

int
config_set(struct config *c, const char *name, const char *value,
    const char **why)
{
	const struct option_info *o = lookup(name);
	char *end, **sp;
	unsigned long long v;

	if (o == NULL) {
		*why = "unknown option";
		return -1;
	}
	if (o->type == CONFIG_STR) {
		sp = (char **)(void *)((char *)c + o->offset);
		free(*sp);
		if ((*sp = strdup(value)) == NULL) {
			*why = "out of memory";
			return -1;
		}
		return 0;
	}
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
	if (v < o->min || v > o->max) {
		*why = "out of range";
		return -1;
	}
	*(uint64_t *)(void *)((char *)c + o->offset) = v;
	return 0;
}

void
config_usage(FILE *f)
{
	fprintf(f, "usage: warrend [options]\n\n");
	fprintf(f, "  --config FILE              read options from FILE "
	    "(key = value lines)\n");
	for (size_t i = 0; i < NOPTIONS; i++) {
		char left[64];

		snprintf(left, sizeof(left), "--%s %s", options[i].name,
		    options[i].type == CONFIG_INT ? "N" : "VALUE");
		fprintf(f, "  %-26s %s (default %s)\n", left, options[i].help,
		    options[i].def);
	}
	fprintf(f, "  %-26s %s\n", "--help", "print this help and exit");
	fprintf(f, "  %-26s %s\n", "--version", "print the version and exit");
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
load_file(struct config *c, const char *path)
{
	char line[4096], *key, *val, *eq;
	const char *why;
	FILE *f;
	int lineno = 0, rc = 0;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "warrend: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			fprintf(stderr, "warrend: %s:%d: expected key = value\n",
			    path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		if (config_set(c, key, val, &why) == -1) {
			fprintf(stderr, "warrend: %s:%d: %s: %s\n", path, lineno,
			    key, why);
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

enum config_result
config_load(struct config *c, int argc, char **argv)
{
	const char *why;
	int i;

	memset(c, 0, sizeof(*c));
	for (size_t k = 0; k < NOPTIONS; k++)
		if (config_set(c, options[k].name, options[k].def, &why) == -1) {
			fprintf(stderr, "warrend: bad default for %s\n",
			    options[k].name);
			return CONFIG_USAGE;
		}
	/* A config file is read first so the command line overrides it. */
	for (i = 1; i < argc; i++) {
		const char *path = NULL;

		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
		if (path == NULL)
			continue;
		free(c->config_file);
		if ((c->config_file = strdup(path)) == NULL ||
		    load_file(c, c->config_file) == -1)
			return CONFIG_USAGE;
	}
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *value;
		char *eq;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			config_usage(stdout);
			return CONFIG_EXIT_OK;
		}
		if (strcmp(arg, "--version") == 0) {
			printf("warrend %s\n", PACKAGE_VERSION);
			return CONFIG_EXIT_OK;
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
		if (config_set(c, name, value, &why) == -1) {
			fprintf(stderr, "warrend: --%s %s: %s\n", name, value,
			    why);
			if (strcmp(why, "unknown option") == 0)
				config_usage(stderr);
			return CONFIG_USAGE;
		}
	}
	if (strcmp(c->durability, "fsync") != 0 &&
	    strcmp(c->durability, "os") != 0) {
		fprintf(stderr, "warrend: --durability %s: expected fsync or "
		    "os\n", c->durability);
		return CONFIG_USAGE;
	}
	if (strcmp(c->tls_cert_login_from, "common_name") != 0 &&
	    strcmp(c->tls_cert_login_from, "distinguished_name") != 0) {
		fprintf(stderr, "warrend: --tls-cert-login-from %s: expected "
		    "common_name or distinguished_name\n",
		    c->tls_cert_login_from);
		return CONFIG_USAGE;
	}
	if (strcmp(c->admin_tls_port, "none") != 0 &&
	    config_admin_tls_port(c) == -1) {
		fprintf(stderr, "warrend: --admin-tls-port %s: expected none "
		    "or a port from 0 to 65535\n", c->admin_tls_port);
		return CONFIG_USAGE;
	}
	if (strcmp(c->prometheus_port, "none") != 0 &&
	    config_prometheus_port(c) == -1) {
		fprintf(stderr, "warrend: --prometheus-port %s: expected none "
		    "or a port from 0 to 65535\n", c->prometheus_port);
		return CONFIG_USAGE;
	}
	if (log_set_level_name(c->log_level) == -1) {
		fprintf(stderr, "warrend: --log-level %s: expected debug, info, "
		    "warn or error\n", c->log_level);
		return CONFIG_USAGE;
	}
	return CONFIG_OK;
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

void
config_free(struct config *c)
{
#define CONFIG_X(name, type, def, field, min, max, help)	\
	CONFIG_FREE_##type(c->field);
#define CONFIG_FREE_CONFIG_INT(f)
#define CONFIG_FREE_CONFIG_STR(f) free(f)
#include "server/config_table.h"
#undef CONFIG_X
	free(c->config_file);
}
