#!/usr/bin/env bash
# ack_restore.sh - what moving a partition costs ack_consumer --mode
# scalable: the restore rate of a partition's state from its changelog, and
# the changelog's bytes per event.
#
#   ./bench/ack_restore.sh [EVENTS...]     (default: 100000 1000000)
#
# For each size it starts a private real Kafka (scripts/kafka.sh, one
# partition per topic), writes EVENTS changelog records of acked events to
# ack-changelog partition 0 (what a partition holding EVENTS remembered
# events looks like after compaction: one record per event), then starts an
# ack_consumer with an empty cache, which restores the partition before its
# first message, and reads the rate from its log line "restored partition
# 0: N records from changelog offset X to Y in Z ms". The changelog's size
# on disk gives the bytes per event. Prints one line per size.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${GK_BIN:-$ROOT/build/bin}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100000 1000000)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gk-ack-restore.XXXXXX")
trap '"$ROOT/scripts/kafka.sh" stop --data "$WORK/kafka" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

for n in "${SIZES[@]}"; do
  "$ROOT/scripts/kafka.sh" start --data "$WORK/kafka" --fresh --partitions 1 --stop-with $$ \
    >"$WORK/kafka.addr" 2>"$WORK/kafka.log" || { tail -n 3 "$WORK/kafka.log" >&2; exit 1; }
  boot=$(head -n 1 "$WORK/kafka.addr")
  "$BIN/kafka_admin" -b "$boot" --partitions 1 -c cleanup.policy=compact create ack-changelog \
    >/dev/null 2>"$WORK/admin.log" &&
  "$BIN/kafka_admin" -b "$boot" --partitions 1 -c retention.ms=-1 create ack-dead-letters \
    >/dev/null 2>>"$WORK/admin.log" || { cat "$WORK/admin.log" >&2; exit 1; }
  # An acked event's record: version 1, seen 0x07, state ACKED, and its ack
  # time (4 bytes little-endian: 1,000 acks a second) (changelog.h). kcat
  # reads lines split at tabs: a time with a tab or newline byte is moved on.
  /usr/bin/python3 -c '
import struct, sys
n = int(sys.argv[1])
out = sys.stdout.buffer
for i in range(1, n + 1):
    t = 1764640000 + i // 1000
    while b"\t" in struct.pack("<I", t) or b"\n" in struct.pack("<I", t):
        t += 1
    out.write(b"%d\t\x01\x07\x02" % i + struct.pack("<I", t) + b"\n")
' "$n" >"$WORK/records"
  kcat -P -b "$boot" -t ack-changelog -p 0 -K $'\t' -z lz4 -X linger.ms=50 -l "$WORK/records"
  rm -rf "$WORK/cache"
  "$BIN/ack_consumer" -b "$boot" --mode scalable --cache "$WORK/cache" --group bench-restore \
    --transactional-id bench-restore >"$WORK/ack.out" 2>"$WORK/ack.log" &
  pid=$!
  for _ in $(seq 600); do grep -q 'restored partition 0' "$WORK/ack.log" && break; sleep 0.5; done
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || true
  line=$(grep -o 'restored partition 0: .*' "$WORK/ack.log" || echo "no restore line")
  records=$(sed -n 's/^restored partition 0: \([0-9]*\) records.* in \([0-9]*\) ms.*/\1/p' <<<"$line")
  ms=$(sed -n 's/^restored partition 0: \([0-9]*\) records.* in \([0-9]*\) ms.*/\2/p' <<<"$line")
  # The segments' record bytes (not the preallocated index files); the
  # LMDB file's blocks actually allocated.
  bytes=$(stat -c %s "$WORK/kafka/log"/ack-changelog-0/*.log | paste -sd+ | bc)
  cache=$(du -s --block-size=1 "$WORK/cache" | cut -f1)
  printf 'events=%d restored=%s ms=%s events_per_s=%s changelog_bytes=%s bytes_per_event=%.1f lmdb_bytes=%s lmdb_bytes_per_event=%.1f\n' \
    "$n" "${records:-?}" "${ms:-?}" "$([ -n "$ms" ] && [ "$ms" -gt 0 ] && echo $((records * 1000 / ms)) || echo ?)" \
    "$bytes" "$(echo "$bytes / $n" | bc -l)" "$cache" "$(echo "$cache / $n" | bc -l)"
  "$ROOT/scripts/kafka.sh" stop --data "$WORK/kafka" >/dev/null 2>&1 || true
done
