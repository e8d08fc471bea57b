#!/usr/bin/env bash
# What the SDK costs a real service: bench/llm_service.cpp (a cpp-httplib gateway whose handler
# calls an OpenAI-compatible provider, the mock server, inside opsmeter::capture) driven
# three ways: the SDK disabled (OPSMETER_ENABLED=0), sending over cleartext HTTP/1.1 (the mock
# ingest server) and over HTTPS/2 (nghttpd --echo-upload with a test CA).
#   paced       h2load --h1, 8 clients x --rps 125 = ~1,000 requests/s for 10 s: the service's
#               CPU per request (utime + stime from /proc/PID/stat) and h2load's mean time
#   saturation  wrk -t1 -c16 -d10s --latency: requests/s, p50 and p99
# The last table gives each figure of the SDK's runs as a ratio to the disabled run.
# Usage: bench/service_overhead.sh BUILD_DIR OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1
out=$2
mkdir -p "$out"
source scripts/mock_server.sh
work=$(mktemp -d)
nghttpd_pid=
service_pid=
cleanup() {
  [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null || true
  opsmeter_stop_mock_server
  if [ -n "$nghttpd_pid" ]; then kill "$nghttpd_pid" 2>/dev/null || true; wait "$nghttpd_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

bash tests/tls/make_test_pki.sh "$work/pki" >/dev/null
opsmeter_start_mock_server "$bin/opsmeter-mock-server" bench-key
provider="$MOCK_BASE_URL/v1"
h2port=$(free_port)
nghttpd --address=127.0.0.1 --echo-upload "$h2port" "$work/pki/server.key" "$work/pki/server.pem" >/dev/null 2>&1 &
nghttpd_pid=$!
wait_port "$h2port"
printf '%s' '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Summarise my last order in one line, please."}]}' >"$work/body.json"
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$(cat "$work/body.json")'
LUA
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() {  # name, then the service's environment
  local name=$1; shift
  local port
  port=$(free_port)
  env "$@" PROVIDER_URL="$provider" "$bin/bench/opsmeter_llm_service" "$port" >"$work/$name.service" 2>"$work/$name.stats" &
  service_pid=$!
  wait_port "$port"
  local url="http://127.0.0.1:$port/answer"
  # warm up: connections to the provider and the ingest API
  h2load --h1 -n 200 -c 8 -d "$work/body.json" -H 'Content-Type: application/json' "$url" >/dev/null
  local before after
  before=$(cpu_ticks "$service_pid")
  h2load --h1 -c 8 --rps 125 -D 10 -d "$work/body.json" -H 'Content-Type: application/json' "$url" >"$out/$name-paced.txt"
  after=$(cpu_ticks "$service_pid")
  local done_requests
  done_requests=$(awk '/^requests:/ {print $8}' "$out/$name-paced.txt")
  local cpu_us
  cpu_us=$(awk -v t=$((after - before)) -v hz="$ticks" -v n="$done_requests" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  local mean
  mean=$(awk '/^time for request:/ {print $6}' "$out/$name-paced.txt")
  wrk -t1 -c16 -d10s --latency -s "$work/post.lua" "$url" >"$out/$name-saturation.txt"
  local rps p50 p99
  rps=$(awk '/^Requests\/sec/ {print $2}' "$out/$name-saturation.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$out/$name-saturation.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$out/$name-saturation.txt")
  kill "$service_pid"
  wait "$service_pid" || true
  service_pid=
  echo "$name $done_requests $cpu_us $mean $rps $p50 $p99 $(tail -n 1 "$work/$name.stats")" | tee -a "$out/service.txt"
}

: >"$out/service.txt"
run disabled OPSMETER_ENABLED=0
run http1 OPSMETER_API_BASE_URL="$MOCK_BASE_URL" OPSMETER_API_KEY=bench-key
run h2 OPSMETER_API_BASE_URL="https://127.0.0.1:$h2port" OPSMETER_API_KEY=bench-key OPSMETER_CA_BUNDLE="$work/pki/ca.pem"

# Times as wrk and h2load print them (us, ms, s) in microseconds, for the ratios.
{
  echo "| run | paced requests | CPU us/request (ratio) | paced mean | saturation req/s (ratio) | p50 | p99 |"
  echo "|---|---|---|---|---|---|---|"
  awk '
    function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1e6; return v }
    NR == 1 { cpu0 = $3; rps0 = $5 }
    { printf "| %s | %s | %s (%.2fx) | %s | %s (%.2fx) | %s | %s |\n", $1, $2, $3, $3 / cpu0, $4, $5, $5 / rps0, $6, $7 }
  ' "$out/service.txt"
} | tee "$out/service.md"
