# stage_db.sh - stage 2: db_consumer throughput against sqlite3 .import (sourced).
#
# Figure: rows per second committed to SQLite by db_consumer (as shipped:
# WAL, synchronous=FULL, one transaction per batch with its offsets), reading
# pre-filled topics; the service's own rows_per_s over its busy span (first
# batch to last commit: no group join, no idle wait). Each repetition starts
# from an empty database in a new consumer group.
# Limit: the sqlite3 shell's .import --csv of the same rows (exported from the
# database db_consumer built) into a fresh database with the same CREATE
# TABLE statements and the same journal_mode/synchronous, all three tables in
# one transaction; timed from outside (process start to exit).

stage_db() {
  local n=$BENCH_PREFILL total=$((3 * BENCH_PREFILL)) r t db got wall
  local rate=() outside=() rss=() lrate=() cpu=() lcpu=()
  local d=$BENCH_STAGE_DIR
  bench_prefill "$n"
  for r in $(seq "$BENCH_REPS"); do
    db=$d/db$r.db
    rm -f "$db" "$db-wal" "$db-shm"
    bench_run "db$r" 900 "$BENCH_BIN/db_consumer" -b "$BOOTSTRAP" --db "$db" \
      --group "bench-db-$r" --idle-exit 1
    bench_check_rc "db$r"
    for t in 1 2 3; do
      got=$(sqlite3 -batch -noheader "$db" "SELECT count(*) FROM data$t")
      [ "$got" = "$n" ] || bench_fail "db$r: data$t holds $got rows of $n"
    done
    rate+=("$(bench_field "$d/db$r.out" rows_per_s)")
    rss+=("$(bench_div "$(bench_rss_kb "db$r")" 1024 %.1f)")
    # Cross-check from outside: assignment to the last commit.
    local a e o=""
    a=$(bench_log_ms "$d/db$r.err" "assigned [0-9]+ partition")
    e=$(bench_field "$d/db$r.out" last_commit_ms)
    if [ -n "$a" ] && [ -n "$e" ]; then
      o=$(bench_div "$total" "$((e - a))e-3")
      outside+=("$o")
    fi

    if [ "$r" = 1 ]; then # the rows to import, exactly as db_consumer stored them
      {
        echo "PRAGMA journal_mode=WAL;"
        echo "PRAGMA synchronous=FULL;"
        for t in 1 2 3; do
          sqlite3 -batch "$db" ".schema data$t"
          sqlite3 -batch -csv "$db" "SELECT * FROM data$t" >"$d/data$t.csv"
        done
        echo "BEGIN;"
        for t in 1 2 3; do echo ".import --csv $d/data$t.csv data$t"; done
        echo "COMMIT;"
      } >"$d/import.sql"
    fi
    rm -f "$db" "$db-wal" "$db-shm"

    db=$d/import$r.db
    rm -f "$db" "$db-wal" "$db-shm"
    bench_run "import$r" 900 sqlite3 -bail -batch "$db" ".read $d/import.sql"
    bench_check_rc "import$r"
    for t in 1 2 3; do
      got=$(sqlite3 -batch -noheader "$db" "SELECT count(*) FROM data$t")
      [ "$got" = "$n" ] || bench_fail "import$r: data$t holds $got rows of $n"
    done
    rm -f "$db" "$db-wal" "$db-shm"
    eval "wall=\$((T1_import$r - T0_import$r))"
    lrate+=("$(bench_div "$total" "$(bench_ns_to_s "$wall")")")
    cpu+=("$(bench_cpu_s "db$r")"); lcpu+=("$(bench_cpu_s "import$r")")
    bench_log "db_consumer rep $r: ${rate[-1]} rows/s (outside ${o:-?}), ${rss[-1]} MiB; sqlite3 .import ${lrate[-1]} rows/s"
  done
  bench_broker_stop
  rm -f "$d"/data[123].csv
  local m k ratio
  m=$(bench_median "${rate[@]}"); k=$(bench_median "${lrate[@]}")
  ratio=$(bench_div "$m" "$k" %.2f)
  bench_row db_consumer "rows/s committed ($n events x 3, pre-filled)" "rows/s" "$m" "${rate[*]}" \
    "$k" "sqlite3 .import, same rows" ">=${BENCH_TARGET_DB}x" "$(bench_verdict "$ratio" ">=" "$BENCH_TARGET_DB")"
  bench_row db_consumer "CPU seconds, user + system (lower is better)" "s" "$(bench_median "${cpu[@]}")" \
    "${cpu[*]}" "$(bench_median "${lcpu[@]}")" "sqlite3 .import, same rows" "" ""
  bench_row db_consumer "peak RSS ($n events x 3)" "MiB" "$(bench_median "${rss[@]}")" "${rss[*]}" \
    "" "" "" ""
  bench_detail db_consumer outside_rows_per_s "$(bench_median "${outside[@]}")"
  bench_detail db_consumer import_rows_per_s_reps "${lrate[*]}"
}
