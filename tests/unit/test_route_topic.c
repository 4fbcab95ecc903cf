/*
 * Unit tests for the topic-exchange matcher (server/route_topic.c).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/route_topic.h"

#define MAXHITS	512

struct hits {
	void	*dest[MAXHITS];
	size_t	 n;
};

static void
collect(void *dest, void *arg)
{
	struct hits	*h = arg;

	cr_assert_lt(h->n, MAXHITS);
	h->dest[h->n++] = dest;
}

static size_t
count_of(const struct hits *h, void *dest)
{
	size_t	i, c = 0;

	for (i = 0; i < h->n; i++)
		if (h->dest[i] == dest)
			c++;
	return c;
}

static bool
tm(const char *pattern, const char *rk)
{
	return topic_match(pattern, strlen(pattern), rk, strlen(rk));
}

/* Matches rk against a trie holding only pattern; returns whether it hit. */
static bool
trie_tm(const char *pattern, const char *rk)
{
	struct topic_trie	*t = topic_trie_new();
	struct hits		 h = { .n = 0 };
	int			 dest;

	cr_assert_not_null(t);
	cr_assert_eq(topic_trie_add(t, pattern, strlen(pattern), &dest), 0);
	topic_trie_match(t, rk, strlen(rk), collect, &h);
	topic_trie_free(t);
	cr_assert_leq(h.n, 1);
	return h.n == 1;
}

/* Both matchers must agree; returns their answer. */
static bool
both(const char *pattern, const char *rk)
{
	bool	a = tm(pattern, rk), b = trie_tm(pattern, rk);

	cr_assert_eq(a, b, "matchers disagree on \"%s\" vs \"%s\"", pattern, rk);
	return a;
}

Test(route_topic, exact_match)
{
	cr_assert(both("a.b.c", "a.b.c"));
	cr_assert(!both("a.b.c", "a.b.d"));
	cr_assert(!both("a.b", "a.b.c"));
	cr_assert(!both("a.b.c", "a.b"));
}

Test(route_topic, star_matches_exactly_one_word)
{
	cr_assert(both("a.*.c", "a.b.c"));
	cr_assert(!both("a.*.c", "a.c"));
	cr_assert(!both("a.*.c", "a.b.b.c"));
	cr_assert(both("*", "a"));
	cr_assert(!both("*", "a.b"));
}

Test(route_topic, hash_matches_zero_or_more_words)
{
	cr_assert(both("#", "a"));
	cr_assert(both("#", "a.b.c"));
	cr_assert(both("a.#.c", "a.c"));
	cr_assert(both("a.#.c", "a.b.c"));
	cr_assert(both("a.#.c", "a.b.b.b.c"));
	cr_assert(!both("a.#.c", "a.b.b.b.d"));
}

Test(route_topic, hash_suffix_matches_prefix_alone)
{
	cr_assert(both("a.#", "a"));
	cr_assert(both("a.#", "a.b"));
	cr_assert(!both("a.#", "ab"));
	cr_assert(!both("a.#", "b.a"));
}

Test(route_topic, hash_prefix)
{
	cr_assert(both("#.a", "a"));
	cr_assert(both("#.a", "b.a"));
	cr_assert(both("#.a", "a.a"));
	cr_assert(!both("#.a", "a.b"));
}

Test(route_topic, star_between_words)
{
	cr_assert(both("a.*.b", "a.x.b"));
	cr_assert(!both("a.*.b", "a.b"));
}

/* compat: all of these were checked against RabbitMQ 3.10. */
Test(route_topic, empty_key_has_no_words)
{
	cr_assert(both("", ""));
	cr_assert(!both("", "a"));
	cr_assert(!both("", "."));
	cr_assert(both("#", ""));
	cr_assert(both("#.#", ""));
	cr_assert(!both("*", ""));
	cr_assert(!both("#.*", ""));
	cr_assert(!both("*.#", ""));
	cr_assert(!both("a.#", ""));
	cr_assert(!both("#.", ""));
	cr_assert(!both(".#", ""));
	cr_assert(!both(".", ""));
}

Test(route_topic, empty_words_are_words)
{
	cr_assert(both("a..b", "a..b"));
	cr_assert(!both("a..b", "a.b"));
	cr_assert(both("a.*.b", "a..b"));
	cr_assert(both("*.*", "."));
	cr_assert(both("*.*", "a."));
	cr_assert(!both("*.*", "a"));
	cr_assert(!both("*", "."));
	cr_assert(both("#", "."));
	cr_assert(both("#", "a..b"));
	cr_assert(both("a.#", "a."));
	cr_assert(both("#.a", ".a"));
	cr_assert(both(".", "."));
	cr_assert(both("#.", "a."));
	cr_assert(!both("#.", "a"));
	cr_assert(both(".#", ".a"));
	cr_assert(!both("a.", "a"));
	cr_assert(both("a.", "a."));
}

Test(route_topic, wildcards_only_as_whole_words)
{
	cr_assert(!both("a*", "ab"));
	cr_assert(both("a*", "a*"));
	cr_assert(!both("a#", "a"));
	cr_assert(both("a#", "a#"));
	cr_assert(!both("#.b.#", "abc"));
}

Test(route_topic, consecutive_hashes)
{
	cr_assert(both("#.#.a", "a"));
	cr_assert(both("a.b.#.#.c", "a.b.c"));
	cr_assert(both("#.b.#", "b"));
	cr_assert(both("#.b.#", "a.b.c"));
	cr_assert(!both("*.#.*", "a"));
	cr_assert(both("*.#.*", "a.b"));
}

/* 127 one-character words: "a.a.a...." (253 bytes). */
static char *
long_key(char last)
{
	char	*k = malloc(254);
	size_t	 i;

	cr_assert_not_null(k);
	for (i = 0; i < 127; i++) {
		k[i * 2] = 'a';
		k[i * 2 + 1] = '.';
	}
	k[252] = last;
	k[253] = '\0';
	return k;
}

Test(route_topic, hostile_hash_chain_completes)
{
	char	*k = long_key('a'), *miss = long_key('b');

	cr_assert(both("#.#.#.#.#.#.#.#", k));
	cr_assert(both("#.#.#.#.#.#.#.#.a", k));
	cr_assert(!both("#.#.#.#.#.#.#.#.c", miss));
	free(k);
	free(miss);
}

Test(route_topic, hostile_star_hash_mix_completes)
{
	char	*k = long_key('a');

	cr_assert(both("*.#.*.#.*.#", k));
	cr_assert(!both("*.#.*.#.*.#.b", k));
	cr_assert(!both("#.b.#.b.#.b.#.b.#.b.#.b.#.b.#", k));
	free(k);
}

/* Many hostile bindings in one trie share the per-call memo. */
Test(route_topic, hostile_trie_with_many_bindings_completes)
{
	struct topic_trie	*t = topic_trie_new();
	struct hits		 h = { .n = 0 };
	char			*k = long_key('b');
	char			 pat[64];
	int			 dest[40];
	size_t			 i, j, len;

	cr_assert_not_null(t);
	for (i = 0; i < 40; i++) {
		len = 0;
		for (j = 0; j <= i % 20; j++) {
			memcpy(pat + len, j % 2 ? "*." : "#.", 2);
			len += 2;
		}
		pat[len++] = i < 20 ? 'c' : '#';
		cr_assert_eq(topic_trie_add(t, pat, len, &dest[i]), 0);
	}
	topic_trie_match(t, k, strlen(k), collect, &h);
	cr_assert_eq(h.n, 20);
	topic_trie_free(t);
	free(k);
}

Test(route_topic, dest_reported_once_for_several_matching_keys)
{
	struct topic_trie	*t = topic_trie_new();
	struct hits		 h = { .n = 0 };
	int			 q1, q2;

	cr_assert_not_null(t);
	cr_assert_eq(topic_trie_add(t, "a.*", 3, &q1), 0);
	cr_assert_eq(topic_trie_add(t, "#", 1, &q1), 0);
	cr_assert_eq(topic_trie_add(t, "a.b", 3, &q1), 0);
	cr_assert_eq(topic_trie_add(t, "#.b", 3, &q2), 0);
	topic_trie_match(t, "a.b", 3, collect, &h);
	cr_assert_eq(h.n, 2);
	cr_assert_eq(count_of(&h, &q1), 1);
	cr_assert_eq(count_of(&h, &q2), 1);
	h.n = 0;
	topic_trie_match(t, "a.b", 3, collect, &h);
	cr_assert_eq(h.n, 2, "dedupe mark must not leak into the next call");
	topic_trie_free(t);
}

Test(route_topic, duplicate_binding_kept_once)
{
	struct topic_trie	*t = topic_trie_new();
	int			 q;

	cr_assert_not_null(t);
	cr_assert_eq(topic_trie_add(t, "a.b", 3, &q), 0);
	cr_assert_eq(topic_trie_add(t, "a.b", 3, &q), 0);
	cr_assert_eq(topic_trie_count(t), 1);
	cr_assert(topic_trie_remove(t, "a.b", 3, &q));
	cr_assert(!topic_trie_remove(t, "a.b", 3, &q));
	topic_trie_free(t);
}

Test(route_topic, remove_stops_matching)
{
	struct topic_trie	*t = topic_trie_new();
	struct hits		 h = { .n = 0 };
	int			 q1, q2;

	cr_assert_not_null(t);
	cr_assert_eq(topic_trie_add(t, "a.#", 3, &q1), 0);
	cr_assert_eq(topic_trie_add(t, "a.#", 3, &q2), 0);
	cr_assert(topic_trie_remove(t, "a.#", 3, &q1));
	topic_trie_match(t, "a.b", 3, collect, &h);
	cr_assert_eq(h.n, 1);
	cr_assert_eq(h.dest[0], &q2);
	cr_assert(topic_trie_remove(t, "a.#", 3, &q2));
	h.n = 0;
	topic_trie_match(t, "a.b", 3, collect, &h);
	cr_assert_eq(h.n, 0);
	cr_assert_eq(topic_trie_count(t), 0);
	topic_trie_free(t);
}

Test(route_topic, remove_absent_returns_false)
{
	struct topic_trie	*t = topic_trie_new();
	int			 q1, q2;

	cr_assert_not_null(t);
	cr_assert_eq(topic_trie_add(t, "a.b", 3, &q1), 0);
	cr_assert(!topic_trie_remove(t, "a.b", 3, &q2));
	cr_assert(!topic_trie_remove(t, "a.c", 3, &q1));
	cr_assert(!topic_trie_remove(t, "a", 1, &q1));
	cr_assert(!topic_trie_remove(t, "a.b.c", 5, &q1));
	cr_assert_eq(topic_trie_count(t), 1);
	topic_trie_free(t);
}

Test(route_topic, remove_keeps_sibling_and_prefix_bindings)
{
	struct topic_trie	*t = topic_trie_new();
	struct hits		 h = { .n = 0 };
	int			 q1, q2, q3;

	cr_assert_not_null(t);
	cr_assert_eq(topic_trie_add(t, "a", 1, &q1), 0);
	cr_assert_eq(topic_trie_add(t, "a.b.c", 5, &q2), 0);
	cr_assert_eq(topic_trie_add(t, "a.b.d", 5, &q3), 0);
	cr_assert(topic_trie_remove(t, "a.b.c", 5, &q2));
	topic_trie_match(t, "a", 1, collect, &h);
	topic_trie_match(t, "a.b.d", 5, collect, &h);
	topic_trie_match(t, "a.b.c", 5, collect, &h);
	cr_assert_eq(h.n, 2);
	cr_assert_eq(h.dest[0], &q1);
	cr_assert_eq(h.dest[1], &q3);
	topic_trie_free(t);
}

Test(route_topic, rejects_key_over_255_bytes)
{
	struct topic_trie	*t = topic_trie_new();
	char			 k[256];
	int			 q;

	cr_assert_not_null(t);
	memset(k, 'a', sizeof(k));
	errno = 0;
	cr_assert_eq(topic_trie_add(t, k, sizeof(k), &q), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(topic_trie_add(t, k, 255, &q), 0);
	topic_trie_free(t);
}

/* Adding and removing many bindings under one node stays cheap and exact. */
Test(route_topic, many_bindings_add_remove)
{
	struct topic_trie	*t = topic_trie_new();
	struct hits		 h = { .n = 0 };
	static int		 q[20000];
	char			 k[32];
	size_t			 i;
	int			 len;

	cr_assert_not_null(t);
	for (i = 0; i < 20000; i++) {
		len = snprintf(k, sizeof(k), "w%zu.x", i);
		cr_assert_eq(topic_trie_add(t, k, (size_t)len, &q[i]), 0);
		cr_assert_eq(topic_trie_add(t, "same", 4, &q[i]), 0);
	}
	cr_assert_eq(topic_trie_count(t), 40000);
	topic_trie_match(t, "w777.x", 6, collect, &h);
	cr_assert_eq(h.n, 1);
	cr_assert_eq(h.dest[0], &q[777]);
	for (i = 0; i < 20000; i++) {
		len = snprintf(k, sizeof(k), "w%zu.x", i);
		cr_assert(topic_trie_remove(t, k, (size_t)len, &q[i]));
		if (i != 5)
			cr_assert(topic_trie_remove(t, "same", 4, &q[i]));
	}
	cr_assert_eq(topic_trie_count(t), 1);
	h.n = 0;
	topic_trie_match(t, "same", 4, collect, &h);
	cr_assert_eq(h.n, 1);
	cr_assert_eq(h.dest[0], &q[5]);
	topic_trie_free(t);
}

/* Deterministic xorshift so failures reproduce. */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void
random_key(uint32_t *s, char *out, bool wild)
{
	static const char *const pw[] = { "a", "b", "", "*", "#" };
	size_t	nwords = rnd(s) % 6, i, len = 0;

	for (i = 0; i < nwords; i++) {
		const char *w = pw[rnd(s) % (wild ? 5 : 3)];

		if (i > 0)
			out[len++] = '.';
		memcpy(out + len, w, strlen(w));
		len += strlen(w);
	}
	out[len] = '\0';
}

/* The trie and the standalone predicate agree on random small keys. */
Test(route_topic, trie_agrees_with_predicate)
{
	struct topic_trie	*t = topic_trie_new();
	static char		 pats[200][32];
	static int		 q[200];
	char			 rk[32];
	struct hits		 h;
	uint32_t		 s = 12345;
	size_t			 i, n, r;

	cr_assert_not_null(t);
	for (i = 0; i < 200; i++) {
		random_key(&s, pats[i], true);
		cr_assert_eq(topic_trie_add(t, pats[i], strlen(pats[i]), &q[i]), 0);
	}
	for (r = 0; r < 3000; r++) {
		random_key(&s, rk, false);
		h.n = 0;
		topic_trie_match(t, rk, strlen(rk), collect, &h);
		n = 0;
		for (i = 0; i < 200; i++) {
			bool want = tm(pats[i], rk);

			cr_assert_eq(count_of(&h, &q[i]), want ? 1 : 0,
			    "\"%s\" vs \"%s\"", pats[i], rk);
			n += want;
		}
		cr_assert_eq(h.n, n);
	}
	for (i = 0; i < 200; i++)
		topic_trie_remove(t, pats[i], strlen(pats[i]), &q[i]);
	cr_assert_eq(topic_trie_count(t), 0);
	topic_trie_free(t);
}

/*
 * Long keys: positions cross the 64-bit words of the walk's position sets
 * (up to 256 words). Bindings are mostly wildcards with a few literals;
 * routing keys of 60..250 words over a tiny alphabet.
 */
static void
random_long_key(uint32_t *s, char *out, bool wild, size_t maxw)
{
	static const char *const pw[] = { "a", "b", "", "*", "#" };
	size_t	nwords = maxw / 4 + rnd(s) % (maxw - maxw / 4), i, len = 0;

	for (i = 0; i < nwords && len + 2 < 255; i++) {
		const char *w;

		if (wild)
			w = pw[rnd(s) % 8 < 6 ? 3 + rnd(s) % 2 : rnd(s) % 3];
		else
			w = pw[rnd(s) % 3];
		if (i > 0)
			out[len++] = '.';
		memcpy(out + len, w, strlen(w));
		len += strlen(w);
	}
	out[len] = '\0';
}

Test(route_topic, trie_agrees_with_predicate_on_long_keys)
{
	struct topic_trie	*t = topic_trie_new();
	static char		 pats[300][256];
	static int		 q[300];
	char			 rk[256];
	struct hits		 h;
	uint32_t		 s = 777;
	size_t			 i, n, r, hits = 0;

	cr_assert_not_null(t);
	for (i = 0; i < 300; i++) {
		random_long_key(&s, pats[i], true, i % 3 == 0 ? 8 : 120);
		cr_assert_eq(topic_trie_add(t, pats[i], strlen(pats[i]), &q[i]), 0);
	}
	for (r = 0; r < 300; r++) {
		random_long_key(&s, rk, false, 250);
		h.n = 0;
		topic_trie_match(t, rk, strlen(rk), collect, &h);
		n = 0;
		for (i = 0; i < 300; i++) {
			bool want = tm(pats[i], rk);

			cr_assert_eq(count_of(&h, &q[i]), want ? 1 : 0,
			    "\"%s\" vs \"%s\"", pats[i], rk);
			n += want;
		}
		cr_assert_eq(h.n, n);
		hits += n;
	}
	cr_assert_gt(hits, 0, "the test must exercise matches too");
	topic_trie_free(t);
}
