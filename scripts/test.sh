#!/usr/bin/env bash
# Runs the whole test suite: installs missing packages (as root), configures, builds and runs
# ctest. `scripts/test.sh` uses the dev preset; `scripts/test.sh asan|tsan|cxx20` runs the same
# suite under that preset.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
opsmeter_ensure_packages "${OPSMETER_TEST_PACKAGES[@]}"

preset=${1:-dev}
cmake --preset "$preset"
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)"
