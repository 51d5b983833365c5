#!/usr/bin/env bash
# test_corrupt_store.sh - a store that fails its integrity check is refused
# at start-up, with exit 74 and one line naming the file and what is wrong,
# before the consumer contacts Kafka; a damaged store is never read as if it
# were a smaller one. The stores of a real run (with dead letters) are
# copied and damaged:
#  - ack_consumer's data.mdb truncated to half (LMDB maps the file: reading a
#    page past its end was a SIGBUS in --dump-dead-letters, and a normal run
#    went on as if nothing were wrong);
#  - a zeroed page among its dead letters (a cursor loop took LMDB's error
#    for the end: "0 dead letters", exit 0);
#  - a garbled page of db_consumer's SQLite database.
# brokers: embedded kafka
# kafka: shared
. "$(dirname "$0")/lib.sh"

N=2000
POISON=25
"$GK_BIN/datagen" --rows $N --seed 9 --out "$WORK/data" 2>"$WORK/datagen.log" || it_fail "datagen failed"
it_broker --partitions 3
"$GK_BIN/producer" "$WORK"/data/sim_file{1,2,3}.xlsx >"$WORK/producer.out" 2>"$WORK/producer.log" ||
  it_fail "producer exited with $?"
for i in $(seq $POISON); do echo "poison-$i"; done |
  kcat -P -b "$KAFKA_BOOTSTRAP" -t "$(it_topic topic1)" -p 0 -k poison 2>>"$WORK/kcat.log" || it_fail "kcat -P failed"

it_start ack "$GK_BIN/ack_consumer" --cache "$WORK/cache" --idle-exit 3
it_start db "$GK_BIN/db_consumer" --db "$WORK/genetika.db" --idle-exit 3
it_wait_exit "$PID_ack" 120
it_expect "ack_consumer exit status" "$IT_RC" 0
it_wait_exit "$PID_db" 120
it_expect "db_consumer exit status" "$IT_RC" 0
dump() { timeout 30 "$GK_BIN/ack_consumer" --dump-dead-letters --cache "$1"; }
it_expect "dead letters dumped from the intact cache" "$(dump "$WORK/cache" 2>"$WORK/dump.log" | grep -c .)" $POISON

# refused NAME WANT CMD...: CMD must exit 74 within 10 s (before any Kafka
# contact: the bootstrap refuses connections) with an ERROR line matching WANT.
refused() {
  local name=$1 want=$2 rc=0 start=$SECONDS line
  shift 2
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" || rc=$?
  it_expect "$name: exit status" "$rc" 74
  [ $((SECONDS - start)) -le 10 ] || it_fail "$name took $((SECONDS - start)) s to refuse"
  line=$(grep -m1 "ERROR: " "$WORK/$name.log" || true)
  [[ $line == *$want* ]] || it_fail "$name: error '$line' does not say '$want'"
  [ "$(grep -c "ERROR: " "$WORK/$name.log")" = 1 ] || it_fail "$name: more than one error line: $(grep ERROR "$WORK/$name.log")"
  it_log "ok: $name refused: ${line#*ERROR: }"
}
run_ack() { timeout 30 "$GK_BIN/ack_consumer" -b 127.0.0.1:1 --cache "$1" --idle-exit 3; }
run_db() { timeout 30 "$GK_BIN/db_consumer" -b 127.0.0.1:1 --db "$1" --idle-exit 3; }

# LMDB: half of data.mdb.
cp -a "$WORK/cache" "$WORK/truncated"
size=$(stat -c %s "$WORK/truncated/data.mdb")
truncate -s $((size / 2)) "$WORK/truncated/data.mdb"
refused dump-truncated "$WORK/truncated/data.mdb" dump "$WORK/truncated"
refused run-truncated "$WORK/truncated/data.mdb" run_ack "$WORK/truncated"

# LMDB: zeroed pages where the dead letters are (found by their text).
# Every page holding the text is zeroed: the first one found can be a free
# page with a stale copy (LMDB copies a page on write and reuses the old one
# later without clearing it), and zeroing only that damages nothing (a CI run
# saw exactly that: the dump rightly succeeded).
cp -a "$WORK/cache" "$WORK/zeroed"
pages=$(grep -boa "poison-" "$WORK/zeroed/data.mdb" | cut -d: -f1 | awk '{ print int($1 / 4096) }' | sort -un)
[ -n "$pages" ] || it_fail "no dead letter found in data.mdb"
for page in $pages; do
  dd if=/dev/zero of="$WORK/zeroed/data.mdb" bs=4096 seek="$page" count=1 conv=notrunc 2>/dev/null
done
it_log "zeroed page(s) $(echo $pages) of data.mdb"
# The text can also lie in the unused middle of another database's page,
# so the line must say 'damaged', naming whichever database a zeroed page
# belonged to.
refused dump-zeroed "is damaged" dump "$WORK/zeroed"
refused run-zeroed "is damaged" run_ack "$WORK/zeroed"

# SQLite: a garbled page in the middle of the database.
cp "$WORK/genetika.db" "$WORK/garbled.db"
pages=$(it_sql "$WORK/garbled.db" "PRAGMA page_count")
head -c 4096 /dev/zero | tr '\0' '\245' >"$WORK/garbage"
dd if="$WORK/garbage" of="$WORK/garbled.db" bs=4096 seek=$((pages / 2)) count=1 conv=notrunc 2>/dev/null
refused run-sqlite "$WORK/garbled.db: corrupt" run_db "$WORK/garbled.db"

# The intact stores are still accepted - the check refuses damage, not data
# - and the consumers go on to look for the cluster.
for prog in ack_consumer db_consumer; do
  case $prog in
    ack_consumer) store=(--cache "$WORK/cache") ;;
    db_consumer) store=(--db "$WORK/genetika.db") ;;
  esac
  rc=0
  timeout 30 "$GK_BIN/$prog" -b 127.0.0.1:1 --connect-timeout 1 "${store[@]}" >"$WORK/intact-$prog.log" 2>&1 || rc=$?
  it_expect "$prog on its intact store, no cluster: exit status" "$rc" 69
done
it_log "PASS"
