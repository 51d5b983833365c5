#!/usr/bin/env bash
# test_consumer_start.sh - what the consumers do before the cluster has
# answered (no broker at all: 127.0.0.1:1 refuses every connection):
#  - a librdkafka setting it refuses (-X with an unknown key or a bad value)
#    is a usage error, exit 64, whichever Kafka client a consumer creates
#    first, before any file is created;
#  - an unreachable cluster is said, every 10 s, with the bootstrap and the
#    last error, and a signal still stops the consumer at once;
#  - --connect-timeout bounds the wait: exit 69 with one line naming the
#    bootstrap and the error.
# brokers: none
# cost: 29
. "$(dirname "$0")/lib.sh"

BOOT=127.0.0.1:1

# Each program with its own store option.
store_of() {
  case $1 in
    ack_consumer) echo "--cache $WORK/$2" ;;
    db_consumer) echo "--db $WORK/$2.db" ;;
  esac
}

# -X settings librdkafka refuses: 64, the key named, nothing created.
for prog in ack_consumer db_consumer; do
  for kv in no.such.key=1 fetch.wait.max.ms=abc; do
    rc=0
    # shellcheck disable=SC2046 # the store option is two words
    timeout 30 "$GK_BIN/$prog" -b "$BOOT" -X "$kv" $(store_of $prog "x-$prog") >"$WORK/$prog.x.log" 2>&1 || rc=$?
    it_expect "$prog -X $kv: exit status" "$rc" 64
    grep -q "${kv%%=*}" "$WORK/$prog.x.log" || it_fail "$prog -X $kv: the key is not named: $(tail -n 2 "$WORK/$prog.x.log")"
  done
done
[ ! -e "$WORK/x-ack_consumer" ] || it_fail "ack_consumer created its cache before refusing its -X setting"
[ ! -e "$WORK/x-db_consumer.db" ] || it_fail "db_consumer created its database before refusing its -X setting"

# No bound: a WARN every 10 s naming the bootstrap and the refusal; SIGTERM
# still ends it at once.
it_start ack "$GK_BIN/ack_consumer" -b "$BOOT" --cache "$WORK/cache"
it_start db "$GK_BIN/db_consumer" -b "$BOOT" --db "$WORK/genetika.db"
sleep 22
for s in ack db; do
  n=$(grep -c "WARN: kafka: no answer from $BOOT for [0-9]* s .*Connection refused" "$WORK/$s.log" || true)
  [ "$n" -ge 2 ] || it_fail "$s: $n warnings in 22 s naming $BOOT and the refusal, want 2: $(tail -n 3 "$WORK/$s.log")"
  it_log "ok: $s: $n warnings in 22 s: $(grep -m1 "no answer from" "$WORK/$s.log" | sed 's/.*WARN: //')"
done
start=$SECONDS
kill -TERM "$PID_ack" "$PID_db"
it_wait_exit "$PID_ack" 5
it_expect "ack_consumer exit status after SIGTERM while waiting" "$IT_RC" 0
it_wait_exit "$PID_db" 5
it_expect "db_consumer exit status after SIGTERM while waiting" "$IT_RC" 0
it_log "ok: both stopped $((SECONDS - start)) s after SIGTERM"

# --connect-timeout: exit 69 once it has passed, one ERROR line saying why.
for prog in ack_consumer db_consumer; do
  start=$SECONDS
  rc=0
  timeout 60 "$GK_BIN/$prog" -b "$BOOT" --connect-timeout 3 $(store_of $prog "ct-$prog") >"$WORK/$prog.ct.log" 2>&1 || rc=$?
  took=$((SECONDS - start))
  it_expect "$prog --connect-timeout 3: exit status" "$rc" 69
  [ "$took" -le 10 ] || it_fail "$prog --connect-timeout 3 took $took s"
  line=$(grep "ERROR: kafka: no answer from $BOOT" "$WORK/$prog.ct.log" | head -n 1)
  [[ $line == *"Connection refused"*"--connect-timeout"* ]] ||
    it_fail "$prog: the error does not name the refusal and the bound: '$line' $(tail -n 2 "$WORK/$prog.ct.log")"
  it_log "ok: $prog gave up after $took s: ${line#*ERROR: }"
done
it_log "PASS"
