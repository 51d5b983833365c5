# stage_growth.sh - growth: the whole pipeline at growing sizes on the real
# Kafka (sourced).
#
# The end-to-end run (pipeline.sh, unpaced, as shipped) at each size of
# --growth-sizes (default 100,000 and 1,000,000 events; 10,000,000 only when
# asked): events/s, CPU us per event of all processes (producer, both
# consumers and the broker's JVM) and each one's peak RSS. The cost per
# event and the memory should stay flat as the work grows; the small table
# and the chart (bench/growth.gp) show whether they do. A size the
# end-to-end stage already ran on this broker in this invocation is not run
# again: its runs are reused.
#
# ack_consumer keeps every event id in LMDB for good: its file took 204 MB
# for 1,000,000 events drained from a backlog (bench/drain_rss.sh; leaf
# pages split while the events were open, and LMDB's copy-on-write free
# list), so above 3,000,000 events its map (default 1 GiB) is raised to
# 1 MiB per 3,000 events, or it would stop with its state full. The map is
# address space; what of it is resident shows in the RSS column.
#
# Above a sheet's 1,048,575 rows the data set is parts of 1,000,000 events
# (bench/lib.sh bench_data) sent one after the other by
# bench/produce_parts.sh.

stage_growth() {
  local n runs rate us rss
  : >"$BENCH_STAGE_DIR/growth.tsv"
  for n in $BENCH_GROWTH_SIZES; do
    runs=$(awk -F'\t' -v b="$BENCH_BROKER_KIND" -v n="$n" '$1 == b && $2 == n' "$BENCH_RUN/pipe.tsv" 2>/dev/null | wc -l)
    if [ "$runs" -gt 0 ]; then
      bench_log "growth: $n events: reusing the $runs end-to-end run(s) of this invocation"
    else
      PIPE_ACK_ARGS=""
      [ "$n" -le 3000000 ] || PIPE_ACK_ARGS="--map-size $(((n + 2999) / 3000))"
      bench_pipeline "g$n" "$n"
      PIPE_ACK_ARGS=""
      bench_broker_stop
      bench_pipeline_figures "g$n" "$n"
      bench_log "growth: $n events: $PF_RATE events/s, $PF_US us CPU per event;" \
        "peak RSS MiB producer/db/ack/broker: $PF_RSS"
    fi
    # The median of each figure over the runs at this size.
    awk -F'\t' -v b="$BENCH_BROKER_KIND" -v n="$n" '$1 == b && $2 == n {
        k++; rate[k] = $4; us[k] = $5; split($6, r, " ")
        for (j = 1; j <= 4; j++) rss[j, k] = r[j]
      }
      function med(a, j,   i, x, v, t, m) {
        m = 0
        for (i = 1; i <= k; i++) { v[i] = (j ? a[j, i] : a[i]) + 0 }
        for (i = 2; i <= k; i++) { t = v[i]; x = i - 1; while (x > 0 && v[x] > t) { v[x + 1] = v[x]; x-- } v[x + 1] = t }
        return (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
      }
      END {
        if (!k) exit 1
        printf "%s\t%s\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\n", b, n, med(rate, 0), med(us, 0),
          med(rss, 1), med(rss, 2), med(rss, 3), med(rss, 4), k
      }' "$BENCH_RUN/pipe.tsv" >>"$BENCH_STAGE_DIR/growth.tsv" || bench_fail "growth: no run at $n events"
  done
  # Recorded only once every size ran, so a failed stage leaves no half table.
  cat "$BENCH_STAGE_DIR/growth.tsv" >>"$BENCH_RUN/growth.tsv"
}
