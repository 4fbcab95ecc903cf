#include "autoconf.h"

#include "server/auth.h"

#include <string.h>

#include "protocol/table.h"

int
auth_parse_plain(struct proto_str r, struct proto_str *user,
    struct proto_str *pass)
{
	const uint8_t *nul1, *nul2;

	if ((nul1 = memchr(r.p, '\0', r.len)) == NULL)
		return -1;
	nul2 = memchr(nul1 + 1, '\0', r.len - (size_t)(nul1 + 1 - r.p));
	if (nul2 == NULL)
		return -1;
	user->p = nul1 + 1;
	user->len = (size_t)(nul2 - user->p);
	pass->p = nul2 + 1;
	pass->len = r.len - (size_t)(pass->p - r.p);
	/* A third NUL means the response is not PLAIN. */
	if (memchr(pass->p, '\0', pass->len) != NULL || user->len == 0)
		return -1;
	return 0;
}

int
auth_parse_amqplain(struct proto_str r, struct proto_str *user,
    struct proto_str *pass)
{
	/* spec: the response is a field table without its length prefix. */
	struct proto_table t = { r.p, r.len };
	struct proto_field f;

	if (!proto_table_validate(t))
		return -1;
	if (!proto_table_get(t, "LOGIN", &f) || f.kind != PROTO_FIELD_LONGSTR)
		return -1;
	*user = f.v.str;
	if (!proto_table_get(t, "PASSWORD", &f) || f.kind != PROTO_FIELD_LONGSTR)
		return -1;
	*pass = f.v.str;
	return 0;
}

/* Compares without an early exit, so timing does not leak the password. */
static int
same(struct proto_str a, const char *b)
{
	size_t blen = strlen(b), n = a.len > blen ? a.len : blen;
	unsigned diff = (unsigned)(a.len ^ blen);

	for (size_t i = 0; i < n; i++)
		diff |= (unsigned)((i < a.len ? a.p[i] : 0) ^
		    (i < blen ? (uint8_t)b[i] : 0));
	return diff == 0;
}

enum auth_result
auth_login(struct broker *b, struct proto_str mechanism,
    struct proto_str response, struct proto_str *user)
{
	struct proto_str pass;
	int rc;

	if (proto_str_eqc(mechanism, "PLAIN"))
		rc = auth_parse_plain(response, user, &pass);
	else if (proto_str_eqc(mechanism, "AMQPLAIN"))
		rc = auth_parse_amqplain(response, user, &pass);
	else
		return AUTH_BAD_MECHANISM;
	if (rc != 0)
		return AUTH_MALFORMED;
	/* XXX: stored users arrive with the security issue. */
	if (!(same(*user, "guest") & same(pass, "guest")))
		return AUTH_REFUSED;
	return AUTH_OK;
}
