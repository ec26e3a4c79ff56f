#pragma once
// PartitionFlash: the Flash port (core/port/flash.h) on ESP-IDF's partition API, over the
// partitions an update touches: every app partition (ota_0..ota_15, factory, test) and the
// otadata partition. The core addresses flash by absolute offset; each call is mapped to the
// one partition that contains the whole range and made relative to it.
//
// Why esp_partition_* and not esp_flash_read/write/erase_region on the default chip:
//   - it cannot reach the bootloader, the partition table, NVS or anything else the update has
//     no business writing (a range outside these partitions is refused before any flash op);
//   - it honours the partition flags ESP-IDF honours (read-only partitions, encryption);
//   - with flash encryption, esp_partition_read/write decrypt/encrypt transparently — but the
//     core writes in arbitrary chunk sizes and esp_flash_write_encrypted needs 16-byte blocks,
//     so encrypted partitions are refused (kUnimplemented) rather than half-supported.
// ESP-IDF's esp_ota_* functions read otadata through esp_partition_mmap; esp_flash flushes the
// cache for the range it writes or erases, so they see what the core wrote.
//
// ESP-IDF calls → port codes:
//   esp_partition_find / _get / _next / _iterator_release, esp_flash_get_size   Init
//   esp_partition_read        Read   (any error → kUnavailable "flash: device error", context
//   esp_partition_write       Write   the esp_err_t); ESP_ERR_NOT_ALLOWED (read-only partition)
//   esp_partition_erase_range Erase   → kFailedPrecondition
//   Range checks before any call: outside [0, size()) → kOutOfRange "flash: range past the end
//   of flash"; inside flash but not inside one of these partitions → kOutOfRange "flash: range
//   outside the app and otadata partitions" (context: offset); Erase not on 4 KiB boundaries →
//   kInvalidArgument "flash: erase not sector-aligned"; Write or Erase in the running app
//   partition → kFailedPrecondition "flash: refusing to write the running app partition" (the
//   core never asks; the code running from it would crash if it did).
//
// No heap. Not thread-safe (one caller, as the port says); esp_partition itself serialises
// access to the chip against other tasks.

#include <array>
#include <cstddef>
#include <cstdint>

#include "core/port/flash.h"
#include "core/status.h"
#include "esp_partition.h"

namespace aloft::espidf {

class PartitionFlash final : public port::Flash {
 public:
  // Finds the partitions. kNotFound "flash: no app partition"; kUnimplemented "flash: encrypted
  // partitions are not supported" (flash encryption on); kUnavailable if the chip size cannot
  // be read. Call once, before anything else.
  Status Init();

  Status Read(uint32_t offset, ByteSpan out) override;
  Status Write(uint32_t offset, ConstByteSpan data) override;
  Status Erase(uint32_t offset, uint32_t size) override;
  uint32_t sector_size() const override { return kSectorSize; }
  uint32_t size() const override { return chip_size_; }

 private:
  static constexpr uint32_t kSectorSize = 4096;
  // 16 OTA slots, factory, test, otadata.
  static constexpr size_t kMaxPartitions = 19;

  // The partition holding all of [offset, offset + size), or an error as listed above.
  Status Find(uint32_t offset, size_t size, const esp_partition_t*& found) const;
  Status CheckWritable(const esp_partition_t* partition) const;

  std::array<const esp_partition_t*, kMaxPartitions> partitions_{};
  size_t count_ = 0;
  const esp_partition_t* running_ = nullptr;
  uint32_t chip_size_ = 0;
};

}  // namespace aloft::espidf
