#!/usr/bin/env bash
# The test command (README): prepares the machine (scripts/setup.sh), builds, runs every test,
# and prints one summary line "tests: N passed, N failed, N skipped".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh || exit 1

results="$root/artifacts/test-results"
rm -rf "$results" && mkdir -p "$results"
dotnet build VoiceAspire.sln -c Release -nologo -clp:ErrorsOnly || exit 1
dotnet test tests/VoiceAspire.Tests -c Release --no-build -nologo \
  --logger "trx;LogFileName=tests.trx" --logger "console;verbosity=normal" \
  --results-directory "$results" --blame-hang-timeout 5m "$@"
status=$?

trx="$results/tests.trx"
if [ -f "$trx" ]; then
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$(get passed); failed=$(get failed); total=$(get total); executed=$(get executed)
  skipped=$(( ${total:-0} - ${executed:-0} ))
  echo "tests: ${passed:-0} passed, ${failed:-0} failed, ${skipped} skipped"
fi
exit $status
