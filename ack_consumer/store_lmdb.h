/* store_lmdb.h - ack_consumer's durable store: one LMDB environment in
 * --cache DIR, changed only by whole write transactions.
 *
 * Named databases (all keys and values are private to store_lmdb.c):
 *   events        event id (8-byte big-endian, so keys sort numerically) ->
 *                 ack_event (event.h); an ACKED event only its first 8 bytes.
 *   offsets       "topic/partition" -> next offset to consume (int64).
 *   pending       event id -> (empty): the events in PENDING, whose acks are
 *                 decided but not yet confirmed delivered to the ack topic.
 *   meta          "cluster_id" -> the Kafka cluster the state belongs to;
 *                 "changelog_next" -> (scalable mode, one store per partition)
 *                 the changelog offset the state includes everything before;
 *                 "scan_from/<partition>" -> where a reconciliation scan of
 *                 that ack-topic partition must start (int64).
 *   dead_letters  "topic/partition/offset" -> reason and the raw key/value of
 *                 a message that could not be used (single mode; the
 *                 scalable one keeps them in a topic, scale.h).
 *   acked_at      ack time (4-byte big-endian seconds) + event id (8-byte
 *                 big-endian) -> (empty): the ACKED events in the order
 *                 they were acked, for --ack-retention's expiry; kept only
 *                 when the store is opened with index_acked.
 *
 * The store knows records, not rules: what happens to an event is decided
 * by rules.c, which reads and writes events, the pending set, dead letters
 * and offsets through one ack_txn per batch. So the state on disk is always
 * that after some whole batch: a crash at any moment can neither lose a
 * decision nor half-apply one. Values are stored in host byte order: the
 * cache is local to one machine. */
#ifndef GK_ACK_STORE_LMDB_H
#define GK_ACK_STORE_LMDB_H
#include "ack_consumer/event.h"
#include "ack_consumer/ready.h"
#include "kafka/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
    bool index_acked;    /* --ack-retention: index ACKED events by ack time (acked_at) */
    size_t map_budget;   /* bytes of data.mdb mapped beyond which the map is released (0: 8 MiB) */
} ack_store_options;

/* A partition of the ack topic and an offset (for scan_from). */
typedef struct {
    int32_t partition;
    int64_t offset;
} ack_part_offset;

typedef struct ack_store ack_store;

/* The open write transaction of a store (one at a time). */
typedef struct ack_txn ack_txn;

/* Opens (creating if needed) the environment in o->dir and takes an exclusive
 * lock on DIR/ack_consumer.lock so that two consumers never share a cache
 * (a read-only open takes no lock). Then checks its integrity: the data file
 * holds every page the environment says it has, and every database reads
 * through, each record in the form this version writes - a damaged cache is
 * refused here rather than read as a smaller one (the check reads every
 * page once: bench/README.md has its cost). Returns 0, or an exit code with
 * a one-line reason naming the file, database and record in err:
 * GK_EXIT_IOERR for a cache that fails the check, GK_EXIT_CANTCREAT when the
 * directory, its lock or the environment cannot be created or opened. */
int ack_store_open(const ack_store_options *o, ack_store **out, char *err, size_t errlen);

/* Syncs (in ACK_SYNC_PROCESS mode too) and closes. NULL is allowed. */
void ack_store_close(ack_store *s);

/* ------------------------------------------------------------ writing */

/* Begins the store's write transaction. Returns it, or NULL with the reason
 * in err. End it with ack_txn_commit or ack_txn_abort. */
ack_txn *ack_txn_begin(ack_store *s, char *err, size_t errlen);

/* Commits t. Returns 0, or -1 with the reason in err (nothing was written;
 * an LMDB map full names --map-size, a full disk says so and where). t is
 * ended either way. */
int ack_txn_commit(ack_txn *t, char *err, size_t errlen);

/* Drops everything t wrote. */
void ack_txn_abort(ack_txn *t);

/* The functions below work inside t. Each returns 0 (or what it says), or -1
 * with the reason in err; after -1 the caller aborts t. */

/* Records cluster_id as the cluster the state belongs to. If another cluster
 * id is stored, every database is cleared first (with a warning) unless the
 * store was opened with keep_state_on_new_cluster, in which case only the
 * offsets and meta are. Sets *cleared when it cleared. */
int ack_txn_use_cluster(ack_txn *t, const char *cluster_id, bool *cleared, char *err,
                        size_t errlen);

/* Reads one event: returns 1 and fills *ev, or 0 if it is not stored. An
 * ACKED event comes back with its topics unknown (-1): they are not kept. */
int ack_txn_get_event(ack_txn *t, uint64_t id, ack_event *ev, char *err, size_t errlen);

/* Writes one event (an ACKED one in its compact form; with index_acked and
 * a known ack time, also in acked_at). */
int ack_txn_put_event(ack_txn *t, uint64_t id, const ack_event *ev, char *err, size_t errlen);

/* Forgets event id: its record, and its entries in pending and acked_at.
 * Returns 1 if it was stored, 0 if not. */
int ack_txn_forget(ack_txn *t, uint64_t id, char *err, size_t errlen);

/* Forgets up to max ACKED events acked before before_s, oldest first (by
 * acked_at), telling fn (optional) each id. An acked_at entry that no
 * longer matches its event (rewritten meanwhile) is dropped, the event
 * kept. Returns the number of events forgotten, or -1 (fn's -1 reads as
 * out of memory). */
long ack_txn_expire(ack_txn *t, uint32_t before_s, size_t max, int (*fn)(void *, uint64_t),
                    void *ctx, char *err, size_t errlen);

/* Adds id to the pending set, or takes it out (absent is fine). */
int ack_txn_set_pending(ack_txn *t, uint64_t id, bool pending, char *err, size_t errlen);

/* Stores a dead letter once per topic/partition/offset (logging it as a
 * warning): a re-delivery of the same message finds it there and adds
 * nothing. Returns 1 if it was added, 0 if it was there already. */
int ack_txn_dead_letter(ack_txn *t, const msg_view *m, const char *reason, char *err,
                        size_t errlen);

/* Stores the next offset of every partition in next[0..n). */
int ack_txn_put_offsets(ack_txn *t, const consume_partition *next, size_t n, char *err,
                        size_t errlen);

/* Stores the scan_from values sf[0..n) (see ack_store_scan_from). */
int ack_txn_put_scan_from(ack_txn *t, const ack_part_offset *sf, size_t n, char *err,
                          size_t errlen);

/* Scalable mode (scale.h): stores the changelog checkpoint, the offset of
 * the partition's changelog that this store's state includes every record
 * before - where a restore resumes. */
int ack_txn_put_checkpoint(ack_txn *t, int64_t next, char *err, size_t errlen);

/* Empties every database (a partition's state that is to be rebuilt from
 * its changelog). */
int ack_txn_clear(ack_txn *t, char *err, size_t errlen);

/* ack_txn_use_cluster in a transaction of its own. */
int ack_store_use_cluster(ack_store *s, const char *cluster_id, bool *cleared, char *err,
                          size_t errlen);

/* ------------------------------------------------------------ reading */

/* The functions below return -1 with the reason in err on a storage error
 * (an LMDB error, or a record not in the form this version writes). */

/* Sets *next to the next offset stored for topic/partition, or -1 if there
 * is none or the state belongs to another cluster than cluster_id (NULL:
 * not checked). Returns 0 or -1. */
int ack_store_stored_offset(ack_store *s, const char *cluster_id, const char *topic,
                            int32_t partition, int64_t *next, char *err, size_t errlen);

/* Sets *from to where a reconciliation scan of ack-topic partition must
 * start: every ack of a still pending event that exists in that partition
 * is at this offset or later; -1 if unknown (scan from the beginning).
 * Returns 0 or -1. */
int ack_store_scan_from(ack_store *s, int32_t partition, int64_t *from, char *err,
                        size_t errlen);

/* Sets *next to the stored changelog checkpoint, or -1 if none. Returns 0
 * or -1. */
int ack_store_checkpoint(ack_store *s, int64_t *next, char *err, size_t errlen);

/* Appends every pending event (with its stored record) to list, in event id
 * order. Returns the number appended, or -1 with the reason in err. */
long ack_store_pending(ack_store *s, ack_ready_list *list, char *err, size_t errlen);

/* Reads one event. Returns 1 and fills *ev if it exists, 0 if not, -1 on error. */
int ack_store_get_event(ack_store *s, uint64_t event_id, ack_event *ev, char *err,
                        size_t errlen);

/* Calls fn for every dead letter, in key order; stops early if fn returns
 * non-zero. Returns the number visited, or -1 on error: a damaged record or
 * page ends the walk as an error, never as its end. */
typedef int (*ack_dead_letter_fn)(void *ctx, const char *topic, int32_t partition,
                                  int64_t offset, const char *reason, const void *key,
                                  size_t key_len, const void *value, size_t value_len);
long ack_store_dead_letters(ack_store *s, ack_dead_letter_fn fn, void *ctx, char *err,
                            size_t errlen);

/* Counts of the databases (for tests and the start-up log line). Returns 0
 * or -1. */
typedef struct {
    size_t events, pending, dead_letters, offsets, acked_at;
} ack_store_counts;
int ack_store_count(ack_store *s, ack_store_counts *c, char *err, size_t errlen);

#endif
