#!/usr/bin/env bash
# test_ack_restart.sh - ack_consumer killed with SIGKILL again and again:
# on purpose in each crash window (GK_ACK_CONSUMER_CRASH_KILL: ack decided but not
# produced, produced but not confirmed, confirmed but not recorded) and at
# random moments while it works. After the restarts the ack topic must hold
# exactly one ack per complete event: N messages, N distinct keys, 1..N.
# Incomplete events get none; poison messages become dead letters once. The
# same again with acks sent in Kafka transactions (--transactional-id).
# brokers: embedded kafka
# cost: 66
# kafka: shared
source "$(dirname "$0")/lib.sh"

N=2000   # complete events, produced in 5 chunks of 400
CHUNK=400
INCOMPLETE_FROM=$((N + 1)) INCOMPLETE_TO=$((N + 50))   # topic1 and topic2 only
it_broker --partitions 3
B=$KAFKA_BOOTSTRAP
CACHE=$WORK/cache
# Small batches: many transactions, so kills land inside the work. A short
# session timeout: a restarted consumer waits for the killed one's session
# (a real Kafka accepts none shorter than 6 s: group.min.session.timeout.ms).
SESSION=3000
[ "$GK_TEST_BROKER" = kafka ] && SESSION=6000
ACK=("$GK_BIN/ack_consumer" -b "$B" --cache "$CACHE" --batch 20
     -X session.timeout.ms=$SESSION -X heartbeat.interval.ms=500)

# gen T FROM TO: schema-valid "id<TAB>json" lines of topic T for events FROM..TO.
gen() {
  awk -v t="$1" -v a="$2" -v b="$3" 'BEGIN {
    for (i = a; i <= b; i++) {
      if (t == 1) printf "%d\t{\"event_id\":%d,\"sample_id\":\"S-%d\",\"patient_id\":\"P-%d\",\"specimen_type\":\"blood\",\"collected_at\":\"2026-01-01T00:00:00\",\"consent_research\":true}\n", i, i, i, i % 97
      else if (t == 2) printf "%d\t{\"event_id\":%d,\"run_id\":\"R-%d\",\"instrument\":\"NovaSeq\",\"lane\":1,\"read_count\":1000,\"q30_pct\":92.5,\"mean_coverage\":30.5,\"sequenced_at\":\"2026-01-02T00:00:00\",\"passed_qc\":true}\n", i, i, i
      else printf "%d\t{\"event_id\":%d,\"gene\":\"BRCA1\",\"chrom\":\"17\",\"position\":%d,\"ref\":\"A\",\"alt\":\"G\",\"zygosity\":\"het\",\"quality\":99.5,\"called_at\":\"2026-01-03T00:00:00\"}\n", i, i, 43000000 + i
    }
  }'
}

# produce_events FROM TO: the three topics, in an order rotating with FROM so
# that events complete on different topics.
produce_events() {
  local topics=(1 2 3 1 2) first=$((($1 / CHUNK) % 3))
  for k in 0 1 2; do
    local t=${topics[$((first + k))]}
    gen "$t" "$1" "$2" | timeout 30 kcat -P -b "$B" -t "$(it_topic "topic$t")" -K $'\t' -z lz4 \
      -H gk-produced-us=1700000000000000 || it_fail "kcat produce to topic$t failed"
  done
}

# chunk K (1-based): events of the K-th chunk.
chunk() { produce_events $(((($1 - 1) * CHUNK) + 1)) $(($1 * CHUNK)); }

wait_assigned() { # wait_assigned LOG
  for _ in $(seq 300); do grep -q "assigned" "$1" && return 0; sleep 0.1; done
  it_fail "ack_consumer was not assigned partitions within 30s: $(tail -n 5 "$1")"
}

acks_in_topic() { it_keys "$ACK_TOPIC" | grep -c . || true; }

# Incomplete events and two poison messages, once.
gen 1 "$INCOMPLETE_FROM" "$INCOMPLETE_TO" | kcat -P -b "$B" -t "$(it_topic topic1)" -K $'\t' -z lz4
gen 2 "$INCOMPLETE_FROM" "$INCOMPLETE_TO" | kcat -P -b "$B" -t "$(it_topic topic2)" -K $'\t' -z lz4
printf '900001\tnot json\n900002\t%s\n' "$(gen 2 900003 900003 | cut -f2)" |
  kcat -P -b "$B" -t "$(it_topic topic2)" -K $'\t' || it_fail "poison produce failed"

# crash_round NAME POINT [CHUNK]: one run that kills itself at POINT
# (GK_ACK_CONSUMER_CRASH_KILL, in the test build ack_consumer_crash), after producing
# chunk CHUNK if given.
crash_round() {
  [ -n "${3:-}" ] && chunk "$3"
  it_start "$1" env GK_ACK_CONSUMER_CRASH_KILL="$2" "$GK_TEST_BIN/ack_consumer_crash" "${ACK[@]:1}"
  local pid_var="PID_$1"
  it_wait_exit "${!pid_var}" 90
  it_expect "$1 ($2) killed itself" "$IT_RC" 137
  it_log "after $1: $(acks_in_topic) acks in $ACK_TOPIC"
}

# random_round NAME [CHUNK]: SIGKILL at a random moment while it works (on
# chunk CHUNK, produced meanwhile, or on the backlog).
random_round() {
  it_start "$1" "${ACK[@]}"
  local pid_var="PID_$1" producer=
  wait_assigned "$WORK/$1.log"
  if [ -n "${2:-}" ]; then chunk "$2" & producer=$!; fi
  sleep "0.$((RANDOM % 6 + 1))"
  kill -KILL "${!pid_var}"
  it_wait_exit "${!pid_var}" 10
  if [ -n "$producer" ]; then wait "$producer" || it_fail "chunk $2 produce failed"; fi
  it_log "$1: killed at random; $(acks_in_topic) acks in $ACK_TOPIC"
}

# final_and_check PREFIX: a last run exits once idle with nothing in flight;
# then the crash windows must have been hit and the ack topic must hold
# exactly one ack per complete event.
final_and_check() {
  it_start "$1final" "${ACK[@]}" --idle-exit 3
  local pid_var="PID_$1final"
  it_wait_exit "${!pid_var}" 120
  it_expect "$1final exit status" "$IT_RC" 0
  local summary
  summary=$(grep '^ack_consumer: messages=' "$WORK/$1final.log" || true)
  [ -n "$summary" ] || it_fail "$1final: no summary line"
  it_log "$1final: $summary"

  # A restart found acks the killed process had delivered, and one had to
  # send acks again: both reconciliation outcomes were exercised.
  local found resent
  found=$(cat "$WORK/$1"*.log | grep -o 'reconciliation: [0-9]* of' | awk '{s += $2} END {print s + 0}')
  resent=$(cat "$WORK/$1"*.log | grep -o 'sending [0-9]* again' | awk '{s += $2} END {print s + 0}')
  [ "$found" -gt 0 ] || it_fail "$1: no restart found an already delivered ack (window not hit)"
  [ "$resent" -gt 0 ] || it_fail "$1: no restart had to send an ack again (window not hit)"
  it_log "ok: $1 reconciliation found $found delivered acks and sent $resent again"

  it_keys "$ACK_TOPIC" >"$WORK/$1keys.txt"
  it_expect "$1 ack messages" "$(grep -c . "$WORK/$1keys.txt")" "$N_TOTAL"
  it_expect "$1 distinct ack keys" "$(sort -u "$WORK/$1keys.txt" | grep -c .)" "$N_TOTAL"
  sort "$WORK/$1keys.txt" >"$WORK/$1got.txt"
  cmp -s "$WORK/want.txt" "$WORK/$1got.txt" ||
    it_fail "$1 ack keys differ from the complete events: $(diff "$WORK/want.txt" "$WORK/$1got.txt" | head -5)"
  it_log "ok: $1 ack keys are exactly the complete events"
}

N_TOTAL=$((N + 10))   # events N+51..N+60 are completed just before the final run
{ seq 1 "$N"; seq $((N + 51)) $((N + 60)); } | sort >"$WORK/want.txt"

# Phase 1, idempotent producer: a crash in each window on purpose while the
# chunks arrive, then at random moments, then the final run with ten more
# complete events to process.
ACK_TOPIC=$(it_topic ack)
crash_round plain1 decided:1 1
crash_round plain2 produced:1 2
crash_round plain3 delivered:40 3
random_round plain4 4
random_round plain5 5
produce_events "$((N + 51))" "$((N + 60))"
final_and_check plain

# An ack carries the three topics' positions and the producer's header.
one=$(timeout 30 kcat -C -b "$B" -t "$(it_topic ack)" -e -q -c 1 -f '%h %s\n')
[[ "$one" == gk-produced-us=* ]] || it_fail "ack lacks the gk-produced-us header: $one"
for t in topic1 topic2 topic3; do
  [[ "$one" == *"\"$(it_topic $t)\":{\"partition\":"* ]] || it_fail "ack lacks $t: $one"
done
[[ "$one" == *'"produced_us":1700000000000000'* ]] || it_fail "ack lacks produced_us: $one"

# Poison messages: two dead letters, recorded once despite the restarts.
timeout 30 "$GK_BIN/ack_consumer" --cache "$CACHE" --dump-dead-letters >"$WORK/dead.jsonl" \
  2>"$WORK/dump.log" || it_fail "--dump-dead-letters failed: $(cat "$WORK/dump.log")"
it_expect "dead letters" "$(grep -c . "$WORK/dead.jsonl")" 2
grep -q '"reason":"not valid JSON.*"key":"900001"' "$WORK/dead.jsonl" ||
  it_fail "dead letter for key 900001 missing: $(cat "$WORK/dead.jsonl")"
grep -q "key '900002' does not match event_id 900003" "$WORK/dead.jsonl" ||
  it_fail "dead letter for key 900002 missing: $(cat "$WORK/dead.jsonl")"
it_log "ok: dead letters recorded once"

# Phase 2, acks in Kafka transactions (fixed transactional id), on the same
# data as a backlog: a second consumer with its own cache, group and ack
# topic goes through the same crashes.
ACK_TOPIC=$(it_topic ack_txn)
ACK=("$GK_BIN/ack_consumer" -b "$B" --cache "$WORK/cache_txn" --batch 20 --group "$(it_topic txn)"
     --ack-topic "$ACK_TOPIC" --transactional-id "$(it_topic genetika-ack-test)"
     -X session.timeout.ms=$SESSION -X heartbeat.interval.ms=500)
crash_round txn1 decided:1
crash_round txn2 produced:1
crash_round txn3 delivered:40
random_round txn4
final_and_check txn
