/* xlsx.h - a streaming reader for the first (or a named) worksheet of an .xlsx.
 *
 * The workbook is opened with libzip; the sheet XML is fed in chunks to a
 * libxml2 SAX push parser, so memory stays flat however many rows the sheet
 * has. Shared strings (sharedStrings.xml) are loaded once; inline strings,
 * numbers, booleans, errors and date-formatted numbers (styles.xml) are
 * resolved per cell. Every error message names file, sheet, row and column. */
#ifndef GK_XLSX_H
#define GK_XLSX_H
#include <stddef.h>

typedef enum {
    XLSX_EMPTY = 0, /* no cell, or a cell without a value */
    XLSX_NUMBER,    /* .number holds the value */
    XLSX_STRING,    /* .str/.len hold UTF-8 text (shared or inline string, formula string) */
    XLSX_BOOL,      /* .number is 0 or 1 */
    XLSX_DATE,      /* a number whose style is a date/time format: .number is the Excel serial */
    XLSX_ERROR,     /* an error cell such as #DIV/0!: .str holds the error text */
} xlsx_cell_type;

typedef struct {
    xlsx_cell_type type;
    double number;
    const char *str; /* NUL-terminated; valid until the next xlsx_next_row() */
    size_t len;
} xlsx_cell;

typedef struct xlsx_reader xlsx_reader;

/* Opens path and prepares to stream the named sheet (NULL: the first sheet).
 * The file is opened with infile_open (common/infile.h): a FIFO, device or
 * directory is refused at once rather than waited on. Returns NULL and writes
 * a one-line reason naming the file into err on failure (missing file, not a
 * regular file, not a zip, no workbook, no such sheet...). */
xlsx_reader *xlsx_open(const char *path, const char *sheet, char *err, size_t errlen);

/* The same on a descriptor of a regular file that infile_open returned,
 * which it takes over (closed when the reader is, or on failure); path names
 * the file in messages. For callers that tell a file they cannot open from
 * one that is not a workbook. */
xlsx_reader *xlsx_open_fd(int fd, const char *path, const char *sheet, char *err, size_t errlen);

/* Reads the next row that has at least one cell element. *cells points to an
 * array of *ncells cells indexed by column (A = 0; gaps are XLSX_EMPTY), valid
 * until the next call. *rownum is the 1-based sheet row number.
 * Returns 1 for a row, 0 at the end of the sheet, -1 on error (xlsx_error()). */
int xlsx_next_row(xlsx_reader *r, const xlsx_cell **cells, size_t *ncells, unsigned *rownum);

/* The last error: "FILE: sheet 'NAME' row R column C: reason" (or less, when
 * the row or column is not known). */
const char *xlsx_error(const xlsx_reader *r);

/* Name of the sheet being read. */
const char *xlsx_sheet_name(const xlsx_reader *r);

/* Closes the reader and frees everything. NULL is allowed. */
void xlsx_close(xlsx_reader *r);

/* Writes the column letters for a 0-based index ("A", "Z", "AA"...) into buf. */
void xlsx_column_name(size_t col, char *buf, size_t len);

/* Converts an Excel serial date (1900 date system) to ISO 8601
 * "YYYY-MM-DDTHH:MM:SS" with ".mmm" milliseconds when they are not zero.
 * Returns 0, or -1 if the serial is out of range (before 1900 or after 9999). */
int xlsx_date_to_iso(double serial, char *buf, size_t len);

/* Limits that protect the reader against hostile files: each is a bound on
 * what one file can make the reader hold, and going past it is an error
 * naming the file (and sheet, row and column where there is one). libxml2
 * adds its own: 10 MB for any one token (a tag, a text run it must look
 * ahead over) and 50,000 bytes for a name. */
#define XLSX_MAX_DEPTH 64           /* element nesting in any part (a sheet needs 7) */
#define XLSX_MAX_COLUMNS 256        /* cells beyond column IV are an error */
#define XLSX_MAX_CELL_BYTES 32767   /* Excel's own limit for one cell's text */
#define XLSX_MAX_SHARED_STRINGS (16u * 1024 * 1024)  /* strings in sharedStrings.xml */
#define XLSX_MAX_SHARED_BYTES ((size_t)256 << 20)   /* all shared string text */
#define XLSX_MAX_STYLES 65536u      /* cell formats (cellXfs); Excel allows 64,000 */
#define XLSX_MAX_NUMFMTS 4096u      /* custom number formats; Excel allows about 250 */

#endif
