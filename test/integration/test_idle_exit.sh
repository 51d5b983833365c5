#!/usr/bin/env bash
# test_idle_exit.sh - --idle-exit means "caught up and idle", checked with
# the broker: both consumers (--idle-exit 3) are frozen with SIGSTOP for
# about 4 s, less than their session, while the rest of the events are
# produced; thawed, every partition looks at its end by what they last
# fetched, and they have been idle for longer than 3 s. They must notice
# that the partitions grew and take every event before exiting 0.
# brokers: embedded kafka
# kafka: shared
. "$(dirname "$0")/lib.sh"

N=100
"$GK_BIN/datagen" --rows $N --out "$WORK/data" 2>"$WORK/datagen.log" || it_fail "datagen failed"
it_broker --partitions 3
it_start db "$GK_BIN/db_consumer" --db "$WORK/genetika.db" --idle-exit 3
it_start ack "$GK_BIN/ack_consumer" --cache "$WORK/ack-cache" --idle-exit 3
it_wait_assigned db ack
"$GK_BIN/producer" "$WORK/data/sim_file1.xlsx" >"$WORK/producer1.out" 2>"$WORK/producer1.log" ||
  it_fail "producer (file 1) exited with $?"
for _ in $(seq 100); do [ "$(it_sql "$WORK/genetika.db" "SELECT count(*) FROM data1" 2>/dev/null)" = $N ] && break; sleep 0.1; done
it_expect "data1 rows before the freeze" "$(it_sql "$WORK/genetika.db" "SELECT count(*) FROM data1")" $N
sleep 0.5 # every partition has reported its end

kill -STOP "$PID_db" "$PID_ack"
t0=$SECONDS
"$GK_BIN/producer" "$WORK/data/sim_file2.xlsx" "$WORK/data/sim_file3.xlsx" >"$WORK/producer2.out" \
  2>"$WORK/producer2.log" || it_fail "producer (files 2, 3) exited with $?"
while [ $((SECONDS - t0)) -lt 4 ]; do sleep 0.2; done
kill -CONT "$PID_db" "$PID_ack"
it_log "consumers frozen for $((SECONDS - t0)) s while files 2 and 3 were produced"

it_wait_exit "$PID_db" 120; it_expect "db_consumer exit status" "$IT_RC" 0
it_wait_exit "$PID_ack" 120; it_expect "ack_consumer exit status" "$IT_RC" 0
it_check_exact $N "$WORK/genetika.db"
it_log "PASS: after the freeze both consumers took all $N events before their idle exit"
