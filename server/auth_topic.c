/*
 * Topic permissions: for one user, vhost and topic exchange, write and
 * read patterns matched against routing keys (RabbitMQ's topic
 * authorisation). Publishing to the exchange checks write against the
 * routing key; binding from it checks read against the binding key.
 */
#include "autoconf.h"

#include "server/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "server/auth_perm.h"
#include "server/broker.h"
#include "server/persist.h"

/* Patterns of one (vhost, exchange); keyed "vhost\0exchange". */
struct topic_permission {
	char		*src[2];	/* write, read, as given */
	struct perm_re	*re[2];
	size_t		 vhost_len, key_len;
	char		 key[];		/* vhost NUL exchange */
};

void
auth_topic_free(struct topic_permission *tp)
{
	for (int i = 0; i < 2; i++) {
		perm_re_free(tp->re[i]);
		free(tp->src[i]);
	}
	free(tp);
}

/* Appends s to out with every ASCII punctuation byte escaped. */
static size_t
escape(char *out, size_t at, size_t cap, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		/*
		 * Never splice a name into a pattern as is (CVE-2026-44838's
		 * class): "\\" before a non-alphanumeric ASCII byte makes it
		 * literal in PCRE; bytes of multi-byte UTF-8 pass through.
		 */
		if (c < 0x80 && !(c >= '0' && c <= '9') &&
		    !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    c != '_' && c != ' ') {
			if (at < cap)
				out[at] = '\\';
			at++;
		}
		if (at < cap)
			out[at] = (char)c;
		at++;
	}
	return at;
}

/*
 * compat: "{username}" and "{vhost}" in a pattern stand for the user's and
 * the vhost's names (escaped); "" means "^$" (only the empty key).
 * Returns the length written to out (at most cap), or more than cap.
 */
static size_t
expand(char *out, size_t cap, const char *pattern, const char *user,
    const char *vhost)
{
	size_t at = 0;

	if (*pattern == '\0')
		pattern = "^$";
	while (*pattern != '\0') {
		if (strncmp(pattern, "{username}", 10) == 0) {
			at = escape(out, at, cap, user);
			pattern += 10;
		} else if (strncmp(pattern, "{vhost}", 7) == 0) {
			at = escape(out, at, cap, vhost);
			pattern += 7;
		} else {
			if (at < cap)
				out[at] = *pattern;
			at++;
			pattern++;
		}
	}
	return at;
}

int
auth_topic_permission_set(struct broker *b, const char *user,
    const char *vhost, const char *exchange, const char *write,
    const char *read, char *err, size_t errlen)
{
	const char *src[2] = { write ? write : "", read ? read : "" };
	size_t vl = strlen(vhost), el = strlen(exchange);
	struct topic_permission *tp, *old;
	struct user *u;
	char why[256], pat[4096];
	size_t n;

	if ((u = hmap_get(&b->users, user, strlen(user))) == NULL) {
		snprintf(err, errlen, "no user '%s'", user);
		return -1;
	}
	tp = xcalloc(1, sizeof(*tp) + vl + 1 + el + 1);
	memcpy(tp->key, vhost, vl + 1);
	memcpy(tp->key + vl + 1, exchange, el + 1);
	tp->vhost_len = vl;
	tp->key_len = vl + 1 + el;
	for (int i = 0; i < 2; i++) {
		tp->src[i] = xstrdup(src[i]);
		if ((n = expand(pat, sizeof(pat), src[i], user, vhost)) >=
		    sizeof(pat)) {
			snprintf(err, errlen, "topic permission of '%s' in "
			    "vhost '%s': pattern too long", user, vhost);
			auth_topic_free(tp);
			return -1;
		}
		if ((tp->re[i] = perm_re_compile(pat, n, why,
		    sizeof(why))) == NULL) {
			snprintf(err, errlen, "topic permission of '%s' in "
			    "vhost '%s': %s", user, vhost, why);
			auth_topic_free(tp);
			return -1;
		}
	}
	if ((old = hmap_del(&u->topic_perms, tp->key, tp->key_len)) != NULL)
		auth_topic_free(old);
	hmap_put(&u->topic_perms, tp->key, tp->key_len, tp);
	b->auth_gen++;
	persist_topic_permission(b, user, vhost, exchange, src[0], src[1]);
	return 0;
}

void
auth_topic_forget_vhost(struct user *u, const char *vhost)
{
	size_t vl = strlen(vhost);
	void *v;

	for (size_t i = 0; hmap_next(&u->topic_perms, &i, &v);) {
		struct topic_permission *tp = v;

		if (tp->vhost_len == vl && memcmp(tp->key, vhost, vl) == 0) {
			hmap_del(&u->topic_perms, tp->key, tp->key_len);
			auth_topic_free(tp);
			i = 0;	/* the map changed: start over */
		}
	}
}

void
auth_topic_permission_clear(struct broker *b, const char *user,
    const char *vhost)
{
	struct user *u = hmap_get(&b->users, user, strlen(user));
	size_t vl = strlen(vhost);
	void *v;

	if (u == NULL)
		return;
	for (size_t i = 0; hmap_next(&u->topic_perms, &i, &v);) {
		struct topic_permission *tp = v;

		if (tp->vhost_len != vl || memcmp(tp->key, vhost, vl) != 0)
			continue;
		hmap_del(&u->topic_perms, tp->key, tp->key_len);
		persist_topic_permission_deleted(b, user, vhost,
		    tp->key + vl + 1);
		auth_topic_free(tp);
		i = 0;	/* the map changed: start over */
	}
	b->auth_gen++;
}

bool
auth_topic_exists(const struct user *u, const char *vhost,
    const char *exchange)
{
	size_t i = 0;
	void *v;

	while (hmap_next(&u->topic_perms, &i, &v)) {
		const struct topic_permission *tp = v;

		if (strcmp(tp->key, vhost) == 0 &&
		    strcmp(tp->key + tp->vhost_len + 1, exchange) == 0)
			return true;
	}
	return false;
}

size_t
auth_topic_list(const struct user *u, const char *vhost,
    void (*cb)(void *arg, const char *vhost, const char *exchange,
    const char *write, const char *read), void *arg)
{
	size_t n = 0;
	void *v;

	for (size_t i = 0; hmap_next(&u->topic_perms, &i, &v);) {
		struct topic_permission *tp = v;

		if (vhost != NULL && strcmp(tp->key, vhost) != 0)
			continue;
		cb(arg, tp->key, tp->key + tp->vhost_len + 1, tp->src[0],
		    tp->src[1]);
		n++;
	}
	return n;
}

bool
auth_topic_can(const struct user *u, const char *vhost,
    struct proto_str exchange, enum perm_kind kind, struct proto_str key)
{
	const struct topic_permission *tp;
	char k[512];
	size_t vl;

	/* The common case: no topic permissions at all, nothing to match. */
	if (u == NULL || u->topic_perms.count == 0)
		return true;
	vl = strlen(vhost);
	if (vl + 1 + exchange.len > sizeof(k))
		return false;	/* AMQP names are shorter: never here */
	memcpy(k, vhost, vl + 1);
	memcpy(k + vl + 1, exchange.p, exchange.len);
	/* compat: no topic permission for the exchange means allowed. */
	if ((tp = hmap_get(&u->topic_perms, k, vl + 1 + exchange.len)) == NULL)
		return true;
	return perm_re_match(tp->re[kind == PERM_WRITE ? 0 : 1],
	    (const char *)key.p, key.len);
}
