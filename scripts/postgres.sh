#!/usr/bin/env bash
# postgres.sh - a private PostgreSQL server (Debian's postgresql package) on
# 127.0.0.1, for db_consumer --db postgresql://... in local runs, tests and
# the benchmark; no Docker.
#
#   postgres.sh start [options]   prints the connection URI as its first line
#   postgres.sh stop [options]    clean stop (fast shutdown), bounded
#   postgres.sh status [options]  the URI and pid, exit 3 if not running
#
# Everything of one server lives in its data directory: the cluster (initdb,
# once), its settings (a free port picked at the first start and kept, so
# that clients reconnect after a restart), a unix socket, the server log and
# the password. The password is generated at the first start and never
# printed: it is in DIR/pgpass (mode 0600), which the URI names with libpq's
# passfile parameter, so the URI itself holds no secret. The server refuses
# to run as root: as root, it runs as the system user "postgres" (created by
# Debian's package) or, without one, a system user "genetika-pg" created once.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  cat <<USAGE
Usage: ./scripts/postgres.sh start|stop|status [options]

Runs one private PostgreSQL server on 127.0.0.1 (Debian: apt-get install postgresql).

start options:
  --data DIR          the server's directory: cluster, settings, socket, log,
                      password; a later start on the same DIR keeps the data and
                      the port [GK_POSTGRES_DATA] (default: out/postgres)
  --fresh             empty DIR first: a new cluster with a new port and password
  --user NAME         the database role db_consumer connects as, owner of the
                      database (default: genetika)
  --database NAME     the database created for it (default: genetika)
  --password-file F   take the role's password from F instead of generating one
  --stop-with PID     stop the server when process PID ends (for scripts and
                      tests: no server outlives them)
  --timeout SECONDS   give up if not ready by then (default 60)
stop options:
  --data DIR          as above
  --mode MODE         fast (default: roll back open transactions, close
                      connections, checkpoint) or immediate (like a crash)
  --timeout SECONDS   then immediate; give up after twice this long (default 30)
status options:
  --data DIR          as above

The URI looks like postgresql://genetika@127.0.0.1:PORT/genetika?passfile=DIR/pgpass.
Environment: GK_POSTGRES_BIN, the server's programs (default: the newest
/usr/lib/postgresql/*/bin, else PATH).
Exit status: 0 done; 1 a start or stop that failed (one line on stderr says
why); 3 status: not running; 64 usage.
USAGE
}

say() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { printf 'postgres.sh: error: %s\n' "$*" >&2; exit 1; }
usage_error() { printf 'postgres.sh: %s (try --help)\n' "$*" >&2; exit 64; }

[ $# -ge 1 ] || usage_error "no command: start, stop or status"
CMD=$1
shift
case "$CMD" in
  start|stop|status) ;;
  -h|--help) usage; exit 0 ;;
  *) usage_error "unknown command '$CMD'" ;;
esac

DATA=${GK_POSTGRES_DATA:-$ROOT/out/postgres}
FRESH=0
ROLE=genetika
DBNAME=genetika
PWFILE=""
STOP_WITH=""
TIMEOUT=""
MODE=fast
while [ $# -gt 0 ]; do
  opt=$1
  case "$opt" in
    -h|--help) usage; exit 0 ;;
    --fresh) FRESH=1; shift; continue ;;
  esac
  [ $# -ge 2 ] || usage_error "$opt needs a value"
  case "$opt" in
    --data) DATA=$2 ;;
    --user) ROLE=$2 ;;
    --database) DBNAME=$2 ;;
    --password-file) PWFILE=$2 ;;
    --stop-with) STOP_WITH=$2 ;;
    --timeout) TIMEOUT=$2 ;;
    --mode) MODE=$2 ;;
    *) usage_error "unknown option '$opt'" ;;
  esac
  shift 2
done
[[ $ROLE =~ ^[a-z_][a-z0-9_]*$ ]] || usage_error "--user: expected a lower-case SQL name, got '$ROLE'"
[[ $DBNAME =~ ^[a-z_][a-z0-9_]*$ ]] || usage_error "--database: expected a lower-case SQL name, got '$DBNAME'"
[ -z "$TIMEOUT" ] || [[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || usage_error "--timeout: expected seconds, got '$TIMEOUT'"
[ -z "$STOP_WITH" ] || [[ $STOP_WITH =~ ^[1-9][0-9]*$ ]] || usage_error "--stop-with: expected a pid, got '$STOP_WITH'"
case "$MODE" in fast|immediate) ;; *) usage_error "--mode: expected fast or immediate, got '$MODE'" ;; esac
[ -z "$PWFILE" ] || [ -r "$PWFILE" ] || usage_error "--password-file: cannot read $PWFILE"

if [ "$CMD" = start ]; then
  mkdir -p "$DATA" 2>/dev/null || die "cannot create the data directory $DATA"
elif [ ! -d "$DATA" ]; then
  say "no server running in $DATA (no such directory)"
  [ "$CMD" = status ] && exit 3
  exit 0
fi
DATA=$(cd "$DATA" && pwd)
CLUSTER=$DATA/cluster
SOCKDIR=$DATA/run
PASSFILE=$DATA/pgpass
SETTINGS=$DATA/settings # port, role, database of the first start

# The server's programs: GK_POSTGRES_BIN, else the newest Debian server
# (postgresql-NN puts them outside PATH), else PATH.
find_bin() {
  local d
  if [ -n "${GK_POSTGRES_BIN:-}" ]; then echo "$GK_POSTGRES_BIN"; return; fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  d=$(command -v initdb 2>/dev/null) && { dirname "$d"; return; }
  echo ""
}
BIN=$(find_bin)
[ -n "$BIN" ] && [ -x "$BIN/pg_ctl" ] ||
  die "no PostgreSQL server programs (initdb, pg_ctl) found (Debian: apt-get install postgresql; or set GK_POSTGRES_BIN)"

# The OS user the server runs as: ourselves, unless we are root.
os_user() {
  if [ "$(id -u)" -ne 0 ]; then id -un; return; fi
  if [ -f "$DATA/os-user" ]; then cat "$DATA/os-user"; return; fi
  if id postgres >/dev/null 2>&1; then echo postgres; return; fi
  if ! id genetika-pg >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin genetika-pg ||
      die "cannot create the system user genetika-pg to run the server (the server refuses root)"
  fi
  echo genetika-pg
}
OSUSER=$(os_user)
# as_server CMD...: CMD as the server's OS user.
as_server() {
  if [ "$(id -u)" -eq 0 ] && [ "$OSUSER" != root ]; then
    runuser -u "$OSUSER" -- "$@"
  else
    "$@"
  fi
}

setting() { sed -n "s/^$1=//p" "$SETTINGS" 2>/dev/null | tail -n 1; }

# server_pid: the postmaster's pid if it runs on CLUSTER, else nothing.
server_pid() {
  local pid
  pid=$(head -n 1 "$CLUSTER/postmaster.pid" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || [ -d "/proc/$pid" ] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$CLUSTER" && echo "$pid"
  return 0
}

# uri: the connection URI (no password: the passfile parameter names the file).
uri_encode() {
  local s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case "$c" in [A-Za-z0-9/._~-]) out+=$c ;; *) out+=$(printf '%%%02X' "'$c") ;; esac
  done
  echo "$out"
}
uri() {
  echo "postgresql://$(setting role)@127.0.0.1:$(setting port)/$(setting database)?passfile=$(uri_encode "$PASSFILE")"
}

if [ "$CMD" = status ]; then
  pid=$(server_pid)
  [ -n "$pid" ] || { say "no server running in $DATA"; exit 3; }
  uri
  echo "pid=$pid data=$DATA"
  exit 0
fi

# stop_server MODE SECONDS: pg_ctl stop; returns non-zero if it did not stop.
stop_server() {
  as_server "$BIN/pg_ctl" stop -D "$CLUSTER" -m "$1" -w -t "$2" >>"$DATA/pg_ctl.log" 2>&1
}

if [ "$CMD" = stop ]; then
  pid=$(server_pid)
  [ -n "$pid" ] || { say "no server running in $DATA"; exit 0; }
  t=${TIMEOUT:-30}
  if ! stop_server "$MODE" "$t"; then
    say "the server (pid $pid) did not stop within ${t}s ($MODE): immediate shutdown"
    stop_server immediate "$t" || die "the server (pid $pid) does not stop (see $DATA/server.log)"
  fi
  say "stopped the server of $DATA (pid $pid)"
  exit 0
fi

# --- start ---------------------------------------------------------------------

TIMEOUT=${TIMEOUT:-60}
pid=$(server_pid)
[ -z "$pid" ] || die "a server already runs on $DATA (pid $pid, $(uri)): stop it first (postgres.sh stop --data $DATA)"

# free_port: a port nobody listens on, below the range the kernel hands out
# to outgoing connections (so none can take it before the server binds it).
free_port() {
  local lo hi port used tries=0
  used=" $(awk 'FNR > 1 { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
    while read -r h; do printf '%d ' "$((16#$h))"; done)"
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
  [ "$lo" -gt 21000 ] || lo=61000 hi=65000
  while :; do
    if [ "$lo" = 61000 ]; then port=$((61000 + RANDOM % 4000)); else port=$((20000 + RANDOM % (lo - 20000))); fi
    case "$used" in *" $port "*) ;; *) echo "$port"; return 0 ;; esac
    tries=$((tries + 1))
    [ $tries -lt 1000 ] || die "no free port found"
  done
}

if [ "$FRESH" = 1 ]; then
  [ -z "$(server_pid)" ] || die "a server runs on $DATA: stop it before --fresh"
  rm -rf "$CLUSTER" "$SOCKDIR" "$PASSFILE" "$SETTINGS" "$DATA/os-user" "$DATA/server.log" "$DATA/pg_ctl.log"
fi

# The server's user must reach its directory: every parent must let it pass.
if [ "$(id -u)" -eq 0 ] && [ "$OSUSER" != root ]; then
  chown "$OSUSER" "$DATA" 2>/dev/null || true
  runuser -u "$OSUSER" -- test -x "$DATA" ||
    die "the server runs as '$OSUSER' (PostgreSQL refuses root), which cannot reach $DATA: use a --data directory whose parents every user may traverse (e.g. under /tmp), or chmod o+x its parents"
fi

FIRST=0
if [ ! -f "$CLUSTER/PG_VERSION" ]; then
  FIRST=1
  [ "$(id -u)" -ne 0 ] || echo "$OSUSER" >"$DATA/os-user"
  rm -rf "$CLUSTER"
  mkdir -p "$CLUSTER" "$SOCKDIR"
  chmod 700 "$CLUSTER"
  [ "$(id -u)" -ne 0 ] || chown "$OSUSER" "$CLUSTER" "$SOCKDIR"
  # The password: given, or 24 random characters; never printed.
  umask 077
  if [ -n "$PWFILE" ]; then
    password=$(head -n 1 "$PWFILE")
    [ -n "$password" ] || die "--password-file $PWFILE: empty first line"
  else
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')
  fi
  printf '%s\n' "$password" >"$DATA/initdb.pw"
  [ "$(id -u)" -ne 0 ] || chown "$OSUSER" "$DATA/initdb.pw"
  # Every connection, socket or TCP, authenticates with the password
  # (scram-sha-256): the password handling of db_consumer is what a real
  # deployment sees. UTF8 and the C collation: a known, fixed behaviour.
  as_server "$BIN/initdb" -D "$CLUSTER" -U "$ROLE" --pwfile="$DATA/initdb.pw" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C >"$DATA/initdb.log" 2>&1 ||
    { rm -f "$DATA/initdb.pw"; die "initdb failed: $(tail -n 1 "$DATA/initdb.log") (log: $DATA/initdb.log)"; }
  rm -f "$DATA/initdb.pw"
  # pgpass: any host, this port, any database, the role. libpq ignores a
  # passfile that group or others can read, hence umask 077.
  port=$(free_port)
  pw_escaped=$(printf '%s' "$password" | sed 's/[\\:]/\\&/g')
  printf '*:%s:*:%s:%s\n' "$port" "$ROLE" "$pw_escaped" >"$PASSFILE"
  unset password pw_escaped
  umask 022
  cat >>"$CLUSTER/postgresql.conf" <<CONF

# --- scripts/postgres.sh: a private server on 127.0.0.1 ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$SOCKDIR'
max_connections = 60
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
CONF
  printf 'port=%s\nrole=%s\ndatabase=%s\n' "$port" "$ROLE" "$DBNAME" >"$SETTINGS"
fi
PORT=$(setting port)
[ -n "$PORT" ] || die "$SETTINGS has no port: start with --fresh for a new cluster"

# port_in_use PORT: whether a socket listens on PORT.
port_in_use() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v h=":$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
! port_in_use "$PORT" || die "port $PORT of $DATA is taken by another process: stop it, or start with --fresh for a new port"

# setsid: its own session, so that a Ctrl-C meant for the caller does not
# stop it uncleanly; stop (or --stop-with) ends it.
if ! as_server setsid "$BIN/pg_ctl" start -D "$CLUSTER" -l "$DATA/server.log" -w -t "$TIMEOUT" \
  >>"$DATA/pg_ctl.log" 2>&1 </dev/null; then
  why=$(grep -E 'FATAL|PANIC|ERROR' "$DATA/server.log" 2>/dev/null | tail -n 1)
  die "the server did not start: ${why:-$(tail -n 1 "$DATA/pg_ctl.log")} (log: $DATA/server.log)"
fi
pid=$(server_pid)
if [ -n "$STOP_WITH" ]; then
  # A watcher stops the server once the caller is gone, whichever way it went.
  setsid bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
    kill -0 "$2" 2>/dev/null && exec "$3" stop --data "$4"' watcher "$STOP_WITH" "$pid" \
    "$ROOT/scripts/postgres.sh" "$DATA" </dev/null >/dev/null 2>&1 &
fi

# The database, once (the role exists since initdb made it the superuser).
export PGPASSFILE=$PASSFILE
if [ $FIRST = 1 ]; then
  psql -X -q -h "$SOCKDIR" -p "$PORT" -U "$ROLE" -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE \"$DBNAME\" OWNER \"$ROLE\"" >>"$DATA/pg_ctl.log" 2>&1 ||
    die "cannot create the database $DBNAME: $(tail -n 1 "$DATA/pg_ctl.log")"
fi
uri
say "PostgreSQL $("$BIN/postgres" --version | sed -n "s/^postgres (PostgreSQL) \([^ ]*\).*/\1/p") at 127.0.0.1:$PORT (pid $pid, runs as $OSUSER, data $DATA; password in $PASSFILE)"
