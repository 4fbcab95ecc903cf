#include "autoconf.h"

#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct log_sink {
	bool		 on;
	enum log_level	 level;
	enum log_format	 fmt;
	int		 fd;
};

/*
 * The log's sinks are one of the two globals the house style allows. The
 * mutex orders a file's reopen against writers on other threads (the
 * store's checkpointer, the definitions import).
 */
static struct {
	pthread_mutex_t	 mu;
	struct log_sink	 console;
	struct log_sink	 file;
	char		*path;
} L = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.console = { true, LOG_LEVEL_INFO, LOG_FORMAT_PLAIN, 2 },
	.file = { false, LOG_LEVEL_INFO, LOG_FORMAT_PLAIN, -1 },
};

static const char *const level_names[] = {
	"debug", "info", "warn", "error", "none"
};

int
log_level_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	/* compat: RabbitMQ's names for the same thresholds. */
	if (strcmp(name, "warning") == 0)
		return LOG_LEVEL_WARN;
	if (strcmp(name, "critical") == 0)
		return LOG_LEVEL_ERROR;
	return -1;
}

int
log_format_from_name(const char *name)
{
	if (strcmp(name, "plaintext") == 0)
		return LOG_FORMAT_PLAIN;
	if (strcmp(name, "json") == 0)
		return LOG_FORMAT_JSON;
	return -1;
}

int
log_set_level_name(const char *name)
{
	int level = log_level_from_name(name);

	if (level < 0)
		return -1;
	log_set_level((enum log_level)level);
	return 0;
}

void
log_set_level(enum log_level level)
{
	pthread_mutex_lock(&L.mu);
	L.console.level = level;
	pthread_mutex_unlock(&L.mu);
}

void
log_set_console(bool on, enum log_level level, enum log_format fmt)
{
	pthread_mutex_lock(&L.mu);
	L.console.on = on;
	L.console.level = level;
	L.console.fmt = fmt;
	pthread_mutex_unlock(&L.mu);
}

static int
open_log(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int
log_set_file(const char *path, enum log_level level, enum log_format fmt)
{
	char *copy = NULL;
	int fd = -1, old;

	if (path != NULL && ((copy = strdup(path)) == NULL ||
	    (fd = open_log(path)) == -1)) {
		int saved = errno;

		free(copy);
		errno = saved;
		return -1;
	}
	pthread_mutex_lock(&L.mu);
	old = L.file.fd;
	L.file.fd = fd;
	L.file.on = fd != -1;
	L.file.level = level;
	L.file.fmt = fmt;
	free(L.path);
	L.path = copy;
	pthread_mutex_unlock(&L.mu);
	if (old != -1)
		close(old);
	return 0;
}

int
log_reopen(void)
{
	char *path;
	int fd, old;

	pthread_mutex_lock(&L.mu);
	path = L.path != NULL ? strdup(L.path) : NULL;
	pthread_mutex_unlock(&L.mu);
	if (path == NULL)
		return 0;
	fd = open_log(path);
	free(path);
	if (fd == -1)
		return -1;
	pthread_mutex_lock(&L.mu);
	old = L.file.fd;
	L.file.fd = fd;
	pthread_mutex_unlock(&L.mu);
	if (old != -1)
		close(old);
	return 0;
}

int
log_enabled(enum log_level level)
{
	int on;

	pthread_mutex_lock(&L.mu);
	on = (L.console.on && level >= L.console.level) ||
	    (L.file.on && level >= L.file.level);
	pthread_mutex_unlock(&L.mu);
	return on;
}

/* ---- formatting -------------------------------------------------------- */

struct out {
	char	*p;
	size_t	 len;
	size_t	 limit;		/* bytes the text may reach */
	bool	 full;
};

/*
 * Whole pieces only (an escape, a UTF-8 sequence): a line too long is
 * cut between pieces, and nothing is added after the cut.
 */
static void
put(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->limit - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void
putc_(struct out *o, char c)
{
	put(o, &c, 1);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (len > n)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * Log lines carry client-chosen names: in plain lines control bytes
 * (newlines, escape sequences) and backslashes are written as \xNN so no
 * name can forge or hide a line; in JSON lines the string escapes, with
 * bytes that are not UTF-8 as \u00NN, so every line parses.
 */
static void
escaped(struct out *o, enum log_format fmt, const char *text)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text);

	for (size_t i = 0; i < n;) {
		unsigned char ch = s[i];
		size_t u;

		if (fmt == LOG_FORMAT_PLAIN) {
			if (ch < 0x20 || ch == 0x7f || ch == '\\') {
				char e[4] = { '\\', 'x', hex[ch >> 4],
				    hex[ch & 15] };

				put(o, e, 4);
			} else
				putc_(o, (char)ch);
			i++;
			continue;
		}
		if (ch == '"' || ch == '\\') {
			char e[2] = { '\\', (char)ch };

			put(o, e, 2);
			i++;
		} else if (ch >= 0x20 && ch < 0x7f) {
			putc_(o, (char)ch);
			i++;
		} else if (ch >= 0x80 && (u = utf8_len(s + i, n - i)) > 0) {
			put(o, text + i, u);
			i += u;
		} else {
			char e[6] = { '\\', 'u', '0', '0', hex[ch >> 4],
			    hex[ch & 15] };

			put(o, e, 6);
			i++;
		}
	}
}

size_t
log_format_line(enum log_format fmt, enum log_level level, const char *text,
    const char *err, char *buf, size_t buflen)
{
	struct out o = { buf, 0, 0, false };
	char stamp[96];
	struct timespec ts;
	struct tm tm;

	/* Room for the newline, and in JSON for the closing "}. */
	if (buflen < 4)
		return 0;
	o.limit = buflen - (fmt == LOG_FORMAT_JSON ? 3 : 1);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	if (fmt == LOG_FORMAT_JSON) {
		/* compat: the keys of RabbitMQ's JSON formatter. */
		put(&o, "{\"time\":\"", 9);
		put(&o, stamp, strlen(stamp));
		put(&o, "\",\"level\":\"", 11);
		put(&o, level_names[level], strlen(level_names[level]));
		put(&o, "\",\"msg\":\"", 9);
		escaped(&o, fmt, text);
		if (err != NULL) {
			put(&o, ": ", 2);
			escaped(&o, fmt, err);
		}
		/* Cut short, the line still ends its string and object. */
		memcpy(buf + o.len, "\"}", 2);
		o.len += 2;
	} else {
		put(&o, stamp, strlen(stamp));
		putc_(&o, ' ');
		put(&o, level_names[level], strlen(level_names[level]));
		putc_(&o, ' ');
		escaped(&o, fmt, text);
		if (err != NULL) {
			put(&o, ": ", 2);
			escaped(&o, fmt, err);
		}
	}
	buf[o.len++] = '\n';
	return o.len;
}

static void
emit(const struct log_sink *s, enum log_level level, const char *text,
    const char *err)
{
	char line[4096];
	size_t n;

	if (!s->on || level < s->level || s->fd == -1)
		return;
	n = log_format_line(s->fmt, level, text, err, line, sizeof(line));
	/* A log line that cannot be written is dropped, never retried. */
	if (write(s->fd, line, n) == -1)
		return;
}

static void
vlog(enum log_level level, int err, const char *fmt, va_list ap)
{
	char text[1024];

	if (!log_enabled(level))
		return;
	if (vsnprintf(text, sizeof(text), fmt, ap) < 0)
		return;
	pthread_mutex_lock(&L.mu);
	emit(&L.console, level, text, err ? strerror(err) : NULL);
	emit(&L.file, level, text, err ? strerror(err) : NULL);
	pthread_mutex_unlock(&L.mu);
}

#define LOGFN(name, level, err)				\
void							\
name(const char *fmt, ...)				\
{							\
	int saved = errno;				\
	va_list ap;					\
							\
	va_start(ap, fmt);				\
	vlog(level, err ? saved : 0, fmt, ap);		\
	va_end(ap);					\
	errno = saved;					\
}

LOGFN(log_debug, LOG_LEVEL_DEBUG, 0)
LOGFN(log_info, LOG_LEVEL_INFO, 0)
LOGFN(log_warn, LOG_LEVEL_WARN, 1)
LOGFN(log_warnx, LOG_LEVEL_WARN, 0)

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
