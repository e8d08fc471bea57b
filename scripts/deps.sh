#!/usr/bin/env bash
# Makes sure the Debian packages opsmeter builds with are installed. Sourced by the other scripts.
# As root it installs what is missing with apt-get; otherwise it names the exact command to run.
# OPSMETER_PACKAGES: what the library, the mock server, the command line tool and the examples
# need (the quickstart installs only these). OPSMETER_TEST_PACKAGES: what the test suite adds:
# GoogleTest and Google Benchmark, real peers (a test CA via openssl, nghttpd for HTTP/2,
# python3-h2 for a scriptable HTTP/2 server, tinyproxy, python3-prometheus-client's parser),
# clang and libclang-rt-14-dev for the clang build and libFuzzer (scripts/fuzz.sh), and the
# packaging checks (dpkg-dev for cpack's dpkg-shlibdeps, help2man for man pages, lintian).
OPSMETER_PACKAGES=(g++ cmake ninja-build pkg-config libcurl4-openssl-dev libssl-dev
  nlohmann-json3-dev libcpp-httplib-dev)
OPSMETER_TEST_PACKAGES=(libgtest-dev libbenchmark-dev dpkg-dev help2man lintian
  openssl nghttp2-server python3-h2 python3-prometheus-client tinyproxy clang libclang-rt-14-dev)

opsmeter_ensure_packages() {
  local missing=() pkg
  for pkg in "${OPSMETER_PACKAGES[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "Installing missing packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing packages: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
}
