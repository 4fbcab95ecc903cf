/* tx.select/commit/rollback: publishes and settles held until commit. */
#include "autoconf.h"

#include "server/chan.h"

#include "server/conn.h"
#include "server/msg.h"

static void
tx_discard(struct chan *ch)
{
	for (size_t i = 0; i < ch->tx_npubs; i++)
		msg_unref(ch->tx_pubs[i].m);
	ch->tx_npubs = 0;
	ch->tx_nsettles = 0;
}

/*
 * Routes the held publishes and applies the held settles; tx.commit-ok
 * goes out from the prepare step once the store commit that covers them
 * succeeded (chan_commit_done), never before.
 */
static int
tx_commit(struct chan *ch)
{
	int rc = 0;

	/* Settles first: they refer to deliveries made before the commit. */
	for (size_t i = 0; i < ch->tx_nsettles && rc == 0; i++) {
		struct tx_settle *t = &ch->tx_settles[i];

		rc = chan_settle(ch, t->tag, t->multiple, t->ack, t->requeue,
		    t->ack ? PROTO_BASIC_ACK : PROTO_BASIC_NACK);
	}
	if (rc != 0)
		return rc;	/* the channel is closed and released */
	ch->tx_nsettles = 0;
	for (size_t i = 0; i < ch->tx_npubs && rc == 0; i++) {
		struct msg *m = ch->tx_pubs[i].m;

		ch->tx_pubs[i].m = NULL;
		rc = chan_route_publish(ch, m, ch->tx_pubs[i].mandatory);
		msg_unref(m);
	}
	if (rc != 0)
		return rc;
	ch->tx_npubs = 0;
	chan_tx_commit_owed(ch);
	return 0;
}

int
chan_tx_method(struct chan *ch, const struct proto_method *m)
{
	struct proto_method ok = { 0 };

	switch (m->id) {
	case PROTO_TX_SELECT:
		if (ch->confirm)
			return chan_fail(ch, PROTO_PRECONDITION_FAILED, m->id,
			    "cannot switch from confirm to tx mode");
		ch->tx = true;
		ok.id = PROTO_TX_SELECT_OK;
		break;
	case PROTO_TX_COMMIT:
		if (!ch->tx)
			return chan_fail(ch, PROTO_PRECONDITION_FAILED, m->id,
			    "channel is not transactional");
		return tx_commit(ch);
	case PROTO_TX_ROLLBACK:
		if (!ch->tx)
			return chan_fail(ch, PROTO_PRECONDITION_FAILED, m->id,
			    "channel is not transactional");
		tx_discard(ch);
		ok.id = PROTO_TX_ROLLBACK_OK;
		break;
	default:
		return chan_fail(ch, PROTO_COMMAND_INVALID, m->id,
		    "unexpected %s", proto_method_info(m->id)->name);
	}
	conn_send_method(ch->c, ch->id, &ok);
	return 0;
}
