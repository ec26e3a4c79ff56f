# Shared machinery of the benchmarks that run one of our servers side by side with nginx over
# TLS on loopback, measured with wrk in interleaved rounds (bench/http_vs_nginx.sh,
# bench/server_vs_nginx.sh). Sourced, not run. Not part of CI's pass/fail.
#
# The caller sets WORK (a scratch directory), DURATION, ROUNDS, WORKERS, CONNECTIONS, KINDS
# (each KIND has a wrk script $WORK/KIND.lua; kinds named "check..." are measured in requests/s,
# others in MB/s), NGINX_PORT, CERT and KEY (PEM files nginx serves), and defines:
#   start_ours WORKERS PIN_PREFIX...   start our server in the background: set OUR_PID, OUR_PORT
#   nginx_locations                    print nginx's `location` blocks (the equivalent answers)
# Then: side_by_side_init; run_rounds; print_table "TITLE LINE"...
#
# With one worker, each server is pinned to CPU 0 and wrk to CPU 1, so neither starves the
# other; with two workers nothing is pinned and wrk shares the cores with the server (the same
# for both servers).

OUR_PID=""
NGINX_PID=""

side_by_side_init() {
  for tool in wrk nginx openssl taskset; do
    command -v "$tool" >/dev/null || { echo "bench: needs $tool (apt-get install wrk nginx-light)" >&2; exit 2; }
  done
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  : >"$WORK/results"
  : >"$WORK/rounds"
  # wrk's done() prints one machine-readable line; every KIND.lua should end with this.
  cat >"$WORK/result.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d bytes=%d duration_us=%d errors=%d\n",
    summary.requests, summary.bytes, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout))
end
EOF
}

stop_all() {
  [[ -n $OUR_PID ]] && kill "$OUR_PID" 2>/dev/null && wait "$OUR_PID" 2>/dev/null || true
  [[ -n $NGINX_PID ]] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
  OUR_PID=""
  NGINX_PID=""
}

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
    ssl_certificate $CERT;
    ssl_certificate_key $KEY;
    ssl_protocols TLSv1.3;
$(nginx_locations)
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

server_pids() {  # ours|nginx
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
  start_ours "$workers" "$@"
  write_nginx_conf "$workers"
  "$@" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log" &
  NGINX_PID=$!
  local i
  for i in $(seq 100); do
    if [[ -n $OUR_PORT ]] && (exec 3<>/dev/tcp/127.0.0.1/$NGINX_PORT) 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "bench: servers did not start" >&2
  cat "$WORK/nginx/logs/error.log" >&2
  exit 1
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
  [[ $kind != check* ]] && timeout=60s
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
  if [[ $kind == check* ]]; then
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

# Every round of every worker count: warm-up, then each (connections, kind) for both servers,
# alternating which goes first; resident memory after each round.
run_rounds() {
  local workers server_pin client_pin round conns kind order server port
  for workers in $WORKERS; do
    server_pin=()
    client_pin=()
    if [[ $workers -eq 1 ]]; then
      server_pin=(taskset -c 0)
      client_pin=(taskset -c 1)
    fi
    start_servers "$workers" "${server_pin[@]}"
    echo "== workers=$workers (ours pid $OUR_PID port $OUR_PORT, nginx pid $NGINX_PID port $NGINX_PORT)" >&2
    # Warm-up: page cache, TLS session state, allocator arenas, our caches.
    for kind in $KINDS; do
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
    stop_all
  done
}

# The table of medians and ratios, after the caller's title lines.
print_table() {  # title lines...
  echo
  local line
  for line in "$@"; do
    echo "$line"
  done
  echo "cpu: server CPU per unit of work (us per request, ms per MiB); its ratio is nginx/ours"
  echo "MiB: the server's highest peak RSS in any run of that row (nginx: master + workers)"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
  printf '%-8s %-6s %-9s %10s %10s %6s   %-6s %9s %9s %6s   %-7s %8s %8s\n' workers conns test ours nginx \
    ratio unit "cpu ours" "cpu nginx" "ratio" "" "MiB ours" "nginx"
  local workers conns kind ours theirs ratio cpu_ours cpu_theirs cpu_ratio unit cpu_unit
  for workers in $WORKERS; do
    for conns in $CONNECTIONS; do
      for kind in $KINDS; do
        median() {  # server [column]
          awk -v w="$workers" -v c="$conns" -v k="$kind" -v s="$1" -v col="${2:-5}" \
            '$1 == w && $2 == c && $3 == k && $4 == s {print $col}' "$WORK/results" | sort -g |
            awk '{v[NR] = $1} END {if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
        }
        peak() {  # server: the highest per-run peak RSS, MiB
          awk -v w="$workers" -v c="$conns" -v k="$kind" -v s="$1" \
            '$1 == w && $2 == c && $3 == k && $4 == s && $8 > m {m = $8} END {printf "%.0f", m / 1024}' \
            "$WORK/results"
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
        if [[ $kind != check* ]]; then
          unit="MB/s"
          cpu_unit="ms/MiB"
        fi
        printf '%-8s %-6s %-9s %10s %10s %5sx   %-6s %9s %9s %5sx   %-7s %8s %8s\n' "$workers" "$conns" \
          "$kind" "$ours" "$theirs" "$ratio" "$unit" "$cpu_ours" "$cpu_theirs" "$cpu_ratio" "$cpu_unit" \
          "$(peak ours)" "$(peak nginx)"
      done
    done
  done
  local errors
  errors=$(awk '$6 != 0 {n++} END {print n + 0}' "$WORK/results")
  if [[ $errors -gt 0 ]]; then
    echo "note: $errors runs reported wrk errors or no result (see the lines above)"
  fi
  echo
  echo "resident memory after each round (MiB):"
  local server
  for workers in $WORKERS; do
    for server in ours nginx; do
      printf '  workers=%s %-6s' "$workers" "$server"
      awk -v w="$workers" -v s="$server" '$1 == w && $2 == s {printf " %6.0f", $4 / 1024}' "$WORK/rounds"
      echo
    done
  done
}
