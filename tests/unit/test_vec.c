#include "autoconf.h"

/* The growable-array rule (lib/vec.c). */
#include <criterion/criterion.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/vec.h"

Test(vec, doubles_from_min_and_keeps_the_elements)
{
	uint32_t *v = NULL;
	size_t cap = 0;

	cr_assert_eq(vec_grow(&v, &cap, 1, sizeof(*v), 4), 0);
	cr_assert_eq(cap, 4);
	for (uint32_t i = 0; i < 4; i++)
		v[i] = i * 7;
	cr_assert_eq(vec_grow(&v, &cap, 4, sizeof(*v), 4), 0);
	cr_assert_eq(cap, 4, "enough already: no growth");
	cr_assert_eq(vec_grow(&v, &cap, 5, sizeof(*v), 4), 0);
	cr_assert_eq(cap, 8);
	cr_assert_eq(vec_grow(&v, &cap, 33, sizeof(*v), 4), 0);
	cr_assert_eq(cap, 64);
	for (uint32_t i = 0; i < 4; i++)
		cr_assert_eq(v[i], i * 7);
	free(v);
}

Test(vec, refuses_sizes_that_overflow)
{
	uint64_t *v = NULL;
	size_t cap = 0;

	cr_assert_eq(vec_grow(&v, &cap, SIZE_MAX / 4, sizeof(*v), 16), -1);
	cr_assert_null(v);
	cr_assert_eq(cap, 0);
	cr_assert_eq(vec_grow(&v, &cap, SIZE_MAX, 1, 16), -1);
	cr_assert_eq(cap, 0);
	cr_assert_eq(vec_grow(&v, &cap, 2, sizeof(*v), 16), 0);
	cr_assert_eq(cap, 16);
	cr_assert_eq(vec_grow(&v, &cap, SIZE_MAX / 2 + 2, 1, 16), -1);
	cr_assert_eq(cap, 16, "unchanged on failure");
	free(v);
}
