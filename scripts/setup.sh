#!/usr/bin/env bash
# Prepares a fresh Debian machine for VoiceAspire: the Debian packages the engines and tests
# use, then the pinned npm natives (scripts/fetch-natives.sh) and the official SDK clients the
# compatibility tests drive (scripts/fetch-sdk-clients.sh). Safe to run again: it installs
# only what is missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# package -> a file that proves it is installed
declare -A wanted=(
  [redis-server]=/usr/bin/redis-server
  [libpocketsphinx3]=/usr/lib/x86_64-linux-gnu/libpocketsphinx.so.3
  [pocketsphinx-en-us]=/usr/share/pocketsphinx/model/en-us/en-us.lm.bin
  [espeak-ng]=/usr/bin/espeak-ng
  [sox]=/usr/bin/sox
  [chromium]=/usr/bin/chromium # dashboard browser tests (Playwright ExecutablePath; it never downloads a browser)
  [npm]=/usr/bin/npm # pinned natives and SDK clients come from npm packages
)
missing=()
for pkg in "${!wanted[@]}"; do
  [ -e "${wanted[$pkg]}" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages present"
fi

bash "$here/fetch-natives.sh"
bash "$here/fetch-sdk-clients.sh"
