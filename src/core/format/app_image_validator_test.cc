#include "core/format/app_image_validator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/format/app_image.h"
#include "ports/host/openssl_crypto.h"
#include "support/allocation_counter.h"
#include "support/vectors.h"

namespace aloft::core {
namespace {

using ::aloft::testing::AllocationGuard;
using ::aloft::testing::ReadBinary;
using ::aloft::testing::VectorFiles;
using ::aloft::testing::VectorPath;

std::string Describe(const Status& status) {
  std::string text = std::string(CodeName(status.code())) + ": " + status.reason();
  if (status.has_context()) {
    text += " (context " + std::to_string(status.context()) + ")";
  }
  return text;
}

::testing::AssertionResult SameStatus(const Status& actual, const Status& expected) {
  if (actual.code() == expected.code() && std::strcmp(actual.reason(), expected.reason()) == 0 &&
      actual.has_context() == expected.has_context() && actual.context() == expected.context()) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got " << Describe(actual) << ", want " << Describe(expected);
}

::testing::AssertionResult StatusIs(const Status& actual, Status::Code code, const char* reason,
                                    uint32_t context) {
  return SameStatus(actual, Status(code, reason, context));
}

// How a test cuts a stream into Feed calls.
enum class Chunking : uint8_t { kWhole, kByteByByte, kRandom };

const char* ChunkingName(Chunking chunking) {
  switch (chunking) {
    case Chunking::kWhole:
      return "whole";
    case Chunking::kByteByByte:
      return "byte by byte";
    case Chunking::kRandom:
      return "random chunks";
  }
  return "?";
}

// Feeds `bytes` and returns the first failure (or OK). No heap inside: AllocationGuard holds
// the whole loop to it.
Status FeedAll(AppImageValidator& validator, ConstByteSpan bytes, Chunking chunking,
               uint32_t seed) {
  std::mt19937 random(seed);
  // Mostly small and odd sizes (header/descriptor boundaries), sometimes large ones.
  std::uniform_int_distribution<uint32_t> kind(0, 9);
  std::uniform_int_distribution<uint32_t> small(1, 37);
  std::uniform_int_distribution<uint32_t> large(1, 70000);
  AllocationGuard no_heap;
  size_t offset = 0;
  while (offset < bytes.size()) {
    size_t size = bytes.size() - offset;
    if (chunking == Chunking::kByteByByte) {
      size = 1;
    } else if (chunking == Chunking::kRandom) {
      size = std::min<size_t>(size, kind(random) < 7 ? small(random) : large(random));
    }
    if (Status status = validator.Feed(bytes.subspan(offset, size)); !status.ok()) {
      return status;
    }
    offset += size;
  }
  return OkStatus();
}

Status InspectAndVerify(ConstByteSpan bytes, port::Crypto& crypto,
                        const ImageRequirements& requirements) {
  Result<AppImageInfo> info = InspectAppImage(bytes, crypto);
  if (!info.ok()) {
    return info.status();
  }
  return VerifyAppImage(*info, requirements);
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

constexpr uint32_t kBaseSeed = 20250314;

class AppImageValidatorTest : public ::testing::Test {
 protected:
  host::OpensslCrypto crypto_;
};

// Every vector, three ways of chunking: the validator's verdict equals InspectAppImage +
// VerifyAppImage's (exact reason and offset), and for valid images the summary equals the info.
TEST_F(AppImageValidatorTest, EveryVector_AnyChunking_AgreesWithInspect) {
  const auto vectors = AllImageVectors();
  ASSERT_EQ(vectors.size(), 29u);
  uint32_t seed = kBaseSeed;
  for (const auto& path : vectors) {
    const std::vector<std::byte> bytes = ReadBinary(path);
    const Result<AppImageInfo> info = InspectAppImage(bytes, crypto_);
    // Without a hash the validator's default (require_hash) would refuse esp32_app_nodigest;
    // ask for what VerifyAppImage asks, so both judge by the same rules.
    AppImageExpectations expectations;
    expectations.require_hash = false;
    ImageRequirements requirements;
    requirements.slot_size = expectations.slot_size;
    const Status expected = InspectAndVerify(bytes, crypto_, requirements);
    for (Chunking chunking : {Chunking::kWhole, Chunking::kByteByByte, Chunking::kRandom}) {
      ++seed;
      SCOPED_TRACE(path.filename().string() + ", " + ChunkingName(chunking) + ", seed " +
                   std::to_string(seed));
      AppImageValidator validator(crypto_, expectations);
      Status status = FeedAll(validator, bytes, chunking, seed);
      Result<AppImageSummary> summary = validator.Finish();
      if (status.ok()) {
        status = summary.status();
      }
      ASSERT_TRUE(SameStatus(status, expected));
      if (!expected.ok()) {
        continue;
      }
      EXPECT_EQ(summary->image_len, info->image_len);
      EXPECT_EQ(summary->total_len, bytes.size());
      EXPECT_EQ(summary->checksum, info->checksum_stored);
      EXPECT_EQ(summary->hash_appended, info->hash_appended);
      EXPECT_EQ(summary->sha256, info->sha256_computed);
      EXPECT_EQ(summary->header, info->header);
      EXPECT_EQ(summary->app_description, *info->app_description);
      EXPECT_EQ(validator.total_len(), bytes.size());
      EXPECT_EQ(validator.image_len(), info->image_len);
    }
  }
}

struct NegativeCase {
  const char* path;
  Status::Code code;
  const char* reason;
  uint32_t context;
  uint32_t decided_at;  // bytes fed (one at a time) when the validator says no
};

TEST_F(AppImageValidatorTest, NegativeVectors_SpecificErrorAsEarlyAsPossible) {
  const NegativeCase kCases[] = {
      {"app-image/images/esp32_app.bad_magic.bin", Status::Code::kInvalidArgument,
       "app image: invalid magic byte", 0, 1},
      {"app-image/images/esp32_app.segment_count_17.bin", Status::Code::kInvalidArgument,
       "app image: segment_count exceeds 16", 1, 24},
      {"app-image/images/esp32_app.flip_segment_byte.bin", Status::Code::kDataLoss,
       "app image: checksum mismatch", 0x1202f, 0x12030},
      {"app-image/images/esp32_app.flip_stored_sha256.bin", Status::Code::kDataLoss,
       "app image: sha256 mismatch", 0x12030, 0x12050},
      {"app-image/images/esp32c3_app.header_flash_size_changed.bin", Status::Code::kDataLoss,
       "app image: sha256 mismatch", 0x13030, 0x13050},
      {"app-image/signed/neg_rsa0_image_byte_flipped.bin", Status::Code::kDataLoss,
       "app image: checksum mismatch", 0x1ffdf, 0x1ffe0},
      {"app-image/signed/neg_ecdsa256_image_byte_flipped.bin", Status::Code::kDataLoss,
       "app image: checksum mismatch", 0xffdf, 0xffe0},
  };
  for (const NegativeCase& c : kCases) {
    SCOPED_TRACE(c.path);
    const auto bytes = ReadBinary(VectorPath(c.path));
    AppImageValidator validator(crypto_, {});
    const Status status = FeedAll(validator, bytes, Chunking::kByteByByte, 0);
    EXPECT_TRUE(StatusIs(status, c.code, c.reason, c.context));
    EXPECT_EQ(validator.total_len(), c.decided_at);
    // The failure sticks.
    EXPECT_TRUE(StatusIs(validator.Finish().status(), c.code, c.reason, c.context));
    EXPECT_TRUE(StatusIs(validator.Feed(bytes), c.code, c.reason, c.context));
  }
}

// Feeds one byte at a time and returns how many bytes were fed when the validator refused.
uint32_t BytesUntilRefused(AppImageValidator& validator, ConstByteSpan bytes, Status* failure) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (Status status = validator.Feed(bytes.subspan(i, 1)); !status.ok()) {
      *failure = status;
      return validator.total_len();
    }
  }
  *failure = OkStatus();
  return validator.total_len();
}

TEST_F(AppImageValidatorTest, WrongChip_RefusedWhenHeaderArrives) {
  const auto bytes = ReadBinary(VectorPath("app-image/images/esp32_app.bin"));
  AppImageExpectations expectations;
  expectations.chip_id = *ChipIdFromName("esp32c3");
  AppImageValidator validator(crypto_, expectations);
  Status failure;
  EXPECT_EQ(BytesUntilRefused(validator, bytes, &failure), 24u);
  EXPECT_TRUE(
      StatusIs(failure, Status::Code::kPermissionDenied, "app image: built for another chip", 12));
  EXPECT_FALSE(validator.header_ready());
}

TEST_F(AppImageValidatorTest, ChipRevisionOutsideWindow_RefusedWhenHeaderArrives) {
  const auto bytes = ReadBinary(VectorPath("app-image/images/esp32c3_app.bin"));  // v0.3..v1.99
  AppImageExpectations expectations;
  expectations.chip_id = 5;
  expectations.chip_revision = 2;
  AppImageValidator validator(crypto_, expectations);
  Status failure;
  EXPECT_EQ(BytesUntilRefused(validator, bytes, &failure), 24u);
  EXPECT_TRUE(StatusIs(failure, Status::Code::kPermissionDenied,
                       "app image: chip revision below the image's minimum", 15));
}

TEST_F(AppImageValidatorTest, NoDigest_RefusedWhenHeaderArrivesUnlessAllowed) {
  const auto bytes = ReadBinary(VectorPath("app-image/images/esp32_app_nodigest.bin"));
  AppImageValidator strict(crypto_, {});
  Status failure;
  EXPECT_EQ(BytesUntilRefused(strict, bytes, &failure), 24u);
  EXPECT_TRUE(
      StatusIs(failure, Status::Code::kInvalidArgument, "app image: no appended sha256", 23));

  AppImageExpectations lenient;
  lenient.require_hash = false;
  AppImageValidator validator(crypto_, lenient);
  ASSERT_TRUE(validator.Feed(bytes).ok());
  const Result<AppImageSummary> summary = validator.Finish();
  ASSERT_TRUE(summary.ok()) << Describe(summary.status());
  EXPECT_FALSE(summary->hash_appended);
  EXPECT_EQ(summary->image_len, bytes.size());
}

TEST_F(AppImageValidatorTest, ProjectName_CheckedWhenDescriptorArrives) {
  const auto bytes = ReadBinary(VectorPath("app-image/images/esp32c3_app.bin"));
  AppImageExpectations expectations;
  expectations.project_name = "aloft_vec_esp32";
  AppImageValidator validator(crypto_, expectations);
  Status failure;
  EXPECT_EQ(BytesUntilRefused(validator, bytes, &failure), 288u);
  EXPECT_TRUE(
      StatusIs(failure, Status::Code::kPermissionDenied, "app image: project_name differs", 0x50));

  expectations.project_name = "aloft_vec_c3";
  AppImageValidator matching(crypto_, expectations);
  EXPECT_TRUE(matching.Feed(bytes).ok());
  EXPECT_TRUE(matching.Finish().ok());
}

TEST_F(AppImageValidatorTest, HeaderAndDescriptor_ReadyAtTheirLastByte) {
  const auto bytes = ReadBinary(VectorPath("app-image/images/esp32c3_app.bin"));
  AppImageValidator validator(crypto_, {});
  ASSERT_TRUE(validator.Feed(ConstByteSpan(bytes).first(23)).ok());
  EXPECT_FALSE(validator.header_ready());
  ASSERT_TRUE(validator.Feed(ConstByteSpan(bytes).subspan(23, 1)).ok());
  ASSERT_TRUE(validator.header_ready());
  EXPECT_EQ(validator.header().chip_id, 5);
  EXPECT_EQ(validator.header().segment_count, 6);
  ASSERT_TRUE(validator.Feed(ConstByteSpan(bytes).subspan(24, 263)).ok());
  EXPECT_FALSE(validator.app_description_ready());
  ASSERT_TRUE(validator.Feed(ConstByteSpan(bytes).subspan(287, 1)).ok());
  ASSERT_TRUE(validator.app_description_ready());
  EXPECT_EQ(validator.app_description().version.view(), "2.3.4-rc1");
  EXPECT_EQ(validator.app_description().secure_version, 2u);
  EXPECT_EQ(validator.image_len(), std::nullopt);  // the last segment header is still to come
}

TEST_F(AppImageValidatorTest, AppDescMagicWrong_RefusedAt288) {
  auto bytes = ReadBinary(VectorPath("app-image/images/esp32_app.bin"));
  bytes[0x20] ^= std::byte{0x01};
  AppImageValidator validator(crypto_, {});
  Status failure;
  EXPECT_EQ(BytesUntilRefused(validator, bytes, &failure), 288u);
  EXPECT_TRUE(StatusIs(failure, Status::Code::kInvalidArgument,
                       "app image: esp_app_desc_t magic mismatch", 0x20));
}

TEST_F(AppImageValidatorTest, TruncatedEvery97thOffset_DataLossAtFinishLikeInspect) {
  for (const char* path :
       {"app-image/images/esp32c3_app.bin", "app-image/images/esp32_app_nodigest.bin",
        "real-firmware/gimhan_s3_tml.bin"}) {
    SCOPED_TRACE(path);
    const auto bytes = ReadBinary(VectorPath(path));
    const Result<AppImageInfo> full = InspectAppImage(bytes, crypto_);
    ASSERT_TRUE(full.ok());
    AppImageExpectations expectations;
    expectations.require_hash = false;
    AppImageValidator validator(crypto_, expectations);
    for (uint32_t length = 0; length < full->image_len; length += 97) {
      const ConstByteSpan prefix = ConstByteSpan(bytes).first(length);
      validator.Reset();
      ASSERT_TRUE(FeedAll(validator, prefix, Chunking::kRandom, kBaseSeed + length).ok())
          << "length " << length;
      const Status at_finish = validator.Finish().status();
      EXPECT_EQ(at_finish.code(), Status::Code::kDataLoss) << "length " << length;
      EXPECT_TRUE(SameStatus(at_finish, InspectAppImage(prefix, crypto_).status()))
          << "length " << length;
    }
  }
}

TEST_F(AppImageValidatorTest, TooBigForSlot_RefusedAtTheSegmentHeaderThatOverflows) {
  // esp32_app.bin: segment 3 (zero padding, header at 0x2b10) ends at 0x10018, so with segment
  // 4's header, the checksum and the hash the image can no longer fit 64 KiB.
  const auto bytes = ReadBinary(VectorPath("app-image/images/esp32_app.bin"));
  AppImageExpectations expectations;
  expectations.slot_size = 0x10000;
  AppImageValidator validator(crypto_, expectations);
  Status failure;
  EXPECT_EQ(BytesUntilRefused(validator, bytes, &failure), 0x2b18u);
  EXPECT_TRUE(StatusIs(failure, Status::Code::kOutOfRange, "app image: does not fit the slot",
                       0x10018 + 8 + 1 + 32));
}

TEST_F(AppImageValidatorTest, SlotSize_ExactFitAccepted_SignedCountsSector) {
  const auto bytes = ReadBinary(VectorPath("app-image/signed/esp32_app.signed_rsa0_4kpad.bin"));
  struct Case {
    uint32_t slot;
    bool signed_image;
    Status expected;
  };
  const Case kCases[] = {
      {81920, true, OkStatus()},
      {81919, true, OutOfRange("app image: does not fit the slot", 81920)},
      // Unsigned view: the image (73808) fits, but the sector bytes after it do not.
      {77824, false, OutOfRange("app image: stream exceeds the slot", 77824)},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.slot);
    AppImageExpectations expectations;
    expectations.slot_size = c.slot;
    expectations.signed_image = c.signed_image;
    AppImageValidator validator(crypto_, expectations);
    Status status = FeedAll(validator, bytes, Chunking::kRandom, kBaseSeed);
    if (status.ok()) {
      status = validator.Finish().status();
    }
    EXPECT_TRUE(SameStatus(status, c.expected));
  }
}

TEST_F(AppImageValidatorTest, SignedImage_IncompleteSector_DataLossAtFinish) {
  const auto bytes =
      ReadBinary(VectorPath("app-image/signed/neg_rsa0_sig_sector_truncated_by_100.bin"));
  AppImageExpectations expectations;
  expectations.signed_image = true;
  AppImageValidator validator(crypto_, expectations);
  ASSERT_TRUE(validator.Feed(bytes).ok());
  EXPECT_TRUE(StatusIs(validator.Finish().status(), Status::Code::kDataLoss,
                       "app image: signature sector incomplete", 0x20000));
  // Without the expectation the image part is complete and the tail is just counted.
  AppImageValidator lenient(crypto_, {});
  ASSERT_TRUE(lenient.Feed(bytes).ok());
  const Result<AppImageSummary> summary = lenient.Finish();
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->image_len, 131072u);
  EXPECT_EQ(summary->total_len, 135068u);
}

TEST_F(AppImageValidatorTest, DeclaredSize_Checks) {
  const auto bytes = ReadBinary(VectorPath("app-image/images/esp32_app.bin"));  // 73808
  struct Case {
    const char* name;
    uint32_t slot;
    uint32_t declared;
    Status expected;
  };
  const Case kCases[] = {
      {"exact", kMaxPartitionSize, 73808, OkStatus()},
      {"declared beyond the slot", 0x10000, 73808,
       OutOfRange("app image: declared size exceeds the slot", 0x10000)},
      {"declared shorter than the image", kMaxPartitionSize, 0x10000,
       DataLoss("app image: declared size shorter than the image", 0x10018 + 8 + 1 + 32)},
      {"declared longer than the stream", kMaxPartitionSize, 73808 + 100,
       DataLoss("app image: stream shorter than the declared size", 73808)},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    AppImageExpectations expectations;
    expectations.slot_size = c.slot;
    expectations.declared_size = c.declared;
    AppImageValidator validator(crypto_, expectations);
    Status status = FeedAll(validator, bytes, Chunking::kRandom, kBaseSeed);
    if (status.ok()) {
      status = validator.Finish().status();
    }
    EXPECT_TRUE(SameStatus(status, c.expected));
  }
}

TEST_F(AppImageValidatorTest, StreamLongerThanDeclared_Refused) {
  const auto bytes = ReadBinary(VectorPath("app-image/signed/esp32_app.signed_rsa0_4kpad.bin"));
  AppImageExpectations expectations;
  expectations.declared_size = 73808;  // the image, not the padding and sector after it
  AppImageValidator validator(crypto_, expectations);
  EXPECT_TRUE(StatusIs(validator.Feed(bytes), Status::Code::kOutOfRange,
                       "app image: stream exceeds the declared size", 73808));
}

TEST_F(AppImageValidatorTest, Reset_ResumeByRefeedingFromStart_SameSummary) {
  const auto bytes = ReadBinary(VectorPath("app-image/images/esp32s3_app_securepad.bin"));
  AppImageValidator reference(crypto_, {});
  ASSERT_TRUE(reference.Feed(bytes).ok());
  const Result<AppImageSummary> expected = reference.Finish();
  ASSERT_TRUE(expected.ok());

  AppImageValidator validator(crypto_, {});
  // The connection drops after 50000 bytes; the installer reads them back from flash.
  ASSERT_TRUE(validator.Feed(ConstByteSpan(bytes).first(50000)).ok());
  validator.Reset();
  EXPECT_EQ(validator.total_len(), 0u);
  EXPECT_FALSE(validator.header_ready());
  ASSERT_TRUE(FeedAll(validator, ConstByteSpan(bytes).first(50000), Chunking::kRandom, 7).ok());
  ASSERT_TRUE(FeedAll(validator, ConstByteSpan(bytes).subspan(50000), Chunking::kRandom, 8).ok());
  const Result<AppImageSummary> summary = validator.Finish();
  ASSERT_TRUE(summary.ok()) << Describe(summary.status());
  EXPECT_EQ(summary->sha256, expected->sha256);
  EXPECT_EQ(summary->image_len, expected->image_len);
  EXPECT_EQ(summary->total_len, expected->total_len);
}

TEST_F(AppImageValidatorTest, Reset_ClearsFailure) {
  auto bad = ReadBinary(VectorPath("app-image/images/esp32_app.bad_magic.bin"));
  const auto good = ReadBinary(VectorPath("app-image/images/esp32_app.bin"));
  AppImageValidator validator(crypto_, {});
  EXPECT_FALSE(validator.Feed(bad).ok());
  EXPECT_FALSE(validator.status().ok());
  validator.Reset();
  EXPECT_TRUE(validator.status().ok());
  ASSERT_TRUE(validator.Feed(good).ok());
  EXPECT_TRUE(validator.Finish().ok());
}

TEST_F(AppImageValidatorTest, FeedAfterFinish_FailedPrecondition) {
  const auto bytes = ReadBinary(VectorPath("app-image/images/esp32_app.bin"));
  AppImageValidator validator(crypto_, {});
  ASSERT_TRUE(validator.Feed(bytes).ok());
  ASSERT_TRUE(validator.Finish().ok());
  EXPECT_TRUE(validator.Finish().ok());  // the same answer again
  EXPECT_EQ(validator.Feed(bytes).code(), Status::Code::kFailedPrecondition);
}

TEST_F(AppImageValidatorTest, EmptyStream_TruncatedInHeader) {
  AppImageValidator validator(crypto_, {});
  EXPECT_TRUE(validator.Feed({}).ok());
  EXPECT_TRUE(StatusIs(validator.Finish().status(), Status::Code::kDataLoss,
                       "app image: truncated in image header", 0));
}

}  // namespace
}  // namespace aloft::core
