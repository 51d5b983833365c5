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
# last DB commit = the end of db_consumer's last commit, from its summary
# (last_commit_ms). Its idle exit is no such mark: it can come seconds
# after the idle time, while it confirms every partition's end with the
# broker.

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
  case " ${PIPE_ACK_ARGS:-} " in *" --mode scalable "*) bench_create_scalable_topics ;; esac
  rm -rf "$d/$tag.db" "$d/$tag.db-wal" "$d/$tag.db-shm" "$d/$tag.cache"
  bench_start "${tag}_db" 1800 "$BENCH_BIN/db_consumer" -b "$BOOTSTRAP" --db "$d/$tag.db" \
    --idle-exit "$BENCH_IDLE_EXIT"
  # shellcheck disable=SC2086 # PIPE_ACK_ARGS is a list of words
  bench_start "${tag}_ack" 1800 "$BENCH_BIN/ack_consumer" -b "$BOOTSTRAP" --cache "$d/$tag.cache" \
    --idle-exit "$BENCH_IDLE_EXIT" ${PIPE_ACK_ARGS:-}
  bench_wait_assigned "${tag}_db" "${tag}_ack"
  # The acks are read while they are produced, as a downstream system would:
  # read afterwards, a long run's first acks may already have fallen out of
  # the broker's 5 MiB per partition (seen: 401 of 1,000,000). Only
  # committed acks count (--mode scalable writes them in transactions).
  bench_start "${tag}_acks" 1800 kcat -C -u -b "$BOOTSTRAP" -t "${BENCH_TP}ack" -o beginning -q \
    -X isolation.level=read_committed -f '%k %T\n'
  if [ -z "$BENCH_DATA_PARTS" ]; then
    bench_run "${tag}_prod" 1800 "$BENCH_BIN/producer" -b "$BOOTSTRAP" "$@" \
      "$data/sim_file1.xlsx" "$data/sim_file2.xlsx" "$data/sim_file3.xlsx"
  else
    # A set of parts (above a sheet's rows): one producer per part, one
    # after the other, as a lab would send a day's workbooks; the peak RSS is
    # the largest producer's, the CPU all of theirs.
    # shellcheck disable=SC2086 # BENCH_DATA_PARTS is a list of directories
    bench_run "${tag}_prod" 3600 "$ROOT/bench/produce_parts.sh" "$BENCH_BIN/producer" \
      -b "$BOOTSTRAP" "$@" -- $BENCH_DATA_PARTS
  fi
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
  PIPE_DB_END_MS=$(bench_field "$d/${tag}_db.out" last_commit_ms)
  [[ $PIPE_DB_END_MS =~ ^[1-9][0-9]*$ ]] || bench_fail "$tag: no last_commit_ms in db_consumer's summary"
  rm -rf "$d/$tag.db" "$d/$tag.db-wal" "$d/$tag.db-shm" "$d/$tag.cache" "$acks"

  local svc
  for svc in producer:prod db_consumer:db ack_consumer:ack; do
    printf '%s\t%s\t%s\t%s\n' "${svc%%:*}" "$n" "$(bench_rss_kb "${tag}_${svc#*:}")" "$BENCH_BROKER_KIND" \
      >>"$BENCH_RUN/rss.tsv"
  done
}

# bench_pipeline_figures TAG N: after bench_pipeline TAG N and
# bench_broker_stop, an unpaced run's figures: PF_RATE (events/s, start to
# the later of the last ack and the last DB commit: PF_SPAN_MS), PF_CPU (CPU seconds of
# the producer, both consumers and the broker together), PF_PER (the four,
# in that order), PF_US (CPU us per event) and PF_RSS (peak RSS in MiB of
# the producer, db_consumer, ack_consumer and the broker). Appends them to
# $BENCH_RUN/pipe.tsv, where the growth stage finds the runs made already.
bench_pipeline_figures() {
  local tag=$1 n=$2 start_ms end_ms svc
  start_ms=$((PIPE_START_NS / 1000000))
  end_ms=$PIPE_DB_END_MS
  [ "$PIPE_ACK_END_MS" -gt "$end_ms" ] && end_ms=$PIPE_ACK_END_MS
  PF_PER=""
  PF_RSS=""
  for svc in "${tag}_prod" "${tag}_db" "${tag}_ack" "$tag"; do
    PF_PER="$PF_PER $(bench_cpu_s "$svc")"
    PF_RSS="$PF_RSS $(bench_div "$(bench_rss_kb "$svc")" 1024 %.1f)"
  done
  PF_PER=${PF_PER# } PF_RSS=${PF_RSS# }
  PF_CPU=$(echo "$PF_PER" | awk '{ printf "%.1f", $1 + $2 + $3 + $4 }')
  PF_US=$(bench_div "${PF_CPU}e6" "$n" %.1f)
  PF_SPAN_MS=$((end_ms - start_ms))
  PF_RATE=$(bench_div "$n" "${PF_SPAN_MS}e-3")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$BENCH_BROKER_KIND" "$n" "$tag" "$PF_RATE" "$PF_US" "$PF_RSS" "$PF_PER" \
    >>"$BENCH_RUN/pipe.tsv"
}
