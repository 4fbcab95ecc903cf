#include "autoconf.h"

/* Unit tests for the byte-string hash map (lib/hmap.c). */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/hmap.h"

#define NKEYS	10000

static struct hmap	m;
static char		keys[NKEYS][16];	/* borrowed by the map */
static int		vals[NKEYS];

static void
setup(void)
{
	hmap_init(&m);
	for (size_t i = 0; i < NKEYS; i++)
		snprintf(keys[i], sizeof(keys[i]), "key-%zu", i);
}

static void
teardown(void)
{
	hmap_free(&m);
}

TestSuite(hmap, .init = setup, .fini = teardown);

static void
put(size_t i)
{
	hmap_put(&m, keys[i], strlen(keys[i]), &vals[i]);
}

static void *
get(size_t i)
{
	return hmap_get(&m, keys[i], strlen(keys[i]));
}

Test(hmap, empty_map_finds_nothing)
{
	cr_assert_null(hmap_get(&m, "a", 1));
	cr_assert_null(hmap_del(&m, "a", 1));
}

Test(hmap, put_then_get)
{
	put(0);
	put(1);
	cr_assert_eq(get(0), &vals[0]);
	cr_assert_eq(get(1), &vals[1]);
	cr_assert_null(get(2));
	cr_assert_eq(m.count, 2);
}

Test(hmap, keys_compare_by_bytes_not_pointer)
{
	char copy[16];

	put(7);
	memcpy(copy, keys[7], sizeof(copy));
	cr_assert_eq(hmap_get(&m, copy, strlen(copy)), &vals[7]);
}

Test(hmap, key_length_is_part_of_the_key)
{
	hmap_put(&m, "abc", 3, &vals[0]);
	cr_assert_null(hmap_get(&m, "abc", 2));
	cr_assert_null(hmap_get(&m, "abcd", 4));
}

Test(hmap, empty_key_is_a_key)
{
	hmap_put(&m, "", 0, &vals[0]);
	put(1);
	cr_assert_eq(hmap_get(&m, "", 0), &vals[0]);
	cr_assert_eq(hmap_del(&m, "", 0), &vals[0]);
	cr_assert_null(hmap_get(&m, "", 0));
	cr_assert_eq(get(1), &vals[1]);
}

Test(hmap, put_replaces_the_value_of_an_existing_key)
{
	put(0);
	hmap_put(&m, keys[0], strlen(keys[0]), &vals[1]);
	cr_assert_eq(get(0), &vals[1]);
	cr_assert_eq(m.count, 1);
}

Test(hmap, del_returns_the_value_and_removes_it)
{
	put(0);
	put(1);
	cr_assert_eq(hmap_del(&m, keys[0], strlen(keys[0])), &vals[0]);
	cr_assert_null(get(0));
	cr_assert_eq(get(1), &vals[1]);
	cr_assert_eq(m.count, 1);
}

Test(hmap, del_of_a_missing_key_returns_null)
{
	put(0);
	cr_assert_null(hmap_del(&m, keys[1], strlen(keys[1])));
	cr_assert_eq(m.count, 1);
}

Test(hmap, deleting_half_of_many_keys_keeps_the_rest_reachable)
{
	for (size_t i = 0; i < NKEYS; i++)
		put(i);
	for (size_t i = 0; i < NKEYS; i += 2)
		cr_assert_eq(hmap_del(&m, keys[i], strlen(keys[i])), &vals[i],
		    "deleting %s", keys[i]);
	cr_assert_eq(m.count, NKEYS / 2);
	for (size_t i = 0; i < NKEYS; i++) {
		if (i % 2 == 0)
			cr_assert_null(get(i), "%s still present", keys[i]);
		else
			cr_assert_eq(get(i), &vals[i], "%s lost", keys[i]);
	}
}

Test(hmap, deleted_keys_can_be_added_again)
{
	for (size_t i = 0; i < 100; i++)
		put(i);
	for (size_t i = 0; i < 100; i++)
		hmap_del(&m, keys[i], strlen(keys[i]));
	cr_assert_eq(m.count, 0);
	for (size_t i = 0; i < 100; i++)
		put(i);
	for (size_t i = 0; i < 100; i++)
		cr_assert_eq(get(i), &vals[i]);
}

Test(hmap, iteration_visits_every_value_once)
{
	static unsigned seen[1000];
	size_t n = 0;
	void *v;

	for (size_t i = 0; i < 1000; i++)
		put(i);
	for (size_t i = 0; hmap_next(&m, &i, &v);) {
		size_t k = (size_t)((int *)v - vals);

		cr_assert_lt(k, 1000);
		seen[k]++;
		n++;
	}
	cr_assert_eq(n, 1000);
	for (size_t k = 0; k < 1000; k++)
		cr_assert_eq(seen[k], 1, "value %zu seen %u times", k, seen[k]);
}

Test(hmap, iteration_of_an_empty_map_yields_nothing)
{
	size_t i = 0;
	void *v;

	cr_assert_not(hmap_next(&m, &i, &v));
}

Test(hmap, free_leaves_an_empty_reusable_map)
{
	put(0);
	hmap_free(&m);
	cr_assert_null(get(0));
	put(1);
	cr_assert_eq(get(1), &vals[1]);
}
