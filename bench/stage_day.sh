# stage_day.sh - stage 8: one compressed day of load that varies (sourced).
#
# The whole pipeline (pipeline.sh, on the broker the run uses) with the
# producer following the built-in diurnal curve (--rate-curve diurnal:
# night trough at 03:00, afternoon peak at 15:00) from BENCH_DAY_TROUGH to
# BENCH_DAY_PEAK events/s, compressed into BENCH_DAY_PERIOD seconds, with
# Poisson arrivals thinned from the peak (seeded: the same day every run).
# The data set holds one day's expected events: the curve's mean
# (trough + peak) / 2 (producer/pace_curve.h) times the period, so the
# producer ends near the end of the day (a Poisson count differs from its
# mean by a few hundred events: a few seconds of night either way).
# ack_delay --window 1 then reports the ack delay per rate band of the
# 1-second produce windows and whether the backlog drained after the peak
# (analysis/bands.h defines both), and checks exactly one ack per event.
#
# Defaults: 100 to 10,000 events/s in 60 s (about 303,000 events per file);
# --quick: 100 to 1,000 in 10 s.

stage_day() {
  local period=${BENCH_DAY_PERIOD:-60} peak=${BENCH_DAY_PEAK:-10000} trough=${BENCH_DAY_TROUGH:-100}
  if [ "${QUICK:-0}" = 1 ]; then
    period=${BENCH_DAY_PERIOD:-10}; peak=${BENCH_DAY_PEAK:-1000}
  fi
  local n=$((period * (trough + peak) / 2)) out held b line
  bench_log "day: $trough to $peak events/s in $period s, $n events per file"
  bench_pipeline day "$n" --rate-curve diurnal --rate "$peak" --rate-min "$trough" \
    --rate-period "$period" --seed "$BENCH_SEED"
  bench_run day_delay 900 "$BENCH_BIN/ack_delay" -b "$BOOTSTRAP" --expect "$n" --csv "" \
    --plots "" --timeout 600 --window 1
  bench_broker_stop
  bench_check_rc day_delay
  out=$BENCH_STAGE_DIR/day_delay.out
  grep -q '^ack_delay_drain: ' "$out" || bench_fail "day: no drain line in ack_delay's output"
  held=$(bench_div "$(bench_ns_to_s $((PIPE_PROD_END_NS - PIPE_START_NS)))" 1 "%.1f")
  bench_detail day producer_seconds "$held"
  bench_detail day events_per_file "$n"
  bench_log "day: the producer took $held s for a $period s day"
  for b in "<300" "300-1000" "1000-3000" "3000-10000" ">=10000"; do
    line=$(grep -F "ack_delay_band: band=$b " "$out") || bench_fail "day: no line for band $b"
    local p50 p99 events
    p50=$(echo "$line" | sed -n 's/.* p50_ms=\([^ ]*\).*/\1/p')
    p99=$(echo "$line" | sed -n 's/.* p99_ms=\([^ ]*\).*/\1/p')
    events=$(echo "$line" | sed -n 's/.* delays=\([^ ]*\).*/\1/p')
    bench_detail day "delays_in_band_$b" "$events"
    [ "$events" = 0 ] && continue # the day never ran at this rate
    bench_row day "ack delay p50 at $b events/s (a $period s day, $trough-$peak/s)" "ms" "$p50" \
      "$p50" "" "" "" ""
    bench_row day "ack delay p99 at $b events/s" "ms" "$p99" "$p99" "" "" "" ""
  done
  local drained after base last settled
  drained=$(bench_field "$out" drained); after=$(bench_field "$out" drained_after_s)
  base=$(bench_field "$out" baseline_p50_ms); last=$(bench_field "$out" last_p50_ms)
  settled=$(bench_field "$out" settled_max_ms)
  # The JSON takes numbers only: the verdict is in the figure, its measure in the value.
  case "$drained" in
    yes) bench_row day "drained after the peak: yes, this long after the peak window (1 s windows' p50 back to <= $settled ms)" \
      "s" "$after" "$after" "" "" "" "" ;;
    no) bench_row day "drained after the peak: NO, the last window's p50 (first windows' $base ms; settled: <= $settled ms)" \
      "ms" "$last" "$last" "" "" "" "" ;;
    *) bench_fail "day: the drain was not judged (no window after the peak): $(grep '^ack_delay_drain' "$out")" ;;
  esac
  bench_log "day: drained=$drained after ${after} s (baseline p50 $base ms, last window $last ms)"
}
