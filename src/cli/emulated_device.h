#pragma once
// What `aloft flash` and `aloft device` share about an emulated ESP32: its flash file (opened
// through the NOR emulator, its partition table and device layout read from it) and the
// sidecar file that keeps the device's volatile facts between invocations (docs/device.md).
//
// The sidecar, FLASH.device.json, holds what a real chip keeps outside its flash — in RAM (the
// slot that booted last), in eFuse (the chip, the anti-rollback counter, Secure Boot key
// digests) or in its build configuration (rollback enabled) — so it is never part of the flash
// file. It is rewritten atomically (io.h) after each command that changes it.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/device/device_config.h"
#include "core/device/device_layout.h"
#include "core/format/partition_table.h"
#include "core/signature/signature_verifier.h"
#include "ports/host/emulated_flash.h"

namespace aloft::cli {

struct DeviceSidecar {
  std::optional<uint16_t> chip_id;  // learnt from the first image booted
  std::optional<int> running;       // the slot that booted last (RAM: lost at power off)
  bool rollback = true;             // CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
  bool anti_rollback = false;       // CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
  uint32_t efuse_secure_version = 0;
  std::vector<std::array<std::byte, core::kKeyDigestSize>> trusted_key_digests;  // 0..3
  uint32_t table_offset = core::kDefaultPartitionTableOffset;
};

// FLASH + ".device.json".
std::string SidecarPath(const std::string& flash_path);

// The sidecar of `flash_path`, or the defaults when there is none yet. nullopt after printing
// one line naming the file and what is wrong with it.
std::optional<DeviceSidecar> LoadSidecar(const std::string& flash_path);
// Writes it atomically; false after printing why not.
bool SaveSidecar(const std::string& flash_path, const DeviceSidecar& sidecar);

// The DeviceConfig the sidecar describes. `trust` receives the key digests and must outlive
// the config; with no digests the config has no TrustPolicy (Secure Boot off).
core::DeviceConfig ConfigFromSidecar(const DeviceSidecar& sidecar,
                                     std::array<core::TrustedKey, core::kMaxTrustedKeys>& keys,
                                     core::TrustPolicy& trust);

struct FlashDevice {
  std::unique_ptr<host::EmulatedFlash> flash;
  core::PartitionTable table;
  core::DeviceLayout layout;
};

// Opens a flash file for the emulator (file-backed: every write lands in the file as it happens)
// or copies it into memory (in_memory, for read-only inspection), then reads the partition
// table at `table_offset` and the device layout. nullopt after printing one line naming the file
// and the problem.
std::optional<FlashDevice> OpenFlashDevice(const std::string& path, uint32_t table_offset,
                                           bool in_memory);

// A chip never met before: the chip of the first app partition holding a readable image, which
// is what this device's firmware was built for; nullopt when no image is readable.
std::optional<uint16_t> LearnChip(FlashDevice& device);

// "ota_0".."ota_15", "factory", "test" → the index; nullopt for anything else.
std::optional<int> ParseSlotName(const std::string& name);

}  // namespace aloft::cli
