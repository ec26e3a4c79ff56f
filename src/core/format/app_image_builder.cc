#include "core/format/app_image_builder.h"

#include <algorithm>
#include <cstring>

#include "core/hash.h"
#include "core/try.h"

namespace aloft::core {
namespace {

// Where a chip maps flash data (DROM) and where its data RAM starts (esptool MEMORY_MAP,
// ESP-IDF soc.h). Segment 0 is loaded at drom + 0x20 so that it satisfies the MMU rule
// (file offset ≡ load address modulo the page) for every page size.
struct ChipMemory {
  uint16_t chip_id;
  uint32_t drom;
  uint32_t dram;
};
constexpr ChipMemory kChipMemory[] = {
    {0x0000, 0x3F400000, 0x3FFB0000},  // esp32
    {0x0002, 0x3F000000, 0x3FFB0000},  // esp32s2
    {0x0005, 0x3C000000, 0x3FC80000},  // esp32c3
    {0x0009, 0x3C000000, 0x3FC88000},  // esp32s3
    {0x000C, 0x3C000000, 0x3FCA0000},  // esp32c2
    {0x000D, 0x42800000, 0x40800000},  // esp32c6
    {0x0010, 0x42800000, 0x40800000},  // esp32h2
    {0x0012, 0x40000000, 0x4FF00000},  // esp32p4
    {0x0014, 0x42000000, 0x40800000},  // esp32c61
    {0x0017, 0x42000000, 0x40800000},  // esp32c5
    {0x0019, 0x42800000, 0x40800000},  // esp32h21
    {0x001C, 0x42800000, 0x40810000},  // esp32h4
    {0x0020, 0x40000000, 0x2F000000},  // esp32s31
};

// esptool's ESP32-only workaround for old bootloaders: a flash segment may not end fewer than
// 0x24 bytes past a 64 KiB boundary (ESP32FirmwareImage.save_flash_segment).
constexpr uint32_t kEsp32FlashAlign = 0x10000;
constexpr uint32_t kEsp32SegmentTail = 0x24;

// The byte layout a recipe produces, shared by AppImageBuildSize and BuildAppImage.
struct Plan {
  uint8_t segment_count = 0;  // including a secure-padding segment
  std::array<uint32_t, kMaxSegments> data_len{};
  std::array<uint32_t, kMaxSegments> payload_len{};  // pseudo-random bytes in the segment
  std::array<uint32_t, kMaxSegments> load_addr{};
  uint32_t end_of_segments = 0;
  uint32_t image_len = 0;
};

constexpr uint32_t RoundUp4(uint32_t value) { return (value + 3) & ~uint32_t{3}; }

Result<Plan> MakePlan(const AppImageRecipe& recipe) {
  const ChipMemory* memory = nullptr;
  for (const ChipMemory& candidate : kChipMemory) {
    if (candidate.chip_id == recipe.chip_id) {
      memory = &candidate;
    }
  }
  if (memory == nullptr) {
    return InvalidArgument("app image recipe: unknown chip_id", recipe.chip_id);
  }
  if (recipe.version.size() >= 32) {
    return InvalidArgument("app image recipe: version too long", 31);
  }
  if (recipe.project_name.size() >= 32) {
    return InvalidArgument("app image recipe: project_name too long", 31);
  }
  if (recipe.idf_ver.size() >= 32) {
    return InvalidArgument("app image recipe: idf_ver too long", 31);
  }
  if (recipe.date.size() >= 16) {
    return InvalidArgument("app image recipe: date too long", 15);
  }
  if (recipe.time.size() >= 16) {
    return InvalidArgument("app image recipe: time too long", 15);
  }
  const uint32_t max_content = recipe.secure_pad ? kMaxSegments - 1 : kMaxSegments;
  if (recipe.segment_count < 1 || recipe.segment_count > max_content) {
    return InvalidArgument("app image recipe: segment_count out of range", recipe.segment_count);
  }
  if (recipe.secure_pad && !recipe.hash_appended) {
    return InvalidArgument("app image recipe: secure_pad needs hash_appended");
  }
  if (recipe.mmu_page_size_log2 != 0 &&
      (recipe.mmu_page_size_log2 < 13 || recipe.mmu_page_size_log2 > 18)) {
    return InvalidArgument("app image recipe: mmu_page_size_log2 out of range",
                           recipe.mmu_page_size_log2);
  }
  // Each segment below 16 MiB: bound the payload so no share can reach it.
  if (recipe.payload_size / recipe.segment_count >= kMaxSegmentDataLen - kAppDescSize - 64) {
    return InvalidArgument("app image recipe: payload_size too large", recipe.payload_size);
  }

  Plan plan;
  const uint32_t count = recipe.segment_count;
  uint32_t offset = kImageHeaderSize;
  uint32_t ram_offset = 0;
  for (uint32_t i = 0; i < count; ++i) {
    // Spread the payload evenly; the first segments take the remainder.
    const uint32_t share = recipe.payload_size / count + (i < recipe.payload_size % count ? 1 : 0);
    plan.payload_len[i] = share;
    uint32_t data_len = RoundUp4(share + (i == 0 ? kAppDescSize : 0));
    if (i == 0) {
      plan.load_addr[i] = memory->drom + kAppDescOffset;
      const uint32_t past_boundary = (offset + kSegmentHeaderSize + data_len) % kEsp32FlashAlign;
      if (recipe.chip_id == kChipIdEsp32 && past_boundary < kEsp32SegmentTail) {
        data_len += kEsp32SegmentTail - past_boundary;
      }
    } else {
      plan.load_addr[i] = memory->dram + ram_offset;
      ram_offset += data_len;
    }
    plan.data_len[i] = data_len;
    offset += kSegmentHeaderSize + data_len;
  }
  if (recipe.payload_prefix.size() > plan.payload_len[0]) {
    return InvalidArgument("app image recipe: payload_prefix longer than segment 0's payload",
                           plan.payload_len[0]);
  }
  plan.segment_count = static_cast<uint8_t>(count);

  if (recipe.secure_pad) {
    // bin_image.py (secure_pad == "2"): a zero segment at load address 0 sized so that the
    // checksum block (forced to 16 bytes) and the 32-byte hash end on an MMU page boundary.
    const uint32_t page = uint32_t{1}
                          << (recipe.mmu_page_size_log2 == 0 ? 16 : recipe.mmu_page_size_log2);
    const uint32_t align_past = (offset + kSegmentHeaderSize) % page;
    const uint32_t pad_len = (2 * page - align_past - kChecksumAlign - kImageHashSize) % page;
    plan.load_addr[count] = 0;
    plan.data_len[count] = pad_len;
    plan.payload_len[count] = 0;
    offset += kSegmentHeaderSize + pad_len;
    plan.segment_count = static_cast<uint8_t>(count + 1);
  }
  plan.end_of_segments = offset;
  plan.image_len = ImageLength(offset, recipe.hash_appended);
  return plan;
}

void StoreText(ByteSpan out, size_t offset, std::string_view text) {
  std::memcpy(out.data() + offset, text.data(), text.size());
}

// xorshift32: deterministic filler, so the same recipe always gives the same bytes.
uint32_t NextRandom(uint32_t& state) {
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

}  // namespace

Result<uint32_t> AppImageBuildSize(const AppImageRecipe& recipe) {
  ALOFT_TRY_ASSIGN(const Plan plan, MakePlan(recipe));
  return plan.image_len;
}

Result<uint32_t> BuildAppImage(const AppImageRecipe& recipe, port::Crypto& crypto, ByteSpan out) {
  ALOFT_TRY_ASSIGN(const Plan plan, MakePlan(recipe));
  if (out.size() < plan.image_len) {
    return ResourceExhausted("app image recipe: output buffer too small", plan.image_len);
  }
  ByteSpan image = out.first(plan.image_len);
  std::fill(image.begin(), image.end(), std::byte{0});

  // Image header (esp_image_header_t).
  StoreU8(image, 0, kImageMagic);
  StoreU8(image, kHeaderSegmentCountOffset, plan.segment_count);
  StoreU8(image, 2, recipe.spi_mode);
  StoreU8(image, 3, static_cast<uint8_t>((recipe.spi_size << 4) | (recipe.spi_speed & 0x0F)));
  StoreLe32(image, 4, plan.load_addr[plan.segment_count > 1 ? 1 : 0]);
  StoreU8(image, 8, 0xEE);  // wp_pin disabled, as esptool writes for ESP32 and later
  StoreLe16(image, kHeaderChipIdOffset, recipe.chip_id);
  StoreU8(image, 14, static_cast<uint8_t>(recipe.min_chip_rev_full / 100));
  StoreLe16(image, 15, recipe.min_chip_rev_full);
  StoreLe16(image, 17, recipe.max_chip_rev_full);
  StoreU8(image, kHeaderHashAppendedOffset, recipe.hash_appended ? 1 : 0);

  uint32_t random_state = recipe.fill_seed == 0 ? 0x9E3779B9 : recipe.fill_seed;
  uint8_t checksum = kChecksumSeed;
  uint32_t offset = kImageHeaderSize;
  for (uint32_t i = 0; i < plan.segment_count; ++i) {
    StoreLe32(image, offset, plan.load_addr[i]);
    StoreLe32(image, offset + 4, plan.data_len[i]);
    const uint32_t data = offset + kSegmentHeaderSize;
    uint32_t fill_from = data;
    if (i == 0) {
      // esp_app_desc_t (esp_app_desc.h), the first 256 bytes of segment 0.
      ByteSpan desc = image.subspan(data, kAppDescSize);
      StoreLe32(desc, 0, kAppDescMagic);
      StoreLe32(desc, 4, recipe.secure_version);
      StoreText(desc, 16, recipe.version);
      StoreText(desc, kAppDescProjectNameOffset, recipe.project_name);
      StoreText(desc, 80, recipe.time);
      StoreText(desc, 96, recipe.date);
      StoreText(desc, 112, recipe.idf_ver);
      std::copy(recipe.app_elf_sha256.begin(), recipe.app_elf_sha256.end(), desc.begin() + 144);
      StoreLe16(desc, 176, recipe.min_efuse_blk_rev_full);
      StoreLe16(desc, 178, recipe.max_efuse_blk_rev_full);
      StoreU8(desc, 180, recipe.mmu_page_size_log2);
      fill_from += kAppDescSize;
    }
    for (uint32_t k = 0; k < plan.payload_len[i]; ++k) {
      StoreU8(image, fill_from + k, static_cast<uint8_t>(NextRandom(random_state) >> 24));
    }
    if (i == 0) {
      std::copy(recipe.payload_prefix.begin(), recipe.payload_prefix.end(),
                image.begin() + fill_from);
    }
    for (std::byte b : image.subspan(data, plan.data_len[i])) {
      checksum ^= static_cast<uint8_t>(b);
    }
    offset = data + plan.data_len[i];
  }

  const uint32_t checksum_offset = ChecksumOffset(plan.end_of_segments);
  StoreU8(image, checksum_offset, checksum);
  if (recipe.hash_appended) {
    Hash sha(crypto, port::HashAlgorithm::kSha256);
    ALOFT_TRY(sha.Begin());
    ALOFT_TRY(sha.Update(image.first(checksum_offset + 1)));
    ALOFT_TRY(sha.Finish(image.subspan(checksum_offset + 1, kImageHashSize)));
  }
  return plan.image_len;
}

}  // namespace aloft::core
