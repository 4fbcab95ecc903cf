/*
 * AMQP field tables as JSON, the way RabbitMQ's management API shows
 * them (client properties, consumer arguments): strings as strings,
 * numbers and timestamps as numbers, tables as objects, arrays as arrays,
 * void as null.
 */
#ifndef WARREN_ADMIN_API_TABLE_H
#define WARREN_ADMIN_API_TABLE_H

#include "lib/json.h"
#include "protocol/wire.h"

/* Writes a validated table as a JSON object (an empty one if t is empty). */
void	api_write_table(struct json_writer *w, struct proto_table t);

#endif /* WARREN_ADMIN_API_TABLE_H */
