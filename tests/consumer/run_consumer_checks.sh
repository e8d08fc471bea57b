#!/usr/bin/env bash
# Installs the built opsmeter into a scratch prefix, then builds and runs a consumer program
# against it twice: through find_package(opsmeter CONFIG) and through pkg-config.
# Usage: run_consumer_checks.sh BUILD_DIR WORK_DIR CXX [CXXFLAGS]
# CXXFLAGS carries the build's own flags (sanitizers) so the consumer links against them.
set -euo pipefail
build_dir=$1
work=$2
cxx=$3
cxxflags=${4:-}
here=$(cd "$(dirname "$0")" && pwd)

rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log"

echo "== find_package(opsmeter CONFIG)"
cmake -S "$here/cmake" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$cxxflags" >"$work/configure.log"
cmake --build "$work/cmake-build" >"$work/build.log"
"$work/cmake-build/consumer"

echo "== pkg-config --cflags --libs opsmeter"
libdir=$(find "$prefix" -name opsmeter.pc -printf '%h\n' | head -n 1)
flags=$(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs opsmeter)
echo "flags: $flags"
# shellcheck disable=SC2086
"$cxx" -std=c++17 $cxxflags "$here/consumer_main.cpp" -o "$work/pkgconfig-consumer" $flags
"$work/pkgconfig-consumer"
echo "consumer checks passed"
