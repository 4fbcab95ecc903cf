/* Policies and operator policies (see policy.h). */
#include "autoconf.h"

#include "server/policy.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/xmalloc.h"
#include "protocol/table.h"
#include "server/auth_perm.h"
#include "server/broker.h"
#include "server/exchange.h"
#include "server/persist.h"
#include "server/queue.h"
#include "server/queue_args.h"
#include "server/vhost.h"

/* The order policies were set in, for ties (see best()). */
static uint64_t policy_seq;

/* ---- parsing ---------------------------------------------------------- */

struct reason {
	char	*buf;
	size_t	 len;
	size_t	 at;
	bool	 html;		/* compat: escape < and > as RabbitMQ does */
};

static void __attribute__((format(printf, 2, 3)))
say(struct reason *r, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	for (const char *p = tmp; *p != '\0' && r->at + 1 < r->len; p++) {
		const char *e = NULL;

		if (r->html && *p == '<')
			e = "&lt;";
		else if (r->html && *p == '>')
			e = "&gt;";
		if (e == NULL) {
			r->buf[r->at++] = *p;
			continue;
		}
		if (r->at + strlen(e) + 1 >= r->len)
			break;
		memcpy(r->buf + r->at, e, strlen(e));
		r->at += strlen(e);
	}
	r->buf[r->at] = '\0';
}

/* A JSON value as Erlang prints the term RabbitMQ decoded it to. */
static void
say_term(struct reason *r, const struct json *v)
{
	size_t n;
	const char *s;
	int64_t i;

	switch (json_type(v)) {
	case JSON_STRING:
		s = json_str(v, &n);
		say(r, "<<\"%.*s\">>", (int)(n > 200 ? 200 : n), s);
		break;
	case JSON_NUMBER:
		if (json_int(v, &i))
			say(r, "%" PRId64, i);
		else
			say(r, "%g", json_num(v));
		break;
	case JSON_BOOL:
		say(r, "%s", json_bool(v) ? "true" : "false");
		break;
	case JSON_NULL:
		say(r, "null");
		break;
	case JSON_ARRAY:
		say(r, "[...]");
		break;
	default:
		say(r, "#{...}");
		break;
	}
}

static int
invalid(struct reason *r, const struct json *v, const char *what)
{
	say(r, "Validation failed\n\n");
	say_term(r, v);
	say(r, " is not a valid %s\n", what);
	return -1;
}

/* An integer >= min (compat: RabbitMQ takes no string or float here). */
static int
get_int(struct reason *r, const struct json *v, int64_t min, int64_t *out,
    const char *what)
{
	if (json_type(v) != JSON_NUMBER || !json_int(v, out) || *out < min)
		return invalid(r, v, what);
	return 0;
}

static int
get_name(struct reason *r, const struct json *v, char **out, const char *what)
{
	size_t n;
	const char *s;

	if (json_type(v) != JSON_STRING || (s = json_str(v, &n), n > 255) ||
	    memchr(s, '\0', n) != NULL)
		return invalid(r, v, what);
	free(*out);
	*out = xstrndup(s, n);
	return 0;
}

/* compat: RabbitMQ 3.10's policy validators, their reasons word for word. */
static int
parse_key(struct reason *r, const char *key, const struct json *v,
    struct policy_def *d, unsigned *bit)
{
	const char *s;

	if (strcmp(key, "message-ttl") == 0) {
		*bit = POLICY_MESSAGE_TTL;
		return get_int(r, v, 0, &d->message_ttl, "message TTL");
	}
	if (strcmp(key, "expires") == 0) {
		*bit = POLICY_EXPIRES;
		return get_int(r, v, 1, &d->expires, "queue expiry");
	}
	if (strcmp(key, "max-length") == 0) {
		*bit = POLICY_MAX_LENGTH;
		return get_int(r, v, 0, &d->max_length, "maximum length");
	}
	if (strcmp(key, "max-length-bytes") == 0) {
		*bit = POLICY_MAX_LENGTH_BYTES;
		return get_int(r, v, 0, &d->max_length_bytes,
		    "maximum length in bytes");
	}
	if (strcmp(key, "delivery-limit") == 0) {
		*bit = POLICY_DELIVERY_LIMIT;
		return get_int(r, v, 0, &d->delivery_limit, "delivery limit");
	}
	if (strcmp(key, "consumer-timeout") == 0) {
		/* compat: RabbitMQ 3.12's key and reason. */
		*bit = POLICY_CONSUMER_TIMEOUT;
		return get_int(r, v, 0, &d->consumer_timeout,
		    "consumer timeout");
	}
	if (strcmp(key, "overflow") == 0) {
		*bit = POLICY_OVERFLOW;
		s = json_type(v) == JSON_STRING ? json_str(v, NULL) : "";
		if (strcmp(s, "drop-head") == 0)
			d->overflow = QUEUE_DROP_HEAD;
		else if (strcmp(s, "reject-publish") == 0)
			d->overflow = QUEUE_REJECT_PUBLISH;
		else if (strcmp(s, "reject-publish-dlx") == 0)
			d->overflow = QUEUE_REJECT_PUBLISH_DLX;
		else
			return invalid(r, v, "overflow value");
		return 0;
	}
	if (strcmp(key, "dead-letter-exchange") == 0) {
		*bit = POLICY_DLX;
		return get_name(r, v, &d->dlx, "dead letter exchange name");
	}
	if (strcmp(key, "dead-letter-routing-key") == 0) {
		*bit = POLICY_DLRK;
		return get_name(r, v, &d->dlrk, "dead letter routing key");
	}
	if (strcmp(key, "alternate-exchange") == 0) {
		*bit = POLICY_AE;
		return get_name(r, v, &d->ae, "alternate exchange name");
	}
	if (strcmp(key, "queue-mode") == 0) {
		/* Accepted for compatibility: warren has one queue mode. */
		*bit = POLICY_QUEUE_MODE;
		s = json_type(v) == JSON_STRING ? json_str(v, NULL) : "";
		if (strcmp(s, "default") != 0 && strcmp(s, "lazy") != 0)
			return invalid(r, v, "queue-mode value");
		free(d->queue_mode);
		d->queue_mode = xstrdup(s);
		return 0;
	}
	*bit = 0;
	return 0;
}

/*
 * compat: what RabbitMQ 3.10 lets an operator policy set, less what
 * warren does not do (max-in-memory-*), and 3.12's consumer-timeout.
 */
#define OPERATOR_KEYS	(POLICY_MESSAGE_TTL | POLICY_EXPIRES | \
	POLICY_MAX_LENGTH | POLICY_DELIVERY_LIMIT | POLICY_MAX_LENGTH_BYTES | \
	POLICY_CONSUMER_TIMEOUT)

static int
keycmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The definition: known keys checked in key order (the first failure is
 * the reason), then the unknown ones all named together. compat: keys
 * RabbitMQ takes only as queue arguments (max-priority,
 * single-active-consumer, queue-type) are unknown to it too; ha-* are
 * refused as RabbitMQ 4 refuses them, warren having no mirroring.
 */
static int
parse_def(struct reason *r, const struct json *def, enum policy_kind kind,
    struct policy_def *d)
{
	size_t n = json_len(def), nbad = 0;
	const char **keys, **bad;
	int rc = -1;

	if (n == 0) {
		say(r, "Validation failed\n\nno policy provided\n");
		return -1;
	}
	keys = xcalloc(n, sizeof(*keys));
	bad = xcalloc(n, sizeof(*bad));
	for (size_t i = 0; i < n; i++)
		keys[i] = json_key_at(def, i, NULL);
	qsort(keys, n, sizeof(*keys), keycmp);
	for (size_t i = 0; i < n; i++) {
		unsigned bit;

		if (parse_key(r, keys[i], json_get(def, keys[i]), d,
		    &bit) == -1)
			goto out;
		if (bit == 0 || (kind == POLICY_OPERATOR &&
		    (bit & OPERATOR_KEYS) == 0))
			bad[nbad++] = keys[i];
		else
			d->has |= bit;
	}
	if (nbad > 0) {
		say(r, "Validation failed\n\n[");
		for (size_t i = 0; i < nbad; i++) {
			say(r, "%s{<<\"%.100s\">>,", i ? "," : "", bad[i]);
			say_term(r, json_get(def, bad[i]));
			say(r, "}");
		}
		say(r, "] are not recognised policy settings\n");
		goto out;
	}
	rc = 0;
out:
	free(keys);
	free(bad);
	return rc;
}

static void
def_free(struct policy_def *d)
{
	free(d->dlx);
	free(d->dlrk);
	free(d->ae);
	free(d->queue_mode);
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	def_free(&p->def);
	perm_re_free(p->re);
	free(p->pattern);
	free(p->name);
	free(p);
}

static const char *const apply_names[] = {
	[POLICY_APPLY_ALL] = "all",
	[POLICY_APPLY_QUEUES] = "queues",
	[POLICY_APPLY_CLASSIC_QUEUES] = "classic_queues",
	[POLICY_APPLY_QUORUM_QUEUES] = "quorum_queues",
	[POLICY_APPLY_EXCHANGES] = "exchanges",
};

/* compat: RabbitMQ's order: priority, pattern, apply-to, definition. */
static int
parse_fields(struct reason *r, const struct json *doc, enum policy_kind kind,
    struct policy *p)
{
	const struct json *pat, *def, *pri, *ap;
	char err[256];
	size_t n;
	const char *s;

	/* compat: the management API's check for mandatory keys. */
	if ((pat = json_get(doc, "pattern")) == NULL) {
		say(r, "[{key_missing,pattern}]");
		return -1;
	}
	if ((def = json_get(doc, "definition")) == NULL) {
		say(r, "[{key_missing,definition}]");
		return -1;
	}
	/*
	 * An integer, or (contract: lenient ints, as rabbitmqadmin v1 sends
	 * them) a string of one. compat: RabbitMQ 3.10 refuses "1" here.
	 */
	if ((pri = json_get(doc, "priority")) != NULL &&
	    json_type(pri) != JSON_NULL) {
		char *end;

		if (json_type(pri) == JSON_STRING) {
			s = json_str(pri, &n);
			p->priority = strtoll(s, &end, 10);
			if (n == 0 || *end != '\0' || n > 18)
				goto bad_priority;
		} else if (json_type(pri) != JSON_NUMBER ||
		    !json_int(pri, &p->priority))
			goto bad_priority;
		if (p->priority < INT32_MIN || p->priority > INT32_MAX)
			goto bad_priority;
	}
	if (json_type(pat) != JSON_STRING) {
		say(r, "Validation failed\n\npattern should be a binary but "
		    "was ");
		say_term(r, pat);
		say(r, "\n");
		return -1;
	}
	s = json_str(pat, &n);
	if (n > 1024 || memchr(s, '\0', n) != NULL) {
		say(r, "Validation failed\n\npattern should be regular "
		    "expression but is invalid: {\"too long or has NUL\",0}\n");
		return -1;
	}
	p->pattern = xstrndup(s, n);
	if (n > 0 && (p->re = perm_re_compile(s, n, err, sizeof(err))) ==
	    NULL) {
		char *at = strstr(err, " at offset ");

		if (at != NULL)
			*at = '\0';
		say(r, "Validation failed\n\npattern should be regular "
		    "expression but is invalid: {\"%s\",%s}\n", err,
		    at != NULL ? at + 11 : "0");
		return -1;
	}
	p->apply_to = POLICY_APPLY_ALL;
	if ((ap = json_get(doc, "apply-to")) != NULL &&
	    json_type(ap) != JSON_NULL) {
		size_t i;

		s = json_type(ap) == JSON_STRING ? json_str(ap, NULL) : "";
		for (i = 0; i < sizeof(apply_names) / sizeof(*apply_names);
		    i++)
			if (strcmp(s, apply_names[i]) == 0)
				break;
		if (i == sizeof(apply_names) / sizeof(*apply_names)) {
			say(r, "Validation failed\n\napply-to '%.100s' "
			    "unrecognised; should be 'queues', "
			    "'classic_queues', 'quorum_queues', 'exchanges' "
			    "or 'all'\n", s);
			return -1;
		}
		p->apply_to = (enum policy_apply)i;
	}
	if (json_type(def) != JSON_OBJECT) {
		say(r, "Validation failed\n\ndefinition should be a JSON "
		    "object\n");
		return -1;
	}
	return parse_def(r, def, kind, &p->def);
bad_priority:
	say(r, "Validation failed\n\npriority should be a number, actually "
	    "was ");
	say_term(r, pri);
	say(r, "\n");
	return -1;
}

struct policy *
policy_parse(const struct json *doc, enum policy_kind kind, const char *name,
    char *why, size_t whylen)
{
	struct reason r = { why, whylen, 0, kind == POLICY_USER };
	struct policy *p;

	why[0] = '\0';
	if (json_type(doc) != JSON_OBJECT) {
		say(&r, "not_json");
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->name = xstrdup(name);
	if (parse_fields(&r, doc, kind, p) == -1) {
		policy_free(p);
		return NULL;
	}
	return p;
}

/* ---- the vhost's lists ------------------------------------------------ */

static struct policy_list *
list_of(const struct vhost *vh, enum policy_kind kind)
{
	return (struct policy_list *)&vh->policies[kind];
}

static size_t
index_of(const struct policy_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i]->name, name) == 0)
			return i;
	return SIZE_MAX;
}

struct policy *
policy_find(const struct vhost *vh, enum policy_kind kind, const char *name)
{
	const struct policy_list *l = list_of(vh, kind);
	size_t i = index_of(l, name);

	return i == SIZE_MAX ? NULL : l->v[i];
}

void
policy_put(struct vhost *vh, enum policy_kind kind, struct policy *p,
    bool *created)
{
	struct policy_list *l = list_of(vh, kind);
	size_t i = index_of(l, p->name);
	struct policy *old = NULL;

	p->seq = ++policy_seq;
	if (i != SIZE_MAX) {
		old = l->v[i];
		l->v[i] = p;
	} else {
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 4;
			l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
		}
		l->v[l->n++] = p;
	}
	if (created != NULL)
		*created = old == NULL;
	persist_policy(vh, kind, p);
	/* Nothing points at old once every object has been looked at. */
	policy_apply_vhost(vh);
	policy_free(old);
}

bool
policy_del(struct vhost *vh, enum policy_kind kind, const char *name)
{
	struct policy_list *l = list_of(vh, kind);
	size_t i = index_of(l, name);
	struct policy *old;

	if (i == SIZE_MAX)
		return false;
	old = l->v[i];
	l->v[i] = l->v[--l->n];
	persist_policy_deleted(vh, kind, name);
	policy_apply_vhost(vh);
	policy_free(old);
	return true;
}

void
policy_free_vhost(struct vhost *vh)
{
	for (int k = 0; k < POLICY_NKINDS; k++) {
		struct policy_list *l = list_of(vh, (enum policy_kind)k);

		for (size_t i = 0; i < l->n; i++)
			policy_free(l->v[i]);
		free(l->v);
		memset(l, 0, sizeof(*l));
	}
}

/* ---- writing ---------------------------------------------------------- */

static void
write_def(struct json_writer *w, const struct policy_def *d,
    const struct policy_def *op)
{
	static const char *const overflow[] = { "drop-head",
	    "reject-publish", "reject-publish-dlx" };
	unsigned has = d->has | (op != NULL ? op->has : 0);

	/* In key order, as RabbitMQ sorts them. */
#define STR(bit, key, member)						\
	if (has & (bit)) {						\
		json_w_keyc(w, key);					\
		json_w_stringc(w, (d->has & (bit)) ? d->member :	\
		    op->member);					\
	}
#define NUM(bit, key, member)						\
	if (has & (bit)) {						\
		int64_t v_ = (d->has & (bit)) ? d->member : op->member;	\
		if ((d->has & (bit)) && op != NULL && (op->has & (bit)) && \
		    op->member < v_)					\
			v_ = op->member;				\
		json_w_keyc(w, key);					\
		json_w_int(w, v_);					\
	}
	json_w_begin_object(w);
	STR(POLICY_AE, "alternate-exchange", ae)
	NUM(POLICY_CONSUMER_TIMEOUT, "consumer-timeout", consumer_timeout)
	STR(POLICY_DLX, "dead-letter-exchange", dlx)
	STR(POLICY_DLRK, "dead-letter-routing-key", dlrk)
	NUM(POLICY_DELIVERY_LIMIT, "delivery-limit", delivery_limit)
	NUM(POLICY_EXPIRES, "expires", expires)
	NUM(POLICY_MAX_LENGTH, "max-length", max_length)
	NUM(POLICY_MAX_LENGTH_BYTES, "max-length-bytes", max_length_bytes)
	NUM(POLICY_MESSAGE_TTL, "message-ttl", message_ttl)
	if (has & POLICY_OVERFLOW) {
		json_w_keyc(w, "overflow");
		json_w_stringc(w, overflow[(d->has & POLICY_OVERFLOW) ?
		    d->overflow : op->overflow]);
	}
	STR(POLICY_QUEUE_MODE, "queue-mode", queue_mode)
	json_w_end_object(w);
#undef STR
#undef NUM
}

void
policy_write(struct json_writer *w, const char *vhost, const struct policy *p)
{
	json_w_begin_object(w);
	if (vhost != NULL) {
		json_w_keyc(w, "vhost");
		json_w_stringc(w, vhost);
	}
	json_w_keyc(w, "name");
	json_w_stringc(w, p->name);
	json_w_keyc(w, "pattern");
	json_w_stringc(w, p->pattern);
	json_w_keyc(w, "apply-to");
	json_w_stringc(w, apply_names[p->apply_to]);
	json_w_keyc(w, "definition");
	write_def(w, &p->def, NULL);
	json_w_keyc(w, "priority");
	json_w_int(w, p->priority);
	json_w_end_object(w);
}

void
policy_write_doc(struct json_writer *w, const struct policy *p)
{
	json_w_begin_object(w);
	json_w_keyc(w, "pattern");
	json_w_stringc(w, p->pattern);
	json_w_keyc(w, "definition");
	write_def(w, &p->def, NULL);
	json_w_keyc(w, "priority");
	json_w_int(w, p->priority);
	json_w_keyc(w, "apply-to");
	json_w_stringc(w, apply_names[p->apply_to]);
	json_w_end_object(w);
}

void
policy_write_queue_members(struct json_writer *w, const struct queue *q)
{
	static const struct policy_def none;

	json_w_keyc(w, "policy");
	if (q->policy != NULL)
		json_w_stringc(w, q->policy->name);
	else
		json_w_null(w);
	json_w_keyc(w, "operator_policy");
	if (q->op_policy != NULL)
		json_w_stringc(w, q->op_policy->name);
	else
		json_w_null(w);
	json_w_keyc(w, "effective_policy_definition");
	write_def(w, q->policy != NULL ? &q->policy->def : &none,
	    q->op_policy != NULL ? &q->op_policy->def : NULL);
}

void
policy_write_exchange_members(struct json_writer *w,
    const struct exchange *ex)
{
	if (ex->policy == NULL)
		return;
	json_w_keyc(w, "policy");
	json_w_stringc(w, ex->policy->name);
}

/* ---- applying --------------------------------------------------------- */

static bool
matches(const struct policy *p, const char *name, size_t len)
{
	return p->re == NULL || perm_re_match(p->re, name, len);
}

/*
 * The highest-priority match. compat: RabbitMQ 3.10 leaves ties to its
 * table's order; there, the policy set last won every time tried, and so
 * it does here.
 */
static const struct policy *
best(const struct policy_list *l, const char *name, size_t len,
    bool is_queue, uint8_t qtype)
{
	const struct policy *found = NULL;

	for (size_t i = 0; i < l->n; i++) {
		const struct policy *p = l->v[i];

		switch (p->apply_to) {
		case POLICY_APPLY_ALL:
			break;
		case POLICY_APPLY_QUEUES:
			if (!is_queue)
				continue;
			break;
		case POLICY_APPLY_CLASSIC_QUEUES:
			if (!is_queue || qtype != QUEUE_CLASSIC)
				continue;
			break;
		case POLICY_APPLY_QUORUM_QUEUES:
			if (!is_queue || qtype != QUEUE_QUORUM)
				continue;
			break;
		case POLICY_APPLY_EXCHANGES:
			if (is_queue)
				continue;
			break;
		}
		if (found != NULL && (p->priority < found->priority ||
		    (p->priority == found->priority && p->seq < found->seq)))
			continue;
		if (matches(p, name, len))
			found = p;
	}
	return found;
}

/* The smallest of an argument (-1: none) and the policies' values. */
static int64_t
smallest(int64_t arg, const struct policy *p, const struct policy *op,
    unsigned bit, size_t off)
{
	int64_t v = arg;
	const struct policy *ps[2] = { p, op };

	for (int i = 0; i < 2; i++) {
		int64_t pv;

		if (ps[i] == NULL || !(ps[i]->def.has & bit))
			continue;
		memcpy(&pv, (const char *)&ps[i]->def + off, sizeof(pv));
		if (v < 0 || pv < v)
			v = pv;
	}
	return v;
}

#define SMALLEST(arg, q, bit, member) smallest((arg), (q)->policy, \
	(q)->op_policy, (bit), offsetof(struct policy_def, member))

void
policy_apply_queue(struct queue *q)
{
	struct proto_table args = { q->args, q->args_len };
	struct proto_field f;
	uint64_t old_expires = q->expires_ms;
	int64_t v;

	if (q->vh == NULL)
		return;
	q->policy = best(&q->vh->policies[POLICY_USER], q->name, q->name_len,
	    true, q->type);
	q->op_policy = best(&q->vh->policies[POLICY_OPERATOR], q->name,
	    q->name_len, true, q->type);
	q->ttl_ms = SMALLEST(queue_args_ttl(args), q, POLICY_MESSAGE_TTL,
	    message_ttl);
	q->max_length = SMALLEST(queue_args_max_length(args), q,
	    POLICY_MAX_LENGTH, max_length);
	q->max_bytes = SMALLEST(queue_args_max_length_bytes(args), q,
	    POLICY_MAX_LENGTH_BYTES, max_length_bytes);
	v = (int64_t)queue_args_expires(args);
	v = SMALLEST(v > 0 ? v : -1, q, POLICY_EXPIRES, expires);
	q->expires_ms = v > 0 ? (uint64_t)v : 0;
	if (q->type == QUEUE_QUORUM) {
		int64_t a = queue_args_delivery_limit(args);

		v = SMALLEST(a == INT64_MAX ? -1 : a, q,
		    POLICY_DELIVERY_LIMIT, delivery_limit);
		q->delivery_limit = v < 0 ? INT64_MAX : v;
	}
	/*
	 * compat: RabbitMQ 3.12 takes the smallest of the argument and the
	 * policies' values; with neither, the broker's consumer_timeout.
	 */
	q->consumer_timeout = SMALLEST(queue_args_consumer_timeout(args), q,
	    POLICY_CONSUMER_TIMEOUT, consumer_timeout);
	q->overflow = (uint8_t)queue_args_overflow(args);
	if (!(args.len && proto_table_get(args, "x-overflow", &f)) &&
	    q->policy != NULL && (q->policy->def.has & POLICY_OVERFLOW))
		q->overflow = q->policy->def.overflow;
	/* A new lease, or none (compat: RabbitMQ restarts it too). */
	if (q->expires_ms != old_expires) {
		if (old_expires != 0 && q->vh->b->loop != NULL) {
			uint64_t now = q->expires_ms;

			q->expires_ms = old_expires;
			queue_lease_stop(q);
			q->expires_ms = now;
		}
		queue_lease_touch(q);
	}
	/* compat: only drop-head trims a queue (maybe_drop_head). */
	if (q->overflow == QUEUE_DROP_HEAD)
		queue_trim(q);
}

void
policy_apply_exchange(struct exchange *ex)
{
	struct proto_table args = { ex->args, ex->args_len };
	struct proto_field f;

	if (ex->vh == NULL)
		return;
	ex->policy = best(&ex->vh->policies[POLICY_USER], ex->name,
	    ex->name_len, false, 0);
	/* compat: an alternate-exchange argument beats the policy's. */
	if (args.len && proto_table_get(args, "alternate-exchange", &f))
		return;
	free(ex->alternate);
	ex->alternate = NULL;
	ex->alternate_len = 0;
	if (ex->policy != NULL && (ex->policy->def.has & POLICY_AE)) {
		ex->alternate = xstrdup(ex->policy->def.ae);
		ex->alternate_len = strlen(ex->alternate);
	}
}

void
policy_apply_vhost(struct vhost *vh)
{
	size_t i = 0;
	void *v;

	while (hmap_next(&vh->exchanges, &i, &v))
		policy_apply_exchange(v);
	/*
	 * Trimming may dead-letter into other queues, never delete one:
	 * the walk stays valid.
	 */
	i = 0;
	while (hmap_next(&vh->queues, &i, &v))
		policy_apply_queue(v);
}

/* A string argument of the queue, else the policy's. */
static bool
arg_or_policy(const struct queue *q, const char *arg, unsigned bit,
    size_t off, const char **s, size_t *len)
{
	struct proto_field f;
	const char *ps;

	if (q->args_len && proto_table_get((struct proto_table){ q->args,
	    q->args_len }, arg, &f)) {
		if (f.kind != PROTO_FIELD_LONGSTR)
			return false;
		*s = (const char *)f.v.str.p;
		*len = f.v.str.len;
		return true;
	}
	if (q->policy == NULL || !(q->policy->def.has & bit))
		return false;
	memcpy(&ps, (const char *)&q->policy->def + off, sizeof(ps));
	*s = ps;
	*len = strlen(ps);
	return true;
}

bool
policy_queue_dlx(const struct queue *q, const char **name, size_t *len)
{
	return arg_or_policy(q, "x-dead-letter-exchange", POLICY_DLX,
	    offsetof(struct policy_def, dlx), name, len);
}

bool
policy_queue_dlrk(const struct queue *q, const char **key, size_t *len)
{
	return arg_or_policy(q, "x-dead-letter-routing-key", POLICY_DLRK,
	    offsetof(struct policy_def, dlrk), key, len);
}
