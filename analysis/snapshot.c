/* snapshot.c - bounded read of a set of topics (see snapshot.h). */
#include "analysis/snapshot.h"

#include "common/exitcodes.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/signals.h"
#include "common/timeutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SNAPSHOT_LIST_MAX 20 /* unfinished partitions named in the timeout error */

typedef struct {
    size_t topic;
    int32_t partition;
    int64_t lo;         /* low watermark: older offsets were deleted */
    int64_t start, end; /* read offsets [start, end) */
    int64_t next;       /* next offset expected */
    int done;
    int cut;            /* read from a low watermark above 0: its first message marks the cut */
} snapshot_part;

typedef struct {
    const snapshot_config *cfg;
    rd_kafka_t *rk;
    int64_t deadline_us; /* monotonic */
    snapshot_part *parts;
    size_t nparts, ndone;
    size_t **by_topic;   /* by_topic[t][partition id] = index into parts */
    int32_t *max_part;   /* partitions per topic */
} snapshot;

/* Milliseconds left before the deadline, at least 1 (librdkafka treats 0 as "don't wait"). */
static int snapshot_left_ms(const snapshot *s) {
    int64_t left = (s->deadline_us - time_mono_us()) / 1000;
    return left < 1 ? 1 : left > 600000 ? 600000 : (int)left;
}

/* Fills parts from cluster metadata. Returns 0 or an exit code. */
static int snapshot_metadata(snapshot *s, snapshot_stats *st) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err;
    /* One-second attempts, so that a signal stops the wait for a broker that is down. */
    for (;;) {
        int left = snapshot_left_ms(s);
        err = rd_kafka_metadata(s->rk, 1, NULL, &md, left < 1000 ? left : 1000);
        if (!err || time_mono_us() >= s->deadline_us) break;
        if (!signals_run) {
            st->interrupted = 1;
            return GK_EXIT_OK;
        }
        log_debug("cluster metadata: %s; retrying", rd_kafka_err2str(err));
    }
    if (err) {
        log_error("cannot read cluster metadata within %d s: %s", s->cfg->timeout_ms / 1000,
                  rd_kafka_err2str(err));
        return GK_EXIT_UNAVAILABLE;
    }
    size_t total = 0;
    for (int i = 0; i < md->topic_cnt; i++) total += (size_t)md->topics[i].partition_cnt;
    s->parts = calloc(total ? total : 1, sizeof *s->parts);
    s->by_topic = calloc(s->cfg->ntopics, sizeof *s->by_topic);
    s->max_part = calloc(s->cfg->ntopics, sizeof *s->max_part);
    if (!s->parts || !s->by_topic || !s->max_part) {
        rd_kafka_metadata_destroy(md);
        log_error("out of memory");
        return GK_EXIT_SOFTWARE;
    }
    for (size_t t = 0; t < s->cfg->ntopics; t++) {
        const struct rd_kafka_metadata_topic *mt = NULL;
        for (int i = 0; i < md->topic_cnt; i++)
            if (strcmp(md->topics[i].topic, s->cfg->topics[t]) == 0) mt = &md->topics[i];
        if (!mt || mt->err || mt->partition_cnt == 0) {
            log_warn("topic %s does not exist (%s); read as empty", s->cfg->topics[t],
                     mt ? rd_kafka_err2str(mt->err) : "not in metadata");
            st->missing_topics++;
            continue;
        }
        int32_t maxp = 0;
        for (int i = 0; i < mt->partition_cnt; i++)
            if (mt->partitions[i].id + 1 > maxp) maxp = mt->partitions[i].id + 1;
        s->by_topic[t] = malloc((size_t)maxp * sizeof **s->by_topic);
        if (!s->by_topic[t]) {
            rd_kafka_metadata_destroy(md);
            log_error("out of memory");
            return GK_EXIT_SOFTWARE;
        }
        s->max_part[t] = maxp;
        for (int32_t p = 0; p < maxp; p++) s->by_topic[t][p] = SIZE_MAX;
        for (int i = 0; i < mt->partition_cnt; i++) {
            snapshot_part *sp = &s->parts[s->nparts];
            sp->topic = t;
            sp->partition = mt->partitions[i].id;
            s->by_topic[t][sp->partition] = s->nparts++;
        }
    }
    rd_kafka_metadata_destroy(md);
    st->partitions = s->nparts;
    return GK_EXIT_OK;
}

/* Takes each partition's watermarks: the slice is [low, high) for now. */
static int snapshot_watermarks(snapshot *s) {
    for (size_t i = 0; i < s->nparts; i++) {
        snapshot_part *p = &s->parts[i];
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
            s->rk, s->cfg->topics[p->topic], p->partition, &lo, &hi, snapshot_left_ms(s));
        if (err) {
            log_error("%s[%" PRId32 "]: cannot query watermark offsets: %s",
                      s->cfg->topics[p->topic], p->partition, rd_kafka_err2str(err));
            return GK_EXIT_UNAVAILABLE;
        }
        p->lo = p->start = p->next = lo;
        p->end = hi;
    }
    return GK_EXIT_OK;
}

static snapshot_part *snapshot_find(snapshot *s, const char *name, int32_t partition);

/* With a start time, moves each start to the first offset at or after it. */
static int snapshot_seek_time(snapshot *s) {
    if (s->cfg->from_ms < 0 || s->nparts == 0) return GK_EXIT_OK;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)s->nparts);
    for (size_t i = 0; i < s->nparts; i++)
        rd_kafka_topic_partition_list_add(l, s->cfg->topics[s->parts[i].topic],
                                          s->parts[i].partition)->offset = s->cfg->from_ms;
    int rc = GK_EXIT_OK;
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(s->rk, l, snapshot_left_ms(s));
    if (err) {
        log_error("cannot look up offsets for time %" PRId64 ": %s", s->cfg->from_ms,
                  rd_kafka_err2str(err));
        rc = GK_EXIT_UNAVAILABLE;
    }
    size_t unresolved = 0;
    for (int i = 0; rc == GK_EXIT_OK && i < l->cnt; i++) {
        snapshot_part *p = snapshot_find(s, l->elems[i].topic, l->elems[i].partition);
        if (!p) continue;
        int64_t o = l->elems[i].offset;
        if (l->elems[i].err) {
            log_error("%s[%" PRId32 "]: cannot look up offset for time %" PRId64 ": %s",
                      l->elems[i].topic, p->partition, s->cfg->from_ms,
                      rd_kafka_err2str(l->elems[i].err));
            rc = GK_EXIT_UNAVAILABLE;
        } else if (o < 0) {
            /* "No message at or after the time" - but librdkafka's mock
             * cluster (our embedded broker) answers that for every time, so
             * it cannot be trusted: read such partitions from their start
             * (the time window is applied to the events afterwards anyway). */
            unresolved += p->start < p->end;
        } else {
            p->start = p->next = o > p->end ? p->end : o < p->start ? p->start : o;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (unresolved)
        log_info("the broker found no offset for time %" PRId64 " in %zu non-empty partitions; "
                 "reading them from their beginning", s->cfg->from_ms, unresolved);
    return rc;
}

/* Marks a partition finished and pauses it so no more is fetched. */
static void snapshot_finish(snapshot *s, snapshot_part *p) {
    if (p->done) return;
    p->done = 1;
    s->ndone++;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, s->cfg->topics[p->topic], p->partition);
    rd_kafka_resp_err_t err = rd_kafka_pause_partitions(s->rk, l);
    if (!err && l->elems[0].err) err = l->elems[0].err;
    if (err)
        log_debug("%s[%" PRId32 "]: pause: %s", s->cfg->topics[p->topic], p->partition,
                  rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
}

/* Formats a Kafka timestamp (ms) as ISO 8601 UTC. */
static void snapshot_iso(int64_t ms, char *buf, size_t len) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms < 0 || !gmtime_r(&t, &tm)) {
        snprintf(buf, len, "an unknown time");
        return;
    }
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

/* Records where a cut partition's retained log begins: the timestamp of its
 * first message (ms; -1 none, INT64_MAX for a partition emptied). */
static void snapshot_note_cut(snapshot *s, snapshot_part *p, int64_t first_ms,
                              snapshot_stats *st) {
    p->cut = 0;
    int64_t cut = first_ms < 0 ? INT64_MAX : first_ms;
    if (st->cut_ms[p->topic] < cut) st->cut_ms[p->topic] = cut;
    st->cut_partitions++;
    char when[48];
    snapshot_iso(first_ms, when, sizeof when);
    if (first_ms == INT64_MAX)
        log_warn("%s[%" PRId32 "]: every message up to offset %" PRId64 " was deleted (retention): "
                 "what it held cannot be judged",
                 s->cfg->topics[p->topic], p->partition, p->lo);
    else
        log_warn("%s[%" PRId32 "]: offsets 0..%" PRId64 " were deleted (retention): the log starts "
                 "at %" PRId64 ", from %s; events that rest on older messages are not judged",
                 s->cfg->topics[p->topic], p->partition, p->lo - 1, p->lo, when);
}

/* Assigns every partition that has something to read; finishes the others. */
static int snapshot_assign(snapshot *s, snapshot_stats *st) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)s->nparts);
    for (size_t i = 0; i < s->nparts; i++) {
        snapshot_part *p = &s->parts[i];
        p->cut = p->lo > 0 && p->start == p->lo;
        if (p->cut && p->start >= p->end) snapshot_note_cut(s, p, INT64_MAX, st);
        if (p->start >= p->end) {
            p->done = 1;
            s->ndone++;
            continue;
        }
        rd_kafka_topic_partition_list_add(l, s->cfg->topics[p->topic], p->partition)->offset =
            p->start;
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(s->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        log_error("cannot assign partitions: %s", rd_kafka_err2str(err));
        return GK_EXIT_UNAVAILABLE;
    }
    return GK_EXIT_OK;
}

/* The state of a topic's partition, or NULL if it is not one of ours. */
static snapshot_part *snapshot_find(snapshot *s, const char *name, int32_t partition) {
    for (size_t t = 0; t < s->cfg->ntopics; t++) {
        if (strcmp(name, s->cfg->topics[t]) != 0) continue;
        if (!s->by_topic[t] || partition < 0 || partition >= s->max_part[t]) return NULL;
        size_t i = s->by_topic[t][partition];
        return i == SIZE_MAX ? NULL : &s->parts[i];
    }
    return NULL;
}

/* The partition state of a message, or NULL. */
static snapshot_part *snapshot_lookup(snapshot *s, const rd_kafka_message_t *m) {
    return m->rkt ? snapshot_find(s, rd_kafka_topic_name(m->rkt), m->partition) : NULL;
}

/* Handles an error event. Returns 0 to go on or an exit code. */
static int snapshot_error(snapshot *s, const rd_kafka_message_t *m) {
    snapshot_part *p = snapshot_lookup(s, m);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (p && m->offset >= p->end) snapshot_finish(s, p);
        return 0;
    }
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "(client)";
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
        m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        log_error("%s[%" PRId32 "] offset %" PRId64 ": data lost, no longer in the log: %s", topic,
                  m->partition, m->offset, rd_kafka_message_errstr(m));
        return GK_EXIT_DATALOSS;
    }
    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(s->rk, buf, sizeof buf);
        log_error("fatal kafka error: %s: %s", rd_kafka_err2str(orig), buf);
        return GK_EXIT_UNAVAILABLE;
    }
    if (p) {
        log_error("%s[%" PRId32 "]: %s", topic, m->partition, rd_kafka_message_errstr(m));
        return GK_EXIT_UNAVAILABLE;
    }
    /* Client-level errors (broker down...) are retried by librdkafka; the
     * overall timeout bounds the wait. */
    log_warn("kafka: %s", rd_kafka_message_errstr(m));
    return 0;
}

/* Handles a data message. Returns 0 or the callback's exit code. */
static int snapshot_message(snapshot *s, const rd_kafka_message_t *m, snapshot_fn fn, void *ctx,
                            snapshot_stats *st) {
    snapshot_part *p = snapshot_lookup(s, m);
    if (!p || p->done) return 0;
    if (m->offset >= p->end) {
        snapshot_finish(s, p);
        return 0;
    }
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    if (p->cut) snapshot_note_cut(s, p, tt == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts, st);
    if (s->cfg->stop_after_ms >= 0 && tt != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE &&
        ts > s->cfg->stop_after_ms) {
        snapshot_finish(s, p);
        return 0;
    }
    p->next = m->offset + 1;
    st->messages++;
    int rc = fn(p->topic, m, ctx);
    if (p->next >= p->end) snapshot_finish(s, p);
    return rc;
}

/* Logs the partitions that did not reach their end. */
static void snapshot_report_unfinished(const snapshot *s) {
    size_t shown = 0, left = s->nparts - s->ndone;
    log_error("timed out after %d s: %zu of %zu partitions not read to their end:",
              s->cfg->timeout_ms / 1000, left, s->nparts);
    for (size_t i = 0; i < s->nparts && shown < SNAPSHOT_LIST_MAX; i++) {
        const snapshot_part *p = &s->parts[i];
        if (p->done) continue;
        log_error("  %s[%" PRId32 "]: at offset %" PRId64 ", end %" PRId64 " (%" PRId64 " left)",
                  s->cfg->topics[p->topic], p->partition, p->next, p->end, p->end - p->next);
        shown++;
    }
    if (left > shown) log_error("  ... and %zu more", left - shown);
}

/* Polls until every partition is finished, the deadline passes or a signal. */
static int snapshot_loop(snapshot *s, snapshot_fn fn, void *ctx, snapshot_stats *st) {
    while (s->ndone < s->nparts) {
        if (!signals_run) {
            st->interrupted = 1;
            return GK_EXIT_OK;
        }
        if (time_mono_us() >= s->deadline_us) {
            progress_done();
            snapshot_report_unfinished(s);
            return GK_EXIT_UNAVAILABLE;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, 100);
        if (!m) continue;
        int rc = m->err ? snapshot_error(s, m) : snapshot_message(s, m, fn, ctx, st);
        rd_kafka_message_destroy(m);
        if (rc) return rc;
        progress_update("reading: %" PRIu64 " messages, %zu/%zu partitions done", st->messages,
                        s->ndone, s->nparts);
    }
    progress_done();
    return GK_EXIT_OK;
}

/* Frees the bookkeeping. */
static void snapshot_free(snapshot *s) {
    for (size_t t = 0; s->by_topic && t < s->cfg->ntopics; t++) free(s->by_topic[t]);
    free(s->by_topic);
    free(s->max_part);
    free(s->parts);
}

int snapshot_read(rd_kafka_t *rk, const snapshot_config *cfg, snapshot_fn fn, void *ctx,
                  snapshot_stats *stats) {
    snapshot s = {.cfg = cfg, .rk = rk};
    s.deadline_us = time_mono_us() + (int64_t)cfg->timeout_ms * 1000;
    memset(stats, 0, sizeof *stats);
    for (size_t t = 0; t < SNAPSHOT_MAX_TOPICS; t++) stats->cut_ms[t] = SNAPSHOT_NO_CUT;
    if (cfg->ntopics > SNAPSHOT_MAX_TOPICS) {
        log_error("more than %d topics to read", SNAPSHOT_MAX_TOPICS);
        return GK_EXIT_SOFTWARE;
    }
    int rc = snapshot_metadata(&s, stats);
    if (stats->interrupted) {
        snapshot_free(&s);
        return rc;
    }
    if (!rc) rc = snapshot_watermarks(&s);
    if (!rc) rc = snapshot_seek_time(&s);
    if (!rc) rc = snapshot_assign(&s, stats);
    if (!rc) rc = snapshot_loop(&s, fn, ctx, stats);
    snapshot_free(&s);
    return rc;
}
