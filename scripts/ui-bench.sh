#!/usr/bin/env bash
# Times the HTML of UI pages against a running service, signed in: the median and the slowest of N requests each.
# Usage: scripts/ui-bench.sh BASE_URL USER PASSWORD [N] [PATH ...]   (default N 20; default paths: the part-1 pages)
set -euo pipefail
base="$1" user="$2" pass="$3" n="${4:-20}"
shift 3; [ $# -gt 0 ] && shift
jar="$(mktemp)"
trap 'rm -f "$jar"' EXIT
curl -s -c "$jar" -o /dev/null -X POST "$base/login" --data-urlencode "username=$user" --data-urlencode "password=$pass"
paths=("$@")
[ ${#paths[@]} -eq 0 ] && paths=(/ /companies /companies/1 /projects /projects/board /projects/1 /visits /blockers)
for p in "${paths[@]}"; do
  curl -s -b "$jar" -o /dev/null "$base$p"  # warm up
  for _ in $(seq "$n"); do curl -s -b "$jar" -o /dev/null -w '%{time_total}\n' "$base$p"; done | sort -n |
    awk -v p="$p" '{ t[NR] = $1 * 1000 } END { printf "%-24s median %7.1f ms   slowest %7.1f ms\n", p, t[int((NR + 1) / 2)], t[NR] }'
done
