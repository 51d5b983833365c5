#!/usr/bin/env bash
# test_cli.sh - every program's command line and environment, without a
# broker: --help and --version; numbers out of range, NaN and infinities
# refused (exit 64 with the range); an empty KAFKA_BOOTSTRAP refused instead
# of meaning localhost:9092; --bootstrap-server accepted as --bootstrap; a
# properties file (-F / KAFKA_CONFIG_FILE) reaching librdkafka; and inputs
# that are not regular files (a FIFO) refused at once instead of blocking;
# the producer's rate curve: a bad CSV line named by file and line, options
# that only make sense together.
# brokers: none
. "$(dirname "$0")/lib.sh"

KAFKA_PROGRAMS="producer db_consumer ack_consumer ack_delay kafka_admin console"
unset KAFKA_BOOTSTRAP KAFKA_CONFIG KAFKA_CONFIG_FILE

# run NAME WANT_RC CMD... : runs CMD (bounded), checks its exit status and
# that stderr is one line; the stderr is left in $WORK/NAME.err.
run() {
  local name=$1 want=$2 rc=0
  shift 2
  timeout 20 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null || rc=$?
  [ "$rc" = "$want" ] || it_fail "$name: exit $rc, want $want; stderr: $(cat "$WORK/$name.err")"
  if [ "$want" = 64 ]; then
    [ "$(grep -c . "$WORK/$name.err")" = 1 ] || it_fail "$name: not one line: $(cat "$WORK/$name.err")"
  fi
}

for p in $KAFKA_PROGRAMS broker datagen; do
  run "$p-help" 0 "$GK_BIN/$p" --help
  run "$p-version" 0 "$GK_BIN/$p" --version
  grep -q "^$p (Genetika+) [0-9]" "$WORK/$p-version.out" || it_fail "$p --version: $(cat "$WORK/$p-version.out")"
done
it_log "ok: --help and --version everywhere"

# An empty bootstrap is an error in every program that talks to Kafka.
for p in $KAFKA_PROGRAMS; do
  run "$p-empty-bootstrap" 64 env KAFKA_BOOTSTRAP= "$GK_BIN/$p" wait
  grep -q "KAFKA_BOOTSTRAP: must not be empty" "$WORK/$p-empty-bootstrap.err" ||
    it_fail "$p: $(cat "$WORK/$p-empty-bootstrap.err")"
  run "$p-empty-bootstrap-arg" 64 "$GK_BIN/$p" --bootstrap "" wait
  # The Kafka tools' spelling is accepted (then --help ends the run).
  run "$p-bootstrap-server" 0 "$GK_BIN/$p" --bootstrap-server 127.0.0.1:1 --help
done
it_log "ok: empty bootstrap refused, --bootstrap-server accepted"

# Numbers: out of range, NaN, infinity, overflow - each refused with the range.
X=$WORK/x.xlsx
cp "$GK_SOURCE/data/sim_file1.xlsx" "$X"
run connect-timeout-overflow 64 "$GK_BIN/producer" --record sample_intake --connect-timeout 2147484 "$X"
grep -q "out of range (expected 0 or 0.001..86400)" "$WORK/connect-timeout-overflow.err" ||
  it_fail "$(cat "$WORK/connect-timeout-overflow.err")"
for v in nan inf -inf -1 1e400 1e-9; do
  run "rate-$v" 64 "$GK_BIN/producer" --record sample_intake --rate "$v" "$X"
done
run rate-env 64 env GK_PRODUCER_RATE=nan "$GK_BIN/producer" --record sample_intake "$X"
run batch-overflow 64 "$GK_BIN/db_consumer" --batch 99999999999999999999
run map-size 64 "$GK_BIN/ack_consumer" --map-size 0
run timeout-range 64 "$GK_BIN/ack_delay" --timeout 86401
run partitions-range 64 "$GK_BIN/broker" --partitions 0
run replication-zero 64 "$GK_BIN/kafka_admin" --replication-factor 0 wait
run rows-range 64 "$GK_BIN/datagen" --rows -1
run first-id-range 64 "$GK_BIN/datagen" --first-id 0
run console-refresh-nan 64 "$GK_BIN/console" --refresh nan
run console-messages-range 64 "$GK_BIN/console" --messages 201
run console-addr-port 64 "$GK_BIN/console" --addr 127.0.0.1:65536
run console-x-bad 64 "$GK_BIN/console" -X no.such.setting=1
run broker-x-bad 64 "$GK_BIN/broker" -X no.such.setting=1
grep -q "no.such.setting" "$WORK/broker-x-bad.err" || it_fail "broker -X: $(cat "$WORK/broker-x-bad.err")"
it_log "ok: numbers out of range refused"

# The ack topic is not a data topic, and a data topic not the ack topic.
run topic-ack 64 "$GK_BIN/producer" -t ack --record sample_intake "$X"
grep -q "'ack' is the ack topic, not a data topic" "$WORK/topic-ack.err" || it_fail "$(cat "$WORK/topic-ack.err")"
run ack-topic-data 64 "$GK_BIN/ack_consumer" --ack-topic topic2
run delay-topics-ack 64 "$GK_BIN/ack_delay" --topics topic1,topic2,ack
it_log "ok: topic roles"

# A properties file reaches librdkafka: its unknown key is refused by name.
printf '# client settings\nsasl.password=p;a=ss\nno.such.property=1\n' >"$WORK/client.properties"
run properties 64 "$GK_BIN/kafka_admin" -b 127.0.0.1:1 -F "$WORK/client.properties" --timeout 1 wait
grep -q "no.such.property" "$WORK/properties.err" || it_fail "properties: $(cat "$WORK/properties.err")"
grep -q "p;a=ss" "$WORK/properties.err" && it_fail "a properties value was echoed: $(cat "$WORK/properties.err")"
run properties-env 64 env KAFKA_CONFIG_FILE="$WORK/client.properties" "$GK_BIN/kafka_admin" \
  -b 127.0.0.1:1 --timeout 1 wait
printf 'no equals sign\n' >"$WORK/bad.properties"
run properties-bad 64 "$GK_BIN/producer" -F "$WORK/bad.properties" "$X"
grep -q "bad.properties line 1: expected key=value" "$WORK/properties-bad.err" ||
  it_fail "$(cat "$WORK/properties-bad.err")"
it_log "ok: properties files"

# Inputs that are not regular files are refused at once, never waited on.
mkfifo "$WORK/fifo.xlsx"
run fifo 66 "$GK_BIN/producer" --bootstrap 127.0.0.1:1 --record sample_intake "$WORK/fifo.xlsx"
grep -q "fifo.xlsx: not a regular file (a FIFO)" "$WORK/fifo.err" || it_fail "fifo: $(cat "$WORK/fifo.err")"
run fifo-properties 64 "$GK_BIN/producer" -F "$WORK/fifo.xlsx" "$X"
run dir-input 66 "$GK_BIN/producer" --bootstrap 127.0.0.1:1 --record sample_intake "$WORK"
run fifo-curve 64 "$GK_BIN/producer" --rate-curve "$WORK/fifo.xlsx" --record sample_intake "$X"
grep -q "fifo.xlsx: not a regular file (a FIFO)" "$WORK/fifo-curve.err" || it_fail "$(cat "$WORK/fifo-curve.err")"
it_log "ok: a FIFO or directory as input is refused at once"

# The rate curve (its rules are unit-tested in test_producer_util).
printf 'seconds,rate\n0,100\n30,1e400\n' >"$WORK/curve.csv"
run curve-bad-line 64 "$GK_BIN/producer" --rate-curve "$WORK/curve.csv" --record sample_intake "$X"
grep -q "curve.csv line 3: expected seconds,rate as two finite numbers" "$WORK/curve-bad-line.err" ||
  it_fail "$(cat "$WORK/curve-bad-line.err")"
run curve-env-no-peak 64 env GK_PRODUCER_RATE_CURVE=diurnal "$GK_BIN/producer" --record sample_intake "$X"
grep -q "needs a peak rate above 0 (--rate)" "$WORK/curve-env-no-peak.err" || it_fail "$(cat "$WORK/curve-env-no-peak.err")"
run curve-trough 64 "$GK_BIN/producer" --rate-curve diurnal --rate 100 --rate-min 100 --record sample_intake "$X"
run curve-constant 64 "$GK_BIN/producer" --rate-curve diurnal --rate 100 --arrivals constant --record sample_intake "$X"
run curve-min-alone 64 "$GK_BIN/producer" --rate-min 5 --record sample_intake "$X"
run curve-period-range 64 "$GK_BIN/producer" --rate-curve diurnal --rate 100 --rate-period 1e-9 --record sample_intake "$X"
run window-range 64 "$GK_BIN/ack_delay" --window -1
it_log "ok: rate curves and windows refused when wrong"

# datagen --first-id: a part of a data set too big for one sheet is the same
# rows as in the whole, under the sheet's own row numbers (2 = first data row).
run dg-whole 0 "$GK_BIN/datagen" --rows 5 --files 2 --out "$WORK/dg-whole"
run dg-part 0 "$GK_BIN/datagen" --rows 2 --first-id 4 --files 2 --out "$WORK/dg-part"
sheet_xml() { python3 -c 'import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read("xl/worksheets/sheet1.xml").decode())' "$1"; }
dg_row() { sheet_xml "$1/sim_file2.xlsx" | sed 's/<row/\n<row/g' | grep -E "^<row r=\"[0-9]+\"><c r=\"A[0-9]+\"><v>$2</v>" | sed 's/ r="[A-Z]*[0-9]*"//g'; }
for id in 4 5; do
  [ -n "$(dg_row "$WORK/dg-part" "$id")" ] && [ "$(dg_row "$WORK/dg-part" "$id")" = "$(dg_row "$WORK/dg-whole" "$id")" ] ||
    it_fail "datagen --first-id 4: event $id differs from the whole data set's"
done
sheet_xml "$WORK/dg-part/sim_file2.xlsx" | grep -q '<row r="2"><c r="A2"><v>4</v>' ||
  it_fail "datagen --first-id 4: event 4 is not on sheet row 2"
it_log "ok: datagen --first-id writes the whole set's rows from sheet row 2"
it_log "PASS"
