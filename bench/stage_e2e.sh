# stage_e2e.sh - stage 4: the whole pipeline, events per second end to end (sourced).
#
# Figure: N events / (max(last DB commit, last ack) - producer start), with
# all services running together as shipped, consumers live (see pipeline.sh
# for how each time is taken). One event is three messages in and one ack out.
# Beside it, the CPU seconds all four processes (producer, broker, both
# consumers) used, against the machine's budget over the same span: cores x
# wall time. With every service on the same cores, that budget is the
# physical limit of this stage.

stage_e2e() {
  local n=$BENCH_ROWS r start_ms rate=() prod=() dblag=() acklag=() cpu=() budget=()
  local cores a_p a_d a_a a_b us=() us_p=() us_d=() us_a=() us_b=()
  cores=$(nproc)
  for r in $(seq "$BENCH_REPS"); do
    bench_pipeline "e2e$r" "$n"
    bench_broker_stop
    bench_pipeline_figures "e2e$r" "$n"
    start_ms=$((PIPE_START_NS / 1000000))
    cpu+=("$PF_CPU")
    budget+=("$(bench_div "$((cores * PF_SPAN_MS))" 1000 %.1f)")
    bench_detail end_to_end "cpu_s_producer_db_ack_broker_rep$r" "$PF_PER"
    us+=("$PF_US")
    read -r a_p a_d a_a a_b <<<"$PF_PER"
    us_p+=("$(bench_div "${a_p}e6" "$n" %.1f)"); us_d+=("$(bench_div "${a_d}e6" "$n" %.1f)")
    us_a+=("$(bench_div "${a_a}e6" "$n" %.1f)"); us_b+=("$(bench_div "${a_b}e6" "$n" %.1f)")
    rate+=("$PF_RATE")
    prod+=("$(bench_div "$((PIPE_PROD_END_NS / 1000000 - start_ms))" 1000 %.2f)")
    dblag+=("$(bench_div "$((PIPE_DB_END_MS - start_ms))" 1000 %.2f)")
    acklag+=("$(bench_div "$((PIPE_ACK_END_MS - start_ms))" 1000 %.2f)")
    bench_log "end to end rep $r: ${rate[-1]} events/s (producer done at ${prod[-1]} s," \
      "last DB commit at ${dblag[-1]} s, last ack at ${acklag[-1]} s);" \
      "CPU s producer/db/ack/broker: $PF_PER of $cores x ${budget[-1]} s"
  done
  local m
  m=$(bench_median "${rate[@]}")
  bench_row end_to_end "events/s, first row read -> last ack and DB commit ($n events)" "events/s" \
    "$m" "${rate[*]}" "" "" ">=100000" "$(bench_verdict "$m" ">=" 100000)"
  bench_row end_to_end "seconds to the last ack" "s" "$(bench_median "${acklag[@]}")" "${acklag[*]}" \
    "" "" "" ""
  bench_row end_to_end "seconds to the last DB commit" "s" "$(bench_median "${dblag[@]}")" "${dblag[*]}" \
    "" "" "" ""
  bench_row end_to_end "CPU seconds used by all processes" "s" "$(bench_median "${cpu[@]}")" \
    "${cpu[*]}" "$(bench_median "${budget[@]}")" "$cores cores x wall time" "" ""
  # 100,000 events/s on these cores leaves cores / 100,000 s of CPU per event.
  bench_row end_to_end "CPU us per event, all processes (lower is better)" "us" "$(bench_median "${us[@]}")" \
    "${us[*]}" "$(bench_div "${cores}e6" 100000 %.1f)" "$cores cores / 100,000 events/s" "" ""
  bench_detail end_to_end cpu_us_per_event_producer "$(bench_median "${us_p[@]}")"
  bench_detail end_to_end cpu_us_per_event_db_consumer "$(bench_median "${us_d[@]}")"
  bench_detail end_to_end cpu_us_per_event_ack_consumer "$(bench_median "${us_a[@]}")"
  bench_detail end_to_end cpu_us_per_event_broker "$(bench_median "${us_b[@]}")"
  bench_detail end_to_end producer_exit_s_reps "${prod[*]}"
  stage_e2e_floor "$cores"
}

# stage_e2e_floor CORES: what one event costs at kcat's efficiency
# (bench_kcat_floor, from the limits the producer and ack_consumer stages of
# this pass measured; nothing if either did not run), with no broker, SQLite
# or LMDB work counted. Above CORES / 100,000 us, 100,000 events/s cannot be
# reached on these cores whatever the services themselves do.
stage_e2e_floor() {
  local floor
  floor=$(bench_kcat_floor 0)
  [ -n "$floor" ] || return 0
  bench_row end_to_end "CPU us per event at kcat's cost: 3 messages sent once and read twice" "us" \
    "$floor" "" "$(bench_div "${1}e6" 100000 %.1f)" "$1 cores / 100,000 events/s" "" ""
  bench_detail end_to_end kcat_floor_us_per_event "$floor"
}
