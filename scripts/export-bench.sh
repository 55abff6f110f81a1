#!/usr/bin/env bash
# Streams the visits CSV export over HTTP from a release server and measures first byte, total time and the server's memory.
set -u
B=${INVEST_CRM_BIN:-target/release/invest-crm}; PORT=${PORT:-18099}
# The admin's password: the one the database's first admin was given (set it when the database already has one).
export INVEST_CRM_ADMIN_PASSWORD=${INVEST_CRM_ADMIN_PASSWORD:-bench-password-123}
export INVEST_CRM_LOG=warn INVEST_CRM_JOBS__ENABLED=false
$B serve --listen 127.0.0.1:$PORT > /tmp/expserve.log 2>&1 &
PID=$!
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.2; done
T=$(curl -s -XPOST http://127.0.0.1:$PORT/api/v1/auth/login -H 'content-type: application/json' -d "{\"username\":\"admin\",\"password\":\"$INVEST_CRM_ADMIN_PASSWORD\"}" | python3 -c "import json,sys;print(json.load(sys.stdin)['token'])")
BEFORE=$(awk '/VmRSS/{print $2}' /proc/$PID/status)
curl -s -o /dev/null -H "authorization: Bearer $T" -w "first byte %{time_starttransfer} s, total %{time_total} s, %{size_download} bytes\n" "http://127.0.0.1:$PORT/api/v1/exports/visits?format=csv"
PEAK=$(awk '/VmHWM/{print $2}' /proc/$PID/status)
echo "server RSS before $((BEFORE/1024)) MiB, peak $((PEAK/1024)) MiB, added $(((PEAK-BEFORE)/1024)) MiB"
kill $PID; wait $PID 2>/dev/null
# The floor on PostgreSQL: psql \copy of the same content (every visit with its companies' names, in id order).
if [[ "${DATABASE_URL:-}" == postgres* ]] && command -v psql >/dev/null; then
  T0=$(date +%s.%N)
  psql "$DATABASE_URL" -qXc "\\copy (select v.id, v.visit_date, v.headcount, string_agg(c.name, '、' order by c.id), \
    v.receiving_leaders, v.purpose, v.summary from visits v left join visit_companies vc on vc.visit_id = v.id \
    left join companies c on c.id = vc.company_id group by v.id order by v.id) to '/dev/null' csv"
  echo "floor: psql \\copy of the same content $(echo "$(date +%s.%N) - $T0" | bc) s"
  # And of the rows the export's own query reads (a visit once per company, folded by the export).
  T0=$(date +%s.%N)
  psql "$DATABASE_URL" -qXc "\\copy (select v.id, v.visit_date, v.headcount, v.receiving_leaders, v.purpose, \
    v.summary, c.name from visits v left join visit_companies vc on vc.visit_id = v.id \
    left join companies c on c.id = vc.company_id order by v.id, vc.company_id) to '/dev/null' csv"
  echo "floor: psql \\copy of the export query's rows $(echo "$(date +%s.%N) - $T0" | bc) s"
fi
