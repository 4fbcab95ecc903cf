/*
 * warrend --print-config: the effective configuration as a warrend.conf
 * that warrend reads back, each line ending in a comment naming where the
 * value came from.
 */
#include "autoconf.h"

#include "server/config.h"

#include <stdbool.h>
#include <string.h>

/*
 * The key to print: the option's name with '_', as RabbitMQ writes keys,
 * unless that spelling is a RabbitMQ key that means something else
 * (handshake_timeout is RabbitMQ's, in milliseconds): then with '-'.
 */
static void
print_key(const char *name, FILE *f)
{
	char under[96];
	size_t n;
	bool clash = false;
	const char *k;

	for (n = 0; name[n] != '\0' && n + 1 < sizeof(under); n++)
		under[n] = name[n] == '-' ? '_' : name[n];
	under[n] = '\0';
	for (size_t i = 0; (k = config_file_rabbit_key(i)) != NULL; i++)
		if (strcmp(k, under) == 0 && strcmp(k, "handshake_timeout") == 0)
			clash = true;
	fputs(clash ? name : under, f);
}

void
config_print(const struct config *c, FILE *f)
{
	char buf[32];

	fprintf(f, "# warrend --print-config: the effective configuration, "
	    "flags > env > file > default\n");
	if (c->config_file != NULL)
		fprintf(f, "# config file: %s\n", c->config_file);
	for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
		const struct config_option_info *o = config_option_at(i);
		const char *v = config_value(c, i, buf, sizeof(buf));

		print_key(o->name, f);
		/* Never show a password, even its default. */
		if (strcmp(o->name, "default-pass") == 0)
			v = "********";
		/* An empty list reads back as RabbitMQ's "none". */
		if (v[0] == '\0' && (strcmp(o->name, "loopback-users") == 0 ||
		    strcmp(o->name, "default-user-tags") == 0))
			v = "none";
		fprintf(f, " = %s # %s\n", v, c->source[i] != NULL ?
		    c->source[i] : "default");
	}
}
