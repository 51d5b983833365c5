#!/usr/bin/env bash
# ack_modes.sh - ack delay of ack_consumer's two modes on a real Kafka, at a
# paced rate: single (LMDB + reconciliation, --sync full, idempotent acks),
# single with --transactional-id, and scalable (one instance; changelog and
# acks in one Kafka transaction per batch).
#
#   ./bench/ack_modes.sh [RATE [SECONDS]]     (default: 1000 events/s, 30 s)
#
# Each mode gets a fresh private Kafka (scripts/kafka.sh, 3 partitions) and
# RATE x SECONDS events; ack_delay (read_committed) then reports p50/p99 of
# ack time - latest topic time and checks one ack per event. Prints one line
# per mode. Numbers from a shared machine are indicative only.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${GK_BIN:-$ROOT/build/bin}
RATE=${1:-1000}
SECS=${2:-30}
N=$((RATE * SECS))
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gk-ack-modes.XXXXXX")
trap '"$ROOT/scripts/kafka.sh" stop --data "$WORK/kafka" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
"$BIN/datagen" --rows "$N" --seed 3 --out "$WORK/data" 2>"$WORK/datagen.log"

run() {
  local mode=$1; shift
  "$ROOT/scripts/kafka.sh" start --data "$WORK/kafka" --fresh --partitions 3 --stop-with $$ \
    >"$WORK/kafka.addr" 2>"$WORK/kafka.log" || { tail -n 3 "$WORK/kafka.log" >&2; exit 1; }
  local boot
  boot=$(head -n 1 "$WORK/kafka.addr")
  "$BIN/kafka_admin" -b "$boot" --partitions 3 -c cleanup.policy=compact create ack-changelog \
    >/dev/null 2>"$WORK/admin.log" &&
  "$BIN/kafka_admin" -b "$boot" --partitions 3 -c retention.ms=-1 create ack-dead-letters \
    >/dev/null 2>>"$WORK/admin.log"
  rm -rf "$WORK/cache"
  "$BIN/ack_consumer" -b "$boot" --cache "$WORK/cache" "$@" >"$WORK/ack.out" 2>"$WORK/ack.log" &
  local pid=$!
  for _ in $(seq 300); do grep -q 'assigned [1-9]' "$WORK/ack.log" && break; sleep 0.1; done
  "$BIN/producer" -b "$boot" --rate "$RATE" --arrivals constant "$WORK"/data/sim_file{1,2,3}.xlsx \
    >"$WORK/producer.out" 2>"$WORK/producer.log"
  # ack_delay judges what the ack topic holds when it reads it: let the
  # ack_consumer catch up first (bounded).
  for _ in $(seq 240); do
    [ "$(timeout 60 kcat -C -b "$boot" -t ack -o beginning -e -q -X isolation.level=read_committed \
      -f '%k\n' 2>/dev/null | grep -c .)" -ge "$N" ] && break
    sleep 0.5
  done
  "$BIN/ack_delay" -b "$boot" --expect "$N" --csv "" --plots "" --timeout 600 \
    >"$WORK/delay.out" 2>"$WORK/delay.log" || { echo "$mode: ack_delay failed: $(tail -n 2 "$WORK/delay.log")" >&2; }
  kill -TERM "$pid"; wait "$pid" || true
  printf '%s rate=%s events=%s %s\n' "$mode" "$RATE" "$N" \
    "$(cat "$WORK/delay.out" "$WORK/delay.log" | grep -o 'p50_ms=[^ ]*\|p99_ms=[^ ]*' | head -n 2 | tr '\n' ' ')"
  "$ROOT/scripts/kafka.sh" stop --data "$WORK/kafka" >/dev/null 2>&1 || true
}

run single --sync full
run single-transactional --sync full --transactional-id bench-single
run scalable --mode scalable --transactional-id bench-scalable
