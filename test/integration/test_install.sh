#!/usr/bin/env bash
# test_install.sh - `cmake --install BUILD --prefix DIR` installs exactly the
# user programs into DIR/bin, and nothing else anywhere under DIR; build/bin
# holds exactly them too (test helpers live in build/test-bin). Each
# installed program answers --version with the project's version.
# brokers: none
. "$(dirname "$0")/lib.sh"

USER_PROGRAMS="ack_consumer ack_delay broker datagen db_consumer kafka_admin producer"
[ -n "${GK_BUILD:-}" ] || it_fail "GK_BUILD (the build directory) is not set"

# build/bin: the user programs only.
got=$(cd "$GK_BIN" && find . -maxdepth 1 -type f -perm -u+x | sed 's|^\./||' | sort | tr '\n' ' ')
it_expect "programs in $GK_BIN" "$got" "$USER_PROGRAMS "

cmake --install "$GK_BUILD" --prefix "$WORK/prefix" >"$WORK/install.log" 2>&1 ||
  it_fail "cmake --install failed: $(tail -n 5 "$WORK/install.log")"
got=$(cd "$WORK/prefix" && find . -type f -o -type l | sed 's|^\./||' | sort | tr '\n' ' ')
want=$(for p in $USER_PROGRAMS; do printf 'bin/%s ' "$p"; done)
it_expect "installed files" "$got" "$want"

version=$(sed -n 's/^project(genetika VERSION \([0-9.]*\).*/\1/p' "$GK_SOURCE/CMakeLists.txt")
[ -n "$version" ] || it_fail "no project(VERSION) in CMakeLists.txt"
for p in $USER_PROGRAMS; do
  out=$("$WORK/prefix/bin/$p" --version) || it_fail "$p --version failed"
  [[ "$out" == "$p (Genetika+) $version"* ]] || it_fail "$p --version says '$out', want '$p (Genetika+) $version ...'"
done
it_log "ok: every installed program reports version $version"
it_log "PASS"
