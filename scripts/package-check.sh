#!/usr/bin/env bash
# Packages the binary the tests just built (no second, release build), installs the .deb with dpkg, starts the
# installed binary the way its systemd unit does (its user, folder, command line and configuration file) and checks
# /readyz; then removes the package again. The release .deb is the same command without --profile dev, after
# `cargo build --release` (docs/OPERATIONS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/invest-crm/target}"
out="$CARGO_TARGET_DIR/debian"
rm -rf "$out"
# cargo-deb warns that a dev profile is meant for releases only: this package is for the check, not for shipping.
cargo deb --no-build --profile dev --no-strip --fast -o "$out/" 2>&1 | grep -v 'dev profile\|debug symbols set\|^ *To enable' || true
deb=$(ls "$out"/invest-crm_*.deb)
dpkg -i "$deb"
pid=
trap 'kill "$pid" 2>/dev/null || true; dpkg --purge invest-crm >/dev/null; rm -rf /var/lib/invest-crm' EXIT

unit=/usr/lib/systemd/system/invest-crm.service
conf=/etc/invest-crm/invest-crm.toml
test "$(stat -c '%U:%G %a' "$conf")" = "root:invest-crm 640" || { echo "wrong owner or mode of $conf"; exit 1; }
grep -q '^ProtectSystem=strict' "$unit" && grep -q '^NoNewPrivileges=yes' "$unit"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit"
  # The exposure score out of 10, times 10: fail above 3.0 ("OK" is below 4.0).
  systemd-analyze security --offline=yes --threshold=30 "$unit" | tail -n 1
fi
conffiles=$(dpkg-query -W -f='${Conffiles}\n' invest-crm)
grep -q "$conf" <<<"$conffiles" || { echo "$conf is not a conffile"; exit 1; }
user=$(sed -n 's/^User=//p' "$unit")
workdir=$(sed -n 's/^WorkingDirectory=//p' "$unit")
read -r -a cmd <<<"$(sed -n 's/^ExecStart=//p' "$unit")"

# Without systemd (a CI container) the state folder made by the package stands in for StateDirectory=; the port is
# the configured one unless it is taken on this machine.
port=8080
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then port=18080; fi
cd "$workdir"
runuser -u "$user" -- env INVEST_CRM_LISTEN="127.0.0.1:$port" INVEST_CRM_ADMIN_PASSWORD=package-check-1234 \
  "${cmd[@]}" >/tmp/invest-crm-package.log 2>&1 &
pid=$!
for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:$port/readyz" 2>/dev/null | grep -q '"ready"'; then
    echo "package: installed, started as $user with ${cmd[*]}, /readyz ready"
    test -f /var/lib/invest-crm/invest-crm.db || { echo "no database in /var/lib/invest-crm"; exit 1; }
    exit 0
  fi
  sleep 1
done
echo "the installed service did not become ready:"
cat /tmp/invest-crm-package.log
exit 1
