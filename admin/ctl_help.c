#include "autoconf.h"

/*
 * warrenctl's --help texts and shell completion scripts, generated from
 * the grammar table in ctl.c.
 */
#include <stdio.h>
#include <string.h>

#include "admin/ctl.h"

static void
gopts_help(FILE *f)
{
	char left[64];

	fprintf(f, "Global options (before the group, or after the "
	    "command and its flags):\n");
	for (int i = 0; i < G_COUNT; i++) {
		const struct ctl_gopt *g = &ctl_gopts[i];

		if (g->shrt)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", g->shrt,
			    g->lng, g->meta ? " " : "", g->meta ? g->meta : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", g->lng,
			    g->meta ? " " : "", g->meta ? g->meta : "");
		fprintf(f, "  %-30s %s\n", left, g->help);
	}
}

void
ctl_help_program(FILE *f)
{
	const char *last = "";

	fprintf(f, "Usage: warrenctl [OPTIONS] <group> <command> [--flags]\n"
	    "\nwarrenctl manages a warren (or RabbitMQ) broker through its "
	    "management API.\n\nCommands:\n");
	for (size_t i = 0; i < ctl_ncmds; i++) {
		const struct ctl_cmd *c = &ctl_cmds[i];

		if (strcmp(c->group, last) == 0)
			continue;
		last = c->group;
		if (c->name == NULL) {
			fprintf(f, "  %-20s %s\n", c->group, c->summary);
			continue;
		}
		fprintf(f, "  %-20s", c->group);
		for (size_t j = i; j < ctl_ncmds &&
		    strcmp(ctl_cmds[j].group, c->group) == 0; j++)
			fprintf(f, "%s%s", j == i ? " " : "|", ctl_cmds[j].name);
		fputc('\n', f);
	}
	fprintf(f, "  %-20s %s\n", "completion", "bash|zsh: a completion "
	    "script");
	fprintf(f, "  %-20s %s\n\n", "help", "[group [command]]: help");
	gopts_help(f);
	fprintf(f, "\nSettings come from the flags, then WARRENCTL_HOST, "
	    "WARRENCTL_PORT, WARRENCTL_USERNAME,\nWARRENCTL_PASSWORD, "
	    "WARRENCTL_VHOST, WARRENCTL_BASE_URI, WARRENCTL_PATH_PREFIX,\n"
	    "WARRENCTL_TLS, WARRENCTL_INSECURE, WARRENCTL_CA_CERTIFICATE, "
	    "WARRENCTL_TIMEOUT,\nWARRENCTL_NODE and WARRENCTL_CONFIG, then the "
	    "config file's [node] section\n(keys hostname, port, username, "
	    "password, vhost, base_uri, path_prefix, tls,\ninsecure, "
	    "ca_certificate, timeout), then the defaults.\n"
	    "\nExit status: 0 ok, 64 usage, 65 bad data or a refused request "
	    "(4xx, not found),\n69 unavailable (no answer, 5xx, a failed "
	    "health check), 74 output error,\n77 not authorized (401, 403), "
	    "78 a bad config file.\n"
	    "\nExample:\n  warrenctl queues list\n"
	    "\nRun 'warrenctl <group> --help' for a group's commands.\n");
}

void
ctl_help_group(FILE *f, const char *group)
{
	fprintf(f, "Usage: warrenctl [OPTIONS] %s <command> [--flags]\n"
	    "\nCommands:\n", group);
	for (size_t i = 0; i < ctl_ncmds; i++)
		if (strcmp(ctl_cmds[i].group, group) == 0)
			fprintf(f, "  %-22s %s\n", ctl_cmds[i].name ?
			    ctl_cmds[i].name : group, ctl_cmds[i].summary);
	for (size_t i = 0; i < ctl_ncmds; i++)
		if (strcmp(ctl_cmds[i].group, group) == 0) {
			fprintf(f, "\nExample:\n  %s\n", ctl_cmds[i].example);
			break;
		}
	fprintf(f, "\nRun 'warrenctl %s <command> --help' for its flags.\n",
	    group);
}

void
ctl_help_cmd(FILE *f, const struct ctl_cmd *cmd)
{
	char left[64];
	bool req, any = false;

	fprintf(f, "Usage: warrenctl [OPTIONS] %s%s%s [--flags]\n\n%s.\n",
	    cmd->group, cmd->name ? " " : "", cmd->name ? cmd->name : "",
	    cmd->summary);
	for (size_t i = 0; i < ctl_nflags; i++) {
		const struct ctl_flag *fl = &ctl_flags[i];

		if (!ctl_cmd_has_flag(cmd, i, &req))
			continue;
		if (!any)
			fprintf(f, "\nFlags:\n");
		any = true;
		snprintf(left, sizeof(left), "--%s%s%s", fl->name,
		    fl->meta ? " " : "", fl->meta ? fl->meta : "");
		fprintf(f, "  %-28s %s%s\n", left, fl->help,
		    req ? " (required)" : "");
	}
	fprintf(f, "\nExample:\n  %s\n\nRun 'warrenctl --help' for the "
	    "global options.\n", cmd->example);
}

/* The groups, space-separated. */
static void
put_groups(FILE *f)
{
	const char *last = "";

	for (size_t i = 0; i < ctl_ncmds; i++) {
		if (strcmp(ctl_cmds[i].group, last) == 0)
			continue;
		last = ctl_cmds[i].group;
		fprintf(f, "%s ", last);
	}
	fprintf(f, "completion help");
}

static void
put_cmds(FILE *f, const char *group)
{
	bool first = true;

	for (size_t i = 0; i < ctl_ncmds; i++)
		if (strcmp(ctl_cmds[i].group, group) == 0 &&
		    ctl_cmds[i].name != NULL) {
			fprintf(f, "%s%s", first ? "" : " ", ctl_cmds[i].name);
			first = false;
		}
}

static void
put_flags(FILE *f, const struct ctl_cmd *cmd)
{
	bool first = true;

	for (size_t i = 0; i < ctl_nflags; i++)
		if (ctl_cmd_has_flag(cmd, i, NULL)) {
			fprintf(f, "%s--%s", first ? "" : " ",
			    ctl_flags[i].name);
			first = false;
		}
}

static void
put_gopts(FILE *f)
{
	for (int i = 0; i < G_COUNT; i++) {
		fprintf(f, "%s--%s", i ? " " : "", ctl_gopts[i].lng);
		if (ctl_gopts[i].shrt)
			fprintf(f, " -%c", ctl_gopts[i].shrt);
	}
}

static void
bash_script(FILE *f)
{
	const char *last = "";

	fprintf(f, "# warrenctl bash completion: source <(warrenctl "
	    "completion bash)\n_warrenctl() {\n"
	    "\tlocal cur=${COMP_WORDS[COMP_CWORD]} group= cmd= w i\n"
	    "\tlocal gopts=\"");
	put_gopts(f);
	fprintf(f, "\"\n\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	    "\t\tw=${COMP_WORDS[i]}\n"
	    "\t\tcase $w in -*) continue ;; esac\n"
	    "\t\tcase ${COMP_WORDS[i-1]} in "
	    "-H|--host|-P|--port|-V|--vhost|-u|--username|-p|--password|"
	    "-U|--base-uri|--path-prefix|--ca-certificate|-N|--node|-c|"
	    "--config|-t|--timeout|-f|--format|--columns) continue ;; esac\n"
	    "\t\tif [ -z \"$group\" ]; then group=$w; elif [ -z \"$cmd\" ]; "
	    "then cmd=$w; fi\n\tdone\n"
	    "\tif [ -z \"$group\" ]; then\n"
	    "\t\tCOMPREPLY=($(compgen -W \"");
	put_groups(f);
	fprintf(f, " $gopts\" -- \"$cur\"))\n\t\treturn\n\tfi\n"
	    "\tcase $group in\n");
	for (size_t i = 0; i < ctl_ncmds; i++) {
		const struct ctl_cmd *c = &ctl_cmds[i];

		if (strcmp(c->group, last) == 0)
			continue;
		last = c->group;
		if (c->name == NULL) {
			fprintf(f, "\t%s) COMPREPLY=($(compgen -W \"", c->group);
			put_flags(f, c);
			fprintf(f, " $gopts\" -- \"$cur\")) ;;\n");
			continue;
		}
		fprintf(f, "\t%s)\n\t\tif [ -z \"$cmd\" ]; then\n"
		    "\t\t\tCOMPREPLY=($(compgen -W \"", c->group);
		put_cmds(f, c->group);
		fprintf(f, "\" -- \"$cur\"))\n\t\t\treturn\n\t\tfi\n"
		    "\t\tcase $cmd in\n");
		for (size_t j = i; j < ctl_ncmds &&
		    strcmp(ctl_cmds[j].group, c->group) == 0; j++) {
			fprintf(f, "\t\t%s) COMPREPLY=($(compgen -W \"",
			    ctl_cmds[j].name);
			put_flags(f, &ctl_cmds[j]);
			fprintf(f, " $gopts\" -- \"$cur\")) ;;\n");
		}
		fprintf(f, "\t\tesac ;;\n");
	}
	fprintf(f, "\tcompletion) COMPREPLY=($(compgen -W \"bash zsh\" -- "
	    "\"$cur\")) ;;\n\tesac\n}\ncomplete -F _warrenctl warrenctl\n");
}

static void
zsh_script(FILE *f)
{
	/* zsh runs bash completion functions through bashcompinit, so the
	 * two shells share one generated grammar. */
	fprintf(f, "#compdef warrenctl\n# warrenctl zsh completion: "
	    "source <(warrenctl completion zsh)\nautoload -U +X "
	    "bashcompinit && bashcompinit\n");
	bash_script(f);
}

int
ctl_completion(FILE *f, const char *shell)
{
	if (strcmp(shell, "bash") == 0)
		bash_script(f);
	else if (strcmp(shell, "zsh") == 0)
		zsh_script(f);
	else
		return ctl_fail(CTL_EX_USAGE, "completion: bash or zsh, not "
		    "'%s'", shell);
	return 0;
}
