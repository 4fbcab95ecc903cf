/*
 * Admin API test helpers shared by test_api_connections.c,
 * test_api_nodes.c and test_api_health.c: one request with optional extra
 * header lines, its body parsed with lib/json.c, and assertions on the
 * JSON types of members (Go and Rust clients decode them strictly).
 */
#ifndef WARREN_TESTS_API_JSON_H
#define WARREN_TESTS_API_JSON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/json.h"
#include "tests/integration/harness.h"

#define GUEST	"guest:guest"

/*
 * One request with extra header lines (each ending in CRLF; NULL for
 * none); asserts the status; returns the body (malloc'd).
 */
static inline char *
aj_call_h(const struct hbroker *b, const char *method, const char *path,
    const char *userpass, const char *headers, const char *body, int want)
{
	char req[16384], out[16384];
	struct hhttp r;
	size_t n = hb_http_format(req, sizeof(req), method, path, userpass,
	    body);
	char *eol = strstr(req, "\r\n"), *copy;
	int fd;

	if (headers != NULL) {
		size_t at = (size_t)(eol + 2 - req), hl = strlen(headers);

		cr_assert_lt(n + hl, sizeof(out));
		memcpy(out, req, at);
		memcpy(out + at, headers, hl);
		memcpy(out + at + hl, req + at, n - at);
		n += hl;
		memcpy(req, out, n);
	}
	fd = hb_http_connect(b);
	hb_raw_send(fd, req, n);
	cr_assert_eq(hb_http_read(fd, &r, strcmp(method, "HEAD") == 0, 10000),
	    1, "%s %s: no HTTP answer", method, path);
	close(fd);
	copy = strdup(r.body != NULL ? r.body : "");
	cr_assert_eq(r.status, want, "%s %s: %d, wanted %d: %s", method, path,
	    r.status, want, copy);
	hb_http_free(&r);
	return copy;
}

static inline char *
aj_call(const struct hbroker *b, const char *method, const char *path,
    const char *userpass, const char *body, int want)
{
	return aj_call_h(b, method, path, userpass, NULL, body, want);
}

/* GET path as userpass, asserting want; the parsed body (json_free it). */
static inline struct json *
aj_get(const struct hbroker *b, const char *path, const char *userpass,
    int want)
{
	char *text = aj_call(b, "GET", path, userpass, NULL, want), err[128];
	struct json *j = json_parse(text, strlen(text), err, sizeof(err));

	cr_assert_not_null(j, "GET %s: not JSON (%s): %s", path, err, text);
	free(text);
	return j;
}

static inline const struct json *
aj_member(const struct json *obj, const char *key)
{
	const struct json *v = json_get(obj, key);

	cr_assert_not_null(v, "member %s missing", key);
	return v;
}

static inline void
aj_type(const struct json *obj, const char *key, enum json_type t)
{
	const struct json *v = aj_member(obj, key);

	cr_expect_eq(json_type(v), t, "%s is %s, wanted %s", key,
	    json_type_name(json_type(v)), json_type_name(t));
}

/* A JSON integer (no fraction or exponent); returns it. */
static inline int64_t
aj_int(const struct json *obj, const char *key)
{
	const struct json *v = aj_member(obj, key);
	int64_t n = 0;

	cr_assert(json_int(v, &n), "%s is not an integer (%s)", key,
	    json_type_name(json_type(v)));
	return n;
}

/* A string member, NUL-terminated (valid while obj lives). */
static inline const char *
aj_str(const struct json *obj, const char *key)
{
	const char *s = json_str(aj_member(obj, key), NULL);

	cr_assert_not_null(s, "%s is not a string", key);
	return s;
}

static inline bool
aj_bool(const struct json *obj, const char *key)
{
	aj_type(obj, key, JSON_BOOL);
	return json_bool(aj_member(obj, key));
}

/* Percent-encodes every byte but [A-Za-z0-9] (as rabbitmqadmin v2). */
static inline const char *
aj_enc(const char *s)
{
	static char out[4][1024];
	static int k;
	char *o = out[k++ % 4];
	size_t n = 0;

	for (; *s != '\0' && n + 4 < sizeof(out[0]); s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			o[n++] = (char)c;
		else
			n += (size_t)snprintf(o + n, 4, "%%%02X", c);
	}
	o[n] = '\0';
	return o;
}

#endif /* WARREN_TESTS_API_JSON_H */
