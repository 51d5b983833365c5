#!/usr/bin/env bash
# test_run_sh.sh - ./scripts/run.sh judges the events of its own run: after
# a bigger run (--rows 80) kept its database, a plain run of the 50 sample
# events ends with a summary of those 50 and exit 0, not "incomplete"
# against the 80 rows kept (issue 12 item 4), and produces only after its
# own consumers were assigned their partitions. run.sh starts its own broker.
# brokers: embedded kafka
# cost: 37
. "$(dirname "$0")/lib.sh"

if [ "$GK_TEST_BROKER" = kafka ] && ! command -v "${JAVA_HOME:+$JAVA_HOME/bin/}java" >/dev/null; then
  it_skip "no Java runtime for a real Kafka"
fi
# run.sh must start its own broker, not use one named by the caller's environment.
unset KAFKA_BOOTSTRAP

OUT=$WORK/out
# run_sh N ARGS...: run.sh on the test's build (GK_BIN: no build), into $OUT;
# its summary line in $WORK/runN.out, its messages in $WORK/runN.log.
run_sh() {
  local n=$1
  shift
  IT_RC=0
  "$GK_SOURCE/scripts/run.sh" --bin "$GK_BIN" --broker "$GK_TEST_BROKER" --out "$OUT" --timeout 90 "$@" \
    >"$WORK/run$n.out" 2>"$WORK/run$n.log" || IT_RC=$?
  it_log "run $n ($*): exit $IT_RC: $(cat "$WORK/run$n.out")"
}

run_sh 1 --rows 80
it_expect "run 1 exit status" "$IT_RC" 0
it_expect "run 1 summary" "$(cut -d' ' -f1-7 "$WORK/run1.out")" \
  "summary: events=80 data1=80 data2=80 data3=80 acks=80 dead_letters=0"

run_sh 2
it_expect "run 2 exit status" "$IT_RC" 0
it_expect "run 2 summary" "$(cut -d' ' -f1-7 "$WORK/run2.out")" \
  "summary: events=50 data1=50 data2=50 data3=50 acks=50 dead_letters=0"
# The database really was kept: the judgement left the other rows out.
it_expect "rows kept in data1" "$(it_sql "$OUT/genetika.db" "SELECT count(*) FROM data1")" 80
# run.sh produces only once both consumers own their partitions, so that the
# ack delay it reports is live streaming: the first message of run 2 comes
# after run 2's assignments (the logs of run 1, still in place when run 2
# started its consumers, once let it produce at once).
for svc in db_consumer ack_consumer; do
  line=$(grep -m1 "assigned [1-9][0-9]* partition" "$OUT/logs/$svc.log") ||
    it_fail "run 2: no assignment in $svc's log"
  assigned_us=$(date -u -d "${line%% *}" +%s%6N)
  first_us=$(tail -n +2 "$OUT/ack_delay.csv" | cut -d, -f2-4 | tr , '\n' | sort -n | sed -n 1p)
  [ "$first_us" -ge "$assigned_us" ] ||
    it_fail "run 2 produced at ${first_us} us, before $svc was assigned its partitions at ${assigned_us} us (${line%% *})"
  it_log "ok: run 2 produced $(((first_us - assigned_us) / 1000)) ms after $svc's assignment"
done
it_log "PASS"
