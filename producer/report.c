/* report.c - the producer's account of a run (see report.h). */
#include "producer/report.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define REPORT_MAX_RANGES 50 /* keeps a "not delivered" line readable */

report_totals report_sum(const producer_file *files, size_t nfiles, double seconds) {
    report_totals t = {.files = nfiles, .seconds = seconds};
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) t.peak_rss_kb = ru.ru_maxrss; /* Linux: KiB */
    for (size_t i = 0; i < nfiles; i++) {
        t.rows += files[i].sent;
        t.delivered += atomic_load(&files[i].delivered);
        t.failed += atomic_load(&files[i].failed);
        t.skipped += files[i].skipped;
        t.bytes += atomic_load(&files[i].bytes);
    }
    return t;
}

/* Why a file's reading ended, in words. Every row number is one of the
 * account's: "at row B" is the invalid row itself (not sent), "after row N"
 * is last_row, the last row sent - never a row that was read but not sent. */
static void report_outcome(const producer_file *f, char *buf, size_t len) {
    const char *why = NULL;
    switch (f->state) {
    case FILE_DONE: snprintf(buf, len, "complete"); return;
    case FILE_BAD_ROW: snprintf(buf, len, "stopped at row %u: invalid row", f->bad_row); return;
    case FILE_PENDING: snprintf(buf, len, "not read: nothing sent"); return;
    case FILE_READ_ERROR: why = "unreadable xlsx"; break;
    case FILE_STOPPED: why = "run stopped"; break;
    case FILE_INTERNAL: why = "internal error"; break;
    }
    if (!why)
        snprintf(buf, len, "?");
    else if (f->last_sent)
        snprintf(buf, len, "stopped after row %u: %s", f->last_sent, why);
    else
        snprintf(buf, len, "stopped before any row was sent: %s", why);
}

void report_files(FILE *out, const producer_file *files, size_t nfiles) {
    for (size_t i = 0; i < nfiles; i++) {
        const producer_file *f = &files[i];
        char outcome[128];
        report_outcome(f, outcome, sizeof outcome);
        fprintf(out,
                "producer: %s -> %s: sent=%" PRIu64 " delivered=%" PRIu64 " failed=%" PRIu64
                " skipped=%" PRIu64 " last_row=%u (%s)\n",
                f->path, f->topic ? f->topic : "?", f->sent, (uint64_t)atomic_load(&f->delivered),
                (uint64_t)atomic_load(&f->failed), f->skipped, f->last_sent, outcome);
    }
    fflush(out);
}

void report_failed_rows(FILE *err, producer_file *files, size_t nfiles) {
    for (size_t i = 0; i < nfiles; i++) {
        producer_file *f = &files[i];
        pthread_mutex_lock(&f->lock);
        if (f->failed_rows.count) {
            char *ranges = rowlist_format(&f->failed_rows, REPORT_MAX_RANGES);
            fprintf(err, "producer: %s: not delivered to %s: rows %s\n", f->path, f->topic,
                    ranges ? ranges : "(out of memory)");
            free(ranges);
        }
        pthread_mutex_unlock(&f->lock);
    }
}

void report_summary(const report_totals *t, char *buf, size_t len) {
    double secs = t->seconds > 1e-6 ? t->seconds : 1e-6;
    snprintf(buf, len,
             "producer: files=%zu rows=%" PRIu64 " delivered=%" PRIu64 " failed=%" PRIu64
             " skipped=%" PRIu64 " bytes=%" PRIu64 " seconds=%.2f msgs_per_s=%.0f mb_per_s=%.1f"
             " peak_rss_kb=%ld",
             t->files, t->rows, t->delivered, t->failed, t->skipped, t->bytes, t->seconds,
             (double)t->delivered / secs, (double)t->bytes / secs / 1e6, t->peak_rss_kb);
}

void report_error(const char *fmt, ...) {
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == ' ')) line[--n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7F) line[i] = ' ';
    fprintf(stderr, "producer: %s\n", line);
}
