# lib.sh - shared helpers for the end-to-end tests (sourced, not run).
#
# Every test gets its own work directory and, on 127.0.0.1, its own broker:
# GK_TEST_BROKER=embedded (the default) or kafka (a real Kafka through
# scripts/kafka.sh; CTest registers each broker test once per broker, see
# CMakeLists.txt). A test that declares "# kafka: shared" uses the one real
# Kafka of the CTest run instead (GK_TEST_KAFKA_SHARED), in a namespace of
# its own: a topic prefix (GK_TOPIC_PREFIX, which every program applies to
# topic1..3 and ack) and consumer groups named after it; it_topic gives a
# topic's name in the test's namespace. Brokers and services
# are started through scripts/harness.sh; an EXIT trap stops every process
# the test started, whatever happens.
set -euo pipefail

GK_BIN=${GK_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/bin}
GK_TEST_BIN=${GK_TEST_BIN:-$(dirname "$GK_BIN")/test-bin}  # test helpers (ack_consumer_crash, ...)
GK_SOURCE=${GK_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
GK_TEST_BROKER=${GK_TEST_BROKER:-embedded}
unset GK_TOPIC_PREFIX # the test's namespace is set by it_broker, never inherited
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gk-test.XXXXXX")
GK_PIDS=()
HARNESS_BIN=$GK_BIN
# shellcheck source=scripts/harness.sh
. "$GK_SOURCE/scripts/harness.sh"
# shellcheck source=test/integration/lib_pg.sh
. "$GK_SOURCE/test/integration/lib_pg.sh"

it_log() { printf '[%s:%s] %s\n' "$(basename "$0" .sh)" "$GK_TEST_BROKER" "$*" >&2; }
it_fail() { it_log "FAIL: $*"; exit 1; }

# ctest shows exit 77 as "skipped" (SKIP_RETURN_CODE).
it_skip() { it_log "SKIPPED: $*"; exit 77; }

it_cleanup() {
  local rc=$?
  for pid in "${GK_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${GK_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$HARNESS_BROKER_KIND" = kafka ] && [ -z "${IT_SHARED:-}" ]; then harness_broker_stop || true; fi
  it_pg_cleanup
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    it_log "work directory kept for inspection: $WORK"
    # The shared Kafka's own logs outlive the run when one of its tests failed
    # (shared_kafka.sh stop keeps them): what the broker did is evidence too.
    [ -z "${IT_SHARED:-}" ] || echo "$WORK" >>"$GK_TEST_KAFKA_SHARED/failed-tests"
    for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f (tail)"; tail -n 30 "$f"; } >&2; done
  else
    [ -n "${GK_TEST_KEEP:-}" ] && it_log "work directory kept (GK_TEST_KEEP): $WORK" || rm -rf "$WORK"
  fi
  exit "$rc"
}
trap it_cleanup EXIT

# it_start NAME CMD... : starts CMD in the background, logging to $WORK/NAME.log,
# with what the broker needs the service to be told (harness_env_cmd); the
# pid is remembered for cleanup and stored in the variable PID_<NAME>.
it_start() {
  local name=$1; shift
  harness_env_cmd "$@"
  "${HARNESS_CMD[@]}" >"$WORK/$name.log" 2>&1 &
  local pid=$!
  GK_PIDS+=("$pid")
  printf -v "PID_$name" '%s' "$pid"
}

# it_broker [--partitions N] [ARGS...] : starts the test's broker (N
# partitions of topic1..3 and ack, default 3; ARGS go to build/bin/broker or
# kafka.sh start) and exports KAFKA_BOOTSTRAP. PID_broker is the embedded
# broker's process or the Kafka JVM.
it_broker() {
  local parts=3
  if [ "${1:-}" = --partitions ]; then parts=$2; shift 2; fi
  if [ "$GK_TEST_BROKER" = kafka ] && [ -n "${GK_TEST_KAFKA_SHARED:-}" ] &&
    grep -q '^# kafka: shared' "$0"; then
    # The run's shared Kafka (test/integration/shared_kafka.sh): the test
    # uses topics of its own and never stops or reconfigures it.
    [ -s "$GK_TEST_KAFKA_SHARED/kafka.addr" ] || it_fail "the shared Kafka is not running ($GK_TEST_KAFKA_SHARED)"
    [ $# -eq 0 ] || it_fail "a test on the shared Kafka cannot configure it ($*)"
    IT_SHARED=1
    HARNESS_BROKER_KIND=kafka
    HARNESS_BROKER_DIR=$GK_TEST_KAFKA_SHARED
    KAFKA_BOOTSTRAP=$(head -n 1 "$GK_TEST_KAFKA_SHARED/kafka.addr")
    PID_broker=$(cat "$GK_TEST_KAFKA_SHARED/kafka/kafka.pid")
    export KAFKA_BOOTSTRAP
    # Its namespace: topics and groups no other test of the run uses (the
    # pid tells two runs of one test apart).
    GK_TOPIC_PREFIX="it-$(basename "$0" .sh)-$$-"
    GK_DB_CONSUMER_GROUP=${GK_TOPIC_PREFIX}genetika-db
    GK_ACK_CONSUMER_GROUP=${GK_TOPIC_PREFIX}genetika-ack
    export GK_TOPIC_PREFIX GK_DB_CONSUMER_GROUP GK_ACK_CONSUMER_GROUP
    "$GK_BIN/kafka_admin" --partitions "$parts" --timeout 60 --log-level error create \
      >"$WORK/topics" 2>&1 || it_fail "cannot create the test's topics: $(tail -n 1 "$WORK/topics")"
    it_log "shared Kafka at $KAFKA_BOOTSTRAP, topics $(tr '\n' ' ' <"$WORK/topics")"
    return 0
  fi
  if [ "$GK_TEST_BROKER" = kafka ] && ! command -v "${JAVA_HOME:+$JAVA_HOME/bin/}java" >/dev/null; then
    it_skip "no Java runtime for a real Kafka"
  fi
  harness_broker_start "$GK_TEST_BROKER" "$WORK" "$parts" "$@" || it_fail "broker: $HARNESS_ERROR"
  PID_broker=$HARNESS_BROKER_PID
  [ "$GK_TEST_BROKER" = embedded ] && GK_PIDS+=("$PID_broker")
  KAFKA_BOOTSTRAP=$HARNESS_BOOTSTRAP
  export KAFKA_BOOTSTRAP
  it_log "$GK_TEST_BROKER broker at $KAFKA_BOOTSTRAP"
}

# it_broker_down / it_broker_up : an outage of the test's broker (see
# harness_broker_down).
it_broker_down() {
  [ -z "${IT_SHARED:-}" ] || it_fail "a test on the shared Kafka cannot take it down"
  harness_broker_down || it_fail "broker down: $HARNESS_ERROR"
  it_log "broker DOWN"
}
it_broker_up() {
  harness_broker_up || it_fail "broker up: $HARNESS_ERROR"
  it_log "broker UP"
}

# it_wait_exit PID SECONDS : waits for PID to exit; fails after SECONDS.
# Sets IT_RC to its exit status.
it_wait_exit() {
  harness_wait_exit "$1" "$2" || it_fail "$HARNESS_ERROR"
  IT_RC=$HARNESS_RC
}

# it_sql DB SQL : runs a query on DB (a SQLite file, or the PostgreSQL URI
# of it_database) and prints the result.
it_sql() {
  if it_is_pg "$1"; then psql "$1" -X -q -A -t -v ON_ERROR_STOP=1 -c "$2"; else sqlite3 -batch -noheader "$1" "$2"; fi
}

# it_expect NAME GOT WANT : fails unless GOT equals WANT.
it_expect() {
  [ "$2" = "$3" ] || it_fail "$1: got '$2', want '$3'"
  it_log "ok: $1 = $2"
}

# it_scale SHORT FULL : picks the short or full size of a long test
# (GK_TEST_SCALE=short in CI by default, full for a thorough local run).
it_scale() { if [ "${GK_TEST_SCALE:-short}" = full ]; then echo "$2"; else echo "$1"; fi; }

# it_keys TOPIC : prints the key of every message of TOPIC, as a downstream
# reader sees it: committed transactions only (read_committed). A short fetch
# wait: kcat -e ends once every partition has reported its end, and on a
# topic still being written each report can otherwise take a 500 ms wait.
it_keys() {
  timeout 60 kcat -C -b "$KAFKA_BOOTSTRAP" -t "$1" -o beginning -e -q -X isolation.level=read_committed \
    -X fetch.wait.max.ms=10 -f '%k\n' 2>>"$WORK/kcat.log"
}

# it_topic NAME : the name of topic NAME (topic1..3, ack) in the test's
# namespace (see it_broker).
it_topic() { echo "${GK_TOPIC_PREFIX:-}$1"; }

# it_ack_keys : prints the keys of every message on the ack topic.
it_ack_keys() { it_keys "$(it_topic ack)"; }

# it_check_exact N DB : every table holds exactly the event ids 1..N once,
# and the ack topic exactly N messages with N distinct event ids.
it_check_exact() {
  local n=$1 db=$2 t
  for t in data1 data2 data3; do
    it_expect "$t rows" "$(it_sql "$db" "SELECT count(*) FROM $t")" "$n"
    it_expect "$t ids 1..$n" "$(it_sql "$db" "SELECT count(DISTINCT event_id) FROM $t WHERE event_id BETWEEN 1 AND $n")" "$n"
  done
  it_expect "dead letters" "$(it_sql "$db" "SELECT count(*) FROM dead_letters")" 0
  it_ack_keys >"$WORK/ack.keys"
  it_expect "ack messages" "$(wc -l <"$WORK/ack.keys")" "$n"
  it_expect "distinct acked ids" "$(sort -u "$WORK/ack.keys" | wc -l)" "$n"
}

# it_free_ports N : N distinct 127.0.0.1 ports nothing listens on right now
# (for a service whose port must be known before it starts).
it_free_ports() {
  /usr/bin/python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# it_event T ID : a valid message of topic T (1..3) for event ID, as kcat -K
# '\t' takes it: the key, a tab, the JSON row.
it_event() {
  case $1 in
    1) printf '%d\t{"event_id":%d,"sample_id":"S-%d","patient_id":"P-%d","specimen_type":"blood","collected_at":"2024-03-01T08:%02d:00","volume_ml":4.5,"consent_research":true}\n' "$2" "$2" "$2" "$2" $(($2 % 60)) ;;
    2) printf '%d\t{"event_id":%d,"run_id":"RUN-%d","instrument":"NovaSeq 6000","lane":%d,"read_count":%d,"q30_pct":91.5,"mean_coverage":32.25,"sequenced_at":"2024-03-02T09:%02d:00","passed_qc":false}\n' "$2" "$2" "$2" $(($2 % 4 + 1)) $(($2 * 1000)) $(($2 % 60)) ;;
    3) printf '%d\t{"event_id":%d,"gene":"BRCA2","chrom":"13","position":%d,"ref":"C","alt":"T","zygosity":"heterozygous","quality":88.5,"classification":"benign","called_at":"2024-03-03T10:%02d:00.250"}\n' "$2" "$2" $((32315000 + $2)) $(($2 % 60)) ;;
  esac
}

# it_scale_topics PARTS : on a real Kafka, creates the topics of ack_consumer
# --mode scalable as docker-compose.yaml's kafka-init does: the compacted
# changelog and the kept dead letters, PARTS partitions each (the embedded
# broker creates them itself).
it_scale_topics() {
  [ "$GK_TEST_BROKER" = kafka ] || return 0
  "$GK_BIN/kafka_admin" -b "$KAFKA_BOOTSTRAP" --partitions "$1" -c cleanup.policy=compact \
    create "$(it_topic ack-changelog)" >"$WORK/admin.log" 2>&1 &&
  "$GK_BIN/kafka_admin" -b "$KAFKA_BOOTSTRAP" --partitions "$1" -c retention.ms=-1 \
    create "$(it_topic ack-dead-letters)" >>"$WORK/admin.log" 2>&1 ||
    it_fail "cannot create the scalable mode's topics: $(tail -n 1 "$WORK/admin.log")"
}

# it_wait_assigned NAME... : waits (up to 30 s) until each named service's log
# says it owns partitions, so that what is produced next is consumed live.
it_wait_assigned() {
  local name pid
  for name in "$@"; do
    eval "pid=\$PID_$name"
    harness_wait_assigned "$WORK/$name.log" "$pid" 30 || it_fail "$name $HARNESS_ERROR"
  done
}
