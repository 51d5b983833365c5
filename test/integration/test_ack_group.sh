#!/usr/bin/env bash
# test_ack_group.sh - ack_consumer cannot scale out yet (its state is not
# partitioned with the assignment), so an instance that is not assigned every
# partition of topic1..3 must stop - exit 64, one line saying why - before it
# consumes anything, rather than ack events twice. A second instance (its
# own cache, the same group) joins a first one that has acked every event:
# both are given part of the partitions and both stop; the ack topic still
# holds exactly one ack per event.
# brokers: embedded kafka
. "$(dirname "$0")/lib.sh"

N=1000
"$GK_BIN/datagen" --rows $N --seed 3 --out "$WORK/data" 2>"$WORK/datagen.log" || it_fail "datagen failed"
it_broker --partitions 3
"$GK_BIN/producer" "$WORK"/data/sim_file{1,2,3}.xlsx >"$WORK/producer.out" 2>"$WORK/producer.log" ||
  it_fail "producer exited with $?"

it_start first "$GK_BIN/ack_consumer" --cache "$WORK/cache1" --group shared-ack
it_wait_assigned first
for _ in $(seq 600); do [ "$(it_ack_keys | grep -c . || true)" -ge $N ] && break; sleep 0.2; done
it_expect "acks from the first instance" "$(it_ack_keys | grep -c . || true)" $N

it_start second "$GK_BIN/ack_consumer" --cache "$WORK/cache2" --group shared-ack
for s in second first; do
  eval "pid=\$PID_$s"
  it_wait_exit "$pid" 60
  it_expect "$s instance exit status" "$IT_RC" 64
  line=$(grep "ERROR: assigned " "$WORK/$s.log" | head -n 1)
  [[ $line == *"of the 9 partitions of topic1,topic2,topic3"*"shared-ack"* ]] ||
    it_fail "$s: no one-line reason naming the partitions and the group: '$line' $(tail -n 3 "$WORK/$s.log")"
  it_log "ok: $s stopped: ${line#*ERROR: }"
done
# Nothing consumed under the partial assignment: the second instance's
# summary counts no message, and no ack was added.
summary=$(grep "^ack_consumer: messages=" "$WORK/second.log" || true)
[[ $summary == "ack_consumer: messages=0 acks=0 "* ]] || it_fail "the second instance consumed: '$summary'"
it_ack_keys >"$WORK/ack.keys"
it_expect "ack messages" "$(grep -c . "$WORK/ack.keys")" $N
it_expect "distinct acked events" "$(sort -u "$WORK/ack.keys" | grep -c .)" $N
it_log "PASS"
