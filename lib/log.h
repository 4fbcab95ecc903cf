/*
 * One line per event on stderr: lower case, no trailing period, the object
 * named first. log_warn appends strerror(errno); log_warnx does not.
 */
#ifndef WARREN_LIB_LOG_H
#define WARREN_LIB_LOG_H

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

/* Sets the threshold; returns -1 for an unknown name. */
int	log_set_level_name(const char *name);
void	log_set_level(enum log_level level);
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

#endif /* WARREN_LIB_LOG_H */
