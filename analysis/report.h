/* report.h - the CSV file and the one-line summary of an ack delay run.
 *
 * CSV columns (one row per event, in event id order):
 *   event_id, topic1_us, topic2_us, topic3_us, ack_us  - times in microseconds
 *     since the epoch (empty if never seen; from the Kafka ms timestamp * 1000
 *     when the message had no microsecond time, see time_source);
 *   delay_ms      - ack_us - latest topicN_us, 3 decimals (empty unless the
 *                   event is complete and acked);
 *   time_source   - us, ms or mixed: the precision behind the row's times;
 *   topic1_partition .. ack_partition - partition of each message (empty if none);
 *   acks          - number of ack messages for the event (1 when all is well).
 * topicN is the Nth data topic of --topics. */
#ifndef GK_REPORT_H
#define GK_REPORT_H
#include "analysis/join.h"
#include "analysis/stats.h"

#include <stddef.h>
#include <stdio.h>

/* The CSV header line, without the newline. */
extern const char report_csv_header[];

/* Writes the header and one row per event to f. Returns 0, or -1 on a write error. */
int report_csv_write(FILE *f, const join_event *ev, size_t n);

/* Writes the CSV to path atomically (path.tmp, then rename), creating missing
 * parent directories. Returns 0, or -1 with a one-line reason in err. */
int report_csv_file(const char *path, const join_event *ev, size_t n, char *err, size_t errlen);

/* What reading the topics met besides events. */
typedef struct {
    size_t bad_messages;   /* acks (or messages without any time) that cannot be read */
    size_t dead_letters;   /* data messages the consumers refuse */
    size_t bad_headers;    /* gk-produced-us headers not used (invalid) */
    size_t cut_partitions; /* partitions whose older messages retention deleted */
} report_reading;

/* Formats the summary line (no newline):
 * "ack_delay: events=.. complete=.. acks=.. distinct_acks=.. violations=..
 *  min_ms=.. p50_ms=.. p90_ms=.. p99_ms=.. p999_ms=.. max_ms=.. time_source=..
 *  incomplete=.. topic_duplicates=.. bad_messages=.. mean_ms=.. dead_letters=..
 *  bad_headers=.. cut_partitions=.. not_judged=.." (ms values are "nan" when
 * there is no delay). The first fields are fixed for scripts; new ones are
 * only ever appended. */
void report_summary_line(char *buf, size_t len, const join_summary *js, const stats_summary *st,
                         const report_reading *rd);

/* Creates dir and its missing parents (like mkdir -p). Returns 0 or -1 (errno set). */
int report_mkdirs(const char *dir);

#endif
