#!/usr/bin/env bash
# Compile-checks every ESP-IDF-facing file (the component in src/ports/esp-idf and the example's
# esp32/main/main.cpp) against a real ESP-IDF tree, with the shared espidf-check tool: ESP-IDF's
# own headers, a linux-target pass and a 32-bit ESP32-C3 pass, and a Kconfig symbol check. It
# cannot link or run anything; behaviour is covered by the host tests of src/core and src/agent.
#
#   usage: scripts/espidf-check.sh [IDF_ROOT]      (or IDF_ROOT=... scripts/espidf-check.sh)
#
# IDF_ROOT: an ESP-IDF v5.3.x or v5.5.x tree with Mbed TLS headers (see the tool's README.md).
# Without one it prints "skipped: IDF_ROOT not set" and exits 0: CI has no ESP-IDF tree.
# ESPIDF_CHECK: the tool (default ../shared/tools/espidf-check/check next to the repository).
#
# The component's own CONFIG_ALOFT_* symbols are not in ESP-IDF's tree, so this script checks
# them itself (each must be declared in a Kconfig of ours) and compiles the files under three
# menuconfig configurations, so the code under each choice (device id, credentials, signature
# scheme, signed images, anti-rollback) is compiled at least once.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
IDF=${1:-${IDF_ROOT:-}}
if [ -z "$IDF" ]; then
  echo "espidf-check: skipped: IDF_ROOT not set (pass an ESP-IDF tree to compile-check the component)"
  exit 0
fi
CHECK=${ESPIDF_CHECK:-$ROOT/../shared/tools/espidf-check/check}
if [ ! -x "$CHECK" ]; then
  echo "espidf-check: $CHECK not found (set ESPIDF_CHECK)" >&2
  exit 2
fi

PORT=src/ports/esp-idf
cd "$ROOT"
# Every ESP-IDF-facing source: the ports, the agent task, the log/check backend, the example.
# (*_test.cc are host tests of the host-runnable parts; they build with CMake, not here.)
mapfile -t SOURCES < <(ls $PORT/*.cc $PORT/backend/*.cc | grep -v '_test\.cc$'; echo esp32/main/main.cpp)
mapfile -t SCANNED < <(printf '%s\n' "${SOURCES[@]}"; ls $PORT/*.h $PORT/include/*.h $PORT/backend/*/*.h)
INCLUDES=(-I "$ROOT/src" -I "$ROOT/$PORT/include" -I "$ROOT/$PORT/backend")
# Components the tool's include list lacks and ours use (esp_timer, efuse, Wi-Fi and netif for
# the example). efuse has no linux-target headers: its ESP32-C3 chip header serves both passes.
for dir in esp_timer/include efuse/include efuse/esp32c3/include esp-tls esp_netif/include \
           esp_wifi/include; do
  INCLUDES+=(-I "$IDF/components/$dir")
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# esp_netif_ip_addr.h reads BYTE_ORDER from newlib's <machine/endian.h>, which comes with the
# chip toolchain, not the tree: the host's <endian.h> defines the same macros.
mkdir -p "$WORK/shim/machine"
echo '#include <endian.h>' >"$WORK/shim/machine/endian.h"
INCLUDES+=(-I "$WORK/shim")

# 1. Our own Kconfig symbols: each one used must be declared (a typo would silently read as 0).
declared=$(grep -hoE '^[[:space:]]*(config|choice|menuconfig)[[:space:]]+ALOFT_[A-Z0-9_]+' \
             $PORT/Kconfig esp32/main/Kconfig.projbuild | awk '{print "CONFIG_"$2}' | sort -u)
used=$(grep -hoE '\bCONFIG_ALOFT_[A-Z0-9_]*[A-Z0-9]\b' "${SCANNED[@]}" | sort -u)
unknown=$(comm -23 <(echo "$used") <(echo "$declared"))
if [ -n "$unknown" ]; then
  echo "espidf-check: Kconfig symbols used but not declared in $PORT/Kconfig or" \
       "esp32/main/Kconfig.projbuild:" $unknown
  exit 1
fi
echo "espidf-check: $(echo "$used" | wc -l) CONFIG_ALOFT_ symbols used, all declared"

# 2. The menuconfig configurations (Kconfig's defaults first), as sdkconfig.h would define them.
# COMMON also has ESP-IDF's defaults (esp_wifi/Kconfig) for the Wi-Fi symbols that
# WIFI_INIT_CONFIG_DEFAULT() reads, which the tool's sdkconfig.h does not define. "chip:" marks
# a symbol set only in the ESP32-C3 pass (anti-rollback needs eFuse, which the linux target lacks).
COMMON='CONFIG_ALOFT_SERVER_URL "https://aloft.local:8443"
CONFIG_ALOFT_CHECK_INTERVAL_S 3600
CONFIG_ALOFT_CHECK_JITTER_S 300
CONFIG_ALOFT_NETWORK_TIMEOUT_MS 15000
CONFIG_ALOFT_TRUSTED_KEY_DIGEST_0 ""
CONFIG_ALOFT_TRUSTED_KEY_DIGEST_1 ""
CONFIG_ALOFT_TRUSTED_KEY_DIGEST_2 ""
CONFIG_ALOFT_DEVICE_TAGS ""
CONFIG_ALOFT_SELF_TEST_TIMEOUT_S 60
CONFIG_ALOFT_REQUIRE_APP_ROLLBACK 1
CONFIG_ALOFT_TASK_STACK_SIZE 12288
CONFIG_ALOFT_TASK_PRIORITY 5
CONFIG_ALOFT_EXAMPLE_WIFI_SSID "myssid"
CONFIG_ALOFT_EXAMPLE_WIFI_PASSWORD "mypassword"
CONFIG_ESP_WIFI_STATIC_RX_BUFFER_NUM 10
CONFIG_ESP_WIFI_DYNAMIC_RX_BUFFER_NUM 32
CONFIG_ESP_WIFI_TX_BUFFER_TYPE 1
CONFIG_ESP_WIFI_DYNAMIC_TX_BUFFER_NUM 32
CONFIG_ESP_WIFI_DYNAMIC_RX_MGMT_BUF 0
CONFIG_ESP_WIFI_RX_MGMT_BUF_NUM_DEF 5
CONFIG_ESP_WIFI_ESPNOW_MAX_ENCRYPT_NUM 7
CONFIG_ESP_WIFI_AMPDU_TX_ENABLED 1
CONFIG_ESP_WIFI_AMPDU_RX_ENABLED 1
CONFIG_ESP_WIFI_RX_BA_WIN 6
CONFIG_ESP_WIFI_NVS_ENABLED 1
CONFIG_ESP_WIFI_SOFTAP_BEACON_MAX_LEN 752
CONFIG_ESP_WIFI_MGMT_SBUF_NUM 32
CONFIG_ESP_WIFI_ENABLE_WPA3_SAE 1'
DEFAULTS='CONFIG_ALOFT_SIGNATURE_SCHEME_RSA3072 1
CONFIG_ALOFT_DEVICE_ID_FROM_MAC 1
CONFIG_ALOFT_DEVICE_ID_PREFIX "esp-"
CONFIG_ALOFT_CREDENTIALS_FROM_NVS 1'
SIGNED='CONFIG_ALOFT_SIGNATURE_SCHEME_ECDSA_P256 1
CONFIG_ALOFT_VERIFY_IMAGE_SIGNATURE 1
CONFIG_ALOFT_DEVICE_ID_FROM_NVS 1
CONFIG_ALOFT_CREDENTIALS_FROM_KCONFIG 1
CONFIG_ALOFT_DEVICE_TOKEN "token"
CONFIG_ALOFT_DEVICE_SECRET ""
CONFIG_ALOFT_ALLOW_UNORDERED_VERSIONS 1
chip: CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK 1
chip: CONFIG_BOOTLOADER_APP_SEC_VER_SIZE_EFUSE_FIELD 16'
FIXED='CONFIG_ALOFT_SIGNATURE_SCHEME_ECDSA_P384 1
CONFIG_ALOFT_DEVICE_ID_FIXED 1
CONFIG_ALOFT_DEVICE_ID "esp-dev-0001"
CONFIG_ALOFT_CREDENTIALS_FROM_NVS 1'

# Each symbol set here must exist: ours in our Kconfig files, ESP-IDF's in the tree's.
for sym in $(printf '%s\n' "$COMMON" "$DEFAULTS" "$SIGNED" "$FIXED" | sed 's/^chip: //' | awk '{print $1}' | sort -u); do
  if [[ $sym == CONFIG_ALOFT_* ]]; then
    grep -qx "$sym" <<<"$declared" && continue
  elif grep -rqE "^[[:space:]]*config[[:space:]]+${sym#CONFIG_}\$" "$IDF/components" \
         --include='Kconfig*'; then
    continue
  fi
  echo "espidf-check: this script sets $sym, which no Kconfig declares" >&2
  exit 1
done

# The tool takes no -D flags: each configuration becomes a header that a compiler wrapper
# force-includes (-include) ahead of everything else.
rc=0
run() {
  local name=$1 config=$2
  shift 2
  printf '%s\n' "$config" | awk '$1 != "chip:" { print "#define " $0 }
      $1 == "chip:" { $1 = "#define"; print "#ifdef ESPIDF_CHECK_TARGET_ESP32C3\n" $0 "\n#endif" }' \
      >"$WORK/$name.h"
  printf '#!/bin/sh\nexec %s -include %s "$@"\n' "${CXX:-g++}" "$WORK/$name.h" >"$WORK/$name-cxx"
  chmod +x "$WORK/$name-cxx"
  echo "espidf-check: [$name] $(grep -o 'CONFIG_ALOFT_[A-Z0-9_]*' "$WORK/$name.h" | \
        grep -E 'SCHEME|FROM|FIXED|VERIFY|UNORDERED' | sed 's/CONFIG_ALOFT_//' | tr '\n' ' ')"
  CXX="$WORK/$name-cxx" "$CHECK" "$IDF" "${INCLUDES[@]}" "$@" || rc=1
}
run defaults "$COMMON
$DEFAULTS" "${SOURCES[@]}"
run signed "$COMMON
$SIGNED" "${SOURCES[@]}"
run fixed-id "$COMMON
$FIXED" $PORT/device_settings.cc

if [ $rc = 0 ]; then
  echo "espidf-check: passed against $IDF"
else
  echo "espidf-check: FAILED against $IDF" >&2
fi
exit $rc
