/*
 * Users, their tags and their per-vhost permissions, and SASL login.
 * Users are stored durably; a fresh database gets the default user
 * (guest/guest, administrator, full access to "/"), as RabbitMQ does.
 */
#ifndef WARREN_SERVER_AUTH_H
#define WARREN_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "lib/hmap.h"
#include "protocol/wire.h"

struct broker;
struct perm_re;
struct topic_permission;

enum perm_kind {
	PERM_CONFIGURE,
	PERM_WRITE,
	PERM_READ,
};

/* compat: RabbitMQ's user tags. */
#define USER_TAG_ADMINISTRATOR	0x01u
#define USER_TAG_MONITORING	0x02u
#define USER_TAG_POLICYMAKER	0x04u
#define USER_TAG_MANAGEMENT	0x08u
#define USER_TAG_IMPERSONATOR	0x10u

/* A user's configure/write/read patterns in one vhost. */
struct permission {
	char		*vhost;
	struct perm_re	*re[3];		/* by enum perm_kind */
};

struct user {
	char		*name;
	char		*hash;		/* base64(salt || digest), RabbitMQ's */
	int		 algo;		/* enum password_algo */
	char		*tags;		/* comma-separated, as given */
	unsigned	 tag_bits;	/* USER_TAG_* */
	struct hmap	 perms;		/* vhost name -> struct permission */
	struct hmap	 topic_perms;	/* "vhost\0exchange" -> topic perms */
	int64_t		 max_connections;	/* user limits; -1: none */
	int64_t		 max_channels;
};

enum auth_result {
	AUTH_OK,
	AUTH_BAD_MECHANISM,	/* not PLAIN or AMQPLAIN */
	AUTH_MALFORMED,		/* the response cannot be parsed */
	AUTH_REFUSED,		/* unknown user, wrong password, not allowed */
};

void	auth_init(struct broker *b);
void	auth_free(struct broker *b);

/*
 * Creates or replaces a user from a stored hash (algorithm by RabbitMQ's
 * name; NULL or "" means rabbit_password_hashing_sha256). Persists it
 * unless b is recovering. Returns 0, or -1 with a message in err.
 */
int	auth_user_put(struct broker *b, const char *name, const char *hash,
	    const char *algorithm, const char *tags, char *err, size_t errlen);
/* Creates or replaces a user with a fresh salted SHA-256 hash of password. */
int	auth_user_set_password(struct broker *b, const char *name,
	    const char *password, const char *tags, char *err, size_t errlen);
/*
 * Deletes a user, in memory and in the store, and closes its connections
 * with 320 CONNECTION_FORCED (as vhost_delete closes a vhost's).
 */
void	auth_user_del(struct broker *b, const char *name);
struct user *auth_user(struct broker *b, const char *name, size_t len);

/* Sets a user's permissions in a vhost (RabbitMQ regex syntax). */
int	auth_permission_set(struct broker *b, const char *user,
	    const char *vhost, const char *configure, const char *write,
	    const char *read, char *err, size_t errlen);

/*
 * Checks a SASL response. The refusal is the same, and takes the same
 * time, for an unknown user and a wrong password. peer is the socket's
 * real peer address: users listed in loopback-users may log in only
 * from a loopback address. On success *user is the user.
 */
enum auth_result auth_login(struct broker *b, struct proto_str mechanism,
	    struct proto_str response, const struct sockaddr *peer,
	    struct user **user);

/*
 * Logs name in without a password (SASL EXTERNAL): it must exist, and
 * loopback-users holds as for auth_login.
 */
enum auth_result auth_login_external(struct broker *b, const char *name,
	    const struct sockaddr *peer, struct user **user);

/* Removes a user's permissions in a vhost (open connections keep going). */
void	auth_permission_del(struct broker *b, const char *user,
	    const char *vhost);
/* Drops every user's permissions and topic permissions in a vhost. */
void	auth_forget_vhost(struct broker *b, const char *vhost);

/*
 * Topic permissions (auth_topic.c): a user's write and read patterns for
 * routing keys on one topic exchange of a vhost. "{username}" and
 * "{vhost}" in a pattern stand for those names; "" allows only "".
 */
int	auth_topic_permission_set(struct broker *b, const char *user,
	    const char *vhost, const char *exchange, const char *write,
	    const char *read, char *err, size_t errlen);
/*
 * Whether u may publish (PERM_WRITE) or bind (PERM_READ) with routing key
 * key on the exchange: true when no topic permission names it.
 */
bool	auth_topic_can(const struct user *u, const char *vhost,
	    struct proto_str exchange, enum perm_kind kind,
	    struct proto_str key);
/* Calls cb for each of u's topic permissions (in vhost, if not NULL). */
size_t	auth_topic_list(const struct user *u, const char *vhost,
	    void (*cb)(void *arg, const char *vhost, const char *exchange,
	    const char *write, const char *read), void *arg);
void	auth_topic_forget_vhost(struct user *u, const char *vhost);
/* Removes (and unstores) all of a user's topic permissions in a vhost. */
void	auth_topic_permission_clear(struct broker *b, const char *user,
	    const char *vhost);
bool	auth_topic_exists(const struct user *u, const char *vhost,
	    const char *exchange);
void	auth_topic_free(struct topic_permission *tp);

/* Whether the user may open the vhost (has permissions there). */
bool	auth_vhost_allowed(const struct user *u, const char *vhost);
/* Whether the user may do kind on resource name in vhost. */
bool	auth_can(const struct user *u, const char *vhost, enum perm_kind kind,
	    struct proto_str name);

/* Whether sa is a loopback address (IPv4 127/8, ::1, v4-mapped 127/8). */
bool	auth_is_loopback(const struct sockaddr *sa);

/*
 * Splits a PLAIN response ([authzid] NUL authcid NUL passwd); a non-empty
 * authzid is refused as malformed, as RabbitMQ 3.10 refuses it.
 */
int	auth_parse_plain(struct proto_str response, struct proto_str *user,
	    struct proto_str *pass);
/* Reads LOGIN and PASSWORD from an AMQPLAIN response (table entries). */
int	auth_parse_amqplain(struct proto_str response, struct proto_str *user,
	    struct proto_str *pass);

#endif /* WARREN_SERVER_AUTH_H */
