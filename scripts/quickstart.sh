#!/usr/bin/env bash
# The main job: installs missing packages (as root), builds opsmeter, starts the bundled mock
# ingest server on loopback (it also plays an OpenAI-compatible provider), and runs
# examples/quickstart: a real provider-shaped HTTP call wrapped in a call scope, recorded,
# flushed, then the server's view of what it received.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
opsmeter_ensure_packages

cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)" \
  --target opsmeter-mock-server opsmeter_quickstart

work=$(mktemp -d)
./build/dev/opsmeter-mock-server --port 0 --api-key quickstart-key --port-file "$work/port" \
  >"$work/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { cat "$work/server.log"; echo "mock server did not start" >&2; exit 1; }
base_url="http://127.0.0.1:$(cat "$work/port")"
echo "== mock ingest server at $base_url"

echo "== examples/quickstart"
OPSMETER_API_BASE_URL="$base_url" OPSMETER_API_KEY=quickstart-key OPENAI_BASE_URL="$base_url/v1" \
  ./build/dev/examples/opsmeter_quickstart
