#include "core/format/app_image.h"

#include <algorithm>
#include <cstring>

#include "core/hash.h"
#include "core/try.h"

namespace aloft::core {
namespace {

// esp_app_desc_t field offsets (relative to the struct).
constexpr size_t kDescSecureVersion = 4;
constexpr size_t kDescReserv1 = 8;
constexpr size_t kDescVersion = 16;
constexpr size_t kDescTime = 80;
constexpr size_t kDescDate = 96;
constexpr size_t kDescIdfVer = 112;
constexpr size_t kDescElfSha256 = 144;
constexpr size_t kDescMinEfuseBlkRev = 176;
constexpr size_t kDescMaxEfuseBlkRev = 178;
constexpr size_t kDescMmuPageSize = 180;
constexpr size_t kDescSpiFlashMode = 181;
constexpr size_t kDescReserv3 = 182;
constexpr size_t kDescReserv2 = 184;
static_assert(kDescReserv2 + 72 == kAppDescSize);

// IS_FIELD_SET in bootloader_common_loader.c: 0 and 0xFFFF both mean "no limit".
constexpr bool RevisionFieldSet(uint16_t rev_full) { return rev_full != 0 && rev_full != 0xFFFF; }

template <size_t N>
FixedText<N> LoadText(ConstByteSpan bytes, size_t offset) {
  FixedText<N> text;
  std::memcpy(text.bytes.data(), bytes.data() + offset, N);
  return text;
}

uint8_t XorBytes(uint8_t seed, ConstByteSpan bytes) {
  uint8_t value = seed;
  for (std::byte b : bytes) {
    value ^= static_cast<uint8_t>(b);
  }
  return value;
}

}  // namespace

std::string_view ChipName(uint16_t chip_id) {
  for (const Chip& chip : kChips) {
    if (chip.id == chip_id) {
      return chip.name;
    }
  }
  return {};
}

std::optional<uint16_t> ChipIdFromName(std::string_view name) {
  // Normalise "ESP32-C3" to "esp32c3"; longer names than any chip's cannot match.
  std::array<char, 16> normal{};
  size_t length = 0;
  for (char c : name) {
    if (c == '-' || c == '_') {
      continue;
    }
    if (length == normal.size()) {
      return std::nullopt;
    }
    normal[length++] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view wanted(normal.data(), length);
  for (const Chip& chip : kChips) {
    if (chip.name == wanted) {
      return chip.id;
    }
  }
  return std::nullopt;
}

Result<ImageHeader> ParseImageHeader(ConstByteSpan bytes) {
  if (bytes.size() < kImageHeaderSize) {
    return DataLoss("app image: truncated in image header", 0);
  }
  ImageHeader header;
  header.magic = LoadU8(bytes, 0);
  header.segment_count = LoadU8(bytes, kHeaderSegmentCountOffset);
  header.spi_mode = LoadU8(bytes, 2);
  header.spi_speed = LoadU8(bytes, 3) & 0x0F;
  header.spi_size = LoadU8(bytes, 3) >> 4;
  header.entry_addr = LoadLe32(bytes, 4);
  header.wp_pin = LoadU8(bytes, 8);
  for (size_t i = 0; i < header.spi_pin_drv.size(); ++i) {
    header.spi_pin_drv[i] = LoadU8(bytes, 9 + i);
  }
  header.chip_id = LoadLe16(bytes, kHeaderChipIdOffset);
  header.min_chip_rev = LoadU8(bytes, 14);
  header.min_chip_rev_full = LoadLe16(bytes, 15);  // unaligned in the packed struct
  header.max_chip_rev_full = LoadLe16(bytes, 17);
  for (size_t i = 0; i < header.reserved.size(); ++i) {
    header.reserved[i] = LoadU8(bytes, 19 + i);
  }
  header.hash_appended = LoadU8(bytes, kHeaderHashAppendedOffset);
  return header;
}

Result<AppDescription> ParseAppDescription(ConstByteSpan bytes) {
  if (bytes.size() < kAppDescSize) {
    return DataLoss("app desc: truncated", 0);
  }
  AppDescription desc;
  desc.magic_word = LoadLe32(bytes, 0);
  desc.secure_version = LoadLe32(bytes, kDescSecureVersion);
  desc.reserv1[0] = LoadLe32(bytes, kDescReserv1);
  desc.reserv1[1] = LoadLe32(bytes, kDescReserv1 + 4);
  desc.version = LoadText<32>(bytes, kDescVersion);
  desc.project_name = LoadText<32>(bytes, kAppDescProjectNameOffset);
  desc.time = LoadText<16>(bytes, kDescTime);
  desc.date = LoadText<16>(bytes, kDescDate);
  desc.idf_ver = LoadText<32>(bytes, kDescIdfVer);
  std::memcpy(desc.app_elf_sha256.data(), bytes.data() + kDescElfSha256, 32);
  desc.min_efuse_blk_rev_full = LoadLe16(bytes, kDescMinEfuseBlkRev);
  desc.max_efuse_blk_rev_full = LoadLe16(bytes, kDescMaxEfuseBlkRev);
  desc.mmu_page_size = LoadU8(bytes, kDescMmuPageSize);
  desc.spi_flash_mode = LoadU8(bytes, kDescSpiFlashMode);
  for (size_t i = 0; i < desc.reserv3.size(); ++i) {
    desc.reserv3[i] = LoadU8(bytes, kDescReserv3 + i);
  }
  for (size_t i = 0; i < desc.reserv2.size(); ++i) {
    desc.reserv2[i] = LoadU8(bytes, kDescReserv2 + i);
  }
  return desc;
}

Result<AppImageInfo> InspectAppImage(ConstByteSpan image, port::Crypto& crypto) {
  // A u64 variable, so that 32-bit targets (where this cannot happen) do not warn.
  const uint64_t size = image.size();
  if (size > UINT32_MAX) {
    return OutOfRange("app image: file larger than 4 GiB", 0);
  }
  const uint32_t file_len = static_cast<uint32_t>(image.size());
  AppImageInfo info;
  info.file_len = file_len;
  ALOFT_TRY_ASSIGN(info.header, ParseImageHeader(image));
  if (info.header.magic != kImageMagic) {
    return InvalidArgument("app image: invalid magic byte", 0);
  }
  if (info.header.segment_count > kMaxSegments) {
    return InvalidArgument("app image: segment_count exceeds 16", kHeaderSegmentCountOffset);
  }

  // Offsets cannot wrap (static_assert in the header), so plain u32 sums are exact.
  uint32_t offset = kImageHeaderSize;
  uint8_t checksum = kChecksumSeed;
  for (uint32_t i = 0; i < info.header.segment_count; ++i) {
    if (file_len - offset < kSegmentHeaderSize) {
      return DataLoss("app image: truncated in segment header", offset);
    }
    SegmentHeader& segment = info.segments[i];
    segment.header_offset = offset;
    segment.data_offset = offset + kSegmentHeaderSize;
    segment.load_addr = LoadLe32(image, offset);
    segment.data_len = LoadLe32(image, offset + 4);
    if (segment.data_len % 4 != 0) {
      return InvalidArgument("app image: segment data_len not a multiple of 4", offset);
    }
    if (segment.data_len >= kMaxSegmentDataLen) {
      return InvalidArgument("app image: segment data_len exceeds 16 MiB", offset);
    }
    if (file_len - segment.data_offset < segment.data_len) {
      return DataLoss("app image: truncated in segment data", segment.data_offset);
    }
    checksum = XorBytes(checksum, image.subspan(segment.data_offset, segment.data_len));
    offset = segment.data_offset + segment.data_len;
  }
  info.end_of_segments = offset;
  info.checksum_offset = ChecksumOffset(offset);
  info.checksum_computed = checksum;
  if (info.checksum_offset >= file_len) {
    return DataLoss("app image: truncated before checksum", info.checksum_offset);
  }
  info.checksum_stored = LoadU8(image, info.checksum_offset);
  info.sha256_offset = info.checksum_offset + 1;
  info.hash_appended = info.header.has_hash();
  info.image_len = ImageLength(info.end_of_segments, info.hash_appended);
  if (info.image_len > file_len) {
    return DataLoss("app image: truncated in appended sha256", info.sha256_offset);
  }
  if (info.hash_appended) {
    std::copy_n(image.begin() + info.sha256_offset, kImageHashSize, info.sha256_stored.begin());
  }

  Hash sha(crypto, port::HashAlgorithm::kSha256);
  ALOFT_TRY(sha.Begin());
  ALOFT_TRY(sha.Update(image.first(info.sha256_offset)));
  ALOFT_TRY(sha.Finish(info.sha256_computed));

  if (info.header.segment_count > 0 && info.segments[0].data_len >= kAppDescSize) {
    ALOFT_TRY_ASSIGN(AppDescription desc,
                     ParseAppDescription(image.subspan(kAppDescOffset, kAppDescSize)));
    if (desc.magic_ok()) {
      info.app_description = desc;
    }
  }
  return info;
}

Status CheckImageHeader(const ImageHeader& header, const ImageRequirements& requirements) {
  if (header.magic != kImageMagic) {
    return InvalidArgument("app image: invalid magic byte", 0);
  }
  if (requirements.chip_id.has_value() && header.chip_id != *requirements.chip_id) {
    return PermissionDenied("app image: built for another chip", kHeaderChipIdOffset);
  }
  if (requirements.chip_revision.has_value()) {
    const uint16_t revision = *requirements.chip_revision;
    // The minimum is compared even when 0 (0 <= anything); the maximum only when set.
    if (revision < header.min_chip_rev_full) {
      return PermissionDenied("app image: chip revision below the image's minimum", 15);
    }
    if (RevisionFieldSet(header.max_chip_rev_full) && revision > header.max_chip_rev_full) {
      return PermissionDenied("app image: chip revision above the image's maximum", 17);
    }
  }
  if (header.segment_count > kMaxSegments) {
    return InvalidArgument("app image: segment_count exceeds 16", kHeaderSegmentCountOffset);
  }
  if (header.segment_count == 0) {
    return InvalidArgument("app image: segment 0 too small for esp_app_desc_t", kImageHeaderSize);
  }
  if (requirements.require_hash && !header.has_hash()) {
    return InvalidArgument("app image: no appended sha256", kHeaderHashAppendedOffset);
  }
  return OkStatus();
}

Status CheckFirstSegment(const SegmentHeader& segment0) {
  if (segment0.data_len < kAppDescSize) {
    return InvalidArgument("app image: segment 0 too small for esp_app_desc_t",
                           segment0.header_offset);
  }
  return OkStatus();
}

Status CheckAppDescription(const AppDescription& description, uint16_t chip_id,
                           const ImageRequirements& requirements) {
  if (!description.magic_ok()) {
    return InvalidArgument("app image: esp_app_desc_t magic mismatch", kAppDescOffset);
  }
  // process_segment_data(): ESP32 has no eFuse block version, so the window is skipped there.
  if (requirements.efuse_block_revision.has_value() && chip_id != kChipIdEsp32) {
    const uint16_t revision = *requirements.efuse_block_revision;
    if (RevisionFieldSet(description.min_efuse_blk_rev_full) &&
        revision < description.min_efuse_blk_rev_full) {
      return PermissionDenied("app image: efuse block revision below the image's minimum",
                              kAppDescOffset + kDescMinEfuseBlkRev);
    }
    if (RevisionFieldSet(description.max_efuse_blk_rev_full) &&
        revision > description.max_efuse_blk_rev_full) {
      return PermissionDenied("app image: efuse block revision above the image's maximum",
                              kAppDescOffset + kDescMaxEfuseBlkRev);
    }
  }
  return OkStatus();
}

Status CheckImageFits(uint32_t image_len, const ImageRequirements& requirements) {
  if (!requirements.slot_size.has_value()) {
    return OkStatus();
  }
  const uint32_t needed = FlashFootprint(image_len, requirements.signed_image);
  if (needed > *requirements.slot_size) {
    return OutOfRange("app image: does not fit the slot", needed);
  }
  return OkStatus();
}

Status VerifyAppImage(const AppImageInfo& info, const ImageRequirements& requirements) {
  ALOFT_TRY(CheckImageHeader(info.header, requirements));
  ALOFT_TRY(CheckFirstSegment(info.segments[0]));
  if (!info.app_description.has_value()) {
    return InvalidArgument("app image: esp_app_desc_t magic mismatch", kAppDescOffset);
  }
  ALOFT_TRY(CheckAppDescription(*info.app_description, info.header.chip_id, requirements));
  if (!info.checksum_ok()) {
    return DataLoss("app image: checksum mismatch", info.checksum_offset);
  }
  ALOFT_TRY(CheckImageFits(info.image_len, requirements));
  if (info.hash_appended && !info.sha256_ok()) {
    return DataLoss("app image: sha256 mismatch", info.sha256_offset);
  }
  return OkStatus();
}

}  // namespace aloft::core
