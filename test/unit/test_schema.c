/* test_schema.c - the schema definition, its SQL, value checks, the JSON
 * codec (encode/decode round trips and every rejection reason), and the
 * message rule both consumers apply (schema/message.h) with its event-id
 * keys. */
#include "schema/decode.h"
#include "schema/message.h"
#include "schema/schema.h"
#include "test/unit/runner.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
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
    ck_assert_int_eq(schema_topic_index("topic2"), 1);
    ck_assert_int_eq(schema_topic_index("ack"), -1);
    ck_assert_int_eq(schema_topic_index(SCHEMA_ACK_TOPIC), -1);
    ck_assert_str_eq(schema_topic_list(), "topic1,topic2,topic3");
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
                         "\"2026-03-01T08:15:00\",\"volume_ml\":0.1,"
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

/* The JSON text of a row holding only event id 1 and volume_ml = d. */
static char *encode_real(double d) {
    schema_value v[8];
    for (int i = 0; i < 8; i++) v[i] = (schema_value){.is_null = true};
    v[0] = (schema_value){.i = 1};
    v[5] = (schema_value){.d = d};
    return schema_encode_json(&schema_records[0], v, NULL);
}

/* The reference form of a real: the first of %.15g, %.16g, %.17g that reads
 * back exactly, ".0" when it has neither point nor exponent, and the exponent
 * written like jansson does (no '+', no leading zeros). */
static void reference_real(double d, char *out, size_t outlen) {
    char buf[64];
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, d);
        if (strtod(buf, NULL) == d) break;
    }
    if (!strchr(buf, '.') && !strchr(buf, 'e')) strcat(buf, ".0");
    char *e = strchr(buf, 'e');
    if (e) {
        char *from = e + 1, *to = e + 1;
        if (*from == '-') *to++ = *from++;
        else if (*from == '+') from++;
        while (*from == '0' && from[1]) from++;
        memmove(to, from, strlen(from) + 1);
    }
    snprintf(out, outlen, "{\"event_id\":1,\"volume_ml\":%s}", buf);
}

START_TEST(json_reals_shortest) {
    static const struct {
        double d;
        const char *want;
    } cases[] = {
        {0.1, "0.1"}, {4.5, "4.5"}, {5.0, "5.0"}, {-2.25, "-2.25"}, {0.0, "0.0"},
        {-0.0, "-0.0"}, {86.21, "86.21"}, {0.0001, "0.0001"}, {0.00015, "0.00015"},
        {1e-5, "1e-5"}, {1e20, "1e20"}, {1e15, "1e15"}, {123456789012345.0, "123456789012345.0"},
        {0.1 + 0.2, "0.30000000000000004"}, {1.0 / 3, "0.3333333333333333"},
        {1.7976931348623157e308, "1.7976931348623157e308"}, {-1e-300, "-1e-300"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char want[128];
        snprintf(want, sizeof want, "{\"event_id\":1,\"volume_ml\":%s}", cases[i].want);
        char *js = encode_real(cases[i].d);
        ck_assert_str_eq(js, want);
        free(js);
    }
    /* Random bit patterns and random short decimals against the reference. */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double d;
        if (i % 2) {
            memcpy(&d, &x, sizeof d);
            if (!isfinite(d)) continue;
        } else {
            static const double scale[] = {1, 10, 100, 1000, 1e4, 1e6};
            d = (double)(int64_t)(x % 2000000000000ull - 1000000000000ll) / scale[(x >> 50) % 6] /
                (double)(1 + (x >> 60) % 4);
        }
        char want[128];
        reference_real(d, want, sizeof want);
        char *js = encode_real(d);
        ck_assert_msg(strcmp(js, want) == 0, "%.17g: got %s, want %s", d, js, want);
        ck_assert(strtod(strrchr(js, ':') + 1, NULL) == d);
        free(js);
    }
    ck_assert_ptr_null(encode_real(NAN));
    ck_assert_ptr_null(encode_real(INFINITY));
}
END_TEST

/* Strings are escaped exactly as jansson's compact dump escapes them. */
START_TEST(json_strings_like_jansson) {
    static const char *const pieces[] = {"a", "Z", " ", "\"", "\\", "/", "\n", "\r", "\t", "\b",
                                         "\f", "\x01", "\x1f", "\x7f", "ü", "✓", "𝄞", "é"};
    const size_t np = sizeof pieces / sizeof *pieces;
    uint32_t x = 2463534242u;
    for (int i = 0; i < 20000; i++) {
        char text[256];
        size_t len = 0;
        for (int k = 0; k < i % 24; k++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            const char *p = pieces[x % np];
            memcpy(text + len, p, strlen(p));
            len += strlen(p);
        }
        if (i % 7 == 3) text[len++] = '\0'; /* NUL is escaped too */
        schema_value v[8];
        for (int k = 0; k < 8; k++) v[k] = (schema_value){.is_null = true};
        v[7] = (schema_value){.s = text, .len = len};
        char *js = schema_encode_json(&schema_records[0], v, NULL);
        json_t *obj = json_object();
        json_object_set_new(obj, "notes", json_stringn_nocheck(text, len));
        char *want = json_dumps(obj, JSON_COMPACT);
        ck_assert_str_eq(js, want);
        free(js);
        free(want);
        json_decref(obj);
    }
}
END_TEST

START_TEST(json_encode_edges) {
    const schema_record *r = &schema_records[0];
    schema_value v[8];
    for (int i = 0; i < 8; i++) v[i] = (schema_value){.is_null = true};
    char *js = schema_encode_json(r, v, NULL);
    ck_assert_str_eq(js, "{}");
    free(js);
    v[0] = (schema_value){.i = INT64_MIN};
    v[6] = (schema_value){.i = 0};
    js = schema_encode_json(r, v, NULL);
    ck_assert_str_eq(js, "{\"event_id\":-9223372036854775808,\"consent_research\":false}");
    free(js);
    /* A buffer too small gets a cut-off prefix and the full length. */
    char buf[16];
    size_t len = 0;
    ck_assert_int_eq(schema_encode_json_buf(r, v, buf, sizeof buf, &len), 0);
    ck_assert_uint_eq(len, 58); /* {"event_id":-9223372036854775808,"consent_research":false} */
    ck_assert(memcmp(buf, "{\"event_id\":-922", 16) == 0);
    ck_assert_int_eq(schema_encode_json_buf(r, v, NULL, 0, &len), 0);
    ck_assert_uint_eq(len, 58);
    /* Text that is not UTF-8 cannot be encoded. */
    v[7] = (schema_value){.s = "ok \xC3(", .len = 5};
    ck_assert_ptr_null(schema_encode_json(r, v, NULL));
    v[7] = (schema_value){.s = "cut \xE2\x9C", .len = 6};
    ck_assert_int_eq(schema_encode_json_buf(r, v, buf, sizeof buf, &len), -1);
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

/* Decodes text both ways (fast path with fallback, and jansson alone) and
 * checks that they agree; returns whether the fast path took it (no root, or
 * only the array holding unescaped text: jansson's root is the object). */
static bool decode_both(const schema_record *r, const char *text, int want_rc) {
    schema_value a[16], b[16];
    json_t *ra = NULL, *rb = NULL;
    char ea[256] = "", eb[256] = "";
    int rc = schema_decode_json(r, text, strlen(text), a, &ra, ea, sizeof ea);
    int rc_ref = schema_decode_json_jansson(r, text, strlen(text), b, &rb, eb, sizeof eb);
    ck_assert_msg(rc == want_rc, "'%s': rc %d, wanted %d (%s)", text, rc, want_rc, ea);
    ck_assert_int_eq(rc, rc_ref);
    if (rc != 0) ck_assert_str_eq(ea, eb);
    for (size_t i = 0; rc == 0 && i < r->ncolumns; i++) {
        ck_assert_int_eq(a[i].is_null, b[i].is_null);
        if (a[i].is_null) continue;
        switch (r->columns[i].type) {
        case SCHEMA_REAL: ck_assert(memcmp(&a[i].d, &b[i].d, sizeof a[i].d) == 0); break;
        case SCHEMA_TEXT:
        case SCHEMA_DATETIME:
            ck_assert_uint_eq(a[i].len, b[i].len);
            ck_assert(memcmp(a[i].s, b[i].s, a[i].len) == 0);
            break;
        default: ck_assert_int_eq(a[i].i, b[i].i);
        }
    }
    bool fast = rc == 0 && (ra == NULL || json_is_array(ra));
    json_decref(ra);
    json_decref(rb);
    return fast;
}

START_TEST(json_fast_path_agrees) {
    const schema_record *r = &schema_records[1]; /* sequencing_qc: every type */
    const char *rest = "\"run_id\":\"R-1\",\"instrument\":\"N\",\"lane\":2,\"q30_pct\":91.5,"
                       "\"mean_coverage\":30,\"sequenced_at\":\"2026-03-01T08:00:00Z\","
                       "\"passed_qc\":true}";
    char buf[512];
    /* The producer's form, and plain variants: taken without jansson. */
    snprintf(buf, sizeof buf, "{\"event_id\":1,\"read_count\":5,%s", rest);
    ck_assert(decode_both(r, buf, 0));
    snprintf(buf, sizeof buf, " {\t\"event_id\" : 9223372036854775807 ,\"read_count\":-0,%s\r\n",
             rest);
    ck_assert(decode_both(r, buf, 0));
    snprintf(buf, sizeof buf, "{\"event_id\":3,\"read_count\":-9223372036854775808,%s", rest);
    ck_assert(decode_both(r, buf, 0));
    ck_assert(decode_both(r, "{\"event_id\":4,\"read_count\":1,\"run_id\":\"R\",\"instrument\":"
                             "\"N\",\"lane\":1,\"q30_pct\":-0.0,\"mean_coverage\":1E-400,"
                             "\"sequenced_at\":\"2026-03-01\",\"passed_qc\":false}", 0));
    /* \u escapes and escaped keys go to jansson and decode the same. */
    ck_assert(!decode_both(r, "{\"event_id\":5,\"read_count\":1,\"run_id\":\"R\\u002d1\","
                              "\"instrument\":\"N\",\"lane\":1,\"q30_pct\":1,\"mean_coverage\":1,"
                              "\"sequenced_at\":\"2026-03-01\",\"passed_qc\":false}", 0));
    ck_assert(!decode_both(r, "{\"event_\\u0069d\":5,\"read_count\":1,\"run_id\":\"R\","
                              "\"instrument\":\"N\",\"lane\":1,\"q30_pct\":1,\"mean_coverage\":1,"
                              "\"sequenced_at\":\"2026-03-01\",\"passed_qc\":false}", 0));
    /* The two-character escapes are unescaped on the fast path, in one value
     * or several, short or longer than its stack buffer; the same values. */
    ck_assert(decode_both(r, "{\"event_id\":6,\"read_count\":1,\"run_id\":\"R \\\"K\\u00f6ln\\\"\","
                             "\"instrument\":\"N\",\"lane\":1,\"q30_pct\":1,\"mean_coverage\":1,"
                             "\"sequenced_at\":\"2026-03-01\",\"passed_qc\":false}", 0) == false);
    ck_assert(decode_both(r, "{\"event_id\":6,\"read_count\":1,\"run_id\":\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\","
                             "\"instrument\":\"Probe f\u00fcr \\\"K\u00f6ln-2\\\"\",\"lane\":1,\"q30_pct\":1,"
                             "\"mean_coverage\":1,\"sequenced_at\":\"2026-03-01\",\"passed_qc\":false}", 0));
    {
        char longer[1024];
        char notes[600];
        for (size_t i = 0; i + 2 < sizeof notes; i += 2) notes[i] = '\\', notes[i + 1] = 'n';
        notes[sizeof notes - 2] = 'x', notes[sizeof notes - 1] = '\0';
        snprintf(longer, sizeof longer, "{\"event_id\":7,\"sample_id\":\"S\",\"patient_id\":\"P\","
                 "\"notes\":\"%s\",\"specimen_type\":\"b\",\"collected_at\":\"2024-01-01\","
                 "\"consent_research\":true}", notes);
        ck_assert(decode_both(&schema_records[0], longer, 0));
    }
    /* An escape jansson refuses, a raw control character after an escape and
     * an unterminated escaped string: the same refusal either way. */
    decode_both(r, "{\"event_id\":8,\"read_count\":1,\"run_id\":\"a\\qb\",\"instrument\":\"N\","
                   "\"lane\":1,\"q30_pct\":1,\"mean_coverage\":1,\"sequenced_at\":\"2026-03-01\","
                   "\"passed_qc\":false}", -1);
    decode_both(r, "{\"event_id\":8,\"read_count\":1,\"run_id\":\"a\\n\tb\",\"instrument\":\"N\","
                   "\"lane\":1,\"q30_pct\":1,\"mean_coverage\":1,\"sequenced_at\":\"2026-03-01\","
                   "\"passed_qc\":false}", -1);
    decode_both(r, "{\"event_id\":8,\"read_count\":1,\"run_id\":\"a\\n", -1);
    /* Refusals: the same reason either way. */
    const char *bad[] = {
        "{\"event_id\":9223372036854775808,\"read_count\":5,%s", /* int64 overflow */
        "{\"event_id\":1,\"read_count\":5.0,%s",                 /* real for an integer */
        "{\"event_id\":01,\"read_count\":5,%s",                  /* leading zero */
        "{\"event_id\":1,\"read_count\":1e999,%s",               /* real overflow */
        "{\"event_id\":1,\"read_count\":5,\"lane\":3,%s",        /* duplicate key */
        "{\"event_id\":1,\"read_count\":5,\"Lane\":3,%s",        /* unknown key */
        "{\"event_id\":1,\"read_count\":5 %s",                   /* missing comma */
        "{\"event_id\":1,\"read_count\":5,%s,",                  /* trailing garbage */
        "{\"event_id\":1,\"read_count\":[5],%s",                 /* nesting */
        "{\"event_id\":-1,\"read_count\":5,%s",                  /* invalid value */
        "{\"event_id\":1,\"read_count\":tru,%s",                 /* bad literal */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(buf, sizeof buf, bad[i], rest);
#pragma GCC diagnostic pop
        decode_both(r, buf, -1);
    }
    ck_assert(!decode_both(r, "{\"event_id\":1}", -1)); /* required fields missing */
    /* A raw control character inside a string. */
    snprintf(buf, sizeof buf, "{\"event_id\":1,\"read_count\":5,\"run_id\":\"R\x01\",%s",
             strchr(rest, ',') + 1);
    decode_both(r, buf, -1);
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

/* One rule of a missing value for the producer and both consumers: "" in a
 * required text field is refused as missing (the producer refuses an empty
 * cell there); in an optional one it becomes null, as an empty cell does. */
START_TEST(empty_text_is_missing) {
    const schema_record *r = &schema_records[0];
    char buf[512];
    schema_value v[SCHEMA_MAX_COLUMNS];
    json_t *root = NULL;
    snprintf(buf, sizeof buf, "{\"event_id\":1,\"sample_id\":\"\",\"patient_id\":\"P\","
                              "\"specimen_type\":\"b\",\"collected_at\":\"2026-03-01\","
                              "\"consent_research\":true}");
    ck_assert_int_eq(schema_decode_json(r, buf, strlen(buf), v, &root, err, sizeof err), -1);
    ck_assert_str_eq(err, "field 'sample_id': required text is missing (empty)");
    decode_both(r, buf, -1); /* the fast path and jansson agree */
    snprintf(buf, sizeof buf, "{\"event_id\":1,\"sample_id\":\"S\",\"patient_id\":\"P\","
                              "\"specimen_type\":\"b\",\"collected_at\":\"\","
                              "\"consent_research\":true}");
    ck_assert_int_eq(schema_decode_json(r, buf, strlen(buf), v, &root, err, sizeof err), -1);
    ck_assert_str_eq(err, "field 'collected_at': required datetime is missing (empty)");
    snprintf(buf, sizeof buf, "{\"event_id\":1,\"sample_id\":\"S\",\"patient_id\":\"P\","
                              "\"specimen_type\":\"b\",\"collected_at\":\"2026-03-01\","
                              "\"consent_research\":true,\"notes\":\"\"}");
    ck_assert_int_eq(schema_decode_json(r, buf, strlen(buf), v, &root, err, sizeof err), 0);
    ck_assert(v[schema_column_index(r, "notes")].is_null);
    json_decref(root);
    decode_both(r, buf, 0);
    /* The same rule through schema_check_value, which the producer uses. */
    schema_value empty = {.s = "", .len = 0};
    ck_assert_int_eq(schema_check_value(&r->columns[1], &empty, err, sizeof err), -1);
    ck_assert(schema_value_missing(&r->columns[1], &empty));
}
END_TEST

/* A data topic is never the ack topic, and the ack topic never a data topic. */
START_TEST(topic_roles) {
    ck_assert_int_eq(schema_topic_check("topic1", SCHEMA_TOPIC_DATA, err, sizeof err), 0);
    ck_assert_int_eq(schema_topic_check("mine", SCHEMA_TOPIC_DATA, err, sizeof err), 0);
    ck_assert_int_eq(schema_topic_check(SCHEMA_ACK_TOPIC, SCHEMA_TOPIC_DATA, err, sizeof err), -1);
    ck_assert_str_eq(err, "'ack' is the ack topic, not a data topic");
    ck_assert_int_eq(schema_topic_check("topic2", SCHEMA_TOPIC_ACK, err, sizeof err), -1);
    ck_assert_str_eq(err, "'topic2' is a data topic, not the ack topic");
    ck_assert_int_eq(schema_topic_check("acks2", SCHEMA_TOPIC_ACK, err, sizeof err), 0);
    ck_assert_int_eq(schema_topic_check("", SCHEMA_TOPIC_ACK, err, sizeof err), -1);
}
END_TEST

/* The topic namespace: every default name moves under the prefix at once
 * (data topics, the list, the ack topic, the lookups), and a prefix that
 * would make an illegal Kafka topic name is refused. */
START_TEST(topic_prefix) {
    ck_assert_int_eq(schema_topic_prefix_set("it-42.", err, sizeof err), 0);
    ck_assert_str_eq(schema_records[0].topic, "it-42.topic1");
    ck_assert_str_eq(schema_records[2].topic, "it-42.topic3");
    ck_assert_str_eq(SCHEMA_ACK_TOPIC, "it-42.ack");
    ck_assert_str_eq(schema_topic_list(), "it-42.topic1,it-42.topic2,it-42.topic3");
    ck_assert_int_eq(schema_topic_index("it-42.topic2"), 1);
    ck_assert_ptr_null(schema_by_topic("topic2")); /* another namespace's */
    ck_assert_int_eq(schema_topic_check("it-42.ack", SCHEMA_TOPIC_DATA, err, sizeof err), -1);
    ck_assert_int_eq(schema_topic_check("ack", SCHEMA_TOPIC_DATA, err, sizeof err), 0);
    ck_assert_int_eq(schema_topic_check("it-42.topic1", SCHEMA_TOPIC_ACK, err, sizeof err), -1);

    /* Kafka's characters and length; a refused prefix changes nothing. */
    ck_assert_int_eq(schema_topic_prefix_set("a b", err, sizeof err), -1);
    ck_assert_str_eq(err, "topic prefix 'a b': topic name 'a btopic1' holds ' ' (Kafka allows "
                          "letters, digits, '.', '_' and '-')");
    ck_assert_int_eq(schema_topic_prefix_set("x/", err, sizeof err), -1);
    /* The longest name a prefix makes is the dead-letter topic's
     * ("ack-dead-letters", 16 characters): the prefix may make it exactly
     * 249 long. */
    char longest[SCHEMA_TOPIC_MAX + 2];
    size_t room = SCHEMA_TOPIC_MAX - strlen("ack-dead-letters");
    memset(longest, 'p', sizeof longest);
    longest[room] = '\0';
    ck_assert_int_eq(schema_topic_prefix_set(longest, err, sizeof err), 0);
    ck_assert_uint_eq(strlen(SCHEMA_ACK_DEAD_LETTER_TOPIC), SCHEMA_TOPIC_MAX);
    ck_assert_uint_eq(strlen(SCHEMA_ACK_CHANGELOG_TOPIC), room + 13);
    ck_assert_uint_eq(strlen(schema_records[0].topic), room + 6);
    longest[room] = 'p';
    longest[room + 1] = '\0'; /* the dead-letter topic's name would be 250 long */
    ck_assert_int_eq(schema_topic_prefix_set(longest, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "is 250 characters long") != NULL, "%s", err);
    longest[SCHEMA_TOPIC_MAX + 1] = '\0';
    ck_assert_int_eq(schema_topic_prefix_set(longest, err, sizeof err), -1);
    ck_assert(strstr(err, "is 250 characters long (Kafka allows 249)"));
    ck_assert_uint_eq(strlen(schema_records[0].topic), room + 6);

    /* Kafka's rule for any name, explicit ones included. */
    ck_assert_int_eq(schema_topic_name_check("..", err, sizeof err), -1);
    ck_assert_int_eq(schema_topic_name_check("a.b_c-D9", err, sizeof err), 0);
    ck_assert_int_eq(schema_topic_check("mine!", SCHEMA_TOPIC_DATA, err, sizeof err), -1);

    /* No prefix: the plain names again. */
    ck_assert_int_eq(schema_topic_prefix_set("", err, sizeof err), 0);
    ck_assert_str_eq(schema_records[1].topic, "topic2");
    ck_assert_str_eq(SCHEMA_ACK_TOPIC, "ack");
    ck_assert_str_eq(schema_topic_list(), "topic1,topic2,topic3");
}
END_TEST

/* The event-id key: one printer, one parser (canonical decimal, 1..INT64_MAX). */
START_TEST(event_id_keys) {
    char key[SCHEMA_EVENT_KEY_MAX];
    ck_assert_uint_eq(schema_event_key(key, 17), 2);
    ck_assert(memcmp(key, "17", 2) == 0);
    ck_assert_uint_eq(schema_event_key(key, INT64_MAX), 19);
    ck_assert(memcmp(key, "9223372036854775807", 19) == 0);
    int64_t id;
    ck_assert_int_eq(schema_event_key_parse("17", 2, &id), 0);
    ck_assert_int_eq(id, 17);
    ck_assert_int_eq(schema_event_key_parse("9223372036854775807", 19, &id), 0);
    ck_assert_int_eq(id, INT64_MAX);
    ck_assert_int_eq(schema_event_key_parse("9223372036854775808", 19, &id), -1);
    ck_assert_int_eq(schema_event_key_parse("0", 1, &id), -1);
    ck_assert_int_eq(schema_event_key_parse("", 0, &id), -1);
    ck_assert_int_eq(schema_event_key_parse(NULL, 0, &id), -1);
    ck_assert_int_eq(schema_event_key_parse("-1", 2, &id), -1);
    ck_assert_int_eq(schema_event_key_parse("-5", 2, &id), -1);
    ck_assert_int_eq(schema_event_key_parse("017", 3, &id), -1);
    ck_assert_int_eq(schema_event_key_parse("+17", 3, &id), -1);
    ck_assert_int_eq(schema_event_key_parse("1 ", 2, &id), -1);
    ck_assert_int_eq(schema_event_key_parse("12x", 2, &id), 0); /* length-bounded */
    ck_assert_int_eq(id, 12);
    char text[48];
    schema_key_text("a'b\x01", 4, text, sizeof text);
    ck_assert_str_eq(text, "a?b?");
    schema_key_text("0123456789012345678901234567890123456789XY", 42, text, sizeof text);
    ck_assert_str_eq(text, "0123456789012345678901234567890123456789...");
}
END_TEST

/* Maps topic1's message with key and value through the rule. */
static int map1(schema_message *m, const char *topic, const char *key, const char *value) {
    return schema_message_map(m, topic, key, key ? strlen(key) : 0, value,
                              value ? strlen(value) : 0);
}

/* What both consumers accept, and the one reason each refusal gets. */
START_TEST(message_rule) {
    static const char v17[] = "{\"event_id\":17,\"sample_id\":\"S\",\"patient_id\":\"P\","
                              "\"specimen_type\":\"b\",\"collected_at\":\"2024-01-01\","
                              "\"consent_research\":true}";
    schema_message m;
    ck_assert_int_eq(map1(&m, "topic1", "17", v17), 0);
    ck_assert_ptr_eq(m.rec, &schema_records[0]);
    ck_assert_int_eq(m.event_id, 17);
    ck_assert_int_eq(m.values[0].i, 17);
    ck_assert_uint_eq(m.values[1].len, 1);
    ck_assert(m.values[1].s[0] == 'S');
    schema_message_done(&m);

    ck_assert_int_eq(map1(&m, "topic9", "17", v17), -1);
    ck_assert_ptr_null(m.rec);
    ck_assert_str_eq(m.reason, "no record type for topic 'topic9'");
    ck_assert_int_eq(map1(&m, "topic2", "17", v17), -1); /* topic1's row on topic2 */
    ck_assert_ptr_nonnull(strstr(m.reason, "unknown field 'sample_id' for sequencing_qc"));
    ck_assert_int_eq(map1(&m, "topic1", NULL, v17), -1);
    ck_assert_str_eq(m.reason, "message has no key (expected event_id 17)");
    ck_assert_int_eq(map1(&m, "topic1", "", v17), -1);
    ck_assert_str_eq(m.reason, "message has no key (expected event_id 17)");
    ck_assert_int_eq(map1(&m, "topic1", "18", v17), -1);
    ck_assert_str_eq(m.reason, "key '18' does not match event_id 17");
    ck_assert_int_eq(map1(&m, "topic1", "017", v17), -1);
    ck_assert_str_eq(m.reason, "key '017' does not match event_id 17");
    ck_assert_int_eq(map1(&m, "topic1", "seventeen", v17), -1);
    ck_assert_str_eq(m.reason, "key 'seventeen' does not match event_id 17");
    ck_assert_int_eq(map1(&m, "topic1", "17", NULL), -1);
    ck_assert_str_eq(m.reason, "empty message value");
    ck_assert_int_eq(map1(&m, "topic1", "17", "[17]"), -1);
    ck_assert_str_eq(m.reason, "not a JSON object");
    /* An escaped value is held by the decoder until done releases it. */
    static const char esc[] = "{\"event_id\":17,\"sample_id\":\"S\\n\",\"patient_id\":\"P\","
                              "\"specimen_type\":\"b\",\"collected_at\":\"2024-01-01\","
                              "\"consent_research\":true}";
    ck_assert_int_eq(map1(&m, "topic1", "17", esc), 0);
    ck_assert_ptr_nonnull(m.decoded);
    ck_assert_uint_eq(m.values[1].len, 2);
    schema_message_done(&m);
    ck_assert_ptr_null(m.decoded);
    ck_assert_int_eq(map1(&m, "topic1", "18", esc), -1);
    ck_assert_ptr_null(m.decoded); /* a refusal keeps nothing */
}
END_TEST

static Suite *schema_suite(void) {
    Suite *s = suite_create("schema");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, records_are_consistent);
    tcase_add_test(tc, sql_text);
    tcase_add_test(tc, datetime_forms);
    tcase_add_test(tc, utf8);
    tcase_add_test(tc, json_round_trip);
    tcase_add_test(tc, json_reals_shortest);
    tcase_add_test(tc, json_strings_like_jansson);
    tcase_add_test(tc, json_encode_edges);
    tcase_add_test(tc, json_rejections);
    tcase_add_test(tc, json_fast_path_agrees);
    tcase_add_test(tc, check_value_rules);
    tcase_add_test(tc, event_id_keys);
    tcase_add_test(tc, empty_text_is_missing);
    tcase_add_test(tc, topic_roles);
    tcase_add_test(tc, topic_prefix);
    tcase_add_test(tc, message_rule);
    suite_add_tcase(s, tc);
    return s;
}

const unit_def unit_tests = {schema_suite, NULL, NULL};
