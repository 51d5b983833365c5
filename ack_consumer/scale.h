/* scale.h - ack_consumer's scalable mode (--mode scalable): N instances in
 * one consumer group split topic1..3 by partition number, and the state of
 * a partition moves with it.
 *
 * The life cycle of an event is the same as in single mode (rules.h); what
 * differs is how it is made durable:
 *   - one LMDB store per partition number (--cache DIR/p<N>), so that a
 *     partition's state is dropped and restored on its own;
 *   - every change of an event's record is also written to the changelog
 *     topic (compacted, co-partitioned with topic1..3: partition N holds
 *     the records of the events of partition N), in the same Kafka
 *     transaction as the acks it causes and the consumed offsets
 *     (send_offsets_to_transaction with the consumer's group metadata, so
 *     that the broker refuses a member of an older generation). An event
 *     completes and is acked in one transaction: PENDING is never durable,
 *     and no reconciliation is needed.
 *   - Only after the Kafka commit is the LMDB transaction committed, with
 *     the partition's changelog checkpoint (the offset after its last
 *     record). The changelog is the source of truth; LMDB is a local copy
 *     that saves replaying it.
 *   - On assignment of partition N, before any message of it is processed,
 *     the changelog's partition N is read (read_committed) from the local
 *     checkpoint to its end into the store; first, any open transaction in
 *     it (a crashed or stopped previous owner's) is waited out, so that the
 *     state restored and the group's committed offsets match.
 *   - A dead letter is produced to the dead-letter topic (partition N for a
 *     message of partition N) in the same transaction as the offsets that
 *     skip it: exactly once, and it survives the loss of any instance and
 *     its cache (sender.h has the record's form).
 *   - With a horizon (--ack-retention), each partition's transaction first
 *     forgets up to expire_max events acked before it (LMDB) and writes
 *     their tombstones to the changelog; a restore applies a tombstone as a
 *     deletion.
 * The consumed offsets live in Kafka in this mode (CONSUME_OFFSETS_IN_KAFKA). */
#ifndef GK_ACK_SCALE_H
#define GK_ACK_SCALE_H
#include "ack_consumer/sender.h"
#include "ack_consumer/store_lmdb.h"
#include "common/cli.h"
#include "kafka/store.h"

#include <stdint.h>

typedef struct ack_scale ack_scale;

typedef struct {
    const char *bootstrap;
    const cli_kv_list *kafka;      /* -X pass-through */
    const char *changelog;         /* the changelog topic */
    const char *dead_letters;      /* the dead-letter topic */
    const char *const *topics;     /* topic1..3 */
    size_t ntopics;
    ack_store_options store;       /* dir is the cache root: DIR/p<N> per partition */
    long connect_timeout_s;
    long retention_s;  /* --ack-retention, 0: forever */
    size_t expire_max; /* events forgotten per partition and transaction, at most */
} ack_scale_config;

/* Checks the topics (same partition count, the changelog and dead-letter
 * topics too: a missing or different one is named with the command that
 * creates it) and
 * creates the restore clients. *partitions gets the partition count. The
 * sender is given later (ack_scale_set_sender). Returns 0 or an exit code
 * (logged): GK_EXIT_USAGE for topics that are not co-partitioned. */
int ack_scale_open(const ack_scale_config *cfg, ack_scale **out, int32_t *partitions);

/* The transactional producer of this instance (owned by the caller). */
void ack_scale_set_sender(ack_scale *sc, ack_sender *sender);

/* The consume_store of this mode (kafka/store.h), ctx = sc. */
consume_store ack_scale_store(void);

/* What this instance did, in committed transactions. */
typedef struct {
    uint64_t restored;     /* changelog records read by restores */
    uint64_t dead_letters; /* dead letters written */
    uint64_t expired;      /* acked events forgotten (tombstones written) */
} ack_scale_counts;
ack_scale_counts ack_scale_counts_get(const ack_scale *sc);

/* Closes the stores and the restore clients. NULL is allowed. */
void ack_scale_close(ack_scale *sc);

#endif
