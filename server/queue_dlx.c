/* Dead-lettering: see queue_dlx.h. */
#include "autoconf.h"

#include "server/queue_dlx.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "protocol/spec.h"
#include "protocol/table.h"
#include "server/broker.h"
#include "server/exchange.h"
#include "server/msg.h"
#include "server/persist.h"
#include "server/policy.h"
#include "server/queue.h"
#include "server/vhost.h"

static const char *const reason_names[] = {
	[DEAD_REJECTED] = "rejected",
	[DEAD_EXPIRED] = "expired",
	[DEAD_MAXLEN] = "maxlen",
	[DEAD_DELIVERY_LIMIT] = "delivery_limit",
};

/*
 * What the cycle check needs of the x-death entries, most recent first:
 * each one's queue (longstr, else empty), and whether it stops the
 * check (a rejection, or an element a client must have put there).
 */
#define DEATHS_MAX	64
struct deaths {
	struct proto_str	queue[DEATHS_MAX];
	bool			stop[DEATHS_MAX];
	size_t			n;
};

static bool
str_field(struct proto_table t, const char *key, struct proto_str *out)
{
	struct proto_field f;

	if (!proto_table_get(t, key, &f) || f.kind != PROTO_FIELD_LONGSTR)
		return false;
	*out = f.v.str;
	return true;
}

/*
 * compat: RabbitMQ compares an entry's queue and reason by value only,
 * so a binary "q" is the queue q as much as a longstr is.
 */
static bool
field_is(struct proto_table t, const char *key, struct proto_str want)
{
	struct proto_field f;

	return proto_table_get(t, key, &f) &&
	    (f.kind == PROTO_FIELD_LONGSTR || f.kind == PROTO_FIELD_BYTES) &&
	    proto_str_eq(f.v.str, want);
}

/* Whether x-death element f is the entry of (queue, reason). */
static bool
is_entry_of(const struct proto_field *f, struct proto_str queue,
    struct proto_str reason)
{
	return f->kind == PROTO_FIELD_TABLE &&
	    field_is(f->v.table, "queue", queue) &&
	    field_is(f->v.table, "reason", reason);
}

static void
remember(struct deaths *d, const struct proto_field *f)
{
	struct proto_str queue = { NULL, 0 }, reason = { NULL, 0 };

	if (d->n == DEATHS_MAX)
		return;
	if (f->kind == PROTO_FIELD_TABLE) {
		(void)str_field(f->v.table, "queue", &queue);
		(void)str_field(f->v.table, "reason", &reason);
	}
	d->queue[d->n] = queue;
	d->stop[d->n] = f->kind != PROTO_FIELD_TABLE ||
	    proto_str_eqc(reason, "rejected");
	d->n++;
}

/*
 * compat: rabbit_dead_letter's cycle rule: back in a queue the message
 * died in, with no rejection since, it would go round for ever. Something
 * that is no entry on the way means a client took part: no cycle either.
 */
static bool
is_cycle(const struct deaths *d, const struct queue *target)
{
	struct proto_str name = { (const uint8_t *)target->name,
	    target->name_len };

	for (size_t i = 0; i < d->n; i++) {
		if (d->stop[i])
			return false;
		if (proto_str_eq(d->queue[i], name))
			return true;
	}
	return false;
}

/* Writes the entry for this death: count, reason, queue, time, ... */
static void
write_new_death(struct proto_writer *w, const struct queue *q,
    const struct msg *m, const struct proto_basic_properties *props,
    const struct route_keys *rks, const char *reason, uint64_t now)
{
	struct route_keys_iter it;
	struct proto_str key;
	size_t t, a;

	proto_write_u8(w, PROTO_FIELD_TABLE);
	t = proto_table_begin(w);
	proto_table_put_i64(w, "count", 1);
	proto_table_put_longstr(w, "reason", reason);
	proto_table_key(w, "queue");
	proto_write_u8(w, PROTO_FIELD_LONGSTR);
	proto_write_longstr(w, (struct proto_str){ (const uint8_t *)q->name,
	    q->name_len });
	proto_table_key(w, "time");
	proto_write_u8(w, PROTO_FIELD_TIMESTAMP);
	proto_write_u64(w, now);
	proto_table_key(w, "exchange");
	proto_write_u8(w, PROTO_FIELD_LONGSTR);
	proto_write_longstr(w, msg_exchange(m));
	/* compat: the routing key and the CC keys; never the BCC ones. */
	proto_table_key(w, "routing-keys");
	proto_write_u8(w, PROTO_FIELD_ARRAY);
	a = proto_table_begin(w);
	exchange_keys_init(&it, rks);
	while (exchange_keys_next(&it, &key)) {
		proto_write_u8(w, PROTO_FIELD_LONGSTR);
		proto_write_longstr(w, key);
	}
	proto_table_end(w, a);
	if (props->flags & PROTO_BASIC_EXPIRATION_FLAG) {
		proto_table_key(w, "original-expiration");
		proto_write_u8(w, PROTO_FIELD_LONGSTR);
		proto_write_longstr(w, props->expiration);
	}
	proto_table_end(w, t);
}

/*
 * An earlier entry for the same queue and reason, one count more, the
 * rest of it (its time, exchange, routing keys) as it was, as RabbitMQ.
 * compat: a missing count becomes 1 as there; one that is not an
 * integer, on which RabbitMQ's dead-lettering fails and the message is
 * lost, becomes 1 here too, and the largest long stays what it is.
 */
static void
write_counted_death(struct proto_writer *w, struct proto_table old)
{
	struct proto_table_iter it;
	struct proto_str key;
	struct proto_field f, c;
	int64_t n = 0;
	size_t t;

	if (!proto_table_get(old, "count", &c) || !proto_field_int(&c, &n))
		n = 0;
	proto_write_u8(w, PROTO_FIELD_TABLE);
	t = proto_table_begin(w);
	proto_table_put_i64(w, "count", n == INT64_MAX ? n : n + 1);
	proto_table_iter_init(&it, old);
	while (proto_table_next(&it, &key, &f)) {
		if (proto_str_eqc(key, "count"))
			continue;
		proto_write_shortstr(w, key);
		proto_field_write(w, &f);
	}
	proto_table_end(w, t);
}

static bool
is_first_death_key(struct proto_str key)
{
	return proto_str_eqc(key, "x-first-death-reason") ||
	    proto_str_eqc(key, "x-first-death-queue") ||
	    proto_str_eqc(key, "x-first-death-exchange");
}

/*
 * The new headers: the old ones but x-death (and CC when drop_cc), then
 * x-death with this death first, then x-first-death-* for a first death.
 * Fills d for the cycle check. Linear in the old headers.
 *
 * compat: RabbitMQ 3.10, for a client's own x-death: one that is no
 * array is replaced by this death alone; x-first-death-* are set, over
 * any a client sent, only when there was no x-death at all. A table in
 * the array missing a key, or with other types, is kept as it is; an
 * element that is no table is kept too (RabbitMQ's dead-lettering fails
 * on it and the message is lost). Later entries of this queue and reason
 * are merged into the first, as RabbitMQ groups them; other duplicates
 * are kept. The earlier entries keep their order, where RabbitMQ 3.10
 * and 3.12 reverse it whenever there are two or more.
 */
struct death_headers {
	const struct queue			*q;
	const struct msg			*m;
	const struct proto_basic_properties	*props;	/* as published */
	const struct route_keys			*rks;
	bool					 drop_cc;
	bool					 had;	/* an x-death */
	struct proto_table			 old;	/* its array */
	const char				*reason;
	uint64_t				 now;
	struct deaths				*d;
};

static void
death_headers_init(struct death_headers *h)
{
	struct proto_table headers = { NULL, 0 };
	struct proto_field xd;

	h->old = (struct proto_table){ NULL, 0 };
	if (h->props->flags & PROTO_BASIC_HEADERS_FLAG)
		headers = h->props->headers;
	if ((h->had = proto_table_get(headers, "x-death", &xd)) &&
	    xd.kind == PROTO_FIELD_ARRAY)
		h->old = xd.v.table;
}

/* The old headers that do not go on: msg_rewrite_headers' skip. */
static bool
death_headers_skip(struct proto_str key, void *arg)
{
	const struct death_headers *h = arg;

	return proto_str_eqc(key, "x-death") ||
	    (!h->had && is_first_death_key(key)) ||
	    (h->drop_cc && proto_str_eqc(key, "CC"));
}

/* x-death and x-first-death-*: msg_rewrite_headers' add. */
static void
death_headers_add(struct proto_writer *w, void *arg)
{
	struct death_headers *h = arg;
	const struct queue *q = h->q;
	struct proto_table_iter ai;
	struct proto_str qn = { (const uint8_t *)q->name, q->name_len };
	struct proto_str rn = proto_str_c(h->reason);
	struct proto_field f;
	struct deaths *d = h->d;
	bool counted = false;
	size_t a;

	proto_table_key(w, "x-death");
	proto_write_u8(w, PROTO_FIELD_ARRAY);
	a = proto_table_begin(w);
	/* This death first: an earlier one of the queue and reason, counted. */
	proto_table_iter_init(&ai, h->old);
	while (!counted && proto_array_next(&ai, &f))
		if (is_entry_of(&f, qn, rn)) {
			write_counted_death(w, f.v.table);
			counted = true;
		}
	if (!counted)
		write_new_death(w, q, h->m, h->props, h->rks, h->reason, h->now);
	d->queue[0] = qn;
	d->stop[0] = proto_str_eqc(rn, "rejected");
	d->n = 1;
	proto_table_iter_init(&ai, h->old);
	while (proto_array_next(&ai, &f)) {
		if (is_entry_of(&f, qn, rn))
			continue;	/* written first above */
		remember(d, &f);
		proto_field_write(w, &f);
	}
	proto_table_end(w, a);
	if (!h->had) {
		proto_table_put_longstr(w, "x-first-death-reason", h->reason);
		proto_table_key(w, "x-first-death-queue");
		proto_write_u8(w, PROTO_FIELD_LONGSTR);
		proto_write_longstr(w, qn);
		proto_table_key(w, "x-first-death-exchange");
		proto_write_u8(w, PROTO_FIELD_LONGSTR);
		proto_write_longstr(w, msg_exchange(h->m));
	}
}

void
dead_letter(struct queue *q, struct qentry *e, enum dead_reason why)
{
	const char *dlx;
	size_t dlx_len;

	/* Only a queue with a dead-letter exchange needs the body. */
	if (q->vh == NULL || !policy_queue_dlx(q, &dlx, &dlx_len))
		return;
	if (e->m == NULL && !persist_load(q, e))
		return;
	queue_dlx_msg(q, e->m, why);
}

void
queue_dlx_msg(struct queue *q, struct msg *m, enum dead_reason why)
{
	struct proto_basic_properties props, orig;
	struct death_headers dh;
	const char *dlx_name, *rk;
	size_t dlx_len, rk_len;
	struct route_result rr = { NULL, 0, 0 };
	struct route_keys mk, dk;
	struct deaths d = { .n = 0 };
	struct proto_str key;
	struct exchange *dlx;
	struct msg *dm;
	uint8_t *pbuf = NULL;
	size_t plen, n = 0;
	bool fixed_key;

	/* The queue's argument, else its policy's (server/policy.h). */
	if (q->vh == NULL || !policy_queue_dlx(q, &dlx_name, &dlx_len))
		return;
	/* compat: a dead-letter exchange that does not exist drops it. */
	if ((dlx = vhost_exchange(q->vh, (struct proto_str){
	    (const uint8_t *)dlx_name, dlx_len })) == NULL)
		return;
	if (msg_decode_props(m, &props) != 0)
		return;
	/*
	 * compat: RabbitMQ routes a dead letter by every key it was
	 * published with (CC and BCC included), or by the queue's
	 * x-dead-letter-routing-key alone, and then drops its CC header.
	 */
	msg_route_keys(m, &mk);
	dk = (struct route_keys){ .rk = mk.rk, .cc = mk.cc };
	if ((fixed_key = policy_queue_dlrk(q, &rk, &rk_len)))
		key = (struct proto_str){ (const uint8_t *)rk, rk_len };
	else
		key = msg_rk(m);
	/* The death's entry reads the properties as published. */
	orig = props;
	dh = (struct death_headers){ .q = q, .m = m, .props = &orig,
	    .rks = &dk, .drop_cc = fixed_key, .reason = reason_names[why],
	    .now = (uint64_t)ev_now(q->vh->b->loop), .d = &d };
	death_headers_init(&dh);
	props.flags &= ~PROTO_BASIC_EXPIRATION_FLAG;
	/* The old headers, the CC keys once more, names: all bounded. */
	if ((pbuf = msg_rewrite_headers(&props, m->props_len,
	    (size_t)m->props_len + 4096, death_headers_skip, death_headers_add,
	    &dh, &plen)) == NULL)
		goto nomem;
	if ((dm = msg_new_bcc((struct proto_str){ (const uint8_t *)dlx->name,
	    dlx->name_len }, key, (struct proto_str){ pbuf, plen },
	    fixed_key ? (struct proto_table){ NULL, 0 } : mk.bcc,
	    m->body_len)) == NULL)
		goto nomem;
	if (!msg_append(dm, m->body, m->body_len) ||
	    msg_decode_props(dm, NULL) != 0) {
		msg_unref(dm);
		goto nomem;
	}
	msg_route_keys(dm, &mk);
	exchange_route_keys(dlx, &mk, msg_headers(dm), &rr);
	for (size_t i = 0; i < rr.n; i++)
		if (!is_cycle(&d, rr.q[i]))
			rr.q[n++] = rr.q[i];
	if (n > 0 && vhost_enqueue(q->vh, rr.q, n, dm) == -1)
		log_warnx("dead-letter: out of memory enqueueing from '%s'",
		    q->name);
	msg_unref(dm);
	free(rr.q);
	free(pbuf);
	return;
nomem:
	log_warnx("dead-letter: cannot dead-letter a message of queue '%s'",
	    q->name);
	free(pbuf);
}
