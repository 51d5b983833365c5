/* store.h - db_consumer's database side: rows of topic1..3 into tables
 * data1..3, poison messages into dead_letters, and each partition's next
 * offset into kafka_offsets, all in one transaction per batch (the
 * exactly-once half that lives in the database; kafka/consume.h is the Kafka
 * half).
 *
 * A store is one database behind a small table of operations, so that every
 * database db_consumer can write to is one file beside the others:
 * store_sqlite.c is SQLite's, store_pg.c PostgreSQL's (store.c picks one by
 * the --db value). What a store writes for a batch is one rule for all of
 * them (batch.h). A store knows nothing of librdkafka: it takes the loop's
 * neutral batches (kafka/store.h), so it is tested without a broker. */
#ifndef GK_DB_STORE_H
#define GK_DB_STORE_H
#include "kafka/store.h"
#include "schema/message.h"
#include "schema/schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How hard each commit is pushed to disk. FULL survives power loss; NORMAL
 * survives a process crash but may lose the last transactions on power loss
 * (PostgreSQL: a crash of the server) - the Kafka log still has them, but the
 * store's offsets would go back too, so nothing is lost or duplicated either
 * way. */
typedef enum { DB_SYNC_FULL = 0, DB_SYNC_NORMAL } db_sync;

/* Counters, added to by every committed batch (a rolled-back batch adds nothing). */
typedef struct {
    uint64_t rows;         /* rows upserted (a re-delivered message counts again) */
    uint64_t dead_letters; /* messages that could not be mapped to a row */
    uint64_t table_rows[SCHEMA_N_RECORDS]; /* rows per record type, schema_records order */
    uint64_t dead_by_class[SCHEMA_REASON_CLASSES]; /* dead letters per schema_reason_class */
    uint64_t skipped; /* messages found already stored by another writer (batch.h) */
} db_stats;

/* to += add, field by field. */
void db_stats_add(db_stats *to, const db_stats *add);

typedef struct db_store db_store;

/* What every database's store does. */
typedef struct {
    /* Sets each of parts[0..n) to the next offset stored for it, or -1 if
     * there is none or it was stored for another cluster id. Returns 0; an
     * exit code (GK_EXIT_IOERR, or the one the database's failure means,
     * e.g. GK_EXIT_NOPERM) after logging a database error - a failed lookup
     * is never taken for "none": the partition would be read again from the
     * start -; or -1 when a signal ended a wait for the database (nothing
     * read; the loop stops as for any signal). */
    int (*positions)(db_store *s, const char *cluster_id, consume_partition *parts, size_t n);

    /* Writes a batch in one transaction: each message becomes an upsert into
     * its topic's table, or a dead letter (logged as a warning with topic,
     * partition, offset and the reason schema_message_map gave) if it cannot
     * be mapped; then b->next is stored under b->cluster_id - all of it as
     * batch.h's rule decides, against the offsets stored when the
     * transaction began. Re-delivered messages rewrite the same rows and
     * make no second dead letter. Returns 0, or -1 after logging the
     * database error and rolling back (nothing of the batch is kept; stats
     * untouched; the store's exit_code may say why). */
    int (*write)(db_store *s, const consume_batch *b, db_stats *stats);

    /* Closes the database and frees the store. */
    void (*close)(db_store *s);
} db_store_ops;

/* Every store begins with its operations. */
struct db_store {
    const db_store_ops *ops;
    /* After a failed write: the exit code (exitcodes.h) that says why better
     * than GK_EXIT_IOERR (e.g. the database refused our password), or 0. */
    int exit_code;
};

/* The one rule of what --db names: a PostgreSQL database when the value
 * starts with postgresql:// or postgres:// (a libpq URI), or with a word of
 * letters and underscores followed by '=' (a libpq key=value string, e.g.
 * "host=db dbname=genetika" or "service=genetika"); otherwise a SQLite file
 * (write ./a=b.db for a file whose name looks like a key=value string). */
bool db_store_is_postgres(const char *db);

/* Opens the database db names (db_store_is_postgres) into *out; wait_s
 * bounds the wait for a PostgreSQL server that does not answer yet (0: until
 * a signal). Returns 0 with *out set; or, with *out NULL, an exit code and a
 * one-line reason in err - GK_EXIT_OK when a signal ended the wait (nothing
 * was done). */
int db_store_open(const char *db, db_sync sync, int wait_s, db_store **out, char *err,
                  size_t errlen);

/* db as a log line may show it: a SQLite path as it is; a PostgreSQL
 * conninfo without its password (store_pg.c). Writes into out (len bytes). */
void db_store_describe(const char *db, char *out, size_t len);

/* Opens or creates the SQLite database at path (store_sqlite.c) into *out:
 * a busy timeout, the integrity check (PRAGMA quick_check: every page is
 * read, so its cost grows with the database; bench/README.md), WAL
 * journal, the given synchronous level, the tables of every schema record
 * plus kafka_offsets and dead_letters, and the prepared statements. Returns
 * 0, or an exit code with a one-line reason naming the file in err:
 * GK_EXIT_IOERR for a damaged database (or a file that is not one),
 * GK_EXIT_CANTCREAT when it cannot be created or opened. */
int db_store_sqlite_open(const char *path, db_sync sync, db_store **out, char *err,
                         size_t errlen);

/* Connects to the PostgreSQL database conninfo names (store_pg.c), waiting
 * at most wait_s seconds for a server that does not answer (0: until a
 * signal), creates the same tables if absent (and checks existing ones
 * against the schema), and prepares its statements, into *out. Returns 0,
 * or as db_store_open an exit code with a one-line reason in err
 * (exitcodes.h: GK_EXIT_NOPERM, _NODATABASE, _CONFIG, _UNAVAILABLE,
 * _CANTCREAT or _USAGE; GK_EXIT_OK when stopped by a signal). */
int db_store_pg_open(const char *conninfo, db_sync sync, int wait_s, db_store **out, char *err,
                     size_t errlen);

static inline int db_store_positions(db_store *s, const char *cluster_id, consume_partition *parts,
                                     size_t n) {
    return s->ops->positions(s, cluster_id, parts, n);
}

static inline int db_store_write(db_store *s, const consume_batch *b, db_stats *stats) {
    return s->ops->write(s, b, stats);
}

/* NULL is allowed. */
static inline void db_store_close(db_store *s) {
    if (s) s->ops->close(s);
}

#endif
