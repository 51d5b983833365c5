/* store.c - which store --db names, and what every store shares (see store.h). */
#include "db_consumer/store.h"

#include "common/exitcodes.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

bool db_store_is_postgres(const char *db) {
    if (strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0) return true;
    size_t i = 0;
    while (isalpha((unsigned char)db[i]) || db[i] == '_') i++;
    while (i > 0 && db[i] == ' ') i++;
    return i > 0 && db[i] == '=';
}

int db_store_open(const char *db, db_sync sync, int wait_s, db_store **out, char *err,
                  size_t errlen) {
    if (db_store_is_postgres(db)) return db_store_pg_open(db, sync, wait_s, out, err, errlen);
    return db_store_sqlite_open(db, sync, out, err, errlen);
}

void db_stats_add(db_stats *to, const db_stats *add) {
    to->rows += add->rows;
    to->dead_letters += add->dead_letters;
    to->skipped += add->skipped;
    for (size_t i = 0; i < SCHEMA_N_RECORDS; i++) to->table_rows[i] += add->table_rows[i];
    for (size_t i = 0; i < SCHEMA_REASON_CLASSES; i++) to->dead_by_class[i] += add->dead_by_class[i];
}
