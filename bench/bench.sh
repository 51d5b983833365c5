#!/usr/bin/env bash
# bench.sh - measure every stage of the pipeline against its physical limit.
#
# Installs missing Debian packages (as root), builds into build/ (Release)
# unless --bin names ready binaries, generates the workbooks once into
# bench/work/data/ (reused by later runs), then runs the stages (bench/stage_*.sh)
# once per broker (bench/broker.sh: the embedded one, then a real Kafka), each
# figure the median of --reps (--kafka-reps) repetitions and each limit
# measured on the same broker in the same pass. Prints one table (stage,
# broker, figure, limit, ratio to limit, target), the growth table and the
# targets, writes them as JSON to OUT/<date>-<host>.json (and, for a run of
# every stage, OUT/latest.json) and draws the growth chart (OUT/growth.png). bench/README.md explains how
# to read it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/deps.sh
. scripts/deps.sh

usage() {
  cat <<USAGE
Usage: ./bench/bench.sh [options]   (./scripts/bench.sh forwards here)

Benchmarks producer, db_consumer (SQLite, and PostgreSQL with one and three
instances), ack_consumer, the whole pipeline, its growth, ack latency and
memory against their limits, on the embedded broker and on a real Kafka;
prints the table, the growth table and the targets, and writes JSON.

Options:
  --broker WHICH          embedded, kafka or both: every stage runs on each, its
                          limit beside it on the same broker (default: both where
                          the real Kafka can start - Java 17 and Maven, installed as
                          root if missing - else embedded, saying why) [GK_BENCH_BROKER]
  --rows N                events per file for the producer, end-to-end and
                          memory stages (default 1000000)
  --reps N                repetitions per figure on the embedded broker; the median
                          is reported (default 2: the whole run stays under 15 minutes)
  --kafka-reps N          the same on the real Kafka (default 1: its pass adds the
                          growth stage and two ack_consumer modes, and the whole
                          bench.sh stays under 15 minutes)
  --stages LIST           comma-separated subset of:
                          producer,db,ack,e2e,growth,latency,memory,pg,day
                          (or 1..8 for all but growth; default all)
  --growth-sizes LIST     events of each growth run, real Kafka only (default
                          100000,1000000; the 1,000,000 run is the end-to-end
                          stage's when both run; 10000000 adds about 6 minutes
                          of data generation once, in parts, then about 7 minutes per run)
  --latency-modes LIST    ack_consumer modes of the latency stage: single,scalable
                          (default both; scalable on the real Kafka only)
  --quick                 tiny sizes, one repetition, one latency rate (smoke test:
                          1-2 minutes per broker; the figures mean nothing)
  --partitions N          partitions per topic on the embedded broker (default 16:
                          it keeps 5 MiB per partition)
  --kafka-partitions N    partitions per topic on the real Kafka (default 3, as
                          docker-compose.yaml creates them)
  --prefill N             events pre-filled for the db, ack and pg stages (default 200000;
                          must fit the embedded broker's 5 MiB per partition)
  --latency-seconds S     duration of each paced latency run (default 20, so that
                          the whole run stays under 15 minutes; the issue's full
                          length, 60, adds about 4 minutes)
  --latency-rates LIST    paced rates in events/s (default 1000,10000)
  --latency-reps N        repetitions of each latency run (default 1: one 20 s run
                          holds 20,000 to 200,000 delays; 3 triples the stage)
  --mem-small N           rows of the small memory run (default 10000)
  --extract-partitions N  partitions of the broker the producer's values are
                          extracted from for kcat (default 64)
  --seed S                datagen seed (default 42)
  --bin DIR               use the binaries in DIR, do not build [GK_BIN]
  --work DIR              data cache and run logs (default bench/work)
  --out DIR               where the JSON and growth.png go (default bench/results;
                          with --quick: WORK/results-quick)
  -h, --help              show this help

Exit status: 0 when every stage ran (a missed target is a result, not an
error), 1 when a stage failed (named under the table), 64 usage.
USAGE
}

BENCH_BROKER=${GK_BENCH_BROKER:-}
BENCH_ROWS=1000000
BENCH_REPS=2
BENCH_KAFKA_REPS=1
BENCH_KAFKA_PARTITIONS=3
BENCH_GROWTH_SIZES=100000,1000000
BENCH_LAT_MODES=single,scalable
DEFAULT_STAGES=producer,db,ack,e2e,growth,latency,memory,pg,day
STAGES=$DEFAULT_STAGES
QUICK=0
BENCH_PARTITIONS=16
BENCH_PREFILL=200000
BENCH_LAT_SECONDS=20
BENCH_LAT_RATES=1000,10000
BENCH_LAT_REPS=1
BENCH_MEM_SMALL=10000
BENCH_EXTRACT_PARTITIONS=64
BENCH_SEED=42
BENCH_BIN=${GK_BIN:-}
BENCH_WORK=$ROOT/bench/work
OUT=""
declare -A SET=()
while [ $# -gt 0 ]; do
  opt=$1
  case "$opt" in
    -h|--help) usage; exit 0 ;;
    --quick) QUICK=1; shift; continue ;;
  esac
  [ $# -ge 2 ] || { echo "bench.sh: $opt needs a value (try --help)" >&2; exit 64; }
  case "$opt" in
    --broker) BENCH_BROKER=$2 ;;
    --rows) BENCH_ROWS=$2 ;;
    --reps) BENCH_REPS=$2 ;;
    --kafka-reps) BENCH_KAFKA_REPS=$2 ;;
    --kafka-partitions) BENCH_KAFKA_PARTITIONS=$2 ;;
    --growth-sizes) BENCH_GROWTH_SIZES=$2 ;;
    --latency-modes) BENCH_LAT_MODES=$2 ;;
    --stages) STAGES=$2 ;;
    --partitions) BENCH_PARTITIONS=$2 ;;
    --prefill) BENCH_PREFILL=$2 ;;
    --latency-seconds) BENCH_LAT_SECONDS=$2 ;;
    --latency-rates) BENCH_LAT_RATES=$2 ;;
    --latency-reps) BENCH_LAT_REPS=$2 ;;
    --mem-small) BENCH_MEM_SMALL=$2 ;;
    --extract-partitions) BENCH_EXTRACT_PARTITIONS=$2 ;;
    --seed) BENCH_SEED=$2 ;;
    --bin) BENCH_BIN=$2 ;;
    --work) BENCH_WORK=$2 ;;
    --out) OUT=$2 ;;
    *) echo "bench.sh: unknown option '$opt' (try --help)" >&2; exit 64 ;;
  esac
  SET[$opt]=1
  shift 2
done
if [ "$QUICK" = 1 ]; then # smoke sizes, unless given explicitly
  [ -n "${SET[--rows]:-}" ] || BENCH_ROWS=3000
  [ -n "${SET[--reps]:-}" ] || BENCH_REPS=1
  [ -n "${SET[--prefill]:-}" ] || BENCH_PREFILL=3000
  [ -n "${SET[--latency-seconds]:-}" ] || BENCH_LAT_SECONDS=1
  [ -n "${SET[--mem-small]:-}" ] || BENCH_MEM_SMALL=1000
  [ -n "${SET[--partitions]:-}" ] || BENCH_PARTITIONS=4
  [ -n "${SET[--extract-partitions]:-}" ] || BENCH_EXTRACT_PARTITIONS=4
  [ -n "${SET[--latency-rates]:-}" ] || BENCH_LAT_RATES=1000
  [ -n "${SET[--growth-sizes]:-}" ] || BENCH_GROWTH_SIZES=1000,$BENCH_ROWS
  BENCH_IDLE_EXIT=2
fi
for v in BENCH_ROWS BENCH_REPS BENCH_KAFKA_REPS BENCH_KAFKA_PARTITIONS BENCH_PARTITIONS BENCH_PREFILL BENCH_LAT_SECONDS BENCH_LAT_REPS \
  BENCH_MEM_SMALL BENCH_EXTRACT_PARTITIONS BENCH_SEED; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: ${v#BENCH_} must be a positive integer, got '${!v}'" >&2; exit 64; }
done
[[ $BENCH_LAT_RATES =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] ||
  { echo "bench.sh: --latency-rates: expected e.g. 1000,10000" >&2; exit 64; }
BENCH_LAT_RATES=${BENCH_LAT_RATES//,/ }
[[ $BENCH_GROWTH_SIZES =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] ||
  { echo "bench.sh: --growth-sizes: expected e.g. 100000,1000000" >&2; exit 64; }
BENCH_GROWTH_SIZES=${BENCH_GROWTH_SIZES//,/ }
[[ $BENCH_LAT_MODES =~ ^(single|scalable)(,(single|scalable))*$ ]] ||
  { echo "bench.sh: --latency-modes: expected single, scalable or single,scalable" >&2; exit 64; }
BENCH_LAT_MODES=${BENCH_LAT_MODES//,/ }
case "${BENCH_BROKER:-}" in
  ""|embedded|kafka|both) ;;
  *) echo "bench.sh: --broker: expected embedded, kafka or both, got '$BENCH_BROKER'" >&2; exit 64 ;;
esac
[ "$BENCH_PREFILL" -le "$BENCH_ROWS" ] || BENCH_PREFILL=$BENCH_ROWS
RUN_STAGES=()
for s in ${STAGES//,/ }; do
  case "$s" in
    growth) RUN_STAGES+=(growth) ;;
    1|producer) RUN_STAGES+=(producer) ;;
    2|db|db_consumer) RUN_STAGES+=(db) ;;
    3|ack|ack_consumer) RUN_STAGES+=(ack) ;;
    4|e2e|end_to_end) RUN_STAGES+=(e2e) ;;
    5|latency) RUN_STAGES+=(latency) ;;
    6|memory) RUN_STAGES+=(memory) ;;
    7|pg|postgresql) RUN_STAGES+=(pg) ;;
    8|day) RUN_STAGES+=(day) ;;
    *) echo "bench.sh: --stages: unknown stage '$s'" >&2; exit 64 ;;
  esac
done
mkdir -p "$BENCH_WORK"
BENCH_WORK=$(cd "$BENCH_WORK" && pwd)
[ -n "$OUT" ] || { if [ "$QUICK" = 1 ]; then OUT=$BENCH_WORK/results-quick; else OUT=$ROOT/bench/results; fi; }

say() { printf 'bench.sh: %s\n' "$*" >&2; }
die() { printf 'bench.sh: error: %s\n' "$*" >&2; exit 1; }

deps_ensure run bench || exit 1

BUILD_TYPE=unknown
if [ -z "$BENCH_BIN" ]; then
  mkdir -p build
  say "building the services (build/, Release; log in build/bench-build.log)"
  if [ ! -f build/CMakeCache.txt ]; then
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >build/bench-build.log 2>&1 ||
      { tail -n 40 build/bench-build.log >&2; die "cmake failed"; }
  fi
  cmake --build build -j"$(nproc)" --target broker producer db_consumer ack_consumer ack_delay datagen kafka_admin \
    >>build/bench-build.log 2>&1 || { tail -n 40 build/bench-build.log >&2; die "build failed"; }
  BENCH_BIN=$ROOT/build/bin
fi
BENCH_BIN=$(cd "$BENCH_BIN" && pwd)
HARNESS_BIN=$BENCH_BIN
# shellcheck source=scripts/harness.sh
. "$ROOT/scripts/harness.sh"
for b in broker producer db_consumer ack_consumer ack_delay datagen kafka_admin; do
  [ -x "$BENCH_BIN/$b" ] || die "$BENCH_BIN/$b is missing"
done
if [ -f "$BENCH_BIN/../CMakeCache.txt" ]; then
  BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BENCH_BIN/../CMakeCache.txt")
fi

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
HOST=$(hostname -s 2>/dev/null || hostname)
BENCH_RUN=$BENCH_WORK/runs/$STAMP
mkdir -p "$BENCH_RUN"
for f in rows stages details rss pipe growth machine settings; do : >"$BENCH_RUN/$f.tsv"; done
export BENCH_BIN BENCH_RUN BENCH_WORK BENCH_SEED

for f in lib prefill pipeline stage_producer stage_db stage_ack stage_e2e stage_latency stage_memory stage_pg stage_day report; do
  # shellcheck source=/dev/null
  . "$ROOT/bench/$f.sh"
done

for f in broker targets stage_growth; do
  # shellcheck source=/dev/null
  . "$ROOT/bench/$f.sh"
done
# The services run as shipped whatever the caller's environment holds: none
# of their settings is inherited (only bench_broker gives them a topic
# namespace, on the real Kafka).
while read -r v; do unset "$v"; done < <(compgen -e |
  grep -E '^(KAFKA_CONFIG|KAFKA_CONFIG_FILE|GK_LOG_LEVEL|GK_TOPIC_PREFIX|GK_(PRODUCER|DB_CONSUMER|ACK_CONSUMER|ACK_DELAY)_[A-Z_]*)$' || true)

# The brokers: both where the real Kafka can start, unless one is named.
BROKER_NOTE=""
case "${BENCH_BROKER:-}" in
  embedded) BROKERS=(embedded) ;;
  kafka) bench_kafka_ok || die "--broker kafka: $BENCH_KAFKA_WHY"; BROKERS=(kafka) ;;
  *)
    if bench_kafka_ok; then
      BROKERS=(embedded kafka)
    else
      BROKERS=(embedded)
      BROKER_NOTE="embedded broker only: the real Kafka cannot start here ($BENCH_KAFKA_WHY)"
      say "$BROKER_NOTE"
    fi ;;
esac

# stop_everything: on any exit, the running stage first (so that it starts
# nothing more), then whatever it started, then the real Kafka.
STAGE_PID=""
stop_everything() {
  local d
  if [ -n "$STAGE_PID" ] && kill -0 "$STAGE_PID" 2>/dev/null; then
    kill -TERM "$STAGE_PID" 2>/dev/null || true
    wait "$STAGE_PID" 2>/dev/null || true
  fi
  for d in "$BENCH_RUN"/*/*/; do [ -f "$d/pids" ] && bench_stop_all "$d"; done
  bench_kafka_stop
  return 0
}
trap 'stop_everything' EXIT
trap 'exit 130' INT TERM

kv() { printf '%s\t%s\n' "$1" "$2"; }
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit+changes"
{
  kv date "$(date -u '+%Y-%m-%d %H:%M UTC')"
  kv host "$HOST"
  kv git_commit "$commit"
  kv cpu "$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
  kv cores "$(nproc)"
  kv memory_gib "$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)"
  kv kernel "$(uname -r)"
  kv librdkafka "$(pkg-config --modversion rdkafka 2>/dev/null || echo unknown)"
  kv sqlite "$(pkg-config --modversion sqlite3 2>/dev/null || echo unknown)"
  kv sqlite3_cli "$(sqlite3 --version | cut -d' ' -f1)"
  kv postgresql "$(psql --version 2>/dev/null | awk '{ print $NF }')"
  kv kcat "$(kcat -V 2>&1 | sed -n 's/^Version \([^ ]*\).*/\1/p' | head -n 1)"
  kv load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$BENCH_RUN/machine.tsv"
{
  kv brokers "${BROKERS[*]}"; kv broker_note "$BROKER_NOTE"
  kv rows "$BENCH_ROWS"; kv reps "$BENCH_REPS"; kv kafka_reps "$BENCH_KAFKA_REPS"
  kv partitions "$BENCH_PARTITIONS"; kv kafka_partitions "$BENCH_KAFKA_PARTITIONS"; kv growth_sizes "$BENCH_GROWTH_SIZES"
  kv latency_modes "$BENCH_LAT_MODES"
  kv prefill "$BENCH_PREFILL"; kv latency_seconds "$BENCH_LAT_SECONDS"
  kv latency_rates "$BENCH_LAT_RATES"; kv latency_reps "$BENCH_LAT_REPS"
  kv mem_small "$BENCH_MEM_SMALL"; kv seed "$BENCH_SEED"; kv build_type "$BUILD_TYPE"
  kv quick "$([ "$QUICK" = 1 ] && echo true || echo false)"
  kv stages "${RUN_STAGES[*]}"
} >>"$BENCH_RUN/settings.tsv"

say "run ${RUN_STAGES[*]} on ${BROKERS[*]} (rows $BENCH_ROWS, reps $BENCH_REPS, real Kafka reps $BENCH_KAFKA_REPS," \
  "partitions $BENCH_PARTITIONS); logs in $BENCH_RUN"
T_START=$(date +%s)
failed=0
EMBEDDED_REPS=$BENCH_REPS EMBEDDED_PARTITIONS=$BENCH_PARTITIONS
# stage_record STAGE STATUS SECONDS NOTE: one line of stages.tsv.
stage_record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$BENCH_BROKER_KIND" >>"$BENCH_RUN/stages.tsv"; }
for BENCH_BROKER_KIND in "${BROKERS[@]}"; do
  export BENCH_BROKER_KIND
  HARNESS_BROKER_KIND=$BENCH_BROKER_KIND
  BENCH_REPS=$EMBEDDED_REPS BENCH_PARTITIONS=$EMBEDDED_PARTITIONS
  start_note=""
  if [ "$BENCH_BROKER_KIND" = kafka ]; then
    BENCH_REPS=$BENCH_KAFKA_REPS BENCH_PARTITIONS=$BENCH_KAFKA_PARTITIONS
    bench_log "starting the real Kafka for its pass"
    bench_kafka_start "$BENCH_RUN/kafka" || start_note=$BENCH_KAFKA_WHY
    if [ -z "$start_note" ]; then
      BENCH_STAGE_DIR=$BENCH_RUN/kafka/warm
      mkdir -p "$BENCH_STAGE_DIR"
      ( set +e; bench_kafka_warm ) ||
        start_note="the warm-up run on the real Kafka failed: $(cat "$BENCH_STAGE_DIR/failure" 2>/dev/null)"
    fi
  fi
  for s in "${RUN_STAGES[@]}"; do
    BENCH_STAGE_DIR=$BENCH_RUN/$BENCH_BROKER_KIND/$s
    mkdir -p "$BENCH_STAGE_DIR"
    if [ -n "$start_note" ]; then
      failed=1
      stage_record "$s" failed 0 "$start_note"
      continue
    fi
    if [ "$s" = growth ] && [ "$BENCH_BROKER_KIND" != kafka ]; then
      stage_record "$s" skipped 0 "the growth stage runs on the real Kafka only"
      continue
    fi
    # The compressed day is a question about the broker users run: with a
    # real Kafka in the run, the embedded pass leaves it out (about 100 s).
    if [ "$s" = day ] && [ "$BENCH_BROKER_KIND" = embedded ] && [[ " ${BROKERS[*]} " == *" kafka "* ]]; then
      stage_record "$s" skipped 0 "the day stage runs on the real Kafka when the run has one"
      continue
    fi
    t0=$(date +%s)
    bench_log "stage $s ($BENCH_BROKER_KIND)"
    rc=0
    # In the background, so that a signal to bench.sh ends the wait at once.
    ( set +e; trap 'bench_stop_all' EXIT; "stage_$s" ) &
    STAGE_PID=$!
    wait "$STAGE_PID" || rc=$?
    STAGE_PID=""
    secs=$(($(date +%s) - t0))
    if [ "$rc" = 0 ]; then
      stage_record "$s" ok "$secs" ""
    else
      failed=1
      note=$(tr '\t\n' '  ' <"$BENCH_STAGE_DIR/failure" 2>/dev/null || echo "exit status $rc")
      stage_record "$s" failed "$secs" "$note (logs: $BENCH_STAGE_DIR)"
    fi
  done
  [ -n "$start_note" ] || ( set +e; bench_targets )
  bench_kafka_stop
done
BENCH_REPS=$EMBEDDED_REPS BENCH_PARTITIONS=$EMBEDDED_PARTITIONS
kv load_end "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$BENCH_RUN/machine.tsv"
kv total_seconds "$(($(date +%s) - T_START))" >>"$BENCH_RUN/settings.tsv"

report_table "$BENCH_RUN" | tee "$BENCH_RUN/table.txt"
mkdir -p "$OUT"
report_json "$BENCH_RUN" >"$BENCH_RUN/result.json"
cp "$BENCH_RUN/result.json" "$OUT/$STAMP-$HOST.json"
# latest.json is the last run of every stage, the one the README quotes: a
# run of some stages (a measurement behind one change) leaves it alone.
full=1
for s in ${DEFAULT_STAGES//,/ }; do [[ " ${RUN_STAGES[*]} " == *" $s "* ]] || full=0; done
if [ "$full" = 1 ]; then
  cp "$BENCH_RUN/result.json" "$OUT/latest.json"
  say "JSON: $OUT/$STAMP-$HOST.json (and latest.json); logs: $BENCH_RUN"
else
  say "JSON: $OUT/$STAMP-$HOST.json (some stages only: latest.json left as it was); logs: $BENCH_RUN"
fi
if [ -s "$BENCH_RUN/growth.tsv" ]; then
  if report_growth_chart "$BENCH_RUN" "$BENCH_RUN/growth.png"; then
    cp "$BENCH_RUN/growth.png" "$OUT/growth.png"
    say "growth chart: $OUT/growth.png"
  else
    failed=1
  fi
fi
exit "$failed"
