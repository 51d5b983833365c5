#!/usr/bin/env bash
# produce_parts.sh PRODUCER [ARGS...] -- DIR... - a data set larger than a
# sheet (bench/lib.sh bench_data) sent part after part: PRODUCER ARGS
# DIR/sim_file{1,2,3}.xlsx for each DIR in turn. Stops at the first producer
# that fails, with its exit status; a signal goes to the running producer
# (it flushes what it read) and ends the loop.
set -u
producer=$1; shift
args=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
[ "${1:-}" = -- ] && [ $# -ge 2 ] || { echo "usage: produce_parts.sh PRODUCER [ARGS...] -- DIR..." >&2; exit 64; }
shift
pid=
trap '[ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null; stop=1' INT TERM
stop=0
for dir in "$@"; do
  "$producer" "${args[@]}" "$dir/sim_file1.xlsx" "$dir/sim_file2.xlsx" "$dir/sim_file3.xlsx" &
  pid=$!
  rc=0
  wait "$pid" || rc=$?
  # a trapped signal interrupts wait: wait again for the producer's own end
  while kill -0 "$pid" 2>/dev/null; do wait "$pid" || rc=$?; done
  pid=
  [ "$rc" = 0 ] || exit "$rc"
  [ "$stop" = 0 ] || exit 0
done
