# pipeline.sh - one run of the whole pipeline, shared by the end-to-end,
# latency and memory stages (sourced).
#
# A fresh broker; db_consumer and ack_consumer (as shipped, --idle-exit) are
# started first and must own their partitions before the producer starts, so
# everything is consumed live; then the producer sends the N-row data set.
# The run fails if a consumer exits non-zero (76: it fell more than the
# broker's 5 MiB per partition behind, i.e. did not keep up), if a table does
# not hold exactly N rows or the ack topic exactly N distinct acks.
#
# Times (epoch): start = just before the producer process is started;
# last ack = the largest timestamp (CreateTime, ms) on the ack topic;
# last DB commit = db_consumer's "idle ... exiting" log line minus the idle
# time: its idle clock starts at the last message it received, whose batch it
# commits at once (accurate to its 100 ms poll, see bench/README.md).

# The consumers' --idle-exit, in seconds (--quick: 2). Generous, because an
# idle exit is a heuristic: a consumer that sees no message for this long
# while every partition is at its end stops, even if the producer is only
# slow. A consumer that stops before the producer has finished is reported
# as such (the run fails: the data would be incomplete).
BENCH_IDLE_EXIT=${BENCH_IDLE_EXIT:-5}

# bench_pipeline TAG N [PRODUCER_ARGS...]: runs the pipeline on the N-row
# data set; PIPE_ACK_ARGS (words), if set, are extra ack_consumer options. Leaves the broker running (BROKER_PID, BOOTSTRAP) for analysis.
# Sets PIPE_START_NS, PIPE_PROD_END_NS, PIPE_DB_END_MS, PIPE_ACK_END_MS and
# appends "service rows rss_kb" lines to $BENCH_RUN/rss.tsv.
bench_pipeline() {
  local tag=$1 n=$2; shift 2
  local d=$BENCH_STAGE_DIR t got
  bench_data "$n" || bench_fail "datagen failed"
  local data=$BENCH_DATA
  bench_broker "$tag" "$BENCH_PARTITIONS"
  rm -rf "$d/$tag.db" "$d/$tag.db-wal" "$d/$tag.db-shm" "$d/$tag.cache"
  bench_start "${tag}_db" 1800 "$BENCH_BIN/db_consumer" -b "$BOOTSTRAP" --db "$d/$tag.db" \
    --idle-exit "$BENCH_IDLE_EXIT"
  # shellcheck disable=SC2086 # PIPE_ACK_ARGS is a list of words
  bench_start "${tag}_ack" 1800 "$BENCH_BIN/ack_consumer" -b "$BOOTSTRAP" --cache "$d/$tag.cache" \
    --idle-exit "$BENCH_IDLE_EXIT" ${PIPE_ACK_ARGS:-}
  bench_wait_assigned "${tag}_db" "${tag}_ack"
  # The acks are read while they are produced, as a downstream system would:
  # read afterwards, a long run's first acks may already have fallen out of
  # the broker's 5 MiB per partition (seen: 401 of 1,000,000).
  bench_start "${tag}_acks" 1800 kcat -C -u -b "$BOOTSTRAP" -t ack -o beginning -q -f '%k %T\n'
  bench_run "${tag}_prod" 1800 "$BENCH_BIN/producer" -b "$BOOTSTRAP" "$@" \
    "$data/sim_file1.xlsx" "$data/sim_file2.xlsx" "$data/sim_file3.xlsx"
  eval "PIPE_START_NS=\$T0_${tag}_prod PIPE_PROD_END_NS=\$T1_${tag}_prod"
  bench_check_rc "${tag}_prod"
  for t in db ack; do
    local pid
    eval "pid=\$PID_${tag}_$t"
    kill -0 "$pid" 2>/dev/null && continue
    bench_wait "${tag}_$t"
    bench_check_rc "${tag}_$t"
    bench_fail "$tag: ${tag}_$t stopped before the producer had finished:" \
      "$(grep -h -m1 -o 'idle for .*' "$d/${tag}_$t.err" || echo 'no idle-exit line')" \
      "- $(head -n 1 "$d/${tag}_$t.out")"
  done
  bench_wait_exit "${tag}_db" 900
  bench_wait_exit "${tag}_ack" 900
  bench_check_rc "${tag}_db"
  bench_check_rc "${tag}_ack"

  for t in 1 2 3; do
    got=$(sqlite3 -batch -noheader "$d/$tag.db" "SELECT count(*) FROM data$t")
    [ "$got" = "$n" ] || bench_fail "$tag: data$t holds $got rows of $n"
  done
  local acks=$d/${tag}_acks.out apid
  for _ in $(seq 600); do # every ack is confirmed when ack_consumer exits: let kcat catch up
    [ "$(wc -l <"$acks")" -ge "$n" ] && break
    sleep 0.1
  done
  eval "apid=\$PID_${tag}_acks"
  bench_stop "$apid"
  got=$(cut -d' ' -f1 "$acks" | sort -u | wc -l)
  [ "$got" = "$n" ] || bench_fail "$tag: kcat read $got distinct acks of $n events from the ack topic"
  PIPE_ACK_END_MS=$(cut -d' ' -f2 "$acks" | sort -n | tail -n 1)
  PIPE_DB_END_MS=$(bench_log_ms "$d/${tag}_db.err" "idle for [0-9]+s")
  [ -n "$PIPE_DB_END_MS" ] || bench_fail "$tag: no idle-exit line in db_consumer's log"
  PIPE_DB_END_MS=$((PIPE_DB_END_MS - BENCH_IDLE_EXIT * 1000))
  rm -rf "$d/$tag.db" "$d/$tag.db-wal" "$d/$tag.db-shm" "$d/$tag.cache" "$acks"

  printf 'producer\t%s\t%s\n' "$n" "$(bench_rss_kb "${tag}_prod")" >>"$BENCH_RUN/rss.tsv"
  printf 'db_consumer\t%s\t%s\n' "$n" "$(bench_rss_kb "${tag}_db")" >>"$BENCH_RUN/rss.tsv"
  printf 'ack_consumer\t%s\t%s\n' "$n" "$(bench_rss_kb "${tag}_ack")" >>"$BENCH_RUN/rss.tsv"
}
