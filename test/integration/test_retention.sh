#!/usr/bin/env bash
# test_retention.sh - retention that really deletes. topic1..3 have a small
# retention.bytes and segment.bytes; both consumers process a first run and
# stop; more data then pushes the segments holding their positions out of
# the log. Restarted, each must exit 76 naming topic, partition and the very
# offset it stored - never skip to what is left. Only a real Kafka deletes
# by size like this (the embedded broker's 5 MiB window is tested by the
# bench smoke test).
# brokers: kafka
# cost: 38
. "$(dirname "$0")/lib.sh"

SEGMENT=1048576 # the smallest segment Kafka 4.1 accepts (1 MiB)
# Retention is checked every second instead of every 5 minutes.
it_broker --partitions 1 --topics "" --set log.retention.check.interval.ms=1000
"$GK_BIN/kafka_admin" --partitions 1 -c retention.bytes=$SEGMENT -c segment.bytes=$SEGMENT \
  create topic1 topic2 topic3 ack >"$WORK/create.out" 2>"$WORK/admin.log" || it_fail "kafka_admin create: $(cat "$WORK/admin.log")"
"$GK_BIN/kafka_admin" describe topic1 topic2 topic3 ack >"$WORK/describe.out" 2>>"$WORK/admin.log" ||
  it_fail "kafka_admin describe: $(cat "$WORK/admin.log")"
for t in topic1 topic2 topic3 ack; do
  grep -q "^$t partitions=1 .*retention.bytes=$SEGMENT" "$WORK/describe.out" ||
    it_fail "$t lacks retention.bytes=$SEGMENT: $(cat "$WORK/describe.out")"
done
it_log "ok: topics with retention.bytes=segment.bytes=$SEGMENT: $(tr '\n' ';' <"$WORK/describe.out")"

# First run: the 50 sample events, consumed by both, which then stop.
it_start db "$GK_BIN/db_consumer" --db "$WORK/genetika.db" --idle-exit 2
it_start ack "$GK_BIN/ack_consumer" --cache "$WORK/ack-cache" --idle-exit 2
it_wait_assigned db ack
"$GK_BIN/producer" "$GK_SOURCE"/data/sim_file{1,2,3}.xlsx >"$WORK/producer.out" 2>"$WORK/producer.log" ||
  it_fail "producer exited with $?"
it_wait_exit "$PID_db" 60; it_expect "first db_consumer exit" "$IT_RC" 0
it_wait_exit "$PID_ack" 60; it_expect "first ack_consumer exit" "$IT_RC" 0
it_expect "acks after the first run" "$(it_ack_keys | grep -c .)" 50
stored=$(it_sql "$WORK/genetika.db" "SELECT topic || ' ' || next_offset FROM kafka_offsets ORDER BY topic")
it_expect "db_consumer's stored positions" "$(echo "$stored" | tr '\n' ';')" "topic1 50;topic2 50;topic3 50;"

# 4 MiB more per topic while they are stopped (uncompressed 1 KiB values):
# retention keeps about the last 1 MiB, so offset 50 leaves the log.
pad=$(head -c 1000 /dev/zero | tr '\0' 'x')
for t in topic1 topic2 topic3; do
  seq 100001 104000 | sed "s/\$/\t$pad/" | timeout 60 kcat -P -b "$KAFKA_BOOTSTRAP" -t "$t" -K $'\t' -z none \
    2>>"$WORK/kcat.log" || it_fail "kcat produce to $t failed"
done
first_offset() { timeout 30 kcat -C -b "$KAFKA_BOOTSTRAP" -t "$1" -p 0 -o beginning -c 1 -q -f '%o\n' 2>>"$WORK/kcat.log"; }
for t in topic1 topic2 topic3; do
  for _ in $(seq 120); do [ "$(first_offset "$t")" -gt 50 ] && break; sleep 0.5; done
  low=$(first_offset "$t")
  [ "$low" -gt 50 ] || it_fail "$t still starts at offset $low: retention deleted nothing within 60 s"
  it_log "ok: retention deleted $t [0] up to offset $low (a stopped consumer stands at 50)"
done

# The restarts: exit 76, one line naming topic, partition and offset 50.
check_dataloss() { # NAME LOG
  local line t off
  line=$(grep -E "ERROR: topic[123] \[0\] offset [0-9]+: no longer in the log" "$2" | head -n 1)
  [ -n "$line" ] || it_fail "$1: no data-loss line: $(grep ERROR "$2" | tail -n 2)"
  t=$(sed -E 's/.*ERROR: (topic[123]) \[0\].*/\1/' <<<"$line")
  off=$(sed -E 's/.*\[0\] offset ([0-9]+):.*/\1/' <<<"$line")
  it_expect "$1: offset named for $t" "$off" 50
  it_log "ok: $1: ${line#* ERROR: }"
}
harness_env_cmd "$GK_BIN/db_consumer" --db "$WORK/genetika.db" --idle-exit 2
rc=0; timeout 120 "${HARNESS_CMD[@]}" >"$WORK/db2.out" 2>"$WORK/db2.log" || rc=$?
it_expect "restarted db_consumer exit status" "$rc" 76
check_dataloss db_consumer "$WORK/db2.log"
it_expect "rows after the refused restart" "$(it_sql "$WORK/genetika.db" "SELECT count(*) FROM data1")" 50
it_expect "stored positions after the refused restart" \
  "$(it_sql "$WORK/genetika.db" "SELECT group_concat(next_offset) FROM kafka_offsets")" "50,50,50"

harness_env_cmd "$GK_BIN/ack_consumer" --cache "$WORK/ack-cache" --idle-exit 2
rc=0; timeout 120 "${HARNESS_CMD[@]}" >"$WORK/ack2.out" 2>"$WORK/ack2.log" || rc=$?
it_expect "restarted ack_consumer exit status" "$rc" 76
check_dataloss ack_consumer "$WORK/ack2.log"
it_expect "acks after the refused restart" "$(it_ack_keys | grep -c .)" 50
it_log "PASS: retention deleted the stopped consumers' positions; both exited 76 naming offset 50"
