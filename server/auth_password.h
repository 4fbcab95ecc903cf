/*
 * RabbitMQ-compatible salted password hashes.
 *
 * A hash is base64(salt || H(salt || password)) with a 4-byte random salt,
 * where H is the algorithm named by the user's "hashing_algorithm" in
 * definitions. The password is hashed as the bytes the client sent (UTF-8
 * in practice); nothing is normalised.
 */
#ifndef WARREN_SERVER_AUTH_PASSWORD_H
#define WARREN_SERVER_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum password_algo {
	PASSWORD_SHA256,	/* rabbit_password_hashing_sha256, the default */
	PASSWORD_SHA512,	/* rabbit_password_hashing_sha512 */
	PASSWORD_MD5,		/* rabbit_password_hashing_md5, pre-3.6 users */
};

#define PASSWORD_SALT_LEN	4
/* Longest base64 hash (SHA-512: 4 + 64 bytes) plus the NUL. */
#define PASSWORD_HASH_MAX	93

/* Parses "rabbit_password_hashing_sha256" etc.; -1 if unknown. */
int	password_algo_parse(const char *name, enum password_algo *out);
/* The definitions name of algo, or NULL for a value outside the enum. */
const char *password_algo_name(enum password_algo algo);

/*
 * Writes a fresh salted hash of pw, base64 and NUL-terminated, to out.
 * Returns 0, or -1 if outlen is too small (PASSWORD_HASH_MAX always
 * suffices), no randomness is available or the digest fails.
 */
int	password_hash(enum password_algo algo, const char *pw, size_t pwlen,
	    char *out, size_t outlen);
/* As password_hash with a given salt: for tests and known-answer vectors. */
int	password_hash_with_salt(enum password_algo algo,
	    const uint8_t salt[PASSWORD_SALT_LEN], const char *pw, size_t pwlen,
	    char *out, size_t outlen);

/*
 * Whether pw matches hash_b64 (NUL-terminated), comparing digests in
 * constant time. A malformed hash, including "" (RabbitMQ's way to lock an
 * account) and a hash of another algorithm's length, never matches.
 */
bool	password_check(enum password_algo algo, const char *hash_b64,
	    const char *pw, size_t pwlen);
/*
 * Whether password_check could ever match hash_b64: the strict base64 of
 * a salt and a digest of algo's length. "" (a locked account) is not.
 */
bool	password_hash_valid(enum password_algo algo, const char *hash_b64);
/*
 * Does the work of a password_check and discards it, so that an unknown
 * user takes as long to refuse as a wrong password.
 */
void	password_check_dummy(enum password_algo algo, const char *pw,
	    size_t pwlen);

#endif /* WARREN_SERVER_AUTH_PASSWORD_H */
