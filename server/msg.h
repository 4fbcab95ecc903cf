/*
 * A message: refcounted and immutable once its body is complete. The raw
 * property bytes are kept as published (less a BCC header), so every
 * delivery re-sends them byte-for-byte; the few properties the broker
 * acts on are decoded once into the summary fields.
 */
#ifndef WARREN_SERVER_MSG_H
#define WARREN_SERVER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/wire.h"

struct msg {
	uint32_t	 refs;
	uint8_t		 exchange_len;
	uint8_t		 rk_len;
	uint8_t		 delivery_mode;	/* 2 = persistent */
	uint8_t		 priority;
	uint32_t	 props_len;
	uint32_t	 headers_off;	/* headers table within props */
	uint32_t	 headers_len;	/* 0 = no headers */
	uint64_t	 body_len;
	uint64_t	 body_have;	/* bytes received so far (assembly) */
	uint64_t	 store_id;	/* 0 until the store assigns one */
	int64_t		 ttl_ms;	/* expiration property; -1: none */
	uint32_t	 bcc_len;	/* BCC keys (array contents); 0: none */
	const char	*exchange;	/* points into data[] */
	const char	*rk;
	const uint8_t	*props;
	/*
	 * Routing only, never in props; stored beside the message (not in
	 * its properties) so that one read back from the store is
	 * dead-lettered by its BCC keys too.
	 */
	const uint8_t	*bcc;
	uint8_t		*body;
	uint8_t		 data[];
};

/*
 * Allocates a message whose body (body_len bytes, checked by the caller
 * against max_message_size) will be filled by msg_append(). Copies the
 * routing fields and raw properties. NULL on ENOMEM. One reference.
 */
struct msg *msg_new(struct proto_str exchange, struct proto_str rk,
	    struct proto_str props, uint64_t body_len);
/*
 * The same, also keeping bcc, the contents of a BCC array taken out of
 * the properties: its keys still route the message (msg_route_keys) but
 * are never delivered or stored.
 */
struct msg *msg_new_bcc(struct proto_str exchange, struct proto_str rk,
	    struct proto_str props, struct proto_table bcc, uint64_t body_len);
struct proto_basic_properties;
/*
 * Decodes the properties the broker acts on (delivery mode, priority, the
 * headers table) from the raw property bytes, and all of them into *out
 * if out is not NULL (views into m->props). Returns 0, or a reply code
 * for malformed properties.
 */
int	msg_decode_props(struct msg *m, struct proto_basic_properties *out);
/*
 * Parses an expiration property as RabbitMQ does (an integer number of
 * milliseconds, 0 to 10 years). Returns 0 with *ms set, or -1 with
 * RabbitMQ's reason in why ("no_integer", "{value_negative,-1}", ...).
 */
int	msg_parse_expiration(struct proto_str s, int64_t *ms, char *why,
	    size_t whylen);
/*
 * compat: RabbitMQ's sender-selected distribution. A CC or BCC header
 * must be an array (its longstr elements are extra routing keys, other
 * elements are ignored). Returns 0, or -1 with RabbitMQ's reason in why
 * ("{unacceptable_type_in_header,\"CC\",longstr}").
 */
int	msg_check_cc(struct proto_table headers, char *why, size_t whylen);
/*
 * If the headers of *mp (no body appended yet) hold BCC, replaces *mp by
 * a copy whose properties lack it and which keeps its keys in bcc; drops
 * the reference to the old one. Returns 0, or -1 if memory ran out (*mp
 * is then unchanged).
 */
int	msg_strip_bcc(struct msg **mp);

struct proto_basic_properties;
struct proto_writer;

/*
 * Re-encodes props with its headers table rewritten: the old entries (if
 * the headers flag is set) but those skip() drops, then what add() writes
 * (either may be NULL); the headers flag is set, even on an empty table.
 * extra bounds what add() writes beyond old_len, the encoded length of
 * the old properties. Returns the new encoding (malloc'd, *len bytes), or
 * NULL out of memory or room. BCC stripping, quorum delivery counts and
 * dead-lettering rewrite headers this way.
 */
uint8_t	*msg_rewrite_headers(struct proto_basic_properties *props,
	    size_t old_len, size_t extra,
	    bool (*skip)(struct proto_str key, void *arg),
	    void (*add)(struct proto_writer *w, void *arg), void *arg,
	    size_t *len);
struct route_keys;	/* server/exchange.h */
/* The keys m is routed by: its routing key, its CC array, its BCC keys. */
void	msg_route_keys(const struct msg *m, struct route_keys *k);
/* Appends body bytes; false if they would overrun body_len. */
bool	msg_append(struct msg *m, const uint8_t *p, size_t n);
static inline bool
msg_complete(const struct msg *m)
{
	return m->body_have == m->body_len;
}
static inline struct msg *
msg_ref(struct msg *m)
{
	m->refs++;
	return m;
}
void	msg_unref(struct msg *m);
/* Body bytes of every message alive now (the memory breakdown's binary). */
uint64_t msg_body_bytes(void);

static inline struct proto_str
msg_exchange(const struct msg *m)
{
	return (struct proto_str){ (const uint8_t *)m->exchange, m->exchange_len };
}
static inline struct proto_str
msg_rk(const struct msg *m)
{
	return (struct proto_str){ (const uint8_t *)m->rk, m->rk_len };
}

/* The headers property (validated at publish), or an empty table. */
static inline struct proto_table
msg_headers(const struct msg *m)
{
	return (struct proto_table){ m->props + m->headers_off, m->headers_len };
}

#endif /* WARREN_SERVER_MSG_H */
