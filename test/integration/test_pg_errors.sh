#!/usr/bin/env bash
# test_pg_errors.sh - db_consumer --db postgresql://... at start-up: the
# errors a database brings, each a one-line error with its own exit code
# (wrong or missing password 77, no such database 68, a table that
# disagrees with the schema 78, a malformed conninfo 64, a server that does
# not answer within --connect-timeout 69),
# a signal ending the wait for a server at once; and the password's ways in:
# PGPASSWORD, a password file (PGPASSFILE or passfile=), a service file, and
# never into a log. No broker is needed: the database comes first.
# brokers: none
. "$(dirname "$0")/lib.sh"

it_postgres
PORT=$(sed -n 's/^port=//p' "$IT_PG_DATA/settings")
PASSWORD=$(cut -d: -f5 "$IT_PG_DATA/pgpass")
[ -n "$PASSWORD" ] || it_fail "no password in $IT_PG_DATA/pgpass"
BARE="postgresql://genetika@127.0.0.1:$PORT/genetika" # no password anywhere

# run NAME [ENV=VALUE...] -- ARGS... : db_consumer with ARGS (no broker
# answers on port 1), its status in RC and stderr in $WORK/NAME.log; it must
# end within 60 s. No PostgreSQL variable leaks in from the caller.
run() {
  local name=$1 envs=()
  shift
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  RC=0
  env -u PGPASSWORD -u PGPASSFILE -u PGSERVICE -u PGSERVICEFILE PGSYSCONFDIR=/nonexistent HOME="$WORK" \
    ${envs[@]+"${envs[@]}"} timeout 60 "$GK_BIN/db_consumer" -b 127.0.0.1:1 "$@" \
    >"$WORK/$name.out" 2>"$WORK/$name.log" || RC=$?
  [ "$RC" != 124 ] || it_fail "$name: db_consumer did not end within 60 s"
}

# expect_error NAME CODE TEXT : the run ended with CODE and exactly one
# ERROR line, which contains TEXT; the password never shows.
expect_error() {
  it_expect "$1: exit status" "$RC" "$2"
  it_expect "$1: error lines" "$(grep -c ' ERROR: ' "$WORK/$1.log")" 1
  grep ' ERROR: ' "$WORK/$1.log" | grep -qF "$3" || it_fail "$1: error lacks '$3': $(cat "$WORK/$1.log")"
  ! grep -qF "$PASSWORD" "$WORK/$1.log" || it_fail "$1: the password shows in the log"
  it_log "ok: $1: $(grep ' ERROR: ' "$WORK/$1.log" | sed 's/.* ERROR: //' | cut -c1-160)"
}

# expect_connects NAME [ENV=VALUE...] -- ARGS... : the store opened (tables
# ready); then SIGTERM ends the run cleanly within seconds.
expect_connects() {
  local name=$1 envs=()
  shift
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  env -u PGPASSWORD -u PGPASSFILE -u PGSERVICE -u PGSERVICEFILE PGSYSCONFDIR=/nonexistent HOME="$WORK" \
    ${envs[@]+"${envs[@]}"} "$GK_BIN/db_consumer" -b 127.0.0.1:1 "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
  local pid=$! i
  GK_PIDS+=("$pid")
  for i in $(seq 300); do
    grep -q "tables ready" "$WORK/$name.log" && break
    kill -0 "$pid" 2>/dev/null || it_fail "$name: exited: $(cat "$WORK/$name.log")"
    sleep 0.1
  done
  grep -q "tables ready" "$WORK/$name.log" || it_fail "$name: did not connect: $(cat "$WORK/$name.log")"
  kill -TERM "$pid"
  it_wait_exit "$pid" 20
  it_expect "$name: exit status after SIGTERM" "$IT_RC" 0
  ! grep -qF "$PASSWORD" "$WORK/$name.log" || it_fail "$name: the password shows in the log"
  it_log "ok: $name: connected"
}

# --- the password's ways in ---------------------------------------------------
expect_connects pgpassword "PGPASSWORD=$PASSWORD" -- --db "$BARE"
expect_connects pgpassfile "PGPASSFILE=$IT_PG_DATA/pgpass" -- --db "$BARE"
expect_connects passfile_param -- --db "$IT_PG_URI"
cat >"$WORK/pg_service.conf" <<CONF
[genetika]
host=127.0.0.1
port=$PORT
dbname=genetika
user=genetika
passfile=$IT_PG_DATA/pgpass
CONF
expect_connects service "PGSERVICEFILE=$WORK/pg_service.conf" -- --db "service=genetika"
expect_connects keyvalue "PGPASSFILE=$IT_PG_DATA/pgpass" -- --db "host=127.0.0.1 port=$PORT dbname=genetika user=genetika"
# The log shows where it connected, not how it authenticated.
grep -q "database .*host=127.0.0.1 port=$PORT" "$WORK/keyvalue.log" || it_fail "keyvalue: no database line"

# A password on the command line works, draws a warning, and is not logged.
expect_connects in_uri -- --db "postgresql://genetika:$PASSWORD@127.0.0.1:$PORT/genetika"
grep -q "WARN: --db carries a password" "$WORK/in_uri.log" || it_fail "in_uri: no warning about the password"

# --- errors ---------------------------------------------------------------------
run wrong_password -- --db "postgresql://genetika:not-$PASSWORD@127.0.0.1:$PORT/genetika"
expect_error wrong_password 77 "28P01: password authentication failed"
run no_password -- --db "$BARE"
expect_error no_password 77 "no password found: give it in PGPASSWORD"
run no_database PGPASSFILE="$IT_PG_DATA/pgpass" -- --db "postgresql://genetika@127.0.0.1:$PORT/no_such_db"
expect_error no_database 68 '3D000: database "no_such_db" does not exist'
run bad_conninfo -- --db "host=127.0.0.1 colour=blue"
expect_error bad_conninfo 64 "not a valid PostgreSQL connection string"

it_psql "DROP TABLE data3; CREATE TABLE data3 (event_id bigint PRIMARY KEY, gene text, chrom text,
  position text, ref text, alt text, zygosity text, quality double precision, classification text,
  called_at timestamptz)" || it_fail "cannot make data3 disagree"
run wrong_type -- --db "$IT_PG_URI"
expect_error wrong_type 78 "table data3, column position is text, but the schema maps it to bigint"
it_psql "ALTER TABLE data3 DROP COLUMN position" || it_fail "cannot drop data3.position"
run missing_column -- --db "$IT_PG_URI"
expect_error missing_column 78 "table data3 has no column position (bigint)"
it_psql "DROP TABLE data3" || it_fail "cannot drop data3"

# A server that does not answer: retried; a signal ends the wait at once.
dead=1 # nothing listens on port 1
env -u PGPASSFILE "$GK_BIN/db_consumer" -b 127.0.0.1:1 --db "postgresql://genetika@127.0.0.1:$dead/genetika" \
  >"$WORK/unreachable_term.out" 2>"$WORK/unreachable_term.log" &
pid=$!
GK_PIDS+=("$pid")
sleep 2
kill -0 "$pid" 2>/dev/null || it_fail "unreachable_term: exited early: $(cat "$WORK/unreachable_term.log")"
grep -q "Connection refused.*retrying" "$WORK/unreachable_term.log" || it_fail "unreachable_term: no retry logged"
kill -TERM "$pid"
it_wait_exit "$pid" 3
it_expect "unreachable_term: exit status after SIGTERM" "$IT_RC" 0
# Without a signal, --connect-timeout bounds that wait.
run unreachable -- --connect-timeout 3 --db "postgresql://genetika@127.0.0.1:$dead/genetika"
expect_error unreachable 69 "still unreachable after 3 s"
it_log "PASS"
