#!/usr/bin/env bash
# Checks that a shared libopsmeter exports exactly the documented API listed in
# exported_symbols.txt (demangled names, sorted): no std template copies, no internals.
# When the API changes on purpose, regenerate the list:
#   tests/consumer/check_exports.sh build/dev/tests/libopsmeter_exports_check.so --update
# Usage: check_exports.sh SHARED_LIBRARY [--update]
set -euo pipefail
lib=$1
expected="$(cd "$(dirname "$0")" && pwd)/exported_symbols.txt"
actual=$(nm -D --defined-only -C "$lib" | cut -d' ' -f3- | LC_ALL=C sort)

if [[ ${2:-} == --update ]]; then
  printf '%s\n' "$actual" >"$expected"
  echo "updated $expected ($(wc -l <"$expected") symbols)"
  exit 0
fi
if ! diff -u "$expected" <(printf '%s\n' "$actual"); then
  echo "the exports of $lib differ from $expected (- listed, + exported)" >&2
  exit 1
fi
echo "exports match the API list: $(wc -l <"$expected") symbols"
