#include "autoconf.h"

/*
 * Keeps man/warrenctl.1 in step with warrenctl's grammar table, read the
 * way a user reads it: through the built warrenctl's --help, its groups'
 * and its commands' --help. Every group and command needs an entry under
 * COMMANDS that opens with a ".Cm group command" line, names each of its
 * flags ("Fl -flag") and carries the example --help shows; every command
 * flag needs an ".It Fl -flag" under "Command flags", every global option
 * an ".It" under OPTIONS, every WARRENCTL_* variable and exit status that
 * --help lists an entry of its own. A command added to the table without
 * its page fails here.
 */
#include <criterion/criterion.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CTLPAGE
#error "CTLPAGE must name man/warrenctl.1 (see Makefile.am)"
#endif
#ifndef WARRENCTL
#error "WARRENCTL must name the built warrenctl (see Makefile.am)"
#endif

#define MAXN	128

/* A span of text: [p, p + len). */
struct span {
	const char	*p;
	size_t		 len;
};

static char *page;	/* the page, its escapes \e and \(dq decoded */
static size_t page_len;

/* Reads all of f into a malloc'd string. */
static char *
slurp(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0, got;
	char *s = malloc(cap);

	cr_assert_not_null(s);
	while ((got = fread(s + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (n + 1 == cap) {
			cap *= 2;
			s = realloc(s, cap);
			cr_assert_not_null(s);
		}
	}
	s[n] = '\0';
	if (len != NULL)
		*len = n;
	return s;
}

/*
 * The examples are compared with --help's text, so the page's roff
 * escapes for a backslash and a double quote are read back first.
 */
static void
decode(char *s, size_t *len)
{
	char *r = s, *w = s;

	while (*r != '\0') {
		if (strncmp(r, "\\e", 2) == 0) {
			*w++ = '\\';
			r += 2;
		} else if (strncmp(r, "\\(dq", 4) == 0) {
			*w++ = '"';
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	*len = (size_t)(w - s);
}

static void
load_page(void)
{
	FILE *f = fopen(CTLPAGE, "rb");

	cr_assert_not_null(f, "cannot open %s", CTLPAGE);
	page = slurp(f, &page_len);
	fclose(f);
	cr_assert_gt(page_len, 0, "%s is empty", CTLPAGE);
	decode(page, &page_len);
}

static void
free_page(void)
{
	free(page);
	page = NULL;
}

TestSuite(ctlpage, .init = load_page, .fini = free_page);

/* What `warrenctl ARGS --help` prints (exit 0 required). */
static char *
help(const char *args)
{
	char cmd[512];
	FILE *p;
	char *out;

	snprintf(cmd, sizeof(cmd), "'%s' %s --help 2>&1", WARRENCTL, args);
	p = popen(cmd, "r");
	cr_assert_not_null(p, "cannot run %s", cmd);
	out = slurp(p, NULL);
	cr_assert_eq(pclose(p), 0, "%s failed:\n%s", cmd, out);
	return out;
}

/* The lines after the line that starts with head, up to a blank line. */
static struct span
block(const char *text, const char *head)
{
	const char *s = strstr(text, head), *e;

	cr_assert_not_null(s, "no \"%s\" in:\n%s", head, text);
	s = strchr(s, '\n');
	cr_assert_not_null(s);
	s++;
	e = strstr(s, "\n\n");
	if (e == NULL)
		e = s + strlen(s);
	return (struct span){ s, (size_t)(e - s) };
}

/* The n-th line of a span, without its newline; false past the end. */
static bool
line_at(struct span b, size_t n, struct span *line)
{
	const char *p = b.p, *end = b.p + b.len, *nl;

	for (;;) {
		if (p >= end)
			return false;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (n-- == 0) {
			*line = (struct span){ p, (size_t)(nl - p) };
			return true;
		}
		p = nl + 1;
	}
}

/* The first word of a line after its indent, into out. */
static bool
first_word(struct span line, char *out, size_t outlen)
{
	size_t i = 0, n = 0;

	while (i < line.len && line.p[i] == ' ')
		i++;
	while (i < line.len && line.p[i] != ' ' && n + 1 < outlen)
		out[n++] = line.p[i++];
	out[n] = '\0';
	return n > 0;
}

static bool
word_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '-';
}

/* Whether text occurs in s not followed by more of a name. */
static bool
has_token(struct span s, const char *text)
{
	size_t len = strlen(text);

	for (size_t at = 0; at + len <= s.len; at++)
		if (memcmp(s.p + at, text, len) == 0 &&
		    (at + len == s.len || !word_char(s.p[at + len])))
			return true;
	return false;
}

/* The body of ".Sh name" or ".Ss name", up to the next heading of the
 * same or a higher level. */
static struct span
section(const char *macro, const char *name)
{
	char head[96];
	const char *start, *end, *e;

	snprintf(head, sizeof(head), "\n%s %s\n", macro, name);
	start = strstr(page, head);
	cr_assert_not_null(start, "%s has no \"%s %s\"", CTLPAGE, macro, name);
	start += strlen(head);
	end = page + page_len;
	if ((e = strstr(start, "\n.Sh ")) != NULL && e < end)
		end = e + 1;
	if (strcmp(macro, ".Ss") == 0 && (e = strstr(start, "\n.Ss ")) !=
	    NULL && e < end)
		end = e + 1;
	return (struct span){ start, (size_t)(end - start) };
}

/* Whether a line of s is exactly text. */
static bool
has_line(struct span s, const char *text)
{
	size_t len = strlen(text);

	for (const char *p = s.p; p + len <= s.p + s.len; p++)
		if ((p == s.p || p[-1] == '\n') && memcmp(p, text, len) == 0 &&
		    (p + len == s.p + s.len || p[len] == '\n'))
			return true;
	return false;
}

/*
 * The entry of "group command" under COMMANDS: from its head, an
 * ".It Cm group command" line or an ".It Xo" line followed by
 * ".Cm group command", to the next ".It" or ".El".
 */
static bool
command_entry(const char *group, const char *name, struct span *entry)
{
	struct span cmds = section(".Sh", "COMMANDS");
	char a[160], b[170];
	const char *p, *end = cmds.p + cmds.len, *e, *start = NULL;

	snprintf(a, sizeof(a), ".It Xo\n.Cm %.63s%s%.63s\n", group,
	    name ? " " : "", name ? name : "");
	snprintf(b, sizeof(b), ".It Cm %.63s%s%.63s\n", group,
	    name ? " " : "", name ? name : "");
	for (p = cmds.p; p < end && start == NULL; p++) {
		if (p != cmds.p && p[-1] != '\n')
			continue;
		if ((size_t)(end - p) >= strlen(a) &&
		    strncmp(p, a, strlen(a)) == 0)
			start = p;
		else if ((size_t)(end - p) >= strlen(b) &&
		    strncmp(p, b, strlen(b)) == 0)
			start = p;
	}
	if (start == NULL)
		return false;
	e = start;
	for (;;) {
		const char *nl = memchr(e, '\n', (size_t)(end - e));

		if (nl == NULL) {
			e = end;
			break;
		}
		e = nl + 1;
		if (strncmp(e, ".It ", 4) == 0 || strncmp(e, ".El", 3) == 0)
			break;
	}
	*entry = (struct span){ start, (size_t)(e - start) };
	return true;
}

/* A name warrenctl lists that the shell may be given unquoted. */
static bool
plain_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!islower((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

/* The groups that `warrenctl --help` lists under "Commands:". */
static size_t
groups(char names[][64])
{
	char *h = help("");
	struct span b = block(h, "Commands:"), line;
	size_t n = 0;

	for (size_t i = 0; line_at(b, i, &line); i++) {
		cr_assert_lt(n, MAXN);
		if (first_word(line, names[n], 64))
			n++;
	}
	free(h);
	cr_assert_gt(n, 0, "warrenctl --help lists no commands");
	return n;
}

/* Whether the group has commands of its own ("GROUP <command>"). */
static size_t
group_commands(const char *group, char names[][64])
{
	char *h = help(group), usage[128];
	struct span b, line;
	size_t n = 0;

	snprintf(usage, sizeof(usage), "%.63s <command>", group);
	if (strstr(h, usage) == NULL) {
		free(h);
		return 0;	/* the group is the command */
	}
	b = block(h, "Commands:");
	for (size_t i = 0; line_at(b, i, &line); i++) {
		cr_assert_lt(n, MAXN);
		if (first_word(line, names[n], 64))
			n++;
	}
	free(h);
	cr_assert_gt(n, 0, "warrenctl %s --help lists no commands", group);
	return n;
}

/* Checks one command's entry against its --help. */
static void
check_command(const char *group, const char *name)
{
	char args[160], flag[64], text[512];
	struct span entry, flags, line, ex;
	char *h, *p;

	snprintf(args, sizeof(args), "%s%s%s", group, name ? " " : "",
	    name ? name : "");
	if (!command_entry(group, name, &entry)) {
		cr_expect_fail("COMMANDS has no entry \".It Cm %s\" (or "
		    "\".It Xo\" then \".Cm %s\")", args, args);
		return;
	}
	h = help(args);
	if (strstr(h, "\nFlags:\n") != NULL) {
		flags = block(h, "Flags:");
		for (size_t i = 0; line_at(flags, i, &line); i++) {
			if (!first_word(line, flag, sizeof(flag)) ||
			    strncmp(flag, "--", 2) != 0)
				continue;
			/* mdoc's Fl writes one dash itself. */
			snprintf(text, sizeof(text), "Fl %s", flag + 1);
			cr_expect(has_token(entry, text), "the entry for %s "
			    "does not show %s (\"%s\")", args, flag, text);
			snprintf(text, sizeof(text), ".It Fl %s", flag + 1);
			cr_expect(has_token(section(".Ss", "Command flags"),
			    text), "\"Command flags\" has no \"%s\"", text);
		}
	}
	ex = block(h, "Example:");
	p = strndup(ex.p, ex.len);
	cr_assert_not_null(p);
	{
		char *e = p;

		while (*e == ' ')
			e++;
		snprintf(text, sizeof(text), ".Dl $ %.500s", e);
		cr_expect(has_line(entry, text), "the entry for %s lacks its "
		    "example \"%s\"", args, text);
	}
	free(p);
	free(h);
}

Test(ctlpage, documents_every_group_and_command)
{
	static char g[MAXN][64], c[MAXN][64];
	size_t ng = groups(g), nc, total = 0;
	bool saw_queues = false;

	for (size_t i = 0; i < ng; i++) {
		char text[96];

		cr_assert(plain_name(g[i]), "odd group name '%s'", g[i]);
		saw_queues |= strcmp(g[i], "queues") == 0;
		/* "Cm name", whether on a ".Cm" or an ".It Cm" line. */
		snprintf(text, sizeof(text), "Cm %.63s", g[i]);
		cr_expect(has_token((struct span){ page, page_len }, text),
		    "%s never names the group %s (\"%s\")", CTLPAGE, g[i],
		    text);
		if (strcmp(g[i], "help") == 0 ||
		    strcmp(g[i], "completion") == 0)
			continue;
		snprintf(text, sizeof(text), ".Ss %.63s", g[i]);
		cr_expect(has_line(section(".Sh", "COMMANDS"), text),
		    "COMMANDS has no \"%s\"", text);
		nc = group_commands(g[i], c);
		if (nc == 0) {
			check_command(g[i], NULL);
			total++;
		}
		for (size_t j = 0; j < nc; j++) {
			cr_assert(plain_name(c[j]), "odd command name '%s'",
			    c[j]);
			check_command(g[i], c[j]);
			total++;
		}
	}
	/* A parser that found nothing would pass everything above. */
	cr_assert(saw_queues, "warrenctl --help does not list queues");
	cr_assert_gt(total, 10, "only %zu commands found", total);
}

Test(ctlpage, documents_every_global_option)
{
	char *h = help("");
	struct span b = block(h, "Global options"), line;
	struct span opts = section(".Sh", "OPTIONS");
	size_t n = 0;

	for (size_t i = 0; line_at(b, i, &line); i++) {
		char w[64], text[96], lng[64];
		const char *s = line.p, *e = line.p + line.len, *d;

		if (!first_word(line, w, sizeof(w)))
			continue;
		/* "-H, --host HOST" or "    --tls". */
		d = NULL;
		for (const char *q = s; q + 1 < e; q++)
			if (q[0] == '-' && q[1] == '-') {
				d = q + 2;
				break;
			}
		cr_assert_not_null(d, "no long option in \"%.*s\"",
		    (int)line.len, line.p);
		{
			size_t k = 0;

			while (d + k < e && word_char(d[k]) && k + 1 <
			    sizeof(lng))
				k++;
			memcpy(lng, d, k);
			lng[k] = '\0';
		}
		snprintf(text, sizeof(text), ".It Fl -%s", lng);
		if (w[0] == '-' && w[1] != '-') {
			snprintf(text, sizeof(text), ".It Fl %c , Fl -%s",
			    w[1], lng);
		}
		cr_expect(has_token(opts, text), "OPTIONS has no \"%s\"",
		    text);
		n++;
	}
	cr_assert_gt(n, 10, "only %zu global options found", n);
	free(h);
}

Test(ctlpage, documents_every_environment_variable)
{
	char *h = help(""), name[64], text[96];
	struct span env = section(".Sh", "ENVIRONMENT");
	size_t n = 0;

	for (const char *p = h; (p = strstr(p, "WARRENCTL_")) != NULL; ) {
		size_t k = 0;

		while (isupper((unsigned char)p[k]) || p[k] == '_')
			k++;
		snprintf(name, sizeof(name), "%.*s", (int)k, p);
		snprintf(text, sizeof(text), ".It Ev %s", name);
		cr_expect(has_token(env, text), "ENVIRONMENT has no \"%s\"",
		    text);
		n++;
		p += k;
	}
	cr_assert_gt(n, 0, "warrenctl --help names no WARRENCTL_ variable");
	free(h);
}

Test(ctlpage, documents_every_exit_status)
{
	char *h = help(""), text[32];
	struct span st = section(".Sh", "EXIT STATUS");
	const char *p = strstr(h, "Exit status:"), *e;
	size_t n = 0;

	cr_assert_not_null(p, "warrenctl --help gives no exit statuses");
	e = strstr(p, "\n\n");
	cr_assert_not_null(e);
	for (p += strlen("Exit status:"); p < e; p++) {
		char *end;
		long v;

		if (!isdigit((unsigned char)*p) || isdigit((unsigned char)
		    p[-1]))
			continue;
		v = strtol(p, &end, 10);
		/* "0 ok, 64 usage": a status is followed by a word. */
		if (*end != ' ' || !isalpha((unsigned char)end[1]))
			continue;
		snprintf(text, sizeof(text), ".It %ld", v);
		cr_expect(has_line(st, text), "EXIT STATUS has no \"%s\"",
		    text);
		n++;
	}
	cr_assert_gt(n, 3, "only %zu exit statuses found", n);
	free(h);
}

Test(ctlpage, has_the_usual_sections)
{
	static const char *const heads[] = { "NAME", "SYNOPSIS", "DESCRIPTION",
	    "OPTIONS", "COMMANDS", "OUTPUT", "CONFIGURATION", "ENVIRONMENT",
	    "FILES", "EXIT STATUS", "EXAMPLES", "SEE ALSO" };

	cr_expect_not_null(strstr(page, "\n.Dt WARRENCTL 1\n"),
	    "missing .Dt WARRENCTL 1");
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		(void)section(".Sh", heads[i]);
	cr_expect(has_token(section(".Sh", "FILES"),
	    ".It Pa ~/.config/warrenctl.conf"),
	    "FILES does not list ~/.config/warrenctl.conf");
	cr_expect(has_token(section(".Sh", "SEE ALSO"), ".Xr warrend 8"),
	    "SEE ALSO does not name warrend(8)");
}
