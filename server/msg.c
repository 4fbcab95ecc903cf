#include "autoconf.h"

#include "server/msg.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/spec.h"
#include "protocol/table.h"
#include "server/exchange.h"
#include "server/queue_args.h"

/* Body bytes of every live message (one process, one thread). */
static uint64_t body_bytes;

uint64_t
msg_body_bytes(void)
{
	return body_bytes;
}

struct msg *
msg_new(struct proto_str exchange, struct proto_str rk, struct proto_str props,
    uint64_t body_len)
{
	return msg_new_bcc(exchange, rk, props, (struct proto_table){ NULL, 0 },
	    body_len);
}

struct msg *
msg_new_bcc(struct proto_str exchange, struct proto_str rk,
    struct proto_str props, struct proto_table bcc, uint64_t body_len)
{
	struct msg *m;
	size_t fixed = exchange.len + rk.len + props.len + bcc.len;
	uint8_t *p;

	if (exchange.len > 255 || rk.len > 255 || props.len > UINT32_MAX ||
	    bcc.len > UINT32_MAX ||
	    body_len > SIZE_MAX - sizeof(*m) - fixed)
		return NULL;
	if ((m = malloc(sizeof(*m) + fixed + (size_t)body_len)) == NULL)
		return NULL;
	m->refs = 1;
	m->ttl_ms = -1;
	m->exchange_len = (uint8_t)exchange.len;
	m->rk_len = (uint8_t)rk.len;
	m->delivery_mode = 0;
	m->priority = 0;
	m->props_len = (uint32_t)props.len;
	m->headers_off = m->headers_len = 0;
	m->bcc_len = (uint32_t)bcc.len;
	m->body_len = body_len;
	body_bytes += body_len;
	m->body_have = 0;
	m->store_id = 0;
	p = m->data;
	if (exchange.len)
		memcpy(p, exchange.p, exchange.len);
	m->exchange = (const char *)p;
	p += exchange.len;
	if (rk.len)
		memcpy(p, rk.p, rk.len);
	m->rk = (const char *)p;
	p += rk.len;
	if (props.len)
		memcpy(p, props.p, props.len);
	m->props = p;
	p += props.len;
	if (bcc.len)
		memcpy(p, bcc.p, bcc.len);
	m->bcc = p;
	p += bcc.len;
	m->body = p;
	return m;
}

int
msg_decode_props(struct msg *m, struct proto_basic_properties *out)
{
	struct proto_basic_properties local, *pp = out ? out : &local;
	struct proto_basic_properties props;

	if (proto_basic_properties_decode(m->props, m->props_len, pp) != 0)
		return PROTO_SYNTAX_ERROR;
	props = *pp;
	if ((props.flags & PROTO_BASIC_HEADERS_FLAG) &&
	    !proto_table_validate(props.headers))
		return PROTO_SYNTAX_ERROR;
	m->delivery_mode = (props.flags & PROTO_BASIC_DELIVERY_MODE_FLAG) ?
	    props.delivery_mode : 0;
	m->priority = (props.flags & PROTO_BASIC_PRIORITY_FLAG) ?
	    props.priority : 0;
	if (props.flags & PROTO_BASIC_HEADERS_FLAG) {
		/* The view points into m->props, so its offset is stable. */
		m->headers_off = (uint32_t)(props.headers.p - m->props);
		m->headers_len = (uint32_t)props.headers.len;
	}
	return 0;
}

int
msg_parse_expiration(struct proto_str s, int64_t *ms, char *why,
    size_t whylen)
{
	size_t i = 0, digits;
	bool neg = false;
	int64_t v = 0;

	/* compat: Erlang's string:to_integer/1, then rabbit_misc's range. */
	if (i < s.len && (s.p[i] == '+' || s.p[i] == '-'))
		neg = s.p[i++] == '-';
	for (digits = 0; i < s.len && s.p[i] >= '0' && s.p[i] <= '9';
	    i++, digits++)
		if (v <= (INT64_MAX - 9) / 10)
			v = v * 10 + (s.p[i] - '0');
	if (digits == 0) {
		snprintf(why, whylen, "no_integer");
		return -1;
	}
	if (i < s.len) {
		snprintf(why, whylen, "{leftover_string,\"%.*s\"}",
		    (int)(s.len - i), (const char *)s.p + i);
		return -1;
	}
	if (neg && v != 0) {
		snprintf(why, whylen, "{value_negative,-%" PRId64 "}", v);
		return -1;
	}
	if (v > QUEUE_ARGS_MAX_EXPIRY) {
		snprintf(why, whylen, "{value_too_large,%" PRId64 "}", v);
		return -1;
	}
	*ms = v;
	return 0;
}

/* compat: rabbit_basic's ROUTING_HEADERS, in its order. */
static const char *const cc_headers[] = { "CC", "BCC" };

int
msg_check_cc(struct proto_table headers, char *why, size_t whylen)
{
	struct proto_field f;

	for (size_t i = 0; i < sizeof(cc_headers) / sizeof(cc_headers[0]); i++)
		if (proto_table_get(headers, cc_headers[i], &f) &&
		    f.kind != PROTO_FIELD_ARRAY) {
			snprintf(why, whylen, "{unacceptable_type_in_header,"
			    "\"%s\",%s}", cc_headers[i],
			    proto_field_kind_name(f.kind));
			return -1;
		}
	return 0;
}

uint8_t *
msg_rewrite_headers(struct proto_basic_properties *props, size_t old_len,
    size_t extra, bool (*skip)(struct proto_str key, void *arg),
    void (*add)(struct proto_writer *w, void *arg), void *arg, size_t *len)
{
	struct proto_table_iter it;
	struct proto_writer hw, pw;
	struct proto_field f;
	struct proto_str key;
	uint8_t *hbuf, *pbuf;
	size_t hcap, pcap, t;

	/* The headers at most grow by extra; the rest of props not at all. */
	if (old_len > SIZE_MAX / 4 || extra > SIZE_MAX / 4)
		return NULL;
	hcap = old_len + extra;
	pcap = old_len + hcap;
	if ((hbuf = malloc(hcap)) == NULL)
		return NULL;
	if ((pbuf = malloc(pcap)) == NULL) {
		free(hbuf);
		return NULL;
	}
	hw = proto_writer(hbuf, hcap);
	t = proto_table_begin(&hw);
	if (props->flags & PROTO_BASIC_HEADERS_FLAG) {
		proto_table_iter_init(&it, props->headers);
		while (proto_table_next(&it, &key, &f)) {
			if (skip != NULL && skip(key, arg))
				continue;
			proto_write_shortstr(&hw, key);
			proto_field_write(&hw, &f);
		}
	}
	if (add != NULL)
		add(&hw, arg);
	proto_table_end(&hw, t);
	props->flags |= PROTO_BASIC_HEADERS_FLAG;
	props->headers = (struct proto_table){ hbuf + 4, hw.len - 4 };
	pw = proto_writer(pbuf, pcap);
	if (hw.overflow || !proto_basic_properties_encode(props, &pw)) {
		free(hbuf);
		free(pbuf);
		return NULL;
	}
	free(hbuf);
	*len = pw.len;
	return pbuf;
}

static bool
is_bcc(struct proto_str key, void *arg)
{
	(void)arg;
	return proto_str_eqc(key, "BCC");
}

int
msg_strip_bcc(struct msg **mp)
{
	struct msg *old = *mp, *m = NULL;
	struct proto_basic_properties props;
	struct proto_field bcc;
	uint8_t *pbuf = NULL;
	size_t plen;

	if (!proto_table_get(msg_headers(old), "BCC", &bcc))
		return 0;
	/*
	 * compat: RabbitMQ deletes the first BCC and routes by it; a
	 * second one would go out with the message. Every one goes here:
	 * blind copies must stay blind. The headers stay, maybe empty, as
	 * in RabbitMQ.
	 */
	if (msg_decode_props(old, &props) != 0 ||
	    (pbuf = msg_rewrite_headers(&props, old->props_len, 16, is_bcc,
	    NULL, NULL, &plen)) == NULL)
		goto out;
	m = msg_new_bcc(msg_exchange(old), msg_rk(old), (struct proto_str){
	    pbuf, plen }, bcc.kind == PROTO_FIELD_ARRAY ? bcc.v.table :
	    (struct proto_table){ NULL, 0 }, old->body_len);
	if (m != NULL && msg_decode_props(m, NULL) != 0) {
		msg_unref(m);
		m = NULL;
	}
	if (m != NULL) {
		m->ttl_ms = old->ttl_ms;
		msg_unref(old);
		*mp = m;
	}
out:
	free(pbuf);
	return m != NULL ? 0 : -1;
}

void
msg_route_keys(const struct msg *m, struct route_keys *k)
{
	struct proto_field cc;

	k->rk = msg_rk(m);
	k->cc = (struct proto_table){ NULL, 0 };
	if (m->headers_len != 0 && proto_table_get(msg_headers(m), "CC", &cc) &&
	    cc.kind == PROTO_FIELD_ARRAY)
		k->cc = cc.v.table;
	k->bcc = (struct proto_table){ m->bcc, m->bcc_len };
}

bool
msg_append(struct msg *m, const uint8_t *p, size_t n)
{
	if (n > m->body_len - m->body_have)
		return false;
	if (n)
		memcpy(m->body + m->body_have, p, n);
	m->body_have += n;
	return true;
}

void
msg_unref(struct msg *m)
{
	assert(m == NULL || m->refs > 0);
	if (m != NULL && --m->refs == 0) {
		body_bytes -= m->body_len;
		free(m);
	}
}
