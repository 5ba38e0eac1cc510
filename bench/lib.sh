# Shared by the benchmark scripts: builds tsmigrate, starts a source and a target server with
# the servers module (stopped on exit, also on failure or Ctrl-C), and helpers to time commands.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
TSMIGRATE="$ROOT/bin/tsmigrate"
JAR="$ROOT/cli/target/tsmigrate.jar"

"$TSMIGRATE" --version >/dev/null   # builds the jar when it is missing or stale

# start_servers [JAVA_OPTION...]: for example -Dtsmigrate.servers.durable=true for fsync'd commits.
start_servers() {
  coproc SERVERS { exec java "$@" -cp "$JAR" io.tsmigrate.servers.ServersMain; }
  SERVERS_IN=${SERVERS[1]}
  local line
  while IFS= read -r line <&"${SERVERS[0]}"; do
    case "$line" in
      READY) break ;;
      *=*) export "${line?}" ;;
    esac
  done
  [ -n "${SOURCE_ADMIN:-}" ] || { echo "bench: the servers did not start" >&2; exit 1; }
  trap stop_servers EXIT
}

stop_servers() {
  if [ -n "${SERVERS_PID:-}" ]; then
    exec {SERVERS_IN}>&-
    wait "$SERVERS_PID" 2>/dev/null || true
    SERVERS_PID=
  fi
}

# db_uri ADMIN_URI DB: the same login to another database.
db_uri() { printf '%s' "${1%/*}/$2"; }

# now: seconds since the epoch with nanoseconds.
now() { date +%s.%N; }

# elapsed START: seconds since START, with 2 decimals.
elapsed() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.2f", e - s }'; }

# ratio A B: A / B with 2 decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
