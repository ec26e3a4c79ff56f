// The fleet simulator (emulator/fleet.h) against a real aloftd over real TLS on loopback: the
// issue's fleet test — at least 200 devices, network faults on, every device ends on the
// expected version and none is bricked — and the rollback story of the demo (a release whose
// self-test fails rolls back on every device that tries it and the rollout halts itself).
// The devices are the real agent and boot logic over pooled flash, in real time with short
// check intervals.

#include "emulator/fleet.h"

#include <aloft_backend/log.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "emulator/test_image.h"
#include "support/aloftd_harness.h"

namespace aloft::testing {
namespace {

// A signed test image (emulator::MakeTestImage, with its self-test marker) and RELEASE.json.
SignedRelease MakeSignedTestRelease(const host::ReleaseKey& key, const std::string& version,
                                    emulator::SelfTestMode self_test, uint32_t size = 32 * 1024) {
  host::OpensslCrypto crypto;
  emulator::TestImageSpec spec;
  spec.version = version;
  spec.project = "thermo";
  spec.chip_id = 5;  // esp32c3, as the harness registers devices
  spec.secure_version = 1;
  spec.size_bytes = size;
  spec.self_test = self_test;
  spec.fill_seed = static_cast<uint32_t>(std::hash<std::string>()(version));
  const std::vector<std::byte> app = emulator::MakeTestImage(crypto, spec).value();
  const host::ReleaseKey* keys[] = {&key};
  SignedRelease release;
  release.image = host::SignImage(app, keys, false).value();
  release.sha256 = server::Sha256Hex(release.image);
  release.version = version;
  release.project = spec.project;
  core::ReleaseManifest manifest;
  EXPECT_TRUE(manifest.project.Assign(spec.project));
  EXPECT_TRUE(manifest.version.Assign(version));
  manifest.chip_id = spec.chip_id;
  manifest.secure_version = spec.secure_version;
  manifest.size_bytes = static_cast<uint32_t>(release.image.size());
  manifest.sha256 = server::Sha256Digest(release.image);
  release.json = host::MakeReleaseJson(manifest, keys).value();
  return release;
}

emulator::FleetOptions Options(const AloftdHarness& harness, uint32_t devices,
                               const std::string& initial) {
  emulator::FleetOptions options;
  options.server_url = harness.url();
  options.ca_pem = harness.ca_pem();
  options.admin_token = harness.admin_token();
  options.devices = devices;
  options.initial_version = initial;
  options.concurrency = 8;
  options.until_idle = true;
  options.timeout_ms = 240'000;  // a guard: the test fails on `idle`, it does not hang
  options.check_interval_ms = 1000;
  options.request_timeout_ms = 10'000;
  options.download_stall_ms = 2000;
  options.proxy_stall_ms = 1500;
  return options;
}

boost::json::value RolloutView(AloftdHarness& harness, int64_t id) {
  host::HttpsClient admin = harness.Admin();
  Reply reply = AloftdHarness::Call(admin, "GET", "/api/v1/rollouts/" + std::to_string(id));
  EXPECT_EQ(reply.status, 200) << reply.body;
  return reply.json();
}

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    aloft_backend_set_log_level(-1);  // two hundred agents' logs say nothing the summary does not
    harness_ = AloftdHarness::Start(Backend::kSqlite, [](server::ServerConfig& config) {
      config.io_threads = 4;
      config.checkin_flush_interval_ms = 200;
    });
    ASSERT_NE(harness_, nullptr);
  }

  host::ReleaseKey key_ = host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
  void TearDown() override { aloft_backend_set_log_level(1); }

  std::unique_ptr<AloftdHarness> harness_;
};

TEST_F(FleetTest, TwoHundredDevicesWithFaults_AllUpdateNoneBricked) {
  harness_->Publish(key_, MakeSignedTestRelease(key_, "1.0.0", emulator::SelfTestMode::kPass));
  harness_->Publish(key_,
                    MakeSignedTestRelease(key_, "1.1.0", emulator::SelfTestMode::kPass, 96 * 1024),
                    /*register_key=*/false);
  const int64_t rollout = harness_->StartRollout("1.1.0", 100);

  emulator::FleetOptions options = Options(*harness_, 200, "1.0.0");
  ASSERT_TRUE(emulator::ParseFaultSpec("reset=0.04,stall=0.01,truncate=0.04,corrupt=0.04").ok());
  options.faults =
      emulator::ParseFaultSpec("reset=0.04,stall=0.01,truncate=0.04,corrupt=0.04").value();
  std::string error;
  auto fleet = emulator::Fleet::Prepare(options, &error);
  ASSERT_TRUE(fleet.ok()) << error;
  EXPECT_EQ((*fleet)->device_ids().front(), "sim-0001");
  EXPECT_EQ((*fleet)->device_ids().back(), "sim-0200");
  std::atomic<bool> stop{false};
  const emulator::FleetSummary summary = (*fleet)->Run(stop);

  EXPECT_TRUE(summary.idle);
  EXPECT_EQ(summary.devices, 200u);
  EXPECT_EQ(summary.versions, (std::map<std::string, uint32_t>{{"1.1.0", 200}}));
  EXPECT_EQ(summary.updated, 200u);
  EXPECT_EQ(summary.bricked, 0u);
  EXPECT_EQ(summary.failed, 0u);
  EXPECT_EQ(summary.rolled_back, 0u);
  EXPECT_EQ(summary.refused, 0u);
  EXPECT_EQ(summary.project, "thermo");
  EXPECT_EQ(summary.chip, "esp32c3");
  // Faults really happened, and the downloads resumed rather than restarted from zero each
  // time: the bytes received stay within a small factor of one image per device.
  ASSERT_TRUE(summary.proxy.has_value());
  EXPECT_GT(summary.proxy->faults(), 20u);
  const uint64_t image = 96 * 1024;
  EXPECT_GE(summary.bytes_downloaded, 200 * image);
  EXPECT_LT(summary.bytes_downloaded, 200 * image * 2);
  EXPECT_GT(summary.p50_update_s, 0);
  EXPECT_GE(summary.p99_update_s, summary.p50_update_s);

  // The server saw every confirmation.
  const boost::json::value view = RolloutView(*harness_, rollout);
  EXPECT_EQ(view.at("counts").at("confirmed").as_int64(), 200) << view;
  EXPECT_EQ(view.at("failures").as_int64(), 0) << view;
}

TEST_F(FleetTest, ReleaseWhoseSelfTestFails_RollsBackAndTheRolloutHalts) {
  harness_->Publish(key_, MakeSignedTestRelease(key_, "1.1.0", emulator::SelfTestMode::kPass));
  harness_->Publish(key_, MakeSignedTestRelease(key_, "1.2.0", emulator::SelfTestMode::kFail),
                    /*register_key=*/false);
  const int64_t rollout =
      harness_->StartRollout("1.2.0", 100, {{"min_sample", 5}, {"halt_failure_rate", 0.2}});

  emulator::FleetOptions options = Options(*harness_, 30, "1.1.0");
  options.id_prefix = "halt";
  std::string error;
  auto fleet = emulator::Fleet::Prepare(options, &error);
  ASSERT_TRUE(fleet.ok()) << error;
  std::atomic<bool> stop{false};
  const emulator::FleetSummary summary = (*fleet)->Run(stop);

  EXPECT_TRUE(summary.idle);
  EXPECT_EQ(summary.versions, (std::map<std::string, uint32_t>{{"1.1.0", 30}}));
  EXPECT_EQ(summary.updated, 0u);
  EXPECT_GE(summary.rolled_back, 5u);
  EXPECT_EQ(summary.bricked, 0u);
  EXPECT_EQ(summary.failed, 0u);
  const boost::json::value view = RolloutView(*harness_, rollout);
  EXPECT_EQ(view.at("state").as_string(), "halted") << view;
  EXPECT_EQ(view.at("counts").at("rolled_back").as_int64(), summary.rolled_back) << view;
  EXPECT_EQ(view.at("counts").at("confirmed").as_int64(), 0) << view;
}

TEST_F(FleetTest, UnknownRelease_NotFoundWithTheVersionNamed) {
  emulator::FleetOptions options = Options(*harness_, 3, "9.9.9");
  std::string error;
  auto fleet = emulator::Fleet::Prepare(options, &error);
  ASSERT_FALSE(fleet.ok());
  EXPECT_EQ(fleet.status().code(), Status::Code::kNotFound);
  EXPECT_NE(error.find("no release 9.9.9"), std::string::npos) << error;
}

TEST_F(FleetTest, WrongCa_RefusedBeforeAnythingIsRegistered) {
  harness_->Publish(key_, MakeSignedTestRelease(key_, "1.0.0", emulator::SelfTestMode::kPass));
  emulator::FleetOptions options = Options(*harness_, 3, "1.0.0");
  TempDir other;
  server::InitOptions init;
  init.data_dir = other / "data";
  ASSERT_TRUE(server::InitDataDir(init).ok());
  options.ca_pem = ReadText(other / "data" / "ca.pem");
  std::string error;
  auto fleet = emulator::Fleet::Prepare(options, &error);
  ASSERT_FALSE(fleet.ok());
  EXPECT_EQ(fleet.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(error.find("does not chain to the pinned CA"), std::string::npos) << error;
}

TEST(FleetPure, ParseServerUrl_HostAndPort) {
  EXPECT_EQ(emulator::ParseServerUrl("https://127.0.0.1:8443")->host, "127.0.0.1");
  EXPECT_EQ(emulator::ParseServerUrl("https://127.0.0.1:8443")->port, 8443);
  EXPECT_EQ(emulator::ParseServerUrl("https://localhost/")->port, 443);
  EXPECT_FALSE(emulator::ParseServerUrl("http://127.0.0.1:8443").has_value());
  EXPECT_FALSE(emulator::ParseServerUrl("https://h:99999").has_value());
  EXPECT_FALSE(emulator::ParseServerUrl("https://h:80/api").has_value());
  EXPECT_FALSE(emulator::ParseServerUrl("https://:80").has_value());
}

TEST(FleetPure, Quantile_NearestRank) {
  EXPECT_EQ(emulator::Quantile({}, 0.5), 0);
  EXPECT_EQ(emulator::Quantile({3, 1, 2}, 0.5), 2);
  EXPECT_EQ(emulator::Quantile({1, 2, 3, 4}, 0.5), 2);
  EXPECT_EQ(emulator::Quantile({1, 2, 3, 4}, 0.99), 4);
  EXPECT_EQ(emulator::Quantile({5}, 0.0), 5);
}

}  // namespace
}  // namespace aloft::testing
