#include "autoconf.h"

/* Unit tests for the capped byte buffer (lib/buf.c). */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/buf.h"

static struct buf	b;
static uint8_t		pat[4096];	/* pat[i] == (uint8_t)(i * 7) */

static void
setup(void)
{
	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 7);
}

static void
teardown(void)
{
	buf_free(&b);
}

TestSuite(buf, .init = setup, .fini = teardown);

Test(buf, appended_bytes_are_at_the_head)
{
	buf_init(&b, 1024);
	cr_assert(buf_append(&b, pat, 10));
	cr_assert(buf_append(&b, pat + 10, 5));
	cr_assert_eq(buf_used(&b), 15);
	cr_assert_arr_eq(buf_head(&b), pat, 15);
}

Test(buf, reserve_beyond_max_fails)
{
	buf_init(&b, 100);
	cr_assert_not(buf_reserve(&b, 101));
	cr_assert(buf_reserve(&b, 100));
}

Test(buf, reserve_counts_bytes_already_held)
{
	buf_init(&b, 100);
	cr_assert(buf_append(&b, pat, 60));
	cr_assert_not(buf_reserve(&b, 41));
	cr_assert_not(buf_append(&b, pat, 41));
	cr_assert_eq(buf_used(&b), 60);
	cr_assert(buf_reserve(&b, 40));
}

Test(buf, reserve_of_a_huge_size_fails_without_overflow)
{
	buf_init(&b, 100);
	cr_assert(buf_append(&b, pat, 10));
	cr_assert_not(buf_reserve(&b, SIZE_MAX));
	cr_assert_not(buf_reserve(&b, SIZE_MAX - 5));
}

Test(buf, consumed_bytes_no_longer_count_against_max)
{
	buf_init(&b, 100);
	cr_assert(buf_append(&b, pat, 100));
	buf_consume(&b, 50);
	cr_assert(buf_append(&b, pat + 100, 50));
	cr_assert_eq(buf_used(&b), 100);
	cr_assert_arr_eq(buf_head(&b), pat + 50, 100);
}

Test(buf, consume_advances_the_head)
{
	buf_init(&b, 1024);
	cr_assert(buf_append(&b, pat, 20));
	buf_consume(&b, 8);
	cr_assert_eq(buf_used(&b), 12);
	cr_assert_arr_eq(buf_head(&b), pat + 8, 12);
}

Test(buf, consuming_everything_resets_to_the_start)
{
	buf_init(&b, 1024);
	cr_assert(buf_append(&b, pat, 20));
	buf_consume(&b, 20);
	cr_assert_eq(buf_used(&b), 0);
	cr_assert_eq(b.off, 0);
	cr_assert_eq(b.len, 0);
}

Test(buf, reserve_slides_unconsumed_bytes_before_growing)
{
	size_t cap;

	buf_init(&b, 4096);
	cr_assert(buf_append(&b, pat, 500));
	cap = b.cap;
	cr_assert_lt(cap - 500, 400, "the test needs a nearly full buffer");
	buf_consume(&b, 400);
	cr_assert(buf_reserve(&b, 400));
	cr_assert_eq(b.off, 0);
	cr_assert_eq(b.cap, cap, "slid instead of growing");
	cr_assert_arr_eq(buf_head(&b), pat + 400, 100);
	memcpy(buf_tail(&b), pat + 500, 400);
	buf_commit(&b, 400);
	cr_assert_arr_eq(buf_head(&b), pat + 400, 500);
}

Test(buf, commit_counts_bytes_written_at_the_tail)
{
	buf_init(&b, 100);
	cr_assert(buf_append(&b, pat, 10));
	cr_assert(buf_reserve(&b, 20));
	memcpy(buf_tail(&b), pat + 10, 20);
	buf_commit(&b, 20);
	cr_assert_eq(buf_used(&b), 30);
	cr_assert_arr_eq(buf_head(&b), pat, 30);
}

#ifndef NDEBUG
/* Committing past the room reserved would expose unwritten bytes. */
Test(buf, commit_past_the_reserved_room_aborts, .signal = SIGABRT)
{
	buf_init(&b, 100);
	cr_assert(buf_reserve(&b, 10));
	buf_commit(&b, b.cap + 1);
}

/* Consuming more than is held would read past the valid bytes. */
Test(buf, consume_past_the_used_bytes_aborts, .signal = SIGABRT)
{
	buf_init(&b, 100);
	cr_assert(buf_append(&b, pat, 10));
	buf_consume(&b, 11);
}
#endif

Test(buf, growth_keeps_unconsumed_bytes)
{
	buf_init(&b, sizeof(pat));
	cr_assert(buf_append(&b, pat, 300));
	buf_consume(&b, 100);
	cr_assert(buf_append(&b, pat + 300, 3000));
	cr_assert_eq(buf_used(&b), 3200);
	cr_assert_arr_eq(buf_head(&b), pat + 100, 3200);
}

Test(buf, shrink_keeps_a_buffer_holding_bytes)
{
	buf_init(&b, sizeof(pat));
	cr_assert(buf_append(&b, pat, 2000));
	buf_consume(&b, 1000);
	buf_shrink(&b, 0);
	cr_assert_not_null(b.data);
	cr_assert_eq(buf_used(&b), 1000);
	cr_assert_arr_eq(buf_head(&b), pat + 1000, 1000);
}

Test(buf, shrink_frees_an_empty_buffer_above_keep)
{
	buf_init(&b, sizeof(pat));
	cr_assert(buf_append(&b, pat, 2000));
	buf_consume(&b, 2000);
	buf_shrink(&b, 512);
	cr_assert_null(b.data);
	cr_assert_eq(b.cap, 0);
	cr_assert(buf_append(&b, pat, 10));
	cr_assert_arr_eq(buf_head(&b), pat, 10);
}

Test(buf, shrink_keeps_an_empty_buffer_within_keep)
{
	buf_init(&b, sizeof(pat));
	cr_assert(buf_append(&b, pat, 2000));
	buf_consume(&b, 2000);
	buf_shrink(&b, b.cap);
	cr_assert_not_null(b.data);
}

Test(buf, appending_nothing_to_a_new_buffer_succeeds)
{
	buf_init(&b, 100);
	cr_assert(buf_append(&b, pat, 0));
	cr_assert_eq(buf_used(&b), 0);
}
