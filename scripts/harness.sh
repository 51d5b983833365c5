# harness.sh - starting brokers and services: the one place run.sh, bench/
# and the integration tests take it from (sourced, not run).
#
# It knows how each broker is started, found ready, taken down and brought
# back, and stopped - the embedded one (build/bin/broker, librdkafka's mock)
# and a real Kafka (scripts/kafka.sh) - what only the embedded broker needs
# the services to be told, and how to tell that a consumer owns its
# partitions. Process bookkeeping (log files, timing, cleanup traps) stays
# with the callers, which differ there.
#
# Settings: HARNESS_BIN, the programs (default: GK_BIN, else build/bin).
# A function that fails returns non-zero with one line in HARNESS_ERROR.

HARNESS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HARNESS_BIN=${HARNESS_BIN:-${GK_BIN:-$HARNESS_ROOT/build/bin}}
HARNESS_BROKER_KIND=""  # embedded or kafka, once a broker was started
HARNESS_BROKER_DIR=""   # its files
HARNESS_BROKER_PID=""   # the embedded broker's process, or the Kafka JVM
HARNESS_BOOTSTRAP=""
HARNESS_ERROR=""

harness_fail() { HARNESS_ERROR=$*; return 1; }

# --- what only the embedded broker needs -------------------------------------

# harness_mock_config SERVICE: the librdkafka settings SERVICE needs on the
# embedded broker alone. The mock never answers a waiting fetch before
# fetch.wait.max.ms is over (a real Kafka answers as soon as data arrives),
# so the consumers wait little there: ack_consumer 1 ms (its delay is the
# measured one), db_consumer 10 ms (not on the ack path: fewer idle requests,
# less CPU taken from the others on a small machine). The mock does not let
# a static member (ack_consumer --transactional-id) take the place of its
# predecessor with the same group.instance.id: it waits out the old session,
# so there ack_consumer's session is the short one of a dynamic member.
harness_mock_config() {
  case "$1" in
    ack_consumer) echo "fetch.wait.max.ms=1;session.timeout.ms=6000" ;;
    db_consumer) echo "fetch.wait.max.ms=10" ;;
  esac
}

# harness_kafka_config SERVICE [BASE]: KAFKA_CONFIG for SERVICE on the current
# broker: the embedded broker's settings first, then BASE (default: the
# caller's KAFKA_CONFIG), which therefore wins.
harness_kafka_config() {
  local mock="" base=${2-${KAFKA_CONFIG:-}}
  [ "$HARNESS_BROKER_KIND" = embedded ] && mock=$(harness_mock_config "$1")
  if [ -n "$mock" ] && [ -n "$base" ]; then echo "$mock;$base"; else echo "$mock$base"; fi
}

# harness_env_cmd CMD...: sets HARNESS_CMD to CMD run with what the broker
# needs the service to be told (an env prefix; CMD may itself start with
# "env VAR=value ..."). Other programs are left as they are.
harness_env_cmd() {
  local i=0 args=("$@") svc kc
  if [ "${args[0]:-}" = env ]; then
    i=1
    while [ $i -lt ${#args[@]} ] && [[ ${args[$i]} == *=* ]]; do i=$((i + 1)); done
  fi
  svc=$(basename "${args[$i]:-}")
  kc=$(harness_kafka_config "$svc")
  if [ -z "$(harness_mock_config "$svc")" ] || [ -z "$kc" ]; then
    HARNESS_CMD=("$@")
  else
    HARNESS_CMD=(env "KAFKA_CONFIG=$kc" "$@")
  fi
}

# --- brokers -----------------------------------------------------------------

# harness_embedded_cmd PARTITIONS ADDRESS_FILE [ARGS...]: sets HARNESS_CMD to
# the embedded broker's command line (for callers that launch it themselves).
harness_embedded_cmd() {
  local parts=$1 addr=$2
  shift 2
  HARNESS_CMD=("$HARNESS_BIN/broker" --partitions "$parts" --address-file "$addr" "$@")
}

# harness_embedded_ready ADDRESS_FILE PID [SECONDS]: waits (default 10 s)
# until the embedded broker PID has written its address; sets
# HARNESS_BOOTSTRAP.
harness_embedded_ready() {
  local file=$1 pid=$2 limit=${3:-10} i
  for ((i = 0; i < limit * 10; i++)); do
    [ -s "$file" ] && break
    kill -0 "$pid" 2>/dev/null || harness_fail "the embedded broker exited at start" || return 1
    sleep 0.1
  done
  [ -s "$file" ] || harness_fail "the embedded broker did not report its address within ${limit}s" || return 1
  HARNESS_BOOTSTRAP=$(head -n 1 "$file")
  HARNESS_BROKER_KIND=embedded
}

# harness_kafka_sh ARGS...: scripts/kafka.sh with this harness's programs.
harness_kafka_sh() { GK_BIN=$HARNESS_BIN "$HARNESS_ROOT/scripts/kafka.sh" "$@"; }

# harness_broker_start KIND DIR PARTITIONS [ARGS...]: starts a fresh broker
# of KIND (embedded or kafka) with topic1..3 and ack of PARTITIONS partitions;
# its files go to DIR (broker.log; a real Kafka's data in DIR/kafka, its
# start-up messages in DIR/kafka.log). ARGS go to build/bin/broker or to
# kafka.sh start. A real Kafka is stopped at the latest when this shell ends.
# Sets HARNESS_BOOTSTRAP, HARNESS_BROKER_PID, HARNESS_BROKER_KIND/DIR.
harness_broker_start() {
  local kind=$1 dir=$2 parts=$3
  shift 3
  HARNESS_BROKER_DIR=$dir
  case "$kind" in
    embedded)
      rm -f "$dir/broker.addr"
      harness_embedded_cmd "$parts" "$dir/broker.addr" "$@"
      "${HARNESS_CMD[@]}" >"$dir/broker.out" 2>"$dir/broker.log" &
      HARNESS_BROKER_PID=$!
      harness_embedded_ready "$dir/broker.addr" "$HARNESS_BROKER_PID" ||
        harness_fail "$HARNESS_ERROR: $(tail -n 1 "$dir/broker.log")" || return 1
      ;;
    kafka)
      HARNESS_BROKER_KIND=kafka
      harness_kafka_sh start --data "$dir/kafka" --fresh --partitions "$parts" --stop-with $$ "$@" \
        >"$dir/kafka.addr" 2>"$dir/kafka.log" ||
        harness_fail "$(grep 'error:' "$dir/kafka.log" | tail -n 1)" || return 1
      HARNESS_BOOTSTRAP=$(head -n 1 "$dir/kafka.addr")
      HARNESS_BROKER_PID=$(cat "$dir/kafka/kafka.pid")
      ;;
    *) harness_fail "unknown broker kind '$kind' (embedded or kafka)"; return 1 ;;
  esac
}

# harness_kafka_roundtrip BOOTSTRAP LOG: writes one message with an
# idempotent producer and reads it back, up to 30 tries (errors to LOG):
# an idempotent producer's first message to a broker seconds old was twice
# reported delivered and missing from the log (test_crash:kafka, the first
# test on a fresh broker: CI of 7146ba6 and ca7a37c), so whoever shares a
# fresh Kafka starts on one that has already taken, kept and served one.
# Sets HARNESS_TRIES.
harness_kafka_roundtrip() {
  local boot=$1 log=$2 i
  for i in $(seq 30); do
    HARNESS_TRIES=$i
    printf 'warm-%s\n' "$i" | timeout 20 kcat -P -b "$boot" -t it-warmup -k w \
      -X enable.idempotence=true -X acks=all 2>>"$log" || true
    if timeout 20 kcat -C -b "$boot" -t it-warmup -o beginning -e -q -f '%s\n' 2>>"$log" |
      grep -qx "warm-$i"; then return 0; fi
    sleep 1
  done
  harness_fail "a message written to the fresh Kafka at $boot was not read back within 30 tries"
}

# harness_broker_stop: stops the broker of harness_broker_start cleanly
# (bounded: SIGKILL after 10 s for the embedded one, 30 s for Kafka).
harness_broker_stop() {
  case "$HARNESS_BROKER_KIND" in
    embedded) harness_stop "$HARNESS_BROKER_PID" 10 ;;
    kafka) harness_kafka_sh stop --data "$HARNESS_BROKER_DIR/kafka" 2>>"$HARNESS_BROKER_DIR/kafka.log" ;;
  esac
}

# harness_broker_down / harness_broker_up: an outage. The embedded broker
# refuses every connection while down (SIGUSR1/SIGUSR2); a real Kafka is
# stopped and started again on the same data and ports.
harness_broker_down() {
  case "$HARNESS_BROKER_KIND" in
    embedded) kill -USR1 "$HARNESS_BROKER_PID" ;;
    kafka) harness_kafka_sh stop --data "$HARNESS_BROKER_DIR/kafka" 2>>"$HARNESS_BROKER_DIR/kafka.log" ;;
  esac
}
harness_broker_up() {
  case "$HARNESS_BROKER_KIND" in
    embedded) kill -USR2 "$HARNESS_BROKER_PID" ;;
    kafka) harness_broker_restart ;;
  esac
}

# harness_broker_crash: SIGKILL of the broker process, as a power cut or an
# OOM kill would end it; waits until it is gone. A real Kafka keeps what it
# had written (the page cache survives the process) and recovers its log at
# the next start; the embedded broker loses everything.
harness_broker_crash() {
  local i
  kill -KILL "$HARNESS_BROKER_PID" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$HARNESS_BROKER_PID" 2>/dev/null || return 0; sleep 0.1; done
  harness_fail "broker pid $HARNESS_BROKER_PID still there after SIGKILL"
}

# harness_broker_restart: starts a real Kafka again on its data (after a
# stop or a crash); same address.
harness_broker_restart() {
  harness_kafka_sh start --data "$HARNESS_BROKER_DIR/kafka" --stop-with $$ \
    >"$HARNESS_BROKER_DIR/kafka.addr" 2>>"$HARNESS_BROKER_DIR/kafka.log" ||
    harness_fail "$(grep 'error:' "$HARNESS_BROKER_DIR/kafka.log" | tail -n 1)" || return 1
  HARNESS_BROKER_PID=$(cat "$HARNESS_BROKER_DIR/kafka/kafka.pid")
}

# --- services ----------------------------------------------------------------

# harness_wait_assigned LOG PID [SECONDS]: waits (default 30 s) until the
# consumer PID logs to LOG that it owns partitions, so that what is produced
# next is consumed live.
harness_wait_assigned() {
  local log=$1 pid=$2 limit=${3:-30} i
  for ((i = 0; i < limit * 10; i++)); do
    grep -q "assigned [1-9][0-9]* partition" "$log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || harness_fail "exited before it was assigned partitions" || return 1
    sleep 0.1
  done
  grep -q "assigned [1-9][0-9]* partition" "$log" 2>/dev/null ||
    harness_fail "got no partitions within ${limit}s"
}

# harness_wait_exit PID SECONDS: waits for PID (a child of this shell) to
# exit; sets HARNESS_RC to its status. Fails if it still runs after SECONDS.
harness_wait_exit() {
  local pid=$1 limit=$2 i
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && { harness_fail "process $pid still running after ${limit}s"; return 1; }
  HARNESS_RC=0
  wait "$pid" 2>/dev/null || HARNESS_RC=$?
  return 0
}

# harness_stop PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 5).
harness_stop() {
  local pid=$1 limit=${2:-5} i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
