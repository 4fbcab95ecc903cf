/*
 * Base64 (RFC 4648 section 4: the standard alphabet, "=" padding), strict
 * so that every byte string has exactly one accepted spelling: whole
 * quanta only, "=" only as the last one or two characters, nothing outside
 * the alphabet (no whitespace, no URL-safe letters), and zero bits under
 * the padding. Used for RabbitMQ password hashes and HTTP Basic
 * credentials.
 */
#ifndef WARREN_LIB_BASE64_H
#define WARREN_LIB_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Characters that n bytes encode to, without the NUL. */
static inline size_t
base64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

/* Encodes n bytes into out (base64_encoded_len(n) + 1 bytes, NUL-ended). */
void	base64_encode(const uint8_t *in, size_t n, char *out);
/*
 * Decodes inlen characters into out (room for cap bytes) and sets *outlen;
 * -1 if the text is not strict base64 or decodes to more than cap bytes.
 * The empty text decodes to nothing.
 */
int	base64_decode(const void *in, size_t inlen, uint8_t *out, size_t cap,
	    size_t *outlen);
/* Whether the inlen characters at in are strict base64. */
bool	base64_valid(const void *in, size_t inlen);

#endif /* WARREN_LIB_BASE64_H */
