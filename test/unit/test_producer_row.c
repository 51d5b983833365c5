/* test_producer_row.c - the producer's row mapping (producer/row.c): header
 * parsing, every cell type conversion and every error, with hand-made
 * xlsx_cell arrays for the sample_intake record:
 * A event_id INT, B sample_id TEXT(64), C patient_id TEXT(64),
 * D specimen_type TEXT(64), E collected_at DATETIME, F volume_ml REAL (optional),
 * G consent_research BOOL, H notes TEXT (optional). */
#include "producer/row.h"
#include "test/unit/runner.h"

#include <stdlib.h>
#include <string.h>

#define NUM(x) ((xlsx_cell){XLSX_NUMBER, (x), NULL, 0})
#define STR(s) ((xlsx_cell){XLSX_STRING, 0, (s), sizeof(s) - 1})
#define BOOLC(b) ((xlsx_cell){XLSX_BOOL, (b), NULL, 0})
#define DATE(x) ((xlsx_cell){XLSX_DATE, (x), NULL, 0})
#define ERRC(s) ((xlsx_cell){XLSX_ERROR, 0, (s), sizeof(s) - 1})
#define EMPTY ((xlsx_cell){XLSX_EMPTY, 0, NULL, 0})

static const schema_record *rec;
static row_map map;
static schema_value vals[16];
static char err[512];

static const xlsx_cell header[] = {STR("event_id"), STR("sample_id"), STR("patient_id"),
                                   STR("specimen_type"), STR("collected_at"), STR("volume_ml"),
                                   STR("consent_research"), STR("notes")};

/* A valid row; tests overwrite one cell. 45306.5 is 2024-01-15 12:00. */
static xlsx_cell row[8];
static void setup(void) {
    rec = schema_by_name("sample_intake");
    ck_assert_ptr_nonnull(rec);
    ck_assert_int_eq(row_map_init(&map, rec, header, 8, err, sizeof err), 0);
    const xlsx_cell good[8] = {NUM(17), STR("S00017"), STR("P0017"), STR("blood"),
                               DATE(45306.5), NUM(2.5), BOOLC(1), STR("ok")};
    memcpy(row, good, sizeof row);
    err[0] = '\0';
}
static void teardown(void) { row_map_free(&map); }

/* Converts row and expects success. */
static void convert_ok(void) {
    ck_assert_msg(row_convert(&map, row, 8, vals, err, sizeof err) == 0, "unexpected error: %s", err);
}
/* Converts row and expects exactly the error text want. */
static void convert_err(const char *want) {
    ck_assert_int_eq(row_convert(&map, row, 8, vals, err, sizeof err), -1);
    ck_assert_str_eq(err, want);
}

START_TEST(valid_row_all_types) {
    convert_ok();
    ck_assert_int_eq(vals[0].i, 17);
    ck_assert_str_eq(vals[1].s, "S00017");
    ck_assert_uint_eq(vals[1].len, 6);
    ck_assert_str_eq(vals[4].s, "2024-01-15T12:00:00");
    ck_assert_double_eq(vals[5].d, 2.5);
    ck_assert_int_eq(vals[6].i, 1);
    ck_assert(!vals[7].is_null);
    size_t len;
    char *json = schema_encode_json(rec, vals, &len);
    ck_assert_str_eq(json, "{\"event_id\":17,\"sample_id\":\"S00017\",\"patient_id\":\"P0017\","
                           "\"specimen_type\":\"blood\",\"collected_at\":\"2024-01-15T12:00:00\","
                           "\"volume_ml\":2.5,\"consent_research\":true,\"notes\":\"ok\"}");
    free(json);
}
END_TEST

START_TEST(header_any_order_and_spaces) {
    const xlsx_cell h[] = {STR("notes"), EMPTY, STR(" consent_research "), STR("volume_ml"),
                           STR("collected_at"), STR("specimen_type"), STR("patient_id\t"),
                           STR("sample_id"), STR("event_id"), EMPTY, EMPTY};
    row_map m;
    ck_assert_int_eq(row_map_init(&m, rec, h, 11, err, sizeof err), 0);
    ck_assert_uint_eq(m.nheader, 9); /* trailing empty header cells do not count */
    ck_assert_uint_eq(m.col_of_field[0], 8);
    ck_assert_uint_eq(m.col_of_field[6], 2);
    ck_assert_int_eq(m.field_of_col[1], -1);
    const xlsx_cell r[] = {STR("n"), EMPTY, BOOLC(0), EMPTY, DATE(45306), STR("blood"),
                           STR("P1"), STR("S1"), NUM(5), EMPTY};
    ck_assert_msg(row_convert(&m, r, 10, vals, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(vals[0].i, 5);
    ck_assert(vals[5].is_null);
    ck_assert_int_eq(vals[6].i, 0);
    ck_assert_str_eq(vals[4].s, "2024-01-15T00:00:00");
    /* A value below an empty header cell is an error. */
    const xlsx_cell r2[] = {STR("n"), STR("x"), BOOLC(0), EMPTY, DATE(45306), STR("blood"),
                            STR("P1"), STR("S1"), NUM(5)};
    ck_assert_int_eq(row_convert(&m, r2, 9, vals, err, sizeof err), -1);
    ck_assert_str_eq(err, "column B: text 'x' in a column without a header");
    row_map_free(&m);
}
END_TEST

START_TEST(header_errors) {
    row_map m;
    const xlsx_cell missing[] = {STR("event_id"), STR("sample_id"), STR("patient_id"),
                                 STR("specimen_type"), STR("volume_ml"), STR("consent_research"),
                                 STR("notes")};
    ck_assert_int_eq(row_map_init(&m, rec, missing, 7, err, sizeof err), -1);
    ck_assert_str_eq(err, "header lacks column 'collected_at' (record type sample_intake)");

    xlsx_cell h[9];
    memcpy(h, header, sizeof header);
    h[8] = STR("colour");
    ck_assert_int_eq(row_map_init(&m, rec, h, 9, err, sizeof err), -1);
    ck_assert_str_eq(err, "column I: unknown header column 'colour' (record type sample_intake)");

    h[8] = STR("sample_id");
    ck_assert_int_eq(row_map_init(&m, rec, h, 9, err, sizeof err), -1);
    ck_assert_str_eq(err, "column I: duplicate header column 'sample_id' (also in column B)");

    h[8] = EMPTY;
    h[2] = NUM(2024);
    ck_assert_int_eq(row_map_init(&m, rec, h, 9, err, sizeof err), -1);
    ck_assert_str_eq(err, "column C: header cell is not text (expected a column name)");

    h[2] = STR("Patient_ID"); /* names are case-sensitive */
    ck_assert_int_eq(row_map_init(&m, rec, h, 9, err, sizeof err), -1);
    ck_assert_str_eq(err, "column C: unknown header column 'Patient_ID' (record type sample_intake)");
}
END_TEST

START_TEST(int_column) {
    row[0] = NUM(9007199254740991.0); /* 2^53 - 1: the largest exact one */
    convert_ok();
    ck_assert_int_eq(vals[0].i, 9007199254740991LL);
    /* 2^53 is what 9007199254740993 reads as: refused, not rounded. */
    row[0] = NUM(9007199254740992.0);
    convert_err("column A (event_id): expected an integer, got number 9007199254740992 (beyond "
                "+-9007199254740991, where an xlsx number is no longer exact)");
    row[0] = NUM(3.5);
    convert_err("column A (event_id): expected an integer, got number 3.5 (not a whole number)");
    row[0] = NUM(1e19);
    convert_err("column A (event_id): expected an integer, got number 1e+19 (beyond "
                "+-9007199254740991, where an xlsx number is no longer exact)");
    row[0] = NUM(1e300);
    convert_err("column A (event_id): expected an integer, got number 1e+300 (beyond "
                "+-9007199254740991, where an xlsx number is no longer exact)");
    row[0] = STR("17");
    convert_err("column A (event_id): expected an integer, got text '17'");
    row[0] = BOOLC(1);
    convert_err("column A (event_id): expected an integer, got boolean TRUE");
    row[0] = DATE(45306);
    convert_err("column A (event_id): expected an integer, got date 2024-01-15T00:00:00");
    row[0] = ERRC("#N/A");
    convert_err("column A (event_id): expected an integer, got error cell '#N/A'");
    row[0] = NUM(0);
    convert_err("column A (event_id): must be a positive integer, got 0");
    row[0] = NUM(-2);
    convert_err("column A (event_id): must be a positive integer, got -2");
    row[0] = EMPTY;
    convert_err("column A (event_id): required integer is missing");
}
END_TEST

START_TEST(real_column) {
    row[5] = NUM(-0.125);
    convert_ok();
    ck_assert_double_eq(vals[5].d, -0.125);
    row[5] = EMPTY; /* optional */
    convert_ok();
    ck_assert(vals[5].is_null);
    row[5] = STR(""); /* an empty string is an empty cell */
    convert_ok();
    ck_assert(vals[5].is_null);
    row[5] = STR("lots");
    convert_err("column F (volume_ml): expected a number, got text 'lots'");
    row[5] = ERRC("#DIV/0!");
    convert_err("column F (volume_ml): expected a number, got error cell '#DIV/0!'");
    row[5] = BOOLC(0);
    convert_err("column F (volume_ml): expected a number, got boolean FALSE");
    row[5] = DATE(45306.25);
    convert_err("column F (volume_ml): expected a number, got date 2024-01-15T06:00:00");
}
END_TEST

START_TEST(text_column) {
    row[1] = NUM(1);
    convert_ok();
    ck_assert_str_eq(vals[1].s, "1");
    ck_assert_uint_eq(vals[1].len, 1);
    row[1] = NUM(0.1);
    convert_ok();
    ck_assert_str_eq(vals[1].s, "0.1");
    row[1] = NUM(12345678901234567.0);
    convert_ok();
    ck_assert_str_eq(vals[1].s, "1.23456789012346e+16");
    row[1] = STR("caf\xc3\xa9");
    convert_ok();
    ck_assert_uint_eq(vals[1].len, 5);
    row[1] = BOOLC(1);
    convert_err("column B (sample_id): expected text, got boolean TRUE");
    row[1] = DATE(45306);
    convert_err("column B (sample_id): expected text, got date 2024-01-15T00:00:00");
    row[1] = EMPTY;
    convert_err("column B (sample_id): required text is missing");
    row[1] = STR("");
    convert_err("column B (sample_id): required text is missing");
    row[1] = STR("0123456789012345678901234567890123456789012345678901234567890123456789");
    convert_err("column B (sample_id): text of 70 bytes exceeds the limit of 64");
    row[1] = STR("bad \xff byte");
    convert_err("column B (sample_id): text is not valid UTF-8");
    row[7] = EMPTY; /* optional */
    row[1] = STR("S1");
    convert_ok();
    ck_assert(vals[7].is_null);
}
END_TEST

START_TEST(datetime_column) {
    row[4] = DATE(45306.5 + 0.25 / 86400); /* 250 ms */
    convert_ok();
    ck_assert_str_eq(vals[4].s, "2024-01-15T12:00:00.250");
    row[4] = STR("2024-03-01T10:00:00");
    convert_ok();
    ck_assert_str_eq(vals[4].s, "2024-03-01T10:00:00");
    row[4] = STR("2024-03-01 10:00:00.5");
    convert_ok();
    row[4] = STR("yesterday");
    convert_err("column E (collected_at): expected a date, got text 'yesterday' (not ISO 8601)");
    row[4] = STR("2023-02-29T10:00:00");
    convert_err("column E (collected_at): expected a date, got text '2023-02-29T10:00:00' (not ISO 8601)");
    row[4] = NUM(45000);
    convert_err("column E (collected_at): expected a date, got number 45000");
    row[4] = DATE(-5);
    convert_err("column E (collected_at): expected a date, got date serial -5 (out of range)");
    row[4] = BOOLC(1);
    convert_err("column E (collected_at): expected a date, got boolean TRUE");
    row[4] = EMPTY;
    convert_err("column E (collected_at): required datetime is missing");
}
END_TEST

START_TEST(bool_column) {
    const struct {
        xlsx_cell c;
        int want;
    } ok[] = {{BOOLC(1), 1}, {BOOLC(0), 0}, {NUM(1), 1}, {NUM(0), 0},
              {STR("true"), 1}, {STR("FALSE"), 0}, {STR("True"), 1}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        row[6] = ok[i].c;
        convert_ok();
        ck_assert_int_eq(vals[6].i, ok[i].want);
    }
    row[6] = NUM(2);
    convert_err("column G (consent_research): expected a boolean, got number 2");
    row[6] = STR("maybe");
    convert_err("column G (consent_research): expected a boolean, got text 'maybe'");
    row[6] = STR("yes");
    convert_err("column G (consent_research): expected a boolean, got text 'yes'");
    row[6] = EMPTY;
    convert_err("column G (consent_research): required boolean is missing");
}
END_TEST

START_TEST(empty_rows_and_stray_cells) {
    xlsx_cell blank[8] = {EMPTY, EMPTY, STR(""), EMPTY, EMPTY, EMPTY, EMPTY, EMPTY};
    ck_assert_int_eq(row_is_empty(blank, 8), 1);
    ck_assert_int_eq(row_convert(&map, blank, 8, vals, err, sizeof err), -1);
    ck_assert_str_eq(err, "the row is empty");
    ck_assert_int_eq(row_convert(&map, blank, 0, vals, err, sizeof err), -1);
    ck_assert_str_eq(err, "the row is empty");
    /* A short row: the missing cells are empty. */
    ck_assert_int_eq(row_convert(&map, row, 1, vals, err, sizeof err), -1);
    ck_assert_str_eq(err, "column B (sample_id): required text is missing");
    /* A value right of the header. */
    xlsx_cell wide[10];
    memcpy(wide, row, sizeof row);
    wide[8] = EMPTY;
    wide[9] = NUM(7);
    ck_assert_int_eq(row_convert(&map, wide, 10, vals, err, sizeof err), -1);
    ck_assert_str_eq(err, "column J: number 7 in a column without a header");
    wide[9] = EMPTY;
    ck_assert_int_eq(row_convert(&map, wide, 10, vals, err, sizeof err), 0);
}
END_TEST

START_TEST(quoting) {
    char q[64];
    row_quote("plain", 5, 40, q, sizeof q);
    ck_assert_str_eq(q, "plain");
    row_quote("a\nb\x01", 4, 40, q, sizeof q);
    ck_assert_str_eq(q, "a\\x0Ab\\x01");
    row_quote("caf\xc3\xa9 \xff", 7, 40, q, sizeof q);
    ck_assert_str_eq(q, "caf\xc3\xa9 \\xFF");
    row_quote("0123456789", 10, 4, q, sizeof q);
    ck_assert_str_eq(q, "0123...");
    row_quote("0123456789", 10, 40, q, 8); /* the output buffer bounds it too */
    ck_assert_uint_lt(strlen(q), 8);
    row[3] = STR("bad\xc3");
    convert_err("column D (specimen_type): text is not valid UTF-8");
    row[3] = STR("blood");
    row[4] = STR("line\nbreak");
    convert_err("column E (collected_at): expected a date, got text 'line\\x0Abreak' (not ISO 8601)");
}
END_TEST

static Suite *producer_row_suite(void) {
    Suite *s = suite_create("producer_row");
    TCase *tc = tcase_create("row");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, valid_row_all_types);
    tcase_add_test(tc, header_any_order_and_spaces);
    tcase_add_test(tc, header_errors);
    tcase_add_test(tc, int_column);
    tcase_add_test(tc, real_column);
    tcase_add_test(tc, text_column);
    tcase_add_test(tc, datetime_column);
    tcase_add_test(tc, bool_column);
    tcase_add_test(tc, empty_rows_and_stray_cells);
    tcase_add_test(tc, quoting);
    suite_add_tcase(s, tc);
    return s;
}

const unit_def unit_tests = {producer_row_suite, NULL, NULL};
