#!/usr/bin/env bash
# The main job: installs missing packages (as root), builds opsmeter, starts the bundled mock
# ingest server on loopback (it also plays an OpenAI-compatible provider), and runs
# examples/quickstart: a real provider-shaped HTTP call wrapped in a call scope, recorded,
# flushed, then the server's view of what it received.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
opsmeter_ensure_packages

cmake --preset quickstart >/dev/null
cmake --build --preset quickstart -j "$(nproc)" \
  --target opsmeter-mock-server opsmeter_quickstart

source scripts/mock_server.sh
trap opsmeter_stop_mock_server EXIT
opsmeter_start_mock_server ./build/quickstart/opsmeter-mock-server quickstart-key
base_url=$MOCK_BASE_URL
echo "== mock ingest server at $base_url"

echo "== examples/quickstart"
OPSMETER_API_BASE_URL="$base_url" OPSMETER_API_KEY=quickstart-key OPENAI_BASE_URL="$base_url/v1" \
  ./build/quickstart/examples/opsmeter_quickstart
