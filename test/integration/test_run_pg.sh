#!/usr/bin/env bash
# test_run_pg.sh - ./scripts/run.sh --db postgresql://... from start to end,
# as the README tells it: a server from scripts/postgres.sh (its URI names a
# password file, no secret), the whole pipeline on the sample data into it,
# and the usual summary line with every table and ack at 50, no dead letter;
# the password shows in no log. run.sh uses the test's build (--bin) and
# starts the embedded broker itself. Embedded only: run.sh's broker part is
# the same with either database, and its Kafka start (a JVM and a new
# cluster, about 85 s of CI time per pass here) shows nothing about --db.
# brokers: embedded
. "$(dirname "$0")/lib.sh"

it_postgres
PASSWORD=$(cut -d: -f5 "$IT_PG_DATA/pgpass")
[ -n "$PASSWORD" ] || it_fail "no password in $IT_PG_DATA/pgpass"
set +e
timeout 240 "$GK_SOURCE/scripts/run.sh" --bin "$GK_BIN" --broker "$GK_TEST_BROKER" --db "$IT_PG_URI" \
  --out "$WORK/out" --timeout 120 >"$WORK/run.out" 2>"$WORK/run.log"
rc=$?
set -e
[ "$rc" = 0 ] || it_fail "run.sh exited $rc: $(tail -n 5 "$WORK/run.log")"
summary=$(grep '^summary:' "$WORK/run.out")
it_log "run.sh: $summary"
[[ $summary == "summary: events=50 data1=50 data2=50 data3=50 acks=50 dead_letters=0 "* ]] ||
  it_fail "unexpected summary: $summary"
# The counts are PostgreSQL's own, not a SQLite file's.
[ ! -e "$WORK/out/genetika.db" ] || it_fail "run.sh --db URI created $WORK/out/genetika.db"
for t in data1 data2 data3; do
  it_expect "PostgreSQL $t distinct/total" "$(it_psql "SELECT count(DISTINCT event_id) || '/' || count(*) FROM $t")" 50/50
done
grep -q "database .*127.0.0.1" "$WORK/out/logs/db_consumer.log" || it_fail "db_consumer did not log its database"
! grep -rqF "$PASSWORD" "$WORK/run.log" "$WORK/run.out" "$WORK/out/logs" || it_fail "the password shows in a log"
it_log "PASS"
