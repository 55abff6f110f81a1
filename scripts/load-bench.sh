#!/usr/bin/env bash
# The mixed-load benchmark (docs/BENCHMARKS.md, "Mixed load") against the demo park, on SQLite and, when
# TEST_DATABASE_URL is set, on a scratch PostgreSQL database: scripts/load-bench.py with 16 clients for 60 s.
#
#   INVEST_CRM=path/to/invest-crm scripts/load-bench.sh [SECONDS] [OUT_PREFIX]
#
# INVEST_CRM picks the build to measure (a release build: `cargo build --release`); OUT_PREFIX names the JSON
# summaries (OUT_PREFIX-sqlite.json, OUT_PREFIX-postgresql.json).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out="${2:-/tmp/load-bench}"
port=18097
# shellcheck source=scripts/demo-service.sh
source scripts/demo-service.sh

load() {
  local base="$1" name="$3"
  # Let the demo park's seeding and the first seals settle before measuring.
  sleep 3
  python3 scripts/load-bench.py "$base" admin-password-123 --seconds "$seconds" --json "$out-$name.json"
}

on_each_database load
