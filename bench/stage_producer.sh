# stage_producer.sh - stage 1: producer throughput against kcat -P (sourced).
#
# Figure: xlsx rows -> acknowledged Kafka messages per second (and MB/s of
# keys + values), the producer started as shipped (acks=all, idempotence,
# lz4, linger.ms=2), timed from outside: process start to exit, so opening the
# workbooks, connecting and the final flush all count.
# Limit: kcat -P sending the producer's exact keys and JSON values (read back
# from the first repetition's broker and cached) with the same settings, one kcat per topic run concurrently (the producer
# also reads its three files in parallel), timed the same way. Each
# repetition uses a fresh broker (on the real Kafka: fresh topics on the pass's
# broker); producer and kcat repetitions alternate so that a change in
# background load hits both alike (on the real Kafka, after the pass's
# untimed warm-up run: bench_kafka_warm).

# bench_values_dir DATA: sets BENCH_VALUES to the cache directory of the
# producer's exact messages for DATA ("key<TAB>value" lines in topicN.tsv),
# one per data set and producer binary; returns 0 if it is complete.
bench_values_dir() {
  BENCH_VALUES=$BENCH_WORK/values/$(basename "$1")-$(md5sum "$BENCH_BIN/producer" | cut -c1-12)
  [ -f "$BENCH_VALUES/complete" ]
}

# bench_dump_values ROWS: reads topic1..3 of the broker at BOOTSTRAP (one
# kcat -C per topic, concurrently) into BENCH_VALUES; returns 0 if each holds
# exactly ROWS messages with ROWS distinct keys, 1 otherwise (the broker's
# 5 MiB per-partition retention dropped some).
bench_dump_values() {
  local rows=$1 t n
  mkdir -p "$BENCH_VALUES"
  for t in 1 2 3; do
    bench_start "dump$t" 600 kcat -C -b "$BOOTSTRAP" -t "${BENCH_TP}topic$t" -o beginning -e -q -f '%k\t%s\n'
  done
  for t in 1 2 3; do bench_wait "dump$t"; done
  for t in 1 2 3; do
    bench_check_rc "dump$t"
    mv "$BENCH_STAGE_DIR/dump$t.out" "$BENCH_VALUES/topic$t.tsv"
  done
  for t in 1 2 3; do
    n=$(cut -f1 "$BENCH_VALUES/topic$t.tsv" | sort -u | wc -l)
    if [ "$(wc -l <"$BENCH_VALUES/topic$t.tsv")" != "$rows" ] || [ "$n" != "$rows" ]; then
      bench_log "values: topic$t holds $n distinct messages of $rows"
      return 1
    fi
  done
  touch "$BENCH_VALUES/complete"
}

# bench_extract_values DATA ROWS: the fallback when the measured run's broker
# could not hold every message: the producer sends DATA to a broker with
# --extract-partitions partitions, whose topics are then dumped; fails the
# stage if even that one loses messages.
bench_extract_values() {
  bench_log "producer: extracting the values from a broker with $BENCH_EXTRACT_PARTITIONS partitions"
  bench_broker xbroker "$BENCH_EXTRACT_PARTITIONS"
  bench_run extract 1800 "$BENCH_BIN/producer" -b "$BOOTSTRAP" \
    "$1/sim_file1.xlsx" "$1/sim_file2.xlsx" "$1/sim_file3.xlsx"
  bench_check_rc extract
  bench_dump_values "$2" ||
    bench_fail "extraction lost messages (the broker's 5 MiB per-partition retention): raise --extract-partitions"
  bench_broker_stop
}

stage_producer() {
  local n=$BENCH_ROWS msgs=$((3 * BENCH_ROWS)) r wall bytes
  local rate=() mbps=() rss=() self=() krate=() kmbps=() cpu=() kcpu=() kbcpu=() b0
  bench_data "$n" || bench_fail "datagen failed"
  local data=$BENCH_DATA
  local have_values=1 kbytes=""
  bench_values_dir "$data" || have_values=0
  if [ "$BENCH_BROKER_KIND" = kafka ] && [ "$have_values" = 0 ]; then
    # The pass's warm-up run (bench_kafka_warm) sent these very rows.
    bench_log "producer: reading back the exact values for kcat from the warm-up run into $BENCH_VALUES (cached)"
    BOOTSTRAP=$BENCH_KAFKA_BOOT BENCH_TP=$BENCH_WARM_TP bench_dump_values "$n" && have_values=1
  fi
  for r in $(seq "$BENCH_REPS"); do
    bench_broker "pb$r" "$BENCH_PARTITIONS"
    bench_run "prod$r" 1800 "$BENCH_BIN/producer" -b "$BOOTSTRAP" \
      "$data/sim_file1.xlsx" "$data/sim_file2.xlsx" "$data/sim_file3.xlsx"
    bench_check_rc "prod$r"
    if [ "$have_values" = 0 ]; then
      # The kcat values are the messages this run just sent, read back (cached).
      bench_log "producer: reading back the exact values for kcat into $BENCH_VALUES (cached)"
      local complete=0
      bench_dump_values "$n" && complete=1
      bench_broker_stop
      [ "$complete" = 1 ] || bench_extract_values "$data" "$n"
      have_values=1
    else
      bench_broker_stop
    fi
    if [ -z "$kbytes" ]; then # bytes of keys and values: minus tab and newline
      kbytes=$(cat "$BENCH_VALUES"/topic[123].tsv | wc -c)
      kbytes=$((kbytes - 2 * msgs))
    fi
    local out=$BENCH_STAGE_DIR/prod$r.out
    [ "$(bench_field "$out" delivered)" = "$msgs" ] ||
      bench_fail "prod$r delivered $(bench_field "$out" delivered) of $msgs messages"
    eval "wall=\$((T1_prod$r - T0_prod$r))"
    bytes=$(bench_field "$out" bytes)
    rate+=("$(bench_div "$msgs" "$(bench_ns_to_s "$wall")")")
    mbps+=("$(bench_div "$bytes" "$(bench_ns_to_s "$wall")e6" %.1f)")
    self+=("$(bench_field "$out" msgs_per_s)")
    rss+=("$(bench_div "$(bench_rss_kb "prod$r")" 1024 %.1f)")

    # kcat -P: one process per topic, concurrently; wall from the first start
    # to the last exit.
    bench_broker "kb$r" "$BENCH_PARTITIONS"
    b0=$(bench_broker_cpu)
    for t in 1 2 3; do
      bench_start "kcat${r}_$t" 900 kcat -P -b "$BOOTSTRAP" -t "${BENCH_TP}topic$t" -K '\t' -z lz4 \
        -X linger.ms=2 -X enable.idempotence=true -X acks=all -l "$BENCH_VALUES/topic$t.tsv"
    done
    for t in 1 2 3; do bench_wait "kcat${r}_$t"; done
    eval "wall=\$(( \$(bench_now_ns) - T0_kcat${r}_1 ))"
    kbcpu+=("$(awk -v a="$(bench_broker_cpu)" -v b="$b0" 'BEGIN { printf "%.2f", a - b }')")
    bench_broker_stop
    for t in 1 2 3; do bench_check_rc "kcat${r}_$t"; done
    cpu+=("$(bench_cpu_s "prod$r")")
    kcpu+=("$(bench_cpu_sum "kcat${r}_1" "kcat${r}_2" "kcat${r}_3")")
    krate+=("$(bench_div "$msgs" "$(bench_ns_to_s "$wall")")")
    kmbps+=("$(bench_div "$kbytes" "$(bench_ns_to_s "$wall")e6" %.1f)")
    bench_log "producer rep $r: ${rate[-1]} msgs/s, ${mbps[-1]} MB/s, ${rss[-1]} MiB peak RSS; kcat -P ${krate[-1]} msgs/s"
  done
  local m k ratio
  m=$(bench_median "${rate[@]}"); k=$(bench_median "${krate[@]}")
  ratio=$(bench_div "$m" "$k" %.2f)
  bench_row producer "msgs/s, xlsx -> acked ($n rows x 3)" "msgs/s" "$m" "${rate[*]}" "$k" \
    "kcat -P, same values" ">=${BENCH_TARGET_PRODUCER}x" "$(bench_verdict "$ratio" ">=" "$BENCH_TARGET_PRODUCER")"
  bench_row producer "MB/s of keys + values" "MB/s" "$(bench_median "${mbps[@]}")" "${mbps[*]}" \
    "$(bench_median "${kmbps[@]}")" "kcat -P, same values" "" ""
  bench_row producer "CPU seconds, user + system (lower is better)" "s" "$(bench_median "${cpu[@]}")" \
    "${cpu[*]}" "$(bench_median "${kcpu[@]}")" "kcat -P, same values" "" ""
  bench_row producer "peak RSS ($n rows x 3)" "MiB" "$(bench_median "${rss[@]}")" "${rss[*]}" \
    "" "" "" ""
  bench_detail producer self_reported_msgs_per_s "$(bench_median "${self[@]}")"
  bench_detail producer kcat_msgs_per_s_reps "${krate[*]}"
  # What the end-to-end floor (targets.sh) charges an event's three sends.
  bench_detail producer kcat_p_events "$n"
  bench_detail producer kcat_p_cpu_s "$(bench_median "${kcpu[@]}")"
  bench_detail producer kcat_p_broker_cpu_s "$(bench_median "${kbcpu[@]}")"
  bench_detail producer message_bytes_keys_values "$kbytes"
}
