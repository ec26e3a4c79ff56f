#pragma once
// DeviceSettings: everything the agent is built with on an ESP32, gathered once at start-up —
// the partition layout, the device's facts (chip, rollback and anti-rollback, trust), the
// agent's configuration, and the device's identity and credentials.
//
// Where each comes from (ESP-IDF calls → settings):
//   esp_partition_find/_get/_next   app and otadata partitions → core::PartitionTable →
//                                   core::MakeDeviceLayout (the same checks as on the host)
//   CONFIG_IDF_FIRMWARE_CHIP_ID, esp_chip_info().revision     DeviceConfig chip id / revision
//   CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE                      DeviceConfig.rollback_enabled
//   CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK, esp_efuse_read_secure_version,
//   CONFIG_BOOTLOADER_APP_SEC_VER_SIZE_EFUSE_FIELD             the anti-rollback floor
//   CONFIG_ALOFT_TRUSTED_KEY_DIGEST_0..2, CONFIG_ALOFT_SIGNATURE_SCHEME_*   the TrustPolicy
//     (manifests always; images too with CONFIG_ALOFT_VERIFY_IMAGE_SIGNATURE)
//   device id: esp_efuse_mac_get_default (CONFIG_ALOFT_DEVICE_ID_FROM_MAC), NVS, or Kconfig
//   token and secret: NVS namespace "aloft_id" (nvs_get_str "token", nvs_get_blob "secret"),
//     or Kconfig (CONFIG_ALOFT_CREDENTIALS_FROM_KCONFIG: development only)
//   CONFIG_ALOFT_CHECK_INTERVAL_S, _CHECK_JITTER_S, _NETWORK_TIMEOUT_MS, _DEVICE_TAGS,
//   _ALLOW_UNORDERED_VERSIONS, _SELF_TEST_TIMEOUT_S, _SERVER_URL       the rest
// Nothing here decides anything about updates; it only translates settings into the core's
// types (parsing in config_text.h, host-tested).
//
// Not copyable: the configs point into this object's own storage. Build it in place. Loading
// borrows a partition table (about 9 KiB) from the heap for the moment the layout is built.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/agent.h"
#include "agent/protocol.h"
#include "core/device/device_config.h"
#include "core/device/device_layout.h"
#include "core/signature/signature_verifier.h"
#include "core/status.h"
#include "ports/esp-idf/config_text.h"

namespace aloft::espidf {

// The NVS namespace of the device's identity (written at provisioning, read-only here).
inline constexpr const char* kIdentityNamespace = "aloft_id";
inline constexpr size_t kDeviceSecretSize = 32;
inline constexpr size_t kMaxTokenSize = 256;

struct DeviceSettings {
  DeviceSettings() = default;
  DeviceSettings(const DeviceSettings&) = delete;
  DeviceSettings& operator=(const DeviceSettings&) = delete;

  core::DeviceLayout layout;
  core::DeviceConfig device;
  agent::AgentConfig agent;
  std::string_view server_url;
  uint32_t self_test_timeout_ms = 0;
  std::string_view bearer_token;

  // Storage the views and pointers above refer to.
  std::array<core::TrustedKey, core::kMaxTrustedKeys> keys{};
  core::TrustPolicy trust;
  std::array<char, kMaxDeviceIdSize + 1> device_id{};
  std::array<std::byte, kDeviceSecretSize> device_secret{};
  std::array<char, kMaxTokenSize + 1> token{};
  std::array<std::string_view, agent::kMaxTags> tags{};
};

// Fills `settings` (see the file comment). Errors, each naming the setting:
//   kInvalidArgument from config_text.h (key digests, tags, device id), "settings: device
//     secret is not 64 hex digits", and MakeDeviceLayout's (a table the agent cannot use);
//   kNotFound "settings: device credentials not provisioned in nvs" (namespace aloft_id);
//   kFailedPrecondition "settings: no otadata partition" (nothing to switch slots with);
//   kResourceExhausted "settings: no memory for the partition table";
//   kUnavailable for NVS or eFuse read errors.
// REQUIRES: nvs_flash_init() has run.
Status LoadDeviceSettings(DeviceSettings& settings);

}  // namespace aloft::espidf
