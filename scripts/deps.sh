# deps.sh - the Debian packages Genetika+ needs, and how to get them (sourced).
#
# deps_ensure SET... checks that every package of the named sets is installed.
# As root it installs what is missing with apt-get; otherwise it prints the
# exact apt-get command to run and returns 1.

# Building and running the pipeline.
DEPS_RUN="cmake make gcc pkg-config librdkafka-dev libsqlite3-dev libpq-dev liblmdb-dev check
  libsubunit-dev libzip-dev libxml2-dev libjansson-dev libxlsxwriter-dev libmicrohttpd-dev
  libcurl4-openssl-dev sqlite3
  gnuplot-nox"
# Tests: coverage, kcat to inject raw messages, clang for the fuzzers,
# docker-compose only to validate docker-compose.yaml (no Docker engine is
# used), curl and prometheus to scrape the services' metrics
# (test_metrics_scrape, test_prometheus), and PostgreSQL's server and psql
# for the tests of db_consumer's PostgreSQL store (each starts a private
# server: scripts/postgres.sh).
DEPS_TEST="gcovr kcat clang libclang-rt-14-dev docker-compose curl prometheus postgresql"
# Benchmarks: kcat as the producer's yardstick, GNU time for peak RSS,
# PostgreSQL for the PostgreSQL sink stage.
DEPS_BENCH="kcat time postgresql"
# A local PostgreSQL (scripts/postgres.sh) and psql (run.sh --db postgresql://).
DEPS_POSTGRES="postgresql"
# A real Kafka (scripts/kafka.sh): a Java 17 runtime, and Maven to fetch the
# broker's jars from Maven Central once.
DEPS_KAFKA="openjdk-17-jre-headless maven"

deps_missing() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  echo "${missing[*]}"
}

deps_ensure() {
  local want=() set
  for set in "$@"; do
    case "$set" in
      run) want+=($DEPS_RUN) ;;
      test) want+=($DEPS_TEST) ;;
      bench) want+=($DEPS_BENCH) ;;
      kafka) want+=($DEPS_KAFKA) ;;
      postgres) want+=($DEPS_POSTGRES) ;;
    esac
  done
  local missing
  missing=$(deps_missing "${want[@]}")
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing missing Debian packages: $missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || { echo "error: apt-get update failed" >&2; return 1; }
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >&2 ||
      { echo "error: apt-get install $missing failed" >&2; return 1; }
    return 0
  fi
  echo "error: missing Debian packages. Install them with:" >&2
  echo "  sudo apt-get install -y $missing" >&2
  return 1
}

# deps_kafka_ready: true when a Java 17+ runtime and Maven are on PATH, from
# whatever source; deps_ensure kafka installs Debian's otherwise.
deps_kafka_ready() {
  local v
  command -v mvn >/dev/null 2>&1 || return 1
  v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -n 1)
  [ "${v:-0}" -ge 17 ] 2>/dev/null
}
