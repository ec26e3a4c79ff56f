// The agent against an emulated ESP32 and a fake server (agent_harness.h): every scenario of the
// device update flow, end to end in one process, with virtual time.

#include "agent/agent.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "agent_harness.h"
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
