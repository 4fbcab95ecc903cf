/*
 * Prometheus metrics (compat: RabbitMQ's rabbitmq_prometheus plugin) in
 * the text exposition format: GET /metrics (every family summed, no
 * object labels), /metrics/per-object (labelled by vhost and queue,
 * exchange or channel) and /metrics/detailed?family=F&vhost=V&queue=RE
 * (only the families asked for, prefixed rabbitmq_detailed_), each with
 * rabbitmq_identity_info and rabbitmq_build_info, plus warren's own store
 * commit histograms. No authentication, as RabbitMQ's plugin by default.
 * Served on the --prometheus-port listener and on the admin port.
 */
#ifndef WARREN_ADMIN_PROMETHEUS_H
#define WARREN_ADMIN_PROMETHEUS_H

#include <stdbool.h>

struct broker;
struct http_request;
struct http_response;

/* Whether req's path is one of the metrics paths (/metrics...). */
bool	prometheus_path(const struct http_request *req);
/*
 * Answers a request for a metrics path into resp (empty, from
 * http_response_init): 200 text/plain, 404 for an unknown metrics path,
 * 405 for a method other than GET or HEAD, 400 for a bad queue regex.
 */
void	prometheus_handle(struct broker *b, const struct http_request *req,
	    struct http_response *resp);
/*
 * The request's head is in: false, with the answer in resp, when it will
 * be refused whatever its body (every metrics path takes no body).
 */
bool	prometheus_check_head(struct broker *b, const struct http_request *req,
	    struct http_response *resp);

/*
 * The metrics listener's answers (admin/http_conn.c): the metrics paths
 * as above, a plain 404 for any other.
 */
void	prometheus_serve(struct broker *b, const struct http_request *req,
	    struct http_response *resp);
bool	prometheus_serve_head(struct broker *b,
	    const struct http_request *req, struct http_response *resp);

#endif /* WARREN_ADMIN_PROMETHEUS_H */
