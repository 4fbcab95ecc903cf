#include "autoconf.h"

/*
 * Keeps man/warrend.conf.5 in step with the code: every option of
 * server/config_table.h has an ".It Cm key" entry under OPTIONS giving its
 * default and, for numbers, its range, and every RabbitMQ key that
 * server/config_file.c maps has an ".It Cm key" entry under RABBITMQ KEYS.
 * Adding a key to either table without documenting it fails here.
 */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/config.h"

#ifndef CONFPAGE
#error "CONFPAGE must name man/warrend.conf.5 (see Makefile.am)"
#endif

static char *page;

static void
load_page(void)
{
	FILE *f;
	long n;

	f = fopen(CONFPAGE, "rb");
	cr_assert_not_null(f, "cannot open %s", CONFPAGE);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert_gt(n, 0);
	rewind(f);
	page = malloc((size_t)n + 1);
	cr_assert_not_null(page);
	cr_assert_eq(fread(page, 1, (size_t)n, f), (size_t)n);
	page[n] = '\0';
	fclose(f);
}

static void
free_page(void)
{
	free(page);
	page = NULL;
}

TestSuite(confpage, .init = load_page, .fini = free_page);

/* The text of section ".Sh name" up to the next ".Sh", NUL-terminated. */
static char *
section(const char *name)
{
	char head[64], *start, *end, *s;

	snprintf(head, sizeof(head), "\n.Sh %s\n", name);
	start = strstr(page, head);
	cr_assert_not_null(start, "the page has no section %s", name);
	start += strlen(head);
	end = strstr(start, "\n.Sh ");
	if (end == NULL)
		end = start + strlen(start);
	s = strndup(start, (size_t)(end - start + 1));
	cr_assert_not_null(s);
	return s;
}

/*
 * The entry ".It Cm key" in text, up to the next ".It" at its level, or
 * NULL. A family key ("listeners.tcp.") is written ".It Cm listeners.tcp.
 * Ns Ar name"; any other key must end the macro's first word.
 */
static char *
entry(const char *text, const char *key)
{
	char head[128];
	const char *p = text, *end;
	size_t n;

	n = (size_t)snprintf(head, sizeof(head), "\n.It Cm %s", key);
	while ((p = strstr(p, head)) != NULL) {
		char next = p[n];

		if (key[strlen(key) - 1] == '.' || next == '\n' || next == ' ')
			break;
		p += n;
	}
	if (p == NULL)
		return NULL;
	p++;
	end = strstr(p + 1, "\n.It ");
	if (end == NULL)
		end = p + strlen(p);
	return strndup(p, (size_t)(end - p));
}

/* The file key of an option: '_' for '-', but handshake-timeout. */
static void
option_key(const char *name, char *out, size_t len)
{
	size_t i;

	if (strcmp(name, "handshake-timeout") == 0) {
		snprintf(out, len, "%s", name);
		return;
	}
	for (i = 0; name[i] != '\0' && i + 1 < len; i++)
		out[i] = name[i] == '-' ? '_' : name[i];
	out[i] = '\0';
}

/* Whether word stands in text as a whole token. */
static bool
has_token(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(text, word); p != NULL;
	    p = strstr(p + 1, word)) {
		char before = p == text ? ' ' : p[-1], after = p[n];

		if ((before == ' ' || before == '\n' || before == '(') &&
		    (after == '.' || after == ';' || after == ',' ||
		    after == ' ' || after == '\n' || after == ')'))
			return true;
	}
	return false;
}

Test(confpage, documents_every_option_with_default_and_range)
{
	char *opts = section("OPTIONS"), key[96], num[32], *e;

	for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
		const struct config_option_info *o = config_option_at(i);

		option_key(o->name, key, sizeof(key));
		e = entry(opts, key);
		cr_expect_not_null(e, "OPTIONS has no entry .It Cm %s", key);
		if (e == NULL)
			continue;
		cr_expect(has_token(e, o->def),
		    "the entry for %s does not give its default %s", key,
		    o->def);
		if (o->type != CONFIG_STR) {
			snprintf(num, sizeof(num), "%llu",
			    (unsigned long long)o->min);
			cr_expect(has_token(e, num), "the entry for %s does "
			    "not give its minimum %s", key, num);
			snprintf(num, sizeof(num), "%llu",
			    (unsigned long long)o->max);
			cr_expect(has_token(e, num), "the entry for %s does "
			    "not give its maximum %s", key, num);
		}
		free(e);
	}
	free(opts);
}

Test(confpage, documents_every_rabbitmq_key)
{
	char *keys = section("RABBITMQ KEYS"), *e;
	const char *k;
	size_t i;

	for (i = 0; (k = config_file_rabbit_key(i)) != NULL; i++) {
		e = entry(keys, k);
		cr_expect_not_null(e, "RABBITMQ KEYS has no entry .It Cm %s",
		    k);
		free(e);
	}
	cr_assert_gt(i, 30, "the mapping table looks empty");
	free(keys);
}

Test(confpage, documents_environment_and_precedence)
{
	char *env = section("ENVIRONMENT");
	static const char *const vars[] = { "RABBITMQ_DEFAULT_USER",
	    "RABBITMQ_DEFAULT_PASS", "RABBITMQ_DEFAULT_VHOST",
	    "RABBITMQ_NODENAME", "RABBITMQ_CONFIG_FILE", "WARREN_CONFIG_FILE",
	    "WARREN_" };

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		cr_expect_not_null(strstr(env, vars[i]),
		    "ENVIRONMENT does not name %s", vars[i]);
	free(env);
	cr_expect_not_null(strstr(page, "flags > environment > file > "
	    "defaults"), "the page does not state the precedence");
	cr_expect_not_null(strstr(page, "--print-config"));
}
