#!/usr/bin/env bash
# The offline tour of the tools (README; the main demo is scripts/demo.sh): installs what is
# missing, builds aloft (release), and walks through the tools on the tutorial's partition table
# and a real ESP-IDF application image.
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

cp "$root/tests/vectors/app-image/images/esp32_app.bin" next.bin
step "A whole 4 MB flash image: table, blank otadata, the app in ota_0" \
  "$aloft" flash build -o flash.bin --table partitions.csv --app hello_world.bin
step "What a bootloader would do with it" "$aloft" flash inspect flash.bin
step "Power on the emulated ESP32 (ESP-IDF's boot logic, rollback enabled)" \
  "$aloft" device boot --flash flash.bin
step "Install the next firmware into the passive slot, but cut the power at flash op 20" \
  "$aloft" device install --flash flash.bin next.bin --cut-power-at 20 --tear ||
  echo "exit $? (3: the emulated power was cut)"
step "The device still boots the old firmware" "$aloft" device boot --flash flash.bin
step "Install it again, uninterrupted" "$aloft" device install --flash flash.bin next.bin
step "Reset: the new image boots on trial (PENDING_VERIFY)" "$aloft" device boot --flash flash.bin
step "It never confirms itself; reset again: the bootloader rolls back" \
  "$aloft" device boot --flash flash.bin
step "The diagnosis" "$aloft" flash inspect flash.bin

printf '\nDone. Every command above: %s --help\n' "$aloft"
