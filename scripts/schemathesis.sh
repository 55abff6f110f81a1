#!/usr/bin/env bash
# Fuzzes the whole API from its OpenAPI document with schemathesis (pip install schemathesis), signed in as admin,
# against a service on the demo park: on SQLite in a scratch folder, and on a scratch PostgreSQL database too when
# TEST_DATABASE_URL points at a server (created and dropped here).
#
# Usage: scripts/schemathesis.sh [EXAMPLES_PER_OPERATION]   (default 10; CI runs 10, longer runs take e.g. 200)
# Builds nothing: run `cargo build` first (or set INVEST_CRM to a binary). Exits non-zero on any finding.
#
# Checks: every schemathesis check but `positive_data_acceptance`: server errors, response schemas, status codes,
# content types, headers, rejection of schema-invalid input, and (as errors) dropped connections. Acceptance of
# every schema-valid request cannot hold: OpenAPI cannot state the rules that span fields or need the database (an
# end date after the start, a credit code's check digit, dates within 1990 and next year, a record that exists).
set -euo pipefail
examples="${1:-10}"
bin="${INVEST_CRM:-${CARGO_TARGET_DIR:-target}/debug/invest-crm}"
port=18080
scratch="$(mktemp -d)"
pid=""
pg_db=""

cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "$pg_db" ]; then psql -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS \"$pg_db\"" >/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# Fuzzes one service on the database at $1 (empty: the SQLite default in a scratch folder).
fuzz() {
  local url="$1" name="$2" dir="$scratch/$2"
  mkdir -p "$dir"
  echo "== schemathesis on $name, $examples examples per operation"
  local db=()
  if [ -n "$url" ]; then db=(--database-url "$url"); fi
  INVEST_CRM_DATA_DIR="$dir" INVEST_CRM_ADMIN_PASSWORD=admin-password-123 INVEST_CRM_LOG=warn \
    INVEST_CRM_AUTH__SIGN_INS_PER_MINUTE=100000 "$bin" serve --demo "${db[@]}" --listen "127.0.0.1:$port" >"$dir/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 60); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 1; done
  local token
  token=$(curl -s -X POST "127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"username":"admin","password":"admin-password-123"}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
  # Signing out, changing the password and ending sessions or users would end the run's own session. (The stateful
  # phase may still follow a link into /users/{id}; when it disables the admin, the operations after it only see 401,
  # which schemathesis reports as a warning, not a failure.)
  local status=0
  st run "http://127.0.0.1:$port/openapi.json" -u "http://127.0.0.1:$port/api/v1" -H "Authorization: Bearer $token" \
    -n "$examples" --no-shrink --no-color --exclude-checks positive_data_acceptance \
    --exclude-path /auth/logout --exclude-path /auth/password \
    --exclude-path-regex '/users/.*' --exclude-path-regex '/auth/sessions/.*' || status=$?
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
  if grep -q "panic" "$dir/serve.log"; then
    echo "the service logged a panic on $name:"
    grep "panic" "$dir/serve.log" | head -n 5
    status=1
  fi
  return "$status"
}

fuzz "" sqlite
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  pg_db="fuzz_$$"
  psql -q "$TEST_DATABASE_URL" -c "CREATE DATABASE \"$pg_db\"" >/dev/null
  fuzz "${TEST_DATABASE_URL%/*}/$pg_db" postgresql
fi
