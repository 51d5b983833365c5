#!/usr/bin/env bash
# test_poison.sh - poison messages between good ones: db_consumer writes every
# good row, puts each bad message into dead_letters with the right reason,
# keeps going and exits 0. A second consumer group re-reading the same topics
# into the same database (a full re-delivery) adds no row and no dead letter.
# brokers: embedded kafka
# kafka: shared
. "$(dirname "$0")/lib.sh"

N=20 # good events per topic
it_broker --partitions 3

good1() { it_event 1 "$1"; }
good2() { it_event 2 "$1"; }
good3() { it_event 3 "$1"; }

# Bad messages, each with a key of its own (or none) so that it can be found
# again; the expected reason fragments are checked below.
big=$(head -c 70000 /dev/zero | tr '\0' 'x')
{
  for i in $(seq 1 $N); do
    good1 "$i"
    case $i in
      3) printf '101\tthis is not json\n' ;;
      7) printf '102\t{"event_id":102,"sample_id":"S","patient_id":"P","specimen_type":"blood","collected_at":"2024-03-01T08:00:00","consent_research":"yes"}\n' ;;
      11) printf '107\t\n' ;; # empty value
      15) printf '110\t{"event_id":110,"sample_id":"S","patient_id":"P","specimen_type":"blood","collected_at":"yesterday","consent_research":true}\n' ;;
      # A required text that is empty: missing, as the producer says of an empty cell.
      17) printf '112\t{"event_id":112,"sample_id":"","patient_id":"P","specimen_type":"blood","collected_at":"2024-03-01T08:00:00","consent_research":true}\n' ;;
    esac
  done
} | kcat -P -b "$KAFKA_BOOTSTRAP" -t "$(it_topic topic1)" -K $'\t' 2>"$WORK/kcat.log" || it_fail "kcat topic1"
{
  for i in $(seq 1 $N); do
    good2 "$i"
    case $i in
      5) printf '103\t{"event_id":103,"run_id":"R","instrument":"I","read_count":1,"q30_pct":1.5,"mean_coverage":1.5,"sequenced_at":"2024-03-02T09:00:00","passed_qc":true}\n' ;;
      9) printf '999\t{"event_id":104,"run_id":"R","instrument":"I","lane":1,"read_count":1,"q30_pct":1.5,"mean_coverage":1.5,"sequenced_at":"2024-03-02T09:00:00","passed_qc":true}\n' ;;
      13) printf '108\t{"event_id":108,"run_id":"%s"}\n' "$big" ;;
    esac
  done
} | kcat -P -b "$KAFKA_BOOTSTRAP" -t "$(it_topic topic2)" -K $'\t' 2>>"$WORK/kcat.log" || it_fail "kcat topic2"
{
  for i in $(seq 1 $N); do
    good3 "$i"
    case $i in
      2) printf '105\t{"event_id":105,"gene":"G","chrom":"1","position":1,"ref":"A","alt":"C","zygosity":"hom","quality":1.5,"called_at":"2024-03-03T10:00:00","extra":1}\n' ;;
      6) printf '106\t{"event_id":106,"gene":"G\xff\xfe","chrom":"1","position":1,"ref":"A","alt":"C","zygosity":"hom","quality":1.5,"called_at":"2024-03-03T10:00:00"}\n' ;;
      10) printf '{"event_id":109,"gene":"G","chrom":"1","position":1,"ref":"A","alt":"C","zygosity":"hom","quality":1.5,"called_at":"2024-03-03T10:00:00"}\n' ;; # no key
      14) printf '111\t{"event_id":111,"gene":"G","chrom":"1","position":1.5,"ref":"A","alt":"C","zygosity":"hom","quality":1.5,"called_at":"2024-03-03T10:00:00"}\n' ;;
    esac
  done
} | kcat -P -b "$KAFKA_BOOTSTRAP" -t "$(it_topic topic3)" -K $'\t' 2>>"$WORK/kcat.log" || it_fail "kcat topic3"
BAD=12

DB=$WORK/genetika.db
harness_env_cmd "$GK_BIN/db_consumer" --db "$DB" --idle-exit 2
"${HARNESS_CMD[@]}" >"$WORK/db.out" 2>"$WORK/db.log" &
pid=$!; GK_PIDS+=("$pid")
it_wait_exit "$pid" 90
it_expect "db_consumer exit status" "$IT_RC" 0
it_log "$(cat "$WORK/db.out")"
grep -q "^db_consumer: messages=$((3 * N + BAD)) rows=$((3 * N)) dead_letters=$BAD batches=" "$WORK/db.out" ||
  it_fail "summary line: $(cat "$WORK/db.out")"

for t in data1 data2 data3; do
  it_expect "$t rows" "$(it_sql "$DB" "SELECT count(*) FROM $t")" $N
  it_expect "$t ids 1..$N" "$(it_sql "$DB" "SELECT count(DISTINCT event_id) FROM $t WHERE event_id BETWEEN 1 AND $N")" $N
done
# Values arrive typed and intact.
it_expect "data1 row 7" "$(it_sql "$DB" "SELECT sample_id, collected_at, volume_ml, consent_research FROM data1 WHERE event_id = 7")" \
  "S-7|2024-03-01T08:07:00|4.5|1"
it_expect "data2 row 4" "$(it_sql "$DB" "SELECT instrument, lane, read_count, passed_qc FROM data2 WHERE event_id = 4")" \
  "NovaSeq 6000|1|4000|0"
it_expect "data3 row 20" "$(it_sql "$DB" "SELECT position, called_at, classification FROM data3 WHERE event_id = 20")" \
  "32315020|2024-03-03T10:20:00.250|benign"

it_expect "dead letters" "$(it_sql "$DB" "SELECT count(*) FROM dead_letters")" $BAD
# reason_of KEY : the dead letter's "topic|reason" for a key ('' = no key).
reason_of() {
  if [ -z "$1" ]; then it_sql "$DB" "SELECT topic || '|' || reason FROM dead_letters WHERE key IS NULL"
  else it_sql "$DB" "SELECT topic || '|' || reason FROM dead_letters WHERE CAST(key AS TEXT) = '$1'"; fi
}
expect_reason() { # KEY TOPIC FRAGMENT
  local got; got=$(reason_of "$1")
  case $got in "$2|"*"$3"*) it_log "ok: dead letter ${1:-<no key>}: ${got#*|}" ;;
    *) it_fail "dead letter ${1:-<no key>}: got '$got', want '$2|...$3...'" ;; esac
}
expect_reason 101 "$(it_topic topic1)" "not valid JSON"
expect_reason 102 "$(it_topic topic1)" "field 'consent_research': expected true or false, got a string"
expect_reason 107 "$(it_topic topic1)" "empty message value"
expect_reason 110 "$(it_topic topic1)" "field 'collected_at': 'yesterday' is not an ISO 8601 datetime"
expect_reason 112 "$(it_topic topic1)" "field 'sample_id': required text is missing (empty)"
expect_reason 103 "$(it_topic topic2)" "field 'lane': required integer is missing"
expect_reason 999 "$(it_topic topic2)" "key '999' does not match event_id 104"
expect_reason 108 "$(it_topic topic2)" "message of 700"
expect_reason 108 "$(it_topic topic2)" "bytes exceeds the limit of 65536"
expect_reason 105 "$(it_topic topic3)" "unknown field 'extra'"
expect_reason 106 "$(it_topic topic3)" "not valid JSON: unable to decode byte 0xff"
expect_reason "" "$(it_topic topic3)" "message has no key (expected event_id 109)"
expect_reason 111 "$(it_topic topic3)" "field 'position': expected an integer, got a number"
# The bad messages are kept byte for byte, and each was reported in the log.
it_expect "kept value of 106" "$(it_sql "$DB" "SELECT hex(value) FROM dead_letters WHERE CAST(key AS TEXT) = '106'" | grep -c 'FFFE')" 1
wrapper='{"event_id":108,"run_id":""}'
it_expect "kept value of 108 (bytes)" "$(it_sql "$DB" "SELECT length(value) FROM dead_letters WHERE CAST(key AS TEXT) = '108'")" \
  $((70000 + ${#wrapper}))
it_expect "dead letter warnings" "$(grep -c "WARN: $(it_topic topic)"'[123] \[[0-9]*\] offset [0-9]*: dead letter: ' "$WORK/db.log")" $BAD
it_expect "offsets stored for every partition" "$(it_sql "$DB" "SELECT count(*) FROM kafka_offsets")" 9
it_expect "stored offsets cover every message" "$(it_sql "$DB" "SELECT sum(next_offset) FROM kafka_offsets")" $((3 * N + BAD))

# Full re-delivery: another group starts from the beginning of the log (the
# store's offsets are removed). Same rows, same dead letters, no errors.
dump() { sqlite3 "$DB" "SELECT * FROM data1; SELECT * FROM data2; SELECT * FROM data3; SELECT id, topic, partition, offset, hex(key), hex(value), reason FROM dead_letters"; }
dump >"$WORK/dump1"
it_sql "$DB" "DELETE FROM kafka_offsets"
harness_env_cmd "$GK_BIN/db_consumer" --db "$DB" --group "$(it_topic poison-again)" --idle-exit 2
"${HARNESS_CMD[@]}" >"$WORK/db2.out" 2>"$WORK/db2.log" &
pid=$!; GK_PIDS+=("$pid")
it_wait_exit "$pid" 90
it_expect "second db_consumer exit status" "$IT_RC" 0
grep -q "^db_consumer: messages=$((3 * N + BAD)) rows=$((3 * N)) dead_letters=0 batches=" "$WORK/db2.out" ||
  it_fail "second summary line: $(cat "$WORK/db2.out")"
dump >"$WORK/dump2"
cmp -s "$WORK/dump1" "$WORK/dump2" || it_fail "re-delivery changed the database: $(diff "$WORK/dump1" "$WORK/dump2" | head -n 5)"
it_log "ok: re-delivery left rows and dead letters unchanged"
if grep " ERROR:" "$WORK/db.log" "$WORK/db2.log"; then it_fail "db_consumer logged errors"; fi
it_log "PASS"
