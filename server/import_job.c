/*
 * A definitions import that does not stall the loop (POST
 * /api/definitions): a 20 MB body is 160,000 objects and used to hold
 * the loop for seconds, while the house rule is that work a client
 * controls costs bounded time per turn (broker_turn_spent).
 *
 * Parse and validation run on one worker thread: the JSON parser is not
 * incremental, and definitions_parse touches no broker state (the vhost
 * lookups all happen in the appliers, on the loop). The worker wakes the
 * loop with an ev_async. The objects are then applied on the loop through
 * the same appliers as a definitions file (import.c), a slice per turn
 * until the turn's budget is spent, so the prepare step's group commit
 * covers one slice at a time and its cost is sliced too. The answer goes
 * out after the commit of the last slice (the admin output barrier).
 * Freeing the document (a DOM of hundreds of thousands of nodes, tens of
 * ms) is the worker's last task; the next import may start meanwhile (a
 * client that got its answer may send the next file at once), so at most
 * two documents are in memory.
 *
 * Between slices other clients run: an object they delete before a later
 * slice needs it is reported like a missing one (RabbitMQ's import is not
 * atomic either). A file found invalid by validation changes nothing.
 */
#include "autoconf.h"

#include "server/import.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/mono.h"
#include "lib/xmalloc.h"
#include "server/broker.h"
#include "server/definitions.h"

/*
 * Objects applied between two looks at the turn's budget; also what an
 * import gets in a turn whose budget AMQP input already spent, so that it
 * always progresses. A queue declare is a few microseconds.
 */
#define IMPORT_SLICE	64
/*
 * Time a turn's slices may take at most, besides the turn's budget: the
 * group commit of what they applied comes on top, in the same turn, and
 * takes about as long again.
 */
#define IMPORT_TURN_NS	(5 * 1000000u)

enum job_state {
	JOB_PARSING,	/* the worker parses and validates */
	JOB_APPLYING,	/* slices on the loop */
	JOB_FREEING,	/* answered; the worker frees the document */
};

struct import_job {
	struct broker	*b;
	void		*mem;		/* owned; holds text */
	const char	*text;		/* the body */
	size_t		 len;
	char		*vhost;		/* one vhost's definitions, or NULL */
	import_done_fn	*done;
	void		*arg;		/* NULL once forgotten */
	enum job_state	 state;
	pthread_t	 th;
	bool		 th_live;	/* started and not joined yet */
	pthread_mutex_t	 mu;		/* guards the four below */
	pthread_cond_t	 cv;
	bool		 parsed_done;	/* worker -> loop: doc, perr set */
	bool		 applied;	/* loop -> worker: free the doc */
	bool		 freed;		/* worker -> loop: doc freed */
	ev_async	 wake;		/* the worker has news */
	ev_check	 slice;		/* applies a slice each turn */
	ev_idle		 awake;		/* no sleeping while objects are left */
	/* Written by the worker before parsed_done. */
	struct defs_doc	*doc;
	char		 perr[1024];
	/* The appliers' state and reason buffer, on the loop. */
	struct import	 im;
	char		 err[1024];
};

/* Tells the worker that the document may go. */
static void
release_doc(struct import_job *j)
{
	pthread_mutex_lock(&j->mu);
	j->applied = true;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

static void
job_free(struct import_job *j)
{
	struct broker *b = j->b;
	struct ev_loop *loop = j->b->loop;

	if (j->th_live) {
		release_doc(j);
		pthread_join(j->th, NULL);
	}
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	ev_async_stop(loop, &j->wake);
	ev_check_stop(loop, &j->slice);
	ev_idle_stop(loop, &j->awake);
	definitions_doc_free(j->doc);
	free(j->mem);
	free(j->vhost);
	if (b->import_job == j)
		b->import_job = NULL;
	if (b->import_freeing == j)
		b->import_freeing = NULL;
	free(j);
}

/*
 * The end, good or bad: the waiter learns it now; the next import may
 * come once the worker has freed the document.
 */
static void
finish(struct import_job *j, int rc, const char *err)
{
	struct broker *b = j->b;

	if (rc == 0)
		log_info("import: definitions applied (%u objects created)",
		    j->im.created);
	else
		log_info("import: definitions refused: %s", err);
	if (j->arg != NULL)
		j->done(j->arg, rc, err);
	j->arg = NULL;
	ev_check_stop(b->loop, &j->slice);
	ev_idle_stop(b->loop, &j->awake);
	if (!j->th_live) {
		job_free(j);
		return;
	}
	/* The one before is long done freeing: a whole import ran since. */
	if (b->import_freeing != NULL)
		job_free(b->import_freeing);
	b->import_job = NULL;
	b->import_freeing = j;
	j->state = JOB_FREEING;
	release_doc(j);
}

static void *
worker(void *arg)
{
	struct import_job *j = arg;
	struct defs_doc *doc;

	doc = definitions_parse(j->text, j->len, j->vhost, j->perr,
	    sizeof(j->perr));
	pthread_mutex_lock(&j->mu);
	j->doc = doc;
	j->parsed_done = true;
	pthread_mutex_unlock(&j->mu);
	ev_async_send(j->b->loop, &j->wake);
	if (!j->th_live)
		return NULL;	/* run inline: the loop frees */

	pthread_mutex_lock(&j->mu);
	while (!j->applied)
		pthread_cond_wait(&j->cv, &j->mu);
	doc = j->doc;
	j->doc = NULL;
	pthread_mutex_unlock(&j->mu);
	definitions_doc_free(doc);
	free(j->mem);
	j->mem = NULL;		/* joined before anyone looks */
	pthread_mutex_lock(&j->mu);
	j->freed = true;
	pthread_mutex_unlock(&j->mu);
	ev_async_send(j->b->loop, &j->wake);
	return NULL;
}

static void
on_slice(struct ev_loop *loop, ev_check *w, int revents)
{
	struct import_job *j = w->data;
	uint64_t t0 = mono_ns();
	bool done = false;
	int rc;

	do
		rc = definitions_apply_some(j->doc, &import_cb, &j->im,
		    IMPORT_SLICE, &done, j->err, sizeof(j->err));
	while (rc == 0 && !done && !broker_turn_spent(j->b) &&
	    mono_ns() - t0 < IMPORT_TURN_NS);
	if (rc != 0 || done)
		finish(j, rc == 0 ? 0 : -1, j->err);
}

/* The worker's news: parsed, or (at the end) the document freed. */
static void
on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	struct import_job *j = w->data;
	bool parsed, freed;

	pthread_mutex_lock(&j->mu);
	parsed = j->parsed_done;
	freed = j->freed;
	pthread_mutex_unlock(&j->mu);
	if (j->state == JOB_FREEING && freed) {
		job_free(j);
		return;
	}
	if (j->state != JOB_PARSING || !parsed)
		return;
	j->state = JOB_APPLYING;
	if (j->doc == NULL) {
		finish(j, -1, j->perr);
		return;
	}
	if (j->vhost != NULL && broker_vhost(j->b, j->vhost,
	    strlen(j->vhost)) == NULL) {
		snprintf(j->err, sizeof(j->err), "no vhost '%s'", j->vhost);
		finish(j, -1, j->err);
		return;
	}
	ev_check_start(loop, &j->slice);
	ev_idle_start(loop, &j->awake);
}

static void
on_awake(struct ev_loop *loop, ev_idle *w, int revents)
{
	/* Nothing: it only keeps the loop from blocking (on_slice works). */
}

void
import_job_start(struct broker *b, void *mem, const char *text, size_t len,
    const char *vhost, import_done_fn *done, void *arg)
{
	struct import_job *j;
	sigset_t all, old;

	if (b->import_job != NULL)
		abort();	/* the caller checks import_job_running */
	j = xcalloc(1, sizeof(*j));
	j->b = b;
	j->mem = mem;
	j->text = text;
	j->len = len;
	j->vhost = vhost != NULL ? xstrdup(vhost) : NULL;
	j->done = done;
	j->arg = arg;
	j->im = (struct import){ b, j->err, sizeof(j->err), 0 };
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	ev_async_init(&j->wake, on_wake);
	j->wake.data = j;
	ev_async_start(b->loop, &j->wake);
	/* After the turn's input: AMQP clients go first (EV_MINPRI). */
	ev_check_init(&j->slice, on_slice);
	ev_set_priority(&j->slice, EV_MINPRI);
	j->slice.data = j;
	ev_idle_init(&j->awake, on_awake);
	j->awake.data = j;
	b->import_job = j;
	/* Signals stay with the loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* Set before the worker reads it. */
	j->th_live = true;
	if (pthread_create(&j->th, NULL, worker, j) != 0)
		j->th_live = false;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!j->th_live) {
		/* No thread to be had: parse here, as before. */
		log_warnx("import: no worker thread; parsing on the loop");
		worker(j);
	}
}

bool
import_job_running(const struct broker *b)
{
	return b->import_job != NULL;
}

void
import_job_forget(struct broker *b)
{
	if (b->import_job != NULL)
		b->import_job->arg = NULL;
}

void
import_job_free(struct broker *b)
{
	if (b->import_job != NULL)
		job_free(b->import_job);
	if (b->import_freeing != NULL)
		job_free(b->import_freeing);
}
