#include "autoconf.h"

/*
 * The batch layer (storage/store.c) on a second backend: a fake that
 * keeps nothing and writes down, one line per op, what each commit
 * applied. That the store works on it, through the same store.h calls the
 * server makes, shows that a backend fits behind store_backend.h without
 * touching store.c; the lines show what the batch layer sends down.
 */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "storage/store.h"
#include "storage/store_backend.h"

#define B(s)	((struct store_blob){ (s), sizeof(s) - 1 })
#define NOBLOB	((struct store_blob){ NULL, 0 })

struct fake {
	char		 log[8192];	/* applied ops, one line each */
	int		 kinds[16];	/* the first ops' kinds */
	int		 nkinds;
	size_t		 loglen;
	bool		 in_tx;
	int		 begins, commits, rollbacks;
	int		 fail_commits;	/* commits left to fail */
	int		 fail_kind;	/* apply fails on this kind; -1: none */
	bool		 closed;
	char		 errmsg[64];
};

static struct fake	 fake;
static int		 released[8];
static int		 owners[8];

static void
note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fake.loglen += vsnprintf(fake.log + fake.loglen,
	    sizeof(fake.log) - fake.loglen, fmt, ap);
	va_end(ap);
	cr_assert_lt(fake.loglen, sizeof(fake.log));
}

static int
fake_next_ids(void *be, uint64_t *queue_id, uint64_t *msg_id)
{
	(void)be;
	*queue_id = 100;
	*msg_id = 500;
	return 0;
}

static int
fake_begin(void *be)
{
	(void)be;
	cr_assert(!fake.in_tx, "begin inside a transaction");
	fake.in_tx = true;
	fake.begins++;
	return 0;
}

/* Renders an op from its descriptor alone, as any backend could. */
static int
fake_apply(void *be, const struct store_op *op)
{
	const struct store_op_desc *d = &store_op_desc[op->kind];

	(void)be;
	cr_assert(fake.in_tx, "apply outside a transaction");
	if ((int)op->kind == fake.fail_kind) {
		snprintf(fake.errmsg, sizeof(fake.errmsg), "%s: no", d->what);
		return -1;
	}
	if (fake.nkinds < 16)
		fake.kinds[fake.nkinds++] = op->kind;
	note("%s", d->what);
	for (int i = 0; i < store_op_nfields(op->kind); i++) {
		const union store_value *v = &op->v[i];

		switch (d->field[i]) {
		case STORE_FIELD_BLOB:
			note(" '%.*s'", (int)v->blob.len,
			    (const char *)v->blob.p);
			break;
		case STORE_FIELD_INT:
		case STORE_FIELD_INT_OR_NULL:
			note(" %llu", (unsigned long long)v->n);
			break;
		case STORE_FIELD_LIMIT:
			note(" %lld", (long long)v->limit);
			break;
		}
	}
	note("\n");
	return 0;
}

static int
fake_commit(void *be)
{
	(void)be;
	cr_assert(fake.in_tx);
	if (fake.fail_commits > 0) {
		fake.fail_commits--;
		snprintf(fake.errmsg, sizeof(fake.errmsg), "commit: no room");
		return -1;
	}
	fake.in_tx = false;
	fake.commits++;
	note("--\n");
	return 0;
}

static void
fake_rollback(void *be)
{
	(void)be;
	fake.in_tx = false;
	fake.rollbacks++;
	note("rollback\n");
}

static int
fake_seeded(void *be)
{
	(void)be;
	return 0;
}

static int
fake_load_message(void *be, uint64_t msg_id, struct store_message *out)
{
	(void)be;
	if (msg_id != 7) {
		snprintf(fake.errmsg, sizeof(fake.errmsg), "no message %llu",
		    (unsigned long long)msg_id);
		return -1;
	}
	out->exchange = B("ex");
	out->routing_key = B("rk");
	out->props = B("");
	out->body = B("body");
	out->bcc = B("");
	return 0;
}

static int
fake_recover(void *be, const struct store_recovery *cb, void *arg)
{
	(void)be;
	cb->queue(arg, 3, B("/"), B("q"), STORE_QUEUE_DURABLE, B(""));
	return 0;
}

static const char *
fake_errmsg(void *be)
{
	(void)be;
	return fake.errmsg;
}

static void
fake_close(void *be)
{
	(void)be;
	fake.closed = true;
}

static const struct store_backend_ops fake_ops = {
	.next_ids = fake_next_ids,
	.begin = fake_begin,
	.apply = fake_apply,
	.commit = fake_commit,
	.rollback = fake_rollback,
	.seeded = fake_seeded,
	.load_message = fake_load_message,
	.recover = fake_recover,
	.errmsg = fake_errmsg,
	.close = fake_close,
};

static void
release(void *owner)
{
	released[(int *)owner - owners]++;
}

static struct store *
open_fake(void)
{
	char err[128];
	struct store *st;

	memset(&fake, 0, sizeof(fake));
	fake.fail_kind = -1;
	memset(released, 0, sizeof(released));
	st = store_new(&fake_ops, &fake, err, sizeof(err));
	cr_assert_not_null(st, "%s", err);
	store_set_release(st, release);
	return st;
}

/* The log since the last call, emptied. */
static const char *
applied(void)
{
	static char out[sizeof(fake.log)];

	memcpy(out, fake.log, fake.loglen + 1);
	fake.loglen = 0;
	fake.log[0] = '\0';
	return out;
}

TestSuite(store_backend);

Test(store_backend, definitions_reach_the_backend_in_call_order_as_copies)
{
	struct store *st = open_fake();
	char name[8] = "orders";
	uint64_t qid;

	store_put_vhost(st, B("/"));
	store_put_vhost_limits(st, B("/"), -1, 20);
	qid = store_put_queue(st, B("/"), (struct store_blob){ name, 6 },
	    STORE_QUEUE_DURABLE, B(""));
	/* The caller's buffer may change as soon as the call returns. */
	memcpy(name, "XXXXXX", 6);
	store_put_binding(st, B("/"), B("amq.direct"), true, B("orders"),
	    B("k"), B(""));
	store_put_seeded(st);
	cr_assert(store_dirty(st));
	cr_assert_str_empty(applied(), "nothing is written before commit");
	cr_assert_eq(store_commit(st), 0);
	cr_assert_eq(qid, 100, "queue ids continue from the backend's");
	cr_assert_str_eq(applied(),
	    "put vhost '/'\n"
	    "put vhost limits '/' -1 20\n"
	    "put queue 100 '/' 'orders' 1 ''\n"
	    "put binding '/' 'amq.direct' 1 'orders' 'k' ''\n"
	    "write settings\n"
	    "--\n");
	cr_assert(!store_dirty(st));
	cr_assert_eq(store_commit(st), 0, "an empty batch commits");
	cr_assert_eq(fake.begins, 1, "an empty batch never reaches it");
	store_close(st);
	cr_assert(fake.closed);
}

Test(store_backend, entry_put_and_acked_in_one_batch_is_never_sent)
{
	struct store *st = open_fake();
	uint64_t m1, m2;

	m1 = store_put_message(st, B("ex"), B("rk"), B(""), B("one"), NOBLOB,
	    2, &owners[0]);
	m2 = store_put_message(st, B("ex"), B("rk"), B(""), B("two"), NOBLOB,
	    1, &owners[1]);
	cr_assert_eq(m1, 500);
	store_put_entry(st, 3, 1, m1, 0, STORE_ENTRY_SHARED, 0, 0);
	store_put_entry(st, 4, 1, m1, 0, STORE_ENTRY_SHARED, 0, 0);
	store_put_entry(st, 3, 2, m2, 0, 0, 0, 0);
	store_entry_delivered(st, 4, 1);
	cr_assert_eq(store_pending_owner(st, m1), &owners[0]);
	/* m1 loses one of its two entries, m2 its only one. */
	store_del_entry(st, 3, 1, m1, STORE_ENTRY_SHARED);
	store_del_entry(st, 3, 2, m2, 0);
	cr_assert_eq(store_commit(st), 0);
	cr_assert_str_eq(applied(),
	    "put message 500 1 'ex' 'rk' '' 'one' ''\n"
	    "put entry 4 1 500 1 1 0 0\n"
	    "--\n");
	cr_assert_eq(released[0], 1);
	cr_assert_eq(released[1], 1, "a message never written is released");
	cr_assert_null(store_pending_owner(st, m1), "on disk now");
	store_close(st);
}

Test(store_backend, runs_of_acks_go_down_as_one_range)
{
	struct store *st = open_fake();

	for (uint64_t i = 0; i < 5; i++)
		store_del_entry(st, 3, 10 + i, 40 + i, 0);
	store_del_entry(st, 3, 16, 46, 0);		/* a gap */
	store_del_entry(st, 3, 17, 47, STORE_ENTRY_SHARED);
	store_del_entry(st, 3, 18, 48, 0);
	store_entry_delivered(st, 3, 19);
	cr_assert_eq(store_commit(st), 0);
	cr_assert_str_eq(applied(),
	    "delete entries 3 10 14 40 44\n"
	    "delete entries 3 16 16 46 46\n"
	    "delete entry 3 17 47\n"
	    "delete entries 3 18 18 48 48\n"
	    "update entry 3 19\n"
	    "--\n");
	store_close(st);
}

Test(store_backend, cancelled_entry_of_a_stored_message_drops_its_ref)
{
	struct store *st = open_fake();

	/* Entries put for messages already on disk, then gone at once. */
	store_put_entry(st, 3, 1, 7, 0, 0, 0, 0);
	store_put_entry(st, 4, 1, 8, 0, STORE_ENTRY_SHARED, 0, 0);
	store_del_entry(st, 3, 1, 7, 0);
	store_del_entry(st, 4, 1, 8, STORE_ENTRY_SHARED);
	cr_assert_eq(store_commit(st), 0);
	cr_assert_str_eq(applied(),
	    "delete message 7\n"
	    "delete message 8\n"
	    "--\n");
	/* The unshared message goes; the shared one loses one ref. */
	cr_assert_eq(fake.nkinds, 2);
	cr_assert_eq(fake.kinds[0], STORE_OP_MESSAGE_DEL);
	cr_assert_eq(fake.kinds[1], STORE_OP_MESSAGE_UNREF);
	store_close(st);
}

Test(store_backend, failed_commit_keeps_definitions_and_acks_for_the_retry)
{
	struct store *st = open_fake();
	uint64_t m;

	fake.fail_commits = 1;
	store_put_vhost(st, B("v"));
	m = store_put_message(st, B("ex"), B("rk"), B(""), B("b"), NOBLOB,
	    1, &owners[0]);
	store_put_entry(st, 3, 1, m, 0, 0, 0, 0);
	store_del_entry(st, 3, 0, 9, 0);
	cr_assert_eq(store_commit(st), -1);
	cr_assert_str_eq(store_errmsg(st), "commit: no room");
	cr_assert_eq(fake.rollbacks, 1);
	cr_assert_eq(released[0], 1, "the nacked publish is released");
	cr_assert(store_retry_pending(st));
	cr_assert(!store_dirty(st), "only kept ops wait");
	applied();

	store_del_entry(st, 3, 1, 10, 0);	/* continues the kept run */
	cr_assert_eq(store_commit(st), 0);
	cr_assert_str_eq(applied(),
	    "put vhost 'v'\n"
	    "delete entries 3 0 1 9 10\n"
	    "--\n");
	cr_assert(!store_retry_pending(st));
	cr_assert_eq(released[0], 1, "released exactly once");
	store_close(st);
}

Test(store_backend, failed_apply_rolls_back_with_the_backends_error)
{
	struct store *st = open_fake();

	fake.fail_kind = STORE_OP_USER_PUT;
	store_put_user(st, B("u"), B("h"), B("a"), B(""));
	cr_assert_eq(store_commit(st), -1);
	cr_assert_str_eq(store_errmsg(st), "put user: no");
	cr_assert_eq(fake.rollbacks, 1);
	cr_assert_eq(fake.commits, 0);
	fake.fail_kind = -1;
	cr_assert_eq(store_commit(st), 0, "the user is retried");
	cr_assert_str_eq(applied(), "rollback\nput user 'u' 'h' 'a' ''\n--\n");
	store_close(st);
}

Test(store_backend, injected_failures_never_reach_the_backends_commit)
{
	struct store *st = open_fake();

	store_inject_failures(st, 1);
	store_put_vhost(st, B("v"));
	cr_assert_eq(store_commit(st), -1);
	cr_assert_eq(fake.commits, 0);
	cr_assert_eq(store_commit(st), 0);
	cr_assert_str_eq(applied(), "rollback\nput vhost 'v'\n--\n");
	store_close(st);
}

static void
on_queue(void *arg, uint64_t queue_id, struct store_blob vhost,
    struct store_blob name, unsigned flags, struct store_blob args)
{
	(void)vhost;
	(void)flags;
	(void)args;
	cr_assert_eq(queue_id, 3);
	cr_assert_eq(name.len, 1);
	(*(int *)arg)++;
}

Test(store_backend, reads_go_to_the_backend)
{
	struct store *st = open_fake();
	struct store_recovery cb = { .queue = on_queue };
	struct store_message sm;
	int queues = 0;

	cr_assert(!store_seeded(st));
	cr_assert_eq(store_load_message(st, 7, &sm), 0);
	cr_assert_eq(sm.body.len, 4);
	cr_assert_eq(store_load_message(st, 8, &sm), -1);
	cr_assert_str_eq(store_errmsg(st), "no message 8");
	cr_assert_eq(store_recover(st, &cb, &queues), 0);
	cr_assert_eq(queues, 1);
	store_close(st);
}
