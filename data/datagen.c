/* datagen.c - writes the simulated lab workbooks sim_file1..3.xlsx.
 *
 * One workbook per record type of schema/schema.h: a header row with the
 * column names, then one row per event id F..F+N-1 (--first-id F, default 1;
 * the same ids, in the same order, in every file). A sheet holds at most
 * 1,048,575 data rows, so a larger data set is several workbooks of
 * consecutive id ranges. Cells get their type from the schema: INT/REAL are
 * numbers, TEXT strings, DATETIME date-formatted numbers (real Excel dates),
 * BOOL booleans. Known column names have plausible genetics-lab values; any
 * other column falls back to a generic value of its type, so adding a column
 * in schema.c needs no change here.
 *
 * Every value is a pure function of (seed, event id, column name): files are
 * identical for the same seed whatever --rows says (row k is always the same),
 * columns can be added without changing the others, and nothing depends on
 * the clock. libxlsxwriter runs in constant_memory mode (inline strings, one
 * row in memory), so millions of rows take flat memory. Files are written
 * under temporary names and renamed only once all of them are complete. */
#include "common/cli.h"
#include "common/exitcodes.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/signals.h"
#include "common/timeutil.h"
#include "schema/schema.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xlsxwriter.h>

#define DG_BASE_TIME 1704182400LL /* 2024-01-02T08:00:00Z: the first event */
#define DG_CREATED 1704067200     /* 2024-01-01T00:00:00Z: workbook creation property */
#define DG_OPTIONAL_PCT 15        /* share of rows leaving an optional column empty */
#define DG_TEXT_BUF 512
#define DG_MAX_ROWS 1048575L      /* Excel's last row (1048576) less the header */
#define DG_MAX_FIRST_ID 9007199253692416.0 /* the last row stays an exact JSON integer (2^53 - 1) */

/* ------------------------------------------------------------ randomness */

/* splitmix64: one step of a tiny, well-mixed generator. */
static uint64_t dg_mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* FNV-1a hash of a name, to give each column its own random stream. */
static uint64_t dg_hash(const char *s) {
    uint64_t h = 0xCBF29CE484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001B3ULL;
    return h;
}

/* The random stream of one (seed, event, name): r = dg_stream(...), then dg_next(&r). */
typedef struct {
    uint64_t s;
} dg_rng;

static dg_rng dg_stream_h(uint64_t seed, uint64_t id, uint64_t name_hash) {
    dg_rng r = {dg_mix(dg_mix(seed) ^ dg_mix(id * 0xD1B54A32D192ED03ULL) ^ name_hash)};
    return r;
}

static dg_rng dg_stream(uint64_t seed, uint64_t id, const char *name) {
    return dg_stream_h(seed, id, dg_hash(name));
}

static uint64_t dg_next(dg_rng *r) {
    r->s = dg_mix(r->s);
    return r->s;
}

/* Uniform integer in [lo, hi]. */
static int64_t dg_range(dg_rng *r, int64_t lo, int64_t hi) {
    return lo + (int64_t)(dg_next(r) % (uint64_t)(hi - lo + 1));
}

/* Uniform double in [lo, hi) rounded to the given decimals. */
static double dg_real(dg_rng *r, double lo, double hi, int decimals) {
    double u = (double)(dg_next(r) >> 11) / 9007199254740992.0;
    double scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    return (double)(int64_t)((lo + u * (hi - lo)) * scale + 0.5) / scale;
}

#define DG_PICK(r, arr) (arr)[dg_next(r) % (sizeof(arr) / sizeof((arr)[0]))]

/* ---------------------------------------------------------- lab values */

/* A value to write: its kind follows the column's schema type. */
typedef struct {
    int empty;
    int64_t i; /* INT, BOOL */
    double d;  /* REAL; DATETIME as Unix seconds */
    char s[DG_TEXT_BUF];
} dg_value;

typedef struct {
    const char *name, *chrom;
    int64_t start, length; /* approximate GRCh38 locus */
} dg_gene;

static const dg_gene dg_genes[] = {
    {"BRCA1", "chr17", 43044295, 81189}, {"BRCA2", "chr13", 32315508, 84193},
    {"TP53", "chr17", 7661779, 19070},   {"CFTR", "chr7", 117480025, 188703},
    {"MLH1", "chr3", 36993332, 57357},   {"MSH2", "chr2", 47403067, 80098},
    {"APC", "chr5", 112707498, 138576},  {"PTEN", "chr10", 87863113, 108818},
    {"KRAS", "chr12", 25205246, 45684},  {"EGFR", "chr7", 55019017, 188307},
    {"HBB", "chr11", 5225464, 1605},     {"SMN1", "chr5", 70924941, 28037},
    {"DMD", "chrX", 31097677, 2241765},  {"FBN1", "chr15", 48408313, 237724},
    {"LDLR", "chr19", 11089462, 44150},
};

/* The gene of an event: shared by the gene, chrom and position columns. */
static const dg_gene *dg_gene_of(uint64_t seed, uint64_t id) {
    dg_rng r = dg_stream(seed, id, "gene");
    return &DG_PICK(&r, dg_genes);
}

/* Unix time of the sample's collection; the later steps follow it. */
static int64_t dg_collected(uint64_t seed, uint64_t id) {
    dg_rng r = dg_stream(seed, id, "collected_at");
    return DG_BASE_TIME + (int64_t)(id - 1) * 420 + dg_range(&r, 0, 300);
}

static int64_t dg_sequenced(uint64_t seed, uint64_t id) {
    dg_rng r = dg_stream(seed, id, "sequenced_at");
    return dg_collected(seed, id) + dg_range(&r, 86400, 3 * 86400);
}

static int64_t dg_called(uint64_t seed, uint64_t id) {
    dg_rng r = dg_stream(seed, id, "called_at");
    return dg_sequenced(seed, id) + dg_range(&r, 2 * 3600, 30 * 3600);
}

static double dg_q30(uint64_t seed, uint64_t id) {
    dg_rng r = dg_stream(seed, id, "q30_pct");
    return dg_real(&r, 74.0, 96.5, 2);
}

static double dg_coverage(uint64_t seed, uint64_t id) {
    dg_rng r = dg_stream(seed, id, "mean_coverage");
    return dg_real(&r, 18.0, 160.0, 1);
}

/* Sequencing runs hold 96 samples; the instrument belongs to the run. */
static const char *dg_instrument(uint64_t seed, uint64_t id) {
    static const char *const names[] = {"NovaSeq 6000", "NovaSeq X Plus", "NextSeq 2000", "MiSeq",
                                        "HiSeq 4000"};
    dg_rng r = dg_stream(seed, (id - 1) / 96, "instrument");
    return DG_PICK(&r, names);
}

static void dg_bases(dg_rng *r, char *out, int n) {
    static const char bases[] = "ACGT";
    for (int i = 0; i < n; i++)
        out[i] = bases[dg_next(r) % 4];
    out[n] = '\0';
}

/* ref and alt of the event's variant: mostly SNVs, some small indels. */
static void dg_variant(uint64_t seed, uint64_t id, char *ref, char *alt) {
    dg_rng r = dg_stream(seed, id, "variant");
    int kind = (int)dg_range(&r, 0, 99);
    dg_bases(&r, ref, 1);
    if (kind < 85) { /* SNV: a different base */
        const char *b = "ACGT";
        alt[0] = b[(strchr(b, ref[0]) - b + dg_range(&r, 1, 3)) % 4];
        alt[1] = '\0';
    } else if (kind < 93) { /* deletion */
        dg_bases(&r, ref + 1, (int)dg_range(&r, 1, 6));
        alt[0] = ref[0], alt[1] = '\0';
    } else { /* insertion */
        alt[0] = ref[0];
        dg_bases(&r, alt + 1, (int)dg_range(&r, 1, 6));
    }
}

/* What a generator gets: the event, its column and the column's own stream. */
typedef struct {
    uint64_t seed, id;
    const schema_column *col;
    dg_rng r;
} dg_ctx;

typedef void (*dg_gen)(dg_ctx *c, dg_value *v);

static void dg_text(dg_value *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dg_text(dg_value *v, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->s, sizeof v->s, fmt, ap);
    va_end(ap);
}

static void gen_event_id(dg_ctx *c, dg_value *v) { v->i = (int64_t)c->id; }

static void gen_sample_id(dg_ctx *c, dg_value *v) {
    dg_text(v, "S-%06llu", (unsigned long long)c->id);
}

static void gen_patient_id(dg_ctx *c, dg_value *v) {
    dg_text(v, "P-%05lld", (long long)dg_range(&c->r, 1, 99999));
}

static void gen_specimen_type(dg_ctx *c, dg_value *v) {
    static const char *const names[] = {"blood (EDTA)",        "saliva",     "buccal swab",
                                        "tumor tissue (FFPE)", "cord blood", "amniotic fluid",
                                        "cultured fibroblasts"};
    dg_text(v, "%s", DG_PICK(&c->r, names));
}

static void gen_collected_at(dg_ctx *c, dg_value *v) {
    v->d = (double)dg_collected(c->seed, c->id);
}

static void gen_volume_ml(dg_ctx *c, dg_value *v) { v->d = dg_real(&c->r, 0.5, 10.0, 1); }

static void gen_consent(dg_ctx *c, dg_value *v) { v->i = dg_range(&c->r, 0, 99) < 80; }

/* Free text with some non-ASCII and XML-special characters. */
static void gen_notes(dg_ctx *c, dg_value *v) {
    static const char *const notes[] = {"hemolyzed \xe2\x80\x94 redraw requested",
                                        "low DNA yield (<50 ng) & 260/280 = 1.6",
                                        "received on dry ice",
                                        "Probe f\xc3\xbcr Studie \"K\xc3\xb6ln-2\"",
                                        "duplicate tube labelled 'B'",
                                        "family trio: proband",
                                        "urgent \xe2\x80\x93 prenatal",
                                        "re-extraction after QC fail"};
    dg_text(v, "%s", DG_PICK(&c->r, notes));
}

static void gen_run_id(dg_ctx *c, dg_value *v) {
    dg_text(v, "RUN-%05llu", (unsigned long long)((c->id - 1) / 96 + 1));
}

static void gen_instrument(dg_ctx *c, dg_value *v) {
    dg_text(v, "%s", dg_instrument(c->seed, c->id));
}

static void gen_lane(dg_ctx *c, dg_value *v) {
    v->i = strcmp(dg_instrument(c->seed, c->id), "MiSeq") == 0 ? 1 : dg_range(&c->r, 1, 4);
}

static void gen_read_count(dg_ctx *c, dg_value *v) { v->i = dg_range(&c->r, 4000000, 60000000); }

static void gen_q30(dg_ctx *c, dg_value *v) { v->d = dg_q30(c->seed, c->id); }

static void gen_coverage(dg_ctx *c, dg_value *v) { v->d = dg_coverage(c->seed, c->id); }

static void gen_sequenced_at(dg_ctx *c, dg_value *v) {
    v->d = (double)dg_sequenced(c->seed, c->id);
}

static void gen_passed_qc(dg_ctx *c, dg_value *v) {
    v->i = dg_q30(c->seed, c->id) >= 80.0 && dg_coverage(c->seed, c->id) >= 30.0;
}

static void gen_gene(dg_ctx *c, dg_value *v) { dg_text(v, "%s", dg_gene_of(c->seed, c->id)->name); }

static void gen_chrom(dg_ctx *c, dg_value *v) {
    dg_text(v, "%s", dg_gene_of(c->seed, c->id)->chrom);
}

static void gen_position(dg_ctx *c, dg_value *v) {
    const dg_gene *g = dg_gene_of(c->seed, c->id);
    v->i = g->start + dg_range(&c->r, 0, g->length - 1);
}

static void gen_ref(dg_ctx *c, dg_value *v) {
    char ref[16], alt[16];
    dg_variant(c->seed, c->id, ref, alt);
    dg_text(v, "%s", ref);
}

static void gen_alt(dg_ctx *c, dg_value *v) {
    char ref[16], alt[16];
    dg_variant(c->seed, c->id, ref, alt);
    dg_text(v, "%s", alt);
}

static void gen_zygosity(dg_ctx *c, dg_value *v) {
    static const char *const names[] = {"heterozygous", "heterozygous", "homozygous",
                                        "hemizygous"}; /* hemizygous: chrX only */
    int x = strcmp(dg_gene_of(c->seed, c->id)->chrom, "chrX") == 0;
    dg_text(v, "%s", names[dg_range(&c->r, 0, x ? 3 : 2)]);
}

static void gen_quality(dg_ctx *c, dg_value *v) { v->d = dg_real(&c->r, 20.0, 99.9, 1); }

static void gen_classification(dg_ctx *c, dg_value *v) {
    static const char *const acmg[] = {"pathogenic", "likely pathogenic", "uncertain significance",
                                       "likely benign", "benign"};
    dg_text(v, "%s", DG_PICK(&c->r, acmg));
}

static void gen_called_at(dg_ctx *c, dg_value *v) { v->d = (double)dg_called(c->seed, c->id); }

/* Generic values by type, for columns without a generator of their own. */
static void gen_int(dg_ctx *c, dg_value *v) { v->i = dg_range(&c->r, 0, 999999); }

static void gen_real(dg_ctx *c, dg_value *v) { v->d = dg_real(&c->r, 0.0, 1000.0, 2); }

static void gen_text(dg_ctx *c, dg_value *v) {
    dg_text(v, "%s-%06llx", c->col->name, (unsigned long long)(dg_next(&c->r) & 0xFFFFFF));
}

static void gen_datetime(dg_ctx *c, dg_value *v) {
    v->d = (double)(dg_collected(c->seed, c->id) + dg_range(&c->r, 0, 7 * 86400));
}

static void gen_bool(dg_ctx *c, dg_value *v) { v->i = (int64_t)(dg_next(&c->r) & 1); }

/* The generators of known column names. */
static const struct {
    const char *name;
    dg_gen gen;
} dg_known[] = {
    {SCHEMA_EVENT_ID, gen_event_id},
    {"sample_id", gen_sample_id},
    {"patient_id", gen_patient_id},
    {"specimen_type", gen_specimen_type},
    {"collected_at", gen_collected_at},
    {"volume_ml", gen_volume_ml},
    {"consent_research", gen_consent},
    {"notes", gen_notes},
    {"run_id", gen_run_id},
    {"instrument", gen_instrument},
    {"lane", gen_lane},
    {"read_count", gen_read_count},
    {"q30_pct", gen_q30},
    {"mean_coverage", gen_coverage},
    {"sequenced_at", gen_sequenced_at},
    {"passed_qc", gen_passed_qc},
    {"gene", gen_gene},
    {"chrom", gen_chrom},
    {"position", gen_position},
    {"ref", gen_ref},
    {"alt", gen_alt},
    {"zygosity", gen_zygosity},
    {"quality", gen_quality},
    {"classification", gen_classification},
    {"called_at", gen_called_at},
};

/* The generator of a column: by name, else by type. */
static dg_gen dg_gen_for(const schema_column *col) {
    for (size_t i = 0; i < sizeof dg_known / sizeof dg_known[0]; i++)
        if (strcmp(dg_known[i].name, col->name) == 0) return dg_known[i].gen;
    switch (col->type) {
    case SCHEMA_INT: return gen_int;
    case SCHEMA_REAL: return gen_real;
    case SCHEMA_TEXT: return gen_text;
    case SCHEMA_DATETIME: return gen_datetime;
    case SCHEMA_BOOL: return gen_bool;
    }
    return gen_text;
}

/* Cuts text to the column's limit without splitting a UTF-8 sequence. */
static void dg_fit(const schema_column *col, char *s) {
    size_t max = col->max_len ? col->max_len : SCHEMA_TEXT_MAX, n = strlen(s);
    if (n <= max) return;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    s[max] = '\0';
}

/* One column of a file being written: its generator and stream hash. */
typedef struct {
    const schema_column *col;
    dg_gen gen;
    uint64_t hash;
} dg_column;

/* The value of one cell of the event's row. Optional columns are empty in a
 * deterministic DG_OPTIONAL_PCT percent of the rows. */
static void dg_value_of(const dg_column *dc, uint64_t seed, uint64_t id, dg_value *v) {
    v->empty = 0;
    v->i = 0;
    v->d = 0;
    v->s[0] = '\0';
    if (!dc->col->required) {
        dg_rng r = dg_stream_h(seed ^ 0x6E756C6CULL, id, dc->hash); /* its own stream */
        if (dg_range(&r, 0, 99) < DG_OPTIONAL_PCT) {
            v->empty = 1;
            return;
        }
    }
    dg_ctx c = {seed, id, dc->col, dg_stream_h(seed, id, dc->hash)};
    dc->gen(&c, v);
    if (dc->col->type == SCHEMA_TEXT) dg_fit(dc->col, v->s);
}

/* --------------------------------------------------------------- writing */

typedef struct {
    const schema_record *rec;
    dg_column *cols;
    char path[4096], tmp[4096];
    lxw_workbook *wb;
    lxw_worksheet *ws;
    lxw_format *date_fmt, *head_fmt;
} dg_file;

/* Reports a libxlsxwriter error; returns -1 so callers can `return dg_lxw(...)`. */
static int dg_lxw(const dg_file *f, lxw_error e, const char *what) {
    log_error("%s: %s: %s", f->path, what, lxw_strerror(e));
    return -1;
}

static int dg_open(dg_file *f, const char *dir, const schema_record *rec) {
    f->rec = rec;
    f->cols = calloc(rec->ncolumns, sizeof *f->cols);
    if (!f->cols) {
        log_error("out of memory");
        return -1;
    }
    for (size_t c = 0; c < rec->ncolumns; c++) {
        f->cols[c].col = &rec->columns[c];
        f->cols[c].gen = dg_gen_for(&rec->columns[c]);
        f->cols[c].hash = dg_hash(rec->columns[c].name);
    }
    snprintf(f->path, sizeof f->path, "%s/%s", dir, rec->file);
    snprintf(f->tmp, sizeof f->tmp, "%s/.%s.tmp", dir, rec->file);
    lxw_workbook_options opt = {.constant_memory = LXW_TRUE};
    f->wb = workbook_new_opt(f->tmp, &opt);
    if (!f->wb) {
        log_error("%s: cannot create workbook", f->tmp);
        return -1;
    }
    lxw_doc_properties props = {.title = (char *)rec->name,
                                .subject = "Genetika+ simulated lab events",
                                .author = "datagen",
                                .created = DG_CREATED};
    lxw_error e = workbook_set_properties(f->wb, &props);
    if (e) return dg_lxw(f, e, "properties");
    f->ws = workbook_add_worksheet(f->wb, rec->name);
    if (!f->ws) {
        log_error("%s: cannot add worksheet %s", f->path, rec->name);
        return -1;
    }
    f->date_fmt = workbook_add_format(f->wb);
    format_set_num_format(f->date_fmt, "yyyy-mm-dd hh:mm:ss");
    f->head_fmt = workbook_add_format(f->wb);
    format_set_bold(f->head_fmt);
    worksheet_freeze_panes(f->ws, 1, 0);
    for (size_t c = 0; c < rec->ncolumns; c++) {
        double width = rec->columns[c].type == SCHEMA_DATETIME ? 20
                       : rec->columns[c].type == SCHEMA_TEXT   ? 16
                                                               : 12;
        worksheet_set_column(f->ws, (lxw_col_t)c, (lxw_col_t)c, width, NULL);
        e = worksheet_write_string(f->ws, 0, (lxw_col_t)c, rec->columns[c].name, f->head_fmt);
        if (e) return dg_lxw(f, e, "header");
    }
    return 0;
}

/* Writes the row of event id as data row `row` (1: the first after the header). */
static int dg_write_row(dg_file *f, uint64_t seed, long data_row, uint64_t id) {
    lxw_row_t row = (lxw_row_t)data_row;
    dg_value v;
    for (size_t c = 0; c < f->rec->ncolumns; c++) {
        lxw_error e = LXW_NO_ERROR;
        lxw_col_t cc = (lxw_col_t)c;
        dg_value_of(&f->cols[c], seed, id, &v);
        if (v.empty) continue;
        switch (f->cols[c].col->type) {
        case SCHEMA_INT: e = worksheet_write_number(f->ws, row, cc, (double)v.i, NULL); break;
        case SCHEMA_REAL: e = worksheet_write_number(f->ws, row, cc, v.d, NULL); break;
        case SCHEMA_TEXT: e = worksheet_write_string(f->ws, row, cc, v.s, NULL); break;
        case SCHEMA_BOOL: e = worksheet_write_boolean(f->ws, row, cc, (int)v.i, NULL); break;
        case SCHEMA_DATETIME:
            /* An Excel date is the day count since 1899-12-30 with a date format;
             * 25569 is 1970-01-01. This is exactly what worksheet_write_datetime stores. */
            e = worksheet_write_number(f->ws, row, cc, 25569.0 + v.d / 86400.0, f->date_fmt);
            break;
        }
        if (e) return dg_lxw(f, e, "write");
    }
    return 0;
}

/* Closes the workbook, leaving it under its temporary name; an incomplete
 * one is removed. Returns 0, or -1. */
static int dg_close(dg_file *f, int complete) {
    lxw_error e = workbook_close(f->wb);
    f->wb = NULL;
    free(f->cols);
    f->cols = NULL;
    if (e) dg_lxw(f, e, "close");
    if (e || !complete) remove(f->tmp);
    return e ? -1 : 0;
}

/* Parses "1,3" into selected[0..2]. Returns 0, or -1. */
static int dg_parse_files(const char *list, int selected[SCHEMA_N_RECORDS]) {
    memset(selected, 0, SCHEMA_N_RECORDS * sizeof *selected);
    const char *p = list;
    int any = 0;
    while (*p) {
        char *end;
        long n = strtol(p, &end, 10);
        if (end == p || n < 1 || n > SCHEMA_N_RECORDS || (*end && *end != ',')) return -1;
        selected[n - 1] = any = 1;
        p = *end ? end + 1 : end;
    }
    return any ? 0 : -1;
}

/* Writes one file with the rows of events first..first+rows-1 under its
 * temporary name (f->tmp). Returns 0, 1 if stopped by a signal (nothing left
 * behind), -1 on error. */
static int dg_write_file(dg_file *f, const char *dir, const schema_record *rec, long rows,
                         uint64_t seed, uint64_t first) {
    memset(f, 0, sizeof *f);
    if (dg_open(f, dir, rec) != 0) {
        if (f->wb)
            dg_close(f, 0);
        else
            free(f->cols);
        return -1;
    }
    for (long row = 1; row <= rows; row++) {
        if (!signals_run) {
            log_warn("%s: interrupted at row %ld; no file changed", f->path, row);
            dg_close(f, 0);
            return 1;
        }
        if (dg_write_row(f, seed, row, first + (uint64_t)(row - 1)) != 0) {
            dg_close(f, 0);
            return -1;
        }
        if ((row & 4095) == 0) progress_update("datagen: %s row %ld/%ld", rec->file, row, rows);
    }
    progress_done();
    return dg_close(f, 1);
}

/* Writes every selected file, then renames them all into place, so that an
 * interrupted or failed run never leaves a mixed set of old and new files.
 * Returns 0, 1 if stopped by a signal, -1 on error. */
static int dg_write_all(const char *dir, const int selected[SCHEMA_N_RECORDS], long rows,
                        uint64_t seed, uint64_t first) {
    dg_file files[SCHEMA_N_RECORDS];
    int done[SCHEMA_N_RECORDS] = {0}, rc = 0;
    for (int i = 0; i < SCHEMA_N_RECORDS && rc == 0; i++) {
        if (!selected[i]) continue;
        rc = dg_write_file(&files[i], dir, &schema_records[i], rows, seed, first);
        done[i] = rc == 0;
    }
    for (int i = 0; i < SCHEMA_N_RECORDS; i++) {
        if (!done[i]) continue;
        if (rc == 0 && rename(files[i].tmp, files[i].path) != 0) {
            log_error("cannot rename %s to %s: %s", files[i].tmp, files[i].path, strerror(errno));
            rc = -1;
        }
        if (rc != 0) remove(files[i].tmp);
    }
    return rc;
}

int main(int argc, char **argv) {
    long rows = 50, seed = 42, first_id = 1;
    const char *out = "data", *files = "1,2,3", *level_name = "info";
    const cli_option opts[] = {
        {.long_name = "rows", .short_name = 'n', .env = "GK_DATAGEN_ROWS", .kind = CLI_INT,
         .target = &rows, .metavar = "N", .min = 0, .max = DG_MAX_ROWS,
         .help = "events (data rows) per file"},
        {.long_name = "first-id", .env = "GK_DATAGEN_FIRST_ID", .kind = CLI_INT,
         .target = &first_id, .metavar = "ID", .min = 1, .max = DG_MAX_FIRST_ID,
         .help = "event id of the first row (a data set larger than a sheet's 1,048,575 rows is "
                 "several workbooks of consecutive id ranges)"},
        {.long_name = "seed", .short_name = 's', .env = "GK_DATAGEN_SEED", .kind = CLI_INT,
         .target = &seed, .metavar = "S", .min = 0, .max = CLI_MAX_EXACT,
         .help = "seed of the generated values"},
        {.long_name = "out", .short_name = 'o', .env = "GK_DATAGEN_OUT", .kind = CLI_STRING,
         .target = &out, .metavar = "DIR", .min = 1, .max = CLI_ANY_LEN,
         .help = "output directory (created if missing)"},
        {.long_name = "files", .short_name = 'f', .env = "GK_DATAGEN_FILES", .kind = CLI_STRING,
         .target = &files, .metavar = "LIST", .min = 1, .max = CLI_ANY_LEN,
         .help = "which files to write, e.g. 1,3 for sim_file1.xlsx and sim_file3.xlsx"},
        CLI_OPT_LOG_LEVEL(&level_name),
        CLI_OPT_END,
    };
    const cli_program prog = {
        "datagen", "[options]",
        "Writes simulated genetics-lab workbooks DIR/sim_file1..3.xlsx (one per record type of "
        "the schema): a header row, then events 1..N (or from --first-id) with the same ids in every "
        "file. Each event's values depend only on --seed and its id.",
        "Exit status: 0 done (or interrupted: files left unchanged), 64 usage, 73 cannot write.\n"};
    int first = 0, rc = cli_parse(&prog, opts, argc, argv, &first);
    if (rc) return rc > 0 ? GK_EXIT_OK : GK_EXIT_USAGE;
    if (cli_log_init("datagen", level_name) != 0) return GK_EXIT_USAGE;
    int selected[SCHEMA_N_RECORDS];
    if (first < argc || dg_parse_files(files, selected) != 0) {
        fprintf(stderr, "datagen: bad arguments (--files like 1,2,3); try 'datagen --help'\n");
        return GK_EXIT_USAGE;
    }
    signals_install();
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        log_error("cannot create %s: %s", out, strerror(errno));
        return GK_EXIT_CANTCREAT;
    }
    int64_t t0 = time_mono_us();
    rc = dg_write_all(out, selected, rows, (uint64_t)seed, (uint64_t)first_id);
    if (rc < 0) return GK_EXIT_CANTCREAT;
    if (rc > 0) return GK_EXIT_OK;
    int nfiles = 0;
    for (int i = 0; i < SCHEMA_N_RECORDS; i++)
        nfiles += selected[i];
    double secs = (double)(time_mono_us() - t0) / 1e6;
    log_info("wrote %ld rows to each of %d file(s) in %s in %.2f s (%.0f rows/s)", rows, nfiles,
             out, secs, secs > 0 ? (double)rows * nfiles / secs : 0.0);
    return GK_EXIT_OK;
}
