#!/usr/bin/env bash
# test_fencing.sh - a zombie ack_consumer cannot add acks. An ack_consumer
# with --transactional-id is frozen (SIGSTOP) in the middle of a stream; a
# successor with the same id starts on a copy of its state directory taken
# then (as a replacement restored from the same volume on another host
# would) and carries on; then the old one is thawed (SIGCONT). The broker
# must reject the zombie's late writes, the zombie must exit non-zero saying
# it was fenced, and a read_committed reader of `ack` must see exactly one
# ack per event. Only a real Kafka can show this: the embedded broker fences
# nothing.
# brokers: kafka
# cost: 32
# kafka: shared
. "$(dirname "$0")/lib.sh"

N=$(it_scale 9000 18000)
RATE=300 # events/s per file: the stream lasts N/RATE seconds (30 s)
"$GK_BIN/datagen" --rows "$N" --seed 5 --out "$WORK/data" 2>"$WORK/datagen.log" || it_fail "datagen failed"
it_broker --partitions 3
TXN=$(it_topic genetika-ack-fencing) # a transactional id no other test uses

# Kafka's shortest session (6 s): the successor gets the partitions once the
# frozen member's session has expired.
ACK=("$GK_BIN/ack_consumer" --transactional-id "$TXN" --batch 200
     -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000)
acks() { it_ack_keys | grep -c . || true; }

it_start old "${ACK[@]}" --cache "$WORK/cache"
it_wait_assigned old
it_start producer "$GK_BIN/producer" --rate "$RATE" "$WORK"/data/sim_file{1,2,3}.xlsx

# Freeze the old one in the middle of its work: once it has committed a few
# hundred acks (a loaded machine may take a while to get there), while the
# stream still goes on.
deadline=$((SECONDS + 90))
while [ "$(acks)" -lt 300 ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
kill -0 "$PID_producer" 2>/dev/null || it_fail "the stream ended before the first ack_consumer got going: raise N"
kill -STOP "$PID_old"
frozen_at=$(acks)
[ "$frozen_at" -ge 300 ] || it_fail "the first ack_consumer had sent only $frozen_at acks within 90 s"
it_log "old ack_consumer frozen (SIGSTOP) with $frozen_at acks committed"
cp -a "$WORK/cache" "$WORK/cache-copy"

it_start new "${ACK[@]}" --cache "$WORK/cache-copy"
for _ in $(seq 300); do grep -q "transactions initialized" "$WORK/new.log" && break; sleep 0.1; done
grep -q "transactions initialized" "$WORK/new.log" || it_fail "the successor did not initialize transactions"
it_wait_assigned new
# Thawed, the zombie holds messages it fetched before it froze and its open
# transaction: it tries to write them, and is fenced by the broker's
# transaction coordinator; its group coordinator fences its consumer as
# well (the successor took its group.instance.id), so it does not rejoin.
# Whichever it hears of first, it must stop saying it was fenced.
if kill -0 "$PID_producer" 2>/dev/null; then state="while the stream goes on"; else state="after the stream"; fi
kill -CONT "$PID_old"
it_log "old ack_consumer thawed (SIGCONT) $state"

it_wait_exit "$PID_old" 120
[ "$IT_RC" != 0 ] || it_fail "the zombie exited 0"
line=$(grep "ack_consumer ERROR: fenced: " "$WORK/old.log" | head -n 1)
[ -n "$line" ] || it_fail "the zombie does not say it was fenced: $(grep ERROR "$WORK/old.log" | tail -n 3)"
[[ $line == *" $TXN"* ]] || it_fail "the fenced message does not name the transactional id: $line"
it_log "ok: the zombie exited $IT_RC: ${line#* ack_consumer }"

it_wait_exit "$PID_producer" 120
it_expect "producer exit status" "$IT_RC" 0
for _ in $(seq 600); do [ "$(acks)" -ge "$N" ] && break; sleep 0.2; done
kill -TERM "$PID_new"
it_wait_exit "$PID_new" 30
it_expect "successor exit status" "$IT_RC" 0

it_ack_keys >"$WORK/ack.keys"
it_expect "acks seen by a read_committed reader" "$(grep -c . "$WORK/ack.keys")" "$N"
it_expect "distinct acked events" "$(sort -u "$WORK/ack.keys" | grep -c .)" "$N"
it_expect "acked events are 1..$N" "$(sort -n "$WORK/ack.keys" | sed -n '1p;$p' | tr '\n' ' ')" "1 $N "
# What a reader that ignores transactions would see as well: the aborted
# writes (the zombie's open transaction, aborted when the successor took
# its id).
all=$(timeout 60 kcat -C -b "$KAFKA_BOOTSTRAP" -t "$(it_topic ack)" -o beginning -e -q -f '%k\n' | grep -c . || true)
[ "$all" -ge "$N" ] || it_fail "a read_uncommitted reader of $(it_topic ack) sees $all messages, fewer than the $N committed"
it_log "PASS: $N events, $N acks read_committed (read_uncommitted: $all messages, $((all - N)) of them aborted); frozen at $frozen_at acks; zombie fenced"
