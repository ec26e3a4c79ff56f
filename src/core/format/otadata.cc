#include "core/format/otadata.h"

#include <algorithm>
#include <array>

#include "core/check.h"
#include "core/crc32.h"
#include "core/try.h"

namespace aloft::core {
namespace {

constexpr size_t kSeqOffset = 0;
constexpr size_t kLabelOffset = 4;
constexpr size_t kStateOffset = 24;
constexpr size_t kCrcOffset = 28;
static_assert(kCrcOffset + 4 == kOtaSelectEntrySize);
static_assert(kStateOffset == kLabelOffset + kOtaSeqLabelSize);

}  // namespace

uint32_t OtaSeqCrc(uint32_t seq) {
  std::array<std::byte, 4> bytes;
  StoreLe32(bytes, 0, seq);
  return EspRomCrc32Le(0xFFFFFFFF, bytes);
}

OtaSelectEntry MakeOtaSelectEntry(uint32_t seq, OtaState state) {
  OtaSelectEntry entry;
  entry.seq = seq;
  entry.state = state;
  entry.crc = OtaSeqCrc(seq);
  return entry;
}

Result<OtaSelectEntry> ParseOtaSelectEntry(ConstByteSpan bytes) {
  if (bytes.size() < kOtaSelectEntrySize) {
    return OutOfRange("otadata: entry truncated", static_cast<uint32_t>(bytes.size()));
  }
  OtaSelectEntry entry;
  entry.seq = LoadLe32(bytes, kSeqOffset);
  std::copy_n(bytes.begin() + kLabelOffset, kOtaSeqLabelSize, entry.label.begin());
  entry.state = static_cast<OtaState>(LoadLe32(bytes, kStateOffset));
  entry.crc = LoadLe32(bytes, kCrcOffset);
  return entry;
}

Status SerializeOtaSelectEntry(const OtaSelectEntry& entry, ByteSpan out) {
  if (out.size() < kOtaSelectEntrySize) {
    return OutOfRange("otadata: entry buffer too small", static_cast<uint32_t>(out.size()));
  }
  StoreLe32(out, kSeqOffset, entry.seq);
  std::copy(entry.label.begin(), entry.label.end(), out.begin() + kLabelOffset);
  StoreLe32(out, kStateOffset, static_cast<uint32_t>(entry.state));
  StoreLe32(out, kCrcOffset, entry.crc);
  return OkStatus();
}

Result<Otadata> ParseOtadata(ConstByteSpan partition) {
  if (partition.size() < kOtadataSize) {
    return OutOfRange("otadata: partition smaller than 0x2000",
                      static_cast<uint32_t>(partition.size()));
  }
  Otadata otadata;
  for (int sector = 0; sector < kOtadataSectorCount; ++sector) {
    // Cannot fail: the length was checked above.
    otadata.entries[sector] =
        *ParseOtaSelectEntry(partition.subspan(sector * kOtadataSectorSize, kOtaSelectEntrySize));
  }
  return otadata;
}

Status SerializeOtadataSector(const OtaSelectEntry& entry, ByteSpan sector) {
  if (sector.size() != kOtadataSectorSize) {
    return InvalidArgument("otadata: sector buffer is not 0x1000 bytes",
                           static_cast<uint32_t>(sector.size()));
  }
  std::fill(sector.begin(), sector.end(), std::byte{0xFF});
  return SerializeOtaSelectEntry(entry, sector);
}

Status SerializeOtadata(const Otadata& otadata, ByteSpan partition) {
  if (partition.size() != kOtadataSize) {
    return InvalidArgument("otadata: partition buffer is not 0x2000 bytes",
                           static_cast<uint32_t>(partition.size()));
  }
  for (int sector = 0; sector < kOtadataSectorCount; ++sector) {
    ALOFT_TRY(
        SerializeOtadataSector(otadata.entries[sector],
                               partition.subspan(sector * kOtadataSectorSize, kOtadataSectorSize)));
  }
  return OkStatus();
}

bool IsEntryInvalid(const OtaSelectEntry& entry) {
  return entry.seq == kOtaSeqErased || entry.state == OtaState::kInvalid ||
         entry.state == OtaState::kAborted;
}

bool HasValidCrc(const OtaSelectEntry& entry) { return entry.crc == OtaSeqCrc(entry.seq); }

bool IsEntryValid(const OtaSelectEntry& entry) {
  return !IsEntryInvalid(entry) && HasValidCrc(entry);
}

bool IsEntryUnset(const OtaSelectEntry& entry) {
  return entry.seq == kOtaSeqErased || !HasValidCrc(entry);
}

int SelectEntry(const Otadata& otadata, const std::array<bool, kOtadataSectorCount>& flags,
                bool want_max) {
  const uint32_t seq0 = otadata.entries[0].seq;
  const uint32_t seq1 = otadata.entries[1].seq;
  if (flags[0] && flags[1]) {
    // As in bootloader_common_select_otadata: compare the winner with sector 0's seq, so a tie
    // goes to sector 0.
    const uint32_t wanted = want_max ? std::max(seq0, seq1) : std::min(seq0, seq1);
    return wanted == seq0 ? 0 : 1;
  }
  if (flags[0]) {
    return 0;
  }
  if (flags[1]) {
    return 1;
  }
  return kNoEntry;
}

int ActiveEntry(const Otadata& otadata) {
  return SelectEntry(otadata, {IsEntryValid(otadata.entries[0]), IsEntryValid(otadata.entries[1])},
                     /*want_max=*/true);
}

uint32_t SlotOfSeq(uint32_t seq, uint32_t count) {
  ALOFT_CHECK(count > 0);
  return (seq - 1) % count;
}

OtaStateName StateName(OtaState state) {
  std::string_view known;
  switch (state) {
    case OtaState::kNew:
      known = "new";
      break;
    case OtaState::kPendingVerify:
      known = "pending_verify";
      break;
    case OtaState::kValid:
      known = "valid";
      break;
    case OtaState::kInvalid:
      known = "invalid";
      break;
    case OtaState::kAborted:
      known = "aborted";
      break;
    case OtaState::kUndefined:
      known = "undefined";
      break;
  }
  OtaStateName name;
  if (!known.empty()) {
    std::copy(known.begin(), known.end(), name.chars_.begin());
    name.size_ = known.size();
    return name;
  }
  // Any other number is legal in flash (see OtaState): spell it out without formatting
  // machinery, which core does not have.
  constexpr std::string_view kPrefix = "unknown(";
  std::copy(kPrefix.begin(), kPrefix.end(), name.chars_.begin());
  size_t size = kPrefix.size();
  std::array<char, 10> digits{};
  size_t digit_count = 0;
  uint32_t value = static_cast<uint32_t>(state);
  do {
    digits[digit_count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (digit_count > 0) {
    name.chars_[size++] = digits[--digit_count];
  }
  name.chars_[size++] = ')';
  name.size_ = size;
  return name;
}

}  // namespace aloft::core
