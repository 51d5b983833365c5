#!/usr/bin/env bash
# test_broker.sh - the embedded broker: address line, topics, produce/consume,
# SIGUSR1/SIGUSR2 fault injection, a clean exit on SIGTERM, a new cluster id
# per start, and -X reaching the client that hosts the cluster.
# brokers: embedded
source "$(dirname "$0")/lib.sh"

N=5
it_broker --partitions "$N"
ADDR=$KAFKA_BOOTSTRAP

# The address is the first stdout line, the same as in the address file, and
# the broker listens on loopback only.
for _ in $(seq 50); do [ -s "$WORK/broker.out" ] && break; sleep 0.1; done
it_expect "first stdout line" "$(head -n1 "$WORK/broker.out")" "$ADDR"
[[ "$ADDR" =~ ^127\.0\.0\.1:[0-9]+$ ]] || it_fail "address is not 127.0.0.1:PORT: $ADDR"
if command -v ss >/dev/null; then
  listen=$(ss -Hltnp 2>/dev/null | grep "pid=$PID_broker," | awk '{print $4}' | sort -u)
  [ -n "$listen" ] || it_fail "broker pid $PID_broker has no listening socket"
  for l in $listen; do
    [[ "$l" == 127.0.0.1:* ]] || it_fail "broker listens on $l, not loopback"
  done
  it_log "ok: listens only on $(echo $listen)"
fi

# Six topics (the data topics, ack, and ack_consumer's changelog and
# dead-letter topics), each with N partitions.
timeout 20 kcat -L -b "$ADDR" >"$WORK/meta.txt" || it_fail "kcat -L failed"
for t in topic1 topic2 topic3 ack ack-changelog ack-dead-letters; do
  grep -q "topic \"$t\" with $N partitions" "$WORK/meta.txt" || it_fail "topic $t lacks $N partitions: $(cat "$WORK/meta.txt")"
done
it_expect "topic count" "$(grep -c '^  topic "' "$WORK/meta.txt")" 6

# One message round trip.
echo "k1:hello" | timeout 20 kcat -P -b "$ADDR" -t topic2 -p 0 -K: -X message.timeout.ms=5000 ||
  it_fail "produce failed"
got=$(timeout 20 kcat -C -b "$ADDR" -t topic2 -o beginning -e -q -f '%k=%s\n')
it_expect "consumed message" "$got" "k1=hello"

# SIGUSR1: brokers down, a produce fails within its timeout.
kill -USR1 "$PID_broker"
for _ in $(seq 50); do grep -q "broker(s) DOWN" "$WORK/broker.log" && break; sleep 0.1; done
grep -q "broker(s) DOWN" "$WORK/broker.log" || it_fail "broker did not log the outage"
start=$(date +%s)
if echo "k2:lost" | timeout 20 kcat -P -b "$ADDR" -t topic2 -p 0 -K: -X message.timeout.ms=3000 \
     2>"$WORK/kcat_down.log"; then
  it_fail "produce succeeded while the broker was down"
fi
[ $(( $(date +%s) - start )) -lt 15 ] || it_fail "produce did not fail quickly while down"
it_log "ok: produce fails while down"

# SIGUSR2: back up, produce works again.
kill -USR2 "$PID_broker"
for _ in $(seq 50); do grep -q "broker(s) UP" "$WORK/broker.log" && break; sleep 0.1; done
echo "k3:again" | timeout 20 kcat -P -b "$ADDR" -t topic2 -p 0 -K: -X message.timeout.ms=10000 ||
  it_fail "produce failed after SIGUSR2"
got=$(timeout 20 kcat -C -b "$ADDR" -t topic2 -o beginning -e -q -f '%k=%s\n' | tr '\n' ' ')
it_expect "messages after outage" "$got" "k1=hello k3=again "

# SIGTERM: exits 0 and removes its address file.
kill -TERM "$PID_broker"
it_wait_exit "$PID_broker" 10
it_expect "broker exit status" "$IT_RC" 0
[ ! -e "$WORK/broker.addr" ] || it_fail "address file left behind"

# Each start is a new cluster, with an id of its own: a store kept from the
# last broker (run.sh keeps its database and ack state) must not take the
# next one for the same cluster. librdkafka's mock derives the id from a
# heap address, which repeats start after start under AddressSanitizer.
ids=""
for i in 1 2; do
  harness_embedded_cmd 1 "$WORK/again$i.addr"
  "${HARNESS_CMD[@]}" >/dev/null 2>"$WORK/again$i.log" &
  pid=$!
  GK_PIDS+=("$pid")
  harness_embedded_ready "$WORK/again$i.addr" "$pid" || it_fail "start $i: $HARNESS_ERROR"
  id=$("$GK_BIN/kafka_admin" -b "$HARNESS_BOOTSTRAP" --timeout 20 wait | sed -n 's/^cluster_id=\([^ ]*\).*/\1/p')
  [ -n "$id" ] || it_fail "start $i: kafka_admin wait reported no cluster id"
  kill -TERM "$pid"
  it_wait_exit "$pid" 10
  ids="$ids $id"
done
set -- $ids
[ "$1" != "$2" ] || it_fail "two starts of the broker gave the same cluster id $1"
it_log "ok: two starts, two cluster ids:$ids"

# -X reaches the client hosting the cluster: debug=mock shows the mock's own
# log (its request handling) at --log-level debug.
harness_embedded_cmd 1 "$WORK/x.addr" -X debug=mock --log-level debug
"${HARNESS_CMD[@]}" >/dev/null 2>"$WORK/x.log" &
pid=$!
GK_PIDS+=("$pid")
harness_embedded_ready "$WORK/x.addr" "$pid" || it_fail "-X debug=mock: $HARNESS_ERROR"
"$GK_BIN/kafka_admin" -b "$HARNESS_BOOTSTRAP" --timeout 20 wait >/dev/null || it_fail "-X debug=mock: no answer"
kill -TERM "$pid"
it_wait_exit "$pid" 10
it_expect "broker -X debug=mock exit status" "$IT_RC" 0
grep -q "MOCK" "$WORK/x.log" || it_fail "-X debug=mock: no mock debug line in $(wc -l <"$WORK/x.log") log lines"
it_log "ok: -X debug=mock: $(grep -c MOCK "$WORK/x.log") mock debug lines"
it_log "PASS"
