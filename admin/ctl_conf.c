#include "autoconf.h"

/*
 * warrenctl's connection settings: defaults, the config file, the
 * environment and the flags, in that order of increasing precedence.
 *
 * The config file is INI with one section per node (rabbitmqadmin v1's
 * ~/.rabbitmqadmin.conf shape): `[default]`, `[prod]`, selected with -N
 * or WARRENCTL_NODE. Its path: -c FILE, else $XDG_CONFIG_HOME/
 * warrenctl.conf, else ~/.config/warrenctl.conf; only a file named with -c
 * must exist. A line that is not a section, a known key or a comment is
 * an error naming the file and line (exit 78, EX_CONFIG).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "admin/ctl.h"
#include "lib/xmalloc.h"

void
ctl_conf_set(char **slot, const char *v)
{
	free(*slot);
	*slot = v != NULL ? xstrdup(v) : NULL;
}

void
ctl_conf_defaults(struct ctl_conf *cf)
{
	memset(cf, 0, sizeof(*cf));
	ctl_conf_set(&cf->host, "localhost");
	cf->port = 15672;
	ctl_conf_set(&cf->vhost, "/");
	ctl_conf_set(&cf->username, "guest");
	ctl_conf_set(&cf->password, "guest");
	cf->fmt = CTL_FMT_TABLE;
}

void
ctl_conf_free(struct ctl_conf *cf)
{
	char **s[] = { &cf->host, &cf->vhost, &cf->username, &cf->password,
	    &cf->base_uri, &cf->path_prefix, &cf->ca_certificate, &cf->node,
	    &cf->config, &cf->columns };

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		if (*s[i] != NULL && s[i] == &cf->password)
			memset(*s[i], 0, strlen(*s[i]));
		free(*s[i]);
		*s[i] = NULL;
	}
}

static int
parse_bool(const char *v, bool *out)
{
	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
	    strcmp(v, "1") == 0 || strcasecmp(v, "on") == 0)
		*out = true;
	else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
	    strcmp(v, "0") == 0 || strcasecmp(v, "off") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

static int
parse_long(const char *v, long lo, long hi, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (v[0] == '\0' || *end != '\0' || errno != 0 || n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

/*
 * Sets one setting by its config-file key (also used for the environment).
 * Returns 0, 1 for an unknown key, -1 for a bad value (*why says why).
 */
static int
conf_apply(struct ctl_conf *cf, const bool *flagged, const char *key,
    const char *v, const char **why)
{
	long n;
	bool b;

	if (strcmp(key, "hostname") == 0 || strcmp(key, "host") == 0) {
		if (!flagged[G_HOST])
			ctl_conf_set(&cf->host, v);
	} else if (strcmp(key, "port") == 0) {
		if (parse_long(v, 1, 65535, &n) != 0)
			return *why = "a port number (1..65535)", -1;
		if (!flagged[G_PORT])
			cf->port = (int)n;
	} else if (strcmp(key, "username") == 0) {
		if (!flagged[G_USERNAME])
			ctl_conf_set(&cf->username, v);
	} else if (strcmp(key, "password") == 0) {
		if (!flagged[G_PASSWORD])
			ctl_conf_set(&cf->password, v);
	} else if (strcmp(key, "vhost") == 0) {
		if (!flagged[G_VHOST]) {
			ctl_conf_set(&cf->vhost, v);
			cf->vhost_set = true;
		}
	} else if (strcmp(key, "base_uri") == 0) {
		if (!flagged[G_BASE_URI])
			ctl_conf_set(&cf->base_uri, v);
	} else if (strcmp(key, "path_prefix") == 0) {
		if (!flagged[G_PATH_PREFIX])
			ctl_conf_set(&cf->path_prefix, v);
	} else if (strcmp(key, "tls") == 0 || strcmp(key, "ssl") == 0) {
		if (parse_bool(v, &b) != 0)
			return *why = "true or false", -1;
		if (!flagged[G_TLS])
			cf->tls = b;
	} else if (strcmp(key, "insecure") == 0) {
		if (parse_bool(v, &b) != 0)
			return *why = "true or false", -1;
		if (!flagged[G_INSECURE])
			cf->insecure = b;
	} else if (strcmp(key, "ca_certificate") == 0) {
		if (!flagged[G_CA])
			ctl_conf_set(&cf->ca_certificate, v);
	} else if (strcmp(key, "timeout") == 0) {
		if (parse_long(v, 1, 86400, &n) != 0)
			return *why = "seconds (1..86400)", -1;
		if (!flagged[G_TIMEOUT]) {
			cf->timeout = n;
			cf->timeout_set = true;
		}
	} else {
		return 1;
	}
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Reads the file's section for cf->node. Returns 0 or an exit code. */
static int
conf_file(struct ctl_conf *cf, const bool *flagged, const char *path,
    bool must_exist)
{
	char line[4096], *p, *eq, *key, *val;
	bool in_node = false, found = false, any_section = false;
	const char *node = cf->node ? cf->node : "default", *why;
	unsigned lineno = 0;
	FILE *f;
	int rc = 0, r;

	if ((f = fopen(path, "r")) == NULL) {
		if (!must_exist && errno == ENOENT)
			return 0;
		return ctl_fail(CTL_EX_CONFIG, "cannot open %s: %s", path,
		    strerror(errno));
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			rc = ctl_fail(CTL_EX_CONFIG, "%s:%u: line too long",
			    path, lineno);
			goto out;
		}
		p = trim(line);
		if (*p == '\0' || *p == '#' || *p == ';')
			continue;
		if (*p == '[') {
			size_t n = strlen(p);

			if (p[n - 1] != ']' || n < 3) {
				rc = ctl_fail(CTL_EX_CONFIG, "%s:%u: a section "
				    "is written [name]", path, lineno);
				goto out;
			}
			p[n - 1] = '\0';
			in_node = strcmp(trim(p + 1), node) == 0;
			found |= in_node;
			any_section = true;
			continue;
		}
		if ((eq = strchr(p, '=')) == NULL) {
			rc = ctl_fail(CTL_EX_CONFIG, "%s:%u: expected "
			    "key = value or [node]", path, lineno);
			goto out;
		}
		*eq = '\0';
		key = trim(p);
		val = trim(eq + 1);
		if (!any_section) {
			rc = ctl_fail(CTL_EX_CONFIG, "%s:%u: '%s' is outside "
			    "a [node] section", path, lineno, key);
			goto out;
		}
		/* Check every section's keys, not only the selected one's:
		 * a typo in [prod] should not wait until -N prod. */
		{
			struct ctl_conf scratch;
			bool all[G_COUNT];

			memset(all, 1, sizeof(all));
			ctl_conf_defaults(&scratch);
			r = conf_apply(in_node ? cf : &scratch,
			    in_node ? flagged : all, key, val, &why);
			ctl_conf_free(&scratch);
		}
		if (r == 1) {
			rc = ctl_fail(CTL_EX_CONFIG, "%s:%u: unknown key '%s'",
			    path, lineno, key);
			goto out;
		}
		if (r < 0) {
			rc = ctl_fail(CTL_EX_CONFIG, "%s:%u: %s must be %s",
			    path, lineno, key, why);
			goto out;
		}
	}
	if (ferror(f)) {
		rc = ctl_fail(CTL_EX_CONFIG, "cannot read %s", path);
		goto out;
	}
	if (!found && cf->node != NULL)
		rc = ctl_fail(CTL_EX_CONFIG, "%s: no section [%s]", path,
		    node);
out:
	fclose(f);
	return rc;
}

static const struct {
	const char	*env;
	const char	*key;
} envs[] = {
	{ "WARRENCTL_HOST", "hostname" },
	{ "WARRENCTL_PORT", "port" },
	{ "WARRENCTL_USERNAME", "username" },
	{ "WARRENCTL_PASSWORD", "password" },
	{ "WARRENCTL_VHOST", "vhost" },
	{ "WARRENCTL_BASE_URI", "base_uri" },
	{ "WARRENCTL_PATH_PREFIX", "path_prefix" },
	{ "WARRENCTL_TLS", "tls" },
	{ "WARRENCTL_INSECURE", "insecure" },
	{ "WARRENCTL_CA_CERTIFICATE", "ca_certificate" },
	{ "WARRENCTL_TIMEOUT", "timeout" },
};

int
ctl_conf_load(struct ctl_conf *cf, const bool *flagged)
{
	const char *v, *why, *xdg, *home;
	char path[4096];
	int rc;

	if (!flagged[G_NODE] && (v = getenv("WARRENCTL_NODE")) != NULL &&
	    *v != '\0')
		ctl_conf_set(&cf->node, v);
	if (cf->config == NULL && (v = getenv("WARRENCTL_CONFIG")) != NULL &&
	    *v != '\0') {
		ctl_conf_set(&cf->config, v);
		cf->config_given = true;
	}
	if (cf->config != NULL) {
		snprintf(path, sizeof(path), "%s", cf->config);
	} else if ((xdg = getenv("XDG_CONFIG_HOME")) != NULL && *xdg != '\0') {
		snprintf(path, sizeof(path), "%s/warrenctl.conf", xdg);
	} else if ((home = getenv("HOME")) != NULL && *home != '\0') {
		snprintf(path, sizeof(path), "%s/.config/warrenctl.conf",
		    home);
	} else {
		path[0] = '\0';
	}
	if (path[0] != '\0' && (rc = conf_file(cf, flagged, path,
	    cf->config_given || cf->node != NULL)) != 0)
		return rc;
	for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
		if ((v = getenv(envs[i].env)) == NULL || *v == '\0')
			continue;
		if (conf_apply(cf, flagged, envs[i].key, v, &why) != 0)
			return ctl_fail(CTL_EX_CONFIG, "%s must be %s",
			    envs[i].env, why);
	}
	return 0;
}

int
ctl_conf_read_password(struct ctl_conf *cf)
{
	char line[1024];
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO);
	FILE *in = stdin;
	size_t n;

	if (cf->password == NULL || strcmp(cf->password, "-") != 0)
		return 0;
	if (tty) {
		fprintf(stderr, "Password for %s: ", cf->username);
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		} else {
			tty = false;
		}
	}
	if (fgets(line, sizeof(line), in) == NULL)
		line[0] = '\0';
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	ctl_conf_set(&cf->password, line);
	memset(line, 0, sizeof(line));
	return 0;
}
