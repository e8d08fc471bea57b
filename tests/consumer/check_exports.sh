#!/usr/bin/env bash
# Builds libopsmeter as a shared library and checks that its dynamic symbols are exactly the
# documented API listed in exported_symbols.txt (demangled, one per line, sorted): no std
# template copies, no internals. When the API changes on purpose, regenerate the list with
#   tests/consumer/check_exports.sh SRC WORK CXX --update
# Usage: check_exports.sh SOURCE_DIR WORK_DIR CXX [--update]
set -euo pipefail
src=$1
work=$2
cxx=$3
here=$(cd "$(dirname "$0")" && pwd)
expected="$here/exported_symbols.txt"

mkdir -p "$work"
# -O0 -g0: only the symbol table matters, and this keeps the extra build short.
cmake -S "$src" -B "$work" -G Ninja -DBUILD_SHARED_LIBS=ON -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="-O0 -g0" -DOPSMETER_BUILD_TESTS=OFF \
  -DOPSMETER_BUILD_EXAMPLES=OFF -DOPSMETER_BUILD_MOCK_SERVER=OFF -DOPSMETER_BUILD_BENCH=OFF \
  >"$work/configure.log"
cmake --build "$work" --target opsmeter >"$work/build.log"
lib=$(find "$work" -maxdepth 1 -name 'libopsmeter.so.*.*.*' | head -n 1)
nm -D --defined-only -C "$lib" | cut -d' ' -f3- | LC_ALL=C sort >"$work/exported.txt"

if [[ ${4:-} == --update ]]; then
  cp "$work/exported.txt" "$expected"
  echo "updated $expected ($(wc -l <"$expected") symbols)"
  exit 0
fi
if ! diff -u "$expected" "$work/exported.txt"; then
  echo "the exported symbols differ from $expected (- expected, + exported)" >&2
  exit 1
fi
echo "exports match the API list: $(wc -l <"$expected") symbols"
