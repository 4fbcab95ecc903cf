/*
 * Permission patterns with PCRE2 (see auth_perm.h).
 *
 * Every queue.declare or basic.publish runs a pattern against a name the
 * client chose, so a careless or hostile pattern such as "(a+)+$" must not
 * stall the event loop. Matching runs under a match limit (backtracking
 * steps), a depth limit (nested backtracking points) and a heap limit (the
 * frames those points need, which grow with the number of capture
 * groups), and hitting any limit denies. The interpreter is used, never
 * the JIT, which ignores the depth limit.
 *
 * compat: RabbitMQ 3.10 runs re:run(Name, Pattern, [{capture, none}]) with
 * no "unicode" option, i.e. byte by byte: "^.{3}$" admits "éa" and "日"
 * (three bytes each) there, but here the pattern is compiled with
 * PCRE2_UTF, so "." is one code point and those names are refused. Only
 * patterns that count or class non-ASCII characters differ. RabbitMQ
 * refuses names that are not UTF-8 at the frame layer ("Malformed UTF-8 in
 * shortstr"); here such a name never matches, so it is denied too.
 *
 * compat: RabbitMQ replaces "" with "^$", which in theory admits the empty
 * name; but it never checks one (the default exchange is checked as
 * "amq.default", a server-named queue after naming), so "" denying every
 * name is the same in practice and does not depend on names being
 * non-empty.
 */
#include "autoconf.h"

#include "server/auth_perm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH	8
#include <pcre2.h>

/*
 * Backtracking points created in one match. Measured with PCRE2 10.42 on
 * 255-byte names, plausible patterns need at most about a thousand, while
 * "(a+)+$" against 30 "a"s and a "b" needs more than 10^8 (past PCRE2's
 * own default) and stops here after about a millisecond.
 */
#define PERM_MATCH_LIMIT	100000
/*
 * Nested backtracking points. Not 1000: a plausible pattern over a
 * 255-byte name, "^(([a-z])|([.]|[-_]))*$", already needs 770, and a
 * legitimate name must not be refused for its length. Memory is what
 * depth costs, and the heap limit caps that.
 */
#define PERM_DEPTH_LIMIT	5000
/* KiB of backtracking frames per match (PCRE2's default is 20 GB). */
#define PERM_HEAP_LIMIT		4096

struct perm_re {
	char			*pattern;	/* source, NUL-terminated */
	pcre2_code		*code;		/* NULL for "": matches nothing */
	/*
	 * Scratch for perm_re_match. PCRE2 (10.42) keeps its backtracking
	 * frames here between matches: at least 20 KiB once used.
	 */
	pcre2_match_data	*md;
	pcre2_match_context	*mctx;		/* the limits */
};

static void
set_err(char *err, size_t errlen, const char *msg, size_t off, bool has_off)
{
	if (err == NULL || errlen == 0)
		return;
	if (has_off)
		(void)snprintf(err, errlen, "%s at offset %zu", msg, off);
	else
		(void)snprintf(err, errlen, "%s", msg);
}

struct perm_re *
perm_re_compile(const char *pattern, size_t len, char *err, size_t errlen)
{
	struct perm_re	*re;
	PCRE2_UCHAR	 msg[160];
	PCRE2_SIZE	 off;
	int		 code;

	/* The source is exported as a C string; a NUL would truncate it. */
	if (len > 0 && memchr(pattern, '\0', len) != NULL) {
		set_err(err, errlen, "NUL byte in pattern", 0, false);
		return NULL;
	}
	if ((re = calloc(1, sizeof(*re))) == NULL ||
	    (re->pattern = malloc(len + 1)) == NULL)
		goto nomem;
	if (len > 0)
		memcpy(re->pattern, pattern, len);
	re->pattern[len] = '\0';
	if (len == 0)
		return re;

	re->code = pcre2_compile((PCRE2_SPTR)pattern, len,
	    PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C, &code, &off, NULL);
	if (re->code == NULL) {
		if (code == PCRE2_ERROR_NOMEMORY)
			goto nomem;
		/* A truncated message is still NUL-terminated: keep it. */
		(void)pcre2_get_error_message(code, msg, sizeof(msg));
		set_err(err, errlen, (const char *)msg, off, true);
		perm_re_free(re);
		return NULL;
	}
	/* Group 0 only: matching captures nothing. */
	if ((re->md = pcre2_match_data_create(1, NULL)) == NULL ||
	    (re->mctx = pcre2_match_context_create(NULL)) == NULL)
		goto nomem;
	if (pcre2_set_match_limit(re->mctx, PERM_MATCH_LIMIT) != 0 ||
	    pcre2_set_depth_limit(re->mctx, PERM_DEPTH_LIMIT) != 0 ||
	    pcre2_set_heap_limit(re->mctx, PERM_HEAP_LIMIT) != 0)
		goto nomem;
	return re;
nomem:
	set_err(err, errlen, "out of memory", 0, false);
	perm_re_free(re);
	return NULL;
}

bool
perm_re_match(const struct perm_re *re, const char *name, size_t len)
{
	int	rc;

	if (re->code == NULL)
		return false;
	if (name == NULL)
		name = "";
	/*
	 * No PCRE2_NO_UTF_CHECK: pcre2_match validates the name first and
	 * fails with a PCRE2_ERROR_UTF8_* code for bytes that are not UTF-8,
	 * which lands below with the limit errors as a denial.
	 */
	rc = pcre2_match(re->code, (PCRE2_SPTR)name, len, 0, 0, re->md,
	    re->mctx);
	/* 0 means a match with more groups than md holds. */
	return rc >= 0;
}

void
perm_re_free(struct perm_re *re)
{
	if (re == NULL)
		return;
	pcre2_match_context_free(re->mctx);
	pcre2_match_data_free(re->md);
	pcre2_code_free(re->code);
	free(re->pattern);
	free(re);
}

const char *
perm_re_pattern(const struct perm_re *re)
{
	return re->pattern;
}
