#!/usr/bin/env bash
# Makes sure the Debian packages opsmeter builds with are installed. Sourced by the other scripts.
# As root it installs what is missing with apt-get; otherwise it names the exact command to run.
# The second line: real peers the test suite starts (a test CA via openssl, nghttpd for
# HTTP/2, python3-h2 for a scriptable HTTP/2 server, tinyproxy), clang for the clang build and
# libclang-rt-14-dev for its libFuzzer (scripts/fuzz.sh). dpkg-dev: cpack -G DEB's dpkg-shlibdeps.
OPSMETER_PACKAGES=(g++ cmake ninja-build pkg-config dpkg-dev libcurl4-openssl-dev libssl-dev
  nlohmann-json3-dev libgtest-dev libcpp-httplib-dev libbenchmark-dev
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
