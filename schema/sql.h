/* sql.h - the SQL each database's store runs, derived from the schema
 * (schema.h) in one place, with one type mapping per SQL dialect.
 *
 * Types, and why (README "PostgreSQL"):
 *
 *   schema     SQLite     PostgreSQL
 *   INT        INTEGER    bigint            (JSON integers are 64-bit here)
 *   REAL       REAL       double precision  (values arrive as JSON numbers read
 *                                            into IEEE doubles; numeric would
 *                                            claim an exactness they never had)
 *   TEXT       TEXT       text              (the length bound is the schema's
 *                                            check, not the column's)
 *   DATETIME   TEXT       timestamptz       (ISO 8601 text; one without a zone
 *                                            is UTC: the store's session runs
 *                                            in UTC)
 *   BOOL       INTEGER    boolean           (SQLite: 0/1)
 *
 * The event id is each table's primary key, the key of every upsert. In
 * PostgreSQL every identifier is quoted ("offset" is a reserved word there). */
#ifndef GK_SCHEMA_SQL_H
#define GK_SCHEMA_SQL_H
#include "schema/schema.h"

typedef enum { SCHEMA_SQLITE = 0, SCHEMA_POSTGRES } schema_dialect;

/* The column type of t in dialect d, as written in CREATE TABLE. */
const char *schema_sql_type(schema_dialect d, schema_type t);

/* The name PostgreSQL's information_schema.columns.data_type gives a column
 * of type t (e.g. "timestamp with time zone"): what a store compares an
 * existing table with. */
const char *schema_pg_catalog_type(schema_type t);

/* SQL text (malloc'd, caller frees; aborts if out of memory, as every caller
 * builds it at start-up):
 *   create - CREATE TABLE IF NOT EXISTS with the event id as primary key and
 *            NOT NULL on required columns;
 *   upsert - "INSERT INTO t (cols) VALUES (?, ...) ON CONFLICT (event_id) DO
 *            UPDATE SET ..." with one parameter per column in column order
 *            (SQLite: ?, PostgreSQL: $1..$n): a re-sent event id's row is
 *            replaced (last write wins). */
char *schema_sql_create(schema_dialect d, const schema_record *rec);
char *schema_sql_upsert(schema_dialect d, const schema_record *rec);

/* PostgreSQL's bulk path (store_pg.c): rows are copied into a session's
 * staging table and upserted from there in one statement.
 *   stage       - CREATE TEMP TABLE IF NOT EXISTS "gk_stage_<table>" with the
 *                 table's columns and types, no constraints (a bad value is
 *                 refused by the real table), emptied at every commit;
 *   copy        - COPY "gk_stage_<table>" (cols) FROM STDIN (text format);
 *   upsert_from - INSERT INTO the table SELECT the columns FROM the staging
 *                 table ON CONFLICT (event_id) DO UPDATE SET ... */
char *schema_pg_stage(const schema_record *rec);
char *schema_pg_copy(const schema_record *rec);
char *schema_pg_upsert_from(const schema_record *rec);

#endif
