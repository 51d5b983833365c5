/* reader.c - opening and closing a workbook, and the reader's one error
 * message (see xlsx.h).
 *
 * libzip opens the workbook; the small parts (workbook, relationships,
 * styles, shared strings) are parsed completely here, at open time, each by
 * its own file; the sheet is then read on demand by xlsx_next_row()
 * (sheet.c, fast.c). Columns, cell text, shared strings and row numbers are
 * bounded (xlsx.h, internal.h) against hostile files. */
#include "xlsx/internal.h"

#include "common/infile.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

/* ----------------------------------------------------------------- errors */

void xlsx_fail_file(xlsx_reader *r, const char *fmt, ...) {
    if (r->failed) return;
    r->failed = 1;
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    snprintf(r->err, sizeof r->err, "%s: %s", r->path, reason);
    if (r->cur_ctxt) xmlStopParser(r->cur_ctxt);
}

void xlsx_fail(xlsx_reader *r, const char *fmt, ...) {
    if (r->failed) return;
    r->failed = 1;
    char reason[512], where[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (r->sh.in_row && r->sh.in_cell) {
        char col[16];
        if (r->sh.col_text[0])
            snprintf(col, sizeof col, "%s", r->sh.col_text);
        else
            xlsx_column_name(r->sh.col, col, sizeof col);
        snprintf(where, sizeof where, " row %u column %s", r->sh.row, col);
    } else if (r->sh.in_row) {
        snprintf(where, sizeof where, " row %u", r->sh.row);
    } else if (r->sh.prev_row) {
        snprintf(where, sizeof where, " after row %u", r->sh.prev_row);
    } else {
        where[0] = '\0';
    }
    snprintf(r->err, sizeof r->err, "%s: sheet '%s'%s: %s", r->path,
             r->wb.sheet ? r->wb.sheet : "?", where, reason);
    if (r->cur_ctxt) xmlStopParser(r->cur_ctxt);
}

/* ------------------------------------------------------------ open/close */

/* libxml2's global initialisation is not reentrant; producers open one
 * workbook per thread. */
static pthread_once_t xlsx_init_once = PTHREAD_ONCE_INIT;

static void xlsx_init(void) {
    xmlInitParser();
    xlsx_fast_init();
}

xlsx_reader *xlsx_open(const char *path, const char *sheet, char *err, size_t errlen) {
    int fd = infile_open(path, err, errlen);
    return fd < 0 ? NULL : xlsx_open_fd(fd, path, sheet, err, errlen);
}

xlsx_reader *xlsx_open_fd(int fd, const char *path, const char *sheet, char *err,
                          size_t errlen) {
    pthread_once(&xlsx_init_once, xlsx_init);
    xlsx_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "%s: out of memory", path);
        close(fd);
        return NULL;
    }
    r->path = strdup(path);
    r->chunk = malloc(XLSX_CHUNK);
    r->wb.want = sheet;
    if (!r->path || !r->chunk) {
        snprintf(err, errlen, "%s: out of memory", path);
        close(fd);
        xlsx_close(r);
        return NULL;
    }
    int zerr = 0;
    r->zip = zip_fdopen(fd, 0, &zerr); /* owns fd from now on, unless it fails */
    if (!r->zip) {
        close(fd);
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        const char *why = zerr == ZIP_ER_NOZIP    ? "not an xlsx (zip) file"
                          : zerr == ZIP_ER_INCONS ? "corrupt or truncated zip file"
                                                  : zip_error_strerror(&ze);
        snprintf(err, errlen, "%s: %s", path, why);
        zip_error_fini(&ze);
        xlsx_close(r);
        return NULL;
    }
    if (xlsx_workbook_locate(r) != 0 || xlsx_styles_load(r) != 0 || xlsx_sst_load(r) != 0 ||
        xlsx_stream_open(r, &r->sh.ss, r->wb.part) != 0) {
        if (!r->failed) {
            if (r->wb.part && r->sh.ss.zf == NULL)
                xlsx_fail_file(r, "sheet '%s': part %s is missing", r->wb.sheet, r->wb.part);
            else
                xlsx_fail_file(r, "out of memory");
        }
        snprintf(err, errlen, "%s", r->err);
        xlsx_close(r);
        return NULL;
    }
    r->sh.ss.name = r->wb.part;
    r->xml_err[0] = '\0';
    r->xml_line = 0;
    r->wb.want = NULL;
    const char *parser = getenv("GK_XLSX_PARSER");
    r->fast.on = !parser || strcmp(parser, "libxml2") != 0;
    r->fast.only = parser && strcmp(parser, "fast") == 0;
    return r;
}

const char *xlsx_error(const xlsx_reader *r) { return r->err[0] ? r->err : "no error"; }

const char *xlsx_sheet_name(const xlsx_reader *r) { return r->wb.sheet; }

void xlsx_close(xlsx_reader *r) {
    if (!r) return;
    xlsx_sheet_free(&r->sh, &r->q);
    xlsx_fast_free(&r->fast);
    xlsx_sst_free(&r->sst);
    xlsx_styles_free(&r->styles);
    xlsx_workbook_free(&r->wb);
    if (r->zip) zip_discard(r->zip);
    free(r->chunk);
    free(r->path);
    free(r);
}
