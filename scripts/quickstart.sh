#!/usr/bin/env bash
# The main job: installs missing packages (as root), builds opsmeter and runs the bundled
# example, which prints the exact JSON body of the canonical record.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
opsmeter_ensure_packages

cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)" --target opsmeter_print_record
./build/dev/examples/opsmeter_print_record
