/* reader.c - the per-file reading thread (see reader.h). */
#include "producer/reader.h"

#include "common/log.h"
#include "producer/idset.h"
#include "producer/report.h"
#include "producer/row.h"
#include "producer/sender.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Everything one reading thread needs besides its file. */
typedef struct {
    producer_file *f;
    producer_run *run;
    row_map map;
    int have_map;
    uint32_t last_nonempty; /* the header or the last data row with a value */
    schema_value *values;
    idset ids;
    pace pace;
    char json[SCHEMA_MAX_MESSAGE_BYTES + 1]; /* the row being sent: reused, no malloc per row */
} reader;

/* Prints one problem of row (or rows first..last) as one line:
 * "producer: FILE: sheet 'S' row R column C (name): reason". */
static void reader_report(const reader *r, uint32_t first, uint32_t last, const char *reason,
                          int skipped) {
    const char *sep = strncmp(reason, "column ", 7) == 0 ? " " : ": ";
    char rows[48];
    if (first == last) snprintf(rows, sizeof rows, "row %u", first);
    else snprintf(rows, sizeof rows, "rows %u-%u", first, last);
    report_error("%s: sheet '%s' %s%s%s%s", r->f->path, xlsx_sheet_name(r->f->xr), rows, sep,
                 reason, skipped ? " (skipped)" : "");
}

/* Handles invalid rows first..last. With --skip-invalid they are reported and
 * counted, and reading goes on (returns 0); otherwise the whole run stops
 * (returns -1). */
static int reader_bad(reader *r, uint32_t first, uint32_t last, const char *reason) {
    producer_file *f = r->f;
    if (r->run->skip_invalid) {
        reader_report(r, first, last, reason, 1);
        f->skipped += last - first + 1;
        return 0;
    }
    reader_report(r, first, last, reason, 0);
    f->state = FILE_BAD_ROW;
    f->bad_row = first;
    atomic_store(&r->run->stop, 1);
    return -1;
}

/* Checks that the event id was not seen before in this file. Returns 0, or
 * -1 with a reason in err. */
static int reader_check_dup(reader *r, uint32_t row, char *err, size_t errlen) {
    uint32_t first = 0;
    int64_t id = r->values[0].i;
    int rc = idset_add(&r->ids, id, row, &first);
    if (rc == 0) return 0;
    char cn[8];
    xlsx_column_name(r->map.col_of_field[0], cn, sizeof cn);
    if (rc < 0)
        snprintf(err, errlen, "out of memory tracking event ids");
    else
        snprintf(err, errlen, "column %s (%s): duplicate event id %lld (first in row %u)", cn,
                 SCHEMA_EVENT_ID, (long long)id, first);
    return -1;
}

/* Validates, encodes, paces and sends one data row. Returns 0 to go on, -1
 * to stop reading (f->state says why). */
static int reader_row(reader *r, const xlsx_cell *cells, size_t ncells, uint32_t row) {
    producer_file *f = r->f;
    char err[1024];
    if (row_convert(&r->map, cells, ncells, r->values, err, sizeof err) != 0 ||
        reader_check_dup(r, row, err, sizeof err) != 0)
        return reader_bad(r, row, row, err);
    size_t len = 0;
    if (schema_encode_json_buf(f->rec, r->values, r->json, sizeof r->json, &len) != 0) {
        /* row_convert checked every value: this is a bug, not bad input. */
        reader_report(r, row, row, "internal error: a checked value cannot be encoded", 0);
        f->state = FILE_INTERNAL;
        atomic_store(&r->run->stop, 1);
        return -1;
    }
    if (len > SCHEMA_MAX_MESSAGE_BYTES) {
        snprintf(err, sizeof err, "the row encodes to %zu bytes of JSON, more than the limit of %d",
                 len, SCHEMA_MAX_MESSAGE_BYTES);
        return reader_bad(r, row, row, err);
    }
    if (pace_wait(&r->pace, &r->run->stop) != 0) {
        f->state = FILE_STOPPED;
        return -1;
    }
    int rc = sender_send(r->run->snd, f, row, r->values[0].i, r->json, len, &r->run->stop, err,
                         sizeof err);
    if (rc == 1) {
        f->state = FILE_STOPPED;
        return -1;
    }
    if (rc < 0) log_debug("%s row %u: %s", f->path, row, err); /* accounted as failed */
    f->sent++;
    f->last_sent = row;
    return 0;
}

/* Handles one row as read from the sheet: the header until there is one,
 * then data rows. Empty rows (rows of empty cells, or rows the sheet does not
 * have at all) between data rows are invalid; they are only known to be
 * between data rows when the next non-empty row comes, so they are reported
 * then. Empty rows after the last data row are the end of the data. */
static int reader_step(reader *r, const xlsx_cell *cells, size_t ncells, uint32_t row) {
    producer_file *f = r->f;
    char err[1024];
    f->last_read = row;
    if (row_is_empty(cells, ncells)) return 0;
    if (!r->have_map) {
        if (row_map_init(&r->map, f->rec, cells, ncells, err, sizeof err) != 0) {
            reader_report(r, row, row, err, 0);
            f->state = FILE_BAD_ROW;
            f->bad_row = row;
            atomic_store(&r->run->stop, 1);
            return -1;
        }
        r->have_map = 1;
        r->last_nonempty = row;
        return 0;
    }
    uint32_t gap_first = r->last_nonempty + 1;
    r->last_nonempty = row;
    if (row > gap_first &&
        reader_bad(r, gap_first, row - 1, row - 1 > gap_first ? "the rows are empty" : "the row is empty") != 0)
        return -1;
    return reader_row(r, cells, ncells, row);
}

/* Frees what reader_init made. */
static void reader_done(reader *r) {
    if (r->have_map) row_map_free(&r->map);
    free(r->values);
    idset_free(&r->ids);
}

void *reader_main(void *arg) {
    producer_file *f = arg;
    reader r = {.f = f, .run = f->run};
    idset_init(&r.ids);
    /* Same seed and start in every thread: the files send in step. */
    if (r.run->curve) pace_init_curve(&r.pace, r.run->curve, r.run->seed, r.run->start_ns);
    else pace_init(&r.pace, r.run->rate, r.run->arrivals, r.run->seed, r.run->start_ns);
    r.values = calloc(f->rec->ncolumns, sizeof *r.values);
    f->state = r.values ? FILE_PENDING : FILE_INTERNAL;
    while (f->state == FILE_PENDING) {
        const xlsx_cell *cells;
        size_t ncells;
        unsigned row;
        if (atomic_load(&r.run->stop)) {
            f->state = FILE_STOPPED;
            break;
        }
        int rc = xlsx_next_row(f->xr, &cells, &ncells, &row);
        if (rc < 0) {
            report_error("%s", xlsx_error(f->xr));
            f->state = FILE_READ_ERROR; /* the reader's error names the exact place */
            atomic_store(&r.run->stop, 1);
        } else if (rc == 0) {
            f->state = FILE_DONE;
        } else {
            reader_step(&r, cells, ncells, row);
        }
    }
    if (f->state == FILE_DONE && r.have_map && f->last_read > r.last_nonempty)
        log_debug("%s: rows %u-%u after the data are empty: ignored", f->path, r.last_nonempty + 1,
                  f->last_read);
    if (f->state == FILE_DONE && !r.have_map) {
        report_error("%s: sheet '%s': no header row (the sheet is empty)", f->path,
                     xlsx_sheet_name(f->xr));
        f->state = FILE_BAD_ROW;
        f->bad_row = 1;
        atomic_store(&r.run->stop, 1);
    }
    if (f->state == FILE_INTERNAL) atomic_store(&r.run->stop, 1);
    reader_done(&r);
    atomic_store(&f->finished, 1);
    atomic_fetch_sub(&r.run->running, 1);
    return NULL;
}
