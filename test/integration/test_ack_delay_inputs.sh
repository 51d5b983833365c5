#!/usr/bin/env bash
# test_ack_delay_inputs.sh - ack_delay judges only what is there (issue 12
# item 5). On a log whose ack topic retention cut (the embedded broker's
# 5 MiB window; on Kafka retention.bytes), complete events whose acks were
# deleted are counted as not judged, not as missing acks; an event whose
# topic2 message the consumers refuse (a dead letter) is incomplete, not
# missing an ack; a garbage gk-produced-us header is counted and named and
# not used. What comes after the cut is still judged: one complete event
# produced after it without an ack is the one violation (exit 65).
# brokers: embedded kafka
# cost: 46
. "$(dirname "$0")/lib.sh"

N=4000          # complete events with acks; the first ones' acks get cut
PAD=2000        # bytes of padding per ack: N acks are about 8 MB
if [ "$GK_TEST_BROKER" = kafka ]; then
  it_broker --partitions 1 --topics "" --set log.retention.check.interval.ms=1000
  "$GK_BIN/kafka_admin" --partitions 1 create topic1 topic2 topic3 >"$WORK/create.out" 2>"$WORK/admin.log" ||
    it_fail "kafka_admin create: $(cat "$WORK/admin.log")"
  "$GK_BIN/kafka_admin" --partitions 1 -c retention.bytes=1048576 -c segment.bytes=1048576 create ack \
    >>"$WORK/create.out" 2>>"$WORK/admin.log" || it_fail "kafka_admin create ack: $(cat "$WORK/admin.log")"
else
  it_broker --partitions 1
fi
B=$KAFKA_BOOTSTRAP
now_us() { date +%s%6N; }

# data T FROM TO [HEADER...]: schema-valid "id<TAB>json" messages of topic T.
data() {
  local t=$1 from=$2 to=$3
  shift 3
  awk -v t="$t" -v a="$from" -v b="$to" 'BEGIN {
    for (i = a; i <= b; i++) {
      if (t == 1) printf "%d\t{\"event_id\":%d,\"sample_id\":\"S-%d\",\"patient_id\":\"P\",\"specimen_type\":\"blood\",\"collected_at\":\"2026-01-01T00:00:00\",\"consent_research\":true}\n", i, i, i
      else if (t == 2) printf "%d\t{\"event_id\":%d,\"run_id\":\"R-%d\",\"instrument\":\"NovaSeq\",\"lane\":1,\"read_count\":1000,\"q30_pct\":92.5,\"mean_coverage\":30.5,\"sequenced_at\":\"2026-01-02T00:00:00\",\"passed_qc\":true}\n", i, i, i
      else printf "%d\t{\"event_id\":%d,\"gene\":\"BRCA1\",\"chrom\":\"17\",\"position\":%d,\"ref\":\"A\",\"alt\":\"G\",\"zygosity\":\"het\",\"quality\":99.5,\"called_at\":\"2026-01-03T00:00:00\"}\n", i, i, i
    }
  }' | timeout 60 kcat -P -b "$B" -t "topic$t" -K $'\t' "$@" 2>>"$WORK/kcat.log" || it_fail "kcat to topic$t failed"
}
# acks FROM TO: one padded ack per event, acked now.
acks() {
  local us; us=$(now_us)
  awk -v a="$1" -v b="$2" -v us="$us" -v pad="$PAD" 'BEGIN {
    p = sprintf("%*s", pad, ""); gsub(/ /, "x", p)
    for (i = a; i <= b; i++) printf "%d\t{\"event_id\":%d,\"acked_us\":%s,\"pad\":\"%s\"}\n", i, i, us, p
  }' | timeout 120 kcat -P -b "$B" -t ack -K $'\t' 2>>"$WORK/kcat.log" || it_fail "kcat to ack failed"
}

# 1. N complete events, then their acks: enough to push the first acks out.
for t in 1 2 3; do data "$t" 1 "$N" -H "gk-produced-us=$(now_us)"; done
acks 1 "$N"
first_ack() { timeout 30 kcat -C -b "$B" -t ack -p 0 -o beginning -c 1 -q -f '%o\n' 2>>"$WORK/kcat.log"; }
for _ in $(seq 120); do [ "$(first_ack)" -gt 0 ] && break; sleep 0.5; done
cut=$(first_ack)
[ "$cut" -gt 0 ] || it_fail "the ack topic still starts at offset 0: nothing was cut"
it_log "ok: retention cut the ack topic: it starts at offset $cut"

# 2. After the cut: a poisoned event (topic2's message is a dead letter, no
#    ack), an event with a garbage header (acked), and a complete event
#    without an ack - the one real violation.
P=900001 G=900002 M=900003
data 1 $P $P
printf '%d\t{"event_id":%d,"run_id":"R","instrument":"I","lane":"one","read_count":1,"q30_pct":1.5,"mean_coverage":1.5,"sequenced_at":"2026-01-02T00:00:00","passed_qc":true}\n' $P $P |
  timeout 30 kcat -P -b "$B" -t topic2 -K $'\t' 2>>"$WORK/kcat.log" || it_fail "kcat poison failed"
data 3 $P $P
data 1 $G $G -H gk-produced-us=9223372036854775807
data 2 $G $G
data 3 $G $G
sleep 0.01
acks $G $G
for t in 1 2 3; do data "$t" $M $M; done

rc=0
"$GK_BIN/ack_delay" --csv "" --plots "" --timeout 120 >"$WORK/delay.out" 2>"$WORK/delay.log" || rc=$?
summary=$(cat "$WORK/delay.out")
it_log "$summary"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$summary"; }
it_expect "ack_delay exit status (one real violation)" "$rc" 65
it_expect "violations" "$(field violations)" 1
grep -q "violation missing_ack: event $M: missing ack" "$WORK/delay.log" ||
  it_fail "the real missing ack of event $M is not the violation: $(grep violation "$WORK/delay.log" | head -3)"
it_expect "cut partitions" "$(field cut_partitions)" 1
nj=$(field not_judged)
[ "$nj" -gt 0 ] && [ "$nj" -le "$cut" ] || it_fail "not_judged=$nj, want 1..$cut (the acks cut)"
grep -q "ack\[0\]: offsets 0..$((cut - 1)) were deleted (retention): the log starts at $cut" "$WORK/delay.log" ||
  it_fail "the cut is not reported: $(grep -i retention "$WORK/delay.log")"
it_expect "dead letters" "$(field dead_letters)" 1
grep -q "topic2\[0\] offset [0-9]*: dead letter: field 'lane': expected an integer" "$WORK/delay.log" ||
  it_fail "the dead letter is not named: $(grep 'dead letter' "$WORK/delay.log")"
it_expect "bad headers" "$(field bad_headers)" 1
grep -q "topic1\[0\] offset [0-9]*: not used: gk-produced-us header '9223372036854775807'" "$WORK/delay.log" ||
  it_fail "the bad header is not named: $(grep gk-produced-us "$WORK/delay.log")"
min=$(field min_ms)
awk -v m="$min" 'BEGIN { exit !(m >= 0 && m < 3600000) }' || it_fail "min_ms=$min: a bad header was used"
it_expect "incomplete events" "$(field incomplete)" 1
it_log "PASS"
