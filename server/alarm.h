/*
 * Resource alarms, as RabbitMQ's: when the broker's memory passes the
 * high-water mark or the data directory's free space falls under the
 * limit, every connection that publishes is blocked (connection.blocked
 * to clients that advertised the capability, and its socket no longer
 * read) until the alarm clears (connection.unblocked). Consumers keep
 * draining, which is what clears a memory alarm.
 */
#ifndef WARREN_SERVER_ALARM_H
#define WARREN_SERVER_ALARM_H

#include <stdbool.h>
#include <stdint.h>

struct broker;
struct conn;

/* Starts the periodic check (once a second). */
void	alarm_init(struct broker *b);
/* Runs the check now (also used by tests through the timer). */
void	alarm_check(struct broker *b);
/* Whether an alarm is in effect. */
bool	alarm_active(const struct broker *b);
/* Resident memory of this process, from /proc/self/statm (0: unknown). */
uint64_t alarm_rss_bytes(void);
/* Free bytes for unprivileged users under dir (UINT64_MAX: unknown). */
uint64_t alarm_disk_free(const char *dir);
/* A publish arrived on c during an alarm: block the connection. */
void	alarm_block(struct conn *c);

#endif /* WARREN_SERVER_ALARM_H */
