#!/usr/bin/env bash
# Installs the official vendor SDKs the tests run against our doubles (tests/sdk-clients/<name>/: package.json +
# package-lock.json, which pins every package by version and sha512 integrity; `npm ci` refuses any mismatch) into
# .natives/test-clients/<name>/ (git-ignored). Nothing of them is committed. A stamp per lockfile makes reruns free.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${VOICEASPIRE_NATIVES_DIR:-$root/.natives}/test-clients"
for client in "$root"/tests/sdk-clients/*/; do
  name="$(basename "$client")"
  dest="$out/$name"
  stamp="$dest/.stamp-$(cat "$client/package.json" "$client/package-lock.json" | sha256sum | cut -c1-16)"
  [ -f "$stamp" ] && continue
  echo "test-clients: installing $name"
  rm -rf "$dest" && mkdir -p "$dest"
  cp "$client"/package.json "$client"/package-lock.json "$dest/"   # the scripts run from tests/sdk-clients with NODE_PATH here
  (cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --silent)
  touch "$stamp"
done
echo "test-clients: ready in $out"
