/* Options from the command line and an optional config file. */
#ifndef WARREN_SERVER_CONFIG_H
#define WARREN_SERVER_CONFIG_H

#include <stdint.h>
#include <stdio.h>

enum config_type {
	CONFIG_INT,
	CONFIG_STR,
};

struct config {
#define CONFIG_X(name, type, def, field, min, max, help)	\
	CONFIG_FIELD_##type(field);
#define CONFIG_FIELD_CONFIG_INT(field) uint64_t field
#define CONFIG_FIELD_CONFIG_STR(field) char *field
#include "server/config_table.h"
#undef CONFIG_X
	char	*config_file;
};

enum config_result {
	CONFIG_OK,
	CONFIG_EXIT_OK,		/* --help or --version printed; exit 0 */
	CONFIG_USAGE,		/* bad usage; message printed; exit 2 */
};

/* Fills *c with defaults, then the config file, then argv (argv wins). */
enum config_result config_load(struct config *c, int argc, char **argv);
void	config_free(struct config *c);
/* Sets one option by name from a string; -1 with *why set on error. */
int	config_set(struct config *c, const char *name, const char *value,
	    const char **why);
void	config_usage(FILE *f);
/* --admin-tls-port as a port number, or -1 for none (no HTTPS listener). */
int	config_admin_tls_port(const struct config *c);
/* --prometheus-port the same way (-1: no metrics listener). */
int	config_prometheus_port(const struct config *c);

#endif /* WARREN_SERVER_CONFIG_H */
