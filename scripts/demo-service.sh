# Sourced by the scripts that run a check against a running service on the demo park (schemathesis.sh,
# clients.sh): the binary, a scratch folder, the service started and stopped, and the check run on SQLite and on a
# scratch PostgreSQL database when TEST_DATABASE_URL points at a server (created and dropped here).
#
# The sourcing script sets `port` and defines its check as a function taking (base URL, admin token, name, folder).

bin="${INVEST_CRM:-${CARGO_TARGET_DIR:-target}/debug/invest-crm}"
scratch="$(mktemp -d)"
pid=""
pg_db=""

cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "$pg_db" ]; then psql -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS \"$pg_db\"" >/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# Runs check $2 against a service on the database at $1 (empty: the SQLite default in a scratch folder), named $3.
# Fails when the check fails or the service logged a panic.
against() {
  local url="$1" check="$2" name="$3" dir="$scratch/$3"
  mkdir -p "$dir"
  local db=()
  if [ -n "$url" ]; then db=(--database-url "$url"); fi
  INVEST_CRM_DATA_DIR="$dir" INVEST_CRM_ADMIN_PASSWORD=admin-password-123 INVEST_CRM_LOG=warn \
    INVEST_CRM_AUTH__SIGN_INS_PER_MINUTE=100000 "$bin" serve --demo "${db[@]}" --listen "127.0.0.1:$port" >"$dir/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 60); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 1; done
  local token
  token=$(curl -s -X POST "127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"username":"admin","password":"admin-password-123"}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
  local status=0
  "$check" "http://127.0.0.1:$port" "$token" "$name" "$dir" || status=$?
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

# Runs check $1 on SQLite, then on a scratch PostgreSQL database when TEST_DATABASE_URL is set.
on_each_database() {
  against "" "$1" sqlite
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    pg_db="check_$$"
    psql -q "$TEST_DATABASE_URL" -c "CREATE DATABASE \"$pg_db\"" >/dev/null
    against "${TEST_DATABASE_URL%/*}/$pg_db" "$1" postgresql
  fi
}
