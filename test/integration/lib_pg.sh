# lib_pg.sh - PostgreSQL for the end-to-end tests (sourced by lib.sh).
#
# A test that writes to PostgreSQL starts its own server, a private cluster
# in its work directory on a free 127.0.0.1 port (scripts/postgres.sh: as
# root it runs as an unprivileged system user, since the server refuses
# root), and the EXIT trap stops it. GK_TEST_DB=postgresql makes the tests
# that take their database from it_database (test_db_delivery.sh,
# test_second_run.sh) run against PostgreSQL; test_pg_*.sh are those runs
# and the PostgreSQL-only tests.

IT_PG_DATA=""
IT_PG_URI=""
IT_PG_DIR=""

# it_pg_data NAME : sets IT_PG_DATA, the test's server's data directory. As
# root, the server runs as its unprivileged user, which must be able to pass
# through every parent of it: TMPDIR's parents may be private, so it goes
# under /tmp, in a directory made 0711 (in, not listing), removed with the
# test (it_pg_cleanup).
it_pg_data() {
  IT_PG_DATA=$WORK/$1
  if [ "$(id -u)" -eq 0 ]; then
    IT_PG_DIR=$(mktemp -d /tmp/gk-pg.XXXXXX) || it_fail "mktemp in /tmp failed"
    chmod 711 "$IT_PG_DIR"
    IT_PG_DATA=$IT_PG_DIR/$1
  fi
}

# it_postgres : starts the test's PostgreSQL server; sets IT_PG_URI (the
# password is in a file the URI names, never on a command line).
it_postgres() {
  command -v psql >/dev/null || it_fail "psql is not installed (Debian: postgresql-client)"
  it_pg_data pg
  IT_PG_URI=$("$GK_SOURCE/scripts/postgres.sh" start --data "$IT_PG_DATA" --stop-with $$ 2>"$WORK/postgres.log" | head -n 1) ||
    true
  [ -n "$IT_PG_URI" ] || it_fail "postgres.sh start: $(grep 'error:' "$WORK/postgres.log" | tail -n 1)"
  it_log "PostgreSQL at $IT_PG_URI"
}

# it_pg_stop / it_pg_start : stops the test's server (MODE: fast, the
# default, or immediate: like a crash) and starts it again on the same data
# and port.
it_pg_stop() {
  "$GK_SOURCE/scripts/postgres.sh" stop --data "$IT_PG_DATA" --mode "${1:-fast}" 2>>"$WORK/postgres.log" ||
    it_fail "postgres.sh stop: $(tail -n 1 "$WORK/postgres.log")"
  it_log "PostgreSQL DOWN (${1:-fast})"
}
it_pg_start() {
  "$GK_SOURCE/scripts/postgres.sh" start --data "$IT_PG_DATA" --stop-with $$ >/dev/null 2>>"$WORK/postgres.log" ||
    it_fail "postgres.sh start: $(grep 'error:' "$WORK/postgres.log" | tail -n 1)"
  it_log "PostgreSQL UP"
}

# it_pg_cleanup : stops the server (called by lib.sh's EXIT trap).
it_pg_cleanup() {
  [ -z "$IT_PG_DATA" ] || "$GK_SOURCE/scripts/postgres.sh" stop --data "$IT_PG_DATA" --mode immediate >/dev/null 2>&1 || true
  [ -z "$IT_PG_DIR" ] || rm -rf "$IT_PG_DIR"
}

# it_psql SQL : runs SQL on the test's database, prints unaligned tuples.
it_psql() { psql "$IT_PG_URI" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }

# it_database : the database db_consumer writes in this test: IT_DB is a
# SQLite file, or with GK_TEST_DB=postgresql the URI of a server started now.
it_database() {
  if [ "${GK_TEST_DB:-sqlite}" = postgresql ]; then
    it_postgres
    IT_DB=$IT_PG_URI
  else
    IT_DB=$WORK/genetika.db
  fi
}

# it_is_pg DB : whether DB is a PostgreSQL URI (it_database's).
it_is_pg() { [[ $1 == postgresql://* ]]; }
