/* store_sqlite.c - db_consumer's SQLite store (see store.h).
 *
 * One transaction per batch holds the rows, the dead letters and the offsets,
 * so the database is always "everything up to offset N of each partition, and
 * nothing after": a crash anywhere loses no message and duplicates none.
 * BEGIN IMMEDIATE takes the database's write lock first, so instances sharing
 * the file take turns, and each applies batch.h's rule to the offsets it
 * then reads. */
#include "db_consumer/store.h"

#include "common/exitcodes.h"
#include "common/log.h"
#include "db_consumer/batch.h"
#include "schema/message.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQ_BUSY_TIMEOUT_MS 10000

static const char sq_tables_sql[] =
    "CREATE TABLE IF NOT EXISTS kafka_offsets ("
    " cluster_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,"
    " next_offset INTEGER NOT NULL, PRIMARY KEY (topic, partition));"
    "CREATE TABLE IF NOT EXISTS dead_letters ("
    " id INTEGER PRIMARY KEY, topic TEXT NOT NULL, partition INTEGER NOT NULL,"
    " offset INTEGER NOT NULL, key BLOB, value BLOB, reason TEXT NOT NULL,"
    " received_at TEXT NOT NULL, UNIQUE (topic, partition, offset));";

static const char sq_offset_upsert_sql[] =
    "INSERT INTO kafka_offsets (cluster_id, topic, partition, next_offset) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (topic, partition) DO UPDATE SET cluster_id = excluded.cluster_id,"
    " next_offset = excluded.next_offset";

static const char sq_offset_select_sql[] =
    "SELECT cluster_id, next_offset FROM kafka_offsets WHERE topic = ? AND partition = ?";

/* A re-delivered poison message hits the unique key and is ignored. */
static const char sq_dead_letter_sql[] =
    "INSERT OR IGNORE INTO dead_letters (topic, partition, offset, key, value, reason, received_at)"
    " VALUES (?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))";

typedef struct {
    db_store base; /* first: a db_store * is a sq_store * */
    sqlite3 *db;
    char *path;
    sqlite3_stmt *upsert[SCHEMA_N_RECORDS]; /* schema_records order */
    sqlite3_stmt *offset_upsert, *offset_select, *dead_letter;
    sqlite3_stmt *begin, *commit, *rollback;
    db_batch_told told; /* what the loop was told at assignment */
    db_stats add;       /* the open batch's counts, added to the totals at commit */
} sq_store;

/* ------------------------------------------------------------------------ */
/* Opening                                                                   */
/* ------------------------------------------------------------------------ */

static int sq_prepare(sq_store *s, const char *sql, sqlite3_stmt **stmt, char *err, size_t errlen) {
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) == SQLITE_OK)
        return 0;
    snprintf(err, errlen, "%s: cannot prepare statement: %s", s->path, sqlite3_errmsg(s->db));
    return -1;
}

static int sq_exec(sq_store *s, const char *sql, char *err, size_t errlen) {
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
    snprintf(err, errlen, "%s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    return -1;
}

/* True when the last error of the database says its file is damaged or is
 * not a database at all. */
static bool sq_damaged(sq_store *s) {
    int rc = sqlite3_errcode(s->db) & 0xff;
    return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

/* The integrity check at open: PRAGMA quick_check reads every page and
 * checks the structure of every table and index (integrity_check would also
 * match each index against its table: more time for little more here, as
 * the rows are upserts by key). A database that fails it is refused: its
 * rows and offsets cannot be trusted, and writing on would spread the
 * damage. Returns 0, or -1 with the first problem found in err. */
static int sq_check(sq_store *s, char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s: %s", s->path, sq_damaged(s) ? "corrupt database" : "check",
                 sqlite3_errmsg(s->db));
        return -1;
    }
    int rc, problems = 0;
    char first[512] = "";
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *row = (const char *)sqlite3_column_text(st, 0);
        if (row && strcmp(row, "ok") == 0) continue;
        if (problems++ == 0) snprintf(first, sizeof first, "%s", row ? row : "?");
    }
    if (rc != SQLITE_DONE && !problems)
        snprintf(first, sizeof first, "%s", sqlite3_errmsg(s->db));
    bool damaged = problems || sq_damaged(s);
    sqlite3_finalize(st);
    if (!damaged && rc == SQLITE_DONE) return 0;
    for (char *c = first; *c; c++)
        if (*c == '\n') *c = ' ';
    if (damaged)
        snprintf(err, errlen, "%s: corrupt database (quick_check: %s%s); refusing to use it", s->path,
                 first, problems > 1 ? "; and more" : "");
    else
        snprintf(err, errlen, "%s: check: %s", s->path, first);
    return -1;
}

/* WAL lets readers (sqlite3 CLI, dashboards) query while we write. */
static int sq_pragmas(sq_store *s, db_sync sync, char *err, size_t errlen) {
    sqlite3_stmt *st = NULL;
    if (sq_prepare(s, "PRAGMA journal_mode=WAL", &st, err, errlen) != 0) return -1;
    int rc = sqlite3_step(st);
    const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    int ok = mode && strcmp(mode, "wal") == 0;
    if (!ok)
        snprintf(err, errlen, "%s: cannot switch to WAL journal mode: %s", s->path,
                 mode ? mode : sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    if (!ok) return -1;
    return sq_exec(s, sync == DB_SYNC_NORMAL ? "PRAGMA synchronous=NORMAL"
                                             : "PRAGMA synchronous=FULL",
                   err, errlen);
}

/* Creates every table (idempotent) in one transaction. */
static int sq_create_tables(sq_store *s, char *err, size_t errlen) {
    if (sq_exec(s, "BEGIN IMMEDIATE", err, errlen) != 0) return -1;
    int rc = sq_exec(s, sq_tables_sql, err, errlen);
    for (size_t i = 0; rc == 0 && i < SCHEMA_N_RECORDS; i++) {
        char *sql = schema_create_sql(&schema_records[i]);
        rc = sq_exec(s, sql, err, errlen);
        free(sql);
    }
    if (rc != 0) {
        char ignored[8];
        sq_exec(s, "ROLLBACK", ignored, sizeof ignored);
        return -1;
    }
    return sq_exec(s, "COMMIT", err, errlen);
}

static int sq_prepare_all(sq_store *s, char *err, size_t errlen) {
    for (size_t i = 0; i < SCHEMA_N_RECORDS; i++) {
        char *sql = schema_upsert_sql(&schema_records[i]);
        int rc = sq_prepare(s, sql, &s->upsert[i], err, errlen);
        free(sql);
        if (rc != 0) return -1;
    }
    if (sq_prepare(s, sq_offset_upsert_sql, &s->offset_upsert, err, errlen) != 0 ||
        sq_prepare(s, sq_offset_select_sql, &s->offset_select, err, errlen) != 0 ||
        sq_prepare(s, sq_dead_letter_sql, &s->dead_letter, err, errlen) != 0 ||
        sq_prepare(s, "BEGIN IMMEDIATE", &s->begin, err, errlen) != 0 ||
        sq_prepare(s, "COMMIT", &s->commit, err, errlen) != 0 ||
        sq_prepare(s, "ROLLBACK", &s->rollback, err, errlen) != 0)
        return -1;
    return 0;
}

static void sq_close(db_store *base) {
    sq_store *s = (sq_store *)base;
    for (size_t i = 0; i < SCHEMA_N_RECORDS; i++) sqlite3_finalize(s->upsert[i]);
    sqlite3_finalize(s->offset_upsert);
    sqlite3_finalize(s->offset_select);
    sqlite3_finalize(s->dead_letter);
    sqlite3_finalize(s->begin);
    sqlite3_finalize(s->commit);
    sqlite3_finalize(s->rollback);
    if (s->db && sqlite3_close(s->db) != SQLITE_OK)
        log_error("%s: close: %s", s->path, sqlite3_errmsg(s->db));
    db_batch_told_free(&s->told);
    free(s->path);
    free(s);
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

/* Logs the failed statement's error. Always returns -1. */
static int sq_fail(sq_store *s, const char *what) {
    log_error("%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    return -1;
}

/* Steps a statement that returns no rows and resets it. Returns the step's code. */
static int sq_step(sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc;
}

static void sq_bind_value(sqlite3_stmt *st, int idx, const schema_column *c,
                          const schema_value *v) {
    if (v->is_null) {
        sqlite3_bind_null(st, idx);
        return;
    }
    switch (c->type) {
    case SCHEMA_INT:
    case SCHEMA_BOOL: sqlite3_bind_int64(st, idx, v->i); break;
    case SCHEMA_REAL: sqlite3_bind_double(st, idx, v->d); break;
    case SCHEMA_TEXT:
    case SCHEMA_DATETIME: sqlite3_bind_text(st, idx, v->s, (int)v->len, SQLITE_STATIC); break;
    }
}

/* db_batch_sink.dead_letter: stores a message that cannot become a row.
 * Returns 0 or -1 (SQLite error). */
static int sq_dead_letter(void *ctx, const msg_view *m, const char *reason) {
    sq_store *s = ctx;
    sqlite3_stmt *st = s->dead_letter;
    sqlite3_bind_text(st, 1, m->topic, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, m->partition);
    sqlite3_bind_int64(st, 3, m->offset);
    if (m->key)
        sqlite3_bind_blob64(st, 4, m->key, m->key_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
    if (m->value)
        sqlite3_bind_blob64(st, 5, m->value, m->value_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_text(st, 6, reason, -1, SQLITE_TRANSIENT);
    if (sq_step(st) != SQLITE_DONE) return sq_fail(s, "storing a dead letter");
    s->add.dead_letters += (uint64_t)sqlite3_changes(s->db);
    s->add.dead_by_class[schema_reason_class(reason)] += (uint64_t)sqlite3_changes(s->db);
    return 0;
}

/* db_batch_sink.row: upserts one row. A constraint the JSON check let
 * through is the row's fault, not the store's: it becomes a dead letter
 * rather than stopping the service forever on the same message. Returns 0
 * or -1 (SQLite error). */
static int sq_upsert(void *ctx, const msg_view *m, const schema_message *sm) {
    sq_store *s = ctx;
    const schema_record *rec = sm->rec;
    size_t r = (size_t)(rec - schema_records);
    sqlite3_stmt *st = s->upsert[r];
    for (size_t i = 0; i < rec->ncolumns; i++)
        sq_bind_value(st, (int)i + 1, &rec->columns[i], &sm->values[i]);
    int rc = sq_step(st);
    if (rc == SQLITE_DONE) {
        s->add.rows++;
        s->add.table_rows[r]++;
        return 0;
    }
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        char reason[512];
        snprintf(reason, sizeof reason, "rejected by table %s: %s", rec->table,
                 sqlite3_errmsg(s->db));
        db_batch_log_dead_letter(m, reason);
        return sq_dead_letter(s, m, reason);
    }
    return sq_fail(s, "upsert");
}

/* Stores the next offsets of the batch's partitions that plan says to, under
 * its cluster id. Returns 0 or -1. */
static int sq_store_offsets(sq_store *s, const consume_batch *b, const db_batch_part *plan) {
    sqlite3_stmt *st = s->offset_upsert;
    for (size_t i = 0; i < b->nnext; i++) {
        if (!plan[i].store_offset) continue;
        sqlite3_bind_text(st, 1, b->cluster_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, b->next[i].topic, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, b->next[i].partition);
        sqlite3_bind_int64(st, 4, b->next[i].offset);
        if (sq_step(st) != SQLITE_DONE) return sq_fail(s, "storing offsets");
    }
    return 0;
}

static int sq_stored_offset(sq_store *s, const char *cluster_id, const char *topic,
                            int32_t partition, bool quiet, int64_t *next);

/* The body of the transaction: the stored offsets of the batch's partitions
 * (the write lock is ours), batch.h's rule, rows and dead letters, offsets.
 * Returns 0 or -1. */
static int sq_write_all(sq_store *s, const consume_batch *b) {
    int64_t *stored = calloc(b->nnext ? b->nnext : 1, sizeof *stored);
    db_batch_part *plan = calloc(b->nnext ? b->nnext : 1, sizeof *plan);
    int rc = stored && plan ? 0 : -1;
    if (rc != 0) log_error("%s: out of memory for a batch of %zu partitions", s->path, b->nnext);
    for (size_t i = 0; rc == 0 && i < b->nnext; i++)
        rc = sq_stored_offset(s, b->cluster_id, b->next[i].topic, b->next[i].partition, true,
                              &stored[i]);
    if (rc == 0) {
        s->add.skipped += db_batch_plan(&s->told, b, stored, plan);
        static const db_batch_sink sink = {sq_upsert, sq_dead_letter};
        rc = db_batch_walk(b, plan, &sink, s);
    }
    if (rc == 0) rc = sq_store_offsets(s, b, plan);
    free(stored);
    free(plan);
    return rc;
}

static int sq_write_batch(db_store *base, const consume_batch *b, db_stats *stats) {
    sq_store *s = (sq_store *)base;
    s->add = (db_stats){0};
    int rc;
    if (sq_step(s->begin) != SQLITE_DONE)
        rc = sq_fail(s, "begin transaction");
    else if (sq_write_all(s, b) != 0)
        rc = -1;
    else if (sq_step(s->commit) != SQLITE_DONE)
        rc = sq_fail(s, "commit");
    else
        rc = 0;
    /* A failed COMMIT (e.g. busy) leaves the transaction open: end it. */
    if (rc != 0 && !sqlite3_get_autocommit(s->db) && sq_step(s->rollback) != SQLITE_DONE)
        sq_fail(s, "rollback");
    if (rc == 0) {
        db_stats_add(stats, &s->add);
        db_batch_committed(&s->told, b);
    }
    return rc;
}

/* The next offset stored for topic/partition (see db_store_ops.positions):
 * returns 0 and sets *next (-1: none, or another cluster's; logged unless
 * quiet), or -1 after logging the database error. */
static int sq_stored_offset(sq_store *s, const char *cluster_id, const char *topic,
                            int32_t partition, bool quiet, int64_t *next) {
    sqlite3_stmt *st = s->offset_select;
    sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, partition);
    *next = -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *stored_cluster = (const char *)sqlite3_column_text(st, 0);
        if (stored_cluster && strcmp(stored_cluster, cluster_id) == 0)
            *next = sqlite3_column_int64(st, 1);
        else if (!quiet)
            log_warn("%s [%" PRId32 "]: stored offset belongs to cluster '%s', not '%s'; ignored",
                     topic, partition, stored_cluster ? stored_cluster : "", cluster_id);
    } else if (rc != SQLITE_DONE) {
        sq_fail(s, "reading stored offsets");
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int sq_positions(db_store *base, const char *cluster_id, consume_partition *parts,
                        size_t n) {
    sq_store *s = (sq_store *)base;
    for (size_t i = 0; i < n; i++) {
        if (sq_stored_offset(s, cluster_id, parts[i].topic, parts[i].partition, false,
                             &parts[i].offset) != 0)
            return GK_EXIT_IOERR;
        if (db_batch_told_set(&s->told, parts[i].topic, parts[i].partition, parts[i].offset) != 0)
            log_warn("out of memory noting the start of %s [%" PRId32 "]", parts[i].topic,
                     parts[i].partition);
    }
    return 0;
}

static const db_store_ops sq_ops = {sq_positions, sq_write_batch, sq_close};

int db_store_sqlite_open(const char *path, db_sync sync, db_store **out, char *err,
                         size_t errlen) {
    *out = NULL;
    sq_store *s = calloc(1, sizeof *s);
    if (s) s->base.ops = &sq_ops;
    if (!s || !(s->path = strdup(path))) {
        snprintf(err, errlen, "%s: out of memory", path);
        free(s);
        return GK_EXIT_SOFTWARE;
    }
    /* One thread (the consumer loop) uses the connection: no per-call mutex. */
    int rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot open database: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        sq_close(&s->base);
        return GK_EXIT_CANTCREAT;
    }
    sqlite3_extended_result_codes(s->db, 1);
    /* The busy timeout first: after a crash, opening the WAL may have to wait
     * for a reader (e.g. the sqlite3 CLI) while it recovers the WAL index. */
    if (sqlite3_busy_timeout(s->db, SQ_BUSY_TIMEOUT_MS) != SQLITE_OK) {
        snprintf(err, errlen, "%s: busy timeout: %s", s->path, sqlite3_errmsg(s->db));
        sq_close(&s->base);
        return GK_EXIT_CANTCREAT;
    }
    if (sq_check(s, err, errlen) != 0) {
        sq_close(&s->base);
        return GK_EXIT_IOERR;
    }
    if (sq_pragmas(s, sync, err, errlen) != 0 || sq_create_tables(s, err, errlen) != 0 ||
        sq_prepare_all(s, err, errlen) != 0) {
        rc = sq_damaged(s) ? GK_EXIT_IOERR : GK_EXIT_CANTCREAT;
        sq_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}
