#pragma once
// BootDevice: one reset of an ESP32, the apply layer of the second-stage bootloader over
// port::Flash. Decode (ReadOtadata), decide (DecideBoot, core/boot/boot_selection.h, with a
// FlashImageCheck that really verifies each candidate from flash: chip, checksum, SHA-256 and,
// with Secure Boot, the signature), apply (the otadata writes, one RewriteOtadataSector each, in
// the bootloader's order). Mirrors ESP-IDF v5.5.5 bootloader_utility.c; spec
// ../shared/spec/esp-idf-ota.md §3. No heap: the caller lends a work buffer (>= 4 KiB).
// Not thread-safe with respect to the flash; the function keeps no state.

#include <array>
#include <cstdint>
#include <optional>

#include "core/boot/boot_selection.h"
#include "core/device/device_config.h"
#include "core/device/device_layout.h"
#include "core/format/app_image.h"
#include "core/format/otadata.h"
#include "core/port/crypto.h"
#include "core/port/flash.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::core {

struct BootReport {
  // The partition that booted (kInvalidIndex when nothing did).
  int index = kInvalidIndex;
  // What otadata selected before loading (BootSelection::index).
  int selected = kInvalidIndex;
  // The booted slot's otadata state after the boot's writes; nullopt for factory and test, and
  // for an OTA slot no CRC-valid entry names (e.g. blank otadata booted without a write).
  std::optional<OtaState> state;
  ImageHeader header;              // of the booted image
  AppDescription app_description;  // of the booted image
  // The device did not boot what it was running or meant to run: the booted partition differs
  // from the one otadata selected, a PENDING_VERIFY entry was ABORTED by this boot, or (when
  // BootOptions::last_booted is given) the previously running slot had been marked INVALID or
  // ABORTED and another one booted.
  bool rolled_back = false;
  // The eFuse secure version after this boot (raised by anti-rollback, else unchanged).
  uint32_t efuse_secure_version = 0;
  // Everything DecideBoot decided: candidates tried, otadata writes made.
  BootDecision decision;
  // Why each candidate in decision.attempts was refused (OK for the one that loaded), in the
  // same order.
  std::array<Status, kMaxOtaSlots + 2> attempt_status{};
};

struct BootOptions {
  // The slot that ran before this reset, if known (the emulator's sidecar remembers it): used
  // only to report rolled_back after an app rejected itself.
  std::optional<int> last_booted;
  // Decide and report without writing otadata (aloft flash inspect).
  bool dry_run = false;
};

// Runs one boot. Errors:
//   kNotFound "boot: no bootable image" — no candidate verified (the device is bricked until
//     something rewrites flash); the otadata writes that precede loading (PENDING_VERIFY →
//     ABORTED) have been made, as the bootloader makes them;
//   the flash's errors (kAborted after a power cut), from reads or from an otadata write;
//   kInvalidArgument "flash image: work buffer smaller than 4 KiB".
Result<BootReport> BootDevice(port::Flash& flash, port::Crypto& crypto, const DeviceLayout& layout,
                              const DeviceConfig& config, ByteSpan work,
                              const BootOptions& options = {});

}  // namespace aloft::core
