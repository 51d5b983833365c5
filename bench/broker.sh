# broker.sh - the brokers a benchmark pass runs on (sourced by bench/bench.sh).
#
# BENCH_BROKER_KIND names the pass: embedded or kafka. The stages call the
# same three functions on either: bench_broker (a fresh, empty broker),
# bench_broker_cpu (the CPU it has used so far) and bench_broker_stop.
#
# embedded: each bench_broker starts a new build/bin/broker process (its
# topics live in its memory); bench_broker_stop kills it, and GNU time
# reports its CPU and peak RSS in NAME.time like any other run.
#
# kafka: one real Kafka (scripts/kafka.sh) serves the whole pass, started by
# bench_kafka_start: a JVM started per repetition would cost seconds each
# and be measured while still compiling itself. Each bench_broker gives a
# fresh namespace on it instead: a topic prefix (GK_TOPIC_PREFIX, which every
# service and ack_delay apply to topic1..3, ack and the changelog) whose
# topics it creates with the partitions asked for, and consumer groups named
# after it. bench_broker_stop then writes NAME.time in GNU time's form with
# the CPU the JVM used between the two calls (from /proc/PID/stat) and the
# JVM's peak RSS so far (VmHWM: since its start, not per namespace), so every
# stage reads a broker's CPU and memory the same way on both.
#
# Kafka runs with its shipped settings (broker/kafka/server.properties) and
# the services with their own defaults: harness_env_cmd adds the
# embedded-only client settings only when HARNESS_BROKER_KIND is embedded.

BENCH_CLK_TCK=$(getconf CLK_TCK)

# bench_proc_cpu PID: CPU seconds (user + system) process PID has used so
# far; nothing if it is gone. Fields 14 and 15 of /proc/PID/stat, counted
# after the command name, which may hold spaces.
bench_proc_cpu() {
  sed 's/.*) //' "/proc/$1/stat" 2>/dev/null |
    awk -v hz="$BENCH_CLK_TCK" '{ printf "%.2f\n", ($12 + $13) / hz }'
}

# bench_proc_user_sys PID: "USER SYS" seconds of process PID.
bench_proc_user_sys() {
  sed 's/.*) //' "/proc/$1/stat" 2>/dev/null |
    awk -v hz="$BENCH_CLK_TCK" '{ printf "%.2f %.2f\n", $12 / hz, $13 / hz }'
}

# bench_kafka_ok: whether this machine can run the real Kafka (Java 17 and
# Maven, installed as root if missing); if not, BENCH_KAFKA_WHY says why.
bench_kafka_ok() {
  BENCH_KAFKA_WHY=""
  deps_kafka_ready && return 0
  if [ "$(id -u)" -eq 0 ] && deps_ensure kafka >/dev/null && deps_kafka_ready; then return 0; fi
  BENCH_KAFKA_WHY="no Java 17 runtime or no Maven to fetch Kafka once (apt-get install openjdk-17-jre-headless maven)"
  return 1
}

# bench_kafka_start DIR: starts the pass's real Kafka in DIR/kafka (fresh,
# no topics, stopped at the latest when bench.sh ends) and makes one write
# round trip on it; sets BENCH_KAFKA_BOOT, BENCH_KAFKA_PID, BENCH_KAFKA_DATA.
# Returns 1 with BENCH_KAFKA_WHY set if it cannot.
bench_kafka_start() {
  local dir=$1
  mkdir -p "$dir"
  BENCH_KAFKA_DATA=$dir/kafka
  if ! harness_kafka_sh start --data "$BENCH_KAFKA_DATA" --fresh --topics "" --stop-with $$ \
    >"$dir/kafka.addr" 2>"$dir/kafka.log"; then
    BENCH_KAFKA_WHY="the real Kafka did not start: $(grep 'error:' "$dir/kafka.log" | tail -n 1)"
    return 1
  fi
  BENCH_KAFKA_BOOT=$(head -n 1 "$dir/kafka.addr")
  BENCH_KAFKA_PID=$(cat "$BENCH_KAFKA_DATA/kafka.pid")
  harness_kafka_roundtrip "$BENCH_KAFKA_BOOT" "$dir/warmup.log" ||
    { BENCH_KAFKA_WHY=$HARNESS_ERROR; return 1; }
  bench_log "real Kafka at $BENCH_KAFKA_BOOT (pid $BENCH_KAFKA_PID, data $BENCH_KAFKA_DATA)"
}

# bench_kafka_warm: one untimed producer run of the pass's data set (BENCH_ROWS
# rows per file) on the pass's real Kafka, under the topic prefix
# BENCH_WARM_TP, before any stage is timed. A new JVM runs its first seconds
# of appends interpreted: of two runs of the same 3,000,000 messages on a
# fresh broker the first took 1.5 times as long (the producer and kcat
# alike), and whichever stage came first paid for it. Exits non-zero (in a
# subshell: bench_fail) if the run fails.
BENCH_WARM_TP=warm-warm-
bench_kafka_warm() {
  bench_data "$BENCH_ROWS" || bench_fail "datagen failed"
  bench_broker warm "$BENCH_PARTITIONS"
  [ "$BENCH_TP" = "$BENCH_WARM_TP" ] || bench_fail "warm-up prefix $BENCH_TP, expected $BENCH_WARM_TP"
  bench_run warm 1800 "$BENCH_BIN/producer" -b "$BOOTSTRAP" \
    "$BENCH_DATA/sim_file1.xlsx" "$BENCH_DATA/sim_file2.xlsx" "$BENCH_DATA/sim_file3.xlsx"
  bench_check_rc warm
  bench_log "real Kafka warmed up: the producer sent $BENCH_ROWS rows x 3 (untimed) at" \
    "$(bench_field "$BENCH_STAGE_DIR/warm.out" msgs_per_s) msgs/s"
  bench_broker_stop
}

# bench_kafka_stop: stops the pass's real Kafka, if one runs (bounded: kafka.sh
# kills it after 30 s).
bench_kafka_stop() {
  [ -n "${BENCH_KAFKA_DATA:-}" ] || return 0
  harness_kafka_sh stop --data "$BENCH_KAFKA_DATA" 2>/dev/null || true
  BENCH_KAFKA_DATA=""
}

# bench_broker NAME PARTITIONS: a fresh broker for the run NAME with
# topic1..3 and ack of PARTITIONS partitions; sets BOOTSTRAP, BROKER_NAME,
# BROKER_PARTS and BENCH_TP (the prefix of every topic name on it: "" on the embedded broker).
bench_broker() {
  local name=$1 parts=$2 d=$BENCH_STAGE_DIR
  BROKER_NAME=$name BROKER_PARTS=$parts
  if [ "$BENCH_BROKER_KIND" = kafka ]; then
    BENCH_TP="$(basename "$d")-$name-"
    export GK_TOPIC_PREFIX=$BENCH_TP
    export GK_DB_CONSUMER_GROUP=${BENCH_TP}genetika-db GK_ACK_CONSUMER_GROUP=${BENCH_TP}genetika-ack
    "$BENCH_BIN/kafka_admin" -b "$BENCH_KAFKA_BOOT" --partitions "$parts" --timeout 60 --log-level error \
      create >"$d/$name.topics" 2>&1 || bench_fail "cannot create the topics of $name: $(tail -n 1 "$d/$name.topics")"
    HARNESS_BROKER_KIND=kafka
    BOOTSTRAP=$BENCH_KAFKA_BOOT
    BROKER_PID=""
    read -r BROKER_USER0 BROKER_SYS0 <<<"$(bench_proc_user_sys "$BENCH_KAFKA_PID")"
    [ -n "$BROKER_SYS0" ] || bench_fail "the real Kafka (pid $BENCH_KAFKA_PID) is gone"
    BROKER_T0=$(bench_now_ns)
    return 0
  fi
  BENCH_TP=""
  rm -f "$d/$name.addr"
  harness_embedded_cmd "$parts" "$d/$name.addr"
  bench_start "$name" 7200 "${HARNESS_CMD[@]}"
  eval "BROKER_PID=\$PID_$name"
  harness_embedded_ready "$d/$name.addr" "$BROKER_PID" 10 ||
    bench_fail "$HARNESS_ERROR: $(tail -n 3 "$d/$name.err")"
  BOOTSTRAP=$HARNESS_BOOTSTRAP
}

# bench_broker_pid: the broker process itself (the embedded one runs under
# GNU time and timeout: the grandchild of BROKER_PID).
bench_broker_pid() {
  local p
  if [ "$BENCH_BROKER_KIND" = kafka ]; then echo "$BENCH_KAFKA_PID"; return; fi
  p=$(pgrep -P "$BROKER_PID" 2>/dev/null | head -n 1)
  [ -n "$p" ] && pgrep -P "$p" 2>/dev/null | head -n 1
}

# bench_broker_cpu: CPU seconds the current broker process has used so far
# (subtract two readings for the work between them).
bench_broker_cpu() {
  local p
  p=$(bench_broker_pid)
  [ -n "$p" ] || bench_fail "cannot find the broker's process"
  bench_proc_cpu "$p"
}

# bench_broker_stop: the end of the run of bench_broker. The embedded broker
# is killed at once (SIGKILL: its topics live only in memory, so nothing is
# lost that a clean stop would keep, and a clean stop of a full broker takes
# a second or more); GNU time still reports its CPU time and peak RSS. On the
# real Kafka the namespace is left as it is and BROKER_NAME.time is written.
bench_broker_stop() {
  local k u s hwm
  if [ "$BENCH_BROKER_KIND" = kafka ]; then
    read -r u s <<<"$(bench_proc_user_sys "$BENCH_KAFKA_PID")"
    [ -n "$s" ] || bench_fail "the real Kafka (pid $BENCH_KAFKA_PID) is gone"
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$BENCH_KAFKA_PID/status" 2>/dev/null)
    printf 'gk_time rss_kb=%s wall_s=%s user_s=%s sys_s=%s\n' "$hwm" \
      "$(bench_ns_to_s "$(($(bench_now_ns) - BROKER_T0))")" \
      "$(awk -v a="$u" -v b="$BROKER_USER0" 'BEGIN { printf "%.2f", a - b }')" \
      "$(awk -v a="$s" -v b="$BROKER_SYS0" 'BEGIN { printf "%.2f", a - b }')" \
      >"$BENCH_STAGE_DIR/$BROKER_NAME.time"
    return 0
  fi
  for k in $(pgrep -P "$BROKER_PID" 2>/dev/null); do pkill -KILL -P "$k" 2>/dev/null || true; done
  bench_stop "$BROKER_PID"
}

# bench_create_scalable_topics: the topics ack_consumer --mode scalable
# needs besides the pipeline's, with topic1's partitions, in the current
# namespace of the real Kafka: the compacted changelog its state lives in,
# and the dead-letter topic (kept for ever).
bench_create_scalable_topics() {
  "$BENCH_BIN/kafka_admin" -b "$BOOTSTRAP" --partitions "$BROKER_PARTS" -c cleanup.policy=compact --timeout 60 \
    --log-level error create "${BENCH_TP}ack-changelog" >>"$BENCH_STAGE_DIR/$BROKER_NAME.topics" 2>&1 &&
    "$BENCH_BIN/kafka_admin" -b "$BOOTSTRAP" --partitions "$BROKER_PARTS" -c retention.ms=-1 --timeout 60 \
      --log-level error create "${BENCH_TP}ack-dead-letters" >>"$BENCH_STAGE_DIR/$BROKER_NAME.topics" 2>&1 ||
    bench_fail "cannot create the scalable mode's topics: $(tail -n 1 "$BENCH_STAGE_DIR/$BROKER_NAME.topics")"
}
