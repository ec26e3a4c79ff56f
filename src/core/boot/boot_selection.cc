#include "core/boot/boot_selection.h"

#include <array>

#include "core/check.h"
#include "core/try.h"

namespace aloft::core {
namespace {

// check_anti_rollback(): the partition's description is readable and its secure_version is not
// below the eFuse value. A partition that does not exist has no description.
bool SecureVersionAccepted(const SlotLayout& layout, const BootConfig& config,
                           uint32_t efuse_secure_version, int index) {
  if (!layout.Has(index)) {
    return false;
  }
  const std::optional<uint32_t>& version = config.secure_version[index];
  return version.has_value() && *version >= efuse_secure_version;
}

// update_anti_rollback() → esp_efuse_update_secure_version(): burns the app's secure_version
// only when it is higher than the eFuse value and fits the field; otherwise nothing changes.
std::optional<uint32_t> SecureVersionRaise(const SlotLayout& layout, const BootConfig& config,
                                           uint32_t efuse_secure_version, int index) {
  if (!layout.Has(index)) {
    return std::nullopt;
  }
  const std::optional<uint32_t>& version = config.secure_version[index];
  if (!version.has_value() || *version > config.efuse_secure_version_bits ||
      *version <= efuse_secure_version) {
    return std::nullopt;
  }
  return *version;
}

// index_to_partition() returns a partition of non-zero size.
bool LoaderHasPartition(const SlotLayout& layout, int index) {
  if (index == kFactoryIndex || index == kTestIndex) {
    return layout.Has(index);
  }
  return index >= 0 && index < layout.bootloader_ota_count && layout.HasOta(index);
}

// The otadata part of get_selected_boot_partition, after the PENDING_VERIFY → ABORTED
// rewrites. `entries` holds the entries as the bootloader now sees them.
void SelectFromEntries(Otadata& entries, const SlotLayout& layout, const BootConfig& config,
                       BootSelection& selection) {
  const uint32_t app_count = layout.bootloader_ota_count;
  const OtaSelectEntry& entry0 = entries.entries[0];
  const OtaSelectEntry& entry1 = entries.entries[1];
  std::array<bool, kOtadataSectorCount> usable{};
  if (!config.anti_rollback_enabled) {
    if ((IsEntryInvalid(entry0) && IsEntryInvalid(entry1)) || app_count == 0) {
      if (layout.has_factory) {
        selection.index = kFactoryIndex;
        return;
      }
      selection.index = 0;
      // Only truly blank (or corrupt) otadata gets the initial write; two CRC-valid entries
      // that are both INVALID/ABORTED are left as they are.
      selection.initial = IsEntryUnset(entry0) && IsEntryUnset(entry1);
      return;
    }
    usable = {IsEntryValid(entry0), IsEntryValid(entry1)};
  } else {
    if (IsEntryUnset(entry0) && IsEntryUnset(entry1)) {
      // ESP-IDF leaves boot_index at FACTORY_INDEX here (the spec's §3.2.5.1 says index 0):
      // load_boot_image(FACTORY) tries factory first, then ota_0 upwards. Without a factory app,
      // which anti-rollback configurations are told not to have, both read the same.
      selection.index = kFactoryIndex;
      selection.initial = true;
      return;
    }
    for (int sector = 0; sector < kOtadataSectorCount; ++sector) {
      const OtaSelectEntry& entry = entries.entries[sector];
      // ESP-IDF divides by app_count here without checking it (a divide-by-zero with no OTA
      // rows); we treat such entries as unusable, which selects the factory app.
      usable[sector] = IsEntryValid(entry) && app_count > 0 &&
                       SecureVersionAccepted(layout, config, config.efuse_secure_version,
                                             static_cast<int>(SlotOfSeq(entry.seq, app_count)));
    }
  }

  const int active = SelectEntry(entries, usable, /*want_max=*/true);
  if (active == kNoEntry) {
    // Without a factory app the loader then simply tries every slot from ota_0 up.
    selection.index = kFactoryIndex;
    return;
  }
  OtaSelectEntry& entry = entries.entries[active];
  selection.active_sector = active;
  selection.index = static_cast<int>(SlotOfSeq(entry.seq, app_count));
  if (config.rollback_enabled && entry.state == OtaState::kNew) {
    // The first boot of a freshly set slot: if the app resets before confirming, the next
    // boot finds PENDING_VERIFY and abandons it.
    entry.state = OtaState::kPendingVerify;
    selection.writes.Push({active, entry});
  }
  if (config.anti_rollback_enabled && entry.state == OtaState::kValid) {
    selection.secure_version_raise =
        SecureVersionRaise(layout, config, config.efuse_secure_version, selection.index);
  }
}

}  // namespace

ImageVerdicts ImageVerdicts::AllVerify() {
  ImageVerdicts verdicts;
  verdicts.verifies.ota.fill(true);
  verdicts.verifies.factory = true;
  verdicts.verifies.test = true;
  return verdicts;
}

BootSelection SelectBootIndex(const Otadata* otadata, const SlotLayout& layout,
                              const BootConfig& config) {
  BootSelection selection;
  if (!layout.has_otadata) {
    selection.index = kFactoryIndex;
  } else if (otadata == nullptr) {
    // bootloader_common_read_otadata failed: the bootloader resets before any write.
    selection.index = kInvalidIndex;
    return selection;
  } else {
    Otadata entries = *otadata;
    if (config.rollback_enabled) {
      // Before selection and for both sectors, active or not: an app still unconfirmed at
      // reset is abandoned. The entry is written back with only its state changed (the crc is
      // not recomputed, so a bad crc stays bad).
      for (int sector = 0; sector < kOtadataSectorCount; ++sector) {
        OtaSelectEntry& entry = entries.entries[sector];
        if (entry.state == OtaState::kPendingVerify) {
          entry.state = OtaState::kAborted;
          selection.writes.Push({sector, entry});
        }
      }
    }
    SelectFromEntries(entries, layout, config, selection);
  }
  // selected_boot_partition() (bootloader_start.c) checks the test-app GPIO after selection,
  // so the otadata rewrites above have already happened.
  if (config.test_app_requested) {
    selection.index = layout.has_test ? kTestIndex : kInvalidIndex;
  }
  return selection;
}

LoadOrderList LoadOrder(int start, const SlotLayout& layout) {
  LoadOrderList order;
  if (start == kInvalidIndex) {
    return order;
  }
  if (start == kTestIndex) {
    if (layout.has_test) {
      order.Push(kTestIndex);
    }
    return order;
  }
  ALOFT_CHECK(start >= kFactoryIndex);
  for (int index = start; index >= kFactoryIndex; --index) {
    if (LoaderHasPartition(layout, index)) {
      order.Push(index);
    }
  }
  for (int index = start + 1; index < layout.bootloader_ota_count; ++index) {
    if (LoaderHasPartition(layout, index)) {
      order.Push(index);
    }
  }
  if (layout.has_test) {
    order.Push(kTestIndex);
  }
  return order;
}

BootDecision DecideBoot(const Otadata* otadata, const SlotLayout& layout, const BootConfig& config,
                        ImageCheck& images) {
  BootDecision decision;
  decision.selection = SelectBootIndex(otadata, layout, config);
  decision.writes = decision.selection.writes;
  decision.secure_version_raise = decision.selection.secure_version_raise;
  // A raise before loading is burnt at once, so every candidate is checked against it.
  const uint32_t efuse_secure_version =
      decision.secure_version_raise.value_or(config.efuse_secure_version);

  for (int index : LoadOrder(decision.selection.index, layout)) {
    if (config.anti_rollback_enabled &&
        !SecureVersionAccepted(layout, config, efuse_secure_version, index)) {
      decision.attempts.Push({index, LoadResult::kSecureVersionTooLow});
      continue;
    }
    if (!images.ImageVerifies(index)) {
      decision.attempts.Push({index, LoadResult::kImageInvalid});
      continue;
    }
    decision.attempts.Push({index, LoadResult::kLoaded});
    decision.booted = index;
    // set_actual_ota_seq(): only OTA slots, only for initial contents. The seq names the slot
    // that actually loaded, which is not ota_0 when ota_0 failed.
    if (index >= 0 && decision.selection.initial) {
      decision.writes.Push(
          {0, MakeOtaSelectEntry(static_cast<uint32_t>(index) + 1, OtaState::kValid)});
      if (config.anti_rollback_enabled) {
        if (std::optional<uint32_t> raise =
                SecureVersionRaise(layout, config, efuse_secure_version, index)) {
          decision.secure_version_raise = raise;
        }
      }
    }
    break;
  }
  return decision;
}

Status RewriteOtadataSector(port::Flash& flash, uint32_t otadata_offset, int sector,
                            const OtaSelectEntry& entry) {
  ALOFT_CHECK(sector == 0 || sector == 1);
  const uint32_t offset = otadata_offset + static_cast<uint32_t>(sector) * kOtadataSectorSize;
  std::array<std::byte, kOtaSelectEntrySize> bytes;
  ALOFT_TRY(SerializeOtaSelectEntry(entry, bytes));

  // Power lost before the erase changes nothing: the next boot (or the caller's retry) makes
  // the same decision again. Lost during or after it, this sector reads erased (or, for a torn
  // erase, as garbage whose crc does not match its seq): the entry is invalid and the other
  // sector alone decides. For the inactive sector (esp_ota_set_boot_partition) the old slot
  // keeps booting; for a PENDING_VERIFY → ABORTED rewrite the outcome equals ABORTED; for the
  // active sector (NEW → PENDING_VERIFY, mark valid/invalid) the device falls back to the
  // other sector's slot, i.e. the previous firmware, exactly as ESP-IDF does.
  ALOFT_TRY(flash.Erase(offset, kOtadataSectorSize));

  // Programmed in field order, so a write cut short leaves the crc (last) erased, which
  // matches no seq except 0 (crc(0) == 0xFFFFFFFF, never written by ESP-IDF): the entry reads
  // invalid and the outcome is the one after the erase above. After this write the new entry
  // is in force.
  return flash.Write(offset, bytes);
}

}  // namespace aloft::core
