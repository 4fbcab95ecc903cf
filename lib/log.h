/*
 * One line per event: lower case, no trailing period, the object named
 * first. log_warn appends strerror(errno); log_warnx does not.
 *
 * Two sinks, each with its own threshold and format (compat: RabbitMQ's
 * log.console, log.console.level, log.file, log.file.level and
 * log.*.formatter): the console (stderr, on by default) and a file,
 * opened for appending and reopened by log_reopen (SIGHUP, after
 * logrotate has moved it). A line is one write(2), so lines from other
 * threads never interleave.
 */
#ifndef WARREN_LIB_LOG_H
#define WARREN_LIB_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_NONE,		/* a sink that logs nothing */
};

enum log_format {
	LOG_FORMAT_PLAIN,	/* 2026-12-07T17:36:00.123Z info text */
	LOG_FORMAT_JSON,	/* {"time":...,"level":...,"msg":...} */
};

/* The level named name ("debug" ... "error", "none"), or -1. */
int	log_level_from_name(const char *name);
/* The format named name ("plaintext" or "json"), or -1. */
int	log_format_from_name(const char *name);

/* Sets the console's threshold; returns -1 for an unknown name. */
int	log_set_level_name(const char *name);
void	log_set_level(enum log_level level);
void	log_set_console(bool on, enum log_level level, enum log_format fmt);
/*
 * Sends lines also to the file at path (NULL: no file), created 0640 if
 * need be. -1 with errno set when it cannot be opened; the previous file,
 * if any, is kept then.
 */
int	log_set_file(const char *path, enum log_level level,
	    enum log_format fmt);
/* Reopens the file at its path; -1 (old one kept) on failure. */
int	log_reopen(void);
/* Whether a line at level would go anywhere. */
int	log_enabled(enum log_level level);

void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Startup only: log and exit(1). */
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* For tests: formats one line as a sink would, into out. */
size_t	log_format_line(enum log_format fmt, enum log_level level,
	    const char *text, const char *err, char *out, size_t outlen);

#endif /* WARREN_LIB_LOG_H */
