/*
 * Small helpers every test program shares (the Criterion tests through
 * libharness.a, the crash and flood programs directly): monotonic time,
 * sleeping and removing a temporary directory.
 */
#ifndef WARREN_TESTS_COMMON_H
#define WARREN_TESTS_COMMON_H

/* Milliseconds on CLOCK_MONOTONIC. */
long	tc_now_ms(void);
/* Sleeps ms milliseconds, resuming after signals. */
void	tc_sleep_ms(long ms);
/* rm -rf dir, without following symbolic links; "" does nothing. */
void	tc_rm_tree(const char *dir);

#endif /* WARREN_TESTS_COMMON_H */
