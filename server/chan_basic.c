/* basic.* methods, content assembly for basic.publish, and confirm.select. */
#include "autoconf.h"

#include "server/chan.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/vec.h"
#include "lib/xmalloc.h"
#include "protocol/table.h"
#include "server/alarm.h"
#include "server/auth.h"
#include "server/broker.h"
#include "server/chan_reply_to.h"
#include "server/conn.h"
#include "server/exchange.h"
#include "server/msg.h"
#include "server/persist.h"
#include "server/queue_args.h"
#include "server/queue_dlx.h"
#include "server/queue_quorum.h"
#include "server/vhost.h"

static int
basic_qos(struct chan *ch, const struct proto_basic_qos *m)
{
	struct proto_method ok = { .id = PROTO_BASIC_QOS_OK };

	/*
	 * compat: RabbitMQ refuses a byte limit with a connection error
	 * (540) rather than ignoring it as the catalogue suggests; clients
	 * that work with it all send 0. global=false sets the limit for
	 * consumers created afterwards; global=true a limit shared by the
	 * whole channel (RabbitMQ's reading since 3.3).
	 */
	if (m->prefetch_size != 0)
		return chan_fail(ch, PROTO_NOT_IMPLEMENTED, PROTO_BASIC_QOS,
		    "prefetch_size!=0 (%" PRIu32 ")", m->prefetch_size);
	if (m->global) {
		ch->prefetch_channel = m->prefetch_count;
		for (struct consumer *cs = ch->consumer_list; cs; cs = cs->cnext)
			queue_wake(cs->q);
	} else {
		ch->prefetch_consumer = m->prefetch_count;
	}
	conn_send_method(ch->c, ch->id, &ok);
	return 0;
}

/* compat: the impersonator tag lets a user publish any user_id. */
static bool
user_impersonates(struct conn *c)
{
	struct user *u = auth_user(c->b, c->user, strlen(c->user));

	return u != NULL && (u->tag_bits & USER_TAG_IMPERSONATOR) != 0;
}

static int
basic_consume(struct chan *ch, const struct proto_basic_consume *m)
{
	struct proto_method ok = { .id = PROTO_BASIC_CONSUME_OK };
	struct proto_field prio;
	int64_t priority = 0;
	struct consumer *cs;
	struct queue *q;
	char tag[256];
	size_t tag_len;
	int rc;

	if (m->arguments.len && !proto_table_validate(m->arguments))
		return chan_fail(ch, PROTO_SYNTAX_ERROR, PROTO_BASIC_CONSUME,
		    "malformed arguments table");
	if (reply_to_named(m->queue))
		return reply_to_consume(ch, m);
	if ((rc = chan_find_queue(ch, m->queue, PERM_READ, PROTO_BASIC_CONSUME,
	    &q)) != 0)
		return rc;
	if (m->consumer_tag.len == 0) {
		tag_len = chan_gen_name(ch, "amq.ctag-", tag, sizeof(tag));
	} else {
		memcpy(tag, m->consumer_tag.p, m->consumer_tag.len);
		tag_len = m->consumer_tag.len;
	}
	if (hmap_get(&ch->consumers, tag, tag_len) != NULL ||
	    (ch->reply_token_len != 0 && tag_len == ch->reply_tag_len &&
	    memcmp(tag, ch->reply_tag, tag_len) == 0))
		return chan_fail(ch, PROTO_NOT_ALLOWED, PROTO_BASIC_CONSUME,
		    "attempt to reuse consumer tag '%.*s'", (int)tag_len, tag);
	if (ch->c->b->cfg.consumer_max_per_channel != 0 &&
	    ch->consumers.count >= ch->c->b->cfg.consumer_max_per_channel)
		return chan_fail(ch, PROTO_NOT_ALLOWED, PROTO_BASIC_CONSUME,
		    "reached maximum (%llu) of consumers per channel",
		    (unsigned long long)ch->c->b->cfg.consumer_max_per_channel);
	/* compat: RabbitMQ's check of x-priority, and its words. */
	if (proto_table_get(m->arguments, "x-priority", &prio) &&
	    !proto_field_int(&prio, &priority))
		return chan_fail(ch, PROTO_PRECONDITION_FAILED,
		    PROTO_BASIC_CONSUME, "invalid arg 'x-priority' for queue "
		    "'%s' in vhost '%s': \"expected integer, got %s\"",
		    q->name, q->vh->name, proto_field_kind_name(prio.kind));
	/* compat: RabbitMQ 3.10's quorum queues have no global QoS. */
	if (q->type == QUEUE_QUORUM && ch->prefetch_channel != 0)
		return chan_fail(ch, PROTO_NOT_IMPLEMENTED, PROTO_BASIC_CONSUME,
		    "queue '%s' in vhost '%s' does not support global qos",
		    q->name, q->vh->name);
	/*
	 * compat: RabbitMQ 3.10 refuses an exclusive consumer on a classic
	 * single-active-consumer queue even when it has no consumers.
	 */
	if ((m->exclusive && (q->nconsumers > 0 ||
	    (q->sac && q->type != QUEUE_QUORUM))) ||
	    (q->consumers != NULL && q->consumers->exclusive))
		return chan_fail(ch, PROTO_ACCESS_REFUSED, PROTO_BASIC_CONSUME,
		    "queue '%s' in vhost '%s' in exclusive use", q->name,
		    q->vh->name);
	cs = xcalloc(1, sizeof(*cs));
	memcpy(cs->tag, tag, tag_len);
	cs->tag_len = (uint8_t)tag_len;
	cs->ch = ch;
	cs->q = q;
	cs->no_ack = m->no_ack;
	cs->exclusive = m->exclusive;
	cs->priority = priority;
	cs->prefetch = ch->prefetch_consumer;
	hmap_put(&ch->consumers, cs->tag, cs->tag_len, cs);
	cs->cnext = ch->consumer_list;
	ch->consumer_list = cs;
	ch->c->nconsumers++;
	/* consume-ok goes out now; deliveries follow in the prepare step. */
	if (!m->no_wait) {
		ok.u.basic_consume_ok.consumer_tag = (struct proto_str){
		    (const uint8_t *)cs->tag, cs->tag_len };
		conn_send_method(ch->c, ch->id, &ok);
	}
	queue_add_consumer(q, cs);
	return 0;
}

static int
basic_cancel(struct chan *ch, const struct proto_basic_cancel *m)
{
	struct proto_method ok = { .id = PROTO_BASIC_CANCEL_OK };
	struct consumer *cs;

	/* compat: cancelling an unknown tag is not an error in RabbitMQ. */
	cs = hmap_get(&ch->consumers, m->consumer_tag.p, m->consumer_tag.len);
	if (cs == NULL)
		reply_to_cancel(ch, m->consumer_tag);
	if (!m->no_wait) {
		ok.u.basic_cancel_ok.consumer_tag = m->consumer_tag;
		conn_send_method(ch->c, ch->id, &ok);
	}
	if (cs != NULL)
		chan_remove_consumer(ch, cs);
	return 0;
}

static int
basic_get(struct chan *ch, const struct proto_basic_get *m)
{
	struct proto_method r = { .id = PROTO_BASIC_GET_OK };
	struct queue *q;
	struct qentry e;
	const uint8_t *props;
	uint8_t *pbuf;
	size_t plen;
	uint64_t tag;
	bool sent;
	int rc;

	if ((rc = chan_find_queue(ch, m->queue, PERM_READ, PROTO_BASIC_GET,
	    &q)) != 0)
		return rc;
	queue_lease_touch(q);	/* compat: basic.get renews x-expires */
	if (!queue_take(q, &e)) {
		q->stats.v[STAT_GET_EMPTY]++;
		chan_count_q(ch, q, STAT_GET_EMPTY, 1);
		r.id = PROTO_BASIC_GET_EMPTY;
		conn_send_method(ch->c, ch->id, &r);
		return 0;
	}
	tag = ch->next_tag++;
	r.u.basic_get_ok.delivery_tag = tag;
	r.u.basic_get_ok.redelivered = e.deliveries > 0;
	r.u.basic_get_ok.exchange = msg_exchange(e.m);
	r.u.basic_get_ok.routing_key = msg_rk(e.m);
	r.u.basic_get_ok.message_count = (uint32_t)queue_ready(q);
	sent = quorum_delivery_props(q, &e, true, &props, &plen, &pbuf) &&
	    conn_send_content(ch->c, ch->id, &r, props, plen, e.m->body,
	    e.m->body_len);
	free(pbuf);
	if (sent && e.deliveries > 0) {
		q->stats.v[STAT_REDELIVER]++;
		chan_count_q(ch, q, STAT_REDELIVER, 1);
	}
	e.deliveries++;
	if (!sent) {
		queue_requeue(q, &e);
		return 0;
	}
	q->stats.v[m->no_ack ? STAT_GET_NO_ACK : STAT_GET]++;
	chan_count_q(ch, q, m->no_ack ? STAT_GET_NO_ACK : STAT_GET, 1);
	if (m->no_ack) {
		persist_entry_gone(q, &e);	/* no-ack: delivered is done */
		msg_unref(e.m);
	} else if (persist_delivered(q, &e), chan_track_get(ch, q, &e,
	    tag) == -1) {
		queue_requeue(q, &e);
		return chan_fail(ch, PROTO_RESOURCE_ERROR, PROTO_BASIC_GET,
		    "out of memory");
	}
	return 0;
}

static int
settle(struct chan *ch, uint64_t tag, bool multiple, bool ack, bool requeue,
    uint32_t method_id)
{
	struct tx_settle *t;

	if (!ch->tx)
		return chan_settle(ch, tag, multiple, ack, requeue, method_id);
	/* Held until tx.commit; rollback forgets it. */
	if (vec_grow(&ch->tx_settles, &ch->tx_settles_cap,
	    ch->tx_nsettles + 1, sizeof(*t), 16) == -1)
		return chan_fail(ch, PROTO_RESOURCE_ERROR, method_id,
		    "out of memory");
	t = &ch->tx_settles[ch->tx_nsettles++];
	t->tag = tag;
	t->multiple = multiple;
	t->ack = ack;
	t->requeue = requeue;
	return 0;
}

static int
basic_recover(struct chan *ch, bool requeue, bool reply)
{
	struct proto_method ok = { .id = PROTO_BASIC_RECOVER_OK };

	/*
	 * compat: RabbitMQ requeues for both values of requeue; the message
	 * comes back with redelivered set, possibly to another consumer.
	 */
	chan_requeue_all(ch);
	if (reply)
		conn_send_method(ch->c, ch->id, &ok);
	return 0;
}

static int
confirm_select(struct chan *ch, const struct proto_confirm_select *m)
{
	struct proto_method ok = { .id = PROTO_CONFIRM_SELECT_OK };

	if (ch->tx)
		return chan_fail(ch, PROTO_PRECONDITION_FAILED,
		    PROTO_CONFIRM_SELECT, "cannot switch from tx to confirm mode");
	ch->confirm = true;
	if (!m->nowait)
		conn_send_method(ch->c, ch->id, &ok);
	return 0;
}

/*
 * The exchange of that name in the channel's vhost. The last one found is
 * kept while no exchange has been freed since (broker's exchange_gen), so
 * publishing to one exchange in a loop hashes no name: the method and the
 * routing each looked it up before.
 */
static struct exchange *
pub_exchange(struct chan *ch, struct proto_str name)
{
	struct broker *b = ch->c->b;
	struct exchange *ex = ch->pub_ex;

	if (ex != NULL && ch->pub_ex_gen == b->exchange_gen &&
	    ex->name_len == name.len &&
	    (name.len == 0 || memcmp(ex->name, name.p, name.len) == 0))
		return ex;
	if ((ex = vhost_exchange(ch->c->vh, name)) != NULL) {
		ch->pub_ex = ex;
		ch->pub_ex_gen = b->exchange_gen;
	}
	return ex;
}

static int
basic_publish(struct chan *ch, const struct proto_basic_publish *m)
{
	struct exchange *ex;

	/*
	 * Its content follows even when the publish is refused below: the
	 * closing channel skips it (chan_on_frame).
	 */
	proto_content_start(&ch->content, PROTO_CLASS_BASIC);
	if (m->immediate)
		return chan_fail(ch, PROTO_NOT_IMPLEMENTED, PROTO_BASIC_PUBLISH,
		    "immediate=true");
	/*
	 * The write check comes before the lookup, as in rabbit_channel, so
	 * that a 404 tells nothing about names the user may not write to.
	 * It is cached per channel for the last exchange, until any user or
	 * permission changes: publishing to one exchange in a loop costs no
	 * regex match per message.
	 */
	if (!ch->pub_perm_ok || ch->pub_perm_gen != ch->c->b->auth_gen ||
	    ch->pub_exchange_len != m->exchange.len ||
	    memcmp(ch->pub_exchange, m->exchange.p, m->exchange.len) != 0) {
		int rc = chan_check_access(ch, PERM_WRITE, "exchange",
		    m->exchange, PROTO_BASIC_PUBLISH);

		if (rc != 0)
			return rc;
		ch->pub_perm_ok = true;
		ch->pub_perm_gen = ch->c->b->auth_gen;
	}
	if ((ex = pub_exchange(ch, m->exchange)) == NULL)
		return chan_fail(ch, PROTO_NOT_FOUND, PROTO_BASIC_PUBLISH,
		    "no exchange '%.*s' in vhost '%s'", PSTR(m->exchange),
		    ch->c->vh->name);
	if (ex->internal)
		return chan_fail(ch, PROTO_ACCESS_REFUSED, PROTO_BASIC_PUBLISH,
		    "cannot publish to internal exchange '%s' in vhost '%s'",
		    ex->name, ch->c->vh->name);
	if (ex->kind == EXCHANGE_TOPIC) {
		int rc = chan_check_topic(ch, ex, PERM_WRITE, m->routing_key,
		    PROTO_BASIC_PUBLISH);

		if (rc != 0)
			return rc;
	}
	/*
	 * compat: during a resource alarm a publishing connection is blocked
	 * and no longer read; this publish completes when it is unblocked.
	 */
	if (alarm_active(ch->c->b)) {
		alarm_block(ch->c);
		conn_pause_reading(ch->c);
	}
	memcpy(ch->pub_exchange, m->exchange.p, m->exchange.len);
	ch->pub_exchange_len = (uint8_t)m->exchange.len;
	memcpy(ch->pub_rk, m->routing_key.p, m->routing_key.len);
	ch->pub_rk_len = (uint8_t)m->routing_key.len;
	ch->pub_mandatory = m->mandatory;
	return 0;
}

int
chan_basic_method(struct chan *ch, const struct proto_method *m)
{
	switch (m->id) {
	case PROTO_BASIC_QOS:
		return basic_qos(ch, &m->u.basic_qos);
	case PROTO_BASIC_CONSUME:
		return basic_consume(ch, &m->u.basic_consume);
	case PROTO_BASIC_CANCEL:
		return basic_cancel(ch, &m->u.basic_cancel);
	case PROTO_BASIC_PUBLISH:
		return basic_publish(ch, &m->u.basic_publish);
	case PROTO_BASIC_GET:
		return basic_get(ch, &m->u.basic_get);
	case PROTO_BASIC_ACK:
		return settle(ch, m->u.basic_ack.delivery_tag,
		    m->u.basic_ack.multiple, true, false, m->id);
	case PROTO_BASIC_NACK:
		return settle(ch, m->u.basic_nack.delivery_tag,
		    m->u.basic_nack.multiple, false, m->u.basic_nack.requeue,
		    m->id);
	case PROTO_BASIC_REJECT:
		return settle(ch, m->u.basic_reject.delivery_tag, false, false,
		    m->u.basic_reject.requeue, m->id);
	case PROTO_BASIC_RECOVER:
		return basic_recover(ch, m->u.basic_recover.requeue, true);
	case PROTO_BASIC_RECOVER_ASYNC:
		return basic_recover(ch, m->u.basic_recover_async.requeue, false);
	case PROTO_CONFIRM_SELECT:
		return confirm_select(ch, &m->u.confirm_select);
	default:
		return chan_fail(ch, PROTO_NOT_IMPLEMENTED, m->id,
		    "%s is not implemented", proto_method_info(m->id)->name);
	}
}

/* ---- publishing -------------------------------------------------------- */

int
chan_route_publish(struct chan *ch, struct msg *m, bool mandatory)
{
	struct vhost *vh = ch->c->vh;
	struct route_result *rr = &ch->c->b->route;
	struct route_keys keys;
	struct exchange *ex;
	uint64_t seq = ch->confirm ? ++ch->pub_seq : 0;
	bool failed = false, delivered = false, refused = false;

	if ((ex = pub_exchange(ch, msg_exchange(m))) == NULL)
		return chan_fail(ch, PROTO_NOT_FOUND, PROTO_BASIC_PUBLISH,
		    "no exchange '%.*s' in vhost '%s'", PSTR(msg_exchange(m)),
		    vh->name);
	chan_count_ex(ch, ex, STAT_PUBLISH, 1);
	stats_msg_size_observe(&ch->c->b->stats.msg_size, m->body_len);
	if (seq != 0)
		ch->c->b->stats.msg.v[STAT_RECEIVED_CONFIRM]++;
	if (vhost_publish(vh, ex, m, rr, &refused) == -1)
		failed = true;
	/*
	 * Direct replies: any key of a message to the default exchange may
	 * name a reply channel (no queue has such a name).
	 */
	if (ex->name_len == 0) {
		msg_route_keys(m, &keys);
		delivered = reply_to_deliver(ch, m, &keys);
	}
	/* vhost_publish counted what reached queues. */
	if (rr->n == 0 && delivered) {
		ex->stats.v[STAT_PUBLISH_OUT]++;
		ch->c->b->stats.msg.v[STAT_ROUTED]++;
	} else if (rr->n == 0 && !refused)
		chan_count_ex(ch, ex, mandatory ? STAT_RETURN_UNROUTABLE :
		    STAT_DROP_UNROUTABLE, 1);
	for (size_t i = 0; i < rr->n; i++) {
		struct queue *q = rr->q[i];

		stats_pair_count(&ch->objs, q, ex);
		if (queue_ready(q) > QUEUE_FLOW_HIGH &&
		    queue_consumers_active(q))
			conn_flow_pause(ch->c, q);
	}
	if (rr->n == 0 && !delivered && !refused && mandatory) {
		struct proto_method r = { .id = PROTO_BASIC_RETURN };

		/* spec: unroutable mandatory messages come back, 312 NO_ROUTE. */
		r.u.basic_return.reply_code = PROTO_NO_ROUTE;
		r.u.basic_return.reply_text = proto_str_c("NO_ROUTE");
		r.u.basic_return.exchange = msg_exchange(m);
		r.u.basic_return.routing_key = msg_rk(m);
		conn_send_content(ch->c, ch->id, &r, m->props, m->props_len,
		    m->body, m->body_len);
	}
	if (seq != 0) {
		if (failed || refused)
			chan_confirm_refused(ch, seq);
		else {
			stats_obj_unconfirmed(ch->objs.ex, ex);
			broker_wake_chan(ch->c->b, ch);
		}
	}
	return 0;
}

static int
tx_hold(struct chan *ch, struct msg *m, bool mandatory)
{
	if (vec_grow(&ch->tx_pubs, &ch->tx_pubs_cap, ch->tx_npubs + 1,
	    sizeof(*ch->tx_pubs), 16) == -1) {
		msg_unref(m);
		return chan_fail(ch, PROTO_RESOURCE_ERROR,
		    PROTO_BASIC_PUBLISH, "out of memory");
	}
	ch->tx_pubs[ch->tx_npubs].m = m;	/* the transaction owns it now */
	ch->tx_pubs[ch->tx_npubs++].mandatory = mandatory;
	return 0;
}

static int
publish_complete(struct chan *ch)
{
	struct msg *m = ch->pub_msg;
	int rc;

	ch->pub_msg = NULL;
	conn_content_end(ch->c, m->body_len);
	if (ch->tx)
		return tx_hold(ch, m, ch->pub_mandatory);
	rc = chan_route_publish(ch, m, ch->pub_mandatory);
	msg_unref(m);
	return rc;
}

/*
 * compat: every CC and BCC key of a message to a topic exchange meets the
 * user's topic write permission, like the routing key (basic_publish):
 * they route it too. RabbitMQ checks them since 4.0.3; 3.10 checks only
 * the routing key, so its topic permissions can be bypassed with CC.
 */
static int
check_topic_cc(struct chan *ch, const struct msg *m)
{
	struct route_keys_iter it;
	struct route_keys keys;
	struct exchange *ex;
	struct proto_str key;
	int rc;

	ex = vhost_exchange(ch->c->vh, msg_exchange(m));
	if (ex == NULL || ex->kind != EXCHANGE_TOPIC)
		return 0;	/* a vanished exchange: routing says 404 */
	msg_route_keys(m, &keys);
	exchange_keys_init(&it, &keys);
	exchange_keys_next(&it, &key);	/* the routing key: checked */
	while (exchange_keys_next(&it, &key))
		if ((rc = chan_check_topic(ch, ex, PERM_WRITE, key,
		    PROTO_BASIC_PUBLISH)) != 0)
			return rc;
	return 0;
}

static int
content_header(struct chan *ch, const struct proto_content_event *ev)
{
	struct proto_basic_properties props;
	struct proto_str raw = ev->props;
	uint64_t max = ch->c->b->cfg.max_message_size;
	struct msg *m;
	char why[96];
	int rc;

	/* Refused before anything is allocated for the body. */
	if (ev->body_size > max)
		return chan_fail(ch, PROTO_PRECONDITION_FAILED,
		    PROTO_BASIC_PUBLISH,
		    "message size %llu is larger than configured max size %llu",
		    (unsigned long long)ev->body_size, (unsigned long long)max);
	m = msg_new((struct proto_str){ (const uint8_t *)ch->pub_exchange,
	    ch->pub_exchange_len }, (struct proto_str){
	    (const uint8_t *)ch->pub_rk, ch->pub_rk_len }, raw, ev->body_size);
	if (m == NULL)
		return chan_fail(ch, PROTO_RESOURCE_ERROR, PROTO_BASIC_PUBLISH,
		    "out of memory for a %llu-byte message",
		    (unsigned long long)ev->body_size);
	/* From here on every refusal goes through fail: the reply texts
	 * quote the properties, which live in m. */
	if (msg_decode_props(m, &props) != 0) {
		rc = chan_fail(ch, PROTO_SYNTAX_ERROR, PROTO_BASIC_PUBLISH,
		    "malformed content properties");
		goto fail;
	}
	/* compat: RabbitMQ 3.10 takes only 1 and 2, as a channel error. */
	if ((props.flags & PROTO_BASIC_DELIVERY_MODE_FLAG) &&
	    props.delivery_mode != 1 && props.delivery_mode != 2) {
		rc = chan_fail(ch, PROTO_PRECONDITION_FAILED,
		    PROTO_BASIC_PUBLISH, "invalid message: "
		    "{delivery_mode_unknown,%u}", (unsigned)props.delivery_mode);
		goto fail;
	}
	if ((props.flags & PROTO_BASIC_USER_ID_FLAG) &&
	    !proto_str_eqc(props.user_id, ch->c->user) &&
	    !user_impersonates(ch->c)) {
		rc = chan_fail(ch, PROTO_PRECONDITION_FAILED,
		    PROTO_BASIC_PUBLISH, "user_id property set to '%.*s' but "
		    "authenticated user was '%s'", PSTR(props.user_id),
		    ch->c->user);
		goto fail;
	}
	if ((props.flags & PROTO_BASIC_EXPIRATION_FLAG) &&
	    msg_parse_expiration(props.expiration, &m->ttl_ms, why,
	    sizeof(why)) == -1) {
		rc = chan_fail(ch, PROTO_PRECONDITION_FAILED,
		    PROTO_BASIC_PUBLISH, "invalid expiration '%.*s': %s",
		    PSTR(props.expiration), why);
		goto fail;
	}
	if ((props.flags & PROTO_BASIC_REPLY_TO_FLAG) &&
	    proto_str_eqc(props.reply_to, REPLY_TO_QUEUE) &&
	    (rc = reply_to_rewrite(ch, &m)) != 0)
		goto fail;
	if (m->headers_len != 0) {
		/* compat: rabbit_basic:message/3, after the checks above. */
		if (msg_check_cc(msg_headers(m), why, sizeof(why)) == -1) {
			rc = chan_fail(ch, PROTO_PRECONDITION_FAILED,
			    PROTO_BASIC_PUBLISH, "invalid message: %s", why);
			goto fail;
		}
		/* The headers are the client's, so this stays recoverable. */
		if (msg_strip_bcc(&m) == -1) {
			rc = chan_fail(ch, PROTO_RESOURCE_ERROR,
			    PROTO_BASIC_PUBLISH, "out of memory");
			goto fail;
		}
		if ((rc = check_topic_cc(ch, m)) != 0)
			goto fail;
	}
	ch->pub_msg = m;
	conn_content_begin(ch->c, m->body_len);
	return 0;

fail:
	msg_unref(m);
	return rc;
}

int
chan_content_frame(struct chan *ch, const struct proto_frame *f)
{
	struct proto_content_event ev;
	const char *why;
	int rc;

	if ((rc = proto_content_frame(&ch->content, f, &ev, &why)) != 0)
		return chan_fail(ch, (uint16_t)rc, 0, "%s", why);
	if (ev.header && (rc = content_header(ch, &ev)) != 0)
		return rc;
	if (!ev.header && !msg_append(ch->pub_msg, f->payload, f->size))
		return chan_fail(ch, PROTO_INTERNAL_ERROR, PROTO_BASIC_PUBLISH,
		    "content body does not fit its message");
	return ev.complete ? publish_complete(ch) : 0;
}
