/* consume.h - the consumer loop shared by db_consumer and ack_consumer.
 *
 * Exactly-once pattern: the service's own store (SQLite, LMDB) holds the next
 * offset of every partition it has processed, committed in the same
 * transaction as the results of each batch (store.h is the interface). On
 * partition assignment the loop asks the store for those offsets and starts
 * exactly there; a partition the store has none for starts at the beginning
 * of its log. The consumer group's committed offsets (committed to Kafka
 * after the store's commits, for monitoring tools such as Kafka UI) are a
 * copy, never a starting point - unless the store keeps its offsets in Kafka
 * (store.h, consume_offsets_home).
 *
 * A consumer whose state cannot follow its partitions to another member
 * (ack_consumer in single mode) sets whole_topics: an assignment of fewer
 * than all the partitions of its topics then stops the loop before any is
 * consumed. One whose state moves by partition number (ack_consumer in
 * scalable mode) sets co_partitioned: its topics must have the same
 * partition count, and each assignment must hold, for every partition
 * number it holds, that partition of every topic. The range assignor (fixed
 * here) gives exactly that when all members subscribe to the same topics of
 * equal partition counts; the check refuses anything else.
 *
 * Every wait for the cluster is interruptible (kafka_wait): the cluster's
 * first answer, bounded by connect_timeout_s, and the close, bounded by
 * CONSUME_CLOSE_MS whatever the broker does.
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
#include "kafka/kafka.h"
#include "kafka/store.h"

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
    bool produced_us; /* fill msg_view.produced_us from the gk-produced-us header
                         (it costs an allocation per message in librdkafka) */
    const char *what; /* noun for progress/log lines, e.g. "rows" */
    long connect_timeout_s; /* give up (GK_EXIT_UNAVAILABLE) if the cluster has not answered
                               by then; 0: wait until signalled */
    bool whole_topics; /* this consumer must own every partition of its topics */
    bool co_partitioned; /* topics must have equal partition counts, and every assignment
                            the same partition numbers of each (a store whose state of a
                            key spans its topics, per partition number) */
    bool async_commit; /* store each full batch from a thread of its own while the next
                          is polled (at most one in flight; batches stored in order).
                          For a store without tick whose offsets are in the store; the
                          store's callbacks are never called from two threads at once */
    bool leave_on_lost; /* a member stopped past its session (SIGSTOP, a frozen VM),
                           whose partitions the group gave to another, ends the run with
                           GK_EXIT_UNAVAILABLE instead of rejoining: a zombie of a store
                           whose writes are fenced by the group's generation */
} consume_config;

/* Statistics kept by the loop. */
typedef struct {
    uint64_t messages; /* data messages handed to the store's commit */
    uint64_t batches;  /* store transactions */
} consume_stats;

/* Runs the loop: subscribes to cfg->topics in group cfg->group_id, positions
 * assigned partitions where store->assign says, consumes in adaptive batches
 * and hands each batch to store->commit, then commits the same offsets to
 * Kafka asynchronously (best effort). Stops on SIGINT/SIGTERM (signals.h), on
 * a fatal error, or - when cfg->idle_exit_s > 0 - once at least one message
 * has been processed (or the store already held offsets: a restart with
 * nothing new to do), every assigned partition is at its end,
 * store->quiescent() holds and neither a message nor an assignment has come
 * for idle_exit_s seconds. Returns an exit code from exitcodes.h: GK_EXIT_OK,
 * GK_EXIT_USAGE (a Kafka setting refused; with whole_topics, a partial
 * assignment), GK_EXIT_DATALOSS, GK_EXIT_IOERR, GK_EXIT_UNAVAILABLE (fatal
 * Kafka error, or no answer within connect_timeout_s) or what
 * assign/tick/drain returned. */
int consume_run(const consume_config *cfg, const consume_store *store, void *ctx,
                consume_stats *stats);

#endif
