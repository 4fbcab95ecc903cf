#include "autoconf.h"

#include "server/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "server/broker.h"
#include "server/conn.h"

/*
 * TCP keepalive reaps half-open connections of clients that turned
 * heartbeats off: probes after 60 s idle, every 10 s, 3 tries (LavinMQ's
 * 60:10:3).
 */
static void
set_keepalive(int fd)
{
	int on = 1, idle = 60, intvl = 10, cnt = 3;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static void
on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = w->data;
	int fd, one = 1;

	/* Bounded per wake-up so one busy listener cannot starve the loop. */
	for (int i = 0; i < 64; i++) {
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if ((errno == EMFILE || errno == ENFILE) &&
			    l->spare_fd != -1) {
				/*
				 * Out of descriptors: free the spare, accept
				 * and drop the client so it is not left
				 * hanging in the backlog, then re-arm.
				 */
				log_warn("%s: accept", l->name);
				close(l->spare_fd);
				fd = accept(l->fd, NULL, NULL);
				if (fd != -1)
					close(fd);
				l->spare_fd = open("/dev/null",
				    O_RDONLY | O_CLOEXEC);
				return;
			}
			log_warn("%s: accept", l->name);
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		set_keepalive(fd);
		if (l->b->stopping)
			close(fd);
		else if (l->accept != NULL) {
			if (!l->accept(l->b, fd))
				close(fd);
		} else if ((l->tls ? conn_new_tls(l->b, fd) :
		    conn_new(l->b, fd)) == NULL)
			close(fd);
	}
}

struct listener *
listener_new(struct broker *b, const char *addr, int port)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct listener *l;
	char portstr[16];
	int one = 1, rc;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->b = b;
	l->fd = l->spare_fd = -1;
	snprintf(portstr, sizeof(portstr), "%d", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(addr, portstr, &hints, &res)) != 0) {
		log_warnx("listener %s:%d: %s", addr, port, gai_strerror(rc));
		goto fail;
	}
	l->fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (l->fd == -1) {
		log_warn("listener %s:%d: socket", addr, port);
		goto fail;
	}
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l->fd, res->ai_addr, res->ai_addrlen) == -1) {
		log_warn("listener %s:%d: bind", addr, port);
		goto fail;
	}
	if (listen(l->fd, 1024) == -1) {
		log_warn("listener %s:%d: listen", addr, port);
		goto fail;
	}
	if (getsockname(l->fd, (struct sockaddr *)&ss, &sslen) == 0)
		l->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(l->name, sizeof(l->name), "listener %s:%d", addr, l->port);
	l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	freeaddrinfo(res);
	ev_io_init(&l->io, on_accept, l->fd, EV_READ);
	l->io.data = l;
	ev_io_start(b->loop, &l->io);
	return l;
fail:
	if (res)
		freeaddrinfo(res);
	if (l->fd != -1)
		close(l->fd);
	free(l);
	return NULL;
}

void
listener_stop(struct listener *l)
{
	if (l->fd == -1)
		return;
	ev_io_stop(l->b->loop, &l->io);
	close(l->fd);
	l->fd = -1;
}

void
listener_free(struct listener *l)
{
	listener_stop(l);
	if (l->spare_fd != -1)
		close(l->spare_fd);
	free(l);
}
