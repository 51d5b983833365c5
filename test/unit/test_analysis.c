/* test_analysis.c - unit tests of analysis/ (stats, idindex, join, record,
 * timeparse, report, rate bands, plot). The plot test needs gnuplot: it is a declared
 * dependency, so its absence is a failure, not a skip. */
#include "analysis/bands.h"
#include "analysis/idindex.h"
#include "analysis/join.h"
#include "analysis/plot.h"
#include "analysis/record.h"
#include "analysis/report.h"
#include "analysis/stats.h"
#include "analysis/timeparse.h"
#include "test/unit/runner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- stats ---- */

START_TEST(test_percentile_1_to_100) {
    double v[100];
    for (int i = 0; i < 100; i++) v[i] = 100 - i; /* unsorted on purpose */
    stats_summary s;
    stats_summarize(v, 100, &s);
    ck_assert_uint_eq(s.count, 100);
    ck_assert_double_eq(s.min, 1);
    ck_assert_double_eq(s.max, 100);
    ck_assert_double_eq(s.mean, 50.5);
    ck_assert_double_eq(s.p50, 50);
    ck_assert_double_eq(s.p90, 90);
    ck_assert_double_eq(s.p99, 99);
    ck_assert_double_eq(s.p999, 100);
    ck_assert_double_eq(stats_percentile_sorted(v, 100, 0), 1);
    ck_assert_double_eq(stats_percentile_sorted(v, 100, 1), 1);
    ck_assert_double_eq(stats_percentile_sorted(v, 100, 1.5), 2);
    ck_assert_double_eq(stats_percentile_sorted(v, 100, 100), 100);
}
END_TEST

START_TEST(test_percentile_small_and_edges) {
    double one[] = {7.25};
    ck_assert_double_eq(stats_percentile_sorted(one, 1, 0), 7.25);
    ck_assert_double_eq(stats_percentile_sorted(one, 1, 50), 7.25);
    ck_assert_double_eq(stats_percentile_sorted(one, 1, 99.9), 7.25);
    double two[] = {3, 1};
    stats_sort(two, 2);
    ck_assert_double_eq(two[0], 1);
    ck_assert_double_eq(stats_percentile_sorted(two, 2, 50), 1);
    ck_assert_double_eq(stats_percentile_sorted(two, 2, 50.1), 3);
    ck_assert_double_eq(stats_percentile_sorted(two, 2, 100), 3);
    ck_assert(isnan(stats_percentile_sorted(two, 0, 50)));
    ck_assert(isnan(stats_percentile_sorted(two, 2, -1)));
    ck_assert(isnan(stats_percentile_sorted(two, 2, 100.5)));
    stats_summary s;
    stats_summarize(two, 0, &s);
    ck_assert_uint_eq(s.count, 0);
    ck_assert(isnan(s.p50) && isnan(s.min) && isnan(s.max));
}
END_TEST

START_TEST(test_percentile_rounding) {
    /* 0.999 * 1000 is 999 exactly in decimal but not in binary: rank 999. */
    static double v[1000];
    for (int i = 0; i < 1000; i++) v[i] = i + 1;
    ck_assert_double_eq(stats_percentile_sorted(v, 1000, 99.9), 999);
    ck_assert_double_eq(stats_percentile_sorted(v, 1000, 99), 990);
    ck_assert_double_eq(stats_percentile_sorted(v, 1000, 90), 900);
    ck_assert_double_eq(stats_percentile_sorted(v, 10, 30), 3);
    ck_assert_double_eq(stats_percentile_sorted(v, 10, 70), 7);
}
END_TEST

/* ---- idindex ---- */

typedef struct {
    int64_t id;
    int64_t payload;
} ix_elem;

START_TEST(test_idindex_many) {
    const size_t n = 1000000;
    ix_elem *a = malloc(n * sizeof *a);
    ck_assert_ptr_nonnull(a);
    idindex ix;
    idindex_init(&ix);
    ck_assert_uint_eq(idindex_find(&ix, 5, a, sizeof *a), IDINDEX_NONE);
    for (size_t i = 0; i < n; i++) {
        /* sequential ids in one half, sparse large ids in the other */
        a[i].id = i % 2 ? (int64_t)i + 1 : (int64_t)(i * 7919u + 1000000007u);
        if (idindex_insert(&ix, a[i].id, (uint32_t)i, a, sizeof *a) != 0)
            ck_abort_msg("insert %zu failed", i);
    }
    ck_assert_uint_eq(ix.count, n);
    ck_assert(ix.cap >= 2 * n);
    for (size_t i = 0; i < n; i++)
        if (idindex_find(&ix, a[i].id, a, sizeof *a) != i) ck_abort_msg("id of %zu not found", i);
    ck_assert_uint_eq(idindex_find(&ix, 3, a, sizeof *a), IDINDEX_NONE); /* odd ids are absent */
    ck_assert_uint_eq(idindex_find(&ix, INT64_MAX, a, sizeof *a), IDINDEX_NONE);
    idindex_free(&ix);
    ck_assert_uint_eq(idindex_find(&ix, a[1].id, a, sizeof *a), IDINDEX_NONE);
    free(a);
}
END_TEST

/* ---- record ---- */

/* A data message of topic1 (sample_intake) that the consumers accept. */
#define GOOD1(id)                                                                              \
    "{\"event_id\":" #id ",\"sample_id\":\"S\",\"patient_id\":\"P\",\"specimen_type\":\"b\"," \
    "\"collected_at\":\"2026-03-01\",\"consent_research\":true}"
#define T0_MS 1700000000123LL /* a Kafka timestamp */

/* record_decode on hand-made fields; hdr NULL: no gk-produced-us header. */
static record_outcome decode(int slot, const char *key, const char *value, int64_t ts_ms,
                             const char *hdr, join_record *r, int *bad_header, char *err) {
    record_msg m = {slot, key, key ? strlen(key) : 0, value, value ? strlen(value) : 0, ts_ms,
                    hdr, hdr ? strlen(hdr) : 0, 2, 40};
    return record_decode(&m, r, bad_header, err, 512);
}

START_TEST(test_record_decode) {
    join_record r;
    char err[512];
    int bh;
    ck_assert_int_eq(decode(0, "17", GOOD1(17), T0_MS, "1700000000123456", &r, &bh, err), RECORD_OK);
    ck_assert_int_eq(bh, 0);
    ck_assert_int_eq(r.slot, 0);
    ck_assert_int_eq(r.event_id, 17);
    ck_assert_int_eq(r.us, 1700000000123456);
    ck_assert_int_eq(r.ts_ms, T0_MS);
    ck_assert_int_eq(r.partition, 2);
    ck_assert_int_eq(r.offset, 40);

    /* ack without header: acked_us from the value */
    const char *a = "{\"event_id\":17,\"acked_us\":1700000000200000,\"topics\":{}}";
    ck_assert_int_eq(decode(JOIN_ACK, "17", a, 1700000000200, NULL, &r, &bh, err), RECORD_OK);
    ck_assert_int_eq(r.us, 1700000000200000);
    /* the header wins over acked_us */
    ck_assert_int_eq(decode(JOIN_ACK, "17", a, -1, "1700000000300000", &r, &bh, err), RECORD_OK);
    ck_assert_int_eq(r.us, 1700000000300000);
    /* no header, no acked_us on a data topic: Kafka time only */
    ck_assert_int_eq(decode(0, "17", GOOD1(17), 99, NULL, &r, &bh, err), RECORD_OK);
    ck_assert_int_eq(r.us, -1);
    ck_assert_int_eq(r.ts_ms, 99);
}
END_TEST

/* A data message the consumers refuse is a dead letter, not an event's
 * message: its event id is kept to mark the event. */
START_TEST(test_record_dead_letters) {
    join_record r;
    char err[512];
    int bh;
    const char *poison = "{\"event_id\":17,\"sample_id\":\"S\",\"patient_id\":\"P\","
                         "\"specimen_type\":\"b\",\"collected_at\":\"2026-03-01\","
                         "\"consent_research\":\"yes\"}";
    ck_assert_int_eq(decode(0, "17", poison, T0_MS, NULL, &r, &bh, err), RECORD_DEAD_LETTER);
    ck_assert_int_eq(r.event_id, 17);
    ck_assert_int_eq(r.slot, 0);
    ck_assert_ptr_nonnull(strstr(err, "dead letter: field 'consent_research'"));
    ck_assert_int_eq(decode(0, "18", GOOD1(17), T0_MS, NULL, &r, &bh, err), RECORD_DEAD_LETTER);
    ck_assert_ptr_nonnull(strstr(err, "key '18' does not match event_id 17"));
    ck_assert_int_eq(decode(1, "x7", GOOD1(17), T0_MS, NULL, &r, &bh, err), RECORD_DEAD_LETTER);
    ck_assert_int_eq(r.event_id, 0); /* the key names no event */
    ck_assert_int_eq(decode(0, NULL, GOOD1(17), T0_MS, NULL, &r, &bh, err), RECORD_DEAD_LETTER);
    ck_assert_int_eq(decode(0, "17", "{\"event_id\":", T0_MS, NULL, &r, &bh, err),
                     RECORD_DEAD_LETTER);
    ck_assert_int_eq(decode(0, "17", "", T0_MS, NULL, &r, &bh, err), RECORD_DEAD_LETTER);
}
END_TEST

START_TEST(test_record_bad) {
    join_record r;
    char err[512];
    int bh;
    ck_assert_int_eq(decode(0, "17", GOOD1(17), -1, NULL, &r, &bh, err), RECORD_BAD);
    ck_assert_ptr_nonnull(strstr(err, "no valid gk-produced-us header and no Kafka timestamp"));
    const char *a = "{\"event_id\":17,\"acked_us\":\"soon\"}";
    ck_assert_int_eq(decode(JOIN_ACK, "17", a, T0_MS, NULL, &r, &bh, err), RECORD_BAD);
    ck_assert_int_eq(decode(JOIN_ACK, "x", "{\"event_id\":17}", T0_MS, NULL, &r, &bh, err),
                     RECORD_BAD);
    ck_assert_int_eq(decode(JOIN_ACK, "18", "{\"event_id\":17}", T0_MS, NULL, &r, &bh, err),
                     RECORD_BAD);
    ck_assert_ptr_nonnull(strstr(err, "key says event 18 but value says event_id 17"));
    ck_assert_int_eq(decode(JOIN_ACK, "17", "[17]", T0_MS, NULL, &r, &bh, err), RECORD_BAD);
    /* acked_us is input too: a time far from the Kafka timestamp is refused */
    const char *far = "{\"event_id\":17,\"acked_us\":-9223372036854775807}";
    ck_assert_int_eq(decode(JOIN_ACK, "17", far, T0_MS, NULL, &r, &bh, err), RECORD_BAD);
    ck_assert_ptr_nonnull(strstr(err, "\"acked_us\" (-9223372036854775807) is not a time"));
    /* The event-id key parser's own cases are in test_schema (event_id_keys). */
}
END_TEST

/* A gk-produced-us header is input: one that is not plain decimal
 * microseconds near the Kafka timestamp is counted and not used (on main, a
 * garbage header made min_ms=-9.2e15). */
START_TEST(test_record_bad_headers) {
    join_record r;
    char err[512];
    int bh;
    static const char *const bad[] = {"-9223372036854775808", "9223372036854775807", "abc",
                                      "+1700000000123456", " 1700000000123456", "",
                                      "1700000000123456x", "1", "1700007200123456"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(decode(0, "17", GOOD1(17), T0_MS, bad[i], &r, &bh, err), RECORD_OK);
        ck_assert_msg(bh == 1, "header '%s' was used", bad[i]);
        ck_assert_int_eq(r.us, -1); /* the Kafka timestamp stands in */
        ck_assert_ptr_nonnull(strstr(err, "gk-produced-us header"));
    }
    /* Within the hour of the Kafka timestamp: used. */
    ck_assert_int_eq(decode(0, "17", GOOD1(17), T0_MS, "1700000003000000", &r, &bh, err), RECORD_OK);
    ck_assert_int_eq(bh, 0);
    ck_assert_int_eq(r.us, 1700000003000000);
    int64_t us;
    ck_assert_int_eq(record_header_us("1700000000123456", 16, -1, &us, err, sizeof err), 0);
    ck_assert_int_eq(record_header_us("123", 3, -1, &us, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a time between 2000 and 2100"));
}
END_TEST

/* ---- join ---- */

/* Adds one message; us < 0 means "Kafka ms only". (A plain if: every Check
 * assertion costs a system call, too slow for millions of records.) */
static void add(join *j, int slot, int64_t id, int64_t us, int64_t ms, int32_t part) {
    join_record r = {slot, id, ms, us, part, 0};
    char err[256];
    if (join_add(j, &r, err, sizeof err) != 0) ck_abort_msg("join_add: %s", err);
}

/* The event with the given id after join_finish, or NULL. */
static const join_event *find(const join *j, int64_t id) {
    size_t n;
    const join_event *ev = join_events(j, &n);
    for (size_t i = 0; i < n; i++)
        if (ev[i].event_id == id) return &ev[i];
    return NULL;
}

START_TEST(test_join_delays) {
    join *j = join_new();
    /* event 5: microseconds everywhere, latest topic is topic2 */
    add(j, JOIN_ACK, 5, 1000001123, 1000001, 0); /* ack first: order must not matter */
    add(j, 0, 5, 1000000000, 1000000, 0);
    add(j, 1, 5, 1000000250, 1000000, 1);
    add(j, 2, 5, 1000000100, 1000000, 2);
    /* event 3: Kafka ms only */
    add(j, 0, 3, -1, 2000, 0);
    add(j, 1, 3, -1, 2001, 0);
    add(j, 2, 3, -1, 2002, 0);
    add(j, JOIN_ACK, 3, -1, 2005, 0);
    /* event 4: mixed - ack has no microseconds */
    add(j, 0, 4, 3000000500, 3000000, 0);
    add(j, 1, 4, 3000000700, 3000000, 0);
    add(j, 2, 4, 3000000600, 3000000, 0);
    add(j, JOIN_ACK, 4, -1, 3000002, 0);
    /* event 6: a repeated topic1 message, the earlier (second) one counts */
    add(j, 0, 6, 4000000900, 4000, 3);
    add(j, 0, 6, 4000000100, 4000, 1);
    add(j, 1, 6, 4000000200, 4000, 0);
    add(j, 2, 6, 4000000300, 4000, 0);
    add(j, JOIN_ACK, 6, 4000000950, 4000, 0);
    ck_assert_uint_eq(join_finish(j, INT64_MIN, INT64_MAX), 0);

    size_t n;
    const join_event *ev = join_events(j, &n);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(ev[0].event_id, 3); /* sorted */
    ck_assert_int_eq(ev[3].event_id, 6);

    int64_t d;
    int slot;
    const join_event *e5 = find(j, 5);
    ck_assert_int_eq(join_event_delay_us(e5, &d), 0);
    ck_assert_int_eq(d, 873);
    ck_assert_int_eq(join_event_latest(e5, &slot), 1000000250);
    ck_assert_int_eq(slot, 1);
    ck_assert_str_eq(join_event_source(e5), "us");

    const join_event *e3 = find(j, 3);
    ck_assert_int_eq(join_event_delay_us(e3, &d), 0);
    ck_assert_int_eq(d, 3000);
    ck_assert_str_eq(join_event_source(e3), "ms");

    const join_event *e4 = find(j, 4);
    ck_assert_int_eq(join_event_delay_us(e4, &d), 0);
    ck_assert_int_eq(d, 3000002000 - 3000000700);
    ck_assert_str_eq(join_event_source(e4), "mixed");

    const join_event *e6 = find(j, 6);
    ck_assert_int_eq(e6->t_us[0], 4000000100);
    ck_assert_int_eq(e6->partition[0], 1);
    ck_assert_int_eq(e6->seen[0], 2);
    ck_assert_int_eq(join_event_delay_us(e6, &d), 0);
    ck_assert_int_eq(d, 650);

    join_summary s;
    join_check(j, &s, NULL, NULL);
    ck_assert_uint_eq(s.events, 4);
    ck_assert_uint_eq(s.complete, 4);
    ck_assert_uint_eq(s.incomplete, 0);
    ck_assert_uint_eq(s.acks, 4);
    ck_assert_uint_eq(s.distinct_acks, 4);
    ck_assert_uint_eq(s.delays, 4);
    ck_assert_uint_eq(s.violations, 0);
    ck_assert_uint_eq(s.topic_duplicates, 1);
    ck_assert_uint_eq(s.source_us, 2);
    ck_assert_uint_eq(s.source_ms, 1);
    ck_assert_uint_eq(s.source_mixed, 1);
    ck_assert_str_eq(join_summary_source(&s), "mixed");
    join_free(j);
}
END_TEST

/* Collects violations for the checks below. */
typedef struct {
    join_violation_kind kind[16];
    int64_t id[16];
    char text[16][512];
    int n;
} vlist;

static void collect(const join_violation *v, void *ctx) {
    vlist *l = ctx;
    ck_assert_int_lt(l->n, 16);
    l->kind[l->n] = v->kind;
    l->id[l->n] = v->event->event_id;
    join_violation_text(v, NULL, l->text[l->n], sizeof l->text[l->n]);
    l->n++;
}

/* Adds a complete event with all times at base, base+10, base+20 us. */
static void add_complete(join *j, int64_t id, int64_t base) {
    add(j, 0, id, base, base / 1000, 0);
    add(j, 1, id, base + 10, base / 1000, 0);
    add(j, 2, id, base + 20, base / 1000, 0);
}

START_TEST(test_join_violations) {
    join *j = join_new();
    add_complete(j, 1, 1000000); /* fine */
    add(j, JOIN_ACK, 1, 1000500, 1000, 0);
    add_complete(j, 2, 2000000); /* missing ack */
    add_complete(j, 3, 3000000); /* duplicate ack */
    add(j, JOIN_ACK, 3, 3000500, 3000, 0);
    add(j, JOIN_ACK, 3, 3000900, 3000, 1);
    add_complete(j, 4, 4000000); /* ack 5 us before topic3 */
    add(j, JOIN_ACK, 4, 4000015, 4000, 0);
    add(j, JOIN_ACK, 5, 5000000, 5000, 2); /* ack for an unknown event */
    add(j, 0, 6, 6000000, 6000, 0);        /* ack for an incomplete event */
    add(j, 2, 6, 6000000, 6000, 0);
    add(j, JOIN_ACK, 6, 6000100, 6000, 0);
    add(j, 0, 7, 7000000, 7000, 0);        /* incomplete, no ack: counted only */
    add_complete(j, 8, 8000000);            /* ack exactly at the latest topic: fine */
    add(j, JOIN_ACK, 8, 8000020, 8000, 0);
    join_finish(j, INT64_MIN, INT64_MAX);

    vlist l = {0};
    join_summary s;
    join_check(j, &s, collect, &l);
    ck_assert_int_eq(l.n, 5);
    ck_assert_uint_eq(s.violations, 5);
    ck_assert_int_eq(l.kind[0], JOIN_V_MISSING_ACK);
    ck_assert_int_eq(l.id[0], 2);
    ck_assert_int_eq(l.kind[1], JOIN_V_DUPLICATE_ACK);
    ck_assert_int_eq(l.id[1], 3);
    ck_assert_int_eq(l.kind[2], JOIN_V_ACK_BEFORE_TOPIC);
    ck_assert_int_eq(l.id[2], 4);
    ck_assert_int_eq(l.kind[3], JOIN_V_ACK_UNKNOWN_EVENT);
    ck_assert_int_eq(l.id[3], 5);
    ck_assert_int_eq(l.kind[4], JOIN_V_ACK_INCOMPLETE_EVENT);
    ck_assert_int_eq(l.id[4], 6);
    for (int k = 0; k < JOIN_V_COUNT; k++) ck_assert_uint_eq(s.by_kind[k], 1);

    ck_assert_str_eq(l.text[0], "event 2: missing ack: seen on topic1 p0, topic2 p0, topic3 p0 but never on ack");
    ck_assert_str_eq(l.text[1], "event 3: duplicate ack: 2 acks on ack, expected exactly one");
    ck_assert_str_eq(l.text[2], "event 4: ack before topic: ack p0 at 4000015 us precedes topic3 p0 at 4000020 us by 0.005 ms");
    ck_assert_str_eq(l.text[3], "event 5: ack for unknown event: ack p2, never seen on a data topic");
    ck_assert_str_eq(l.text[4], "event 6: ack for incomplete event: ack p0, but never seen on topic2");

    ck_assert_uint_eq(s.events, 8);
    ck_assert_uint_eq(s.complete, 5);   /* 1, 2, 3, 4, 8 */
    ck_assert_uint_eq(s.incomplete, 2); /* 6, 7 */
    ck_assert_uint_eq(s.acks, 7);
    ck_assert_uint_eq(s.distinct_acks, 6);
    ck_assert_uint_eq(s.delays, 4); /* 1, 3, 4, 8 */
    join_free(j);
}
END_TEST

/* A dead letter on a data topic leaves its event incomplete: no missing ack
 * (ack_consumer rightly sent none); an ack despite it is named with it. */
START_TEST(test_join_dead_letters) {
    join *j = join_new();
    char err[256];
    add(j, 0, 1, 1000000, 1000, 0);
    add(j, 2, 1, 1000020, 1000, 0);
    ck_assert_int_eq(join_add_dead(j, 1, 1, err, sizeof err), 0); /* topic2's was poison */
    ck_assert_int_eq(join_add_dead(j, 1, 2, err, sizeof err), 0);  /* acked despite it */
    add(j, 0, 2, 2000000, 2000, 0);
    add(j, 2, 2, 2000020, 2000, 0);
    add(j, JOIN_ACK, 2, 2000500, 2000, 0);
    ck_assert_int_eq(join_add_dead(j, 0, 9, err, sizeof err), 0); /* names nothing else */
    ck_assert_int_eq(join_add_dead(j, 0, 0, err, sizeof err), 0); /* no event id at all */
    join_finish(j, INT64_MIN, INT64_MAX);
    vlist l = {0};
    join_summary s;
    join_check(j, &s, collect, &l);
    ck_assert_uint_eq(s.events, 2);
    ck_assert_uint_eq(s.incomplete, 2);
    ck_assert_uint_eq(s.dead_letter_events, 4); /* 1, 2, 9 and the keyless one */
    ck_assert_int_eq(l.n, 1);
    ck_assert_int_eq(l.kind[0], JOIN_V_ACK_INCOMPLETE_EVENT);
    ck_assert_str_eq(l.text[0], "event 2: ack for incomplete event: ack p0, but never seen on "
                                "topic2 (a dead letter there)");
    join_free(j);
}
END_TEST

/* A cut log (retention) hides messages: verdicts that rest on them are not
 * given. On main, 834 complete events whose acks the embedded broker had
 * deleted were each reported as missing_ack. */
START_TEST(test_join_cut_log) {
    join *j = join_new();
    add_complete(j, 1, 1000000); /* its ack was before the ack topic's cut */
    add_complete(j, 2, 5000000); /* after the cut: a real missing ack */
    add(j, JOIN_ACK, 3, 2000000, 2000, 0); /* its data before topic1..3's cuts */
    add(j, JOIN_ACK, 4, 9000000, 9000, 0); /* long after the cuts: a real unknown event */
    add(j, 0, 5, 2500000, 2500, 0);        /* topic2 and topic3 cut, topic1 not */
    add(j, JOIN_ACK, 5, 2600000, 2600, 0);
    join_finish(j, INT64_MIN, INT64_MAX);
    join_cut cut = {{3000000, 3000000, JOIN_NO_CUT, 3000000}, 1000000};
    join_set_cut(j, &cut);
    vlist l = {0};
    join_summary s;
    join_check(j, &s, collect, &l);
    ck_assert_uint_eq(s.not_judged, 1 + 0); /* event 1 */
    /* event 3 misses topic3, which was not cut: a real violation; event 5
     * misses topic3 as well. */
    ck_assert_int_eq(l.n, 4);
    ck_assert_int_eq(l.kind[0], JOIN_V_MISSING_ACK);
    ck_assert_int_eq(l.id[0], 2);
    ck_assert_int_eq(l.kind[1], JOIN_V_ACK_UNKNOWN_EVENT);
    ck_assert_int_eq(l.id[1], 3);
    ck_assert_int_eq(l.id[2], 4);
    ck_assert_int_eq(l.id[3], 5);

    /* Every data topic cut: events 3 and 5 are not judged; 4 still is. */
    cut.cut_us[2] = 3000000;
    join_set_cut(j, &cut);
    l.n = 0;
    join_check(j, &s, collect, &l);
    ck_assert_uint_eq(s.not_judged, 3);
    ck_assert_int_eq(l.n, 2);
    ck_assert_int_eq(l.id[0], 2);
    ck_assert_int_eq(l.id[1], 4);
    /* A partition that lost everything: nothing resting on that topic is judged. */
    cut.cut_us[JOIN_ACK] = INT64_MAX;
    join_set_cut(j, &cut);
    l.n = 0;
    join_check(j, &s, collect, &l);
    ck_assert_uint_eq(s.not_judged, 4);
    ck_assert_int_eq(l.n, 1);
    ck_assert_int_eq(l.id[0], 4);
    join_free(j);
}
END_TEST

START_TEST(test_join_window_and_errors) {
    join *j = join_new();
    char err[256];
    join_record bad = {0, 0, 5, 5, 0, 0};
    ck_assert_int_eq(join_add(j, &bad, err, sizeof err), -1); /* id 0 */
    bad.event_id = 1;
    bad.slot = 4;
    ck_assert_int_eq(join_add(j, &bad, err, sizeof err), -1);
    bad.slot = 0;
    bad.us = bad.ts_ms = -1;
    ck_assert_int_eq(join_add(j, &bad, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "no time"));

    add_complete(j, 1, 1000000);
    add_complete(j, 2, 2000000);
    add(j, JOIN_ACK, 2, 2000100, 2000, 0);
    add_complete(j, 3, 3000000);
    add(j, JOIN_ACK, 4, 2500000, 2500, 0); /* ack-only: placed by its own time */
    ck_assert_uint_eq(join_finish(j, 2000000, 2999999), 2);
    size_t n;
    const join_event *ev = join_events(j, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(ev[0].event_id, 2);
    ck_assert_int_eq(ev[1].event_id, 4);
    bad.us = 1;
    ck_assert_int_eq(join_add(j, &bad, err, sizeof err), -1); /* after finish */
    join_free(j);
    join_free(NULL);
}
END_TEST

START_TEST(test_join_million) {
    /* Scale: a million events join correctly and the table stays compact. */
    join *j = join_new();
    const int64_t n = 1000000;
    for (int s = 0; s < JOIN_SLOTS; s++)
        for (int64_t id = n; id >= 1; id--) add(j, s, id, id * 1000 + s * 100, -1, 0);
    join_finish(j, INT64_MIN, INT64_MAX);
    join_summary sum;
    join_check(j, &sum, NULL, NULL);
    ck_assert_uint_eq(sum.complete, (size_t)n);
    ck_assert_uint_eq(sum.delays, (size_t)n);
    ck_assert_uint_eq(sum.violations, 0);
    size_t cnt;
    const join_event *ev = join_events(j, &cnt);
    int64_t d;
    ck_assert_int_eq(ev[0].event_id, 1);
    ck_assert_int_eq(ev[cnt - 1].event_id, n);
    ck_assert_int_eq(join_event_delay_us(&ev[777], &d), 0);
    ck_assert_int_eq(d, 100);
    join_free(j);
}
END_TEST

/* ---- timeparse ---- */

START_TEST(test_timeparse) {
    int64_t ms;
    ck_assert_int_eq(timeparse_ms("1763812800123", &ms), 0);
    ck_assert_int_eq(ms, 1763812800123);
    ck_assert_int_eq(timeparse_ms("2025-11-22T12:00:00Z", &ms), 0);
    ck_assert_int_eq(ms, 1763812800000);
    ck_assert_int_eq(timeparse_ms("2025-11-22T12:00:00", &ms), 0); /* UTC by default */
    ck_assert_int_eq(ms, 1763812800000);
    ck_assert_int_eq(timeparse_ms("2025-11-22 12:00:00.25", &ms), 0);
    ck_assert_int_eq(ms, 1763812800250);
    ck_assert_int_eq(timeparse_ms("2025-11-22T12:00:00.123456+01:00", &ms), 0);
    ck_assert_int_eq(ms, 1763812800123 - 3600000);
    ck_assert_int_eq(timeparse_ms("2025-11-22T12:00-0130", &ms), 0);
    ck_assert_int_eq(ms, 1763812800000 + 5400000);
    ck_assert_int_eq(timeparse_ms("2025-11-22", &ms), 0);
    ck_assert_int_eq(ms, 1763769600000);
    ck_assert_int_eq(timeparse_ms("2025-02-30T00:00:00Z", &ms), -1);
    ck_assert_int_eq(timeparse_ms("2025-11-22T25:00:00Z", &ms), -1);
    ck_assert_int_eq(timeparse_ms("yesterday", &ms), -1);
    ck_assert_int_eq(timeparse_ms("2025-11-22T12:00:00Q", &ms), -1);
    ck_assert_int_eq(timeparse_ms("2025-11-22T12:00:00.", &ms), -1);
    ck_assert_int_eq(timeparse_ms("", &ms), -1);
}
END_TEST

/* ---- report ---- */

/* A small join with known rows for the CSV test. */
static join *csv_join(void) {
    join *j = join_new();
    add(j, 0, 2, 1000, 1, 0);
    add(j, 1, 2, 1500, 1, 1);
    add(j, 2, 2, 1200, 1, 2);
    add(j, JOIN_ACK, 2, 2373, 2, 3);
    add(j, 0, 1, -1, 5, 0); /* ms only, incomplete */
    add(j, JOIN_ACK, 9, 900, 0, 0);
    add_complete(j, 10, 100000); /* ack before topic: negative delay */
    add(j, JOIN_ACK, 10, 99000, 99, 0);
    add(j, JOIN_ACK, 10, 100500, 100, 1);
    join_finish(j, INT64_MIN, INT64_MAX);
    return j;
}

static const char *const csv_expected[] = {
    "event_id,topic1_us,topic2_us,topic3_us,ack_us,delay_ms,time_source,"
    "topic1_partition,topic2_partition,topic3_partition,ack_partition,acks",
    "1,5000,,,,,ms,0,,,,0",
    "2,1000,1500,1200,2373,0.873,us,0,1,2,3,1",
    "9,,,,900,,us,,,,0,1",
    "10,100000,100010,100020,99000,-1.020,us,0,0,0,0,2",
};

START_TEST(test_csv_writer) {
    join *j = csv_join();
    size_t n;
    const join_event *ev = join_events(j, &n);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(report_csv_write(f, ev, n), 0);
    fclose(f);
    ck_assert_uint_gt(len, 0);
    ck_assert_int_eq(buf[len - 1], '\n');
    size_t lines = sizeof csv_expected / sizeof csv_expected[0], i = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
        ck_assert_uint_lt(i, lines);
        ck_assert_str_eq(line, csv_expected[i]);
    }
    ck_assert_uint_eq(i, lines);
    free(buf);

    /* The file variant creates missing directories and leaves no .tmp behind. */
    char dir[] = "/tmp/gk-analysis-csv.XXXXXX", path[256], tmp[300], err[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/a/b/out.csv", dir);
    ck_assert_msg(report_csv_file(path, ev, n, err, sizeof err) == 0, "%s", err);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    for (i = 0; fgets(line, sizeof line, f); i++) {
        line[strcspn(line, "\n")] = '\0';
        ck_assert_str_eq(line, csv_expected[i]);
    }
    fclose(f);
    ck_assert_uint_eq(i, lines);
    ck_assert_int_eq(report_csv_file("/proc/nope/x.csv", ev, n, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "/proc/nope/x.csv"));
    unlink(path);
    snprintf(tmp, sizeof tmp, "%s/a/b", dir);
    rmdir(tmp);
    snprintf(tmp, sizeof tmp, "%s/a", dir);
    rmdir(tmp);
    rmdir(dir);
    join_free(j);
}
END_TEST

START_TEST(test_summary_line) {
    join_summary js = {0};
    js.events = 50;
    js.complete = 50;
    js.acks = 50;
    js.distinct_acks = 50;
    js.delays = 50;
    js.source_us = 50;
    stats_summary st = {50, 0.412, 2.5, 1.0, 0.873, 1.2, 2.4, 2.5};
    char buf[512];
    js.not_judged = 4;
    report_reading rd = {0, 2, 1, 3};
    report_summary_line(buf, sizeof buf, &js, &st, &rd);
    ck_assert_str_eq(buf, "ack_delay: events=50 complete=50 acks=50 distinct_acks=50 violations=0 "
                          "min_ms=0.412 p50_ms=0.873 p90_ms=1.200 p99_ms=2.400 p999_ms=2.500 "
                          "max_ms=2.500 time_source=us incomplete=0 topic_duplicates=0 "
                          "bad_messages=0 mean_ms=1.000 dead_letters=2 bad_headers=1 "
                          "cut_partitions=3 not_judged=4");
}
END_TEST

/* ---- plot ---- */

/* Reads a PNG's IHDR size. Returns 0, or -1 if the file is not a PNG. */
static int png_size(const char *path, unsigned *w, unsigned *h) {
    unsigned char b[24];
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t got = fread(b, 1, sizeof b, f);
    fclose(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (got != sizeof b || memcmp(b, sig, 8) != 0 || memcmp(b + 12, "IHDR", 4) != 0) return -1;
    *w = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
    *h = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
    return 0;
}

/* Checks both PNGs in dir and removes them. */
static void check_pngs(const char *dir) {
    static const char *const names[] = {"timestamps.png", "delay.png"};
    for (int i = 0; i < 2; i++) {
        char path[512];
        unsigned w = 0, h = 0;
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        ck_assert_msg(stat(path, &st) == 0 && st.st_size > 0, "%s missing or empty", path);
        ck_assert_msg(png_size(path, &w, &h) == 0, "%s is not a PNG", path);
        ck_assert_uint_eq(w, PLOT_WIDTH);
        ck_assert_uint_eq(h, PLOT_HEIGHT);
        ck_assert_uint_eq(w, 1000);
        ck_assert_uint_eq(h, 600);
        unlink(path);
    }
}

START_TEST(test_plot_pngs) {
    char dir[] = "/tmp/gk-analysis-plot.XXXXXX", sub[300], err[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/plots", dir); /* created by plot_write */

    /* 30,000 events (thinned series), one incomplete and one with no ack. */
    join *j = join_new();
    for (int64_t id = 1; id <= 30000; id++) {
        int64_t base = 1700000000000000 + id * 2000;
        add(j, 0, id, base, -1, 0);
        add(j, 1, id, base + 150, -1, 1);
        if (id != 77) add(j, 2, id, base + 90, -1, 2);
        if (id != 99) add(j, JOIN_ACK, id, base + 150 + 300 + (id % 100) * 10, -1, 0);
    }
    join_finish(j, INT64_MIN, INT64_MAX);
    size_t n;
    const join_event *ev = join_events(j, &n);
    ck_assert_msg(plot_write(sub, ev, n, NULL, NULL, err, sizeof err) == 0, "%s", err);
    check_pngs(sub);

    /* No events at all still gives two (empty) charts. */
    ck_assert_msg(plot_write(sub, ev, 0, NULL, NULL, err, sizeof err) == 0, "%s", err);
    check_pngs(sub);

    /* Missing gnuplot is a clear error. */
    ck_assert_int_eq(plot_write(sub, ev, n, NULL, "/nonexistent/gnuplot", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "cannot run /nonexistent/gnuplot"));
    /* gnuplot failing (here: a program that exits 1) is an error too. */
    ck_assert_int_eq(plot_write(sub, ev, n, NULL, "false", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "false failed"));
    ck_assert_int_eq(plot_write("/tmp/it's", ev, n, NULL, NULL, err, sizeof err), -1);
    rmdir(sub);
    rmdir(dir);
    join_free(j);
}
END_TEST

/* Runs plot_write through a gnuplot that keeps a copy of its script
 * (tee), so that what the charts show can be checked as text. Returns the
 * script, malloc'd. */
static char *plot_script_of(const join_event *ev, size_t n, const char *dir) {
    char fake[512], script[512], err[512];
    snprintf(fake, sizeof fake, "%s/gnuplot-tee", dir);
    snprintf(script, sizeof script, "%s/script.gp", dir);
    FILE *f = fopen(fake, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "#!/bin/sh\ntee '%s' | gnuplot\n", script);
    fclose(f);
    chmod(fake, 0700);
    ck_assert_msg(plot_write(dir, ev, n, NULL, fake, err, sizeof err) == 0, "%s", err);
    f = fopen(script, "r");
    ck_assert_ptr_nonnull(f);
    char *text = calloc(1, 1 << 24);
    size_t len = fread(text, 1, (1 << 24) - 1, f);
    fclose(f);
    text[len] = '\0';
    return text;
}

/* The number after the first occurrence of key at or after from, or NAN. */
static double script_number(const char *from, const char *key) {
    const char *p = from ? strstr(from, key) : NULL;
    return p ? strtod(p + strlen(key), NULL) : NAN;
}

/* What the charts show (issue 12 item 14): each event's messages relative to
 * its first one, not a diagonal of run time; an outlier cuts the axis at
 * p99.9 and the chart says so; the p99 line stays inside the frame; the keys
 * sit outside the data; a run of a few milliseconds is drawn in ms. */
START_TEST(test_plot_shows) {
    char dir[] = "/tmp/gk-analysis-plotshows.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    /* 3,000 events 3.3 ms apart (a 10 s run), messages within 0.6 ms of
     * the first, acks 1-3 ms later; one ack 10 s late. */
    join *j = join_new();
    for (int64_t id = 1; id <= 3000; id++) {
        int64_t base = 1700000000000000 + id * 3333;
        add(j, 0, id, base, -1, 0);
        add(j, 1, id, base + 200, -1, 0);
        add(j, 2, id, base + 600, -1, 0);
        add(j, JOIN_ACK, id, base + 1600 + (id % 20) * 100 + (id == 1500 ? 10000000 : 0), -1, 0);
    }
    join_finish(j, INT64_MIN, INT64_MAX);
    size_t n;
    const join_event *ev = join_events(j, &n);
    char *gp = plot_script_of(ev, n, dir);

    /* timestamps.png: offsets within the event, all below 20 ms but the late ack. */
    const char *times = strstr(gp, "$TIMES << EOD\n");
    ck_assert_ptr_nonnull(times);
    double worst = 0;
    for (const char *p = strchr(times, '\n') + 1; strncmp(p, "EOD", 3) != 0; p = strchr(p, '\n') + 1) {
        double v[5];
        ck_assert_int_eq(sscanf(p, "%lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4]), 5);
        for (int k = 1; k < 5; k++) worst = v[k] > worst ? v[k] : worst;
    }
    ck_assert_msg(worst < 20, "timestamps.png plots %.1f ms: run time, not the event's own", worst);

    /* delay.png: the CDF's axis ends just past p99.9, and says so. */
    const char *delay = strstr(gp, "delay.png'");
    ck_assert_ptr_nonnull(delay);
    double end = script_number(delay, "set xrange [0:");
    ck_assert_msg(end > 2.9 && end < 4, "the CDF axis ends at %g ms (the outlier: 10,000)", end);
    ck_assert_ptr_nonnull(strstr(delay, "axis cut at 1.1 x p99.9"));
    ck_assert_ptr_nonnull(strstr(delay, "1 delay beyond it, up to 10001.000 ms"));
    /* p99 inside the frame, the key outside the data. */
    double p99 = script_number(delay, "set arrow 2 from ");
    ck_assert_msg(p99 < end, "p99 %g ms at or beyond the axis end %g", p99, end);
    ck_assert_ptr_nonnull(strstr(delay, "set key outside right"));
    ck_assert_ptr_null(strstr(gp, "set key top left"));
    ck_assert_ptr_nonnull(strstr(delay, "time since the first message (s)"));
    free(gp);

    /* 50 events within 2 ms: time in ms, and p99 (here the largest) inside. */
    join_free(j);
    j = join_new();
    for (int64_t id = 1; id <= 50; id++) {
        int64_t base = 1700000000000000 + id * 30;
        add_complete(j, id, base);
        add(j, JOIN_ACK, id, base + 5000 + id * 10, -1, 0);
    }
    join_finish(j, INT64_MIN, INT64_MAX);
    ev = join_events(j, &n);
    gp = plot_script_of(ev, n, dir);
    delay = strstr(gp, "delay.png'");
    ck_assert_ptr_nonnull(strstr(delay, "time since the first message (ms)"));
    ck_assert_ptr_nonnull(strstr(gp, "time since the first message (ms)"));
    ck_assert_ptr_null(strstr(gp, "(s)'"));
    end = script_number(delay, "set xrange [0:");
    p99 = script_number(delay, "set arrow 2 from ");
    ck_assert_msg(p99 < end, "p99 %g ms on the frame (axis end %g)", p99, end);
    free(gp);
    join_free(j);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST


/* ---- rate bands ---- */

/* Appends count events starting at start_us, spread over span_us, each acked
 * delay_us after its (one) produce time; delay_us < 0: never acked. */
static size_t band_events(join_event *ev, size_t n, int64_t start_us, int64_t span_us,
                          size_t count, int64_t delay_us) {
    for (size_t i = 0; i < count; i++) {
        join_event *e = &ev[n + i];
        memset(e, 0, sizeof *e);
        e->event_id = (int64_t)(n + i + 1);
        int64_t t = start_us + span_us * (int64_t)i / (int64_t)count;
        for (int s = 0; s < JOIN_SLOTS; s++) {
            e->t_us[s] = s == JOIN_ACK ? t + delay_us : t;
            e->seen[s] = s != JOIN_ACK || delay_us >= 0;
            e->partition[s] = 0;
        }
    }
    return n + count;
}

START_TEST(test_bands_and_drain) {
    const int64_t T = 1700000000000000LL, S = 1000000;
    size_t cap = 20000, n = 0;
    join_event *ev = malloc(cap * sizeof *ev);
    ck_assert_ptr_nonnull(ev);
    /* A day in ten 1 s windows: quiet at 1 ms, a 2,000/s peak whose backlog
     * pushes the delay to 10 ms, then quiet again at 1.5 ms. */
    for (int w = 0; w < 4; w++) n = band_events(ev, n, T + w * S, S, 100, 1000);
    n = band_events(ev, n, T + 4 * S, S, 2000, 10000);
    n = band_events(ev, n, T + 5 * S, S, 2000, 10000);
    for (int w = 6; w < 10; w++) n = band_events(ev, n, T + w * S, S, 100, 1500);
    size_t base = n;
    bands_report r;
    ck_assert_int_eq(bands_compute(ev, n, 1.0, &r), 0);
    ck_assert_uint_eq(r.nwindows, 10);
    ck_assert_double_eq_tol(r.windows[4].rate, 2000, 1e-9);
    ck_assert_double_eq_tol(r.windows[9].start_s, 9, 1e-9);
    ck_assert_str_eq(r.band[0].name, "<300");
    ck_assert_uint_eq(r.band[0].windows, 8);
    ck_assert_uint_eq(r.band[0].events, 800);
    ck_assert_uint_eq(r.band[0].delays, 800);
    ck_assert_double_eq_tol(r.band[0].p50, 1.0, 1e-9);  /* rank 400 of 400 x 1 ms, 400 x 1.5 */
    ck_assert_double_eq_tol(r.band[0].p99, 1.5, 1e-9);
    ck_assert_uint_eq(r.band[1].windows, 0);
    ck_assert(isnan(r.band[1].p50));
    ck_assert_str_eq(r.band[2].name, "1000-3000");
    ck_assert_uint_eq(r.band[2].events, 4000);
    ck_assert_double_eq_tol(r.band[2].p999, 10.0, 1e-9);
    ck_assert_uint_eq(r.band[3].windows + r.band[4].windows, 0);
    /* Baseline: the first window's median (a tenth of 10); settled up to 2 ms. */
    ck_assert_double_eq_tol(r.baseline_p50, 1.0, 1e-9);
    ck_assert_double_eq_tol(r.settled_max, 2.0, 1e-9);
    ck_assert_double_eq_tol(r.peak_rate, 2000, 1e-9);
    ck_assert_double_eq_tol(r.peak_at_s, 4, 1e-9); /* the first of two equal peaks */
    ck_assert_int_eq(r.drained, 1);
    ck_assert_double_eq_tol(r.drained_after_s, 2, 1e-9);
    ck_assert_double_eq_tol(r.last_p50, 1.5, 1e-9);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    bands_print(f, &r);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "ack_delay_window: start_s=0.000 rate=100 events=100 "
                                       "delays=100 p50_ms=1.000\nack_delay_window: start_s=1.000 "));
    ck_assert_ptr_nonnull(strstr(text, "ack_delay_window: start_s=5.000 rate=2000 events=2000 "
                                       "delays=2000 p50_ms=10.000\n"));
    ck_assert_ptr_nonnull(strstr(text, "ack_delay_band: band=<300 windows=8 events=800 "
                                       "delays=800 p50_ms=1.000 p99_ms=1.500 p999_ms=1.500\n"));
    ck_assert_ptr_nonnull(strstr(text, "ack_delay_band: band=300-1000 windows=0 events=0 "
                                       "delays=0 p50_ms=nan"));
    ck_assert_ptr_nonnull(strstr(text, "ack_delay_drain: window_s=1 windows=10 "
                                       "baseline_p50_ms=1.000 settled_max_ms=2.000 "
                                       "peak_rate=2000 peak_at_s=4.000 last_p50_ms=1.500 "
                                       "drained=yes drained_after_s=2.000\n"));
    free(text);
    bands_free(&r);

    /* Half-second windows: twice as many, each half as full, the same rates. */
    ck_assert_int_eq(bands_compute(ev, n, 0.5, &r), 0);
    ck_assert_uint_eq(r.nwindows, 20);
    ck_assert_double_eq_tol(r.windows[0].rate, 100, 1e-9);
    ck_assert_double_eq_tol(r.peak_at_s, 4, 1e-9);
    bands_free(&r);

    /* The backlog never drains: the last window is still at 5 ms. */
    n = band_events(ev, base, T + 10 * S, S, 100, 5000);
    ck_assert_int_eq(bands_compute(ev, n, 1.0, &r), 0);
    ck_assert_int_eq(r.drained, 0);
    ck_assert(isnan(r.drained_after_s));
    ck_assert_double_eq_tol(r.last_p50, 5.0, 1e-9);
    bands_free(&r);

    /* A gap of empty windows is left out; a window at exactly 300/s is in
     * 300-1000; events never acked count as events, not delays; an ack
     * without data events is left out. */
    n = band_events(ev, base, T + 20 * S, S, 300, -1);
    n = band_events(ev, n, T + 21 * S, S, 300, 1200);
    ev[n - 1].seen[0] = ev[n - 1].seen[1] = ev[n - 1].seen[2] = 0; /* ack only */
    ck_assert_int_eq(bands_compute(ev, n, 1.0, &r), 0);
    ck_assert_uint_eq(r.nwindows, 12);
    ck_assert_double_eq_tol(r.windows[10].start_s, 20, 1e-9);
    ck_assert_uint_eq(r.windows[10].events, 300);
    ck_assert_uint_eq(r.windows[10].delays, 0);
    ck_assert(isnan(r.windows[10].p50));
    ck_assert_uint_eq(r.windows[11].events, 299);
    ck_assert_str_eq(r.band[1].name, "300-1000");
    ck_assert_uint_eq(r.band[1].windows, 1);
    ck_assert_uint_eq(r.band[1].events, 300);
    ck_assert_uint_eq(r.band[1].delays, 0);
    ck_assert_uint_eq(r.band[0].windows, 9); /* 8 quiet ones and the last, at 299/s */
    ck_assert_int_eq(r.drained, 1);          /* 1.2 ms is settled: the run starts at 6 s */
    ck_assert_double_eq_tol(r.drained_after_s, 2, 1e-9);
    bands_free(&r);

    /* The peak in the last window: nothing after it to judge. */
    n = band_events(ev, 0, T, S, 100, 1000);
    n = band_events(ev, n, T + S, S, 5000, 30000);
    ck_assert_int_eq(bands_compute(ev, n, 1.0, &r), 0);
    ck_assert_int_eq(r.drained, -1);
    ck_assert_uint_eq(r.band[3].windows, 1); /* 5,000/s */
    f = open_memstream(&text, &len);
    bands_print(f, &r);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "drained=not_judged drained_after_s=nan"));
    free(text);
    bands_free(&r);
    /* No events at all. */
    ck_assert_int_eq(bands_compute(ev, 0, 1.0, &r), 0);
    ck_assert_uint_eq(r.nwindows, 0);
    ck_assert_int_eq(r.drained, -1);
    bands_free(&r);
    free(ev);
}
END_TEST

static Suite *analysis_suite(void) {
    Suite *s = suite_create("analysis");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_percentile_1_to_100);
    tcase_add_test(tc, test_percentile_small_and_edges);
    tcase_add_test(tc, test_percentile_rounding);
    tcase_add_test(tc, test_idindex_many);
    tcase_add_test(tc, test_record_decode);
    tcase_add_test(tc, test_record_bad);
    tcase_add_test(tc, test_record_dead_letters);
    tcase_add_test(tc, test_record_bad_headers);
    tcase_add_test(tc, test_join_dead_letters);
    tcase_add_test(tc, test_join_cut_log);
    tcase_add_test(tc, test_join_delays);
    tcase_add_test(tc, test_join_violations);
    tcase_add_test(tc, test_join_window_and_errors);
    tcase_add_test(tc, test_join_million);
    tcase_add_test(tc, test_timeparse);
    tcase_add_test(tc, test_csv_writer);
    tcase_add_test(tc, test_summary_line);
    tcase_add_test(tc, test_bands_and_drain);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("plot");
    tcase_set_timeout(tp, 60);
    tcase_add_test(tp, test_plot_pngs);
    tcase_add_test(tp, test_plot_shows);
    suite_add_tcase(s, tp);
    return s;
}

const unit_def unit_tests = {analysis_suite, NULL, NULL};
