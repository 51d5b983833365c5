#!/usr/bin/env bash
# test_second_run.sh - the whole pipeline twice on the same data against the
# same broker: the database is identical afterwards, no new ack is sent, and
# no service reports an error. With GK_TEST_DB=postgresql db_consumer writes
# to PostgreSQL (test_pg_second_run.sh).
# brokers: embedded kafka
# kafka: shared
. "$(dirname "$0")/lib.sh"

DATA=$GK_SOURCE/data
it_database
it_broker --partitions 3

run_pipeline() {
  local round=$1
  it_start db$round "$GK_BIN/db_consumer" --db "$IT_DB" --idle-exit 3
  it_start ack$round "$GK_BIN/ack_consumer" --cache "$WORK/ack-cache" --idle-exit 3
  "$GK_BIN/producer" "$DATA/sim_file1.xlsx" "$DATA/sim_file2.xlsx" "$DATA/sim_file3.xlsx" \
    >"$WORK/producer$round.out" 2>"$WORK/producer$round.log" || it_fail "producer (run $round) exited with $?"
  local pid
  eval "pid=\$PID_db$round"; it_wait_exit "$pid" 120; it_expect "db_consumer (run $round) exit" "$IT_RC" 0
  eval "pid=\$PID_ack$round"; it_wait_exit "$pid" 120; it_expect "ack_consumer (run $round) exit" "$IT_RC" 0
  for f in "$WORK/db$round.log" "$WORK/ack$round.log" "$WORK/producer$round.log"; do
    if grep -E " (ERROR|WARN):" "$f" | grep -v "librdkafka" >"$WORK/errors$round"; then
      it_fail "run $round: $(basename "$f") reports: $(head -n 3 "$WORK/errors$round")"
    fi
  done
}

dump() {
  if it_is_pg "$IT_DB"; then
    for t in data1 data2 data3 dead_letters; do
      psql "$IT_DB" -X -q -v ON_ERROR_STOP=1 -c "COPY (SELECT * FROM $t ORDER BY 1) TO STDOUT"
    done
  else
    sqlite3 "$IT_DB" ".dump data1 data2 data3 dead_letters"
  fi
}

run_pipeline 1
dump >"$WORK/dump1.sql"
it_expect "acks after run 1" "$(it_ack_keys | wc -l)" 50
run_pipeline 2
dump >"$WORK/dump2.sql"
cmp -s "$WORK/dump1.sql" "$WORK/dump2.sql" || it_fail "the database changed: $(diff "$WORK/dump1.sql" "$WORK/dump2.sql" | head -n 5)"
it_log "ok: database identical after the second run ($(wc -l <"$WORK/dump1.sql") dump lines)"
it_expect "acks after run 2 (no new ack)" "$(it_ack_keys | wc -l)" 50
it_expect "topic1 holds both runs" "$(kcat -C -b "$KAFKA_BOOTSTRAP" -t "$(it_topic topic1)" -e -q -f '%k\n' | wc -l)" 100
it_log "PASS"
