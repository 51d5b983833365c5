#!/usr/bin/env bash
# test_readme.sh - the README's option tables are exactly what the programs'
# own option tables say (scripts/readme_options.sh --check).
# brokers: none
. "$(dirname "$0")/lib.sh"
GK_BIN=$GK_BIN "$GK_SOURCE/scripts/readme_options.sh" --check || it_fail "README.md option tables are stale"
it_log "PASS"
