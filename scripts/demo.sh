#!/usr/bin/env bash
# The main job (README): the whole system end to end on this machine, in about a minute.
# Installs what is missing, builds aloft and aloftd (release), then in a temporary directory:
# initialises an update server (SQLite) and starts it; makes and signs three releases —
# v1.0.0, v1.1.0 and a broken v1.2.0 whose self-test fails — and publishes them; starts a
# fleet of emulated ESP32s on v1.0.0 (the real agent and boot logic, real TLS); rolls v1.1.0
# out to 100% (every device updates and confirms); rolls v1.2.0 out (the devices that try it
# roll back, and the rollout halts itself); prints what happened, the dashboard's URL and the
# admin token; stops everything cleanly (ALOFT_DEMO_KEEP=1: only once you press Enter). No
# arguments. The offline tour of the tools is scripts/demo-offline.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
devices=${ALOFT_DEMO_DEVICES:-50}

scripts/deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release --target aloft aloftd >/dev/null
aloft="$root/build/release/src/cli/aloft"
aloftd="$root/build/release/src/server/aloftd"

work=$(mktemp -d -t aloft-demo.XXXXXX)
aloftd_pid=""
fleet_pid=""
cleanup() {
  [[ -n "$fleet_pid" ]] && kill -INT "$fleet_pid" 2>/dev/null && wait "$fleet_pid" 2>/dev/null
  [[ -n "$aloftd_pid" ]] && kill -TERM "$aloftd_pid" 2>/dev/null && wait "$aloftd_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Echoes the command (the admin token shown as $TOKEN), then runs it.
step() {
  printf '$ %s\n' "${*}" | sed "s|$aloft|aloft|; s|$work/||g; s|${token:-@none@}|\$TOKEN|g"
  "$@"
}
# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "demo: timed out waiting for: $*" >&2; exit 1; }
    sleep 0.5
  done
}

say "An update server: CA, TLS certificate, admin token, SQLite database"
step "$aloft" server init --data data
"$aloftd" --data data --listen 127.0.0.1:0 --web "$root/web" >aloftd.out 2>aloftd.log &
aloftd_pid=$!
wait_for 20 grep -q "listening on port" aloftd.out
port=$(sed -n 's/^aloftd listening on port \([0-9]*\).*/\1/p' aloftd.out)
url="https://127.0.0.1:$port"
token=$(cat data/admin.token)
server=(--server "$url" --ca data/ca.pem --token "$token")
echo "aloftd is running at $url (pid $aloftd_pid); admin token $token (\$TOKEN below)"

say "A release key, registered for the project"
step "$aloft" key gen --type ecdsa-p256 -o release.pem >/dev/null
step "$aloft" key register "${server[@]}" --project thermostat release.pem

say "Three firmware releases: v1.0.0, v1.1.0, and v1.2.0 whose self-test fails"
for spec in 1.0.0:pass 1.1.0:pass 1.2.0:fail; do
  version=${spec%%:*}
  step "$aloft" image make-test --version "$version" --project thermostat --chip esp32c3 \
    --size 262144 --self-test "${spec##*:}" -o "app-$version.bin"
  step "$aloft" sign --key release.pem "app-$version.bin" -o "app-$version.signed.bin" >/dev/null
  step "$aloft" release make "app-$version.signed.bin" --key release.pem -o "RELEASE-$version.json" \
    >/dev/null
  step "$aloft" release publish "${server[@]}" "app-$version.signed.bin" "RELEASE-$version.json"
done

say "A fleet of $devices emulated ESP32-C3s, registered and flashed with v1.0.0"
echo "(runs in the background; its progress line is on stderr, its summary comes at the end)"
"$aloft" fleet sim "${server[@]}" --devices "$devices" --initial 1.0.0 --concurrency 8 \
  --check-interval 1 --faults reset=0.02,truncate=0.02 >fleet.txt &
fleet_pid=$!
checked_in() { "$aloft" devices list "${server[@]}" --version 1.0.0 --limit 1 | grep -q '^sim-'; }
wait_for 60 checked_in
echo

say "Roll v1.1.0 out to 100%: every device downloads, verifies, reboots, self-tests, confirms"
step "$aloft" rollout start "${server[@]}" --release 1.1.0 --percent 100
all_confirmed() { "$aloft" rollout status "${server[@]}" --release 1.1.0 | grep -q "confirmed $devices,"; }
wait_for 120 all_confirmed
echo
step "$aloft" rollout status "${server[@]}" --release 1.1.0

say "Roll the broken v1.2.0 out: its self-test fails, devices roll back, the rollout halts"
step "$aloft" rollout start "${server[@]}" --release 1.2.0 --percent 100
halted_and_settled() {
  "$aloft" rollout status "${server[@]}" --release 1.2.0 >status.txt &&
    grep -q ": halted" status.txt &&
    grep -q "downloading 0, downloaded 0, verified 0, rebooting 0," status.txt
}
wait_for 120 halted_and_settled
sleep 3  # the last devices check in again and find nothing to do
echo
step "$aloft" rollout status "${server[@]}" --release 1.2.0

say "The fleet's own account (aloft fleet sim, stopped with SIGINT)"
kill -INT "$fleet_pid"
wait "$fleet_pid" || true
fleet_pid=""
cat fleet.txt

say "One device as the server sees it (its most recent events first)"
step "$aloft" devices show "${server[@]}" sim-0001 --events 10

say "Where to look"
echo "dashboard:   $url/   (log in with the admin token; the browser must trust $work/data/ca.pem)"
echo "API:         curl --cacert $work/data/ca.pem -H 'Authorization: Bearer $token' $url/api/v1/rollouts"
echo "admin token: $token"

if [[ ${ALOFT_DEMO_KEEP:-0} == 1 ]]; then
  echo
  echo "ALOFT_DEMO_KEEP=1: aloftd keeps running for the dashboard; press Enter to stop it."
  read -r _ || true
else
  echo "(run with ALOFT_DEMO_KEEP=1 to keep aloftd up and look at the dashboard before it stops)"
fi

say "Stopping aloftd (SIGTERM: it drains requests and flushes check-ins)"
kill -TERM "$aloftd_pid"
wait "$aloftd_pid" && echo "aloftd stopped cleanly (exit 0)"
aloftd_pid=""
printf '\nDone. The offline tour of the tools: scripts/demo-offline.sh; every command: %s --help\n' \
  "$aloft"
