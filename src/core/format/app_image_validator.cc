#include "core/format/app_image_validator.h"

#include <algorithm>

#include "core/check.h"
#include "core/try.h"

namespace aloft::core {
namespace {

ImageRequirements RequirementsFor(const AppImageExpectations& expectations) {
  ImageRequirements requirements;
  requirements.chip_id = expectations.chip_id;
  requirements.chip_revision = expectations.chip_revision;
  requirements.slot_size = expectations.slot_size;
  requirements.signed_image = expectations.signed_image;
  requirements.require_hash = expectations.require_hash;
  return requirements;
}

uint8_t XorBytes(uint8_t seed, ConstByteSpan bytes) {
  uint8_t value = seed;
  for (std::byte b : bytes) {
    value ^= static_cast<uint8_t>(b);
  }
  return value;
}

uint32_t Take(ConstByteSpan chunk, uint32_t wanted) {
  return static_cast<uint32_t>(std::min<size_t>(chunk.size(), wanted));
}

}  // namespace

AppImageValidator::AppImageValidator(port::Crypto& crypto, const AppImageExpectations& expectations)
    : expectations_(expectations),
      requirements_(RequirementsFor(expectations)),
      sha_(crypto, port::HashAlgorithm::kSha256) {}

void AppImageValidator::Reset() {
  // The running hash (if any) is restarted by the first Feed: Hash::Begin aborts it first.
  stage_ = Stage::kHeader;
  failure_ = OkStatus();
  finished_ = false;
  header_ready_ = false;
  app_description_ready_ = false;
  total_len_ = 0;
  image_pos_ = 0;
  buffered_ = 0;
  segment_index_ = 0;
  segment_ = SegmentHeader{};
  segment_remaining_ = 0;
  checksum_offset_ = 0;
  image_len_ = 0;
  checksum_ = kChecksumSeed;
  checksum_stored_ = 0;
  header_ = ImageHeader{};
  app_description_ = AppDescription{};
  sha256_computed_ = {};
  sha256_stored_ = {};
}

const ImageHeader& AppImageValidator::header() const {
  ALOFT_CHECK(header_ready_);
  return header_;
}

const AppDescription& AppImageValidator::app_description() const {
  ALOFT_CHECK(app_description_ready_);
  return app_description_;
}

std::optional<uint32_t> AppImageValidator::image_len() const {
  if (image_len_ == 0) {
    return std::nullopt;
  }
  return image_len_;
}

Status AppImageValidator::Fail(Status status) {
  failure_ = status;
  return status;
}

Status AppImageValidator::Feed(ConstByteSpan chunk) {
  if (!failure_.ok()) {
    return failure_;
  }
  if (finished_) {
    return FailedPrecondition("app image validator: fed after Finish");
  }
  if (chunk.empty()) {
    return OkStatus();
  }
  if (total_len_ == 0) {
    if (expectations_.declared_size.has_value() &&
        *expectations_.declared_size > expectations_.slot_size) {
      return Fail(OutOfRange("app image: declared size exceeds the slot", expectations_.slot_size));
    }
    if (Status status = sha_.Begin(); !status.ok()) {
      return Fail(status);
    }
  }
  // Bytes beyond the slot or the declared size are refused, but only after the bytes within
  // the limit have been judged: a wrong chip is a better answer than "too long".
  uint32_t limit = expectations_.slot_size;
  bool limit_is_declared = false;
  if (expectations_.declared_size.has_value() && *expectations_.declared_size < limit) {
    limit = *expectations_.declared_size;
    limit_is_declared = true;
  }
  const uint32_t room = limit - total_len_;
  const bool too_long = chunk.size() > room;
  ConstByteSpan within = chunk.first(std::min<size_t>(chunk.size(), room));
  total_len_ += static_cast<uint32_t>(within.size());
  while (!within.empty()) {
    if (Status status = Consume(within); !status.ok()) {
      return Fail(status);
    }
  }
  if (too_long) {
    return Fail(limit_is_declared ? OutOfRange("app image: stream exceeds the declared size", limit)
                                  : OutOfRange("app image: stream exceeds the slot", limit));
  }
  return OkStatus();
}

Status AppImageValidator::Consume(ConstByteSpan& chunk) {
  switch (stage_) {
    case Stage::kHeader: {
      const uint32_t take = Take(chunk, kImageHeaderSize - buffered_);
      std::copy_n(chunk.begin(), take, buffer_.begin() + buffered_);
      ALOFT_TRY(sha_.Update(chunk.first(take)));
      chunk = chunk.subspan(take);
      buffered_ += take;
      image_pos_ += take;
      // esp_ota_write() refuses a first byte other than 0xE9; so do we, at once.
      if (LoadU8(buffer_, 0) != kImageMagic) {
        return InvalidArgument("app image: invalid magic byte", 0);
      }
      return buffered_ == kImageHeaderSize ? OnHeader() : OkStatus();
    }
    case Stage::kSegmentHeader: {
      const uint32_t take = Take(chunk, kSegmentHeaderSize - buffered_);
      std::copy_n(chunk.begin(), take, buffer_.begin() + buffered_);
      ALOFT_TRY(sha_.Update(chunk.first(take)));
      chunk = chunk.subspan(take);
      buffered_ += take;
      image_pos_ += take;
      return buffered_ == kSegmentHeaderSize ? OnSegmentHeader() : OkStatus();
    }
    case Stage::kSegmentData: {
      const uint32_t take = Take(chunk, segment_remaining_);
      const ConstByteSpan piece = chunk.first(take);
      checksum_ = XorBytes(checksum_, piece);
      ALOFT_TRY(sha_.Update(piece));
      chunk = chunk.subspan(take);
      segment_remaining_ -= take;
      image_pos_ += take;
      if (segment_index_ == 0 && buffered_ < kAppDescSize) {
        const uint32_t copy = std::min(take, kAppDescSize - buffered_);
        std::copy_n(piece.begin(), copy, buffer_.begin() + buffered_);
        buffered_ += copy;
        if (buffered_ == kAppDescSize) {
          ALOFT_TRY(OnAppDescription());
        }
      }
      if (segment_remaining_ > 0) {
        return OkStatus();
      }
      ++segment_index_;
      buffered_ = 0;
      if (segment_index_ < header_.segment_count) {
        stage_ = Stage::kSegmentHeader;
        return OkStatus();
      }
      return OnSegmentsDone();
    }
    case Stage::kChecksum: {
      const uint32_t take = Take(chunk, checksum_offset_ + 1 - image_pos_);
      const ConstByteSpan piece = chunk.first(take);
      ALOFT_TRY(sha_.Update(piece));
      chunk = chunk.subspan(take);
      image_pos_ += take;
      if (image_pos_ == checksum_offset_ + 1) {
        return OnChecksumByte(LoadU8(piece, take - 1));
      }
      return OkStatus();
    }
    case Stage::kHash: {
      // The stored hash is not part of what it hashes.
      const uint32_t take = Take(chunk, kImageHashSize - buffered_);
      std::copy_n(chunk.begin(), take, sha256_stored_.begin() + buffered_);
      chunk = chunk.subspan(take);
      buffered_ += take;
      image_pos_ += take;
      return buffered_ == kImageHashSize ? OnHashStored() : OkStatus();
    }
    case Stage::kTrailer:
      // Signature padding and sector: counted by Feed, judged by the signature verifier.
      chunk = chunk.subspan(chunk.size());
      return OkStatus();
  }
  return Internal("app image validator: unknown stage");
}

Status AppImageValidator::OnHeader() {
  ALOFT_TRY_ASSIGN(header_, ParseImageHeader(buffer_));
  ALOFT_TRY(CheckImageHeader(header_, requirements_));
  header_ready_ = true;
  stage_ = Stage::kSegmentHeader;
  buffered_ = 0;
  return OkStatus();
}

Status AppImageValidator::OnSegmentHeader() {
  segment_.header_offset = image_pos_ - kSegmentHeaderSize;
  segment_.data_offset = image_pos_;
  segment_.load_addr = LoadLe32(buffer_, 0);
  segment_.data_len = LoadLe32(buffer_, 4);
  if (segment_.data_len % 4 != 0) {
    return InvalidArgument("app image: segment data_len not a multiple of 4",
                           segment_.header_offset);
  }
  if (segment_.data_len >= kMaxSegmentDataLen) {
    return InvalidArgument("app image: segment data_len exceeds 16 MiB", segment_.header_offset);
  }
  if (segment_index_ == 0) {
    ALOFT_TRY(CheckFirstSegment(segment_));
  }
  // The smallest image these segments allow: every later segment at least a header, then the
  // checksum block and the hash. Exact once this is the last segment.
  const uint32_t data_end = segment_.data_offset + segment_.data_len;
  const uint32_t later_segments = header_.segment_count - segment_index_ - 1U;
  const uint32_t min_image_len = later_segments == 0
                                     ? ImageLength(data_end, header_.has_hash())
                                     : data_end + later_segments * kSegmentHeaderSize + 1 +
                                           (header_.has_hash() ? kImageHashSize : 0);
  if (later_segments == 0) {
    image_len_ = min_image_len;
  }
  ALOFT_TRY(CheckImageFits(min_image_len, requirements_));
  const uint32_t needed = FlashFootprint(min_image_len, expectations_.signed_image);
  if (expectations_.declared_size.has_value() && needed > *expectations_.declared_size) {
    return DataLoss("app image: declared size shorter than the image", needed);
  }

  segment_remaining_ = segment_.data_len;
  buffered_ = 0;
  stage_ = Stage::kSegmentData;
  if (segment_remaining_ > 0) {
    return OkStatus();
  }
  // An empty segment: segment 0 cannot be one (it holds the descriptor), so no descriptor
  // bytes are pending here.
  ++segment_index_;
  if (segment_index_ < header_.segment_count) {
    stage_ = Stage::kSegmentHeader;
    return OkStatus();
  }
  return OnSegmentsDone();
}

Status AppImageValidator::OnAppDescription() {
  ALOFT_TRY_ASSIGN(app_description_, ParseAppDescription(buffer_));
  ALOFT_TRY(CheckAppDescription(app_description_, header_.chip_id, requirements_));
  if (!expectations_.project_name.empty() &&
      app_description_.project_name.view() != expectations_.project_name) {
    return PermissionDenied("app image: project_name differs",
                            kAppDescOffset + kAppDescProjectNameOffset);
  }
  app_description_ready_ = true;
  return OkStatus();
}

Status AppImageValidator::OnSegmentsDone() {
  checksum_offset_ = ChecksumOffset(image_pos_);
  stage_ = Stage::kChecksum;
  return OkStatus();
}

Status AppImageValidator::OnChecksumByte(uint8_t stored) {
  checksum_stored_ = stored;
  ALOFT_TRY(sha_.Finish(sha256_computed_));
  if (checksum_ != stored) {
    return DataLoss("app image: checksum mismatch", checksum_offset_);
  }
  buffered_ = 0;
  stage_ = header_.has_hash() ? Stage::kHash : Stage::kTrailer;
  return OkStatus();
}

Status AppImageValidator::OnHashStored() {
  if (sha256_stored_ != sha256_computed_) {
    return DataLoss("app image: sha256 mismatch", checksum_offset_ + 1);
  }
  stage_ = Stage::kTrailer;
  return OkStatus();
}

Result<AppImageSummary> AppImageValidator::Finish() {
  if (!failure_.ok()) {
    return failure_;
  }
  finished_ = true;
  switch (stage_) {
    case Stage::kHeader:
      return Fail(DataLoss("app image: truncated in image header", 0));
    case Stage::kSegmentHeader:
      return Fail(DataLoss("app image: truncated in segment header", image_pos_ - buffered_));
    case Stage::kSegmentData:
      return Fail(DataLoss("app image: truncated in segment data", segment_.data_offset));
    case Stage::kChecksum:
      return Fail(DataLoss("app image: truncated before checksum", checksum_offset_));
    case Stage::kHash:
      return Fail(DataLoss("app image: truncated in appended sha256", checksum_offset_ + 1));
    case Stage::kTrailer:
      break;
  }
  if (expectations_.declared_size.has_value() && total_len_ < *expectations_.declared_size) {
    return Fail(DataLoss("app image: stream shorter than the declared size", total_len_));
  }
  if (expectations_.signed_image && total_len_ < FlashFootprint(image_len_, true)) {
    return Fail(
        DataLoss("app image: signature sector incomplete", SignatureSectorOffset(image_len_)));
  }
  AppImageSummary summary;
  summary.header = header_;
  summary.app_description = app_description_;
  summary.image_len = image_len_;
  summary.total_len = total_len_;
  summary.checksum = checksum_stored_;
  summary.hash_appended = header_.has_hash();
  summary.sha256 = sha256_computed_;
  return summary;
}

}  // namespace aloft::core
