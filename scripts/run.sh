#!/usr/bin/env bash
# Runs the stack on loopback until Ctrl+C: Inference on :5001, Api on :5000 (wired by Aspire-style
# service discovery, services__inference__http__0). A stand-in until the AppHost issue makes
# `dotnet run --project src/VoiceAspire.AppHost` the one command.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
dotnet build VoiceAspire.sln -c Release -nologo -clp:ErrorsOnly

pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop EXIT INT TERM

# Each runs from its output folder, so its appsettings.json is the content root's.
(cd src/VoiceAspire.Inference/bin/Release/net10.0 && ASPNETCORE_URLS=http://127.0.0.1:5001 exec dotnet VoiceAspire.Inference.dll) &
pids+=($!)
(cd src/VoiceAspire.Api/bin/Release/net10.0 && services__inference__http__0=http://127.0.0.1:5001 ASPNETCORE_URLS=http://127.0.0.1:5000 exec dotnet VoiceAspire.Api.dll) &
pids+=($!)

for url in http://127.0.0.1:5001/health http://127.0.0.1:5000/health; do
  for _ in $(seq 1 60); do curl -sf "$url" >/dev/null 2>&1 && break; sleep 0.5; done
done
echo
echo "VoiceAspire is up:"
echo "  Api        http://127.0.0.1:5000   (ws://127.0.0.1:5000/ws/{client_id}, ws://127.0.0.1:5000/listen, GET /model/status)"
echo "  Inference  http://127.0.0.1:5001   (GET /v1/models, ws://127.0.0.1:5001/v1/stream)"
echo "Ctrl+C stops both."
wait
