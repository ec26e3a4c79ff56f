#include "core/install/stream_installer.h"

#include <algorithm>

#include "core/boot/boot_selection.h"
#include "core/boot/ota_ops.h"
#include "core/device/flash_image.h"
#include "core/try.h"

namespace aloft::core {

StreamInstaller::StreamInstaller(port::Flash& flash, port::Crypto& crypto,
                                 const DeviceLayout& layout, const DeviceConfig& config,
                                 ByteSpan work)
    : flash_(flash),
      crypto_(crypto),
      layout_(layout),
      config_(config),
      work_(work),
      region_sha256_(crypto, port::HashAlgorithm::kSha256),
      region_sha384_(crypto, port::HashAlgorithm::kSha384) {}

Status StreamInstaller::Fail(Status status) {
  state_ = State::kFailed;
  failure_ = status;
  return status;
}

void StreamInstaller::Abort() {
  state_ = State::kIdle;
  failure_ = OkStatus();
  validator_.reset();
  target_ = kInvalidIndex;
  written_ = 0;
  fed_ = 0;
}

Status StreamInstaller::Prepare(int running, std::optional<uint32_t> declared_size) {
  Abort();
  if (work_.size() < kInstallerMinWorkSize || work_.size() > kInstallerMaxWorkSize) {
    return InvalidArgument("installer: work buffer must be 4 to 8 KiB",
                           static_cast<uint32_t>(work_.size()));
  }
  const SlotLayout& slots = layout_.slots;
  if (!slots.has_otadata) {
    return FailedPrecondition("installer: no otadata partition");
  }
  const AppPartition* running_partition = layout_.Find(running);
  if (running_partition == nullptr) {
    return NotFound("installer: running partition not in the table");
  }
  // esp_https_ota_begin: the staging partition is esp_ota_get_next_update_partition(NULL).
  const std::optional<int> target = GetNextUpdatePartition(slots, running);
  if (!target.has_value()) {
    return FailedPrecondition("installer: no ota slot to install into");
  }
  // esp_ota_set_boot_partition would refuse this slot only after the whole download
  // (ESP_ERR_INVALID_ARG, k >= the app-side count): refuse it before writing anything.
  if (*target >= slots.app_ota_count) {
    return FailedPrecondition("installer: target slot beyond the app-side ota count",
                              static_cast<uint32_t>(*target));
  }
  ALOFT_TRY_ASSIGN(const Otadata otadata, ReadOtadata(flash_, layout_.otadata_offset));
  const OtaOutcome begin = OtaBegin(&otadata, slots, MakeBootConfig(config_), *target, running);
  ALOFT_TRY(begin.status);
  const AppPartition& slot = *layout_.Find(*target);
  if (declared_size.has_value() && *declared_size > slot.size) {
    return OutOfRange("installer: declared size exceeds the slot", slot.size);
  }
  // The device's chip is the running image's (what this firmware was built for).
  Result<FlashImageIdentity> running_image = ReadFlashImageIdentity(flash_, *running_partition);
  if (!running_image.ok()) {
    if (running_image.status().code() == Status::Code::kDataLoss) {
      return FailedPrecondition("installer: running image unreadable");
    }
    return running_image.status();
  }

  // ESP-IDF v5.5 esp_ota_begin (rollback enabled): erase the inactive otadata sector when it
  // names a slot other than the running one, so no later rollback can land on the slot about to
  // be overwritten. ESP-IDF does it after erasing the target; in sequential-erase mode nothing
  // is erased at begin, so it comes first here. Power lost before it: nothing changed. During
  // or after it: the inactive sector reads erased or fails its CRC — invalid either way — and
  // the active sector, which selects the running slot, still decides the boot.
  ALOFT_TRY(ApplyOtadataAction(flash_, layout_.otadata_offset, begin.otadata));

  target_ = *target;
  slot_ = slot;
  chip_id_ = running_image->header.chip_id;
  AppImageExpectations expectations;
  expectations.chip_id = chip_id_;
  expectations.chip_revision = config_.chip_revision;
  expectations.slot_size = std::min(slot.size, kMaxPartitionSize);
  expectations.declared_size = declared_size;
  expectations.require_hash = true;
  expectations.signed_image = config_.trust != nullptr;
  validator_.emplace(crypto_, expectations);

  want_sha256_ = false;
  want_sha384_ = false;
  if (const TrustPolicy* trust = config_.trust) {
    want_sha256_ = !trust->scheme.has_value() ||
                   SchemeDigestAlgorithm(*trust->scheme) == port::HashAlgorithm::kSha256;
    want_sha384_ = !trust->scheme.has_value() ||
                   SchemeDigestAlgorithm(*trust->scheme) == port::HashAlgorithm::kSha384;
  }
  if (want_sha256_) {
    ALOFT_TRY(region_sha256_.Begin());
  }
  if (want_sha384_) {
    ALOFT_TRY(region_sha384_.Begin());
  }
  state_ = State::kWriting;
  return OkStatus();
}

Status StreamInstaller::Begin(int running, std::optional<uint32_t> declared_size) {
  return Prepare(running, declared_size);
}

Status StreamInstaller::Absorb(ConstByteSpan bytes) {
  AppImageValidator& validator = *validator_;
  ALOFT_TRY(validator.Feed(bytes));
  // The advanced HTTPS example refuses a lower secure_version before downloading the rest;
  // esp_ota_set_boot_partition would erase the slot and refuse it at the end.
  if (config_.anti_rollback_enabled && validator.app_description_ready() &&
      validator.app_description().secure_version < config_.efuse_secure_version) {
    return PermissionDenied("installer: secure_version below the efuse value",
                            validator.app_description().secure_version);
  }
  if (want_sha256_ || want_sha384_) {
    // The signed region is [0, align_up(image_len, 4 KiB)). image_len is known once the last
    // segment header has streamed past, which is before any byte at or after image_len; until
    // then every byte belongs to the region.
    uint32_t region_end = UINT32_MAX;
    if (const std::optional<uint32_t> image_len = validator.image_len()) {
      region_end = SignatureSectorOffset(*image_len);
    }
    if (fed_ < region_end) {
      const ConstByteSpan in_region =
          bytes.first(std::min<uint64_t>(bytes.size(), uint64_t{region_end} - fed_));
      if (want_sha256_) {
        ALOFT_TRY(region_sha256_.Update(in_region));
      }
      if (want_sha384_) {
        ALOFT_TRY(region_sha384_.Update(in_region));
      }
    }
  }
  fed_ += static_cast<uint32_t>(bytes.size());
  return OkStatus();
}

Status StreamInstaller::Program(ConstByteSpan chunk) {
  const uint32_t sector = flash_.sector_size();
  size_t done = 0;
  while (done < chunk.size()) {
    const uint32_t position = written_;
    if (position % sector == 0) {
      // Sequential erase (esp_ota_write with OTA_WITH_SEQUENTIAL_WRITES): each sector of the
      // passive slot is erased just before its first byte, never the whole slot up front.
      // Otadata does not select this slot (Begin invalidated its old entry, with rollback),
      // so power lost during or after this erase leaves a partial image the bootloader never
      // chooses, and verification refuses it if a fallback ever tries it; the running slot is
      // untouched.
      ALOFT_TRY(flash_.Erase(slot_.offset + position, sector));
    }
    const size_t n = std::min<size_t>(chunk.size() - done, sector - position % sector);
    // The same argument: a torn or missing write only damages the unselected slot. Resume
    // rewinds to this sector's start and erases it again.
    ALOFT_TRY(flash_.Write(slot_.offset + position, chunk.subspan(done, n)));
    written_ += static_cast<uint32_t>(n);
    done += n;
  }
  return OkStatus();
}

Status StreamInstaller::Write(ConstByteSpan chunk) {
  if (state_ == State::kFailed) {
    return failure_;
  }
  if (state_ != State::kWriting) {
    return FailedPrecondition("installer: not begun");
  }
  if (chunk.empty()) {
    return OkStatus();
  }
  // Check first: a chunk that fails a check (wrong chip, too big, corrupt) never reaches flash.
  if (Status checked = Absorb(chunk); !checked.ok()) {
    return Fail(checked);
  }
  if (Status programmed = Program(chunk); !programmed.ok()) {
    return Fail(programmed);
  }
  return OkStatus();
}

Result<uint32_t> StreamInstaller::Resume(int running, uint32_t offset,
                                         std::optional<uint32_t> declared_size) {
  ALOFT_TRY(Prepare(running, declared_size));
  const uint32_t sector = flash_.sector_size();
  const uint32_t boundary = offset - offset % sector;
  if (boundary > slot_.size) {
    return Fail(OutOfRange("installer: resume offset beyond the slot", offset));
  }
  // Re-check what is in flash as if it streamed in now.
  for (uint32_t done = 0; done < boundary;) {
    const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(work_.size()), boundary - done);
    const ByteSpan chunk = work_.first(n);
    if (Status read = flash_.Read(slot_.offset + done, chunk); !read.ok()) {
      return Fail(read);
    }
    if (Status checked = Absorb(chunk); !checked.ok()) {
      return Fail(checked);
    }
    done += n;
  }
  written_ = boundary;
  return boundary;
}

Result<InstallResult> StreamInstaller::Finish() {
  if (state_ == State::kFailed) {
    return failure_;
  }
  if (state_ != State::kWriting) {
    return FailedPrecondition("installer: not begun");
  }
  Result<AppImageSummary> streamed = validator_->Finish();
  if (!streamed.ok()) {
    return Fail(streamed.status());
  }
  SignedRegionDigests stream_digests;
  if (want_sha256_) {
    std::array<std::byte, 32> digest{};
    ALOFT_TRY(region_sha256_.Finish(digest));
    stream_digests.sha256 = digest;
  }
  if (want_sha384_) {
    std::array<std::byte, 48> digest{};
    ALOFT_TRY(region_sha384_.Finish(digest));
    stream_digests.sha384 = digest;
  }

  // esp_ota_end + esp_ota_set_boot_partition verify the image as it is in flash, not as it
  // streamed: a bit that did not program, or a resume over a bad offset, shows up here.
  DeviceImagePolicy policy;
  policy.chip_id = chip_id_;
  policy.chip_revision = config_.chip_revision;
  policy.trust = config_.trust;
  policy.require_hash = true;
  const FlashImageVerdict verdict = VerifyFlashImage(flash_, crypto_, slot_, policy, work_);
  if (!verdict.flash_status.ok()) {
    return Fail(verdict.flash_status);
  }
  if (!verdict.image_status.ok()) {
    return Fail(verdict.image_status);
  }
  if (verdict.summary.image_len != streamed->image_len ||
      verdict.summary.sha256 != streamed->sha256 ||
      verdict.signed_digests.sha256 != stream_digests.sha256 ||
      verdict.signed_digests.sha384 != stream_digests.sha384) {
    return Fail(DataLoss("installer: flash differs from the stream"));
  }

  ALOFT_TRY_ASSIGN(const Otadata otadata, ReadOtadata(flash_, layout_.otadata_offset));
  BootConfig boot_config = MakeBootConfig(config_);
  boot_config.secure_version[target_] = verdict.summary.app_description.secure_version;
  ImageVerdicts images;  // the target verified just above, from flash
  images.verifies[target_] = true;
  const OtaOutcome outcome =
      SetBootPartition(&otadata, layout_.slots, boot_config, target_, images);
  if (outcome.erase_app_partition.has_value()) {
    // esp_ota_set_boot_partition erases an image whose secure_version is too low (anti-
    // rollback); Absorb refuses such an image earlier, so this mirrors ESP-IDF for safety only.
    // The slot is not selected, so a cut here harms nothing.
    const AppPartition& doomed = *layout_.Find(*outcome.erase_app_partition);
    ALOFT_TRY(flash_.Erase(doomed.offset, doomed.size));
  }
  if (!outcome.status.ok()) {
    return Fail(outcome.status);
  }
  // The commit point: the one write that switches the boot slot, made only after the whole
  // image (and its signature) verified from flash. It rewrites the inactive otadata sector with
  // a higher seq. Power lost before it: otadata still selects the running slot and the old
  // firmware boots. Lost during it: that sector reads erased or fails its CRC, so the active
  // sector — the running slot — still decides. After it: the next reset boots the new image
  // (NEW → PENDING_VERIFY with rollback, and back to the old one unless it confirms itself).
  if (Status switched = ApplyOtadataAction(flash_, layout_.otadata_offset, outcome.otadata);
      !switched.ok()) {
    return Fail(switched);
  }

  InstallResult result;
  result.slot = target_;
  result.image_len = verdict.summary.image_len;
  result.total_len = written_;
  result.state = outcome.otadata.entry.state;
  result.app_description = verdict.summary.app_description;
  Abort();  // idle again; nothing more to do
  return result;
}

}  // namespace aloft::core
