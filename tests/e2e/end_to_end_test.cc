// End to end over real TLS on loopback: a real aloftd (AloftdHarness, SQLite), releases
// published and rolled out through its admin API, and real emulated devices (E2eDevice: the
// agent, the boot logic and the installer over an emulated flash, libcurl pinning the server's
// CA). Nothing fake between device and server, except the FaultProxy where a broken link is the
// point. Virtual device time, so back-off waits cost nothing; the server runs in real time.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "e2e/e2e_rig.h"
#include "emulator/fault_proxy.h"
#include "support/test_pki.h"

namespace aloft::testing {
namespace {

using agent::Phase;
using agent::StepResult;
using emulator::SelfTestMode;

std::vector<std::string> UpdateStates() {
  return {"downloading", "downloaded", "verified", "rebooting", "confirmed"};
}

class EndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = AloftdHarness::Start(Backend::kSqlite);
    ASSERT_NE(server_, nullptr);
    admin_ = std::make_unique<AdminView>(*server_);
  }

  // Publishes `release` (registering the key) and rolls it out to 100%; the rollout's id.
  int64_t Roll(const SignedRelease& release, boost::json::object extra = {}) {
    EXPECT_GT(server_->Publish(key_, release), 0);
    return server_->StartRollout(release.version, 100, std::move(extra));
  }

  host::ReleaseKey key_ = host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
  std::unique_ptr<AloftdHarness> server_;
  std::unique_ptr<AdminView> admin_;
};

TEST_F(EndToEndTest, HappyPath_DeviceUpdatesRebootsSelfTestsConfirms_ServerShowsIt) {
  const SignedRelease v11 = MakeSignedTestRelease(key_, "1.1.0", SelfTestMode::kPass, 64 * 1024, 2);
  const int64_t rollout = Roll(v11);
  E2eDevice device(*server_, key_, "e2e-happy");
  device.Settle();

  EXPECT_EQ(device.RunningVersion(), "1.1.0");
  EXPECT_EQ(device.BootedVersion(), "1.1.0");
  EXPECT_EQ(device.runtime().stats().boots, 2u);  // 1.0.0, then 1.1.0 on trial, confirmed
  EXPECT_EQ(device.runtime().stats().bytes_downloaded, v11.image.size());
  const boost::json::value view = admin_->Device("e2e-happy");
  EXPECT_EQ(view.at("version").as_string(), "1.1.0");
  EXPECT_EQ(view.at("last_event_state").as_string(), "confirmed");
  EXPECT_EQ(EventStates(view), UpdateStates());
  const boost::json::object* confirmed = LastEvent(view, "confirmed");
  ASSERT_NE(confirmed, nullptr);
  EXPECT_EQ(confirmed->at("version").as_string(), "1.1.0");
  EXPECT_EQ(confirmed->at("rollout_id").as_int64(), rollout);
  EXPECT_EQ(LastEvent(view, "downloading")->at("version").as_string(), "1.0.0");
  const boost::json::value rollout_view = admin_->Rollout(rollout);
  EXPECT_EQ(rollout_view.at("counts").at("confirmed").as_int64(), 1);
  EXPECT_EQ(rollout_view.at("failures").as_int64(), 0);
}

TEST_F(EndToEndTest, WrongCa_TransportRefusesTheServer_NothingIsWritten) {
  Roll(MakeSignedTestRelease(key_, "1.1.0", SelfTestMode::kPass, 64 * 1024, 2));
  TempDir dir;
  const std::optional<TestPki> pki = MakeTestPki(dir.path());
  ASSERT_TRUE(pki.has_value());
  E2eDeviceOptions options;
  options.ca_pem = ReadText(pki->other_ca_cert);
  E2eDevice device(*server_, key_, "e2e-wrong-ca", options);
  Result<StepResult> r =
      device.RunUntil([&] { return device.agent()->consecutive_failures() >= 3; });
  ASSERT_TRUE(r.ok()) << DescribeStatus(r.status());
  EXPECT_STATUS(device.agent()->last_error(), Unavailable(port::kUntrustedServerReason));
  EXPECT_STREQ(device.agent()->last_error().reason(),
               "transport: server certificate does not chain to the pinned CA");
  EXPECT_NE(device.curl().last_error().find("certificate"), std::string::npos)
      << device.curl().last_error();
  EXPECT_EQ(device.runtime().stats().bytes_downloaded, 0u);
  EXPECT_TRUE(device.transport().gets.empty());
  EXPECT_TRUE(device.PassiveSlotErased());
  EXPECT_EQ(device.BootedVersion(), "1.0.0");
  // The server never heard from it.
  const boost::json::value view = admin_->Device("e2e-wrong-ca");
  EXPECT_TRUE(view.at("last_checkin_at_ms").is_null()) << view;
  EXPECT_TRUE(EventStates(view).empty());
}

TEST_F(EndToEndTest, DownloadDroppedAtRandomPoints_ResumedWithRange_UpdateCompletes) {
  constexpr uint32_t kImageSize = 256 * 1024;
  const SignedRelease v11 =
      MakeSignedTestRelease(key_, "1.1.0", SelfTestMode::kPass, kImageSize, 2);
  Roll(v11);
  emulator::FaultProxyOptions proxy_options;
  proxy_options.upstream_port = static_cast<uint16_t>(std::stoi(server_->url().substr(18)));
  std::unique_ptr<emulator::FaultProxy> proxy = emulator::FaultProxy::Start(proxy_options).value();
  E2eDeviceOptions options;
  options.base_url = "https://127.0.0.1:" + std::to_string(proxy->port());
  E2eDevice device(*server_, key_, "e2e-drops", options);

  // The first kDrops downloads break (a reset or a clean close alternately) at a random byte of
  // what the server sends on that connection (TLS handshake, headers and the rest of the body).
  constexpr int kDrops = 4;
  const uint32_t seed = TestSeed(11);
  std::printf("drop seed %u\n", seed);
  std::mt19937 random(seed);
  int planned = 0;
  device.transport().before_get = [&](uint32_t range_start) {
    if (planned >= kDrops) {
      return;
    }
    const uint32_t remaining = static_cast<uint32_t>(v11.image.size()) - range_start;
    emulator::ScriptedFault fault;
    fault.kind = planned % 2 == 0 ? emulator::FaultKind::kReset : emulator::FaultKind::kTruncate;
    fault.at_byte = 1 + random() % remaining;
    proxy->Script({fault});
    ++planned;
  };
  device.Settle();

  EXPECT_EQ(device.RunningVersion(), "1.1.0") << "seed " << seed;
  EXPECT_EQ(proxy->stats().faults(), static_cast<uint64_t>(kDrops)) << "seed " << seed;
  const auto& gets = device.transport().gets;
  ASSERT_EQ(gets.size(), static_cast<size_t>(kDrops + 1)) << "seed " << seed;
  for (int i = 0; i < kDrops; ++i) {
    EXPECT_EQ(gets[i].status.code(), Status::Code::kUnavailable)
        << "GET " << i << ": " << DescribeStatus(gets[i].status);
  }
  EXPECT_TRUE(gets.back().status.ok());
  bool resumed = false;
  for (const auto& get : gets) {
    EXPECT_EQ(get.range_start % 4096, 0u);  // resumes at a sector boundary
    resumed = resumed || get.range_start > 0;
  }
  EXPECT_TRUE(resumed) << "no download resumed with a Range; seed " << seed;
  // Bytes re-sent: at most a sector per drop.
  EXPECT_GE(device.runtime().stats().bytes_downloaded, v11.image.size());
  EXPECT_LE(device.runtime().stats().bytes_downloaded, v11.image.size() + kDrops * 4096u)
      << "seed " << seed;
  EXPECT_EQ(EventStates(admin_->Device("e2e-drops")), UpdateStates());
}

// Several devices through a flaky link: every connection may be reset, cut short or have a
// byte of its TLS stream flipped (then TLS's record MAC fails: the device never sees a corrupt
// byte, only a broken connection). Every device still ends on the new version, confirmed,
// none bricked, every event stored exactly once.
TEST_F(EndToEndTest, DevicesThroughAFlakyLink_RandomFaults_AllEndOnTheNewVersion) {
  constexpr int kDevices = 10;
  const SignedRelease v11 =
      MakeSignedTestRelease(key_, "1.1.0", SelfTestMode::kPass, 128 * 1024, 2);
  const int64_t rollout = Roll(v11);
  emulator::FaultProxyOptions proxy_options;
  proxy_options.upstream_port = static_cast<uint16_t>(std::stoi(server_->url().substr(18)));
  proxy_options.faults = emulator::ParseFaultSpec("reset=0.2,truncate=0.2,corrupt=0.2").value();
  proxy_options.seed = TestSeed(1);
  proxy_options.max_fault_offset = 160 * 1024;
  std::printf("proxy seed %llu\n", static_cast<unsigned long long>(proxy_options.seed));
  std::unique_ptr<emulator::FaultProxy> proxy = emulator::FaultProxy::Start(proxy_options).value();
  E2eDeviceOptions options;
  options.base_url = "https://127.0.0.1:" + std::to_string(proxy->port());
  std::vector<std::unique_ptr<E2eDevice>> devices;
  for (int i = 0; i < kDevices; ++i) {
    options.seed = static_cast<uint64_t>(i + 1);
    devices.push_back(
        std::make_unique<E2eDevice>(*server_, key_, "e2e-flaky-" + std::to_string(i), options));
  }
  // Round robin, one cycle each, until all are settled.
  for (int round = 0; round < 200; ++round) {
    bool all_settled = true;
    for (auto& device : devices) {
      if (device->Settled()) {
        continue;
      }
      all_settled = false;
      Result<StepResult> r = device->RunUntil([] { return true; }, 1);
      ASSERT_TRUE(r.ok()) << device->id() << ": " << DescribeStatus(r.status());
      ASSERT_NE(*r, StepResult::kDead) << device->id();
      device->runtime().SkipToWake();
    }
    if (all_settled) {
      break;
    }
  }
  EXPECT_GT(proxy->stats().faults(), 0u);
  for (auto& device : devices) {
    SCOPED_TRACE(device->id());
    EXPECT_TRUE(device->Settled());
    EXPECT_EQ(device->RunningVersion(), "1.1.0");
    EXPECT_EQ(device->BootedVersion(), "1.1.0");
    EXPECT_EQ(EventStates(admin_->Device(device->id())), UpdateStates());
  }
  EXPECT_EQ(admin_->Rollout(rollout).at("counts").at("confirmed").as_int64(), kDevices);
  std::printf("faults injected: %llu of %llu connections\n",
              static_cast<unsigned long long>(proxy->stats().faults()),
              static_cast<unsigned long long>(proxy->stats().connections));
}

class TamperedArtifactTest : public EndToEndTest {
 protected:
  // Publishes 1.1.0, flips a byte of the stored artifact file at `offset` (someone with access
  // to the server's disk), and runs a device: it must refuse with `reason`, report `states`
  // (the failure included), and keep booting 1.0.0. The rollout (min_sample 1) halts on the
  // failure, so the device settles.
  void Run(uint32_t offset, const std::string& reason, const std::vector<std::string>& states) {
    const SignedRelease v11 =
        MakeSignedTestRelease(key_, "1.1.0", SelfTestMode::kPass, 64 * 1024, 2);
    const int64_t rollout = Roll(v11, {{"min_sample", 1}});
    const std::filesystem::path stored = server_->data_dir() / "artifacts" / (v11.sha256 + ".bin");
    ASSERT_TRUE(std::filesystem::exists(stored)) << stored;
    ASSERT_LT(offset, v11.image.size());
    {
      std::fstream file(stored, std::ios::in | std::ios::out | std::ios::binary);
      file.seekg(offset);
      char byte = 0;
      file.read(&byte, 1);
      byte = static_cast<char>(byte ^ 0x20);
      file.seekp(offset);
      file.write(&byte, 1);
      ASSERT_TRUE(file.good());
    }
    E2eDevice device(*server_, key_, "e2e-tampered");
    device.Settle();

    EXPECT_EQ(device.RunningVersion(), "1.0.0");
    EXPECT_EQ(device.BootedVersion(), "1.0.0");
    EXPECT_EQ(device.runtime().stats().boots, 1u);
    const boost::json::value view = admin_->Device("e2e-tampered");
    EXPECT_EQ(EventStates(view), states);
    const boost::json::object* failed = LastEvent(view, "failed");
    ASSERT_NE(failed, nullptr);
    EXPECT_EQ(failed->at("reason").as_string(), reason);
    EXPECT_EQ(failed->at("version").as_string(), "1.0.0");
    const boost::json::value rollout_view = admin_->Rollout(rollout);
    EXPECT_EQ(rollout_view.at("counts").at("failed").as_int64(), 1);
    EXPECT_EQ(rollout_view.at("state").as_string(), "halted");
  }
};

// A byte in a segment: the streaming validator's checksum catches it as it arrives.
TEST_F(TamperedArtifactTest, ByteInTheImage_RefusedReportedFailed_OldImageKeepsBooting) {
  Run(0x3000, "app image: checksum mismatch", {"downloading", "failed"});
}

// A byte in the signature sector (outside the app image's own checks): the SHA-256 of the
// whole artifact differs from the signed manifest's, so it is refused before Finish.
TEST_F(TamperedArtifactTest, ByteInTheSignatureSector_RefusedReportedFailed_OldImageKeepsBooting) {
  Run(64 * 1024 + 100, "update: image sha256 differs from the manifest",
      {"downloading", "downloaded", "failed"});
}

TEST_F(EndToEndTest, SelfTestFails_RollsBack_RolledBackReportedAndCountedByTheRollout) {
  const SignedRelease broken =
      MakeSignedTestRelease(key_, "1.1.0", SelfTestMode::kFail, 64 * 1024, 2);
  const int64_t rollout = Roll(broken, {{"min_sample", 1}});
  E2eDevice device(*server_, key_, "e2e-self-test");
  device.Settle();

  EXPECT_EQ(device.RunningVersion(), "1.0.0");
  EXPECT_EQ(device.BootedVersion(), "1.0.0");
  EXPECT_EQ(device.runtime().stats().boots, 3u);  // 1.0.0, 1.1.0 on trial, 1.0.0 again
  const boost::json::value view = admin_->Device("e2e-self-test");
  EXPECT_EQ(view.at("version").as_string(), "1.0.0");
  EXPECT_EQ(EventStates(view), (std::vector<std::string>{"downloading", "downloaded", "verified",
                                                         "rebooting", "rolled_back"}));
  const boost::json::object* rolled_back = LastEvent(view, "rolled_back");
  ASSERT_NE(rolled_back, nullptr);
  EXPECT_EQ(rolled_back->at("reason").as_string(), "self-test: the test image's self-test fails");
  EXPECT_EQ(rolled_back->at("version").as_string(), "1.0.0");
  const boost::json::value rollout_view = admin_->Rollout(rollout);
  EXPECT_EQ(rollout_view.at("counts").at("rolled_back").as_int64(), 1);
  EXPECT_EQ(rollout_view.at("failures").as_int64(), 1);
  EXPECT_EQ(rollout_view.at("state").as_string(), "halted");
}

// A power cut chosen by the flash operation it hits, clean or torn; the device must come back
// on the old image and then complete the update.
struct PowerCutCase {
  const char* name;
  bool torn;
  // Builds the predicate for the device (it knows the layout and the image size).
  std::function<PowerCutWhen::Predicate(uint32_t image_size)> when;
};

class PowerCutEndToEndTest : public EndToEndTest {
 protected:
  void RunCase(const PowerCutCase& c, const std::string& id) {
    SCOPED_TRACE(c.name);
    E2eDevice device(*server_, key_, id);
    {
      host::FaultyFlash faulty(device.flash());
      PowerCutWhen cutter(faulty, c.when(static_cast<uint32_t>(v11_.image.size())), c.torn);
      device.kv().set_flash(&faulty);  // one power supply
      device.PowerOn(&cutter);
      Result<StepResult> r = device.RunUntil([] { return false; });
      ASSERT_TRUE(cutter.fired()) << "the cut point was never reached";
      ASSERT_TRUE(faulty.power_lost());
      ASSERT_TRUE(!r.ok() || *r == StepResult::kDead) << StepResultName(*r);
      device.kv().set_flash(nullptr);
      device.kv().Revive();
    }
    // Power back: the bootloader runs the old image, and the agent finishes the update.
    device.PowerOn();
    ASSERT_TRUE(device.runtime().Boot().ok());
    EXPECT_EQ(device.runtime().last_boot()->app_description.version.view(), "1.0.0");
    EXPECT_EQ(device.runtime().last_boot()->index, 0);
    EXPECT_EQ(ReadRegion(device.flash(), kTutorialOta0,
                         static_cast<uint32_t>(device.initial().image.size())),
              device.initial().image);
    device.Settle();
    EXPECT_EQ(device.RunningVersion(), "1.1.0");
    EXPECT_EQ(device.BootedVersion(), "1.1.0");
    const std::vector<std::string> states = EventStates(admin_->Device(id));
    ASSERT_FALSE(states.empty());
    EXPECT_EQ(states.back(), "confirmed");
    EXPECT_EQ(std::count(states.begin(), states.end(), "confirmed"), 1);
    EXPECT_EQ(std::count(states.begin(), states.end(), "failed"), 0);
  }

  void SetUp() override {
    EndToEndTest::SetUp();
    v11_ = MakeSignedTestRelease(key_, "1.1.0", SelfTestMode::kPass, 128 * 1024, 2);
    rollout_ = Roll(v11_);
  }

  SignedRelease v11_;
  int64_t rollout_ = 0;
};

TEST_F(PowerCutEndToEndTest, DuringDownload_BootsOldImageThenCompletesTheUpdate) {
  // Halfway through the image: the first write at or past its middle in ota_1.
  auto when = [](uint32_t image_size) -> PowerCutWhen::Predicate {
    return [image_size](bool is_write, uint32_t offset, uint32_t) {
      return is_write && offset >= kTutorialOta1 + image_size / 2 &&
             offset < kTutorialOta1 + kTutorialSlotSize;
    };
  };
  RunCase({"clean cut", false, when}, "e2e-cut-download");
  RunCase({"torn write", true, when}, "e2e-torn-download");
}

TEST_F(PowerCutEndToEndTest, DuringInstall_BootsOldImageThenCompletesTheUpdate) {
  // The install's commit: Finish's otadata erase, after the image is in ota_1.
  auto when = [](uint32_t) -> PowerCutWhen::Predicate {
    auto wrote_image = std::make_shared<bool>(false);
    return [wrote_image](bool is_write, uint32_t offset, uint32_t) {
      if (is_write && offset >= kTutorialOta1 && offset < kTutorialOta1 + kTutorialSlotSize) {
        *wrote_image = true;
      }
      return *wrote_image && !is_write && offset >= kTutorialOtadata &&
             offset < kTutorialOtadata + 0x2000;
    };
  };
  RunCase({"clean cut", false, when}, "e2e-cut-install");
  RunCase({"torn erase", true, when}, "e2e-torn-install");
}

TEST_F(EndToEndTest, ServerDownDuringReporting_QueuedEventsArriveLaterIdempotently) {
  const SignedRelease v11 = MakeSignedTestRelease(key_, "1.1.0", SelfTestMode::kPass, 64 * 1024, 2);
  const int64_t rollout = Roll(v11);
  const std::string url = server_->url();
  E2eDevice device(*server_, key_, "e2e-server-down");
  // The server goes down as soon as the download is complete.
  bool stopped = false;
  device.transport().after_get = [&](const Status& status) {
    if (status.ok() && !stopped) {
      stopped = true;
      ASSERT_TRUE(server_->server().Stop(std::chrono::milliseconds(1000)).ok());
    }
  };
  Result<StepResult> r = device.RunUntil([&] {
    return device.RunningVersion() == "1.1.0" && device.agent()->phase() == Phase::kIdle &&
           device.agent()->consecutive_failures() >= 2;
  });
  ASSERT_TRUE(r.ok()) << DescribeStatus(r.status());
  ASSERT_TRUE(stopped);
  // Installed, rebooted, self-tested and confirmed while the server was away: every report
  // after the download is queued on the device.
  EXPECT_EQ(device.BootedVersion(), "1.1.0");
  EXPECT_GE(device.agent()->record().report_count, 4);

  // The server comes back on the same port and data directory.
  server::ServerConfig config;
  config.listen = "127.0.0.1:" + url.substr(18);
  config.io_threads = 2;
  config.checkin_flush_interval_ms = 60'000;
  std::unique_ptr<server::Aloftd> restarted =
      server::Aloftd::Start({server_->data_dir(), config, {}, {}}).value();
  admin_->set_server(restarted.get());
  // The first answer to the queued batch is lost on the way back: the device sends it again.
  int lost = 0;
  device.transport().after_post = [&](std::string_view path, Result<port::PostResult> result) {
    if (path == agent::kEventsPath && result.ok() && lost == 0) {
      ++lost;
      return Result<port::PostResult>(Unavailable("transport: connection lost"));
    }
    return result;
  };
  device.Settle();
  EXPECT_EQ(lost, 1);

  const boost::json::value view = admin_->Device("e2e-server-down");
  EXPECT_EQ(view.at("version").as_string(), "1.1.0");
  EXPECT_EQ(EventStates(view), UpdateStates());  // each exactly once
  EXPECT_EQ(admin_->Rollout(rollout).at("counts").at("confirmed").as_int64(), 1);
  (void)restarted->Stop(std::chrono::milliseconds(1000));
}

}  // namespace
}  // namespace aloft::testing
