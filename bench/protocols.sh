#!/usr/bin/env bash
# Delivery over the three protocols the ingest API may be reached by, each next to a load
# generator on the same endpoint with the same connection count:
#   cleartext HTTP/1.1  opsmeter-mock-server                 vs wrk -t1 -c8
#   HTTPS/1.1           opsmeter-mock-server --tls-cert ...   vs wrk -t1 -c8 (https)
#   HTTPS/2             nghttpd --echo-upload                 vs h2load -c1 -m8
# opsmeter-load runs as its own process against each server, 8 requests in flight, and
# prints delivered_per_s and cpu_us_per_record (its user + system CPU / delivered records).
# Then the same client and bare libcurl paced at 1,000 records/s (10,000 records), over
# cleartext HTTP/1.1 and HTTPS/2: what one record costs a service that sends one per call.
# Usage: bench/protocols.sh BUILD_DIR OUT_DIR [RECORDS]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1
out=$2
records=${3:-50000}
mkdir -p "$out"
source scripts/mock_server.sh
pki=$(mktemp -d)
nghttpd_pid=
cleanup() {
  opsmeter_stop_mock_server
  if [ -n "$nghttpd_pid" ]; then kill "$nghttpd_pid" 2>/dev/null || true; wait "$nghttpd_pid" 2>/dev/null || true; fi
  rm -rf "$pki"
}
trap cleanup EXIT
bash tests/tls/make_test_pki.sh "$pki"
load() { "$bin/bench/opsmeter-load" --records "$records" --threads 2 --in-flight 8 --queue "$records" "$@"; }

echo "== cleartext HTTP/1.1"
opsmeter_start_mock_server "$bin/opsmeter-mock-server" test-key
wrk -t1 -c8 -d10s -s bench/wrk_ingest.lua "$MOCK_BASE_URL/v1/ingest/llm-request" | tee "$out/wrk-http1.txt"
curl -sS -X POST "$MOCK_BASE_URL/__reset" >/dev/null
load --base-url "$MOCK_BASE_URL" | tee "$out/load-http1.json"
paced() { "$bin/bench/opsmeter-load" --records 10000 --threads 1 --in-flight 8 --pace 1000 "$@"; }
paced_bare() { "$bin/bench/opsmeter_bare_curl_multi" --requests 10000 --in-flight 8 --rate 1000 "$@"; }
paced --base-url "$MOCK_BASE_URL" | tee "$out/paced-load-http1.json"
paced_bare --url "$MOCK_BASE_URL/v1/ingest/llm-request" | tee "$out/paced-bare-http1.json"
opsmeter_stop_mock_server

echo "== HTTPS/1.1"
opsmeter_start_mock_server "$bin/opsmeter-mock-server" test-key --tls-cert "$pki/server.pem" --tls-key "$pki/server.key"
wrk -t1 -c8 -d10s -s bench/wrk_ingest.lua "$MOCK_BASE_URL/v1/ingest/llm-request" | tee "$out/wrk-https1.txt"
curl -sS --cacert "$pki/ca.pem" -X POST "$MOCK_BASE_URL/__reset" >/dev/null
load --base-url "$MOCK_BASE_URL" --ca-bundle "$pki/ca.pem" | tee "$out/load-https1.json"
opsmeter_stop_mock_server

echo "== HTTPS/2 (nghttpd)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
nghttpd --address=127.0.0.1 --echo-upload "$port" "$pki/server.key" "$pki/server.pem" >/dev/null 2>&1 &
nghttpd_pid=$!
for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
body="$pki/body.json"
printf '%s' '{"externalRequestId":"ext_h2load","provider":"openai","model":"gpt-4o-mini","promptVersion":"summary_v3","endpointTag":"checkout.ai_summary","inputTokens":120,"outputTokens":45,"totalTokens":165,"latencyMs":820,"status":"success","errorCode":null,"userId":null,"dataMode":"real","environment":"prod","metadata":{"sdkLanguage":"cpp","sdkVersion":"0.1.0"}}' >"$body"
h2load -n "$records" -c 1 -m 8 -d "$body" -H 'Content-Type: application/json' -H 'X-API-Key: test-key' \
  "https://127.0.0.1:$port/v1/ingest/llm-request" | tee "$out/h2load.txt"
load --base-url "https://127.0.0.1:$port" --ca-bundle "$pki/ca.pem" | tee "$out/load-h2.json"
# The floor: the same POSTs with libcurl's multi interface alone (bench/bare_curl_multi.cpp).
"$bin/bench/opsmeter_bare_curl_multi" --url "https://127.0.0.1:$port/v1/ingest/llm-request" \
  --ca-bundle "$pki/ca.pem" --requests "$records" --in-flight 8 | tee "$out/bare-curl-h2.json"
paced --base-url "https://127.0.0.1:$port" --ca-bundle "$pki/ca.pem" | tee "$out/paced-load-h2.json"
paced_bare --url "https://127.0.0.1:$port/v1/ingest/llm-request" --ca-bundle "$pki/ca.pem" | tee "$out/paced-bare-h2.json"

field() { grep -o "\"$2\":[0-9.]*" "$1" | cut -d: -f2; }
{
  echo "| protocol | opsmeter-load records/s | CPU us/record | load generator (same endpoint, 8 in flight) |"
  echo "|---|---|---|---|"
  echo "| cleartext HTTP/1.1 | $(field "$out/load-http1.json" delivered_per_s) | $(field "$out/load-http1.json" cpu_us_per_record) | wrk $(awk '/Requests\/sec/ {print $2}' "$out/wrk-http1.txt")/s |"
  echo "| HTTPS/1.1 | $(field "$out/load-https1.json" delivered_per_s) | $(field "$out/load-https1.json" cpu_us_per_record) | wrk $(awk '/Requests\/sec/ {print $2}' "$out/wrk-https1.txt")/s |"
  echo "| HTTPS/2 | $(field "$out/load-h2.json" delivered_per_s) | $(field "$out/load-h2.json" cpu_us_per_record) | h2load $(awk '/^finished in/ {print $4}' "$out/h2load.txt")/s |"
  echo "| HTTPS/2, bare libcurl multi | $(field "$out/bare-curl-h2.json" per_s) | $(field "$out/bare-curl-h2.json" cpu_us_per_request) | (the SDK's CPU per record is $(awk -v a="$(field "$out/load-h2.json" cpu_us_per_record)" -v b="$(field "$out/bare-curl-h2.json" cpu_us_per_request)" 'BEGIN {printf "%.2f", a / b}')x this) |"
  echo
  echo "| paced at 1,000/s | SDK CPU us/record | bare libcurl CPU us/request | ratio |"
  echo "|---|---|---|---|"
  for p in http1 h2; do
    a=$(field "$out/paced-load-$p.json" cpu_us_per_record)
    b=$(field "$out/paced-bare-$p.json" cpu_us_per_request)
    echo "| $p | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2fx", a / b}') |"
  done
} | tee "$out/protocols.md"
