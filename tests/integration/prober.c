#include <criterion/criterion.h>

#include <string.h>

#include "tests/common.h"
#include "tests/integration/harness.h"
#include "tests/integration/prober.h"

static void *
prober_run(void *arg)
{
	struct prober *p = arg;

	while (!atomic_load(&p->stop)) {
		long t0 = tc_now_ms(), dt;

		if (!p->round_trip(p->c)) {
			p->failed = true;
			break;
		}
		dt = tc_now_ms() - t0;
		if (dt > p->worst_ms)
			p->worst_ms = dt;
		p->rounds++;
		tc_sleep_ms(p->pause_ms);
	}
	return NULL;
}

void
pr_start(struct prober *p, amqp_connection_state_t c,
    pr_round_trip_fn *round_trip, long pause_ms)
{
	memset(p, 0, sizeof(*p));
	p->c = c;
	p->round_trip = round_trip;
	p->pause_ms = pause_ms;
	cr_assert_eq(pthread_create(&p->th, NULL, prober_run, p), 0);
}

long
pr_stop(struct prober *p, const char *failed_msg)
{
	atomic_store(&p->stop, true);
	pthread_join(p->th, NULL);
	cr_assert(!p->failed, "%s", failed_msg);
	hb_close(p->c);
	return p->worst_ms;
}
