#include "autoconf.h"

#include "server/reload.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "server/broker.h"
#include "server/config.h"
#include "server/definitions.h"
#include "server/import.h"
#include "server/tls.h"

void
reload_init(struct broker *b, int argc, char **argv)
{
	b->argc = argc;
	b->argv = argv;
}

static void
open_log(const struct config *c, bool at_start)
{
	enum log_level level =
	    (enum log_level)log_level_from_name(c->log_file_level);
	enum log_format fmt =
	    (enum log_format)log_format_from_name(c->log_file_format);
	const char *path = strcmp(c->log_file, "none") == 0 ? NULL :
	    c->log_file;

	if (log_set_file(path, level, fmt) == 0)
		return;
	if (at_start)
		fatal("log file %s", path);
	log_warn("reload: log file %s, keeping the old one", path);
}

void
reload_open_log(struct broker *b)
{
	open_log(&b->cfg, true);
}

/* Options a reload applies (the rest wait for a restart). */
static bool
applied(const char *name)
{
	static const char *const live[] = {
		"log-level", "log-console", "log-console-format", "log-file",
		"log-file-level", "log-file-format", "tls-cert", "tls-key",
		"tls-ca", "load-definitions",
	};

	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (strcmp(name, live[i]) == 0)
			return true;
	return false;
}

static bool
changed(const struct config *a, const struct config *b, const char *name)
{
	char x[64], y[64];

	for (size_t i = 0; i < CONFIG_NOPTIONS; i++)
		if (strcmp(config_option_at(i)->name, name) == 0)
			return strcmp(config_value(a, i, x, sizeof(x)),
			    config_value(b, i, y, sizeof(y))) != 0;
	return false;
}

/* Moves option field from the new configuration into the broker's. */
#define TAKE(b, fresh, field) do {					\
	char *t_ = (b)->cfg.field;					\
	(b)->cfg.field = (fresh)->field;				\
	(fresh)->field = t_;						\
} while (0)

static void
definitions_done(void *arg, int rc, const char *err)
{
	if (rc == 0)
		log_info("reload: definitions applied");
	else
		log_warnx("reload: definitions not applied: %s", err);
}

static void
reload_definitions(struct broker *b)
{
	char err[512], *text;
	size_t len;

	if (strcmp(b->cfg.load_definitions, "none") == 0)
		return;
	if (import_job_running(b)) {
		log_warnx("reload: definitions not applied: an import is "
		    "under way");
		return;
	}
	if (definitions_read_file(b->cfg.load_definitions, DEFS_FILE_MAX,
	    &text, &len, err, sizeof(err)) == -1) {
		log_warnx("reload: definitions %s: %s", b->cfg.load_definitions,
		    err);
		return;
	}
	/* Applied a slice a turn (server/import_job.c), not in this one. */
	log_info("reload: applying definitions from %s",
	    b->cfg.load_definitions);
	/* arg: the job calls back only with one (NULL means forgotten). */
	import_job_start(b, text, text, len, NULL, definitions_done, b);
}

void
reload_run(struct broker *b)
{
	struct config fresh;
	char err[512], x[64];
	bool tls_changed;

	memset(&fresh, 0, sizeof(fresh));
	/* Errors go to stderr as at start; the old settings stay. */
	if (config_load(&fresh, b->argc, b->argv) != CONFIG_OK) {
		config_free(&fresh);
		log_warnx("reload: the configuration has errors (above); "
		    "nothing reloaded");
		if (log_reopen() == -1)
			log_warn("reload: log file");
		return;
	}
	for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
		const char *name = config_option_at(i)->name;

		if (!applied(name) && changed(&b->cfg, &fresh, name))
			log_warnx("reload: %s changed to %s; it takes effect "
			    "at the next start", name,
			    config_value(&fresh, i, x, sizeof(x)));
	}
	/* config_load set the console's threshold and format already. */
	TAKE(b, &fresh, log_level);
	TAKE(b, &fresh, log_console_format);
	b->cfg.log_console = fresh.log_console;
	if (changed(&b->cfg, &fresh, "log-file") ||
	    changed(&b->cfg, &fresh, "log-file-level") ||
	    changed(&b->cfg, &fresh, "log-file-format")) {
		TAKE(b, &fresh, log_file);
		TAKE(b, &fresh, log_file_level);
		TAKE(b, &fresh, log_file_format);
		open_log(&b->cfg, false);
	} else if (log_reopen() == -1)
		log_warn("reload: log file %s", b->cfg.log_file);
	log_info("reload: log settings applied (console %s at %s, file %s "
	    "at %s)", b->cfg.log_console ? b->cfg.log_console_format : "off",
	    b->cfg.log_level, b->cfg.log_file, b->cfg.log_file_level);

	tls_changed = changed(&b->cfg, &fresh, "tls-cert") ||
	    changed(&b->cfg, &fresh, "tls-key") ||
	    changed(&b->cfg, &fresh, "tls-ca");
	TAKE(b, &fresh, tls_cert);
	TAKE(b, &fresh, tls_key);
	TAKE(b, &fresh, tls_ca);
	if (b->tls == NULL) {
		if (tls_changed)
			log_warnx("reload: TLS was off at start; the "
			    "certificates take effect at the next start");
	} else if (tls_reload(b->tls, &b->cfg, err, sizeof(err)) == -1)
		log_warnx("reload: TLS certificates not reloaded, keeping "
		    "the old ones: %s", err);
	else
		log_info("reload: TLS certificates reloaded from %s",
		    b->cfg.tls_cert);

	TAKE(b, &fresh, load_definitions);
	reload_definitions(b);
	config_free(&fresh);
}
