/* row.c - header mapping and cell -> schema value conversion (see row.h). */
#include "producer/row.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The largest integer an xlsx number (a double) holds exactly with all its
 * neighbours: 2^53 - 1. From 2^53 on, the number read may not be the one
 * written (9007199254740993 reads as 9007199254740992), so it is refused. */
#define ROW_MAX_EXACT_INT 9007199254740991.0

void row_quote(const char *s, size_t len, size_t max_chars, char *out, size_t outlen) {
    size_t o = 0, i = 0;
    if (outlen == 0) return;
    while (i < len && i < max_chars && o + 5 < outlen) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (c >= 0x20 && c != 0x7F && (c < 0x80 || (i + n <= len && o + n < outlen &&
                                                     schema_utf8_valid(s + i, n)))) {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        } else {
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02X", c);
            i++;
        }
    }
    if (i < len && o + 4 <= outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o < outlen ? o : outlen - 1] = '\0';
}

/* The cell's text with surrounding spaces removed (header names). */
static void row_trim(const xlsx_cell *c, const char **s, size_t *len) {
    const char *p = c->str;
    size_t n = c->len;
    while (n && (*p == ' ' || *p == '\t')) p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    *s = p;
    *len = n;
}

/* Finds the schema column called s[0..len), or -1. */
static int row_field_by_name(const schema_record *rec, const char *s, size_t len) {
    for (size_t i = 0; i < rec->ncolumns; i++)
        if (strlen(rec->columns[i].name) == len && memcmp(rec->columns[i].name, s, len) == 0)
            return (int)i;
    return -1;
}

static int row_cell_empty(const xlsx_cell *c) {
    return c->type == XLSX_EMPTY || (c->type == XLSX_STRING && c->len == 0);
}

int row_is_empty(const xlsx_cell *cells, size_t ncells) {
    for (size_t i = 0; i < ncells; i++)
        if (!row_cell_empty(&cells[i])) return 0;
    return 1;
}

/* Maps each header cell to a field; fills m->field_of_col and col_of_field. */
static int row_map_header(row_map *m, const xlsx_cell *cells, char *err, size_t errlen) {
    const schema_record *rec = m->rec;
    for (size_t f = 0; f < rec->ncolumns; f++) m->col_of_field[f] = (size_t)-1;
    for (size_t col = 0; col < m->nheader; col++) {
        char cn[8], q[160];
        xlsx_column_name(col, cn, sizeof cn);
        m->field_of_col[col] = -1;
        if (row_cell_empty(&cells[col])) continue;
        if (cells[col].type != XLSX_STRING) {
            snprintf(err, errlen, "column %s: header cell is not text (expected a column name)", cn);
            return -1;
        }
        const char *s;
        size_t len;
        row_trim(&cells[col], &s, &len);
        row_quote(s, len, 64, q, sizeof q);
        int f = row_field_by_name(rec, s, len);
        if (f < 0) {
            snprintf(err, errlen, "column %s: unknown header column '%s' (record type %s)", cn, q,
                     rec->name);
            return -1;
        }
        if (m->col_of_field[f] != (size_t)-1) {
            char first[8];
            xlsx_column_name(m->col_of_field[f], first, sizeof first);
            snprintf(err, errlen, "column %s: duplicate header column '%s' (also in column %s)", cn,
                     q, first);
            return -1;
        }
        m->field_of_col[col] = f;
        m->col_of_field[f] = col;
    }
    for (size_t f = 0; f < rec->ncolumns; f++) {
        if (m->col_of_field[f] == (size_t)-1) {
            snprintf(err, errlen, "header lacks column '%s' (record type %s)",
                     rec->columns[f].name, rec->name);
            return -1;
        }
    }
    return 0;
}

int row_map_init(row_map *m, const schema_record *rec, const xlsx_cell *cells, size_t ncells,
                 char *err, size_t errlen) {
    memset(m, 0, sizeof *m);
    m->rec = rec;
    /* Trailing empty header cells do not widen the table. */
    while (ncells && row_cell_empty(&cells[ncells - 1])) ncells--;
    m->nheader = ncells;
    m->field_of_col = malloc((ncells ? ncells : 1) * sizeof *m->field_of_col);
    m->col_of_field = malloc(rec->ncolumns * sizeof *m->col_of_field);
    m->scratch = malloc(rec->ncolumns * sizeof *m->scratch);
    if (!m->field_of_col || !m->col_of_field || !m->scratch) {
        snprintf(err, errlen, "out of memory");
        row_map_free(m);
        return -1;
    }
    if (row_map_header(m, cells, err, errlen) != 0) {
        row_map_free(m);
        return -1;
    }
    return 0;
}

void row_map_free(row_map *m) {
    free(m->field_of_col);
    free(m->col_of_field);
    free(m->scratch);
    m->field_of_col = NULL;
    m->col_of_field = NULL;
    m->scratch = NULL;
}

/* What the column expects, for "expected X" messages. */
static const char *row_expected(schema_type t) {
    switch (t) {
    case SCHEMA_INT: return "an integer";
    case SCHEMA_REAL: return "a number";
    case SCHEMA_TEXT: return "text";
    case SCHEMA_DATETIME: return "a date";
    case SCHEMA_BOOL: return "a boolean";
    }
    return "a value";
}

/* Describes a cell for "got Y" messages: "text 'yesterday'", "number 1.5"... */
static void row_describe(const xlsx_cell *c, char *out, size_t outlen) {
    char q[200];
    switch (c->type) {
    case XLSX_EMPTY: snprintf(out, outlen, "an empty cell"); return;
    case XLSX_NUMBER: /* whole numbers in full: 9007199254740992, not 9.00719925474099e+15 */
        snprintf(out, outlen, floor(c->number) == c->number && fabs(c->number) < 1e19 ? "number %.0f"
                                                                                     : "number %.15g",
                 c->number);
        return;
    case XLSX_BOOL: snprintf(out, outlen, "boolean %s", c->number != 0 ? "TRUE" : "FALSE"); return;
    case XLSX_DATE: {
        char iso[ROW_SCRATCH];
        if (xlsx_date_to_iso(c->number, iso, sizeof iso) == 0)
            snprintf(out, outlen, "date %s", iso);
        else
            snprintf(out, outlen, "date serial %.15g", c->number);
        return;
    }
    case XLSX_STRING:
        row_quote(c->str, c->len, 40, q, sizeof q);
        snprintf(out, outlen, "text '%s'", q);
        return;
    case XLSX_ERROR:
        row_quote(c->str ? c->str : "", c->str ? c->len : 0, 40, q, sizeof q);
        snprintf(out, outlen, "error cell '%s'", q);
        return;
    }
    snprintf(out, outlen, "an unknown cell");
}

/* Converts one cell to a value of type t; scratch holds text made here.
 * Returns 0, or -1 if the cell's type does not fit the column. */
static int row_cell_value(schema_type t, const xlsx_cell *c, schema_value *v, char *scratch) {
    memset(v, 0, sizeof *v);
    if (row_cell_empty(c)) {
        v->is_null = true;
        return 0;
    }
    switch (t) {
    case SCHEMA_INT:
        if (c->type != XLSX_NUMBER || !isfinite(c->number) || floor(c->number) != c->number ||
            fabs(c->number) > ROW_MAX_EXACT_INT)
            return -1;
        v->i = (int64_t)c->number;
        return 0;
    case SCHEMA_REAL:
        if (c->type != XLSX_NUMBER || !isfinite(c->number)) return -1;
        v->d = c->number;
        return 0;
    case SCHEMA_TEXT:
        if (c->type == XLSX_STRING) {
            v->s = c->str;
            v->len = c->len;
            return 0;
        }
        if (c->type != XLSX_NUMBER || !isfinite(c->number)) return -1;
        v->len = (size_t)snprintf(scratch, ROW_SCRATCH, "%.15g", c->number);
        v->s = scratch;
        return 0;
    case SCHEMA_DATETIME:
        if (c->type == XLSX_DATE) {
            if (xlsx_date_to_iso(c->number, scratch, ROW_SCRATCH) != 0) return -1;
            v->s = scratch;
            v->len = strlen(scratch);
            return 0;
        }
        if (c->type != XLSX_STRING || !schema_datetime_valid(c->str, c->len)) return -1;
        v->s = c->str;
        v->len = c->len;
        return 0;
    case SCHEMA_BOOL:
        if (c->type == XLSX_BOOL || (c->type == XLSX_NUMBER && (c->number == 0 || c->number == 1))) {
            v->i = c->number != 0;
            return 0;
        }
        if (c->type == XLSX_STRING && (strcasecmp(c->str, "true") == 0 || strcasecmp(c->str, "false") == 0)) {
            v->i = strcasecmp(c->str, "true") == 0;
            return 0;
        }
        return -1;
    }
    return -1;
}

/* Reports a cell that does not fit its column. */
static void row_type_error(const schema_column *col, size_t colidx, const xlsx_cell *c, char *err,
                           size_t errlen) {
    char cn[8], got[256];
    xlsx_column_name(colidx, cn, sizeof cn);
    row_describe(c, got, sizeof got);
    const char *why = "";
    if (col->type == SCHEMA_DATETIME && c->type == XLSX_STRING) why = " (not ISO 8601)";
    else if (col->type == SCHEMA_DATETIME && c->type == XLSX_DATE) why = " (out of range)";
    else if (col->type == SCHEMA_INT && c->type == XLSX_NUMBER && floor(c->number) == c->number)
        why = " (beyond +-9007199254740991, where an xlsx number is no longer exact)";
    else if (col->type == SCHEMA_INT && c->type == XLSX_NUMBER) why = " (not a whole number)";
    snprintf(err, errlen, "column %s (%s): expected %s, got %s%s", cn, col->name,
             row_expected(col->type), got, why);
}

/* Reports a value schema_check_value() refused, without repeating the field name. */
static void row_check_error(const schema_column *col, size_t colidx, const char *reason,
                            char *err, size_t errlen) {
    char cn[8], prefix[96];
    xlsx_column_name(colidx, cn, sizeof cn);
    snprintf(prefix, sizeof prefix, "field '%s': ", col->name);
    if (strncmp(reason, prefix, strlen(prefix)) == 0) reason += strlen(prefix);
    snprintf(err, errlen, "column %s (%s): %s", cn, col->name, reason);
}

int row_convert(row_map *m, const xlsx_cell *cells, size_t ncells, schema_value *values,
                char *err, size_t errlen) {
    const schema_record *rec = m->rec;
    if (row_is_empty(cells, ncells)) {
        snprintf(err, errlen, "the row is empty");
        return -1;
    }
    for (size_t col = 0; col < ncells; col++) {
        if ((col >= m->nheader || m->field_of_col[col] < 0) && !row_cell_empty(&cells[col])) {
            char cn[8], got[256];
            xlsx_column_name(col, cn, sizeof cn);
            row_describe(&cells[col], got, sizeof got);
            snprintf(err, errlen, "column %s: %s in a column without a header", cn, got);
            return -1;
        }
    }
    static const xlsx_cell empty = {XLSX_EMPTY, 0, NULL, 0};
    for (size_t f = 0; f < rec->ncolumns; f++) {
        size_t col = m->col_of_field[f];
        const xlsx_cell *c = col < ncells ? &cells[col] : &empty;
        const schema_column *sc = &rec->columns[f];
        if (row_cell_value(sc->type, c, &values[f], m->scratch[f]) != 0) {
            row_type_error(sc, col, c, err, errlen);
            return -1;
        }
        char reason[512];
        if (schema_check_value(sc, &values[f], reason, sizeof reason) != 0) {
            row_check_error(sc, col, reason, err, errlen);
            return -1;
        }
    }
    return 0;
}
