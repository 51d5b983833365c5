#!/usr/bin/env bash
# test_ack_restart.sh - ack_consumer killed with SIGKILL again and again:
# on purpose in each crash window (GK_ACK_TEST_KILL: ack decided but not
# produced, produced but not confirmed, confirmed but not recorded) and at
# random moments while it works. After the restarts the ack topic must hold
# exactly one ack per complete event: N messages, N distinct keys, 1..N.
# Incomplete events get none; poison messages become dead letters once.
source "$(dirname "$0")/lib.sh"

N=2000   # complete events, produced in 5 chunks of 400
CHUNK=400
INCOMPLETE_FROM=$((N + 1)) INCOMPLETE_TO=$((N + 50))   # topic1 and topic2 only
it_broker --partitions 3
B=$KAFKA_BOOTSTRAP
CACHE=$WORK/cache
# Small batches: many transactions, so kills land inside the work. A short
# session timeout: a restarted consumer waits for the killed one's session.
ACK=("$GK_BIN/ack_consumer" -b "$B" --cache "$CACHE" --batch 20
     -X session.timeout.ms=3000 -X heartbeat.interval.ms=500)

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
    gen "$t" "$1" "$2" | timeout 30 kcat -P -b "$B" -t "topic$t" -K $'\t' -z lz4 \
      -H gk-produced-us=1700000000000000 || it_fail "kcat produce to topic$t failed"
  done
}

# chunk K (1-based): events of the K-th chunk.
chunk() { produce_events $(((($1 - 1) * CHUNK) + 1)) $(($1 * CHUNK)); }

wait_assigned() { # wait_assigned LOG
  for _ in $(seq 300); do grep -q "assigned" "$1" && return 0; sleep 0.1; done
  it_fail "ack_consumer was not assigned partitions within 30s: $(tail -n 5 "$1")"
}

acks_in_topic() { timeout 30 kcat -C -b "$B" -t ack -e -q -f '%k\n' | grep -c . || true; }

# Incomplete events and two poison messages, once.
gen 1 "$INCOMPLETE_FROM" "$INCOMPLETE_TO" | kcat -P -b "$B" -t topic1 -K $'\t' -z lz4
gen 2 "$INCOMPLETE_FROM" "$INCOMPLETE_TO" | kcat -P -b "$B" -t topic2 -K $'\t' -z lz4
printf '900001\tnot json\n900002\t%s\n' "$(gen 2 900003 900003 | cut -f2)" |
  kcat -P -b "$B" -t topic2 -K $'\t' || it_fail "poison produce failed"

# Round 1-3: a crash in each window, on purpose.
round=0
for point in decided:1 produced:1 delivered:40; do
  round=$((round + 1))
  chunk "$round"
  it_start "ack$round" env GK_ACK_TEST_KILL="$point" "${ACK[@]}"
  pid_var="PID_ack$round"
  it_wait_exit "${!pid_var}" 90
  it_expect "round $round ($point) killed itself" "$IT_RC" 137
  it_log "after round $round: $(acks_in_topic) acks in the topic"
done

# Rounds 4-5: SIGKILL at a random moment while a chunk is being consumed.
for round in 4 5; do
  it_start "ack$round" "${ACK[@]}"
  pid_var="PID_ack$round"
  wait_assigned "$WORK/ack$round.log"
  chunk "$round" &
  producer=$!
  sleep "0.$((RANDOM % 6 + 1))"
  kill -KILL "${!pid_var}"
  it_wait_exit "${!pid_var}" 10
  wait "$producer" || it_fail "chunk $round produce failed"
  it_log "round $round: killed at random; $(acks_in_topic) acks in the topic"
done

# Final run: ten more complete events to process, then it exits once idle
# with nothing in flight.
produce_events "$((N + 51))" "$((N + 60))"
it_start final "${ACK[@]}" --idle-exit 3
it_wait_exit "$PID_final" 120
it_expect "final run exit status" "$IT_RC" 0
summary=$(grep '^ack_consumer: messages=' "$WORK/final.log" || true)
[ -n "$summary" ] || it_fail "no summary line"
it_log "final: $summary"

# The crash windows were really exercised: a restart found acks that the
# killed process had delivered, and a restart had to send acks again.
found=$(grep -ho 'reconciliation: [0-9]* of' "$WORK"/ack*.log "$WORK/final.log" |
        awk '{s += $2} END {print s + 0}')
resent=$(grep -ho 'sending [0-9]* again' "$WORK"/ack*.log "$WORK/final.log" |
         awk '{s += $2} END {print s + 0}')
[ "$found" -gt 0 ] || it_fail "no restart found an already delivered ack (window not hit)"
[ "$resent" -gt 0 ] || it_fail "no restart had to send an ack again (window not hit)"
it_log "ok: reconciliation found $found delivered acks and sent $resent again"

# Exactly one ack per complete event.
N_TOTAL=$((N + 10))   # events N+51..N+60 were completed by the final run
timeout 30 kcat -C -b "$B" -t ack -e -q -f '%k\n' >"$WORK/ack_keys.txt"
it_expect "ack messages" "$(grep -c . "$WORK/ack_keys.txt")" "$N_TOTAL"
it_expect "distinct ack keys" "$(sort -u "$WORK/ack_keys.txt" | grep -c .)" "$N_TOTAL"
{ seq 1 "$N"; seq $((N + 51)) $((N + 60)); } | sort >"$WORK/want.txt"
sort "$WORK/ack_keys.txt" >"$WORK/got.txt"
cmp -s "$WORK/want.txt" "$WORK/got.txt" ||
  it_fail "ack keys differ from the complete events: $(diff "$WORK/want.txt" "$WORK/got.txt" | head -5)"
it_log "ok: ack keys are exactly the complete events"

# An ack carries the three topics' positions and the producer's header.
one=$(timeout 30 kcat -C -b "$B" -t ack -e -q -c 1 -f '%h %s\n')
[[ "$one" == gk-produced-us=* ]] || it_fail "ack lacks the gk-produced-us header: $one"
for t in topic1 topic2 topic3; do
  [[ "$one" == *"\"$t\":{\"partition\":"* ]] || it_fail "ack lacks $t: $one"
done
[[ "$one" == *'"produced_us":1700000000000000'* ]] || it_fail "ack lacks produced_us: $one"

# Poison messages: two dead letters, recorded once despite the restarts.
timeout 30 "$GK_BIN/ack_consumer" --cache "$CACHE" --dump-dead-letters >"$WORK/dead.jsonl" \
  2>"$WORK/dump.log" || it_fail "--dump-dead-letters failed: $(cat "$WORK/dump.log")"
it_expect "dead letters" "$(grep -c . "$WORK/dead.jsonl")" 2
grep -q '"reason":"not valid JSON.*"key":"900001"' "$WORK/dead.jsonl" ||
  it_fail "dead letter for key 900001 missing: $(cat "$WORK/dead.jsonl")"
grep -q 'does not match the key 900002' "$WORK/dead.jsonl" ||
  it_fail "dead letter for key 900002 missing: $(cat "$WORK/dead.jsonl")"
it_log "ok: dead letters recorded once"
