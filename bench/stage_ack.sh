# stage_ack.sh - stage 3: ack_consumer throughput from pre-filled topics (sourced).
#
# Figure: events per second acknowledged by ack_consumer (as shipped: LMDB
# with sync=full, one transaction per batch, acks produced idempotently and
# confirmed); the service's own acks_per_s over its busy span. Each
# repetition starts from an empty cache, in a new consumer group, with its own
# ack topic (ack_rN) that is checked to hold exactly one ack per event.
# Limit (informative, the issue names none): kcat -C reading the same three
# topics from the beginning, one kcat per topic concurrently, as events/s -
# ack_consumer cannot acknowledge events faster than they can be read.

stage_ack() {
  local n=$BENCH_PREFILL r got rate=() rss=() lrate=() cpu=() lcpu=() lbcpu=() b0
  local d=$BENCH_STAGE_DIR
  bench_prefill "$n"
  for r in $(seq "$BENCH_REPS"); do
    rm -rf "$d/cache$r"
    bench_run "ack$r" 900 "$BENCH_BIN/ack_consumer" -b "$BOOTSTRAP" --cache "$d/cache$r" \
      --group "bench-ack-$r" --ack-topic "${BENCH_TP}ack_r$r" --idle-exit 1
    bench_check_rc "ack$r"
    got=$(timeout 300 kcat -C -b "$BOOTSTRAP" -t "${BENCH_TP}ack_r$r" -o beginning -e -q -f '%k\n' 2>>"$d/kcat.err" | sort -u | wc -l)
    [ "$got" = "$n" ] || bench_fail "ack$r: ack_r$r holds $got distinct acks of $n events"
    [ "$(bench_field "$d/ack$r.out" acks)" = "$n" ] ||
      bench_fail "ack$r reports $(bench_field "$d/ack$r.out" acks) acks of $n"
    rm -rf "$d/cache$r"
    rate+=("$(bench_field "$d/ack$r.out" acks_per_s)")
    rss+=("$(bench_div "$(bench_rss_kb "ack$r")" 1024 %.1f)")
    b0=$(bench_broker_cpu)
    bench_read_topics "read$r" "$n"
    lbcpu+=("$(awk -v a="$(bench_broker_cpu)" -v b="$b0" 'BEGIN { printf "%.2f", a - b }')")
    lrate+=("$(bench_div "$n" "$(bench_ns_to_s "$READ_WALL_NS")")")
    cpu+=("$(bench_cpu_s "ack$r")"); lcpu+=("$(bench_cpu_sum "read${r}_1" "read${r}_2" "read${r}_3")")
    bench_log "ack_consumer rep $r: ${rate[-1]} events/s, ${rss[-1]} MiB; kcat -C read ${lrate[-1]} events/s"
  done
  bench_broker_stop
  local m k
  m=$(bench_median "${rate[@]}"); k=$(bench_median "${lrate[@]}")
  bench_row ack_consumer "events/s acked ($n events, pre-filled)" "events/s" "$m" "${rate[*]}" \
    "$k" "kcat -C read of the 3 topics" "" ""
  bench_row ack_consumer "CPU seconds, user + system (lower is better)" "s" "$(bench_median "${cpu[@]}")" \
    "${cpu[*]}" "$(bench_median "${lcpu[@]}")" "kcat -C read of the 3 topics" "" ""
  bench_row ack_consumer "peak RSS ($n events)" "MiB" "$(bench_median "${rss[@]}")" "${rss[*]}" \
    "" "" "" ""
  # What the end-to-end floor (targets.sh) charges an event's two reads.
  bench_detail ack_consumer kcat_c_events "$n"
  bench_detail ack_consumer kcat_c_cpu_s "$(bench_median "${lcpu[@]}")"
  bench_detail ack_consumer kcat_c_broker_cpu_s "$(bench_median "${lbcpu[@]}")"
}
