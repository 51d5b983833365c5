/* xlsx.c - streaming .xlsx worksheet reader (see xlsx.h).
 *
 * libzip opens the workbook; each XML part is streamed in 64 KiB chunks into a
 * libxml2 SAX2 push parser. The small parts (workbook, relationships, styles,
 * shared strings) are parsed completely at open time. The sheet part is parsed
 * on demand: xlsx_next_row() feeds chunks until at least one complete <row> is
 * queued, then hands rows out one by one. The queue only ever holds the rows of
 * one chunk, cells are stored sparsely and their text lives in one reusable
 * arena, so memory stays flat whatever the size of the sheet and there is no
 * per-cell malloc.
 *
 * Hostile input: no DTD is accepted (so no entity expansion, no billion
 * laughs, no XXE), the network is never used (XML_PARSE_NONET), and columns,
 * cell text, shared strings and row numbers are bounded. */
#include "common/xlsx.h"

#include <libxml/parser.h>
#include <libxml/uri.h>
#include <libxml/xmlerror.h>
#include <zip.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define XLSX_CHUNK (64 * 1024)                      /* bytes fed to libxml2 at a time */
#define XLSX_MAX_ROW 1048576u                       /* Excel's last row */
#define XLSX_MAX_SHARED_BYTES ((size_t)1 << 30)     /* all shared string text */
#define XLSX_MAX_RAW_CELL (8 * XLSX_MAX_CELL_BYTES) /* text before _xHHHH_ decoding */
#define XLSX_MAX_STYLES (1u << 20)                  /* cellXfs entries kept */
#define XLSX_DATE1904_OFFSET 1462.0                 /* 1904 serial -> 1900 serial */
#define XLSX_STACK 8
#define XLSX_FAST_MAX_TAG (64 * 1024) /* fast path: longest tag kept whole */
#define XLSX_FAST_MAX_DEPTH 64        /* fast path: deepest element nesting */
#define XLSX_FAST_MAX_NAME 256        /* fast path: longest name */
#define XLSX_FAST_MAX_ATTRS 32        /* fast path: most attributes of a tag */
#define XLSX_FAST_MAX_PREFIXES 64     /* fast path: namespace prefixes of the root */

/* A growable byte buffer. */
typedef struct {
    char *data;
    size_t len, cap;
} xlsx_buf;

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

/* One XML part being streamed through a push parser. */
typedef struct {
    const char *name; /* entry name inside the zip */
    zip_file_t *zf;
    xmlParserCtxtPtr ctxt;
    int finished;
} xlsx_stream;

/* One attribute of the tag the fast path is scanning: offsets into its window. */
typedef struct {
    size_t name, colon, name_end, value, value_end; /* colon: 0 if none */
    int decode; /* the value has references or whitespace to normalise */
} xlsx_fast_attr;

/* Value kinds of the t attribute of <c>. */
typedef enum { XT_NUMBER, XT_SHARED, XT_INLINE, XT_STR, XT_BOOL, XT_ERROR, XT_ISODATE } xlsx_ctype;

/* What the element stack of the sheet parser holds. */
enum { XK_SHEETDATA = 1, XK_ROW, XK_CELL, XK_V, XK_IS, XK_RUN, XK_T };

struct xlsx_reader {
    char *path;       /* as given, for messages */
    char *sheet;      /* the sheet's name */
    char *sheet_part; /* "xl/worksheets/sheet1.xml" */
    zip_t *zip;
    unsigned char *chunk;
    int date1904;

    /* Workbook and relationships (open time only). */
    const char *want_sheet;
    int sheet_found, sheet_index;
    char *sheet_rid;
    xlsx_buf sheet_names; /* "A, B, C" for the unknown-sheet message */
    char *rel_type, *rel_target;

    /* Styles: per cellXfs entry its numFmtId; custom formats that are dates. */
    int in_cellxfs, in_numfmts;
    unsigned *xf_fmt;
    size_t nxf, xf_cap;
    unsigned char *xf_date;
    unsigned *date_fmts, *plain_fmts; /* custom numFmtIds */
    size_t ndate_fmts, nplain_fmts, date_fmts_cap, plain_fmts_cap;

    /* Shared strings: string i is sst.data + sst_off[i], NUL-terminated. */
    xlsx_buf sst;
    size_t *sst_off;
    size_t sst_count, sst_cap;
    size_t *sst_long; /* indexes of strings over the cell limit (kept empty) */
    size_t nsst_long, sst_long_cap;
    int sst_in_si, sst_capture, sst_skip, sst_overlong;
    size_t sst_start;

    /* Sheet parser state. */
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
    char col_text[16]; /* the column as written, when it is too large to name */

    /* Sheet fast path (see xlsx_fast_feed); libxml2 when fast is 0. */
    int fast, fstarted;
    int fast_only; /* GK_XLSX_PARSER=fast (tests): giving up is an error */
    int fwhere; /* 0 before the root element, 1 inside it, 2 after it */
    int fdefault_ns;
    unsigned skip_until; /* libxml2 re-reading: rows up to this one were queued */
    xlsx_buf fwin;       /* sheet bytes read; fpos is the next one to scan */
    size_t fpos;
    xlsx_buf fnames;     /* names of the open elements, fname_off[i] each */
    size_t *fname_off, fname_cap;
    int fdepth;
    xlsx_buf fprefixes;  /* prefixes the root declared, NUL-terminated */
    size_t *fprefix_off, fprefix_cap, fnprefixes;
    xlsx_buf fscratch;   /* decoded attribute values */
    xlsx_fast_attr fattrs[XLSX_FAST_MAX_ATTRS];
    size_t nfattrs;
    const xmlChar *fattr_ptrs[5 * XLSX_FAST_MAX_ATTRS];

    /* Row queue. */
    xlsx_qrow *qrows;
    size_t nqrows, qrows_cap, qhead;
    xlsx_qcell *qcells;
    size_t nqcells, qcells_cap;
    xlsx_buf arena;
    xlsx_cell out[XLSX_MAX_COLUMNS];

    /* Errors. */
    int failed;
    xmlParserCtxtPtr cur_ctxt; /* the parser running now */
    char xml_err[256];         /* first libxml2 error of the current part */
    int xml_line;
    char err[768];
};

/* ---------------------------------------------------------------- helpers */

/* Makes room for extra more bytes. Returns 0, or -1 when out of memory. */
static int xlsx_buf_reserve(xlsx_buf *b, size_t extra) {
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

static int xlsx_buf_append(xlsx_buf *b, const void *s, size_t n) {
    if (xlsx_buf_reserve(b, n + 1) != 0) return -1;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

/* Grows an array of elements of size sz to hold at least need of them. */
static int xlsx_grow(void **arr, size_t *cap, size_t need, size_t sz) {
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

/* Compares a libxml2 name with a C string. */
static int xlsx_is(const xmlChar *name, const char *want) {
    return strcmp((const char *)name, want) == 0;
}

/* Finds attribute localname among SAX2 attributes (5 pointers each: localname,
 * prefix, URI, value, end). prefixed selects attributes with/without prefix. */
static const xmlChar *xlsx_attr(const xmlChar **attrs, int n, const char *name, int prefixed,
                                size_t *len) {
    *len = 0;
    for (int i = 0; i < n; i++, attrs += 5) {
        if ((attrs[1] != NULL) != prefixed || !xlsx_is(attrs[0], name)) continue;
        *len = (size_t)(attrs[4] - attrs[3]);
        return attrs[3];
    }
    return NULL;
}

/* Copies an attribute value into a fresh NUL-terminated string. */
static char *xlsx_attr_dup(const xmlChar **attrs, int n, const char *name, int prefixed) {
    size_t len;
    const xmlChar *v = xlsx_attr(attrs, n, name, prefixed, &len);
    return v ? strndup((const char *)v, len) : NULL;
}

/* Parses an unsigned decimal of at most 9 digits. Returns 0, or -1. */
static int xlsx_parse_uint(const xmlChar *s, size_t len, unsigned *out) {
    if (len == 0 || len > 9) return -1;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

void xlsx_column_name(size_t col, char *buf, size_t len) {
    char tmp[16];
    size_t n = 0;
    if (len == 0) return;
    for (size_t c = col + 1; c > 0 && n < sizeof tmp; c = (c - 1) / 26)
        tmp[n++] = (char)('A' + (c - 1) % 26);
    size_t i = 0;
    for (; i < n && i + 1 < len; i++)
        buf[i] = tmp[n - 1 - i];
    buf[i] = '\0';
}

/* Decodes the OOXML _xHHHH_ escapes (used for control characters) in place and
 * returns the new length. Escapes of NUL and of surrogates are left as text. */
static size_t xlsx_unescape(char *s, size_t len) {
    char *p = memchr(s, '_', len);
    if (!p) return len;
    size_t i = (size_t)(p - s), o = i;
    while (i < len) {
        unsigned cp = 0;
        int ok = s[i] == '_' && i + 7 <= len && s[i + 1] == 'x' && s[i + 6] == '_';
        for (int k = 2; ok && k < 6; k++) {
            char c = s[i + k];
            int v = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (v < 0) ok = 0;
            cp = cp * 16 + (unsigned)v;
        }
        if (ok && cp != 0 && (cp < 0xD800 || cp > 0xDFFF)) {
            if (cp < 0x80) {
                s[o++] = (char)cp;
            } else if (cp < 0x800) {
                s[o++] = (char)(0xC0 | (cp >> 6));
                s[o++] = (char)(0x80 | (cp & 0x3F));
            } else {
                s[o++] = (char)(0xE0 | (cp >> 12));
                s[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                s[o++] = (char)(0x80 | (cp & 0x3F));
            }
            i += 7;
        } else {
            s[o++] = s[i++];
        }
    }
    return o;
}

/* ------------------------------------------------------------------ dates */

/* Days since 1970-01-01 -> proleptic Gregorian y/m/d (H. Hinnant's algorithm). */
static void xlsx_civil_from_days(long long z, long long *y, unsigned *m, unsigned *d) {
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (long long)yoe + era * 400 + (*m <= 2);
}

/* y/m/d -> days since 1970-01-01. */
static long long xlsx_days_from_civil(long long y, unsigned m, unsigned d) {
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

int xlsx_date_to_iso(double serial, char *buf, size_t len) {
    if (!(serial >= 0.0) || serial >= 2958466.0) return -1; /* also rejects NaN */
    long long ms = llround(serial * 86400000.0);
    long long days = ms / 86400000, msday = ms % 86400000;
    if (days < 1 || days > 2958465) return -1;
    long long y;
    unsigned m, d;
    if (days == 60) { /* Lotus 1-2-3's 1900-02-29, which Excel keeps for compatibility */
        y = 1900, m = 2, d = 29;
    } else {
        /* Serial 25569 is 1970-01-01; before the phantom day everything is one day later. */
        xlsx_civil_from_days(days - (days < 60 ? 25568 : 25569), &y, &m, &d);
    }
    unsigned hh = (unsigned)(msday / 3600000), mi = (unsigned)(msday / 60000 % 60);
    unsigned ss = (unsigned)(msday / 1000 % 60), mss = (unsigned)(msday % 1000);
    /* "YYYY-MM-DDTHH:MM:SS[.mmm]" by hand: snprintf was a visible per-row cost. */
    size_t n = mss ? 23 : 19;
    if (len <= n) return -1;
    unsigned yy = (unsigned)y;
    char *p = buf;
    p[0] = (char)('0' + yy / 1000), p[1] = (char)('0' + yy / 100 % 10);
    p[2] = (char)('0' + yy / 10 % 10), p[3] = (char)('0' + yy % 10);
    const unsigned two[] = {m, d, hh, mi, ss};
    const char sep[] = "-T::";
    for (int i = 0; i < 5; i++) {
        p[4 + 3 * i] = i == 0 ? '-' : sep[i - 1];
        p[5 + 3 * i] = (char)('0' + two[i] / 10);
        p[6 + 3 * i] = (char)('0' + two[i] % 10);
    }
    if (mss) {
        p[19] = '.';
        p[20] = (char)('0' + mss / 100), p[21] = (char)('0' + mss / 10 % 10);
        p[22] = (char)('0' + mss % 10);
    }
    p[n] = '\0';
    return 0;
}

/* Reads exactly n digits. */
static int xlsx_digits(const char *s, int n, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Parses the ISO 8601 value of a t="d" cell ("YYYY-MM-DD[THH:MM[:SS[.fff]]][Z]")
 * into a 1900-system serial. Returns 0, or -1. */
static int xlsx_iso_to_serial(const char *s, size_t len, double *out) {
    unsigned y, mo, d, h = 0, mi = 0, sec = 0;
    double frac = 0;
    if (len > 0 && s[len - 1] == 'Z') len--;
    if (len < 10 || xlsx_digits(s, 4, &y) || s[4] != '-' || xlsx_digits(s + 5, 2, &mo) ||
        s[7] != '-' || xlsx_digits(s + 8, 2, &d))
        return -1;
    if (len > 10) {
        if (len < 16 || s[10] != 'T' || xlsx_digits(s + 11, 2, &h) || s[13] != ':' ||
            xlsx_digits(s + 14, 2, &mi))
            return -1;
        size_t i = 16;
        if (len > 16) {
            if (len < 19 || s[16] != ':' || xlsx_digits(s + 17, 2, &sec)) return -1;
            i = 19;
            if (i < len) {
                if (s[i] != '.' || i + 1 == len) return -1;
                double scale = 0.1;
                for (i++; i < len; i++, scale /= 10) {
                    if (s[i] < '0' || s[i] > '9') return -1;
                    frac += (s[i] - '0') * scale;
                }
            }
        }
    }
    if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
        return -1;
    long long days = xlsx_days_from_civil(y, mo, d);
    long long serial = days + (days >= -25508 ? 25569 : 25568); /* -25508: 1900-03-01 */
    *out = (double)serial + (h * 3600.0 + mi * 60.0 + sec + frac) / 86400.0;
    return 0;
}

/* True if a number format code shows a date or time: it contains d, m, y, h or
 * s outside quoted text, [brackets] and escaped characters. */
static int xlsx_format_is_date(const char *code) {
    for (const char *p = code; *p; p++) {
        char c = *p;
        if (c == '"') {
            while (p[1] && p[1] != '"')
                p++;
            if (p[1]) p++;
        } else if (c == '[') {
            while (p[1] && p[1] != ']')
                p++;
            if (p[1]) p++;
        } else if (c == '\\' || c == '_' || c == '*') {
            if (p[1]) p++;
        } else if (strchr("dmyhsDMYHS", c)) {
            return 1;
        }
    }
    return 0;
}

/* ----------------------------------------------------------------- errors */

/* Records the reader's error: "FILE: reason" (positionless). */
static void xlsx_fail_file(xlsx_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void xlsx_fail_file(xlsx_reader *r, const char *fmt, ...) {
    if (r->failed) return;
    r->failed = 1;
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    snprintf(r->err, sizeof r->err, "%s: %s", r->path, reason);
    if (r->cur_ctxt) xmlStopParser(r->cur_ctxt);
}

/* Records an error inside the sheet, naming the row and column being parsed. */
static void xlsx_fail(xlsx_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xlsx_fail(xlsx_reader *r, const char *fmt, ...) {
    if (r->failed) return;
    r->failed = 1;
    char reason[512], where[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (r->in_row && r->in_cell) {
        char col[16];
        if (r->col_text[0])
            snprintf(col, sizeof col, "%s", r->col_text);
        else
            xlsx_column_name(r->col, col, sizeof col);
        snprintf(where, sizeof where, " row %u column %s", r->row, col);
    } else if (r->in_row) {
        snprintf(where, sizeof where, " row %u", r->row);
    } else if (r->prev_row) {
        snprintf(where, sizeof where, " after row %u", r->prev_row);
    } else {
        where[0] = '\0';
    }
    snprintf(r->err, sizeof r->err, "%s: sheet '%s'%s: %s", r->path, r->sheet ? r->sheet : "?",
             where, reason);
    if (r->cur_ctxt) xmlStopParser(r->cur_ctxt);
}

/* libxml2's structured error callback: keeps the first real error of a part. */
static void xlsx_xml_error(void *ctx, xmlErrorPtr e) {
    xlsx_reader *r = ctx;
    if (!e || e->level < XML_ERR_ERROR || r->xml_err[0]) return;
    snprintf(r->xml_err, sizeof r->xml_err, "%s", e->message ? e->message : "XML error");
    size_t n = strlen(r->xml_err);
    while (n > 0 && (r->xml_err[n - 1] == '\n' || r->xml_err[n - 1] == ' '))
        r->xml_err[--n] = '\0';
    r->xml_line = e->line;
}

/* libxml2's generic error channel (encoding and I/O errors of the input
 * buffer): keep the first message instead of printing it on stderr. */
static void xlsx_generic_error(void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void xlsx_generic_error(void *ctx, const char *fmt, ...) {
    xlsx_reader *r = ctx;
    if (r->xml_err[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->xml_err, sizeof r->xml_err, fmt, ap);
    va_end(ap);
    r->xml_line = 0;
    size_t n = strlen(r->xml_err);
    while (n > 0 && (r->xml_err[n - 1] == '\n' || r->xml_err[n - 1] == ' '))
        r->xml_err[--n] = '\0';
}

/* Documents type declarations are never legitimate in xlsx parts: refusing
 * them rules out entity expansion attacks whatever libxml2 would do. */
static void xlsx_no_dtd(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys) {
    (void)name, (void)ext, (void)sys;
    xlsx_reader *r = ctx;
    if (!r->xml_err[0]) snprintf(r->xml_err, sizeof r->xml_err, "DOCTYPE is not allowed");
    xmlStopParser(r->cur_ctxt); /* before any entity declaration is read */
}

/* ----------------------------------------------------------- XML streams */

/* Opens a zip entry for streaming. Returns 0, 1 if the entry does not exist,
 * -1 on error (recorded). */
static int xlsx_stream_open(xlsx_reader *r, xlsx_stream *st, const char *name) {
    memset(st, 0, sizeof *st);
    st->name = name;
    st->zf = zip_fopen(r->zip, name, 0);
    if (st->zf) return 0;
    zip_error_t *ze = zip_get_error(r->zip);
    if (zip_error_code_zip(ze) == ZIP_ER_NOENT) return 1;
    xlsx_fail_file(r, "%s: %s", name, zip_error_strerror(ze));
    return -1;
}

static void xlsx_stream_close(xlsx_stream *st) {
    if (st->ctxt && st->ctxt->myDoc) xmlFreeDoc(st->ctxt->myDoc); /* libxml2 may make one */
    if (st->ctxt) xmlFreeParserCtxt(st->ctxt);
    if (st->zf) zip_fclose(st->zf);
    st->ctxt = NULL;
    st->zf = NULL;
}

/* Reports a libxml2 or zip error of the current part through fail. */
static void xlsx_stream_error(xlsx_reader *r, xlsx_stream *st, int sheet, const char *what) {
    char at[64] = "";
    if (r->xml_line > 0) snprintf(at, sizeof at, " line %d", r->xml_line);
    if (sheet)
        xlsx_fail(r, "%s (%s%s)", what, st->name, at);
    else if (at[0])
        xlsx_fail_file(r, "%s: %s (%s)", st->name, what, at + 1);
    else
        xlsx_fail_file(r, "%s: %s", st->name, what);
}

/* Feeds the next chunk of the entry to the parser (creating the parser on the
 * first call). Returns 1 while there is more, 0 once the document has been
 * completely parsed, -1 on error (recorded; sheet selects the message form). */
static int xlsx_stream_feed_chunk(xlsx_reader *r, xlsx_stream *st, xmlSAXHandler *sax, int sheet) {
    zip_int64_t n = zip_fread(st->zf, r->chunk, XLSX_CHUNK);
    if (n < 0) {
        char what[256];
        snprintf(what, sizeof what, "cannot read %s: %s (truncated or corrupt file?)", st->name,
                 zip_error_strerror(zip_file_get_error(st->zf)));
        if (sheet)
            xlsx_fail(r, "%s", what);
        else
            xlsx_fail_file(r, "%s", what);
        return -1;
    }
    const char *data = (const char *)r->chunk;
    int len = (int)n;
    if (!st->ctxt) {
        /* The first bytes let libxml2 detect the encoding. */
        int first = len < 4 ? len : 4;
        st->ctxt = xmlCreatePushParserCtxt(sax, r, data, first, st->name);
        if (!st->ctxt) {
            xlsx_fail_file(r, "%s: cannot create XML parser", st->name);
            return -1;
        }
        xmlCtxtUseOptions(st->ctxt, XML_PARSE_NONET);
        data += first;
        len -= first;
    }
    int terminate = n == 0;
    r->cur_ctxt = st->ctxt;
    int rc = xmlParseChunk(st->ctxt, data, len, terminate);
    r->cur_ctxt = NULL;
    if (r->failed) return -1;
    if (r->xml_err[0] || rc != 0 || !st->ctxt->wellFormed) {
        char what[320];
        snprintf(what, sizeof what, "malformed XML: %s",
                 r->xml_err[0] ? r->xml_err : "parse error");
        xlsx_stream_error(r, st, sheet, what);
        return -1;
    }
    if (terminate) st->finished = 1;
    return terminate ? 0 : 1;
}

/* xlsx_stream_feed_chunk() with libxml2's generic errors (encoding, I/O)
 * captured into the reader instead of printed. */
static int xlsx_stream_feed(xlsx_reader *r, xlsx_stream *st, xmlSAXHandler *sax, int sheet) {
    /* libxml2's generic error handler is per thread: borrow it for this call. */
    xmlGenericErrorFunc old_fn = xmlGenericError;
    void *old_ctx = xmlGenericErrorContext;
    xmlSetGenericErrorFunc(r, xlsx_generic_error);
    int rc = xlsx_stream_feed_chunk(r, st, sax, sheet);
    xmlSetGenericErrorFunc(old_ctx, old_fn);
    return rc;
}

/* Parses a whole small part. Returns 0, 1 if it does not exist, -1 on error. */
static int xlsx_parse_part(xlsx_reader *r, const char *name, xmlSAXHandler *sax) {
    xlsx_stream st;
    int rc = xlsx_stream_open(r, &st, name);
    if (rc != 0) return rc;
    r->xml_err[0] = '\0';
    r->xml_line = 0;
    while ((rc = xlsx_stream_feed(r, &st, sax, 0)) > 0) {
    }
    xlsx_stream_close(&st);
    return rc;
}

/* A SAX2 handler with only the given element callbacks and our error hooks. */
static void xlsx_sax_init(xmlSAXHandler *sax, startElementNsSAX2Func start,
                          endElementNsSAX2Func end, charactersSAXFunc chars) {
    memset(sax, 0, sizeof *sax);
    sax->initialized = XML_SAX2_MAGIC;
    sax->startElementNs = start;
    sax->endElementNs = end;
    sax->characters = chars;
    sax->ignorableWhitespace = chars;
    sax->cdataBlock = chars;
    sax->serror = xlsx_xml_error;
    sax->internalSubset = xlsx_no_dtd;
}

/* -------------------------------------------------------------- workbook */

static void xlsx_wb_start(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri,
                          int nns, const xmlChar **ns, int nattrs, int ndef,
                          const xmlChar **attrs) {
    (void)prefix, (void)uri, (void)nns, (void)ns, (void)ndef;
    xlsx_reader *r = ctx;
    size_t len;
    if (xlsx_is(name, "workbookPr")) {
        const xmlChar *v = xlsx_attr(attrs, nattrs, "date1904", 0, &len);
        r->date1904 = v && ((len == 1 && v[0] == '1') || (len == 4 && !memcmp(v, "true", 4)));
        return;
    }
    if (!xlsx_is(name, "sheet")) return;
    char *sname = xlsx_attr_dup(attrs, nattrs, "name", 0);
    if (!sname) return;
    if (r->sheet_names.len < 200) {
        if (r->sheet_names.len) xlsx_buf_append(&r->sheet_names, ", ", 2);
        xlsx_buf_append(&r->sheet_names, sname, strlen(sname));
        if (r->sheet_names.data) r->sheet_names.data[r->sheet_names.len] = '\0';
    }
    int match = !r->sheet_found && (r->want_sheet ? strcasecmp(r->want_sheet, sname) == 0 : 1);
    if (match) {
        r->sheet_found = 1;
        r->sheet = sname;
        r->sheet_rid = xlsx_attr_dup(attrs, nattrs, "id", 1); /* r:id */
    } else {
        free(sname);
        if (!r->sheet_found) r->sheet_index++;
    }
}

static void xlsx_ignore_end(void *ctx, const xmlChar *name, const xmlChar *prefix,
                            const xmlChar *uri) {
    (void)ctx, (void)name, (void)prefix, (void)uri;
}

static void xlsx_ignore_chars(void *ctx, const xmlChar *s, int len) {
    (void)ctx, (void)s, (void)len;
}

static void xlsx_rels_start(void *ctx, const xmlChar *name, const xmlChar *prefix,
                            const xmlChar *uri, int nns, const xmlChar **ns, int nattrs, int ndef,
                            const xmlChar **attrs) {
    (void)prefix, (void)uri, (void)nns, (void)ns, (void)ndef;
    xlsx_reader *r = ctx;
    size_t len;
    if (!xlsx_is(name, "Relationship") || r->rel_target || !r->sheet_rid) return;
    const xmlChar *id = xlsx_attr(attrs, nattrs, "Id", 0, &len);
    if (!id || len != strlen(r->sheet_rid) || memcmp(id, r->sheet_rid, len) != 0) return;
    r->rel_type = xlsx_attr_dup(attrs, nattrs, "Type", 0);
    r->rel_target = xlsx_attr_dup(attrs, nattrs, "Target", 0);
}

/* Resolves a relationship target against "xl/" into a zip entry name,
 * dropping "." and resolving ".." segments. Returns a malloc'd string. */
static char *xlsx_resolve_target(const char *target) {
    size_t tl = strlen(target);
    char *out = malloc(tl + 4);
    if (!out) return NULL;
    size_t o = 0;
    if (target[0] == '/') {
        target++;
    } else {
        memcpy(out, "xl/", 3);
        o = 3;
    }
    while (*target) {
        const char *slash = strchr(target, '/');
        size_t n = slash ? (size_t)(slash - target) : strlen(target);
        if (n == 2 && target[0] == '.' && target[1] == '.') {
            if (o > 0) o--; /* drop the trailing '/' then the last segment */
            while (o > 0 && out[o - 1] != '/')
                o--;
        } else if (!(n == 1 && target[0] == '.') && n > 0) {
            memcpy(out + o, target, n);
            o += n;
            if (slash) out[o++] = '/';
        }
        target += n + (slash ? 1 : 0);
    }
    out[o] = '\0';
    return out;
}

/* Finds the sheet's part name from the workbook and its relationships. */
static int xlsx_locate_sheet(xlsx_reader *r) {
    xmlSAXHandler sax;
    xlsx_sax_init(&sax, xlsx_wb_start, xlsx_ignore_end, xlsx_ignore_chars);
    int rc = xlsx_parse_part(r, "xl/workbook.xml", &sax);
    if (rc > 0) xlsx_fail_file(r, "no xl/workbook.xml: not an xlsx workbook");
    if (rc != 0) return -1;
    if (!r->sheet_found) {
        const char *names = r->sheet_names.len ? r->sheet_names.data : "none";
        if (r->want_sheet)
            xlsx_fail_file(r, "no sheet named '%s' (sheets: %s)", r->want_sheet, names);
        else
            xlsx_fail_file(r, "the workbook has no sheets");
        return -1;
    }
    xlsx_sax_init(&sax, xlsx_rels_start, xlsx_ignore_end, xlsx_ignore_chars);
    rc = xlsx_parse_part(r, "xl/_rels/workbook.xml.rels", &sax);
    if (rc < 0) return -1;
    if (rc > 0) {
        /* No relationships: only the conventional name of the first sheet is safe. */
        if (r->sheet_index != 0) {
            xlsx_fail_file(r, "sheet '%s': xl/_rels/workbook.xml.rels is missing", r->sheet);
            return -1;
        }
        r->sheet_part = strdup("xl/worksheets/sheet1.xml");
        return r->sheet_part ? 0 : -1;
    }
    if (!r->rel_target) {
        xlsx_fail_file(r, "sheet '%s': no relationship '%s' in xl/_rels/workbook.xml.rels",
                       r->sheet, r->sheet_rid ? r->sheet_rid : "(no r:id)");
        return -1;
    }
    size_t tl = r->rel_type ? strlen(r->rel_type) : 0;
    if (tl < 10 || strcmp(r->rel_type + tl - 10, "/worksheet") != 0) {
        xlsx_fail_file(r, "sheet '%s' is not a worksheet (%s)", r->sheet,
                       r->rel_type ? r->rel_type : "no type");
        return -1;
    }
    r->sheet_part = xlsx_resolve_target(r->rel_target);
    return r->sheet_part ? 0 : -1;
}

/* ----------------------------------------------------------------- styles */

static int xlsx_push_uint(unsigned **arr, size_t *n, size_t *cap, unsigned v) {
    if (xlsx_grow((void **)arr, cap, *n + 1, sizeof **arr) != 0) return -1;
    (*arr)[(*n)++] = v;
    return 0;
}

static void xlsx_styles_start(void *ctx, const xmlChar *name, const xmlChar *prefix,
                              const xmlChar *uri, int nns, const xmlChar **ns, int nattrs, int ndef,
                              const xmlChar **attrs) {
    (void)prefix, (void)uri, (void)nns, (void)ns, (void)ndef;
    xlsx_reader *r = ctx;
    size_t len;
    unsigned id = 0;
    if (xlsx_is(name, "cellXfs")) {
        r->in_cellxfs = 1;
    } else if (xlsx_is(name, "numFmts")) {
        r->in_numfmts = 1;
    } else if (r->in_numfmts && xlsx_is(name, "numFmt")) {
        const xmlChar *v = xlsx_attr(attrs, nattrs, "numFmtId", 0, &len);
        char *code = xlsx_attr_dup(attrs, nattrs, "formatCode", 0);
        if (v && code && xlsx_parse_uint(v, len, &id) == 0) {
            if (xlsx_format_is_date(code))
                xlsx_push_uint(&r->date_fmts, &r->ndate_fmts, &r->date_fmts_cap, id);
            else
                xlsx_push_uint(&r->plain_fmts, &r->nplain_fmts, &r->plain_fmts_cap, id);
        }
        free(code);
    } else if (r->in_cellxfs && xlsx_is(name, "xf") && r->nxf < XLSX_MAX_STYLES) {
        const xmlChar *v = xlsx_attr(attrs, nattrs, "numFmtId", 0, &len);
        if (!v || xlsx_parse_uint(v, len, &id) != 0) id = 0;
        xlsx_push_uint(&r->xf_fmt, &r->nxf, &r->xf_cap, id);
    }
}

static void xlsx_styles_end(void *ctx, const xmlChar *name, const xmlChar *prefix,
                            const xmlChar *uri) {
    (void)prefix, (void)uri;
    xlsx_reader *r = ctx;
    if (xlsx_is(name, "cellXfs")) r->in_cellxfs = 0;
    if (xlsx_is(name, "numFmts")) r->in_numfmts = 0;
}

static int xlsx_in(const unsigned *arr, size_t n, unsigned v) {
    for (size_t i = 0; i < n; i++)
        if (arr[i] == v) return 1;
    return 0;
}

/* Loads styles.xml (optional) and marks which cell styles are dates. */
static int xlsx_load_styles(xlsx_reader *r) {
    xmlSAXHandler sax;
    xlsx_sax_init(&sax, xlsx_styles_start, xlsx_styles_end, xlsx_ignore_chars);
    int rc = xlsx_parse_part(r, "xl/styles.xml", &sax);
    if (rc < 0) return -1;
    if (r->nxf == 0) return 0;
    r->xf_date = malloc(r->nxf);
    if (!r->xf_date) return -1;
    for (size_t i = 0; i < r->nxf; i++) {
        unsigned f = r->xf_fmt[i];
        int date = (f >= 14 && f <= 22) || (f >= 45 && f <= 47);
        if (xlsx_in(r->date_fmts, r->ndate_fmts, f))
            date = 1;
        else if (xlsx_in(r->plain_fmts, r->nplain_fmts, f))
            date = 0;
        r->xf_date[i] = (unsigned char)date;
    }
    return 0;
}

/* --------------------------------------------------------- shared strings */

static void xlsx_sst_start(void *ctx, const xmlChar *name, const xmlChar *prefix,
                           const xmlChar *uri, int nns, const xmlChar **ns, int nattrs, int ndef,
                           const xmlChar **attrs) {
    (void)prefix, (void)uri, (void)nns, (void)ns, (void)nattrs, (void)ndef, (void)attrs;
    xlsx_reader *r = ctx;
    if (r->failed) return;
    if (r->sst_skip) {
        r->sst_skip++;
    } else if (xlsx_is(name, "si")) {
        if (r->sst_count >= XLSX_MAX_SHARED_STRINGS) {
            xlsx_fail_file(r, "xl/sharedStrings.xml: more than %u shared strings",
                           XLSX_MAX_SHARED_STRINGS);
            return;
        }
        r->sst_in_si = 1;
        r->sst_overlong = 0;
        r->sst_start = r->sst.len;
    } else if (r->sst_in_si && (xlsx_is(name, "rPh") || xlsx_is(name, "phoneticPr"))) {
        r->sst_skip = 1; /* phonetic guides are not part of the text */
    } else if (r->sst_in_si && xlsx_is(name, "t")) {
        r->sst_capture = 1;
    }
}

static void xlsx_sst_end(void *ctx, const xmlChar *name, const xmlChar *prefix,
                         const xmlChar *uri) {
    (void)prefix, (void)uri;
    xlsx_reader *r = ctx;
    if (r->failed) return;
    if (r->sst_skip) {
        r->sst_skip--;
        return;
    }
    if (xlsx_is(name, "t")) {
        r->sst_capture = 0;
    } else if (xlsx_is(name, "si") && r->sst_in_si) {
        r->sst_in_si = 0;
        if (xlsx_buf_reserve(&r->sst, 1) != 0 ||
            xlsx_grow((void **)&r->sst_off, &r->sst_cap, r->sst_count + 2, sizeof *r->sst_off)) {
            xlsx_fail_file(r, "xl/sharedStrings.xml: out of memory");
            return;
        }
        size_t len = xlsx_unescape(r->sst.data + r->sst_start, r->sst.len - r->sst_start);
        r->sst.len = r->sst_start + len;
        if (r->sst_overlong || len > XLSX_MAX_CELL_BYTES) {
            r->sst.len = r->sst_start; /* kept empty; reading such a cell is an error */
            if (xlsx_grow((void **)&r->sst_long, &r->sst_long_cap, r->nsst_long + 1,
                          sizeof *r->sst_long) != 0) {
                xlsx_fail_file(r, "xl/sharedStrings.xml: out of memory");
                return;
            }
            r->sst_long[r->nsst_long++] = r->sst_count;
        }
        r->sst.data[r->sst.len++] = '\0';
        r->sst_off[r->sst_count++] = r->sst_start;
        r->sst_off[r->sst_count] = r->sst.len;
    }
}

static void xlsx_sst_chars(void *ctx, const xmlChar *s, int len) {
    xlsx_reader *r = ctx;
    if (!r->sst_capture || r->sst_skip || r->sst_overlong || r->failed) return;
    if (r->sst.len - r->sst_start + (size_t)len > XLSX_MAX_RAW_CELL) {
        r->sst_overlong = 1;
        return;
    }
    if (r->sst.len + (size_t)len > XLSX_MAX_SHARED_BYTES) {
        xlsx_fail_file(r, "xl/sharedStrings.xml: more than %zu bytes of text",
                       XLSX_MAX_SHARED_BYTES);
        return;
    }
    if (xlsx_buf_append(&r->sst, s, (size_t)len) != 0)
        xlsx_fail_file(r, "xl/sharedStrings.xml: out of memory");
}

/* Loads sharedStrings.xml if the workbook has one. */
static int xlsx_load_shared(xlsx_reader *r) {
    xmlSAXHandler sax;
    xlsx_sax_init(&sax, xlsx_sst_start, xlsx_sst_end, xlsx_sst_chars);
    int rc = xlsx_parse_part(r, "xl/sharedStrings.xml", &sax);
    return rc < 0 ? -1 : 0;
}

/* True if shared string i was too long to keep. */
static int xlsx_sst_is_long(const xlsx_reader *r, size_t i) {
    size_t lo = 0, hi = r->nsst_long;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->sst_long[mid] == i) return 1;
        if (r->sst_long[mid] < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* ------------------------------------------------------------ sheet rows */

/* Parses a cell reference "AB12": column (0-based; capped) and row (0 if the
 * reference has no digits). Letters beyond three make col huge. Returns 0/-1. */
static int xlsx_parse_ref(const xmlChar *s, size_t len, unsigned *col, unsigned *row) {
    size_t i = 0;
    unsigned c = 0;
    for (; i < len && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')); i++) {
        if (c < 1000000) c = c * 26 + (unsigned)((s[i] | 0x20) - 'a' + 1);
    }
    if (i == 0) return -1;
    *col = c - 1;
    *row = 0;
    if (i < len && xlsx_parse_uint(s + i, len - i, row) != 0) return -1;
    return 0;
}

/* Makes sure one more queued cell fits. */
static int xlsx_qcell_room(xlsx_reader *r) {
    if (xlsx_grow((void **)&r->qcells, &r->qcells_cap, r->nqcells + 1, sizeof *r->qcells) == 0)
        return 0;
    xlsx_fail(r, "out of memory");
    return -1;
}

static void xlsx_row_start(xlsx_reader *r, const xmlChar **attrs, int nattrs) {
    size_t len;
    const xmlChar *v = xlsx_attr(attrs, nattrs, "r", 0, &len);
    unsigned n = r->prev_row + 1;
    r->in_row = 1;
    r->row = n;
    if (v && xlsx_parse_uint(v, len, &n) != 0) {
        xlsx_fail(r, "bad row number '%.*s'", (int)(len > 20 ? 20 : len), (const char *)v);
        return;
    }
    r->row = n;
    if (n == 0 || n > XLSX_MAX_ROW) {
        xlsx_fail(r, "row number out of range (1..%u)", XLSX_MAX_ROW);
        return;
    }
    if (n <= r->prev_row) {
        xlsx_fail(r, "row out of order (after row %u)", r->prev_row);
        return;
    }
    if (xlsx_grow((void **)&r->qrows, &r->qrows_cap, r->nqrows + 1, sizeof *r->qrows) != 0) {
        xlsx_fail(r, "out of memory");
        return;
    }
    xlsx_qrow *q = &r->qrows[r->nqrows];
    q->rownum = n;
    q->width = 0;
    q->first = r->nqcells;
    q->count = 0;
    r->next_col = 0;
    r->row_text = r->arena.len;
}

static void xlsx_row_end(xlsx_reader *r) {
    xlsx_qrow *q = &r->qrows[r->nqrows];
    q->count = r->nqcells - q->first;
    if (q->rownum <= r->skip_until) { /* queued by the fast path already */
        r->nqcells = q->first;
        r->arena.len = r->row_text;
    } else if (q->width > 0) {
        r->nqrows++; /* rows without cell elements are not reported */
    }
    r->prev_row = r->row;
    r->in_row = 0;
}

/* Maps the t attribute to a value kind. Returns 0, or -1 if unknown. */
static int xlsx_cell_kind(const xmlChar *t, size_t len, xlsx_ctype *out) {
    if (!t) {
        *out = XT_NUMBER;
        return 0;
    }
    if (len == 1) {
        switch (t[0]) {
        case 'n': *out = XT_NUMBER; return 0;
        case 's': *out = XT_SHARED; return 0;
        case 'b': *out = XT_BOOL; return 0;
        case 'e': *out = XT_ERROR; return 0;
        case 'd': *out = XT_ISODATE; return 0;
        default: return -1;
        }
    }
    if (len == 9 && memcmp(t, "inlineStr", 9) == 0) {
        *out = XT_INLINE;
        return 0;
    }
    if (len == 3 && memcmp(t, "str", 3) == 0) {
        *out = XT_STR;
        return 0;
    }
    return -1;
}

static void xlsx_cell_start(xlsx_reader *r, const xmlChar **attrs, int nattrs) {
    size_t len = 0, tlen = 0, slen = 0;
    const xmlChar *ref = NULL, *t = NULL, *s = NULL;
    for (int i = 0; i < nattrs; i++) {
        const xmlChar **a = attrs + 5 * i;
        if (a[1] || a[0][1] != '\0') continue;
        if (a[0][0] == 'r')
            ref = a[3], len = (size_t)(a[4] - a[3]);
        else if (a[0][0] == 't')
            t = a[3], tlen = (size_t)(a[4] - a[3]);
        else if (a[0][0] == 's')
            s = a[3], slen = (size_t)(a[4] - a[3]);
    }
    unsigned row = 0;
    r->in_cell = 1;
    r->col = r->next_col;
    r->col_text[0] = '\0'; /* the column is named from r->col when needed */
    if (ref && xlsx_parse_ref(ref, len, &r->col, &row) != 0) {
        r->col = r->next_col;
        xlsx_fail(r, "bad cell reference '%.*s'", (int)(len > 20 ? 20 : len), (const char *)ref);
        return;
    }
    if (r->col >= XLSX_MAX_COLUMNS) {
        if (r->col >= 100000)
            snprintf(r->col_text, sizeof r->col_text, "%.*s", (int)(len > 12 ? 12 : len),
                     (const char *)ref);
        xlsx_fail(r, "too many columns (at most %d, up to column IV)", XLSX_MAX_COLUMNS);
        return;
    }
    if (row != 0 && row != r->row) {
        xlsx_fail(r, "cell reference '%.*s' is not in row %u", (int)(len > 20 ? 20 : len),
                  (const char *)ref, r->row);
        return;
    }
    if (r->col < r->next_col) {
        xlsx_fail(r, "cell repeated or out of order");
        return;
    }
    if (xlsx_cell_kind(t, tlen, &r->ctype) != 0) {
        xlsx_fail(r, "unknown cell type t=\"%.*s\"", (int)(tlen > 20 ? 20 : tlen), (const char *)t);
        return;
    }
    r->style = 0;
    if (s && xlsx_parse_uint(s, slen, &r->style) != 0) {
        xlsx_fail(r, "bad style index s=\"%.*s\"", (int)(slen > 20 ? 20 : slen), (const char *)s);
        return;
    }
    r->next_col = r->col + 1;
    r->qrows[r->nqrows].width = r->col + 1;
    r->has_value = 0;
    r->text_off = r->arena.len;
}

/* Parses a numeric value: a finite decimal number with nothing around it.
 * Plain decimals whose digits make an integer up to 2^53 (at most 16 digits)
 * take an exact fast path: the digits and the power of ten (up to 1e16) are
 * exact doubles, so one division rounds correctly; anything else (exponents,
 * long mantissas) goes to strtod. Date serials such as 45293.34791666667
 * have 16 digits. */
static int xlsx_parse_number(const char *s, size_t len, double *out) {
    static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,
                                   1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16};
    size_t i = s[0] == '-' || s[0] == '+';
    uint64_t m = 0;
    int digits = 0, frac = -1;
    for (; i < len; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            m = m * 10 + (uint64_t)(s[i] - '0');
            digits++;
            if (frac >= 0) frac++;
        } else if (s[i] == '.' && frac < 0) {
            frac = 0;
        } else {
            break;
        }
    }
    if (i == len && digits > 0 && digits <= 16 && m <= (1ull << 53)) {
        double v = frac > 0 ? (double)m / pow10[frac] : (double)m;
        *out = s[0] == '-' ? -v : v;
        return 0;
    }
    if (len == 0 || !(s[0] == '-' || s[0] == '+' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9')))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end != s + len || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* Converts the captured text of the finished cell into a queued value. */
static void xlsx_cell_end(xlsx_reader *r) {
    char *text = r->arena.data ? r->arena.data + r->text_off : NULL;
    size_t len = r->arena.len - r->text_off;
    xlsx_qcell c = {.col = r->col, .type = XLSX_EMPTY, .off = r->text_off};
    if (r->has_value && xlsx_buf_reserve(&r->arena, 1) != 0) {
        xlsx_fail(r, "out of memory");
        return;
    }
    if (r->has_value) {
        text = r->arena.data + r->text_off;
        text[len] = '\0';
    }
    switch (r->ctype) { /* errors still name this cell: in_cell stays set until the end */
    case XT_NUMBER:
    case XT_ISODATE:
        r->arena.len = r->text_off; /* the text is not needed any more */
        if (!r->has_value || len == 0) break;
        if (r->ctype == XT_ISODATE) {
            if (xlsx_iso_to_serial(text, len, &c.number) != 0) {
                xlsx_fail(r, "bad date '%.40s'", text);
                return;
            }
            c.type = XLSX_DATE;
            break;
        }
        if (xlsx_parse_number(text, len, &c.number) != 0) {
            xlsx_fail(r, "bad number '%.40s'", text);
            return;
        }
        c.type = XLSX_NUMBER;
        if (r->style < r->nxf && r->xf_date[r->style]) {
            c.type = XLSX_DATE;
            if (r->date1904) c.number += XLSX_DATE1904_OFFSET;
        }
        break;
    case XT_SHARED: {
        unsigned idx;
        r->arena.len = r->text_off;
        if (!r->has_value) break;
        if (xlsx_parse_uint((const xmlChar *)text, len, &idx) != 0 || idx >= r->sst_count) {
            xlsx_fail(r, "bad shared string index '%.20s' (%zu shared strings)", text,
                      r->sst_count);
            return;
        }
        if (r->nsst_long && xlsx_sst_is_long(r, idx)) {
            xlsx_fail(r, "cell text longer than %d bytes", XLSX_MAX_CELL_BYTES);
            return;
        }
        c.type = XLSX_STRING;
        c.ext = r->sst.data + r->sst_off[idx];
        c.len = r->sst_off[idx + 1] - r->sst_off[idx] - 1;
        break;
    }
    case XT_BOOL:
        r->arena.len = r->text_off;
        if (!r->has_value) break;
        if (len != 1 || (text[0] != '0' && text[0] != '1')) {
            xlsx_fail(r, "bad boolean '%.20s'", text);
            return;
        }
        c.type = XLSX_BOOL;
        c.number = text[0] - '0';
        break;
    case XT_INLINE:
    case XT_STR:
    case XT_ERROR:
        if (!r->has_value) {
            r->arena.len = r->text_off;
            break;
        }
        len = xlsx_unescape(text, len);
        if (len > XLSX_MAX_CELL_BYTES) {
            xlsx_fail(r, "cell text longer than %d bytes", XLSX_MAX_CELL_BYTES);
            return;
        }
        text[len] = '\0';
        r->arena.len = r->text_off + len + 1;
        c.type = r->ctype == XT_ERROR ? XLSX_ERROR : XLSX_STRING;
        c.len = len;
        break;
    }
    r->in_cell = 0;
    if (c.type == XLSX_EMPTY || xlsx_qcell_room(r) != 0) return;
    r->qcells[r->nqcells++] = c;
}

/* The element stack's top, or 0 outside sheetData. */
static int xlsx_top(const xlsx_reader *r) { return r->sp ? r->stack[r->sp - 1] : 0; }

static void xlsx_push(xlsx_reader *r, int kind) { r->stack[r->sp++] = (unsigned char)kind; }

static void xlsx_sheet_start(void *ctx, const xmlChar *name, const xmlChar *prefix,
                             const xmlChar *uri, int nns, const xmlChar **ns, int nattrs, int ndef,
                             const xmlChar **attrs) {
    (void)prefix, (void)uri, (void)nns, (void)ns, (void)ndef;
    xlsx_reader *r = ctx;
    if (r->failed) return;
    if (r->skip) {
        r->skip++;
        return;
    }
    switch (xlsx_top(r)) {
    case 0: /* outside sheetData: it is a child of the root */
        if (r->depth == 1 && xlsx_is(name, "sheetData"))
            xlsx_push(r, XK_SHEETDATA);
        else
            r->depth++;
        return;
    case XK_SHEETDATA:
        if (!xlsx_is(name, "row")) break;
        xlsx_push(r, XK_ROW);
        xlsx_row_start(r, attrs, nattrs);
        return;
    case XK_ROW:
        if (!xlsx_is(name, "c")) break;
        xlsx_push(r, XK_CELL);
        xlsx_cell_start(r, attrs, nattrs);
        return;
    case XK_CELL:
        if (xlsx_is(name, "v")) {
            xlsx_push(r, XK_V);
            r->has_value = 1;
            r->capture = 1;
            return;
        }
        if (!xlsx_is(name, "is") || r->ctype != XT_INLINE) break;
        xlsx_push(r, XK_IS);
        r->has_value = 1;
        return;
    case XK_IS:
        if (xlsx_is(name, "r")) {
            xlsx_push(r, XK_RUN);
            return;
        }
        /* fall through - a <t> directly in <is> */
    case XK_RUN:
        if (!xlsx_is(name, "t")) break; /* rPr, rPh (phonetic) and others */
        xlsx_push(r, XK_T);
        r->capture = 1;
        return;
    default: break;
    }
    r->skip = 1; /* an element we do not need: ignore its whole subtree */
}

static void xlsx_sheet_end(void *ctx, const xmlChar *name, const xmlChar *prefix,
                           const xmlChar *uri) {
    (void)name, (void)prefix, (void)uri;
    xlsx_reader *r = ctx;
    if (r->failed) return;
    if (r->skip) {
        r->skip--;
        return;
    }
    if (r->sp == 0) {
        if (r->depth) r->depth--;
        return;
    }
    switch (r->stack[--r->sp]) {
    case XK_V:
    case XK_T: r->capture = 0; break;
    case XK_CELL: xlsx_cell_end(r); break;
    case XK_ROW: xlsx_row_end(r); break;
    default: break;
    }
}

static void xlsx_sheet_chars(void *ctx, const xmlChar *s, int len) {
    xlsx_reader *r = ctx;
    if (!r->capture || r->skip || r->failed) return;
    if (r->arena.len - r->text_off + (size_t)len > XLSX_MAX_RAW_CELL) {
        xlsx_fail(r, "cell text longer than %d bytes", XLSX_MAX_CELL_BYTES);
        return;
    }
    if (xlsx_buf_append(&r->arena, s, (size_t)len) != 0) xlsx_fail(r, "out of memory");
}

/* Empties the queue before the next chunk, keeping the row in progress (its
 * cells and text move to the front). */
static void xlsx_queue_reset(xlsx_reader *r) {
    size_t first = r->in_row ? r->qrows[r->nqrows].first : r->nqcells;
    size_t text = r->in_row ? r->row_text : r->arena.len;
    size_t keep = r->nqcells - first;
    if (r->in_row) r->qrows[0] = r->qrows[r->nqrows];
    if (keep) memmove(r->qcells, r->qcells + first, keep * sizeof *r->qcells);
    for (size_t i = 0; i < keep; i++)
        if (!r->qcells[i].ext) r->qcells[i].off -= text;
    if (r->arena.len > text) memmove(r->arena.data, r->arena.data + text, r->arena.len - text);
    r->arena.len -= text;
    if (r->in_cell) r->text_off -= text;
    r->row_text = 0;
    if (r->in_row) r->qrows[0].first = 0;
    r->nqcells = keep;
    r->nqrows = 0;
    r->qhead = 0;
}

/* Hands out the next queued row as a dense array of cells. */
static void xlsx_emit_row(xlsx_reader *r, const xlsx_cell **cells, size_t *ncells,
                          unsigned *rownum) {
    const xlsx_qrow *q = &r->qrows[r->qhead++];
    for (unsigned i = 0; i < q->width; i++) {
        r->out[i].type = XLSX_EMPTY;
        r->out[i].number = 0;
        r->out[i].str = "";
        r->out[i].len = 0;
    }
    for (size_t i = 0; i < q->count; i++) {
        const xlsx_qcell *c = &r->qcells[q->first + i];
        xlsx_cell *o = &r->out[c->col];
        o->type = c->type;
        o->number = c->number;
        if (c->type == XLSX_STRING || c->type == XLSX_ERROR) {
            o->str = c->ext ? c->ext : r->arena.data + c->off;
            o->len = c->len;
        }
    }
    *cells = r->out;
    *ncells = q->width;
    *rownum = q->rownum;
}

/* ------------------------------------------------------ sheet fast path
 *
 * libxml2 took most of the time of reading a big sheet. The fast path is a
 * scanner for the plain, well-formed XML that spreadsheet writers produce:
 * ASCII element and attribute names, no comments, CDATA, DOCTYPE or
 * processing instructions, namespace prefixes on attributes only (declared on
 * the root element). It calls the sheet's SAX handlers with the arguments
 * they read from libxml2 (local names, attribute values with references
 * decoded and whitespace normalised as libxml2 does; text with references
 * decoded), so the rows and the errors the handlers raise are the same.
 *
 * It checks everything libxml2 would reject in that subset (names, nesting,
 * attribute syntax and duplicates, undeclared prefixes, references, UTF-8 and
 * XML characters, "]]>", what comes before and after the root element). On
 * anything outside the subset, anything wrong, or a read error, it gives up:
 * the rows completed so far stand, the row in progress is dropped, and
 * libxml2 reads the sheet again from the start, skipping the rows already
 * queued (skip_until), so unusual files and every error are handled exactly
 * as libxml2 handles them. The environment can choose: GK_XLSX_PARSER=libxml2
 * turns the fast path off, GK_XLSX_PARSER=fast (for tests) makes giving up an
 * error instead. */

#define XF_MORE 1   /* the window ends inside a token: read more */
#define XF_GIVE_UP 2 /* let libxml2 read the sheet */

/* Byte classes: text bytes that need a closer look, and name characters. */
#define XC_TEXT_STOP 1 /* '<', '&', '\r', ']', non-ASCII, control characters */
#define XC_NAME_START 2
#define XC_NAME 4
#define XC_SPACE 8
static unsigned char xlsx_class[256];

static void xlsx_class_init(void) {
    for (int c = 0; c < 256; c++) {
        unsigned char k = 0;
        if (c == '<' || c == '&' || c == '\r' || c == ']' || c >= 0x80 ||
            (c < 0x20 && c != '\t' && c != '\n'))
            k |= XC_TEXT_STOP;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_') k |= XC_NAME_START;
        if ((k & XC_NAME_START) || (c >= '0' && c <= '9') || c == '.' || c == '-') k |= XC_NAME;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') k |= XC_SPACE;
        xlsx_class[c] = k;
    }
}

/* Finds needle in hay[0..n) (memmem is a GNU extension). */
static const char *xlsx_find(const char *hay, size_t n, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, k) == 0) return hay + i;
    return NULL;
}

/* Checks the UTF-8 sequence at s (n bytes available) that starts with a
 * non-ASCII byte. Returns its length, 0 if more bytes are needed, or -1 if it
 * is not UTF-8 or not an XML character (surrogates, U+FFFE, U+FFFF). */
static int xlsx_fast_utf8(const unsigned char *s, size_t n) {
    unsigned c = s[0], cp;
    int len;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else return -1;
    for (int k = 1; k < len; k++) {
        if ((size_t)k >= n) return 0;
        if ((s[k] & 0xC0) != 0x80) return -1;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
        return -1;
    return len;
}

/* Writes code point cp as UTF-8; returns the length. */
static int xlsx_fast_put_utf8(unsigned cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the reference at s ('&', n bytes available) into out (4 bytes).
 * Returns the reference's length and sets *outlen, 0 if more bytes are
 * needed, or -1 if it is not a predefined entity or a character reference to
 * an XML character. */
static int xlsx_fast_ref(const char *s, size_t n, char *out, int *outlen) {
    static const struct {
        const char *name;
        char c;
    } pre[] = {{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''}};
    const char *semi = memchr(s, ';', n < 12 ? n : 12);
    if (!semi) return n < 12 ? 0 : -1;
    size_t len = (size_t)(semi - s) + 1;
    if (s[1] != '#') {
        for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
            if (strlen(pre[i].name) == len - 1 && memcmp(s + 1, pre[i].name, len - 1) == 0) {
                out[0] = pre[i].c;
                *outlen = 1;
                return (int)len;
            }
        }
        return -1;
    }
    int hex = s[2] == 'x';
    size_t i = hex ? 3 : 2;
    if (i >= len - 1) return -1;
    unsigned cp = 0;
    for (; i < len - 1; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9'            ? c - '0'
                : hex && c >= 'a' && c <= 'f'   ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F'   ? c - 'A' + 10
                                                : -1;
        if (v < 0) return -1;
        cp = cp * (hex ? 16 : 10) + (unsigned)v;
    }
    if (!(cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
          (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF)))
        return -1;
    *outlen = xlsx_fast_put_utf8(cp, out);
    return (int)len;
}

/* Scans text up to the next '<' in the window, handing it to the handler in
 * runs. Outside the root element only whitespace is allowed. */
static int xlsx_fast_text(xlsx_reader *r, int eof) {
    const unsigned char *w = (const unsigned char *)r->fwin.data;
    size_t end = r->fwin.len, i = r->fpos, run = i;
    int content = r->fwhere == 1;
    for (;;) {
        while (i < end && !(xlsx_class[w[i]] & XC_TEXT_STOP)) {
            if (!content && !(xlsx_class[w[i]] & XC_SPACE)) return XF_GIVE_UP;
            i++;
        }
        if (i > run && content) xlsx_sheet_chars(r, w + run, (int)(i - run));
        r->fpos = run = i;
        if (r->failed) return 0;
        if (i == end) return 0;
        unsigned char c = w[i];
        if (c == '<') return 0;
        if (!content && c != '\r') return XF_GIVE_UP;
        if (c == '\r') {
            /* Line ends in captured text are left to libxml2 ("\r\n" and "\r"
             * become "\n"); elsewhere the handler ignores them. */
            if (r->capture) return XF_GIVE_UP;
            run = ++i;
            continue;
        }
        if (c == ']') {
            if (end - i < 3 && !eof) return XF_MORE;
            if (end - i >= 3 && w[i + 1] == ']' && w[i + 2] == '>') return XF_GIVE_UP;
            i++;
            continue;
        }
        if (c == '&') {
            char dec[4];
            int dlen, n = xlsx_fast_ref((const char *)w + i, end - i, dec, &dlen);
            if (n == 0) return eof ? XF_GIVE_UP : XF_MORE;
            if (n < 0) return XF_GIVE_UP;
            xlsx_sheet_chars(r, (const xmlChar *)dec, dlen);
            i += (size_t)n;
            r->fpos = run = i;
            if (r->failed) return 0;
            continue;
        }
        if (c < 0x80) return XF_GIVE_UP; /* a control character */
        int n = xlsx_fast_utf8(w + i, end - i);
        if (n == 0) return eof ? XF_GIVE_UP : XF_MORE;
        if (n < 0) return XF_GIVE_UP;
        i += (size_t)n;
    }
}

/* Scans a name at w[i..end). Returns its end, or 0 if the window ends first;
 * *colon gets the offset of a ':' (0: none), -1 in *bad if it is not a plain
 * ASCII name (at most one colon, not at either end). */
static size_t xlsx_fast_name(const unsigned char *w, size_t i, size_t end, size_t *colon,
                             int *bad) {
    size_t start = i;
    *colon = 0;
    *bad = 0;
    if (i < end && !(xlsx_class[w[i]] & XC_NAME_START)) {
        *bad = 1;
        return i;
    }
    for (; i < end; i++) {
        if (xlsx_class[w[i]] & XC_NAME) continue;
        if (w[i] != ':') break;
        if (*colon || i == start || i + 1 >= end || !(xlsx_class[w[i + 1]] & XC_NAME_START)) {
            if (i + 1 >= end) return 0;
            *bad = 1;
            return i;
        }
        *colon = i;
    }
    if (i == end) return 0;
    if (i - start > XLSX_FAST_MAX_NAME) *bad = 1;
    return i;
}

/* True if a[0..n) equals b[0..n). Names are short: a loop beats calling memcmp. */
static int xlsx_same(const unsigned char *a, const unsigned char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

/* Skips whitespace; returns the new offset. */
static size_t xlsx_fast_space(const unsigned char *w, size_t i, size_t end) {
    while (i < end && (xlsx_class[w[i]] & XC_SPACE)) i++;
    return i;
}

/* Decodes an attribute value as libxml2 does (references replaced, except
 * that an ampersand stays "&#38;"; each of tab, newline, carriage return and
 * CR LF becoming one space) into out, which is never longer than the value.
 * Returns the length, or -1 if a reference is invalid. */
static long xlsx_fast_attr_value(const char *s, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (c == '&') {
            int dlen, k = xlsx_fast_ref(s + i, n - i, out + o, &dlen);
            if (k <= 0) return -1;
            if (dlen == 1 && out[o] == '&') { /* libxml2 keeps an ampersand escaped */
                memcpy(out + o, "&#38;", 5);
                dlen = 5;
            }
            o += (size_t)dlen;
            i += (size_t)k;
        } else if (c == '\r' || c == '\n' || c == '\t') {
            out[o++] = ' ';
            i += c == '\r' && i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
        } else {
            out[o++] = c;
            i++;
        }
    }
    return (long)o;
}

/* True if libxml2 takes v[0..n) as a namespace name without an error: empty,
 * or a URI its own parser accepts. */
static int xlsx_fast_uri_ok(const char *v, size_t n) {
    if (n == 0) return 1;
    char *copy = strndup(v, n);
    xmlURIPtr uri = copy ? xmlParseURI(copy) : NULL;
    free(copy);
    if (!uri) return 0;
    xmlFreeURI(uri);
    return 1;
}

/* True if prefix p[0..n) was declared on the root element (or is "xml"). */
static int xlsx_fast_prefix_known(const xlsx_reader *r, const char *p, size_t n) {
    if (n == 3 && memcmp(p, "xml", 3) == 0) return 1;
    for (size_t i = 0; i < r->fnprefixes; i++) {
        const char *d = r->fprefixes.data + r->fprefix_off[i];
        if (strlen(d) == n && memcmp(d, p, n) == 0) return 1;
    }
    return 0;
}

/* Parses the attributes of the start tag whose name ends at i, up to and
 * including '>' or "/>". Fills r->fattrs; sets *empty for "/>" and *after to
 * the offset after the tag. Returns 0, XF_MORE or XF_GIVE_UP. */
static int xlsx_fast_attrs(xlsx_reader *r, size_t i, int *empty, size_t *after) {
    const unsigned char *w = (const unsigned char *)r->fwin.data;
    size_t end = r->fwin.len;
    r->nfattrs = 0;
    for (;;) {
        size_t j = xlsx_fast_space(w, i, end);
        if (j == end) return XF_MORE;
        if (w[j] == '>') {
            *empty = 0;
            *after = j + 1;
            return 0;
        }
        if (w[j] == '/') {
            if (j + 1 == end) return XF_MORE;
            if (w[j + 1] != '>') return XF_GIVE_UP;
            *empty = 1;
            *after = j + 2;
            return 0;
        }
        if (j == i) return XF_GIVE_UP; /* attributes need whitespace before them */
        if (r->nfattrs == XLSX_FAST_MAX_ATTRS) return XF_GIVE_UP;
        xlsx_fast_attr *a = &r->fattrs[r->nfattrs];
        int bad;
        a->name = j;
        a->name_end = xlsx_fast_name(w, j, end, &a->colon, &bad);
        if (bad) return XF_GIVE_UP;
        if (a->name_end == 0) return XF_MORE;
        j = xlsx_fast_space(w, a->name_end, end);
        if (j == end) return XF_MORE;
        if (w[j] != '=') return XF_GIVE_UP;
        j = xlsx_fast_space(w, j + 1, end);
        if (j == end) return XF_MORE;
        unsigned char q = w[j];
        if (q != '"' && q != '\'') return XF_GIVE_UP;
        a->value = ++j;
        a->decode = 0;
        for (; j < end && w[j] != q; j++) {
            unsigned char c = w[j];
            if (c == '<') return XF_GIVE_UP;
            if (c == '&' || c == '\t' || c == '\n' || c == '\r') {
                a->decode = 1;
            } else if (c >= 0x80) {
                int n = xlsx_fast_utf8(w + j, end - j);
                if (n == 0) return XF_MORE;
                if (n < 0) return XF_GIVE_UP;
                j += (size_t)n - 1;
            } else if (c < 0x20) {
                return XF_GIVE_UP;
            }
        }
        if (j == end) return XF_MORE;
        a->value_end = j;
        r->nfattrs++;
        i = j + 1;
    }
}

/* Checks the attributes of a complete start tag (namespace declarations only
 * on the root, prefixes declared, no two attributes with one local name) and
 * builds libxml2's attribute array in r->fattr_ptrs, NUL-terminating names in
 * the window. Returns the number of attributes passed on, or -1 to give up. */
static int xlsx_fast_attr_array(xlsx_reader *r, int root) {
    unsigned char *w = (unsigned char *)r->fwin.data;
    size_t decode_room = 0;
    int n = 0;
    for (size_t k = 0; k < r->nfattrs; k++) {
        xlsx_fast_attr *a = &r->fattrs[k];
        size_t nlen = a->name_end - a->name;
        int xmlns = (nlen == 5 && memcmp(w + a->name, "xmlns", 5) == 0) ||
                    (a->colon && a->colon - a->name == 5 && memcmp(w + a->name, "xmlns", 5) == 0);
        if (xmlns) {
            /* Declarations only on the root, and not of the reserved names. */
            const char *v = (const char *)w + a->value;
            size_t vlen = a->value_end - a->value;
            if (!root || a->decode || xlsx_find(v, vlen, "www.w3.org/XML/1998") ||
                xlsx_find(v, vlen, "www.w3.org/2000/xmlns") || !xlsx_fast_uri_ok(v, vlen))
                return -1;
            if (a->colon) { /* xmlns:p="uri": a non-empty URI, p not reserved */
                size_t plen = a->name_end - a->colon - 1;
                if (a->value_end == a->value ||
                    (plen >= 3 && strncasecmp((char *)w + a->colon + 1, "xml", 3) == 0) ||
                    xlsx_fast_prefix_known(r, (char *)w + a->colon + 1, plen) ||
                    r->fnprefixes == XLSX_FAST_MAX_PREFIXES)
                    return -1;
                if (xlsx_grow((void **)&r->fprefix_off, &r->fprefix_cap, r->fnprefixes + 1,
                              sizeof *r->fprefix_off) != 0)
                    return -1;
                r->fprefix_off[r->fnprefixes++] = r->fprefixes.len;
                if (xlsx_buf_append(&r->fprefixes, w + a->colon + 1, plen) != 0) return -1;
                r->fprefixes.data[r->fprefixes.len++] = '\0';
            } else if (r->fdefault_ns++) {
                return -1; /* two default namespace declarations */
            }
            a->name = 0; /* not an attribute for SAX2 */
            continue;
        }
        if (a->decode) decode_room += a->value_end - a->value;
        n++;
    }
    /* Prefixes are checked once every declaration of the tag is known; two
     * attributes with one local name may be duplicates in libxml2's eyes. */
    for (size_t k = 0; k < r->nfattrs; k++) {
        const xlsx_fast_attr *a = &r->fattrs[k];
        if (a->name == 0) continue;
        size_t ln = a->colon ? a->colon + 1 : a->name;
        if (a->colon && !xlsx_fast_prefix_known(r, (char *)w + a->name, a->colon - a->name))
            return -1;
        for (size_t m = 0; m < k; m++) {
            const xlsx_fast_attr *b = &r->fattrs[m];
            if (b->name == 0) continue;
            size_t lb = b->colon ? b->colon + 1 : b->name, nl = a->name_end - ln;
            if (nl == b->name_end - lb && xlsx_same(w + ln, w + lb, nl)) return -1;
        }
    }
    r->fscratch.len = 0;
    if (xlsx_buf_reserve(&r->fscratch, decode_room + 1) != 0) return -1;
    const xmlChar **p = r->fattr_ptrs;
    for (size_t k = 0; k < r->nfattrs; k++) {
        xlsx_fast_attr *a = &r->fattrs[k];
        if (a->name == 0) continue;
        const char *v = (const char *)w + a->value;
        size_t vlen = a->value_end - a->value;
        if (a->decode) {
            char *out = r->fscratch.data + r->fscratch.len;
            long dl = xlsx_fast_attr_value(v, vlen, out);
            if (dl < 0) return -1;
            r->fscratch.len += (size_t)dl;
            v = out;
            vlen = (size_t)dl;
        }
        w[a->name_end] = '\0'; /* the byte after a name is '=' or a space, already read */
        if (a->colon) w[a->colon] = '\0';
        p[0] = w + (a->colon ? a->colon + 1 : a->name);
        p[1] = a->colon ? w + a->name : NULL;
        p[2] = NULL; /* the namespace URI: the handlers do not read it */
        p[3] = (const xmlChar *)v;
        p[4] = (const xmlChar *)v + vlen;
        p += 5;
    }
    return n;
}

/* Scans one start tag at fpos ('<' and a name start) and calls the handlers. */
static int xlsx_fast_start_tag(xlsx_reader *r) {
    unsigned char *w = (unsigned char *)r->fwin.data;
    size_t end = r->fwin.len, colon, after;
    int bad, empty = 0;
    size_t name = r->fpos + 1, name_end = xlsx_fast_name(w, name, end, &colon, &bad);
    if (bad || colon) return XF_GIVE_UP; /* prefixed element names: libxml2 */
    if (name_end == 0) return XF_MORE;
    if (r->fwhere == 2 || r->fdepth == XLSX_FAST_MAX_DEPTH) return XF_GIVE_UP;
    int rc = xlsx_fast_attrs(r, name_end, &empty, &after);
    if (rc) return rc;
    int nattrs = xlsx_fast_attr_array(r, r->fwhere == 0);
    if (nattrs < 0) return XF_GIVE_UP;
    /* Remember the name for its end tag before the window is changed. */
    size_t nlen = name_end - name;
    if (!empty) {
        if (xlsx_grow((void **)&r->fname_off, &r->fname_cap, (size_t)r->fdepth + 1,
                      sizeof *r->fname_off) != 0 ||
            xlsx_buf_append(&r->fnames, w + name, nlen) != 0)
            return XF_GIVE_UP;
        r->fname_off[r->fdepth++] = r->fnames.len - nlen;
    }
    w[name_end] = '\0';
    r->fpos = after;
    r->fwhere = 1;
    xlsx_sheet_start(r, w + name, NULL, NULL, 0, NULL, nattrs, 0, r->fattr_ptrs);
    if (empty && !r->failed) {
        xlsx_sheet_end(r, w + name, NULL, NULL);
        if (r->fdepth == 0) r->fwhere = 2;
    }
    return 0;
}

/* Scans one end tag at fpos ("</") and calls the handler. */
static int xlsx_fast_end_tag(xlsx_reader *r) {
    unsigned char *w = (unsigned char *)r->fwin.data;
    size_t end = r->fwin.len, colon;
    int bad;
    size_t name = r->fpos + 2, name_end = xlsx_fast_name(w, name, end, &colon, &bad);
    if (bad || colon) return XF_GIVE_UP;
    if (name_end == 0) return XF_MORE;
    size_t j = xlsx_fast_space(w, name_end, end);
    if (j == end) return XF_MORE;
    if (w[j] != '>' || r->fdepth == 0) return XF_GIVE_UP;
    size_t open = r->fname_off[r->fdepth - 1], nlen = name_end - name;
    if (r->fnames.len - open != nlen ||
        !xlsx_same((const unsigned char *)r->fnames.data + open, w + name, nlen))
        return XF_GIVE_UP; /* not the element that is open */
    r->fnames.len = open;
    r->fdepth--;
    w[name_end] = '\0';
    r->fpos = j + 1;
    if (r->fdepth == 0) r->fwhere = 2;
    xlsx_sheet_end(r, w + name, NULL, NULL);
    return 0;
}

/* Checks an XML declaration at the very start of the sheet: version 1.0,
 * encoding UTF-8 if any, standalone yes or no. */
static int xlsx_fast_decl(xlsx_reader *r, int eof) {
    const char *w = r->fwin.data;
    size_t n = r->fwin.len;
    const char *close = n > 6 ? xlsx_find(w, n < 512 ? n : 512, "?>") : NULL;
    if (!close) return n < 512 && !eof ? XF_MORE : XF_GIVE_UP;
    size_t len = (size_t)(close - w);
    char decl[512];
    for (size_t i = 0; i < len; i++) { /* printable ASCII and spaces only */
        unsigned char c = (unsigned char)w[i];
        if (c >= 0x7F || (c < 0x20 && !(xlsx_class[c] & XC_SPACE))) return XF_GIVE_UP;
    }
    memcpy(decl, w, len);
    decl[len] = '\0';
    /* The accepted forms, with either quote (spaces inside are not). */
    const char *p = decl + 5;
    if (memcmp(decl, "<?xml", 5) != 0 || !(xlsx_class[(unsigned char)*p] & XC_SPACE))
        return XF_GIVE_UP;
    static const char *const keys[] = {"version", "encoding", "standalone"};
    int seen = 0;
    for (int k = 0; k < 3; k++) {
        const char *q = p;
        while (*q && (xlsx_class[(unsigned char)*q] & XC_SPACE)) q++;
        size_t kl = strlen(keys[k]);
        if (q == p || strncmp(q, keys[k], kl) != 0) {
            if (k == 0) return XF_GIVE_UP;
            continue;
        }
        q += kl;
        while (xlsx_class[(unsigned char)*q] & XC_SPACE) q++;
        if (*q++ != '=') return XF_GIVE_UP;
        while (xlsx_class[(unsigned char)*q] & XC_SPACE) q++;
        char quote = *q++;
        if (quote != '"' && quote != '\'') return XF_GIVE_UP;
        const char *v = q;
        while (*q && *q != quote) q++;
        if (*q != quote) return XF_GIVE_UP;
        size_t vl = (size_t)(q - v);
        int ok = k == 0   ? vl == 3 && memcmp(v, "1.0", 3) == 0
                 : k == 1 ? vl == 5 && strncasecmp(v, "UTF-8", 5) == 0
                          : (vl == 3 && memcmp(v, "yes", 3) == 0) ||
                                (vl == 2 && memcmp(v, "no", 2) == 0);
        if (!ok) return XF_GIVE_UP;
        p = q + 1;
        seen |= 1 << k;
    }
    while (*p && (xlsx_class[(unsigned char)*p] & XC_SPACE)) p++;
    if (*p || !(seen & 1)) return XF_GIVE_UP;
    r->fpos = len + 2;
    return 0;
}

/* If w[i..end) starts with lit (n bytes), returns the offset after it, else 0. */
static size_t xlsx_fast_lit(const unsigned char *w, size_t i, size_t end, const char *lit,
                            size_t n) {
    return end - i >= n && memcmp(w + i, lit, n) == 0 ? i + n : 0;
}

/* Matches ' N="VALUE"' at w[i..end), N being the one-letter name, VALUE only
 * name characters (nothing to decode). Returns the offset after it and the
 * value's bounds, or 0. */
static size_t xlsx_fast_cell_attr(const unsigned char *w, size_t i, size_t end, char name,
                                  size_t *v, size_t *v_end) {
    if (end - i < 5 || w[i] != ' ' || w[i + 1] != (unsigned char)name || w[i + 2] != '=' ||
        w[i + 3] != '"')
        return 0;
    size_t j = i + 4;
    while (j < end && (xlsx_class[w[j]] & XC_NAME)) j++;
    if (j == end || w[j] != '"') return 0;
    *v = i + 4;
    *v_end = j;
    return j + 1;
}

/* The common cell, whole in the window and in exactly the form spreadsheet
 * writers give it: <c r=".." s=".." t="..">  (each attribute optional, in
 * that order, plain values) followed by <v>TEXT</v></c> or
 * <is><t>TEXT</t></is></c>, TEXT plain text or UTF-8 without references,
 * "]" or carriage returns. Lexing that literally instead of tag by tag
 * roughly halves the time of reading a sheet. The handlers get exactly the
 * calls the general scanner would make, so the rows and errors are the same.
 * Returns 1 if the cell was consumed, 0 to leave it to the general scanner. */
static int xlsx_fast_cell(xlsx_reader *r) {
    static const xmlChar *const names[3] = {(const xmlChar *)"r", (const xmlChar *)"s",
                                            (const xmlChar *)"t"};
    const unsigned char *w = (const unsigned char *)r->fwin.data;
    size_t end = r->fwin.len, i = r->fpos + 2, j; /* after "<c" */
    if (r->fwhere != 1 || r->fdepth + 3 > XLSX_FAST_MAX_DEPTH) return 0;
    const xmlChar *attrs[15];
    int nattrs = 0;
    for (int k = 0; k < 3; k++) {
        size_t v, v_end;
        if (!(j = xlsx_fast_cell_attr(w, i, end, (char)names[k][0], &v, &v_end))) continue;
        const xmlChar **a = attrs + 5 * nattrs++;
        a[0] = names[k];
        a[1] = a[2] = NULL;
        a[3] = w + v;
        a[4] = w + v_end;
        i = j;
    }
    if (i >= end || w[i] != '>') return 0;
    int inline_str = 0;
    if (!(j = xlsx_fast_lit(w, i + 1, end, "<v>", 3))) {
        if (!(j = xlsx_fast_lit(w, i + 1, end, "<is><t>", 7))) return 0;
        inline_str = 1;
    }
    size_t text = j;
    for (; j < end; j++) {
        unsigned char c = w[j];
        if (!(xlsx_class[c] & XC_TEXT_STOP)) continue;
        if (c == '<') break;
        if (c < 0x80) return 0; /* '&', ']', '\r', control characters */
        int n = xlsx_fast_utf8(w + j, end - j);
        if (n <= 0) return 0;
        j += (size_t)n - 1;
    }
    if (j == end) return 0;
    size_t text_end = j;
    j = inline_str ? xlsx_fast_lit(w, j, end, "</t></is></c>", 13)
                   : xlsx_fast_lit(w, j, end, "</v></c>", 8);
    if (!j) return 0;
    r->fpos = j;
    xlsx_sheet_start(r, (const xmlChar *)"c", NULL, NULL, 0, NULL, nattrs, 0, attrs);
    if (inline_str) xlsx_sheet_start(r, (const xmlChar *)"is", NULL, NULL, 0, NULL, 0, 0, NULL);
    xlsx_sheet_start(r, (const xmlChar *)(inline_str ? "t" : "v"), NULL, NULL, 0, NULL, 0, 0, NULL);
    if (text_end > text) xlsx_sheet_chars(r, w + text, (int)(text_end - text));
    for (int k = inline_str ? 3 : 2; k > 0; k--) xlsx_sheet_end(r, NULL, NULL, NULL);
    return 1;
}

/* Scans the window: text and tags until the window ends inside a token. */
static int xlsx_fast_scan(xlsx_reader *r, int eof) {
    if (!r->fstarted) {
        if (r->fwin.len < 5 && !eof) return XF_MORE;
        if (r->fwin.len >= 5 && memcmp(r->fwin.data, "<?xml", 5) == 0) {
            int rc = xlsx_fast_decl(r, eof);
            if (rc) return rc;
        } else if (r->fwin.len >= 2 && r->fwin.data[0] == '<' && r->fwin.data[1] == '?') {
            return XF_GIVE_UP;
        }
        r->fstarted = 1;
    }
    while (r->fpos < r->fwin.len && !r->failed) {
        const char *w = r->fwin.data;
        int rc;
        if (w[r->fpos] != '<') {
            rc = xlsx_fast_text(r, eof);
        } else if (r->fpos + 1 == r->fwin.len) {
            rc = XF_MORE;
        } else if (w[r->fpos + 1] == '/') {
            rc = xlsx_fast_end_tag(r);
        } else if (w[r->fpos + 1] == 'c' && r->fpos + 2 < r->fwin.len && w[r->fpos + 2] == ' ' &&
                   xlsx_fast_cell(r)) {
            rc = 0;
        } else if (xlsx_class[(unsigned char)w[r->fpos + 1]] & XC_NAME_START) {
            rc = xlsx_fast_start_tag(r);
        } else {
            rc = XF_GIVE_UP; /* comments, CDATA, DOCTYPE, processing instructions */
        }
        if (rc == XF_MORE && (eof || r->fwin.len - r->fpos > XLSX_FAST_MAX_TAG)) rc = XF_GIVE_UP;
        if (rc) return rc;
    }
    return 0;
}

/* Reads the next chunk of the sheet into the window and scans it. Returns 1
 * while there is more, 0 at the end of the sheet, -1 after an error (a
 * handler's), XF_GIVE_UP for libxml2 to take over. */
static int xlsx_fast_feed(xlsx_reader *r) {
    xlsx_buf *b = &r->fwin;
    if (r->fpos) {
        memmove(b->data, b->data + r->fpos, b->len - r->fpos);
        b->len -= r->fpos;
        r->fpos = 0;
    }
    if (xlsx_buf_reserve(b, XLSX_CHUNK + 1) != 0) return XF_GIVE_UP;
    zip_int64_t n = zip_fread(r->ss.zf, b->data + b->len, XLSX_CHUNK);
    if (n < 0) return XF_GIVE_UP; /* libxml2's reading reports it at the same place */
    b->len += (size_t)n;
    int eof = n == 0;
    int rc = xlsx_fast_scan(r, eof);
    if (r->failed) return -1;
    if (rc == XF_GIVE_UP) return XF_GIVE_UP;
    if (!eof) return 1;
    if (r->fwhere != 2 || r->fpos != b->len) return XF_GIVE_UP; /* libxml2 says what is wrong */
    r->ss.finished = 1;
    return 0;
}

/* Hands the sheet over to libxml2: the row in progress is dropped, the
 * completed ones stay queued, and libxml2 reads the sheet from the start,
 * skipping rows up to the last completed one. Returns 0, or -1 (recorded). */
static int xlsx_fast_fallback(xlsx_reader *r) {
    if (r->in_row) {
        r->nqcells = r->qrows[r->nqrows].first;
        r->arena.len = r->row_text;
    }
    r->skip_until = r->prev_row;
    r->fast = 0;
    r->depth = r->skip = 0;
    r->sp = r->capture = 0;
    r->row = r->prev_row = r->col = r->next_col = 0;
    r->in_row = r->in_cell = r->has_value = 0;
    r->row_text = r->arena.len;
    xlsx_stream_close(&r->ss);
    int rc = xlsx_stream_open(r, &r->ss, r->sheet_part);
    if (rc > 0) xlsx_fail_file(r, "sheet '%s': part %s is missing", r->sheet, r->sheet_part);
    if (rc != 0) return -1;
    r->ss.name = r->sheet_part;
    r->xml_err[0] = '\0';
    r->xml_line = 0;
    return 0;
}

int xlsx_next_row(xlsx_reader *r, const xlsx_cell **cells, size_t *ncells, unsigned *rownum) {
    for (;;) {
        if (r->qhead < r->nqrows) {
            xlsx_emit_row(r, cells, ncells, rownum);
            return 1;
        }
        if (r->failed) return -1;
        if (r->ss.finished) return 0;
        xlsx_queue_reset(r);
        /* Rows completed before an error are still handed out first. */
        if (r->fast) {
            if (xlsx_fast_feed(r) != XF_GIVE_UP) continue;
            if (r->fast_only)
                xlsx_fail(r, "the fast path gave up at byte %zu of the window", r->fpos);
            else
                xlsx_fast_fallback(r);
        } else {
            xmlSAXHandler sax;
            xlsx_sax_init(&sax, xlsx_sheet_start, xlsx_sheet_end, xlsx_sheet_chars);
            xlsx_stream_feed(r, &r->ss, &sax, 1);
        }
    }
}

/* ------------------------------------------------------------ open/close */

/* libxml2's global initialisation is not reentrant; producers open one
 * workbook per thread. */
static pthread_once_t xlsx_init_once = PTHREAD_ONCE_INIT;

static void xlsx_init(void) {
    xmlInitParser();
    xlsx_class_init();
}

xlsx_reader *xlsx_open(const char *path, const char *sheet, char *err, size_t errlen) {
    pthread_once(&xlsx_init_once, xlsx_init);
    xlsx_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    r->path = strdup(path);
    r->chunk = malloc(XLSX_CHUNK);
    r->want_sheet = sheet;
    if (!r->path || !r->chunk) {
        snprintf(err, errlen, "%s: out of memory", path);
        xlsx_close(r);
        return NULL;
    }
    int zerr = 0;
    r->zip = zip_open(path, ZIP_RDONLY, &zerr);
    if (!r->zip) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        const char *why = zerr == ZIP_ER_NOZIP    ? "not an xlsx (zip) file"
                          : zerr == ZIP_ER_INCONS ? "corrupt or truncated zip file"
                                                  : zip_error_strerror(&ze);
        snprintf(err, errlen, "%s: %s", path, why);
        zip_error_fini(&ze);
        xlsx_close(r);
        return NULL;
    }
    if (xlsx_locate_sheet(r) != 0 || xlsx_load_styles(r) != 0 || xlsx_load_shared(r) != 0 ||
        xlsx_stream_open(r, &r->ss, r->sheet_part) != 0) {
        if (!r->failed) {
            if (r->sheet_part && r->ss.zf == NULL)
                xlsx_fail_file(r, "sheet '%s': part %s is missing", r->sheet, r->sheet_part);
            else
                xlsx_fail_file(r, "out of memory");
        }
        snprintf(err, errlen, "%s", r->err);
        xlsx_close(r);
        return NULL;
    }
    r->ss.name = r->sheet_part;
    r->xml_err[0] = '\0';
    r->xml_line = 0;
    r->want_sheet = NULL;
    const char *parser = getenv("GK_XLSX_PARSER");
    r->fast = !parser || strcmp(parser, "libxml2") != 0;
    r->fast_only = parser && strcmp(parser, "fast") == 0;
    return r;
}

const char *xlsx_error(const xlsx_reader *r) { return r->err[0] ? r->err : "no error"; }

const char *xlsx_sheet_name(const xlsx_reader *r) { return r->sheet; }

void xlsx_close(xlsx_reader *r) {
    if (!r) return;
    xlsx_stream_close(&r->ss);
    if (r->zip) zip_discard(r->zip);
    free(r->path);
    free(r->sheet);
    free(r->sheet_part);
    free(r->sheet_rid);
    free(r->sheet_names.data);
    free(r->rel_type);
    free(r->rel_target);
    free(r->chunk);
    free(r->xf_fmt);
    free(r->xf_date);
    free(r->date_fmts);
    free(r->plain_fmts);
    free(r->sst.data);
    free(r->sst_off);
    free(r->sst_long);
    free(r->qrows);
    free(r->qcells);
    free(r->arena.data);
    free(r->fwin.data);
    free(r->fnames.data);
    free(r->fname_off);
    free(r->fprefixes.data);
    free(r->fprefix_off);
    free(r->fscratch.data);
    free(r);
}
