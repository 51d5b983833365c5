/* store.h - the narrow interface between the consumer loop (consume.h) and
 * a consumer's store.
 *
 * Exactly-once on the consuming side is the store's business: it keeps, for
 * every partition it has processed, the next offset to consume, committed in
 * the same transaction as the results of the messages before it. The loop
 * owns everything Kafka: it hands the store only neutral data - message
 * views, the next offset of every partition in a batch, and the partitions
 * it gains and loses - so that a store (SQLite, LMDB, PostgreSQL...) is
 * written without librdkafka and tested without a broker.
 *
 * The store is the source of truth of where each partition starts: the
 * next offset it stored, and for a partition it has never processed, the
 * beginning of the log. The consumer group's committed offsets are not its
 * progress (another store may have made them, or they are only the copy the
 * loop commits for monitoring tools), unless the store says they are
 * (consume_offsets_home).
 *
 * The life of a partition, as a store sees it:
 *   assign  - it is ours from now on: get ready for it (load or restore its
 *             state) and say where to start (the next offset stored for it);
 *   commit  - batches of its messages, each with its next offset, committed
 *             durably or not at all;
 *   revoke  - it is no longer ours; everything consumed of it was committed
 *             (the loop commits the open batch before it revokes). */
#ifndef GK_KAFKA_STORE_H
#define GK_KAFKA_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One consumed message in plain form. Pointers are borrowed from the
 * message for as long as the call that hands it over lasts. */
typedef struct {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key; /* NULL if the message has no key */
    size_t key_len;
    const void *value; /* NULL for an empty value (tombstone) */
    size_t value_len;
    int64_t ts_ms;       /* message timestamp, -1 if none */
    int64_t produced_us; /* header gk-produced-us, -1 if absent or not read */
    /* The librdkafka message this views (rd_kafka_message_t, opaque here),
     * for a store that keeps a message whole, headers included (ack_consumer's
     * dead-letter topic); NULL in a view built by hand. */
    const void *native;
} msg_view;

/* A partition and an offset in it: where to start consuming (assign), or
 * the offset after a batch's last message of it (commit). */
typedef struct {
    const char *topic; /* borrowed, like a message's */
    int32_t partition;
    int64_t offset; /* -1: none */
} consume_partition;

/* One batch of messages, in the order they were consumed. */
typedef struct {
    const char *cluster_id; /* the Kafka cluster they come from; "" if unknown */
    const msg_view *msgs;
    size_t nmsgs;
    /* For every partition among msgs, in order of first appearance: the
     * offset after its last message (what to store as its next offset). */
    const consume_partition *next;
    size_t nnext;
    /* A store whose offsets live in Kafka (CONSUME_OFFSETS_IN_KAFKA): the
     * consumer's group metadata (an rd_kafka_consumer_group_metadata_t,
     * opaque here), which it hands to send_offsets_to_transaction so that
     * the broker refuses the offsets of a member of an older generation (a
     * zombie). Valid during the call; NULL for other stores. */
    void *group_metadata;
} consume_batch;

/* Fills out (room for n entries) with the next offset of every partition
 * among msgs[0..n), in order of first appearance, and returns how many it
 * wrote. Messages of a partition come in offset order, so the last one
 * counts. This is the loop's one computation of a batch's offsets; a test
 * that builds batches by hand uses it too. */
size_t consume_batch_offsets(const msg_view *msgs, size_t n, consume_partition *out);

/* Where a store's offsets live, which decides where a partition it has no
 * offset for starts (the one rule, applied by the loop). */
typedef enum {
    /* In the store, committed with each batch's results (SQLite, LMDB): a
     * partition without one was never processed by this store and starts at
     * the beginning of its log. */
    CONSUME_OFFSETS_IN_STORE = 0,
    /* In Kafka: the store commits them with its results in a Kafka
     * transaction (send_offsets_to_transaction), so the group's committed
     * offsets are its own progress; a partition without one starts at the
     * beginning of its log. The loop then commits no copy of its own. */
    CONSUME_OFFSETS_IN_KAFKA,
} consume_offsets_home;

/* What a store provides. ctx is the store's own, given to consume_run. */
typedef struct {
    /* Where this store's offsets live (default: in the store). */
    consume_offsets_home offsets;

    /* Required. parts[0..n) were assigned to this consumer; cluster_id is
     * the cluster it is connected to. Before the loop hands over any
     * message of them, the store gets ready for them and sets each one's
     * offset to the next offset it stored, or -1 if it stored none (or
     * stored it for another cluster: offsets mean nothing there; or its
     * offsets are in Kafka). Returns 0, or an exit code (exitcodes.h) that
     * stops the loop, e.g. GK_EXIT_IOERR when its offsets cannot be read,
     * or KAFKA_WAIT_STOPPED (-1) when a signal ended the store's own wait
     * (the loop then stops as for any signal). */
    int (*assign)(void *ctx, const char *cluster_id, consume_partition *parts, size_t n);

    /* Optional. parts[0..n) are no longer this consumer's (offsets -1);
     * every batch with their messages has been committed. */
    void (*revoke)(void *ctx, const consume_partition *parts, size_t n);

    /* Required. Processes one batch (data messages only, no error events)
     * and durably commits its results together with b->next, in one
     * transaction. Returns 0, or -1 on a storage failure: nothing of the
     * batch was kept, and the loop stops (consume_run returns GK_EXIT_IOERR),
     * or an exit code (exitcodes.h) to stop with that code instead. */
    int (*commit)(void *ctx, const consume_batch *b);

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
} consume_store;

#endif
