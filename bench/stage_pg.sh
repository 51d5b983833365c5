# stage_pg.sh - stage 7: db_consumer into PostgreSQL, one and three
# instances, against psql's COPY (sourced).
#
# Figure: rows per second committed to PostgreSQL (synchronous_commit on,
# one transaction per batch with its offsets) by one db_consumer, and by
# three in one consumer group splitting the partitions, reading the same
# pre-filled topics. Measured from outside, as the three write at once: from
# the first "assigned" log line of any instance to the last one's last
# commit (last_commit_ms in its summary), so a rebalance as the instances
# join is paid for.
# Each run starts from empty tables (dropped) in a new consumer group.
# Limit: psql's \copy of the same rows (exported from the tables db_consumer
# built) into empty tables of the same definition, all three in one
# transaction, with the same synchronous_commit; timed from outside. The
# server is a private one (scripts/postgres.sh) on this machine, so the
# figures include its CPU on the same cores.

# pg_stage_psql SQL: runs SQL on the stage's database.
pg_stage_psql() { PGOPTIONS="-c client_min_messages=warning" psql "$PG_URI" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }

# pg_stage_run TAG K: K db_consumers in group bench-pg-TAG until idle; checks
# every table holds BENCH_PREFILL rows; sets PG_RATE (rows/s, outside).
pg_stage_run() {
  local tag=$1 k=$2 i t got a e first="" last="" d=$BENCH_STAGE_DIR
  pg_stage_psql "DROP TABLE IF EXISTS data1, data2, data3, dead_letters, kafka_offsets" ||
    bench_fail "cannot empty the database"
  for i in $(seq "$k"); do
    bench_start "${tag}_$i" 900 "$BENCH_BIN/db_consumer" -b "$BOOTSTRAP" --db "$PG_URI" \
      --group "bench-pg-$tag" --idle-exit 1
  done
  for i in $(seq "$k"); do bench_wait "${tag}_$i"; bench_check_rc "${tag}_$i"; done
  for t in 1 2 3; do
    got=$(pg_stage_psql "SELECT count(*) FROM data$t")
    [ "$got" = "$BENCH_PREFILL" ] || bench_fail "$tag: data$t holds $got rows of $BENCH_PREFILL"
  done
  for i in $(seq "$k"); do
    a=$(bench_log_ms "$d/${tag}_$i.err" "assigned [0-9]+ partition")
    e=$(bench_field "$d/${tag}_$i.out" last_commit_ms)
    [[ $e =~ ^[0-9]+$ ]] || bench_fail "$tag: instance $i reported no last_commit_ms"
    if [ -n "$a" ] && { [ -z "$first" ] || [ "$a" -lt "$first" ]; }; then first=$a; fi
    # 0: this instance committed nothing (the others had every message).
    if [ "$e" -gt 0 ] && { [ -z "$last" ] || [ "$e" -gt "$last" ]; }; then last=$e; fi
  done
  [ -n "$first" ] || bench_fail "$tag: no instance logged its assignment"
  [ -n "$last" ] || bench_fail "$tag: no instance committed anything"
  PG_RATE=$(bench_div "$((3 * BENCH_PREFILL))" "$((last - first))e-3")
}

stage_pg() {
  local n=$BENCH_PREFILL total=$((3 * BENCH_PREFILL)) r t wall d=$BENCH_STAGE_DIR
  local one=() three=() lrate=() cpu1=() cpu3=() lcpu=()
  command -v psql >/dev/null || bench_fail "psql is not installed (Debian: postgresql)"
  # The server's directory in a temporary one of its own: as root the
  # server runs as another user, who must be able to reach it (the work
  # directory may sit in a home or a test's private directory).
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/gk-bench-pg.XXXXXX") || bench_fail "mktemp failed"
  [ "$(id -u)" -ne 0 ] || chmod 711 "$PG_DIR"
  PG_URI=$("$ROOT/scripts/postgres.sh" start --fresh --data "$PG_DIR/pg" --stop-with $$ \
    2>"$d/postgres.log" | head -n 1) || true
  [ -n "$PG_URI" ] || bench_fail "postgres.sh start: $(grep 'error:' "$d/postgres.log" | tail -n 1)"
  bench_prefill "$n"
  for r in $(seq "$BENCH_REPS"); do
    pg_stage_run "one$r" 1
    one+=("$PG_RATE")
    cpu1+=("$(bench_cpu_s "one${r}_1")")
    pg_stage_run "three$r" 3
    three+=("$PG_RATE")
    cpu3+=("$(bench_cpu_sum "three${r}_1" "three${r}_2" "three${r}_3")")

    if [ "$r" = 1 ]; then # the rows to copy, exactly as db_consumer stored them
      {
        echo "SET synchronous_commit = on;"
        echo "BEGIN;"
        for t in 1 2 3; do
          pg_stage_psql "\\copy data$t TO '$d/data$t.csv' WITH (FORMAT csv)" ||
            bench_fail "cannot export data$t"
          echo "CREATE TABLE lim$t (LIKE data$t INCLUDING ALL);"
          echo "\\copy lim$t FROM '$d/data$t.csv' WITH (FORMAT csv)"
        done
        echo "COMMIT;"
      } >"$d/copy.sql"
    fi
    pg_stage_psql "DROP TABLE IF EXISTS lim1, lim2, lim3" || bench_fail "cannot drop the COPY tables"
    bench_run "copy$r" 900 psql "$PG_URI" -X -q -v ON_ERROR_STOP=1 -f "$d/copy.sql"
    bench_check_rc "copy$r"
    for t in 1 2 3; do
      got=$(pg_stage_psql "SELECT count(*) FROM lim$t")
      [ "$got" = "$n" ] || bench_fail "copy$r: lim$t holds $got rows of $n"
    done
    eval "wall=\$((T1_copy$r - T0_copy$r))"
    lrate+=("$(bench_div "$total" "$(bench_ns_to_s "$wall")")")
    lcpu+=("$(bench_cpu_s "copy$r")")
    bench_log "PostgreSQL rep $r: one db_consumer ${one[-1]} rows/s, three ${three[-1]} rows/s; psql COPY ${lrate[-1]} rows/s"
  done
  bench_broker_stop
  "$ROOT/scripts/postgres.sh" stop --data "$PG_DIR/pg" 2>>"$d/postgres.log" || true
  rm -rf "$d"/data[123].csv "$PG_DIR"
  local m1 m3 k
  m1=$(bench_median "${one[@]}"); m3=$(bench_median "${three[@]}"); k=$(bench_median "${lrate[@]}")
  bench_row db_consumer_pg "rows/s committed, 1 instance ($n events x 3, pre-filled)" "rows/s" "$m1" \
    "${one[*]}" "$k" "psql COPY, same rows" "" ""
  bench_row db_consumer_pg "rows/s committed, 3 instances in one group" "rows/s" "$m3" \
    "${three[*]}" "$k" "psql COPY, same rows" "" ""
  # No limit beside it: psql's CPU leaves out the server's, which does
  # the work of a COPY, so a ratio to it would mean nothing.
  bench_row db_consumer_pg "CPU seconds of db_consumer, user + system, 1 instance" "s" \
    "$(bench_median "${cpu1[@]}")" "${cpu1[*]}" "" "" "" ""
  bench_detail db_consumer_pg cpu_s_three_instances "$(bench_median "${cpu3[@]}")"
  bench_detail db_consumer_pg copy_rows_per_s_reps "${lrate[*]}"
  bench_detail db_consumer_pg psql_cpu_s "$(bench_median "${lcpu[@]}")"
  bench_detail db_consumer_pg scale_out_ratio "$(bench_div "$m3" "$m1" %.2f)"
}
