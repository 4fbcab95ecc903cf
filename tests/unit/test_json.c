#include "autoconf.h"

/* Unit tests for the strict JSON reader and the writer (lib/json.c). */
#include <criterion/criterion.h>

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/json.h"

static char	err[256];

static struct json *
parse(const char *s)
{
	return json_parse(s, strlen(s), err, sizeof(err));
}

/* Asserts that s is rejected and the message mentions what. */
static void
rejects(const char *s, const char *what)
{
	struct json	*j = parse(s);

	cr_assert_null(j, "accepted %s", s);
	cr_assert(strstr(err, what) != NULL, "for %s: \"%s\" lacks \"%s\"",
	    s, err, what);
}

Test(json, parses_a_nested_document)
{
	struct json		*j;
	const struct json	*a, *v;
	size_t			 len;
	int64_t			 i;

	j = parse(" {\"a\": [1, -2.5, true, false, null, \"x\"],\n"
	    " \"o\": {\"k\": {}} , \"e\": []}\r\n\t");
	cr_assert_not_null(j, "%s", err);
	cr_assert_eq(json_type(j), JSON_OBJECT);
	cr_assert_eq(json_len(j), 3);
	cr_assert_str_eq(json_key_at(j, 1, &len), "o");
	cr_assert_eq(len, 1);
	a = json_get(j, "a");
	cr_assert_eq(json_type(a), JSON_ARRAY);
	cr_assert_eq(json_len(a), 6);
	cr_assert(json_int(json_at(a, 0), &i));
	cr_assert_eq(i, 1);
	cr_assert_not(json_int(json_at(a, 1), &i));
	cr_assert_eq(json_num(json_at(a, 1)), -2.5);
	cr_assert(json_bool(json_at(a, 2)));
	cr_assert_eq(json_type(json_at(a, 3)), JSON_BOOL);
	cr_assert_not(json_bool(json_at(a, 3)));
	cr_assert_eq(json_type(json_at(a, 4)), JSON_NULL);
	cr_assert_str_eq(json_str(json_at(a, 5), NULL), "x");
	cr_assert_null(json_at(a, 6));
	v = json_get(json_get(j, "o"), "k");
	cr_assert_eq(json_type(v), JSON_OBJECT);
	cr_assert_eq(json_len(v), 0);
	cr_assert_eq(json_len(json_get(j, "e")), 0);
	cr_assert_null(json_get(j, "missing"));
	cr_assert_null(json_get(a, "a"), "json_get on an array");
	cr_assert_eq(json_value_at(j, 2), json_get(j, "e"));
	json_free(j);
}

Test(json, parses_scalars_at_the_top_level)
{
	struct json	*j;

	cr_assert_not_null(j = parse("\"s\""));
	cr_assert_str_eq(json_str(j, NULL), "s");
	json_free(j);
	cr_assert_not_null(j = parse(" 0 "));
	json_free(j);
	cr_assert_not_null(j = parse("null"));
	cr_assert_eq(json_type(j), JSON_NULL);
	json_free(j);
}

Test(json, integers_keep_an_exact_int64)
{
	struct json	*j;
	int64_t		 i;

	cr_assert_not_null(j = parse("9223372036854775807"));
	cr_assert(json_int(j, &i));
	cr_assert_eq(i, INT64_MAX);
	json_free(j);
	cr_assert_not_null(j = parse("-9223372036854775808"));
	cr_assert(json_int(j, &i));
	cr_assert_eq(i, INT64_MIN);
	json_free(j);
	cr_assert_not_null(j = parse("-0"));
	cr_assert(json_int(j, &i));
	cr_assert_eq(i, 0);
	json_free(j);
}

Test(json, huge_numbers_are_doubles_not_ints)
{
	struct json	*j;
	int64_t		 i;

	cr_assert_not_null(j = parse("9223372036854775808"));
	cr_assert_not(json_int(j, &i));
	cr_assert(json_is_integral(j));
	cr_assert_eq(json_num(j), 9223372036854775808.0);
	json_free(j);
	cr_assert_not_null(j = parse("123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"));
	cr_assert_not(json_int(j, &i));
	cr_assert(json_num(j) > 1e78);
	json_free(j);
	cr_assert_not_null(j = parse("1e3"));
	cr_assert_not(json_int(j, &i), "an exponent makes it a double");
	cr_assert_not(json_is_integral(j));
	cr_assert_eq(json_num(j), 1000.0);
	json_free(j);
	cr_assert_not_null(j = parse("1E-400"), "underflow is fine: %s", err);
	cr_assert(json_num(j) >= 0 && json_num(j) < 1e-300);
	json_free(j);
}

Test(json, rejects_numbers_that_overflow_a_double)
{
	rejects("1e400", "line 1 col 1: number out of range");
	rejects("[-1.5e999]", "out of range");
}

Test(json, rejects_leading_zeros_and_bad_numbers)
{
	rejects("01", "leading zero");
	rejects("[-01]", "leading zero");
	rejects("1.", "digit after '.'");
	rejects(".5", "unexpected '.'");
	rejects("1e", "digit in exponent");
	rejects("+1", "unexpected '+'");
	rejects("-", "invalid number");
	rejects("0x10", "trailing data");
	rejects("NaN", "unexpected 'N'");
	rejects("Infinity", "unexpected 'I'");
}

Test(json, rejects_trailing_garbage)
{
	rejects("{} x", "line 1 col 4: trailing data");
	rejects("[1]]", "trailing data");
	rejects("1 2", "trailing data");
	rejects("{}\n\n  {", "line 3 col 3: trailing data");
}

Test(json, rejects_structural_errors)
{
	rejects("", "unexpected end of input");
	rejects("   ", "unexpected end of input");
	rejects("[1,]", "unexpected ']'");
	rejects("[1 2]", "expected ',' or ']'");
	rejects("{\"a\":1,}", "expected a string key");
	rejects("{\"a\" 1}", "expected ':'");
	rejects("{a:1}", "expected a string key");
	rejects("{\"a\":1", "unexpected end of input");
	rejects("[", "unexpected end of input");
	rejects("tru", "unexpected 't'");
	rejects("nul", "unexpected 'n'");
	rejects("[1]\v", "trailing data");
	rejects("\xef\xbb\xbf{}", "unexpected byte 0xef");
}

Test(json, rejects_duplicate_keys)
{
	rejects("{\"a\":1,\"b\":2,\"a\":3}", "col 14: duplicate key \"a\"");
}

Test(json, rejects_duplicates_among_many_keys_quickly)
{
	size_t		 n = 100000, i, len = 0, cap = n * 16 + 16;
	char		*s = malloc(cap);
	struct json	*j;

	s[len++] = '{';
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s\"k%zu\":0",
		    i ? "," : "", i);
	s[len++] = '}';
	j = json_parse(s, len, err, sizeof(err));
	cr_assert_not_null(j, "%s", err);
	cr_assert_eq(json_len(j), n);
	json_free(j);
	len--;
	len += (size_t)snprintf(s + len, cap - len, ",\"k77\":1}");
	cr_assert_null(json_parse(s, len, err, sizeof(err)));
	cr_assert(strstr(err, "duplicate key \"k77\"") != NULL, "%s", err);
	free(s);
}

Test(json, decodes_escapes)
{
	struct json	*j;
	const char	*s;
	size_t		 len;

	j = parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20AC"
	    "\\ud83d\\ude00\"");
	cr_assert_not_null(j, "%s", err);
	s = json_str(j, &len);
	cr_assert_eq(len, 22);
	cr_assert_arr_eq(s, "a\"b\\c/d\b\f\n\r\tA\xc3\xa9\xe2\x82\xac"
	    "\xf0\x9f\x98\x80", 22);
	cr_assert_eq(s[len], '\0');
	json_free(j);
}

Test(json, nul_only_through_u0000_with_explicit_length)
{
	struct json	*j;
	const char	*s;
	size_t		 len;

	cr_assert_not_null(j = parse("\"a\\u0000b\""), "%s", err);
	s = json_str(j, &len);
	cr_assert_eq(len, 3);
	cr_assert_arr_eq(s, "a\0b", 3);
	json_free(j);
	cr_assert_null(json_parse("\"a\0b\"", 5, err, sizeof(err)));
	cr_assert(strstr(err, "col 3: unescaped control character 0x00") !=
	    NULL, "%s", err);
}

Test(json, rejects_bad_escapes_and_control_characters)
{
	rejects("\"\\x41\"", "col 2: invalid escape");
	rejects("\"\\u12\"", "invalid \\u escape");
	rejects("\"\\u12G4\"", "invalid \\u escape");
	rejects("\"\\U0041\"", "invalid escape");
	rejects("\"\\'\"", "invalid escape");
	rejects("\"a\tb\"", "unescaped control character 0x09");
	rejects("\"a\nb\"", "unescaped control character 0x0a");
	rejects("\"abc", "unterminated string");
	rejects("\"abc\\\"", "unterminated string");
}

Test(json, rejects_lone_surrogates)
{
	rejects("\"\\uD800\"", "lone high surrogate \\uD800");
	rejects("\"\\uD800x\"", "lone high surrogate");
	rejects("\"\\uD800\\u0041\"", "lone high surrogate");
	rejects("\"\\uDBFF\\uDBFF\"", "lone high surrogate");
	rejects("\"\\uDC00\"", "lone low surrogate \\uDC00");
	rejects("\"\\ude00\\ud83d\"", "lone low surrogate");
}

Test(json, rejects_invalid_utf8)
{
	rejects("\"\x80\"", "col 2: invalid UTF-8");
	rejects("\"\xc0\xaf\"", "invalid UTF-8");		/* overlong '/' */
	rejects("\"\xc1\xbf\"", "invalid UTF-8");		/* overlong */
	rejects("\"\xe0\x80\xaf\"", "invalid UTF-8");	/* overlong */
	rejects("\"\xed\xa0\x80\"", "invalid UTF-8");	/* surrogate D800 */
	rejects("\"\xf4\x90\x80\x80\"", "invalid UTF-8");	/* > U+10FFFF */
	rejects("\"\xf5\x80\x80\x80\"", "invalid UTF-8");
	rejects("\"\xe2\x82\"", "invalid UTF-8");		/* truncated */
	rejects("\"\xff\"", "invalid UTF-8");
}

Test(json, accepts_valid_utf8)
{
	struct json	*j;
	size_t		 len;

	j = parse("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"
	    "\xed\x9f\xbf\"");
	cr_assert_not_null(j, "%s", err);
	json_str(j, &len);
	cr_assert_eq(len, 16);
	json_free(j);
}

Test(json, depth_bomb_fails_fast)
{
	size_t		 n = 100000;
	char		*s = malloc(n);
	struct json	*j;

	memset(s, '[', n);
	j = json_parse(s, n, err, sizeof(err));
	cr_assert_null(j);
	cr_assert_str_eq(err, "line 1 col 65: nested deeper than 64");
	free(s);
}

Test(json, depth_limit_is_exact)
{
	char		 s[200];
	struct json	*j;

	memset(s, '[', 64);
	memset(s + 64, ']', 64);
	j = json_parse(s, 128, err, sizeof(err));
	cr_assert_not_null(j, "%s", err);
	json_free(j);
	memset(s, '[', 65);
	memset(s + 65, ']', 65);
	cr_assert_null(json_parse(s, 130, err, sizeof(err)));
}

Test(json, limits_input_strings_and_nodes)
{
	struct json_limits	lim = json_default_limits;

	lim.max_input = 4;
	cr_assert_null(json_parse_limits("[1,2]", 5, &lim, err, sizeof(err)));
	cr_assert_str_eq(err, "line 1 col 1: input larger than 4 bytes");

	lim = json_default_limits;
	lim.max_string = 3;
	cr_assert_null(json_parse_limits("\"abcd\"", 6, &lim, err,
	    sizeof(err)));
	cr_assert(strstr(err, "string longer than 3 bytes") != NULL, "%s",
	    err);
	cr_assert_null(json_parse_limits("{\"abcd\":1}", 10, &lim, err,
	    sizeof(err)), "keys count too");
	json_free(json_parse_limits("\"abc\"", 5, &lim, err, sizeof(err)));

	lim = json_default_limits;
	lim.max_nodes = 3;
	cr_assert_null(json_parse_limits("[1,2,3]", 7, &lim, err,
	    sizeof(err)));
	cr_assert(strstr(err, "more than 3 values") != NULL, "%s", err);
	json_free(json_parse_limits("[1,2]", 5, &lim, err, sizeof(err)));
}

Test(json, error_positions_count_lines_and_columns)
{
	rejects("{\n  \"a\": 1,\n  \"b\": x\n}", "line 3 col 8: unexpected 'x'");
}

Test(json, accessors_tolerate_wrong_types)
{
	struct json	*j = parse("[\"s\"]");
	int64_t		 i;

	cr_assert_null(json_str(j, NULL));
	cr_assert_not(json_bool(j));
	cr_assert_not(json_int(j, &i));
	cr_assert_eq(json_num(j), 0);
	cr_assert_null(json_key_at(j, 0, NULL));
	cr_assert_null(json_value_at(j, 0));
	cr_assert_eq(json_len(json_at(j, 0)), 0);
	json_free(j);
	json_free(NULL);
}

/* ---- writer ------------------------------------------------------------ */

static struct buf	out;

static void
wsetup(void)
{
	buf_init(&out, 4096);
}

static void
wteardown(void)
{
	buf_free(&out);
}

static void
assert_output(const struct json_writer *w, const char *want)
{
	cr_assert_eq(json_writer_done(w), 0);
	cr_assert_eq(buf_used(&out), strlen(want), "got %.*s",
	    (int)buf_used(&out), (const char *)buf_head(&out));
	cr_assert_arr_eq(buf_head(&out), want, strlen(want));
}

TestSuite(json_writer, .init = wsetup, .fini = wteardown);

Test(json_writer, writes_nested_values_with_commas)
{
	struct json_writer	w;

	json_writer_init(&w, &out);
	json_w_begin_object(&w);
	json_w_keyc(&w, "a");
	json_w_begin_array(&w);
	json_w_int(&w, -5);
	json_w_uint(&w, UINT64_MAX);
	json_w_bool(&w, true);
	json_w_null(&w);
	json_w_begin_object(&w);
	json_w_end_object(&w);
	json_w_begin_array(&w);
	json_w_end_array(&w);
	json_w_end_array(&w);
	json_w_keyc(&w, "d");
	json_w_double(&w, 0.1);
	json_w_keyc(&w, "inf");
	json_w_double(&w, INFINITY);
	json_w_keyc(&w, "s");
	json_w_stringc(&w, "x");
	json_w_end_object(&w);
	assert_output(&w, "{\"a\":[-5,18446744073709551615,true,null,{},[]],"
	    "\"d\":0.1,\"inf\":null,\"s\":\"x\"}");
}

Test(json_writer, escapes_quotes_backslashes_and_controls)
{
	struct json_writer	w;

	json_writer_init(&w, &out);
	json_w_string(&w, "\"\\/\b\f\n\r\t\x01\x1f\0\x7f", 12);
	assert_output(&w, "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u0000"
	    "\x7f\"");
}

Test(json_writer, passes_utf8_and_replaces_invalid_bytes)
{
	struct json_writer	w;

	json_writer_init(&w, &out);
	json_w_stringc(&w, "\xc3\xa9 \xe9 \xed\xa0\x80 \xf0\x9f\x98\x80 \xc3");
	assert_output(&w, "\"\xc3\xa9 \\ufffd \\ufffd\\ufffd\\ufffd "
	    "\xf0\x9f\x98\x80 \\ufffd\"");
}

Test(json_writer, output_parses_back)
{
	struct json_writer	 w;
	struct json		*j;
	size_t			 len;
	const char		*s;

	json_writer_init(&w, &out);
	json_w_begin_object(&w);
	json_w_key(&w, "k\0\"", 3);
	json_w_string(&w, "v\0\xff", 3);
	json_w_keyc(&w, "n");
	json_w_double(&w, 1.0 / 3);
	json_w_end_object(&w);
	cr_assert_eq(json_writer_done(&w), 0);
	j = json_parse((const char *)buf_head(&out), buf_used(&out), err,
	    sizeof(err));
	cr_assert_not_null(j, "%s", err);
	s = json_key_at(j, 0, &len);
	cr_assert_eq(len, 3);
	cr_assert_arr_eq(s, "k\0\"", 3);
	s = json_str(json_value_at(j, 0), &len);
	cr_assert_eq(len, 5);
	cr_assert_arr_eq(s, "v\0\xef\xbf\xbd", 5);
	cr_assert_eq(json_num(json_get(j, "n")), 1.0 / 3);
	json_free(j);
}

Test(json_writer, misuse_is_reported)
{
	struct json_writer	w;

	json_writer_init(&w, &out);
	json_w_begin_object(&w);
	json_w_int(&w, 1);		/* value without a key */
	json_w_end_object(&w);
	cr_assert_eq(json_writer_done(&w), -1);

	json_writer_init(&w, &out);
	json_w_begin_array(&w);
	json_w_end_object(&w);		/* wrong closer */
	cr_assert_eq(json_writer_done(&w), -1);

	json_writer_init(&w, &out);
	json_w_begin_array(&w);		/* never closed */
	cr_assert_eq(json_writer_done(&w), -1);

	json_writer_init(&w, &out);
	json_w_int(&w, 1);
	json_w_int(&w, 2);		/* two top-level values */
	cr_assert_eq(json_writer_done(&w), -1);

	json_writer_init(&w, &out);
	cr_assert_eq(json_writer_done(&w), -1, "nothing written");
}

Test(json_writer, depth_is_limited)
{
	struct json_writer	w;
	int			i;

	json_writer_init(&w, &out);
	for (i = 0; i < JSON_WRITER_MAX_DEPTH; i++)
		json_w_begin_array(&w);
	for (i = 0; i < JSON_WRITER_MAX_DEPTH; i++)
		json_w_end_array(&w);
	cr_assert_eq(json_writer_done(&w), 0);
	buf_free(&out);
	buf_init(&out, 4096);
	json_writer_init(&w, &out);
	for (i = 0; i <= JSON_WRITER_MAX_DEPTH; i++)
		json_w_begin_array(&w);
	cr_assert_eq(json_writer_done(&w), -1);
}

Test(json_writer, full_buffer_is_an_error)
{
	struct json_writer	w;

	buf_free(&out);
	buf_init(&out, 8);
	json_writer_init(&w, &out);
	json_w_stringc(&w, "0123456789");
	cr_assert_eq(json_writer_done(&w), -1);
}
