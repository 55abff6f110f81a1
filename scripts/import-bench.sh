#!/usr/bin/env bash
# Times the ledger import on SQLite: a synthetic 20,000-row project ledger (bench ledger) previewed, committed into
# an empty database, then committed again (every row unchanged). The CLI prints each run's time and peak RSS.
# Usage: scripts/import-bench.sh [ROWS]   (INVEST_CRM_BIN defaults to target/release/invest-crm)
set -eu
ROWS=${1:-20000}
B=${INVEST_CRM_BIN:-target/release/invest-crm}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
export INVEST_CRM_DATA_DIR=$DIR/data INVEST_CRM_LOG=warn
$B bench ledger --rows "$ROWS" --out "$DIR/ledger.xlsx"
echo "file: $(du -h "$DIR/ledger.xlsx" | cut -f1)"
echo "preview:";   $B import projects "$DIR/ledger.xlsx" > /dev/null
echo "commit:";    $B import projects "$DIR/ledger.xlsx" --commit > /dev/null
echo "re-import:"; $B import projects "$DIR/ledger.xlsx" --commit > /dev/null
