#include "autoconf.h"

#include "server/msg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/spec.h"
#include "protocol/table.h"
#include "server/queue_args.h"

struct msg *
msg_new(struct proto_str exchange, struct proto_str rk, struct proto_str props,
    uint64_t body_len)
{
	struct msg *m;
	size_t fixed = exchange.len + rk.len + props.len;
	uint8_t *p;

	if (exchange.len > 255 || rk.len > 255 || props.len > UINT32_MAX ||
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
	m->body_len = body_len;
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
	if (m != NULL && --m->refs == 0)
		free(m);
}
