/* row.h - maps xlsx rows onto a record type: the header row names the
 * fields, each data row's cells become typed schema values.
 *
 * Reasons returned in err are one line and name the column, e.g.
 * "column C (collected_at): expected a date, got text 'yesterday'"; the
 * caller prefixes file, sheet and row. */
#ifndef GK_PRODUCER_ROW_H
#define GK_PRODUCER_ROW_H
#include "schema/schema.h"
#include "xlsx/xlsx.h"

#include <stddef.h>

#define ROW_SCRATCH 48 /* room for %.15g or an ISO datetime with milliseconds */

typedef struct {
    const schema_record *rec;
    size_t nheader;       /* sheet columns covered by the header row */
    int *field_of_col;    /* sheet column -> schema column index, -1 if its header is empty */
    size_t *col_of_field; /* schema column -> sheet column */
    char (*scratch)[ROW_SCRATCH]; /* per schema column: text made from a number or date */
} row_map;

/* Builds the mapping from the header row. Every schema column must appear
 * exactly once (surrounding spaces are ignored); an unknown or duplicate name
 * or a header cell that is not text is an error. Empty header cells are
 * allowed as long as no data row has a value below them.
 * Returns 0, or -1 with a reason in err (m then needs no row_map_free). */
int row_map_init(row_map *m, const schema_record *rec, const xlsx_cell *cells, size_t ncells,
                 char *err, size_t errlen);

/* Returns 1 if every cell is empty (no value, or a zero-length string). */
int row_is_empty(const xlsx_cell *cells, size_t ncells);

/* Converts one data row into values[0..rec->ncolumns) and checks each value
 * with schema_check_value(). Text values borrow from cells (valid until the
 * next xlsx_next_row) or from m's scratch space (valid until the next call).
 * A row whose cells are all empty is an error ("the row is empty").
 * Returns 0, or -1 with a one-line reason in err. */
int row_convert(row_map *m, const xlsx_cell *cells, size_t ncells, schema_value *values,
                char *err, size_t errlen);

/* Frees the mapping. */
void row_map_free(row_map *m);

/* Writes s as a short, printable, single-line quotation for error messages:
 * at most max_chars bytes of the text, control and non-UTF-8 bytes as \xNN,
 * "..." when cut. */
void row_quote(const char *s, size_t len, size_t max_chars, char *out, size_t outlen);

#endif
