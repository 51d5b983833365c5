/* fast.c - the sheet fast path (see internal.h).
 *
 * libxml2 takes most of the time of reading a big sheet. The fast path is a
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
#include "xlsx/internal.h"

#include <libxml/uri.h>
#include <strings.h>

#define XLSX_FAST_MAX_TAG (64 * 1024) /* longest tag kept whole */
#define XLSX_FAST_MAX_DEPTH XLSX_MAX_DEPTH /* deeper: libxml2 reads it, and refuses it */
#define XLSX_FAST_MAX_NAME 256        /* longest name */
#define XLSX_FAST_MAX_PREFIXES 64     /* namespace prefixes of the root */

#define XF_MORE 1   /* the window ends inside a token: read more */
#define XF_GIVE_UP XLSX_FAST_GIVE_UP /* let libxml2 read the sheet */

/* Byte classes: text bytes that need a closer look, and name characters. */
#define XC_TEXT_STOP 1 /* '<', '&', '\r', ']', non-ASCII, control characters */
#define XC_NAME_START 2
#define XC_NAME 4
#define XC_SPACE 8
static unsigned char xlsx_class[256];

void xlsx_fast_init(void) {
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
    const unsigned char *w = (const unsigned char *)r->fast.win.data;
    size_t end = r->fast.win.len, i = r->fast.pos, run = i;
    int content = r->fast.where == 1;
    for (;;) {
        while (i < end && !(xlsx_class[w[i]] & XC_TEXT_STOP)) {
            if (!content && !(xlsx_class[w[i]] & XC_SPACE)) return XF_GIVE_UP;
            i++;
        }
        if (i > run && content) xlsx_sheet_chars(r, w + run, (int)(i - run));
        r->fast.pos = run = i;
        if (r->failed) return 0;
        if (i == end) return 0;
        unsigned char c = w[i];
        if (c == '<') return 0;
        if (!content && c != '\r') return XF_GIVE_UP;
        if (c == '\r') {
            /* Line ends in captured text are left to libxml2 ("\r\n" and "\r"
             * become "\n"); elsewhere the handler ignores them. */
            if (r->sh.capture) return XF_GIVE_UP;
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
            r->fast.pos = run = i;
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
    for (size_t i = 0; i < r->fast.nprefixes; i++) {
        const char *d = r->fast.prefixes.data + r->fast.prefix_off[i];
        if (strlen(d) == n && memcmp(d, p, n) == 0) return 1;
    }
    return 0;
}

/* Parses the attributes of the start tag whose name ends at i, up to and
 * including '>' or "/>". Fills r->fast.attrs; sets *empty for "/>" and *after to
 * the offset after the tag. Returns 0, XF_MORE or XF_GIVE_UP. */
static int xlsx_fast_attrs(xlsx_reader *r, size_t i, int *empty, size_t *after) {
    const unsigned char *w = (const unsigned char *)r->fast.win.data;
    size_t end = r->fast.win.len;
    r->fast.nattrs = 0;
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
        if (r->fast.nattrs == XLSX_FAST_MAX_ATTRS) return XF_GIVE_UP;
        xlsx_fast_attr *a = &r->fast.attrs[r->fast.nattrs];
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
        r->fast.nattrs++;
        i = j + 1;
    }
}

/* Checks the attributes of a complete start tag (namespace declarations only
 * on the root, prefixes declared, no two attributes with one local name) and
 * builds libxml2's attribute array in r->fast.attr_ptrs, NUL-terminating names in
 * the window. Returns the number of attributes passed on, or -1 to give up. */
static int xlsx_fast_attr_array(xlsx_reader *r, int root) {
    unsigned char *w = (unsigned char *)r->fast.win.data;
    size_t decode_room = 0;
    int n = 0;
    for (size_t k = 0; k < r->fast.nattrs; k++) {
        xlsx_fast_attr *a = &r->fast.attrs[k];
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
                    r->fast.nprefixes == XLSX_FAST_MAX_PREFIXES)
                    return -1;
                if (xlsx_grow((void **)&r->fast.prefix_off, &r->fast.prefix_cap, r->fast.nprefixes + 1,
                              sizeof *r->fast.prefix_off) != 0)
                    return -1;
                r->fast.prefix_off[r->fast.nprefixes++] = r->fast.prefixes.len;
                if (xlsx_buf_append(&r->fast.prefixes, w + a->colon + 1, plen) != 0) return -1;
                r->fast.prefixes.data[r->fast.prefixes.len++] = '\0';
            } else if (r->fast.default_ns++) {
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
    for (size_t k = 0; k < r->fast.nattrs; k++) {
        const xlsx_fast_attr *a = &r->fast.attrs[k];
        if (a->name == 0) continue;
        size_t ln = a->colon ? a->colon + 1 : a->name;
        if (a->colon && !xlsx_fast_prefix_known(r, (char *)w + a->name, a->colon - a->name))
            return -1;
        for (size_t m = 0; m < k; m++) {
            const xlsx_fast_attr *b = &r->fast.attrs[m];
            if (b->name == 0) continue;
            size_t lb = b->colon ? b->colon + 1 : b->name, nl = a->name_end - ln;
            if (nl == b->name_end - lb && xlsx_same(w + ln, w + lb, nl)) return -1;
        }
    }
    r->fast.scratch.len = 0;
    if (xlsx_buf_reserve(&r->fast.scratch, decode_room + 1) != 0) return -1;
    const xmlChar **p = r->fast.attr_ptrs;
    for (size_t k = 0; k < r->fast.nattrs; k++) {
        xlsx_fast_attr *a = &r->fast.attrs[k];
        if (a->name == 0) continue;
        const char *v = (const char *)w + a->value;
        size_t vlen = a->value_end - a->value;
        if (a->decode) {
            char *out = r->fast.scratch.data + r->fast.scratch.len;
            long dl = xlsx_fast_attr_value(v, vlen, out);
            if (dl < 0) return -1;
            r->fast.scratch.len += (size_t)dl;
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
    unsigned char *w = (unsigned char *)r->fast.win.data;
    size_t end = r->fast.win.len, colon, after;
    int bad, empty = 0;
    size_t name = r->fast.pos + 1, name_end = xlsx_fast_name(w, name, end, &colon, &bad);
    if (bad || colon) return XF_GIVE_UP; /* prefixed element names: libxml2 */
    if (name_end == 0) return XF_MORE;
    if (r->fast.where == 2 || r->fast.depth == XLSX_FAST_MAX_DEPTH) return XF_GIVE_UP;
    int rc = xlsx_fast_attrs(r, name_end, &empty, &after);
    if (rc) return rc;
    int nattrs = xlsx_fast_attr_array(r, r->fast.where == 0);
    if (nattrs < 0) return XF_GIVE_UP;
    /* Remember the name for its end tag before the window is changed. */
    size_t nlen = name_end - name;
    if (!empty) {
        if (xlsx_grow((void **)&r->fast.name_off, &r->fast.name_cap, (size_t)r->fast.depth + 1,
                      sizeof *r->fast.name_off) != 0 ||
            xlsx_buf_append(&r->fast.names, w + name, nlen) != 0)
            return XF_GIVE_UP;
        r->fast.name_off[r->fast.depth++] = r->fast.names.len - nlen;
    }
    w[name_end] = '\0';
    r->fast.pos = after;
    r->fast.where = 1;
    xlsx_sheet_start(r, w + name, NULL, NULL, 0, NULL, nattrs, 0, r->fast.attr_ptrs);
    if (empty && !r->failed) {
        xlsx_sheet_end(r, w + name, NULL, NULL);
        if (r->fast.depth == 0) r->fast.where = 2;
    }
    return 0;
}

/* Scans one end tag at fpos ("</") and calls the handler. */
static int xlsx_fast_end_tag(xlsx_reader *r) {
    unsigned char *w = (unsigned char *)r->fast.win.data;
    size_t end = r->fast.win.len, colon;
    int bad;
    size_t name = r->fast.pos + 2, name_end = xlsx_fast_name(w, name, end, &colon, &bad);
    if (bad || colon) return XF_GIVE_UP;
    if (name_end == 0) return XF_MORE;
    size_t j = xlsx_fast_space(w, name_end, end);
    if (j == end) return XF_MORE;
    if (w[j] != '>' || r->fast.depth == 0) return XF_GIVE_UP;
    size_t open = r->fast.name_off[r->fast.depth - 1], nlen = name_end - name;
    if (r->fast.names.len - open != nlen ||
        !xlsx_same((const unsigned char *)r->fast.names.data + open, w + name, nlen))
        return XF_GIVE_UP; /* not the element that is open */
    r->fast.names.len = open;
    r->fast.depth--;
    w[name_end] = '\0';
    r->fast.pos = j + 1;
    if (r->fast.depth == 0) r->fast.where = 2;
    xlsx_sheet_end(r, w + name, NULL, NULL);
    return 0;
}

/* Checks an XML declaration at the very start of the sheet: version 1.0,
 * encoding UTF-8 if any, standalone yes or no. */
static int xlsx_fast_decl(xlsx_reader *r, int eof) {
    const char *w = r->fast.win.data;
    size_t n = r->fast.win.len;
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
    r->fast.pos = len + 2;
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
 * spares most of the scanner's work per cell (bench/README.md has the
 * measurement). The handlers get exactly the
 * calls the general scanner would make, so the rows and errors are the same.
 * Returns 1 if the cell was consumed, 0 to leave it to the general scanner. */
static int xlsx_fast_cell(xlsx_reader *r) {
    static const xmlChar *const names[3] = {(const xmlChar *)"r", (const xmlChar *)"s",
                                            (const xmlChar *)"t"};
    const unsigned char *w = (const unsigned char *)r->fast.win.data;
    size_t end = r->fast.win.len, i = r->fast.pos + 2, j; /* after "<c" */
    if (r->fast.where != 1 || r->fast.depth + 3 > XLSX_FAST_MAX_DEPTH) return 0;
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
    r->fast.pos = j;
    xlsx_sheet_cell(r, attrs, nattrs, inline_str, w + text, (int)(text_end - text));
    return 1;
}

/* Scans the window: text and tags until the window ends inside a token. */
static int xlsx_fast_scan(xlsx_reader *r, int eof) {
    if (!r->fast.started) {
        if (r->fast.win.len < 5 && !eof) return XF_MORE;
        if (r->fast.win.len >= 5 && memcmp(r->fast.win.data, "<?xml", 5) == 0) {
            int rc = xlsx_fast_decl(r, eof);
            if (rc) return rc;
        } else if (r->fast.win.len >= 2 && r->fast.win.data[0] == '<' && r->fast.win.data[1] == '?') {
            return XF_GIVE_UP;
        }
        r->fast.started = 1;
    }
    while (r->fast.pos < r->fast.win.len && !r->failed) {
        const char *w = r->fast.win.data;
        int rc;
        if (w[r->fast.pos] != '<') {
            rc = xlsx_fast_text(r, eof);
        } else if (r->fast.pos + 1 == r->fast.win.len) {
            rc = XF_MORE;
        } else if (w[r->fast.pos + 1] == '/') {
            rc = xlsx_fast_end_tag(r);
        } else if (w[r->fast.pos + 1] == 'c' && r->fast.pos + 2 < r->fast.win.len && w[r->fast.pos + 2] == ' ' &&
                   xlsx_fast_cell(r)) {
            rc = 0;
        } else if (xlsx_class[(unsigned char)w[r->fast.pos + 1]] & XC_NAME_START) {
            rc = xlsx_fast_start_tag(r);
        } else {
            rc = XF_GIVE_UP; /* comments, CDATA, DOCTYPE, processing instructions */
        }
        if (rc == XF_MORE && (eof || r->fast.win.len - r->fast.pos > XLSX_FAST_MAX_TAG))
            rc = XF_GIVE_UP;
        if (rc) return rc;
    }
    return 0;
}

int xlsx_fast_feed(xlsx_reader *r) {
    xlsx_buf *b = &r->fast.win;
    if (r->fast.pos) {
        memmove(b->data, b->data + r->fast.pos, b->len - r->fast.pos);
        b->len -= r->fast.pos;
        r->fast.pos = 0;
    }
    if (xlsx_buf_reserve(b, XLSX_CHUNK + 1) != 0) return XF_GIVE_UP;
    zip_int64_t n = zip_fread(r->sh.ss.zf, b->data + b->len, XLSX_CHUNK);
    if (n < 0) return XF_GIVE_UP; /* libxml2's reading reports it at the same place */
    b->len += (size_t)n;
    int eof = n == 0;
    int rc = xlsx_fast_scan(r, eof);
    if (r->failed) return -1;
    if (rc == XF_GIVE_UP) return XF_GIVE_UP;
    if (!eof) return 1;
    if (r->fast.where != 2 || r->fast.pos != b->len)
        return XF_GIVE_UP; /* libxml2 says what is wrong */
    r->sh.ss.finished = 1;
    return 0;
}

void xlsx_fast_free(xlsx_fast *f) {
    free(f->win.data);
    free(f->names.data);
    free(f->name_off);
    free(f->prefixes.data);
    free(f->prefix_off);
    free(f->scratch.data);
}
