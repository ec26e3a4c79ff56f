#include "core/device/boot_device.h"

#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "core/format/app_image_builder.h"
#include "ports/host/faulty_flash.h"
#include "ports/host/openssl_crypto.h"
#include "support/device_fixture.h"
#include "support/status_testing.h"
#include "support/vectors.h"

namespace aloft::core {
namespace {

using ::aloft::testing::EmulatedDevice;
using ::aloft::testing::kTutorialCsv;
using ::aloft::testing::MakeEmulatedDevice;
using ::aloft::testing::MakeImage;
using ::aloft::testing::ReadBinary;
using ::aloft::testing::ReadRegion;
using ::aloft::testing::Recipe;
using ::aloft::testing::VectorPath;

constexpr std::string_view kFactoryCsv =
    "nvs, data, nvs, , 0x4000\n"
    "otadata, data, ota, , 0x2000\n"
    "phy_init, data, phy, , 0x1000\n"
    "factory, app, factory, , 1M\n"
    "ota_0, app, ota_0, , 1M\n"
    "ota_1, app, ota_1, , 1M\n";
constexpr std::string_view kThreeSlotsCsv =
    "nvs, data, nvs, , 0x4000\n"
    "otadata, data, ota, , 0x2000\n"
    "ota_0, app, ota_0, , 512K\n"
    "ota_1, app, ota_1, , 512K\n"
    "ota_2, app, ota_2, , 512K\n";

std::string SixteenSlotsCsv() {
  std::string csv = "nvs, data, nvs, , 0x4000\notadata, data, ota, , 0x2000\n";
  for (int k = 0; k < 16; ++k) {
    csv += "ota_" + std::to_string(k) + ", app, ota_" + std::to_string(k) + ", , 192K\n";
  }
  return csv;
}

DeviceConfig Esp32(bool rollback = true) {
  DeviceConfig config;
  config.chip_id = kChipIdEsp32;
  config.rollback_enabled = rollback;
  return config;
}
class BootDeviceTest : public ::testing::Test {
 protected:
  // A device whose every app partition holds a valid esp32 image versioned with its slot name.
  EmulatedDevice Device(std::string_view csv) {
    Result<EmulatedDevice> device = MakeEmulatedDevice(crypto_, csv);
    EXPECT_TRUE(device.ok()) << ::aloft::testing::DescribeStatus(device.status());
    std::array<int, kMaxOtaSlots + 2> indexes{};
    const size_t count = device->layout.Indexes(indexes);
    for (size_t i = 0; i < count; ++i) {
      Put(*device, indexes[i], Recipe(AppPartitionName(indexes[i])));
    }
    return std::move(*device);
  }
  void Put(EmulatedDevice& device, int index, const AppImageRecipe& recipe) {
    const std::vector<std::byte> image = MakeImage(crypto_, recipe);
    ASSERT_FALSE(image.empty());
    ASSERT_TRUE(::aloft::testing::WriteImage(device, index, image).ok());
  }
  void PutOtadata(EmulatedDevice& device, const std::string& vector) {
    ASSERT_TRUE(
        ::aloft::testing::WriteOtadataPartition(device, ReadBinary(VectorPath("otadata/" + vector)))
            .ok());
  }
  std::vector<std::byte> Otadata(EmulatedDevice& device) {
    return ReadRegion(*device.flash, device.layout.otadata_offset, kOtadataSize);
  }
  Result<BootReport> Boot(EmulatedDevice& device, DeviceConfig config = Esp32(),
                          BootOptions options = {}) {
    return BootDevice(*device.flash, crypto_, device.layout, config, work_, options);
  }

  host::OpensslCrypto crypto_;
  std::array<std::byte, 4096> work_{};
};

// tests/vectors/otadata/README.md, "Boot decision": each vector in a flash built from the
// matching table, every image valid; the booted slot and the otadata bytes afterwards.
struct VectorRow {
  const char* file;
  const char* table;  // "2" tutorial, "f" +factory, "3" three slots, "16" sixteen slots
  bool rollback;
  int booted;
  const char* after;  // the expected otadata file, or nullptr: unchanged
  bool rolled_back;
};

constexpr VectorRow kVectorRows[] = {
    {"blank.bin", "2", true, 0, "blank.after_boot_no_factory.bin", false},
    {"blank.bin", "2", false, 0, "blank.after_boot_no_factory.bin", false},
    {"blank.bin", "f", true, kFactoryIndex, nullptr, false},
    {"blank.bin", "f", false, kFactoryIndex, nullptr, false},
    {"slot0_new_seq1.bin", "2", true, 0, "slot0_new_seq1.after_boot_rollback.bin", false},
    {"slot0_new_seq1.bin", "2", false, 0, nullptr, false},
    {"slot1_pending_seq2.bin", "2", true, 0, "slot1_pending_seq2.after_boot_rollback.bin", true},
    {"slot1_pending_seq2.bin", "2", false, 1, nullptr, false},
    {"bad_crc_sector1.bin", "2", true, 0, nullptr, false},
    {"bad_crc_sector1.bin", "2", false, 0, nullptr, false},
    {"slot1_aborted_seq2.bin", "2", true, 0, nullptr, false},
    {"slot1_aborted_seq2.bin", "2", false, 0, nullptr, false},
    {"both_invalid.bin", "2", true, 0, nullptr, false},
    {"both_invalid.bin", "2", false, 0, nullptr, false},
    {"both_invalid.bin", "f", true, kFactoryIndex, nullptr, false},
    {"both_invalid.bin", "f", false, kFactoryIndex, nullptr, false},
    {"tie_equal_seq.bin", "2", true, 0, nullptr, false},
    {"tie_equal_seq.bin", "2", false, 0, nullptr, false},
    {"seq_unsigned_compare.bin", "2", true, 1, nullptr, false},
    {"seq_unsigned_compare.bin", "2", false, 1, nullptr, false},
    {"seq_near_max.bin", "2", true, 1, nullptr, false},
    {"seq_near_max.bin", "2", false, 1, nullptr, false},
    {"seq_near_max.set_boot_ota_0.norollback.bin", "2", true, 1, nullptr, false},
    {"seq_near_max.set_boot_ota_0.norollback.bin", "2", false, 1, nullptr, false},
    {"seq_zero_crc_ff.bin", "2", true, 1, nullptr, false},
    {"seq_zero_crc_ff.bin", "2", false, 1, nullptr, false},
    {"seq_zero_crc_ff.bin", "3", true, 0, nullptr, false},
    {"seq_zero_crc_ff.bin", "3", false, 0, nullptr, false},
    // The app-side vectors, booted: the slot their active entry selects.
    {"s0_seq1_valid.bin", "2", true, 0, nullptr, false},
    {"s1_seq2_valid.bin", "2", true, 1, nullptr, false},
    {"s0_seq1_valid.set_boot_ota_1.norollback.bin", "2", false, 1, nullptr, false},
    {"s1_seq2_valid.set_boot_ota_0.norollback.bin", "2", false, 0, nullptr, false},
    {"blank.set_boot_ota_1.norollback.bin", "2", false, 1, nullptr, false},
    {"three_slots_seq5.bin", "3", false, 1, nullptr, false},
    {"three_slots_seq5.set_boot_ota_0.norollback.bin", "3", false, 0, nullptr, false},
    {"sixteen_slots_seq16.bin", "16", false, 15, nullptr, false},
    {"sixteen_slots_seq16.set_boot_ota_0.norollback.bin", "16", false, 0, nullptr, false},
    {"slot1_pending_seq2.after_mark_valid.bin", "2", true, 1, nullptr, false},
    {"slot1_pending_seq2.after_mark_invalid.bin", "2", true, 0, nullptr, false},
};

TEST_F(BootDeviceTest, EveryOtadataVector_BootsTheDocumentedSlotAndWritesTheDocumentedBytes) {
  const std::string sixteen = SixteenSlotsCsv();
  for (const VectorRow& row : kVectorRows) {
    SCOPED_TRACE(std::string(row.file) + " table " + row.table +
                 (row.rollback ? " rollback" : " no rollback"));
    const std::string_view table = std::string_view(row.table) == "f"    ? kFactoryCsv
                                   : std::string_view(row.table) == "3"  ? kThreeSlotsCsv
                                   : std::string_view(row.table) == "16" ? std::string_view(sixteen)
                                                                         : kTutorialCsv;
    EmulatedDevice device = Device(table);
    PutOtadata(device, row.file);
    const std::vector<std::byte> before = Otadata(device);
    Result<BootReport> report = Boot(device, Esp32(row.rollback));
    ASSERT_TRUE(report.ok()) << ::aloft::testing::DescribeStatus(report.status());
    EXPECT_EQ(AppPartitionName(report->index), std::string(AppPartitionName(row.booted)));
    EXPECT_EQ(report->app_description.version.view(), AppPartitionName(row.booted));
    EXPECT_EQ(report->rolled_back, row.rolled_back);
    const std::vector<std::byte> expected =
        row.after != nullptr ? ReadBinary(VectorPath(std::string("otadata/") + row.after)) : before;
    EXPECT_TRUE(Otadata(device) == expected) << "otadata bytes differ after the boot";
  }
}

TEST_F(BootDeviceTest, NewEntry_BootsAsPendingVerifyThenRollsBackOnTheNextReset) {
  EmulatedDevice device = Device(kTutorialCsv);
  PutOtadata(device, "s0_seq1_valid.set_boot_ota_1.rollback.bin");
  Result<BootReport> first = Boot(device);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->index, 1);
  EXPECT_EQ(first->state, OtaState::kPendingVerify);
  EXPECT_FALSE(first->rolled_back);
  Result<BootReport> second = Boot(device, Esp32(), {.last_booted = 1, .dry_run = false});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->index, 0);
  EXPECT_EQ(second->state, OtaState::kValid);
  EXPECT_TRUE(second->rolled_back);
  EXPECT_EQ(second->app_description.version.view(), "ota_0");
}

TEST_F(BootDeviceTest, RejectedRunningSlot_NextBootReportsTheRollback) {
  EmulatedDevice device = Device(kTutorialCsv);
  PutOtadata(device, "slot1_pending_seq2.after_mark_invalid.bin");
  Result<BootReport> report = Boot(device, Esp32(), {.last_booted = 1, .dry_run = false});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->index, 0);
  EXPECT_TRUE(report->rolled_back);
}

TEST_F(BootDeviceTest, SelectedImageCorrupt_FallsBackWithoutTouchingOtadata) {
  EmulatedDevice device = Device(kTutorialCsv);
  PutOtadata(device, "s1_seq2_valid.bin");
  // ota_1's first sector erased: no image header any more.
  ASSERT_TRUE(device.flash->Erase(::aloft::testing::kTutorialOta1, 0x1000).ok());
  const std::vector<std::byte> before = Otadata(device);
  Result<BootReport> report = Boot(device);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->selected, 1);
  EXPECT_EQ(report->index, 0);
  EXPECT_TRUE(report->rolled_back);
  ASSERT_EQ(report->decision.attempts.size(), 2u);
  EXPECT_EQ(report->decision.attempts[0].index, 1);
  EXPECT_STATUS(report->attempt_status[0], InvalidArgument("app image: invalid magic byte", 0));
  EXPECT_TRUE(Otadata(device) == before);
}

TEST_F(BootDeviceTest, ImageForAnotherChip_IsNotBooted) {
  EmulatedDevice device = Device(kTutorialCsv);
  Put(device, 1, Recipe("c3", 4096, 0x0005));
  PutOtadata(device, "s1_seq2_valid.bin");
  Result<BootReport> report = Boot(device);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->index, 0);
  EXPECT_EQ(report->attempt_status[0].code(), Status::Code::kPermissionDenied);
}

TEST_F(BootDeviceTest, NothingVerifies_NoBootableImage) {
  Result<EmulatedDevice> device = MakeEmulatedDevice(crypto_, kTutorialCsv);
  ASSERT_TRUE(device.ok());
  Result<BootReport> report = Boot(*device);
  EXPECT_STATUS(report.status(), NotFound("boot: no bootable image"));
  EXPECT_TRUE(Otadata(*device) == std::vector<std::byte>(kOtadataSize, std::byte{0xFF}));
}

TEST_F(BootDeviceTest, PendingVerifyAndNothingElseBoots_AbortsBeforeReportingNoImage) {
  Result<EmulatedDevice> device = MakeEmulatedDevice(crypto_, kTutorialCsv);
  ASSERT_TRUE(device.ok());
  PutOtadata(*device, "slot1_pending_seq2.bin");
  EXPECT_STATUS(Boot(*device).status(), NotFound("boot: no bootable image"));
  // The ABORTED write precedes loading, as in the bootloader.
  EXPECT_TRUE(Otadata(*device) ==
              ReadBinary(VectorPath("otadata/slot1_pending_seq2.after_boot_rollback.bin")));
}

TEST_F(BootDeviceTest, DryRun_DecidesWithoutWriting) {
  EmulatedDevice device = Device(kTutorialCsv);
  PutOtadata(device, "slot1_pending_seq2.bin");
  const std::vector<std::byte> before = Otadata(device);
  Result<BootReport> report = Boot(device, Esp32(), {.last_booted = std::nullopt, .dry_run = true});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->index, 0);
  EXPECT_TRUE(report->rolled_back);
  EXPECT_EQ(report->state, OtaState::kValid);
  EXPECT_TRUE(Otadata(device) == before);
}

TEST_F(BootDeviceTest, AntiRollback_BootingAValidEntryRaisesTheEfuse) {
  EmulatedDevice device = Device(kTutorialCsv);
  AppImageRecipe recipe = Recipe("v3");
  recipe.secure_version = 3;
  Put(device, 1, recipe);
  PutOtadata(device, "s1_seq2_valid.bin");
  DeviceConfig config = Esp32();
  config.anti_rollback_enabled = true;
  config.efuse_secure_version = 1;
  Result<BootReport> report = Boot(device, config);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->index, 1);
  EXPECT_EQ(report->efuse_secure_version, 3u);
  // ota_0 (secure_version 0) can no longer boot once the eFuse says 3.
  PutOtadata(device, "s0_seq1_valid.bin");
  config.efuse_secure_version = report->efuse_secure_version;
  Result<BootReport> again = Boot(device, config);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->index, 1);
  EXPECT_TRUE(again->rolled_back);
}

TEST_F(BootDeviceTest, SecureBoot_OnlySignedImagesFromTrustedKeysBoot) {
  EmulatedDevice device = Device(kTutorialCsv);
  const std::vector<std::byte> signed_image =
      ReadBinary(VectorPath("app-image/signed/esp32_app.signed_rsa0_4kpad.bin"));
  ASSERT_TRUE(::aloft::testing::WriteImage(device, 0, signed_image).ok());
  PutOtadata(device, "s1_seq2_valid.bin");  // selects ota_1: an unsigned image
  const std::vector<std::byte> digest =
      ReadBinary(VectorPath("app-image/keys/test_rsa3072_key0.digest.bin"));
  std::array<TrustedKey, 1> keys{};
  std::copy(digest.begin(), digest.end(), keys[0].digest.begin());
  TrustPolicy policy;
  policy.keys = keys;
  DeviceConfig config = Esp32();
  config.trust = &policy;
  Result<BootReport> report = Boot(device, config);
  ASSERT_TRUE(report.ok()) << ::aloft::testing::DescribeStatus(report.status());
  EXPECT_EQ(report->index, 0);
  // ota_1 is unsigned: the erased flash after it holds no valid signature block.
  EXPECT_EQ(report->attempt_status[0].code(), Status::Code::kUnauthenticated);

  keys[0].revoked = true;
  EXPECT_STATUS(Boot(device, config).status(), NotFound("boot: no bootable image"));
}

TEST_F(BootDeviceTest, PowerCutDuringTheAbortWrite_ReturnsAbortedAndTheNextBootAgrees) {
  for (const host::PowerCutKind kind : {host::PowerCutKind::kBefore, host::PowerCutKind::kDuring}) {
    for (uint64_t op = 1; op <= 2; ++op) {
      EmulatedDevice device = Device(kTutorialCsv);
      PutOtadata(device, "slot1_pending_seq2.bin");
      host::FaultyFlash faulty(*device.flash, host::FaultPlan::WithCut({op, kind, op * 7}));
      Result<BootReport> cut =
          BootDevice(faulty, crypto_, device.layout, Esp32(), work_, BootOptions{});
      EXPECT_EQ(cut.status().code(), Status::Code::kAborted);
      Result<BootReport> next = Boot(device);
      ASSERT_TRUE(next.ok());
      EXPECT_EQ(next->index, 0);
    }
  }
}

TEST_F(BootDeviceTest, SmallWorkBuffer_IsRefused) {
  EmulatedDevice device = Device(kTutorialCsv);
  std::array<std::byte, 1024> small{};
  EXPECT_STATUS(BootDevice(*device.flash, crypto_, device.layout, Esp32(), small).status(),
                InvalidArgument("flash image: work buffer smaller than 4 KiB"));
}

}  // namespace
}  // namespace aloft::core
