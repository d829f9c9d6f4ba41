#!/usr/bin/env bash
# Bad input: schemathesis fuzzes every operation of /api/v1/openapi.json on a real server seeded
# with a release, once on SQLite and once on PostgreSQL, and fails on any 5xx or any response
# the document does not describe.
# The SSE stream is left out: it never ends, so a fuzzer cannot judge its response
# (crates/cli/tests/deployments.rs reads it).
# Usage: .ci/schemathesis.sh [path/to/greenlight]   (default target/debug/greenlight)
# SCHEMATHESIS_BACKENDS="sqlite postgres" (default) picks the runs; the PostgreSQL run creates a
# throwaway database on GREENLIGHT_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres)
# and drops it after; without a reachable PostgreSQL it is skipped with a message unless
# GREENLIGHT_REQUIRE_POSTGRES=1.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/debug/greenlight}"
admin="glt_schemathesis_admin_token_0000"
pg_admin="${GREENLIGHT_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"

# fuzz BACKEND DATABASE_URL PORT
fuzz() {
  local backend="$1" url="$2" port="$3" work server status
  work="$(mktemp -d)"
  GREENLIGHT_BOOTSTRAP_TOKEN="$admin" GREENLIGHT_LOG=warn \
    "$bin" serve --bind "127.0.0.1:$port" --database-url "$url" \
    >"$work/serve.out" 2>"$work/serve.err" &
  server=$!
  for _ in $(seq 50); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.2
  done
  export GREENLIGHT_SERVER="http://127.0.0.1:$port"
  # One user holding every role, so commands get past the permission check and reach the rules.
  local token
  token=$(GREENLIGHT_TOKEN="$admin" "$bin" user add fuzz --admin --json \
    --role engineering_lead --role qa_lead --role product_owner --role on_call_engineer --role system_admin |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"]["token"])')
  GREENLIGHT_TOKEN="$token" "$bin" release plan --version 1.4.0 >/dev/null
  GREENLIGHT_TOKEN="$token" "$bin" release freeze 1.4.0 >/dev/null
  status=0
  schemathesis run "http://127.0.0.1:$port/api/v1/openapi.json" \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-40}" --workers 2 --seed 1 \
    --exclude-path '/api/v1/releases/{key}/stream' \
    --phases "${SCHEMATHESIS_PHASES:-examples,fuzzing,stateful}" >"$work/st.out" 2>&1 || status=$?
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  if [ -n "${SCHEMATHESIS_LOG:-}" ]; then cp "$work/st.out" "$SCHEMATHESIS_LOG.$backend"; fi
  echo "== schemathesis on $backend"
  grep -v "^    *|.*KeyError: ('" "$work/st.out" | tail -40
  local failed=0
  if [ "$status" -ne 0 ]; then
    # A failed check is ours. A run error may be schemathesis' own: on CPython 3.11 its schema
    # compiler sometimes dies with "AST constructor recursion depth mismatch" (a CPython bug),
    # which says nothing about the API. Anything else fails the build.
    if grep -q "^Failures:" "$work/st.out"; then
      sed -n '/^=* FAILURES =*$/,/^=* WARNINGS =*$/p' "$work/st.out" | head -150 >&2
      echo "schemathesis on $backend found responses that break the OpenAPI document (above)" >&2
      failed=1
    else
      local errors known
      errors=$(grep -c "^Runtime Error" "$work/st.out" || true)
      known=$(grep -c "AST constructor recursion depth mismatch" "$work/st.out" || true)
      if [ "$known" -eq 0 ] || [ "$errors" -gt "$known" ]; then
        echo "schemathesis on $backend failed (exit $status)" >&2
        failed=1
      else
        echo "note: schemathesis hit its known CPython AST error on $errors operation(s); no check failed"
      fi
    fi
  fi
  if grep -q "panicked" "$work/serve.err"; then
    echo "the server on $backend panicked:" >&2
    cat "$work/serve.err" >&2
    failed=1
  fi
  rm -rf "$work"
  return "$failed"
}

result=0
for backend in ${SCHEMATHESIS_BACKENDS:-sqlite postgres}; do
  case "$backend" in
    sqlite)
      dir="$(mktemp -d)"
      fuzz sqlite "sqlite://$dir/greenlight.db" 18089 || result=1
      rm -rf "$dir"
      ;;
    postgres)
      db="gl_schemathesis_$$"
      if ! psql "$pg_admin" -qc "CREATE DATABASE $db" >/dev/null 2>&1; then
        if [ "${GREENLIGHT_REQUIRE_POSTGRES:-}" = 1 ]; then
          echo "PostgreSQL is required but unreachable at $pg_admin" >&2
          exit 1
        fi
        echo "skipped: schemathesis on PostgreSQL (unreachable at $pg_admin)"
        continue
      fi
      fuzz postgres "${pg_admin%/*}/$db" 18090 || result=1
      psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
      ;;
    *)
      echo "unknown backend $backend (sqlite or postgres)" >&2
      exit 2
      ;;
  esac
done
exit "$result"
