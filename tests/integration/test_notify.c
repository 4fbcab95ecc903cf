/*
 * warrend tells a service manager (systemd's Type=notify) when it is
 * ready and when it stops, over $NOTIFY_SOCKET (server/notify.c).
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

TestSuite(notify, .timeout = 60);

/* A datagram socket at path ('@': abstract), as systemd listens. */
static int
listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int fd;

	cr_assert_lt(len, sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	cr_assert_geq(fd = socket(AF_UNIX, SOCK_DGRAM, 0), 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)), 0,
	    "bind %s", path);
	return fd;
}

/* The next datagram, within 10 s. */
static void
next_state(int fd, char *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	cr_assert_eq(poll(&p, 1, 10000), 1, "no notification within 10 s");
	cr_assert_gt(n = recv(fd, buf, len - 1, 0), 0);
	buf[n] = '\0';
}

static void
ready_then_stopping(const char *path)
{
	struct hbroker b;
	char msg[512], want[64];
	int fd = listen_at(path);

	cr_assert_eq(setenv("NOTIFY_SOCKET", path, 1), 0);
	hb_start(&b, NULL);
	hb_require_warrend(&b);
	/* hb_start returns once warrend.port exists: READY was sent. */
	next_state(fd, msg, sizeof(msg));
	cr_expect_not_null(strstr(msg, "READY=1\n"), "%s", msg);
	snprintf(want, sizeof(want), "MAINPID=%ld\n", (long)b.pid);
	cr_expect_not_null(strstr(msg, want), "%s", msg);
	snprintf(want, sizeof(want), "port %d", b.port);
	cr_expect_not_null(strstr(msg, want), "status names the port: %s",
	    msg);
	cr_assert_eq(hb_stop(&b), 0);
	next_state(fd, msg, sizeof(msg));
	cr_expect_not_null(strstr(msg, "STOPPING=1\n"), "%s", msg);
	close(fd);
}

Test(notify, ready_and_stopping_on_a_socket_path)
{
	char dir[] = "/tmp/warren-notify.XXXXXX", path[128];

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	ready_then_stopping(path);
	unlink(path);
	rmdir(dir);
}

Test(notify, ready_and_stopping_on_an_abstract_socket)
{
	char path[64];

	snprintf(path, sizeof(path), "@warren-notify-%ld", (long)getpid());
	ready_then_stopping(path);
}

/* A NOTIFY_SOCKET that is nobody's is logged, and warrend runs on. */
Test(notify, a_dead_socket_does_not_stop_warrend)
{
	struct hbroker b;
	amqp_connection_state_t c;

	cr_assert_eq(setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1), 0);
	hb_start(&b, NULL);
	hb_require_warrend(&b);
	c = hb_connect(&b);
	hb_close(c);
	cr_assert_eq(hb_stop(&b), 0);
}
