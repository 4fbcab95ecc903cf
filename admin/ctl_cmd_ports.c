#include "autoconf.h"

/*
 * health_check port_connectivity (compat: rabbitmq-diagnostics
 * check_port_connectivity): a TCP connection to every listener the node
 * reports in /api/overview, so a port that is bound but unreachable (a
 * firewall, a full backlog, a wrong address) fails the check, which a
 * listing of listeners would not show.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin/ctl.h"
#include "admin/ctl_cmd.h"
#include "admin/ctl_http.h"
#include "lib/json.h"

/* Connects to host:port within ms; 0, or -1 with the reason in why. */
static int
try_connect(const char *host, int port, int ms, char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char serv[16];
	int rc, fd, err;

	snprintf(serv, sizeof(serv), "%d", port);
	if ((rc = getaddrinfo(host, serv, &hints, &res)) != 0) {
		snprintf(why, len, "%s", gai_strerror(rc));
		return -1;
	}
	snprintf(why, len, "no address");
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd p = { .events = POLLOUT };
		socklen_t elen = sizeof(err);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1)
			continue;
		err = 0;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
			err = errno;
			if (err == EINPROGRESS) {
				p.fd = fd;
				if (poll(&p, 1, ms) != 1)
					err = ETIMEDOUT;
				else if (getsockopt(fd, SOL_SOCKET, SO_ERROR,
				    &err, &elen) == -1)
					err = errno;
			}
		}
		close(fd);
		if (err == 0) {
			freeaddrinfo(res);
			return 0;
		}
		snprintf(why, len, "%s", strerror(err));
	}
	freeaddrinfo(res);
	return -1;
}

/* The address to reach a listener at: its own, or ours for "any". */
static const char *
listener_host(const struct ctl *c, const char *ip)
{
	if (ip == NULL || strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0)
		return c->conf.host;
	return ip;
}

CTL_CMD(cmd_health_port_connectivity)
{
	const struct json *ls;
	struct json *j;
	char ports[512] = "", why[256];
	size_t used = 0;
	int rc, ms;

	if ((rc = ctl_api(c, "GET", "/overview", NULL, NULL, &j)) != 0)
		return rc;
	ls = json_get(j, "listeners");
	if (ls == NULL || json_type(ls) != JSON_ARRAY || json_len(ls) == 0) {
		json_free(j);
		return ctl_fail(CTL_EX_UNAVAILABLE, "the node reports no "
		    "listeners");
	}
	ms = (int)(c->conf.timeout_set && c->conf.timeout < 60 ?
	    c->conf.timeout : 10) * 1000;
	for (size_t i = 0; i < json_len(ls); i++) {
		const struct json *l = json_at(ls, i);
		const char *ip = json_str(json_get(l, "ip_address"), NULL);
		const char *proto = json_str(json_get(l, "protocol"), NULL);
		int64_t port;

		if (!json_int(json_get(l, "port"), &port) || port <= 0 ||
		    port > 65535)
			continue;
		if (try_connect(listener_host(c, ip), (int)port, ms, why,
		    sizeof(why)) == -1) {
			rc = ctl_fail(CTL_EX_UNAVAILABLE, "cannot connect to "
			    "port %d (%s) at %s: %s", (int)port,
			    proto != NULL ? proto : "?", listener_host(c, ip),
			    why);
			json_free(j);
			return rc;
		}
		if (used < sizeof(ports))
			used += (size_t)snprintf(ports + used,
			    sizeof(ports) - used, "%s%d", used ? ", " : "",
			    (int)port);
	}
	json_free(j);
	/* compat: rabbitmq-diagnostics' words. */
	if (!c->conf.quiet)
		printf("Successfully connected to ports %s\n", ports);
	return 0;
}
