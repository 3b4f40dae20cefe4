#!/usr/bin/env bash
# Installs the official vendor SDK clients the compatibility tests drive (tests/sdk-clients/<client>/), each from its
# committed package-lock.json: exact versions with their sha512 integrity, checked by `npm ci`; install scripts off.
# node_modules is git-ignored. A stamp of the lockfile makes a second run free; a changed lockfile reinstalls.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for dir in "$root"/tests/sdk-clients/*/; do
  [ -f "$dir/package-lock.json" ] || continue
  stamp="$dir/node_modules/.voiceaspire-lock.sha256"
  want="$(sha256sum "$dir/package-lock.json" | cut -c1-64)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then continue; fi
  echo "sdk-clients: installing $(basename "$dir")"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --silent)
  echo "$want" > "$stamp"
done
echo "sdk-clients: ready"
