/*
 * A backend that keeps nothing: every write succeeds and is forgotten, the
 * database is empty and already seeded. Unit tests build a real broker on
 * it (broker_init_test), so the code under test runs its persist paths as
 * in production, with no disk and no special cases.
 */
#include "autoconf.h"

#include <stdio.h>

#include "storage/store_backend.h"

static int
null_next_ids(void *be, uint64_t *queue_id, uint64_t *msg_id)
{
	(void)be;
	*queue_id = *msg_id = 1;
	return 0;
}

static int
null_ok(void *be)
{
	(void)be;
	return 0;
}

static int
null_apply(void *be, const struct store_op *op)
{
	(void)be;
	(void)op;
	return 0;
}

static void
null_rollback(void *be)
{
	(void)be;
}

static int
null_seeded(void *be)
{
	(void)be;
	return 1;
}

static int
null_load_message(void *be, uint64_t msg_id, struct store_message *out)
{
	(void)be;
	(void)msg_id;
	(void)out;
	return -1;	/* nothing was ever written */
}

static int
null_recover(void *be, const struct store_recovery *cb, void *arg)
{
	(void)be;
	(void)cb;
	(void)arg;
	return 0;
}

static const char *
null_errmsg(void *be)
{
	(void)be;
	return "the null store keeps no messages";
}

static const struct store_backend_ops null_ops = {
	.next_ids = null_next_ids,
	.begin = null_ok,
	.apply = null_apply,
	.commit = null_ok,
	.rollback = null_rollback,
	.seeded = null_seeded,
	.load_message = null_load_message,
	.recover = null_recover,
	.errmsg = null_errmsg,
	.close = null_rollback,
};

struct store *
store_open_null(void)
{
	char err[128];

	/* store_new fails only if next_ids does, which this one cannot. */
	return store_new(&null_ops, NULL, err, sizeof(err));
}
