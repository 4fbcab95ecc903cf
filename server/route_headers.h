/*
 * Headers-exchange matching: binding arguments against message headers.
 */
#ifndef WARREN_SERVER_ROUTE_HEADERS_H
#define WARREN_SERVER_ROUTE_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol/table.h"

/*
 * Whether a message with headers (a validated table; len 0 when the message
 * has none) matches a binding with arguments binding_args (a validated
 * table that passed headers_check_args()).
 *
 * x-match "all" (the default) needs every binding key to match, "any" at
 * least one. Binding keys starting with "x-" are ignored unless x-match is
 * "all-with-x" or "any-with-x"; "x-match" itself is always ignored. A void
 * binding value matches any value under the same header key; other values
 * match as RabbitMQ compares them (see headers_value_equal()).
 */
bool	headers_match(struct proto_table binding_args,
	    struct proto_table headers);

/*
 * One message's headers, sorted by key on first need, for matching them
 * against many bindings: matching a binding of k keys against m headers
 * then costs O(k log m), plus O(m log m) once per message.
 */
struct headers_entry;
struct headers_index {
	struct proto_table	 headers;
	struct headers_entry	*v;
	size_t			 n;
	int			 state;	/* 0: unsorted, 1: sorted, 2: failed */
};
/* Allocates nothing; headers must outlive the index. */
void	headers_index_init(struct headers_index *ix,
	    struct proto_table headers);
void	headers_index_free(struct headers_index *ix);
/* headers_match() against the indexed headers. */
bool	headers_match_index(struct proto_table binding_args,
	    struct headers_index *ix);

/*
 * Checks x-match in binding_args: 0 if absent or a longstr holding one of
 * all, any, all-with-x, any-with-x; -1 otherwise. The caller closes the
 * channel with PRECONDITION_FAILED ("Invalid x-match field value ...", or
 * "Invalid x-match field type ..." when it is not a longstr).
 */
int	headers_check_args(struct proto_table binding_args);

/*
 * compat: RabbitMQ's value comparison for headers bindings (Erlang ==):
 * all integer kinds and timestamps compare by numeric value, floats
 * likewise and against integers too, S and x by bytes, decimals by scale
 * and value, tables and arrays bytewise, booleans only with booleans.
 */
bool	headers_value_equal(const struct proto_field *a,
	    const struct proto_field *b);

#endif /* WARREN_SERVER_ROUTE_HEADERS_H */
