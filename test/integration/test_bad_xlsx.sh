#!/usr/bin/env bash
# test_bad_xlsx.sh - the producer on the bad xlsx corpus (test/data/bad_xlsx):
# for every case in EXPECTED the exit status, exactly one clear error line per
# problem naming file/sheet/row/column, and an exact account of what was sent
# (checked against what the broker holds). Also --skip-invalid, a run where
# one file's bad row stops the other file, and the usage errors.
# brokers: embedded kafka
# cost: 59
# kafka: shared
source "$(dirname "$0")/lib.sh"

CORPUS=${GK_TEST_DATA:-$GK_SOURCE/test/data}/bad_xlsx
[ -f "$CORPUS/EXPECTED" ] || it_fail "no $CORPUS/EXPECTED"
it_broker

# consume TOPIC FORMAT : prints every message of TOPIC (nothing if the topic
# was never created, which is what a run that sent nothing leaves).
consume() {
  local out rc=0
  out=$(timeout 30 kcat -C -b "$KAFKA_BOOTSTRAP" -t "$1" -o beginning -e -q -f "$2" 2>"$WORK/kcat.err") || rc=$?
  if [ "$rc" -ne 0 ] && ! grep -qi "unknown topic" "$WORK/kcat.err"; then
    it_fail "kcat on $1 failed: $(cat "$WORK/kcat.err")"
  fi
  printf '%s' "$out"
}

# error_lines FILE : the problem lines of a stderr capture (not log lines).
error_lines() { grep '^producer: ' "$1" || true; }

# check_one_line_errors FILE : every stderr line is a log line or a
# "producer: " line, so no error spills over several lines.
check_one_line_errors() {
  local bad
  bad=$(grep -Ev '^(producer: |[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z producer )' "$1" || true)
  [ -z "$bad" ] || it_fail "stray stderr line (multi-line error?): $bad"
}

# account FILE OUT : the "sent=N delivered=D failed=F" of FILE's account line.
account() { grep -F "producer: $CORPUS/$1 -> " "$2" | grep -o 'sent=[0-9]* delivered=[0-9]* failed=[0-9]*' || true; }

n=0
declare -A covered=() topic_of=()
while IFS=$'\t' read -r file want_rc want_sent want_errors want_text args; do
  [[ -z "$file" || "$file" == \#* ]] && continue
  n=$((n + 1)); covered[$file]=1
  topic="bad_$n"
  topic_of[$file]=$topic
  read -r -a extra <<<"${args:-}"
  rc=0
  timeout 60 "$GK_BIN/producer" --record sample_intake --topic "$topic" "${extra[@]}" \
    "$CORPUS/$file" >"$WORK/case.out" 2>"$WORK/case.err" || rc=$?
  label="$file ${args:-}"
  [ "$rc" = "$want_rc" ] || it_fail "$label: exit $rc, want $want_rc; stderr: $(cat "$WORK/case.err")"
  check_one_line_errors "$WORK/case.err"
  errs=$(error_lines "$WORK/case.err")
  got_errors=$(printf '%s' "$errs" | { grep -c . || true; })
  [ "$got_errors" = "$want_errors" ] || it_fail "$label: $got_errors error lines, want $want_errors: $errs"
  if [ "$want_errors" -gt 0 ]; then
    first=$(printf '%s\n' "$errs" | head -n1)
    IFS='|' read -r -a parts <<<"$want_text"
    for part in "${parts[@]}"; do
      [[ "$first" == *"$part"* ]] || it_fail "$label: error '$first' lacks '$part'"
    done
    # Every error line names the file.
    if printf '%s\n' "$errs" | grep -vqF "$file"; then it_fail "$label: an error line lacks the file name"; fi
  fi
  # The account: what the producer says it sent is what the topic holds.
  keys=$(consume "$topic" '%k\n')
  held=$(printf '%s' "$keys" | { grep -c . || true; })
  distinct=$(printf '%s' "$keys" | { grep . || true; } | sort -u | wc -l)
  [ "$held" = "$want_sent" ] || it_fail "$label: topic holds $held messages, want $want_sent"
  [ "$distinct" = "$held" ] || it_fail "$label: duplicate keys in the topic"
  it_expect "$label account" "$(account "$file" "$WORK/case.out")" \
    "sent=$want_sent delivered=$want_sent failed=0"
  grep -q "^producer: files=1 rows=$want_sent delivered=$want_sent failed=0 " "$WORK/case.out" ||
    it_fail "$label: summary line wrong: $(cat "$WORK/case.out")"
  it_log "ok: $label -> exit $rc, $held sent, $got_errors error line(s)"
done <"$CORPUS/EXPECTED"

# Every file of the corpus has an expectation.
for f in "$CORPUS"/*.xlsx; do
  [ -n "${covered[$(basename "$f")]:-}" ] || it_fail "$(basename "$f") has no line in EXPECTED"
done
it_log "ok: $n cases, every corpus file covered"

# --skip-invalid on the mixed file: exactly the good rows' event ids arrived
# (rows 5, 9, 12, 15 and 18 are bad: ids 4, 8, 11, 14 and 17; row 9 repeats id 3).
rc=0
"$GK_BIN/producer" --record sample_intake --topic mixed --skip-invalid "$CORPUS/mixed_skip.xlsx" \
  >"$WORK/mixed.out" 2>"$WORK/mixed.err" || rc=$?
it_expect "mixed --skip-invalid exit" "$rc" 0
got=$(consume mixed '%k\n' | sort -n | tr '\n' ' ')
it_expect "mixed keys" "$got" "1 2 3 5 6 7 9 10 12 13 15 16 18 19 20 "
it_expect "mixed skipped rows" \
  "$(error_lines "$WORK/mixed.err" | grep -o "sheet 'Sheet1' row [0-9]*" | awk '{printf "%s ", $NF}')" \
  "5 9 12 15 18 "
it_expect "mixed lines marked skipped" "$(error_lines "$WORK/mixed.err" | grep -c '(skipped)$')" 5
grep -q "skipped=5 " "$WORK/mixed.out" || it_fail "summary lacks skipped=5: $(cat "$WORK/mixed.out")"
# Values survive: the id 3 message is the first row with that id (row 4).
hdrs=$(consume mixed '%k %h\n')
grep -q '^3 .*gk-source=mixed_skip.xlsx:4$' <<<"$hdrs" || it_fail "id 3 not from row 4: $hdrs"

# Conversions end to end: number in a text column, 0/1 and text booleans, ISO text dates.
vals=$(consume "${topic_of[valid_variants.xlsx]}" '%k %s\n' | sort -n)
grep -q '^1 .*"sample_id":"12345"' <<<"$vals" || it_fail "number -> text: $vals"
grep -q '^2 .*"collected_at":"2024-03-01T10:00:00".*"consent_research":true' <<<"$vals" || it_fail "ISO date/1: $vals"
grep -q '^3 .*"volume_ml":.*"consent_research":false' <<<"$vals" || it_fail "0 -> false: $vals"
grep -q '^4 .*"consent_research":false' <<<"$vals" || it_fail "FALSE text: $vals"
if grep -q '^4 .*volume_ml' <<<"$vals" ; then it_fail "empty optional volume_ml was sent: $vals"; fi
if grep -q '^5 .*notes' <<<"$vals" ; then it_fail "empty optional notes was sent: $vals"; fi
it_log "ok: conversions"

# Two files, one bad: the bad row stops the other file too, and the account
# of each file matches what arrived (counted by the gk-source header).
rc=0
"$GK_BIN/producer" --record sample_intake --topic pair --rate 20 "$CORPUS/good_reference.xlsx" \
  "$CORPUS/wrong_type_int.xlsx" >"$WORK/pair.out" 2>"$WORK/pair.err" || rc=$?
it_expect "pair exit" "$rc" 65
it_expect "pair error lines" "$(error_lines "$WORK/pair.err" | { grep -c . || true; })" 1
sources=$(consume pair '%h\n' | grep -o 'gk-source=[a-z_]*\.xlsx' | sort | uniq -c)
for f in good_reference.xlsx wrong_type_int.xlsx; do
  sent=$(grep -F "$CORPUS/$f -> " "$WORK/pair.out" | grep -o 'sent=[0-9]*' | cut -d= -f2)
  held=$(echo "$sources" | awk -v f="gk-source=$f" '$2 == f {print $1}')
  it_expect "pair $f sent vs held" "${held:-0}" "$sent"
done
grep -F "$CORPUS/good_reference.xlsx -> " "$WORK/pair.out" | grep "run stopped" >/dev/null ||
  it_fail "the good file was not stopped: $(cat "$WORK/pair.out")"

# Usage errors: an unknown file name without --record, an unknown record type.
cp "$CORPUS/good_reference.xlsx" "$WORK/whatever.xlsx"
rc=0; "$GK_BIN/producer" "$WORK/whatever.xlsx" >/dev/null 2>"$WORK/u.err" || rc=$?
it_expect "unknown name exit" "$rc" 64
grep -q "whatever.xlsx: unknown file name" "$WORK/u.err" || it_fail "no usage message: $(cat "$WORK/u.err")"
rc=0; "$GK_BIN/producer" --record nope "$WORK/whatever.xlsx" >/dev/null 2>&1 || rc=$?
it_expect "unknown record exit" "$rc" 64
it_log "PASS"
