/*
 * A prober: a thread with its own AMQP connection that makes one round
 * trip after another while a test does heavy work on the broker, and
 * records the longest one, to show whether the loop stalled
 * (test_stall.c, test_api_definitions_big.c, test_api_list_big.c).
 */
#ifndef WARREN_TESTS_PROBER_H
#define WARREN_TESTS_PROBER_H

#include <amqp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* One round trip on c; false when it failed (the prober then stops). */
typedef bool	pr_round_trip_fn(amqp_connection_state_t c);

struct prober {
	pthread_t		 th;
	amqp_connection_state_t	 c;
	pr_round_trip_fn	*round_trip;
	long			 pause_ms;
	atomic_bool		 stop;
	long			 worst_ms;	/* longest round trip */
	long			 rounds;
	bool			 failed;
};

/*
 * Starts the thread: round_trip on c (ready for it: channel 1 open and
 * whatever the round trip needs), then pause_ms, until pr_stop.
 */
void	pr_start(struct prober *, amqp_connection_state_t c,
	    pr_round_trip_fn *round_trip, long pause_ms);

/*
 * Stops the thread, asserts that no round trip failed (failed_msg
 * otherwise), closes the connection; returns the longest round trip in
 * ms. rounds stays readable.
 */
long	pr_stop(struct prober *, const char *failed_msg);

#endif /* WARREN_TESTS_PROBER_H */
