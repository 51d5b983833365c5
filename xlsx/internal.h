/* internal.h - what the parts of the xlsx reader share (not for its users:
 * they include xlsx.h only).
 *
 * The reader is one xlsx_reader made of one state per concern, each owned by
 * its file:
 *   part.c      zip entries streamed through a libxml2 SAX push parser
 *   workbook.c  workbook.xml and its relationships: which part is the sheet
 *   styles.c    styles.xml: which cell styles show dates
 *   dates.c     Excel serial dates <-> ISO 8601
 *   sst.c       sharedStrings.xml
 *   sheet.c     the sheet's rows through libxml2, and the row queue
 *   fast.c      the literal fast path over the sheet's plain XML
 *   reader.c    open, close and the error message of the whole
 * Every SAX callback gets the whole reader as its context: an error anywhere
 * is reported through xlsx_fail()/xlsx_fail_file(), which name the file and,
 * in the sheet, the row and column. */
#ifndef GK_XLSX_INTERNAL_H
#define GK_XLSX_INTERNAL_H
#include "xlsx/xlsx.h"

#include <libxml/parser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#define XLSX_CHUNK (64 * 1024)                      /* bytes fed to libxml2 at a time */
#define XLSX_MAX_ROW 1048576u                       /* Excel's last row */
#define XLSX_MAX_RAW_CELL (8 * XLSX_MAX_CELL_BYTES) /* text before _xHHHH_ decoding */
#define XLSX_DATE1904_OFFSET 1462.0                 /* 1904 serial -> 1900 serial */
#define XLSX_STACK 8
#define XLSX_FAST_MAX_ATTRS 32 /* fast path: most attributes of a tag */
#define XLSX_FAST_GIVE_UP 2    /* xlsx_fast_feed: let libxml2 read the sheet */

/* ------------------------------------------------------------ buffers */

/* A growable byte buffer. */
typedef struct {
    char *data;
    size_t len, cap;
} xlsx_buf;

/* Makes room for extra more bytes. Returns 0, or -1 when out of memory. */
static inline int xlsx_buf_reserve(xlsx_buf *b, size_t extra) {
    if (b->cap - b->len >= extra) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

/* Appends n bytes, keeping room for a NUL after them. Returns 0 or -1. */
static inline int xlsx_buf_append(xlsx_buf *b, const void *s, size_t n) {
    if (xlsx_buf_reserve(b, n + 1) != 0) return -1;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

/* Grows an array of elements of size sz to hold at least need of them. */
static inline int xlsx_grow(void **arr, size_t *cap, size_t need, size_t sz) {
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *p = realloc(*arr, n * sz);
    if (!p) return -1;
    *arr = p;
    *cap = n;
    return 0;
}

/* Parses an unsigned decimal of at most 9 digits. Returns 0, or -1. */
static inline int xlsx_parse_uint(const xmlChar *s, size_t len, unsigned *out) {
    if (len == 0 || len > 9) return -1;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Decodes the OOXML _xHHHH_ escapes (used for control characters) in place and
 * returns the new length. Escapes of NUL and of surrogates are left as text. */
size_t xlsx_unescape(char *s, size_t len);

/* ------------------------------------------------------------ the parts */

/* One XML part being streamed through a push parser (part.c). */
typedef struct {
    const char *name; /* entry name inside the zip */
    zip_file_t *zf;
    xmlParserCtxtPtr ctxt;
    int finished;
} xlsx_stream;

/* The workbook and its relationships (workbook.c): the sheet to read. */
typedef struct {
    char *sheet;    /* the sheet's name */
    char *part;     /* its zip entry, e.g. "xl/worksheets/sheet1.xml" */
    int date1904;   /* serials count from 1904 */
    /* Open time only. */
    const char *want; /* the sheet asked for, NULL: the first */
    int found, index;
    char *rid;
    xlsx_buf names; /* "A, B, C" for the unknown-sheet message */
    char *rel_type, *rel_target;
} xlsx_workbook;

/* The cell styles (styles.c): per cellXfs entry its numFmtId, and which are dates. */
typedef struct {
    int in_cellxfs, in_numfmts;
    unsigned *xf_fmt;
    size_t nxf, xf_cap;
    unsigned char *xf_date;
    unsigned *date_fmts, *plain_fmts; /* custom numFmtIds */
    size_t ndate_fmts, nplain_fmts, date_fmts_cap, plain_fmts_cap;
} xlsx_styles;

/* The shared strings (sst.c): string i is text.data + off[i], NUL-terminated. */
typedef struct {
    xlsx_buf text;
    size_t *off;
    size_t count, cap;
    size_t *longs; /* indexes of strings over the cell limit (kept empty) */
    size_t nlongs, longs_cap;
    int in_si, capture, skip, overlong;
    size_t start;
} xlsx_sst;

/* Value kinds of the t attribute of <c>. */
typedef enum { XT_NUMBER, XT_SHARED, XT_INLINE, XT_STR, XT_BOOL, XT_ERROR, XT_ISODATE } xlsx_ctype;

/* Where the sheet parser is (sheet.c), whoever calls its handlers. */
typedef struct {
    xlsx_stream ss;
    unsigned depth; /* element depth outside sheetData */
    unsigned skip;  /* depth inside an ignored subtree */
    unsigned char stack[XLSX_STACK];
    int sp;
    int capture;
    unsigned row, prev_row, col, next_col;
    int in_row, in_cell, has_value;
    xlsx_ctype ctype;
    unsigned style;
    size_t text_off, row_text;
    char col_text[16];   /* the column as written, when it is too large to name */
    unsigned skip_until; /* libxml2 re-reading: rows up to this one were queued */
} xlsx_sheet;

/* One queued cell with a value; text is either shared (ext) or in the arena. */
typedef struct {
    unsigned col;
    xlsx_cell_type type;
    double number;
    const char *ext; /* shared string text, or NULL: the text is at arena + off */
    size_t off, len;
} xlsx_qcell;

/* One queued row: cells qcells[first .. first + count). */
typedef struct {
    unsigned rownum;
    unsigned width; /* highest column of any cell element + 1 */
    size_t first, count;
} xlsx_qrow;

/* The rows parsed but not handed out yet (sheet.c). */
typedef struct {
    xlsx_qrow *qrows;
    size_t nqrows, qrows_cap, qhead;
    xlsx_qcell *qcells;
    size_t nqcells, qcells_cap;
    xlsx_buf arena;
    xlsx_cell out[XLSX_MAX_COLUMNS];
} xlsx_rowq;

/* One attribute of the tag the fast path is scanning: offsets into its window. */
typedef struct {
    size_t name, colon, name_end, value, value_end; /* colon: 0 if none */
    int decode; /* the value has references or whitespace to normalise */
} xlsx_fast_attr;

/* The fast path's scanner (fast.c); libxml2 reads the sheet when on is 0. */
typedef struct {
    int on, started;
    int only;  /* GK_XLSX_PARSER=fast (tests): giving up is an error */
    int where; /* 0 before the root element, 1 inside it, 2 after it */
    int default_ns;
    xlsx_buf win; /* sheet bytes read; pos is the next one to scan */
    size_t pos;
    xlsx_buf names; /* names of the open elements, name_off[i] each */
    size_t *name_off, name_cap;
    int depth;
    xlsx_buf prefixes; /* prefixes the root declared, NUL-terminated */
    size_t *prefix_off, prefix_cap, nprefixes;
    xlsx_buf scratch; /* decoded attribute values */
    xlsx_fast_attr attrs[XLSX_FAST_MAX_ATTRS];
    size_t nattrs;
    const xmlChar *attr_ptrs[5 * XLSX_FAST_MAX_ATTRS];
} xlsx_fast;

struct xlsx_reader {
    char *path; /* as given, for messages */
    zip_t *zip;
    unsigned char *chunk; /* XLSX_CHUNK bytes read from a part at a time */
    xlsx_workbook wb;
    xlsx_styles styles;
    xlsx_sst sst;
    xlsx_sheet sh;
    xlsx_rowq q;
    xlsx_fast fast;

    /* The part being parsed: its element depth (bounded by XLSX_MAX_DEPTH)
     * and the handlers its depth-counting SAX callbacks pass on to. */
    const xlsx_stream *cur_stream;
    int cur_is_sheet;
    unsigned xml_depth;
    startElementNsSAX2Func part_start;
    endElementNsSAX2Func part_end;

    /* Errors. */
    int failed;
    xmlParserCtxtPtr cur_ctxt; /* the parser running now */
    char xml_err[256];         /* first libxml2 error of the current part */
    int xml_line;
    char err[768];
};

/* ------------------------------------------------------------ reader.c */

/* Records the reader's error: "FILE: reason" (positionless). */
void xlsx_fail_file(xlsx_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records an error inside the sheet, naming the row and column being parsed. */
void xlsx_fail(xlsx_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------ part.c */

/* Compares a libxml2 name with a C string. */
static inline int xlsx_is(const xmlChar *name, const char *want) {
    return strcmp((const char *)name, want) == 0;
}

/* Finds attribute localname among SAX2 attributes (5 pointers each: localname,
 * prefix, URI, value, end). prefixed selects attributes with/without prefix. */
const xmlChar *xlsx_attr(const xmlChar **attrs, int n, const char *name, int prefixed,
                         size_t *len);

/* Copies an attribute value into a fresh NUL-terminated string. */
char *xlsx_attr_dup(const xmlChar **attrs, int n, const char *name, int prefixed);

/* A SAX2 handler with only the given element callbacks and the reader's
 * error hooks (no DTD, first error kept). end and chars may be NULL. Every
 * part is parsed through it, so the element nesting of every part is counted
 * here and an element deeper than XLSX_MAX_DEPTH is an error: libxml2's own
 * stacks grow with the nesting (a 77 KB sheet of ten million nested elements
 * took 362 MB). */
void xlsx_sax_init(xlsx_reader *r, xmlSAXHandler *sax, startElementNsSAX2Func start,
                   endElementNsSAX2Func end, charactersSAXFunc chars);

/* Opens a zip entry for streaming. Returns 0, 1 if the entry does not exist,
 * -1 on error (recorded). */
int xlsx_stream_open(xlsx_reader *r, xlsx_stream *st, const char *name);

/* Closes the parser and the entry. The stream may be closed already. */
void xlsx_stream_close(xlsx_stream *st);

/* Feeds the next chunk of the entry to its parser (created on the first
 * call). Returns 1 while there is more, 0 once the document has been parsed
 * completely, -1 on error (recorded; sheet selects the message form). */
int xlsx_stream_feed(xlsx_reader *r, xlsx_stream *st, xmlSAXHandler *sax, int sheet);

/* Parses a whole small part. Returns 0, 1 if it does not exist, -1 on error. */
int xlsx_parse_part(xlsx_reader *r, const char *name, xmlSAXHandler *sax);

/* ------------------------------------------------------------ the others */

/* workbook.c: finds the sheet (r->wb.want) and its part. Returns 0 or -1. */
int xlsx_workbook_locate(xlsx_reader *r);
void xlsx_workbook_free(xlsx_workbook *wb);

/* styles.c: loads styles.xml (optional). Returns 0 or -1. */
int xlsx_styles_load(xlsx_reader *r);
/* True if cell style index style shows a date. */
static inline int xlsx_styles_is_date(const xlsx_styles *st, unsigned style) {
    return style < st->nxf && st->xf_date[style];
}
void xlsx_styles_free(xlsx_styles *st);

/* dates.c: parses the ISO 8601 value of a t="d" cell
 * ("YYYY-MM-DD[THH:MM[:SS[.fff]]][Z]") into a 1900-system serial. Returns 0 or -1. */
int xlsx_iso_to_serial(const char *s, size_t len, double *out);

/* sst.c: loads sharedStrings.xml if the workbook has one. Returns 0 or -1. */
int xlsx_sst_load(xlsx_reader *r);
/* Shared string idx: returns 0 with *s (NUL-terminated) and *len, -1 if there
 * is no such string, -2 if it was longer than a cell may be. */
int xlsx_sst_get(const xlsx_sst *t, unsigned idx, const char **s, size_t *len);
void xlsx_sst_free(xlsx_sst *t);

/* sheet.c: the SAX handlers of the sheet (the fast path calls them too). */
void xlsx_sheet_start(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri,
                      int nns, const xmlChar **ns, int nattrs, int ndef, const xmlChar **attrs);
void xlsx_sheet_end(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri);
void xlsx_sheet_chars(void *ctx, const xmlChar *s, int len);
/* The handlers' calls for one whole cell the fast path matched:
 * <c ATTRS><v>TEXT</v></c>, or <c ATTRS><is><t>TEXT</t></is></c> when
 * inline_str, exactly as the general scanner would make them. */
void xlsx_sheet_cell(xlsx_reader *r, const xmlChar **attrs, int nattrs, int inline_str,
                     const xmlChar *text, int len);
void xlsx_sheet_free(xlsx_sheet *sh, xlsx_rowq *q);

/* fast.c: builds the byte class table (once per process). */
void xlsx_fast_init(void);
/* Reads the next chunk of the sheet and scans it. Returns 1 while there is
 * more, 0 at the end of the sheet, -1 after an error (a handler's),
 * XLSX_FAST_GIVE_UP for libxml2 to take over. */
int xlsx_fast_feed(xlsx_reader *r);
void xlsx_fast_free(xlsx_fast *f);

#endif
