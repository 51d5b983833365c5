/* test_producer_util.c - the producer's helpers: the duplicate-id set, the
 * row-range formatting of undelivered rows, event pacing and the rate curves
 * it follows by thinning. */
#include "producer/idset.h"
#include "producer/pace.h"
#include "producer/pace_curve.h"
#include "producer/rowlist.h"
#include "test/unit/runner.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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


START_TEST(pace_curve_shapes) {
    char err[256];
    pace_curve c;
    /* The diurnal day: trough at 03:00, peak at 15:00, midnight between,
     * repeating every period. */
    ck_assert_int_eq(pace_curve_diurnal(&c, 100, 10000, 24, err, sizeof err), 0);
    ck_assert_double_eq_tol(pace_curve_rate(&c, 3), 100, 1e-6);
    ck_assert_double_eq_tol(pace_curve_rate(&c, 15), 10000, 1e-6);
    ck_assert_double_eq_tol(pace_curve_rate(&c, 9), 5050, 1e-6);  /* morning: half-way */
    ck_assert_double_eq_tol(pace_curve_rate(&c, 21), 5050, 1e-6); /* evening: half-way */
    ck_assert_double_eq_tol(pace_curve_rate(&c, 0), 100 + 9900 * (1 - cos(M_PI / 4)) / 2, 1e-6);
    ck_assert_double_eq_tol(pace_curve_rate(&c, 24 + 15), 10000, 1e-6);
    double sum = 0; /* the documented mean (trough + peak) / 2 */
    for (int i = 0; i < 24000; i++) sum += pace_curve_rate(&c, (i + 0.5) / 1000.0);
    ck_assert_double_eq_tol(sum / 24000, 5050, 1e-3);
    ck_assert_int_eq(pace_curve_diurnal(&c, 100, 0, 24, err, sizeof err), -1);
    ck_assert_int_eq(pace_curve_diurnal(&c, 100, 100, 24, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "below the peak"));
    ck_assert_int_eq(pace_curve_diurnal(&c, 0, 1, 0, err, sizeof err), -1);

    /* CSV: linear between rows, repeating after the last row's time. */
    const char *csv = "seconds,rate\r\n# ramp up, hold, down\n0,100\n10, 1100\n\n20,1100\n30,100\n";
    ck_assert_int_eq(pace_curve_parse(&c, "c.csv", csv, strlen(csv), err, sizeof err), 0);
    ck_assert_int_eq(c.n, 4);
    ck_assert_double_eq(c.period, 30);
    ck_assert_double_eq(c.peak, 1100);
    ck_assert_double_eq_tol(pace_curve_rate(&c, 5), 600, 1e-9);
    ck_assert_double_eq_tol(pace_curve_rate(&c, 15), 1100, 1e-9);
    ck_assert_double_eq_tol(pace_curve_rate(&c, 29), 200, 1e-9);
    ck_assert_double_eq_tol(pace_curve_rate(&c, 35), 600, 1e-9);
    /* Stretched to 60 s and scaled to a peak of 2200. */
    pace_curve_scale(&c, 60, 2200);
    ck_assert_double_eq(c.period, 60);
    ck_assert_double_eq(c.peak, 2200);
    ck_assert_double_eq_tol(pace_curve_rate(&c, 10), 1200, 1e-9);
    ck_assert_double_eq_tol(pace_curve_rate(&c, 70), 1200, 1e-9);
    ck_assert_double_eq(pace_curve_quiet_end(&c, 10), 10); /* nowhere silent */
    pace_curve_free(&c);

    /* Silent stretches (rate 0 at both ends of a segment) end where the next
     * segment that is not silent starts, in this lap or the next. */
    csv = "0,5\n10,0\n20,0\n30,0\n40,5\n";
    ck_assert_int_eq(pace_curve_parse(&c, "s.csv", csv, strlen(csv), err, sizeof err), 0);
    ck_assert_double_eq(pace_curve_quiet_end(&c, 5), 5);
    ck_assert_double_eq(pace_curve_quiet_end(&c, 10), 30);
    ck_assert_double_eq(pace_curve_quiet_end(&c, 25), 30);
    ck_assert_double_eq(pace_curve_quiet_end(&c, 35), 35);
    ck_assert_double_eq(pace_curve_quiet_end(&c, 95), 110);
    pace_curve_free(&c);
    csv = "0,0\n10,5\n20,0\n30,0\n";
    ck_assert_int_eq(pace_curve_parse(&c, "s.csv", csv, strlen(csv), err, sizeof err), 0);
    ck_assert_double_eq(pace_curve_quiet_end(&c, 25), 30);
    ck_assert_double_eq(pace_curve_quiet_end(&c, 55), 60);
    ck_assert_double_eq(pace_curve_quiet_end(&c, 5), 5);
    pace_curve_free(&c);
    ck_assert_int_eq(pace_curve_diurnal(&c, 0, 10, 24, err, sizeof err), 0);
    ck_assert_double_eq(pace_curve_quiet_end(&c, 3), 3); /* 0 only at an instant */
}
END_TEST

START_TEST(pace_curve_bad_files) {
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"0,1\n1,2\nx,3\n", "c.csv line 3: expected seconds,rate as two finite numbers"},
        {"seconds,rate\nrate,seconds\n0,1\n", "c.csv line 2: expected seconds,rate"},
        {"0,1\n1\n", "c.csv line 2: expected seconds,rate"},
        {"0,1\n1,2,3\n", "c.csv line 2: expected seconds,rate as two finite numbers"},
        {"0,1\n1,nan\n", "c.csv line 2: expected seconds,rate as two finite numbers"},
        {"0,1\n1,1e999\n", "c.csv line 2: expected seconds,rate as two finite numbers"},
        {"1,1\n2,2\n", "c.csv line 1: the first row must be at 0 seconds"},
        {"0,1\n5,2\n5,3\n", "c.csv line 3: time 5 is not after the previous row's 5"},
        {"0,1\n5,2\n4,3\n", "c.csv line 3: time 4 is not after"},
        {"0,1\n5,-2\n", "c.csv line 2: rate -2 is outside 0..10000000"},
        {"0,1\n5,20000000\n", "c.csv line 2: rate 2e+07 is outside"},
        {"0,1\n40000000,1\n", "c.csv line 2: time 4e+07 is beyond"},
        {"0,1\n", "c.csv: needs at least 2 rows of seconds,rate (has 1)"},
        {"seconds,rate\n", "c.csv: needs at least 2 rows"},
        {"", "c.csv: needs at least 2 rows"},
        {"0,0\n5,0\n", "c.csv: every rate is 0"},
    };
    char err[256];
    pace_curve c;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(pace_curve_parse(&c, "c.csv", bad[i].text, strlen(bad[i].text), err,
                                          sizeof err), -1);
        ck_assert_msg(strncmp(err, bad[i].why, strlen(bad[i].why)) == 0, "case %zu: got '%s'", i,
                      err);
        ck_assert_ptr_null(strchr(err, '\n'));
        ck_assert_ptr_null(c.t);
    }
    ck_assert_int_eq(pace_curve_parse(&c, "c.csv", "0,1\n\0""1,2\n", 9, err, sizeof err), -1);
    ck_assert_str_eq(err, "c.csv: not a text file (NUL byte)");

    /* Bounds: rows, then bytes. */
    size_t cap = (PACE_CURVE_MAX_POINTS + 2) * 16, len = 0;
    char *big = malloc(cap);
    ck_assert_ptr_nonnull(big);
    for (int i = 0; i <= PACE_CURVE_MAX_POINTS; i++)
        len += (size_t)snprintf(big + len, cap - len, "%d,1\n", i);
    ck_assert_int_eq(pace_curve_parse(&c, "big.csv", big, len, err, sizeof err), -1);
    ck_assert_str_eq(err, "big.csv line 100001: more than 100000 rows");
    ck_assert_int_eq(pace_curve_parse(&c, "big.csv", big, len - 9, err, sizeof err), 0);
    ck_assert_int_eq(c.n, PACE_CURVE_MAX_POINTS);
    pace_curve_free(&c);
    free(big);
    ck_assert_int_eq(pace_curve_parse(&c, "huge.csv", "", PACE_CURVE_MAX_BYTES + 1, err,
                                      sizeof err), -1);
    ck_assert_str_eq(err, "huge.csv: larger than 4194304 bytes");

    /* From a file: found and read, or named when missing or not a file. */
    char dir[] = "/tmp/gk_curve_XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/day.csv", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("seconds,rate\n0,5\n60,50\n", f);
    fclose(f);
    ck_assert_int_eq(pace_curve_load(&c, path, err, sizeof err), 0);
    ck_assert_double_eq(c.period, 60);
    pace_curve_free(&c);
    ck_assert_int_eq(pace_curve_load(&c, dir, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, dir));
    unlink(path);
    ck_assert_int_eq(pace_curve_load(&c, path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "day.csv: cannot read: No such file") != NULL, "%s", err);
    rmdir(dir);
}
END_TEST

/* The expected number of arrivals of curve c in [a, b) seconds: the
 * integral of its rate (midpoint rule, fine enough for a 1 s window). */
static double curve_integral(const pace_curve *c, double a, double b) {
    double sum = 0, h = (b - a) / 1000;
    for (int i = 0; i < 1000; i++) sum += pace_curve_rate(c, a + (i + 0.5) * h);
    return sum * h;
}

/* Counts the arrivals of a thinned schedule (computed, not slept) per 1 s
 * window over [0, seconds) and checks each against the integral of the rate:
 * a Poisson count's standard deviation is the square root of its mean, so
 * with a fixed seed every window must be within 5 of them. Returns the
 * total count. */
static long check_thinning(const pace_curve *c, uint64_t seed, int seconds) {
    pace p, q;
    pace_init_curve(&p, c, seed, 0);
    pace_init_curve(&q, c, seed, 0); /* a second thread, same seed: same arrivals */
    long *count = calloc((size_t)seconds, sizeof *count), total = 0;
    ck_assert_ptr_nonnull(count);
    int64_t prev = 0;
    long differ = 0, backwards = 0; /* counted, not asserted: Check writes a pipe per assertion */
    for (;;) {
        int due = pace_advance(&p);
        differ += pace_advance(&q) != due || q.next_ns != p.next_ns;
        backwards += p.next_ns < prev;
        prev = p.next_ns;
        if (p.next_ns >= (int64_t)seconds * 1000000000LL) break;
        if (due) count[p.next_ns / 1000000000LL]++;
    }
    ck_assert_int_eq(differ, 0);
    ck_assert_int_eq(backwards, 0);
    for (int w = 0; w < seconds; w++) {
        double mean = curve_integral(c, w, w + 1);
        ck_assert_msg(fabs((double)count[w] - mean) <= 5 * sqrt(mean) + 1,
                      "window %d: %ld arrivals, expected %.1f", w, count[w], mean);
        total += count[w];
    }
    free(count);
    return total;
}

START_TEST(pace_thinning_follows_the_curve) {
    char err[256];
    pace_curve c;
    /* A day of 100 to 10,000 events/s compressed into 60 s, as the bench's. */
    ck_assert_int_eq(pace_curve_diurnal(&c, 100, 10000, 60, err, sizeof err), 0);
    long total = check_thinning(&c, 7, 60);
    ck_assert_msg(fabs((double)total - 60 * 5050) <= 4 * sqrt(60 * 5050), "%ld", total);
    /* Another seed: other arrivals, the same law. */
    check_thinning(&c, 8, 60);
    pace a, b;
    pace_init_curve(&a, &c, 7, 0);
    pace_init_curve(&b, &c, 8, 0);
    pace_advance(&a);
    pace_advance(&b);
    ck_assert_int_ne(a.next_ns, b.next_ns);

    /* A CSV curve with silent stretches (the first 10 s, and from 30 s to
     * the next lap's 10 s): nothing arrives there, and they are skipped, not
     * thinned candidate by candidate. */
    const char *csv = "0,0\n10,0\n10.5,2000\n20,2000\n30,0\n";
    ck_assert_int_eq(pace_curve_parse(&c, "q.csv", csv, strlen(csv), err, sizeof err), 0);
    pace p;
    pace_init_curve(&p, &c, 3, 0);
    ck_assert_int_eq(pace_advance(&p), 1);
    ck_assert_int_ge(p.next_ns, 10000000000LL);
    ck_assert_int_lt(p.next_ns, 10500000000LL);
    check_thinning(&c, 3, 50);
    pace_curve_free(&c);
    /* A stretch near 0 is thinned in bounded steps (due 0) instead of in one
     * long loop: ~20,000 candidates rejected in 10 s at a 2,000/s peak. */
    csv = "0,0.001\n10,0.001\n10.5,2000\n20,2000\n";
    ck_assert_int_eq(pace_curve_parse(&c, "q.csv", csv, strlen(csv), err, sizeof err), 0);
    pace_init_curve(&p, &c, 3, 0);
    int pauses = 0;
    while (!pace_advance(&p)) pauses++;
    ck_assert_int_ge(p.next_ns, 10000000000LL);
    ck_assert_int_ge(pauses, 10 * 2000 / PACE_THIN_BATCH - 5);
    pace_curve_free(&c);
}
END_TEST

START_TEST(pace_curve_wait_is_interruptible) {
    char err[256];
    pace_curve c;
    /* An hour of silence at a high peak: the wait skips it and sleeps, and a
     * stop set by another thread ends the sleep at once. */
    const char *csv = "0,0\n3600,0\n3601,10000000\n";
    ck_assert_int_eq(pace_curve_parse(&c, "q.csv", csv, strlen(csv), err, sizeof err), 0);
    atomic_int stop = 0;
    pace p;
    pace_init_curve(&p, &c, 1, pace_now_ns());
    pthread_t th;
    int64_t t0 = pace_now_ns();
    ck_assert_int_eq(pthread_create(&th, NULL, set_stop_later, &stop), 0);
    ck_assert_int_eq(pace_wait(&p, &stop), -1);
    int64_t waited = pace_now_ns() - t0;
    pthread_join(th, NULL);
    ck_assert_int_ge(waited, 150000000LL);
    ck_assert_int_lt(waited, 1000000000LL);
    /* Near silence at that peak is thinned, candidate by candidate, as time
     * passes: the stop ends that too. */
    pace_curve_free(&c);
    csv = "0,0.001\n3600,0.001\n3601,10000000\n";
    ck_assert_int_eq(pace_curve_parse(&c, "q.csv", csv, strlen(csv), err, sizeof err), 0);
    stop = 0;
    pace_init_curve(&p, &c, 1, pace_now_ns());
    t0 = pace_now_ns();
    ck_assert_int_eq(pthread_create(&th, NULL, set_stop_later, &stop), 0);
    ck_assert_int_eq(pace_wait(&p, &stop), -1);
    waited = pace_now_ns() - t0;
    pthread_join(th, NULL);
    ck_assert_int_ge(waited, 150000000LL);
    ck_assert_int_lt(waited, 1000000000LL);
    /* A waiting curve sends on time: a steady 1,000/s for 0.2 s. */
    const char *flat = "0,1000\n10,1000\n";
    pace_curve_free(&c);
    ck_assert_int_eq(pace_curve_parse(&c, "f.csv", flat, strlen(flat), err, sizeof err), 0);
    stop = 0;
    pace_init_curve(&p, &c, 1, pace_now_ns());
    int64_t t1 = pace_now_ns();
    int sent = 0;
    while (pace_now_ns() - t1 < 200000000LL) {
        ck_assert_int_eq(pace_wait(&p, &stop), 0);
        sent++;
    }
    ck_assert_int_gt(sent, 100);
    ck_assert_int_lt(sent, 350);
    pace_curve_free(&c);
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
    tcase_add_test(tc, pace_curve_shapes);
    tcase_add_test(tc, pace_curve_bad_files);
    tcase_add_test(tc, pace_thinning_follows_the_curve);
    tcase_add_test(tc, pace_curve_wait_is_interruptible);
    suite_add_tcase(s, tc);
    return s;
}

const unit_def unit_tests = {producer_util_suite, NULL, NULL};
