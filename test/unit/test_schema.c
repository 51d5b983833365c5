/* test_schema.c - the schema definition, its SQL, value checks and the JSON
 * codec (encode/decode round trips and every rejection reason). */
#include "schema/schema.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char err[256];

START_TEST(records_are_consistent) {
    for (size_t i = 0; i < SCHEMA_N_RECORDS; i++) {
        const schema_record *r = &schema_records[i];
        ck_assert_str_eq(r->columns[0].name, SCHEMA_EVENT_ID);
        ck_assert(r->columns[0].type == SCHEMA_INT && r->columns[0].required);
        ck_assert_ptr_eq(schema_by_topic(r->topic), r);
        ck_assert_ptr_eq(schema_by_table(r->table), r);
        ck_assert_ptr_eq(schema_by_name(r->name), r);
        char path[64];
        snprintf(path, sizeof path, "data/%s", r->file);
        ck_assert_ptr_eq(schema_by_file(path), r);
        for (size_t a = 0; a < r->ncolumns; a++)
            for (size_t b = a + 1; b < r->ncolumns; b++)
                ck_assert_str_ne(r->columns[a].name, r->columns[b].name);
    }
    ck_assert_ptr_null(schema_by_topic("topic4"));
    ck_assert_ptr_null(schema_by_file("other.xlsx"));
    ck_assert_int_eq(schema_column_index(&schema_records[0], "patient_id"), 2);
    ck_assert_int_eq(schema_column_index(&schema_records[0], "nope"), -1);
}
END_TEST

START_TEST(sql_text) {
    char *c = schema_create_sql(&schema_records[0]);
    ck_assert_str_eq(c, "CREATE TABLE IF NOT EXISTS data1 (event_id INTEGER PRIMARY KEY, "
                        "sample_id TEXT NOT NULL, patient_id TEXT NOT NULL, specimen_type TEXT "
                        "NOT NULL, collected_at TEXT NOT NULL, volume_ml REAL, consent_research "
                        "INTEGER NOT NULL, notes TEXT)");
    free(c);
    char *u = schema_upsert_sql(&schema_records[0]);
    ck_assert_ptr_nonnull(strstr(u, "INSERT INTO data1 (event_id, sample_id,"));
    ck_assert_ptr_nonnull(strstr(u, "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    ck_assert_ptr_nonnull(strstr(u, "ON CONFLICT(event_id) DO UPDATE SET sample_id = excluded.sample_id"));
    ck_assert_ptr_null(strstr(u, "event_id = excluded"));
    free(u);
}
END_TEST

START_TEST(datetime_forms) {
    const char *ok[] = {"2026-01-31", "2026-01-31T10:20", "2026-01-31T10:20:30",
                        "2026-01-31 10:20:30.5", "2024-02-29T00:00:00.123456Z",
                        "2026-12-01T23:59:59+02:00"};
    const char *bad[] = {"", "2026-1-31", "2026-13-01", "2026-02-30", "2025-02-29",
                         "2026-01-31T24:00", "2026-01-31T10:60", "2026-01-31T10:20:30.",
                         "2026-01-31T10:20:30.1234567", "2026-01-31X", "yesterday",
                         "2026-01-31T10:20:30+2"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        ck_assert_msg(schema_datetime_valid(ok[i], strlen(ok[i])), "%s", ok[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!schema_datetime_valid(bad[i], strlen(bad[i])), "%s", bad[i]);
}
END_TEST

START_TEST(utf8) {
    ck_assert(schema_utf8_valid("Zürich ✓ 𝄞", strlen("Zürich ✓ 𝄞")));
    ck_assert(!schema_utf8_valid("\xC3", 1));            /* truncated */
    ck_assert(!schema_utf8_valid("\xC0\xAF", 2));        /* overlong */
    ck_assert(!schema_utf8_valid("\xED\xA0\x80", 3));    /* surrogate */
    ck_assert(!schema_utf8_valid("\xF4\x90\x80\x80", 4)); /* > U+10FFFF */
    ck_assert(!schema_utf8_valid("a\0b", 3));
    ck_assert(!schema_utf8_valid("\xFF", 1));
}
END_TEST

static void fill_intake(schema_value *v) {
    memset(v, 0, 8 * sizeof *v);
    v[0].i = 17;
    v[1] = (schema_value){.s = "S-000017", .len = 8};
    v[2] = (schema_value){.s = "P-0042", .len = 6};
    v[3] = (schema_value){.s = "blood \"EDTA\"", .len = 12};
    v[4] = (schema_value){.s = "2026-03-01T08:15:00", .len = 19};
    v[5].d = 0.1;
    v[6].i = 1;
    v[7].is_null = true;
}

START_TEST(json_round_trip) {
    const schema_record *r = &schema_records[0];
    schema_value in[8], out[8];
    fill_intake(in);
    size_t len = 0;
    char *js = schema_encode_json(r, in, &len);
    ck_assert_str_eq(js, "{\"event_id\":17,\"sample_id\":\"S-000017\",\"patient_id\":\"P-0042\","
                         "\"specimen_type\":\"blood \\\"EDTA\\\"\",\"collected_at\":"
                         "\"2026-03-01T08:15:00\",\"volume_ml\":0.10000000000000001,"
                         "\"consent_research\":true}");
    ck_assert_uint_eq(len, strlen(js));
    json_t *root = NULL;
    ck_assert_int_eq(schema_decode_json(r, js, len, out, &root, err, sizeof err), 0);
    ck_assert_int_eq(out[0].i, 17);
    ck_assert_str_eq(out[3].s, "blood \"EDTA\"");
    ck_assert(out[5].d == 0.1); /* exact round trip */
    ck_assert_int_eq(out[6].i, 1);
    ck_assert(out[7].is_null);
    json_decref(root);
    free(js);
}
END_TEST

/* Each bad message and the reason it must be rejected with. */
START_TEST(json_rejections) {
    const schema_record *r = &schema_records[0];
    const char *base = "\"sample_id\":\"S\",\"patient_id\":\"P\",\"specimen_type\":\"blood\","
                       "\"collected_at\":\"2026-03-01\",\"consent_research\":false";
    char buf[1024];
    struct {
        const char *json;
        const char *reason;
    } cases[] = {
        {"", "empty message"},
        {"not json", "not valid JSON"},
        {"[1,2]", "not a JSON object"},
        {"{\"sample_id\":\"S\"}", "field 'event_id': required integer is missing"},
        {"{\"event_id\":\"7\",%s}", "field 'event_id': expected an integer, got a string"},
        {"{\"event_id\":0,%s}", "must be a positive integer"},
        {"{\"event_id\":7,\"extra\":1,%s}", "unknown field 'extra'"},
        {"{\"event_id\":7,\"event_id\":8,%s}", "not valid JSON"},
        {"{\"event_id\":7,\"volume_ml\":\"x\",%s}", "field 'volume_ml': expected a number"},
        {"{\"event_id\":7,\"notes\":\"\\ud800\",%s}", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        /* Case texts hold one %s for the required fields. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(buf, sizeof buf, cases[i].json, base);
#pragma GCC diagnostic pop
        schema_value v[8];
        json_t *root = NULL;
        ck_assert_int_eq(schema_decode_json(r, buf, strlen(buf), v, &root, err, sizeof err), -1);
        ck_assert_ptr_null(root);
        ck_assert_msg(strstr(err, cases[i].reason), "case %zu: '%s' lacks '%s'", i, err,
                      cases[i].reason);
    }
    /* Over the size limit. */
    size_t big = SCHEMA_MAX_MESSAGE_BYTES + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    schema_value v[8];
    json_t *root = NULL;
    ck_assert_int_eq(schema_decode_json(r, huge, big, v, &root, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "exceeds the limit"));
    free(huge);
    /* A text over its column's limit (sample_id: 64 bytes). */
    snprintf(buf, sizeof buf,
             "{\"event_id\":1,\"sample_id\":\"%070d\",\"patient_id\":\"P\",\"specimen_type\":"
             "\"b\",\"collected_at\":\"2026-03-01\",\"consent_research\":true}", 0);
    ck_assert_int_eq(schema_decode_json(r, buf, strlen(buf), v, &root, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "field 'sample_id': text of 70 bytes exceeds"));
    /* A bad datetime. */
    snprintf(buf, sizeof buf, "{\"event_id\":1,\"sample_id\":\"S\",\"patient_id\":\"P\","
                              "\"specimen_type\":\"b\",\"collected_at\":\"soon\","
                              "\"consent_research\":true}");
    ck_assert_int_eq(schema_decode_json(r, buf, strlen(buf), v, &root, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "'soon' is not an ISO 8601 datetime"));
}
END_TEST

START_TEST(check_value_rules) {
    schema_column id = {SCHEMA_EVENT_ID, SCHEMA_INT, true, 0};
    schema_column real = {"q", SCHEMA_REAL, false, 0};
    schema_value v = {.i = -3};
    ck_assert_int_eq(schema_check_value(&id, &v, err, sizeof err), -1);
    v = (schema_value){.is_null = true};
    ck_assert_int_eq(schema_check_value(&real, &v, err, sizeof err), 0);
    v = (schema_value){.d = NAN};
    ck_assert_int_eq(schema_check_value(&real, &v, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "finite"));
}
END_TEST

int main(void) {
    Suite *s = suite_create("schema");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, records_are_consistent);
    tcase_add_test(tc, sql_text);
    tcase_add_test(tc, datetime_forms);
    tcase_add_test(tc, utf8);
    tcase_add_test(tc, json_round_trip);
    tcase_add_test(tc, json_rejections);
    tcase_add_test(tc, check_value_rules);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
