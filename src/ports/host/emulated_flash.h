#pragma once
// EmulatedFlash: the physics of a NOR flash chip, as the ESP32's SPI flash behaves, behind the
// core's port::Flash. Erased bytes read 0xFF; a write ANDs its data into the flash (it can only
// clear bits); erase sets whole sectors back to 0xFF. It is stricter than the chip where the chip
// would silently corrupt: a write that needs to set a cleared bit back to 1 is refused whole.
//
// Backed by memory or by a file (mmap'ed MAP_SHARED: every write reaches the kernel's page cache
// as it happens, so if the process dies the file holds exactly what the chip would hold; Sync()
// adds durability against an OS crash). The model, the fault model and sweeps: docs/emulator.md.
//
// Zero-length operations: their arguments are checked (kOutOfRange past the end, kInvalidArgument
// for a misaligned erase offset), then they do nothing and are not counted, because ESP-IDF's
// esp_flash_read/write/erase_region return ESP_OK after the same checks, before sending the chip
// any command. Refused operations change nothing and
// are not counted either: the counters count what the chip did.
//
// Not thread-safe (like the port). Not copyable or movable: create one with a factory, own it
// through the unique_ptr, and pass it around as port::Flash&.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "core/bytes.h"
#include "core/port/flash.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::host {

// What the chip has done since creation or ResetCounters(). Only successful, non-empty
// operations count.
struct FlashCounters {
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t erases = 0;  // Erase calls (one call may erase many sectors)
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  uint64_t sectors_erased = 0;

  // The operations a power cut can hit: writes + erases.
  uint64_t mutating_ops() const { return writes + erases; }
};

class EmulatedFlash final : public port::Flash {
 public:
  static constexpr uint32_t kDefaultSectorSize = 0x1000;

  // A blank chip (all 0xFF) in memory.
  // kInvalidArgument if sector_size is 0 or size_bytes is 0 or not a multiple of sector_size.
  static Result<std::unique_ptr<EmulatedFlash>> CreateInMemory(
      uint32_t size_bytes, uint32_t sector_size = kDefaultSectorSize);

  // A chip in memory holding `image` (a flash dump); its size is the image's size.
  // kInvalidArgument as CreateInMemory; kOutOfRange if the image is 4 GiB or larger.
  static Result<std::unique_ptr<EmulatedFlash>> CreateInMemoryFrom(
      ConstByteSpan image, uint32_t sector_size = kDefaultSectorSize);

  // Creates `path` holding a blank chip (size_bytes of 0xFF) and maps it.
  // kAlreadyExists if the path exists (never overwrites a dump); kInvalidArgument as
  // CreateInMemory; kNotFound if the directory does not exist; kUnavailable on another OS error
  // (context: errno).
  static Result<std::unique_ptr<EmulatedFlash>> CreateFile(
      const std::filesystem::path& path, uint32_t size_bytes,
      uint32_t sector_size = kDefaultSectorSize);

  // Maps an existing chip file (a flash dump). The file's size is the chip's size.
  // kNotFound if it does not exist; kInvalidArgument if it is empty or its size is not a
  // multiple of sector_size (context: the size, saturated to 32 bits); kOutOfRange if it is
  // 4 GiB or larger; kUnavailable on another OS error (context: errno).
  static Result<std::unique_ptr<EmulatedFlash>> OpenFile(const std::filesystem::path& path,
                                                         uint32_t sector_size = kDefaultSectorSize);

  ~EmulatedFlash() override;

  // port::Flash. Offsets are absolute; contexts of errors are absolute offsets (or the size).
  // Read: kOutOfRange ("flash: read past the end", offset).
  Status Read(uint32_t offset, ByteSpan out) override;
  // Write: kOutOfRange ("flash: write past the end", offset); kFailedPrecondition
  // ("flash: write sets a bit that is not erased", the first offending absolute offset) when a
  // data bit is 1 where the flash bit is 0: then nothing is written. Writing 0 bits over 0 bits
  // is allowed (NOR can program a byte again to clear more bits, as ESP-IDF's NVS does).
  Status Write(uint32_t offset, ConstByteSpan data) override;
  // Erase, checked in this order (as esp_flash_erase_region): kOutOfRange ("flash: erase past
  // the end", offset); kInvalidArgument ("flash: erase offset not sector-aligned", offset /
  // "flash: erase size not sector-aligned", size).
  Status Erase(uint32_t offset, uint32_t size) override;
  uint32_t sector_size() const override { return sector_size_; }
  uint32_t size() const override { return size_; }

  // Makes every write so far durable against an OS crash (msync + fdatasync); a no-op in memory.
  // Not needed for the process-death model: the page cache already holds every write.
  // kUnavailable if the OS refuses (context: errno).
  Status Sync();

  bool file_backed() const { return fd_ >= 0; }

  // The raw bytes of the whole chip, for tests and inspection. Valid until the flash is
  // destroyed; reflects later operations.
  ConstByteSpan contents() const { return {bytes_, size_}; }

  // Replaces the whole content (a flash dump), bypassing the physics and the counters.
  // kInvalidArgument ("flash: image size differs from the chip", image size) on a size mismatch.
  Status RestoreContents(ConstByteSpan image);

  // Remembers the current content as the checkpoint (one copy of the chip; replaces any earlier
  // checkpoint). For sweeps: SetCheckpoint() once after setting up, RestoreCheckpoint() before
  // each run.
  void SetCheckpoint();
  // Returns the content to the checkpoint, copying back only the sectors written or erased since
  // the checkpoint was set or last restored. Bypasses the counters.
  // kFailedPrecondition if no checkpoint was set.
  Status RestoreCheckpoint();
  bool has_checkpoint() const { return !checkpoint_.empty(); }

  const FlashCounters& counters() const { return counters_; }
  void ResetCounters() { counters_ = {}; }

 private:
  EmulatedFlash(uint32_t size_bytes, uint32_t sector_size);
  // Records that sectors [first, last] changed since the checkpoint.
  void MarkDirty(uint32_t first_sector, uint32_t last_sector);
  void MarkAllDirty();

  uint32_t size_;
  uint32_t sector_size_;
  std::byte* bytes_ = nullptr;     // memory_.data() or the file mapping
  std::vector<std::byte> memory_;  // the memory backing (empty when file-backed)
  int fd_ = -1;                    // the file backing (-1 in memory)
  FlashCounters counters_;
  std::vector<std::byte> checkpoint_;    // empty: no checkpoint
  std::vector<uint8_t> dirty_;           // per sector: changed since the checkpoint
  std::vector<uint32_t> dirty_sectors_;  // the indices set in dirty_; capacity reserved up front
};

}  // namespace aloft::host
