#include "autoconf.h"

#include "admin/api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/api_list.h"
#include "admin/http.h"
#include "admin/prometheus.h"
#include "lib/json.h"
#include "lib/log.h"
#include "server/auth.h"
#include "server/broker.h"

struct api_route {
	enum http_method	 method;	/* HTTP_GET also serves HEAD */
	const char		*pattern;	/* "/api/vhosts/{}": "{}" is an arg */
	api_handler_fn		*handler;
	unsigned		 tags;		/* USER_TAG_*: one needed; 0: none */
	size_t			 body_max;	/* bytes of body it takes */
};

/*
 * Each route takes the body it needs and no more, checked from
 * Content-Length before the body is read (api_check_head); so the input
 * buffer of an admin connection is sized for the largest of them
 * (API_BODY_MAX), not for RabbitMQ's max_body_size. compat: RabbitMQ
 * (Cowboy) never reads the body of a route that takes none and answers
 * as if there were none, and takes up to management.http.max_body_size
 * (20 MB) on any other; warren answers 413 to both, naming the limit.
 */
#define SMALL_BODY	API_BODY_MAX

/*
 * A route anyone may call without credentials (the Kubernetes probes,
 * the web UI's /api/auth). Not a user tag.
 */
#define ROUTE_NO_AUTH	0x80000000u

/* compat: RabbitMQ management paths and the tags they need. */
static const struct api_route routes[] = {
	{ HTTP_GET,	"/api/overview",	api_overview,	0, 0 },
	{ HTTP_GET,	"/api/whoami",		api_whoami,	0, 0 },
	{ HTTP_GET,	"/api/vhosts",		api_vhosts_list, 0, 0 },
	/* compat: administrators only, as RabbitMQ 3.10 (checked). */
	{ HTTP_GET,	"/api/vhosts/{}",	api_vhost_get,
	    USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_PUT,	"/api/vhosts/{}",	api_vhost_put,
	    USER_TAG_ADMINISTRATOR, SMALL_BODY },
	{ HTTP_DELETE,	"/api/vhosts/{}",	api_vhost_delete,
	    USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_GET,	"/api/users",		api_users_list,
	    USER_TAG_ADMINISTRATOR, 0 },
	/* compat: literal segments before :user, as RabbitMQ's router. */
	{ HTTP_GET,	"/api/users/without-permissions",
	    api_users_without_permissions, USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_POST,	"/api/users/bulk-delete", api_users_bulk_delete,
	    USER_TAG_ADMINISTRATOR, SMALL_BODY },
	{ HTTP_GET,	"/api/users/{}",	api_user_get,
	    USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_PUT,	"/api/users/{}",	api_user_put,
	    USER_TAG_ADMINISTRATOR, SMALL_BODY },
	{ HTTP_DELETE,	"/api/users/{}",	api_user_delete,
	    USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_GET,	"/api/permissions",	api_permissions_list,
	    USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_GET,	"/api/permissions/{}/{}", api_permission_get,
	    USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_PUT,	"/api/permissions/{}/{}", api_permission_put,
	    USER_TAG_ADMINISTRATOR, SMALL_BODY },
	{ HTTP_DELETE,	"/api/permissions/{}/{}", api_permission_delete,
	    USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_GET,	"/api/users/{}/permissions", api_user_permissions,
	    USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_GET,	"/api/users/{}/topic-permissions",
	    api_user_topic_permissions, USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_GET,	"/api/vhosts/{}/permissions", api_vhost_permissions,
	    USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_GET,	"/api/vhosts/{}/topic-permissions",
	    api_vhost_topic_permissions, USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_GET,	"/api/topic-permissions", api_topic_permissions_list,
	    USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_GET,	"/api/topic-permissions/{}/{}",
	    api_topic_permission_get, USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_PUT,	"/api/topic-permissions/{}/{}",
	    api_topic_permission_put, USER_TAG_ADMINISTRATOR, SMALL_BODY },
	{ HTTP_DELETE,	"/api/topic-permissions/{}/{}",
	    api_topic_permission_delete, USER_TAG_ADMINISTRATOR, 0 },
	/* compat: visibility per user is the handlers' (api_conns.c). */
	{ HTTP_GET,	"/api/connections",	api_connections_list, 0, 0 },
	{ HTTP_GET,	"/api/connections/username/{}", api_user_connections,
	    0, 0 },
	{ HTTP_DELETE,	"/api/connections/username/{}",
	    api_user_connections_delete, 0, 0 },
	{ HTTP_GET,	"/api/connections/{}",	api_connection_get, 0, 0 },
	{ HTTP_DELETE,	"/api/connections/{}",	api_connection_delete, 0, 0 },
	{ HTTP_GET,	"/api/connections/{}/channels",
	    api_connection_channels, 0, 0 },
	{ HTTP_GET,	"/api/vhosts/{}/connections", api_vhost_connections,
	    0, 0 },
	{ HTTP_GET,	"/api/vhosts/{}/channels", api_vhost_channels, 0, 0 },
	{ HTTP_GET,	"/api/channels",	api_channels_list, 0, 0 },
	{ HTTP_GET,	"/api/channels/{}",	api_channel_get, 0, 0 },
	{ HTTP_GET,	"/api/consumers",	api_consumers_list, 0, 0 },
	{ HTTP_GET,	"/api/consumers/{}",	api_vhost_consumers, 0, 0 },
	/* compat: monitoring or administrator, as RabbitMQ 3.10. */
	{ HTTP_GET,	"/api/nodes",		api_nodes_list,
	    USER_TAG_MONITORING, 0 },
	{ HTTP_GET,	"/api/nodes/{}",	api_node_get,
	    USER_TAG_MONITORING, 0 },
	{ HTTP_GET,	"/api/nodes/{}/memory",	api_node_memory,
	    USER_TAG_MONITORING, 0 },
	{ HTTP_GET,	"/api/nodes/{}/memory/relative",
	    api_node_memory_relative, USER_TAG_MONITORING, 0 },
	{ HTTP_GET,	"/api/extensions",	api_extensions, 0, 0 },
	{ HTTP_GET,	"/api/feature-flags",	api_feature_flags, 0, 0 },
	{ HTTP_GET,	"/api/deprecated-features", api_deprecated_features,
	    0, 0 },
	{ HTTP_GET,	"/api/deprecated-features/used",
	    api_deprecated_features, 0, 0 },
	{ HTTP_GET,	"/api/version",		api_version, 0, 0 },
	{ HTTP_GET,	"/api/cluster-name",	api_cluster_name_get, 0, 0 },
	{ HTTP_PUT,	"/api/cluster-name",	api_cluster_name_put,
	    USER_TAG_ADMINISTRATOR, SMALL_BODY },
	{ HTTP_GET,	"/api/auth",		api_auth, ROUTE_NO_AUTH, 0 },
	{ HTTP_GET,	"/api/aliveness-test/{}", api_aliveness_test, 0, 0 },
	{ HTTP_GET,	"/api/healthchecks/node", api_healthchecks_node, 0, 0 },
	{ HTTP_GET,	"/api/healthchecks/node/{}", api_healthchecks_node,
	    0, 0 },
	{ HTTP_GET,	"/api/health/checks/alarms", api_health_alarms, 0, 0 },
	{ HTTP_GET,	"/api/health/checks/local-alarms",
	    api_health_local_alarms, 0, 0 },
	{ HTTP_GET,	"/api/health/checks/port-listener/{}",
	    api_health_port_listener, 0, 0 },
	{ HTTP_GET,	"/api/health/checks/protocol-listener/{}",
	    api_health_protocol_listener, 0, 0 },
	{ HTTP_GET,	"/api/health/checks/virtual-hosts",
	    api_health_virtual_hosts, 0, 0 },
	{ HTTP_GET,	"/api/health/checks/node-is-quorum-critical",
	    api_health_quorum_critical, 0, 0 },
	{ HTTP_GET,	"/api/health/checks/certificate-expiration/{}/{}",
	    api_health_certificate_expiration, 0, 0 },
	{ HTTP_GET,	"/api/health/checks/metadata-store/initialized",
	    api_health_metadata_store, 0, 0 },
	/* compat: unauthenticated, for Kubernetes probes (contract §7). */
	{ HTTP_GET,	"/api/health/checks/is-in-service",
	    api_health_is_in_service, ROUTE_NO_AUTH, 0 },
	{ HTTP_GET,	"/api/health/checks/ready-to-serve-clients",
	    api_health_ready_to_serve, ROUTE_NO_AUTH, 0 },
	{ HTTP_GET,	"/api/health/checks/below-node-connection-limit",
	    api_health_below_connection_limit, ROUTE_NO_AUTH, 0 },
	{ HTTP_GET,	"/api/health/checks/reached-target-cluster-size",
	    api_health_target_cluster_size, ROUTE_NO_AUTH, 0 },
	/* Queues, exchanges, bindings: vhost rights are checked inside. */
	{ HTTP_GET,	"/api/queues",		api_queues_list, 0, 0 },
	{ HTTP_GET,	"/api/queues/{}",	api_queues_vhost, 0, 0 },
	{ HTTP_GET,	"/api/queues/{}/{}",	api_queue_get, 0, 0 },
	{ HTTP_PUT,	"/api/queues/{}/{}",	api_queue_put, 0, SMALL_BODY },
	{ HTTP_DELETE,	"/api/queues/{}/{}",	api_queue_delete, 0, 0 },
	{ HTTP_DELETE,	"/api/queues/{}/{}/contents", api_queue_purge, 0, 0 },
	{ HTTP_POST,	"/api/queues/{}/{}/get", api_queue_get_messages, 0,
	    SMALL_BODY },
	{ HTTP_GET,	"/api/queues/{}/{}/bindings", api_queue_bindings, 0,
	    0 },
	{ HTTP_GET,	"/api/exchanges",	api_exchanges_list, 0, 0 },
	{ HTTP_GET,	"/api/exchanges/{}",	api_exchanges_vhost, 0, 0 },
	{ HTTP_GET,	"/api/exchanges/{}/{}",	api_exchange_get, 0, 0 },
	{ HTTP_PUT,	"/api/exchanges/{}/{}",	api_exchange_put, 0,
	    SMALL_BODY },
	{ HTTP_DELETE,	"/api/exchanges/{}/{}",	api_exchange_delete, 0, 0 },
	{ HTTP_POST,	"/api/exchanges/{}/{}/publish", api_exchange_publish,
	    0, SMALL_BODY },
	{ HTTP_GET,	"/api/exchanges/{}/{}/bindings/source",
	    api_exchange_bindings_source, 0, 0 },
	{ HTTP_GET,	"/api/exchanges/{}/{}/bindings/destination",
	    api_exchange_bindings_destination, 0, 0 },
	{ HTTP_GET,	"/api/bindings",	api_bindings_list, 0, 0 },
	{ HTTP_GET,	"/api/bindings/{}",	api_bindings_vhost, 0, 0 },
	{ HTTP_GET,	"/api/bindings/{}/e/{}/q/{}", api_bindings_between, 0,
	    0 },
	{ HTTP_POST,	"/api/bindings/{}/e/{}/q/{}", api_binding_post, 0,
	    SMALL_BODY },
	{ HTTP_GET,	"/api/bindings/{}/e/{}/e/{}", api_bindings_between, 0,
	    0 },
	{ HTTP_POST,	"/api/bindings/{}/e/{}/e/{}", api_binding_post, 0,
	    SMALL_BODY },
	{ HTTP_GET,	"/api/bindings/{}/e/{}/q/{}/{}", api_binding_get, 0,
	    0 },
	{ HTTP_DELETE,	"/api/bindings/{}/e/{}/q/{}/{}", api_binding_delete,
	    0, 0 },
	{ HTTP_GET,	"/api/bindings/{}/e/{}/e/{}/{}", api_binding_get, 0,
	    0 },
	{ HTTP_DELETE,	"/api/bindings/{}/e/{}/e/{}/{}", api_binding_delete,
	    0, 0 },
	/* compat: RabbitMQ 3.10 (checked); see api_policies.c. */
	{ HTTP_GET,	"/api/policies",	api_policies_list, 0, 0 },
	{ HTTP_GET,	"/api/policies/{}",	api_policies_vhost, 0, 0 },
	{ HTTP_GET,	"/api/policies/{}/{}",	api_policy_get,
	    USER_TAG_POLICYMAKER, 0 },
	{ HTTP_PUT,	"/api/policies/{}/{}",	api_policy_put,
	    USER_TAG_POLICYMAKER, SMALL_BODY },
	{ HTTP_DELETE,	"/api/policies/{}/{}",	api_policy_delete,
	    USER_TAG_POLICYMAKER, 0 },
	{ HTTP_GET,	"/api/operator-policies", api_operator_policies_list,
	    0, 0 },
	{ HTTP_GET,	"/api/operator-policies/{}",
	    api_operator_policies_vhost, 0, 0 },
	{ HTTP_GET,	"/api/operator-policies/{}/{}",
	    api_operator_policy_get, USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_PUT,	"/api/operator-policies/{}/{}",
	    api_operator_policy_put, USER_TAG_ADMINISTRATOR, SMALL_BODY },
	{ HTTP_DELETE,	"/api/operator-policies/{}/{}",
	    api_operator_policy_delete, USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_GET,	"/api/vhost-limits",	api_vhost_limits_list, 0, 0 },
	{ HTTP_GET,	"/api/vhost-limits/{}",	api_vhost_limits_get, 0, 0 },
	{ HTTP_PUT,	"/api/vhost-limits/{}/{}", api_vhost_limit_put,
	    USER_TAG_ADMINISTRATOR, SMALL_BODY },
	{ HTTP_DELETE,	"/api/vhost-limits/{}/{}", api_vhost_limit_delete,
	    USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_GET,	"/api/user-limits",	api_user_limits_list, 0, 0 },
	{ HTTP_GET,	"/api/user-limits/{}",	api_user_limits_get, 0, 0 },
	{ HTTP_PUT,	"/api/user-limits/{}/{}", api_user_limit_put,
	    USER_TAG_ADMINISTRATOR, SMALL_BODY },
	{ HTTP_DELETE,	"/api/user-limits/{}/{}", api_user_limit_delete,
	    USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_GET,	"/api/definitions",	api_definitions_get,
	    USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_POST,	"/api/definitions",	api_definitions_post,
	    USER_TAG_ADMINISTRATOR, API_DEFS_BODY_MAX },
	{ HTTP_GET,	"/api/definitions/{}",	api_definitions_vhost_get,
	    USER_TAG_ADMINISTRATOR, 0 },
	{ HTTP_POST,	"/api/definitions/{}",	api_definitions_vhost_post,
	    USER_TAG_ADMINISTRATOR, API_DEFS_BODY_MAX },
};

/* compat: any of these tags lets a user into the management API. */
#define MANAGEMENT_TAGS	(USER_TAG_MANAGEMENT | USER_TAG_POLICYMAKER | \
	USER_TAG_MONITORING | USER_TAG_ADMINISTRATOR)

#define ARGS_MAX	(sizeof(((struct api_ctx *)0)->arg) / \
	sizeof(((struct api_ctx *)0)->arg[0]))

/* Matches the request's decoded segments against a pattern. */
static bool
match(const char *pattern, const struct http_request *req,
    struct proto_str *arg, size_t *nargs)
{
	const char *p = pattern, *e;
	size_t i = 0, n = 0;

	if (req->too_many_segments)
		return false;
	while (*p == '/') {
		p++;
		if ((e = strchr(p, '/')) == NULL)
			e = p + strlen(p);
		if (i == req->nseg)
			return false;
		if (e - p == 2 && p[0] == '{' && p[1] == '}') {
			if (n == ARGS_MAX)
				return false;
			arg[n++] = req->seg[i];
		} else if (!proto_str_eq(req->seg[i], (struct proto_str){
		    (const uint8_t *)p, (size_t)(e - p) }))
			return false;
		i++;
		p = e;
	}
	if (i != req->nseg)
		return false;
	*nargs = n;
	return true;
}

static void
set_error(struct http_response *resp, int status, const char *error,
    const char *reason)
{
	struct json_writer w;

	http_response_reset(resp);
	resp->status = status;
	json_writer_init(&w, &resp->body);
	json_w_begin_object(&w);
	json_w_keyc(&w, "error");
	json_w_stringc(&w, error);
	json_w_keyc(&w, "reason");
	json_w_stringc(&w, reason);
	json_w_end_object(&w);
}

void
api_error(struct api_ctx *ctx, int status, const char *error,
    const char *fmt, ...)
{
	char reason[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	set_error(ctx->resp, status, error, reason);
}

void
api_status(struct api_ctx *ctx, int status)
{
	http_response_reset(ctx->resp);
	ctx->resp->status = status;
}

struct json_writer *
api_json_begin(struct api_ctx *ctx)
{
	http_response_reset(ctx->resp);
	ctx->resp->status = 200;
	json_writer_init(&ctx->json, &ctx->resp->body);
	return &ctx->json;
}

void
api_json_end(struct api_ctx *ctx)
{
	if (json_writer_done(&ctx->json) == 0) {
		api_columns_apply(ctx);
		return;
	}
	log_warnx("admin: %.*s: answer too large or malformed",
	    PSTR(ctx->req->path));
	api_error(ctx, 500, "internal_error", "response too large");
}

struct json *
api_body_json(struct api_ctx *ctx)
{
	/* Sized for the body cap: one big string may fill it. */
	static const struct json_limits lim = {
		.max_input = HTTP_BODY_MAX,
		.max_depth = 64,
		.max_string = HTTP_BODY_MAX,
		.max_nodes = 2000000,
	};
	const struct http_request *req = ctx->req;
	struct json *j;
	char err[256];

	if (req->content_length == 0)
		j = json_parse("{}", 2, err, sizeof(err));
	else
		j = json_parse_limits((const char *)req->body,
		    req->content_length, &lim, err, sizeof(err));
	if (j == NULL) {
		/* compat: RabbitMQ's reason is just "not_json". */
		log_debug("admin: %.*s: body: %s", PSTR(req->path), err);
		api_error(ctx, 400, "bad_request", "not_json");
	}
	return j;
}

/* Finds the route; answers 404 or 405 when there is none. */
static const struct api_route *
route(struct api_ctx *ctx)
{
	/* In Allow's order; a GET route serves HEAD too. */
	static const char *const names[] = {
		[HTTP_GET] = "HEAD, GET", [HTTP_PUT] = "PUT",
		[HTTP_POST] = "POST", [HTTP_DELETE] = "DELETE",
	};
	const struct http_request *req = ctx->req;
	enum http_method m = req->method == HTTP_HEAD ? HTTP_GET : req->method;
	const struct api_route *found = NULL;
	struct proto_str arg[ARGS_MAX];
	unsigned methods = 0;
	size_t n;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct api_route *r = &routes[i];

		if (!match(r->pattern, req, arg, &n))
			continue;
		methods |= 1u << r->method;
		if (r->method == m && found == NULL) {
			found = r;
			memcpy(ctx->arg, arg, n * sizeof(arg[0]));
			ctx->nargs = n;
		}
	}
	if (found != NULL)
		return found;
	if (methods == 0) {
		/* compat: RabbitMQ's body for a path it has no route for. */
		api_error(ctx, 404, "Object Not Found", "Not Found");
		return NULL;
	}
	/* compat: an empty 405 with Allow, as RabbitMQ answers. */
	api_status(ctx, 405);
	for (size_t k = 0, len = 0; k < sizeof(names) / sizeof(names[0]);
	    k++) {
		char *a = ctx->resp->allow;

		if (names[k] == NULL || !(methods & (1u << k)))
			continue;
		/* Allow is 64 bytes: "HEAD, GET, PUT, POST, DELETE" fits. */
		len += (size_t)snprintf(a + len, sizeof(ctx->resp->allow) - len,
		    "%s%s", len > 0 ? ", " : "", names[k]);
	}
	return NULL;
}

static void
login_failed(struct api_ctx *ctx)
{
	/* compat: RabbitMQ's answer to wrong or unknown credentials. */
	api_error(ctx, 401, "not_authorized", "Login failed");
	ctx->resp->authenticate = true;
}

/* HTTP Basic against the broker's users, as a SASL PLAIN login. */
static bool
authenticate(struct api_ctx *ctx)
{
	const struct http_request *req = ctx->req;
	struct proto_str resp;
	enum auth_result rc;
	uint8_t *plain;
	size_t n;

	switch (req->auth) {
	case HTTP_AUTH_NONE:
		/* compat: no credentials: an empty 401 asking for them. */
		api_status(ctx, 401);
		ctx->resp->authenticate = true;
		return false;
	case HTTP_AUTH_MALFORMED:
		/* compat: RabbitMQ (Cowboy) cannot read it: an empty 400. */
		api_status(ctx, 400);
		return false;
	case HTTP_AUTH_OTHER:
		login_failed(ctx);
		return false;
	case HTTP_AUTH_BASIC:
		break;
	}
	/* authzid (empty) NUL authcid NUL passwd */
	n = 2 + req->user.len + req->pass.len;
	if ((plain = malloc(n)) == NULL) {
		api_error(ctx, 503, "internal_error", "out of memory");
		return false;
	}
	plain[0] = '\0';
	memcpy(plain + 1, req->user.p, req->user.len);
	plain[1 + req->user.len] = '\0';
	memcpy(plain + 2 + req->user.len, req->pass.p, req->pass.len);
	resp = (struct proto_str){ plain, n };
	rc = auth_login(ctx->b, PROTO_STR_LIT("PLAIN"), resp,
	    (const struct sockaddr *)&req->peer, &ctx->user);
	/* The password leaves no copy behind. */
	explicit_bzero(plain, n);
	free(plain);
	if (rc != AUTH_OK) {
		ctx->b->stats.auth_failed[STATS_AUTH_HTTP]++;
		ctx->user = NULL;
		login_failed(ctx);
		return false;
	}
	ctx->b->stats.auth_ok[STATS_AUTH_HTTP]++;
	return true;
}

/* The user's tags against the API's and the route's needs. */
static bool
authorize(struct api_ctx *ctx, const struct api_route *r)
{
	unsigned have = ctx->user->tag_bits;
	const char *reason;

	/* compat: RabbitMQ's wording (and spelling) for each refusal. */
	if ((have & MANAGEMENT_TAGS) == 0) {
		api_error(ctx, 401, "not_authorised", "Not management user");
		return false;
	}
	if (r->tags == 0 || (have & (r->tags | USER_TAG_ADMINISTRATOR)))
		return true;
	if (r->tags & USER_TAG_MONITORING)
		reason = "Not monitor user";
	else if (r->tags & USER_TAG_POLICYMAKER)
		reason = "User not authorised to access object";
	else
		reason = "Not administrator user";
	api_error(ctx, 401, "not_authorised", "%s", reason);
	return false;
}

/*
 * Everything before the handler: method, route, credentials, tags, in
 * RabbitMQ's order (an unknown path or method is answered before the
 * credentials are looked at). NULL when the answer is already in resp.
 */
static const struct api_route *
dispatch(struct api_ctx *ctx, struct broker *b,
    const struct http_request *req, struct http_response *resp)
{
	const struct api_route *r;

	memset(ctx, 0, sizeof(*ctx));
	ctx->b = b;
	ctx->req = req;
	ctx->resp = resp;
	/* compat: Cowboy answers a method it does not know with 501. */
	if (req->method == HTTP_OTHER) {
		api_status(ctx, 501);
		return NULL;
	}
	if ((r = route(ctx)) == NULL)
		return NULL;
	/* Before the credentials: nobody makes the broker read a body. */
	if (req->content_length > r->body_max) {
		if (r->body_max == 0)
			api_error(ctx, 413, "bad_request", "%.*s %.*s takes no "
			    "request body", PSTR(req->method_name),
			    PSTR(req->path));
		else	/* compat: RabbitMQ's words for a body too large */
			api_error(ctx, 413, "bad_request",
			    "Exceeded HTTP request body size limit");
		resp->close = true;
		return NULL;
	}
	if (r->tags == ROUTE_NO_AUTH)
		return r;
	if (!authenticate(ctx) || !authorize(ctx, r))
		return NULL;
	resp->authenticated = true;
	return r;
}

void
api_handle(struct broker *b, const struct http_request *req,
    struct http_response *resp)
{
	const struct api_route *r;
	struct api_ctx ctx;

	/*
	 * compat: RabbitMQ serves metrics on its Prometheus port only, with
	 * no credentials; warren serves them here too, the same way (they
	 * are on that port for anyone already).
	 */
	if (prometheus_path(req)) {
		prometheus_handle(b, req, resp);
		return;
	}
	if ((r = dispatch(&ctx, b, req, resp)) == NULL)
		return;
	r->handler(&ctx);
	api_list_free(&ctx);
	if (resp->status == 0 && !resp->deferred)
		api_error(&ctx, 500, "internal_error", "no answer");
}

bool
api_check_head(struct broker *b, const struct http_request *req,
    struct http_response *resp)
{
	struct api_ctx ctx;

	if (prometheus_path(req))
		return prometheus_check_head(b, req, resp);
	if (dispatch(&ctx, b, req, resp) == NULL)
		return false;
	http_response_reset(resp);
	return true;
}

void
api_write_tags(struct json_writer *w, const char *tags)
{
	const char *p = tags;

	json_w_begin_array(w);
	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, ","), s = 0, e = n;

		while (s < e && p[s] == ' ')
			s++;
		while (e > s && p[e - 1] == ' ')
			e--;
		if (e > s)
			json_w_string(w, p + s, e - s);
		p += n;
		if (*p == ',')
			p++;
	}
	json_w_end_array(w);
}
