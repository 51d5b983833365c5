/* test_store_sqlite.c - unit tests of db_consumer's SQLite store
 * (db_consumer/store_sqlite.c), driven as the consumer loop drives it:
 * tables from the schema, idempotent batches, dead letters with their
 * reasons, offsets per cluster id, two writers of one partition (batch.h),
 * rollback of a failed batch, and the integrity check that refuses a
 * damaged database at open. */
#include "common/exitcodes.h"
#include "common/log.h"
#include "db_consumer/store.h"
#include "test/unit/runner.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tdir[256];
static char dbpath[300];
static db_store *s;

/* Writes msgs[0..n) as the loop hands a batch over: with each partition's
 * next offset (consume_batch_offsets) and the cluster id. */
static int write_batch(db_store *store, const char *cluster_id, const msg_view *msgs, size_t n,
                       db_stats *stats) {
    consume_partition next[64];
    ck_assert(n <= 64);
    consume_batch b = {cluster_id, msgs, n, next, consume_batch_offsets(msgs, n, next), NULL};
    return db_store_write(store, &b, stats);
}

/* The next offset the store gives for one partition when it is assigned. */
static int64_t stored_offset(db_store *store, const char *cluster_id, const char *topic,
                             int32_t partition) {
    consume_partition p = {topic, partition, -1};
    ck_assert_int_eq(db_store_positions(store, cluster_id, &p, 1), 0);
    return p.offset;
}

static void setup(void) {
    log_init("test_store_sqlite", LOG_ERROR);
    snprintf(tdir, sizeof tdir, "%s/test_store_sqlite.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tdir));
    snprintf(dbpath, sizeof dbpath, "%s/t.db", tdir);
    char err[512] = "";
    ck_assert_msg(db_store_sqlite_open(dbpath, DB_SYNC_NORMAL, &s, err, sizeof err) == 0,
                  "db_store_sqlite_open: %s", err);
}

static void teardown(void) {
    db_store_close(s);
    s = NULL;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Runs a query returning one integer on a separate connection. */
static long long q_int(const char *sql) {
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(db));
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Runs a query returning one text value into buf. */
static const char *q_text(const char *sql, char *buf, size_t len) {
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(db));
    ck_assert_msg(sqlite3_step(st) == SQLITE_ROW, "no row for %s", sql);
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(buf, len, "%s", t ? (const char *)t : "(null)");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return buf;
}

static void exec_other(const char *sql) {
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    char *msg = NULL;
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql, msg);
    sqlite3_close(db);
}

/* Writes a good JSON value for a topic (0..2) with the event id substituted. */
static void good_json(char *buf, size_t len, int topic, int id) {
    if (topic == 0)
        snprintf(buf, len,
                 "{\"event_id\":%d,\"sample_id\":\"S%d\",\"patient_id\":\"P1\","
                 "\"specimen_type\":\"blood\",\"collected_at\":\"2024-01-01T10:00:00\","
                 "\"volume_ml\":2.5,\"consent_research\":true}",
                 id, id);
    else if (topic == 1)
        snprintf(buf, len,
                 "{\"event_id\":%d,\"run_id\":\"R%d\",\"instrument\":\"NovaSeq\",\"lane\":1,"
                 "\"read_count\":1000,\"q30_pct\":92.5,\"mean_coverage\":30.1,"
                 "\"sequenced_at\":\"2024-01-02T10:00:00\",\"passed_qc\":false}",
                 id, id);
    else
        snprintf(buf, len,
                 "{\"event_id\":%d,\"gene\":\"BRCA%d\",\"chrom\":\"17\",\"position\":43044295,"
                 "\"ref\":\"A\",\"alt\":\"G\",\"zygosity\":\"het\",\"quality\":99.5,"
                 "\"called_at\":\"2024-01-03T10:00:00\"}",
                 id, id);
}

/* Storage for message texts built by the helpers (freed per test by exit). */
typedef struct {
    char key[32];
    char value[512];
} msgbuf;

static msg_view good(msgbuf *b, int topic, int32_t partition, int64_t offset, int id) {
    snprintf(b->key, sizeof b->key, "%d", id);
    good_json(b->value, sizeof b->value, topic, id);
    static const char *const names[] = {"topic1", "topic2", "topic3"};
    return (msg_view){names[topic], partition, offset, b->key, strlen(b->key),
                      b->value, strlen(b->value), -1, -1, NULL};
}

static msg_view raw(const char *topic, int64_t offset, const char *key, const char *value,
                    size_t value_len) {
    return (msg_view){topic, 0, offset, key, key ? strlen(key) : 0, value, value_len, -1, -1, NULL};
}

START_TEST(test_tables_created) {
    for (size_t i = 0; i < SCHEMA_N_RECORDS; i++) {
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM pragma_table_info('%s')",
                 schema_records[i].table);
        ck_assert_int_eq(q_int(sql), (long long)schema_records[i].ncolumns);
        snprintf(sql, sizeof sql,
                 "SELECT pk FROM pragma_table_info('%s') WHERE name = 'event_id'",
                 schema_records[i].table);
        ck_assert_int_eq(q_int(sql), 1);
    }
    ck_assert_int_eq(q_int("SELECT count(*) FROM pragma_table_info('kafka_offsets')"), 4);
    ck_assert_int_eq(q_int("SELECT count(*) FROM pragma_table_info('dead_letters')"), 8);
    char buf[32];
    ck_assert_str_eq(q_text("PRAGMA journal_mode", buf, sizeof buf), "wal");
    /* Opening again is fine (tables exist). */
    char err[256];
    db_store *s2 = NULL;
    ck_assert_msg(db_store_sqlite_open(dbpath, DB_SYNC_FULL, &s2, err, sizeof err) == 0, "%s", err);
    db_store_close(s2);
}
END_TEST

START_TEST(test_open_fails) {
    char err[256] = "";
    db_store *bad = NULL;
    ck_assert_int_eq(db_store_sqlite_open("/nonexistent-dir/x/t.db", DB_SYNC_FULL, &bad, err, sizeof err),
                     GK_EXIT_CANTCREAT);
    ck_assert_ptr_null(bad);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/x/t.db"));
}
END_TEST

START_TEST(test_batch_rows_and_idempotence) {
    msgbuf b[6];
    msg_view m[6];
    for (int i = 0; i < 6; i++) m[i] = good(&b[i], i % 3, 0, i / 3, 100 + i / 3);
    db_stats st = {0};
    ck_assert_int_eq(write_batch(s, "C1", m, 6, &st), 0);
    ck_assert_int_eq(st.rows, 6);
    ck_assert_int_eq(st.dead_letters, 0);
    ck_assert_int_eq(st.table_rows[0], 2);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data1"), 2);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data2"), 2);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data3"), 2);
    char buf[64];
    ck_assert_str_eq(q_text("SELECT sample_id FROM data1 WHERE event_id = 101", buf, sizeof buf),
                     "S101");
    ck_assert_int_eq(q_int("SELECT consent_research FROM data1 WHERE event_id = 100"), 1);
    ck_assert_int_eq(q_int("SELECT passed_qc FROM data2 WHERE event_id = 100"), 0);
    ck_assert_int_eq(q_int("SELECT position FROM data3 WHERE event_id = 101"), 43044295);
    ck_assert_int_eq(q_int("SELECT notes IS NULL FROM data1 WHERE event_id = 100"), 1);

    /* The same batch again, as a second holder of these partitions would
     * hand it over: its offsets are stored, so it is skipped (batch.h). */
    ck_assert_int_eq(write_batch(s, "C1", m, 6, &st), 0);
    ck_assert_int_eq(st.rows, 6);
    ck_assert_int_eq(st.skipped, 6);
    ck_assert_int_eq(stored_offset(s, "C1", "topic1", 0), 2);

    /* The same events sent again (new offsets): upserts, no error, no duplicates. */
    for (int i = 0; i < 6; i++) m[i] = good(&b[i], i % 3, 0, 2 + i / 3, 100 + i / 3);
    ck_assert_int_eq(write_batch(s, "C1", m, 6, &st), 0);
    ck_assert_int_eq(st.rows, 12);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data1"), 2);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data2"), 2);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data3"), 2);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dead_letters"), 0);
    ck_assert_int_eq(stored_offset(s, "C1", "topic1", 0), 4);
}
END_TEST

/* A message of topic1 partition 0 at offset whose row says which writer
 * stored it (sample_id "<who><offset>"), for event id 1000 + offset. */
static msg_view tagged(msgbuf *b, int64_t offset, const char *who) {
    msg_view v = good(b, 0, 0, offset, (int)(1000 + offset));
    char *p = strstr(b->value, "\"S");
    ck_assert_ptr_nonnull(p);
    char rest[512];
    snprintf(rest, sizeof rest, "%s", strchr(p + 1, '"'));
    snprintf(p, sizeof b->value - (size_t)(p - b->value), "\"%s%lld%s", who, (long long)offset, rest);
    v.value_len = strlen(b->value);
    return v;
}

/* The stored next offset of topic1 [0], read aside (stored_offset() would
 * be an assignment, which tells the store where the loop starts). */
#define NEXT_OFFSET_SQL "SELECT next_offset FROM kafka_offsets WHERE topic = 'topic1' AND partition = 0"

/* Two writers of one partition (batch.h): a stale instance that lost it
 * without knowing and its successor. Each offset is written once, by
 * whichever transaction gets there first; the stored offset never goes
 * back. Both are real connections to the same file. */
START_TEST(test_two_writers_one_partition) {
    char err[256];
    db_store *old = NULL;
    ck_assert_msg(db_store_sqlite_open(dbpath, DB_SYNC_NORMAL, &old, err, sizeof err) == 0, "%s",
                  err);
    msgbuf b[16];
    msg_view m[16];
    db_stats st = {0};
    /* The old owner wrote 0..4, then froze. */
    for (int i = 0; i < 5; i++) m[i] = tagged(&b[i], i, "old");
    ck_assert_int_eq(write_batch(old, "C1", m, 5, &st), 0);
    /* Its successor is assigned the partition, starts at the stored 5 and
     * writes 5..9. */
    ck_assert_int_eq(stored_offset(s, "C1", "topic1", 0), 5);
    for (int i = 0; i < 5; i++) m[i] = tagged(&b[i], 5 + i, "new");
    ck_assert_int_eq(write_batch(s, "C1", m, 5, &st), 0);
    /* The old one wakes with 5..11 in its hands: 5..9 are the successor's
     * and stay so; 10 and 11 are nobody's yet and are written. */
    db_stats old_st = {0};
    for (int i = 0; i < 7; i++) m[i] = tagged(&b[i], 5 + i, "old");
    ck_assert_int_eq(write_batch(old, "C1", m, 7, &old_st), 0);
    ck_assert_int_eq(old_st.skipped, 5);
    ck_assert_int_eq(old_st.rows, 2);
    ck_assert_int_eq(q_int(NEXT_OFFSET_SQL), 12);
    /* The successor's next batch 10..13 overlaps: 12 and 13 only. */
    for (int i = 0; i < 4; i++) m[i] = tagged(&b[i], 10 + i, "new");
    db_stats new_st = {0};
    ck_assert_int_eq(write_batch(s, "C1", m, 4, &new_st), 0);
    ck_assert_int_eq(new_st.skipped, 2);
    ck_assert_int_eq(new_st.rows, 2);
    /* A batch entirely behind the stored offset changes nothing, offset included. */
    for (int i = 0; i < 3; i++) m[i] = tagged(&b[i], 2 + i, "old");
    ck_assert_int_eq(write_batch(old, "C1", m, 3, &old_st), 0);
    ck_assert_int_eq(q_int(NEXT_OFFSET_SQL), 14);

    ck_assert_int_eq(q_int("SELECT count(*) FROM data1"), 14);
    char buf[64];
    const char *want[14] = {"old0", "old1", "old2", "old3", "old4", "new5",  "new6",
                            "new7", "new8", "new9", "old10", "old11", "new12", "new13"};
    for (int i = 0; i < 14; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT sample_id FROM data1 WHERE event_id = %d", 1000 + i);
        ck_assert_str_eq(q_text(sql, buf, sizeof buf), want[i]);
    }
    db_store_close(old);
}
END_TEST

/* The loop may start a partition before the offset the store gave it: it
 * does so when that offset lies beyond the end of the log (the topic was
 * recreated). That batch belongs to a new log: it is written whole, and the
 * stored offset goes back to its end. */
START_TEST(test_loop_went_back) {
    msgbuf b[8];
    msg_view m[8];
    db_stats st = {0};
    for (int i = 0; i < 8; i++) m[i] = tagged(&b[i], i, "first");
    ck_assert_int_eq(write_batch(s, "C1", m, 8, &st), 0);
    ck_assert_int_eq(stored_offset(s, "C1", "topic1", 0), 8); /* told 8 */
    for (int i = 0; i < 3; i++) m[i] = tagged(&b[i], i, "again");
    ck_assert_int_eq(write_batch(s, "C1", m, 3, &st), 0);
    ck_assert_int_eq(st.skipped, 0);
    char buf[64];
    ck_assert_str_eq(q_text("SELECT sample_id FROM data1 WHERE event_id = 1002", buf, sizeof buf),
                     "again2");
    ck_assert_int_eq(stored_offset(s, "C1", "topic1", 0), 3);
}
END_TEST

/* A poison case: the value and key, and a fragment its reason must contain. */
typedef struct {
    const char *name;
    const char *key;
    const char *value; /* NULL: empty value */
    const char *reason;
} poison_case;

START_TEST(test_poison_dead_letters) {
    static char big[SCHEMA_MAX_MESSAGE_BYTES + 100];
    memset(big, ' ', sizeof big - 1);
    big[0] = '{';
    big[sizeof big - 2] = '}';
    static const poison_case cases[] = {
        {"not json", "7", "this is not json", "not valid JSON"},
        {"not an object", "7", "[1,2,3]", "not a JSON object"},
        {"missing event id", "7",
         "{\"sample_id\":\"S\",\"patient_id\":\"P\",\"specimen_type\":\"b\","
         "\"collected_at\":\"2024-01-01\",\"consent_research\":true}",
         "field 'event_id': required integer is missing"},
        {"wrong type", "8",
         "{\"event_id\":8,\"sample_id\":12,\"patient_id\":\"P\",\"specimen_type\":\"b\","
         "\"collected_at\":\"2024-01-01\",\"consent_research\":true}",
         "field 'sample_id': expected a string, got an integer"},
        {"unknown field", "9",
         "{\"event_id\":9,\"sample_id\":\"S\",\"patient_id\":\"P\",\"specimen_type\":\"b\","
         "\"collected_at\":\"2024-01-01\",\"consent_research\":true,\"colour\":\"red\"}",
         "unknown field 'colour'"},
        {"key mismatch", "11",
         "{\"event_id\":10,\"sample_id\":\"S\",\"patient_id\":\"P\",\"specimen_type\":\"b\","
         "\"collected_at\":\"2024-01-01\",\"consent_research\":true}",
         "key '11' does not match event_id 10"},
        {"no key", NULL,
         "{\"event_id\":12,\"sample_id\":\"S\",\"patient_id\":\"P\",\"specimen_type\":\"b\","
         "\"collected_at\":\"2024-01-01\",\"consent_research\":true}",
         "message has no key (expected event_id 12)"},
        {"invalid utf-8", "13",
         "{\"event_id\":13,\"sample_id\":\"S\xff\xfe\",\"patient_id\":\"P\",\"specimen_type\":"
         "\"b\",\"collected_at\":\"2024-01-01\",\"consent_research\":true}",
         "not valid JSON"},
        {"bad datetime", "14",
         "{\"event_id\":14,\"sample_id\":\"S\",\"patient_id\":\"P\",\"specimen_type\":\"b\","
         "\"collected_at\":\"yesterday\",\"consent_research\":true}",
         "field 'collected_at'"},
        {"empty value", "15", NULL, "empty message value"},
        {"too large", "16", big, "exceeds the limit of 65536"},
    };
    size_t nc = sizeof cases / sizeof cases[0];
    msg_view m[32];
    msgbuf b[2];
    size_t n = 0;
    m[n++] = good(&b[0], 0, 0, 0, 1);
    for (size_t i = 0; i < nc; i++, n++)
        m[n] = raw("topic1", (int64_t)n, cases[i].key, cases[i].value,
                   cases[i].value ? strlen(cases[i].value) : 0);
    m[n] = raw("topicX", (int64_t)n, "1", "{}", 2);
    n++;
    m[n] = good(&b[1], 0, 0, (int64_t)n, 2);
    n++;

    db_stats st = {0};
    ck_assert_int_eq(write_batch(s, "C1", m, n, &st), 0);
    ck_assert_int_eq(st.rows, 2);
    ck_assert_int_eq(st.dead_letters, nc + 1);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data1"), 2);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dead_letters"), (long long)(nc + 1));
    for (size_t i = 0; i < nc; i++) {
        char sql[200], buf[600];
        snprintf(sql, sizeof sql, "SELECT reason FROM dead_letters WHERE offset = %zu", i + 1);
        q_text(sql, buf, sizeof buf);
        ck_assert_msg(strstr(buf, cases[i].reason) != NULL, "%s: reason '%s' lacks '%s'",
                      cases[i].name, buf, cases[i].reason);
    }
    char buf[600];
    q_text("SELECT reason FROM dead_letters WHERE topic = 'topicX'", buf, sizeof buf);
    ck_assert_str_eq(buf, "no record type for topic 'topicX'");
    /* The message is kept as it came. */
    ck_assert_int_eq(q_int("SELECT length(value) FROM dead_letters WHERE offset = 11"),
                     (long long)strlen(big));
    ck_assert_int_eq(q_int("SELECT value IS NULL FROM dead_letters WHERE offset = 10"), 1);
    ck_assert_int_eq(q_int("SELECT key IS NULL FROM dead_letters WHERE offset = 7"), 1);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dead_letters WHERE received_at LIKE '20__-__-__T%Z'"),
                     (long long)(nc + 1));

    /* Re-delivered poison makes no second dead letter. */
    ck_assert_int_eq(write_batch(s, "C1", m, n, &st), 0);
    ck_assert_int_eq(st.dead_letters, nc + 1);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dead_letters"), (long long)(nc + 1));
    ck_assert_int_eq(q_int("SELECT count(*) FROM data1"), 2);
    ck_assert_int_eq(stored_offset(s, "C1", "topic1", 0), (int64_t)n);
}
END_TEST

START_TEST(test_offsets_per_cluster) {
    msgbuf b[4];
    msg_view m[4] = {good(&b[0], 0, 0, 5, 1), good(&b[1], 0, 0, 6, 2), good(&b[2], 1, 1, 10, 1),
                     good(&b[3], 0, 2, 0, 3)};
    db_stats st = {0};
    ck_assert_int_eq(write_batch(s, "cluster-A", m, 4, &st), 0);
    ck_assert_int_eq(stored_offset(s, "cluster-A", "topic1", 0), 7);
    ck_assert_int_eq(stored_offset(s, "cluster-A", "topic2", 1), 11);
    ck_assert_int_eq(stored_offset(s, "cluster-A", "topic1", 2), 1);
    ck_assert_int_eq(stored_offset(s, "cluster-A", "topic1", 1), -1);
    ck_assert_int_eq(stored_offset(s, "cluster-A", "topic3", 0), -1);
    ck_assert_int_eq(stored_offset(s, "cluster-B", "topic1", 0), -1);

    /* Survives a reopen. */
    db_store_close(s);
    char err[256];
    ck_assert_msg(db_store_sqlite_open(dbpath, DB_SYNC_FULL, &s, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(stored_offset(s, "cluster-A", "topic1", 0), 7);

    /* Another cluster takes the partition over. */
    msg_view m2[1] = {good(&b[0], 0, 0, 0, 1)};
    ck_assert_int_eq(write_batch(s, "cluster-B", m2, 1, &st), 0);
    ck_assert_int_eq(stored_offset(s, "cluster-B", "topic1", 0), 1);
    ck_assert_int_eq(stored_offset(s, "cluster-A", "topic1", 0), -1);
    ck_assert_int_eq(stored_offset(s, "cluster-A", "topic2", 1), 11);
}
END_TEST

START_TEST(test_failure_rolls_back) {
    msgbuf b[3];
    msg_view m[3] = {good(&b[0], 0, 0, 0, 1), raw("topic1", 1, "x", "junk", 4),
                     good(&b[2], 1, 0, 0, 1)};
    exec_other("DROP TABLE data2");
    db_stats st = {0};
    ck_assert_int_eq(write_batch(s, "C1", m, 3, &st), -1);
    ck_assert_int_eq(st.rows, 0);
    ck_assert_int_eq(st.dead_letters, 0);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data1"), 0);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dead_letters"), 0);
    ck_assert_int_eq(q_int("SELECT count(*) FROM kafka_offsets"), 0);
    ck_assert_int_eq(stored_offset(s, "C1", "topic1", 0), -1);

    /* No transaction is left open: the next batch works. */
    ck_assert_int_eq(write_batch(s, "C1", m, 2, &st), 0);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data1"), 1);
    ck_assert_int_eq(stored_offset(s, "C1", "topic1", 0), 2);
}
END_TEST


/* Damages page `page` of the closed database with 4096 bytes of fill. */
static void damage_page(long page, int fill) {
    FILE *f = fopen(dbpath, "r+b");
    ck_assert_ptr_nonnull(f);
    char buf[4096];
    memset(buf, fill, sizeof buf);
    ck_assert_int_eq(fseek(f, page * 4096, SEEK_SET), 0);
    ck_assert_uint_eq(fwrite(buf, 1, sizeof buf, f), sizeof buf);
    fclose(f);
}

/* A database with pages of rows, closed (its WAL checkpointed). */
static void fill_rows(int n) {
    msgbuf b[60];
    msg_view m[60];
    db_stats st = {0};
    for (int i = 0; i < n; i += 60) {
        for (int j = 0; j < 60; j++) m[j] = good(&b[j], j % 3, 0, i + j, i + j + 1);
        ck_assert_int_eq(write_batch(s, "C1", m, 60, &st), 0);
    }
    db_store_close(s);
    s = NULL;
}

/* Opening must fail with GK_EXIT_IOERR and one line naming the file and
 * the damage. */
static void assert_refused(void) {
    char err[512] = "";
    db_store *bad = NULL;
    ck_assert_int_eq(db_store_sqlite_open(dbpath, DB_SYNC_FULL, &bad, err, sizeof err), GK_EXIT_IOERR);
    ck_assert_ptr_null(bad);
    ck_assert_msg(strstr(err, dbpath) && strstr(err, "corrupt database"), "%s", err);
    ck_assert_ptr_null(strchr(err, '\n'));
}

START_TEST(test_damaged_page_is_refused) {
    fill_rows(3000);
    ck_assert_int_gt(q_int("PRAGMA page_count"), 20);
    damage_page(q_int("PRAGMA page_count") / 2, 0xa5);
    assert_refused();
}
END_TEST

START_TEST(test_not_a_database_is_refused) {
    fill_rows(60);
    damage_page(0, 0x5a); /* the header: no longer "SQLite format 3" */
    assert_refused();
}
END_TEST

/* The check refuses damage, not data: the database of real work opens. */
START_TEST(test_intact_database_opens) {
    fill_rows(3000);
    char err[512];
    ck_assert_msg(db_store_sqlite_open(dbpath, DB_SYNC_FULL, &s, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data1"), 1000);
}
END_TEST

static Suite *store_sqlite_suite(void) {
    Suite *su = suite_create("store_sqlite");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_tables_created);
    tcase_add_test(tc, test_open_fails);
    tcase_add_test(tc, test_batch_rows_and_idempotence);
    tcase_add_test(tc, test_poison_dead_letters);
    tcase_add_test(tc, test_offsets_per_cluster);
    tcase_add_test(tc, test_two_writers_one_partition);
    tcase_add_test(tc, test_loop_went_back);
    tcase_add_test(tc, test_failure_rolls_back);
    tcase_add_test(tc, test_damaged_page_is_refused);
    tcase_add_test(tc, test_not_a_database_is_refused);
    tcase_add_test(tc, test_intact_database_opens);
    suite_add_tcase(su, tc);
    return su;
}

const unit_def unit_tests = {store_sqlite_suite, NULL, NULL};
