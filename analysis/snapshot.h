/* snapshot.h - reads a fixed slice of some topics and stops: a bounded read.
 *
 * At start it takes every partition's high watermark (and, with a start time,
 * the first offset at or after it via rd_kafka_offsets_for_times), assigns the
 * partitions directly (rd_kafka_assign: no group membership, no commits) and
 * reads each one up to that watermark. A partition is finished when its last
 * message before the watermark was read, when partition EOF is reported at or
 * beyond it (transaction markers and aborted messages never reach us), or when
 * a message is newer than stop_after_ms. Finished partitions are paused.
 *
 * A partition for which the broker finds no offset at or after the start time
 * is read from its beginning: librdkafka's mock cluster gives that answer for
 * every time, so it is not trusted. Callers filter by time themselves.
 *
 * A partition whose older messages were deleted (a low watermark above 0,
 * read from its start) is a cut log: it is logged as such and its first
 * retained message's timestamp is reported per topic (stats->cut_ms), so
 * that callers do not take what is gone for what never was.
 *
 * The consumer must be configured with enable.partition.eof=true (and
 * normally isolation.level=read_committed, auto.offset.reset=error). */
#ifndef GK_SNAPSHOT_H
#define GK_SNAPSHOT_H
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *const *topics; /* read these (at most SNAPSHOT_MAX_TOPICS); a missing topic is read as empty (warning) */
    size_t ntopics;
    int64_t from_ms;       /* first message time to read (Kafka timestamp), or -1: the beginning */
    int64_t stop_after_ms; /* a message newer than this finishes its partition, or -1 */
    int timeout_ms;        /* for everything, metadata to last message */
} snapshot_config;

#define SNAPSHOT_MAX_TOPICS 8
#define SNAPSHOT_NO_CUT INT64_MIN

typedef struct {
    uint64_t messages;    /* handed to the callback */
    size_t partitions;    /* partitions of the existing topics */
    size_t missing_topics;
    int interrupted;      /* stopped by SIGINT/SIGTERM (signals.h) before the end */
    /* Per topic: the latest Kafka timestamp (ms) of a first retained message
     * over its cut partitions; SNAPSHOT_NO_CUT if none was cut, INT64_MAX if
     * one lost every message (or its first has no timestamp). */
    int64_t cut_ms[SNAPSHOT_MAX_TOPICS];
    size_t cut_partitions; /* partitions whose older messages were deleted */
} snapshot_stats;

/* Called for every message in range, in per-partition offset order. topic is
 * the index into cfg->topics. Returns 0 to go on, or an exit code to stop. */
typedef int (*snapshot_fn)(size_t topic, const rd_kafka_message_t *m, void *ctx);

/* Reads the slice. Returns GK_EXIT_OK (also when interrupted by a signal: see
 * stats->interrupted), GK_EXIT_UNAVAILABLE (broker unreachable, metadata or
 * watermarks unavailable, timeout: the unfinished partitions are logged),
 * GK_EXIT_DATALOSS (an offset fell out of the log) or what fn returned. */
int snapshot_read(rd_kafka_t *rk, const snapshot_config *cfg, snapshot_fn fn, void *ctx,
                  snapshot_stats *stats);

#endif
