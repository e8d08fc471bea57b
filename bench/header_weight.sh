#!/usr/bin/env bash
# Compile-time weight of including <opsmeter/opsmeter.hpp>, against <nlohmann/json.hpp> and
# <curl/curl.h>: the median of N runs of `c++ -std=c++17 -O2 -fsyntax-only` on a translation
# unit that includes only that header. Prints one JSON line.
# Usage: header_weight.sh [runs]
set -euo pipefail
runs=${1:-15}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cxx=${CXX:-c++}

median_ms() {
  local header=$1 times=() i start end
  printf '#include <%s>\nint main() { return 0; }\n' "$header" >"$work/tu.cpp"
  "$cxx" -std=c++17 -O2 -fsyntax-only -I"$here/include" "$work/tu.cpp"  # warm the page cache
  for ((i = 0; i < runs; i++)); do
    start=$(date +%s%N)
    "$cxx" -std=c++17 -O2 -fsyntax-only -I"$here/include" "$work/tu.cpp"
    end=$(date +%s%N)
    times+=($(((end - start) / 1000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$((runs / 2 + 1))p"
}

baseline=$(median_ms cstddef)
opsmeter=$(median_ms opsmeter/opsmeter.hpp)
nlohmann=$(median_ms nlohmann/json.hpp)
curl=$(median_ms curl/curl.h)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo "{\"runs\":$runs,\"median_us\":{\"cstddef\":$baseline,\"opsmeter\":$opsmeter,\"nlohmann_json\":$nlohmann,\"curl\":$curl},\"opsmeter_over_nlohmann\":$(ratio "$opsmeter" "$nlohmann"),\"opsmeter_over_curl\":$(ratio "$opsmeter" "$curl")}"
