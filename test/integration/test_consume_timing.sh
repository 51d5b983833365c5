#!/usr/bin/env bash
# test_consume_timing.sh - the consumer loop's timing choices (kafka/consume.c):
#  - a fresh group starts every partition at a concrete offset, not at
#    librdkafka's symbolic BEGINNING (whose lookup stalls a partition created
#    at assignment for 500 ms, holding the first events of a run);
#  - db_consumer's --batch-wait gathers a second of traffic into a few
#    transactions, while ack_consumer commits as soon as nothing is waiting;
#  - the Kafka copy of the offsets, now committed periodically rather than
#    per batch, is complete after a clean stop;
#  - the store, not the group, says where a partition starts: a new store on
#    the same group starts every partition at the beginning of its log and
#    reads everything again (the group's committed offsets are another
#    store's progress).
# brokers: embedded kafka
# cost: 23
# kafka: shared
. "$(dirname "$0")/lib.sh"

N=300
"$GK_BIN/datagen" --rows $N --out "$WORK/data" 2>"$WORK/datagen.log" || it_fail "datagen failed"

it_broker --partitions 3
it_start db "$GK_BIN/db_consumer" --db "$WORK/genetika.db" --batch-wait 2000 --idle-exit 3
# --sync process: what is measured is the loop's choice of when to commit,
# not the disk: with an fsync per commit (up to 0.56 s each seen under ASan
# in CI) the transactions are as many as the disk allows, not as the loop asks.
it_start ack "$GK_BIN/ack_consumer" --cache "$WORK/ack-cache" --idle-exit 3 --sync process
it_wait_assigned db ack

for s in db ack; do
  line=$(grep "assigned 9 partition" "$WORK/$s.log" | head -n1)
  case $line in *@beginning*) it_fail "$s starts at a symbolic offset: $line" ;; esac
  it_expect "$s partitions starting at offset 0" "$(grep -o "$(it_topic topic)"'[123]\[[0-2]\]@0\b' <<<"$line" | wc -l)" 9
done

# One second of traffic: 300 events/s, 900 messages.
"$GK_BIN/producer" --rate $N "$WORK/data/sim_file1.xlsx" "$WORK/data/sim_file2.xlsx" \
  "$WORK/data/sim_file3.xlsx" >"$WORK/producer.out" 2>"$WORK/producer.log" ||
  it_fail "producer exited with $?"
it_wait_exit "$PID_db" 120
it_expect "db_consumer exit status" "$IT_RC" 0
it_wait_exit "$PID_ack" 120
it_expect "ack_consumer exit status" "$IT_RC" 0
it_check_exact $N "$WORK/genetika.db"

# The summary line (stdout) is in the service's log: "PROG: messages=... batches=N ...".
batches() { sed -n "s/^$1: .* batches=\([0-9]*\) .*/\1/p" "$WORK/$2.log"; }
db_batches=$(batches db_consumer db)
ack_batches=$(batches ack_consumer ack)
it_log "transactions: db_consumer $db_batches, ack_consumer $ack_batches"
[ -n "$db_batches" ] && [ "$db_batches" -ge 1 ] && [ "$db_batches" -le 3 ] ||
  it_fail "db_consumer --batch-wait 2000 used $db_batches transactions for one second of traffic"
# A Kafka started seconds before is still warming up (its JIT) and answers
# each fetch later than the embedded broker, so each batch holds more (7 seen
# on a loaded machine): there the claim is only that ack_consumer does not
# gather like db_consumer, i.e. it needs more transactions than db_consumer's
# bound of 3.
min_ack=20
[ "$GK_TEST_BROKER" = kafka ] && min_ack=4
[ -n "$ack_batches" ] && [ "$ack_batches" -ge "$min_ack" ] ||
  it_fail "ack_consumer gathered one second of traffic into only $ack_batches transactions (want >= $min_ack)"

# Kafka's copy of the offsets (for monitoring tools) is complete after the
# clean stops: a reader that starts at the group's committed offsets, and
# would fail where there are none, finds nothing left to read.
rc=0
timeout 60 kcat -b "$KAFKA_BOOTSTRAP" -G "${GK_DB_CONSUMER_GROUP:-genetika-db}" -X auto.offset.reset=error \
  -X enable.auto.commit=false -X fetch.wait.max.ms=10 -X session.timeout.ms=6000 -e -q -f '%t %p %o\n' "$(it_topic topic1)" "$(it_topic topic2)" "$(it_topic topic3)" \
  >"$WORK/kcat-group.out" 2>"$WORK/kcat-group.log" || rc=$?
[ "$rc" = 0 ] || it_fail "the group's committed offsets are incomplete (kcat exit $rc): $(grep -m1 ERROR "$WORK/kcat-group.log")"
left=$(grep -c . "$WORK/kcat-group.out" || true)
it_expect "messages after the group's committed offsets" "$left" 0

# The store is the source of truth: a new store on the same group has never
# seen any partition, so each starts at the beginning of its log - not at the
# group's committed offsets, which are the other store's progress - and the
# new store gets every row and every event again.
it_start db2 "$GK_BIN/db_consumer" --db "$WORK/other.db" --idle-exit 3
it_start ack2 "$GK_BIN/ack_consumer" --cache "$WORK/other-cache" --idle-exit 3
it_wait_assigned db2 ack2
for s in db2 ack2; do
  line=$(grep "assigned 9 partition" "$WORK/$s.log" | head -n1)
  it_expect "$s: partitions starting at the beginning of the log (offset 0)" "$(grep -o "$(it_topic topic)"'[123]\[[0-2]\]@0\b' <<<"$line" | wc -l)" 9
done
it_wait_exit "$PID_db2" 120
it_expect "second db_consumer exit status" "$IT_RC" 0
it_wait_exit "$PID_ack2" 120
it_expect "second ack_consumer exit status" "$IT_RC" 0
for t in data1 data2 data3; do
  it_expect "$t rows in the new database" "$(it_sql "$WORK/other.db" "SELECT count(*) FROM $t")" $N
done
it_expect "acks decided by the new cache" "$(sed -n 's/^ack_consumer: .* acks=\([0-9]*\) .*/\1/p' "$WORK/ack2.log")" $N
it_log "PASS"
