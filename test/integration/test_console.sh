#!/usr/bin/env bash
# test_console.sh - the console during a run, as a browser shows it (issue
# 17): ./scripts/run.sh --console runs the pipeline, prints its summary and
# keeps the broker and the console up; headless Chromium loads the page (its
# JavaScript fetches the console's API and fills it in) and the numbers in
# the page's DOM must be the summary's: rows per table, acks, dead letters,
# ack delay p50/p99; the latest messages of topic1 show their values and
# headers. A dead letter then written into the database appears on the page
# with its reason, as text (not markup). Ctrl-C (SIGINT to run.sh) stops
# the console and the broker, and run.sh exits 0. Without Chromium the test
# is skipped, saying so. test_console_pg runs it with the database in
# PostgreSQL (GK_TEST_DB=postgresql).
# brokers: embedded kafka
# cost: 41
. "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || it_skip "chromium is not installed (Debian package chromium): the page cannot be driven"
if [ "$GK_TEST_BROKER" = kafka ] && ! command -v "${JAVA_HOME:+$JAVA_HOME/bin/}java" >/dev/null; then
  it_skip "no Java runtime for a real Kafka"
fi
unset KAFKA_BOOTSTRAP # run.sh starts its own broker
OUT=$WORK/out
it_database

# As at a terminal: run.sh leads a process group of its own, with SIGINT
# not ignored (a background job of a script starts with it ignored), and
# Ctrl-C is SIGINT to the whole group.
setsid env --default-signal=INT "$GK_SOURCE/scripts/run.sh" --bin "$GK_BIN" --broker "$GK_TEST_BROKER" --out "$OUT" --timeout 90 \
  --db "$IT_DB" --console --console-addr 127.0.0.1:0 >"$WORK/run.out" 2>"$WORK/run.log" &
RUN_PID=$!
GK_PIDS+=("$RUN_PID")
for ((i = 0; i < 2400; i++)); do
  grep -q "Ctrl-C stops both" "$WORK/run.log" 2>/dev/null && break
  kill -0 "$RUN_PID" 2>/dev/null || it_fail "run.sh exited before serving the console: $(tail -n 3 "$WORK/run.log")"
  sleep 0.1
done
grep -q "Ctrl-C stops both" "$WORK/run.log" || it_fail "run.sh printed no summary within 240 s"
SUMMARY=$(grep '^summary:' "$WORK/run.out")
URL=$(sed -n 's/.*console at \(http:[^ ]*\) with the broker.*/\1/p' "$WORK/run.log")
it_log "$SUMMARY"
it_log "console at $URL"
[[ $URL == http://127.0.0.1:* ]] || it_fail "the console is not on 127.0.0.1: '$URL'"
CHILDREN=$(pgrep -P "$RUN_PID" | tr '\n' ' ')
[ "$(ps -o pgid= -p "$RUN_PID" | tr -d ' ')" = "$RUN_PID" ] || it_fail "run.sh does not lead its process group"
GK_PIDS+=($CHILDREN) # stopped by the cleanup too, should the test fail first

sfield() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$SUMMARY"; }
# dom_field ID: the text of the element with that id in the dumped DOM.
dom_field() { sed -n "s/.*id=\"$1\"[^>]*>\([^<]*\)<.*/\1/p" "$WORK/dom.html" | head -n 1; }
# load: the page as Chromium has it once its scripts ran (virtual time lets
# the polls happen without waiting for them in real time).
load() {
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$WORK/chromium" --virtual-time-budget=8000 --dump-dom "$URL" \
    >"$WORK/dom.html" 2>"$WORK/chromium.err" || it_fail "chromium failed: $(tail -n 2 "$WORK/chromium.err")"
}
# near A B: the page's and the summary's delay agree to 0.01 ms or 1%.
near() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; t = b * 0.01; if (t < 0.01) t = 0.01; exit !(a != "" && d <= t) }'; }

# The page refreshes every 2 s: a few loads until it shows the end of the run.
page=""
for attempt in 1 2 3 4 5 6 7 8; do
  load
  page="data1=$(dom_field rows-data1) data2=$(dom_field rows-data2) data3=$(dom_field rows-data3) acks=$(dom_field acks-distinct) dead_letters=$(dom_field dl-total)"
  p50=$(dom_field p50) p99=$(dom_field p99)
  [ "$page" = "$(cut -d' ' -f3-7 <<<"$SUMMARY")" ] && near "$p50" "$(sfield ack_delay_p50_ms)" &&
    near "$p99" "$(sfield ack_delay_p99_ms)" && grep -q 'sim_file1.xlsx:' "$WORK/dom.html" && break
  it_log "attempt $attempt: page shows $page p50=$p50 p99=$p99"
  sleep 2
done
it_expect "summary" "$(cut -d' ' -f2-7 <<<"$SUMMARY")" "events=50 data1=50 data2=50 data3=50 acks=50 dead_letters=0"
it_expect "page's counts" "$page" "$(cut -d' ' -f3-7 <<<"$SUMMARY")"
near "$p50" "$(sfield ack_delay_p50_ms)" || it_fail "page p50 $p50 ms, summary $(sfield ack_delay_p50_ms) ms"
near "$p99" "$(sfield ack_delay_p99_ms)" || it_fail "page p99 $p99 ms, summary $(sfield ack_delay_p99_ms) ms"
it_log "ok: page p50=$p50 p99=$p99 ms, summary $(sfield ack_delay_p50_ms) / $(sfield ack_delay_p99_ms)"
it_expect "topic1's messages on the page" "$(dom_field messages-topic1)" 50
it_expect "latest messages shown" "$(dom_field messages-note)" "20 newest of topic1 (read_committed)"
grep -q 'gk-produced-us=' "$WORK/dom.html" || it_fail "the messages' headers are not on the page"
grep -q '{"event_id":' "$WORK/dom.html" || it_fail "the messages' values are not on the page"
grep -q 'db_consumer (database)' "$WORK/dom.html" || it_fail "db_consumer's stored offsets are not on the page"
if it_is_pg "$IT_DB"; then
  grep -q 'id="db-name">postgresql: ' "$WORK/dom.html" || it_fail "the page does not say the database is PostgreSQL"
  PASSWORD=$(cut -d: -f5 "$IT_PG_DATA/pgpass")
  ! grep -qF "$PASSWORD" "$WORK/dom.html" "$OUT/logs/console.log" || it_fail "the password shows on the page or in the log"
fi

# A dead letter stored now shows up with its reason, as text.
if it_is_pg "$IT_DB"; then now="now()"; else now="strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"; fi
it_sql "$IT_DB" "INSERT INTO dead_letters (topic, partition, \"offset\", key, value, reason, received_at)
  VALUES ('topic1', 0, 1000000, NULL, NULL, 'test: <b>not JSON</b>', $now)" >/dev/null
for attempt in 1 2 3 4 5; do
  load
  [ "$(dom_field dl-total)" = 1 ] && break
  sleep 2
done
it_expect "dead letters on the page after one was stored" "$(dom_field dl-total)" 1
grep -q 'test: &lt;b&gt;not JSON&lt;/b&gt;' "$WORK/dom.html" ||
  it_fail "the dead letter's reason is not on the page as text"

# Ctrl-C: everything stops, run.sh says the run was complete.
kill -INT -- "-$RUN_PID"
harness_wait_exit "$RUN_PID" 30 || it_fail "run.sh still running 30 s after SIGINT"
it_expect "run.sh exit status after SIGINT" "$HARNESS_RC" 0
for pid in $CHILDREN; do
  kill -0 "$pid" 2>/dev/null && it_fail "process $pid of run.sh ($(cat /proc/"$pid"/comm 2>/dev/null)) still running"
done
curl -s -m 2 "$URL" >/dev/null 2>&1 && it_fail "the console still answers at $URL"
it_log "PASS"
