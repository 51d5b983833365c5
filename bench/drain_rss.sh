#!/usr/bin/env bash
# drain_rss.sh - what a consumer's resident memory is made of: each
# consumer drains the same backlog on a real Kafka under GNU time, once per
# variant of its settings, and its peak RSS, wall time and CPU are printed.
#
#   ./bench/drain_rss.sh [EVENTS] [VARIANT...]
#
# EVENTS (default 1000000) events are generated (bench/lib.sh bench_data,
# seed 42: bench.sh's cache and parts) and sent once by the producer to a
# private Kafka (scripts/kafka.sh, 3 partitions as compose creates them).
# Each VARIANT is "LABEL:PROGRAM[:ARG ARG...]" with PROGRAM db or ack (or
# db=PATH, ack=PATH: that build of the program, to compare two builds); an
# ARG of the form ENV=VALUE is put in the environment (MALLOC_ARENA_MAX=2),
# the others are passed to the program (-X queued.max.messages.kbytes=4096).
# Every variant reads the whole backlog from the start in a group, table
# and cache of its own and ends at its --idle-exit. Default variants: each
# consumer as shipped and with a 4 MiB prefetch.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${GK_BIN:-$ROOT/build/bin}
N=${1:-1000000}
[ $# -eq 0 ] || shift
VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=(db:db
  "db-prefetch-4MiB:db:-X queued.max.messages.kbytes=4096 -X fetch.max.bytes=1048576"
  ack:ack "ack-prefetch-4MiB:ack:-X queued.max.messages.kbytes=4096 -X fetch.max.bytes=1048576")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gk-drain-rss.XXXXXX")
trap '"$ROOT/scripts/kafka.sh" stop --data "$WORK/kafka" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

# The benchmark's data cache and its rule for sets above a sheet's rows.
BENCH_BIN=$BIN BENCH_WORK=$ROOT/bench/work BENCH_SEED=42
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_data "$N" || exit 1
"$ROOT/scripts/kafka.sh" start --data "$WORK/kafka" --fresh --partitions 3 --stop-with $$ \
  >"$WORK/kafka.addr" 2>"$WORK/kafka.log" || { tail -n 3 "$WORK/kafka.log" >&2; exit 1; }
boot=$(head -n 1 "$WORK/kafka.addr")
# shellcheck disable=SC2086 # a list of directories
"$ROOT/bench/produce_parts.sh" "$BIN/producer" -b "$boot" -- ${BENCH_DATA_PARTS:-$BENCH_DATA} \
  >/dev/null 2>"$WORK/producer.log" || { tail -n 3 "$WORK/producer.log" >&2; exit 1; }
echo "drain_rss: $(grep -o 'rows=[0-9]* delivered=[0-9]*' "$WORK/producer.log" | tail -n 1) on Kafka $boot"

i=0
for v in "${VARIANTS[@]}"; do
  i=$((i + 1))
  IFS=: read -r label prog args <<<"$v"
  envs=() opts=()
  for a in $args; do
    if [[ $a == [A-Z_]*=* ]]; then envs+=("$a"); else opts+=("$a"); fi
  done
  case "$prog" in
    db) cmd=("$BIN/db_consumer" --db "$WORK/db$i.sqlite") ;;
    db=*) cmd=("${prog#db=}" --db "$WORK/db$i.sqlite") ;;
    ack) cmd=("$BIN/ack_consumer" --cache "$WORK/cache$i" --ack-topic "ack$i") ;;
    ack=*) cmd=("${prog#ack=}" --cache "$WORK/cache$i" --ack-topic "ack$i") ;;
    *) echo "drain_rss: $v: PROGRAM must be db, ack, db=PATH or ack=PATH" >&2; exit 64 ;;
  esac
  prog=${prog%%=*}
  env "${envs[@]}" /usr/bin/time -f '%M %e %U %S' -o "$WORK/time$i" \
    "${cmd[@]}" -b "$boot" --group "drain$i" --idle-exit 3 "${opts[@]}" >"$WORK/out$i" 2>"$WORK/err$i" &
  tpid=$!
  # What the peak is made of: the process's own memory (RssAnon) and the
  # pages of files it maps (RssFile: LMDB's map, the libraries), sampled.
  anon=0 file=0
  while kill -0 "$tpid" 2>/dev/null; do
    cpid=$(pgrep -P "$tpid" | head -n 1 || true)
    if [ -n "$cpid" ] && [ -r "/proc/$cpid/status" ]; then
      read -r a f < <(awk '/^RssAnon/ { a = $2 } /^RssFile/ { f = $2 } END { print a + 0, f + 0 }' \
        "/proc/$cpid/status" 2>/dev/null || echo "0 0")
      [ "$a" -le "$anon" ] || anon=$a
      [ "$f" -le "$file" ] || file=$f
    fi
    sleep 0.2
  done
  wait "$tpid" || { echo "drain_rss: $label failed: $(grep ERROR "$WORK/err$i" | tail -n 1)" >&2; exit 1; }
  read -r rss wall user sys <"$WORK/time$i"
  done_n=$(grep -h -o 'rows=[0-9]*\|acks=[0-9]*' "$WORK/out$i" "$WORK/err$i" | tail -n 1)
  printf 'drain_rss: %-20s %s peak RSS %.1f MiB (sampled peaks: anonymous %.1f, file-backed %.1f), %s s wall, %s s user, %s s sys\n' \
    "$label" "$done_n" "$(echo "$rss / 1024" | bc -l)" "$(echo "$anon / 1024" | bc -l)" \
    "$(echo "$file / 1024" | bc -l)" "$wall" "$user" "$sys"
  [ "$prog" = ack ] && [ -f "$WORK/cache$i/data.mdb" ] &&
    echo "drain_rss: $label: LMDB $(du -m "$WORK/cache$i/data.mdb" | cut -f1) MiB on disk"
  rm -f "$WORK/db$i.sqlite"*
done
