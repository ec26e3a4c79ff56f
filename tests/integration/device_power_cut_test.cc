// The promise of A/B OTA, proven the MCUboot way: for every flash operation of install → boot →
// confirm (and of reject), cut the power there — cleanly, and tearing the operation — reboot,
// and check that the device boots a valid image (the old or the new one, never nothing), that
// the old image's bytes were never touched, that otadata reads back, and that a fresh install
// then succeeds. Over the tutorial's partition table, in memory, with checkpoint restores.

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "core/device/boot_device.h"
#include "core/device/device_layout.h"
#include "core/format/partition_table.h"
#include "core/install/stream_installer.h"
#include "core/install/trial_outcome.h"
#include "core/try.h"
#include "ports/host/openssl_crypto.h"
#include "support/device_fixture.h"
#include "support/power_cut_sweep.h"
#include "support/status_testing.h"

namespace aloft::testing {
namespace {

using core::BootDevice;
using core::BootOptions;
using core::BootReport;
using core::DeviceConfig;
using core::DeviceLayout;
using core::OtaState;
using core::StreamInstallerBuffer;

constexpr size_t kChunk = 1000;

// What every scenario shares: the device, its images and the checks after a reboot.
class DeviceScenario : public PowerCutScenario {
 public:
  explicit DeviceScenario(bool rollback) {
    config_.chip_id = core::kChipIdEsp32;
    config_.rollback_enabled = rollback;
    old_image_ = MakeImage(crypto_, Recipe("1.0.0", 9000, core::kChipIdEsp32, 1));
    new_image_ = MakeImage(crypto_, Recipe("2.0.0", 20000, core::kChipIdEsp32, 2));
    third_image_ = MakeImage(crypto_, Recipe("3.0.0", 5000, core::kChipIdEsp32, 3));
    Result<core::PartitionTable> table = TableFromCsv(kTutorialCsv);
    EXPECT_TRUE(table.ok());
    table_ = *table;
    Result<DeviceLayout> layout = core::MakeDeviceLayout(table_, 0x400000);
    EXPECT_TRUE(layout.ok());
    layout_ = *layout;
  }

  // The factory state: the table, the old image in ota_0, and the first boot made (otadata
  // sector 0 = {seq 1, VALID}). The device runs ota_0.
  void SetUpOldFirmware(host::EmulatedFlash& flash) {
    ASSERT_TRUE(WriteTable(flash, crypto_, table_).ok());
    ASSERT_TRUE(WriteRegion(flash, kTutorialOta0, old_image_).ok());
    Result<BootReport> boot = Boot(flash, std::nullopt);
    ASSERT_TRUE(boot.ok());
    ASSERT_EQ(boot->index, 0);
  }

  Status Install(port::Flash& flash, int running, ConstByteSpan image) {
    StreamInstallerBuffer<> installer(flash, crypto_, layout_, config_);
    ALOFT_TRY(installer.Begin(running, static_cast<uint32_t>(image.size())));
    for (size_t done = 0; done < image.size(); done += kChunk) {
      ALOFT_TRY(installer.Write(image.subspan(done, std::min(kChunk, image.size() - done))));
    }
    return installer.Finish().status();
  }

  Result<BootReport> Boot(port::Flash& flash, std::optional<int> last_booted) {
    BootOptions options;
    options.last_booted = last_booted;
    return BootDevice(flash, crypto_, layout_, config_, work_, options);
  }

  // After any cut: the old image is intact, otadata reads back, a valid image boots, and the
  // device can still be updated. Returns the slot the reboot booted.
  int CheckRecoverable(host::EmulatedFlash& flash, bool old_image_intact = true) {
    if (old_image_intact) {
      EXPECT_TRUE(ReadRegion(flash, kTutorialOta0, static_cast<uint32_t>(old_image_.size())) ==
                  old_image_)
          << "the old image was touched";
    }
    EXPECT_TRUE(core::ReadOtadata(flash, layout_.otadata_offset).ok());
    Result<BootReport> boot = Boot(flash, std::nullopt);
    if (!boot.ok()) {
      ADD_FAILURE() << "nothing boots: " << DescribeStatus(boot.status());
      return core::kInvalidIndex;
    }
    const std::string version(boot->app_description.version.view());
    EXPECT_TRUE((boot->index == 0 && version == "1.0.0") ||
                (boot->index == 1 && version == "2.0.0"))
        << "booted " << core::AppPartitionName(boot->index) << " version " << version;
    const int booted = boot->index;
    // A new firmware on trial confirms itself first (the advanced example's self-test), as it
    // must before it may download again.
    if (boot->state == OtaState::kPendingVerify) {
      EXPECT_TRUE(core::ConfirmRunningApp(flash, layout_, config_, booted).ok());
    }
    const Status installed = Install(flash, booted, third_image_);
    EXPECT_TRUE(installed.ok()) << "a fresh install failed: " << DescribeStatus(installed);
    Result<BootReport> after = Boot(flash, booted);
    EXPECT_TRUE(after.ok() && after->index == 1 - booted &&
                after->app_description.version.view() == "3.0.0")
        << "the fresh install does not boot";
    return booted;
  }

 protected:
  host::OpensslCrypto crypto_;
  DeviceConfig config_;
  core::PartitionTable table_;
  DeviceLayout layout_;
  std::vector<std::byte> old_image_;
  std::vector<std::byte> new_image_;
  std::vector<std::byte> third_image_;
  std::array<std::byte, 4096> work_{};
};

// install → boot (the trial run) → confirm.
class InstallBootConfirm final : public DeviceScenario {
 public:
  using DeviceScenario::DeviceScenario;
  void SetUp(host::EmulatedFlash& flash) override { SetUpOldFirmware(flash); }
  Status Run(port::Flash& flash) override {
    ALOFT_TRY(Install(flash, 0, new_image_));
    ALOFT_TRY_ASSIGN(const BootReport boot, Boot(flash, 0));
    if (boot.index != 1) {
      return Internal("scenario: the new image did not boot");
    }
    return core::ConfirmRunningApp(flash, layout_, config_, 1).status();
  }
  void Check(host::EmulatedFlash& flash, const std::optional<host::PowerCut>& cut,
             const Status& /*run_status*/) override {
    if (!cut.has_value()) {
      // Uninterrupted: the new firmware is confirmed and keeps booting.
      Result<BootReport> boot = Boot(flash, 1);
      ASSERT_TRUE(boot.ok());
      EXPECT_EQ(boot->index, 1);
      EXPECT_EQ(boot->state, config_.rollback_enabled ? std::optional(OtaState::kValid)
                                                      : std::optional(OtaState::kValid));
    }
    CheckRecoverable(flash);
  }
};

// reject of a firmware on trial (PENDING_VERIFY) or already confirmed (VALID).
class Reject final : public DeviceScenario {
 public:
  Reject(bool confirmed) : DeviceScenario(true), confirmed_(confirmed) {}
  void SetUp(host::EmulatedFlash& flash) override {
    SetUpOldFirmware(flash);
    ASSERT_TRUE(Install(flash, 0, new_image_).ok());
    Result<BootReport> boot = Boot(flash, 0);
    ASSERT_TRUE(boot.ok());
    ASSERT_EQ(boot->index, 1);
    if (confirmed_) {
      ASSERT_TRUE(core::ConfirmRunningApp(flash, layout_, config_, 1).ok());
    }
  }
  Status Run(port::Flash& flash) override {
    return core::RejectRunningApp(flash, crypto_, layout_, config_, work_);
  }
  void Check(host::EmulatedFlash& flash, const std::optional<host::PowerCut>& cut,
             const Status& /*run_status*/) override {
    // Uninterrupted, and for a firmware on trial whatever happened: the old firmware boots.
    const int booted = CheckRecoverable(flash);
    if (!cut.has_value() || !confirmed_) {
      EXPECT_EQ(booted, 0);
    }
  }

 private:
  bool confirmed_;
};

SweepOptions Options() {
  SweepOptions options;
  options.flash_size_bytes = 0x400000;
  options.torn_variants = 3;
  options.max_failures = 10;
  return options;
}

void ExpectSurvives(PowerCutScenario& scenario, const char* name) {
  const auto start = std::chrono::steady_clock::now();
  const SweepReport report = RunPowerCutSweep(scenario, Options());
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ sweep    ] %s: %llu flash ops, %llu runs (clean + 3 tears each), %.0f ms\n", name,
              static_cast<unsigned long long>(report.op_count),
              static_cast<unsigned long long>(report.runs), ms);
  EXPECT_TRUE(report.ok()) << report.Summary();
  EXPECT_GT(report.op_count, 30u);
  EXPECT_EQ(report.runs, 1 + 4 * report.op_count);
}

TEST(DevicePowerCut, InstallBootConfirm_EveryCutBootsAValidImage) {
  InstallBootConfirm scenario(/*rollback=*/true);
  ExpectSurvives(scenario, "install+boot+confirm (rollback)");
}

TEST(DevicePowerCut, InstallBootConfirmWithoutRollback_EveryCutBootsAValidImage) {
  InstallBootConfirm scenario(/*rollback=*/false);
  ExpectSurvives(scenario, "install+boot+confirm (no rollback)");
}

TEST(DevicePowerCut, RejectOnTrial_EveryCutBootsTheOldFirmware) {
  Reject scenario(/*confirmed=*/false);
  const SweepReport report = RunPowerCutSweep(scenario, Options());
  std::printf("[ sweep    ] reject (pending): %llu flash ops, %llu runs\n",
              static_cast<unsigned long long>(report.op_count),
              static_cast<unsigned long long>(report.runs));
  EXPECT_TRUE(report.ok()) << report.Summary();
  EXPECT_EQ(report.op_count, 2u);  // erase + write of the active otadata sector
}

TEST(DevicePowerCut, RejectConfirmed_EveryCutBootsAValidImage) {
  Reject scenario(/*confirmed=*/true);
  const SweepReport report = RunPowerCutSweep(scenario, Options());
  EXPECT_TRUE(report.ok()) << report.Summary();
  EXPECT_EQ(report.op_count, 2u);
}

}  // namespace
}  // namespace aloft::testing
