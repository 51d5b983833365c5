/* consume.h - the consumer loop shared by db_consumer and ack_consumer.
 *
 * Exactly-once pattern: the service's own store (SQLite, LMDB) holds the next
 * offset of every partition it has processed, committed in the same
 * transaction as the results of each batch. On partition assignment the loop
 * asks the store for those offsets and starts exactly there; the consumer
 * group's committed offsets (committed to Kafka after each store commit, for
 * monitoring tools such as Kafka UI) are only used when the store has none,
 * and the beginning of the log when neither exists.
 *
 * Batches are adaptive: a batch ends when no message is immediately available
 * or max_batch is reached, so latency stays low at low rates and transactions
 * grow large at high rates. A service whose latency matters less (db_consumer)
 * can hold each batch open for batch_wait_ms, which turns hundreds of small
 * fsync'ed transactions a second into a few large ones: less disk and CPU
 * taken from the services whose latency is measured.
 *
 * Data loss is never silent: auto.offset.reset is "error", so a position that
 * has fallen out of the log (e.g. the embedded broker's 5 MiB retention) stops
 * the loop with GK_EXIT_DATALOSS and a message naming topic/partition/offset. */
#ifndef GK_CONSUME_H
#define GK_CONSUME_H
#include "common/cli.h"
#include "common/kafka.h"

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *bootstrap;
    const cli_kv_list *kafka_overrides; /* -X pass-through; wins over everything */
    const kafka_default *kafka_defaults; /* the service's tuned defaults, may be NULL */
    const char *group_id;
    const char *const *topics;
    size_t ntopics;
    long max_batch;   /* most messages per store transaction */
    long batch_wait_ms; /* 0: a batch ends when nothing is waiting; else it stays
                           open up to this long after its first message */
    long idle_exit_s; /* 0: run until signalled; else exit once idle this long (see consume_run) */
    const char *what; /* noun for progress/log lines, e.g. "rows" */
} consume_config;

typedef struct {
    /* Returns the next offset stored for topic/partition in the store, or -1
     * if it has none. cluster_id is the Kafka cluster the consumer is
     * connected to; a store that recorded offsets for another cluster must
     * return -1 (its offsets mean nothing there). */
    int64_t (*stored_offset)(void *ctx, const char *cluster_id, const char *topic,
                             int32_t partition);

    /* Processes one batch of data messages (no error events) and durably
     * commits their results together with, for each partition present, the
     * offset after its last message and cluster_id. Returns 0, or -1 on a
     * storage failure (the loop stops and consume_run returns GK_EXIT_IOERR). */
    int (*commit_batch)(void *ctx, const char *cluster_id, rd_kafka_message_t *const *msgs,
                        size_t n);

    /* Optional: called on every loop iteration (serve delivery reports etc.).
     * Returns 0, or an exit code from exitcodes.h to stop the loop. */
    int (*tick)(void *ctx);

    /* Optional: true when the service has nothing in flight (e.g. no ack
     * awaiting its delivery report); idle exit waits for it. */
    bool (*quiescent)(void *ctx);

    /* Optional: called once after the loop ends (signal, idle exit or error)
     * and the last batch was committed, before the consumer is closed: flush
     * producers here. Returns 0 or an exit code. */
    int (*drain)(void *ctx);
} consume_handlers;

/* Statistics kept by the loop. */
typedef struct {
    uint64_t messages; /* data messages handed to commit_batch */
    uint64_t batches;  /* store transactions */
} consume_stats;

/* Runs the loop: subscribes to cfg->topics in group cfg->group_id, positions
 * assigned partitions from the store, consumes in adaptive batches and hands
 * each batch to h->commit_batch, then commits the same offsets to Kafka
 * asynchronously (best effort). Stops on SIGINT/SIGTERM (signals.h), on a
 * fatal error, or - when cfg->idle_exit_s > 0 - once at least one message has
 * been processed (or the store already held offsets: a restart with nothing
 * new to do), every assigned partition is at its end, h->quiescent() holds
 * and neither a message nor an assignment has come for idle_exit_s seconds.
 * Returns an exit code
 * from exitcodes.h: GK_EXIT_OK, GK_EXIT_DATALOSS, GK_EXIT_IOERR,
 * GK_EXIT_UNAVAILABLE (fatal Kafka error) or what tick/drain returned. */
int consume_run(const consume_config *cfg, const consume_handlers *h, void *ctx,
                consume_stats *stats);

#endif
