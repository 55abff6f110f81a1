#!/usr/bin/env bash
# Backup against the tools it stands on (docs/BENCHMARKS.md, "Backup"): `invest-crm backup --to DIR` against
# `sqlite3 DB .backup` and `pg_dump --format=custom` run directly on the same database, RUNS times each (median,
# min–max, size); then the service under the mixed load (scripts/load-bench.py, 16 clients) while backups run
# back to back, its p99 against the same load without them.
#
#   INVEST_CRM=target/release/invest-crm scripts/backup-bench.sh SQLITE_FILE POSTGRES_URL [RUNS]
#
# Both databases hold the 100k bench park (`invest-crm bench generate --projects 100000 --visits 1000000
# --blockers 200000 --candidates 20000`); either may be `-` to skip it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${INVEST_CRM:-target/release/invest-crm}"
sqlite_file="$1"
pg_url="$2"
runs="${3:-3}"
work=$(mktemp -d /tmp/backup-bench.XXXXXX)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT
export INVEST_CRM_LOG=warn INVEST_CRM_JOBS__ENABLED=false

# Runs a command RUNS times; prints the median and range of the wall times in seconds.
timed() {
  local label="$1"; shift
  local times=()
  for _ in $(seq 1 "$runs"); do
    rm -rf "$work/out"; mkdir -p "$work/out"
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc)")
  done
  local size
  size=$(du -cb "$work"/out/* | tail -n 1 | cut -f1)
  printf '%-34s %s   size %s bytes\n' "$label" "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median %.2f s (%.2f–%.2f)", a[int((NR+1)/2)], a[1], a[NR]}')" "$size"
}

load_during() {
  local url="$1" name="$2" port=18096
  local pw=bench-admin-password-1
  printf '%s\n' "$pw" | DATABASE_URL="$url" "$bin" user add benchadmin --role admin >/dev/null 2>&1 ||
    printf '%s\n' "$pw" | DATABASE_URL="$url" "$bin" user reset-password benchadmin >/dev/null
  DATABASE_URL="$url" "$bin" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
  local serve=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
  python3 scripts/load-bench.py "http://127.0.0.1:$port" "$pw" --admin benchadmin --seconds 20 --json "$work/quiet.json" >/dev/null
  python3 scripts/load-bench.py "http://127.0.0.1:$port" "$pw" --admin benchadmin --seconds 20 --json "$work/busy.json" >/dev/null &
  local client=$!
  local n=0
  while kill -0 "$client" 2>/dev/null; do
    rm -rf "$work/during"
    DATABASE_URL="$url" "$bin" backup --to "$work/during" >/dev/null
    n=$((n + 1))
  done
  wait "$client"
  kill "$serve"; wait "$serve" 2>/dev/null || true
  python3 - "$work/quiet.json" "$work/busy.json" "$name" "$n" <<'PY'
import json, sys
q, b = (json.load(open(p)) for p in sys.argv[1:3])
print(f"{sys.argv[3]}: mixed load, 16 clients, 20 s: without backups {q['throughput_per_s']:.0f} req/s p99 "
      f"{q['p99_ms']:.1f} ms; with {sys.argv[4]} backups back to back {b['throughput_per_s']:.0f} req/s "
      f"p99 {b['p99_ms']:.1f} ms (read p99 {b['kinds']['read']['p99_ms']:.1f} ms), errors {len(b['errors'])}")
PY
}

if [ "$sqlite_file" != - ]; then
  url="sqlite://$sqlite_file?mode=rwc"
  timed "sqlite3 .backup" sqlite3 "$sqlite_file" ".backup $work/out/copy.db"
  timed "invest-crm backup (SQLite)" env DATABASE_URL="$url" "$bin" backup --to "$work/out"
  load_during "$url" SQLite
fi
if [ "$pg_url" != - ]; then
  timed "pg_dump --format=custom" pg_dump --format=custom --file "$work/out/dump.pgdump" "$pg_url"
  timed "invest-crm backup (PostgreSQL)" env DATABASE_URL="$pg_url" "$bin" backup --to "$work/out"
  load_during "$pg_url" PostgreSQL
fi
