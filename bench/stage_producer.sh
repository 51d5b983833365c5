# stage_producer.sh - stage 1: producer throughput against kcat -P (sourced).
#
# Figure: xlsx rows -> acknowledged Kafka messages per second (and MB/s of
# keys + values), the producer started as shipped (acks=all, idempotence,
# lz4, linger.ms=1), timed from outside: process start to exit, so opening the
# workbooks, connecting and the final flush all count.
# Limit: kcat -P sending the producer's exact keys and JSON values with the
# same producer settings, one kcat per topic run concurrently (the producer
# also reads its three files in parallel), timed the same way. Each
# repetition uses a fresh broker; producer and kcat repetitions alternate so
# that a change in background load hits both alike.

# bench_values DATA ROWS: extracts the producer's exact messages for DATA into
# BENCH_VALUES/topicN.tsv ("key<TAB>value" lines), cached per data set and
# producer binary. The producer sends them to a broker with enough partitions
# to hold every message (--extract-partitions); the stage fails if any is missing.
bench_values() {
  local data=$1 rows=$2 sum dir t n
  sum=$(md5sum "$BENCH_BIN/producer" | cut -c1-12)
  dir=$BENCH_WORK/values/$(basename "$data")-$sum
  BENCH_VALUES=$dir
  if [ -f "$dir/complete" ]; then return 0; fi
  bench_log "producer: extracting the exact JSON values into $dir (cached)"
  mkdir -p "$dir"
  bench_broker xbroker "$BENCH_EXTRACT_PARTITIONS"
  bench_run extract 1800 "$BENCH_BIN/producer" -b "$BOOTSTRAP" \
    "$data/sim_file1.xlsx" "$data/sim_file2.xlsx" "$data/sim_file3.xlsx"
  bench_check_rc extract
  for t in 1 2 3; do
    bench_start "dump$t" 600 kcat -C -b "$BOOTSTRAP" -t "topic$t" -o beginning -e -q -f '%k\t%s\n'
  done
  for t in 1 2 3; do bench_wait "dump$t"; done
  for t in 1 2 3; do
    bench_check_rc "dump$t"
    mv "$BENCH_STAGE_DIR/dump$t.out" "$dir/topic$t.tsv"
  done
  bench_broker_stop
  for t in 1 2 3; do
    n=$(cut -f1 "$dir/topic$t.tsv" | sort -u | wc -l)
    [ "$(wc -l <"$dir/topic$t.tsv")" = "$rows" ] && [ "$n" = "$rows" ] || bench_fail "extraction: topic$t holds $n distinct messages of $rows" \
      "(the broker's 5 MiB per-partition retention dropped some: raise --extract-partitions)"
  done
  touch "$dir/complete"
}

stage_producer() {
  local n=$BENCH_ROWS msgs=$((3 * BENCH_ROWS)) r wall bytes
  local rate=() mbps=() rss=() self=() krate=() kmbps=()
  bench_data "$n" || bench_fail "datagen failed"
  local data=$BENCH_DATA
  bench_values "$data" "$n"
  # Bytes of keys and values, as the producer counts them: minus tab and newline.
  local kbytes
  kbytes=$(cat "$BENCH_VALUES"/topic[123].tsv | wc -c)
  kbytes=$((kbytes - 2 * msgs))
  for r in $(seq "$BENCH_REPS"); do
    bench_broker "pb$r" "$BENCH_PARTITIONS"
    bench_run "prod$r" 1800 "$BENCH_BIN/producer" -b "$BOOTSTRAP" \
      "$data/sim_file1.xlsx" "$data/sim_file2.xlsx" "$data/sim_file3.xlsx"
    bench_broker_stop
    bench_check_rc "prod$r"
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
    for t in 1 2 3; do
      bench_start "kcat${r}_$t" 900 kcat -P -b "$BOOTSTRAP" -t "topic$t" -K '\t' -z lz4 \
        -X linger.ms=1 -X enable.idempotence=true -X acks=all -l "$BENCH_VALUES/topic$t.tsv"
    done
    for t in 1 2 3; do bench_wait "kcat${r}_$t"; done
    eval "wall=\$(( \$(bench_now_ns) - T0_kcat${r}_1 ))"
    bench_broker_stop
    for t in 1 2 3; do bench_check_rc "kcat${r}_$t"; done
    krate+=("$(bench_div "$msgs" "$(bench_ns_to_s "$wall")")")
    kmbps+=("$(bench_div "$kbytes" "$(bench_ns_to_s "$wall")e6" %.1f)")
    bench_log "producer rep $r: ${rate[-1]} msgs/s, ${mbps[-1]} MB/s, ${rss[-1]} MiB peak RSS; kcat -P ${krate[-1]} msgs/s"
  done
  local m k ratio
  m=$(bench_median "${rate[@]}"); k=$(bench_median "${krate[@]}")
  ratio=$(bench_div "$m" "$k" %.2f)
  bench_row producer "msgs/s, xlsx -> acked ($n rows x 3)" "msgs/s" "$m" "${rate[*]}" "$k" \
    "kcat -P, same values" ">=0.5x" "$(bench_verdict "$ratio" ">=" 0.5)"
  bench_row producer "MB/s of keys + values" "MB/s" "$(bench_median "${mbps[@]}")" "${mbps[*]}" \
    "$(bench_median "${kmbps[@]}")" "kcat -P, same values" "" ""
  bench_row producer "peak RSS ($n rows x 3)" "MiB" "$(bench_median "${rss[@]}")" "${rss[*]}" \
    "" "" "" ""
  bench_detail producer self_reported_msgs_per_s "$(bench_median "${self[@]}")"
  bench_detail producer kcat_msgs_per_s_reps "${krate[*]}"
  bench_detail producer message_bytes_keys_values "$kbytes"
}
