/* queue.declare arguments, checked as RabbitMQ checks them. */
#include "autoconf.h"

#include "server/queue_args.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "protocol/table.h"

/* What a check found; why is filled for errors. */
typedef int check_fn(const struct proto_field *f, struct proto_table args,
    char *why, size_t whylen);

/* compat: RabbitMQ prints its reasons as Erlang terms. */
static int
reason_int(char *why, size_t whylen, const char *what, int64_t v)
{
	snprintf(why, whylen, "{%s,%" PRId64 "}", what, v);
	return -1;
}

static int
reason_type(char *why, size_t whylen, const struct proto_field *f)
{
	snprintf(why, whylen, "{unacceptable_type,%s}",
	    proto_field_kind_name(f->kind));
	return -1;
}

static int
need_int(const struct proto_field *f, int64_t *v, char *why, size_t whylen)
{
	if (proto_field_int(f, v))
		return 0;
	snprintf(why, whylen, "\"expected integer, got %s\"",
	    proto_field_kind_name(f->kind));
	return -1;
}

static int
check_non_neg(const struct proto_field *f, struct proto_table args,
    char *why, size_t whylen)
{
	int64_t v;

	(void)args;
	if (need_int(f, &v, why, whylen) == -1)
		return -1;
	return v < 0 ? reason_int(why, whylen, "value_negative", v) : 0;
}

static int
check_expiry(int64_t v, char *why, size_t whylen)
{
	if (v > QUEUE_ARGS_MAX_EXPIRY)
		return reason_int(why, whylen, "value_too_large", v);
	if (v < 0)
		return reason_int(why, whylen, "value_negative", v);
	return 0;
}

static int
check_expires(const struct proto_field *f, struct proto_table args,
    char *why, size_t whylen)
{
	int64_t v;

	(void)args;
	if (need_int(f, &v, why, whylen) == -1)
		return -1;
	if (v == 0)
		return reason_int(why, whylen, "value_zero", v);
	return check_expiry(v, why, whylen);
}

static int
check_ttl(const struct proto_field *f, struct proto_table args, char *why,
    size_t whylen)
{
	int64_t v;

	(void)args;
	if (need_int(f, &v, why, whylen) == -1)
		return -1;
	return check_expiry(v, why, whylen);
}

static int
check_max_priority(const struct proto_field *f, struct proto_table args,
    char *why, size_t whylen)
{
	int64_t v;

	if (check_non_neg(f, args, why, whylen) == -1)
		return -1;
	(void)proto_field_int(f, &v);
	return v > 255 ? reason_int(why, whylen, "max_value_exceeded", v) : 0;
}

static int
check_dlx(const struct proto_field *f, struct proto_table args, char *why,
    size_t whylen)
{
	(void)args;
	return f->kind == PROTO_FIELD_LONGSTR ? 0 :
	    reason_type(why, whylen, f);
}

static int
check_dlx_key(const struct proto_field *f, struct proto_table args,
    char *why, size_t whylen)
{
	struct proto_field dlx;

	if (f->kind != PROTO_FIELD_LONGSTR)
		return reason_type(why, whylen, f);
	if (!proto_table_get(args, "x-dead-letter-exchange", &dlx)) {
		snprintf(why, whylen, "routing_key_but_no_dlx_defined");
		return -1;
	}
	return 0;
}

static int
check_overflow(const struct proto_field *f, struct proto_table args,
    char *why, size_t whylen)
{
	(void)args;
	if (f->kind != PROTO_FIELD_LONGSTR)
		return reason_type(why, whylen, f);
	if (proto_str_eqc(f->v.str, "drop-head") ||
	    proto_str_eqc(f->v.str, "reject-publish") ||
	    proto_str_eqc(f->v.str, "reject-publish-dlx"))
		return 0;
	snprintf(why, whylen, "invalid_overflow");
	return -1;
}

static int
check_bool(const struct proto_field *f, struct proto_table args, char *why,
    size_t whylen)
{
	(void)args;
	return f->kind == PROTO_FIELD_BOOL ? 0 : reason_type(why, whylen, f);
}

static int
check_queue_type(const struct proto_field *f, struct proto_table args,
    char *why, size_t whylen)
{
	(void)args;
	if (f->kind != PROTO_FIELD_LONGSTR)
		return reason_type(why, whylen, f);
	/*
	 * compat: RabbitMQ's names, case-sensitive. Streams are refused as
	 * an unknown type would be: a client declaring one expects offsets.
	 */
	if (proto_str_eqc(f->v.str, "classic") ||
	    proto_str_eqc(f->v.str, "quorum"))
		return 0;
	snprintf(why, whylen, "\"unsupported queue type '%.*s'\"",
	    (int)(f->v.str.len > 64 ? 64 : f->v.str.len),
	    (const char *)f->v.str.p);
	return -1;
}

/* compat: RabbitMQ 3.10's declare_args(), those it checks. */
static const struct {
	const char	*key;
	check_fn	*check;
} checks[] = {
	{ "x-expires", check_expires },
	{ "x-message-ttl", check_ttl },
	{ "x-dead-letter-exchange", check_dlx },
	{ "x-dead-letter-routing-key", check_dlx_key },
	{ "x-max-length", check_non_neg },
	{ "x-max-length-bytes", check_non_neg },
	{ "x-max-in-memory-length", check_non_neg },
	{ "x-max-in-memory-bytes", check_non_neg },
	{ "x-max-priority", check_max_priority },
	{ "x-overflow", check_overflow },
	{ "x-single-active-consumer", check_bool },
	{ "x-queue-type", check_queue_type },
	{ "x-consumer-timeout", check_non_neg },
};

/*
 * compat: the arguments RabbitMQ 3.10's queue types take; an argument
 * one of them knows but the declared type does not is refused.
 */
#define FOR_CLASSIC	0x1u
#define FOR_QUORUM	0x2u
#define FOR_STREAM	0x4u
static const struct {
	const char	*key;
	unsigned	 types;
} typed_args[] = {
	{ "x-expires", FOR_CLASSIC | FOR_QUORUM },
	{ "x-message-ttl", FOR_CLASSIC | FOR_QUORUM },
	{ "x-dead-letter-exchange", FOR_CLASSIC | FOR_QUORUM },
	{ "x-dead-letter-routing-key", FOR_CLASSIC | FOR_QUORUM },
	{ "x-max-length", FOR_CLASSIC | FOR_QUORUM | FOR_STREAM },
	{ "x-max-length-bytes", FOR_CLASSIC | FOR_QUORUM | FOR_STREAM },
	{ "x-max-in-memory-length", FOR_QUORUM },
	{ "x-max-in-memory-bytes", FOR_QUORUM },
	{ "x-max-priority", FOR_CLASSIC },
	{ "x-overflow", FOR_CLASSIC | FOR_QUORUM },
	{ "x-queue-mode", FOR_CLASSIC },
	{ "x-single-active-consumer", FOR_CLASSIC | FOR_QUORUM },
	{ "x-queue-master-locator", FOR_CLASSIC },
	{ "x-delivery-limit", FOR_QUORUM },
	{ "x-quorum-initial-group-size", FOR_QUORUM },
	{ "x-dead-letter-strategy", FOR_QUORUM },
	{ "x-queue-leader-locator", FOR_QUORUM | FOR_STREAM },
	{ "x-max-age", FOR_STREAM },
	{ "x-stream-max-segment-size-bytes", FOR_STREAM },
	{ "x-initial-cluster-size", FOR_STREAM },
};

enum queue_type
queue_args_type(struct proto_table args)
{
	struct proto_field f;

	if (proto_table_get(args, "x-queue-type", &f) &&
	    f.kind == PROTO_FIELD_LONGSTR && proto_str_eqc(f.v.str, "quorum"))
		return QUEUE_QUORUM;
	return QUEUE_CLASSIC;
}

const char *
queue_type_name(enum queue_type t)
{
	return t == QUEUE_QUORUM ? "rabbit_quorum_queue" :
	    "rabbit_classic_queue";
}

int
queue_args_check_type(struct proto_table args, bool durable, bool exclusive,
    bool auto_delete, struct queue_args_refusal *r)
{
	enum queue_type t = queue_args_type(args);
	unsigned mine = t == QUEUE_QUORUM ? FOR_QUORUM : FOR_CLASSIC;
	struct proto_field f;

	r->arg = r->property = NULL;
	for (size_t i = 0; i < sizeof(typed_args) / sizeof(typed_args[0]); i++)
		if ((typed_args[i].types & mine) == 0 &&
		    proto_table_get(args, typed_args[i].key, &f)) {
			r->arg = typed_args[i].key;
			return -1;
		}
	if (t != QUEUE_QUORUM)
		return 0;
	/* compat: RabbitMQ's order: auto-delete, exclusive, durable. */
	if (auto_delete)
		r->property = "auto-delete";
	else if (exclusive)
		r->property = "exclusive-owner";
	else if (!durable)
		r->property = "non-durable";
	return r->property != NULL ? -1 : 0;
}

int64_t
queue_args_delivery_limit(struct proto_table args)
{
	struct proto_field f;
	int64_t v;

	/*
	 * compat: RabbitMQ 3.10 takes any value; a non-integer never
	 * limits, a negative one dead-letters at the first return.
	 */
	if (queue_args_type(args) != QUEUE_QUORUM ||
	    !proto_table_get(args, "x-delivery-limit", &f) ||
	    !proto_field_int(&f, &v))
		return INT64_MAX;
	return v < 0 ? 0 : v;
}

int
queue_args_check(struct proto_table args, const char **key, char *why,
    size_t whylen)
{
	struct proto_field f;

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		if (!proto_table_get(args, checks[i].key, &f))
			continue;
		if (checks[i].check(&f, args, why, whylen) == -1) {
			*key = checks[i].key;
			return -1;
		}
	}
	return 0;
}

int64_t
queue_args_ttl(struct proto_table args)
{
	struct proto_field f;
	int64_t v;

	if (!proto_table_get(args, "x-message-ttl", &f) ||
	    !proto_field_int(&f, &v) || v < 0)
		return -1;
	return v;
}

int64_t
queue_args_max_length(struct proto_table args)
{
	struct proto_field f;
	int64_t v;

	if (!proto_table_get(args, "x-max-length", &f) ||
	    !proto_field_int(&f, &v) || v < 0)
		return -1;
	return v;
}

int64_t
queue_args_max_length_bytes(struct proto_table args)
{
	struct proto_field f;
	int64_t v;

	if (!proto_table_get(args, "x-max-length-bytes", &f) ||
	    !proto_field_int(&f, &v) || v < 0)
		return -1;
	return v;
}

int64_t
queue_args_consumer_timeout(struct proto_table args)
{
	struct proto_field f;
	int64_t v;

	if (!proto_table_get(args, "x-consumer-timeout", &f) ||
	    !proto_field_int(&f, &v) || v < 0)
		return -1;
	return v;
}

bool
queue_args_single_active(struct proto_table args)
{
	struct proto_field f;

	return proto_table_get(args, "x-single-active-consumer", &f) &&
	    f.kind == PROTO_FIELD_BOOL && f.v.b;
}

enum queue_overflow
queue_args_overflow(struct proto_table args)
{
	struct proto_field f;

	if (!proto_table_get(args, "x-overflow", &f) ||
	    f.kind != PROTO_FIELD_LONGSTR)
		return QUEUE_DROP_HEAD;
	if (proto_str_eqc(f.v.str, "reject-publish"))
		return QUEUE_REJECT_PUBLISH;
	if (proto_str_eqc(f.v.str, "reject-publish-dlx"))
		return QUEUE_REJECT_PUBLISH_DLX;
	return QUEUE_DROP_HEAD;
}

uint8_t
queue_args_max_priority(struct proto_table args)
{
	struct proto_field f;
	int64_t v;

	if (!proto_table_get(args, "x-max-priority", &f) ||
	    !proto_field_int(&f, &v) || v < 0)
		return 0;
	return v > 255 ? 255 : (uint8_t)v;
}

uint64_t
queue_args_expires(struct proto_table args)
{
	struct proto_field f;
	int64_t v;

	if (!proto_table_get(args, "x-expires", &f) ||
	    !proto_field_int(&f, &v) || v <= 0)
		return 0;
	return (uint64_t)v;
}
