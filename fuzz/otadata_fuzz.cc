// Fuzzes the otadata decoder, the bootloader's decision and the app-side otadata operations.
//
// Input: an otadata partition image (the vectors in tests/vectors/otadata are the seeds). Bytes
// 32..47 of sector 0, which no ESP-IDF reader looks at, choose the slot layout, the
// configuration and the image verdicts, so mutating them explores layouts while the entries
// stay in their usual place. Every invariant below aborts when broken.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <vector>

#include "core/boot/boot_selection.h"
#include "core/boot/ota_ops.h"
#include "core/format/otadata.h"

namespace aloft::core {
namespace {

void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "otadata_fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

struct Scenario {
  SlotLayout layout;
  BootConfig config;
  ImageVerdicts images;
  int running = kFactoryIndex;
};

uint8_t ByteAt(std::span<const std::byte> data, size_t offset) {
  return offset < data.size() ? static_cast<uint8_t>(data[offset]) : 0;
}

Scenario DecodeScenario(std::span<const std::byte> data) {
  Scenario s;
  const uint16_t mask = static_cast<uint16_t>(ByteAt(data, 32) | (ByteAt(data, 33) << 8));
  const uint8_t flags = ByteAt(data, 34);
  s.layout = MakeSlotLayout(mask, (flags & 0x01) != 0, (flags & 0x02) != 0, (flags & 0x04) != 0);
  // Duplicate OTA rows: the bootloader counts rows, so its count can exceed the set bits.
  s.layout.bootloader_ota_count =
      static_cast<uint8_t>(s.layout.bootloader_ota_count + (ByteAt(data, 35) & 0x03));
  s.config.rollback_enabled = (flags & 0x08) != 0;
  s.config.anti_rollback_enabled = (flags & 0x10) != 0;
  s.config.test_app_requested = (flags & 0x20) != 0;
  const uint16_t verdicts = static_cast<uint16_t>(ByteAt(data, 36) | (ByteAt(data, 37) << 8));
  for (int k = 0; k < kMaxOtaSlots; ++k) {
    s.images.verifies[k] = ((verdicts >> k) & 1) != 0;
  }
  const uint8_t extra = ByteAt(data, 38);
  s.images.verifies.factory = (extra & 0x01) != 0;
  s.images.verifies.test = (extra & 0x02) != 0;
  s.config.secure_version.factory =
      (extra & 0x04) != 0 ? std::optional<uint32_t>(extra >> 5) : std::nullopt;
  s.config.secure_version.test = (extra >> 5);
  const uint8_t efuse = ByteAt(data, 39);
  s.config.efuse_secure_version = efuse & 0x07;
  s.config.efuse_secure_version_bits = (efuse & 0x08) != 0 ? 4 : 32;
  const int running = efuse >> 4;
  s.running = running == 15 ? kFactoryIndex : running;
  for (int k = 0; k < kMaxOtaSlots; ++k) {
    const uint8_t nibble = (ByteAt(data, 40 + static_cast<size_t>(k / 2)) >> (4 * (k % 2))) & 0xF;
    s.config.secure_version[k] =
        nibble == 0xF ? std::nullopt : std::optional<uint32_t>(nibble & 0x7);
  }
  return s;
}

bool Accepted(const Scenario& s, uint32_t efuse, int index) {
  if (!s.config.anti_rollback_enabled) {
    return true;
  }
  const std::optional<uint32_t>& version = s.config.secure_version[index];
  return version.has_value() && *version >= efuse;
}

void CheckBoot(const Otadata* otadata, Scenario& s) {
  const BootDecision decision = DecideBoot(otadata, s.layout, s.config, s.images);
  const int index = decision.selection.index;
  Require(index == kFactoryIndex || index == kTestIndex || index == kInvalidIndex ||
              (index >= 0 && index < std::max<int>(1, s.layout.bootloader_ota_count)),
          "selection index in range");
  for (const OtadataWrite& write : decision.writes) {
    Require(write.sector == 0 || write.sector == 1, "write sector is 0 or 1");
  }
  const uint32_t efuse = decision.secure_version_raise.value_or(s.config.efuse_secure_version);
  Require(efuse >= s.config.efuse_secure_version, "eFuse only rises");
  if (decision.booted.has_value()) {
    Require(s.layout.Has(*decision.booted), "booted partition exists");
    Require(s.images.verifies[*decision.booted], "booted image verifies");
  }
  if (otadata != nullptr && decision.selection.active_sector != kNoEntry) {
    const OtaSelectEntry& chosen = otadata->entries[decision.selection.active_sector];
    Require(IsEntryValid(chosen), "active entry valid");
    Require(!s.config.rollback_enabled || chosen.state != OtaState::kPendingVerify,
            "PENDING_VERIFY never selected with rollback");
  }
  if (otadata != nullptr && s.layout.has_otadata && s.config.rollback_enabled) {
    for (int sector = 0; sector < 2; ++sector) {
      if (otadata->entries[sector].state != OtaState::kPendingVerify) {
        continue;
      }
      const OtadataWrite* first = nullptr;
      for (const OtadataWrite& write : decision.writes) {
        if (write.sector == sector && first == nullptr) {
          first = &write;
        }
      }
      Require(first != nullptr && first->entry.state == OtaState::kAborted,
              "PENDING_VERIFY becomes ABORTED first");
    }
  }
  // Whenever the loader runs and some candidate passes both checks, something boots.
  if (index != kInvalidIndex && index != kTestIndex) {
    bool loadable = false;
    for (int candidate : LoadOrder(kFactoryIndex, s.layout)) {
      loadable = loadable || (s.images.verifies[candidate] && Accepted(s, efuse, candidate));
    }
    Require(loadable == decision.booted.has_value(), "boots iff something is loadable");
  }
}

void CheckAppSide(const Otadata& otadata, Scenario& s) {
  const SlotLayout& layout = s.layout;
  (void)GetBootPartition(&otadata, layout);
  (void)GetNextUpdatePartition(layout, s.running);
  (void)CheckRollbackIsPossible(&otadata, layout, s.config, s.images);
  (void)GetLastInvalidPartition(&otadata, layout, s.images);
  (void)MarkAppValidCancelRollback(&otadata, layout, s.config, s.running);
  (void)MarkAppInvalidRollback(&otadata, layout, s.config, s.images);
  (void)EraseLastBootAppPartition(&otadata, layout, s.running);
  for (int k = 0; k < kMaxOtaSlots; ++k) {
    (void)GetStatePartition(&otadata, layout, k);
    const OtaOutcome begin = OtaBegin(&otadata, layout, s.config, k, s.running);
    if (begin.otadata.kind != OtadataAction::Kind::kNone) {
      Require(begin.otadata.kind == OtadataAction::Kind::kEraseSector, "begin only erases");
    }
  }
  // set_boot then get_boot: the target, unless the seq hit 0xFFFFFFFF or wrapped.
  const bool contiguous = layout.ota_present == ((1u << layout.app_ota_count) - 1) &&
                          layout.bootloader_ota_count == layout.app_ota_count;
  for (int k = 0; k < layout.app_ota_count; ++k) {
    const OtaOutcome outcome = SetBootPartition(&otadata, layout, s.config, k, s.images);
    if (!outcome.status.ok() || outcome.otadata.kind != OtadataAction::Kind::kRewriteSector) {
      continue;
    }
    const uint32_t seq = outcome.otadata.entry.seq;
    if (seq == kOtaSeqErased || SlotOfSeq(seq, layout.app_ota_count) != static_cast<uint32_t>(k)) {
      continue;
    }
    Otadata after = otadata;
    after.entries[outcome.otadata.sector] = outcome.otadata.entry;
    Require(GetBootPartition(&after, layout) == k, "set_boot then get_boot gives the target");
    if (contiguous && !s.config.anti_rollback_enabled && !s.config.test_app_requested) {
      Require(SelectBootIndex(&after, layout, s.config).index == k,
              "set_boot then the bootloader selects the target");
    }
  }
}

}  // namespace
}  // namespace aloft::core

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace aloft::core;
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  Scenario scenario = DecodeScenario(bytes);
  aloft::Result<Otadata> otadata = ParseOtadata(bytes);
  Require(otadata.ok() == (size >= kOtadataSize), "parse succeeds iff 0x2000 bytes");
  if (!otadata.ok()) {
    Require(otadata.status().code() == aloft::Status::Code::kOutOfRange, "short → kOutOfRange");
    CheckBoot(nullptr, scenario);
    return 0;
  }
  // Round trip of the entries.
  std::vector<std::byte> image(kOtadataSize);
  Require(SerializeOtadata(*otadata, image).ok(), "serialize");
  aloft::Result<Otadata> again = ParseOtadata(image);
  Require(again.ok() && *again == *otadata, "round trip");
  for (const OtaSelectEntry& entry : otadata->entries) {
    Require(!StateName(entry.state).view().empty(), "state name");
    Require(IsEntryValid(entry) == (!IsEntryInvalid(entry) && HasValidCrc(entry)), "validity");
  }
  CheckBoot(&*otadata, scenario);
  CheckAppSide(*otadata, scenario);
  return 0;
}
