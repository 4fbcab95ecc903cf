/* Clean-ups of client-given exchange and queue names. */
#include "autoconf.h"

#include "server/names.h"

#include <string.h>

/* s without CR and LF: s itself, or a copy in buf (a shortstr fits). */
static struct proto_str
strip(struct proto_str s, uint8_t buf[256])
{
	size_t	n = 0;

	if (s.len == 0 || (memchr(s.p, '\r', s.len) == NULL &&
	    memchr(s.p, '\n', s.len) == NULL))
		return s;
	for (size_t i = 0; i < s.len && i < 256; i++)
		if (s.p[i] != '\r' && s.p[i] != '\n')
			buf[n++] = s.p[i];
	return (struct proto_str){ buf, n };
}

void
names_strip_crlf(struct proto_method *m, uint8_t bufs[2][256])
{
	switch (m->id) {
	case PROTO_EXCHANGE_DECLARE:
		m->u.exchange_declare.exchange = strip(
		    m->u.exchange_declare.exchange, bufs[0]);
		break;
	case PROTO_EXCHANGE_DELETE:
		m->u.exchange_delete.exchange = strip(
		    m->u.exchange_delete.exchange, bufs[0]);
		break;
	case PROTO_EXCHANGE_BIND:
		m->u.exchange_bind.source = strip(m->u.exchange_bind.source,
		    bufs[0]);
		m->u.exchange_bind.destination = strip(
		    m->u.exchange_bind.destination, bufs[1]);
		break;
	case PROTO_EXCHANGE_UNBIND:
		m->u.exchange_unbind.source = strip(
		    m->u.exchange_unbind.source, bufs[0]);
		m->u.exchange_unbind.destination = strip(
		    m->u.exchange_unbind.destination, bufs[1]);
		break;
	case PROTO_QUEUE_DECLARE:
		m->u.queue_declare.queue = strip(m->u.queue_declare.queue,
		    bufs[0]);
		break;
	case PROTO_QUEUE_DELETE:
		m->u.queue_delete.queue = strip(m->u.queue_delete.queue,
		    bufs[0]);
		break;
	case PROTO_QUEUE_BIND:
		m->u.queue_bind.queue = strip(m->u.queue_bind.queue, bufs[0]);
		m->u.queue_bind.exchange = strip(m->u.queue_bind.exchange,
		    bufs[1]);
		break;
	case PROTO_QUEUE_UNBIND:
		m->u.queue_unbind.queue = strip(m->u.queue_unbind.queue,
		    bufs[0]);
		m->u.queue_unbind.exchange = strip(m->u.queue_unbind.exchange,
		    bufs[1]);
		break;
	default:
		break;
	}
}
