/* workbook.c - which part of the zip is the sheet to read: its name and
 * relationship id from xl/workbook.xml, its target from
 * xl/_rels/workbook.xml.rels (see internal.h). */
#include "xlsx/internal.h"

#include <strings.h>

/* workbook.xml: the date system, and the sheet asked for (or the first). */
static void xlsx_wb_start(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri,
                          int nns, const xmlChar **ns, int nattrs, int ndef,
                          const xmlChar **attrs) {
    (void)prefix, (void)uri, (void)nns, (void)ns, (void)ndef;
    xlsx_reader *r = ctx;
    size_t len;
    if (xlsx_is(name, "workbookPr")) {
        const xmlChar *v = xlsx_attr(attrs, nattrs, "date1904", 0, &len);
        r->wb.date1904 = v && ((len == 1 && v[0] == '1') || (len == 4 && !memcmp(v, "true", 4)));
        return;
    }
    if (!xlsx_is(name, "sheet")) return;
    char *sname = xlsx_attr_dup(attrs, nattrs, "name", 0);
    if (!sname) return;
    if (r->wb.names.len < 200) {
        if (r->wb.names.len) xlsx_buf_append(&r->wb.names, ", ", 2);
        xlsx_buf_append(&r->wb.names, sname, strlen(sname));
        if (r->wb.names.data) r->wb.names.data[r->wb.names.len] = '\0';
    }
    int match = !r->wb.found && (r->wb.want ? strcasecmp(r->wb.want, sname) == 0 : 1);
    if (match) {
        r->wb.found = 1;
        r->wb.sheet = sname;
        r->wb.rid = xlsx_attr_dup(attrs, nattrs, "id", 1); /* r:id */
    } else {
        free(sname);
        if (!r->wb.found) r->wb.index++;
    }
}


/* workbook.xml.rels: the chosen sheet's relationship (type and target). */
static void xlsx_rels_start(void *ctx, const xmlChar *name, const xmlChar *prefix,
                            const xmlChar *uri, int nns, const xmlChar **ns, int nattrs, int ndef,
                            const xmlChar **attrs) {
    (void)prefix, (void)uri, (void)nns, (void)ns, (void)ndef;
    xlsx_reader *r = ctx;
    size_t len;
    if (!xlsx_is(name, "Relationship") || r->wb.rel_target || !r->wb.rid) return;
    const xmlChar *id = xlsx_attr(attrs, nattrs, "Id", 0, &len);
    if (!id || len != strlen(r->wb.rid) || memcmp(id, r->wb.rid, len) != 0) return;
    /* A matching relationship without a Target does not end the search, so a
     * later one with the same Id replaces its Type. */
    free(r->wb.rel_type);
    r->wb.rel_type = xlsx_attr_dup(attrs, nattrs, "Type", 0);
    r->wb.rel_target = xlsx_attr_dup(attrs, nattrs, "Target", 0);
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

int xlsx_workbook_locate(xlsx_reader *r) {
    xmlSAXHandler sax;
    xlsx_sax_init(r, &sax, xlsx_wb_start, NULL, NULL);
    int rc = xlsx_parse_part(r, "xl/workbook.xml", &sax);
    if (rc > 0) xlsx_fail_file(r, "no xl/workbook.xml: not an xlsx workbook");
    if (rc != 0) return -1;
    if (!r->wb.found) {
        const char *names = r->wb.names.len ? r->wb.names.data : "none";
        if (r->wb.want)
            xlsx_fail_file(r, "no sheet named '%s' (sheets: %s)", r->wb.want, names);
        else
            xlsx_fail_file(r, "the workbook has no sheets");
        return -1;
    }
    xlsx_sax_init(r, &sax, xlsx_rels_start, NULL, NULL);
    rc = xlsx_parse_part(r, "xl/_rels/workbook.xml.rels", &sax);
    if (rc < 0) return -1;
    if (rc > 0) {
        /* No relationships: only the conventional name of the first sheet is safe. */
        if (r->wb.index != 0) {
            xlsx_fail_file(r, "sheet '%s': xl/_rels/workbook.xml.rels is missing", r->wb.sheet);
            return -1;
        }
        r->wb.part = strdup("xl/worksheets/sheet1.xml");
        return r->wb.part ? 0 : -1;
    }
    if (!r->wb.rel_target) {
        xlsx_fail_file(r, "sheet '%s': no relationship '%s' in xl/_rels/workbook.xml.rels",
                       r->wb.sheet, r->wb.rid ? r->wb.rid : "(no r:id)");
        return -1;
    }
    size_t tl = r->wb.rel_type ? strlen(r->wb.rel_type) : 0;
    if (tl < 10 || strcmp(r->wb.rel_type + tl - 10, "/worksheet") != 0) {
        xlsx_fail_file(r, "sheet '%s' is not a worksheet (%s)", r->wb.sheet,
                       r->wb.rel_type ? r->wb.rel_type : "no type");
        return -1;
    }
    r->wb.part = xlsx_resolve_target(r->wb.rel_target);
    return r->wb.part ? 0 : -1;
}

void xlsx_workbook_free(xlsx_workbook *wb) {
    free(wb->sheet);
    free(wb->part);
    free(wb->rid);
    free(wb->names.data);
    free(wb->rel_type);
    free(wb->rel_target);
}
