/* xlsx_transcript.c - everything the xlsx reader hands out, as text
 * (see xlsx_transcript.h). */
#include "test/unit/xlsx_transcript.h"

#include "xlsx/xlsx.h"

#include <stdio.h>
#include <stdlib.h>

char *xlsx_transcript(const char *path, const char *parser) {
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) return NULL;
    setenv("GK_XLSX_PARSER", parser, 1);
    char err[512];
    xlsx_reader *r = xlsx_open(path, NULL, err, sizeof err);
    unsetenv("GK_XLSX_PARSER");
    if (!r) {
        fprintf(f, "open: %s\n", err);
        fclose(f);
        return out;
    }
    const xlsx_cell *c;
    size_t n;
    unsigned row;
    int rc;
    while ((rc = xlsx_next_row(r, &c, &n, &row)) == 1) {
        fprintf(f, "row %u:", row);
        for (size_t i = 0; i < n; i++) {
            fprintf(f, " %d/%a", (int)c[i].type, c[i].number);
            if (c[i].type == XLSX_STRING || c[i].type == XLSX_ERROR) {
                fputc('[', f);
                fwrite(c[i].str, 1, c[i].len, f);
                fputc(']', f);
            }
        }
        fputc('\n', f);
    }
    fprintf(f, "end %d: %s\n", rc, rc < 0 ? xlsx_error(r) : "");
    xlsx_close(r);
    fclose(f);
    return out;
}
