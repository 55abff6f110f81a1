#!/usr/bin/env bash
# Generates API clients (Python twice, TypeScript, Java) from the OpenAPI document the service serves, with the
# generators integrators use, and runs the worked example of docs/API.md (clients/smoke.py, on the generated Python
# client) against a service on the demo park: on SQLite in a scratch folder, and on a scratch PostgreSQL database
# too when TEST_DATABASE_URL points at a server (created and dropped here).
#
# Usage: scripts/clients.sh
# Builds nothing: run `cargo build` first (or set INVEST_CRM to a binary). The generators (versions pinned in
# .ci/run, which installs them): openapi-generator-cli 7.26.0 and openapi-python-client 0.29.1 from PyPI,
# openapi-typescript 7.13.0, typescript 5 and @stoplight/spectral-cli 6.16.3 from npm under $CLIENT_TOOLS
# (default ~/.cache/invest-crm/npm). Exits non-zero when the document holds a duplicate key, a generator fails or
# warns that it dropped a schema or a response, the TypeScript types do not compile, Spectral's `spectral:oas`
# finds an error, or the smoke script fails.
set -euo pipefail
cd "$(dirname "$0")/.."
npm_bin="${CLIENT_TOOLS:-$HOME/.cache/invest-crm/npm}/node_modules/.bin"
port=18090
. scripts/demo-service.sh

for tool in openapi-generator-cli openapi-python-client; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (see .ci/run)"; exit 1; }
done
for tool in openapi-typescript tsc spectral; do
  [ -x "$npm_bin/$tool" ] || { echo "$tool is not installed under $npm_bin (see .ci/run)"; exit 1; }
done

doc="$scratch/openapi.json"
"$bin" openapi >"$doc"

echo "== the document parses with duplicate keys refused"
python3 - "$doc" <<'PY'
import json, sys
def unique(pairs):
    keys = [k for k, _ in pairs]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise SystemExit(f"duplicate keys in the OpenAPI document: {sorted(dup)}")
    return dict(pairs)
json.load(open(sys.argv[1]), object_pairs_hook=unique)
PY

echo "== openapi-generator (python)"
openapi-generator-cli generate -i "$doc" -g python -o "$scratch/python" --package-name invest_crm_client \
  >"$scratch/openapi-generator.log" 2>&1 || { tail -n 30 "$scratch/openapi-generator.log"; exit 1; }
# A multipart body (the ledger import, the attachments upload) becomes the method's arguments, not a model: expected.
if grep -E "\] ERROR|Exception in|not generated since" "$scratch/openapi-generator.log" | grep -v -E "importLedger_request|uploadAttachments_request"; then
  echo "openapi-generator dropped or failed on something (above)"; exit 1
fi

echo "== openapi-generator (java, generated only: building it needs Maven Central)"
openapi-generator-cli generate -i "$doc" -g java -o "$scratch/java" --additional-properties=library=native \
  >"$scratch/openapi-generator-java.log" 2>&1 || { tail -n 30 "$scratch/openapi-generator-java.log"; exit 1; }
if grep -E "\] ERROR|Exception in|not generated since" "$scratch/openapi-generator-java.log" | grep -v -E "importLedger_request|uploadAttachments_request"; then
  echo "openapi-generator (java) dropped or failed on something (above)"; exit 1
fi

echo "== openapi-python-client"
(cd "$scratch" && openapi-python-client generate --path "$doc" --output-path opc --overwrite \
  --config "$OLDPWD/clients/openapi-python-client.yaml") >"$scratch/opc.log" 2>&1 || { cat "$scratch/opc.log"; exit 1; }
if grep -qi "warning" "$scratch/opc.log"; then cat "$scratch/opc.log"; exit 1; fi
python3 -m compileall -q "$scratch/opc" >/dev/null

echo "== openapi-typescript"
"$npm_bin/openapi-typescript" "$doc" -o "$scratch/ts/schema.d.ts" >"$scratch/ts.log" 2>&1 || { cat "$scratch/ts.log"; exit 1; }
"$npm_bin/tsc" --noEmit --strict "$scratch/ts/schema.d.ts"

echo "== spectral (spectral:oas)"
"$npm_bin/spectral" lint "$doc" --ruleset clients/spectral.yaml --fail-severity error --display-only-failures

# The worked example with the generated Python client, against the service at $1.
smoke() {
  echo "== smoke (generated Python client) on $3"
  PYTHONPATH="$scratch/python" python3 clients/smoke.py "$1" admin admin-password-123
}

on_each_database smoke
