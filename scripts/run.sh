#!/usr/bin/env bash
# run.sh - run the whole Genetika+ pipeline once, from a fresh clone.
#
# Installs missing Debian packages (as root; otherwise prints the apt-get
# line), builds into build/, starts a broker - the embedded one, or a real
# Kafka with --broker kafka (scripts/kafka.sh), unless --bootstrap or
# KAFKA_BOOTSTRAP names one already running - starts db_consumer and
# ack_consumer, produces data/sim_file{1,2,3}.xlsx, waits until every row is
# in the database and every event is acknowledged, stops everything, runs the
# ack-delay analysis and prints one summary line. Files go to out/. With
# --console it also starts the console (console/) once the broker is up, and
# after the summary keeps the broker and the console running until Ctrl-C.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/deps.sh
. scripts/deps.sh
# shellcheck source=scripts/harness.sh
. scripts/harness.sh

usage() {
  cat <<USAGE
Usage: ./scripts/run.sh [options]

Runs the whole pipeline on the sample data and prints a summary line.

Options:
  --broker KIND          embedded (default: librdkafka's mock in a process of its
                         own, starts at once) or kafka (a real Apache Kafka, started
                         with scripts/kafka.sh in OUT/kafka) [GK_RUN_BROKER]
  --bootstrap HOST:PORT  use this running Kafka instead of starting a broker
                         (--bootstrap-server, as the Kafka tools spell it, too)
                         (topic1..3 and ack must exist) [KAFKA_BOOTSTRAP]
  --rows N               generate N events per file into out/data/ and use them
                         instead of data/sim_file{1,2,3}.xlsx
  --partitions N         partitions per topic of the broker started (default 3)
  --rate EVENTS_PER_S    pace the producer at this many events per second per file
                         (default: as fast as possible)
  --timeout SECONDS      give up waiting for the consumers after this long (default 120)
  --out DIR              output directory (default out)
  --db DB                db_consumer's database: a SQLite file (default
                         OUT/genetika.db) or a PostgreSQL URI or key=value
                         string, e.g. the one scripts/postgres.sh start prints
                         (give a password in PGPASSWORD or a password file)
  --bin DIR              use the programs already built in DIR instead of
                         building into build/ [GK_RUN_BIN]
  --console              also serve the console page (read-only) while the
                         pipeline runs, and after the summary keep it and the
                         broker up until Ctrl-C [GK_RUN_CONSOLE=1]
  --console-addr HOST:PORT
                         where the console listens (default 127.0.0.1:8080; a
                         bare PORT: 127.0.0.1) [GK_RUN_CONSOLE_ADDR]
  -h, --help             show this help

Outputs: OUT/genetika.db (SQLite, without --db), OUT/ack-cache (LMDB), OUT/ack_delay.csv,
OUT/timestamps.png, OUT/delay.png, OUT/logs/*.log; with --broker kafka the
broker's data and logs in OUT/kafka (emptied at every run, like the embedded
broker's memory: each run is a new cluster) and kafka.sh's in OUT/kafka.log.
Exit status: 0 when every event of this run is in every table of the database
(which may hold earlier runs' too) and acknowledged, with no new dead letter
(with --console: the same, once Ctrl-C has stopped everything).
USAGE
}

BOOTSTRAP=${KAFKA_BOOTSTRAP:-}
BROKER=${GK_RUN_BROKER:-embedded}
ROWS=""
RATE=0
PARTITIONS=3
TIMEOUT=120
OUT=out
DB=""
RUN_BIN=${GK_RUN_BIN:-}
CONSOLE=${GK_RUN_CONSOLE:-0}
CONSOLE_ADDR=${GK_RUN_CONSOLE_ADDR:-127.0.0.1:8080}
while [ $# -gt 0 ]; do
  case "$1" in
    --bootstrap|--bootstrap-server) BOOTSTRAP=$2; shift 2 ;;
    --broker) BROKER=$2; shift 2 ;;
    --rows) ROWS=$2; shift 2 ;;
    --partitions) PARTITIONS=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --db) DB=$2; shift 2 ;;
    --bin) RUN_BIN=$2; shift 2 ;;
    --console) CONSOLE=1; shift ;;
    --console-addr) CONSOLE_ADDR=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (try --help)" >&2; exit 64 ;;
  esac
done

case "$BROKER" in
  embedded|kafka) ;;
  *) echo "run.sh: --broker: expected embedded or kafka, got '$BROKER'" >&2; exit 64 ;;
esac
case "$CONSOLE" in
  0|1) ;;
  *) echo "run.sh: GK_RUN_CONSOLE: expected 0 or 1, got '$CONSOLE'" >&2; exit 64 ;;
esac

say() { printf 'run.sh: %s\n' "$*" >&2; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }

deps_ensure run || exit 1
# The one rule of what --db names is db_consumer's (db_consumer/store.h):
# a postgresql:// or postgres:// URI, or a key=value string.
DB=${DB:-$OUT/genetika.db}
PG=0
if [[ $DB == postgresql://* || $DB == postgres://* || $DB =~ ^[A-Za-z_]+\ *= ]]; then
  PG=1
  command -v psql >/dev/null || deps_ensure postgres || exit 1
fi
if [ "$BROKER" = kafka ] && [ -z "$BOOTSTRAP" ]; then
  deps_kafka_ready || deps_ensure kafka || exit 1
fi

mkdir -p "$OUT/logs"
LOGS=$OUT/logs
if [ -n "$RUN_BIN" ]; then
  BIN=$(cd "$RUN_BIN" && pwd) || die "--bin $RUN_BIN: no such directory"
  say "using the programs in $BIN (--bin): not building"
else
  say "building (build/, log in $LOGS/build.log)"
  if [ ! -f build/CMakeCache.txt ]; then
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >"$LOGS/build.log" 2>&1 ||
      { tail -n 40 "$LOGS/build.log" >&2; die "cmake failed"; }
  fi
  cmake --build build -j"$(nproc)" >>"$LOGS/build.log" 2>&1 ||
    { tail -n 40 "$LOGS/build.log" >&2; die "build failed (see $LOGS/build.log)"; }
  BIN=$ROOT/build/bin
fi
HARNESS_BIN=$BIN
DATA=data
if [ -n "$ROWS" ]; then
  DATA=$OUT/data
  mkdir -p "$DATA"
  say "generating $ROWS events per file into $DATA/"
  "$BIN/datagen" --rows "$ROWS" --out "$DATA" 2>"$LOGS/datagen.log" || die "datagen failed (see $LOGS/datagen.log)"
fi
for i in 1 2 3; do
  [ -f "$DATA/sim_file$i.xlsx" ] || die "$DATA/sim_file$i.xlsx is missing (regenerate with: $BIN/datagen --out $DATA)"
done

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$HARNESS_BROKER_KIND" = kafka ]; then harness_broker_stop || true; fi
  HARNESS_BROKER_KIND=""
}
trap cleanup EXIT

if [ -n "$BOOTSTRAP" ]; then
  say "using Kafka at $BOOTSTRAP"
elif [ "$BROKER" = embedded ]; then
  harness_broker_start embedded "$LOGS" "$PARTITIONS" || die "$HARNESS_ERROR (see $LOGS/broker.log)"
  PIDS+=("$HARNESS_BROKER_PID")
  BOOTSTRAP=$HARNESS_BOOTSTRAP
  say "embedded broker at $BOOTSTRAP (in memory: its topics vanish when this run ends)"
else
  say "starting a real Kafka in $OUT/kafka (a new cluster each run; the first start fetches it from Maven Central)"
  mkdir -p "$OUT"
  rm -rf "$OUT/kafka"
  harness_broker_start kafka "$OUT" "$PARTITIONS" || die "$HARNESS_ERROR (see $OUT/kafka.log)"
  BOOTSTRAP=$HARNESS_BOOTSTRAP
  say "Kafka at $BOOTSTRAP (pid $HARNESS_BROKER_PID; logs: $OUT/kafka.log, $OUT/kafka/logs/server.log)"
fi
export KAFKA_BOOTSTRAP=$BOOTSTRAP
CONSOLE_URL=""
if [ "$CONSOLE" = 1 ]; then
  rm -f "$LOGS/console.log"
  "$BIN/console" --addr "$CONSOLE_ADDR" --db "$DB" 2>"$LOGS/console.log" &
  CONSOLE_PID=$!
  PIDS+=("$CONSOLE_PID")
  # Its first line says where it listens (the port chosen for :0 too).
  for ((i = 0; i < 100; i++)); do
    # || true: the console may not have created its log yet (sed fails, and
    # with pipefail and -e that ended run.sh without a word).
    CONSOLE_URL=$(sed -n 's/.*serving \(http:[^ ]*\).*/\1/p' "$LOGS/console.log" 2>/dev/null | head -n 1 || true)
    [ -n "$CONSOLE_URL" ] && break
    kill -0 "$CONSOLE_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$CONSOLE_URL" ] || { tail -n 3 "$LOGS/console.log" >&2; die "the console did not start (see $LOGS/console.log)"; }
  say "console at $CONSOLE_URL (read-only; log in $LOGS/console.log)"
fi
# Dead letters stored from now on are this run's (the format of db_consumer's
# received_at, so that the two compare as text).
RUN_START=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
# The last run's logs go first: a background service truncates its own log
# only once it starts, and until then the wait for its assignment below
# would find the last run's line and let the producer start at once.
rm -f "$LOGS/db_consumer.log" "$LOGS/ack_consumer.log"

harness_env_cmd "$BIN/db_consumer" --db "$DB" --idle-exit 3
"${HARNESS_CMD[@]}" >"$OUT/db_consumer.summary" 2>"$LOGS/db_consumer.log" &
DB_PID=$!
PIDS+=($DB_PID)
harness_env_cmd "$BIN/ack_consumer" --cache "$OUT/ack-cache" --idle-exit 3
"${HARNESS_CMD[@]}" >"$OUT/ack_consumer.summary" 2>"$LOGS/ack_consumer.log" &
ACK_PID=$!
PIDS+=($ACK_PID)

# Produce once both consumers own their partitions, so that the ack delay
# measures live streaming, not a backlog. Nothing is lost if this wait times
# out: the consumers start from the stored offsets or the beginning.
harness_wait_assigned "$LOGS/db_consumer.log" $DB_PID 30 ||
  { kill -0 $DB_PID 2>/dev/null || die "db_consumer exited early (see $LOGS/db_consumer.log)"; }
harness_wait_assigned "$LOGS/ack_consumer.log" $ACK_PID 30 ||
  { kill -0 $ACK_PID 2>/dev/null || die "ack_consumer exited early (see $LOGS/ack_consumer.log)"; }

say "producing $DATA/sim_file{1,2,3}.xlsx"
set +e
"$BIN/producer" --rate "$RATE" "$DATA/sim_file1.xlsx" "$DATA/sim_file2.xlsx" "$DATA/sim_file3.xlsx" \
  >"$OUT/producer.summary" 2>"$LOGS/producer.log"
rc=$?
set -e
[ $rc -eq 0 ] || { tail -n 5 "$LOGS/producer.log" >&2; die "producer failed with exit status $rc (see $LOGS/producer.log)"; }
cat "$OUT/producer.summary" >&2

# Wait for both consumers to finish their work and exit by themselves.
waited=0
for pid in $DB_PID $ACK_PID; do
  while kill -0 "$pid" 2>/dev/null; do
    [ $waited -ge $((TIMEOUT * 10)) ] &&
      die "consumers still busy after ${TIMEOUT}s: not every row/ack arrived (see $LOGS/)"
    sleep 0.1; waited=$((waited + 1))
  done
  rc=0; wait "$pid" || rc=$?
  [ $rc -eq 0 ] || die "consumer $pid exited with status $rc (see $LOGS/)"
done
cat "$OUT/db_consumer.summary" "$OUT/ack_consumer.summary" >&2

say "analysing ack delays"
set +e
"$BIN/ack_delay" --csv "$OUT/ack_delay.csv" --plots "$OUT" >"$OUT/ack_delay.summary" 2>"$LOGS/ack_delay.log"
arc=$?
set -e
cat "$OUT/ack_delay.summary" >&2
[ $arc -eq 0 ] || say "ack_delay reported problems (exit $arc, see $LOGS/ack_delay.log)"

field() { sed -n "s/.*[ :]$1=\([^ ]*\).*/\1/p" "$OUT/ack_delay.summary" | head -n1; }
EVENTS=$(field events)
ACKS=$(field distinct_acks)
P50=$(field p50_ms)
P99=$(field p99_ms)
# The dead letters on this run's topics, as ack_delay finds them: the
# database keeps one per topic/partition/offset, so one of a new cluster at
# an offset an old cluster's dead letter holds would not show as new there.
TOPIC_DL=$(field dead_letters)
# A run judges its own events: the database may be kept from earlier runs
# (other rows, other events), so only the rows of the events ack_delay found
# on this run's topics count - its CSV lists each by id - and only the dead
# letters stored since this run started.
tail -n +2 "$OUT/ack_delay.csv" 2>/dev/null | cut -d, -f1 >"$OUT/run_events.txt" || true
RUN_COUNTS="SELECT (SELECT count(*) FROM data1 WHERE event_id IN (SELECT event_id FROM run_events)),
       (SELECT count(*) FROM data2 WHERE event_id IN (SELECT event_id FROM run_events)),
       (SELECT count(*) FROM data3 WHERE event_id IN (SELECT event_id FROM run_events)),
       (SELECT count(*) FROM dead_letters WHERE received_at >= '$RUN_START');"
if [ $PG = 1 ]; then
  counts=$(psql "$DB" -X -q -A -t -F ' ' -v ON_ERROR_STOP=1 <<SQL
CREATE TEMP TABLE run_events (event_id bigint PRIMARY KEY);
\\copy run_events FROM '$OUT/run_events.txt' WITH (FORMAT csv)
$RUN_COUNTS
SQL
  ) || die "cannot count this run's rows in the PostgreSQL database"
else
  counts=$(sqlite3 -readonly -bail -batch -noheader -separator ' ' "$DB" <<SQL
CREATE TEMP TABLE run_events (event_id INTEGER PRIMARY KEY);
.import --csv '$OUT/run_events.txt' run_events
$RUN_COUNTS
SQL
  ) || die "cannot count this run's rows in $DB"
fi
read -r D1 D2 D3 DL <<<"$counts"

# Without the console everything stops now; with it, after Ctrl-C.
if [ "$CONSOLE" = 0 ]; then
  cleanup
  trap - EXIT
fi

echo "summary: events=${EVENTS:-?} data1=$D1 data2=$D2 data3=$D3 acks=${ACKS:-?} dead_letters=$DL ack_delay_p50_ms=${P50:-?} ack_delay_p99_ms=${P99:-?}"
verdict=0
if [ "$arc" -ne 0 ] || [ -z "$EVENTS" ] || [ "$D1" != "$EVENTS" ] || [ "$D2" != "$EVENTS" ] ||
  [ "$D3" != "$EVENTS" ] || [ "$ACKS" != "$EVENTS" ] || [ "$DL" != 0 ] || [ "${TOPIC_DL:-0}" != 0 ]; then
  [ "$CONSOLE" = 0 ] &&
    die "incomplete: every table and the ack topic should hold this run's $EVENTS events, with no new dead letters"
  say "error: incomplete: every table and the ack topic should hold this run's $EVENTS events, with no new dead letters"
  verdict=1
fi
if [ "$CONSOLE" = 1 ]; then
  # The page stays live on the broker and the database as they are now:
  # until Ctrl-C (or SIGTERM), which stops the console and the broker.
  say "console at $CONSOLE_URL with the broker at $BOOTSTRAP: Ctrl-C stops both"
  STOP=0
  trap 'STOP=1' INT TERM
  while [ "$STOP" = 0 ] && kill -0 "$CONSOLE_PID" 2>/dev/null; do
    sleep 0.5 &
    wait $! 2>/dev/null || true
  done
  trap - INT TERM
  # A Ctrl-C at a terminal reached the console and the broker too: let them
  # finish on that one signal before the console gets its own (a second
  # signal would stop it at once, status 130).
  for ((i = 0; i < 20; i++)); do
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  # The console's own status: 0 once a signal stopped it (also the Ctrl-C of
  # a shell that ignores SIGINT, which this loop cannot see), 130 after a
  # second one; anything else is a failure to report.
  kill -TERM "$CONSOLE_PID" 2>/dev/null || true
  crc=0
  wait "$CONSOLE_PID" 2>/dev/null || crc=$?
  if [ $crc != 0 ] && [ $crc != 130 ]; then
    tail -n 3 "$LOGS/console.log" >&2
    say "error: the console exited with status $crc (see $LOGS/console.log)"
    verdict=1
  fi
  say "stopping the console and the broker"
  cleanup
  trap - EXIT
  exit $verdict
fi
