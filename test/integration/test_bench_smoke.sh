#!/usr/bin/env bash
# test_bench_smoke.sh - bench/bench.sh --quick runs every stage at smoke
# sizes, prints the table and writes JSON naming every stage as ok with a
# number for every figure; and a pre-fill that the broker cannot hold (one
# partition, more than its 5 MiB) makes the db stage fail loudly instead of
# measuring a consumer on half the data.
# brokers: embedded
. "$(dirname "$0")/lib.sh"

BENCH=$GK_SOURCE/bench/bench.sh
# The old place still works: scripts/bench.sh forwards to bench/bench.sh.
grep -q '^Usage: ./bench/bench.sh' <<<"$("$GK_SOURCE/scripts/bench.sh" --help)" || it_fail "scripts/bench.sh does not forward"
start=$(date +%s)
set +e
timeout 240 "$BENCH" --quick --bin "$GK_BIN" --work "$WORK/bench" --out "$WORK/results" \
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
  grep -q "\"stage\": \"$s\", \"status\": \"ok\"" "$JSON" || it_fail "stage $s is not ok in the JSON"
done
for s in producer db_consumer ack_consumer end_to_end latency memory db_consumer_pg day; do
  n=$(grep -c "\"stage\": \"$s\", \"figure\"" "$JSON" || true)
  [ "$n" -ge 1 ] || it_fail "no figure for $s in the JSON"
  grep -q "^$s " "$WORK/table.txt" || it_fail "no line for $s in the printed table"
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
timeout 120 "$BENCH" --quick --stages db --rows 150000 --prefill 150000 --partitions 1 --bin "$GK_BIN" \
  --work "$WORK/bench" --out "$WORK/results-fail" >"$WORK/table-fail.txt" 2>"$WORK/bench-fail.log"
rc=$?
set -e
it_expect "bench.sh exit status with an overfull pre-fill" "$rc" 1
grep -q '"stage": "db", "status": "failed", .*retention' "$WORK/results-fail/latest.json" ||
  it_fail "the failed db stage does not name retention: $(grep '"stage": "db"' "$WORK/results-fail/latest.json")"
grep -q "stage db FAILED" "$WORK/table-fail.txt" || it_fail "the table does not say the db stage failed"
it_log "PASS"
