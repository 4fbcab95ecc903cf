#include "tests/integration/api_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

struct au_reply *
au_call(struct hbroker *b, const char *userpass, const char *method,
    const char *path, const char *body, int want)
{
	static struct au_reply	 r;
	struct hhttp		 h;
	const char		*loc;
	char			 err[256];

	json_free(r.json);
	memset(&r, 0, sizeof(r));
	r.status = hb_http(b, method, path, userpass != NULL ? userpass :
	    AU_GUEST, body, &h);
	snprintf(r.body, sizeof(r.body), "%s", h.body != NULL ? h.body : "");
	if ((loc = hb_http_header(&h, "location")) != NULL)
		snprintf(r.location, sizeof(r.location), "%s", loc);
	hb_http_free(&h);
	if (want != 0)
		cr_assert_eq(r.status, want, "%s %s: %d, wanted %d: %s", method,
		    path, r.status, want, r.body);
	if (r.body[0] != '\0') {
		r.json = json_parse(r.body, strlen(r.body), err, sizeof(err));
		cr_assert_not_null(r.json, "%s %s: not JSON (%s): %s", method,
		    path, err, r.body);
	}
	return &r;
}

void
au_expect_error(const struct au_reply *r, const char *error,
    const char *reason)
{
	cr_assert_not_null(r->json, "no JSON error body");
	cr_expect_str_eq(au_str(r->json, "error"), error, "%s", r->body);
	cr_expect_str_eq(au_str(r->json, "reason"), reason, "%s", r->body);
}

const struct json *
au_member(const struct json *obj, const char *key, enum json_type t)
{
	const struct json *v = json_get(obj, key);

	cr_assert_not_null(v, "member %s missing", key);
	cr_assert_eq(json_type(v), t, "member %s is %s, not %s", key,
	    json_type_name(json_type(v)), json_type_name(t));
	return v;
}

const char *
au_str(const struct json *obj, const char *key)
{
	return json_str(au_member(obj, key, JSON_STRING), NULL);
}

long long
au_int(const struct json *obj, const char *key)
{
	int64_t v;

	cr_assert(json_int(au_member(obj, key, JSON_NUMBER), &v),
	    "member %s is not an integer", key);
	return (long long)v;
}

bool
au_bool(const struct json *obj, const char *key)
{
	return json_bool(au_member(obj, key, JSON_BOOL));
}

void
au_user(struct hbroker *b, const char *name, const char *configure,
    const char *write, const char *read)
{
	char path[256], body[512];

	snprintf(path, sizeof(path), "/api/users/%s", name);
	au_call(b, NULL, "PUT", path, "{\"password\":\"p\",\"tags\":"
	    "\"management\"}", 201);
	snprintf(path, sizeof(path), "/api/permissions/%%2F/%s", name);
	snprintf(body, sizeof(body), "{\"configure\":\"%s\",\"write\":\"%s\","
	    "\"read\":\"%s\"}", configure, write, read);
	au_call(b, NULL, "PUT", path, body, 201);
}
