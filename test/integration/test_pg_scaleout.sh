#!/usr/bin/env bash
# test_pg_scaleout.sh - exactly once with three db_consumers in one group
# writing one PostgreSQL database, through crashes. While 20,000 events
# stream through (100,000 with GK_TEST_SCALE=full), the three are SIGKILLed
# in turn at random moments, at least 10 times in all (30 full), and
# restarted; every kill changes the group and moves partitions. One of them
# is also frozen (SIGSTOP) past its session, so that its partitions move to
# the others while it still holds a batch, and then woken (SIGCONT): the
# stale instance the README describes. Poison messages are mixed in.
# Afterwards every table holds each event id exactly once with exactly the
# content of its message (each row compared with its message's JSON read by
# PostgreSQL itself, jsonb_populate_record), dead_letters holds each poison
# message exactly once, byte for byte, and every stored offset is the end of
# its partition.
# brokers: embedded kafka
# cost: 114
. "$(dirname "$0")/lib.sh"

N=$(it_scale 20000 100000)
KILLS=$(it_scale 10 30)
FREEZES=$(it_scale 1 3)
# Paced so that production spans the kills (a killed member leaves the group
# when its 6 s session expires; each kill costs two rebalances).
RATE=$(it_scale 250 500)
POISON=12 # per topic
"$GK_BIN/datagen" --rows "$N" --seed 11 --out "$WORK/data" 2>"$WORK/datagen.log" || it_fail "datagen failed"

it_postgres
it_broker --partitions 6
start_db() { it_start "db$1" "$GK_BIN/db_consumer" --db "$IT_PG_URI" --batch 500 "${@:2}"; }
for i in 0 1 2; do start_db $i; done
it_wait_assigned db0 db1 db2
it_start producer "$GK_BIN/producer" --rate "$RATE" "$WORK/data/sim_file1.xlsx" "$WORK/data/sim_file2.xlsx" "$WORK/data/sim_file3.xlsx"

# poison: POISON bad messages per topic, each value unique ("poison-TOPIC-I ...").
poison() {
  local t i
  for t in 1 2 3; do
    for i in $(seq "$POISON"); do
      case $((i % 4)) in
        0) printf '%s\t%s\n' "$i" "poison-$t-$i not json" ;;
        1) printf '%s\t%s\n' "77$i" "{\"event_id\":$i,\"poison\":\"poison-$t-$i\"}" ;;
        2) printf '%s\t%s\n' "$i" "[\"poison-$t-$i\"]" ;;
        3) printf '%s\t%s\n' "x$i" "{\"poison-$t-$i\":1}" ;;
      esac | timeout 30 kcat -P -b "$KAFKA_BOOTSTRAP" -t "topic$t" -K $'\t' 2>>"$WORK/kcat.log" ||
        it_fail "kcat: poison to topic$t"
    done
  done
}

kills=(0 0 0)
total=0
freezes=0
RANDOM=4242
deadline=$((SECONDS + 480))
# In turn: wait until the victim owns partitions, let it work a random
# 0.1-1.0 s, SIGKILL it and start it again at once.
while [ $total -lt "$KILLS" ]; do
  [ $SECONDS -lt $deadline ] || it_fail "crash loop did not finish in time ($total kills)"
  v=$((total % 3))
  it_wait_assigned "db$v"
  eval "pid=\$PID_db$v"
  if [ $total = 2 ]; then poison; it_log "sent $((3 * POISON)) poison messages"; fi
  if [ $freezes -lt "$FREEZES" ] && [ $total -ge 4 ] && [ $((total % 3)) = 1 ]; then
    # Frozen past its 6 s session: the group gives its partitions to the
    # other two, which start from the offsets stored in the database while
    # this one still holds what it had consumed (and may be inside a
    # transaction, holding their offset rows' locks).
    kill -STOP "$pid"; it_log "db$v frozen"
    sleep 9
    kill -CONT "$pid"; it_log "db$v woken"
    freezes=$((freezes + 1))
    sleep 2
  fi
  sleep "0.$((RANDOM % 9 + 1))$((RANDOM % 10))"
  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  kills[$v]=$((kills[v] + 1)); total=$((total + 1))
  mv "$WORK/db$v.log" "$WORK/db$v.${kills[$v]}.killed"
  start_db $v
  it_log "kills: db0=${kills[0]} db1=${kills[1]} db2=${kills[2]} (rows so far: $(it_psql "SELECT count(*) FROM data1" 2>/dev/null || echo ?))"
done
kill -0 "$PID_producer" 2>/dev/null || it_log "note: the producer finished before the last kill"
it_wait_exit "$PID_producer" 300
it_expect "producer exit status" "$IT_RC" 0

# Last incarnations: finish the backlog and stop by themselves.
for i in 0 1 2; do eval "kill -TERM \$PID_db$i"; done
for i in 0 1 2; do eval "it_wait_exit \$PID_db$i 30"; done
for i in 0 1 2; do mv "$WORK/db$i.log" "$WORK/db$i.stopped"; start_db $i --idle-exit 3; done
for i in 0 1 2; do
  eval "it_wait_exit \$PID_db$i 240"
  it_expect "db$i exit status" "$IT_RC" 0
done
it_log "SIGKILLs: db0=${kills[0]} db1=${kills[1]} db2=${kills[2]} (total $total), freezes: $freezes"

# Every message of the three topics as the broker holds it, into the database.
it_psql "CREATE TABLE msgs (topic text, part integer, off bigint, key text, value text)"
for t in 1 2 3; do
  timeout 120 kcat -C -b "$KAFKA_BOOTSTRAP" -t "topic$t" -o beginning -e -q -f "topic$t\t%p\t%o\t%k\t%s\n" \
    2>>"$WORK/kcat.log" >"$WORK/topic$t.tsv" || it_fail "kcat could not read topic$t"
  psql "$IT_PG_URI" -X -q -v ON_ERROR_STOP=1 \
    -c "\\copy msgs FROM '$WORK/topic$t.tsv' WITH (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01')" ||
    it_fail "loading topic$t"
done
it_expect "messages on the topics" "$(it_psql "SELECT count(*) FROM msgs")" $((3 * N + 3 * POISON))

for t in 1 2 3; do
  it_expect "data$t rows" "$(it_psql "SELECT count(*) FROM data$t")" "$N"
  it_expect "data$t distinct ids 1..$N" "$(it_psql "SELECT count(DISTINCT event_id) FROM data$t WHERE event_id BETWEEN 1 AND $N")" "$N"
  # Each row is its message: the table minus the messages read as rows by
  # PostgreSQL (UTC), and the other way round, are both empty.
  rows="SELECT (jsonb_populate_record(NULL::data$t, value::jsonb)).* FROM msgs WHERE topic = 'topic$t' AND value NOT LIKE '%poison-%'"
  it_expect "data$t rows unlike their message" "$(it_psql "SET TimeZone = 'UTC'; SELECT count(*) FROM (SELECT * FROM data$t EXCEPT ALL $rows) x")" 0
  it_expect "topic$t messages unlike their row" "$(it_psql "SET TimeZone = 'UTC'; SELECT count(*) FROM ($rows EXCEPT ALL SELECT * FROM data$t) x")" 0
done
it_expect "dead letters" "$(it_psql "SELECT count(*) FROM dead_letters")" $((3 * POISON))
it_expect "dead letters kept byte for byte, each once" "$(it_psql "SELECT count(DISTINCT d.id) FROM dead_letters d
  JOIN msgs m ON m.topic = d.topic AND m.part = d.partition AND m.off = d.\"offset\"
  WHERE convert_from(d.value, 'UTF8') = m.value AND convert_from(d.key, 'UTF8') = m.key AND m.value LIKE '%poison-%'")" $((3 * POISON))
it_expect "stored offsets at the end of every partition" "$(it_psql "SELECT count(*) FROM kafka_offsets k
  JOIN (SELECT topic, part, max(off) + 1 AS n FROM msgs GROUP BY 1, 2) e ON e.topic = k.topic AND e.part = k.partition
  WHERE k.next_offset = e.n")" 18
skips=$(cat "$WORK"/db*.killed "$WORK"/db*.stopped "$WORK"/db?.log 2>/dev/null | grep -c "are already in the database" || true)
it_log "batches that met offsets another instance had stored (skipped parts): $skips"
it_log "PASS: $N events x 3 topics, SIGKILLs db0=${kills[0]} db1=${kills[1]} db2=${kills[2]} (total $total), freezes $freezes; data1..3=$N rows each, content equal to the messages; dead_letters=$((3 * POISON)) each once"
