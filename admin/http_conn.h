/*
 * Admin API connections on the broker loop, over HTTP or HTTPS: the socket
 * is a server/io.h buffered socket (TLS inside), admin/http.c parses,
 * api_handle() answers; keep-alive and pipelining, one response in flight
 * per connection. Answers obey the broker's output barrier like AMQP
 * replies: they go out from the prepare step, after the commit of what
 * the request changed. Every wait is bounded: --handshake-timeout for a
 * TLS handshake and a request's head (and, scaled by its size, its body),
 * a minute for an idle keep-alive connection or a client that does not
 * read its answer (HTTP_UNAUTH_IDLE_TIMEOUT while it has not logged in).
 * Connections are limited in all and per client address.
 */
#ifndef WARREN_ADMIN_HTTP_CONN_H
#define WARREN_ADMIN_HTTP_CONN_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "admin/http.h"
#include "server/io.h"

struct broker;

/* Seconds a keep-alive connection may sit idle, or an answer go unread. */
#define HTTP_IDLE_TIMEOUT	60.0
/*
 * Seconds a connection that has not sent good credentials yet may sit
 * idle between requests.
 */
#define HTTP_UNAUTH_IDLE_TIMEOUT	5.0
/* An answer body this big is moved into the output, not copied. */
#define HTTP_ANSWER_MOVE_MIN	(1u << 20)
/* Bytes a second a body must at least arrive at, after the head's time. */
#define HTTP_BODY_MIN_RATE	65536.0

struct http_conn {
	struct broker		*b;
	struct http_conn	*prev, *next;	/* the broker's list */
	char			 name[64];	/* peer address, for logs */
	struct sockaddr_storage	 peer;		/* for loopback-users */
	/* in: request bytes, head + body cap; out: the answer. */
	struct io		 io;
	ev_timer		 timer;		/* the one deadline in force */
	struct http_parser	 ps;
	struct http_request	 req;		/* the request being parsed */
	ev_tstamp		 request_start;	/* its first byte; 0: none */
	ev_tstamp		 last_active;	/* last answer written */
	ev_tstamp		 last_write;	/* answer queued */
	uint64_t		 nrequests;	/* answered so far */
	bool			 dirty;		/* on the broker's flush list */
	bool			 responding;	/* a final answer is in out */
	bool			 head_checked;	/* api_check_head ran */
	bool			 authed;	/* a request's credentials passed */
	bool			 close_after;	/* close once out is written */
	bool			 lingering;	/* written, draining until close */
	bool			 metrics;	/* the metrics listener's */
	/* A handler answers later (http_conn_defer): reads nothing, no
	 * deadline, until http_conn_answer. */
	bool			 deferred;
	bool			 deferred_close; /* the request wanted close */
	bool			 input_taken;	/* http_conn_take_input ran */
	int			 deferred_minor; /* its HTTP/1.minor */
	void			(*gone)(struct http_conn *h, void *arg);
	void			*gone_arg;
	char			 close_reason[64];
};

/*
 * Takes a connected, non-blocking socket from an admin listener (with
 * tls, HTTPS: a handshake comes first); NULL (the caller closes fd) past
 * admin-max-connections, admin-max-connections-per-address or out of
 * memory.
 */
struct http_conn *http_conn_new(struct broker *b, int fd, bool tls);
/* The listeners' accept callbacks (server/listener.h): http_conn_new. */
bool	http_conn_accept(struct broker *b, int fd);
bool	http_conn_accept_tls(struct broker *b, int fd);
/* The --prometheus-port listener's: serves the metrics paths only. */
bool	http_conn_accept_metrics(struct broker *b, int fd);
/*
 * For a handler whose answer takes several loop turns (a definitions
 * import): marks resp deferred; the request is consumed, and the
 * connection reads nothing more and has no deadline until
 * http_conn_answer (the work is bounded). If the connection closes first
 * (client gone, broker stopping), gone(h, arg) is called and h must not
 * be used again.
 */
void	http_conn_defer(struct http_conn *h, struct http_response *resp,
	    void (*gone)(struct http_conn *h, void *arg), void *arg);
/*
 * For a deferred handler: takes the request's bytes out of h's input
 * buffer without copying them (a body may be 20 MB): returns the memory
 * that holds req->body, to free() once done with it; h goes on with a
 * fresh buffer holding what follows the request.
 */
void	*http_conn_take_input(struct http_conn *h);
/*
 * The deferred answer: queued for after the next commit, as any other
 * (its body may be taken: resp is only for http_response_free after).
 */
void	http_conn_answer(struct http_conn *h, struct http_response *resp);
/* Writes a queued answer; called from the prepare step, after COMMIT. */
void	http_conn_flush(struct http_conn *h);
/* Closes the socket and frees the connection now. */
void	http_conn_close(struct http_conn *h, const char *why);
/* Broker shutdown: every connection closes on the next loop turn. */
void	http_conn_shutdown(struct broker *b);
/* Broker teardown: closes and frees every connection now. */
void	http_conn_close_all(struct broker *b);

#endif /* WARREN_ADMIN_HTTP_CONN_H */
