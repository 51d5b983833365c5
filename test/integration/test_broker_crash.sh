#!/usr/bin/env bash
# test_broker_crash.sh - the broker itself crashes: while the producer and
# both consumers stream events, the Kafka JVM is killed with SIGKILL and
# started again on the same data directory (same ports), more than once.
# Every service must ride it out: afterwards every table holds each event
# exactly once and the ack topic exactly one ack per event (read_committed).
# ack_consumer runs as docker compose runs it, with --transactional-id. Only
# a real Kafka can show this: the embedded broker keeps nothing.
# brokers: kafka
# cost: 121
. "$(dirname "$0")/lib.sh"

N=$(it_scale 16000 32000)
CRASHES=$(it_scale 2 4)
RATE=200 # events/s per file: the stream lasts N/RATE seconds (80 s), long
         # enough for every crash to find all three services at work
"$GK_BIN/datagen" --rows "$N" --seed 13 --out "$WORK/data" 2>"$WORK/datagen.log" || it_fail "datagen failed"
it_broker --partitions 3

it_start db "$GK_BIN/db_consumer" --db "$WORK/genetika.db" --batch 500
it_start ack "$GK_BIN/ack_consumer" --cache "$WORK/ack-cache" --batch 500 --transactional-id genetika-ack-crash
it_wait_assigned db ack
it_start producer "$GK_BIN/producer" --rate "$RATE" "$WORK"/data/sim_file{1,2,3}.xlsx

# progress: rows in data1 and acks on the ack topic.
progress() { echo "$(it_sql "$WORK/genetika.db" "SELECT count(*) FROM data1" 2>/dev/null || echo 0) $(it_ack_keys | grep -c . || true)"; }
# wait_live ROWS ACKS: until both consumers have made progress beyond these
# counts (after a restart they rejoin their groups first).
wait_live() {
  local r a
  for _ in $(seq 240); do
    read -r r a <<<"$(progress)"
    [ "$r" -gt "$1" ] && [ "$a" -gt "$2" ] && return 0
    sleep 0.5
  done
  it_fail "the consumers did not resume within 120 s (data1 $r rows, $a acks)"
}
rows=0 acks=0
for c in $(seq "$CRASHES"); do
  wait_live "$rows" "$acks"
  sleep 1
  kill -0 "$PID_producer" 2>/dev/null || it_fail "the stream ended before crash $c: raise N"
  read -r rows acks <<<"$(progress)"
  harness_broker_crash || it_fail "$HARNESS_ERROR"
  it_log "crash $c: Kafka JVM killed (SIGKILL) while all three services were at work ($rows rows in data1, $acks acks)"
  sleep 2
  harness_broker_restart || it_fail "restart after crash $c: $HARNESS_ERROR"
  it_log "crash $c: Kafka back at $(cat "$WORK/kafka.addr") ($(tail -n 1 "$WORK/kafka.log" | grep -o 'answered [0-9]* ms'))"
  kill -0 "$PID_db" 2>/dev/null || it_fail "db_consumer died with the broker"
  kill -0 "$PID_ack" 2>/dev/null || it_fail "ack_consumer died with the broker"
  read -r rows acks <<<"$(progress)"
done
it_expect "address after the restarts" "$(cat "$WORK/kafka.addr")" "$KAFKA_BOOTSTRAP"
grep -q "handleBrokerUncleanShutdown" "$WORK/kafka/logs/server.log"* ||
  it_fail "the broker's log shows no recovery from an unclean shutdown"

it_wait_exit "$PID_producer" 300
it_expect "producer exit status" "$IT_RC" 0
grep -q "^producer: files=3 rows=$((3 * N)) delivered=$((3 * N)) failed=0 " "$WORK/producer.log" ||
  it_fail "producer summary: $(grep 'files=' "$WORK/producer.log")"
# The consumers catch up, then stop as an operator would stop them.
for _ in $(seq 600); do
  [ "$(it_sql "$WORK/genetika.db" "SELECT (SELECT count(*) FROM data1)+(SELECT count(*) FROM data2)+(SELECT count(*) FROM data3)")" = $((3 * N)) ] &&
    [ "$(it_ack_keys | wc -l)" -ge "$N" ] && break
  sleep 0.5
done
kill -TERM "$PID_db" "$PID_ack"
it_wait_exit "$PID_db" 30; it_expect "db_consumer exit status" "$IT_RC" 0
it_wait_exit "$PID_ack" 30; it_expect "ack_consumer exit status" "$IT_RC" 0
it_check_exact "$N" "$WORK/genetika.db"
it_log "PASS: $CRASHES broker crashes (SIGKILL + restart on the same data); data1..3=$N rows each; acks=$N distinct=$N"
