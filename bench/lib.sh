# lib.sh - helpers shared by the benchmark stages (sourced by bench/bench.sh).
#
# Every process the benchmark starts runs as /usr/bin/time -> timeout -> CMD,
# so that its peak RSS comes from wait4() (GNU time's %M, measured from
# outside) and no run can hang the benchmark. Each stage runs in a subshell
# with its own directory ($BENCH_STAGE_DIR); every pid it starts is written to
# its pids file, and bench_stop_all, called from the stage's EXIT trap, stops
# whatever is still alive. Results are appended to $BENCH_RUN/rows.tsv and
# $BENCH_RUN/stages.tsv, which bench/report.sh turns into the table and JSON;
# each line names the broker of the pass it was measured on.
#
# Needs: BENCH_BIN (service binaries), BENCH_RUN (this run's directory),
# BENCH_WORK (cached data), BENCH_SEED, BENCH_BROKER_KIND (embedded or kafka).

BENCH_TIME_FMT='gk_time rss_kb=%M wall_s=%e user_s=%U sys_s=%S'

bench_log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# bench_fail TEXT: ends the current stage (stages run in subshells) as failed.
bench_fail() {
  bench_log "FAIL: $*"
  printf '%s\n' "$*" >"$BENCH_STAGE_DIR/failure"
  exit 1
}

bench_now_ns() { date +%s%N; }

# bench_ns_to_s NS: nanoseconds as seconds with 3 decimals.
bench_ns_to_s() { awk -v n="$1" 'BEGIN { printf "%.3f", n / 1e9 }'; }

# bench_div A B [FORMAT]: A / B printed with FORMAT (default %.0f); "" if B is 0 or empty.
bench_div() {
  awk -v a="$1" -v b="$2" -v f="${3:-%.0f}" 'BEGIN { if (b + 0 == 0 || a == "") print ""; else printf f "\n", a / b }'
}

# bench_median V...: the median of the numbers given (mean of the middle two
# for an even count, to 15 significant digits: awk's default would print
# 1,192,150 as 1.19215e+06); empty values are ignored, nothing printed if none
# remain.
bench_median() {
  printf '%s\n' "$@" | awk 'NF' | sort -g | awk '{ v[NR] = $1 }
    END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else printf "%.15g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_field FILE KEY: the value of the last "KEY=value" in FILE.
bench_field() {
  sed -n "s/.*[ :]$2=\([^ ]*\).*/\1/p" "$1" 2>/dev/null | tail -n 1
}

# bench_rss_kb NAME: peak RSS (KiB) of the run NAME, from GNU time's report.
bench_rss_kb() { bench_field "$BENCH_STAGE_DIR/$1.time" rss_kb; }

# bench_cpu_s NAME: CPU seconds (user + system) of the run NAME.
bench_cpu_s() {
  local f=$BENCH_STAGE_DIR/$1.time
  awk -v u="$(bench_field "$f" user_s)" -v s="$(bench_field "$f" sys_s)" 'BEGIN { printf "%.2f", u + s }'
}

# bench_cpu_sum NAME...: CPU seconds of several runs together.
bench_cpu_sum() {
  local n
  for n in "$@"; do bench_cpu_s "$n"; echo; done | awk '{ t += $1 } END { printf "%.2f", t }'
}

# bench_log_ms FILE REGEX: epoch milliseconds of the last log line matching REGEX
# (log lines start with an ISO 8601 UTC timestamp with milliseconds).
bench_log_ms() {
  local ts
  ts=$(grep -E "$2" "$1" 2>/dev/null | tail -n 1 | cut -d' ' -f1)
  [ -n "$ts" ] && date -u -d "$ts" +%s%3N
}

# --- processes ---------------------------------------------------------------

# bench_starttime PID: the process's start time (field 22 of /proc/PID/stat),
# which together with the pid names one process even after the pid is reused.
bench_starttime() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

bench_track() { echo "$1 $(bench_starttime "$1")" >>"$BENCH_STAGE_DIR/pids"; }

# bench_start NAME LIMIT_S CMD...: starts CMD in the background under GNU time
# and timeout (killed after LIMIT_S seconds), with what the broker needs the
# service to be told (harness_env_cmd); stdout/stderr/time go to
# $BENCH_STAGE_DIR/NAME.{out,err,time}. Sets PID_NAME and T0_NAME (epoch ns).
bench_start() {
  local name=$1 limit=$2; shift 2
  local d=$BENCH_STAGE_DIR
  harness_env_cmd "$@"
  printf -v "T0_$name" '%s' "$(bench_now_ns)"
  /usr/bin/time -f "$BENCH_TIME_FMT" -o "$d/$name.time" timeout -k 10 "$limit" "${HARNESS_CMD[@]}" \
    >"$d/$name.out" 2>"$d/$name.err" &
  local pid=$!
  bench_track "$pid"
  printf -v "PID_$name" '%s' "$pid"
}

# bench_wait NAME: waits for the run NAME to end. Sets RC_NAME (124: timed
# out) and T1_NAME (epoch ns just after it ended).
bench_wait() {
  local name=$1 pid rc=0
  eval "pid=\$PID_$name"
  wait "$pid" || rc=$?
  printf -v "T1_$name" '%s' "$(bench_now_ns)"
  printf -v "RC_$name" '%s' "$rc"
}

# bench_run NAME LIMIT_S CMD...: bench_start + bench_wait.
bench_run() {
  local name=$1
  bench_start "$@"
  bench_wait "$name"
}

# bench_stop PID [STARTTIME]: stops a process started by bench_start (TERM to
# its timeout child, which forwards it to the command, so GNU time still
# reports) or by bench_broker; KILL after 10 s. With STARTTIME, a pid that now
# names another process is left alone.
bench_stop() {
  local pid=$1 start=${2:-} child kids
  kill -0 "$pid" 2>/dev/null || return 0
  if [ -n "$start" ] && [ "$(bench_starttime "$pid")" != "$start" ]; then return 0; fi
  kids=$(pgrep -P "$pid" 2>/dev/null || true)
  # shellcheck disable=SC2086 # one or more pids
  if [ -n "$kids" ]; then kill -TERM $kids 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    for child in $(pgrep -P "$pid" 2>/dev/null); do
      pkill -KILL -P "$child" 2>/dev/null || true
      kill -KILL "$child" 2>/dev/null || true
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# bench_stop_all [DIR]: stops every process recorded in DIR/pids (default: the
# current stage's) that is still the same process and alive.
bench_stop_all() {
  local f=${1:-$BENCH_STAGE_DIR}/pids pid start
  [ -f "$f" ] || return 0
  while read -r pid start; do bench_stop "$pid" "$start"; done <"$f"
  : >"$f"
}

# bench_wait_exit NAME LIMIT_S: waits up to LIMIT_S seconds for the run NAME;
# fails the stage if it is still running then. Sets RC_NAME and T1_NAME.
bench_wait_exit() {
  local name=$1 limit=$2 pid waited=0
  eval "pid=\$PID_$name"
  while kill -0 "$pid" 2>/dev/null; do
    [ "$waited" -ge $((limit * 10)) ] && bench_fail "$name still running after ${limit}s"
    sleep 0.1; waited=$((waited + 1))
  done
  bench_wait "$name"
}

# bench_wait_assigned NAME...: waits (up to 60 s) until each named consumer
# run logs that it owns partitions, so that what is produced next is live.
bench_wait_assigned() {
  local name pid
  for name in "$@"; do
    eval "pid=\$PID_$name"
    harness_wait_assigned "$BENCH_STAGE_DIR/$name.err" "$pid" 60 ||
      bench_fail "$name $HARNESS_ERROR: $(tail -n 2 "$BENCH_STAGE_DIR/$name.err")"
  done
}

# bench_check_rc NAME: fails the stage unless the run NAME exited 0; exit 76
# (consumer position fell out of the broker's retention) is named as such.
bench_check_rc() {
  local name=$1 rc
  eval "rc=\$RC_$name"
  [ "$rc" = 0 ] && return 0
  case "$rc" in
    76) bench_fail "$name exit 76: its position fell out of the broker's retention (data lost: it did not keep up)" ;;
    124|137) bench_fail "$name timed out (killed)" ;;
    *) bench_fail "$name exited with status $rc: $(grep -E 'ERROR|error' "$BENCH_STAGE_DIR/$name.err" | tail -n 1)" ;;
  esac
}

# --- data ----------------------------------------------------------------------

# bench_data ROWS: generates (once) BENCH_WORK/data/rROWS-sSEED/sim_file{1,2,3}.xlsx
# and sets BENCH_DATA to that directory. datagen renames its files into place
# only when all are complete, so an existing set is a whole set. A sheet
# holds at most 1,048,575 rows: above BENCH_PART_ROWS, the set is parts of
# that many events each, in DIR/partNN/ (datagen --first-id: the rows are
# the same as in one big sheet), and BENCH_DATA_PARTS lists their
# directories (empty for a set of one part; BENCH_DATA is then the first).
BENCH_PART_ROWS=${BENCH_PART_ROWS:-1000000} # smaller only to try the parts path quickly
bench_data() {
  local rows=$1 dir=$BENCH_WORK/data/r$1-s$BENCH_SEED
  BENCH_DATA=$dir BENCH_DATA_PARTS=""
  if [ "$rows" -le "$BENCH_PART_ROWS" ]; then
    bench_datagen "$dir" "$rows" 1
    return
  fi
  local first=1 k=0 n part
  while [ "$first" -le "$rows" ]; do
    k=$((k + 1))
    n=$((rows - first + 1))
    [ "$n" -le "$BENCH_PART_ROWS" ] || n=$BENCH_PART_ROWS
    printf -v part '%s/part%02d' "$dir" "$k"
    bench_datagen "$part" "$n" "$first" || return 1
    BENCH_DATA_PARTS+="${BENCH_DATA_PARTS:+ }$part"
    first=$((first + n))
  done
  BENCH_DATA=$dir/part01
}

# bench_datagen DIR ROWS FIRST_ID: one datagen set, unless already there.
bench_datagen() {
  local dir=$1 rows=$2 first=$3
  if [ -f "$dir/sim_file1.xlsx" ] && [ -f "$dir/sim_file2.xlsx" ] && [ -f "$dir/sim_file3.xlsx" ]; then
    return 0
  fi
  bench_log "datagen: $rows rows per file (events $first..$((first + rows - 1))) into $dir (cached for the next runs)"
  mkdir -p "$dir"
  "$BENCH_BIN/datagen" --rows "$rows" --first-id "$first" --seed "$BENCH_SEED" --out "$dir" 2>"$dir.log" ||
    { tail -n 3 "$dir.log" >&2; return 1; }
}

# --- results -------------------------------------------------------------------

# bench_row STAGE FIGURE UNIT VALUE REPS LIMIT LIMIT_WHAT TARGET VERDICT
# records one line of the table, on the current pass's broker
# (BENCH_BROKER_KIND, the line's tenth field). VALUE and LIMIT are medians
# ("" when absent), REPS the repetitions' values separated by spaces, TARGET
# e.g. ">=0.8x" or "<=5", VERDICT met, MISSED or "" (no target).
bench_row() {
  local f=("$@")
  while [ ${#f[@]} -lt 9 ]; do f+=(""); done
  local IFS=$'\t'
  printf '%s\t%s\n' "${f[*]:0:9}" "$BENCH_BROKER_KIND" >>"$BENCH_RUN/rows.tsv"
}

# bench_rss_median SERVICE ROWS: median peak RSS (KiB) recorded in rss.tsv
# on the current pass's broker.
bench_rss_median() {
  # shellcheck disable=SC2046
  bench_median $(awk -F'\t' -v s="$1" -v n="$2" -v b="$BENCH_BROKER_KIND" \
    '$1 == s && $2 == n && $4 == b { print $3 }' "$BENCH_RUN/rss.tsv" 2>/dev/null)
}

# bench_verdict VALUE OP THRESHOLD: "met" or "MISSED" (OP is >= or <=); "" if
# VALUE is empty.
bench_verdict() {
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
    if (v == "") { print ""; exit }
    ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0)
    print ok ? "met" : "MISSED" }'
}

# bench_detail STAGE KEY VALUE: one extra figure for the JSON only (on the
# current pass's broker).
bench_detail() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$BENCH_BROKER_KIND" >>"$BENCH_RUN/details.tsv"; }

# bench_detail_get STAGE KEY: the value bench_detail recorded on the current
# pass's broker; nothing if none.
bench_detail_get() {
  awk -F'\t' -v s="$1" -v k="$2" -v b="$BENCH_BROKER_KIND" '$1 == s && $2 == k && $4 == b { v = $3 } END { if (v != "") print v }' \
    "$BENCH_RUN/details.tsv" 2>/dev/null
}

# bench_row_get STAGE FIGURE_START COLUMN: field COLUMN (4 value, 6 limit, 9
# verdict) of the last row of STAGE whose figure starts with FIGURE_START,
# on the current pass's broker; nothing if none.
bench_row_get() {
  awk -F'\t' -v s="$1" -v f="$2" -v c="$3" -v b="$BENCH_BROKER_KIND" \
    '$1 == s && index($2, f) == 1 && $10 == b { v = $c } END { if (v != "") print v }' "$BENCH_RUN/rows.tsv" 2>/dev/null
}
