#!/usr/bin/env bash
# bench.sh - the benchmark lives in bench/ (bench/bench.sh, bench/README.md);
# this forwarder keeps ./scripts/bench.sh working.
exec "$(cd "$(dirname "$0")/.." && pwd)/bench/bench.sh" "$@"
