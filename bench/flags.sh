#!/usr/bin/env bash
# Flag evaluation over HTTP with wrk on loopback, side by side in one run: Greenlight's OFREP
# endpoint, Unleash Edge (offline mode, the same flag: a 50% gradual rollout) and a minimal axum
# handler returning a constant (the ceiling on this machine). First at saturation (throughput),
# then at the same paced load for all three (latency below saturation); then in-process
# evaluation (criterion).
# Usage: bash bench/flags.sh [SECONDS] [CONNECTIONS] [PACE_MS]. Needs wrk and unleash-edge
# (`apt-get install wrk`, `cargo install unleash-edge`).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
connections="${2:-32}"
pace_ms="${3:-4}"
port=18090
db=gl_bench_flags_unused
source bench/lib.sh

command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }
command -v unleash-edge >/dev/null || { echo "unleash-edge not found: cargo install unleash-edge" >&2; exit 1; }
cargo build --release --quiet -p greenlight
cargo build --release --quiet -p greenlight-server --example constant

measure() { # name url script tag
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$3" "$2" >"$work/wrk.txt"
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ { print $2 }' "$work/wrk.txt")
  p50=$(awk '$1 == "50%" { print $2 }' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" { print $2 }' "$work/wrk.txt")
  printf '%-40s %12s %10s %10s\n' "$1" "$rps" "$p50" "$p99"
  echo "$rps" >"$work/$4.rps"
}

# Greenlight: one flag at everyone 50%.
start "sqlite://$work/greenlight.db"
token=$(GREENLIGHT_TOKEN="$admin" "$bin" user add erin --role engineering_lead --json \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"]["token"])')
GREENLIGHT_TOKEN="$token" "$bin" flag create new-rhythm-game --stage 50 >/dev/null
GREENLIGHT_TOKEN="$token" "$bin" flag advance new-rhythm-game >/dev/null

edge_port=18092
unleash-edge --port "$edge_port" offline -b bench/edge-features.json \
  -c "*:development.bench-client-token" -f "*:development.bench-frontend-token" >"$work/edge.log" 2>&1 &
edge=$!
const_port=18091
target/release/examples/constant "$const_port" &
constant=$!
trap 'kill $edge $constant 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 100); do
  curl -fs -H "Authorization: *:development.bench-frontend-token" \
    "http://127.0.0.1:$edge_port/api/frontend/features/new-rhythm-game?userId=student-1" >/dev/null 2>&1 && break
  sleep 0.1
done

edge_version=$(cargo install --list | awk '/^unleash-edge/ { print $2 }' | tr -d 'v:')
each() {
  measure "constant axum handler (ceiling)" "http://127.0.0.1:$const_port/ofrep/v1/evaluate/flags/new-rhythm-game" bench/ofrep.lua constant
  measure "greenlight OFREP single evaluation" "$GREENLIGHT_SERVER/ofrep/v1/evaluate/flags/new-rhythm-game" bench/ofrep.lua greenlight
  measure "unleash-edge $edge_version frontend API" "http://127.0.0.1:$edge_port" bench/edge.lua edge
}

printf '%-40s %12s %10s %10s\n' "wrk -t2 -c$connections -d${seconds}s (loopback)" "requests/s" "p50" "p99"
each
awk -v g="$(cat "$work/greenlight.rps")" -v e="$(cat "$work/edge.rps")" -v c="$(cat "$work/constant.rps")" \
  'BEGIN { printf "greenlight: %.2fx unleash-edge, %.0f%% of the constant handler\n", g / e, 100 * g / c }'

echo
printf '%-40s %12s %10s %10s\n' "paced: each connection every ${pace_ms} ms" "requests/s" "p50" "p99"
WRK_PACE_MS="$pace_ms" each

echo
cargo bench --quiet -p greenlight-core --bench flag_eval -- --noplot 2>/dev/null | grep -E "^flag_eval|time:"
