/* state.h - ack_consumer's durable state: one LMDB environment in --cache DIR.
 *
 * Named databases (all keys and values are private to this module):
 *   events        event id (8-byte big-endian, so keys sort numerically) ->
 *                 ack_event: which topics have been seen, OPEN/PENDING/ACKED,
 *                 and where/when each topic's message was seen.
 *   offsets       "topic/partition" -> next offset to consume (int64).
 *   pending       event id -> (empty): acks decided but not yet confirmed
 *                 delivered to the ack topic.
 *   meta          "cluster_id" -> the Kafka cluster the state belongs to;
 *                 "scan_from/<partition>" -> where a reconciliation scan of
 *                 that ack-topic partition must start (int64).
 *   dead_letters  "topic/partition/offset" -> reason and the raw key/value of
 *                 a message that could not be used.
 *
 * Every change is made by one LMDB write transaction (ack_state_apply_batch), so
 * the state on disk is always that after some whole batch: a crash at any
 * moment can neither lose a decision nor half-apply one. Values are stored
 * in host byte order: the cache is local to one machine. */
#ifndef GK_ACK_STATE_H
#define GK_ACK_STATE_H
#include "kafka/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACK_N_TOPICS 3        /* topic1..topic3; bit i of the seen mask is topic i+1 */
#define ACK_SEEN_ALL 0x07u
#define ACK_EVENT_VERSION 1

typedef enum { ACK_OPEN = 0, ACK_PENDING = 1, ACK_ACKED = 2 } ack_event_state;

/* Where and when one topic's message for an event was seen (the first one, if
 * the topic carried the event more than once). -1 means unknown. */
typedef struct {
    int64_t ts_ms;       /* Kafka message timestamp */
    int64_t produced_us; /* header gk-produced-us */
    int64_t offset;
    int32_t partition;
    int32_t reserved;
} ack_seen;

/* The stored value of one event (fixed size: 104 bytes). */
typedef struct {
    uint8_t version; /* ACK_EVENT_VERSION */
    uint8_t seen;    /* bit i: topic i+1 */
    uint8_t state;   /* ack_event_state */
    uint8_t reserved[5];
    ack_seen topics[ACK_N_TOPICS];
} ack_event;

/* One consumed message in plain form, as the consumer loop hands it over
 * (kafka/store.h), so that the state logic is testable without Kafka.
 * key/value may be NULL. */
typedef msg_view ack_msg;

/* An ack that was confirmed delivered at partition/offset of the ack topic. */
typedef struct {
    uint64_t event_id;
    int32_t partition;
    int64_t offset;
} ack_confirm;

/* A partition of the ack topic and an offset (for scan_from). */
typedef struct {
    int32_t partition;
    int64_t offset;
} ack_part_offset;

/* An event whose ack is to be produced, with what the ack reports. */
typedef struct {
    uint64_t event_id;
    ack_event ev;
} ack_ready;

/* A growable list of ready acks (owned by the caller; free with
 * ack_ready_list_free). */
typedef struct {
    ack_ready *items;
    size_t n, cap;
} ack_ready_list;

/* Everything one state transaction applies. Any part may be empty. */
typedef struct {
    const char *cluster_id; /* cluster the messages come from; NULL: not checked */
    const ack_msg *msgs;
    size_t nmsgs;
    const consume_partition *next; /* the next offset of every partition in msgs */
    size_t nnext;
    const ack_confirm *confirms; /* delivered acks: their events become ACKED */
    size_t nconfirms;
    const ack_part_offset *scan_from; /* new scan_from values, see ack_state_scan_from */
    size_t nscan_from;
} ack_batch;

/* What one transaction did (counts are for this transaction only). */
typedef struct {
    size_t dead_letters; /* new dead letters recorded */
    size_t acked;        /* events that became ACKED */
    size_t completed;    /* events that became PENDING (also appended to the ready list) */
    bool cleared;        /* the cluster changed and the state was cleared */
} ack_batch_result;

typedef enum {
    ACK_SYNC_FULL,   /* fsync at every commit: survives a machine crash */
    ACK_SYNC_PROCESS /* MDB_NOSYNC|MDB_NOMETASYNC: survives a process crash only */
} ack_sync_mode;

typedef struct {
    const char *dir;     /* created if absent (unless read_only) */
    ack_sync_mode sync;
    size_t map_bytes;    /* LMDB map size (most the state can grow to) */
    bool read_only;      /* for --dump-dead-letters: no lock, no changes */
    bool keep_state_on_new_cluster; /* keep the state when the cluster id changes */
} ack_state_options;

typedef struct ack_state ack_state;

/* Opens (creating if needed) the environment in o->dir and takes an exclusive
 * lock on DIR/ack_consumer.lock so that two consumers never share a cache
 * (a read-only open takes no lock). Returns 0, or -1 with a one-line reason
 * in err. */
int ack_state_open(const ack_state_options *o, ack_state **out, char *err, size_t errlen);

/* Syncs (in ACK_SYNC_PROCESS mode too) and closes. NULL is allowed. */
void ack_state_close(ack_state *s);

/* Records cluster_id as the cluster the state belongs to. If another cluster
 * id is stored, every database is cleared first (with a warning) unless the
 * state was opened with keep_state_on_new_cluster. Sets *cleared when it
 * cleared. Returns 0, or -1 with the reason in err. */
int ack_state_use_cluster(ack_state *s, const char *cluster_id, bool *cleared, char *err,
                          size_t errlen);

/* Applies one batch in ONE write transaction: cluster check (as
 * ack_state_use_cluster), confirmations, scan_from values, then every message:
 * a valid one (accepted by schema_message_map, the rule db_consumer applies
 * too) sets its topic's seen bit; an event
 * whose mask becomes complete while OPEN becomes PENDING, enters "pending" and
 * is appended to ready. Messages for PENDING or ACKED events change nothing.
 * An unusable message is logged and stored as a dead letter (once per
 * topic/partition/offset). The next offsets b->next are stored.
 * On failure nothing is written, ready is left as it was, and -1 is returned
 * with the reason in err (an LMDB map full names --map-size). */
int ack_state_apply_batch(ack_state *s, const ack_batch *b, ack_ready_list *ready,
                          ack_batch_result *res, char *err, size_t errlen);

/* The next offset stored for topic/partition, or -1 if there is none or the
 * state belongs to another cluster than cluster_id (NULL: not checked). */
int64_t ack_state_stored_offset(ack_state *s, const char *cluster_id, const char *topic,
                                int32_t partition);

/* Where a reconciliation scan of ack-topic partition must start: every ack
 * of a still pending event that exists in that partition is at this offset
 * or later. -1 if unknown (scan from the beginning). */
int64_t ack_state_scan_from(ack_state *s, int32_t partition);

/* Appends every pending event (with its stored record) to list. Returns the
 * number appended, or -1 with the reason in err. */
long ack_state_pending(ack_state *s, ack_ready_list *list, char *err, size_t errlen);

/* Reads one event. Returns 1 and fills *ev if it exists, 0 if not, -1 on error. */
int ack_state_get_event(ack_state *s, uint64_t event_id, ack_event *ev);

/* Calls fn for every dead letter, in key order; stops early if fn returns
 * non-zero. Returns the number visited, or -1 on error. */
typedef int (*ack_dead_letter_fn)(void *ctx, const char *topic, int32_t partition,
                                  int64_t offset, const char *reason, const void *key,
                                  size_t key_len, const void *value, size_t value_len);
long ack_state_dead_letters(ack_state *s, ack_dead_letter_fn fn, void *ctx);

/* Counts of the databases (for tests and the start-up log line). */
typedef struct {
    size_t events, pending, dead_letters, offsets;
} ack_state_counts;
int ack_state_counts_get(ack_state *s, ack_state_counts *c);

/* Appends one ready ack; returns 0 or -1 on out of memory. */
int ack_ready_list_push(ack_ready_list *l, uint64_t event_id, const ack_event *ev);

/* Frees the list's items and empties it. */
void ack_ready_list_free(ack_ready_list *l);

#endif
