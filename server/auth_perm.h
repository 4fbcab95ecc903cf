/*
 * Permission patterns: the configure, write and read regular expressions
 * of a user's permissions in a vhost, matched against resource names.
 *
 * compat: as RabbitMQ's internal backend, a pattern matches if it matches
 * anywhere in the name (re:run, unanchored: "foo" matches "xfooy"), ".*"
 * matches everything and "" matches nothing. Matching is bounded (see
 * auth_perm.c), and a match that runs into the bound denies.
 */
#ifndef WARREN_SERVER_AUTH_PERM_H
#define WARREN_SERVER_AUTH_PERM_H

#include <stdbool.h>
#include <stddef.h>

struct perm_re;

/*
 * Compiles a UTF-8 pattern of len bytes; "" (len 0) denies everything.
 * Returns NULL with a NUL-terminated message in err (errlen bytes) for a
 * pattern that does not compile, is not UTF-8 or contains a NUL byte, or
 * with "out of memory". The caller owns the result.
 */
struct perm_re	*perm_re_compile(const char *pattern, size_t len, char *err,
		    size_t errlen);
/*
 * Whether name (len bytes) matches re. A name that is not valid UTF-8, or
 * whose match exceeds the match or depth limit, does not match. Uses
 * scratch space inside re: not for concurrent use from several threads.
 */
bool		 perm_re_match(const struct perm_re *re, const char *name,
		    size_t len);
void		 perm_re_free(struct perm_re *re);
/* The source pattern, NUL-terminated, for export; owned by re. */
const char	*perm_re_pattern(const struct perm_re *re);

#endif /* WARREN_SERVER_AUTH_PERM_H */
