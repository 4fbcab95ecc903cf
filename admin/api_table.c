#include "autoconf.h"

#include "admin/api_table.h"

#include "protocol/table.h"

static void	write_array(struct json_writer *, struct proto_table);

static void
write_field(struct json_writer *w, const struct proto_field *f)
{
	switch (f->kind) {
	case PROTO_FIELD_BOOL:
		json_w_bool(w, f->v.b);
		break;
	case PROTO_FIELD_I8:
	case PROTO_FIELD_I16:
	case PROTO_FIELD_I32:
	case PROTO_FIELD_I64:
		json_w_int(w, f->v.i);
		break;
	case PROTO_FIELD_U8:
	case PROTO_FIELD_U16:
	case PROTO_FIELD_U32:
	case PROTO_FIELD_U64:
	case PROTO_FIELD_TIMESTAMP:
		json_w_uint(w, f->v.u);
		break;
	case PROTO_FIELD_F32:
		json_w_double(w, (double)f->v.f32);
		break;
	case PROTO_FIELD_F64:
		json_w_double(w, f->v.f64);
		break;
	case PROTO_FIELD_DECIMAL: {
		double d = (double)f->v.dec.value;

		for (unsigned i = 0; i < f->v.dec.scale; i++)
			d /= 10.0;
		json_w_double(w, d);
		break;
	}
	case PROTO_FIELD_LONGSTR:
	case PROTO_FIELD_BYTES:
		/* Invalid UTF-8 comes out as U+FFFD (lib/json.c). */
		json_w_string(w, (const char *)f->v.str.p, f->v.str.len);
		break;
	case PROTO_FIELD_TABLE:
		api_write_table(w, f->v.table);
		break;
	case PROTO_FIELD_ARRAY:
		write_array(w, f->v.table);
		break;
	default:
		json_w_null(w);
		break;
	}
}

static void
write_array(struct json_writer *w, struct proto_table a)
{
	struct proto_table_iter it;
	struct proto_field f;

	json_w_begin_array(w);
	proto_table_iter_init(&it, a);
	while (proto_array_next(&it, &f))
		write_field(w, &f);
	json_w_end_array(w);
}

void
api_write_table(struct json_writer *w, struct proto_table t)
{
	struct proto_table_iter it;
	struct proto_str key;
	struct proto_field f;

	json_w_begin_object(w);
	proto_table_iter_init(&it, t);
	while (proto_table_next(&it, &key, &f)) {
		json_w_key(w, (const char *)key.p, key.len);
		write_field(w, &f);
	}
	json_w_end_object(w);
}
