#!/usr/bin/env bash
# Runs every example against a freshly started opsmeter-mock-server (which also plays the
# OpenAI-compatible provider) and checks what each one reports and what the server stored.
# Usage: run_examples.sh BUILD_DIR
set -euo pipefail
build=$1
source "$(dirname "$0")/../../scripts/mock_server.sh"
work=$(mktemp -d)
trap 'opsmeter_stop_mock_server; rm -rf "$work"' EXIT
opsmeter_start_mock_server "$build/opsmeter-mock-server" examples-key
base=$MOCK_BASE_URL
export OPSMETER_API_BASE_URL="$base" OPSMETER_API_KEY=examples-key OPENAI_BASE_URL="$base/v1"

fail() { echo "FAIL: $*" >&2; exit 1; }

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

echo "== streaming"
"$build/examples/opsmeter_streaming" | tee "$work/streaming.out"
grep -q 'from the provider' "$work/streaming.out" || fail "streaming: usage not from the provider"

echo "== budget_banner"
"$build/examples/opsmeter_budget_banner" | tee "$work/banner.out"
grep -q 'banner: Telemetry paused (plan_limit_reached)' "$work/banner.out" || fail "budget_banner: no banner"

echo "examples passed"
