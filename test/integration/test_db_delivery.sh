#!/usr/bin/env bash
# test_db_delivery.sh - the end-to-end check: embedded broker, both consumers
# and the producer on the sample data. Every table must hold exactly the 50
# events, the ack topic exactly 50 messages with 50 distinct event ids, the
# analysis must find no violation and draw both plots. With GK_TEST_DB=postgresql
# db_consumer writes to PostgreSQL (test_pg_delivery.sh).
# brokers: embedded kafka
# kafka: shared
. "$(dirname "$0")/lib.sh"

DATA=$GK_SOURCE/data
EVENTS=50

it_database
it_broker --partitions 3
it_start db "$GK_BIN/db_consumer" --db "$IT_DB" --idle-exit 3
it_start ack "$GK_BIN/ack_consumer" --cache "$WORK/ack-cache" --idle-exit 3
it_wait_assigned db ack

"$GK_BIN/producer" "$DATA/sim_file1.xlsx" "$DATA/sim_file2.xlsx" "$DATA/sim_file3.xlsx" \
  >"$WORK/producer.out" 2>"$WORK/producer.log" || it_fail "producer exited with $?"
grep -q "delivered=150 failed=0" "$WORK/producer.out" || it_fail "producer summary: $(cat "$WORK/producer.out")"

it_wait_exit "$PID_db" 120
it_expect "db_consumer exit status" "$IT_RC" 0
it_wait_exit "$PID_ack" 120
it_expect "ack_consumer exit status" "$IT_RC" 0

for t in data1 data2 data3; do
  it_expect "$t rows" "$(it_sql "$IT_DB" "SELECT count(*) FROM $t")" $EVENTS
  it_expect "$t distinct event ids" "$(it_sql "$IT_DB" "SELECT count(DISTINCT event_id) FROM $t")" $EVENTS
done
it_expect "dead letters" "$(it_sql "$IT_DB" "SELECT count(*) FROM dead_letters")" 0
# The same 50 ids in every table, and they are the ids of the input (1..50).
it_expect "ids common to all tables" "$(it_sql "$IT_DB" \
  "SELECT count(*) FROM data1 JOIN data2 USING(event_id) JOIN data3 USING(event_id)")" $EVENTS
if it_is_pg "$IT_DB"; then
  # PostgreSQL's types (schema/sql.h): the values arrive as the workbook has them.
  it_expect "column types of data1" "$(it_sql "$IT_DB" "SELECT string_agg(data_type, ',' ORDER BY ordinal_position)
    FROM information_schema.columns WHERE table_name = 'data1'")" \
    "bigint,text,text,text,timestamp with time zone,double precision,boolean,text"
  it_expect "event 1 of data1 as read in UTC" "$(it_sql "$IT_DB" "SET TimeZone = 'UTC';
    SELECT sample_id, collected_at, volume_ml, consent_research FROM data1 WHERE event_id = 1")" \
    "S-000001|2024-01-02 08:03:05+00|9.7|t"
  it_expect "event 5 has no volume (null)" "$(it_sql "$IT_DB" "SELECT volume_ml IS NULL FROM data1 WHERE event_id = 5")" t
else
  # A value mapped through the schema arrives intact: booleans as 0/1, datetimes as ISO text.
  it_expect "consent values are booleans" "$(it_sql "$IT_DB" \
    "SELECT count(*) FROM data1 WHERE consent_research NOT IN (0,1)")" 0
  it_expect "datetimes are ISO 8601" "$(it_sql "$IT_DB" \
    "SELECT count(*) FROM data2 WHERE sequenced_at NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*'")" 0
fi

it_ack_keys >"$WORK/ack.keys" || it_fail "kcat could not read the ack topic"
it_expect "ack messages" "$(wc -l <"$WORK/ack.keys")" $EVENTS
it_expect "distinct acked event ids" "$(sort -u "$WORK/ack.keys" | wc -l)" $EVENTS

"$GK_BIN/ack_delay" --expect $EVENTS --csv "$WORK/ack_delay.csv" --plots "$WORK" \
  >"$WORK/ack_delay.out" 2>"$WORK/ack_delay.log" || it_fail "ack_delay exited with $?: $(cat "$WORK/ack_delay.out")"
it_log "$(cat "$WORK/ack_delay.out")"
grep -q "violations=0" "$WORK/ack_delay.out" || it_fail "ack_delay found violations"
it_expect "CSV rows (header + events)" "$(wc -l <"$WORK/ack_delay.csv")" $((EVENTS + 1))

# Both plots exist as PNGs of the size the analysis draws (1000x600).
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{printf "%dx%d", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'; }
for p in timestamps delay; do
  f=$WORK/$p.png
  [ -s "$f" ] || it_fail "$p.png was not drawn"
  [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || it_fail "$p.png is not a PNG"
  it_expect "$p.png size" "$(png_size "$f")" 1000x600
done
it_log "PASS"
