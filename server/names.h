/*
 * Names clients give to exchanges and queues: the clean-ups RabbitMQ
 * applies before it looks them up.
 */
#ifndef WARREN_SERVER_NAMES_H
#define WARREN_SERVER_NAMES_H

#include "protocol/spec.h"
#include "protocol/wire.h"

/*
 * compat: RabbitMQ removes CR and LF from the exchange and queue names of
 * exchange.declare/delete/bind/unbind and queue.declare/delete/bind/unbind
 * (not queue.purge, basic.*), so "a\nb" declares "ab". Rewrites those
 * names in *m in place, pointing stripped copies into bufs, which must
 * outlive *m's use.
 */
void	names_strip_crlf(struct proto_method *m, uint8_t bufs[2][256]);

#endif /* WARREN_SERVER_NAMES_H */
