/*
 * Direct reply-to (amq.rabbitmq.reply-to) end to end: the request/reply
 * round trip, RabbitMQ's refusals and their words, declares of the
 * pseudo-queue and of tokens, replies to tokens that are gone, and that a
 * token is no use from another vhost. Runs against RabbitMQ with
 * WARREN_TEST_URL, except where warren deliberately differs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <criterion/criterion.h>

#include "tests/integration/harness.h"

TestSuite(reply_to, .timeout = 60);

static struct hbroker	b;

#define PSEUDO	"amq.rabbitmq.reply-to"

static void
consume_replies(amqp_connection_state_t c, amqp_channel_t ch, bool no_ack)
{
	amqp_basic_consume(c, ch, amqp_cstring_bytes(PSEUDO),
	    amqp_cstring_bytes("replies"), 0, no_ack, 0, amqp_empty_table);
}

/* Publishes a request to queue q whose reply_to is the pseudo-queue. */
static int
request(amqp_connection_state_t c, const char *q, const char *corr)
{
	amqp_basic_properties_t	p;

	memset(&p, 0, sizeof(p));
	p._flags = AMQP_BASIC_REPLY_TO_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG;
	p.reply_to = amqp_cstring_bytes(PSEUDO);
	p.correlation_id = amqp_cstring_bytes(corr);
	return amqp_basic_publish(c, 1, amqp_empty_bytes,
	    amqp_cstring_bytes(q), 0, 0, &p, amqp_cstring_bytes("req"));
}

/* Gets the request from q; returns its reply_to (malloc'd). */
static char *
take_request(amqp_connection_state_t s, const char *q)
{
	amqp_rpc_reply_t	r;
	amqp_message_t		m;
	char			*rt;

	for (int i = 0; i < 100; i++) {
		amqp_basic_get(s, 1, amqp_cstring_bytes(q), 1);
		r = amqp_get_rpc_reply(s);
		cr_assert_eq(r.reply_type, AMQP_RESPONSE_NORMAL);
		if (r.reply.id == AMQP_BASIC_GET_OK_METHOD)
			break;
		usleep(20000);
	}
	cr_assert_eq(r.reply.id, AMQP_BASIC_GET_OK_METHOD, "no request");
	cr_assert_eq(amqp_read_message(s, 1, &m, 0).reply_type,
	    AMQP_RESPONSE_NORMAL);
	cr_assert(m.properties._flags & AMQP_BASIC_REPLY_TO_FLAG);
	cr_assert_not_null(rt = strndup(m.properties.reply_to.bytes,
	    m.properties.reply_to.len));
	amqp_destroy_message(&m);
	return rt;
}

static void
reply(amqp_connection_state_t s, const char *token, const char *corr,
    const char *body, bool mandatory)
{
	amqp_basic_properties_t	p;

	memset(&p, 0, sizeof(p));
	p._flags = AMQP_BASIC_CORRELATION_ID_FLAG;
	p.correlation_id = amqp_cstring_bytes(corr);
	cr_assert_eq(amqp_basic_publish(s, 1, amqp_empty_bytes,
	    amqp_cstring_bytes(token), mandatory, 0, &p,
	    amqp_cstring_bytes(body)), 0);
}

/* Waits for a basic.return on s; returns its reply code, or 0. */
static int
wait_return(amqp_connection_state_t s, int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };
	amqp_frame_t	f;
	int		code = 0;

	if (amqp_simple_wait_frame_noblock(s, &f, &tv) != AMQP_STATUS_OK)
		return 0;
	if (f.frame_type == AMQP_FRAME_METHOD &&
	    f.payload.method.id == AMQP_BASIC_RETURN_METHOD) {
		amqp_message_t	m;

		code = ((amqp_basic_return_t *)
		    f.payload.method.decoded)->reply_code;
		cr_assert_eq(amqp_read_message(s, 1, &m, 0).reply_type,
		    AMQP_RESPONSE_NORMAL);
		amqp_destroy_message(&m);
	}
	return code;
}

Test(reply_to, request_and_reply_round_trip)
{
	amqp_connection_state_t	 c, s;
	amqp_envelope_t		 env;
	struct timeval		 tv = { 5, 0 };
	const char		*q = strdup(hb_name("rpcq"));
	char			*token;

	hb_start(&b, NULL);
	c = hb_connect(&b);
	s = hb_connect(&b);
	cr_assert_not_null(amqp_queue_declare(s, 1, amqp_cstring_bytes(q), 0,
	    0, 0, 1, amqp_empty_table));
	consume_replies(c, 1, true);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	cr_assert_eq(request(c, q, "c-1"), 0);
	token = take_request(s, q);
	cr_assert(strncmp(token, PSEUDO ".", strlen(PSEUDO) + 1) == 0 &&
	    strlen(token) > strlen(PSEUDO) + 8, "reply_to '%s'", token);
	reply(s, token, "c-1", "the answer", false);
	cr_assert_eq(amqp_consume_message(c, &env, &tv, 0).reply_type,
	    AMQP_RESPONSE_NORMAL);
	cr_assert_eq(env.exchange.len, 0);
	cr_assert_eq(env.routing_key.len, strlen(token));
	cr_assert(memcmp(env.routing_key.bytes, token, strlen(token)) == 0);
	cr_assert_eq(env.consumer_tag.len, strlen("replies"));
	cr_assert_not(env.redelivered);
	cr_assert_eq(env.message.properties.correlation_id.len, 3);
	cr_assert_eq(env.message.body.len, strlen("the answer"));
	cr_assert(memcmp(env.message.body.bytes, "the answer", 10) == 0);
	amqp_destroy_envelope(&env);
	/* The token declares as a queue with one consumer while it lives. */
	{
		amqp_queue_declare_ok_t *ok = amqp_queue_declare(s, 1,
		    amqp_cstring_bytes(token), 1, 0, 0, 0, amqp_empty_table);

		cr_assert_not_null(ok);
		cr_assert_eq(ok->message_count, 0);
		cr_assert_eq(ok->consumer_count, 1);
	}
	hb_close(c);
	/* Gone with its channel: 404, and a mandatory reply comes back. */
	amqp_queue_declare(s, 1, amqp_cstring_bytes(token), 1, 0, 0, 0,
	    amqp_empty_table);
	cr_assert_eq(hb_expect_close(s, amqp_get_rpc_reply(s), false,
	    404)[0], 'N');
	cr_assert_not_null(amqp_channel_open(s, 1));
	reply(s, token, "c-1", "late", true);
	cr_assert_eq(wait_return(s, 5000), 312);
	free(token);
	hb_close(s);
	hb_stop(&b);
}

Test(reply_to, refusals_use_rabbitmq_words)
{
	amqp_connection_state_t	c;

	hb_start(&b, NULL);
	c = hb_connect(&b);
	consume_replies(c, 1, false);
	cr_assert_str_eq(hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    406), "PRECONDITION_FAILED - reply consumer cannot acknowledge");
	cr_assert_not_null(amqp_channel_open(c, 1));
	consume_replies(c, 1, true);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	amqp_basic_consume(c, 1, amqp_cstring_bytes(PSEUDO),
	    amqp_cstring_bytes("other"), 0, 1, 0, amqp_empty_table);
	cr_assert_str_eq(hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    406), "PRECONDITION_FAILED - reply consumer already set");
	/* A fresh channel does not consume replies: no reply_to for it. */
	cr_assert_not_null(amqp_channel_open(c, 1));
	cr_assert_eq(request(c, "anything", "x"), 0);
	amqp_basic_qos(c, 1, 0, 1, 0);
	cr_assert_str_eq(hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    406), "PRECONDITION_FAILED - fast reply consumer does not exist");
	hb_close(c);
	hb_stop(&b);
}

Test(reply_to, pseudo_queue_declares_and_cancel_ends_the_token)
{
	amqp_connection_state_t	 c;
	amqp_queue_declare_ok_t	*ok;

	hb_start(&b, NULL);
	c = hb_connect(&b);
	ok = amqp_queue_declare(c, 1, amqp_cstring_bytes(PSEUDO), 1, 0, 0, 0,
	    amqp_empty_table);
	cr_assert_not_null(ok);
	cr_assert_eq(ok->consumer_count, 1);
	amqp_queue_declare(c, 1, amqp_cstring_bytes(PSEUDO ".nosuchtoken"),
	    1, 0, 0, 0, amqp_empty_table);
	cr_assert_eq(hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    404)[0], 'N');
	cr_assert_not_null(amqp_channel_open(c, 1));
	consume_replies(c, 1, true);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	amqp_basic_cancel(c, 1, amqp_cstring_bytes("replies"));
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	cr_assert_eq(request(c, "anything", "x"), 0);
	amqp_basic_qos(c, 1, 0, 1, 0);
	cr_assert_eq(hb_expect_close(c, amqp_get_rpc_reply(c), false,
	    406)[0], 'P', "a cancelled reply consumer still took replies");
	hb_close(c);
	hb_stop(&b);
}

Test(reply_to, a_token_is_no_use_in_another_vhost)
{
	amqp_connection_state_t	 c, s, other;
	amqp_envelope_t		 env;
	struct timeval		 tv = { 0, 500000 };
	const char		*q = strdup(hb_name("vq"));
	char			*token, path[300];
	struct hhttp		 r;

	/*
	 * compat: RabbitMQ's token names a channel process and works from
	 * any vhost, and a delivered mandatory reply is returned too;
	 * warren keeps tenants apart and returns only what went nowhere.
	 */
	hb_start(&b, NULL);
	if (b.external)
		cr_skip_test("warren's own rules; RabbitMQ differs on purpose");
	snprintf(path, sizeof(path), "/api/vhosts/%s", hb_name("rv"));
	cr_assert_eq(hb_http(&b, "PUT", path, "guest:guest", NULL, &r), 201);
	hb_http_free(&r);
	c = hb_connect(&b);
	s = hb_connect(&b);
	other = hb_connect_opts(&b, path + strlen("/api/vhosts/"), "guest",
	    "guest", 131072, 0, NULL);
	cr_assert_not_null(other);
	cr_assert_not_null(amqp_channel_open(other, 1));
	cr_assert_not_null(amqp_queue_declare(s, 1, amqp_cstring_bytes(q), 0,
	    0, 0, 1, amqp_empty_table));
	consume_replies(c, 1, true);
	cr_assert_eq(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	cr_assert_eq(request(c, q, "v"), 0);
	token = take_request(s, q);
	/* From the other vhost: unroutable, returned, never delivered. */
	reply(other, token, "v", "injected", true);
	cr_assert_eq(wait_return(other, 5000), 312);
	cr_assert_neq(amqp_consume_message(c, &env, &tv, 0).reply_type,
	    AMQP_RESPONSE_NORMAL, "a reply crossed vhosts");
	/* warren: a delivered mandatory reply is not also returned. */
	reply(s, token, "v", "fine", true);
	tv.tv_sec = 5;
	cr_assert_eq(amqp_consume_message(c, &env, &tv, 0).reply_type,
	    AMQP_RESPONSE_NORMAL);
	amqp_destroy_envelope(&env);
	cr_assert_eq(wait_return(s, 300), 0);
	free(token);
	hb_close(other);
	hb_close(c);
	hb_close(s);
	hb_stop(&b);
}
