# targets.sh - the targets of issue 16, judged on each broker (sourced).
#
# The thresholds live here and nowhere else (the stages' rows use them too).
# bench_targets, run after a broker's pass, adds one "targets" row per target
# to the table from what that pass measured; a target whose figures the pass
# did not take (a stage left out or failed) gets no row, and says so in the
# JSON details.

BENCH_TARGET_CPU_RATIO=1.5     # CPU per event: at most this times the kcat floor
BENCH_TARGET_P50_MS=1          # ack delay at 1,000 events/s
BENCH_TARGET_P99_MS=5
BENCH_TARGET_RSS_MIB=64        # each service's peak RSS ...
BENCH_TARGET_RSS_EVENTS=1000000 # ... at this many events
BENCH_TARGET_PRODUCER=0.8      # producer against kcat -P
BENCH_TARGET_DB=0.8            # db_consumer against sqlite3 .import

# bench_kcat_floor WITH_BROKER: CPU us per event at kcat's cost, from the
# limits the producer and ack_consumer stages of this pass measured: an
# event's three messages sent once (kcat -P) and read twice (kcat -C: the
# pipeline has two consumers); with WITH_BROKER 1, plus what the broker
# spent serving that sending and (twice) that reading. Nothing if either
# stage did not run.
bench_kcat_floor() {
  local kp kpe kpb kc kce kcb
  kp=$(bench_detail_get producer kcat_p_cpu_s); kpe=$(bench_detail_get producer kcat_p_events)
  kpb=$(bench_detail_get producer kcat_p_broker_cpu_s)
  kc=$(bench_detail_get ack_consumer kcat_c_cpu_s); kce=$(bench_detail_get ack_consumer kcat_c_events)
  kcb=$(bench_detail_get ack_consumer kcat_c_broker_cpu_s)
  [ -n "$kp" ] && [ -n "$kpe" ] && [ -n "$kc" ] && [ -n "$kce" ] || return 0
  awk -v p="$kp" -v pb="${kpb:-0}" -v n="$kpe" -v c="$kc" -v cb="${kcb:-0}" -v f="$kce" -v w="$1" \
    'BEGIN { printf "%.1f\n", (p + w * pb) * 1e6 / n + 2 * (c + w * cb) * 1e6 / f }'
}

# bench_target_missing WHAT: notes in the JSON that the target WHAT was not
# judged on this broker.
bench_target_missing() {
  bench_detail targets "not_judged" "$1"
}

# bench_targets: the targets rows of the current pass's broker.
bench_targets() {
  local floor us v lim ratio mode svc n rss big
  # CPU per event, all our processes and the broker, against the kcat floor.
  floor=$(bench_kcat_floor 1)
  us=$(bench_row_get end_to_end "CPU us per event, all processes" 4)
  if [ -n "$floor" ] && [ -n "$us" ]; then
    ratio=$(bench_div "$us" "$floor" %.2f)
    bench_row targets "CPU us per event, all processes + broker (end to end)" "us" "$us" "" "$floor" \
      "kcat floor: 3 msgs sent once, read twice, + broker" "<=${BENCH_TARGET_CPU_RATIO}x" \
      "$(bench_verdict "$ratio" "<=" "$BENCH_TARGET_CPU_RATIO")"
  else
    bench_target_missing "CPU per event against the kcat floor (needs the producer, ack and e2e stages)"
  fi
  # Ack delay at 1,000 events/s, each mode measured.
  for mode in single scalable; do
    v=$(bench_row_get latency "ack delay p50 at 1000 events/s, $mode mode" 4)
    [ -n "$v" ] || continue
    bench_row targets "ack delay p50 at 1000 events/s, $mode mode" "ms" "$v" "" "" "" \
      "<=$BENCH_TARGET_P50_MS" "$(bench_verdict "$v" "<=" "$BENCH_TARGET_P50_MS")"
    v=$(bench_row_get latency "ack delay p99 at 1000 events/s, $mode mode" 4)
    bench_row targets "ack delay p99 at 1000 events/s, $mode mode" "ms" "$v" "" "" "" \
      "<=$BENCH_TARGET_P99_MS" "$(bench_verdict "$v" "<=" "$BENCH_TARGET_P99_MS")"
  done
  [ -n "$(bench_row_get latency "ack delay p50 at 1000 events/s" 4)" ] ||
    bench_target_missing "ack delay at 1000 events/s (needs the latency stage at rate 1000)"
  # Peak RSS of each service at 1,000,000 events; without a run of that
  # size, at the largest this pass made (judged only if larger).
  big=$(awk -F'\t' -v b="$BENCH_BROKER_KIND" -v t="$BENCH_TARGET_RSS_EVENTS" '$4 == b {
      if ($2 + 0 == t) e = 1; if ($2 + 0 > m) m = $2 + 0 }
    END { if (e) print t; else if (m) print m }' "$BENCH_RUN/rss.tsv" 2>/dev/null)
  if [ -n "$big" ]; then
    for svc in producer db_consumer ack_consumer; do
      rss=$(bench_rss_median "$svc" "$big")
      [ -n "$rss" ] || continue
      rss=$(bench_div "$rss" 1024 %.1f)
      n=""
      [ "$big" -ge "$BENCH_TARGET_RSS_EVENTS" ] && n=$(bench_verdict "$rss" "<=" "$BENCH_TARGET_RSS_MIB")
      bench_row targets "$svc peak RSS at $big events" "MiB" "$rss" "" "" "" \
        "<=$BENCH_TARGET_RSS_MIB at $BENCH_TARGET_RSS_EVENTS" "$n"
    done
  else
    bench_target_missing "peak RSS at $BENCH_TARGET_RSS_EVENTS events (needs a pipeline run)"
  fi
  # Producer and db_consumer against their tools.
  v=$(bench_row_get producer "msgs/s, xlsx" 4); lim=$(bench_row_get producer "msgs/s, xlsx" 6)
  if [ -n "$v" ] && [ -n "$lim" ]; then
    bench_row targets "producer msgs/s against kcat -P" "msgs/s" "$v" "" "$lim" "kcat -P, same values" \
      ">=${BENCH_TARGET_PRODUCER}x" "$(bench_verdict "$(bench_div "$v" "$lim" %.2f)" ">=" "$BENCH_TARGET_PRODUCER")"
  fi
  v=$(bench_row_get db_consumer "rows/s committed" 4); lim=$(bench_row_get db_consumer "rows/s committed" 6)
  if [ -n "$v" ] && [ -n "$lim" ]; then
    bench_row targets "db_consumer rows/s against sqlite3 .import" "rows/s" "$v" "" "$lim" \
      "sqlite3 .import, same rows" ">=${BENCH_TARGET_DB}x" \
      "$(bench_verdict "$(bench_div "$v" "$lim" %.2f)" ">=" "$BENCH_TARGET_DB")"
  fi
}
