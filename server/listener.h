/* Listening sockets: accept with the spare-fd trick for EMFILE. */
#ifndef WARREN_SERVER_LISTENER_H
#define WARREN_SERVER_LISTENER_H

#include <ev.h>
#include <stdbool.h>

struct broker;

/* Takes an accepted socket; false if it was not taken (it is closed). */
typedef bool listener_accept_fn(struct broker *b, int fd);

struct listener {
	struct broker	*b;
	int		 fd;
	int		 spare_fd;	/* closed to accept-and-drop on EMFILE */
	int		 port;		/* the bound port (ephemeral resolved) */
	bool		 tls;		/* amqps: connections start with TLS */
	listener_accept_fn *accept;	/* NULL: AMQP connections (conn_new) */
	ev_io		 io;
	char		 name[80];
};

/* Binds and listens; NULL with a logged reason on failure. */
struct listener *listener_new(struct broker *b, const char *addr, int port);
void	listener_stop(struct listener *l);
void	listener_free(struct listener *l);

#endif /* WARREN_SERVER_LISTENER_H */
