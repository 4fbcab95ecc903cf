#include "autoconf.h"

#include "server/import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "server/auth.h"
#include "server/broker.h"
#include "server/definitions.h"
#include "server/exchange.h"
#include "server/persist.h"
#include "server/policy.h"
#include "server/queue.h"
#include "server/vhost.h"

static struct vhost *
need_vhost(struct import *im, const char *name)
{
	struct vhost *vh = broker_vhost(im->b, name, strlen(name));

	if (vh == NULL)
		snprintf(im->err, im->errlen, "no vhost '%s'", name);
	return vh;
}

static int
on_vhost(void *arg, const struct defs_vhost *v)
{
	struct import *im = arg;
	struct vhost *vh;
	const char *d, *t;

	if ((vh = broker_vhost(im->b, v->name, strlen(v->name))) == NULL) {
		vh = vhost_create(im->b, v->name);
		im->created++;
	}
	/*
	 * compat: an import updates the metadata it names; unchanged, it
	 * writes nothing (the file is loaded at every start).
	 */
	d = v->description != NULL ? v->description : vh->description;
	t = v->tags != NULL ? v->tags : vh->tags;
	if (strcmp(d, vh->description) != 0 || strcmp(t, vh->tags) != 0)
		vhost_set_meta(vh, d, t);
	return 0;
}

static int
on_vhost_limits(void *arg, const struct defs_vhost_limits *l)
{
	struct import *im = arg;
	struct vhost *vh = need_vhost(im, l->vhost);

	if (vh == NULL)
		return -1;
	vhost_set_limits(vh, l->max_connections, l->max_queues);
	return 0;
}

static int
on_user(void *arg, const struct defs_user *u)
{
	struct import *im = arg;
	char tags[512] = "";
	struct user *uu;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < u->ntags; i++) {
		int w = snprintf(tags + n, sizeof(tags) - n, "%s%s",
		    i ? "," : "", u->tags[i]);

		if (w < 0 || (size_t)w >= sizeof(tags) - n) {
			snprintf(im->err, im->errlen, "too many tags");
			return -1;
		}
		n += (size_t)w;
	}
	if (u->password_hash != NULL)
		rc = auth_user_put(im->b, u->name, u->password_hash,
		    u->hashing_algorithm, tags, im->err, im->errlen);
	else if (u->password != NULL)
		rc = auth_user_set_password(im->b, u->name, u->password, tags,
		    im->err, im->errlen);
	else	/* A user without a password can only log in by other means. */
		rc = auth_user_put(im->b, u->name, "", u->hashing_algorithm,
		    tags, im->err, im->errlen);
	if (rc != 0 || (uu = auth_user(im->b, u->name, strlen(u->name))) ==
	    NULL)
		return rc;
	/* compat: the file's limits replace the user's. */
	if (uu->max_connections != u->max_connections ||
	    uu->max_channels != u->max_channels) {
		uu->max_connections = u->max_connections;
		uu->max_channels = u->max_channels;
		persist_user_limits(im->b, uu);
	}
	return 0;
}

static int
on_policy(void *arg, struct defs_policy *d)
{
	struct import *im = arg;
	struct vhost *vh = need_vhost(im, d->vhost);

	if (vh == NULL)
		return -1;
	policy_put(vh, (enum policy_kind)d->kind, d->p, NULL);
	d->p = NULL;	/* the vhost's now */
	return 0;
}

static int
on_permission(void *arg, const struct defs_permission *p)
{
	struct import *im = arg;

	if (need_vhost(im, p->vhost) == NULL)
		return -1;
	return auth_permission_set(im->b, p->user, p->vhost, p->configure,
	    p->write, p->read, im->err, im->errlen);
}

static int
on_topic_permission(void *arg, const struct defs_topic_permission *p)
{
	struct import *im = arg;

	if (need_vhost(im, p->vhost) == NULL)
		return -1;
	return auth_topic_permission_set(im->b, p->user, p->vhost,
	    p->exchange, p->write, p->read, im->err, im->errlen);
}

/*
 * compat: rabbit_definitions skips, with a warning, the default exchange
 * and the exchanges and queues whose names begin with "amq." (an export
 * from RabbitMQ never lists them; a hand-written file might).
 */
static bool
skipped(const char *what, const char *name, const char *vhost)
{
	if (!vhost_name_reserved(proto_str_c(name)) && *name != '\0')
		return false;
	log_warnx("import: %s '%s' in vhost '%s' skipped: its name is "
	    "reserved", what, name, vhost);
	return true;
}

/* A refused declare or bind: its reply text is the reason. */
static int
refused(struct import *im, const struct vhost_reply *r)
{
	snprintf(im->err, im->errlen, "%s", r->text);
	return -1;
}

/*
 * compat: RabbitMQ's import declares, so checks names and arguments, but
 * leaves an existing exchange or queue as it is (the file is loaded at
 * every start). The file is trusted: the rights arguments imply are not
 * checked, as for RabbitMQ's internal acting user (an alternate exchange
 * needs no write on it here). Its types are: RabbitMQ 3.10 stores an
 * alternate-exchange that is no string and then never routes by it
 * (checked on 3.10.8); warren refuses the file instead of silently
 * losing the alternate.
 */
static int
on_exchange(void *arg, const struct defs_exchange *x)
{
	struct import *im = arg;
	struct vhost *vh = need_vhost(im, x->vhost);
	struct vhost_exchange_decl d = { .name = proto_str_c(x->name),
	    .type = proto_str_c(x->type), .durable = x->durable,
	    .auto_delete = x->auto_delete, .internal = x->internal,
	    .keep_existing = true,
	    .args = (struct proto_table){ x->args, x->args_len } };
	struct vhost_reply r;
	struct exchange *ex;

	if (vh == NULL)
		return -1;
	if (skipped("exchange", x->name, x->vhost))
		return 0;
	if (vhost_declare_exchange(vh, &d, &ex, &r) != 0)
		return refused(im, &r);
	if (r.created)
		im->created++;
	return 0;
}

static int
on_queue(void *arg, const struct defs_queue *qd)
{
	struct import *im = arg;
	struct vhost *vh = need_vhost(im, qd->vhost);
	struct vhost_queue_decl d = { .name = proto_str_c(qd->name),
	    .durable = qd->durable, .auto_delete = qd->auto_delete,
	    .keep_existing = true,
	    .args = (struct proto_table){ qd->args, qd->args_len } };
	struct vhost_reply r;
	struct queue *q;

	if (vh == NULL)
		return -1;
	if (*qd->name != '\0' && skipped("queue", qd->name, qd->vhost))
		return 0;
	/* The vhost's max-queues counts here too, as in RabbitMQ. */
	if (vhost_declare_queue(vh, &d, &q, &r) != 0)
		return refused(im, &r);
	if (r.created)
		im->created++;
	return 0;
}

static int
on_binding(void *arg, const struct defs_binding *bd)
{
	struct import *im = arg;
	struct vhost *vh = need_vhost(im, bd->vhost);
	struct vhost_binding b = { .key = proto_str_c(bd->routing_key),
	    .args = (struct proto_table){ bd->args, bd->args_len } };
	struct vhost_reply r;

	if (vh == NULL)
		return -1;
	if (vhost_binding_ends(vh, proto_str_c(bd->source), bd->dest_is_queue,
	    proto_str_c(bd->destination), &b) == -1) {
		snprintf(im->err, im->errlen, "binding %s -> %s: no such %s",
		    bd->source, bd->destination, b.src == NULL ? "source" :
		    "destination");
		return -1;
	}
	if (bd->source[0] == '\0')
		return 0;	/* the default exchange's bindings are implicit */
	if (vhost_bind(vh, &b, &r) != 0)
		return refused(im, &r);
	return 0;
}

const struct defs_callbacks import_cb = {
	.vhost = on_vhost,
	.vhost_limits = on_vhost_limits,
	.user = on_user,
	.permission = on_permission,
	.topic_permission = on_topic_permission,
	.policy = on_policy,
	.exchange = on_exchange,
	.queue = on_queue,
	.binding = on_binding,
};

int
import_definitions_text(struct broker *b, const char *text, size_t len,
    const char *vhost, char *err, size_t errlen)
{
	struct import im = { b, err, errlen, 0 };

	if (vhost != NULL && broker_vhost(b, vhost, strlen(vhost)) == NULL) {
		snprintf(err, errlen, "no vhost '%s'", vhost);
		return -1;
	}
	if (definitions_load_vhost(text, len, vhost, &import_cb, &im, err,
	    errlen) != 0)
		return -1;
	log_info("import: definitions applied (%u objects created)",
	    im.created);
	return 0;
}

int
import_definitions_file(struct broker *b, const char *path, char *err,
    size_t errlen)
{
	struct import im = { b, err, errlen, 0 };

	if (definitions_load_file(path, &import_cb, &im, err, errlen) != 0)
		return -1;
	log_info("import: definitions from %s applied (%u objects created)",
	    path, im.created);
	return 0;
}
