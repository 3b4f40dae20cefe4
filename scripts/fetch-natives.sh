#!/usr/bin/env bash
# Fetches the pinned npm packages listed in natives/pins.txt, verifies each tarball's sha512
# integrity, and extracts only the listed files into .natives/ (git-ignored).
# A stamp per pin makes a second run free; a changed pin refetches.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${VOICEASPIRE_NATIVES_DIR:-$root/.natives}"
cache="$out/.tarballs"
mkdir -p "$cache"

while read -r spec integrity dest files; do
  case "$spec" in ''|'#'*) continue ;; esac
  stamp="$out/.stamps/$(printf '%s' "$spec $integrity $dest $files" | sha256sum | cut -c1-16)"
  if [ -f "$stamp" ]; then continue; fi

  echo "natives: fetching $spec"
  tarball="$(cd "$cache" && npm pack "$spec" --ignore-scripts --silent 2>/dev/null | tail -n 1)"
  [ -n "$tarball" ] && [ -f "$cache/$tarball" ] || { echo "natives: npm pack $spec failed" >&2; exit 1; }

  actual="sha512-$(openssl dgst -sha512 -binary "$cache/$tarball" | base64 -w0)"
  if [ "$actual" != "$integrity" ]; then
    echo "natives: integrity mismatch for $spec: expected $integrity, got $actual" >&2
    rm -f "$cache/$tarball"
    exit 1
  fi

  mkdir -p "$out/$dest"
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2086 # files is a word list on purpose
  tar -xzf "$cache/$tarball" -C "$tmp" $files
  for f in $files; do cp -r "$tmp/$f" "$out/$dest/"; done # a folder entry keeps its tree (proto imports)
  rm -rf "$tmp" "$cache/$tarball"
  mkdir -p "$out/.stamps" && touch "$stamp"
done < "$root/natives/pins.txt"
echo "natives: ready in $out"
