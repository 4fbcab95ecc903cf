#include "autoconf.h"

/*
 * warrenctl's commands on queues, exchanges, bindings, connections,
 * channels and consumers, and get/publish (for development and tests).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/ctl.h"
#include "admin/ctl_cmd.h"
#include "admin/ctl_http.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/xmalloc.h"

#define NCOLS(a)	(sizeof(a) / sizeof((a)[0]))

static const struct ctl_column queue_cols[] = {
	{ "vhost", "vhost" }, { "name", "name" }, { "type", "type" },
	{ "durable", "durable" }, { "auto_delete", "auto_delete" },
	{ "exclusive", "exclusive" }, { "state", "state" },
	{ "messages", "messages" }, { "ready", "messages_ready" },
	{ "unacked", "messages_unacknowledged" },
	{ "consumers", "consumers" },
};
static const struct ctl_column queue_show_cols[] = {
	{ "vhost", "vhost" }, { "name", "name" }, { "type", "type" },
	{ "durable", "durable" }, { "auto_delete", "auto_delete" },
	{ "exclusive", "exclusive" }, { "arguments", "arguments" },
	{ "policy", "policy" }, { "state", "state" },
	{ "messages", "messages" }, { "messages_ready", "messages_ready" },
	{ "messages_unacknowledged", "messages_unacknowledged" },
	{ "consumers", "consumers" }, { "memory", "memory" },
	{ "publish_rate", "message_stats.publish_details.rate" },
	{ "deliver_get_rate", "message_stats.deliver_get_details.rate" },
};
static const struct ctl_column exchange_cols[] = {
	{ "vhost", "vhost" }, { "name", "name" }, { "type", "type" },
	{ "durable", "durable" }, { "auto_delete", "auto_delete" },
	{ "internal", "internal" },
};
static const struct ctl_column exchange_show_cols[] = {
	{ "vhost", "vhost" }, { "name", "name" }, { "type", "type" },
	{ "durable", "durable" }, { "auto_delete", "auto_delete" },
	{ "internal", "internal" }, { "arguments", "arguments" },
	{ "policy", "policy" },
	{ "publish_in_rate", "message_stats.publish_in_details.rate" },
	{ "publish_out_rate", "message_stats.publish_out_details.rate" },
};
static const struct ctl_column binding_cols[] = {
	{ "vhost", "vhost" }, { "source", "source" },
	{ "destination", "destination" },
	{ "destination_type", "destination_type" },
	{ "routing_key", "routing_key" }, { "arguments", "arguments" },
	{ "properties_key", "properties_key" },
};
static const struct ctl_column connection_cols[] = {
	{ "name", "name" }, { "user", "user" }, { "vhost", "vhost" },
	{ "protocol", "protocol" }, { "state", "state" },
	{ "channels", "channels" }, { "peer_host", "peer_host" },
	{ "peer_port", "peer_port" },
};
static const struct ctl_column channel_cols[] = {
	{ "name", "name" }, { "vhost", "vhost" }, { "user", "user" },
	{ "number", "number" }, { "state", "state" },
	{ "consumers", "consumer_count" }, { "prefetch", "prefetch_count" },
	{ "unacked", "messages_unacknowledged" },
	{ "unconfirmed", "messages_unconfirmed" },
};
static const struct ctl_column consumer_cols[] = {
	{ "vhost", "queue.vhost" }, { "queue", "queue.name" },
	{ "consumer_tag", "consumer_tag" },
	{ "channel", "channel_details.name" },
	{ "ack_required", "ack_required" }, { "exclusive", "exclusive" },
	{ "prefetch_count", "prefetch_count" }, { "active", "active" },
};
static const struct ctl_column message_cols[] = {
	{ "payload", "payload" }, { "payload_bytes", "payload_bytes" },
	{ "payload_encoding", "payload_encoding" },
	{ "redelivered", "redelivered" }, { "exchange", "exchange" },
	{ "routing_key", "routing_key" },
	{ "message_count", "message_count" },
	{ "properties", "properties" },
};
static const struct ctl_column publish_cols[] = {
	{ "routed", "routed" },
};

/* "queue 'q' in vhost '/'" */
static const char *
what(char *buf, size_t n, const char *kind, const char *name,
    const struct ctl *c)
{
	snprintf(buf, n, "%s '%s' in vhost '%s'", kind, name, ctl_vhost(c));
	return buf;
}

/* compat: the default exchange is named amq.default in paths. */
static const char *
xname(const char *name)
{
	return name[0] == '\0' ? "amq.default" : name;
}

CTL_CMD(cmd_queues_list)
{
	static const struct ctl_listing l = { "/queues", true, true,
	    queue_cols, NCOLS(queue_cols), "name" };

	return ctl_list(c, &l);
}

CTL_CMD(cmd_queues_show)
{
	const char *name = ctl_arg(c, "name");
	char *path = ctl_path("/queues/{}/{}", ctl_vhost(c), name), w[1024];
	int rc;

	rc = ctl_show(c, path, what(w, sizeof(w), "queue", name, c),
	    queue_show_cols, NCOLS(queue_show_cols));
	free(path);
	return rc;
}

CTL_CMD(cmd_queues_declare)
{
	const char *name = ctl_arg(c, "name"), *type = ctl_arg(c, "type");
	struct json_writer w;
	struct json *args;
	struct buf b;
	char *path, *body, wh[1024];
	int rc;

	ctl_body_begin(&w, &b);
	json_w_keyc(&w, "durable");
	json_w_bool(&w, ctl_arg_bool(c, "durable", true));
	json_w_keyc(&w, "auto_delete");
	json_w_bool(&w, ctl_arg_bool(c, "auto-delete", false));
	/* compat: rabbitmqadmin puts --type in arguments.x-queue-type. */
	args = ctl_arg_json(c, "arguments");
	json_w_keyc(&w, "arguments");
	json_w_begin_object(&w);
	for (size_t i = 0; args != NULL && i < json_len(args); i++) {
		size_t klen;
		const char *k = json_key_at(args, i, &klen);

		if (type != NULL && strcmp(k, "x-queue-type") == 0)
			continue;
		json_w_key(&w, k, klen);
		json_w_value(&w, json_value_at(args, i));
	}
	if (type != NULL) {
		json_w_keyc(&w, "x-queue-type");
		json_w_stringc(&w, type);
	}
	json_w_end_object(&w);
	json_free(args);
	if ((body = ctl_body_end(&w, &b)) == NULL)
		return ctl_fail(CTL_EX_DATAERR, "the request is too large");
	path = ctl_path("/queues/{}/{}", ctl_vhost(c), name);
	snprintf(wh, sizeof(wh), "vhost '%s'", ctl_vhost(c));
	rc = ctl_send(c, "PUT", path, body, wh);
	free(path);
	free(body);
	return rc;
}

CTL_CMD(cmd_queues_delete)
{
	const char *name = ctl_arg(c, "name");
	char *path = ctl_path("/queues/{}/{}", ctl_vhost(c), name), w[1024];
	int rc;

	if (ctl_arg_bool(c, "if-empty", false))
		ctl_path_query(&path, "if-empty", "true");
	if (ctl_arg_bool(c, "if-unused", false))
		ctl_path_query(&path, "if-unused", "true");
	rc = ctl_send(c, "DELETE", path, NULL, what(w, sizeof(w), "queue",
	    name, c));
	free(path);
	return rc;
}

CTL_CMD(cmd_queues_purge)
{
	const char *name = ctl_arg(c, "name");
	char *path = ctl_path("/queues/{}/{}/contents", ctl_vhost(c), name);
	char w[1024];
	int rc;

	rc = ctl_send(c, "DELETE", path, NULL, what(w, sizeof(w), "queue",
	    name, c));
	free(path);
	return rc;
}

CTL_CMD(cmd_exchanges_list)
{
	static const struct ctl_listing l = { "/exchanges", true, true,
	    exchange_cols, NCOLS(exchange_cols), "name" };

	return ctl_list(c, &l);
}

CTL_CMD(cmd_exchanges_show)
{
	const char *name = ctl_arg(c, "name");
	char *path = ctl_path("/exchanges/{}/{}", ctl_vhost(c), xname(name));
	char w[1024];
	int rc;

	rc = ctl_show(c, path, what(w, sizeof(w), "exchange", name, c),
	    exchange_show_cols, NCOLS(exchange_show_cols));
	free(path);
	return rc;
}

CTL_CMD(cmd_exchanges_declare)
{
	const char *name = ctl_arg(c, "name"), *type = ctl_arg(c, "type");
	struct json_writer w;
	struct buf b;
	char *path, *body, wh[1024];
	int rc;

	ctl_body_begin(&w, &b);
	json_w_keyc(&w, "type");
	json_w_stringc(&w, type ? type : "direct");
	json_w_keyc(&w, "durable");
	json_w_bool(&w, ctl_arg_bool(c, "durable", true));
	json_w_keyc(&w, "auto_delete");
	json_w_bool(&w, ctl_arg_bool(c, "auto-delete", false));
	json_w_keyc(&w, "internal");
	json_w_bool(&w, ctl_arg_bool(c, "internal", false));
	ctl_body_json(&w, c, "arguments", "arguments");
	if ((body = ctl_body_end(&w, &b)) == NULL)
		return ctl_fail(CTL_EX_DATAERR, "the request is too large");
	path = ctl_path("/exchanges/{}/{}", ctl_vhost(c), name);
	snprintf(wh, sizeof(wh), "vhost '%s'", ctl_vhost(c));
	rc = ctl_send(c, "PUT", path, body, wh);
	free(path);
	free(body);
	return rc;
}

CTL_CMD(cmd_exchanges_delete)
{
	const char *name = ctl_arg(c, "name");
	char *path = ctl_path("/exchanges/{}/{}", ctl_vhost(c), name), w[1024];
	int rc;

	if (ctl_arg_bool(c, "if-unused", false))
		ctl_path_query(&path, "if-unused", "true");
	rc = ctl_send(c, "DELETE", path, NULL, what(w, sizeof(w), "exchange",
	    name, c));
	free(path);
	return rc;
}

/* "q" or "e" from --destination-type; NULL when it is neither. */
static const char *
dest_kind(const struct ctl *c)
{
	const char *t = ctl_arg(c, "destination-type");

	if (t == NULL || strcmp(t, "queue") == 0 || strcmp(t, "q") == 0)
		return "q";
	if (strcmp(t, "exchange") == 0 || strcmp(t, "e") == 0)
		return "e";
	return NULL;
}

CTL_CMD(cmd_exchanges_bind)
{
	const char *src = ctl_arg(c, "source"), *dst = ctl_arg(c, "destination");
	const char *rk = ctl_arg(c, "routing-key"), *kind = dest_kind(c);
	struct json_writer w;
	struct buf b;
	char *path, *body, tmpl[64], wh[1024];
	int rc;

	if (kind == NULL)
		return ctl_fail(CTL_EX_USAGE, "--destination-type must be "
		    "queue or exchange");
	ctl_body_begin(&w, &b);
	json_w_keyc(&w, "routing_key");
	json_w_stringc(&w, rk ? rk : "");
	ctl_body_json(&w, c, "arguments", "arguments");
	if ((body = ctl_body_end(&w, &b)) == NULL)
		return ctl_fail(CTL_EX_DATAERR, "the request is too large");
	snprintf(tmpl, sizeof(tmpl), "/bindings/{}/e/{}/%s/{}", kind);
	path = ctl_path(tmpl, ctl_vhost(c), xname(src), dst);
	snprintf(wh, sizeof(wh), "exchange '%s' or %s '%s' in vhost '%s'",
	    src, kind[0] == 'q' ? "queue" : "exchange", dst, ctl_vhost(c));
	rc = ctl_send(c, "POST", path, body, wh);
	free(path);
	free(body);
	return rc;
}

/* Whether two JSON values are written the same (object order counts). */
static bool
json_same(const struct json *a, const struct json *b)
{
	struct json_writer wa, wb;
	struct buf ba, bb;
	bool same;

	buf_init(&ba, CTL_HTTP_MAX_BODY);
	buf_init(&bb, CTL_HTTP_MAX_BODY);
	json_writer_init(&wa, &ba);
	json_writer_init(&wb, &bb);
	json_w_value(&wa, a);
	json_w_value(&wb, b);
	same = buf_used(&ba) == buf_used(&bb) &&
	    memcmp(buf_head(&ba), buf_head(&bb), buf_used(&ba)) == 0;
	buf_free(&ba);
	buf_free(&bb);
	return same;
}

CTL_CMD(cmd_exchanges_unbind)
{
	const char *src = ctl_arg(c, "source"), *dst = ctl_arg(c, "destination");
	const char *rk = ctl_arg(c, "routing-key"), *kind = dest_kind(c);
	const char *pk = ctl_arg(c, "properties-key");
	struct json *list = NULL, *args = NULL;
	char *path, tmpl[64], wh[1024];
	int rc = 0;

	if (kind == NULL)
		return ctl_fail(CTL_EX_USAGE, "--destination-type must be "
		    "queue or exchange");
	if (rk == NULL)
		rk = "";
	snprintf(wh, sizeof(wh), "a binding from exchange '%s' to %s '%s' "
	    "with routing key '%s' in vhost '%s'", src,
	    kind[0] == 'q' ? "queue" : "exchange", dst, rk, ctl_vhost(c));
	if (pk == NULL) {
		/*
		 * The API deletes a binding by its properties_key: find it
		 * among the bindings between the two, by routing key and
		 * (when given) arguments.
		 */
		snprintf(tmpl, sizeof(tmpl), "/bindings/{}/e/{}/%s/{}", kind);
		path = ctl_path(tmpl, ctl_vhost(c), xname(src), dst);
		rc = ctl_api(c, "GET", path, NULL, wh, &list);
		free(path);
		if (rc != 0)
			return rc;
		args = ctl_arg_json(c, "arguments");
		for (size_t i = 0; i < json_len(list); i++) {
			const struct json *bd = json_at(list, i);
			const char *k = json_str(json_get(bd, "routing_key"),
			    NULL);

			if (k == NULL || strcmp(k, rk) != 0)
				continue;
			if (args != NULL && !json_same(args,
			    json_get(bd, "arguments")))
				continue;
			pk = json_str(json_get(bd, "properties_key"), NULL);
			if (pk != NULL)
				break;
		}
		json_free(args);
		if (pk == NULL) {
			json_free(list);
			if (ctl_arg_bool(c, "idempotently", false))
				return 0;
			return ctl_fail(CTL_EX_DATAERR, "%s not found", wh);
		}
	}
	snprintf(tmpl, sizeof(tmpl), "/bindings/{}/e/{}/%s/{}/{}", kind);
	path = ctl_path(tmpl, ctl_vhost(c), xname(src), dst, pk);
	rc = ctl_send(c, "DELETE", path, NULL, wh);
	free(path);
	json_free(list);
	return rc;
}

CTL_CMD(cmd_bindings_list)
{
	static const struct ctl_listing l = { "/bindings", true, false,
	    binding_cols, NCOLS(binding_cols), "source" };

	return ctl_list(c, &l);
}

CTL_CMD(cmd_connections_list)
{
	/* compat: /api/connections has no vhost form; /vhosts/{v}/
	 * connections is that listing, unpaginated. */
	static const struct ctl_listing l = { "/connections", false, true,
	    connection_cols, NCOLS(connection_cols), "name" };
	char *path;
	int rc;

	if (!c->conf.vhost_set)
		return ctl_list(c, &l);
	path = ctl_path("/vhosts/{}/connections", ctl_vhost(c));
	rc = ctl_list_path(c, path, connection_cols, NCOLS(connection_cols),
	    false, "name");
	free(path);
	return rc;
}

CTL_CMD(cmd_connections_close)
{
	const char *name = ctl_arg(c, "name"), *reason = ctl_arg(c, "reason");
	char *path = ctl_path("/connections/{}", name), hdr[1100], wh[1100];
	unsigned flags = 0;
	int rc;

	if (reason != NULL && strpbrk(reason, "\r\n") != NULL)
		return ctl_fail(CTL_EX_USAGE, "--reason must be one line");
	snprintf(hdr, sizeof(hdr), "X-Reason: %s", reason ? reason :
	    "Closed via warrenctl");
	snprintf(wh, sizeof(wh), "connection '%s'", name);
	if (ctl_arg_bool(c, "idempotently", false))
		flags |= CTL_REQ_OK404;
	rc = ctl_req(c, "DELETE", path, NULL, hdr, wh, flags, NULL);
	free(path);
	return rc;
}

CTL_CMD(cmd_channels_list)
{
	char *path;
	int rc;

	if (!c->conf.vhost_set)
		return ctl_list_path(c, "/channels", channel_cols,
		    NCOLS(channel_cols), true, "name");
	path = ctl_path("/vhosts/{}/channels", ctl_vhost(c));
	rc = ctl_list_path(c, path, channel_cols, NCOLS(channel_cols), false,
	    "name");
	free(path);
	return rc;
}

CTL_CMD(cmd_consumers_list)
{
	static const struct ctl_listing l = { "/consumers", true, false,
	    consumer_cols, NCOLS(consumer_cols), "consumer_tag" };

	return ctl_list(c, &l);
}

CTL_CMD(cmd_get_messages)
{
	const char *q = ctl_arg(c, "queue"), *mode = ctl_arg(c, "ackmode");
	struct ctl_out *out;
	struct json_writer w;
	struct json *j;
	struct buf b;
	char *path, *body, wh[1024];
	int rc;

	ctl_body_begin(&w, &b);
	json_w_keyc(&w, "count");
	json_w_int(&w, ctl_arg_long(c, "count", 1));
	json_w_keyc(&w, "ackmode");
	json_w_stringc(&w, mode ? mode : "ack_requeue_true");
	json_w_keyc(&w, "encoding");
	json_w_stringc(&w, "auto");
	if (ctl_arg(c, "truncate") != NULL) {
		json_w_keyc(&w, "truncate");
		json_w_int(&w, ctl_arg_long(c, "truncate", 0));
	}
	if ((body = ctl_body_end(&w, &b)) == NULL)
		return ctl_fail(CTL_EX_DATAERR, "the request is too large");
	path = ctl_path("/queues/{}/{}/get", ctl_vhost(c), q);
	rc = ctl_api(c, "POST", path, body, what(wh, sizeof(wh), "queue", q,
	    c), &j);
	free(path);
	free(body);
	if (rc != 0)
		return rc;
	if (json_type(j) != JSON_ARRAY) {
		json_free(j);
		return ctl_fail(CTL_EX_UNAVAILABLE, "the answer to get is not "
		    "a list");
	}
	if ((out = ctl_out_begin(stdout, message_cols, NCOLS(message_cols),
	    &c->out)) == NULL) {
		json_free(j);
		return ctl_fail(CTL_EX_USAGE, "cannot show these --columns");
	}
	rc = ctl_out_rows(out, j);
	if (ctl_out_end(out) != 0 || rc != 0)
		rc = ctl_fail(CTL_EX_IOERR, "cannot write the output");
	json_free(j);
	return rc;
}

CTL_CMD(cmd_publish_message)
{
	const char *x = ctl_arg(c, "exchange"), *rk = ctl_arg(c, "routing-key");
	const char *payload = ctl_arg(c, "payload");
	struct json_writer w;
	struct json *j;
	struct buf b;
	char *path, *body, wh[1024];
	int rc;

	if (x == NULL)
		x = "";
	ctl_body_begin(&w, &b);
	json_w_keyc(&w, "routing_key");
	json_w_stringc(&w, rk);
	json_w_keyc(&w, "payload");
	json_w_stringc(&w, payload ? payload : "");
	json_w_keyc(&w, "payload_encoding");
	json_w_stringc(&w, "string");
	json_w_keyc(&w, "properties");
	if (ctl_arg(c, "properties") != NULL) {
		struct json *p = ctl_arg_json(c, "properties");

		json_w_value(&w, p);
		json_free(p);
	} else {
		json_w_begin_object(&w);
		json_w_end_object(&w);
	}
	if ((body = ctl_body_end(&w, &b)) == NULL)
		return ctl_fail(CTL_EX_DATAERR, "the request is too large");
	path = ctl_path("/exchanges/{}/{}/publish", ctl_vhost(c), xname(x));
	rc = ctl_api(c, "POST", path, body, what(wh, sizeof(wh), "exchange",
	    x, c), &j);
	free(path);
	free(body);
	if (rc != 0)
		return rc;
	if (json_type(j) != JSON_OBJECT)
		rc = ctl_fail(CTL_EX_UNAVAILABLE, "the answer to publish is "
		    "not an object");
	else if (ctl_out_object(stdout, j, publish_cols, NCOLS(publish_cols),
	    &c->out) != 0)
		rc = ctl_fail(CTL_EX_IOERR, "cannot write the output");
	json_free(j);
	return rc;
}
