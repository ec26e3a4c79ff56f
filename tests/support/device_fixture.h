#pragma once
// Test-only helpers for an emulated ESP32 (core/device, core/install): the tutorial's partition
// table, app images from a recipe (BuildAppImage), and a flash prepared as `aloft flash build`
// prepares it (table at 0x8000, blank otadata, an image in a slot, the rest erased).
// Header-only and free of gtest, so benchmarks can use it too. Heap and std::vector allowed.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "core/device/device_layout.h"
#include "core/format/app_image_builder.h"
#include "core/format/partition_csv.h"
#include "core/format/partition_table.h"
#include "core/port/crypto.h"
#include "core/port/flash.h"
#include "core/result.h"
#include "core/status.h"
#include "core/try.h"
#include "ports/host/emulated_flash.h"

namespace aloft::testing {

// tests/vectors/partition-table/tutorial_blank_offsets.csv: nvs 0x9000, otadata 0xd000,
// phy_init 0xf000, app0 (ota_0) 0x10000 and app1 (ota_1) 0x190000, 1536K each.
inline constexpr std::string_view kTutorialCsv =
    "# Name, Type, SubType, Offset, Size\n"
    "nvs, data, nvs, , 0x4000\n"
    "otadata, data, ota, , 0x2000\n"
    "phy_init, data, phy, , 0x1000\n"
    "app0, app, ota_0, , 1536K\n"
    "app1, app, ota_1, , 1536K\n";
inline constexpr uint32_t kTutorialOtadata = 0xD000;
inline constexpr uint32_t kTutorialOta0 = 0x10000;
inline constexpr uint32_t kTutorialOta1 = 0x190000;
inline constexpr uint32_t kTutorialSlotSize = 0x180000;

inline Result<core::PartitionTable> TableFromCsv(std::string_view csv) {
  return core::ParsePartitionCsv(csv, core::PartitionCsvOptions{});
}

// A byte-valid image (BuildAppImage) or an empty vector if the recipe is refused.
inline std::vector<std::byte> MakeImage(port::Crypto& crypto, const core::AppImageRecipe& recipe) {
  Result<uint32_t> size = core::AppImageBuildSize(recipe);
  if (!size.ok()) {
    return {};
  }
  std::vector<std::byte> image(*size);
  if (!core::BuildAppImage(recipe, crypto, image).ok()) {
    return {};
  }
  return image;
}

inline core::AppImageRecipe Recipe(std::string_view version, uint32_t payload_size = 4096,
                                   uint16_t chip_id = core::kChipIdEsp32, uint32_t seed = 1) {
  core::AppImageRecipe recipe;
  recipe.version = version;
  recipe.payload_size = payload_size;
  recipe.chip_id = chip_id;
  recipe.fill_seed = seed;
  return recipe;
}

// Erases the sectors [offset, offset + bytes.size()) covers and programs the bytes.
inline Status WriteRegion(port::Flash& flash, uint32_t offset, ConstByteSpan bytes) {
  const uint32_t sector = flash.sector_size();
  const uint32_t size = static_cast<uint32_t>(bytes.size());
  const uint32_t end = (offset + size + sector - 1) / sector * sector;
  ALOFT_TRY(flash.Erase(offset - offset % sector, end - (offset - offset % sector)));
  return flash.Write(offset, bytes);
}

// The partition table binary at `table_offset`.
inline Status WriteTable(port::Flash& flash, port::Crypto& crypto,
                         const core::PartitionTable& table,
                         uint32_t table_offset = core::kDefaultPartitionTableOffset) {
  std::vector<std::byte> binary(core::kPartitionTableBinarySize, std::byte{0xFF});
  ALOFT_TRY(core::SerializePartitionTableBinary(table, crypto, binary));
  return WriteRegion(flash, table_offset, binary);
}

// A chip in memory with a partition table at 0x8000 and blank otadata.
struct EmulatedDevice {
  std::unique_ptr<host::EmulatedFlash> flash;
  core::DeviceLayout layout;
};

inline Result<EmulatedDevice> MakeEmulatedDevice(port::Crypto& crypto, std::string_view csv,
                                                 uint32_t flash_size = 0x400000) {
  EmulatedDevice device;
  ALOFT_TRY_ASSIGN(device.flash, host::EmulatedFlash::CreateInMemory(flash_size));
  ALOFT_TRY_ASSIGN(const core::PartitionTable table, TableFromCsv(csv));
  ALOFT_TRY_ASSIGN(device.layout, core::MakeDeviceLayout(table, flash_size));
  ALOFT_TRY(WriteTable(*device.flash, crypto, table));
  return device;
}

// Writes `image` at the start of app partition `index` (as esptool would flash it).
inline Status WriteImage(EmulatedDevice& device, int index, ConstByteSpan image) {
  const core::AppPartition* partition = device.layout.Find(index);
  if (partition == nullptr) {
    return NotFound("fixture: no such app partition");
  }
  return WriteRegion(*device.flash, partition->offset, image);
}

// Replaces the 0x2000-byte otadata partition.
inline Status WriteOtadataPartition(EmulatedDevice& device, ConstByteSpan otadata) {
  return WriteRegion(*device.flash, device.layout.otadata_offset, otadata);
}

inline std::vector<std::byte> ReadRegion(port::Flash& flash, uint32_t offset, uint32_t size) {
  std::vector<std::byte> bytes(size);
  if (!flash.Read(offset, bytes).ok()) {
    return {};
  }
  return bytes;
}

}  // namespace aloft::testing
