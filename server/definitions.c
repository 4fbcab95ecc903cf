#include "autoconf.h"

#include "server/definitions.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base64.h"
#include "lib/json.h"
#include "protocol/table.h"
#include "protocol/wire.h"
#include "server/policy.h"

/* Names, vhosts and routing keys travel as AMQP shortstrs. */
#define SHORTSTR_MAX	255

/*
 * JSON limits for a definitions document. 4M values is far beyond real
 * exports (a queue is 7) and bounds memory to a few hundred MiB.
 */
static const struct json_limits defs_limits = {
	.max_input = DEFS_FILE_MAX,
	.max_depth = 64,
	.max_string = DEFS_ARGS_MAX,
	.max_nodes = 4 * 1024 * 1024,
};

struct user_ent {
	struct defs_user	 u;
	const char		**tags;		/* owned array */
	char			 *tagbuf;	/* owned copy of a "a,b" string */
};

struct exchange_ent {
	struct defs_exchange	 x;
	uint8_t			*args;		/* owned */
};

struct queue_ent {
	struct defs_queue	 q;
	uint8_t			*args;		/* owned */
};

struct binding_ent {
	struct defs_binding	 b;
	uint8_t			*args;		/* owned */
};

/* A vhost and its joined tags. */
struct vhost_ent {
	struct defs_vhost	 v;
	char			*tags;		/* owned */
};

/* Everything validated, ready to apply; strings borrow from the DOM. */
struct loader {
	char			*err;
	size_t			 errlen;
	bool			 sort_keys;	/* objects in key order */
	const char		*vhost;		/* one vhost's file, or NULL */
	struct defs_policy	 *policies;
	size_t			  npolicies;
	struct vhost_ent	 *vhosts;
	size_t			  nvhosts;
	struct defs_vhost_limits *limits;
	size_t			  nlimits;
	struct user_ent		 *users;
	size_t			  nusers;
	struct defs_permission	 *perms;
	size_t			  nperms;
	struct defs_topic_permission *tperms;
	size_t			  ntperms;
	struct exchange_ent	 *exchanges;
	size_t			  nexchanges;
	struct queue_ent	 *queues;
	size_t			  nqueues;
	struct binding_ent	 *bindings;
	size_t			  nbindings;
};

static int __attribute__((format(printf, 2, 3)))
fail(struct loader *ld, const char *fmt, ...)
{
	va_list	ap;

	if (ld->err != NULL && ld->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(ld->err, ld->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Appends to a value path such as "queues[1].arguments.x-foo[2]". */
static size_t __attribute__((format(printf, 4, 5)))
path_push(char *path, size_t cap, size_t at, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (at >= cap)
		return at;
	va_start(ap, fmt);
	n = vsnprintf(path + at, cap - at, fmt, ap);
	va_end(ap);
	if (n < 0)
		return at;
	return at + (size_t)n < cap ? at + (size_t)n : cap - 1;
}

/*
 * A string member of object i of a section. Absent: *out = NULL, or an
 * error if required. C strings cannot carry "\u0000", so a NUL is refused.
 */
static int
get_str(struct loader *ld, const struct json *obj, const char *sect,
    size_t i, const char *key, bool required, size_t maxlen,
    const char **out)
{
	const struct json	*v = json_get(obj, key);
	const char		*s;
	size_t			 len;

	*out = NULL;
	if (v == NULL) {
		if (required)
			return fail(ld, "%s[%zu].%s: missing", sect, i, key);
		return 0;
	}
	if ((s = json_str(v, &len)) == NULL)
		return fail(ld, "%s[%zu].%s: expected a string, not %s", sect,
		    i, key, json_type_name(json_type(v)));
	if (memchr(s, '\0', len) != NULL)
		return fail(ld, "%s[%zu].%s: contains a NUL byte", sect, i,
		    key);
	if (len > maxlen)
		return fail(ld, "%s[%zu].%s: longer than %zu bytes", sect, i,
		    key, maxlen);
	*out = s;
	return 0;
}

/* An object's vhost: its own, or the one of a per-vhost file. */
static int
get_vhost(struct loader *ld, const struct json *obj, const char *sect,
    size_t i, const char **out)
{
	if (ld->vhost != NULL) {
		*out = ld->vhost;
		return 0;
	}
	return get_str(ld, obj, sect, i, "vhost", true, SHORTSTR_MAX, out);
}

/* A boolean member; absent means dflt, or an error if required. */
static int
get_bool(struct loader *ld, const struct json *obj, const char *sect,
    size_t i, const char *key, bool required, bool dflt, bool *out)
{
	const struct json	*v = json_get(obj, key);

	*out = dflt;
	if (v == NULL) {
		if (required)
			return fail(ld, "%s[%zu].%s: missing", sect, i, key);
		return 0;
	}
	if (json_type(v) != JSON_BOOL)
		return fail(ld, "%s[%zu].%s: expected a boolean, not %s", sect,
		    i, key, json_type_name(json_type(v)));
	*out = json_bool(v);
	return 0;
}

static int	encode_entries(struct loader *, struct proto_writer *,
		    const struct json *, char *, size_t, size_t);
static int	encode_member(struct loader *, struct proto_writer *,
		    const struct json *, size_t, char *, size_t, size_t);

/*
 * compat: RabbitMQ's JSON-to-AMQP conversion (rabbit_misc:to_amqp_table),
 * checked against 3.10.8 by importing and reading the stored arguments
 * back: string -> longstr 'S'; a number written as an integer -> long 'l'
 * (signed 64-bit), even 1000; any other number (1.5, 2.0, 1e3) -> double
 * 'd'; true/false -> bool 't'; array -> 'A' and object -> 'F' with the
 * same rules inside. RabbitMQ refuses null anywhere ("null_not_allowed"),
 * and so do we. It keeps integers past 64 bits as bignums that cannot go
 * on the wire; we refuse them.
 */
static int
encode_value(struct loader *ld, struct proto_writer *w, const struct json *v,
    char *path, size_t cap, size_t at)
{
	struct proto_field	 f;
	const char		*s;
	size_t			 len, i, n, mark;

	memset(&f, 0, sizeof(f));
	switch (json_type(v)) {
	case JSON_STRING:
		s = json_str(v, &len);
		f.kind = PROTO_FIELD_LONGSTR;
		f.v.str = (struct proto_str){ (const uint8_t *)s, len };
		proto_field_write(w, &f);
		return 0;
	case JSON_NUMBER:
		if (json_int(v, &f.v.i))
			f.kind = PROTO_FIELD_I64;
		else if (json_is_integral(v))
			return fail(ld, "%s: integer out of the signed 64-bit "
			    "range", path);
		else {
			f.kind = PROTO_FIELD_F64;
			f.v.f64 = json_num(v);
		}
		proto_field_write(w, &f);
		return 0;
	case JSON_BOOL:
		f.kind = PROTO_FIELD_BOOL;
		f.v.b = json_bool(v);
		proto_field_write(w, &f);
		return 0;
	case JSON_NULL:
		return fail(ld, "%s: null is not allowed in arguments", path);
	case JSON_ARRAY:
		proto_write_u8(w, PROTO_FIELD_ARRAY);
		mark = proto_table_begin(w);
		n = json_len(v);
		for (i = 0; i < n; i++) {
			path_push(path, cap, at, "[%zu]", i);
			if (encode_value(ld, w, json_at(v, i), path, cap,
			    strlen(path)) == -1)
				return -1;
		}
		path[at] = '\0';
		proto_table_end(w, mark);
		return 0;
	case JSON_OBJECT:
		proto_write_u8(w, PROTO_FIELD_TABLE);
		mark = proto_table_begin(w);
		if (encode_entries(ld, w, v, path, cap, at) == -1)
			return -1;
		proto_table_end(w, mark);
		return 0;
	}
	return fail(ld, "%s: unsupported value", path);
}

/* A member's key and place, to put an object's members in key order. */
struct member {
	const char	*key;
	size_t		 len, i;
};

static int
member_cmp(const void *x, const void *y)
{
	const struct member *a = x, *b = y;
	int c = memcmp(a->key, b->key, a->len < b->len ? a->len : b->len);

	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/*
 * Writes the members of obj as table entries (no length prefix); in key
 * order when ld->sort_keys (compat: RabbitMQ's management API decodes
 * JSON objects to Erlang maps, whose keys come out sorted).
 */
static int
encode_entries(struct loader *ld, struct proto_writer *w,
    const struct json *obj, char *path, size_t cap, size_t at)
{
	size_t		 i, n = json_len(obj);
	struct member	*order = NULL;
	int		 rc = 0;

	if (ld->sort_keys && n > 1) {
		if ((order = calloc(n, sizeof(*order))) == NULL)
			return fail(ld, "%s: out of memory", path);
		for (i = 0; i < n; i++) {
			order[i].key = json_key_at(obj, i, &order[i].len);
			order[i].i = i;
		}
		qsort(order, n, sizeof(*order), member_cmp);
	}
	for (size_t k = 0; k < n && rc == 0; k++) {
		i = order != NULL ? order[k].i : k;
		rc = encode_member(ld, w, obj, i, path, cap, at);
	}
	free(order);
	return rc;
}

/* Writes member i of obj as one table entry. */
static int
encode_member(struct loader *ld, struct proto_writer *w,
    const struct json *obj, size_t i, char *path, size_t cap, size_t at)
{
	const char	*key;
	size_t		 len;

	key = json_key_at(obj, i, &len);
	path_push(path, cap, at, ".%.*s", (int)(len > 64 ? 64 : len), key);
	/* spec: table keys are shortstrs; proto_table_validate wants at
	 * least one byte. */
	if (len == 0 || len > SHORTSTR_MAX)
		return fail(ld, "%s: key must be 1 to %d bytes", path,
		    SHORTSTR_MAX);
	proto_write_shortstr(w, (struct proto_str){ (const uint8_t *)key,
	    len });
	if (encode_value(ld, w, json_value_at(obj, i), path, cap,
	    strlen(path)) == -1)
		return -1;
	path[at] = '\0';
	return 0;
}

/*
 * Converts v, a JSON object (absent: NULL), into a field table; path
 * names it in messages. Absent or {} gives no bytes. The buffer doubles
 * until the table fits.
 */
static int
encode_args(struct loader *ld, const struct json *v, const char *where,
    uint8_t **out, size_t *outlen)
{
	struct proto_writer	 w;
	uint8_t			*p = NULL, *np;
	size_t			 cap = 256, at;
	char			 path[512];

	*out = NULL;
	*outlen = 0;
	if (v == NULL || json_len(v) == 0) {
		if (v != NULL && json_type(v) != JSON_OBJECT)
			goto notobj;
		return 0;
	}
	if (json_type(v) != JSON_OBJECT)
		goto notobj;
	for (;;) {
		if ((np = realloc(p, cap)) == NULL) {
			free(p);
			return fail(ld, "%s: out of memory", where);
		}
		p = np;
		w = proto_writer(p, cap);
		at = path_push(path, sizeof(path), 0, "%s", where);
		if (encode_entries(ld, &w, v, path, sizeof(path), at) == -1) {
			free(p);
			return -1;
		}
		if (!w.overflow)
			break;
		if (cap >= DEFS_ARGS_MAX) {
			free(p);
			return fail(ld, "%s: larger than %d bytes as a field "
			    "table", where, DEFS_ARGS_MAX);
		}
		cap *= 2;
	}
	/* Cheap insurance that the appliers get what the wire would. */
	if (!proto_table_validate((struct proto_table){ p, w.len })) {
		free(p);
		return fail(ld, "%s: cannot be encoded", where);
	}
	*out = p;
	*outlen = w.len;
	return 0;
notobj:
	return fail(ld, "%s: expected an object, not %s", where,
	    json_type_name(json_type(v)));
}

/* Converts member "arguments" of object i into a field table. */
static int
get_args(struct loader *ld, const struct json *obj, const char *sect,
    size_t i, uint8_t **out, size_t *outlen)
{
	char where[128];

	snprintf(where, sizeof(where), "%s[%zu].arguments", sect, i);
	return encode_args(ld, json_get(obj, "arguments"), where, out, outlen);
}

int
definitions_encode_args(const struct json *v, uint8_t **out, size_t *outlen,
    char *err, size_t errlen)
{
	struct loader ld;

	memset(&ld, 0, sizeof(ld));
	ld.err = err;
	ld.errlen = errlen;
	ld.sort_keys = true;
	return encode_args(&ld, v, "arguments", out, outlen);
}

/*
 * The section's array of objects, or NULL if absent. *n is its length.
 * Returns -1 if it is present but not an array of objects.
 */
static int
get_section(struct loader *ld, const struct json *root, const char *sect,
    const struct json **out, size_t *n)
{
	const struct json	*a = json_get(root, sect);
	size_t			 i;

	*out = NULL;
	*n = 0;
	if (a == NULL)
		return 0;
	if (json_type(a) != JSON_ARRAY)
		return fail(ld, "%s: expected an array, not %s", sect,
		    json_type_name(json_type(a)));
	for (i = 0; i < json_len(a); i++)
		if (json_type(json_at(a, i)) != JSON_OBJECT)
			return fail(ld, "%s[%zu]: expected an object, not %s",
			    sect, i, json_type_name(json_type(json_at(a, i))));
	*out = a;
	*n = json_len(a);
	return 0;
}

/*
 * Splits "administrator, monitoring" into trimmed, non-empty tags.
 * compat: RabbitMQ 3.10 turns " x , y,,z" into [x, y, z].
 */
static int
split_tags(struct loader *ld, struct user_ent *e, const char *s, size_t i)
{
	char	*p, *q, *end;
	size_t	 n = 0, cap;

	if ((e->tagbuf = strdup(s)) == NULL)
		return fail(ld, "users[%zu].tags: out of memory", i);
	cap = 1;
	for (p = e->tagbuf; *p != '\0'; p++)
		if (*p == ',')
			cap++;
	if ((e->tags = calloc(cap, sizeof(*e->tags))) == NULL)
		return fail(ld, "users[%zu].tags: out of memory", i);
	for (p = e->tagbuf; p != NULL; p = q) {
		if ((q = strchr(p, ',')) != NULL)
			*q++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*p != '\0')
			e->tags[n++] = p;
	}
	e->u.tags = e->tags;
	e->u.ntags = n;
	return 0;
}

/*
 * A vhost: its name, and "description" and "tags" at the top or, as newer
 * RabbitMQ releases export them, in "metadata". Tags are a list or a
 * comma-separated string; they are joined with commas.
 */
static int
load_vhost(struct loader *ld, const struct json *o, size_t i,
    struct vhost_ent *e)
{
	const struct json	*meta = json_get(o, "metadata"), *tags, *t;
	const struct json	*src = o;
	const char		*s;
	size_t			 len, at = 0, cap = 1;

	if (get_str(ld, o, "vhosts", i, "name", true, SHORTSTR_MAX,
	    &e->v.name))
		return -1;
	if (meta != NULL && json_type(meta) != JSON_OBJECT)
		return fail(ld, "vhosts[%zu].metadata: expected an object, "
		    "not %s", i, json_type_name(json_type(meta)));
	if (json_get(o, "description") == NULL && meta != NULL)
		src = meta;
	if (get_str(ld, src, "vhosts", i, "description", false, 4096,
	    &e->v.description))
		return -1;
	if ((tags = json_get(o, "tags")) == NULL && meta != NULL)
		tags = json_get(meta, "tags");
	if (tags == NULL || json_type(tags) == JSON_NULL)
		return 0;
	if (json_type(tags) == JSON_STRING) {
		s = json_str(tags, &len);
		if (memchr(s, '\0', len) != NULL)
			return fail(ld, "vhosts[%zu].tags: contains a NUL "
			    "byte", i);
		e->v.tags = s;
		return 0;
	}
	if (json_type(tags) != JSON_ARRAY)
		return fail(ld, "vhosts[%zu].tags: expected a string or an "
		    "array, not %s", i, json_type_name(json_type(tags)));
	for (size_t j = 0; j < json_len(tags); j++) {
		if ((s = json_str(json_at(tags, j), &len)) == NULL)
			return fail(ld, "vhosts[%zu].tags[%zu]: expected a "
			    "string", i, j);
		cap += len + 1;
	}
	if ((e->tags = malloc(cap)) == NULL)
		return fail(ld, "vhosts[%zu].tags: out of memory", i);
	e->tags[0] = '\0';
	for (size_t j = 0; j < json_len(tags); j++) {
		t = json_at(tags, j);
		s = json_str(t, &len);
		if (memchr(s, '\0', len) != NULL || memchr(s, ',', len) != NULL)
			return fail(ld, "vhosts[%zu].tags[%zu]: contains a NUL "
			    "byte or a comma", i, j);
		if (at > 0)
			e->tags[at++] = ',';
		memcpy(e->tags + at, s, len);
		at += len;
		e->tags[at] = '\0';
	}
	e->v.tags = e->tags;
	return 0;
}

static int
load_user(struct loader *ld, const struct json *o, size_t i,
    struct user_ent *e)
{
	const struct json	*tags, *t;
	const char		*s;
	size_t			 j, n, len;

	if (get_str(ld, o, "users", i, "name", true, SIZE_MAX, &e->u.name) ||
	    get_str(ld, o, "users", i, "password_hash", false, SIZE_MAX,
	    &e->u.password_hash) ||
	    get_str(ld, o, "users", i, "password", false, SIZE_MAX,
	    &e->u.password) ||
	    get_str(ld, o, "users", i, "hashing_algorithm", false, SIZE_MAX,
	    &e->u.hashing_algorithm))
		return -1;
	/*
	 * compat: RabbitMQ refuses both (both_password_and_password_hash_
	 * are_provided); with neither it makes up a password nobody knows,
	 * which the applier should copy.
	 */
	if (e->u.password_hash != NULL && e->u.password != NULL)
		return fail(ld, "users[%zu]: both password and password_hash "
		    "given", i);
	if (e->u.password_hash != NULL && !base64_valid(e->u.password_hash,
	    strlen(e->u.password_hash)))
		return fail(ld, "users[%zu].password_hash: not base64", i);
	/* compat: the hashing modules RabbitMQ ships. */
	if ((s = e->u.hashing_algorithm) != NULL &&
	    strcmp(s, "rabbit_password_hashing_sha256") != 0 &&
	    strcmp(s, "rabbit_password_hashing_sha512") != 0 &&
	    strcmp(s, "rabbit_password_hashing_md5") != 0)
		return fail(ld, "users[%zu].hashing_algorithm: unknown "
		    "algorithm \"%s\"", i, s);

	e->u.max_connections = e->u.max_channels = -1;
	if ((t = json_get(o, "limits")) != NULL &&
	    json_type(t) == JSON_OBJECT) {
		const struct json *x;

		if ((x = json_get(t, "max-connections")) != NULL &&
		    !json_int(x, &e->u.max_connections))
			return fail(ld, "users[%zu].limits.max-connections: "
			    "expected an integer", i);
		if ((x = json_get(t, "max-channels")) != NULL &&
		    !json_int(x, &e->u.max_channels))
			return fail(ld, "users[%zu].limits.max-channels: "
			    "expected an integer", i);
		if (e->u.max_connections < 0)
			e->u.max_connections = -1;
		if (e->u.max_channels < 0)
			e->u.max_channels = -1;
	}

	/* compat: exports before 3.9 write "a,b"; later ones ["a","b"].
	 * RabbitMQ 3.10 refuses a user without tags; we read none. */
	if ((tags = json_get(o, "tags")) == NULL)
		return 0;
	if (json_type(tags) == JSON_STRING) {
		if (get_str(ld, o, "users", i, "tags", true, SIZE_MAX, &s))
			return -1;
		return split_tags(ld, e, s, i);
	}
	if (json_type(tags) != JSON_ARRAY)
		return fail(ld, "users[%zu].tags: expected a string or an "
		    "array, not %s", i, json_type_name(json_type(tags)));
	n = json_len(tags);
	if ((e->tags = calloc(n ? n : 1, sizeof(*e->tags))) == NULL)
		return fail(ld, "users[%zu].tags: out of memory", i);
	for (j = 0; j < n; j++) {
		t = json_at(tags, j);
		if ((s = json_str(t, &len)) == NULL)
			return fail(ld, "users[%zu].tags[%zu]: expected a "
			    "string, not %s", i, j,
			    json_type_name(json_type(t)));
		if (memchr(s, '\0', len) != NULL || memchr(s, ',', len) != NULL)
			return fail(ld, "users[%zu].tags[%zu]: contains a NUL "
			    "byte or a comma", i, j);
		if (len > 0)
			e->tags[e->u.ntags++] = s;
	}
	e->u.tags = e->tags;
	return 0;
}

static int
load_exchange(struct loader *ld, const struct json *o, size_t i,
    struct exchange_ent *e)
{
	struct defs_exchange	*x = &e->x;
	const char		*s = "exchanges";

	/*
	 * compat: RabbitMQ 3.10.8 fails the whole import when "durable" is
	 * missing, and AMQP's default (false) and the management UI's (true)
	 * disagree, so it is required. A missing auto_delete or internal is
	 * false, as RabbitMQ treats it.
	 */
	if (get_vhost(ld, o, s, i, &x->vhost) ||
	    get_str(ld, o, s, i, "name", true, SHORTSTR_MAX, &x->name) ||
	    get_str(ld, o, s, i, "type", true, SHORTSTR_MAX, &x->type) ||
	    get_bool(ld, o, s, i, "durable", true, false, &x->durable) ||
	    get_bool(ld, o, s, i, "auto_delete", false, false,
	    &x->auto_delete) ||
	    get_bool(ld, o, s, i, "internal", false, false, &x->internal) ||
	    get_args(ld, o, s, i, &e->args, &x->args_len))
		return -1;
	x->args = e->args;
	return 0;
}

static int
load_queue(struct loader *ld, const struct json *o, size_t i,
    struct queue_ent *e)
{
	struct defs_queue	*q = &e->q;
	const char		*s = "queues";

	/* compat: "durable" is required as for exchanges; RabbitMQ 3.10.8
	 * also requires auto_delete, which we default to false. */
	if (get_vhost(ld, o, s, i, &q->vhost) ||
	    get_str(ld, o, s, i, "name", true, SHORTSTR_MAX, &q->name) ||
	    get_bool(ld, o, s, i, "durable", true, false, &q->durable) ||
	    get_bool(ld, o, s, i, "auto_delete", false, false,
	    &q->auto_delete) ||
	    get_args(ld, o, s, i, &e->args, &q->args_len))
		return -1;
	q->args = e->args;
	return 0;
}

static int
load_binding(struct loader *ld, const struct json *o, size_t i,
    struct binding_ent *e)
{
	struct defs_binding	*b = &e->b;
	const char		*s = "bindings", *dt;

	if (get_vhost(ld, o, s, i, &b->vhost) ||
	    get_str(ld, o, s, i, "source", true, SHORTSTR_MAX, &b->source) ||
	    get_str(ld, o, s, i, "destination", true, SHORTSTR_MAX,
	    &b->destination) ||
	    get_str(ld, o, s, i, "destination_type", true, SHORTSTR_MAX,
	    &dt) ||
	    get_str(ld, o, s, i, "routing_key", false, SHORTSTR_MAX,
	    &b->routing_key) ||
	    get_args(ld, o, s, i, &e->args, &b->args_len))
		return -1;
	if (strcmp(dt, "queue") == 0)
		b->dest_is_queue = true;
	else if (strcmp(dt, "exchange") != 0)
		return fail(ld, "bindings[%zu].destination_type: expected "
		    "\"queue\" or \"exchange\"", i);
	/* compat: RabbitMQ 3.10.8 stores a missing key as the atom
	 * 'undefined'; the empty key is what was meant. */
	if (b->routing_key == NULL)
		b->routing_key = "";
	b->args = e->args;
	return 0;
}

/*
 * A policy (doc: the entry itself) or an operator policy (doc: its
 * "value"), checked as the admin API checks one. compat: RabbitMQ's
 * reason, then " (vhost/name)".
 */
static int
load_policy(struct loader *ld, const struct json *o, const char *sect,
    size_t i, enum policy_kind kind, const struct json *doc)
{
	struct defs_policy *d = &ld->policies[ld->npolicies];
	const char *name;
	char why[1024];

	if (get_vhost(ld, o, sect, i, &d->vhost) ||
	    get_str(ld, o, sect, i, "name", true, POLICY_NAME_MAX, &name))
		return -1;
	if (doc == NULL || json_type(doc) != JSON_OBJECT)
		return fail(ld, "%s[%zu].value: expected an object", sect, i);
	if ((d->p = policy_parse(doc, kind, name, why, sizeof(why))) == NULL)
		return fail(ld, "%s (%s/%s)", why, d->vhost, name);
	d->kind = kind;
	ld->npolicies++;
	return 0;
}

/* Allocates n zeroed entries (at least one, so NULL means failure). */
static void *
entries(struct loader *ld, const char *sect, size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n ? n : 1, size)) == NULL)
		fail(ld, "%s: out of memory", sect);
	return p;
}

static int
validate(struct loader *ld, const struct json *root)
{
	const struct json	*a, *o, *pol;
	size_t			 i, n, npol;
	const char		*s;

	if (json_type(root) != JSON_OBJECT)
		return fail(ld, "expected an object at the top level, not %s",
		    json_type_name(json_type(root)));

	/* A vhost's file has no vhosts, users or permissions. */
	a = NULL;
	n = 0;
	if (ld->vhost == NULL && get_section(ld, root, "vhosts", &a, &n))
		return -1;
	if ((ld->vhosts = entries(ld, "vhosts", n, sizeof(*ld->vhosts))) ==
	    NULL)
		return -1;
	/* Counted first: loader_free frees a half-loaded entry's tags. */
	for (i = 0; i < n; i++)
		if (ld->nvhosts++, load_vhost(ld, json_at(a, i), i,
		    &ld->vhosts[i]) == -1)
			return -1;

	/*
	 * Of "parameters", vhost-limits and operator_policy are understood;
	 * other components (shovels, federation) are ignored as before.
	 * Policies go in one list, the operator ones first.
	 */
	s = "parameters";
	a = json_get(root, s);
	n = a != NULL && json_type(a) == JSON_ARRAY ? json_len(a) : 0;
	pol = json_get(root, "policies");
	npol = pol != NULL && json_type(pol) == JSON_ARRAY ? json_len(pol) :
	    0;
	if ((ld->limits = entries(ld, s, n, sizeof(*ld->limits))) == NULL ||
	    (ld->policies = entries(ld, "policies", n + npol,
	    sizeof(*ld->policies))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const struct json *v, *x;
		const char *comp;

		struct defs_vhost_limits *l = &ld->limits[ld->nlimits];

		/* Other components keep being ignored, whatever their shape. */
		o = json_at(a, i);
		if (json_type(o) != JSON_OBJECT ||
		    (v = json_get(o, "component")) == NULL ||
		    json_type(v) != JSON_STRING ||
		    (comp = json_str(v, NULL)) == NULL)
			continue;
		if (strcmp(comp, "operator_policy") == 0) {
			if (load_policy(ld, o, s, i, POLICY_OPERATOR,
			    json_get(o, "value")) == -1)
				return -1;
			continue;
		}
		if (strcmp(comp, "vhost-limits") != 0)
			continue;

		if (get_vhost(ld, o, s, i, &l->vhost))
			return -1;
		l->max_connections = l->max_queues = -1;
		/* compat: RabbitMQ 3.10 exports a vhost's cleared limits as
		 * "value": [] (checked on 3.10.8). */
		if ((v = json_get(o, "value")) != NULL &&
		    json_type(v) == JSON_ARRAY && json_len(v) == 0) {
			ld->nlimits++;
			continue;
		}
		if (v == NULL || json_type(v) != JSON_OBJECT)
			return fail(ld, "%s[%zu].value: expected an object", s,
			    i);
		if ((x = json_get(v, "max-connections")) != NULL &&
		    !json_int(x, &l->max_connections))
			return fail(ld, "%s[%zu].value.max-connections: "
			    "expected an integer", s, i);
		if ((x = json_get(v, "max-queues")) != NULL &&
		    !json_int(x, &l->max_queues))
			return fail(ld, "%s[%zu].value.max-queues: expected "
			    "an integer", s, i);
		if (l->max_connections < 0)
			l->max_connections = -1;
		if (l->max_queues < 0)
			l->max_queues = -1;
		ld->nlimits++;
	}

	s = "policies";
	if (get_section(ld, root, s, &a, &n))
		return -1;
	for (i = 0; i < n; i++)
		if (load_policy(ld, json_at(a, i), s, i, POLICY_USER,
		    json_at(a, i)) == -1)
			return -1;

	if (ld->vhost != NULL)
		a = NULL, n = 0;
	else if (get_section(ld, root, "users", &a, &n))
		return -1;
	if ((ld->users = entries(ld, "users", n, sizeof(*ld->users))) ==
	    NULL)
		return -1;
	/* The counts include a failed entry: it may own memory already. */
	for (i = 0; i < n; i++) {
		ld->nusers = i + 1;
		if (load_user(ld, json_at(a, i), i, &ld->users[i]) == -1)
			return -1;
	}

	s = "permissions";
	if (ld->vhost != NULL)
		a = NULL, n = 0;
	else if (get_section(ld, root, s, &a, &n))
		return -1;
	if ((ld->perms = entries(ld, s, n, sizeof(*ld->perms))) == NULL)
		return -1;
	for (i = 0; i < n; i++, ld->nperms++) {
		struct defs_permission *p = &ld->perms[i];

		o = json_at(a, i);
		if (get_str(ld, o, s, i, "user", true, SIZE_MAX, &p->user) ||
		    get_str(ld, o, s, i, "vhost", true, SHORTSTR_MAX,
		    &p->vhost) ||
		    get_str(ld, o, s, i, "configure", true, SIZE_MAX,
		    &p->configure) ||
		    get_str(ld, o, s, i, "write", true, SIZE_MAX, &p->write) ||
		    get_str(ld, o, s, i, "read", true, SIZE_MAX, &p->read))
			return -1;
	}

	s = "topic_permissions";
	if (ld->vhost != NULL)
		a = NULL, n = 0;
	else if (get_section(ld, root, s, &a, &n))
		return -1;
	if ((ld->tperms = entries(ld, s, n, sizeof(*ld->tperms))) == NULL)
		return -1;
	for (i = 0; i < n; i++, ld->ntperms++) {
		struct defs_topic_permission *p = &ld->tperms[i];

		o = json_at(a, i);
		if (get_str(ld, o, s, i, "user", true, SIZE_MAX, &p->user) ||
		    get_str(ld, o, s, i, "vhost", true, SHORTSTR_MAX,
		    &p->vhost) ||
		    get_str(ld, o, s, i, "exchange", true, SHORTSTR_MAX,
		    &p->exchange) ||
		    get_str(ld, o, s, i, "write", true, SIZE_MAX, &p->write) ||
		    get_str(ld, o, s, i, "read", true, SIZE_MAX, &p->read))
			return -1;
	}

	if (get_section(ld, root, "exchanges", &a, &n) ||
	    (ld->exchanges = entries(ld, "exchanges", n,
	    sizeof(*ld->exchanges))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		ld->nexchanges = i + 1;
		if (load_exchange(ld, json_at(a, i), i,
		    &ld->exchanges[i]) == -1)
			return -1;
	}

	if (get_section(ld, root, "queues", &a, &n) ||
	    (ld->queues = entries(ld, "queues", n, sizeof(*ld->queues))) ==
	    NULL)
		return -1;
	for (i = 0; i < n; i++) {
		ld->nqueues = i + 1;
		if (load_queue(ld, json_at(a, i), i, &ld->queues[i]) == -1)
			return -1;
	}

	if (get_section(ld, root, "bindings", &a, &n) ||
	    (ld->bindings = entries(ld, "bindings", n,
	    sizeof(*ld->bindings))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		ld->nbindings = i + 1;
		if (load_binding(ld, json_at(a, i), i, &ld->bindings[i]) == -1)
			return -1;
	}
	return 0;
}

/*
 * Names a failed callback's object in err, keeping the callback's own
 * message if it left one there.
 */
static int
rejected(struct loader *ld, int rc, const char *sect, size_t i)
{
	char	reason[256];

	if (ld->err == NULL || ld->errlen == 0)
		return rc;
	if (ld->err[0] != '\0')
		snprintf(reason, sizeof(reason), "%s", ld->err);
	else
		snprintf(reason, sizeof(reason), "rejected (%d)", rc);
	snprintf(ld->err, ld->errlen, "%s[%zu]: %s", sect, i, reason);
	return rc;
}

static void
clear_err(struct loader *ld)
{
	if (ld->err != NULL && ld->errlen > 0)
		ld->err[0] = '\0';
}

/*
 * compat: the order rabbit_definitions imports in, minus what we ignore.
 * A cursor (section, index) lets the caller apply a few objects at a time.
 */
enum defs_sect {
	SECT_VHOSTS, SECT_LIMITS, SECT_USERS, SECT_PERMS, SECT_TPERMS,
	SECT_POLICIES, SECT_EXCHANGES, SECT_QUEUES, SECT_BINDINGS, SECT_END
};

static const char *const sect_names[SECT_END] = {
	"vhosts", "parameters", "users", "permissions", "topic_permissions",
	"policies", "exchanges", "queues", "bindings",
};

static size_t
sect_len(const struct loader *ld, int s)
{
	switch (s) {
	case SECT_VHOSTS:	return ld->nvhosts;
	case SECT_LIMITS:	return ld->nlimits;
	case SECT_USERS:	return ld->nusers;
	case SECT_PERMS:	return ld->nperms;
	case SECT_TPERMS:	return ld->ntperms;
	case SECT_POLICIES:	return ld->npolicies;
	case SECT_EXCHANGES:	return ld->nexchanges;
	case SECT_QUEUES:	return ld->nqueues;
	case SECT_BINDINGS:	return ld->nbindings;
	}
	return 0;
}

/* Hands object i of section s to its callback (none: skipped). */
static int
apply_one(struct loader *ld, const struct defs_callbacks *cb, void *arg,
    int s, size_t i)
{
	switch (s) {
	case SECT_VHOSTS:
		return cb->vhost ? cb->vhost(arg, &ld->vhosts[i].v) : 0;
	case SECT_LIMITS:
		return cb->vhost_limits ? cb->vhost_limits(arg,
		    &ld->limits[i]) : 0;
	case SECT_USERS:
		return cb->user ? cb->user(arg, &ld->users[i].u) : 0;
	case SECT_PERMS:
		return cb->permission ? cb->permission(arg, &ld->perms[i]) :
		    0;
	case SECT_TPERMS:
		return cb->topic_permission ? cb->topic_permission(arg,
		    &ld->tperms[i]) : 0;
	case SECT_POLICIES:
		return cb->policy ? cb->policy(arg, &ld->policies[i]) : 0;
	case SECT_EXCHANGES:
		return cb->exchange ? cb->exchange(arg,
		    &ld->exchanges[i].x) : 0;
	case SECT_QUEUES:
		return cb->queue ? cb->queue(arg, &ld->queues[i].q) : 0;
	case SECT_BINDINGS:
		return cb->binding ? cb->binding(arg, &ld->bindings[i].b) :
		    0;
	}
	return 0;
}

static void
loader_free(struct loader *ld)
{
	size_t	i;

	for (i = 0; i < ld->nvhosts; i++)
		free(ld->vhosts[i].tags);
	free(ld->vhosts);
	free(ld->limits);
	for (i = 0; i < ld->npolicies; i++)
		policy_free(ld->policies[i].p);
	free(ld->policies);
	for (i = 0; i < ld->nusers; i++) {
		free(ld->users[i].tags);
		free(ld->users[i].tagbuf);
	}
	free(ld->users);
	free(ld->perms);
	free(ld->tperms);
	for (i = 0; i < ld->nexchanges; i++)
		free(ld->exchanges[i].args);
	free(ld->exchanges);
	for (i = 0; i < ld->nqueues; i++)
		free(ld->queues[i].args);
	free(ld->queues);
	for (i = 0; i < ld->nbindings; i++)
		free(ld->bindings[i].args);
	free(ld->bindings);
}

int
definitions_load(const char *text, size_t len,
    const struct defs_callbacks *cb, void *arg, char *err, size_t errlen)
{
	return definitions_load_vhost(text, len, NULL, cb, arg, err, errlen);
}

/* A parsed, validated document and how far it is applied. */
struct defs_doc {
	struct loader	 ld;
	struct json	*root;
	char		*vhost;		/* owned copy; ld.vhost points here */
	int		 sect;		/* enum defs_sect: the next object's */
	size_t		 next;
};

/* Moves the cursor past finished (or empty) sections. */
static void
skip_done(struct defs_doc *d)
{
	while (d->sect < SECT_END && d->next >= sect_len(&d->ld, d->sect)) {
		d->sect++;
		d->next = 0;
	}
}

struct defs_doc *
definitions_parse(const char *text, size_t len, const char *vhost,
    char *err, size_t errlen)
{
	struct defs_doc	*d;

	if (errlen > 0)
		err[0] = '\0';
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (vhost != NULL && (d->vhost = strdup(vhost)) == NULL)) {
		free(d);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->ld.vhost = d->vhost;
	d->ld.err = err;
	d->ld.errlen = errlen;
	if ((d->root = json_parse_limits(text, len, &defs_limits, err,
	    errlen)) == NULL || validate(&d->ld, d->root) != 0) {
		definitions_doc_free(d);
		return NULL;
	}
	d->ld.err = NULL;	/* the caller's buffer may go */
	d->ld.errlen = 0;
	skip_done(d);
	return d;
}

int
definitions_apply_some(struct defs_doc *d, const struct defs_callbacks *cb,
    void *arg, size_t max, bool *done, char *err, size_t errlen)
{
	struct loader	*ld = &d->ld;
	int		 rc = 0;

	ld->err = err;
	ld->errlen = errlen;
	clear_err(ld);
	for (; max > 0 && d->sect < SECT_END; max--) {
		clear_err(ld);
		if ((rc = apply_one(ld, cb, arg, d->sect, d->next)) != 0) {
			rc = rejected(ld, rc, sect_names[d->sect], d->next);
			d->sect = SECT_END;	/* stopped for good */
			break;
		}
		d->next++;
		skip_done(d);
	}
	if (rc == 0)
		clear_err(ld);
	*done = d->sect == SECT_END;
	ld->err = NULL;
	ld->errlen = 0;
	return rc;
}

void
definitions_doc_free(struct defs_doc *d)
{
	if (d == NULL)
		return;
	loader_free(&d->ld);
	json_free(d->root);
	free(d->vhost);
	free(d);
}

int
definitions_load_vhost(const char *text, size_t len, const char *vhost,
    const struct defs_callbacks *cb, void *arg, char *err, size_t errlen)
{
	struct defs_doc	*d;
	bool		 done;
	int		 rc;

	if ((d = definitions_parse(text, len, vhost, err, errlen)) == NULL)
		return -1;
	rc = definitions_apply_some(d, cb, arg, SIZE_MAX, &done, err, errlen);
	definitions_doc_free(d);
	return rc;
}

/* Reads at most max bytes of path; *out is owned by the caller. */
int
definitions_read_file(const char *path, size_t max, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	char	*p = NULL, *np;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;
	int	 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			/* Room for one byte past max tells "too big" apart. */
			if (cap > max) {
				snprintf(err, errlen, "larger than %zu bytes",
				    max);
				goto out;
			}
			cap = cap ? cap * 2 : 64 * 1024;
			if (cap > max + 1)
				cap = max + 1;
			if ((np = realloc(p, cap)) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			p = np;
		}
		if ((n = read(fd, p + len, cap - len)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		snprintf(err, errlen, "larger than %zu bytes", max);
		goto out;
	}
	*out = p;
	*outlen = len;
	p = NULL;
	rc = 0;
out:
	free(p);
	close(fd);
	return rc;
}

int
definitions_load_file(const char *path, const struct defs_callbacks *cb,
    void *arg, char *err, size_t errlen)
{
	char	*text, msg[512];
	size_t	 len;
	int	 rc;

	msg[0] = '\0';
	if (definitions_read_file(path, DEFS_FILE_MAX, &text, &len, msg,
	    sizeof(msg)) == -1) {
		snprintf(err, errlen, "definitions %s: %s", path, msg);
		return -1;
	}
	/* err itself goes down: callbacks may write their reason into it. */
	rc = definitions_load(text, len, cb, arg, err, errlen);
	free(text);
	if (rc != 0 && errlen > 0) {
		snprintf(msg, sizeof(msg), "%s", err);
		snprintf(err, errlen, "definitions %s: %s", path, msg);
	}
	return rc;
}
