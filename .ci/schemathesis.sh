#!/usr/bin/env bash
# Bad input: schemathesis fuzzes every operation of /api/v1/openapi.json on a real server (SQLite)
# seeded with a release, and fails on any 5xx or any response the document does not describe.
# The SSE stream is left out: it never ends, so a fuzzer cannot judge its response
# (crates/cli/tests/deployments.rs reads it).
# Usage: .ci/schemathesis.sh [path/to/greenlight]   (default target/debug/greenlight)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/debug/greenlight}"
work="$(mktemp -d)"
port=18089
admin="glt_schemathesis_admin_token_0000"
GREENLIGHT_BOOTSTRAP_TOKEN="$admin" GREENLIGHT_LOG=warn \
  "$bin" serve --bind "127.0.0.1:$port" --database-url "sqlite://$work/greenlight.db" \
  >"$work/serve.out" 2>"$work/serve.err" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.2
done
export GREENLIGHT_SERVER="http://127.0.0.1:$port"
# One user holding every role, so commands get past the permission check and reach the rules.
fuzz=$(GREENLIGHT_TOKEN="$admin" "$bin" user add fuzz --admin --json \
  --role engineering_lead --role qa_lead --role product_owner --role on_call_engineer --role system_admin |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"]["token"])')
GREENLIGHT_TOKEN="$fuzz" "$bin" release plan --version 1.4.0 >/dev/null
GREENLIGHT_TOKEN="$fuzz" "$bin" release freeze 1.4.0 >/dev/null
status=0
schemathesis run "http://127.0.0.1:$port/api/v1/openapi.json" \
  -H "Authorization: Bearer $fuzz" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-40}" --workers 2 --seed 1 \
  --exclude-path '/api/v1/releases/{key}/stream' \
  --phases "${SCHEMATHESIS_PHASES:-examples,fuzzing,stateful}" >"$work/st.out" 2>&1 || status=$?
cp "$work/st.out" "${SCHEMATHESIS_LOG:-/dev/null}"
grep -v "^    *|.*KeyError: ('" "$work/st.out" | tail -40
if [ "$status" -ne 0 ]; then
  # A failed check is ours. A run error may be schemathesis' own: on CPython 3.11 its schema
  # compiler sometimes dies with "AST constructor recursion depth mismatch" (a CPython bug), which
  # says nothing about the API. Anything else fails the build.
  if grep -q "^Failures:" "$work/st.out"; then
    sed -n '/^=* FAILURES =*$/,/^=* WARNINGS =*$/p' "$work/st.out" | head -150 >&2
    echo "schemathesis found responses that break the OpenAPI document (above)" >&2
    exit 1
  fi
  errors=$(grep -c "^Runtime Error" "$work/st.out" || true)
  known=$(grep -c "AST constructor recursion depth mismatch" "$work/st.out" || true)
  if [ "$known" -eq 0 ] || [ "$errors" -gt "$known" ]; then
    echo "schemathesis failed (exit $status)" >&2
    exit 1
  fi
  echo "note: schemathesis hit its known CPython AST error on $errors operation(s); no check failed"
fi
if grep -q "panicked" "$work/serve.err"; then
  echo "the server panicked:" >&2
  cat "$work/serve.err" >&2
  exit 1
fi
