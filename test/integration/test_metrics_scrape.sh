#!/usr/bin/env bash
# test_metrics_scrape.sh - every service's /metrics, /healthz and /readyz during a
# delivery run (issue 17), checked against what the run left behind; the
# embedded broker's /healthz, /readyz and /metrics as well.
#
# db_consumer and ack_consumer run with --metrics-addr on free 127.0.0.1
# ports (port 0: each logs the one it got), then the producer (paced, so that
# it is scraped while it sends) and three poison messages. Scrapes while the
# run goes on show the producer's delivery counters growing and every service
# healthy and ready; the final scrapes must agree with the database (rows per
# table, dead letters per reason class) and the ack topic (acks sent and
# confirmed, one ack-delay observation per ack), the consumer lag of all nine
# partitions must come down to 0 (librdkafka's statistics), and a SIGTERM must
# stop both consumers, endpoint included, within the bounded shutdown. A bad
# address and a port already taken are refused with exit 64. Each service's
# own --probe (compose's healthcheck) passes against it while it runs. Every
# metric name the committed Grafana dashboard queries is a series this run's
# scrapes hold (test_prometheus.sh runs the queries themselves), and the
# README's metrics table names every family exported, with its type. A group
# member given no partition (four members, three partitions) is ready.
# brokers: embedded kafka
# cost: 26
. "$(dirname "$0")/lib.sh"

DATA=$GK_SOURCE/data
EVENTS=50
command -v curl >/dev/null || it_fail "curl is not installed (scripts/deps.sh test)"

# port_of NAME: the port NAME's log says its endpoint listens on.
port_of() {
  local name=$1 port=""
  for _ in $(seq 100); do
    port=$(sed -n 's|.*metrics: serving http://127\.0\.0\.1:\([0-9]*\)/metrics.*|\1|p' "$WORK/$name.log" | head -n 1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.1
  done
  it_fail "$name never said where its metrics are: $(tail -n 3 "$WORK/$name.log")"
}

# scrape PORT PATH OUT: GET http://127.0.0.1:PORT/PATH into OUT; prints the
# HTTP status.
scrape() { curl -s --max-time 5 -o "$3" -w '%{http_code}' "http://127.0.0.1:$1/$2" || true; }

# value FILE SERIES: the value of one series (name and labels exactly as
# rendered), or "absent".
value() { awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print "absent" }' "$1"; }

# total FILE NAME: the sum of every series of NAME (0 if none).
total() { awk -v n="$2" 'index($1, n "{") == 1 || $1 == n { t += $2 } END { printf "%d\n", t }' "$1"; }

# The embedded broker serves its health too (a real Kafka has its own).
if [ "$GK_TEST_BROKER" = embedded ]; then
  it_broker --partitions 3 --metrics-addr 0
  B_PORT=$(port_of broker)
  it_expect "broker /readyz" "$(scrape "$B_PORT" readyz "$WORK/broker.readyz")" 200
  it_expect "broker /healthz" "$(scrape "$B_PORT" healthz "$WORK/broker.healthz")" 200
  it_expect "broker /metrics" "$(scrape "$B_PORT" metrics "$WORK/broker.metrics")" 200
  grep -q '^genetika_build_info{program="broker",' "$WORK/broker.metrics" || it_fail "broker metrics: $(cat "$WORK/broker.metrics")"
else
  it_broker --partitions 3
fi
# db_consumer with a statistics interval of the user's (and debug logs, which
# must then carry librdkafka's statistics); ack_consumer with the default.
it_start db "$GK_BIN/db_consumer" --db "$WORK/genetika.db" --metrics-addr 0 \
  -X statistics.interval.ms=1000 --log-level debug
it_start ack "$GK_BIN/ack_consumer" --cache "$WORK/ack-cache" --metrics-addr 127.0.0.1:0
DB_PORT=$(port_of db)
ACK_PORT=$(port_of ack)
it_log "db_consumer metrics on port $DB_PORT, ack_consumer on $ACK_PORT"
it_wait_assigned db ack

# Ready once assigned and caught up with the (empty) partitions.
for name in db ack; do
  eval "port=\$${name^^}_PORT"
  for _ in $(seq 150); do [ "$(scrape "$port" readyz "$WORK/$name.readyz")" = 200 ] && break; sleep 0.2; done
  it_expect "$name /readyz" "$(scrape "$port" readyz "$WORK/$name.readyz")" 200
  it_expect "$name /healthz" "$(scrape "$port" healthz "$WORK/$name.healthz")" 200
done

# A bad address and a taken port: refused at start-up, exit 64.
rc=0
"$GK_BIN/db_consumer" --db "$WORK/other.db" --metrics-addr nohost:x >/dev/null 2>"$WORK/bad.log" || rc=$?
it_expect "exit status with --metrics-addr nohost:x" "$rc" 64
grep -q "metrics-addr: 'nohost:x': the port must be a number" "$WORK/bad.log" || it_fail "no reason given: $(cat "$WORK/bad.log")"
rc=0
GK_ACK_CONSUMER_METRICS_ADDR=127.0.0.1:$DB_PORT "$GK_BIN/ack_consumer" --cache "$WORK/other-cache" \
  >/dev/null 2>"$WORK/taken.log" || rc=$?
it_expect "exit status with a taken port (environment twin)" "$rc" 64
grep -q "cannot listen on 127.0.0.1:$DB_PORT" "$WORK/taken.log" || it_fail "no reason given: $(cat "$WORK/taken.log")"

# The producer, paced (20 rows/s per file: 2.5 s), scraped while it sends.
it_start producer "$GK_BIN/producer" --rate 20 --metrics-addr 0 \
  "$DATA/sim_file1.xlsx" "$DATA/sim_file2.xlsx" "$DATA/sim_file3.xlsx"
P_PORT=$(port_of producer)
mid=0
for _ in $(seq 100); do
  kill -0 "$PID_producer" 2>/dev/null || break
  if [ "$(scrape "$P_PORT" metrics "$WORK/producer.mid")" = 200 ]; then
    mid=$(total "$WORK/producer.mid" genetika_messages_produced_total)
    [ "$mid" -gt 0 ] && break
  fi
  sleep 0.1
done
[ "$mid" -gt 0 ] || it_fail "no delivery counted in a scrape of the running producer"
it_log "producer mid-run: $(grep '^genetika_messages_produced_total' "$WORK/producer.mid" | tr '\n' ' ')"
[ "$mid" -le $((3 * EVENTS)) ] || it_fail "producer counted $mid deliveries of $((3 * EVENTS)) rows"
it_expect "producer /readyz while sending" "$(scrape "$P_PORT" readyz "$WORK/producer.readyz")" 200
rc=0
"$GK_BIN/producer" --probe readyz --metrics-addr "$P_PORT" >"$WORK/probe.out" 2>"$WORK/probe.err" || rc=$?
it_expect "producer --probe readyz while sending: exit status" "$rc" 0
it_log "ok: $(cat "$WORK/probe.out")"
it_expect "producer /healthz while sending" "$(scrape "$P_PORT" healthz "$WORK/producer.healthz")" 200
it_expect "db_consumer /healthz during the run" "$(scrape "$DB_PORT" healthz "$WORK/db.healthz")" 200
it_expect "ack_consumer /healthz during the run" "$(scrape "$ACK_PORT" healthz "$WORK/ack.healthz")" 200
for probe in "db_consumer --probe readyz --metrics-addr $DB_PORT" \
  "ack_consumer --probe http://127.0.0.1:$ACK_PORT/healthz"; do
  rc=0
  # shellcheck disable=SC2086 # a command line
  "$GK_BIN"/$probe >"$WORK/probe.out" 2>"$WORK/probe.err" || rc=$?
  it_expect "$probe: exit status" "$rc" 0
done
it_wait_exit "$PID_producer" 120
it_expect "producer exit status" "$IT_RC" 0
grep -q "delivered=150 failed=0" "$WORK/producer.log" || it_fail "producer summary: $(tail -n 2 "$WORK/producer.log")"

# Three poison messages: two on topic1 (not JSON; a key that is not the
# event id), one on topic3 (not JSON).
printf '901\tnot json\n902\t{"event_id":903,"sample_id":"S","patient_id":"P","specimen_type":"blood","collected_at":"2024-03-01T08:00:00","consent_research":true}\n' | kcat -P -b "$KAFKA_BOOTSTRAP" -t topic1 -K $'\t' 2>>"$WORK/kcat.log" || it_fail "kcat topic1"
printf '904\tnot json either\n' | kcat -P -b "$KAFKA_BOOTSTRAP" -t topic3 -K $'\t' 2>>"$WORK/kcat.log" || it_fail "kcat topic3"

# Wait until both consumers have counted everything and the lag of every
# partition has come down to 0 in their statistics (every 5 s).
done_both=""
for _ in $(seq 300); do
  if [ "$(scrape "$DB_PORT" metrics "$WORK/db.metrics")" = 200 ] &&
    [ "$(scrape "$ACK_PORT" metrics "$WORK/ack.metrics")" = 200 ] &&
    [ "$(total "$WORK/db.metrics" genetika_messages_consumed_total)" = $((3 * EVENTS + 3)) ] &&
    [ "$(total "$WORK/ack.metrics" genetika_messages_consumed_total)" = $((3 * EVENTS + 3)) ] &&
    [ "$(value "$WORK/ack.metrics" genetika_acks_confirmed_total)" = $EVENTS ] &&
    [ "$(grep -c '^genetika_consumer_lag_messages{.*} 0$' "$WORK/db.metrics")" = 9 ] &&
    [ "$(grep -c '^genetika_consumer_lag_messages{.*} 0$' "$WORK/ack.metrics")" = 9 ]; then
    done_both=1
    break
  fi
  sleep 0.2
done
[ -n "$done_both" ] || it_fail "the final counts never showed up: $(grep -h '^genetika_\(messages\|acks\|consumer_lag\)' "$WORK/db.metrics" "$WORK/ack.metrics" | tr '\n' ' ')"
it_log "db_consumer: $(grep -h '^genetika_\(rows\|dead\|messages\)' "$WORK/db.metrics" | tr '\n' ' ')"
it_log "ack_consumer: $(grep -h '^genetika_\(acks\|dead\|ack_delay_seconds_count\)' "$WORK/ack.metrics" | tr '\n' ' ')"

grep -q 'librdkafka rdkafka#consumer-[0-9]* statistics: msg_cnt=.* lag=0$' "$WORK/db.log" ||
  it_fail "db_consumer logged no statistics with -X statistics.interval.ms=1000 --log-level debug"
it_log "db_consumer: $(grep -c 'statistics: msg_cnt=' "$WORK/db.log") statistics lines logged at debug level"

# db_consumer's counters against the database.
for t in 1 2 3; do
  it_expect "genetika_rows_written_total{table=\"data$t\"} = rows in data$t" \
    "$(value "$WORK/db.metrics" "genetika_rows_written_total{table=\"data$t\"}")" \
    "$(it_sql "$WORK/genetika.db" "SELECT count(*) FROM data$t")"
done
it_expect "rows in data1" "$(it_sql "$WORK/genetika.db" "SELECT count(*) FROM data1")" $EVENTS
it_expect "dead letters in the database" "$(it_sql "$WORK/genetika.db" "SELECT count(*) FROM dead_letters")" 3
it_expect "db_consumer dead letters, all reasons = the database's" \
  "$(total "$WORK/db.metrics" genetika_dead_letters_total)" \
  "$(it_sql "$WORK/genetika.db" "SELECT count(*) FROM dead_letters")"
it_expect "db_consumer dead letters {reason=\"not_json\"}" \
  "$(value "$WORK/db.metrics" 'genetika_dead_letters_total{reason="not_json"}')" \
  "$(it_sql "$WORK/genetika.db" "SELECT count(*) FROM dead_letters WHERE reason LIKE 'not valid JSON%'")"
it_expect "db_consumer dead letters {reason=\"key_mismatch\"}" \
  "$(value "$WORK/db.metrics" 'genetika_dead_letters_total{reason="key_mismatch"}')" \
  "$(it_sql "$WORK/genetika.db" "SELECT count(*) FROM dead_letters WHERE reason LIKE 'key %does not match%'")"
for t in 1 2 3; do
  extra=0
  [ $t = 1 ] && extra=2
  [ $t = 3 ] && extra=1
  it_expect "db_consumer messages {topic=\"topic$t\"}" \
    "$(value "$WORK/db.metrics" "genetika_messages_consumed_total{topic=\"topic$t\"}")" $((EVENTS + extra))
done
it_expect "db_consumer store transactions timed" \
  "$([ "$(value "$WORK/db.metrics" genetika_store_commit_seconds_count)" -gt 0 ] && echo yes)" yes

# ack_consumer's counters against the ack topic.
it_ack_keys >"$WORK/ack.keys" || it_fail "kcat could not read the ack topic"
acks=$(wc -l <"$WORK/ack.keys")
it_expect "acks on the topic" "$acks" $EVENTS
it_expect "genetika_acks_sent_total = acks on the topic" "$(value "$WORK/ack.metrics" genetika_acks_sent_total)" "$acks"
it_expect "genetika_acks_confirmed_total = acks on the topic" "$(value "$WORK/ack.metrics" genetika_acks_confirmed_total)" "$acks"
it_expect "genetika_ack_delay_seconds_count = acks on the topic" "$(value "$WORK/ack.metrics" genetika_ack_delay_seconds_count)" "$acks"
it_expect "ack delay +Inf bucket = count" "$(value "$WORK/ack.metrics" 'genetika_ack_delay_seconds_bucket{le="+Inf"}')" "$acks"
it_expect "ack_consumer dead letters = db_consumer's" \
  "$(total "$WORK/ack.metrics" genetika_dead_letters_total)" "$(total "$WORK/db.metrics" genetika_dead_letters_total)"
# The dashboard against reality: every metric name its queries use is a
# series some service exported in this run.
cat "$WORK/producer.mid" "$WORK/db.metrics" "$WORK/ack.metrics" |
  awk '!/^#/ && NF { sub(/\{.*/, "", $1); print $1 }' | sort -u >"$WORK/scraped.names"
/usr/bin/python3 "$GK_SOURCE/test/integration/dashboards.py" names "$GK_SOURCE/monitoring/grafana/dashboards" \
  >"$WORK/dashboard.names" || it_fail "cannot read the dashboards' queries"
missing=$(comm -23 "$WORK/dashboard.names" "$WORK/scraped.names")
[ -z "$missing" ] || it_fail "the dashboard queries series no service exported: $(echo $missing)"
it_log "ok: the dashboard's $(wc -l <"$WORK/dashboard.names") metric names are all series of this run's scrapes"
# README.md's metrics table is the list the services export: the same
# names, with the same types.
grep -h '^# TYPE ' "$WORK/producer.mid" "$WORK/db.metrics" "$WORK/ack.metrics" | awk '{ print $3, $4 }' |
  sort -u >"$WORK/types.scraped"
sed -n 's/^| `\([a-z_]*\)[{`][^|]*| \(counter\|gauge\|histogram\) |.*/\1 \2/p' "$GK_SOURCE/README.md" |
  sort -u >"$WORK/types.readme"
diff "$WORK/types.readme" "$WORK/types.scraped" >"$WORK/types.diff" ||
  it_fail "README's metrics table (<) and the scrapes (>) differ: $(grep '^[<>]' "$WORK/types.diff" | tr '\n' ' ')"
it_log "ok: README's metrics table lists the $(wc -l <"$WORK/types.scraped") families the services export, types included"
for f in db ack; do
  rss=$(value "$WORK/$f.metrics" process_resident_memory_bytes)
  [ "$rss" != absent ] && [ "$rss" -gt 1000000 ] || it_fail "$f RSS: $rss"
  it_expect "$f genetika_ready" "$(value "$WORK/$f.metrics" genetika_ready)" 1
done

# More members than partitions: four db_consumers of one group on topic1's
# three partitions. The one given nothing is a ready stand-by (an
# orchestrator waiting for every replica's /readyz must not wait forever);
# all four answer 200 once the group has settled.
for i in 1 2 3 4; do
  it_start "sb$i" "$GK_BIN/db_consumer" --db "$WORK/standby$i.db" --group "${GK_TOPIC_PREFIX:-}standby" --topics "$(it_topic topic1)" \
    --metrics-addr 0
done
empty=""
for _ in $(seq 300); do
  empty=$(grep -l "assigned 0 partition(s): none" "$WORK"/sb[1-4].log 2>/dev/null | head -n 1 || true)
  n=0
  for i in 1 2 3 4; do
    if grep -q "assigned [0-9]* partition" "$WORK/sb$i.log"; then n=$((n + 1)); fi
  done
  [ -n "$empty" ] && [ "$n" = 4 ] && break
  sleep 0.2
done
[ -n "$empty" ] || it_fail "no member of four on three partitions was given none: $(grep -h 'assigned' "$WORK"/sb[1-4].log | tr '\n' ' ')"
for i in 1 2 3 4; do
  port=$(port_of "sb$i")
  for _ in $(seq 150); do [ "$(scrape "$port" readyz "$WORK/sb$i.readyz")" = 200 ] && break; sleep 0.2; done
  it_expect "stand-by group member $i /readyz ($(grep -o 'assigned [0-9]* partition' "$WORK/sb$i.log" | tail -n 1))" \
    "$(scrape "$port" readyz "$WORK/sb$i.readyz")" 200
done
for i in 1 2 3 4; do eval "kill -TERM \$PID_sb$i"; done
for i in 1 2 3 4; do eval "it_wait_exit \$PID_sb$i 20"; done

# SIGTERM: both stop cleanly, endpoint included, within the bounded shutdown.
kill -TERM "$PID_db" "$PID_ack"
it_wait_exit "$PID_db" 20
it_expect "db_consumer exit status" "$IT_RC" 0
it_wait_exit "$PID_ack" 20
it_expect "ack_consumer exit status" "$IT_RC" 0
it_expect "db_consumer endpoint after the stop" "$(scrape "$DB_PORT" healthz /dev/null)" 000
it_expect "ack_consumer endpoint after the stop" "$(scrape "$ACK_PORT" healthz /dev/null)" 000
rc=0
"$GK_BIN/db_consumer" --probe readyz --metrics-addr "$DB_PORT" >/dev/null 2>"$WORK/probe.err" || rc=$?
it_expect "db_consumer --probe readyz after the stop: exit status" "$rc" 69
it_log "ok: $(cat "$WORK/probe.err")"
it_log "PASS"
