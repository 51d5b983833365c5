#!/usr/bin/env bash
# test_console_signals.sh - the console's waits end when asked: SIGTERM
# stops it within 3 s (exit 0) while its broker is frozen (SIGSTOP: requests
# accepted, never answered); a second signal stops it at once (130); a
# taken address is one line and
# exit 64; and while the broker is frozen the page still answers at once
# (from the last snapshot). Embedded only: the frozen broker is a process
# of the test's own; the console's Kafka calls are the same on both.
# brokers: embedded
. "$(dirname "$0")/lib.sh"

it_broker
DB=$WORK/genetika.db
# The database's tables, as db_consumer makes them (it is stopped once it
# owns its partitions: there is nothing to consume).
it_start db "$GK_BIN/db_consumer" --db "$DB"
it_wait_assigned db
kill -TERM "$PID_db"
it_wait_exit "$PID_db" 10
it_expect "db_consumer exit status" "$IT_RC" 0

# console_start NAME: a console on a free port; URL_NAME is its address.
console_start() {
  it_start "$1" "$GK_BIN/console" --addr 127.0.0.1:0 --db "$DB" --refresh 0.5 --timeout 30
  local i url=""
  for ((i = 0; i < 100; i++)); do
    url=$(sed -n 's/.*serving \(http:[^ ]*\).*/\1/p' "$WORK/$1.log" | head -n 1)
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || it_fail "$1 did not start: $(cat "$WORK/$1.log")"
  printf -v "URL_$1" '%s' "$url"
  curl -sf -m 5 --retry 20 --retry-delay 1 --retry-all-errors "${url}api/state" >/dev/null ||
    it_fail "$1: no snapshot"
}
# stop_within NAME PID SECONDS WANT: SIGTERM, and the exit status WANT in time.
stop_within() {
  local t0
  t0=$(date +%s%N)
  kill -TERM "$2"
  it_wait_exit "$2" "$3"
  it_expect "$1 exit status" "$IT_RC" "$4"
  it_log "ok: $1 stopped in $((($(date +%s%N) - t0) / 1000000)) ms"
}

# A frozen broker: the console's calls wait on it; the page does not.
console_start c1
kill -STOP "$PID_broker"
sleep 3
t0=$(date +%s%N)
curl -sf -m 2 "${URL_c1}api/state" >"$WORK/state.json" || it_fail "the page does not answer while the broker is frozen"
it_log "ok: /api/state answered in $((($(date +%s%N) - t0) / 1000000)) ms with the broker frozen"
grep -q '"name":"data1","rows":0' "$WORK/state.json" || it_fail "no table counts in the snapshot: $(head -c 300 "$WORK/state.json")"
stop_within "console, broker frozen" "$PID_c1" 3 0
kill -CONT "$PID_broker"

# Two signals: the second one stops it at once.
console_start c2
kill -STOP "$PID_broker"
sleep 1
kill -TERM "$PID_c2"
sleep 0.05 # two signals sent at once are delivered as one
if kill -0 "$PID_c2" 2>/dev/null; then
  kill -TERM "$PID_c2"
  it_wait_exit "$PID_c2" 3
  it_expect "console after a second signal: exit status" "$IT_RC" 130
else
  it_wait_exit "$PID_c2" 3
  it_log "the console stopped on the first signal within 50 ms (exit $IT_RC): no second one to send"
fi
kill -CONT "$PID_broker"

# The address taken: one line, exit 64.
console_start c3
set +e
"$GK_BIN/console" --addr "$(sed 's|http://||; s|/$||' <<<"$URL_c3")" --db "" 2>"$WORK/taken.err"
rc=$?
set -e
it_expect "console on a taken address: exit status" "$rc" 64
it_expect "console on a taken address: lines" "$(grep -c . "$WORK/taken.err")" 1
grep -q "cannot listen on" "$WORK/taken.err" || it_fail "$(cat "$WORK/taken.err")"
stop_within "console c3" "$PID_c3" 3 0
it_log "PASS"
