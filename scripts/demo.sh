#!/usr/bin/env bash
# The main job (README): installs what is missing, builds aloft (release), and walks through
# the tools on the tutorial's partition table and a real ESP-IDF application image.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release --target aloft >/dev/null
aloft="$root/build/release/src/cli/aloft"

work=$(mktemp -d -t aloft-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

cp "$root/examples/partitions.csv" .
cp "$root/tests/vectors/real-firmware/erisdar_esp32_hello_world.bin" hello_world.bin

step "The tutorial's partition table" cat partitions.csv
step "Check it before shipping: two equal OTA slots, otadata, room for the app" \
  "$aloft" partition check partitions.csv --flash-size 4MB --app hello_world.bin
step "Generate the binary table, byte-identical to ESP-IDF's gen_esp32part.py" \
  "$aloft" partition gen partitions.csv -o partitions.bin
step "Read it back" "$aloft" partition show partitions.bin
step "A real ESP-IDF application image" "$aloft" image info hello_world.bin

step "A release key (ECDSA P-256, Secure Boot v2 format)" \
  "$aloft" key gen --type ecdsa-p256 -o release.pem
step "Its digest, as burnt into a device's eFuse" "$aloft" key digest release.pem
step "Sign the app (espsecure sign-data --version 2 layout)" \
  "$aloft" sign --key release.pem hello_world.bin -o hello_world.signed.bin
step "Verify it as a device that trusts that key would" \
  "$aloft" image verify hello_world.signed.bin --key release.pem
step "A signed release manifest for the server" \
  "$aloft" release make hello_world.signed.bin --key release.pem -o RELEASE.json
step "Check it" "$aloft" release verify RELEASE.json --key release.pem --image hello_world.signed.bin

printf '\nDone. Every command above: %s --help\n' "$aloft"
