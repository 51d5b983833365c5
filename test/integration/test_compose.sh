#!/usr/bin/env bash
# test_compose.sh - keeps docker-compose.yaml and the binaries from drifting
# apart, without a Docker engine: the file must validate with docker-compose,
# the Dockerfile's packages must exist in Debian, and each service's exact
# command line and environment from the compose file, replayed natively,
# must deliver the 50 sample events into the database and the ack topic;
# so must the "postgres" profile: db_consumer_postgres scaled to three
# instances against a native server set up as the postgres service is.
# Each service's healthcheck (its own binary's --probe, with the
# container's environment) is replayed too: it must pass once the service
# is up, before the producer starts (its depends_on), and fail once the
# service has stopped. The metrics endpoints, 0.0.0.0:PORT in a container,
# listen here on 127.0.0.1 and a free port per instance.
# On the embedded broker that is the replay alone. On Kafka it is compose
# parity: the kafka service's KAFKA_* environment becomes server.properties
# by the rule the apache/kafka image applies, hosts and ports rewritten to
# free 127.0.0.1 ports; that broker runs natively (same Kafka version as the
# image: checked), kafka-init's topic creation is replayed with kafka_admin,
# and the services run against it with compose's settings (ack_consumer
# with its transactional id).
# brokers: embedded kafka
# cost: 33
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
# One apt-cache call for all (each call reads the whole cache: seconds); it
# skips an unknown name silently, so the names it describes are compared.
# shellcheck disable=SC2086 # a list of packages
known=$(apt-cache show --no-all-versions $pkgs 2>/dev/null | sed -n 's/^Package: //p' | sort -u)
unknown=$(comm -23 <(tr ' ' '\n' <<<"$pkgs" | sort -u) <(printf '%s\n' "$known"))
[ -z "$unknown" ] || it_fail "Dockerfile installs '$(echo $unknown)', which apt-cache does not know"
it_log "ok: Dockerfile packages known to apt: $(echo $pkgs | wc -w)"

# Turn each service into "NAME<TAB>env assignments<TAB>argv" lines. Container
# paths are mapped into the work directory; binaries come from the build.
python3 - "$WORK/compose.yaml" "$WORK" "$GK_SOURCE/data" "$WORK/service-env.txt" >"$WORK/services.sh" <<'PY'
import re, shlex, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
work, data = sys.argv[2], sys.argv[3]
names = open(sys.argv[4], "w")
def local(v):
    v = str(v)
    return v.replace("/var/lib/genetika", work + "/vol").replace("/app/data", data)
for name in ("db_consumer", "ack_consumer", "producer", "db_consumer_postgres"):
    svc = doc["services"][name]
    env = svc.get("environment", {})
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    for k in env:
        names.write("%s %s\n" % (svc["command"][0], k))
    env = {k: local(v) for k, v in env.items() if k != "KAFKA_BOOTSTRAP"}
    # The postgres service's address, to the test's server ($PG_PORT when called).
    env = {k: v.replace("@postgres:5432/", "@127.0.0.1:$PG_PORT/") for k, v in env.items()}
    # The metrics endpoint: every address of the container there, the
    # loopback and the instance's own free port here ($METRICS_PORT when called).
    for k in [k for k in env if k.endswith("_METRICS_ADDR")]:
        if not re.fullmatch(r"0\.0\.0\.0:\d+", env[k]):
            sys.exit("compose: %s sets %s=%s, not 0.0.0.0:PORT" % (name, k, env[k]))
        env[k] = "127.0.0.1:$METRICS_PORT"
    argv = [local(a) for a in svc["command"]]
    # KAFKA_CONFIG as compose sets it, after what the test's broker needs
    # (harness_kafka_config: the embedded broker's fetch wait, nothing on Kafka).
    assigns = ['"KAFKA_CONFIG=$(harness_kafka_config %s %s)"' % (name, shlex.quote(v)) if k == "KAFKA_CONFIG"
               else '"%s=%s"' % (k, v) if "$PG_PORT" in v or "$METRICS_PORT" in v
               else shlex.quote("%s=%s" % (k, v)) for k, v in env.items()]
    # exec: the service itself receives the signals the test sends.
    print("svc_%s() { exec env %s \"$GK_BIN/%s\" %s; }" % (
        name, " ".join(assigns), argv[0], " ".join(shlex.quote(a) for a in argv[1:])))
    # The healthcheck runs in the container, with its environment: the
    # service's own binary (CMD form: no shell in the way).
    hc = svc.get("healthcheck", {}).get("test")
    if not hc or hc[0] != "CMD" or hc[1] != argv[0]:
        sys.exit("compose: %s's healthcheck %r is not its own binary %s in CMD form" % (name, hc, argv[0]))
    print("hc_%s() { env %s \"$GK_BIN/%s\" %s; }" % (
        name, " ".join(assigns), hc[1], " ".join(shlex.quote(a) for a in hc[2:])))
PY
cat "$WORK/services.sh" >&2
# Every variable compose sets is one its program reads (a misspelt or renamed
# one would be ignored without a word).
while read -r prog var; do
  # PG* variables (PGPASSWORD) are libpq's own, read by the library.
  [[ $var != PG* ]] || continue
  "$GK_BIN/$prog" --help-markdown | grep -qF "| \`$var\` |" ||
    it_fail "compose sets $var for $prog, which $prog does not read"
done <"$WORK/service-env.txt"
it_log "ok: every variable compose sets is read by its program ($(wc -l <"$WORK/service-env.txt"))"
. "$WORK/services.sh"
mkdir -p "$WORK/vol/db" "$WORK/vol/cache"

# healthy SERVICE PORT: replays SERVICE's healthcheck (its instance on
# metrics port PORT) until it passes, as compose does before starting what
# depends on it; fails after 60 s.
healthy() {
  local i
  for i in $(seq 120); do
    METRICS_PORT=$2 hc_$1 >"$WORK/hc-$1.out" 2>"$WORK/hc-$1.err" && break
    [ "$i" = 120 ] && it_fail "healthcheck of $1 never passed: $(tail -n 1 "$WORK/hc-$1.err")"
    sleep 0.5
  done
  it_log "ok: healthcheck of $1 passes: $(cat "$WORK/hc-$1.out")"
}
# unhealthy SERVICE PORT: the healthcheck of a stopped instance fails (69),
# with one line saying why.
unhealthy() {
  local rc=0
  METRICS_PORT=$2 hc_$1 >/dev/null 2>"$WORK/hc-$1.err" || rc=$?
  it_expect "healthcheck of the stopped $1: exit status" "$rc" 69
  it_expect "healthcheck of the stopped $1: lines on stderr" "$(wc -l <"$WORK/hc-$1.err")" 1
  it_log "ok: $(cat "$WORK/hc-$1.err")"
}
read -r M_DB M_ACK M_PRODUCER M_PG1 M_PG2 M_PG3 <<<"$(it_free_ports 6)"

if [ "$GK_TEST_BROKER" = embedded ]; then
  it_broker --partitions 3
else
  # The kafka service as server.properties (the apache/kafka image's rule:
  # drop KAFKA_, lower-case, '_' -> '.', '__' -> '_', '___' -> '-'; only the
  # variables given, no defaults merged in), every host:port of a listener
  # or voter rewritten to 127.0.0.1 and a free port; kafka-init's topics.
  if ! python3 - "$WORK/compose.yaml" "$WORK/compose-kafka.properties" >"$WORK/compose-kafka.sh" \
    2>"$WORK/compose-kafka.err" <<'PY'
import re, shlex, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
kafka, init = doc["services"]["kafka"], doc["services"]["kafka-init"]
env = kafka["environment"]
excludes = {"KAFKA_VERSION", "KAFKA_HEAP_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS",
            "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL",
            "KAFKA_LOG4J_LOGGERS", "KAFKA_TOOLS_LOG4J_LOGLEVEL", "KAFKA_JMX_HOSTNAME"}
under = {1: ".", 2: "_", 3: "-"}
props = {re.sub(r"_+", lambda m: under[len(m.group())], k[len("KAFKA_"):]).lower(): str(v)
         for k, v in env.items() if k.startswith("KAFKA_") and k not in excludes}
ports = {}  # compose port -> placeholder, by listener name
for l in props["listeners"].split(","):
    name, addr = l.split("://")
    ports[addr.rsplit(":", 1)[1]] = "@%s_PORT@" % name
def local(m):
    if m.group(2) not in ports:
        sys.exit("compose: %s uses port %s, which no listener has" % (m.group(0), m.group(2)))
    return m.group(1) + "127.0.0.1:" + ports[m.group(2)]
with open(sys.argv[2], "w") as f:
    for k in sorted(props):
        f.write("%s=%s\n" % (k, re.sub(r"(://|@)[^:,/@]*:(\d+)", local, props[k])))
cmd = " ".join(init.get("command") or []).replace("$$", "$")  # compose's escape
topics = re.search(r"for t in ([\w .-]+); do", cmd)
if not topics or '--partitions "$PARTITIONS"' not in cmd or "--replication-factor 1" not in cmd:
    sys.exit("compose: kafka-init's command is not the loop this test replays: " + cmd)
print("CLUSTER_ID=%s" % shlex.quote(str(env["CLUSTER_ID"])))
print("KAFKA_IMAGE=%s" % shlex.quote(kafka["image"]))
print("INIT_IMAGE=%s" % shlex.quote(init["image"]))
print("INIT_TOPICS=%s" % shlex.quote(topics.group(1)))
print("INIT_PARTITIONS=%s" % shlex.quote(str(init["environment"]["PARTITIONS"])))
# The topics of ack_consumer --mode scalable (the compacted changelog, the
# dead letters kept): a line each, with its config, as "TOPIC CONFIG" lines.
sep = r'[\s\\]+'  # spaces and the shell's line continuations
own = re.findall(r'--topic ([\w.-]+)' + sep + r'--partitions "\$PARTITIONS"' + sep +
                 r'--replication-factor 1' + sep + r'--config (\S+)', cmd)
print("INIT_CONFIGURED=%s" % shlex.quote("\n".join("%s %s" % t for t in own)))
PY
  then
    it_fail "cannot turn the kafka service into server.properties: $(cat "$WORK/compose-kafka.err")"
  fi
  . "$WORK/compose-kafka.sh"
  version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$GK_SOURCE/broker/kafka/pom.xml")
  it_expect "compose's Kafka image" "$KAFKA_IMAGE" "apache/kafka:$version"
  it_expect "kafka-init's image" "$INIT_IMAGE" "$KAFKA_IMAGE"
  it_log "server.properties from compose: $(tr '\n' ' ' <"$WORK/compose-kafka.properties")"
  it_broker --partitions "$INIT_PARTITIONS" --server-properties "$WORK/compose-kafka.properties" \
    --cluster-id "$CLUSTER_ID" --topics ""
  # kafka-init, replayed: the same topics, partitions and replication factor.
  # shellcheck disable=SC2086 # a list of topics
  "$GK_BIN/kafka_admin" --partitions "$INIT_PARTITIONS" --replication-factor 1 create $INIT_TOPICS \
    >"$WORK/kafka-init.out" 2>"$WORK/kafka-init.log" || it_fail "kafka-init (replayed): $(cat "$WORK/kafka-init.log")"
  while read -r topic config; do
    [ -n "$topic" ] || continue
    "$GK_BIN/kafka_admin" --partitions "$INIT_PARTITIONS" --replication-factor 1 \
      -c "$config" create "$topic" >>"$WORK/kafka-init.out" \
      2>>"$WORK/kafka-init.log" || it_fail "kafka-init (replayed, $topic): $(cat "$WORK/kafka-init.log")"
  done <<<"$(printf '%b' "$INIT_CONFIGURED")"
  it_expect "cluster id" "$("$GK_BIN/kafka_admin" wait | sed -n 's/^cluster_id=\([^ ]*\).*/\1/p')" "$CLUSTER_ID"
  it_log "ok: kafka-init replayed: $(tr '\n' ';' <"$WORK/kafka-init.out")"
fi
METRICS_PORT=$M_DB
it_start db svc_db_consumer
METRICS_PORT=$M_ACK
it_start ack svc_ack_consumer
# The producer waits until both consumers are healthy (its depends_on).
healthy db_consumer "$M_DB"
healthy ack_consumer "$M_ACK"
METRICS_PORT=$M_PRODUCER
(svc_producer) >"$WORK/producer.out" 2>"$WORK/producer.log" || it_fail "producer (compose command) exited with $?"
# It ran once and is gone: its healthcheck says so (test_metrics_scrape.sh
# probes a running producer).
unhealthy producer "$M_PRODUCER"

DB=$(sed -n 's/^svc_db_consumer().*GK_DB_CONSUMER_DB=\([^ ]*\).*/\1/p' "$WORK/services.sh" | tr -d "'")
[ -n "$DB" ] || it_fail "compose gives db_consumer no GK_DB_CONSUMER_DB"
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
# Compose's ack_consumer runs --mode scalable: its metrics count the acks of
# its committed transactions (test_metrics_scrape.sh checks the single mode).
for _ in $(seq 100); do
  curl -s --max-time 5 -o "$WORK/ack.metrics" "http://127.0.0.1:$M_ACK/metrics" || true
  grep -qx 'genetika_acks_confirmed_total 50' "$WORK/ack.metrics" && break
  sleep 0.2
done
for m in genetika_acks_sent_total genetika_acks_confirmed_total genetika_ack_delay_seconds_count; do
  it_expect "scalable ack_consumer: $m" "$(sed -n "s/^$m //p" "$WORK/ack.metrics")" 50
done

# The services run until stopped (as under compose): SIGTERM must stop them cleanly.
kill -TERM "$PID_db" "$PID_ack"
it_wait_exit "$PID_db" 20
it_expect "db_consumer exit status after SIGTERM" "$IT_RC" 0
it_wait_exit "$PID_ack" 20
it_expect "ack_consumer exit status after SIGTERM" "$IT_RC" 0
unhealthy db_consumer "$M_DB"
unhealthy ack_consumer "$M_ACK"

# Profile "postgres": the postgres service as a native server with its user,
# database and password, its healthcheck replayed against it, and
# db_consumer_postgres scaled to three instances with its exact environment:
# together they write the 50 events into PostgreSQL, once.
python3 - "$WORK/compose.yaml" >"$WORK/compose-pg.sh" <<'PY'
import shlex, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
pg = doc["services"]["postgres"]
env = pg["environment"]
print("PG_IMAGE=%s" % shlex.quote(pg["image"]))
print("PG_PROFILES=%s" % shlex.quote(",".join(pg.get("profiles", []))))
print("PG_HEALTH=%s" % shlex.quote(pg["healthcheck"]["test"][-1]))
db = doc["services"]["db_consumer_postgres"]
# --scale needs a service without a fixed container name or host port.
print("PG_SCALABLE=%s" % ("no" if "container_name" in db or "ports" in db else "yes"))
print("PG_DB_PROFILES=%s" % shlex.quote(",".join(db.get("profiles", []))))
print("PG_DEPENDS=%s" % shlex.quote(str(db.get("depends_on", {}).get("postgres", {}).get("condition"))))
for k in ("POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"):
    print("%s=%s" % (k, shlex.quote(str(env[k]))))
PY
. "$WORK/compose-pg.sh"
it_expect "postgres service's profile" "$PG_PROFILES" postgres
it_expect "db_consumer_postgres's profile" "$PG_DB_PROFILES" postgres
it_expect "db_consumer_postgres can be scaled" "$PG_SCALABLE" yes
it_expect "db_consumer_postgres waits for" "$PG_DEPENDS" service_healthy
[[ $PG_IMAGE == postgres:$(ls /usr/lib/postgresql | sort -n | tail -n 1)-* ]] ||
  it_fail "postgres image $PG_IMAGE is not the major version of Debian's server the test runs"
printf '%s\n' "$POSTGRES_PASSWORD" >"$WORK/compose-pg.pw"
it_pg_data compose-pg
"$GK_SOURCE/scripts/postgres.sh" start --data "$IT_PG_DATA" --user "$POSTGRES_USER" --database "$POSTGRES_DB" \
  --password-file "$WORK/compose-pg.pw" --stop-with $$ >"$WORK/compose-pg.uri" 2>"$WORK/postgres.log" ||
  it_fail "postgres.sh start: $(grep 'error:' "$WORK/postgres.log" | tail -n 1)"
PG_PORT=$(sed -n 's/^port=//p' "$IT_PG_DATA/settings")
# The healthcheck, as the container runs it: over TCP on 127.0.0.1, here
# the server's port instead of 5432.
[[ $PG_HEALTH == *"-h 127.0.0.1 -p 5432 "* ]] || it_fail "healthcheck '$PG_HEALTH' does not ask 127.0.0.1:5432"
env -u PGHOST -u PGPORT bash -c "${PG_HEALTH/-p 5432 /-p $PG_PORT }" >"$WORK/pg_isready.out" 2>&1 ||
  it_fail "healthcheck '$PG_HEALTH' fails: $(cat "$WORK/pg_isready.out")"
it_log "ok: healthcheck: $(cat "$WORK/pg_isready.out")"
for i in 1 2 3; do
  eval "METRICS_PORT=\$M_PG$i"
  it_start "dbpg$i" svc_db_consumer_postgres
done
it_wait_assigned dbpg1 dbpg2 dbpg3
for i in 1 2 3; do eval "healthy db_consumer_postgres \$M_PG$i"; done
PG_URI="postgresql://$POSTGRES_USER@127.0.0.1:$PG_PORT/$POSTGRES_DB"
export PGPASSWORD=$POSTGRES_PASSWORD
for _ in $(seq 600); do
  n=$(psql "$PG_URI" -XAtq -c "SELECT (SELECT count(*) FROM data1)+(SELECT count(*) FROM data2)+(SELECT count(*) FROM data3)" 2>/dev/null || echo 0)
  [ "$n" = 150 ] && break
  sleep 0.2
done
for t in data1 data2 data3; do
  it_expect "PostgreSQL $t rows" "$(psql "$PG_URI" -XAtq -c "SELECT count(DISTINCT event_id) || '/' || count(*) FROM $t")" 50/50
done
for i in 1 2 3; do eval "kill -TERM \$PID_dbpg$i"; done
for i in 1 2 3; do
  eval "it_wait_exit \$PID_dbpg$i 20"
  it_expect "db_consumer_postgres $i exit status after SIGTERM" "$IT_RC" 0
  eval "unhealthy db_consumer_postgres \$M_PG$i"
done
"$GK_SOURCE/scripts/postgres.sh" stop --data "$IT_PG_DATA" 2>>"$WORK/postgres.log" || true
it_log "PASS"
