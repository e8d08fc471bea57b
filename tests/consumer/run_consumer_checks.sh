#!/usr/bin/env bash
# Installs the built opsmeter into a scratch prefix, then builds and runs consumers against it:
# through find_package(opsmeter CONFIG) (also with pkg-config hidden: plain find_package must not
# need cpp-httplib, and COMPONENTS testing must say what it misses), with the testing component,
# and through pkg-config. With SOURCE_DIR it also builds a parent project that takes opsmeter in
# with FetchContent and checks that nothing leaks into it.
# Usage: run_consumer_checks.sh BUILD_DIR WORK_DIR CXX [CXXFLAGS] [SOURCE_DIR]
# CXXFLAGS carries the build's own flags (sanitizers) so the consumer links against them.
set -euo pipefail
build_dir=$1
work=$2
cxx=$3
cxxflags=${4:-}
source_dir=${5:-}
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

# pkg-config that finds no module at all: cpp-httplib is "not installed".
nopc=(env PKG_CONFIG_LIBDIR="$work/no-pkgconfig" PKG_CONFIG_PATH=)
echo "== find_package(opsmeter) with no pkg-config module: needs only libcurl and OpenSSL"
"${nopc[@]}" cmake -S "$here/cmake" -B "$work/cmake-nopc" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$cxxflags" >"$work/configure-nopc.log"
cmake --build "$work/cmake-nopc" >"$work/build-nopc.log"

echo "== find_package(opsmeter COMPONENTS testing) without cpp-httplib: a clear failure"
if "${nopc[@]}" cmake -S "$here/cmake" -B "$work/cmake-testing-nopc" -DCMAKE_PREFIX_PATH="$prefix" \
    -DWITH_TESTING=ON -DCMAKE_CXX_COMPILER="$cxx" >"$work/configure-testing-nopc.log" 2>&1; then
  echo "COMPONENTS testing configured without cpp-httplib" >&2
  exit 1
fi
grep -q "opsmeter::testing needs cpp-httplib" "$work/configure-testing-nopc.log" || {
  cat "$work/configure-testing-nopc.log" >&2
  exit 1
}

if [ -n "$(find "$prefix" -name opsmeterTestingTargets.cmake)" ]; then
  echo "== find_package(opsmeter COMPONENTS testing)"
  cmake -S "$here/cmake" -B "$work/cmake-testing" -DCMAKE_PREFIX_PATH="$prefix" -DWITH_TESTING=ON \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$cxxflags" >"$work/configure-testing.log"
  cmake --build "$work/cmake-testing" >"$work/build-testing.log"
  "$work/cmake-testing/testing_consumer"
fi

echo "== installed documents"
for doc in LICENSE README.md CHANGELOG.md; do
  [ -n "$(find "$prefix/share/doc" -name "$doc")" ] || { echo "missing $doc" >&2; exit 1; }
done

echo "== pkg-config --cflags --libs opsmeter"
libdir=$(find "$prefix" -name opsmeter.pc -printf '%h\n' | head -n 1)
flags=$(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs opsmeter)
echo "flags: $flags"
# shellcheck disable=SC2086
"$cxx" -std=c++17 $cxxflags "$here/consumer_main.cpp" -o "$work/pkgconfig-consumer" $flags
"$work/pkgconfig-consumer"

if [ -n "$source_dir" ]; then
  echo "== FetchContent in a parent project (-Werror, Debug, its own tests/examples/install)"
  cmake -S "$here/subproject" -B "$work/subproject" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DOPSMETER_SOURCE_DIR="$source_dir" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_CXX_FLAGS="$cxxflags" >"$work/subproject-configure.log"
  cmake --build "$work/subproject" >"$work/subproject-build.log"
  grep -q "^CMAKE_BUILD_TYPE:STRING=Debug$" "$work/subproject/CMakeCache.txt"
  cmake --install "$work/subproject" --prefix "$work/subproject-prefix" >"$work/subproject-install.log"
  installed=$(cd "$work/subproject-prefix" && find . -type f | sort)
  if [ "$installed" != "./bin/tests" ]; then
    echo "the parent's install put more than its own program: $installed" >&2
    exit 1
  fi
fi
echo "consumer checks passed"
