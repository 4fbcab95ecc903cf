#include "autoconf.h"

/*
 * The one base64 (lib/base64.c): RFC 4648's test vectors both ways, and
 * every other spelling of the same bytes refused, since password hashes
 * and Basic credentials must have exactly one accepted form.
 */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/base64.h"

/* RFC 4648 section 10. */
static const struct {
	const char	*raw, *b64;
} rfc[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

Test(base64, encodes_the_rfc_vectors)
{
	char out[16];

	for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
		size_t n = strlen(rfc[i].raw);

		cr_assert_eq(base64_encoded_len(n), strlen(rfc[i].b64));
		base64_encode((const uint8_t *)rfc[i].raw, n, out);
		cr_expect_str_eq(out, rfc[i].b64);
	}
}

Test(base64, decodes_the_rfc_vectors)
{
	uint8_t out[16];
	size_t n;

	for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
		cr_assert_eq(base64_decode(rfc[i].b64, strlen(rfc[i].b64), out,
		    sizeof(out), &n), 0, "%s", rfc[i].b64);
		cr_expect_eq(n, strlen(rfc[i].raw));
		cr_expect_arr_eq(out, rfc[i].raw, n);
		cr_expect(base64_valid(rfc[i].b64, strlen(rfc[i].b64)));
	}
}

Test(base64, round_trips_every_byte_value)
{
	uint8_t raw[256], back[256];
	char text[(256 + 2) / 3 * 4 + 1];
	size_t n;

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)i;
	for (size_t len = 0; len <= sizeof(raw); len += 37) {
		base64_encode(raw, len, text);
		cr_assert_eq(base64_decode(text, strlen(text), back,
		    sizeof(back), &n), 0);
		cr_assert_eq(n, len);
		cr_assert_arr_eq(back, raw, len);
	}
	cr_assert_eq(base64_decode("+/+/", 4, back, sizeof(back), &n), 0);
	cr_assert(n == 3 && back[0] == 0xfb && back[1] == 0xff &&
	    back[2] == 0xbf);
}

Test(base64, refuses_other_spellings)
{
	static const char *const bad[] = {
		"Zg",		/* padding left out */
		"Zg=",		/* half the padding */
		"Zh==",		/* bits under the padding */
		"Zm9=",		/* likewise, one pad */
		"Z===",		/* too much padding */
		"====",
		"Zg==Zg==",	/* padding in the middle */
		"Z=g=",
		"Zm9v\n",	/* whitespace */
		" Zm9v",
		"Zm 9v",
		"Zm9-",		/* URL-safe letters */
		"Zm9_",
		"Zm9*",
	};
	uint8_t out[16];
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(base64_decode(bad[i], strlen(bad[i]), out,
		    sizeof(out), &n), -1, "\"%s\"", bad[i]);
		cr_expect_not(base64_valid(bad[i], strlen(bad[i])), "\"%s\"",
		    bad[i]);
	}
	/* A NUL is not part of the alphabet either. */
	cr_expect_eq(base64_decode("Zm9v\0\0\0\0", 8, out, sizeof(out), &n),
	    -1);
}

Test(base64, refuses_output_past_the_room_given)
{
	uint8_t out[3];
	size_t n;

	cr_assert_eq(base64_decode("Zm9v", 4, out, 3, &n), 0);
	cr_assert_eq(base64_decode("Zm9vYg==", 8, out, 3, &n), -1);
	cr_assert_eq(base64_decode("Zm9v", 4, out, 2, &n), -1);
	/* Validation has no output, so no limit. */
	cr_assert(base64_valid("Zm9vYmFyZm9vYmFy", 16));
}
