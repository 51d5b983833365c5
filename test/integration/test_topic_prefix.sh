#!/usr/bin/env bash
# test_topic_prefix.sh - two pipelines on one real Kafka at once, in two topic
# namespaces (--topic-prefix through GK_TOPIC_PREFIX, and groups of their own):
# neither sees the other's data. Pipeline a carries data/ (50 events), b a
# datagen set of 20; each consumer must have read exactly its own messages,
# each ack topic hold exactly its own acks, and the topics be named under the
# prefixes (what the shared-broker tests rely on).
# brokers: kafka
# kafka: shared
. "$(dirname "$0")/lib.sh"

"$GK_BIN/datagen" --rows 20 --out "$WORK/data-b" 2>"$WORK/datagen.log" || it_fail "datagen failed"
it_broker --partitions 2
BASE=$GK_TOPIC_PREFIX

# pipeline NAME DATA_DIR : starts both consumers of namespace BASE+NAME-,
# waits for their partitions and produces DATA_DIR's three files.
pipeline() {
  local name=$1 dir=$2 env=(env "GK_TOPIC_PREFIX=$BASE$1-" "GK_DB_CONSUMER_GROUP=$BASE$1-db"
    "GK_ACK_CONSUMER_GROUP=$BASE$1-ack")
  "${env[@]}" "$GK_BIN/kafka_admin" --partitions 2 --log-level error create >"$WORK/topics-$name" 2>&1 ||
    it_fail "$name: cannot create its topics: $(tail -n 1 "$WORK/topics-$name")"
  it_start "db_$name" "${env[@]}" "$GK_BIN/db_consumer" --db "$WORK/$name.db" --idle-exit 3
  it_start "ack_$name" "${env[@]}" "$GK_BIN/ack_consumer" --cache "$WORK/cache-$name" --idle-exit 3
  it_wait_assigned "db_$name" "ack_$name"
  "${env[@]}" "$GK_BIN/producer" "$dir/sim_file1.xlsx" "$dir/sim_file2.xlsx" "$dir/sim_file3.xlsx" \
    >"$WORK/producer-$name.out" 2>"$WORK/producer-$name.log" || it_fail "$name: producer exited with $?"
}

pipeline a "$GK_SOURCE/data"
pipeline b "$WORK/data-b"
it_expect "topics of a" "$(cut -d' ' -f1 "$WORK/topics-a" | tr '\n' ' ')" \
  "${BASE}a-topic1 ${BASE}a-topic2 ${BASE}a-topic3 ${BASE}a-ack "

for name in a b; do
  n=50; [ $name = b ] && n=20
  eval "pid=\$PID_db_$name"; it_wait_exit "$pid" 120; it_expect "db_consumer $name exit" "$IT_RC" 0
  eval "pid=\$PID_ack_$name"; it_wait_exit "$pid" 120; it_expect "ack_consumer $name exit" "$IT_RC" 0
  # Read exactly its own messages: 3 per event, not one of the other's.
  it_expect "db_consumer $name messages" \
    "$(grep -o 'db_consumer: messages=[0-9]*' "$WORK/db_$name.log" | cut -d= -f2)" $((3 * n))
  GK_TOPIC_PREFIX=$BASE$name- it_check_exact $n "$WORK/$name.db"
  it_expect "acks of $name name its topics" \
    "$(kcat -C -b "$KAFKA_BOOTSTRAP" -t "$BASE$name-ack" -o beginning -c 1 -e -q -f '%s' | grep -o "\"$BASE$name-topic[123]\"" | wc -l)" 3
done
it_log "PASS: two namespaces on one broker, 50 and 20 events, each saw only its own"
