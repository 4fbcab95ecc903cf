#include "autoconf.h"

#include "server/chan.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "server/auth.h"
#include "server/broker.h"
#include "server/chan_reply_to.h"
#include "server/conn.h"
#include "server/exchange.h"
#include "server/msg.h"
#include "server/names.h"
#include "server/persist.h"
#include "server/queue_dlx.h"
#include "server/queue_quorum.h"
#include "server/vhost.h"

struct chan *
chan_new(struct conn *c, uint16_t id)
{
	struct chan *ch;

	ch = xcalloc(1, sizeof(*ch));
	c->b->churn.channel_created++;
	ch->c = c;
	ch->id = id;
	ch->state = CHAN_OPEN;
	ch->flow = true;
	ch->next_tag = 1;
	hmap_init(&ch->consumers);
	chan_timeout_init(ch);
	return ch;
}

void
chan_count(struct chan *ch, enum msg_stat s, uint64_t n)
{
	struct conn *c = ch->c;

	ch->stats.v[s] += n;
	if (c->vh != NULL)
		c->vh->stats.v[s] += n;
	c->b->stats.msg.v[s] += n;
}

void
chan_count_ex(struct chan *ch, struct exchange *ex, enum msg_stat s,
    uint64_t n)
{
	chan_count(ch, s, n);
	stats_ex_count(&ch->objs, ex, s, n);
}

void
chan_count_q(struct chan *ch, struct queue *q, enum msg_stat s, uint64_t n)
{
	chan_count(ch, s, n);
	stats_q_count(&ch->objs, q, s, n);
}

static void
consumer_detach(struct chan *ch, struct consumer *cs)
{
	struct consumer **pp;

	for (pp = &ch->consumer_list; *pp != NULL; pp = &(*pp)->cnext)
		if (*pp == cs) {
			*pp = cs->cnext;
			break;
		}
	hmap_del(&ch->consumers, cs->tag, cs->tag_len);
	queue_remove_consumer(cs->q, cs);
	ch->c->nconsumers--;
	/* Deliveries made to it stay unacked on the channel, ownerless. */
	for (size_t i = 0; i < ch->ua_len; i++) {
		struct unacked *u = &ch->unacked[(ch->ua_head + i) &
		    (ch->ua_cap - 1)];

		if (u->c == cs)
			u->c = NULL;
	}
}

void
chan_remove_consumer(struct chan *ch, struct consumer *cs)
{
	struct queue *q = cs->q;

	consumer_detach(ch, cs);
	free(cs);
	/* compat: an auto-delete queue goes when its last consumer does. */
	if (q->auto_delete && q->nconsumers == 0 && !q->deleted)
		vhost_delete_queue(q->vh, q);
}

void
chan_consumer_cancelled(struct chan *ch, struct consumer *cs)
{
	struct proto_method m = { .id = PROTO_BASIC_CANCEL };

	/* spec ext: consumer_cancel_notify, RabbitMQ's basic.cancel to clients. */
	if (ch->c->cap_cancel_notify && ch->state == CHAN_OPEN) {
		m.u.basic_cancel.consumer_tag = (struct proto_str){
		    (const uint8_t *)cs->tag, cs->tag_len };
		m.u.basic_cancel.no_wait = true;
		conn_send_method(ch->c, ch->id, &m);
	}
	consumer_detach(ch, cs);
	free(cs);
}

/* Releases what the channel holds; it stays allocated until close-ok. */
static void
chan_release(struct chan *ch)
{
	while (ch->consumer_list != NULL)
		chan_remove_consumer(ch, ch->consumer_list);
	reply_to_release(ch);
	chan_requeue_all(ch);
	chan_timeout_stop(ch);
	if (ch->pub_msg != NULL)
		conn_content_end(ch->c, ch->pub_msg->body_len);
	msg_unref(ch->pub_msg);
	ch->pub_msg = NULL;
	proto_content_reset(&ch->content);
	for (size_t i = 0; i < ch->tx_npubs; i++)
		msg_unref(ch->tx_pubs[i].m);
	ch->tx_npubs = 0;
	ch->tx_nsettles = 0;
	if (ch->tx_commit_owed) {
		ch->tx_commit_owed = false;
		ch->c->commit_wait = false;
	}
}

void
chan_free(struct chan *ch)
{
	struct broker *b = ch->c->b;

	chan_release(ch);
	stats_chan_release(&ch->objs);
	b->churn.channel_closed++;
	if (ch->dirty)
		for (size_t i = 0; i < b->dirty_chans.n; i++)
			if (b->dirty_chans.v[i] == ch)
				b->dirty_chans.v[i] = NULL;
	hmap_free(&ch->consumers);
	free(ch->unacked);
	free(ch->tx_pubs);
	free(ch->tx_settles);
	free(ch->refused);
	rate_ring_free(&ch->rates);
	free(ch);
}

static void
chan_vfail(struct chan *ch, uint16_t code, uint32_t method_id,
    const char *fmt, va_list ap)
{
	struct proto_method m = { .id = PROTO_CHANNEL_CLOSE };
	struct proto_content ct;
	char text[256];
	int n;

	n = snprintf(text, sizeof(text), "%s - ", proto_reply_name(code) ?
	    proto_reply_name(code) : "ERROR");
	if (n > 0 && (size_t)n < sizeof(text))
		vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
	if (proto_reply_is_hard(code)) {
		conn_fail(ch->c, code, method_id, "%s", text + n);
		return;
	}
	log_info("conn %s: channel %u error: %s", ch->c->name, ch->id, text);
	m.u.channel_close.reply_code = code;
	m.u.channel_close.reply_text = proto_str_c(text);
	m.u.channel_close.class_id = (uint16_t)(method_id >> 16);
	m.u.channel_close.method_id = (uint16_t)method_id;
	conn_send_method(ch->c, ch->id, &m);
	ch->state = CHAN_CLOSING;
	/*
	 * The rest of a content already under way still arrives, and must
	 * be skipped as such (chan_on_frame), so its assembly state stays.
	 */
	ct = ch->content;
	chan_release(ch);
	ch->content = ct;
}

int
chan_fail(struct chan *ch, uint16_t code, uint32_t method_id, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	chan_vfail(ch, code, method_id, fmt, ap);
	va_end(ap);
	return code;
}

static void
chan_closed(struct chan *ch)
{
	struct conn *c = ch->c;

	c->chans[ch->id] = NULL;
	c->nchans--;
	chan_free(ch);
}

static int
on_channel_method(struct chan *ch, const struct proto_method *m)
{
	struct proto_method r = { 0 };

	switch (m->id) {
	case PROTO_CHANNEL_OPEN:
		return chan_fail(ch, PROTO_CHANNEL_ERROR, m->id,
		    "second 'channel.open' seen");
	case PROTO_CHANNEL_CLOSE:
		r.id = PROTO_CHANNEL_CLOSE_OK;
		conn_send_method(ch->c, ch->id, &r);
		chan_closed(ch);
		return 0;
	case PROTO_CHANNEL_FLOW:
		/* compat: RabbitMQ 3.10 refuses a client's flow=false. */
		if (!m->u.channel_flow.active)
			return chan_fail(ch, PROTO_NOT_IMPLEMENTED, m->id,
			    "active=false");
		ch->flow = true;
		r.id = PROTO_CHANNEL_FLOW_OK;
		r.u.channel_flow_ok.active = ch->flow;
		conn_send_method(ch->c, ch->id, &r);
		if (ch->flow)
			for (struct consumer *cs = ch->consumer_list; cs;
			    cs = cs->cnext)
				queue_wake(cs->q);
		return 0;
	case PROTO_CHANNEL_FLOW_OK:
		return 0;	/* we never send channel.flow */
	case PROTO_CHANNEL_CLOSE_OK:
	default:
		/* compat: RabbitMQ 3.10's words for a close-ok out of turn. */
		return chan_fail(ch, PROTO_COMMAND_INVALID, m->id,
		    "unimplemented method");
	}
}

/* A header or body on a closing channel: checked for order, then dropped. */
static int
closing_content_frame(struct chan *ch, const struct proto_frame *f)
{
	struct proto_content_event ev;
	const char *why;
	int rc;

	if ((rc = proto_content_frame(&ch->content, f, &ev, &why)) != 0)
		return chan_fail(ch, (uint16_t)rc, 0, "%s", why);
	return 0;
}

int
chan_on_frame(struct chan *ch, const struct proto_frame *f,
    const struct proto_method *m)
{
	const struct proto_method_info *info;
	const char *why;
	int rc;

	if (m == NULL)
		return ch->state == CHAN_CLOSING ?
		    closing_content_frame(ch, f) : chan_content_frame(ch, f);
	/*
	 * compat: a method where a header or body is due is a 505 naming the
	 * content method, as RabbitMQ 3.10 does (basic.publish: the only one
	 * a client sends). RabbitMQ assembles content before the channel
	 * sees it, so this holds on a closing channel too.
	 */
	if ((rc = proto_content_method_ok(&ch->content, &why)) != 0)
		return chan_fail(ch, (uint16_t)rc, PROTO_BASIC_PUBLISH, "%s",
		    why);
	if (ch->state == CHAN_CLOSING) {
		/*
		 * spec: after channel.close, discard all but close/close-ok.
		 * A client close that crossed ours is answered, but the
		 * channel waits for the close-ok to our close all the same:
		 * the client sends it, and it must not land on an unknown
		 * channel (a connection error). compat: RabbitMQ 3.10 does
		 * the same, refuses a channel.open on the closing channel
		 * with 504 "second 'channel.open' seen" (a connection error),
		 * and still expects the content of a dropped publish.
		 */
		if (proto_method_info(m->id)->content)
			proto_content_start(&ch->content,
			    (uint16_t)(m->id >> 16));
		if (m->id == PROTO_CHANNEL_CLOSE_OK) {
			chan_closed(ch);
		} else if (m->id == PROTO_CHANNEL_CLOSE) {
			struct proto_method ok = { .id = PROTO_CHANNEL_CLOSE_OK };

			conn_send_method(ch->c, ch->id, &ok);
		} else if (m->id == PROTO_CHANNEL_OPEN) {
			return chan_fail(ch, PROTO_CHANNEL_ERROR, m->id,
			    "second 'channel.open' seen");
		}
		return 0;
	}
	/*
	 * compat: RabbitMQ 3.10's channel knows no connection method, even
	 * those a client may send on channel 0 (update-secret).
	 */
	if ((m->id >> 16) == PROTO_CLASS_CONNECTION)
		return chan_fail(ch, PROTO_COMMAND_INVALID, m->id,
		    "unimplemented method");
	info = proto_method_info(m->id);
	if (!info->to_server)
		return chan_fail(ch, PROTO_COMMAND_INVALID, m->id,
		    "%s is not a method a client sends", info->name);
	switch (m->id >> 16) {
	case PROTO_CLASS_CHANNEL:
		return on_channel_method(ch, m);
	case PROTO_CLASS_EXCHANGE:
	case PROTO_CLASS_QUEUE: {
		struct proto_method	named = *m;
		uint8_t			bufs[2][256];

		names_strip_crlf(&named, bufs);
		return (m->id >> 16) == PROTO_CLASS_EXCHANGE ?
		    chan_exchange_method(ch, &named) :
		    chan_queue_method(ch, &named);
	}
	case PROTO_CLASS_BASIC:
	case PROTO_CLASS_CONFIRM:
		return chan_basic_method(ch, m);
	case PROTO_CLASS_TX:
		return chan_tx_method(ch, m);
	default:
		return chan_fail(ch, PROTO_CHANNEL_ERROR, m->id,
		    "unexpected method in connection state running");
	}
}

int
chan_check_access(struct chan *ch, int kind, const char *what,
    struct proto_str name, uint32_t method_id)
{
	struct conn *c = ch->c;

	if (auth_can(auth_user(c->b, c->user, strlen(c->user)), c->vh->name,
	    (enum perm_kind)kind, name))
		return 0;
	if (name.len == 0)
		name = proto_str_c("amq.default");
	return chan_fail(ch, PROTO_ACCESS_REFUSED, method_id,
	    "access to %s '%.*s' in vhost '%s' refused for user '%s'", what,
	    PSTR(name), c->vh->name, c->user);
}

int
chan_check_topic(struct chan *ch, const struct exchange *ex, int kind,
    struct proto_str key, uint32_t method_id)
{
	struct conn *c = ch->c;

	if (ex->kind != EXCHANGE_TOPIC || auth_topic_can(auth_user(c->b,
	    c->user, strlen(c->user)), c->vh->name, (struct proto_str){
	    (const uint8_t *)ex->name, ex->name_len }, (enum perm_kind)kind,
	    key))
		return 0;
	/*
	 * compat: RabbitMQ 3.10's wording (the reference anchor); later
	 * releases put "write " or "read " in front.
	 */
	return chan_fail(ch, PROTO_ACCESS_REFUSED, method_id,
	    "access to topic '%.*s' in exchange '%s' in vhost '%s' refused "
	    "for user '%s'", PSTR(key), ex->name, c->vh->name, c->user);
}

size_t
chan_gen_name(struct chan *ch, const char *prefix, char *buf, size_t len)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t rnd[22];
	size_t n;
	int w;

	/* compat: RabbitMQ's amq.gen-/amq.ctag- plus 22 url-safe characters. */
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		uint64_t x = ++ch->c->b->next_name_id ^ (uint64_t)(uintptr_t)ch;

		for (size_t i = 0; i < sizeof(rnd); i++, x = x * 6364136223846793005ULL + 1)
			rnd[i] = (uint8_t)(x >> 56);
	}
	w = snprintf(buf, len, "%s", prefix);
	n = w > 0 ? (size_t)w : 0;
	for (size_t i = 0; i < sizeof(rnd) && n + 1 < len; i++)
		buf[n++] = alphabet[rnd[i] & 63];
	buf[n] = '\0';
	return n;
}

/* ---- unacked deliveries ------------------------------------------------ */

/* The ring's capacity is 0 or a power of two, so masking wraps. */
#define UA_CAP_OK(ch)	(((ch)->ua_cap & ((ch)->ua_cap - 1)) == 0 && \
			    (ch)->ua_len <= (ch)->ua_cap)

static struct unacked *
ua_at(struct chan *ch, size_t i)
{
	assert(UA_CAP_OK(ch) && i < ch->ua_len);
	return &ch->unacked[(ch->ua_head + i) & (ch->ua_cap - 1)];
}

static struct unacked *
ua_push(struct chan *ch)
{
	if (ch->ua_len == ch->ua_cap) {
		size_t ncap = ch->ua_cap ? ch->ua_cap * 2 : 16;
		struct unacked *n = malloc(ncap * sizeof(*n));

		if (n == NULL)
			return NULL;
		for (size_t i = 0; i < ch->ua_len; i++)
			n[i] = *ua_at(ch, i);
		free(ch->unacked);
		ch->unacked = n;
		ch->ua_cap = ncap;
		ch->ua_head = 0;
	}
	assert(UA_CAP_OK(ch) && ch->ua_len < ch->ua_cap);
	return &ch->unacked[(ch->ua_head + ch->ua_len++) & (ch->ua_cap - 1)];
}

/* Index of the entry with this tag, or ua_len. Tags are sorted. */
static size_t
ua_find(struct chan *ch, uint64_t tag)
{
	size_t lo = 0, hi = ch->ua_len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ua_at(ch, mid)->tag < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ch->ua_len && ua_at(ch, lo)->tag == tag)
		return lo;
	return ch->ua_len;
}

static void
ua_pop_settled(struct chan *ch)
{
	while (ch->ua_len > 0 && ua_at(ch, 0)->settled) {
		ch->ua_head = (ch->ua_head + 1) & (ch->ua_cap - 1);
		ch->ua_len--;
	}
	if (ch->ua_len == 0 && ch->ua_cap > 1024) {
		free(ch->unacked);	/* give back a burst's memory */
		ch->unacked = NULL;
		ch->ua_cap = ch->ua_head = 0;
	}
}

/* Settles one delivery: ack drops it, requeue puts it back, else drops. */
static void
settle_one(struct chan *ch, struct unacked *u, bool ack, bool requeue)
{
	struct queue *q = u->q;

	assert(!u->settled && ch->unacked_count > 0 && q->unacked > 0);
	u->settled = true;
	ch->unacked_count--;
	q->unacked--;
	q->bytes_unacked -= u->e.body_len;
	if (ack) {
		q->stats.v[STAT_ACK]++;
		chan_count_q(ch, q, STAT_ACK, 1);
	}
	if (u->c != NULL) {
		assert(u->c->unacked > 0);
		u->c->unacked--;
		queue_wake(u->c->q);
	}
	if (ch->prefetch_channel != 0)
		for (struct consumer *cs = ch->consumer_list; cs; cs = cs->cnext)
			queue_wake(cs->q);
	queue_settle(q, &u->e, ack, requeue);
	queue_unref(q);
}

int
chan_settle(struct chan *ch, uint64_t tag, bool multiple, bool ack,
    bool requeue, uint32_t method_id)
{
	size_t idx;

	if (multiple && tag == 0) {
		/* spec: tag 0 with multiple settles everything outstanding. */
		for (size_t i = 0; i < ch->ua_len; i++)
			if (!ua_at(ch, i)->settled)
				settle_one(ch, ua_at(ch, i), ack, requeue);
		ua_pop_settled(ch);
		chan_timeout_arm(ch);
		return 0;
	}
	idx = ua_find(ch, tag);
	if (idx == ch->ua_len || ua_at(ch, idx)->settled)
		return chan_fail(ch, PROTO_PRECONDITION_FAILED, method_id,
		    "unknown delivery tag %llu", (unsigned long long)tag);
	if (multiple) {
		for (size_t i = 0; i <= idx; i++)
			if (!ua_at(ch, i)->settled)
				settle_one(ch, ua_at(ch, i), ack, requeue);
	} else {
		settle_one(ch, ua_at(ch, idx), ack, requeue);
	}
	ua_pop_settled(ch);
	chan_timeout_arm(ch);
	return 0;
}

void
chan_requeue_all(struct chan *ch)
{
	/* Requeue newest first, so each lands back at its own position. */
	for (size_t i = ch->ua_len; i-- > 0;)
		if (!ua_at(ch, i)->settled)
			settle_one(ch, ua_at(ch, i), false, true);
	ua_pop_settled(ch);
}

/* ---- delivery ---------------------------------------------------------- */

bool
chan_consumer_can_take(const struct chan *ch, const struct consumer *cs)
{
	const struct conn *c = ch->c;

	if (c->state != CONN_RUNNING || c->throttled || ch->state != CHAN_OPEN ||
	    !ch->flow)
		return false;
	if (io_queued(&c->io) >= c->b->cfg.output_high_water)
		return false;
	if (cs->no_ack)
		return true;
	if (cs->prefetch != 0 && cs->unacked >= cs->prefetch)
		return false;
	return ch->prefetch_channel == 0 ||
	    ch->unacked_count < ch->prefetch_channel;
}

bool
chan_deliver(struct chan *ch, struct consumer *cs, struct queue *q,
    struct qentry *e)
{
	struct proto_method m = { .id = PROTO_BASIC_DELIVER };
	struct msg *msg = e->m;
	struct unacked *u = NULL;
	uint64_t tag = ch->next_tag;
	const uint8_t *props;
	uint8_t *pbuf;
	size_t plen;
	bool sent;

	if (!cs->no_ack && (u = ua_push(ch)) == NULL) {
		queue_requeue(q, e);
		return false;
	}
	m.u.basic_deliver.consumer_tag = (struct proto_str){
	    (const uint8_t *)cs->tag, cs->tag_len };
	m.u.basic_deliver.delivery_tag = tag;
	m.u.basic_deliver.redelivered = e->deliveries > 0;
	m.u.basic_deliver.exchange = msg_exchange(msg);
	m.u.basic_deliver.routing_key = msg_rk(msg);
	sent = quorum_delivery_props(q, e, false, &props, &plen, &pbuf) &&
	    conn_send_content(ch->c, ch->id, &m, props, plen, msg->body,
	    msg->body_len);
	free(pbuf);
	if (!sent) {
		if (u != NULL)
			ch->ua_len--;
		queue_requeue(q, e);
		return false;
	}
	ch->next_tag++;
	if (e->deliveries > 0) {
		q->stats.v[STAT_REDELIVER]++;
		chan_count_q(ch, q, STAT_REDELIVER, 1);
	}
	e->deliveries++;
	q->stats.v[u == NULL ? STAT_DELIVER_NO_ACK : STAT_DELIVER]++;
	chan_count_q(ch, q, u == NULL ? STAT_DELIVER_NO_ACK : STAT_DELIVER, 1);
	if (u == NULL) {
		persist_entry_gone(q, e);
		msg_unref(e->m);	/* no-ack: delivered means done */
		return true;
	}
	/* Recorded so a crash brings it back marked redelivered. */
	persist_delivered(q, e);
	u->tag = tag;
	u->q = q;
	queue_ref(q);
	u->c = cs;
	u->e = *e;
	u->settled = false;
	chan_timeout_set(ch, u, q);
	/* A later delivery behind an armed head changes nothing. */
	if (ch->ua_len == 1)
		chan_timeout_arm(ch);
	cs->unacked++;
	ch->unacked_count++;
	q->unacked++;
	q->bytes_unacked += e->body_len;
	return true;
}

/* Records a basic.get delivery as unacked (no consumer). */
int
chan_track_get(struct chan *ch, struct queue *q, struct qentry *e,
    uint64_t tag)
{
	struct unacked *u;

	if ((u = ua_push(ch)) == NULL)
		return -1;
	u->tag = tag;
	u->q = q;
	queue_ref(q);
	u->c = NULL;
	u->e = *e;
	u->settled = false;
	chan_timeout_set(ch, u, q);
	/* A later delivery behind an armed head changes nothing. */
	if (ch->ua_len == 1)
		chan_timeout_arm(ch);
	ch->unacked_count++;
	q->unacked++;
	q->bytes_unacked += e->body_len;
	return 0;
}

/* ---- durability replies ------------------------------------------------ */

static void
send_confirm(struct chan *ch, uint32_t id, uint64_t tag, bool multiple)
{
	struct proto_method m = { .id = id };

	if (id == PROTO_BASIC_ACK) {
		m.u.basic_ack.delivery_tag = tag;
		m.u.basic_ack.multiple = multiple;
	} else {
		m.u.basic_nack.delivery_tag = tag;
		m.u.basic_nack.multiple = multiple;
	}
	conn_send_method(ch->c, ch->id, &m);
	ch->confirmed = tag;
}

/* Acks everything from confirmed + 1 up to tag (tag > confirmed). */
static void
ack_through(struct chan *ch, uint64_t tag)
{
	chan_count(ch, STAT_CONFIRM, tag - ch->confirmed);
	send_confirm(ch, PROTO_BASIC_ACK, tag, tag - ch->confirmed > 1);
}

/*
 * Bookkeeping (lib/xmalloc.h): the list holds only the publishes handled
 * since the last commit, which the per-turn frame budget bounds.
 */
void
chan_confirm_refused(struct chan *ch, uint64_t seq)
{
	xvec_grow(&ch->refused, &ch->refused_cap, ch->nrefused + 1,
	    sizeof(*ch->refused), 16);
	ch->refused[ch->nrefused++] = seq;
	broker_wake_chan(ch->c->b, ch);
}

static void
confirms_done(struct chan *ch)
{
	size_t i = 0;

	/*
	 * Tags in order: acks up to each refused publish, its nack (a run
	 * of refused tags right after the last confirm is one multiple
	 * nack), then an ack for the rest.
	 */
	while (i < ch->nrefused) {
		uint64_t seq = ch->refused[i];

		if (seq > ch->confirmed + 1)
			ack_through(ch, seq - 1);
		while (i + 1 < ch->nrefused && ch->refused[i + 1] == seq + 1)
			seq = ch->refused[++i];
		send_confirm(ch, PROTO_BASIC_NACK, seq,
		    seq - ch->confirmed > 1);
		i++;
	}
	ch->nrefused = 0;
	if (ch->pub_seq > ch->confirmed)
		ack_through(ch, ch->pub_seq);
}

void
chan_commit_done(struct chan *ch)
{
	struct proto_method ok = { .id = PROTO_TX_COMMIT_OK };

	if (ch->state != CHAN_OPEN)
		return;
	if (ch->confirmed < ch->pub_seq) {
		confirms_done(ch);
		stats_obj_settle(ch->objs.ex, true);
	}
	if (ch->tx_commit_owed) {
		ch->tx_commit_owed = false;
		ch->c->commit_wait = false;
		conn_send_method(ch->c, ch->id, &ok);
	}
}

void
chan_commit_failed(struct chan *ch)
{
	if (ch->state != CHAN_OPEN)
		return;
	ch->nrefused = 0;
	stats_obj_settle(ch->objs.ex, false);
	if (ch->pub_seq > ch->confirmed)
		send_confirm(ch, PROTO_BASIC_NACK, ch->pub_seq,
		    ch->pub_seq - ch->confirmed > 1);
	if (ch->tx_commit_owed) {
		ch->tx_commit_owed = false;
		ch->c->commit_wait = false;
		/*
		 * compat: RabbitMQ 3.10 reports a failure inside the broker
		 * (seen by killing a channel process under a transaction) as
		 * connection.close 541 "INTERNAL_ERROR"; warren adds why after
		 * the dash. A tx.commit that did not reach the disk must never
		 * be answered commit-ok.
		 */
		chan_fail(ch, PROTO_INTERNAL_ERROR, PROTO_TX_COMMIT,
		    "tx.commit could not be written to disk");
	}
}

void
chan_tx_commit_owed(struct chan *ch)
{
	ch->tx_commit_owed = true;
	ch->c->commit_wait = true;	/* replies after it wait too */
	broker_wake_chan(ch->c->b, ch);
}
