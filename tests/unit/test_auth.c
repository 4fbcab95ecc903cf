#include "autoconf.h"

/* Unit tests for SASL PLAIN and AMQPLAIN logins (server/auth.c). */
#include <criterion/criterion.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/table.h"
#include "protocol/wire.h"
#include "server/auth.h"
#include "server/broker.h"

#include <arpa/inet.h>
#include <netinet/in.h>

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

/* compat: RabbitMQ 3.10 refuses any authzid, even the user's own. */
Test(auth, plain_with_an_authzid_is_malformed)
{
	struct proto_str user, pass;

	cr_assert_eq(auth_parse_plain(BYTES("admin\0guest\0secret"), &user,
	    &pass), -1);
	cr_assert_eq(auth_parse_plain(BYTES("guest\0guest\0secret"), &user,
	    &pass), -1);
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

static struct ev_loop	*loop;
static struct broker	 b;
static struct user	*logged_in;
static struct sockaddr_in from;		/* the peer: loopback unless a test moves it */

static void
setup(void)
{
	char err[256];

	/* Its defaults include loopback-users "guest". */
	loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(loop);
	broker_init_test(&b, loop);
	cr_assert_eq(auth_user_set_password(&b, "guest", "guest",
	    "administrator", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(auth_user_set_password(&b, "alice", "s3cret", "", err,
	    sizeof(err)), 0, "%s", err);
	memset(&from, 0, sizeof(from));
	from.sin_family = AF_INET;
	from.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	logged_in = NULL;
}

static void
teardown(void)
{
	broker_free(&b);
	ev_loop_destroy(loop);
}

TestSuite(auth, .init = setup, .fini = teardown);

static enum auth_result
login(struct proto_str mech, struct proto_str response)
{
	return auth_login(&b, mech, response, (struct sockaddr *)&from,
	    &logged_in);
}

Test(auth, login_plain_guest_succeeds)
{
	cr_assert_eq(login(proto_str_c("PLAIN"), BYTES("\0guest\0guest")), AUTH_OK);
	cr_assert_str_eq(logged_in->name, "guest");
}

Test(auth, login_amqplain_guest_succeeds)
{
	cr_assert_eq(login(proto_str_c("AMQPLAIN"), amqplain("guest", "guest")), AUTH_OK);
	cr_assert_str_eq(logged_in->name, "guest");
}

Test(auth, login_plain_wrong_password_is_refused)
{
	cr_assert_eq(login(proto_str_c("PLAIN"), BYTES("\0guest\0guess")), AUTH_REFUSED);
}

Test(auth, login_amqplain_wrong_password_is_refused)
{
	cr_assert_eq(login(proto_str_c("AMQPLAIN"), amqplain("guest", "wrong")), AUTH_REFUSED);
}

Test(auth, login_password_prefix_is_refused)
{
	cr_assert_eq(login(proto_str_c("PLAIN"), BYTES("\0guest\0gues")), AUTH_REFUSED);
	cr_assert_eq(login(proto_str_c("PLAIN"), BYTES("\0guest\0guests")), AUTH_REFUSED);
}

Test(auth, login_empty_password_is_refused)
{
	cr_assert_eq(login(proto_str_c("PLAIN"), BYTES("\0guest\0")), AUTH_REFUSED);
}

Test(auth, user_with_a_blank_password_cannot_log_in)
{
	char err[256];

	/* compat: RabbitMQ refuses a blank password even when it matches. */
	cr_assert_eq(auth_user_set_password(&b, "blank", "", "", err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(login(proto_str_c("PLAIN"), BYTES("\0blank\0")),
	    AUTH_REFUSED);
	cr_assert_eq(login(proto_str_c("AMQPLAIN"), amqplain("blank", "")),
	    AUTH_REFUSED);
}

Test(auth, login_unknown_user_is_refused)
{
	cr_assert_eq(login(proto_str_c("PLAIN"), BYTES("\0admin\0guest")), AUTH_REFUSED);
}

Test(auth, login_unknown_mechanism_is_rejected)
{
	cr_assert_eq(login(proto_str_c("EXTERNAL"), BYTES("\0guest\0guest")), AUTH_BAD_MECHANISM);
}

Test(auth, login_mechanism_name_is_case_sensitive)
{
	cr_assert_eq(login(proto_str_c("plain"), BYTES("\0guest\0guest")), AUTH_BAD_MECHANISM);
}

Test(auth, login_malformed_response_is_reported)
{
	cr_assert_eq(login(proto_str_c("PLAIN"), BYTES("guest")), AUTH_MALFORMED);
}

Test(auth, guest_is_refused_from_a_non_loopback_peer)
{
	from.sin_addr.s_addr = inet_addr("192.0.2.7");
	cr_assert_eq(login(proto_str_c("PLAIN"), BYTES("\0guest\0guest")),
	    AUTH_REFUSED);
	/* Other users may come from anywhere. */
	cr_assert_eq(login(proto_str_c("PLAIN"), BYTES("\0alice\0s3cret")),
	    AUTH_OK);
}

Test(auth, login_plain_with_an_authzid_is_malformed)
{
	cr_assert_eq(login(proto_str_c("PLAIN"), BYTES("guest\0guest\0guest")),
	    AUTH_MALFORMED);
}

/* Replaces the loopback-users option (the broker frees it). */
static void
set_loopback_users(const char *list)
{
	free(b.cfg.loopback_users);
	cr_assert_not_null(b.cfg.loopback_users = strdup(list));
}

Test(auth, loopback_users_entries_are_trimmed)
{
	set_loopback_users("guest, alice");
	from.sin_addr.s_addr = inet_addr("192.0.2.7");
	cr_assert_eq(login(proto_str_c("PLAIN"), BYTES("\0alice\0s3cret")),
	    AUTH_REFUSED, "' alice' did not name alice");
	cr_assert_eq(login(proto_str_c("PLAIN"), BYTES("\0guest\0guest")),
	    AUTH_REFUSED);
	set_loopback_users(" alice\t,\tguest ");
	cr_assert_eq(login(proto_str_c("PLAIN"), BYTES("\0alice\0s3cret")),
	    AUTH_REFUSED);
	cr_assert_eq(login(proto_str_c("PLAIN"), BYTES("\0guest\0guest")),
	    AUTH_REFUSED);
	/* A blank is no wildcard, nor is a prefix a name. */
	set_loopback_users(" , ali");
	cr_assert_eq(login(proto_str_c("PLAIN"), BYTES("\0alice\0s3cret")),
	    AUTH_OK);
}

/* compat: rabbit_reader checks loopback_users after any mechanism. */
Test(auth, external_login_honours_loopback_users)
{
	cr_assert_eq(auth_login_external(&b, "guest", (struct sockaddr *)&from,
	    &logged_in), AUTH_OK);
	from.sin_addr.s_addr = inet_addr("192.0.2.7");
	cr_assert_eq(auth_login_external(&b, "guest", (struct sockaddr *)&from,
	    &logged_in), AUTH_REFUSED);
	cr_assert_eq(auth_login_external(&b, "alice", (struct sockaddr *)&from,
	    &logged_in), AUTH_OK);
	cr_assert_str_eq(logged_in->name, "alice");
}

Test(auth, loopback_is_decided_for_ipv4_ipv6_and_v4_mapped)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };

	v4.sin_addr.s_addr = inet_addr("127.0.0.1");
	cr_assert(auth_is_loopback((struct sockaddr *)&v4));
	v4.sin_addr.s_addr = inet_addr("127.255.0.9");
	cr_assert(auth_is_loopback((struct sockaddr *)&v4));
	v4.sin_addr.s_addr = inet_addr("10.0.0.1");
	cr_assert_not(auth_is_loopback((struct sockaddr *)&v4));
	inet_pton(AF_INET6, "::1", &v6.sin6_addr);
	cr_assert(auth_is_loopback((struct sockaddr *)&v6));
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &v6.sin6_addr);
	cr_assert(auth_is_loopback((struct sockaddr *)&v6));
	inet_pton(AF_INET6, "::ffff:192.0.2.1", &v6.sin6_addr);
	cr_assert_not(auth_is_loopback((struct sockaddr *)&v6));
	inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);
	cr_assert_not(auth_is_loopback((struct sockaddr *)&v6));
	cr_assert_not(auth_is_loopback(NULL));
}

Test(auth, permissions_match_rabbitmq_regexes)
{
	char err[256];
	struct user *u;

	cr_assert_eq(auth_permission_set(&b, "alice", "/", "^alice-.*", "",
	    ".*", err, sizeof(err)), 0, "%s", err);
	u = auth_user(&b, "alice", 5);
	cr_assert(auth_vhost_allowed(u, "/"));
	cr_assert_not(auth_vhost_allowed(u, "other"));
	cr_assert(auth_can(u, "/", PERM_CONFIGURE, proto_str_c("alice-q")));
	cr_assert_not(auth_can(u, "/", PERM_CONFIGURE, proto_str_c("bob-q")));
	/* "" denies everything; the default exchange is amq.default. */
	cr_assert_not(auth_can(u, "/", PERM_WRITE, proto_str_c("")));
	cr_assert(auth_can(u, "/", PERM_READ, proto_str_c("")));
	cr_assert_not(auth_can(u, "other", PERM_READ, proto_str_c("x")));
}

Test(auth, bad_permission_pattern_is_refused_with_a_reason)
{
	char err[256] = "";

	cr_assert_eq(auth_permission_set(&b, "alice", "/", "(", ".*", ".*",
	    err, sizeof(err)), -1);
	cr_assert_neq(err[0], '\0');
	cr_assert_eq(auth_permission_set(&b, "nobody", "/", ".*", ".*", ".*",
	    err, sizeof(err)), -1);
}

Test(auth, tags_are_parsed)
{
	char err[256];

	cr_assert_eq(auth_user_put(&b, "carol", "", NULL,
	    "monitoring, impersonator,unknown", err, sizeof(err)), 0);
	cr_assert_eq(auth_user(&b, "carol", 5)->tag_bits,
	    USER_TAG_MONITORING | USER_TAG_IMPERSONATOR);
	cr_assert_eq(auth_user_put(&b, "dave", "", "md4", "", err,
	    sizeof(err)), -1);
}
