#!/usr/bin/env bash
# Runs every example against a freshly started opsmeter-mock-server (which also plays the
# OpenAI-compatible provider) and checks what each one reports and what the server stored:
# once over plain HTTP, once over HTTPS with a test CA (OPSMETER_CA_BUNDLE). Then the
# quickstart delivers its record through nghttpd, an HTTP/2-only TLS server.
# Usage: run_examples.sh BUILD_DIR
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/mock_server.sh"
work=$(mktemp -d)
nghttpd_pid=
cleanup() {
  opsmeter_stop_mock_server
  if [ -n "$nghttpd_pid" ]; then
    kill "$nghttpd_pid" 2>/dev/null || true
    wait "$nghttpd_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

run_examples() {
  echo "== quickstart"
  out=$("$build/examples/opsmeter_quickstart")
  echo "$out"
  grep -q '"tokenSource":"provider"' <<<"$out" || fail "quickstart: no tokenSource=provider in the stored record"
  for field in externalRequestId provider model promptVersion endpointTag inputTokens outputTokens \
               totalTokens latencyMs status errorCode userId dataMode environment metadata; do
    grep -q "\"$field\":" <<<"$out" || fail "quickstart: stored record lacks $field"
  done

  echo "== retry_same_id"
  out=$("$build/examples/opsmeter_retry_same_id")
  echo "$out"
  grep -q 'attempt 1: HTTP 503' <<<"$out" || fail "retry_same_id: first attempt did not fail"
  grep -q 'attempt 2: HTTP 200' <<<"$out" || fail "retry_same_id: second attempt did not succeed"

  echo "== trace_correlation"
  out=$("$build/examples/opsmeter_trace_correlation")
  echo "$out"
  grep -q 'traceId 4bf92f3577b34da6a3ce929d0e0e4736 spanId 00f067aa0ba902b7' <<<"$out" ||
    fail "trace_correlation: the trace ids were not recorded"
  grep -q 'delivered=1' <<<"$out" || fail "trace_correlation: not delivered"

  # Examples whose output must show one line: name, extended regex, what went wrong otherwise.
  expect_line() {
    echo "== $1"
    "$build/examples/opsmeter_$1" | tee "$work/$1.out"
    grep -Eq "$2" "$work/$1.out" || fail "$1: $3"
  }
  expect_line streaming 'from the provider' "usage not from the provider"
  expect_line capture_libcurl 'provider answered HTTP 200' "the provider call failed"
  expect_line llamacpp_server 'call 2: input=[0-9]+ cached=[1-9]' "no cached tokens on the second call"
  expect_line ollama_stream 'from the provider' "usage not from the provider"
  expect_line responses_stream 'from the provider' "usage not from the provider"

  # What the server stored for the capture-helper examples, field by field.
  python3 "$here/check_stored.py" "$MOCK_BASE_URL/__stats" "${OPSMETER_CA_BUNDLE:-}" ||
    fail "the stored records of the capture-helper examples"

  echo "== metrics_endpoint"
  METRICS_PORT=0 EXAMPLE_SCRAPES=1 "$build/examples/opsmeter_metrics_endpoint" >"$work/metrics.out" &
  local metrics_pid=$! metrics_url=
  for _ in $(seq 1 200); do
    metrics_url=$(sed -n 's/^metrics at //p' "$work/metrics.out")
    [ -n "$metrics_url" ] && break
    sleep 0.05
  done
  [ -n "$metrics_url" ] || fail "metrics_endpoint: no URL printed"
  # (no curl program on a fresh machine: Python's urllib scrapes)
  /usr/bin/python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
    "$metrics_url" >"$work/metrics.txt" || fail "metrics_endpoint: the scrape failed"
  wait "$metrics_pid" || fail "metrics_endpoint: exited with an error"
  /usr/bin/python3 "$here/../delivery/check_prometheus.py" "$work/metrics.txt" 3 service=example ||
    fail "metrics_endpoint: the exposition"

  echo "== budget_banner"
  "$build/examples/opsmeter_budget_banner" | tee "$work/banner.out"
  grep -q 'banner: Telemetry paused (plan_limit_reached)' "$work/banner.out" || fail "budget_banner: no banner"
}

echo "==== over http://"
opsmeter_start_mock_server "$build/opsmeter-mock-server" examples-key
export OPSMETER_API_BASE_URL="$MOCK_BASE_URL" OPSMETER_API_KEY=examples-key OPENAI_BASE_URL="$MOCK_BASE_URL/v1"
export LLAMACPP_BASE_URL="$MOCK_BASE_URL/v1" OLLAMA_BASE_URL="$MOCK_BASE_URL"
run_examples
opsmeter_stop_mock_server

echo "==== over https:// (HTTP/1.1, test CA)"
bash "$here/../tls/make_test_pki.sh" "$work/pki"
export OPSMETER_CA_BUNDLE="$work/pki/ca.pem"
opsmeter_start_mock_server "$build/opsmeter-mock-server" examples-key \
  --tls-cert "$work/pki/server.pem" --tls-key "$work/pki/server.key"
[[ $MOCK_BASE_URL == https://* ]] || fail "the TLS mock server has no https URL"
export OPSMETER_API_BASE_URL="$MOCK_BASE_URL" OPENAI_BASE_URL="$MOCK_BASE_URL/v1"
export LLAMACPP_BASE_URL="$MOCK_BASE_URL/v1" OLLAMA_BASE_URL="$MOCK_BASE_URL"
run_examples
opsmeter_stop_mock_server

echo "==== quickstart through nghttpd (HTTP/2 only, test CA)"
nghttpd=$(command -v nghttpd) || fail "nghttpd not found; install nghttp2-server (scripts/deps.sh does)"
opsmeter_start_mock_server "$build/opsmeter-mock-server" examples-key
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$nghttpd" --address=127.0.0.1 --echo-upload "$port" "$work/pki/server.key" "$work/pki/server.pem" \
  >"$work/nghttpd.log" 2>&1 &
nghttpd_pid=$!
for _ in $(seq 1 200); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done
out=$(OPSMETER_API_BASE_URL="https://127.0.0.1:$port" OPENAI_BASE_URL="$MOCK_BASE_URL/v1" \
  "$build/examples/opsmeter_quickstart")
echo "$out"
grep -q 'telemetry flushed: recorded=1 delivered=1 dropped=0' <<<"$out" ||
  fail "quickstart: record not delivered through nghttpd"

echo "examples passed"
