#!/usr/bin/env bash
# readme_options.sh - regenerates the option tables in README.md from each
# program's own option table (PROGRAM --help-markdown), so the README cannot
# drift from the code. With --check it only reports whether README.md is up
# to date (exit 1 if not), as the test suite does.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${GK_BIN:-$ROOT/build/bin}
README=$ROOT/README.md
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1

tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.table"' EXIT
cp "$README" "$tmp"
for prog in $(sed -n 's/^<!-- options:\([a-z_]*\) -->$/\1/p' "$README"); do
  [ -x "$BIN/$prog" ] || { echo "readme_options: $BIN/$prog is not built" >&2; exit 2; }
  "$BIN/$prog" --help-markdown >"$tmp.table"
  awk -v prog="$prog" -v table="$tmp.table" '
    $0 == "<!-- options:" prog " -->" { print; while ((getline line < table) > 0) print line; skip = 1; next }
    $0 == "<!-- /options:" prog " -->" { skip = 0 }
    !skip { print }' "$tmp" >"$tmp.new"
  mv "$tmp.new" "$tmp"
done
if [ $CHECK = 1 ]; then
  if ! cmp -s "$tmp" "$README"; then
    echo "README.md option tables are out of date; run ./scripts/readme_options.sh" >&2
    diff "$README" "$tmp" >&2 || true
    exit 1
  fi
  echo "README.md option tables match the programs"
else
  cp "$tmp" "$README"
fi
