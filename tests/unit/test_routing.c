#include "autoconf.h"

/*
 * Unit tests for exchanges, bindings and routing on the vhost "/" of a
 * test broker (broker_init_test; server/exchange.c, server/vhost.c).
 * Nothing here has consumers, so no queue is ever woken.
 */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/table.h"
#include "protocol/wire.h"
#include "server/broker.h"
#include "server/exchange.h"
#include "server/queue.h"
#include "server/vhost.h"

static const struct proto_table	notab = { NULL, 0 };

static struct ev_loop		*loop;
static struct broker		 broker;
static struct vhost		*vh;
static struct route_result	 res;

static void
setup(void)
{
	loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(loop);
	broker_init_test(&broker, loop);
	vh = broker_vhost(&broker, "/", 1);
	cr_assert_not_null(vh);
	memset(&res, 0, sizeof(res));
}

static void
teardown(void)
{
	free(res.q);
	broker_free(&broker);
	ev_loop_destroy(loop);
}

TestSuite(routing, .init = setup, .fini = teardown);

static struct exchange *
xnew(const char *name, enum exchange_kind kind, bool auto_delete,
    struct proto_table args)
{
	struct exchange *ex;

	ex = exchange_new(vh, proto_str_c(name), kind, false, auto_delete,
	    false, args);
	cr_assert_not_null(ex);
	vhost_add_exchange(vh, ex);
	return ex;
}

static struct exchange *
xdecl(const char *name, enum exchange_kind kind)
{
	return xnew(name, kind, false, notab);
}

static struct queue *
qdecl(const char *name)
{
	struct queue *q;

	q = queue_new(vh, proto_str_c(name), false, false, false, notab);
	cr_assert_not_null(q);
	vhost_add_queue(vh, q);
	return q;
}

static void
bindq(struct exchange *ex, struct queue *q, const char *key)
{
	cr_assert_eq(exchange_bind(ex, q, NULL, proto_str_c(key), notab), 0);
}

static void
bindx(struct exchange *src, struct exchange *dst, const char *key)
{
	cr_assert_eq(exchange_bind(src, NULL, dst, proto_str_c(key), notab), 0);
}

/* Routes with no headers; returns the number of queues. */
static size_t
route(struct exchange *ex, const char *rk)
{
	exchange_route(ex, proto_str_c(rk), notab, &res);
	return res.n;
}

static size_t
count(const struct queue *q)
{
	size_t n = 0;

	for (size_t i = 0; i < res.n; i++)
		if (res.q[i] == q)
			n++;
	return n;
}

/* A table (without its length prefix) of string pairs, in buf. */
static struct proto_table
strtab(uint8_t *buf, size_t cap, const char *const *kv)
{
	struct proto_writer w = proto_writer(buf, cap);
	size_t at = proto_table_begin(&w);

	for (; kv[0] != NULL; kv += 2)
		proto_table_put_longstr(&w, kv[0], kv[1]);
	proto_table_end(&w, at);
	cr_assert(!w.overflow);
	return (struct proto_table){ buf + 4, w.len - 4 };
}

Test(routing, builtin_exchanges_exist)
{
	static const struct {
		const char		*name;
		enum exchange_kind	 kind;
	} want[] = {
		{ "", EXCHANGE_DIRECT },
		{ "amq.direct", EXCHANGE_DIRECT },
		{ "amq.fanout", EXCHANGE_FANOUT },
		{ "amq.topic", EXCHANGE_TOPIC },
		{ "amq.headers", EXCHANGE_HEADERS },
		{ "amq.match", EXCHANGE_HEADERS },
	};
	struct exchange *ex;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ex = vhost_exchange(vh, proto_str_c(want[i].name));
		cr_assert_not_null(ex, "missing '%s'", want[i].name);
		cr_assert_eq(ex->kind, want[i].kind, "'%s'", want[i].name);
		cr_assert(ex->builtin, "'%s'", want[i].name);
	}
}

Test(routing, direct_routes_on_exact_key)
{
	struct exchange *ex = xdecl("d", EXCHANGE_DIRECT);
	struct queue *qa = qdecl("qa"), *qb = qdecl("qb");

	bindq(ex, qa, "a");
	bindq(ex, qb, "b");
	cr_assert_eq(route(ex, "a"), 1);
	cr_assert_eq(count(qa), 1);
	cr_assert_eq(route(ex, "b"), 1);
	cr_assert_eq(count(qb), 1);
}

Test(routing, direct_does_not_route_on_other_keys)
{
	struct exchange *ex = xdecl("d", EXCHANGE_DIRECT);
	struct queue *q = qdecl("q");

	bindq(ex, q, "a");
	cr_assert_eq(route(ex, "ab"), 0);
	cr_assert_eq(route(ex, ""), 0);
	cr_assert_eq(route(ex, "A"), 0);
}

Test(routing, direct_routes_to_every_queue_bound_with_the_key)
{
	struct exchange *ex = xdecl("d", EXCHANGE_DIRECT);
	struct queue *q1 = qdecl("q1"), *q2 = qdecl("q2");

	bindq(ex, q1, "k");
	bindq(ex, q2, "k");
	cr_assert_eq(route(ex, "k"), 2);
	cr_assert_eq(count(q1), 1);
	cr_assert_eq(count(q2), 1);
}

Test(routing, queue_bound_twice_is_routed_once)
{
	struct exchange *ex = xdecl("t", EXCHANGE_TOPIC);
	struct queue *q = qdecl("q");

	bindq(ex, q, "a.*");
	bindq(ex, q, "#");
	cr_assert_eq(route(ex, "a.b"), 1);
	cr_assert_eq(count(q), 1);
}

Test(routing, fanout_ignores_the_key)
{
	struct exchange *ex = xdecl("f", EXCHANGE_FANOUT);
	struct queue *q1 = qdecl("q1"), *q2 = qdecl("q2");

	bindq(ex, q1, "x");
	bindq(ex, q2, "");
	cr_assert_eq(route(ex, "unrelated"), 2);
	cr_assert_eq(count(q1), 1);
	cr_assert_eq(count(q2), 1);
}

Test(routing, topic_routes_by_pattern)
{
	struct exchange *ex = xdecl("t", EXCHANGE_TOPIC);
	struct queue *star = qdecl("star"), *hash = qdecl("hash"),
	    *other = qdecl("other");

	bindq(ex, star, "stock.*.nyse");
	bindq(ex, hash, "stock.#");
	bindq(ex, other, "bond.#");
	cr_assert_eq(route(ex, "stock.ibm.nyse"), 2);
	cr_assert_eq(count(star), 1);
	cr_assert_eq(count(hash), 1);
	cr_assert_eq(route(ex, "stock.ibm.lse"), 1);
	cr_assert_eq(count(hash), 1);
	cr_assert_eq(route(ex, "fx.eur"), 0);
}

Test(routing, headers_all_needs_every_binding_header)
{
	static const char *const bargs[] = { "x-match", "all", "format", "pdf",
	    "type", "report", NULL };
	static const char *const both[] = { "format", "pdf", "type", "report",
	    NULL };
	static const char *const one[] = { "format", "pdf", NULL };
	uint8_t b1[256], b2[256], b3[256];
	struct exchange *ex = xdecl("h", EXCHANGE_HEADERS);
	struct queue *q = qdecl("q");

	cr_assert_eq(exchange_bind(ex, q, NULL, proto_str_c(""),
	    strtab(b1, sizeof(b1), bargs)), 0);
	exchange_route(ex, proto_str_c(""),
	    strtab(b2, sizeof(b2), both), &res);
	cr_assert_eq(res.n, 1);
	cr_assert_eq(count(q), 1);
	exchange_route(ex, proto_str_c(""),
	    strtab(b3, sizeof(b3), one), &res);
	cr_assert_eq(res.n, 0);
}

Test(routing, headers_any_needs_one_binding_header)
{
	static const char *const bargs[] = { "x-match", "any", "format", "pdf",
	    "type", "report", NULL };
	static const char *const one[] = { "type", "report", NULL };
	static const char *const none[] = { "format", "zip", NULL };
	uint8_t b1[256], b2[256], b3[256];
	struct exchange *ex = xdecl("h", EXCHANGE_HEADERS);
	struct queue *q = qdecl("q");

	cr_assert_eq(exchange_bind(ex, q, NULL, proto_str_c(""),
	    strtab(b1, sizeof(b1), bargs)), 0);
	exchange_route(ex, proto_str_c(""),
	    strtab(b2, sizeof(b2), one), &res);
	cr_assert_eq(res.n, 1);
	cr_assert_eq(count(q), 1);
	exchange_route(ex, proto_str_c(""),
	    strtab(b3, sizeof(b3), none), &res);
	cr_assert_eq(res.n, 0);
}

Test(routing, default_exchange_routes_by_queue_name)
{
	struct exchange *def = vhost_exchange(vh, proto_str_c(""));
	struct queue *q1 = qdecl("q1");

	qdecl("q2");
	cr_assert_not_null(def);
	cr_assert_eq(route(def, "q1"), 1);
	cr_assert_eq(count(q1), 1);
	cr_assert_eq(route(def, "nope"), 0);
}

Test(routing, exchange_to_exchange_chain_reaches_the_queue)
{
	struct exchange *a = xdecl("a", EXCHANGE_DIRECT),
	    *b = xdecl("b", EXCHANGE_TOPIC), *c = xdecl("c", EXCHANGE_FANOUT);
	struct queue *q = qdecl("q");

	bindx(a, b, "k.x");
	bindx(b, c, "k.*");
	bindq(c, q, "");
	cr_assert_eq(route(a, "k.x"), 1);
	cr_assert_eq(count(q), 1);
	cr_assert_eq(route(a, "k.y"), 0);
}

Test(routing, exchange_cycle_terminates_with_each_queue_once)
{
	struct exchange *a = xdecl("a", EXCHANGE_FANOUT),
	    *b = xdecl("b", EXCHANGE_FANOUT);
	struct queue *qa = qdecl("qa"), *qb = qdecl("qb");

	bindx(a, b, "");
	bindx(b, a, "");
	bindq(a, qa, "");
	bindq(b, qb, "");
	cr_assert_eq(route(a, "k"), 2);
	cr_assert_eq(count(qa), 1);
	cr_assert_eq(count(qb), 1);
}

Test(routing, exchange_bound_to_itself_terminates)
{
	struct exchange *a = xdecl("a", EXCHANGE_FANOUT);
	struct queue *q = qdecl("q");

	bindx(a, a, "");
	bindq(a, q, "");
	cr_assert_eq(route(a, "k"), 1);
	cr_assert_eq(count(q), 1);
}

Test(routing, diamond_delivers_once)
{
	struct exchange *top = xdecl("top", EXCHANGE_FANOUT),
	    *l = xdecl("l", EXCHANGE_FANOUT), *r = xdecl("r", EXCHANGE_FANOUT);
	struct queue *q = qdecl("q");

	bindx(top, l, "");
	bindx(top, r, "");
	bindq(l, q, "");
	bindq(r, q, "");
	cr_assert_eq(route(top, "k"), 1);
	cr_assert_eq(count(q), 1);
}

Test(routing, consecutive_routes_do_not_share_dedupe_state)
{
	struct exchange *ex = xdecl("f", EXCHANGE_FANOUT);
	struct queue *q = qdecl("q");

	bindq(ex, q, "");
	cr_assert_eq(route(ex, "k"), 1);
	cr_assert_eq(route(ex, "k"), 1);
	cr_assert_eq(count(q), 1);
}

Test(routing, alternate_exchange_takes_unroutable_messages)
{
	static const char *const args[] = { "alternate-exchange", "ae", NULL };
	uint8_t buf[128];
	struct exchange *ex, *ae = xdecl("ae", EXCHANGE_FANOUT);
	struct queue *q = qdecl("q"), *qae = qdecl("qae");

	ex = xnew("x", EXCHANGE_DIRECT, false, strtab(buf, sizeof(buf), args));
	bindq(ex, q, "k");
	bindq(ae, qae, "");
	cr_assert_eq(route(ex, "other"), 1);
	cr_assert_eq(count(qae), 1);
}

Test(routing, alternate_exchange_is_unused_when_a_binding_matches)
{
	static const char *const args[] = { "alternate-exchange", "ae", NULL };
	uint8_t buf[128];
	struct exchange *ex, *ae = xdecl("ae", EXCHANGE_FANOUT);
	struct queue *q = qdecl("q"), *qae = qdecl("qae");

	ex = xnew("x", EXCHANGE_DIRECT, false, strtab(buf, sizeof(buf), args));
	bindq(ex, q, "k");
	bindq(ae, qae, "");
	cr_assert_eq(route(ex, "k"), 1);
	cr_assert_eq(count(q), 1);
	cr_assert_eq(count(qae), 0);
}

Test(routing, missing_alternate_exchange_routes_nowhere)
{
	static const char *const args[] = { "alternate-exchange", "gone", NULL };
	uint8_t buf[128];
	struct exchange *ex;
	struct queue *q = qdecl("q");

	ex = xnew("x", EXCHANGE_DIRECT, false, strtab(buf, sizeof(buf), args));
	bindq(ex, q, "k");
	cr_assert_eq(route(ex, "other"), 0);
}

Test(routing, alternate_exchange_cycle_terminates)
{
	static const char *const to_b[] = { "alternate-exchange", "b", NULL };
	static const char *const to_a[] = { "alternate-exchange", "a", NULL };
	uint8_t b1[128], b2[128];
	struct exchange *a;
	struct queue *q = qdecl("q");

	a = xnew("a", EXCHANGE_DIRECT, false, strtab(b1, sizeof(b1), to_b));
	xnew("b", EXCHANGE_DIRECT, false, strtab(b2, sizeof(b2), to_a));
	bindq(a, q, "k");
	cr_assert_eq(route(a, "other"), 0);
}

Test(routing, unbound_queue_is_no_longer_routed)
{
	struct exchange *ex = xdecl("d", EXCHANGE_DIRECT);
	struct queue *q1 = qdecl("q1"), *q2 = qdecl("q2");
	struct binding *bd;

	bindq(ex, q1, "k");
	bindq(ex, q2, "k");
	bd = exchange_find_binding(ex, q1, NULL, proto_str_c("k"), notab);
	cr_assert_not_null(bd);
	exchange_unbind(bd);
	cr_assert_eq(route(ex, "k"), 1);
	cr_assert_eq(count(q2), 1);
	cr_assert_eq(q1->nbindings, 0);
	cr_assert_null(exchange_find_binding(ex, q1, NULL, proto_str_c("k"),
	    notab));
}

Test(routing, unbound_topic_pattern_is_no_longer_routed)
{
	struct exchange *ex = xdecl("t", EXCHANGE_TOPIC);
	struct queue *q = qdecl("q");
	struct binding *bd;

	bindq(ex, q, "a.#");
	bd = exchange_find_binding(ex, q, NULL, proto_str_c("a.#"), notab);
	cr_assert_not_null(bd);
	exchange_unbind(bd);
	cr_assert_eq(route(ex, "a.b"), 0);
}

Test(routing, unbinding_one_of_two_equal_topic_patterns_keeps_the_other)
{
	struct exchange *ex = xdecl("t", EXCHANGE_TOPIC);
	struct queue *q1 = qdecl("q1"), *q2 = qdecl("q2");
	struct binding *bd;

	bindq(ex, q1, "a.*");
	bindq(ex, q2, "a.*");
	bd = exchange_find_binding(ex, q1, NULL, proto_str_c("a.*"), notab);
	cr_assert_not_null(bd);
	exchange_unbind(bd);
	cr_assert_eq(route(ex, "a.b"), 1);
	cr_assert_eq(count(q2), 1);
}

Test(routing, unbound_exchange_is_no_longer_routed)
{
	struct exchange *a = xdecl("a", EXCHANGE_FANOUT),
	    *b = xdecl("b", EXCHANGE_FANOUT);
	struct queue *q = qdecl("q");
	struct binding *bd;

	bindx(a, b, "");
	bindq(b, q, "");
	bd = exchange_find_binding(a, NULL, b, proto_str_c(""), notab);
	cr_assert_not_null(bd);
	exchange_unbind(bd);
	cr_assert_eq(route(a, "k"), 0);
	cr_assert_eq(b->nincoming, 0);
}

Test(routing, binding_lookup_compares_arguments)
{
	static const char *const args[] = { "x-match", "any", NULL };
	uint8_t buf[128];
	struct exchange *ex = xdecl("h", EXCHANGE_HEADERS);
	struct queue *q = qdecl("q");
	struct proto_table t = strtab(buf, sizeof(buf), args);

	cr_assert_eq(exchange_bind(ex, q, NULL, proto_str_c(""), t), 0);
	cr_assert_not_null(exchange_find_binding(ex, q, NULL, proto_str_c(""),
	    t));
	cr_assert_null(exchange_find_binding(ex, q, NULL, proto_str_c(""),
	    notab));
}

Test(routing, deleted_queue_loses_its_bindings)
{
	struct exchange *d = xdecl("d", EXCHANGE_DIRECT),
	    *t = xdecl("t", EXCHANGE_TOPIC), *f = xdecl("f", EXCHANGE_FANOUT);
	struct queue *q = qdecl("q");

	bindq(d, q, "k");
	bindq(t, q, "#");
	bindq(f, q, "");
	vhost_delete_queue(vh, q);
	cr_assert_null(vhost_queue(vh, proto_str_c("q")));
	cr_assert_eq(d->nbindings, 0);
	cr_assert_eq(t->nbindings, 0);
	cr_assert_eq(f->nbindings, 0);
	cr_assert_eq(route(d, "k"), 0);
	cr_assert_eq(route(t, "k"), 0);
	cr_assert_eq(route(f, "k"), 0);
}

Test(routing, deleted_exchange_loses_bindings_to_it)
{
	struct exchange *a = xdecl("a", EXCHANGE_FANOUT),
	    *b = xdecl("b", EXCHANGE_FANOUT);
	struct queue *q = qdecl("q");

	bindx(a, b, "");
	bindq(b, q, "");
	vhost_delete_exchange(vh, b);
	cr_assert_null(vhost_exchange(vh, proto_str_c("b")));
	cr_assert_eq(a->nbindings, 0);
	cr_assert_eq(q->nbindings, 0);
	cr_assert_eq(route(a, "k"), 0);
}

Test(routing, auto_delete_exchange_goes_with_its_last_binding)
{
	struct exchange *ex = xnew("ad", EXCHANGE_DIRECT, true, notab);
	struct queue *q1 = qdecl("q1"), *q2 = qdecl("q2");

	bindq(ex, q1, "k");
	bindq(ex, q2, "k");
	exchange_unbind(exchange_find_binding(ex, q1, NULL, proto_str_c("k"),
	    notab));
	vhost_exchange_maybe_autodelete(vh, ex);
	cr_assert_eq(vhost_exchange(vh, proto_str_c("ad")), ex);
	exchange_unbind(exchange_find_binding(ex, q2, NULL, proto_str_c("k"),
	    notab));
	vhost_exchange_maybe_autodelete(vh, ex);
	cr_assert_null(vhost_exchange(vh, proto_str_c("ad")));
}

Test(routing, auto_delete_exchange_goes_when_its_queue_is_deleted)
{
	struct exchange *ex = xnew("ad", EXCHANGE_FANOUT, true, notab);
	struct queue *q = qdecl("q");

	bindq(ex, q, "");
	vhost_delete_queue(vh, q);
	cr_assert_null(vhost_exchange(vh, proto_str_c("ad")));
}

Test(routing, exchange_without_auto_delete_stays_without_bindings)
{
	struct exchange *ex = xdecl("d", EXCHANGE_DIRECT);
	struct queue *q = qdecl("q");

	bindq(ex, q, "k");
	vhost_delete_queue(vh, q);
	cr_assert_eq(vhost_exchange(vh, proto_str_c("d")), ex);
}

Test(routing, auto_delete_chain_goes_when_its_queue_is_deleted)
{
	struct exchange *a = xnew("a", EXCHANGE_FANOUT, true, notab),
	    *b = xnew("b", EXCHANGE_FANOUT, true, notab);
	struct queue *q = qdecl("q");

	bindx(a, b, "");
	bindq(b, q, "");
	vhost_delete_queue(vh, q);
	cr_assert_null(vhost_exchange(vh, proto_str_c("b")));
	cr_assert_null(vhost_exchange(vh, proto_str_c("a")));
}

/*
 * An auto-delete exchange bound to itself (exchange.bind with source =
 * destination) and then deleted: dropping the self-binding empties its
 * binding list, which must not delete it a second time.
 */
Test(routing, deleting_auto_delete_exchange_bound_to_itself)
{
	struct exchange *a = xnew("a", EXCHANGE_FANOUT, true, notab);
	struct exchange *f = xdecl("f", EXCHANGE_FANOUT);
	struct queue *q = qdecl("q");

	bindx(a, a, "");
	bindx(f, a, "");
	bindq(f, q, "");
	vhost_delete_exchange(vh, a);
	cr_assert_null(vhost_exchange(vh, proto_str_c("a")));
	cr_assert_eq(f->nbindings, 1);
	cr_assert_eq(route(f, "k"), 1);
}

/* The same through a cycle of two auto-delete exchanges. */
Test(routing, deleting_one_of_an_auto_delete_cycle)
{
	struct exchange *a = xnew("a", EXCHANGE_FANOUT, true, notab),
	    *b = xnew("b", EXCHANGE_FANOUT, true, notab);

	bindx(a, b, "");
	bindx(b, a, "");
	vhost_delete_exchange(vh, b);
	cr_assert_null(vhost_exchange(vh, proto_str_c("b")));
	cr_assert_null(vhost_exchange(vh, proto_str_c("a")));
}

/* Array contents of longstr keys (an i32 7 where a key is "#7"), in buf. */
static struct proto_table
keyarr(uint8_t *buf, size_t cap, const char *const *keys)
{
	struct proto_writer w = proto_writer(buf, cap);

	for (; *keys != NULL; keys++) {
		if (strcmp(*keys, "#7") == 0) {
			proto_write_u8(&w, PROTO_FIELD_I32);
			proto_write_u32(&w, 7);
			continue;
		}
		proto_write_u8(&w, PROTO_FIELD_LONGSTR);
		proto_write_longstr(&w, proto_str_c(*keys));
	}
	cr_assert(!w.overflow);
	return (struct proto_table){ buf, w.len };
}

/* Routes rk with the given CC and BCC keys (NULL: none). */
static size_t
route_cc(struct exchange *ex, const char *rk, const char *const *cc,
    const char *const *bcc)
{
	static const char *const none[] = { NULL };
	uint8_t b1[512], b2[512];
	struct route_keys k = { .rk = proto_str_c(rk) };

	k.cc = keyarr(b1, sizeof(b1), cc != NULL ? cc : none);
	k.bcc = keyarr(b2, sizeof(b2), bcc != NULL ? bcc : none);
	exchange_route_keys(ex, &k, notab, &res);
	return res.n;
}

Test(routing, keys_iterate_routing_key_then_longstr_cc_then_bcc)
{
	static const char *const cc[] = { "a", "#7", "b", NULL };
	static const char *const bcc[] = { "#7", "c", NULL };
	uint8_t b1[128], b2[128];
	struct route_keys k = { .rk = proto_str_c("rk") };
	struct route_keys_iter it;
	struct proto_str key;
	const char *want[] = { "rk", "a", "b", "c" };
	size_t n = 0;

	k.cc = keyarr(b1, sizeof(b1), cc);
	k.bcc = keyarr(b2, sizeof(b2), bcc);
	exchange_keys_init(&it, &k);
	while (exchange_keys_next(&it, &key)) {
		cr_assert_lt(n, 4);
		cr_assert(proto_str_eqc(key, want[n]), "key %zu", n);
		n++;
	}
	cr_assert_eq(n, 4);
	cr_assert_not(exchange_keys_next(&it, &key));
}

Test(routing, cc_and_bcc_keys_accumulate_each_queue_once)
{
	static const char *const cc[] = { "k2", "k1", "k3", "k2", NULL };
	static const char *const bcc[] = { "k1", "k3", NULL };
	struct exchange *ex = xdecl("x", EXCHANGE_DIRECT);
	struct exchange *def = vhost_exchange(vh, proto_str_c(""));
	struct queue *q1 = qdecl("q1"), *q2 = qdecl("q2"), *q3 = qdecl("q3");

	bindq(ex, q1, "k1");
	bindq(ex, q1, "k2");
	bindq(ex, q2, "k2");
	bindq(ex, q3, "k3");
	cr_assert_eq(route_cc(ex, "k1", cc, bcc), 3);
	cr_assert_eq(count(q1), 1);
	cr_assert_eq(count(q2), 1);
	cr_assert_eq(count(q3), 1);
	/* The default exchange: each key names a queue. */
	cr_assert_eq(route_cc(def, "nope", (const char *const[]){ "q3", NULL },
	    (const char *const[]){ "q1", "q3", NULL }), 2);
	cr_assert_eq(count(q1), 1);
	cr_assert_eq(count(q3), 1);
}

Test(routing, every_key_is_routed_again_past_an_exchange_binding)
{
	static const char *const cc[] = { "to-x2", NULL };
	struct exchange *x1 = xdecl("x1", EXCHANGE_DIRECT);
	struct exchange *x2 = xdecl("x2", EXCHANGE_TOPIC);
	struct queue *q = qdecl("q");

	bindx(x1, x2, "to-x2");
	bindq(x2, q, "own.#");
	cr_assert_eq(route_cc(x1, "own.key", cc, NULL), 1);
	cr_assert_eq(count(q), 1);
	cr_assert_eq(route_cc(x1, "own.key", NULL, NULL), 0);
}

Test(routing, alternate_exchange_only_when_no_key_matched)
{
	static const char *const args[] = { "alternate-exchange", "ae", NULL };
	static const char *const hit[] = { "k", NULL };
	static const char *const miss[] = { "m1", "m2", NULL };
	uint8_t buf[128];
	struct exchange *ex, *ae = xdecl("ae", EXCHANGE_DIRECT);
	struct queue *q = qdecl("q"), *qae = qdecl("qae");

	ex = xnew("x", EXCHANGE_DIRECT, false, strtab(buf, sizeof(buf), args));
	bindq(ex, q, "k");
	bindq(ae, qae, "m2");
	cr_assert_eq(route_cc(ex, "other", NULL, hit), 1);
	cr_assert_eq(count(q), 1);
	/* Nothing matched: the alternate routes all the keys too. */
	cr_assert_eq(route_cc(ex, "other", miss, NULL), 1);
	cr_assert_eq(count(qae), 1);
}

/*
 * The binding index (issue 10 item 8): bindings are found by identity and
 * dropped from every list by position. Many bindings, some sharing a key,
 * some to other destinations, removed in a scrambled order: every lookup,
 * route and list stays consistent.
 */
Test(routing, binding_index_survives_scrambled_unbinds)
{
	enum { N = 600 };
	struct exchange *d = xdecl("d", EXCHANGE_DIRECT);
	struct exchange *e = xdecl("e", EXCHANGE_FANOUT);
	struct queue *q1 = qdecl("q1"), *q2 = qdecl("q2");
	static char keys[N][16];
	bool bound[N];

	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i % 200);
		/* i and i + 200, i + 400 share a key: q1, q2 and e. */
		if (i < 200)
			bindq(d, q1, keys[i]);
		else if (i < 400)
			bindq(d, q2, keys[i]);
		else
			bindx(d, e, keys[i]);
		bound[i] = true;
	}
	cr_assert_eq(d->nbindings, N);
	cr_assert_eq(q1->nbindings, 200);
	cr_assert_eq(e->nincoming, 200);
	for (int step = 0; step < N; step++) {
		int i = (step * 7919) % N;	/* 7919 is prime: a permutation */
		struct queue *q = i < 200 ? q1 : i < 400 ? q2 : NULL;
		struct exchange *x = i < 400 ? NULL : e;
		struct binding *bd = exchange_find_binding(d, q, x,
		    proto_str_c(keys[i]), notab);

		cr_assert_not_null(bd, "binding %d lost", i);
		exchange_unbind(bd);
		bound[i] = false;
		cr_assert_null(exchange_find_binding(d, q, x,
		    proto_str_c(keys[i]), notab));
		if (step % 50 != 0)
			continue;
		for (int j = 0; j < 200; j++) {
			route(d, keys[j]);
			cr_assert_eq(count(q1), bound[j]);
			cr_assert_eq(count(q2), bound[j + 200]);
		}
		/* Every list's positions still name their entries. */
		for (size_t j = 0; j < d->nbindings; j++)
			cr_assert_eq(d->bindings[j]->src_idx, j);
		for (size_t j = 0; j < q1->nbindings; j++)
			cr_assert_eq(q1->bindings[j]->dst_idx, j);
		for (size_t j = 0; j < e->nincoming; j++)
			cr_assert_eq(e->incoming[j]->dst_idx, j);
	}
	cr_assert_eq(d->nbindings, 0);
	cr_assert_eq(q1->nbindings + q2->nbindings + e->nincoming, 0);
}
