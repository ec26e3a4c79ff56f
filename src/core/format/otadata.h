#pragma once
// otadata: the data/ota partition that tells ESP-IDF's bootloader which OTA app slot to boot.
// Plain values and pure functions; no I/O, no heap, safe to call from any thread.
// Spec: shared/spec/esp-idf-ota.md §2 (docs/formats/otadata.md); golden vectors:
// tests/vectors/otadata/ (README gives each file's verdict). ESP-IDF reference:
// components/bootloader_support/src/bootloader_common_loader.c.
//
// Partition (0x2000 bytes; erased flash reads 0xFF):
//   +0x0000  sector 0: one esp_ota_select_entry_t (32 bytes), then 0xFF up to +0x0FFF
//   +0x1000  sector 1: one esp_ota_select_entry_t (32 bytes), then 0xFF up to +0x1FFF
// esp_ota_select_entry_t (every integer little-endian):
//   off size field
//    0   4   ota_seq    u32; 0xFFFFFFFF = erased. Slot = (ota_seq - 1) mod count, in uint32
//    4  20   seq_label  never interpreted; writers keep what the sector held (0xFF in practice)
//   24   4   ota_state  u32; see OtaState. Numbers outside the enum are kept as they are
//   28   4   crc        esp_rom_crc32_le(0xFFFFFFFF, ota_seq as 4 LE bytes): the seq only

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::core {

inline constexpr size_t kOtaSelectEntrySize = 32;
inline constexpr size_t kOtaSeqLabelSize = 20;
inline constexpr uint32_t kOtadataSectorSize = 0x1000;
inline constexpr uint32_t kOtadataSize = 0x2000;
inline constexpr int kOtadataSectorCount = 2;
// ota_seq of an erased entry. An entry with this seq is invalid whatever its CRC says.
inline constexpr uint32_t kOtaSeqErased = 0xFFFFFFFF;
// SelectEntry/ActiveEntry result when no sector qualifies (ESP-IDF's -1).
inline constexpr int kNoEntry = -1;

static_assert(kOtadataSize == kOtadataSectorCount * kOtadataSectorSize);
static_assert(kOtaSelectEntrySize == 4 + kOtaSeqLabelSize + 4 + 4);

// esp_ota_img_states_t. The underlying u32 is kept raw: any other number is legal in flash and
// behaves like a "not invalid" state (it is neither INVALID nor ABORTED), so
// static_cast<OtaState>(7) is a meaningful value, not an error.
enum class OtaState : uint32_t {
  kNew = 0,                 // set by esp_ota_set_boot_partition with rollback enabled
  kPendingVerify = 1,       // the bootloader booted a NEW entry; the app has not confirmed yet
  kValid = 2,               // confirmed (or written by the bootloader for blank otadata)
  kInvalid = 3,             // the app rejected itself (esp_ota_mark_app_invalid_rollback)
  kAborted = 4,             // reset while PENDING_VERIFY: the bootloader abandoned it
  kUndefined = 0xFFFFFFFF,  // erased; also what set_boot writes with rollback disabled
};

// The label every ESP-IDF writer leaves: erased bytes.
inline constexpr std::array<std::byte, kOtaSeqLabelSize> kErasedSeqLabel = [] {
  std::array<std::byte, kOtaSeqLabelSize> label{};
  label.fill(std::byte{0xFF});
  return label;
}();

// One esp_ota_select_entry_t. Default-constructed = an erased entry (all bytes 0xFF).
struct OtaSelectEntry {
  uint32_t seq = kOtaSeqErased;
  std::array<std::byte, kOtaSeqLabelSize> label = kErasedSeqLabel;
  OtaState state = OtaState::kUndefined;
  uint32_t crc = 0xFFFFFFFF;

  friend bool operator==(const OtaSelectEntry&, const OtaSelectEntry&) = default;
};

// Both sectors' entries, as read from the partition. Only the first 32 bytes of each sector
// matter to ESP-IDF; the rest is not kept.
struct Otadata {
  std::array<OtaSelectEntry, kOtadataSectorCount> entries;

  friend bool operator==(const Otadata&, const Otadata&) = default;
};

// One otadata change as ESP-IDF makes it: erase the 4 KiB `sector` (0 or 1), then write `entry`
// at its start. The other sector is not touched.
struct OtadataWrite {
  int sector = 0;
  OtaSelectEntry entry;

  friend bool operator==(const OtadataWrite&, const OtadataWrite&) = default;
};

// esp_rom_crc32_le(0xFFFFFFFF, seq as 4 LE bytes): zlib crc32(seq_le, 0xFFFFFFFF), which is not
// the plain CRC-32 of the 4 bytes. OtaSeqCrc(0) == 0xFFFFFFFF, OtaSeqCrc(1) == 0x4743989A.
uint32_t OtaSeqCrc(uint32_t seq);

// An entry as the writers build it: label 0xFF, crc = OtaSeqCrc(seq).
OtaSelectEntry MakeOtaSelectEntry(uint32_t seq, OtaState state);

// Decodes 32 bytes. Any content is a valid decode (validity is a separate verdict).
// kOutOfRange "otadata: entry truncated" (context: size) if bytes.size() < 32.
Result<OtaSelectEntry> ParseOtaSelectEntry(ConstByteSpan bytes);
// Encodes into out[0, 32). kOutOfRange "otadata: entry buffer too small" if out.size() < 32.
Status SerializeOtaSelectEntry(const OtaSelectEntry& entry, ByteSpan out);

// Reads sector 0's entry at +0 and sector 1's at +0x1000.
// kOutOfRange "otadata: partition smaller than 0x2000" (context: size) when partition.size() <
// 0x2000: ESP-IDF's bootloader then refuses to boot at all (bootloader_common_read_otadata).
Result<Otadata> ParseOtadata(ConstByteSpan partition);
// One sector as every ESP-IDF writer leaves it (erase, write 32 bytes): the entry, then 0xFF.
// kInvalidArgument "otadata: sector buffer is not 0x1000 bytes" (context: size) otherwise.
Status SerializeOtadataSector(const OtaSelectEntry& entry, ByteSpan sector);
// Both sectors. kInvalidArgument "otadata: partition buffer is not 0x2000 bytes" otherwise.
Status SerializeOtadata(const Otadata& otadata, ByteSpan partition);

// bootloader_common_ota_select_invalid: seq erased, or state INVALID or ABORTED. It does not
// look at the CRC, and it holds whether rollback is enabled or not.
bool IsEntryInvalid(const OtaSelectEntry& entry);
// crc == OtaSeqCrc(seq).
bool HasValidCrc(const OtaSelectEntry& entry);
// bootloader_common_ota_select_valid: !IsEntryInvalid and HasValidCrc.
bool IsEntryValid(const OtaSelectEntry& entry);
// "Initial contents" in the bootloader's words: seq erased or crc wrong. When both sectors are
// unset the bootloader writes sector 0 after the first successful load (spec §3.3.5).
bool IsEntryUnset(const OtaSelectEntry& entry);

// bootloader_common_select_otadata: with both flags set, the sector whose seq is the max (or
// the min) compared as uint32, a tie going to sector 0; with one flag set, that sector; else
// kNoEntry.
int SelectEntry(const Otadata& otadata, const std::array<bool, kOtadataSectorCount>& flags,
                bool want_max);
// bootloader_common_get_active_otadata: SelectEntry(IsEntryValid of each, max). kNoEntry if
// neither entry is valid.
int ActiveEntry(const Otadata& otadata);
// The OTA slot an entry selects: (seq - 1) mod count in uint32, so seq 0 maps to
// 0xFFFFFFFF mod count. REQUIRES: count > 0.
uint32_t SlotOfSeq(uint32_t seq, uint32_t count);

// A state's name in fixed storage: "new", "pending_verify", "valid", "invalid", "aborted",
// "undefined", or "unknown(N)" with N in decimal.
class OtaStateName {
 public:
  std::string_view view() const { return {chars_.data(), size_}; }

 private:
  friend OtaStateName StateName(OtaState state);
  std::array<char, 24> chars_{};  // "unknown(4294967294)" is 19
  size_t size_ = 0;
};
OtaStateName StateName(OtaState state);

}  // namespace aloft::core
