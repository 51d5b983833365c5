#!/usr/bin/env bash
# kafka.sh - one real Apache Kafka node (KRaft: broker and controller in one
# JVM) on 127.0.0.1, without Docker and without a download site.
#
#   kafka.sh start [options]     prints the bootstrap address as its first line
#   kafka.sh stop [options]      clean stop (SIGTERM), bounded
#   kafka.sh status [options]    the address and pid, exit 3 if not running
#   kafka.sh fetch [--cache DIR] only resolve the jars into the cache
#
# start resolves Kafka and its dependencies once (broker/kafka/pom.xml, Maven
# Central) into a cache outside the source tree; a later start finds the
# cache complete and does not run Maven at all. Everything of one broker lives
# in its data directory: the server.properties written at its first start
# (free 127.0.0.1 ports picked then and kept, so that clients reconnect after
# a restart), the cluster id, the log (formatted once with StorageTool), the
# broker's own log files and its pid. The JVM runs detached from the caller
# with a bounded heap; start returns once the broker answers a metadata
# request (kafka_admin wait) and topic1..3 and ack exist (under
# GK_TOPIC_PREFIX, the pipeline's topic namespace, if set).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KAFKA_DIR=$ROOT/broker/kafka
POM=$KAFKA_DIR/pom.xml

usage() {
  cat <<USAGE
Usage: ./scripts/kafka.sh start|stop|status|fetch [options]

Runs one real Apache Kafka node (KRaft) on 127.0.0.1 from jars fetched once
from Maven Central (Java 17 and, for the first start, Maven needed).

start options:
  --data DIR            the broker's directory: config, log, pid; a later start
                        on the same DIR keeps the log and the ports [GK_KAFKA_DATA]
                        (default: out/kafka)
  --fresh               empty DIR first: a new cluster with new ports
  --partitions N        partitions of the created topics and of topics created
                        on first use (default 3; on a restart: as at the first
                        start) [GK_KAFKA_PARTITIONS]
  --topics LIST         topics to create (default: the pipeline's, topic1..3 and
                        ack under GK_TOPIC_PREFIX if set; "" none)
  --heap SIZE           JVM heap, -Xmx (default 512m) [GK_KAFKA_HEAP]
  --jvm-opts OPTS       more JVM options, words (the tests pass
                        -XX:TieredStopAtLevel=1: less CPU to start) [GK_KAFKA_JVM_OPTS]
  --set KEY=VALUE       a server.properties setting, repeatable; kept in DIR
  --server-properties FILE
                        template to use instead of broker/kafka/server.properties;
                        every @NAME_PORT@ placeholder gets a free port, log.dirs
                        is set to DIR/log; the bootstrap address is its first
                        advertised listener
  --cluster-id ID       format with this cluster id (default: a random one)
  --stop-with PID       stop the broker when process PID ends (for scripts and
                        tests: no broker outlives them)
  --timeout SECONDS     give up if not ready by then (default 120)
  --cache DIR           jar cache [GK_KAFKA_CACHE]
                        (default: \${XDG_CACHE_HOME:-~/.cache}/genetika)
stop options:
  --data DIR            as above
  --timeout SECONDS     SIGKILL after this long (default 30)
status options:
  --data DIR            as above
fetch: resolves the jars into the cache (if not complete) and prints where;
  --cache DIR as above

Exit status: 0 done; 1 a start that failed (one line on stderr says why: no
Java 17, Maven cannot resolve, port taken, log directory of another cluster,
...) or a stop that had to kill; 3 status: not running; 64 usage.
USAGE
}

say() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { printf 'kafka.sh: error: %s\n' "$*" >&2; exit 1; }
usage_error() { printf 'kafka.sh: %s (try --help)\n' "$*" >&2; exit 64; }

[ $# -ge 1 ] || usage_error "no command: start, stop, status or fetch"
CMD=$1
shift
case "$CMD" in
  start|stop|status|fetch) ;;
  -h|--help) usage; exit 0 ;;
  *) usage_error "unknown command '$CMD'" ;;
esac

DATA=${GK_KAFKA_DATA:-$ROOT/out/kafka}
FRESH=0
PARTITIONS=${GK_KAFKA_PARTITIONS:-}
TOPICS=-  # -: the pipeline's own (kafka_admin create with no names)
HEAP=${GK_KAFKA_HEAP:-512m}
EXTRA_JVM_OPTS=${GK_KAFKA_JVM_OPTS:-}
SETS=()
TEMPLATE=$KAFKA_DIR/server.properties
CLUSTER_ID=""
STOP_WITH=""
TIMEOUT=""
CACHE=${GK_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/genetika}
while [ $# -gt 0 ]; do
  opt=$1
  case "$opt" in
    -h|--help) usage; exit 0 ;;
    --fresh) FRESH=1; shift; continue ;;
  esac
  [ $# -ge 2 ] || usage_error "$opt needs a value"
  case "$opt" in
    --data) DATA=$2 ;;
    --partitions) PARTITIONS=$2 ;;
    --topics) TOPICS=$2 ;;
    --heap) HEAP=$2 ;;
    --jvm-opts) EXTRA_JVM_OPTS=$2 ;;
    --set) [[ $2 == ?*=* ]] || usage_error "--set: expected KEY=VALUE, got '$2'"; SETS+=("$2") ;;
    --server-properties) TEMPLATE=$2 ;;
    --cluster-id) CLUSTER_ID=$2 ;;
    --stop-with) STOP_WITH=$2 ;;
    --timeout) TIMEOUT=$2 ;;
    --cache) CACHE=$2 ;;
    *) usage_error "unknown option '$opt'" ;;
  esac
  shift 2
done
[ -z "$PARTITIONS" ] || [[ $PARTITIONS =~ ^[1-9][0-9]*$ ]] || usage_error "--partitions: expected a positive number, got '$PARTITIONS'"
[[ $HEAP =~ ^[1-9][0-9]*[mMgG]$ ]] || usage_error "--heap: expected e.g. 512m or 1g, got '$HEAP'"
[ -z "$TIMEOUT" ] || [[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || usage_error "--timeout: expected seconds, got '$TIMEOUT'"
[ -z "$STOP_WITH" ] || [[ $STOP_WITH =~ ^[1-9][0-9]*$ ]] || usage_error "--stop-with: expected a pid, got '$STOP_WITH'"
[ -f "$TEMPLATE" ] || usage_error "--server-properties: no file $TEMPLATE"
# The jars: resolved once per pom into CACHE/kafka-VERSION. A stamp with the
# pom's checksum marks a complete copy; when it matches, Maven is not run at
# all, so a second start works offline. Concurrent first starts take turns.
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")
[ -n "$KAFKA_VERSION" ] || die "no <kafka.version> in $POM"
JARS=$CACHE/kafka-$KAFKA_VERSION
STAMP=$(sha256sum "$POM" | cut -c1-16)
resolve_jars() {
  local mvn=${GK_MVN:-mvn} tmp log=$CACHE/kafka-$KAFKA_VERSION.mvn.log
  [ "$(cat "$JARS/.complete" 2>/dev/null)" = "$STAMP" ] && return 0
  command -v "$mvn" >/dev/null 2>&1 ||
    die "Maven is needed once to fetch Kafka $KAFKA_VERSION (Debian: apt-get install maven)"
  say "fetching Kafka $KAFKA_VERSION and its dependencies from Maven Central into $JARS (once)"
  tmp=$(mktemp -d "$CACHE/.kafka-$KAFKA_VERSION.XXXXXX")
  if ! "$mvn" -q -B -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$tmp" >"$log" 2>&1 || ! ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1; then
    rm -rf "$tmp"
    die "Maven cannot resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION (no network to Maven Central? a proxy?): $(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -m1 -E 'ERROR' | cut -c1-200) (log: $log)"
  fi
  echo "$STAMP" >"$tmp/.complete"
  rm -rf "$JARS"
  mv "$tmp" "$JARS"
}
# fetch_jars: resolve_jars under the cache's lock.
fetch_jars() {
  mkdir -p "$CACHE" || die "cannot create the cache $CACHE"
  exec 9>"$CACHE/.lock"
  flock 9
  resolve_jars
  flock -u 9
  exec 9>&-
}

if [ "$CMD" = fetch ]; then
  fetch_jars
  echo "$JARS"
  exit 0
fi

if [ "$CMD" = start ]; then
  mkdir -p "$DATA" 2>/dev/null || die "cannot create the data directory $DATA"
elif [ ! -d "$DATA" ]; then
  say "no broker running in $DATA (no such directory)"
  [ "$CMD" = status ] && exit 3
  exit 0
fi
DATA=$(cd "$DATA" && pwd)
PROPS=$DATA/server.properties
PIDFILE=$DATA/kafka.pid

# --- the running broker ------------------------------------------------------

# kafka_pid: the pid of the broker running on DATA, or nothing. A pid file
# whose process is gone, or is not this directory's kafka.Kafka, is stale.
kafka_pid() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $PROPS" && echo "$pid"
  return 0
}

# prop KEY: the value of KEY in the broker's server.properties.
prop() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$PROPS" | tail -n 1; }

# bootstrap: the host:port of the first advertised listener.
bootstrap() { prop advertised.listeners | cut -d, -f1 | sed 's#^[^:]*://##'; }

# --- stop and status ---------------------------------------------------------

if [ "$CMD" = status ]; then
  pid=$(kafka_pid)
  [ -n "$pid" ] || { say "no broker running in $DATA"; exit 3; }
  bootstrap
  echo "pid=$pid data=$DATA"
  exit 0
fi

# stop_broker SECONDS: SIGTERM (a controlled shutdown: the log is closed
# cleanly and needs no recovery at the next start), SIGKILL after SECONDS.
# Returns 1 if it had to kill.
stop_broker() {
  local pid limit=$1 waited=0
  pid=$(kafka_pid)
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if [ $waited -ge $((limit * 10)) ]; then
      kill -KILL "$pid" 2>/dev/null || true
      say "the broker (pid $pid) did not stop within ${limit}s: killed (its log is recovered at the next start)"
      rm -f "$PIDFILE"
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$PIDFILE"
  return 0
}

if [ "$CMD" = stop ]; then
  pid=$(kafka_pid)
  [ -n "$pid" ] || { say "no broker running in $DATA"; exit 0; }
  stop_broker "${TIMEOUT:-30}" || exit 1
  say "stopped the broker of $DATA (pid $pid)"
  exit 0
fi

# --- start: what it needs ----------------------------------------------------

TIMEOUT=${TIMEOUT:-120}
T_START=$(date +%s%N)
pid=$(kafka_pid)
[ -z "$pid" ] || die "a broker already runs on $DATA (pid $pid, $(bootstrap)): stop it first (kafka.sh stop --data $DATA)"

# Java 17 or newer: Kafka 4 is built for it.
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
command -v "$JAVA" >/dev/null 2>&1 ||
  die "no Java runtime ($JAVA not found): Kafka 4 needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)"
JAVA_MAJOR=$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -n 1)
[ "${JAVA_MAJOR:-0}" -ge 17 ] 2>/dev/null ||
  die "Java ${JAVA_MAJOR:-of unknown version} at $(command -v "$JAVA") is too old: Kafka 4 needs 17 or newer (Debian: apt-get install openjdk-17-jre-headless)"

# kafka_admin, from the build the caller uses (GK_BIN) or build/.
ADMIN=${GK_BIN:-$ROOT/build/bin}/kafka_admin
if [ ! -x "$ADMIN" ]; then
  [ -z "${GK_BIN:-}" ] || die "$ADMIN is missing (GK_BIN=$GK_BIN)"
  say "building kafka_admin into build/ (log: build/kafka_admin-build.log)"
  # shellcheck source=scripts/deps.sh
  . "$ROOT/scripts/deps.sh"
  deps_ensure run || exit 1
  mkdir -p "$ROOT/build"
  { [ -f "$ROOT/build/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release; } \
    >"$ROOT/build/kafka_admin-build.log" 2>&1 && cmake --build "$ROOT/build" --target kafka_admin \
    >>"$ROOT/build/kafka_admin-build.log" 2>&1 || die "building kafka_admin failed (see build/kafka_admin-build.log)"
fi
fetch_jars

# --- start: the data directory -----------------------------------------------

# free_port: a port no socket on this machine uses, below the range the
# kernel hands out to outgoing connections (so none can take it meanwhile).
USED_PORTS=" "
free_port() {
  local lo hi port tries=0
  if [ "$USED_PORTS" = " " ]; then
    # Every local port in use, from /proc (hex), plus the reserved ones.
    USED_PORTS=" $(awk 'FNR > 1 { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
      while read -r h; do printf '%d ' "$((16#$h))"; done)"
  fi
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
  [ "$lo" -gt 21000 ] || lo=61000 hi=65000 # an unusual range: use the top instead
  while :; do
    if [ "$lo" = 61000 ]; then port=$((61000 + RANDOM % 4000)); else port=$((20000 + RANDOM % (lo - 20000))); fi
    case "$USED_PORTS" in *" $port "*) ;; *) USED_PORTS="$USED_PORTS$port "; echo "$port"; return 0 ;; esac
    tries=$((tries + 1))
    [ $tries -lt 1000 ] || die "no free port found"
  done
}

# port_in_use PORT: whether a socket listens on PORT.
port_in_use() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v h=":$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# write_props: DATA/server.properties from the template, with a free port
# for every @..._PORT@ placeholder, log.dirs in DATA and the --set settings.
write_props() {
  local tmp=$PROPS.tmp ph
  sed -e "s#@LOG_DIR@#$DATA/log#g" -e "s#@PARTITIONS@#$PARTITIONS#g" "$TEMPLATE" >"$tmp"
  for ph in $(grep -o '@[A-Z0-9_]*PORT[A-Z0-9_]*@' "$tmp" | sort -u); do
    sed -i "s#$ph#$(free_port)#g" "$tmp"
  done
  ! grep -v '^[[:space:]]*#' "$tmp" | grep -q '@[A-Z0-9_]*@' || die "$TEMPLATE: unknown placeholder $(grep -o '@[A-Z0-9_]*@' "$tmp" | head -n 1)"
  if grep -q '^[[:space:]]*log\.dirs[[:space:]]*=' "$tmp"; then
    sed -i "s#^[[:space:]]*log\.dirs[[:space:]]*=.*#log.dirs=$DATA/log#" "$tmp"
  else
    echo "log.dirs=$DATA/log" >>"$tmp"
  fi
  mv "$tmp" "$PROPS"
}

# apply_sets: the --set settings replace their key in server.properties (or
# are added), so that they hold at this start and every later one.
apply_sets() {
  local kv key
  for kv in ${SETS[@]+"${SETS[@]}"}; do
    key=${kv%%=*}
    grep -v "^[[:space:]]*${key//./\\.}[[:space:]]*=" "$PROPS" >"$PROPS.tmp" || true
    printf '%s\n' "$kv" >>"$PROPS.tmp"
    mv "$PROPS.tmp" "$PROPS"
  done
}

# new_cluster_id: a random UUID in Kafka's base64 form (22 characters; Kafka
# never uses one that starts with '-').
new_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id == -* ]] || { echo "$id"; return; }
  done
}

if [ "$FRESH" = 1 ]; then
  rm -rf "$DATA/log" "$DATA/logs" "$PROPS" "$DATA/cluster.id" "$DATA/kafka.out" "$DATA/bootstrap"
fi
FIRST=0
if [ ! -f "$PROPS" ]; then
  FIRST=1
  PARTITIONS=${PARTITIONS:-3}
  [ ! -e "$DATA/log/meta.properties" ] ||
    die "$DATA/log holds a Kafka log this script did not start (cluster.id $(sed -n 's/^cluster.id=//p' "$DATA/log/meta.properties")): use another --data, or --fresh to empty it"
  write_props
  echo "${CLUSTER_ID:-$(new_cluster_id)}" >"$DATA/cluster.id"
fi
apply_sets
# A restart keeps the partition count of the first start (num.partitions).
[ -n "$PARTITIONS" ] || PARTITIONS=$(prop num.partitions)
PARTITIONS=${PARTITIONS:-3}
MY_ID=$(cat "$DATA/cluster.id" 2>/dev/null || true)
[ -n "$MY_ID" ] || die "$DATA/cluster.id is missing: start with --fresh for a new cluster"

# A log formatted for another cluster or node is refused here, in one line,
# rather than by a stack trace from the broker.
if [ -f "$DATA/log/meta.properties" ]; then
  have_id=$(sed -n 's/^cluster.id=//p' "$DATA/log/meta.properties")
  have_node=$(sed -n 's/^node.id=//p' "$DATA/log/meta.properties")
  if [ "$have_id" != "$MY_ID" ] || [ "$have_node" != "$(prop node.id)" ]; then
    die "$DATA/log belongs to another cluster (cluster.id $have_id, node.id $have_node; this directory's: $MY_ID, $(prop node.id)): use another --data, or --fresh to empty it"
  fi
fi

# Restarts keep their ports (clients hold the address): a taken one is an error.
if [ $FIRST = 0 ]; then
  for p in $(prop listeners | grep -o ':[0-9]*' | tr -d :); do
    ! port_in_use "$p" || die "port $p of $DATA/server.properties is taken by another process: stop it, or start with --fresh for new ports"
  done
fi

JVM_OPTS=(-Xmx"$HEAP" -Xms"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError
  -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties"
  -Dkafka.logs.dir="$DATA/logs")
# shellcheck disable=SC2206 # extra options are words
[ -z "$EXTRA_JVM_OPTS" ] || JVM_OPTS+=($EXTRA_JVM_OPTS)

if [ ! -f "$DATA/log/meta.properties" ]; then
  # A one-shot tool: C1 alone compiles what it runs in less CPU than C2 would.
  "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -cp "$JARS/*" -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
    -Dkafka.logs.dir="$DATA/logs" kafka.tools.StorageTool format -t "$MY_ID" -c "$PROPS" \
    >"$DATA/format.log" 2>&1 || die "formatting $DATA/log failed: $(grep -v '^\s*at ' "$DATA/format.log" | tail -n 1)"
fi

# --- start: the broker -------------------------------------------------------

# why_exited: one line on why the broker ended during start-up, from its logs.
why_exited() {
  local logs=("$DATA/kafka.out" "$DATA/logs/server.log") line
  line=$(grep -ho 'Socket server failed to bind to [^ ]*: Address already in use' "${logs[@]}" 2>/dev/null | head -n 1)
  [ -z "$line" ] || { echo "port taken: ${line#Socket server failed to bind to }"; return; }
  line=$(grep -hE 'Address already in use' "${logs[@]}" 2>/dev/null | head -n 1)
  [ -z "$line" ] || { echo "port taken: $line"; return; }
  line=$(grep -hE '(Invalid cluster.id|does not match|Stored node id)' "${logs[@]}" 2>/dev/null | head -n 1)
  [ -z "$line" ] || { echo "log directory of another cluster: $line"; return; }
  line=$(grep -hE ' (ERROR|FATAL) ' "$DATA/logs/server.log" 2>/dev/null | tail -n 1)
  [ -n "$line" ] || line=$(grep -v '^\s*at ' "$DATA/kafka.out" 2>/dev/null | tail -n 1)
  echo "${line:-no reason logged}"
}

# launch: starts the JVM and waits until it answers a metadata request
# listing itself (not a log line, not a sleep). Returns 0 when ready, 2 when
# it exited failing to bind a port; dies on anything else.
launch() {
  local deadline why
  ADDR=$(bootstrap)
  [ -n "$ADDR" ] || die "$PROPS has no advertised.listeners"
  mkdir -p "$DATA/logs"
  rm -f "$DATA/bootstrap" "$DATA/kafka.out"
  # setsid: its own session, so that a Ctrl-C meant for the caller does not
  # kill it uncleanly; stop (or --stop-with) ends it.
  setsid "$JAVA" "${JVM_OPTS[@]}" -cp "$JARS/*" kafka.Kafka "$PROPS" </dev/null >"$DATA/kafka.out" 2>&1 &
  JVM=$!
  echo "$JVM" >"$PIDFILE"
  if [ -n "$STOP_WITH" ]; then
    # A watcher stops the broker once the caller is gone, whichever way it went.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
      kill -0 "$2" 2>/dev/null && exec "$3" stop --data "$4"' watcher "$STOP_WITH" "$JVM" \
      "$ROOT/scripts/kafka.sh" "$DATA" </dev/null >/dev/null 2>&1 &
  fi
  deadline=$((SECONDS + TIMEOUT))
  while :; do
    if ! kill -0 "$JVM" 2>/dev/null; then
      rm -f "$PIDFILE"
      why=$(why_exited)
      [[ $why == "port taken:"* ]] && { WHY=$why; return 2; }
      die "the broker exited during start-up: $why (logs: $DATA/logs/server.log, $DATA/kafka.out)"
    fi
    "$ADMIN" -b "$ADDR" --timeout 2 --log-level error wait >"$DATA/ready" 2>>"$DATA/admin.log" && return 0
    if [ $SECONDS -ge $deadline ]; then
      stop_broker 10 || true
      die "the broker did not answer at $ADDR within ${TIMEOUT}s (logs: $DATA/logs/server.log)"
    fi
  done
}

# Ports picked at a first start can be taken by another process before the
# broker binds them (another broker starting at the same moment): then it
# tries again with new ones. Ports given, or kept from an earlier start, are
# an error.
tries=0
while :; do
  rc=0
  launch || rc=$?
  [ $rc = 0 ] && break
  # Only a port this script picked can be picked again: one written into the
  # template is the user's, and taken is an error.
  taken=$(printf '%s' "$WHY" | sed -n 's/^port taken: [^ ]*:\([0-9][0-9]*\).*/\1/p')
  if [ $FIRST = 1 ] && [ $tries -lt 3 ] && [ -n "$taken" ] &&
    ! grep -Eq "^[a-z.]*listeners=.*:$taken(,|\$)" "$TEMPLATE"; then
    tries=$((tries + 1))
    say "$WHY meanwhile: trying again with other ports"
    rm -rf "$DATA/logs"
    write_props
    apply_sets
    continue
  fi
  die "the broker exited during start-up: $WHY (logs: $DATA/logs/server.log, $DATA/kafka.out)"
done
READY_NS=$(date +%s%N)

if [ -n "$TOPICS" ]; then
  [ "$TOPICS" != - ] || TOPICS=""
  # shellcheck disable=SC2086 # a list of topic names
  "$ADMIN" -b "$ADDR" --partitions "$PARTITIONS" --timeout 60 create ${TOPICS//,/ } \
    >"$DATA/topics" 2>>"$DATA/admin.log" ||
    die "cannot create the topics ${TOPICS:-of the pipeline}: $(tail -n 1 "$DATA/admin.log")"
fi
echo "$ADDR" >"$DATA/bootstrap"
echo "$ADDR"
say "Kafka $KAFKA_VERSION at $ADDR (pid $JVM, data $DATA): answered $(( (READY_NS - T_START) / 1000000 )) ms after start, topics ready after $(( ($(date +%s%N) - T_START) / 1000000 )) ms"
