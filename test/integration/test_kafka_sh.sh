#!/usr/bin/env bash
# test_kafka_sh.sh - scripts/kafka.sh itself: the address as the first stdout
# line, loopback-only listeners, the topics with --partitions, status, a
# clean bounded stop, a restart on the same --data that keeps the log and the
# address and runs no Maven (the jar cache is complete), --stop-with, and a
# one-line error for each start that cannot work: no Java 17, Maven cannot
# resolve, port taken, a log directory of another cluster.
# brokers: kafka
# cost: 42
. "$(dirname "$0")/lib.sh"

KSH=$GK_SOURCE/scripts/kafka.sh
command -v java >/dev/null || it_skip "no Java runtime"
D=$WORK/k
# mvn_trap: a Maven that records being called and fails.
printf '#!/bin/sh\necho called >>"%s/mvn.called"\nexit 1\n' "$WORK" >"$WORK/mvn-trap"
chmod +x "$WORK/mvn-trap"

# one_error RC_WANT LOG: the start failed with RC_WANT and said why in one line.
one_error() {
  local rc=$1 log=$2
  it_expect "exit status ($(grep -o 'error: .*' "$log" | cut -c1-60)...)" "$rc" 1
  it_expect "error lines in $(basename "$log")" "$(grep -c 'error:' "$log")" 1
  if grep -qE '^\s+at |Exception' "$log"; then it_fail "stack trace in $(basename "$log"): $(head -n 3 "$log")"; fi
}

# 1. A start: the address first, loopback only, the topics, status.
t0=$(date +%s%N)
GK_BIN=$GK_BIN "$KSH" start --data "$D" --partitions 5 --stop-with $$ >"$WORK/start.out" 2>"$WORK/start.log" ||
  it_fail "start failed: $(cat "$WORK/start.log")"
ms=$((($(date +%s%N) - t0) / 1000000))
ADDR=$(head -n 1 "$WORK/start.out")
[[ $ADDR =~ ^127\.0\.0\.1:[0-9]+$ ]] || it_fail "first stdout line is not 127.0.0.1:PORT: $ADDR"
it_expect "stdout lines" "$(wc -l <"$WORK/start.out")" 1
PID=$(cat "$D/kafka.pid")
rss=$(awk '/^VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$PID/status")
it_log "started in $ms ms (a fresh log; jars from the cache), RSS $rss MiB: $(tail -n 1 "$WORK/start.log")"
if command -v ss >/dev/null; then
  listen=$(ss -Hltnp 2>/dev/null | grep "pid=$PID," | awk '{print $4}' | sort -u)
  [ -n "$listen" ] || it_fail "kafka pid $PID has no listening socket"
  # Java binds IPv6 sockets: 127.0.0.1 shows as [::ffff:127.0.0.1].
  for l in $listen; do
    [[ $l == 127.0.0.1:* || $l == "[::ffff:127.0.0.1]:"* ]] || it_fail "kafka listens on $l, not loopback"
  done
  it_log "ok: listens only on $(echo $listen)"
fi
"$GK_BIN/kafka_admin" -b "$ADDR" describe >"$WORK/describe.out" || it_fail "kafka_admin describe failed"
it_expect "topics" "$(tr '\n' ';' <"$WORK/describe.out")" \
  "ack partitions=5;topic1 partitions=5;topic2 partitions=5;topic3 partitions=5;"
"$KSH" status --data "$D" >"$WORK/status.out" 2>/dev/null || it_fail "status of a running broker failed"
it_expect "status" "$(tr '\n' ' ' <"$WORK/status.out")" "$ADDR pid=$PID data=$D "
echo "k1:kept" | timeout 30 kcat -P -b "$ADDR" -t topic1 -p 0 -K: || it_fail "produce failed"

rc=0; "$KSH" start --data "$D" >/dev/null 2>"$WORK/twice.log" || rc=$?
one_error "$rc" "$WORK/twice.log"
grep -q "already runs on $D" "$WORK/twice.log" || it_fail "second start: $(cat "$WORK/twice.log")"

# 2. A clean stop, bounded.
t0=$(date +%s%N)
"$KSH" stop --data "$D" 2>"$WORK/stop.log" || it_fail "stop failed: $(cat "$WORK/stop.log")"
it_log "ok: stopped in $((($(date +%s%N) - t0) / 1000000)) ms: $(cat "$WORK/stop.log")"
! kill -0 "$PID" 2>/dev/null || it_fail "the JVM still runs after stop"
grep -q "shut down completely" "$D/logs/server.log" || it_fail "no controlled shutdown in the broker's log"
rc=0; "$KSH" status --data "$D" >/dev/null 2>&1 || rc=$?
it_expect "status when stopped" "$rc" 3

# 3. A restart keeps log and address, and needs no Maven (nor the network).
GK_MVN=$WORK/mvn-trap GK_BIN=$GK_BIN "$KSH" start --data "$D" --stop-with $$ >"$WORK/restart.out" 2>"$WORK/restart.log" ||
  it_fail "restart failed: $(cat "$WORK/restart.log")"
it_expect "address after a restart" "$(head -n 1 "$WORK/restart.out")" "$ADDR"
[ ! -e "$WORK/mvn.called" ] || it_fail "a start with a complete jar cache ran Maven"
it_expect "message kept across the restart" \
  "$(timeout 30 kcat -C -b "$ADDR" -t topic1 -p 0 -o beginning -e -q -f '%k=%s\n')" "k1=kept"
"$KSH" stop --data "$D" 2>>"$WORK/stop.log" || it_fail "second stop failed"

# 4. One line for each start that cannot work.
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(600)' "${ADDR##*:}" &
squatter=$!; GK_PIDS+=("$squatter")
for _ in $(seq 50); do ss -Hltn "sport = :${ADDR##*:}" 2>/dev/null | grep -q . && break; sleep 0.1; done
rc=0; "$KSH" start --data "$D" >/dev/null 2>"$WORK/port.log" || rc=$?
one_error "$rc" "$WORK/port.log"
grep -q "port ${ADDR##*:} .* is taken" "$WORK/port.log" || it_fail "port taken: $(cat "$WORK/port.log")"
# The same port written into a template: the broker itself fails to bind.
sed "s/@PORT@/${ADDR##*:}/g" "$GK_SOURCE/broker/kafka/server.properties" >"$WORK/fixed.properties"
rc=0; GK_BIN=$GK_BIN "$KSH" start --data "$WORK/fixed" --server-properties "$WORK/fixed.properties" \
  >/dev/null 2>"$WORK/bind.log" || rc=$?
one_error "$rc" "$WORK/bind.log"
grep -q "exited during start-up: port taken: 127.0.0.1:${ADDR##*:}" "$WORK/bind.log" || it_fail "bind: $(cat "$WORK/bind.log")"
kill "$squatter"

mkdir -p "$WORK/other"
cp -a "$D/log" "$WORK/other/log"
rc=0; "$KSH" start --data "$WORK/other" >/dev/null 2>"$WORK/other.log" || rc=$?
one_error "$rc" "$WORK/other.log"
grep -q "holds a Kafka log this script did not start" "$WORK/other.log" || it_fail "foreign log: $(cat "$WORK/other.log")"
echo "AAAAAAAAAAAAAAAAAAAAAA" >"$D/cluster.id"
rc=0; "$KSH" start --data "$D" >/dev/null 2>"$WORK/cluster.log" || rc=$?
one_error "$rc" "$WORK/cluster.log"
grep -q "belongs to another cluster" "$WORK/cluster.log" || it_fail "other cluster: $(cat "$WORK/cluster.log")"

rc=0; JAVA_HOME=$WORK/nojava "$KSH" start --data "$WORK/j1" >/dev/null 2>"$WORK/nojava.log" || rc=$?
one_error "$rc" "$WORK/nojava.log"
grep -q "no Java runtime.*Java 17" "$WORK/nojava.log" || it_fail "no Java: $(cat "$WORK/nojava.log")"
mkdir -p "$WORK/oldjava/bin"
printf '#!/bin/sh\necho "openjdk version \\"11.0.22\\" 2024-01-16" >&2\n' >"$WORK/oldjava/bin/java"
chmod +x "$WORK/oldjava/bin/java"
rc=0; JAVA_HOME=$WORK/oldjava "$KSH" start --data "$WORK/j2" >/dev/null 2>"$WORK/oldjava.log" || rc=$?
one_error "$rc" "$WORK/oldjava.log"
grep -q "Java 11 .* too old" "$WORK/oldjava.log" || it_fail "old Java: $(cat "$WORK/oldjava.log")"

# A real Maven, offline with an empty repository: it cannot resolve.
if command -v mvn >/dev/null; then
  printf '#!/bin/sh\nexec mvn -o -Dmaven.repo.local="%s/emptyrepo" "$@"\n' "$WORK" >"$WORK/mvn-offline"
  chmod +x "$WORK/mvn-offline"
  rc=0; GK_MVN=$WORK/mvn-offline "$KSH" start --data "$WORK/m" --cache "$WORK/emptycache" >/dev/null \
    2>"$WORK/maven.log" || rc=$?
  one_error "$rc" "$WORK/maven.log"
  grep -q "Maven cannot resolve org.apache.kafka:kafka_2.13" "$WORK/maven.log" || it_fail "Maven: $(cat "$WORK/maven.log")"
  [ ! -e "$WORK/emptycache/kafka-"*/.complete ] || it_fail "a failed resolution left a complete-looking cache"
fi
for f in port bind other cluster nojava oldjava maven; do
  [ -f "$WORK/$f.log" ] && it_log "ok: $(grep -o 'error: .*' "$WORK/$f.log" | cut -c1-150)"
done

# 5. --stop-with: the broker ends when the process it was tied to ends.
sleep 300 &
holder=$!; GK_PIDS+=("$holder")
GK_BIN=$GK_BIN "$KSH" start --data "$WORK/tied" --stop-with "$holder" >/dev/null 2>"$WORK/tied.log" ||
  it_fail "start failed: $(cat "$WORK/tied.log")"
TPID=$(cat "$WORK/tied/kafka.pid")
kill "$holder"
for _ in $(seq 300); do kill -0 "$TPID" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$TPID" 2>/dev/null || it_fail "the broker outlived its --stop-with process by 30 s"
grep -q "shut down completely" "$WORK/tied/logs/server.log" || it_fail "--stop-with did not stop it cleanly"

rc=0; "$KSH" start --partitions x >/dev/null 2>&1 || rc=$?
it_expect "usage error" "$rc" 64
it_log "PASS"
