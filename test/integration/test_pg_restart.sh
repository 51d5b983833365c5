#!/usr/bin/env bash
# test_pg_restart.sh - PostgreSQL goes away mid-run and comes back: two
# db_consumers in one group keep running, reconnect with backoff and write
# the interrupted batches again in new transactions. Twice: a clean stop
# (the server ends every session: SQLSTATE 57P01) held for 10 s, then a
# crash (immediate shutdown: the server recovers from its WAL at the next
# start) held for 10 s. Afterwards every table holds each event id exactly
# once, there is no dead letter, and every stored offset is the end of its
# partition.
# brokers: embedded kafka
# cost: 44
. "$(dirname "$0")/lib.sh"

N=$(it_scale 6000 30000)
RATE=$(it_scale 200 600)
OUTAGE=10
"$GK_BIN/datagen" --rows "$N" --seed 5 --out "$WORK/data" 2>"$WORK/datagen.log" || it_fail "datagen failed"

it_postgres
it_broker --partitions 4
# No --idle-exit: a consumer that has caught up while the server is down
# (Kafka can deliver the backlog faster than the producer's pace) must stay
# up all the same; they are stopped by SIGTERM once every row is in.
for i in 0 1; do it_start "db$i" "$GK_BIN/db_consumer" --db "$IT_PG_URI" --batch 500; done
it_wait_assigned db0 db1
it_start producer "$GK_BIN/producer" --rate "$RATE" "$WORK/data/sim_file1.xlsx" "$WORK/data/sim_file2.xlsx" "$WORK/data/sim_file3.xlsx"

# rows_at_least N: waits (60 s at most) until data1 holds N rows.
rows_at_least() {
  local n=0
  for _ in $(seq 600); do
    n=$(it_psql "SELECT count(*) FROM data1" 2>/dev/null || echo 0)
    [ "$n" -ge "$1" ] && return 0
    sleep 0.1
  done
  it_fail "data1 holds $n rows, not $1, after 60 s"
}

for mode in fast immediate; do
  if [ $mode = fast ]; then rows_at_least $((N / 5)); else rows_at_least $((N / 2)); fi
  before=$(it_psql "SELECT count(*) FROM data1")
  it_pg_stop $mode
  sleep "$OUTAGE"
  for i in 0 1; do eval "kill -0 \$PID_db$i" 2>/dev/null || it_fail "db$i exited while PostgreSQL was down"; done
  it_pg_start
  it_log "outage ($mode, ${OUTAGE}s) after $before rows of data1"
done

it_wait_exit "$PID_producer" 180
it_expect "producer exit status" "$IT_RC" 0
n=0
for _ in $(seq 1200); do
  n=$(it_psql "SELECT (SELECT count(*) FROM data1) + (SELECT count(*) FROM data2) + (SELECT count(*) FROM data3)")
  [ "$n" -ge $((3 * N)) ] && break
  sleep 0.1
done
[ "$n" -ge $((3 * N)) ] || it_fail "after 120 s the tables hold $n rows of $((3 * N))"
for i in 0 1; do eval "kill -TERM \$PID_db$i"; done
for i in 0 1; do
  eval "it_wait_exit \$PID_db$i 30"
  it_expect "db$i exit status after SIGTERM" "$IT_RC" 0
done

for t in 1 2 3; do
  it_expect "data$t rows" "$(it_psql "SELECT count(*) FROM data$t")" "$N"
  it_expect "data$t distinct ids 1..$N" "$(it_psql "SELECT count(DISTINCT event_id) FROM data$t WHERE event_id BETWEEN 1 AND $N")" "$N"
done
it_expect "dead letters" "$(it_psql "SELECT count(*) FROM dead_letters")" 0
it_expect "stored offsets add up to the messages" "$(it_psql "SELECT sum(next_offset) FROM kafka_offsets")" $((3 * N))
lost=$(cat "$WORK/db0.log" "$WORK/db1.log" | grep -c "connection lost" || true)
again=$(cat "$WORK/db0.log" "$WORK/db1.log" | grep -c "connected again" || true)
[ "$lost" -ge 1 ] && [ "$again" -ge 1 ] || it_fail "no reconnection logged (connection lost: $lost, connected again: $again)"
if grep -h " ERROR:" "$WORK/db0.log" "$WORK/db1.log"; then it_fail "db_consumer logged errors"; fi
it_log "PASS: $N events x 3 through two PostgreSQL outages; connection lost $lost times, connected again $again times"
