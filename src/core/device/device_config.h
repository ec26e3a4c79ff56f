#pragma once
// DeviceConfig: the facts about one ESP32 that are not in its flash — how its bootloader and
// app were built (rollback, anti-rollback) and what its eFuses hold (chip, secure version,
// Secure Boot v2 key digests). A real chip keeps them in ROM, eFuse and RAM; the emulator keeps
// them beside the flash file (docs/device.md). A plain value; the TrustPolicy it points to must
// outlive every call it is passed to.

#include <cstdint>
#include <optional>

#include "core/boot/boot_selection.h"
#include "core/signature/signature_verifier.h"

namespace aloft::core {

struct DeviceConfig {
  // The chip (esp_chip_id_t). nullopt accepts each image's own chip: host tools looking at a
  // flash dump of an unknown device.
  std::optional<uint16_t> chip_id;
  std::optional<uint16_t> chip_revision;  // major * 100 + minor; nullopt: not checked
  bool rollback_enabled = true;           // CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
  bool anti_rollback_enabled = false;     // CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
  uint32_t efuse_secure_version = 0;      // the eFuse counter (burnt bits)
  uint32_t efuse_secure_version_bits = 32;
  // Secure Boot v2 is on when set: the bootloader and the installer require a verified
  // signature block (signature_verifier.h).
  const TrustPolicy* trust = nullptr;
};

// The BootConfig of the pure decisions (boot_selection.h, ota_ops.h), without the per-partition
// secure versions, which come from flash.
inline BootConfig MakeBootConfig(const DeviceConfig& device) {
  BootConfig config;
  config.rollback_enabled = device.rollback_enabled;
  config.anti_rollback_enabled = device.anti_rollback_enabled;
  config.efuse_secure_version = device.efuse_secure_version;
  config.efuse_secure_version_bits = device.efuse_secure_version_bits;
  return config;
}

}  // namespace aloft::core
