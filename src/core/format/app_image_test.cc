#include "core/format/app_image.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/hash.h"
#include "ports/host/openssl_crypto.h"
#include "support/vectors.h"

namespace aloft::core {
namespace {

using ::aloft::testing::ReadBinary;
using ::aloft::testing::ReadText;
using ::aloft::testing::VectorFiles;
using ::aloft::testing::VectorPath;

std::string Describe(const Status& status) {
  std::string text = std::string(CodeName(status.code())) + ": " + status.reason();
  if (status.has_context()) {
    text += " (context " + std::to_string(status.context()) + ")";
  }
  return text;
}

// Status equality by value (reasons are compared as text, not as pointers).
::testing::AssertionResult StatusIs(const Status& actual, Status::Code code, const char* reason,
                                    std::optional<uint32_t> context = std::nullopt) {
  const bool same =
      actual.code() == code && std::strcmp(actual.reason(), reason) == 0 &&
      (!context.has_value() || (actual.has_context() && actual.context() == *context));
  if (same) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got " << Describe(actual) << ", want " << CodeName(code) << ": " << reason
         << (context.has_value() ? " (context " + std::to_string(*context) + ")" : "");
}

std::string HexOf(ConstByteSpan bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string text;
  for (std::byte b : bytes) {
    text += kDigits[static_cast<uint8_t>(b) >> 4];
    text += kDigits[static_cast<uint8_t>(b) & 0x0F];
  }
  return text;
}

std::filesystem::path ExpectedJsonPath(const std::filesystem::path& bin) {
  std::string name = bin.filename().string();
  name.replace(name.size() - 4, 4, ".expected.json");
  return bin.parent_path() / name;
}

boost::json::value LoadJson(const std::filesystem::path& path) {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(ReadText(path), error);
  EXPECT_FALSE(error) << path << ": " << error.message();
  return value;
}

// A field of a JSON object; a missing field fails the test and reads as null.
const boost::json::value& Field(const boost::json::value& object, const char* key) {
  static const boost::json::value kNull;
  const boost::json::object* fields = object.if_object();
  const boost::json::value* found = fields != nullptr ? fields->if_contains(key) : nullptr;
  if (found == nullptr) {
    ADD_FAILURE() << "expected.json has no field " << key;
    return kNull;
  }
  return *found;
}

bool Has(const boost::json::value& object, const char* key) {
  const boost::json::object* fields = object.if_object();
  return fields != nullptr && fields->contains(key);
}

// A number written either as a JSON integer or as a "0x..." string.
uint64_t Number(const boost::json::value& value) {
  if (const int64_t* number = value.if_int64()) {
    return static_cast<uint64_t>(*number);
  }
  if (const boost::json::string* text = value.if_string()) {
    return std::strtoull(text->c_str(), nullptr, 16);
  }
  ADD_FAILURE() << "not a number: " << boost::json::serialize(value);
  return 0;
}

std::string Text(const boost::json::value& value) {
  if (const boost::json::string* text = value.if_string()) {
    return std::string(text->c_str());
  }
  ADD_FAILURE() << "not a string: " << boost::json::serialize(value);
  return {};
}

void ExpectHeaderMatches(const ImageHeader& header, const boost::json::value& json) {
  EXPECT_EQ(header.magic, Number(Field(json, "magic")));
  EXPECT_EQ(header.segment_count, Number(Field(json, "segment_count")));
  EXPECT_EQ(header.spi_mode, Number(Field(json, "spi_mode")));
  EXPECT_EQ(header.spi_speed, Number(Field(json, "spi_speed")));
  EXPECT_EQ(header.spi_size, Number(Field(json, "spi_size")));
  EXPECT_EQ(header.entry_addr, Number(Field(json, "entry_addr")));
  EXPECT_EQ(header.wp_pin, Number(Field(json, "wp_pin")));
  const boost::json::array* drv = Field(json, "spi_pin_drv").if_array();
  ASSERT_NE(drv, nullptr);
  ASSERT_EQ(drv->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(header.spi_pin_drv[i], Number((*drv)[i])) << "spi_pin_drv " << i;
  }
  EXPECT_EQ(header.chip_id, Number(Field(json, "chip_id")));
  EXPECT_EQ(header.min_chip_rev, Number(Field(json, "min_chip_rev")));
  EXPECT_EQ(header.min_chip_rev_full, Number(Field(json, "min_chip_rev_full")));
  EXPECT_EQ(header.max_chip_rev_full, Number(Field(json, "max_chip_rev_full")));
  EXPECT_EQ(HexOf(AsBytes(std::string_view(reinterpret_cast<const char*>(header.reserved.data()),
                                           header.reserved.size()))),
            Text(Field(json, "reserved")));
  EXPECT_EQ(header.hash_appended, Number(Field(json, "hash_appended")));
}

void ExpectAppDescMatches(const AppDescription& desc, const boost::json::value& json) {
  EXPECT_EQ(Number(Field(json, "offset_in_file")), kAppDescOffset);
  EXPECT_EQ(desc.magic_word, Number(Field(json, "magic_word")));
  EXPECT_EQ(desc.secure_version, Number(Field(json, "secure_version")));
  EXPECT_EQ(desc.version.view(), Text(Field(json, "version")));
  EXPECT_EQ(desc.project_name.view(), Text(Field(json, "project_name")));
  EXPECT_EQ(desc.time.view(), Text(Field(json, "time")));
  EXPECT_EQ(desc.date.view(), Text(Field(json, "date")));
  EXPECT_EQ(desc.idf_ver.view(), Text(Field(json, "idf_ver")));
  EXPECT_EQ(HexOf(desc.app_elf_sha256), Text(Field(json, "app_elf_sha256")));
  EXPECT_EQ(desc.min_efuse_blk_rev_full, Number(Field(json, "min_efuse_blk_rev_full")));
  EXPECT_EQ(desc.max_efuse_blk_rev_full, Number(Field(json, "max_efuse_blk_rev_full")));
  EXPECT_EQ(desc.mmu_page_size, Number(Field(json, "mmu_page_size_log2")));
  EXPECT_EQ(desc.spi_flash_mode, Number(Field(json, "spi_flash_mode_byte")));
}

// Every field of NAME.expected.json's "image" object against InspectAppImage's info.
void ExpectInfoMatches(const AppImageInfo& info, const boost::json::value& image) {
  ExpectHeaderMatches(info.header, Field(image, "header"));
  const boost::json::array* segments = Field(image, "segments").if_array();
  ASSERT_NE(segments, nullptr);
  ASSERT_EQ(segments->size(), info.header.segment_count);
  for (size_t i = 0; i < segments->size(); ++i) {
    SCOPED_TRACE("segment " + std::to_string(i));
    const boost::json::value& json = (*segments)[i];
    const SegmentHeader& segment = info.segments[i];
    EXPECT_EQ(i, Number(Field(json, "index")));
    EXPECT_EQ(segment.load_addr, Number(Field(json, "load_addr")));
    EXPECT_EQ(segment.data_len, Number(Field(json, "data_len")));
    EXPECT_EQ(segment.header_offset, Number(Field(json, "header_offset")));
    EXPECT_EQ(segment.data_offset, Number(Field(json, "data_offset")));
  }
  EXPECT_EQ(info.end_of_segments, Number(Field(image, "end_of_segments")));
  EXPECT_EQ(info.checksum_offset, Number(Field(image, "checksum_offset")));
  EXPECT_EQ(info.checksum_stored, Number(Field(image, "checksum_stored")));
  EXPECT_EQ(info.checksum_computed, Number(Field(image, "checksum_calculated")));
  EXPECT_EQ(info.image_len, Number(Field(image, "image_len")));
  EXPECT_EQ(info.file_len, Number(Field(image, "file_len")));
  EXPECT_EQ(info.hash_appended, Has(image, "sha256_stored"));
  if (info.hash_appended) {
    EXPECT_EQ(info.sha256_offset, Number(Field(image, "sha256_offset")));
    EXPECT_EQ(HexOf(info.sha256_stored), Text(Field(image, "sha256_stored")));
    EXPECT_EQ(HexOf(info.sha256_computed), Text(Field(image, "sha256_calculated")));
  }
  ASSERT_EQ(info.app_description.has_value(), Has(image, "app_desc"));
  if (info.app_description.has_value()) {
    ExpectAppDescMatches(*info.app_description, Field(image, "app_desc"));
  }
}

std::vector<std::filesystem::path> AllImageVectors() {
  std::vector<std::filesystem::path> all;
  for (const char* folder : {"app-image/images", "app-image/signed", "real-firmware"}) {
    for (const auto& path : VectorFiles(folder, ".bin")) {
      all.push_back(path);
    }
  }
  return all;
}

class AppImageTest : public ::testing::Test {
 protected:
  host::OpensslCrypto crypto_;
};

TEST_F(AppImageTest, InspectAppImage_EveryVector_MatchesExpectedJsonFieldByField) {
  const auto vectors = AllImageVectors();
  ASSERT_EQ(vectors.size(), 12u + 14u + 3u);
  for (const auto& path : vectors) {
    SCOPED_TRACE(path.filename().string());
    const std::vector<std::byte> bytes = ReadBinary(path);
    const boost::json::value expected = LoadJson(ExpectedJsonPath(path));
    const Result<AppImageInfo> info = InspectAppImage(bytes, crypto_);
    if (Has(expected, "image_error")) {
      // The independent parser ran off the end (segment_count_17); we stop at the count.
      EXPECT_STREQ(Text(Field(expected, "image_error")).c_str(), "truncated");
      EXPECT_TRUE(StatusIs(info.status(), Status::Code::kInvalidArgument,
                           "app image: segment_count exceeds 16", 1));
      continue;
    }
    const boost::json::value& image = Field(expected, "image");
    if (Number(Field(Field(image, "header"), "magic")) != kImageMagic) {
      // Refused at once; the header still decodes field for field.
      EXPECT_TRUE(StatusIs(info.status(), Status::Code::kInvalidArgument,
                           "app image: invalid magic byte", 0));
      const Result<ImageHeader> header = ParseImageHeader(bytes);
      ASSERT_TRUE(header.ok());
      ExpectHeaderMatches(*header, Field(image, "header"));
      continue;
    }
    ASSERT_TRUE(info.ok()) << Describe(info.status());
    ExpectInfoMatches(*info, image);
  }
}

struct VerdictCase {
  const char* path;
  Status::Code code;  // kOk for a valid image
  const char* reason;
  uint32_t context;
};

// The README verdicts (tests/vectors/app-image/README.md, real-firmware/README.md), as
// InspectAppImage + VerifyAppImage with no device requirements decide them. For signed files
// this is the verdict on the image part; signatures are verified elsewhere.
constexpr VerdictCase kVerdicts[] = {
    {"app-image/images/esp32_app.bin", Status::Code::kOk, "ok", 0},
    {"app-image/images/esp32_app_nodigest.bin", Status::Code::kOk, "ok", 0},
    {"app-image/images/esp32_app_securepad.bin", Status::Code::kOk, "ok", 0},
    {"app-image/images/esp32c3_app.bin", Status::Code::kOk, "ok", 0},
    {"app-image/images/esp32c3_app_securepad.bin", Status::Code::kOk, "ok", 0},
    {"app-image/images/esp32c6_app_mmu32k.bin", Status::Code::kOk, "ok", 0},
    {"app-image/images/esp32s3_app_securepad.bin", Status::Code::kOk, "ok", 0},
    {"app-image/images/esp32_app.bad_magic.bin", Status::Code::kInvalidArgument,
     "app image: invalid magic byte", 0},
    {"app-image/images/esp32_app.flip_segment_byte.bin", Status::Code::kDataLoss,
     "app image: checksum mismatch", 0x1202f},
    {"app-image/images/esp32_app.flip_stored_sha256.bin", Status::Code::kDataLoss,
     "app image: sha256 mismatch", 0x12030},
    {"app-image/images/esp32c3_app.header_flash_size_changed.bin", Status::Code::kDataLoss,
     "app image: sha256 mismatch", 0x13030},
    {"app-image/images/esp32_app.segment_count_17.bin", Status::Code::kInvalidArgument,
     "app image: segment_count exceeds 16", 1},
    {"real-firmware/erisdar_esp32_hello_world.bin", Status::Code::kOk, "ok", 0},
    {"real-firmware/qgb_c3_hello_world.bin", Status::Code::kOk, "ok", 0},
    {"real-firmware/gimhan_s3_tml.bin", Status::Code::kOk, "ok", 0},
    {"app-image/signed/esp32_app.signed_rsa0_4kpad.bin", Status::Code::kOk, "ok", 0},
    {"app-image/signed/esp32_app_securepad.signed_rsa0.bin", Status::Code::kOk, "ok", 0},
    {"app-image/signed/esp32c3_app_securepad.signed_ecdsa192.bin", Status::Code::kOk, "ok", 0},
    {"app-image/signed/esp32c3_app_securepad.signed_rsa012.bin", Status::Code::kOk, "ok", 0},
    {"app-image/signed/esp32c3_app_securepad.signed_rsa0_rsa1.bin", Status::Code::kOk, "ok", 0},
    {"app-image/signed/esp32c6_app_mmu32k_securepad.signed_ecdsa256.bin", Status::Code::kOk, "ok",
     0},
    {"app-image/signed/esp32s3_app_securepad.signed_ecdsa384.bin", Status::Code::kOk, "ok", 0},
    {"app-image/signed/neg_ecdsa256_image_byte_flipped.bin", Status::Code::kDataLoss,
     "app image: checksum mismatch", 0xffdf},
    {"app-image/signed/neg_rsa0_image_byte_flipped.bin", Status::Code::kDataLoss,
     "app image: checksum mismatch", 0x1ffdf},
    {"app-image/signed/neg_rsa0_modulus_byte_flipped_crc_fixed.bin", Status::Code::kOk, "ok", 0},
    {"app-image/signed/neg_rsa0_sig_byte_flipped_crc_fixed.bin", Status::Code::kOk, "ok", 0},
    {"app-image/signed/neg_rsa0_sig_byte_flipped_crc_stale.bin", Status::Code::kOk, "ok", 0},
    {"app-image/signed/neg_rsa0_sig_sector_truncated_by_100.bin", Status::Code::kOk, "ok", 0},
    {"app-image/signed/ok_rsa0_block_tail_padding_modified.bin", Status::Code::kOk, "ok", 0},
};

Status InspectAndVerify(ConstByteSpan bytes, port::Crypto& crypto,
                        const ImageRequirements& requirements = {}) {
  Result<AppImageInfo> info = InspectAppImage(bytes, crypto);
  if (!info.ok()) {
    return info.status();
  }
  return VerifyAppImage(*info, requirements);
}

TEST_F(AppImageTest, VerifyAppImage_EveryVector_GivesReadmeVerdict) {
  EXPECT_EQ(std::size(kVerdicts), AllImageVectors().size()) << "a vector has no verdict";
  for (const VerdictCase& c : kVerdicts) {
    SCOPED_TRACE(c.path);
    const std::vector<std::byte> bytes = ReadBinary(VectorPath(c.path));
    const Status status = InspectAndVerify(bytes, crypto_);
    if (c.code == Status::Code::kOk) {
      EXPECT_TRUE(status.ok()) << Describe(status);
    } else {
      EXPECT_TRUE(StatusIs(status, c.code, c.reason, c.context));
    }
  }
}

TEST_F(AppImageTest, InspectAppImage_SignedFiles_ReportTrailingBytesAndSectorOffset) {
  struct Case {
    const char* path;
    uint32_t image_len;
    uint32_t file_len;
    uint32_t sector_offset;
  };
  constexpr Case kCases[] = {
      {"app-image/signed/esp32_app.signed_rsa0_4kpad.bin", 73808, 81920, 0x13000},
      {"app-image/signed/esp32_app_securepad.signed_rsa0.bin", 131072, 135168, 0x20000},
      {"app-image/signed/esp32c6_app_mmu32k_securepad.signed_ecdsa256.bin", 65536, 69632, 0x10000},
      {"app-image/signed/neg_rsa0_sig_sector_truncated_by_100.bin", 131072, 135068, 0x20000},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.path);
    const auto bytes = ReadBinary(VectorPath(c.path));
    const Result<AppImageInfo> info = InspectAppImage(bytes, crypto_);
    ASSERT_TRUE(info.ok()) << Describe(info.status());
    EXPECT_EQ(info->image_len, c.image_len);
    EXPECT_EQ(info->file_len, c.file_len);
    EXPECT_EQ(info->trailing_len(), c.file_len - c.image_len);
    EXPECT_EQ(info->signature_sector_offset(), c.sector_offset);
  }
}

TEST_F(AppImageTest, VerifyAppImage_FlipSegmentByte_BothVerdictsFalse) {
  const auto bytes = ReadBinary(VectorPath("app-image/images/esp32_app.flip_segment_byte.bin"));
  const Result<AppImageInfo> info = InspectAppImage(bytes, crypto_);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->checksum_stored, 0xa4);
  EXPECT_EQ(info->checksum_computed, 0xa5);
  EXPECT_FALSE(info->checksum_ok());
  EXPECT_FALSE(info->sha256_ok());
}

TEST_F(AppImageTest, InspectAppImage_NoDigest_HashNotAppendedAndFileEndsAtChecksum) {
  const auto bytes = ReadBinary(VectorPath("app-image/images/esp32_app_nodigest.bin"));
  const Result<AppImageInfo> info = InspectAppImage(bytes, crypto_);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->hash_appended);
  EXPECT_FALSE(info->sha256_ok());
  EXPECT_EQ(info->image_len, info->checksum_offset + 1);
  EXPECT_EQ(info->image_len, bytes.size());
  EXPECT_TRUE(VerifyAppImage(*info, {}).ok());
  ImageRequirements strict;
  strict.require_hash = true;
  EXPECT_TRUE(StatusIs(VerifyAppImage(*info, strict), Status::Code::kInvalidArgument,
                       "app image: no appended sha256", 23));
}

// ---- Device requirements ----

class VerifyRequirementsTest : public AppImageTest {
 protected:
  AppImageInfo Inspect(const char* path) {
    const auto bytes = ReadBinary(VectorPath(path));
    Result<AppImageInfo> info = InspectAppImage(bytes, crypto_);
    EXPECT_TRUE(info.ok()) << Describe(info.status());
    return info.ok() ? *info : AppImageInfo{};
  }
};

TEST_F(VerifyRequirementsTest, ChipId_MustMatch) {
  const AppImageInfo esp32 = Inspect("app-image/images/esp32_app.bin");
  ImageRequirements requirements;
  requirements.chip_id = 0;
  EXPECT_TRUE(VerifyAppImage(esp32, requirements).ok());
  requirements.chip_id = *ChipIdFromName("esp32c3");
  EXPECT_TRUE(StatusIs(VerifyAppImage(esp32, requirements), Status::Code::kPermissionDenied,
                       "app image: built for another chip", 12));
}

TEST_F(VerifyRequirementsTest, ChipRevision_WindowFromHeader) {
  // esp32c3_app.bin: min_chip_rev_full 3, max 199.
  const AppImageInfo c3 = Inspect("app-image/images/esp32c3_app.bin");
  struct Case {
    uint16_t revision;
    Status::Code code;
    const char* reason;
    uint32_t context;
  };
  constexpr Case kCases[] = {
      {0, Status::Code::kPermissionDenied, "app image: chip revision below the image's minimum",
       15},
      {2, Status::Code::kPermissionDenied, "app image: chip revision below the image's minimum",
       15},
      {3, Status::Code::kOk, "ok", 0},
      {101, Status::Code::kOk, "ok", 0},
      {199, Status::Code::kOk, "ok", 0},
      {200, Status::Code::kPermissionDenied, "app image: chip revision above the image's maximum",
       17},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.revision);
    ImageRequirements requirements;
    requirements.chip_id = 5;
    requirements.chip_revision = c.revision;
    const Status status = VerifyAppImage(c3, requirements);
    if (c.code == Status::Code::kOk) {
      EXPECT_TRUE(status.ok()) << Describe(status);
    } else {
      EXPECT_TRUE(StatusIs(status, c.code, c.reason, c.context));
    }
  }
}

TEST_F(VerifyRequirementsTest, ChipRevision_MaxZeroOrFfffMeansNoMaximum) {
  // qgb_c3_hello_world: max_chip_rev_full 0 (pre-v5); esp32_app: 65535.
  for (const char* path :
       {"real-firmware/qgb_c3_hello_world.bin", "app-image/images/esp32_app.bin"}) {
    SCOPED_TRACE(path);
    ImageRequirements requirements;
    requirements.chip_revision = 9999;
    EXPECT_TRUE(VerifyAppImage(Inspect(path), requirements).ok());
  }
}

TEST_F(VerifyRequirementsTest, EfuseBlockRevision_CheckedExceptOnEsp32) {
  // esp32c3_app.bin: efuse blk rev min 1 max 199; esp32_app.bin: 0..99 but ESP32 is exempt.
  const AppImageInfo c3 = Inspect("app-image/images/esp32c3_app.bin");
  ImageRequirements requirements;
  requirements.efuse_block_revision = 0;
  EXPECT_TRUE(StatusIs(VerifyAppImage(c3, requirements), Status::Code::kPermissionDenied,
                       "app image: efuse block revision below the image's minimum", 0x20 + 176));
  requirements.efuse_block_revision = 1;
  EXPECT_TRUE(VerifyAppImage(c3, requirements).ok());
  requirements.efuse_block_revision = 200;
  EXPECT_TRUE(StatusIs(VerifyAppImage(c3, requirements), Status::Code::kPermissionDenied,
                       "app image: efuse block revision above the image's maximum", 0x20 + 178));
  EXPECT_TRUE(VerifyAppImage(Inspect("app-image/images/esp32_app.bin"), requirements).ok());
}

TEST_F(VerifyRequirementsTest, SlotSize_UnsignedAndSigned) {
  const AppImageInfo esp32 = Inspect("app-image/images/esp32_app.bin");  // image_len 73808
  struct Case {
    uint32_t slot;
    bool signed_image;
    bool fits;
    uint32_t needed;
  };
  constexpr Case kCases[] = {
      {73808, false, true, 73808}, {73807, false, false, 73808},  {81920, true, true, 81920},
      {81919, true, false, 81920}, {0x100000, true, true, 81920},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.slot);
    ImageRequirements requirements;
    requirements.slot_size = c.slot;
    requirements.signed_image = c.signed_image;
    const Status status = VerifyAppImage(esp32, requirements);
    if (c.fits) {
      EXPECT_TRUE(status.ok()) << Describe(status);
    } else {
      EXPECT_TRUE(StatusIs(status, Status::Code::kOutOfRange, "app image: does not fit the slot",
                           c.needed));
    }
  }
  // Secure-padded: the image already ends on 64 KiB, so signed = image_len + 4096 (§7).
  const AppImageInfo padded = Inspect("app-image/images/esp32_app_securepad.bin");
  ImageRequirements requirements;
  requirements.signed_image = true;
  requirements.slot_size = 131072 + 4096;
  EXPECT_TRUE(VerifyAppImage(padded, requirements).ok());
  requirements.slot_size = 131072 + 4095;
  EXPECT_TRUE(StatusIs(VerifyAppImage(padded, requirements), Status::Code::kOutOfRange,
                       "app image: does not fit the slot", 135168));
}

TEST_F(VerifyRequirementsTest, Order_ChipBeforeChecksum_SizeBeforeSha) {
  // flip_segment_byte: checksum and SHA both wrong.
  const AppImageInfo flipped = Inspect("app-image/images/esp32_app.flip_segment_byte.bin");
  ImageRequirements requirements;
  requirements.chip_id = 5;
  requirements.slot_size = 1000;
  EXPECT_TRUE(StatusIs(VerifyAppImage(flipped, requirements), Status::Code::kPermissionDenied,
                       "app image: built for another chip", 12));
  requirements.chip_id.reset();
  EXPECT_TRUE(StatusIs(VerifyAppImage(flipped, requirements), Status::Code::kDataLoss,
                       "app image: checksum mismatch", 0x1202f));
  // flip_stored_sha256: checksum fine, SHA wrong; process_appended_hash_and_sig() checks the
  // size before verify_simple_hash() runs.
  const AppImageInfo bad_sha = Inspect("app-image/images/esp32_app.flip_stored_sha256.bin");
  EXPECT_TRUE(StatusIs(VerifyAppImage(bad_sha, requirements), Status::Code::kOutOfRange,
                       "app image: does not fit the slot", 73808));
  requirements.slot_size.reset();
  EXPECT_TRUE(StatusIs(VerifyAppImage(bad_sha, requirements), Status::Code::kDataLoss,
                       "app image: sha256 mismatch", 0x12030));
}

// ---- Hand-made images for the structural rules ----

struct RawSegment {
  uint32_t load_addr;
  std::vector<std::byte> data;
  std::optional<uint32_t> declared_len;  // a lie in the header, if set
};

void PutLe32(std::vector<std::byte>& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<std::byte>(value >> (8 * i)));
  }
}

// An image with the given segments, a correct checksum and (optionally) a correct hash.
std::vector<std::byte> MakeImage(const std::vector<RawSegment>& segments, bool hash_appended,
                                 port::Crypto& crypto, uint16_t chip_id = 0) {
  std::vector<std::byte> image(kImageHeaderSize, std::byte{0});
  StoreU8(image, 0, kImageMagic);
  StoreU8(image, 1, static_cast<uint8_t>(segments.size()));
  StoreU8(image, 8, 0xEE);
  StoreLe16(image, 12, chip_id);
  StoreLe16(image, 17, 0xFFFF);
  StoreU8(image, 23, hash_appended ? 1 : 0);
  uint8_t checksum = kChecksumSeed;
  for (const RawSegment& segment : segments) {
    PutLe32(image, segment.load_addr);
    PutLe32(image, segment.declared_len.value_or(static_cast<uint32_t>(segment.data.size())));
    for (std::byte b : segment.data) {
      image.push_back(b);
      checksum ^= static_cast<uint8_t>(b);
    }
  }
  while (image.size() % 16 != 15) {
    image.push_back(std::byte{0});
  }
  image.push_back(static_cast<std::byte>(checksum));
  if (hash_appended) {
    std::array<std::byte, 32> digest{};
    Hash sha(crypto, port::HashAlgorithm::kSha256);
    EXPECT_TRUE(sha.Begin().ok());
    EXPECT_TRUE(sha.Update(image).ok());
    EXPECT_TRUE(sha.Finish(digest).ok());
    image.insert(image.end(), digest.begin(), digest.end());
  }
  return image;
}

std::vector<std::byte> AppDescBytes(size_t size) {
  std::vector<std::byte> data(size, std::byte{0x5A});
  StoreLe32(data, 0, kAppDescMagic);
  return data;
}

TEST_F(AppImageTest, InspectAppImage_MinimalHandMadeImage_IsValid) {
  const auto image = MakeImage({{0x3F400020, AppDescBytes(256), {}}}, true, crypto_);
  const Result<AppImageInfo> info = InspectAppImage(image, crypto_);
  ASSERT_TRUE(info.ok()) << Describe(info.status());
  EXPECT_EQ(info->end_of_segments, 0x20u + 256);
  EXPECT_EQ(info->checksum_offset, 0x12Fu);
  EXPECT_EQ(info->image_len, 0x130u + 32);
  EXPECT_TRUE(info->checksum_ok());
  EXPECT_TRUE(info->sha256_ok());
  ASSERT_TRUE(info->app_description.has_value());
  EXPECT_TRUE(VerifyAppImage(*info, {}).ok());
}

TEST_F(AppImageTest, InspectAppImage_StructuralFaults_NameFieldAndOffset) {
  struct Case {
    const char* name;
    std::vector<RawSegment> segments;
    Status::Code code;
    const char* reason;
    uint32_t context;
  };
  const std::vector<Case> cases = {
      {"data_len not a multiple of 4",
       {{0x3F400020, AppDescBytes(256), {}}, {0x3FFB0000, std::vector<std::byte>(6), {}}},
       Status::Code::kInvalidArgument,
       "app image: segment data_len not a multiple of 4",
       0x20 + 256},
      {"data_len of 16 MiB",
       {{0x3F400020, AppDescBytes(256), {}}, {0x3FFB0000, {}, 0x1000000}},
       Status::Code::kInvalidArgument,
       "app image: segment data_len exceeds 16 MiB",
       0x20 + 256},
      {"data_len past the end",
       {{0x3F400020, AppDescBytes(256), {}}, {0x3FFB0000, std::vector<std::byte>(8), 0x100000}},
       Status::Code::kDataLoss,
       "app image: truncated in segment data",
       0x20 + 256 + 8},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto image = MakeImage(c.segments, true, crypto_);
    EXPECT_TRUE(StatusIs(InspectAppImage(image, crypto_).status(), c.code, c.reason, c.context));
  }
}

TEST_F(AppImageTest, VerifyAppImage_SmallSegmentZero_Refused) {
  const auto image = MakeImage({{0x3F400020, AppDescBytes(252), {}}}, true, crypto_);
  const Result<AppImageInfo> info = InspectAppImage(image, crypto_);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->app_description.has_value());
  EXPECT_TRUE(StatusIs(VerifyAppImage(*info, {}), Status::Code::kInvalidArgument,
                       "app image: segment 0 too small for esp_app_desc_t", 0x18));
}

TEST_F(AppImageTest, VerifyAppImage_NoSegments_Refused) {
  const auto image = MakeImage({}, true, crypto_);
  const Result<AppImageInfo> info = InspectAppImage(image, crypto_);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->checksum_offset, 0x1Fu);
  EXPECT_TRUE(StatusIs(VerifyAppImage(*info, {}), Status::Code::kInvalidArgument,
                       "app image: segment 0 too small for esp_app_desc_t", 0x18));
}

TEST_F(AppImageTest, VerifyAppImage_AppDescMagicWrong_RefusedBeforeChecksum) {
  auto data = AppDescBytes(256);
  StoreLe32(data, 0, 0xABCD5433);
  auto image = MakeImage({{0x3F400020, data, {}}}, true, crypto_);
  const Result<AppImageInfo> info = InspectAppImage(image, crypto_);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->app_description.has_value());
  EXPECT_TRUE(StatusIs(VerifyAppImage(*info, {}), Status::Code::kInvalidArgument,
                       "app image: esp_app_desc_t magic mismatch", 0x20));
}

TEST_F(AppImageTest, InspectAppImage_HashAppendedAnyNonZero_TreatedAsAppended) {
  // The bootloader tests `if (hash_appended)`; esptool would refuse 2, we follow the device.
  auto image = MakeImage({{0x3F400020, AppDescBytes(256), {}}}, true, crypto_);
  StoreU8(image, 23, 2);
  const Result<AppImageInfo> info = InspectAppImage(image, crypto_);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->hash_appended);
  EXPECT_FALSE(info->sha256_ok());  // the header byte is hashed, so the hash no longer matches
}

TEST_F(AppImageTest, ChecksumOffset_LastByteOfSixteenByteBlock) {
  struct Case {
    uint32_t end;
    uint32_t checksum_offset;
  };
  constexpr Case kCases[] = {{0x18, 0x1F}, {0x1F, 0x1F},       {0x20, 0x2F},
                             {0x2E, 0x2F}, {0x12020, 0x1202F}, {0x3381C, 0x3381F}};
  for (const Case& c : kCases) {
    EXPECT_EQ(ChecksumOffset(c.end), c.checksum_offset) << c.end;
  }
  EXPECT_EQ(SignatureSectorOffset(73808), 0x13000u);
  EXPECT_EQ(SignatureSectorOffset(0x20000), 0x20000u);
  EXPECT_EQ(FlashFootprint(73808, true), 81920u);
  EXPECT_EQ(FlashFootprint(73808, false), 73808u);
}

TEST(ChipTable, NamesAndIds_RoundTrip) {
  struct Case {
    uint16_t id;
    const char* name;
  };
  constexpr Case kCases[] = {
      {0, "esp32"},     {2, "esp32s2"},  {5, "esp32c3"},   {9, "esp32s3"},   {12, "esp32c2"},
      {13, "esp32c6"},  {16, "esp32h2"}, {18, "esp32p4"},  {20, "esp32c61"}, {23, "esp32c5"},
      {25, "esp32h21"}, {28, "esp32h4"}, {32, "esp32s31"},
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(ChipName(c.id), c.name);
    EXPECT_EQ(ChipIdFromName(c.name), c.id);
  }
  EXPECT_EQ(ChipIdFromName("ESP32-C3"), 5);
  EXPECT_EQ(ChipIdFromName("esp32_s3"), 9);
  EXPECT_EQ(ChipIdFromName("esp8266"), std::nullopt);
  EXPECT_EQ(ChipIdFromName("esp32e22"), std::nullopt);  // esptool knows it, ESP-IDF does not
  EXPECT_EQ(ChipIdFromName(""), std::nullopt);
  EXPECT_EQ(ChipIdFromName("esp32c3esp32c3esp32c3"), std::nullopt);
  EXPECT_EQ(ChipName(31), "");
  EXPECT_EQ(ChipName(kChipIdInvalid), "");
}

TEST(ParseImageHeader, ShortInput_DataLoss) {
  std::array<std::byte, 23> bytes{};
  EXPECT_TRUE(StatusIs(ParseImageHeader(bytes).status(), Status::Code::kDataLoss,
                       "app image: truncated in image header", 0));
}

TEST(ParseAppDescription, ShortInput_DataLoss) {
  std::array<std::byte, 255> bytes{};
  EXPECT_TRUE(StatusIs(ParseAppDescription(bytes).status(), Status::Code::kDataLoss,
                       "app desc: truncated", 0));
}

TEST(ParseAppDescription, FullWidthText_KeptWithoutNul) {
  std::array<std::byte, 256> bytes{};
  StoreLe32(bytes, 0, kAppDescMagic);
  std::memset(bytes.data() + 16, 'v', 32);  // version fills its field
  std::memset(bytes.data() + 48, 'p', 31);  // project_name leaves one NUL
  const Result<AppDescription> desc = ParseAppDescription(bytes);
  ASSERT_TRUE(desc.ok());
  EXPECT_EQ(desc->version.view(), std::string(32, 'v'));
  EXPECT_EQ(desc->project_name.view(), std::string(31, 'p'));
  EXPECT_TRUE(desc->magic_ok());
}

// ---- Robustness ----

// The reason InspectAppImage must give for a prefix of `full` that is `length` bytes long.
const char* TruncationReason(const AppImageInfo& full, uint32_t length, uint32_t* context) {
  if (length < kImageHeaderSize) {
    *context = 0;
    return "app image: truncated in image header";
  }
  for (const SegmentHeader& segment : full.segment_headers()) {
    if (length < segment.data_offset) {
      *context = segment.header_offset;
      return "app image: truncated in segment header";
    }
    if (length < segment.data_offset + segment.data_len) {
      *context = segment.data_offset;
      return "app image: truncated in segment data";
    }
  }
  if (length <= full.checksum_offset) {
    *context = full.checksum_offset;
    return "app image: truncated before checksum";
  }
  *context = full.sha256_offset;
  return "app image: truncated in appended sha256";
}

void ExpectTruncationsRefused(const std::vector<std::byte>& bytes, uint32_t step,
                              port::Crypto& crypto) {
  const Result<AppImageInfo> full = InspectAppImage(bytes, crypto);
  ASSERT_TRUE(full.ok());
  for (uint32_t length = 0; length < full->image_len; length += step) {
    uint32_t context = 0;
    const char* reason = TruncationReason(*full, length, &context);
    const Result<AppImageInfo> info = InspectAppImage(ConstByteSpan(bytes).first(length), crypto);
    ASSERT_TRUE(StatusIs(info.status(), Status::Code::kDataLoss, reason, context))
        << "length " << length;
  }
}

TEST_F(AppImageTest, InspectAppImage_EveryTruncationOfSmallVector_CleanDataLoss) {
  // esp32c6_app_mmu32k.bin is the smallest vector (43088 bytes): every length.
  ExpectTruncationsRefused(ReadBinary(VectorPath("app-image/images/esp32c6_app_mmu32k.bin")), 1,
                           crypto_);
}

TEST_F(AppImageTest, InspectAppImage_DenseTruncationsOfEveryValidVector_CleanDataLoss) {
  for (const VerdictCase& c : kVerdicts) {
    if (c.code != Status::Code::kOk) {
      continue;
    }
    SCOPED_TRACE(c.path);
    ExpectTruncationsRefused(ReadBinary(VectorPath(c.path)), 97, crypto_);
  }
}

TEST_F(AppImageTest, InspectAppImage_EverySingleByteCorruptionOfFirst512_NeverAccepted) {
  const std::vector<std::byte> original =
      ReadBinary(VectorPath("app-image/images/esp32c3_app.bin"));
  ImageRequirements requirements;
  requirements.require_hash = true;  // else clearing hash_appended leaves an acceptable image
  for (uint32_t offset = 0; offset < 512; ++offset) {
    for (uint8_t flip : {0x01, 0x80, 0xFF}) {
      std::vector<std::byte> bytes = original;
      bytes[offset] ^= std::byte{flip};
      const Result<AppImageInfo> info = InspectAppImage(bytes, crypto_);
      const Status verdict = info.ok() ? VerifyAppImage(*info, requirements) : info.status();
      EXPECT_FALSE(verdict.ok()) << "offset " << offset << " flip " << int{flip};
      EXPECT_TRUE(verdict.code() == Status::Code::kInvalidArgument ||
                  verdict.code() == Status::Code::kDataLoss)
          << "offset " << offset << ": " << Describe(verdict);
    }
  }
}

TEST_F(AppImageTest, InspectAppImage_HashAppendedCleared_BootloaderStillAccepts) {
  // The header is not checksummed: without the hash nothing covers it, so the bootloader
  // (and VerifyAppImage without require_hash) accepts the image with 32 trailing bytes.
  std::vector<std::byte> bytes = ReadBinary(VectorPath("app-image/images/esp32c3_app.bin"));
  bytes[23] = std::byte{0};
  const Result<AppImageInfo> info = InspectAppImage(bytes, crypto_);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->trailing_len(), 32u);
  EXPECT_TRUE(VerifyAppImage(*info, {}).ok());
}

}  // namespace
}  // namespace aloft::core
