#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, the `fuzz` preset: clang with ASan+UBSan) and runs
# each on its committed seed corpus for SECONDS (default 30). New inputs go to a scratch folder,
# so the tree stays clean; a crash, leak or sanitizer report fails the run and leaves the
# reproducer in that folder.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
opsmeter_ensure_packages "${OPSMETER_TEST_PACKAGES[@]}"

seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(posture retry_after usage stream_usage serialize env_config workspace spool cli_text)

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"
work=$(mktemp -d /tmp/opsmeter-fuzz.XXXXXX)
echo "scratch corpora and any reproducers: $work"
for name in "${targets[@]}"; do
  mkdir -p "$work/$name"
  echo "== $name: ${seconds} s"
  (cd "$work/$name" && "$OLDPWD/build/fuzz/tests/fuzz/opsmeter_fuzz_$name" -max_total_time="$seconds" \
    -print_final_stats=1 "$work/$name" "$OLDPWD/tests/fuzz/corpus/$name" 2>&1 | tail -n 25 |
    grep -E "DONE|cov:|stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY|crash-|leak-" || true)
  # Any artifact fails the run: a crash, a leak, a timeout, an out-of-memory or slow unit.
  artifacts=$(find "$work/$name" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o \
    -name 'timeout-*' -o -name 'oom-*' -o -name 'slow-unit-*' \) | sort)
  if [ -n "$artifacts" ]; then
    echo "$name: failing input(s) kept: $artifacts" >&2
    exit 1
  fi
done
echo "fuzz targets ran clean"
