#include "autoconf.h"

/* Unit tests for the definitions-file reader (server/definitions.c). */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/table.h"
#include "protocol/wire.h"
#include "server/definitions.h"

#ifndef DEFS_FIXTURE
#error "DEFS_FIXTURE must name tests/data/definitions-rabbitmq.json"
#endif

#define MAXREC	64

/* What the callbacks saw: one line per object, plus copied arguments. */
struct rec {
	char	 line[MAXREC][512];
	uint8_t	 args[MAXREC][512];
	size_t	 args_len[MAXREC];
	size_t	 n;
	int	 fail_at;	/* return fail_rc from this record; -1 never */
	int	 fail_rc;
	char	*err;		/* the loader's err, for a callback reason */
	size_t	 errlen;
	const char *reason;
};

static struct rec	r;
static char		err[512];

static void
setup(void)
{
	memset(&r, 0, sizeof(r));
	r.fail_at = -1;
	r.err = err;
	r.errlen = sizeof(err);
}

TestSuite(definitions, .init = setup);

static int __attribute__((format(printf, 4, 5)))
record(struct rec *rc, const uint8_t *args, size_t args_len,
    const char *fmt, ...)
{
	va_list	ap;
	size_t	i = rc->n++;

	cr_assert_lt(i, MAXREC);
	va_start(ap, fmt);
	vsnprintf(rc->line[i], sizeof(rc->line[i]), fmt, ap);
	va_end(ap);
	cr_assert_leq(args_len, sizeof(rc->args[i]));
	if (args_len > 0)
		memcpy(rc->args[i], args, args_len);
	rc->args_len[i] = args_len;
	if ((int)i == rc->fail_at) {
		if (rc->reason != NULL)
			snprintf(rc->err, rc->errlen, "%s", rc->reason);
		return rc->fail_rc;
	}
	return 0;
}

static int
on_vhost(void *arg, const struct defs_vhost *v)
{
	return record(arg, NULL, 0, "vhost %s%s%s%s%s", v->name,
	    v->description != NULL ? " desc=" : "",
	    v->description != NULL ? v->description : "",
	    v->tags != NULL ? " tags=" : "", v->tags != NULL ? v->tags : "");
}

static int
on_user(void *arg, const struct defs_user *u)
{
	char	tags[256] = "";
	size_t	i, n = 0;

	for (i = 0; i < u->ntags; i++)
		n += (size_t)snprintf(tags + n, sizeof(tags) - n, "%s<%s>",
		    i ? "," : "", u->tags[i]);
	return record(arg, NULL, 0, "user %s hash=%s pw=%s algo=%s tags=%s",
	    u->name, u->password_hash ? u->password_hash : "-",
	    u->password ? u->password : "-",
	    u->hashing_algorithm ? u->hashing_algorithm : "-", tags);
}

static int
on_permission(void *arg, const struct defs_permission *p)
{
	return record(arg, NULL, 0, "permission %s@%s c=%s w=%s r=%s",
	    p->user, p->vhost, p->configure, p->write, p->read);
}

static int
on_topic_permission(void *arg, const struct defs_topic_permission *p)
{
	return record(arg, NULL, 0, "topic %s@%s x=%s w=%s r=%s", p->user,
	    p->vhost, p->exchange, p->write, p->read);
}

static int
on_exchange(void *arg, const struct defs_exchange *x)
{
	return record(arg, x->args, x->args_len,
	    "exchange %s/%s %s d=%d ad=%d i=%d", x->vhost, x->name, x->type,
	    x->durable, x->auto_delete, x->internal);
}

static int
on_queue(void *arg, const struct defs_queue *q)
{
	return record(arg, q->args, q->args_len, "queue %s/%s d=%d ad=%d",
	    q->vhost, q->name, q->durable, q->auto_delete);
}

static int
on_binding(void *arg, const struct defs_binding *b)
{
	return record(arg, b->args, b->args_len, "binding %s/%s -> %s %s '%s'",
	    b->vhost, b->source, b->dest_is_queue ? "queue" : "exchange",
	    b->destination, b->routing_key);
}

static const struct defs_callbacks cbs = {
	.vhost = on_vhost,
	.user = on_user,
	.permission = on_permission,
	.topic_permission = on_topic_permission,
	.exchange = on_exchange,
	.queue = on_queue,
	.binding = on_binding,
};

static int
load(const char *text)
{
	return definitions_load(text, strlen(text), &cbs, &r, err,
	    sizeof(err));
}

/* Asserts that text is refused with exactly msg, before any callback. */
static void
refuses(const char *text, const char *msg)
{
	r.n = 0;
	cr_assert_eq(load(text), -1, "accepted %s", text);
	cr_assert_str_eq(err, msg);
	cr_assert_eq(r.n, 0, "a callback ran before validation finished");
}

static size_t
find(const char *prefix)
{
	size_t	i;

	for (i = 0; i < r.n; i++)
		if (strncmp(r.line[i], prefix, strlen(prefix)) == 0)
			return i;
	cr_assert_fail("no record starting \"%s\"", prefix);
	return 0;
}

/* The table bytes RabbitMQ would hold for these arguments, via table.h. */
static size_t
table(uint8_t *out, size_t cap, void (*fill)(struct proto_writer *))
{
	struct proto_writer	w = proto_writer(out, cap);

	fill(&w);
	cr_assert_not(w.overflow);
	return w.len;
}

static void
fill_hdr(struct proto_writer *w)
{
	proto_table_put_longstr(w, "alternate-exchange", "orders");
}

static void
fill_orders_new(struct proto_writer *w)
{
	proto_table_put_longstr(w, "x-dead-letter-exchange", "events");
	proto_table_put_i64(w, "x-max-length", 1000);
	proto_table_put_i64(w, "x-message-ttl", 30000);
	proto_table_put_longstr(w, "x-queue-mode", "lazy");
}

static void
fill_header_binding(struct proto_writer *w)
{
	proto_table_put_longstr(w, "kind", "a");
	proto_table_put_i64(w, "n", 7);
	proto_table_put_bool(w, "ok", true);
	proto_table_put_longstr(w, "x-match", "all");
}

static void
assert_args(size_t i, void (*fill)(struct proto_writer *))
{
	uint8_t	want[512];
	size_t	n = table(want, sizeof(want), fill);

	cr_assert_eq(r.args_len[i], n, "%s: %zu bytes, want %zu", r.line[i],
	    r.args_len[i], n);
	cr_assert_arr_eq(r.args[i], want, n, "%s", r.line[i]);
}

Test(definitions, real_rabbitmq_export_loads_in_dependency_order)
{
	static const char *const want[] = {
		"vhost app1",
		"vhost /",
		"user bob hash=z/oVBm2O2TteINMwtAkxy0BWaf/MX17xgaPdviPCxdgEOkm9"
		    " pw=- algo=rabbit_password_hashing_sha256 tags=",
		"user alice hash=9CZsGTbCrse/3sITMvnk+cg/tdQtpzqDZ3S8EC0QFz7h0"
		    "AlI pw=- algo=rabbit_password_hashing_sha256 "
		    "tags=<administrator>,<monitoring>",
		"user guest hash=MlKe+14OUPiNTaga0n9WemaXokqh2SjeEffywfo/cpqGBR"
		    "4Z pw=- algo=rabbit_password_hashing_sha256 "
		    "tags=<administrator>",
		"permission alice@app1 c=.* w=.* r=.*",
		"permission bob@app1 c=^$ w=^bob\\. r=.*",
		"permission guest@/ c=.* w=.* r=.*",
		"permission guest@app1 c=.* w=.* r=.*",
		"topic bob@app1 x=amq.topic w=^bob\\. r=.*",
		"exchange app1/internal.x direct d=1 ad=0 i=1",
		"exchange app1/hdr headers d=1 ad=0 i=0",
		"exchange app1/orders topic d=1 ad=0 i=0",
		"exchange app1/events fanout d=1 ad=1 i=0",
		"queue app1/ad d=1 ad=1",
		"queue app1/orders.new d=1 ad=0",
		"queue app1/q.quorum d=1 ad=0",
		"queue app1/plain d=1 ad=0",
		"queue //default.q d=1 ad=0",
		"binding app1/hdr -> queue plain ''",
		"binding app1/orders -> exchange events '#'",
		"binding app1/orders -> queue orders.new 'order.*.new'",
	};
	size_t	i, n = sizeof(want) / sizeof(want[0]);

	cr_assert_eq(definitions_load_file(DEFS_FIXTURE, &cbs, &r, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(err, "");
	cr_assert_eq(r.n, n);
	for (i = 0; i < n; i++)
		cr_assert_str_eq(r.line[i], want[i]);

	assert_args(find("exchange app1/hdr "), fill_hdr);
	assert_args(find("queue app1/orders.new "), fill_orders_new);
	assert_args(find("binding app1/hdr "), fill_header_binding);
	cr_assert_eq(r.args_len[find("queue app1/plain ")], 0);
	cr_assert_eq(r.args_len[find("binding app1/orders -> exchange")], 0);
	i = find("queue app1/q.quorum ");
	cr_assert(proto_table_validate((struct proto_table){ r.args[i],
	    r.args_len[i] }));
}

Test(definitions, tags_as_a_comma_separated_string)
{
	cr_assert_eq(load("{\"users\":[{\"name\":\"u\",\"password_hash\":\"\","
	    "\"tags\":\" administrator , monitoring,,x\"},"
	    "{\"name\":\"v\",\"tags\":\"\"}]}"), 0, "%s", err);
	cr_assert_str_eq(r.line[0], "user u hash= pw=- algo=- "
	    "tags=<administrator>,<monitoring>,<x>");
	cr_assert_str_eq(r.line[1], "user v hash=- pw=- algo=- tags=");
}

Test(definitions, tags_as_an_array)
{
	cr_assert_eq(load("{\"users\":[{\"name\":\"u\",\"password\":\"pw\","
	    "\"tags\":[\"management\",\"\",\"policymaker\"]},"
	    "{\"name\":\"w\",\"tags\":[]}]}"), 0, "%s", err);
	cr_assert_str_eq(r.line[0], "user u hash=- pw=pw algo=- "
	    "tags=<management>,<policymaker>");
	cr_assert_str_eq(r.line[1], "user w hash=- pw=- algo=- tags=");
}

Test(definitions, arguments_convert_to_exact_table_bytes)
{
	static const uint8_t want[] = {
		1, 's', 'S', 0, 0, 0, 3, 's', 't', 'r',
		1, 'i', 'l', 0, 0, 0, 0, 0, 0, 0, 5,
		3, 'n', 'e', 'g', 'l', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xfd,
		3, 'b', 'i', 'g', 'l', 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xff,
		1, 'f', 'd', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0,	/* 1.5 */
		2, 'f', 'i', 'd', 0x40, 0, 0, 0, 0, 0, 0, 0,	/* 2.0 */
		2, 'f', 'e', 'd', 0x40, 0x8f, 0x40, 0, 0, 0, 0, 0,	/* 1e3 */
		1, 't', 't', 1,
		2, 'f', 'a', 't', 0,
		1, 'a', 'A', 0, 0, 0, 27,
		    'l', 0, 0, 0, 0, 0, 0, 0, 1,
		    'S', 0, 0, 0, 1, 'x',
		    'A', 0, 0, 0, 2,
			't', 1,
		    'A', 0, 0, 0, 0,
		1, 'o', 'F', 0, 0, 0, 21,
		    1, 'k', 't', 0,
		    1, 'm', 'F', 0, 0, 0, 10,
			1, 'z', 'S', 0, 0, 0, 3, 0, 'q', 0,
		2, 'e', 'o', 'F', 0, 0, 0, 0,
	};
	size_t	i;

	cr_assert_eq(load("{\"queues\":[{\"name\":\"q\",\"vhost\":\"/\","
	    "\"durable\":true,\"auto_delete\":false,\"arguments\":{"
	    "\"s\":\"str\",\"i\":5,\"neg\":-3,\"big\":9223372036854775807,"
	    "\"f\":1.5,\"fi\":2.0,\"fe\":1e3,\"t\":true,\"fa\":false,"
	    "\"a\":[1,\"x\",[true],[]],"
	    "\"o\":{\"k\":false,\"m\":{\"z\":\"\\u0000q\\u0000\"}},"
	    "\"eo\":{}}}]}"), 0, "%s", err);
	cr_assert_eq(r.n, 1);
	i = 0;
	cr_assert_eq(r.args_len[i], sizeof(want), "%zu bytes",
	    r.args_len[i]);
	cr_assert_arr_eq(r.args[i], want, sizeof(want));
}

Test(definitions, missing_and_empty_arguments_give_no_bytes)
{
	cr_assert_eq(load("{\"exchanges\":[{\"name\":\"x\",\"vhost\":\"/\","
	    "\"type\":\"direct\",\"durable\":false},{\"name\":\"y\","
	    "\"vhost\":\"/\",\"type\":\"topic\",\"durable\":true,"
	    "\"arguments\":{}}]}"), 0, "%s", err);
	cr_assert_str_eq(r.line[0], "exchange //x direct d=0 ad=0 i=0");
	cr_assert_eq(r.args_len[0], 0);
	cr_assert_eq(r.args_len[1], 0);
}

Test(definitions, defaults_for_optional_fields)
{
	cr_assert_eq(load("{\"queues\":[{\"name\":\"q\",\"vhost\":\"v\","
	    "\"durable\":true}],\"bindings\":[{\"vhost\":\"v\",\"source\":"
	    "\"x\",\"destination\":\"q\",\"destination_type\":\"queue\"}]}"),
	    0, "%s", err);
	cr_assert_str_eq(r.line[0], "queue v/q d=1 ad=0");
	cr_assert_str_eq(r.line[1], "binding v/x -> queue q ''");
}

Test(definitions, ignores_unknown_top_level_and_member_keys)
{
	cr_assert_eq(load("{\"rabbit_version\":\"3.10.8\",\"parameters\":[1],"
	    "\"policies\":[],\"global_parameters\":null,"
	    "\"future\":[],\"vhosts\":[{\"name\":\"v\",\"description\":\"d\","
	    "\"tags\":[\"t\"],\"default_queue_type\":\"quorum\","
	    "\"metadata\":{}}],\"users\":[{\"name\":\"u\",\"limits\":{},"
	    "\"tags\":[]}]}"), 0, "%s", err);
	cr_assert_eq(r.n, 2);
	cr_assert_str_eq(r.line[0], "vhost v desc=d tags=t");
}

Test(definitions, vhost_description_and_tags_from_the_top_or_metadata)
{
	cr_assert_eq(load("{\"vhosts\":[{\"name\":\"a\"},"
	    "{\"name\":\"b\",\"description\":\"top\",\"tags\":\"x,y\"},"
	    "{\"name\":\"c\",\"metadata\":{\"description\":\"meta\","
	    "\"tags\":[\"p\",\"q\"]}}]}"), 0, "%s", err);
	cr_assert_eq(r.n, 3);
	cr_assert_str_eq(r.line[0], "vhost a");
	cr_assert_str_eq(r.line[1], "vhost b desc=top tags=x,y");
	cr_assert_str_eq(r.line[2], "vhost c desc=meta tags=p,q");
	cr_assert_eq(load("{\"vhosts\":[{\"name\":\"a\",\"tags\":[1]}]}"),
	    -1);
	cr_assert_eq(load("{\"vhosts\":[{\"name\":\"a\",\"tags\":"
	    "[\"a,b\"]}]}"), -1);
	cr_assert_eq(load("{\"vhosts\":[{\"name\":\"a\",\"metadata\":5}]}"),
	    -1);
	cr_assert_eq(load("{\"vhosts\":[{\"name\":\"a\",\"description\":"
	    "7}]}"), -1);
}

Test(definitions, empty_document_is_fine)
{
	cr_assert_eq(load("{}"), 0, "%s", err);
	cr_assert_eq(r.n, 0);
}

Test(definitions, errors_name_the_path_of_the_bad_value)
{
	refuses("[]", "expected an object at the top level, not an array");
	refuses("{\"users\":{}}", "users: expected an array, not an object");
	refuses("{\"users\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":1}]}",
	    "users[2].name: expected a string, not a number");
	refuses("{\"vhosts\":[\"v\"]}",
	    "vhosts[0]: expected an object, not a string");
	refuses("{\"vhosts\":[{}]}", "vhosts[0].name: missing");
	refuses("{\"queues\":[{\"name\":\"q\",\"vhost\":\"/\"}]}",
	    "queues[0].durable: missing");
	refuses("{\"queues\":[{\"name\":\"q\",\"vhost\":\"/\",\"durable\":"
	    "\"true\"}]}", "queues[0].durable: expected a boolean, not a "
	    "string");
	refuses("{\"exchanges\":[{\"name\":\"x\",\"vhost\":\"/\",\"durable\":"
	    "true}]}", "exchanges[0].type: missing");
	refuses("{\"bindings\":[{\"vhost\":\"/\",\"source\":\"x\","
	    "\"destination\":\"q\",\"destination_type\":\"topic\"}]}",
	    "bindings[0].destination_type: expected \"queue\" or "
	    "\"exchange\"");
	refuses("{\"permissions\":[{\"user\":\"u\",\"vhost\":\"/\","
	    "\"configure\":\".*\",\"read\":\".*\"}]}",
	    "permissions[0].write: missing");
	refuses("{\"topic_permissions\":[{\"user\":\"u\",\"vhost\":\"/\","
	    "\"write\":\".*\",\"read\":\".*\"}]}",
	    "topic_permissions[0].exchange: missing");
	refuses("{\"vhosts\":[{\"name\":\"a\\u0000b\"}]}",
	    "vhosts[0].name: contains a NUL byte");
	refuses("{\"users\":[{\"name\":\"u\",\"tags\":7}]}",
	    "users[0].tags: expected a string or an array, not a number");
	refuses("{\"users\":[{\"name\":\"u\",\"tags\":[\"a\",null]}]}",
	    "users[0].tags[1]: expected a string, not null");
	refuses("{\"vhosts\":[{\"name\":\"v\"}],\"bindings\":[{}]}",
	    "bindings[0].vhost: missing");
	refuses("{\"users\":[}", "line 1 col 11: unexpected '}'");
}

Test(definitions, names_longer_than_a_shortstr_are_refused)
{
	char	text[600];

	snprintf(text, sizeof(text), "{\"queues\":[{\"vhost\":\"/\",\"durable\":"
	    "true,\"name\":\"%0256d\"}]}", 0);
	refuses(text, "queues[0].name: longer than 255 bytes");
}

Test(definitions, argument_errors_name_the_nested_path)
{
	refuses("{\"queues\":[{\"name\":\"q\",\"vhost\":\"/\",\"durable\":true,"
	    "\"arguments\":{\"x-dead-letter-exchange\":null}}]}",
	    "queues[0].arguments.x-dead-letter-exchange: null is not allowed "
	    "in arguments");
	refuses("{\"exchanges\":[{\"name\":\"x\",\"vhost\":\"/\",\"type\":"
	    "\"direct\",\"durable\":true,\"arguments\":{\"a\":[1,{\"b\":"
	    "[null]}]}}]}", "exchanges[0].arguments.a[1].b[0]: null is not "
	    "allowed in arguments");
	refuses("{\"bindings\":[{\"vhost\":\"/\",\"source\":\"x\","
	    "\"destination\":\"q\",\"destination_type\":\"queue\","
	    "\"arguments\":{\"n\":9223372036854775808}}]}",
	    "bindings[0].arguments.n: integer out of the signed 64-bit range");
	refuses("{\"queues\":[{\"name\":\"q\",\"vhost\":\"/\",\"durable\":true,"
	    "\"arguments\":{\"\":1}}]}",
	    "queues[0].arguments.: key must be 1 to 255 bytes");
	refuses("{\"queues\":[{\"name\":\"q\",\"vhost\":\"/\",\"durable\":true,"
	    "\"arguments\":[]}]}",
	    "queues[0].arguments: expected an object, not an array");
}

static size_t	big_count;	/* elements of argument "a" seen */

static int
on_big_queue(void *arg, const struct defs_queue *q)
{
	struct proto_table	t = { q->args, q->args_len };
	struct proto_field	f;
	struct proto_table_iter	it;

	cr_assert(proto_table_validate(t));
	cr_assert(proto_table_get(t, "a", &f));
	cr_assert_eq(f.kind, PROTO_FIELD_ARRAY);
	proto_table_iter_init(&it, f.v.table);
	while (proto_array_next(&it, &f))
		big_count++;
	return 0;
}

Test(definitions, big_arguments_grow_the_buffer)
{
	struct defs_callbacks	 only = { .queue = on_big_queue };
	size_t			 n = 5000, i, len = 0, cap = n * 16 + 256;
	char			*text = malloc(cap);

	len += (size_t)snprintf(text + len, cap - len, "{\"queues\":[{\"name\":"
	    "\"q\",\"vhost\":\"/\",\"durable\":true,\"arguments\":{\"a\":[");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s%zu",
		    i ? "," : "", i);
	len += (size_t)snprintf(text + len, cap - len, "]}}]}");
	cr_assert_eq(definitions_load(text, len, &only, NULL, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(big_count, n);
	free(text);
}

Test(definitions, users_password_rules)
{
	refuses("{\"users\":[{\"name\":\"u\",\"password\":\"p\","
	    "\"password_hash\":\"\"}]}",
	    "users[0]: both password and password_hash given");
	refuses("{\"users\":[{\"name\":\"u\",\"password_hash\":\"abc\"}]}",
	    "users[0].password_hash: not base64");
	refuses("{\"users\":[{\"name\":\"u\",\"password_hash\":\"ab=c\"}]}",
	    "users[0].password_hash: not base64");
	refuses("{\"users\":[{\"name\":\"u\",\"hashing_algorithm\":"
	    "\"rabbit_password_hashing_rot13\"}]}",
	    "users[0].hashing_algorithm: unknown algorithm "
	    "\"rabbit_password_hashing_rot13\"");
	cr_assert_eq(load("{\"users\":[{\"name\":\"u\",\"password_hash\":"
	    "\"YWI=\",\"hashing_algorithm\":\"rabbit_password_hashing_md5\","
	    "\"tags\":\"\"}]}"), 0, "%s", err);
	cr_assert_str_eq(r.line[0], "user u hash=YWI= pw=- "
	    "algo=rabbit_password_hashing_md5 tags=");
}

Test(definitions, a_bad_object_anywhere_means_no_callbacks_at_all)
{
	refuses("{\"vhosts\":[{\"name\":\"v\"}],\"users\":[{\"name\":\"u\","
	    "\"tags\":\"a,b\"}],\"queues\":[{\"name\":\"q\",\"vhost\":\"v\","
	    "\"durable\":true}],\"bindings\":[{\"vhost\":\"v\"}]}",
	    "bindings[0].source: missing");
}

Test(definitions, callback_error_stops_the_load)
{
	r.fail_at = 3;		/* the second queue */
	r.fail_rc = 7;
	cr_assert_eq(load("{\"vhosts\":[{\"name\":\"v\"}],\"queues\":["
	    "{\"name\":\"a\",\"vhost\":\"v\",\"durable\":true},"
	    "{\"name\":\"b\",\"vhost\":\"v\",\"durable\":true},"
	    "{\"name\":\"c\",\"vhost\":\"v\",\"durable\":true}],"
	    "\"exchanges\":[{\"name\":\"x\",\"vhost\":\"v\",\"type\":\"fanout\","
	    "\"durable\":true}],\"bindings\":[{\"vhost\":\"v\",\"source\":\"x\","
	    "\"destination\":\"a\",\"destination_type\":\"queue\"}]}"), 7);
	cr_assert_eq(r.n, 4, "nothing after the failing queue");
	cr_assert_str_eq(r.line[3], "queue v/b d=1 ad=0");
	cr_assert_str_eq(err, "queues[1]: rejected (7)");
}

Test(definitions, callback_reason_is_kept_after_the_object_path)
{
	r.fail_at = 1;
	r.fail_rc = -1;
	r.reason = "no vhost 'nope'";
	cr_assert_eq(load("{\"permissions\":[{\"user\":\"u\",\"vhost\":\"/\","
	    "\"configure\":\"\",\"write\":\"\",\"read\":\"\"},{\"user\":\"u\","
	    "\"vhost\":\"nope\",\"configure\":\"\",\"write\":\"\",\"read\":"
	    "\"\"}]}"), -1);
	cr_assert_str_eq(err, "permissions[1]: no vhost 'nope'");
}

Test(definitions, null_callbacks_skip_their_kind)
{
	struct defs_callbacks	only = { .vhost = on_vhost };
	const char		*text = "{\"vhosts\":[{\"name\":\"v\"}],"
	    "\"queues\":[{\"name\":\"q\",\"vhost\":\"v\",\"durable\":true}]}";

	cr_assert_eq(definitions_load(text, strlen(text), &only, &r, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.n, 1);
}

Test(definitions, file_errors_name_the_file)
{
	char	path[] = "/tmp/test_definitions_XXXXXX";
	int	fd;

	cr_assert_eq(definitions_load_file("/nonexistent/defs.json", &cbs, &r,
	    err, sizeof(err)), -1);
	cr_assert_str_eq(err, "definitions /nonexistent/defs.json: No such "
	    "file or directory");

	cr_assert_neq(fd = mkstemp(path), -1);
	cr_assert_eq(write(fd, "{\"users\":\n [{\"name\":false}]}", 28), 28);
	close(fd);
	cr_assert_eq(definitions_load_file(path, &cbs, &r, err, sizeof(err)),
	    -1);
	cr_assert(strstr(err, ": users[0].name: expected a string, not a "
	    "boolean") != NULL, "%s", err);
	cr_assert_eq(strncmp(err, "definitions /tmp/test_definitions_", 34), 0,
	    "%s", err);

	cr_assert_neq(fd = open(path, O_WRONLY | O_TRUNC), -1);
	cr_assert_eq(write(fd, "{\"users\":\n [1,]}", 16), 16);
	close(fd);
	cr_assert_eq(definitions_load_file(path, &cbs, &r, err, sizeof(err)),
	    -1);
	cr_assert(strstr(err, ": line 2 col 5: unexpected ']'") != NULL, "%s",
	    err);
	unlink(path);
}

/*
 * definitions_parse + definitions_apply_some, one object a call (as an
 * import spread over loop turns): the same objects in the same order as
 * a whole load, done only after the last; a failure stops it for good.
 */
Test(definitions, applied_a_slice_at_a_time)
{
	static const char text[] = "{\"vhosts\":[{\"name\":\"v\"}],"
	    "\"queues\":[{\"name\":\"a\",\"vhost\":\"v\",\"durable\":true},"
	    "{\"name\":\"b\",\"vhost\":\"v\",\"durable\":true}],"
	    "\"exchanges\":[{\"name\":\"x\",\"vhost\":\"v\",\"type\":\"fanout\","
	    "\"durable\":true}],\"bindings\":[{\"vhost\":\"v\",\"source\":\"x\","
	    "\"destination\":\"a\",\"destination_type\":\"queue\"}]}";
	char whole[MAXREC][512];
	struct defs_doc *d;
	size_t n, calls = 0;
	bool done = false;

	cr_assert_eq(load(text), 0, "%s", err);
	n = r.n;
	memcpy(whole, r.line, sizeof(whole));
	r.n = 0;
	cr_assert_not_null(d = definitions_parse(text, strlen(text), NULL, err,
	    sizeof(err)), "%s", err);
	while (!done) {
		cr_assert_eq(definitions_apply_some(d, &cbs, &r, 1, &done, err,
		    sizeof(err)), 0, "%s", err);
		cr_assert_eq(r.n, done ? n : calls + 1);
		calls++;
	}
	cr_assert_eq(calls, n, "done with the last object, not a call later");
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(r.line[i], whole[i]);
	definitions_doc_free(d);

	/* A refusal in the second slice names the object and ends it. */
	r.n = 0;
	r.fail_at = 2;
	r.fail_rc = -1;
	r.reason = "no room";
	d = definitions_parse(text, strlen(text), NULL, err, sizeof(err));
	cr_assert_eq(definitions_apply_some(d, &cbs, &r, 2, &done, err,
	    sizeof(err)), 0);
	cr_assert_not(done);
	cr_assert_eq(definitions_apply_some(d, &cbs, &r, 2, &done, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "queues[0]: no room");
	cr_assert(done);
	cr_assert_eq(definitions_apply_some(d, &cbs, &r, 2, &done, err,
	    sizeof(err)), 0);
	cr_assert_eq(r.n, 3, "nothing after the refusal");
	definitions_doc_free(d);

	/* Invalid: NULL, with the reason, and no callback. */
	r.n = 0;
	cr_assert_null(definitions_parse("{\"queues\":1}", 12, NULL, err,
	    sizeof(err)));
	cr_assert_str_eq(err, "queues: expected an array, not a number");
	cr_assert_eq(r.n, 0);
}
