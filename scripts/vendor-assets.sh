#!/usr/bin/env bash
# Fetches the third-party browser files listed in assets/vendor/SOURCES from the npm registry and checks them
# against the SHA-256 sums recorded there. With --update, writes the fetched files into assets/vendor/ and records
# their sums (to move to a new version: edit the version in SOURCES, then run with --update).
set -euo pipefail
cd "$(dirname "$0")/.."
update=false
[ "${1:-}" = "--update" ] && update=true
registry="${NPM_REGISTRY:-https://registry.npmjs.org}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sources=assets/vendor/SOURCES
out="$work/SOURCES"
failed=0
while IFS= read -r line; do
  if [[ -z "$line" || "$line" == \#* ]]; then echo "$line" >>"$out"; continue; fi
  read -r pkg version inner file sum <<<"$line"
  tarball="$work/$pkg-$version.tgz"
  if [ ! -f "$tarball" ]; then
    curl -fsSL "$registry/$pkg/-/${pkg##*/}-$version.tgz" -o "$tarball"
    mkdir -p "$work/$pkg-$version"
    tar xzf "$tarball" -C "$work/$pkg-$version"
  fi
  fetched="$work/$pkg-$version/package/$inner"
  got="$(sha256sum "$fetched" | cut -d' ' -f1)"
  if $update; then
    cp "$fetched" "assets/vendor/$file"
    echo "$pkg $version $inner $file $got" >>"$out"
  else
    here="$(sha256sum "assets/vendor/$file" | cut -d' ' -f1)"
    if [ "$got" != "${sum:-}" ] || [ "$here" != "${sum:-}" ]; then
      echo "MISMATCH $file: recorded ${sum:-none}, registry $got, here $here" >&2
      failed=1
    else
      echo "ok $file ($pkg@$version)"
    fi
  fi
done <"$sources"
if $update; then cp "$out" "$sources"; echo "recorded in $sources"; fi
exit "$failed"
