/* styles.c - which cell styles show dates, from xl/styles.xml: a number in
 * such a cell is a date serial (see internal.h). Excel's built-in date
 * formats are numFmtId 14-22 and 45-47; a custom format is a date if its
 * code has a date or time letter outside quoted text. Cell formats and
 * number formats are bounded (XLSX_MAX_STYLES, XLSX_MAX_NUMFMTS): past
 * them the file is refused, not partly read. */
#include "xlsx/internal.h"

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
    if (r->failed) return;
    if (xlsx_is(name, "cellXfs")) {
        r->styles.in_cellxfs = 1;
    } else if (xlsx_is(name, "numFmts")) {
        r->styles.in_numfmts = 1;
    } else if (r->styles.in_numfmts && xlsx_is(name, "numFmt")) {
        if (r->styles.ndate_fmts + r->styles.nplain_fmts >= XLSX_MAX_NUMFMTS) {
            xlsx_fail_file(r, "xl/styles.xml: more than %u number formats", XLSX_MAX_NUMFMTS);
            return;
        }
        const xmlChar *v = xlsx_attr(attrs, nattrs, "numFmtId", 0, &len);
        char *code = xlsx_attr_dup(attrs, nattrs, "formatCode", 0);
        int bad = 0;
        if (v && code && xlsx_parse_uint(v, len, &id) == 0) {
            if (xlsx_format_is_date(code))
                bad = xlsx_push_uint(&r->styles.date_fmts, &r->styles.ndate_fmts, &r->styles.date_fmts_cap, id);
            else
                bad = xlsx_push_uint(&r->styles.plain_fmts, &r->styles.nplain_fmts, &r->styles.plain_fmts_cap, id);
        }
        free(code);
        if (bad) xlsx_fail_file(r, "xl/styles.xml: out of memory");
    } else if (r->styles.in_cellxfs && xlsx_is(name, "xf")) {
        /* Dropping the rest would read their dates as plain numbers: an error. */
        if (r->styles.nxf >= XLSX_MAX_STYLES) {
            xlsx_fail_file(r, "xl/styles.xml: more than %u cell formats", XLSX_MAX_STYLES);
            return;
        }
        const xmlChar *v = xlsx_attr(attrs, nattrs, "numFmtId", 0, &len);
        if (!v || xlsx_parse_uint(v, len, &id) != 0) id = 0;
        if (xlsx_push_uint(&r->styles.xf_fmt, &r->styles.nxf, &r->styles.xf_cap, id) != 0)
            xlsx_fail_file(r, "xl/styles.xml: out of memory");
    }
}

static void xlsx_styles_end(void *ctx, const xmlChar *name, const xmlChar *prefix,
                            const xmlChar *uri) {
    (void)prefix, (void)uri;
    xlsx_reader *r = ctx;
    if (xlsx_is(name, "cellXfs")) r->styles.in_cellxfs = 0;
    if (xlsx_is(name, "numFmts")) r->styles.in_numfmts = 0;
}

static int xlsx_in(const unsigned *arr, size_t n, unsigned v) {
    for (size_t i = 0; i < n; i++)
        if (arr[i] == v) return 1;
    return 0;
}

int xlsx_styles_load(xlsx_reader *r) {
    xmlSAXHandler sax;
    xlsx_sax_init(r, &sax, xlsx_styles_start, xlsx_styles_end, NULL);
    int rc = xlsx_parse_part(r, "xl/styles.xml", &sax);
    if (rc < 0 || r->failed) return -1;
    if (r->styles.nxf == 0) return 0;
    r->styles.xf_date = malloc(r->styles.nxf);
    if (!r->styles.xf_date) return -1;
    for (size_t i = 0; i < r->styles.nxf; i++) {
        unsigned f = r->styles.xf_fmt[i];
        int date = (f >= 14 && f <= 22) || (f >= 45 && f <= 47);
        if (xlsx_in(r->styles.date_fmts, r->styles.ndate_fmts, f))
            date = 1;
        else if (xlsx_in(r->styles.plain_fmts, r->styles.nplain_fmts, f))
            date = 0;
        r->styles.xf_date[i] = (unsigned char)date;
    }
    return 0;
}

void xlsx_styles_free(xlsx_styles *st) {
    free(st->xf_fmt);
    free(st->xf_date);
    free(st->date_fmts);
    free(st->plain_fmts);
}
