/*
 * Unit tests for RabbitMQ-compatible password hashes (server/auth_password.c).
 *
 * Known-answer vectors, all verified against RabbitMQ 3.10.8:
 *  - "s3cret" and "p\u00e4ssw\u00f6rd\u2713" (SHA-256) were hashed by
 *    RabbitMQ itself (rabbitmqctl add_user, then GET /api/users/NAME);
 *  - the SHA-512 and MD5 "s3cret" vectors were computed by hand with salt
 *    90 8d c6 0a, loaded with PUT /api/users/NAME {password_hash,
 *    hashing_algorithm}, and rabbitmqctl authenticate_user accepted them
 *    and refused a wrong password;
 *  - the MD5 "simon" vector with salt ca d5 08 9b is the worked example a
 *    RabbitMQ engineer posted to rabbitmq-discuss (May 2011), likewise
 *    accepted by authenticate_user.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "server/auth_password.h"

#define PW(s)	(s), strlen(s)

/* RabbitMQ 3.10.8: add_user alice s3cret */
static const char rmq_sha256_s3cret[] =
    "UcvhLirXj5sNg76ng2vj9u8PzQ8sNwbdu2JasIrO5Ich4z43";
static const uint8_t rmq_sha256_s3cret_salt[] = { 0x51, 0xcb, 0xe1, 0x2e };
/* RabbitMQ 3.10.8: add_user dave <UTF-8 password below> */
static const char rmq_sha256_utf8[] =
    "sjAd7OSazN8zzAEYRJCu9F2d2CSOkXoy9lkPa5Jbe0Ctv4FO";
static const char utf8_pw[] = "p\xc3\xa4ssw\xc3\xb6rd\xe2\x9c\x93";

static const uint8_t salt_908d[] = { 0x90, 0x8d, 0xc6, 0x0a };
static const char sha512_s3cret[] =
    "kI3GCky7GMJhP0F/jGJD6y5rh9cUASqnGFQMSVyDfTBLrIj5eJ6HaJSo6uPUnJ0A2/lb"
    "J4uax70J0oFzEuj2PJIVe/4=";
static const char md5_s3cret[] = "kI3GCoeyNuatKbUF3hRPeQ6H5YU=";
static const uint8_t salt_cad5[] = { 0xca, 0xd5, 0x08, 0x9b };
static const char md5_simon[] = "ytUIm8s3AnKsXQjptplKFytfVxI=";

Test(password, accepts_sha256_hash_made_by_rabbitmq)
{
	cr_assert(password_check(PASSWORD_SHA256, rmq_sha256_s3cret,
	    PW("s3cret")));
}

Test(password, accepts_utf8_password_hashed_by_rabbitmq)
{
	cr_assert(password_check(PASSWORD_SHA256, rmq_sha256_utf8,
	    PW(utf8_pw)));
}

Test(password, refuses_wrong_password_for_rabbitmq_hash)
{
	cr_assert_not(password_check(PASSWORD_SHA256, rmq_sha256_s3cret,
	    PW("s3cret ")));
	cr_assert_not(password_check(PASSWORD_SHA256, rmq_sha256_s3cret,
	    PW("S3cret")));
	cr_assert_not(password_check(PASSWORD_SHA256, rmq_sha256_s3cret,
	    PW("")));
}

Test(password, password_is_compared_as_bytes_not_c_string)
{
	/* A NUL cannot end the password early. */
	cr_assert_not(password_check(PASSWORD_SHA256, rmq_sha256_s3cret,
	    "s3cret\0x", 8));
}

Test(password, reproduces_rabbitmq_sha256_hash_from_its_salt)
{
	char	out[PASSWORD_HASH_MAX];

	cr_assert_eq(password_hash_with_salt(PASSWORD_SHA256,
	    rmq_sha256_s3cret_salt, PW("s3cret"), out, sizeof(out)), 0);
	cr_assert_str_eq(out, rmq_sha256_s3cret);
}

Test(password, sha512_known_answer)
{
	char	out[PASSWORD_HASH_MAX];

	cr_assert_eq(password_hash_with_salt(PASSWORD_SHA512, salt_908d,
	    PW("s3cret"), out, sizeof(out)), 0);
	cr_assert_str_eq(out, sha512_s3cret);
	cr_assert(password_check(PASSWORD_SHA512, sha512_s3cret,
	    PW("s3cret")));
	cr_assert_not(password_check(PASSWORD_SHA512, sha512_s3cret,
	    PW("wrong")));
}

Test(password, md5_known_answers)
{
	char	out[PASSWORD_HASH_MAX];

	cr_assert_eq(password_hash_with_salt(PASSWORD_MD5, salt_908d,
	    PW("s3cret"), out, sizeof(out)), 0);
	cr_assert_str_eq(out, md5_s3cret);
	cr_assert_eq(password_hash_with_salt(PASSWORD_MD5, salt_cad5,
	    PW("simon"), out, sizeof(out)), 0);
	cr_assert_str_eq(out, md5_simon);
	cr_assert(password_check(PASSWORD_MD5, md5_simon, PW("simon")));
	cr_assert_not(password_check(PASSWORD_MD5, md5_simon, PW("Simon")));
}

Test(password, hash_then_check_round_trips_for_each_algorithm)
{
	static const enum password_algo algos[] = {
		PASSWORD_SHA256, PASSWORD_SHA512, PASSWORD_MD5,
	};
	static const size_t	 lens[] = { 48, 92, 28 };
	char			 out[PASSWORD_HASH_MAX];
	size_t			 i;

	for (i = 0; i < sizeof(algos) / sizeof(algos[0]); i++) {
		cr_assert_eq(password_hash(algos[i], PW("hunter2"), out,
		    sizeof(out)), 0);
		cr_assert_eq(strlen(out), lens[i]);
		cr_assert(password_check(algos[i], out, PW("hunter2")));
		cr_assert_not(password_check(algos[i], out, PW("hunter3")));
	}
}

Test(password, empty_password_round_trips)
{
	char	out[PASSWORD_HASH_MAX];

	cr_assert_eq(password_hash(PASSWORD_SHA256, NULL, 0, out,
	    sizeof(out)), 0);
	cr_assert(password_check(PASSWORD_SHA256, out, NULL, 0));
	cr_assert_not(password_check(PASSWORD_SHA256, out, PW("x")));
}

Test(password, fresh_hashes_differ_by_salt)
{
	char	a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];

	/* 2^-32 chance of a false failure. */
	cr_assert_eq(password_hash(PASSWORD_SHA256, PW("same"), a,
	    sizeof(a)), 0);
	cr_assert_eq(password_hash(PASSWORD_SHA256, PW("same"), b,
	    sizeof(b)), 0);
	cr_assert_str_neq(a, b);
}

Test(password, hash_of_another_algorithm_never_matches)
{
	cr_assert_not(password_check(PASSWORD_SHA512, rmq_sha256_s3cret,
	    PW("s3cret")));
	cr_assert_not(password_check(PASSWORD_MD5, rmq_sha256_s3cret,
	    PW("s3cret")));
	cr_assert_not(password_check(PASSWORD_SHA256, md5_s3cret,
	    PW("s3cret")));
}

Test(password, empty_hash_locks_the_account)
{
	/* compat: RabbitMQ documents password_hash "" as "cannot log in". */
	cr_assert_not(password_check(PASSWORD_SHA256, "", PW("")));
	cr_assert_not(password_check(PASSWORD_SHA256, "", PW("s3cret")));
	cr_assert_not(password_check(PASSWORD_SHA256, NULL, PW("s3cret")));
}

Test(password, malformed_base64_never_matches)
{
	static const char *const bad[] = {
		/* a character outside the alphabet */
		"UcvhLirXj5sNg76ng2vj9u8PzQ8sNwbdu2JasIrO5Ich4z4*",
		/* URL-safe alphabet */
		"UcvhLirXj5sNg76ng2vj9u8PzQ8sNwbdu2JasIrO5Ich4z4_",
		/* surrounding whitespace and a line break */
		" UcvhLirXj5sNg76ng2vj9u8PzQ8sNwbdu2JasIrO5Ich4z43",
		"UcvhLirXj5sNg76ng2vj9u8PzQ8sNwbdu2JasIrO5Ich4z43\n",
		"UcvhLirXj5sNg76ng2vj9u8P\nzQ8sNwbdu2JasIrO5Ich4z43",
		/* truncated: not whole quanta, then whole but short */
		"UcvhLirXj5sNg76ng2vj9u8PzQ8sNwbdu2JasIrO5Ich4z4",
		"UcvhLirXj5sNg76ng2vj9u8PzQ8sNwbdu2JasIrO5Ich",
		/* one quantum too many */
		"UcvhLirXj5sNg76ng2vj9u8PzQ8sNwbdu2JasIrO5Ich4z43AAAA",
		/* padding where none belongs, and too much of it */
		"UcvhLirXj5sNg76ng2vj9u8PzQ8sNwbdu2JasIrO5Ich4z4=",
		"UcvhLirXj5sNg76ng2vj9u8PzQ8sNwbdu2JasIrO5Ich4z43====",
		"UcvhLirXj5sNg76n=2vj9u8PzQ8sNwbdu2JasIrO5Ich4z43",
		"=",
		"====",
		"AAAA",
	};
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(password_check(PASSWORD_SHA256, bad[i],
		    PW("s3cret")), "accepted \"%s\"", bad[i]);
}

Test(password, non_canonical_padding_bits_never_match)
{
	/*
	 * md5_simon ends "VxI=": "I" leaves its low two bits zero under the
	 * padding; "J" decodes to the same bytes with a stray bit set.
	 */
	cr_assert(password_check(PASSWORD_MD5, md5_simon, PW("simon")));
	cr_assert_not(password_check(PASSWORD_MD5,
	    "ytUIm8s3AnKsXQjptplKFytfVxJ=", PW("simon")));
	/* And for SHA-512's "/4=": "5" sets a bit under the padding. */
	cr_assert(password_check(PASSWORD_SHA512, sha512_s3cret,
	    PW("s3cret")));
	cr_assert_not(password_check(PASSWORD_SHA512,
	    "kI3GCky7GMJhP0F/jGJD6y5rh9cUASqnGFQMSVyDfTBLrIj5eJ6HaJSo6uPUnJ0A2/lb"
	    "J4uax70J0oFzEuj2PJIVe/5=", PW("s3cret")));
}

/* What the admin API stores: only a hash password_check could match. */
Test(password, hash_valid_only_for_a_hash_of_that_algorithm)
{
	cr_assert(password_hash_valid(PASSWORD_SHA256, rmq_sha256_s3cret));
	cr_assert(password_hash_valid(PASSWORD_SHA512, sha512_s3cret));
	cr_assert(password_hash_valid(PASSWORD_MD5, md5_simon));
	/* Another algorithm's length, a locked account, bad base64. */
	cr_assert_not(password_hash_valid(PASSWORD_SHA512, rmq_sha256_s3cret));
	cr_assert_not(password_hash_valid(PASSWORD_SHA256, md5_s3cret));
	cr_assert_not(password_hash_valid(PASSWORD_SHA256, ""));
	cr_assert_not(password_hash_valid(PASSWORD_SHA256, NULL));
	cr_assert_not(password_hash_valid(PASSWORD_SHA256, "!!"));
	cr_assert_not(password_hash_valid(PASSWORD_MD5,
	    "ytUIm8s3AnKsXQjptplKFytfVxJ="));
	cr_assert_not(password_hash_valid((enum password_algo)99,
	    rmq_sha256_s3cret));
}

Test(password, each_algorithm_name_parses_and_round_trips)
{
	static const struct {
		const char		*name;
		enum password_algo	 algo;
	} t[] = {
		{ "rabbit_password_hashing_sha256", PASSWORD_SHA256 },
		{ "rabbit_password_hashing_sha512", PASSWORD_SHA512 },
		{ "rabbit_password_hashing_md5", PASSWORD_MD5 },
	};
	enum password_algo	 a;
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_assert_eq(password_algo_parse(t[i].name, &a), 0);
		cr_assert_eq(a, t[i].algo);
		cr_assert_str_eq(password_algo_name(a), t[i].name);
	}
}

Test(password, unknown_algorithm_name_is_refused)
{
	enum password_algo	a = PASSWORD_MD5;

	cr_assert_eq(password_algo_parse("sha256", &a), -1);
	cr_assert_eq(password_algo_parse("rabbit_password_hashing_SHA256",
	    &a), -1);
	cr_assert_eq(password_algo_parse("rabbit_password_hashing_sha256 ",
	    &a), -1);
	cr_assert_eq(password_algo_parse("", &a), -1);
	cr_assert_eq(password_algo_parse(NULL, &a), -1);
	cr_assert_eq(a, PASSWORD_MD5, "output changed on failure");
	cr_assert_null(password_algo_name((enum password_algo)42));
}

Test(password, too_small_buffer_is_refused)
{
	char	out[PASSWORD_HASH_MAX];

	/* SHA-256: 48 characters and the NUL. */
	memset(out, 'x', sizeof(out));
	cr_assert_eq(password_hash(PASSWORD_SHA256, PW("pw"), out, 48), -1);
	cr_assert_eq(out[0], 'x', "wrote into a buffer that was too small");
	cr_assert_eq(password_hash(PASSWORD_SHA256, PW("pw"), out, 49), 0);
	cr_assert_eq(strlen(out), 48);
	cr_assert_eq(password_hash_with_salt(PASSWORD_MD5, salt_cad5,
	    PW("simon"), out, 28), -1);
	cr_assert_eq(password_hash(PASSWORD_SHA512, PW("pw"), out, 92), -1);
	cr_assert_eq(password_hash(PASSWORD_SHA512, PW("pw"), out,
	    PASSWORD_HASH_MAX), 0);
	cr_assert_eq(password_hash(PASSWORD_SHA256, PW("pw"), NULL, 0), -1);
}

Test(password, dummy_check_runs_for_each_algorithm)
{
	/* Nothing to observe but that it returns and touches no memory. */
	password_check_dummy(PASSWORD_SHA256, PW("anything"));
	password_check_dummy(PASSWORD_SHA512, PW("anything"));
	password_check_dummy(PASSWORD_MD5, NULL, 0);
	password_check_dummy((enum password_algo)42, PW("anything"));
}
