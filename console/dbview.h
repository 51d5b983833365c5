/* dbview.h - what the console reads from db_consumer's database: rows per
 * table, dead letters with their reasons, and the offsets db_consumer keeps
 * there (its true position: it starts from these, not from the group's).
 *
 * Read-only: the SQLite file is opened with SQLITE_OPEN_READONLY (nothing is
 * created, migrated or locked for writing) and every query is bounded by
 * DBVIEW_QUERY_MS (a progress handler interrupts it) and a LIMIT. Which
 * database --db names is db_consumer's rule (db_store_is_postgres); a
 * PostgreSQL database is not read yet and says so. */
#ifndef GK_CONSOLE_DBVIEW_H
#define GK_CONSOLE_DBVIEW_H
#include <jansson.h>

#define DBVIEW_QUERY_MS 2000    /* the longest one query may take */
#define DBVIEW_DEAD_LETTERS 50  /* latest dead letters shown */
#define DBVIEW_REASONS 20       /* distinct reasons shown */
#define DBVIEW_OFFSETS 1000     /* stored offsets shown */

/* Reads the database db: {"db","kind","tables":[{"name","rows"}],
 * "dead_letters":{"total","by_reason":[{"reason","count"}],"latest":[{"topic",
 * "partition","offset","reason","received_at"}]},"offsets":[{"topic",
 * "partition","next_offset"}],"error":text|null}, the offsets those stored
 * for cluster_id (NULL: none). NULL when out of memory. */
json_t *dbview_read(const char *db, const char *cluster_id);

#endif
