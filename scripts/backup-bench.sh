#!/usr/bin/env bash
# Backup against the tools it stands on (docs/BENCHMARKS.md, "Backup"): `invest-crm backup --to DIR` against
# `sqlite3 DB .backup` and `pg_dump --format=custom` run directly on the same database, RUNS times each (median,
# min–max, size); then the service under the mixed load (scripts/load-bench.py, CLIENTS clients, default 2) with a
# backup every few seconds: the p99 of the requests in flight during a backup. By default each client sends its next
# request as soon as the last is answered, which keeps both cores busy (the clients run on them too); RATE=R sends R
# requests a second in all instead (an office at work), latency counted from when each was due.
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
clients="${CLIENTS:-2}"
rate=()
[ -z "${RATE:-}" ] || rate=(--rate "$RATE")
work=$(mktemp -d /tmp/backup-bench.XXXXXX)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT
# The load client signs in 17 users per run, two runs a minute: above the default sign-in limit per address.
export INVEST_CRM_LOG=warn INVEST_CRM_JOBS__ENABLED=false INVEST_CRM_AUTH__SIGN_INS_PER_MINUTE=1000

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

# The service under the mixed load for 20 s, first alone, then with a backup every 4 s (each taken by the
# command line on the same database, as a cron job or the scheduled job would); the p99 of the requests that were in
# flight during a backup, against the p99 without backups.
load_during() {
  local url="$1" name="$2" port=18096
  local pw=bench-admin-password-1
  printf '%s\n' "$pw" | DATABASE_URL="$url" "$bin" user add benchadmin --role admin >/dev/null 2>&1 ||
    printf '%s\n' "$pw" | DATABASE_URL="$url" "$bin" user reset-password benchadmin >/dev/null
  DATABASE_URL="$url" "$bin" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
  local serve=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
  local client=(python3 scripts/load-bench.py "http://127.0.0.1:$port" "$pw" --admin benchadmin --clients "$clients"
    --seconds 20 "${rate[@]}")
  "${client[@]}" --json "$work/quiet.json" --samples "$work/quiet-samples.json" >/dev/null
  "${client[@]}" --json "$work/busy.json" --samples "$work/busy-samples.json" >/dev/null &
  local load=$!
  : >"$work/windows"
  sleep 4
  while kill -0 "$load" 2>/dev/null; do
    local t0 t1
    t0=$(date +%s.%N)
    rm -rf "$work/during"
    DATABASE_URL="$url" "$bin" backup --to "$work/during" >/dev/null
    t1=$(date +%s.%N)
    echo "$t0 $t1" >>"$work/windows"
    sleep 3
  done
  wait "$load"
  kill "$serve"; wait "$serve" 2>/dev/null || true
  python3 - "$work" "$name" "$clients" "${RATE:-}" <<'PY'
import json, sys
work, name, clients, rate = sys.argv[1:5]
rate = f" at {rate} requests/s" if rate else ", each as fast as it is answered"
def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.99))] if xs else float("nan")
quiet = [l for _, l in json.load(open(f"{work}/quiet-samples.json"))]
busy = json.load(open(f"{work}/busy-samples.json"))
windows = [tuple(map(float, l.split())) for l in open(f"{work}/windows")]
during = [l for t, l in busy if any(t < b and t + l / 1000 > a for a, b in windows)]
took = sorted(b - a for a, b in windows)
print(f"{name}: mixed load, {clients} clients{rate}: alone p99 {p99(quiet):.1f} ms ({len(quiet)} requests); "
      f"{len(windows)} backups of {took[len(took) // 2]:.2f} s (median) while it ran: requests in flight during "
      f"one {len(during)}, p99 {p99(during):.1f} ms, max {max(during, default=float('nan')):.1f} ms; "
      f"errors {len(json.load(open(f'{work}/busy.json'))['errors'])}")
PY
}

if [ "$sqlite_file" != - ]; then
  url="sqlite://$sqlite_file?mode=rwc"
  timed "sqlite3 .backup" sqlite3 "$sqlite_file" ".backup $work/out/copy.db"
  timed "invest-crm backup (SQLite)" env DATABASE_URL="$url" "$bin" backup --to "$work/out"
  [ "${LOAD:-1}" = 0 ] || load_during "$url" SQLite
fi
if [ "$pg_url" != - ]; then
  timed "pg_dump --format=custom" pg_dump --format=custom --file "$work/out/dump.pgdump" "$pg_url"
  timed "invest-crm backup (PostgreSQL)" env DATABASE_URL="$pg_url" "$bin" backup --to "$work/out"
  [ "${LOAD:-1}" = 0 ] || load_during "$pg_url" PostgreSQL
fi
