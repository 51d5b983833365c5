/* dbview.c - read-only views of db_consumer's database (see dbview.h). */
#include "console/dbview.h"

#include "common/timeutil.h"
#include "db_consumer/store.h"
#include "schema/schema.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* Interrupts a query once its deadline (monotonic us) has passed. */
static int dbview_progress(void *ctx) { return time_mono_us() > *(int64_t *)ctx; }

/* Runs sql (one ? bound to param when given) and appends each row to out as
 * an object with the given column names ('#' before a name: an integer).
 * Returns 0, or -1 with the reason in err. */
static int dbview_query(sqlite3 *db, const char *sql, const char *param, const char *const *cols,
                        int ncols, json_t *out, char *err, size_t errlen) {
    int64_t deadline = time_mono_us() + DBVIEW_QUERY_MS * 1000LL;
    sqlite3_progress_handler(db, 1000, dbview_progress, &deadline);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && param) rc = sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = json_object();
        for (int c = 0; row && c < ncols; c++) {
            const char *name = cols[c];
            if (name[0] == '#')
                json_object_set_new(row, name + 1, json_integer(sqlite3_column_int64(st, c)));
            else
                json_object_set_new(row, name,
                                    sqlite3_column_type(st, c) == SQLITE_NULL
                                        ? json_null()
                                        : json_string((const char *)sqlite3_column_text(st, c)));
        }
        json_array_append_new(out, row);
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) snprintf(err, errlen, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_progress_handler(db, 0, NULL, NULL);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The tables db_consumer writes, in the order shown. */
static const char *dbview_table(int i) {
    return i < SCHEMA_N_RECORDS ? schema_records[i].table
           : i == SCHEMA_N_RECORDS ? "dead_letters"
                                   : "kafka_offsets";
}

json_t *dbview_read(const char *path, const char *cluster_id) {
    json_t *tables = json_array(), *reasons = json_array(), *latest = json_array(),
           *offsets = json_array();
    json_t *out = json_pack("{s:s,s:s,s:o,s:{s:n,s:o,s:o},s:o,s:n}", "db", path, "kind", "sqlite",
                            "tables", tables, "dead_letters", "total", "by_reason", reasons,
                            "latest", latest, "offsets", offsets, "error");
    if (!out) return NULL;
    char err[512] = "";
    if (db_store_is_postgres(path)) {
        json_object_set_new(out, "kind", json_string("postgresql"));
        json_object_set_new(out, "db", json_string("(a PostgreSQL database)"));
        json_object_set_new(out, "error",
                            json_string("reading a PostgreSQL database is not supported yet"));
        return out;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, sizeof err, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        json_object_set_new(out, "error", json_string(err));
        return out;
    }
    sqlite3_busy_timeout(db, DBVIEW_QUERY_MS);
    for (int i = 0; i < SCHEMA_N_RECORDS + 2; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", dbview_table(i));
        json_t *rows = json_array();
        static const char *const cols[] = {"#rows"};
        char terr[256] = "";
        json_t *t = json_pack("{s:s}", "name", dbview_table(i));
        if (dbview_query(db, sql, NULL, cols, 1, rows, terr, sizeof terr) == 0 &&
            json_array_size(rows) == 1)
            json_object_set(t, "rows", json_object_get(json_array_get(rows, 0), "rows"));
        else
            json_object_set_new(t, "error", json_string(terr));
        if (i == SCHEMA_N_RECORDS)
            json_object_set(json_object_get(out, "dead_letters"), "total",
                            json_object_get(t, "rows") ? json_object_get(t, "rows") : json_null());
        json_decref(rows);
        json_array_append_new(tables, t);
    }
    static const char *const rcols[] = {"reason", "#count"};
    static const char *const lcols[] = {"topic", "#partition", "#offset", "reason", "received_at"};
    static const char *const ocols[] = {"topic", "#partition", "#next_offset"};
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT reason, count(*) FROM dead_letters GROUP BY reason ORDER BY 2 DESC, 1 LIMIT %d",
             DBVIEW_REASONS);
    int rc = dbview_query(db, sql, NULL, rcols, 2, reasons, err, sizeof err);
    snprintf(sql, sizeof sql,
             "SELECT topic, partition, \"offset\", reason, received_at FROM dead_letters"
             " ORDER BY received_at DESC, id DESC LIMIT %d", DBVIEW_DEAD_LETTERS);
    if (rc == 0) rc = dbview_query(db, sql, NULL, lcols, 5, latest, err, sizeof err);
    snprintf(sql, sizeof sql,
             "SELECT topic, partition, next_offset FROM kafka_offsets WHERE cluster_id = ?"
             " ORDER BY topic, partition LIMIT %d", DBVIEW_OFFSETS);
    if (rc == 0 && cluster_id) rc = dbview_query(db, sql, cluster_id, ocols, 3, offsets, err, sizeof err);
    if (rc != 0) json_object_set_new(out, "error", json_string(err));
    sqlite3_close(db);
    return out;
}
