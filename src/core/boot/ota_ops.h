#pragma once
// The app side of otadata: ESP-IDF's esp_ota_ops.c (v5.5.5) as pure decisions. Each function
// takes the decoded otadata, the slot layout, the configuration and (where ESP-IDF verifies an
// image) an ImageCheck, and returns ESP-IDF's result as a Status plus the flash changes to make;
// ApplyOtadataAction makes them. No I/O, no heap. Spec: shared/spec/esp-idf-ota.md §4, §5.1,
// §5.5; docs/formats/otadata.md.
//
// Partitions are named by index (core/boot/slot_layout.h). `otadata` is null when there is no
// otadata partition or it cannot be read (ESP-IDF's read_otadata() returning NULL); a layout
// with has_otadata false is treated the same. "OTA count" is layout.app_ota_count throughout.
//
// ESP-IDF error → Status (each ESP-IDF error has one code; the reasons below are the constants
// returned, so callers compare with ==; EspErrorOf maps back):
//   ESP_OK                              OkStatus()
//   ESP_FAIL                            kFailedPrecondition (kOtaNoActiveEntry,
//                                       kOtaNoInactiveEntry, kOtaInactiveIsRunning,
//                                       kOtaSecureVersionBelowEfuse), kNotFound (kOtaNoOtadataFail)
//   ESP_ERR_INVALID_ARG                 kInvalidArgument (kOtaNotOtaSlot, kOtaSlotBeyondCount,
//                                       kOtaSecureVersionTooWide)
//   ESP_ERR_NOT_FOUND                   kNotFound (kOtaNoOtadata, kOtaNoStateEntry,
//                                       kOtaNoAppDescription, kOtaNoSuchPartition)
//   ESP_ERR_NOT_SUPPORTED               kInvalidArgument (kOtaStateNeedsOtaSlot)
//   (ESP-IDF loops forever)             kOutOfRange (kOtaSeqOverflow)
//   ESP_ERR_OTA_PARTITION_CONFLICT      kFailedPrecondition (kOtaPartitionConflict)
//   ESP_ERR_OTA_VALIDATE_FAILED         kDataLoss (kOtaValidateFailed)
//   ESP_ERR_OTA_SMALL_SEC_VER           kPermissionDenied (kOtaSmallSecureVersion)
//   ESP_ERR_OTA_ROLLBACK_FAILED         kFailedPrecondition (kOtaRollbackFailed)
//   ESP_ERR_OTA_ROLLBACK_INVALID_STATE  kFailedPrecondition (kOtaRollbackInvalidState)

#include <cstdint>
#include <optional>

#include "core/boot/boot_selection.h"
#include "core/boot/slot_layout.h"
#include "core/format/otadata.h"
#include "core/port/flash.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::core {

// The Statuses returned here (reasons in ota_ops.cc). Defined once, so == works across
// translation units (Status equality compares reason pointers).
// ESP_FAIL:
extern const Status kOtaNoActiveEntry;      // mark valid/invalid, erase: no active entry (factory)
extern const Status kOtaNoOtadataFail;      // erase_last_boot / invalidate: no otadata (kNotFound)
extern const Status kOtaNoInactiveEntry;    // the inactive entry is erased or has a bad crc
extern const Status kOtaInactiveIsRunning;  // the inactive entry's slot is the running app
extern const Status kOtaSecureVersionBelowEfuse;  // mark valid: esp_efuse_update_secure_version
// ESP_ERR_INVALID_ARG:
extern const Status kOtaNotOtaSlot;            // esp_ota_begin on factory or test
extern const Status kOtaSlotBeyondCount;       // set_boot: slot >= the app-side OTA count
extern const Status kOtaSecureVersionTooWide;  // mark valid: secure_version > eFuse field bits
// ESP_ERR_NOT_FOUND:
extern const Status kOtaNoOtadata;         // no otadata partition (or unreadable)
extern const Status kOtaNoStateEntry;      // get_state: no entry for this slot
extern const Status kOtaNoAppDescription;  // anti-rollback: esp_app_desc_t not readable
extern const Status kOtaNoSuchPartition;   // ours: the layout has no such partition
// ESP_ERR_NOT_SUPPORTED:
extern const Status kOtaStateNeedsOtaSlot;  // get_state on factory or test
// ESP_ERR_OTA_*:
extern const Status kOtaPartitionConflict;     // 0x1501
extern const Status kOtaValidateFailed;        // 0x1503
extern const Status kOtaSmallSecureVersion;    // 0x1504
extern const Status kOtaRollbackFailed;        // 0x1505
extern const Status kOtaRollbackInvalidState;  // 0x1506
// Ours: where ESP-IDF's set_boot seq search never ends (see NextOtaSeq). EspErrorOf: unknown.
extern const Status kOtaSeqOverflow;

// ESP-IDF's name and number for a Status returned by this file: {"ESP_OK", 0},
// {"ESP_ERR_OTA_ROLLBACK_FAILED", 0x1505}, ...; {"unknown", -1} for any other Status.
struct EspError {
  const char* name;
  int32_t code;
};
EspError EspErrorOf(const Status& status);

// One change to otadata, as ESP-IDF makes it.
struct OtadataAction {
  enum class Kind : uint8_t {
    kNone,
    kRewriteSector,  // erase `sector`, write `entry` at its start (rewrite_ota_seq)
    kEraseSector,    // erase `sector` only
    kEraseAll,       // erase both sectors (set_boot(factory))
  };
  Kind kind = Kind::kNone;
  int sector = 0;
  OtaSelectEntry entry;

  friend bool operator==(const OtadataAction&, const OtadataAction&) = default;
};

// What an operation returns and does, in the order ESP-IDF does it: erase an app partition,
// change otadata, raise the eFuse secure version. Each may be absent. `status` is the call's
// result; it can be an error even when changes were made (see MarkAppValidCancelRollback).
struct OtaOutcome {
  Status status;
  std::optional<int> erase_app_partition;
  OtadataAction otadata;
  std::optional<uint32_t> secure_version_raise;
};

// esp_ota_set_boot_partition(partition) (spec §4.1): in order, kOtaNoSuchPartition,
// kOtaValidateFailed (images says no); factory: kEraseAll, or kOtaNoOtadata; anti-rollback:
// kOtaNoAppDescription, or erase the partition and kOtaSmallSecureVersion; kOtaNoOtadata;
// kOtaSlotBeyondCount. Otherwise rewrite the inactive sector (sector 0 if no entry is valid)
// with the smallest seq >= the active seq that selects the slot, state NEW with rollback
// enabled else UNDEFINED, the sector's label kept. ESP-IDF quirk kept: the test app is slot 0
// (subtype 0x20 & 0x0F), so set_boot(test) points otadata at ota_0. kOtaSeqOverflow where
// ESP-IDF's search would never end (see NextOtaSeq).
OtaOutcome SetBootPartition(const Otadata* otadata, const SlotLayout& layout,
                            const BootConfig& config, int partition, ImageCheck& images);

// esp_rewrite_ota_data()'s search: the first value of ((k+1) mod n) + i·n, i = 0, 1, ...,
// computed in uint32 (so it wraps), that is >= base. A result of exactly 0xFFFFFFFF is
// returned as is (the written entry then counts as erased: the switch silently does nothing).
// nullopt where the ESP-IDF loop never ends (e.g. n = 4, k = 3, base = 0xFFFFFFFD).
// REQUIRES: 0 < n <= 16, k < n.
std::optional<uint32_t> NextOtaSeq(uint32_t base, uint32_t k, uint32_t n);

// esp_ota_get_boot_partition(): nullopt without otadata; the active entry's slot; else the
// default (factory, else the lowest existing ota_N, else test, else nullopt).
std::optional<int> GetBootPartition(const Otadata* otadata, const SlotLayout& layout);

// esp_ota_get_next_update_partition(start_from): the existing ota_N after start_from in
// subtype order; the first one when start_from is the last or not an OTA slot; nullopt if none.
std::optional<int> GetNextUpdatePartition(const SlotLayout& layout, int start_from);

// esp_ota_get_state_partition(partition): kOtaNoSuchPartition; kOtaStateNeedsOtaSlot for
// factory/test; kOtaNoOtadata (also when the OTA count is 0); else the state of the first
// sector (0, then 1) whose slot is `partition` and whose crc is right, whatever its state or
// seq; kOtaNoStateEntry if none.
Result<OtaState> GetStatePartition(const Otadata* otadata, const SlotLayout& layout, int partition);

// esp_ota_check_rollback_is_possible(): whether the other sector's entry (or, if it is not
// valid and anti-rollback is off, the factory app) names an image that verifies (and, with
// anti-rollback, whose secure_version is >= the eFuse value).
bool CheckRollbackIsPossible(const Otadata* otadata, const SlotLayout& layout,
                             const BootConfig& config, ImageCheck& images);

// esp_ota_get_last_invalid_partition(): the slot of the CRC-valid INVALID/ABORTED entry with
// the smaller seq (tie: sector 0), or nullopt if none or its image does not verify.
std::optional<int> GetLastInvalidPartition(const Otadata* otadata, const SlotLayout& layout,
                                           ImageCheck& images);

// esp_ota_mark_app_valid_cancel_rollback(): kOtaNoOtadata; kOtaNoActiveEntry; OK with no change
// when the active entry is already VALID; else rewrite the active sector as VALID. With
// anti-rollback, then raise the eFuse to the running app's secure_version, whose failure is the
// call's status although the otadata write stands: kOtaNoAppDescription,
// kOtaSecureVersionTooWide, kOtaSecureVersionBelowEfuse. Acts on the active entry, which need
// not be the running slot.
OtaOutcome MarkAppValidCancelRollback(const Otadata* otadata, const SlotLayout& layout,
                                      const BootConfig& config, int running);

// esp_ota_mark_app_invalid_rollback() (the _and_reboot variant restarts on OK): kOtaNoOtadata;
// kOtaNoActiveEntry; kOtaRollbackFailed with no change unless CheckRollbackIsPossible; else
// rewrite the active sector as INVALID.
OtaOutcome MarkAppInvalidRollback(const Otadata* otadata, const SlotLayout& layout,
                                  const BootConfig& config, ImageCheck& images);

// esp_ota_erase_last_boot_app_partition(): kOtaNoOtadataFail; kOtaNoActiveEntry; the inactive
// entry must have a seq other than 0xFFFFFFFF and a right crc (any state), else
// kOtaNoInactiveEntry; its slot must not be `running`, else kOtaInactiveIsRunning. Then erase
// that app partition and the inactive sector.
OtaOutcome EraseLastBootAppPartition(const Otadata* otadata, const SlotLayout& layout, int running);
// esp_ota_invalidate_inactive_ota_data_slot(): the same checks; erases only the inactive sector.
OtaOutcome InvalidateInactiveOtaDataSlot(const Otadata* otadata, const SlotLayout& layout,
                                         int running);

// The otadata part of esp_ota_begin(target) (spec §5.1): kOtaNoSuchPartition; kOtaNotOtaSlot
// unless target is ota_N; kOtaPartitionConflict if target == running; with rollback enabled,
// kOtaRollbackInvalidState if the running slot's state (GetStatePartition) is PENDING_VERIFY.
// On OK, with rollback enabled, `otadata` is InvalidateInactiveOtaDataSlot's change (none if
// its checks fail; ESP-IDF ignores its result). Apply it only after esp_ota_begin's erase of
// the target succeeded: ESP-IDF returns the erase error before this step.
OtaOutcome OtaBegin(const Otadata* otadata, const SlotLayout& layout, const BootConfig& config,
                    int target, int running);

// Makes one OtadataAction on flash (kNone: nothing). kRewriteSector is RewriteOtadataSector;
// the erases cover the 4 KiB sectors at otadata_offset (+0x1000). Returns the flash's error.
Status ApplyOtadataAction(port::Flash& flash, uint32_t otadata_offset, const OtadataAction& action);
// The same on an in-memory copy of the otadata partition. kInvalidArgument
// "otadata: partition buffer is not 0x2000 bytes" otherwise.
Status ApplyOtadataAction(const OtadataAction& action, ByteSpan otadata_partition);

}  // namespace aloft::core
