#include "autoconf.h"

#include "server/broker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mono.h"
#include "lib/xmalloc.h"
#include "server/alarm.h"
#include "server/auth.h"
#include "server/chan.h"
#include "server/chan_reply_to.h"
#include "server/conn.h"
#include "server/import.h"
#include "server/listener.h"
#include "server/msg.h"
#include "server/node.h"
#include "server/notify.h"
#include "server/reload.h"
#include "server/persist.h"
#include "server/queue.h"
#include "server/tls.h"
#include "server/vhost.h"
#include "storage/store.h"

void
ptrvec_push(struct ptrvec *pv, void *p)
{
	xvec_grow(&pv->v, &pv->cap, pv->n + 1, sizeof(*pv->v), 16);
	pv->v[pv->n++] = p;
}

/* store_commit, measured (warren_store_commit_* histograms). */
static int
timed_commit(struct broker *b)
{
	size_t ops = store_pending_ops(b->store);
	uint64_t t0 = mono_ns();
	int rc;

	rc = store_commit(b->store);
	stats_commit(b, (double)(mono_ns() - t0) / 1e9, ops);
	return rc;
}

static bool
has_work(const struct broker *b)
{
	return b->dirty_queues.n || b->dirty_chans.n || b->dirty_conns.n ||
	    b->dirty_http.n ||
	    b->dead_conns.n || b->pending_input.n ||
	    (b->store != NULL && store_dirty(b->store));
}

/*
 * The commit failed (disk full, I/O error): nothing it covered may be
 * confirmed. Every channel waiting for confirms gets basic.nack for all
 * of them; the broker goes on serving, and the next commit may succeed.
 */
static void
commit_failed(struct broker *b)
{
	ev_tstamp now = ev_now(b->loop);

	/* One line a second at most, however busy the failing disk. */
	b->commit_failures++;
	if (now - b->commit_fail_logged >= 1.0) {
		log_warnx("store: %llu commit(s) failed: %s; unconfirmed "
		    "publishes are nacked", (unsigned long long)
		    b->commit_failures, store_errmsg(b->store));
		b->commit_fail_logged = now;
		b->commit_failures = 0;
	}
	if (!ev_is_active(&b->retry_timer))
		ev_timer_start(b->loop, &b->retry_timer);
	for (size_t i = 0; i < b->dirty_chans.n; i++) {
		struct chan *ch = b->dirty_chans.v[i];

		if (ch == NULL)
			continue;
		ch->dirty = false;
		chan_commit_failed(ch);
	}
	b->dirty_chans.n = 0;
}

/*
 * Resumes publishers paused by flow control whose queue drained or whose
 * consumers stopped taking. Also run when nothing else woke the loop: the
 * alarm timer's one-second tick brings the loop here.
 */
static void
flow_check(struct broker *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->flow_paused.n; i++) {
		struct conn *c = b->flow_paused.v[i];

		if (c == NULL)
			continue;
		conn_flow_check(c);
		if (c->flow_q != NULL)
			b->flow_paused.v[n++] = c;
	}
	b->flow_paused.n = n;
}

/*
 * Flushes the connections on a list. A flush may read more input (a
 * connection resumes reading, an admin connection takes its next
 * pipelined request) and the replies put connections back on the list:
 * those wait for the next round's commit, so only the entries present at
 * the start are flushed now.
 */
static void
flush_list(struct ptrvec *v, void (*flush)(void *))
{
	size_t n0 = v->n, n = 0;

	for (size_t i = 0; i < n0; i++) {
		void *p = v->v[i];

		if (p == NULL)
			continue;	/* closed while queued */
		v->v[i] = NULL;
		flush(p);
	}
	for (size_t i = n0; i < v->n; i++)
		if (v->v[i] != NULL)
			v->v[n++] = v->v[i];
	v->n = n;
}

static void
flush_conn(void *p)
{
	struct conn *c = p;

	c->dirty = false;
	conn_flush(c);
}

/*
 * The "before sleep" step, in rounds: leftover input, dispatch, one
 * commit for everything, then the durability replies (confirms and
 * tx.commit-ok, produced only here) and the flush. A reply never goes
 * out before what it reports is committed, and each connection gets one
 * write per round.
 */
static void
on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct broker *b = ev_userdata(loop);

	flow_check(b);

	for (int round = 0; round < 8 && has_work(b); round++) {
		/*
		 * Frames left over by the fairness budget, a budget each;
		 * those that run out again wait for the next round.
		 */
		for (size_t i = 0, n0 = round > 0 && broker_turn_spent(b) ?
		    0 : b->pending_input.n; i < n0; i++) {
			struct conn *c = b->pending_input.v[i];

			b->pending_input.v[i] = NULL;
			if (c != NULL)
				conn_continue_input(c);
		}
		/* Compact: those that ran out again were appended. */
		{
			size_t n = 0;

			for (size_t i = 0; i < b->pending_input.n; i++)
				if (b->pending_input.v[i] != NULL)
					b->pending_input.v[n++] =
					    b->pending_input.v[i];
			b->pending_input.n = n;
		}
		/*
		 * Dispatch first: a delivery of a message published this turn
		 * then joins its insert in the batch instead of a second write.
		 */
		for (size_t i = 0; i < b->dirty_queues.n; i++) {
			struct queue *q = b->dirty_queues.v[i];

			q->dirty = false;
			if (!q->deleted)
				queue_dispatch(q);
			queue_unref(q);
		}
		b->dirty_queues.n = 0;
		flow_check(b);
		/* Group commit: one transaction for everything this turn. */
		if (b->store != NULL && store_dirty(b->store) &&
		    timed_commit(b) != 0)
			commit_failed(b);
		for (size_t i = 0; i < b->dirty_chans.n; i++) {
			struct chan *ch = b->dirty_chans.v[i];

			if (ch == NULL)
				continue;	/* freed while queued */
			ch->dirty = false;
			chan_commit_done(ch);
		}
		b->dirty_chans.n = 0;
		/* Everything queued so far may go out (io.h: the barrier). */
		b->commit_gen++;
		flush_list(&b->dirty_conns, flush_conn);
		if (b->admin_ops != NULL)
			flush_list(&b->dirty_http, b->admin_ops->flush);
		for (size_t i = 0; i < b->dead_conns.n; i++)
			conn_free(b->dead_conns.v[i]);
		b->dead_conns.n = 0;
	}
	if (has_work(b))
		ev_idle_start(loop, &b->idle);	/* do not sleep with work left */
	else
		ev_idle_stop(loop, &b->idle);
}

/*
 * Input work per loop turn, across connections. At 10 ms another client's
 * round trip waits about that long per busy connection ahead of it; each
 * connection still gets some frames every turn (conn.c), so none starves.
 */
#define TURN_INPUT_NS	(10 * 1000000u)

bool
broker_turn_spent(const struct broker *b)
{
	return mono_ns() - b->turn_start_ns > TURN_INPUT_NS;
}

/* Runs first after the loop wakes: a new turn and a new input budget. */
static void
on_turn(struct ev_loop *loop, ev_check *w, int revents)
{
	struct broker *b = ev_userdata(loop);

	b->turn_start_ns = mono_ns();
}

static void
on_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
	/* Nothing: its only job is to keep the loop from blocking. */
}

void
broker_wake_queue(struct broker *b, struct queue *q)
{
	queue_ref(q);	/* the list's reference; a delete cannot free it */
	ptrvec_push(&b->dirty_queues, q);
}

void
broker_wake_http(struct broker *b, struct http_conn *h)
{
	ptrvec_push(&b->dirty_http, h);
}

void
broker_unwake_http(struct broker *b, struct http_conn *h)
{
	for (size_t i = 0; i < b->dirty_http.n; i++)
		if (b->dirty_http.v[i] == h)
			b->dirty_http.v[i] = NULL;
}

void
broker_wake_chan(struct broker *b, struct chan *ch)
{
	if (!ch->dirty) {
		ptrvec_push(&b->dirty_chans, ch);
		ch->dirty = true;
	}
}

void
broker_wake_input(struct broker *b, struct conn *c)
{
	ptrvec_push(&b->pending_input, c);
}

void
broker_wake_conn(struct broker *b, struct conn *c)
{
	if (!c->dirty) {
		ptrvec_push(&b->dirty_conns, c);
		c->dirty = true;
	}
}

static void
on_stop_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct broker *b = ev_userdata(loop);

	/* Give clients a moment to answer close-ok, then leave. */
	if (b->nconns == 0 || ev_now(loop) - b->stop_started > 2.0)
		ev_break(loop, EVBREAK_ALL);
}

/* Acks and definitions kept from a failed commit are retried until they
 * are on disk, even when no new work arrives to carry them. */
static void
on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct broker *b = ev_userdata(loop);

	if (!store_retry_pending(b->store)) {
		ev_timer_stop(loop, w);
		return;
	}
	if (timed_commit(b) == 0) {
		log_info("store: commits succeed again");
		ev_timer_stop(loop, w);
	}
}

static void
on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct broker *b = ev_userdata(loop);

	log_info("broker: signal %d, shutting down", w->signum);
	broker_shutdown(b, "shutdown");
}

/* SIGHUP: server/reload.h. */
static void
on_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct broker *b = ev_userdata(loop);

	log_info("broker: SIGHUP: reloading");
	reload_run(b);
}

static int
write_file_atomic(const char *dir, const char *name, const char *content)
{
	char path[4096], tmp[4096];
	size_t len = strlen(content);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) == -1)
		return -1;
	if (write(fd, content, len) != (ssize_t)len) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

static void
release_msg(void *owner)
{
	msg_unref(owner);
}

/*
 * compat: like RabbitMQ, a fresh database gets the default vhost
 * (--default-vhost, "/") and the default user, once: deleting them later
 * sticks across restarts.
 * With a definitions file to load, the file alone says who may log in.
 */
static void
seed(struct broker *b)
{
	struct vhost *vh;
	char err[512];

	/* compat: RabbitMQ's default_vhost, default_user_tags. */
	vh = vhost_create(b, b->cfg.default_vhost);
	vhost_set_meta(vh, "Default virtual host", "");
	if (b->users.count == 0 &&
	    strcmp(b->cfg.load_definitions, "none") == 0) {
		if (auth_user_set_password(b, b->cfg.default_user,
		    b->cfg.default_pass, b->cfg.default_user_tags, err,
		    sizeof(err)) == -1 ||
		    auth_permission_set(b, b->cfg.default_user,
		    b->cfg.default_vhost, ".*", ".*", ".*", err,
		    sizeof(err)) == -1)
			fatalx("default user: %s", err);
		log_info("auth: created the default user '%s'",
		    b->cfg.default_user);
	}
	store_put_seeded(b->store);
}

static void
open_store(struct broker *b)
{
	enum store_durability d = strcmp(b->cfg.durability, "os") == 0 ?
	    STORE_OS : STORE_FSYNC;
	char err[512];

	if ((b->store = store_open(b->cfg.data_dir, d, err, sizeof(err))) ==
	    NULL)
		fatalx("store: %s", err);
	store_set_release(b->store, release_msg);
	if (d == STORE_OS)
		log_info("store: durability os: a confirm survives a crash of "
		    "warrend, not a power loss or a kernel crash");
	if (persist_recover(b) != 0)
		fatalx("store: recovery failed: %s", store_errmsg(b->store));
	if (!store_seeded(b->store))
		seed(b);
	if (strcmp(b->cfg.load_definitions, "none") != 0) {
		if (import_definitions_file(b, b->cfg.load_definitions, err,
		    sizeof(err)) == -1)
			fatalx("%s", err);
	}
	if (store_commit(b->store) != 0)
		fatalx("store: cannot write to %s: %s", b->cfg.data_dir,
		    store_errmsg(b->store));
	/* For tests: failures start with the first commit after start-up. */
	if (b->cfg.inject_store_failures > 0)
		store_inject_failures(b->store,
		    (int)b->cfg.inject_store_failures);
}

void
broker_init(struct broker *b, struct ev_loop *loop)
{
	b->loop = loop;
	ev_set_userdata(loop, b);
	hmap_init(&b->vhosts);
	hmap_init(&b->reply_tos);
	hmap_init(&b->conns_by_id);
	auth_init(b);
	reload_open_log(b);
	if (mkdir(b->cfg.data_dir, 0755) == -1 && errno != EEXIST)
		fatal("data dir %s", b->cfg.data_dir);
	node_init(b);
	/* Everything stored is back before the listener accepts anyone. */
	open_store(b);
	ev_prepare_init(&b->prepare, on_prepare);
	ev_prepare_start(loop, &b->prepare);
	ev_idle_init(&b->idle, on_idle);
	ev_check_init(&b->turn_check, on_turn);
	ev_set_priority(&b->turn_check, EV_MAXPRI);
	ev_check_start(loop, &b->turn_check);
	b->turn_start_ns = mono_ns();
	ev_timer_init(&b->stop_timer, on_stop_timer, 0.05, 0.05);
	ev_timer_init(&b->retry_timer, on_retry, 1.0, 1.0);
	ev_signal_init(&b->sigterm, on_signal, SIGTERM);
	ev_signal_init(&b->sigint, on_signal, SIGINT);
	ev_signal_start(loop, &b->sigterm);
	ev_signal_start(loop, &b->sigint);
	alarm_init(b);
	stats_init(b);
	stats_start(b);
	ev_signal_init(&b->sighup, on_sighup, SIGHUP);
	ev_signal_start(loop, &b->sighup);
}

void
broker_init_test(struct broker *b, struct ev_loop *loop)
{
	/* Nothing there: broker_free's unlinks of its files do nothing. */
	char a0[] = "warrend", a1[] = "--data-dir",
	    a2[] = "/nonexistent/warren-test";
	char *argv[] = { a0, a1, a2, NULL };

	memset(b, 0, sizeof(*b));
	if (config_load(&b->cfg, 3, argv) != CONFIG_OK)
		abort();
	b->loop = loop;
	ev_set_userdata(loop, b);
	hmap_init(&b->vhosts);
	hmap_init(&b->reply_tos);
	hmap_init(&b->conns_by_id);
	auth_init(b);
	node_init(b);
	stats_init(b);
	b->store = store_open_null();
	store_set_release(b->store, release_msg);
	vhost_create(b, "/");
}

/*
 * compat: RabbitMQ's prometheus.tcp.port, bound like the admin API, on
 * the same loop and connection limits.
 */
static void
start_prometheus(struct broker *b)
{
	char line[32];
	int port;

	if ((port = config_prometheus_port(&b->cfg)) == -1)
		return;
	if ((b->prometheus = listener_new(b, b->cfg.bind, port)) == NULL)
		fatalx("cannot listen on %s:%d", b->cfg.bind, port);
	b->prometheus->accept = b->admin_ops->accept_metrics;
	snprintf(line, sizeof(line), "%d\n", b->prometheus->port);
	if (write_file_atomic(b->cfg.data_dir, "warrend.prometheus-port",
	    line) == -1)
		fatal("%s/warrend.prometheus-port", b->cfg.data_dir);
	log_info("broker: serving Prometheus metrics on %s:%d", b->cfg.bind,
	    b->prometheus->port);
}

/* The HTTP admin API's listener (admin/http_conn.c). */
static void
start_admin(struct broker *b)
{
	char line[32];
	int port;

	if ((b->admin = listener_new(b, b->cfg.bind,
	    (int)b->cfg.admin_port)) == NULL)
		fatalx("cannot listen on %s:%llu", b->cfg.bind,
		    (unsigned long long)b->cfg.admin_port);
	b->admin->accept = b->admin_ops->accept;
	/* Before warrend.port, which tells tests the broker is up. */
	snprintf(line, sizeof(line), "%d\n", b->admin->port);
	if (write_file_atomic(b->cfg.data_dir, "warrend.admin-port", line) ==
	    -1)
		fatal("%s/warrend.admin-port", b->cfg.data_dir);
	log_info("broker: serving the HTTP admin API on %s:%d", b->cfg.bind,
	    b->admin->port);
	start_prometheus(b);
	/* compat: RabbitMQ's management.ssl.*, with the amqps certificate. */
	if ((port = config_admin_tls_port(&b->cfg)) == -1)
		return;
	if (b->tls == NULL)
		fatalx("admin-tls-port needs tls-cert and tls-key");
	if ((b->admin_tls = listener_new(b, b->cfg.bind, port)) == NULL)
		fatalx("cannot listen on %s:%d", b->cfg.bind, port);
	b->admin_tls->accept = b->admin_ops->accept_tls;
	snprintf(line, sizeof(line), "%d\n", b->admin_tls->port);
	if (write_file_atomic(b->cfg.data_dir, "warrend.admin-tls-port",
	    line) == -1)
		fatal("%s/warrend.admin-tls-port", b->cfg.data_dir);
	log_info("broker: serving the HTTP admin API over TLS on %s:%d",
	    b->cfg.bind, b->admin_tls->port);
}

void
broker_start(struct broker *b)
{
	char line[32];

	if (b->cfg.tcp_listener == 0 && !tls_configured(&b->cfg))
		fatalx("--tcp-listener 0 (listeners.tcp = none) needs the amqps "
		    "listener: set --tls-cert and --tls-key");
	if (b->cfg.tcp_listener != 0 && (b->amqp = listener_new(b,
	    b->cfg.bind, (int)b->cfg.port)) == NULL)
		fatalx("cannot listen on %s:%llu", b->cfg.bind,
		    (unsigned long long)b->cfg.port);
	if (tls_configured(&b->cfg)) {
		char err[512];

		if ((b->tls = tls_new(&b->cfg, err, sizeof(err))) == NULL)
			fatalx("tls: %s", err);
		if ((b->amqps = listener_new(b, b->cfg.bind,
		    (int)b->cfg.tls_port)) == NULL)
			fatalx("cannot listen on %s:%llu", b->cfg.bind,
			    (unsigned long long)b->cfg.tls_port);
		b->amqps->tls = true;
		/* Before warrend.port, which tells tests the broker is up. */
		snprintf(line, sizeof(line), "%d\n", b->amqps->port);
		if (write_file_atomic(b->cfg.data_dir, "warrend.tls-port",
		    line) == -1)
			fatal("%s/warrend.tls-port", b->cfg.data_dir);
		log_info("broker: accepting AMQP 0-9-1 over TLS on %s:%d",
		    b->cfg.bind, b->amqps->port);
	}
	if (b->admin_ops != NULL)
		start_admin(b);
	snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (write_file_atomic(b->cfg.data_dir, "warrend.pid", line) == -1)
		fatal("%s/warrend.pid", b->cfg.data_dir);
	if (b->amqp == NULL) {
		log_info("broker: warrend %s accepting AMQP 0-9-1 over TLS "
		    "only, on %s:%d", PACKAGE_VERSION, b->cfg.bind,
		    b->amqps->port);
		snprintf(line, sizeof(line), "accepting AMQPS on port %d",
		    b->amqps->port);
		notify_ready(line);
		return;
	}
	snprintf(line, sizeof(line), "%d\n", b->amqp->port);
	if (write_file_atomic(b->cfg.data_dir, "warrend.port", line) == -1)
		fatal("%s/warrend.port", b->cfg.data_dir);
	log_info("broker: warrend %s accepting AMQP 0-9-1 on %s:%d",
	    PACKAGE_VERSION, b->cfg.bind, b->amqp->port);
	snprintf(line, sizeof(line), "accepting AMQP on port %d",
	    b->amqp->port);
	notify_ready(line);
}

void
broker_shutdown(struct broker *b, const char *reason)
{
	if (b->stopping)
		return;
	b->stopping = true;
	b->stop_started = ev_now(b->loop);
	notify_stopping();
	if (b->amqp)
		listener_stop(b->amqp);
	if (b->amqps)
		listener_stop(b->amqps);
	if (b->admin_tls)
		listener_stop(b->admin_tls);
	if (b->prometheus)
		listener_stop(b->prometheus);
	if (b->admin) {
		listener_stop(b->admin);
		b->admin_ops->shutdown(b);
	}
	for (struct conn *c = b->conns; c != NULL; c = c->next)
		if (c->state != CONN_DEAD && c->state != CONN_CLOSING)
			conn_fail(c, PROTO_CONNECTION_FORCED, 0,
			    "broker forced connection closure with reason '%s'",
			    reason);
	ev_timer_start(b->loop, &b->stop_timer);
}

void
broker_free(struct broker *b)
{
	char path[4096];
	void *v;

	if (b->admin_ops != NULL)
		b->admin_ops->close_all(b);
	import_job_free(b);	/* its waiter is gone: closed above */
	while (b->conns != NULL)
		conn_abort(b->conns, "broker stopping");
	for (size_t i = 0; i < b->dead_conns.n; i++)
		conn_free(b->dead_conns.v[i]);
	b->dead_conns.n = 0;
	/*
	 * Closing connections requeued their deliveries: commit that, then
	 * close the store before tearing down memory, so the teardown below
	 * writes nothing (queues freed here are not deleted).
	 */
	if (b->store != NULL) {
		if ((store_dirty(b->store) || store_retry_pending(b->store)) &&
		    store_commit(b->store) != 0)
			log_warnx("store: final commit failed: %s",
			    store_errmsg(b->store));
		store_close(b->store);
		b->store = NULL;
	}
	for (size_t i = 0; i < b->dirty_queues.n; i++)
		queue_unref(b->dirty_queues.v[i]);
	for (size_t i = 0; hmap_next(&b->vhosts, &i, &v);)
		vhost_free(v);
	hmap_free(&b->vhosts);
	hmap_free(&b->conns_by_id);
	reply_to_free_all(b);
	auth_free(b);
	stats_free(b);
	if (b->amqp)
		listener_free(b->amqp);
	if (b->amqps) {
		listener_free(b->amqps);
		snprintf(path, sizeof(path), "%s/warrend.tls-port",
		    b->cfg.data_dir);
		unlink(path);
	}
	if (b->admin_tls) {
		listener_free(b->admin_tls);
		snprintf(path, sizeof(path), "%s/warrend.admin-tls-port",
		    b->cfg.data_dir);
		unlink(path);
	}
	if (b->prometheus) {
		listener_free(b->prometheus);
		snprintf(path, sizeof(path), "%s/warrend.prometheus-port",
		    b->cfg.data_dir);
		unlink(path);
	}
	if (b->admin) {
		listener_free(b->admin);
		snprintf(path, sizeof(path), "%s/warrend.admin-port",
		    b->cfg.data_dir);
		unlink(path);
	}
	tls_free(b->tls);
	snprintf(path, sizeof(path), "%s/warrend.pid", b->cfg.data_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/warrend.port", b->cfg.data_dir);
	unlink(path);
	free(b->dirty_queues.v);
	free(b->dirty_chans.v);
	free(b->dirty_conns.v);
	free(b->dirty_http.v);
	free(b->dead_conns.v);
	free(b->pending_input.v);
	free(b->flow_paused.v);
	free(b->route.q);
	config_free(&b->cfg);
}

struct vhost *
broker_vhost(struct broker *b, const char *name, size_t len)
{
	return hmap_get(&b->vhosts, name, len);
}
