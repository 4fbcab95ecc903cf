#include "autoconf.h"

#include "server/auth.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "protocol/table.h"
#include "server/auth_password.h"
#include "server/auth_perm.h"
#include "server/broker.h"
#include "server/conn.h"
#include "server/persist.h"

static const struct {
	const char	*name;
	unsigned	 bit;
} tag_names[] = {
	{ "administrator", USER_TAG_ADMINISTRATOR },
	{ "monitoring", USER_TAG_MONITORING },
	{ "policymaker", USER_TAG_POLICYMAKER },
	{ "management", USER_TAG_MANAGEMENT },
	{ "impersonator", USER_TAG_IMPERSONATOR },
};

/* compat: unknown tags are kept (RabbitMQ stores any tag) but grant nothing. */
static unsigned
parse_tags(const char *tags)
{
	unsigned bits = 0;
	const char *p = tags;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, ",");
		size_t b = 0, e = n;

		while (b < e && p[b] == ' ')
			b++;
		while (e > b && p[e - 1] == ' ')
			e--;
		for (size_t i = 0; i < sizeof(tag_names) / sizeof(tag_names[0]);
		    i++)
			if (strlen(tag_names[i].name) == e - b &&
			    memcmp(tag_names[i].name, p + b, e - b) == 0)
				bits |= tag_names[i].bit;
		p += n;
		if (*p == ',')
			p++;
	}
	return bits;
}

static void
permission_free(struct permission *pm)
{
	for (int i = 0; i < 3; i++)
		perm_re_free(pm->re[i]);
	free(pm->vhost);
	free(pm);
}

static void
user_free(struct user *u)
{
	void *v;

	for (size_t i = 0; hmap_next(&u->perms, &i, &v);)
		permission_free(v);
	hmap_free(&u->perms);
	for (size_t i = 0; hmap_next(&u->topic_perms, &i, &v);)
		auth_topic_free(v);
	hmap_free(&u->topic_perms);
	free(u->name);
	free(u->hash);
	free(u->tags);
	free(u);
}

void
auth_init(struct broker *b)
{
	hmap_init(&b->users);
}

void
auth_free(struct broker *b)
{
	void *v;

	for (size_t i = 0; hmap_next(&b->users, &i, &v);)
		user_free(v);
	hmap_free(&b->users);
}

struct user *
auth_user(struct broker *b, const char *name, size_t len)
{
	return hmap_get(&b->users, name, len);
}

int
auth_user_put(struct broker *b, const char *name, const char *hash,
    const char *algorithm, const char *tags, char *err, size_t errlen)
{
	struct user *u, *old;
	enum password_algo algo = PASSWORD_SHA256;

	if (name == NULL || *name == '\0') {
		snprintf(err, errlen, "a user needs a name");
		return -1;
	}
	if (algorithm != NULL && *algorithm != '\0' &&
	    password_algo_parse(algorithm, &algo) == -1) {
		snprintf(err, errlen, "user '%s': unknown hashing algorithm "
		    "'%s'", name, algorithm);
		return -1;
	}
	u = xcalloc(1, sizeof(*u));
	u->name = xstrdup(name);
	u->hash = xstrdup(hash ? hash : "");
	u->tags = xstrdup(tags ? tags : "");
	hmap_init(&u->perms);
	hmap_init(&u->topic_perms);
	u->algo = (int)algo;
	u->tag_bits = parse_tags(u->tags);
	u->max_connections = u->max_channels = -1;
	if ((old = hmap_get(&b->users, name, strlen(name))) != NULL) {
		/* And its limits. */
		u->max_connections = old->max_connections;
		u->max_channels = old->max_channels;
		/* Keep the permissions of a user being replaced. */
		hmap_free(&u->perms);
		u->perms = old->perms;
		hmap_init(&old->perms);
		hmap_free(&u->topic_perms);
		u->topic_perms = old->topic_perms;
		hmap_init(&old->topic_perms);
		hmap_del(&b->users, old->name, strlen(old->name));
		user_free(old);
	}
	hmap_put(&b->users, u->name, strlen(u->name), u);
	b->auth_gen++;
	persist_user(b, u);
	return 0;
}

int
auth_user_set_password(struct broker *b, const char *name,
    const char *password, const char *tags, char *err, size_t errlen)
{
	char hash[256];

	if (password_hash(PASSWORD_SHA256, password, strlen(password), hash,
	    sizeof(hash)) == -1) {
		snprintf(err, errlen, "cannot hash the password of '%s'", name);
		return -1;
	}
	return auth_user_put(b, name, hash, NULL, tags, err, errlen);
}

void
auth_user_del(struct broker *b, const char *name)
{
	struct user *u = hmap_del(&b->users, name, strlen(name));

	if (u == NULL)
		return;
	b->auth_gen++;
	persist_user_deleted(b, name);
	conn_close_user(b, name);	/* name may be u's: before the free */
	user_free(u);
}

int
auth_permission_set(struct broker *b, const char *user, const char *vhost,
    const char *configure, const char *write, const char *read, char *err,
    size_t errlen)
{
	const char *src[3] = { configure, write, read };
	struct permission *pm, *old;
	struct user *u;
	char why[256];

	if ((u = hmap_get(&b->users, user, strlen(user))) == NULL) {
		snprintf(err, errlen, "no user '%s'", user);
		return -1;
	}
	pm = xcalloc(1, sizeof(*pm));
	pm->vhost = xstrdup(vhost);
	for (int i = 0; i < 3; i++) {
		const char *s = src[i] ? src[i] : "";

		if ((pm->re[i] = perm_re_compile(s, strlen(s), why,
		    sizeof(why))) == NULL) {
			snprintf(err, errlen, "permission of '%s' in vhost "
			    "'%s': %s", user, vhost, why);
			permission_free(pm);
			return -1;
		}
	}
	if ((old = hmap_del(&u->perms, vhost, strlen(vhost))) != NULL)
		permission_free(old);
	hmap_put(&u->perms, pm->vhost, strlen(pm->vhost), pm);
	b->auth_gen++;
	persist_permission(b, user, vhost, src[0], src[1], src[2]);
	return 0;
}

void
auth_permission_del(struct broker *b, const char *user, const char *vhost)
{
	struct permission *pm;
	struct user *u;

	if ((u = hmap_get(&b->users, user, strlen(user))) == NULL ||
	    (pm = hmap_del(&u->perms, vhost, strlen(vhost))) == NULL)
		return;
	permission_free(pm);
	b->auth_gen++;
	persist_permission_deleted(b, user, vhost);
}

void
auth_forget_vhost(struct broker *b, const char *vhost)
{
	struct permission *pm;
	void *v;

	for (size_t i = 0; hmap_next(&b->users, &i, &v);) {
		struct user *u = v;

		if ((pm = hmap_del(&u->perms, vhost, strlen(vhost))) != NULL)
			permission_free(pm);
		auth_topic_forget_vhost(u, vhost);
	}
	b->auth_gen++;
}

bool
auth_vhost_allowed(const struct user *u, const char *vhost)
{
	return u != NULL && hmap_get(&u->perms, vhost, strlen(vhost)) != NULL;
}

bool
auth_can(const struct user *u, const char *vhost, enum perm_kind kind,
    struct proto_str name)
{
	struct permission *pm;

	if (u == NULL ||
	    (pm = hmap_get(&u->perms, vhost, strlen(vhost))) == NULL)
		return false;
	/* compat: the default exchange is "amq.default" to permissions. */
	if (name.len == 0)
		name = proto_str_c("amq.default");
	return perm_re_match(pm->re[kind], (const char *)name.p, name.len);
}

bool
auth_is_loopback(const struct sockaddr *sa)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	const struct sockaddr_in6 *s6;

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family != AF_INET6)
		return sa->sa_family == AF_UNIX;
	s6 = (const struct sockaddr_in6 *)(const void *)sa;
	if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
		return true;
	return memcmp(s6->sin6_addr.s6_addr, v4mapped, 12) == 0 &&
	    s6->sin6_addr.s6_addr[12] == 127;
}

int
auth_parse_plain(struct proto_str r, struct proto_str *user,
    struct proto_str *pass)
{
	struct proto_reader rd = proto_reader(r.p, r.len);
	struct proto_str part[3];
	int n = 0;
	const uint8_t *b;

	/* Three NUL-separated parts: authzid (may be empty), user, password. */
	part[0].p = rd.p;
	part[0].len = 0;
	while (rd.len > 0) {
		proto_read_bytes(&rd, 1, &b);
		if (*b != '\0') {
			part[n].len++;
			continue;
		}
		if (++n == 3)
			return -1;	/* a third NUL: not PLAIN */
		part[n].p = rd.p;
		part[n].len = 0;
	}
	/*
	 * compat: RabbitMQ 3.10 takes no authzid (it wants the response to
	 * begin with NUL) and hangs up on one, even one naming the user
	 * itself (checked on 3.10.8): nobody may ask to act as another.
	 */
	if (n != 2 || part[0].len != 0 || part[1].len == 0)
		return -1;
	*user = part[1];
	*pass = part[2];
	return 0;
}

int
auth_parse_amqplain(struct proto_str r, struct proto_str *user,
    struct proto_str *pass)
{
	/* spec: the response is a field table without its length prefix. */
	struct proto_table t = { r.p, r.len };
	struct proto_field f;

	if (!proto_table_validate(t))
		return -1;
	if (!proto_table_get(t, "LOGIN", &f) || f.kind != PROTO_FIELD_LONGSTR)
		return -1;
	*user = f.v.str;
	if (!proto_table_get(t, "PASSWORD", &f) || f.kind != PROTO_FIELD_LONGSTR)
		return -1;
	*pass = f.v.str;
	return 0;
}

/*
 * Whether name is listed in the comma-separated loopback-users option.
 * Blanks around an entry are not part of it: "guest, admin" lists admin.
 */
static bool
loopback_only(const char *list, const char *name, size_t len)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, ",");
		size_t b = 0, e = n;

		while (b < e && (p[b] == ' ' || p[b] == '\t'))
			b++;
		while (e > b && (p[e - 1] == ' ' || p[e - 1] == '\t'))
			e--;
		if (e - b == len && memcmp(p + b, name, len) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

/*
 * compat: RabbitMQ's loopback_users, decided from the real socket after
 * any mechanism's success (rabbit_reader's auth_phase): PLAIN, AMQPLAIN
 * and EXTERNAL alike.
 */
static bool
loopback_refused(struct broker *b, const struct user *u,
    const struct sockaddr *peer)
{
	if (!loopback_only(b->cfg.loopback_users, u->name, strlen(u->name)) ||
	    auth_is_loopback(peer))
		return false;
	log_info("auth: user '%s' can only connect via localhost", u->name);
	return true;
}

enum auth_result
auth_login(struct broker *b, struct proto_str mechanism,
    struct proto_str response, const struct sockaddr *peer,
    struct user **out)
{
	struct proto_str name, pass;
	struct user *u;
	bool ok;
	int rc;

	if (proto_str_eqc(mechanism, "PLAIN"))
		rc = auth_parse_plain(response, &name, &pass);
	else if (proto_str_eqc(mechanism, "AMQPLAIN"))
		rc = auth_parse_amqplain(response, &name, &pass);
	else
		return AUTH_BAD_MECHANISM;
	if (rc != 0)
		return AUTH_MALFORMED;
	u = hmap_get(&b->users, name.p, name.len);
	if (u == NULL) {
		/* The same work as a real check: no user enumeration by time. */
		password_check_dummy(PASSWORD_SHA256, (const char *)pass.p,
		    pass.len);
		log_info("auth: login refused: no user '%.*s'", PSTR(name));
		return AUTH_REFUSED;
	}
	ok = password_check((enum password_algo)u->algo, u->hash,
	    (const char *)pass.p, pass.len);
	/* compat: RabbitMQ's internal backend refuses a blank password. */
	if (ok && pass.len == 0) {
		log_info("auth: login refused for user '%s': blank password",
		    u->name);
		return AUTH_REFUSED;
	}
	if (!ok) {
		log_info("auth: login refused for user '%s': wrong password",
		    u->name);
		return AUTH_REFUSED;
	}
	if (loopback_refused(b, u, peer))
		return AUTH_REFUSED;
	*out = u;
	return AUTH_OK;
}

enum auth_result
auth_login_external(struct broker *b, const char *name,
    const struct sockaddr *peer, struct user **out)
{
	struct user *u = hmap_get(&b->users, name, strlen(name));

	if (u == NULL || *name == '\0') {
		log_info("auth: EXTERNAL login refused: no user '%s'", name);
		return AUTH_REFUSED;
	}
	if (loopback_refused(b, u, peer))
		return AUTH_REFUSED;
	*out = u;
	return AUTH_OK;
}
