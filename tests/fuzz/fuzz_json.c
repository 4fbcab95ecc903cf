#include "autoconf.h"

/*
 * libFuzzer target: the strict JSON reader (lib/json.c), which reads
 * definitions files and admin API bodies, and the writer that answers.
 *
 * Input: one selector byte, then the text. The selector's low 2 bits
 * pick the limits (tiny ones reach every "too deep / too long / too many"
 * branch, the defaults reach the rest).
 *
 * Invariants (any violation is __builtin_trap()):
 *  - a parsed document respects its limits: nesting, string lengths and
 *    the number of values;
 *  - the accessors agree: json_len counts what json_at / json_key_at /
 *    json_value_at reach, json_get finds each key of an object at its own
 *    position (keys are unique), scalars answer only their own type;
 *  - a refused document comes with an error message;
 *  - writing a parsed document back succeeds, and the text written parses
 *    to the same document (types, string bytes, keys in order, numbers
 *    equal as doubles, integers equal as int64).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/json.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

static const struct json_limits limits[4] = {
	{ 1 << 20, 64, 1 << 20, 100000 },	/* about the defaults */
	{ 1 << 20, 1, 8, 4 },			/* tiny: every cap trips */
	{ 1 << 20, 3, 64, 64 },
	{ 64, 64, 1 << 20, 100000 },		/* short input cap */
};

struct walk {
	const struct json_limits *lim;
	size_t	nodes;
};

/* Checks one value and what it holds; depth counts containers around it. */
static void
check_value(struct walk *wk, const struct json *j, size_t depth)
{
	enum json_type t = json_type(j);
	size_t len, n;
	const char *s;
	int64_t iv;

	wk->nodes++;
	CHECK(wk->nodes <= wk->lim->max_nodes);
	CHECK(json_type_name(t) != NULL);
	s = json_str(j, &len);
	CHECK((s != NULL) == (t == JSON_STRING));
	if (s != NULL) {
		CHECK(len <= wk->lim->max_string);
		CHECK(s[len] == '\0');
	}
	if (json_int(j, &iv))
		CHECK(t == JSON_NUMBER && json_is_integral(j));
	if (t != JSON_NUMBER)
		CHECK(json_num(j) == 0 && !json_is_integral(j));
	if (t != JSON_BOOL)
		CHECK(!json_bool(j));
	n = json_len(j);
	if (t != JSON_ARRAY && t != JSON_OBJECT) {
		CHECK(n == 0);
		return;
	}
	CHECK(depth < wk->lim->max_depth);
	if (t == JSON_ARRAY) {
		CHECK(json_at(j, n) == NULL);
		CHECK(json_key_at(j, 0, &len) == NULL);
		for (size_t i = 0; i < n; i++) {
			CHECK(json_at(j, i) != NULL);
			check_value(wk, json_at(j, i), depth + 1);
		}
		return;
	}
	CHECK(json_at(j, 0) == NULL);
	for (size_t i = 0; i < n; i++) {
		const char *k = json_key_at(j, i, &len);
		const struct json *v = json_value_at(j, i);

		CHECK(k != NULL && v != NULL);
		CHECK(len <= wk->lim->max_string && k[len] == '\0');
		/* json_get takes a C string: only keys without a NUL. */
		if (strlen(k) == len)
			CHECK(json_get(j, k) == v);
		check_value(wk, v, depth + 1);
	}
}


static void
check_same(const struct json *a, const struct json *b)
{
	size_t la, lb;
	const char *sa, *sb;
	int64_t ia, ib;

	CHECK(json_type(a) == json_type(b));
	CHECK(json_len(a) == json_len(b));
	switch (json_type(a)) {
	case JSON_NULL:
		break;
	case JSON_BOOL:
		CHECK(json_bool(a) == json_bool(b));
		break;
	case JSON_NUMBER:
		CHECK(json_num(a) == json_num(b));
		if (json_int(a, &ia))
			CHECK(json_int(b, &ib) && ia == ib);
		break;
	case JSON_STRING:
		sa = json_str(a, &la);
		sb = json_str(b, &lb);
		CHECK(la == lb && memcmp(sa, sb, la) == 0);
		break;
	case JSON_ARRAY:
		for (size_t i = 0; i < json_len(a); i++)
			check_same(json_at(a, i), json_at(b, i));
		break;
	case JSON_OBJECT:
		for (size_t i = 0; i < json_len(a); i++) {
			sa = json_key_at(a, i, &la);
			sb = json_key_at(b, i, &lb);
			CHECK(la == lb && memcmp(sa, sb, la) == 0);
			check_same(json_value_at(a, i), json_value_at(b, i));
		}
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct json_limits *lim;
	struct json *root, *again;
	struct json_writer w;
	struct walk wk;
	struct buf out;
	char err[256];

	if (size < 1)
		return 0;
	lim = &limits[data[0] & 3];
	data++;
	size--;
	err[0] = '\0';
	root = json_parse_limits((const char *)data, size, lim, err,
	    sizeof(err));
	if (root == NULL) {
		CHECK(err[0] != '\0');
		return 0;
	}
	wk.lim = lim;
	wk.nodes = 0;
	check_value(&wk, root, 0);

	/* Escapes take at most 6 bytes per input byte; numbers 25 each. */
	buf_init(&out, 32 * size + 64);
	json_writer_init(&w, &out);
	json_w_value(&w, root);
	CHECK(json_writer_done(&w) == 0);
	again = json_parse_limits((const char *)buf_head(&out), buf_used(&out),
	    &json_default_limits, err, sizeof(err));
	CHECK(again != NULL);
	check_same(root, again);
	json_free(again);
	buf_free(&out);
	json_free(root);
	return 0;
}
