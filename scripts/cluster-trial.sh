#!/usr/bin/env bash
# The cluster trial (docs/DEPLOYMENT.md): PostgreSQL primary + synchronous standby, three replicas behind HAProxy,
# the mixed load for 5 minutes while replicas are killed and the primary fails over; then the checks and a report.
# Arguments go to scripts/cluster-trial.py (--help lists them); the binary defaults to the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/cluster-trial.py "$@"
