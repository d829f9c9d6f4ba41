#!/usr/bin/env bash
# Reads and durable writes per second of `greenlight serve` on SQLite and on PostgreSQL, with
# PostgreSQL's own pgbench simple-update TPS measured in the same run on the same machine.
# Needs: a release build (cargo build --release -p greenlight), wrk, pgbench, PostgreSQL at
# 127.0.0.1:5432 (user postgres). Usage: bench/service.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-8}"
port=18097
db="gl_bench_$$"
# shellcheck source=bench/lib.sh
source bench/lib.sh

token_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["token"]["token"])'; }

measure() { # backend url
  start "$2"
  lead=$(GREENLIGHT_TOKEN="$admin" "$bin" user add erin --role engineering_lead --json | token_of)
  qa=$(GREENLIGHT_TOKEN="$admin" "$bin" user add quinn --role qa_lead --json | token_of)
  GREENLIGHT_TOKEN="$lead" "$bin" release plan --version 1.4.0 --date "$(date -d 'next thursday + 14 days' +%Y-%m-%d)T14:00" >/dev/null
  GREENLIGHT_TOKEN="$lead" "$bin" release freeze 1.4.0 >/dev/null
  read_line=$(GREENLIGHT_BENCH=read GREENLIGHT_TOKEN="$qa" wrk -t2 -c"$connections" -d"${duration}s" -s bench/load.lua "$GREENLIGHT_SERVER" | grep RESULT)
  write_line=$(GREENLIGHT_BENCH=write GREENLIGHT_TOKEN="$qa" wrk -t2 -c"$connections" -d"${duration}s" -s bench/load.lua "$GREENLIGHT_SERVER" | grep RESULT)
  GREENLIGHT_TOKEN="$admin" "$bin" audit verify >/dev/null || { echo "audit chain broken after $1 writes" >&2; exit 1; }
  revision=$(GREENLIGHT_TOKEN="$qa" "$bin" release show 1.4.0 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["revision"])')
  stop
  echo "| $1 | read: GET release | ${read_line#RESULT } |"
  echo "| $1 | durable write: record gate | ${write_line#RESULT } (release revision after: $revision) |"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(psql -tA "$pg/postgres" -c 'SHOW server_version')"
echo "duration ${duration}s, $connections connections"
echo
echo "| backend | operation | result |"
echo "|---|---|---|"
measure sqlite "sqlite://$work/greenlight.db"
psql -q "$pg/postgres" -c "CREATE DATABASE $db" >/dev/null
measure postgres "$pg/$db"
psql -q "$pg/postgres" -c "CREATE DATABASE ${db}_pgbench" >/dev/null
pgbench -q -i -s 1 "$pg/${db}_pgbench" >/dev/null 2>&1
tps=$(pgbench -b simple-update -c "$connections" -j 2 -T "$duration" "$pg/${db}_pgbench" 2>/dev/null | grep -E '^tps' | head -1)
echo "| postgres | pgbench simple-update (1-row UPDATE + INSERT, committed) | $tps |"
