# Sourced by the scripts that run against the standalone mock ingest server.
#
# opsmeter_start_mock_server BIN API_KEY [EXTRA_ARGS...]
#   starts BIN (opsmeter-mock-server) on a free loopback port in the background, waits up to
#   10 s for it to write its port, and sets MOCK_PID and MOCK_BASE_URL ("http://127.0.0.1:P",
#   or "https://..." when EXTRA_ARGS include --tls-cert and --tls-key).
# opsmeter_stop_mock_server
#   stops it and removes its scratch folder; safe to call twice (call it from an EXIT trap).

opsmeter_start_mock_server() {
  local bin=$1 key=$2
  shift 2
  MOCK_DIR=$(mktemp -d)
  "$bin" --port 0 --api-key "$key" --port-file "$MOCK_DIR/port" "$@" >"$MOCK_DIR/server.log" 2>&1 &
  MOCK_PID=$!
  for _ in $(seq 1 200); do
    [ -s "$MOCK_DIR/port" ] && break
    sleep 0.05
  done
  if [ ! -s "$MOCK_DIR/port" ]; then
    cat "$MOCK_DIR/server.log" >&2
    echo "mock server did not start" >&2
    return 1
  fi
  local scheme=http
  case " $* " in *" --tls-cert "*) scheme=https ;; esac
  MOCK_BASE_URL="$scheme://127.0.0.1:$(cat "$MOCK_DIR/port")"
}

opsmeter_stop_mock_server() {
  if [ -n "${MOCK_PID:-}" ]; then
    kill "$MOCK_PID" 2>/dev/null || true
    wait "$MOCK_PID" 2>/dev/null || true
  fi
  if [ -n "${MOCK_DIR:-}" ]; then rm -rf "$MOCK_DIR"; fi
  MOCK_PID=
  MOCK_DIR=
  return 0
}
