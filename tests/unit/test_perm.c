/*
 * Unit tests for permission patterns (server/auth_perm.c).
 *
 * The RabbitMQ behaviours named here were checked against RabbitMQ 3.10.8
 * with queue.declare and basic.publish under set_permissions.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "server/auth_perm.h"

#define S(s)	(s), strlen(s)

static struct perm_re *
compile(const char *pattern)
{
	struct perm_re	*re;
	char		 err[128];

	re = perm_re_compile(S(pattern), err, sizeof(err));
	cr_assert_not_null(re, "pattern \"%s\": %s", pattern, err);
	return re;
}

static bool
matches(const char *pattern, const char *name)
{
	struct perm_re	*re = compile(pattern);
	bool		 m;

	m = perm_re_match(re, S(name));
	perm_re_free(re);
	return m;
}

Test(perm, dot_star_matches_everything)
{
	struct perm_re	*re = compile(".*");

	cr_assert(perm_re_match(re, S("")));
	cr_assert(perm_re_match(re, S("amq.default")));
	cr_assert(perm_re_match(re, S("a.b/c d#*")));
	/* "." excludes newline, but ".*" may match the empty prefix. */
	cr_assert(perm_re_match(re, S("line\nbreak")));
	cr_assert(perm_re_match(re, "nul\0inside", 10));
	perm_re_free(re);
}

Test(perm, empty_pattern_matches_nothing)
{
	struct perm_re	*re = compile("");

	cr_assert_not(perm_re_match(re, S("")));
	cr_assert_not(perm_re_match(re, NULL, 0));
	cr_assert_not(perm_re_match(re, S("amq.default")));
	cr_assert_not(perm_re_match(re, S("amq.gen-JzTY20BRgKO-HjmUJj0wLg")));
	cr_assert_str_eq(perm_re_pattern(re), "");
	perm_re_free(re);
}

Test(perm, caret_anchored_prefix)
{
	struct perm_re	*re = compile("^amq\\.gen.*");

	cr_assert(perm_re_match(re, S("amq.gen-JzTY20BRgKO-HjmUJj0wLg")));
	cr_assert(perm_re_match(re, S("amq.gen")));
	cr_assert_not(perm_re_match(re, S("amqXgen-1")));
	cr_assert_not(perm_re_match(re, S("x.amq.gen-1")));
	cr_assert_not(perm_re_match(re, S("amq.default")));
	cr_assert_not(perm_re_match(re, S("")));
	perm_re_free(re);
}

Test(perm, search_is_unanchored)
{
	/* compat: RabbitMQ's re:run finds "foo" inside "xfooy". */
	cr_assert(matches("foo", "xfooy"));
	cr_assert(matches("foo", "foo"));
	cr_assert(matches("foo", "xfoo"));
	cr_assert_not(matches("foo", "fo"));
	cr_assert_not(matches("foo", "bar"));
	cr_assert(matches("y$", "xfooy"));
	cr_assert_not(matches("^foo", "xfooy"));
}

Test(perm, anchored_alternation)
{
	struct perm_re	*re = compile("^(amq\\.gen.*|amq\\.default)$");

	cr_assert(perm_re_match(re, S("amq.default")));
	cr_assert(perm_re_match(re, S("amq.gen-abc")));
	cr_assert_not(perm_re_match(re, S("amq.defaultx")));
	cr_assert_not(perm_re_match(re, S("xamq.default")));
	cr_assert_not(perm_re_match(re, S("amq.direct")));
	perm_re_free(re);
}

Test(perm, dollar_admits_one_final_newline)
{
	/* PCRE and Erlang re alike: "$" also matches before a final "\n". */
	cr_assert(matches("^abc$", "abc\n"));
	cr_assert_not(matches("^abc$", "abc\nx"));
	cr_assert_not(matches("^abc\\z", "abc\n"));
}

Test(perm, bad_pattern_fails_with_message)
{
	char	err[128];

	memset(err, 0, sizeof(err));
	cr_assert_null(perm_re_compile(S("("), err, sizeof(err)));
	cr_assert_neq(err[0], '\0');
	cr_assert_not_null(strstr(err, "offset"), "message: %s", err);

	memset(err, 0, sizeof(err));
	cr_assert_null(perm_re_compile(S("a{2,1}"), err, sizeof(err)));
	cr_assert_neq(err[0], '\0');
}

Test(perm, bad_pattern_message_fits_small_buffer)
{
	char	err[8];

	memset(err, 'x', sizeof(err));
	cr_assert_null(perm_re_compile(S("("), err, sizeof(err)));
	cr_assert_eq(err[sizeof(err) - 1], '\0');
	/* No buffer at all is fine too. */
	cr_assert_null(perm_re_compile(S("("), NULL, 0));
}

Test(perm, backslash_c_is_refused)
{
	char	err[128];

	/* \C matches one byte and could split a UTF-8 character. */
	cr_assert_null(perm_re_compile(S("a\\Cb"), err, sizeof(err)));
}

Test(perm, pattern_that_is_not_utf8_is_refused)
{
	char	err[128];

	cr_assert_null(perm_re_compile(S("^\xff"), err, sizeof(err)));
	cr_assert_neq(err[0], '\0');
}

Test(perm, pattern_with_nul_is_refused)
{
	char	err[128];

	cr_assert_null(perm_re_compile("a\0b", 3, err, sizeof(err)));
	cr_assert_neq(err[0], '\0');
}

Test(perm, catastrophic_pattern_returns_no_match)
{
	struct perm_re	*re = compile("(a+)+$");
	char		 name[31];

	/* Unbounded, this takes more than 10^8 backtracking steps. */
	memset(name, 'a', 30);
	name[30] = 'b';
	cr_assert_not(perm_re_match(re, name, sizeof(name)));
	/* A name it does match is still admitted. */
	cr_assert(perm_re_match(re, name, 30));
	perm_re_free(re);
}

Test(perm, long_name_with_nested_groups_stays_within_limits)
{
	struct perm_re	*re = compile("^(([a-z])|([.]|[-_]))*$");
	char		 name[255];
	size_t		 i;

	for (i = 0; i < sizeof(name); i++)
		name[i] = "abcde.-_"[i % 8];
	cr_assert(perm_re_match(re, name, sizeof(name)));
	perm_re_free(re);
}

Test(perm, name_that_is_not_utf8_never_matches)
{
	struct perm_re	*re = compile(".*");

	cr_assert_not(perm_re_match(re, S("\xff\xfe")));
	cr_assert_not(perm_re_match(re, S("abc\xc3")));	/* truncated */
	cr_assert_not(perm_re_match(re, S("\xc0\xaf")));	/* overlong */
	cr_assert_not(perm_re_match(re, S("\xed\xa0\x80")));	/* surrogate */
	cr_assert(perm_re_match(re, S("caf\xc3\xa9")));
	perm_re_free(re);
}

Test(perm, dot_is_one_code_point)
{
	/*
	 * compat: differs from RabbitMQ, which matches bytes: there "^.{3}$"
	 * admits "\xc3\xa9" "a" (3 bytes) and refuses "\xc3\xa9" (2 bytes).
	 */
	cr_assert(matches("^.{2}$", "\xc3\xa9" "a"));
	cr_assert(matches("^.$", "\xc3\xa9"));
	cr_assert(matches("^.$", "\xe6\x97\xa5"));
	cr_assert_not(matches("^.{3}$", "\xe6\x97\xa5"));
}

Test(perm, pattern_is_kept_for_export)
{
	struct perm_re	*re = compile("^(amq\\.gen.*|amq\\.default)$");

	cr_assert_str_eq(perm_re_pattern(re), "^(amq\\.gen.*|amq\\.default)$");
	perm_re_free(re);
}

Test(perm, compiled_pattern_is_reusable)
{
	struct perm_re	*re = compile("^q[0-9]+$");
	char		 name[16];
	int		 i;

	for (i = 0; i < 1000; i++) {
		(void)snprintf(name, sizeof(name), "q%d", i);
		cr_assert(perm_re_match(re, S(name)));
	}
	cr_assert_not(perm_re_match(re, S("q")));
	perm_re_free(re);
}

Test(perm, free_accepts_null)
{
	perm_re_free(NULL);
}
