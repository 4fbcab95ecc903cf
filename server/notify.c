#include "autoconf.h"

#include "server/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"

/*
 * spec: sd_notify(3)'s protocol, by hand rather than through libsystemd:
 * a datagram of newline-separated VAR=value lines to the AF_UNIX socket
 * named by NOTIFY_SOCKET, a path or, with a leading '@', a name in the
 * abstract namespace.
 */
static void
send_state(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len, salen;
	int fd;

	if (path == NULL || path[0] == '\0')
		return;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path)) {
		log_warnx("notify: NOTIFY_SOCKET '%s' is not a socket path",
		    path);
		return;
	}
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	salen = offsetof(struct sockaddr_un, sun_path) + len;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("notify: socket");
		return;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sa, (socklen_t)salen) == -1)
		log_warn("notify: %s", path);
	close(fd);
}

void
notify_ready(const char *status)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%ld\nSTATUS=%s\n",
	    (long)getpid(), status);
	send_state(msg);
}

void
notify_stopping(void)
{
	send_state("STOPPING=1\nSTATUS=stopping\n");
}
