#!/usr/bin/env bash
# Times API requests against a running service, signed in with a bearer token: median and min–max of N requests each,
# after one warm-up request. The default paths are the project-list filters of the speed goals (docs/BENCHMARKS.md).
# Usage: scripts/api-bench.sh BASE_URL USER PASSWORD [N] [PATH ...]   (default N 20)
set -euo pipefail
base="$1" user="$2" pass="$3" n="${4:-20}"
shift 3; [ $# -gt 0 ] && shift
token=$(curl -sf -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"$user\",\"password\":\"$pass\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
paths=("$@")
[ ${#paths[@]} -eq 0 ] && paths=(
  '/api/v1/projects'
  '/api/v1/projects?reached_from=2024-01-01&reached_to=2024-12-31'
  '/api/v1/projects?reached=signed&reached_from=2024-01-01&reached_to=2024-03-31'
  '/api/v1/projects?reached=producing&reached_from=2024-07-01&reached_to=2024-07-31&stage=producing'
  '/api/v1/projects?q=%E9%A1%B9%E7%9B%AE01234'
  '/api/v1/projects?q=77'
  '/api/v1/projects?stage=signed&industry=%E6%96%B0%E8%83%BD%E6%BA%90'
  '/api/v1/projects?page=4000'
  '/api/v1/companies?q=%E4%BC%81%E4%B8%9A00012'
)
for p in "${paths[@]}"; do
  curl -sf -H "authorization: Bearer $token" -o /dev/null "$base$p"  # warm up, and fail on an error answer
  for _ in $(seq "$n"); do
    curl -s -H "authorization: Bearer $token" -o /dev/null -w '%{time_total}\n' "$base$p"
  done | sort -n | awk -v p="$p" '{ t[NR] = $1 * 1000 } END {
    printf "%-90s median %7.1f ms   min–max %6.1f–%6.1f ms\n", p, t[int((NR + 1) / 2)], t[1], t[NR] }'
done
