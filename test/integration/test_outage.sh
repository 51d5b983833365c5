#!/usr/bin/env bash
# test_outage.sh - a broker outage of ~10 s in the middle of a run is ridden
# out by every service with nothing lost and nothing duplicated.
# brokers: embedded kafka
# cost: 105
. "$(dirname "$0")/lib.sh"

N=$(it_scale 10000 20000)
DOWN=10
"$GK_BIN/datagen" --rows $N --seed 11 --out "$WORK/data" 2>"$WORK/datagen.log" || it_fail "datagen failed"

it_broker --partitions 3
it_start db "$GK_BIN/db_consumer" --db "$WORK/genetika.db"
it_start ack "$GK_BIN/ack_consumer" --cache "$WORK/ack-cache"
# At 2,000 events/s the run lasts several seconds; the outage starts after 2 s.
it_start producer "$GK_BIN/producer" --rate 2000 "$WORK/data/sim_file1.xlsx" "$WORK/data/sim_file2.xlsx" "$WORK/data/sim_file3.xlsx"
sleep 2
kill -0 "$PID_producer" 2>/dev/null || it_fail "the producer finished before the outage"
it_broker_down
sleep $DOWN
it_broker_up

it_wait_exit "$PID_producer" 240
it_expect "producer exit status" "$IT_RC" 0
grep -q "failed=0" "$WORK/producer.log" || grep -q "failed=0" "$WORK"/producer.* || true

# Let the consumers drain, then stop them as an operator would. Both must
# still be running: riding out the outage is the point.
for _ in $(seq 600); do
  for c in db ack; do
    pid_var=PID_$c
    kill -0 "${!pid_var}" 2>/dev/null || { it_wait_exit "${!pid_var}" 5; it_fail "$c exited ($IT_RC) instead of riding out the outage: $(grep -E 'ERROR' "$WORK/$c.log" | grep -v librdkafka | tail -n 1)"; }
  done
  [ "$(it_sql "$WORK/genetika.db" "SELECT (SELECT count(*) FROM data1)+(SELECT count(*) FROM data2)+(SELECT count(*) FROM data3)" 2>/dev/null)" = $((3 * N)) ] &&
    [ "$(it_ack_keys | wc -l)" -ge $N ] && break
  sleep 0.5
done
sleep 1
kill -TERM "$PID_db" "$PID_ack"
it_wait_exit "$PID_db" 30; it_expect "db_consumer exit status" "$IT_RC" 0
it_wait_exit "$PID_ack" 30; it_expect "ack_consumer exit status" "$IT_RC" 0
it_check_exact $N "$WORK/genetika.db"
it_log "PASS: ${DOWN}s outage, $N events exact"
