/* warrend: options, broker set-up, the loop. */
#include "autoconf.h"

#include <ev.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "server/broker.h"
#include "server/config.h"
#include "server/log.h"

int
main(int argc, char **argv)
{
	struct broker b;
	struct ev_loop *loop;

	memset(&b, 0, sizeof(b));
	switch (config_load(&b.cfg, argc, argv)) {
	case CONFIG_OK:
		break;
	case CONFIG_EXIT_OK:
		config_free(&b.cfg);
		return 0;
	case CONFIG_USAGE:
		config_free(&b.cfg);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot initialise libev");
	broker_init(&b, loop);
	broker_start(&b);
	ev_run(loop, 0);
	log_info("broker: stopped");
	broker_free(&b);
	ev_loop_destroy(loop);
	return 0;
}
