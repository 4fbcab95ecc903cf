/* Quorum queue behaviours (see queue_quorum.h). */
#include "autoconf.h"

#include "server/queue_quorum.h"

#include <stdlib.h>

#include "protocol/spec.h"
#include "protocol/table.h"
#include "server/msg.h"
#include "server/queue.h"
#include "server/queue_args.h"

bool
quorum_over_limit(const struct queue *q, const struct qentry *e)
{
	/* deliveries counts this one: it is also the number of returns. */
	return q->type == QUEUE_QUORUM && q->delivery_limit != INT64_MAX &&
	    (int64_t)e->deliveries > q->delivery_limit;
}

static bool
is_delivery_count(struct proto_str key, void *arg)
{
	(void)arg;
	return proto_str_eqc(key, "x-delivery-count");
}

static void
put_delivery_count(struct proto_writer *w, void *arg)
{
	const struct qentry *e = arg;

	/* compat: a long ('l'), as RabbitMQ's. */
	proto_table_put_i64(w, "x-delivery-count", (int64_t)e->deliveries);
}

bool
quorum_delivery_props(const struct queue *q, const struct qentry *e,
    bool get, const uint8_t **props, size_t *len, uint8_t **buf)
{
	struct proto_basic_properties p;
	struct msg *m = e->m;
	uint8_t *pbuf;
	size_t plen;

	*buf = NULL;
	*props = m->props;
	*len = m->props_len;
	if (q->type != QUEUE_QUORUM || (e->deliveries == 0 && !get))
		return true;
	if (msg_decode_props(m, &p) != 0)
		return true;	/* validated at publish: not reached */
	/* The old headers, one entry of 8 bytes more, and the flags. */
	if ((pbuf = msg_rewrite_headers(&p, m->props_len, 64,
	    is_delivery_count, put_delivery_count, (void *)e, &plen)) == NULL)
		return false;
	*buf = pbuf;
	*props = pbuf;
	*len = plen;
	return true;
}
