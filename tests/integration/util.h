/*
 * Small helpers shared by the entity and basic.* integration tests
 * (test_exchange.c, test_queue.c, test_basic.c, test_confirm_tx.c).
 * They sit on top of harness.h and rabbitmq-c; every helper asserts on
 * failure so the tests read as a list of expectations.  Each Criterion
 * test runs in its own process, so strings returned here are simply
 * leaked rather than tracked.
 */
#ifndef WARREN_TESTS_UTIL_H
#define WARREN_TESTS_UTIL_H

#include <amqp.h>
#include <amqp_framing.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tests/integration/harness.h"

/* The broker of the running test, started by ut_setup. */
extern struct hbroker	ut_broker;

/* Criterion .init/.fini: start and stop a broker for each test. */
void	ut_setup(void);
void	ut_teardown(void);
/* Criterion .fini asserting that warrend exited cleanly (status 0). */
void	ut_teardown_clean(void);
/*
 * A test program's main running its tests one at a time (Criterion runs
 * them in parallel by default), for tests that load the machine.
 */
int	ut_main_serial(int argc, char *argv[]);

/* Asserts that text begins with prefix, showing both on failure. */
#define UT_PREFIX(text, prefix) \
	cr_assert(strncmp((text), (prefix), strlen(prefix)) == 0, \
	    "reply text\n  got: %s\n want: %s...", (text), (prefix))

/* hb_connect with an RPC timeout so a silent broker fails, not hangs. */
amqp_connection_state_t	ut_connect(void);

/*
 * Like ut_connect but logs in with client capability
 * consumer_cancel_notify=true, which rabbitmq-c does not advertise by
 * itself; channel 1 is open.
 */
amqp_connection_state_t	ut_connect_ccn(void);

/* Asserts that the last synchronous call succeeded. */
void	ut_ok(amqp_connection_state_t, const char *what);

/* Opens channel ch and asserts success. */
void	ut_channel(amqp_connection_state_t, amqp_channel_t ch);

/*
 * Declares a plain queue (not durable, not exclusive, not auto-delete)
 * named hb_name(prefix) on channel ch and returns its name.
 */
char	*ut_queue(amqp_connection_state_t, amqp_channel_t ch,
	    const char *prefix);

/* Declares exchange name of type; asserts success. */
void	ut_exchange(amqp_connection_state_t, amqp_channel_t ch,
	    const char *name, const char *type);

/* queue.bind; asserts success. */
void	ut_bind(amqp_connection_state_t, amqp_channel_t ch, const char *queue,
	    const char *exchange, const char *key, amqp_table_t args);

/* exchange.bind destination <- source; asserts success. */
void	ut_xbind(amqp_connection_state_t, amqp_channel_t ch, const char *dest,
	    const char *source, const char *key);

/* basic.publish of a NUL-terminated body without properties. */
void	ut_publish(amqp_connection_state_t, amqp_channel_t ch,
	    const char *exchange, const char *key, const char *body);

/* basic.publish with mandatory and optional properties. */
void	ut_publish_full(amqp_connection_state_t, amqp_channel_t ch,
	    const char *exchange, const char *key, bool mandatory,
	    const amqp_basic_properties_t *props, amqp_bytes_t body);

/*
 * Message properties with only these set: expiration (when not NULL)
 * and delivery mode 2 (when persistent).
 */
amqp_basic_properties_t	ut_props(const char *expiration, bool persistent);

/*
 * basic.get.  Returns the body as a malloc'd NUL-terminated string, or
 * NULL on get-empty.  *ok (may be NULL) receives get-ok's fields and
 * *props (may be NULL) the message properties (pool-owned; valid until
 * the next call on the connection).
 */
char	*ut_get(amqp_connection_state_t, amqp_channel_t ch, const char *queue,
	    bool no_ack, amqp_basic_get_ok_t *ok, amqp_basic_properties_t *props);

/* basic.get with no-ack; asserts the body is want. */
void	ut_expect_get(amqp_connection_state_t, amqp_channel_t ch,
	    const char *queue, const char *want);

/* basic.get; asserts get-empty. */
void	ut_expect_empty(amqp_connection_state_t, amqp_channel_t ch,
	    const char *queue);

/* Passive queue.declare on ch; returns declare-ok's counts. */
void	ut_counts(amqp_connection_state_t, amqp_channel_t ch,
	    const char *queue, uint32_t *messages, uint32_t *consumers);
uint32_t	ut_count(amqp_connection_state_t, amqp_channel_t ch,
	    const char *queue);

/*
 * Polls the ready count until it equals want or ms elapse; returns the
 * last count.  RabbitMQ requeues a closed channel's unacked messages
 * after it has answered close-ok, so counts are polled, not read once.
 */
uint32_t	ut_count_wait(amqp_connection_state_t, amqp_channel_t ch,
	    const char *queue, uint32_t want, int ms);

/*
 * Whether a queue / exchange exists, checked by a passive declare on a
 * scratch channel so that a 404 does not disturb the caller's channels.
 */
bool	ut_queue_exists(amqp_connection_state_t, const char *queue);
bool	ut_exchange_exists(amqp_connection_state_t, const char *exchange);

/*
 * Polls ut_queue_exists until it returns want or ms elapse; returns the
 * last answer.  Deletions caused by other events (a closed connection,
 * a cancelled consumer) complete asynchronously in RabbitMQ.
 */
bool	ut_queue_exists_wait(amqp_connection_state_t, const char *queue,
	    bool want, int ms);

/*
 * Makes a synchronous round trip on ch (passive declare of amq.direct)
 * so that an asynchronous channel or connection close caused by an
 * earlier publish or ack shows up in the returned reply.
 */
amqp_rpc_reply_t	ut_sync(amqp_connection_state_t, amqp_channel_t ch);

/* Waits up to ms for any frame; returns AMQP_STATUS_OK or an error
 * (AMQP_STATUS_TIMEOUT when nothing came). */
int	ut_wait_frame(amqp_connection_state_t, amqp_frame_t *, int ms);

/*
 * Waits up to ms for a basic.deliver.  Returns 1 with *env filled (free
 * with amqp_destroy_envelope), 0 on timeout, -1 when another frame came
 * first (it is left for ut_wait_frame).
 */
int	ut_consume(amqp_connection_state_t, amqp_envelope_t *env, int ms);

/* ut_consume, asserting a delivery whose body is want; returns its tag. */
uint64_t	ut_expect_delivery(amqp_connection_state_t, const char *want);

/*
 * On a channel in confirm mode, waits (<= 5 s) until basic.ack frames
 * cover every tag up to last, asserting no nack arrives.  RabbitMQ
 * enqueues published messages asynchronously, so tests that count
 * messages right after publishing wait for the confirms first.
 */
void	ut_confirm_wait(amqp_connection_state_t, amqp_channel_t ch,
	    uint64_t last);

/* confirm.select on ch; asserts success. */
void	ut_confirm_select(amqp_connection_state_t, amqp_channel_t ch);

/* basic.consume; returns the consumer tag (server-named when tag is
 * NULL). */
char	*ut_consume_start(amqp_connection_state_t, amqp_channel_t ch,
	    const char *queue, const char *tag, bool no_ack, bool exclusive);

/* Table-building helpers. */
amqp_table_entry_t	ut_str(const char *key, const char *val);
amqp_table_entry_t	ut_i32(const char *key, int32_t val);
amqp_table_t	ut_table(amqp_table_entry_t *entries, int n);

/* Returns NUL-terminated copy of a reply text or other amqp_bytes_t. */
char	*ut_str_of(amqp_bytes_t);

#endif /* WARREN_TESTS_UTIL_H */
