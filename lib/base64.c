#include "autoconf.h"

#include "lib/base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
base64_encode(const uint8_t *in, size_t n, char *out)
{
	uint32_t	v;
	size_t		i, o = 0;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[v >> 12 & 0x3f];
		out[o++] = alphabet[v >> 6 & 0x3f];
		out[o++] = alphabet[v & 0x3f];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[v >> 12 & 0x3f];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[v >> 12 & 0x3f];
		out[o++] = alphabet[v >> 6 & 0x3f];
		out[o++] = '=';
	}
	out[o] = '\0';
}

static int
value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes into out unless it is NULL (only validates); 0 or -1. */
static int
decode(const unsigned char *s, size_t inlen, uint8_t *out, size_t cap,
    size_t *outlen)
{
	size_t	n, pad = 0;

	if (inlen % 4 != 0)
		return -1;
	if (inlen > 0 && s[inlen - 1] == '=')
		pad = s[inlen - 2] == '=' ? 2 : 1;
	n = inlen / 4 * 3 - pad;
	if (out != NULL && n > cap)
		return -1;
	for (size_t i = 0; i < inlen; i += 4) {
		uint32_t	v = 0;
		size_t		o = i / 4 * 3;

		for (size_t j = 0; j < 4; j++) {
			int d = 0;

			/* Past the padding's start, "=" counts as zero bits. */
			if (i + j < inlen - pad && (d = value(s[i + j])) == -1)
				return -1;
			v = v << 6 | (uint32_t)d;
		}
		/* One spelling: the bits the padding hides must be zero. */
		if (i + 4 == inlen && ((pad == 1 && (v & 0xff) != 0) ||
		    (pad == 2 && (v & 0xffff) != 0)))
			return -1;
		if (out == NULL)
			continue;
		out[o] = (uint8_t)(v >> 16);
		if (o + 1 < n)
			out[o + 1] = (uint8_t)(v >> 8);
		if (o + 2 < n)
			out[o + 2] = (uint8_t)v;
	}
	*outlen = n;
	return 0;
}

int
base64_decode(const void *in, size_t inlen, uint8_t *out, size_t cap,
    size_t *outlen)
{
	return decode(in, inlen, out, cap, outlen);
}

bool
base64_valid(const void *in, size_t inlen)
{
	size_t n;

	return decode(in, inlen, NULL, 0, &n) == 0;
}
