# report.sh - the benchmark's table (stdout) and JSON file (sourced).
#
# Input, all in the run directory: machine.tsv and settings.tsv (key, value),
# stages.tsv (stage, status, seconds, note, broker), rows.tsv (see bench_row
# in lib.sh), details.tsv (stage, key, value, broker) and growth.tsv (broker,
# events, events/s, CPU us per event, peak RSS MiB of producer, db_consumer,
# ack_consumer and broker, runs; see stage_growth.sh). Tabs separate the
# fields; no field contains a tab or a newline.

# The awk functions both outputs share: number formatting and the ratio.
REPORT_AWK_LIB='
function isnum(s) { return s ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ }
function grouped(s,   neg, ip, fp, out) {
  if (!isnum(s)) return s
  if (s + 0 < 1000 && s + 0 > -1000) return s
  neg = (s ~ /^-/); if (neg) s = substr(s, 2)
  ip = s; fp = ""
  if (index(s, ".")) { ip = substr(s, 1, index(s, ".") - 1); fp = substr(s, index(s, ".")) }
  out = ""
  while (length(ip) > 3) { out = "," substr(ip, length(ip) - 2) out; ip = substr(ip, 1, length(ip) - 3) }
  return (neg ? "-" : "") ip out fp
}
function ratio(v, l) { return (isnum(v) && isnum(l) && l + 0 != 0) ? sprintf("%.2f", v / l) : "" }
'

# report_table DIR: prints the machine line and the table.
report_table() {
  local dir=$1
  awk -F'\t' "$REPORT_AWK_LIB"'
    FILENAME ~ /machine.tsv$/ { m[$1] = $2; next }
    FILENAME ~ /settings.tsv$/ { st[$1] = $2; next }
    FILENAME ~ /stages.tsv$/ { ns++; sname[ns] = $1; sstat[ns] = $2; snote[ns] = $4; sbroker[ns] = $5; next }
    FILENAME ~ /growth.tsv$/ { ng++; for (j = 1; j <= 9; j++) g[ng, j] = $j; next }
    {
      n++
      c[n, 1] = $1; c[n, 2] = $10; c[n, 3] = $2 (($3 != "") ? " [" $3 "]" : "")
      c[n, 4] = grouped($4)
      c[n, 5] = ($6 != "") ? grouped($6) " (" $7 ")" : "-"
      r = ratio($4, $6); c[n, 6] = (r != "") ? r "x" : "-"
      c[n, 7] = ($8 != "") ? $8 : "-"
      c[n, 8] = ($9 != "") ? $9 : "-"
    }
    END {
      printf "Genetika+ benchmark, %s on %s (commit %s)\n", m["date"], m["host"], m["git_commit"]
      printf "machine: %s, %s cores, %s GiB RAM, Linux %s, librdkafka %s, SQLite %s; load average %s at start, %s at end\n",
        m["cpu"], m["cores"], m["memory_gib"], m["kernel"], m["librdkafka"], m["sqlite"], m["load_start"], m["load_end"]
      printf "settings: brokers %s, rows %s, reps %s (real Kafka: %s), partitions %s (real Kafka: %s), prefill %s, latency %s s x %s rep(s), build %s%s\n",
        st["brokers"], st["rows"], st["reps"], st["kafka_reps"], st["partitions"], st["kafka_partitions"], st["prefill"], st["latency_seconds"],
        st["latency_reps"], st["build_type"], (st["quick"] == "true") ? ", QUICK (smoke sizes: the figures mean nothing)" : ""
      if (st["broker_note"] != "") printf "%s\n", st["broker_note"]
      print ""
      h[1] = "stage"; h[2] = "broker"; h[3] = "figure"; h[4] = "value"; h[5] = "limit"; h[6] = "ratio"; h[7] = "target"; h[8] = "verdict"
      for (j = 1; j <= 8; j++) { w[j] = length(h[j]); for (i = 1; i <= n; i++) if (length(c[i, j]) > w[j]) w[j] = length(c[i, j]) }
      line = ""
      for (j = 1; j <= 8; j++) line = line sprintf((j == 4 || j == 6) ? "%" w[j] "s  " : "%-" w[j] "s  ", h[j])
      print line
      for (i = 1; i <= n; i++) {
        line = ""
        for (j = 1; j <= 8; j++) line = line sprintf((j == 4 || j == 6) ? "%" w[j] "s  " : "%-" w[j] "s  ", c[i, j])
        print line
      }
      if (ng) {
        printf "\ngrowth, end to end (flat is the goal; broker RSS: the JVM'"'"'s peak since its start):\n"
        printf "%-8s  %12s  %10s  %13s  %12s  %15s  %16s  %10s  %4s\n", "broker", "events", "events/s", "CPU us/event",
          "producer MiB", "db_consumer MiB", "ack_consumer MiB", "broker MiB", "runs"
        for (i = 1; i <= ng; i++)
          printf "%-8s  %12s  %10s  %13s  %12s  %15s  %16s  %10s  %4s\n", g[i, 1], grouped(g[i, 2]), grouped(g[i, 3]),
            g[i, 4], g[i, 5], g[i, 6], g[i, 7], g[i, 8], g[i, 9]
      }
      print ""
      for (i = 1; i <= ns; i++)
        if (sstat[i] != "ok") printf "stage %s (%s) %s%s\n", sname[i], sbroker[i], toupper(sstat[i]), (snote[i] != "") ? ": " snote[i] : ""
    }' "$dir/machine.tsv" "$dir/settings.tsv" "$dir/stages.tsv" "$dir/growth.tsv" "$dir/rows.tsv"
}

# report_json DIR: prints the JSON document.
report_json() {
  local dir=$1
  awk -F'\t' "$REPORT_AWK_LIB"'
    function jstr(s) {
      gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, "\\t", s); gsub(/\r/, "\\r", s)
      return "\"" s "\""
    }
    function jval(s) { return isnum(s) ? s : jstr(s) }
    function jnum(s) { return isnum(s) ? s : "null" }
    function jlist(s,   a, k, i, out) {
      k = split(s, a, " "); out = ""
      for (i = 1; i <= k; i++) out = out (i > 1 ? ", " : "") jval(a[i])
      return "[" out "]"
    }
    FILENAME ~ /machine.tsv$/ { nm++; mk[nm] = $1; mv[nm] = $2; next }
    FILENAME ~ /settings.tsv$/ { nt++; tk[nt] = $1; tv[nt] = $2; next }
    FILENAME ~ /stages.tsv$/ {
      ns++; s[ns] = sprintf("{\"stage\": %s, \"broker\": %s, \"status\": %s, \"seconds\": %s, \"note\": %s}",
        jstr($1), jstr($5), jstr($2), jnum($3), jstr($4)); next }
    FILENAME ~ /details.tsv$/ {
      nd++; dt[nd] = sprintf("{\"stage\": %s, \"broker\": %s, \"key\": %s, \"value\": %s}", jstr($1), jstr($4), jstr($2), jval($3)); next }
    FILENAME ~ /growth.tsv$/ {
      ng++; gr[ng] = sprintf("{\"broker\": %s, \"events\": %s, \"events_per_s\": %s, \"cpu_us_per_event\": %s, \"peak_rss_mib\": {\"producer\": %s, \"db_consumer\": %s, \"ack_consumer\": %s, \"broker\": %s}, \"runs\": %s}",
        jstr($1), jnum($2), jnum($3), jnum($4), jnum($5), jnum($6), jnum($7), jnum($8), jnum($9)); next }
    {
      nr++
      r[nr] = sprintf("{\"stage\": %s, \"broker\": %s, \"figure\": %s, \"unit\": %s, \"value\": %s, \"reps\": %s, \"limit\": %s, \"limit_what\": %s, \"ratio\": %s, \"target\": %s, \"verdict\": %s}",
        jstr($1), jstr($10), jstr($2), jstr($3), jnum($4), jlist($5), jnum($6), jstr($7), jnum(ratio($4, $6)), jstr($8), jstr($9))
    }
    END {
      print "{"
      print "  \"benchmark\": \"genetika-plus\","
      print "  \"format\": 2,"
      printf "  \"machine\": {"
      for (i = 1; i <= nm; i++) printf "%s%s: %s", (i > 1 ? ", " : ""), jstr(mk[i]), jval(mv[i])
      print "},"
      printf "  \"settings\": {"
      for (i = 1; i <= nt; i++) printf "%s%s: %s", (i > 1 ? ", " : ""), jstr(tk[i]), (tv[i] == "true" || tv[i] == "false") ? tv[i] : jval(tv[i])
      print "},"
      print "  \"stages\": ["
      for (i = 1; i <= ns; i++) printf "    %s%s\n", s[i], (i < ns ? "," : "")
      print "  ],"
      print "  \"table\": ["
      for (i = 1; i <= nr; i++) printf "    %s%s\n", r[i], (i < nr ? "," : "")
      print "  ],"
      print "  \"growth\": ["
      for (i = 1; i <= ng; i++) printf "    %s%s\n", gr[i], (i < ng ? "," : "")
      print "  ],"
      print "  \"details\": ["
      for (i = 1; i <= nd; i++) printf "    %s%s\n", dt[i], (i < nd ? "," : "")
      print "  ]"
      print "}"
    }' "$dir/machine.tsv" "$dir/settings.tsv" "$dir/stages.tsv" "$dir/details.tsv" "$dir/growth.tsv" "$dir/rows.tsv"
}

# report_growth_chart DIR PNG: draws the growth table of DIR (growth.tsv)
# with bench/growth.gp into PNG; nothing if the growth stage did not run.
report_growth_chart() {
  local dir=$1 png=$2 lo hi heading
  [ -s "$dir/growth.tsv" ] || return 0
  command -v gnuplot >/dev/null || { echo "report: no gnuplot, no growth chart" >&2; return 0; }
  lo=$(cut -f2 "$dir/growth.tsv" | sort -n | head -n 1)
  hi=$(cut -f2 "$dir/growth.tsv" | sort -n | tail -n 1)
  heading=$(awk -F'\t' '{ m[$1] = $2 } END {
      split(m["load_start"], l, " ")
      printf "Genetika+ growth on %s - %s - commit %s - %s cores, load %s at start",
        b, m["date"], m["git_commit"], m["cores"], l[1] }' \
    b="$(cut -f1 "$dir/growth.tsv" | sort -u | paste -sd/)" "$dir/machine.tsv")
  gnuplot -e "data='$dir/growth.tsv'; out='$png'; xmin=$((lo / 2)); xmax=$((hi * 2)); heading='$heading';
    sizes='$(cut -f2 "$dir/growth.tsv" | sort -nu | paste -sd' ')'" \
    "$ROOT/bench/growth.gp" 2>"$dir/growth-gnuplot.log" ||
    { echo "report: gnuplot failed: $(tail -n 1 "$dir/growth-gnuplot.log")" >&2; return 1; }
}
