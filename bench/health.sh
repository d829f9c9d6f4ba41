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
port=18098
db="gl_bench_health_$$"
# shellcheck source=bench/lib.sh
source bench/lib.sh

ingest() { # backend url
  start "$2"
  # Ingest needs ingest_health_samples: a system administrator's ingest-only token.
  platform=$(GREENLIGHT_TOKEN="$admin" "$bin" user add platform --role system_admin --json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"]["token"])')
  ingest_token=$(GREENLIGHT_TOKEN="$platform" "$bin" token create --name ingest --scope ingest --json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
  line=$(GREENLIGHT_TOKEN="$ingest_token" wrk -t2 -c"$connections" -d"${duration}s" -s bench/ingest.lua "$GREENLIGHT_SERVER" | grep RESULT)
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
