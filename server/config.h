/*
 * Options: defaults, then a warrend.conf file (RabbitMQ's rabbitmq.conf
 * format and keys), then the environment, then the command line.
 */
#ifndef WARREN_SERVER_CONFIG_H
#define WARREN_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum config_type {
	CONFIG_INT,
	CONFIG_SIZE,	/* a number of bytes; RabbitMQ's units (1GB, 512MiB) */
	CONFIG_STR,
};

/* One index per option of server/config_table.h, in table order. */
enum config_option {
#define CONFIG_X(name, type, def, field, min, max, help)	\
	CONFIG_OPT_##field,
#include "server/config_table.h"
#undef CONFIG_X
	CONFIG_NOPTIONS
};

struct config {
#define CONFIG_X(name, type, def, field, min, max, help)	\
	CONFIG_FIELD_##type(field);
#define CONFIG_FIELD_CONFIG_INT(field) uint64_t field
#define CONFIG_FIELD_CONFIG_SIZE(field) uint64_t field
#define CONFIG_FIELD_CONFIG_STR(field) char *field
#include "server/config_table.h"
#undef CONFIG_X
	char	*config_file;	/* the file read, or NULL */
	/* Where each value came from: "default", "file PATH:LINE", ... */
	char	*source[CONFIG_NOPTIONS];
	int	 warnings;	/* RabbitMQ keys in the file warren ignored */
};

enum config_result {
	CONFIG_OK,
	CONFIG_EXIT_OK,		/* --help, --version, --print-config; exit 0 */
	CONFIG_USAGE,		/* bad usage or config; message printed; exit 2 */
};

/* What an option looks like from outside: the table's row. */
struct config_option_info {
	const char		*name;
	enum config_type	 type;
	const char		*def;
	uint64_t		 min, max;
	const char		*help;
};

/*
 * Fills *c with defaults, then the config file (--config FILE, else
 * $WARREN_CONFIG_FILE, else $RABBITMQ_CONFIG_FILE, else
 * SYSCONFDIR/warren/warrend.conf when it exists), then the environment
 * (RABBITMQ_DEFAULT_USER/PASS/VHOST, RABBITMQ_NODENAME, WARREN_<OPTION>),
 * then argv: each overrides the one before.
 */
enum config_result config_load(struct config *c, int argc, char **argv);
void	config_free(struct config *c);
/* Sets one option by name from a string; -1 with *why set on error. */
int	config_set(struct config *c, const char *name, const char *value,
	    const char **why);
/* config_set recording where the value came from. */
int	config_set_from(struct config *c, const char *name, const char *value,
	    const char *source, const char **why);
/* The table row of an option by name ('_' or '-'), or NULL. */
const struct config_option_info *config_option_find(const char *name);
/* The i-th option of the table, i < CONFIG_NOPTIONS. */
const struct config_option_info *config_option_at(size_t i);
/* Option i's value as text (in buf for numbers). */
const char *config_value(const struct config *c, size_t i, char *buf,
	    size_t len);
/* A byte count with RabbitMQ's units (kB = 1000, k/KiB = 1024, ...). */
int	config_parse_size(const char *s, uint64_t *out);
void	config_usage(FILE *f);
/* Prints the effective configuration as a warrend.conf file. */
void	config_print(const struct config *c, FILE *f);
/* --admin-tls-port as a port number, or -1 for none (no HTTPS listener). */
int	config_admin_tls_port(const struct config *c);
/* --prometheus-port the same way (-1: no metrics listener). */
int	config_prometheus_port(const struct config *c);
/* --memory-high-watermark-relative as a fraction of the machine's RAM. */
double	config_memory_relative(const struct config *c);

/*
 * server/config_file.c: reads a warrend.conf into c; -1 after printing
 * an error naming the file and line. Warnings are printed and counted.
 */
int	config_file_load(struct config *c, const char *path);
/* The RabbitMQ keys warrend.conf maps, for docs and tests; NULL past the end. */
const char *config_file_rabbit_key(size_t i);

#endif /* WARREN_SERVER_CONFIG_H */
