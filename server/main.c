/* warrend: options, broker set-up, the loop. */
#include "autoconf.h"

#include <ev.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "admin/http_conn.h"
#include "lib/log.h"
#include "server/broker.h"
#include "server/config.h"
#include "server/reload.h"

static void
flush_http(void *h)
{
	http_conn_flush(h);
}

static const struct broker_admin_ops admin_ops = {
	.accept = http_conn_accept,
	.accept_tls = http_conn_accept_tls,
	.accept_metrics = http_conn_accept_metrics,
	.flush = flush_http,
	.shutdown = http_conn_shutdown,
	.close_all = http_conn_close_all,
};

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
	b.admin_ops = &admin_ops;
	reload_init(&b, argc, argv);
	broker_init(&b, loop);
	broker_start(&b);
	ev_run(loop, 0);
	log_info("broker: stopped");
	broker_free(&b);
	ev_loop_destroy(loop);
	return 0;
}
