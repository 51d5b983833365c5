/* dbview.c - read-only views of db_consumer's database (see dbview.h). */
#include "console/dbview.h"

#include "common/timeutil.h"
#include "db_consumer/pg_conn.h"
#include "db_consumer/store.h"
#include "schema/schema.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dbview {
    char *db;        /* the SQLite path, or the conninfo */
    char shown[512]; /* db as the page shows it (no password) */
    pg_conn *pg;     /* PostgreSQL; NULL for SQLite */
    sqlite3 *sq;     /* the SQLite connection during a read */
};

/* Interrupts a query once its deadline (monotonic us) has passed. */
static int dbview_progress(void *ctx) { return time_mono_us() > *(int64_t *)ctx; }

/* Appends a row of ncols text cells (NULL: SQL null) to out as an object
 * with the given column names ('#' before a name: an integer). */
static void dbview_row(json_t *out, const char *const *cols, int ncols, const char *const *cells) {
    json_t *row = json_object();
    for (int c = 0; row && c < ncols; c++) {
        const char *name = cols[c][0] == '#' ? cols[c] + 1 : cols[c];
        json_object_set_new(row, name, !cells[c] ? json_null()
                                       : cols[c][0] == '#' ? json_integer(strtoll(cells[c], NULL, 10))
                                                           : json_string(cells[c]));
    }
    json_array_append_new(out, row);
}

/* Runs sql (its one parameter, ? or $1, bound to param when given) and
 * appends each row to out (dbview_row). Returns 0, or -1 with the reason in
 * err. */
static int dbview_query(dbview *v, const char *sql, const char *param, const char *const *cols,
                        int ncols, json_t *out, char *err, size_t errlen) {
    const char *cells[8];
    if (v->pg) {
        PGresult *res = PQexecParams(pg_conn_pg(v->pg), sql, param ? 1 : 0, NULL, &param, NULL,
                                     NULL, 0);
        int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
        if (!ok) {
            char state[6];
            pg_conn_fail(v->pg, res, state, err, errlen);
        }
        for (int r = 0; ok && r < PQntuples(res); r++) {
            for (int c = 0; c < ncols; c++)
                cells[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
            dbview_row(out, cols, ncols, cells);
        }
        PQclear(res);
        return ok ? 0 : -1;
    }
    int64_t deadline = time_mono_us() + DBVIEW_QUERY_MS * 1000LL;
    sqlite3_progress_handler(v->sq, 1000, dbview_progress, &deadline);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(v->sq, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && param) rc = sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < ncols; c++) cells[c] = (const char *)sqlite3_column_text(st, c);
        dbview_row(out, cols, ncols, cells);
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) snprintf(err, errlen, "%s", sqlite3_errmsg(v->sq));
    sqlite3_finalize(st);
    sqlite3_progress_handler(v->sq, 0, NULL, NULL);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Makes every PostgreSQL session of the view read-only and bounded. */
static int dbview_pg_setup(void *ctx, PGconn *conn, char *err, size_t errlen) {
    (void)ctx;
    char sql[160];
    snprintf(sql, sizeof sql,
             "SET default_transaction_read_only = on; SET statement_timeout = %d;"
             " SET application_name = 'genetika-console'", DBVIEW_QUERY_MS);
    PGresult *res = PQexec(conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) snprintf(err, errlen, "%s", PQerrorMessage(conn));
    PQclear(res);
    return ok ? 0 : -1;
}

dbview *dbview_new(const char *db, char *err, size_t errlen) {
    dbview *v = calloc(1, sizeof *v);
    if (!v || !(v->db = strdup(db))) {
        free(v);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    db_store_describe(db, v->shown, sizeof v->shown);
    if (db_store_is_postgres(db) && !(v->pg = pg_conn_new(db, dbview_pg_setup, NULL, err, errlen))) {
        free(v->db);
        free(v);
        return NULL;
    }
    return v;
}

/* Opens the database for one read. Returns 0, or -1 with the reason in err. */
static int dbview_open(dbview *v, char *err, size_t errlen) {
    if (v->pg) {
        if (pg_conn_pg(v->pg)) return 0;
        int rc = pg_conn_open(v->pg, DBVIEW_CONNECT_S, err, errlen);
        if (rc == -1) snprintf(err, errlen, "stopping");
        return rc == 0 ? 0 : -1;
    }
    if (sqlite3_open_v2(v->db, &v->sq, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", v->db, v->sq ? sqlite3_errmsg(v->sq) : "out of memory");
        sqlite3_close(v->sq);
        v->sq = NULL;
        return -1;
    }
    sqlite3_busy_timeout(v->sq, DBVIEW_QUERY_MS);
    return 0;
}

/* The tables db_consumer writes, in the order shown. */
static const char *dbview_table(int i) {
    return i < SCHEMA_N_RECORDS ? schema_records[i].table
           : i == SCHEMA_N_RECORDS ? "dead_letters"
                                   : "kafka_offsets";
}

/* The row counts into tables, and the dead letters' total into dl. */
static void dbview_counts(dbview *v, json_t *tables, json_t *dl) {
    static const char *const cols[] = {"#rows"};
    for (int i = 0; i < SCHEMA_N_RECORDS + 2; i++) {
        char sql[128], terr[512] = "";
        snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", dbview_table(i));
        json_t *rows = json_array();
        json_t *t = json_pack("{s:s}", "name", dbview_table(i));
        if (!rows || !t) {
            json_decref(rows), json_decref(t);
            continue;
        }
        if (dbview_query(v, sql, NULL, cols, 1, rows, terr, sizeof terr) == 0 &&
            json_array_size(rows) == 1)
            json_object_set(t, "rows", json_object_get(json_array_get(rows, 0), "rows"));
        else
            json_object_set_new(t, "error", json_string(terr));
        if (i == SCHEMA_N_RECORDS && json_object_get(t, "rows"))
            json_object_set(dl, "total", json_object_get(t, "rows"));
        json_decref(rows);
        json_array_append_new(tables, t);
    }
}

json_t *dbview_read(dbview *v, const char *cluster_id) {
    json_t *tables = json_array(), *reasons = json_array(), *latest = json_array(),
           *offsets = json_array();
    json_t *out = json_pack("{s:s,s:s,s:o,s:{s:n,s:o,s:o},s:o,s:n}", "db", v->shown, "kind",
                            v->pg ? "postgresql" : "sqlite", "tables", tables, "dead_letters",
                            "total", "by_reason", reasons, "latest", latest, "offsets", offsets,
                            "error");
    if (!out) return NULL;
    char err[512] = "";
    if (dbview_open(v, err, sizeof err) != 0) {
        json_object_set_new(out, "error", json_string(err));
        return out;
    }
    dbview_counts(v, tables, json_object_get(out, "dead_letters"));
    static const char *const rcols[] = {"reason", "#count"};
    static const char *const lcols[] = {"topic", "#partition", "#offset", "reason", "received_at"};
    static const char *const ocols[] = {"topic", "#partition", "#next_offset"};
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT reason, count(*) FROM dead_letters GROUP BY reason ORDER BY 2 DESC, 1 LIMIT %d",
             DBVIEW_REASONS);
    int rc = dbview_query(v, sql, NULL, rcols, 2, reasons, err, sizeof err);
    snprintf(sql, sizeof sql,
             "SELECT topic, partition, \"offset\", reason, received_at FROM dead_letters"
             " ORDER BY received_at DESC, id DESC LIMIT %d", DBVIEW_DEAD_LETTERS);
    if (rc == 0) rc = dbview_query(v, sql, NULL, lcols, 5, latest, err, sizeof err);
    snprintf(sql, sizeof sql,
             "SELECT topic, partition, next_offset FROM kafka_offsets WHERE cluster_id = %s"
             " ORDER BY topic, partition LIMIT %d", v->pg ? "$1" : "?", DBVIEW_OFFSETS);
    if (rc == 0 && cluster_id)
        rc = dbview_query(v, sql, cluster_id, ocols, 3, offsets, err, sizeof err);
    if (rc != 0) json_object_set_new(out, "error", json_string(err));
    if (v->pg && PQstatus(pg_conn_pg(v->pg)) != CONNECTION_OK) pg_conn_drop(v->pg);
    sqlite3_close(v->sq); /* no read snapshot is held between reads */
    v->sq = NULL;
    return out;
}

void dbview_free(dbview *v) {
    if (!v) return;
    pg_conn_free(v->pg);
    free(v->db);
    free(v);
}
