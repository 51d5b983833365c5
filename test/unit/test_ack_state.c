/* test_ack_state.c - ack_consumer's state (rules.c over store_lmdb.c)
 * without Kafka: one ack per completed event, none on re-delivery, dead
 * letters, confirmations, restart (close + reopen), cluster change,
 * all-or-nothing batches, and the integrity check that refuses a damaged
 * cache at open. */
#include "ack_consumer/changelog.h"
#include "ack_consumer/rules.h"
#include "ack_consumer/store_lmdb.h"
#include "common/exitcodes.h"
#include "common/log.h"
#include "test/unit/runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <lmdb.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char err[512];
static bool index_acked; /* open_state's index_acked (the horizon's tests) */
static size_t map_budget; /* open_state's map_budget (0: the store's default) */

/* ------------------------------------------------------------------------ */
/* Fixtures and message builders                                             */
/* ------------------------------------------------------------------------ */

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/gk-ack-state.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[sizeof dir + 260];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(dir);
    index_acked = false;
    map_budget = 0;
}

static ack_store *open_state(size_t map_bytes, bool keep) {
    ack_store_options o = {dir, ACK_SYNC_PROCESS, map_bytes, false, keep, index_acked, map_budget};
    ack_store *s = NULL;
    ck_assert_msg(ack_store_open(&o, &s, err, sizeof err) == 0, "open: %s", err);
    return s;
}

/* The reads, asserted to succeed. */
static int64_t stored(ack_store *s, const char *cluster, const char *topic, int32_t part) {
    int64_t next = -2;
    ck_assert_msg(ack_store_stored_offset(s, cluster, topic, part, &next, err, sizeof err) == 0,
                  "stored offset: %s", err);
    return next;
}

static int get_event(ack_store *s, uint64_t id, ack_event *ev) {
    int found = ack_store_get_event(s, id, ev, err, sizeof err);
    ck_assert_msg(found >= 0, "get event: %s", err);
    return found;
}

static int64_t scan_from(ack_store *s, int32_t part) {
    int64_t from = -2;
    ck_assert_msg(ack_store_scan_from(s, part, &from, err, sizeof err) == 0, "scan_from: %s", err);
    return from;
}

/* Storage for messages built by the tests. */
#define MAXMSG 32
static char keys[MAXMSG][32], vals[MAXMSG][512];
static msg_view msgs[MAXMSG];

/* A schema-valid value of topic t (1..3) for event id. */
static void valid_json(int t, uint64_t id, char *out, size_t len) {
    if (t == 1)
        snprintf(out, len,
                 "{\"event_id\":%" PRIu64 ",\"sample_id\":\"S-%" PRIu64 "\",\"patient_id\":\"P-1\","
                 "\"specimen_type\":\"blood\",\"collected_at\":\"2026-01-01T00:00:00\","
                 "\"consent_research\":true}",
                 id, id);
    else if (t == 2)
        snprintf(out, len,
                 "{\"event_id\":%" PRIu64 ",\"run_id\":\"R-1\",\"instrument\":\"NovaSeq\","
                 "\"lane\":1,\"read_count\":1000,\"q30_pct\":92.5,\"mean_coverage\":30.5,"
                 "\"sequenced_at\":\"2026-01-02T00:00:00\",\"passed_qc\":true}",
                 id);
    else
        snprintf(out, len,
                 "{\"event_id\":%" PRIu64 ",\"gene\":\"BRCA1\",\"chrom\":\"17\","
                 "\"position\":43044295,\"ref\":\"A\",\"alt\":\"G\",\"zygosity\":\"het\","
                 "\"quality\":99.5,\"called_at\":\"2026-01-03T00:00:00\"}",
                 id);
}

/* Fills msgs[i] with explicit topic, key and value (NULL: none). */
static msg_view *raw_msg(size_t i, const char *topic, int32_t part, int64_t off, const char *key,
                        const char *value) {
    ck_assert(i < MAXMSG);
    msg_view *m = &msgs[i];
    memset(m, 0, sizeof *m);
    m->topic = topic;
    m->partition = part;
    m->offset = off;
    if (key) {
        snprintf(keys[i], sizeof keys[i], "%s", key);
        m->key = keys[i];
        m->key_len = strlen(key);
    }
    if (value) {
        snprintf(vals[i], sizeof vals[i], "%s", value);
        m->value = vals[i];
        m->value_len = strlen(value);
    }
    m->ts_ms = 1700000000000 + off;
    m->produced_us = 1700000000000000 + off;
    return m;
}

/* Fills msgs[i] with a valid message of topic t (1..3) for event id. */
static msg_view *good_msg(size_t i, int t, uint64_t id, int32_t part, int64_t off) {
    static const char *const topics[] = {"", "topic1", "topic2", "topic3"};
    char key[32], val[512];
    snprintf(key, sizeof key, "%" PRIu64, id);
    valid_json(t, id, val, sizeof val);
    return raw_msg(i, topics[t], part, off, key, val);
}

/* Applies msgs[0..n) (plus confirmations) with their next offsets, as the
 * consumer loop hands them over, and returns the result. */
static ack_batch_result apply(ack_store *s, const char *cluster, size_t n,
                              const ack_confirm *conf, size_t nconf, ack_ready_list *ready) {
    consume_partition next[MAXMSG];
    size_t nnext = consume_batch_offsets(msgs, n, next);
    ack_batch b = {cluster, msgs, n, next, nnext, conf, nconf, NULL, 0, NULL, NULL, NULL, 0, 0, 0, NULL};
    ack_batch_result res;
    ck_assert_msg(ack_rules_apply(s, &b, ready, &res, err, sizeof err) == 0, "apply: %s",
                  err);
    return res;
}

static ack_store_counts counts(ack_store *s) {
    ack_store_counts c;
    ck_assert_msg(ack_store_count(s, &c, err, sizeof err) == 0, "count: %s", err);
    return c;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

START_TEST(third_topic_makes_one_ack) {
    ack_store *s = open_state(64u << 20, false);
    ack_ready_list ready = {0};
    good_msg(0, 1, 17, 0, 5);
    good_msg(1, 2, 17, 1, 7);
    ack_batch_result r = apply(s, "C1", 2, NULL, 0, &ready);
    ck_assert_uint_eq(r.completed, 0);
    ck_assert_uint_eq(ready.n, 0);

    good_msg(0, 3, 17, 2, 9);
    r = apply(s, "C1", 1, NULL, 0, &ready);
    ck_assert_uint_eq(r.completed, 1);
    ck_assert_uint_eq(ready.n, 1);
    ck_assert_uint_eq(ready.items[0].event_id, 17);
    const ack_event *ev = &ready.items[0].ev;
    ck_assert_uint_eq(ev->seen, ACK_SEEN_ALL);
    ck_assert_uint_eq(ev->state, ACK_PENDING);
    ck_assert_int_eq(ev->topics[0].partition, 0);
    ck_assert_int_eq(ev->topics[0].offset, 5);
    ck_assert_int_eq(ev->topics[1].offset, 7);
    ck_assert_int_eq(ev->topics[2].partition, 2);
    ck_assert_int_eq(ev->topics[2].ts_ms, 1700000000000 + 9);
    ck_assert_int_eq(ev->topics[2].produced_us, 1700000000000000 + 9);
    ck_assert_uint_eq(counts(s).pending, 1);
    ck_assert_int_eq(stored(s, "C1", "topic1", 0), 6);
    ck_assert_int_eq(stored(s, "C1", "topic3", 2), 10);
    ck_assert_int_eq(stored(s, "C1", "topic3", 0), -1);
    ack_ready_list_free(&ready);
    ack_store_close(s);
}
END_TEST

START_TEST(redelivery_makes_no_second_ack) {
    ack_store *s = open_state(64u << 20, false);
    ack_ready_list ready = {0};
    for (int t = 1; t <= 3; t++) good_msg((size_t)t - 1, t, 42, 0, t);
    ck_assert_uint_eq(apply(s, "C1", 3, NULL, 0, &ready).completed, 1);
    /* Re-delivery while the ack is pending... */
    ck_assert_uint_eq(apply(s, "C1", 3, NULL, 0, &ready).completed, 0);
    ck_assert_uint_eq(ready.n, 1);
    /* ...and after it was confirmed: still no second ack. */
    ack_confirm c = {42, 3, 100};
    ack_batch_result r = apply(s, "C1", 0, &c, 1, &ready);
    ck_assert_uint_eq(r.acked, 1);
    ck_assert_uint_eq(apply(s, "C1", 3, NULL, 0, &ready).completed, 0);
    ck_assert_uint_eq(ready.n, 1);
    ack_event ev;
    ck_assert_int_eq(get_event(s, 42, &ev), 1);
    ck_assert_uint_eq(ev.state, ACK_ACKED);
    ck_assert_uint_eq(ev.seen, ACK_SEEN_ALL);
    ck_assert_int_eq(ev.topics[0].offset, -1); /* stored compact: the topics are dropped */
    ack_ready_list_free(&ready);
    ack_store_close(s);
}
END_TEST

START_TEST(two_topics_are_not_complete) {
    ack_store *s = open_state(64u << 20, false);
    ack_ready_list ready = {0};
    good_msg(0, 1, 8, 0, 1);
    good_msg(1, 1, 8, 0, 2); /* the same event twice on topic1 */
    good_msg(2, 2, 8, 0, 3);
    ck_assert_uint_eq(apply(s, "C1", 3, NULL, 0, &ready).completed, 0);
    ck_assert_uint_eq(ready.n, 0);
    ack_event ev;
    ck_assert_int_eq(get_event(s, 8, &ev), 1);
    ck_assert_uint_eq(ev.seen, 0x3);
    ck_assert_uint_eq(ev.state, ACK_OPEN);
    ck_assert_int_eq(ev.topics[0].offset, 1); /* the first sighting is kept */
    ck_assert_int_eq(ev.topics[2].offset, -1);
    ck_assert_uint_eq(counts(s).pending, 0);
    ck_assert_int_eq(get_event(s, 9, &ev), 0);
    ack_ready_list_free(&ready);
    ack_store_close(s);
}
END_TEST

/* Collects dead letters for the assertions. */
typedef struct {
    int n;
    char reasons[16][256];
    char topics[16][32];
    int64_t offsets[16];
    size_t value_len[16];
} dl_seen;

static int collect(void *ctx, const char *topic, int32_t partition, int64_t offset,
                   const char *reason, const void *key, size_t key_len, const void *value,
                   size_t value_len) {
    (void)partition;
    (void)key;
    (void)key_len;
    (void)value;
    dl_seen *d = ctx;
    if (d->n < 16) {
        snprintf(d->reasons[d->n], sizeof d->reasons[0], "%s", reason);
        snprintf(d->topics[d->n], sizeof d->topics[0], "%s", topic);
        d->offsets[d->n] = offset;
        d->value_len[d->n] = value_len;
    }
    d->n++;
    return 0;
}

static const char *find_reason(const dl_seen *d, int64_t offset) {
    for (int i = 0; i < d->n && i < 16; i++)
        if (d->offsets[i] == offset) return d->reasons[i];
    return "";
}

START_TEST(poison_messages_become_dead_letters) {
    ack_store *s = open_state(64u << 20, false);
    ack_ready_list ready = {0};
    char v[512];
    size_t n = 0;
    good_msg(n++, 1, 5, 1, 1);
    raw_msg(n++, "topic2", 1, 2, "5", "not json at all");
    raw_msg(n++, "topic2", 1, 3, "5", "{\"run_id\":\"R-1\"}"); /* no event id */
    valid_json(2, 6, v, sizeof v);
    raw_msg(n++, "topic2", 1, 4, "5", v); /* key mismatch */
    raw_msg(n++, "topic2", 1, 5, "5",
            "{\"event_id\":\"5\",\"run_id\":\"R-1\",\"instrument\":\"X\",\"lane\":1,"
            "\"read_count\":1,\"q30_pct\":1,\"mean_coverage\":1,\"sequenced_at\":"
            "\"2026-01-02T00:00:00\",\"passed_qc\":true}"); /* wrong type */
    valid_json(2, 5, v, sizeof v);
    raw_msg(n++, "topic9", 0, 6, "5", v); /* unknown topic */
    raw_msg(n++, "topic2", 1, 7, "5", NULL); /* tombstone */
    raw_msg(n++, "topic2", 1, 8, "five", v); /* key not a number */
    raw_msg(n++, "topic2", 1, 9, NULL, v);   /* no key */
    good_msg(n++, 2, 5, 1, 10);
    good_msg(n++, 3, 5, 1, 11);
    ack_batch_result r = apply(s, "C1", n, NULL, 0, &ready);
    ck_assert_uint_eq(r.dead_letters, 8);
    ck_assert_uint_eq(r.completed, 1); /* the good ones in the same batch count */
    ck_assert_uint_eq(ready.items[0].event_id, 5);
    ck_assert_int_eq(stored(s, "C1", "topic2", 1), 11);
    ck_assert_int_eq(stored(s, "C1", "topic3", 1), 12);
    ck_assert_int_eq(stored(s, "C1", "topic9", 0), 7);

    dl_seen d = {0};
    ck_assert_int_eq(ack_store_dead_letters(s, collect, &d, err, sizeof err), 8);
    ck_assert_ptr_nonnull(strstr(find_reason(&d, 2), "not valid JSON"));
    ck_assert_ptr_nonnull(strstr(find_reason(&d, 3), "event_id"));
    ck_assert_ptr_nonnull(strstr(find_reason(&d, 4), "key '5' does not match event_id 6"));
    ck_assert_ptr_nonnull(strstr(find_reason(&d, 5), "expected an integer"));
    ck_assert_ptr_nonnull(strstr(find_reason(&d, 6), "no record type for topic 'topic9'"));
    ck_assert_ptr_nonnull(strstr(find_reason(&d, 7), "empty"));
    ck_assert_ptr_nonnull(strstr(find_reason(&d, 8), "key 'five' does not match event_id 5"));
    ck_assert_ptr_nonnull(strstr(find_reason(&d, 9), "no key"));
    for (int i = 0; i < d.n; i++)
        if (d.offsets[i] == 2) ck_assert_uint_eq(d.value_len[i], strlen("not json at all"));

    /* Re-delivery of the same batch records no second dead letter. */
    r = apply(s, "C1", n, NULL, 0, &ready);
    ck_assert_uint_eq(r.dead_letters, 0);
    ck_assert_uint_eq(r.completed, 0);
    ck_assert_uint_eq(counts(s).dead_letters, 8);
    ack_ready_list_free(&ready);
    ack_store_close(s);
}
END_TEST

START_TEST(state_survives_reopen) {
    ack_store *s = open_state(64u << 20, false);
    ack_ready_list ready = {0};
    good_msg(0, 1, 3, 0, 40);
    good_msg(1, 2, 3, 0, 41);
    apply(s, "C1", 2, NULL, 0, &ready);
    ack_store_close(s);

    s = open_state(64u << 20, false);
    ck_assert_int_eq(stored(s, "C1", "topic1", 0), 41);
    ck_assert_int_eq(stored(s, "C1", "topic2", 0), 42);
    ck_assert_int_eq(stored(s, "C2", "topic1", 0), -1); /* other cluster */
    ack_event ev;
    ck_assert_int_eq(get_event(s, 3, &ev), 1);
    ck_assert_uint_eq(ev.seen, 0x3);
    good_msg(0, 3, 3, 0, 42);
    ck_assert_uint_eq(apply(s, "C1", 1, NULL, 0, &ready).completed, 1);
    ack_ready_list_free(&ready);
    ack_store_close(s);
}
END_TEST

START_TEST(confirm_acks_and_records_scan_from) {
    ack_store *s = open_state(64u << 20, false);
    ack_ready_list ready = {0};
    for (int t = 1; t <= 3; t++) good_msg((size_t)t - 1, t, 11, 0, t);
    for (int t = 1; t <= 3; t++) good_msg((size_t)t + 2, t, 12, 0, t + 3);
    apply(s, "C1", 6, NULL, 0, &ready);
    ck_assert_uint_eq(ready.n, 2);
    ck_assert_int_eq(scan_from(s, 2), -1);

    ack_confirm c[] = {{11, 2, 30}, {999, 2, 31}}; /* 999: unknown, ignored */
    ack_part_offset sf = {2, 32};
    ack_batch b = {"C1", NULL, 0, NULL, 0, c, 2, &sf, 1, NULL, NULL, NULL, 0, 0, 0, NULL};
    ack_batch_result r;
    ck_assert_int_eq(ack_rules_apply(s, &b, &ready, &r, err, sizeof err), 0);
    ck_assert_uint_eq(r.acked, 1);
    ck_assert_int_eq(scan_from(s, 2), 32);
    ck_assert_uint_eq(counts(s).pending, 1);
    ack_event ev;
    ck_assert_int_eq(get_event(s, 11, &ev), 1);
    ck_assert_uint_eq(ev.state, ACK_ACKED);
    ck_assert_int_eq(get_event(s, 12, &ev), 1);
    ck_assert_uint_eq(ev.state, ACK_PENDING);
    /* A confirmation repeated (e.g. found again by reconciliation) changes nothing. */
    ck_assert_int_eq(ack_rules_apply(s, &b, &ready, &r, err, sizeof err), 0);
    ck_assert_uint_eq(r.acked, 0);
    ack_ready_list_free(&ready);
    ack_store_close(s);
}
END_TEST

START_TEST(pending_survives_reopen) {
    ack_store *s = open_state(64u << 20, false);
    ack_ready_list ready = {0};
    for (uint64_t id = 1; id <= 3; id++)
        for (int t = 1; t <= 3; t++) good_msg((id - 1) * 3 + (size_t)t - 1, t, id, 0, (int64_t)id);
    apply(s, "C1", 9, NULL, 0, &ready);
    ck_assert_uint_eq(ready.n, 3);
    ack_confirm c = {2, 0, 0};
    apply(s, "C1", 0, &c, 1, &ready);
    ack_store_close(s);

    s = open_state(64u << 20, false);
    ack_ready_list pend = {0};
    ck_assert_int_eq(ack_store_pending(s, &pend, err, sizeof err), 2);
    ck_assert_uint_eq(pend.items[0].event_id, 1); /* numeric key order */
    ck_assert_uint_eq(pend.items[1].event_id, 3);
    ck_assert_uint_eq(pend.items[1].ev.state, ACK_PENDING);
    ck_assert_int_eq(pend.items[1].ev.topics[2].offset, 3);
    ack_ready_list_free(&pend);
    ack_ready_list_free(&ready);
    ack_store_close(s);
}
END_TEST

START_TEST(cluster_change_clears_state) {
    ack_store *s = open_state(64u << 20, false);
    ack_ready_list ready = {0};
    bool cleared = true;
    ck_assert_int_eq(ack_store_use_cluster(s, "C1", &cleared, err, sizeof err), 0);
    ck_assert(!cleared);
    for (int t = 1; t <= 3; t++) good_msg((size_t)t - 1, t, 7, 0, t);
    raw_msg(3, "topic1", 0, 4, "x", "y");
    apply(s, "C1", 4, NULL, 0, &ready);
    ck_assert_uint_eq(counts(s).pending, 1);
    /* Same cluster again: nothing happens. */
    ck_assert_int_eq(ack_store_use_cluster(s, "C1", &cleared, err, sizeof err), 0);
    ck_assert(!cleared);
    ck_assert_uint_eq(counts(s).events, 1);

    ck_assert_int_eq(ack_store_use_cluster(s, "C2", &cleared, err, sizeof err), 0);
    ck_assert(cleared);
    ack_store_counts c = counts(s);
    ck_assert_uint_eq(c.events + c.pending + c.dead_letters + c.offsets, 0);
    ck_assert_int_eq(stored(s, "C2", "topic1", 0), -1);
    /* The event is acked again on the new cluster: its old state meant nothing there. */
    ck_assert_uint_eq(apply(s, "C2", 3, NULL, 0, &ready).completed, 1);
    /* A batch from yet another cluster clears in the same transaction. */
    ack_batch_result r = apply(s, "C3", 1, NULL, 0, &ready);
    ck_assert(r.cleared);
    ck_assert_uint_eq(counts(s).events, 1);
    ack_ready_list_free(&ready);
    ack_store_close(s);
}
END_TEST

START_TEST(cluster_change_keeps_events_when_asked) {
    ack_store *s = open_state(64u << 20, true);
    ack_ready_list ready = {0};
    for (int t = 1; t <= 3; t++) good_msg((size_t)t - 1, t, 7, 0, t);
    apply(s, "C1", 3, NULL, 0, &ready);
    bool cleared = false;
    ck_assert_int_eq(ack_store_use_cluster(s, "C2", &cleared, err, sizeof err), 0);
    ck_assert(cleared);
    ack_store_counts c = counts(s);
    ck_assert_uint_eq(c.events, 1);
    ck_assert_uint_eq(c.pending, 1);
    ck_assert_uint_eq(c.offsets, 0); /* offsets of another cluster mean nothing */
    ck_assert_uint_eq(apply(s, "C2", 3, NULL, 0, &ready).completed, 0);
    ack_ready_list_free(&ready);
    ack_store_close(s);
}
END_TEST

START_TEST(failed_batch_leaves_nothing) {
    ack_store *s = open_state(1u << 20, false); /* 1 MiB: room for a few thousand events */
    ack_ready_list ready = {0};
    for (int t = 1; t <= 3; t++) good_msg((size_t)t - 1, t, 1, 0, t);
    apply(s, "C1", 3, NULL, 0, &ready);
    ck_assert_uint_eq(ready.n, 1);
    ack_store_counts before = counts(s);

    /* One batch of 30,000 messages (10,000 complete events) cannot fit. */
    enum { N = 30000 };
    static msg_view big[N];
    static char bk[N][24], bv[N][320];
    static const char *const topics[] = {"topic1", "topic2", "topic3"};
    for (size_t i = 0; i < N; i++) {
        uint64_t id = 100 + i / 3;
        int t = (int)(i % 3);
        snprintf(bk[i], sizeof bk[i], "%" PRIu64, id);
        valid_json(t + 1, id, bv[i], sizeof bv[i]);
        big[i] = (msg_view){topics[t], 0, 10 + (int64_t)i, bk[i], strlen(bk[i]), bv[i],
                           strlen(bv[i]), -1, -1, NULL};
    }
    static consume_partition next[N];
    ack_batch b = {"C1", big, N, next, consume_batch_offsets(big, N, next), NULL, 0, NULL, 0, NULL, NULL, NULL, 0, 0, 0, NULL};
    ack_batch_result r;
    ck_assert_int_eq(ack_rules_apply(s, &b, &ready, &r, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "--map-size") != NULL, "err: %s", err);
    ck_assert_uint_eq(ready.n, 1); /* no decision escaped the failed transaction */
    ck_assert_uint_eq(r.completed, 0);
    ack_store_counts after = counts(s);
    ck_assert_uint_eq(after.events, before.events);
    ck_assert_uint_eq(after.pending, before.pending);
    ck_assert_int_eq(stored(s, "C1", "topic1", 0), 2);
    ack_event ev;
    ck_assert_int_eq(get_event(s, 100, &ev), 0);

    /* The state stays usable, also after a restart. */
    good_msg(0, 1, 2, 0, 10);
    apply(s, "C1", 1, NULL, 0, &ready);
    ack_store_close(s);
    s = open_state(1u << 20, false);
    ck_assert_int_eq(stored(s, "C1", "topic1", 0), 11);
    ck_assert_uint_eq(counts(s).events, 2);
    ack_ready_list_free(&ready);
    ack_store_close(s);
}
END_TEST

START_TEST(cache_is_locked) {
    ack_store *s = open_state(64u << 20, false);
    ack_store_options o = {dir, ACK_SYNC_FULL, 64u << 20, false, false, false, 0};
    ack_store *t = NULL;
    ck_assert_int_eq(ack_store_open(&o, &t, err, sizeof err), GK_EXIT_CANTCREAT);
    ck_assert_ptr_nonnull(strstr(err, "in use"));
    /* Read-only (--dump-dead-letters) works beside a running consumer. */
    o.read_only = true;
    ck_assert_msg(ack_store_open(&o, &t, err, sizeof err) == 0, "%s", err);
    ack_store_close(t);
    ack_store_close(s);
    /* Full sync mode opens and works too. */
    o.read_only = false;
    ck_assert_int_eq(ack_store_open(&o, &t, err, sizeof err), 0);
    ack_store_close(t);
}
END_TEST


/* ------------------------------------------------------------------------ */
/* Damaged caches                                                            */
/* ------------------------------------------------------------------------ */

/* A closed cache with events - all ACKED but event 1, PENDING (its ack
 * never confirmed), and the last, OPEN (its topic3 never came) - and dead
 * letters whose value is the text "poison-<i>": enough of each for several
 * pages. */
static void fill_cache(int events, int poison) {
    teardown(); /* afresh in a new directory */
    setup();
    ack_store *s = open_state(64u << 20, false);
    ack_ready_list ready = {0};
    for (int id = 1; id <= events; id += 8) {
        size_t n = 0;
        for (int e = id; e < id + 8 && e <= events; e++)
            for (int t = 1; t <= (e == events ? 2 : 3); t++) good_msg(n++, t, (uint64_t)e, 0, e * 3 + t);
        apply(s, "C1", n, NULL, 0, &ready);
        ack_confirm conf[8];
        size_t nconf = 0;
        for (size_t i = 0; i < ready.n; i++)
            if (ready.items[i].event_id != 1)
                conf[nconf++] = (ack_confirm){ready.items[i].event_id, 0, 0};
        ready.n = 0;
        apply(s, "C1", 0, conf, nconf, &ready);
    }
    for (int i = 0; i < poison; i += 16) {
        size_t n = 0;
        for (int j = i; j < i + 16 && j < poison; j++) {
            char v[32];
            snprintf(v, sizeof v, "poison-%d", j);
            raw_msg(n++, "topic1", 1, j, "x", v);
        }
        apply(s, "C1", n, NULL, 0, &ready);
    }
    ack_ready_list_free(&ready);
    ack_store_close(s);
}

/* Opening the cache must fail with GK_EXIT_IOERR and a message holding
 * every one of want[] (NULL-terminated); read-only (--dump-dead-letters)
 * too. */
static void assert_refused(const char *const *want) {
    for (int ro = 0; ro < 2; ro++) {
        ack_store_options o = {dir, ACK_SYNC_PROCESS, 64u << 20, ro == 1, false, false, 0};
        ack_store *s = NULL;
        err[0] = '\0';
        int rc = ack_store_open(&o, &s, err, sizeof err);
        if (s) ack_store_close(s);
        ck_assert_msg(rc == GK_EXIT_IOERR, "open (read-only %d) returned %d: %s", ro, rc, err);
        for (const char *const *w = want; *w; w++)
            ck_assert_msg(strstr(err, *w), "'%s' not in: %s", *w, err);
        ck_assert_ptr_null(strchr(err, '\n'));
    }
}

static void data_path(char *out, size_t len) { snprintf(out, len, "%s/data.mdb", dir); }

START_TEST(truncated_cache_is_refused) {
    fill_cache(2000, 0);
    char path[128];
    data_path(path, sizeof path);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(truncate(path, st.st_size / 2), 0);
    assert_refused((const char *const[]){path, "truncated", NULL});
}
END_TEST

/* A page of dead letters zeroed: LMDB's cursor meets MDB_CORRUPTED there,
 * which the old loop took for the end of the database. */
START_TEST(zeroed_page_is_refused) {
    fill_cache(10, 400);
    char path[128];
    data_path(path, sizeof path);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    char *buf = malloc((size_t)st.st_size);
    ck_assert_int_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
    const char *hit = NULL;
    for (off_t i = 0; !hit && i + 10 <= st.st_size; i++)
        if (memcmp(buf + i, "poison-200", 10) == 0) hit = buf + i;
    ck_assert_ptr_nonnull(hit);
    off_t page = (hit - buf) / 4096 * 4096;
    char zero[4096] = {0};
    ck_assert_int_eq(pwrite(fd, zero, sizeof zero, page), (ssize_t)sizeof zero);
    close(fd);
    free(buf);
    assert_refused((const char *const[]){"database 'dead_letters'", "damaged", NULL});
}
END_TEST

/* Writes one raw record (value len bytes of fill) into database name,
 * beside the store's own, as damage or another version would. */
static void raw_put(const char *name, const void *key, size_t klen, size_t len, int fill) {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, 8), 0);
    ck_assert_int_eq(mdb_env_set_mapsize(env, 64u << 20), 0);
    ck_assert_int_eq(mdb_env_open(env, dir, 0, 0644), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, name, 0, &dbi), 0);
    char val[256];
    memset(val, fill, sizeof val);
    MDB_val k = {klen, (void *)key}, v = {len, val};
    if (len == (size_t)-1)
        ck_assert_int_eq(mdb_del(txn, dbi, &k, NULL), 0);
    else
        ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

START_TEST(malformed_records_are_refused) {
    static const unsigned char id7[8] = {0, 0, 0, 0, 0, 0, 0, 7}, id1[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    fill_cache(10, 3);
    raw_put("events", id7, 8, 50, 1); /* neither 104 nor 8 bytes */
    assert_refused((const char *const[]){"database 'events'", "event 7", "50 bytes", NULL});

    fill_cache(10, 3);
    raw_put("events", id1, 8, (size_t)-1, 0); /* a pending event without its record */
    assert_refused((const char *const[]){"database 'pending'", "event 1)", "missing", NULL});

    fill_cache(10, 3);
    raw_put("dead_letters", "topic1/1/1", 10, 20, 0); /* header says 0+0+0, value 20 bytes */
    assert_refused((const char *const[]){"database 'dead_letters'", "topic1/1/1", NULL});

    fill_cache(10, 3);
    raw_put("meta", "future", 6, 8, 0);
    assert_refused((const char *const[]){"database 'meta'", "future", "does not write", NULL});

    fill_cache(10, 3);
    raw_put("offsets", "topic1/0", 8, 4, 0);
    assert_refused((const char *const[]){"database 'offsets'", "topic1/0", "4 bytes", NULL});
}
END_TEST

/* The check refuses damage, not data: a cache of real work opens, read-only
 * too, and every dead letter reads back. */
START_TEST(intact_cache_opens) {
    fill_cache(500, 100);
    for (int ro = 0; ro < 2; ro++) {
        ack_store_options o = {dir, ACK_SYNC_PROCESS, 64u << 20, ro == 1, false, false, 0};
        ack_store *s = NULL;
        ck_assert_msg(ack_store_open(&o, &s, err, sizeof err) == 0, "open: %s", err);
        dl_seen d = {0};
        ck_assert_int_eq(ack_store_dead_letters(s, collect, &d, err, sizeof err), 100);
        ack_store_counts c = counts(s);
        ck_assert_uint_eq(c.events, 500);
        ck_assert_uint_eq(c.pending, 1);
        ack_store_close(s);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Scalable mode: the same rules in an open transaction, the changelog     */
/* ------------------------------------------------------------------------ */

typedef struct {
    uint64_t ids[MAXMSG * 2];
    size_t n;
} changed_ids;

static int note_changed(void *ctx, uint64_t id) {
    changed_ids *c = ctx;
    if (c->n == MAXMSG * 2) return -1;
    c->ids[c->n++] = id;
    return 0;
}

/* What the scalable mode does with one partition's batch: the rules in the
 * caller's transaction, completion and ack in the same one, every written
 * event reported (for its changelog record), the changelog checkpoint
 * committed with it; a later event of the same id changes nothing. */
START_TEST(scalable_transaction_reports_changes_and_checkpoint) {
    ack_store *s = open_state(64u << 20, false);
    ck_assert_int_eq(ack_store_use_cluster(s, "C1", &(bool){false}, err, sizeof err), 0);
    int64_t ckpt = -2;
    ck_assert_int_eq(ack_store_checkpoint(s, &ckpt, err, sizeof err), 0);
    ck_assert_int_eq(ckpt, -1); /* never restored */
    good_msg(0, 1, 7, 2, 10);
    good_msg(1, 2, 7, 2, 20);
    good_msg(2, 3, 7, 2, 30);
    good_msg(3, 1, 8, 2, 11);
    changed_ids ch = {0};
    ack_ready_list ready = {0};
    ack_txn *t = ack_txn_begin(s, err, sizeof err);
    ck_assert_ptr_nonnull(t);
    ack_batch b = {.msgs = msgs, .nmsgs = 4, .changed = note_changed, .changed_ctx = &ch};
    ack_batch_result res;
    ck_assert_msg(ack_rules_apply_txn(t, &b, &ready, &res, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(res.completed, 1);
    ck_assert_uint_eq(ready.n, 1);
    ck_assert_uint_eq(ready.items[0].event_id, 7);
    ack_confirm c = {7, -1, -1};
    ack_batch cb = {.confirms = &c, .nconfirms = 1, .changed = note_changed, .changed_ctx = &ch};
    ck_assert_msg(ack_rules_apply_txn(t, &cb, &ready, &res, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(res.acked, 1);
    /* Every message wrote its event, and the confirmation event 7 again. */
    ck_assert_uint_eq(ch.n, 5);
    size_t n7 = 0, n8 = 0;
    for (size_t i = 0; i < ch.n; i++) n7 += ch.ids[i] == 7, n8 += ch.ids[i] == 8;
    ck_assert_uint_eq(n7, 4);
    ck_assert_uint_eq(n8, 1);
    ck_assert_int_eq(ack_txn_put_checkpoint(t, 42, err, sizeof err), 0);
    ck_assert_int_eq(ack_txn_commit(t, err, sizeof err), 0);
    ack_store_close(s);

    s = open_state(64u << 20, false); /* the integrity check accepts the checkpoint */
    ck_assert_int_eq(ack_store_checkpoint(s, &ckpt, err, sizeof err), 0);
    ck_assert_int_eq(ckpt, 42);
    ack_event ev;
    ck_assert_int_eq(get_event(s, 7, &ev), 1);
    ck_assert_int_eq(ev.state, ACK_ACKED);
    ck_assert_uint_eq(counts(s).pending, 0); /* PENDING never became durable */
    /* A second run of the same data: nothing completes again. */
    ready.n = 0;
    ch.n = 0;
    t = ack_txn_begin(s, err, sizeof err);
    ck_assert_int_eq(ack_rules_apply_txn(t, &b, &ready, &res, err, sizeof err), 0);
    ck_assert_uint_eq(ready.n, 0);
    ck_assert_int_eq(ack_txn_clear(t, err, sizeof err), 0);
    ck_assert_int_eq(ack_txn_commit(t, err, sizeof err), 0);
    ck_assert_uint_eq(counts(s).events, 0);
    ck_assert_int_eq(ack_store_checkpoint(s, &ckpt, err, sizeof err), 0);
    ck_assert_int_eq(ckpt, -1);
    ack_ready_list_free(&ready);
    ack_store_close(s);
}
END_TEST

/* The changelog record round-trips an open event in full and an acked one
 * in 3 bytes, and refuses what it did not write. */
START_TEST(changelog_record_round_trip) {
    ack_event ev = {.version = ACK_EVENT_VERSION, .seen = 5, .state = ACK_OPEN};
    for (int i = 0; i < ACK_N_TOPICS; i++)
        ev.topics[i] = (ack_seen){1700000000000 + i, -1, 1234567890123LL * i, i, 0};
    unsigned char rec[ACK_CHANGELOG_RECORD_MAX];
    size_t len = ack_changelog_encode(&ev, rec);
    ck_assert_uint_eq(len, ACK_CHANGELOG_RECORD_MAX);
    ck_assert_int_eq(rec[3], (1700000000000 & 0xff)); /* little-endian on any host */
    ack_event back;
    ck_assert_int_eq(ack_changelog_decode(rec, len, &back), 0);
    ck_assert_int_eq(memcmp(&ev, &back, sizeof ev), 0);
    ev.state = ACK_ACKED;
    ev.seen = ACK_SEEN_ALL;
    ev.acked_s = 1764640000u;
    len = ack_changelog_encode(&ev, rec);
    ck_assert_uint_eq(len, ACK_CHANGELOG_ACKED_LEN);
    ck_assert_int_eq(ack_changelog_decode(rec, len, &back), 0);
    ck_assert_int_eq(back.state, ACK_ACKED);
    ck_assert_uint_eq(back.acked_s, 1764640000u); /* the horizon counts from it */
    ck_assert_int_eq(back.topics[2].offset, -1);
    /* An earlier version's 3-byte record: acked at an unknown time. */
    ck_assert_int_eq(ack_changelog_decode(rec, 3, &back), 0);
    ck_assert_int_eq(back.state, ACK_ACKED);
    ck_assert_uint_eq(back.acked_s, 0);
    ck_assert_int_eq(ack_changelog_decode(rec, 2, &back), -1);
    ck_assert_int_eq(ack_changelog_decode(rec, 5, &back), -1);
    ck_assert_int_eq(ack_changelog_decode(NULL, 0, &back), -1);
    rec[0] = 99;
    ck_assert_int_eq(ack_changelog_decode(rec, 3, &back), -1);
}
END_TEST

static int note_dead(void *ctx, const msg_view *m, const char *reason) {
    changed_ids *c = ctx;
    ck_assert_ptr_nonnull(reason);
    c->ids[c->n++] = (uint64_t)m->offset;
    return 0;
}

static int refuse_dead(void *ctx, const msg_view *m, const char *reason) {
    (void)ctx, (void)m, (void)reason;
    return -1;
}

/* Scalable mode: a dead letter goes to the hook (the dead-letter topic, in
 * the batch's Kafka transaction), not to the local store; a hook that
 * fails fails the whole batch. */
START_TEST(scalable_dead_letters_go_to_the_hook) {
    ack_store *s = open_state(64u << 20, false);
    raw_msg(0, "topic1", 0, 5, "9", "not json");
    good_msg(1, 1, 9, 0, 6);
    raw_msg(2, "topic2", 0, 7, NULL, "{}");
    changed_ids dead = {0};
    ack_ready_list ready = {0};
    ack_batch b = {.msgs = msgs, .nmsgs = 3, .changed_ctx = &dead, .dead_letter = note_dead};
    ack_batch_result res;
    ack_txn *t = ack_txn_begin(s, err, sizeof err);
    ck_assert_msg(ack_rules_apply_txn(t, &b, &ready, &res, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(ack_txn_commit(t, err, sizeof err), 0);
    ck_assert_uint_eq(res.dead_letters, 2);
    ck_assert_uint_eq(dead.n, 2);
    ck_assert_uint_eq(dead.ids[0], 5);
    ck_assert_uint_eq(dead.ids[1], 7);
    ck_assert_uint_eq(counts(s).dead_letters, 0);
    ck_assert_uint_eq(counts(s).events, 1);
    b.dead_letter = refuse_dead;
    t = ack_txn_begin(s, err, sizeof err);
    ck_assert_int_eq(ack_rules_apply_txn(t, &b, &ready, &res, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "topic1 [0] offset 5") != NULL, "%s", err);
    ack_txn_abort(t);
    ack_ready_list_free(&ready);
    ack_store_close(s);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The horizon (--ack-retention)                                             */
/* ------------------------------------------------------------------------ */

/* The one rule of time: no horizon expires nothing; a horizon expires what
 * was acked more than retention_s before now, at most max per transaction. */
START_TEST(horizon_rule) {
    ack_batch b = {0};
    ack_rules_horizon(&b, 1764640000123456LL, 0, 500);
    ck_assert_uint_eq(b.now_s, 1764640000u);
    ck_assert_uint_eq(b.expire_before_s, 0); /* forever */
    ck_assert_uint_eq(b.expire_max, 0);
    ack_rules_horizon(&b, 1764640000123456LL, 3600, 500);
    ck_assert_uint_eq(b.now_s, 1764640000u);
    ck_assert_uint_eq(b.expire_before_s, 1764640000u - 3600);
    ck_assert_uint_eq(b.expire_max, 500);
    /* A horizon longer than the clock's age (or no clock) expires nothing. */
    ack_rules_horizon(&b, 1764640000123456LL, 3153600000L, 500);
    ck_assert_uint_eq(b.expire_before_s, 0);
    ack_rules_horizon(&b, 0, 60, 500);
    ck_assert_uint_eq(b.expire_before_s, 0);
}
END_TEST

/* Completes event id (three messages at offsets base..base+2 of partition
 * 0) and confirms its ack at now_s, as single mode does. */
static void ack_at(ack_store *s, uint64_t id, int64_t base, uint32_t now_s) {
    for (int t = 1; t <= 3; t++) good_msg((size_t)t - 1, t, id, 0, base + t);
    ack_ready_list ready = {0};
    apply(s, "C1", 3, NULL, 0, &ready);
    ck_assert_uint_eq(ready.n, 1);
    ack_confirm c = {id, 0, base};
    ack_batch b = {.cluster_id = "C1", .confirms = &c, .nconfirms = 1, .now_s = now_s};
    ack_batch_result res;
    ck_assert_msg(ack_rules_apply(s, &b, &ready, &res, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(res.acked, 1);
    ack_ready_list_free(&ready);
}

/* Expiry with the ack-time index: oldest first, bounded per transaction,
 * only ACKED events acked before the horizon, every one reported (the
 * changelog's tombstone); a forgotten event's replay is acked again, one
 * within the horizon is not; the index passes the integrity check. */
START_TEST(expiry_forgets_oldest_acked_first) {
    index_acked = true;
    ack_store *s = open_state(64u << 20, false);
    ack_at(s, 1, 100, 1000);
    ack_at(s, 2, 200, 2000);
    ack_at(s, 3, 300, 3000);
    good_msg(0, 1, 4, 0, 400); /* event 4: open, never expires */
    ack_ready_list ready = {0};
    apply(s, "C1", 1, NULL, 0, &ready);
    ack_event ev;
    ck_assert_int_eq(get_event(s, 2, &ev), 1);
    ck_assert_uint_eq(ev.acked_s, 2000);
    ck_assert_uint_eq(counts(s).acked_at, 3);

    changed_ids gone = {0};
    ack_batch b = {.cluster_id = "C1", .changed_ctx = &gone, .forgotten = note_changed,
                   .now_s = 9000, .expire_before_s = 2500, .expire_max = 1};
    ack_batch_result res;
    ck_assert_msg(ack_rules_apply(s, &b, &ready, &res, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(res.expired, 1); /* the bound: one per transaction */
    ck_assert_uint_eq(gone.n, 1);
    ck_assert_uint_eq(gone.ids[0], 1); /* the oldest first */
    b.expire_max = 100;
    ck_assert_msg(ack_rules_apply(s, &b, &ready, &res, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(res.expired, 1); /* event 3 was acked after the horizon */
    ck_assert_uint_eq(gone.n, 2);
    ck_assert_uint_eq(gone.ids[1], 2);
    ck_assert_int_eq(get_event(s, 1, &ev), 0);
    ck_assert_int_eq(get_event(s, 2, &ev), 0);
    ck_assert_int_eq(get_event(s, 3, &ev), 1);
    ck_assert_int_eq(get_event(s, 4, &ev), 1);
    ack_store_counts c = counts(s);
    ck_assert_uint_eq(c.events, 2);
    ck_assert_uint_eq(c.acked_at, 1);
    ack_store_close(s);

    s = open_state(64u << 20, false); /* the integrity check reads acked_at */
    /* A replay: event 1 (forgotten) is acked again, event 3 (remembered) not. */
    for (int t = 1; t <= 3; t++) good_msg((size_t)t - 1, t, 1, 0, 500 + t);
    for (int t = 1; t <= 3; t++) good_msg((size_t)t + 2, t, 3, 0, 600 + t);
    ready.n = 0;
    ack_batch_result r = apply(s, "C1", 6, NULL, 0, &ready);
    ck_assert_uint_eq(r.completed, 1);
    ck_assert_uint_eq(ready.items[0].event_id, 1);
    ack_ready_list_free(&ready);
    ack_store_close(s);
}
END_TEST

/* Forgetting by id (a changelog tombstone met in a restore) takes the index
 * entry along; an index entry whose event was rewritten since (a restore
 * replaying an older record) is dropped by the expiry, the event kept;
 * without index_acked nothing is indexed (the default costs nothing). */
START_TEST(forget_and_stale_index_entries) {
    index_acked = true;
    ack_store *s = open_state(64u << 20, false);
    ack_at(s, 1, 100, 1000);
    ack_at(s, 2, 200, 1100);
    ack_txn *t = ack_txn_begin(s, err, sizeof err);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(ack_txn_forget(t, 1, err, sizeof err), 1);
    ck_assert_int_eq(ack_txn_forget(t, 1, err, sizeof err), 0);
    ack_event open = {.version = ACK_EVENT_VERSION, .seen = 1, .state = ACK_OPEN};
    for (int i = 0; i < ACK_N_TOPICS; i++) open.topics[i] = (ack_seen){-1, -1, -1, -1, 0};
    ck_assert_int_eq(ack_txn_put_event(t, 2, &open, err, sizeof err), 0);
    ck_assert_int_eq(ack_txn_commit(t, err, sizeof err), 0);
    ck_assert_uint_eq(counts(s).acked_at, 1); /* 2's entry, stale now */
    t = ack_txn_begin(s, err, sizeof err);
    ck_assert_int_eq(ack_txn_expire(t, 5000, 10, NULL, NULL, err, sizeof err), 0);
    ck_assert_int_eq(ack_txn_commit(t, err, sizeof err), 0);
    ack_event ev;
    ck_assert_int_eq(get_event(s, 2, &ev), 1);
    ck_assert_int_eq(ev.state, ACK_OPEN);
    ck_assert_uint_eq(counts(s).acked_at, 0);
    ack_store_close(s);
    teardown();
    setup();
    s = open_state(64u << 20, false); /* index_acked is off again */
    ack_at(s, 5, 100, 1000);
    ck_assert_uint_eq(counts(s).acked_at, 0);
    ack_store_close(s);
}
END_TEST/* The resident size of data.mdb's mapping in this process, in KiB (-1: not mapped). */
static long map_rss_kib(void) {
    char path[128], line[4608];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    FILE *f = fopen("/proc/self/smaps", "r");
    ck_assert_ptr_nonnull(f);
    long rss = -1;
    bool in = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long ino;
        if (sscanf(line, "%*x-%*x %*s %*x %*x:%*x %lu", &ino) == 1 && strchr(line, '-') < strchr(line, ' '))
            in = ino == (unsigned long)st.st_ino && ino != 0;
        long kib;
        if (in && sscanf(line, "Rss: %ld kB", &kib) == 1) rss = (rss < 0 ? 0 : rss) + kib;
    }
    fclose(f);
    return rss;
}

/* Reading the state maps its pages; once more than the store's map budget is
 * mapped, the store drops its mappings (lm_map_watch): the map's resident
 * size stays near the budget however much is read, and every event still
 * reads back. Without releases, reading them all maps the whole file. */
START_TEST(map_pages_are_released) {
    enum { N = 40000 };
    for (int budgeted = 0; budgeted < 2; budgeted++) {
        map_budget = budgeted ? 256u << 10 : 1u << 30;
        ack_store *s = open_state(64u << 20, false);
        ack_txn *t = ack_txn_begin(s, err, sizeof err);
        ck_assert_ptr_nonnull(t);
        for (uint64_t id = 1; id <= N; id++) {
            ack_event ev = {.version = ACK_EVENT_VERSION, .seen = 1, .state = ACK_OPEN};
            ck_assert_msg(ack_txn_put_event(t, id, &ev, err, sizeof err) == 0, "%s", err);
        }
        ck_assert_int_eq(ack_txn_commit(t, err, sizeof err), 0);
        ack_store_close(s);
        s = open_state(64u << 20, false); /* the open's check reads every page, then releases */
        long at_open = map_rss_kib();
        long peak = at_open;
        ack_event ev;
        t = ack_txn_begin(s, err, sizeof err);
        ck_assert_ptr_nonnull(t);
        for (uint64_t id = 1; id <= N; id++) {
            ck_assert_int_eq(ack_txn_get_event(t, id, &ev, err, sizeof err), 1);
            ck_assert_uint_eq(ev.seen, 1);
            if (id % 1000 == 0) {
                long kib = map_rss_kib();
                if (kib > peak) peak = kib;
            }
        }
        ack_txn_abort(t);
        long file_kib = 0;
        struct stat st;
        char path[128];
        snprintf(path, sizeof path, "%s/data.mdb", dir);
        ck_assert_int_eq(stat(path, &st), 0);
        file_kib = (long)(st.st_size >> 10);
        ck_assert_msg(at_open >= 0 && at_open < file_kib / 4, "map resident %ld KiB after the open "
                      "(file %ld KiB)", at_open, file_kib);
        if (budgeted)
            ck_assert_msg(peak < 1024, "map resident up to %ld KiB with a 256 KiB budget (file %ld KiB)",
                          peak, file_kib);
        else
            ck_assert_msg(peak > file_kib / 2, "reading all %d events mapped only %ld KiB of %ld",
                          N, peak, file_kib);
        ack_store_close(s);
        teardown();
        setup();
    }
}
END_TEST



static Suite *suite(void) {
    log_init("test_ack_state", LOG_ERROR); /* the dead letters' warnings are expected */
    Suite *s = suite_create("ack_store");
    TCase *tc = tcase_create("state");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, third_topic_makes_one_ack);
    tcase_add_test(tc, redelivery_makes_no_second_ack);
    tcase_add_test(tc, two_topics_are_not_complete);
    tcase_add_test(tc, poison_messages_become_dead_letters);
    tcase_add_test(tc, state_survives_reopen);
    tcase_add_test(tc, confirm_acks_and_records_scan_from);
    tcase_add_test(tc, pending_survives_reopen);
    tcase_add_test(tc, cluster_change_clears_state);
    tcase_add_test(tc, cluster_change_keeps_events_when_asked);
    tcase_add_test(tc, failed_batch_leaves_nothing);
    tcase_add_test(tc, cache_is_locked);
    tcase_add_test(tc, truncated_cache_is_refused);
    tcase_add_test(tc, zeroed_page_is_refused);
    tcase_add_test(tc, malformed_records_are_refused);
    tcase_add_test(tc, intact_cache_opens);
    tcase_add_test(tc, scalable_transaction_reports_changes_and_checkpoint);
    tcase_add_test(tc, changelog_record_round_trip);
    tcase_add_test(tc, scalable_dead_letters_go_to_the_hook);
    tcase_add_test(tc, horizon_rule);
    tcase_add_test(tc, expiry_forgets_oldest_acked_first);
    tcase_add_test(tc, forget_and_stale_index_entries);
    tcase_add_test(tc, map_pages_are_released);
    suite_add_tcase(s, tc);
    return s;
}

const unit_def unit_tests = {suite, NULL, NULL};
