/*
 * RabbitMQ-compatible salted password hashes (see auth_password.h).
 *
 * compat: the layout is RabbitMQ's rabbit_password: a 4-byte salt, then
 * H(salt || password), base64-encoded with the standard alphabet and "="
 * padding, as the management API and definitions export show it. Checked
 * against RabbitMQ 3.10.8: hashes it made for "s3cret" and a non-ASCII
 * password verify here, and SHA-512 and MD5 hashes made here were loaded
 * through the management API and accepted by rabbitmqctl
 * authenticate_user (vectors in tests/unit/test_password.c).
 *
 * RabbitMQ draws the salt from rand:uniform/1 and compares digests with
 * =:=; here the salt comes from the OpenSSL CSPRNG and the comparison is
 * CRYPTO_memcmp, which changes no stored or accepted hash.
 */
#include "autoconf.h"

#include "server/auth_password.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lib/base64.h"

static const char *const algo_names[] = {
	[PASSWORD_SHA256] = "rabbit_password_hashing_sha256",
	[PASSWORD_SHA512] = "rabbit_password_hashing_sha512",
	[PASSWORD_MD5] = "rabbit_password_hashing_md5",
};
#define NALGO	(sizeof(algo_names) / sizeof(algo_names[0]))

/* Decoded salt plus the longest digest. */
#define RAW_MAX	(PASSWORD_SALT_LEN + EVP_MAX_MD_SIZE)

int
password_algo_parse(const char *name, enum password_algo *out)
{
	size_t	i;

	if (name == NULL)
		return -1;
	for (i = 0; i < NALGO; i++) {
		if (strcmp(name, algo_names[i]) == 0) {
			*out = (enum password_algo)i;
			return 0;
		}
	}
	return -1;
}

const char *
password_algo_name(enum password_algo algo)
{
	if ((size_t)algo >= NALGO)
		return NULL;
	return algo_names[algo];
}

static const EVP_MD *
algo_md(enum password_algo algo)
{
	switch (algo) {
	case PASSWORD_SHA256:
		return EVP_sha256();
	case PASSWORD_SHA512:
		return EVP_sha512();
	case PASSWORD_MD5:
		return EVP_md5();
	}
	return NULL;
}

/* H(salt || pw) into out, which holds EVP_MAX_MD_SIZE bytes. */
static int
salted_digest(const EVP_MD *md, const uint8_t *salt, const char *pw,
    size_t pwlen, uint8_t *out)
{
	EVP_MD_CTX	*ctx;
	int		 rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, salt, PASSWORD_SALT_LEN) != 1)
		goto out;
	if (pwlen > 0 && EVP_DigestUpdate(ctx, pw, pwlen) != 1)
		goto out;
	if (EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
password_hash_with_salt(enum password_algo algo,
    const uint8_t salt[PASSWORD_SALT_LEN], const char *pw, size_t pwlen,
    char *out, size_t outlen)
{
	uint8_t		 raw[RAW_MAX];
	const EVP_MD	*md;
	size_t		 n;
	int		 rc = -1;

	if ((md = algo_md(algo)) == NULL)
		return -1;
	n = PASSWORD_SALT_LEN + (size_t)EVP_MD_size(md);
	if (outlen < base64_encoded_len(n) + 1)
		return -1;
	memcpy(raw, salt, PASSWORD_SALT_LEN);
	if (salted_digest(md, salt, pw, pwlen, raw + PASSWORD_SALT_LEN) == -1)
		goto out;
	base64_encode(raw, n, out);
	rc = 0;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

int
password_hash(enum password_algo algo, const char *pw, size_t pwlen,
    char *out, size_t outlen)
{
	uint8_t		 salt[PASSWORD_SALT_LEN];
	const EVP_MD	*md;

	/* Size check first, so a short buffer does not consume entropy. */
	if ((md = algo_md(algo)) == NULL ||
	    outlen < base64_encoded_len(PASSWORD_SALT_LEN +
	    (size_t)EVP_MD_size(md)) + 1)
		return -1;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return -1;
	return password_hash_with_salt(algo, salt, pw, pwlen, out, outlen);
}

bool
password_hash_valid(enum password_algo algo, const char *hash_b64)
{
	uint8_t		 raw[RAW_MAX];
	const EVP_MD	*md;
	size_t		 rawlen;
	bool		 ok;

	if ((md = algo_md(algo)) == NULL || hash_b64 == NULL)
		return false;
	ok = base64_decode(hash_b64, strlen(hash_b64), raw, sizeof(raw),
	    &rawlen) == 0 && rawlen == PASSWORD_SALT_LEN +
	    (size_t)EVP_MD_size(md);
	OPENSSL_cleanse(raw, sizeof(raw));
	return ok;
}

bool
password_check(enum password_algo algo, const char *hash_b64,
    const char *pw, size_t pwlen)
{
	uint8_t		 raw[RAW_MAX], dig[EVP_MAX_MD_SIZE];
	const EVP_MD	*md;
	size_t		 dlen, rawlen;
	bool		 ok = false;

	if ((md = algo_md(algo)) == NULL)
		return false;
	dlen = (size_t)EVP_MD_size(md);
	/*
	 * compat: RabbitMQ refuses a stored hash shorter than the salt and
	 * one whose digest part has the wrong length; "" locks an account.
	 * Still do the digest, to keep the timing of a locked account.
	 */
	if (hash_b64 == NULL ||
	    base64_decode(hash_b64, strlen(hash_b64), raw, sizeof(raw),
	    &rawlen) == -1 || rawlen != PASSWORD_SALT_LEN + dlen) {
		password_check_dummy(algo, pw, pwlen);
		goto out;
	}
	if (salted_digest(md, raw, pw, pwlen, dig) == -1)
		goto out;
	ok = CRYPTO_memcmp(dig, raw + PASSWORD_SALT_LEN, dlen) == 0;
out:
	OPENSSL_cleanse(dig, sizeof(dig));
	OPENSSL_cleanse(raw, sizeof(raw));
	return ok;
}

void
password_check_dummy(enum password_algo algo, const char *pw, size_t pwlen)
{
	static const uint8_t	 salt[PASSWORD_SALT_LEN];
	static const uint8_t	 zero[EVP_MAX_MD_SIZE];
	uint8_t			 dig[EVP_MAX_MD_SIZE];
	const EVP_MD		*md;

	if ((md = algo_md(algo)) == NULL)
		return;
	/* The comparison too, so the work matches password_check's. */
	if (salted_digest(md, salt, pw, pwlen, dig) == 0)
		(void)CRYPTO_memcmp(dig, zero, (size_t)EVP_MD_size(md));
	OPENSSL_cleanse(dig, sizeof(dig));
}
