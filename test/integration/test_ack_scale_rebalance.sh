#!/usr/bin/env bash
# test_ack_scale_rebalance.sh - ack_consumer --mode scalable grows and
# shrinks without crashes: one instance starts alone, two more join
# mid-stream (the partitions are split three ways, each moved partition
# restored from the changelog before its first message), then those two are
# stopped (SIGTERM) and the first takes every partition back, restoring what
# they changed. A read_committed reader of `ack` sees exactly one ack per
# event. Clean rebalances need no fencing, so this holds on both brokers.
# brokers: embedded kafka
# cost: 56
. "$(dirname "$0")/lib.sh"

N=$(it_scale 6000 20000)
RATE=$(it_scale 150 300) # events/s per file: 40 s / 67 s of stream
PARTS=6
"$GK_BIN/datagen" --rows "$N" --seed 13 --out "$WORK/data" 2>"$WORK/datagen.log" || it_fail "datagen failed"
it_broker --partitions "$PARTS"
it_scale_topics "$PARTS"

ACK=("$GK_BIN/ack_consumer" --mode scalable --group rebalance-test --batch 500
     -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000)
acks() { it_ack_keys | grep -c . || true; }
last_assigned() { grep -o 'assigned [0-9]* partition(s):.*' "$WORK/$1.log" | tail -n 1; }
# wait_split WANT NAME... : until each named instance's last assignment has WANT partitions.
wait_split() {
  local want=$1 name ok; shift
  for _ in $(seq 600); do
    ok=1
    for name in "$@"; do [[ $(last_assigned "$name") == "assigned $want "* ]] || ok=0; done
    [ $ok = 1 ] && return 0
    sleep 0.1
  done
  for name in "$@"; do it_log "$name: $(last_assigned "$name")"; done
  it_fail "not every instance of $* got $want partitions within 60 s"
}
start() { it_start "$1" "${ACK[@]}" --transactional-id "rebalance-$1" --cache "$WORK/cache-$1"; }

start a
it_wait_assigned a
wait_split $((3 * PARTS)) a
it_start producer "$GK_BIN/producer" --rate "$RATE" "$WORK"/data/sim_file{1,2,3}.xlsx
deadline=$((SECONDS + 90))
while [ "$(acks)" -lt $((N / 5)) ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
kill -0 "$PID_producer" 2>/dev/null || it_fail "the stream ended before a fifth was acked: raise N"
it_log "growing to three instances at $(acks) acks"
start b
start c
wait_split $((3 * PARTS / 3)) a b c
it_log "split three ways: A $(last_assigned a) | B $(last_assigned b) | C $(last_assigned c)"
grep -h 'restored partition' "$WORK/b.log" "$WORK/c.log" | sed 's/^/    B,C: /' >&2
moved=$(grep -h 'restored partition' "$WORK/b.log" "$WORK/c.log" | grep -vc ': 0 records' || true)
[ "$moved" -ge 1 ] || it_fail "no moved partition brought any state along"

deadline=$((SECONDS + 90))
while [ "$(acks)" -lt $((N / 2)) ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
kill -0 "$PID_producer" 2>/dev/null || it_fail "the stream ended before half was acked: raise N"
restored_before=$(grep -c 'restored partition' "$WORK/a.log")
it_log "shrinking to one instance at $(acks) acks"
kill -TERM "$PID_b" "$PID_c"
it_wait_exit "$PID_b" 30
it_expect "B exit status" "$IT_RC" 0
it_wait_exit "$PID_c" 30
it_expect "C exit status" "$IT_RC" 0
wait_split $((3 * PARTS)) a
grep 'restored partition' "$WORK/a.log" | tail -n +$((restored_before + 1)) | sed 's/^/    A: /' >&2

it_wait_exit "$PID_producer" 300
it_expect "producer exit status" "$IT_RC" 0
for _ in $(seq 600); do [ "$(acks)" -ge "$N" ] && break; sleep 0.2; done
sleep 2
kill -TERM "$PID_a"
it_wait_exit "$PID_a" 30
it_expect "A exit status" "$IT_RC" 0
it_ack_keys >"$WORK/ack.keys"
it_expect "acks seen by a read_committed reader" "$(grep -c . "$WORK/ack.keys")" "$N"
it_expect "distinct acked events" "$(sort -u "$WORK/ack.keys" | grep -c .)" "$N"
grep -h '^ack_consumer: mode=scalable' "$WORK"/[abc].log | sed 's/^/    /' >&2
it_log "PASS: $N events; 1 -> 3 -> 1 instances; $N acks read_committed, $N distinct"
