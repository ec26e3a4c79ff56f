#include "core/format/app_image_builder.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/format/app_image.h"
#include "core/format/app_image_validator.h"
#include "ports/host/openssl_crypto.h"

namespace aloft::core {
namespace {

std::string Describe(const Status& status) {
  std::string text = std::string(CodeName(status.code())) + ": " + status.reason();
  if (status.has_context()) {
    text += " (context " + std::to_string(status.context()) + ")";
  }
  return text;
}

class AppImageBuilderTest : public ::testing::Test {
 protected:
  std::vector<std::byte> Build(const AppImageRecipe& recipe) {
    const Result<uint32_t> size = AppImageBuildSize(recipe);
    EXPECT_TRUE(size.ok()) << Describe(size.status());
    if (!size.ok()) {
      return {};
    }
    std::vector<std::byte> out(*size + 100, std::byte{0xAB});
    const Result<uint32_t> written = BuildAppImage(recipe, crypto_, out);
    EXPECT_TRUE(written.ok()) << Describe(written.status());
    EXPECT_EQ(written.ok() ? *written : 0, *size);
    // Nothing past image_len is touched.
    for (size_t i = *size; i < out.size(); ++i) {
      EXPECT_EQ(out[i], std::byte{0xAB}) << i;
    }
    out.resize(*size);
    return out;
  }

  host::OpensslCrypto crypto_;
};

// esptool's invariants and the bootloader's rules, on any built image.
void ExpectEsptoolInvariants(const AppImageInfo& info, const AppImageRecipe& recipe) {
  EXPECT_EQ(info.header.magic, kImageMagic);
  EXPECT_EQ(info.header.wp_pin, 0xEE);
  EXPECT_EQ(info.checksum_offset % 16, 15u);
  EXPECT_EQ(info.image_len, info.file_len);
  EXPECT_TRUE(info.checksum_ok());
  EXPECT_EQ(info.sha256_ok(), recipe.hash_appended);
  for (const SegmentHeader& segment : info.segment_headers()) {
    EXPECT_EQ(segment.data_len % 4, 0u);
    EXPECT_LT(segment.data_len, kMaxSegmentDataLen);
  }
  // Segment 0 is mapped: its file offset and load address agree modulo every MMU page size.
  EXPECT_EQ(info.segments[0].data_offset, kAppDescOffset);
  EXPECT_EQ(info.segments[0].load_addr % 0x2000, kAppDescOffset);
  if (recipe.chip_id == kChipIdEsp32) {
    const uint32_t end = info.segments[0].data_offset + info.segments[0].data_len;
    EXPECT_GE(end % 0x10000, 0x24u) << "ESP32 flash segment ends too close past 64 KiB";
  }
  ASSERT_TRUE(info.app_description.has_value());
  const AppDescription& desc = *info.app_description;
  EXPECT_EQ(desc.version.view(), recipe.version);
  EXPECT_EQ(desc.project_name.view(), recipe.project_name);
  EXPECT_EQ(desc.idf_ver.view(), recipe.idf_ver);
  EXPECT_EQ(desc.date.view(), recipe.date);
  EXPECT_EQ(desc.time.view(), recipe.time);
  EXPECT_EQ(desc.secure_version, recipe.secure_version);
  EXPECT_EQ(desc.mmu_page_size, recipe.mmu_page_size_log2);
  EXPECT_EQ(info.header.chip_id, recipe.chip_id);
}

TEST_F(AppImageBuilderTest, EveryChip_PassesInspectAndVerify) {
  for (const Chip& chip : kChips) {
    SCOPED_TRACE(std::string(chip.name));
    AppImageRecipe recipe;
    recipe.chip_id = chip.id;
    recipe.version = "2.0.1";
    recipe.project_name = "demo";
    recipe.secure_version = 7;
    const auto image = Build(recipe);
    const Result<AppImageInfo> info = InspectAppImage(image, crypto_);
    ASSERT_TRUE(info.ok()) << Describe(info.status());
    ExpectEsptoolInvariants(*info, recipe);
    ImageRequirements requirements;
    requirements.chip_id = chip.id;
    requirements.chip_revision = 0;
    requirements.slot_size = static_cast<uint32_t>(image.size());
    requirements.require_hash = true;
    EXPECT_TRUE(VerifyAppImage(*info, requirements).ok());
  }
}

TEST_F(AppImageBuilderTest, SegmentCountsAndPayloads_AllValid) {
  for (uint8_t segments : {1, 2, 5, 16}) {
    for (uint32_t payload : {0u, 1u, 3u, 4u, 1001u, 70000u}) {
      SCOPED_TRACE(std::to_string(segments) + " segments, payload " + std::to_string(payload));
      AppImageRecipe recipe;
      recipe.segment_count = segments;
      recipe.payload_size = payload;
      const auto image = Build(recipe);
      const Result<AppImageInfo> info = InspectAppImage(image, crypto_);
      ASSERT_TRUE(info.ok()) << Describe(info.status());
      EXPECT_EQ(info->header.segment_count, segments);
      ExpectEsptoolInvariants(*info, recipe);
      EXPECT_TRUE(VerifyAppImage(*info, {}).ok());
    }
  }
}

TEST_F(AppImageBuilderTest, SecurePad_EndsOnMmuPage) {
  struct Case {
    uint16_t chip_id;
    uint8_t page_log2;
    uint32_t payload;
  };
  constexpr Case kCases[] = {{0, 16, 5000},  {0, 16, 65536 - 400}, {5, 16, 200000},
                             {13, 15, 3000}, {13, 13, 9000},       {12, 0, 100}};
  for (const Case& c : kCases) {
    SCOPED_TRACE(std::to_string(c.chip_id) + "/" + std::to_string(c.page_log2) + "/" +
                 std::to_string(c.payload));
    AppImageRecipe recipe;
    recipe.chip_id = c.chip_id;
    recipe.mmu_page_size_log2 = c.page_log2;
    recipe.payload_size = c.payload;
    recipe.secure_pad = true;
    const auto image = Build(recipe);
    const Result<AppImageInfo> info = InspectAppImage(image, crypto_);
    ASSERT_TRUE(info.ok()) << Describe(info.status());
    ExpectEsptoolInvariants(*info, recipe);
    const uint32_t page = 1u << (c.page_log2 == 0 ? 16 : c.page_log2);
    EXPECT_EQ(info->image_len % page, 0u);
    const SegmentHeader& pad = info->segments[info->header.segment_count - 1];
    EXPECT_EQ(pad.load_addr, 0u);
    EXPECT_EQ(info->header.segment_count, recipe.segment_count + 1);
    // Signed, it needs exactly one more sector (§7).
    EXPECT_EQ(FlashFootprint(info->image_len, true), info->image_len + kSignatureSectorSize);
  }
}

TEST_F(AppImageBuilderTest, NoHash_FileEndsAtChecksum) {
  AppImageRecipe recipe;
  recipe.hash_appended = false;
  const auto image = Build(recipe);
  const Result<AppImageInfo> info = InspectAppImage(image, crypto_);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->hash_appended);
  EXPECT_EQ(info->image_len, info->checksum_offset + 1);
  ExpectEsptoolInvariants(*info, recipe);
}

TEST_F(AppImageBuilderTest, Esp32SegmentTailWorkaround_Applied) {
  // Segment 0 data would end at 0x10000 + 0x10 (< 0x24 past the boundary) without the
  // workaround: 0x20 + 256 + payload = 0x10010 with one segment.
  AppImageRecipe recipe;
  recipe.segment_count = 1;
  recipe.payload_size = 0x10010 - 0x20 - 256;
  const auto image = Build(recipe);
  const Result<AppImageInfo> info = InspectAppImage(image, crypto_);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->segments[0].data_offset + info->segments[0].data_len, 0x10024u);
  // Other chips keep the natural length.
  recipe.chip_id = 5;
  const auto c3 = Build(recipe);
  const Result<AppImageInfo> c3_info = InspectAppImage(c3, crypto_);
  ASSERT_TRUE(c3_info.ok());
  EXPECT_EQ(c3_info->segments[0].data_offset + c3_info->segments[0].data_len, 0x10010u);
}

TEST_F(AppImageBuilderTest, SameRecipe_SameBytes_SeedChangesContent) {
  AppImageRecipe recipe;
  EXPECT_EQ(Build(recipe), Build(recipe));
  AppImageRecipe other = recipe;
  other.fill_seed = 2;
  EXPECT_NE(Build(recipe), Build(other));
}

TEST_F(AppImageBuilderTest, StreamingValidator_AcceptsBuiltImages) {
  AppImageRecipe recipe;
  recipe.chip_id = 9;
  recipe.project_name = "streamed";
  recipe.secure_pad = true;
  const auto image = Build(recipe);
  AppImageExpectations expectations;
  expectations.chip_id = 9;
  expectations.project_name = "streamed";
  expectations.slot_size = static_cast<uint32_t>(image.size());
  AppImageValidator validator(crypto_, expectations);
  ASSERT_TRUE(validator.Feed(image).ok());
  const Result<AppImageSummary> summary = validator.Finish();
  ASSERT_TRUE(summary.ok()) << Describe(summary.status());
  EXPECT_EQ(summary->image_len, image.size());
}

TEST_F(AppImageBuilderTest, BadRecipes_NameTheField) {
  struct Case {
    const char* name;
    AppImageRecipe recipe;
    const char* reason;
  };
  std::vector<Case> cases;
  {
    AppImageRecipe r;
    r.chip_id = 31;
    cases.push_back({"chip", r, "app image recipe: unknown chip_id"});
  }
  {
    AppImageRecipe r;
    r.version = "0123456789abcdef0123456789abcdef";  // 32 bytes: no room for the NUL
    cases.push_back({"version", r, "app image recipe: version too long"});
  }
  {
    AppImageRecipe r;
    r.project_name = "0123456789abcdef0123456789abcdefg";
    cases.push_back({"project", r, "app image recipe: project_name too long"});
  }
  {
    AppImageRecipe r;
    r.date = "January  1 2025!";
    cases.push_back({"date", r, "app image recipe: date too long"});
  }
  {
    AppImageRecipe r;
    r.segment_count = 0;
    cases.push_back({"zero segments", r, "app image recipe: segment_count out of range"});
  }
  {
    AppImageRecipe r;
    r.segment_count = 16;
    r.secure_pad = true;
    cases.push_back({"16 + pad", r, "app image recipe: segment_count out of range"});
  }
  {
    AppImageRecipe r;
    r.secure_pad = true;
    r.hash_appended = false;
    cases.push_back({"pad without hash", r, "app image recipe: secure_pad needs hash_appended"});
  }
  {
    AppImageRecipe r;
    r.mmu_page_size_log2 = 12;
    cases.push_back({"page", r, "app image recipe: mmu_page_size_log2 out of range"});
  }
  {
    AppImageRecipe r;
    r.segment_count = 1;
    r.payload_size = kMaxSegmentDataLen;
    cases.push_back({"payload", r, "app image recipe: payload_size too large"});
  }
  static constexpr std::byte kLongPrefix[40] = {};
  {
    AppImageRecipe r;
    r.payload_size = 3 * 13;  // 13 bytes of payload in segment 0
    r.payload_prefix = kLongPrefix;
    cases.push_back(
        {"prefix", r, "app image recipe: payload_prefix longer than segment 0's payload"});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Result<uint32_t> size = AppImageBuildSize(c.recipe);
    ASSERT_FALSE(size.ok());
    EXPECT_EQ(size.status().code(), Status::Code::kInvalidArgument);
    EXPECT_STREQ(size.status().reason(), c.reason);
  }
}

TEST_F(AppImageBuilderTest, SmallBuffer_ResourceExhausted) {
  AppImageRecipe recipe;
  const uint32_t size = *AppImageBuildSize(recipe);
  std::vector<std::byte> out(size - 1);
  const Result<uint32_t> written = BuildAppImage(recipe, crypto_, out);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.status().code(), Status::Code::kResourceExhausted);
  EXPECT_EQ(written.status().context(), size);
}

TEST_F(AppImageBuilderTest, PayloadPrefix_SitsRightAfterTheAppDescriptorAndTheImageStaysValid) {
  const std::string marker = "aloft-self-test:fail";
  AppImageRecipe recipe;
  recipe.payload_prefix = AsBytes(marker);
  const std::vector<std::byte> image = Build(recipe);
  const Result<AppImageInfo> info = InspectAppImage(image, crypto_);
  ASSERT_TRUE(info.ok()) << Describe(info.status());
  ExpectEsptoolInvariants(*info, recipe);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(image.data()) + 0x120, marker.size()),
            marker);
  // The same recipe without a prefix differs exactly there.
  AppImageRecipe plain = recipe;
  plain.payload_prefix = {};
  const std::vector<std::byte> other = Build(plain);
  ASSERT_EQ(other.size(), image.size());
  for (size_t i = 0; i < 0x120; ++i) {
    ASSERT_EQ(image[i], other[i]) << i;
  }
}

}  // namespace
}  // namespace aloft::core
