#!/usr/bin/env bash
# test_ack_scale.sh - ack_consumer --mode scalable: two instances in one
# group split topic1..3 by partition, and each event is acked exactly once
# (counted by a read_committed reader of `ack`), while the partitions move:
#   real Kafka: instance A is SIGKILLed mid-stream; B takes over its
#     partitions (restored from the changelog, after the broker has aborted
#     A's open transaction), then A is restarted with the same transactional
#     id and takes half of them back (restored from its local checkpoint).
#   Before A restarts, its partitions' stores are damaged: they must be
#     rebuilt from the changelog.
#   embedded broker: it fences nothing and does not hide aborted
#     transactions from read_committed readers, so a kill could only show
#     its limits: A is stopped cleanly (SIGTERM) mid-stream instead, B takes
#     over and restores A's partitions, then A comes back.
# Poison messages are put into every partition just before the kill and
# again after A's return: each must reach the dead-letter topic exactly once
# (Kafka: counted read_committed; embedded: a re-read partition may write a
# copy, which the dump leaves out) with its key, value, headers and origin,
# and the dump reads them all back after the partitions have moved.
# Afterwards a second run of the same data through the group adds no ack.
# brokers: embedded kafka
# cost: 57
. "$(dirname "$0")/lib.sh"

N=$(it_scale 6000 20000)
RATE=$(it_scale 200 400) # events/s per file: the stream lasts N/RATE seconds (30 s / 50 s)
PARTS=4
"$GK_BIN/datagen" --rows "$N" --seed 11 --out "$WORK/data" 2>"$WORK/datagen.log" || it_fail "datagen failed"
it_broker --partitions "$PARTS"
it_scale_topics "$PARTS"

ACK=("$GK_BIN/ack_consumer" --mode scalable --group scale-test --batch 500
     -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000)
acks() { it_ack_keys | grep -c . || true; }
start_a() { it_start "a$1" "${ACK[@]}" --transactional-id scale-a --cache "$WORK/cache-a"; }

start_a 1
it_start b "${ACK[@]}" --transactional-id scale-b --cache "$WORK/cache-b"
it_wait_assigned a1 b
# Both in the group: the partitions are split (range: the same numbers of
# topic1..3 to each, half of them).
last_assigned() { grep -o 'assigned [0-9]* partition(s):.*' "$WORK/$1.log" | tail -n 1; }
half="assigned $((3 * PARTS / 2)) "
for _ in $(seq 300); do
  [[ $(last_assigned a1) == "$half"* && $(last_assigned b) == "$half"* ]] && break
  sleep 0.1
done
it_log "split: A $(last_assigned a1) | B $(last_assigned b)"
[[ $(last_assigned a1) == "$half"* && $(last_assigned b) == "$half"* ]] ||
  it_fail "the partitions are not split in halves"
it_start producer "$GK_BIN/producer" --rate "$RATE" "$WORK"/data/sim_file{1,2,3}.xlsx

deadline=$((SECONDS + 90))
while [ "$(acks)" -lt $((N / 4)) ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
kill -0 "$PID_producer" 2>/dev/null || it_fail "the stream ended before a quarter was acked: raise N"
# poison SET : one message that is not JSON into each partition of topic1,
# with a header of its own (a dead letter keeps it).
poison() {
  local p
  for ((p = 0; p < PARTS; p++)); do
    printf 'poison-%s-%d\tnot json %s %d\n' "$1" "$p" "$1" "$p" |
      timeout 30 kcat -P -b "$KAFKA_BOOTSTRAP" -t topic1 -p "$p" -K $'\t' -H "gk-test=poison-$1-$p" \
        -X message.timeout.ms=20000 || it_fail "cannot produce poison message $1 to partition $p"
  done
}
poison 1
at=$(acks)
restored_before=$(grep -c 'restored partition' "$WORK/b.log")
if [ "$GK_TEST_BROKER" = kafka ]; then
  kill -KILL "$PID_a1"
  it_log "A SIGKILLed with $at acks committed"
else
  kill -TERM "$PID_a1"
  it_wait_exit "$PID_a1" 30
  it_expect "A exit status (SIGTERM)" "$IT_RC" 0
  it_log "A stopped (SIGTERM) with $at acks committed"
fi
# B restores A's partitions once the group has dropped A (session timeout).
for _ in $(seq 300); do
  [ "$(grep -c 'restored partition' "$WORK/b.log")" -ge $((restored_before + PARTS)) ] && break
  sleep 0.1
done
grep 'restored partition\|open transaction\|stable after' "$WORK/b.log" | sed 's/^/    B: /' >&2
[ "$(grep -c 'restored partition' "$WORK/b.log")" -ge $((restored_before + PARTS)) ] ||
  it_fail "B did not restore every partition after A left"
kill -0 "$PID_producer" 2>/dev/null && it_log "B owns every partition while the stream goes on"

# A comes back (same id and cache) while the stream still goes on, if it
# does - with the stores of its partitions damaged meanwhile (what
# MDB_NOSYNC and a machine crash can leave): whichever it gets now is
# rebuilt from the changelog instead of refused.
# (A stores only partitions it had; it may get the others now: those get a
# damaged copy too.)
for d in "$WORK"/cache-a/p*; do truncate -s 8192 "$d/data.mdb"; done
some=$(ls -d "$WORK"/cache-a/p* | head -n 1)
for ((p = 0; p < PARTS; p++)); do
  [ -d "$WORK/cache-a/p$p" ] || { mkdir "$WORK/cache-a/p$p" && cp "$some/data.mdb" "$WORK/cache-a/p$p/"; }
done
start_a 2
it_wait_assigned a2
grep 'restored partition\|rebuilding' "$WORK/a2.log" | sed 's/^/    A: /' >&2
grep -q "rebuilding partition [0-9]*'s state from the changelog" "$WORK/a2.log" ||
  it_fail "A did not rebuild its damaged stores"
poison 2

it_wait_exit "$PID_producer" 300
it_expect "producer exit status" "$IT_RC" 0
for _ in $(seq 600); do [ "$(acks)" -ge "$N" ] && break; sleep 0.2; done
sleep 2 # a duplicate, if any, would come now
it_ack_keys >"$WORK/ack.keys"
it_expect "acks seen by a read_committed reader" "$(grep -c . "$WORK/ack.keys")" "$N"
it_expect "distinct acked events" "$(sort -u "$WORK/ack.keys" | grep -c .)" "$N"
it_expect "acked events are 1..$N" "$(sort -n "$WORK/ack.keys" | sed -n '1p;$p' | tr '\n' ' ')" "1 $N "

# Second run of the same data: the group's state remembers every event.
it_start producer2 "$GK_BIN/producer" --rate $((RATE * 4)) "$WORK"/data/sim_file{1,2,3}.xlsx
it_wait_exit "$PID_producer2" 300
it_expect "second producer exit status" "$IT_RC" 0
sleep 5
it_ack_keys >"$WORK/ack2.keys"
it_expect "acks after a second run of the same data" "$(grep -c . "$WORK/ack2.keys")" "$N"

# The dead letters: each poison message once, with its origin, reason, key,
# value and header, in the partition of its own number.
DL=ack-dead-letters
timeout 60 kcat -C -b "$KAFKA_BOOTSTRAP" -t "$DL" -o beginning -e -q -X isolation.level=read_committed \
  -f '%p|%k|%s|%h\n' >"$WORK/dl.raw" 2>>"$WORK/kcat.log" || it_fail "cannot read $DL"
for set in 1 2; do
  for ((p = 0; p < PARTS; p++)); do
    n=$(grep -c "^$p|poison-$set-$p|not json $set $p|.*gk-test=poison-$set-$p,gk-dl-topic=topic1,gk-dl-partition=$p,gk-dl-offset=[0-9]*,gk-dl-reason=." "$WORK/dl.raw" || true)
    if [ "$GK_TEST_BROKER" = kafka ]; then
      [ "$n" = 1 ] || it_fail "poison message $set of partition $p: $n dead letters read_committed, want 1: $(cat "$WORK/dl.raw")"
    else
      [ "$n" -ge 1 ] || it_fail "poison message $set of partition $p: no dead letter: $(cat "$WORK/dl.raw")"
    fi
  done
done
it_log "ok: $(grep -c . "$WORK/dl.raw") dead letters read_committed for $((2 * PARTS)) poison messages ($(head -n 1 "$WORK/dl.raw"))"
"${ACK[@]}" --dump-dead-letters >"$WORK/dump.out" 2>"$WORK/dump.log" || it_fail "--dump-dead-letters: $(tail -n 1 "$WORK/dump.log")"
it_expect "dead letters dumped" "$(grep -c '"topic":"topic1"' "$WORK/dump.out")" $((2 * PARTS))
it_expect "distinct dead letters dumped" "$(sed -n 's/.*"partition":\([0-9]*\),"offset":\([0-9]*\).*/\1 \2/p' "$WORK/dump.out" | sort -u | grep -c .)" $((2 * PARTS))
grep -q '"key":"poison-2-0","value":"not json 2 0"' "$WORK/dump.out" || it_fail "the dump lacks poison message 2 of partition 0: $(head -n 2 "$WORK/dump.out")"
it_log "dump: $(tail -n 1 "$WORK/dump.log")"

for p in "$PID_a2" "$PID_b"; do kill -TERM "$p"; done
it_wait_exit "$PID_a2" 30
it_expect "A exit status" "$IT_RC" 0
it_wait_exit "$PID_b" 30
it_expect "B exit status" "$IT_RC" 0
grep -h '^ack_consumer: mode=scalable' "$WORK"/a*.log "$WORK/b.log" | sed 's/^/    /' >&2
all=$(timeout 60 kcat -C -b "$KAFKA_BOOTSTRAP" -t ack -o beginning -e -q -f '%k\n' 2>/dev/null | grep -c . || true)
it_log "PASS: $N events, $N acks read_committed (read_uncommitted: $all), A $( [ "$GK_TEST_BROKER" = kafka ] && echo SIGKILLed || echo stopped) at $at acks; second run: no new ack; $((2 * PARTS)) dead letters once each"
