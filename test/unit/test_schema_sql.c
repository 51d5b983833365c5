/* test_schema_sql.c - the SQL the schema generates for each dialect
 * (schema/sql.h): the type mapping, CREATE TABLE, the upserts and
 * PostgreSQL's bulk path, for every record type. */
#include "schema/sql.h"
#include "test/unit/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(type_mapping) {
    static const struct {
        schema_type t;
        const char *sqlite, *pg, *catalog;
    } want[] = {
        {SCHEMA_INT, "INTEGER", "bigint", "bigint"},
        {SCHEMA_REAL, "REAL", "double precision", "double precision"},
        {SCHEMA_TEXT, "TEXT", "text", "text"},
        {SCHEMA_DATETIME, "TEXT", "timestamptz", "timestamp with time zone"},
        {SCHEMA_BOOL, "INTEGER", "boolean", "boolean"},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        ck_assert_str_eq(schema_sql_type(SCHEMA_SQLITE, want[i].t), want[i].sqlite);
        ck_assert_str_eq(schema_sql_type(SCHEMA_POSTGRES, want[i].t), want[i].pg);
        ck_assert_str_eq(schema_pg_catalog_type(want[i].t), want[i].catalog);
    }
}
END_TEST

START_TEST(pg_create) {
    char *c = schema_sql_create(SCHEMA_POSTGRES, &schema_records[0]);
    ck_assert_str_eq(c, "CREATE TABLE IF NOT EXISTS \"data1\" (\"event_id\" bigint PRIMARY KEY, "
                        "\"sample_id\" text NOT NULL, \"patient_id\" text NOT NULL, "
                        "\"specimen_type\" text NOT NULL, \"collected_at\" timestamptz NOT NULL, "
                        "\"volume_ml\" double precision, \"consent_research\" boolean NOT NULL, "
                        "\"notes\" text)");
    free(c);
    /* Every record: one column definition per schema column, the required
     * ones NOT NULL. */
    for (size_t r = 0; r < SCHEMA_N_RECORDS; r++) {
        const schema_record *rec = &schema_records[r];
        c = schema_sql_create(SCHEMA_POSTGRES, rec);
        for (size_t i = 0; i < rec->ncolumns; i++) {
            char def[128];
            snprintf(def, sizeof def, "\"%s\" %s%s", rec->columns[i].name,
                     schema_sql_type(SCHEMA_POSTGRES, rec->columns[i].type),
                     i == 0 ? " PRIMARY KEY" : rec->columns[i].required ? " NOT NULL" : "");
            ck_assert_msg(strstr(c, def), "%s lacks %s", c, def);
        }
        free(c);
    }
}
END_TEST

START_TEST(pg_upsert) {
    char *u = schema_sql_upsert(SCHEMA_POSTGRES, &schema_records[2]);
    ck_assert_str_eq(u, "INSERT INTO \"data3\" (\"event_id\", \"gene\", \"chrom\", \"position\", "
                        "\"ref\", \"alt\", \"zygosity\", \"quality\", \"classification\", "
                        "\"called_at\") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
                        "ON CONFLICT(\"event_id\") DO UPDATE SET \"gene\" = excluded.\"gene\", "
                        "\"chrom\" = excluded.\"chrom\", \"position\" = excluded.\"position\", "
                        "\"ref\" = excluded.\"ref\", \"alt\" = excluded.\"alt\", \"zygosity\" = "
                        "excluded.\"zygosity\", \"quality\" = excluded.\"quality\", "
                        "\"classification\" = excluded.\"classification\", \"called_at\" = "
                        "excluded.\"called_at\"");
    free(u);
}
END_TEST

START_TEST(pg_bulk) {
    const schema_record *rec = &schema_records[1];
    char *s = schema_pg_stage(rec);
    ck_assert_str_eq(s, "CREATE TEMP TABLE IF NOT EXISTS \"gk_stage_data2\" (\"event_id\" bigint, "
                        "\"run_id\" text, \"instrument\" text, \"lane\" bigint, \"read_count\" "
                        "bigint, \"q30_pct\" double precision, \"mean_coverage\" double precision, "
                        "\"sequenced_at\" timestamptz, \"passed_qc\" boolean) ON COMMIT DELETE ROWS");
    free(s);
    s = schema_pg_copy(rec);
    ck_assert_str_eq(s, "COPY \"gk_stage_data2\" (\"event_id\", \"run_id\", \"instrument\", "
                        "\"lane\", \"read_count\", \"q30_pct\", \"mean_coverage\", "
                        "\"sequenced_at\", \"passed_qc\") FROM STDIN");
    free(s);
    s = schema_pg_upsert_from(rec);
    ck_assert_ptr_nonnull(strstr(s, "INSERT INTO \"data2\" (\"event_id\", \"run_id\","));
    ck_assert_ptr_nonnull(strstr(s, ") SELECT \"event_id\", \"run_id\","));
    ck_assert_ptr_nonnull(strstr(s, " FROM \"gk_stage_data2\" ON CONFLICT(\"event_id\") DO UPDATE "
                                    "SET \"run_id\" = excluded.\"run_id\","));
    ck_assert_ptr_nonnull(strstr(s, "\"passed_qc\" = excluded.\"passed_qc\""));
    ck_assert_ptr_null(strstr(s, "\"event_id\" = excluded"));
    free(s);
}
END_TEST

/* SQLite's text is what it was before PostgreSQL came (existing databases
 * keep working). */
START_TEST(sqlite_unchanged) {
    char *c = schema_sql_create(SCHEMA_SQLITE, &schema_records[1]);
    ck_assert_str_eq(c, "CREATE TABLE IF NOT EXISTS data2 (event_id INTEGER PRIMARY KEY, run_id "
                        "TEXT NOT NULL, instrument TEXT NOT NULL, lane INTEGER NOT NULL, "
                        "read_count INTEGER NOT NULL, q30_pct REAL NOT NULL, mean_coverage REAL "
                        "NOT NULL, sequenced_at TEXT NOT NULL, passed_qc INTEGER NOT NULL)");
    char *legacy = schema_create_sql(&schema_records[1]);
    ck_assert_str_eq(legacy, c);
    free(c);
    free(legacy);
    char *u = schema_sql_upsert(SCHEMA_SQLITE, &schema_records[1]);
    ck_assert_ptr_nonnull(strstr(u, "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO "
                                    "UPDATE SET run_id = excluded.run_id,"));
    free(u);
}
END_TEST

static Suite *schema_sql_suite(void) {
    Suite *s = suite_create("schema_sql");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, type_mapping);
    tcase_add_test(tc, pg_create);
    tcase_add_test(tc, pg_upsert);
    tcase_add_test(tc, pg_bulk);
    tcase_add_test(tc, sqlite_unchanged);
    suite_add_tcase(s, tc);
    return s;
}

const unit_def unit_tests = {schema_sql_suite, NULL, NULL};
