/* sql.c - the SQL derived from the schema, per dialect (see sql.h). */
#include "schema/sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

const char *schema_sql_type(schema_dialect d, schema_type t) {
    static const char *const sqlite[] = {
        [SCHEMA_INT] = "INTEGER", [SCHEMA_REAL] = "REAL", [SCHEMA_TEXT] = "TEXT",
        [SCHEMA_DATETIME] = "TEXT", [SCHEMA_BOOL] = "INTEGER"};
    static const char *const pg[] = {
        [SCHEMA_INT] = "bigint", [SCHEMA_REAL] = "double precision", [SCHEMA_TEXT] = "text",
        [SCHEMA_DATETIME] = "timestamptz", [SCHEMA_BOOL] = "boolean"};
    if ((unsigned)t > SCHEMA_BOOL) return "BLOB";
    return d == SCHEMA_POSTGRES ? pg[t] : sqlite[t];
}

const char *schema_pg_catalog_type(schema_type t) {
    static const char *const names[] = {
        [SCHEMA_INT] = "bigint", [SCHEMA_REAL] = "double precision", [SCHEMA_TEXT] = "text",
        [SCHEMA_DATETIME] = "timestamp with time zone", [SCHEMA_BOOL] = "boolean"};
    return (unsigned)t > SCHEMA_BOOL ? "?" : names[t];
}

/* A growing SQL text; aborts on OOM, as there is nothing sensible to do
 * without memory at start-up. */
typedef struct {
    char *buf;
    size_t len, cap;
} sql_text;

static void sql_add(sql_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sql_add(sql_text *t, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) abort();
        if (t->buf && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        t->cap = (t->cap + (size_t)n + 1) * 2;
        t->buf = realloc(t->buf, t->cap);
        if (!t->buf) abort();
    }
}

/* An identifier as the dialect writes it: PostgreSQL's quoted (schema names
 * are plain lower-case words, so quoting needs no escape). */
static const char *sql_q(schema_dialect d) { return d == SCHEMA_POSTGRES ? "\"" : ""; }

/* "a, b, c": the record's columns. */
static void sql_columns(sql_text *t, schema_dialect d, const schema_record *rec) {
    const char *q = sql_q(d);
    for (size_t i = 0; i < rec->ncolumns; i++)
        sql_add(t, "%s%s%s%s", i ? ", " : "", q, rec->columns[i].name, q);
}

/* " ON CONFLICT (event_id) DO UPDATE SET b = excluded.b, ...": last write wins
 * for a re-sent event id; a re-delivered message rewrites identical values. */
static void sql_on_conflict(sql_text *t, schema_dialect d, const schema_record *rec) {
    const char *q = sql_q(d);
    sql_add(t, " ON CONFLICT(%s%s%s) DO UPDATE SET ", q, rec->columns[0].name, q);
    for (size_t i = 1; i < rec->ncolumns; i++)
        sql_add(t, "%s%s%s%s = excluded.%s%s%s", i > 1 ? ", " : "", q, rec->columns[i].name, q, q,
                rec->columns[i].name, q);
}

char *schema_sql_create(schema_dialect d, const schema_record *rec) {
    sql_text t = {0};
    const char *q = sql_q(d);
    sql_add(&t, "CREATE TABLE IF NOT EXISTS %s%s%s (", q, rec->table, q);
    for (size_t i = 0; i < rec->ncolumns; i++) {
        const schema_column *c = &rec->columns[i];
        sql_add(&t, "%s%s%s%s %s%s", i ? ", " : "", q, c->name, q, schema_sql_type(d, c->type),
                i == 0 ? " PRIMARY KEY" : c->required ? " NOT NULL" : "");
    }
    sql_add(&t, ")");
    return t.buf;
}

char *schema_sql_upsert(schema_dialect d, const schema_record *rec) {
    sql_text t = {0};
    const char *q = sql_q(d);
    sql_add(&t, "INSERT INTO %s%s%s (", q, rec->table, q);
    sql_columns(&t, d, rec);
    sql_add(&t, ") VALUES (");
    for (size_t i = 0; i < rec->ncolumns; i++) {
        if (d == SCHEMA_POSTGRES)
            sql_add(&t, "%s$%zu", i ? ", " : "", i + 1);
        else
            sql_add(&t, "%s?", i ? ", " : "");
    }
    sql_add(&t, ")");
    sql_on_conflict(&t, d, rec);
    return t.buf;
}

char *schema_pg_stage(const schema_record *rec) {
    sql_text t = {0};
    sql_add(&t, "CREATE TEMP TABLE IF NOT EXISTS \"gk_stage_%s\" (", rec->table);
    for (size_t i = 0; i < rec->ncolumns; i++)
        sql_add(&t, "%s\"%s\" %s", i ? ", " : "", rec->columns[i].name,
                schema_sql_type(SCHEMA_POSTGRES, rec->columns[i].type));
    sql_add(&t, ") ON COMMIT DELETE ROWS");
    return t.buf;
}

char *schema_pg_copy(const schema_record *rec) {
    sql_text t = {0};
    sql_add(&t, "COPY \"gk_stage_%s\" (", rec->table);
    sql_columns(&t, SCHEMA_POSTGRES, rec);
    sql_add(&t, ") FROM STDIN");
    return t.buf;
}

char *schema_pg_upsert_from(const schema_record *rec) {
    sql_text t = {0};
    sql_add(&t, "INSERT INTO \"%s\" (", rec->table);
    sql_columns(&t, SCHEMA_POSTGRES, rec);
    sql_add(&t, ") SELECT ");
    sql_columns(&t, SCHEMA_POSTGRES, rec);
    sql_add(&t, " FROM \"gk_stage_%s\"", rec->table);
    sql_on_conflict(&t, SCHEMA_POSTGRES, rec);
    return t.buf;
}

char *schema_create_sql(const schema_record *rec) { return schema_sql_create(SCHEMA_SQLITE, rec); }

char *schema_upsert_sql(const schema_record *rec) { return schema_sql_upsert(SCHEMA_SQLITE, rec); }
