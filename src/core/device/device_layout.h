#pragma once
// DeviceLayout: where things are on an emulated (or real) ESP32's flash, as the bootloader and
// the OTA installer need it: the otadata partition's offset, each app partition's offset, size
// and label, and the SlotLayout the pure boot and OTA decisions take (core/boot/slot_layout.h).
// Built once from a parsed, validated partition table; a plain value afterwards (no pointers
// into the table), so it may be copied and shared read-only between threads.
//
// Both of ESP-IDF's ways to count OTA slots are kept (SlotLayout): the bootloader counts every
// ota_k row (spec ../shared/spec/esp-idf-ota.md §3.1), the app side stops at the first missing
// subtype (§4). With a gap (ota_0, ota_2) the two disagree; such a table is accepted, as ESP-IDF
// accepts it, and the installer refuses to target a slot beyond the app-side count.
//
// Also here: reading the two otadata entries from flash (32 bytes each, no 8 KiB buffer).

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/boot/slot_layout.h"
#include "core/format/otadata.h"
#include "core/format/partition_table.h"
#include "core/port/flash.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::core {

// One app partition (ota_k, factory or test).
struct AppPartition {
  bool present = false;
  uint32_t offset = 0;  // absolute
  uint32_t size = 0;
  std::array<char, kPartitionLabelSize> label_bytes{};
  uint8_t label_size = 0;

  std::string_view label() const { return {label_bytes.data(), label_size}; }
};

struct DeviceLayout {
  SlotLayout slots;
  // Absolute offset of the data/ota partition; meaningful only when slots.has_otadata.
  uint32_t otadata_offset = 0;
  PerAppPartition<AppPartition> apps;

  // The partition named by `index` (ota_k, kFactoryIndex, kTestIndex), or nullptr when the
  // table has none (kInvalidIndex and unknown numbers included).
  const AppPartition* Find(int index) const;
  // Every index that exists, in the order ota_0..ota_15, factory, test. Returns how many were
  // written to `out` (at most 18).
  size_t Indexes(std::array<int, kMaxOtaSlots + 2>& out) const;
};

// Builds the layout of `table`, which should have passed ValidatePartitionTable. Refuses tables
// a device cannot boot or update from (kInvalidArgument, context = the entry index):
//   "device layout: no app partition" (no context);
//   "device layout: duplicate app subtype" (two ota_k, two factory or two test rows: the
//     bootloader keeps the last, the app side the first, so they would disagree);
//   "device layout: otadata is not 0x2000 bytes";
//   "device layout: more than one otadata partition";
// kOutOfRange "device layout: partition past the end of flash" (context = entry index) when
// flash_size is given and an app or otadata partition does not fit it.
// App rows of size 0 are ignored, as the bootloader ignores them.
Result<DeviceLayout> MakeDeviceLayout(const PartitionTable& table,
                                      std::optional<uint32_t> flash_size = std::nullopt);

// Reads both otadata entries (sector 0 at otadata_offset, sector 1 at +0x1000), 32 bytes each.
// Returns the flash's error (kAborted after a power cut, kOutOfRange past the end).
Result<Otadata> ReadOtadata(port::Flash& flash, uint32_t otadata_offset);

}  // namespace aloft::core
