#!/usr/bin/env bash
# Runs the whole benchmark suite and writes its results to build/bench-results/: micro.json
# (Google Benchmark), load-*.json (opsmeter-load), wrk.txt and load-vs-wrk.json, wrk-nagle.txt
# and load-nagle.json, protocols/ (bench/protocols.sh, with bare libcurl beside the SDK),
# service/ (bench/service_overhead.sh: the SDK in a thin LLM gateway), shutdown.json,
# header.json, and summary.md
# with every figure. Takes about five minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
opsmeter_ensure_packages libbenchmark-dev wrk curl nghttp2-client

cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)"
out=build/bench-results
mkdir -p "$out"
bin=build/dev

echo "== micro-benchmarks"
"$bin/bench/opsmeter_micro_bench" --benchmark_min_time=0.3 \
  --benchmark_out="$out/micro.json" --benchmark_out_format=json | tee "$out/micro.txt"

echo "== load tool (in-process mock server)"
"$bin/bench/opsmeter-load" --mode ok --records 100000 --threads 4 --in-flight 8 --queue 100000 | tee "$out/load-ok.json"
"$bin/bench/opsmeter-load" --mode down --records 1000000 --threads 4 --flush-timeout-s 1 | tee "$out/load-down.json" || true
"$bin/bench/opsmeter-load" --mode slow --records 2000 --threads 2 --flush-timeout-s 5 | tee "$out/load-slow.json" || true
"$bin/bench/opsmeter-load" --mode throttle --records 20000 --threads 2 --flush-timeout-s 20 | tee "$out/load-throttle.json" || true
"$bin/bench/opsmeter-load" --mode plan-limited --plan-limit 1000 --records 20000 --threads 2 | tee "$out/load-plan-limited.json"

echo "== SDK vs wrk against the standalone mock server, 8 connections each"
source scripts/mock_server.sh
trap opsmeter_stop_mock_server EXIT
opsmeter_start_mock_server "$bin/opsmeter-mock-server" test-key
base=$MOCK_BASE_URL
wrk -t1 -c8 -d10s -s bench/wrk_ingest.lua "$base/v1/ingest/llm-request" | tee "$out/wrk.txt"
curl -sS -X POST "$base/__reset" >/dev/null
"$bin/bench/opsmeter-load" --base-url "$base" --records 100000 --threads 4 --in-flight 8 --queue 100000 | tee "$out/load-vs-wrk.json"
opsmeter_stop_mock_server

echo "== SDK vs wrk against a mock server that leaves Nagle on (--no-tcp-nodelay)"
opsmeter_start_mock_server "$bin/opsmeter-mock-server" test-key --no-tcp-nodelay
wrk -t1 -c8 -d5s -s bench/wrk_ingest.lua "$MOCK_BASE_URL/v1/ingest/llm-request" | tee "$out/wrk-nagle.txt"
"$bin/bench/opsmeter-load" --base-url "$MOCK_BASE_URL" --records 20000 --threads 2 --in-flight 8 --queue 100000 | tee "$out/load-nagle.json"
opsmeter_stop_mock_server

echo "== the three protocols: cleartext HTTP/1.1, HTTPS/1.1, HTTPS/2"
bench/protocols.sh "$bin" "$out/protocols"
bench/service_overhead.sh "$bin" "$out/service"

echo "== shutdown(500 ms) and destructor against a server that never answers"
"$bin/bench/opsmeter_shutdown_timing" 50 | tee "$out/shutdown.json"

echo "== header weight"
bench/header_weight.sh 9 | tee "$out/header.json"

wrk_rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")
sdk_rps=$(grep -o '"delivered_per_s":[0-9]*' "$out/load-vs-wrk.json" | cut -d: -f2)
{
  echo "# opsmeter-cpp benchmark results ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
  echo
  echo '## Micro-benchmarks (p50_ns / p99_ns per call, timer overhead included)'
  echo '```'; grep -E '^BM_' "$out/micro.txt"; echo '```'
  echo '## Load tool'
  echo '```'; cat "$out"/load-*.json; echo '```'
  echo "## Delivery vs wrk: SDK ${sdk_rps}/s, wrk ${wrk_rps}/s, ratio $(awk -v a="$sdk_rps" -v b="$wrk_rps" 'BEGIN{printf "%.2f", a/b}')"
  echo "## Against a server with Nagle on: SDK $(grep -o '"delivered_per_s":[0-9]*' "$out/load-nagle.json" | cut -d: -f2)/s, wrk $(awk '/Requests\/sec/ {print $2}' "$out/wrk-nagle.txt")/s"
  echo '## Protocols'; cat "$out/protocols/protocols.md"
  echo '## Shutdown'; echo '```'; cat "$out/shutdown.json"; echo '```'
  echo '## Header weight'; echo '```'; cat "$out/header.json"; echo '```'
} >"$out/summary.md"
echo "results in $out (summary.md)"
