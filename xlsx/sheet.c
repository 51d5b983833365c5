/* sheet.c - the sheet's rows: the SAX handlers that turn <row> and <c>
 * elements into queued rows of typed cells, and xlsx_next_row(), which feeds
 * the sheet to them chunk by chunk (see xlsx.h).
 *
 * The sheet part is parsed on demand: xlsx_next_row() feeds chunks until at
 * least one complete <row> is queued, then hands rows out one by one. The
 * queue only ever holds the rows of one chunk, cells are stored sparsely and
 * their text lives in one reusable arena, so memory stays flat whatever the
 * size of the sheet and there is no per-cell malloc. The chunks go to the
 * literal fast path (fast.c) or, when it gives up, to libxml2 (part.c); both
 * call the same handlers, so rows and errors do not depend on which read
 * them. */
#include "xlsx/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>

/* What the element stack of the sheet parser holds. */
enum { XK_SHEETDATA = 1, XK_ROW, XK_CELL, XK_V, XK_IS, XK_RUN, XK_T };

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
    if (xlsx_grow((void **)&r->q.qcells, &r->q.qcells_cap, r->q.nqcells + 1, sizeof *r->q.qcells) == 0)
        return 0;
    xlsx_fail(r, "out of memory");
    return -1;
}

static void xlsx_row_start(xlsx_reader *r, const xmlChar **attrs, int nattrs) {
    size_t len;
    const xmlChar *v = xlsx_attr(attrs, nattrs, "r", 0, &len);
    unsigned n = r->sh.prev_row + 1;
    r->sh.in_row = 1;
    r->sh.row = n;
    if (v && xlsx_parse_uint(v, len, &n) != 0) {
        xlsx_fail(r, "bad row number '%.*s'", (int)(len > 20 ? 20 : len), (const char *)v);
        return;
    }
    r->sh.row = n;
    if (n == 0 || n > XLSX_MAX_ROW) {
        xlsx_fail(r, "row number out of range (1..%u)", XLSX_MAX_ROW);
        return;
    }
    if (n <= r->sh.prev_row) {
        xlsx_fail(r, "row out of order (after row %u)", r->sh.prev_row);
        return;
    }
    if (xlsx_grow((void **)&r->q.qrows, &r->q.qrows_cap, r->q.nqrows + 1, sizeof *r->q.qrows) != 0) {
        xlsx_fail(r, "out of memory");
        return;
    }
    xlsx_qrow *q = &r->q.qrows[r->q.nqrows];
    q->rownum = n;
    q->width = 0;
    q->first = r->q.nqcells;
    q->count = 0;
    r->sh.next_col = 0;
    r->sh.row_text = r->q.arena.len;
}

static void xlsx_row_end(xlsx_reader *r) {
    xlsx_qrow *q = &r->q.qrows[r->q.nqrows];
    q->count = r->q.nqcells - q->first;
    if (q->rownum <= r->sh.skip_until) { /* queued by the fast path already */
        r->q.nqcells = q->first;
        r->q.arena.len = r->sh.row_text;
    } else if (q->width > 0) {
        r->q.nqrows++; /* rows without cell elements are not reported */
    }
    r->sh.prev_row = r->sh.row;
    r->sh.in_row = 0;
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
    r->sh.in_cell = 1;
    r->sh.col = r->sh.next_col;
    r->sh.col_text[0] = '\0'; /* the column is named from r->sh.col when needed */
    if (ref && xlsx_parse_ref(ref, len, &r->sh.col, &row) != 0) {
        r->sh.col = r->sh.next_col;
        xlsx_fail(r, "bad cell reference '%.*s'", (int)(len > 20 ? 20 : len), (const char *)ref);
        return;
    }
    if (r->sh.col >= XLSX_MAX_COLUMNS) {
        if (r->sh.col >= 100000)
            snprintf(r->sh.col_text, sizeof r->sh.col_text, "%.*s", (int)(len > 12 ? 12 : len),
                     (const char *)ref);
        xlsx_fail(r, "too many columns (at most %d, up to column IV)", XLSX_MAX_COLUMNS);
        return;
    }
    if (row != 0 && row != r->sh.row) {
        xlsx_fail(r, "cell reference '%.*s' is not in row %u", (int)(len > 20 ? 20 : len),
                  (const char *)ref, r->sh.row);
        return;
    }
    if (r->sh.col < r->sh.next_col) {
        xlsx_fail(r, "cell repeated or out of order");
        return;
    }
    if (xlsx_cell_kind(t, tlen, &r->sh.ctype) != 0) {
        xlsx_fail(r, "unknown cell type t=\"%.*s\"", (int)(tlen > 20 ? 20 : tlen), (const char *)t);
        return;
    }
    r->sh.style = 0;
    if (s && xlsx_parse_uint(s, slen, &r->sh.style) != 0) {
        xlsx_fail(r, "bad style index s=\"%.*s\"", (int)(slen > 20 ? 20 : slen), (const char *)s);
        return;
    }
    r->sh.next_col = r->sh.col + 1;
    r->q.qrows[r->q.nqrows].width = r->sh.col + 1;
    r->sh.has_value = 0;
    r->sh.text_off = r->q.arena.len;
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
    char *text = r->q.arena.data ? r->q.arena.data + r->sh.text_off : NULL;
    size_t len = r->q.arena.len - r->sh.text_off;
    xlsx_qcell c = {.col = r->sh.col, .type = XLSX_EMPTY, .off = r->sh.text_off};
    if (r->sh.has_value && xlsx_buf_reserve(&r->q.arena, 1) != 0) {
        xlsx_fail(r, "out of memory");
        return;
    }
    if (r->sh.has_value) {
        text = r->q.arena.data + r->sh.text_off;
        text[len] = '\0';
    }
    switch (r->sh.ctype) { /* errors still name this cell: in_cell stays set until the end */
    case XT_NUMBER:
    case XT_ISODATE:
        r->q.arena.len = r->sh.text_off; /* the text is not needed any more */
        if (!r->sh.has_value || len == 0) break;
        if (r->sh.ctype == XT_ISODATE) {
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
        if (xlsx_styles_is_date(&r->styles, r->sh.style)) {
            c.type = XLSX_DATE;
            if (r->wb.date1904) c.number += XLSX_DATE1904_OFFSET;
        }
        break;
    case XT_SHARED: {
        unsigned idx;
        r->q.arena.len = r->sh.text_off;
        if (!r->sh.has_value) break;
        int got = xlsx_parse_uint((const xmlChar *)text, len, &idx) != 0
                      ? -1
                      : xlsx_sst_get(&r->sst, idx, &c.ext, &c.len);
        if (got == -1) {
            xlsx_fail(r, "bad shared string index '%.20s' (%zu shared strings)", text,
                      r->sst.count);
            return;
        }
        if (got == -2) {
            xlsx_fail(r, "cell text longer than %d bytes", XLSX_MAX_CELL_BYTES);
            return;
        }
        c.type = XLSX_STRING;
        break;
    }
    case XT_BOOL:
        r->q.arena.len = r->sh.text_off;
        if (!r->sh.has_value) break;
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
        if (!r->sh.has_value) {
            r->q.arena.len = r->sh.text_off;
            break;
        }
        len = xlsx_unescape(text, len);
        if (len > XLSX_MAX_CELL_BYTES) {
            xlsx_fail(r, "cell text longer than %d bytes", XLSX_MAX_CELL_BYTES);
            return;
        }
        text[len] = '\0';
        r->q.arena.len = r->sh.text_off + len + 1;
        c.type = r->sh.ctype == XT_ERROR ? XLSX_ERROR : XLSX_STRING;
        c.len = len;
        break;
    }
    r->sh.in_cell = 0;
    if (c.type == XLSX_EMPTY || xlsx_qcell_room(r) != 0) return;
    r->q.qcells[r->q.nqcells++] = c;
}

/* The element stack's top, or 0 outside sheetData. */
static int xlsx_top(const xlsx_reader *r) { return r->sh.sp ? r->sh.stack[r->sh.sp - 1] : 0; }

static void xlsx_push(xlsx_reader *r, int kind) { r->sh.stack[r->sh.sp++] = (unsigned char)kind; }

void xlsx_sheet_start(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri,
                      int nns, const xmlChar **ns, int nattrs, int ndef, const xmlChar **attrs) {
    (void)prefix, (void)uri, (void)nns, (void)ns, (void)ndef;
    xlsx_reader *r = ctx;
    if (r->failed) return;
    if (r->sh.skip) {
        r->sh.skip++;
        return;
    }
    switch (xlsx_top(r)) {
    case 0: /* outside sheetData: it is a child of the root */
        if (r->sh.depth == 1 && xlsx_is(name, "sheetData"))
            xlsx_push(r, XK_SHEETDATA);
        else
            r->sh.depth++;
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
            r->sh.has_value = 1;
            r->sh.capture = 1;
            return;
        }
        if (!xlsx_is(name, "is") || r->sh.ctype != XT_INLINE) break;
        xlsx_push(r, XK_IS);
        r->sh.has_value = 1;
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
        r->sh.capture = 1;
        return;
    default: break;
    }
    r->sh.skip = 1; /* an element we do not need: ignore its whole subtree */
}

void xlsx_sheet_end(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri) {
    (void)name, (void)prefix, (void)uri;
    xlsx_reader *r = ctx;
    if (r->failed) return;
    if (r->sh.skip) {
        r->sh.skip--;
        return;
    }
    if (r->sh.sp == 0) {
        if (r->sh.depth) r->sh.depth--;
        return;
    }
    switch (r->sh.stack[--r->sh.sp]) {
    case XK_V:
    case XK_T: r->sh.capture = 0; break;
    case XK_CELL: xlsx_cell_end(r); break;
    case XK_ROW: xlsx_row_end(r); break;
    default: break;
    }
}

void xlsx_sheet_cell(xlsx_reader *r, const xmlChar **attrs, int nattrs, int inline_str,
                     const xmlChar *text, int len) {
    xlsx_sheet_start(r, (const xmlChar *)"c", NULL, NULL, 0, NULL, nattrs, 0, attrs);
    if (inline_str) xlsx_sheet_start(r, (const xmlChar *)"is", NULL, NULL, 0, NULL, 0, 0, NULL);
    xlsx_sheet_start(r, (const xmlChar *)(inline_str ? "t" : "v"), NULL, NULL, 0, NULL, 0, 0, NULL);
    if (len > 0) xlsx_sheet_chars(r, text, len);
    for (int k = inline_str ? 3 : 2; k > 0; k--) xlsx_sheet_end(r, NULL, NULL, NULL);
}

void xlsx_sheet_chars(void *ctx, const xmlChar *s, int len) {
    xlsx_reader *r = ctx;
    if (!r->sh.capture || r->sh.skip || r->failed) return;
    if (r->q.arena.len - r->sh.text_off + (size_t)len > XLSX_MAX_RAW_CELL) {
        xlsx_fail(r, "cell text longer than %d bytes", XLSX_MAX_CELL_BYTES);
        return;
    }
    if (xlsx_buf_append(&r->q.arena, s, (size_t)len) != 0) xlsx_fail(r, "out of memory");
}

/* Empties the queue before the next chunk, keeping the row in progress (its
 * cells and text move to the front). */
static void xlsx_queue_reset(xlsx_reader *r) {
    size_t first = r->sh.in_row ? r->q.qrows[r->q.nqrows].first : r->q.nqcells;
    size_t text = r->sh.in_row ? r->sh.row_text : r->q.arena.len;
    size_t keep = r->q.nqcells - first;
    if (r->sh.in_row) r->q.qrows[0] = r->q.qrows[r->q.nqrows];
    if (keep) memmove(r->q.qcells, r->q.qcells + first, keep * sizeof *r->q.qcells);
    for (size_t i = 0; i < keep; i++)
        if (!r->q.qcells[i].ext) r->q.qcells[i].off -= text;
    if (r->q.arena.len > text) memmove(r->q.arena.data, r->q.arena.data + text, r->q.arena.len - text);
    r->q.arena.len -= text;
    if (r->sh.in_cell) r->sh.text_off -= text;
    r->sh.row_text = 0;
    if (r->sh.in_row) r->q.qrows[0].first = 0;
    r->q.nqcells = keep;
    r->q.nqrows = 0;
    r->q.qhead = 0;
}

/* Hands out the next queued row as a dense array of cells. */
static void xlsx_emit_row(xlsx_reader *r, const xlsx_cell **cells, size_t *ncells,
                          unsigned *rownum) {
    const xlsx_qrow *q = &r->q.qrows[r->q.qhead++];
    for (unsigned i = 0; i < q->width; i++) {
        r->q.out[i].type = XLSX_EMPTY;
        r->q.out[i].number = 0;
        r->q.out[i].str = "";
        r->q.out[i].len = 0;
    }
    for (size_t i = 0; i < q->count; i++) {
        const xlsx_qcell *c = &r->q.qcells[q->first + i];
        xlsx_cell *o = &r->q.out[c->col];
        o->type = c->type;
        o->number = c->number;
        if (c->type == XLSX_STRING || c->type == XLSX_ERROR) {
            o->str = c->ext ? c->ext : r->q.arena.data + c->off;
            o->len = c->len;
        }
    }
    *cells = r->q.out;
    *ncells = q->width;
    *rownum = q->rownum;
}

/* Hands the sheet over to libxml2: the row in progress is dropped, the
 * completed ones stay queued, and libxml2 reads the sheet from the start,
 * skipping rows up to the last completed one. Returns 0, or -1 (recorded). */
static int xlsx_sheet_fallback(xlsx_reader *r) {
    if (r->sh.in_row) {
        r->q.nqcells = r->q.qrows[r->q.nqrows].first;
        r->q.arena.len = r->sh.row_text;
    }
    r->sh.skip_until = r->sh.prev_row;
    r->fast.on = 0;
    r->sh.depth = r->sh.skip = 0;
    r->sh.sp = r->sh.capture = 0;
    r->sh.row = r->sh.prev_row = r->sh.col = r->sh.next_col = 0;
    r->sh.in_row = r->sh.in_cell = r->sh.has_value = 0;
    r->sh.row_text = r->q.arena.len;
    xlsx_stream_close(&r->sh.ss);
    int rc = xlsx_stream_open(r, &r->sh.ss, r->wb.part);
    if (rc > 0) xlsx_fail_file(r, "sheet '%s': part %s is missing", r->wb.sheet, r->wb.part);
    if (rc != 0) return -1;
    r->sh.ss.name = r->wb.part;
    r->xml_err[0] = '\0';
    r->xml_line = 0;
    return 0;
}

int xlsx_next_row(xlsx_reader *r, const xlsx_cell **cells, size_t *ncells, unsigned *rownum) {
    for (;;) {
        if (r->q.qhead < r->q.nqrows) {
            xlsx_emit_row(r, cells, ncells, rownum);
            return 1;
        }
        if (r->failed) return -1;
        if (r->sh.ss.finished) return 0;
        xlsx_queue_reset(r);
        /* Rows completed before an error are still handed out first. */
        if (r->fast.on) {
            if (xlsx_fast_feed(r) != XLSX_FAST_GIVE_UP) continue;
            if (r->fast.only)
                xlsx_fail(r, "the fast path gave up at byte %zu of the window", r->fast.pos);
            else
                xlsx_sheet_fallback(r);
        } else {
            xmlSAXHandler sax;
            xlsx_sax_init(r, &sax, xlsx_sheet_start, xlsx_sheet_end, xlsx_sheet_chars);
            xlsx_stream_feed(r, &r->sh.ss, &sax, 1);
        }
    }
}

void xlsx_sheet_free(xlsx_sheet *sh, xlsx_rowq *q) {
    xlsx_stream_close(&sh->ss);
    free(q->qrows);
    free(q->qcells);
    free(q->arena.data);
}
