#include "autoconf.h"

/*
 * /api/connections, /api/channels, /api/consumers and their per-vhost and
 * per-user forms: AMQP connections, channels and consumers as RabbitMQ
 * 3.10's management API shows them, and an operator's close.
 *
 * compat: who sees what, as RabbitMQ 3.10 (checked): administrators and
 * monitoring users see every connection, channel and consumer; other
 * management users only their own, and a GET of someone else's is a 401
 * "User not authorised to access object". Only administrators and the
 * owner may close a connection (monitoring users may not).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/api.h"
#include "admin/api_amqp.h"
#include "admin/api_list.h"
#include "admin/api_stats.h"
#include "admin/api_table.h"
#include "admin/http.h"
#include "lib/json.h"
#include "server/alarm.h"
#include "server/auth.h"
#include "server/broker.h"
#include "server/chan.h"
#include "server/conn.h"
#include "server/io.h"
#include "server/queue.h"
#include "server/tls.h"
#include "server/vhost.h"

/* compat: RabbitMQ's reason when DELETE carries no X-Reason. */
#define CLOSE_REASON_DEFAULT	"Closed via management plugin"
#define NOT_AUTHORISED		"User not authorised to access object"

static bool
sees_all(const struct user *u)
{
	return (u->tag_bits & (USER_TAG_ADMINISTRATOR |
	    USER_TAG_MONITORING)) != 0;
}

static bool
may_see(const struct api_ctx *ctx, const struct conn *c)
{
	return sees_all(ctx->user) || strcmp(c->user, ctx->user->name) == 0;
}

static bool
may_close(const struct api_ctx *ctx, const struct conn *c)
{
	return (ctx->user->tag_bits & USER_TAG_ADMINISTRATOR) != 0 ||
	    strcmp(c->user, ctx->user->name) == 0;
}

static const char *
vhost_of(const struct conn *c)
{
	return c->vh != NULL ? c->vh->name : "";
}

static struct conn *
find_conn(struct broker *b, struct proto_str name)
{
	for (struct conn *c = b->conns; c != NULL; c = c->next)
		if (conn_listed(c) && proto_str_eq(name, proto_str_c(c->name)))
			return c;
	return NULL;
}

/* "CONN (N)": the channel N of the connection named CONN. */
static struct chan *
find_chan(struct broker *b, struct proto_str name)
{
	const char *p = (const char *)name.p;
	size_t i = name.len, open;
	unsigned long n = 0;
	struct conn *c;

	if (i < 4 || p[i - 1] != ')')
		return NULL;
	for (open = i - 1; open > 0 && p[open - 1] >= '0' &&
	    p[open - 1] <= '9'; open--)
		;
	if (open < 2 || open == i - 1 || i - 1 - open > 5 ||
	    p[open - 1] != '(' || p[open - 2] != ' ')
		return NULL;
	for (size_t k = open; k < i - 1; k++)
		n = n * 10 + (unsigned long)(p[k] - '0');
	c = find_conn(b, (struct proto_str){ name.p, open - 2 });
	if (c == NULL || n == 0 || n >= c->chans_cap)
		return NULL;
	return c->chans[n];
}

static void
write_addr(struct json_writer *w, const char *hostkey, const char *portkey,
    const struct sockaddr_storage *ss)
{
	char host[64];
	int port = io_addr(ss, host, sizeof(host));

	json_w_keyc(w, hostkey);
	json_w_stringc(w, host);
	json_w_keyc(w, portkey);
	json_w_int(w, port);
}

static const char *
conn_state_name(const struct conn *c)
{
	if (c->state == CONN_CLOSING)
		return "closing";
	/* compat: "blocked" once an alarm held a publisher back. */
	if (c->blocked)
		return "blocked";
	if (c->flow_q != NULL)
		return "flow";
	return "running";
}

/*
 * compat: RabbitMQ writes the ssl_* and peer_cert_* fields as null in
 * listings and as "" in a single connection's GET (checked on 3.10).
 */
static void
write_opt_string(struct json_writer *w, const char *key, const char *v,
    bool single)
{
	json_w_keyc(w, key);
	if (v != NULL && v[0] != '\0')
		json_w_stringc(w, v);
	else if (single)
		json_w_stringc(w, "");
	else
		json_w_null(w);
}

static void
write_conn(struct api_ctx *ctx, struct json_writer *w, const struct conn *c,
    bool single)
{
	struct tls_info ti;
	char dn[1024] = "";
	bool tls = c->io.ssl != NULL;

	memset(&ti, 0, sizeof(ti));
	if (tls) {
		tls_session_info(c->io.ssl, &ti);
		if (tls_peer_subject(c->io.ssl, NULL, 0, dn, sizeof(dn)) == -1)
			dn[0] = '\0';
	}
	json_w_begin_object(w);
	json_w_keyc(w, "auth_mechanism");
	json_w_stringc(w, c->mechanism);
	json_w_keyc(w, "channel_max");
	json_w_uint(w, c->channel_max);
	json_w_keyc(w, "channels");
	json_w_uint(w, c->nchans);
	json_w_keyc(w, "client_properties");
	api_write_table(w, (struct proto_table){ c->client_props,
	    c->client_props_len });
	json_w_keyc(w, "connected_at");
	json_w_uint(w, c->connected_at);
	json_w_keyc(w, "frame_max");
	json_w_uint(w, c->frame_max);
	write_addr(w, "host", "port", &c->local);
	json_w_keyc(w, "name");
	json_w_stringc(w, c->name);
	json_w_keyc(w, "node");
	json_w_stringc(w, ctx->b->node_name);
	write_opt_string(w, "peer_cert_issuer", NULL, single);
	write_opt_string(w, "peer_cert_subject", dn, single);
	write_opt_string(w, "peer_cert_validity", NULL, single);
	write_addr(w, "peer_host", "peer_port", &c->peer);
	json_w_keyc(w, "protocol");
	json_w_stringc(w, "AMQP 0-9-1");
	/* recv_cnt, recv_oct, send_cnt, send_oct, with the octets' rates. */
	api_stats_conn(w, ctx, c);
	json_w_keyc(w, "send_pend");
	json_w_uint(w, io_queued(&c->io));
	json_w_keyc(w, "ssl");
	json_w_bool(w, tls);
	write_opt_string(w, "ssl_cipher", ti.cipher, single);
	write_opt_string(w, "ssl_hash", ti.hash, single);
	write_opt_string(w, "ssl_key_exchange", ti.key_exchange, single);
	write_opt_string(w, "ssl_protocol", ti.protocol, single);
	json_w_keyc(w, "state");
	json_w_stringc(w, conn_state_name(c));
	json_w_keyc(w, "timeout");
	json_w_uint(w, c->heartbeat);
	json_w_keyc(w, "type");
	json_w_stringc(w, "network");
	json_w_keyc(w, "user");
	json_w_stringc(w, c->user);
	json_w_keyc(w, "user_who_performed_action");
	json_w_stringc(w, c->user);
	json_w_keyc(w, "vhost");
	json_w_stringc(w, vhost_of(c));
	/* compat: RabbitMQ 3.10 shows no message_stats on a connection. */
	json_w_end_object(w);
}

static void
chan_name(const struct chan *ch, char *buf, size_t len)
{
	snprintf(buf, len, "%s (%u)", ch->c->name, (unsigned)ch->id);
}

static uint32_t
chan_consumers(const struct chan *ch)
{
	uint32_t n = 0;

	for (const struct consumer *cs = ch->consumer_list; cs != NULL;
	    cs = cs->cnext)
		n++;
	return n;
}

/* The channel_details of a consumer. */
static void
write_chan_details(struct api_ctx *ctx, struct json_writer *w,
    const struct chan *ch)
{
	char name[160];

	chan_name(ch, name, sizeof(name));
	json_w_begin_object(w);
	json_w_keyc(w, "connection_name");
	json_w_stringc(w, ch->c->name);
	json_w_keyc(w, "name");
	json_w_stringc(w, name);
	json_w_keyc(w, "node");
	json_w_stringc(w, ctx->b->node_name);
	json_w_keyc(w, "number");
	json_w_uint(w, ch->id);
	write_addr(w, "peer_host", "peer_port", &ch->c->peer);
	json_w_keyc(w, "user");
	json_w_stringc(w, ch->c->user);
	json_w_end_object(w);
}

void
api_write_consumer(struct api_ctx *ctx, struct json_writer *w,
    const struct consumer *cs)
{
	json_w_begin_object(w);
	json_w_keyc(w, "ack_required");
	json_w_bool(w, !cs->no_ack);
	/*
	 * compat: RabbitMQ 3.10's words: "single_active" for the one served
	 * on a single-active-consumer queue, "waiting" (not active) for the
	 * others there, "up" elsewhere.
	 */
	json_w_keyc(w, "active");
	json_w_bool(w, !cs->q->sac || cs->q->sac_active == cs);
	json_w_keyc(w, "activity_status");
	json_w_stringc(w, !cs->q->sac ? "up" :
	    cs->q->sac_active == cs ? "single_active" : "waiting");
	json_w_keyc(w, "arguments");
	json_w_begin_object(w);
	/* Only x-priority is kept of basic.consume's arguments. */
	if (cs->priority != 0) {
		json_w_keyc(w, "x-priority");
		json_w_int(w, cs->priority);
	}
	json_w_end_object(w);
	json_w_keyc(w, "channel_details");
	write_chan_details(ctx, w, cs->ch);
	json_w_keyc(w, "consumer_tag");
	json_w_string(w, cs->tag, cs->tag_len);
	/*
	 * compat: RabbitMQ 3.12+ (and rabbitmqadmin v2, which requires it)
	 * give the delivery acknowledgement timeout in ms (0: none here).
	 * RabbitMQ 3.10 leaves the field out.
	 */
	json_w_keyc(w, "consumer_timeout");
	json_w_int(w, chan_timeout_ms(cs->ch, cs->q));
	json_w_keyc(w, "exclusive");
	json_w_bool(w, cs->exclusive);
	json_w_keyc(w, "prefetch_count");
	json_w_uint(w, cs->prefetch);
	json_w_keyc(w, "queue");
	json_w_begin_object(w);
	json_w_keyc(w, "name");
	json_w_stringc(w, cs->q->name);
	json_w_keyc(w, "vhost");
	json_w_stringc(w, cs->q->vh->name);
	json_w_end_object(w);
	json_w_end_object(w);
}

static void
write_chan(struct api_ctx *ctx, struct json_writer *w, const struct chan *ch,
    bool single)
{
	const struct conn *c = ch->c;
	char name[160];

	chan_name(ch, name, sizeof(name));
	json_w_begin_object(w);
	json_w_keyc(w, "acks_uncommitted");
	json_w_uint(w, ch->tx ? ch->tx_nsettles : 0);
	json_w_keyc(w, "confirm");
	json_w_bool(w, ch->confirm);
	json_w_keyc(w, "connection_details");
	json_w_begin_object(w);
	json_w_keyc(w, "name");
	json_w_stringc(w, c->name);
	write_addr(w, "peer_host", "peer_port", &c->peer);
	json_w_end_object(w);
	json_w_keyc(w, "consumer_count");
	json_w_uint(w, chan_consumers(ch));
	if (single) {
		json_w_keyc(w, "consumer_details");
		json_w_begin_array(w);
		for (const struct consumer *cs = ch->consumer_list; cs != NULL;
		    cs = cs->cnext)
			api_write_consumer(ctx, w, cs);
		json_w_end_array(w);
	}
	json_w_keyc(w, "global_prefetch_count");
	json_w_uint(w, ch->prefetch_channel);
	json_w_keyc(w, "messages_unacknowledged");
	json_w_uint(w, ch->unacked_count);
	json_w_keyc(w, "messages_uncommitted");
	json_w_uint(w, ch->tx ? ch->tx_npubs : 0);
	json_w_keyc(w, "messages_unconfirmed");
	json_w_uint(w, ch->confirm && ch->pub_seq > ch->confirmed ?
	    ch->pub_seq - ch->confirmed : 0);
	json_w_keyc(w, "name");
	json_w_stringc(w, name);
	json_w_keyc(w, "node");
	json_w_stringc(w, ctx->b->node_name);
	json_w_keyc(w, "number");
	json_w_uint(w, ch->id);
	json_w_keyc(w, "pending_raft_commands");
	json_w_uint(w, 0);
	json_w_keyc(w, "prefetch_count");
	json_w_uint(w, ch->prefetch_consumer);
	json_w_keyc(w, "state");
	json_w_stringc(w, ch->state == CHAN_CLOSING ? "closing" :
	    !ch->flow ? "flow" : "running");
	json_w_keyc(w, "transactional");
	json_w_bool(w, ch->tx);
	json_w_keyc(w, "user");
	json_w_stringc(w, c->user);
	json_w_keyc(w, "user_who_performed_action");
	json_w_stringc(w, c->user);
	json_w_keyc(w, "vhost");
	json_w_stringc(w, vhost_of(c));
	/* message_stats once it has had traffic. */
	api_stats_channel(w, ctx, ch);
	json_w_end_object(w);
}

/* ---- filters shared by the listings ------------------------------------ */

struct filter {
	const struct vhost	*vh;		/* NULL: every vhost */
	const char		*user;		/* NULL: every user */
	const struct conn	*conn;		/* NULL: every connection */
};

static bool
conn_passes(const struct api_ctx *ctx, const struct filter *f,
    const struct conn *c)
{
	if (!conn_listed(c) || !may_see(ctx, c))
		return false;
	if (f->vh != NULL && c->vh != f->vh)
		return false;
	if (f->user != NULL && strcmp(c->user, f->user) != 0)
		return false;
	return f->conn == NULL || f->conn == c;
}

/*
 * What finds a listed connection, channel or consumer again (api_list.h):
 * the connection's id, the channel's number, the consumer's tag.
 */
#define REF_CONN	sizeof(uint64_t)
#define REF_CHAN	(REF_CONN + sizeof(uint16_t))
#define REF_MAX		(REF_CHAN + 255)

static size_t
make_ref(uint8_t *ref, const struct conn *c, uint16_t chan,
    const char *tag, size_t taglen)
{
	memcpy(ref, &c->id, sizeof(c->id));
	memcpy(ref + REF_CONN, &chan, sizeof(chan));
	if (taglen > REF_MAX - REF_CHAN)
		taglen = REF_MAX - REF_CHAN;
	if (taglen > 0)
		memcpy(ref + REF_CHAN, tag, taglen);
	return REF_CHAN + taglen;
}

/* The listed connection of ref, or NULL once it is closed. */
static struct conn *
ref_conn(struct api_ctx *ctx, const char *ref, size_t reflen)
{
	struct conn *c;
	uint64_t id;

	if (reflen < REF_CONN)
		return NULL;
	memcpy(&id, ref, sizeof(id));
	c = conn_by_id(ctx->b, id);
	return c != NULL && conn_listed(c) ? c : NULL;
}

/* The channel of ref, or NULL once it (or its connection) is closed. */
static struct chan *
ref_chan(struct api_ctx *ctx, const char *ref, size_t reflen)
{
	struct conn *c = ref_conn(ctx, ref, reflen);
	uint16_t n;

	if (c == NULL || reflen < REF_CHAN)
		return NULL;
	memcpy(&n, ref + REF_CONN, sizeof(n));
	return n < c->chans_cap ? c->chans[n] : NULL;
}

static bool
write_conn_listed(struct api_ctx *ctx, struct json_writer *w,
    const char *vhost, const char *ref, size_t reflen)
{
	struct conn *c = ref_conn(ctx, ref, reflen);

	if (c == NULL)
		return false;
	write_conn(ctx, w, c, false);
	return true;
}

static bool
write_chan_listed(struct api_ctx *ctx, struct json_writer *w,
    const char *vhost, const char *ref, size_t reflen)
{
	struct chan *ch = ref_chan(ctx, ref, reflen);

	if (ch == NULL)
		return false;
	write_chan(ctx, w, ch, false);
	return true;
}

static bool
write_consumer_listed(struct api_ctx *ctx, struct json_writer *w,
    const char *vhost, const char *ref, size_t reflen)
{
	struct chan *ch = ref_chan(ctx, ref, reflen);
	const struct consumer *cs;

	if (ch == NULL || (cs = hmap_get(&ch->consumers, ref + REF_CHAN,
	    reflen - REF_CHAN)) == NULL)
		return false;
	api_write_consumer(ctx, w, cs);
	return true;
}

/* Connections, channels and consumers are keyed (api_list.h). */
static void
list_conns(struct api_ctx *ctx, const struct filter *f)
{
	uint8_t ref[REF_MAX];

	if (!api_list_begin(ctx))
		return;
	for (struct conn *c = ctx->b->conns; c != NULL; c = c->next) {
		size_t n = strlen(c->name);

		if (!conn_passes(ctx, f, c) ||
		    !api_list_wants(ctx, vhost_of(c), c->name, n))
			continue;
		api_list_key_ref(ctx, vhost_of(c), c->name, n, ref,
		    make_ref(ref, c, 0, NULL, 0));
	}
	api_list_end_keyed(ctx, write_conn_listed);
}

static void
list_chans(struct api_ctx *ctx, const struct filter *f)
{
	uint8_t ref[REF_MAX];
	char name[160];

	if (!api_list_begin(ctx))
		return;
	for (struct conn *c = ctx->b->conns; c != NULL; c = c->next) {
		if (!conn_passes(ctx, f, c))
			continue;
		for (uint32_t i = 0; i < c->chans_cap; i++) {
			struct chan *ch = c->chans[i];
			size_t n;

			if (ch == NULL)
				continue;
			chan_name(ch, name, sizeof(name));
			n = strlen(name);
			if (!api_list_wants(ctx, vhost_of(c), name, n))
				continue;
			api_list_key_ref(ctx, vhost_of(c), name, n, ref,
			    make_ref(ref, c, ch->id, NULL, 0));
		}
	}
	api_list_end_keyed(ctx, write_chan_listed);
}

/*
 * The vhost named by path argument i. compat: RabbitMQ 3.10 checks it on
 * /api/vhosts/{v}/connections and /channels (monitoring users too;
 * administrators pass), not on /api/consumers/{v}.
 */
static struct vhost *
vhost_arg(struct api_ctx *ctx, size_t i, bool check_access)
{
	return api_vhost_lookup(ctx, i, API_VHOST_READ, check_access ?
	    API_VHOST_OPEN : API_VHOST_ANYONE, API_VHOST_DENY_401);
}

/* ---- handlers ----------------------------------------------------------- */

void
api_connections_list(struct api_ctx *ctx)
{
	struct filter f = { 0 };

	if (!api_range_read(ctx))
		return;
	list_conns(ctx, &f);
}

void
api_vhost_connections(struct api_ctx *ctx)
{
	struct filter f = { 0 };

	if (!api_range_read(ctx))
		return;
	if ((f.vh = vhost_arg(ctx, 0, true)) == NULL)
		return;
	list_conns(ctx, &f);
}

static bool
user_arg(struct api_ctx *ctx, char *out, size_t outlen)
{
	if (!api_name_arg(ctx, 0, "user", 255, out, outlen))
		return false;
	/* compat: only administrators and monitors look at other users. */
	if (!sees_all(ctx->user) && strcmp(out, ctx->user->name) != 0) {
		api_error(ctx, 401, "not_authorised", NOT_AUTHORISED);
		return false;
	}
	return true;
}

void
api_user_connections(struct api_ctx *ctx)
{
	struct filter f = { 0 };
	char user[256];

	if (!api_range_read(ctx))
		return;
	if (!user_arg(ctx, user, sizeof(user)))
		return;
	f.user = user;
	list_conns(ctx, &f);
}

/* The X-Reason header, or RabbitMQ's default, NUL-terminated in buf. */
static void
close_reason(struct api_ctx *ctx, char *buf, size_t len)
{
	struct proto_str v;

	if (!http_header(ctx->req, "x-reason", &v) || v.len == 0) {
		snprintf(buf, len, "%s", CLOSE_REASON_DEFAULT);
		return;
	}
	snprintf(buf, len, "%.*s", PSTR(v));
	/* A reply-text is a shortstr: keep the reason printable text. */
	for (char *p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}

void
api_user_connections_delete(struct api_ctx *ctx)
{
	char user[256], why[200];

	if (!api_name_arg(ctx, 0, "user", 255, user, sizeof(user)))
		return;
	if ((ctx->user->tag_bits & USER_TAG_ADMINISTRATOR) == 0 &&
	    strcmp(user, ctx->user->name) != 0) {
		api_error(ctx, 401, "not_authorised", NOT_AUTHORISED);
		return;
	}
	close_reason(ctx, why, sizeof(why));
	for (struct conn *c = ctx->b->conns; c != NULL; c = c->next)
		if (conn_listed(c) && strcmp(c->user, user) == 0)
			conn_close_forced(c, why);
	api_status(ctx, 204);
}

/* The connection named by path argument 0, if this user may see it. */
static struct conn *
conn_arg(struct api_ctx *ctx)
{
	struct conn *c = find_conn(ctx->b, ctx->arg[0]);

	if (c == NULL) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return NULL;
	}
	if (!may_see(ctx, c)) {
		api_error(ctx, 401, "not_authorised", NOT_AUTHORISED);
		return NULL;
	}
	return c;
}

void
api_connection_get(struct api_ctx *ctx)
{
	struct conn *c;

	if (!api_range_read(ctx))
		return;
	if ((c = conn_arg(ctx)) == NULL)
		return;
	write_conn(ctx, api_json_begin(ctx), c, true);
	api_json_end(ctx);
}

void
api_connection_delete(struct api_ctx *ctx)
{
	struct conn *c;
	char why[200];

	if ((c = conn_arg(ctx)) == NULL)
		return;
	if (!may_close(ctx, c)) {
		api_error(ctx, 401, "not_authorised", NOT_AUTHORISED);
		return;
	}
	close_reason(ctx, why, sizeof(why));
	conn_close_forced(c, why);
	api_status(ctx, 204);
}

void
api_connection_channels(struct api_ctx *ctx)
{
	struct filter f = { 0 };

	if (!api_range_read(ctx))
		return;
	if ((f.conn = conn_arg(ctx)) == NULL)
		return;
	list_chans(ctx, &f);
}

void
api_channels_list(struct api_ctx *ctx)
{
	struct filter f = { 0 };

	if (!api_range_read(ctx))
		return;
	list_chans(ctx, &f);
}

void
api_vhost_channels(struct api_ctx *ctx)
{
	struct filter f = { 0 };

	if (!api_range_read(ctx))
		return;
	if ((f.vh = vhost_arg(ctx, 0, true)) == NULL)
		return;
	list_chans(ctx, &f);
}

void
api_channel_get(struct api_ctx *ctx)
{
	struct chan *ch = find_chan(ctx->b, ctx->arg[0]);

	if (!api_range_read(ctx))
		return;
	if (ch == NULL) {
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return;
	}
	if (!may_see(ctx, ch->c)) {
		api_error(ctx, 401, "not_authorised", NOT_AUTHORISED);
		return;
	}
	write_chan(ctx, api_json_begin(ctx), ch, true);
	api_json_end(ctx);
}

static void
list_consumers(struct api_ctx *ctx, const struct filter *f)
{
	uint8_t ref[REF_MAX];

	if (!api_list_begin_unpaged(ctx))
		return;
	for (struct conn *c = ctx->b->conns; c != NULL; c = c->next) {
		if (!conn_passes(ctx, f, c))
			continue;
		for (uint32_t i = 0; i < c->chans_cap; i++) {
			struct chan *ch = c->chans[i];

			if (ch == NULL)
				continue;
			for (const struct consumer *cs = ch->consumer_list;
			    cs != NULL; cs = cs->cnext) {
				const char *vh = cs->q->vh->name;

				if (!api_list_wants(ctx, vh, NULL, 0))
					continue;
				api_list_key_ref(ctx, vh, NULL, 0, ref,
				    make_ref(ref, c, ch->id, cs->tag,
				    cs->tag_len));
			}
		}
	}
	api_list_end_keyed(ctx, write_consumer_listed);
}

void
api_consumers_list(struct api_ctx *ctx)
{
	struct filter f = { 0 };

	list_consumers(ctx, &f);
}

void
api_vhost_consumers(struct api_ctx *ctx)
{
	struct filter f = { 0 };

	if ((f.vh = vhost_arg(ctx, 0, false)) == NULL)
		return;
	list_consumers(ctx, &f);
}
