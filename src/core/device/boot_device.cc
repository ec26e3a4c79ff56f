#include "core/device/boot_device.h"

#include "core/boot/ota_ops.h"
#include "core/device/flash_image.h"
#include "core/try.h"

namespace aloft::core {
namespace {

// The state an otadata copy gives `index`: the active entry's if it names the slot (what the
// bootloader just acted on), else esp_ota_get_state_partition's answer.
std::optional<OtaState> StateOf(const Otadata& otadata, const SlotLayout& slots, int index) {
  if (index < 0 || !slots.has_otadata) {
    return std::nullopt;
  }
  const int active = ActiveEntry(otadata);
  if (active != kNoEntry && slots.bootloader_ota_count > 0) {
    const OtaSelectEntry& entry = otadata.entries[static_cast<size_t>(active)];
    if (SlotOfSeq(entry.seq, slots.bootloader_ota_count) == static_cast<uint32_t>(index)) {
      return entry.state;
    }
  }
  const Result<OtaState> state = GetStatePartition(&otadata, slots, index);
  if (!state.ok()) {
    return std::nullopt;
  }
  return *state;
}

}  // namespace

Result<BootReport> BootDevice(port::Flash& flash, port::Crypto& crypto, const DeviceLayout& layout,
                              const DeviceConfig& config, ByteSpan work,
                              const BootOptions& options) {
  if (work.size() < kMinFlashImageWorkSize) {
    return InvalidArgument("flash image: work buffer smaller than 4 KiB");
  }
  // Decode.
  Otadata before;
  if (layout.slots.has_otadata) {
    ALOFT_TRY_ASSIGN(before, ReadOtadata(flash, layout.otadata_offset));
  }
  const Otadata* otadata = layout.slots.has_otadata ? &before : nullptr;

  BootConfig boot_config = MakeBootConfig(config);
  if (config.anti_rollback_enabled) {
    // bootloader_common_get_partition_description: an unreadable descriptor fails the check.
    ALOFT_TRY(ReadSecureVersions(flash, layout, boot_config));
  }

  // Decide. Verification reads flash only; DecideBoot asks in load order and stops at the first
  // image that verifies.
  DeviceImagePolicy policy;
  policy.chip_id = config.chip_id;
  policy.chip_revision = config.chip_revision;
  policy.trust = config.trust;
  FlashImageCheck images(flash, crypto, layout, policy, work);
  BootReport report;
  report.decision = DecideBoot(otadata, layout.slots, boot_config, images);
  ALOFT_TRY(images.flash_status());
  const BootDecision& decision = report.decision;
  report.selected = decision.selection.index;
  for (size_t i = 0; i < decision.attempts.size(); ++i) {
    const LoadAttempt& attempt = decision.attempts[i];
    switch (attempt.result) {
      case LoadResult::kLoaded:
        report.attempt_status[i] = OkStatus();
        break;
      case LoadResult::kSecureVersionTooLow:
        report.attempt_status[i] = PermissionDenied("boot: secure_version below the efuse value");
        break;
      case LoadResult::kImageInvalid:
        report.attempt_status[i] = images.rejection(attempt.index);
        break;
    }
  }

  // Apply, in the bootloader's order. Each write erases one otadata sector and programs its
  // 32-byte entry; each is a commit point:
  //  - PENDING_VERIFY → ABORTED (both sectors, before loading). Power lost before it: the next
  //    boot finds PENDING_VERIFY again and aborts it then. Lost during it: the sector's entry is
  //    erased or fails its CRC, so it is invalid exactly as ABORTED is, and the other sector
  //    decides — the same boot.
  //  - NEW → PENDING_VERIFY (the active sector). Lost before it: the next boot sees NEW again and
  //    starts the trial again (the new app never ran). Lost during it: the entry is invalid, the
  //    older sector becomes active and the previous firmware boots; the new image stays
  //    unselected in its slot.
  //  - the initial write of sector 0 {seq k+1, VALID} after blank otadata. Lost before or
  //    during it: otadata still reads as initial contents and the next boot makes it again.
  // Nothing else in otadata is touched, and the image slots never are.
  Otadata after = before;
  for (const OtadataWrite& write : decision.writes) {
    if (!options.dry_run) {
      ALOFT_TRY(RewriteOtadataSector(flash, layout.otadata_offset, write.sector, write.entry));
    }
    after.entries[static_cast<size_t>(write.sector)] = write.entry;
    if (write.entry.state == OtaState::kAborted) {
      report.rolled_back = true;
    }
  }
  report.efuse_secure_version = decision.secure_version_raise.value_or(config.efuse_secure_version);
  if (!decision.booted.has_value()) {
    return NotFound("boot: no bootable image");
  }
  report.index = *decision.booted;
  if (report.selected != kInvalidIndex && report.index != report.selected) {
    report.rolled_back = true;
  }
  if (options.last_booted.has_value() && *options.last_booted != report.index) {
    const std::optional<OtaState> last_state =
        otadata != nullptr ? StateOf(before, layout.slots, *options.last_booted) : std::nullopt;
    if (last_state == OtaState::kInvalid || last_state == OtaState::kAborted) {
      report.rolled_back = true;
    }
  }
  if (layout.slots.has_otadata) {
    report.state = StateOf(after, layout.slots, report.index);
  }
  // The image verified a moment ago, so its header and descriptor read back.
  ALOFT_TRY_ASSIGN(FlashImageIdentity identity,
                   ReadFlashImageIdentity(flash, *layout.Find(report.index)));
  report.header = identity.header;
  report.app_description = identity.app_description;
  return report;
}

}  // namespace aloft::core
