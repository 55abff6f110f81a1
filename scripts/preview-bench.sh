#!/usr/bin/env bash
# A writer's latency while ledgers are previewed (docs/BENCHMARKS.md): the service on SQLite holding a committed
# project ledger of ROWS rows; one client records N visits one after another through the API, first alone, then
# while another client previews the same ledger over and over. Prints the writer's median, p99 and max each time.
# Usage: scripts/preview-bench.sh [ROWS] [N]   (defaults 20000 and 300; INVEST_CRM_BIN defaults to target/release/invest-crm)
set -euo pipefail
ROWS=${1:-20000} N=${2:-300}
B=${INVEST_CRM_BIN:-target/release/invest-crm}
PORT=${PORT:-18089}
DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$DIR"' EXIT
export INVEST_CRM_DATA_DIR=$DIR/data INVEST_CRM_LOG=warn INVEST_CRM_JOBS__ENABLED=false
export INVEST_CRM_ADMIN_PASSWORD=preview-bench-password
$B bench ledger --rows "$ROWS" --out "$DIR/ledger.xlsx"
$B import projects "$DIR/ledger.xlsx" --commit > /dev/null
$B serve --listen "127.0.0.1:$PORT" > "$DIR/serve.log" 2>&1 &
base=http://127.0.0.1:$PORT
for _ in $(seq 100); do curl -sf "$base/readyz" > /dev/null && break; sleep 0.2; done
token=$(curl -sf -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$INVEST_CRM_ADMIN_PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
auth="authorization: Bearer $token"
company=$(curl -sf -X POST "$base/api/v1/companies" -H "$auth" -H 'content-type: application/json' \
  -d '{"name":"压测来访企业"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
visit="{\"visit_date\":\"2024-05-06\",\"headcount\":3,\"company_ids\":[$company],\"purpose\":\"考察\"}"

writer() {
  for _ in $(seq "$N"); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -X POST "$base/api/v1/visits" \
      -H "$auth" -H 'content-type: application/json' -d "$visit"
  done | awk '$1 != 201 { bad++ } { print $2 * 1000 } END { if (bad) { print "non-201 answers: " bad > "/dev/stderr"; exit 1 } }' \
    | sort -n | awk '{ t[NR] = $1 } END {
      p99 = t[int(NR * 0.99 + 0.999)]
      printf "visits %d: median %.1f ms  p99 %.1f ms  max %.1f ms\n", NR, t[int((NR + 1) / 2)], p99, t[NR] }'
}

previews() {
  while :; do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "$auth" -F "file=@$DIR/ledger.xlsx" \
      "$base/api/v1/imports/projects" >> "$DIR/previews"
  done
}

echo "writer alone:"
writer
previews &
sleep 1
echo "writer while the ledger is previewed:"
writer
kill %1
awk '{ n++; s += $2 } $1 != 200 { bad++ } END { printf "previews: %d (%d not 200), mean %.2f s each\n", n, bad, s / n }' "$DIR/previews"
