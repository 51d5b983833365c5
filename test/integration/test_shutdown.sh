#!/usr/bin/env bash
# test_shutdown.sh - a shutdown is bounded whatever the broker does. The
# broker is frozen (SIGSTOP: connections stay open, nothing is answered -
# worse than a dead broker, whose connections are refused at once) while
# events stream through both consumers (ack_consumer in Kafka transactions);
# SIGTERM must stop both within 30 s, exit 0, and leave their stores
# consistent: once the broker is thawed, restarted consumers finish the
# stream with exactly one row per event in every table and one ack per event.
# brokers: embedded kafka
# cost: 31
. "$(dirname "$0")/lib.sh"

N=3000
RATE=300
LIMIT=30
"$GK_BIN/datagen" --rows $N --seed 11 --out "$WORK/data" 2>"$WORK/datagen.log" || it_fail "datagen failed"
# Kafka's controller lives in the frozen JVM too: on thawing it would find
# the broker's last heartbeat older than its 9 s session and fence it, which
# is not what this test is about.
if [ "$GK_TEST_BROKER" = kafka ]; then
  it_broker --partitions 3 --set broker.session.timeout.ms=120000
else
  it_broker --partitions 3
fi

ACK=("$GK_BIN/ack_consumer" --cache "$WORK/ack-cache" --transactional-id genetika-ack-shutdown)
DB=("$GK_BIN/db_consumer" --db "$WORK/genetika.db")
it_start ack "${ACK[@]}"
it_start db "${DB[@]}"
it_wait_assigned ack db
it_start producer "$GK_BIN/producer" --rate $RATE "$WORK"/data/sim_file{1,2,3}.xlsx

# Freeze the broker mid-stream, once both consumers have done some work.
for _ in $(seq 300); do
  [ -s "$WORK/genetika.db" ] && [ "$(it_sql "$WORK/genetika.db" "SELECT count(*) FROM data1" 2>/dev/null || echo 0)" -ge 300 ] && break
  sleep 0.1
done
kill -STOP "$PID_broker"
it_log "broker frozen (SIGSTOP)"
sleep 2

start=$SECONDS
kill -TERM "$PID_ack" "$PID_db"
for s in ack db; do
  eval "pid=\$PID_$s"
  harness_wait_exit "$pid" $LIMIT || {
    kill -CONT "$PID_broker"
    it_fail "$s still running $LIMIT s after SIGTERM with the broker frozen"
  }
  it_expect "$s exit status" "$HARNESS_RC" 0
done
it_log "ok: both consumers stopped $((SECONDS - start)) s after SIGTERM with the broker frozen"

kill -CONT "$PID_broker"
it_log "broker thawed (SIGCONT)"
it_wait_exit "$PID_producer" 120
it_expect "producer exit status" "$IT_RC" 0

# The stores were left consistent: the rest of the stream, exactly once.
it_start ack2 "${ACK[@]}" --idle-exit 5
it_start db2 "${DB[@]}" --idle-exit 5
it_wait_exit "$PID_ack2" 180
it_expect "restarted ack_consumer exit status" "$IT_RC" 0
it_wait_exit "$PID_db2" 180
it_expect "restarted db_consumer exit status" "$IT_RC" 0
it_check_exact $N "$WORK/genetika.db"
it_log "PASS"
