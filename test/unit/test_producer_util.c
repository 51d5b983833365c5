/* test_producer_util.c - the producer's helpers: the duplicate-id set, the
 * row-range formatting of undelivered rows, and event pacing. */
#include "producer/idset.h"
#include "producer/pace.h"
#include "producer/rowlist.h"
#include "test/unit/runner.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

START_TEST(idset_finds_duplicates) {
    idset s;
    idset_init(&s);
    uint32_t first = 0;
    /* Enough ids to force several growths; sequential and scattered. */
    for (int64_t i = 1; i <= 100000; i++) ck_assert_int_eq(idset_add(&s, i, (uint32_t)i + 1, NULL), 0);
    for (int64_t i = 1; i <= 1000; i++)
        ck_assert_int_eq(idset_add(&s, i * 1000003LL + 7000000000LL, 5, NULL), 0);
    ck_assert_uint_eq(idset_size(&s), 101000);
    ck_assert_int_eq(idset_add(&s, 4242, 999, &first), 1);
    ck_assert_uint_eq(first, 4243);
    ck_assert_int_eq(idset_add(&s, 1000003LL + 7000000000LL, 9, &first), 1);
    ck_assert_uint_eq(first, 5);
    /* Every int64 is a valid id, the free-slot marker included. */
    ck_assert_int_eq(idset_add(&s, INT64_MIN, 11, NULL), 0);
    ck_assert_int_eq(idset_add(&s, INT64_MIN, 12, &first), 1);
    ck_assert_uint_eq(first, 11);
    ck_assert_int_eq(idset_add(&s, INT64_MAX, 13, NULL), 0);
    ck_assert_int_eq(idset_add(&s, 0, 14, NULL), 0);
    ck_assert_int_eq(idset_add(&s, -1, 15, NULL), 0);
    ck_assert_int_eq(idset_add(&s, 0, 16, &first), 1);
    ck_assert_uint_eq(first, 14);
    ck_assert_uint_eq(idset_size(&s), 101004);
    idset_free(&s);
    ck_assert_uint_eq(idset_size(&s), 0);
    ck_assert_int_eq(idset_add(&s, 4242, 1, NULL), 0); /* reusable after free */
    idset_free(&s);
}
END_TEST

static char *fmt(const uint32_t *rows, size_t n, size_t max) {
    rowlist l = {0};
    for (size_t i = 0; i < n; i++) ck_assert_int_eq(rowlist_add(&l, rows[i]), 0);
    char *s = rowlist_format(&l, max);
    rowlist_free(&l);
    return s;
}

/* A sheet's usual ids (ascending, one per row) take a few runs, not a
 * table: memory stays flat whatever the number of rows. */
START_TEST(idset_runs_stay_small) {
    idset s;
    idset_init(&s);
    uint32_t first = 0;
    for (int64_t i = 1; i <= 1000000; i++)
        ck_assert_int_eq(idset_add(&s, i, (uint32_t)i + 1, NULL), 0);
    ck_assert_uint_eq(idset_size(&s), 1000000);
    ck_assert_uint_le(idset_bytes(&s), 4096);
    /* A skipped row, a gap in the ids and a jump back each start something new. */
    ck_assert_int_eq(idset_add(&s, 1000001, 1000003, NULL), 0); /* row 1000002 was skipped */
    ck_assert_int_eq(idset_add(&s, 2000000, 1000004, NULL), 0);
    ck_assert_int_eq(idset_add(&s, 2000001, 1000005, NULL), 0);
    ck_assert_int_eq(idset_add(&s, 0, 1000006, NULL), 0);        /* below every run: table */
    ck_assert_int_eq(idset_add(&s, 1999999, 1000007, NULL), 0);  /* in a gap: table */
    ck_assert_int_eq(idset_add(&s, 2000002, 1000008, NULL), 0);  /* past all runs again */
    ck_assert_uint_le(idset_bytes(&s), 4096 + 1024 * 12);
    ck_assert_uint_eq(idset_size(&s), 1000006);
    static const struct { int64_t id; uint32_t row; } dup[] = {
        {1, 2}, {500000, 500001}, {1000000, 1000001}, {1000001, 1000003}, {2000000, 1000004},
        {2000001, 1000005}, {0, 1000006}, {1999999, 1000007}, {2000002, 1000008}};
    for (size_t i = 0; i < sizeof dup / sizeof *dup; i++) {
        ck_assert_int_eq(idset_add(&s, dup[i].id, 1, &first), 1);
        ck_assert_uint_eq(first, dup[i].row);
    }
    ck_assert_int_eq(idset_add(&s, 1500000, 2, NULL), 0);
    ck_assert_int_eq(idset_add(&s, 1000002, 3, NULL), 0);
    ck_assert_uint_eq(idset_size(&s), 1000008);
    idset_free(&s);
    /* Runs at the ends of the int64 range. */
    ck_assert_int_eq(idset_add(&s, INT64_MIN, 1, NULL), 0);
    ck_assert_int_eq(idset_add(&s, INT64_MIN + 1, 2, NULL), 0);
    ck_assert_int_eq(idset_add(&s, INT64_MAX - 1, 3, NULL), 0);
    ck_assert_int_eq(idset_add(&s, INT64_MAX, 4, NULL), 0);
    ck_assert_int_eq(idset_add(&s, INT64_MIN, 5, &first), 1);
    ck_assert_uint_eq(first, 1);
    ck_assert_int_eq(idset_add(&s, INT64_MAX, 5, &first), 1);
    ck_assert_uint_eq(first, 4);
    ck_assert_int_eq(idset_add(&s, -5, 6, NULL), 0);
    ck_assert_int_eq(idset_add(&s, INT64_MIN + 1, 7, &first), 1);
    ck_assert_uint_eq(first, 2);
    ck_assert_uint_eq(idset_size(&s), 5);
    idset_free(&s);
}
END_TEST

/* Random ids against a plain array oracle. */
START_TEST(idset_matches_oracle) {
    enum { N = 20000 };
    static int64_t seen[N];
    static uint32_t seen_row[N];
    size_t nseen = 0;
    idset s;
    idset_init(&s);
    uint64_t x = 12345;
    int64_t next = 1;
    for (uint32_t row = 2; row < N; row++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t id = x % 4 ? next++ : (int64_t)(x % 30000); /* mostly runs, some strays */
        uint32_t first = 0, want = 0;
        int found = 0;
        for (size_t i = 0; i < nseen; i++)
            if (seen[i] == id) found = 1, want = seen_row[i];
        int rc = idset_add(&s, id, row, &first);
        ck_assert_int_eq(rc, found);
        if (found) {
            ck_assert_uint_eq(first, want);
        } else {
            seen[nseen] = id;
            seen_row[nseen++] = row;
        }
    }
    ck_assert_uint_eq(idset_size(&s), nseen);
    idset_free(&s);
}
END_TEST

START_TEST(rowlist_ranges) {
    static const uint32_t a[] = {45, 17, 18, 19, 40, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
                                 31, 32, 33, 34, 35, 36, 37, 38, 39};
    char *s = fmt(a, sizeof a / sizeof a[0], 50);
    ck_assert_str_eq(s, "17-40, 45");
    free(s);
    static const uint32_t b[] = {5, 3, 3, 1, 9, 10};
    s = fmt(b, 6, 50);
    ck_assert_str_eq(s, "1, 3, 5, 9-10");
    free(s);
    s = fmt(b, 6, 2);
    ck_assert_str_eq(s, "1, 3, ... and 3 more rows");
    free(s);
    s = fmt(NULL, 0, 50);
    ck_assert_str_eq(s, "");
    free(s);
    static const uint32_t c[] = {4294967295u, 4294967294u};
    s = fmt(c, 2, 50);
    ck_assert_str_eq(s, "4294967294-4294967295");
    free(s);
}
END_TEST

START_TEST(pace_constant_and_poisson) {
    pace_arrivals a;
    ck_assert_int_eq(pace_arrivals_parse("poisson", &a), 0);
    ck_assert_int_eq(a, PACE_POISSON);
    ck_assert_int_eq(pace_arrivals_parse("constant", &a), 0);
    ck_assert_int_eq(a, PACE_CONSTANT);
    ck_assert_int_eq(pace_arrivals_parse("bursty", &a), -1);

    pace p;
    pace_init(&p, 2000, PACE_CONSTANT, 1, 0);
    ck_assert_int_eq(pace_interval_ns(&p), 500000);
    pace_init(&p, 0, PACE_CONSTANT, 1, 0);
    ck_assert_int_eq(pace_interval_ns(&p), 0);

    /* Poisson: exponential intervals with the right mean, repeatable by seed. */
    pace q, r;
    pace_init(&q, 1000, PACE_POISSON, 42, 0);
    pace_init(&r, 1000, PACE_POISSON, 42, 0);
    double sum = 0, sumsq = 0;
    int n = 200000, distinct = 0;
    int64_t prev = -1;
    for (int i = 0; i < n; i++) {
        int64_t x = pace_interval_ns(&q);
        ck_assert_int_eq(x, pace_interval_ns(&r));
        ck_assert_int_ge(x, 0);
        sum += (double)x;
        sumsq += (double)x * (double)x;
        distinct += x != prev;
        prev = x;
    }
    double mean = sum / n, sd = sqrt(sumsq / n - mean * mean);
    ck_assert_double_eq_tol(mean, 1e6, 1e4);  /* mean 1 ms within 1% */
    ck_assert_double_eq_tol(sd, 1e6, 2e4);    /* exponential: sd == mean */
    ck_assert_int_gt(distinct, n - 10);
    pace_init(&r, 1000, PACE_POISSON, 43, 0);
    pace_init(&q, 1000, PACE_POISSON, 42, 0);
    ck_assert_int_ne(pace_interval_ns(&q), pace_interval_ns(&r));
}
END_TEST

static void *set_stop_later(void *arg) {
    struct timespec ts = {0, 150000000L};
    nanosleep(&ts, NULL);
    atomic_store((atomic_int *)arg, 1);
    return NULL;
}

START_TEST(pace_wait_keeps_the_rate) {
    atomic_int stop = 0;
    pace p;
    int64_t t0 = pace_now_ns();
    pace_init(&p, 500, PACE_CONSTANT, 1, t0);
    for (int i = 0; i < 100; i++) ck_assert_int_eq(pace_wait(&p, &stop), 0);
    /* 100 events at 500/s: the 100th is due 198 ms after the first. */
    double ms = (double)(pace_now_ns() - t0) / 1e6;
    ck_assert_double_ge(ms, 197.0);
    ck_assert_double_le(ms, 400.0);
    /* Behind schedule: no sleeping until it has caught up. */
    pace_init(&p, 1000, PACE_CONSTANT, 1, pace_now_ns() - 1000000000LL);
    int64_t t1 = pace_now_ns();
    for (int i = 0; i < 500; i++) ck_assert_int_eq(pace_wait(&p, &stop), 0);
    ck_assert_int_lt(pace_now_ns() - t1, 100000000LL);
    /* Stop, set by another thread, interrupts a long wait within about one
     * 100 ms slice. */
    pace_init(&p, 0.01, PACE_CONSTANT, 1, pace_now_ns() + 60000000000LL);
    pthread_t th;
    int64_t t2 = pace_now_ns();
    ck_assert_int_eq(pthread_create(&th, NULL, set_stop_later, &stop), 0);
    ck_assert_int_eq(pace_wait(&p, &stop), -1);
    int64_t waited = pace_now_ns() - t2;
    pthread_join(th, NULL);
    ck_assert_int_ge(waited, 150000000LL);
    ck_assert_int_lt(waited, 400000000LL);
}
END_TEST

static Suite *producer_util_suite(void) {
    Suite *s = suite_create("producer_util");
    TCase *tc = tcase_create("util");
    tcase_add_test(tc, idset_finds_duplicates);
    tcase_add_test(tc, idset_runs_stay_small);
    tcase_add_test(tc, idset_matches_oracle);
    tcase_add_test(tc, rowlist_ranges);
    tcase_add_test(tc, pace_constant_and_poisson);
    tcase_add_test(tc, pace_wait_keeps_the_rate);
    suite_add_tcase(s, tc);
    return s;
}

const unit_def unit_tests = {producer_util_suite, NULL, NULL};
