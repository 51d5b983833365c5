#!/usr/bin/env bash
# test_producer_outage.sh - the producer rides out a broker outage: 20,000
# rows at 2,000/s, the broker goes down after ~2 s and comes back ~10 s later;
# the producer must exit 0 and topic1 must hold every row exactly once.
# brokers: embedded kafka
# cost: 35
source "$(dirname "$0")/lib.sh"

ROWS=20000
"$GK_BIN/datagen" --rows "$ROWS" --seed 7 --files 1 --out "$WORK/data" >"$WORK/datagen.log" 2>&1 ||
  it_fail "datagen failed: $(cat "$WORK/datagen.log")"
it_broker

it_start producer "$GK_BIN/producer" --rate 2000 "$WORK/data/sim_file1.xlsx"
sleep 2
kill -0 "$PID_producer" 2>/dev/null || it_fail "producer ended before the outage"
it_broker_down
sleep 10
kill -0 "$PID_producer" 2>/dev/null || it_fail "producer gave up during the outage"
it_broker_up
it_wait_exit "$PID_producer" 120
it_expect "producer exit status" "$IT_RC" 0
if [ "$GK_TEST_BROKER" = embedded ]; then
  grep -q "DOWN" "$WORK/broker.log" && grep -q "UP" "$WORK/broker.log" || it_fail "no outage logged"
else
  grep -q "stopped the broker" "$WORK/kafka.log" || it_fail "no outage logged"
fi
grep -q "^producer: files=1 rows=$ROWS delivered=$ROWS failed=0 " "$WORK/producer.log" ||
  it_fail "producer summary: $(grep 'files=' "$WORK/producer.log")"

timeout 60 kcat -C -b "$KAFKA_BOOTSTRAP" -t topic1 -o beginning -e -q -f '%k\n' >"$WORK/keys.txt" ||
  it_fail "kcat failed"
it_expect "messages in topic1" "$(grep -c . "$WORK/keys.txt")" "$ROWS"
it_expect "distinct keys in topic1" "$(sort -u "$WORK/keys.txt" | grep -c .)" "$ROWS"
it_expect "keys are 1..$ROWS" "$(sort -n "$WORK/keys.txt" | sed -n '1p;$p' | tr '\n' ' ')" "1 $ROWS "
it_log "PASS"
