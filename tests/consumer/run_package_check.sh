#!/usr/bin/env bash
# Builds the Debian packages of a static build (cpack -G DEB), checks their metadata and
# contents, installs them with dpkg into a scratch root, checks that every shared library the
# installed programs load belongs to a package they depend on, builds consumers against the
# installed files, and runs the installed `opsmeter doctor` against the installed mock server.
# Usage: run_package_check.sh BUILD_DIR WORK_DIR CXX
set -euo pipefail
build_dir=$1
work=$2
cxx=$3
here=$(cd "$(dirname "$0")" && pwd)

rm -rf "$work"
mkdir -p "$work"
(cd "$build_dir" && cpack -G DEB -B "$work/packages") >"$work/cpack.log"
dev=$(ls "$work"/packages/libopsmeter-dev_*.deb)
tools=$(ls "$work"/packages/opsmeter-tools_*.deb)

echo "== package metadata"
for deb in "$dev" "$tools"; do
  dpkg-deb -f "$deb" Package Version Architecture Depends
done
dev_depends=$(dpkg-deb -f "$dev" Depends)
tools_depends=$(dpkg-deb -f "$tools" Depends)

echo "== lintian: no errors"
if command -v lintian >/dev/null; then
  # As root lintian says it should not be; that line is not a finding.
  lintian --tag-display-limit 0 "$dev" "$tools" >"$work/lintian.log" 2>&1 || true
  grep -v 'running with root privileges' "$work/lintian.log" || true
  if grep -q '^E: ' "$work/lintian.log"; then echo "lintian reports errors" >&2; exit 1; fi
else
  echo "lintian not installed (apt-get install lintian; scripts/deps.sh does)" >&2; exit 1
fi
depends_count=$(echo "$tools_depends" | tr ',' '\n' | grep -c 'libcurl4 ' || true)
[ "$depends_count" -eq 1 ] || { echo "opsmeter-tools names libcurl4 $depends_count times: $tools_depends" >&2; exit 1; }

echo "== package contents"
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
expect_file() {  # deb path
  dpkg-deb -c "$1" | awk '{print $6}' | grep -qx "./$2" || { echo "$(basename "$1") lacks $2" >&2; exit 1; }
}
for f in usr/include/opsmeter/opsmeter.hpp usr/include/opsmeter/testing/mock_ingest_server.hpp \
         usr/include/opsmeter/adapters/nlohmann_json.hpp \
         "usr/lib/$arch/libopsmeter.a" "usr/lib/$arch/cmake/opsmeter/opsmeterConfig.cmake" \
         "usr/lib/$arch/pkgconfig/opsmeter.pc" usr/share/doc/opsmeter/LICENSE \
         usr/share/doc/libopsmeter-dev/copyright usr/share/doc/libopsmeter-dev/changelog.gz; do
  expect_file "$dev" "$f"
done
for f in usr/bin/opsmeter usr/bin/opsmeter-mock-server usr/share/doc/opsmeter-tools/LICENSE \
         usr/share/doc/opsmeter-tools/copyright usr/share/doc/opsmeter-tools/changelog.gz \
         usr/share/man/man1/opsmeter.1.gz usr/share/man/man1/opsmeter-mock-server.1.gz; do
  expect_file "$tools" "$f"
done
if dpkg-deb -c "$dev" | awk '{print $6}' | grep -q '^./usr/bin/.'; then
  echo "libopsmeter-dev carries programs" >&2; exit 1
fi
if dpkg-deb -c "$tools" | awk '{print $6}' | grep -Eq '^./usr/(include|lib)/.'; then
  echo "opsmeter-tools carries development files" >&2; exit 1
fi

echo "== dpkg -i into a scratch root"
root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
# The scratch root has no other packages, so dependencies are checked below against this machine.
dpkg --root="$root" --force-depends --force-not-root --log=/dev/null -i "$dev" "$tools" >"$work/dpkg.log" 2>&1 || {
  cat "$work/dpkg.log" >&2; exit 1; }
dpkg --root="$root" -l libopsmeter-dev opsmeter-tools | grep -E '^ii' 

# "pkg" is named in a Depends field (alone or as an alternative).
depends_on() {  # depends-field package
  echo "$1" | tr ',|' '\n\n' | sed -e 's/(.*)//' -e 's/ //g' | grep -qx "$2"
}
owner() {  # file -> the package that ships it on this machine
  local path=$1 pkg
  pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(realpath "$path")" 2>/dev/null || \
        dpkg -S "${path#/usr}" 2>/dev/null || true)
  echo "${pkg%%:*}"
}

echo "== the libraries the programs link (NEEDED) come from packages opsmeter-tools depends on"
for program in "$root/usr/bin/opsmeter" "$root/usr/bin/opsmeter-mock-server"; do
  for soname in $(objdump -p "$program" | awk '$1 == "NEEDED" {print $2}'); do
    ldd "$program" | awk -v so="$soname" '$1 == so && $2 == "=>" {print $3}'
  done
done | sort -u >"$work/needed"
[ -s "$work/needed" ] || { echo "found no linked libraries" >&2; exit 1; }
while read -r lib; do
  pkg=$(owner "$lib")
  [ -n "$pkg" ] || { echo "no package ships $lib" >&2; exit 1; }
  depends_on "$tools_depends" "$pkg" || { echo "opsmeter-tools loads $lib from $pkg but does not depend on it" >&2; exit 1; }
  echo "$lib: $pkg"
done <"$work/needed"

echo "== a static link needs libcurl and libcrypto: libopsmeter-dev depends on their -dev packages"
for module in libcurl libcrypto; do
  pc=$(pkg-config --variable=pcfiledir "$module")/$module.pc
  pkg=$(owner "$pc")
  depends_on "$dev_depends" "$pkg" || { echo "libopsmeter-dev needs $pkg ($module) but does not depend on it" >&2; exit 1; }
  echo "$module: $pkg"
done

echo "== consumers built against the installed package"
cmake -S "$here/cmake" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$root/usr" -DWITH_TESTING=ON \
  -DCMAKE_CXX_COMPILER="$cxx" >"$work/consumer-configure.log"
cmake --build "$work/consumer" >"$work/consumer-build.log"
grep -q "$root/usr/lib/$arch/cmake/opsmeter" "$work/consumer/CMakeCache.txt"
"$work/consumer/consumer"
"$work/consumer/testing_consumer"

echo "== the installed opsmeter doctor against the installed mock server"
"$root/usr/bin/opsmeter" --version
"$root/usr/bin/opsmeter-mock-server" --port-file "$work/port" --api-key pkg-key >"$work/mock.log" 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { echo "the mock server did not start" >&2; cat "$work/mock.log" >&2; exit 1; }
env -i PATH=/usr/bin:/bin OPSMETER_API_KEY=pkg-key OPSMETER_API_BASE_URL="http://127.0.0.1:$(cat "$work/port")" \
  "$root/usr/bin/opsmeter" doctor
echo "package check passed"
