/* test_console.c - unit tests of console/: the ack delay as the console
 * measures it from ack messages (the same figures as analysis/), message
 * bytes as page text, the read-only database view and the HTTP side. */
#include "console/acks.h"
#include "console/dbview.h"
#include "console/peek.h"
#include "console/web.h"
#include "db_consumer/store.h"
#include "test/unit/http_client.h"
#include "test/unit/runner.h"

#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BASE_US 1700000000000000LL /* 2023-11-14: a plausible time */

/* An ack of event id, acked at ack_us, whose topic messages were produced
 * at t1..t3 (us; -1: null, so the topic's ts_ms stands in, itself null
 * when ts_null). The value is written into buf. */
static const char *ack_value(char *buf, size_t len, int64_t id, int64_t ack_us, int64_t t1,
                             int64_t t2, int64_t t3, int ts_null) {
    int64_t t[3] = {t1, t2, t3};
    int n = snprintf(buf, len, "{\"event_id\":%" PRId64 ",\"acked_us\":%" PRId64 ",\"topics\":{",
                     id, ack_us);
    for (int i = 0; i < 3; i++) {
        char us[32];
        if (t[i] >= 0) snprintf(us, sizeof us, "%" PRId64, t[i]);
        else snprintf(us, sizeof us, "null");
        n += snprintf(buf + n, len - (size_t)n,
                      "%s\"topic%d\":{\"partition\":0,\"offset\":%d,\"ts_ms\":%s,\"produced_us\":%s}",
                      i ? "," : "", i + 1, i, ts_null ? "null" : "1700000000000", us);
    }
    snprintf(buf + n, len - (size_t)n, "}}");
    return buf;
}

/* Adds an ack with key id; the value as ack_value makes it. */
static int add(acks_state *a, int64_t id, int64_t ack_us, int64_t t1, int64_t t2, int64_t t3,
               int ts_null, const char *hdr) {
    char v[1024], k[32], err[256];
    ack_value(v, sizeof v, id, ack_us, t1, t2, t3, ts_null);
    snprintf(k, sizeof k, "%" PRId64, id);
    return acks_add(a, k, strlen(k), v, strlen(v), hdr, hdr ? strlen(hdr) : 0,
                    ack_us / 1000, err, sizeof err);
}

/* 100 events with delays of 1..100 ms: nearest-rank p50 50, p99 99, as
 * ack_delay (analysis/stats.h) gives them; the latest topic time counts. */
START_TEST(acks_percentiles_are_the_analysis_ones) {
    acks_state a;
    acks_init(&a);
    for (int i = 1; i <= 100; i++) {
        int64_t latest = BASE_US + i * 1000000LL;
        ck_assert_int_eq(add(&a, i, latest + i * 1000, latest - 5, latest, latest - 9, 0, NULL), 0);
    }
    json_t *j = acks_json(&a);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "messages")), 100);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "distinct")), 100);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "delays")), 100);
    ck_assert(json_is_true(json_object_get(j, "exact")));
    ck_assert_double_eq_tol(json_real_value(json_object_get(j, "p50_ms")), 50, 1e-9);
    ck_assert_double_eq_tol(json_real_value(json_object_get(j, "p99_ms")), 99, 1e-9);
    ck_assert_double_eq_tol(json_real_value(json_object_get(j, "max_ms")), 100, 1e-9);
    /* Each delay of 1..100 ms in the bucket whose bounds hold it: (0.8,1]
     * holds 1, (2.5,3.15] 3, (63,80] 64..80, (80,100] 81..100. */
    json_t *b = json_object_get(j, "buckets");
    ck_assert_uint_eq(json_array_size(b), ACKS_BUCKETS);
    ck_assert_double_eq_tol(acks_bucket_le_ms(0), 0.01, 1e-12);
    ck_assert_double_eq_tol(acks_bucket_le_ms(20), 1, 1e-12);
    ck_assert_double_eq_tol(acks_bucket_le_ms(25), 3.15, 1e-12);
    ck_assert_double_eq_tol(acks_bucket_le_ms(40), 100, 1e-9);
    ck_assert_double_eq_tol(acks_bucket_le_ms(69), 80000, 1e-6);
    ck_assert_double_eq_tol(acks_bucket_le_ms(ACKS_BUCKETS - 2), 100000, 1e-6);
    ck_assert(isinf(acks_bucket_le_ms(ACKS_BUCKETS - 1)));
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(b, 19), "count")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(b, 20), "count")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(b, 25), "count")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(b, 39), "count")), 17); /* 64..80 */
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(b, 40), "count")), 20); /* 81..100 */
    long total = 0;
    for (size_t i = 0; i < ACKS_BUCKETS; i++)
        total += (long)json_integer_value(json_object_get(json_array_get(b, i), "count"));
    ck_assert_int_eq(total, 100);
    ck_assert(json_is_null(json_object_get(json_array_get(b, ACKS_BUCKETS - 1), "le_ms")));
    json_decref(j);
    acks_free(&a);
}
END_TEST

/* A second ack of an event is a duplicate and adds no delay; an ack whose
 * key is no event id is bad; one without every topic's time has no delay;
 * gk-produced-us wins over acked_us; ts_ms stands in for produced_us. */
START_TEST(acks_duplicates_bad_and_missing_times) {
    acks_state a;
    acks_init(&a);
    ck_assert_int_eq(add(&a, 7, BASE_US + 3000, BASE_US, BASE_US, BASE_US, 0, NULL), 0);
    ck_assert_int_eq(add(&a, 7, BASE_US + 9000, BASE_US, BASE_US, BASE_US, 0, NULL), 0);
    ck_assert_int_eq(add(&a, 8, BASE_US + 1000, BASE_US, -1, BASE_US, 1, NULL), 0);
    char err[256];
    ck_assert_int_eq(acks_add(&a, "x", 1, "{}", 2, NULL, 0, -1, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a positive decimal event id"));
    /* The header says 2 ms after the topics, acked_us says 100 ms. */
    char hdr[32];
    snprintf(hdr, sizeof hdr, "%" PRId64, (int64_t)(BASE_US + 2000));
    ck_assert_int_eq(add(&a, 9, BASE_US + 100000, BASE_US, BASE_US, BASE_US, 0, hdr), 0);
    /* produced_us null: ts_ms (1700000000000 ms = BASE_US) stands in. */
    ck_assert_int_eq(add(&a, 10, BASE_US + 4000, -1, -1, -1, 0, NULL), 0);
    json_t *j = acks_json(&a);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "messages")), 6);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "distinct")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "duplicates")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "bad")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "no_times")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "delays")), 3);
    /* Delays 3 (the first ack of 7), 2 (the header of 9) and 4 ms. */
    ck_assert_double_eq_tol(json_real_value(json_object_get(j, "p50_ms")), 3, 1e-9);
    ck_assert_double_eq_tol(json_real_value(json_object_get(j, "max_ms")), 4, 1e-9);
    json_decref(j);
    acks_free(&a);
}
END_TEST

START_TEST(acks_latest_needs_every_topic) {
    int64_t us = 0;
    const char *two = "{\"topics\":{\"topic1\":{\"produced_us\":5},\"topic2\":{\"ts_ms\":7}}}";
    ck_assert_int_eq(acks_latest_us(two, strlen(two), 2, &us), 0);
    ck_assert_int_eq(us, 7000);
    ck_assert_int_eq(acks_latest_us(two, strlen(two), 3, &us), -1);
    ck_assert_int_eq(acks_latest_us("[1]", 3, 3, &us), -1);
    ck_assert_int_eq(acks_latest_us("{", 1, 3, &us), -1);
    /* No acks: every figure says so, none is made up. */
    acks_state a;
    acks_init(&a);
    json_t *j = acks_json(&a);
    ck_assert(json_is_null(json_object_get(j, "p50_ms")));
    ck_assert(json_is_null(json_object_get(j, "p99_ms")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "distinct")), 0);
    json_decref(j);
    acks_free(&a);
}
END_TEST

/* ---- peek_text ---- */

/* peek_text of len bytes as a C string (freed by the caller), and *binary. */
static char *text_of(const char *bytes, size_t len, size_t max, int *binary) {
    *binary = 0;
    json_t *j = peek_text(bytes, len, max, binary);
    ck_assert_ptr_nonnull(j);
    char *s = strdup(json_string_value(j));
    json_decref(j);
    return s;
}

START_TEST(peek_text_utf8_kept_rest_escaped) {
    int bin;
    char *s = text_of("caf\xc3\xa9 {\"a\":1}", 13, 100, &bin);
    ck_assert_str_eq(s, "caf\xc3\xa9 {\"a\":1}");
    ck_assert_int_eq(bin, 0);
    free(s);
    /* An invalid byte, NUL, an overlong '/', a lone continuation, a surrogate. */
    s = text_of("a\xff" "b\0c\xc0\xaf\x80\xed\xa0\x80", 11, 100, &bin);
    ck_assert_str_eq(s, "a\\xffb\\x00c\\xc0\\xaf\\x80\\xed\\xa0\\x80");
    ck_assert_int_eq(bin, 1);
    free(s);
    /* Cut at max bytes, and said so; a sequence cut in two is escaped. */
    s = text_of("abcdef", 6, 4, &bin);
    ck_assert_str_eq(s, "abcd\xe2\x80\xa6");
    free(s);
    s = text_of("ab\xc3\xa9", 4, 3, &bin);
    ck_assert_str_eq(s, "ab\\xc3\xe2\x80\xa6");
    free(s);
    s = text_of("", 0, 10, &bin);
    ck_assert_str_eq(s, "");
    free(s);
}
END_TEST

/* ---- dbview ---- */

static char tmpdir[256];

/* A fresh directory for one test's files. */
static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof tmpdir, "%s/gk-console-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* Removes the test's directory and what it holds. */
static void remove_tmpdir(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static void exec_sql(const char *path, const char *sql) {
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s", msg ? msg : "");
    sqlite3_close(db);
}

START_TEST(dbview_reads_counts_dead_letters_offsets) {
    make_tmpdir();
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/g.db", tmpdir);
    db_store *s = NULL;
    ck_assert_msg(db_store_sqlite_open(path, DB_SYNC_NORMAL, &s, err, sizeof err) == 0, "%s", err);
    db_store_close(s);
    exec_sql(path,
             "INSERT INTO data1 (event_id, sample_id, patient_id, specimen_type, collected_at,"
             " consent_research) VALUES (1,'s','p','t','2024-01-01T00:00:00',1),"
             " (2,'s','p','t','2024-01-01T00:00:00',1);"
             "INSERT INTO dead_letters (topic, partition, offset, key, value, reason, received_at)"
             " VALUES ('topic1',0,5,'k','v','not JSON','2026-01-01T00:00:00.000Z'),"
             " ('topic2',1,6,'k','v','not JSON','2026-01-01T00:00:01.000Z'),"
             " ('topic3',2,7,'k','v','unknown field \"x\"','2026-01-01T00:00:02.000Z');"
             "INSERT INTO kafka_offsets VALUES ('c1','topic1',0,10), ('c2','topic1',1,20);");
    dbview *v = dbview_new(path, err, sizeof err);
    ck_assert_ptr_nonnull(v);
    json_t *j = dbview_read(v, "c1");
    ck_assert_ptr_nonnull(j);
    ck_assert_msg(json_is_null(json_object_get(j, "error")), "%s",
                  json_string_value(json_object_get(j, "error")));
    json_t *t = json_object_get(j, "tables");
    ck_assert_uint_eq(json_array_size(t), 5);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(t, 0), "name")), "data1");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(t, 0), "rows")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(t, 1), "rows")), 0);
    json_t *dl = json_object_get(j, "dead_letters");
    ck_assert_int_eq(json_integer_value(json_object_get(dl, "total")), 3);
    json_t *r0 = json_array_get(json_object_get(dl, "by_reason"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(r0, "reason")), "not JSON");
    ck_assert_int_eq(json_integer_value(json_object_get(r0, "count")), 2);
    json_t *l0 = json_array_get(json_object_get(dl, "latest"), 0); /* the newest first */
    ck_assert_str_eq(json_string_value(json_object_get(l0, "topic")), "topic3");
    ck_assert_int_eq(json_integer_value(json_object_get(l0, "offset")), 7);
    ck_assert_str_eq(json_string_value(json_object_get(l0, "reason")), "unknown field \"x\"");
    /* Only this cluster's offsets: the other cluster's are not a position here. */
    json_t *o = json_object_get(j, "offsets");
    ck_assert_uint_eq(json_array_size(o), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(o, 0), "next_offset")), 10);
    json_decref(j);
    dbview_free(v);
    remove_tmpdir();
}
END_TEST

/* A database that is not there is an error on the page, and stays not there. */
START_TEST(dbview_never_creates) {
    make_tmpdir();
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/none.db", tmpdir);
    dbview *v = dbview_new(path, err, sizeof err);
    ck_assert_ptr_nonnull(v);
    json_t *j = dbview_read(v, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert(json_is_string(json_object_get(j, "error")));
    struct stat st;
    ck_assert_int_ne(stat(path, &st), 0);
    json_decref(j);
    /* A file that is not a database: an error too, nothing written. */
    FILE *f = fopen(path, "w");
    fputs("not a database", f);
    fclose(f);
    j = dbview_read(v, NULL);
    ck_assert(json_is_string(json_object_get(j, "error")) ||
              json_object_get(json_array_get(json_object_get(j, "tables"), 0), "error"));
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 14);
    json_decref(j);
    dbview_free(v);
    remove_tmpdir();
}
END_TEST

/* ---- web ---- */

static const char *req_close = " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

static char *get(unsigned port, const char *path) {
    char req[512];
    snprintf(req, sizeof req, "GET %s%s", path, req_close);
    return http_client_get(port, req);
}

/* GETs path and checks the status ("404") and, when given, that the body
 * is exactly body. */
static void expect(unsigned port, const char *path, const char *status, const char *body) {
    char *a = get(port, path);
    char want[32];
    snprintf(want, sizeof want, "HTTP/1.1 %s", status);
    const char *b = strstr(a, "\r\n\r\n");
    ck_assert_msg(strncmp(a, want, strlen(want)) == 0 && (!body || (b && strcmp(b + 4, body) == 0)),
                  "GET %s: %s", path, a);
    free(a);
}

static unsigned web_port(const web *w) {
    const char *colon = strrchr(web_address(w), ':');
    return (unsigned)atoi(colon + 1);
}

START_TEST(web_serves_page_state_and_messages) {
    make_tmpdir();
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/index.html", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("<p>page</p>", f);
    fclose(f);
    web *w = web_start("127.0.0.1:0", tmpdir, 0.2, err, sizeof err);
    ck_assert_msg(w != NULL, "%s", err);
    unsigned port = web_port(w);
    ck_assert_uint_ne(port, 0);
    expect(port, "/", "200", "<p>page</p>");
    char *a = get(port, "/");
    ck_assert_msg(strstr(a, "Content-Type: text/html") != NULL, "%s", a);
    free(a);
    /* Only the page's own names reach the disk. */
    expect(port, "/../../etc/passwd", "404", NULL);
    expect(port, "/console.js", "404", NULL); /* not in this directory */
    expect(port, "/api/state", "503", NULL);
    json_t *topics = json_pack("{s:[{s:s}]}", "topics", "name", "topic1");
    json_t *state = json_pack("{s:i}", "n", 42);
    web_set_state(w, state, topics);
    expect(port, "/api/state", "200", "{\"n\":42}");
    a = get(port, "/api/state");
    ck_assert_msg(strstr(a, "Content-Type: application/json") != NULL, "%s", a);
    free(a);
    /* Messages: only a known topic; pending until the collector read it. */
    expect(port, "/api/messages?topic=nope", "404", NULL);
    expect(port, "/api/messages", "400", NULL);
    char due[64];
    ck_assert_int_eq(web_next_peek(w, due, sizeof due), 0);
    expect(port, "/api/messages?topic=topic1", "200", "{\"pending\":true}");
    ck_assert_int_eq(web_next_peek(w, due, sizeof due), 1);
    ck_assert_str_eq(due, "topic1");
    ck_assert_int_eq(web_next_peek(w, due, sizeof due), 0); /* not due again before the refresh */
    web_set_peek(w, "topic1", json_pack("{s:s}", "topic", "topic1"));
    expect(port, "/api/messages?topic=topic1", "200", "{\"topic\":\"topic1\"}");
    usleep(250000);
    ck_assert_int_eq(web_next_peek(w, due, sizeof due), 1);
    /* Read-only. */
    a = http_client_get(port, "POST /api/state HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    ck_assert_msg(strncmp(a, "HTTP/1.1 405", 12) == 0, "%s", a);
    free(a);
    json_decref(topics);
    json_decref(state);
    web_stop(w);
    remove_tmpdir();
}
END_TEST

static Suite *console_suite(void) {
    Suite *s = suite_create("console");
    TCase *tc = tcase_create("console");
    tcase_add_test(tc, acks_percentiles_are_the_analysis_ones);
    tcase_add_test(tc, acks_duplicates_bad_and_missing_times);
    tcase_add_test(tc, acks_latest_needs_every_topic);
    tcase_add_test(tc, peek_text_utf8_kept_rest_escaped);
    tcase_add_test(tc, dbview_reads_counts_dead_letters_offsets);
    tcase_add_test(tc, dbview_never_creates);
    tcase_add_test(tc, web_serves_page_state_and_messages);
    suite_add_tcase(s, tc);
    return s;
}

const unit_def unit_tests = {console_suite, NULL, NULL};
