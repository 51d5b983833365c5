#!/usr/bin/env bash
# test_bench_smoke.sh - bench/bench.sh --quick at smoke sizes, on each broker.
# embedded: every stage runs, prints the table and writes JSON naming every
# stage as ok with a number for every figure and the broker of every row;
# and a pre-fill that the broker cannot hold (one partition, more than its
# 5 MiB) makes the db stage fail loudly instead of measuring a consumer on
# half the data.
# kafka: the real-broker pass's own machinery, kept short (CI is near its
# limit): bench.sh --broker kafka starts its own Kafka and stops it at the
# end, runs the growth stage (a fresh pipeline run, its table, JSON and
# chart) and the latency stage in ack_consumer's scalable mode (what only
# the real Kafka runs), and judges the targets, into its dated JSON only
# (latest.json is for runs of every stage); the stages the embedded
# variant covers run the same code on either broker. One partition per
# topic: a consumer's idle exit confirms each partition's end in turn.
# brokers: embedded kafka
# cost: 110
. "$(dirname "$0")/lib.sh"

BENCH=$GK_SOURCE/bench/bench.sh
# The old place still works: scripts/bench.sh forwards to bench/bench.sh.
grep -q '^Usage: ./bench/bench.sh' <<<"$("$GK_SOURCE/scripts/bench.sh" --help)" || it_fail "scripts/bench.sh does not forward"
if [ "$GK_TEST_BROKER" = kafka ]; then
  command -v "${JAVA_HOME:+$JAVA_HOME/bin/}java" >/dev/null || it_skip "no Java runtime for a real Kafka"
  start=$(date +%s)
  set +e
  timeout 240 "$BENCH" --quick --broker kafka --kafka-partitions 1 --stages growth,latency --growth-sizes 1000 \
    --latency-modes scalable --bin "$GK_BIN" --work "$WORK/bench" --out "$WORK/results" \
    >"$WORK/table.txt" 2>"$WORK/bench.log"
  rc=$?
  set -e
  it_log "bench.sh --quick --broker kafka (growth, latency) took $(($(date +%s) - start))s"
  [ "$rc" = 0 ] || { tail -n 30 "$WORK/bench.log" >&2; cat "$WORK/table.txt" >&2; it_fail "bench.sh exited $rc"; }
  # Some stages only: the dated JSON, and latest.json (the last run of every
  # stage, which the README quotes) left alone.
  [ ! -e "$WORK/results/latest.json" ] || it_fail "a run of two stages wrote latest.json"
  JSON=$(ls "$WORK/results/"*-*.json 2>/dev/null | head -n 1)
  [ -s "$JSON" ] || it_fail "no dated JSON in $WORK/results"
  if command -v jq >/dev/null; then jq -e . "$JSON" >/dev/null || it_fail "$JSON is not valid JSON"; fi
  for s in growth latency; do
    grep -q "\"stage\": \"$s\", \"broker\": \"kafka\", \"status\": \"ok\"" "$JSON" ||
      it_fail "stage $s is not ok on kafka in the JSON"
  done
  grep -q '"stage": "latency", "broker": "kafka", "figure": "ack delay p50 at 1000 events/s, scalable mode' "$JSON" ||
    it_fail "no scalable-mode latency row on kafka"
  grep -q '"stage": "targets", "broker": "kafka", "figure": "ack delay p99 at 1000 events/s, scalable mode", .*"target": "<=5", "verdict": "\(met\|MISSED\)"' "$JSON" ||
    it_fail "no judged ack-delay target on kafka"
  grep -q '"broker": "kafka", "events": 1000, "events_per_s": [0-9]' "$JSON" || it_fail "no growth row in the JSON"
  grep -q '^kafka  *1,000  *[0-9]' "$WORK/table.txt" || it_fail "no growth row in the printed table"
  ! grep -q '"value": null' "$JSON" || it_fail "a figure has no value: $(grep '"value": null' "$JSON" | head -n 1)"
  [ -s "$WORK/results/growth.png" ] || it_fail "no growth chart"
  [ "$(head -c 4 "$WORK/results/growth.png" | od -An -c | tr -d ' ')" = '211PNG' ] || it_fail "growth.png is not a PNG"
  # Its Kafka stopped with it: no JVM is left on the run's data directory.
  ! pgrep -f "kafka.Kafka $WORK/bench/runs/" >/dev/null || it_fail "bench.sh left its Kafka running"
  it_log "PASS"
  exit 0
fi

start=$(date +%s)
set +e
timeout 240 "$BENCH" --quick --broker embedded --bin "$GK_BIN" --work "$WORK/bench" --out "$WORK/results" \
  >"$WORK/table.txt" 2>"$WORK/bench.log"
rc=$?
set -e
elapsed=$(($(date +%s) - start))
it_log "bench.sh --quick took ${elapsed}s (design budget: 60 s on an idle machine, plus about 20 s for the PostgreSQL stage)"
[ "$rc" = 0 ] || { tail -n 30 "$WORK/bench.log" >&2; cat "$WORK/table.txt" >&2; it_fail "bench.sh --quick exited $rc"; }

JSON=$WORK/results/latest.json
[ -s "$JSON" ] || it_fail "no $JSON"
ls "$WORK/results/"*-*.json >/dev/null 2>&1 || it_fail "no dated JSON next to latest.json"
if command -v jq >/dev/null; then
  jq -e . "$JSON" >/dev/null || it_fail "latest.json is not valid JSON"
fi
for s in producer db ack e2e latency memory pg day; do
  grep -q "\"stage\": \"$s\", \"broker\": \"embedded\", \"status\": \"ok\"" "$JSON" ||
    it_fail "stage $s is not ok in the JSON"
done
# growth runs on the real Kafka only, and says so.
grep -q '"stage": "growth", "broker": "embedded", "status": "skipped", .*real Kafka only' "$JSON" ||
  it_fail "the growth stage is not reported as skipped on the embedded broker"
for s in producer db_consumer ack_consumer end_to_end latency memory db_consumer_pg day targets; do
  n=$(grep -c "\"stage\": \"$s\", \"broker\": \"embedded\", \"figure\"" "$JSON" || true)
  [ "$n" -ge 1 ] || it_fail "no figure for $s in the JSON"
  grep -q "^$s  *embedded " "$WORK/table.txt" || it_fail "no line for $s in the printed table"
done
! grep -q '"value": null' "$JSON" || it_fail "a figure has no value: $(grep '"value": null' "$JSON" | head -n 1)"
grep -q '"limit_what": "kcat -P, same values"' "$JSON" || it_fail "the producer's kcat -P limit is missing"
grep -q '"limit_what": "sqlite3 .import, same rows"' "$JSON" || it_fail "the sqlite3 .import limit is missing"
grep -q '"limit_what": "psql COPY, same rows"' "$JSON" || it_fail "the psql COPY limit is missing"
grep -q "\"figure\": \"CPU us per event at kcat's cost" "$JSON" || it_fail "the end-to-end kcat floor is missing"
it_log "ok: every stage in the table and the JSON"

# The loud failure: 150,000 events in one partition exceed its 5 MiB (about
# 80,000 lz4-compressed messages fit).
set +e
timeout 120 "$BENCH" --quick --broker embedded --stages db --rows 150000 --prefill 150000 --partitions 1 --bin "$GK_BIN" \
  --work "$WORK/bench" --out "$WORK/results-fail" >"$WORK/table-fail.txt" 2>"$WORK/bench-fail.log"
rc=$?
set -e
it_expect "bench.sh exit status with an overfull pre-fill" "$rc" 1
FJSON=$(ls "$WORK/results-fail/"*-*.json 2>/dev/null | head -n 1)
grep -q '"stage": "db", "broker": "embedded", "status": "failed", .*retention' "$FJSON" ||
  it_fail "the failed db stage does not name retention: $(grep '"stage": "db"' "$FJSON")"
grep -q "stage db (embedded) FAILED" "$WORK/table-fail.txt" || it_fail "the table does not say the db stage failed"
it_log "PASS"
