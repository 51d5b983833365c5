# prefill.sh - pre-filled topics for the consumer stages (sourced).
#
# The embedded broker keeps only the newest 5 MiB per partition, so a
# pre-filled topic silently loses its oldest messages once it outgrows
# partitions x 5 MiB (compressed). The pre-fill is therefore kept small
# (--prefill, default 200,000 events) and spread over --partitions, and every
# message is read back before a consumer is measured: the stage fails loudly
# if one is missing.

# bench_read_topics TAG N: reads topic1..3 from the beginning with one kcat -C
# per topic, concurrently, writing the keys to TAG.topicN.keys; fails unless
# each topic holds exactly N messages with N distinct keys. Sets READ_WALL_NS
# (first start to last exit).
bench_read_topics() {
  local tag=$1 n=$2 t got distinct
  for t in 1 2 3; do
    bench_start "${tag}_$t" 600 kcat -C -b "$BOOTSTRAP" -t "${BENCH_TP}topic$t" -o beginning -e -q -f '%k\n'
  done
  for t in 1 2 3; do bench_wait "${tag}_$t"; done
  eval "READ_WALL_NS=\$(( \$(bench_now_ns) - T0_${tag}_1 ))"
  for t in 1 2 3; do
    bench_check_rc "${tag}_$t"
    got=$(wc -l <"$BENCH_STAGE_DIR/${tag}_$t.out")
    distinct=$(sort -u "$BENCH_STAGE_DIR/${tag}_$t.out" | wc -l)
    if [ "$got" != "$n" ] || [ "$distinct" != "$n" ]; then
      bench_fail "pre-filled topic$t holds $got messages ($distinct distinct) of $n: the broker's" \
        "5 MiB per-partition retention dropped some; use a smaller --prefill or more --partitions"
    fi
  done
}

# bench_prefill N: starts a fresh broker (BENCH_PARTITIONS partitions), sends
# the N-row data set with the producer and checks that all 3 x N messages are
# readable. Sets BOOTSTRAP and BROKER_PID.
bench_prefill() {
  local n=$1
  bench_data "$n" || bench_fail "datagen failed"
  bench_broker prefill "$BENCH_PARTITIONS"
  bench_run fill 1800 "$BENCH_BIN/producer" -b "$BOOTSTRAP" \
    "$BENCH_DATA/sim_file1.xlsx" "$BENCH_DATA/sim_file2.xlsx" "$BENCH_DATA/sim_file3.xlsx"
  bench_check_rc fill
  bench_read_topics check "$n"
  bench_log "pre-filled $BENCH_PARTITIONS partitions x 3 topics with $n events; all $((3 * n)) messages readable"
}
