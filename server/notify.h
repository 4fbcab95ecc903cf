/*
 * Readiness for service managers (systemd's Type=notify): one datagram to
 * $NOTIFY_SOCKET when warrend accepts clients and one when it starts to
 * stop. Nothing happens when the variable is unset, so warrend runs the
 * same under any other supervisor.
 */
#ifndef WARREN_SERVER_NOTIFY_H
#define WARREN_SERVER_NOTIFY_H

/* Sends "READY=1" with the main pid and status text. */
void	notify_ready(const char *status);
/* Sends "STOPPING=1". */
void	notify_stopping(void);

#endif /* WARREN_SERVER_NOTIFY_H */
