#include "autoconf.h"

/* Unit tests for SASL PLAIN and AMQPLAIN logins (server/auth.c). */
#include <criterion/criterion.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "protocol/table.h"
#include "protocol/wire.h"
#include "server/auth.h"

/* A byte string literal that may hold NULs. */
#define BYTES(lit)	((struct proto_str){ (const uint8_t *)(lit), \
			    sizeof(lit) - 1 })

static uint8_t	tbuf[256];

/* An AMQPLAIN response: a table without its length prefix. */
static struct proto_str
amqplain(const char *login, const char *password)
{
	struct proto_writer w = proto_writer(tbuf, sizeof(tbuf));
	size_t at = proto_table_begin(&w);

	if (login != NULL)
		proto_table_put_longstr(&w, "LOGIN", login);
	if (password != NULL)
		proto_table_put_longstr(&w, "PASSWORD", password);
	proto_table_end(&w, at);
	cr_assert(!w.overflow);
	return (struct proto_str){ tbuf + 4, w.len - 4 };
}

Test(auth, plain_splits_user_and_password)
{
	struct proto_str user, pass;

	cr_assert_eq(auth_parse_plain(BYTES("\0guest\0secret"), &user, &pass),
	    0);
	cr_assert(proto_str_eqc(user, "guest"));
	cr_assert(proto_str_eqc(pass, "secret"));
}

Test(auth, plain_skips_the_authzid)
{
	struct proto_str user, pass;

	cr_assert_eq(auth_parse_plain(BYTES("admin\0guest\0secret"), &user,
	    &pass), 0);
	cr_assert(proto_str_eqc(user, "guest"));
	cr_assert(proto_str_eqc(pass, "secret"));
}

Test(auth, plain_without_nuls_is_malformed)
{
	struct proto_str user, pass;

	cr_assert_eq(auth_parse_plain(BYTES("guestguest"), &user, &pass), -1);
}

Test(auth, plain_with_one_nul_is_malformed)
{
	struct proto_str user, pass;

	cr_assert_eq(auth_parse_plain(BYTES("\0guestguest"), &user, &pass), -1);
}

Test(auth, plain_with_three_nuls_is_malformed)
{
	struct proto_str user, pass;

	cr_assert_eq(auth_parse_plain(BYTES("\0guest\0gu\0est"), &user, &pass),
	    -1);
}

Test(auth, plain_with_empty_user_is_malformed)
{
	struct proto_str user, pass;

	cr_assert_eq(auth_parse_plain(BYTES("\0\0guest"), &user, &pass), -1);
}

Test(auth, plain_of_no_bytes_is_malformed)
{
	struct proto_str user, pass;

	cr_assert_eq(auth_parse_plain(BYTES(""), &user, &pass), -1);
}

Test(auth, amqplain_reads_login_and_password)
{
	struct proto_str user, pass;

	cr_assert_eq(auth_parse_amqplain(amqplain("guest", "secret"), &user,
	    &pass), 0);
	cr_assert(proto_str_eqc(user, "guest"));
	cr_assert(proto_str_eqc(pass, "secret"));
}

Test(auth, amqplain_without_password_is_malformed)
{
	struct proto_str user, pass;

	cr_assert_eq(auth_parse_amqplain(amqplain("guest", NULL), &user, &pass),
	    -1);
}

Test(auth, amqplain_without_login_is_malformed)
{
	struct proto_str user, pass;

	cr_assert_eq(auth_parse_amqplain(amqplain(NULL, "guest"), &user, &pass),
	    -1);
}

Test(auth, amqplain_truncated_table_is_malformed)
{
	struct proto_str r = amqplain("guest", "guest"), user, pass;

	r.len--;
	cr_assert_eq(auth_parse_amqplain(r, &user, &pass), -1);
}

Test(auth, amqplain_with_length_prefix_is_malformed)
{
	struct proto_str r = amqplain("guest", "guest"), user, pass;

	r.p -= 4;
	r.len += 4;
	cr_assert_eq(auth_parse_amqplain(r, &user, &pass), -1);
}

Test(auth, amqplain_login_of_wrong_type_is_malformed)
{
	struct proto_writer w = proto_writer(tbuf, sizeof(tbuf));
	struct proto_str user, pass;
	size_t at = proto_table_begin(&w);

	proto_table_put_bool(&w, "LOGIN", true);
	proto_table_put_longstr(&w, "PASSWORD", "guest");
	proto_table_end(&w, at);
	cr_assert(!w.overflow);
	cr_assert_eq(auth_parse_amqplain((struct proto_str){ tbuf + 4,
	    w.len - 4 }, &user, &pass), -1);
}

Test(auth, login_plain_guest_succeeds)
{
	struct proto_str user = { NULL, 0 };

	cr_assert_eq(auth_login(NULL, proto_str_c("PLAIN"),
	    BYTES("\0guest\0guest"), &user), AUTH_OK);
	cr_assert(proto_str_eqc(user, "guest"));
}

Test(auth, login_amqplain_guest_succeeds)
{
	struct proto_str user = { NULL, 0 };

	cr_assert_eq(auth_login(NULL, proto_str_c("AMQPLAIN"),
	    amqplain("guest", "guest"), &user), AUTH_OK);
	cr_assert(proto_str_eqc(user, "guest"));
}

Test(auth, login_plain_wrong_password_is_refused)
{
	struct proto_str user;

	cr_assert_eq(auth_login(NULL, proto_str_c("PLAIN"),
	    BYTES("\0guest\0guess"), &user), AUTH_REFUSED);
}

Test(auth, login_amqplain_wrong_password_is_refused)
{
	struct proto_str user;

	cr_assert_eq(auth_login(NULL, proto_str_c("AMQPLAIN"),
	    amqplain("guest", "wrong"), &user), AUTH_REFUSED);
}

Test(auth, login_password_prefix_is_refused)
{
	struct proto_str user;

	cr_assert_eq(auth_login(NULL, proto_str_c("PLAIN"),
	    BYTES("\0guest\0gues"), &user), AUTH_REFUSED);
	cr_assert_eq(auth_login(NULL, proto_str_c("PLAIN"),
	    BYTES("\0guest\0guests"), &user), AUTH_REFUSED);
}

Test(auth, login_empty_password_is_refused)
{
	struct proto_str user;

	cr_assert_eq(auth_login(NULL, proto_str_c("PLAIN"),
	    BYTES("\0guest\0"), &user), AUTH_REFUSED);
}

Test(auth, login_unknown_user_is_refused)
{
	struct proto_str user;

	cr_assert_eq(auth_login(NULL, proto_str_c("PLAIN"),
	    BYTES("\0admin\0guest"), &user), AUTH_REFUSED);
}

Test(auth, login_unknown_mechanism_is_rejected)
{
	struct proto_str user;

	cr_assert_eq(auth_login(NULL, proto_str_c("EXTERNAL"),
	    BYTES("\0guest\0guest"), &user), AUTH_BAD_MECHANISM);
}

Test(auth, login_mechanism_name_is_case_sensitive)
{
	struct proto_str user;

	cr_assert_eq(auth_login(NULL, proto_str_c("plain"),
	    BYTES("\0guest\0guest"), &user), AUTH_BAD_MECHANISM);
}

Test(auth, login_malformed_response_is_reported)
{
	struct proto_str user;

	cr_assert_eq(auth_login(NULL, proto_str_c("PLAIN"), BYTES("guest"),
	    &user), AUTH_MALFORMED);
}
