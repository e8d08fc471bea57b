#!/usr/bin/env bash
# The noisy-API runs (docs/benchmarks.md): opsmeter-load with the client's default delivery
# options (4 requests in flight over HTTP/1.1, 32 streams over HTTP/2) against
#   quiet        one record answered 429 (Retry-After: 1), 3 s idle, then 200 at once;
#   random-429   5% of answers 429 (Retry-After: 1) at random, 5,000 records at once, 60 s;
#   slow-tail    2% of answers 2 s late, 5,000 records at once, over HTTP/1.1 (the in-process
#                mock server) and over HTTPS/2 (tests/tls/h2_server.py, HTTP/2 only, the test
#                CA; each record is logged on arrival, each slow stream answered on its own);
#   outage       250 records/s for 40 s, the server stopped (connections reset, new ones
#                refused) from 8 s to 23 s, then listening again on the same port;
#   bucket       20,000 records against a 500/s token bucket 50 deep;
#   fleet        8 processes sharing that bucket (the standalone mock server), 2,500 each.
# Each prints the tool's JSON line; the fleet prints one per process and the server's counts.
# Usage: bench/noisy_api.sh [BUILD_DIR] [RUN...]   (default build/dev, every run)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/dev}
shift || true
runs=("$@")
[ ${#runs[@]} -eq 0 ] && runs=(quiet random-429 slow-tail outage bucket fleet)
load="$bin/bench/opsmeter-load"
work=$(mktemp -d /tmp/opsmeter-noisy.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

wait_for_file() {  # PATH: until it exists and is not empty, at most 10 s
  for _ in $(seq 1 1000); do
    [ -s "$1" ] && return 0
    sleep 0.01
  done
  echo "noisy_api.sh: $1 never appeared" >&2
  return 1
}

for run in "${runs[@]}"; do
  echo "== $run"
  case $run in
    quiet) "$load" --mode quiet --records 200 --in-flight 4 ;;
    random-429)
      "$load" --mode random-429 --fraction 0.05 --records 5000 --threads 1 --in-flight 4 \
        --flush-timeout-s 60 || true ;;
    slow-tail)
      echo "-- HTTP/1.1"
      "$load" --mode slow-tail --fraction 0.02 --delay-ms 2000 --records 5000 --threads 1 --in-flight 4
      echo "-- HTTPS/2"
      tests/tls/make_test_pki.sh "$work/pki" >/dev/null
      /usr/bin/python3 tests/tls/h2_server.py --cert "$work/pki/server.pem" --key "$work/pki/server.key" \
        --port-file "$work/h2.port" --log "$work/h2.log" --delay-ms 2000 --delay-fraction 0.02 \
        --stats-file "$work/h2.stats" &
      pids+=($!)
      wait_for_file "$work/h2.port"
      "$load" --base-url "https://127.0.0.1:$(cat "$work/h2.port")" --ca-bundle "$work/pki/ca.pem" \
        --records 5000 --threads 1 --in-flight 4
      echo "{\"h2_server\":{\"requests\":$(wc -l <"$work/h2.log"),\"ids\":$(cut -d' ' -f2 "$work/h2.log" | sort -u | wc -l),\"most_streams_open\":$(cat "$work/h2.stats")}}"
      kill "${pids[-1]}" ;;
    outage)
      "$load" --mode outage --pace 250 --seconds 40 --down-from 8 --down-to 23 --in-flight 4 ;;
    bucket)
      "$load" --mode rate-limited --rate 500 --burst 50 --records 20000 --threads 4 --queue 20000 \
        --in-flight 4 ;;
    fleet)
      "$bin/opsmeter-mock-server" --port 0 --port-file "$work/mock.port" --rate-limit 500 \
        --rate-burst 50 >"$work/mock.log" 2>&1 &
      pids+=($!)
      wait_for_file "$work/mock.port"
      base="http://127.0.0.1:$(cat "$work/mock.port")"
      fleet=()
      for i in 1 2 3 4 5 6 7 8; do
        "$load" --base-url "$base" --records 2500 --threads 1 --in-flight 4 >"$work/fleet-$i.json" &
        fleet+=($!)
      done
      for pid in "${fleet[@]}"; do wait "$pid" || true; done
      cat "$work"/fleet-*.json
      curl -sS "$base/__stats" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({k: d[k] for k in d if k not in ("requests", "records")}))'
      kill "${pids[-1]}" ;;
    *) echo "noisy_api.sh: unknown run $run" >&2; exit 2 ;;
  esac
done
