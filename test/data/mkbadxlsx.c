/* mkbadxlsx.c - generates the corpus of bad (and two good) xlsx files in
 * test/data/bad_xlsx/ that test_bad_xlsx.sh feeds to the producer.
 *
 * Every file is a sample_intake sheet (run with --record sample_intake) named
 * for what is wrong with it. libxlsxwriter writes the workbooks; libzip then
 * damages some of them in ways a writer library refuses to (invalid UTF-8,
 * oversized cells, error cells, a missing part); a few are cut or are not zips
 * at all. The expected outcomes are kept by hand in bad_xlsx/EXPECTED.
 *
 * Usage: mkbadxlsx OUTDIR (--help, --version: cli.h). */
#include "common/cli.h"
#include "common/exitcodes.h"

#include <xlsxwriter.h>
#include <zip.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *const mk_cols[] = {"event_id",     "sample_id", "patient_id",
                                      "specimen_type", "collected_at", "volume_ml",
                                      "consent_research", "notes"};
#define MK_NCOLS 8
#define MK_MTIME 1700000000 /* fixed, so regenerating gives identical files */
#define MK_ROWS 10 /* data rows in most files: sheet rows 2..11, event ids 1..10 */

static const char *mk_dir;
static lxw_format *mk_datefmt, *mk_borderfmt;

static void mk_die(const char *what, const char *detail) {
    fprintf(stderr, "mkbadxlsx: %s: %s\n", what, detail);
    exit(1);
}

static char *mk_path(const char *name) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", mk_dir, name);
    return buf;
}

/* Opens a workbook with fixed document properties so the output does not
 * change from one generation to the next more than libxlsxwriter forces. */
static lxw_workbook *mk_book(const char *name, int inline_strings) {
    lxw_workbook_options opt = {.constant_memory = (uint8_t)(inline_strings ? LXW_TRUE : LXW_FALSE)};
    lxw_workbook *wb = workbook_new_opt(mk_path(name), &opt);
    if (!wb) mk_die(name, "cannot create workbook");
    lxw_doc_properties props = {.title = "Genetika+ bad xlsx corpus", .created = 1700000000};
    workbook_set_properties(wb, &props);
    mk_datefmt = workbook_add_format(wb);
    format_set_num_format(mk_datefmt, "yyyy-mm-dd hh:mm:ss");
    mk_borderfmt = workbook_add_format(wb);
    format_set_border(mk_borderfmt, LXW_BORDER_THIN);
    return wb;
}

static void mk_close(lxw_workbook *wb, const char *name) {
    lxw_error e = workbook_close(wb);
    if (e) mk_die(name, lxw_strerror(e));
}

/* Writes the header row (sheet row 1) with the given names. */
static void mk_header(lxw_worksheet *ws, const char *const *names, int n) {
    for (int c = 0; c < n; c++) worksheet_write_string(ws, 0, (lxw_col_t)c, names[c], NULL);
}

/* Writes one valid column value of event id for 0-based row r. */
static void mk_good_cell(lxw_worksheet *ws, lxw_row_t r, int col, int id) {
    char buf[64];
    lxw_datetime dt = {2024, 1 + id % 12, 1 + id % 28, 8 + id % 10, id % 60, 0.0};
    switch (col) {
    case 0: worksheet_write_number(ws, r, 0, id, NULL); break;
    case 1: snprintf(buf, sizeof buf, "S%05d", id); worksheet_write_string(ws, r, 1, buf, NULL); break;
    case 2: snprintf(buf, sizeof buf, "P%04d", id % 37); worksheet_write_string(ws, r, 2, buf, NULL); break;
    case 3: worksheet_write_string(ws, r, 3, id % 2 ? "blood" : "saliva", NULL); break;
    case 4: worksheet_write_datetime(ws, r, 4, &dt, mk_datefmt); break;
    case 5: worksheet_write_number(ws, r, 5, 1.5 + id / 4.0, NULL); break;
    case 6: worksheet_write_boolean(ws, r, 6, id % 3 != 0, NULL); break;
    case 7: snprintf(buf, sizeof buf, "note %d", id); worksheet_write_string(ws, r, 7, buf, NULL); break;
    }
}

/* Writes a complete valid data row at 0-based row r, skipping column skip. */
static void mk_good_row(lxw_worksheet *ws, lxw_row_t r, int id, int skip) {
    for (int c = 0; c < MK_NCOLS; c++)
        if (c != skip) mk_good_cell(ws, r, c, id);
}

/* A bad cell writer: puts the bad value of a case at (r, col). */
typedef void (*mk_bad_fn)(lxw_worksheet *ws, lxw_row_t r, int id);

/* A sample_intake file of MK_ROWS data rows where sheet row bad_row (1-based)
 * has column bad_col written by bad() instead of the valid value. bad_col -1
 * means bad() writes the whole row. */
static void mk_one_bad(const char *name, int bad_row, int bad_col, mk_bad_fn bad, int inline_strings) {
    lxw_workbook *wb = mk_book(name, inline_strings);
    lxw_worksheet *ws = workbook_add_worksheet(wb, NULL);
    mk_header(ws, mk_cols, MK_NCOLS);
    for (int id = 1; id <= MK_ROWS; id++) {
        lxw_row_t r = (lxw_row_t)id; /* sheet row id + 1 */
        if ((int)r + 1 == bad_row) {
            if (bad_col >= 0) mk_good_row(ws, r, id, bad_col);
            bad(ws, r, id);
        } else {
            mk_good_row(ws, r, id, -1);
        }
    }
    mk_close(wb, name);
}

/* Reads a zip entry into a malloc'd NUL-terminated buffer. */
static char *mk_zip_read(zip_t *z, const char *part, zip_uint64_t *len) {
    zip_stat_t st;
    if (zip_stat(z, part, 0, &st) != 0) mk_die(part, zip_strerror(z));
    char *buf = malloc(st.size + 1);
    zip_file_t *f = zip_fopen(z, part, 0);
    if (!buf || !f || zip_fread(f, buf, st.size) != (zip_int64_t)st.size) mk_die(part, zip_strerror(z));
    zip_fclose(f);
    buf[st.size] = '\0';
    *len = st.size;
    return buf;
}

/* Replaces the first occurrence of from with to[0..tolen) in a part of the
 * zip file name. */
static void mk_patch(const char *name, const char *part, const char *from, const char *to, size_t tolen) {
    int ze = 0;
    zip_t *z = zip_open(mk_path(name), 0, &ze);
    if (!z) mk_die(name, "cannot open as zip");
    zip_uint64_t len;
    char *xml = mk_zip_read(z, part, &len);
    char *at = strstr(xml, from);
    if (!at) mk_die(name, from);
    size_t pre = (size_t)(at - xml), fl = strlen(from), nlen = len - fl + tolen;
    char *out = malloc(nlen);
    if (!out) mk_die(name, "out of memory");
    memcpy(out, xml, pre);
    memcpy(out + pre, to, tolen);
    memcpy(out + pre + tolen, at + fl, len - pre - fl);
    free(xml);
    zip_source_t *src = zip_source_buffer(z, out, nlen, 1);
    zip_int64_t idx = zip_name_locate(z, part, 0);
    if (!src || idx < 0 || zip_file_replace(z, (zip_uint64_t)idx, src, 0) != 0 ||
        zip_file_set_mtime(z, (zip_uint64_t)idx, MK_MTIME, 0) != 0)
        mk_die(name, zip_strerror(z));
    if (zip_close(z) != 0) mk_die(name, zip_strerror(z));
}

/* Removes a part from the zip file name. */
static void mk_delete_part(const char *name, const char *part) {
    int ze = 0;
    zip_t *z = zip_open(mk_path(name), 0, &ze);
    zip_int64_t idx = z ? zip_name_locate(z, part, 0) : -1;
    if (idx < 0 || zip_delete(z, (zip_uint64_t)idx) != 0 || zip_close(z) != 0) mk_die(name, part);
}

/* Cuts the file name to keep_pct percent of its size. */
static void mk_truncate(const char *name, int keep_pct) {
    FILE *f = fopen(mk_path(name), "rb");
    if (!f) mk_die(name, "cannot open");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) mk_die(name, "cannot read");
    fclose(f);
    f = fopen(mk_path(name), "wb");
    if (!f || fwrite(buf, 1, (size_t)size * (size_t)keep_pct / 100, f) == 0 || fclose(f) != 0)
        mk_die(name, "cannot write");
    free(buf);
}

/* ---- bad cell writers ---------------------------------------------------- */

static void bad_date_text(lxw_worksheet *ws, lxw_row_t r, int id) {
    (void)id;
    worksheet_write_string(ws, r, 4, "yesterday", NULL);
}
static void bad_int_text(lxw_worksheet *ws, lxw_row_t r, int id) {
    (void)id;
    worksheet_write_string(ws, r, 0, "abc", NULL);
}
static void bad_int_fraction(lxw_worksheet *ws, lxw_row_t r, int id) {
    (void)id;
    worksheet_write_number(ws, r, 0, 3.5, NULL);
}
static void bad_int_negative(lxw_worksheet *ws, lxw_row_t r, int id) {
    (void)id;
    worksheet_write_number(ws, r, 0, -2, NULL);
}
static void bad_bool_text(lxw_worksheet *ws, lxw_row_t r, int id) {
    (void)id;
    worksheet_write_string(ws, r, 6, "maybe", NULL);
}
static void bad_real_text(lxw_worksheet *ws, lxw_row_t r, int id) {
    (void)id;
    worksheet_write_string(ws, r, 5, "lots", NULL);
}
static void bad_date_number(lxw_worksheet *ws, lxw_row_t r, int id) {
    (void)id;
    worksheet_write_number(ws, r, 4, 45000, NULL);
}
static void bad_required_missing(lxw_worksheet *ws, lxw_row_t r, int id) {
    (void)ws, (void)r, (void)id; /* column B is simply not written */
}
static void bad_error_marker(lxw_worksheet *ws, lxw_row_t r, int id) {
    (void)id;
    worksheet_write_string(ws, r, 5, "ERRMARK", NULL);
}
static void bad_no_row(lxw_worksheet *ws, lxw_row_t r, int id) {
    (void)ws, (void)r, (void)id; /* the row has no cells: libxlsxwriter leaves it out */
}
static void bad_blank_cells(lxw_worksheet *ws, lxw_row_t r, int id) {
    (void)id;
    for (int c = 0; c < MK_NCOLS; c++) worksheet_write_blank(ws, r, (lxw_col_t)c, mk_borderfmt);
}
static void bad_stray_value(lxw_worksheet *ws, lxw_row_t r, int id) {
    mk_good_row(ws, r, id, -1);
    worksheet_write_string(ws, r, 9, "stray", NULL);
}
static void bad_dup_id(lxw_worksheet *ws, lxw_row_t r, int id) {
    (void)id;
    worksheet_write_number(ws, r, 0, 3, NULL);
}
static void bad_long_text(lxw_worksheet *ws, lxw_row_t r, int id) {
    (void)id;
    char *s = malloc(5001);
    memset(s, 'n', 5000);
    s[5000] = '\0';
    worksheet_write_string(ws, r, 7, s, NULL);
    free(s);
}
static void bad_marker_notes(lxw_worksheet *ws, lxw_row_t r, int id) {
    (void)id;
    worksheet_write_string(ws, r, 7, "BADMARK", NULL);
}
static void bad_marker_id(lxw_worksheet *ws, lxw_row_t r, int id) {
    (void)id;
    worksheet_write_number(ws, r, 0, 777777, NULL); /* patched into a bigger number */
}

/* "<x><x>...</x></x>": depth nested elements, malloc'd (the caller frees). */
static char *mk_nested(size_t depth, const char *before, const char *after, size_t *len) {
    size_t bl = strlen(before), al = strlen(after);
    *len = bl + depth * 7 + al;
    char *s = malloc(*len + 1), *p = s;
    if (!s) mk_die("nesting", "out of memory");
    memcpy(p, before, bl), p += bl;
    for (size_t i = 0; i < depth; i++) memcpy(p, "<x>", 3), p += 3;
    for (size_t i = 0; i < depth; i++) memcpy(p, "</x>", 4), p += 4;
    memcpy(p, after, al);
    return s;
}

/* ---- whole files ------------------------------------------------------------ */

static void mk_good_file(const char *name, int rows, const char *sheet) {
    lxw_workbook *wb = mk_book(name, 0);
    lxw_worksheet *ws = workbook_add_worksheet(wb, sheet);
    mk_header(ws, mk_cols, MK_NCOLS);
    for (int id = 1; id <= rows; id++) mk_good_row(ws, (lxw_row_t)id, id, -1);
    mk_close(wb, name);
}

/* Values in every accepted alternative form: numbers in text columns, 0/1 and
 * "true"/"FALSE" booleans, ISO text dates, empty optional columns. */
static void mk_valid_variants(void) {
    const char *name = "valid_variants.xlsx";
    lxw_workbook *wb = mk_book(name, 0);
    lxw_worksheet *ws = workbook_add_worksheet(wb, NULL);
    mk_header(ws, mk_cols, MK_NCOLS);
    for (int id = 1; id <= 5; id++) mk_good_row(ws, (lxw_row_t)id, id, id == 4 ? 5 : id == 5 ? 7 : -1);
    worksheet_write_number(ws, 1, 1, 12345, NULL);
    worksheet_write_number(ws, 2, 6, 1, NULL);
    worksheet_write_number(ws, 3, 6, 0, NULL);
    worksheet_write_string(ws, 4, 6, "FALSE", NULL);
    worksheet_write_string(ws, 5, 6, "true", NULL);
    worksheet_write_string(ws, 2, 4, "2024-03-01T10:00:00", NULL);
    worksheet_write_string(ws, 3, 4, "2024-03-01 10:00:00.250", NULL);
    worksheet_write_string(ws, 5, 7, "", NULL); /* volume_ml of id 4 and notes of id 5 stay empty */
    mk_close(wb, name);
}

/* A header that differs from the schema's: names[] replace the usual ones. */
static void mk_header_case(const char *name, const char *const *names, int n, int numeric_at) {
    lxw_workbook *wb = mk_book(name, 0);
    lxw_worksheet *ws = workbook_add_worksheet(wb, NULL);
    mk_header(ws, names, n);
    if (numeric_at >= 0) worksheet_write_number(ws, 0, (lxw_col_t)numeric_at, 2024, NULL);
    for (int id = 1; id <= MK_ROWS; id++) mk_good_row(ws, (lxw_row_t)id, id, -1);
    mk_close(wb, name);
}

/* Twenty rows with five different bad rows, for --skip-invalid. */
static void mk_mixed(void) {
    const char *name = "mixed_skip.xlsx";
    lxw_workbook *wb = mk_book(name, 0);
    lxw_worksheet *ws = workbook_add_worksheet(wb, NULL);
    mk_header(ws, mk_cols, MK_NCOLS);
    for (int id = 1; id <= 20; id++) {
        lxw_row_t r = (lxw_row_t)id;
        switch (r + 1) {
        case 5: mk_good_row(ws, r, id, 4); bad_date_text(ws, r, id); break;
        case 9: mk_good_row(ws, r, id, 0); bad_dup_id(ws, r, id); break;
        case 12: break; /* empty row */
        case 15: mk_good_row(ws, r, id, 6); bad_bool_text(ws, r, id); break;
        case 18: mk_good_row(ws, r, id, 1); break; /* required sample_id missing */
        default: mk_good_row(ws, r, id, -1);
        }
    }
    mk_close(wb, name);
}

/* Rows 6-8 missing between data rows: one error for the range. */
static void mk_gap_range(void) {
    const char *name = "empty_rows_range.xlsx";
    lxw_workbook *wb = mk_book(name, 0);
    lxw_worksheet *ws = workbook_add_worksheet(wb, NULL);
    mk_header(ws, mk_cols, MK_NCOLS);
    for (int id = 1; id <= MK_ROWS; id++) mk_good_row(ws, (lxw_row_t)(id <= 4 ? id : id + 3), id, -1);
    mk_close(wb, name);
}

/* Formatted but empty rows below the data (common in hand-kept sheets): not
 * an error, the data simply ends there. */
static void mk_trailing_blank_rows(void) {
    const char *name = "trailing_blank_rows.xlsx";
    lxw_workbook *wb = mk_book(name, 0);
    lxw_worksheet *ws = workbook_add_worksheet(wb, NULL);
    mk_header(ws, mk_cols, MK_NCOLS);
    for (int id = 1; id <= MK_ROWS; id++) mk_good_row(ws, (lxw_row_t)id, id, -1);
    for (lxw_row_t r = MK_ROWS + 1; r <= MK_ROWS + 4; r++) bad_blank_cells(ws, r, 0);
    mk_close(wb, name);
}

static void mk_empty_sheet(void) {
    lxw_workbook *wb = mk_book("empty_sheet.xlsx", 0);
    workbook_add_worksheet(wb, NULL);
    mk_close(wb, "empty_sheet.xlsx");
}

static void mk_not_a_zip(void) {
    FILE *f = fopen(mk_path("not_a_zip.xlsx"), "w");
    if (!f || fputs("event_id,sample_id\n1,S00001\n", f) < 0 || fclose(f) != 0)
        mk_die("not_a_zip.xlsx", "cannot write");
}

int main(int argc, char **argv) {
    static const cli_option opts[] = {CLI_OPT_END};
    static const cli_program prog = {
        "mkbadxlsx", "OUTDIR",
        "Writes the bad (and good) xlsx corpus that test_bad_xlsx.sh feeds to the producer\n"
        "into OUTDIR (created if missing); the expected outcomes are in test/data/bad_xlsx/EXPECTED.",
        "Exit status: 0 written, 1 a file could not be written, 64 usage.\n"};
    int first = 0, rc = cli_parse(&prog, opts, argc, argv, &first);
    if (rc) return rc > 0 ? GK_EXIT_OK : GK_EXIT_USAGE;
    if (argc - first != 1) {
        fprintf(stderr, "mkbadxlsx: expected one argument, the output directory (try --help)\n");
        return GK_EXIT_USAGE;
    }
    mk_dir = argv[first];
    if (mkdir(mk_dir, 0755) != 0 && errno != EEXIST) mk_die(mk_dir, strerror(errno));
    static const char *const missing_col[] = {"event_id", "sample_id", "patient_id", "specimen_type",
                                              "volume_ml", "consent_research", "notes"};
    static const char *const unknown_col[] = {"event_id", "sample_id", "patient_id", "specimen_type",
                                              "collected_at", "volume_ml", "consent_research",
                                              "notes", "colour"};
    static const char *const dup_col[] = {"event_id", "sample_id", "patient_id", "specimen_type",
                                          "collected_at", "volume_ml", "consent_research",
                                          "notes", "sample_id"};

    mk_good_file("good_reference.xlsx", MK_ROWS, NULL);
    mk_valid_variants();
    mk_not_a_zip();
    mk_good_file("truncated.xlsx", 400, NULL);
    mk_truncate("truncated.xlsx", 60);
    mk_good_file("no_worksheet.xlsx", MK_ROWS, NULL);
    mk_delete_part("no_worksheet.xlsx", "xl/worksheets/sheet1.xml");
    mk_good_file("wrong_sheet_name.xlsx", MK_ROWS, "Intake");
    mk_empty_sheet();
    mk_header_case("missing_header_column.xlsx", missing_col, 7, -1);
    mk_header_case("unknown_header_column.xlsx", unknown_col, 9, -1);
    mk_header_case("duplicate_header_column.xlsx", dup_col, 9, -1);
    mk_header_case("header_not_text.xlsx", mk_cols, MK_NCOLS, 2);
    mk_one_bad("wrong_type_date.xlsx", 7, 4, bad_date_text, 0);
    mk_one_bad("wrong_type_int.xlsx", 5, 0, bad_int_text, 0);
    mk_one_bad("fractional_event_id.xlsx", 4, 0, bad_int_fraction, 0);
    mk_one_bad("negative_event_id.xlsx", 3, 0, bad_int_negative, 0);
    mk_one_bad("wrong_type_bool.xlsx", 6, 6, bad_bool_text, 0);
    mk_one_bad("wrong_type_real.xlsx", 8, 5, bad_real_text, 0);
    mk_one_bad("date_as_plain_number.xlsx", 7, 4, bad_date_number, 0);
    mk_one_bad("missing_required.xlsx", 9, 1, bad_required_missing, 0);
    mk_one_bad("empty_row_gap.xlsx", 6, -1, bad_no_row, 0);
    mk_one_bad("empty_row_blank_cells.xlsx", 6, -1, bad_blank_cells, 0);
    mk_one_bad("value_without_header.xlsx", 4, -1, bad_stray_value, 0);
    mk_one_bad("duplicate_event_id.xlsx", 8, 0, bad_dup_id, 0);
    mk_one_bad("long_text.xlsx", 5, 7, bad_long_text, 0);
    mk_mixed();
    mk_gap_range();
    mk_trailing_blank_rows();

    /* Damage a writer library will not produce, patched into the XML. */
    mk_one_bad("error_cell.xlsx", 5, 5, bad_error_marker, 1);
    mk_patch("error_cell.xlsx", "xl/worksheets/sheet1.xml", "t=\"inlineStr\"><is><t>ERRMARK</t></is>",
             "t=\"e\"><f>1/0</f><v>#DIV/0!</v>", strlen("t=\"e\"><f>1/0</f><v>#DIV/0!</v>"));
    mk_one_bad("invalid_utf8.xlsx", 7, 7, bad_marker_notes, 1);
    mk_patch("invalid_utf8.xlsx", "xl/worksheets/sheet1.xml", "BADMARK", "bad \xff\xfe bytes", 13);
    mk_one_bad("invalid_utf8_shared_string.xlsx", 7, 7, bad_marker_notes, 0);
    mk_patch("invalid_utf8_shared_string.xlsx", "xl/sharedStrings.xml", "BADMARK", "bad \xc3\x28 text", 12);
    /* An event id no xlsx number holds exactly: 2^53 + 1 reads as 2^53. */
    mk_one_bad("event_id_beyond_2p53.xlsx", 4, 0, bad_marker_id, 0);
    mk_patch("event_id_beyond_2p53.xlsx", "xl/worksheets/sheet1.xml", "<v>777777</v>",
             "<v>9007199254740993</v>", strlen("<v>9007199254740993</v>"));
    /* 100,000 nested elements: before <sheetData>, inside a cell, and in the
     * shared strings (each would grow libxml2's stacks without a bound). */
    {
        size_t n;
        char *deep = mk_nested(100000, "", "<sheetData>", &n);
        mk_good_file("deep_nesting_sheet.xlsx", MK_ROWS, NULL);
        mk_patch("deep_nesting_sheet.xlsx", "xl/worksheets/sheet1.xml", "<sheetData>", deep, n);
        free(deep);
        deep = mk_nested(100000, "x</t>", "<t>", &n);
        mk_one_bad("deep_nesting_cell.xlsx", 6, 7, bad_marker_notes, 1);
        mk_patch("deep_nesting_cell.xlsx", "xl/worksheets/sheet1.xml", "BADMARK", deep, n);
        mk_one_bad("deep_nesting_sst.xlsx", 6, 7, bad_marker_notes, 0);
        mk_patch("deep_nesting_sst.xlsx", "xl/sharedStrings.xml", "BADMARK", deep, n);
        free(deep);
    }
    mk_one_bad("huge_cell.xlsx", 6, 7, bad_marker_notes, 1);
    {
        size_t n = 40000;
        char *huge = malloc(n);
        memset(huge, 'h', n);
        mk_patch("huge_cell.xlsx", "xl/worksheets/sheet1.xml", "BADMARK", huge, n);
        free(huge);
    }
    return 0;
}
