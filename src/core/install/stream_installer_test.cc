#include "core/install/stream_installer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "core/boot/ota_ops.h"
#include "core/device/boot_device.h"
#include "core/install/trial_outcome.h"
#include "ports/host/faulty_flash.h"
#include "ports/host/openssl_crypto.h"
#include "support/allocation_counter.h"
#include "support/device_fixture.h"
#include "support/status_testing.h"
#include "support/vectors.h"

namespace aloft::core {
namespace {

using ::aloft::testing::DescribeStatus;
using ::aloft::testing::EmulatedDevice;
using ::aloft::testing::kTutorialCsv;
using ::aloft::testing::kTutorialOta0;
using ::aloft::testing::kTutorialSlotSize;
using ::aloft::testing::MakeEmulatedDevice;
using ::aloft::testing::MakeImage;
using ::aloft::testing::ReadBinary;
using ::aloft::testing::ReadRegion;
using ::aloft::testing::Recipe;
using ::aloft::testing::VectorPath;
using Bytes = std::vector<std::byte>;

class StreamInstallerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.chip_id = kChipIdEsp32;
    config_.rollback_enabled = true;
    Result<EmulatedDevice> device = MakeEmulatedDevice(crypto_, kTutorialCsv);
    ASSERT_TRUE(device.ok());
    device_ = std::move(*device);
    old_image_ = MakeImage(crypto_, Recipe("1.0.0", 20000));
    ASSERT_TRUE(::aloft::testing::WriteImage(device_, 0, old_image_).ok());
    // The first boot writes sector 0 = {seq 1, VALID}: the device runs ota_0.
    ExpectBoots(0, "1.0.0");
    new_image_ = MakeImage(crypto_, Recipe("2.0.0", 30000, kChipIdEsp32, 2));
    ASSERT_FALSE(new_image_.empty());
  }

  Status Install(ConstByteSpan image, size_t chunk = 1000, port::Flash* flash = nullptr) {
    StreamInstallerBuffer<> installer(flash != nullptr ? *flash : *device_.flash, crypto_,
                                      device_.layout, config_);
    ALOFT_TRY(installer.Begin(0));
    for (size_t done = 0; done < image.size(); done += chunk) {
      ALOFT_TRY(installer.Write(image.subspan(done, std::min(chunk, image.size() - done))));
    }
    Result<InstallResult> result = installer.Finish();
    return result.status();
  }

  Result<BootReport> Boot(std::optional<int> last_booted = std::nullopt) {
    BootOptions options;
    options.last_booted = last_booted;
    return BootDevice(*device_.flash, crypto_, device_.layout, config_, work_, options);
  }
  void ExpectBoots(int index, std::string_view version) {
    Result<BootReport> report = Boot();
    ASSERT_TRUE(report.ok()) << DescribeStatus(report.status());
    EXPECT_EQ(report->index, index);
    EXPECT_EQ(report->app_description.version.view(), version);
  }
  Bytes Otadata() { return ReadRegion(*device_.flash, 0xD000, kOtadataSize); }
  Bytes Ota0() { return ReadRegion(*device_.flash, kTutorialOta0, kTutorialSlotSize); }

  host::OpensslCrypto crypto_;
  DeviceConfig config_;
  EmulatedDevice device_;
  Bytes old_image_;
  Bytes new_image_;
  std::array<std::byte, 4096> work_{};
};

TEST_F(StreamInstallerTest, Install_SelectsTheNewSlotAsNewAndLeavesTheOldImageAlone) {
  const Bytes ota0_before = Ota0();
  StreamInstallerBuffer<8192> installer(*device_.flash, crypto_, device_.layout, config_);
  ASSERT_TRUE(installer.Begin(0, static_cast<uint32_t>(new_image_.size())).ok());
  EXPECT_EQ(installer.target(), 1);
  EXPECT_EQ(installer.chip_id(), kChipIdEsp32);
  for (size_t done = 0; done < new_image_.size(); done += 777) {
    ASSERT_TRUE(installer
                    .Write(ConstByteSpan(new_image_)
                               .subspan(done, std::min<size_t>(777, new_image_.size() - done)))
                    .ok());
  }
  Result<InstallResult> result = installer.Finish();
  ASSERT_TRUE(result.ok()) << DescribeStatus(result.status());
  EXPECT_EQ(result->slot, 1);
  EXPECT_EQ(result->state, OtaState::kNew);
  EXPECT_EQ(result->image_len, new_image_.size());
  EXPECT_EQ(result->app_description.version.view(), "2.0.0");
  EXPECT_FALSE(installer.writing());
  EXPECT_TRUE(Ota0() == ota0_before);
  // Sector 1 = {seq 2, NEW}: s0_seq1_valid.set_boot_ota_1.rollback.bin exactly.
  EXPECT_TRUE(Otadata() ==
              ReadBinary(VectorPath("otadata/s0_seq1_valid.set_boot_ota_1.rollback.bin")));
}

TEST_F(StreamInstallerTest, InstallBootBoot_TrialRunThenRollback) {
  ASSERT_TRUE(Install(new_image_).ok());
  Result<BootReport> first = Boot(0);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->index, 1);
  EXPECT_EQ(first->state, OtaState::kPendingVerify);
  EXPECT_EQ(first->app_description.version.view(), "2.0.0");
  EXPECT_FALSE(first->rolled_back);
  Result<BootReport> second = Boot(1);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->index, 0);
  EXPECT_TRUE(second->rolled_back);
  EXPECT_EQ(second->app_description.version.view(), "1.0.0");
}

TEST_F(StreamInstallerTest, InstallBootConfirm_NewFirmwareStays) {
  ASSERT_TRUE(Install(new_image_).ok());
  ExpectBoots(1, "2.0.0");
  Result<uint32_t> efuse = ConfirmRunningApp(*device_.flash, device_.layout, config_, 1);
  ASSERT_TRUE(efuse.ok());
  EXPECT_EQ(*efuse, 0u);
  ExpectBoots(1, "2.0.0");
  ExpectBoots(1, "2.0.0");
  Result<BootReport> report = Boot(1);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->state, OtaState::kValid);
  EXPECT_FALSE(report->rolled_back);
}

TEST_F(StreamInstallerTest, InstallBootReject_NextBootRollsBack) {
  ASSERT_TRUE(Install(new_image_).ok());
  ExpectBoots(1, "2.0.0");
  ASSERT_TRUE(RejectRunningApp(*device_.flash, crypto_, device_.layout, config_, work_).ok());
  Result<BootReport> report = Boot(1);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->index, 0);
  EXPECT_TRUE(report->rolled_back);
}

TEST_F(StreamInstallerTest, RejectWithNothingToRollBackTo_IsRefusedAndWritesNothing) {
  // The running ota_0 is the only image: rejecting it would leave nothing to boot.
  const Bytes before = Otadata();
  EXPECT_STATUS(RejectRunningApp(*device_.flash, crypto_, device_.layout, config_, work_),
                kOtaRollbackFailed);
  EXPECT_TRUE(Otadata() == before);
}

TEST_F(StreamInstallerTest, WithoutRollback_OtadataSaysUndefinedAndTheNewImageStays) {
  config_.rollback_enabled = false;
  ASSERT_TRUE(Install(new_image_).ok());
  ExpectBoots(1, "2.0.0");
  ExpectBoots(1, "2.0.0");
}

TEST_F(StreamInstallerTest, SecondInstallWhilePendingVerify_IsRefused) {
  ASSERT_TRUE(Install(new_image_).ok());
  ExpectBoots(1, "2.0.0");  // PENDING_VERIFY now
  StreamInstallerBuffer<> installer(*device_.flash, crypto_, device_.layout, config_);
  EXPECT_STATUS(installer.Begin(1), kOtaRollbackInvalidState);
  EXPECT_STATUS(installer.Write(new_image_), FailedPrecondition("installer: not begun"));
}

TEST_F(StreamInstallerTest, BeginRefusals_AreSpecific) {
  StreamInstallerBuffer<> installer(*device_.flash, crypto_, device_.layout, config_);
  EXPECT_STATUS(installer.Begin(5), NotFound("installer: running partition not in the table"));
  EXPECT_STATUS(installer.Begin(0, kTutorialSlotSize + 1),
                OutOfRange("installer: declared size exceeds the slot", kTutorialSlotSize));
  // ota_1 holds no image, so the device cannot be running from it.
  EXPECT_STATUS(installer.Begin(1), FailedPrecondition("installer: running image unreadable"));
  std::array<std::byte, 1024> small{};
  StreamInstaller tiny(*device_.flash, crypto_, device_.layout, config_, small);
  EXPECT_STATUS(tiny.Begin(0), InvalidArgument("installer: work buffer must be 4 to 8 KiB", 1024));
}

TEST_F(StreamInstallerTest, TargetBeyondTheAppSideCount_IsRefusedAtBegin) {
  Result<EmulatedDevice> gap = MakeEmulatedDevice(
      crypto_, "otadata, data, ota, , 0x2000\nota_0, app, ota_0, , 1M\nota_2, app, ota_2, , 1M\n");
  ASSERT_TRUE(gap.ok());
  ASSERT_TRUE(::aloft::testing::WriteImage(*gap, 0, old_image_).ok());
  StreamInstallerBuffer<> installer(*gap->flash, crypto_, gap->layout, config_);
  EXPECT_STATUS(installer.Begin(0),
                FailedPrecondition("installer: target slot beyond the app-side ota count", 2));
}

// Every corrupt image is refused with its own code before otadata changes, and the old firmware
// keeps booting.
TEST_F(StreamInstallerTest, CorruptImages_RefusedBeforeTheBootSlotChanges) {
  struct Case {
    const char* name;
    Bytes image;
    Status::Code code;
  };
  Bytes bad_checksum = new_image_;
  bad_checksum[0x400] ^= std::byte{0x01};
  Bytes bad_hash = new_image_;
  bad_hash.back() ^= std::byte{0x80};
  Bytes truncated(new_image_.begin(), new_image_.end() - 100);
  AppImageRecipe huge = Recipe("huge", kTutorialSlotSize);
  const Case cases[] = {
      {"bad checksum", bad_checksum, Status::Code::kDataLoss},
      {"bad hash", bad_hash, Status::Code::kDataLoss},
      {"truncated", truncated, Status::Code::kDataLoss},
      {"wrong chip", MakeImage(crypto_, Recipe("c3", 4096, 0x0005)),
       Status::Code::kPermissionDenied},
      {"too big", MakeImage(crypto_, huge), Status::Code::kOutOfRange},
      {"not an image", Bytes(5000, std::byte{0x42}), Status::Code::kInvalidArgument},
  };
  const Bytes otadata_before = Otadata();
  const Bytes ota0_before = Ota0();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_FALSE(c.image.empty());
    const Status status = Install(c.image, 4096);
    EXPECT_EQ(status.code(), c.code) << DescribeStatus(status);
    EXPECT_TRUE(Otadata() == otadata_before);
    EXPECT_TRUE(Ota0() == ota0_before);
    ExpectBoots(0, "1.0.0");
  }
}

TEST_F(StreamInstallerTest, WrongChip_RefusedBeforeAnyFlashWrite) {
  const Bytes c3 = MakeImage(crypto_, Recipe("c3", 4096, 0x0005));
  StreamInstallerBuffer<> installer(*device_.flash, crypto_, device_.layout, config_);
  ASSERT_TRUE(installer.Begin(0).ok());
  const uint64_t ops = device_.flash->counters().mutating_ops();
  EXPECT_STATUS(installer.Write(c3),
                PermissionDenied("app image: built for another chip", kHeaderChipIdOffset));
  EXPECT_EQ(device_.flash->counters().mutating_ops(), ops);
  EXPECT_EQ(installer.written(), 0u);
  // A failed installer stays failed.
  EXPECT_EQ(installer.Write(new_image_).code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(installer.Finish().status().code(), Status::Code::kPermissionDenied);
}

TEST_F(StreamInstallerTest, TooBig_RefusedWithinTheFirstSector) {
  AppImageRecipe recipe = Recipe("huge", kTutorialSlotSize);
  recipe.segment_count = 1;  // segment 0's header announces the whole size
  const Bytes huge = MakeImage(crypto_, recipe);
  StreamInstallerBuffer<> installer(*device_.flash, crypto_, device_.layout, config_);
  ASSERT_TRUE(installer.Begin(0).ok());
  const uint64_t ops = device_.flash->counters().mutating_ops();
  const Status status = installer.Write(ConstByteSpan(huge).first(4096));
  EXPECT_EQ(status.code(), Status::Code::kOutOfRange) << DescribeStatus(status);
  EXPECT_EQ(device_.flash->counters().mutating_ops(), ops);
}

TEST_F(StreamInstallerTest, WritesEraseSectorBySectorJustAhead) {
  StreamInstallerBuffer<> installer(*device_.flash, crypto_, device_.layout, config_);
  ASSERT_TRUE(installer.Begin(0).ok());
  device_.flash->ResetCounters();
  ASSERT_TRUE(installer.Write(ConstByteSpan(new_image_).first(100)).ok());
  EXPECT_EQ(device_.flash->counters().sectors_erased, 1u);
  ASSERT_TRUE(installer.Write(ConstByteSpan(new_image_).subspan(100, 4000)).ok());
  EXPECT_EQ(device_.flash->counters().sectors_erased, 2u);  // 100 + 4000 crosses into sector 1
  EXPECT_EQ(installer.written(), 4100u);
}

TEST_F(StreamInstallerTest, StreamingWrite_AllocatesNothing) {
  StreamInstallerBuffer<> installer(*device_.flash, crypto_, device_.layout, config_);
  ASSERT_TRUE(installer.Begin(0).ok());
  {
    ::aloft::testing::AllocationGuard guard;
    for (size_t done = 0; done < new_image_.size(); done += 1024) {
      ASSERT_TRUE(installer
                      .Write(ConstByteSpan(new_image_)
                                 .subspan(done, std::min<size_t>(1024, new_image_.size() - done)))
                      .ok());
    }
    ASSERT_TRUE(installer.Finish().ok());
  }
}

// Resume after a dropped connection at many offsets (sector boundaries, mid-sector, the last
// byte): a fresh installer re-checks what is in flash and the install completes.
TEST_F(StreamInstallerTest, ResumeAtManyOffsets_GivesABootableResult) {
  const uint32_t size = static_cast<uint32_t>(new_image_.size());
  for (uint32_t offset : {0u, 1u, 24u, 300u, 4095u, 4096u, 4097u, 10000u, 12288u, size - 1, size}) {
    SCOPED_TRACE(offset);
    SetUp();
    {
      StreamInstallerBuffer<> first(*device_.flash, crypto_, device_.layout, config_);
      ASSERT_TRUE(first.Begin(0).ok());
      ASSERT_TRUE(first.Write(ConstByteSpan(new_image_).first(offset)).ok());
    }
    StreamInstallerBuffer<> second(*device_.flash, crypto_, device_.layout, config_);
    Result<uint32_t> from = second.Resume(0, offset);
    ASSERT_TRUE(from.ok()) << DescribeStatus(from.status());
    EXPECT_EQ(*from, offset / 4096 * 4096);
    ASSERT_TRUE(second.Write(ConstByteSpan(new_image_).subspan(*from)).ok());
    Result<InstallResult> result = second.Finish();
    ASSERT_TRUE(result.ok()) << DescribeStatus(result.status());
    ExpectBoots(1, "2.0.0");
  }
}

TEST_F(StreamInstallerTest, ResumeOnTheSameObject_Works) {
  StreamInstallerBuffer<> installer(*device_.flash, crypto_, device_.layout, config_);
  ASSERT_TRUE(installer.Begin(0).ok());
  ASSERT_TRUE(installer.Write(ConstByteSpan(new_image_).first(9000)).ok());
  Result<uint32_t> from = installer.Resume(0, installer.written());
  ASSERT_TRUE(from.ok());
  EXPECT_EQ(*from, 8192u);
  ASSERT_TRUE(installer.Write(ConstByteSpan(new_image_).subspan(*from)).ok());
  ASSERT_TRUE(installer.Finish().ok());
}

// A power cut tears a write; after the reboot the installer resumes from the bytes whose writes
// completed. The torn tail is in the sector Resume rewinds to, which is erased again.
TEST_F(StreamInstallerTest, ResumeAfterATornWrite_GivesABootableResult) {
  for (uint64_t op = 3; op <= 30; op += 3) {
    SCOPED_TRACE(op);
    SetUp();
    uint32_t written = 0;
    {
      host::FaultyFlash faulty(*device_.flash, host::FaultPlan::CutDuring(op, op * 31));
      StreamInstallerBuffer<> installer(faulty, crypto_, device_.layout, config_);
      ASSERT_TRUE(installer.Begin(0).ok());
      for (size_t done = 0; done < new_image_.size(); done += 1500) {
        if (!installer
                 .Write(ConstByteSpan(new_image_)
                            .subspan(done, std::min<size_t>(1500, new_image_.size() - done)))
                 .ok()) {
          break;
        }
      }
      ASSERT_TRUE(faulty.power_lost());
      written = installer.written();
    }
    ExpectBoots(0, "1.0.0");
    StreamInstallerBuffer<> resumed(*device_.flash, crypto_, device_.layout, config_);
    Result<uint32_t> from = resumed.Resume(0, written);
    ASSERT_TRUE(from.ok()) << DescribeStatus(from.status());
    ASSERT_TRUE(resumed.Write(ConstByteSpan(new_image_).subspan(*from)).ok());
    ASSERT_TRUE(resumed.Finish().ok());
    ExpectBoots(1, "2.0.0");
  }
}

TEST_F(StreamInstallerTest, ResumeClaimingBytesThatWereNeverWritten_FailsCleanly) {
  StreamInstallerBuffer<> installer(*device_.flash, crypto_, device_.layout, config_);
  ASSERT_TRUE(installer.Begin(0).ok());
  ASSERT_TRUE(installer.Write(ConstByteSpan(new_image_).first(4096)).ok());
  StreamInstallerBuffer<> liar(*device_.flash, crypto_, device_.layout, config_);
  Result<uint32_t> from = liar.Resume(0, 16384);
  // Sector 1 onwards is erased: the validator meets 0xFF where segment 1's header belongs.
  EXPECT_STATUS(from.status(),
                InvalidArgument("app image: segment data_len not a multiple of 4", 10288));
  ExpectBoots(0, "1.0.0");
}

TEST_F(StreamInstallerTest, Abort_LeavesOtadataAndTheRunningSlotAlone) {
  const Bytes before = Otadata();
  StreamInstallerBuffer<> installer(*device_.flash, crypto_, device_.layout, config_);
  ASSERT_TRUE(installer.Begin(0).ok());
  ASSERT_TRUE(installer.Write(ConstByteSpan(new_image_).first(5000)).ok());
  installer.Abort();
  EXPECT_FALSE(installer.writing());
  EXPECT_STATUS(installer.Finish().status(), FailedPrecondition("installer: not begun"));
  EXPECT_TRUE(Otadata() == before);
  ExpectBoots(0, "1.0.0");
}

TEST_F(StreamInstallerTest, AntiRollback_LowerSecureVersionRefusedEarlyConfirmRaisesTheEfuse) {
  config_.anti_rollback_enabled = true;
  config_.efuse_secure_version = 0;
  AppImageRecipe v2 = Recipe("2.0.0", 30000);
  v2.secure_version = 2;
  ASSERT_TRUE(Install(MakeImage(crypto_, v2)).ok());
  ExpectBoots(1, "2.0.0");
  Result<uint32_t> efuse = ConfirmRunningApp(*device_.flash, device_.layout, config_, 1);
  ASSERT_TRUE(efuse.ok()) << DescribeStatus(efuse.status());
  EXPECT_EQ(*efuse, 2u);
  config_.efuse_secure_version = *efuse;
  AppImageRecipe v1 = Recipe("1.5.0", 30000);
  v1.secure_version = 1;
  StreamInstallerBuffer<> installer(*device_.flash, crypto_, device_.layout, config_);
  ASSERT_TRUE(installer.Begin(1).ok());
  EXPECT_STATUS(installer.Write(MakeImage(crypto_, v1)),
                PermissionDenied("installer: secure_version below the efuse value", 1));
}

// Secure boot: the running firmware and the update are signed with rsa3072_key0.
class SecureInstallerTest : public StreamInstallerTest {
 protected:
  void SetUp() override {
    StreamInstallerTest::SetUp();
    const Bytes digest = ReadBinary(VectorPath("app-image/keys/test_rsa3072_key0.digest.bin"));
    std::copy(digest.begin(), digest.end(), keys_[0].digest.begin());
    policy_.keys = std::span<const TrustedKey>(keys_).first(1);
    config_.trust = &policy_;
  }
  std::array<TrustedKey, 2> keys_{};
  TrustPolicy policy_;
};

TEST_F(SecureInstallerTest, SignedImage_Installs) {
  const Bytes image =
      ReadBinary(VectorPath("app-image/signed/esp32_app_securepad.signed_rsa0.bin"));
  const Status status = Install(image, 3000);
  ASSERT_TRUE(status.ok()) << DescribeStatus(status);
  Result<AppDescription> description =
      ParseAppDescription(ConstByteSpan(image).subspan(kAppDescOffset));
  ASSERT_TRUE(description.ok());
  ExpectBoots(1, std::string(description->version.view()));
}

TEST_F(SecureInstallerTest, BadSignaturesAndUnsignedImages_RefusedOldFirmwareBoots) {
  struct Case {
    const char* file;
    Status expected;
  };
  const Case cases[] = {
      {"signed/neg_rsa0_sig_byte_flipped_crc_fixed.bin",
       Unauthenticated("signature: signature does not verify")},
      {"signed/neg_rsa0_sig_byte_flipped_crc_stale.bin",
       Unauthenticated("signature: no valid signature block")},
      {"signed/neg_rsa0_modulus_byte_flipped_crc_fixed.bin",
       Unauthenticated("signature: no block signed by a trusted key")},
      {"signed/neg_rsa0_sig_sector_truncated_by_100.bin",
       DataLoss("app image: signature sector incomplete")},
      {"images/esp32_app_securepad.bin", DataLoss("app image: signature sector incomplete")},
  };
  const Bytes before = Otadata();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    const Status status = Install(ReadBinary(VectorPath(std::string("app-image/") + c.file)), 4096);
    EXPECT_EQ(status.code(), c.expected.code()) << DescribeStatus(status);
    EXPECT_STREQ(status.reason(), c.expected.reason());
    EXPECT_TRUE(Otadata() == before);
  }
}

}  // namespace
}  // namespace aloft::core
