/* rules.h - the life cycle of an event: seen -> pending -> acked.
 *
 * An event is OPEN while it has been seen on some of the data topics. The
 * message that completes the set makes it PENDING: its ack is decided, it
 * enters the pending set and the ready list, and the sender produces it.
 * The confirmation of that ack's delivery makes it ACKED. A message for a
 * PENDING or ACKED event, or a second one of a topic, changes nothing: no
 * event is ever acked twice - while it is remembered. With a horizon
 * (--ack-retention) an ACKED event is forgotten that long after its ack,
 * and a later message of it starts its life cycle afresh. What a message means - its record type and
 * event id, or that it is a dead letter - is schema_message_map's, the rule
 * db_consumer applies too.
 *
 * The rules keep no state of their own: they read and write records through
 * the store's transaction (store_lmdb.h), one per batch, so how and where
 * the records are kept (one environment today, per partition tomorrow) is
 * the store's business alone. */
#ifndef GK_ACK_RULES_H
#define GK_ACK_RULES_H
#include "ack_consumer/ready.h"
#include "ack_consumer/store_lmdb.h"
#include "kafka/store.h"
#include "schema/message.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An ack that was confirmed delivered at partition/offset of the ack topic. */
typedef struct {
    uint64_t event_id;
    int32_t partition;
    int64_t offset;
} ack_confirm;

/* Everything one state transaction applies. Any part may be empty. */
typedef struct {
    const char *cluster_id; /* cluster the messages come from; NULL: not checked */
    const msg_view *msgs;
    size_t nmsgs;
    const consume_partition *next; /* the next offset of every partition in msgs */
    size_t nnext;
    const ack_confirm *confirms; /* delivered acks: their events become ACKED */
    size_t nconfirms;
    const ack_part_offset *scan_from; /* new scan_from values, see ack_store_scan_from */
    size_t nscan_from;
    /* Optional: told the id of every event the transaction writes (scalable
     * mode: its changelog record). Returns 0, or -1 if out of memory. */
    int (*changed)(void *ctx, uint64_t event_id);
    void *changed_ctx; /* the ctx of changed, dead_letter and forgotten */
    /* Optional (scalable mode): keeps a dead letter instead of the store
     * (ack_txn_dead_letter): in the dead-letter topic, in the batch's Kafka
     * transaction. Returns 0, or -1 (logged) to fail the batch. */
    int (*dead_letter)(void *ctx, const msg_view *m, const char *reason);
    /* The wall clock (seconds since 1970): an event acked in this
     * transaction records it as its ack time (ack_event.acked_s). */
    uint32_t now_s;
    /* The horizon (--ack-retention): first of all, up to expire_max ACKED
     * events acked before expire_before_s (0: none) are forgotten, oldest
     * first (ack_txn_expire), each told to forgotten (optional; scalable
     * mode: its changelog tombstone). A message of a forgotten event later
     * starts it afresh: a replay after the horizon is acked again. */
    uint32_t expire_before_s;
    size_t expire_max;
    int (*forgotten)(void *ctx, uint64_t event_id);
} ack_batch;

/* What one transaction did (counts are for this transaction only). */
typedef struct {
    size_t dead_letters; /* new dead letters recorded */
    size_t dead_by_class[SCHEMA_REASON_CLASSES]; /* the same, per schema_reason_class */
    size_t acked;        /* events that became ACKED */
    size_t completed;    /* events that became PENDING (also appended to the ready list) */
    size_t expired;      /* ACKED events forgotten (the horizon) */
    bool cleared;        /* the cluster changed and the state was cleared */
} ack_batch_result;

/* The one rule of time in a batch: sets b->now_s from now_us (the wall
 * clock, microseconds) and, for a horizon of retention_s seconds (0:
 * forever, nothing expires), b->expire_before_s = now - retention_s and
 * b->expire_max = max: the work per transaction stays bounded, and with max
 * at least the batch size expiry keeps up with any rate of new events (a
 * batch of N messages acks at most N events). */
void ack_rules_horizon(ack_batch *b, int64_t now_us, long retention_s, size_t max);

/* Applies one batch in ONE store transaction: the cluster check
 * (ack_txn_use_cluster), the confirmations, the scan_from values, then every
 * message - an accepted one sets its topic's seen bit, and an event whose
 * set becomes complete while OPEN becomes PENDING and is appended to ready;
 * a refused one becomes a dead letter - and finally the next offsets b->next.
 * On failure nothing is written, ready is left as it was, and -1 is returned
 * with the reason in err (an LMDB map full names --map-size). */
int ack_rules_apply(ack_store *s, const ack_batch *b, ack_ready_list *ready,
                    ack_batch_result *res, char *err, size_t errlen);

/* The same rules inside t, a transaction the caller opened and commits or
 * aborts (scalable mode: after its Kafka transaction). On -1 the caller
 * aborts t and drops what was appended to ready. */
int ack_rules_apply_txn(ack_txn *t, const ack_batch *b, ack_ready_list *ready,
                        ack_batch_result *res, char *err, size_t errlen);

#endif
