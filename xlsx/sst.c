/* sst.c - the shared strings of xl/sharedStrings.xml, loaded once at open
 * time into one buffer (see internal.h). Phonetic guides are left out; a
 * string longer than a cell may be is kept empty and reading it is an error.
 * The number of strings and their total size are bounded. */
#include "xlsx/internal.h"

static void xlsx_sst_start(void *ctx, const xmlChar *name, const xmlChar *prefix,
                           const xmlChar *uri, int nns, const xmlChar **ns, int nattrs, int ndef,
                           const xmlChar **attrs) {
    (void)prefix, (void)uri, (void)nns, (void)ns, (void)nattrs, (void)ndef, (void)attrs;
    xlsx_reader *r = ctx;
    if (r->failed) return;
    if (r->sst.skip) {
        r->sst.skip++;
    } else if (xlsx_is(name, "si")) {
        if (r->sst.count >= XLSX_MAX_SHARED_STRINGS) {
            xlsx_fail_file(r, "xl/sharedStrings.xml: more than %u shared strings",
                           XLSX_MAX_SHARED_STRINGS);
            return;
        }
        r->sst.in_si = 1;
        r->sst.overlong = 0;
        r->sst.start = r->sst.text.len;
    } else if (r->sst.in_si && (xlsx_is(name, "rPh") || xlsx_is(name, "phoneticPr"))) {
        r->sst.skip = 1; /* phonetic guides are not part of the text */
    } else if (r->sst.in_si && xlsx_is(name, "t")) {
        r->sst.capture = 1;
    }
}

static void xlsx_sst_end(void *ctx, const xmlChar *name, const xmlChar *prefix,
                         const xmlChar *uri) {
    (void)prefix, (void)uri;
    xlsx_reader *r = ctx;
    if (r->failed) return;
    if (r->sst.skip) {
        r->sst.skip--;
        return;
    }
    if (xlsx_is(name, "t")) {
        r->sst.capture = 0;
    } else if (xlsx_is(name, "si") && r->sst.in_si) {
        r->sst.in_si = 0;
        if (xlsx_buf_reserve(&r->sst.text, 1) != 0 ||
            xlsx_grow((void **)&r->sst.off, &r->sst.cap, r->sst.count + 2, sizeof *r->sst.off)) {
            xlsx_fail_file(r, "xl/sharedStrings.xml: out of memory");
            return;
        }
        size_t len = xlsx_unescape(r->sst.text.data + r->sst.start, r->sst.text.len - r->sst.start);
        r->sst.text.len = r->sst.start + len;
        if (r->sst.overlong || len > XLSX_MAX_CELL_BYTES) {
            r->sst.text.len = r->sst.start; /* kept empty; reading such a cell is an error */
            if (xlsx_grow((void **)&r->sst.longs, &r->sst.longs_cap, r->sst.nlongs + 1,
                          sizeof *r->sst.longs) != 0) {
                xlsx_fail_file(r, "xl/sharedStrings.xml: out of memory");
                return;
            }
            r->sst.longs[r->sst.nlongs++] = r->sst.count;
        }
        r->sst.text.data[r->sst.text.len++] = '\0';
        r->sst.off[r->sst.count++] = r->sst.start;
        r->sst.off[r->sst.count] = r->sst.text.len;
    }
}

static void xlsx_sst_chars(void *ctx, const xmlChar *s, int len) {
    xlsx_reader *r = ctx;
    if (!r->sst.capture || r->sst.skip || r->sst.overlong || r->failed) return;
    if (r->sst.text.len - r->sst.start + (size_t)len > XLSX_MAX_RAW_CELL) {
        r->sst.overlong = 1;
        return;
    }
    if (r->sst.text.len + (size_t)len > XLSX_MAX_SHARED_BYTES) {
        xlsx_fail_file(r, "xl/sharedStrings.xml: more than %zu bytes of text",
                       XLSX_MAX_SHARED_BYTES);
        return;
    }
    if (xlsx_buf_append(&r->sst.text, s, (size_t)len) != 0)
        xlsx_fail_file(r, "xl/sharedStrings.xml: out of memory");
}

int xlsx_sst_load(xlsx_reader *r) {
    xmlSAXHandler sax;
    xlsx_sax_init(r, &sax, xlsx_sst_start, xlsx_sst_end, xlsx_sst_chars);
    int rc = xlsx_parse_part(r, "xl/sharedStrings.xml", &sax);
    return rc < 0 ? -1 : 0;
}

/* True if shared string i was too long to keep. */
static int xlsx_sst_is_long(const xlsx_sst *t, size_t i) {
    size_t lo = 0, hi = t->nlongs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->longs[mid] == i) return 1;
        if (t->longs[mid] < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

int xlsx_sst_get(const xlsx_sst *t, unsigned idx, const char **s, size_t *len) {
    if (idx >= t->count) return -1;
    if (t->nlongs && xlsx_sst_is_long(t, idx)) return -2;
    *s = t->text.data + t->off[idx];
    *len = t->off[idx + 1] - t->off[idx] - 1;
    return 0;
}

void xlsx_sst_free(xlsx_sst *t) {
    free(t->text.data);
    free(t->off);
    free(t->longs);
}
