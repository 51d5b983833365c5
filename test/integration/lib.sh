# lib.sh - shared helpers for the end-to-end tests (sourced, not run).
#
# Every test gets its own work directory and embedded broker on 127.0.0.1;
# an EXIT trap stops every process the test started, whatever happens.
set -euo pipefail

GK_BIN=${GK_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/bin}
GK_SOURCE=${GK_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gk-test.XXXXXX")
GK_PIDS=()

it_log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }
it_fail() { it_log "FAIL: $*"; exit 1; }

it_cleanup() {
  local rc=$?
  for pid in "${GK_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${GK_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ]; then
    it_log "work directory kept for inspection: $WORK"
    for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f (tail)"; tail -n 30 "$f"; } >&2; done
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap it_cleanup EXIT

# it_start NAME CMD... : starts CMD in the background, logging to $WORK/NAME.log;
# the pid is remembered for cleanup and stored in the variable PID_<NAME>.
it_start() {
  local name=$1; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  local pid=$!
  GK_PIDS+=("$pid")
  printf -v "PID_$name" '%s' "$pid"
}

# it_broker [ARGS...] : starts the embedded broker and sets KAFKA_BOOTSTRAP.
it_broker() {
  "$GK_BIN/broker" --address-file "$WORK/broker.addr" "$@" >"$WORK/broker.out" 2>"$WORK/broker.log" &
  PID_broker=$!
  GK_PIDS+=("$PID_broker")
  for _ in $(seq 100); do
    [ -s "$WORK/broker.addr" ] && break
    kill -0 "$PID_broker" 2>/dev/null || it_fail "broker exited: $(cat "$WORK/broker.log")"
    sleep 0.1
  done
  [ -s "$WORK/broker.addr" ] || it_fail "broker did not report its address"
  KAFKA_BOOTSTRAP=$(head -n1 "$WORK/broker.addr")
  export KAFKA_BOOTSTRAP
  it_log "embedded broker at $KAFKA_BOOTSTRAP"
}

# it_wait_exit PID SECONDS : waits for PID to exit; fails after SECONDS.
# Sets IT_RC to its exit status.
it_wait_exit() {
  local pid=$1 limit=$2 waited=0
  while kill -0 "$pid" 2>/dev/null; do
    [ "$waited" -ge $((limit * 10)) ] && it_fail "process $pid still running after ${limit}s"
    sleep 0.1; waited=$((waited + 1))
  done
  IT_RC=0; wait "$pid" || IT_RC=$?
}

# it_sql DB SQL : runs a query with sqlite3 and prints the result.
it_sql() { sqlite3 -batch -noheader "$1" "$2"; }

# it_expect NAME GOT WANT : fails unless GOT equals WANT.
it_expect() {
  [ "$2" = "$3" ] || it_fail "$1: got '$2', want '$3'"
  it_log "ok: $1 = $2"
}

# it_scale SHORT FULL : picks the short or full size of a long test
# (GK_TEST_SCALE=short in CI by default, full for a thorough local run).
it_scale() { if [ "${GK_TEST_SCALE:-short}" = full ]; then echo "$2"; else echo "$1"; fi; }

# it_ack_keys : prints the keys of every message on the ack topic.
it_ack_keys() { kcat -C -b "$KAFKA_BOOTSTRAP" -t ack -e -q -f '%k\n' 2>>"$WORK/kcat.log"; }

# it_check_exact N DB : every table holds exactly the event ids 1..N once,
# and the ack topic exactly N messages with N distinct event ids.
it_check_exact() {
  local n=$1 db=$2 t
  for t in data1 data2 data3; do
    it_expect "$t rows" "$(it_sql "$db" "SELECT count(*) FROM $t")" "$n"
    it_expect "$t ids 1..$n" "$(it_sql "$db" "SELECT count(DISTINCT event_id) FROM $t WHERE event_id BETWEEN 1 AND $n")" "$n"
  done
  it_expect "dead letters" "$(it_sql "$db" "SELECT count(*) FROM dead_letters")" 0
  it_ack_keys >"$WORK/ack.keys"
  it_expect "ack messages" "$(wc -l <"$WORK/ack.keys")" "$n"
  it_expect "distinct acked ids" "$(sort -u "$WORK/ack.keys" | wc -l)" "$n"
}

# it_wait_assigned NAME... : waits (up to 30 s) until each named service's log
# says it owns partitions, so that what is produced next is consumed live.
it_wait_assigned() {
  local name pid
  for name in "$@"; do
    eval "pid=\$PID_$name"
    for _ in $(seq 300); do
      grep -q "assigned [1-9][0-9]* partition" "$WORK/$name.log" 2>/dev/null && break
      kill -0 "$pid" 2>/dev/null || it_fail "$name exited before it was assigned partitions"
      sleep 0.1
    done
    grep -q "assigned [1-9][0-9]* partition" "$WORK/$name.log" || it_fail "$name got no partitions within 30s"
  done
}
