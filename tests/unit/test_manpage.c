#include "autoconf.h"

/*
 * Keeps man/warrend.8 in step with server/config_table.h: every option in
 * the table must be in the SYNOPSIS and have an ".It Fl -name" entry under
 * OPTIONS that states its default and, for numbers, its range.  Adding an
 * option to the table without documenting it fails here.
 */
#include <criterion/criterion.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/config.h"

#ifndef MANPAGE
#error "MANPAGE must name man/warrend.8 (see Makefile.am)"
#endif

struct option_doc {
	const char		*name;
	enum config_type	 type;
	const char		*def;
	uint64_t		 min, max;
};

static const struct option_doc options[] = {
#define CONFIG_X(name, type, def, field, min, max, help)	\
	{ name, type, def, min, max },
#include "server/config_table.h"
#undef CONFIG_X
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

/* A span of the page: [p, p + len). */
struct span {
	const char	*p;
	size_t		 len;
};

static char *page;
static size_t page_len;

static void
load_page(void)
{
	FILE *f;
	long n;

	f = fopen(MANPAGE, "rb");
	cr_assert_not_null(f, "cannot open %s", MANPAGE);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert_gt(n, 0, "%s is empty", MANPAGE);
	rewind(f);
	page = malloc((size_t)n + 1);
	cr_assert_not_null(page);
	page_len = fread(page, 1, (size_t)n, f);
	cr_assert_eq(page_len, (size_t)n, "short read of %s", MANPAGE);
	page[page_len] = '\0';
	fclose(f);
}

static void
free_page(void)
{
	free(page);
	page = NULL;
	page_len = 0;
}

TestSuite(manpage, .init = load_page, .fini = free_page);

static bool
word_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

/*
 * Whether text, at offset at in s, stands as a whole token: not glued to a
 * word before it, nor followed by more of a word ("--port" is not found in
 * "--port-range", "10" is not found in "100", but "./data" is found in
 * "./data ." and "60" in "is 60.").
 */
static bool
token_at(struct span s, size_t at, const char *text, size_t len)
{
	size_t end = at + len;

	/*
	 * Text that opens with a word character must not continue one, nor
	 * a dotted number ("1" is not in "0.1"; a macro such as ".Fl" is fine).
	 */
	if ((word_char(text[0]) || text[0] == '-') && at > 0) {
		char prev = s.p[at - 1];

		if (word_char(prev) || prev == '-')
			return false;
		if (prev == '.' && at > 1 && word_char(s.p[at - 2]))
			return false;
	}
	if (end < s.len) {
		char next = s.p[end];

		if (word_char(next))
			return false;
		if ((next == '-' || next == '.') && end + 1 < s.len &&
		    word_char(s.p[end + 1]))
			return false;
	}
	return true;
}

/* Offset of the first whole-token occurrence of text in s, or -1. */
static long
find_token(struct span s, const char *text)
{
	size_t len = strlen(text);

	for (size_t at = 0; len > 0 && at + len <= s.len; at++)
		if (memcmp(s.p + at, text, len) == 0 && token_at(s, at, text, len))
			return (long)at;
	return -1;
}

static struct span
whole_page(void)
{
	return (struct span){ page, page_len };
}

/* The body of section ".Sh name", up to the next ".Sh" line. */
static struct span
section(const char *name)
{
	char head[64];
	const char *start, *end;

	snprintf(head, sizeof(head), "\n.Sh %s\n", name);
	start = strstr(page, head);
	cr_assert_not_null(start, "the page has no section %s", name);
	start += strlen(head);
	if ((end = strstr(start, "\n.Sh ")) != NULL)
		end++;		/* keep the last line's newline */
	else
		end = page + page_len;
	return (struct span){ start, (size_t)(end - start) };
}

/* The text of the ".It Fl -name" entry in OPTIONS, up to the next entry. */
static bool
option_item(const char *name, struct span *item)
{
	struct span opts = section("OPTIONS");
	char head[96];
	long at;
	const char *start, *end, *e;

	snprintf(head, sizeof(head), "\n.It Fl -%s", name);
	if ((at = find_token(opts, head)) == -1)
		return false;
	start = opts.p + at + 1;
	end = opts.p + opts.len;
	if ((e = strstr(start + 1, "\n.It ")) != NULL && e < end)
		end = e;
	if ((e = strstr(start + 1, "\n.El")) != NULL && e < end)
		end = e;
	*item = (struct span){ start, (size_t)(end - start) };
	return true;
}

static bool
mentions_flag(struct span s, const char *name)
{
	char text[96];

	snprintf(text, sizeof(text), "Fl -%s", name);
	return find_token(s, text) != -1;
}

Test(manpage, documents_every_option)
{
	cr_assert_gt(NOPTIONS, 0);
	for (size_t i = 0; i < NOPTIONS; i++)
		cr_expect(mentions_flag(whole_page(), options[i].name),
		    "%s does not mention --%s (\"Fl -%s\")", MANPAGE,
		    options[i].name, options[i].name);
}

Test(manpage, lists_every_option_under_options)
{
	struct span item;

	for (size_t i = 0; i < NOPTIONS; i++)
		cr_expect(option_item(options[i].name, &item),
		    "OPTIONS has no \".It Fl -%s\" entry", options[i].name);
}

Test(manpage, lists_every_option_in_synopsis)
{
	struct span syn = section("SYNOPSIS");
	char text[96];

	for (size_t i = 0; i < NOPTIONS; i++) {
		snprintf(text, sizeof(text), ".Op Fl -%s", options[i].name);
		cr_expect(find_token(syn, text) != -1,
		    "SYNOPSIS lacks \"%s\"", text);
	}
}

Test(manpage, states_every_default)
{
	struct span item;

	for (size_t i = 0; i < NOPTIONS; i++) {
		if (!option_item(options[i].name, &item))
			continue;	/* reported by the test above */
		cr_expect(find_token(item, options[i].def) != -1,
		    "the entry for --%s does not give its default %s",
		    options[i].name, options[i].def);
	}
}

Test(manpage, states_every_range)
{
	struct span item;
	char num[32];

	for (size_t i = 0; i < NOPTIONS; i++) {
		if (options[i].type == CONFIG_STR ||
		    !option_item(options[i].name, &item))
			continue;
		snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)options[i].min);
		cr_expect(find_token(item, num) != -1,
		    "the entry for --%s does not give its minimum %s",
		    options[i].name, num);
		snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)options[i].max);
		cr_expect(find_token(item, num) != -1,
		    "the entry for --%s does not give its maximum %s",
		    options[i].name, num);
	}
}

Test(manpage, documents_help_version_and_config)
{
	static const char *const extra[] = { "help", "version", "config",
	    "print-config" };
	struct span opts = section("OPTIONS");

	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		cr_expect(mentions_flag(opts, extra[i]),
		    "OPTIONS does not document --%s", extra[i]);
		cr_expect(mentions_flag(section("SYNOPSIS"), extra[i]),
		    "SYNOPSIS does not show --%s", extra[i]);
	}
}

Test(manpage, has_the_usual_sections)
{
	static const char *const heads[] = { "NAME", "SYNOPSIS", "DESCRIPTION",
	    "OPTIONS", "SIGNALS", "FILES", "EXIT STATUS", "EXAMPLES",
	    "SEE ALSO", "STANDARDS" };

	cr_expect_not_null(strstr(page, "\n.Dt WARREND 8\n"),
	    "missing .Dt WARREND 8");
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		(void)section(heads[i]);	/* asserts the section exists */
}

Test(manpage, documents_the_state_files)
{
	struct span files = section("FILES");

	cr_expect(find_token(files, "DIR/warrend.pid") != -1,
	    "FILES does not list DIR/warrend.pid");
	cr_expect(find_token(files, "DIR/warrend.port") != -1,
	    "FILES does not list DIR/warrend.port");
}
