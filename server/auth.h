/*
 * Authentication. Until users are stored (the security issue), the broker
 * knows one built-in user, guest/guest, as a fresh RabbitMQ does.
 */
#ifndef WARREN_SERVER_AUTH_H
#define WARREN_SERVER_AUTH_H

#include "protocol/wire.h"

struct broker;

enum auth_result {
	AUTH_OK,
	AUTH_BAD_MECHANISM,	/* not PLAIN or AMQPLAIN */
	AUTH_MALFORMED,		/* the response cannot be parsed */
	AUTH_REFUSED,		/* unknown user or wrong password */
};

/* Checks a SASL response; on success *user views the name inside it. */
enum auth_result auth_login(struct broker *b, struct proto_str mechanism,
	    struct proto_str response, struct proto_str *user);

/* Splits a PLAIN response ([authzid] NUL authcid NUL passwd). */
int	auth_parse_plain(struct proto_str response, struct proto_str *user,
	    struct proto_str *pass);
/* Reads LOGIN and PASSWORD from an AMQPLAIN response (table entries). */
int	auth_parse_amqplain(struct proto_str response, struct proto_str *user,
	    struct proto_str *pass);

#endif /* WARREN_SERVER_AUTH_H */
