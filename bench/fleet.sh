#!/usr/bin/env bash
# Fleet benchmark (issue 6 item 7; not in CI, not run by bench/run.sh: it takes minutes):
# 1,000 emulated devices update a 1.5 MiB image over real TLS on loopback against a release
# aloftd (SQLite), and the script prints
#   - the total time (the fleet's first check-in to the last device idle, `aloft fleet sim`),
#   - the server's CPU seconds per device (utime + stime of aloftd from /proc/PID/stat, over
#     the fleet's run only),
#   - the bytes the server sent per device (TLS records and handshakes, counted by the proxy the
#     devices go through) against the image's size: the overhead ratio,
#   - the agent's RAM per device: sizeof(agent::Agent) (the agent allocates nothing: its
#     buffers are members; tests/agent checks the download path with an allocation guard) and
#     the simulator's peak RSS per device (flash tables, TLS, threads: the simulator's cost).
#
#   bench/fleet.sh [DEVICES] [CONCURRENCY]      defaults 1000 and 16
#
# On the 2-core development VM (shared), release build: 1000 of 1000 updated in 35.7 s (the
# devices' first check-ins are spread over 5 s), update p50 0.20 s / p99 0.32 s, aloftd 4.2 ms
# CPU per device, 1,594,740 bytes sent per device for a 1,576,960-byte image (ratio 1.011),
# agent 30,736 bytes static, simulator peak RSS 114 MiB (117 KiB per device).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
devices=${1:-1000}
concurrency=${2:-16}
image_size=$((3 << 19))  # 1.5 MiB

cd "$root"
[[ -f build/release/build.ninja ]] || cmake --preset release >/dev/null
cmake --build --preset release --target aloft aloftd >/dev/null
aloft="$root/build/release/src/cli/aloft"
aloftd="$root/build/release/src/server/aloftd"

work=$(mktemp -d -t aloft-fleet-bench.XXXXXX)
aloftd_pid=""
cleanup() {
  [[ -n "$aloftd_pid" ]] && kill -TERM "$aloftd_pid" 2>/dev/null && wait "$aloftd_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

"$aloft" server init --data data >/dev/null
"$aloftd" --data data --listen 127.0.0.1:0 --log-level warn >aloftd.out 2>aloftd.log &
aloftd_pid=$!
for _ in $(seq 100); do grep -q "listening on port" aloftd.out 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^aloftd listening on port \([0-9]*\).*/\1/p' aloftd.out)
server=(--server "https://127.0.0.1:$port" --ca data/ca.pem --token "$(cat data/admin.token)")

"$aloft" key gen --type ecdsa-p256 -o release.pem >/dev/null
"$aloft" key register "${server[@]}" --project bench release.pem >/dev/null
for version in 1.0.0 1.1.0; do
  "$aloft" image make-test --version "$version" --project bench --chip esp32c3 \
    --size "$image_size" --seed "${version//./}" -o "$version.bin" >/dev/null
  "$aloft" sign --key release.pem "$version.bin" -o "$version.signed.bin" >/dev/null
  "$aloft" release make "$version.signed.bin" --key release.pem -o "$version.json" >/dev/null
  "$aloft" release publish "${server[@]}" "$version.signed.bin" "$version.json" >/dev/null
done
signed_size=$(stat -c %s 1.1.0.signed.bin)
"$aloft" rollout start "${server[@]}" --release 1.1.0 --percent 100 >/dev/null

cpu_ticks() { awk '{print $14 + $15}' "/proc/$aloftd_pid/stat"; }
hz=$(getconf CLK_TCK)
echo "fleet benchmark: $devices devices, concurrency $concurrency, image $signed_size bytes" \
  "(signed), aloftd pid $aloftd_pid, $(nproc) cores"
before=$(cpu_ticks)
"$aloft" fleet sim "${server[@]}" --devices "$devices" --initial 1.0.0 --concurrency "$concurrency" \
  --check-interval 5 --until-idle --timeout 1800 --proxy --json >fleet.json 2>fleet.err || {
  cat fleet.err fleet.json >&2
  exit 1
}
after=$(cpu_ticks)

field() { awk -v key="\"$1\":" '$1 == key { gsub(/,$/, "", $2); print $2 + 0; exit }' fleet.json; }
duration=$(field duration_s)
updated=$(field updated)
bytes_to_client=$(field bytes_to_client)
bytes_downloaded=$(field bytes_downloaded)
agent_bytes=$(field agent_bytes)
rss=$(field peak_rss_bytes)
awk -v d="$devices" -v t="$duration" -v u="$updated" -v cpu=$((after - before)) -v hz="$hz" \
  -v sent="$bytes_to_client" -v got="$bytes_downloaded" -v img="$signed_size" \
  -v agent="$agent_bytes" -v rss="$rss" -v p50="$(field p50_update_s)" \
  -v p99="$(field p99_update_s)" -v bricked="$(field bricked)" -v failed="$(field failed)" 'BEGIN {
  printf "updated:                 %d of %d devices (bricked %d, failed %d)\n", u, d, bricked, failed
  printf "total time:              %.1f s (update p50 %.2f s, p99 %.2f s)\n", t, p50, p99
  printf "server CPU per device:   %.2f ms (%.2f s in all)\n", cpu / hz / d * 1000, cpu / hz
  printf "bytes sent per device:   %d (image %d): overhead ratio %.4f\n", sent / d, img, sent / d / img
  printf "firmware bytes received: %d per device (%.4f x the image)\n", got / d, got / d / img
  printf "agent RAM per device:    %d bytes, static (sizeof agent::Agent); agent heap: none\n", agent
  printf "simulator peak RSS:      %.1f MiB in all, %.1f KiB per device\n", rss / 1048576, rss / d / 1024
}'
