#!/usr/bin/env bash
# test_install.sh - `cmake --install BUILD --prefix DIR` installs exactly the
# user programs into DIR/bin, and nothing else anywhere under DIR; build/bin
# holds exactly them too (test helpers live in build/test-bin). Each
# installed program answers --version with the project's version.
# brokers: none
. "$(dirname "$0")/lib.sh"

USER_PROGRAMS="ack_consumer ack_delay broker console datagen db_consumer kafka_admin producer"
# The console's page, served from files (console --www; by default the installed ones).
WWW_FILES="console.css console.js index.html"
[ -n "${GK_BUILD:-}" ] || it_fail "GK_BUILD (the build directory) is not set"

# build/bin: the user programs only.
got=$(cd "$GK_BIN" && find . -maxdepth 1 -type f -perm -u+x | sed 's|^\./||' | sort | tr '\n' ' ')
it_expect "programs in $GK_BIN" "$got" "$USER_PROGRAMS "

cmake --install "$GK_BUILD" --prefix "$WORK/prefix" >"$WORK/install.log" 2>&1 ||
  it_fail "cmake --install failed: $(tail -n 5 "$WORK/install.log")"
got=$(cd "$WORK/prefix" && find . -type f -o -type l | sed 's|^\./||' | sort | tr '\n' ' ')
want=$(for p in $USER_PROGRAMS; do printf 'bin/%s ' "$p"; done
  for f in $WWW_FILES; do printf 'share/genetika/console/www/%s ' "$f"; done)
it_expect "installed files" "$got" "$want"

version=$(sed -n 's/^project(genetika VERSION \([0-9.]*\).*/\1/p' "$GK_SOURCE/CMakeLists.txt")
[ -n "$version" ] || it_fail "no project(VERSION) in CMakeLists.txt"
for p in $USER_PROGRAMS; do
  out=$("$WORK/prefix/bin/$p" --version) || it_fail "$p --version failed"
  [[ "$out" == "$p (Genetika+) $version"* ]] || it_fail "$p --version says '$out', want '$p (Genetika+) $version ...'"
done
it_log "ok: every installed program reports version $version"

# The installed console serves the installed page, and stops on SIGTERM at
# once even with no cluster to talk to.
"$WORK/prefix/bin/console" --addr 127.0.0.1:0 --bootstrap 127.0.0.1:1 --db "" 2>"$WORK/console.log" &
pid=$!
GK_PIDS+=("$pid")
url=""
for _ in $(seq 100); do
  url=$(sed -n 's/.*serving \(http:[^ ]*\).*/\1/p' "$WORK/console.log" | head -n 1)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || it_fail "the installed console did not start: $(cat "$WORK/console.log")"
grep -q "page files from $WORK/prefix/bin/../share/genetika/console/www" "$WORK/console.log" ||
  it_fail "the installed console does not use the installed page: $(head -n 1 "$WORK/console.log")"
curl -sf -m 5 "$url" -o "$WORK/index.html" || it_fail "GET $url failed"
cmp -s "$WORK/index.html" "$GK_SOURCE/console/www/index.html" || it_fail "GET $url is not console/www/index.html"
kill -TERM "$pid"
it_wait_exit "$pid" 10
it_expect "console exit status after SIGTERM" "$IT_RC" 0
it_log "ok: the installed console serves the installed page and stops on SIGTERM"
it_log "PASS"
