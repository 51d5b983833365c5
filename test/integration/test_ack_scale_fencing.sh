#!/usr/bin/env bash
# test_ack_scale_fencing.sh - ack_consumer --mode scalable: a zombie cannot
# add acks. Of two instances in one group, B is frozen (SIGSTOP) mid-stream
# past its session timeout; A takes B's partitions (after the broker has
# aborted any transaction B left open) and carries on. Then B is thawed
# (SIGCONT): whatever it still tries to commit is refused - its producer
# epoch was bumped by the abort, or the group refuses the offsets of a
# member it dropped (KIP-447) - and it must leave saying it was fenced. A
# read_committed reader of `ack` sees exactly one ack per event. Only a real
# Kafka fences: the embedded broker does not.
# brokers: kafka
# cost: 55
. "$(dirname "$0")/lib.sh"

N=$(it_scale 6000 20000)
RATE=$(it_scale 150 300) # events/s per file: 40 s / 67 s of stream
PARTS=4
"$GK_BIN/datagen" --rows "$N" --seed 12 --out "$WORK/data" 2>"$WORK/datagen.log" || it_fail "datagen failed"
it_broker --partitions "$PARTS"
it_scale_topics "$PARTS"

ACK=("$GK_BIN/ack_consumer" --mode scalable --group zombie-test --batch 500
     -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000)
acks() { it_ack_keys | grep -c . || true; }
last_assigned() { grep -o 'assigned [0-9]* partition(s):.*' "$WORK/$1.log" | tail -n 1; }

it_start a "${ACK[@]}" --transactional-id zombie-a --cache "$WORK/cache-a"
it_start b "${ACK[@]}" --transactional-id zombie-b --cache "$WORK/cache-b"
it_wait_assigned a b
half="assigned $((3 * PARTS / 2)) "
for _ in $(seq 300); do
  [[ $(last_assigned a) == "$half"* && $(last_assigned b) == "$half"* ]] && break
  sleep 0.1
done
[[ $(last_assigned a) == "$half"* && $(last_assigned b) == "$half"* ]] ||
  it_fail "the partitions are not split in halves: A '$(last_assigned a)', B '$(last_assigned b)'"
it_start producer "$GK_BIN/producer" --rate "$RATE" "$WORK"/data/sim_file{1,2,3}.xlsx

deadline=$((SECONDS + 90))
while [ "$(acks)" -lt $((N / 4)) ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
kill -0 "$PID_producer" 2>/dev/null || it_fail "the stream ended before a quarter was acked: raise N"
restored_before=$(grep -c 'restored partition' "$WORK/a.log")
kill -STOP "$PID_b"
it_log "B frozen (SIGSTOP) with $(acks) acks committed"
for _ in $(seq 600); do
  [ "$(grep -c 'restored partition' "$WORK/a.log")" -ge $((restored_before + PARTS)) ] && break
  sleep 0.1
done
[ "$(grep -c 'restored partition' "$WORK/a.log")" -ge $((restored_before + PARTS)) ] ||
  it_fail "A did not take over B's partitions within 60 s"
tail -n +1 "$WORK/a.log" | grep 'restored partition\|open transaction\|stable after' | tail -n $((PARTS + 2)) | sed 's/^/    A: /' >&2
if kill -0 "$PID_producer" 2>/dev/null; then state="while the stream goes on"; else state="after the stream"; fi
kill -CONT "$PID_b"
it_log "B thawed (SIGCONT) $state"
it_wait_exit "$PID_b" 120
[ "$IT_RC" != 0 ] || it_fail "the zombie exited 0: $(grep -v CONFWARN "$WORK/b.log" | tail -n 5)"
line=$(grep "ack_consumer ERROR: fenced" "$WORK/b.log" | head -n 1)
[ -n "$line" ] || it_fail "the zombie does not say it was fenced: $(grep ERROR "$WORK/b.log" | tail -n 3)"
it_log "ok: the zombie exited $IT_RC: ${line#* ack_consumer }"

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
all=$(timeout 60 kcat -C -b "$KAFKA_BOOTSTRAP" -t "$(it_topic ack)" -o beginning -e -q -f '%k\n' 2>/dev/null | grep -c . || true)
[ "$all" -ge "$N" ] || it_fail "a read_uncommitted reader of $(it_topic ack) sees $all messages, fewer than the $N committed"
it_log "PASS: $N events, $N acks read_committed (read_uncommitted: $all, $((all - N)) aborted); zombie fenced"
