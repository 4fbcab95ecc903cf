/*
 * SIGHUP: what warrend changes without a restart (compat: RabbitMQ has no
 * such signal; these are the settings its operators change most). The
 * configuration is read again exactly as at start (same command line,
 * file and environment); the log settings, the TLS certificate files and
 * the definitions file take effect at once, and every other option that
 * changed is logged as waiting for a restart. The log file is reopened
 * in any case, so logrotate can move it first. What was reloaded is
 * logged.
 */
#ifndef WARREN_SERVER_RELOAD_H
#define WARREN_SERVER_RELOAD_H

struct broker;

/* The command line warrend was started with, for the rereads. */
void	reload_init(struct broker *b, int argc, char **argv);
void	reload_run(struct broker *b);
/* Opens the log file of b->cfg, if any (at start); exits on failure. */
void	reload_open_log(struct broker *b);

#endif /* WARREN_SERVER_RELOAD_H */
