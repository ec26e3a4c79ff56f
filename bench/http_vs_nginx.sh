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
# With one worker, each server is pinned to CPU 0 and wrk to CPU 1, so neither starves the
# other; with two workers nothing is pinned and wrk shares the cores with the server (the same
# for both servers). nginx gets the same certificate, TLS 1.3, keep-alive without a request
# limit, and serves the same JSON bytes (return 200) and the same file (static, no sendfile
# under TLS).
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
for tool in wrk nginx openssl taskset; do
  command -v "$tool" >/dev/null || { echo "http_vs_nginx: needs $tool (apt-get install wrk nginx-light)" >&2; exit 2; }
done
[[ -x $SERVER_BIN ]] || { echo "http_vs_nginx: build $SERVER_BIN first (release preset)" >&2; exit 2; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d -t aloft-http-bench.XXXXXX)
chmod 755 "$WORK"
OUR_PID=""
NGINX_PID=""
cleanup() {
  [[ -n $OUR_PID ]] && kill "$OUR_PID" 2>/dev/null && wait "$OUR_PID" 2>/dev/null || true
  [[ -n $NGINX_PID ]] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---- shared inputs --------------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj /CN=localhost \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
head -c $((FILE_MIB * 1024 * 1024)) /dev/urandom >"$WORK/artifact.bin"
chmod 644 "$WORK"/*.pem "$WORK/artifact.bin"
CHECK_JSON='{"update":false,"nonce":"0123456789abcdef0123456789abcdef","next_check_s":3600,"signature":"3045022100c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8022012345"}'

# wrk scripts: a check-in POST, a download GET; both print one machine-readable line.
cat >"$WORK/result.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d bytes=%d duration_us=%d errors=%d\n",
    summary.requests, summary.bytes, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout))
end
EOF
cat >"$WORK/check.lua" <<'EOF'
wrk.method = "POST"
wrk.path = "/api/v1/check"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"device_id":"dev-000001","project":"demo","chip":"esp32","running_version":"1.4.2","secure_version":3,"tags":["beta","eu"],"nonce":"0123456789abcdef0123456789abcdef"}'
EOF
cat "$WORK/result.lua" >>"$WORK/check.lua"
cat >"$WORK/download.lua" <<'EOF'
wrk.method = "GET"
wrk.path = "/artifact"
EOF
cat "$WORK/result.lua" >>"$WORK/download.lua"

write_nginx_conf() {  # workers
  mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
  cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes $1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/tmp/body;
  proxy_temp_path $WORK/nginx/tmp/proxy;
  fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
  scgi_temp_path $WORK/nginx/tmp/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.3;
    location = /api/v1/check {
      default_type application/json;
      return 200 '$CHECK_JSON';
    }
    location = /artifact {
      default_type application/octet-stream;
      alias $WORK/artifact.bin;
    }
  }
}
EOF
}

# CPU time (user + system, clock ticks) consumed so far by the processes.
cpu_ticks() {  # pid...
  local total=0 pid
  for pid in "$@"; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

server_pids() {  # server
  if [[ $1 == ours ]]; then echo "$OUR_PID"; else echo "$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')"; fi
}

# Peak RSS in KiB: ours from its VmHWM; nginx as master plus workers. reset_peak_rss starts a
# new peak (clear_refs 5), so each run reports its own.
reset_peak_rss() {  # pid...
  local pid
  for pid in "$@"; do
    echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true
  done
}

current_rss_kib() {  # pid...
  local total=0 pid
  for pid in "$@"; do
    total=$((total + $(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

peak_rss_kib() {  # pid...
  local total=0 pid
  for pid in "$@"; do
    total=$((total + $(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

start_servers() {  # workers pin_prefix...
  local workers=$1
  shift
  "$@" "$SERVER_BIN" --cert "$WORK/cert.pem" --key "$WORK/key.pem" --file "$WORK/artifact.bin" \
    --threads "$workers" --chunk "$CHUNK" >"$WORK/ours.out" 2>"$WORK/ours.err" &
  OUR_PID=$!
  write_nginx_conf "$workers"
  "$@" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log" &
  NGINX_PID=$!
  local i
  for i in $(seq 100); do
    OUR_PORT=$(awk '/^port/ {print $2}' "$WORK/ours.out" 2>/dev/null || true)
    if [[ -n $OUR_PORT ]] && (exec 3<>/dev/tcp/127.0.0.1/$NGINX_PORT) 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "http_vs_nginx: servers did not start" >&2
  cat "$WORK/ours.err" "$WORK/nginx/logs/error.log" >&2
  exit 1
}

stop_servers() {
  kill "$OUR_PID" "$NGINX_PID" 2>/dev/null || true
  wait "$OUR_PID" "$NGINX_PID" 2>/dev/null || true
  OUR_PID=""
  NGINX_PID=""
}

# One wrk run; appends "workers conns kind server value errors cpu rss" to results (value:
# requests/s for check-ins, MB/s for downloads; cpu: the server's CPU microseconds per request,
# or milliseconds per MiB, which holds up better than throughput when the machine is shared;
# rss: the server's peak RSS during the run, KiB).
run_wrk() {  # workers conns kind server port pin_prefix...
  local workers=$1 conns=$2 kind=$3 server=$4 port=$5
  shift 5
  local threads=1 timeout=10s
  [[ $workers -gt 1 ]] && threads=2
  [[ $kind == download ]] && timeout=60s
  local line pids cpu_before cpu_after
  pids=$(server_pids "$server")
  # shellcheck disable=SC2086
  reset_peak_rss $pids
  # shellcheck disable=SC2086
  cpu_before=$(cpu_ticks $pids)
  line=$("$@" wrk -t"$threads" -c"$conns" -d"${DURATION}s" --timeout "$timeout" \
    -s "$WORK/$kind.lua" "https://127.0.0.1:$port" | grep '^RESULT' || true)
  # shellcheck disable=SC2086
  cpu_after=$(cpu_ticks $pids)
  local rss
  # shellcheck disable=SC2086
  rss=$(peak_rss_kib $pids)
  if [[ -z $line ]]; then
    echo "$workers $conns $kind $server 0 -1 0 $rss" >>"$WORK/results"
    return
  fi
  local requests bytes duration errors
  requests=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
  bytes=$(sed 's/.*bytes=\([0-9]*\).*/\1/' <<<"$line")
  duration=$(sed 's/.*duration_us=\([0-9]*\).*/\1/' <<<"$line")
  errors=$(sed 's/.*errors=\([0-9]*\).*/\1/' <<<"$line")
  local value cpu ticks_per_second
  ticks_per_second=$(getconf CLK_TCK)
  if [[ $kind == check ]]; then
    value=$(awk -v r="$requests" -v d="$duration" 'BEGIN {printf "%.0f", r / (d / 1e6)}')
    cpu=$(awk -v t=$((cpu_after - cpu_before)) -v hz="$ticks_per_second" -v r="$requests" \
      'BEGIN {if (r > 0) printf "%.1f", t / hz * 1e6 / r; else print 0}')
  else
    value=$(awk -v b="$bytes" -v d="$duration" 'BEGIN {printf "%.1f", b / 1048576 / (d / 1e6)}')
    cpu=$(awk -v t=$((cpu_after - cpu_before)) -v hz="$ticks_per_second" -v b="$bytes" \
      'BEGIN {if (b > 0) printf "%.2f", t / hz * 1e3 / (b / 1048576); else print 0}')
  fi
  echo "$workers $conns $kind $server $value $errors $cpu $rss" >>"$WORK/results"
  printf '  workers=%s c=%-4s %-8s %-5s %10s  cpu %-6s rss %6s MiB%s\n' "$workers" "$conns" "$kind" \
    "$server" "$value" "$cpu" "$((rss / 1024))" "$([[ $errors -gt 0 ]] && echo " ($errors errors)")" >&2
}

: >"$WORK/results"
: >"$WORK/rounds"
for workers in $WORKERS; do
  server_pin=()
  client_pin=()
  if [[ $workers -eq 1 ]]; then
    server_pin=(taskset -c 0)
    client_pin=(taskset -c 1)
  fi
  start_servers "$workers" "${server_pin[@]}"
  echo "== workers=$workers (ours pid $OUR_PID port $OUR_PORT, nginx pid $NGINX_PID port $NGINX_PORT)" >&2
  # Warm-up: page cache, TLS session state, allocator arenas.
  for kind in check download; do
    for port in "$OUR_PORT" "$NGINX_PORT"; do
      "${client_pin[@]}" wrk -t1 -c8 -d1s -s "$WORK/$kind.lua" "https://127.0.0.1:$port" >/dev/null
    done
  done
  for round in $(seq "$ROUNDS"); do
    for conns in $CONNECTIONS; do
      for kind in $KINDS; do
        # Alternate who goes first, so drift in the machine's load falls on both.
        if ((round % 2)); then order="ours nginx"; else order="nginx ours"; fi
        for server in $order; do
          port=$OUR_PORT
          [[ $server == nginx ]] && port=$NGINX_PORT
          run_wrk "$workers" "$conns" "$kind" "$server" "$port" "${client_pin[@]}"
        done
      done
    done
    # Resident memory after each whole round: flat means no growth from round to round.
    for server in ours nginx; do
      # shellcheck disable=SC2046
      echo "$workers $server $round $(current_rss_kib $(server_pids "$server"))" >>"$WORK/rounds"
    done
  done
  stop_servers
done

# ---- table ----------------------------------------------------------------------------------
echo
echo "HttpsServer vs nginx $(nginx -v 2>&1 | sed 's/.*\///'), TLS 1.3, loopback, ${ROUNDS} interleaved rounds of ${DURATION}s, medians"
echo "check-in: POST /api/v1/check, small JSON (requests/s); download: GET ${FILE_MIB} MiB file (MB/s)"
echo "cpu: server CPU per unit of work (us per request, ms per MiB); its ratio is nginx/ours"
echo "MiB: the server's highest peak RSS in any run of that row (nginx: master + workers); memory"
echo "     freed after the 1000-connection downloads stays resident (malloc keeps it), see below"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
printf '%-8s %-6s %-9s %10s %10s %6s   %-6s %9s %9s %6s   %-7s %8s %8s\n' workers conns test ours nginx \
  ratio unit "cpu ours" "cpu nginx" "ratio" "" "MiB ours" "nginx"
for workers in $WORKERS; do
  for conns in $CONNECTIONS; do
    for kind in $KINDS; do
      median() {  # server [column]
        awk -v w="$workers" -v c="$conns" -v k="$kind" -v s="$1" -v col="${2:-5}" \
          '$1 == w && $2 == c && $3 == k && $4 == s {print $col}' "$WORK/results" | sort -g |
          awk '{v[NR] = $1} END {if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
      }
      ours=$(median ours)
      theirs=$(median nginx)
      ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}')
      cpu_ours=$(median ours 7)
      cpu_theirs=$(median nginx 7)
      # CPU ratio as nginx's cost over ours: above 1 means we spend less per unit of work.
      cpu_ratio=$(awk -v a="$cpu_ours" -v b="$cpu_theirs" 'BEGIN {if (a > 0) printf "%.2f", b / a; else print "-"}')
      unit="req/s"
      cpu_unit="us/req"
      if [[ $kind == download ]]; then
        unit="MB/s"
        cpu_unit="ms/MiB"
      fi
      peak() {  # server: the highest per-run peak RSS, MiB
        awk -v w="$workers" -v c="$conns" -v k="$kind" -v s="$1" \
          '$1 == w && $2 == c && $3 == k && $4 == s && $8 > m {m = $8} END {printf "%.0f", m / 1024}' \
          "$WORK/results"
      }
      printf '%-8s %-6s %-9s %10s %10s %5sx   %-6s %9s %9s %5sx   %-7s %8s %8s\n' "$workers" "$conns" \
        "$kind" "$ours" "$theirs" "$ratio" "$unit" "$cpu_ours" "$cpu_theirs" "$cpu_ratio" "$cpu_unit" \
        "$(peak ours)" "$(peak nginx)"
    done
  done
done
errors=$(awk '$6 != 0 {n++} END {print n + 0}' "$WORK/results")
if [[ $errors -gt 0 ]]; then
  echo "note: $errors runs reported wrk errors or no result (see the lines above)"
fi
echo
echo "resident memory after each round (MiB):"
for workers in $WORKERS; do
  for server in ours nginx; do
    printf '  workers=%s %-6s' "$workers" "$server"
    awk -v w="$workers" -v s="$server" '$1 == w && $2 == s {printf " %6.0f", $4 / 1024}' "$WORK/rounds"
    echo
  done
done
