#!/usr/bin/env bash
# test_disk_full.sh - a full disk is named as such. Each consumer's store is
# on a tmpfs of its own, too small for the stream (mounted by this test and
# unmounted whatever happens; skipped, saying so, where mount is not
# permitted): both stop with exit 74 and a line saying the disk is full and
# where - LMDB reports a short write as "Input/output error", which must not
# reach the operator as such - and nothing of the failed batch is kept.
# brokers: embedded kafka
. "$(dirname "$0")/lib.sh"

N=20000
IT_MOUNTS=()
unmount_all() {
  local m
  for m in "${IT_MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}
# Unmounted (lazily if still busy) before lib.sh's cleanup, which keeps the
# test's exit status.
trap 'it_rc=$?; unmount_all; (exit $it_rc); it_cleanup' EXIT
mkdir -p "$WORK/ack-fs" "$WORK/db-fs"
mount -t tmpfs -o size=512k tmpfs "$WORK/ack-fs" 2>"$WORK/mount.log" ||
  it_skip "cannot mount a small tmpfs to fill ($(head -n 1 "$WORK/mount.log"))"
IT_MOUNTS+=("$WORK/ack-fs")
mount -t tmpfs -o size=512k tmpfs "$WORK/db-fs" 2>>"$WORK/mount.log" || it_fail "second tmpfs: $(tail -n 1 "$WORK/mount.log")"
IT_MOUNTS+=("$WORK/db-fs")

"$GK_BIN/datagen" --rows $N --seed 7 --out "$WORK/data" 2>"$WORK/datagen.log" || it_fail "datagen failed"
it_broker --partitions 3
"$GK_BIN/producer" "$WORK"/data/sim_file{1,2,3}.xlsx >"$WORK/producer.out" 2>"$WORK/producer.log" ||
  it_fail "producer exited with $?"

it_start ack "$GK_BIN/ack_consumer" --cache "$WORK/ack-fs/cache" --map-size 64 --batch 2000
it_start db "$GK_BIN/db_consumer" --db "$WORK/db-fs/genetika.db" --batch 2000
it_wait_exit "$PID_ack" 120
it_expect "ack_consumer exit status on a full disk" "$IT_RC" 74
it_wait_exit "$PID_db" 120
it_expect "db_consumer exit status on a full disk" "$IT_RC" 74

line=$(grep -m1 "ERROR: state: " "$WORK/ack.log" || true)
[[ $line == *"disk full ($WORK/ack-fs/cache"* ]] || it_fail "ack_consumer does not say the disk is full and where: '$line'"
grep -q "Input/output error" "$WORK/ack.log" && it_fail "ack_consumer still reports the full disk as an I/O error"
it_log "ok: ${line#*ERROR: }"
line=$(grep -m1 "ERROR: .*full" "$WORK/db.log" || true)
[[ $line == *"$WORK/db-fs/genetika.db"*"disk is full"* ]] || it_fail "db_consumer does not say the disk is full and where: '$line'"
it_log "ok: ${line#*ERROR: }"

# Nothing of the failed batch was kept: the stores hold whole batches, and
# moved to a disk with room they go on from there, exactly once.
mkdir -p "$WORK/roomy"
cp -a "$WORK/ack-fs/cache" "$WORK/roomy/cache"
cp -a "$WORK/db-fs"/genetika.db* "$WORK/roomy/"
unmount_all
IT_MOUNTS=()
it_start ack2 "$GK_BIN/ack_consumer" --cache "$WORK/roomy/cache" --map-size 64 --idle-exit 3
it_start db2 "$GK_BIN/db_consumer" --db "$WORK/roomy/genetika.db" --idle-exit 3
it_wait_exit "$PID_ack2" 180
it_expect "ack_consumer exit status with room again" "$IT_RC" 0
it_wait_exit "$PID_db2" 180
it_expect "db_consumer exit status with room again" "$IT_RC" 0
it_check_exact $N "$WORK/roomy/genetika.db"
it_log "PASS"
