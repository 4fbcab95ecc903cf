#include "autoconf.h"

#include "server/alarm.h"

#include <stdio.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lib/log.h"
#include "server/broker.h"
#include "server/conn.h"

uint64_t
alarm_rss_bytes(void)
{
	unsigned long long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");
	int n;

	if (f == NULL)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	return n == 2 ? resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

uint64_t
alarm_disk_free(const char *dir)
{
	struct statvfs sv;

	if (statvfs(dir, &sv) == -1)
		return UINT64_MAX;	/* unknown: never alarm on it */
	return (uint64_t)sv.f_bavail * sv.f_frsize;
}

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	alarm_check(ev_userdata(loop));
}

void
alarm_init(struct broker *b)
{
	uint64_t pages = (uint64_t)sysconf(_SC_PHYS_PAGES);

	/*
	 * compat: as RabbitMQ's vm_memory_high_watermark.absolute and
	 * .relative (default 0.4 of the machine's memory).
	 */
	b->memory_limit = b->cfg.memory_high_watermark != 0 ?
	    b->cfg.memory_high_watermark :
	    (uint64_t)((double)(pages * (uint64_t)sysconf(_SC_PAGESIZE)) *
	    config_memory_relative(&b->cfg));
	ev_timer_init(&b->alarm_timer, on_timer, 1.0, 1.0);
	ev_timer_start(b->loop, &b->alarm_timer);
	ev_unref(b->loop);	/* the check alone keeps nothing running */
	alarm_check(b);
}

bool
alarm_active(const struct broker *b)
{
	return b->alarms != 0;
}

static void
unblock_all(struct broker *b)
{
	struct proto_method m = { .id = PROTO_CONNECTION_UNBLOCKED };

	for (struct conn *c = b->conns; c != NULL; c = c->next) {
		if (!c->blocked)
			continue;
		c->blocked = false;
		if (c->cap_blocked && c->state == CONN_RUNNING)
			conn_send_method(c, 0, &m);
		conn_resume_reading(c);
	}
}

void
alarm_check(struct broker *b)
{
	unsigned before = b->alarms, now = 0;
	uint64_t rss = alarm_rss_bytes(),
	    free_bytes = alarm_disk_free(b->cfg.data_dir);

	if (rss > b->memory_limit)
		now |= ALARM_MEMORY;
	if (free_bytes < b->cfg.disk_free_limit)
		now |= ALARM_DISK;
	if (now == before)
		return;
	b->alarms = now;
	if ((now & ~before) & ALARM_MEMORY)
		log_warnx("alarm: memory %llu bytes over the high-water mark "
		    "%llu: publishers are blocked", (unsigned long long)rss,
		    (unsigned long long)b->memory_limit);
	if ((now & ~before) & ALARM_DISK)
		log_warnx("alarm: %llu bytes free in %s, under the limit %llu: "
		    "publishers are blocked", (unsigned long long)free_bytes,
		    b->cfg.data_dir, (unsigned long long)b->cfg.disk_free_limit);
	if (now == 0) {
		log_info("alarm: cleared; publishers are unblocked");
		unblock_all(b);
	}
}

void
alarm_block(struct conn *c)
{
	struct proto_method m = { .id = PROTO_CONNECTION_BLOCKED };
	unsigned a = c->b->alarms;

	if (c->blocked)
		return;
	c->blocked = true;
	/* compat: RabbitMQ's reasons, which clients show to users. */
	if (c->cap_blocked) {
		m.u.connection_blocked.reason = proto_str_c(
		    (a & ALARM_MEMORY) && (a & ALARM_DISK) ?
		    "low on memory and disk" : (a & ALARM_MEMORY) ?
		    "low on memory" : "low on disk");
		conn_send_method(c, 0, &m);
	}
	log_info("conn %s: blocked by the resource alarm", c->name);
}
