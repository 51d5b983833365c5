#!/usr/bin/env bash
# test_ack_scale_crash.sh - ack_consumer --mode scalable under kills: three
# instances in one group while the stream goes on; one after another they
# are SIGKILLed and restarted on their own cache with their own
# transactional id (init_transactions aborts the dead one's open
# transaction at once, and the static member takes its own place back).
# Afterwards a read_committed reader of `ack` sees exactly one ack per event,
# and each ack names, for every topic, a message the ack_consumer had read:
# its offsets are those of the event's three messages. Only a real Kafka
# fences and hides aborted transactions, so only it can show this.
# brokers: kafka
# cost: 57
. "$(dirname "$0")/lib.sh"

N=$(it_scale 4000 20000)
KILLS=$(it_scale 6 12)
RATE=$(it_scale 100 250) # events/s per file: 40 s / 80 s of stream
PARTS=6
"$GK_BIN/datagen" --rows "$N" --seed 14 --out "$WORK/data" 2>"$WORK/datagen.log" || it_fail "datagen failed"
it_broker --partitions "$PARTS"
it_scale_topics "$PARTS"

ACK=("$GK_BIN/ack_consumer" --mode scalable --group crash-test --batch 500
     -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000)
acks() { it_ack_keys | grep -c . || true; }
declare -A RUN # instance -> its current log name
start() { RUN[$1]="$1$2"; it_start "$1$2" "${ACK[@]}" --transactional-id "crash-$1" --cache "$WORK/cache-$1"; }

for i in a b c; do start $i 0; done
it_wait_assigned a0 b0 c0
it_start producer "$GK_BIN/producer" --rate "$RATE" "$WORK"/data/sim_file{1,2,3}.xlsx
sleep 3
kills=0
names=(a b c)
while [ $kills -lt "$KILLS" ] && kill -0 "$PID_producer" 2>/dev/null; do
  i=${names[$((kills % 3))]}
  run=${RUN[$i]}
  eval "pid=\$PID_$run"
  kill -KILL "$pid"
  kills=$((kills + 1))
  it_log "kill $kills: $i SIGKILLed at $(acks) acks"
  sleep 0.5
  start "$i" "$kills"
  harness_wait_assigned "$WORK/${RUN[$i]}.log" "$(eval echo "\$PID_${RUN[$i]}")" 60 ||
    it_fail "$i after kill $kills: $HARNESS_ERROR"
  sleep 2
done
it_wait_exit "$PID_producer" 300
it_expect "producer exit status" "$IT_RC" 0
[ $kills -ge "$KILLS" ] || it_fail "only $kills of $KILLS kills happened before the stream ended: lower the rate"
for _ in $(seq 900); do [ "$(acks)" -ge "$N" ] && break; sleep 0.2; done
sleep 2
for i in a b c; do eval "kill -TERM \$PID_${RUN[$i]}"; done
for i in a b c; do
  eval "pid=\$PID_${RUN[$i]}"
  it_wait_exit "$pid" 30
  it_expect "$i exit status" "$IT_RC" 0
done
it_ack_keys >"$WORK/ack.keys"
it_expect "acks seen by a read_committed reader" "$(grep -c . "$WORK/ack.keys")" "$N"
it_expect "distinct acked events" "$(sort -u "$WORK/ack.keys" | grep -c .)" "$N"
it_expect "acked events are 1..$N" "$(sort -n "$WORK/ack.keys" | sed -n '1p;$p' | tr '\n' ' ')" "1 $N "

# Each ack only after its third topic message: the ack names each topic's
# message of the event (partition, offset), and that message must carry
# the event's id.
timeout 60 kcat -C -b "$KAFKA_BOOTSTRAP" -t ack -o beginning -e -q -X isolation.level=read_committed \
  -f '%s\n' 2>/dev/null >"$WORK/ack.values"
for t in topic1 topic2 topic3; do
  timeout 60 kcat -C -b "$KAFKA_BOOTSTRAP" -t "$t" -o beginning -e -q -f "%t %p %o %k\n" 2>/dev/null
done >"$WORK/topics.idx"
bad=$(/usr/bin/python3 - "$WORK/ack.values" "$WORK/topics.idx" <<'PY'
import json, sys
idx = set()
for line in open(sys.argv[2]):
    t, p, o, k = line.split()
    idx.add((t, k, int(p), int(o)))
bad = 0
for line in open(sys.argv[1]):
    a = json.loads(line)
    key = str(a["event_id"])
    for name in ("topic1", "topic2", "topic3"):
        m = a["topics"][name]
        if (name, key, m["partition"], m["offset"]) not in idx:
            bad += 1
print(bad)
PY
)
it_expect "acks naming a topic message that is not their event's" "$bad" 0
restarts=$(ls "$WORK"/[abc][0-9]*.log | wc -l)
restored=$(cat "$WORK"/[abc]*.log | grep -c 'restored partition' || true)
it_log "PASS: $N events, $kills SIGKILLs over 3 instances ($restarts runs, $restored partition restores), $N acks read_committed, $N distinct"
