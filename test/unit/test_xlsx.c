/* test_xlsx.c - unit tests of the streaming xlsx reader (xlsx/).
 *
 * Workbooks are written at test time into a temporary directory: real ones
 * with libxlsxwriter (normal mode -> shared strings, constant_memory mode ->
 * inline strings) and hand-made or broken ones with libzip. A streaming check
 * reads a 20,000 and a 200,000 row sheet in fresh processes and bounds the
 * difference of their peak RSS (VmHWM). */
#include "test/unit/runner.h"
#include "test/unit/xlsx_transcript.h"
#include "xlsx/xlsx.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xlsxwriter.h>
#include <zip.h>

static char tmpdir[256];

/* A path inside the test's temporary directory. */
static const char *tpath(const char *name) {
    static char buf[4][512];
    static int n;
    char *p = buf[n++ % 4];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

/* ------------------------------------------------------------- writers */

/* Writes the type-test workbook: sheet "First" then sheet "Data". */
static void write_types_book(const char *path, int constant_memory) {
    lxw_workbook_options opt = {.constant_memory = constant_memory ? LXW_TRUE : LXW_FALSE};
    lxw_workbook *wb = workbook_new_opt(path, &opt);
    ck_assert_ptr_nonnull(wb);
    lxw_worksheet *first = workbook_add_worksheet(wb, "First");
    lxw_worksheet *ws = workbook_add_worksheet(wb, "Data");
    lxw_format *date = workbook_add_format(wb);
    format_set_num_format(date, "yyyy-mm-dd hh:mm:ss");
    lxw_format *dateonly = workbook_add_format(wb);
    format_set_num_format_index(dateonly, 14);
    lxw_format *money = workbook_add_format(wb);
    format_set_num_format(money, "\"day\" #,##0.00");
    lxw_format *bold = workbook_add_format(wb);
    format_set_bold(bold);

    worksheet_write_string(first, 0, 0, "first sheet", NULL);

    /* Row 1: strings, including non-ASCII UTF-8. */
    worksheet_write_string(ws, 0, 0, "id", NULL);
    worksheet_write_string(ws, 0, 1,
                           "Gr\xc3\xb6\xc3\x9f"
                           "e \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac",
                           NULL);
    worksheet_write_string(ws, 0, 2, "a & b <c> \"d\"", NULL);
    /* Row 2: numbers, booleans, dates, a gap at column E. */
    worksheet_write_number(ws, 1, 0, 42, NULL);
    worksheet_write_number(ws, 1, 1, -1.5e-3, money);
    worksheet_write_boolean(ws, 1, 2, 1, NULL);
    worksheet_write_boolean(ws, 1, 3, 0, NULL);
    lxw_datetime dt = {2023, 3, 15, 12, 0, 0};
    worksheet_write_datetime(ws, 1, 5, &dt, date);
    lxw_datetime d2 = {1900, 1, 1, 0, 0, 0};
    worksheet_write_datetime(ws, 1, 6, &d2, dateonly);
    /* Row 3 is left out. Row 4: a formula with a string result, the last column IV. */
    worksheet_write_formula_str(ws, 3, 0, "=\"x\"&\"y\"", NULL, "xy");
    worksheet_write_string(ws, 3, 255, "last", NULL);
    /* Row 5: only a formatted blank cell. */
    worksheet_write_blank(ws, 4, 1, bold);
    /* Row 6: a control character (written as _x0001_). */
    worksheet_write_string(ws, 5, 0, "tab\there\x01", NULL);
    ck_assert_int_eq(workbook_close(wb), LXW_NO_ERROR);
}

/* Writes a single-sheet workbook of rows x 4 columns (streaming test). */
static void write_big_book(const char *path, unsigned rows) {
    lxw_workbook_options opt = {.constant_memory = LXW_TRUE};
    lxw_workbook *wb = workbook_new_opt(path, &opt);
    ck_assert_ptr_nonnull(wb);
    lxw_worksheet *ws = workbook_add_worksheet(wb, NULL);
    lxw_format *date = workbook_add_format(wb);
    format_set_num_format(date, "yyyy-mm-dd hh:mm:ss");
    char text[64];
    for (unsigned r = 0; r < rows; r++) {
        snprintf(text, sizeof text, "sample S-%06u with some text", r);
        worksheet_write_number(ws, r, 0, r + 1, NULL);
        worksheet_write_string(ws, r, 1, text, NULL);
        worksheet_write_number(ws, r, 2, 45000.25 + r / 1000.0, date);
        worksheet_write_boolean(ws, r, 3, (int)(r & 1), NULL);
    }
    ck_assert_int_eq(workbook_close(wb), LXW_NO_ERROR);
}

/* One entry of a hand-made zip. */
typedef struct {
    const char *name;
    const char *data;
    size_t len; /* 0: strlen(data) */
} zentry;

static void write_zip(const char *path, const zentry *e, size_t n) {
    int err = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    ck_assert_ptr_nonnull(z);
    for (size_t i = 0; i < n; i++) {
        size_t len = e[i].len ? e[i].len : strlen(e[i].data);
        zip_source_t *s = zip_source_buffer(z, e[i].data, len, 0);
        ck_assert_ptr_nonnull(s);
        ck_assert_int_ge(zip_file_add(z, e[i].name, s, ZIP_FL_OVERWRITE), 0);
    }
    ck_assert_int_eq(zip_close(z), 0);
}

#define NS_MAIN "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define NS_REL "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
static const char WORKBOOK[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\"><sheets>"
    "<sheet name=\"S\" sheetId=\"1\" r:id=\"rId7\"/></sheets></workbook>";
static const char RELS[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId7\" Type=\"" NS_REL "/worksheet\" Target=\"/xl/worksheets/data.xml\"/>"
    "</Relationships>";

/* Builds a one-sheet workbook around sheetData content, with optional styles
 * and shared strings (NULL: none). Returns the path. */
static const char *make_book(const char *name, const char *sheetdata, const char *styles,
                             const char *sst) {
    static char sheet[200000];
    snprintf(sheet, sizeof sheet,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<worksheet xmlns=\"" NS_MAIN
             "\"><dimension ref=\"A1\"/><sheetData>%s</sheetData></worksheet>",
             sheetdata);
    zentry e[5] = {{"xl/workbook.xml", WORKBOOK, 0},
                   {"xl/_rels/workbook.xml.rels", RELS, 0},
                   {"xl/worksheets/data.xml", sheet, 0}};
    size_t n = 3;
    if (styles) e[n++] = (zentry){"xl/styles.xml", styles, 0};
    if (sst) e[n++] = (zentry){"xl/sharedStrings.xml", sst, 0};
    const char *path = tpath(name);
    write_zip(path, e, n);
    return path;
}

/* Reads every row and returns what ended it (0 or -1); *rows counts rows. */
static int read_all(xlsx_reader *r, unsigned *rows) {
    const xlsx_cell *c;
    size_t n;
    unsigned row;
    int rc;
    *rows = 0;
    while ((rc = xlsx_next_row(r, &c, &n, &row)) == 1)
        (*rows)++;
    return rc;
}

/* Opens a workbook that must open, reads it to the end and returns the error
 * text of a failure (or "" if it read cleanly). */
static const char *read_error(const char *path, unsigned *rows) {
    static char msg[1024];
    char err[512];
    xlsx_reader *r = xlsx_open(path, NULL, err, sizeof err);
    ck_assert_msg(r != NULL, "open failed: %s", err);
    int rc = read_all(r, rows);
    snprintf(msg, sizeof msg, "%s", rc < 0 ? xlsx_error(r) : "");
    ck_assert_int_eq(xlsx_next_row(r, &(const xlsx_cell *){0}, &(size_t){0}, &(unsigned){0}),
                     rc < 0 ? -1 : 0); /* sticky */
    xlsx_close(r);
    return msg;
}

/* Opens a workbook that must open and reads its first row (cells, count, row number);
 * the caller closes the reader returned. */
static xlsx_reader *open_first_row(const char *path, const xlsx_cell **c, size_t *n,
                                   unsigned *row) {
    char err[512];
    xlsx_reader *r = xlsx_open(path, NULL, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_int_eq(xlsx_next_row(r, c, n, row), 1);
    return r;
}

#define ck_assert_has(hay, needle)                                                                 \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "'%s' does not contain '%s'", (hay), (needle))

/* --------------------------------------------------------- cell types */

static void check_types(int constant_memory) {
    const char *path = tpath(constant_memory ? "types_cm.xlsx" : "types.xlsx");
    write_types_book(path, constant_memory);
    char err[512], iso[32];
    xlsx_reader *r = xlsx_open(path, "Data", err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_str_eq(xlsx_sheet_name(r), "Data");
    const xlsx_cell *c;
    size_t n;
    unsigned row;

    ck_assert_int_eq(xlsx_next_row(r, &c, &n, &row), 1);
    ck_assert_uint_eq(row, 1);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(c[0].type, XLSX_STRING);
    ck_assert_str_eq(c[0].str, "id");
    ck_assert_uint_eq(c[0].len, 2);
    ck_assert_int_eq(c[1].type, XLSX_STRING);
    ck_assert_str_eq(c[1].str, "Gr\xc3\xb6\xc3\x9f"
                               "e \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac");
    ck_assert_uint_eq(c[1].len, strlen(c[1].str));
    ck_assert_str_eq(c[2].str, "a & b <c> \"d\"");

    ck_assert_int_eq(xlsx_next_row(r, &c, &n, &row), 1);
    ck_assert_uint_eq(row, 2);
    ck_assert_uint_eq(n, 7);
    ck_assert_int_eq(c[0].type, XLSX_NUMBER);
    ck_assert_double_eq(c[0].number, 42);
    ck_assert_int_eq(c[1].type, XLSX_NUMBER); /* quoted "day" is not a date format */
    ck_assert_double_eq(c[1].number, -1.5e-3);
    ck_assert_int_eq(c[2].type, XLSX_BOOL);
    ck_assert_double_eq(c[2].number, 1);
    ck_assert_int_eq(c[3].type, XLSX_BOOL);
    ck_assert_double_eq(c[3].number, 0);
    ck_assert_int_eq(c[4].type, XLSX_EMPTY);
    ck_assert_uint_eq(c[4].len, 0);
    ck_assert_int_eq(c[5].type, XLSX_DATE);
    ck_assert_int_eq(xlsx_date_to_iso(c[5].number, iso, sizeof iso), 0);
    ck_assert_str_eq(iso, "2023-03-15T12:00:00");
    ck_assert_int_eq(c[6].type, XLSX_DATE); /* built-in format 14 */
    ck_assert_int_eq(xlsx_date_to_iso(c[6].number, iso, sizeof iso), 0);
    ck_assert_str_eq(iso, "1900-01-01T00:00:00");

    ck_assert_int_eq(xlsx_next_row(r, &c, &n, &row), 1); /* row 3 does not exist */
    ck_assert_uint_eq(row, 4);
    ck_assert_uint_eq(n, 256);
    ck_assert_int_eq(c[0].type, XLSX_STRING); /* t="str" formula result */
    ck_assert_str_eq(c[0].str, "xy");
    for (int i = 1; i < 255; i++)
        ck_assert_int_eq(c[i].type, XLSX_EMPTY);
    ck_assert_str_eq(c[255].str, "last");

    ck_assert_int_eq(xlsx_next_row(r, &c, &n, &row), 1);
    ck_assert_uint_eq(row, 5);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(c[0].type, XLSX_EMPTY);
    ck_assert_int_eq(c[1].type, XLSX_EMPTY);

    ck_assert_int_eq(xlsx_next_row(r, &c, &n, &row), 1);
    ck_assert_uint_eq(row, 6);
    ck_assert_str_eq(c[0].str, "tab\there\x01");
    ck_assert_uint_eq(c[0].len, 9);

    ck_assert_int_eq(xlsx_next_row(r, &c, &n, &row), 0);
    ck_assert_int_eq(xlsx_next_row(r, &c, &n, &row), 0);
    xlsx_close(r);

    /* The first sheet is the default. */
    r = xlsx_open(path, NULL, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_str_eq(xlsx_sheet_name(r), "First");
    ck_assert_int_eq(xlsx_next_row(r, &c, &n, &row), 1);
    ck_assert_str_eq(c[0].str, "first sheet");
    ck_assert_int_eq(xlsx_next_row(r, &c, &n, &row), 0);
    xlsx_close(r);
}

START_TEST(test_types_shared_strings) { check_types(0); }
END_TEST

START_TEST(test_types_inline_strings) { check_types(1); }
END_TEST

START_TEST(test_hand_made_parts) {
    /* Rich text runs are joined, phonetic runs skipped; custom date formats
     * are recognised, quoted/bracketed letters are not; cells and rows
     * without r are consecutive; t="d", t="e", _xHHHH_ escapes. */
    const char *styles =
        "<styleSheet xmlns=\"" NS_MAIN "\"><numFmts count=\"3\">"
        "<numFmt numFmtId=\"164\" formatCode=\"dd/mm/yyyy\\ hh:mm\"/>"
        "<numFmt numFmtId=\"165\" formatCode=\"[Red]0.00&quot;d&quot;\"/>"
        "<numFmt numFmtId=\"166\" formatCode=\"[h]:mm\"/></numFmts>"
        "<cellStyleXfs count=\"1\"><xf numFmtId=\"14\"/></cellStyleXfs>"
        "<cellXfs count=\"5\"><xf numFmtId=\"0\"/><xf numFmtId=\"164\"/><xf numFmtId=\"165\"/>"
        "<xf numFmtId=\"166\"/><xf numFmtId=\"47\"/></cellXfs></styleSheet>";
    const char *sst = "<sst xmlns=\"" NS_MAIN "\" count=\"2\" uniqueCount=\"2\">"
                      "<si><t>plain</t></si>"
                      "<si><r><rPr><b/></rPr><t>bo</t></r><r><t xml:space=\"preserve\">ld </t></r>"
                      "<rPh sb=\"0\" eb=\"1\"><t>PHONETIC</t></rPh></si></sst>";
    const char *rows =
        "<row><c t=\"s\"><v>1</v></c><c t=\"s\"><v>0</v></c><c s=\"1\"><v>45000.5</v></c>"
        "<c s=\"2\"><v>7</v></c><c s=\"3\"><v>1.5</v></c><c s=\"4\"><v>0.25</v></c></row>"
        "<row><c t=\"d\"><v>2024-02-29T13:14:15.250</v></c><c t=\"e\"><v>#DIV/0!</v></c>"
        "<c t=\"inlineStr\"><is><t>a_x000D_b_x005F_x</t></is></c>"
        "<c r=\"F2\" t=\"inlineStr\"><is><r><t>x</t></r><r><t>y</t></r></is></c>"
        "<c><f>1+1</f><v>2</v></c></row>";
    const char *path = make_book("hand.xlsx", rows, styles, sst);
    char err[512], iso[32];
    xlsx_reader *r = xlsx_open(path, "s", err, sizeof err); /* names match case-insensitively */
    ck_assert_msg(r != NULL, "%s", err);
    const xlsx_cell *c;
    size_t n;
    unsigned row;
    ck_assert_int_eq(xlsx_next_row(r, &c, &n, &row), 1);
    ck_assert_uint_eq(row, 1);
    ck_assert_uint_eq(n, 6);
    ck_assert_str_eq(c[0].str, "bold ");
    ck_assert_str_eq(c[1].str, "plain");
    ck_assert_int_eq(c[2].type, XLSX_DATE);
    ck_assert_int_eq(c[3].type, XLSX_NUMBER);
    ck_assert_int_eq(c[4].type, XLSX_DATE); /* [h]:mm has mm outside the brackets */
    ck_assert_int_eq(c[5].type, XLSX_DATE); /* built-in 47 */
    ck_assert_int_eq(xlsx_next_row(r, &c, &n, &row), 1);
    ck_assert_uint_eq(row, 2);
    ck_assert_uint_eq(n, 7);
    ck_assert_int_eq(c[0].type, XLSX_DATE);
    ck_assert_int_eq(xlsx_date_to_iso(c[0].number, iso, sizeof iso), 0);
    ck_assert_str_eq(iso, "2024-02-29T13:14:15.250");
    ck_assert_int_eq(c[1].type, XLSX_ERROR);
    ck_assert_str_eq(c[1].str, "#DIV/0!");
    ck_assert_str_eq(c[2].str, "a\rb_x");
    ck_assert_int_eq(c[3].type, XLSX_EMPTY);
    ck_assert_int_eq(c[4].type, XLSX_EMPTY);
    ck_assert_str_eq(c[5].str, "xy");
    ck_assert_int_eq(c[6].type, XLSX_NUMBER);
    ck_assert_double_eq(c[6].number, 2);
    ck_assert_int_eq(xlsx_next_row(r, &c, &n, &row), 0);
    xlsx_close(r);
}
END_TEST

START_TEST(test_date1904_and_no_rels) {
    /* Without workbook relationships the first sheet is sheet1.xml; a
     * 1904-based workbook's dates come out in the 1900 system. */
    const char *wb = "<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\">"
                     "<workbookPr date1904=\"1\"/><sheets><sheet name=\"Only\" sheetId=\"1\" "
                     "r:id=\"rId1\"/></sheets></workbook>";
    const char *styles = "<styleSheet xmlns=\"" NS_MAIN "\"><cellXfs count=\"2\"><xf/>"
                         "<xf numFmtId=\"14\"/></cellXfs></styleSheet>";
    const char *sheet = "<worksheet xmlns=\"" NS_MAIN "\"><sheetData><row r=\"3\">"
                        "<c r=\"B3\" s=\"1\"><v>0</v></c></row></sheetData></worksheet>";
    zentry e[] = {{"xl/workbook.xml", wb, 0},
                  {"xl/styles.xml", styles, 0},
                  {"xl/worksheets/sheet1.xml", sheet, 0}};
    const char *path = tpath("norels.xlsx");
    write_zip(path, e, 3);
    char iso[32];
    const xlsx_cell *c;
    size_t n;
    unsigned row;
    xlsx_reader *r = open_first_row(path, &c, &n, &row);
    ck_assert_uint_eq(row, 3);
    ck_assert_int_eq(c[1].type, XLSX_DATE);
    ck_assert_int_eq(xlsx_date_to_iso(c[1].number, iso, sizeof iso), 0);
    ck_assert_str_eq(iso, "1904-01-01T00:00:00");
    xlsx_close(r);
}
END_TEST

START_TEST(test_duplicate_relationship_id) {
    /* Found by fuzz_xlsx: a relationship with the sheet's Id but no Target,
     * then another with the same Id; the second is used and nothing leaks
     * (the ASan build's leak check). */
    const char *rels =
        "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
        "<Relationship Id=\"rId7\" Type=\"" NS_REL "/styles\"/>"
        "<Relationship Id=\"rId7\" Type=\"" NS_REL "/worksheet\" Target=\"worksheets/d.xml\"/>"
        "<Relationship Id=\"rId7\" Type=\"" NS_REL "/chart\" Target=\"charts/c.xml\"/>"
        "</Relationships>";
    const char *sheet = "<worksheet xmlns=\"" NS_MAIN "\"><sheetData><row r=\"1\">"
                        "<c r=\"A1\"><v>5</v></c></row></sheetData></worksheet>";
    zentry e[] = {{"xl/workbook.xml", WORKBOOK, 0},
                  {"xl/_rels/workbook.xml.rels", rels, 0},
                  {"xl/worksheets/d.xml", sheet, 0}};
    const char *path = tpath("duprel.xlsx");
    write_zip(path, e, 3);
    const xlsx_cell *c;
    size_t n;
    unsigned row;
    xlsx_reader *r = open_first_row(path, &c, &n, &row);
    ck_assert_uint_eq(n, 1);
    ck_assert_double_eq(c[0].number, 5);
    xlsx_close(r);
}
END_TEST

/* ------------------------------------------------------ open failures */

START_TEST(test_open_errors) {
    char err[512];
    const char *missing = tpath("missing.xlsx");
    ck_assert_ptr_null(xlsx_open(missing, NULL, err, sizeof err));
    ck_assert_has(err, missing);
    ck_assert_has(err, "No such file");

    const char *text = tpath("text.xlsx");
    FILE *f = fopen(text, "w");
    fputs("event_id,name\n1,x\n", f);
    fclose(f);
    ck_assert_ptr_null(xlsx_open(text, NULL, err, sizeof err));
    ck_assert_has(err, text);
    ck_assert_has(err, "not an xlsx");

    /* The first half of a real workbook. */
    const char *full = tpath("full.xlsx"), *half = tpath("half.xlsx");
    write_types_book(full, 0);
    struct stat st;
    ck_assert_int_eq(stat(full, &st), 0);
    FILE *in = fopen(full, "rb"), *out = fopen(half, "wb");
    char *buf = malloc((size_t)st.st_size);
    ck_assert_uint_eq(fread(buf, 1, (size_t)st.st_size, in), (size_t)st.st_size);
    fwrite(buf, 1, (size_t)st.st_size / 2, out);
    fclose(in);
    fclose(out);
    free(buf);
    ck_assert_ptr_null(xlsx_open(half, NULL, err, sizeof err));
    ck_assert_has(err, half);

    const char *nowb = tpath("nowb.xlsx");
    zentry e[] = {{"hello.txt", "hello", 0}};
    write_zip(nowb, e, 1);
    ck_assert_ptr_null(xlsx_open(nowb, NULL, err, sizeof err));
    ck_assert_has(err, nowb);
    ck_assert_has(err, "xl/workbook.xml");

    ck_assert_ptr_null(xlsx_open(full, "Nope", err, sizeof err));
    ck_assert_has(err, full);
    ck_assert_has(err, "'Nope'");
    ck_assert_has(err, "First, Data"); /* the sheets that do exist */

    /* The relationship points at a part that is not there. */
    zentry e2[] = {{"xl/workbook.xml", WORKBOOK, 0}, {"xl/_rels/workbook.xml.rels", RELS, 0}};
    const char *nosheet = tpath("nosheet.xlsx");
    write_zip(nosheet, e2, 2);
    ck_assert_ptr_null(xlsx_open(nosheet, NULL, err, sizeof err));
    ck_assert_has(err, "xl/worksheets/data.xml");

    /* A DOCTYPE with entities (billion laughs) is refused outright. */
    const char *bomb_wb =
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
        "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
        "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>"
        "<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\"><sheets>"
        "<sheet name=\"&lol3;\" sheetId=\"1\" r:id=\"rId7\"/></sheets></workbook>";
    zentry e3[] = {{"xl/workbook.xml", bomb_wb, 0}, {"xl/_rels/workbook.xml.rels", RELS, 0}};
    const char *bomb = tpath("bomb.xlsx");
    write_zip(bomb, e3, 2);
    ck_assert_ptr_null(xlsx_open(bomb, NULL, err, sizeof err));
    ck_assert_has(err, "DOCTYPE");
}
END_TEST

/* --------------------------------------------------- errors in a sheet */

/* Reads a hand-made sheet that must fail; checks the rows before the error
 * are delivered and the message names file, sheet and position. */
static void expect_sheet_error(const char *name, const char *rows, unsigned good_rows,
                               const char *where, const char *reason) {
    const char *path = make_book(name, rows, NULL, NULL);
    unsigned n;
    const char *msg = read_error(path, &n);
    ck_assert_msg(msg[0] != '\0', "%s: read without error", name);
    ck_assert_uint_eq(n, good_rows);
    ck_assert_has(msg, path);
    ck_assert_has(msg, "sheet 'S'");
    ck_assert_has(msg, where);
    ck_assert_has(msg, reason);
}

START_TEST(test_sheet_errors) {
    const char *ok = "<row r=\"1\"><c r=\"A1\"><v>1</v></c></row>";
    char rows[4096];

    snprintf(rows, sizeof rows,
             "%s<row r=\"2\"><c r=\"A2\"><v>1</v></c>"
             "<c r=\"B2\" t=\"inlineStr\"><is><t>bad \xff\xfe utf8</t></is></c></row>",
             ok);
    expect_sheet_error("utf8.xlsx", rows, 1, "row 2 column B:", "malformed XML");

    snprintf(rows, sizeof rows, "%s<row r=\"2\"><c r=\"A2\"><v>1</v></c><c r=\"C2\"><v>2</c></row>",
             ok);
    expect_sheet_error("tags.xlsx", rows, 1, "row 2 column C:", "malformed XML");

    snprintf(rows, sizeof rows,
             "%s<row r=\"5\"><c r=\"IV5\"><v>1</v></c><c r=\"IW5\"><v>1</v></c></row>", ok);
    expect_sheet_error("wide.xlsx", rows, 1, "row 5 column IW:", "too many columns");

    snprintf(rows, sizeof rows,
             "%s<row r=\"2\"><c><v>1</v></c><c><v>1</v></c><c><v>12abc</v></c></row>", ok);
    expect_sheet_error("number.xlsx", rows, 1, "row 2 column C:", "bad number '12abc'");

    snprintf(rows, sizeof rows, "%s<row r=\"2\"><c r=\"D2\" t=\"s\"><v>0</v></c></row>", ok);
    expect_sheet_error("sst.xlsx", rows, 1, "row 2 column D:", "shared string");

    snprintf(rows, sizeof rows, "%s<row r=\"2\"><c r=\"A2\" t=\"b\"><v>yes</v></c></row>", ok);
    expect_sheet_error("bool.xlsx", rows, 1, "row 2 column A:", "bad boolean");

    snprintf(rows, sizeof rows, "%s<row r=\"2\"><c r=\"B2\"/><c r=\"A2\"/></row>", ok);
    expect_sheet_error("order.xlsx", rows, 1, "row 2 column A:", "out of order");

    snprintf(rows, sizeof rows, "%s<row r=\"1\"><c r=\"A1\"><v>1</v></c></row>", ok);
    expect_sheet_error("rowdup.xlsx", rows, 1, "row 1:", "out of order");

    snprintf(rows, sizeof rows, "%s<row r=\"2\"><c r=\"A2\" t=\"zz\"><v>1</v></c></row>", ok);
    expect_sheet_error("ctype.xlsx", rows, 1, "row 2 column A:", "unknown cell type");

    snprintf(rows, sizeof rows, "%s<row r=\"2\"><c r=\"A2\"><v>1&bogus;</v></c></row>", ok);
    expect_sheet_error("entity.xlsx", rows, 1, "row 2 column A:", "malformed XML");

    /* Over-long text, inline and shared. */
    size_t big = XLSX_MAX_CELL_BYTES + 10;
    char *longrows = malloc(big + 512);
    int k = snprintf(longrows, big + 512, "%s<row r=\"2\"><c r=\"E2\" t=\"inlineStr\"><is><t>", ok);
    memset(longrows + k, 'x', big);
    strcpy(longrows + k + big, "</t></is></c></row>");
    expect_sheet_error("longcell.xlsx", longrows, 1, "row 2 column E:", "longer than 32767");
    free(longrows);
}
END_TEST

START_TEST(test_truncated_sheet) {
    /* A sheet part cut short: the complete rows come out, then an error. */
    char rows[8192];
    size_t o = 0;
    for (int i = 1; i <= 50; i++)
        o += (size_t)snprintf(rows + o, sizeof rows - o,
                              "<row r=\"%d\"><c r=\"A%d\"><v>%d</v></c></row>", i, i, i);
    char *sheet = malloc(16384);
    int n =
        snprintf(sheet, 16384,
                 "<worksheet xmlns=\"" NS_MAIN "\"><sheetData>%s</sheetData></worksheet>", rows);
    zentry e[] = {{"xl/workbook.xml", WORKBOOK, 0},
                  {"xl/_rels/workbook.xml.rels", RELS, 0},
                  {"xl/worksheets/data.xml", sheet, (size_t)n / 2}};
    const char *path = tpath("cut.xlsx");
    write_zip(path, e, 3);
    free(sheet);
    unsigned got;
    const char *msg = read_error(path, &got);
    ck_assert_msg(msg[0], "truncated sheet read without error");
    ck_assert_uint_gt(got, 10);
    ck_assert_uint_lt(got, 50);
    ck_assert_has(msg, "malformed XML");
    ck_assert_has(msg, "sheet 'S'");
}
END_TEST

START_TEST(test_corrupt_zip_data) {
    /* Garbage in the middle of the compressed sheet: inflate or CRC fails. */
    const char *path = tpath("corrupt.xlsx");
    write_big_book(path, 3000);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    char junk[512];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 131 + 7);
    ck_assert_int_eq(pwrite(fd, junk, sizeof junk, st.st_size / 3), (ssize_t)sizeof junk);
    close(fd);
    char err[512];
    xlsx_reader *r = xlsx_open(path, NULL, err, sizeof err);
    if (!r) return; /* also acceptable: refused at open */
    unsigned got;
    ck_assert_int_eq(read_all(r, &got), -1);
    ck_assert_uint_lt(got, 3000);
    ck_assert_has(xlsx_error(r), path);
    xlsx_close(r);
}
END_TEST

START_TEST(test_hostile_parts) {
    /* A sheet whose declared encoding does not match its bytes, a DOCTYPE in
     * the sheet and an over-long shared string: errors, and libxml2 prints
     * nothing on stderr. */
    const char *sheet_enc =
        "<?xml version=\"1.0\" encoding=\"ISO-2022-JP\"?><worksheet xmlns=\"" NS_MAIN "\">"
        "<sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>\x1b$B\x0c=</t></is></c></row>"
        "</sheetData></worksheet>";
    const char *sheet_dtd =
        "<?xml version=\"1.0\"?><!DOCTYPE w [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
        "<worksheet xmlns=\"" NS_MAIN "\"><sheetData><row r=\"1\"><c r=\"A1\" t=\"str\">"
        "<v>&e;</v></c></row></sheetData></worksheet>";
    size_t big = XLSX_MAX_CELL_BYTES + 1;
    char *sst = malloc(big + 256);
    int k = snprintf(sst, big + 256, "<sst xmlns=\"" NS_MAIN "\"><si><t>ok</t></si><si><t>");
    memset(sst + k, 'y', big);
    strcpy(sst + k + big, "</t></si></sst>");
    const char *sheet_sst =
        "<worksheet xmlns=\"" NS_MAIN "\"><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c>"
        "</row><row r=\"2\"><c r=\"C2\" t=\"s\"><v>1</v></c></row></sheetData></worksheet>";
    static const struct {
        const char *file, *where, *reason;
        unsigned good;
    } cases[] = {{"enc.xlsx", "row 1 column A:", "malformed XML", 0},
                 {"dtd.xlsx", "sheet 'S':", "DOCTYPE is not allowed", 0},
                 {"sstlong.xlsx", "row 2 column C:", "longer than 32767", 1}};
    const char *sheets[] = {sheet_enc, sheet_dtd, sheet_sst};

    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    char errfile[512];
    snprintf(errfile, sizeof errfile, "%s", tpath("stderr.txt"));
    int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, STDERR_FILENO);
    close(fd);
    char msgs[3][1024];
    unsigned got[3];
    for (int i = 0; i < 3; i++) {
        zentry e[] = {{"xl/workbook.xml", WORKBOOK, 0},
                      {"xl/_rels/workbook.xml.rels", RELS, 0},
                      {"xl/worksheets/data.xml", sheets[i], 0},
                      {"xl/sharedStrings.xml", sst, 0}};
        write_zip(tpath(cases[i].file), e, 4);
        snprintf(msgs[i], sizeof msgs[i], "%s", read_error(tpath(cases[i].file), &got[i]));
    }
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    free(sst);
    struct stat st;
    ck_assert_int_eq(stat(errfile, &st), 0);
    ck_assert_msg(st.st_size == 0, "libxml2 wrote %ld bytes on stderr", (long)st.st_size);
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(msgs[i][0], "%s: read without error", cases[i].file);
        ck_assert_has(msgs[i], cases[i].file);
        ck_assert_has(msgs[i], cases[i].where);
        ck_assert_has(msgs[i], cases[i].reason);
        ck_assert_uint_eq(got[i], cases[i].good);
    }
}
END_TEST

/* "<x><x>...</x></x>" nested depth deep around inner, malloc'd. */
static char *nested(int depth, const char *inner) {
    size_t il = strlen(inner);
    char *s = malloc((size_t)depth * 7 + il + 1), *p = s;
    ck_assert_ptr_nonnull(s);
    for (int i = 0; i < depth; i++) memcpy(p, "<x>", 3), p += 3;
    memcpy(p, inner, il), p += il;
    for (int i = 0; i < depth; i++) memcpy(p, "</x>", 4), p += 4;
    *p = '\0';
    return s;
}

/* Opens path expecting failure; returns the error text. */
static const char *open_error(const char *path) {
    static char err[512];
    xlsx_reader *r = xlsx_open(path, NULL, err, sizeof err);
    if (r) {
        unsigned rows;
        int rc = read_all(r, &rows);
        snprintf(err, sizeof err, "%s", rc < 0 ? xlsx_error(r) : "");
        xlsx_close(r);
    }
    return err;
}

/* Element nesting is bounded in every part, whichever parser reads it:
 * exactly XLSX_MAX_DEPTH levels read, one more is an error naming the part.
 * (Unbounded, a 77 KB sheet of ten million nested elements took 362 MB.) */
START_TEST(test_nesting_depth) {
    /* The sheet: worksheet and sheetData are 2 levels, a row 1 more. */
    char *ok = nested(XLSX_MAX_DEPTH - 3, "");
    char *sheet_ok = malloc(strlen(ok) + 64);
    sprintf(sheet_ok, "<row r=\"1\">%s<c r=\"A1\"><v>1</v></c></row>", ok);
    unsigned rows = 0;
    ck_assert_str_eq(read_error(make_book("deep_ok.xlsx", sheet_ok, NULL, NULL), &rows), "");
    ck_assert_uint_eq(rows, 1);
    char *bad = nested(XLSX_MAX_DEPTH - 2, "");
    sprintf(sheet_ok, "<row r=\"1\">%s<c r=\"A1\"><v>1</v></c></row>", bad);
    const char *msg = read_error(make_book("deep_row.xlsx", sheet_ok, NULL, NULL), &rows);
    ck_assert_has(msg, "sheet 'S' row 1: elements nested deeper than 64 (xl/worksheets/data.xml)");
    free(ok);
    free(bad);
    free(sheet_ok);

    /* A million levels in each of the other parts. */
    char *deep = nested(1000000, "");
    size_t dl = strlen(deep);
    char *styles = malloc(dl + 256), *sst = malloc(dl + 256), *wb = malloc(dl + 512);
    sprintf(styles, "<styleSheet xmlns=\"" NS_MAIN "\">%s</styleSheet>", deep);
    sprintf(sst, "<sst xmlns=\"" NS_MAIN "\"><si><t>a</t>%s</si></sst>", deep);
    sprintf(wb, "<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\">%s<sheets>"
                "<sheet name=\"S\" sheetId=\"1\" r:id=\"rId7\"/></sheets></workbook>", deep);
    ck_assert_has(open_error(make_book("deep_styles.xlsx", "", styles, NULL)),
                  "xl/styles.xml: elements nested deeper than 64");
    ck_assert_has(open_error(make_book("deep_sst.xlsx", "", NULL, sst)),
                  "xl/sharedStrings.xml: elements nested deeper than 64");
    zentry e[] = {{"xl/workbook.xml", wb, 0},
                  {"xl/_rels/workbook.xml.rels", RELS, 0},
                  {"xl/worksheets/data.xml", "<worksheet/>", 0}};
    write_zip(tpath("deep_wb.xlsx"), e, 3);
    ck_assert_has(open_error(tpath("deep_wb.xlsx")), "xl/workbook.xml: elements nested deeper than 64");
    free(deep);
    free(styles);
    free(sst);
    free(wb);
}
END_TEST

/* Cell formats and number formats are bounded: past the bound the file is
 * refused (dropping the formats beyond it would read dates as numbers). */
START_TEST(test_style_bounds) {
    size_t n = XLSX_MAX_STYLES + 1, cap = n * 24 + 256;
    char *styles = malloc(cap), *p = styles;
    p += sprintf(p, "<styleSheet xmlns=\"" NS_MAIN "\"><cellXfs>");
    for (size_t i = 0; i < n; i++) p += sprintf(p, "<xf numFmtId=\"14\"/>");
    sprintf(p, "</cellXfs></styleSheet>");
    ck_assert_has(open_error(make_book("many_xf.xlsx", "", styles, NULL)),
                  "xl/styles.xml: more than 65536 cell formats");
    n = XLSX_MAX_NUMFMTS + 1;
    p = styles;
    p += sprintf(p, "<styleSheet xmlns=\"" NS_MAIN "\"><numFmts>");
    for (size_t i = 0; i < n; i++) p += sprintf(p, "<numFmt numFmtId=\"%zu\" formatCode=\"0.0\"/>", 200 + i);
    sprintf(p, "</numFmts></styleSheet>");
    ck_assert_has(open_error(make_book("many_numfmt.xlsx", "", styles, NULL)),
                  "xl/styles.xml: more than 4096 number formats");
    free(styles);
}
END_TEST

/* A FIFO is refused at once; the open would block forever otherwise (and
 * this test would fail by its timeout). */
START_TEST(test_fifo_refused) {
    const char *path = tpath("fifo.xlsx");
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    char err[512];
    ck_assert_ptr_null(xlsx_open(path, NULL, err, sizeof err));
    ck_assert_has(err, "fifo.xlsx: not a regular file (a FIFO)");
    unlink(path);
}
END_TEST

/* A number cell past 2^53 reads as the double it is: 9007199254740993 is
 * 9007199254740992 (the producer refuses such event ids, see row.c). */
START_TEST(test_number_beyond_2p53) {
    const char *path = make_book(
        "big_number.xlsx", "<row r=\"1\"><c r=\"A1\"><v>9007199254740993</v></c></row>", NULL, NULL);
    const xlsx_cell *c;
    size_t n;
    unsigned row;
    xlsx_reader *r = open_first_row(path, &c, &n, &row);
    ck_assert_int_eq(c[0].type, XLSX_NUMBER);
    ck_assert(c[0].number == 9007199254740992.0);
    xlsx_close(r);
}
END_TEST

/* ------------------------------------------------------- pure helpers */

START_TEST(test_column_name) {
    char b[16];
    static const struct {
        size_t col;
        const char *name;
    } cases[] = {{0, "A"},    {25, "Z"},   {26, "AA"},   {51, "AZ"},    {52, "BA"},
                 {255, "IV"}, {701, "ZZ"}, {702, "AAA"}, {16383, "XFD"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        xlsx_column_name(cases[i].col, b, sizeof b);
        ck_assert_str_eq(b, cases[i].name);
    }
    xlsx_column_name(702, b, 3); /* truncated, still terminated */
    ck_assert_str_eq(b, "AA");
}
END_TEST

START_TEST(test_date_to_iso) {
    char b[32];
    static const struct {
        double serial;
        const char *iso;
    } cases[] = {
        {45000.5, "2023-03-15T12:00:00"},
        {1, "1900-01-01T00:00:00"},
        {59, "1900-02-28T00:00:00"},
        {60, "1900-02-29T00:00:00"}, /* Lotus bug */
        {61, "1900-03-01T00:00:00"},
        {25569, "1970-01-01T00:00:00"},
        {36526.75, "2000-01-01T18:00:00"},
        {45351, "2024-02-29T00:00:00"},
        {2958465, "9999-12-31T00:00:00"},
        {45000.0 + 0.123 / 86400, "2023-03-15T00:00:00.123"},
        {45000.99999999999, "2023-03-16T00:00:00"}, /* rounds to the millisecond */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(xlsx_date_to_iso(cases[i].serial, b, sizeof b), 0);
        ck_assert_str_eq(b, cases[i].iso);
    }
    ck_assert_int_eq(xlsx_date_to_iso(0, b, sizeof b), -1);
    ck_assert_int_eq(xlsx_date_to_iso(-1, b, sizeof b), -1);
    ck_assert_int_eq(xlsx_date_to_iso(2958466, b, sizeof b), -1);
    ck_assert_int_eq(xlsx_date_to_iso(NAN, b, sizeof b), -1);
    ck_assert_int_eq(xlsx_date_to_iso(45000, b, 10), -1); /* buffer too small */
}
END_TEST

/* ------------------------------------------- fast path against libxml2 */

/* xlsx_transcript (xlsx_transcript.c) for path with GK_XLSX_PARSER=parser. */
static char *transcript(const char *path, const char *parser) {
    char *out = xlsx_transcript(path, parser);
    ck_assert_ptr_nonnull(out);
    return out;
}

static const char DIFF_STYLES[] =
    "<styleSheet xmlns=\"" NS_MAIN "\"><numFmts count=\"1\"><numFmt numFmtId=\"164\" "
    "formatCode=\"yyyy-mm-dd\"/></numFmts><cellXfs count=\"2\"><xf numFmtId=\"0\"/>"
    "<xf numFmtId=\"164\"/></cellXfs></styleSheet>";
static const char DIFF_SST[] = "<sst xmlns=\"" NS_MAIN "\"><si><t>shared</t></si>"
                               "<si><t>two &amp; more</t></si></sst>";

/* Writes a workbook whose sheet part is sheet[0..len). */
static const char *diff_book(const char *name, const char *sheet, size_t len) {
    zentry e[] = {{"xl/workbook.xml", WORKBOOK, 0},
                  {"xl/_rels/workbook.xml.rels", RELS, 0},
                  {"xl/worksheets/data.xml", sheet, len ? len : 1},
                  {"xl/styles.xml", DIFF_STYLES, 0},
                  {"xl/sharedStrings.xml", DIFF_SST, 0}};
    if (len == 0) e[2].data = " "; /* libzip wants a non-empty buffer here */
    const char *path = tpath(name);
    write_zip(path, e, 5);
    return path;
}

/* Reads sheet[0..len) with both parsers and fails on any difference, leaving
 * the sheet in $TMPDIR/xlsx_diff_failure.xml. */
static void diff_check(const char *sheet, size_t len, const char *what) {
    const char *path = diff_book("diff.xlsx", sheet, len);
    char *fast = transcript(path, "auto"), *slow = transcript(path, "libxml2");
    if (strcmp(fast, slow) != 0) {
        char keep[512];
        snprintf(keep, sizeof keep, "%s/xlsx_diff_failure.xml",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        FILE *f = fopen(keep, "wb");
        if (f) {
            fwrite(sheet, 1, len, f);
            fclose(f);
        }
        ck_abort_msg("%s: the fast path differs from libxml2 (sheet kept in %s)\n"
                     "--- fast:\n%.2000s\n--- libxml2:\n%.2000s", what, keep, fast, slow);
    }
    free(fast);
    free(slow);
}

#define DIFF_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n"
#define DIFF_ROOT                                                                                  \
    "<worksheet xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\" "                                    \
    "xmlns:mc=\"http://schemas.openxmlformats.org/markup-compatibility/2006\" "                    \
    "mc:Ignorable=\"x14ac\" xmlns:x14ac=\"http://schemas.microsoft.com/office/2009/9/ac\">"

/* Sheets the fast path reads on its own: Excel's and datagen's forms. */
static const char *const diff_fast_seeds[] = {
    DIFF_HEAD DIFF_ROOT "<dimension ref=\"A1:D3\"/><sheetViews><sheetView workbookViewId=\"0\"/>"
    "</sheetViews><sheetData><row r=\"1\" spans=\"1:4\" x14ac:dyDescent=\"0.25\">"
    "<c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c><c r=\"C1\" s=\"1\">"
    "<v>45293.34791666667</v></c><c r=\"D1\" t=\"b\"><v>1</v></c></row>"
    "<row r=\"3\"><c r=\"A3\"><v>-1.5E-3</v></c><c r=\"B3\" t=\"e\"><v>#N/A</v></c>"
    "<c r=\"C3\"><f>A3*2</f><v>-3E-3</v></c><c r=\"D3\" t=\"str\"><f>\"x\"</f><v>x</v></c></row>"
    "</sheetData><pageMargins left=\"0.7\" right=\"0.7\"/></worksheet>",

    "<?xml version='1.0' encoding='utf-8'?>\n<worksheet xmlns='" NS_MAIN "'><sheetData>"
    "<row r=\"2\" ><c r = \"A2\"  t=\"inlineStr\" ><is><t>low DNA (&lt;50 ng) &amp; 260/280 "
    "&gt; 1.6 &quot;q&quot; &apos;a&apos;</t></is></c><c r=\"B2\" t=\"inlineStr\"><is>"
    "<t xml:space=\"preserve\">  K\xc3\xb6ln \xe2\x9c\x93 \xf0\x9f\x98\x80 &#233;&#x1F600;&#10;"
    "</t></is></c><c r=\"C2\" t=\"inlineStr\"><is><r><rPr><b/><sz val=\"11\"/></rPr><t>bo</t>"
    "</r><r><t>ld</t></r><rPh sb=\"0\"><t>P</t></rPh></is></c><c r=\"D2\"/><c r=\"E2\" s=\"1\">"
    "<v>45000</v></c><c r=\"F2\" t=\"inlineStr\"><is><t>a_x000D_b ]] ] &gt;</t></is></c></row>"
    "<row r=\"4\"/><row r=\"5\"><c r=\"A5\"><v>1</v></c></row></sheetData></worksheet>\n\n",

    "<worksheet xmlns=\"" NS_MAIN "\">\r\n  <sheetData>\r\n    <row r=\"1\">\r\n      <c r=\"A1\">"
    "<v>1</v></c>\r\n      <c r=\"B1\" t=\"inlineStr\"><is><t>x\ny\tz</t></is></c>\r\n    </row>"
    "\r\n  </sheetData>\r\n</worksheet>\r\n",
};

/* Sheets the fast path hands to libxml2 (or that libxml2 rejects). */
static const char *const diff_slow_seeds[] = {
    "<worksheet xmlns=\"" NS_MAIN "\"><sheetData><row r=\"1\"><c r=\"A1\"><v>1</v></c></row>"
    "<!-- a comment --><row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t><![CDATA[<x>]]></t></is>"
    "</c></row></sheetData></worksheet>",
    "<x:worksheet xmlns:x=\"" NS_MAIN "\"><x:sheetData><x:row r=\"1\"><x:c r=\"A1\"><x:v>2</x:v>"
    "</x:c></x:row></x:sheetData></x:worksheet>",
    "<worksheet xmlns=\"" NS_MAIN "\"><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\">"
    "<is><t>a\r\nb</t></is></c><c r=\"B1\" t=\"\ns\"><v>0</v></c></row><row r=\"2\">"
    "<c r=\"A2\" t=\"s&#x0A;\"><v>0</v></c></row></sheetData><?pi x?></worksheet>",
    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><worksheet xmlns=\"" NS_MAIN "\"><sheetData>"
    "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>caf\xe9</t></is></c></row></sheetData>"
    "</worksheet>",
    "<?xml version=\"1.0\"?><!DOCTYPE w><worksheet xmlns=\"" NS_MAIN "\"><sheetData>"
    "<row r=\"1\"><c r=\"A1\"><v>1</v></c></row></sheetData></worksheet>",
    "<worksheet xmlns=\"" NS_MAIN "\"><sheetData><row r=\"1\"><c r=\"A1\"><v>1</v></c></row>"
    "<row r=\"2\"><c r=\"A2\"><v>2</v></c></row></sheetData></worksheet><extra/>",
};

/* Tokens that mutations insert: XML syntax, references, bad bytes. */
static const char *const diff_tokens[] = {
    "<", ">", "&", ";", "\"", "'", "/", ":", "=", " ", "\r", "\n", "\t", "\x01", "\x7f",
    "\xc3", "\xa9", "\xff", "\xef\xbf\xbe", "]]>", "]", "<!--x-->", "<?p?>", "&amp;", "&#0;",
    "&#x41;", "&#xD800;", "&lt", "</c>", "</row>", "<v>", "<c r=\"A9\">", "<row r=\"9\">",
    "x:", "xmlns:q=\"u\" ", "q:a=\"1\" ", "a=\"1\" ", "xml:space=\"preserve\" ", "t=\"s\" ",
    "<![CDATA[x]]>", "\xef\xbb\xbf", "<?xml version=\"1.0\"?>",
};

/* One random edit of doc (len bytes, room for 64 more): delete, insert a
 * token, duplicate a slice or cut the end. Returns the new length. */
static size_t diff_mutate(char *doc, size_t len, uint64_t *x) {
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    size_t at = len ? (size_t)(*x >> 8) % len : 0;
    switch (*x % 8) {
    case 0:
    case 1: { /* delete 1-4 bytes */
        size_t n = 1 + (*x >> 40) % 4;
        if (at + n > len) n = len - at;
        memmove(doc + at, doc + at + n, len - at - n);
        return len - n;
    }
    case 2: /* cut */
        return at;
    case 3: { /* duplicate a slice of up to 48 bytes */
        size_t n = 1 + (*x >> 40) % 48;
        if (at + n > len) n = len - at;
        size_t to = (size_t)(*x >> 20) % (len + 1);
        char tmp[48];
        memcpy(tmp, doc + at, n);
        memmove(doc + to + n, doc + to, len - to);
        memcpy(doc + to, tmp, n);
        return len + n;
    }
    default: { /* insert a token */
        const char *t = diff_tokens[(*x >> 40) % (sizeof diff_tokens / sizeof *diff_tokens)];
        size_t n = strlen(t);
        memmove(doc + at + n, doc + at, len - at);
        memcpy(doc + at, t, n);
        return len + n;
    }
    }
}

/* Mutates each seed many times and compares the parsers on every mutant. */
static void diff_fuzz(const char *seed, size_t seedlen, int rounds, uint64_t x) {
    size_t cap = seedlen + 64 * 4 + 64;
    char *doc = malloc(cap);
    for (int i = 0; i < rounds; i++) {
        memcpy(doc, seed, seedlen);
        size_t len = seedlen;
        int edits = 1 + (int)(x % 3);
        for (int k = 0; k < edits && len + 64 < cap; k++) len = diff_mutate(doc, len, &x);
        char what[64];
        snprintf(what, sizeof what, "mutant %d", i);
        diff_check(doc, len, what);
    }
    free(doc);
}

/* A long sheet, so that tokens straddle the reader's 64 KiB chunks. */
static char *diff_long_sheet(size_t *len) {
    size_t cap = 400000, o = 0;
    char *s = malloc(cap);
    o += (size_t)snprintf(s, cap, DIFF_HEAD DIFF_ROOT "<sheetData>");
    for (int i = 1; o + 600 < cap - 100; i++)
        o += (size_t)snprintf(s + o, cap - o,
                              "<row r=\"%d\" x14ac:dyDescent=\"0.25\"><c r=\"A%d\"><v>%d</v></c>"
                              "<c r=\"B%d\" t=\"inlineStr\"><is><t>S-%06d &amp; caf\xc3\xa9 "
                              "&#x2713;</t></is></c><c r=\"C%d\" s=\"1\"><v>45293.%d</v></c>"
                              "<c r=\"D%d\" t=\"s\"><v>%d</v></c></row>",
                              i, i, i, i, i, i, i, i, i % 2);
    o += (size_t)snprintf(s + o, cap - o, "</sheetData></worksheet>");
    *len = o;
    return s;
}

START_TEST(test_fast_path_is_used) {
    /* Typical sheets never need libxml2: GK_XLSX_PARSER=fast reads them. */
    for (size_t i = 0; i < sizeof diff_fast_seeds / sizeof *diff_fast_seeds; i++) {
        const char *path = diff_book("seed.xlsx", diff_fast_seeds[i], strlen(diff_fast_seeds[i]));
        char *fast = transcript(path, "fast"), *slow = transcript(path, "libxml2");
        ck_assert_msg(strcmp(fast, slow) == 0, "seed %zu:\n%s\n---\n%s", i, fast, slow);
        ck_assert_msg(strstr(fast, "end 0") != NULL, "seed %zu: %s", i, fast);
        free(fast);
        free(slow);
    }
    size_t len;
    char *sheet = diff_long_sheet(&len);
    const char *path = diff_book("long.xlsx", sheet, len);
    char *fast = transcript(path, "fast"), *slow = transcript(path, "libxml2");
    ck_assert(strcmp(fast, slow) == 0);
    ck_assert(strstr(fast, "end 0") != NULL);
    free(fast);
    free(slow);
    free(sheet);
    /* And unusual ones are still read, by libxml2, with the same result. */
    for (size_t i = 0; i < sizeof diff_slow_seeds / sizeof *diff_slow_seeds; i++)
        diff_check(diff_slow_seeds[i], strlen(diff_slow_seeds[i]), "slow seed");
}
END_TEST

START_TEST(test_fast_path_matches_libxml2) {
    /* Random edits of every seed: the same rows and the same error text. */
    const char *env = getenv("GK_XLSX_DIFF_ROUNDS");
    int rounds = env ? atoi(env) : 300;
    const char *seed = getenv("GK_XLSX_DIFF_SEED");
    uint64_t x = seed ? strtoull(seed, NULL, 0) : 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < sizeof diff_fast_seeds / sizeof *diff_fast_seeds; i++)
        diff_fuzz(diff_fast_seeds[i], strlen(diff_fast_seeds[i]), rounds, x + i);
    for (size_t i = 0; i < sizeof diff_slow_seeds / sizeof *diff_slow_seeds; i++)
        diff_fuzz(diff_slow_seeds[i], strlen(diff_slow_seeds[i]), rounds / 3, x + 100 + i);
    size_t len;
    char *sheet = diff_long_sheet(&len);
    diff_fuzz(sheet, len, rounds / 10, x + 200);
    free(sheet);
}
END_TEST

/* ---------------------------------------------------------- streaming */

/* Runs this test binary as "--read-rss FILE" in a fresh process and returns
 * the peak RSS of its address space in KiB. */
static long child_peak_kib(const char *file, unsigned *rows) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        /* Under ASan, freed memory sits in a quarantine: keep it small so that
         * RSS reflects what the reader holds. */
        const char *asan = getenv("ASAN_OPTIONS");
        char opts[1024];
        snprintf(opts, sizeof opts, "%s%squarantine_size_mb=1", asan ? asan : "", asan ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
        execl("/proc/self/exe", "test_xlsx", "--read-rss", file, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[128] = {0};
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    ck_assert_msg(n > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader child failed");
    long kib = 0;
    ck_assert_int_eq(sscanf(buf, "%u %ld", rows, &kib), 2);
    return kib;
}

/* The peak RSS of this address space (VmHWM) in KiB. Not getrusage's
 * ru_maxrss: Linux carries that across fork+exec from the parent's memory,
 * while exec starts VmHWM afresh. */
static long peak_rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
    if (f) fclose(f);
    return kib;
}

/* The child side: reads FILE completely, prints "rows peak_kib". */
static int read_rss_main(const char *file) {
    char err[512];
    xlsx_reader *r = xlsx_open(file, NULL, err, sizeof err);
    if (!r) return 1;
    unsigned rows;
    int rc = read_all(r, &rows);
    xlsx_close(r);
    printf("%u %ld\n", rows, peak_rss_kib());
    return rc == 0 ? 0 : 1;
}

START_TEST(test_streaming_memory) {
    const char *small = tpath("small.xlsx"), *large = tpath("large.xlsx");
    write_big_book(small, 20000);
    write_big_book(large, 200000);
    unsigned rs, rl;
    long ks = child_peak_kib(small, &rs), kl = child_peak_kib(large, &rl);
    ck_assert_uint_eq(rs, 20000);
    ck_assert_uint_eq(rl, 200000);
    fprintf(stderr, "test_xlsx: peak RSS 20k rows %ld KiB, 200k rows %ld KiB\n", ks, kl);
    ck_assert_msg(kl - ks < 8 * 1024, "peak RSS grew by %ld KiB from 20k to 200k rows", kl - ks);
}
END_TEST

/* ---------------------------------------------------------------- suite */

/* Removes the (flat) temporary directory. */
static void rm_tmpdir(void) {
    DIR *d = opendir(tmpdir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) remove(tpath(e->d_name));
    closedir(d);
    rmdir(tmpdir);
}

/* Child mode (--read-rss) or the temporary directory the tests write into. */
static int xlsx_before(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--read-rss") == 0) return read_rss_main(argv[2]);
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/test_xlsx.XXXXXX", base);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    return -1;
}

static Suite *xlsx_suite(void) {
    Suite *s = suite_create("xlsx");
    TCase *tc = tcase_create("reader");
    tcase_add_test(tc, test_types_shared_strings);
    tcase_add_test(tc, test_types_inline_strings);
    tcase_add_test(tc, test_hand_made_parts);
    tcase_add_test(tc, test_date1904_and_no_rels);
    tcase_add_test(tc, test_duplicate_relationship_id);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_sheet_errors);
    tcase_add_test(tc, test_truncated_sheet);
    tcase_add_test(tc, test_hostile_parts);
    tcase_add_test(tc, test_corrupt_zip_data);
    tcase_add_test(tc, test_nesting_depth);
    tcase_add_test(tc, test_style_bounds);
    tcase_add_test(tc, test_fifo_refused);
    tcase_add_test(tc, test_number_beyond_2p53);
    tcase_add_test(tc, test_column_name);
    tcase_add_test(tc, test_date_to_iso);
    suite_add_tcase(s, tc);
    TCase *diff = tcase_create("fast_path");
    tcase_set_timeout(diff, 300);
    tcase_add_test(diff, test_fast_path_is_used);
    tcase_add_test(diff, test_fast_path_matches_libxml2);
    suite_add_tcase(s, diff);
    TCase *big = tcase_create("streaming");
    tcase_set_timeout(big, 120);
    tcase_add_test(big, test_streaming_memory);
    suite_add_tcase(s, big);
    return s;
}

const unit_def unit_tests = {xlsx_suite, xlsx_before, rm_tmpdir};
