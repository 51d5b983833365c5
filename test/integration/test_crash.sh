#!/usr/bin/env bash
# test_crash.sh - exactly-once through crashes: while 20,000 events stream
# through, db_consumer and ack_consumer are each killed with SIGKILL at random
# moments (at least 5 times each) and restarted. Afterwards every table holds
# the 20,000 event ids exactly once and the ack topic holds exactly 20,000
# messages with 20,000 distinct event ids.
. "$(dirname "$0")/lib.sh"

N=20000
KILLS=$(it_scale 5 10)
RATE=$(it_scale 2500 1000)
"$GK_BIN/datagen" --rows $N --seed 7 --out "$WORK/data" 2>"$WORK/datagen.log" || it_fail "datagen failed"

it_broker --partitions 3
start_db() { it_start db "$GK_BIN/db_consumer" --db "$WORK/genetika.db" --batch 500 "$@"; }
start_ack() { it_start ack "$GK_BIN/ack_consumer" --cache "$WORK/ack-cache" --batch 500 "$@"; }
start_db; start_ack
it_start producer "$GK_BIN/producer" --rate $RATE "$WORK/data/sim_file1.xlsx" "$WORK/data/sim_file2.xlsx" "$WORK/data/sim_file3.xlsx"

kills_db=0; kills_ack=0
RANDOM=42
deadline=$((SECONDS + 240))
# Kill alternately at random moments (0.2-1.4 s apart) until both have been
# killed often enough and the producer is done.
while [ $kills_db -lt "$KILLS" ] || [ $kills_ack -lt "$KILLS" ] || kill -0 "$PID_producer" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || it_fail "crash loop did not finish in time"
  sleep "0.$((RANDOM % 10 + 2))$((RANDOM % 10))"
  if [ $(((kills_db + kills_ack) % 2)) -eq 0 ]; then
    kill -KILL "$PID_db" 2>/dev/null && wait "$PID_db" 2>/dev/null; kills_db=$((kills_db + 1))
    mv "$WORK/db.log" "$WORK/db.$kills_db.killed"; start_db
  else
    kill -KILL "$PID_ack" 2>/dev/null && wait "$PID_ack" 2>/dev/null; kills_ack=$((kills_ack + 1))
    mv "$WORK/ack.log" "$WORK/ack.$kills_ack.killed"; start_ack
  fi
  # Stop killing once both quotas are met and the producer has finished.
  if [ $kills_db -ge "$KILLS" ] && [ $kills_ack -ge "$KILLS" ] && ! kill -0 "$PID_producer" 2>/dev/null; then break; fi
done
it_wait_exit "$PID_producer" 120
it_expect "producer exit status" "$IT_RC" 0

# Last incarnations: finish the backlog and stop by themselves.
kill -TERM "$PID_db" "$PID_ack"; it_wait_exit "$PID_db" 30; it_wait_exit "$PID_ack" 30
start_db --idle-exit 3; start_ack --idle-exit 3
it_wait_exit "$PID_db" 180; it_expect "db_consumer exit status" "$IT_RC" 0
it_wait_exit "$PID_ack" 180; it_expect "ack_consumer exit status" "$IT_RC" 0

it_log "SIGKILLs: db_consumer=$kills_db ack_consumer=$kills_ack"
it_check_exact $N "$WORK/genetika.db"
it_log "PASS: kills db_consumer=$kills_db ack_consumer=$kills_ack; data1..3=$N rows each; acks=$N distinct=$N"
