/* UTF-8 well-formedness checks. */
#include "autoconf.h"

#include "protocol/utf8.h"

size_t
proto_utf8_len(const uint8_t *p, size_t n)
{
	uint8_t	c = p[0], lo = 0x80, hi = 0xbf;
	size_t	need, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0;	/* shorter forms exist: overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* D800..DFFF are not characters */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;	/* nothing past U+10FFFF */
	} else
		return 0;
	if (n < need + 1 || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i <= need; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return need + 1;
}

bool
proto_utf8_valid(const uint8_t *p, size_t n)
{
	size_t	i = 0, k;

	while (i < n) {
		/* Runs of ASCII are the common case for names. */
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = proto_utf8_len(p + i, n - i)) == 0)
			return false;
		i += k;
	}
	return true;
}
