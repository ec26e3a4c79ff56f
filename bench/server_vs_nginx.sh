#!/usr/bin/env bash
# aloftd against nginx, side by side over TLS 1.3 on loopback, measured with wrk in interleaved
# rounds (the machinery is bench/lib/side_by_side.sh, shared with bench/http_vs_nginx.sh).
# Prints the medians, their ratios to nginx, CPU per unit of work and aloftd's peak RSS. Not part
# of CI's pass/fail. Targets (issue 5): >= 0.8x nginx for check-ins, >= 0.9x for downloads, at
# 64 and 1,000 connections, with flat memory.
#
#   bench/server_vs_nginx.sh [BUILD_DIR]          (default build/release; built if missing)
#
# What runs: a release aloftd on a fresh data dir in /dev/shm (SQLite), DEVICES registered
# devices (10,000), a signed release published and rolled out to 10% of them. The check-in test
# POSTs real check-ins, rotating through every device's id and token (so the credential cache
# and the check-in buffer see the whole fleet); about 10% of the answers carry the release
# (~2.6 KB), the rest "no update". nginx answers the same URL with a static "no update" JSON and
# a constant X-Aloft-Freshness header. The download test GETs a FILE_MIB MiB artifact, with a
# device token, from aloftd's artifact store and from nginx's static file.
#
# Knobs (environment): DURATION (5), ROUNDS (3), WORKERS ("1 2": aloftd io_threads, nginx
# worker_processes), CONNECTIONS ("64 1000"), KINDS ("check download"), DEVICES (10000),
# FILE_MIB (8), NGINX_PORT (18445), ALOFTD_ENV (assignments for aloftd alone, as `env` takes
# them: "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2" tried other allocators).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${1:-${ALOFT_BUILD_DIR:-build/release}}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-"1 2"}
CONNECTIONS=${CONNECTIONS:-"64 1000"}
KINDS=${KINDS:-"check download"}
DEVICES=${DEVICES:-10000}
FILE_MIB=${FILE_MIB:-8}
NGINX_PORT=${NGINX_PORT:-18445}
ALOFTD=$BUILD_DIR/src/server/aloftd
ALOFT=$BUILD_DIR/src/cli/aloft
SEED=$BUILD_DIR/bench/server_bench_seed

scripts/deps.sh build bench
if [[ ! -x $ALOFTD || ! -x $ALOFT || ! -x $SEED ]]; then
  if [[ $BUILD_DIR != build/release ]]; then
    echo "server_vs_nginx: build aloftd, aloft and server_bench_seed in $BUILD_DIR first" >&2
    exit 2
  fi
  [[ -f build/release/build.ninja ]] || cmake --preset release >/dev/null
  cmake --build --preset release --target aloftd aloft server_bench_seed >/dev/null
fi
# shellcheck source=bench/lib/side_by_side.sh
source bench/lib/side_by_side.sh

# tmpfs: the database's fsyncs (device registration) cost nothing, and neither server reads a
# disk while measured.
WORK=$(mktemp -d -p /dev/shm aloft-server-bench.XXXXXX 2>/dev/null || mktemp -d -t aloft-server-bench.XXXXXX)
chmod 755 "$WORK"
trap 'stop_all; rm -rf "$WORK"' EXIT
side_by_side_init

# ---- aloftd's data: devices, a release, a 10% rollout, a download artifact -------------------
DATA=$WORK/data
"$ALOFT" server init --data "$DATA" >/dev/null
CERT=$DATA/server.pem
KEY=$WORK/server.key
cp "$DATA/server.key" "$KEY"
chmod 644 "$KEY" "$CERT"  # nginx's workers read it as another user
"$SEED" --db "sqlite:$DATA/aloft.db" --devices "$DEVICES" --project aloft_vec_c3 --chip esp32c3 \
  --tokens "$WORK/tokens.txt" >/dev/null
head -c $((FILE_MIB * 1024 * 1024)) /dev/urandom >"$WORK/artifact.bin"
SHA=$(sha256sum "$WORK/artifact.bin" | cut -c1-64)
mkdir -p "$WORK/static"
cp "$WORK/artifact.bin" "$WORK/static/$SHA"
chmod -R a+rX "$WORK/static"
FIRST_TOKEN=$(awk 'NR == 1 {print $2}' "$WORK/tokens.txt")

start_ours() {  # workers pin_prefix...
  local workers=$1
  shift
  printf '{"listen":"127.0.0.1:0","io_threads":%s,"log_level":"warn"}\n' "$workers" >"$DATA/aloftd.conf"
  env ${ALOFTD_ENV:-} "$@" "$ALOFTD" --data "$DATA" >"$WORK/ours.out" 2>"$WORK/ours.err" &
  OUR_PID=$!
  OUR_PORT=""
  local i
  for i in $(seq 200); do
    OUR_PORT=$(awk '/listening on port/ {print $NF}' "$WORK/ours.out" 2>/dev/null || true)
    [[ -n $OUR_PORT ]] && return 0
    sleep 0.1
  done
  echo "server_vs_nginx: aloftd did not start" >&2
  cat "$WORK/ours.err" >&2
  exit 1
}

# Publish through a running aloftd, as an operator would (aloft key/sign/release).
start_ours 1
S=(--server "https://127.0.0.1:$OUR_PORT" --ca "$DATA/ca.pem" --token "$(cat "$DATA/admin.token")")
"$ALOFT" key gen --type ecdsa-p256 -o "$WORK/release.pem" >/dev/null
"$ALOFT" sign tests/vectors/app-image/images/esp32c3_app_securepad.bin --key "$WORK/release.pem" \
  -o "$WORK/signed.bin" >/dev/null
"$ALOFT" release make "$WORK/signed.bin" --key "$WORK/release.pem" -o "$WORK/RELEASE.json" >/dev/null
"$ALOFT" key register "${S[@]}" --project aloft_vec_c3 "$WORK/release.pem" >/dev/null
"$ALOFT" release publish "${S[@]}" "$WORK/signed.bin" "$WORK/RELEASE.json" >/dev/null
"$ALOFT" rollout start "${S[@]}" --release 2.3.4-rc1 --percent 10 >/dev/null
curl -sf --cacert "$DATA/ca.pem" -H "Authorization: Bearer $(cat "$DATA/admin.token")" \
  -X PUT --data-binary @"$WORK/artifact.bin" "https://127.0.0.1:$OUR_PORT/api/v1/artifacts/$SHA" >/dev/null
stop_all

# ---- wrk scripts ----------------------------------------------------------------------------
# Check-ins rotate through every registered device: each thread starts at its own offset.
cat >"$WORK/check.lua" <<LUA
local ids, tokens = {}, {}
for line in io.lines("$WORK/tokens.txt") do
  local id, token = line:match("^(%S+) (%S+)$")
  ids[#ids + 1] = id
  tokens[#tokens + 1] = token
end
local count = #ids
local next_thread = 0
setup = function(thread)
  thread:set("offset", next_thread * 2503)
  next_thread = next_thread + 1
end
local i = 0
request = function()
  i = i + 1
  local n = (offset + i) % count + 1
  local body = '{"device_id":"' .. ids[n] .. '","project":"aloft_vec_c3","chip":"esp32c3",'
    .. '"version":"1.0.0","secure_version":1,"tags":[],'
    .. '"nonce":"00112233445566778899aabbccddeeff"}'
  return wrk.format("POST", "/api/v1/check",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tokens[n]}, body)
end
LUA
cat "$WORK/result.lua" >>"$WORK/check.lua"
cat >"$WORK/download.lua" <<LUA
wrk.method = "GET"
wrk.path = "/api/v1/artifacts/$SHA"
wrk.headers["Authorization"] = "Bearer $FIRST_TOKEN"
LUA
cat "$WORK/result.lua" >>"$WORK/download.lua"

# nginx: a "no update" answer of the same shape, with a freshness header, and the same file.
NO_UPDATE='{"nonce":"00112233445566778899aabbccddeeff","server_time_ms":1767225600000,"update":null}'
nginx_locations() {
  cat <<NGINX
    location = /api/v1/check {
      default_type application/json;
      add_header Cache-Control no-store;
      add_header X-Aloft-Freshness 6bdb19538c597e089bcb8e5438b966c179a97a964a45bdfd80083d0046ba21a5;
      return 200 '$NO_UPDATE';
    }
    location /api/v1/artifacts/ {
      default_type application/octet-stream;
      alias $WORK/static/;
    }
NGINX
}

run_rounds
print_table \
  "aloftd vs nginx $(nginx -v 2>&1 | sed 's/.*\///'), TLS 1.3, loopback, ${ROUNDS} interleaved rounds of ${DURATION}s, medians" \
  "aloftd: SQLite in tmpfs, $DEVICES registered devices, a 10% rollout; nginx: static answers" \
  "check-in: POST /api/v1/check rotating through every device's token (requests/s)" \
  "download: GET /api/v1/artifacts/<sha256>, ${FILE_MIB} MiB (MB/s)"
echo
echo "aloftd peak RSS over all runs: $(awk '$4 == "ours" && $8 > m {m = $8} END {printf "%.0f MiB", m / 1024}' "$WORK/results")"
