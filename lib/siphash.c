#include "autoconf.h"

#include "lib/siphash.h"

/* Written from the paper's description (section 2), not from other code. */

static inline uint64_t
rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

/* Words are read little-endian whatever the host's byte order. */
static inline uint64_t
load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

static inline void
sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl(s->v2, 32);
}

/* Compression: two SipRounds per message word (the "2" of 2-4). */
static inline void
sip_absorb(struct sip_state *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

uint64_t
siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *p, size_t n)
{
	const uint8_t *in = p;
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8), last;
	struct sip_state s = {
		/* "somepseudorandomlygeneratedbytes" */
		.v0 = k0 ^ 0x736f6d6570736575ULL,
		.v1 = k1 ^ 0x646f72616e646f6dULL,
		.v2 = k0 ^ 0x6c7967656e657261ULL,
		.v3 = k1 ^ 0x7465646279746573ULL,
	};
	size_t i;

	for (i = 0; n - i >= 8; i += 8)
		sip_absorb(&s, load_le64(in + i));
	/* The last word: the 0-7 remaining bytes, and n mod 256 on top. */
	last = (uint64_t)(n & 0xff) << 56;
	for (size_t j = 0; i + j < n; j++)
		last |= (uint64_t)in[i + j] << (8 * j);
	sip_absorb(&s, last);
	/* Finalization: four SipRounds (the "4"). */
	s.v2 ^= 0xff;
	for (int r = 0; r < 4; r++)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
