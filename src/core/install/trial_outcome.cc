#include "core/install/trial_outcome.h"

#include "core/boot/ota_ops.h"
#include "core/device/flash_image.h"
#include "core/try.h"

namespace aloft::core {

Result<uint32_t> ConfirmRunningApp(port::Flash& flash, const DeviceLayout& layout,
                                   const DeviceConfig& config, int running) {
  if (!layout.slots.has_otadata) {
    return kOtaNoOtadata;
  }
  ALOFT_TRY_ASSIGN(const Otadata otadata, ReadOtadata(flash, layout.otadata_offset));
  BootConfig boot_config = MakeBootConfig(config);
  if (config.anti_rollback_enabled) {
    ALOFT_TRY(ReadSecureVersions(flash, layout, boot_config));
  }
  const OtaOutcome outcome =
      MarkAppValidCancelRollback(&otadata, layout.slots, boot_config, running);
  // The confirmation: the active sector rewritten with state VALID (same seq). Power lost
  // before it: the entry is still PENDING_VERIFY and the next reset rolls back, as if the app
  // had crashed before confirming — safe, the update is simply lost. Lost during it: the active
  // sector reads erased or fails its CRC, so the other sector (the previous firmware) decides —
  // the same safe outcome. After it: this firmware keeps booting.
  ALOFT_TRY(ApplyOtadataAction(flash, layout.otadata_offset, outcome.otadata));
  ALOFT_TRY(outcome.status);
  return outcome.secure_version_raise.value_or(config.efuse_secure_version);
}

Status RejectRunningApp(port::Flash& flash, port::Crypto& crypto, const DeviceLayout& layout,
                        const DeviceConfig& config, ByteSpan work) {
  if (!layout.slots.has_otadata) {
    return kOtaNoOtadata;
  }
  if (work.size() < kMinFlashImageWorkSize) {
    return InvalidArgument("flash image: work buffer smaller than 4 KiB");
  }
  ALOFT_TRY_ASSIGN(const Otadata otadata, ReadOtadata(flash, layout.otadata_offset));
  BootConfig boot_config = MakeBootConfig(config);
  DeviceImagePolicy policy;
  policy.chip_id = config.chip_id;
  policy.chip_revision = config.chip_revision;
  policy.trust = config.trust;
  FlashImageCheck images(flash, crypto, layout, policy, work);
  if (config.anti_rollback_enabled) {
    ALOFT_TRY(ReadSecureVersions(flash, layout, boot_config));
  }
  const OtaOutcome outcome = MarkAppInvalidRollback(&otadata, layout.slots, boot_config, images);
  ALOFT_TRY(images.flash_status());
  ALOFT_TRY(outcome.status);
  // The rejection: the active sector rewritten with state INVALID. Power lost before it: the
  // entry keeps its state; a PENDING_VERIFY entry is aborted by the next boot anyway, a VALID one
  // keeps booting and the app can reject again. Lost during it: the active sector reads erased
  // or fails its CRC, so the other sector — the previous firmware, which verified just above —
  // decides, which is what the rejection asked for. After it: the next reset rolls back.
  return ApplyOtadataAction(flash, layout.otadata_offset, outcome.otadata);
}

}  // namespace aloft::core
