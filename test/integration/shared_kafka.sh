#!/usr/bin/env bash
# shared_kafka.sh start|stop DIR - the one real Kafka a CTest run shares
# between the tests that can share it (fixture kafka_shared; see
# CMakeLists.txt). Such a test works in a topic namespace of its own (lib.sh
# it_broker: GK_TOPIC_PREFIX and groups named after it, its topics created
# there) and never stops or reconfigures the broker; so the broker starts
# with no topics. The broker also stops by itself when ctest ends
# (kafka.sh --stop-with), so an interrupted run leaves no JVM behind.
set -euo pipefail
GK_SOURCE=${GK_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
HARNESS_BIN=${GK_BIN:-$GK_SOURCE/build/bin}
# shellcheck source=scripts/harness.sh
. "$GK_SOURCE/scripts/harness.sh"
cmd=$1 dir=$2
case "$cmd" in
  start)
    mkdir -p "$dir"
    # $PPID is ctest: the broker lives as long as the run.
    harness_kafka_sh start --data "$dir/kafka" --fresh --topics "" --stop-with "$PPID" >"$dir/kafka.addr" ||
      { echo "shared Kafka did not start" >&2; exit 1; }
    # A write round trip before any test (see harness_kafka_roundtrip).
    boot=$(head -n 1 "$dir/kafka.addr")
    harness_kafka_roundtrip "$boot" "$dir/warmup.log" || { echo "shared Kafka: $HARNESS_ERROR" >&2; exit 1; }
    [ "$HARNESS_TRIES" = 1 ] || echo "shared Kafka: the write round trip took $HARNESS_TRIES tries" >&2
    echo "shared Kafka at $boot for this run" ;;
  stop)
    harness_kafka_sh stop --data "$dir/kafka"
    if [ -s "$dir/failed-tests" ]; then
      # A test on it failed: its logs and data stay for inspection.
      keep=$(mktemp -d "${TMPDIR:-/tmp}/gk-kafka-shared.XXXXXX")
      mv "$dir"/* "$keep"/
      echo "shared Kafka: a test on it failed ($(paste -sd' ' "$keep/failed-tests")); its log and data are kept in $keep" >&2
    fi
    rm -rf "$dir" ;;
  *) echo "usage: shared_kafka.sh start|stop DIR" >&2; exit 64 ;;
esac
