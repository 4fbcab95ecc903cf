/*
 * warrenctl, the admin CLI: a client of the management API. What the
 * modules share: the connection settings (ctl_conf.c), the grammar table
 * (ctl.c), the HTTP client (ctl_http.c) and the commands (ctl_cmd_*.c).
 *
 * compat: the shape is rabbitmqadmin v2's (`warrenctl [global] <group>
 * <command> --flags`), the exit codes sysexits(3) as RabbitMQ's CLI tools:
 * 0 ok, 64 usage, 65 data (bad input, a 4xx other than 401/403, an object
 * that does not exist), 69 unavailable (no answer, 5xx, a failed health
 * check), 74 output write error, 77 no permission (401/403), 78 a bad
 * config file.
 */
#ifndef WARREN_ADMIN_CTL_H
#define WARREN_ADMIN_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "admin/ctl_out.h"

#define CTL_EX_OK		0
#define CTL_EX_USAGE		64
#define CTL_EX_DATAERR		65
#define CTL_EX_UNAVAILABLE	69
#define CTL_EX_SOFTWARE		70
#define CTL_EX_IOERR		74
#define CTL_EX_NOPERM		77
#define CTL_EX_CONFIG		78

/* Connection and output settings: flags > environment > file > defaults. */
struct ctl_conf {
	char	*host;		/* "localhost" */
	int	 port;		/* 15672 */
	char	*vhost;		/* "/" */
	bool	 vhost_set;	/* given by flag, env or file (lists filter) */
	char	*username;	/* "guest" */
	char	*password;	/* "guest"; "-" read from stdin or a prompt */
	char	*base_uri;	/* overrides scheme, host, port, prefix */
	char	*path_prefix;	/* "" or "/prefix" before /api */
	bool	 tls;
	bool	 insecure;	/* do not verify the server's certificate */
	char	*ca_certificate; /* a PEM bundle file */
	char	*node;		/* the config file section; "default" */
	char	*config;	/* the config file; NULL: the default path */
	bool	 config_given;	/* -c: a missing file is an error */
	long	 timeout;	/* seconds for one request; await_startup's */
	bool	 timeout_set;
	enum ctl_format fmt;
	bool	 fmt_set;
	char	*columns;	/* --columns or NULL */
	bool	 quiet;
	int	 verbose;
};

void	ctl_conf_defaults(struct ctl_conf *cf);
void	ctl_conf_free(struct ctl_conf *cf);
/* Replaces a string setting with a copy of v. */
void	ctl_conf_set(char **slot, const char *v);
/*
 * Fills what the flags left unset (flagged[] by ctl_gopt index) from the
 * environment, then the config file. Returns 0, or an exit code after a
 * message (78 for a bad file line, naming the file and line).
 */
int	ctl_conf_load(struct ctl_conf *cf, const bool *flagged);
/* Reads the password when it is "-": stdin, or a no-echo prompt. */
int	ctl_conf_read_password(struct ctl_conf *cf);

/* Global options (before the group, or after the command). */
enum ctl_gopt_id {
	G_HOST, G_PORT, G_VHOST, G_USERNAME, G_PASSWORD, G_BASE_URI,
	G_PATH_PREFIX, G_TLS, G_INSECURE, G_CA, G_NODE, G_CONFIG, G_TIMEOUT,
	G_FORMAT, G_COLUMNS, G_QUIET, G_VERBOSE, G_HELP, G_COUNT
};
struct ctl_gopt {
	const char	*lng;
	char		 shrt;		/* 0: none */
	const char	*meta;		/* NULL: takes no value */
	const char	*help;
};
extern const struct ctl_gopt ctl_gopts[G_COUNT];

/* Command flags. */
enum ctl_kind { CTL_STR, CTL_BOOL, CTL_INT, CTL_JSON };
struct ctl_flag {
	const char	*name;
	enum ctl_kind	 kind;
	const char	*meta;
	const char	*help;
};
extern const struct ctl_flag ctl_flags[];
extern const size_t ctl_nflags;

struct ctl;
typedef int (*ctl_run_fn)(struct ctl *c);

/* One row of the grammar table: parsing, help and completion read it. */
struct ctl_cmd {
	const char	*group;
	const char	*name;		/* NULL: the group is the command */
	const char	*flags;		/* "name! durable type": ! = required */
	const char	*summary;
	const char	*example;
	ctl_run_fn	 run;
};
extern const struct ctl_cmd ctl_cmds[];
extern const size_t ctl_ncmds;

struct ctl_http;

/* One invocation. */
struct ctl {
	struct ctl_conf		 conf;
	const struct ctl_cmd	*cmd;
	const char		**vals;		/* by ctl_flags index; NULL unset */
	struct ctl_http		*http;		/* made on first use */
	struct ctl_out_opts	 out;
	bool			 tty_err;	/* stderr is a terminal */
};

/* Whether cmd takes ctl_flags[i]; *required (may be NULL) set. */
bool	ctl_cmd_has_flag(const struct ctl_cmd *cmd, size_t i, bool *required);
/* The value of a command flag, or NULL when not given. */
const char	*ctl_arg(const struct ctl *c, const char *name);
/* A boolean flag: given bare or as true/1/yes. def when absent. */
bool		 ctl_arg_bool(const struct ctl *c, const char *name, bool def);
/* An integer flag (checked by the parser), or def. */
long		 ctl_arg_long(const struct ctl *c, const char *name, long def);

/* Parses argv (warrenctl's own grammar) and runs the command. */
int	ctl_run(struct ctl *c, int argc, char **argv);
/*
 * warrenctl called as rabbitmqctl or rabbitmq-diagnostics (ctl_shim.c):
 * whether argv0 is one of those names, and its run.
 */
bool	ctl_shim_is(const char *argv0);
int	ctl_shim_run(struct ctl *c, int argc, char **argv);

/* Prints "warrenctl: <fmt>" on stderr and returns code. */
int	ctl_fail(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Help and completion (ctl_help.c). */
void	ctl_help_program(FILE *f);
void	ctl_help_group(FILE *f, const char *group);
void	ctl_help_cmd(FILE *f, const struct ctl_cmd *cmd);
int	ctl_completion(FILE *f, const char *shell);
bool	ctl_group_exists(const char *group);

#endif /* WARREN_ADMIN_CTL_H */
