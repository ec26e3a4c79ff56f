#include "core/boot/ota_ops.h"

#include <algorithm>
#include <array>

#include "core/boot/internal/ota_seq_search.h"
#include "core/check.h"

namespace aloft::core {

// The constants of ota_ops.h, defined once so that every user sees the same reason pointer
// (Status equality compares pointers).
constinit const Status kOtaNoActiveEntry{Status::Code::kFailedPrecondition,
                                         "ota: no active otadata entry"};
constinit const Status kOtaNoOtadataFail{Status::Code::kNotFound,
                                         "ota: no otadata partition to invalidate"};
constinit const Status kOtaNoInactiveEntry{Status::Code::kFailedPrecondition,
                                           "ota: inactive otadata entry is empty"};
constinit const Status kOtaInactiveIsRunning{Status::Code::kFailedPrecondition,
                                             "ota: inactive otadata slot is the running app"};
constinit const Status kOtaSecureVersionBelowEfuse{
    Status::Code::kFailedPrecondition, "ota: running app's secure_version below the efuse value"};
constinit const Status kOtaNotOtaSlot{Status::Code::kInvalidArgument,
                                      "ota: partition is not an ota_N app slot"};
constinit const Status kOtaSlotBeyondCount{Status::Code::kInvalidArgument,
                                           "ota: slot is beyond the ota app count"};
constinit const Status kOtaSecureVersionTooWide{Status::Code::kInvalidArgument,
                                                "ota: secure_version exceeds the efuse field"};
constinit const Status kOtaNoOtadata{Status::Code::kNotFound, "ota: no otadata partition"};
constinit const Status kOtaNoStateEntry{Status::Code::kNotFound,
                                        "ota: no otadata entry for this slot"};
constinit const Status kOtaNoAppDescription{Status::Code::kNotFound,
                                            "ota: app description not readable"};
constinit const Status kOtaNoSuchPartition{Status::Code::kNotFound,
                                           "ota: partition not in the partition table"};
constinit const Status kOtaStateNeedsOtaSlot{Status::Code::kInvalidArgument,
                                             "ota: state is only kept for ota_N slots"};
constinit const Status kOtaPartitionConflict{Status::Code::kFailedPrecondition,
                                             "ota: target is the running partition"};
constinit const Status kOtaValidateFailed{Status::Code::kDataLoss, "ota: image does not verify"};
constinit const Status kOtaSmallSecureVersion{Status::Code::kPermissionDenied,
                                              "ota: secure_version below the efuse value"};
constinit const Status kOtaRollbackFailed{Status::Code::kFailedPrecondition,
                                          "ota: rollback is not possible"};
constinit const Status kOtaRollbackInvalidState{Status::Code::kFailedPrecondition,
                                                "ota: running app is pending verification"};
constinit const Status kOtaSeqOverflow{Status::Code::kOutOfRange,
                                       "ota: no ota_seq above the active one selects the slot"};

namespace {

bool HasOtadata(const Otadata* otadata, const SlotLayout& layout) {
  return otadata != nullptr && layout.has_otadata;
}

OtaOutcome Fail(Status status) {
  OtaOutcome outcome;
  outcome.status = status;
  return outcome;
}

OtadataAction Rewrite(int sector, const OtaSelectEntry& entry) {
  return {OtadataAction::Kind::kRewriteSector, sector, entry};
}

// find_default_boot_partition(): factory, else the lowest existing ota_N, else test.
std::optional<int> DefaultBootPartition(const SlotLayout& layout) {
  if (layout.has_factory) {
    return kFactoryIndex;
  }
  for (int k = 0; k < kMaxOtaSlots; ++k) {
    if (layout.HasOta(k)) {
      return k;
    }
  }
  if (layout.has_test) {
    return kTestIndex;
  }
  return std::nullopt;
}

// erase_last_boot_app_partition(skip_app_part_erase).
OtaOutcome EraseLastBoot(const Otadata* otadata, const SlotLayout& layout, int running,
                         bool erase_app) {
  if (!HasOtadata(otadata, layout)) {
    return Fail(kOtaNoOtadataFail);
  }
  const uint32_t count = layout.app_ota_count;
  const int active = ActiveEntry(*otadata);
  if (active == kNoEntry || count == 0) {
    return Fail(kOtaNoActiveEntry);
  }
  const int inactive = 1 - active;
  const OtaSelectEntry& entry = otadata->entries[inactive];
  // Any state counts here, INVALID and ABORTED included: only seq and crc are looked at.
  if (entry.seq == kOtaSeqErased || !HasValidCrc(entry)) {
    return Fail(kOtaNoInactiveEntry);
  }
  const int slot = static_cast<int>(SlotOfSeq(entry.seq, count));
  if (!layout.HasOta(slot)) {
    return Fail(kOtaNoInactiveEntry);
  }
  if (slot == running) {
    return Fail(kOtaInactiveIsRunning);
  }
  OtaOutcome outcome;
  if (erase_app) {
    outcome.erase_app_partition = slot;
  }
  outcome.otadata = {OtadataAction::Kind::kEraseSector, inactive, OtaSelectEntry{}};
  return outcome;
}

}  // namespace

EspError EspErrorOf(const Status& status) {
  struct Row {
    const Status* status;
    EspError error;
  };
  static constexpr Row kRows[] = {
      {&kOtaNoActiveEntry, {"ESP_FAIL", -1}},
      {&kOtaNoOtadataFail, {"ESP_FAIL", -1}},
      {&kOtaNoInactiveEntry, {"ESP_FAIL", -1}},
      {&kOtaInactiveIsRunning, {"ESP_FAIL", -1}},
      {&kOtaSecureVersionBelowEfuse, {"ESP_FAIL", -1}},
      {&kOtaNotOtaSlot, {"ESP_ERR_INVALID_ARG", 0x102}},
      {&kOtaSlotBeyondCount, {"ESP_ERR_INVALID_ARG", 0x102}},
      {&kOtaSecureVersionTooWide, {"ESP_ERR_INVALID_ARG", 0x102}},
      {&kOtaNoOtadata, {"ESP_ERR_NOT_FOUND", 0x105}},
      {&kOtaNoStateEntry, {"ESP_ERR_NOT_FOUND", 0x105}},
      {&kOtaNoAppDescription, {"ESP_ERR_NOT_FOUND", 0x105}},
      {&kOtaNoSuchPartition, {"ESP_ERR_NOT_FOUND", 0x105}},
      {&kOtaStateNeedsOtaSlot, {"ESP_ERR_NOT_SUPPORTED", 0x106}},
      {&kOtaPartitionConflict, {"ESP_ERR_OTA_PARTITION_CONFLICT", 0x1501}},
      {&kOtaValidateFailed, {"ESP_ERR_OTA_VALIDATE_FAILED", 0x1503}},
      {&kOtaSmallSecureVersion, {"ESP_ERR_OTA_SMALL_SEC_VER", 0x1504}},
      {&kOtaRollbackFailed, {"ESP_ERR_OTA_ROLLBACK_FAILED", 0x1505}},
      {&kOtaRollbackInvalidState, {"ESP_ERR_OTA_ROLLBACK_INVALID_STATE", 0x1506}},
  };
  if (status.ok()) {
    return {"ESP_OK", 0};
  }
  for (const Row& row : kRows) {
    if (status == *row.status) {
      return row.error;
    }
  }
  return {"unknown", -1};
}

std::optional<uint32_t> NextOtaSeq(uint32_t base, uint32_t k, uint32_t n) {
  ALOFT_CHECK(n > 0 && n <= static_cast<uint32_t>(kMaxOtaSlots) && k < n);
  return internal::NextOtaSeqIn<uint32_t>(base, k, n);
}

OtaOutcome SetBootPartition(const Otadata* otadata, const SlotLayout& layout,
                            const BootConfig& config, int partition, ImageCheck& images) {
  if (!layout.Has(partition)) {
    return Fail(kOtaNoSuchPartition);
  }
  if (!images.ImageVerifies(partition)) {
    return Fail(kOtaValidateFailed);
  }
  if (partition == kFactoryIndex) {
    // ESP-IDF looks the otadata partition up, it does not read it: unreadable contents are
    // erased all the same.
    if (!layout.has_otadata) {
      return Fail(kOtaNoOtadata);
    }
    OtaOutcome outcome;
    outcome.otadata.kind = OtadataAction::Kind::kEraseAll;
    return outcome;
  }
  if (config.anti_rollback_enabled) {
    const std::optional<uint32_t>& version = config.secure_version[partition];
    if (!version.has_value()) {
      return Fail(kOtaNoAppDescription);
    }
    if (*version < config.efuse_secure_version) {
      // ESP-IDF erases the whole partition so this image can never be selected later.
      OtaOutcome outcome = Fail(kOtaSmallSecureVersion);
      outcome.erase_app_partition = partition;
      return outcome;
    }
  }
  if (!HasOtadata(otadata, layout)) {
    return Fail(kOtaNoOtadata);
  }
  const uint32_t count = layout.app_ota_count;
  // SUB_TYPE_ID(subtype) = subtype & 0x0F, which is 0 for the test app (0x20).
  const uint32_t k = partition == kTestIndex ? 0 : static_cast<uint32_t>(partition);
  if (k >= count) {
    return Fail(kOtaSlotBeyondCount);
  }

  int target = 0;
  uint32_t seq = k + 1;  // no valid entry: not reduced mod count, written to sector 0
  const int active = ActiveEntry(*otadata);
  if (active != kNoEntry) {
    const std::optional<uint32_t> next = NextOtaSeq(otadata->entries[active].seq, k, count);
    if (!next.has_value()) {
      return Fail(kOtaSeqOverflow);
    }
    seq = *next;
    target = 1 - active;
  }
  // The target sector's own label bytes are kept, as rewrite_ota_seq() keeps them.
  OtaSelectEntry entry = otadata->entries[target];
  entry.seq = seq;
  entry.state = config.rollback_enabled ? OtaState::kNew : OtaState::kUndefined;
  entry.crc = OtaSeqCrc(seq);
  OtaOutcome outcome;
  outcome.otadata = Rewrite(target, entry);
  return outcome;
}

std::optional<int> GetBootPartition(const Otadata* otadata, const SlotLayout& layout) {
  if (!HasOtadata(otadata, layout)) {
    return std::nullopt;
  }
  const uint32_t count = layout.app_ota_count;
  if ((IsEntryInvalid(otadata->entries[0]) && IsEntryInvalid(otadata->entries[1])) || count == 0) {
    return DefaultBootPartition(layout);
  }
  const int active = ActiveEntry(*otadata);
  if (active == kNoEntry) {
    return DefaultBootPartition(layout);
  }
  const int slot = static_cast<int>(SlotOfSeq(otadata->entries[active].seq, count));
  if (!layout.HasOta(slot)) {
    return std::nullopt;
  }
  return slot;
}

std::optional<int> GetNextUpdatePartition(const SlotLayout& layout, int start_from) {
  std::optional<int> first;
  bool next_is_result = false;
  for (int k = 0; k < kMaxOtaSlots; ++k) {
    if (!layout.HasOta(k)) {
      continue;
    }
    if (!first.has_value()) {
      first = k;
    }
    if (k == start_from) {
      next_is_result = true;
    } else if (next_is_result) {
      return k;
    }
  }
  return first;
}

Result<OtaState> GetStatePartition(const Otadata* otadata, const SlotLayout& layout,
                                   int partition) {
  if (!layout.Has(partition)) {
    return kOtaNoSuchPartition;
  }
  if (partition < 0) {
    return kOtaStateNeedsOtaSlot;
  }
  const uint32_t count = layout.app_ota_count;
  if (!HasOtadata(otadata, layout) || count == 0) {
    return kOtaNoOtadata;
  }
  // Neither the state nor the seq order matters here, and an erased seq is not skipped: the
  // first sector whose slot matches with a right crc answers.
  for (const OtaSelectEntry& entry : otadata->entries) {
    if (SlotOfSeq(entry.seq, count) == static_cast<uint32_t>(partition) && HasValidCrc(entry)) {
      return entry.state;
    }
  }
  return kOtaNoStateEntry;
}

bool CheckRollbackIsPossible(const Otadata* otadata, const SlotLayout& layout,
                             const BootConfig& config, ImageCheck& images) {
  const uint32_t count = layout.app_ota_count;
  if (!HasOtadata(otadata, layout) || count == 0) {
    return false;
  }
  const std::array<bool, kOtadataSectorCount> valid = {IsEntryValid(otadata->entries[0]),
                                                       IsEntryValid(otadata->entries[1])};
  const int active = SelectEntry(*otadata, valid, /*want_max=*/true);
  if (active == kNoEntry) {
    return false;
  }
  const int last_active = 1 - active;
  if (!config.anti_rollback_enabled && !valid[last_active] && layout.has_factory &&
      images.ImageVerifies(kFactoryIndex)) {
    return true;
  }
  if (!valid[last_active]) {
    return false;
  }
  const int slot = static_cast<int>(SlotOfSeq(otadata->entries[last_active].seq, count));
  if (!layout.HasOta(slot) || !images.ImageVerifies(slot)) {
    return false;
  }
  if (!config.anti_rollback_enabled) {
    return true;
  }
  const std::optional<uint32_t>& version = config.secure_version[slot];
  return version.has_value() && *version >= config.efuse_secure_version;
}

std::optional<int> GetLastInvalidPartition(const Otadata* otadata, const SlotLayout& layout,
                                           ImageCheck& images) {
  if (!HasOtadata(otadata, layout)) {
    return std::nullopt;
  }
  std::array<bool, kOtadataSectorCount> rejected{};
  for (int sector = 0; sector < kOtadataSectorCount; ++sector) {
    const OtaSelectEntry& entry = otadata->entries[sector];
    rejected[sector] = entry.seq != kOtaSeqErased && HasValidCrc(entry) &&
                       (entry.state == OtaState::kInvalid || entry.state == OtaState::kAborted);
  }
  const int sector = SelectEntry(*otadata, rejected, /*want_max=*/false);
  const uint32_t count = layout.app_ota_count;
  if (sector == kNoEntry || count == 0) {
    return std::nullopt;
  }
  const int slot = static_cast<int>(SlotOfSeq(otadata->entries[sector].seq, count));
  if (!layout.HasOta(slot) || !images.ImageVerifies(slot)) {
    return std::nullopt;
  }
  return slot;
}

OtaOutcome MarkAppValidCancelRollback(const Otadata* otadata, const SlotLayout& layout,
                                      const BootConfig& config, int running) {
  if (!HasOtadata(otadata, layout)) {
    return Fail(kOtaNoOtadata);
  }
  const int active = ActiveEntry(*otadata);
  if (active == kNoEntry || layout.app_ota_count == 0) {
    return Fail(kOtaNoActiveEntry);
  }
  OtaSelectEntry entry = otadata->entries[active];
  if (entry.state == OtaState::kValid) {
    return OtaOutcome{};
  }
  entry.state = OtaState::kValid;
  entry.crc = OtaSeqCrc(entry.seq);
  OtaOutcome outcome;
  outcome.otadata = Rewrite(active, entry);
  if (!config.anti_rollback_enabled) {
    return outcome;
  }
  // esp_ota_set_anti_rollback(): after the write, from the *running* app's description, with
  // esp_efuse_update_secure_version()'s errors becoming the call's result.
  if (!layout.Has(running) || !config.secure_version[running].has_value()) {
    outcome.status = kOtaNoAppDescription;
    return outcome;
  }
  const uint32_t version = *config.secure_version[running];
  if (version > config.efuse_secure_version_bits) {
    outcome.status = kOtaSecureVersionTooWide;
  } else if (version < config.efuse_secure_version) {
    outcome.status = kOtaSecureVersionBelowEfuse;
  } else if (version > config.efuse_secure_version) {
    outcome.secure_version_raise = version;
  }
  return outcome;
}

OtaOutcome MarkAppInvalidRollback(const Otadata* otadata, const SlotLayout& layout,
                                  const BootConfig& config, ImageCheck& images) {
  if (!HasOtadata(otadata, layout)) {
    return Fail(kOtaNoOtadata);
  }
  const int active = ActiveEntry(*otadata);
  if (active == kNoEntry || layout.app_ota_count == 0) {
    return Fail(kOtaNoActiveEntry);
  }
  if (!CheckRollbackIsPossible(otadata, layout, config, images)) {
    return Fail(kOtaRollbackFailed);
  }
  OtaSelectEntry entry = otadata->entries[active];
  entry.state = OtaState::kInvalid;
  entry.crc = OtaSeqCrc(entry.seq);
  OtaOutcome outcome;
  outcome.otadata = Rewrite(active, entry);
  return outcome;
}

OtaOutcome EraseLastBootAppPartition(const Otadata* otadata, const SlotLayout& layout,
                                     int running) {
  return EraseLastBoot(otadata, layout, running, /*erase_app=*/true);
}

OtaOutcome InvalidateInactiveOtaDataSlot(const Otadata* otadata, const SlotLayout& layout,
                                         int running) {
  return EraseLastBoot(otadata, layout, running, /*erase_app=*/false);
}

OtaOutcome OtaBegin(const Otadata* otadata, const SlotLayout& layout, const BootConfig& config,
                    int target, int running) {
  if (!layout.Has(target)) {
    return Fail(kOtaNoSuchPartition);
  }
  if (target < 0) {
    return Fail(kOtaNotOtaSlot);
  }
  if (target == running) {
    return Fail(kOtaPartitionConflict);
  }
  if (!config.rollback_enabled) {
    return OtaOutcome{};
  }
  // The running app must confirm itself before it may download another.
  const Result<OtaState> running_state = GetStatePartition(otadata, layout, running);
  if (running_state.ok() && *running_state == OtaState::kPendingVerify) {
    return Fail(kOtaRollbackInvalidState);
  }
  // v5.5+: forget the inactive entry, so a later rollback cannot land on the slot about to be
  // overwritten. ESP-IDF ignores this step's result.
  OtaOutcome outcome;
  const OtaOutcome invalidate = InvalidateInactiveOtaDataSlot(otadata, layout, running);
  if (invalidate.status.ok()) {
    outcome.otadata = invalidate.otadata;
  }
  return outcome;
}

Status ApplyOtadataAction(port::Flash& flash, uint32_t otadata_offset,
                          const OtadataAction& action) {
  switch (action.kind) {
    case OtadataAction::Kind::kNone:
      return OkStatus();
    case OtadataAction::Kind::kRewriteSector:
      return RewriteOtadataSector(flash, otadata_offset, action.sector, action.entry);
    case OtadataAction::Kind::kEraseSector:
      ALOFT_CHECK(action.sector == 0 || action.sector == 1);
      // Only ever the inactive sector: a cut during or after this erase leaves it erased or
      // corrupt, which reads as invalid exactly like the finished erase, and the active sector
      // still decides the boot.
      return flash.Erase(otadata_offset + static_cast<uint32_t>(action.sector) * kOtadataSectorSize,
                         kOtadataSectorSize);
    case OtadataAction::Kind::kEraseAll:
      // set_boot(factory). A cut part-way can leave one sector erased and the other intact, in
      // which case the intact entry (if valid) still selects its OTA slot instead of factory;
      // repeating the call finishes the switch.
      return flash.Erase(otadata_offset, kOtadataSize);
  }
  return Internal("ota: unknown otadata action");
}

Status ApplyOtadataAction(const OtadataAction& action, ByteSpan otadata_partition) {
  if (otadata_partition.size() != kOtadataSize) {
    return InvalidArgument("otadata: partition buffer is not 0x2000 bytes",
                           static_cast<uint32_t>(otadata_partition.size()));
  }
  switch (action.kind) {
    case OtadataAction::Kind::kNone:
      return OkStatus();
    case OtadataAction::Kind::kRewriteSector:
      ALOFT_CHECK(action.sector == 0 || action.sector == 1);
      return SerializeOtadataSector(
          action.entry,
          otadata_partition.subspan(static_cast<size_t>(action.sector) * kOtadataSectorSize,
                                    kOtadataSectorSize));
    case OtadataAction::Kind::kEraseSector: {
      ALOFT_CHECK(action.sector == 0 || action.sector == 1);
      const ByteSpan sector = otadata_partition.subspan(
          static_cast<size_t>(action.sector) * kOtadataSectorSize, kOtadataSectorSize);
      std::fill(sector.begin(), sector.end(), std::byte{0xFF});
      return OkStatus();
    }
    case OtadataAction::Kind::kEraseAll:
      std::fill(otadata_partition.begin(), otadata_partition.end(), std::byte{0xFF});
      return OkStatus();
  }
  return Internal("ota: unknown otadata action");
}

}  // namespace aloft::core
