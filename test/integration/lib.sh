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
