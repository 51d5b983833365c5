# stage_latency.sh - stage 5: ack delay under a paced load (sourced).
#
# The whole pipeline (pipeline.sh) with the producer paced at a fixed rate
# (--rate R --arrivals constant) for --latency-seconds (20 s by default, 60
# for the issue's full length) at 1,000 and at 10,000 events/s; the data set has exactly
# R x seconds events. ack_delay (the analysis tool) then reads the topics
# and reports p50/p99/p99.9 of ack time - latest topic time, per event, and
# checks that every event has exactly one ack (--expect). The producer's
# achieved rate is checked too: a run that could not hold its rate is noted.
#
# Each rate runs once per ack_consumer mode of --latency-modes: single (as
# shipped) and scalable (one instance; the real Kafka only); the rows name
# the mode and, like every row, the broker.
#
# On the embedded broker, one more run at 1,000 events/s is NOT as shipped,
# to show what the target would cost: the producer without linger (tiny
# batches at high rates, which slow the consumers), ack_consumer with --sync
# process (no fsync: a power loss can lose acknowledged state) and -X
# fetch.wait.max.ms=0 (busy polling the broker: a core's worth of CPU while
# idle). Its rows say so.

# bench_latency_run TAG RATE [PRODUCER_ARGS...]: one paced pipeline run and
# its analysis; sets LAT_P50 LAT_P99 LAT_P999 and LAT_HELD (events/s the
# producer achieved).
bench_latency_run() {
  local tag=$1 rate=$2 n=$(($2 * BENCH_LAT_SECONDS)) out wall
  shift 2
  bench_pipeline "$tag" "$n" --rate "$rate" --arrivals constant "$@"
  bench_run "${tag}_delay" 900 "$BENCH_BIN/ack_delay" -b "$BOOTSTRAP" --expect "$n" \
    --csv "" --plots "" --timeout 600
  bench_broker_stop
  bench_check_rc "${tag}_delay"
  out=$BENCH_STAGE_DIR/${tag}_delay.out
  LAT_P50=$(bench_field "$out" p50_ms); LAT_P99=$(bench_field "$out" p99_ms)
  LAT_P999=$(bench_field "$out" p999_ms)
  if [ -z "$LAT_P50" ] || [ -z "$LAT_P99" ] || [ -z "$LAT_P999" ]; then
    bench_fail "$tag: no percentiles in ack_delay's summary"
  fi
  wall=$((PIPE_PROD_END_NS - PIPE_START_NS))
  LAT_HELD=$(bench_div "$n" "$(bench_ns_to_s "$wall")")
}

# bench_latency_mode_args MODE TAG: sets PIPE_ACK_ARGS for ack_consumer's
# MODE (single: as shipped, nothing added; scalable: one instance with its
# own transactional id).
bench_latency_mode_args() {
  case "$1" in
    single) PIPE_ACK_ARGS="" ;;
    scalable) PIPE_ACK_ARGS="--mode scalable --transactional-id bench-${BENCH_TP:-}$2" ;;
  esac
}

stage_latency() {
  local rate r mode modes=()
  for mode in $BENCH_LAT_MODES; do
    # The scalable mode needs what the mock does not do (fencing, hiding
    # aborted transactions): ack_consumer itself says so on that broker.
    if [ "$mode" = scalable ] && [ "$BENCH_BROKER_KIND" != kafka ]; then
      bench_detail latency note_scalable "--mode scalable runs on the real Kafka only"
      continue
    fi
    modes+=("$mode")
  done
  for rate in $BENCH_LAT_RATES; do
    for mode in "${modes[@]}"; do
      local a50=() a99=() a999=() arate=()
      for r in $(seq "$BENCH_LAT_REPS"); do
        bench_latency_mode_args "$mode" "lat${rate}_${mode}_$r"
        bench_latency_run "lat${rate}_${mode}_$r" "$rate"
        PIPE_ACK_ARGS=""
        a50+=("$LAT_P50"); a99+=("$LAT_P99"); a999+=("$LAT_P999"); arate+=("$LAT_HELD")
        bench_log "latency $rate/s, $mode mode, rep $r: p50 $LAT_P50 ms, p99 $LAT_P99 ms, p99.9 $LAT_P999 ms" \
          "(producer held $LAT_HELD events/s)"
      done
      local t50="" t99="" v50="" v99=""
      if [ "$rate" = 1000 ]; then
        t50="<=$BENCH_TARGET_P50_MS"; t99="<=$BENCH_TARGET_P99_MS"
        v50=$(bench_verdict "$(bench_median "${a50[@]}")" "<=" "$BENCH_TARGET_P50_MS")
        v99=$(bench_verdict "$(bench_median "${a99[@]}")" "<=" "$BENCH_TARGET_P99_MS")
      fi
      bench_row latency "ack delay p50 at $rate events/s, $mode mode (${BENCH_LAT_SECONDS} s)" "ms" \
        "$(bench_median "${a50[@]}")" "${a50[*]}" "" "" "$t50" "$v50"
      bench_row latency "ack delay p99 at $rate events/s, $mode mode" "ms" "$(bench_median "${a99[@]}")" \
        "${a99[*]}" "" "" "$t99" "$v99"
      bench_row latency "ack delay p99.9 at $rate events/s, $mode mode" "ms" "$(bench_median "${a999[@]}")" \
        "${a999[*]}" "" "" "" ""
      local held
      held=$(bench_median "${arate[@]}")
      bench_detail latency "producer_events_per_s_at_${rate}_$mode" "$held"
      if [ "$(bench_verdict "$held" ">=" "$((rate * 95 / 100))")" != met ]; then
        bench_detail latency "warning_${rate}_$mode" "producer held only $held of $rate events/s"
        bench_log "warning: at $rate events/s ($mode mode) the producer held only $held events/s"
      fi
    done
  done
  # The run that is not as shipped answers a question about the embedded
  # broker's fetch wait (see the header); on the real Kafka it is left out.
  [ "$BENCH_BROKER_KIND" = embedded ] || return 0
  case " $BENCH_LAT_RATES " in *" 1000 "*) ;; *) return 0 ;; esac
  local what="producer -X linger.ms=0, ack_consumer --sync process -X fetch.wait.max.ms=0: NOT as shipped"
  PIPE_ACK_ARGS="--sync process -X fetch.wait.max.ms=0" bench_latency_run lat1000_relaxed 1000 \
    -X linger.ms=0
  bench_log "latency 1000/s ($what): p50 $LAT_P50 ms, p99 $LAT_P99 ms, p99.9 $LAT_P999 ms"
  bench_row latency "ack delay p50 at 1000 events/s ($what)" "ms" "$LAT_P50" "$LAT_P50" "" "" "" ""
  bench_row latency "ack delay p99 at 1000 events/s ($what)" "ms" "$LAT_P99" "$LAT_P99" "" "" "" ""
}
