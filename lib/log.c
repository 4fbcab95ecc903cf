#include "autoconf.h"

#include "lib/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The log threshold is one of the two globals the house style allows. */
static enum log_level threshold = LOG_LEVEL_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int
log_set_level_name(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0) {
			threshold = (enum log_level)i;
			return 0;
		}
	return -1;
}

void
log_set_level(enum log_level level)
{
	threshold = level;
}

int
log_enabled(enum log_level level)
{
	return level >= threshold;
}

/*
 * Log lines carry client-chosen names: control bytes (newlines, escape
 * sequences) are written as \xNN so no name can forge or hide a line.
 */
static void
escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *in != '\0' && o + 5 < outlen; in++) {
		unsigned char ch = (unsigned char)*in;

		if (ch < 0x20 || ch == 0x7f || ch == '\\') {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = '\0';
}

static void
vlog(enum log_level level, int err, const char *fmt, va_list ap)
{
	char raw[1024], line[4096];
	struct timespec ts;
	struct tm tm;
	int n;

	if (level < threshold)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		return;
	escape(raw, line, sizeof(line));
	if (err)
		fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: %s\n",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		    level_names[level], line, strerror(err));
	else
		fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s\n",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		    level_names[level], line);
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
