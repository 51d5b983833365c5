/* batch.h - the one rule of what a database store writes for a batch, which
 * every store (store_sqlite.c, store_pg.c) applies inside its transaction.
 *
 * Exactly once with several writers. More than one db_consumer may hold the
 * same partition for a while: one that lost it without knowing yet (frozen,
 * cut off from the broker, its session expired) and its successor, which
 * started from the offset stored in the database. Each batch's transaction
 * therefore first locks and reads the stored next offset S of each of its
 * partitions, and only then decides, per partition with messages at offsets
 * first..next-1:
 *   - nothing stored (or stored for another cluster): write them all;
 *   - S <= first: write them all (S < first only where the log has no
 *     message in between: compaction, transaction markers);
 *   - first < S < next: another instance already wrote first..S-1: write
 *     S..next-1 only;
 *   - S >= next: another instance already wrote them all: write nothing, and
 *     leave S as it is - a stored offset never moves backwards.
 * Every message of a partition is thus applied once, in offset order, by
 * whichever writer's transaction gets there first; the row lock on the
 * offset serializes the two writers. A replay of a batch whose commit was
 * lost with the connection is the same case (S >= next): nothing twice.
 *
 * The one exception: the loop itself went back - it started a partition
 * before the offset the store gave it on assignment (the loop does so when
 * the stored offset lies beyond the end of the log: the topic was deleted
 * and created again). Those offsets belong to a new log, so the batch is
 * written whole and the stored offset reset to its end (logged). The store
 * remembers what it told the loop (db_batch_told) to tell the two apart. */
#ifndef GK_DB_BATCH_H
#define GK_DB_BATCH_H
#include "kafka/store.h"
#include "schema/message.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What to do with one partition of a batch (b->next[i]). */
typedef struct {
    int64_t first;     /* the batch's first offset of it */
    int64_t from;      /* write its messages at offsets >= from */
    bool store_offset; /* store b->next[i].offset as its next offset */
} db_batch_part;

/* The positions a store told the loop, per partition: where each one's
 * messages must continue. A store keeps one and frees it with
 * db_batch_told_free. */
typedef struct {
    struct db_batch_pos *pos;
    size_t n, cap;
} db_batch_told;

/* Notes that the loop was told to start topic/partition at offset (-1:
 * nowhere in particular; the loop picks its start). Returns 0, or -1 if
 * out of memory (the partition is then treated as never told). */
int db_batch_told_set(db_batch_told *t, const char *topic, int32_t partition, int64_t offset);
void db_batch_told_free(db_batch_told *t);

/* Applies the rule above to every partition of b: stored[i] is the next
 * offset stored for b->next[i] under b->cluster_id, read under a lock in the
 * batch's transaction (-1: none, or another cluster's). Fills plan[0..b->nnext)
 * and returns how many messages are skipped because another instance wrote
 * them (each such partition is logged). */
size_t db_batch_plan(const db_batch_told *told, const consume_batch *b, const int64_t *stored,
                     db_batch_part *plan);

/* After the batch's transaction committed: its partitions continue at their
 * next offsets. */
void db_batch_committed(db_batch_told *told, const consume_batch *b);

/* Where one message goes. Both return 0, or -1 on a storage error (the
 * walk stops and the store rolls the batch back). */
typedef struct {
    /* m is a row of sm->rec with sm->values (valid during the call only). */
    int (*row)(void *ctx, const msg_view *m, const schema_message *sm);
    /* m cannot become a row, for reason (already logged). */
    int (*dead_letter)(void *ctx, const msg_view *m, const char *reason);
} db_batch_sink;

/* Hands every message of b that plan says to write, in batch order, to
 * sink: a row if the message rule (schema/message.h) maps it, else a dead
 * letter, logged with topic, partition, offset and the reason. Returns 0 or
 * the first -1 of the sink. */
int db_batch_walk(const consume_batch *b, const db_batch_part *plan, const db_batch_sink *sink,
                  void *ctx);

/* Logs that m becomes a dead letter for reason: the one warning line every
 * dead letter gets, whoever refused it (the message rule or a table). */
void db_batch_log_dead_letter(const msg_view *m, const char *reason);

/* Index in b->next of m's partition. *hint is the last answer (start with
 * 0): a fetch delivers runs of one partition, so it usually is the answer. */
size_t db_batch_part_of(const consume_batch *b, const msg_view *m, size_t *hint);

#endif
