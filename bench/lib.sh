# Shared by the bench scripts: a scratch directory, a throwaway PostgreSQL database, and a
# release-build `greenlight serve` started and stopped on a fixed loopback port.
# Before sourcing, set `port` and `db` (the database name to drop at exit).
bin=target/release/greenlight
work="$(mktemp -d)"
pg="postgres://postgres@127.0.0.1:5432"
server=""
admin="glt_bench_admin_token_000000"
export GREENLIGHT_SERVER="http://127.0.0.1:$port"

cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  for name in "$db" "${db}_pgbench"; do
    psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

start() { # database-url [policy-file]
  GREENLIGHT_BOOTSTRAP_TOKEN="$admin" GREENLIGHT_LOG=warn "$bin" serve --bind "127.0.0.1:$port" \
    --database-url "$1" ${2:+--config "$2"} >"$work/serve.out" 2>"$work/serve.err" &
  server=$!
  for _ in $(seq 100); do curl -fs "$GREENLIGHT_SERVER/healthz" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; cat "$work/serve.err" >&2; exit 1
}

stop() { kill "$server"; wait "$server" 2>/dev/null || true; server=""; }
