#!/usr/bin/env bash
# test_prometheus.sh - a real Prometheus (Debian's prometheus) scrapes the
# three services during a run with the committed scrape configuration
# (monitoring/prometheus.yml), its query API returns our series with the
# run's final counts, and every query of the committed Grafana dashboard
# returns data (issue 17).
#
# The configuration is docker-compose's, made local: each job's service
# (Docker's DNS there) becomes 127.0.0.1 and the service's free port here,
# and the scrapes come every second instead of every 5 s, to keep the test
# short. db_consumer_postgres needs PostgreSQL: its job is left out here
# (test_compose.sh runs it). Prometheus listens on 127.0.0.1 only, keeps its
# data in the test's work directory and is stopped by the test (SIGTERM
# through lib.sh's cleanup). The producer is paced (10 rows/s per file: 5 s)
# so that at least a few scrapes fall inside its run; two poison messages
# give the dead-letter panel something to show.
# brokers: embedded
. "$(dirname "$0")/lib.sh"

DATA=$GK_SOURCE/data
EVENTS=50
command -v prometheus >/dev/null || it_fail "prometheus is not installed (scripts/deps.sh test)"
command -v curl >/dev/null || it_fail "curl is not installed (scripts/deps.sh test)"
PY=/usr/bin/python3

# query EXPR: the value of an instant query's only sample, "none" if it has
# none, "many" if several.
query() {
  curl -s --max-time 5 --data-urlencode "query=$1" "http://127.0.0.1:$PROM_PORT/api/v1/query" |
    "$PY" -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print("none" if not r else "many" if len(r) > 1 else r[0]["value"][1])' 2>/dev/null || echo error
}

read -r PROM_PORT P_PORT DB_PORT ACK_PORT <<<"$(it_free_ports 4)"
"$PY" - "$GK_SOURCE/monitoring/prometheus.yml" "producer=$P_PORT" "db_consumer=$DB_PORT" \
  "ack_consumer=$ACK_PORT" >"$WORK/prometheus.yml" 2>"$WORK/prometheus-yml.err" <<'EOF' ||
import sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
ports = dict(a.split("=") for a in sys.argv[2:])
cfg["global"].update(scrape_interval="1s", scrape_timeout="1s")
jobs, left = [], []
for job in cfg["scrape_configs"]:
    (sd,) = job.pop("dns_sd_configs")
    (service,) = sd["names"]
    if service not in ports:
        left.append(service)
        continue
    job["static_configs"] = [{"targets": ["127.0.0.1:%s" % ports.pop(service)]}]
    jobs.append(job)
if left != ["db_consumer_postgres"] or ports:
    sys.exit("monitoring/prometheus.yml: jobs for %s not run here, and none for %s" % (left, list(ports)))
cfg["scrape_configs"] = jobs
yaml.safe_dump(cfg, sys.stdout)
EOF
  it_fail "cannot make monitoring/prometheus.yml local: $(cat "$WORK/prometheus-yml.err")"
it_log "monitoring/prometheus.yml made local: $(grep -c job_name "$WORK/prometheus.yml") jobs"
it_start prometheus prometheus --config.file="$WORK/prometheus.yml" \
  --storage.tsdb.path="$WORK/tsdb" --web.listen-address="127.0.0.1:$PROM_PORT"
for _ in $(seq 150); do
  [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PROM_PORT/-/ready")" = 200 ] && break
  kill -0 "$PID_prometheus" 2>/dev/null || it_fail "prometheus exited: $(tail -n 5 "$WORK/prometheus.log")"
  sleep 0.2
done
it_log "prometheus $(prometheus --version 2>&1 | head -n 1 | cut -d' ' -f3) on 127.0.0.1:$PROM_PORT"

it_broker --partitions 3
it_start db "$GK_BIN/db_consumer" --db "$WORK/genetika.db" --metrics-addr "$DB_PORT"
it_start ack "$GK_BIN/ack_consumer" --cache "$WORK/ack-cache" --metrics-addr "$ACK_PORT"
it_wait_assigned db ack
it_start producer "$GK_BIN/producer" --rate 10 --metrics-addr "$P_PORT" \
  "$DATA/sim_file1.xlsx" "$DATA/sim_file2.xlsx" "$DATA/sim_file3.xlsx"
it_wait_exit "$PID_producer" 120
it_expect "producer exit status" "$IT_RC" 0
printf '901\tnot json\n904\tnot json either\n' | kcat -P -b "$KAFKA_BOOTSTRAP" -t topic1 -K $'\t' 2>>"$WORK/kcat.log" ||
  it_fail "kcat: $(tail -n 1 "$WORK/kcat.log")"

# Until Prometheus has scraped the consumers' final counts (the poison
# messages included: they come after the last row).
for _ in $(seq 150); do
  [ "$(query 'genetika_acks_confirmed_total{job="ack_consumer"}')" = $EVENTS ] &&
    [ "$(query 'sum(genetika_rows_written_total{job="db_consumer"})')" = $((3 * EVENTS)) ] &&
    [ "$(query 'sum(genetika_messages_consumed_total{job="db_consumer"})')" = $((3 * EVENTS + 2)) ] &&
    [ "$(query 'sum(genetika_dead_letters_total{job="db_consumer"})')" = 2 ] && break
  sleep 0.2
done
for t in 1 2 3; do
  it_expect "prometheus: genetika_rows_written_total{table=\"data$t\"}" \
    "$(query "genetika_rows_written_total{job=\"db_consumer\",table=\"data$t\"}")" \
    "$(it_sql "$WORK/genetika.db" "SELECT count(*) FROM data$t")"
done
it_ack_keys >"$WORK/ack.keys" || it_fail "kcat could not read the ack topic"
it_expect "prometheus: genetika_acks_confirmed_total = acks on the topic" \
  "$(query 'genetika_acks_confirmed_total{job="ack_consumer"}')" "$(wc -l <"$WORK/ack.keys")"
it_expect "prometheus: genetika_ack_delay_seconds_count" \
  "$(query 'genetika_ack_delay_seconds_count{job="ack_consumer"}')" $EVENTS
it_expect "prometheus: consumed by db_consumer, all topics" \
  "$(query 'sum(genetika_messages_consumed_total{job="db_consumer"})')" $((3 * EVENTS + 2))
it_expect "prometheus: dead letters of db_consumer" \
  "$(query 'sum(genetika_dead_letters_total{job="db_consumer"})')" 2
# The producer was scraped while it ran (it is gone now: up is 0).
it_expect "prometheus: the producer was up during the run" \
  "$(query 'max_over_time(up{job="producer"}[10m])')" 1
delivered=$(query 'sum(max_over_time(genetika_messages_produced_total{job="producer",result="delivered"}[10m]))')
[ "$delivered" != none ] && [ "$delivered" -gt 0 ] && [ "$delivered" -le $((3 * EVENTS)) ] ||
  it_fail "prometheus: producer deliveries scraped: $delivered"
it_log "prometheus: producer deliveries in its last scrape: $delivered of $((3 * EVENTS))"
for _ in $(seq 50); do [ "$(query 'up{job="producer"}')" = 0 ] && break; sleep 0.2; done
it_expect "prometheus: the producer is down now" "$(query 'up{job="producer"}')" 0
p99=$(query 'histogram_quantile(0.99, genetika_ack_delay_seconds_bucket{job="ack_consumer"})')
it_log "prometheus: ack delay p99 from the histogram: ${p99} s"
[ "$p99" != none ] && [ "$p99" != error ] || it_fail "no ack-delay quantile: $p99"
it_expect "prometheus: ready consumers" "$(query 'sum(genetika_ready{job=~"db_consumer|ack_consumer"})')" 2
it_expect "prometheus: every job's target was up" "$(query 'count(max_over_time(up[10m]) == 1)')" \
  "$(grep -c job_name "$WORK/prometheus.yml")"

# Every query of the committed dashboard, as Grafana sends it (its interval
# variables as a window that spans the run), returns data.
"$PY" "$GK_SOURCE/test/integration/dashboards.py" queries "$GK_SOURCE/monitoring/grafana/dashboards" 10m \
  >"$WORK/dashboard.queries" || it_fail "cannot read the dashboards' queries"
while IFS=$'\t' read -r title expr; do
  got=$(curl -s --max-time 5 --data-urlencode "query=$expr" "http://127.0.0.1:$PROM_PORT/api/v1/query" |
    "$PY" -c '
import json, sys
r = json.load(sys.stdin)
print("%d series" % len(r["data"]["result"]) if r["status"] == "success" else "error: " + r.get("error", "?"))' 2>&1)
  [[ $got == [1-9]*" series" ]] || it_fail "dashboard panel '$title': $expr: $got"
  it_log "ok: dashboard panel '$title': $expr: $got"
done <"$WORK/dashboard.queries"
it_log "PASS"
