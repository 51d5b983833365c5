/* sink.h - db_consumer's SQLite side: rows of topic1..3 into tables data1..3,
 * poison messages into dead_letters, and each partition's next offset into
 * kafka_offsets, all in one transaction per batch (the exactly-once half that
 * lives in the database; common/consume.h is the Kafka half).
 *
 * The sink knows nothing of librdkafka: it takes sink_msg, a neutral view of a
 * message, so it can be tested without a broker. */
#ifndef GK_SINK_H
#define GK_SINK_H
#include "common/msg.h"
#include "schema/schema.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sink sink;

/* How hard each commit is pushed to disk. FULL survives power loss; NORMAL
 * (WAL) survives a process crash but may lose the last transactions on power
 * loss - the Kafka log still has them, but the store's offsets would go back
 * too, so nothing is lost or duplicated either way. */
typedef enum { SINK_SYNC_FULL = 0, SINK_SYNC_NORMAL } sink_sync;

/* One Kafka message as the sink sees it (common/msg.h; ts_ms and produced_us
 * are not used). Pointers are borrowed for the call. */
typedef msg_view sink_msg;

/* Counters, added to by every committed batch (a rolled-back batch adds nothing). */
typedef struct {
    uint64_t rows;         /* rows upserted (a re-delivered message counts again) */
    uint64_t dead_letters; /* messages that could not be mapped to a row */
    uint64_t table_rows[SCHEMA_N_RECORDS]; /* rows per record type, schema_records order */
} sink_stats;

/* Opens or creates the database at path: WAL journal, the given synchronous
 * level, a busy timeout, the tables of every schema record plus kafka_offsets
 * and dead_letters, and the prepared statements. Returns NULL with a one-line
 * reason naming the file in err on failure. */
sink *sink_open(const char *path, sink_sync sync, char *err, size_t errlen);

/* Writes a batch in one transaction: each message becomes an upsert into its
 * topic's table, or a dead letter (logged as a warning with topic, partition,
 * offset and reason) if it cannot be mapped; then, for each partition in the
 * batch, the offset after its last message is stored under cluster_id.
 * Re-delivered messages rewrite the same rows and make no second dead letter.
 * Returns 0, or -1 after logging the SQLite error and rolling back (nothing
 * of the batch is kept; stats untouched). */
int sink_write_batch(sink *s, const char *cluster_id, const sink_msg *msgs, size_t n,
                     sink_stats *stats);

/* The next offset stored for topic/partition, or -1 if there is none, it was
 * stored for another cluster id, or the lookup failed (logged). */
int64_t sink_stored_offset(sink *s, const char *cluster_id, const char *topic, int32_t partition);

/* Finalizes the statements and closes the database. NULL is allowed. */
void sink_close(sink *s);

#endif
