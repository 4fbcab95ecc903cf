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

bool
quorum_delivery_props(const struct queue *q, const struct qentry *e,
    bool get, const uint8_t **props, size_t *len, uint8_t **buf)
{
	struct proto_basic_properties p;
	struct proto_table_iter it;
	struct proto_writer hw, pw;
	struct proto_str key;
	struct proto_field f;
	struct msg *m = e->m;
	uint8_t *hbuf, *pbuf;
	size_t cap, t;

	*buf = NULL;
	*props = m->props;
	*len = m->props_len;
	if (q->type != QUEUE_QUORUM || (e->deliveries == 0 && !get))
		return true;
	if (msg_decode_props(m, &p) != 0)
		return true;	/* validated at publish: not reached */
	/* The old headers, one entry of 8 bytes more, and the flags. */
	cap = m->props_len + 64;
	if ((hbuf = malloc(cap)) == NULL)
		return false;
	if ((pbuf = malloc(cap * 2)) == NULL) {
		free(hbuf);
		return false;
	}
	hw = proto_writer(hbuf, cap);
	t = proto_table_begin(&hw);
	if (p.flags & PROTO_BASIC_HEADERS_FLAG) {
		proto_table_iter_init(&it, p.headers);
		while (proto_table_next(&it, &key, &f)) {
			if (proto_str_eqc(key, "x-delivery-count"))
				continue;
			proto_write_shortstr(&hw, key);
			proto_field_write(&hw, &f);
		}
	}
	/* compat: a long ('l'), as RabbitMQ's. */
	proto_table_put_i64(&hw, "x-delivery-count", (int64_t)e->deliveries);
	proto_table_end(&hw, t);
	p.flags |= PROTO_BASIC_HEADERS_FLAG;
	p.headers = (struct proto_table){ hbuf + 4, hw.len - 4 };
	pw = proto_writer(pbuf, cap * 2);
	if (hw.overflow || !proto_basic_properties_encode(&p, &pw)) {
		free(hbuf);
		free(pbuf);
		return false;
	}
	free(hbuf);
	*buf = pbuf;
	*props = pbuf;
	*len = pw.len;
	return true;
}
