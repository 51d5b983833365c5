/* part.c - the parts of an xlsx (zip entries of XML) streamed in
 * XLSX_CHUNK pieces through a libxml2 SAX2 push parser, with libxml2's
 * errors kept as the reader's first error instead of printed (see
 * internal.h).
 *
 * Hostile input: no DTD is accepted (so no entity expansion, no billion
 * laughs, no XXE) and the network is never used (XML_PARSE_NONET). */
#include "xlsx/internal.h"

#include <libxml/xmlerror.h>

#include <stdarg.h>
#include <stdio.h>

const xmlChar *xlsx_attr(const xmlChar **attrs, int n, const char *name, int prefixed,
                         size_t *len) {
    *len = 0;
    for (int i = 0; i < n; i++, attrs += 5) {
        if ((attrs[1] != NULL) != prefixed || !xlsx_is(attrs[0], name)) continue;
        *len = (size_t)(attrs[4] - attrs[3]);
        return attrs[3];
    }
    return NULL;
}

char *xlsx_attr_dup(const xmlChar **attrs, int n, const char *name, int prefixed) {
    size_t len;
    const xmlChar *v = xlsx_attr(attrs, n, name, prefixed, &len);
    return v ? strndup((const char *)v, len) : NULL;
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

int xlsx_stream_open(xlsx_reader *r, xlsx_stream *st, const char *name) {
    memset(st, 0, sizeof *st);
    r->xml_depth = 0; /* a part starts at the top */
    st->name = name;
    st->zf = zip_fopen(r->zip, name, 0);
    if (st->zf) return 0;
    zip_error_t *ze = zip_get_error(r->zip);
    if (zip_error_code_zip(ze) == ZIP_ER_NOENT) return 1;
    xlsx_fail_file(r, "%s: %s", name, zip_error_strerror(ze));
    return -1;
}

void xlsx_stream_close(xlsx_stream *st) {
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
    r->cur_stream = st;
    r->cur_is_sheet = sheet;
    int rc = xmlParseChunk(st->ctxt, data, len, terminate);
    r->cur_ctxt = NULL;
    r->cur_stream = NULL;
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
int xlsx_stream_feed(xlsx_reader *r, xlsx_stream *st, xmlSAXHandler *sax, int sheet) {
    /* libxml2's generic error handler is per thread: borrow it for this call. */
    xmlGenericErrorFunc old_fn = xmlGenericError;
    void *old_ctx = xmlGenericErrorContext;
    xmlSetGenericErrorFunc(r, xlsx_generic_error);
    int rc = xlsx_stream_feed_chunk(r, st, sax, sheet);
    xmlSetGenericErrorFunc(old_ctx, old_fn);
    return rc;
}

int xlsx_parse_part(xlsx_reader *r, const char *name, xmlSAXHandler *sax) {
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

/* What a part's handler does not need: its ends and text. */
static void xlsx_ignore_end(void *ctx, const xmlChar *name, const xmlChar *prefix,
                            const xmlChar *uri) {
    (void)ctx, (void)name, (void)prefix, (void)uri;
}

static void xlsx_ignore_chars(void *ctx, const xmlChar *s, int len) {
    (void)ctx, (void)s, (void)len;
}

/* Counts the element's depth, refuses one deeper than XLSX_MAX_DEPTH, and
 * passes it on to the part's own handler. */
static void xlsx_depth_start(void *ctx, const xmlChar *name, const xmlChar *prefix,
                             const xmlChar *uri, int nns, const xmlChar **ns, int nattrs,
                             int ndef, const xmlChar **attrs) {
    xlsx_reader *r = ctx;
    if (r->failed) return;
    if (++r->xml_depth > XLSX_MAX_DEPTH) {
        const char *part = r->cur_stream ? r->cur_stream->name : "?";
        if (r->cur_is_sheet)
            xlsx_fail(r, "elements nested deeper than %d (%s)", XLSX_MAX_DEPTH, part);
        else
            xlsx_fail_file(r, "%s: elements nested deeper than %d", part, XLSX_MAX_DEPTH);
        return;
    }
    r->part_start(ctx, name, prefix, uri, nns, ns, nattrs, ndef, attrs);
}

static void xlsx_depth_end(void *ctx, const xmlChar *name, const xmlChar *prefix,
                           const xmlChar *uri) {
    xlsx_reader *r = ctx;
    if (r->xml_depth) r->xml_depth--;
    r->part_end(ctx, name, prefix, uri);
}

void xlsx_sax_init(xlsx_reader *r, xmlSAXHandler *sax, startElementNsSAX2Func start,
                   endElementNsSAX2Func end, charactersSAXFunc chars) {
    if (!end) end = xlsx_ignore_end;
    if (!chars) chars = xlsx_ignore_chars;
    r->part_start = start;
    r->part_end = end;
    memset(sax, 0, sizeof *sax);
    sax->initialized = XML_SAX2_MAGIC;
    sax->startElementNs = xlsx_depth_start;
    sax->endElementNs = xlsx_depth_end;
    sax->characters = chars;
    sax->ignorableWhitespace = chars;
    sax->cdataBlock = chars;
    sax->serror = xlsx_xml_error;
    sax->internalSubset = xlsx_no_dtd;
}

