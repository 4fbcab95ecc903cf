/*
 * The monotonic clock, for measuring how long something took (loop turn
 * budgets, rates, waits): never the wall clock, which can jump.
 */
#ifndef WARREN_LIB_MONO_H
#define WARREN_LIB_MONO_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif /* WARREN_LIB_MONO_H */
