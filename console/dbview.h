/* dbview.h - what the console reads from db_consumer's database: rows per
 * table, dead letters with their reasons, and the offsets db_consumer keeps
 * there (its true position: it starts from these, not from the group's).
 *
 * The database is the one --db names, by db_consumer's rule
 * (db_store_is_postgres): a SQLite file or a PostgreSQL conninfo. Read-only
 * either way: the SQLite file is opened with SQLITE_OPEN_READONLY at each
 * read (nothing is created, migrated or locked for writing; a missing file
 * stays missing), a PostgreSQL session is read-only
 * (default_transaction_read_only) and kept between reads, made again after
 * a failure. Every query is bounded by DBVIEW_QUERY_MS (SQLite: a progress
 * handler; PostgreSQL: statement_timeout) and a LIMIT, a PostgreSQL
 * connection attempt by DBVIEW_CONNECT_S. The PostgreSQL password never
 * appears in what is shown. */
#ifndef GK_CONSOLE_DBVIEW_H
#define GK_CONSOLE_DBVIEW_H
#include <jansson.h>

#define DBVIEW_QUERY_MS 2000    /* the longest one query may take */
#define DBVIEW_CONNECT_S 2      /* the longest wait for a PostgreSQL server at each read */
#define DBVIEW_DEAD_LETTERS 50  /* latest dead letters shown */
#define DBVIEW_REASONS 20       /* distinct reasons shown */
#define DBVIEW_OFFSETS 1000     /* stored offsets shown */

typedef struct dbview dbview;

/* A view of database db (nothing is opened yet); NULL when out of memory or
 * for a PostgreSQL conninfo libpq cannot parse (reason in err). */
dbview *dbview_new(const char *db, char *err, size_t errlen);

/* Reads the database: {"db","kind","tables":[{"name","rows"} or {"name",
 * "error"}],"dead_letters":{"total","by_reason":[{"reason","count"}],
 * "latest":[{"topic","partition","offset","reason","received_at"}]},
 * "offsets":[{"topic","partition","next_offset"}],"error":text|null}, the
 * offsets those stored for cluster_id (NULL: none). NULL when out of memory. */
json_t *dbview_read(dbview *v, const char *cluster_id);

/* Closes what is open and frees v. NULL is allowed. */
void dbview_free(dbview *v);

#endif
