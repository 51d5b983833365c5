/* test_db_batch.c - what a store writes for a batch, without a database:
 * batch.h's rule for two writers of a partition (plan, walk), which --db
 * value names PostgreSQL (store.c), and the conninfo as logs show it
 * (pg_conn_redact: never the password). */
#include "common/log.h"
#include "db_consumer/batch.h"
#include "db_consumer/pg_conn.h"
#include "db_consumer/store.h"
#include "test/unit/runner.h"

#include <stdio.h>
#include <string.h>

/* A batch of topic1 partition 0 offsets from..to-1 and topic2 partition 1
 * offsets 100..102, with values that are not JSON (the walk's dead letters
 * tell which messages it handed over). */
typedef struct {
    msg_view msgs[64];
    consume_partition next[4];
    consume_batch b;
} test_batch;

static void make_batch(test_batch *t, int64_t from, int64_t to) {
    size_t n = 0;
    for (int64_t o = from; o < to; o++)
        t->msgs[n++] = (msg_view){"topic1", 0, o, "1", 1, "x", 1, -1, -1, NULL};
    for (int64_t o = 100; o < 103; o++)
        t->msgs[n++] = (msg_view){"topic2", 1, o, "1", 1, "x", 1, -1, -1, NULL};
    t->b = (consume_batch){"C", t->msgs, n, t->next,
                           consume_batch_offsets(t->msgs, n, t->next), NULL};
}

START_TEST(plan_nothing_stored) {
    test_batch t;
    make_batch(&t, 5, 10);
    db_batch_told told = {0};
    int64_t stored[2] = {-1, -1};
    db_batch_part plan[2];
    ck_assert_uint_eq(db_batch_plan(&told, &t.b, stored, plan), 0);
    ck_assert_int_eq(plan[0].first, 5);
    ck_assert_int_eq(plan[0].from, 5);
    ck_assert(plan[0].store_offset);
    ck_assert_int_eq(plan[1].first, 100);
    ck_assert(plan[1].store_offset);
}
END_TEST

START_TEST(plan_stored_at_or_before_first) {
    test_batch t;
    make_batch(&t, 5, 10);
    db_batch_told told = {0};
    int64_t stored[2] = {5, 90}; /* 90 < 100: a gap in the log (compaction, markers) */
    db_batch_part plan[2];
    ck_assert_uint_eq(db_batch_plan(&told, &t.b, stored, plan), 0);
    ck_assert_int_eq(plan[0].from, 5);
    ck_assert_int_eq(plan[1].from, 100);
    ck_assert(plan[0].store_offset && plan[1].store_offset);
}
END_TEST

/* Counts the dead letters the walk hands over, i.e. the messages written. */
static int walked;
static int64_t walked_offsets[64];
static int count_row(void *ctx, const msg_view *m, const schema_message *sm) {
    (void)ctx, (void)m, (void)sm;
    ck_abort_msg("no message of these batches is a row");
    return -1;
}
static int count_dead(void *ctx, const msg_view *m, const char *reason) {
    (void)ctx, (void)reason;
    walked_offsets[walked++] = m->offset;
    return 0;
}

START_TEST(plan_partly_written_by_another) {
    test_batch t;
    make_batch(&t, 5, 10);
    db_batch_told told = {0};
    ck_assert_int_eq(db_batch_told_set(&told, "topic1", 0, 5), 0); /* this instance was told 5 */
    int64_t stored[2] = {8, -1}; /* another instance wrote 5..7 meanwhile */
    db_batch_part plan[2];
    ck_assert_uint_eq(db_batch_plan(&told, &t.b, stored, plan), 3);
    ck_assert_int_eq(plan[0].from, 8);
    ck_assert(plan[0].store_offset);
    walked = 0;
    static const db_batch_sink sink = {count_row, count_dead};
    ck_assert_int_eq(db_batch_walk(&t.b, plan, &sink, NULL), 0);
    ck_assert_int_eq(walked, 2 + 3); /* 8, 9 and topic2's three */
    ck_assert_int_eq(walked_offsets[0], 8);
    ck_assert_int_eq(walked_offsets[1], 9);
    db_batch_told_free(&told);
}
END_TEST

START_TEST(plan_all_written_by_another) {
    test_batch t;
    make_batch(&t, 5, 10);
    db_batch_told told = {0};
    int64_t stored[2] = {12, 103};
    db_batch_part plan[2];
    ck_assert_uint_eq(db_batch_plan(&told, &t.b, stored, plan), 5 + 3);
    ck_assert(!plan[0].store_offset); /* never backwards: 12 stays */
    ck_assert(!plan[1].store_offset); /* 103 is already the batch's end */
    walked = 0;
    static const db_batch_sink sink = {count_row, count_dead};
    ck_assert_int_eq(db_batch_walk(&t.b, plan, &sink, NULL), 0);
    ck_assert_int_eq(walked, 0);
}
END_TEST

START_TEST(plan_loop_went_back) {
    test_batch t;
    make_batch(&t, 0, 4);
    db_batch_told told = {0};
    /* Told 50 at assignment, yet the loop starts at 0: a new log (the topic
     * was recreated). Written whole, and the offset goes back to 4. */
    ck_assert_int_eq(db_batch_told_set(&told, "topic1", 0, 50), 0);
    int64_t stored[2] = {50, -1};
    db_batch_part plan[2];
    ck_assert_uint_eq(db_batch_plan(&told, &t.b, stored, plan), 0);
    ck_assert_int_eq(plan[0].from, 0);
    ck_assert(plan[0].store_offset);
    /* Once committed, the loop is at 4: a later batch at 4 is no going back. */
    db_batch_committed(&told, &t.b);
    make_batch(&t, 4, 6);
    stored[0] = 9; /* another instance wrote 4..8 */
    ck_assert_uint_eq(db_batch_plan(&told, &t.b, stored, plan), 2);
    ck_assert(!plan[0].store_offset);
    db_batch_told_free(&told);
}
END_TEST

START_TEST(told_grows) {
    db_batch_told told = {0};
    char topic[32];
    for (int i = 0; i < 100; i++) {
        snprintf(topic, sizeof topic, "t%d", i % 7);
        ck_assert_int_eq(db_batch_told_set(&told, topic, i, i), 0);
    }
    ck_assert_uint_eq(told.n, 100);
    ck_assert_int_eq(db_batch_told_set(&told, "t3", 3, 33), 0); /* updates, does not add */
    ck_assert_uint_eq(told.n, 100);
    db_batch_told_free(&told);
}
END_TEST

START_TEST(which_database) {
    static const char *const pg[] = {"postgresql://u@h/db", "postgres://h", "host=db dbname=x",
                                     "service=genetika", "dbname = x", "user=a"};
    static const char *const sqlite[] = {"genetika.db", "out/genetika.db", "./a=b.db",
                                         "/var/lib/x=1.db", "a b=c", "=x", "postgresql:/x",
                                         "POSTGRESQL.db"};
    for (size_t i = 0; i < sizeof pg / sizeof *pg; i++)
        ck_assert_msg(db_store_is_postgres(pg[i]), "%s", pg[i]);
    for (size_t i = 0; i < sizeof sqlite / sizeof *sqlite; i++)
        ck_assert_msg(!db_store_is_postgres(sqlite[i]), "%s", sqlite[i]);
}
END_TEST

START_TEST(redacted) {
    char out[256];
    pg_conn_redact("postgresql://alice:s3cret@db.example:6543/lab?sslmode=require", out, sizeof out);
    ck_assert_ptr_null(strstr(out, "s3cret"));
    ck_assert_ptr_nonnull(strstr(out, "user=alice"));
    ck_assert_ptr_nonnull(strstr(out, "host=db.example"));
    ck_assert_ptr_nonnull(strstr(out, "port=6543"));
    ck_assert_ptr_nonnull(strstr(out, "dbname=lab"));
    pg_conn_redact("host=h password='it\\'s secret' dbname='my db'", out, sizeof out);
    ck_assert_ptr_null(strstr(out, "secret"));
    ck_assert_ptr_nonnull(strstr(out, "dbname='my db'"));
    /* Not parsable: shown up to where a password may start. */
    pg_conn_redact("host=h password=x nonsense", out, sizeof out);
    ck_assert_ptr_null(strstr(out, "password=x"));
    db_store_describe("postgres://bob:pw@h/db", out, sizeof out);
    ck_assert_ptr_null(strstr(out, "pw"));
    db_store_describe("out/genetika.db", out, sizeof out);
    ck_assert_str_eq(out, "out/genetika.db");
}
END_TEST

START_TEST(bad_conninfo) {
    char err[512];
    ck_assert_ptr_null(pg_conn_new("host=h nosuchoption=1", NULL, NULL, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "not a valid PostgreSQL connection string"));
    ck_assert_ptr_nonnull(strstr(err, "nosuchoption"));
    db_store *s = NULL;
    ck_assert_int_eq(db_store_open("x=1.db", DB_SYNC_FULL, 1, &s, err, sizeof err), 64);
    ck_assert_ptr_null(s);
}
END_TEST

START_TEST(exit_codes) {
    ck_assert_int_eq(pg_conn_exit_code("28P01"), 77);
    ck_assert_int_eq(pg_conn_exit_code("28000"), 77);
    ck_assert_int_eq(pg_conn_exit_code("42501"), 77);
    ck_assert_int_eq(pg_conn_exit_code("3D000"), 68);
    ck_assert_int_eq(pg_conn_exit_code("42P10"), 78);
    ck_assert_int_eq(pg_conn_exit_code("42P01"), 78);
    ck_assert_int_eq(pg_conn_exit_code("53100"), 74);
}
END_TEST

static Suite *db_batch_suite(void) {
    log_init("test_db_batch", LOG_ERROR);
    Suite *s = suite_create("db_batch");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, plan_nothing_stored);
    tcase_add_test(tc, plan_stored_at_or_before_first);
    tcase_add_test(tc, plan_partly_written_by_another);
    tcase_add_test(tc, plan_all_written_by_another);
    tcase_add_test(tc, plan_loop_went_back);
    tcase_add_test(tc, told_grows);
    tcase_add_test(tc, which_database);
    tcase_add_test(tc, redacted);
    tcase_add_test(tc, bad_conninfo);
    tcase_add_test(tc, exit_codes);
    suite_add_tcase(s, tc);
    return s;
}

const unit_def unit_tests = {db_batch_suite, NULL, NULL};
