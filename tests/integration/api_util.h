/*
 * Helpers for the management API tests of queues, exchanges and bindings:
 * one request whose status is asserted and whose body is parsed with
 * warren's own JSON reader, and checks of members' JSON types.
 */
#ifndef WARREN_TESTS_API_UTIL_H
#define WARREN_TESTS_API_UTIL_H

#include <stdbool.h>

#include "lib/json.h"
#include "tests/integration/harness.h"

#define AU_GUEST	"guest:guest"

/* The last answer: raw body, Location header, parsed body (or NULL). */
struct au_reply {
	int		 status;
	char		 body[1 << 16];
	char		 location[4096];
	struct json	*json;
};

/*
 * Sends one request as userpass (AU_GUEST if NULL), asserts the status
 * is want (0: any) and returns the reply (static; the previous one's
 * JSON is freed).
 */
struct au_reply	*au_call(struct hbroker *b, const char *userpass,
		    const char *method, const char *path, const char *body,
		    int want);
/* Asserts the reply is {"error": error, "reason": reason}. */
void	au_expect_error(const struct au_reply *r, const char *error,
	    const char *reason);
/* Asserts member key of obj exists with JSON type t, and returns it. */
const struct json *au_member(const struct json *obj, const char *key,
	    enum json_type t);
/* A string member's value (asserted to be a string). */
const char *au_str(const struct json *obj, const char *key);
/* An integer member's value (asserted to be an integer). */
long long au_int(const struct json *obj, const char *key);
/* A boolean member's value. */
bool	au_bool(const struct json *obj, const char *key);
/* Makes a management user (tag management) with these permissions on /. */
void	au_user(struct hbroker *b, const char *name, const char *configure,
	    const char *write, const char *read);

#endif /* WARREN_TESTS_API_UTIL_H */
