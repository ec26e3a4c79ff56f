#include "core/device/flash_image.h"

#include <algorithm>

#include "core/hash.h"
#include "core/try.h"

namespace aloft::core {
namespace {

// Hashes [offset, offset + size) of flash with what `policy` needs (DigestForPolicy's rule:
// the scheme's algorithm, or both SHA-256 and SHA-384 for "any scheme").
Status DigestSignedRegion(port::Flash& flash, port::Crypto& crypto, uint32_t offset, uint32_t size,
                          const TrustPolicy& policy, ByteSpan work, SignedRegionDigests& digests) {
  const bool want256 = !policy.scheme.has_value() ||
                       SchemeDigestAlgorithm(*policy.scheme) == port::HashAlgorithm::kSha256;
  const bool want384 = !policy.scheme.has_value() ||
                       SchemeDigestAlgorithm(*policy.scheme) == port::HashAlgorithm::kSha384;
  Hash sha256(crypto, port::HashAlgorithm::kSha256);
  Hash sha384(crypto, port::HashAlgorithm::kSha384);
  if (want256) {
    ALOFT_TRY(sha256.Begin());
  }
  if (want384) {
    ALOFT_TRY(sha384.Begin());
  }
  for (uint32_t done = 0; done < size;) {
    const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(work.size()), size - done);
    const ByteSpan chunk = work.first(n);
    ALOFT_TRY(flash.Read(offset + done, chunk));
    if (want256) {
      ALOFT_TRY(sha256.Update(chunk));
    }
    if (want384) {
      ALOFT_TRY(sha384.Update(chunk));
    }
    done += n;
  }
  if (want256) {
    std::array<std::byte, 32> digest{};
    ALOFT_TRY(sha256.Finish(digest));
    digests.sha256 = digest;
  }
  if (want384) {
    std::array<std::byte, 48> digest{};
    ALOFT_TRY(sha384.Finish(digest));
    digests.sha384 = digest;
  }
  return OkStatus();
}

}  // namespace

FlashImageVerdict VerifyFlashImage(port::Flash& flash, port::Crypto& crypto,
                                   const AppPartition& partition, const DeviceImagePolicy& policy,
                                   ByteSpan work) {
  FlashImageVerdict verdict;
  if (work.size() < kMinFlashImageWorkSize) {
    verdict.image_status = InvalidArgument("flash image: work buffer smaller than 4 KiB");
    return verdict;
  }
  const bool signed_image = policy.trust != nullptr;
  AppImageExpectations expectations;
  expectations.chip_id = policy.chip_id;
  expectations.chip_revision = policy.chip_revision;
  expectations.slot_size = std::min(partition.size, kMaxPartitionSize);
  expectations.require_hash = policy.require_hash;
  expectations.signed_image = signed_image;
  AppImageValidator validator(crypto, expectations);

  // Feed the validator straight from flash, no further than the image (and its signature
  // sector) reaches once the segment headers have told how far that is.
  uint32_t fed = 0;
  for (;;) {
    uint32_t end = expectations.slot_size;
    if (const std::optional<uint32_t> image_len = validator.image_len()) {
      end = std::min(end, FlashFootprint(*image_len, signed_image));
    }
    if (fed >= end) {
      break;
    }
    const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(work.size()), end - fed);
    const ByteSpan chunk = work.first(n);
    if (Status read = flash.Read(partition.offset + fed, chunk); !read.ok()) {
      verdict.flash_status = read;
      return verdict;
    }
    if (Status fed_status = validator.Feed(chunk); !fed_status.ok()) {
      verdict.image_status = fed_status;
      return verdict;
    }
    fed += n;
  }
  Result<AppImageSummary> summary = validator.Finish();
  if (!summary.ok()) {
    verdict.image_status = summary.status();
    return verdict;
  }
  verdict.summary = *summary;
  if (!signed_image) {
    return verdict;
  }

  // Secure Boot v2 (spec esp-app-image.md §12): the digest of [0, align_up(image_len, 4 KiB))
  // as it is in flash, then the sector after it.
  const Result<uint32_t> region = SignedRegionSize(summary->image_len);
  if (!region.ok()) {
    verdict.image_status = region.status();
    return verdict;
  }
  if (Status digest = DigestSignedRegion(flash, crypto, partition.offset, *region, *policy.trust,
                                         work, verdict.signed_digests);
      !digest.ok()) {
    // A hash port failure is no more about the image than a flash error: no verdict.
    verdict.flash_status = digest;
    return verdict;
  }
  const ByteSpan sector = work.first(kSignatureSectorSize);
  if (Status read = flash.Read(partition.offset + *region, sector); !read.ok()) {
    verdict.flash_status = read;
    return verdict;
  }
  verdict.image_status =
      VerifySignatureBlocks(crypto, verdict.signed_digests, sector, *policy.trust).status;
  return verdict;
}

Result<FlashImageIdentity> ReadFlashImageIdentity(port::Flash& flash,
                                                  const AppPartition& partition) {
  std::array<std::byte, kAppDescOffset + kAppDescSize> bytes{};
  if (partition.size < bytes.size()) {
    return DataLoss("flash image: no image header");
  }
  ALOFT_TRY(flash.Read(partition.offset, bytes));
  FlashImageIdentity identity;
  ALOFT_TRY_ASSIGN(identity.header, ParseImageHeader(bytes));
  if (identity.header.magic != kImageMagic) {
    return DataLoss("flash image: no image header");
  }
  ALOFT_TRY_ASSIGN(identity.app_description,
                   ParseAppDescription(ConstByteSpan(bytes).subspan(kAppDescOffset)));
  if (!identity.app_description.magic_ok()) {
    return DataLoss("flash image: no esp_app_desc_t");
  }
  return identity;
}

Status ReadSecureVersions(port::Flash& flash, const DeviceLayout& layout, BootConfig& config) {
  std::array<int, kMaxOtaSlots + 2> indexes{};
  const size_t count = layout.Indexes(indexes);
  for (size_t i = 0; i < count; ++i) {
    Result<FlashImageIdentity> identity = ReadFlashImageIdentity(flash, *layout.Find(indexes[i]));
    if (identity.ok()) {
      config.secure_version[indexes[i]] = identity->app_description.secure_version;
    } else if (identity.status().code() != Status::Code::kDataLoss) {
      return identity.status();  // the flash failed, not the image
    }
  }
  return OkStatus();
}

bool FlashImageCheck::ImageVerifies(int index) {
  const AppPartition* partition = layout_.Find(index);
  if (partition == nullptr || !flash_status_.ok()) {
    return false;
  }
  Verdict& verdict = verdicts_[index];
  if (verdict == Verdict::kUnknown) {
    const FlashImageVerdict result = VerifyFlashImage(flash_, crypto_, *partition, policy_, work_);
    if (!result.flash_status.ok()) {
      flash_status_ = result.flash_status;
      return false;
    }
    verdict = result.image_status.ok() ? Verdict::kVerifies : Verdict::kFails;
    rejections_[index] = result.image_status;
  }
  return verdict == Verdict::kVerifies;
}

}  // namespace aloft::core
