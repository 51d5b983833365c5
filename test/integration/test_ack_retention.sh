#!/usr/bin/env bash
# test_ack_retention.sh - ack_consumer --ack-retention: an acked event is
# remembered for the horizon and forgotten after it.
#   1. 20 events are acked; a replay of them within the horizon adds no ack;
#   2. past the horizon, one new event's transaction forgets the 20 (the
#      cache, read while the consumer runs, holds none of them any more);
#   3. a replay of them now acks each of them again (the consequence the
#      option's help states), exactly once more.
# Single mode on both brokers; on Kafka the scalable mode runs beside it (its
# own group and ack topic) and its changelog must hold a tombstone for each
# forgotten event; it is then restarted on an empty cache, and the restore
# from the changelog must forget them too. A marker event produced after each replay says when the
# replay has been consumed: one partition, and its three messages come
# after the replay's in each topic.
# brokers: embedded kafka
# cost: 20
# kafka: shared
. "$(dirname "$0")/lib.sh"

N=20
H=8 # the horizon, seconds
it_broker --partitions 1
MODES=(single)
if [ "$GK_TEST_BROKER" = kafka ]; then
  MODES+=(scalable)
  it_scale_topics 1
  "$GK_BIN/kafka_admin" -b "$KAFKA_BOOTSTRAP" --partitions 1 create "$(it_topic ack-scalable)" \
    >>"$WORK/admin.log" 2>&1 || it_fail "cannot create the scalable ack topic: $(tail -n 1 "$WORK/admin.log")"
fi
ack_topic() { if [ "$1" = single ]; then it_topic ack; else it_topic ack-scalable; fi; }
# mode_cache MODE : the LMDB environment the mode keeps partition 0's state in.
SCALABLE_CACHE=$WORK/cache-scalable
mode_cache() { if [ "$1" = single ]; then echo "$WORK/cache-single"; else echo "$SCALABLE_CACHE/p0"; fi; }
start() {
  local cache=$WORK/cache-$1
  [ "$1" = single ] || cache=$SCALABLE_CACHE
  it_start "$1" "$GK_BIN/ack_consumer" --mode "$1" --ack-retention "$H" --batch 100 \
    --group "${GK_TOPIC_PREFIX:-}retention-$1" --ack-topic "$(ack_topic "$1")" \
    --cache "$cache" --transactional-id "${GK_TOPIC_PREFIX:-}retention-$1"
}

for m in "${MODES[@]}"; do start "$m"; done
for m in "${MODES[@]}"; do it_wait_assigned "$m"; done

# events FROM TO : events FROM..TO on all three topics.
events() {
  local t i
  for t in 1 2 3; do
    for ((i = $1; i <= $2; i++)); do it_event "$t" "$i"; done |
      timeout 30 kcat -P -b "$KAFKA_BOOTSTRAP" -t "$(it_topic "topic$t")" -p 0 -K $'\t' \
        -X message.timeout.ms=20000 2>>"$WORK/kcat.log" || it_fail "cannot produce to topic$t"
  done
}
# acks MODE : the keys on MODE's ack topic (read_committed).
acks() { it_keys "$(ack_topic "$1")"; }
# wait_acked ID : until every mode has acked event ID (30 s).
wait_acked() {
  local m
  for m in "${MODES[@]}"; do
    for _ in $(seq 150); do acks "$m" | grep -qx "$1" && break; sleep 0.2; done
    acks "$m" | grep -qx "$1" || it_fail "$m: event $1 not acked within 30 s"
  done
}
# cache_count MODE FIELD : field 1 or 2 of "N events remembered, M pending"
# in the dump's summary line of the mode's cache (a read-only look while the
# consumer runs).
cache_count() {
  "$GK_BIN/ack_consumer" --dump-dead-letters --cache "$(mode_cache "$1")" 2>&1 >/dev/null |
    sed -n 's/.*cache [^:]*: \([0-9]*\) events remembered, \([0-9]*\) pending.*/\1 \2/p' | cut -d' ' -f"$2"
}
# remembered MODE : the events the mode's cache holds now.
remembered() { cache_count "$1" 1; }
# pending MODE : the events whose ack was sent but whose confirmation the
# cache has not recorded yet. An event's ack time is when the confirmation is
# recorded, not when the ack shows on the topic: on a loaded machine that is
# seconds later, and the horizon counts from it.
pending() { cache_count "$1" 2; }

events 1 "$N"
for m in "${MODES[@]}"; do
  for _ in $(seq 150); do [ "$(acks "$m" | grep -c .)" -ge "$N" ] && break; sleep 0.2; done
done
for m in "${MODES[@]}"; do
  for _ in $(seq 150); do [ "$(pending "$m")" = 0 ] && break; sleep 0.2; done
  it_expect "$m: acks of the first run recorded as confirmed (pending)" "$(pending "$m")" 0
done
t_acked=$SECONDS
for m in "${MODES[@]}"; do it_expect "$m: acks of the first run" "$(acks "$m" | sort -u | grep -c .)" "$N"; done

# 1. Within the horizon: the replay is remembered.
events 1 "$N"
events 1001 1001
wait_acked 1001
within=$((SECONDS - t_acked))
[ "$within" -lt "$H" ] || it_fail "the replay took $within s, not within the horizon of $H s: raise H"
for m in "${MODES[@]}"; do
  it_expect "$m: acks after a replay within the horizon ($within s)" "$(acks "$m" | grep -c .)" $((N + 1))
  it_expect "$m: events remembered" "$(remembered "$m")" $((N + 1))
done

# 2. Past the horizon: the next transaction forgets them.
sleep $((t_acked + H + 1 - SECONDS))
events 1002 1002
wait_acked 1002
for m in "${MODES[@]}"; do
  # 1001 was acked within a second or two of the others: it may be gone too.
  left=$(remembered "$m")
  [ "$left" -ge 1 ] && [ "$left" -le 2 ] || it_fail "$m: $left events remembered past the horizon, want 1002 (and maybe 1001) only"
  it_log "ok: $m: $left events remembered past the horizon (of $((N + 2)))"
done
if [ "$GK_TEST_BROKER" = kafka ]; then
  timeout 60 kcat -C -b "$KAFKA_BOOTSTRAP" -t "$(it_topic ack-changelog)" -o beginning -e -q \
    -X isolation.level=read_committed -f '%k %S\n' >"$WORK/changelog" 2>>"$WORK/kcat.log"
  tomb=$(awk '$2 == -1 && $1 >= 1 && $1 <= '"$N"' { print $1 }' "$WORK/changelog" | sort -u | grep -c . || true)
  it_expect "scalable: changelog tombstones of events 1..$N" "$tomb" "$N"
  # The partition moves to a new instance with an empty cache (same id: it
  # takes the place at once): restored from the changelog, it forgets them.
  before=$(remembered scalable)
  kill -TERM "$PID_scalable"
  it_wait_exit "$PID_scalable" 30
  it_expect "scalable exit status" "$IT_RC" 0
  mv "$WORK/scalable.log" "$WORK/scalable-1.log"
  SCALABLE_CACHE=$WORK/cache-scalable-2
  start scalable
  it_wait_assigned scalable
  for _ in $(seq 300); do grep -q 'restored partition 0' "$WORK/scalable.log" && break; sleep 0.1; done
  it_log "$(grep -o 'restored partition 0.*' "$WORK/scalable.log" || echo "no restore logged")"
  it_expect "scalable: events remembered after a restore on an empty cache" "$(remembered scalable)" "$before"
fi

# 3. After the horizon: a replay is acked again, once.
events 1 "$N"
events 1003 1003
wait_acked 1003
sleep 1 # a duplicate, if any, would come now
for m in "${MODES[@]}"; do
  acks "$m" >"$WORK/$m.keys"
  it_expect "$m: acks after a replay past the horizon" "$(grep -c . "$WORK/$m.keys")" $((2 * N + 3))
  it_expect "$m: events acked twice" "$(sort -n "$WORK/$m.keys" | uniq -d | tr '\n' ' ')" "$(seq -s ' ' 1 "$N") "
done

for m in "${MODES[@]}"; do eval "kill -TERM \$PID_$m"; done
for m in "${MODES[@]}"; do
  eval "it_wait_exit \$PID_$m 30"
  it_expect "$m exit status" "$IT_RC" 0
  expired=$(cat "$WORK/$m"*.log | sed -n 's/^ack_consumer: .*expired=\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s}')
  [ -n "$expired" ] && [ "$expired" -ge "$N" ] || it_fail "$m: expired=$expired in its summary, want at least $N"
  it_log "ok: $m: expired=$expired"
done
it_log "PASS: horizon $H s: a replay within it (${within} s) acked nothing, one after it acked the $N events again; ${MODES[*]}"
