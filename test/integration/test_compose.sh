#!/usr/bin/env bash
# test_compose.sh - keeps docker-compose.yaml and the binaries from drifting
# apart, without a Docker engine: the file must validate with docker-compose,
# the Dockerfile's packages must exist in Debian, and each service's exact
# command line and environment from the compose file, replayed natively
# against the embedded broker, must deliver the 50 sample events into the
# database and the ack topic.
# brokers: embedded kafka
. "$(dirname "$0")/lib.sh"

COMPOSE=$GK_SOURCE/docker-compose.yaml
command -v docker-compose >/dev/null || it_fail "docker-compose (Debian package) is not installed"
docker-compose -f "$COMPOSE" config >"$WORK/compose.yaml" 2>"$WORK/compose.log" ||
  it_fail "docker-compose config rejects the file: $(cat "$WORK/compose.log")"
it_log "ok: docker-compose config validates $COMPOSE"

# Every package the Dockerfile installs must be a Debian package.
pkgs=$(sed -n '/apt-get install/,/rm -rf/p' "$GK_SOURCE/Dockerfile" | tr ' \\' '\n\n' |
  grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vE '^(apt-get|install|rm|rf|y|no|recommends|DEBIAN_FRONTEND|noninteractive|useradd|mkdir|chown)$' | sort -u)
[ -n "$pkgs" ] || it_fail "no packages found in the Dockerfile"
for p in $pkgs; do
  apt-cache show "$p" >/dev/null 2>&1 || it_fail "Dockerfile installs '$p', which apt-cache does not know"
done
it_log "ok: Dockerfile packages known to apt: $(echo $pkgs | wc -w)"

# Turn each service into "NAME<TAB>env assignments<TAB>argv" lines. Container
# paths are mapped into the work directory; binaries come from the build.
python3 - "$WORK/compose.yaml" "$WORK" "$GK_SOURCE/data" >"$WORK/services.sh" <<'PY'
import shlex, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
work, data = sys.argv[2], sys.argv[3]
def local(v):
    v = str(v)
    return v.replace("/var/lib/genetika", work + "/vol").replace("/app/data", data)
for name in ("db_consumer", "ack_consumer", "producer"):
    svc = doc["services"][name]
    env = svc.get("environment", {})
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    env = {k: local(v) for k, v in env.items() if k != "KAFKA_BOOTSTRAP"}
    argv = [local(a) for a in svc["command"]]
    # exec: the service itself receives the signals the test sends.
    print("svc_%s() { exec env %s \"$GK_BIN/%s\" %s; }" % (
        name, " ".join(shlex.quote("%s=%s" % kv) for kv in env.items()),
        argv[0], " ".join(shlex.quote(a) for a in argv[1:])))
PY
cat "$WORK/services.sh" >&2
. "$WORK/services.sh"
mkdir -p "$WORK/vol/db" "$WORK/vol/cache"

it_broker --partitions 3
it_start db svc_db_consumer
it_start ack svc_ack_consumer
(svc_producer) >"$WORK/producer.out" 2>"$WORK/producer.log" || it_fail "producer (compose command) exited with $?"

DB=$(sed -n 's/.*GK_DB=\([^ ]*\).*/\1/p' "$WORK/services.sh" | tr -d "'")
[ -n "$DB" ] || it_fail "compose gives db_consumer no GK_DB"
for _ in $(seq 300); do
  n=$(it_sql "$DB" "SELECT (SELECT count(*) FROM data1)+(SELECT count(*) FROM data2)+(SELECT count(*) FROM data3)" 2>/dev/null || echo 0)
  a=$(it_ack_keys 2>/dev/null | sort -u | wc -l)
  [ "$n" = 150 ] && [ "$a" = 50 ] && break
  sleep 0.2
done
for t in data1 data2 data3; do
  it_expect "$t rows" "$(it_sql "$DB" "SELECT count(*) FROM $t")" 50
done
it_expect "distinct acked events" "$(it_ack_keys | sort -u | wc -l)" 50

# The services run until stopped (as under compose): SIGTERM must stop them cleanly.
kill -TERM "$PID_db" "$PID_ack"
it_wait_exit "$PID_db" 20
it_expect "db_consumer exit status after SIGTERM" "$IT_RC" 0
it_wait_exit "$PID_ack" 20
it_expect "ack_consumer exit status after SIGTERM" "$IT_RC" 0
it_log "PASS"
