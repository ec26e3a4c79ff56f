#pragma once
// An app image as it sits in an app partition on flash: the bootloader's full verification
// (esp_image_verify, spec ../shared/spec/esp-idf-ota.md §5.4 and esp-app-image.md §6, §12) read
// back from flash through a caller's work buffer, the ImageCheck the boot decisions ask
// (core/boot/boot_selection.h), and small readers for the header and esp_app_desc_t.
// No heap; the work buffer and everything passed by reference must outlive each call or object.
// Not thread-safe (a FlashImageCheck caches its verdicts).

#include <array>
#include <cstdint>
#include <optional>

#include "core/boot/boot_selection.h"
#include "core/device/device_layout.h"
#include "core/format/app_image.h"
#include "core/format/app_image_validator.h"
#include "core/port/crypto.h"
#include "core/port/flash.h"
#include "core/result.h"
#include "core/signature/signature_verifier.h"
#include "core/status.h"

namespace aloft::core {

// What a device requires of the images it boots or installs.
struct DeviceImagePolicy {
  // The device's chip (esp_chip_id_t); nullopt accepts each image's own chip (host tools).
  std::optional<uint16_t> chip_id;
  std::optional<uint16_t> chip_revision;
  // Secure Boot v2: set, every image must carry a signature sector with a block that verifies
  // under this policy; null, signatures are not looked at.
  const TrustPolicy* trust = nullptr;
  // Refuse images without an appended SHA-256 (the bootloader accepts them; the installer not).
  bool require_hash = false;
};

// The smallest work buffer VerifyFlashImage accepts: it must hold a signature sector.
inline constexpr uint32_t kMinFlashImageWorkSize = kSignatureSectorSize;

struct FlashImageVerdict {
  // The flash's own error (kAborted after a power cut, ...): no verdict could be reached.
  Status flash_status;
  // The verdict, meaningful when flash_status is OK: OK, or the first failing check with the
  // reasons of app_image.h / app_image_validator.h, kUnauthenticated / kPermissionDenied from
  // the signature verifier (signature_verifier.h).
  Status image_status;
  // Valid when both are OK.
  AppImageSummary summary;
  // The signed region's digest(s) computed from flash; set when a TrustPolicy was given and
  // the image got as far as the signature check.
  SignedRegionDigests signed_digests;

  bool ok() const { return flash_status.ok() && image_status.ok(); }
};

// Verifies the image at the start of `partition` as the bootloader does: header, chip id and
// revision, segments, esp_app_desc_t, checksum, size vs the partition, appended SHA-256, then
// (with policy.trust) the Secure Boot v2 signature over [0, align_up(image_len, 4 KiB)) with the
// sector that follows. Reads only as far as the image (and its signature sector) reaches.
// kInvalidArgument "flash image: work buffer smaller than 4 KiB" (as image_status) when
// work.size() < kMinFlashImageWorkSize.
FlashImageVerdict VerifyFlashImage(port::Flash& flash, port::Crypto& crypto,
                                   const AppPartition& partition, const DeviceImagePolicy& policy,
                                   ByteSpan work);

// The image header and esp_app_desc_t at the start of a partition, checked only for their
// magics: kDataLoss "flash image: no image header" (magic is not 0xE9), "flash image: no
// esp_app_desc_t" (descriptor magic); the flash's errors.
struct FlashImageIdentity {
  ImageHeader header;
  AppDescription app_description;
};
Result<FlashImageIdentity> ReadFlashImageIdentity(port::Flash& flash,
                                                  const AppPartition& partition);

// Fills config.secure_version for every app partition of `layout` whose header and
// esp_app_desc_t read back (what anti-rollback compares with the eFuse; an unreadable one stays
// nullopt, which fails the check as in ESP-IDF). Returns only the flash's errors.
Status ReadSecureVersions(port::Flash& flash, const DeviceLayout& layout, BootConfig& config);

// The ImageCheck the bootloader and esp_ota_ops use, over real flash: each partition verified
// once by VerifyFlashImage and the verdict cached. A flash error (a power cut) makes the image
// "not verified" and is kept in flash_status(), which the caller must check before trusting a
// decision made with this object.
class FlashImageCheck final : public ImageCheck {
 public:
  // REQUIRES: every reference outlives the object; work.size() >= kMinFlashImageWorkSize.
  FlashImageCheck(port::Flash& flash, port::Crypto& crypto, const DeviceLayout& layout,
                  const DeviceImagePolicy& policy, ByteSpan work)
      : flash_(flash), crypto_(crypto), layout_(layout), policy_(policy), work_(work) {}

  bool ImageVerifies(int index) override;

  // Why partition `index` did not verify (OK if it did or was never asked), for reports.
  Status rejection(int index) const { return rejections_[index]; }
  // OK unless reading flash failed.
  Status flash_status() const { return flash_status_; }

 private:
  enum class Verdict : uint8_t { kUnknown, kVerifies, kFails };

  port::Flash& flash_;
  port::Crypto& crypto_;
  const DeviceLayout& layout_;
  DeviceImagePolicy policy_;
  ByteSpan work_;
  PerAppPartition<Verdict> verdicts_;
  Status flash_status_;
  PerAppPartition<Status> rejections_;
};

}  // namespace aloft::core
