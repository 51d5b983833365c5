# report.sh - the benchmark's table (stdout) and JSON file (sourced).
#
# Input, all in the run directory: machine.tsv and settings.tsv (key, value),
# stages.tsv (stage, status, seconds, note), rows.tsv (see bench_row in
# lib.sh) and details.tsv (stage, key, value). Tabs separate the fields;
# no field contains a tab or a newline.

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
    FILENAME ~ /stages.tsv$/ { ns++; sname[ns] = $1; sstat[ns] = $2; snote[ns] = $4; next }
    {
      n++
      c[n, 1] = $1; c[n, 2] = $2 (($3 != "") ? " [" $3 "]" : "")
      c[n, 3] = grouped($4)
      c[n, 4] = ($6 != "") ? grouped($6) " (" $7 ")" : "-"
      r = ratio($4, $6); c[n, 5] = (r != "") ? r "x" : "-"
      c[n, 6] = ($8 != "") ? $8 : "-"
      c[n, 7] = ($9 != "") ? $9 : "-"
    }
    END {
      printf "Genetika+ benchmark, %s on %s (commit %s)\n", m["date"], m["host"], m["git_commit"]
      printf "machine: %s, %s cores, %s GiB RAM, Linux %s, librdkafka %s, SQLite %s; load average %s at start, %s at end\n",
        m["cpu"], m["cores"], m["memory_gib"], m["kernel"], m["librdkafka"], m["sqlite"], m["load_start"], m["load_end"]
      printf "settings: rows %s, reps %s, partitions %s, prefill %s, latency %s s x %s rep(s), build %s%s\n\n",
        st["rows"], st["reps"], st["partitions"], st["prefill"], st["latency_seconds"], st["latency_reps"],
        st["build_type"], (st["quick"] == "true") ? ", QUICK (smoke sizes: the figures mean nothing)" : ""
      h[1] = "stage"; h[2] = "figure"; h[3] = "value"; h[4] = "limit"; h[5] = "ratio"; h[6] = "target"; h[7] = "verdict"
      for (j = 1; j <= 7; j++) { w[j] = length(h[j]); for (i = 1; i <= n; i++) if (length(c[i, j]) > w[j]) w[j] = length(c[i, j]) }
      line = ""
      for (j = 1; j <= 7; j++) line = line sprintf((j == 3 || j == 5) ? "%" w[j] "s  " : "%-" w[j] "s  ", h[j])
      print line
      for (i = 1; i <= n; i++) {
        line = ""
        for (j = 1; j <= 7; j++) line = line sprintf((j == 3 || j == 5) ? "%" w[j] "s  " : "%-" w[j] "s  ", c[i, j])
        print line
      }
      print ""
      for (i = 1; i <= ns; i++)
        if (sstat[i] != "ok") printf "stage %s %s%s\n", sname[i], toupper(sstat[i]), (snote[i] != "") ? ": " snote[i] : ""
    }' "$dir/machine.tsv" "$dir/settings.tsv" "$dir/stages.tsv" "$dir/rows.tsv"
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
      ns++; s[ns] = sprintf("{\"stage\": %s, \"status\": %s, \"seconds\": %s, \"note\": %s}",
        jstr($1), jstr($2), jnum($3), jstr($4)); next }
    FILENAME ~ /details.tsv$/ {
      nd++; dt[nd] = sprintf("{\"stage\": %s, \"key\": %s, \"value\": %s}", jstr($1), jstr($2), jval($3)); next }
    {
      nr++
      r[nr] = sprintf("{\"stage\": %s, \"figure\": %s, \"unit\": %s, \"value\": %s, \"reps\": %s, \"limit\": %s, \"limit_what\": %s, \"ratio\": %s, \"target\": %s, \"verdict\": %s}",
        jstr($1), jstr($2), jstr($3), jnum($4), jlist($5), jnum($6), jstr($7), jnum(ratio($4, $6)), jstr($8), jstr($9))
    }
    END {
      print "{"
      print "  \"benchmark\": \"genetika-plus\","
      print "  \"format\": 1,"
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
      print "  \"details\": ["
      for (i = 1; i <= nd; i++) printf "    %s%s\n", dt[i], (i < nd ? "," : "")
      print "  ]"
      print "}"
    }' "$dir/machine.tsv" "$dir/settings.tsv" "$dir/stages.tsv" "$dir/details.tsv" "$dir/rows.tsv"
}
