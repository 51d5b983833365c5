/* store_pg.c - db_consumer's PostgreSQL store (see store.h), for one or many
 * instances writing the same database at once.
 *
 * One transaction per batch, as in SQLite: it first locks the stored offsets
 * of the batch's partitions (SELECT ... FOR UPDATE, in a fixed order, after
 * inserting a placeholder row for a partition never seen, so there is a row
 * to lock), applies batch.h's rule to them, writes the rows, the dead letters
 * and the new offsets, and commits. The lock serializes two instances that
 * hold one partition for a while (a rebalance one of them has not noticed);
 * the rule makes the later one skip what the earlier one wrote.
 *
 * Rows go in bulk: the batch's rows of each table are copied (COPY, text
 * format) into a staging table of the session and upserted from there with
 * one INSERT ... SELECT ... ON CONFLICT DO UPDATE. Measured against a
 * multi-row INSERT and against a prepared single-row upsert in libpq's
 * pipeline mode, this was the fastest (numbers: bench/README.md). One
 * INSERT cannot update a row twice, so a batch holding an event id twice
 * keeps only its last message of it (last write wins, as row by row). Should
 * the table refuse a value (SQLSTATE class 22 or 23: something the schema's
 * check let through), the batch is written again row by row, each under a
 * savepoint, and the refused row becomes a dead letter, as in SQLite.
 *
 * A lost connection (the server restarted, the network) is reconnected with
 * a capped backoff and the batch written again in a new transaction; a
 * serialization failure or deadlock is retried the same way. A replay of a
 * batch whose commit did land is harmless: the rule finds its offsets
 * stored and skips it. */
#include "db_consumer/store.h"

#include "common/exitcodes.h"
#include "common/log.h"
#include "common/numtext.h"
#include "db_consumer/batch.h"
#include "db_consumer/pg_conn.h"
#include "schema/sql.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PGS_MAX_RETRIES 20    /* replays of one batch after serialization failures */
#define PGS_COPY_CHUNK (1 << 20)
/* Serializes the table creation of instances starting together: concurrent
 * CREATE TABLE IF NOT EXISTS can fail on the catalog's unique index. */
#define PGS_DDL_LOCK "7390284130912345601"

/* The bookkeeping tables, beside the schema's record tables. */
typedef struct {
    const char *name, *sql_type, *catalog_type;
} pgs_column;

static const pgs_column pgs_offsets_cols[] = {
    {"cluster_id", "text NOT NULL", "text"},
    {"topic", "text NOT NULL", "text"},
    {"partition", "integer NOT NULL", "integer"},
    {"next_offset", "bigint NOT NULL", "bigint"},
};
static const pgs_column pgs_dead_cols[] = {
    {"id", "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "bigint"},
    {"topic", "text NOT NULL", "text"},
    {"partition", "integer NOT NULL", "integer"},
    {"offset", "bigint NOT NULL", "bigint"},
    {"key", "bytea", "bytea"},
    {"value", "bytea", "bytea"},
    {"reason", "text NOT NULL", "text"},
    {"received_at", "timestamptz NOT NULL", "timestamp with time zone"},
};
#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

/* One record table's rows of the open batch, as COPY text lines. */
typedef struct {
    char *buf; /* the lines */
    size_t len, cap;
    struct pgs_line {
        size_t off, len; /* len 0: replaced by a later message of the same event id */
    } *lines;
    size_t nlines, lcap;
    /* event id -> line, to keep only the last line of an id */
    int64_t *ids;
    uint32_t *idx;
    size_t hcap, ndup;
    char *copy_sql;
} pgs_table;

typedef struct {
    db_store base; /* first: a db_store * is a pg_store * */
    pg_conn *conn;
    db_sync sync;
    bool tables_ready; /* created and checked (once, at open) */
    bool planned;      /* the statements' plans found their unique indexes (once) */
    bool careful;      /* write the batch row by row (a value was refused) */
    db_batch_told told;
    pgs_table tables[SCHEMA_N_RECORDS];
    db_stats add; /* the open batch's counts */
    /* The failure of the open batch's attempt. */
    pg_fail fail;
    char state[6];
    char msg[900];  /* the server's message */
    char err[1024]; /* what failed: the message */
    char scratch[64]; /* a number as text */
} pg_store;

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

/* Grows *buf to hold at least need bytes. Returns 0, or -1 if out of memory. */
static int pgs_reserve(void **buf, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *p = realloc(*buf, c * elem);
    if (!p) return -1;
    *buf = p;
    *cap = c;
    return 0;
}

/* Records the failure of res (NULL: of the call) as the attempt's failure.
 * Always returns -1. */
static int pgs_failed(pg_store *s, const PGresult *res, const char *what) {
    s->fail = pg_conn_fail(s->conn, res, s->state, s->msg, sizeof s->msg);
    snprintf(s->err, sizeof s->err, "%s: %s", what, s->msg);
    return -1;
}

/* Runs sql (no parameters), expecting status. Returns 0 or -1 (recorded). */
static int pgs_exec(pg_store *s, const char *sql, ExecStatusType status, const char *what) {
    PGresult *r = PQexec(pg_conn_pg(s->conn), sql);
    int rc = r && PQresultStatus(r) == status ? 0 : pgs_failed(s, r, what);
    PQclear(r);
    return rc;
}

/* Text with every invalid UTF-8 byte replaced by '?' (a dead letter's reason
 * may quote the message; PostgreSQL refuses invalid text). */
static void pgs_utf8_clean(const char *in, char *out, size_t len) {
    size_t j = 0;
    const unsigned char *p = (const unsigned char *)in;
    while (*p && j + 5 < len) {
        size_t n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
        if (n > 1 && !schema_utf8_valid((const char *)p, n)) n = 0;
        for (size_t k = 1; n > 1 && k < n; k++)
            if (!p[k]) n = 0;
        if (n == 0) {
            out[j++] = '?';
            p++;
            continue;
        }
        memcpy(out + j, p, n);
        j += n;
        p += n;
    }
    out[j] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Values as text                                                            */
/* ------------------------------------------------------------------------ */

/* The text form PostgreSQL reads for a non-null value: *out points at it
 * (into s->scratch, or the value's own bytes for text), *len its length. A
 * real is written with 17 significant digits, which reads back as the same
 * double. */
static void pgs_value_text(pg_store *s, const schema_column *c, const schema_value *v,
                           const char **out, size_t *len) {
    switch (c->type) {
    case SCHEMA_INT:
        *len = numtext_i64(s->scratch, v->i);
        *out = s->scratch;
        return;
    case SCHEMA_REAL: {
        int n = snprintf(s->scratch, sizeof s->scratch, "%.17g", v->d);
        *len = n > 0 ? (size_t)n : 0;
        *out = s->scratch;
        return;
    }
    case SCHEMA_BOOL:
        *out = v->i ? "t" : "f";
        *len = 1;
        return;
    case SCHEMA_TEXT:
    case SCHEMA_DATETIME:
        *out = v->s;
        *len = v->len;
        return;
    }
    *out = "";
    *len = 0;
}

/* ------------------------------------------------------------------------ */
/* The bulk path: rows as COPY lines                                         */
/* ------------------------------------------------------------------------ */

static void pgs_table_reset(pgs_table *t) {
    t->len = 0;
    t->nlines = 0;
    t->ndup = 0;
    if (t->hcap) memset(t->idx, 0xff, t->hcap * sizeof *t->idx);
}

/* The slot of event id in t's hash (empty slots have idx UINT32_MAX). */
static size_t pgs_slot(const pgs_table *t, int64_t id) {
    size_t h = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ull) & (t->hcap - 1);
    while (t->idx[h] != UINT32_MAX && t->ids[h] != id) h = (h + 1) & (t->hcap - 1);
    return h;
}

/* Makes room in the hash for one more id. Returns 0 or -1 (out of memory). */
static int pgs_hash_room(pgs_table *t) {
    if ((t->nlines + 1) * 2 <= t->hcap) return 0;
    size_t cap = t->hcap ? t->hcap * 2 : 1024;
    int64_t *ids = malloc(cap * sizeof *ids);
    uint32_t *idx = malloc(cap * sizeof *idx);
    if (!ids || !idx) {
        free(ids);
        free(idx);
        return -1;
    }
    memset(idx, 0xff, cap * sizeof *idx);
    int64_t *old_ids = t->ids;
    uint32_t *old_idx = t->idx;
    size_t old_cap = t->hcap;
    t->ids = ids, t->idx = idx, t->hcap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old_idx[i] == UINT32_MAX) continue;
        size_t h = pgs_slot(t, old_ids[i]);
        t->ids[h] = old_ids[i];
        t->idx[h] = old_idx[i];
    }
    free(old_ids);
    free(old_idx);
    return 0;
}

/* Appends n bytes of text to t's buffer, COPY-escaped unless raw. */
static int pgs_put(pgs_table *t, const char *p, size_t n, bool raw) {
    if (pgs_reserve((void **)&t->buf, &t->cap, t->len + 2 * n + 2, 1) != 0) return -1;
    if (raw) {
        memcpy(t->buf + t->len, p, n);
        t->len += n;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '\\' || ch == '\n' || ch == '\r' || ch == '\t') {
            t->buf[t->len++] = '\\';
            ch = ch == '\n' ? 'n' : ch == '\r' ? 'r' : ch == '\t' ? 't' : '\\';
        }
        t->buf[t->len++] = ch;
    }
    return 0;
}

/* db_batch_sink.row of the bulk path: the row as a COPY line of its table;
 * an earlier line of the same event id in this batch is dropped. */
static int pgs_row_line(void *ctx, const msg_view *m, const schema_message *sm) {
    (void)m;
    pg_store *s = ctx;
    size_t r = (size_t)(sm->rec - schema_records);
    pgs_table *t = &s->tables[r];
    if (pgs_hash_room(t) != 0 ||
        pgs_reserve((void **)&t->lines, &t->lcap, t->nlines + 1, sizeof *t->lines) != 0)
        goto oom;
    size_t off = t->len;
    for (size_t i = 0; i < sm->rec->ncolumns; i++) {
        const schema_value *v = &sm->values[i];
        int rc = i ? pgs_put(t, "\t", 1, true) : 0;
        if (rc == 0 && v->is_null) {
            rc = pgs_put(t, "\\N", 2, true);
        } else if (rc == 0) {
            const char *text;
            size_t len;
            pgs_value_text(s, &sm->rec->columns[i], v, &text, &len);
            rc = pgs_put(t, text, len, false);
        }
        if (rc != 0) goto oom;
    }
    if (pgs_put(t, "\n", 1, true) != 0) goto oom;
    size_t h = pgs_slot(t, sm->event_id);
    if (t->idx[h] != UINT32_MAX) {
        t->lines[t->idx[h]].len = 0;
        t->ndup++;
    }
    t->ids[h] = sm->event_id;
    t->idx[h] = (uint32_t)t->nlines;
    t->lines[t->nlines++] = (struct pgs_line){off, t->len - off};
    s->add.rows++;
    s->add.table_rows[r]++;
    return 0;
oom:
    s->fail = PG_FAIL_FATAL;
    s->state[0] = '\0';
    snprintf(s->err, sizeof s->err, "out of memory for the rows of a batch");
    return -1;
}

/* Sends t's live lines with COPY and upserts them from the staging table. */
static int pgs_table_flush(pg_store *s, size_t r) {
    pgs_table *t = &s->tables[r];
    if (t->nlines == 0) return 0;
    PGconn *pg = pg_conn_pg(s->conn);
    PGresult *res = PQexec(pg, t->copy_sql);
    if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
        int rc = pgs_failed(s, res, "COPY");
        PQclear(res);
        return rc;
    }
    PQclear(res);
    int ok = 1;
    if (t->ndup == 0) {
        for (size_t off = 0; ok == 1 && off < t->len; off += PGS_COPY_CHUNK) {
            size_t n = t->len - off < PGS_COPY_CHUNK ? t->len - off : PGS_COPY_CHUNK;
            ok = PQputCopyData(pg, t->buf + off, (int)n);
        }
    } else {
        for (size_t i = 0; ok == 1 && i < t->nlines; i++)
            if (t->lines[i].len) ok = PQputCopyData(pg, t->buf + t->lines[i].off, (int)t->lines[i].len);
    }
    if (ok == 1) ok = PQputCopyEnd(pg, NULL);
    int rc = 0;
    while ((res = PQgetResult(pg))) {
        if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK) rc = pgs_failed(s, res, "COPY");
        PQclear(res);
    }
    if (rc == 0 && ok != 1) rc = pgs_failed(s, NULL, "COPY");
    if (rc != 0) return rc;
    char name[32];
    snprintf(name, sizeof name, "gk_upsert_from_%zu", r);
    res = PQexecPrepared(pg, name, 0, NULL, NULL, NULL, 0);
    rc = res && PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : pgs_failed(s, res, "upsert");
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The careful path: row by row                                              */
/* ------------------------------------------------------------------------ */

static int pgs_dead_letter(void *ctx, const msg_view *m, const char *reason);

/* db_batch_sink.row of the careful path: one upsert under a savepoint; a
 * value the table refuses makes the row a dead letter. */
static int pgs_row_careful(void *ctx, const msg_view *m, const schema_message *sm) {
    pg_store *s = ctx;
    const schema_record *rec = sm->rec;
    size_t r = (size_t)(rec - schema_records);
    char *texts[SCHEMA_MAX_COLUMNS] = {0};
    const char *params[SCHEMA_MAX_COLUMNS];
    int rc = 0;
    for (size_t i = 0; i < rec->ncolumns && rc == 0; i++) {
        params[i] = NULL;
        if (sm->values[i].is_null) continue;
        const char *text;
        size_t len;
        pgs_value_text(s, &rec->columns[i], &sm->values[i], &text, &len);
        if (!(texts[i] = strndup(text, len))) {
            s->fail = PG_FAIL_FATAL;
            snprintf(s->err, sizeof s->err, "out of memory");
            rc = -1;
        }
        params[i] = texts[i];
    }
    if (rc == 0) rc = pgs_exec(s, "SAVEPOINT gk_row", PGRES_COMMAND_OK, "savepoint");
    if (rc == 0) {
        char name[32];
        snprintf(name, sizeof name, "gk_upsert_%zu", r);
        PGresult *res =
            PQexecPrepared(pg_conn_pg(s->conn), name, (int)rec->ncolumns, params, NULL, NULL, 0);
        if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
            s->add.rows++;
            s->add.table_rows[r]++;
            rc = pgs_exec(s, "RELEASE SAVEPOINT gk_row", PGRES_COMMAND_OK, "release savepoint");
        } else if (pgs_failed(s, res, "upsert") && s->fail == PG_FAIL_DATA) {
            char reason[SCHEMA_REASON_MAX];
            snprintf(reason, sizeof reason, "rejected by table %s: %.400s", rec->table, s->msg);
            rc = pgs_exec(s, "ROLLBACK TO SAVEPOINT gk_row", PGRES_COMMAND_OK, "rollback to savepoint");
            if (rc == 0) {
                db_batch_log_dead_letter(m, reason);
                rc = pgs_dead_letter(s, m, reason);
            }
        } else {
            rc = -1;
        }
        PQclear(res);
    }
    for (size_t i = 0; i < rec->ncolumns; i++) free(texts[i]);
    return rc;
}

/* db_batch_sink.dead_letter: kept with its raw key and value; a re-delivered
 * one hits the unique key and is ignored. */
static int pgs_dead_letter(void *ctx, const msg_view *m, const char *reason) {
    pg_store *s = ctx;
    char partition[16], offset[NUMTEXT_I64_MAX + 1], clean[SCHEMA_REASON_MAX + 256];
    snprintf(partition, sizeof partition, "%" PRId32, m->partition);
    offset[numtext_i64(offset, m->offset)] = '\0';
    pgs_utf8_clean(reason, clean, sizeof clean);
    const char *params[6] = {m->topic, partition, offset, m->key, m->value, clean};
    int lengths[6] = {0, 0, 0, (int)m->key_len, (int)m->value_len, 0};
    int formats[6] = {0, 0, 0, 1, 1, 0};
    PGresult *res =
        PQexecPrepared(pg_conn_pg(s->conn), "gk_dead_letter", 6, params, lengths, formats, 0);
    int rc = 0;
    if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
        uint64_t n = (uint64_t)atoll(PQcmdTuples(res));
        s->add.dead_letters += n;
        s->add.dead_by_class[schema_reason_class(reason)] += n;
    } else
        rc = pgs_failed(s, res, "storing a dead letter");
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Offsets                                                                   */
/* ------------------------------------------------------------------------ */

/* An array literal ("{...}") of the batch's topics, partitions or next
 * offsets (what 0, 1, 2), for the partitions where keep[i] (NULL: all).
 * Topic names are quoted. Returns a malloc'd string, or NULL. */
static char *pgs_array(const consume_batch *b, int what, const db_batch_part *plan) {
    size_t cap = 2;
    for (size_t i = 0; i < b->nnext; i++) cap += 2 * strlen(b->next[i].topic) + 32;
    char *out = malloc(cap), *p = out;
    if (!out) return NULL;
    *p++ = '{';
    bool first = true;
    for (size_t i = 0; i < b->nnext; i++) {
        if (plan && !plan[i].store_offset) continue;
        if (!first) *p++ = ',';
        first = false;
        if (what == 0) {
            *p++ = '"';
            for (const char *t = b->next[i].topic; *t; t++) {
                if (*t == '"' || *t == '\\') *p++ = '\\';
                *p++ = *t;
            }
            *p++ = '"';
        } else if (what == 1) {
            p += sprintf(p, "%" PRId32, b->next[i].partition);
        } else {
            p += numtext_i64(p, b->next[i].offset);
        }
    }
    *p++ = '}';
    *p = '\0';
    return out;
}

/* Locks the offset rows of the batch's partitions (creating those never
 * seen) and reads them into stored[] (-1: none, or another cluster's). */
static int pgs_lock_offsets(pg_store *s, const consume_batch *b, int64_t *stored) {
    PGconn *pg = pg_conn_pg(s->conn);
    char *topics = pgs_array(b, 0, NULL), *parts = pgs_array(b, 1, NULL);
    int rc = topics && parts ? 0 : -1;
    if (rc != 0) {
        s->fail = PG_FAIL_FATAL;
        snprintf(s->err, sizeof s->err, "out of memory");
    }
    if (rc == 0) {
        const char *p3[3] = {b->cluster_id, topics, parts};
        PGresult *res = PQexecPrepared(pg, "gk_offsets_seed", 3, p3, NULL, NULL, 0);
        if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) rc = pgs_failed(s, res, "offsets");
        PQclear(res);
    }
    if (rc == 0) {
        const char *p2[2] = {topics, parts};
        PGresult *res = PQexecPrepared(pg, "gk_offsets_lock", 2, p2, NULL, NULL, 0);
        if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = pgs_failed(s, res, "locking offsets");
        } else {
            for (size_t i = 0; i < b->nnext; i++) stored[i] = -1;
            for (int row = 0; row < PQntuples(res); row++) {
                const char *topic = PQgetvalue(res, row, 0);
                int32_t part = (int32_t)atol(PQgetvalue(res, row, 1));
                for (size_t i = 0; i < b->nnext; i++)
                    if (b->next[i].partition == part && strcmp(b->next[i].topic, topic) == 0 &&
                        strcmp(PQgetvalue(res, row, 2), b->cluster_id) == 0)
                        stored[i] = atoll(PQgetvalue(res, row, 3));
            }
        }
        PQclear(res);
    }
    free(topics);
    free(parts);
    return rc;
}

/* Stores the next offsets plan says to. */
static int pgs_store_offsets(pg_store *s, const consume_batch *b, const db_batch_part *plan) {
    bool any = false;
    for (size_t i = 0; i < b->nnext; i++) any |= plan[i].store_offset;
    if (!any) return 0;
    char *topics = pgs_array(b, 0, plan), *parts = pgs_array(b, 1, plan),
         *offsets = pgs_array(b, 2, plan);
    int rc = 0;
    if (!topics || !parts || !offsets) {
        s->fail = PG_FAIL_FATAL;
        snprintf(s->err, sizeof s->err, "out of memory");
        rc = -1;
    } else {
        const char *p4[4] = {b->cluster_id, topics, parts, offsets};
        PGresult *res = PQexecPrepared(pg_conn_pg(s->conn), "gk_offsets_store", 4, p4, NULL, NULL, 0);
        if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) rc = pgs_failed(s, res, "storing offsets");
        PQclear(res);
    }
    free(topics);
    free(parts);
    free(offsets);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Writing a batch                                                           */
/* ------------------------------------------------------------------------ */

/* One attempt at the batch's transaction. Returns 0, or -1 with the failure
 * in s->fail/state/err (the transaction may still be open). */
static int pgs_attempt(pg_store *s, const consume_batch *b, int64_t *stored, db_batch_part *plan) {
    s->add = (db_stats){0};
    for (size_t r = 0; r < SCHEMA_N_RECORDS; r++) pgs_table_reset(&s->tables[r]);
    if (pgs_exec(s, "BEGIN", PGRES_COMMAND_OK, "begin") != 0 ||
        pgs_lock_offsets(s, b, stored) != 0)
        return -1;
    s->add.skipped = db_batch_plan(&s->told, b, stored, plan);
    db_batch_sink sink = {s->careful ? pgs_row_careful : pgs_row_line, pgs_dead_letter};
    if (db_batch_walk(b, plan, &sink, s) != 0) return -1;
    for (size_t r = 0; !s->careful && r < SCHEMA_N_RECORDS; r++)
        if (pgs_table_flush(s, r) != 0) return -1;
    if (pgs_store_offsets(s, b, plan) != 0) return -1;
    return pgs_exec(s, "COMMIT", PGRES_COMMAND_OK, "commit");
}

static int pgs_write_batch(db_store *base, const consume_batch *b, db_stats *stats) {
    pg_store *s = (pg_store *)base;
    if (b->nmsgs == 0) return 0;
    int64_t *stored = calloc(b->nnext, sizeof *stored);
    db_batch_part *plan = calloc(b->nnext, sizeof *plan);
    if (!stored || !plan) {
        free(stored);
        free(plan);
        log_error("out of memory for a batch of %zu partitions", b->nnext);
        return -1;
    }
    s->careful = false;
    int rc = -1, retries = 0;
    for (int attempt = 0;; attempt++) {
        if (!pg_conn_pg(s->conn)) {
            char err[1024];
            int orc = pg_conn_open(s->conn, 0, err, sizeof err);
            if (orc < 0) {
                log_error("%s; the batch of %zu messages was not stored (it will be consumed again)",
                          err, b->nmsgs);
                break;
            }
            if (orc != 0) {
                log_error("%s", err);
                base->exit_code = orc;
                break;
            }
            log_info("PostgreSQL %s: connected again; writing the batch of %zu messages again",
                     pg_conn_name(s->conn), b->nmsgs);
        }
        if (pgs_attempt(s, b, stored, plan) == 0) {
            rc = 0;
            break;
        }
        if (s->fail != PG_FAIL_CONNECTION && PQstatus(pg_conn_pg(s->conn)) == CONNECTION_OK &&
            PQtransactionStatus(pg_conn_pg(s->conn)) != PQTRANS_IDLE) {
            PGresult *res = PQexec(pg_conn_pg(s->conn), "ROLLBACK");
            PQclear(res);
        }
        if (s->fail == PG_FAIL_CONNECTION) {
            log_warn("PostgreSQL %s: connection lost (%s): reconnecting; the batch is written again "
                     "in a new transaction",
                     pg_conn_name(s->conn), s->err);
            pg_conn_drop(s->conn);
            if (attempt > 0 && pg_conn_backoff(attempt - 1) != 0) {
                log_error("stopped by a signal while PostgreSQL was unreachable; the batch of %zu "
                          "messages was not stored (it will be consumed again)",
                          b->nmsgs);
                break;
            }
        } else if (s->fail == PG_FAIL_RETRY && ++retries <= PGS_MAX_RETRIES) {
            log_warn("PostgreSQL %s: %s: writing the batch again", pg_conn_name(s->conn), s->err);
            if (pg_conn_backoff(retries - 1) != 0) break;
        } else if (s->fail == PG_FAIL_DATA && !s->careful) {
            log_info("PostgreSQL %s: %s: writing the batch again row by row to find the rows the "
                     "table refuses",
                     pg_conn_name(s->conn), s->err);
            s->careful = true;
        } else {
            log_error("PostgreSQL %s: %s", pg_conn_name(s->conn), s->err);
            base->exit_code = pg_conn_exit_code(s->state);
            break;
        }
    }
    if (rc == 0) {
        db_stats_add(stats, &s->add);
        db_batch_committed(&s->told, b);
    }
    free(stored);
    free(plan);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Positions                                                                 */
/* ------------------------------------------------------------------------ */

static int pgs_positions(db_store *base, const char *cluster_id, consume_partition *parts,
                         size_t n) {
    pg_store *s = (pg_store *)base;
    for (size_t i = 0; i < n; i++) {
        for (int attempt = 0;; attempt++) {
            if (!pg_conn_pg(s->conn)) {
                char err[1024];
                int orc = pg_conn_open(s->conn, 0, err, sizeof err);
                if (orc < 0) {
                    log_info("%s: the stored offsets were not read", err);
                    return -1;
                }
                if (orc != 0) {
                    log_error("%s: cannot read the stored offsets", err);
                    return orc;
                }
            }
            char partition[16];
            snprintf(partition, sizeof partition, "%" PRId32, parts[i].partition);
            const char *params[2] = {parts[i].topic, partition};
            PGresult *res =
                PQexecPrepared(pg_conn_pg(s->conn), "gk_offsets_get", 2, params, NULL, NULL, 0);
            if (res && PQresultStatus(res) == PGRES_TUPLES_OK) {
                parts[i].offset = -1;
                if (PQntuples(res) == 1) {
                    const char *stored_cluster = PQgetvalue(res, 0, 0);
                    int64_t next = atoll(PQgetvalue(res, 0, 1));
                    if (strcmp(stored_cluster, cluster_id) == 0)
                        parts[i].offset = next >= 0 ? next : -1;
                    else
                        log_warn("%s [%" PRId32
                                 "]: stored offset belongs to cluster '%s', not '%s'; ignored",
                                 parts[i].topic, parts[i].partition, stored_cluster, cluster_id);
                }
                PQclear(res);
                break;
            }
            pgs_failed(s, res, "reading stored offsets");
            PQclear(res);
            if (s->fail != PG_FAIL_CONNECTION) {
                log_error("PostgreSQL %s: %s", pg_conn_name(s->conn), s->err);
                return pg_conn_exit_code(s->state);
            }
            log_warn("PostgreSQL %s: connection lost (%s): reconnecting", pg_conn_name(s->conn),
                     s->err);
            pg_conn_drop(s->conn);
            if (attempt > 0 && pg_conn_backoff(attempt - 1) != 0) return -1; /* a signal */
        }
        if (db_batch_told_set(&s->told, parts[i].topic, parts[i].partition, parts[i].offset) != 0)
            log_warn("out of memory noting the start of %s [%" PRId32 "]", parts[i].topic,
                     parts[i].partition);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Opening                                                                   */
/* ------------------------------------------------------------------------ */

/* CREATE TABLE IF NOT EXISTS of a bookkeeping table (malloc'd). */
static char *pgs_create_sql(const char *table, const pgs_column *cols, size_t n,
                            const char *extra) {
    size_t cap = 256 + strlen(extra);
    for (size_t i = 0; i < n; i++) cap += strlen(cols[i].name) + strlen(cols[i].sql_type) + 8;
    char *sql = malloc(cap);
    if (!sql) return NULL;
    size_t len = (size_t)snprintf(sql, cap, "CREATE TABLE IF NOT EXISTS \"%s\" (", table);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(sql + len, cap - len, "%s\"%s\" %s", i ? ", " : "", cols[i].name,
                                cols[i].sql_type);
    snprintf(sql + len, cap - len, "%s)", extra);
    return sql;
}

/* Creates every table that does not exist, in one transaction under an
 * advisory lock. Returns 0 or -1 (recorded). */
static int pgs_create_tables(pg_store *s) {
    char *sql[SCHEMA_N_RECORDS + 2] = {
        pgs_create_sql("kafka_offsets", pgs_offsets_cols, NCOLS(pgs_offsets_cols),
                       ", PRIMARY KEY (\"topic\", \"partition\")"),
        pgs_create_sql("dead_letters", pgs_dead_cols, NCOLS(pgs_dead_cols),
                       ", UNIQUE (\"topic\", \"partition\", \"offset\")")};
    for (size_t i = 0; i < SCHEMA_N_RECORDS; i++)
        sql[2 + i] = schema_sql_create(SCHEMA_POSTGRES, &schema_records[i]);
    int rc = sql[0] && sql[1] ? 0 : -1;
    if (rc != 0) {
        s->fail = PG_FAIL_FATAL;
        snprintf(s->err, sizeof s->err, "out of memory");
    }
    if (rc == 0) rc = pgs_exec(s, "BEGIN", PGRES_COMMAND_OK, "begin");
    if (rc == 0)
        rc = pgs_exec(s, "SELECT pg_advisory_xact_lock(" PGS_DDL_LOCK ")", PGRES_TUPLES_OK,
                      "taking the table creation lock");
    for (size_t i = 0; rc == 0 && i < SCHEMA_N_RECORDS + 2; i++)
        rc = pgs_exec(s, sql[i], PGRES_COMMAND_OK, "creating tables");
    if (rc == 0) rc = pgs_exec(s, "COMMIT", PGRES_COMMAND_OK, "commit");
    if (rc != 0 && PQtransactionStatus(pg_conn_pg(s->conn)) != PQTRANS_IDLE) {
        PGresult *res = PQexec(pg_conn_pg(s->conn), "ROLLBACK");
        PQclear(res);
    }
    for (size_t i = 0; i < SCHEMA_N_RECORDS + 2; i++) free(sql[i]);
    return rc;
}

/* One expected column: table, name, information_schema type. */
typedef struct {
    const char *table, *name, *type;
} pgs_expect;

/* Checks the tables' columns against what this program writes: every
 * column there with the type the schema maps it to, and no column the
 * inserts leave empty that may not be (NOT NULL without a default). Returns
 * 0, or GK_EXIT_CONFIG with the first disagreement in err, or -1 if the query
 * failed (recorded). */
static int pgs_check_tables(pg_store *s, char *err, size_t errlen) {
    pgs_expect want[SCHEMA_N_RECORDS * SCHEMA_MAX_COLUMNS + NCOLS(pgs_offsets_cols) +
                    NCOLS(pgs_dead_cols)];
    size_t n = 0;
    for (size_t i = 0; i < NCOLS(pgs_offsets_cols); i++)
        want[n++] = (pgs_expect){"kafka_offsets", pgs_offsets_cols[i].name,
                                 pgs_offsets_cols[i].catalog_type};
    for (size_t i = 0; i < NCOLS(pgs_dead_cols); i++)
        want[n++] =
            (pgs_expect){"dead_letters", pgs_dead_cols[i].name, pgs_dead_cols[i].catalog_type};
    for (size_t r = 0; r < SCHEMA_N_RECORDS; r++)
        for (size_t i = 0; i < schema_records[r].ncolumns; i++)
            want[n++] = (pgs_expect){schema_records[r].table, schema_records[r].columns[i].name,
                                     schema_pg_catalog_type(schema_records[r].columns[i].type)};
    PGresult *res = PQexec(
        pg_conn_pg(s->conn),
        "SELECT table_name, column_name, data_type, is_nullable = 'NO' AND column_default IS NULL "
        "AND is_identity = 'NO' FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name IN ('kafka_offsets', 'dead_letters', 'data1', 'data2', "
        "'data3') ORDER BY table_name, ordinal_position");
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        int rc = pgs_failed(s, res, "reading the tables' columns");
        PQclear(res);
        return rc;
    }
    int rc = 0;
    for (size_t w = 0; w < n && rc == 0; w++) {
        int row = 0;
        while (row < PQntuples(res) && !(strcmp(PQgetvalue(res, row, 0), want[w].table) == 0 &&
                                         strcmp(PQgetvalue(res, row, 1), want[w].name) == 0))
            row++;
        if (row == PQntuples(res)) {
            snprintf(err, errlen,
                     "PostgreSQL %s: table %s has no column %s (%s): it disagrees with the schema "
                     "(schema/schema.c); add the column or drop the table",
                     pg_conn_name(s->conn), want[w].table, want[w].name, want[w].type);
            rc = GK_EXIT_CONFIG;
        } else if (strcmp(PQgetvalue(res, row, 2), want[w].type) != 0) {
            snprintf(err, errlen,
                     "PostgreSQL %s: table %s, column %s is %s, but the schema maps it to %s; "
                     "alter the column or drop the table",
                     pg_conn_name(s->conn), want[w].table, want[w].name, PQgetvalue(res, row, 2),
                     want[w].type);
            rc = GK_EXIT_CONFIG;
        }
    }
    for (int row = 0; row < PQntuples(res) && rc == 0; row++) {
        if (strcmp(PQgetvalue(res, row, 3), "t") != 0) continue;
        bool known = false;
        for (size_t w = 0; w < n && !known; w++)
            known = strcmp(PQgetvalue(res, row, 0), want[w].table) == 0 &&
                    strcmp(PQgetvalue(res, row, 1), want[w].name) == 0;
        if (!known) {
            snprintf(err, errlen,
                     "PostgreSQL %s: table %s has a column %s that is NOT NULL without a default, "
                     "which the schema does not fill; drop it, give it a default, or drop the table",
                     pg_conn_name(s->conn), PQgetvalue(res, row, 0), PQgetvalue(res, row, 1));
            rc = GK_EXIT_CONFIG;
        }
    }
    PQclear(res);
    return rc;
}

/* Prepares one statement. Returns 0 or -1 (recorded). */
static int pgs_prepare(pg_store *s, const char *name, const char *sql) {
    if (!sql) {
        s->fail = PG_FAIL_FATAL;
        snprintf(s->err, sizeof s->err, "out of memory");
        return -1;
    }
    PGresult *res = PQprepare(pg_conn_pg(s->conn), name, sql, 0, NULL);
    char what[64];
    snprintf(what, sizeof what, "preparing %s", name);
    int rc = res && PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : pgs_failed(s, res, what);
    PQclear(res);
    return rc;
}

static const char pgs_offsets_seed_sql[] =
    "INSERT INTO \"kafka_offsets\" (\"cluster_id\", \"topic\", \"partition\", \"next_offset\") "
    "SELECT $1, u.t, u.p, -1 FROM unnest($2::text[], $3::integer[]) AS u(t, p) ORDER BY u.t, u.p "
    "ON CONFLICT (\"topic\", \"partition\") DO NOTHING";
/* The order is the lock order: two instances never wait on each other in a
 * circle for offset rows. */
static const char pgs_offsets_lock_sql[] =
    "SELECT k.\"topic\", k.\"partition\", k.\"cluster_id\", k.\"next_offset\" FROM "
    "\"kafka_offsets\" AS k JOIN unnest($1::text[], $2::integer[]) AS u(t, p) ON k.\"topic\" = "
    "u.t AND k.\"partition\" = u.p ORDER BY k.\"topic\", k.\"partition\" FOR UPDATE OF k";
static const char pgs_offsets_store_sql[] =
    "UPDATE \"kafka_offsets\" AS k SET \"cluster_id\" = $1, \"next_offset\" = u.n FROM "
    "unnest($2::text[], $3::integer[], $4::bigint[]) AS u(t, p, n) WHERE k.\"topic\" = u.t AND "
    "k.\"partition\" = u.p";
static const char pgs_offsets_get_sql[] =
    "SELECT \"cluster_id\", \"next_offset\" FROM \"kafka_offsets\" WHERE \"topic\" = $1 AND "
    "\"partition\" = $2::integer";
static const char pgs_dead_letter_sql[] =
    "INSERT INTO \"dead_letters\" (\"topic\", \"partition\", \"offset\", \"key\", \"value\", "
    "\"reason\", \"received_at\") VALUES ($1, $2::integer, $3::bigint, $4::bytea, $5::bytea, $6, "
    "now()) ON CONFLICT (\"topic\", \"partition\", \"offset\") DO NOTHING";

/* pg_conn_setup: on every new connection the session's settings (UTC, the
 * commit durability), the staging tables and the prepared statements; on
 * the first, before them, the tables are created and checked. Returns 0, an
 * exit code, or -1 when the connection broke. */
static int pgs_setup(void *ctx, PGconn *pg, char *err, size_t errlen) {
    (void)pg;
    pg_store *s = ctx;
    int rc = pgs_exec(s,
                      s->sync == DB_SYNC_NORMAL ? "SET TimeZone = 'UTC'; SET synchronous_commit = off"
                                                : "SET TimeZone = 'UTC'; SET synchronous_commit = on",
                      PGRES_COMMAND_OK, "session settings");
    if (rc == 0 && !s->tables_ready) {
        rc = pgs_create_tables(s);
        if (rc == 0) {
            int crc = pgs_check_tables(s, err, errlen);
            if (crc > 0) return crc;
            rc = crc;
        }
        if (rc == 0) s->tables_ready = true;
    }
    for (size_t r = 0; rc == 0 && r < SCHEMA_N_RECORDS; r++) {
        char *stage = schema_pg_stage(&schema_records[r]);
        rc = pgs_exec(s, stage, PGRES_COMMAND_OK, "creating a staging table");
        free(stage);
        char name[32];
        snprintf(name, sizeof name, "gk_upsert_%zu", r);
        char *sql = rc == 0 ? schema_sql_upsert(SCHEMA_POSTGRES, &schema_records[r]) : NULL;
        if (rc == 0) rc = pgs_prepare(s, name, sql);
        free(sql);
        snprintf(name, sizeof name, "gk_upsert_from_%zu", r);
        sql = rc == 0 ? schema_pg_upsert_from(&schema_records[r]) : NULL;
        if (rc == 0) rc = pgs_prepare(s, name, sql);
        free(sql);
    }
    if (rc == 0) rc = pgs_prepare(s, "gk_offsets_seed", pgs_offsets_seed_sql);
    if (rc == 0) rc = pgs_prepare(s, "gk_offsets_lock", pgs_offsets_lock_sql);
    if (rc == 0) rc = pgs_prepare(s, "gk_offsets_store", pgs_offsets_store_sql);
    if (rc == 0) rc = pgs_prepare(s, "gk_offsets_get", pgs_offsets_get_sql);
    if (rc == 0) rc = pgs_prepare(s, "gk_dead_letter", pgs_dead_letter_sql);
    if (rc == 0 && !s->planned) {
        /* ON CONFLICT finds its unique index when a statement is planned, not
         * prepared: plan each once, so that a table without it (42P10) is a
         * start-up error rather than the first batch's. */
        for (size_t r = 0; rc == 0 && r < SCHEMA_N_RECORDS; r++) {
            char sql[64];
            snprintf(sql, sizeof sql, "EXPLAIN EXECUTE gk_upsert_from_%zu", r);
            rc = pgs_exec(s, sql, PGRES_TUPLES_OK, "planning the upserts");
        }
        if (rc == 0)
            rc = pgs_exec(s, "EXPLAIN EXECUTE gk_offsets_seed('', '{}', '{}')", PGRES_TUPLES_OK,
                          "planning the offsets");
        if (rc == 0)
            rc = pgs_exec(s, "EXPLAIN EXECUTE gk_dead_letter('', 0, 0, NULL, NULL, '')",
                          PGRES_TUPLES_OK, "planning the dead letters");
        s->planned = rc == 0;
    }
    if (rc == 0) return 0;
    snprintf(err, errlen, "PostgreSQL %s: %s", pg_conn_name(s->conn), s->err);
    if (s->fail == PG_FAIL_CONNECTION) return -1;
    int code = pg_conn_exit_code(s->state);
    return code == GK_EXIT_IOERR ? GK_EXIT_CANTCREAT : code;
}

static void pgs_close(db_store *base) {
    pg_store *s = (pg_store *)base;
    pg_conn_free(s->conn);
    for (size_t r = 0; r < SCHEMA_N_RECORDS; r++) {
        pgs_table *t = &s->tables[r];
        free(t->buf);
        free(t->lines);
        free(t->ids);
        free(t->idx);
        free(t->copy_sql);
    }
    db_batch_told_free(&s->told);
    free(s);
}

static const db_store_ops pgs_ops = {pgs_positions, pgs_write_batch, pgs_close};

int db_store_pg_open(const char *conninfo, db_sync sync, int wait_s, db_store **out, char *err,
                     size_t errlen) {
    *out = NULL;
    pg_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return GK_EXIT_SOFTWARE;
    }
    s->base.ops = &pgs_ops;
    s->sync = sync;
    for (size_t r = 0; r < SCHEMA_N_RECORDS; r++)
        if (!(s->tables[r].copy_sql = schema_pg_copy(&schema_records[r]))) {
            snprintf(err, errlen, "out of memory");
            pgs_close(&s->base);
            return GK_EXIT_SOFTWARE;
        }
    if (!(s->conn = pg_conn_new(conninfo, pgs_setup, s, err, errlen))) {
        pgs_close(&s->base);
        return GK_EXIT_USAGE;
    }
    int rc = pg_conn_open(s->conn, wait_s, err, errlen);
    if (rc != 0) {
        pgs_close(&s->base);
        return rc < 0 ? GK_EXIT_OK : rc; /* stopped by a signal: nothing was done */
    }
    PGconn *pg = pg_conn_pg(s->conn);
    log_info("PostgreSQL %s: server %d.%d, tables ready, synchronous_commit=%s, TimeZone UTC",
             pg_conn_name(s->conn), PQserverVersion(pg) / 10000, PQserverVersion(pg) % 10000,
             sync == DB_SYNC_NORMAL ? "off" : "on");
    *out = &s->base;
    return 0;
}

void db_store_describe(const char *db, char *out, size_t len) {
    if (db_store_is_postgres(db))
        pg_conn_redact(db, out, len);
    else
        snprintf(out, len, "%s", db);
}
