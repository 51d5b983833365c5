#!/usr/bin/env bash
# test_ack_group.sh - ack_consumer cannot scale out yet (its state is not
# partitioned with the assignment), so an instance that is not assigned every
# partition of topic1..3 must stop - exit 64, one line saying why - before it
# consumes anything, rather than ack events twice. A second instance (its
# own copy of its state, the same group) joins a first one that has acked every event:
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

# The second instance starts on a copy of the first one's state (a
# replacement restored from the same volume), so that whatever the group
# does, an ack it could add would be a duplicate.
cp -a "$WORK/cache1" "$WORK/cache2"
it_start second "$GK_BIN/ack_consumer" --cache "$WORK/cache2" --group shared-ack
# refused NAME: NAME stopped, exit 64, with one line naming the partitions
# and the group, having consumed nothing.
refused() {
  local pid line summary
  eval "pid=\$PID_$1"
  it_wait_exit "$pid" 60
  it_expect "$1 instance exit status" "$IT_RC" 64
  line=$(grep "ERROR: assigned " "$WORK/$1.log" | head -n 1)
  [[ $line == *"of the 9 partitions of topic1,topic2,topic3"*"shared-ack"* ]] ||
    it_fail "$1: no one-line reason naming the partitions and the group: '$line' $(tail -n 3 "$WORK/$1.log")"
  it_log "ok: $1 stopped: ${line#*ERROR: }"
}
refused first
# The second is given part of the partitions in the same generation as the
# first and stops too - unless its join was slow enough that the first had
# already left: then it is given all nine, rightly goes on, and, its state
# having every event acked, adds no ack.
for _ in $(seq 300); do
  kill -0 "$PID_second" 2>/dev/null || break
  grep -q "ERROR: assigned \|assigned 9 partition" "$WORK/second.log" && break
  sleep 0.2
done
if grep -q "ERROR: assigned " "$WORK/second.log" || ! kill -0 "$PID_second" 2>/dev/null; then
  refused second
  summary=$(grep "^ack_consumer: messages=" "$WORK/second.log" || true)
  [[ $summary == "ack_consumer: messages=0 acks=0 "* ]] || it_fail "the second instance consumed: '$summary'"
else
  it_log "the first had left before the second joined: the second holds all nine partitions"
  sleep 3
  kill -TERM "$PID_second"
  it_wait_exit "$PID_second" 30
  it_expect "second instance exit status (SIGTERM, every partition)" "$IT_RC" 0
  summary=$(grep "^ack_consumer: messages=" "$WORK/second.log" || true)
  [[ $summary == *" acks=0 "* ]] || it_fail "the second instance acked again: '$summary'"
fi
it_ack_keys >"$WORK/ack.keys"
it_expect "ack messages" "$(grep -c . "$WORK/ack.keys")" $N
it_expect "distinct acked events" "$(sort -u "$WORK/ack.keys" | grep -c .)" $N
it_log "PASS"
