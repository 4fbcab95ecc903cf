/*
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012): a keyed hash, so that without the key nobody can choose strings
 * that collide. The hash maps use it because clients choose their keys
 * (queue names, consumer tags, binding keys).
 */
#ifndef WARREN_LIB_SIPHASH_H
#define WARREN_LIB_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN	16

/* The 64-bit SipHash-2-4 of the n bytes at p under the 16-byte key. */
uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *p,
	    size_t n);

#endif /* WARREN_LIB_SIPHASH_H */
