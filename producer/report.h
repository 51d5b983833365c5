/* report.h - the producer's account of a run: per file what was sent,
 * delivered, failed and skipped, which rows did not go out, and the one-line
 * summary. */
#ifndef GK_PRODUCER_REPORT_H
#define GK_PRODUCER_REPORT_H
#include "producer/producer.h"

#include <stdio.h>

/* Totals over all files. */
typedef struct {
    size_t files;
    uint64_t rows, delivered, failed, skipped, bytes;
    double seconds;
    long peak_rss_kb; /* the process's peak resident memory (getrusage), 0 if unknown */
} report_totals;

/* Adds up the files' counters and reads the peak RSS; seconds is passed through. */
report_totals report_sum(const producer_file *files, size_t nfiles, double seconds);

/* Prints one account line per file to out:
 * "producer: FILE -> TOPIC: sent=16 delivered=16 failed=0 skipped=0 last_row=17 (stopped at row 18: invalid row)";
 * a stop that is not an invalid row reads "(stopped after row 17: run stopped)", with
 * the same number as last_row: the last row sent. */
void report_files(FILE *out, const producer_file *files, size_t nfiles);

/* Prints to err, for each file with failed deliveries, one line naming the
 * rows that did not go out: "producer: FILE: not delivered: rows 17-40, 45". */
void report_failed_rows(FILE *err, producer_file *files, size_t nfiles);

/* Prints "producer: " and the formatted text to stderr as exactly one line:
 * newlines and other control characters (libxml2 messages have them) become
 * spaces. */
void report_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Formats the summary line (no newline): "producer: files=3 rows=150 ...
 * msgs_per_s=N mb_per_s=X peak_rss_kb=K". */
void report_summary(const report_totals *t, char *buf, size_t len);

#endif
