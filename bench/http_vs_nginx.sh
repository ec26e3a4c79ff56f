#!/usr/bin/env bash
# HttpsServer (bench/http_bench_server) against nginx, side by side over TLS 1.3 on loopback,
# measured with wrk in interleaved rounds. Prints a table of medians and ratios to nginx, and
# each server's peak RSS. Not part of CI's pass/fail.
#
#   cmake --preset release && cmake --build --preset release --target http_bench_server
#   bench/http_vs_nginx.sh [BUILD_DIR]        (default build/release)
#
# Knobs (environment): DURATION seconds per wrk run (5), ROUNDS (3), WORKERS ("1 2": threads for
# us, worker_processes for nginx), CONNECTIONS ("64 1000"), KINDS ("check download"), FILE_MIB
# (8), CHUNK (our file read buffer, bytes), NGINX_PORT (18444). Needs wrk and nginx-light (Debian).
#
# The machinery (pinning, interleaved rounds, CPU and RSS accounting, the table) is
# bench/lib/side_by_side.sh, shared with bench/server_vs_nginx.sh. nginx gets the same
# certificate, TLS 1.3, keep-alive without a request limit, and serves the same JSON bytes
# (return 200) and the same file (static, no sendfile under TLS).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${1:-build/release}
SERVER_BIN=$BUILD_DIR/bench/http_bench_server
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-"1 2"}
CONNECTIONS=${CONNECTIONS:-"64 1000"}
KINDS=${KINDS:-"check download"}
FILE_MIB=${FILE_MIB:-8}
CHUNK=${CHUNK:-32768}
NGINX_PORT=${NGINX_PORT:-18444}

scripts/deps.sh bench
[[ -x $SERVER_BIN ]] || { echo "http_vs_nginx: build $SERVER_BIN first (release preset)" >&2; exit 2; }
# shellcheck source=bench/lib/side_by_side.sh
source bench/lib/side_by_side.sh

WORK=$(mktemp -d -t aloft-http-bench.XXXXXX)
chmod 755 "$WORK"
trap 'stop_all; rm -rf "$WORK"' EXIT
side_by_side_init

# ---- shared inputs --------------------------------------------------------------------------
CERT=$WORK/cert.pem
KEY=$WORK/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout "$KEY" -out "$CERT" -subj /CN=localhost \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
head -c $((FILE_MIB * 1024 * 1024)) /dev/urandom >"$WORK/artifact.bin"
chmod 644 "$WORK"/*.pem "$WORK/artifact.bin"
CHECK_JSON='{"update":false,"nonce":"0123456789abcdef0123456789abcdef","next_check_s":3600,"signature":"3045022100c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8022012345"}'

# wrk scripts: a check-in POST, a download GET; both print one machine-readable line.
cat >"$WORK/check.lua" <<'LUA'
wrk.method = "POST"
wrk.path = "/api/v1/check"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"device_id":"dev-000001","project":"demo","chip":"esp32","running_version":"1.4.2","secure_version":3,"tags":["beta","eu"],"nonce":"0123456789abcdef0123456789abcdef"}'
LUA
cat "$WORK/result.lua" >>"$WORK/check.lua"
cat >"$WORK/download.lua" <<'LUA'
wrk.method = "GET"
wrk.path = "/artifact"
LUA
cat "$WORK/result.lua" >>"$WORK/download.lua"

nginx_locations() {
  cat <<NGINX
    location = /api/v1/check {
      default_type application/json;
      return 200 '$CHECK_JSON';
    }
    location = /artifact {
      default_type application/octet-stream;
      alias $WORK/artifact.bin;
    }
NGINX
}

start_ours() {  # workers pin_prefix...
  local workers=$1
  shift
  "$@" "$SERVER_BIN" --cert "$CERT" --key "$KEY" --file "$WORK/artifact.bin" \
    --threads "$workers" --chunk "$CHUNK" >"$WORK/ours.out" 2>"$WORK/ours.err" &
  OUR_PID=$!
  OUR_PORT=""
  local i
  for i in $(seq 100); do
    OUR_PORT=$(awk '/^port/ {print $2}' "$WORK/ours.out" 2>/dev/null || true)
    [[ -n $OUR_PORT ]] && return 0
    sleep 0.1
  done
  echo "http_vs_nginx: our server did not start" >&2
  cat "$WORK/ours.err" >&2
  exit 1
}

run_rounds
print_table \
  "HttpsServer vs nginx $(nginx -v 2>&1 | sed 's/.*\///'), TLS 1.3, loopback, ${ROUNDS} interleaved rounds of ${DURATION}s, medians" \
  "check-in: POST /api/v1/check, small JSON (requests/s); download: GET ${FILE_MIB} MiB file (MB/s)"
