/*
 * Policies and operator policies: per vhost, a name, a pattern (an
 * unanchored regex over queue or exchange names), what it applies to, a
 * priority and a definition of queue and exchange settings. The
 * highest-priority matching policy and operator policy of each queue and
 * exchange take effect at once, on existing and new objects alike.
 *
 * compat: RabbitMQ 3.10's precedence (rabbit_amqqueue_process
 * process_args_policy, rabbit_policy get/merge_policy_value):
 *   - numeric limits (message-ttl, expires, max-length, max-length-bytes,
 *     delivery-limit, and consumer-timeout as RabbitMQ 3.12 takes it):
 *     the smallest of the queue's x-argument, the policy's and the
 *     operator policy's value;
 *   - the others (overflow, dead-letter-exchange, dead-letter-routing-key,
 *     alternate-exchange): the x-argument when there is one, else the
 *     policy's.
 */
#ifndef WARREN_SERVER_POLICY_H
#define WARREN_SERVER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct exchange;
struct json;
struct json_writer;
struct perm_re;
struct queue;
struct vhost;

enum policy_kind {
	POLICY_USER,		/* /api/policies */
	POLICY_OPERATOR,	/* /api/operator-policies */
	POLICY_NKINDS
};

enum policy_apply {
	POLICY_APPLY_ALL,
	POLICY_APPLY_QUEUES,
	POLICY_APPLY_CLASSIC_QUEUES,
	POLICY_APPLY_QUORUM_QUEUES,
	POLICY_APPLY_EXCHANGES,
};

/* Which members of a definition are set. */
#define POLICY_MESSAGE_TTL	0x001u
#define POLICY_EXPIRES		0x002u
#define POLICY_MAX_LENGTH	0x004u
#define POLICY_DELIVERY_LIMIT	0x008u
#define POLICY_OVERFLOW		0x010u
#define POLICY_DLX		0x020u
#define POLICY_DLRK		0x040u
#define POLICY_AE		0x080u
#define POLICY_QUEUE_MODE	0x100u
#define POLICY_MAX_LENGTH_BYTES	0x200u
#define POLICY_CONSUMER_TIMEOUT	0x400u

struct policy_def {
	unsigned	 has;		/* POLICY_* bits */
	int64_t		 message_ttl, expires, max_length, delivery_limit;
	int64_t		 max_length_bytes;
	int64_t		 consumer_timeout;
	uint8_t		 overflow;	/* enum queue_overflow */
	char		*dlx, *dlrk, *ae, *queue_mode;
};

struct policy {
	char			*name;
	char			*pattern;
	struct perm_re		*re;		/* NULL: "" matches all */
	enum policy_apply	 apply_to;
	int64_t			 priority;
	uint64_t		 seq;		/* ties go to the newest */
	struct policy_def	 def;
};

/* One vhost's policies of one kind, unordered. */
struct policy_list {
	struct policy	**v;
	size_t		  n, cap;
};

/* The most bytes of a policy name (compat: no limit in RabbitMQ). */
#define POLICY_NAME_MAX	255

/*
 * Reads a policy document ({pattern, definition, priority, apply-to}, as
 * PUT /api/policies and definitions files give it) into a new policy
 * named name. Returns it, or NULL with RabbitMQ's reason in why (HTML
 * escaped as its management API answers it for policies, not for
 * operator policies).
 */
struct policy *policy_parse(const struct json *doc, enum policy_kind kind,
	    const char *name, char *why, size_t whylen);
void	policy_free(struct policy *p);

/* The policy of that kind and name in vh, or NULL. */
struct policy *policy_find(const struct vhost *vh, enum policy_kind kind,
	    const char *name);
/*
 * Sets (replacing one of that name) and stores p, which vh takes, and
 * applies the vhost's policies again. *created: there was none.
 */
void	policy_put(struct vhost *vh, enum policy_kind kind, struct policy *p,
	    bool *created);
/* Deletes and unstores one; false if there is none. */
bool	policy_del(struct vhost *vh, enum policy_kind kind, const char *name);
/* Frees a vhost's policies (the vhost is going; nothing is unstored). */
void	policy_free_vhost(struct vhost *vh);

/*
 * Writes the policy as the admin API and definitions files show it:
 * {vhost, name, pattern, apply-to, definition, priority}; vhost is left
 * out when vhost is NULL (per-vhost definitions).
 */
void	policy_write(struct json_writer *w, const char *vhost,
	    const struct policy *p);
/* Its {pattern, definition, priority, apply-to} document, as stored. */
void	policy_write_doc(struct json_writer *w, const struct policy *p);

/*
 * Computes the effective settings of a queue or exchange from its
 * arguments and the vhost's policies (after a declare; the policy
 * functions above call them for every object of the vhost). A queue whose
 * max-length or max-length-bytes went down is trimmed at once as its
 * overflow says.
 */
void	policy_apply_queue(struct queue *q);
void	policy_apply_exchange(struct exchange *ex);
void	policy_apply_vhost(struct vhost *vh);

/*
 * For the admin API's queue and exchange objects: writes the members
 * "policy" (name or null), "operator_policy" (name or null) and
 * "effective_policy_definition" (the policy's definition merged with the
 * operator policy's, the smaller numeric value winning; {} with none).
 * An exchange gets "policy" only, and only when one applies (as RabbitMQ
 * 3.10 shows it).
 */
void	policy_write_queue_members(struct json_writer *w,
	    const struct queue *q);
void	policy_write_exchange_members(struct json_writer *w,
	    const struct exchange *ex);

/*
 * The effective dead-letter exchange and routing key of a queue: its
 * x-argument, else its policy's. False when there is none; *name borrows.
 */
bool	policy_queue_dlx(const struct queue *q, const char **name,
	    size_t *len);
bool	policy_queue_dlrk(const struct queue *q, const char **key,
	    size_t *len);

#endif /* WARREN_SERVER_POLICY_H */
