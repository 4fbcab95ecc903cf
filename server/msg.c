#include "autoconf.h"

#include "server/msg.h"

#include <stdlib.h>
#include <string.h>

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
