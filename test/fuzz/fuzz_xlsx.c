/* fuzz_xlsx.c - libFuzzer target for the xlsx reader (xlsx/).
 *
 * Each input is taken as a whole .xlsx file: it is written to an in-memory
 * file (memfd) and read to the end with xlsx_open/xlsx_next_row, converting
 * dates and naming columns on the way, as the producer does. Crashes, leaks,
 * sanitizer reports and hangs are findings; error returns are expected. */
#define _GNU_SOURCE /* memfd_create */
#include "xlsx/xlsx.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* The memfd holding the current input, and its /proc path for libzip. */
static int fuzz_fd = -1;
static char fuzz_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fuzz_fd < 0) {
        fuzz_fd = memfd_create("fuzz_xlsx", 0);
        if (fuzz_fd < 0) abort();
        snprintf(fuzz_path, sizeof fuzz_path, "/proc/self/fd/%d", fuzz_fd);
    }
    if (ftruncate(fuzz_fd, 0) != 0 || pwrite(fuzz_fd, data, size, 0) != (ssize_t)size) abort();

    char err[512], buf[64];
    xlsx_reader *r = xlsx_open(fuzz_path, NULL, err, sizeof err);
    if (!r) return 0;
    const xlsx_cell *cells;
    size_t n;
    unsigned row;
    while (xlsx_next_row(r, &cells, &n, &row) == 1) {
        if (n > XLSX_MAX_COLUMNS || row == 0) abort(); /* contract of xlsx.h */
        for (size_t i = 0; i < n; i++) {
            const xlsx_cell *c = &cells[i];
            if (c->type == XLSX_DATE) xlsx_date_to_iso(c->number, buf, sizeof buf);
            if ((c->type == XLSX_STRING || c->type == XLSX_ERROR) &&
                (c->str[c->len] != '\0' || c->len > XLSX_MAX_CELL_BYTES))
                abort();
        }
        xlsx_column_name(n, buf, sizeof buf);
    }
    (void)xlsx_error(r);
    xlsx_close(r);
    return 0;
}
