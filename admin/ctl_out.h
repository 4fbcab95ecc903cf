/*
 * warrenctl's output: prints what the management API returned as an aligned
 * table, as JSON or as TSV.
 *
 * Listings stream page by page: ctl_out_begin, one ctl_out_rows per page of
 * the API's answer, ctl_out_end. Memory stays bounded by one page: a table
 * sizes its columns from the FIRST page only (from the titles alone if that
 * page is empty). With a width limit, later text values wider than their
 * column are cut with an ellipsis like the first page's; with no limit
 * (width 0) nothing is ever cut and a wider later value only pushes its row
 * out of line. Numbers are never cut: a shortened number would be wrong.
 *
 * Values in a table and in TSV: strings as they are with control characters
 * escaped (a queue name cannot move the cursor or change colours),
 * integers as integers, other numbers with 2 decimals below 1, 1 below 10
 * and none from 10 (compat: the management UI's rate format) in a table and
 * in their shortest exact form in TSV, booleans true/false, null or missing
 * as nothing, arrays and objects as compact JSON. Table columns holding
 * only numbers are right-aligned. A table never ends a line in blanks.
 *
 * Escapes, so that a row is one line and a name cannot move the cursor or
 * change colours: \t \n \r, other C0 controls, DEL and invalid UTF-8 as
 * \xHH, C1, line-separator and bidi controls as \uXXXX; TSV also writes a
 * backslash as \\ so that it reads back unambiguously.
 */
#ifndef WARREN_ADMIN_CTL_OUT_H
#define WARREN_ADMIN_CTL_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct json;	/* lib/json.h */

enum ctl_format { CTL_FMT_TABLE, CTL_FMT_JSON, CTL_FMT_TSV };

/* path: a dotted JSON path, "message_stats.publish_details.rate". */
struct ctl_column {
	const char	*title;
	const char	*path;
};

struct ctl_out_opts {
	enum ctl_format	 fmt;
	int		 width;		/* terminal columns; 0 = no limit */
	bool		 color;		/* bold table header */
	const char	*columns;	/* --columns a,b.c or NULL */
	bool		 no_header;	/* TSV without its title line
					   (rabbitmqctl --no-table-headers) */
};

struct ctl_out;

/*
 * Starts a listing on f with the default columns cols (borrowed until
 * ctl_out_end), replaced by o->columns when that is set; with neither
 * (ncols 0), the columns are the first row's keys. JSON output starts
 * with "[" here. NULL if o->columns is malformed (check it first with
 * ctl_out_parse_columns to tell the user why).
 */
struct ctl_out	*ctl_out_begin(FILE *f, const struct ctl_column *cols,
		    size_t ncols, const struct ctl_out_opts *o);
/* Prints one page of rows (the caller may free it on return); 0, or -1
 * on a write error or when it is not an array. */
int		 ctl_out_rows(struct ctl_out *out,
		    const struct json *array_of_objects);
/* Ends the listing, flushes f and frees out; 0 or -1 on a write error. */
int		 ctl_out_end(struct ctl_out *out);

/*
 * One object: a table of two columns (title, value) without a header,
 * "title<TAB>value" lines in TSV, the object in JSON (only the selected
 * columns when o->columns is set). With no columns (ncols 0 and no
 * o->columns), every member of obj. 0, or -1 on a write error or
 * malformed o->columns.
 */
int		 ctl_out_object(FILE *f, const struct json *obj,
		    const struct ctl_column *cols, size_t ncols,
		    const struct ctl_out_opts *o);

/*
 * Parses --columns: comma-separated dotted paths, spaces around each
 * ignored. NULL on success with *cols (one allocation, free() it; title
 * and path point into it) and *ncols set; else a message for the user,
 * "empty column name in --columns", and *cols is NULL.
 */
const char	*ctl_out_parse_columns(const char *spec,
		    struct ctl_column **cols, size_t *ncols);

/* COLUMNS if it is a positive number, else TIOCGWINSZ, else 0 when fd is
 * not a terminal. */
int		 ctl_out_terminal_width(int fd);
/* isatty(fd) and NO_COLOR unset or empty (https://no-color.org). */
bool		 ctl_out_want_color(int fd);

#endif /* WARREN_ADMIN_CTL_OUT_H */
