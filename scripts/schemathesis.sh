#!/usr/bin/env bash
# Fuzzes the whole API from its OpenAPI document with schemathesis (pip install schemathesis), signed in as admin,
# against a service on the demo park in a scratch folder. Usage: scripts/schemathesis.sh [EXAMPLES_PER_OPERATION]
# Builds nothing: run `cargo build` first (or set INVEST_CRM to a binary). Prints schemathesis's summary.
set -euo pipefail
examples="${1:-10}"
bin="${INVEST_CRM:-${CARGO_TARGET_DIR:-target}/debug/invest-crm}"
dir="$(mktemp -d)"
port=18080
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
INVEST_CRM_DATA_DIR="$dir" INVEST_CRM_ADMIN_PASSWORD=admin-password-123 INVEST_CRM_LOG=warn \
  INVEST_CRM_AUTH__SIGN_INS_PER_MINUTE=100000 "$bin" serve --demo --listen "127.0.0.1:$port" >"$dir/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 60); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 1; done
token=$(curl -s -X POST "127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"admin","password":"admin-password-123"}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
# Signing out, changing the password and ending sessions would end the run's own session.
st run "http://127.0.0.1:$port/openapi.json" -u "http://127.0.0.1:$port/api/v1" -H "Authorization: Bearer $token" \
  -n "$examples" --no-shrink --no-color --exclude-path /auth/logout --exclude-path /auth/password \
  --exclude-path-regex '/users/.*' --exclude-path-regex '/auth/sessions/.*'
