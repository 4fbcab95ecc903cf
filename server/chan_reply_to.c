/* Direct reply-to: see chan_reply_to.h. */
#include "autoconf.h"

#include "server/chan_reply_to.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/table.h"
#include "server/broker.h"
#include "server/chan.h"
#include "server/conn.h"
#include "server/exchange.h"
#include "server/msg.h"
#include "server/vhost.h"

static bool
has_prefix(struct proto_str s, const char *prefix)
{
	size_t n = strlen(prefix);

	return s.len >= n && memcmp(s.p, prefix, n) == 0;
}

bool
reply_to_named(struct proto_str name)
{
	return proto_str_eqc(name, REPLY_TO_QUEUE) ||
	    has_prefix(name, REPLY_TO_PREFIX);
}

/* The live channel a token names in vh, or NULL. */
static struct chan *
lookup(struct broker *b, const struct vhost *vh, struct proto_str token)
{
	struct chan *ch = hmap_get(&b->reply_tos, token.p, token.len);

	/* A token is no capability in another tenant's vhost. */
	if (ch == NULL || ch->c->vh != vh || ch->state != CHAN_OPEN)
		return NULL;
	return ch;
}

int
reply_to_consume(struct chan *ch, const struct proto_basic_consume *m)
{
	struct proto_method ok = { .id = PROTO_BASIC_CONSUME_OK };
	char tag[256];
	size_t tag_len;

	if (!proto_str_eqc(m->queue, REPLY_TO_QUEUE))
		return chan_fail(ch, PROTO_NOT_FOUND, PROTO_BASIC_CONSUME,
		    "no queue '%.*s' in vhost '%s'", PSTR(m->queue),
		    ch->c->vh->name);
	/* compat: RabbitMQ's checks and words, in its order. */
	if (!m->no_ack)
		return chan_fail(ch, PROTO_PRECONDITION_FAILED,
		    PROTO_BASIC_CONSUME, "reply consumer cannot acknowledge");
	if (ch->reply_token_len != 0)
		return chan_fail(ch, PROTO_PRECONDITION_FAILED,
		    PROTO_BASIC_CONSUME, "reply consumer already set");
	if (m->consumer_tag.len == 0) {
		tag_len = chan_gen_name(ch, "amq.ctag-", tag, sizeof(tag));
	} else {
		memcpy(tag, m->consumer_tag.p, m->consumer_tag.len);
		tag_len = m->consumer_tag.len;
	}
	if (hmap_get(&ch->consumers, tag, tag_len) != NULL)
		return chan_fail(ch, PROTO_NOT_ALLOWED, PROTO_BASIC_CONSUME,
		    "attempt to reuse consumer tag '%.*s'", (int)tag_len, tag);
	ch->reply_token_len = (uint8_t)chan_gen_name(ch, REPLY_TO_PREFIX,
	    ch->reply_token, sizeof(ch->reply_token));
	hmap_put(&ch->c->b->reply_tos, ch->reply_token, ch->reply_token_len,
	    ch);
	memcpy(ch->reply_tag, tag, tag_len);
	ch->reply_tag_len = (uint8_t)tag_len;
	if (!m->no_wait) {
		ok.u.basic_consume_ok.consumer_tag = (struct proto_str){
		    (const uint8_t *)ch->reply_tag, ch->reply_tag_len };
		conn_send_method(ch->c, ch->id, &ok);
	}
	return 0;
}

void
reply_to_release(struct chan *ch)
{
	if (ch->reply_token_len == 0)
		return;
	hmap_del(&ch->c->b->reply_tos, ch->reply_token, ch->reply_token_len);
	ch->reply_token_len = 0;
	ch->reply_tag_len = 0;
}

bool
reply_to_cancel(struct chan *ch, struct proto_str tag)
{
	if (ch->reply_token_len == 0 || tag.len != ch->reply_tag_len ||
	    memcmp(tag.p, ch->reply_tag, tag.len) != 0)
		return false;
	reply_to_release(ch);
	return true;
}

int
reply_to_declare(struct chan *ch, const struct proto_queue_declare *m)
{
	struct proto_method ok = { .id = PROTO_QUEUE_DECLARE_OK };

	/*
	 * compat: RabbitMQ answers any declare of the pseudo-queue, and of
	 * a live token, with 0 messages and 1 consumer.
	 */
	if (!proto_str_eqc(m->queue, REPLY_TO_QUEUE) &&
	    lookup(ch->c->b, ch->c->vh, m->queue) == NULL)
		return chan_fail(ch, PROTO_NOT_FOUND, PROTO_QUEUE_DECLARE,
		    "no queue '%.*s' in vhost '%s'", PSTR(m->queue),
		    ch->c->vh->name);
	if (!m->no_wait) {
		ok.u.queue_declare_ok.queue = m->queue;
		ok.u.queue_declare_ok.message_count = 0;
		ok.u.queue_declare_ok.consumer_count = 1;
		conn_send_method(ch->c, ch->id, &ok);
	}
	return 0;
}

int
reply_to_rewrite(struct chan *ch, struct msg **mp)
{
	struct proto_basic_properties props;
	struct proto_writer w;
	struct msg *old = *mp, *m;
	uint8_t *buf;
	size_t cap;

	if (ch->reply_token_len == 0)
		return chan_fail(ch, PROTO_PRECONDITION_FAILED,
		    PROTO_BASIC_PUBLISH, "fast reply consumer does not exist");
	if (msg_decode_props(old, &props) != 0)
		return chan_fail(ch, PROTO_SYNTAX_ERROR, PROTO_BASIC_PUBLISH,
		    "malformed content properties");
	props.reply_to = (struct proto_str){
	    (const uint8_t *)ch->reply_token, ch->reply_token_len };
	cap = old->props_len + ch->reply_token_len + 16;
	if ((buf = malloc(cap)) == NULL)
		goto nomem;
	w = proto_writer(buf, cap);
	if (!proto_basic_properties_encode(&props, &w)) {
		free(buf);
		goto nomem;
	}
	m = msg_new(msg_exchange(old), msg_rk(old), (struct proto_str){ buf,
	    w.len }, old->body_len);
	free(buf);
	if (m == NULL)
		goto nomem;
	if (msg_decode_props(m, NULL) != 0) {
		msg_unref(m);
		goto nomem;
	}
	m->ttl_ms = old->ttl_ms;	/* parsed from expiration before */
	msg_unref(old);
	*mp = m;
	return 0;
nomem:
	return chan_fail(ch, PROTO_RESOURCE_ERROR, PROTO_BASIC_PUBLISH,
	    "out of memory");
}

bool
reply_to_deliver(struct chan *pub, struct msg *m, const struct route_keys *keys)
{
	struct proto_method d = { .id = PROTO_BASIC_DELIVER };
	uint64_t gen = ++pub->c->vh->route_gen;
	struct route_keys_iter it;
	struct proto_str key;
	bool delivered = false;
	struct chan *ch;

	exchange_keys_init(&it, keys);
	while (exchange_keys_next(&it, &key)) {
		if (!has_prefix(key, REPLY_TO_PREFIX) ||
		    (ch = lookup(pub->c->b, pub->c->vh, key)) == NULL ||
		    ch->reply_mark == gen)
			continue;
		ch->reply_mark = gen;	/* compat: once, as RabbitMQ's usort */
		/*
		 * No-ack and no queue: sent now, never stored, never
		 * redelivered; with the message's own routing key.
		 */
		d.u.basic_deliver.consumer_tag = (struct proto_str){
		    (const uint8_t *)ch->reply_tag, ch->reply_tag_len };
		d.u.basic_deliver.delivery_tag = ch->next_tag++;
		d.u.basic_deliver.redelivered = false;
		d.u.basic_deliver.exchange = msg_exchange(m);
		d.u.basic_deliver.routing_key = msg_rk(m);
		conn_send_content(ch->c, ch->id, &d, m->props, m->props_len,
		    m->body, m->body_len);
		delivered = true;
	}
	return delivered;
}

void
reply_to_free_all(struct broker *b)
{
	hmap_free(&b->reply_tos);
}
