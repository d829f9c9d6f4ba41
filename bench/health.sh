#!/usr/bin/env bash
# Release health: (1) samples ingested per second through POST /api/v1/metrics on loopback, on
# SQLite and PostgreSQL; (2) the time from an automatic rollback trigger's window closing to the
# rollback starting, with the policy's default 10 s evaluation interval.
# Needs: a release build (cargo build --release -p greenlight), wrk, python3, PostgreSQL at
# 127.0.0.1:5432. Usage: bench/health.sh [seconds] [connections] [batch]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-8}"
export GREENLIGHT_BATCH="${3:-500}"
bin=target/release/greenlight
work="$(mktemp -d)"
pg="postgres://postgres@127.0.0.1:5432"
db="gl_bench_health_$$"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
admin="glt_bench_admin_token_000000"
port=18098
export GREENLIGHT_SERVER="http://127.0.0.1:$port"

start() { # database-url [policy]
  GREENLIGHT_BOOTSTRAP_TOKEN="$admin" GREENLIGHT_LOG=warn "$bin" serve --bind "127.0.0.1:$port" \
    --database-url "$1" ${2:+--config "$2"} >"$work/serve.out" 2>"$work/serve.err" &
  server=$!
  for _ in $(seq 100); do curl -fs "$GREENLIGHT_SERVER/healthz" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; cat "$work/serve.err" >&2; exit 1
}
stop() { kill "$server"; wait "$server" 2>/dev/null || true; server=""; }

ingest() { # backend url
  start "$2"
  line=$(GREENLIGHT_TOKEN="$admin" wrk -t2 -c"$connections" -d"${duration}s" -s bench/ingest.lua "$GREENLIGHT_SERVER" | grep RESULT)
  stop
  echo "| $1 | ingest, batches of $GREENLIGHT_BATCH | ${line#RESULT } |"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "duration ${duration}s, $connections connections"
echo
echo "| backend | operation | result |"
echo "|---|---|---|"
ingest sqlite "sqlite://$work/ingest.db"
psql -q "$pg/postgres" -c "CREATE DATABASE $db" >/dev/null
ingest postgres "$pg/$db"

# Trigger to rollback: default evaluation interval (10 s), a 30 s error-rate window.
cat >"$work/policy.toml" <<'TOML'
[rollback.automatic]
enabled = true
error_rate_window_seconds = 30
stale_after_seconds = 30

[runbooks]
rollback = [{ name = "instant_rollback", run = "true" }]
TOML
start "sqlite://$work/trigger.db" "$work/policy.toml"
GREENLIGHT_TOKEN="$admin" python3 bench/trigger_latency.py "$bin" "$GREENLIGHT_SERVER" 30 10
stop
