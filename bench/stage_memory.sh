# stage_memory.sh - stage 6: peak RSS of each service, small run against full run (sourced).
#
# Peak RSS (GNU time %M: the kernel's high-water mark of the process, taken at
# wait4(), so nothing is missed between samples) of producer, db_consumer and
# ack_consumer in whole-pipeline runs (pipeline.sh) at --mem-small rows
# (10,000) and at --rows (1,000,000). The full-size figures come from the
# end-to-end stage when it ran in the same invocation; otherwise one full
# pipeline run is made here. Flat means the full run needs at most 10 % more.
# ack_consumer keeps every event's state in LMDB, which it maps into memory,
# so its resident set is expected to grow with the number of events.

stage_memory() {
  local small=$BENCH_MEM_SMALL big=$BENCH_ROWS r s lo hi ratio target verdict
  for r in $(seq "$BENCH_REPS"); do
    bench_pipeline "mem$r" "$small"
    bench_broker_stop
  done
  if [ -z "$(bench_rss_median producer "$big")" ]; then
    bench_log "memory: no full-size run yet in this invocation: one pipeline run at $big rows"
    bench_pipeline memfull "$big"
    bench_broker_stop
  fi
  for s in producer db_consumer ack_consumer; do
    lo=$(bench_rss_median "$s" "$small"); hi=$(bench_rss_median "$s" "$big")
    [ -n "$lo" ] && [ -n "$hi" ] || bench_fail "memory: no RSS recorded for $s"
    ratio=$(bench_div "$hi" "$lo" %.2f)
    target=""; verdict=""
    if [ "$s" = producer ]; then target="<=1.10x"; verdict=$(bench_verdict "$ratio" "<=" 1.10); fi
    bench_row memory "$s peak RSS at $big rows (limit: at $small rows)" "MiB" \
      "$(bench_div "$hi" 1024 %.1f)" "" "$(bench_div "$lo" 1024 %.1f)" "same service at $small rows" \
      "$target" "$verdict"
    bench_log "memory: $s $(bench_div "$lo" 1024 %.1f) MiB at $small rows, $(bench_div "$hi" 1024 %.1f) MiB at $big rows (x$ratio)"
  done
}
