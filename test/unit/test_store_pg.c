/* test_store_pg.c - unit tests of db_consumer's PostgreSQL store
 * (db_consumer/store_pg.c, pg_conn.c) against a real server: a private one
 * this test starts (scripts/postgres.sh, GK_SOURCE) and stops. Driven as
 * the consumer loop drives a store: tables and types from the schema,
 * batches (bulk, duplicates in a batch, re-sent events), dead letters kept
 * byte for byte, offsets per cluster, two writers of one partition - one
 * blocked on the other's lock -, a deadlock retried, a value the table refuses, a connection
 * killed between batches, and the start-up errors with their exit codes. */
#include "common/exitcodes.h"
#include "common/log.h"
#include "db_consumer/store.h"
#include "test/unit/runner.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char pgdir[512];
static char uri[1024];
static char base_uri[1024];
static PGconn *admin; /* the test's own connection (one per test: Check forks each) */
static db_store *s;

/* ------------------------------------------------------------------ server */

/* Starts the private server once for the whole run (before the suite). */
static int start_server(int argc, char **argv) {
    (void)argc, (void)argv;
    log_init("test_store_pg", LOG_ERROR);
    const char *src = getenv("GK_SOURCE");
    /* As root the server runs as its own user, which must pass through every
     * parent of its directory: TMPDIR's may be private, /tmp's are not. */
    const char *tmp = geteuid() != 0 && getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    if (!src) {
        fprintf(stderr, "test_store_pg: GK_SOURCE (the source tree) is not set\n");
        return 1;
    }
    snprintf(pgdir, sizeof pgdir, "%s/test_store_pg.XXXXXX", tmp);
    if (!mkdtemp(pgdir)) return 1;
    char cmd[2048];
    /* The server's unprivileged user must reach the directory (see postgres.sh). */
    snprintf(cmd, sizeof cmd,
             "chmod 711 '%s' && '%s/scripts/postgres.sh' start --data '%s/pg' --stop-with %d "
             "2>'%s/postgres.log'",
             pgdir, src, pgdir, (int)getpid(), pgdir);
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(uri, sizeof uri, p)) {
        fprintf(stderr, "test_store_pg: postgres.sh start failed (see %s/postgres.log)\n", pgdir);
        if (p) pclose(p);
        return 1;
    }
    if (pclose(p) != 0) return 1;
    uri[strcspn(uri, "\n")] = '\0';
    snprintf(base_uri, sizeof base_uri, "%s", uri);
    return -1;
}

static void stop_server(void) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s/scripts/postgres.sh' stop --data '%s/pg' --mode immediate "
             ">/dev/null 2>&1; rm -rf '%s'", getenv("GK_SOURCE"), pgdir, pgdir);
    if (system(cmd) != 0) fprintf(stderr, "test_store_pg: stopping the server failed\n");
}

/* Runs SQL on the test's own connection. */
static void exec_sql(const char *sql) {
    PGresult *r = PQexec(admin, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
                  "%s: %s", sql, PQerrorMessage(admin));
    PQclear(r);
}

static long long q_int(const char *sql) {
    PGresult *r = PQexec(admin, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql,
                  PQerrorMessage(admin));
    long long v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static const char *q_text(const char *sql, char *buf, size_t len) {
    PGresult *r = PQexec(admin, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql,
                  PQerrorMessage(admin));
    snprintf(buf, len, "%s", PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return buf;
}

static db_store *open_store(void) {
    char err[1024] = "";
    db_store *st = NULL;
    int code = db_store_open(uri, DB_SYNC_FULL, 30, &st, err, sizeof err);
    ck_assert_msg(code == 0 && st != NULL, "open: %s (exit %d)", err, code);
    return st;
}

static void setup(void) {
    admin = PQconnectdb(uri);
    ck_assert_msg(PQstatus(admin) == CONNECTION_OK, "%s", PQerrorMessage(admin));
    exec_sql("SET client_min_messages = warning");
    exec_sql("DROP TABLE IF EXISTS data1, data2, data3, dead_letters, kafka_offsets");
    exec_sql("SET TimeZone = 'UTC'");
    s = open_store();
}

static void teardown(void) {
    db_store_close(s);
    s = NULL;
    PQfinish(admin);
    admin = NULL;
}

/* ---------------------------------------------------------------- messages */

static int write_batch(db_store *store, const char *cluster_id, const msg_view *msgs, size_t n,
                       db_stats *stats) {
    consume_partition next[64];
    ck_assert(n <= 64);
    consume_batch b = {cluster_id, msgs, n, next, consume_batch_offsets(msgs, n, next), NULL};
    return db_store_write(store, &b, stats);
}

static int64_t stored_offset(db_store *store, const char *cluster_id, const char *topic,
                             int32_t partition) {
    consume_partition p = {topic, partition, -1};
    ck_assert_int_eq(db_store_positions(store, cluster_id, &p, 1), 0);
    return p.offset;
}

typedef struct {
    char key[32];
    char value[512];
} msgbuf;

/* A good message of topic (0..2) for event id, sample/run/gene named by tag. */
static msg_view good(msgbuf *b, int topic, int32_t partition, int64_t offset, int id,
                     const char *tag) {
    snprintf(b->key, sizeof b->key, "%d", id);
    if (topic == 0)
        snprintf(b->value, sizeof b->value,
                 "{\"event_id\":%d,\"sample_id\":\"%s\",\"patient_id\":\"P\\t1\","
                 "\"specimen_type\":\"blood\\\\plasma\",\"collected_at\":\"2024-01-01T10:00:00\","
                 "\"volume_ml\":0.1,\"consent_research\":true}",
                 id, tag);
    else if (topic == 1)
        snprintf(b->value, sizeof b->value,
                 "{\"event_id\":%d,\"run_id\":\"%s\",\"instrument\":\"NovaSeq\",\"lane\":1,"
                 "\"read_count\":1000,\"q30_pct\":92.5,\"mean_coverage\":30.1,"
                 "\"sequenced_at\":\"2024-01-02T10:00:00+02:00\",\"passed_qc\":false}",
                 id, tag);
    else
        snprintf(b->value, sizeof b->value,
                 "{\"event_id\":%d,\"gene\":\"%s\",\"chrom\":\"17\",\"position\":43044295,"
                 "\"ref\":\"A\",\"alt\":\"G\",\"zygosity\":\"het\",\"quality\":99.5,"
                 "\"called_at\":\"2024-01-03\"}",
                 id, tag);
    static const char *const names[] = {"topic1", "topic2", "topic3"};
    return (msg_view){names[topic], partition, offset, b->key, strlen(b->key),
                      b->value, strlen(b->value), -1, -1, NULL};
}

/* ------------------------------------------------------------------- tests */

START_TEST(test_tables_and_types) {
    ck_assert_int_eq(q_int("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                           "'data1'"),
                     (long long)schema_records[0].ncolumns);
    char buf[512];
    ck_assert_str_eq(q_text("SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY "
                            "ordinal_position) FROM information_schema.columns WHERE table_name "
                            "= 'data1'",
                            buf, sizeof buf),
                     "event_id bigint, sample_id text, patient_id text, specimen_type text, "
                     "collected_at timestamp with time zone, volume_ml double precision, "
                     "consent_research boolean, notes text");
    ck_assert_int_eq(q_int("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                           "'dead_letters'"),
                     8);
    ck_assert_int_eq(q_int("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                           "'kafka_offsets'"),
                     4);
    /* A second store on existing tables: fine. */
    db_store *s2 = open_store();
    db_store_close(s2);
}
END_TEST

START_TEST(test_rows_values_and_resend) {
    msgbuf b[6];
    msg_view m[6];
    for (int i = 0; i < 6; i++) m[i] = good(&b[i], i % 3, 0, i / 3, 100 + i / 3, "A");
    db_stats st = {0};
    ck_assert_int_eq(write_batch(s, "C1", m, 6, &st), 0);
    ck_assert_int_eq(st.rows, 6);
    ck_assert_int_eq(st.table_rows[1], 2);
    char buf[256];
    /* Values as PostgreSQL holds them: the escapes of COPY's text survive,
     * a datetime without zone is UTC, one with +02:00 is converted, a real
     * is the same double, booleans are booleans, a date is midnight. */
    ck_assert_str_eq(q_text("SELECT patient_id || '|' || specimen_type || '|' || collected_at || "
                            "'|' || (volume_ml = 0.1) || '|' || consent_research || '|' || "
                            "coalesce(notes, 'null') FROM data1 WHERE event_id = 100",
                            buf, sizeof buf),
                     "P\t1|blood\\plasma|2024-01-01 10:00:00+00|true|true|null");
    ck_assert_str_eq(q_text("SELECT sequenced_at::text || '|' || passed_qc FROM data2 WHERE "
                            "event_id = 101",
                            buf, sizeof buf),
                     "2024-01-02 08:00:00+00|false");
    ck_assert_str_eq(q_text("SELECT called_at::text FROM data3 WHERE event_id = 100", buf,
                            sizeof buf),
                     "2024-01-03 00:00:00+00");
    ck_assert_int_eq(stored_offset(s, "C1", "topic1", 0), 2);

    /* The same events sent again (new offsets) with new values: upserted. */
    for (int i = 0; i < 6; i++) m[i] = good(&b[i], i % 3, 0, 2 + i / 3, 100 + i / 3, "B");
    ck_assert_int_eq(write_batch(s, "C1", m, 6, &st), 0);
    ck_assert_int_eq(st.rows, 12);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data1"), 2);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data3 WHERE gene = 'B'"), 2);
    ck_assert_int_eq(stored_offset(s, "C1", "topic1", 0), 4);

    /* A batch holding one event id twice: the later message wins. */
    m[0] = good(&b[0], 0, 0, 4, 100, "C1");
    m[1] = good(&b[1], 0, 0, 5, 100, "C2");
    m[2] = good(&b[2], 0, 0, 6, 102, "C3");
    ck_assert_int_eq(write_batch(s, "C1", m, 3, &st), 0);
    ck_assert_str_eq(q_text("SELECT sample_id FROM data1 WHERE event_id = 100", buf, sizeof buf),
                     "C2");
    ck_assert_int_eq(q_int("SELECT count(*) FROM data1"), 3);
}
END_TEST

START_TEST(test_dead_letters) {
    msgbuf b[2];
    static const char bad_utf8[] = "{\"event_id\":7,\"sample_id\":\"\xff\xfe\"}";
    msg_view m[5] = {
        good(&b[0], 0, 0, 0, 1, "S"),
        {"topic1", 0, 1, "7", 1, "not json", 8, -1, -1, NULL},
        {"topic1", 0, 2, "7", 1, bad_utf8, sizeof bad_utf8 - 1, -1, -1, NULL},
        {"topic1", 0, 3, NULL, 0, NULL, 0, -1, -1, NULL},
        good(&b[1], 0, 0, 4, 2, "T"),
    };
    db_stats st = {0};
    ck_assert_int_eq(write_batch(s, "C1", m, 5, &st), 0);
    ck_assert_int_eq(st.rows, 2);
    ck_assert_int_eq(st.dead_letters, 3);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dead_letters"), 3);
    char buf[256];
    ck_assert_str_eq(q_text("SELECT encode(value, 'hex') FROM dead_letters WHERE \"offset\" = 2",
                            buf, sizeof buf),
                     "7b226576656e745f6964223a372c2273616d706c655f6964223a22fffe227d");
    ck_assert_int_eq(q_int("SELECT count(*) FROM dead_letters WHERE \"offset\" = 3 AND key IS NULL "
                           "AND value IS NULL"),
                     1);
    ck_assert_ptr_nonnull(strstr(q_text("SELECT reason FROM dead_letters WHERE \"offset\" = 1", buf,
                                        sizeof buf),
                                 "not valid JSON"));
    ck_assert_int_eq(q_int("SELECT count(*) FROM dead_letters WHERE received_at > now() - "
                           "interval '1 hour'"),
                     3);
    /* A second holder of the partition hands the same messages over: skipped. */
    db_store *s2 = open_store();
    ck_assert_int_eq(write_batch(s2, "C1", m, 5, &st), 0);
    ck_assert_int_eq(st.skipped, 5);
    db_store_close(s2);
    ck_assert_int_eq(q_int("SELECT count(*) FROM dead_letters"), 3);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data1"), 2);
}
END_TEST

START_TEST(test_offsets_per_cluster) {
    msgbuf b[4];
    msg_view m[4] = {good(&b[0], 0, 0, 5, 1, "a"), good(&b[1], 0, 0, 6, 2, "a"),
                     good(&b[2], 1, 1, 10, 1, "a"), good(&b[3], 0, 2, 0, 3, "a")};
    db_stats st = {0};
    ck_assert_int_eq(write_batch(s, "cluster-A", m, 4, &st), 0);
    ck_assert_int_eq(stored_offset(s, "cluster-A", "topic1", 0), 7);
    ck_assert_int_eq(stored_offset(s, "cluster-A", "topic2", 1), 11);
    ck_assert_int_eq(stored_offset(s, "cluster-A", "topic1", 2), 1);
    ck_assert_int_eq(stored_offset(s, "cluster-A", "topic1", 1), -1);
    ck_assert_int_eq(stored_offset(s, "cluster-B", "topic1", 0), -1);
    /* Another cluster takes the partition over from offset 0. */
    msg_view m2[1] = {good(&b[0], 0, 0, 0, 1, "b")};
    ck_assert_int_eq(write_batch(s, "cluster-B", m2, 1, &st), 0);
    ck_assert_int_eq(stored_offset(s, "cluster-B", "topic1", 0), 1);
    ck_assert_int_eq(stored_offset(s, "cluster-A", "topic1", 0), -1);
    ck_assert_int_eq(stored_offset(s, "cluster-A", "topic2", 1), 11);
    ck_assert_int_eq(q_int("SELECT count(*) FROM kafka_offsets WHERE next_offset < 0"), 0);
}
END_TEST

/* A writer thread: one batch through its own store. */
typedef struct {
    db_store *store;
    msg_view *m;
    size_t n;
    db_stats st;
    int rc;
} writer;

static void *writer_run(void *arg) {
    writer *w = arg;
    w->rc = write_batch(w->store, "C1", w->m, w->n, &w->st);
    return NULL;
}

/* Two holders of topic1 [0]: while one (here the test's own connection, as
 * the successor) holds the offset row's lock, the stale one's batch waits;
 * once the successor has stored offsets 0..5, the stale batch 0..7 keeps
 * only 6 and 7, and the offset is 8. */
START_TEST(test_two_writers_lock) {
    msgbuf b[8];
    msg_view m[8];
    db_stats st = {0};
    m[0] = good(&b[0], 0, 0, 0, 500, "seed");
    db_store *stale = open_store();
    /* Both were told 0 at some assignment. */
    ck_assert_int_eq(stored_offset(stale, "C1", "topic1", 0), -1);
    exec_sql("BEGIN");
    exec_sql("INSERT INTO kafka_offsets VALUES ('C1', 'topic1', 0, -1)");
    for (int i = 0; i < 8; i++) m[i] = good(&b[i], 0, 0, i, 1000 + i, "stale");
    writer w = {stale, m, 8, {0}, -1};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, writer_run, &w), 0);
    sleep(1); /* the stale batch now waits on the row the successor inserted */
    ck_assert_int_eq(q_int("SELECT count(*) FROM data1"), 0);
    exec_sql("INSERT INTO data1 SELECT g, 'succ', 'P', 'b', now(), NULL, true, NULL FROM "
             "generate_series(1000, 1005) g");
    exec_sql("UPDATE kafka_offsets SET next_offset = 6 WHERE topic = 'topic1' AND partition = 0");
    exec_sql("COMMIT");
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(w.rc, 0);
    ck_assert_int_eq(w.st.skipped, 6);
    ck_assert_int_eq(w.st.rows, 2);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data1 WHERE sample_id = 'succ'"), 6);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data1 WHERE sample_id = 'stale'"), 2);
    ck_assert_int_eq(q_int("SELECT next_offset FROM kafka_offsets"), 8);
    /* A batch entirely behind the stored offset leaves it where it is. */
    ck_assert_int_eq(write_batch(s, "C1", m, 3, &st), 0);
    ck_assert_int_eq(st.skipped, 3);
    ck_assert_int_eq(q_int("SELECT next_offset FROM kafka_offsets"), 8);
    db_store_close(stale);
}
END_TEST

/* A deadlock (40P01) aborts the store's transaction: the batch is written
 * again and stored once. The test's connection holds data1's row for event
 * 700; the store's batch locks topic1 [0]'s offset row, then waits on that
 * row; the test's connection then asks for the offset row: a cycle. Only
 * the store's backend looks for it (the test's own session, as the
 * superuser postgres.sh makes, checks after a minute), so the store's
 * transaction is the one aborted - which the test sees as its own lock
 * being granted while the batch is unfinished. */
START_TEST(test_deadlock_retried) {
    msgbuf b[2];
    msg_view m[2] = {good(&b[0], 0, 0, 0, 700, "first"), good(&b[1], 0, 0, 1, 700, "again")};
    db_stats st = {0};
    ck_assert_int_eq(write_batch(s, "C1", m, 1, &st), 0);
    exec_sql("SET deadlock_timeout = '60s'");
    exec_sql("BEGIN");
    exec_sql("UPDATE data1 SET sample_id = 'test' WHERE event_id = 700");
    writer w = {s, m + 1, 1, {0}, -1};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, writer_run, &w), 0);
    PGconn *watch = PQconnectdb(uri);
    ck_assert_msg(PQstatus(watch) == CONNECTION_OK, "%s", PQerrorMessage(watch));
    bool waiting = false;
    for (int i = 0; i < 300 && !waiting; i++) {
        PGresult *r = PQexec(watch, "SELECT count(*) FROM pg_stat_activity WHERE application_name "
                                    "= 'db_consumer' AND wait_event_type = 'Lock'");
        waiting = PQresultStatus(r) == PGRES_TUPLES_OK && atoi(PQgetvalue(r, 0, 0)) == 1;
        PQclear(r);
        if (!waiting) usleep(20000);
    }
    PQfinish(watch);
    ck_assert_msg(waiting, "the store's batch never waited on the row lock");
    PGresult *r = PQexec(admin, "SELECT next_offset FROM kafka_offsets WHERE topic = 'topic1' AND "
                                "partition = 0 FOR UPDATE");
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK,
                  "the test's side lost the deadlock, not the store: %s", PQerrorMessage(admin));
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "1"); /* the store's batch was rolled back */
    PQclear(r);
    exec_sql("ROLLBACK");
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(w.rc, 0);
    ck_assert_int_eq(w.st.rows, 1);
    char buf[64];
    ck_assert_str_eq(q_text("SELECT sample_id FROM data1 WHERE event_id = 700", buf, sizeof buf),
                     "again");
    ck_assert_int_eq(q_int("SELECT count(*) FROM data1"), 1);
    ck_assert_int_eq(stored_offset(s, "C1", "topic1", 0), 2);
    ck_assert_int_eq(s->exit_code, 0);
}
END_TEST

/* A value the schema lets through but the table refuses (a CHECK added by
 * hand): the batch is written row by row, the row becomes a dead letter,
 * the rest is stored. */
START_TEST(test_refused_value) {
    exec_sql("ALTER TABLE data3 ADD CONSTRAINT gk_test_quality CHECK (quality < 100)");
    msgbuf b[3];
    msg_view m[3] = {good(&b[0], 2, 0, 0, 1, "G1"), good(&b[1], 2, 0, 1, 2, "G2"),
                     good(&b[2], 2, 0, 2, 3, "G3")};
    char *q = strstr(b[1].value, "99.5");
    ck_assert_ptr_nonnull(q);
    memcpy(q, "1e+9", 4);
    db_stats st = {0};
    ck_assert_int_eq(write_batch(s, "C1", m, 3, &st), 0);
    ck_assert_int_eq(st.rows, 2);
    ck_assert_int_eq(st.dead_letters, 1);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data3"), 2);
    char buf[512];
    q_text("SELECT reason FROM dead_letters WHERE \"offset\" = 1", buf, sizeof buf);
    ck_assert_msg(strstr(buf, "rejected by table data3: 23514") && strstr(buf, "gk_test_quality"),
                  "%s", buf);
    ck_assert_int_eq(stored_offset(s, "C1", "topic3", 0), 3);
}
END_TEST

/* The server ends the store's connection between batches (as a restart
 * does): the next batch reconnects and is stored once. */
START_TEST(test_connection_killed) {
    msgbuf b[2];
    msg_view m[2] = {good(&b[0], 0, 0, 0, 1, "x"), good(&b[1], 0, 0, 1, 2, "x")};
    db_stats st = {0};
    ck_assert_int_eq(write_batch(s, "C1", m, 1, &st), 0);
    ck_assert_int_ge(q_int("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                           "application_name = 'db_consumer'"),
                     1);
    ck_assert_int_eq(write_batch(s, "C1", m + 1, 1, &st), 0);
    ck_assert_int_eq(q_int("SELECT count(*) FROM data1"), 2);
    ck_assert_int_eq(stored_offset(s, "C1", "topic1", 0), 2);
    ck_assert_int_eq(s->exit_code, 0);
}
END_TEST

/* Opens with conninfo and expects failure with exit code, and err to
 * contain want and not the password. */
static void expect_open_fails(const char *conninfo, int code, const char *want) {
    char err[1024] = "";
    db_store *st = NULL;
    int got = db_store_open(conninfo, DB_SYNC_FULL, 30, &st, err, sizeof err);
    ck_assert_msg(st == NULL, "%s opened", conninfo);
    ck_assert_msg(got == code, "%s: exit %d, want %d (%s)", conninfo, got, code, err);
    ck_assert_msg(strstr(err, want), "%s: '%s' lacks '%s'", conninfo, err, want);
    ck_assert_msg(!strstr(err, "wrong-password"), "the password shows: %s", err);
}

START_TEST(test_open_errors) {
    db_store_close(s);
    s = NULL;
    char bad[1200];
    /* The password file names the right one; a password given wins over it. */
    snprintf(bad, sizeof bad, "%s&password=wrong-password", uri);
    expect_open_fails(bad, GK_EXIT_NOPERM, "28P01");
    char *q = strstr(base_uri, "/genetika?");
    ck_assert_ptr_nonnull(q);
    snprintf(bad, sizeof bad, "%.*s/no_such_db%s", (int)(q - base_uri), base_uri,
             q + strlen("/genetika"));
    expect_open_fails(bad, GK_EXIT_NODATABASE, "3D000");
    /* No password anywhere (libpq's environment variables cleared). */
    char *pgpass = getenv("PGPASSFILE") ? strdup(getenv("PGPASSFILE")) : NULL;
    setenv("PGPASSFILE", "/nonexistent", 1);
    snprintf(bad, sizeof bad, "%.*s", (int)(strstr(base_uri, "?") - base_uri), base_uri);
    expect_open_fails(bad, GK_EXIT_NOPERM, "no password");
    if (pgpass) setenv("PGPASSFILE", pgpass, 1); else unsetenv("PGPASSFILE");
    free(pgpass);

    /* Tables that disagree with the schema. */
    exec_sql("DROP TABLE IF EXISTS data1, data2, data3, dead_letters, kafka_offsets");
    exec_sql("CREATE TABLE data2 (event_id bigint PRIMARY KEY, run_id text, instrument text, lane "
             "bigint, read_count bigint, q30_pct text, mean_coverage double precision, "
             "sequenced_at timestamptz, passed_qc boolean)");
    expect_open_fails(uri, GK_EXIT_CONFIG, "table data2, column q30_pct is text, but the schema "
                                           "maps it to double precision");
    exec_sql("ALTER TABLE data2 DROP COLUMN q30_pct");
    expect_open_fails(uri, GK_EXIT_CONFIG, "table data2 has no column q30_pct (double precision)");
    exec_sql("ALTER TABLE data2 ADD COLUMN q30_pct double precision, ADD COLUMN extra text NOT NULL");
    expect_open_fails(uri, GK_EXIT_CONFIG, "table data2 has a column extra that is NOT NULL");
    exec_sql("ALTER TABLE data2 DROP COLUMN extra, DROP CONSTRAINT data2_pkey");
    expect_open_fails(uri, GK_EXIT_CONFIG, "42P10");
    exec_sql("DROP TABLE data2");
    s = open_store();
}
END_TEST

static Suite *store_pg_suite(void) {
    Suite *su = suite_create("store_pg");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_tables_and_types);
    tcase_add_test(tc, test_rows_values_and_resend);
    tcase_add_test(tc, test_dead_letters);
    tcase_add_test(tc, test_offsets_per_cluster);
    tcase_add_test(tc, test_two_writers_lock);
    tcase_add_test(tc, test_deadlock_retried);
    tcase_add_test(tc, test_refused_value);
    tcase_add_test(tc, test_connection_killed);
    tcase_add_test(tc, test_open_errors);
    suite_add_tcase(su, tc);
    return su;
}

const unit_def unit_tests = {store_pg_suite, start_server, stop_server};
