/* fuzz_xlsx_sheet.c - differential libFuzzer target for the xlsx reader's
 * fast path (xlsx/fast.c) against libxml2.
 *
 * Each input is the XML of a worksheet part. It is stored in a small workbook
 * (with styles and shared strings) and read twice: with the default parser
 * (the fast path, handing over to libxml2 when it must) and with
 * GK_XLSX_PARSER=libxml2. Any difference in the rows, cells or error text
 * handed out is a finding (abort), as are crashes and sanitizer reports. */
#include "test/unit/xlsx_transcript.h"
#include "xlsx/xlsx.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NS_MAIN "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define NS_REL "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

static const char *const fuzz_parts[][2] = {
    {"xl/workbook.xml", "<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\"><sheets>"
                        "<sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"},
    {"xl/_rels/workbook.xml.rels",
     "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
     "<Relationship Id=\"rId1\" Type=\"" NS_REL "/worksheet\" Target=\"worksheets/s.xml\"/>"
     "</Relationships>"},
    {"xl/styles.xml", "<styleSheet xmlns=\"" NS_MAIN "\"><cellXfs count=\"2\"><xf numFmtId=\"0\"/>"
                      "<xf numFmtId=\"14\"/></cellXfs></styleSheet>"},
    {"xl/sharedStrings.xml", "<sst xmlns=\"" NS_MAIN "\"><si><t>a</t></si><si><t>b</t></si></sst>"},
};

static char fuzz_path[64];

/* Writes the workbook with data as its sheet (stored, not deflated: fast). */
static void fuzz_write(const uint8_t *data, size_t size) {
    int err = 0;
    zip_t *z = zip_open(fuzz_path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z) abort();
    for (size_t i = 0; i < sizeof fuzz_parts / sizeof fuzz_parts[0]; i++) {
        zip_source_t *s = zip_source_buffer(z, fuzz_parts[i][1], strlen(fuzz_parts[i][1]), 0);
        zip_int64_t idx = s ? zip_file_add(z, fuzz_parts[i][0], s, ZIP_FL_OVERWRITE) : -1;
        if (idx < 0) abort();
        zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
    }
    zip_source_t *s = zip_source_buffer(z, size ? (const void *)data : "", size, 0);
    zip_int64_t idx = s ? zip_file_add(z, "xl/worksheets/s.xml", s, ZIP_FL_OVERWRITE) : -1;
    if (idx < 0) abort();
    zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
    if (zip_close(z) != 0) abort();
}

/* Everything the reader hands out with GK_XLSX_PARSER=parser. malloc'd. */
static char *fuzz_transcript(const char *parser) {
    char *out = xlsx_transcript(fuzz_path, parser);
    if (!out) abort();
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!fuzz_path[0]) {
        snprintf(fuzz_path, sizeof fuzz_path, "%s/fuzz_xlsx_sheet.%d.xlsx",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    }
    if (size > 1 << 20) return 0;
    fuzz_write(data, size);
    char *fast = fuzz_transcript("auto"), *slow = fuzz_transcript("libxml2");
    if (strcmp(fast, slow) != 0) {
        fprintf(stderr, "fast path differs from libxml2\n--- fast:\n%s\n--- libxml2:\n%s\n", fast,
                slow);
        abort();
    }
    free(fast);
    free(slow);
    return 0;
}
