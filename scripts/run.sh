#!/usr/bin/env bash
# Runs the whole stack until Ctrl+C: the AppHost (src/VoiceAspire.AppHost) builds and starts redis-server, Inference
# and Api, serves the dashboard, and prints the URLs. Options go to the AppHost (docs/apphost.md), e.g.
#   bash scripts/run.sh --api-port 5000 --replicas api=2,inference=2
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
exec dotnet run --project src/VoiceAspire.AppHost -c Release -- "$@"
