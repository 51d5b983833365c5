/* report.c - CSV output and the summary line (see report.h). */
#include "analysis/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char report_csv_header[] =
    "event_id,topic1_us,topic2_us,topic3_us,ack_us,delay_ms,time_source,"
    "topic1_partition,topic2_partition,topic3_partition,ack_partition,acks";

/* Writes one event as a CSV row. */
static void report_csv_row(FILE *f, const join_event *e) {
    int64_t d;
    fprintf(f, "%" PRId64, e->event_id);
    for (int s = 0; s < JOIN_SLOTS; s++) {
        if (e->seen[s]) fprintf(f, ",%" PRId64, e->t_us[s]);
        else fputs(",", f);
    }
    /* Integer microseconds printed as ms: exact, unlike a double round trip. */
    if (join_event_delay_us(e, &d) == 0)
        fprintf(f, ",%s%" PRId64 ".%03" PRId64, d < 0 ? "-" : "", (d < 0 ? -d : d) / 1000,
                (d < 0 ? -d : d) % 1000);
    else
        fputs(",", f);
    fprintf(f, ",%s", join_event_source(e));
    for (int s = 0; s < JOIN_SLOTS; s++) {
        if (e->seen[s]) fprintf(f, ",%" PRId32, e->partition[s]);
        else fputs(",", f);
    }
    fprintf(f, ",%u\n", (unsigned)e->seen[JOIN_ACK]);
}

int report_csv_write(FILE *f, const join_event *ev, size_t n) {
    fprintf(f, "%s\n", report_csv_header);
    for (size_t i = 0; i < n; i++) report_csv_row(f, &ev[i]);
    return ferror(f) ? -1 : 0;
}

int report_mkdirs(const char *dir) {
    char *copy = strdup(dir);
    if (!copy) return -1;
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
            free(copy);
            return -1;
        }
        *p = '/';
    }
    int rc = mkdir(copy, 0777) != 0 && errno != EEXIST ? -1 : 0;
    free(copy);
    return rc;
}

/* Creates the parent directories of path, if it has any. */
static int report_mkparent(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return 0;
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir) return -1;
    int rc = report_mkdirs(dir);
    free(dir);
    return rc;
}

int report_csv_file(const char *path, const join_event *ev, size_t n, char *err, size_t errlen) {
    if (report_mkparent(path) != 0) {
        snprintf(err, errlen, "%s: cannot create its directory: %s", path, strerror(errno));
        return -1;
    }
    size_t tlen = strlen(path) + 5;
    char *tmp = malloc(tlen);
    if (!tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(tmp, tlen, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    int bad = report_csv_write(f, ev, n);
    int saved = errno;
    if (fclose(f) != 0 && !bad) {
        bad = -1;
        saved = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        bad = -1;
        saved = errno;
    }
    if (bad) {
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(saved));
        remove(tmp);
    }
    free(tmp);
    return bad ? -1 : 0;
}

void report_summary_line(char *buf, size_t len, const join_summary *js, const stats_summary *st,
                         const report_reading *rd) {
    snprintf(buf, len,
             "ack_delay: events=%zu complete=%zu acks=%zu distinct_acks=%zu violations=%zu "
             "min_ms=%.3f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f "
             "time_source=%s incomplete=%zu topic_duplicates=%zu bad_messages=%zu mean_ms=%.3f "
             "dead_letters=%zu bad_headers=%zu cut_partitions=%zu not_judged=%zu",
             js->events, js->complete, js->acks, js->distinct_acks, js->violations, st->min,
             st->p50, st->p90, st->p99, st->p999, st->max, join_summary_source(js),
             js->incomplete, js->topic_duplicates, rd->bad_messages, st->mean, rd->dead_letters,
             rd->bad_headers, rd->cut_partitions, js->not_judged);
}
