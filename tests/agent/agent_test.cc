// The agent against an emulated ESP32 and a fake server (agent_harness.h): every scenario of the
// device update flow, end to end in one process, with virtual time.

#include "agent/agent.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "agent_harness.h"
#include "support/allocation_counter.h"
#include "support/status_testing.h"

namespace aloft::testing {
namespace {

using agent::Phase;
using agent::StepResult;

std::vector<std::string> UpdateStates() {
  return {"downloading", "downloaded", "verified", "rebooting", "confirmed"};
}

class AgentTest : public ::testing::Test {
 protected:
  void Offer(const std::string& version, uint32_t seed = 2) {
    rig_.server_.offer = rig_.Release(version, seed);
  }
  // Runs until the device is settled on what the server has for it.
  void Settle(int max_cycles = 200) {
    Result<StepResult> result = rig_.RunUntil([&] { return rig_.Settled(); }, max_cycles);
    ASSERT_TRUE(result.ok()) << DescribeStatus(result.status());
    ASSERT_NE(*result, StepResult::kDead) << DescribeStatus(rig_.runtime_->agent()->last_error());
    ASSERT_TRUE(rig_.Settled()) << "phase " << agent::PhaseName(rig_.runtime_->agent()->phase());
  }
  const agent::Agent& Agent() const { return *rig_.runtime_->agent(); }

  AgentRig rig_;
};

TEST_F(AgentTest, NoUpdate_ChecksInAndWaitsTheInterval) {
  Settle();
  EXPECT_EQ(rig_.RunningVersion(), "1.0.0");
  EXPECT_EQ(rig_.server_.checkins, 1);
  EXPECT_TRUE(rig_.server_.events.empty());
  const uint64_t now = rig_.system_.MonotonicMs();
  EXPECT_GE(Agent().wake_at_ms(), now + 60'000);
  EXPECT_LE(Agent().wake_at_ms(), now + 61'000);
}

TEST_F(AgentTest, HappyPath_InstallsRebootsSelfTestsConfirmsAndReports) {
  Offer("2.0.0");
  Settle();
  EXPECT_EQ(rig_.RunningVersion(), "2.0.0");
  EXPECT_EQ(rig_.BootedVersion(), "2.0.0");
  EXPECT_EQ(rig_.self_test_.runs, 1);
  EXPECT_EQ(rig_.server_.StatesReceived(), UpdateStates());
  const boost::json::object* confirmed = rig_.server_.Last("confirmed");
  ASSERT_NE(confirmed, nullptr);
  EXPECT_EQ(confirmed->at("version").as_string(), "2.0.0");
  EXPECT_EQ(confirmed->at("release_id").as_int64(), 1);
  EXPECT_EQ(rig_.server_.Last("downloading")->at("version").as_string(), "1.0.0");
  EXPECT_EQ(rig_.server_.Last("downloaded")->at("progress").as_int64(), 100);
  for (const auto& [id, times] : rig_.server_.times_received) {
    EXPECT_EQ(times, 1) << id;
  }
  EXPECT_EQ(rig_.runtime_->stats().boots, 2u);
  EXPECT_EQ(rig_.server_.bytes_served, rig_.server_.offer->image.size());
}

}  // namespace
}  // namespace aloft::testing

namespace aloft::testing {
namespace {

// Runs until the server has received `state`.
#define RUN_UNTIL_RECEIVED(state)                                                       \
  do {                                                                                  \
    Result<StepResult> r = rig_.RunUntil([&] { return rig_.server_.Received(state); }); \
    ASSERT_TRUE(r.ok()) << DescribeStatus(r.status());                                  \
    ASSERT_TRUE(rig_.server_.Received(state)) << state;                                 \
  } while (0)

std::vector<std::byte> Ota1(AgentRig& rig) {
  return ReadRegion(*rig.flash_, kTutorialOta1, 0x10000);
}

bool Erased(const std::vector<std::byte>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0xFF}; });
}

TEST_F(AgentTest, SelfTestFails_RollsBackAndReportsRolledBackFromTheOldImage) {
  Offer("2.0.0");
  rig_.self_test_.mode = ScriptedSelfTest::Mode::kFail;
  RUN_UNTIL_RECEIVED("rolled_back");
  rig_.server_.offer.reset();  // the rollout halts
  Settle();
  EXPECT_EQ(rig_.RunningVersion(), "1.0.0");
  EXPECT_EQ(rig_.BootedVersion(), "1.0.0");
  EXPECT_EQ(rig_.server_.StatesReceived(),
            (std::vector<std::string>{"downloading", "downloaded", "verified", "rebooting",
                                      "rolled_back"}));
  const boost::json::object* rolled = rig_.server_.Last("rolled_back");
  EXPECT_EQ(rolled->at("reason").as_string(), "self-test: sensor did not answer");
  EXPECT_EQ(rolled->at("version").as_string(), "1.0.0");
  EXPECT_EQ(rolled->at("release_id").as_int64(), 1);
  EXPECT_EQ(rig_.runtime_->stats().boots, 3u);  // v1, v2 on trial, v1 again
}

// As ESP-IDF's examples do with esp_ota_get_last_invalid_partition(): the release that just
// rolled back is not downloaded and booted again while the server keeps offering it; the next
// release is.
TEST_F(AgentTest, RolledBackRelease_OfferedAgain_IsNotRetriedButTheNextOneIs) {
  Offer("2.0.0");
  rig_.self_test_.mode = ScriptedSelfTest::Mode::kFail;
  RUN_UNTIL_RECEIVED("rolled_back");
  const uint64_t served = rig_.server_.bytes_served;
  const uint32_t boots = rig_.runtime_->stats().boots;
  const int checkins = rig_.server_.checkins;
  Result<StepResult> idle =
      rig_.RunUntil([&] { return rig_.server_.checkins >= checkins + 5; }, 400);
  ASSERT_TRUE(idle.ok()) << DescribeStatus(idle.status());
  EXPECT_GE(rig_.server_.checkins, checkins + 5);  // still offered, every time
  EXPECT_EQ(rig_.server_.bytes_served, served);
  EXPECT_EQ(rig_.runtime_->stats().boots, boots);
  EXPECT_EQ(rig_.RunningVersion(), "1.0.0");
  EXPECT_EQ(rig_.server_.StatesReceived().back(), "rolled_back");

  rig_.self_test_.mode = ScriptedSelfTest::Mode::kPass;
  Offer("2.0.1", 3);
  RUN_UNTIL_RECEIVED("confirmed");
  Settle();
  EXPECT_EQ(rig_.RunningVersion(), "2.0.1");
  EXPECT_EQ(rig_.server_.StatesReceived().back(), "confirmed");
}

TEST_F(AgentTest, CrashBeforeConfirm_BootloaderAbortsAndRolledBackIsReported) {
  Offer("2.0.0");
  rig_.self_test_.mode = ScriptedSelfTest::Mode::kCrash;
  Result<StepResult> dead = rig_.RunUntil([] { return false; });
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(*dead, StepResult::kDead);
  EXPECT_EQ(Agent().phase(), Phase::kTrial);
  // The crash resets the chip: PENDING_VERIFY at boot becomes ABORTED, the old image runs.
  rig_.self_test_.mode = ScriptedSelfTest::Mode::kPass;
  rig_.PowerOn();
  RUN_UNTIL_RECEIVED("rolled_back");
  EXPECT_TRUE(rig_.runtime_->last_boot()->rolled_back);
  EXPECT_EQ(rig_.RunningVersion(), "1.0.0");
  EXPECT_EQ(rig_.server_.Last("rolled_back")->at("reason").as_string(),
            "rollback: the new firmware reset before confirming");
  EXPECT_FALSE(rig_.server_.Received("confirmed"));
}

TEST_F(AgentTest, DownloadDroppedAtRandomPoints_ResumesWithRangeAndSucceeds) {
  Offer("2.0.0");
  const uint32_t size = rig_.server_.offer->manifest.size_bytes;
  const uint32_t seed = ::testing::UnitTest::GetInstance()->random_seed() + 7;
  std::printf("drop seed %u\n", seed);
  std::mt19937 random(seed);
  std::vector<uint32_t> drops;
  for (int i = 0; i < 6; ++i) {
    drops.push_back(random() % size);
  }
  std::sort(drops.begin(), drops.end());
  rig_.server_.drop_at = drops;
  Settle();
  EXPECT_EQ(rig_.RunningVersion(), "2.0.0") << "seed " << seed;
  EXPECT_EQ(rig_.server_.gets, 7) << "seed " << seed;
  EXPECT_EQ(rig_.server_.StatesReceived(), UpdateStates()) << "seed " << seed;
  // Each resume asked for a Range at a 4 KiB boundary at or below where it broke off.
  for (size_t i = 1; i < rig_.server_.range_starts.size(); ++i) {
    EXPECT_EQ(rig_.server_.range_starts[i] % 4096, 0u);
  }
  EXPECT_GT(rig_.server_.range_starts.back(), 0u);
  // Re-sent bytes are bounded by a sector per drop.
  EXPECT_LE(rig_.server_.bytes_served, size + 6 * 4096u);
}

TEST_F(AgentTest, ServerIgnoresRange_ResumeSkipsWhatIsAlreadyInFlash) {
  Offer("2.0.0");
  rig_.server_.drop_at = {20000};
  rig_.server_.ignore_range = true;
  Settle();
  EXPECT_EQ(rig_.RunningVersion(), "2.0.0");
  EXPECT_EQ(rig_.server_.range_starts, (std::vector<uint32_t>{0, 16384}));
}

TEST_F(AgentTest, CorruptedImageBytes_AreRefusedTheOldImageBootsFailedIsReported) {
  for (bool in_signature : {false, true}) {
    SCOPED_TRACE(in_signature ? "byte in the signature sector" : "byte in the image");
    AgentRig rig;
    rig.server_.offer = rig.Release("2.0.0");
    const uint32_t size = rig.server_.offer->manifest.size_bytes;
    rig.server_.corrupt[in_signature ? size - 3000 : 5000] = 0x01;
    Result<StepResult> r = rig.RunUntil([&] { return rig.server_.Received("failed"); });
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(rig.server_.Received("failed"));
    EXPECT_EQ(rig.BootedVersion(), "1.0.0");
    EXPECT_EQ(rig.runtime_->agent()->phase(), Phase::kIdle);
    const std::string reason(rig.server_.Last("failed")->at("reason").as_string());
    if (in_signature) {
      EXPECT_EQ(reason, "update: image sha256 differs from the manifest");
    } else {
      EXPECT_NE(reason.find("app image"), std::string::npos) << reason;
    }
    EXPECT_FALSE(rig.server_.Received("verified"));
    rig.server_.offer.reset();
    r = rig.RunUntil([&] { return rig.Settled(); });
    EXPECT_TRUE(rig.Settled());
    EXPECT_EQ(rig.runtime_->stats().boots, 1u);
  }
}

struct RefusalCase {
  const char* name;
  std::function<void(AgentRig&)> arrange;
  const char* reason;
};

TEST_F(AgentTest, UntrustworthyAnswers_AreRefusedBeforeAnyFlashWrite) {
  const RefusalCase cases[] = {
      {"tampered manifest",
       [](AgentRig& rig) {
         rig.server_.edit_body = [](std::string& body) {
           // One character of the base64 manifest: the signature no longer matches.
           const size_t at = body.find("\"manifest\": \"") + 20;
           body[at] = body[at] == 'A' ? 'B' : 'A';
         };
       },
       "signature: image digest mismatch"},
      {"wrong release key",
       [](AgentRig& rig) {
         host::ReleaseKey other =
             host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
         rig.server_.offer = MakeTestRelease(rig.crypto_, other, "2.0.0", 30000, 2);
       },
       "signature: no block signed by a trusted key"},
      {"wrong device MAC",
       [](AgentRig& rig) {
         std::array<std::byte, 32> other{};
         rig.server_.mac_secret = other;
       },
       "freshness: answer mac does not verify"},
      {"body altered after the MAC",
       [](AgentRig& rig) {
         rig.server_.edit_body_after_mac = [](std::string& body) {
           body.replace(body.find("\"release_id\":1"), 14, "\"release_id\":2");
         };
       },
       "freshness: answer mac does not verify"},
      {"nonce echo differs",
       [](AgentRig& rig) {
         rig.server_.edit_body = [](std::string& body) {
           body.replace(body.find("\"nonce\":\"") + 9, 4, "ffff");
         };
       },
       "check-in: answer nonce differs from the request"},
      {"downgrade", [](AgentRig& rig) { rig.server_.offer = rig.Release("0.9.0"); },
       "update: release version is older than the running version"},
      {"plain size differs from the signed one",
       [](AgentRig& rig) {
         rig.server_.edit_body = [](std::string& body) {
           const size_t at = body.find(",\"size\":") + 8;
           body.insert(at, "1");
         };
       },
       "check-in: update size or sha256 differs from the signed manifest"},
  };
  for (const RefusalCase& c : cases) {
    SCOPED_TRACE(c.name);
    AgentRig rig;
    rig.server_.offer = rig.Release("2.0.0");
    c.arrange(rig);
    Result<StepResult> r = rig.RunUntil([&] { return rig.server_.Received("failed"); });
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(rig.server_.Received("failed"));
    EXPECT_EQ(std::string(rig.server_.Last("failed")->at("reason").as_string()), c.reason);
    EXPECT_EQ(rig.server_.gets, 0);
    EXPECT_TRUE(Erased(Ota1(rig)));
    EXPECT_EQ(rig.BootedVersion(), "1.0.0");
    EXPECT_EQ(rig.runtime_->agent()->phase(), Phase::kIdle);
    EXPECT_EQ(rig.server_.StatesReceived(), std::vector<std::string>{"failed"});
  }
}

TEST_F(AgentTest, ReplayedAnswer_IsRefused) {
  Settle();  // one check-in: "no update" for the nonce of that check-in
  rig_.server_.replay_previous_answer = true;
  RUN_UNTIL_RECEIVED("failed");
  EXPECT_EQ(rig_.server_.Last("failed")->at("reason").as_string(),
            "freshness: answer mac does not verify");
  EXPECT_TRUE(rig_.server_.Last("failed")->at("release_id").is_null());
}

TEST_F(AgentTest, EndlessData_IsRefused) {
  for (bool announce : {true, false}) {
    SCOPED_TRACE(announce ? "size announced" : "size not announced");
    AgentRig rig;
    rig.server_.offer = rig.Release("2.0.0");
    rig.server_.extra_bytes = 100000;
    rig.server_.announce_total = announce;
    Result<StepResult> r = rig.RunUntil([&] { return rig.server_.Received("failed"); });
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(rig.server_.Received("failed"));
    EXPECT_EQ(rig.server_.Last("failed")->at("reason").as_string(),
              announce ? "download: artifact is larger than its manifest says"
                       : "download: more bytes than the manifest's size");
    EXPECT_LE(rig.server_.bytes_served, rig.server_.offer->manifest.size_bytes + 1000u);
    EXPECT_EQ(rig.BootedVersion(), "1.0.0");
  }
}

TEST_F(AgentTest, ServerDownDuringReporting_EventsAreQueuedAndDeliveredOnceLater) {
  Offer("2.0.0");
  rig_.server_.events_down = true;
  Result<StepResult> r = rig_.RunUntil(
      [&] { return rig_.RunningVersion() == "2.0.0" && Agent().phase() == Phase::kIdle; });
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(rig_.server_.events.empty());
  EXPECT_EQ(Agent().record().report_count, 5);
  // Still unreachable for reports through a few check-ins: nothing lost, nothing doubled.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(rig_.runtime_->RunCycle().ok());
    rig_.runtime_->SkipToWake();
  }
  EXPECT_EQ(Agent().record().report_count, 5);
  rig_.server_.events_down = false;
  Settle();
  EXPECT_EQ(rig_.server_.StatesReceived(), UpdateStates());
  for (const auto& [id, times] : rig_.server_.times_received) {
    EXPECT_EQ(times, 1) << id;
  }
}

TEST_F(AgentTest, WrongServerCertificate_FailsPlainlyAndBacksOff) {
  rig_.server_.wrong_ca = true;
  Result<StepResult> r = rig_.RunUntil([&] { return rig_.server_.checkin_times.size() >= 3; });
  ASSERT_TRUE(r.ok());
  EXPECT_STATUS(Agent().last_error(), Unavailable(port::kUntrustedServerReason));
  EXPECT_EQ(Agent().consecutive_failures(), 3u);
  EXPECT_TRUE(rig_.server_.events.empty());
}

TEST_F(AgentTest, FailingServer_IsRetriedWithCappedExponentialBackoff) {
  rig_.server_.down = true;
  Result<StepResult> r = rig_.RunUntil([&] { return rig_.server_.checkin_times.size() >= 12; });
  ASSERT_TRUE(r.ok());
  const auto& times = rig_.server_.checkin_times;
  // Waits after failure n: within [d/2, d], d = min(1 s * 2^(n-1), 60 s).
  for (size_t n = 1; n < times.size(); ++n) {
    uint64_t d = 1000;
    for (size_t i = 1; i < n && d < 60000; ++i) {
      d *= 2;
    }
    d = std::min<uint64_t>(d, 60000);
    const uint64_t wait = times[n] - times[n - 1];
    EXPECT_GE(wait, d - d / 2) << "after failure " << n;
    EXPECT_LE(wait, d) << "after failure " << n;
  }
  // Back up: the next success returns to the regular interval.
  rig_.server_.down = false;
  Settle();
  EXPECT_EQ(Agent().consecutive_failures(), 0u);
  EXPECT_GE(Agent().wake_at_ms() - rig_.system_.MonotonicMs(), 60000u);
}

TEST_F(AgentTest, KeyValueWriteFails_NothingIsActedOnAndItRetries) {
  Offer("2.0.0");
  rig_.kv_.FailNextSets(1);
  Settle();
  EXPECT_EQ(rig_.RunningVersion(), "2.0.0");
  EXPECT_EQ(rig_.server_.StatesReceived(), UpdateStates());
}

TEST_F(AgentTest, FullReportQueue_DropsTheOldestAndCountsThem) {
  rig_.server_.events_down = true;
  rig_.server_.mac_secret = std::array<std::byte, 32>{};  // every answer refused: a failed report
  Result<StepResult> r = rig_.RunUntil([&] { return rig_.server_.checkin_times.size() >= 20; });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Agent().record().report_count, agent::kMaxPendingReports);
  EXPECT_EQ(Agent().record().dropped_reports, 20u - agent::kMaxPendingReports);
  rig_.server_.events_down = false;
  rig_.server_.mac_secret.reset();
  Settle();
  EXPECT_EQ(rig_.server_.events.size(), agent::kMaxPendingReports);
  // The ones kept are the newest: consecutive sequence numbers ending at the last.
  EXPECT_EQ(std::string(rig_.server_.events.back().at("id").as_string()).substr(9), "20");
}

}  // namespace
}  // namespace aloft::testing

namespace aloft::testing {
namespace {

// Runs each chunk of a download through the agent under an AllocationGuard: the agent's
// streaming path (sink, installer, flash, progress records) must not touch the heap.
class GuardedSink final : public port::ResponseSink {
 public:
  explicit GuardedSink(port::ResponseSink& inner) : inner_(inner) {}
  Status OnStart(uint16_t status, uint32_t first, uint32_t total) override {
    AllocationGuard guard;
    return inner_.OnStart(status, first, total);
  }
  Status OnData(ConstByteSpan chunk) override {
    AllocationGuard guard;
    ++chunks;
    return inner_.OnData(chunk);
  }
  int chunks = 0;

 private:
  port::ResponseSink& inner_;
};

class GuardedTransport final : public port::Transport {
 public:
  explicit GuardedTransport(FakeTransport& inner) : inner_(inner) {}
  Result<port::PostResult> Post(std::string_view path, std::string_view body, ByteSpan response,
                                std::span<port::HeaderCapture> headers, uint32_t timeout) override {
    return inner_.Post(path, body, response, headers, timeout);
  }
  Status Get(std::string_view path, uint32_t range_start, port::ResponseSink& sink,
             uint32_t timeout) override {
    GuardedSink guarded(sink);
    const Status status = inner_.Get(path, range_start, guarded, timeout);
    chunks += guarded.chunks;
    return status;
  }
  int chunks = 0;

 private:
  FakeTransport& inner_;
};

TEST(AgentMemory, DownloadPath_DoesNotAllocate) {
  AgentRig rig;
  rig.server_.offer = rig.Release("2.0.0");
  rig.server_.drop_at = {15000};
  GuardedTransport guarded(rig.transport_);
  rig.runtime_ = std::make_unique<emulator::DeviceRuntime>(
      *rig.flash_, rig.crypto_, rig.layout_, rig.device_config_, guarded, rig.kv_, rig.system_,
      rig.self_test_, rig.config_);
  Result<StepResult> r = rig.RunUntil([&] { return rig.Settled(); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(rig.RunningVersion(), "2.0.0");
  EXPECT_GT(guarded.chunks, 30);
}

TEST(AgentMemory, TheAgent_FitsInAFixedFootprint) {
  // Every buffer is a member; this is what a device sets aside for it (static storage).
  std::printf("sizeof(Agent) = %zu bytes\n", sizeof(agent::Agent));
  EXPECT_LT(sizeof(agent::Agent), 32u * 1024);
}

}  // namespace
}  // namespace aloft::testing

namespace aloft::testing {
namespace {

TEST(AgentAdoption, ImageInstalledByOtherMeans_IsSelfTestedConfirmedAndReported) {
  AgentRig rig;
  ASSERT_EQ(rig.BootedVersion(), "1.0.0");  // first boot: otadata selects ota_0
  const TestRelease v2 = rig.Release("2.0.0");
  core::StreamInstallerBuffer<> installer(*rig.flash_, rig.crypto_, rig.layout_,
                                          rig.device_config_);
  ASSERT_TRUE(installer.Begin(0).ok());
  ASSERT_TRUE(installer.Write(v2.image).ok());
  ASSERT_TRUE(installer.Finish().ok());
  // The agent has no record of it: the boot puts it on trial, and the agent decides the trial.
  Result<agent::StepResult> r = rig.RunUntil([&] { return rig.Settled(); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(rig.RunningVersion(), "2.0.0");
  EXPECT_EQ(rig.self_test_.runs, 1);
  EXPECT_EQ(rig.server_.StatesReceived(), std::vector<std::string>{"confirmed"});
  EXPECT_TRUE(rig.server_.Last("confirmed")->at("release_id").is_null());
  EXPECT_EQ(rig.BootedVersion(), "2.0.0");
}

}  // namespace
}  // namespace aloft::testing
